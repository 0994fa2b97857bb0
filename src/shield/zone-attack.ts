/**
 * Random-subdomain ("water torture") detection per zone: the 2016 attack asked for a new
 * random label under one customer's zone in every query, through the same big resolvers that
 * carry everyone's real traffic. What gives it away is not the source but the zone: a sudden
 * rate of queries for names the zone does not have (the pre-parse knows, from the zone image,
 * whether a QNAME exists) far above that zone's own calm rate, and most of its queries.
 *
 * A zone enters the `attacked` state when, over the last seconds (rates smoothed per second),
 * its queries for missing names are all of: at least `minNxPerSecond`, at least `factor` ×
 * its calm baseline, and at least `minNxShare` of its queries. It leaves after `holdSeconds`
 * seconds in a row below those. Within a second it is also checked every EARLY_EVERY missing
 * names against the rates this second's roll would give if it ended now (a flood is called
 * within a few hundred of its queries). While attacked, queries for its missing names are answered
 * within a budget (`admitMissing`: max(`budgetFloor`, 2 × baseline) a second) and the rest
 * are shed; its existing names are not touched, nor are other zones.
 *
 * Bounded: a fixed table of `tableSize` zones (attacked zones are the last given up), rates in
 * typed arrays; one call per query does a table probe and a few arithmetic operations.
 */
import { BoundedTable } from './bounded-table.js';

export interface ZoneAttackConfig {
  /** Missing-name queries a second below which a zone is never called attacked. Default 200. */
  minNxPerSecond?: number;
  /** How many times its calm baseline. Default 10. */
  factor?: number;
  /** Share of the zone's queries that must be for missing names. Default 0.5. */
  minNxShare?: number;
  /** Seconds in a row below the thresholds before a zone leaves the state. Default 10. */
  holdSeconds?: number;
  /** Missing-name answers a second an attacked zone still gets, at least. Default 50. */
  budgetFloor?: number;
  /** Zones tracked at once. Default 16,384. */
  tableSize?: number;
  /**
   * Per-zone floors (`--shield-zone`), by zone key: a zone's own `minNxPerSecond` and
   * `budgetFloor`, taken by its slot when it is first tracked. Others use the ones above.
   */
  zones?: ReadonlyMap<number, ZoneFloors>;
}

/** A zone's own detector floor and budget floor (either may be absent: the server's). */
export interface ZoneFloors {
  minNxPerSecond?: number;
  budgetFloor?: number;
}

/** What a state change reports. */
export interface ZoneAttackEvent {
  /** The zone's key, as given to `observe`. */
  zone: number;
  attacked: boolean;
  /** Smoothed missing-name queries a second, and all queries a second, when it changed. */
  missingPerSecond: number;
  queriesPerSecond: number;
  /** The zone's calm missing-name rate (what "normal" was). */
  baselinePerSecond: number;
  /** When it changed (the caller's clock, ms). */
  at: number;
}

/** Smoothing of the per-second rates: about 2 s to follow a change. */
const ALPHA = 0.5;
/** Smoothing of the calm baseline: about 5 minutes. */
const BASELINE_ALPHA = 1 / 300;
/** Seconds of silence after which a zone's rates are taken as zero without counting on. */
const MAX_FOLD = 30;
/** The mid-second call (`#early`) every this many missing names of a zone not attacked (2^n). */
const EARLY_EVERY = 8;

export class ZoneAttackDetector {
  readonly #minNx: number;
  readonly #factor: number;
  readonly #share: number;
  readonly #hold: number;
  readonly #floor: number;
  readonly #table: BoundedTable;
  readonly #key: Uint32Array;
  readonly #second: Float64Array;
  readonly #queries: Uint32Array;
  readonly #missing: Uint32Array;
  readonly #qRate: Float64Array;
  readonly #nxRate: Float64Array;
  readonly #baseline: Float64Array;
  readonly #attacked: Uint8Array;
  readonly #calm: Uint16Array;
  readonly #tokens: Float64Array;
  readonly #tokenStamp: Float64Array;
  /** Per slot: the detector's floor and the budget floor (the zone's own, else the server's). */
  readonly #minNxOf: Float64Array;
  readonly #floorOf: Float64Array;
  #zones: ReadonlyMap<number, ZoneFloors> | undefined;
  /** Slots of the zones attacked now (few). */
  readonly #under = new Set<number>();
  readonly #rank = (slot: number): number => (this.#attacked[slot] ? 1e15 : this.#second[slot]);
  #listener: ((e: ZoneAttackEvent) => void) | undefined;

