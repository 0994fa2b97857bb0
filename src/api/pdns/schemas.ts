/**
 * PowerDNS schemas: the JSON schemas of the PowerDNS-compatible routes' bodies and params,
 * and the route config and OpenAPI tag they share.
 * @module
 */
import { MAX_TTL } from '../schemas.js';

export const config = { pdns: true } as const;
export const tags = ['powerdns'];

export const recordInput = {
  type: 'object',
  properties: { content: { type: 'string' }, disabled: { type: 'boolean' } },
  required: ['content'],
} as const;
export const rrsetInput = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1 },
    type: { type: 'string', minLength: 1 },
    changetype: { type: 'string' },
    ttl: { type: 'integer', minimum: 0, maximum: MAX_TTL },
    // Go clients send nil slices as null (go-powerdns: `"records": null` on DELETE).
    records: { type: ['array', 'null'], items: recordInput },
    comments: { type: ['array', 'null'] },
  },
  required: ['name', 'type'],
} as const;
/** The zone settings in a body schema: typed, but open (clients send whole Zone objects back). */
export const zoneSettingsProperties = {
  kind: {
    type: ['string', 'null'],
    description:
      "Native, Master (Primary), Slave (Secondary: needs masters), Producer (a catalog zone, RFC 9432: its records are generated) or Consumer (another provider's catalog zone, transferred from masters: its members become Slave zones of the account).",
  },
  catalog: {
    type: ['string', 'null'],
    description:
      "The catalog zone (kind Producer, of the zone's own account) that lists this zone; '' removes it from its catalog. A member of a Consumer zone shows that zone (read-only).",
  },
  account: { type: ['string', 'null'], description: 'Free text, kept and reported.' },
  soa_edit_api: { type: ['string', 'null'], description: 'Kept and reported; serials always go up by one.' },
  masters: {
    type: ['array', 'null'],
    items: { type: 'string' },
    description:
      "A Slave zone's primaries, ADDR, ADDR:PORT or [V6]:PORT, tried in order (addresses the operator's --outbound-allow policy permits).",
  },
  slave_tsig_key_ids: {
    type: ['array', 'null'],
    items: { type: 'string', minLength: 1 },
    description: "A Slave zone's transfer key: the id of a TSIG key of the zone's account (at most one).",
  },
  dnssec: { type: ['boolean', 'null'], description: 'Only false (no signing yet).' },
  master_tsig_key_ids: {
    type: ['array', 'null'],
    items: { type: 'string', minLength: 1 },
    description: "Ids of TSIG keys of the zone's account that may transfer (AXFR) the zone.",
  },
} as const;

/** The body of a zone creation (also compiled in the zone-work thread: body-decode.ts). */
export const pdnsCreateBodySchema = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1 },
    ...zoneSettingsProperties,
    nameservers: { type: ['array', 'null'], items: { type: 'string', minLength: 1 } },
    rrsets: { type: ['array', 'null'], items: rrsetInput },
    zone: { type: ['string', 'null'] },
  },
  required: ['name'],
} as const;

/** The body of an RRset PATCH (likewise). */
export const pdnsPatchBodySchema = {
  type: 'object',
  properties: { rrsets: { type: 'array', items: rrsetInput } },
  required: ['rrsets'],
} as const;

/** The body of a settings PUT (likewise). */
export const pdnsSettingsBodySchema = {
  type: ['object', 'null'],
  properties: zoneSettingsProperties,
} as const;

export const zoneIdParams = {
  type: 'object',
  properties: {
    zone_id: { type: 'string', minLength: 1, description: 'Zone id: the name with final dot, `/` as `=2F`.' },
  },
  required: ['zone_id'],
} as const;
