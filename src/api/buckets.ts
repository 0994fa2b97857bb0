/**
 * Token buckets kept in memory, keyed by account, token or source address (docs/API.md,
 * "Limits"). A bucket holds up to `burst` tokens and refills at `rate` tokens a second; a
 * request takes one. Time comes from an injected clock, so tests never wait.
 *
 * The map is bounded: a bucket that has refilled completely is the same as no bucket and is
 * dropped when seen; past `maxEntries` the least recently used bucket goes (an attacker with
 * random keys or addresses costs at most `maxEntries` entries, never unbounded memory).
 * @module
 */

/** Milliseconds since some epoch. */
export type Clock = () => number;

/** One limit: `rate` tokens per second, at most `burst` at once. */
export interface BucketSpec {
  rate: number;
  burst: number;
}

/** The outcome of taking from a bucket. */
export type TakeResult = { ok: true } | { ok: false; retryAfterMs: number };

interface Bucket {
  tokens: number;
  /** When `tokens` was computed (ms). */
  at: number;
}

/** How many entries are looked at for idle eviction per insertion. */
const SWEEP = 8;

/** Token buckets by key, bounded in count. */
export class BucketMap {
  readonly #spec: BucketSpec;
  readonly #now: Clock;
  readonly #max: number;
  /** Insertion order = least recently used first (a used bucket is moved to the end). */
  readonly #buckets = new Map<string, Bucket>();

  constructor(spec: BucketSpec, opts: { maxEntries: number; now: Clock }) {
    if (!(spec.rate > 0) || !(spec.burst >= 1))
      throw new RangeError('a bucket needs rate > 0 and burst >= 1');
    this.#spec = spec;
    this.#max = Math.max(1, opts.maxEntries);
    this.#now = opts.now;
  }

  /** Buckets held (for tests and metrics). */
  get size(): number {
    return this.#buckets.size;
  }

  /** Tokens in `key`'s bucket now (the burst when it has none). */
  level(key: string): number {
    const b = this.#buckets.get(key);
    return b ? this.#refilled(b, this.#now()) : this.#spec.burst;
  }

  /** Would `n` tokens be available now? Takes nothing. */
  check(key: string, n = 1): TakeResult {
    const level = this.level(key);
    return level >= n ? { ok: true } : { ok: false, retryAfterMs: this.#wait(level, n) };
  }

  /** Takes `n` tokens when the bucket holds them; else takes nothing. */
  take(key: string, n = 1): TakeResult {
    const t = this.#now();
    const b = this.#buckets.get(key);
    const level = b ? this.#refilled(b, t) : this.#spec.burst;
    if (level < n) return { ok: false, retryAfterMs: this.#wait(level, n) };
    this.#set(key, { tokens: level - n, at: t });
    return { ok: true };
  }

  /** Gives back tokens taken for something that did not happen (never above the burst). */
  refund(key: string, n = 1): void {
    const b = this.#buckets.get(key);
    if (!b) return;
    const t = this.#now();
    const level = Math.min(this.#spec.burst, this.#refilled(b, t) + n);
    if (level >= this.#spec.burst) this.#buckets.delete(key);
    else {
      b.tokens = level;
      b.at = t;
    }
  }

  #refilled(b: Bucket, t: number): number {
    const elapsed = Math.max(0, t - b.at) / 1000;
    return Math.min(this.#spec.burst, b.tokens + elapsed * this.#spec.rate);
  }

  #wait(level: number, n: number): number {
    return Math.ceil(((Math.min(n, this.#spec.burst) - level) / this.#spec.rate) * 1000);
  }

  #set(key: string, b: Bucket): void {
    this.#buckets.delete(key);
    this.#buckets.set(key, b);
    // Idle buckets drain as traffic flows: the least recently used two, if full again, go.
    for (let i = 0; i < 2; i++) {
      const first = this.#buckets.entries().next().value;
      if (!first || first[0] === key || this.#refilled(first[1], b.at) < this.#spec.burst) break;
      this.#buckets.delete(first[0]);
    }
    if (this.#buckets.size <= this.#max) return;
    // Full buckets first (they hold nothing), then the least recently used.
    let looked = 0;
    for (const [k, old] of this.#buckets) {
      if (looked++ >= SWEEP || this.#buckets.size <= this.#max) break;
      if (k !== key && this.#refilled(old, b.at) >= this.#spec.burst) this.#buckets.delete(k);
    }
    while (this.#buckets.size > this.#max) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest === undefined || oldest === key) break;
      this.#buckets.delete(oldest);
    }
  }
}

/** Counts concurrent things per key (heavy requests per account), bounded by `limit`. */
export class ConcurrencyMap {
  readonly #limit: number;
  readonly #held = new Map<string, number>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Takes a slot of `key`; false when all `limit` are taken. */
  acquire(key: string): boolean {
    const n = this.#held.get(key) ?? 0;
    if (n >= this.#limit) return false;
    this.#held.set(key, n + 1);
    return true;
  }

  release(key: string): void {
    const n = this.#held.get(key) ?? 0;
    // Keys with no slot held take no memory: the map holds at most the requests in flight.
    if (n <= 1) this.#held.delete(key);
    else this.#held.set(key, n - 1);
  }

  /** Slots of `key` in use. */
  inUse(key: string): number {
    return this.#held.get(key) ?? 0;
  }

  /** Keys with a slot in use. */
  get size(): number {
    return this.#held.size;
  }
}
