/**
 * Plain TCP queries answered in C (tcpc23, native/tcp_serve.h): with the native shield on, the
 * connections C takes (kept until their first frame, or judged to serve by the batch accept) are
 * served there while their frames are plain queries the zone images answer; the first frame C
 * does not answer (a name outside the zones, an AXFR), a client slow to read its answers, hands
 * the connection to JS with the octets C read and the answers it had not written. The same
 * clients against the same server with `SWITCHBOARD_TCP_C_ANSWERS=off` (served in JS, as before)
 * get the same answers: pipelined frames in order, frames split across writes, a mixed connection,
 * the idle timeout, a slow reader, a frame shorter than a header; the counters (the worker's line
 * and the Prometheus exposition) count the answers C gave. (tcpl24) And the same with every accept
 * made by libuv (`SWITCHBOARD_TCP_LISTEN=libuv`, the path before tcpl24): by default C accepts
 * (its duplicate of the listening socket in its epoll set), and the worker's line says so.
 * @module
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TCP_C_ANSWERS_ENV, TCP_LISTEN_ENV } from '../../src/transport/native-udp.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { buildQuery, readHeader } from '../helpers/dns-client.js';
import { findFreePort, type Peer, startSwitchboard } from '../helpers/peers.js';
import { type Exposition, parseExposition, sampleValue } from '../helpers/prometheus.js';
import { nativeShieldSkip, SHIELD_ZONE_WITH_BIG_TXT } from '../helpers/shield-zone.js';
import { askFrom, ending, framed, openFrom, readFrames } from '../helpers/tcp-client.js';

const skip = nativeShieldSkip();
const IDLE_MS = 1500;
const A = 1;
const TXT = 16;
const AXFR = 252;

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The numbers of the last `served in C:` part of the worker's TCP line. */
function servedLine(output: string): Record<string, number> | undefined {
  const re =
    /served in C: (\d+) open now \((\d+) since start, (\d+) queries answered, (\d+) handed to JS, (\d+) closed idle, (\d+) closed by the client, (\d+) for a short frame, (\d+) refused/g;
  const last = [...output.matchAll(re)].at(-1);
  if (last === undefined) return undefined;
  const [open, total, answered, handed, idle, clientClosed, malformed, refused] = last.slice(1).map(Number);
  return { open, total, answered, handed, idle, clientClosed, malformed, refused };
}

/** The kept-for-first-frame total of the same line. */
function keptTotal(output: string): number {
  const re = /kept for their first frame now \((\d+) since start/g;
  return Number([...output.matchAll(re)].at(-1)?.[1] ?? 0);
}

for (const mode of ['on', 'off', 'libuv'] as const) {
  const title =
    mode === 'on'
      ? 'in C'
      : mode === 'off'
        ? `in JS (${TCP_C_ANSWERS_ENV}=off)`
        : `in C, accepted by libuv (${TCP_LISTEN_ENV}=libuv)`;
  describe(`TCP served ${title}`, {
    skip,
    timeout: 120_000,
  }, () => {
    let dir: string;
    let peer: Peer | undefined;
    let metricsPort = 0;
    // Each test's clients on their own loopback /24 (strangers, unless a test vouches for them).
    const net = mode === 'on' ? 90 : mode === 'off' ? 100 : 110;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'sb-tcp-c-'));
      writeFileSync(join(dir, 'example.zone'), SHIELD_ZONE_WITH_BIG_TXT);
      // A zone asked only over TCP (its image installed after C's first miss on it).
      writeFileSync(
        join(dir, 'tcponly.test.zone'),
        '$ORIGIN tcponly.test.\n$TTL 300\n@ SOA ns1 h 1 3600 600 86400 300\n@ NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.7\n',
      );
      if (skip) return;
      metricsPort = await findFreePort();
      peer = await startSwitchboard(dir, {
        workers: 0,
        io: 'native',
        args: [
          '--shield',
          'on',
          '--native-answers',
          'on',
          '--tcp-idle-timeout',
          String(IDLE_MS),
          '--allow-axfr-from',
          '127.0.0.0/8',
          '--metrics',
          `127.0.0.1:${metricsPort}`,
        ],
        env:
          mode === 'off'
            ? { [TCP_C_ANSWERS_ENV]: 'off' }
            : mode === 'libuv'
              ? { [TCP_LISTEN_ENV]: 'libuv' }
              : {},
      });
    });
    after(async () => {
      await peer?.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    /** The served-in-C numbers once `ok` holds (or after ~3 s: the line comes once a second). */
    const line = async (ok: (l: Record<string, number>) => boolean) => {
      for (let i = 0; i < 60; i++) {
        const l = servedLine(peer?.output() ?? '');
        if (l !== undefined && ok(l)) return l;
        await settle(50);
      }
      return servedLine(peer?.output() ?? '');
    };
    const before0 = () => servedLine(peer?.output() ?? '') ?? ({} as Record<string, number>);

    test('pipelined queries, one write and frames split across writes, answered in order', async () => {
      const p = peer as Peer;
      const was = before0();
      const ids = Array.from({ length: 40 }, (_, i) => 1000 + i);
      const qs = ids.map((id, i) =>
        framed(buildQuery({ id, name: i % 3 === 0 ? 'WwW.example.' : 'www.example.', type: A })),
      );
      // The stream cut at odd places: inside a length prefix, between frames, inside frames.
      const s2 = await openFrom(p.port, `127.0.${net}.2`);
      const got2 = readFrames(s2, (m) => m.length >= ids.length, 5000);
      const all = Buffer.concat(qs);
      const cuts = [0, 1, 2, 3, 25, 26, 27, 60, 400, 401, all.length];
      for (let i = 0; i + 1 < cuts.length; i++) {
        s2.write(all.subarray(cuts[i], cuts[i + 1]));
        await settle(15);
      }
      const m2 = await got2;
      s2.destroy();
      assert.deepEqual(
        m2.map((m) => readHeader(m).id),
        ids,
      );
      for (const m of m2) {
        const d = decodeMessage(m);
        assert.equal(d.flags & 15, 0);
        assert.equal(d.answers.length, 1);
        assert.equal(d.answers[0].type, A);
      }
      if (mode !== 'off') {
        const l = await line((x) => x.answered >= (was.answered ?? 0) + ids.length);
        assert.ok(l !== undefined && l.answered >= (was.answered ?? 0) + ids.length, 'answered in C');
      } else {
        assert.equal(servedLine(p.output()), undefined, 'nothing served in C');
      }
    });

    test('a mixed connection: plain queries, a name C does not serve, an AXFR, all answered in order', async () => {
      const p = peer as Peer;
      const was = before0();
      const s = await openFrom(p.port, `127.0.${net}.3`);
      const stream = Buffer.concat([
        framed(buildQuery({ id: 1, name: 'www.example.', type: A })),
        framed(buildQuery({ id: 2, name: 'www.elsewhere.', type: A })),
        framed(buildQuery({ id: 3, name: 'example.', type: AXFR })),
        framed(buildQuery({ id: 4, name: 'big.example.', type: TXT })),
      ]);
      // The last AXFR message is the SOA again; then the TXT.
      const got = readFrames(s, (m) => m.length > 0 && readHeader(m[m.length - 1]).id === 4, 5000);
      s.write(stream.subarray(0, 30));
      await settle(50);
      s.write(stream.subarray(30));
      const msgs = await got;
      s.destroy();
      const heads = msgs.map((m) => readHeader(m));
      assert.deepEqual(heads[0].id, 1);
      assert.equal(heads[0].rcode, 0);
      assert.equal(heads[1].id, 2);
      assert.equal(heads[1].rcode, 5, 'REFUSED: not ours');
      const axfr = msgs.slice(2, -1).map((m) => decodeMessage(m));
      assert.ok(axfr.length >= 1);
      for (const m of axfr) assert.equal(m.id, 3);
      const rrs = axfr.flatMap((m) => m.answers);
      assert.equal(rrs[0].type, 6, 'AXFR begins with the SOA');
      assert.equal(rrs[rrs.length - 1].type, 6, 'and ends with it');
      assert.ok(rrs.length >= 6);
      const last = decodeMessage(msgs[msgs.length - 1]);
      assert.equal(last.id, 4);
      assert.equal(last.flags & 0x0200, 0, 'no TC over TCP');
      assert.equal(last.answers[0]?.type, TXT);
      if (mode !== 'off') {
        const l = await line((x) => x.handed > (was.handed ?? 0));
        assert.ok(
          l !== undefined && l.handed > (was.handed ?? 0),
          'handed to JS at the frame C does not answer',
        );
      }
    });

    test('an idle connection is closed (FIN) at the idle timeout', async () => {
      const p = peer as Peer;
      const was = before0();
      const { s, answer } = await askFrom(
        p.port,
        `127.0.${net}.4`,
        buildQuery({ id: 9, name: 'www.example.', type: A }),
        3000,
      );
      assert.equal(answer && readHeader(answer).id, 9);
      const end = await ending(s, 4 * IDLE_MS);
      s.destroy();
      assert.equal(end.how, 'fin');
      assert.ok(end.after >= IDLE_MS - 300, `not before the idle timeout: ${Math.round(end.after)} ms`);
      if (mode !== 'off') {
        const l = await line((x) => x.idle > (was.idle ?? 0));
        assert.ok(l !== undefined && l.idle > (was.idle ?? 0), 'counted closed idle in C');
      }
    });

    test('a client that does not read: every answer comes, in order, once it reads', async () => {
      const p = peer as Peer;
      const was = before0();
      const s = await openFrom(p.port, `127.0.${net}.5`);
      s.pause();
      const n = 20_000;
      const qs = Buffer.concat(
        Array.from({ length: n }, (_, i) => framed(buildQuery({ id: i, name: 'big.example.', type: TXT }))),
      );
      s.write(qs.subarray(0, 40));
      await settle(50);
      s.write(qs.subarray(40));
      // ~25 MB of answers: far more than the socket buffers hold while nobody reads.
      await settle(700);
      const got = readFrames(s, (m) => m.length >= n, 20_000);
      s.resume();
      const msgs = await got;
      s.destroy();
      assert.equal(msgs.length, n);
      msgs.forEach((m, i) => {
        assert.equal(readHeader(m).id, i);
      });
      assert.equal(decodeMessage(msgs[n - 1]).answers[0]?.type, TXT);
      if (mode !== 'off') {
        const l = await line((x) => x.handed > (was.handed ?? 0));
        assert.ok(l !== undefined && l.handed > (was.handed ?? 0), 'handed to JS with its unwritten answers');
      }
    });

    test('a frame shorter than a header: the answers due, then the connection closes', async () => {
      const p = peer as Peer;
      const was = before0();
      const s = await openFrom(p.port, `127.0.${net}.6`);
      const got = readFrames(s, () => false, 3000);
      const end = ending(s, 3000);
      s.write(framed(buildQuery({ id: 21, name: 'www.example.', type: A })));
      await settle(50);
      s.write(
        Buffer.concat([
          framed(buildQuery({ id: 22, name: 'www.example.', type: A })),
          Buffer.from([0, 5, 1, 2, 3, 4, 5]),
        ]),
      );
      const e = await end;
      const msgs = await got;
      s.destroy();
      assert.deepEqual(
        msgs.map((m) => readHeader(m).id),
        [21, 22],
      );
      assert.equal(e.how, 'fin');
      if (mode !== 'off') {
        const l = await line((x) => x.malformed > (was.malformed ?? 0));
        assert.ok(l !== undefined && l.malformed > (was.malformed ?? 0), 'counted in C');
      }
    });

    test('a source vouched for (a TC=1 of ours first) is served from its first frame', async () => {
      const p = peer as Peer;
      const was = before0();
      const addr = `127.0.${net}.7`;
      const u = createSocket('udp4');
      await new Promise<void>((r) => u.bind(0, addr, () => r()));
      const tc = await new Promise<Buffer>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no UDP answer')), 3000);
        u.once('message', (m) => {
          clearTimeout(timer);
          resolve(m);
        });
        u.send(buildQuery({ id: 31, name: 'big.example.', type: TXT }), p.port, '127.0.0.1');
      });
      u.close();
      assert.equal(readHeader(tc).tc, true, 'TC=1 over UDP');
      const kept = keptTotal(p.output());
      const { s, answer } = await askFrom(
        p.port,
        addr,
        buildQuery({ id: 32, name: 'big.example.', type: TXT }),
        3000,
      );
      s.destroy();
      assert.ok(answer);
      assert.equal(readHeader(answer).id, 32);
      assert.equal(readHeader(answer).tc, false);
      if (mode !== 'off') {
        const l = await line((x) => x.total > (was.total ?? 0));
        assert.ok(l !== undefined && l.total > (was.total ?? 0), 'taken to serve in C');
        assert.equal(keptTotal(p.output()), kept, 'not kept for its first frame: vouched for');
      }
    });

    test('a zone asked only over TCP: JS answers its first query, C the next connection’s', async () => {
      const p = peer as Peer;
      const ask = async (host: string, id: number) => {
        const { s, answer } = await askFrom(
          p.port,
          host,
          buildQuery({ id, name: 'www.tcponly.test.', type: A }),
          3000,
        );
        s.destroy();
        assert.ok(answer);
        const d = decodeMessage(answer);
        assert.equal(d.id, id);
        assert.equal(d.flags & 15, 0);
        assert.equal(d.answers.length, 1);
      };
      const first = before0();
      await ask(`127.0.${net}.9`, 41);
      // Its hand-over counted (the line comes once a second), then the image is in.
      const was = mode !== 'off' ? ((await line((x) => x.handed > (first.handed ?? 0))) ?? {}) : first;
      await settle(300);
      await ask(`127.0.${net}.10`, 42);
      if (mode !== 'off') {
        const l = await line((x) => x.answered > (was.answered ?? 0));
        assert.ok(l !== undefined && l.answered > (was.answered ?? 0), 'answered in C once its image is in');
        assert.equal(l.handed, was.handed ?? 0, 'not handed to JS');
      }
    });

    test('the per-client limit (32 open from one address) holds for the connections C serves', async () => {
      const p = peer as Peer;
      const addr = `127.0.${net}.11`;
      const socks: Socket[] = [];
      const outcomes: boolean[] = [];
      for (let i = 0; i < 33; i++) {
        const r = await askFrom(
          p.port,
          addr,
          buildQuery({ id: 500 + i, name: 'www.example.', type: A }),
          3000,
        );
        socks.push(r.s);
        outcomes.push(r.answer !== undefined);
      }
      const answered = outcomes.filter(Boolean).length;
      for (const s of socks) s.destroy();
      assert.equal(answered, 32, 'the 33rd from one address is refused');
    });

    test('the exposition counts the TCP queries and responses (C-served ones included)', async () => {
      const url = `http://127.0.0.1:${metricsPort}/metrics`;
      const scrape = async (): Promise<Exposition> => parseExposition(await (await fetch(url)).text());
      const q = (e: Exposition) => sampleValue(e, 'switchboard_dns_queries_total', { transport: 'tcp' }) ?? 0;
      const ok = (e: Exposition) =>
        sampleValue(e, 'switchboard_dns_responses_total', { transport: 'tcp', rcode: 'NOERROR' }) ?? 0;
      const inC = (e: Exposition) =>
        sampleValue(e, 'switchboard_dns_native_answers_total', { transport: 'tcp' }) ?? 0;
      await settle(1200);
      const base = await scrape();
      const p = peer as Peer;
      const s = await openFrom(p.port, `127.0.${net}.8`);
      const got = readFrames(s, (m) => m.length >= 10, 3000);
      s.write(
        Buffer.concat(
          Array.from({ length: 10 }, (_, i) => framed(buildQuery({ id: i, name: 'www.example.', type: A }))),
        ),
      );
      assert.equal((await got).length, 10);
      s.destroy();
      let exp = await scrape();
      for (let i = 0; i < 40 && q(exp) < q(base) + 10; i++) {
        await settle(250);
        exp = await scrape();
      }
      assert.equal(q(exp) - q(base), 10);
      assert.equal(ok(exp) - ok(base), 10);
      if (mode !== 'off') assert.equal(inC(exp) - inC(base), 10);
      else assert.equal(inC(exp), 0);
    });

    test('(tcpl24) every accept made in C by default, by libuv with SWITCHBOARD_TCP_LISTEN=libuv', async () => {
      const out = () => (peer as Peer).output();
      const said = /every accept made in C on 1 listening socket\(s\): (\d+) taken since start/g;
      const p = peer as Peer;
      const { s, answer } = await askFrom(
        p.port,
        `127.0.${net}.9`,
        buildQuery({ id: 7, name: 'www.example.', type: A }),
        3000,
      );
      s.destroy();
      assert.ok(answer);
      if (mode === 'libuv') {
        await settle(1500);
        assert.doesNotMatch(out(), said);
        return;
      }
      for (let i = 0; i < 40 && [...out().matchAll(said)].length === 0; i++) await settle(100);
      const taken = Number([...out().matchAll(said)].at(-1)?.[1] ?? 0);
      assert.ok(taken > 0, out());
    });
  });
}

// tcpl24: with the shield in dry run C still accepts (its listener in C's epoll set) but does not
// judge: every connection is handed to JS unjudged (the gate and the strangers' budget there), up
// to 64 a wake-up. Forty at once from forty addresses, all answered.
describe('--shield dry-run: accepted in C, handed to JS unjudged', { skip, timeout: 60_000 }, () => {
  test('forty connections at once, every one answered', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-tcp-dry-'));
    writeFileSync(join(dir, 'example.zone'), SHIELD_ZONE_WITH_BIG_TXT);
    const peer = await startSwitchboard(dir, {
      workers: 0,
      io: 'native',
      args: ['--shield', 'dry-run', '--native-answers', 'on'],
    });
    t.after(async () => {
      await peer.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    const answers = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const { s, answer } = await askFrom(
          peer.port,
          `127.0.120.${i + 1}`,
          buildQuery({ id: i, name: 'www.example.', type: A }),
          5000,
        );
        s.destroy();
        return answer ? readHeader(answer).ancount : -1;
      }),
    );
    assert.deepEqual(answers, Array(40).fill(1));
  });
});
