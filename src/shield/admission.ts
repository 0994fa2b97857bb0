/**
 * Admission: per datagram, before any answer is built, from the pre-parse alone (source tier,
 * the QNAME's zone and whether the name exists in the zone image) and two signals — whether
 * that zone is under a random-subdomain attack (zone-attack.ts) and how far behind the worker
 * is (`OverloadMeter`) — decide: answer, drop, or answer TC=1 (empty, truncated: a real
 * resolver retries over TCP, which a spoofed source cannot).
 *
 * The order in which traffic is given up, from first to last:
 * 1. queries for missing names of an attacked zone beyond its budget (strangers' dropped,
 *    one in two of cookie/TCP-verified sources' truncated, so a real resolver can still get
 *    its NXDOMAIN over TCP);
 * 2. under overload, level 1: strangers' queries for missing names or no zone of ours;
 * 3. level 2: all strangers' queries but one in `strangerSlip` sent truncated; sources with a
 *    history asking for missing names;
 * 4. level 3: everything but verified sources (cookie, TCP) and history sources' existing names.
 * Where these truncate, only a source seen on TCP lately is sure of its TC=1; others get one
 * within a small budget a second (NO_TCP_TRUNCATIONS_PER_SECOND) and are dropped beyond it.
 * Existing names of zones not attacked, asked by verified sources, are never shed here (RRL,
 * after the answer, still applies to them).
 */
import { Tier } from './sources.js';

export const Admit = { answer: 0, drop: 1, truncate: 2 } as const;
export type Admit = (typeof Admit)[keyof typeof Admit];

/** Why a datagram was not answered in full (metrics label). */
export const SHED_REASONS = ['zone-budget', 'overload'] as const;

/** What admission looks at. */
export interface AdmissionInput {
  tier: Tier;
  /** The QNAME is in one of our zones. */
  inZone: boolean;
  /** The QNAME exists in that zone's image (or is at/below a cut: a referral is an answer). */
  exists: boolean;
  /** The zone is under a random-subdomain attack. */
  zoneAttacked: boolean;
  /** For a missing name of an attacked zone: whether the zone's budget still has room. */
  withinZoneBudget: boolean;
  /** 0 (keeping up) .. 3 (drowning), from OverloadMeter. */
  overload: number;
  /** The source completed a TCP handshake lately (SourceTable.usedTcp): a TC=1 answer helps it. */
  usedTcp: boolean;
  /** Now (ms): the TC=1 budget of sources not seen on TCP refills with time. */
  nowMs: number;
}

/** One in this many shed strangers' datagrams at overload level 2 is truncated rather than dropped. */
const STRANGER_SLIP = 4;
/** TC=1 answers a second, at most, to sources not seen on TCP (where admission would truncate):
 * beyond it they are dropped. TC=1 defends only while TCP answers, and a source that never
 * used TCP is a spoofed one or a resolver that will not retry over TCP (it waits for its
 * timeout either way); the budget still lets a new resolver find TCP. */
export const NO_TCP_TRUNCATIONS_PER_SECOND = 100;

export class Admission {
  #slip = 0;
  #budgetSlip = 0;
  #tcTokens = 0;
  #tcAt = 0;
  /** Datagrams shed so far, by reason then tier. */
  readonly shed = {
    'zone-budget': new Float64Array(4),
    overload: new Float64Array(4),
  };

  decide(q: AdmissionInput): Admit {
    const verified = q.tier >= Tier.tcp;
    const missing = !q.inZone || !q.exists;
    if (q.inZone && !q.exists && q.zoneAttacked && !q.withinZoneBudget) {
      this.shed['zone-budget'][q.tier]++;
      if (!verified) return Admit.drop;
      this.#budgetSlip ^= 1;
      return this.#budgetSlip === 1 ? this.#truncate(q) : Admit.drop;
    }
    const level = q.overload;
    if (level <= 0 || verified) return Admit.answer;
    if (level === 1) {
      if (q.tier === Tier.unknown && missing) return this.#overload(q.tier, Admit.drop);
      return Admit.answer;
    }
    if (level === 2) {
      if (q.tier === Tier.unknown) {
        this.#slip = (this.#slip + 1) % STRANGER_SLIP;
        return this.#overload(q.tier, this.#slip === 0 ? this.#truncate(q) : Admit.drop);
      }
      return missing ? this.#overload(q.tier, Admit.drop) : Admit.answer;
    }
    if (q.tier === Tier.history && !missing) return Admit.answer;
    return this.#overload(q.tier, Admit.drop);
  }

