/**
 * HTTP errors of the API: the one table mapping control-plane error codes to statuses, the
 * API's own errors (bad headers, missing credentials) and the JSON error body
 * `{"error", "code", "field"}` both APIs send (PowerDNS clients read `error`).
 * @module
 */
import { ControlError, type ControlErrorCode } from '../control/types.js';

/** HTTP status of each control-plane error code (docs/API.md, "Errors"). */
export const statusOfControlCode: Readonly<Record<ControlErrorCode, number>> = Object.freeze({
  CTL_ERR_VALIDATION: 422,
  CTL_ERR_UNAUTHENTICATED: 401,
  CTL_ERR_FORBIDDEN: 403,
  CTL_ERR_NOT_FOUND: 404,
  CTL_ERR_CONFLICT: 409,
  CTL_ERR_PRECONDITION: 412,
  CTL_ERR_GONE: 410,
  CTL_ERR_QUOTA: 403,
});

/** Stable codes of the errors the HTTP layer raises itself. */
export type ApiErrorCode =
  | 'API_ERR_BAD_REQUEST' // 400: the request does not match the route's schema
  | 'API_ERR_UNAUTHENTICATED' // 401: no API key, or an unknown or revoked one
  | 'API_ERR_FORBIDDEN' // 403: a valid key that may not do this (`/metrics` with a tenant key)
  | 'API_ERR_NOT_FOUND' // 404: no such route
  | 'API_ERR_PRECONDITION' // 412: If-Match names no current version
  | 'API_ERR_TOO_LARGE' // 413: a body over the route's cap (docs/API.md "Limits")
  | 'API_ERR_UNSUPPORTED_MEDIA' // 415: a body type the route does not take
  | 'API_ERR_UNPROCESSABLE' // 422: well-formed but not something Switchboard does
  | 'API_ERR_RATE_LIMITED' // 429: a limit of docs/API.md "Limits"; the body names it in `limit`
  | 'API_ERR_INTERNAL'; // 500

/** An error raised by the HTTP layer (nothing was changed). */
export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly statusCode: number;
  /** The request field at fault (`changes[1].ttl`, `If-Match`). */
  readonly field?: string;
  constructor(statusCode: number, code: ApiErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'ApiError';
    this.statusCode = statusCode;
    this.code = code;
    this.field = field;
  }
}

/** The JSON body of every error response. */
export interface ErrorBody {
  error: string;
  code: string;
  field?: string;
  /** The limit that refused a 429 (`token-rate`, `failed-keys`, …). */
  limit?: string;
}

/** One Ajv error as Fastify reports it in `error.validation`. */
interface SchemaViolation {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** `/changes/0/ttl` → `changes[0].ttl`. */
function pathOfPointer(pointer: string): string {
  let out = '';
  for (const raw of pointer.split('/').slice(1)) {
    // RFC 6901 §4: ~1 is '/', ~0 is '~'.
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(seg) ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  }
  return out;
}

function joinPath(base: string, key: string): string {
  return base === '' ? key : `${base}.${key}`;
}

/** JSON Schema types as a type error names them (bodies are not converted: `"300"` is a string). */
const TYPE_WORDS: Readonly<Record<string, string>> = {
  array: 'a list (JSON array)',
  object: 'an object',
  integer: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  null: 'null',
};

/** The field at fault and a readable message for a schema violation. */
export function describeViolation(
  v: SchemaViolation,
  context: string | undefined,
): { field: string; message: string } {
  let field = pathOfPointer(v.instancePath);
  let message: string;
  if (v.keyword === 'required' && typeof v.params.missingProperty === 'string') {
    field = joinPath(field, v.params.missingProperty);
    message = 'is required';
  } else if (v.keyword === 'additionalProperties' && typeof v.params.additionalProperty === 'string') {
    field = joinPath(field, v.params.additionalProperty);
    message = 'is not a known field';
  } else if (v.keyword === 'type' && typeof v.params.type === 'string') {
    const t = v.params.type;
    const literal = context === 'body' && (t === 'integer' || t === 'number' || t === 'boolean');
    message = `must be ${TYPE_WORDS[t] ?? t}${literal ? ` (a JSON ${t === 'boolean' ? 'boolean' : 'number'}, not a string)` : ''}`;
  } else {
    message = v.message ?? 'is invalid';
  }
  if (field === '') field = context ?? 'body';
  if (context === 'headers')
    field = field.replace(/^[a-z-]+$/, (h) => h.replace(/(^|-)[a-z]/g, (c) => c.toUpperCase()));
  return { field, message: `${field} ${message}` };
}

/** What the error handler sends for an error: status and body. */
export function responseOfError(err: unknown, opts: { pdns: boolean }): { status: number; body: ErrorBody } {
  if (err instanceof ControlError) {
    const body: ErrorBody = { error: err.message, code: err.code };
    if (err.field !== undefined) body.field = err.field;
    return { status: statusOfControlCode[err.code] ?? 500, body };
  }
  if (err instanceof ApiError) {
    const body: ErrorBody = { error: err.message, code: err.code };
    if (err.field !== undefined) body.field = err.field;
    const limit = (err as { limit?: unknown }).limit;
    if (typeof limit === 'string') body.limit = limit;
    return { status: err.statusCode, body };
  }
  const e = err as {
    validation?: SchemaViolation[];
    validationContext?: string;
    statusCode?: number;
    code?: string;
    message?: string;
  };
  if (Array.isArray(e.validation) && e.validation.length > 0) {
    const { field, message } = describeViolation(e.validation[0], e.validationContext);
    // PowerDNS answers malformed bodies with 422, and its clients expect that status.
    return {
      status: opts.pdns ? 422 : 400,
      body: { error: message, code: opts.pdns ? 'API_ERR_UNPROCESSABLE' : 'API_ERR_BAD_REQUEST', field },
    };
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status === 413)
    return {
      status,
      body: {
        error:
          'the request body is larger than this route takes (32 MiB on the zone-content routes, 1 MiB elsewhere)',
        code: 'API_ERR_TOO_LARGE',
      },
    };
  if (status >= 400 && status < 500) {
    const code: ApiErrorCode =
      status === 415
        ? 'API_ERR_UNSUPPORTED_MEDIA'
        : status === 404
          ? 'API_ERR_NOT_FOUND'
          : 'API_ERR_BAD_REQUEST';
    return { status, body: { error: e.message ?? 'bad request', code } };
  }
  return { status: 500, body: { error: 'internal error', code: 'API_ERR_INTERNAL' } };
}

/**
 * The control plane names fields of a change list `rrsets[i]…`; a route whose body calls the
 * list otherwise (or dropped some entries) rewrites the field to the request's own path.
 */
export function remapChangeField(err: unknown, fieldOfIndex: (index: number) => string): unknown {
  if (!(err instanceof ControlError) || err.field === undefined) return err;
  const m = /^rrsets\[(\d+)\](.*)$/.exec(err.field);
  if (!m) return err;
  return new ControlError(err.code, err.message, `${fieldOfIndex(Number(m[1]))}${m[2]}`);
}
