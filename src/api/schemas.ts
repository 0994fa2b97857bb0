/**
 * JSON Schemas of the native API: shared components (added with `addSchema`, named by `$id`
 * in the OpenAPI document) and the request fragments routes build on. Request objects are
 * closed (`additionalProperties: false`) so a misspelt field is a 400, not silently ignored.
 * @module
 */
import type { FastifyInstance } from 'fastify';

/** RFC 2181 §8: a TTL is an unsigned 31-bit number. */
export const MAX_TTL = 2147483647;

/**
 * A TTL in the native API's schemas: an integer of 0 or more. The upper bound is the
 * server's one rule (`switchboard start --max-ttl`, default 30 days), checked by the control
 * plane with a 422 naming it, for JSON and zone files alike.
 */
const ttlSchema = {
  type: 'integer',
  minimum: 0,
  description:
    "Seconds, at most the server's limit (`switchboard start --max-ttl`, default 2592000 = 30 days).",
} as const;

const nullableString = { type: ['string', 'null'] } as const;
const timestamp = { type: 'string', format: 'date-time' } as const;

/** A `$ref` to a shared schema. */
export function ref(id: string): { $ref: string } {
  return { $ref: `${id}#` };
}

/** The zone settings that are not content (PowerDNS clients keep them), as the native API names them. */
export const zoneMetadataProperties = {
  kind: {
    type: 'string',
    minLength: 1,
    description:
      '`Native` or `Master` (PowerDNS zone kinds; any letter case, `Primary` = `Master`). Both are served alike. ' +
      '`Producer`: a catalog zone (RFC 9432) listing the zones whose `catalog` names it, its records generated; ' +
      "only at creation. `Slave`: a secondary zone (needs `masters`). `Consumer`: another provider's catalog zone, " +
      'transferred from `masters`; its members become Slave zones of the account; only at creation.',
  },
  catalog: {
    type: 'string',
    maxLength: 255,
    description:
      "The catalog zone (kind `Producer`, of the zone's own account) that lists this zone (PowerDNS's `catalog`); `''` removes it.",
  },
  soaEditApi: {
    type: 'string',
    maxLength: 64,
    description: "PowerDNS's SOA-EDIT-API, kept and reported only: serials always go up by one.",
  },
  accountLabel: {
    type: 'string',
    maxLength: 255,
    description: "Free text (PowerDNS's `account`); not the owning account (`accountId`).",
  },
} as const;

const zoneInfoProperties = {
  id: { type: 'string' },
  name: { type: 'string' },
  accountId: { type: 'string' },
  serial: { type: 'integer' },
  version: { type: 'integer' },
  recordCount: { type: 'integer' },
  createdAt: timestamp,
  updatedAt: timestamp,
  kind: {
    type: 'string',
    enum: ['Native', 'Master', 'Slave', 'Producer', 'Consumer'],
    description: zoneMetadataProperties.kind.description,
  },
  soaEditApi: { type: 'string', description: zoneMetadataProperties.soaEditApi.description },
  accountLabel: { type: 'string', description: zoneMetadataProperties.accountLabel.description },
  catalog: { type: 'string', description: zoneMetadataProperties.catalog.description },
} as const;

const zoneInfoRequired = [
  'id',
  'name',
  'accountId',
  'serial',
  'version',
  'recordCount',
  'createdAt',
  'updatedAt',
  'kind',
  'soaEditApi',
  'accountLabel',
];

const warningsSchema = {
  type: 'array',
  items: { type: 'string' },
  description:
    'Findings that do not refuse the content: an in-zone NS target without address records (`name NS: message`).',
} as const;

