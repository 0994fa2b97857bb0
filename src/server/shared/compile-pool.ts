/**
 * The compile service of a primary (`--images on`): a small pool of worker_threads that turns
 * zone text into compiled zone images, so each zone is parsed and compiled once, off the
 * primary's event loop, instead of once per DNS worker.
 *
 * - `serve` jobs name a zone file (read by the thread and parsed strictly, with the zone
 *   checks, as a worker would); `start` jobs carry the control plane's master-file text (not
 *   strict, as before).
 * - Jobs travel in batches: `compileMany` cuts its jobs into batches of up to `batchJobs` zones
 *   (and about `batchBytes` of text), one postMessage each, and every thread holds up to
 *   `depth` batches, so it never waits for the primary's loop between two (a message and a
 *   promise per 10-record zone cost more than compiling it). A thread answers a batch with one
 *   message: small images copied into one transferred buffer, large ones as the thread's own
 *   buffer, transferred (no copy).
 * - The queue is bounded: a batch waits for room before it is queued, so at most `maxQueue`
 *   jobs (or one batch, when larger) wait for a thread.
 * - Size-aware: a text job of `largeChars` or more (a big zone) is a batch of its own, and
 *   small batches are posted before large ones. A large batch runs alone on its thread
 *   (nothing is queued behind it there), and with two threads or more at least one thread is
 *   kept for small batches: one tenant's big zone never holds back another's small change.
 * - A zone that fails to parse or compile comes back `{ ok: false, errors }` (the caller keeps
 *   the previous image). A thread that dies (out of its heap cap) is replaced; the jobs it
 *   held run again one at a time, and only the one that kills a thread again fails. Idle
 *   threads exit after `idleMs`, giving their heaps back.
 * @module
 */
import { availableParallelism } from 'node:os';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { ImageRef, PackedImage } from '../../image/pack.js';
import type { PatchChange } from './dns-protocol.js';

/** What a compile outcome is: compiled, failed, or (file jobs, nothing compiled) skipped. */
export type CompileOutcome =
  | {
      ok: true;
      /** The origin's key (case-folded wire form, as `Name.key`). */
      key: string;
      /** The origin as text (`example.com.`). */
      origin: string;
      serial: number;
      /** The image (empty when `packed`). */
      image: Uint8Array;
      /**
       * File jobs given a `packDir`: a big zone's image (a ColumnZone's), written by the thread
       * into that pack folder (`writePackedImage`) instead of `image`, for its writer to adopt
       * or discard.
       */
      packed?: PackedImage;
      /**
       * File jobs given `staged`: `packed` is the zone's image without templates (a big zone's
       * first stage, its checks passed); the full image follows from the same thread, handed to
       * `CompilePool.onFull` (docs/IMAGE.md "Answer first, templates after").
       */
      staged?: boolean;
      /**
       * Patch jobs: a delta image (src/image/patch.ts `patchImage`: only the names the change
       * can affect compiled again, the rest copied from the base image), the number of names
       * compiled again; undefined when the zone was compiled whole.
       */
      delta?: number;
      warnings: string[];
      /** File jobs: the fingerprint of the file as read (size:mtime:inode:ctime). */
      sig?: string;
    }
  | {
      ok: false;
      errors: string[];
      warnings: string[];
      /** File jobs read before they failed: the fingerprint of what was read. */
      sig?: string;
      /**
       * File jobs only, nothing compiled: `absent` — no such file, or not a regular file (it
       * went away since the folder was listed); `unchanged` — its fingerprint is the job's
       * `sig` (the file was not read).
       */
      skip?: 'absent' | 'unchanged';
    };

/**
 * Jobs made as `compileEach` batches them, in order, each once: `count` jobs, job `i` is
 * `job(i)`. A caller with 100,000 files makes no job object (nor path) that lives through the
 * whole compile: a job dies with its batch, young, instead of being promoted to the old
 * generation with the other 99,999.
 */
export interface CompileJobs {
  readonly count: number;
  job(index: number): CompileJob;
}

