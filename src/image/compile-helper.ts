/**
 * The second thread of a big zone's split compile (`compileZoneToFile`'s `helper`,
 * docs/IMAGE.md "Big zones"): a worker thread (compile-helper-thread.ts) started before the
 * zone's text is loaded, so it is up when the compile begins; it makes the templates of the
 * later half of the zone's names while the caller makes the earlier half, then copies them
 * into the image and writes those names' records while the caller writes the rest. The
 * caller waits for it synchronously (`Atomics.wait`: a compile thread has nothing else to do
 * meanwhile), and never leaves it writing into a file (`close` waits for a busy thread).
 * @module
 */

import { randomBytes } from 'node:crypto';
import { closeSync, openSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import {
  type HalfCompiler,
  type HalfDone,
  type HalfJob,
  type HalfWrite,
  SPLIT_NAMES,
  SPLIT_SHARE,
} from './compile.js';

/** The control words shared with the thread: [READY] 1 once it listens; [DONE] 1 once a half is answered. */
const READY = 0;
const DONE = 1;

/** How long a half may take before the caller gives up on it (the compile then fails). */
const HALF_TIMEOUT_MS = 10 * 60_000;

/** The helper thread's young generation (MiB). */
const HELPER_YOUNG_MB = 4;

/** A helper thread for split compiles; `close` it when done. */
export class CompileHelper implements HalfCompiler {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #ctl = new Int32Array(new SharedArrayBuffer(8));
  readonly #dir: string;
  /** The second half's template file (unlinked at once: gone with its descriptor). */
  #fd = -1;
  #busy = false;
  #closed = false;

  readonly minNames: number;
  readonly share: number;

  /**
   * `dir`: where the half's templates are written (the pack folder; default the temp folder).
   * `minNames` and `share`: see HalfCompiler (tests split small zones at chosen points).
   */
  constructor(dir?: string, opts: { minNames?: number; share?: number } = {}) {
    this.#dir = dir ?? tmpdir();
    this.minNames = opts.minNames ?? SPLIT_NAMES;
    this.share = opts.share ?? SPLIT_SHARE;
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    this.#worker = new Worker(new URL('./compile-helper-thread.js', import.meta.url), {
      workerData: { ctl: this.#ctl, port: port2 },
      transferList: [port2],
      // Its garbage is young and short-lived (nodes made and dropped per name): a small young
      // generation keeps the thread's memory off the cold start's peak.
      resourceLimits: { maxYoungGenerationSizeMb: HELPER_YOUNG_MB },
    });
    // A thread that failed to start or died is never ready: compiles run whole.
    this.#worker.on('error', () => Atomics.store(this.#ctl, READY, -1));
    this.#worker.on('exit', () => Atomics.store(this.#ctl, READY, -1));
    this.#worker.unref();
    this.#port.unref();
  }

  get ready(): boolean {
    return !this.#closed && !this.#busy && Atomics.load(this.#ctl, READY) === 1;
  }

  whenReady(ms: number): boolean {
    const deadline = Date.now() + ms;
    while (!this.#closed && Atomics.load(this.#ctl, READY) === 0) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      Atomics.wait(this.#ctl, READY, 0, left);
    }
    return this.ready;
  }

  start(job: Omit<HalfJob, 'fd'>): void {
    if (!this.ready) throw new Error('split compile: the helper thread is not ready');
    this.#closeFile();
    const path = join(this.#dir, `image-${randomBytes(8).toString('hex')}.sbhalf`);
    this.#fd = openSync(path, 'w+');
    unlinkSync(path);
    this.#post({ kind: 'half', ...job, fd: this.#fd });
  }

  wait(): HalfDone {
    return this.#answer() as HalfDone;
  }

  write(job: HalfWrite): void {
    this.#post({ kind: 'write', ...job });
  }

  finish(): void {
    this.#answer();
  }

  #post(msg: object): void {
    if (this.#busy) throw new Error('split compile: the helper thread is busy');
    Atomics.store(this.#ctl, DONE, 0);
    this.#busy = true;
    this.#port.postMessage(msg);
  }

  /** Blocks until the thread answers the message posted last; its result, or throws its error. */
  #answer(): unknown {
    if (!this.#busy) throw new Error('split compile: nothing asked of the helper thread');
    const deadline = Date.now() + HALF_TIMEOUT_MS;
    while (Atomics.load(this.#ctl, DONE) === 0) {
      if (Date.now() > deadline || Atomics.load(this.#ctl, READY) === -1) {
        // Gone, or stuck: it may still write, so its file stays open until the process ends.
        this.#fd = -1;
        this.#closed = true;
        void this.#worker.terminate();
        throw new Error('split compile: the helper thread did not answer');
      }
      Atomics.wait(this.#ctl, DONE, 0, 1000);
    }
    this.#busy = false;
    const got = receiveMessageOnPort(this.#port)?.message as { result?: unknown; error?: string } | undefined;
    if (got === undefined || got.error !== undefined)
      throw new Error(`split compile: ${got?.error ?? 'no answer from the helper thread'}`);
    return got.result;
  }

  /** Ends the thread (once it answered what it was asked) and closes the half's file. */
  close(): void {
    if (this.#closed) return;
    if (this.#busy)
      try {
        this.#answer();
      } catch {
        // ended above
      }
    this.#closed = true;
    this.#closeFile();
    this.#port.close();
    void this.#worker.terminate();
  }

  #closeFile(): void {
    if (this.#fd < 0) return;
    try {
      closeSync(this.#fd);
    } catch {
      // closed already
    }
    this.#fd = -1;
  }
}
