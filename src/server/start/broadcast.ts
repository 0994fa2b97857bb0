/**
 * Sends zone updates from the primary to the DNS workers of `switchboard start`.
 *
 * Small updates go to every worker at once: a change is answered everywhere within
 * milliseconds. A large one (a big zone re-parsed by each worker, which blocks that worker
 * while it parses) goes to one worker at a time, the next only after the previous reported it
 * applied: the other workers keep answering meanwhile, as `serve` does on SIGHUP. Messages keep
 * their order: later updates wait behind a staggered one, which delays propagation a little
 * but never availability.
 * @module
 */
import type { ZonesMessage } from './protocol.js';

/** Where messages go. */
export interface BroadcastTarget {
  /** The workers that have their snapshot and take updates now. */
  slots(): Iterable<number>;
  /** Sends to one worker; false when it is gone. */
  send(slot: number, msg: ZonesMessage): boolean;
}

/** Tuning. */
export interface BroadcasterOptions {
  /** Updates carrying at least this many characters of zone text are staggered (default 1 MiB,
   * roughly 25,000 records, which a worker parses in about a tenth of a second here). */
  staggerChars?: number;
  /** Longest wait for a worker's `applied` before going on without it (ms, default 30 s). */
  appliedTimeoutMs?: number;
}

/** Characters of zone text in a message. */
export function messageChars(msg: ZonesMessage): number {
  let n = 0;
  for (const z of msg.zones) n += z.text?.length ?? 0;
  return n;
}

/** Orders and paces zone updates to the workers. */
export class ZoneBroadcaster {
  readonly #target: BroadcastTarget;
  readonly #staggerChars: number;
  readonly #timeoutMs: number;
  readonly #queue: ZonesMessage[] = [];
  #draining = false;
  #waiting: { slot: number; seq: number; done: () => void } | null = null;

  constructor(target: BroadcastTarget, opts: BroadcasterOptions = {}) {
    this.#target = target;
    this.#staggerChars = opts.staggerChars ?? 1024 * 1024;
    this.#timeoutMs = opts.appliedTimeoutMs ?? 30_000;
  }

  /** Queues `msg` for every worker. */
  broadcast(msg: ZonesMessage): void {
    this.#queue.push(msg);
    if (!this.#draining) void this.#drain();
  }

  /** A worker reported that it applied message `seq`. */
  applied(slot: number, seq: number): void {
    const w = this.#waiting;
    if (w && w.slot === slot && w.seq === seq) w.done();
  }

  /** A worker went away: nobody waits for it any more. */
  gone(slot: number): void {
    const w = this.#waiting;
    if (w && w.slot === slot) w.done();
  }

  /** True while messages are queued or being staggered. */
  get busy(): boolean {
    return this.#draining;
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      for (let msg = this.#queue.shift(); msg !== undefined; msg = this.#queue.shift()) {
        const slots = [...this.#target.slots()];
        if (slots.length < 2 || messageChars(msg) < this.#staggerChars) {
          for (const slot of slots) this.#target.send(slot, msg);
          continue;
        }
        for (const slot of slots) {
          if (!this.#target.send(slot, msg)) continue;
          await this.#appliedBy(slot, msg.seq);
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  #appliedBy(slot: number, seq: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(), this.#timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#waiting = null;
        resolve();
      };
      this.#waiting = { slot, seq, done };
    });
  }
}
