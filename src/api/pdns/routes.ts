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
import type { ZoneUpdatePolicy } from '../../control/dns-updates.js';
import { formatShieldSpec, parseShieldSpec } from '../../control/shield-spec.js';
import type { ZoneTransferInfo } from '../../control/tsig-keys.js';
import {
  ControlError,
  type ControlPlane,
  type JsonList,
  type Principal,
  type RRsetChange,
  type RRsetData,
  type ZoneDetail,
  type ZoneInfo,
  type ZoneShieldSettings,
} from '../../control/types.js';
import { principalOf } from '../auth.js';
import type { DecodedPdnsCreate, DecodedPdnsPatch } from '../body-decode.js';
import { remapChangeField } from '../errors.js';
import { absoluteName, zoneNameOfId } from '../names.js';
import { apiErrorOf, BULK_BODY_LIMIT, decodeOffLoop, RawJsonBody, spliceRRsets } from '../raw-body.js';
import { sendText } from '../routes/zones.js';
import {
  changesOfPdnsRRsets,
  checkUnsupportedSettings,
  metadataOfBody,
  PDNS_SERVER_URL,
  type PdnsCreateBody,
  type PdnsRRsetInput,
  type PdnsZoneSettings,
  pdnsZoneDetail,
  pdnsZoneSummary,
  remapMetadataField,
  rrsetsOfPdnsCreate,
  serverObject,
  unprocessable,
  urlOfZone,
} from './mapping.js';
import {
  config,
  pdnsCreateBodySchema,
  pdnsPatchBodySchema,
  pdnsSettingsBodySchema,
  tags,
  zoneIdParams,
} from './schemas.js';
import { registerTsigKeyRoutes } from './tsigkeys.js';

/** Who may change a zone with DNS UPDATE (RFC 2136): PowerDNS's metadata kinds (src/control/dns-updates.ts). */
const UPDATE_KINDS = new Set(['ALLOW-DNSUPDATE-FROM', 'TSIG-ALLOW-DNSUPDATE']);

function updateValues(kind: string, u: ZoneUpdatePolicy): string[] {
  return kind === 'ALLOW-DNSUPDATE-FROM' ? u.allowDnsupdateFrom : u.tsigAllowDnsupdate.map(noDot);
}

/** Metadata kinds PowerDNS 4.7 does not let the API set (`isValidMetadataKind`'s protected list). */
const PROTECTED_KINDS = new Set([
  'API-RECTIFY',
  'AXFR-MASTER-TSIG',
  'LUA-AXFR-SCRIPT',
  'NSEC3NARROW',
  'NSEC3PARAM',
  'PRESIGNED',
  'TSIG-ALLOW-AXFR',
]);

/**
 * PowerDNS's PRESIGNED: the zone carries its own signatures (a DNSKEY RRset at the apex and
 * RRSIGs) and is served as received, with DNSSEC answers (src/answer/dnssec.ts). PowerDNS sets
 * it on an AXFR that brings signatures; here it is read from the content, whatever the kind
 * (a Native/Master zone imported signed is served the same way). Read-only through the API, as
 * in PowerDNS (PROTECTED_KINDS).
 */
function isPresigned(zone: ZoneDetail): boolean {
  let dnskey = false;
  let rrsig = false;
  for (const r of zone.rrsets) {
    if (r.type === 'RRSIG') rrsig = true;
    else if (r.type === 'DNSKEY' && r.name.toLowerCase() === zone.name.toLowerCase()) dnskey = true;
  }
  return dnskey && rrsig;
}

/** A name without its final dot (PowerDNS's metadata values of key names). */
function noDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/** The custom metadata kind of a zone's own shield settings (PowerDNS keeps `X-` kinds for such). */
export const SHIELD_KIND = 'X-SWITCHBOARD-SHIELD';
/**
 * A member zone's groups in its Producer catalog (RFC 9432 §4.4.2; docs/TRANSFERS.md). PowerDNS
 * keeps them as a zone option set by `pdnsutil set-option ZONE producer group …`, not through its
 * API; here they are this metadata kind (GET, PUT, DELETE).
 */
