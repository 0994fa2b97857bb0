/**
 * The store on SQLite and PostgreSQL: migrations, transactions, dialect details (64-bit
 * serials, suffix queries, unique violations) and the PostgreSQL change feed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import {
  createDatabase,
  postgresSkipReason,
  startPostgresServer,
  type TestCluster,
} from '../../test/helpers/postgres.js';
import { isUniqueViolation, migrateToLatest, openStore, type Store, StoreError } from './index.js';
import { migrations } from './migrations.js';

/** An empty database, reachable both raw (to set up an old schema) and as a store. */
interface Blank {
  // biome-ignore lint/suspicious/noExplicitAny: the schema is being built by hand
  raw: Kysely<any>;
  dialect: 'sqlite' | 'postgres';
  open(): Promise<Store>;
  cleanup(): Promise<void>;
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

let server: TestCluster | undefined;
const backends = [
  {
    name: 'SQLite',
    skip: false as string | false,
    setup: async () => {},
    teardown: async () => {},
    async open(): Promise<{ store: Store; reopen(): Promise<Store>; cleanup(): Promise<void> }> {
      const dataDir = mkdtempSync(join(tmpdir(), 'sb-store-'));
      dirs.push(dataDir);
      const store = await openStore({ dataDir });
      return { store, reopen: () => openStore({ dataDir }), cleanup: () => store.close() };
    },
    async blank(): Promise<Blank> {
      const dataDir = mkdtempSync(join(tmpdir(), 'sb-store-'));
      dirs.push(dataDir);
      const raw = new Kysely({
        dialect: new SqliteDialect({ database: new BetterSqlite3(join(dataDir, 'switchboard.db')) }),
      });
      return { raw, dialect: 'sqlite', open: () => openStore({ dataDir }), cleanup: () => raw.destroy() };
    },
  },
  {
    name: 'PostgreSQL',
    skip: postgresSkipReason(),
    setup: async () => {
      server = await startPostgresServer();
    },
    teardown: async () => {
      await server?.stop();
    },
    async open() {
      if (!server) throw new Error('no server');
      const db = await createDatabase(server.url);
      const dataDir = mkdtempSync(join(tmpdir(), 'sb-store-'));
      dirs.push(dataDir);
      const store = await openStore({ dataDir, database: db.url });
      return {
        store,
        reopen: () => openStore({ dataDir, database: db.url }),
        async cleanup() {
          await store.close();
          await db.stop();
        },
      };
    },
    async blank(): Promise<Blank> {
      if (!server) throw new Error('no server');
      const db = await createDatabase(server.url);
      const raw = new Kysely({
        dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: db.url }) }),
      });
      return {
        raw,
        dialect: 'postgres',
        open: () => openStore({ dataDir: tmpdir(), database: db.url }),
        async cleanup() {
          await raw.destroy();
          await db.stop();
        },
      };
    },
  },
];

const account = (name: string) => ({
  id: `id-${name}`,
  name,
  max_zones: 10,
  max_records: 100,
  created_at: new Date().toISOString(),
});

const zone = (name: string, serial = 1) => ({
  id: `zone-${name}`,
  name,
  account_id: 'id-acct',
  version: 1,
  serial,
  record_count: 0,
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
});

