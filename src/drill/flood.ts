/**
 * The attack senders: `senders` child processes (flood-child.ts), each given an equal share of
 * the attack rate and of the packet budget, and a deadline after which it stops by itself.
 * @module
 */
import { type ChildProcess, fork } from 'node:child_process';
import { getPriority, setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  type AttackMix,
  type FloodInit,
  type FloodMessage,
  type FloodSettings,
  KINDS,
  type TcpFlood,
} from './flood-protocol.js';
import { COUNTS_PER_KIND, loadDrillAddon } from './native.js';
import type { DrillTarget } from './target.js';

/** Summed counters of every sender. */
export interface FloodTotals {
  sent: number[];
  answered: number[];
  /** Answers per kind and RCODE (NOERROR, NXDOMAIN, REFUSED, …) and TC. */
  counts: number[];
  behind: number;
  total: number;
  /** TCP counters (TCP_COUNTERS order). */
  tcp: number[];
}

export interface FloodPoolOptions extends FloodSettings {
  readonly target: DrillTarget;
  readonly senders: number;
  /** Nice value of the sender processes (default 10: below the resolvers). */
  readonly senderNice?: number;
}

/**
 * Raises this process (the resolvers) to nice `nice` (default -5) when allowed (root, or
 * CAP_SYS_NICE): then the senders can run at the ordinary priority and still never delay the
 * resolvers' timers. Returns the senders' nice value to use: 0 when raised, else 10. (late25: the
 * drill's CPU is oversubscribed in a wave — the resolvers' loop ~25-45% of it, the senders the
 * rest and short of their rate: at -5, weight 3121 against the two senders' 2048, the loop waited
 * 170-350 ms a second to run and its ticks ran 50-110 ms late at times, answers read that late
 * counted as the server's; at -20 it waited 12-46 ms and no tick ran 50 ms late, but the senders,
 * left less, sent 2.54-2.65x the capacity instead of 2.9x. `bench/drill.ts --drill-nice`.)
 */
export function prioritizeResolvers(nice = -5): { drillNice: number; senderNice: number } {
  try {
    setPriority(0, nice);
    return { drillNice: nice, senderNice: 0 };
  } catch {
    let own = 0;
    try {
      own = getPriority(0);
    } catch {
      // unknown: 0
    }
    return { drillNice: own, senderNice: Math.min(19, own + 10) };
  }
}

/** The attack sender processes. */
export class FloodPool {
  private readonly children: ChildProcess[] = [];
  private readonly last: FloodMessage[] = [];
  /** Children whose answer to the latest rate change is awaited, and who waits. */
  private awaiting = 0;
  private onBoundary?: () => void;
  /** 'native' or 'node', and how many source addresses the senders use. */
  io = '';
  sources = 0;
  /** Local UDP ports of the senders' sockets (their drops are read from /proc/net/udp). */
  readonly ports: number[] = [];
  private constructor() {}

