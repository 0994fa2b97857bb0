/**
 * `switchboard serve --metrics ADDR:PORT` (docs/METRICS.md): the primary (or the single
 * process) holds a DnsPlaneMetrics fed by the workers' `switchboard:metrics` reports and serves
 * it on a listener of its own. prom-client is loaded only when the flag is given.
 * @module
 */
import type { DnsPlaneMetrics } from '../../telemetry/dns-plane-metrics.js';
import { formatMetricsAddress } from '../../telemetry/metrics-address.js';
import { describeError, type Logger } from '../shared/log.js';
import type { ServeConfig } from './config.js';

/** The metrics of a running `serve`, when `--metrics` is given. */
export interface ServeMetrics {
  readonly metrics: DnsPlaneMetrics;
  close(): Promise<void>;
}

/**
 * Binds the metrics listener when `config.metrics` is set; undefined otherwise.
 * @throws Error when the address cannot be bound (a bad address is refused earlier, in the config)
 */
export async function startServeMetrics(config: ServeConfig, log: Logger): Promise<ServeMetrics | undefined> {
  if (config.metrics === undefined) return undefined;
  const { DnsPlaneMetrics, startMetricsListener } = await import('../../telemetry/dns-plane-metrics.js');
  const metrics = new DnsPlaneMetrics();
  let listener: Awaited<ReturnType<typeof startMetricsListener>>;
  try {
    listener = await startMetricsListener(config.metrics, () => metrics.render());
  } catch (err) {
    throw new Error(
      `--metrics ${formatMetricsAddress(config.metrics)}: cannot listen: ${describeError(err)}`,
    );
  }
  log.info(`metrics: http://${formatMetricsAddress(listener.address)}/metrics (Prometheus)`);
  return { metrics, close: () => listener.close() };
}
