/**
 * A zone's own shield settings through `switchboard start`'s API, end to end on both UDP paths:
 * a PUT of `/api/v1/zones/{zone}/shield` reaches the running DNS workers without a restart (its
 * RRL rate limits the zone's answers at once, another zone untouched), a DELETE lifts it, and the
 * settings survive a restart of the platform. A `--shield-zone` flag on the same zone wins, field
 * by field. Native path skipped without the addon (SWITCHBOARD_REQUIRE_PEERS=1 fails).
 * @module
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { describe, test } from 'node:test';
import { nativeUdpStatus } from '../../src/transport/native-udp.js';
import { buildQuery } from '../helpers/dns-client.js';
import {
  callApi,
  makeDataDir,
  type Platform,
  queryPlatform,
  removeDataDir,
  runCli,
  startPlatform,
} from '../helpers/platform.js';
import { parseExposition } from '../helpers/prometheus.js';
import { skipOrFail } from '../helpers/require-peers.js';
import { tallyClient } from '../helpers/tally-client.js';
import { waitFor } from '../helpers/wait-for.js';

const native = nativeUdpStatus();
const KEY = 'sb_e2e_shield_api_key_0123456789abcdef';

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

const zoneText = (origin: string) =>
  `${origin} 300 IN SOA ns1.${origin} hostmaster.${origin} 1 3600 600 86400 300\n` +
  `${origin} 300 IN NS ns1.${origin}\nns1.${origin} 300 IN A 127.0.0.1\nwww.${origin} 300 IN A 192.0.2.1\n`;

/**
 * 30 queries for `name` at once from a fresh loopback address (a /24 of its own: RRL's block),
 * then the replies counted once all are in (`settled`: a fence, not a pause): full, truncated
 * (TC=1, RRL's slip) and other (any RCODE but NOERROR, or a reply to no query of ours).
 */
let block = 0;
async function burst(
  port: number,
  name: string,
): Promise<{ full: number; truncated: number; other: number }> {
  // 127.20.0.1, 127.20.1.1, …: a /24 of its own each (both tests of a path share this process).
  const c = await tallyClient(`127.${20 + (block >> 8)}.${block & 0xff}.1`);
  block++;
  try {
    for (let i = 0; i < 30; i++) c.sendName(name, port);
    await c.settled(port);
  } finally {
    c.close();
  }
  const t = c.tally;
  const replies = t.full + t.truncated;
  return { full: t.full, truncated: t.truncated, other: replies - (t.rcodes[0] ?? 0) + t.badReplies };
}

/** Waits (bounded) until the platform's output has `count` lines matching `re`. */
async function waitForLog(p: Platform, re: RegExp, count: number, withinMs = 10_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  const n = () => (p.stdout() + p.stderr()).split('\n').filter((l) => re.test(l)).length;
  while (n() < count) {
    if (Date.now() > deadline) assert.fail(`no ${count}× ${re} in:\n${p.stdout()}\n${p.stderr()}`);
    await settle(100);
  }
}

const limited = (t: { full: number; truncated: number; other: number }) =>
  t.full >= 5 && t.full <= 7 && t.truncated >= 10 && t.other === 0;

