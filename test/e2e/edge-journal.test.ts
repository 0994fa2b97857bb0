/**
 * The edge's IXFR journal survives a restart (docs/EDGE.md "An edge as a primary"): an edge
 * with `--transfer-key` takes a change from `start` by IXFR while its Knot secondary does not
 * hear of it; the edge is restarted on the same `--state`; kdig IXFR from the old serial is
 * then a difference, and Knot, NOTIFYed, takes the change by IXFR — not a second AXFR.
 * @module
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { kdigAt } from '../helpers/dns-client.js';
import { kdigRecords, soaSerialOf } from '../helpers/kdig-records.js';
import { type Peer, skipUnlessCommands, startKnot } from '../helpers/peers.js';
import { callApi, type Platform, startPlatform } from '../helpers/platform.js';
import { waitFor } from '../helpers/wait-for.js';
import {
  askEdge,
  createZoneAndCatalog,
  type EdgeProcess,
  eventually,
  sendNotify,
  startEdge,
} from './edge-support.js';
import { freePort } from './support.js';

const skip = skipUnlessCommands('knotd', 'kdig');
const ADMIN = 'sb_edge_journal_admin_key_0123456789abcdef';
const EDGE_SECRET = Buffer.from('the-edge-key-of-the-edge-journal-test!!!').toString('base64');
const EDGE_KEY = `ams2.:hmac-sha256:${EDGE_SECRET}`;
const DOWN_SECRET = Buffer.from('the-key-of-the-knot-behind-the-edge!!!!!').toString('base64');
const DOWN = { name: 'down', algorithm: 'hmac-sha256', secret: DOWN_SECRET };
const DOWN_KEY = `down:hmac-sha256:${DOWN_SECRET}`;
const ZONE = 'journal.test.';

describe('the edge journal in --state: after a restart its Knot secondary gets IXFR, not AXFR', {
  skip,
}, () => {
  let platform: Platform | undefined;
  let edge: EdgeProcess | undefined;
  let knot: Peer | undefined;
  const state = mkdtempSync(join(tmpdir(), 'sb-edge-journal-'));
  let edgePort = 0;
  const startTheEdge = () =>
    startEdge({
      primary: `127.0.0.1:${platform!.dnsPort}`,
      key: EDGE_KEY,
      host: '127.0.0.1',
      port: edgePort,
      state,
      // No --notify: Knot hears of the change only when the test NOTIFYs it, after the restart.
      extra: ['--catalog', 'cat.test.', '--transfer-key', DOWN_KEY],
      minTimers: '3600,600',
    });

  before(async () => {
    platform = await startPlatform({ apiKey: ADMIN, workers: 1, extraArgs: ['--transfer-key', EDGE_KEY] });
    await createZoneAndCatalog(platform.api, ADMIN, ZONE, '192.0.2.90', 'j1', ['mail 300 IN A 192.0.2.3']);
    edgePort = await freePort('127.0.0.1');
    edge = await startTheEdge();
    await eventually(
      'the member served by the edge',
      async () => (await askEdge(edge!, `www.${ZONE}`)) === '0 192.0.2.90',
    );
  });
  after(async () => {
    await knot?.stop();
    await edge?.stop();
    await platform?.stop();
    rmSync(state, { recursive: true, force: true });
  });

  test('a change taken before the restart is served as a difference after it', async () => {
    const knotPort = await freePort();
    knot = await startKnot([{ origin: ZONE, file: '' }], {
      port: knotPort,
      secondary: { primary: `127.0.0.1@${edgePort}`, key: DOWN, allowNotify: true },
      readyTimeoutMs: 20_000,
    });
    const k = { host: '127.0.0.1', port: knotPort };
    await waitFor(
      'Knot has the zone (AXFR)',
      async () => (await askEdge(k, `www.${ZONE}`)) === '0 192.0.2.90',
      20_000,
    );
    const axfr = kdigRecords(await kdigAt(edgePort, '-y', `hmac-sha256:down:${DOWN_SECRET}`, 'AXFR', ZONE));
    const old = soaSerialOf(axfr[0]);

    const res = await callApi(platform!.api, ADMIN, 'PATCH', `/api/v1/zones/${ZONE}/rrsets`, {
      changes: [
        { op: 'replace', name: `www.${ZONE}`, type: 'A', ttl: 300, records: [{ content: '192.0.2.91' }] },
      ],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await waitFor(
      'the edge answers the change',
      async () => (await askEdge(edge!, `www.${ZONE}`)) === '0 192.0.2.91',
      15_000,
    );
    await edge!.waitForStderr(/by IXFR/, 1, 10_000);

    // Restarted on the same state: the journal is read back from the store.
    await edge!.stop();
    edge = await startTheEdge();
    await edge.waitForStderr(/IXFR journal: 1 differences of 1 zones from the store/, 1, 10_000);
    assert.equal(await askEdge(edge, `www.${ZONE}`), '0 192.0.2.91');

    // kdig IXFR from the serial before the restart: a difference, not the whole zone.
    const ixfr = kdigRecords(
      await kdigAt(edgePort, '-y', `hmac-sha256:down:${DOWN_SECRET}`, `IXFR=${old}`, ZONE),
    );
    assert.equal(soaSerialOf(ixfr[1]), old, ixfr.join('\n'));
    assert.ok(ixfr.includes(`www.${ZONE} 300 A 192.0.2.90`), ixfr.join('\n'));
    assert.ok(ixfr.includes(`www.${ZONE} 300 A 192.0.2.91`), ixfr.join('\n'));
    assert.ok(
      !ixfr.includes(`mail.${ZONE} 300 A 192.0.2.3`),
      `a difference, not the whole zone:\n${ixfr.join('\n')}`,
    );

    // Knot, NOTIFYed as the edge would, takes it by IXFR.
    assert.equal(await sendNotify(ZONE, '127.0.0.1', knotPort, '127.0.0.1', DOWN_KEY), 0);
    await waitFor(
      'Knot answers the change',
      async () => (await askEdge(k, `www.${ZONE}`)) === '0 192.0.2.91',
      15_000,
    );
    const log = knot.output();
    assert.match(log, /IXFR, incoming, .*finished/, log);
    assert.equal((log.match(/AXFR, incoming, .*finished/g) ?? []).length, 1, log);
  });
});