for (const b of backends) {
  describe(`store on ${b.name}`, { skip: b.skip }, () => {
    before(() => b.setup());
    after(() => b.teardown());

    test('migrations run once, in a transaction; a newer schema is refused', async () => {
      const h = await b.open();
      try {
        const rows = await sql<{ version: number }>`select version from schema_migrations`.execute(
          h.store.db,
        );
        assert.deepEqual(
          rows.rows.map((r) => Number(r.version)),
          migrations.map((m) => m.version),
        );
        // Opening again applies nothing.
        const again = await h.reopen();
        assert.deepEqual(await migrateToLatest(again.db, again.dialect), []);
        await again.close();
        // A failing migration leaves nothing behind (its table is rolled back with it).
        const broken = [
          ...migrations,
          {
            version: 99,
            name: 'broken',
            async up(db: Parameters<(typeof migrations)[0]['up']>[0]) {
              await db.schema.createTable('half_done').addColumn('x', 'integer').execute();
              throw new Error('boom');
            },
          },
        ];
        await assert.rejects(migrateToLatest(h.store.db, h.store.dialect, broken), (e: unknown) => {
          return e instanceof StoreError && e.code === 'STORE_ERR_MIGRATION';
        });
        await assert.rejects(sql`select * from half_done`.execute(h.store.db));
        // A schema newer than the program is refused.
        await sql`insert into schema_migrations (version, name, applied_at) values (1000, 'future', 'x')`.execute(
          h.store.db,
        );
        await assert.rejects(
          h.reopen(),
          (e: unknown) => e instanceof StoreError && e.code === 'STORE_ERR_MIGRATION',
        );
      } finally {
        await h.cleanup();
      }
    });

    test('migration 2 gives existing zones the default metadata, and keeps what is set', async () => {
      const blank = await b.blank();
      let store: Store | undefined;
      try {
        // A database as version 1 left it, with a zone in it.
        await migrateToLatest(
          blank.raw,
          blank.dialect,
          migrations.filter((m) => m.version === 1),
        );
        await blank.raw.insertInto('accounts').values(account('acct')).execute();
        await blank.raw.insertInto('zones').values(zone('old.example.')).execute();
        store = await blank.open();
        const old = await store.repo.getZoneByName('old.example.');
        assert.equal(old?.kind, 'Native');
        assert.equal(old?.soa_edit_api, 'DEFAULT');
        assert.equal(old?.account_label, '');
        // New rows take the defaults when left out, and keep what is given.
        await store.transaction(async (repo) => {
          await repo.insertZone(zone('plain.example.'));
          await repo.insertZone({
            ...zone('set.example.'),
            kind: 'Master',
            soa_edit_api: '',
            account_label: 'team blue',
          });
        });
        assert.equal((await store.repo.getZoneByName('plain.example.'))?.soa_edit_api, 'DEFAULT');
        const set = await store.repo.getZoneByName('set.example.');
        assert.deepEqual([set?.kind, set?.soa_edit_api, set?.account_label], ['Master', '', 'team blue']);
        await store.transaction((repo) => repo.updateZone('zone-set.example.', { kind: 'Native' }));
        assert.equal((await store.repo.getZoneByName('set.example.'))?.kind, 'Native');
      } finally {
        await store?.close();
        await blank.cleanup();
      }
    });

    test('migration 3 numbers audit rows: old ones in time order, new ones after, in insert order', async () => {
      const blank = await b.blank();
      let store: Store | undefined;
      const row = (id: string, at: string) => ({
        id,
        at,
        token_id: null,
        account_id: 'acct',
        action: `act-${id}`,
        target: 't',
        remote: null,
        detail: null,
      });
      try {
        await migrateToLatest(
          blank.raw,
          blank.dialect,
          migrations.filter((m) => m.version <= 2),
        );
        // Written out of order, two in one millisecond (their random ids decided before).
        await blank.raw
          .insertInto('audit_log')
          .values([
            row('b', '2026-01-01T00:00:00.002Z'),
            row('z', '2026-01-01T00:00:00.001Z'),
            row('a', '2026-01-01T00:00:00.002Z'),
          ])
          .execute();
        store = await blank.open();
        const s = store;
        // New rows in one millisecond, with ids that sort against the order they were written in.
        const same = '2026-01-01T00:00:00.003Z';
        await s.transaction(async (repo) => {
          for (const id of ['y', 'x', 'w']) await repo.insertAudit(row(id, same));
        });
        const all = await s.repo.listAudit({ limit: 100 });
        assert.deepEqual(
          all.map((r) => r.id),
          ['w', 'x', 'y', 'b', 'a', 'z'],
        );
        assert.deepEqual(
          all.map((r) => r.seq),
          [6, 5, 4, 3, 2, 1],
        );
        assert.deepEqual(
          (await s.repo.listAudit({ before: 5, limit: 2 })).map((r) => r.id),
          ['y', 'b'],
        );
        assert.deepEqual(
          (await s.repo.listAudit({ accountId: 'other', limit: 10 })).map((r) => r.id),
          [],
        );
      } finally {
        await store?.close();
        await blank.cleanup();
      }
    });

    test('audit filters (target, action or action prefix, since) and accounts by name', async () => {
      const h = await b.open();
      try {
        const row = (id: string, at: string, action: string, target: string) => ({
          id,
          at,
          token_id: null,
          account_id: 'id-acct',
          action,
          target,
          remote: null,
          detail: null,
        });
        await h.store.transaction(async (repo) => {
          await repo.insertAudit(row('1', '2026-01-01T00:00:00.000Z', 'zone.create', 'a.test.'));
          await repo.insertAudit(row('2', '2026-01-02T00:00:00.000Z', 'zone.change', 'a.test.'));
          await repo.insertAudit(row('3', '2026-01-03T00:00:00.000Z', 'zone.change', 'b.test.'));
          await repo.insertAudit(row('4', '2026-01-04T00:00:00.000Z', 'token.create', 'tok'));
          await repo.insertAudit(row('5', '2026-01-05T00:00:00.000Z', 'zonex', 'a.test.'));
          await repo.insertAccount(account('acct'));
          await repo.insertAccount(account('other'));
        });
        const ids = async (opts: Parameters<typeof h.store.repo.listAudit>[0]) =>
          (await h.store.repo.listAudit(opts)).map((r) => r.id);
        assert.deepEqual(await ids({ target: 'a.test.', limit: 10 }), ['5', '2', '1']);
        assert.deepEqual(await ids({ action: 'zone.change', limit: 10 }), ['3', '2']);
        // A prefix ends in '.': 'zone.' is not 'zonex'; '%' and '_' are no wildcards.
        assert.deepEqual(await ids({ action: 'zone.', limit: 10 }), ['3', '2', '1']);
        assert.deepEqual(await ids({ action: 'z%.', limit: 10 }), []);
        assert.deepEqual(await ids({ since: '2026-01-03T00:00:00.000Z', limit: 10 }), ['5', '4', '3']);
        assert.deepEqual(
          await ids({ target: 'a.test.', action: 'zone.', since: '2026-01-02T00:00:00.000Z', limit: 10 }),
          ['2'],
        );
        assert.deepEqual(await ids({ target: 'a.test.', before: 5, limit: 1 }), ['2']);
        assert.deepEqual(
          (await h.store.repo.listAccounts({ name: 'other', limit: 10 })).map((a) => a.id),
          ['id-other'],
        );
        assert.deepEqual(await h.store.repo.listAccounts({ name: 'nobody', limit: 10 }), []);
        assert.deepEqual(
          await h.store.repo.listAccounts({ name: 'other', onlyId: 'id-acct', limit: 10 }),
          [],
        );
      } finally {
        await h.cleanup();
      }
    });

    test('migration 4 counts the zones and records of each account, reverses names; triggers keep both', async () => {
      const blank = await b.blank();
      let store: Store | undefined;
      try {
        await migrateToLatest(
          blank.raw,
          blank.dialect,
          migrations.filter((m) => m.version <= 3),
        );
        await blank.raw
          .insertInto('accounts')
          .values([account('acct'), account('other')])
          .execute();
        await blank.raw.insertInto('accounts').values(account('empty')).execute();
        await blank.raw
          .insertInto('zones')
          .values([
            { ...zone('example.com.'), record_count: 7 },
            { ...zone('a.example.com.'), account_id: 'id-other', record_count: 3 },
            { ...zone('other.test.'), record_count: 5 },
          ])
          .execute();
        store = await blank.open();
        const s = store;
        const counts = async (id: string) => [await s.repo.countZones(id), await s.repo.sumRecords(id)];
        assert.deepEqual(await counts('id-acct'), [2, 12]);
        assert.deepEqual(await counts('id-other'), [1, 3]);
        assert.deepEqual(await counts('id-empty'), [0, 0]);
        assert.deepEqual(await counts('id-nobody'), [0, 0]);
        // Old rows got their reversed names: the range query finds them.
        assert.deepEqual(
          (await s.repo.zonesBelow('example.com.', 10)).map((r) => r.name),
          ['a.example.com.'],
        );
        assert.deepEqual(await s.repo.zonesBelow('example.com.', 10, 'id-other'), []);
        assert.equal('name_rev' in ((await s.repo.getZoneByName('example.com.')) ?? {}), false);
        // Every write of a zone row keeps the counters, in its transaction.
        await s.transaction(async (repo) => {
          await repo.insertZone({ ...zone('new.test.'), record_count: 4 });
          await repo.updateZone('zone-example.com.', { record_count: 10, version: 2 });
          await repo.updateZone('zone-other.test.', { version: 2 });
          await repo.db.deleteFrom('zones').where('id', '=', 'zone-a.example.com.').execute();
        });
        assert.deepEqual(await counts('id-acct'), [3, 19]);
        assert.deepEqual(await counts('id-other'), [0, 0]);
        await assert.rejects(
          s.transaction(async (repo) => {
            await repo.insertZone({ ...zone('gone.test.'), record_count: 100 });
            throw new Error('abort');
          }),
          /abort/,
        );
        assert.deepEqual(await counts('id-acct'), [3, 19], 'a rolled-back insert counts nothing');
        // A zone moved to another account moves its counts.
        await s.transaction((repo) => repo.updateZone('zone-new.test.', { account_id: 'id-other' }));
        assert.deepEqual(await counts('id-acct'), [2, 15]);
        assert.deepEqual(await counts('id-other'), [1, 4]);
      } finally {
        await store?.close();
        await blank.cleanup();
      }
    });

    test('zones below a name are found through the index, not by reading every zone', async () => {
      const h = await b.open();
      try {
        await h.store.transaction(async (repo) => {
          await repo.insertAccount(account('acct'));
          for (let i = 0; i < 50; i++) await repo.insertZone(zone(`z${i}.example.com.`));
        });
        const q = h.store.repo.zonesBelowQuery('example.com.', 1, 'id-other').compile();
        let plan: string;
        if (h.store.dialect === 'sqlite') {
          const r = await h.store.db.executeQuery<{ detail: string }>(
            CompiledQuery.raw(`explain query plan ${q.sql}`, [...q.parameters]),
          );
          plan = r.rows.map((x) => x.detail).join('\n');
        } else {
          // The planner may scan a table this small anyway: forbid that, then the index must do.
          plan = await h.store.db.transaction().execute(async (tx) => {
            await sql`set local enable_seqscan = off`.execute(tx);
            const r = await tx.executeQuery<{ 'QUERY PLAN': string }>(
              CompiledQuery.raw(`explain ${q.sql}`, [...q.parameters]),
            );
            return r.rows.map((x) => x['QUERY PLAN']).join('\n');
          });
        }
        assert.match(plan, /zones_name_rev/, plan);
        assert.doesNotMatch(plan, /SCAN zones\b(?! USING)|Seq Scan/, plan);
        assert.equal((await h.store.repo.zonesBelow('example.com.', 100)).length, 50);
        assert.equal((await h.store.repo.zonesBelow('z1.example.com.', 100)).length, 0);
        assert.equal((await h.store.repo.zonesBelow('.', 100)).length, 50);
        assert.equal((await h.store.repo.zonesBelow('com.', 100)).length, 50);
        assert.equal((await h.store.repo.zonesBelow('xample.com.', 100)).length, 0);
      } finally {
        await h.cleanup();
      }
    });

    test('migration 5 keeps existing versions; a soft-deleted zone keeps them, a purge removes them', async () => {
      const blank = await b.blank();
      let store: Store | undefined;
      const version = (v: number) => ({
        zone_id: 'zone-old.example.',
        version: v,
        serial: v,
        from_serial: v - 1,
        created_at: `2026-01-0${v}T00:00:00.000Z`,
        actor: 't',
        actor_name: null,
        remote: null,
        comment: null,
        kind: 'change',
        added: 1,
        removed: 0,
        changes: '[]',
      });
      try {
        await migrateToLatest(
          blank.raw,
          blank.dialect,
          migrations.filter((m) => m.version < 5),
        );
        await blank.raw.insertInto('accounts').values(account('acct')).execute();
        await blank.raw.insertInto('zones').values(zone('old.example.')).execute();
        await blank.raw
          .insertInto('zone_versions')
          .values([version(1), version(2)])
          .execute();
        store = await blank.open();
        const s = store;
        assert.deepEqual(
          (await s.repo.listVersions('zone-old.example.', { limit: 10 })).map((v) => v.version),
          [2, 1],
        );
        const z = await s.repo.getZoneByName('old.example.');
        assert.ok(z);
        await s.transaction((repo) => repo.softDeleteZone(z, '2026-02-01T00:00:00.000Z', 't'));
        assert.equal(await s.repo.getZoneByName('old.example.'), undefined);
        assert.equal((await s.repo.getDeletedZone('zone-old.example.'))?.name, 'old.example.');
        assert.equal((await s.repo.listVersions('zone-old.example.', { limit: 10 })).length, 2);
        // The name is free again.
        await s.transaction((repo) => repo.insertZone({ ...zone('old.example.'), id: 'zone-new' }));
        assert.deepEqual(await s.repo.deletedZonesBefore('2026-03-01T00:00:00.000Z', 10), [
          'zone-old.example.',
        ]);
        await s.transaction(async (repo) => {
          assert.equal(await repo.pruneVersions('zone-old.example.', 2147483647, 1), 1);
          assert.equal(await repo.pruneVersions('zone-old.example.', 2147483647, 10), 1);
          // The purge lists the deleted zone's content (migration 7: its id) for collection.
          assert.equal(await repo.purgeDeletedZone('zone-old.example.', '2026-03-01T00:00:00.000Z'), true);
          assert.equal(await repo.purgeDeletedZone('zone-old.example.', '2026-03-01T00:00:00.000Z'), false);
        });
        assert.equal(await s.repo.getDeletedZone('zone-old.example.'), undefined);
        assert.equal(await s.repo.oldestVersion('zone-old.example.'), undefined);
        assert.deepEqual(await s.repo.listGarbage('2026-03-01T00:00:00.000Z', 10), ['zone-old.example.']);
      } finally {
        await store?.close();
        await blank.cleanup();
      }
    });

    test('migration 8: a deleted zone keeps a content id, not a copy of its rows (older copies moved back)', async () => {
      const blank = await b.blank();
      let store: Store | undefined;
      try {
        await migrateToLatest(
          blank.raw,
          blank.dialect,
          migrations.filter((m) => m.version < 8),
        );
        const rows = [
          { name_key: 'old.example.', name: 'old.example.', type: 6, ttl: 300, records: 'x' },
          { name_key: 'www.old.example.', name: 'www.old.example.', type: 1, ttl: 300, records: 'y' },
        ];
        await blank.raw
          .insertInto('deleted_zones')
          .values({
            ...zone('old.example.'),
            kind: 'Native',
            soa_edit_api: 'DEFAULT',
            account_label: '',
            deleted_at: '2026-02-01T00:00:00.000Z',
            deleted_by: null,
            rrsets: JSON.stringify(rows),
          })
          .execute();
        store = await blank.open();
        const s = store;
        const d = await s.repo.getDeletedZone('zone-old.example.');
        assert.ok(d && d.content_id !== '' && d.content_id !== d.id);
        assert.equal('rrsets' in d, false, 'the JSON copy is gone');
        const moved = await s.repo.getRRsets(d.content_id);
        assert.deepEqual(
          moved.map((r) => [r.name_key, r.type, r.records]).sort(),
          rows.map((r) => [r.name_key, r.type, r.records]).sort(),
        );
        // Soft delete from now on: the zone row's content id moves over, its rows stay put.
        await s.transaction(async (repo) => {
          await repo.insertAccount(account('acct'));
          await repo.insertZone({ ...zone('new.example.'), content_id: 'content-new' });
          await repo.insertRRsets([{ zone_id: 'content-new', ...rows[0] }]);
        });
        const z = await s.repo.getZoneByName('new.example.');
        assert.ok(z);
        await s.transaction((repo) => repo.softDeleteZone(z, '2026-02-02T00:00:00.000Z', null));
        assert.equal((await s.repo.getDeletedZone('zone-new.example.'))?.content_id, 'content-new');
        assert.equal((await s.repo.getRRsets('content-new')).length, 1);
        assert.deepEqual(await s.repo.listGarbage('2100-01-01T00:00:00.000Z', 10), []);
      } finally {
        await store?.close();
        await blank.cleanup();
      }
    });

    test('a transaction that throws writes nothing; unique violations are recognised', async () => {
      const h = await b.open();
      try {
        await assert.rejects(
          h.store.transaction(async (repo) => {
            await repo.insertAccount(account('acct'));
            throw new Error('abort');
          }),
          /abort/,
        );
        assert.equal(await h.store.repo.getAccountByName('acct'), undefined);
        await h.store.transaction((repo) => repo.insertAccount(account('acct')));
        const dup = await h.store
          .transaction((repo) => repo.insertAccount({ ...account('acct'), id: 'other' }))
          .catch((e: unknown) => e);
        assert.equal(isUniqueViolation(dup), true);
        // ensureAccount is idempotent.
        const a1 = await h.store.transaction((repo) => repo.ensureAccount({ ...account('acct'), id: 'x' }));
        assert.equal(a1.id, 'id-acct');
      } finally {
        await h.cleanup();
      }
    });

    test('reads do not wait for a write transaction in progress; they see its commit after', async () => {
      const h = await b.open();
      try {
        let release: () => void = () => {};
        const held = new Promise<void>((r) => {
          release = r;
        });
        let inserted: () => void = () => {};
        const wrote = new Promise<void>((r) => {
          inserted = r;
        });
        const writing = h.store.transaction(async (repo) => {
          await repo.insertAccount(account('slow'));
          inserted();
          await held;
        });
        await wrote;
        // The writer holds its transaction open: reads outside it and read snapshots go on.
        assert.equal(await h.store.repo.getAccountByName('slow'), undefined);
        assert.equal(await h.store.read((repo) => repo.getAccountByName('slow')), undefined);
        release();
        await writing;
        assert.equal((await h.store.repo.getAccountByName('slow'))?.id, 'id-slow');
        assert.equal((await h.store.read((repo) => repo.getAccountByName('slow')))?.id, 'id-slow');
      } finally {
        await h.cleanup();
      }
    });

    test('serials are 32-bit unsigned; suffix queries are exact', async () => {
      const h = await b.open();
      try {
        await h.store.transaction(async (repo) => {
          await repo.insertAccount(account('acct'));
          for (const n of [
            'example.com.',
            'a.example.com.',
            'b.a.example.com.',
            'xexample.com.',
            'a_b.example.com.',
          ])
            await repo.insertZone(zone(n, 4294967295));
        });
        const z = await h.store.repo.getZoneByName('example.com.');
        assert.equal(z?.serial, 4294967295);
        const below = await h.store.repo.zonesBelow('example.com.', 10);
        assert.deepEqual(below.map((r) => r.name).sort(), [
          'a.example.com.',
          'a_b.example.com.',
          'b.a.example.com.',
        ]);
        assert.deepEqual(await h.store.repo.zonesBelow('example.com.', 10, 'id-acct'), []);
        assert.deepEqual(
          (await h.store.repo.zonesNamed(['com.', 'example.com.'])).map((r) => r.name),
          ['example.com.'],
        );
        assert.equal(await h.store.repo.countZones('id-acct'), 5);
        assert.equal(await h.store.repo.noZones(), false);
      } finally {
        await h.cleanup();
      }
    });
  });
}

