/**
 * `GET /metrics`: the Prometheus text exposition of `switchboard start` (docs/METRICS.md), and
 * the hook that counts every HTTP request by method, route pattern and status class.
 *
 * The route needs no API key, as with most exporters: it shows no tenant data (no label holds
 * a zone name, an account or a raw URL). It is meant for loopback or a firewalled scrape
 * network, like the rest of the API listener.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { HttpMetricsSink } from '../telemetry/index.js';

/** Where the metrics are served. */
export const METRICS_PATH = '/metrics';

/** Counts every request in `metrics` and serves `GET /metrics`. */
export function registerMetricsRoutes(app: FastifyInstance, metrics: HttpMetricsSink): void {
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern (`/api/v1/zones/:zone`), never the URL: zone names stay out of labels.
    metrics.observeHttpRequest(
      request.method,
      request.routeOptions.url,
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
  });
  app.get(
    METRICS_PATH,
    {
      config: { public: true },
      schema: {
        tags: ['system'],
        summary: 'Prometheus metrics (text exposition format 0.0.4)',
        security: [],
        response: { 200: { description: 'The metrics', type: 'string' } },
      },
    },
    async (_request, reply) => {
      const { contentType, body } = await metrics.render();
      return reply.type(contentType).send(body);
    },
  );
}
