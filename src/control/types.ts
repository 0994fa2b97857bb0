/**
 * The control plane's domain interface: what the HTTP APIs (native and PowerDNS-compatible),
 * the `start` composition and the tests program against. Every operation takes the caller's
 * `Principal` and authorizes in this one place, so no API route can forget a tenant check.
 * Names in and out are absolute presentation names with the final dot (`www.example.com.`);
 * zone names are case-folded; types are mnemonics (`A`, `TYPE65534`).
 * @module
 */

import type { CatalogChange } from '../xfr/catz/format.js';
import type { CatalogMemberZone, CatalogZoneRef } from '../xfr/catz/producer.js';
import type { OutboundPolicy } from '../xfr/outbound.js';
import type { ConsumerReport } from './catalog-consumer.js';
import type { CatalogRecord, CatalogSnapshot } from './catalog-zones.js';
import type { DnsUpdateRequest, DnsUpdateResult, ZoneUpdatePolicy } from './dns-updates.js';
import type { StoredEdge } from './edges.js';
import type { SecondaryCheck, SecondaryZone, ZoneSecondaryInfo } from './secondary.js';
import type { ServedTransferZone, TsigKeyInfo, ZoneTransferInfo } from './tsig-keys.js';

export type { StoredEdge } from './edges.js';

/** What a token may do. */
export type Access = 'read' | 'write';

/** A token's scope (issue 3 §2): admin, or read/write over its account or over listed zones. */
export interface TokenScope {
  /** Administrator: every account, accounts and tokens of anyone. */
  admin: boolean;
  access: Access;
  /** Only these zones (absolute, case-folded); undefined = every zone of the token's account. */
  zones?: string[];
}

/** The authenticated caller of an operation. */
export interface Principal {
  tokenId: string;
  /** The token's account; null for an administrator token that belongs to no account. */
  accountId: string | null;
  scope: TokenScope;
  /** Client address, for the audit log. */
  remote?: string;
}

/** A tenant. */
export interface Account {
  id: string;
  name: string;
  /** Quotas (issue 3 §5). */
  maxZones: number;
  maxRecords: number;
  createdAt: string;
}

/** A user of an account (tokens are issued to users or to the account itself). */
export interface User {
  id: string;
  accountId: string;
  name: string;
  createdAt: string;
}

/** A token as listed: never its secret. */
export interface TokenInfo {
  id: string;
  accountId: string | null;
  userId: string | null;
  name: string;
  scope: TokenScope;
  /** The first characters of the secret, to recognise it. */
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** A newly created token: the secret is shown once and stored only as a hash. */
export interface NewToken extends TokenInfo {
  secret: string;
}

/** One record of an RRset, in presentation form (`10 mail.example.com.`). */
export interface RecordData {
  content: string;
  disabled?: boolean;
}

/** An RRset as the API shows it. */
export interface RRsetData {
  /** Absolute owner name, case preserved. */
  name: string;
  /** Type mnemonic. */
  type: string;
  ttl: number;
  records: RecordData[];
}

/**
 * A zone's kind, as PowerDNS names it (additive). Both are primary zones served from the
 * control plane; `Master` says the zone is meant to be transferred to secondaries (NOTIFY,
 * AXFR) once Switchboard does that. Secondary kinds (Slave, Consumer) and catalog producers
 * are refused until zone transfers exist.
 */
/**
 * Producer: a catalog zone (RFC 9432), its members generated (docs/TRANSFERS.md "Catalog zones").
 * Consumer: another provider's catalog zone, transferred from `masters` as a Slave zone is; its
 * members are kept as Slave zones of the same account (control/catalog-consumer.ts).
 */
export type ZoneKind = 'Native' | 'Master' | 'Slave' | 'Producer' | 'Consumer';

/**
 * Settings kept with a zone that are not its content (additive): changing them makes no new
 * version and no serial bump, only an audit row.
 */
export interface ZoneMetadata {
  kind: ZoneKind;
  /**
   * PowerDNS's SOA-EDIT-API as the client set it (default `DEFAULT`; `''` when set empty).
   * Kept and reported only: every version bumps the serial by one whatever it says.
   */
  soaEditApi: string;
  /**
   * Free text saying whom the zone is for (PowerDNS's `account`, default `''`). Not the owning
   * account (`accountId`), which decides who may see the zone.
   */
  accountLabel: string;
}

/** The metadata a caller sets: absent members stay as they are (at creation: the defaults). */
export interface ZoneMetadataInput {
  /** `Native`, `Master` or `Slave`, any letter case (`Primary` = `Master`, `Secondary` = `Slave`). */
  kind?: string;
  soaEditApi?: string;
  accountLabel?: string;
  /** PowerDNS's `catalog`: a Producer zone of the same account that lists the zone ('' or null: none). */
  catalog?: unknown;
}

/** A zone's summary. `version` doubles as the ETag (optimistic concurrency). */
export interface ZoneInfo extends ZoneMetadata {
  id: string;
  name: string;
  accountId: string;
  serial: number;
  version: number;
  recordCount: number;
  createdAt: string;
  updatedAt: string;
  /** The catalog zone (kind Producer) that lists it, when one does (one zone's GET only). */
  catalog?: string;
}

/** A zone with its current RRsets (sorted in canonical order). */
export interface ZoneDetail extends ZoneInfo {
  rrsets: RRsetData[];
}

/** One change of an atomic change set (issue 3 §3: all or nothing). */
/**
 * A list (of `RRsetChange` or `RRsetData`) as JSON text, as a request-body decoder made it off
 * the request loop: parsed, budget-checked and validated where the zone work runs, so the
 * request loop never holds its objects.
 */
export interface JsonList {
  readonly json: string;
}

/** True for a `JsonList`. */
export function isJsonList(v: unknown): v is JsonList {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as JsonList).json === 'string';
}

