/**
 * What the shield remembers of its clients, to sort datagrams into tiers before answering:
 *
 * | tier      | meaning                                                                  |
 * | --------- | ------------------------------------------------------------------------ |
 * | `cookie`  | this query carries a server cookie we made for this address (RFC 7873)   |
 * | `tcp`     | this address came back over TCP after a TC=1 answer of ours lately       |
 * | `history` | this address asked, in calm times, mostly for names that exist, over time   |
 * |           | (once earned it lasts a day from its last calm credit: a resolver that later |
 * |           | forwards a random-subdomain flood keeps it)                                  |
 * | `unknown` | none of that (a spoofed source looks like this, and so does a new resolver) |
 *
 * A query without a valid cookie from an address that has been sending valid cookies is
 * `unknown`: a resolver that speaks cookies keeps speaking them, and a spoofer cannot make
 * them. History is learned only while the server is calm (the caller says so), so a flood
 * cannot buy itself a tier. Addresses are kept per /32 (IPv4) and /64 (IPv6): a bot rotating
 * through its /64 is one client, and the table's fixed size holds whatever it rotates through.
 * Eviction gives up strangers first (rank: tier, then last seen).
 */
import { BoundedTable, hashPrefix } from './bounded-table.js';

export const Tier = { unknown: 0, history: 1, tcp: 2, cookie: 3 } as const;
export type Tier = (typeof Tier)[keyof typeof Tier];
export const TIER_NAMES = ['unknown', 'history', 'tcp', 'cookie'] as const;

export interface SourceTableConfig {
  /** Addresses remembered at once. Default 262,144 (~7 MB). */
  tableSize?: number;
  /** Calm seconds (at most one query a second counts) asking for existing names before an
   * address has a history. Default 8. */
  historyMin?: number;
  /** The share of an address's calm queries that must be for existing names. Default 0.8. */
  historyShare?: number;
  /** Seconds a TCP handshake vouches for its address. Default 3,600. */
  tcpSeconds?: number;
  /** Seconds an address that sent a valid cookie is expected to keep sending one. Default 3,600. */
  cookieSeconds?: number;
  /** Seconds after the last attack seen (`noteUnrest`) during which an address without history
   * earns no calm credit (hist23). Default 20; 0 turns the rule off. */
  calmAfterSeconds?: number;
}

const NEVER = -1e15;
/** Calm seconds that earn history by default (SourceTableConfig.historyMin). */
export const DEFAULT_HISTORY_MIN = 8;
/** How long earned history lasts after the last calm credit that qualified: a day. */
const HISTORY_MS = 86_400_000;
/** Calm credit refused this long after the last attack seen, by default (hist23). */
export const DEFAULT_CALM_AFTER_SECONDS = 20;
/** The unrest stamp moves in steps of at least this (native: a shared cache line written rarely). */
export const UNREST_STEP_MS = 50;
/** Behind (overload level >= 1) this long in a row counts as an attack in progress (noteUnrest's
 * callers; native SB_UNREST_PRESSED_MS): a worker briefly behind at start does not. */
export const UNREST_PRESSED_MS = 3000;
/** A TCP query lifts its address to the `tcp` tier within this long of a TC=1 answer to it. */
export const TC_FOLLOW_MS = 60_000;
/**
 * A TC=1 answer vouches for its address's TCP connections this long (`vouched`): a resolver's
 * TCP retry comes at once; a bot sent one of the few TC=1 answers strangers get is let in this
 * long only.
 */
export const TC_GATE_MS = 5000;

export class SourceTable {
  readonly #table: BoundedTable;
  readonly #historyMin: number;
  readonly #historyShare: number;
  readonly #tcpMs: number;
  readonly #cookieMs: number;
  readonly #good: Uint32Array;
  readonly #bad: Uint32Array;
  readonly #tcpAt: Float64Array;
  readonly #cookieAt: Float64Array;
  readonly #seen: Float64Array;
  /** When the slot's history last counted a query (at most one a second). */
  readonly #credited: Float64Array;
  /** When the slot last qualified for history (a calm credit with enough good ones). */
  readonly #historyAt: Float64Array;
  /** When the slot was last sent a TC=1 answer. */
  readonly #tcAt: Float64Array;
  readonly #calmAfterMs: number;
  /** When an attack in progress was last seen (noteUnrest). */
  #unrestAt = NEVER;
  #calmRefused = 0;
  #now = 0;
  readonly #rank = (slot: number): number => this.#slotTier(slot, this.#now) * 1e13 + this.#seen[slot];

