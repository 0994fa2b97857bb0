/**
 * Response-rate limiting (RRL), with the semantics operators know from BIND's `rate-limit`
 * and Knot's mod-rrl: responses are counted per client block (an IPv4 /24 or IPv6 /56 by
 * default) and per kind of answer; a block that gets more than its rate of one kind has its
 * surplus responses dropped, except the first of a run and every `slip`-th one after it, sent
 * truncated (TC=1, no records) so that a real resolver behind a spoofed block retries over TCP
 * and still gets its answer. Errors, and responses over the all-per-second limit, are never
 * truncated, only dropped (BIND: an error reply cannot be replaced by a truncated one).
 *
 * Kinds and what makes two responses "the same" (BIND's classes):
 * - `answer`: the same QNAME and QTYPE (positive answers);
 * - `nxdomain`: any name under the same zone (the caller passes the zone's name hash);
 * - `nodata`: the same QNAME (the caller's choice: the name, or the zone);
 * - `referral`: the same delegation point;
 * - `error`: any error response to the block (FORMERR, REFUSED, SERVFAIL, NOTIMP …);
 * and, when `allPerSecond` is set, every response to the block together.
 *
 * Accounting per bucket: a balance earns `rate` credits a second up to `rate` (the burst) and
 * pays one per response; below zero a response is limited. The balance cannot fall below
 * `-rate × window`, so a block that flooded must stay under its rate for up to `window` seconds
 * before it is answered again — BIND's `window`.
 *
 * Bounded state: one fixed table of `tableSize` buckets in typed arrays, chosen when the
 * limiter is made (4 buckets probed per key; a full set gives up its least recently used
 * bucket). Memory does not grow with the number of sources, however many addresses a flood
 * rotates through; a collision can only make two keys share a bucket, briefly.
 */
import { BoundedTable, hashPrefix, mix32 } from './bounded-table.js';

/** The kinds of response, each with its own rate. */
export const ResponseKind = {
  answer: 0,
  nxdomain: 1,
  nodata: 2,
  referral: 3,
  error: 4,
} as const;
export type ResponseKind = (typeof ResponseKind)[keyof typeof ResponseKind];

const KIND_NAMES = ['answer', 'nxdomain', 'nodata', 'referral', 'error'] as const;

/** What to do with a response. */
export const RrlAction = {
  /** Send it. */
  send: 0,
  /** Drop it. */
  drop: 1,
  /** Send it truncated: TC=1, no records (the client retries over TCP). */
  slip: 2,
} as const;
export type RrlAction = (typeof RrlAction)[keyof typeof RrlAction];

export interface RrlConfig {
  /** Responses per second per block for identical positive answers. 0: not limited. */
  responsesPerSecond: number;
  /** NXDOMAIN per second per block and zone. Default: responsesPerSecond. */
  nxdomainsPerSecond?: number;
  /** NODATA per second per block and name. Default: responsesPerSecond. */
  nodataPerSecond?: number;
  /** Referrals per second per block and delegation. Default: responsesPerSecond. */
  referralsPerSecond?: number;
  /** Errors per second per block. Default: responsesPerSecond. */
  errorsPerSecond?: number;
  /** All responses per second per block, whatever they are. 0 (default): no such limit. */
  allPerSecond?: number;
  /** Seconds over which a rate is held (BIND's `window`, 1..3600). Default 15. */
  window?: number;
  /**
   * The first limited response of a run and every slip-th after it are sent truncated (errors
   * and all-per-second excess: never); 0: all dropped, 1: all truncated. Default 2.
   */
  slip?: number;
  /** IPv4 block length. Default 24. */
  ipv4PrefixLength?: number;
  /** IPv6 block length. Default 56. */
  ipv6PrefixLength?: number;
  /** Buckets in the table (rounded up to a power of two, at least 1,024). Default 65,536. */
  tableSize?: number;
  /** Count what would be limited, limit nothing (BIND's `log-only`). */
  dryRun?: boolean;
}

/** Counters since the limiter was made. */
export interface RrlCounters {
  /** Responses sent (admitted). */
  sent: number;
  /** Responses dropped, per kind (in dry run: would have been). */
  dropped: Record<(typeof KIND_NAMES)[number], number>;
  /** Responses slipped (sent truncated), per kind (in dry run: would have been). */
  slipped: Record<(typeof KIND_NAMES)[number], number>;
  /** Buckets taken over from another key while still in use (table pressure). */
  evictions: number;
}

function checkRate(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0 || value > 1e6) throw new RangeError(`${name} must be 0..1000000`);
  return value;
}

export class ResponseRateLimiter {
  readonly #rates: Float64Array;
  readonly #all: number;
  readonly #window: number;
  readonly #slip: number;
  readonly #v4Bits: number;
  readonly #v6Bits: number;
  readonly #dryRun: boolean;
  readonly #table: BoundedTable;
  /** Per bucket: balance, last update (ms), limited count. */
  readonly #balance: Float64Array;
  readonly #stamp: Float64Array;
  readonly #limited: Uint32Array;
  #sent = 0;
  readonly #dropped = new Float64Array(5);
  readonly #slipped = new Float64Array(5);
  readonly #rank = (slot: number): number => this.#stamp[slot];

