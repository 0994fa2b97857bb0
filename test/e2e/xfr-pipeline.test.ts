/**
 * Several zone transfers on one TCP connection (RFC 7766 §6.2.1, RFC 5936 §4.1), both ways:
 *
 * - our client (`TransferConnections`, src/xfr/secondary/connection.ts, what the edge's sync
 *   and the secondary zones' refresher use) against NSD and Knot as primaries, TSIG-signed: 12
 *   AXFRs pipelined on one connection, every zone whole; a zone the primary refuses fails alone
 *   (an error answer: the others go on); against BIND 9, which interleaves the messages of a
 *   connection's transfers: six multi-message AXFRs on one connection, each whole (answers
 *   matched by ID);
 * - our server (`serve`) with kdig `+keepopen`: three AXFRs on one connection, each whole, and
 *   our client pipelining 12 on one connection; a connection the server closed while idle is
 *   noticed and the next transfer opens a new one.
 * @module
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Name } from '../../src/wire/name.js';
import { rdataToText } from '../../src/wire/rdata.js';
import { TransferConnections } from '../../src/xfr/secondary/connection.js';
import { transferIn, type XfrInResult } from '../../src/xfr/secondary/ixfr-in.js';
import { parseTsigKeySpec } from '../../src/xfr/tsig.js';
import {
  type Peer,
  skipUnlessCommands,
  startBind,
  startKnot,
  startNsd,
  type ZoneSpec,
} from '../helpers/peers.js';
import { txtZoneText } from '../helpers/txt-zone.js';
import { waitFor } from '../helpers/wait-for.js';
import { freePort, type ServeProcess, startServe } from './support.js';

const SECRET = Buffer.from('pipelined-transfers-test-secret-000001').toString('base64');
const KEY_SPEC = { name: 'pipe.', algorithm: 'hmac-sha256', secret: SECRET };
const KEY = parseTsigKeySpec(`pipe.:hmac-sha256:${SECRET}`);
const ZONES = 12;
const nameOf = (i: number) => `p${i}.pipe.test.`;

function zoneText(i: number): string {
  return txtZoneText(nameOf(i), i, 200);
}

/** Checks one zone's transfer: whole, its own serial and records. */
function checkWhole(i: number, r: XfrInResult): void {
  assert.equal(r.kind, 'full', `${nameOf(i)}: ${r.kind}`);
  if (r.kind !== 'full') return;
  assert.equal(r.serial, 100 + i);
  assert.equal(r.records.length, 1 + 1 + 1 + 1 + 200, `${nameOf(i)}: records`);
  const www = r.records.find((rr) => rr.name.toString() === `www.${nameOf(i)}`);
  assert.equal(www && rdataToText(www.type, www.rdata), `192.0.2.${i + 10}`);
  for (const rr of r.records) assert.ok(rr.name.isSubdomainOf(Name.parse(nameOf(i))));
}

async function pipelined(host: string, port: number, extra?: string): Promise<void> {
  const target = { address: host, port };
  const conns = new TransferConnections(target, { connections: 1, pipeline: ZONES + 1 });
  try {
    const names = Array.from({ length: ZONES }, (_, i) => nameOf(i));
    const all = await Promise.allSettled(
      [...names, ...(extra ? [extra] : [])].map((n) =>
        transferIn(target, Name.parse(n), KEY, undefined, undefined, (t, q, l, m) =>
          conns.exchange(t, q, l, m),
        ),
      ),
    );
    for (let i = 0; i < ZONES; i++) {
      const r = all[i];
      assert.equal(r.status, 'fulfilled', `${nameOf(i)}: ${r.status === 'rejected' ? r.reason : ''}`);
      if (r.status === 'fulfilled') checkWhole(i, r.value);
    }
    if (extra) {
      const r = all[ZONES];
      assert.equal(r.status, 'rejected', 'the zone the primary does not serve fails');
    } else assert.equal(conns.open, 1, 'every transfer on one connection');
  } finally {
    conns.close();
  }
}

