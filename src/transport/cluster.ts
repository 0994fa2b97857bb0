/**
 * A pool of `node:cluster` worker processes, one per slot, restarted with exponential backoff
 * when they die. Workers that bind the same UDP or TCP address share the socket the primary
 * holds (Node 20's dgram has no working reusePort): the kernel spreads datagrams over the
 * workers, and the primary hands out accepted TCP connections in turn.
 * @module
 */
import cluster, { type Worker } from 'node:cluster';
import { closeSync, existsSync, openSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The environment variable naming the workers' shared source-standing file (native/standing.h). */
export const STANDING_FILE_ENV = 'SWITCHBOARD_STANDING_FILE';
/** `SWITCHBOARD_STANDING=private`: no shared file, each worker's standing its own (A/B runs). */
export const STANDING_ENV = 'SWITCHBOARD_STANDING';

/**
 * The file the workers' native shields share their source standing through (docs/SHIELD.md
 * "Standing shared by the workers"): created empty in /dev/shm (else the temporary folder) and
 * unlinked at once, the primary keeping it open; the workers open it again as
 * /proc/<primary>/fd/<fd>, so it lives exactly as long as the primary (a worker that restarts maps
 * the same table; nothing is left behind, whatever kills the server). The first worker lays it
 * out (native/standing.c). Undefined when it cannot be made: each worker then keeps its own.
 */
function openStandingFile(): { fd: number; path: string } | undefined {
  if (process.env[STANDING_ENV] === 'private' || !existsSync('/proc/self/fd')) return undefined;
  const dir = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const name = join(dir, `switchboard-standing-${process.pid}-${Math.random().toString(36).slice(2)}`);
  try {
    const fd = openSync(name, 'wx+', 0o600);
    try {
      unlinkSync(name);
    } catch {
      // Still usable; the primary unlinks nothing else.
    }
    return { fd, path: `/proc/${process.pid}/fd/${fd}` };
  } catch {
    return undefined;
  }
}

/** Restart backoff parameters. */
export interface BackoffOptions {
  /** Delay before the first restart after a quick death (ms). */
  initialMs: number;
  /** Longest delay (ms). */
  maxMs: number;
  /** A worker that lived this long is healthy: its slot's backoff starts over (ms). */
  stableMs: number;
}

/** Default backoff: 100 ms doubling to 30 s; a worker alive 10 s resets it. */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 100, maxMs: 30_000, stableMs: 10_000 };

/**
 * The delay before restarting a worker that has died `failures` times in a row without
 * living `stableMs` (failures ≥ 1): initialMs · 2^(failures−1), capped at maxMs.
 */
export function computeRestartDelay(failures: number, backoff: BackoffOptions = DEFAULT_BACKOFF): number {
  if (failures <= 1) return backoff.initialMs;
  const exp = Math.min(failures - 1, 30);
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** exp);
}

/** Worker pool options. */
export interface WorkerPoolOptions {
  /** Number of workers (slots). */
  count: number;
  /** The worker's entry script. */
  exec: string;
  /** Extra environment for every worker; the slot number is added as SWITCHBOARD_WORKER_SLOT. */
  env?: Record<string, string>;
  backoff?: BackoffOptions;
  /** Messages a worker sends with `process.send`. */
  onMessage?: (slot: number, message: unknown) => void;
  /** A worker exited; `restartInMs` is null when it will not be restarted (pool stopping). */
  onExit?: (slot: number, code: number | null, signal: string | null, restartInMs: number | null) => void;
}

interface Slot {
  worker: Worker | null;
  startedAt: number;
  failures: number;
  timer: NodeJS.Timeout | null;
}

/** The message a pool sends to ask a worker to shut down. */
export const SHUTDOWN_MESSAGE = { type: 'switchboard:shutdown' } as const;

/** Supervises `count` cluster workers from the primary process. */
export class WorkerPool {
  readonly #opts: WorkerPoolOptions;
  readonly #backoff: BackoffOptions;
  readonly #slots: Slot[] = [];
  #stopping = false;
  /** The first slot not forked yet (`start(first)`). */
  #unforked = 0;
  #standing: { fd: number; path: string } | undefined;

  constructor(opts: WorkerPoolOptions) {
    if (!cluster.isPrimary) throw new Error('WorkerPool runs in the cluster primary only');
    this.#opts = opts;
    this.#backoff = opts.backoff ?? DEFAULT_BACKOFF;
  }

