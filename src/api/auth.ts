/**
 * Authentication: every route except the public ones (`config.public`) needs an API key, sent
 * PowerDNS-style as `X-API-Key: <secret>` or as `Authorization: Bearer <secret>` (RFC 6750 §2.1).
 * The control plane resolves the key to a `Principal`, which the routes pass on unchanged:
 * authorization itself happens in the control plane.
 * @module
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ControlPlane, Principal } from '../control/types.js';
import { ApiError } from './errors.js';
import type { Limiter } from './limits.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without an API key (`GET /api`, the OpenAPI document, `/healthz`). */
    public?: boolean;
    /** A PowerDNS-compatible route: schema failures answer 422 as PowerDNS does. */
    pdns?: boolean;
  }
}

const principals = new WeakMap<FastifyRequest, Principal>();

/** The API key of a request, or undefined when it carries none. */
export function secretOfHeaders(headers: FastifyRequest['headers']): string | undefined {
  const key = headers['x-api-key'];
  if (typeof key === 'string' && key.trim() !== '') return key.trim();
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    // RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; the scheme is case-insensitive (RFC 9110 §11.1).
    const m = /^Bearer +(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  return undefined;
}

/**
 * Installs the authentication hook: it runs before the body is read, so anonymous uploads cost
 * nothing. With a `limiter`, a source address that sent too many wrong keys gets 429 before
 * its key is looked at, and an authenticated caller over its request rates gets 429.
 */
export function registerAuth(app: FastifyInstance, control: ControlPlane, limiter?: Limiter): void {
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config?.public === true) return;
    const secret = secretOfHeaders(request.headers);
    if (secret === undefined) {
      throw new ApiError(401, 'API_ERR_UNAUTHENTICATED', 'an API key is required (X-API-Key header)');
    }
    limiter?.beforeKey(request);
    // The attempt taken above is given back unless the key was wrong: an accepted key, or a
    // lookup that failed (a store error is not a guess).
    let wrong = false;
    let principal: Awaited<ReturnType<ControlPlane['authenticate']>>;
    try {
      principal = await control.authenticate(secret, request.ip);
      wrong = principal === null;
    } finally {
      if (!wrong) limiter?.keyAccepted(request);
    }
    if (principal === null) throw new ApiError(401, 'API_ERR_UNAUTHENTICATED', 'unknown or revoked API key');
    limiter?.authenticated(request, principal);
    principals.set(request, { ...principal, remote: principal.remote ?? request.ip });
  });
}

/** The authenticated caller of a request (the hook guarantees one on non-public routes). */
export function principalOf(request: FastifyRequest): Principal {
  const p = principals.get(request);
  if (p === undefined)
    throw new ApiError(401, 'API_ERR_UNAUTHENTICATED', 'an API key is required (X-API-Key header)');
  return p;
}