  /** TC=1 for a source seen on TCP; for others within NO_TCP_TRUNCATIONS_PER_SECOND, else a drop. */
  #truncate(q: AdmissionInput): Admit {
    if (q.usedTcp) return Admit.truncate;
    const dt = Math.max(0, q.nowMs - this.#tcAt);
    this.#tcAt = q.nowMs;
    this.#tcTokens = Math.min(
      NO_TCP_TRUNCATIONS_PER_SECOND,
      this.#tcTokens + (dt * NO_TCP_TRUNCATIONS_PER_SECOND) / 1000,
    );
    if (this.#tcTokens < 1) return Admit.drop;
    this.#tcTokens -= 1;
    return Admit.truncate;
  }

  #overload(tier: Tier, action: Admit): Admit {
    this.shed.overload[tier]++;
    return action;
  }
}

export interface OverloadConfig {
  /** Share of full reads above which the worker is behind (a read: one wake-up of the native batch
   * loop; full: it read its whole allowance of batches). Default 0.5. */
  behindShare?: number;
  /** Seconds over which the share is smoothed. Default 0.5. */
  smoothingSeconds?: number;
  /** Seconds at a level before it may go down one. Default 2. */
  holdSeconds?: number;
}

/**
 * How far behind a worker is, from its reads. The native path feeds it once per wake-up of its
 * batch loop: `got` full batches of an allowance of `capacity` (16 × 64 datagrams); a wake-up
 * that used its whole allowance left datagrams queued (a burst one wake-up empties is not
 * overload). In general: a read that fills its whole
 * batch means more datagrams were waiting — the socket queue is not being emptied. The share
 * of full reads, smoothed, sets the level: 0 under `behindShare`, 1 above it, 2 when nearly
 * every read is full, 3 when that lasts (the queue overflows: the kernel is dropping
 * datagrams blindly). Levels rise at once and fall one at a time after `holdSeconds`.
 */
export class OverloadMeter {
  readonly #behind: number;
  readonly #tau: number;
  readonly #hold: number;
  #share = 0;
  /** When the last read was counted; -1 before the first (which then weighs the least, 0.02). */
  #at = -1;
  #level = 0;
  #levelAt = 0;
  #saturatedSince = -1;

  constructor(config: OverloadConfig = {}) {
    this.#behind = config.behindShare ?? 0.5;
    this.#tau = (config.smoothingSeconds ?? 0.5) * 1000;
    this.#hold = (config.holdSeconds ?? 2) * 1000;
    if (!(this.#behind > 0 && this.#behind < 1)) throw new RangeError('behindShare must be between 0 and 1');
  }

  /** Counts one batched read of `got` datagrams into a batch of `capacity`, at `nowMs`. */
  read(got: number, capacity: number, nowMs: number): void {
    const full = got >= capacity ? 1 : 0;
    const dt = this.#at < 0 ? 0 : Math.max(0, nowMs - this.#at);
    this.#at = nowMs;
    const a = dt >= this.#tau ? 1 : Math.max(dt / this.#tau, 0.02);
    this.#share += a * (full - this.#share);
    let target = 0;
    if (this.#share >= 0.95) {
      if (this.#saturatedSince < 0) this.#saturatedSince = nowMs;
      target = nowMs - this.#saturatedSince >= this.#hold ? 3 : 2;
    } else {
      this.#saturatedSince = -1;
      if (this.#share >= this.#behind) target = 1;
    }
    if (target >= this.#level) {
      // The level is (still) justified now: the hold counts from the last such moment.
      this.#level = target;
      this.#levelAt = nowMs;
    } else if (target < this.#level && nowMs - this.#levelAt >= this.#hold) {
      this.#level--;
      this.#levelAt = nowMs;
    }
  }

  /** 0 (keeping up) .. 3 (drowning). */
  get level(): number {
    return this.#level;
  }

  /** The smoothed share of full reads. */
  get share(): number {
    return this.#share;
  }
}