  constructor(config: SourceTableConfig = {}) {
    const size = config.tableSize ?? 262144;
    if (!Number.isInteger(size) || size < 16 || size > 1 << 24)
      throw new RangeError('tableSize must be 16..16777216');
    this.#table = new BoundedTable(size, 8);
    this.#historyMin = config.historyMin ?? DEFAULT_HISTORY_MIN;
    this.#historyShare = config.historyShare ?? 0.8;
    if (!(this.#historyShare >= 0 && this.#historyShare <= 1))
      throw new RangeError('historyShare must be 0..1');
    this.#tcpMs = (config.tcpSeconds ?? 3600) * 1000;
    this.#cookieMs = (config.cookieSeconds ?? 3600) * 1000;
    const calmAfter = config.calmAfterSeconds ?? DEFAULT_CALM_AFTER_SECONDS;
    if (!(calmAfter >= 0)) throw new RangeError('calmAfterSeconds must be >= 0');
    this.#calmAfterMs = calmAfter * 1000;
    const n = this.#table.size;
    this.#good = new Uint32Array(n);
    this.#bad = new Uint32Array(n);
    this.#tcpAt = new Float64Array(n);
    this.#cookieAt = new Float64Array(n);
    this.#seen = new Float64Array(n);
    this.#credited = new Float64Array(n);
    this.#historyAt = new Float64Array(n);
    this.#tcAt = new Float64Array(n);
  }

  /** Addresses the table can hold. */
  get size(): number {
    return this.#table.size;
  }

  /** The key of an address (4 or 16 octets): its /32 or its /64. */
  key(address: Uint8Array): number {
    if (address.length === 4) return hashPrefix(address, 32);
    if (address.length === 16) return hashPrefix(address, 64);
    throw new RangeError('a client address is 4 (IPv4) or 16 (IPv6) octets');
  }

  /**
   * The tier of a query from address `key` that carries a valid server cookie or not.
   * Looks only; remembers nothing (see `note…`).
   */
  tier(key: number, cookieValid: boolean, nowMs: number): Tier {
    if (cookieValid) return Tier.cookie;
    const slot = this.#table.find(key);
    if (slot < 0) return Tier.unknown;
    if (nowMs - this.#cookieAt[slot] < this.#cookieMs) return Tier.unknown;
    return this.#slotTier(slot, nowMs);
  }

  /**
   * An attack in progress seen now (hist23: a /24 blocked, the bridge up, the worker behind for
   * UNREST_PRESSED_MS — the caller judges; a zone attacked alone is not one, docs/SHIELD.md): for `calmAfterSeconds` from the last one, "calm" is not
   * calm enough to earn history. The overload level alone is not enough: once a wave's first
   * blocks are in the worker keeps up, and the bots still read (those of /24s never blocked,
   * where resolvers of standing live) would earn it by asking valid names once a second.
   */
  noteUnrest(nowMs: number): void {
    if (nowMs - this.#unrestAt >= UNREST_STEP_MS) this.#unrestAt = nowMs;
  }

  /**
   * Counts a query of `key` for a name that exists or not, while the server is calm. Within
   * `calmAfterSeconds` of the last `noteUnrest` an address without history earns nothing (not
   * even remembered); one with history is credited as ever, so its day does not run out under
   * a standing attack.
   */
  /**
   * (tidy25) Calm queries refused their credit by the rule above (an attack seen within
   * `calmAfterSeconds`, the source without history), since the table was made: every such query,
   * not one a second (the source is not in the table to count its seconds).
   */
  get calmRefused(): number {
    return this.#calmRefused;
  }

  noteCalmQuery(key: number, exists: boolean, nowMs: number): void {
    if (this.#calmAfterMs > 0 && nowMs - this.#unrestAt < this.#calmAfterMs) {
      const found = this.#table.find(key);
      if (found < 0 || !(nowMs - this.#historyAt[found] < HISTORY_MS)) {
        this.#calmRefused++;
        return;
      }
    }
    const slot = this.#claim(key, nowMs);
    // One query a second at most counts: history is time spent asking sensible questions,
    // which a burst — however well-formed — cannot buy.
    if (nowMs - this.#credited[slot] < 1000) return;
    this.#credited[slot] = nowMs;
    if (exists) this.#good[slot] = Math.min(this.#good[slot] + 1, 0xffffffff);
    else this.#bad[slot] = Math.min(this.#bad[slot] + 1, 0xffffffff);
    const good = this.#good[slot];
    // Earned history is kept (a day from the last credit that qualified): the random-subdomain
    // flood of 2016 came through real resolvers, and the missing names it makes them ask in the
    // second or two before a zone is called attacked must not take their standing away.
    if (good >= this.#historyMin && good >= this.#historyShare * (good + this.#bad[slot]))
      this.#historyAt[slot] = nowMs;
  }

  /** Whether `key` completed a TCP handshake within the TCP tier's time (whatever its tier):
   * a TC=1 answer is worth sending to it. False for a query without a cookie from an address
   * that sends them (not the resolver's own). */
  usedTcp(key: number, cookieValid: boolean, nowMs: number): boolean {
    const slot = this.#table.find(key);
    if (slot < 0) return false;
    // A cookie speaker's query without its cookie is not its own: no TC=1 for it.
    if (!cookieValid && nowMs - this.#cookieAt[slot] < this.#cookieMs) return false;
    return nowMs - this.#tcpAt[slot] < this.#tcpMs;
  }

  /** Records that `key` was sent a TC=1 answer (ours, or one too large for its UDP size). */
  noteTruncated(key: number, nowMs: number): void {
    this.#tcAt[this.#claim(key, nowMs)] = nowMs;
  }

  /**
   * Records a query from `key` answered over TCP. It lifts the address to the `tcp` tier only
   * when the address was sent a TC=1 answer within TC_FOLLOW_MS: a resolver following our
   * truncation. A bot's own TCP connection flood (a full handshake from a real address, then a
   * valid name) does not buy its UDP flood the tier. Returns whether it did.
   */
  noteTcp(key: number, nowMs: number): boolean {
    const slot = this.#table.find(key);
    if (slot < 0 || !(nowMs - this.#tcAt[slot] < TC_FOLLOW_MS)) return false;
    this.#tcpAt[this.#claim(key, nowMs)] = nowMs;
    return true;
  }

  /**
   * Whether anything vouches for `key`: a TC=1 answer sent to it within TC_GATE_MS, the `tcp`
   * tier's time since it followed one, a valid cookie within the cookie time, or a calm-time
   * history. Under overload a TCP connection from an address nothing vouches for is closed on
   * arrival (docs/SHIELD.md "TCP under floods"): a resolver comes to TCP after our TC=1.
   */
  vouched(key: number, nowMs: number): boolean {
    const slot = this.#table.find(key);
    if (slot < 0) return false;
    return (
      nowMs - this.#tcAt[slot] < TC_GATE_MS ||
      nowMs - this.#tcpAt[slot] < this.#tcpMs ||
      nowMs - this.#cookieAt[slot] < this.#cookieMs ||
      nowMs - this.#historyAt[slot] < HISTORY_MS
    );
  }

  /** Records a query from `key` with a valid server cookie. */
  noteCookie(key: number, nowMs: number): void {
    this.#cookieAt[this.#claim(key, nowMs)] = nowMs;
  }

  /** Evictions so far (a stranger took the slot of another). */
  get evictions(): number {
    return this.#table.evictions;
  }

  #claim(key: number, nowMs: number): number {
    this.#now = nowMs;
    const slot = this.#table.claim(key, this.#rank);
    if (this.#table.claimed) {
      this.#good[slot] = 0;
      this.#bad[slot] = 0;
      this.#tcpAt[slot] = NEVER;
      this.#cookieAt[slot] = NEVER;
      this.#credited[slot] = NEVER;
      this.#historyAt[slot] = NEVER;
      this.#tcAt[slot] = NEVER;
    }
    this.#seen[slot] = nowMs;
    return slot;
  }

  #slotTier(slot: number, nowMs: number): Tier {
    if (nowMs - this.#cookieAt[slot] < this.#cookieMs) return Tier.cookie;
    if (nowMs - this.#tcpAt[slot] < this.#tcpMs) return Tier.tcp;
    if (nowMs - this.#historyAt[slot] < HISTORY_MS) return Tier.history;
    return Tier.unknown;
  }
}
