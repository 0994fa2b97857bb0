/**
 * Big JSON bodies off the request loop (issue 6 item 1). On the routes that take records in
 * bulk (POST zones, PATCH rrsets and their PowerDNS twins), a JSON body above
 * `rawBodyBytes` (default 256 KiB) is not parsed by the content-type parser: it is kept as
 * its bytes (`RawJsonBody`), passes Fastify's validation untouched (validation.ts), and the
 * route hands it to the zone-work thread, which parses it, validates it with the same schema
 * and maps it (body-decode.ts). The request loop only ever holds the bytes and a few small
 * fields; the lists come back as JSON text (`JsonList`), parsed again where the zone work runs.
 * Errors are the same statuses, codes, messages and fields as on the small path.
 * @module
 */
import type { ControlPlane } from '../control/types.js';
import { ApiError, type ApiErrorCode, type ErrorBody } from './errors.js';

/** The routes whose big bodies are decoded off the loop (`config.rawBody`). */
export type BodyRoute =
  | 'zones.create'
  | 'zones.patch'
  | 'pdns.create'
  | 'pdns.patch'
  | 'pdns.settings'
  /** Not a request body: a created zone's RRsets (JSON text) → PowerDNS's shape, as JSON text. */
  | 'pdns.rrsets';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Bodies above the raw threshold are decoded off the request loop as this route's. */
    rawBody?: BodyRoute;
  }
}

/**
 * The body cap of the bulk routes (zone files, POST zones, PATCH rrsets, and the PowerDNS POST
 * and PATCH): 32 MiB, about 160 octets a record at the per-request ceiling of 200,000 records
 * (`--max-records-per-request`). Above the raw threshold such a body is only ever bytes on the
 * request loop. docs/API.md "Limits".
 */
export const BULK_BODY_LIMIT = 32 * 1024 * 1024;

/**
 * The body cap of every other route (accounts, tokens, settings, rollback): they take a few
 * small fields, and their bodies are parsed on the request loop, so the cap bounds that work.
 */
export const SMALL_BODY_LIMIT = 1024 * 1024;

/** Default threshold: JSON bodies larger than this are decoded off the request loop. */
export const DEFAULT_RAW_BODY_BYTES = 256 * 1024;

/** A JSON body kept as its bytes, to be parsed in the zone-work thread. */
export class RawJsonBody {
  readonly bytes: Buffer;
  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }
}

/** The module the zone-work thread loads to decode bodies. */
export const BODY_DECODER = new URL('./body-decode.js', import.meta.url).href;

/** What the decoder answers: the body's value (lists as JsonList), or the error response. */
export type Decoded<T> = { value: T } | { error: { status: number; body: ErrorBody } };

/**
 * Decodes a raw body in the zone-work thread: the route's mapped body, or the same ApiError a
 * small body would have got (status, code, message and field).
 */
export async function decodeOffLoop<T>(
  control: ControlPlane,
  route: BodyRoute,
  raw: RawJsonBody,
): Promise<T> {
  const out = (await control.decodeBody(BODY_DECODER, route, raw.bytes)) as Decoded<T>;
  if ('error' in out) throw apiErrorOf(out.error);
  return out.value;
}

const RRSETS_MARK = '\u0000rrsets-json\u0000';

/**
 * The JSON of `fields` with `rrsets` (its place in the key order) set to `rrsetsJson`, text
 * made off the loop: a big zone's answer is spliced, not rebuilt object by object on the loop.
 * (Inside a JSON string a quote is always escaped, so the marker's `"rrsets":"…"` can only
 * match the key itself.)
 */
export function spliceRRsets(fields: Record<string, unknown>, rrsetsJson: string): string {
  const text = JSON.stringify({ ...fields, rrsets: RRSETS_MARK });
  return text.replace(`"rrsets":${JSON.stringify(RRSETS_MARK)}`, () => `"rrsets":${rrsetsJson}`);
}

/** An error response as an ApiError the error handler sends back unchanged. */
export function apiErrorOf(e: { status: number; body: ErrorBody }): ApiError {
  return new ApiError(e.status, e.body.code as ApiErrorCode, e.body.error, e.body.field);
}
