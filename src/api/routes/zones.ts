/**
 * Zones under `/api/v1/zones`: CRUD, atomic RRset change sets, master-file import and export,
 * versions (list, diff, roll back). Every zone read and write carries the ETag `"<version>"`;
 * writes take `If-Match` (RFC 9110 §13.1.1) so two editors cannot overwrite each other.
 * @module
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type {
  ControlPlane,
  PageRequest,
  RecordData,
  RRsetChange,
  RRsetData,
  ZoneDetail,
  ZoneMetadataInput,
} from '../../control/types.js';
import { principalOf } from '../auth.js';
import type { DecodedZoneCreate, DecodedZonePatch } from '../body-decode.js';
import { ApiError, remapChangeField } from '../errors.js';
import { setZoneEtag, versionOfIfMatch } from '../etag.js';
import { absoluteName } from '../names.js';
import { BULK_BODY_LIMIT, decodeOffLoop, RawJsonBody, spliceRRsets } from '../raw-body.js';
import {
  errorResponses,
  etagHeader,
  ifMatchHeaders,
  pageOf,
  pageQuery,
  ref,
  sharedSchemas,
  zoneMetadataProperties,
  zoneParams,
} from '../schemas.js';

interface CreateZoneBody extends ZoneMetadataInput {
  name: string;
  accountId?: string;
  rrsets?: RRsetData[];
  zonefile?: string;
  nameservers?: string[];
  masters?: string[];
  slaveTsigKeyIds?: string[];
}

interface ChangeBody {
  op: RRsetChange['op'];
  name: string;
  type: string;
  ttl?: number;
  records?: RecordData[];
}

/** RFC 4027 §2: the media type of master-file text. */
export const ZONEFILE_MEDIA_TYPE = 'text/dns';

/** The body of POST /api/v1/zones (also compiled in the zone-work thread: body-decode.ts). */
export const createZoneBodySchema = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, description: 'Zone name (the final dot may be omitted).' },
    accountId: { type: 'string', minLength: 1, description: 'Administrators: the owning account.' },
    rrsets: { type: 'array', items: ref('RRset') },
    zonefile: { type: 'string', description: 'The zone as master-file text.' },
    nameservers: { type: 'array', items: { type: 'string', minLength: 1 } },
    masters: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      description: 'A Slave or Consumer zone: its masters (`ADDR[:PORT]`, `[V6]:PORT`), tried in order.',
    },
    slaveTsigKeyIds: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      maxItems: 1,
      description: "A Slave or Consumer zone: the TSIG key (of the zone's account) of its transfers.",
    },
    ...zoneMetadataProperties,
  },
  required: ['name'],
  additionalProperties: false,
};

/** The body of PATCH /api/v1/zones/{zone}/rrsets (likewise). */
export const patchRRsetsBodySchema = {
  type: 'object',
  properties: {
    changes: { type: 'array', minItems: 1, items: ref('RRsetChange') },
    comment: { type: 'string', maxLength: 1000, description: 'Kept with the version.' },
  },
  required: ['changes'],
  additionalProperties: false,
};

/** The fields of a ZoneDetail answer, in the schema's order. */
const ZONE_DETAIL_KEYS = Object.keys(
  (sharedSchemas.find((s) => s.$id === 'ZoneDetail') as { properties: Record<string, unknown> }).properties,
);

/**
 * A created zone's answer. A big zone's RRsets come as JSON text made in the zone-work thread
 * (`rrsetsJson`): spliced into the answer, which is sent as text (the fields the schema names).
 */
function sendCreated(reply: FastifyReply, zone: ZoneDetail & { rrsetsJson?: string }): unknown {
  setZoneEtag(reply, zone.version);
  reply.code(201).header('location', locationOfZone(zone.name));
  const { rrsetsJson, ...rest } = zone;
  if (rrsetsJson === undefined) return rest;
  const z = rest as unknown as Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (const k of ZONE_DETAIL_KEYS) if (k !== 'rrsets' && z[k] !== undefined) fields[k] = z[k];
  return sendText(reply, 'application/json; charset=utf-8', spliceRRsets(fields, rrsetsJson));
}

