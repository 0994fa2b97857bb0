/**
 * The shield's IPv6 prefix logic end to end, from sources in many /56s: response-rate limiting
 * counted per /56 (BIND's and Knot's default IPv6 block), random-subdomain detection with the
 * flood coming from bots each in its own /56, DNS cookies bound to an IPv6 client address, and
 * kdig over IPv6 — on the native and the Node UDP paths. Loopback has one IPv6 address (::1),
 * so the tests run in a network namespace this file makes (test/helpers/netns.ts: only its
 * loopback, 2001:db8::/48 routed to it): the file re-runs itself inside it with `ip netns exec`.
 * Needs root and `ip`; skips saying so otherwise (SWITCHBOARD_REQUIRE_PEERS=1 fails).
 * @module
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { nativeUdpStatus } from '../../src/transport/native-udp.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { findEdnsOption } from '../../src/wire/edns.js';
import { fullRcode } from '../../src/wire/message.js';
import { buildQuery, queryUdp } from '../helpers/dns-client.js';
import {
  createNetns,
  currentNetns,
  deleteNetns,
  inOwnNetns,
  NETNS_ENV,
  NETNS_HOST_ENV,
  NETNS_PREFIX,
  NETNS_SERVER,
  netnsMissing,
} from '../helpers/netns.js';
import { type Peer, startSwitchboard } from '../helpers/peers.js';
import { skipOrFail } from '../helpers/require-peers.js';
import { tallyClient } from '../helpers/tally-client.js';
import { waitForText } from '../helpers/wait-for.js';

const inside = process.env[NETNS_ENV] === NETNS_PREFIX && inOwnNetns();

const ZONE = `$ORIGIN example.
$TTL 300
@ SOA ns1 hostmaster 1 3600 600 86400 300
@ NS ns1
ns1 AAAA 2001:db8::53
www A 192.0.2.1
`;

if (process.env[NETNS_ENV] !== undefined && !inside) {
  // Re-run but not in a namespace of its own: fail, never make another one (no recursion).
  test('the shield over IPv6: the re-run is inside the test namespace', () => {
    assert.fail(`${NETNS_ENV} is set but this process is not in a network namespace of its own`);
  });
} else if (!inside) {
  // Outside: make the namespace, run this file again in it, report its result.
  const skip = skipOrFail(netnsMissing());
  test('the shield over IPv6, in a network namespace of its own', { skip, timeout: 300_000 }, (t) => {
    const name = `sb6t${process.pid}`;
    createNetns(name);
    try {
      const r = spawnSync(
        'ip',
        ['netns', 'exec', name, process.execPath, '--test-reporter=tap', fileURLToPath(import.meta.url)],
        {
          encoding: 'utf8',
          // Not a child of this test run: a test file of its own, run directly (node:test would
          // skip a run it sees nested through NODE_TEST_CONTEXT).
          env: {
            ...process.env,
            NODE_TEST_CONTEXT: undefined,
            [NETNS_ENV]: NETNS_PREFIX,
            [NETNS_HOST_ENV]: currentNetns(),
          },
          timeout: 280_000,
          maxBuffer: 64 << 20,
        },
      );
      const out = `${r.stdout}\n${r.stderr}${r.error ? `\n${r.error.message}` : ''}${r.signal ? `\nkilled by ${r.signal}` : ''}`;
      assert.equal(r.status, 0, `the tests inside the namespace failed:\n${out.slice(-20_000)}`);
      assert.match(out, /# fail 0/);
      for (const line of out.match(/^# ipv626 .*$/gm) ?? []) t.diagnostic(line.slice(2));
      assert.doesNotMatch(out, /# pass 0\b/);
    } finally {
      deleteNetns(name);
    }
  });
} else {
  const native = nativeUdpStatus();
  const nativeSkip = native.ok ? false : `the native UDP addon is not available: ${native.reason}`;

  /** A client on its own IPv6 source address in the namespace, sending to the server's port. */
  async function client(address: string, port: number) {
    const c = await tallyClient(address, NETNS_SERVER);
    return {
      send: (q: Uint8Array) => c.send(q, port),
      tally: c.tally,
      settled: () => c.settled(port),
      close: c.close,
    };
  }

  const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

  for (const io of ['native', 'node'] as const)
    describe(`the shield over IPv6 on the ${io} UDP path`, {
      skip: io === 'native' ? nativeSkip : false,
      timeout: 120_000,
    }, () => {
      let dir: string;
      before(() => {
        dir = mkdtempSync(join(tmpdir(), 'sb-shield6-'));
        writeFileSync(join(dir, 'example.zone'), ZONE);
      });
      after(() => rmSync(dir, { recursive: true, force: true }));

      const serve = (args: string[]): Promise<Peer> =>
        startSwitchboard(dir, {
          host: NETNS_SERVER,
          workers: 0,
          io,
          args: io === 'native' ? ['--native-answers', ...args] : args,
        });

      test('RRL counts per /56: two addresses of one /56 share a rate, the next /56 has its own', async () => {
        const peer = await serve(['--shield', 'on', '--rrl', 'responses=5,slip=2']);
        try {
          const a = await client('2001:db8:0:4200::1', peer.port);
          const b = await client('2001:db8:0:42ff:1::2', peer.port); // the same /56 as a
          const c = await client('2001:db8:0:4300::1', peer.port); // the next /56
          for (let i = 0; i < 30; i++) a.send(buildQuery({ id: i, name: 'www.example.', type: 1 }));
          await a.settled();
          for (let i = 0; i < 10; i++) b.send(buildQuery({ id: i, name: 'www.example.', type: 1 }));
          for (let i = 0; i < 10; i++) c.send(buildQuery({ id: i, name: 'www.example.', type: 1 }));
          await Promise.all([b.settled(), c.settled()]);
          assert.ok(a.tally.full >= 5 && a.tally.full <= 6, `a: ${JSON.stringify(a.tally)}`);
          assert.ok(
            a.tally.truncated >= 10,
            `a, every second limited answer truncated: ${JSON.stringify(a.tally)}`,
          );
          assert.ok(b.tally.full <= 2, `b shares a's /56: ${JSON.stringify(b.tally)}`);
          assert.ok(b.tally.truncated >= 4, `b: ${JSON.stringify(b.tally)}`);
          assert.ok(c.tally.full >= 5, `c has its own /56: ${JSON.stringify(c.tally)}`);
          for (const x of [a, b, c]) x.close();
        } finally {
          await peer.stop();
        }
      });

      /** The kernel's drops on the server's UDP sockets (its port, /proc/net/udp6's last column):
       * a datagram a socket filter refuses is counted there (sk_drops), as is a full queue. */
      const kernelDrops = (port: number): number => {
        const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
        let n = 0;
        for (const line of readFileSync('/proc/net/udp6', 'utf8').split('\n').slice(1)) {
          const f = line.trim().split(/\s+/);
          if (f.length > 5 && f[1]?.endsWith(hex)) n += Number(f[f.length - 1]);
        }
        return n;
      };

      test('ipv626: a direct flood from two /56s is blocked in the kernel (socket drops), a resolver in another /56 and an allow-listed /56 are answered', {
        skip: io === 'native' ? false : 'the kernel prefilter is on the native path only',
      }, async () => {
        const peer = await serve([
          '--shield',
          'on',
          '--rrl',
          'responses=5,window=1,slip=0',
          '--shield-allow',
          '2001:db8:0:7700::/56',
        ]);
        try {
          await waitForText('the shield line', () => peer.output(), /and IPv6 \/56s/, 5000);
          // Bots: 8 addresses in each of two /56s (each in its own /64), and 4 in the allowed /56.
          const bots = await Promise.all([
            ...Array.from({ length: 8 }, (_, i) =>
              client(`2001:db8:0:a1${i.toString(16).padStart(2, '0')}::1`, peer.port),
            ),
            ...Array.from({ length: 8 }, (_, i) =>
              client(`2001:db8:0:b2${i.toString(16).padStart(2, '0')}::7`, peer.port),
            ),
          ]);
          const allowed = await Promise.all(
            Array.from({ length: 4 }, (_, i) =>
              client(`2001:db8:0:77${i.toString(16).padStart(2, '0')}::1`, peer.port),
            ),
          );
          let id = 0;
          for (let round = 0; round < 15 && !/drops 2 IPv6 \/56s/.test(peer.output()); round++) {
            for (const c of [...bots, ...allowed])
              for (let j = 0; j < 15; j++)
                c.send(buildQuery({ id: id++ & 0xffff, name: 'www.example.', type: 1 }));
            await settle(100);
          }
          await waitForText(
            'the block line',
            () => peer.output(),
            /kernel prefilter drops 2 IPv6 \/56s/,
            5000,
          );
          await settle(1500); // RRL's window (1 s) has passed: RRL alone would answer again
          // The flood goes on, from the bots and from new addresses of the blocked /56s.
          const fresh = await Promise.all([
            client('2001:db8:0:a1ff::99', peer.port),
            client('2001:db8:0:b2ee:1::5', peer.port),
          ]);
          const resolver = await client('2001:db8:0:c300::53', peer.port);
          const before = kernelDrops(peer.port);
          const floodBefore = bots.reduce((n, c) => n + c.tally.full + c.tally.truncated, 0);
          const allowedBefore = allowed.reduce((n, c) => n + c.tally.full, 0);
          let flood = 0;
          for (let round = 0; round < 5; round++) {
            for (const c of [...bots, ...fresh])
              for (let j = 0; j < 20; j++) {
                c.send(buildQuery({ id: id++ & 0xffff, name: 'www.example.', type: 1 }));
                flood++;
              }
            resolver.send(buildQuery({ id: round, name: 'www.example.', type: 1 }));
            allowed[round % 4]?.send(buildQuery({ id: 60000 + round, name: 'www.example.', type: 1 }));
            await settle(100);
          }
          await resolver.settled();
          await Promise.all(allowed.map((c) => c.settled()));
          await settle(300);
          const dropped = kernelDrops(peer.port) - before;
          const floodAnswered =
            bots.reduce((n, c) => n + c.tally.full + c.tally.truncated, 0) -
            floodBefore +
            fresh.reduce((n, c) => n + c.tally.full + c.tally.truncated, 0);
          assert.equal(resolver.tally.full, 5, `resolver in another /56: ${JSON.stringify(resolver.tally)}`);
          for (const c of allowed) assert.equal(c.tally.badReplies, 0, `allowed: ${JSON.stringify(c.tally)}`);
          const allowedLast = allowed.reduce((n, c) => n + c.tally.full, 0) - allowedBefore;
          assert.equal(allowedLast, 5, `the allow-listed /56 answered ${allowedLast} of 5`);
          assert.doesNotMatch(peer.output(), /drops 3 IPv6 \/56s/, 'the allow-listed /56 never blocked');
          assert.equal(floodAnswered, 0, `the blocked /56s' flood answered ${floodAnswered} of ${flood}`);
          // Dropped by the socket's program before the queue: all but the renewal's ~1 in 256.
          assert.ok(dropped >= flood * 0.9, `kernel drops ${dropped} of ${flood} sent from the blocked /56s`);
          process.stdout.write(
            `# ipv626 e2e: flood ${flood} sent from 2 blocked /56s, kernel drops ${dropped}, answered ${floodAnswered}; resolver ${resolver.tally.full}/5\n`,
          );
          for (const c of [...bots, ...allowed, ...fresh, resolver]) c.close();
        } finally {
          await peer.stop();
        }
      });

      /** 64 bots, each in a /56 of its own (2001:db8:0:XX00::/56), and a resolver in another. */
      async function flood(port: number, seconds: number) {
        const bots = await Promise.all(
          Array.from({ length: 64 }, (_, i) =>
            client(`2001:db8:0:${(0x80 + i).toString(16)}00::${i + 1}`, port),
          ),
        );
        const resolver = await client('2001:db8:0:1000::53', port);
        let id = 0;
        const t0 = Date.now();
        while (Date.now() - t0 < seconds * 1000) {
          for (let i = 0; i < 150; i++) {
            const name = `x${Math.random().toString(36).slice(2)}.example.`;
            bots[i % bots.length].send(buildQuery({ id: id++ & 0xffff, name, type: 1 }));
          }
          resolver.send(buildQuery({ id: id++ & 0xffff, name: 'www.example.', type: 1 }));
          await settle(100);
        }
        // One server socket (--workers 0), read in order: the bots' replies are in too.
        await resolver.settled();
        const sent = bots.reduce((n, b) => n + b.tally.sent, 0);
        const answered = bots.reduce((n, b) => n + b.tally.full + b.tally.truncated, 0);
        for (const b of bots) b.close();
        resolver.close();
        return { sent, answered, resolver: resolver.tally };
      }

      test('a random-subdomain flood from bots each in its own /56: the zone is called attacked, its existing name answered every time', async () => {
        const peer = await serve(['--shield', 'on']);
        try {
          const r = await flood(peer.port, 5);
          await settle(800);
          await waitForText(
            'the server log',
            () => peer.output(),
            /shield: example\. is under a random-subdomain attack/,
            5000,
          );
          assert.equal(r.resolver.full, r.resolver.sent, `resolver: ${JSON.stringify(r.resolver)}`);
          assert.ok(r.answered < r.sent * 0.5, `flood answered ${r.answered} of ${r.sent}`);
        } finally {
          await peer.stop();
        }
      });

      test('cookies are bound to the IPv6 client: during an attack a server cookie verifies from its address, not from another /56', async () => {
        const peer = await serve(['--shield', 'on']);
        try {
          const ask = async (cookie: Uint8Array, from: string, name = 'www.example.') => {
            const q = buildQuery({
              id: 99,
              name,
              type: 1,
              edns: { udpSize: 1232, options: [{ code: 10, data: cookie }] },
            });
            const r = decodeMessage(
              await queryUdp(q, {
                host: NETNS_SERVER,
                port: peer.port,
                timeoutMs: 1500,
                retries: 1,
                localAddress: from,
              }),
            );
            return { rcode: fullRcode(r), cookie: findEdnsOption(r.edns, 10)?.data };
          };
          const client8 = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
          const first = await ask(client8, '2001:db8:0:2000::1');
          assert.equal(first.rcode, 0);
          assert.equal(first.cookie?.length, 24, 'client cookie + an interoperable server cookie (RFC 9018)');
          const server = (first.cookie as Uint8Array).subarray(8);
          // RFC 9018: the server cookie is a hash over the client cookie AND the client's address:
          // sent back from the same address it is kept (the same server cookie comes back
          // until it is refreshed), from another /56 it is not valid and a fresh one is made.
          const again = await ask(first.cookie as Uint8Array, '2001:db8:0:2000::1');
          assert.equal(again.rcode, 0);
          const other = await ask(first.cookie as Uint8Array, '2001:db8:0:2100::1');
          assert.equal(other.rcode, 0, 'an invalid server cookie outside an attack: answered');
          assert.deepEqual(
            Buffer.from((again.cookie as Uint8Array).subarray(0, 8)),
            Buffer.from(client8),
            'the client cookie is echoed',
          );
          assert.notDeepEqual(
            Buffer.from((other.cookie as Uint8Array).subarray(16)),
            Buffer.from(server.subarray(8)),
            'another address gets another hash',
          );
          // Under a random-subdomain attack a missing name is answered to the verified cookie
          // from its own address; the same cookie from another /56 is BADCOOKIE (RFC 7873 §5.3).
          const r = await flood(peer.port, 3);
          assert.ok(r.answered < r.sent, `the flood was shed: ${r.answered} of ${r.sent}`);
          await waitForText(
            'the server log',
            () => peer.output(),
            /is under a random-subdomain attack/,
            5000,
          );
          const verified = await ask(again.cookie as Uint8Array, '2001:db8:0:2000::1', 'nothere.example.');
          assert.equal(verified.rcode, 3, 'NXDOMAIN to the verified cookie');
          const stolen = await ask(again.cookie as Uint8Array, '2001:db8:0:2100::1', 'nothere.example.');
          assert.equal(stolen.rcode, 23, 'BADCOOKIE from another /56');
        } finally {
          await peer.stop();
        }
      });

      test('kdig over IPv6, with a cookie, gets its answer', async (t) => {
        const probe = spawnSync('kdig', ['-V'], { encoding: 'utf8' });
        if (probe.error) return t.skip('kdig is not installed');
        const peer = await serve(['--shield', 'on']);
        try {
          const r = spawnSync(
            'kdig',
            [
              '+cookie',
              '+retry=1',
              '+time=2',
              '-p',
              String(peer.port),
              `@${NETNS_SERVER}`,
              'www.example',
              'A',
            ],
            { encoding: 'utf8' },
          );
          assert.equal(r.status, 0, r.stderr);
          assert.match(r.stdout, /status: NOERROR/);
          assert.match(r.stdout, /www\.example\.\s+300\s+IN\s+A\s+192\.0\.2\.1/);
          assert.match(r.stdout, /COOKIE: [0-9a-f]{48}/i, 'kdig got a client and a server cookie back');
        } finally {
          await peer.stop();
        }
      });
    });
}