/** The shared schemas, in the order they are added. */
export const sharedSchemas: readonly Record<string, unknown>[] = [
  {
    $id: 'Error',
    type: 'object',
    description: 'Every error response. PowerDNS clients read `error`.',
    properties: {
      error: { type: 'string', description: 'What went wrong.' },
      code: { type: 'string', description: 'Stable code (`CTL_ERR_…`, `API_ERR_…`).' },
      field: { type: 'string', description: 'Path of the request field at fault (`changes[1].ttl`).' },
      limit: {
        type: 'string',
        description: 'On a 429: the limit reached (`token-rate`, `failed-keys`, …; docs/API.md "Limits").',
      },
    },
    required: ['error', 'code'],
  },
  {
    $id: 'Account',
    type: 'object',
    description: 'A tenant.',
    properties: {
      id: { type: 'string' },
      name: { type: 'string' },
      maxZones: { type: 'integer', description: 'Quota of zones.' },
      maxRecords: { type: 'integer', description: 'Quota of records over all zones.' },
      createdAt: timestamp,
    },
    required: ['id', 'name', 'maxZones', 'maxRecords', 'createdAt'],
  },
  {
    $id: 'User',
    type: 'object',
    description: 'A user of an account.',
    properties: {
      id: { type: 'string' },
      accountId: { type: 'string' },
      name: { type: 'string' },
      createdAt: timestamp,
    },
    required: ['id', 'accountId', 'name', 'createdAt'],
  },
  {
    $id: 'TokenScope',
    type: 'object',
    description: 'What a token may do: admin, or read/write over its account or over listed zones.',
    properties: {
      admin: { type: 'boolean', default: false },
      access: { type: 'string', enum: ['read', 'write'] },
      zones: {
        type: 'array',
        items: { type: 'string', minLength: 1 },
        description: 'Only these zones; absent = every zone of the account.',
      },
    },
    required: ['access'],
    additionalProperties: false,
  },
  {
    $id: 'TokenInfo',
    type: 'object',
    description: 'An API token as listed (never its secret).',
    properties: {
      id: { type: 'string' },
      accountId: nullableString,
      userId: nullableString,
      name: { type: 'string' },
      scope: ref('TokenScope'),
      prefix: { type: 'string', description: 'First characters of the secret, to recognise it.' },
      createdAt: timestamp,
      lastUsedAt: { type: ['string', 'null'], format: 'date-time' },
      revokedAt: { type: ['string', 'null'], format: 'date-time' },
    },
    required: [
      'id',
      'accountId',
      'userId',
      'name',
      'scope',
      'prefix',
      'createdAt',
      'lastUsedAt',
      'revokedAt',
    ],
  },
  {
    $id: 'NewToken',
    type: 'object',
    description: 'A new token: `secret` is shown this once and stored only as a hash.',
    properties: {
      id: { type: 'string' },
      accountId: nullableString,
      userId: nullableString,
      name: { type: 'string' },
      scope: ref('TokenScope'),
      prefix: { type: 'string' },
      createdAt: timestamp,
      lastUsedAt: { type: ['string', 'null'], format: 'date-time' },
      revokedAt: { type: ['string', 'null'], format: 'date-time' },
      secret: { type: 'string', description: 'The API key (`X-API-Key`).' },
    },
    required: ['id', 'name', 'scope', 'prefix', 'createdAt', 'secret'],
  },
  {
    $id: 'Record',
    type: 'object',
    description: 'One record of an RRset, in presentation form.',
    properties: {
      content: {
        type: 'string',
        minLength: 1,
        description: 'RDATA in master-file form (`10 mail.example.com.`).',
      },
      disabled: { type: 'boolean', description: 'Kept but not served.' },
    },
    required: ['content'],
    additionalProperties: false,
  },
  {
    $id: 'RRset',
    type: 'object',
    description: 'The records of one owner name and type.',
    properties: {
      name: {
        type: 'string',
        minLength: 1,
        description: 'Owner name (absolute; the final dot may be omitted).',
      },
      type: { type: 'string', minLength: 1, description: 'Type mnemonic (`A`, `TYPE65534`).' },
      ttl: ttlSchema,
      records: { type: 'array', items: ref('Record') },
    },
    required: ['name', 'type', 'ttl', 'records'],
    additionalProperties: false,
  },
  {
    $id: 'RRsetChange',
    type: 'object',
    description:
      'One change of an atomic change set. `replace` sets the RRset to exactly `records` (creating it); ' +
      '`delete` removes it (no error when absent); `add` adds `records` (creating it); `remove` removes ' +
      '`records` (the RRset goes when empty). `ttl` is required by `replace` and `add`, `records` by ' +
      '`replace`, `add` and `remove`.',
    properties: {
      op: { type: 'string', enum: ['replace', 'delete', 'add', 'remove'] },
      name: { type: 'string', minLength: 1 },
      type: { type: 'string', minLength: 1 },
      ttl: ttlSchema,
      records: { type: 'array', items: ref('Record') },
    },
    required: ['op', 'name', 'type'],
    additionalProperties: false,
  },
  {
    $id: 'ZoneInfo',
    type: 'object',
    description: 'A zone summary. `version` is also the ETag (`"<version>"`).',
    properties: zoneInfoProperties,
    required: zoneInfoRequired,
  },
  {
    $id: 'ZoneDetail',
    type: 'object',
    description: 'A zone with its RRsets in canonical order.',
    properties: {
      ...zoneInfoProperties,
      rrsets: { type: 'array', items: ref('RRset') },
      warnings: warningsSchema,
    },
    required: [...zoneInfoRequired, 'rrsets'],
  },
  {
    $id: 'DeletedZone',
    type: 'object',
    description:
      'A deleted zone, restorable with its history until `purgeAfter` (null: kept for ever). Its name may be in use by a new zone meanwhile.',
    properties: {
      id: { type: 'string', description: 'Restore by this id (or by name: the most recently deleted).' },
      name: { type: 'string' },
      accountId: { type: 'string' },
      version: { type: 'integer', description: 'The version it was deleted at.' },
      serial: { type: 'integer' },
      recordCount: { type: 'integer' },
      createdAt: timestamp,
      deletedAt: timestamp,
      deletedBy: nullableString,
      purgeAfter: { type: ['string', 'null'], format: 'date-time' },
      kind: { type: 'string' },
      soaEditApi: { type: 'string' },
      accountLabel: { type: 'string' },
    },
    required: ['id', 'name', 'accountId', 'version', 'serial', 'deletedAt', 'purgeAfter'],
  },
  {
    $id: 'ZoneChange',
    type: 'object',
    description:
      'What a content change did: the zone after it (`version` is the new ETag). `changed` is false when ' +
      'the change changed nothing (no new version, no serial bump, the same ETag). With `?dryRun=true` ' +
      'nothing is applied: the zone is as it was, and `removedRecords`/`addedRecords` say what the change ' +
      'would do; send it again with `If-Match` of this `version` to apply exactly that.',
    properties: {
      ...zoneInfoProperties,
      changed: { type: 'boolean', description: 'False when nothing changed.' },
      added: { type: 'integer', description: 'Record lines added (the SOA serial bump included).' },
      removed: { type: 'integer', description: 'Record lines removed.' },
      dryRun: { type: 'boolean', description: 'True when nothing was applied.' },
      removedRecords: {
        type: 'array',
        items: { type: 'string' },
        description: 'Dry runs: lines the change would remove (as in VersionDiff).',
      },
      addedRecords: {
        type: 'array',
        items: { type: 'string' },
        description: 'Dry runs: lines the change would add (as in VersionDiff).',
      },
      warnings: warningsSchema,
    },
    required: [...zoneInfoRequired, 'changed', 'added', 'removed'],
  },
  {
    $id: 'ZoneVersion',
    type: 'object',
    description: 'One version of a zone (every change makes one).',
    properties: {
      version: { type: 'integer' },
      serial: { type: 'integer' },
      createdAt: timestamp,
      actor: { type: 'string', description: 'The token that made the change.' },
      remote: nullableString,
      comment: nullableString,
      kind: {
        type: 'string',
        enum: ['create', 'change', 'import', 'rollback', 'restore', 'update'],
        description: 'What made the version.',
      },
      added: { type: 'integer', description: 'Record lines added (disabled ones included).' },
      removed: { type: 'integer', description: 'Record lines removed (disabled ones included).' },
    },
    required: ['version', 'serial', 'createdAt', 'actor', 'remote', 'comment', 'added', 'removed'],
  },
  {
    $id: 'VersionDiff',
    type: 'object',
    description:
      'What one version changed, as master-file lines; a disabled record is its line behind `;disabled; ` ' +
      '(disabling a record removes its line and adds the marked one).',
    properties: {
      version: { type: 'integer' },
      serial: { type: 'integer' },
      fromSerial: { type: 'integer' },
      createdAt: timestamp,
      actor: { type: 'string' },
      remote: nullableString,
      comment: nullableString,
      kind: {
        type: 'string',
        enum: ['create', 'change', 'import', 'rollback', 'restore', 'update'],
        description: 'What made the version.',
      },
      added: { type: 'integer' },
      removed: { type: 'integer' },
      removedRecords: { type: 'array', items: { type: 'string' } },
      addedRecords: { type: 'array', items: { type: 'string' } },
    },
    required: [
      'version',
      'serial',
      'fromSerial',
      'createdAt',
      'actor',
      'added',
      'removed',
      'removedRecords',
      'addedRecords',
    ],
  },
  {
    $id: 'AuditEntry',
    type: 'object',
    description: 'Who did what, when, from which address.',
    properties: {
      id: { type: 'string' },
      at: timestamp,
      tokenId: nullableString,
      accountId: nullableString,
      action: { type: 'string' },
      target: { type: 'string' },
      remote: nullableString,
      detail: { description: 'Action-specific detail.' },
    },
    required: ['id', 'at', 'tokenId', 'accountId', 'action', 'target', 'remote'],
  },
];