  constructor(config: RrlConfig) {
    const base = checkRate('responsesPerSecond', config.responsesPerSecond);
    this.#rates = Float64Array.of(
      base,
      checkRate('nxdomainsPerSecond', config.nxdomainsPerSecond ?? base),
      checkRate('nodataPerSecond', config.nodataPerSecond ?? base),
      checkRate('referralsPerSecond', config.referralsPerSecond ?? base),
      checkRate('errorsPerSecond', config.errorsPerSecond ?? base),
    );
    this.#all = checkRate('allPerSecond', config.allPerSecond ?? 0);
    const window = config.window ?? 15;
    if (!Number.isInteger(window) || window < 1 || window > 3600)
      throw new RangeError('window must be 1..3600 seconds');
    this.#window = window;
    const slip = config.slip ?? 2;
    if (!Number.isInteger(slip) || slip < 0 || slip > 10) throw new RangeError('slip must be 0..10');
    this.#slip = slip;
    const v4 = config.ipv4PrefixLength ?? 24;
    const v6 = config.ipv6PrefixLength ?? 56;
    if (!Number.isInteger(v4) || v4 < 0 || v4 > 32) throw new RangeError('ipv4PrefixLength must be 0..32');
    if (!Number.isInteger(v6) || v6 < 0 || v6 > 128) throw new RangeError('ipv6PrefixLength must be 0..128');
    this.#v4Bits = v4;
    this.#v6Bits = v6;
    this.#dryRun = config.dryRun ?? false;
    const wanted = config.tableSize ?? 65536;
    if (!Number.isInteger(wanted) || wanted < 1 || wanted > 1 << 24)
      throw new RangeError('tableSize must be 1..16777216');
    this.#table = new BoundedTable(Math.max(1024, wanted), 4);
    const size = this.#table.size;
    this.#balance = new Float64Array(size);
    this.#stamp = new Float64Array(size);
    this.#limited = new Uint32Array(size);
  }

  /** Buckets in the table (fixed for the limiter's life). */
  get tableSize(): number {
    return this.#table.size;
  }

  /** Whether the limiter only counts (dry run). */
  get dryRun(): boolean {
    return this.#dryRun;
  }

  /**
   * The hash of a client's block: `address` is 4 (IPv4) or 16 (IPv6) octets; the bits past
   * the block's prefix length are ignored.
   */
  blockHash(address: Uint8Array): number {
    const bits = address.length === 4 ? this.#v4Bits : address.length === 16 ? this.#v6Bits : -1;
    if (bits < 0) throw new RangeError('a client address is 4 (IPv4) or 16 (IPv6) octets');
    return hashPrefix(address, bits);
  }

  /**
   * Decides the fate of one response to the block `block` (blockHash()) of kind `kind`;
   * `nameHash` says which responses are the same (see the kinds above; ignored for errors);
   * `nowMs` is a monotonic clock in milliseconds. In dry run the answer is always `send`
   * and the counters say what would have happened. `rates`: the five rates by kind of the
   * response's zone when it has its own (`--shield-zone`); absent: the limiter's.
   */
  decide(
    block: number,
    kind: ResponseKind,
    nameHash: number,
    nowMs: number,
    rates?: ArrayLike<number>,
  ): RrlAction {
    const rate = rates !== undefined ? rates[kind] : this.#rates[kind];
    let limited = false;
    let bucket = -1;
    if (rate > 0) {
      const key =
        kind === ResponseKind.error ? mix32(block, 0x51) : mix32(mix32(block, kind + 1), nameHash >>> 0);
      bucket = this.#bucket(key, rate, nowMs);
      limited = this.#charge(bucket, rate);
    }
    let overAll = false;
    if (this.#all > 0) overAll = this.#charge(this.#bucket(mix32(block, 0xa11), this.#all, nowMs), this.#all);
    if (!limited && !overAll) {
      this.#sent++;
      return RrlAction.send;
    }
    // As BIND: the first limited response of a run slips, then every slip-th; an error, or a
    // response over the all-per-second limit, never slips (dropped).
    const n = limited ? ++this.#limited[bucket] : 0;
    const slip =
      limited && !overAll && kind !== ResponseKind.error && this.#slip > 0 && (n - 1) % this.#slip === 0;
    if (slip) this.#slipped[kind]++;
    else this.#dropped[kind]++;
    if (this.#dryRun) {
      this.#sent++;
      return RrlAction.send;
    }
    return slip ? RrlAction.slip : RrlAction.drop;
  }

  /** The counters so far. */
  counters(): RrlCounters {
    const per = (a: Float64Array) =>
      Object.fromEntries(KIND_NAMES.map((k, i) => [k, a[i]])) as RrlCounters['dropped'];
    return {
      sent: this.#sent,
      dropped: per(this.#dropped),
      slipped: per(this.#slipped),
      evictions: this.#table.evictions,
    };
  }

  /** Finds (or takes) the bucket of `key`, credited up to `nowMs`. */
  #bucket(key: number, rate: number, nowMs: number): number {
    const slot = this.#table.claim(key, this.#rank);
    if (this.#table.claimed) {
      this.#balance[slot] = rate;
      this.#stamp[slot] = nowMs;
      this.#limited[slot] = 0;
    } else this.#credit(slot, rate, nowMs);
    return slot;
  }

  #credit(b: number, rate: number, nowMs: number): void {
    const elapsed = nowMs - this.#stamp[b];
    if (elapsed > 0) {
      const next = this.#balance[b] + (rate * elapsed) / 1000;
      // Back to a full balance: a new run of limited responses (its first slips, as BIND's).
      if (next >= rate) this.#limited[b] = 0;
      this.#balance[b] = Math.min(rate, next);
      this.#stamp[b] = nowMs;
    }
  }

  /** Pays one response from bucket `b`; true when it is over its rate. */
  #charge(b: number, rate: number): boolean {
    const floor = -rate * this.#window;
    const next = this.#balance[b] - 1;
    this.#balance[b] = Math.max(next, floor);
    return next < 0;
  }
}
