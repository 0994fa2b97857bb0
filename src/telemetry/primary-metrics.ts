/**
 * The Prometheus metrics of `switchboard start`, held in the primary (prom-client): the DNS
 * workers' counters summed by a DnsAggregator and read at scrape time, the control plane's
 * HTTP requests, committed zone changes, zone count and publish latency, and prom-client's
 * default process metrics. docs/METRICS.md lists every metric.
 *
 * No label carries a zone name, an account or a raw URL: tenants' names must not leak through
 * a scrape, and label values stay few (HTTP routes are the route patterns).
 * @module
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { DnsAggregator } from './aggregate.js';
import { registerDnsMetrics } from './dns-metrics.js';
import { ZONE_CHANGE_KINDS, type ZoneChangeKind } from './zone-changes.js';

/** The Prometheus text exposition format (version 0.0.4). */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** HTTP methods kept as label values; anything else is `other` (bounded label values). */
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The route label of a request that matched no route (never the raw URL). */
export const UNMATCHED_ROUTE = 'unmatched';

/** HTTP request durations: 1 ms to 10 s. */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Change event → sent to the workers: the feed's 5 ms window plus the store read. */
const PUBLISH_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What the HTTP API reports and serves (src/api/metrics.ts). */
export interface HttpMetricsSink {
  /** Counts one finished request: `route` is the route pattern, or undefined when none matched. */
  observeHttpRequest(method: string, route: string | undefined, statusCode: number, seconds: number): void;
  /** The exposition text, rendered now. */
  render(): Promise<{ contentType: string; body: string }>;
}

/** Options of PrimaryMetrics. */
export interface PrimaryMetricsOptions {
  /** Export prom-client's default process and Node.js metrics (default true). */
  processMetrics?: boolean;
}

/** `200` → `2xx`. */
export function statusClassOf(statusCode: number): string {
  const c = Math.floor(statusCode / 100);
  return c >= 1 && c <= 5 ? `${c}xx` : 'other';
}

/** Every metric of the primary, in its own registry (several platforms can run in one process). */
export class PrimaryMetrics implements HttpMetricsSink {
  /** The registry scraped at /metrics. */
  readonly registry = new Registry();
  /** The DNS workers' reports. */
  readonly dns = new DnsAggregator();
  /** Zones held for the workers now (set once the zone feed exists). */
  zoneCount: () => number = () => 0;
  /**
   * The edges that follow this platform (docs/EDGE.md; set by `start`): one series per edge
   * (POP), never per zone per edge.
   */
  edges: () => { pop: string; lastSeen: string; zones: number; behind: number; maxLagSeconds: number }[] =
    () => [];
  /** NOTIFY out's counters (src/xfr/notify.ts; set once the sender exists). */
  notifyStats: () => { sent: number; acked: number; failed: number; dropped: number } = () => ({
    sent: 0,
    acked: 0,
    failed: 0,
    dropped: 0,
  });

  readonly #http: Counter<'method' | 'route' | 'status_class'>;
  readonly #httpDuration: Histogram<'method' | 'route'>;
  readonly #zoneChanges: Counter<'kind'>;
  readonly #publish: Histogram;
  readonly #workerRestarts: Counter;

  constructor(opts: PrimaryMetricsOptions = {}) {
    const registers = [this.registry];
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    registerDnsMetrics(this.registry, this.dns);

    this.#http = new Counter({
      name: 'switchboard_http_requests_total',
      help: 'HTTP API requests answered, by method, route pattern and status class.',
      labelNames: ['method', 'route', 'status_class'],
      registers,
    });
    this.#httpDuration = new Histogram({
      name: 'switchboard_http_request_duration_seconds',
      help: 'Time from receiving an HTTP API request to sending its response.',
      labelNames: ['method', 'route'],
      buckets: HTTP_BUCKETS,
      registers,
    });
    this.#zoneChanges = new Counter({
      name: 'switchboard_zone_changes_total',
      help: 'Zone changes committed through this process, by kind.',
      labelNames: ['kind'],
      registers,
    });
    for (const kind of ZONE_CHANGE_KINDS) this.#zoneChanges.inc({ kind }, 0);
    const zones = this;
    new Gauge({
      name: 'switchboard_zones',
      help: 'Zones held for the DNS workers (every zone in the store).',
      registers,
      collect() {
        this.set(zones.zoneCount());
      },
    });
    this.#publish = new Histogram({
      name: 'switchboard_zone_publish_seconds',
      help: 'Time from a zone change event to the zone being sent to the DNS workers.',
      buckets: PUBLISH_BUCKETS,
      registers,
    });
    new Counter({
      name: 'switchboard_notify_total',
      help: "NOTIFY messages (RFC 1996) sent (retries included), and NOTIFYs that ended acked (NOERROR), failed (no answer after the retries, an error RCODE, a target the outbound policy refuses) or dropped (over an account's rate limit queue).",
      labelNames: ['outcome'],
      registers,
      collect() {
        const n = zones.notifyStats();
        this.reset();
        for (const outcome of ['sent', 'acked', 'failed', 'dropped'] as const)
          this.inc({ outcome }, n[outcome]);
      },
    });
    const edgeGauge = (
      name: string,
      help: string,
      value: (e: ReturnType<PrimaryMetrics['edges']>[number]) => number,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: ['pop'],
        registers,
        collect() {
          this.reset();
          for (const e of zones.edges()) this.set({ pop: e.pop }, value(e));
        },
      });
    edgeGauge(
      'switchboard_edge_zones',
      'Zones an edge (switchboard edge, by POP) checked or transferred.',
      (e) => e.zones,
    );
    edgeGauge(
      'switchboard_edge_zones_behind',
      'Zones whose serial at the edge is not the one served now.',
      (e) => e.behind,
    );
    edgeGauge(
      'switchboard_edge_lag_seconds',
      'Age of the oldest change the edge has not taken (0: none).',
      (e) => e.maxLagSeconds,
    );
    edgeGauge('switchboard_edge_last_seen_seconds', "Seconds since the edge's last check or transfer.", (e) =>
      Math.max(0, Math.round((Date.now() - Date.parse(e.lastSeen)) / 1000)),
    );
    this.#workerRestarts = new Counter({
      name: 'switchboard_dns_worker_restarts_total',
      help: 'DNS worker processes that exited and were restarted.',
      registers,
    });
  }

  /** Counts one finished HTTP request. */
  observeHttpRequest(method: string, route: string | undefined, statusCode: number, seconds: number): void {
    const m = HTTP_METHODS.has(method) ? method : 'other';
    const r = route ?? UNMATCHED_ROUTE;
    this.#http.inc({ method: m, route: r, status_class: statusClassOf(statusCode) });
    this.#httpDuration.observe({ method: m, route: r }, Math.max(0, seconds));
  }

  /** Counts one committed zone change. */
  countZoneChange(kind: ZoneChangeKind): void {
    this.#zoneChanges.inc({ kind });
  }

  /** Records how long a changed zone took from its change event to the workers. */
  observeZonePublish(seconds: number): void {
    this.#publish.observe(Math.max(0, seconds));
  }

  /** Counts a DNS worker restart. */
  countWorkerRestart(): void {
    this.#workerRestarts.inc();
  }

  /** The exposition text of every metric. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: METRICS_CONTENT_TYPE, body: await this.registry.metrics() };
  }
}