function isJobSource(jobs: readonly CompileJob[] | CompileJobs): jobs is CompileJobs {
  return typeof (jobs as CompileJobs).job === 'function';
}

/** A batch of jobs of one kind, as posted to a thread (columns: cheap to clone). */
export type CompileBatchRequest =
  | { kind: 'file'; paths: string[]; sigs: string[]; packDir?: string; staged?: boolean }
  | { kind: 'text'; names: string[]; texts: string[] }
  | { kind: 'patch'; names: string[]; dirs: string[]; refs: ImageRef[]; changes: PatchChange[][] };

/** `CompileBatch.status` values. */
export const STATUS_OK = 0;
export const STATUS_FAILED = 1;
export const STATUS_ABSENT = 2;
export const STATUS_UNCHANGED = 3;

/**
 * What a compile thread posts for one batch: one entry per job in every column (`''`, `0` or
 * `-1` where a job has none), so structured clone copies arrays of strings and numbers rather
 * than an object per job (about ten times cheaper, on both sides).
 */
export interface CompileBatch {
  status: Uint8Array;
  keys: string[];
  origins: string[];
  serials: number[];
  /** Fingerprints of file jobs that were read (`''` when not). */
  sigs: string[];
  /** Where a small image starts in `shared`; -1 for a large one (next in `large`) or none. */
  at: number[];
  lengths: number[];
  /** Large images (over 256 KiB), each its own transferred buffer, in job order. */
  large: Uint8Array[];
  /** `[job, image]` for the images written into the pack folder (`packDir`), in job order. */
  packed: [number, PackedImage][];
  /** `[job, errors, warnings]` for the jobs that have any, in job order. */
  problems: [number, string[], string[]][];
  /** `[job, names compiled again]` for the patch jobs made as delta images, in job order. */
  deltas?: [number, number][];
  /** The jobs whose packed image is a first stage (`staged`): their full image follows. */
  staged?: number[];
  shared: Uint8Array;
}

/**
 * A staged zone's second stage, posted by its thread after the batch that held the first
 * (`{ full }`): the full image in pack folder `dir` (for its writer to adopt or discard), or
 * why it could not be made (the zone then goes on being served without templates).
 */
export interface StagedFull {
  /** The origin as text, as the first stage's outcome gave it. */
  origin: string;
  dir: string;
  packed?: PackedImage;
  error?: string;
  /** The thread's CPU for the full image, ms (for the log). */
  cpuMs?: number;
}

/**
 * A file job's `sig` for a regular file (as its folder's listing said) read for the first time
 * whose fingerprint the caller takes later itself (image-dir.ts, a cold start): the thread
 * opens and reads it without the fstat (one system call less per file: ~3-7 µs on this VM),
 * and its outcome has no `sig`. A file that fills the thread's 64 KiB read is read as any
 * other (fstat first), and has one.
 */
export const SIG_LATER = '?';

/**
 * A job as the caller gives it. A file job with `sig` (the fingerprint its last read returned)
 * is answered `skip: 'unchanged'` without reading when the file still has it (`SIG_LATER`:
 * read, see there).
 */
export type CompileJob =
  | {
      kind: 'file';
      path: string;
      sig?: string;
      /** A pack folder: a big zone's image is written there by the thread (`packed`). */
      packDir?: string;
      /**
       * With `packDir`: a zone of at least `STAGED_RECORDS` records is compiled in two stages,
       * its image without templates first (`staged` outcome), the full one after (`onFull`).
       */
      staged?: boolean;
    }
  | { kind: 'text'; name: string; text: string }
  | PatchJob;

/**
 * `start`: zone `name`'s next image from its image at `ref` (in the pack folder `dir`) and the
 * RRsets its changes left (src/image/patch.ts). Fails when the patch is refused or the base
 * cannot be read: the caller compiles the zone's text instead.
 */
export interface PatchJob {
  kind: 'patch';
  name: string;
  dir: string;
  ref: ImageRef;
  changes: PatchChange[];
}