export type RRsetChange =
  /** Set the RRset to exactly these records (creates it when absent). */
  | { op: 'replace'; name: string; type: string; ttl: number; records: RecordData[] }
  /** Remove the RRset (no error when absent, like PowerDNS DELETE). */
  | { op: 'delete'; name: string; type: string }
  /** Add records to the RRset (creating it), keeping the others. */
  | { op: 'add'; name: string; type: string; ttl: number; records: RecordData[] }
  /** Remove these records from the RRset; the RRset goes when it becomes empty. */
  | { op: 'remove'; name: string; type: string; records: RecordData[] };

/** Options common to changes. */
export interface ChangeOptions {
  /** Apply only if the zone is still at this version (If-Match), else CTL_ERR_PRECONDITION. */
  ifMatch?: number;
  /** Free text kept with the version. */
  comment?: string;
  /**
   * Check the change and say what it would do, without applying it (additive): nothing is
   * written; the answer is the zone as it is, with `dryRun` and the lines of the diff.
   */
  dryRun?: boolean;
}

/**
 * What a content change did (additive to ZoneInfo, which describes the zone after it): the
 * zone's new version, or — `changed: false` — the zone as it was when the change changed
 * nothing (no version, no serial bump, the same ETag).
 */
export interface ZoneChangeResult extends ZoneInfo {
  /** False when the change changed nothing (removing a record that is not there, say). */
  changed: boolean;
  /** Record lines the change removed and added (SOA serial included), as in VersionDiff. */
  added: number;
  removed: number;
  /** True for a dry run: nothing was applied; `version` is the one the plan was made against. */
  dryRun?: boolean;
  /** Dry runs: the lines the change would remove and add, as VersionDiff shows them. */
  removedRecords?: string[];
  addedRecords?: string[];
  /** Findings that do not refuse the change (an in-zone NS target without an address). */
  warnings?: string[];
  /** A DNS UPDATE that was not applied: its RCODE (RFC 2136 §2.2) and why (not in API answers). */
  dnsUpdate?: { rcode: number; reason: string };
}

/** A zone version (every change is one, issue 3 §2). */
export interface ZoneVersion {
  version: number;
  serial: number;
  createdAt: string;
  /** Token id (and its name) that made the change. */
  actor: string;
  remote: string | null;
  comment: string | null;
  /** What made the version (additive field). */
  kind?: 'create' | 'change' | 'import' | 'rollback' | 'restore' | 'update';
  /** Counts of records added and removed by this version. */
  added: number;
  removed: number;
}

/** What one version changed, as records in master-file form (`name TTL CLASS TYPE rdata`). */
export interface VersionDiff extends ZoneVersion {
  /** Previous serial (0 for the first version). */
  fromSerial: number;
  removedRecords: string[];
  addedRecords: string[];
}

