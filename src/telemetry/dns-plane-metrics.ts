/**
 * `switchboard serve --metrics ADDR:PORT`: the DNS plane's Prometheus metrics (the same
 * families as `start`'s /metrics, dns-metrics.ts) on an HTTP listener of their own, with the
 * serving process's own process metrics. `start` keeps them on its API listener
 * (primary-metrics.ts).
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Counter, collectDefaultMetrics, Registry } from 'prom-client';
import { DnsAggregator } from './aggregate.js';
import { registerDnsMetrics } from './dns-metrics.js';
import type { MetricsAddress } from './metrics-address.js';
import { METRICS_CONTENT_TYPE } from './primary-metrics.js';

/** The path the metrics listener serves. */
export const METRICS_PATH = '/metrics';

/** The DNS plane's metrics in a registry of their own. */
export class DnsPlaneMetrics {
  /** The registry scraped at /metrics. */
  readonly registry = new Registry();
  /** The DNS workers' reports. */
  readonly dns = new DnsAggregator();
  /** Called before each render (a single process feeds its own report here). */
  beforeScrape: () => void = () => {};
  readonly #restarts: Counter;

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    registerDnsMetrics(this.registry, this.dns);
    this.#restarts = new Counter({
      name: 'switchboard_dns_worker_restarts_total',
      help: 'DNS worker processes that exited and were restarted.',
      registers: [this.registry],
    });
  }

  /** Counts a DNS worker restart. */
  countWorkerRestart(): void {
    this.#restarts.inc();
  }

  /** The exposition text of every metric. */
  async render(): Promise<{ contentType: string; body: string }> {
    this.beforeScrape();
    return { contentType: METRICS_CONTENT_TYPE, body: await this.registry.metrics() };
  }
}

/** A bound metrics listener. */
export interface MetricsListener {
  /** The address and port bound (the port is the one given, or the kernel's when 0 in tests). */
  readonly address: MetricsAddress;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` (and HEAD) on `address`: 404 for any other path, 405 for any other
 * method. Rejects when the address cannot be bound (in use, not local).
 */
export async function startMetricsListener(
  address: MetricsAddress,
  render: () => Promise<{ contentType: string; body: string }>,
): Promise<MetricsListener> {
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== METRICS_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: try /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end();
      return;
    }
    render().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        res
          .writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
          .end(`${(err as Error).message}\n`);
      },
    );
  });
  // A scraper that stops mid-request must not hold a socket for ever.
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound !== null ? bound.port : address.port;
  return {
    address: { host: address.host, port },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
