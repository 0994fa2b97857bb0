/**
 * `GET /metrics`: the Prometheus text exposition of `switchboard start` (docs/METRICS.md), and
 * the hook that counts every HTTP request by method, route pattern and status class.
 *
 * It shows no tenant data (no label holds a zone name, an account or a raw URL). With access
 * `open` it needs no API key, as with most exporters (loopback or a firewalled scrape network);
 * with `key` it needs an administrator key (`switchboard start` chooses `key` when the HTTP
 * listener is not on loopback, unless `--metrics open|key` says otherwise).
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { HttpMetricsSink } from '../telemetry/index.js';
import { principalOf } from './auth.js';
import { ApiError } from './errors.js';

/** Where the metrics are served. */
export const METRICS_PATH = '/metrics';

/** Counts every request in `metrics` and serves `GET /metrics`. */
export function registerMetricsRoutes(
  app: FastifyInstance,
  metrics: HttpMetricsSink,
  opts: { access: 'open' | 'key' } = { access: 'open' },
): void {
  const open = opts.access === 'open';
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
      config: { public: open },
      schema: {
        tags: ['system'],
        summary: 'Prometheus metrics (text exposition format 0.0.4)',
        description: open
          ? 'Served without an API key on this listener.'
          : 'Needs an administrator key on this listener.',
        ...(open ? { security: [] } : {}),
        response: { 200: { description: 'The metrics', type: 'string' } },
      },
    },
    async (request, reply) => {
      if (!open && !principalOf(request).scope.admin)
        throw new ApiError(403, 'API_ERR_FORBIDDEN', '/metrics needs an administrator key');
      const { contentType, body } = await metrics.render();
      return reply.type(contentType).send(body);
    },
  );
}
