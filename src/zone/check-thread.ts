/**
 * The checks of a big zone in a thread of their own (issue 7, docs/IMAGE.md "The start-up
 * order of a big zone file"): `checkZone` over a ColumnZone, whose columns are
 * SharedArrayBuffers the thread reads where they lie (`ColumnZone.shared`/`fromShared`), while
 * the calling thread compiles the same zone. The caller publishes nothing before `wait` gave
 * the findings: a zone that fails a check still never serves. Synchronous for the caller, as
 * the load is: it waits on a shared word the thread sets once it posted its result
 * (`Atomics.wait`) and takes the message with `receiveMessageOnPort`. Should the thread not
 * start, fail or fall silent, `wait` answers undefined and the caller checks in its own thread
 * (the same findings, or the same exception).
 * @module
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort, type Worker } from 'node:worker_threads';
import type { ZoneFinding } from './check.js';
import type { ColumnZone, SharedColumnZone } from './column-zone.js';
import { type IdleParseThread, NEXT, startLoadThread } from './parse-thread.js';

/** The checks asked of a thread: the zone, and where it says it posted its result. */
export interface CheckWork {
  zone: SharedColumnZone;
  /** One Int32 word: 0 while checking, 1 once the result is posted. */
  done: SharedArrayBuffer;
}

/** What the check thread is given (`workerData`): the work and its port. */
export interface CheckThreadData extends CheckWork {
  port: MessagePort;
}

/** The thread's answer: `checkZone`'s findings, or its failure (the caller checks itself). */
export type CheckThreadMessage = { t: 'done'; findings: ZoneFinding[] } | { t: 'fail' };

/** No answer for this long: the thread is taken for dead (the caller checks itself). */
const SILENCE_MS = 120_000;

/** `checkZone(zone)` (no record list) running in a thread of its own. */
export class ZoneCheckThread {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #done: Int32Array;
  /** The checks run in the thread that parsed the zone (`onParseThread`), not one of their own. */
  readonly inParseThread: boolean;

  /**
   * The shared word the thread sets (to 1, with `Atomics.notify`) once its result is posted:
   * another thread may wait on it (`Atomics.waitAsync`) to learn when the checks ended.
   */
  get doneWord(): SharedArrayBuffer {
    return this.#done.buffer as SharedArrayBuffer;
  }

  private constructor(worker: Worker, port: MessagePort, done: Int32Array, inParseThread = false) {
    this.#worker = worker;
    this.#port = port;
    this.#done = done;
    this.inParseThread = inParseThread;
  }

  /** Starts checking `zone`; undefined when the thread cannot be started. */
  static start(zone: ColumnZone): ZoneCheckThread | undefined {
    const channel = new MessageChannel();
    const done = new SharedArrayBuffer(4);
    const data: CheckThreadData = { zone: zone.shared(), port: channel.port2, done };
    const worker = startLoadThread('./check-thread-entry.js', data, channel);
    if (worker === undefined) return undefined;
    return new ZoneCheckThread(worker, channel.port1, new Int32Array(done));
  }

  /**
   * Starts checking `zone` in the thread that parsed it (idle since: no new isolate, its code
   * loaded); undefined when it was taken or released already (it is then not used).
   */
  static onParseThread(idle: IdleParseThread, zone: ColumnZone): ZoneCheckThread | undefined {
    const t = idle.take();
    if (t === undefined) return undefined;
    const done = new SharedArrayBuffer(4);
    const work: CheckWork = { zone: zone.shared(), done };
    try {
      t.port.postMessage(work);
    } catch {
      Atomics.store(t.ctrl, NEXT, -1);
      Atomics.notify(t.ctrl, NEXT);
      t.port.close();
      return undefined;
    }
    Atomics.store(t.ctrl, NEXT, 1);
    Atomics.notify(t.ctrl, NEXT);
    return new ZoneCheckThread(t.worker, t.port, new Int32Array(done), true);
  }

  /**
   * The findings `checkZone(zone)` gives (waits for them); undefined when the thread failed or
   * fell silent (it is stopped): the caller then runs `checkZone` itself. Once.
   */
  wait(): ZoneFinding[] | undefined {
    try {
      if (Atomics.wait(this.#done, 0, 0, SILENCE_MS) === 'timed-out' && Atomics.load(this.#done, 0) === 0) {
        void this.#worker.terminate();
        return undefined;
      }
      const got = receiveMessageOnPort(this.#port);
      const m = got?.message as CheckThreadMessage | undefined;
      return m?.t === 'done' ? m.findings : undefined;
    } finally {
      this.#port.close();
    }
  }

  /** Stops the thread without waiting for its findings (the caller gave up on the zone). */
  stop(): void {
    this.#port.close();
    void this.#worker.terminate();
  }
}
