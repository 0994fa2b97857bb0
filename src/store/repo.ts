/**
 * Repository functions: every query the control plane runs, in one place, over either
 * dialect. A `Repo` wraps a Kysely handle (the database, or a transaction) and the dialect,
 * so row locks (`FOR UPDATE`, PostgreSQL only: SQLite has one writer) and 64-bit columns
 * (strings from the PostgreSQL driver) are dealt with here and nowhere else.
 * @module
 */
import { CompiledQuery, type Insertable, type Kysely, type Selectable, sql, type Updateable } from 'kysely';
import { reverseName } from './migrations.js';
import type {
  AccountsTable,
  AuditLogTable,
  Database,
  DeletedZonesTable,
  RRsetsTable,
  TokensTable,
  TsigKeysTable,
  UsersTable,
  ZoneSecondaryTable,
  ZoneShieldTable,
  ZonesTable,
  ZoneTransferTable,
  ZoneUpdateTable,
  ZoneVersionsTable,
} from './schema.js';

/** Arbitrary constant key of the advisory lock of shield settings' writers ("sbsh"). */
const ZONE_SHIELD_LOCK = 0x73627368;

/** Which SQL database is behind the store. */
export type StoreDialect = 'sqlite' | 'postgres';

/** An account row. */
export type AccountRow = Selectable<AccountsTable>;
/** A user row. */
export type UserRow = Selectable<UsersTable>;
/** A token row. */
export type TokenRow = Selectable<TokensTable>;
/** An RRset row. */
export type RRsetRow = Selectable<RRsetsTable>;
/** An audit row with its sequence number as a number. */
export interface AuditRow extends Omit<Selectable<AuditLogTable>, 'seq'> {
  seq: number;
}

/** A zone row with its serial as a number (without `name_rev`, the store's own index key). */
export interface ZoneRow extends Omit<Selectable<ZonesTable>, 'serial' | 'name_rev'> {
  serial: number;
}

/** A version row with its serials as numbers. */
export interface VersionRow extends Omit<Selectable<ZoneVersionsTable>, 'serial' | 'from_serial'> {
  serial: number;
  from_serial: number;
}

/** A deleted zone's row with its serial as a number. */
export interface DeletedZoneRow extends Omit<Selectable<DeletedZonesTable>, 'serial'> {
  serial: number;
}

/** A deleted zone's row as listed (without its content id, the store's own business). */
export type DeletedZoneSummaryRow = Omit<DeletedZoneRow, 'content_id' | 'catalog'>;

/** A version row without its (possibly large) `changes`. */
export type VersionSummaryRow = Omit<VersionRow, 'changes'>;

/** Keyset position in a list ordered by (created_at, id) or (at, id). */
export interface TimeCursor {
  at: string;
  id: string;
}

/** Rows per multi-row INSERT: keeps under SQLite's bound-parameter limit. */
const INSERT_CHUNK = 400;
/** Ids per `IN (…)` list. */
const IN_CHUNK = 500;

const rrsetInserts = new Map<string, string>();

/** `insert into rrsets … values (…), …` for `n` rows, in the dialect's placeholders. */
function rrsetInsertSql(dialect: StoreDialect, n: number): string {
  const key = `${dialect}:${n}`;
  let text = rrsetInserts.get(key);
  if (text === undefined) {
    const tuples: string[] = [];
    for (let r = 0; r < n; r++) {
      const p = (c: number) => (dialect === 'postgres' ? `$${r * 6 + c + 1}` : '?');
      tuples.push(`(${[0, 1, 2, 3, 4, 5].map(p).join(', ')})`);
    }
    text = `insert into "rrsets" ("zone_id", "name_key", "name", "type", "ttl", "records") values ${tuples.join(', ')}`;
    if (rrsetInserts.size > 64) rrsetInserts.clear();
    rrsetInserts.set(key, text);
  }
  return text;
}

function toZone(r: Selectable<ZonesTable>): ZoneRow {
  const { name_rev: _, ...row } = r;
  return { ...row, serial: Number(r.serial) };
}

function toVersion<T extends { serial: number | string; from_serial: number | string }>(
  r: T,
): Omit<T, 'serial' | 'from_serial'> & { serial: number; from_serial: number } {
  return { ...r, serial: Number(r.serial), from_serial: Number(r.from_serial) };
}

const versionSummaryColumns = [
  'zone_id',
  'version',
  'serial',
  'from_serial',
  'created_at',
  'actor',
  'actor_name',
  'remote',
  'comment',
  'kind',
  'added',
  'removed',
] as const;

/** Queries over one Kysely handle (the database or an open transaction). */
export class Repo {
  readonly db: Kysely<Database>;
  readonly dialect: StoreDialect;