/** Adds the shared schemas to an instance. */
export function addSharedSchemas(app: FastifyInstance): void {
  for (const s of sharedSchemas) app.addSchema(s);
}

/** A page of items: `{items, next}`. */
export function pageOf(id: string, description: string): Record<string, unknown> {
  return {
    type: 'object',
    description,
    properties: {
      items: { type: 'array', items: ref(id) },
      next: {
        type: 'string',
        description: 'Pass as `cursor` to get the following page; absent on the last.',
      },
    },
    required: ['items'],
  };
}

/** `?limit=&cursor=` (plus extra properties). */
export function pageQuery(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'object',
    properties: {
      limit: { type: 'integer', minimum: 1, maximum: 1000, description: 'Page size (default 100).' },
      cursor: { type: 'string', minLength: 1, description: 'The `next` of the previous page.' },
      ...extra,
    },
    additionalProperties: false,
  };
}

/** The `{zone}` path parameter. */
export const zoneParams = {
  type: 'object',
  properties: {
    zone: { type: 'string', minLength: 1, description: 'Zone name, with or without the final dot.' },
  },
  required: ['zone'],
  additionalProperties: false,
} as const;

/** The `If-Match` request header of changes. */
export const ifMatchHeaders = {
  type: 'object',
  properties: {
    'if-match': {
      type: 'string',
      description: 'Apply only if the zone is still at this version: `"<version>"` (the ETag) or `*`.',
    },
  },
} as const;

/** Response headers of zone reads and writes. */
export const etagHeader = {
  ETag: { type: 'string', description: 'The zone version, `"<version>"`.' },
} as const;

/** Error responses, documented once per status. */
export function errorResponses(...statuses: number[]): Record<number, unknown> {
  const text: Record<number, string> = {
    400: 'The request does not match the schema; `field` names the field at fault.',
    401: 'Missing, unknown or revoked API key.',
    403: 'The token may not do this, or a quota would be exceeded.',
    404: 'No such object, or it belongs to another account.',
    409: 'The name is taken.',
    412: 'If-Match names a version that is no longer current.',
    410: 'The version was pruned by the retention policy.',
    415: 'Unsupported body type.',
    422: "Invalid content (record syntax, CNAME exclusivity, names outside the zone, the server's TTL limit…).",
    429: 'A limit is reached (`limit` names it); retry after `Retry-After` seconds.',
  };
  const out: Record<number, unknown> = {};
  for (const s of statuses) out[s] = { description: text[s] ?? 'Error', ...ref('Error') };
  return out;
}