  /** Forks the senders and waits until each is ready. */
  static async start(opts: FloodPoolOptions): Promise<FloodPool> {
    const pool = new FloodPool();
    const entry = fileURLToPath(new URL('./flood-child.js', import.meta.url));
    const ready: Promise<void>[] = [];
    for (let i = 0; i < opts.senders; i++) {
      const child = fork(entry, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
      pool.children.push(child);
      // Below the resolvers: when the drill's CPU is short, the flood slows, not the resolvers'
      // clocks. When the drill could raise its own priority (FloodPool.prioritize) the senders
      // keep the ordinary one: at nice 10 they get a tenth of a CPU shared with any other work.
      try {
        if (child.pid) setPriority(child.pid, opts.senderNice ?? 10);
      } catch {
        // not allowed: fine
      }
      pool.last.push({ type: 'stats', sent: [0, 0, 0, 0], counts: [], behind: 0, total: 0, tcp: [] });
      ready.push(
        new Promise<void>((resolve, reject) => {
          child.on(
            'message',
            (m: { type: string; io?: string; sources?: number; reason?: string; ports?: number[] }) => {
              if (m.type === 'ready') {
                for (const port of m.ports ?? []) pool.ports.push(port);
                pool.io = m.io ?? '';
                pool.sources += m.sources ?? 0;
                resolve();
              } else if (m.type === 'stats' || m.type === 'done') {
                const fm = m as FloodMessage;
                if (fm.counts.length > 0) pool.last[i] = fm;
                if (fm.reason === 'rate' && pool.awaiting > 0 && --pool.awaiting === 0) pool.onBoundary?.();
                if (m.type === 'done') reject(new Error(`attack sender ${i}: ${m.reason}`));
              }
            },
          );
          child.once('exit', (code) => reject(new Error(`attack sender ${i} exited (${code})`)));
        }),
      );
      const init: FloodInit = {
        type: 'init',
        index: i,
        senders: opts.senders,
        host: opts.target.host,
        port: opts.target.port,
        family: opts.target.family,
        seed: opts.seed,
        zones: opts.zones,
        names: opts.names,
        victim: opts.victim,
        bots: opts.bots,
        resolverAddresses: opts.resolverAddresses,
        deadline: opts.deadline,
        maxPackets: Math.floor(opts.maxPackets / opts.senders),
        io: opts.io,
        gso: opts.gso,
        rotate24s: opts.rotate24s,
      };
      child.send(init);
    }
    try {
      await Promise.all(ready);
    } catch (err) {
      pool.kill();
      throw err;
    }
    // Later 'done' and 'exit' events are reported through totals(), not as errors.
    for (const p of ready) p.catch(() => {});
    return pool;
  }

  /** Sets the total attack rate (datagrams per second) and its mix. */
  setRate(rate: number, mix: AttackMix, tcp: TcpFlood = {}): void {
    for (const c of this.children)
      if (c.connected) c.send({ type: 'rate', rate: rate / this.children.length, mix, tcp });
  }

  /**
   * Sets the rate and resolves with the counters as every sender switched (at most 2 s
   * later): the boundary between two phases.
   */
  async switchRate(rate: number, mix: AttackMix, tcp: TcpFlood = {}): Promise<FloodTotals> {
    const live = this.children.filter((c) => c.connected).length;
    const done = new Promise<void>((resolve) => {
      this.awaiting = live;
      this.onBoundary = resolve;
      if (live === 0) resolve();
      setTimeout(resolve, 2000).unref();
    });
    this.setRate(rate, mix, tcp);
    await done;
    this.awaiting = 0;
    return this.totals();
  }

  /** The counters summed over the senders (as of their last report). */
  totals(): FloodTotals {
    const t: FloodTotals = {
      sent: [0, 0, 0, 0],
      answered: [0, 0, 0, 0],
      counts: new Array(KINDS.length * COUNTS_PER_KIND).fill(0),
      behind: 0,
      total: 0,
      tcp: [0, 0, 0, 0, 0, 0],
    };
    for (const m of this.last) {
      for (let k = 0; k < 4; k++) {
        t.sent[k] += m.sent[k] ?? 0;
        t.answered[k] += m.counts[k * COUNTS_PER_KIND + 17] ?? 0;
      }
      m.counts.forEach((v, i) => {
        t.counts[i] += v;
      });
      t.behind += m.behind;
      m.tcp.forEach((v, i) => {
        t.tcp[i] += v;
      });
      t.total += m.total;
    }
    return t;
  }

  /** Asks every sender to stop, and waits (at most 2 s) for them to exit. */
  async stop(): Promise<void> {
    const exits = this.children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          if (c.connected) c.send({ type: 'stop' });
        }),
    );
    const timer = setTimeout(() => this.kill(), 2000);
    await Promise.all(exits);
    clearTimeout(timer);
  }

  /** Kills every sender (by its PID). */
  kill(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}

/**
 * The most the senders can send here and now: the attack `mix` at an unreachable rate against
 * a loopback socket that nobody reads (the addon's, drained never), for `ms`. Datagrams per
 * second, or undefined without the native addon. A target's queue costs the sender about what
 * this socket's does, so a server whose capacity times the multiple is above this cannot be
 * drilled at that multiple from this CPU.
 */
export async function sendCeiling(
  opts: Omit<FloodPoolOptions, 'target'>,
  mix: AttackMix,
  ms = 1500,
): Promise<number | undefined> {
  const addon = loadDrillAddon().addon;
  if (!addon) return undefined;
  const fd = addon.open(4);
  if (fd < 0) return undefined;
  let pool: FloodPool | undefined;
  try {
    const port = addon.port(fd);
    pool = await FloodPool.start({ ...opts, target: { host: '127.0.0.1', port, family: 4 } });
    const before = await pool.switchRate(50_000_000, mix);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, ms));
    const after = await pool.switchRate(0, mix);
    const sent = after.sent.reduce((x, y) => x + y, 0) - before.sent.reduce((x, y) => x + y, 0);
    return Math.round(sent / ((performance.now() - t0) / 1000));
  } finally {
    await pool?.stop();
    addon.close(fd);
  }
}
