/**
 * The control plane on the store: every `ControlPlane` operation, each authorized from its
 * Principal here and nowhere else, and each change one transaction that validates against
 * the current state (read inside the transaction, under the zone's row lock on PostgreSQL),
 * then writes the changed RRsets, a version row with the diff, the bumped SOA serial and an
 * audit row, and notifies the other replicas — or, on any failure, writes nothing.
 * @module
 */
import { randomUUID } from 'node:crypto';
import {
  type ChangeFeed,
  isUniqueViolation,
  openStore,
  type Repo,
  type Store,
  type ZoneRow,
} from '../store/index.js';
import { RRType } from '../wire/constants.js';
import { Name } from '../wire/name.js';
import { printRecords } from '../zone/index.js';
import {
  canSeeAccount,
  canSeeZone,
  hashSecret,
  isAccountWide,
  newSecret,
  PREFIX_LENGTH,
  requireAccountWide,
  requireAdmin,
  requireWrite,
  SYSTEM_PRINCIPAL,
  scopeAllowsZone,
  zoneNotFound,
} from './access.js';
import {
  applyChanges,
  buildAndCheck,
  changeLines,
  checkContentRules,
  countChangeLines,
  diffContent,
  type EditLimits,
  type Locate,
  locateInChanges,
  locateInZonefile,
  parseZonefile,
  prepareChanges,
  type RRsetChangeRecord,
  settleSerial,
  sortKeyOfName,
} from './edit.js';
import { decodeCursor, isIntCursor, isStringCursor, isTimeCursor, makePage, pageLimit } from './paging.js';
import {
  contentToRecords,
  countRecords,
  decodeRecords,
  encodeRecords,
  nameKeyOf,
  parseZoneName,
  type RecordMemo,
  type RRsetState,
  renderServedText,
  rrsetKey,
  toOctets,
  toRRsetData,
  type ZoneContent,
} from './records.js';
import {
  type Account,
  type AuditEntry,
  type ChangeOptions,
  ControlError,
  type ControlPlane,
  type ControlPlaneOptions,
  type NewToken,
  type Page,
  type PageRequest,
  type Principal,
  type RRsetChange,
  type RRsetData,
  type ServedZone,
  type TokenInfo,
  type TokenScope,
  type User,
  type VersionDiff,
  type ZoneChangeEvent,
  type ZoneDetail,
  type ZoneInfo,
  type ZoneMetadataInput,
  type ZoneVersion,
} from './types.js';
import { DEFAULT_METADATA, diffMetadata, mergeMetadata, metadataOfRow } from './zone-metadata.js';

/** The NOTIFY channel of zone changes (issue 3: every replica LISTENs on it). */
export const ZONE_CHANGE_CHANNEL = 'switchboard_zone_change';
/** The account zones go to when an administrator creates one without naming an account. */
export const DEFAULT_ACCOUNT = 'default';

const DEFAULTS = {
  maxTtl: 2592000,
  maxRecordsPerRRset: 1000,
  defaultMaxZones: 1000,
  defaultMaxRecords: 100000,
};
/** TTL of the SOA and NS records made for a zone created without them. */
const GENERATED_TTL = 3600;
/** Write the last-used time of a token at most this often (ms): not a write per request. */
const LAST_USED_EVERY_MS = 60_000;
/** Zones per query when listing every zone for the DNS workers. */
const SERVED_PAGE = 1000;
/** Above this many changed RRsets (and half the zone), rewrite the zone's rows in bulk. */
const BULK_REWRITE = 64;
const INT32_MAX = 2147483647;
/** Zones of at least this many records keep their parsed content in memory between changes. */
const CACHE_MIN_RECORDS = 2000;
/** How many such zones are kept (least recently changed dropped first). */
const CACHE_ZONES = 4;

function invalid(message: string, field?: string): ControlError {
  return new ControlError('CTL_ERR_VALIDATION', message, field);
}

function now(): string {
  return new Date().toISOString();
}

/** Checks a short free-text name (account, user, token). */
function checkLabel(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.trim().length === 0) throw invalid(`${field} is required`, field);
  if (v.length > 200) throw invalid(`${field} is longer than 200 characters`, field);
  return v;
}

function checkQuota(v: unknown, fallback: number, field: string): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > INT32_MAX)
    throw invalid(`${field} must be an integer from 0 to ${INT32_MAX}`, field);
  return v;
}

function checkIfMatch(opts: ChangeOptions | undefined, zone: ZoneRow): void {
  const want = opts?.ifMatch;
  if (want === undefined || want === null) return;
  if (want !== zone.version)
    throw new ControlError(
      'CTL_ERR_PRECONDITION',
      `zone ${zone.name} is at version ${zone.version}, not ${want}: reload it and apply the change again`,
    );
}

