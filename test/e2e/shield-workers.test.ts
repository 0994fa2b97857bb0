/**
 * Source standing shared by the workers (docs/SHIELD.md "Standing shared by the workers";
 * native/standing.h), end to end against a real `serve --workers 2` on the native path: a plain
 * resolver (no cookies, no TCP) asks one calm question a second, each from a new source port —
 * as resolvers do, so SO_REUSEPORT spreads them over both workers (each answer's NSID says which
 * worker took it) and neither worker alone sees the 8 calm seconds history needs. Then both workers
 * are killed (SIGKILL) and restarted, and a random-subdomain flood comes, through the resolver too:
 * its missing names are shed as `tier="history"` — standing earned on both workers together and
 * kept across the restarts, in the primary's table. The same run with SWITCHBOARD_STANDING=private
 * (each worker its own table, lost with it) sheds none as history.
 * The TCP gate with both workers behind (stopped 150 ms in every 180 under a UDP flood): six
 * resolvers each sent a TC=1 over UDP (whichever worker took it) are answered over TCP (whichever
 * worker accepts), and of 40 strangers of one /24 at most the server's budget of 8 a second —
 * one budget for both workers; with SWITCHBOARD_STANDING=private there is no gate with two workers
 * and all 40 are answered.
 * @module
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeMessage } from '../../src/wire/decode.js';
import { buildQuery, queryUdp, tcpExchange } from '../helpers/dns-client.js';
import { findFreePort, listChildren, type Peer, startSwitchboard } from '../helpers/peers.js';
import { parseExposition, sampleValue } from '../helpers/prometheus.js';
import { nativeShieldSkip, SHIELD_ZONE_WITH_BIG_TXT } from '../helpers/shield-zone.js';
import { tallyClient } from '../helpers/tally-client.js';
import { waitFor, waitForText } from '../helpers/wait-for.js';

const skip = nativeShieldSkip();
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
const randomName = () => `x${Math.random().toString(36).slice(2)}.example.`;
const SHARED_LINE = /source standing \(history, tcp tier, cookies\) shared by the workers/g;

/** One query from a new socket on `address` (a new source port): the answering worker's NSID. */
async function askFrom(address: string, port: number, id: number): Promise<string> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, address, () => r()));
  try {
    const q = buildQuery({
      id,
      name: 'www.example.',
      type: 1,
      edns: { udpSize: 1232, options: [{ code: 3, data: new Uint8Array(0) }] },
    });
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from ${address}`)), 2000);
      sock.once('message', (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      sock.send(q, port, '127.0.0.1');
    });
    const nsid = decodeMessage(reply).edns?.options.find((o) => o.code === 3);
    return nsid ? Buffer.from(nsid.data).toString('utf8') : '?';
  } finally {
    sock.close();
  }
}

describe('serve --workers 2: source standing shared by the workers', { skip, timeout: 180_000 }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sb-shield-workers-'));
    writeFileSync(join(dir, 'example.zone'), SHIELD_ZONE_WITH_BIG_TXT);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * `serve --workers 2` on the native path with C answers, the shield on and a metrics listener
   * (`metrics`: its /metrics URL), its workers' standing shared or (the control) private.
   */
  async function startTwoWorkers(
    standing: 'shared' | 'private',
    args: string[] = [],
  ): Promise<{ peer: Peer; metrics: string }> {
    const metricsPort = await findFreePort();
    const saved = process.env.SWITCHBOARD_STANDING;
    if (standing === 'private') process.env.SWITCHBOARD_STANDING = 'private';
    else delete process.env.SWITCHBOARD_STANDING;
    try {
      const peer = await startSwitchboard(dir, {
        workers: 2,
        io: 'native',
        args: ['--native-answers', '--shield', 'on', '--metrics', `127.0.0.1:${metricsPort}`, ...args],
      });
      return { peer, metrics: `http://127.0.0.1:${metricsPort}/metrics` };
    } finally {
      if (saved === undefined) delete process.env.SWITCHBOARD_STANDING;
      else process.env.SWITCHBOARD_STANDING = saved;
    }
  }

  async function run(
    standing: 'shared' | 'private',
  ): Promise<{ history: number; unknown: number; calm: string }> {
    const { peer, metrics } = await startTwoWorkers(standing, ['--nsid', 'w{worker}']);
    try {
      const shared = () => (peer.output().match(SHARED_LINE) ?? []).length;
      if (standing === 'shared')
        await waitFor('both workers map the table', async () => shared() === 2, 10_000);
      else assert.equal(shared(), 0, peer.output());
      // Calm: one question a second from a new source port each time, until both workers took
      // some and neither took 8 (a resolver whose ports one worker took 8 times proves nothing:
      // the next resolver address is tried).
      let resolver = '';
      let calm = '';
      for (let r = 1; r <= 4 && resolver === ''; r++) {
        const address = `127.0.201.${r}`;
        const by = new Map<string, number>();
        for (let i = 0; i < 9; i++) {
          const w = await askFrom(address, peer.port, i + 1);
          by.set(w, (by.get(w) ?? 0) + 1);
          await settle(1050);
        }
        calm = JSON.stringify([...by].sort());
        if (by.size === 2 && Math.max(...by.values()) < 8) resolver = address;
      }
      assert.notEqual(resolver, '', `every resolver's calm questions went to one worker: ${calm}`);
      // Both workers killed and restarted: standing lives in the primary's table.
      for (let k = 0; k < 2; k++) {
        const [victim] = listChildren(peer.pid);
        const before = new Set(listChildren(peer.pid));
        process.kill(victim, 'SIGKILL');
        await waitFor(
          'the worker restarted',
          async () =>
            listChildren(peer.pid).filter((p) => !before.has(p)).length === 1 &&
            listChildren(peer.pid).length === 2,
          20_000,
        );
      }
      if (standing === 'shared')
        await waitFor('the restarted workers map the table', async () => shared() === 4, 20_000);
      await waitFor(
        'both restarted workers answering',
        async () => {
          const seen = new Set<string>();
          for (let i = 0; i < 16; i++) seen.add(await askFrom('127.0.0.1', peer.port, 100 + i));
          return seen.size === 2;
        },
        20_000,
      );
      // The flood: bots, and the resolver forwarding junk from many ports.
      const bots = await Promise.all(Array.from({ length: 20 }, (_, i) => tallyClient(`127.0.${10 + i}.1`)));
      const fwd = await Promise.all(Array.from({ length: 16 }, () => tallyClient(resolver)));
      let id = 1000;
      const t0 = Date.now();
      while (Date.now() - t0 < 4000) {
        for (let i = 0; i < 150; i++)
          bots[i % bots.length].send(
            buildQuery({ id: id++ & 0xffff, name: randomName(), type: 1 }),
            peer.port,
          );
        for (let i = 0; i < 32; i++)
          fwd[i % fwd.length].send(buildQuery({ id: id++ & 0xffff, name: randomName(), type: 1 }), peer.port);
        await settle(100);
      }
      await waitForText(
        'the server log',
        () => peer.output(),
        /shield: example\. is under a random-subdomain attack/,
        5000,
      );
      let history = 0;
      let unknown = 0;
      for (let i = 0; i < 12; i++) {
        const e = parseExposition(await (await fetch(metrics)).text());
        history =
          sampleValue(e, 'switchboard_dns_shield_shed_total', { reason: 'zone-budget', tier: 'history' }) ??
          0;
        unknown =
          sampleValue(e, 'switchboard_dns_shield_shed_total', { reason: 'zone-budget', tier: 'unknown' }) ??
          0;
        if (history > 0 && unknown > 0 && i >= 4) break;
        await settle(250);
      }
      for (const c of [...bots, ...fwd]) c.close();
      return { history, unknown, calm };
    } finally {
      await peer.stop();
    }
  }

  test('history earned over both workers, kept across both restarting, honoured by both', async () => {
    const r = await run('shared');
    console.log(
      `shared: calm questions by worker ${r.calm}; shed as history ${r.history}, as unknown ${r.unknown}`,
    );
    assert.ok(r.history > 0, `the resolver's missing names shed as history: ${JSON.stringify(r)}`);
    assert.ok(r.unknown > 0, 'the bots are strangers');
  });

  test('control: SWITCHBOARD_STANDING=private (each worker its own table) sheds none as history', async () => {
    const r = await run('private');
    console.log(
      `private: calm questions by worker ${r.calm}; shed as history ${r.history}, as unknown ${r.unknown}`,
    );
    assert.equal(r.history, 0, JSON.stringify(r));
    assert.ok(r.unknown > 0, 'the bots are strangers');
  });

  async function gate(
    standing: 'shared' | 'private',
  ): Promise<{ resolvers: number; strangers: number; seconds: number }> {
    const { peer, metrics } = await startTwoWorkers(standing);
    const workers = listChildren(peer.pid);
    assert.equal(workers.length, 2, peer.output());
    // One host in each of four /24s, from many ports (both workers): a flood the block rule never stops.
    const flood = (
      await Promise.all(
        [96, 94, 93, 92].map((n) =>
          Promise.all(Array.from({ length: 4 }, () => tallyClient(`127.0.${n}.1`))),
        ),
      )
    ).flat();
    let stopped = false;
    let cycling = true;
    try {
      // Six resolvers: an answer too large for UDP comes back TC=1 from whichever worker.
      const resolvers = Array.from({ length: 6 }, (_, i) => `127.0.95.${i + 1}`);
      for (const from of resolvers) {
        const big = decodeMessage(
          await queryUdp(buildQuery({ id: 1, name: 'big.example.', type: 16 }), {
            port: peer.port,
            localAddress: from,
          }),
        );
        assert.ok(big.flags & 0x0200, 'big.example. TXT is truncated over UDP');
      }
      const q = buildQuery({ id: 2, name: 'www.example.', type: 1 });
      const sender = setInterval(() => {
        for (const c of flood) for (let i = 0; i < 60; i++) c.send(q, peer.port);
      }, 5);
      const cycle = async () => {
        while (cycling) {
          for (const w of workers) process.kill(w, 'SIGSTOP');
          stopped = true;
          await settle(150);
          for (const w of workers) process.kill(w, 'SIGCONT');
          stopped = false;
          await settle(30);
        }
      };
      const cycler = cycle();
      try {
        let levels = [0, 0];
        for (let i = 0; i < 60 && Math.min(...levels) < 1; i++) {
          const exp = parseExposition(await (await fetch(metrics)).text());
          levels = [0, 1].map(
            (w) => sampleValue(exp, 'switchboard_dns_shield_overload_level', { worker: String(w) }) ?? 0,
          );
          if (Math.min(...levels) < 1) await settle(100);
        }
        assert.ok(Math.min(...levels) >= 1, `overload levels ${levels}`);
        const framed = (id: number) => {
          const m = buildQuery({ id, name: 'www.example.', type: 1 });
          return Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), Buffer.from(m)]);
        };
        const t0 = performance.now();
        const replies = await Promise.all([
          ...resolvers.map((from, i) => tcpExchange(peer.port, from, framed(4 + i))),
          ...Array.from({ length: 40 }, (_, i) =>
            tcpExchange(peer.port, `127.0.97.${i + 1}`, framed(20 + i)),
          ),
        ]);
        const seconds = (performance.now() - t0) / 1000;
        return {
          resolvers: replies.slice(0, resolvers.length).filter((b) => b.length > 14).length,
          strangers: replies.slice(resolvers.length).filter((b) => b.length > 14).length,
          seconds,
        };
      } finally {
        cycling = false;
        clearInterval(sender);
        await cycler;
      }
    } finally {
      if (stopped) for (const w of workers) process.kill(w, 'SIGCONT');
      for (const c of flood) c.close();
      await peer.stop();
    }
  }

  test('the TCP gate with both workers behind: every resolver that followed a TC=1 answered, strangers within one budget for the server', async () => {
    const r = await gate('shared');
    console.log(`gate, shared: ${JSON.stringify(r)}`);
    assert.equal(r.resolvers, 6, JSON.stringify(r));
    // 8 a second per /24 (STRANGERS_PER_BLOCK_PER_SECOND) for the server, whole seconds.
    assert.ok(r.strangers <= 8 * (Math.ceil(r.seconds) + 1), JSON.stringify(r));
    assert.ok(r.strangers < 40, `strangers beyond the budget are not answered: ${JSON.stringify(r)}`);
  });

  test('control: SWITCHBOARD_STANDING=private — no gate with two workers, every stranger answered', async () => {
    const r = await gate('private');
    console.log(`gate, private: ${JSON.stringify(r)}`);
    assert.equal(r.strangers, 40, JSON.stringify(r));
  });
});
