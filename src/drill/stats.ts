/**
 * Sums of legitimate queries: success (retries included), first-try success, p50/p99 latency
 * with failures counted at the give-up time.
 * @module
 */
import type { QueryRecord } from './resolvers.js';

/** The summary of a set of legitimate queries. */
export interface LegitStats {
  readonly queries: number;
  readonly answered: number;
  /** answered / queries (1 when there were none). */
  readonly success: number;
  /** Share answered on the first try. */
  readonly firstTry: number;
  /** Share that went over TCP at some point. */
  readonly tcp: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** p99 of the queries that never went over TCP, and of those that did (a TC=1, then TCP):
   * where the tail is. */
  readonly udpP99Ms?: number;
  readonly tcpP99Ms?: number;
}

/** Collects latencies and counts; `summary()` sorts once. */
export class StatsBuilder {
  private lat: number[] = [];
  private udpLat: number[] = [];
  private tcpLat: number[] = [];
  private ok = 0;
  private first = 0;
  private tcp = 0;
  add(r: QueryRecord): void {
    this.lat.push(r.latencyMs);
    (r.tcp ? this.tcpLat : this.udpLat).push(r.latencyMs);
    if (r.ok) this.ok++;
    if (r.ok && r.tries === 1) this.first++;
    if (r.tcp) this.tcp++;
  }
  summary(): LegitStats {
    const n = this.lat.length;
    const pct = (p: number) => percentile(this.lat, p);
    return {
      queries: n,
      answered: this.ok,
      success: n === 0 ? 1 : this.ok / n,
      firstTry: n === 0 ? 1 : this.first / n,
      tcp: n === 0 ? 0 : this.tcp / n,
      p50Ms: round(pct(0.5)),
      p99Ms: round(pct(0.99)),
      udpP99Ms: round(percentile(this.udpLat, 0.99)),
      tcpP99Ms: round(percentile(this.tcpLat, 0.99)),
    };
  }
}

/** The p-th quantile of `values` (0 when empty). */
function percentile(values: readonly number[], p: number): number {
  const n = values.length;
  if (n === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(n - 1, Math.ceil(p * n) - 1)];
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/** A percentage with `digits` decimals. */
export function percent(x: number, digits = 1): string {
  return `${(x * 100).toFixed(digits)}%`;
}