/** A patch job whose base image is this big (octets) is compiled in a batch of its own (large). */
export const LARGE_PATCH_BASE = 512 * 1024;

/** Pool tuning. */
export interface CompilePoolOptions {
  /** Threads (default: the number of cores, at most 4). */
  threads?: number;
  /** Jobs queued before a batch waits for room (default 1024). */
  maxQueue?: number;
  /** Heap cap of one thread in MiB (default 2048): a zone that needs more fails alone. */
  heapMb?: number;
  /**
   * Young generation of one thread in MiB (default 48): compiling allocates many short-lived
   * objects per zone, and a young generation larger than V8's default (16 MiB on 64-bit)
   * scavenges less often (measured ~10 % less CPU over 100,000 small zones, docs/PERFORMANCE.md).
   */
  youngMb?: number;
  /** An idle thread exits after this long (ms, default 5000). */
  idleMs?: number;
  /**
   * Threads kept started while the pool is idle (default 0): when an idle thread exits (its heap
   * given back), a fresh one is started in its place, so the next change after a quiet spell
   * does not wait for a thread to start (~0.1 s quiet, ~1 s on a loaded machine).
   */
  warm?: number;
  /** Batches posted to one thread ahead of time (default 3). */
  depth?: number;
  /** Most jobs in one batch (default 128). */
  batchJobs?: number;
  /** A batch of text jobs is closed once its text reaches this many chars (default 1 Mi). */
  batchBytes?: number;
  /**
   * A text job of at least this many chars is large (default 256 Ki, ~5,000 records): it is
   * compiled in a batch of its own, after the small batches waiting, and never on the last
   * thread free for small ones.
   */
  largeChars?: number;
}

/** Default number of compile threads: one per core, at most 4. */
export function defaultCompileThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/** The outcomes of one `compileMany` call, filled in as batches come back. */
interface Group {
  left: number;
  resolve: () => void;
  each: (index: number, outcome: CompileOutcome) => void;
}

/** Jobs posted to a thread in one message. */
interface Batch {
  /** The caller's jobs, all of one kind. */
  jobs: CompileJob[];
  /** Where each job's outcome goes in its group. */
  slots: number[];
  group: Group;
  /** It was on a thread that died: it runs alone on a thread, and fails if that one dies too. */
  suspect?: boolean;
  /** One large text job: queued behind the small batches, run alone, not on the small lane. */
  large?: boolean;
}

interface Thread {
  worker: Worker;
  /** Batches posted to the thread, oldest first (it answers them in that order). */
  batches: Batch[];
  idleTimer: NodeJS.Timeout | null;
  /** Runs one suspect or large job: nothing else is posted to it until that one is done. */
  alone: boolean;
  /** Holds a large batch. */
  large: boolean;
  /** The origins of the staged zones whose full image the thread still owes (`onFull`). */
  fulls: string[];
}

/** The default heap caps of a compile thread (CompilePoolOptions `heapMb`, `youngMb`). */
const DEFAULT_HEAP_MB = 2048;
const DEFAULT_YOUNG_MB = 48;

/**
 * A compile thread started before the serve primary's modules were loaded (src/server/serve/
 * early-load.ts: it loads a big zone file at once, `workerData.preload`); the first thread a
 * pool with the default heap caps starts is this one. Unref'd until taken (never taken: it
 * holds nothing up).
 */
let earlyThread: { worker: Worker; exited: boolean } | undefined;

/** Starts the early compile thread (`earlyThread`), loading `preload` (a zone file's path). */
export function startEarlyCompileThread(preload: string): void {
  if (earlyThread !== undefined) return;
  const worker = new Worker(new URL('./compile-thread.js', import.meta.url), {
    resourceLimits: { maxOldGenerationSizeMb: DEFAULT_HEAP_MB, maxYoungGenerationSizeMb: DEFAULT_YOUNG_MB },
    workerData: { preload },
  });
  const early = { worker, exited: false };
  // Until a pool takes it: an error is its exit (a pool then starts a thread of its own).
  worker.on('error', () => {});
  worker.once('exit', () => {
    early.exited = true;
  });
  worker.unref();
  earlyThread = early;
}

