/**
 * `switchboard start --io native --native-answers`: queries answered in C (native/image.c) never
 * reach the JS handler that counts queries, so the native sockets count them (by RCODE and TC)
 * and each worker adds those counts to its report. /metrics must show the same totals as on
 * the node path: every query received, every response by RCODE, TC answers — whichever side
 * answered. Skips without the addon (fails with SWITCHBOARD_REQUIRE_PEERS=1).
 * @module
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { nativeUdpStatus } from '../../src/transport/native-udp.js';
import { buildQuery, queryUdp, readHeader } from '../helpers/dns-client.js';
import { findFreePort, startSwitchboard } from '../helpers/peers.js';
import {
  callApi,
  makeDataDir,
  type Platform,
  removeDataDir,
  startPlatform,
  waitForZonesServed,
} from '../helpers/platform.js';
import { type Exposition, parseExposition, sampleValue } from '../helpers/prometheus.js';
import { skipOrFail } from '../helpers/require-peers.js';
import { waitForText } from '../helpers/wait-for.js';

const native = nativeUdpStatus();
const missing = skipOrFail(native.ok ? false : `native addon unavailable: ${native.reason}`);

const A = 1;
const TXT = 16;
const ZONE = 'counted-in-c.test.';
const SETTLE_MS = 15_000;

type Expectation = [name: string, labels: Record<string, string>, value: number];

async function waitForMetrics(p: Platform, expected: Expectation[]): Promise<Exposition> {
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const res = await fetch(`${p.api}/metrics`);
    const exp = parseExposition(await res.text());
    const diff = expected
      .map(([name, labels, value]) => [name, labels, value, sampleValue(exp, name, labels)] as const)
      .filter(([, , want, got]) => got !== want)
      .map(([name, labels, want, got]) => `${name}${JSON.stringify(labels)}: ${got} (want ${want})`);
    if (diff.length === 0) return exp;
    if (Date.now() > deadline) assert.fail(`metrics did not settle:\n  ${diff.join('\n  ')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('/metrics with --io native --native-answers', { skip: missing, timeout: 120_000 }, () => {
  const dirs: string[] = [];
  const running: Platform[] = [];
  after(async () => {
    for (const p of running) await p.stop();
    for (const d of dirs) removeDataDir(d);
  });

  test('queries answered in C are counted: received, by RCODE, TC', async () => {
    const key = `sb_${randomBytes(32).toString('base64url')}`;
    const dataDir = makeDataDir();
    dirs.push(dataDir);
    const p = await startPlatform({
      dataDir,
      workers: 2,
      apiKey: key,
      extraArgs: ['--io', 'native', '--native-answers'],
    });
    running.push(p);
    // What both workers serve before the zone is made (the examples and the fleet catalog,
    // docs/TRANSFERS.md "Catalog zones"): the new zone is served once both report one more.
    // (A fixed count went stale when the fleet catalog became a default: the wait then passed
    // at once, and a query sent before the zone reached its worker was answered REFUSED.)
    const before = await waitForZonesServed(p);
    const big = Array.from({ length: 12 }, (_, i) => ({
      content: `"${String(i).padStart(2, '0')}${'x'.repeat(90)}"`,
    }));
    const created = await callApi(p.api, key, 'POST', '/api/v1/zones', {
      name: ZONE,
      rrsets: [
        { name: ZONE, type: 'NS', ttl: 300, records: [{ content: `ns1.${ZONE}` }] },
        { name: `ns1.${ZONE}`, type: 'A', ttl: 300, records: [{ content: '192.0.2.53' }] },
        { name: `www.${ZONE}`, type: 'A', ttl: 300, records: [{ content: '192.0.2.7' }] },
        { name: `big.${ZONE}`, type: 'TXT', ttl: 300, records: big },
      ],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await waitForMetrics(p, [
      ['switchboard_dns_zones_served', { worker: '0' }, before + 1],
      ['switchboard_dns_zones_served', { worker: '1' }, before + 1],
    ]);

    // Several source ports: SO_REUSEPORT spreads them over both workers' sockets.
    const udp = (name: string, type: number, edns = true) =>
      queryUdp(buildQuery({ name, type, edns: edns ? { udpSize: 1232 } : undefined }), {
        port: p.dnsPort,
        retries: 0,
      });
    const rcodes: number[] = [];
    for (let i = 0; i < 6; i++) rcodes.push(readHeader(await udp(`www.${ZONE}`, A)).rcode);
    for (let i = 0; i < 4; i++) rcodes.push(readHeader(await udp(`nope${i}.${ZONE}`, A)).rcode);
    for (let i = 0; i < 3; i++) rcodes.push(readHeader(await udp('www.not-served-anywhere.test', A)).rcode);
    assert.deepEqual(rcodes, [0, 0, 0, 0, 0, 0, 3, 3, 3, 3, 5, 5, 5]);
    const truncated = readHeader(await udp(`big.${ZONE}`, TXT, false));
    assert.equal(truncated.tc, true);

    const exp = await waitForMetrics(p, [
      ['switchboard_dns_queries_total', { transport: 'udp' }, 14],
      ['switchboard_dns_responses_total', { transport: 'udp', rcode: 'NOERROR' }, 7],
      ['switchboard_dns_responses_total', { transport: 'udp', rcode: 'NXDOMAIN' }, 4],
      ['switchboard_dns_responses_total', { transport: 'udp', rcode: 'REFUSED' }, 3],
      ['switchboard_dns_responses_truncated_total', { transport: 'udp' }, 1],
    ]);
    // C answered most of them: they never reached the Responder's cache (JS answers all
    // REFUSED ones: no zone image serves them; and each worker's first query of the zone, which
    // installs its image in C: images are installed lazily, at most 2 here; the bound was 4 with
    // images installed at start).
    const hits = sampleValue(exp, 'switchboard_dns_response_cache_hits_total', { transport: 'udp' }) ?? 0;
    const misses = sampleValue(exp, 'switchboard_dns_response_cache_misses_total', { transport: 'udp' }) ?? 0;
    assert.ok(hits + misses <= 6, `the Responder saw ${hits + misses} of 14 queries: C answered the rest`);
    const inC = sampleValue(exp, 'switchboard_dns_native_answers_total', { transport: 'udp' }) ?? 0;
    assert.equal(hits + misses + inC, 14, 'every query a cache lookup or a C answer');
  });
});

describe('serve --metrics with C answers on by default (--images on, native path)', {
  skip: missing,
  timeout: 120_000,
}, () => {
  test('every query counted, by RCODE, whichever side answered; C answered most', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-native-metrics-'));
    writeFileSync(
      join(dir, 'example.zone'),
      '$ORIGIN example.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.1\n',
    );
    const metricsPort = await findFreePort();
    const peer = await startSwitchboard(dir, {
      workers: 1,
      io: 'native',
      args: ['--images', 'on', '--metrics', `127.0.0.1:${metricsPort}`],
    });
    try {
      // The worker logs it after its socket opened: the start-up probe may be answered first.
      await waitForText('the worker', peer.output, /native answers: 1 zones served in C/);
      const url = `http://127.0.0.1:${metricsPort}/metrics`;
      const scrape = async () => parseExposition(await (await fetch(url)).text());
      const queries = (e: Exposition) =>
        sampleValue(e, 'switchboard_dns_queries_total', { transport: 'udp' }) ?? 0;
      const rc = (e: Exposition, rcode: string) =>
        sampleValue(e, 'switchboard_dns_responses_total', { transport: 'udp', rcode }) ?? 0;
      const ask = (name: string, id: number) =>
        queryUdp(buildQuery({ id, name, type: A }), { port: peer.port, timeoutMs: 2000, retries: 1 });
      // The start-up probe's queries (how many: as many as it took) are counted too. A fence, a
      // query no zone serves (the only REFUSED before the test's own): once it is answered the
      // worker has counted every probe query, and the first report that carries its REFUSED
      // carries them all: the counts start there (a fixed 1.2 s after the first report was sized
      // for a quiet machine's report cadence).
      // (One copy only: a resent fence could be counted after the base.)
      await queryUdp(buildQuery({ id: 300, name: 'fence.elsewhere.', type: A }), {
        port: peer.port,
        timeoutMs: 10_000,
        retries: 0,
      });
      let base = await scrape();
      for (let i = 0; i < 80 && rc(base, 'REFUSED') < 1; i++) {
        await new Promise((r) => setTimeout(r, 250));
        base = await scrape();
      }
      assert.equal(rc(base, 'REFUSED'), 1, 'the fence reported');
      for (let i = 0; i < 7; i++) await ask('www.example.', i);
      for (let i = 0; i < 3; i++) await ask(`nothere${i}.example.`, 100 + i);
      await ask('www.elsewhere.', 200);
      let exp = await scrape();
      for (let i = 0; i < 40 && queries(exp) < queries(base) + 11; i++) {
        await new Promise((r) => setTimeout(r, 250));
        exp = await scrape();
      }
      assert.equal(queries(exp) - queries(base), 11);
      assert.equal(rc(exp, 'NOERROR') - rc(base, 'NOERROR'), 7);
      assert.equal(rc(exp, 'NXDOMAIN') - rc(base, 'NXDOMAIN'), 3);
      assert.equal(rc(exp, 'REFUSED') - rc(base, 'REFUSED'), 1);
      // The Responder (its cache counts every lookup) saw the REFUSED one and at most the
      // zone's first query (which installed its image in C): C answered the rest.
      const seen = (e: Exposition) =>
        (sampleValue(e, 'switchboard_dns_response_cache_hits_total', { transport: 'udp' }) ?? 0) +
        (sampleValue(e, 'switchboard_dns_response_cache_misses_total', { transport: 'udp' }) ?? 0);
      assert.ok(seen(exp) - seen(base) <= 2, `the Responder saw ${seen(exp) - seen(base)} of 11 queries`);
      // Every query is a cache lookup or a C answer (switchboard_dns_native_answers_total).
      const inC = (e: Exposition) =>
        sampleValue(e, 'switchboard_dns_native_answers_total', { transport: 'udp' }) ?? 0;
      assert.equal(seen(exp) - seen(base) + inC(exp) - inC(base), 11);
    } finally {
      await peer.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
