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

/** The q-quantile (0..1) of an already sorted list, nearest-rank. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

/**
 * A latency histogram with 1 µs buckets up to 100 ms (and one overflow bucket): constant
 * memory however many samples a run produces.
 */
export class LatencyHistogram {
  readonly #buckets = new Uint32Array(100_001);
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

  /** The q-quantile (0..1) in seconds; the overflow bucket reads as 100 ms. */
  quantile(q: number): number {
    if (this.#count === 0) return Number.NaN;
    const target = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < this.#buckets.length; i++) {
      seen += this.#buckets[i];
      if (seen >= target) return i / 1e6;
    }
    return (this.#buckets.length - 1) / 1e6;
  }
}

/** Formats a number with `digits` decimals, or '–' when not finite. */
export function fmt(n: number, digits = 0): string {
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
