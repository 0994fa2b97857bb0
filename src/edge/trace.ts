/**
 * Per-hop trace lines of the change-to-answer path (docs/EDGE.md "Tracing a change"), written
 * only when `SWITCHBOARD_EDGE_TRACE=1` (bench/edge-fleet.ts `--trace` sets it): one line per hop
 * and zone, `trace HOP ZONE SERIAL EPOCH-MS [DETAIL]`, on the process's log. Off, a hop costs
 * one boolean test.
 * @module
 */

/** True when the trace lines are written (read once at start). */
export const EDGE_TRACE = process.env.SWITCHBOARD_EDGE_TRACE === '1';

/** Milliseconds since the epoch, to a tenth (comparable between the processes of one machine). */
export function traceNow(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 10) / 10;
}

/** The trace line of `hop` (callers test EDGE_TRACE first). */
export function traceLine(hop: string, zone: string, serial: number | string, detail = ''): string {
  return `trace ${hop} ${zone.toLowerCase()} ${serial} ${traceNow()}${detail ? ` ${detail}` : ''}`;
}

/** A parsed trace line. */
export interface TraceEvent {
  hop: string;
  zone: string;
  serial: string;
  at: number;
  detail: string;
}

/** The trace lines in `log` (a process's stderr), in order. */
export function parseTrace(log: string): TraceEvent[] {
  const out: TraceEvent[] = [];
  for (const m of log.matchAll(/trace (\S+) (\S+) (\S+) (\d+(?:\.\d+)?)(?: ([^\n]*))?$/gm))
    out.push({ hop: m[1], zone: m[2], serial: m[3], at: Number(m[4]), detail: m[5] ?? '' });
  return out;
}
