/**
 * The tables of the control-plane store, as Kysely sees them. One schema for SQLite and
 * PostgreSQL: text, integer and bigint columns only (booleans are 0/1 integers, JSON is text,
 * times are ISO 8601 UTC text, which sorts in time order), so every query is portable.
 * @module
 */
import type { ColumnType, Generated } from 'kysely';

/** A 64-bit column: PostgreSQL's driver returns bigint as a string, SQLite as a number. */
export type BigIntColumn = ColumnType<number | string, number, number>;

/** accounts: the tenants. */
export interface AccountsTable {
  id: string;
  name: string;
  max_zones: number;
  max_records: number;
  created_at: string;
  /** Zones of the account, kept by triggers on `zones` (migration 4); never written directly. */
  zone_count: ColumnType<number, never, never>;
  /** Records of the account's zones (the sum of their `record_count`), kept likewise. */
  record_count: ColumnType<number | string, never, never>;
}

/** users: people of an account. */
export interface UsersTable {
  id: string;
  account_id: string;
  name: string;
  created_at: string;
}

/** tokens: API keys, stored as a SHA-256 hash of the secret only. */
export interface TokensTable {
  id: string;
  account_id: string | null;
  user_id: string | null;
  name: string;
  /** Hex SHA-256 of the secret. */
  secret_hash: string;
  /** The first characters of the secret (to recognise it in a list). */
  prefix: string;
  /** 1 for an administrator token. */
  admin: number;
  /** 'read' or 'write'. */
  access: string;
  /** JSON array of zone names, or null for every zone of the account. */
  zones: string | null;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** A text column with a default in the schema: optional when inserting. */
export type DefaultedText = ColumnType<string, string | undefined, string>;

/** zones: one row per zone; `version` and `serial` are those of its current content. */
export interface ZonesTable {
  id: string;
  /** Case-folded absolute name (unique). */
  name: string;
  account_id: string;
  version: number;
  /** SOA serial (an unsigned 32-bit number: bigint in PostgreSQL). */
  serial: BigIntColumn;
  record_count: number;
  created_at: string;
  updated_at: string;
  /** Zone kind as PowerDNS names it: 'Native', 'Master', 'Slave' or 'Producer' (migration 2; Slave: migration 12's zone_secondary; Producer: a catalog zone, migration 14). */
  kind: DefaultedText;
  /** PowerDNS SOA-EDIT-API as the client set it, default 'DEFAULT' (migration 2). */
  soa_edit_api: DefaultedText;
  /** Free-text account label (PowerDNS `account`), not the owner `account_id` (migration 2). */
  account_label: DefaultedText;
  /**
   * The name's characters reversed (migration 4): zones below a name are one index range.
   * `Repo.insertZone` sets it (a row inserted otherwise would escape the nesting check).
   */
  name_rev: ColumnType<string | null, string | undefined, never>;
  /**
   * The `rrsets.zone_id` of the zone's current content (migration 7; the zone's id until a
   * big change stages new content under a new id and switches to it in one short write).
   */
  content_id: DefaultedText;
}

/** content_gc: content ids whose rows are to be deleted (replaced, deleted, or a stage that failed). */
export interface ContentGcTable {
  content_id: string;
  since: string;
}

/** rrsets: the current content of every zone, one row per owner name and type. */
export interface RRsetsTable {
  /** The content id (`zones.content_id`), not necessarily the zone's id (migration 7). */
  zone_id: string;
  /** Case-folded owner name (the identity of the RRset with `type`). */
  name_key: string;
  /** Owner name as written (case preserved), absolute presentation form. */
  name: string;
  /** TYPE code. */
  type: number;
  ttl: number;
  /** JSON array of `{content, disabled?}` in canonical presentation form. */
  records: string;
}

/** zone_versions: one row per version of a zone, with what it changed. */
export interface ZoneVersionsTable {
  zone_id: string;
  version: number;
  serial: BigIntColumn;
  from_serial: BigIntColumn;
  created_at: string;
  /** Token id of the actor. */
  actor: string;
  actor_name: string | null;
  remote: string | null;
  comment: string | null;
  /** What kind of change made the version: create, change, import, rollback. */
  kind: string;
  added: number;
  removed: number;
  /**
   * JSON array of the RRsets this version changed, as they were before and after; when
   * large, `z:` + base64 of that JSON DEFLATE-compressed (control/rows.ts `storeChanges`).
   */
  changes: string;
}

/** audit_log: who did what, when, from where. */
export interface AuditLogTable {
  /**
   * Position in the log, from a sequence at insert (migration 3): orders rows written in the
   * same millisecond. bigint on PostgreSQL (a string from its driver).
   */
  seq: Generated<number | string>;
  id: string;
  at: string;
  token_id: string | null;
  account_id: string | null;
  action: string;
  target: string;
  remote: string | null;
  /** JSON. */
  detail: string | null;
}

/**
 * deleted_zones: zones deleted through the API, kept (with their versions in zone_versions)
 * until the retention time has passed, so their history stays readable and the zone
 * restorable (migration 5). The name is free for a new zone meanwhile.
 */
export interface DeletedZonesTable {
  /** The zone's id (its versions keep it in zone_versions.zone_id). */
  id: string;
  name: string;
  account_id: string;
  version: number;
  serial: BigIntColumn;
  record_count: number;
  created_at: string;
  updated_at: string;
  kind: string;
  soa_edit_api: string;
  account_label: string;
  deleted_at: string;
  /** Token id that deleted it. */
  deleted_by: string | null;
  /**
   * The zone's content id at deletion (migration 8): its rows stay in rrsets under it, owned
   * by no zone, until the deleted zone is purged (then the id goes to content_gc).
   */
  content_id: string;
  /**
   * Its `zone_catalog` row at deletion, JSON `{catalog, member_id, groups, id_from}` (migration
   * 17); null: in no catalog. A restore puts the zone back in its Producer catalog.
   */
  catalog?: string | null;
}

/**
 * zone_shield: a zone's own shield settings set through the API (migration 9); the row goes
 * with its zone (ON DELETE CASCADE).
 */
export interface ZoneShieldTable {
  zone_id: string;
  /** JSON: `{minNxPerSecond?, budgetFloor?, rrl?: {responses?, …}, metrics?}`. */
  settings: string;
  /** 1 when the settings put the zone in the metrics (the platform-wide cap counts these). */
  metrics: number;
  /** 1 when an administrator wrote them (a tenant may then not change them). */
  set_by_admin: number;
  updated_at: string;
}

/**
 * tsig_keys: an account's TSIG keys (migration 10). `name` is the key's folded absolute name
 * (unique per account, not across accounts: two tenants may both have `transfer.`).
 */
export interface TsigKeysTable {
  id: string;
  account_id: string;
  name: string;
  /** `hmac-sha256` … (src/xfr/tsig.ts `TSIG_ALGORITHMS`). */
  algorithm: string;
  /** The secret, base64. */
  secret: string;
  created_at: string;
  updated_at: string;
}

/**
 * zone_transfer: who may transfer a zone (migration 10): the PowerDNS zone field
 * `master_tsig_key_ids` (names of keys of the zone's account) and metadata `ALLOW-AXFR-FROM`;
 * the row goes with its zone.
 */
export interface ZoneTransferTable {
  zone_id: string;
  /** JSON array of key names (folded, absolute). */
  tsig_keys: string;
  /** JSON array of `ALLOW-AXFR-FROM` values (prefixes, `AUTO-NS`). */
  allow_from: string;
  /** JSON array of `ALSO-NOTIFY` targets (migration 11). */
  also_notify: Generated<string>;
  updated_at: string;
}

/**
 * zone_update: who may change a zone with DNS UPDATE (migration 13): PowerDNS's metadata
 * `TSIG-ALLOW-DNSUPDATE` (names of keys of the zone's account) and `ALLOW-DNSUPDATE-FROM`.
 */
export interface ZoneUpdateTable {
  zone_id: string;
  /** JSON array of key names (folded, absolute). */
  tsig_keys: string;
  /** JSON array of prefixes. */
  allow_from: string;
  updated_at: string;
}

/**
 * zone_secondary: a secondary zone's masters, transfer key and refresh state (migration 12);
 * the row goes with its zone.
 */
export interface ZoneSecondaryTable {
  zone_id: string;
  /** JSON array of `ADDR:PORT` / `[V6]:PORT`, in the order they are tried. */
  masters: string;
  /** Name (folded, absolute) of a TSIG key of the zone's account, or null: unsigned. */
  tsig_key: string | null;
  /** ISO time of the last SOA check or transfer attempt. */
  last_check: string | null;
  /** ISO time of the last check that found the zone current or transferred it. */
  last_success: string | null;
  /** Serial a NOTIFY announced last. */
  notified_serial: number | string | null;
  /** The master of the last successful check. */
  master_used: string | null;
  last_error: string | null;
  /** A Consumer zone's last member report (JSON, migration 15); null otherwise. */
  consumer_report?: string | null;
  updated_at: string;
}

/**
 * zone_catalog: the per-account catalog zone (kind Producer, same account) that lists a zone
 * (migration 14; PowerDNS's zone field `catalog`); the row goes with its zone.
 */
export interface ZoneCatalogTable {
  zone_id: string;
  /** The zone's account (the Producer zone named must be of it). */
  account_id: string;
  /** The Producer zone's name (folded, absolute); or the Consumer zone's that made the zone. */
  catalog: string;
  /** A Consumer's member: its unique id in the catalog (migration 15); null: a Producer's member. */
  member_id?: string | null;
  /** A Producer's member: its groups (RFC 9432 §4.4.2), a JSON array; null: none (migration 17). */
  groups?: string | null;
  /** The Producer zone it moved from (listed there with a `coo` property for a while; §4.4.1). */
  coo_from?: string | null;
  /** When it moved (ISO time). */
  coo_at?: string | null;
  /** The catalog whose name its unique id is made from (null: this one): kept across moves. */
  id_from?: string | null;
  updated_at: string;
}

/**
 * edge_registry: one summary per edge (POP) per `start` replica (migration 16; docs/EDGE.md
 * "The control plane's view"), written by that replica, read by every replica's listing.
 */
export interface EdgeRegistryTable {
  pop: string;
  /** The writing replica (a random id per process). */
  replica: string;
  /** JSON [[ADDR, ISO time]], newest first, at most 8. */
  addresses: string;
  notify: string | null;
  notify_at: string | null;
  last_seen: string;
  zones: number;
  behind: number;
  /** ISO time the oldest change not taken by the edge was released; null: none behind. */
  lag_since: string | null;
  /** JSON array, up to 10 `ZONE EDGE-SERIAL → SERIAL`. */
  behind_zones: string;
  updated_at: string;
}

/** The whole database. */
export interface Database {
  accounts: AccountsTable;
  users: UsersTable;
  tokens: TokensTable;
  zones: ZonesTable;
  rrsets: RRsetsTable;
  zone_versions: ZoneVersionsTable;
  audit_log: AuditLogTable;
  content_gc: ContentGcTable;
  deleted_zones: DeletedZonesTable;
  zone_shield: ZoneShieldTable;
  tsig_keys: TsigKeysTable;
  zone_transfer: ZoneTransferTable;
  zone_secondary: ZoneSecondaryTable;
  zone_update: ZoneUpdateTable;
  zone_catalog: ZoneCatalogTable;
  edge_registry: EdgeRegistryTable;
}
