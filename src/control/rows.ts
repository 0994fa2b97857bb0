/**
 * Row mapping of the control plane: store rows to the domain's types (accounts, zones,
 * tokens, versions, RRsets) and RRsets to rows.
 * @module
 */
import { deflateSync, inflateSync } from 'node:zlib';
import type { ZoneRow } from '../store/index.js';
import { sortKeyOfName } from './edit.js';
import { decodeRecords, encodeRecords, type RRsetState, rrsetKey, type ZoneContent } from './records.js';
import type { Account, TokenInfo, TokenScope, ZoneInfo, ZoneVersion } from './types.js';
import { metadataOfRow } from './zone-metadata.js';

export function toAccount(r: {
  id: string;
  name: string;
  max_zones: number;
  max_records: number;
  created_at: string;
}): Account {
  return {
    id: r.id,
    name: r.name,
    maxZones: Number(r.max_zones),
    maxRecords: Number(r.max_records),
    createdAt: r.created_at,
  };
}

export function toZoneInfo(z: ZoneRow): ZoneInfo {
  return {
    id: z.id,
    name: z.name,
    accountId: z.account_id,
    serial: z.serial,
    version: Number(z.version),
    recordCount: Number(z.record_count),
    createdAt: z.created_at,
    updatedAt: z.updated_at,
    ...metadataOfRow(z),
  };
}

export function scopeOf(row: { admin: number; access: string; zones: string | null }): TokenScope {
  const scope: TokenScope = {
    admin: Number(row.admin) === 1,
    access: row.access === 'write' ? 'write' : 'read',
  };
  if (row.zones !== null) scope.zones = JSON.parse(row.zones) as string[];
  return scope;
}

export function toTokenInfo(r: {
  id: string;
  account_id: string | null;
  user_id: string | null;
  name: string;
  prefix: string;
  admin: number;
  access: string;
  zones: string | null;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}): TokenInfo {
  return {
    id: r.id,
    accountId: r.account_id,
    userId: r.user_id,
    name: r.name,
    scope: scopeOf(r),
    prefix: r.prefix,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  };
}

export function rowToRRset(r: {
  name: string;
  name_key: string;
  type: number;
  ttl: number;
  records: string;
}): RRsetState {
  return {
    name: r.name,
    nameKey: r.name_key,
    type: Number(r.type),
    ttl: Number(r.ttl),
    records: decodeRecords(r.records),
  };
}

export function contentOf(rows: ReadonlyArray<Parameters<typeof rowToRRset>[0]>): ZoneContent {
  const content: ZoneContent = new Map();
  for (const r of rows) {
    const s = rowToRRset(r);
    content.set(rrsetKey(s.nameKey, s.type), s);
  }
  return content;
}

/** RRsets in canonical order (RFC 4034 §6.1 owner order, then type). */
export function sortedRRsets(content: ZoneContent): RRsetState[] {
  const decorated = [...content.values()].map((s) => ({ k: sortKeyOfName(s.name), s }));
  decorated.sort((a, b) => (a.k !== b.k ? (a.k < b.k ? -1 : 1) : a.s.type - b.s.type));
  return decorated.map((d) => d.s);
}

/** Stored form of a version's changes. */
export type StoredChange = { before: RRsetState | null; after: RRsetState | null };

/** Stored changes of at least this many characters are compressed (see `storeChanges`). */
const COMPRESS_CHANGES = 64 * 1024;
/** Prefix of compressed stored changes: `z:` + base64 of the DEFLATE-compressed JSON. */
const COMPRESSED = 'z:';
/** JSON over this many characters is compressed at level 1. */
const FAST_DEFLATE = 4 << 20;

/**
 * The stored form of a version's changes: JSON, or, when large, `z:` + base64 of the JSON
 * compressed with DEFLATE (RFC 1951, zlib-wrapped): a 100,000-record import's diff is
 * ~20 MB of JSON, written in the transaction that switches the zone to its new content.
 */
export function storeChanges(changes: unknown): string {
  const json = JSON.stringify(changes);
  if (json.length < COMPRESS_CHANGES) return json;
  // A whole big zone's diff (a creation, a replace): the fastest level; DEFLATE's default
  // spent ~2.5 s of CPU on a 300,000-record creation's.
  return COMPRESSED + deflateSync(json, json.length > FAST_DEFLATE ? { level: 1 } : {}).toString('base64');
}

export function parseChanges(stored: string): StoredChange[] {
  if (stored.startsWith(COMPRESSED))
    return JSON.parse(inflateSync(Buffer.from(stored.slice(COMPRESSED.length), 'base64')).toString('utf8'));
  return JSON.parse(stored) as StoredChange[];
}

/** The row of an RRset of a zone. */
export function rrsetRow(zoneId: string, s: RRsetState) {
  return {
    zone_id: zoneId,
    name_key: s.nameKey,
    name: s.name,
    type: s.type,
    ttl: s.ttl,
    records: encodeRecords(s.records),
  };
}

export function toZoneVersion(r: {
  version: number;
  serial: number;
  created_at: string;
  actor: string;
  actor_name: string | null;
  remote: string | null;
  comment: string | null;
  kind: string;
  added: number;
  removed: number;
}): ZoneVersion {
  return {
    version: Number(r.version),
    serial: r.serial,
    createdAt: r.created_at,
    actor: r.actor_name ? `${r.actor} (${r.actor_name})` : r.actor,
    remote: r.remote,
    comment: r.comment,
    kind: r.kind as ZoneVersion['kind'],
    added: Number(r.added),
    removed: Number(r.removed),
  };
}

/** The `rrsets.zone_id` of a zone's current content (migration 7; older rows: the zone id). */
export function contentIdOf(zone: { id: string; content_id?: string | null }): string {
  return zone.content_id || zone.id;
}