describe("a zone's shield settings through start's API", { timeout: 300_000 }, () => {
  for (const io of ['native', 'node'] as const)
    test(`${io} UDP path: taken by the running workers, lifted, kept across a restart`, {
      skip: io === 'native' ? skipOrFail(native.ok ? false : `no native addon: ${native.reason}`) : false,
    }, async () => {
      const dataDir = makeDataDir();
      const args = ['--io', io, ...(io === 'native' ? ['--native-answers'] : []), '--shield', 'on'];
      let p = await startPlatform({ dataDir, workers: 1, apiKey: KEY, extraArgs: args });
      try {
        for (const z of ['limited.test.', 'free.test.']) {
          const r = await callApi(p.api, KEY, 'POST', '/api/v1/zones', { name: z, zonefile: zoneText(z) });
          assert.equal(r.status, 201, JSON.stringify(r.body));
        }
        // Until the worker answers both new zones (no zone arrives during the bursts below).
        for (const z of ['limited.test.', 'free.test.'])
          await waitFor(`www.${z} answered`, async () => {
            const a = await queryPlatform(p.dnsPort, `www.${z}`, 1);
            return a.rcode === 0 && a.answers.length === 1;
          });
        const before = await burst(p.dnsPort, 'www.limited.test.');
        assert.equal(before.full, 30, `no RRL yet: ${JSON.stringify(before)}`);

        // The zone's own rate, 5 a second (slip 2), while the server limits nothing.
        const put = await callApi(p.api, KEY, 'PUT', '/api/v1/zones/limited.test/shield', {
          rrl: { responses: 5 },
        });
        assert.equal(put.status, 200, JSON.stringify(put.body));
        await waitForLog(p, /shield: zone settings changed \(1 from the API/, 1);
        const on = await burst(p.dnsPort, 'www.limited.test.');
        assert.ok(limited(on), `limited.test. with responses=5: ${JSON.stringify(on)}`);
        const other = await burst(p.dnsPort, 'www.free.test.');
        assert.equal(other.full, 30, `free.test.: ${JSON.stringify(other)}`);

        // Removed: the zone is answered in full again, still without a restart.
        assert.equal((await callApi(p.api, KEY, 'DELETE', '/api/v1/zones/limited.test/shield')).status, 200);
        await waitForLog(p, /shield: zone settings changed \(0 from the API/, 1);
        const off = await burst(p.dnsPort, 'www.limited.test.');
        assert.equal(off.full, 30, `after DELETE: ${JSON.stringify(off)}`);

        // Set again, then the platform restarts: the worker starts with the stored settings.
        await callApi(p.api, KEY, 'PUT', '/api/v1/zones/limited.test/shield', { rrl: { responses: 5 } });
        await waitForLog(p, /shield: zone settings changed \(1 from the API/, 2);
        await p.stop();
        // A --shield-zone flag on the same zone wins over the API's value (responses=1000).
        p = await startPlatform({
          dataDir,
          workers: 1,
          apiKey: KEY,
          extraArgs: [...args, '--shield-zone', 'free.test.:responses=5'],
        });
        // The worker starts with them (or, if it said hello before the primary read them, takes them).
        await waitForLog(
          p,
          /2 zones with settings of their own|shield: zone settings changed \(1 from the API, 1 from flags\)/,
          1,
        );
        let again = await burst(p.dnsPort, 'www.limited.test.');
        for (let i = 0; i < 50 && again.full + again.truncated === 0; i++) {
          await settle(100);
          again = await burst(p.dnsPort, 'www.limited.test.');
        }
        assert.ok(limited(again), `after a restart: ${JSON.stringify(again)}`);
        await callApi(p.api, KEY, 'PUT', '/api/v1/zones/free.test/shield', { rrl: { responses: 1000 } });
        await waitForLog(p, /shield: zone settings changed \(2 from the API, 1 from flags\)/, 1);
        const flagWins = await burst(p.dnsPort, 'www.free.test.');
        assert.ok(limited(flagWins), `free.test. (flag responses=5, API 1000): ${JSON.stringify(flagWins)}`);
      } finally {
        await p.stop();
        removeDataDir(dataDir);
      }
    });

  for (const io of ['native', 'node'] as const)
    test(`${io} UDP path: metrics opted in through the API export a quiet zone beside the 10 busiest`, {
      skip: io === 'native' ? skipOrFail(native.ok ? false : `no native addon: ${native.reason}`) : false,
    }, async () => {
      const dataDir = makeDataDir();
      const args = ['--io', io, ...(io === 'native' ? ['--native-answers'] : []), '--shield', 'on'];
      const p = await startPlatform({ dataDir, workers: 1, apiKey: KEY, extraArgs: args });
      const busy = Array.from({ length: 12 }, (_, i) => `b${i}.test.`);
      const exported = async () =>
        parseExposition(await (await fetch(`${p.api}/metrics`)).text())
          .samples.filter((x) => x.name === 'switchboard_dns_zone_queries_per_second')
          .map((x) => x.labels.zone);
      // 12 zones busier than quiet.test.: it is not among the worker's 10 busiest.
      const traffic = async (seconds: number) => {
        const sock = dgram.createSocket('udp4');
        await new Promise<void>((r) => sock.bind(0, '127.0.99.1', () => r()));
        for (let s = 0; s < seconds * 3; s++) {
          for (const z of busy)
            for (let i = 0; i < 10; i++)
              sock.send(buildQuery({ id: i, name: `www.${z}`, type: 1 }), p.dnsPort, '127.0.0.1');
          sock.send(buildQuery({ id: 1, name: 'www.quiet.test.', type: 1 }), p.dnsPort, '127.0.0.1');
          await settle(330);
        }
        sock.close();
      };
      try {
        for (const z of [...busy, 'quiet.test.']) {
          const r = await callApi(p.api, KEY, 'POST', '/api/v1/zones', { name: z, zonefile: zoneText(z) });
          assert.equal(r.status, 201, JSON.stringify(r.body));
        }
        await traffic(2);
        const before = await exported();
        assert.ok(!before.includes('quiet.test.'), `not exported before the opt-in: ${before.join(' ')}`);
        const put = await callApi(p.api, KEY, 'PUT', '/api/v1/zones/quiet.test/shield', { metrics: true });
        assert.equal(put.status, 200, JSON.stringify(put.body));
        await waitForLog(p, /shield: zone settings changed \(1 from the API/, 1);
        // Reports come once a second: traffic, then a report that carries quiet.test. (bounded).
        let zones: string[] = [];
        for (let i = 0; i < 10 && !zones.includes('quiet.test.'); i++) {
          await traffic(1);
          zones = await exported();
        }
        assert.ok(zones.includes('quiet.test.'), `exported zones: ${zones.join(' ')}`);
        assert.ok(zones.length <= 11, `10 busiest + quiet.test.: ${zones.join(' ')}`);
      } finally {
        await p.stop();
        removeDataDir(dataDir);
      }
    });

  test('switchboard zone shield show|set|rm', async () => {
    const dataDir = makeDataDir();
    const p = await startPlatform({ dataDir, workers: 1, apiKey: KEY });
    const cli = (args: string[]) => runCli(args, { SWITCHBOARD_URL: p.api, SWITCHBOARD_API_KEY: KEY });
    try {
      assert.equal((await cli(['zone', 'create', 'cli.test', '--nameserver', 'ns1.example.net.'])).code, 0);
      const none = await cli(['zone', 'shield', 'show', 'cli.test']);
      assert.equal(none.code, 0, none.err);
      assert.match(none.out, /^settings\s+none$/m);
      const set = await cli([
        'zone',
        'shield',
        'set',
        'cli.test',
        'min-nx=5000,responses=5,metrics=on',
        '--comment',
        'x',
      ]);
      assert.equal(set.code, 0, set.err);
      assert.match(set.out, /zone cli\.test\.: shield min-nx=5000,responses=5,metrics=on/);
      const shown = await cli(['zone', 'shield', 'show', 'cli.test', '--json']);
      assert.deepEqual(JSON.parse(shown.out).settings, {
        minNxPerSecond: 5000,
        rrl: { responses: 5 },
        metrics: true,
      });
      // A bad field is refused before any request, naming it; the settings stay.
      const bad = await cli(['zone', 'shield', 'set', 'cli.test', 'bogus=1']);
      assert.equal(bad.code, 2, bad.out);
      assert.match(bad.err, /unknown field 'bogus'/);
      const range = await cli(['zone', 'shield', 'set', 'cli.test', 'min-nx=0']);
      assert.notEqual(range.code, 0);
      assert.match(range.err, /min-nx must be 1\.\.10000000/);
      const rm = await cli(['zone', 'shield', 'rm', 'cli.test']);
      assert.equal(rm.code, 0, rm.err);
      assert.match((await cli(['zone', 'shield', 'show', 'cli.test'])).out, /^settings\s+none$/m);
    } finally {
      await p.stop();
      removeDataDir(dataDir);
    }
  });
});