/** One audit log row (issue 3 §2: who, what, when, from which address). */
export interface AuditEntry {
  id: string;
  at: string;
  tokenId: string | null;
  accountId: string | null;
  action: string;
  target: string;
  remote: string | null;
  detail: unknown;
}

/** A deleted zone, kept restorable until `purgeAfter` (additive). */
export interface DeletedZone extends ZoneMetadata {
  /** The zone's id: its versions keep it; restore by it. */
  id: string;
  name: string;
  accountId: string;
  /** Version and serial when it was deleted. */
  version: number;
  serial: number;
  recordCount: number;
  createdAt: string;
  deletedAt: string;
  /** Token id that deleted it. */
  deletedBy: string | null;
  /** When it and its history are purged (deletedAt + the retention time). */
  purgeAfter: string | null;
}

/** What one pass of `pruneHistory` removed (additive). */
export interface PruneReport {
  versions: number;
  audit: number;
  deletedZones: number;
}

/** How long history is kept (additive; 0 = for ever). */
export interface RetentionOptions {
  /** Versions kept per zone, newest first (default 1000; at least 1). */
  versionsPerZone?: number;
  /** Versions older than this many days go, except a zone's current one (default 365). */
  versionDays?: number;
  /** Audit rows older than this many days go (default 365). */
  auditDays?: number;
  /** A deleted zone stays restorable, with its history, this many days (default 30). */
  deletedZoneDays?: number;
}

/** Filters of the audit log. */
export interface AuditQuery {
  /** Administrators: one account. */
  accountId?: string;
  /** Only entries about this zone (their target). */
  zone?: string;
  /** Only this action (`zone.change`), or the actions starting with a prefix ending in '.' (`zone.`). */
  action?: string;
  /** Only entries at or after this ISO 8601 time. */
  since?: string;
}

/** A page of results; pass `next` back as `cursor` for the following page. */
export interface Page<T> {
  items: T[];
  next?: string;
}

/** Paging request. */
export interface PageRequest {
  cursor?: string;
  /** Default 100, at most 1000. */
  limit?: number;
}

/**
 * A zone's own shield settings (docs/SHIELD.md "Per-zone settings"): the API form of
 * `--shield-zone NAME:min-nx=…,budget=…,responses=…,metrics=on`. Absent members keep the
 * server's.
 */
export interface ZoneShieldSettings {
  /** The detector's floor: missing names a second below which the zone is never called attacked. */
  minNxPerSecond?: number;
  /** Missing-name answers a second the zone still gets while attacked, at least. */
  budgetFloor?: number;
  /** The zone's own RRL rates by kind (a kind not given takes `responses`, else the server's). */
  rrl?: { responses?: number; nxdomains?: number; nodata?: number; referrals?: number; errors?: number };
  /** Its query and missing-name rates exported whatever its rank. */
  metrics?: boolean;
}

/** A zone's stored shield settings (`GET /api/v1/zones/{zone}/shield`). */
export interface ZoneShieldInfo {
  zone: string;
  /** Empty when the zone has none through the API (the server's and the flags' apply). */
  settings: ZoneShieldSettings;
  /** Who wrote them last: an administrator (`operator`) or the zone's account (`tenant`). */
  setBy?: 'operator' | 'tenant';
  updatedAt?: string;
}

/** One zone's settings for the DNS workers (`shieldZones`). */
export interface ServedShieldZone {
  /** Absolute, lower case. */
  name: string;
  settings: ZoneShieldSettings;
}

/**
 * Who may set what (`ControlPlaneOptions.shield`). Administrators set any valid value; a
 * tenant's token (write access to the zone) only the fields of `tenant`, each at most its
 * value (a rate of 0, "no limit", never), `metrics` only when `tenant.metrics` is true — and
 * never over settings an administrator wrote. Without `tenant`, tenants read only.
 */