  constructor(db: Kysely<Database>, dialect: StoreDialect) {
    this.db = db;
    this.dialect = dialect;
  }

  // ---- accounts ----

  async insertAccount(row: Insertable<AccountsTable>): Promise<void> {
    await this.db.insertInto('accounts').values(row).execute();
  }

  /** Inserts the account unless one of that name exists; returns the account of that name. */
  async ensureAccount(row: Insertable<AccountsTable>): Promise<AccountRow> {
    await this.db
      .insertInto('accounts')
      .values(row)
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    return (await this.getAccountByName(row.name)) as AccountRow;
  }

  async getAccount(id: string, lock = false): Promise<AccountRow | undefined> {
    let q = this.db.selectFrom('accounts').selectAll().where('id', '=', id);
    if (lock && this.dialect === 'postgres') q = q.forUpdate();
    return q.executeTakeFirst();
  }

  async getAccountByName(name: string): Promise<AccountRow | undefined> {
    return this.db.selectFrom('accounts').selectAll().where('name', '=', name).executeTakeFirst();
  }

  async listAccounts(opts: {
    onlyId?: string;
    name?: string;
    /** Leave out the account of this name (the platform's own, switchboard-system). */
    notName?: string;
    after?: TimeCursor;
    limit: number;
  }): Promise<AccountRow[]> {
    let q = this.db.selectFrom('accounts').selectAll();
    if (opts.onlyId !== undefined) q = q.where('id', '=', opts.onlyId);
    if (opts.notName !== undefined) q = q.where('name', '<>', opts.notName);
    if (opts.name !== undefined) q = q.where('name', '=', opts.name);
    const after = opts.after;
    if (after)
      q = q.where((eb) =>
        eb.or([
          eb('created_at', '>', after.at),
          eb.and([eb('created_at', '=', after.at), eb('id', '>', after.id)]),
        ]),
      );
    return q.orderBy('created_at').orderBy('id').limit(opts.limit).execute();
  }

  // ---- users ----

  async insertUser(row: Insertable<UsersTable>): Promise<void> {
    await this.db.insertInto('users').values(row).execute();
  }