/** The early thread for a pool with these caps, once (undefined: none, or it is gone). */
function takeEarlyThread(heapMb: number, youngMb: number): Worker | undefined {
  const early = earlyThread;
  if (early === undefined || heapMb !== DEFAULT_HEAP_MB || youngMb !== DEFAULT_YOUNG_MB) return undefined;
  earlyThread = undefined;
  if (early.exited) return undefined;
  early.worker.removeAllListeners();
  early.worker.ref();
  return early.worker;
}

/** Compiles zones on worker threads. */
export class CompilePool {
  readonly #size: number;
  readonly #maxQueue: number;
  readonly #heapMb: number;
  readonly #youngMb: number;
  readonly #idleMs: number;
  readonly #warm: number;
  #warmTimer: NodeJS.Timeout | null = null;
  readonly #depth: number;
  readonly #batchJobs: number;
  readonly #batchBytes: number;
  readonly #largeChars: number;
  readonly #threads = new Set<Thread>();
  /** Batches waiting for a thread: small ones (and suspects) first, then large ones. */
  readonly #queue: Batch[] = [];
  readonly #largeQueue: Batch[] = [];
  #queuedJobs = 0;
  readonly #room: (() => void)[] = [];
  #closed = false;
  /** Event-loop time of the threads that exited (for `utilization`). */
  #retired = { active: 0, idle: 0 };
  /** Jobs done, for tests and logs (`skip` outcomes are counted in neither). */
  readonly stats = { compiled: 0, failed: 0, threadsStarted: 0 };
  /**
   * Called when a thread reports a stage of a big file's compile (a `{ stage }` message of
   * compile-thread.ts: 'compiling', its load done), before the batch's answer; `checksDone`,
   * when the zone's checks run beside the compile in a thread of their own, the shared word
   * that thread sets once they are done (`PendingChecks.doneWord`).
   */
  onStage: ((stage: string, checksDone?: SharedArrayBuffer) => void) | undefined;
  /**
   * Called with a staged zone's full image (or why there is none), after the outcome of its
   * first stage was delivered. Without it the full image is discarded. A thread that holds a
   * second stage to make is not retired (`shrink`, idle) until it is made.
   */
  onFull: ((full: StagedFull) => void) | undefined;

  constructor(opts: CompilePoolOptions = {}) {
    this.#size = Math.max(1, opts.threads ?? defaultCompileThreads());
    this.#maxQueue = Math.max(1, opts.maxQueue ?? 1024);
    this.#heapMb = opts.heapMb ?? DEFAULT_HEAP_MB;
    this.#youngMb = opts.youngMb ?? DEFAULT_YOUNG_MB;
    this.#idleMs = opts.idleMs ?? 5000;
    this.#warm = Math.min(this.#size, Math.max(0, opts.warm ?? 0));
    this.#depth = Math.max(1, opts.depth ?? 3);
    this.#batchJobs = Math.max(1, opts.batchJobs ?? 128);
    this.#batchBytes = Math.max(1, opts.batchBytes ?? 1024 * 1024);
    this.#largeChars = Math.max(1, opts.largeChars ?? 256 * 1024);
  }

  /** Number of threads the pool runs at most. */
  get size(): number {
    return this.#size;
  }

