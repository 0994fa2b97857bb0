/**
 * PowerDNS mapping: Switchboard's zones and RRsets in PowerDNS's shapes (keys sorted, as
 * PowerDNS 4.7 sends them), PowerDNS bodies to control-plane changes, and the settings of a
 * zone body checked and read.
 * @module
 */
import type { ZoneSecondaryInfo } from '../../control/secondary.js';
import type { ZoneTransferInfo } from '../../control/tsig-keys.js';
import {
  ControlError,
  type RRsetChange,
  type RRsetData,
  type ZoneDetail,
  type ZoneInfo,
  type ZoneMetadataInput,
} from '../../control/types.js';
import { parseZoneKind } from '../../control/zone-metadata.js';
import { ApiError } from '../errors.js';
import { absoluteName, zoneIdOfName } from '../names.js';

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
export interface PdnsRRsetInput {
  name: string;
  type: string;
  changetype?: string;
  ttl?: number;
  records?: { content: string; disabled?: boolean }[] | null;
  comments?: unknown[] | null;
}

/** The zone settings of a POST or PUT body (PowerDNS changes only those given as strings). */
export interface PdnsZoneSettings {
  kind?: string | null;
  account?: string | null;
  soa_edit_api?: string | null;
  masters?: string[] | null;
  slave_tsig_key_ids?: string[] | null;
  dnssec?: boolean | null;
  master_tsig_key_ids?: string[] | null;
  catalog?: string | null;
  [other: string]: unknown;
}

export interface PdnsCreateBody extends PdnsZoneSettings {
  name: string;
  nameservers?: string[] | null;
  rrsets?: PdnsRRsetInput[] | null;
  zone?: string | null;
}

/** Where the control plane's metadata fields are in a PowerDNS body. */
export const pdnsFieldOfMetadata: Record<string, string> = {
  kind: 'kind',
  soaEditApi: 'soa_edit_api',
  accountLabel: 'account',
};

/** Renames a metadata field of a control-plane error to the PowerDNS body's name for it. */
export function remapMetadataField(err: unknown): unknown {
  if (!(err instanceof ControlError) || err.field === undefined) return err;
  const field = pdnsFieldOfMetadata[err.field];
  return field === undefined || field === err.field ? err : new ControlError(err.code, err.message, field);
}

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
export function notifiedSerialOf(z: ZoneInfo, secondary?: ZoneSecondaryInfo | null): number {
  // A Slave zone: the serial its primary last announced in a NOTIFY (PowerDNS's meaning there).
  if (z.kind === 'Slave' || z.kind === 'Consumer') return secondary?.notifiedSerial ?? 0;
  return z.kind === 'Master' ? z.serial : 0;
}

/** PowerDNS's `last_check`: seconds since the epoch of a Slave zone's last refresh (0: none). */
function lastCheckOf(secondary: ZoneSecondaryInfo | null | undefined): number {
  const t = secondary?.lastCheck;
  return t ? Math.floor(Date.parse(t) / 1000) : 0;
}

/** A zone as PowerDNS lists it. */
export function pdnsZoneSummary(z: ZoneInfo): Record<string, unknown> {
  return {
    account: z.accountLabel,
    catalog: z.catalog ?? '',
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
export function pdnsZoneDetail(
  z: ZoneDetail,
  rrsets: RRsetData[] | null,
  transfer?: ZoneTransferInfo,
  secondary?: ZoneSecondaryInfo | null,
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    account: z.accountLabel,
    api_rectify: false,
    catalog: z.catalog ?? '',
    dnssec: false,
    edited_serial: z.serial,
    id: zoneIdOfName(z.name),
    kind: z.kind,
    last_check: lastCheckOf(secondary),
    master_tsig_key_ids: (transfer?.masterTsigKeyIds ?? []).map(zoneIdOfName),
    masters: secondary?.masters ?? [],
    name: z.name,
    notified_serial: notifiedSerialOf(z, secondary),
    nsec3narrow: false,
    nsec3param: '',
  };
  if (rrsets !== null) out.rrsets = rrsets.map(pdnsRRset);
  Object.assign(out, {
    serial: z.serial,
    slave_tsig_key_ids: (secondary?.slaveTsigKeyIds ?? []).map(zoneIdOfName),
    soa_edit: '',
    soa_edit_api: z.soaEditApi,
    url: urlOfZone(z.name),
  });
  return out;
}

export function unprocessable(message: string, field?: string): ApiError {
  return new ApiError(422, 'API_ERR_UNPROCESSABLE', message, field);
}

export function ttlOf(r: PdnsRRsetInput, i: number): number {
  if (r.ttl === undefined) throw unprocessable(`Key 'ttl' not an Integer or not present`, `rrsets[${i}].ttl`);
  return r.ttl;
}

export function recordsOf(r: PdnsRRsetInput): { content: string; disabled?: boolean }[] {
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
 * Checks the settings of a POST or PUT that the control plane has no notion of: `dnssec` (no
 * signing yet). The kind first (an unknown kind is refused). `masters` and
 * `slave_tsig_key_ids` are the control plane's (secondary zones: checked there).
 */
export function checkUnsupportedSettings(b: PdnsZoneSettings): void {
  if (typeof b.kind === 'string') parseZoneKind(b.kind, 'kind');
  if (b.dnssec === true) throw unprocessable('DNSSEC signing is not supported yet', 'dnssec');
}

/** The metadata a POST or PUT sets: like PowerDNS, only settings given as strings. */
export function metadataOfBody(b: PdnsZoneSettings): ZoneMetadataInput {
  const out: ZoneMetadataInput = {};
  if (typeof b.kind === 'string') out.kind = b.kind;
  if (typeof b.soa_edit_api === 'string') out.soaEditApi = b.soa_edit_api;
  if (typeof b.account === 'string') out.accountLabel = b.account;
  if (typeof b.catalog === 'string') out.catalog = b.catalog;
  return out;
}