export interface ShieldPolicy {
  /** Zones that may have settings through the API, platform-wide (default 1024). */
  maxZones?: number;
  /** Of them, zones in the metrics (default 100). */
  maxMetricsZones?: number;
  /** The tenants' ceilings (`start --shield-tenant`); absent: tenants may not set settings. */
  tenant?: ZoneShieldSettings;
  /**
   * Zones of one account whose settings its tenants may hold (`--shield-tenant zones=N`,
   * default 32): one account cannot take the platform's places. The operator's pins do not count.
   */
  tenantZones?: number;
  /** Of them, zones in the metrics (`--shield-tenant metrics-zones=N`, default 5). */
  tenantMetricsZones?: number;
}

/** A zone changed (or went away): the serving side reloads it. */
export interface ZoneChangeEvent {
  zone: string;
  version: number;
  deleted: boolean;
}

/** The current content of a zone for the DNS workers. */
export interface ServedZone {
  name: string;
  serial: number;
  version: number;
  /** Master-file text (absolute names) of every enabled record, SOA first. */
  text: string;
  /** The zone's id: a zone deleted and created again under the same name has a new one. */
  id?: string;
}

/**
 * One RRset a zone's changes touched, as it is after them (`servedChanges`): its owner as
 * stored (case kept), type, TTL, and its enabled records as master-file lines in the served
 * text's form (`''`: the RRset is gone, or all its records are disabled).
 */
/**
 * What changed in a zone's settings (one channel for all of them, docs/TRANSFERS.md):
 * `shield` (its shield settings), `transfer` (transfer settings, ALSO-NOTIFY, TSIG keys of its
 * account), `notify` (a NOTIFY asked for through the API: this replica only).
 */
/** `catalog`: a zone's catalog field, or a Producer zone made or deleted (catalog zones, RFC 9432). */
export type ZoneSettingsKind = 'shield' | 'transfer' | 'notify' | 'catalog';

export interface ZoneSettingsChange {
  /** The zone (undefined: any, e.g. after a lost LISTEN connection). */
  zone?: string;
  kinds: ZoneSettingsKind[];
}

export interface ServedRRsetChange {
  owner: string;
  type: number;
  ttl: number;
  text: string;
  /** Its served lines at the version the changes start from ('' = none): IXFR's removals. */
  was?: string;
}

/** One stored version's diff as the IXFR journal takes it (`servedHistory`). */
export interface ServedStep {
  fromSerial: number;
  toSerial: number;
  changes: ServedRRsetChange[];
}

/** A zone's changes from one version to its current one (`servedChanges`). */
export interface ServedChanges {
  name: string;
  id: string;
  /** The current version and serial: applying `changes` to the older version gives them. */
  version: number;
  serial: number;
  changes: ServedRRsetChange[];
}

/** Stable error codes; the API maps them to HTTP statuses in one table. */
export type ControlErrorCode =
  | 'CTL_ERR_VALIDATION' // 422 (or 400): bad input; `field` names the field at fault
  | 'CTL_ERR_UNAUTHENTICATED' // 401
  | 'CTL_ERR_FORBIDDEN' // 403: authenticated but not allowed (e.g. read-only token writes)
  | 'CTL_ERR_NOT_FOUND' // 404: absent or belongs to another account (never reveal which)
  | 'CTL_ERR_CONFLICT' // 409: the zone name is taken, etc.
  | 'CTL_ERR_PRECONDITION' // 412: If-Match version is stale
  | 'CTL_ERR_GONE' // 410: the version was pruned by the retention policy
  | 'CTL_ERR_QUOTA'; // 403/422: account quota would be exceeded

/** A control-plane failure: nothing was changed. */
export class ControlError extends Error {
  readonly code: ControlErrorCode;
  /** The request field at fault, as a path (`rrsets[2].records[0].content`). */
  readonly field?: string;
  constructor(code: ControlErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'ControlError';
    this.code = code;
    this.field = field;
  }
}

/** The control plane. All methods are atomic: they succeed entirely or change nothing. */
export interface ControlPlane {
  /** The principal of an API key, or null when unknown or revoked. Updates last-used time. */
  authenticate(secret: string, remote?: string): Promise<Principal | null>;

  createAccount(
    p: Principal,
    input: { name: string; maxZones?: number; maxRecords?: number },
  ): Promise<Account>;
  /** The accounts the principal may see; `name` (additive): only the account of that name. */
  listAccounts(p: Principal, page?: { name?: string } & PageRequest): Promise<Page<Account>>;
  getAccount(p: Principal, id: string): Promise<Account>;
  createUser(p: Principal, input: { accountId: string; name: string }): Promise<User>;

