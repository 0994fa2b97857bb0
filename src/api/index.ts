/**
 * The HTTP API of the control plane: the native REST API under `/api/v1/`, the
 * PowerDNS-compatible API under `/api` and `/api/v1/servers/localhost/…`, the OpenAPI document
 * at `/api/v1/openapi.json`, `/healthz` and, given `metrics`, Prometheus `/metrics`. `buildApi` returns the Fastify instance ready but
 * not listening (`switchboard start` calls `listen`; tests use `inject`). docs/API.md describes it.
 * @module
 */
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { ControlPlane } from '../control/types.js';
import type { HttpMetricsSink } from '../telemetry/index.js';
import { registerAuth } from './auth.js';
import type { Clock } from './buckets.js';
import { responseOfError } from './errors.js';
import { type ApiLimits, Limiter, RateLimitError, trustedProxyFunction } from './limits.js';
import { registerMetricsRoutes } from './metrics.js';
import { registerPdnsRoutes } from './pdns/routes.js';
import { DEFAULT_RAW_BODY_BYTES, RawJsonBody, SMALL_BODY_LIMIT } from './raw-body.js';
import { registerAccountRoutes } from './routes/accounts.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerDeletedZoneRoutes } from './routes/deleted-zones.js';
import { registerDnsUpdateRoutes } from './routes/dns-update.js';
import { type EdgeListing, registerEdgeRoutes } from './routes/edges.js';
import { registerSecondaryRoutes } from './routes/secondary.js';
import { registerTokenRoutes } from './routes/tokens.js';
import { registerTransferRoutes } from './routes/transfers.js';
import { registerZoneShieldRoutes } from './routes/zone-shield.js';
import { registerZoneRoutes, ZONEFILE_MEDIA_TYPE } from './routes/zones.js';
import { addSharedSchemas } from './schemas.js';
import { AJV_OPTIONS, validators } from './validation.js';

export { ApiError, type ApiErrorCode, type ErrorBody, statusOfControlCode } from './errors.js';
export { API_LIMIT_NAMES, type ApiLimits, DEFAULT_API_LIMITS, RateLimitError } from './limits.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The request limits of this API (tests look at the size of its maps). */
    limiter: Limiter;
  }
}

/** Options of `buildApi`. */
export interface ApiOptions {
  /** Log requests with Fastify's logger (pino, JSON on stdout). */
  logger?: boolean;
  /** The Switchboard version shown in the OpenAPI document and the PowerDNS server object. */
  version?: string;
  /** Count requests and serve `GET /metrics` (docs/METRICS.md); off when absent. */
  metrics?: HttpMetricsSink;
  /**
   * `/metrics` served to anyone (`open`) or only with an administrator key (`key`). Default
   * `open`; `switchboard start` passes `key` when its HTTP listener is not on loopback.
   */
  metricsAccess?: 'open' | 'key';
  /** Request limits (docs/API.md, "Limits"); the defaults where absent. */
  limits?: Partial<ApiLimits>;
  /** The limits' clock in ms (tests inject one; default `Date.now`). */
  clock?: Clock;
  /**
   * JSON bodies larger than this (bytes) on the bulk routes (POST zones, PATCH rrsets and their
   * PowerDNS twins) are parsed and validated in the zone-work thread, not on the request loop
   * (raw-body.ts). Default 256 KiB; tests lower it to send small bodies down that path.
   */
  rawBodyBytes?: number;
  /** `start`: the edges that follow it, for `GET /api/v1/edges` (docs/EDGE.md). */
  edges?: () => EdgeListing[];
}

/** Where the OpenAPI document is served. */
export const OPENAPI_PATH = '/api/v1/openapi.json';

const description = [
  'Switchboard control plane. Every route except `GET /api`, `GET /api/v1/openapi.json` and',
  '`GET /healthz` needs an API key, sent as `X-API-Key: <secret>` or `Authorization: Bearer <secret>`.',
  '',
  'Zone reads and writes carry `ETag: "<version>"`; send it back in `If-Match` to change the zone only',
  'if nobody else changed it meanwhile (else 412). Lists are paged: `?limit=&cursor=` → `{items, next}`.',
  'Errors are `{"error", "code", "field"}`. A request over a limit (rates per account and per key,',
  'concurrent heavy requests, zones created per hour, failed keys per address) is `429` with',
  '`Retry-After` and `limit` naming the limit.',
  '',
  'The `powerdns` routes speak the PowerDNS Authoritative HTTP API (v1) for existing PowerDNS clients.',
].join('\n');