export const CATALOG_GROUP_KIND = 'CATALOG-GROUP';

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

  registerTsigKeyRoutes(app, control, preValidation);

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

  app.post<{ Body: PdnsCreateBody | RawJsonBody; Querystring: { rrsets?: string } }>(
    `${PDNS_SERVER_URL}/zones`,
    {
      config: { ...config, rawBody: 'pdns.create' },
      preValidation,
      bodyLimit: BULK_BODY_LIMIT,
      schema: {
        tags,
        summary: 'Create a zone (PowerDNS)',
        description:
          'Takes name, nameservers, rrsets or zone (master-file text), and the zone settings kind ' +
          '(Native, Master, Slave, Producer, Consumer), soa_edit_api and account, which are kept and reported ' +
          'back. A Slave or Consumer zone takes masters (ADDR:PORT) and slave_tsig_key_ids, and no records ' +
          "(they come by zone transfer; a Consumer zone's members become Slave zones); soa_edit, api_rectify and the like are accepted and ignored. An administrator " +
          'whose `account` is the id of a Switchboard account puts the zone in that account.',
        querystring: { type: 'object', properties: { rrsets: { type: 'string', enum: ['true', 'false'] } } },
        body: pdnsCreateBodySchema,
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      // A big body is parsed, validated and its RRsets mapped in the zone-work thread.
      const decoded =
        request.body instanceof RawJsonBody
          ? await decodeOffLoop<DecodedPdnsCreate>(control, 'pdns.create', request.body)
          : undefined;
      const b = decoded?.body ?? (request.body as PdnsCreateBody);
      const name = absoluteName(b.name, 'name');
      const metadata = metadataOfBody(b);
      // PowerDNS's `account` is free text, kept as the zone's label. An administrator whose
      // label is the id of a Switchboard account also puts the zone in that account.
      const accountId = await ownerOfLabel(control, p, metadata.accountLabel);
      let rrsets: RRsetData[] | JsonList;
      try {
        checkUnsupportedSettings(b);
        if (decoded) {
          if (decoded.rrsetsError) throw apiErrorOf(decoded.rrsetsError);
          rrsets = decoded.rrsets;
        } else {
          rrsets = rrsetsOfPdnsCreate(b.rrsets ?? []);
          if (b.zone != null && rrsets.length > 0)
            throw unprocessable('give either zone or rrsets, not both', 'zone');
        }
      } catch (err) {
        // PowerDNS looks for the zone before reading the rest: a taken name is 409 first.
        await control.checkNewZone(p, { name, ...(accountId !== undefined ? { accountId } : {}) });
        throw err;
      }
      const keyIds = b.master_tsig_key_ids ?? [];
      // Keys checked before the zone is made where the principal's account is the zone's.
      if (keyIds.length > 0 && p.accountId !== null && accountId === undefined) {
        const names = new Set((await control.listTsigKeys(p)).map((k) => k.name));
        keyIds.forEach((id, i) => {
          const n = zoneNameOfId(id).toLowerCase();
          if (!names.has(n))
            throw new ControlError(
              'CTL_ERR_VALIDATION',
              `A TSIG key with the name '${id}' does not exist`,
              `master_tsig_key_ids[${i}]`,
            );
        });
      }
      const zone = await control
        .createZone(p, {
          name,
          ...(accountId !== undefined ? { accountId } : {}),
          ...(b.zone != null ? { zonefile: b.zone } : { rrsets }),
          ...(queryFlag(request.query.rrsets) ? {} : { noRRsets: true }),
          ...(b.nameservers != null && b.nameservers.length > 0 ? { nameservers: b.nameservers } : {}),
          ...(b.masters != null ? { masters: b.masters } : {}),
          ...(b.slave_tsig_key_ids != null
            ? { slaveTsigKeyIds: b.slave_tsig_key_ids.map((id) => zoneNameOfId(String(id))) }
            : {}),
          ...metadata,
        })
        .catch((err: unknown) => {
          throw remapMetadataField(err);
        });
      let transfer: ZoneTransferInfo | undefined;
      if (keyIds.length > 0) {
        try {
          transfer = await control.setZoneTransfer(p, zone.name, {
            masterTsigKeyIds: keyIds.map((id) => zoneNameOfId(id)),
          });
        } catch (err) {
          // Nothing half-made: the zone goes again.
          await control.deleteZone(p, zone.name).catch(() => {});
          throw err;
        }
      }
      reply.code(201).header('location', urlOfZone(zone.name));
      const withRRsets = queryFlag(request.query.rrsets);
      const secondary =
        zone.kind === 'Slave' || zone.kind === 'Consumer'
          ? await control.getZoneSecondary(p, zone.name)
          : null;
      if (zone.rrsetsJson === undefined || !withRRsets)
        return pdnsZoneDetail(zone, withRRsets ? zone.rrsets : null, transfer, secondary);
      // A big zone: its RRsets put in PowerDNS's shape in the zone-work thread, spliced as text.
      const json = await decodeOffLoop<string>(
        control,
        'pdns.rrsets',
        new RawJsonBody(Buffer.from(zone.rrsetsJson)),
      );
      return sendText(reply, 'application/json; charset=utf-8', spliceRRsets(pdnsZoneDetail(zone, []), json));
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
      const p = principalOf(request);
      const zone = await control.getZone(p, zoneNameOf(request));
      const transfer = await control.getZoneTransfer(p, zone.name);
      const secondary =
        zone.kind === 'Slave' || zone.kind === 'Consumer'
          ? await control.getZoneSecondary(p, zone.name)
          : null;
      const q = request.query;
      if (!queryFlag(q.rrsets)) return pdnsZoneDetail(zone, null, transfer, secondary);
      const name =
        q.rrset_name === undefined ? undefined : absoluteName(q.rrset_name, 'rrset_name').toLowerCase();
      const type = q.rrset_type?.toUpperCase();
      return pdnsZoneDetail(
        zone,
        zone.rrsets.filter(
          (r) =>
            (name === undefined || r.name.toLowerCase() === name) && (type === undefined || r.type === type),
        ),
        transfer,
        secondary,
      );
    },
  );

  app.patch<{ Params: { zone_id: string }; Body: { rrsets: PdnsRRsetInput[] } | RawJsonBody }>(
    `${PDNS_SERVER_URL}/zones/:zone_id`,
    {
      config: { ...config, rawBody: 'pdns.patch' },
      preValidation,
      bodyLimit: BULK_BODY_LIMIT,
      schema: {
        tags,
        summary: 'Change RRsets (PowerDNS): changetype REPLACE, DELETE, EXTEND, PRUNE',
        params: zoneIdParams,
        body: pdnsPatchBodySchema,
        response: { 204: { description: 'Changed', type: 'null' } },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const zone = zoneNameOf(request);
      let sources: number[] = [];
      let changes: RRsetChange[] | JsonList;
      let count: number;
      if (request.body instanceof RawJsonBody) {
        // A big body: parsed, validated and mapped in the zone-work thread.
        const d = await decodeOffLoop<DecodedPdnsPatch>(control, 'pdns.patch', request.body);
        ({ changes, count, sources } = d);
      } else {
        changes = changesOfPdnsRRsets(request.body.rrsets, sources);
        count = changes.length;
      }
      if (count === 0) {
        await control.getZone(p, zone); // nothing to do, but the zone must be there
      } else {
        await control.changeRRsets(p, zone, changes).catch((err: unknown) => {
          throw remapChangeField(err, (k) => `rrsets[${sources[k] ?? k}]`);
        });
      }
      return reply.code(204).send();
    },
  );

  app.put<{ Params: { zone_id: string }; Body: PdnsZoneSettings | RawJsonBody | undefined }>(
    `${PDNS_SERVER_URL}/zones/:zone_id`,
    {
      // Clients may send a whole zone back (its RRsets ignored): big ones are read off the loop.
      config: { ...config, rawBody: 'pdns.settings' },
      preValidation,
      bodyLimit: BULK_BODY_LIMIT,
      schema: {
        tags,
        summary: 'Change zone settings (PowerDNS): kind, soa_edit_api, account, masters',
        description:
          'Settings given as strings change, the others stay; not a content change (no new version, ' +
          'no serial bump). nameservers are only read at creation. masters (non-empty) make the zone ' +
          'a Slave zone; [] on a Slave zone makes it Native (its records stay).',
        params: zoneIdParams,
        body: pdnsSettingsBodySchema,
        response: { 204: { description: 'Changed', type: 'null' } },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const zone = zoneNameOf(request);
      const b =
        request.body instanceof RawJsonBody
          ? await decodeOffLoop<PdnsZoneSettings>(control, 'pdns.settings', request.body)
          : (request.body ?? {});
      try {
        checkUnsupportedSettings(b);
      } catch (err) {
        // As in PowerDNS, an unknown zone is 404 first (and a read-only key 403).
        await control.updateZoneMetadata(p, zone, {});
        throw err;
      }
      if (Array.isArray(b.master_tsig_key_ids))
        await control.setZoneTransfer(p, zone, {
          masterTsigKeyIds: b.master_tsig_key_ids.map((id) => zoneNameOfId(String(id))),
        });
      // Secondary settings: masters (and the kind Slave they bring), the transfer key.
      const slaveKeys = Array.isArray(b.slave_tsig_key_ids)
        ? { slaveTsigKeyIds: b.slave_tsig_key_ids.map((id) => zoneNameOfId(String(id))) }
        : {};
      const toSlave = typeof b.kind === 'string' && /^(slave|secondary)$/i.test(b.kind);
      // Only a Consumer zone is one (a zone does not become a catalog): refused before anything changes.
      if (typeof b.kind === 'string' && /^consumer$/i.test(b.kind))
        await control.updateZoneMetadata(p, zone, { kind: b.kind }).catch((err: unknown) => {
          throw remapMetadataField(err);
        });
      if (Array.isArray(b.masters) && (b.masters.length > 0 || !toSlave))
        await control.setZoneSecondary(p, zone, { masters: b.masters, ...slaveKeys });
      else if (Array.isArray(b.slave_tsig_key_ids) && (await control.getZoneSecondary(p, zone)) !== null)
        await control.setZoneSecondary(p, zone, slaveKeys);
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
    `${PDNS_SERVER_URL}/zones/:zone_id/axfr-retrieve`,
    {
      config,
      schema: {
        tags,
        summary: 'Transfer a Slave zone from its masters now (PowerDNS)',
        description:
          'Starts an AXFR from the masters, in order, whatever the serials say; 422 for a zone of another kind.',
        params: zoneIdParams,
      },
    },
    async (request) => {
      const p = principalOf(request);
      const zone = zoneNameOf(request);
      await control.requestSecondaryRefresh(p, zone);
      return { result: `Added retrieval request for '${absoluteName(zone, 'zone')}' from primary` };
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

  app.put<{ Params: { zone_id: string } }>(
    `${PDNS_SERVER_URL}/zones/:zone_id/notify`,
    {
      config,
      schema: {
        tags,
        summary: "Send NOTIFY to the zone's ALSO-NOTIFY targets now (PowerDNS)",
        params: zoneIdParams,
      },
    },
    async (request) => {
      await control.notifyZone(principalOf(request), zoneNameOf(request));
      return { result: 'Notification queued' };
    },
  );

  app.get<{ Params: { zone_id: string } }>(
    `${PDNS_SERVER_URL}/zones/:zone_id/metadata`,
    {
      config,
      schema: {
        tags,
        summary: 'Zone metadata (PowerDNS): SOA-EDIT-API, shield, transfer, ALSO-NOTIFY and DNS UPDATE kinds',
        params: zoneIdParams,
      },
    },
    async (request) => {
      const p = principalOf(request);
      const zone = await control.getZone(p, zoneNameOf(request));
      // PowerDNS stores SOA-EDIT-API for every zone created through its API (`DEFAULT` when
      // the POST has none) and keeps `""` as a value; every Switchboard zone has one likewise.
      const out = [{ kind: 'SOA-EDIT-API', metadata: [zone.soaEditApi], type: 'Metadata' }];
      // A custom kind (PowerDNS keeps X- kinds for such): the zone's own shield settings.
      const shield = await control.getZoneShield(p, zone.name);
      if (Object.keys(shield.settings).length > 0)
        out.push({ kind: SHIELD_KIND, metadata: [formatShieldSpec(shield.settings)], type: 'Metadata' });
      const transfer = await control.getZoneTransfer(p, zone.name);
      if (transfer.allowAxfrFrom.length > 0)
        out.push({ kind: 'ALLOW-AXFR-FROM', metadata: transfer.allowAxfrFrom, type: 'Metadata' });
      if (transfer.alsoNotify.length > 0)
        out.push({ kind: 'ALSO-NOTIFY', metadata: transfer.alsoNotify, type: 'Metadata' });
      if (transfer.masterTsigKeyIds.length > 0)
        out.push({
          kind: 'TSIG-ALLOW-AXFR',
          metadata: transfer.masterTsigKeyIds.map(noDot),
          type: 'Metadata',
        });
      const update = await control.getZoneUpdatePolicy(p, zone.name);
      if (update.allowDnsupdateFrom.length > 0)
        out.push({ kind: 'ALLOW-DNSUPDATE-FROM', metadata: update.allowDnsupdateFrom, type: 'Metadata' });
      if (update.tsigAllowDnsupdate.length > 0)
        out.push({
          kind: 'TSIG-ALLOW-DNSUPDATE',
          metadata: update.tsigAllowDnsupdate.map(noDot),
          type: 'Metadata',
        });
      if (isPresigned(zone)) out.push({ kind: 'PRESIGNED', metadata: ['1'], type: 'Metadata' });
      const groups = (await control.catalogGroups?.(p, zone.name)) ?? [];
      if (groups.length > 0) out.push({ kind: CATALOG_GROUP_KIND, metadata: groups, type: 'Metadata' });
      return out;
    },
  );

  // PowerDNS: POST adds values to a kind (those already there stay); the list kinds only.
  app.post<{ Params: { zone_id: string }; Body: unknown }>(
    `${PDNS_SERVER_URL}/zones/:zone_id/metadata`,
    {
      config,
      preValidation,
      schema: {
        tags,
        summary:
          'Add values to ALLOW-AXFR-FROM, ALSO-NOTIFY, ALLOW-DNSUPDATE-FROM or TSIG-ALLOW-DNSUPDATE metadata (PowerDNS)',
        params: zoneIdParams,
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const name = zoneNameOf(request);
      const b = request.body as { kind?: unknown; metadata?: unknown } | undefined;
      const kind = typeof b?.kind === 'string' ? b.kind.toUpperCase() : '';
      if (kind !== 'ALLOW-AXFR-FROM' && kind !== 'ALSO-NOTIFY' && !UPDATE_KINDS.has(kind)) {
        await control.getZone(p, name);
        throw new ControlError(
          'CTL_ERR_VALIDATION',
          PROTECTED_KINDS.has(kind)
            ? `Unsupported metadata kind '${kind}'`
            : 'values are added here to ALLOW-AXFR-FROM, ALSO-NOTIFY, ALLOW-DNSUPDATE-FROM and TSIG-ALLOW-DNSUPDATE only (PUT sets a kind)',
          'kind',
        );
      }
      if (!Array.isArray(b?.metadata)) {
        await control.getZone(p, name);
        throw new ControlError('CTL_ERR_VALIDATION', 'metadata must be a list of strings', 'metadata');
      }
      if (UPDATE_KINDS.has(kind)) {
        const was = await control.getZoneUpdatePolicy(p, name);
        const added = b.metadata as string[];
        const u = await control.setZoneUpdatePolicy(
          p,
          name,
          kind === 'ALLOW-DNSUPDATE-FROM'
            ? { allowDnsupdateFrom: [...was.allowDnsupdateFrom, ...added] }
            : { tsigAllowDnsupdate: [...was.tsigAllowDnsupdate, ...added] },
        );
        return reply.code(201).send({ kind, metadata: updateValues(kind, u), type: 'Metadata' });
      }
      const had = await control.getZoneTransfer(p, name);
      const t =
        kind === 'ALLOW-AXFR-FROM'
          ? await control.setZoneTransfer(p, name, {
              allowAxfrFrom: [...new Set([...had.allowAxfrFrom, ...(b.metadata as string[])])],
            })
          : await control.setZoneTransfer(p, name, {
              alsoNotify: [...had.alsoNotify, ...(b.metadata as string[])],
            });
      return reply.code(201).send({
        kind,
        metadata: kind === 'ALLOW-AXFR-FROM' ? t.allowAxfrFrom : t.alsoNotify,
        type: 'Metadata',
      });
    },
  );

  const kindParams = {
    type: 'object',
    properties: { ...zoneIdParams.properties, metadata_kind: { type: 'string', minLength: 1 } },
    required: ['zone_id', 'metadata_kind'],
  } as const;
  const kindOf = (request: FastifyRequest<{ Params: { metadata_kind: string } }>): string =>
    request.params.metadata_kind.toUpperCase();

  app.get<{ Params: { zone_id: string; metadata_kind: string } }>(
    `${PDNS_SERVER_URL}/zones/:zone_id/metadata/:metadata_kind`,
    {
      config,
      schema: {
        tags,
        summary: 'One kind of zone metadata (PowerDNS; SOA-EDIT-API, X-SWITCHBOARD-SHIELD)',
        params: kindParams,
      },
    },
    async (request) => {
      const p = principalOf(request);
      const zone = await control.getZone(p, zoneNameOf(request));
      const kind = kindOf(request);
      if (kind === 'SOA-EDIT-API') return { kind, metadata: [zone.soaEditApi], type: 'Metadata' };
      if (kind === SHIELD_KIND) {
        const shield = await control.getZoneShield(p, zone.name);
        const has = Object.keys(shield.settings).length > 0;
        return { kind, metadata: has ? [formatShieldSpec(shield.settings)] : [], type: 'Metadata' };
      }
      if (kind === 'ALLOW-AXFR-FROM' || kind === 'TSIG-ALLOW-AXFR' || kind === 'ALSO-NOTIFY') {
        const t = await control.getZoneTransfer(p, zone.name);
        return {
          kind,
          metadata:
            kind === 'ALLOW-AXFR-FROM'
              ? t.allowAxfrFrom
              : kind === 'ALSO-NOTIFY'
                ? t.alsoNotify
                : t.masterTsigKeyIds.map(noDot),
          type: 'Metadata',
        };
      }
      if (UPDATE_KINDS.has(kind)) {
        const u = await control.getZoneUpdatePolicy(p, zone.name);
        return { kind, metadata: updateValues(kind, u), type: 'Metadata' };
      }
      if (kind === 'PRESIGNED') return { kind, metadata: isPresigned(zone) ? ['1'] : [], type: 'Metadata' };
      if (kind === CATALOG_GROUP_KIND)
        return { kind, metadata: (await control.catalogGroups?.(p, zone.name)) ?? [], type: 'Metadata' };
      return { kind: request.params.metadata_kind, metadata: [], type: 'Metadata' };
    },
  );

  app.put<{ Params: { zone_id: string; metadata_kind: string }; Body: unknown }>(
    `${PDNS_SERVER_URL}/zones/:zone_id/metadata/:metadata_kind`,
    {
      config,
      preValidation,
      schema: {
        tags,
        summary: "Set the zone's shield settings as X-SWITCHBOARD-SHIELD metadata (PowerDNS)",
        params: kindParams,
      },
    },
    async (request) => {
      const p = principalOf(request);
      const name = zoneNameOf(request);
      const kind = kindOf(request);
      if (kind === 'ALLOW-AXFR-FROM') {
        const values = (request.body as { metadata?: unknown } | undefined)?.metadata;
        const t = await control.setZoneTransfer(p, name, { allowAxfrFrom: values as string[] });
        return { kind, metadata: t.allowAxfrFrom, type: 'Metadata' };
      }
      if (kind === 'ALSO-NOTIFY') {
        const values = (request.body as { metadata?: unknown } | undefined)?.metadata;
        const t = await control.setZoneTransfer(p, name, { alsoNotify: values as string[] });
        return { kind, metadata: t.alsoNotify, type: 'Metadata' };
      }
      if (UPDATE_KINDS.has(kind)) {
        const values = (request.body as { metadata?: unknown } | undefined)?.metadata;
        const u = await control.setZoneUpdatePolicy(
          p,
          name,
          kind === 'ALLOW-DNSUPDATE-FROM'
            ? { allowDnsupdateFrom: values as string[] }
            : { tsigAllowDnsupdate: values as string[] },
        );
        return { kind, metadata: updateValues(kind, u), type: 'Metadata' };
      }
      if (kind === CATALOG_GROUP_KIND && control.setCatalogGroups) {
        const values = (request.body as { metadata?: unknown } | undefined)?.metadata;
        return { kind, metadata: await control.setCatalogGroups(p, name, values), type: 'Metadata' };
      }
      if (PROTECTED_KINDS.has(kind)) {
        await control.getZone(p, name);
        // PowerDNS 4.7 answers these kinds so (TSIG-ALLOW-AXFR: set master_tsig_key_ids).
        throw new ControlError('CTL_ERR_VALIDATION', `Unsupported metadata kind '${kind}'`, 'metadata_kind');
      }
      if (kind !== SHIELD_KIND) {
        // Visibility first: another account's zone is 404 whatever the kind.
        await control.getZone(p, name);
        throw new ControlError(
          'CTL_ERR_VALIDATION',
          `only ${SHIELD_KIND} metadata is set here (SOA-EDIT-API: PUT the zone with soa_edit_api)`,
          'metadata_kind',
        );
      }
      const b = request.body as { metadata?: unknown } | undefined;
      const values = b?.metadata;
      if (!Array.isArray(values) || values.length > 1 || values.some((v) => typeof v !== 'string')) {
        await control.getZone(p, name);
        throw new ControlError(
          'CTL_ERR_VALIDATION',
          `${SHIELD_KIND} takes one string, as --shield-zone takes it after the name (min-nx=N,budget=N,responses=N,…,metrics=on), or [] for none`,
          'metadata',
        );
      }
      let settings: ZoneShieldSettings;
      try {
        settings = values.length === 0 ? {} : parseShieldSpec(values[0] as string);
      } catch (e) {
        await control.getZone(p, name);
        throw new ControlError('CTL_ERR_VALIDATION', (e as Error).message, 'metadata[0]');
      }
      const info = await control.setZoneShield(p, name, settings);
      const has = Object.keys(info.settings).length > 0;
      return { kind: SHIELD_KIND, metadata: has ? [formatShieldSpec(info.settings)] : [], type: 'Metadata' };
    },
  );

  app.delete<{ Params: { zone_id: string; metadata_kind: string } }>(
    `${PDNS_SERVER_URL}/zones/:zone_id/metadata/:metadata_kind`,
    {
      config,
      schema: {
        tags,
        summary: "Remove the zone's shield settings (X-SWITCHBOARD-SHIELD metadata; PowerDNS)",
        params: kindParams,
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      const name = zoneNameOf(request);
      if (kindOf(request) === 'ALLOW-AXFR-FROM') {
        await control.setZoneTransfer(p, name, { allowAxfrFrom: [] });
        return reply.code(204).send();
      }
      if (kindOf(request) === 'ALSO-NOTIFY') {
        await control.setZoneTransfer(p, name, { alsoNotify: [] });
        return reply.code(204).send();
      }
      if (UPDATE_KINDS.has(kindOf(request))) {
        await control.setZoneUpdatePolicy(
          p,
          name,
          kindOf(request) === 'ALLOW-DNSUPDATE-FROM'
            ? { allowDnsupdateFrom: [] }
            : { tsigAllowDnsupdate: [] },
        );
        return reply.code(204).send();
      }
      if (kindOf(request) === CATALOG_GROUP_KIND && control.setCatalogGroups) {
        await control.setCatalogGroups(p, name, []);
        return reply.code(204).send();
      }
      if (kindOf(request) !== SHIELD_KIND) {
        await control.getZone(p, name);
        throw new ControlError(
          'CTL_ERR_VALIDATION',
          `only ${SHIELD_KIND} metadata is removed here`,
          'metadata_kind',
        );
      }
      await control.deleteZoneShield(p, name);
      return reply.code(204).send();
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