  async getUser(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  // ---- tokens ----

  async insertToken(row: Insertable<TokensTable>): Promise<void> {
    await this.db.insertInto('tokens').values(row).execute();
  }

  async getToken(id: string): Promise<TokenRow | undefined> {
    return this.db.selectFrom('tokens').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async getTokenByHash(hash: string): Promise<TokenRow | undefined> {
    return this.db.selectFrom('tokens').selectAll().where('secret_hash', '=', hash).executeTakeFirst();
  }

  /** The oldest administrator token that is not revoked. */
  async findActiveAdminToken(): Promise<TokenRow | undefined> {
    return this.db
      .selectFrom('tokens')
      .selectAll()
      .where('admin', '=', 1)
      .where('revoked_at', 'is', null)
      .orderBy('created_at')
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
  }

  async updateToken(id: string, patch: Updateable<TokensTable>): Promise<void> {
    await this.db.updateTable('tokens').set(patch).where('id', '=', id).execute();
  }

  async listTokens(opts: { accountId?: string; after?: TimeCursor; limit: number }): Promise<TokenRow[]> {
    let q = this.db.selectFrom('tokens').selectAll();
    if (opts.accountId !== undefined) q = q.where('account_id', '=', opts.accountId);
    const after = opts.after;
    if (after)
      q = q.where((eb) =>
        eb.or([
          eb('created_at', '>', after.at),
          eb.and([eb('created_at', '=', after.at), eb('id', '>', after.id)]),
        ]),
      );
    return q.orderBy('created_at').orderBy('id').limit(opts.limit).execute();
  }

  // ---- zones ----

  /** The zone of that (case-folded) name; `lock` takes its row lock (PostgreSQL). */
  async getZoneByName(name: string, lock = false): Promise<ZoneRow | undefined> {
    let q = this.db.selectFrom('zones').selectAll().where('name', '=', name);
    if (lock && this.dialect === 'postgres') q = q.forUpdate();
    const r = await q.executeTakeFirst();
    return r ? toZone(r) : undefined;
  }

  async insertZone(row: Insertable<ZonesTable>): Promise<void> {
    await this.db
      .insertInto('zones')
      .values({ ...row, name_rev: reverseName(row.name) })
      .execute();
  }

  async updateZone(id: string, patch: Updateable<ZonesTable>): Promise<void> {
    await this.db.updateTable('zones').set(patch).where('id', '=', id).execute();
  }

  // ---- TSIG keys and zone transfer settings (migration 10) ----

  /** An account's TSIG keys, by name. */
  async listTsigKeys(accountId: string): Promise<Selectable<TsigKeysTable>[]> {
    return this.db
      .selectFrom('tsig_keys')
      .selectAll()
      .where('account_id', '=', accountId)
      .orderBy('name')
      .execute();
  }

  /** One of an account's keys by its folded name. */
  async getTsigKey(accountId: string, name: string): Promise<Selectable<TsigKeysTable> | undefined> {
    return this.db
      .selectFrom('tsig_keys')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('name', '=', name)
      .executeTakeFirst();
  }

  async insertTsigKey(row: Insertable<TsigKeysTable>): Promise<void> {
    await this.db.insertInto('tsig_keys').values(row).execute();
  }

  async updateTsigKey(id: string, patch: Updateable<TsigKeysTable>): Promise<void> {
    await this.db.updateTable('tsig_keys').set(patch).where('id', '=', id).execute();
  }

  async deleteTsigKey(id: string): Promise<void> {
    await this.db.deleteFrom('tsig_keys').where('id', '=', id).execute();
  }

  async getZoneTransfer(zoneId: string): Promise<Selectable<ZoneTransferTable> | undefined> {
    return this.db.selectFrom('zone_transfer').selectAll().where('zone_id', '=', zoneId).executeTakeFirst();
  }

  /** Sets (inserts or replaces) a zone's transfer settings. */
  async putZoneTransfer(row: Insertable<ZoneTransferTable>): Promise<void> {
    await this.db
      .insertInto('zone_transfer')
      .values(row)
      .onConflict((oc) =>
        oc.column('zone_id').doUpdateSet({
          tsig_keys: row.tsig_keys,
          allow_from: row.allow_from,
          also_notify: row.also_notify ?? '[]',
          updated_at: row.updated_at,
        }),
      )
      .execute();
  }

  async deleteZoneTransfer(zoneId: string): Promise<void> {
    await this.db.deleteFrom('zone_transfer').where('zone_id', '=', zoneId).execute();
  }

  /** The transfer settings of one account's zones (a key's rename or deletion follows into them). */
  async zoneTransfersOfAccount(
    accountId: string,
  ): Promise<
    Array<{ zone_id: string; name: string; tsig_keys: string; allow_from: string; also_notify: string }>
  > {
    return this.db
      .selectFrom('zone_transfer')
      .innerJoin('zones', 'zones.id', 'zone_transfer.zone_id')
      .where('zones.account_id', '=', accountId)
      .select([
        'zone_transfer.zone_id as zone_id',
        'zones.name as name',
        'zone_transfer.tsig_keys as tsig_keys',
        'zone_transfer.allow_from as allow_from',
        'zone_transfer.also_notify as also_notify',
      ])
      .execute();
  }

  /** Every zone's transfer settings with the zone's name and account. */
  async listZoneTransfers(): Promise<
    Array<{ name: string; account_id: string; tsig_keys: string; allow_from: string; also_notify: string }>
  > {
    return this.db
      .selectFrom('zone_transfer')
      .innerJoin('zones', 'zones.id', 'zone_transfer.zone_id')
      .select([
        'zones.name as name',
        'zones.account_id as account_id',
        'zone_transfer.tsig_keys as tsig_keys',
        'zone_transfer.allow_from as allow_from',
        'zone_transfer.also_notify as also_notify',
      ])
      .orderBy('zones.name')
      .execute();
  }

  async getZoneUpdate(zoneId: string): Promise<Selectable<ZoneUpdateTable> | undefined> {
    return this.db.selectFrom('zone_update').selectAll().where('zone_id', '=', zoneId).executeTakeFirst();
  }

  /** Sets (inserts or replaces) who may change a zone with DNS UPDATE. */
  async putZoneUpdate(row: Insertable<ZoneUpdateTable>): Promise<void> {
    await this.db
      .insertInto('zone_update')
      .values(row)
      .onConflict((oc) =>
        oc
          .column('zone_id')
          .doUpdateSet({ tsig_keys: row.tsig_keys, allow_from: row.allow_from, updated_at: row.updated_at }),
      )
      .execute();
  }

  async deleteZoneUpdate(zoneId: string): Promise<void> {
    await this.db.deleteFrom('zone_update').where('zone_id', '=', zoneId).execute();
  }

  /** The DNS UPDATE settings of one account's zones (a key's rename or deletion follows into them). */
  async zoneUpdatesOfAccount(
    accountId: string,
  ): Promise<Array<{ zone_id: string; name: string; tsig_keys: string; allow_from: string }>> {
    return this.db
      .selectFrom('zone_update')
      .innerJoin('zones', 'zones.id', 'zone_update.zone_id')
      .where('zones.account_id', '=', accountId)
      .select([
        'zone_update.zone_id as zone_id',
        'zones.name as name',
        'zone_update.tsig_keys as tsig_keys',
        'zone_update.allow_from as allow_from',
      ])
      .execute();
  }

  /** The TSIG keys of the given accounts. */
  async tsigKeysOfAccounts(accountIds: readonly string[]): Promise<Selectable<TsigKeysTable>[]> {
    if (accountIds.length === 0) return [];
    return this.db.selectFrom('tsig_keys').selectAll().where('account_id', 'in', accountIds).execute();
  }

  // ---- secondary zones (migration 12) ----

  async getZoneSecondary(zoneId: string): Promise<Selectable<ZoneSecondaryTable> | undefined> {
    return this.db.selectFrom('zone_secondary').selectAll().where('zone_id', '=', zoneId).executeTakeFirst();
  }

  /** Sets (inserts or replaces) a zone's masters and key; its refresh state is kept. */
  async putZoneSecondary(row: Insertable<ZoneSecondaryTable>): Promise<void> {
    await this.db
      .insertInto('zone_secondary')
      .values(row)
      .onConflict((oc) =>
        oc
          .column('zone_id')
          .doUpdateSet({ masters: row.masters, tsig_key: row.tsig_key, updated_at: row.updated_at }),
      )
      .execute();
  }

  /** Records the outcome of a refresh (only the members given). */
  async updateZoneSecondary(zoneId: string, patch: Updateable<ZoneSecondaryTable>): Promise<void> {
    await this.db.updateTable('zone_secondary').set(patch).where('zone_id', '=', zoneId).execute();
  }

  async deleteZoneSecondary(zoneId: string): Promise<void> {
    await this.db.deleteFrom('zone_secondary').where('zone_id', '=', zoneId).execute();
  }

  /** Every secondary zone with its zone's name, account and serial. */
  async listZoneSecondaries(): Promise<
    Array<
      Selectable<ZoneSecondaryTable> & {
        name: string;
        account_id: string;
        serial: number | string;
        record_count: number | string;
      }
    >
  > {
    return this.db
      .selectFrom('zone_secondary')
      .innerJoin('zones', 'zones.id', 'zone_secondary.zone_id')
      .selectAll('zone_secondary')
      .select([
        'zones.name as name',
        'zones.account_id as account_id',
        'zones.serial as serial',
        'zones.record_count as record_count',
      ])
      .orderBy('zones.name')
      .execute();
  }

  // ---- zone shield settings (migration 9) ----

  /** The stored shield settings of a zone (JSON), if any. */
  async getZoneShield(zoneId: string): Promise<Selectable<ZoneShieldTable> | undefined> {
    return this.db.selectFrom('zone_shield').selectAll().where('zone_id', '=', zoneId).executeTakeFirst();
  }

  /** Sets (inserts or replaces) a zone's shield settings. */
  async putZoneShield(row: Insertable<ZoneShieldTable>): Promise<void> {
    await this.db
      .insertInto('zone_shield')
      .values(row)
      .onConflict((oc) =>
        oc.column('zone_id').doUpdateSet({
          settings: row.settings,
          metrics: row.metrics,
          set_by_admin: row.set_by_admin,
          updated_at: row.updated_at,
        }),
      )
      .execute();
  }

  /** Removes a zone's shield settings; false when it had none. */
  async deleteZoneShield(zoneId: string): Promise<boolean> {
    const r = await this.db.deleteFrom('zone_shield').where('zone_id', '=', zoneId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Zones with shield settings, and those of them in the metrics (platform-wide caps). */
  async countZoneShields(): Promise<{ zones: number; metrics: number }> {
    const r = await this.db
      .selectFrom('zone_shield')
      .select((eb) => [
        eb.fn.countAll<number | string>().as('zones'),
        eb.fn.sum<number | string>('metrics').as('metrics'),
      ])
      .executeTakeFirst();
    return { zones: Number(r?.zones ?? 0), metrics: Number(r?.metrics ?? 0) };
  }

  /**
   * The zones of one account whose settings a tenant wrote (not the operator's pins), and those
   * of them in the metrics: the per-account caps of `start --shield-tenant zones=N,metrics-zones=N`.
   */
  async countTenantZoneShields(accountId: string): Promise<{ zones: number; metrics: number }> {
    const r = await this.db
      .selectFrom('zone_shield')
      .innerJoin('zones', 'zones.id', 'zone_shield.zone_id')
      .where('zones.account_id', '=', accountId)
      .where('zone_shield.set_by_admin', '=', 0)
      .select((eb) => [
        eb.fn.countAll<number | string>().as('zones'),
        eb.fn.sum<number | string>('zone_shield.metrics').as('metrics'),
      ])
      .executeTakeFirst();
    return { zones: Number(r?.zones ?? 0), metrics: Number(r?.metrics ?? 0) };
  }

  /** Every zone's shield settings with the zone's name (at most the platform cap: 1,024 rows). */
  async listZoneShields(): Promise<Array<{ name: string; settings: string }>> {
    return this.db
      .selectFrom('zone_shield')
      .innerJoin('zones', 'zones.id', 'zone_shield.zone_id')
      .select(['zones.name as name', 'zone_shield.settings as settings'])
      .orderBy('zones.name')
      .execute();
  }

  /**
   * Serializes the writers of shield settings across replicas (PostgreSQL: a transaction-scoped
   * advisory lock), so two cannot both take the platform's last slot. SQLite has one writer.
   */
  async lockZoneShields(): Promise<void> {
    if (this.dialect === 'postgres')
      await sql`select pg_advisory_xact_lock(${ZONE_SHIELD_LOCK})`.execute(this.db);
  }

  /** Zones of the account: its counter, kept by triggers (migration 4), not a count of rows. */
  async countZones(accountId: string): Promise<number> {
    const r = await this.db
      .selectFrom('accounts')
      .select('zone_count')
      .where('id', '=', accountId)
      .executeTakeFirst();
    return Number(r?.zone_count ?? 0);
  }

  /** Records of every zone of the account: its counter, kept likewise (not a sum over zones). */
  async sumRecords(accountId: string): Promise<number> {
    const r = await this.db
      .selectFrom('accounts')
      .select('record_count')
      .where('id', '=', accountId)
      .executeTakeFirst();
    return Number(r?.record_count ?? 0);
  }

  /** True when no zone exists. */
  async noZones(): Promise<boolean> {
    const r = await this.db.selectFrom('zones').select('id').limit(1).executeTakeFirst();
    return r === undefined;
  }

  /** Zones ordered by name, after `after`, optionally of one account or among `names`. */
  async listZones(opts: {
    accountId?: string;
    /** Leave out this account's zones (the system account's catalog in an administrator's list). */
    notAccount?: string;
    names?: readonly string[];
    after?: string;
    limit: number;
  }): Promise<ZoneRow[]> {
    let q = this.db.selectFrom('zones').selectAll();
    if (opts.accountId !== undefined) q = q.where('account_id', '=', opts.accountId);
    if (opts.notAccount !== undefined) q = q.where('account_id', '<>', opts.notAccount);
    if (opts.names !== undefined) {
      if (opts.names.length === 0) return [];
      q = q.where('name', 'in', [...opts.names]);
    }
    if (opts.after !== undefined) q = q.where('name', '>', opts.after);
    const rows = await q.orderBy('name').limit(opts.limit).execute();
    return rows.map(toZone);
  }

  /** Zones whose name is one of `names` (ancestors of a new zone, say). */
  async zonesNamed(names: readonly string[]): Promise<ZoneRow[]> {
    if (names.length === 0) return [];
    const rows = await this.db
      .selectFrom('zones')
      .selectAll()
      .where('name', 'in', [...names])
      .execute();
    return rows.map(toZone);
  }

  /** Up to `limit` zones strictly below `name` (case-folded, with final dot), optionally
   * only those not of account `notAccount`. */
  async zonesBelow(name: string, limit: number, notAccount?: string): Promise<ZoneRow[]> {
    const rows = await this.zonesBelowQuery(name, limit, notAccount).execute();
    return rows.map(toZone);
  }

  /** The query of `zonesBelow` (its tests check the plan uses the index). */
  zonesBelowQuery(name: string, limit: number, notAccount?: string) {
    const suffix = name === '.' ? '.' : `.${name}`;
    // Names ending in `suffix` and longer are the reversed names that start with the reversed
    // suffix and are greater than it: one range of the zones_name_rev index (migration 4), not
    // a scan of every zone. The reversed suffix ends in '.', so the range ends before the same
    // text ending in '/', the next character; both dialects compare this column byte-wise.
    const from = reverseName(suffix);
    const to = `${from.slice(0, -1)}/`;
    let q = this.db.selectFrom('zones').selectAll().where('name_rev', '>', from).where('name_rev', '<', to);
    if (notAccount !== undefined) q = q.where('account_id', '!=', notAccount);
    return q.limit(limit);
  }

  /** Name and version of every zone (resynchronising a change feed). */
  async zoneVersions(): Promise<Array<{ name: string; version: number }>> {
    return this.db.selectFrom('zones').select(['name', 'version']).execute();
  }

  // ---- rrsets ----

  /** A content's RRsets by owner key and type (the primary key's order: the served text's). */
  async getRRsets(zoneId: string): Promise<RRsetRow[]> {
    return this.db
      .selectFrom('rrsets')
      .selectAll()
      .where('zone_id', '=', zoneId)
      .orderBy('name_key')
      .orderBy('type')
      .execute();
  }

  /** One RRset of a content (the apex SOA, say). */
  async getRRset(zoneId: string, nameKey: string, type: number): Promise<RRsetRow | undefined> {
    return this.db
      .selectFrom('rrsets')
      .selectAll()
      .where('zone_id', '=', zoneId)
      .where('name_key', '=', nameKey)
      .where('type', '=', type)
      .executeTakeFirst();
  }

  /** RRsets of many zones at once (one query per 500 zones). */
  async getRRsetsOfZones(zoneIds: readonly string[]): Promise<RRsetRow[]> {
    const out: RRsetRow[] = [];
    for (let i = 0; i < zoneIds.length; i += IN_CHUNK) {
      const ids = zoneIds.slice(i, i + IN_CHUNK);
      const rows = await this.db
        .selectFrom('rrsets')
        .selectAll()
        .where('zone_id', 'in', ids)
        .orderBy('zone_id')
        .orderBy('name_key')
        .orderBy('type')
        .execute();
      for (const r of rows) out.push(r);
    }
    return out;
  }

  async deleteRRset(zoneId: string, nameKey: string, type: number): Promise<void> {
    await this.db
      .deleteFrom('rrsets')
      .where('zone_id', '=', zoneId)
      .where('name_key', '=', nameKey)
      .where('type', '=', type)
      .execute();
  }

  async deleteAllRRsets(zoneId: string): Promise<void> {
    await this.db.deleteFrom('rrsets').where('zone_id', '=', zoneId).execute();
  }

  /**
   * Inserts RRset rows, INSERT_CHUNK per statement. The statement's text depends only on the
   * dialect and the number of rows, so it is made once per size and reused (staging a
   * 100,000-row content builds 250 such statements; building each through the query builder
   * cost about half as much again as the inserts).
   */
  async insertRRsets(rows: readonly Insertable<RRsetsTable>[]): Promise<void> {
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      const chunk = rows.slice(i, i + INSERT_CHUNK);
      const params: unknown[] = [];
      for (const r of chunk) params.push(r.zone_id, r.name_key, r.name, r.type, r.ttl, r.records);
      await this.db.executeQuery(CompiledQuery.raw(rrsetInsertSql(this.dialect, chunk.length), params));
    }
  }

  /** Rows of `contentId`, a slice at a time: deletes up to `limit` owner names' rows, returns how many names. */
  async deleteRRsetsSlice(contentId: string, limit: number): Promise<number> {
    const names = await this.db
      .selectFrom('rrsets')
      .select('name_key')
      .distinct()
      .where('zone_id', '=', contentId)
      .limit(limit)
      .execute();
    if (names.length === 0) return 0;
    await this.db
      .deleteFrom('rrsets')
      .where('zone_id', '=', contentId)
      .where(
        'name_key',
        'in',
        names.map((n) => n.name_key),
      )
      .execute();
    return names.length;
  }

  /** Marks a content id's rows for deletion from `since` on (content_gc, migration 7). */
  async addGarbage(contentId: string, since: string): Promise<void> {
    await this.db
      .insertInto('content_gc')
      .values({ content_id: contentId, since })
      .onConflict((oc) => oc.column('content_id').doNothing())
      .execute();
  }

  async removeGarbage(contentId: string): Promise<void> {
    await this.db.deleteFrom('content_gc').where('content_id', '=', contentId).execute();
  }

  /** Content ids whose deletion is due (`since` at or before `due`). */
  async listGarbage(due: string, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('content_gc')
      .select('content_id')
      .where('since', '<=', due)
      .orderBy('since')
      .limit(limit)
      .execute();
    return rows.map((r) => r.content_id);
  }

  // ---- versions ----

  async insertVersion(row: Insertable<ZoneVersionsTable>): Promise<void> {
    await this.db.insertInto('zone_versions').values(row).execute();
  }

  /** Versions newest first, below `before` when given. */
  async listVersions(zoneId: string, opts: { before?: number; limit: number }): Promise<VersionSummaryRow[]> {
    let q = this.db.selectFrom('zone_versions').select(versionSummaryColumns).where('zone_id', '=', zoneId);
    if (opts.before !== undefined) q = q.where('version', '<', opts.before);
    const rows = await q.orderBy('version', 'desc').limit(opts.limit).execute();
    return rows.map(toVersion);
  }

  async getVersion(zoneId: string, version: number): Promise<VersionRow | undefined> {
    const r = await this.db
      .selectFrom('zone_versions')
      .selectAll()
      .where('zone_id', '=', zoneId)
      .where('version', '=', version)
      .executeTakeFirst();
    return r ? toVersion(r) : undefined;
  }

  /** Every version newer than `version`, newest first (undoing them gives `version`'s content). */
  async versionsAfter(zoneId: string, version: number): Promise<VersionRow[]> {
    const rows = await this.db
      .selectFrom('zone_versions')
      .selectAll()
      .where('zone_id', '=', zoneId)
      .where('version', '>', version)
      .orderBy('version', 'desc')
      .execute();
    return rows.map(toVersion);
  }

  // ---- audit ----

  async insertAudit(row: Insertable<AuditLogTable>): Promise<void> {
    await this.db.insertInto('audit_log').values(row).execute();
  }

  /**
   * Audit rows newest first (by their sequence number, so rows of the same millisecond keep
   * the order they were written in), those before position `before` when given.
   */
  /**
   * Audit rows, newest first. Filters: `target` exactly, `action` exactly or, ending in '.',
   * as a prefix (`zone.`), `since` an ISO time (rows at or after it).
   */
  async listAudit(opts: {
    accountId?: string;
    target?: string;
    action?: string;
    since?: string;
    before?: number;
    limit: number;
  }): Promise<AuditRow[]> {
    let q = this.db.selectFrom('audit_log').selectAll();
    if (opts.accountId !== undefined) q = q.where('account_id', '=', opts.accountId);
    if (opts.target !== undefined) q = q.where('target', '=', opts.target);
    const action = opts.action;
    if (action !== undefined)
      q = action.endsWith('.')
        ? q.where(sql<string>`substr(action, 1, ${action.length})`, '=', action)
        : q.where('action', '=', action);
    if (opts.since !== undefined) q = q.where('at', '>=', opts.since);
    if (opts.before !== undefined) q = q.where('seq', '<', opts.before);
    const rows = await q.orderBy('seq', 'desc').limit(opts.limit).execute();
    return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
  }

  // ---- deleted zones and retention (migration 5) ----

  /**
   * Deletes a zone but keeps it restorable (migration 8): its row goes to deleted_zones with
   * its content id, its RRset rows stay where they are (owned by no zone) and its versions
   * stay in zone_versions, until `purgeDeletedZone`. Two one-row writes, whatever the size.
   */
  async softDeleteZone(zone: ZoneRow, at: string, by: string | null): Promise<void> {
    // Its catalog membership, kept for a restore (the zone_catalog row goes with the zone).
    const member = await this.db
      .selectFrom('zone_catalog')
      .select(['catalog', 'member_id', 'groups', 'id_from'])
      .where('zone_id', '=', zone.id)
      .executeTakeFirst();
    await this.db
      .insertInto('deleted_zones')
      .values({
        id: zone.id,
        name: zone.name,
        account_id: zone.account_id,
        version: zone.version,
        serial: zone.serial,
        record_count: zone.record_count,
        created_at: zone.created_at,
        updated_at: zone.updated_at,
        kind: zone.kind,
        soa_edit_api: zone.soa_edit_api,
        account_label: zone.account_label,
        deleted_at: at,
        deleted_by: by,
        // Rows of zones from before migration 7 are keyed by the zone id.
        content_id: zone.content_id || zone.id,
        catalog: member ? JSON.stringify(member) : null,
      })
      .execute();
    await this.db.deleteFrom('zones').where('id', '=', zone.id).execute();
  }

  async getDeletedZone(id: string, lock = false): Promise<DeletedZoneRow | undefined> {
    let q = this.db.selectFrom('deleted_zones').selectAll().where('id', '=', id);
    if (lock && this.dialect === 'postgres') q = q.forUpdate();
    const r = await q.executeTakeFirst();
    return r ? { ...r, serial: Number(r.serial) } : undefined;
  }

  /** Deleted zones newest first (by deletion time, then id), optionally of one account or name. */
  async listDeletedZones(opts: {
    accountId?: string;
    name?: string;
    before?: TimeCursor;
    limit: number;
  }): Promise<DeletedZoneSummaryRow[]> {
    let q = this.db
      .selectFrom('deleted_zones')
      .select([
        'id',
        'name',
        'account_id',
        'version',
        'serial',
        'record_count',
        'created_at',
        'updated_at',
        'kind',
        'soa_edit_api',
        'account_label',
        'deleted_at',
        'deleted_by',
      ]);
    if (opts.accountId !== undefined) q = q.where('account_id', '=', opts.accountId);
    if (opts.name !== undefined) q = q.where('name', '=', opts.name);
    const b = opts.before;
    if (b)
      q = q.where((eb) =>
        eb.or([eb('deleted_at', '<', b.at), eb.and([eb('deleted_at', '=', b.at), eb('id', '<', b.id)])]),
      );
    const rows = await q.orderBy('deleted_at', 'desc').orderBy('id', 'desc').limit(opts.limit).execute();
    return rows.map((r) => ({ ...r, serial: Number(r.serial) }));
  }

  /** Removes a deleted zone's row (restored: its content id goes back to the zone row). */
  async removeDeletedZone(id: string): Promise<void> {
    await this.db.deleteFrom('deleted_zones').where('id', '=', id).execute();
  }

  /**
   * Purges a deleted zone: its row goes and its content id is listed for collection (due at
   * `at`), in this transaction; false when it was gone (restored, or purged meanwhile).
   */
  async purgeDeletedZone(id: string, at: string): Promise<boolean> {
    const row = await this.getDeletedZone(id, true);
    if (!row) return false;
    if (row.content_id !== '') await this.addGarbage(row.content_id, at);
    await this.removeDeletedZone(id);
    return true;
  }

  /** The oldest version a zone (live or deleted) still has, or undefined. */
  async oldestVersion(zoneId: string): Promise<number | undefined> {
    const r = await this.db
      .selectFrom('zone_versions')
      .select((eb) => eb.fn.min<number | string | null>('version').as('v'))
      .where('zone_id', '=', zoneId)
      .executeTakeFirst();
    return r?.v === null || r?.v === undefined ? undefined : Number(r.v);
  }

  /** Deletes up to `limit` of the zone's oldest versions at or below `upTo`; returns how many. */
  async pruneVersions(zoneId: string, upTo: number, limit: number): Promise<number> {
    const victims = await this.db
      .selectFrom('zone_versions')
      .select('version')
      .where('zone_id', '=', zoneId)
      .where('version', '<=', upTo)
      .orderBy('version')
      .limit(limit)
      .execute();
    if (victims.length === 0) return 0;
    const last = Number(victims[victims.length - 1].version);
    const r = await this.db
      .deleteFrom('zone_versions')
      .where('zone_id', '=', zoneId)
      .where('version', '<=', last)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** Live zones by id after `after` (pruning walks them in pages). */
  async zonePage(after: string, limit: number): Promise<Array<{ id: string; version: number }>> {
    const rows = await this.db
      .selectFrom('zones')
      .select(['id', 'version'])
      .where('id', '>', after)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: r.id, version: Number(r.version) }));
  }

  /** Versions created before `before`, in time order after the cursor (pruning by age). */
  async versionsOlderThan(
    before: string,
    after: { at: string; zoneId: string; version: number } | undefined,
    limit: number,
  ): Promise<Array<{ zone_id: string; version: number; created_at: string }>> {
    let q = this.db
      .selectFrom('zone_versions')
      .select(['zone_id', 'version', 'created_at'])
      .where('created_at', '<', before);
    if (after)
      q = q.where((eb) =>
        eb.or([
          eb('created_at', '>', after.at),
          eb.and([eb('created_at', '=', after.at), eb('zone_id', '>', after.zoneId)]),
          eb.and([
            eb('created_at', '=', after.at),
            eb('zone_id', '=', after.zoneId),
            eb('version', '>', after.version),
          ]),
        ]),
      );
    const rows = await q.orderBy('created_at').orderBy('zone_id').orderBy('version').limit(limit).execute();
    return rows.map((r) => ({ zone_id: r.zone_id, version: Number(r.version), created_at: r.created_at }));
  }

  /** Current versions of these live zones (absent: deleted). */
  async currentVersions(zoneIds: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (zoneIds.length === 0) return out;
    const rows = await this.db
      .selectFrom('zones')
      .select(['id', 'version'])
      .where('id', 'in', [...zoneIds])
      .execute();
    for (const r of rows) out.set(r.id, Number(r.version));
    return out;
  }

  /** Deletes up to `limit` audit rows older than `before`; returns how many. */
  async pruneAudit(before: string, limit: number): Promise<number> {
    const rows = await this.db
      .selectFrom('audit_log')
      .select('seq')
      .where('at', '<', before)
      .orderBy('at')
      .limit(limit)
      .execute();
    if (rows.length === 0) return 0;
    const r = await this.db
      .deleteFrom('audit_log')
      .where(
        'seq',
        'in',
        rows.map((x) => x.seq),
      )
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** Ids of deleted zones deleted before `before` (due for purging). */
  async deletedZonesBefore(before: string, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('deleted_zones')
      .select('id')
      .where('deleted_at', '<', before)
      .orderBy('deleted_at')
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }
}
