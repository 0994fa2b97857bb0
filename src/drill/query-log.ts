/**
 * The finished legitimate queries of a run, kept in columns of typed arrays rather than one object
 * each: a run keeps every query (hundreds of thousands), and as objects each one survived a
 * scavenge and was copied into the old generation — the drill's own GC pauses (20–40 ms scavenges
 * mid-wave) grew with them. Read back as QueryRecord objects, made when asked for (the report).
 * @module
 */
import { RESOLVER_CLASSES, type ResolverClass } from './population.js';
import type { FailureCause, QueryKind, QueryRecord } from './resolvers.js';

const KINDS: readonly QueryKind[] = ['name', 'typo', 'aaaa', 'big'];
/** Index 0: no cause (an answered query). */
const CAUSES: readonly (FailureCause | undefined)[] = [undefined, 'noAnswer', 'wrongAnswer', 'truncated'];
const CLASS_INDEX = new Map<ResolverClass, number>(RESOLVER_CLASSES.map((c, i) => [c, i]));
const KIND_INDEX = new Map<QueryKind, number>(KINDS.map((k, i) => [k, i]));
const CAUSE_INDEX = new Map<FailureCause | undefined, number>(CAUSES.map((c, i) => [c, i]));

const OK = 1;
const TCP = 2;

/** The finished queries of a run, in the order they finished. */
export class QueryLog implements Iterable<QueryRecord> {
  #n = 0;
  #phase = new Uint16Array(0);
  #cls = new Uint8Array(0);
  #zone = new Uint16Array(0);
  #kind = new Uint8Array(0);
  #flags = new Uint8Array(0);
  #tries = new Uint8Array(0);
  #cause = new Uint8Array(0);
  #latencyMs = new Float64Array(0);
  #startSecond = new Int32Array(0);
  #startMs = new Int32Array(0);

  constructor(capacity = 1 << 16) {
    this.#grow(capacity);
  }

  /** Queries kept. */
  get length(): number {
    return this.#n;
  }

  /** Keeps `r` (its fields copied: `r` itself is not held). */
  push(r: QueryRecord): void {
    if (this.#n === this.#phase.length) this.#grow(this.#n * 2);
    const i = this.#n++;
    this.#phase[i] = r.phase;
    this.#cls[i] = CLASS_INDEX.get(r.cls) ?? 0;
    this.#zone[i] = r.zone;
    this.#kind[i] = KIND_INDEX.get(r.kind) ?? 0;
    this.#flags[i] = (r.ok ? OK : 0) | (r.tcp ? TCP : 0);
    this.#tries[i] = r.tries;
    this.#cause[i] = CAUSE_INDEX.get(r.cause) ?? 0;
    this.#latencyMs[i] = r.latencyMs;
    this.#startSecond[i] = r.startSecond;
    this.#startMs[i] = r.startMs;
  }

  /** Whether the `i`-th query succeeded. */
  ok(i: number): boolean {
    return (this.#flags[i] & OK) !== 0;
  }

  /** The `i`-th query as a record (a new object). */
  at(i: number): QueryRecord {
    const ok = (this.#flags[i] & OK) !== 0;
    return {
      phase: this.#phase[i],
      cls: RESOLVER_CLASSES[this.#cls[i]],
      zone: this.#zone[i],
      kind: KINDS[this.#kind[i]],
      ok,
      tries: this.#tries[i],
      tcp: (this.#flags[i] & TCP) !== 0,
      latencyMs: this.#latencyMs[i],
      startSecond: this.#startSecond[i],
      startMs: this.#startMs[i],
      cause: CAUSES[this.#cause[i]],
    };
  }

  /** The queries of phase `p` only. */
  *ofPhase(p: number): IterableIterator<QueryRecord> {
    for (let i = 0; i < this.#n; i++) if (this.#phase[i] === p) yield this.at(i);
  }

  *[Symbol.iterator](): IterableIterator<QueryRecord> {
    for (let i = 0; i < this.#n; i++) yield this.at(i);
  }

  #grow(capacity: number): void {
    this.#phase = grown(this.#phase, new Uint16Array(capacity));
    this.#cls = grown(this.#cls, new Uint8Array(capacity));
    this.#zone = grown(this.#zone, new Uint16Array(capacity));
    this.#kind = grown(this.#kind, new Uint8Array(capacity));
    this.#flags = grown(this.#flags, new Uint8Array(capacity));
    this.#tries = grown(this.#tries, new Uint8Array(capacity));
    this.#cause = grown(this.#cause, new Uint8Array(capacity));
    this.#latencyMs = grown(this.#latencyMs, new Float64Array(capacity));
    this.#startSecond = grown(this.#startSecond, new Int32Array(capacity));
    this.#startMs = grown(this.#startMs, new Int32Array(capacity));
  }
}

/** `to` holding `from`'s values first. */
function grown<T extends { set(a: ArrayLike<number>): void }>(from: ArrayLike<number>, to: T): T {
  to.set(from);
  return to;
}