  /**
   * Forks every worker — or, with `first` below the count, the first `first` slots only; the
   * rest wait for `startRest()` (a cold start forks its workers one after the other).
   */
  start(first = this.#opts.count): void {
    // TCP: every worker accepts from the shared listening socket itself (SCHED_NONE), not the
    // primary accepting each connection and passing it over IPC (Node's default on Linux). Under
    // a TCP connection flood the round-robin primary paid an accept and a descriptor passing per
    // connection and fell behind: its accept queue filled with connections the flood had closed
    // (thousands in CLOSE-WAIT) and resolvers' TCP retries waited behind them — in the drill at
    // 3x with each server held to a quarter core, 2 of 10,467 legitimate TCP tries were answered.
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    cluster.setupPrimary({ exec: this.#opts.exec, args: [] });
    this.#standing ??= openStandingFile();
    for (let i = 0; i < this.#opts.count; i++)
      this.#slots.push({ worker: null, startedAt: 0, failures: 0, timer: null });
    for (let i = 0; i < Math.min(first, this.#opts.count); i++) this.#fork(i);
    this.#unforked = Math.min(first, this.#opts.count);
  }

  /** Forks the slots `start(first)` left; false when there were none (or the pool stops). */
  startRest(): boolean {
    if (this.#stopping || this.#unforked >= this.#slots.length) return false;
    for (let i = this.#unforked; i < this.#slots.length; i++) this.#fork(i);
    this.#unforked = this.#slots.length;
    return true;
  }

  /** Number of slots. */
  get size(): number {
    return this.#slots.length;
  }

  /** The slots whose worker is currently running. */
  liveSlots(): number[] {
    const out: number[] = [];
    this.#slots.forEach((s, i) => {
      if (s.worker !== null && !s.worker.isDead()) out.push(i);
    });
    return out;
  }

  /** PIDs of the running workers. */
  pids(): number[] {
    const out: number[] = [];
    for (const s of this.#slots) if (s.worker?.process.pid !== undefined) out.push(s.worker.process.pid);
    return out;
  }

  /** Sends a message to the worker of `slot`; false when it is not running. */
  send(slot: number, message: unknown): boolean {
    const w = this.#slots[slot]?.worker;
    if (!w || w.isDead() || !w.isConnected()) return false;
    try {
      // Cluster's send takes any serialisable value; its typing says object.
      w.send(message as object);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Stops every worker: asks each to shut down, waits up to `timeoutMs`, then kills the
   * stragglers. Pending restarts are cancelled.
   */
  async stop(timeoutMs = 5000): Promise<void> {
    this.#stopping = true;
    const exits: Promise<void>[] = [];
    for (const s of this.#slots) {
      if (s.timer) clearTimeout(s.timer);
      s.timer = null;
      const w = s.worker;
      if (!w || w.isDead()) continue;
      exits.push(new Promise((resolve) => w.once('exit', () => resolve())));
      try {
        w.send(SHUTDOWN_MESSAGE);
      } catch {
        w.process.kill('SIGTERM');
      }
    }
    const timer = setTimeout(() => {
      for (const s of this.#slots) if (s.worker && !s.worker.isDead()) s.worker.process.kill('SIGKILL');
    }, timeoutMs);
    await Promise.all(exits);
    clearTimeout(timer);
    if (this.#standing !== undefined) {
      try {
        closeSync(this.#standing.fd);
      } catch {
        // already closed
      }
      this.#standing = undefined;
    }
  }

  #fork(slot: number): void {
    const s = this.#slots[slot];
    s.timer = null;
    if (this.#stopping) return;
    const worker = cluster.fork({
      ...this.#opts.env,
      SWITCHBOARD_WORKER_SLOT: String(slot),
      SWITCHBOARD_WORKER_COUNT: String(this.#opts.count),
      ...(this.#standing === undefined ? {} : { [STANDING_FILE_ENV]: this.#standing.path }),
    });
    s.worker = worker;
    s.startedAt = Date.now();
    worker.on('message', (msg: unknown) => this.#opts.onMessage?.(slot, msg));
    // A worker's 'error' (e.g. IPC failure) is followed by its exit, handled below.
    worker.on('error', () => {});
    worker.on('exit', (code, signal) => {
      if (s.worker !== worker) return;
      s.worker = null;
      if (this.#stopping) {
        this.#opts.onExit?.(slot, code, signal, null);
        return;
      }
      const lived = Date.now() - s.startedAt;
      s.failures = lived >= this.#backoff.stableMs ? 1 : s.failures + 1;
      const delay = computeRestartDelay(s.failures, this.#backoff);
      this.#opts.onExit?.(slot, code, signal, delay);
      s.timer = setTimeout(() => this.#fork(slot), delay);
    });
  }
}

/** In a worker: runs `onShutdown` when the pool asks, and exits when the primary goes away. */
export function handlePoolSignals(onShutdown: () => void): void {
  process.on('message', (msg: unknown) => {
    if (typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === SHUTDOWN_MESSAGE.type)
      onShutdown();
  });
  // The IPC channel closes when the primary dies: a worker without a supervisor must not linger.
  process.on('disconnect', () => onShutdown());
  // Ctrl-C and a terminal hang-up reach the whole process group; the primary coordinates
  // shutdown and reload, and SIGHUP's default action would kill the worker.
  process.on('SIGINT', () => {});
  process.on('SIGHUP', () => {});
}
