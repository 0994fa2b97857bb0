/**
 * The target's own account of what it dropped, when it exports Prometheus metrics (Switchboard:
 * `/metrics` of `start`, `--metrics` of `serve`): the drill reads the page at each phase
 * boundary and reports how the counters of drops, sheds, slips and rate limiting moved. Only a
 * loopback URL is read; a page that cannot be read gives no figures, never an error.
 * @module
 */
import { DrillConfigError, isLoopbackAddress } from './target.js';

/** Counter samples kept: "name{labels}" -> value. */
export type MetricSample = Record<string, number>;

/** Which counters the drill keeps (the ones that say where datagrams went). */
const KEEP =
  /^switchboard_dns_(shield_decisions|shield_shed|shield_dry_run|rrl_responses|queries_dropped|responses_truncated|queries|tcp_connections_accepted|tcp_connections_rejected|tcp_connections_closed)_total$/;

/** Checks a metrics URL: http on a loopback address. */
export function parseMetricsUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new DrillConfigError(`--target-metrics: not a URL: '${text}'`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (url.protocol !== 'http:' || !isLoopbackAddress(host))
    throw new DrillConfigError(
      `--target-metrics: an http:// URL on 127.0.0.0/8 or [::1] only, got '${text}'`,
    );
  return url;
}

/** The kept counters of a Prometheus text page. */
export function parseMetrics(text: string): MetricSample {
  const out: MetricSample = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.length === 0) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || !KEEP.test(m[1])) continue;
    const v = Number(m[3]);
    if (Number.isFinite(v)) out[`${m[1]}${m[2] ?? ''}`] = v;
  }
  return out;
}

/** Reads the page (at most 2 s); undefined when it cannot. */
export async function scrapeMetrics(url: URL | undefined): Promise<MetricSample | undefined> {
  if (!url) return undefined;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return undefined;
    return parseMetrics(await res.text());
  } catch {
    return undefined;
  }
}

/** How each counter moved between two samples (only those that moved). */
export function metricDeltas(
  a: MetricSample | undefined,
  b: MetricSample | undefined,
): MetricSample | undefined {
  if (!a || !b) return undefined;
  const out: MetricSample = {};
  for (const [k, v] of Object.entries(b)) {
    const d = v - (a[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}
