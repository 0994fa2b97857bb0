/**
 * The HTTP API of the control plane: the native REST API under `/api/v1/`, the
 * PowerDNS-compatible API under `/api` and `/api/v1/servers/localhost/…`, the OpenAPI document
 * at `/api/v1/openapi.json`, `/healthz` and, given `metrics`, Prometheus `/metrics`. `buildApi` returns the Fastify instance ready but
 * not listening (`switchboard start` calls `listen`; tests use `inject`). docs/API.md describes it.
 * @module
 */
import AjvCompiler from '@fastify/ajv-compiler';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance } from 'fastify';
import type { ControlPlane } from '../control/types.js';
import type { HttpMetricsSink } from '../telemetry/index.js';
import { registerAuth } from './auth.js';
import type { Clock } from './buckets.js';
import { responseOfError } from './errors.js';
import { type ApiLimits, Limiter, RateLimitError, trustedProxyFunction } from './limits.js';
import { registerMetricsRoutes } from './metrics.js';
import { registerPdnsRoutes } from './pdns/routes.js';
import { registerAccountRoutes } from './routes/accounts.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerDeletedZoneRoutes } from './routes/deleted-zones.js';
import { registerTokenRoutes } from './routes/tokens.js';
import { registerZoneRoutes, ZONEFILE_MEDIA_TYPE } from './routes/zones.js';
import { addSharedSchemas } from './schemas.js';

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
}

/** Where the OpenAPI document is served. */
export const OPENAPI_PATH = '/api/v1/openapi.json';

/** Default body limit of JSON requests (zone files have their own, larger one). */
const BODY_LIMIT = 4 * 1024 * 1024;

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

type AjvCompilerOptions = NonNullable<Parameters<AjvCompiler.BuildCompilerFromPool>[1]> & { mode?: never };
type AjvOptions = AjvCompiler.Options;

/**
 * Request validation: JSON bodies of the native API are taken as sent (`"ttl": "300"` is a
 * 400, not 300; `"admin": "true"` is not true), while query strings, path parameters and
 * headers — text by nature — are converted to the types their schemas name. The
 * PowerDNS-compatible routes keep converting bodies too, as PowerDNS reads numbers given
 * as strings.
 */
const validators: { buildValidator: AjvCompiler.BuildCompilerFromPool } = {
  buildValidator(externalSchemas, options) {
    const factory = AjvCompiler();
    const converting = factory(externalSchemas, options);
    const strict = factory(externalSchemas, {
      ...(options as AjvCompilerOptions),
      customOptions: { ...(options?.customOptions as AjvOptions | undefined), coerceTypes: false },
    });
    return ((route: { url?: string; httpPart?: string; schema: unknown }) =>
      route.httpPart === 'body' && !isPdnsRoute(route.url)
        ? strict(route as never)
        : converting(route as never)) as never;
  },
};

/** True for the routes of the PowerDNS-compatible API. */
function isPdnsRoute(url: string | undefined): boolean {
  return url === undefined || url === '/api' || url === '/api/v1' || url.startsWith('/api/v1/servers');
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
    bodyLimit: BODY_LIMIT,
    schemaController: { compilersFactory: validators },
    ajv: {
      customOptions: {
        // Closed request schemas must reject unknown fields (400), not drop them silently.
        removeAdditional: false,
        // Query strings and path parameters (bodies: see `validators`).
        coerceTypes: 'array',
        useDefaults: true,
        allErrors: false,
      },
    },
  });

  // A JSON body may be empty: PowerDNS clients send `Content-Type: application/json` on
  // body-less PUTs (lego's notify). The default parser keeps its prototype-poisoning checks.
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') done(null, undefined);
    else jsonParser(request, text, done);
  });
  // RFC 4027 §2: text/dns is master-file text.
  app.addContentTypeParser(ZONEFILE_MEDIA_TYPE, { parseAs: 'string' }, (_request, body, done) =>
    done(null, body),
  );
  // PowerDNS reads JSON whatever the Content-Type (its docs' curl examples send form-encoded).
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
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
  registerPdnsRoutes(app, control, { version });
  return app;
}
