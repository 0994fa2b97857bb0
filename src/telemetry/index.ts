/**
 * Metrics of `switchboard start` (docs/METRICS.md): DNS counters counted in each worker
 * (dns-counters.ts), summed in the primary (aggregate.ts) and exposed with the control plane's
 * metrics through prom-client (primary-metrics.ts). Workers import dns-counters.ts directly so
 * they never load prom-client.
 * @module
 */
export { DnsAggregator } from './aggregate.js';
export {
  type CacheCounters,
  type CountedContext,
  type CountedHandler,
  DnsCounters,
  type ReportSources,
  type TcpCounters,
} from './dns-counters.js';
export {
  C,
  COUNTER_COUNT,
  type DnsReport,
  G,
  GAUGE_COUNT,
  isDnsReport,
  Q,
  RCODE_LABELS,
  TRANSPORTS,
  type TransportName,
} from './dns-layout.js';
export {
  type HttpMetricsSink,
  METRICS_CONTENT_TYPE,
  PrimaryMetrics,
  type PrimaryMetricsOptions,
  statusClassOf,
  UNMATCHED_ROUTE,
} from './primary-metrics.js';
export {
  countZoneChanges,
  ZONE_CHANGE_KINDS,
  ZONE_CHANGE_METHODS,
  type ZoneChangeKind,
} from './zone-changes.js';
