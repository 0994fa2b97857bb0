/**
 * An edge as the primary of further secondaries (docs/EDGE.md "An edge as a primary"): `start`
 * with an edge key and a catalog; an edge with `--transfer-key` and `--notify`; Knot (and NSD)
 * as secondaries of the edge: AXFR first, then a record changed through `start`'s API reaches
 * the edge (NOTIFY from `start`, IXFR in) and from it the secondaries (NOTIFY from the edge, IXFR
 * out of the edge's journal), without waiting for any SOA refresh. kdig: AXFR with the key,
 * REFUSED without it, IXFR answered as a difference.
 * @module
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { kdigAt } from '../helpers/dns-client.js';
import { kdigRecords, soaSerialOf } from '../helpers/kdig-records.js';
import { type Peer, skipUnlessCommands, startKnot, startNsd } from '../helpers/peers.js';
import { callApi, type Platform, startPlatform } from '../helpers/platform.js';
import { waitFor, waitForText } from '../helpers/wait-for.js';
import { askEdge, createZoneAndCatalog, type EdgeProcess, eventually, startEdge } from './edge-support.js';
import { freePort } from './support.js';

const skip = skipUnlessCommands('knotd', 'nsd', 'kdig');
const ADMIN = 'sb_edge_downstream_admin_key_0123456789abc';
const EDGE_SECRET = Buffer.from('the-edge-key-of-the-edge-downstream-test').toString('base64');
const EDGE_KEY = `lhr1.:hmac-sha256:${EDGE_SECRET}`;
const DOWN_SECRET = Buffer.from('the-key-of-the-secondaries-of-the-edge!!').toString('base64');
const DOWN = { name: 'down', algorithm: 'hmac-sha256', secret: DOWN_SECRET };
const DOWN_KEY = `down:hmac-sha256:${DOWN_SECRET}`;
const ZONE = 'downstream.test.';

describe('an edge as a primary: Knot and NSD transfer from it, NOTIFY then IXFR', { skip }, () => {
  let platform: Platform | undefined;
  let edge: EdgeProcess | undefined;
  const peers: Peer[] = [];
  let knotPort = 0;
  let nsdPort = 0;

  before(async () => {
    platform = await startPlatform({ apiKey: ADMIN, workers: 1, extraArgs: ['--transfer-key', EDGE_KEY] });
    await createZoneAndCatalog(platform.api, ADMIN, ZONE, '192.0.2.80', 'd1', ['mail 300 IN A 192.0.2.3']);
    knotPort = await freePort();
    nsdPort = await freePort();
    // On 127.0.0.1: the secondaries take NOTIFY from their primary's address, and the edge's
    // NOTIFYs leave from 127.0.0.1.
    edge = await startEdge({
      primary: `127.0.0.1:${platform.dnsPort}`,
      key: EDGE_KEY,
      host: '127.0.0.1',
      extra: [
        '--catalog',
        'cat.test.',
        '--transfer-key',
        DOWN_KEY,
        '--notify',
        `127.0.0.1:${knotPort}`,
        '--notify',
        `127.0.0.1:${nsdPort}`,
      ],
      minTimers: '3600,600',
    });
    await eventually(
      'the member served by the edge',
      async () => (await askEdge(edge!, `www.${ZONE}`)) === '0 192.0.2.80',
    );
  });
  after(async () => {
    for (const p of peers) await p.stop();
    await edge?.stop();
    await platform?.stop();
  });

  test('kdig: AXFR with the key; REFUSED without it', async () => {
    const axfr = kdigRecords(await kdigAt(edge!.port, '-y', `hmac-sha256:down:${DOWN_SECRET}`, 'AXFR', ZONE));
    assert.ok(axfr.includes(`www.${ZONE} 300 A 192.0.2.80`), axfr.join('\n'));
    assert.equal(soaSerialOf(axfr[0]), soaSerialOf(axfr[axfr.length - 1]));
    assert.match(await kdigAt(edge!.port, 'AXFR', ZONE), /REFUSED|Transfer failed/);
  });

  test('Knot and NSD as secondaries of the edge: AXFR, then an API change by NOTIFY and IXFR', async (t) => {
    const secondary = { primary: `127.0.0.1@${edge!.port}`, key: DOWN, allowNotify: true };
    const zones = [{ origin: ZONE, file: '' }];
    peers.push(await startKnot(zones, { port: knotPort, secondary, readyTimeoutMs: 20_000 }));
    peers.push(await startNsd(zones, { port: nsdPort, secondary, readyTimeoutMs: 20_000 }));
    for (const p of peers)
      await waitFor(
        `${p.name} has the zone`,
        async () => (await askEdge({ host: '127.0.0.1', port: p.port }, `www.${ZONE}`)) === '0 192.0.2.80',
        20_000,
      );
    const before = await (async () => {
      const a = kdigRecords(await kdigAt(edge!.port, '-y', `hmac-sha256:down:${DOWN_SECRET}`, 'AXFR', ZONE));
      return soaSerialOf(a[0]);
    })();

    const res = await callApi(platform!.api, ADMIN, 'PATCH', `/api/v1/zones/${ZONE}/rrsets`, {
      changes: [
        { op: 'replace', name: `www.${ZONE}`, type: 'A', ttl: 300, records: [{ content: '192.0.2.81' }] },
      ],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const atEdge = await waitFor(
      'the edge answers the change',
      async () => (await askEdge(edge!, `www.${ZONE}`)) === '0 192.0.2.81',
      15_000,
    );
    t.diagnostic(`the edge: the API change answered in ${atEdge} ms`);
    for (const p of peers) {
      const ms = await waitFor(
        `${p.name} answers the change`,
        async () => (await askEdge({ host: '127.0.0.1', port: p.port }, `www.${ZONE}`)) === '0 192.0.2.81',
        15_000,
      );
      t.diagnostic(`${p.name}: the API change answered by the secondary of the edge ${ms} ms after the edge`);
    }
    // Their logs, read anew while waiting: a peer may write a line after it serves the change.
    await waitForText("Knot's log", peers[0].output, /notify, incoming/);
    await waitForText("Knot's log", peers[0].output, /IXFR, incoming, .*finished/);
    const nsdLog = () => readFileSync(join(peers[1].dir, 'nsd.log'), 'utf8');
    await waitForText("NSD's log", nsdLog, /notify for downstream\.test\. from 127\.0\.0\.1/);

    // kdig IXFR from the old serial: a difference (the old SOA, the removed A, the new SOA, the added A).
    const ixfr = kdigRecords(
      await kdigAt(edge!.port, '-y', `hmac-sha256:down:${DOWN_SECRET}`, `IXFR=${before}`, ZONE),
    );
    assert.equal(soaSerialOf(ixfr[1]), before, ixfr.join('\n'));
    assert.ok(ixfr.includes(`www.${ZONE} 300 A 192.0.2.80`), ixfr.join('\n'));
    assert.ok(ixfr.includes(`www.${ZONE} 300 A 192.0.2.81`), ixfr.join('\n'));
    assert.ok(
      !ixfr.includes(`mail.${ZONE} 300 A 192.0.2.3`),
      `a difference, not the whole zone:\n${ixfr.join('\n')}`,
    );
  });
});