  /** Creates a token; an admin may create one for any account (or an admin token). */
  createToken(
    p: Principal,
    input: { name: string; accountId?: string | null; userId?: string; scope: TokenScope },
  ): Promise<NewToken>;
  listTokens(p: Principal, input?: { accountId?: string } & PageRequest): Promise<Page<TokenInfo>>;
  revokeToken(p: Principal, id: string): Promise<void>;

  listZones(p: Principal, input?: { accountId?: string } & PageRequest): Promise<Page<ZoneInfo>>;
  /**
   * Creates a zone from RRsets or master-file text. Without an SOA, one is made
   * (`ns1.<zone> hostmaster.<zone> 1 10800 3600 604800 3600`); `nameservers` become the apex NS.
   * A big zone (2,000 records or more) comes back with `rrsets` empty and `rrsetsJson`, the
   * JSON text of its RRsets, made off the request loop (additive).
   */
  createZone(
    p: Principal,
    input: {
      name: string;
      accountId?: string;
      rrsets?: RRsetData[] | JsonList;
      zonefile?: string;
      nameservers?: string[];
      /** Kind Slave: its masters (ADDR:PORT) and transfer key (docs/TRANSFERS.md). */
      masters?: unknown;
      slaveTsigKeyIds?: unknown;
      /** The caller does not answer with the RRsets: none are made (`rrsets` empty; additive). */
      noRRsets?: boolean;
    } & ZoneMetadataInput,
  ): Promise<ZoneDetail & { warnings?: string[]; rrsetsJson?: string }>;
  /**
   * What `createZone` decides from the name alone (additive), without creating anything:
   * FORBIDDEN when the token may not create it, VALIDATION for a bad name, CONFLICT when the
   * name is taken (by any account) or lies inside or around another account's zone. Lets an
   * API answer a taken name with 409 before looking at the rest of a request, as PowerDNS does.
   */
  checkNewZone(p: Principal, input: { name: string; accountId?: string }): Promise<void>;
  getZone(p: Principal, name: string): Promise<ZoneDetail>;
  deleteZone(p: Principal, name: string, opts?: ChangeOptions): Promise<void>;
  /** Applies every change or none; bumps the SOA serial; stores the version and its diff. */
  changeRRsets(
    p: Principal,
    name: string,
    changes: RRsetChange[] | JsonList,
    opts?: ChangeOptions,
  ): Promise<ZoneChangeResult>;
  /**
   * Runs `decodeBody(route, bytes)` of the module at `decoder` (a URL the caller names: the
   * API's request-body decoder) where zone work runs, off the request loop, and answers what it
   * returns (a structured-cloneable value; big lists in it as `JsonList`). Additive.
   */
  decodeBody(decoder: string, route: string, bytes: Uint8Array): Promise<unknown>;
  /**
   * Replaces the zone's content with master-file text (one new version; none when the text
   * holds the current content). `;disabled; ` lines are disabled records.
   */
  importZone(p: Principal, name: string, zonefile: string, opts?: ChangeOptions): Promise<ZoneChangeResult>;
  /** The zone as master-file text; disabled records behind `;disabled; `. */
  exportZone(p: Principal, name: string): Promise<string>;
  /**
   * Changes a zone's metadata (additive): the members given, the others stay. Not a content
   * change: no new version, no serial bump, no zone-change event; one audit row
   * (`zone.metadata`) when something changed. `ifMatch` is checked as for content changes.
   */
  updateZoneMetadata(
    p: Principal,
    name: string,
    input: ZoneMetadataInput,
    opts?: ChangeOptions,
  ): Promise<ZoneInfo>;

  /** A zone's own shield settings (empty when it has none). */
  getZoneShield(p: Principal, name: string): Promise<ZoneShieldInfo>;
  /**
   * Replaces a zone's own shield settings (`{}` removes them), checked as the flag checks them,
   * within the platform's caps and the tenants' ceilings (ShieldPolicy); one `zone.shield`
   * audit row when something changed; no new version (the served content is the same).
   */
  setZoneShield(
    p: Principal,
    name: string,
    input: unknown,
    opts?: { comment?: string },
  ): Promise<ZoneShieldInfo>;
  /** Removes a zone's own shield settings (the server's apply again). */
  deleteZoneShield(p: Principal, name: string, opts?: { comment?: string }): Promise<ZoneShieldInfo>;
  /** Every zone's own shield settings, for the DNS workers. */
  shieldZones(): Promise<ServedShieldZone[]>;
  /** Subscribes to changes of any zone's shield settings (every replica's, with PostgreSQL). */
  onShieldChange(listener: () => void): () => void;
  /** Zone settings changes: shield, transfer (and TSIG keys), NOTIFY requests. */
  onSettingsChange(listener: (change: ZoneSettingsChange) => void): () => void;

