/**
 * Output of the CLI client: aligned tables for people, JSON for scripts.
 * @module
 */
import type { ZoneChangeResult } from '../control/types.js';

/** Formats rows under headers as left-aligned columns separated by two spaces. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join('\n')}\n`;
}

/** JSON for scripts: pretty-printed, one trailing newline. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** `2026-11-22T12:00:00.000Z` → `2026-11-22 12:00:00` (empty for null). */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]}` : iso;
}

/**
 * The answer of a dry run: what would go (`-`) and come (`+`), as master-file lines. The
 * version is the one the plan was made against: `--if-match` it to apply exactly this.
 */
export function formatDryRun(info: ZoneChangeResult): string {
  const head = `dry run, nothing applied: ${info.name} is at version ${info.version}, serial ${info.serial}`;
  if (!info.changed) return `${head}; the change would change nothing\n`;
  const lines = [
    ...(info.removedRecords ?? []).map((l) => `- ${l}`),
    ...(info.addedRecords ?? []).map((l) => `+ ${l}`),
  ];
  return `${head}; the change would remove ${info.removed} and add ${info.added} record lines (apply it with --if-match ${info.version}):\n${lines.join('\n')}\n`;
}

/** Warnings of a change, for stderr. */
export function printWarnings(info: ZoneChangeResult): void {
  for (const w of info.warnings ?? []) process.stderr.write(`switchboard: warning: ${w}\n`);
}
