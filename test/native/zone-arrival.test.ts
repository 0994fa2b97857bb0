/**
 * `switchboard start --io native --native-answers`, 2 workers: a zone made through the API is
 * answered by every worker from the moment both report it served (`switchboard_dns_zones_served`),
 * whichever worker's socket a query's source port hashes to, and whether C or JS answers it. A
 * worker applies a zone change, swaps its Responder's Catalog and hands C the new origins in one
 * turn of its event loop (src/server/start/worker-main.ts `onZones`): no query can fall between.
 * Each zone is asked right after it is reported, from many source ports at once (its first
 * query in each worker goes to JS, which installs its image in C; the rest are answered in C).
 * Skips without the addon (fails with SWITCHBOARD_REQUIRE_PEERS=1).
 * @module
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { nativeUdpStatus } from '../../src/transport/native-udp.js';
import { buildQuery, queryUdp, readHeader } from '../helpers/dns-client.js';
import { callApi, type Platform, startPlatform, waitForZonesServed } from '../helpers/platform.js';
import { skipOrFail } from '../helpers/require-peers.js';

const native = nativeUdpStatus();
const missing = skipOrFail(native.ok ? false : `native addon unavailable: ${native.reason}`);

const A = 1;
const ZONES = 6;
/** Queries per zone, each from a source port of its own: both workers' sockets get some. */
const PORTS = 16;

describe('start --io native --native-answers: a new zone answers as soon as both workers report it', {
  skip: missing,
  timeout: 120_000,
}, () => {
  let platform: Platform | undefined;
  after(async () => {
    await platform?.stop();
  });

  test(`${ZONES} zones, each asked from ${PORTS} source ports at once: never REFUSED`, async () => {
    const key = `sb_${randomBytes(32).toString('base64url')}`;
    const p = await startPlatform({
      workers: 2,
      apiKey: key,
      extraArgs: ['--io', 'native', '--native-answers'],
    });
    platform = p;
    let served = await waitForZonesServed(p);
    for (let i = 0; i < ZONES; i++) {
      const zone = `arrival${i}.test.`;
      const created = await callApi(p.api, key, 'POST', '/api/v1/zones', {
        name: zone,
        rrsets: [
          { name: zone, type: 'NS', ttl: 300, records: [{ content: `ns1.${zone}` }] },
          { name: `ns1.${zone}`, type: 'A', ttl: 300, records: [{ content: '192.0.2.53' }] },
          { name: `www.${zone}`, type: 'A', ttl: 300, records: [{ content: '192.0.2.7' }] },
        ],
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      served = await waitForZonesServed(p, served + 1);
      const rcodes = await Promise.all(
        Array.from({ length: PORTS }, async () => {
          const reply = await queryUdp(
            buildQuery({ name: `www.${zone}`, type: A, edns: { udpSize: 1232 } }),
            {
              port: p.dnsPort,
              retries: 2,
            },
          );
          return readHeader(reply).rcode;
        }),
      );
      assert.deepEqual(rcodes, new Array(PORTS).fill(0), `www.${zone}: every answer NOERROR`);
    }
  });
});