  // ---- TSIG keys and who may transfer a zone (control/tsig-keys.ts; docs/TRANSFERS.md) ----

  /** The keys of the principal's account, without secrets. */
  listTsigKeys(p: Principal): Promise<TsigKeyInfo[]>;
  /** One key of the principal's account, by name, with its secret. */
  getTsigKey(p: Principal, name: string): Promise<TsigKeyInfo>;
  /** A new key (`key` absent: one is generated); returned with its secret. */
  createTsigKey(
    p: Principal,
    input: { name?: unknown; algorithm?: unknown; key?: unknown },
  ): Promise<TsigKeyInfo>;
  /** Changes a key's name, algorithm or secret. */
  updateTsigKey(
    p: Principal,
    name: string,
    input: { name?: unknown; algorithm?: unknown; key?: unknown },
  ): Promise<TsigKeyInfo>;
  deleteTsigKey(p: Principal, name: string): Promise<void>;
  getZoneTransfer(p: Principal, zone: string): Promise<ZoneTransferInfo>;
  setZoneTransfer(p: Principal, zone: string, input: Partial<ZoneTransferInfo>): Promise<ZoneTransferInfo>;
  /** Asks this replica to send NOTIFY for the zone now (docs/TRANSFERS.md, "NOTIFY"). */
  notifyZone(p: Principal, zone: string): Promise<{ zone: string; serial: number }>;
  /** Every zone's transfer settings with its account's keys, secrets included (DNS workers only). */
  transferZones(): Promise<ServedTransferZone[]>;

  // ---- catalog zones (RFC 9432; control/catalog-zones.ts, docs/TRANSFERS.md "Catalog zones") ----
  // Optional: `start` publishes catalogs only over a control plane that has them.

  /** Makes sure the fleet catalog (a Producer zone of the system account) exists. */
  ensureFleetCatalog?(name: string): Promise<void>;
  /** Every zone, every Producer zone and what each catalog lists (start's catalog writer). */
  catalogSnapshot?(): Promise<CatalogSnapshot>;
  /** A catalog zone's PTR (and `group` TXT) records: a Producer zone the writer had not seen. */
  catalogPtrs?(name: string): Promise<CatalogRecord[]>;
  /** A zone's groups in its Producer catalog (`CATALOG-GROUP` metadata; RFC 9432 §4.4.2). */
  catalogGroups?(p: Principal, zone: string): Promise<string[]>;
  /** Sets them ([] removes); 422 when the zone names no Producer zone. */
  setCatalogGroups?(p: Principal, zone: string, groups: unknown): Promise<string[]>;
  /** The zones named (undefined: gone) and the Producer zones, for the writer's changes. */
  catalogZonesNamed?(
    names: readonly string[],
  ): Promise<{ zones: Map<string, CatalogMemberZone | undefined>; producers: CatalogZoneRef[] }>;
  /** Writes member changes to a catalog zone as one version (the platform's own write). */
  writeCatalog?(
    catalog: string,
    changes: readonly CatalogChange[],
  ): Promise<{ serial: number; changed: boolean }>;
  /** This replica's edge summaries, written to the store (control/edges.ts; start's registry). */
  writeEdges?(edges: readonly StoredEdge[]): Promise<void>;
  /** Every replica's edge summaries (control/edges.ts). */
  readEdges?(): Promise<StoredEdge[]>;
  /** The names of the Consumer zones (control/catalog-consumer.ts; start's consumer driver). */
  consumerZones?(): Promise<string[]>;
  /** Brings a Consumer zone's member zones in step with its catalog (null: nothing to do). */
  syncConsumer?(name: string): Promise<ConsumerReport | null>;
  /** A secondary zone's masters, key and refresh state (null: not a secondary zone). */
  getZoneSecondary(p: Principal, zone: string): Promise<ZoneSecondaryInfo | null>;
  /** Sets masters (non-empty: the zone becomes Slave; empty: Native again) and/or the key. */
  setZoneSecondary(
    p: Principal,
    zone: string,
    input: { masters?: unknown; slaveTsigKeyIds?: unknown },
  ): Promise<ZoneSecondaryInfo | null>;
  /** PowerDNS's axfr-retrieve: asks this process's refresher to transfer the zone now. */
  requestSecondaryRefresh(p: Principal, zone: string): Promise<void>;
  /** The refresher's subscription to `requestSecondaryRefresh` (zone names). */
  onSecondaryRefresh(listener: (zone: string) => void): () => void;
  /** Every secondary zone with its key's secret (the refresher in `start`). */
  secondaryZones(): Promise<SecondaryZone[]>;
  /** Records the outcome of a secondary zone's refresh. */
  recordSecondaryCheck(zoneId: string, check: SecondaryCheck): Promise<void>;
  /**
   * A secondary zone's content as transferred (master-file text), checked like any zone and
   * written as its next version with the primary's serial kept; the account's record quota
   * applies. `zoneId`: the zone the transfer was for (another zone of that name: refused).
   */
  transferIn(zoneId: string, zone: string, text: string, comment: string): Promise<ZoneChangeResult>;
  /**
   * A secondary zone's IXFR difference (per step, the records removed and added as master-file
   * lines) applied to its stored content off the request loop (control/transfer-diff.ts), the
   * primary's serial kept; CTL_ERR_VALIDATION when it does not apply (then transfer it whole).
   * Optional: without it, the refresher writes the whole text (`transferIn`).
   */
  transferInSteps?(
    zoneId: string,
    zone: string,
    steps: { removed: string; added: string }[],
    comment: string,
  ): Promise<ZoneChangeResult>;