/** The Location of a zone. */
export function locationOfZone(name: string): string {
  return `/api/v1/zones/${encodeURIComponent(name)}`;
}

/** The change set of a PATCH body, with the fields each operation needs checked. */
export function changesOfBody(changes: ChangeBody[]): RRsetChange[] {
  return changes.map((c, i): RRsetChange => {
    const name = absoluteName(c.name, `changes[${i}].name`);
    const type = c.type.toUpperCase();
    const need = (field: 'ttl' | 'records'): void => {
      if (c[field] === undefined) {
        throw new ApiError(
          400,
          'API_ERR_BAD_REQUEST',
          `changes[${i}].${field} is required by '${c.op}'`,
          `changes[${i}].${field}`,
        );
      }
    };
    switch (c.op) {
      case 'replace':
      case 'add':
        need('ttl');
        need('records');
        return { op: c.op, name, type, ttl: c.ttl as number, records: c.records as RecordData[] };
      case 'remove':
        need('records');
        return { op: 'remove', name, type, records: c.records as RecordData[] };
      default:
        return { op: 'delete', name, type };
    }
  });
}

function zoneOf(request: FastifyRequest<{ Params: { zone: string } }>): string {
  return absoluteName(request.params.zone);
}

/** The If-Match version of a request (a list of tags is resolved against the current version). */
async function ifMatchOf(
  control: ControlPlane,
  request: FastifyRequest,
  zone: string,
): Promise<number | undefined> {
  return versionOfIfMatch(request.headers['if-match'], async () => {
    return (await control.getZone(principalOf(request), zone)).version;
  });
}

