/**
 * The edge's IXFR journal for its own secondaries (src/edge/journal.ts): IXFR steps become
 * chained journal entries sent to the workers (SOAs split off, records as received), a zone
 * transferred whole or a step that is not one resets the zone's history (here and in the
 * workers), and a starting worker gets the whole journal. Also `--notify` and the transfer
 * flags of `switchboard edge` (src/server/edge/config.ts).
 * @module
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildEdgeConfig } from '../server/edge/config.js';
import { ConfigError } from '../server/shared/options.js';
import { Name } from '../wire/name.js';
import type { IxfrStep } from '../xfr/secondary/ixfr-in.js';
import { parseZoneText } from '../zone/parser.js';
import { EdgeJournal, type EdgeJournalMessage, entryOfStep } from './journal.js';

const ORIGIN = Name.parse('j.test.');
const rr = (line: string) => parseZoneText(`${line}\n`, { origin: ORIGIN })[0];
const soa = (serial: number) => rr(`@ 300 IN SOA ns1 hostmaster ${serial} 3600 600 86400 300`);
const step = (from: number, to: number, del: string[], add: string[]): IxfrStep => ({
  from,
  to,
  removed: [soa(from), ...del.map(rr)],
  added: [soa(to), ...add.map(rr)],
});

test('entryOfStep: the SOAs apart, the records as received; not a step: undefined', () => {
  const e = entryOfStep(
    step(1, 2, ['www 300 IN A 192.0.2.1'], ['www 300 IN A 192.0.2.2', 'x 60 IN TXT "x"']),
  );
  assert.ok(e);
  assert.equal(e.from, 1);
  assert.equal(e.to, 2);
  assert.equal(e.del.length, 1);
  assert.equal(e.add.length, 2);
  assert.equal(e.fromSoa[1], 6);
  assert.equal(e.add[1][1], 16);
  assert.ok(e.bytes > 0);
  assert.equal(
    entryOfStep({ from: 1, to: 2, removed: [rr('www 300 IN A 192.0.2.1')], added: [soa(2)] }),
    undefined,
  );
});

test('EdgeJournal: chained steps kept and sent; a whole transfer or a broken chain resets', () => {
  const sent: EdgeJournalMessage[] = [];
  const j = new EdgeJournal((m) => sent.push(m));
  j.changed('j.test.', [step(1, 2, ['www 300 IN A 192.0.2.1'], ['www 300 IN A 192.0.2.2'])]);
  j.changed('j.test.', [
    step(2, 3, ['www 300 IN A 192.0.2.2'], ['www 300 IN A 192.0.2.3']),
    step(3, 4, [], ['new 300 IN A 192.0.2.4']),
  ]);
  assert.deepEqual(
    sent.map((m) => m.entries.map((e) => (e.entry ? `${e.entry.from}→${e.entry.to}` : 'reset'))),
    [['1→2'], ['2→3', '3→4']],
  );
  assert.deepEqual(
    j.journal.chain(ORIGIN.key, 1, 4)?.map((e) => e.to),
    [2, 3, 4],
  );
  // A worker that starts gets it whole.
  assert.deepEqual(
    j.current().entries.map((e) => [e.zone, e.entry?.to]),
    [
      ['j.test.', 2],
      ['j.test.', 3],
      ['j.test.', 4],
    ],
  );
  // Transferred whole (AXFR): history starts over, the workers told.
  j.changed('j.test.', undefined);
  assert.equal(j.journal.chain(ORIGIN.key, 1, 4), undefined);
  assert.deepEqual(sent.at(-1)?.entries, [{ zone: 'j.test.', entry: null }]);
  // A step that is not one: reset too.
  j.changed('j.test.', [{ from: 4, to: 5, removed: [], added: [soa(5)] }]);
  assert.deepEqual(sent.at(-1)?.entries, [{ zone: 'j.test.', entry: null }]);
  assert.equal(j.stats.resets, 2);
});

test('switchboard edge: --notify targets, --transfer-key and --allow-axfr-from checked', () => {
  const base = {
    primary: '127.0.0.1:5353',
    key: `e1:hmac-sha256:${Buffer.alloc(32, 1).toString('base64')}`,
    state: '/tmp/x',
  };
  const c = buildEdgeConfig({
    ...base,
    notify: ['127.0.0.1:5301', '[::1]:5302'],
    transferKey: [`down:hmac-sha256:${Buffer.alloc(32, 2).toString('base64')}`],
    allowAxfrFrom: ['127.0.0.0/8'],
  });
  assert.deepEqual(
    c.notify.map((t) => `${t.address} ${t.port}`),
    ['127.0.0.1 5301', '::1 5302'],
  );
  assert.equal(c.transfers?.keys.length, 1);
  assert.deepEqual(c.transfers?.allowFrom, ['127.0.0.0/8']);
  assert.deepEqual(buildEdgeConfig(base).notify, []);
  assert.equal(buildEdgeConfig(base).transfers, undefined);
  assert.throws(() => buildEdgeConfig({ ...base, notify: ['not an address'] }), ConfigError);
  assert.throws(() => buildEdgeConfig({ ...base, transferKey: ['bad'] }), ConfigError);
  assert.throws(() => buildEdgeConfig({ ...base, allowAxfrFrom: ['nowhere'] }), ConfigError);
});