  /** Who may change a zone with DNS UPDATE (PowerDNS metadata TSIG-ALLOW-DNSUPDATE, ALLOW-DNSUPDATE-FROM). */
  getZoneUpdatePolicy(p: Principal, zone: string): Promise<ZoneUpdatePolicy>;
  setZoneUpdatePolicy(
    p: Principal,
    zone: string,
    input: Partial<ZoneUpdatePolicy>,
  ): Promise<ZoneUpdatePolicy>;
  /** A zone's account and its TSIG keys (undefined: no such zone), for verifying an UPDATE's signature. */
  zoneAccountKeys(
    zone: string,
  ): Promise<{ account: string; keys: { name: string; algorithm: string; secret: string }[] } | undefined>;
  /** An UPDATE whose TSIG was verified against zoneAccountKeys: its RCODE; never throws. */
  dnsUpdate(req: DnsUpdateRequest): Promise<DnsUpdateResult>;

  listVersions(p: Principal, name: string, page?: PageRequest): Promise<Page<ZoneVersion>>;
  getVersion(p: Principal, name: string, version: number): Promise<VersionDiff>;
  /** Makes the content of `version` current again, as a new version (none if it is current). */
  rollback(p: Principal, name: string, version: number, opts?: ChangeOptions): Promise<ZoneChangeResult>;

  /** The audit log, newest first, filtered (additive: zone, action, since). */
  listAudit(p: Principal, input?: AuditQuery & PageRequest): Promise<Page<AuditEntry>>;

  /** Deleted zones still restorable, newest first; `name` keeps those of one name (additive). */
  listDeletedZones(
    p: Principal,
    input?: { accountId?: string; name?: string } & PageRequest,
  ): Promise<Page<DeletedZone>>;
  /** One deleted zone, by id or by name (the most recently deleted of that name). */
  getDeletedZone(p: Principal, idOrName: string): Promise<DeletedZone>;
  listDeletedVersions(p: Principal, idOrName: string, page?: PageRequest): Promise<Page<ZoneVersion>>;
  getDeletedVersion(p: Principal, idOrName: string, version: number): Promise<VersionDiff>;
  /**
   * Brings a deleted zone back with its history, as a new version (`restore`) with the next
   * serial: CONFLICT when its name is taken again, QUOTA as for a new zone.
   */
  restoreZone(p: Principal, idOrName: string, opts?: { comment?: string }): Promise<ZoneInfo>;
  /**
   * One pass of the retention policy (ControlPlaneOptions.retention) in small transactions
   * that yield to the event loop between them; `now` for tests.
   */
  pruneHistory(now?: Date): Promise<PruneReport>;