/** A body that starts as JSON does (`{` or `[` after blanks): PowerDNS reads such bodies as JSON. */
function looksLikeJson(bytes: Buffer): boolean {
  return /^\s*[[{]/.test(bytes.subarray(0, 64).toString('latin1'));
}

/** Builds the API over a control plane; the caller listens (or injects). */
export async function buildApi(control: ControlPlane, opts: ApiOptions = {}): Promise<FastifyInstance> {
  const version = opts.version ?? '0.0.0';
  const limiter = new Limiter(opts.limits, opts.clock);
  const trust = trustedProxyFunction(limiter.limits.trustedProxies);
  const app = Fastify({
    logger: opts.logger ?? false,
    // X-Forwarded-For is believed only from the trusted proxies (request.ip is then the client).
    ...(trust ? { trustProxy: (address: string) => trust(address) } : {}),
    bodyLimit: SMALL_BODY_LIMIT,
    schemaController: { compilersFactory: validators },
    ajv: { customOptions: { ...AJV_OPTIONS.customOptions } },
  });
  const rawBodyBytes = opts.rawBodyBytes ?? DEFAULT_RAW_BODY_BYTES;
  /** A big JSON body of a bulk route: kept as bytes for the zone-work thread (raw-body.ts). */
  const keepRaw = (request: FastifyRequest, body: Buffer): boolean =>
    body.length > rawBodyBytes && request.routeOptions.config?.rawBody !== undefined;

  // A JSON body may be empty: PowerDNS clients send `Content-Type: application/json` on
  // body-less PUTs (lego's notify). The default parser keeps its prototype-poisoning checks.
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    if (keepRaw(request, bytes)) return done(null, new RawJsonBody(bytes));
    const text = bytes.toString('utf8');
    if (text.trim() === '') done(null, undefined);
    else jsonParser(request, text, done);
  });
  // RFC 4027 §2: text/dns is master-file text.
  app.addContentTypeParser(ZONEFILE_MEDIA_TYPE, { parseAs: 'string' }, (_request, body, done) =>
    done(null, body),
  );
  // text/plain is text (zone files), but PowerDNS clients send JSON so too: on a bulk route a
  // big JSON-looking body is kept raw like any other (the route's preValidation parses a small one).
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('text/plain', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    if (keepRaw(request, bytes) && looksLikeJson(bytes)) return done(null, new RawJsonBody(bytes));
    done(null, bytes.toString('utf8'));
  });
  // PowerDNS reads JSON whatever the Content-Type (its docs' curl examples send form-encoded).
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    if (keepRaw(request, bytes) && looksLikeJson(bytes)) return done(null, new RawJsonBody(bytes));
    const text = bytes.toString('utf8');
    if (/^\s*[[{]/.test(text)) jsonParser(request, text, done);
    else done(null, text === '' ? undefined : text);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Switchboard API', description, version },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API token secret.' },
          bearer: { type: 'http', scheme: 'bearer', description: 'The same secret as a bearer token.' },
        },
      },
      security: [{ apiKey: [] }, { bearer: [] }],
      tags: [
        { name: 'accounts', description: 'Tenants and their users (administrators)' },
        { name: 'tokens', description: 'API tokens: created, listed, revoked' },
        { name: 'zones', description: 'Zones: create, list, get, delete' },
        { name: 'rrsets', description: 'RRsets: list, change atomically' },
        { name: 'zonefile', description: 'Import and export in master-file format (text/dns)' },
        { name: 'versions', description: 'Zone versions: list, diff, roll back' },
        { name: 'audit', description: 'Audit log' },
        { name: 'shield', description: "A zone's own shield settings (rate limits, attack floors, metrics)" },
        {
          name: 'transfers',
          description: 'TSIG keys, who may transfer (AXFR) a zone, secondary zones (docs/TRANSFERS.md)',
        },
        { name: 'system', description: 'Health and this document' },
        { name: 'powerdns', description: 'PowerDNS-compatible API (PowerDNS Authoritative HTTP API v1)' },
      ],
    },
    refResolver: {
      // Name shared schemas by their $id in components/schemas.
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
  });
  addSharedSchemas(app);

  app.setErrorHandler((err, request, reply) => {
    const { status, body } = responseOfError(err, { pdns: request.routeOptions.config?.pdns === true });
    if (status >= 500) request.log.error({ err }, 'request failed');
    // RFC 9110 §15.5.2: a 401 carries a challenge.
    if (status === 401) reply.header('www-authenticate', 'Bearer realm="switchboard"');
    // RFC 6585 §4: a 429 may say how long to wait.
    if (err instanceof RateLimitError) reply.header('retry-after', String(err.retryAfter));
    return reply.code(status).type('application/json; charset=utf-8').send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send({ error: `no route ${request.method} ${request.url.split('?')[0]}`, code: 'API_ERR_NOT_FOUND' }),
  );
  limiter.register(app);
  app.decorate('limiter', limiter);
  registerAuth(app, control, limiter);
  if (opts.metrics) registerMetricsRoutes(app, opts.metrics, { access: opts.metricsAccess ?? 'open' });

  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: {
        tags: ['system'],
        summary: 'Liveness',
        security: [],
        response: {
          200: {
            description: 'The API is up',
            type: 'object',
            properties: { status: { type: 'string' }, version: { type: 'string' } },
          },
        },
      },
    },
    async () => ({ status: 'ok', version }),
  );
  app.get(
    OPENAPI_PATH,
    {
      config: { public: true },
      schema: { tags: ['system'], summary: 'This OpenAPI document', security: [] },
    },
    async () => app.swagger(),
  );

  registerAccountRoutes(app, control);
  registerTokenRoutes(app, control);
  registerZoneRoutes(app, control);
  registerAuditRoutes(app, control);
  registerDeletedZoneRoutes(app, control);
  registerZoneShieldRoutes(app, control);
  registerTransferRoutes(app, control);
  registerSecondaryRoutes(app, control);
  registerDnsUpdateRoutes(app, control);
  if (opts.edges) registerEdgeRoutes(app, opts.edges);
  registerPdnsRoutes(app, control, { version });
  return app;
}
