/**
 * `switchboard start` metrics end to end: two DNS workers count the queries they answer (by
 * transport, RCODE, TC, drops) and report them every second; the primary sums them with its
 * own control-plane metrics at GET /metrics (no API key). The exposition parses line by line,
 * the counters reach exactly what was sent, no zone name appears anywhere in it, and a worker
 * killed and restarted does not make a counter go backwards.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { after, describe, test } from 'node:test';
import { buildQuery, queryTcp, queryUdp, readHeader } from '../helpers/dns-client.js';
import { listChildren } from '../helpers/peers.js';
import {
  callApi,
  makeDataDir,
  type Platform,
  removeDataDir,
  startPlatform,
  waitForZonesServed,
} from '../helpers/platform.js';
import { type Exposition, parseExposition, sampleValue } from '../helpers/prometheus.js';

const A = 1;
const TXT = 16;
/** The platform's own zones and ours: none may appear in the metrics. */
const SECRET_ZONE = 'tenant-secret-zone.test.';
const ZONE_NAMES = ['example.com', 'example.org', 'tenant-secret-zone', 'not-served-anywhere'];
/** Workers report every second: counters get there within a few. */
const SETTLE_MS = 15_000;

async function scrape(p: Platform): Promise<{ text: string; exp: Exposition; contentType: string }> {
  const res = await fetch(`${p.api}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  return { text, exp: parseExposition(text), contentType: res.headers.get('content-type') ?? '' };
}

type Expectation = [name: string, labels: Record<string, string>, value: number];

/** Scrapes until every expectation holds, or fails with what differed at the last scrape. */
async function waitForMetrics(p: Platform, expected: Expectation[]): Promise<Exposition> {
  const deadline = Date.now() + SETTLE_MS;
  let diff: string[] = [];
  for (;;) {
    const { exp } = await scrape(p);
    diff = expected
      .map(([name, labels, value]) => [name, labels, value, sampleValue(exp, name, labels)] as const)
      .filter(([, , want, got]) => got !== want)
      .map(([name, labels, want, got]) => `${name}${JSON.stringify(labels)}: ${got} (want ${want})`);
    if (diff.length === 0) return exp;
    if (Date.now() > deadline) assert.fail(`metrics did not settle:\n  ${diff.join('\n  ')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Sends one datagram and waits for nothing (a query the server must drop). */
function sendDatagram(port: number, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    sock.send(bytes, port, '127.0.0.1', (err) => {
      sock.close();
      if (err) reject(err);
      else resolve();
    });
  });
}

describe('switchboard start: /metrics', () => {
  const dirs: string[] = [];
  const running: Platform[] = [];
  after(async () => {
    for (const p of running) await p.stop();
    for (const d of dirs) removeDataDir(d);
  });

  test('counts DNS queries and API changes exactly, leaks no zone name, survives a worker restart', async () => {
    const key = `sb_${randomBytes(32).toString('base64url')}`;
    const dataDir = makeDataDir();
    dirs.push(dataDir);
    const p = await startPlatform({ dataDir, workers: 2, apiKey: key });
    running.push(p);
    // What both workers serve before the tenant's zone (the examples and the fleet catalog,
    // docs/TRANSFERS.md "Catalog zones"); the zone is served once both report one more
    // (docs/TESTING.md: a wait counts what the test added, not a fixed total).
    const zonesBefore = await waitForZonesServed(p);

    // A tenant's zone with an RRset too big for 512 octets (TC over UDP without EDNS).
    const big = Array.from({ length: 12 }, (_, i) => ({
      content: `"${String(i).padStart(2, '0')}${'x'.repeat(90)}"`,
    }));
    const created = await callApi(p.api, key, 'POST', '/api/v1/zones', {
      name: SECRET_ZONE,
      rrsets: [
        { name: SECRET_ZONE, type: 'NS', ttl: 300, records: [{ content: `ns1.${SECRET_ZONE}` }] },
        { name: `ns1.${SECRET_ZONE}`, type: 'A', ttl: 300, records: [{ content: '192.0.2.53' }] },
        { name: `big.${SECRET_ZONE}`, type: 'TXT', ttl: 300, records: big },
      ],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const changed = await callApi(p.api, key, 'PATCH', `/api/v1/zones/${SECRET_ZONE}/rrsets`, {
      changes: [
        {
          op: 'replace',
          name: `www.${SECRET_ZONE}`,
          type: 'A',
          ttl: 60,
          records: [{ content: '192.0.2.7' }],
        },
      ],
    });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    // Both workers serve the new zone before any query is sent (read from the metrics: no query).
    await waitForMetrics(p, [
      ['switchboard_dns_zones_served', { worker: '0' }, zonesBefore + 1],
      ['switchboard_dns_zones_served', { worker: '1' }, zonesBefore + 1],
      ['switchboard_dns_queries_total', {}, 0],
    ]);

    const udp = (name: string, type: number, edns = true) =>
      queryUdp(buildQuery({ name, type, edns: edns ? { udpSize: 1232 } : undefined }), {
        port: p.dnsPort,
        retries: 0,
      });
    const rcodes: number[] = [];
    for (let i = 0; i < 6; i++) rcodes.push(readHeader(await udp('www.example.com', A)).rcode);
    for (let i = 0; i < 4; i++) rcodes.push(readHeader(await udp(`nope${i}.example.com`, A)).rcode);
    for (let i = 0; i < 3; i++) rcodes.push(readHeader(await udp('www.not-served-anywhere.test', A)).rcode);
    assert.deepEqual(rcodes, [0, 0, 0, 0, 0, 0, 3, 3, 3, 3, 5, 5, 5]);
    const truncated = readHeader(await udp(`big.${SECRET_ZONE}`, TXT, false));
    assert.equal(truncated.tc, true);
    // A response (QR=1) sent to the server: dropped, never answered.
    const bogus = buildQuery({ name: 'www.example.com', type: A });
    bogus[2] |= 0x80;
    await sendDatagram(p.dnsPort, bogus);
    for (let i = 0; i < 5; i++) {
      const r = readHeader(
        await queryTcp(buildQuery({ name: 'www.example.com', type: A }), { port: p.dnsPort }),
      );
      assert.equal(r.rcode, 0);
    }

    const final: Expectation[] = [
      ['switchboard_dns_queries_total', { transport: 'udp' }, 15],
      ['switchboard_dns_queries_total', { transport: 'tcp' }, 5],
      ['switchboard_dns_responses_total', { transport: 'udp', rcode: 'NOERROR' }, 7],
      ['switchboard_dns_responses_total', { transport: 'udp', rcode: 'NXDOMAIN' }, 4],
      ['switchboard_dns_responses_total', { transport: 'udp', rcode: 'REFUSED' }, 3],
      ['switchboard_dns_responses_total', { transport: 'udp', rcode: 'SERVFAIL' }, 0],
      ['switchboard_dns_responses_total', { transport: 'tcp', rcode: 'NOERROR' }, 5],
      ['switchboard_dns_responses_total', { transport: 'tcp' }, 5],
      ['switchboard_dns_responses_truncated_total', { transport: 'udp' }, 1],
      ['switchboard_dns_queries_dropped_total', { transport: 'udp' }, 1],
      ['switchboard_dns_tcp_connections_open', {}, 0],
      // queryTcp opens one connection per query.
      ['switchboard_dns_tcp_connections_accepted_total', {}, 5],
      ['switchboard_dns_workers', {}, 2],
      ['switchboard_zone_changes_total', { kind: 'create' }, 3],
      ['switchboard_zone_changes_total', { kind: 'change' }, 1],
      ['switchboard_zone_changes_total', { kind: 'delete' }, 0],
      ['switchboard_zones', {}, 4],
      ['switchboard_http_requests_total', { method: 'POST', route: '/api/v1/zones', status_class: '2xx' }, 1],
      [
        'switchboard_http_requests_total',
        { method: 'PATCH', route: '/api/v1/zones/:zone/rrsets', status_class: '2xx' },
        1,
      ],
    ];
    const exp = await waitForMetrics(p, final);
    // Each query is a response-cache hit or miss, or answered in C from a zone image (C answers
    // are on by default with images over the native path; no cache lookup); the dropped query
    // never reaches the cache.
    const hits = sampleValue(exp, 'switchboard_dns_response_cache_hits_total') ?? -1;
    const misses = sampleValue(exp, 'switchboard_dns_response_cache_misses_total') ?? -1;
    const inC = sampleValue(exp, 'switchboard_dns_native_answers_total', { transport: 'udp' }) ?? -1;
    assert.equal(sampleValue(exp, 'switchboard_dns_native_answers_total', { transport: 'tcp' }), 0);
    assert.equal(hits + misses + inC, 19, `hits ${hits} + misses ${misses} + answered in C ${inC}`);
    assert.ok(hits >= 1, 'repeated identical queries hit the cache');
    assert.ok((sampleValue(exp, 'switchboard_zone_publish_seconds_count') ?? 0) >= 1);
    assert.ok((sampleValue(exp, 'switchboard_dns_zone_updates_total', { worker: '0' }) ?? 0) >= 1);
    assert.ok((sampleValue(exp, 'process_cpu_seconds_total') ?? -1) >= 0, 'process metrics');

    // The exposition: the content type, a TYPE for every family, and no zone name anywhere.
    const { text, contentType } = await scrape(p);
    assert.match(contentType, /^text\/plain; version=0\.0\.4/);
    for (const s of exp.samples) {
      const family = s.name.replace(/_(bucket|sum|count)$/, '');
      assert.ok(exp.types.has(s.name) || exp.types.has(family), `no TYPE for ${s.name}`);
    }
    for (const name of ZONE_NAMES) assert.ok(!text.toLowerCase().includes(name), `${name} in the metrics`);

    // A worker killed: its slot restarts, and no counter goes backwards.
    const before = sampleValue(exp, 'switchboard_dns_queries_total') ?? 0;
    const [victim] = listChildren(p.pid);
    assert.ok(victim, 'no worker process found');
    process.kill(victim, 'SIGKILL');
    const later = await waitForMetrics(p, [
      ['switchboard_dns_worker_restarts_total', {}, 1],
      ['switchboard_dns_workers', {}, 2],
      ['switchboard_dns_queries_total', {}, before],
      ['switchboard_dns_responses_total', { transport: 'udp', rcode: 'NXDOMAIN' }, 4],
    ]);
    assert.equal(sampleValue(later, 'switchboard_zone_changes_total', { kind: 'create' }), 3);
  });
});
