/**
 * Human-readable summaries of what a server loaded and where it listens, and the logging of
 * zone load reports (the same lines whether one process or many workers serve).
 * @module
 */
import { formatListenAddress, type ListenAddress } from '../../transport/listen-address.js';
import type { Logger } from '../shared/log.js';
import type { ZoneDirReport } from './zone-dir.js';

/** One served zone, as reported by a worker. */
export interface ZoneSummary {
  file: string;
  origin: string;
  serial: number;
}

/** At most this many zones are named in the start line; the rest are counted. */
const NAMED_ZONES = 10;
/** At most this many warnings are logged per zone file. */
const LOGGED_WARNINGS = 20;

/** `2 zones (example.com. serial 7, example.org. serial 1)` */
export function formatZoneSummary(zones: readonly ZoneSummary[]): string {
  const head = `${zones.length} zone${zones.length === 1 ? '' : 's'}`;
  if (zones.length === 0) return head;
  const named = zones.slice(0, NAMED_ZONES).map((z) => `${z.origin} serial ${z.serial}`);
  if (zones.length > NAMED_ZONES) named.push(`and ${zones.length - NAMED_ZONES} more`);
  return `${head} (${named.join(', ')})`;
}

/** The one line printed when the server is up. */
export function formatStartLine(
  zones: readonly ZoneSummary[],
  listen: readonly ListenAddress[],
  workers: number,
): string {
  const where = listen.map(formatListenAddress).join(', ');
  const who = workers === 0 ? 'in 1 process' : `with ${workers} worker${workers === 1 ? '' : 's'}`;
  return `switchboard: serving ${formatZoneSummary(zones)} on ${where} (udp+tcp) ${who}, pid ${process.pid}`;
}

/** Logs the errors, warnings and changes of a zone folder load (`phase` names it). */
export function logZoneReport(log: Logger, report: ZoneDirReport, phase: 'load' | 'reload'): void {
  if (report.dirError) {
    log.error(`${phase}: ${report.dirError}${phase === 'reload' ? '; zones unchanged' : ''}`);
    return;
  }
  for (const f of report.files) {
    // No slice per file: 100,000 files of a cold start mostly have no warning.
    const shown = Math.min(f.warnings.length, LOGGED_WARNINGS);
    for (let i = 0; i < shown; i++) log.warn(f.warnings[i]);
    if (f.warnings.length > LOGGED_WARNINGS)
      log.warn(`${f.file}: ${f.warnings.length - LOGGED_WARNINGS} more warnings not shown`);
    for (const e of f.errors) log.error(e);
    if (f.status === 'kept')
      log.error(`${f.file}: not reloaded; still serving ${f.origin} serial ${f.serial}`);
    else if (f.status === 'failed') log.error(`${f.file}: zone not loaded; it is not served`);
  }
  for (const r of report.removed) log.info(`${r}: file removed; its zone is no longer served`);
}

/** `reload: 3 zones loaded, 1 kept (errors), 0 removed` */
export function formatReloadLine(report: ZoneDirReport, zones: readonly ZoneSummary[]): string {
  if (report.dirError) return `reload failed: ${report.dirError}`;
  const kept = report.files.filter((f) => f.status === 'kept').length;
  const failed = report.files.filter((f) => f.status === 'failed').length;
  return (
    `reload: serving ${formatZoneSummary(zones)}; ${kept} kept their previous version, ` +
    `${failed} failed, ${report.removed.length} removed`
  );
}
