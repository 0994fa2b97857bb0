/**
 * The compile service of a primary (`--images on`): a small pool of worker_threads that turns
 * zone text into compiled zone images, so each zone is parsed and compiled once, off the
 * primary's event loop, instead of once per DNS worker.
 *
 * - `serve` jobs name a zone file (parsed strictly, with the zone checks, as a worker would);
 *   `start` jobs carry the control plane's master-file text (not strict, as before).
 * - Images come back in batches: small ones copied once into one transferred buffer per batch
 *   (a postMessage and a transfer per 10-record zone cost more than compiling it), large
 *   ones as the thread's own buffer, transferred (no copy).
 * - The queue is bounded: `compile` waits for room before it queues, so at most `maxQueue`
 *   jobs are queued; each call waiting for room is a pending promise of its caller's, so a
 *   caller feeding 100,000 zones bounds its own calls (the image shipper runs 64 at a time
 *   per message, image-dir.ts 64 per load).
 * - A zone that fails to parse or compile resolves `{ ok: false, errors }` (the caller keeps
 *   the previous image). A thread that dies (out of its heap cap) is replaced; the jobs it
 *   held run again one at a time, and only the one that kills a thread again fails. Idle threads exit after `idleMs`, giving their heaps back.
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

/** One job of a batch as a thread posts it: a small image lives in the batch's `shared` buffer. */
export type CompileBatchItem =
  | CompileDone
  | (Omit<Extract<CompileDone, { ok: true }>, 'image'> & { image: undefined; at: number; length: number });

/** What a compile thread posts: the jobs it finished since its last post, in order. */
export interface CompileBatch {
  items: CompileBatchItem[];
  shared: Uint8Array;
}

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
  /** Jobs posted to one thread ahead of time (default 32). */
  depth?: number;
}

/** Default number of compile threads: one per core, at most 4. */
export function defaultCompileThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

interface Pending {
  req: CompileRequest;
  resolve: (o: CompileOutcome) => void;
  /** It was on a thread that died: it runs alone on a thread, and fails if that one dies too. */
  suspect?: boolean;
}

interface Thread {
  worker: Worker;
  /** Jobs posted to the thread, oldest first (it runs them in that order). */
  jobs: Pending[];
  idleTimer: NodeJS.Timeout | null;
  /** Runs one suspect job: nothing else is posted to it until that one is done. */
  alone: boolean;
}

/** Compiles zones on worker threads. */
export class CompilePool {
  readonly #size: number;
  readonly #maxQueue: number;
  readonly #heapMb: number;
  readonly #idleMs: number;
  readonly #depth: number;
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
    this.#depth = Math.max(1, opts.depth ?? 32);
  }

  /** Number of threads the pool runs at most. */
  get size(): number {
    return this.#size;
  }

  /** Compiles one zone; resolves (never rejects) once done, waiting first for queue room. */
  async compile(job: CompileJob): Promise<CompileOutcome> {
    while (!this.#closed && this.#queue.length >= this.#maxQueue)
      await new Promise<void>((r) => this.#room.push(r));
    if (this.#closed) return closedOutcome();
    return new Promise<CompileOutcome>((resolve) => {
      this.#queue.push({ req: { ...job, id: this.#nextId++ } as CompileRequest, resolve });
      this.#pump();
    });
  }

  /** Stops every thread; queued jobs fail. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#queue.splice(0)) p.resolve(closedOutcome());
    for (const r of this.#room.splice(0)) r();
    const threads = [...this.#threads];
    this.#threads.clear();
    await Promise.all(
      threads.map((t) => {
        if (t.idleTimer) clearTimeout(t.idleTimer);
        for (const j of t.jobs.splice(0)) j.resolve(closedOutcome());
        return t.worker.terminate();
      }),
    );
  }

  /** Hands queued jobs to threads: the least busy first, up to `depth` each, so a thread
   * never waits for the primary's loop between two jobs. */
  #pump(): void {
    while (this.#queue.length > 0) {
      const suspect = this.#queue[0].suspect === true;
      let thread: Thread | undefined;
      for (const t of this.#threads)
        if (!t.alone && (!thread || t.jobs.length < thread.jobs.length)) thread = t;
      if (suspect && thread && thread.jobs.length > 0) thread = undefined;
      if (!thread || (thread.jobs.length > 0 && this.#threads.size < this.#size)) {
        if (this.#threads.size >= this.#size && thread === undefined) return;
        thread = this.#spawn();
      } else if (thread.jobs.length >= this.#depth) return;
      const job = this.#queue.shift() as Pending;
      this.#room.shift()?.();
      if (thread.idleTimer) clearTimeout(thread.idleTimer);
      thread.idleTimer = null;
      thread.alone = suspect;
      thread.jobs.push(job);
      thread.worker.postMessage(job.req);
    }
  }

  #spawn(): Thread {
    const worker = new Worker(new URL('./compile-thread.js', import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: this.#heapMb },
    });
    this.stats.threadsStarted++;
    const thread: Thread = { worker, jobs: [], idleTimer: null, alone: false };
    this.#threads.add(thread);
    worker.on('message', (batch: CompileBatch) => {
      for (const item of batch.items) {
        const job = thread.jobs[0];
        if (!job || job.req.id !== item.id) continue;
        thread.jobs.shift();
        let done: CompileDone;
        if (item.ok && item.image === undefined) {
          const { at, length, ...rest } = item;
          done = { ...rest, image: batch.shared.subarray(at, at + length) };
        } else done = item as CompileDone;
        const { id: _id, ...outcome } = done;
        if (outcome.ok) this.stats.compiled++;
        else this.stats.failed++;
        job.resolve(outcome);
      }
      if (thread.jobs.length === 0) thread.alone = false;
      if (this.#queue.length > 0) this.#pump();
      else if (!this.#closed && thread.jobs.length === 0)
        thread.idleTimer = setTimeout(() => this.#retire(thread), this.#idleMs).unref();
    });
    const lost = (why: string) => {
      if (!this.#threads.delete(thread)) return;
      if (thread.idleTimer) clearTimeout(thread.idleTimer);
      // Finished results are posted in batches, so which job killed the thread is not known
      // unless it ran alone: a suspect that ran alone fails; otherwise every job posted to the
      // thread runs again, each alone on a thread of its own turn.
      const jobs = thread.jobs.splice(0);
      if (jobs.length === 1 && jobs[0].suspect) {
        const culprit = jobs[0];
        this.stats.failed++;
        const label = culprit.req.kind === 'file' ? culprit.req.path : culprit.req.name;
        culprit.resolve({ ok: false, errors: [`${label}: compile thread failed: ${why}`], warnings: [] });
      } else {
        for (const j of jobs) j.suspect = true;
        this.#queue.unshift(...jobs);
      }
      if (!this.#closed) this.#pump();
    };
    worker.on('error', (err) => lost(err.message));
    worker.on('exit', (code) => lost(`exited with code ${code}`));
    return thread;
  }

  #retire(thread: Thread): void {
    if (thread.jobs.length > 0 || !this.#threads.delete(thread)) return;
    void thread.worker.terminate();
  }
}

function closedOutcome(): CompileOutcome {
  return { ok: false, errors: ['the compile service is closed'], warnings: [] };
}