describe('store on SQLite: durability settings', () => {
  test('WAL with synchronous=FULL and foreign keys on', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sb-store-'));
    dirs.push(dataDir);
    const store = await openStore({ dataDir });
    try {
      const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(store.db);
      assert.equal(mode.rows[0].journal_mode, 'wal');
      const sync = await sql<{ synchronous: number }>`pragma synchronous`.execute(store.db);
      assert.equal(sync.rows[0].synchronous, 2); // FULL
      const fk = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(store.db);
      assert.equal(fk.rows[0].foreign_keys, 1);
      assert.equal(store.file, join(dataDir, 'switchboard.db'));
    } finally {
      await store.close();
    }
  });
});

describe('store on PostgreSQL: change feed', { skip: postgresSkipReason() }, () => {
  let srv: TestCluster;
  before(async () => {
    srv = await startPostgresServer();
  });
  after(() => srv.stop());

  test('NOTIFY reaches listeners on commit only', async () => {
    const db = await createDatabase(srv.url);
    const store = await openStore({ dataDir: tmpdir(), database: db.url });
    try {
      const got: string[] = [];
      let wake: () => void = () => {};
      await store.listen('test_channel', {
        onMessage: (m) => {
          got.push(m);
          wake();
        },
        onReconnect: () => {},
      });
      await assert.rejects(
        store.transaction(async (repo) => {
          await store.notify(repo, 'test_channel', 'rolled-back');
          throw new Error('abort');
        }),
      );
      const arrived = new Promise<void>((resolve) => {
        wake = resolve;
      });
      await store.transaction((repo) => store.notify(repo, 'test_channel', 'committed'));
      await arrived;
      assert.deepEqual(got, ['committed']);
    } finally {
      await store.close();
      await db.stop();
    }
  });
});