describe('pipelined transfers on one TCP connection', () => {
  let dir: string;
  let zones: ZoneSpec[];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sb-xfr-pipe-'));
    zones = Array.from({ length: ZONES }, (_, i) => {
      const file = join(dir, `${nameOf(i)}zone`);
      writeFileSync(file, zoneText(i));
      return { origin: nameOf(i), file };
    });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('our client, NSD as primary', { skip: skipUnlessCommands('nsd') }, async () => {
    let nsd: Peer | undefined;
    try {
      nsd = await startNsd(zones, { primaryTo: { to: '127.0.0.1', key: KEY_SPEC } });
      await pipelined(nsd.host, nsd.port);
      // A zone NSD does not serve in the middle of the queue: it alone fails.
      await pipelined(nsd.host, nsd.port, 'not-served.pipe.test.');
    } finally {
      await nsd?.stop();
    }
  });

  test('our client, Knot as primary', { skip: skipUnlessCommands('knotd') }, async () => {
    let knot: Peer | undefined;
    try {
      knot = await startKnot(zones, { primaryTo: { to: '127.0.0.1', key: KEY_SPEC } });
      await pipelined(knot.host, knot.port);
      await pipelined(knot.host, knot.port, 'not-served.pipe.test.');
    } finally {
      await knot?.stop();
    }
  });

  test('our client, BIND 9 as primary: answers interleaved, matched by ID', {
    skip: skipUnlessCommands('named'),
  }, async () => {
    // BIND runs a connection's transfers at once and interleaves their messages: zones of
    // several messages each (~3,000 records), six on one connection, and a zone BIND does not
    // serve among them: it alone fails (an error answer), the rest whole, one connection.
    const big = Array.from({ length: 6 }, (_, i) => {
      const origin = `b${i}.pipe.test.`;
      const file = join(dir, `${origin}zone`);
      const text = [
        `$ORIGIN ${origin}`,
        '$TTL 300',
        `@ IN SOA ns1 hostmaster ${200 + i} 3600 600 86400 300`,
        '@ NS ns1',
        'ns1 A 192.0.2.1',
        ...Array.from({ length: 3000 }, (_, k) => `h${k} TXT "zone ${i} host ${k} of several messages"`),
        '',
      ].join('\n');
      writeFileSync(file, text);
      return { origin, file, records: 3003 };
    });
    let bind: Peer | undefined;
    const target = { address: '127.0.0.1', port: 0 };
    try {
      bind = await startBind(big, { primaryTo: { to: '127.0.0.1', key: KEY_SPEC } });
      target.port = bind.port;
      const conns = new TransferConnections(target, { connections: 1, pipeline: 8 });
      try {
        const names = [
          ...big.slice(0, 3).map((z) => z.origin),
          'not-served.pipe.test.',
          ...big.slice(3).map((z) => z.origin),
        ];
        const all = await Promise.allSettled(
          names.map((n) =>
            transferIn(target, Name.parse(n), KEY, undefined, undefined, (t, q, l, m) =>
              conns.exchange(t, q, l, m),
            ),
          ),
        );
        for (const [i, r] of all.entries()) {
          if (names[i] === 'not-served.pipe.test.') {
            assert.equal(r.status, 'rejected', 'the zone BIND does not serve fails');
            continue;
          }
          assert.equal(r.status, 'fulfilled', `${names[i]}: ${r.status === 'rejected' ? r.reason : ''}`);
          if (r.status !== 'fulfilled' || r.value.kind !== 'full') continue;
          assert.equal(r.value.records.length, 3003, names[i]);
          assert.ok(r.value.messages > 1, `${names[i]}: ${r.value.messages} messages`);
        }
        assert.equal(conns.opened, 1, 'one connection throughout');
      } finally {
        conns.close();
      }
    } finally {
      await bind?.stop();
    }
  });

  test('our server: kdig +keepopen and our client', { skip: skipUnlessCommands('kdig') }, async () => {
    const port = await freePort();
    let serve: ServeProcess | undefined;
    try {
      serve = await startServe(
        [
          '--zone-dir',
          dir,
          '--listen',
          `127.0.0.1:${port}`,
          '--workers',
          '1',
          '--transfer-key',
          `pipe.:hmac-sha256:${SECRET}`,
        ],
        60_000,
      );
      assert.ok(serve.startLine, serve.stderr());
      const out = execFileSync(
        'kdig',
        [
          `@127.0.0.1`,
          '-p',
          String(port),
          '-y',
          `hmac-sha256:pipe.:${SECRET}`,
          '+tcp',
          '+keepopen',
          ...[0, 1, 2].flatMap((i) => [nameOf(i), 'AXFR']),
        ],
        { encoding: 'utf8', timeout: 30_000 },
      );
      for (const i of [0, 1, 2])
        assert.match(
          out,
          new RegExp(
            `^www\\.${nameOf(i).replace(/\./g, '\\.')}\\s+300\\s+IN\\s+A\\s+192\\.0\\.2\\.${i + 10}$`,
            'm',
          ),
        );
      assert.equal((out.match(/;; Received .* \d+ records\)/g) ?? []).length, 3, out);
      assert.doesNotMatch(out, /^;; (ERROR|WARNING)/m);
      await pipelined('127.0.0.1', port);
      await pipelined('127.0.0.1', port, 'not-served.pipe.test.');
      // The server closes a connection idle for 10 s: seen as gone, the next transfer opens another.
      const target = { address: '127.0.0.1', port };
      const conns = new TransferConnections(target, { connections: 1, pipeline: 4 });
      const xfr = (i: number) =>
        transferIn(target, Name.parse(nameOf(i)), KEY, undefined, undefined, (t, q, l, m) =>
          conns.exchange(t, q, l, m),
        );
      try {
        checkWhole(0, await xfr(0));
        assert.equal(conns.open, 1);
        await waitFor('the idle connection closed by the server', async () => conns.open === 0, 30_000);
        checkWhole(1, await xfr(1));
        assert.equal(conns.open, 1);
      } finally {
        conns.close();
      }
    } finally {
      await serve?.stop();
    }
  });
});
