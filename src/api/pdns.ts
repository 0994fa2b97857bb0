/**
 * The PowerDNS-compatible API (issue 3 §4): the subset of PowerDNS Authoritative's HTTP API
 * (version 1) that DNS automation uses — lego's `pdns` provider, external-dns, cert-manager
 * webhooks, octoDNS, DNSControl, Terraform's powerdns provider — answered from the control
 * plane. Shapes follow what PowerDNS 4.7 sends (keys sorted, as it does). Zone metadata that
 * clients set and read back (kind, soa_edit_api, account) is kept with the zone; what
 * Switchboard has no notion of (SOA-EDIT, TSIG, catalogs, DNSSEC) is reported as PowerDNS's
 * defaults. docs/API.md lists the differences.
 * @module
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  ControlError,
  type ControlPlane,
  type Principal,
  type RRsetChange,
  type RRsetData,
  type ZoneDetail,
  type ZoneInfo,
  type ZoneMetadataInput,
} from '../control/types.js';
import { parseZoneKind } from '../control/zone-metadata.js';
import { principalOf } from './auth.js';
import { ApiError, remapChangeField } from './errors.js';
import { absoluteName, zoneIdOfName, zoneNameOfId } from './names.js';
import { sendText } from './routes/zones.js';
import { MAX_TTL } from './schemas.js';

/** Where PowerDNS serves its one server. */
export const PDNS_SERVER_URL = '/api/v1/servers/localhost';

/** A PowerDNS record. */
export interface PdnsRecord {
  content: string;
  disabled: boolean;
}

/** A PowerDNS RRset as PowerDNS sends it. */
export interface PdnsRRset {
  comments: unknown[];
  name: string;
  records: PdnsRecord[];
  ttl: number;
  type: string;
}

/** A PowerDNS RRset of a PATCH or POST body. */
interface PdnsRRsetInput {
  name: string;
  type: string;
  changetype?: string;
  ttl?: number;
  records?: { content: string; disabled?: boolean }[] | null;
  comments?: unknown[] | null;
}

/** The zone settings of a POST or PUT body (PowerDNS changes only those given as strings). */
interface PdnsZoneSettings {
  kind?: string | null;
  account?: string | null;
  soa_edit_api?: string | null;
  masters?: string[] | null;
  dnssec?: boolean | null;
  [other: string]: unknown;
}

interface PdnsCreateBody extends PdnsZoneSettings {
  name: string;
  nameservers?: string[] | null;
  rrsets?: PdnsRRsetInput[] | null;
  zone?: string | null;
}

const config = { pdns: true } as const;
const tags = ['powerdns'];

