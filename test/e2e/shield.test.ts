/**
 * The shield on the native UDP path, end to end (`serve --io native --native-answers --shield
 * on`): response-rate limiting as BIND counts it (per /24, identical answers, slip), and
 * random-subdomain detection shedding a flood of missing names while an existing name keeps
 * every answer; dry run sheds nothing. Clients are real UDP sockets bound to their own
 * loopback source addresses. Skips without the native addon (SWITCHBOARD_REQUIRE_PEERS=1 fails).
 * @module
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseProcUdp, parseSnmpUdp, type UdpSocketRow } from '../../src/drill/sockets.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { findEdnsOption } from '../../src/wire/edns.js';
import { fullRcode } from '../../src/wire/message.js';
import { buildQuery, queryTcp, queryUdp } from '../helpers/dns-client.js';
import { type Peer, startSwitchboard, switchboardBin } from '../helpers/peers.js';
import { makeDataDir, removeDataDir, startPlatform } from '../helpers/platform.js';
import { parseExposition, sampleValue } from '../helpers/prometheus.js';
import { nativeShieldSkip, SHIELD_ZONE } from '../helpers/shield-zone.js';
import { tallyClient } from '../helpers/tally-client.js';
import { waitFor, waitForText } from '../helpers/wait-for.js';

const skip = nativeShieldSkip();

const ZONE = SHIELD_ZONE;

const client = (address: string) => tallyClient(address);

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The same tests on both UDP paths where they apply (the kernel prefilter is native only).
for (const io of ['native', 'node'] as const)
  describe(`the shield on the ${io} UDP path`, {
    skip: io === 'native' ? skip : false,
    timeout: 120_000,
  }, () => {
    const pathLine = io === 'native' ? 'the native UDP path' : 'the Node UDP path';
    const signals =
      io === 'native' ? 'zone signals from the zone images' : 'zone signals from the served zones';
    const nativeOnly = io === 'native' ? {} : { skip: 'native path only' };
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'sb-shield-'));
      writeFileSync(join(dir, 'example.zone'), ZONE);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    const serve = (args: string[]): Promise<Peer> =>
      startSwitchboard(dir, { workers: 0, io, args: io === 'native' ? ['--native-answers', ...args] : args });

    test('RRL: a /24 gets its rate of one answer, the surplus alternately dropped and truncated (slip 2); the next /24 has its own', async () => {
      const peer = await serve(['--shield', 'on', '--rrl', 'responses=5,slip=2']);
      try {
        assert.ok(
          peer
            .output()
            .includes(
              `shield on on ${pathLine}: admission before answering (${signals}), response-rate limiting responses=5,slip=2`,
            ),
          peer.output(),
        );
        const a = await client('127.0.42.1');
        const b = await client('127.0.42.2'); // same /24 as a
        const c = await client('127.0.43.1');
        for (let i = 0; i < 30; i++) a.send(buildQuery({ id: i, name: 'www.example.', type: 1 }), peer.port);
        await a.settled(peer.port);
        for (let i = 0; i < 10; i++) b.send(buildQuery({ id: i, name: 'www.example.', type: 1 }), peer.port);
        for (let i = 0; i < 10; i++) c.send(buildQuery({ id: i, name: 'www.example.', type: 1 }), peer.port);
        await Promise.all([b.settled(peer.port), c.settled(peer.port)]);
        // 5 a second, a burst of one second's worth: 5 answers (6 if a credit came in meanwhile),
        // then every second limited response truncated.
        assert.ok(a.tally.full >= 5 && a.tally.full <= 6, `a: ${JSON.stringify(a.tally)}`);
        assert.ok(
          Math.abs(a.tally.truncated - (30 - a.tally.full) / 2) <= 1,
          `a: ${JSON.stringify(a.tally)}`,
        );
        assert.ok(b.tally.full <= 2, `b shares a's block: ${JSON.stringify(b.tally)}`);
        assert.ok(b.tally.truncated >= 4, `b: ${JSON.stringify(b.tally)}`);
        assert.ok(c.tally.full >= 5, `c has its own block: ${JSON.stringify(c.tally)}`);
        for (const x of [a, b, c]) assert.equal(x.tally.badReplies, 0);
        // A truncated reply is one dig reads and retries over TCP from.
        const dig = spawnSync(
          'dig',
          [
            '+tries=1',
            '+time=2',
            '-b',
            '127.0.42.3',
            '-p',
            String(peer.port),
            '@127.0.0.1',
            'www.example',
            'A',
          ],
          {
            encoding: 'utf8',
          },
        );
        if (dig.status === 0) assert.match(dig.stdout, /status: NOERROR/);
        for (const x of [a, b, c]) x.close();
      } finally {
        await peer.stop();
      }
    });

    test(
      'the kernel prefilter: a /24 that keeps being rate limited is dropped before the socket queue, over UDP and TCP; its neighbours are not',
      nativeOnly,
      async () => {
        const peer = await serve(['--shield', 'on', '--rrl', 'responses=5,window=1,slip=0']);
        try {
          await waitFor(
            'the shield line',
            async () => /a BPF filter on the socket drops IPv4 \/24s that flood directly/.test(peer.output()),
            5000,
          );
          const bot = await client('127.0.99.1');
          for (let i = 0; i < 15; i++) {
            for (let j = 0; j < 100; j++)
              bot.send(buildQuery({ id: (i * 100 + j) & 0xffff, name: 'www.example.', type: 1 }), peer.port);
            await settle(100);
          }
          for (let i = 0; i < 30 && !/kernel prefilter drops 1 IPv4 \/24 /.test(peer.output()); i++)
            await settle(100);
          assert.match(peer.output(), /shield: the kernel prefilter drops 1 IPv4 \/24 /);
          await settle(1500); // RRL's window (1 s) has passed: RRL alone would answer again
          const blocked = await client('127.0.99.3');
          const neighbour = await client('127.0.98.3');
          for (let i = 0; i < 5; i++) {
            blocked.send(buildQuery({ id: i, name: 'www.example.', type: 1 }), peer.port);
            neighbour.send(buildQuery({ id: i, name: 'www.example.', type: 1 }), peer.port);
            await settle(100);
          }
          // The neighbour's replies all in: the blocked /24's, sent between them, would be too.
          await neighbour.settled(peer.port);
          assert.equal(
            blocked.tally.full + blocked.tally.truncated,
            0,
            `blocked /24: ${JSON.stringify(blocked.tally)}`,
          );
          assert.equal(neighbour.tally.full, 5, `neighbour: ${JSON.stringify(neighbour.tally)}`);
          // The same program is on the TCP listener: the blocked /24's SYNs never reach the accept
          // queue (its connection is not even established), the neighbour's query is answered.
          const q = buildQuery({ id: 7, name: 'www.example.', type: 1 });
          const viaTcp = (from: string) =>
            queryTcp(q, { port: peer.port, localAddress: from, timeoutMs: 1500 }).then(
              (m) => `answered rcode ${m[3] & 15}`,
              (e: Error) => `failed: ${e.message}`,
            );
          assert.equal(await viaTcp('127.0.98.4'), 'answered rcode 0');
          assert.match(await viaTcp('127.0.99.4'), /^failed: /);
          for (const c of [bot, blocked, neighbour]) c.close();
        } finally {
          await peer.stop();
        }
      },
    );

    /** Datagrams the kernel dropped on UDP sockets that `which` picks (queue full, or a filter). */
    const socketDrops = (which: (r: UdpSocketRow) => boolean): number =>
      (['4', '6'] as const).reduce((n, v) => {
        try {
          const text = readFileSync(v === '4' ? '/proc/net/udp' : '/proc/net/udp6', 'utf8');
          return (
            n +
            parseProcUdp(text, v === '4' ? 4 : 6)
              .filter(which)
              .reduce((m, r) => m + r.drops, 0)
          );
        } catch {
          return n;
        }
      }, 0);
    /** Datagrams the kernel dropped on the server's UDP sockets (its queue, or its socket filter). */
    const kernelDrops = (port: number): number => socketDrops((r) => r.port === port);
    /** The host's UDP receive-queue overflows (every socket's: an upper bound for one socket's). */
    const queueOverflows = (): number => {
      try {
        return parseSnmpUdp(readFileSync('/proc/net/snmp', 'utf8')).RcvbufErrors ?? 0;
      } catch {
        return 0;
      }
    };

    async function flood(peer: { port: number }, seconds: number, zone = 'example.', perTick = 150) {
      const botAddresses = Array.from({ length: 20 }, (_, i) => `127.0.${10 + i}.1`);
      const bots = await Promise.all(botAddresses.map((a) => client(a)));
      const resolver = await client('127.0.200.1');
      const serverDrops0 = kernelDrops(peer.port);
      // The clients' own sockets (each on its own address): their drops are answers lost on this
      // side (a loaded machine stalls this process and their queues overflow), not the server's.
      const clientDrops = () => socketDrops((r) => botAddresses.includes(r.address));
      const clientDrops0 = clientDrops();
      let id = 0;
      const t0 = Date.now();
      while (Date.now() - t0 < seconds * 1000) {
        for (let i = 0; i < perTick; i++) {
          const name = `x${Math.random().toString(36).slice(2)}.${zone}`;
          bots[i % bots.length].send(buildQuery({ id: id++ & 0xffff, name, type: 1 }), peer.port);
        }
        resolver.send(buildQuery({ id: id++ & 0xffff, name: `www.${zone}`, type: 1 }), peer.port);
        await settle(100);
      }
      const sum = (k: 'sent' | 'full' | 'truncated') => bots.reduce((n, b) => n + b.tally[k], 0);
      // Until every flood datagram is accounted for (answered, or dropped by a kernel queue or
      // filter) or nothing has moved for 600 ms: a loaded server answers the tail late.
      const accounted = () =>
        sum('full') +
        sum('truncated') +
        (kernelDrops(peer.port) - serverDrops0) +
        (clientDrops() - clientDrops0);
      await settle(400);
      for (let still = 0, last = accounted(), i = 0; i < 50 && last < sum('sent') && still < 6; i++) {
        await settle(100);
        const now = accounted();
        still = now === last ? still + 1 : 0;
        last = now;
      }
      // Every reply to the resolver in (it is asserted answered in full).
      await resolver.settled(peer.port);
      const result = {
        floodSent: sum('sent'),
        floodAnswered: sum('full') + sum('truncated'),
        /** Flood answers the clients' sockets dropped, and datagrams the server's sockets dropped. */
        floodClientDrops: clientDrops() - clientDrops0,
        serverDrops: kernelDrops(peer.port) - serverDrops0,
        resolver: resolver.tally,
      };
      for (const b of bots) b.close();
      resolver.close();
      return result;
    }

    test('a random-subdomain flood: the zone is called attacked, its missing names shed, its existing name answered every time', async () => {
      const peer = await serve(['--shield', 'on']);
      try {
        const r = await flood(peer, 5);
        await settle(1200);
        await waitForText(
          'the server log',
          () => peer.output(),
          /shield: example\. is under a random-subdomain attack/,
          5000,
        );
        assert.equal(r.resolver.full, r.resolver.sent, `resolver: ${JSON.stringify(r.resolver)}`);
        assert.ok(r.floodAnswered < r.floodSent * 0.5, `flood answered ${r.floodAnswered} of ${r.floodSent}`);
      } finally {
        await peer.stop();
      }
    });

    test(
      'the QNAME filter: a flood of 20,000 missing names a second is mostly dropped in the kernel (a share let through); the existing name keeps every answer; dry run drops nothing',
      nativeOnly,
      async (t) => {
        for (const mode of ['on', 'dry-run'] as const) {
          const peer = await serve(['--shield', mode]);
          try {
            const overflows0 = queueOverflows();
            const r = await flood(peer, 6, 'example.', 2000);
            const dropped = r.serverDrops;
            const overflows = queueOverflows() - overflows0;
            await settle(1200);
            t.diagnostic(
              `${mode}: flood ${r.floodSent} sent, ${r.floodAnswered} answered, ${dropped} dropped by the server's sockets (host queue overflows ${overflows}), ${r.floodClientDrops} answers dropped by the clients' sockets`,
            );
            assert.equal(r.resolver.full, r.resolver.sent, `${mode}: resolver ${JSON.stringify(r.resolver)}`);
            await waitForText(
              'the server log',
              () => peer.output(),
              /shield: example\. is under a random-subdomain attack/,
              5000,
            );
            if (mode === 'on') {
              assert.match(
                peer.output(),
                /shield: the kernel prefilter drops the missing names of 1 attacked zone /,
              );
              // The zone enters the filter once it is called attacked and its flood measured (the
              // first second or two of the flood are read in full): over the 6 s, most is dropped.
              assert.ok(
                dropped > r.floodSent * 0.4,
                `kernel drops ${dropped} of ${r.floodSent} sent; ${peer.output().match(/.*prefilter drops the missing names.*/)?.[0]}`,
              );
              assert.ok(
                r.floodAnswered < r.floodSent * 0.5,
                `flood answered ${r.floodAnswered} of ${r.floodSent}`,
              );
            } else {
              assert.doesNotMatch(peer.output(), /prefilter drops the missing names/);
              await waitForText(
                'the server log',
                () => peer.output(),
                /prefilter would drop the missing names of 1 attacked zone /,
                5000,
              );
              // Dry run: no socket filter drops anything. On a loaded machine the server's queue
              // can overflow at this rate: whatever its sockets dropped is within the host's
              // queue overflows (a filter's drops are not counted there).
              assert.ok(dropped <= overflows, `dry run: ${dropped} dropped, ${overflows} queue overflows`);
              // Every flood datagram answered but those a kernel queue dropped (the server's, or
              // the clients' own sockets when this process stalls): the shield shed none.
              assert.equal(
                r.floodAnswered + dropped + r.floodClientDrops,
                r.floodSent,
                `dry run: ${JSON.stringify(r)}`,
              );
            }
          } finally {
            await peer.stop();
          }
        }
      },
    );

    test('cookies: a malformed COOKIE gets FORMERR; during an attack a missing name asked with a client cookie gets BADCOOKIE and a cookie', async () => {
      const peer = await serve(['--shield', 'on']);
      try {
        const ask = async (name: string, cookie: Uint8Array, from = '127.0.201.1') => {
          const q = buildQuery({
            id: 77,
            name,
            type: 1,
            edns: { udpSize: 1232, options: [{ code: 10, data: cookie }] },
          });
          const r = decodeMessage(
            await queryUdp(q, {
              host: '127.0.0.1',
              port: peer.port,
              timeoutMs: 1500,
              retries: 1,
              localAddress: from,
            }),
          );
          return { rcode: fullRcode(r), cookie: findEdnsOption(r.edns, 10)?.data };
        };
        const malformed = await ask('www.example.', Uint8Array.of(1, 2, 3, 4, 5));
        assert.equal(malformed.rcode, 1, 'FORMERR');
        const calm = await ask('nothere.example.', Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
        assert.equal(calm.rcode, 3, 'calm: NXDOMAIN, with our cookie');
        assert.equal(calm.cookie?.length, 24);
        await flood(peer, 3);
        await waitForText('the server log', () => peer.output(), /is under a random-subdomain attack/, 5000);
        const bad = await ask('nothere.example.', Uint8Array.of(8, 7, 6, 5, 4, 3, 2, 1));
        assert.equal(bad.rcode, 23, 'BADCOOKIE');
        assert.equal(bad.cookie?.length, 24, 'with a fresh cookie');
        // Existing names are still answered, cookie or not.
        assert.equal((await ask('www.example.', Uint8Array.of(8, 7, 6, 5, 4, 3, 2, 1))).rcode, 0);
      } finally {
        await peer.stop();
      }
    });

    test('dry run: the same flood is answered in full (and the attack still reported)', async () => {
      const peer = await serve(['--shield', 'dry-run']);
      try {
        const r = await flood(peer, 4);
        await settle(1200);
        assert.ok(peer.output().includes(`shield dry-run on ${pathLine}`), peer.output());
        // Every flood datagram answered but those a kernel queue dropped (on a loaded machine this
        // process stalls and its sockets overflow, or the server's does): the shield shed none.
        assert.equal(r.floodAnswered + r.serverDrops + r.floodClientDrops, r.floodSent, JSON.stringify(r));
        assert.ok(r.floodAnswered >= r.floodSent * 0.5, JSON.stringify(r));
        assert.equal(r.resolver.full, r.resolver.sent);
        await waitForText('the server log', () => peer.output(), /is under a random-subdomain attack/, 5000);
      } finally {
        await peer.stop();
      }
    });

    test(
      "switchboard start: the shield's metrics on /metrics (decisions, attacked zone by name)",
      nativeOnly,
      async () => {
        const dataDir = makeDataDir();
        const p = await startPlatform({
          dataDir,
          workers: 1,
          extraArgs: ['--io', 'native', '--native-answers', '--shield', 'on', '--rrl', 'responses=50'],
        });
        try {
          const r = await flood({ port: p.dnsPort }, 3, 'example.com.');
          assert.equal(r.resolver.full, r.resolver.sent, `resolver: ${JSON.stringify(r.resolver)}`);
          let exp = parseExposition('');
          for (let i = 0; i < 20; i++) {
            exp = parseExposition(await (await fetch(`${p.api}/metrics`)).text());
            // The attack state and every flood datagram counted: a report taken after the flood.
            if (
              sampleValue(exp, 'switchboard_dns_zone_under_attack', { zone: 'example.com.' }) === 1 &&
              (sampleValue(exp, 'switchboard_dns_queries_total', { transport: 'udp' }) ?? 0) >= r.floodSent
            )
              break;
            await settle(250);
          }
          assert.equal(sampleValue(exp, 'switchboard_dns_zone_under_attack', { zone: 'example.com.' }), 1);
          assert.ok(
            (sampleValue(exp, 'switchboard_dns_shield_decisions_total', { decision: 'dropped' }) ?? 0) > 0,
          );
          assert.ok(
            (sampleValue(exp, 'switchboard_dns_shield_shed_total', {
              reason: 'zone-budget',
              tier: 'unknown',
            }) ?? 0) > 0,
          );
          assert.equal(
            sampleValue(exp, 'switchboard_dns_shield_overload_level', { worker: '0' }) !== undefined,
            true,
          );
          assert.ok(
            (sampleValue(exp, 'switchboard_dns_queries_total', { transport: 'udp' }) ?? 0) >= r.floodSent,
          );
        } finally {
          await p.stop();
          removeDataDir(dataDir);
        }
      },
    );

    test('bad settings are refused before anything is served, naming the flag', nativeOnly, () => {
      for (const [args, want] of [
        [['--shield', 'maybe'], /--shield must be off, on or dry-run/],
        [['--shield', 'on', '--rrl', 'responses=5,bogus=1'], /--rrl: unknown field 'bogus'/],
        [['--rrl', 'responses=5'], /need --shield on or --shield dry-run/],
        [['--shield', 'on', '--cookie-secret', 'abc'], /--cookie-secret #1/],
        [['--shield', 'on', '--shield-allow', '10.0.0.0/33'], /--shield-allow: '10.0.0.0\/33'/],
        [['--shield', 'on', '--cookie-rotate', '1w'], /--cookie-rotate must be off or a duration/],
        [['--cookie-rotate', '1d'], /need --shield on or --shield dry-run/],
      ] as const) {
        const r = spawnSync(
          process.execPath,
          [switchboardBin(), 'serve', '--zone-dir', dir, '--listen', '127.0.0.1:0', ...args],
          {
            encoding: 'utf8',
            timeout: 20_000,
          },
        );
        assert.notEqual(r.status, 0, args.join(' '));
        assert.match(r.stderr, want, args.join(' '));
      }
    });
  });