  /**
   * Starts every thread now (or `count` of them), before any job (a cold load lists its
   * folder meanwhile: a thread takes ~0.1 s to load its modules). Unused, they exit after
   * `idleMs` as idle ones do.
   */
  prestart(count = this.#size): void {
    const n = Math.min(this.#size, count);
    while (!this.#closed && this.#threads.size < n) {
      const t = this.#spawn();
      t.idleTimer = setTimeout(() => this.#retire(t), this.#idleMs).unref();
    }
  }

  /**
   * Ends the threads that hold no job now, at once rather than after `idleMs` (their heaps go
   * back to the system): after a cold compile, before the DNS workers load the images, so the
   * two peaks do not add up. The next job starts threads again.
   */
  shrink(): Promise<void> {
    const ended: Promise<unknown>[] = [];
    for (const t of [...this.#threads])
      if (t.batches.length === 0 && t.fulls.length === 0) ended.push(this.#retire(t, this.#idleMs));
    // Resolves once those threads are gone (their heaps freed): a caller may wait for it.
    return Promise.all(ended).then(() => {});
  }

  /** Compiles one zone; resolves (never rejects) once done, waiting first for queue room. */
  async compile(job: CompileJob): Promise<CompileOutcome> {
    return (await this.compileMany([job]))[0];
  }

  /**
   * Compiles zones in batches; resolves (never rejects) with their outcomes in the jobs' order
   * once all are done. Each batch waits for queue room before it is queued.
   */
  async compileMany(jobs: readonly CompileJob[]): Promise<CompileOutcome[]> {
    const outcomes: CompileOutcome[] = new Array(jobs.length);
    await this.compileEach(jobs, (i, o) => {
      outcomes[i] = o;
    });
    return outcomes;
  }

  /**
   * As `compileMany`, but each outcome is handed to `each` as its batch comes back (the index
   * is the job's) and the pool keeps none: a caller that stores the images as they come holds
   * no more than a batch of them. `jobs` may be made as they are batched (`CompileJobs`).
   * Resolves once every job is done.
   */
  async compileEach(
    jobs: readonly CompileJob[] | CompileJobs,
    each: (index: number, outcome: CompileOutcome) => void,
  ): Promise<void> {
    let resolve!: () => void;
    const done = new Promise<void>((r) => {
      resolve = r;
    });
    // One form: a list is a source whose jobs are made already.
    const source: CompileJobs = isJobSource(jobs)
      ? jobs
      : { count: jobs.length, job: (index: number) => jobs[index] };
    const count = source.count;
    const group: Group = { left: count, resolve, each };
    if (count === 0) resolve();
    let i = 0;
    /** Job `i`, made (from a source) and not yet in a batch. */
    let ahead: CompileJob | undefined;
    while (i < count) {
      const batchJobs: CompileJob[] = [];
      const slots: number[] = [];
      ahead ??= source.job(i);
      const kind = ahead.kind;
      let chars = 0;
      let large = false;
      while (i < count && batchJobs.length < this.#batchJobs && chars < this.#batchBytes) {
        ahead ??= source.job(i);
        const job = ahead;
        if (job.kind !== kind) break;
        if (
          (job.kind === 'text' && job.text.length >= this.#largeChars) ||
          (job.kind === 'patch' && job.ref.length >= LARGE_PATCH_BASE)
        ) {
          // A large job is a batch of its own.
          if (batchJobs.length > 0) break;
          large = true;
        }
        if (job.kind === 'text') chars += job.text.length;
        batchJobs.push(job);
        ahead = undefined;
        slots.push(i++);
        if (large) break;
      }
      while (!this.#closed && this.#queuedJobs > 0 && this.#queuedJobs + batchJobs.length > this.#maxQueue)
        await new Promise<void>((r) => this.#room.push(r));
      const batch: Batch = { jobs: batchJobs, slots, group };
      if (large) batch.large = true;
      if (this.#closed) {
        this.#fail(batch, closedOutcome);
        continue;
      }
      (large ? this.#largeQueue : this.#queue).push(batch);
      this.#queuedJobs += batchJobs.length;
      this.#pump();
    }
    return done;
  }

  /**
   * The compile threads' event-loop time so far (ms, live and exited threads summed):
   * `idle / (idle + active)` is the share of their time they waited for work.
   */
  utilization(): { active: number; idle: number } {
    let { active, idle } = this.#retired;
    for (const t of this.#threads) {
      const u = t.worker.performance.eventLoopUtilization();
      active += u.active;
      idle += u.idle;
    }
    return { active, idle };
  }

  /** Stops every thread; queued jobs fail. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#warmTimer !== null) clearTimeout(this.#warmTimer);
    this.#queuedJobs = 0;
    for (const b of this.#queue.splice(0)) this.#fail(b, closedOutcome);
    for (const b of this.#largeQueue.splice(0)) this.#fail(b, closedOutcome);
    for (const r of this.#room.splice(0)) r();
    const threads = [...this.#threads];
    this.#threads.clear();
    await Promise.all(
      threads.map((t) => {
        if (t.idleTimer) clearTimeout(t.idleTimer);
        for (const b of t.batches.splice(0)) this.#fail(b, closedOutcome);
        return t.worker.terminate();
      }),
    );
  }

  #deliver(batch: Batch, index: number, outcome: CompileOutcome): void {
    const g = batch.group;
    g.each(batch.slots[index], outcome);
    if (--g.left === 0) g.resolve();
  }

  #fail(batch: Batch, why: (job: CompileJob) => CompileOutcome): void {
    for (let i = 0; i < batch.jobs.length; i++) this.#deliver(batch, i, why(batch.jobs[i]));
  }

  /**
   * Hands queued batches to threads: small ones first, to the least busy thread that holds no
   * large or suspect batch, up to `depth` each, so a thread never waits for the primary's loop
   * between two batches; then large ones, each to an idle thread, while another thread is left
   * for small batches (with two threads or more).
   */
  #pump(): void {
    while (this.#queue.length > 0) {
      const suspect = this.#queue[0].suspect === true;
      let thread: Thread | undefined;
      for (const t of this.#threads)
        if (!t.alone && (!thread || t.batches.length < thread.batches.length)) thread = t;
      if (suspect && thread && thread.batches.length > 0) thread = undefined;
      if (!thread || (thread.batches.length > 0 && this.#threads.size < this.#size)) {
        if (this.#threads.size >= this.#size && thread === undefined) break;
        thread = this.#spawn();
      } else if (thread.batches.length >= this.#depth) break;
      this.#post(thread, this.#queue.shift() as Batch);
    }
    while (this.#largeQueue.length > 0) {
      let running = 0;
      for (const t of this.#threads) if (t.large) running++;
      // The small lane: with two threads or more, one is never given a large batch.
      if (this.#size > 1 && running >= this.#size - 1) return;
      let thread: Thread | undefined;
      for (const t of this.#threads) if (t.batches.length === 0 && t.fulls.length === 0) thread = t;
      if (thread === undefined) {
        if (this.#threads.size >= this.#size) return;
        thread = this.#spawn();
      }
      this.#post(thread, this.#largeQueue.shift() as Batch);
    }
  }

  #post(thread: Thread, batch: Batch): void {
    this.#queuedJobs -= batch.jobs.length;
    this.#room.shift()?.();
    if (thread.idleTimer) clearTimeout(thread.idleTimer);
    thread.idleTimer = null;
    thread.alone = batch.suspect === true || batch.large === true;
    thread.large = batch.large === true;
    thread.batches.push(batch);
    thread.worker.postMessage(batchRequest(batch.jobs));
  }

  #spawn(): Thread {
    const worker =
      takeEarlyThread(this.#heapMb, this.#youngMb) ??
      new Worker(new URL('./compile-thread.js', import.meta.url), {
        resourceLimits: { maxOldGenerationSizeMb: this.#heapMb, maxYoungGenerationSizeMb: this.#youngMb },
      });
    this.stats.threadsStarted++;
    const thread: Thread = { worker, batches: [], idleTimer: null, alone: false, large: false, fulls: [] };
    this.#threads.add(thread);
    worker.on(
      'message',
      (answer: CompileBatch | { stage: string; checksDone?: SharedArrayBuffer } | { full: StagedFull }) => {
        if ('stage' in answer) {
          this.onStage?.(answer.stage, answer.checksDone);
          return;
        }
        if ('full' in answer) {
          thread.fulls.shift();
          this.#handFull(answer.full);
          if (!this.#closed && thread.batches.length === 0 && thread.fulls.length === 0 && !thread.idleTimer)
            thread.idleTimer = setTimeout(() => this.#retire(thread), this.#idleMs).unref();
          return;
        }
        this.#answered(thread, answer);
      },
    );
    const lost = (why: string) => {
      if (!this.#threads.delete(thread)) return;
      if (thread.idleTimer) clearTimeout(thread.idleTimer);
      this.#remember(thread);
      // A second stage the thread owed: the zone goes on without templates.
      for (const origin of thread.fulls.splice(0))
        this.#handFull({ origin, dir: '', error: `compile thread failed: ${why}` });
      // Results come back per batch, so which job killed the thread is not known unless it
      // ran alone: a suspect that ran alone fails; otherwise every job posted to the thread
      // runs again, each alone on a thread of its own turn.
      const batches = thread.batches.splice(0);
      if (batches.length === 1 && batches[0].suspect) {
        const culprit = batches[0];
        this.#fail(culprit, (job) => {
          this.stats.failed++;
          const label = job.kind === 'file' ? job.path : job.name;
          return { ok: false, errors: [`${label}: compile thread failed: ${why}`], warnings: [] };
        });
      } else {
        const alone: Batch[] = [];
        for (const b of batches)
          for (let i = 0; i < b.jobs.length; i++)
            alone.push({ jobs: [b.jobs[i]], slots: [b.slots[i]], group: b.group, suspect: true });
        this.#queue.unshift(...alone);
        this.#queuedJobs += alone.length;
      }
      if (!this.#closed) this.#pump();
    };
    worker.on('error', (err) => lost(err.message));
    worker.on('exit', (code) => lost(`exited with code ${code}`));
    return thread;
  }

  /**
   * A staged zone's full image to `onFull`. Without one (or once closed) it is left in its pack
   * folder as a temporary file, which the folder's writer removes (PackWriter).
   */
  #handFull(full: StagedFull): void {
    if (this.onFull !== undefined && !this.#closed) this.onFull(full);
  }

  /** A batch's answer from `thread`: its outcomes delivered, the thread's next work. */
  #answered(thread: Thread, answer: CompileBatch): void {
    {
      const batch = thread.batches.shift();
      if (!batch) return;
      // Staged zones: their second stage is owed by this thread (it is not retired before).
      for (const i of answer.staged ?? []) thread.fulls.push(answer.origins[i]);
      const outcomes = batchOutcomes(answer, batch.jobs.length);
      for (let i = 0; i < outcomes.length; i++) {
        const o = outcomes[i];
        if (o.ok) this.stats.compiled++;
        else if (o.skip === undefined) this.stats.failed++;
        this.#deliver(batch, i, o);
      }
      if (thread.batches.length === 0) {
        thread.alone = false;
        thread.large = false;
      }
      if (this.#queue.length > 0 || this.#largeQueue.length > 0) this.#pump();
      else if (!this.#closed && thread.batches.length === 0 && thread.fulls.length === 0)
        thread.idleTimer = setTimeout(() => this.#retire(thread), this.#idleMs).unref();
    }
  }

  /** Keeps an exiting thread's event-loop time in `utilization`. */
  #remember(thread: Thread): void {
    try {
      const u: EventLoopUtilization = thread.worker.performance.eventLoopUtilization();
      this.#retired = { active: this.#retired.active + u.active, idle: this.#retired.idle + u.idle };
    } catch {
      // the thread is gone already: its time is lost to the figure, nothing else
    }
  }

  /** Ends a thread holding no job; resolves once it is gone (never rejects). */
  #retire(thread: Thread, warmAfterMs = 0): Promise<unknown> {
    if (thread.batches.length > 0 || thread.fulls.length > 0 || !this.#threads.delete(thread))
      return Promise.resolve();
    if (thread.idleTimer) clearTimeout(thread.idleTimer);
    this.#remember(thread);
    const ended = thread.worker.terminate().catch(() => {});
    if (this.#threads.size < this.#warm) void ended.then(() => this.#keepWarm(warmAfterMs));
    return ended;
  }

  /**
   * `warm`: a fresh thread (no idle timer: it waits for work) once the one that retired has
   * given its heap back; after `shrink` (a cold compile's end) only after `idleMs`, so it does
   * not add to the peak while the DNS workers load the images.
   */
  #keepWarm(afterMs: number): void {
    if (this.#closed || this.#warmTimer !== null || this.#threads.size >= this.#warm) return;
    this.#warmTimer = setTimeout(() => {
      this.#warmTimer = null;
      while (!this.#closed && this.#threads.size < this.#warm) this.#spawn();
    }, afterMs).unref();
  }
}

/** The message for a batch: its jobs as columns. */
function batchRequest(jobs: readonly CompileJob[]): CompileBatchRequest {
  if (jobs[0].kind === 'file') {
    const files = jobs as Extract<CompileJob, { kind: 'file' }>[];
    const req: CompileBatchRequest = {
      kind: 'file',
      paths: files.map((j) => j.path),
      sigs: files.map((j) => j.sig ?? ''),
    };
    // One folder for the batch: a compileEach call gives every job the same (image-dir.ts).
    if (files[0].packDir !== undefined) req.packDir = files[0].packDir;
    if (files[0].staged === true) req.staged = true;
    return req;
  }
  if (jobs[0].kind === 'patch') {
    const patches = jobs as PatchJob[];
    return {
      kind: 'patch',
      names: patches.map((j) => j.name),
      dirs: patches.map((j) => j.dir),
      refs: patches.map((j) => j.ref),
      changes: patches.map((j) => j.changes),
    };
  }
  const texts = jobs as Extract<CompileJob, { kind: 'text' }>[];
  return { kind: 'text', names: texts.map((j) => j.name), texts: texts.map((j) => j.text) };
}

const NONE: string[] = [];
const EMPTY = new Uint8Array(0);

/** A thread's answer back into one outcome per job. */
function batchOutcomes(b: CompileBatch, n: number): CompileOutcome[] {
  const out: CompileOutcome[] = new Array(n);
  // `problems` is in job order: walked alongside (no map, no pair made per job).
  const problems = b.problems;
  let p = 0;
  let large = 0;
  let packed = 0;
  let delta = 0;
  const deltas = b.deltas ?? [];
  for (let i = 0; i < n; i++) {
    let errors = NONE;
    let warnings = NONE;
    while (p < problems.length && problems[p][0] < i) p++;
    if (p < problems.length && problems[p][0] === i) {
      errors = problems[p][1];
      warnings = problems[p][2];
    }
    const sig = b.sigs[i];
    const status = b.status[i];
    let o: CompileOutcome;
    if (status === STATUS_OK) {
      const at = b.at[i];
      const inPack =
        packed < b.packed.length && b.packed[packed][0] === i ? b.packed[packed++][1] : undefined;
      const image =
        inPack !== undefined ? EMPTY : at >= 0 ? b.shared.subarray(at, at + b.lengths[i]) : b.large[large++];
      o = { ok: true, key: b.keys[i], origin: b.origins[i], serial: b.serials[i], image, warnings };
      if (inPack !== undefined) o.packed = inPack;
      if (delta < deltas.length && deltas[delta][0] === i) o.delta = deltas[delta++][1];
    } else if (status === STATUS_FAILED) o = { ok: false, errors, warnings };
    else
      o = {
        ok: false,
        errors: NONE,
        warnings: NONE,
        skip: status === STATUS_ABSENT ? 'absent' : 'unchanged',
      };
    if (sig !== '') o.sig = sig;
    out[i] = o;
  }
  return out;
}

function closedOutcome(): CompileOutcome {
  return { ok: false, errors: ['the compile service is closed'], warnings: [] };
}