  constructor(config: ZoneAttackConfig = {}) {
    const num = (name: string, v: number, lo: number, hi: number) => {
      if (!Number.isFinite(v) || v < lo || v > hi) throw new RangeError(`${name} must be ${lo}..${hi}`);
      return v;
    };
    this.#minNx = num('minNxPerSecond', config.minNxPerSecond ?? 200, 1, 1e7);
    this.#factor = num('factor', config.factor ?? 10, 1, 1e4);
    this.#share = num('minNxShare', config.minNxShare ?? 0.5, 0, 1);
    this.#hold = num('holdSeconds', config.holdSeconds ?? 10, 1, 3600);
    this.#floor = num('budgetFloor', config.budgetFloor ?? 50, 0, 1e7);
    this.#table = new BoundedTable(num('tableSize', config.tableSize ?? 16384, 16, 1 << 22), 8);
    const n = this.#table.size;
    this.#key = new Uint32Array(n);
    this.#second = new Float64Array(n);
    this.#queries = new Uint32Array(n);
    this.#missing = new Uint32Array(n);
    this.#qRate = new Float64Array(n);
    this.#nxRate = new Float64Array(n);
    this.#baseline = new Float64Array(n);
    this.#attacked = new Uint8Array(n);
    this.#calm = new Uint16Array(n);
    this.#tokens = new Float64Array(n);
    this.#tokenStamp = new Float64Array(n);
    this.#minNxOf = new Float64Array(n);
    this.#floorOf = new Float64Array(n);
    if (config.zones !== undefined) {
      for (const [zone, f] of config.zones) {
        if (f.minNxPerSecond !== undefined) num(`zone ${zone} minNxPerSecond`, f.minNxPerSecond, 1, 1e7);
        if (f.budgetFloor !== undefined) num(`zone ${zone} budgetFloor`, f.budgetFloor, 0, 1e7);
      }
      this.#zones = config.zones;
    }
  }