  /** Subscribes to zone changes (this replica's and, with PostgreSQL, every replica's). */
  onZoneChange(listener: (ev: ZoneChangeEvent) => void): () => void;
  /** Every zone's current content, for the DNS workers at start. */
  servedZones(): AsyncIterable<ServedZone>;
  /**
   * The last stored diffs of every zone changed since its creation (at most `maxVersions`
   * each), for the IXFR journal of a primary that starts. Optional: absent, the journal
   * starts empty.
   */
  servedHistory?(
    maxVersions: number,
  ): AsyncIterable<{ name: string; id: string; serial: number; steps: ServedStep[] }>;
  /** One zone's current content, or null when it no longer exists. */
  servedZone(name: string): Promise<ServedZone | null>;
  /**
   * What changed in zone `name` since version `since.version` of the zone with id `since.id`:
   * every RRset changed by the versions after it, as it is now. Null when that cannot be said
   * from the stored diffs (the zone is gone or is another zone of that name, a version in
   * between was pruned, a restore) or when more than `maxRRsets` RRsets changed: then read
   * the whole zone (`servedZone`).
   */
  servedChanges(
    name: string,
    since: { id: string; version: number },
    maxRRsets?: number,
  ): Promise<ServedChanges | null>;

  /**
   * At start (no principal): with `secret` (SWITCHBOARD_API_KEY), makes sure that exact key
   * is a valid administrator token; without, creates an administrator token only when none
   * exists and returns its secret (printed once). Idempotent.
   */
  bootstrapAdmin(secret?: string): Promise<{ created: boolean; tokenId: string; secret?: string }>;
  /** The principal the platform itself acts as (first-start import of example zones). */
  systemPrincipal(): Principal;
  /** True when the store holds no zone at all (first start). */
  isEmpty(): Promise<boolean>;

  close(): Promise<void>;
}

/** How to open the control plane (`switchboard start --data DIR --database URL`). */
export interface ControlPlaneOptions {
  /** Directory of the embedded SQLite store (default ./data). */
  dataDir: string;
  /** `postgres://…` to use PostgreSQL instead of SQLite. */
  database?: string;
  /** Defaults for new zones. */
  defaults?: { nameservers?: string[]; hostmaster?: string };
  /** Validation limits and default quotas (additive field; every member has a default). */
  limits?: ControlLimits;
  /**
   * Where zone changes are parsed and checked: a worker thread (default), or the calling
   * thread ('inline').
   */
  zoneWork?: 'thread' | 'inline';
  /** Per-zone shield settings: the platform's caps and what tenants may set (additive). */
  shield?: ShieldPolicy;
  /**
   * Where tenants may aim the platform (`ALSO-NOTIFY`, a secondary zone's `masters`; `start
   * --outbound-allow`): default, every
   * special-purpose range refused (src/xfr/outbound.ts).
   */
  outbound?: OutboundPolicy;
  /** How long versions, audit rows and deleted zones are kept (additive). */
  retention?: RetentionOptions;
  /**
   * Render a big zone's served text with each change, so that `servedZone` need not read and
   * render its rows (default true). `start --images on` reads a change's diff instead
   * (`servedChanges`) and turns it off.
   */
  servedText?: boolean;
}

/** Limits of the control plane (issue 3 §5). */
export interface ControlLimits {
  /** Highest record TTL accepted (default 2592000 s = 30 days; never above 2^31-1). */
  maxTtl?: number;
  /** Most records in one RRset (default 1000). */
  maxRecordsPerRRset?: number;
  /** Zone quota of a new account when none is given (default 1000). */
  defaultMaxZones?: number;
  /** Record quota of a new account when none is given (default 100000). */
  defaultMaxRecords?: number;
  /**
   * Most records one request may make (zone file, RRsets, change set), administrators
   * included; counted before they are made (default 200000).
   */
  maxRecordsPerRequest?: number;
  /** Heap cap of the thread that parses and checks zone changes, MiB (default 1536). */
  workerHeapMb?: number;
}
