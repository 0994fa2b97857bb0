/**
 * Small statistics and table helpers shared by the benchmarks.
 * @module
 */

/** Median of `values` (NaN for an empty list). */
export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** CPU microseconds (user + system) of this process so far. */
export function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** CPU milliseconds (user + system) of this process so far: steadier than wall time on a shared machine. */
export function cpuMillis(): number {
  return cpuMicros() / 1000;
}

/** The q-quantile (0..1) of an already sorted list, nearest-rank. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

/**
 * A latency histogram with 1 µs buckets up to 2 s (dnsperf's timeout) and one overflow bucket:
 * constant memory however many samples a run produces.
 */
export class LatencyHistogram {
  /** The largest latency (s) the histogram resolves; larger ones land in the overflow bucket. */
  static readonly MAX_SECONDS = 2;
  readonly #buckets = new Uint32Array(LatencyHistogram.MAX_SECONDS * 1e6 + 1);
  #count = 0;

  /** Records one latency in seconds. */
  add(seconds: number): void {
    const us = Math.round(seconds * 1e6);
    this.#buckets[Math.min(Math.max(us, 0), this.#buckets.length - 1)]++;
    this.#count++;
  }

  get count(): number {
    return this.#count;
  }

  /** The q-quantile (0..1) in seconds; Infinity when it falls in the overflow bucket. */
  quantile(q: number): number {
    if (this.#count === 0) return Number.NaN;
    const target = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    const last = this.#buckets.length - 1;
    for (let i = 0; i < last; i++) {
      seen += this.#buckets[i];
      if (seen >= target) return i / 1e6;
    }
    return Number.POSITIVE_INFINITY;
  }
}

/** Formats a number with `digits` decimals; '–' for NaN, '∞' for Infinity. */
export function fmt(n: number, digits = 0): string {
  if (n === Number.POSITIVE_INFINITY) return '∞';
  if (!Number.isFinite(n)) return '–';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/**
 * A plain-text table: the first column and any column named in `textColumns` left-aligned,
 * the (numeric) others right-aligned.
 */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  textColumns: readonly string[] = ['note'],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const left = header.map((h, i) => i === 0 || textColumns.includes(h));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (left[i] ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The same table as GitHub-flavoured Markdown. */
export function formatMarkdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  const align = header.map((h, i) => (i === 0 || h === 'note' ? '---' : '---:'));
  return [line(header), line(align), ...rows.map(line)].join('\n');
}
