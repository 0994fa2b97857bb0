/**
 * The request-body decoder the zone-work thread runs (raw-body.ts): a big JSON body's bytes →
 * parsed by Fastify's own JSON parser (prototype-poisoning checks included), validated by the
 * route's schema compiled as the app compiles it (validation.ts), and mapped as the route
 * maps a small body, with the lists as JSON text (`JsonList`). Whatever goes wrong is answered
 * as the response the app would send for it (`responseOfError`), never thrown: the same
 * status, code, message and field as on the small path.
 *
 * Loaded by URL in the zone-work thread (`ControlPlane.decodeBody`); nothing here runs on the
 * request loop but in tests that run zone work inline.
 * @module
 */
import Fastify from 'fastify';
import type { JsonList, RRsetData } from '../control/types.js';
import { ApiError, responseOfError } from './errors.js';
import { absoluteName } from './names.js';
import {
  changesOfPdnsRRsets,
  type PdnsCreateBody,
  type PdnsRRsetInput,
  pdnsRRset,
  rrsetsOfPdnsCreate,
  unprocessable,
} from './pdns/mapping.js';
import { pdnsCreateBodySchema, pdnsPatchBodySchema, pdnsSettingsBodySchema } from './pdns/schemas.js';
import type { BodyRoute, Decoded } from './raw-body.js';
import { changesOfBody, createZoneBodySchema, patchRRsetsBodySchema } from './routes/zones.js';
import { sharedSchemas } from './schemas.js';
import { AJV_OPTIONS, validators } from './validation.js';

/** What each route's decoding answers (the handlers in routes/zones.ts and pdns/routes.ts read it). */
export interface DecodedZonePatch {
  changes: JsonList;
  comment?: string;
}
export interface DecodedZoneCreate {
  /** The body without `rrsets`, `name` made absolute. */
  input: Record<string, unknown> & { name: string; zonefile?: string };
  rrsets?: JsonList;
}
export interface DecodedPdnsPatch {
  changes: JsonList;
  /** How many changes (0: nothing to do). */
  count: number;
  /** sources[k]: the index in the body's `rrsets` that change k came from. */
  sources: number[];
}
export interface DecodedPdnsCreate {
  /** The body without `rrsets`. */
  body: PdnsCreateBody;
  rrsets: JsonList;
  count: number;
  /** The error reading `rrsets` gave: the route answers it after its own earlier checks. */
  rrsetsError?: { status: number; body: ReturnType<typeof responseOfError>['body'] };
}

const ROUTES: Record<
  Exclude<BodyRoute, 'pdns.rrsets'>,
  { url: string; method: string; schema: unknown; pdns: boolean }
> = {
  'zones.create': { url: '/api/v1/zones', method: 'POST', schema: createZoneBodySchema, pdns: false },
  'zones.patch': {
    url: '/api/v1/zones/:zone/rrsets',
    method: 'PATCH',
    schema: patchRRsetsBodySchema,
    pdns: false,
  },
  'pdns.create': {
    url: '/api/v1/servers/localhost/zones',
    method: 'POST',
    schema: pdnsCreateBodySchema,
    pdns: true,
  },
  'pdns.patch': {
    url: '/api/v1/servers/localhost/zones/:zone_id',
    method: 'PATCH',
    schema: pdnsPatchBodySchema,
    pdns: true,
  },
  'pdns.settings': {
    url: '/api/v1/servers/localhost/zones/:zone_id',
    method: 'PUT',
    schema: pdnsSettingsBodySchema,
    pdns: true,
  },
};

/** The keys of a PowerDNS zone body that PUT reads (checkUnsupportedSettings, metadataOfBody). */
const SETTINGS = ['kind', 'account', 'soa_edit_api', 'masters', 'dnssec', 'slave_tsig_key_ids'] as const;

type Validate = ((data: unknown, ctx?: unknown) => unknown) & { errors?: unknown };
type JsonParser = (
  request: unknown,
  body: string,
  done: (err: Error | null, value?: unknown) => void,
) => void;

let jsonParser: JsonParser | undefined;
const compiled = new Map<string, Validate>();

/** Fastify's default JSON parser, as index.ts gets it (`'error'` on prototype poisoning). */
function parserOf(): JsonParser {
  jsonParser ??= Fastify().getDefaultJsonParser('error', 'error') as unknown as JsonParser;
  return jsonParser;
}