  /**
   * New per-zone floors (settings pushed to a running worker), the table kept: zones tracked
   * now take theirs at once. The C shield's sb_shield_set_zone_settings does the same.
   * @throws RangeError for a floor out of range (nothing changed)
   */
  setZones(zones: ReadonlyMap<number, ZoneFloors>): void {
    for (const [zone, f] of zones) {
      if (f.minNxPerSecond !== undefined && !(f.minNxPerSecond >= 1 && f.minNxPerSecond <= 1e7))
        throw new RangeError(`zone ${zone} minNxPerSecond must be 1..10000000`);
      if (f.budgetFloor !== undefined && !(f.budgetFloor >= 0 && f.budgetFloor <= 1e7))
        throw new RangeError(`zone ${zone} budgetFloor must be 0..10000000`);
    }
    this.#zones = zones;
    for (let slot = 0; slot < this.#key.length; slot++) {
      if (!this.#table.holds(slot)) continue;
      const own = zones.get(this.#key[slot]);
      this.#minNxOf[slot] = own?.minNxPerSecond ?? this.#minNx;
      this.#floorOf[slot] = own?.budgetFloor ?? this.#floor;
    }
  }

  /** Called on every change of state (enter or leave). */
  onChange(listener: (e: ZoneAttackEvent) => void): void {
    this.#listener = listener;
  }

  /**
   * Counts one query for zone `zone` (a 32-bit key the caller derives from the zone, e.g. a
   * hash of its origin), for a name the zone has (`exists`) or not. Returns the zone's slot
   * (for `isAttacked`/`admitMissing`).
   */
  observe(zone: number, exists: boolean, nowMs: number): number {
    const slot = this.#table.claim(zone, this.#rank);
    const second = Math.floor(nowMs / 1000);
    if (this.#table.claimed) {
      if (this.#attacked[slot]) this.#under.delete(slot);
      this.#key[slot] = zone >>> 0;
      this.#second[slot] = second;
      this.#queries[slot] = 0;
      this.#missing[slot] = 0;
      this.#qRate[slot] = 0;
      this.#nxRate[slot] = 0;
      this.#baseline[slot] = 0;
      this.#attacked[slot] = 0;
      this.#calm[slot] = 0;
      const own = this.#zones?.get(zone >>> 0);
      this.#minNxOf[slot] = own?.minNxPerSecond ?? this.#minNx;
      this.#floorOf[slot] = own?.budgetFloor ?? this.#floor;
    } else if (second > this.#second[slot]) this.#roll(slot, second, nowMs);
    this.#queries[slot]++;
    if (!exists && (++this.#missing[slot] & (EARLY_EVERY - 1)) === 0 && this.#attacked[slot] === 0)
      this.#early(slot, nowMs);
    return slot;
  }

  /**
   * The mid-second call: the rates as this second's roll would leave them if the second ended
   * now. The missing names counted so far only grow until the roll, so a zone hot on these is
   * one the roll would call attacked anyway; called now, its shedding (and the prefilter's
   * blocks that follow it) start a few hundred queries into a flood, not up to a second later.
   * A calm second's learning (the baseline) is still the roll's.
   */
  #early(slot: number, nowMs: number): void {
    // Not in a zone's first second (no rate yet to judge its share against: the roll decides).
    if (this.#qRate[slot] === 0) return;
    const nx = this.#nxRate[slot] + ALPHA * (this.#missing[slot] - this.#nxRate[slot]);
    // The share is judged against at least the zone's last smoothed rate: the rest of the
    // second brings its existing names too (missing names first would otherwise look a flood).
    const q = Math.max(
      this.#qRate[slot],
      this.#qRate[slot] + ALPHA * (this.#queries[slot] - this.#qRate[slot]),
    );
    const base = this.#baseline[slot];
    if (nx >= this.#minNxOf[slot] && nx >= this.#factor * base && nx >= this.#share * q)
      this.#enter(slot, base, nowMs);
  }

  #enter(slot: number, base: number, nowMs: number): void {
    this.#attacked[slot] = 1;
    this.#calm[slot] = 0;
    this.#tokens[slot] = Math.max(this.#floorOf[slot], 2 * base);
    this.#tokenStamp[slot] = nowMs;
    this.#under.add(slot);
    this.#emit(slot, true, nowMs);
  }

  /** Whether the zone in `slot` is attacked now. */
  isAttacked(slot: number): boolean {
    return this.#attacked[slot] === 1;
  }

  /**
   * For a query of a missing name in an attacked zone: whether it is within the zone's
   * budget (answer it) or not (shed it). Always true for a zone not attacked.
   */
  admitMissing(slot: number, nowMs: number): boolean {
    if (this.#attacked[slot] !== 1) return true;
    const rate = Math.max(this.#floorOf[slot], 2 * this.#baseline[slot]);
    const elapsed = nowMs - this.#tokenStamp[slot];
    if (elapsed > 0) {
      this.#tokens[slot] = Math.min(rate, this.#tokens[slot] + (rate * elapsed) / 1000);
      this.#tokenStamp[slot] = nowMs;
    }
    if (this.#tokens[slot] < 1) return false;
    this.#tokens[slot] -= 1;
    return true;
  }

  /**
   * Brings every attacked zone's rates up to `nowMs`, so that a zone whose flood stopped
   * leaves the state even when no query of it comes (call it every second or so).
   */
  sweep(nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    for (const slot of [...this.#under]) if (second > this.#second[slot]) this.#roll(slot, second, nowMs);
  }

  /** Keys of the zones attacked now. */
  attackedZones(): number[] {
    return [...this.#under].map((s) => this.#key[s]);
  }

  /**
   * The `max` busiest zones tracked at `nowMs`: smoothed queries a second as a roll at `nowMs`
   * would leave them (the last counted second folded in, then silence), busiest first; zones
   * under half a query a second are left out. Walks the table: for metrics, once a second.
   */
  top(nowMs: number, max = 10): { zone: number; queriesPerSecond: number; missingPerSecond: number }[] {
    const out: { zone: number; queriesPerSecond: number; missingPerSecond: number }[] = [];
    const second = Math.floor(nowMs / 1000);
    for (let s = 0; s < this.#table.size; s++) {
      if (!this.#table.holds(s)) continue;
      // As #roll would fold them: the last second counted, then a silent second per second since.
      const gap = second - this.#second[s];
      let q = this.#qRate[s];
      let nx = this.#nxRate[s];
      if (gap >= 1) {
        const decay = (1 - ALPHA) ** (Math.min(gap, MAX_FOLD) - 1);
        q = (q + ALPHA * (this.#queries[s] - q)) * decay;
        nx = (nx + ALPHA * (this.#missing[s] - nx)) * decay;
      }
      if (q < 0.5) continue;
      const row = { zone: this.#key[s], queriesPerSecond: q, missingPerSecond: nx };
      if (out.length === max) {
        if (q <= out[max - 1].queriesPerSecond) continue;
        out.pop();
      }
      let at = out.length;
      while (at > 0 && out[at - 1].queriesPerSecond < q) at--;
      out.splice(at, 0, row);
    }
    return out;
  }

  /**
   * The rates of zone `zone` at `nowMs` as `top` computes them, when it is tracked now
   * (for the zones opted into the metrics); undefined otherwise.
   */
  ratesOf(zone: number, nowMs: number): { queriesPerSecond: number; missingPerSecond: number } | undefined {
    const s = this.#table.find(zone >>> 0);
    if (s < 0 || this.#key[s] !== zone >>> 0) return undefined;
    const gap = Math.floor(nowMs / 1000) - this.#second[s];
    let q = this.#qRate[s];
    let nx = this.#nxRate[s];
    if (gap >= 1) {
      const decay = (1 - ALPHA) ** (Math.min(gap, MAX_FOLD) - 1);
      q = (q + ALPHA * (this.#queries[s] - q)) * decay;
      nx = (nx + ALPHA * (this.#missing[s] - nx)) * decay;
    }
    return { queriesPerSecond: q, missingPerSecond: nx };
  }

  /** Smoothed rates of the zone in `slot` (for metrics and events). */
  rates(slot: number): { missingPerSecond: number; queriesPerSecond: number; baselinePerSecond: number } {
    return {
      missingPerSecond: this.#nxRate[slot],
      queriesPerSecond: this.#qRate[slot],
      baselinePerSecond: this.#baseline[slot],
    };
  }

  /** Folds the finished seconds of `slot` into its rates and decides its state per second. */
  #roll(slot: number, second: number, nowMs: number): void {
    const gap = Math.min(second - this.#second[slot], MAX_FOLD);
    let q = this.#queries[slot];
    let nx = this.#missing[slot];
    for (let i = 0; i < gap; i++) {
      this.#qRate[slot] += ALPHA * (q - this.#qRate[slot]);
      this.#nxRate[slot] += ALPHA * (nx - this.#nxRate[slot]);
      this.#decide(slot, nowMs);
      q = 0;
      nx = 0;
    }
    this.#second[slot] = second;
    this.#queries[slot] = 0;
    this.#missing[slot] = 0;
  }

  #decide(slot: number, nowMs: number): void {
    const nx = this.#nxRate[slot];
    const q = this.#qRate[slot];
    const base = this.#baseline[slot];
    const hot = nx >= this.#minNxOf[slot] && nx >= this.#factor * base && nx >= this.#share * q;
    if (this.#attacked[slot] === 0) {
      if (hot) {
        this.#enter(slot, base, nowMs);
      } else {
        // Only calm seconds teach the zone what normal is.
        this.#baseline[slot] += BASELINE_ALPHA * (nx - base);
      }
    } else if (hot) {
      this.#calm[slot] = 0;
    } else if (++this.#calm[slot] >= this.#hold) {
      this.#attacked[slot] = 0;
      this.#under.delete(slot);
      this.#emit(slot, false, nowMs);
    }
  }

  #emit(slot: number, attacked: boolean, at: number): void {
    this.#listener?.({
      zone: this.#key[slot],
      attacked,
      missingPerSecond: this.#nxRate[slot],
      queriesPerSecond: this.#qRate[slot],
      baselinePerSecond: this.#baseline[slot],
      at,
    });
  }
}