function mediaTypeOf(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

const zoneChangeResponse = {
  description:
    'The zone after the change (`changed: false`: nothing changed; `dryRun: true`: nothing applied)',
  headers: etagHeader,
  ...ref('ZoneChange'),
};

/** `?dryRun=true` (and `?comment=` where the body is no JSON object). */
function changeQuery(withComment: boolean): Record<string, unknown> {
  return {
    type: 'object',
    properties: {
      dryRun: {
        type: 'boolean',
        default: false,
        description:
          'Check the change and answer what it would do (`removedRecords`, `addedRecords`) without applying it.',
      },
      ...(withComment
        ? { comment: { type: 'string', maxLength: 1000, description: 'Kept with the version.' } }
        : {}),
    },
    additionalProperties: false,
  };
}

/** The control-plane options of a change request. */
function changeOptionsOf(
  ifMatch: number | undefined,
  comment: string | undefined,
  dryRun: boolean | undefined,
) {
  return {
    ...(ifMatch !== undefined ? { ifMatch } : {}),
    ...(comment !== undefined ? { comment } : {}),
    ...(dryRun === true ? { dryRun: true } : {}),
  };
}

/** Registers the zone routes. */
export function registerZoneRoutes(app: FastifyInstance, control: ControlPlane): void {
  app.get<{ Querystring: { accountId?: string } & PageRequest }>(
    '/api/v1/zones',
    {
      schema: {
        tags: ['zones'],
        summary: 'List zones',
        querystring: pageQuery({
          accountId: { type: 'string', minLength: 1, description: 'Administrators: one account.' },
        }),
        response: { 200: pageOf('ZoneInfo', 'A page of zones.'), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => control.listZones(principalOf(request), request.query),
  );

  app.post<{ Body: CreateZoneBody | RawJsonBody }>(
    '/api/v1/zones',
    {
      config: { rawBody: 'zones.create' },
      bodyLimit: BULK_BODY_LIMIT,
      schema: {
        tags: ['zones'],
        summary: 'Create a zone from RRsets or master-file text',
        description:
          'Without an SOA one is made; `nameservers` (host names, RFC 952/1123) become the apex NS RRset. ' +
          '`zonefile` is master-file text (RFC 1035 §5) and excludes `rrsets`. `kind`, `soaEditApi` and ' +
          '`accountLabel` default to `Native`, `DEFAULT` and empty. `warnings` lists in-zone NS targets ' +
          'without address records.',
        body: createZoneBodySchema,
        response: {
          201: {
            description: 'Created',
            headers: { ...etagHeader, Location: { type: 'string' } },
            ...ref('ZoneDetail'),
          },
          ...errorResponses(400, 401, 403, 404, 409, 422),
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (body instanceof RawJsonBody) {
        // Too big for the request loop: parsed, validated and mapped in the zone-work thread.
        const d = await decodeOffLoop<DecodedZoneCreate>(control, 'zones.create', body);
        const zone = await control.createZone(principalOf(request), {
          ...(d.input as unknown as CreateZoneBody),
          ...(d.rrsets !== undefined ? { rrsets: d.rrsets } : {}),
        });
        return sendCreated(reply, zone);
      }
      if (body.zonefile !== undefined && body.rrsets !== undefined) {
        throw new ApiError(
          400,
          'API_ERR_BAD_REQUEST',
          'give either rrsets or zonefile, not both',
          'zonefile',
        );
      }
      const zone = await control.createZone(principalOf(request), {
        ...body,
        name: absoluteName(body.name, 'name'),
        ...(body.rrsets !== undefined
          ? { rrsets: body.rrsets.map((r, i) => ({ ...r, name: absoluteName(r.name, `rrsets[${i}].name`) })) }
          : {}),
      });
      return sendCreated(reply, zone);
    },
  );

  app.get<{ Params: { zone: string } }>(
    '/api/v1/zones/:zone',
    {
      schema: {
        tags: ['zones'],
        summary: 'Get a zone with its RRsets',
        params: zoneParams,
        response: {
          200: { description: 'The zone', headers: etagHeader, ...ref('ZoneDetail') },
          ...errorResponses(401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const zone = await control.getZone(principalOf(request), zoneOf(request));
      setZoneEtag(reply, zone.version);
      return zone;
    },
  );

  app.patch<{ Params: { zone: string }; Body: ZoneMetadataInput }>(
    '/api/v1/zones/:zone',
    {
      schema: {
        tags: ['zones'],
        summary: "Change a zone's settings (kind, soaEditApi, accountLabel)",
        description:
          'The settings given change, the others stay. Not a content change: no new version, no serial ' +
          'bump, the ETag stays; one `zone.metadata` audit row when something changed.',
        params: zoneParams,
        headers: ifMatchHeaders,
        body: {
          type: 'object',
          properties: zoneMetadataProperties,
          additionalProperties: false,
        },
        response: {
          200: { description: 'The zone', headers: etagHeader, ...ref('ZoneInfo') },
          ...errorResponses(400, 401, 403, 404, 412, 422),
        },
      },
    },
    async (request, reply) => {
      const zone = zoneOf(request);
      const ifMatch = await ifMatchOf(control, request, zone);
      const b = request.body;
      const input: ZoneMetadataInput = {};
      if (b.kind !== undefined) input.kind = b.kind;
      if (b.soaEditApi !== undefined) input.soaEditApi = b.soaEditApi;
      if (b.accountLabel !== undefined) input.accountLabel = b.accountLabel;
      if (b.catalog !== undefined) input.catalog = b.catalog;
      const info = await control.updateZoneMetadata(
        principalOf(request),
        zone,
        input,
        ifMatch !== undefined ? { ifMatch } : {},
      );
      setZoneEtag(reply, info.version);
      return info;
    },
  );

  app.delete<{ Params: { zone: string } }>(
    '/api/v1/zones/:zone',
    {
      schema: {
        tags: ['zones'],
        summary: 'Delete a zone',
        params: zoneParams,
        headers: ifMatchHeaders,
        response: { 204: { description: 'Deleted', type: 'null' }, ...errorResponses(401, 403, 404, 412) },
      },
    },
    async (request, reply) => {
      const zone = zoneOf(request);
      const ifMatch = await ifMatchOf(control, request, zone);
      await control.deleteZone(principalOf(request), zone, ifMatch === undefined ? {} : { ifMatch });
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { zone: string }; Querystring: { name?: string; type?: string } }>(
    '/api/v1/zones/:zone/rrsets',
    {
      schema: {
        tags: ['rrsets'],
        summary: "List a zone's RRsets",
        params: zoneParams,
        querystring: {
          type: 'object',
          properties: {
            name: { type: 'string', minLength: 1, description: 'Only this owner name.' },
            type: { type: 'string', minLength: 1, description: 'Only this type.' },
          },
          additionalProperties: false,
        },
        response: {
          200: {
            description: 'The RRsets in canonical order',
            headers: etagHeader,
            type: 'object',
            properties: { items: { type: 'array', items: ref('RRset') } },
            required: ['items'],
          },
          ...errorResponses(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const zone = await control.getZone(principalOf(request), zoneOf(request));
      const name =
        request.query.name === undefined ? undefined : absoluteName(request.query.name, 'name').toLowerCase();
      const type = request.query.type?.toUpperCase();
      setZoneEtag(reply, zone.version);
      return {
        items: zone.rrsets.filter(
          (r) =>
            (name === undefined || r.name.toLowerCase() === name) && (type === undefined || r.type === type),
        ),
      };
    },
  );

  app.patch<{
    Params: { zone: string };
    Querystring: { dryRun?: boolean };
    Body: { changes: ChangeBody[]; comment?: string } | RawJsonBody;
  }>(
    '/api/v1/zones/:zone/rrsets',
    {
      config: { rawBody: 'zones.patch' },
      bodyLimit: BULK_BODY_LIMIT,
      schema: {
        tags: ['rrsets'],
        summary: 'Change RRsets atomically (all or nothing)',
        description:
          'The changes apply in order, as one new version with one SOA serial bump, or not at all. ' +
          'A change set that changes nothing makes no version (`changed: false`).',
        params: zoneParams,
        headers: ifMatchHeaders,
        querystring: changeQuery(false),
        body: patchRRsetsBodySchema,
        response: { 200: zoneChangeResponse, ...errorResponses(400, 401, 403, 404, 412, 422) },
      },
    },
    async (request, reply) => {
      const zone = zoneOf(request);
      const body = request.body;
      // A big body is parsed, validated and mapped in the zone-work thread (raw-body.ts).
      const decoded =
        body instanceof RawJsonBody
          ? await decodeOffLoop<DecodedZonePatch>(control, 'zones.patch', body)
          : { changes: changesOfBody(body.changes), comment: body.comment };
      const ifMatch = await ifMatchOf(control, request, zone);
      const info = await control
        .changeRRsets(
          principalOf(request),
          zone,
          decoded.changes,
          changeOptionsOf(ifMatch, decoded.comment, request.query.dryRun),
        )
        .catch((err: unknown) => {
          throw remapChangeField(err, (i) => `changes[${i}]`);
        });
      setZoneEtag(reply, info.version);
      return info;
    },
  );

  app.put<{ Params: { zone: string }; Querystring: { comment?: string; dryRun?: boolean }; Body: string }>(
    '/api/v1/zones/:zone/zonefile',
    {
      bodyLimit: BULK_BODY_LIMIT,
      schema: {
        tags: ['zonefile'],
        summary: "Replace a zone's content with master-file text",
        description:
          'The body is the zone in master-file format (RFC 1035 §5), sent as `text/dns` (RFC 4027) or `text/plain`. ' +
          'A line `;disabled; <record>` is a disabled record (the export writes them so). Text that holds the ' +
          'current content makes no version (`changed: false`).',
        params: zoneParams,
        headers: ifMatchHeaders,
        querystring: changeQuery(true),
        body: {
          content: {
            [ZONEFILE_MEDIA_TYPE]: { schema: { type: 'string' } },
            'text/plain': { schema: { type: 'string' } },
          },
        },
        response: { 200: zoneChangeResponse, ...errorResponses(400, 401, 403, 404, 412, 415, 422) },
      },
    },
    async (request, reply) => {
      const media = mediaTypeOf(request);
      if ((media !== ZONEFILE_MEDIA_TYPE && media !== 'text/plain') || typeof request.body !== 'string') {
        throw new ApiError(
          415,
          'API_ERR_UNSUPPORTED_MEDIA',
          'send the zone as text/dns or text/plain',
          'Content-Type',
        );
      }
      const zone = zoneOf(request);
      const ifMatch = await ifMatchOf(control, request, zone);
      const info = await control.importZone(
        principalOf(request),
        zone,
        request.body,
        changeOptionsOf(ifMatch, request.query.comment, request.query.dryRun),
      );
      setZoneEtag(reply, info.version);
      return info;
    },
  );

  app.get<{ Params: { zone: string } }>(
    '/api/v1/zones/:zone/zonefile',
    {
      schema: {
        tags: ['zonefile'],
        summary: 'Export a zone as master-file text',
        description:
          'Absolute names, the SOA first, then canonical order. A disabled record is written as a comment, ' +
          '`;disabled; <record>`, which an import reads back as a disabled record.',
        params: zoneParams,
        response: {
          200: {
            description: 'The zone in master-file format',
            headers: etagHeader,
            content: { [ZONEFILE_MEDIA_TYPE]: { schema: { type: 'string' } } },
          },
          ...errorResponses(401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const zone = zoneOf(request);
      // Read the version first: a change landing in between makes the ETag older than the text,
      // so a later If-Match fails safely instead of overwriting a change the client never saw.
      const { version } = await control.getZone(p, zone);
      const text = await control.exportZone(p, zone);
      setZoneEtag(reply, version);
      return sendText(reply, `${ZONEFILE_MEDIA_TYPE}; charset=utf-8`, text);
    },
  );

  app.get<{ Params: { zone: string }; Querystring: PageRequest }>(
    '/api/v1/zones/:zone/versions',
    {
      schema: {
        tags: ['versions'],
        summary: "List a zone's versions",
        params: zoneParams,
        querystring: pageQuery(),
        response: {
          200: pageOf('ZoneVersion', 'A page of versions.'),
          ...errorResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => control.listVersions(principalOf(request), zoneOf(request), request.query),
  );

  app.get<{ Params: { zone: string; version: number } }>(
    '/api/v1/zones/:zone/versions/:version',
    {
      schema: {
        tags: ['versions'],
        summary: 'What one version changed',
        params: {
          type: 'object',
          properties: {
            zone: zoneParams.properties.zone,
            version: { type: 'integer', minimum: 1 },
          },
          required: ['zone', 'version'],
          additionalProperties: false,
        },
        response: {
          200: { description: 'The diff', ...ref('VersionDiff') },
          ...errorResponses(400, 401, 403, 404),
        },
      },
    },
    async (request) => control.getVersion(principalOf(request), zoneOf(request), request.params.version),
  );

  app.post<{
    Params: { zone: string };
    Querystring: { dryRun?: boolean };
    Body: { version: number; comment?: string };
  }>(
    '/api/v1/zones/:zone/rollback',
    {
      schema: {
        tags: ['versions'],
        summary: 'Make the content of an earlier version current again (as a new version)',
        description: 'Rolling back to the content the zone already has makes no version (`changed: false`).',
        params: zoneParams,
        headers: ifMatchHeaders,
        querystring: changeQuery(false),
        body: {
          type: 'object',
          properties: {
            version: { type: 'integer', minimum: 1 },
            comment: { type: 'string', maxLength: 1000 },
          },
          required: ['version'],
          additionalProperties: false,
        },
        response: { 200: zoneChangeResponse, ...errorResponses(400, 401, 403, 404, 412, 422) },
      },
    },
    async (request, reply) => {
      const zone = zoneOf(request);
      const ifMatch = await ifMatchOf(control, request, zone);
      const info = await control.rollback(
        principalOf(request),
        zone,
        request.body.version,
        changeOptionsOf(ifMatch, request.body.comment, request.query.dryRun),
      );
      setZoneEtag(reply, info.version);
      return info;
    },
  );
}

/** Sends text as is (bypassing the JSON serializer). */
export function sendText(reply: FastifyReply, type: string, text: string): FastifyReply {
  return reply
    .type(type)
    .serializer((s: unknown) => String(s))
    .send(text);
}
