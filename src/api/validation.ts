/**
 * Request validation, shared by the app (index.ts) and the request-body decoder that runs in
 * the zone-work thread (body-decode.ts), so that a big body is checked against the very same
 * schemas compiled with the very same options as a small one.
 * @module
 */
import AjvCompiler from '@fastify/ajv-compiler';
import { RawJsonBody } from './raw-body.js';

type AjvCompilerOptions = NonNullable<Parameters<AjvCompiler.BuildCompilerFromPool>[1]> & { mode?: never };
type AjvOptions = AjvCompiler.Options;

/** The app's Ajv options (Fastify's `ajv` server option). */
export const AJV_OPTIONS = {
  customOptions: {
    // Closed request schemas must reject unknown fields (400), not drop them silently.
    removeAdditional: false,
    // Query strings and path parameters (bodies: see `validators`).
    coerceTypes: 'array',
    useDefaults: true,
    allErrors: false,
  },
} as const;

/** True for the routes of the PowerDNS-compatible API. */
export function isPdnsRoute(url: string | undefined): boolean {
  return url === undefined || url === '/api' || url === '/api/v1' || url.startsWith('/api/v1/servers');
}

/**
 * Request validation: JSON bodies of the native API are taken as sent (`"ttl": "300"` is a
 * 400, not 300; `"admin": "true"` is not true), while query strings, path parameters and
 * headers — text by nature — are converted to the types their schemas name. The
 * PowerDNS-compatible routes keep converting bodies too, as PowerDNS reads numbers given
 * as strings. A body kept raw (`RawJsonBody`, too big to parse on the request loop) passes
 * here: the zone-work thread validates it with the same validator (body-decode.ts).
 */
export const validators: { buildValidator: AjvCompiler.BuildCompilerFromPool } = {
  buildValidator(externalSchemas, options) {
    const factory = AjvCompiler();
    const converting = factory(externalSchemas, options);
    const strict = factory(externalSchemas, {
      ...(options as AjvCompilerOptions),
      customOptions: { ...(options?.customOptions as AjvOptions | undefined), coerceTypes: false },
    });
    return ((route: { url?: string; httpPart?: string; schema: unknown }) => {
      if (route.httpPart !== 'body') return converting(route as never);
      const validate = (isPdnsRoute(route.url) ? converting : strict)(route as never) as unknown as ((
        data: unknown,
        ctx?: unknown,
      ) => unknown) & { errors?: unknown; schemaEnv?: unknown };
      const wrapped = (data: unknown, ctx?: unknown): unknown =>
        data instanceof RawJsonBody ? true : validate(data, ctx);
      // Fastify passes the parent (root coercion) when `schemaEnv` is set, and reads `errors`.
      Object.defineProperty(wrapped, 'schemaEnv', { get: () => validate.schemaEnv });
      Object.defineProperty(wrapped, 'errors', { get: () => validate.errors });
      return wrapped;
    }) as never;
  },
};
