/**
 * `switchboard serve --metrics ADDR:PORT` end to end: the DNS plane's metrics scraped from the
 * listener of its own after real queries, in each way serve runs (one process; workers
 * parsing the zone files, `--images off`; workers serving compiled images, `--images on`), and
 * bad addresses refused before anything is served.
 * @module
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildQuery, queryUdp } from '../helpers/dns-client.js';
import { findFreePort, startSwitchboard, switchboardBin } from '../helpers/peers.js';
import { type Exposition, parseExposition, sampleValue } from '../helpers/prometheus.js';
import { waitForText } from '../helpers/wait-for.js';

const ZONE = `$ORIGIN example.
$TTL 300
@ SOA ns1 hostmaster 1 3600 600 86400 300
@ NS ns1
ns1 A 127.0.0.1
www A 192.0.2.1
`;

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('serve --metrics', { timeout: 120_000 }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sb-serve-metrics-'));
    writeFileSync(join(dir, 'example.zone'), ZONE);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [what, workers, images] of [
    ['one process (--workers 0)', 0, 'off'],
    ['workers parsing zone files (--images off)', 1, 'off'],
    ['workers serving images (--images on)', 1, 'on'],
  ] as const) {
    test(`${what}: queries and responses by RCODE counted and scraped`, async () => {
      const metricsPort = await findFreePort();
      const peer = await startSwitchboard(dir, {
        workers,
        io: 'node',
        args: ['--images', images, '--metrics', `127.0.0.1:${metricsPort}`],
      });
      try {
        await waitForText(
          'the server log',
          () => peer.output(),
          new RegExp(`metrics: http://127\\.0\\.0\\.1:${metricsPort}/metrics`),
          5000,
        );
        const url = `http://127.0.0.1:${metricsPort}/metrics`;
        const scrape = async () => {
          const res = await fetch(url);
          assert.equal(res.status, 200);
          assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
          return parseExposition(await res.text());
        };
        const queries = (e: Exposition) =>
          sampleValue(e, 'switchboard_dns_queries_total', { transport: 'udp' }) ?? 0;
        const rc = (e: Exposition, rcode: string) =>
          sampleValue(e, 'switchboard_dns_responses_total', { transport: 'udp', rcode }) ?? 0;
        // The start-up probe's queries are counted too: wait until a report holds them all,
        // then count from there.
        let base = await scrape();
        for (let i = 0; i < 40 && sampleValue(base, 'switchboard_dns_workers') !== 1; i++) {
          await settle(250);
          base = await scrape();
        }
        await settle(1200);
        base = await scrape();
        const ask = (name: string, id: number) =>
          queryUdp(buildQuery({ id, name, type: 1 }), {
            host: '127.0.0.1',
            port: peer.port,
            timeoutMs: 2000,
          });
        for (let i = 0; i < 7; i++) await ask('www.example.', i);
        for (let i = 0; i < 3; i++) await ask(`nothere${i}.example.`, 100 + i);
        await ask('www.elsewhere.', 200);
        // Workers report once a second: wait for the report that holds every query.
        let exp = await scrape();
        for (let i = 0; i < 40 && queries(exp) < queries(base) + 11; i++) {
          await settle(250);
          exp = await scrape();
        }
        assert.equal(queries(exp) - queries(base), 11);
        assert.equal(rc(exp, 'NOERROR') - rc(base, 'NOERROR'), 7);
        assert.equal(rc(exp, 'NXDOMAIN') - rc(base, 'NXDOMAIN'), 3);
        assert.equal(rc(exp, 'REFUSED') - rc(base, 'REFUSED'), 1);
        assert.equal(rc(exp, 'BADCOOKIE'), 0);
        assert.equal(sampleValue(exp, 'switchboard_dns_workers'), 1);
        assert.equal(sampleValue(exp, 'switchboard_dns_zones_served', { worker: '0' }), 1);
        // The shield's families exist (zero: it is off) and the process's own metrics are there.
        assert.equal(sampleValue(exp, 'switchboard_dns_shield_decisions_total', { decision: 'dropped' }), 0);
        assert.ok((sampleValue(exp, 'process_resident_memory_bytes') ?? 0) > 0);
        // No control-plane family: serve has no API.
        assert.equal(exp.types.has('switchboard_http_requests_total'), false);
        assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/other`)).status, 404);
        assert.equal((await fetch(url, { method: 'POST' })).status, 405);
      } finally {
        await peer.stop();
      }
    });
  }

  test('a bad or busy address is refused, naming the flag', async () => {
    const busy = createServer();
    const busyPort = await findFreePort();
    await new Promise<void>((r) => busy.listen(busyPort, '127.0.0.1', () => r()));
    try {
      for (const [addr, want, workers] of [
        ['127.0.0.1', /--metrics: '127\.0\.0\.1': a port is required/, '0'],
        ['localhost:9153', /--metrics: 'localhost:9153': 'localhost' is not an IP address/, '0'],
        ['127.0.0.1:70000', /--metrics: '127\.0\.0\.1:70000': port 70000 is out of range/, '0'],
        ['::1:9153', /--metrics: '::1:9153': put brackets around an IPv6 address/, '0'],
        [`127.0.0.1:${busyPort}`, new RegExp(`--metrics 127\\.0\\.0\\.1:${busyPort}: cannot listen`), '0'],
        [`127.0.0.1:${busyPort}`, new RegExp(`--metrics 127\\.0\\.0\\.1:${busyPort}: cannot listen`), '1'],
      ] as const) {
        const r = spawnSync(
          process.execPath,
          [
            switchboardBin(),
            'serve',
            '--zone-dir',
            dir,
            '--listen',
            '127.0.0.1:0',
            '--workers',
            workers,
            '--metrics',
            addr,
          ],
          { encoding: 'utf8', timeout: 30_000 },
        );
        assert.notEqual(r.status, 0, addr);
        assert.match(r.stderr, want, addr);
      }
    } finally {
      busy.close();
    }
  });
});
