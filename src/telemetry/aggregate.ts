/**
 * The primary's sum of its DNS workers' reports. Each worker sends its cumulative counters
 * about once a second; the primary keeps the latest report of every live worker and, per
 * slot, a base holding what the slot's earlier (dead) workers had counted. A total is the
 * sum of bases and live reports, so it never goes backwards when a worker restarts from zero
 * (Prometheus would read a drop as a counter reset and over-count the rate).
 *
 * Counts a worker made after its last report and before it died are lost (at most one
 * report interval); gauges of a dead worker are dropped at once.
 * @module
 */
import { COUNTER_COUNT, type DnsReport, GAUGE_COUNT, isDnsReport } from './dns-layout.js';

interface Live {
  /** Identifies one worker process's life; a new one in the same slot starts from zero. */
  incarnation: string;
  counters: number[];
  gauges: number[];
  attacked: string[];
  topZones: [string, number, number][];
  watchedZones: [string, number, number][];
}

/** How many retired incarnations are remembered (to ignore their late reports). */
const RETIRED_MEMORY = 4096;

/** Sums DNS worker reports into totals that only grow. */
export class DnsAggregator {
  readonly #live = new Map<number, Live>();
  readonly #base = new Map<number, number[]>();
  readonly #retired = new Set<string>();

  /**
   * Takes the latest report of the worker in `slot`. A report from a new incarnation retires
   * the previous one (as if it had exited); reports from retired incarnations (late IPC
   * messages of a dead worker) and malformed reports are ignored. Returns whether it was taken.
   */
  update(slot: number, incarnation: string, report: DnsReport): boolean {
    if (this.#retired.has(incarnation) || !isDnsReport(report)) return false;
    const current = this.#live.get(slot);
    if (current !== undefined && current.incarnation !== incarnation) this.workerExited(slot);
    this.#live.set(slot, {
      incarnation,
      counters: report.counters.slice(),
      gauges: report.gauges.slice(),
      attacked: report.attacked?.slice() ?? [],
      topZones: report.topZones?.map(([z, q, nx]) => [z, q, nx]) ?? [],
      watchedZones: report.watchedZones?.map(([z, q, nx]) => [z, q, nx]) ?? [],
    });
    return true;
  }

  /** The worker of `slot` is gone: its counters move into the slot's base, its gauges go. */
  workerExited(slot: number): void {
    const current = this.#live.get(slot);
    if (current === undefined) return;
    this.#live.delete(slot);
    const base = this.#base.get(slot) ?? new Array<number>(COUNTER_COUNT).fill(0);
    for (let i = 0; i < COUNTER_COUNT; i++) base[i] += current.counters[i];
    this.#base.set(slot, base);
    this.#retired.add(current.incarnation);
    if (this.#retired.size > RETIRED_MEMORY) {
      // Sets iterate in insertion order: forget the oldest.
      const oldest = this.#retired.values().next().value;
      if (oldest !== undefined) this.#retired.delete(oldest);
    }
  }

  /** Slots that have reported at least once (live now or not), ascending. */
  slots(): number[] {
    return [...new Set([...this.#live.keys(), ...this.#base.keys()])].sort((a, b) => a - b);
  }

  /** Number of workers whose latest report is live. */
  get liveWorkers(): number {
    return this.#live.size;
  }

  /** Counters of one slot over all its workers' lives. */
  slotCounters(slot: number): number[] {
    const out = (this.#base.get(slot) ?? new Array<number>(COUNTER_COUNT).fill(0)).slice();
    const live = this.#live.get(slot);
    if (live) for (let i = 0; i < COUNTER_COUNT; i++) out[i] += live.counters[i];
    return out;
  }

  /** Gauges of the live worker of `slot`, or undefined when none is live. */
  slotGauges(slot: number): number[] | undefined {
    return this.#live.get(slot)?.gauges.slice();
  }

  /** Counters summed over every slot and every worker life. */
  counters(): number[] {
    const out = new Array<number>(COUNTER_COUNT).fill(0);
    for (const base of this.#base.values()) for (let i = 0; i < COUNTER_COUNT; i++) out[i] += base[i];
    for (const live of this.#live.values())
      for (let i = 0; i < COUNTER_COUNT; i++) out[i] += live.counters[i];
    return out;
  }

  /** Zones some live worker's shield holds under attack now, sorted. */
  attackedZones(): string[] {
    const all = new Set<string>();
    for (const live of this.#live.values()) for (const z of live.attacked) all.add(z);
    return [...all].sort();
  }

  /**
   * The busiest zones of the live workers and the zones opted into the metrics, rates summed
   * per zone over the workers that report it: name → [queries/s, missing/s].
   */
  topZones(): Map<string, [number, number]> {
    const out = new Map<string, [number, number]>();
    for (const live of this.#live.values())
      for (const [z, q, nx] of uniqueRows(live.topZones, live.watchedZones)) {
        const r = out.get(z) ?? [0, 0];
        r[0] += q;
        r[1] += nx;
        out.set(z, r);
      }
    return out;
  }

  /** Gauges summed over the live workers. */
  gauges(): number[] {
    const out = new Array<number>(GAUGE_COUNT).fill(0);
    for (const live of this.#live.values()) for (let i = 0; i < GAUGE_COUNT; i++) out[i] += live.gauges[i];
    return out;
  }
}

/** The rows of `top` and of `watched` not in `top` (a watched zone may also be among the busiest). */
function uniqueRows(
  top: readonly [string, number, number][],
  watched: readonly [string, number, number][],
): [string, number, number][] {
  if (watched.length === 0) return top as [string, number, number][];
  const names = new Set(top.map((r) => r[0]));
  return [...top, ...watched.filter((r) => !names.has(r[0]))];
}