function toAccount(r: {
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

function toZoneInfo(z: ZoneRow): ZoneInfo {
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

function scopeOf(row: { admin: number; access: string; zones: string | null }): TokenScope {
  const scope: TokenScope = {
    admin: Number(row.admin) === 1,
    access: row.access === 'write' ? 'write' : 'read',
  };
  if (row.zones !== null) scope.zones = JSON.parse(row.zones) as string[];
  return scope;
}

function toTokenInfo(r: {
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

function rowToRRset(r: {
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

function contentOf(rows: ReadonlyArray<Parameters<typeof rowToRRset>[0]>): ZoneContent {
  const content: ZoneContent = new Map();
  for (const r of rows) {
    const s = rowToRRset(r);
    content.set(rrsetKey(s.nameKey, s.type), s);
  }
  return content;
}

/** RRsets in canonical order (RFC 4034 §6.1 owner order, then type). */
function sortedRRsets(content: ZoneContent): RRsetState[] {
  const decorated = [...content.values()].map((s) => ({ k: sortKeyOfName(s.name), s }));
  decorated.sort((a, b) => (a.k !== b.k ? (a.k < b.k ? -1 : 1) : a.s.type - b.s.type));
  return decorated.map((d) => d.s);
}

/** Stored form of a version's changes. */
type StoredChange = { before: RRsetState | null; after: RRsetState | null };

function parseChanges(json: string): StoredChange[] {
  return JSON.parse(json) as StoredChange[];
}

/** A zone's new content, validated, with what to write. */
interface Settled {
  draft: ZoneContent;
  /** Parsed records of the draft's RRsets (for the zone cache). */
  memo: RecordMemo;
  diff: RRsetChangeRecord[];
  serial: number;
  recordCount: number;
  added: number;
  removed: number;
}

/** The control plane over an open store. */
export class StoreControlPlane implements ControlPlane {
  readonly #store: Store;
  readonly #opts: ControlPlaneOptions;
  readonly #limits: EditLimits & { defaultMaxZones: number; defaultMaxRecords: number };
  readonly #listeners = new Set<(ev: ZoneChangeEvent) => void>();
  /** Identifies this replica in NOTIFY payloads, so its own changes are emitted once. */
  readonly #replica = randomUUID();
  /** Version of every zone as last emitted (PostgreSQL): what a resync compares against. */
  readonly #known = new Map<string, number>();
  readonly #tokenNames = new Map<string, string | null>();
  /**
   * Large zones' content at a version, with their parsed records: a change to a big zone
   * then re-parses only the RRsets it touches. Keyed by zone id (a zone created again gets a
   * new id) and used only when the version still matches the row read under the lock, so a
   * change made by another replica is never missed.
   */
  readonly #cache = new Map<string, { version: number; content: ZoneContent; memo: RecordMemo }>();
  #feed: ChangeFeed | undefined;
  #closed = false;

  private constructor(store: Store, opts: ControlPlaneOptions) {
    this.#store = store;
    this.#opts = opts;
    const l = opts.limits ?? {};
    this.#limits = {
      maxTtl: Math.min(l.maxTtl ?? DEFAULTS.maxTtl, INT32_MAX),
      maxRecordsPerRRset: l.maxRecordsPerRRset ?? DEFAULTS.maxRecordsPerRRset,
      defaultMaxZones: l.defaultMaxZones ?? DEFAULTS.defaultMaxZones,
      defaultMaxRecords: l.defaultMaxRecords ?? DEFAULTS.defaultMaxRecords,
    };
  }

  /** Opens the store (migrating it) and, with PostgreSQL, starts listening for changes. */
  static async open(opts: ControlPlaneOptions): Promise<StoreControlPlane> {
    const store = await openStore({ dataDir: opts.dataDir, database: opts.database });
    const plane = new StoreControlPlane(store, opts);
    try {
      await plane.#startFeed();
    } catch (err) {
      await store.close();
      throw err;
    }
    return plane;
  }

  /** The store's dialect (for logs and tests). */
  get dialect(): 'sqlite' | 'postgres' {
    return this.#store.dialect;
  }

  /** The PostgreSQL change feed, when there is one (tests drop its connection). */
  get changeFeed(): ChangeFeed | undefined {
    return this.#feed;
  }

  // ---- change events ----

  async #startFeed(): Promise<void> {
    if (this.#store.dialect !== 'postgres') return;
    for (const z of await this.#store.repo.zoneVersions()) this.#known.set(z.name, Number(z.version));
    this.#feed = await this.#store.listen(ZONE_CHANGE_CHANNEL, {
      onMessage: (payload) => this.#onNotify(payload),
      onReconnect: () => {
        this.#resync().catch(() => {
          // The next reconnect or change brings it back in line.
        });
      },
    });
  }

  #onNotify(payload: string): void {
    let ev: ZoneChangeEvent & { origin?: string };
    try {
      ev = JSON.parse(payload) as ZoneChangeEvent & { origin?: string };
    } catch {
      return;
    }
    if (typeof ev?.zone !== 'string' || ev.origin === this.#replica) return;
    this.#emit({ zone: ev.zone, version: Number(ev.version), deleted: ev.deleted === true });
  }

  /** After a lost LISTEN connection: emits every zone whose version moved meanwhile. */
  async #resync(): Promise<void> {
    const rows = await this.#store.repo.zoneVersions();
    const seen = new Set<string>();
    for (const r of rows) {
      seen.add(r.name);
      const v = Number(r.version);
      if (this.#known.get(r.name) !== v) this.#emit({ zone: r.name, version: v, deleted: false });
    }
    for (const [name, v] of [...this.#known])
      if (!seen.has(name)) this.#emit({ zone: name, version: v, deleted: true });
  }

  #emit(ev: ZoneChangeEvent): void {
    if (this.#store.dialect === 'postgres') {
      if (ev.deleted) this.#known.delete(ev.zone);
      else this.#known.set(ev.zone, ev.version);
    }
    for (const l of this.#listeners) {
      try {
        l(ev);
      } catch {
        // A failing listener must not fail the change that already committed.
      }
    }
  }

  async #notify(repo: Repo, ev: ZoneChangeEvent): Promise<void> {
    await this.#store.notify(repo, ZONE_CHANGE_CHANNEL, JSON.stringify({ ...ev, origin: this.#replica }));
  }

  onZoneChange(listener: (ev: ZoneChangeEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  // ---- plumbing ----

  /** A write transaction; unique violations (a name taken meanwhile) become CONFLICT. */
  async #write<T>(fn: (repo: Repo) => Promise<T>): Promise<T> {
    this.#checkOpen();
    try {
      return await this.#store.transaction(fn);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ControlError('CTL_ERR_CONFLICT', 'the name is already taken');
      throw err;
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error('the control plane is closed');
  }

  async #audit(
    repo: Repo,
    p: Principal,
    action: string,
    target: string,
    accountId: string | null,
    detail?: unknown,
  ): Promise<void> {
    await repo.insertAudit({
      id: randomUUID(),
      at: now(),
      token_id: p.tokenId,
      account_id: accountId,
      action,
      target,
      remote: p.remote ?? null,
      detail: detail === undefined ? null : JSON.stringify(detail),
    });
  }

  async #actorName(repo: Repo, p: Principal): Promise<string | null> {
    if (p.tokenId === SYSTEM_PRINCIPAL.tokenId) return null;
    const cached = this.#tokenNames.get(p.tokenId);
    if (cached !== undefined) return cached;
    const t = await repo.getToken(p.tokenId);
    const name = t?.name ?? null;
    if (t) this.#tokenNames.set(p.tokenId, name);
    return name;
  }

  /** Parses a zone name given to an operation on an existing zone (bad names: not found). */
  #zoneName(name: unknown): Name {
    try {
      return parseZoneName(name, 'name');
    } catch {
      throw zoneNotFound(String(name));
    }
  }

  /** The zone, if `p` may see it; NOT_FOUND otherwise (other tenants' zones included). */
  async #visibleZone(repo: Repo, p: Principal, name: string, lock = false): Promise<ZoneRow> {
    const zone = await repo.getZoneByName(name, lock);
    if (!zone || !canSeeZone(p, zone.name, zone.account_id)) throw zoneNotFound(name);
    return zone;
  }

  /** Checks the account's record quota when a change adds records (admins are exempt). */
  async #checkRecordQuota(repo: Repo, p: Principal, accountId: string, delta: number): Promise<void> {
    if (p.scope.admin || delta <= 0) return;
    // The account row lock serialises quota checks of concurrent changes (PostgreSQL).
    const account = await repo.getAccount(accountId, true);
    if (!account) return;
    const total = (await repo.sumRecords(accountId)) + delta;
    if (total > Number(account.max_records))
      throw new ControlError(
        'CTL_ERR_QUOTA',
        `the account's record quota (${account.max_records}) would be exceeded (${total} records)`,
        'rrsets',
      );
  }

  /** Validates a draft as the zone's next content and computes what to write. */
  #settle(
    draft: ZoneContent,
    current: ZoneContent,
    origin: Name,
    oldSerial: number | undefined,
    locate: Locate,
    memo: RecordMemo = new Map(),
  ): Settled {
    checkContentRules(draft, origin, locate);
    buildAndCheck(draft, origin, locate, memo);
    const serial = settleSerial(draft, origin, oldSerial);
    const diff = diffContent(current, draft);
    const { added, removed } = countChangeLines(diff);
    return { draft, memo, diff, serial, recordCount: countRecords(draft.values()), added, removed };
  }

  /** The zone's current content: from the cache when it holds this version, else the rows. */
  async #currentContent(repo: Repo, zone: ZoneRow): Promise<{ content: ZoneContent; memo: RecordMemo }> {
    const hit = this.#cache.get(zone.id);
    // A copy of the memo: a change that fails must not leave its parsed RRsets in the cache.
    if (hit && hit.version === Number(zone.version)) return { content: hit.content, memo: new Map(hit.memo) };
    return { content: contentOf(await repo.getRRsets(zone.id)), memo: new Map() };
  }

  /** Remembers a big zone's content after a committed change (see #cache). */
  #remember(zoneId: string, version: number, s: Settled): void {
    this.#cache.delete(zoneId);
    if (s.recordCount < CACHE_MIN_RECORDS) return;
    // Keep only the parsed records of RRsets still in the content.
    const memo: RecordMemo = new Map();
    for (const r of s.draft.values()) {
      const rrs = s.memo.get(r);
      if (rrs) memo.set(r, rrs);
    }
    this.#cache.set(zoneId, { version, content: s.draft, memo });
    while (this.#cache.size > CACHE_ZONES) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
  }

  /** Writes a settled change: RRset rows, zone row, version row. Returns the new version. */
  async #writeVersion(
    repo: Repo,
    p: Principal,
    zone: ZoneRow,
    s: Settled,
    kind: 'change' | 'import' | 'rollback',
    comment: string | null,
  ): Promise<ZoneRow> {
    if (s.diff.length > BULK_REWRITE && s.diff.length * 2 > s.draft.size) {
      await repo.deleteAllRRsets(zone.id);
      await repo.insertRRsets([...s.draft.values()].map((r) => this.#row(zone.id, r)));
    } else {
      for (const c of s.diff) {
        const key = c.before ?? c.after;
        if (!key) continue;
        if (c.before) await repo.deleteRRset(zone.id, c.before.nameKey, c.before.type);
        if (c.after) await repo.insertRRsets([this.#row(zone.id, c.after)]);
      }
    }
    const version = Number(zone.version) + 1;
    const at = now();
    await repo.updateZone(zone.id, {
      version,
      serial: s.serial,
      record_count: s.recordCount,
      updated_at: at,
    });
    await repo.insertVersion({
      zone_id: zone.id,
      version,
      serial: s.serial,
      from_serial: zone.serial,
      created_at: at,
      actor: p.tokenId,
      actor_name: await this.#actorName(repo, p),
      remote: p.remote ?? null,
      comment,
      kind,
      added: s.added,
      removed: s.removed,
      changes: JSON.stringify(s.diff),
    });
    await this.#audit(repo, p, `zone.${kind}`, zone.name, zone.account_id, {
      version,
      serial: s.serial,
      added: s.added,
      removed: s.removed,
      ...(comment !== null ? { comment } : {}),
    });
    await this.#notify(repo, { zone: zone.name, version, deleted: false });
    return { ...zone, version, serial: s.serial, record_count: s.recordCount, updated_at: at };
  }

  #row(zoneId: string, s: RRsetState) {
    return {
      zone_id: zoneId,
      name_key: s.nameKey,
      name: s.name,
      type: s.type,
      ttl: s.ttl,
      records: encodeRecords(s.records),
    };
  }

  // ---- tokens and authentication ----

  async authenticate(secret: string, remote?: string): Promise<Principal | null> {
    this.#checkOpen();
    if (typeof secret !== 'string' || secret.length === 0 || secret.length > 1024) return null;
    const row = await this.#store.repo.getTokenByHash(hashSecret(secret));
    if (!row || row.revoked_at !== null) return null;
    const t = Date.now();
    if (row.last_used_at === null || t - Date.parse(row.last_used_at) > LAST_USED_EVERY_MS) {
      try {
        await this.#store.repo.updateToken(row.id, { last_used_at: new Date(t).toISOString() });
      } catch {
        // Bookkeeping only: authentication does not fail for it.
      }
    }
    const p: Principal = { tokenId: row.id, accountId: row.account_id, scope: scopeOf(row) };
    if (remote !== undefined) p.remote = remote;
    return p;
  }

  async createToken(
    p: Principal,
    input: { name: string; accountId?: string | null; userId?: string; scope: TokenScope },
  ): Promise<NewToken> {
    requireWrite(p);
    requireAccountWide(p);
    const name = checkLabel(input?.name, 'name');
    const scope = this.#checkScope(input?.scope);
    if (scope.admin && !p.scope.admin)
      throw new ControlError('CTL_ERR_FORBIDDEN', 'only an administrator can create administrator tokens');
    let accountId: string | null;
    if (p.scope.admin) {
      accountId = input.accountId !== undefined ? input.accountId : scope.admin ? null : p.accountId;
      if (accountId === null && !scope.admin)
        throw invalid('a token that is not an administrator token belongs to an account', 'accountId');
    } else {
      accountId = input.accountId ?? p.accountId;
      if (accountId === null || accountId !== p.accountId)
        throw new ControlError('CTL_ERR_NOT_FOUND', `account ${input.accountId} not found`, 'accountId');
    }
    const secret = newSecret();
    const row = {
      id: randomUUID(),
      account_id: accountId,
      user_id: input.userId ?? null,
      name,
      secret_hash: hashSecret(secret),
      prefix: secret.slice(0, PREFIX_LENGTH),
      admin: scope.admin ? 1 : 0,
      access: scope.access,
      zones: scope.zones !== undefined ? JSON.stringify(scope.zones) : null,
      created_at: now(),
      last_used_at: null,
      revoked_at: null,
    };
    await this.#write(async (repo) => {
      if (accountId !== null && !(await repo.getAccount(accountId)))
        throw new ControlError('CTL_ERR_NOT_FOUND', `account ${accountId} not found`, 'accountId');
      if (input.userId !== undefined) {
        const user = await repo.getUser(input.userId);
        if (!user || user.account_id !== accountId)
          throw new ControlError('CTL_ERR_NOT_FOUND', `user ${input.userId} not found`, 'userId');
      }
      await repo.insertToken(row);
      await this.#audit(repo, p, 'token.create', row.id, accountId, { name, scope, prefix: row.prefix });
    });
    return { ...toTokenInfo(row), secret };
  }

  #checkScope(v: unknown): TokenScope {
    const s = v as { admin?: unknown; access?: unknown; zones?: unknown } | null;
    if (s === null || typeof s !== 'object') throw invalid('scope is required', 'scope');
    if (s.admin !== undefined && typeof s.admin !== 'boolean')
      throw invalid('scope.admin must be true or false', 'scope.admin');
    if (s.access !== 'read' && s.access !== 'write')
      throw invalid("scope.access must be 'read' or 'write'", 'scope.access');
    const scope: TokenScope = { admin: s.admin === true, access: s.access };
    if (s.zones !== undefined && s.zones !== null) {
      if (scope.admin) throw invalid('an administrator token cannot be limited to zones', 'scope.zones');
      if (!Array.isArray(s.zones)) throw invalid('scope.zones must be a list of zone names', 'scope.zones');
      scope.zones = [...new Set(s.zones.map((z, i) => parseZoneName(z, `scope.zones[${i}]`).toString()))];
    }
    return scope;
  }

  async listTokens(p: Principal, input?: { accountId?: string } & PageRequest): Promise<Page<TokenInfo>> {
    this.#checkOpen();
    requireAccountWide(p);
    const limit = pageLimit(input);
    const after = decodeCursor(input, isTimeCursor);
    const accountId = listedAccount(p, input?.accountId);
    if (accountId === null) return { items: [] };
    const rows = await this.#store.repo.listTokens({ accountId, after, limit: limit + 1 });
    return makePage(rows, limit, toTokenInfo, (r) => ({ at: r.created_at, id: r.id }));
  }

  async revokeToken(p: Principal, id: string): Promise<void> {
    requireWrite(p);
    requireAccountWide(p);
    await this.#write(async (repo) => {
      const row = typeof id === 'string' ? await repo.getToken(id) : undefined;
      if (!row || (!p.scope.admin && (row.account_id === null || row.account_id !== p.accountId)))
        throw new ControlError('CTL_ERR_NOT_FOUND', `token ${id} not found`);
      if (!p.scope.admin && row.admin === 1)
        throw new ControlError('CTL_ERR_FORBIDDEN', 'only an administrator can revoke administrator tokens');
      if (row.revoked_at !== null) return;
      await repo.updateToken(row.id, { revoked_at: now() });
      await this.#audit(repo, p, 'token.revoke', row.id, row.account_id, { name: row.name });
    });
  }

  async bootstrapAdmin(secret?: string): Promise<{ created: boolean; tokenId: string; secret?: string }> {
    const p = this.systemPrincipal();
    if (secret !== undefined) {
      if (typeof secret !== 'string' || secret.length < 8)
        throw invalid('the administrator key must be at least 8 characters', 'secret');
      const hash = hashSecret(secret);
      return this.#write(async (repo) => {
        const row = await repo.getTokenByHash(hash);
        if (row && row.admin === 1 && row.revoked_at === null && row.access === 'write')
          return { created: false, tokenId: row.id };
        if (row) {
          // The operator named this exact key as the administrator key: make it one again.
          await repo.updateToken(row.id, {
            admin: 1,
            access: 'write',
            zones: null,
            revoked_at: null,
            account_id: null,
          });
          await this.#audit(repo, p, 'token.bootstrap', row.id, null, { restored: true });
          return { created: false, tokenId: row.id };
        }
        const id = randomUUID();
        await repo.insertToken({
          id,
          account_id: null,
          user_id: null,
          name: 'administrator (SWITCHBOARD_API_KEY)',
          secret_hash: hash,
          // An operator's own key may be short: show no more than a quarter of it.
          prefix: secret.slice(0, Math.min(PREFIX_LENGTH, Math.floor(secret.length / 4))),
          admin: 1,
          access: 'write',
          zones: null,
          created_at: now(),
          last_used_at: null,
          revoked_at: null,
        });
        await this.#audit(repo, p, 'token.bootstrap', id, null, { from: 'SWITCHBOARD_API_KEY' });
        return { created: true, tokenId: id };
      });
    }
    return this.#write(async (repo) => {
      const existing = await repo.findActiveAdminToken();
      if (existing) return { created: false, tokenId: existing.id };
      const fresh = newSecret();
      const id = randomUUID();
      await repo.insertToken({
        id,
        account_id: null,
        user_id: null,
        name: 'administrator (first start)',
        secret_hash: hashSecret(fresh),
        prefix: fresh.slice(0, PREFIX_LENGTH),
        admin: 1,
        access: 'write',
        zones: null,
        created_at: now(),
        last_used_at: null,
        revoked_at: null,
      });
      await this.#audit(repo, p, 'token.bootstrap', id, null, { from: 'first start' });
      return { created: true, tokenId: id, secret: fresh };
    });
  }

  systemPrincipal(): Principal {
    return { tokenId: SYSTEM_PRINCIPAL.tokenId, accountId: null, scope: { admin: true, access: 'write' } };
  }

  // ---- accounts and users ----

  async createAccount(
    p: Principal,
    input: { name: string; maxZones?: number; maxRecords?: number },
  ): Promise<Account> {
    requireAdmin(p);
    requireWrite(p);
    const row = {
      id: randomUUID(),
      name: checkLabel(input?.name, 'name'),
      max_zones: checkQuota(input.maxZones, this.#limits.defaultMaxZones, 'maxZones'),
      max_records: checkQuota(input.maxRecords, this.#limits.defaultMaxRecords, 'maxRecords'),
      created_at: now(),
    };
    await this.#write(async (repo) => {
      if (await repo.getAccountByName(row.name))
        throw new ControlError('CTL_ERR_CONFLICT', `an account named '${row.name}' exists`, 'name');
      await repo.insertAccount(row);
      await this.#audit(repo, p, 'account.create', row.id, row.id, {
        name: row.name,
        maxZones: row.max_zones,
        maxRecords: row.max_records,
      });
    });
    return toAccount(row);
  }

  async listAccounts(p: Principal, page?: PageRequest): Promise<Page<Account>> {
    this.#checkOpen();
    const limit = pageLimit(page);
    const after = decodeCursor(page, isTimeCursor);
    if (!p.scope.admin && p.accountId === null) return { items: [] };
    const rows = await this.#store.repo.listAccounts({
      onlyId: p.scope.admin ? undefined : (p.accountId as string),
      after,
      limit: limit + 1,
    });
    return makePage(rows, limit, toAccount, (r) => ({ at: r.created_at, id: r.id }));
  }

  async getAccount(p: Principal, id: string): Promise<Account> {
    this.#checkOpen();
    const row =
      typeof id === 'string' && canSeeAccount(p, id) ? await this.#store.repo.getAccount(id) : undefined;
    if (!row) throw new ControlError('CTL_ERR_NOT_FOUND', `account ${id} not found`);
    return toAccount(row);
  }

  async createUser(p: Principal, input: { accountId: string; name: string }): Promise<User> {
    requireWrite(p);
    const accountId = input?.accountId;
    if (typeof accountId !== 'string' || !canSeeAccount(p, accountId))
      throw new ControlError('CTL_ERR_NOT_FOUND', `account ${accountId} not found`, 'accountId');
    requireAccountWide(p);
    const row = {
      id: randomUUID(),
      account_id: accountId,
      name: checkLabel(input.name, 'name'),
      created_at: now(),
    };
    await this.#write(async (repo) => {
      if (!(await repo.getAccount(accountId)))
        throw new ControlError('CTL_ERR_NOT_FOUND', `account ${accountId} not found`, 'accountId');
      await repo.insertUser(row);
      await this.#audit(repo, p, 'user.create', row.id, accountId, { name: row.name });
    });
    return { id: row.id, accountId, name: row.name, createdAt: row.created_at };
  }

  // ---- zones ----

  async listZones(p: Principal, input?: { accountId?: string } & PageRequest): Promise<Page<ZoneInfo>> {
    this.#checkOpen();
    const limit = pageLimit(input);
    const after = decodeCursor(input, isStringCursor);
    const accountId = listedAccount(p, input?.accountId);
    if (accountId === null) return { items: [] };
    const names = isAccountWide(p)
      ? undefined
      : (p.scope.zones ?? []).map((z) => (z.endsWith('.') ? z : `${z}.`).toLowerCase());
    const rows = await this.#store.repo.listZones({ accountId, names, after, limit: limit + 1 });
    return makePage(rows, limit, toZoneInfo, (r) => r.name);
  }

  async createZone(
    p: Principal,
    input: {
      name: string;
      accountId?: string;
      rrsets?: RRsetData[];
      zonefile?: string;
      nameservers?: string[];
    } & ZoneMetadataInput,
  ): Promise<ZoneDetail> {
    // Authorization and a taken name come first: PowerDNS answers a duplicate zone with 409
    // whatever else is wrong with the request.
    const origin = await this.#precheckCreate(p, input);
    const zname = origin.toString();
    const metadata = mergeMetadata(DEFAULT_METADATA, input);
    const { content, locate } = this.#initialContent(origin, input);
    const settled = this.#settle(content, new Map(), origin, undefined, locate);
    const at = now();
    const zoneId = randomUUID();

    const zone = await this.#write(async (repo) => {
      const accountId = await this.#zoneAccount(repo, p, input.accountId);
      const quota = !p.scope.admin;
      const account = await repo.getAccount(accountId, quota);
      if (!account)
        throw new ControlError('CTL_ERR_NOT_FOUND', `account ${accountId} not found`, 'accountId');
      // Again, under the transaction: another request may have taken the name meanwhile.
      await this.#checkNameFree(repo, origin, accountId);
      if (quota) {
        const zones = await repo.countZones(accountId);
        if (zones >= Number(account.max_zones))
          throw new ControlError(
            'CTL_ERR_QUOTA',
            `the account's zone quota (${account.max_zones}) is reached`,
            'name',
          );
        const total = (await repo.sumRecords(accountId)) + settled.recordCount;
        if (total > Number(account.max_records))
          throw new ControlError(
            'CTL_ERR_QUOTA',
            `the account's record quota (${account.max_records}) would be exceeded (${total} records)`,
            input.zonefile !== undefined ? 'zonefile' : 'rrsets',
          );
      }
      const row: ZoneRow = {
        id: zoneId,
        name: zname,
        account_id: accountId,
        version: 1,
        serial: settled.serial,
        record_count: settled.recordCount,
        created_at: at,
        updated_at: at,
        kind: metadata.kind,
        soa_edit_api: metadata.soaEditApi,
        account_label: metadata.accountLabel,
      };
      await repo.insertZone(row);
      await repo.insertRRsets([...settled.draft.values()].map((r) => this.#row(zoneId, r)));
      await repo.insertVersion({
        zone_id: zoneId,
        version: 1,
        serial: settled.serial,
        from_serial: 0,
        created_at: at,
        actor: p.tokenId,
        actor_name: await this.#actorName(repo, p),
        remote: p.remote ?? null,
        comment: null,
        kind: 'create',
        added: settled.added,
        removed: 0,
        changes: JSON.stringify(settled.diff),
      });
      await this.#audit(repo, p, 'zone.create', zname, accountId, {
        version: 1,
        serial: settled.serial,
        records: settled.recordCount,
        ...metadata,
      });
      await this.#notify(repo, { zone: zname, version: 1, deleted: false });
      return row;
    });
    this.#remember(zoneId, 1, settled);
    this.#emit({ zone: zname, version: 1, deleted: false });
    return { ...toZoneInfo(zone), rrsets: sortedRRsets(settled.draft).map(toRRsetData) };
  }

  async checkNewZone(p: Principal, input: { name: string; accountId?: string }): Promise<void> {
    await this.#precheckCreate(p, input);
  }

  /**
   * What createZone checks before reading the rest of its input: the token may create the
   * zone, the name parses, and the name is free. The read is outside any transaction (the
   * creating transaction checks again); it is a cheap early answer, so a duplicate is a
   * CONFLICT even when the rest of the request is invalid.
   */
  async #precheckCreate(p: Principal, input: { name: string; accountId?: string }): Promise<Name> {
    this.#checkOpen();
    requireWrite(p);
    const origin = parseZoneName(input?.name, 'name');
    const zname = origin.toString();
    if (!scopeAllowsZone(p, zname))
      throw new ControlError(
        'CTL_ERR_FORBIDDEN',
        `this token is limited to other zones than ${zname}`,
        'name',
      );
    if (!p.scope.admin) {
      if (p.accountId === null)
        throw new ControlError('CTL_ERR_FORBIDDEN', 'this token belongs to no account');
      if (input.accountId !== undefined && input.accountId !== p.accountId)
        throw new ControlError('CTL_ERR_NOT_FOUND', `account ${input.accountId} not found`, 'accountId');
    }
    const repo = this.#store.repo;
    await this.#checkNameFree(repo, origin, await this.#likelyZoneAccount(repo, p, input.accountId));
    return origin;
  }

  /**
   * The account a new zone would go to, without creating the default account ('' when it
   * does not exist yet: it owns no zone, so every other zone is another account's).
   */
  async #likelyZoneAccount(repo: Repo, p: Principal, requested: unknown): Promise<string> {
    if (!p.scope.admin) return p.accountId as string;
    if (requested !== undefined) return typeof requested === 'string' ? requested : '';
    if (p.accountId !== null) return p.accountId;
    return (await repo.getAccountByName(DEFAULT_ACCOUNT))?.id ?? '';
  }

  /** CONFLICT when the name is taken, or lies inside or around a zone of another account. */
  async #checkNameFree(repo: Repo, origin: Name, accountId: string): Promise<void> {
    // A taken name is a taken name, whoever holds it (as in any registry): saying so leaks
    // nothing a creation attempt would not.
    if (await repo.getZoneByName(origin.toString()))
      throw new ControlError('CTL_ERR_CONFLICT', `zone ${origin} already exists`, 'name');
    await this.#checkNesting(repo, origin, accountId);
  }

  /** The account a new zone goes to. Admins without one get the built-in default account. */
  async #zoneAccount(repo: Repo, p: Principal, requested: string | undefined): Promise<string> {
    if (!p.scope.admin) return p.accountId as string;
    if (requested !== undefined) {
      if (typeof requested !== 'string') throw invalid('accountId must be a string', 'accountId');
      return requested;
    }
    if (p.accountId !== null) return p.accountId;
    const account = await repo.ensureAccount({
      id: randomUUID(),
      name: DEFAULT_ACCOUNT,
      max_zones: this.#limits.defaultMaxZones,
      max_records: this.#limits.defaultMaxRecords,
      created_at: now(),
    });
    return account.id;
  }

  /**
   * One zone name belongs to one account — and so does the tree under it: a zone inside
   * (or around) another account's zone would answer for names that tenant owns.
   */
  async #checkNesting(repo: Repo, origin: Name, accountId: string): Promise<void> {
    const ancestors: string[] = [];
    for (let n = origin.parent(); !n.isRoot; n = n.parent()) ancestors.push(n.toString());
    for (const z of await repo.zonesNamed(ancestors))
      if (z.account_id !== accountId)
        throw new ControlError('CTL_ERR_CONFLICT', `${origin} is inside a zone of another account`, 'name');
    const below = await repo.zonesBelow(origin.toString(), 1, accountId);
    if (below.length > 0)
      throw new ControlError('CTL_ERR_CONFLICT', `${origin} contains a zone of another account`, 'name');
  }

  /** The content of a new zone from RRsets or a zone file, with SOA and NS filled in. */
  #initialContent(
    origin: Name,
    input: { rrsets?: RRsetData[]; zonefile?: string; nameservers?: string[] },
  ): { content: ZoneContent; locate: Locate } {
    let content: ZoneContent;
    let locate: Locate;
    const hasRRsets = Array.isArray(input.rrsets) && input.rrsets.length > 0;
    if (input.zonefile !== undefined && input.zonefile !== null) {
      if (hasRRsets) throw invalid('give either rrsets or a zonefile, not both', 'zonefile');
      const z = parseZonefile(input.zonefile, origin, this.#limits);
      content = z.content;
      locate = locateInZonefile(z);
    } else {
      if (input.rrsets !== undefined && !Array.isArray(input.rrsets))
        throw invalid('rrsets must be a list', 'rrsets');
      const changes = (input.rrsets ?? []).map((r) => ({ ...(r as object), op: 'replace' }));
      const prepared = prepareChanges(changes, origin, this.#limits, 'rrsets');
      content = new Map();
      locate = locateInChanges(applyChanges(content, prepared, this.#limits));
    }
    const apex = nameKeyOf(origin);
    const nsKey = rrsetKey(apex, RRType.NS);
    let nameservers: string[] = [];
    if (input.nameservers !== undefined && input.nameservers !== null) {
      if (!Array.isArray(input.nameservers))
        throw invalid('nameservers must be a list of names', 'nameservers');
      nameservers = input.nameservers.map((n, i) => this.#nameserver(n, `nameservers[${i}]`));
    }
    if (nameservers.length === 0 && !content.has(nsKey))
      nameservers = (this.#opts.defaults?.nameservers ?? []).map((n, i) =>
        this.#nameserver(n, `defaults.nameservers[${i}]`),
      );
    if (nameservers.length > 0) {
      const old = content.get(nsKey);
      const records = [...(old?.records ?? [])];
      for (const ns of nameservers)
        if (!records.some((r) => r.content === ns)) records.push({ content: ns, disabled: false });
      content.set(nsKey, {
        name: origin.toString(),
        nameKey: apex,
        type: RRType.NS,
        ttl: old?.ttl ?? GENERATED_TTL,
        records,
      });
    }
    if (!content.has(nsKey))
      throw invalid('a zone needs nameservers: give nameservers or an NS RRset at the apex', 'nameservers');
    const soaKey = rrsetKey(apex, RRType.SOA);
    if (!content.has(soaKey)) {
      const ns = content.get(nsKey)?.records[0]?.content ?? `ns1.${origin}`;
      const hostmaster = this.#opts.defaults?.hostmaster
        ? this.#nameserver(this.#opts.defaults.hostmaster, 'defaults.hostmaster')
        : `hostmaster.${origin}`;
      content.set(soaKey, {
        name: origin.toString(),
        nameKey: apex,
        type: RRType.SOA,
        ttl: GENERATED_TTL,
        records: [{ content: `${ns} ${hostmaster} 1 10800 3600 604800 3600`, disabled: false }],
      });
    }
    return { content, locate };
  }

  #nameserver(v: unknown, field: string): string {
    if (typeof v !== 'string' || v.length === 0) throw invalid('a nameserver must be a domain name', field);
    try {
      return Name.parse(v.endsWith('.') ? toOctets(v) : `${toOctets(v)}.`).toString();
    } catch (err) {
      throw invalid(`bad name '${v}': ${(err as Error).message}`, field);
    }
  }

  async getZone(p: Principal, name: string): Promise<ZoneDetail> {
    this.#checkOpen();
    const zname = this.#zoneName(name).toString();
    return this.#store.read(async (repo) => {
      const zone = await this.#visibleZone(repo, p, zname);
      const content = contentOf(await repo.getRRsets(zone.id));
      return { ...toZoneInfo(zone), rrsets: sortedRRsets(content).map(toRRsetData) };
    });
  }

  async deleteZone(p: Principal, name: string, opts?: ChangeOptions): Promise<void> {
    this.#checkOpen();
    const zname = this.#zoneName(name).toString();
    const ev = await this.#write(async (repo) => {
      const zone = await this.#visibleZone(repo, p, zname, true);
      requireWrite(p);
      checkIfMatch(opts, zone);
      await repo.deleteZone(zone.id);
      this.#cache.delete(zone.id);
      await this.#audit(repo, p, 'zone.delete', zone.name, zone.account_id, {
        version: zone.version,
        serial: zone.serial,
        ...(opts?.comment ? { comment: opts.comment } : {}),
      });
      const e: ZoneChangeEvent = { zone: zone.name, version: Number(zone.version), deleted: true };
      await this.#notify(repo, e);
      return e;
    });
    this.#emit(ev);
  }

  /** Checks, before the transaction, that `p` may write the zone (cheap early refusal). */
  async #precheckWrite(p: Principal, name: string): Promise<Name> {
    const origin = this.#zoneName(name);
    await this.#visibleZone(this.#store.repo, p, origin.toString());
    requireWrite(p);
    return origin;
  }

  async changeRRsets(
    p: Principal,
    name: string,
    changes: RRsetChange[],
    opts?: ChangeOptions,
  ): Promise<ZoneInfo> {
    this.#checkOpen();
    const origin = await this.#precheckWrite(p, name);
    // Syntax needs no current state: checked before taking any lock.
    const prepared = prepareChanges(changes, origin, this.#limits, 'rrsets');
    return this.#change(p, origin, opts, 'change', (current) => {
      const draft = new Map(current);
      const touches = applyChanges(draft, prepared, this.#limits);
      return { draft, locate: locateInChanges(touches) };
    });
  }

  async importZone(p: Principal, name: string, zonefile: string, opts?: ChangeOptions): Promise<ZoneInfo> {
    this.#checkOpen();
    const origin = await this.#precheckWrite(p, name);
    const parsed = parseZonefile(zonefile, origin, this.#limits);
    return this.#change(p, origin, opts, 'import', (current) => {
      const draft: ZoneContent = new Map(parsed.content);
      const soaKey = rrsetKey(nameKeyOf(origin), RRType.SOA);
      // A zone file without an SOA keeps the zone's (with the next serial).
      const soa = current.get(soaKey);
      if (!draft.has(soaKey) && soa) draft.set(soaKey, soa);
      return { draft, locate: locateInZonefile(parsed) };
    });
  }

  async rollback(p: Principal, name: string, version: number, opts?: ChangeOptions): Promise<ZoneInfo> {
    this.#checkOpen();
    if (typeof version !== 'number' || !Number.isInteger(version) || version < 1)
      throw invalid('version must be a positive integer', 'version');
    const origin = await this.#precheckWrite(p, name);
    const comment = opts?.comment ?? `rollback to version ${version}`;
    return this.#change(p, origin, { ...opts, comment }, 'rollback', async (current, repo, zone) => {
      if (!(await repo.getVersion(zone.id, version)))
        throw new ControlError('CTL_ERR_NOT_FOUND', `zone ${zone.name} has no version ${version}`, 'version');
      // Content of `version` = the current content with every later version undone.
      const draft: ZoneContent = new Map(current);
      for (const v of await repo.versionsAfter(zone.id, version))
        for (const c of parseChanges(v.changes)) {
          const s = (c.before ?? c.after) as RRsetState;
          const key = rrsetKey(s.nameKey, s.type);
          if (c.before) draft.set(key, c.before);
          else draft.delete(key);
        }
      const where = `version ${version} cannot be restored: `;
      return { draft, locate: () => ({ where }) };
    });
  }

  /**
   * The common path of every content change: lock and re-check the zone, build the draft
   * from the current content, validate it whole, write it as the next version.
   */
  async #change(
    p: Principal,
    origin: Name,
    opts: ChangeOptions | undefined,
    kind: 'change' | 'import' | 'rollback',
    makeDraft: (
      current: ZoneContent,
      repo: Repo,
      zone: ZoneRow,
    ) => { draft: ZoneContent; locate: Locate } | Promise<{ draft: ZoneContent; locate: Locate }>,
  ): Promise<ZoneInfo> {
    const zname = origin.toString();
    const comment = typeof opts?.comment === 'string' ? opts.comment : null;
    const result = await this.#write(async (repo) => {
      // PostgreSQL: the row lock serialises writers of this zone across replicas.
      const zone = await this.#visibleZone(repo, p, zname, true);
      requireWrite(p);
      checkIfMatch(opts, zone);
      const { content: current, memo } = await this.#currentContent(repo, zone);
      const { draft, locate } = await makeDraft(current, repo, zone);
      if (kind === 'change' && diffContent(current, draft).length === 0)
        // Nothing to change (say, removing a record already gone): no new version.
        return { zone, settled: undefined };
      const settled = this.#settle(draft, current, origin, zone.serial, locate, memo);
      await this.#checkRecordQuota(repo, p, zone.account_id, settled.recordCount - Number(zone.record_count));
      const next = await this.#writeVersion(repo, p, zone, settled, kind, comment);
      return { zone: next, settled };
    });
    if (result.settled) {
      const version = Number(result.zone.version);
      this.#remember(result.zone.id, version, result.settled);
      this.#emit({ zone: zname, version, deleted: false });
    }
    return toZoneInfo(result.zone);
  }

  async updateZoneMetadata(
    p: Principal,
    name: string,
    input: ZoneMetadataInput,
    opts?: ChangeOptions,
  ): Promise<ZoneInfo> {
    this.#checkOpen();
    const zname = this.#zoneName(name).toString();
    const comment = typeof opts?.comment === 'string' ? opts.comment : undefined;
    return this.#write(async (repo) => {
      // The row lock orders this with content changes of the zone (PostgreSQL).
      const zone = await this.#visibleZone(repo, p, zname, true);
      requireWrite(p);
      checkIfMatch(opts, zone);
      const before = metadataOfRow(zone);
      const after = mergeMetadata(before, input);
      const changes = diffMetadata(before, after);
      if (Object.keys(changes).length === 0) return toZoneInfo(zone);
      // Metadata is not content: the served zone, its version and its serial stay.
      const patch = { kind: after.kind, soa_edit_api: after.soaEditApi, account_label: after.accountLabel };
      await repo.updateZone(zone.id, patch);
      await this.#audit(repo, p, 'zone.metadata', zone.name, zone.account_id, {
        version: Number(zone.version),
        changes,
        ...(comment !== undefined ? { comment } : {}),
      });
      return toZoneInfo({ ...zone, ...patch });
    });
  }

  async exportZone(p: Principal, name: string): Promise<string> {
    this.#checkOpen();
    const origin = this.#zoneName(name);
    const content = await this.#store.read(async (repo) => {
      const zone = await this.#visibleZone(repo, p, origin.toString());
      return contentOf(await repo.getRRsets(zone.id));
    });
    return printRecords(contentToRecords(content), origin);
  }

  // ---- versions ----

  async listVersions(p: Principal, name: string, page?: PageRequest): Promise<Page<ZoneVersion>> {
    this.#checkOpen();
    const zname = this.#zoneName(name).toString();
    const limit = pageLimit(page);
    const before = decodeCursor(page, isIntCursor);
    const rows = await this.#store.read(async (repo) => {
      const zone = await this.#visibleZone(repo, p, zname);
      return repo.listVersions(zone.id, { before, limit: limit + 1 });
    });
    return makePage(rows, limit, toZoneVersion, (r) => Number(r.version));
  }

  async getVersion(p: Principal, name: string, version: number): Promise<VersionDiff> {
    this.#checkOpen();
    const zname = this.#zoneName(name).toString();
    const row = await this.#store.read(async (repo) => {
      const zone = await this.#visibleZone(repo, p, zname);
      return Number.isInteger(version) ? repo.getVersion(zone.id, version) : undefined;
    });
    if (!row)
      throw new ControlError('CTL_ERR_NOT_FOUND', `zone ${zname} has no version ${version}`, 'version');
    const { removed, added } = changeLines(parseChanges(row.changes));
    return {
      ...toZoneVersion(row),
      fromSerial: row.from_serial,
      removedRecords: removed,
      addedRecords: added,
    };
  }

  // ---- audit ----

  async listAudit(p: Principal, input?: { accountId?: string } & PageRequest): Promise<Page<AuditEntry>> {
    this.#checkOpen();
    requireAccountWide(p);
    const limit = pageLimit(input);
    // The cursor is the sequence number of the last row shown (rows of one millisecond keep
    // their order across pages).
    const before = decodeCursor(input, isIntCursor);
    const accountId = listedAccount(p, input?.accountId);
    if (accountId === null) return { items: [] };
    const rows = await this.#store.repo.listAudit({ accountId, before, limit: limit + 1 });
    return makePage(
      rows,
      limit,
      (r): AuditEntry => ({
        id: r.id,
        at: r.at,
        tokenId: r.token_id,
        accountId: r.account_id,
        action: r.action,
        target: r.target,
        remote: r.remote,
        detail: r.detail === null ? null : JSON.parse(r.detail),
      }),
      (r) => r.seq,
    );
  }

  // ---- serving ----

  async *servedZones(): AsyncIterable<ServedZone> {
    this.#checkOpen();
    let after: string | undefined;
    for (;;) {
      // One snapshot per page: a zone's version, serial and text always agree.
      const page = await this.#store.read(async (repo) => {
        const zones = await repo.listZones({ after, limit: SERVED_PAGE });
        const rows = await repo.getRRsetsOfZones(zones.map((z) => z.id));
        return { zones, rows };
      });
      const byZone = new Map<string, RRsetState[]>();
      for (const r of page.rows) {
        let list = byZone.get(r.zone_id);
        if (!list) {
          list = [];
          byZone.set(r.zone_id, list);
        }
        list.push(rowToRRset(r));
      }
      for (const z of page.zones)
        yield {
          name: z.name,
          serial: z.serial,
          version: Number(z.version),
          text: renderServedText(byZone.get(z.id) ?? []),
        };
      if (page.zones.length < SERVED_PAGE) return;
      after = page.zones[page.zones.length - 1].name;
    }
  }

  async servedZone(name: string): Promise<ServedZone | null> {
    this.#checkOpen();
    let zname: string;
    try {
      zname = parseZoneName(name).toString();
    } catch {
      return null;
    }
    return this.#store.read(async (repo) => {
      const zone = await repo.getZoneByName(zname);
      if (!zone) return null;
      const rows = await repo.getRRsets(zone.id);
      return {
        name: zone.name,
        serial: zone.serial,
        version: Number(zone.version),
        text: renderServedText(rows.map(rowToRRset)),
      };
    });
  }

  async isEmpty(): Promise<boolean> {
    this.#checkOpen();
    return this.#store.repo.noZones();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    await this.#store.close();
  }
}

function toZoneVersion(r: {
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

/**
 * The account a listing covers: an administrator's choice (undefined = every account); for
 * anyone else their own account — asking for another is NOT_FOUND (its existence is not
 * revealed) — or null when the token belongs to no account (nothing to list).
 */
function listedAccount(p: Principal, requested: string | undefined): string | undefined | null {
  if (p.scope.admin) return requested;
  if (requested !== undefined && requested !== p.accountId)
    throw new ControlError('CTL_ERR_NOT_FOUND', `account ${requested} not found`, 'accountId');
  return p.accountId;
}
