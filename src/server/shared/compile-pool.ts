/**
 * The compile service of a primary (`--images on`): a small pool of worker_threads that turns
 * zone text into compiled zone images, so each zone is parsed and compiled once, off the
 * primary's event loop, instead of once per DNS worker.
 *
 * - `serve` jobs name a zone file (parsed strictly, with the zone checks, as a worker would);
 *   `start` jobs carry the control plane's master-file text (not strict, as before).
 * - The image comes back as the thread's own buffer, transferred (no copy).
 * - The queue is bounded: `compile` waits for room before it queues, so a caller feeding
 *   100,000 zones holds at most `maxQueue` of them in flight.
 * - A zone that fails to parse or compile resolves `{ ok: false, errors }` (the caller keeps
 *   the previous image). A thread that dies (out of its heap cap) fails its job alone and is
 *   replaced. Idle threads exit after `idleMs`, giving their heaps back.
 * @module
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** A job for a compile thread. */
export type CompileRequest =
  | { id: number; kind: 'file'; path: string }
  | { id: number; kind: 'text'; name: string; text: string };

/** A finished job. */
export type CompileDone =
  | {
      id: number;
      ok: true;
      /** The origin's key (case-folded wire form, as `Name.key`). */
      key: string;
      /** The origin as text (`example.com.`). */
      origin: string;
      serial: number;
      image: Uint8Array;
      warnings: string[];
    }
  | { id: number; ok: false; errors: string[]; warnings: string[] };

/** What `compile` resolves with (the request's id left out). */
export type CompileOutcome =
  | Omit<Extract<CompileDone, { ok: true }>, 'id'>
  | Omit<Extract<CompileDone, { ok: false }>, 'id'>;

/** A job as the caller gives it. */
export type CompileJob = { kind: 'file'; path: string } | { kind: 'text'; name: string; text: string };

/** Pool tuning. */
export interface CompilePoolOptions {
  /** Threads (default: the number of cores, at most 4). */
  threads?: number;
  /** Jobs queued before `compile` waits for room (default 256). */
  maxQueue?: number;
  /** Heap cap of one thread in MiB (default 2048): a zone that needs more fails alone. */
  heapMb?: number;
  /** An idle thread exits after this long (ms, default 5000). */
  idleMs?: number;
}

/** Default number of compile threads: one per core, at most 4. */
export function defaultCompileThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

interface Pending {
  req: CompileRequest;
  resolve: (o: CompileOutcome) => void;
}

interface Thread {
  worker: Worker;
  job: Pending | null;
  idleTimer: NodeJS.Timeout | null;
}

/** Compiles zones on worker threads. */
export class CompilePool {
  readonly #size: number;
  readonly #maxQueue: number;
  readonly #heapMb: number;
  readonly #idleMs: number;
  readonly #threads = new Set<Thread>();
  readonly #queue: Pending[] = [];
  readonly #room: (() => void)[] = [];
  #nextId = 1;
  #closed = false;
  /** Jobs done, for tests and logs. */
  readonly stats = { compiled: 0, failed: 0, threadsStarted: 0 };

  constructor(opts: CompilePoolOptions = {}) {
    this.#size = Math.max(1, opts.threads ?? defaultCompileThreads());
    this.#maxQueue = Math.max(1, opts.maxQueue ?? 256);
    this.#heapMb = opts.heapMb ?? 2048;
    this.#idleMs = opts.idleMs ?? 5000;
  }

  /** Number of threads the pool runs at most. */
  get size(): number {
    return this.#size;
  }

  /** Compiles one zone; resolves (never rejects) once done, waiting first for queue room. */
  async compile(job: CompileJob): Promise<CompileOutcome> {
    while (!this.#closed && this.#queue.length >= this.#maxQueue)
      await new Promise<void>((r) => this.#room.push(r));
    if (this.#closed) return { ok: false, errors: ['the compile service is closed'], warnings: [] };
    return new Promise<CompileOutcome>((resolve) => {
      this.#queue.push({ req: { ...job, id: this.#nextId++ } as CompileRequest, resolve });
      this.#pump();
    });
  }

  /** Stops every thread; queued jobs fail. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#queue.splice(0))
      p.resolve({ ok: false, errors: ['the compile service is closed'], warnings: [] });
    for (const r of this.#room.splice(0)) r();
    const threads = [...this.#threads];
    this.#threads.clear();
    await Promise.all(
      threads.map((t) => {
        if (t.idleTimer) clearTimeout(t.idleTimer);
        t.job?.resolve({ ok: false, errors: ['the compile service is closed'], warnings: [] });
        t.job = null;
        return t.worker.terminate();
      }),
    );
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      let thread: Thread | undefined;
      for (const t of this.#threads)
        if (t.job === null) {
          thread = t;
          break;
        }
      if (!thread) {
        if (this.#threads.size >= this.#size) return;
        thread = this.#spawn();
      }
      const job = this.#queue.shift() as Pending;
      this.#room.shift()?.();
      this.#run(thread, job);
    }
  }

  #run(thread: Thread, job: Pending): void {
    if (thread.idleTimer) clearTimeout(thread.idleTimer);
    thread.idleTimer = null;
    thread.job = job;
    thread.worker.postMessage(job.req);
  }

  #spawn(): Thread {
    const worker = new Worker(new URL('./compile-thread.js', import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: this.#heapMb },
    });
    this.stats.threadsStarted++;
    const thread: Thread = { worker, job: null, idleTimer: null };
    this.#threads.add(thread);
    worker.on('message', (done: CompileDone) => {
      const job = thread.job;
      if (!job || job.req.id !== done.id) return;
      thread.job = null;
      const { id: _id, ...outcome } = done;
      if (outcome.ok) this.stats.compiled++;
      else this.stats.failed++;
      job.resolve(outcome);
      if (this.#queue.length > 0) this.#pump();
      else if (!this.#closed && thread.job === null)
        thread.idleTimer = setTimeout(() => this.#retire(thread), this.#idleMs).unref();
    });
    const lost = (why: string) => {
      if (!this.#threads.delete(thread)) return;
      if (thread.idleTimer) clearTimeout(thread.idleTimer);
      const job = thread.job;
      thread.job = null;
      if (job) {
        this.stats.failed++;
        const label = job.req.kind === 'file' ? job.req.path : job.req.name;
        job.resolve({ ok: false, errors: [`${label}: compile thread failed: ${why}`], warnings: [] });
      }
      if (!this.#closed) this.#pump();
    };
    worker.on('error', (err) => lost(err.message));
    worker.on('exit', (code) => lost(`exited with code ${code}`));
    return thread;
  }

  #retire(thread: Thread): void {
    if (thread.job !== null || !this.#threads.delete(thread)) return;
    void thread.worker.terminate();
  }
}