const recordInput = {
  type: 'object',
  properties: { content: { type: 'string' }, disabled: { type: 'boolean' } },
  required: ['content'],
} as const;
const rrsetInput = {
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
const zoneSettingsProperties = {
  kind: { type: ['string', 'null'], description: 'Native or Master (Primary); secondary kinds are refused.' },
  account: { type: ['string', 'null'], description: 'Free text, kept and reported.' },
  soa_edit_api: { type: ['string', 'null'], description: 'Kept and reported; serials always go up by one.' },
  masters: {
    type: ['array', 'null'],
    items: { type: 'string' },
    description: 'Only [] (Switchboard does not transfer zones in).',
  },
  dnssec: { type: ['boolean', 'null'], description: 'Only false (no signing yet).' },
} as const;

/** Where the control plane's metadata fields are in a PowerDNS body. */
const pdnsFieldOfMetadata: Record<string, string> = {
  kind: 'kind',
  soaEditApi: 'soa_edit_api',
  accountLabel: 'account',
};

/** Renames a metadata field of a control-plane error to the PowerDNS body's name for it. */
function remapMetadataField(err: unknown): unknown {
  if (!(err instanceof ControlError) || err.field === undefined) return err;
  const field = pdnsFieldOfMetadata[err.field];
  return field === undefined || field === err.field ? err : new ControlError(err.code, err.message, field);
}

const zoneIdParams = {
  type: 'object',
  properties: {
    zone_id: { type: 'string', minLength: 1, description: 'Zone id: the name with final dot, `/` as `=2F`.' },
  },
  required: ['zone_id'],
} as const;

/** The URL of a zone. */
export function urlOfZone(name: string): string {
  return `${PDNS_SERVER_URL}/zones/${zoneIdOfName(name)}`;
}

/** The Server object. `version` looks like a PowerDNS version, since clients (octoDNS) branch on it. */
export function serverObject(version: string): Record<string, string> {
  return {
    autoprimaries_url: `${PDNS_SERVER_URL}/autoprimaries{/autoprimary}`,
    config_url: `${PDNS_SERVER_URL}/config{/config_setting}`,
    daemon_type: 'authoritative',
    id: 'localhost',
    type: 'Server',
    url: PDNS_SERVER_URL,
    version,
    zones_url: `${PDNS_SERVER_URL}/zones{/zone}`,
  };
}

/**
 * The `notified_serial` of a zone: the serial last sent to secondaries in NOTIFYs. PowerDNS
 * never notifies for Native zones (0). A Master zone's every version reaches every Switchboard
 * server as it commits, and there are no outside secondaries to tell yet, so no notification
 * is outstanding: the current serial. Clients that wait for `notified_serial == serial` (or
 * alert while it differs) then go on instead of waiting forever.
 */
export function notifiedSerialOf(z: ZoneInfo): number {
  return z.kind === 'Master' ? z.serial : 0;
}

/** A zone as PowerDNS lists it. */
export function pdnsZoneSummary(z: ZoneInfo): Record<string, unknown> {
  return {
    account: z.accountLabel,
    catalog: '',
    dnssec: false,
    // The serial as served after SOA-EDIT, which Switchboard does not apply: the serial.
    edited_serial: z.serial,
    id: zoneIdOfName(z.name),
    kind: z.kind,
    last_check: 0,
    masters: [],
    name: z.name,
    notified_serial: notifiedSerialOf(z),
    serial: z.serial,
    url: urlOfZone(z.name),
  };
}

/** An RRset in PowerDNS form. */
export function pdnsRRset(r: RRsetData): PdnsRRset {
  return {
    comments: [],
    name: r.name,
    records: r.records.map((x) => ({ content: x.content, disabled: x.disabled ?? false })),
    ttl: r.ttl,
    type: r.type,
  };
}

/** A zone as PowerDNS shows one zone (`rrsets` null leaves them out, as `?rrsets=false`). */
export function pdnsZoneDetail(z: ZoneDetail, rrsets: RRsetData[] | null): Record<string, unknown> {
  const out: Record<string, unknown> = {
    account: z.accountLabel,
    api_rectify: false,
    catalog: '',
    dnssec: false,
    edited_serial: z.serial,
    id: zoneIdOfName(z.name),
    kind: z.kind,
    last_check: 0,
    master_tsig_key_ids: [],
    masters: [],
    name: z.name,
    notified_serial: notifiedSerialOf(z),
    nsec3narrow: false,
    nsec3param: '',
  };
  if (rrsets !== null) out.rrsets = rrsets.map(pdnsRRset);
  Object.assign(out, {
    serial: z.serial,
    slave_tsig_key_ids: [],
    soa_edit: '',
    soa_edit_api: z.soaEditApi,
    url: urlOfZone(z.name),
  });
  return out;
}

function unprocessable(message: string, field?: string): ApiError {
  return new ApiError(422, 'API_ERR_UNPROCESSABLE', message, field);
}

function ttlOf(r: PdnsRRsetInput, i: number): number {
  if (r.ttl === undefined) throw unprocessable(`Key 'ttl' not an Integer or not present`, `rrsets[${i}].ttl`);
  return r.ttl;
}

function recordsOf(r: PdnsRRsetInput): { content: string; disabled?: boolean }[] {
  return (r.records ?? []).map((x) =>
    x.disabled === undefined ? { content: x.content } : { content: x.content, disabled: x.disabled },
  );
}

/**
 * The change set of a PowerDNS PATCH. REPLACE with records sets the RRset, with an empty list
 * removes it, without `records` changes nothing (PowerDNS then replaces only comments, which
 * Switchboard does not keep); DELETE removes; EXTEND and PRUNE (PowerDNS 5) add and remove records.
 */
export function changesOfPdnsRRsets(rrsets: PdnsRRsetInput[], sources: number[] = []): RRsetChange[] {
  const seen = new Set<string>();
  const changes: RRsetChange[] = [];
  // sources[k]: the index in `rrsets` that change k came from (for error fields).
  const push = (c: RRsetChange, i: number): void => {
    changes.push(c);
    sources.push(i);
  };
  rrsets.forEach((r, i) => {
    const name = absoluteName(r.name, `rrsets[${i}].name`);
    const type = r.type.toUpperCase();
    const changetype = (r.changetype ?? '').toUpperCase();
    // As in PowerDNS, an RRset may appear once per changetype: a REPLACE and a DELETE of it
    // both apply, in order (the later one decides), but two REPLACEs are an error.
    const key = `${name.toLowerCase()} ${type} ${changetype}`;
    if (seen.has(key)) {
      throw unprocessable(
        `Duplicate RRset ${name} IN ${type} with changetype: ${changetype}`,
        `rrsets[${i}]`,
      );
    }
    seen.add(key);
    switch (changetype) {
      case 'REPLACE':
        if (r.records === undefined || r.records === null) return;
        if (r.records.length === 0) push({ op: 'delete', name, type }, i);
        else push({ op: 'replace', name, type, ttl: ttlOf(r, i), records: recordsOf(r) }, i);
        return;
      case 'DELETE':
        push({ op: 'delete', name, type }, i);
        return;
      case 'EXTEND':
        push({ op: 'add', name, type, ttl: ttlOf(r, i), records: recordsOf(r) }, i);
        return;
      case 'PRUNE':
        push({ op: 'remove', name, type, records: recordsOf(r) }, i);
        return;
      default:
        throw unprocessable('Changetype not understood', `rrsets[${i}].changetype`);
    }
  });
  return changes;
}

/** The RRsets of a PowerDNS zone creation (entries marked DELETE, or without records, make nothing). */
export function rrsetsOfPdnsCreate(rrsets: PdnsRRsetInput[]): RRsetData[] {
  const out: RRsetData[] = [];
  rrsets.forEach((r, i) => {
    if ((r.changetype ?? '').toUpperCase() === 'DELETE' || (r.records ?? []).length === 0) return;
    out.push({
      name: absoluteName(r.name, `rrsets[${i}].name`),
      type: r.type.toUpperCase(),
      ttl: ttlOf(r, i),
      records: recordsOf(r),
    });
  });
  return out;
}

/**
 * Checks the settings of a POST or PUT that the control plane has no notion of: `masters`
 * (zones are not transferred in) and `dnssec` (no signing yet). The kind first, so that a
 * secondary zone with its primaries is refused for being a secondary.
 */
function checkUnsupportedSettings(b: PdnsZoneSettings): void {
  if (typeof b.kind === 'string') parseZoneKind(b.kind, 'kind');
  if (b.masters != null && b.masters.length > 0)
    throw unprocessable(
      'masters must be empty: Switchboard does not transfer zones in (no secondary zones yet)',
      'masters',
    );
  if (b.dnssec === true) throw unprocessable('DNSSEC signing is not supported yet', 'dnssec');
}

/** The metadata a POST or PUT sets: like PowerDNS, only settings given as strings. */
function metadataOfBody(b: PdnsZoneSettings): ZoneMetadataInput {
  const out: ZoneMetadataInput = {};
  if (typeof b.kind === 'string') out.kind = b.kind;
  if (typeof b.soa_edit_api === 'string') out.soaEditApi = b.soa_edit_api;
  if (typeof b.account === 'string') out.accountLabel = b.account;
  return out;
}

function zoneNameOf(request: FastifyRequest<{ Params: { zone_id: string } }>): string {
  return zoneNameOfId(request.params.zone_id);
}

/** Every zone the principal sees (PowerDNS lists have no pages). */
async function allZones(control: ControlPlane, p: Principal): Promise<ZoneInfo[]> {
  const out: ZoneInfo[] = [];
  let cursor: string | undefined;
  do {
    const page = await control.listZones(p, { limit: 1000, ...(cursor !== undefined ? { cursor } : {}) });
    out.push(...page.items);
    cursor = page.next;
  } while (cursor !== undefined);
  return out;
}

function queryFlag(value: unknown): boolean {
  return value !== 'false' && value !== false && value !== '0';
}

/**
 * The Switchboard account an administrator's `account` label names, if it is the id of one
 * (other principals' labels are only labels: their zones stay in their own account).
 */
async function ownerOfLabel(
  control: ControlPlane,
  p: Principal,
  label: string | undefined,
): Promise<string | undefined> {
  if (!p.scope.admin || label === undefined || label === '') return undefined;
  try {
    return (await control.getAccount(p, label)).id;
  } catch (err) {
    if (err instanceof ControlError && err.code === 'CTL_ERR_NOT_FOUND') return undefined;
    throw err;
  }
}

/** Registers the PowerDNS-compatible routes. */
export function registerPdnsRoutes(
  app: FastifyInstance,
  control: ControlPlane,
  opts: { version: string },
): void {
  const version = `4.7.0-switchboard-${opts.version}`;
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  // PowerDNS reads the body as JSON whatever its Content-Type: a text/plain body arrives here as a string.
  const preValidation = async (request: FastifyRequest): Promise<void> => {
    const body = request.body;
    if (typeof body !== 'string' || !/^\s*[[{]/.test(body)) return;
    request.body = await new Promise((resolve, reject) => {
      jsonParser(request, body, (err, value) => (err ? reject(err) : resolve(value)));
    });
  };

  app.get(
    '/api',
    {
      config: { ...config, public: true },
      schema: { tags, summary: 'API versions (PowerDNS discovery)', security: [] },
    },
    async () => [{ url: '/api/v1', version: 1 }],
  );

  app.get('/api/v1', { config, schema: { tags, summary: 'API features (PowerDNS)' } }, async () => [
    { api_features: [], server_url: '/api/v1/servers{/server}' },
  ]);

  app.get('/api/v1/servers', { config, schema: { tags, summary: 'List servers (PowerDNS)' } }, async () => [
    serverObject(version),
  ]);

  app.get(PDNS_SERVER_URL, { config, schema: { tags, summary: 'The server (PowerDNS)' } }, async () =>
    serverObject(version),
  );

  app.get(
    `${PDNS_SERVER_URL}/statistics`,
    { config, schema: { tags, summary: 'Statistics (PowerDNS; empty)' } },
    async () => [],
  );

  app.get(
    `${PDNS_SERVER_URL}/config`,
    { config, schema: { tags, summary: 'Configuration (PowerDNS)' } },
    async () => [
      { name: 'api', type: 'ConfigSetting', value: 'yes' },
      { name: 'daemon', type: 'ConfigSetting', value: 'switchboard' },
    ],
  );

  app.get(
    `${PDNS_SERVER_URL}/autoprimaries`,
    { config, schema: { tags, summary: 'Autoprimaries (PowerDNS; none)' } },
    async () => [],
  );

  app.get<{ Querystring: { zone?: string } }>(
    `${PDNS_SERVER_URL}/zones`,
    {
      config,
      schema: {
        tags,
        summary: 'List zones (PowerDNS)',
        querystring: {
          type: 'object',
          properties: {
            zone: { type: 'string', minLength: 1, description: 'Only this zone.' },
            dnssec: { type: 'string', description: 'Accepted; DNSSEC state is always false.' },
          },
        },
      },
    },
    async (request) => {
      const p = principalOf(request);
      if (request.query.zone !== undefined) {
        try {
          return [pdnsZoneSummary(await control.getZone(p, absoluteName(request.query.zone)))];
        } catch (err) {
          if (err instanceof ControlError && err.code === 'CTL_ERR_NOT_FOUND') return [];
          throw err;
        }
      }
      return (await allZones(control, p)).map(pdnsZoneSummary);
    },
  );

  app.post<{ Body: PdnsCreateBody; Querystring: { rrsets?: string } }>(
    `${PDNS_SERVER_URL}/zones`,
    {
      config,
      preValidation,
      bodyLimit: 64 * 1024 * 1024,
      schema: {
        tags,
        summary: 'Create a zone (PowerDNS)',
        description:
          'Takes name, nameservers, rrsets or zone (master-file text), and the zone settings kind ' +
          '(Native, Master), soa_edit_api and account, which are kept and reported back. masters must ' +
          'be empty; soa_edit, api_rectify and the like are accepted and ignored. An administrator ' +
          'whose `account` is the id of a Switchboard account puts the zone in that account.',
        querystring: { type: 'object', properties: { rrsets: { type: 'string', enum: ['true', 'false'] } } },
        body: {
          type: 'object',
          properties: {
            name: { type: 'string', minLength: 1 },
            ...zoneSettingsProperties,
            nameservers: { type: ['array', 'null'], items: { type: 'string', minLength: 1 } },
            rrsets: { type: ['array', 'null'], items: rrsetInput },
            zone: { type: ['string', 'null'] },
          },
          required: ['name'],
        },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const b = request.body;
      const name = absoluteName(b.name, 'name');
      const metadata = metadataOfBody(b);
      // PowerDNS's `account` is free text, kept as the zone's label. An administrator whose
      // label is the id of a Switchboard account also puts the zone in that account.
      const accountId = await ownerOfLabel(control, p, metadata.accountLabel);
      let rrsets: RRsetData[];
      try {
        checkUnsupportedSettings(b);
        rrsets = rrsetsOfPdnsCreate(b.rrsets ?? []);
        if (b.zone != null && rrsets.length > 0)
          throw unprocessable('give either zone or rrsets, not both', 'zone');
      } catch (err) {
        // PowerDNS looks for the zone before reading the rest: a taken name is 409 first.
        await control.checkNewZone(p, { name, ...(accountId !== undefined ? { accountId } : {}) });
        throw err;
      }
      const zone = await control
        .createZone(p, {
          name,
          ...(accountId !== undefined ? { accountId } : {}),
          ...(b.zone != null ? { zonefile: b.zone } : { rrsets }),
          ...(b.nameservers != null && b.nameservers.length > 0 ? { nameservers: b.nameservers } : {}),
          ...metadata,
        })
        .catch((err: unknown) => {
          throw remapMetadataField(err);
        });
      reply.code(201).header('location', urlOfZone(zone.name));
      return pdnsZoneDetail(zone, queryFlag(request.query.rrsets) ? zone.rrsets : null);
    },
  );

  app.get<{
    Params: { zone_id: string };
    Querystring: { rrsets?: string; rrset_name?: string; rrset_type?: string };
  }>(
    `${PDNS_SERVER_URL}/zones/:zone_id`,
    {
      config,
      schema: {
        tags,
        summary: 'Get a zone with its RRsets (PowerDNS)',
        params: zoneIdParams,
        querystring: {
          type: 'object',
          properties: {
            rrsets: {
              type: 'string',
              enum: ['true', 'false'],
              description: '`false` leaves the RRsets out.',
            },
            rrset_name: { type: 'string', minLength: 1, description: 'Only RRsets of this owner name.' },
            rrset_type: { type: 'string', minLength: 1, description: 'Only RRsets of this type.' },
          },
        },
      },
    },
    async (request) => {
      const zone = await control.getZone(principalOf(request), zoneNameOf(request));
      const q = request.query;
      if (!queryFlag(q.rrsets)) return pdnsZoneDetail(zone, null);
      const name =
        q.rrset_name === undefined ? undefined : absoluteName(q.rrset_name, 'rrset_name').toLowerCase();
      const type = q.rrset_type?.toUpperCase();
      return pdnsZoneDetail(
        zone,
        zone.rrsets.filter(
          (r) =>
            (name === undefined || r.name.toLowerCase() === name) && (type === undefined || r.type === type),
        ),
      );
    },
  );

  app.patch<{ Params: { zone_id: string }; Body: { rrsets: PdnsRRsetInput[] } }>(
    `${PDNS_SERVER_URL}/zones/:zone_id`,
    {
      config,
      preValidation,
      schema: {
        tags,
        summary: 'Change RRsets (PowerDNS): changetype REPLACE, DELETE, EXTEND, PRUNE',
        params: zoneIdParams,
        body: {
          type: 'object',
          properties: { rrsets: { type: 'array', items: rrsetInput } },
          required: ['rrsets'],
        },
        response: { 204: { description: 'Changed', type: 'null' } },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const zone = zoneNameOf(request);
      const sources: number[] = [];
      const changes = changesOfPdnsRRsets(request.body.rrsets, sources);
      if (changes.length === 0) {
        await control.getZone(p, zone); // nothing to do, but the zone must be there
      } else {
        await control.changeRRsets(p, zone, changes).catch((err: unknown) => {
          throw remapChangeField(err, (k) => `rrsets[${sources[k] ?? k}]`);
        });
      }
      return reply.code(204).send();
    },
  );

  app.put<{ Params: { zone_id: string }; Body: PdnsZoneSettings | undefined }>(
    `${PDNS_SERVER_URL}/zones/:zone_id`,
    {
      config,
      preValidation,
      schema: {
        tags,
        summary: 'Change zone settings (PowerDNS): kind, soa_edit_api, account',
        description:
          'Settings given as strings change, the others stay; not a content change (no new version, ' +
          'no serial bump). nameservers are only read at creation; masters must be empty.',
        params: zoneIdParams,
        body: { type: ['object', 'null'], properties: zoneSettingsProperties },
        response: { 204: { description: 'Changed', type: 'null' } },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const zone = zoneNameOf(request);
      const b = request.body ?? {};
      try {
        checkUnsupportedSettings(b);
      } catch (err) {
        // As in PowerDNS, an unknown zone is 404 first (and a read-only key 403).
        await control.updateZoneMetadata(p, zone, {});
        throw err;
      }
      await control.updateZoneMetadata(p, zone, metadataOfBody(b)).catch((err: unknown) => {
        throw remapMetadataField(err);
      });
      return reply.code(204).send();
    },
  );

  app.delete<{ Params: { zone_id: string } }>(
    `${PDNS_SERVER_URL}/zones/:zone_id`,
    {
      config,
      schema: {
        tags,
        summary: 'Delete a zone (PowerDNS)',
        params: zoneIdParams,
        response: { 204: { description: 'Deleted', type: 'null' } },
      },
    },
    async (request, reply) => {
      await control.deleteZone(principalOf(request), zoneNameOf(request));
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { zone_id: string } }>(
    `${PDNS_SERVER_URL}/zones/:zone_id/export`,
    {
      config,
      schema: { tags, summary: 'Export a zone as master-file text (PowerDNS)', params: zoneIdParams },
    },
    async (request, reply) =>
      sendText(
        reply,
        'text/plain; charset=utf-8',
        await control.exportZone(principalOf(request), zoneNameOf(request)),
      ),
  );

  app.put<{ Params: { zone_id: string } }>(
    `${PDNS_SERVER_URL}/zones/:zone_id/notify`,
    {
      config,
      schema: {
        tags,
        summary: 'Queue a NOTIFY (PowerDNS; changes already reach every server)',
        params: zoneIdParams,
      },
    },
    async (request) => {
      await control.getZone(principalOf(request), zoneNameOf(request));
      return { result: 'Notification queued' };
    },
  );

  app.put<{ Params: { zone_id: string } }>(
    `${PDNS_SERVER_URL}/zones/:zone_id/rectify`,
    { config, schema: { tags, summary: 'Rectify a zone (PowerDNS; nothing to do)', params: zoneIdParams } },
    async (request) => {
      await control.getZone(principalOf(request), zoneNameOf(request));
      return { result: 'Rectified' };
    },
  );

  app.get<{ Params: { zone_id: string } }>(
    `${PDNS_SERVER_URL}/zones/:zone_id/metadata`,
    {
      config,
      schema: {
        tags,
        summary: 'Zone metadata (PowerDNS; only SOA-EDIT-API)',
        params: zoneIdParams,
      },
    },
    async (request) => {
      const zone = await control.getZone(principalOf(request), zoneNameOf(request));
      // PowerDNS stores SOA-EDIT-API for every zone created through its API (`DEFAULT` when
      // the POST has none) and keeps `""` as a value; every Switchboard zone has one likewise.
      return [{ kind: 'SOA-EDIT-API', metadata: [zone.soaEditApi], type: 'Metadata' }];
    },
  );

  app.get<{ Params: { zone_id: string } }>(
    `${PDNS_SERVER_URL}/zones/:zone_id/cryptokeys`,
    {
      config,
      schema: { tags, summary: 'DNSSEC keys (PowerDNS; none: zones are unsigned)', params: zoneIdParams },
    },
    async (request) => {
      await control.getZone(principalOf(request), zoneNameOf(request));
      return [];
    },
  );
}