function validatorOf(route: Exclude<BodyRoute, 'pdns.rrsets'>): Validate {
  let v = compiled.get(route);
  if (!v) {
    const r = ROUTES[route];
    const external = Object.fromEntries(sharedSchemas.map((s) => [s.$id as string, s]));
    const build = validators.buildValidator(external, {
      customOptions: { ...AJV_OPTIONS.customOptions },
      plugins: [],
    } as never);
    v = build({
      schema: r.schema,
      url: r.url,
      method: r.method,
      httpPart: 'body',
    } as never) as unknown as Validate;
    compiled.set(route, v);
  }
  return v;
}

/** Parses as the app's content-type parsers do: blank is no body, else Fastify's JSON parser. */
function parse(text: string): unknown {
  if (text.trim() === '') return undefined;
  let out: { err: Error | null; value?: unknown } | undefined;
  parserOf()(undefined, text, (err, value) => {
    out = { err, value };
  });
  if (!out) throw new Error('the JSON parser did not answer');
  if (out.err) throw out.err;
  return out.value;
}

/** A route's body: its bytes parsed, validated and mapped; or the error response. */
export function decodeBody(route: BodyRoute, bytes: Uint8Array): Decoded<unknown> {
  if (route === 'pdns.rrsets') return { value: pdnsRRsetsJson(bytes) };
  const r = ROUTES[route as Exclude<BodyRoute, 'pdns.rrsets'>];
  if (!r) throw new Error(`no body decoder for ${String(route)}`);
  try {
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
    const holder: { body: unknown } = { body: parse(text) };
    const validate = validatorOf(route as Exclude<BodyRoute, 'pdns.rrsets'>);
    // As Fastify calls it: an absent body is null, and the parent lets Ajv coerce the root.
    holder.body ??= null;
    if (validate(holder.body, { parentData: holder, parentDataProperty: 'body' }) === false)
      throw Object.assign(new Error('body validation'), {
        validation: validate.errors,
        validationContext: 'body',
        statusCode: 400,
      });
    return { value: map(route as Exclude<BodyRoute, 'pdns.rrsets'>, holder.body) };
  } catch (err) {
    return { error: responseOfError(err, { pdns: r.pdns }) };
  }
}

/** A created zone's RRsets (native JSON text) as PowerDNS shows them, as JSON text. */
function pdnsRRsetsJson(bytes: Uint8Array): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  return JSON.stringify((JSON.parse(text) as RRsetData[]).map(pdnsRRset));
}

function jsonList(list: unknown[]): JsonList {
  return { json: JSON.stringify(list) };
}

function map(route: Exclude<BodyRoute, 'pdns.rrsets'>, value: unknown): unknown {
  switch (route) {
    case 'zones.patch': {
      const b = value as { changes: Parameters<typeof changesOfBody>[0]; comment?: string };
      const out: DecodedZonePatch = { changes: jsonList(changesOfBody(b.changes)) };
      if (b.comment !== undefined) out.comment = b.comment;
      return out;
    }
    case 'zones.create': {
      // As the route's handler does a parsed body, in the same order.
      const { rrsets, ...rest } = value as { name: string; rrsets?: RRsetData[]; zonefile?: string };
      if (rest.zonefile !== undefined && rrsets !== undefined)
        throw new ApiError(
          400,
          'API_ERR_BAD_REQUEST',
          'give either rrsets or zonefile, not both',
          'zonefile',
        );
      const out: DecodedZoneCreate = { input: { ...rest, name: absoluteName(rest.name, 'name') } };
      if (rrsets !== undefined)
        out.rrsets = jsonList(
          rrsets.map((x, i) => ({ ...x, name: absoluteName(x.name, `rrsets[${i}].name`) })),
        );
      return out;
    }
    case 'pdns.patch': {
      const sources: number[] = [];
      const changes = changesOfPdnsRRsets((value as { rrsets: PdnsRRsetInput[] }).rrsets, sources);
      const out: DecodedPdnsPatch = { changes: jsonList(changes), count: changes.length, sources };
      return out;
    }
    case 'pdns.settings': {
      // Only the settings the route reads (the rest of a zone sent back is ignored).
      const b = (value ?? {}) as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const k of SETTINGS) if (k in b) out[k] = b[k];
      return out;
    }
    case 'pdns.create': {
      const { rrsets, ...body } = value as PdnsCreateBody;
      const out: DecodedPdnsCreate = { body: body as PdnsCreateBody, rrsets: { json: '[]' }, count: 0 };
      try {
        const list = rrsetsOfPdnsCreate(rrsets ?? []);
        out.rrsets = jsonList(list);
        out.count = list.length;
        if (body.zone != null && list.length > 0)
          throw unprocessable('give either zone or rrsets, not both', 'zone');
      } catch (err) {
        out.rrsetsError = responseOfError(err, { pdns: true });
      }
      return out;
    }
  }
}
