/**
 * The schema, as a versioned list of migrations. Each runs once, in order, inside one
 * transaction with its bookkeeping row (see migrate.ts); never edit a released migration,
 * add a new one. Written with Kysely's schema builder and only text/integer/bigint types,
 * so SQLite and PostgreSQL get the same schema.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';

/** One schema step. */
export interface Migration {
  version: number;
  name: string;
  /** Applies the step; `dialect` for the rare step that SQLite and PostgreSQL spell differently. */
  // biome-ignore lint/suspicious/noExplicitAny: migrations run before (and change) the typed schema
  up(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<void>;
}

/**
 * Every migration, oldest first. Version 6 was never used (a number skipped while migration
 * 7 was written, never shipped): the gap stays, shipped versions are never renumbered.
 */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    async up(db) {
      await db.schema
        .createTable('accounts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('max_zones', 'integer', (c) => c.notNull())
        .addColumn('max_records', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('users_account').on('users').columns(['account_id', 'name']).execute();

      await db.schema
        .createTable('tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.references('accounts.id'))
        .addColumn('user_id', 'text', (c) => c.references('users.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('admin', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('access', 'text', (c) => c.notNull())
        .addColumn('zones', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema
        .createIndex('tokens_account')
        .on('tokens')
        .columns(['account_id', 'created_at', 'id'])
        .execute();

      await db.schema
        .createTable('zones')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('version', 'integer', (c) => c.notNull())
        // RFC 1982 serials are unsigned 32-bit: beyond PostgreSQL's integer.
        .addColumn('serial', 'bigint', (c) => c.notNull())
        .addColumn('record_count', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('zones_account').on('zones').columns(['account_id', 'name']).execute();

      await db.schema
        .createTable('rrsets')
        .addColumn('zone_id', 'text', (c) => c.notNull().references('zones.id').onDelete('cascade'))
        .addColumn('name_key', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('type', 'integer', (c) => c.notNull())
        .addColumn('ttl', 'integer', (c) => c.notNull())
        .addColumn('records', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('rrsets_pk', ['zone_id', 'name_key', 'type'])
        .execute();

      await db.schema
        .createTable('zone_versions')
        .addColumn('zone_id', 'text', (c) => c.notNull().references('zones.id').onDelete('cascade'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('serial', 'bigint', (c) => c.notNull())
        .addColumn('from_serial', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('actor_name', 'text')
        .addColumn('remote', 'text')
        .addColumn('comment', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('added', 'integer', (c) => c.notNull())
        .addColumn('removed', 'integer', (c) => c.notNull())
        .addColumn('changes', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('zone_versions_pk', ['zone_id', 'version'])
        .execute();

      await db.schema
        .createTable('audit_log')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('token_id', 'text')
        .addColumn('account_id', 'text')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('remote', 'text')
        .addColumn('detail', 'text')
        .execute();
      await db.schema.createIndex('audit_at').on('audit_log').columns(['at', 'id']).execute();
      await db.schema
        .createIndex('audit_account')
        .on('audit_log')
        .columns(['account_id', 'at', 'id'])
        .execute();
    },
  },
  {
    version: 2,
    name: 'zone-metadata',
    async up(db) {
      // Settings kept with a zone that are not its content (PowerDNS clients set them).
      // SQLite adds one column per ALTER TABLE; the defaults fill existing rows.
      await db.schema
        .alterTable('zones')
        .addColumn('kind', 'text', (c) => c.notNull().defaultTo('Native'))
        .execute();
      await db.schema
        .alterTable('zones')
        .addColumn('soa_edit_api', 'text', (c) => c.notNull().defaultTo('DEFAULT'))
        .execute();
      await db.schema
        .alterTable('zones')
        .addColumn('account_label', 'text', (c) => c.notNull().defaultTo(''))
        .execute();
    },
  },
  {
    version: 3,
    name: 'audit-sequence',
    async up(db, dialect) {
      // Audit rows written in the same millisecond kept no order (they sorted by a random id):
      // each row now gets a number from a sequence at insert, and lists order by it. SQLite
      // cannot add an autoincrement column to a table, so the table is rebuilt, on both
      // databases to keep one schema; the rows already there are numbered in (at, id) order.
      await db.schema
        .createTable('audit_log_v3')
        .addColumn('seq', dialect === 'postgres' ? 'bigint' : 'integer', (c) =>
          // SQLite: AUTOINCREMENT never hands out a number again, even after the newest row goes.
          dialect === 'postgres'
            ? c.primaryKey().generatedByDefaultAsIdentity()
            : c.primaryKey().autoIncrement(),
        )
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('token_id', 'text')
        .addColumn('account_id', 'text')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('remote', 'text')
        .addColumn('detail', 'text')
        .execute();
      await sql`insert into audit_log_v3 (seq, id, at, token_id, account_id, action, target, remote, detail)
        select row_number() over (order by at, id), id, at, token_id, account_id, action, target, remote, detail
        from audit_log`.execute(db);
      await db.schema.dropTable('audit_log').execute();
      await db.schema.alterTable('audit_log_v3').renameTo('audit_log').execute();
      if (dialect === 'postgres')
        // The identity goes on after the numbers given above (SQLite's AUTOINCREMENT does by itself).
        await sql`select setval(pg_get_serial_sequence('audit_log', 'seq'),
          coalesce((select max(seq) from audit_log), 0) + 1, false)`.execute(db);
      await db.schema
        .createIndex('audit_account_seq')
        .on('audit_log')
        .columns(['account_id', 'seq'])
        .execute();
    },
  },
  {
    version: 4,
    name: 'zone-scale',
    async up(db, dialect) {
      // Costs that must not grow with the number of zones (issue 6). Creating a zone checked
      // for zones of another account below it with a suffix test on every zone name, and the
      // quotas counted and summed every zone of the account: O(zones) per create or change.
      //
      // 1. zones.name_rev: the name with its characters reversed, so "zones strictly below N"
      //    is a range of one index (names ending in ".N" are those whose reversed name starts
      //    with the reversed ".N"). Repo.insertZone fills it in; zones are never renamed.
      //    PostgreSQL compares it byte-wise (collation "C"), as SQLite compares text.
      await db.schema
        .alterTable('zones')
        .addColumn('name_rev', 'text', (c) => (dialect === 'postgres' ? c.modifyEnd(sql`collate "C"`) : c))
        .execute();
      if (dialect === 'postgres') await sql`update zones set name_rev = reverse(name)`.execute(db);
      else {
        const rows = await db.selectFrom('zones').select(['id', 'name']).execute();
        for (const r of rows as { id: string; name: string }[])
          await db
            .updateTable('zones')
            .set({ name_rev: reverseName(r.name) })
            .where('id', '=', r.id)
            .execute();
      }
      await db.schema.createIndex('zones_name_rev').on('zones').column('name_rev').execute();

      // 2. accounts.zone_count and accounts.record_count: what the quotas compare against,
      //    kept by triggers on zones in the same transaction as every insert, delete and
      //    record-count change (whatever code path writes the zone row), counted once here.
      await db.schema
        .alterTable('accounts')
        .addColumn('zone_count', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .alterTable('accounts')
        .addColumn('record_count', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await sql`update accounts set
        zone_count = (select count(*) from zones where zones.account_id = accounts.id),
        record_count = (select coalesce(sum(record_count), 0) from zones where zones.account_id = accounts.id)`.execute(
        db,
      );
      if (dialect === 'postgres') {
        await sql`create function zones_usage() returns trigger language plpgsql as $$
          begin
            if tg_op = 'INSERT' then
              update accounts set zone_count = zone_count + 1, record_count = record_count + new.record_count
                where id = new.account_id;
            elsif tg_op = 'DELETE' then
              update accounts set zone_count = zone_count - 1, record_count = record_count - old.record_count
                where id = old.account_id;
            else
              update accounts set zone_count = zone_count - 1, record_count = record_count - old.record_count
                where id = old.account_id;
              update accounts set zone_count = zone_count + 1, record_count = record_count + new.record_count
                where id = new.account_id;
            end if;
            return null;
          end $$`.execute(db);
        await sql`create trigger zones_usage_insert_delete after insert or delete on zones
          for each row execute procedure zones_usage()`.execute(db);
        // Only when the count or the owner changes: a change that keeps the record count (most
        // of them) does not touch, nor lock, the account row.
        await sql`create trigger zones_usage_update after update of record_count, account_id on zones
          for each row when (old.record_count is distinct from new.record_count
            or old.account_id is distinct from new.account_id)
          execute procedure zones_usage()`.execute(db);
      } else {
        await sql`create trigger zones_usage_insert after insert on zones begin
            update accounts set zone_count = zone_count + 1, record_count = record_count + new.record_count
              where id = new.account_id;
          end`.execute(db);
        await sql`create trigger zones_usage_delete after delete on zones begin
            update accounts set zone_count = zone_count - 1, record_count = record_count - old.record_count
              where id = old.account_id;
          end`.execute(db);
        await sql`create trigger zones_usage_update after update of record_count, account_id on zones
          when old.record_count is not new.record_count or old.account_id is not new.account_id begin
            update accounts set zone_count = zone_count - 1, record_count = record_count - old.record_count
              where id = old.account_id;
            update accounts set zone_count = zone_count + 1, record_count = record_count + new.record_count
              where id = new.account_id;
          end`.execute(db);
      }
    },
  },
  {
    version: 5,
    name: 'deleted-zones',
    async up(db, dialect) {
      // A deleted zone's versions stay (readable, restorable) until the retention time has
      // passed: zone_versions loses its cascading foreign key to zones. PostgreSQL drops the
      // constraint; SQLite cannot, so the table is rebuilt with the same columns and key.
      if (dialect === 'postgres')
        await sql`alter table zone_versions drop constraint if exists zone_versions_zone_id_fkey`.execute(db);
      else {
        await db.schema
          .createTable('zone_versions_v5')
          .addColumn('zone_id', 'text', (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('serial', 'bigint', (c) => c.notNull())
          .addColumn('from_serial', 'bigint', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('actor', 'text', (c) => c.notNull())
          .addColumn('actor_name', 'text')
          .addColumn('remote', 'text')
          .addColumn('comment', 'text')
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('added', 'integer', (c) => c.notNull())
          .addColumn('removed', 'integer', (c) => c.notNull())
          .addColumn('changes', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('zone_versions_pk', ['zone_id', 'version'])
          .execute();
        await sql`insert into zone_versions_v5 select zone_id, version, serial, from_serial, created_at,
          actor, actor_name, remote, comment, kind, added, removed, changes from zone_versions`.execute(db);
        await db.schema.dropTable('zone_versions').execute();
        await db.schema.alterTable('zone_versions_v5').renameTo('zone_versions').execute();
      }
      // Pruning by age walks versions in time order.
      await db.schema
        .createIndex('zone_versions_created')
        .on('zone_versions')
        .columns(['created_at'])
        .execute();
      await db.schema
        .createTable('deleted_zones')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('serial', 'bigint', (c) => c.notNull())
        .addColumn('record_count', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('soa_edit_api', 'text', (c) => c.notNull())
        .addColumn('account_label', 'text', (c) => c.notNull())
        .addColumn('deleted_at', 'text', (c) => c.notNull())
        .addColumn('deleted_by', 'text')
        .addColumn('rrsets', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('deleted_zones_account')
        .on('deleted_zones')
        .columns(['account_id', 'deleted_at', 'id'])
        .execute();
      await db.schema
        .createIndex('deleted_zones_at')
        .on('deleted_zones')
        .columns(['deleted_at', 'id'])
        .execute();
      await db.schema
        .createIndex('deleted_zones_name')
        .on('deleted_zones')
        .columns(['name', 'deleted_at'])
        .execute();
    },
  },
  {
    version: 7,
    name: 'content-generations',
    async up(db, dialect) {
      // A zone's rows are keyed by a content id the zone row points to: a big change writes
      // its rows under a new id in short slices, then switches the zone to them in one short
      // write (a 100,000-row write transaction held every other writer for seconds). Rows of
      // a replaced, deleted or abandoned content id are listed in content_gc and deleted in
      // slices. rrsets.zone_id no longer references zones.id (staged rows belong to no zone yet).
      await db.schema
        .alterTable('zones')
        .addColumn('content_id', 'text', (c) => c.notNull().defaultTo(''))
        .execute();
      await sql`update zones set content_id = id`.execute(db);
      if (dialect === 'postgres')
        await sql`alter table rrsets drop constraint if exists rrsets_zone_id_fkey`.execute(db);
      else {
        // SQLite cannot drop a constraint: the table is rebuilt.
        await db.schema
          .createTable('rrsets_v7')
          .addColumn('zone_id', 'text', (c) => c.notNull())
          .addColumn('name_key', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('type', 'integer', (c) => c.notNull())
          .addColumn('ttl', 'integer', (c) => c.notNull())
          .addColumn('records', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('rrsets_v7_pk', ['zone_id', 'name_key', 'type'])
          .execute();
        await sql`insert into rrsets_v7 (zone_id, name_key, name, type, ttl, records)
          select zone_id, name_key, name, type, ttl, records from rrsets`.execute(db);
        await db.schema.dropTable('rrsets').execute();
        await db.schema.alterTable('rrsets_v7').renameTo('rrsets').execute();
      }
      await db.schema
        .createTable('content_gc')
        .addColumn('content_id', 'text', (c) => c.primaryKey())
        .addColumn('since', 'text', (c) => c.notNull())
        .execute();
    },
  },
  {
    version: 8,
    name: 'deleted-zone-content',
    async up(db) {
      // A deleted zone keeps its content id (migration 7) instead of a JSON copy of its rows:
      // deleting and restoring a zone are then one-row writes whatever its size (a 200,000-
      // record zone's rows were copied in the deleting and the restoring transaction). The
      // rows stay in rrsets under that id, owned by no zone, until the deleted zone is purged,
      // which lists the id in content_gc. Zones deleted before this step get their JSON rows
      // written back under a new content id here, once.
      await db.schema
        .alterTable('deleted_zones')
        .addColumn('content_id', 'text', (c) => c.notNull().defaultTo(''))
        .execute();
      const deleted = (await db.selectFrom('deleted_zones').select(['id', 'rrsets']).execute()) as Array<{
        id: string;
        rrsets: string;
      }>;
      for (const d of deleted) {
        const contentId = randomUUID();
        const rows = (JSON.parse(d.rrsets) as Array<Record<string, unknown>>).map((r) => ({
          zone_id: contentId,
          name_key: r.name_key,
          name: r.name,
          type: r.type,
          ttl: r.ttl,
          records: r.records,
        }));
        for (let i = 0; i < rows.length; i += 400)
          await db
            .insertInto('rrsets')
            .values(rows.slice(i, i + 400))
            .execute();
        await db.updateTable('deleted_zones').set({ content_id: contentId }).where('id', '=', d.id).execute();
      }
      await db.schema.alterTable('deleted_zones').dropColumn('rrsets').execute();
    },
  },
  {
    version: 9,
    name: 'zone-shield',
    async up(db) {
      // A zone's own shield settings set through the API (docs/SHIELD.md "Per-zone settings"):
      // one row per zone that has any, removed with the zone (the row lock of the zone orders
      // writers; a deleted zone's settings go with it and a restored zone has none). `metrics`
      // copies the JSON's metrics flag so the platform-wide cap is one count; `set_by_admin`:
      // written by an administrator (then a tenant may not change it).
      await db.schema
        .createTable('zone_shield')
        .addColumn('zone_id', 'text', (c) => c.primaryKey().references('zones.id').onDelete('cascade'))
        .addColumn('settings', 'text', (c) => c.notNull())
        .addColumn('metrics', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('set_by_admin', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  {
    version: 10,
    name: 'transfers',
    async up(db) {
      // Zone transfers (docs/TRANSFERS.md): an account's TSIG keys, named uniquely within the
      // account only (tenants' key names may collide: a zone's transfer is checked against its
      // own account's keys), removed with the account; and a zone's transfer settings (the
      // PowerDNS field master_tsig_key_ids and metadata ALLOW-AXFR-FROM), removed with the zone.
      await db.schema
        .createTable('tsig_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('algorithm', 'text', (c) => c.notNull())
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('tsig_keys_account_name', ['account_id', 'name'])
        .execute();
      await db.schema
        .createTable('zone_transfer')
        .addColumn('zone_id', 'text', (c) => c.primaryKey().references('zones.id').onDelete('cascade'))
        .addColumn('tsig_keys', 'text', (c) => c.notNull())
        .addColumn('allow_from', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  {
    version: 11,
    name: 'also-notify',
    async up(db) {
      // NOTIFY targets of a zone beside its secondaries (PowerDNS metadata ALSO-NOTIFY:
      // ADDR, ADDR:PORT, [V6]:PORT), checked against the outbound policy when written.
      await db.schema
        .alterTable('zone_transfer')
        .addColumn('also_notify', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute();
    },
  },
  {
    version: 12,
    name: 'secondary-zones',
    async up(db) {
      // Secondary zones (docs/TRANSFERS.md "Secondary role"): a zone of kind Slave has one row
      // here, removed with it: its masters (JSON list of ADDR:PORT, in order), the name of the
      // key of its account that signs the transfers in (PowerDNS `slave_tsig_key_ids`), and the
      // state of its refreshes (last check, last success, serial received, master used, error).
      // Version 11 is left to the IXFR-out work (a gap is fine: see the note above).
      await db.schema
        .createTable('zone_secondary')
        .addColumn('zone_id', 'text', (c) => c.primaryKey().references('zones.id').onDelete('cascade'))
        .addColumn('masters', 'text', (c) => c.notNull())
        .addColumn('tsig_key', 'text')
        .addColumn('last_check', 'text')
        .addColumn('last_success', 'text')
        .addColumn('notified_serial', 'bigint')
        .addColumn('master_used', 'text')
        .addColumn('last_error', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  {
    version: 13,
    name: 'dns-update',
    async up(db) {
      // Who may change a zone with DNS UPDATE (RFC 2136; docs/TRANSFERS.md "Dynamic update"):
      // PowerDNS's metadata TSIG-ALLOW-DNSUPDATE (names of keys of the zone's account) and
      // ALLOW-DNSUPDATE-FROM (prefixes); no row: updates refused. The row goes with its zone.
      // (11 is ALSO-NOTIFY's, 12 the secondary role's.)
      await db.schema
        .createTable('zone_update')
        .addColumn('zone_id', 'text', (c) => c.primaryKey().references('zones.id').onDelete('cascade'))
        .addColumn('tsig_keys', 'text', (c) => c.notNull())
        .addColumn('allow_from', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  {
    version: 14,
    name: 'catalog-zones',
    async up(db) {
      // Catalog zones (RFC 9432; docs/TRANSFERS.md "Catalog zones"): a zone's PowerDNS field
      // `catalog`, the name (folded, absolute) of a zone of kind Producer of the same account
      // that lists it. The row goes with its zone; a Producer zone deleted takes its members'
      // rows (control/catalog-zones.ts). The catalogs' content is ordinary zone content.
      await db.schema
        .createTable('zone_catalog')
        .addColumn('zone_id', 'text', (c) => c.primaryKey().references('zones.id').onDelete('cascade'))
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('catalog', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('zone_catalog_catalog')
        .on('zone_catalog')
        .columns(['account_id', 'catalog'])
        .execute();
      // The catalog zones (kind Producer) are read after every change the catalog writer hears,
      // and with every zone's transfer settings: an index, not a scan of 100,000 zones.
      await db.schema.createIndex('zones_kind').on('zones').columns(['kind']).execute();
    },
  },
  {
    version: 15,
    name: 'catalog-consumer',
    async up(db) {
      // The Consumer zone kind (RFC 9432 as a consumer; docs/TRANSFERS.md "Catalog zones
      // (consumer)"): a member zone made by a Consumer zone names it in `zone_catalog.catalog`
      // with the member's unique id (the label of its PTR in the catalog); null for the members
      // of a Producer zone. A Consumer zone's last report (members refused: quota, a name
      // another account or zone holds; properties ignored) is kept with its secondary row.
      await db.schema.alterTable('zone_catalog').addColumn('member_id', 'text').execute();
      await db.schema.alterTable('zone_secondary').addColumn('consumer_report', 'text').execute();
    },
  },
  {
    version: 16,
    name: 'edge-registry',
    async up(db) {
      // The edges `start` learns (docs/EDGE.md "The control plane's view"), shared by every
      // replica on one database: per edge (POP) and replica one summary row, rewritten by that
      // replica (batched, at most every 2 s, only when it changed, else every 30 s): addresses
      // (JSON [[ADDR, ISO time]], newest 8), the NOTIFY address it announced, when it was last
      // seen, how many zones it checked or transferred, how many are behind, since when the
      // oldest change it has not taken is out, and up to 10 zones behind with their serials.
      // Never one row per zone per edge (100,000 zones × 10 edges).
      await db.schema
        .createTable('edge_registry')
        .addColumn('pop', 'text', (c) => c.notNull())
        .addColumn('replica', 'text', (c) => c.notNull())
        .addColumn('addresses', 'text', (c) => c.notNull())
        .addColumn('notify', 'text')
        .addColumn('notify_at', 'text')
        .addColumn('last_seen', 'text', (c) => c.notNull())
        .addColumn('zones', 'integer', (c) => c.notNull())
        .addColumn('behind', 'integer', (c) => c.notNull())
        .addColumn('lag_since', 'text')
        .addColumn('behind_zones', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('edge_registry_pk', ['pop', 'replica'])
        .execute();
    },
  },
  {
    version: 17,
    name: 'catalog-properties',
    async up(db) {
      // RFC 9432 §4.4 properties in the catalogs Switchboard produces (docs/TRANSFERS.md "Catalog
      // zones"): a member's groups (`group` TXT; JSON array, null: none), and after a move from
      // one Producer zone of the account to another, the one it left (`coo` PTR there for a
      // while), when, and the catalog whose name its unique id is made from (kept across moves, so
      // consumers move the zone without a reset); and a deleted zone's catalog row.
      await db.schema.alterTable('zone_catalog').addColumn('groups', 'text').execute();
      await db.schema.alterTable('zone_catalog').addColumn('coo_from', 'text').execute();
      await db.schema.alterTable('zone_catalog').addColumn('coo_at', 'text').execute();
      await db.schema.alterTable('zone_catalog').addColumn('id_from', 'text').execute();
      // A deleted zone's zone_catalog row (JSON; null: in no catalog), so a restore (deleted.ts)
      // puts it back in its Producer catalog.
      await db.schema.alterTable('deleted_zones').addColumn('catalog', 'text').execute();
    },
  },
];

/**
 * A zone name with its characters in reverse order (`zones.name_rev`, migration 4), as
 * PostgreSQL's reverse() gives it: by code point.
 */
export function reverseName(name: string): string {
  return [...name].reverse().join('');
}
