/**
 * Applies the pending migrations at open: all of them in ONE transaction with their rows in
 * `schema_migrations`, so a crash leaves the schema either before or after, never between.
 * On PostgreSQL a transaction-scoped advisory lock makes replicas that start together wait
 * for each other instead of racing to create the same tables.
 * @module
 */
import { type Kysely, sql } from 'kysely';
import { StoreError } from './errors.js';
import { type Migration, migrations } from './migrations.js';

/** Arbitrary constant key of the advisory lock taken while migrating ("sbmg"). */
const MIGRATION_LOCK = 0x73626d67;

/**
 * Brings the schema to the newest version; returns the versions applied now.
 * @throws StoreError STORE_ERR_MIGRATION when a migration fails or the database is newer
 */
export async function migrateToLatest(
  // biome-ignore lint/suspicious/noExplicitAny: the schema is being created
  db: Kysely<any>,
  dialect: 'sqlite' | 'postgres',
  list: readonly Migration[] = migrations,
): Promise<number[]> {
  const latest = list.reduce((m, x) => Math.max(m, x.version), 0);
  try {
    return await db.transaction().execute(async (tx) => {
      if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK})`.execute(tx);
      await tx.schema
        .createTable('schema_migrations')
        .ifNotExists()
        .addColumn('version', 'integer', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('applied_at', 'text', (c) => c.notNull())
        .execute();
      const rows = await tx.selectFrom('schema_migrations').select('version').execute();
      const done = new Set(rows.map((r) => Number(r.version)));
      const newest = Math.max(0, ...done);
      if (newest > latest)
        throw new StoreError(
          'STORE_ERR_MIGRATION',
          `the database schema is at version ${newest}, newer than this program's ${latest}: upgrade Switchboard`,
        );
      const applied: number[] = [];
      for (const m of [...list].sort((a, b) => a.version - b.version)) {
        if (done.has(m.version)) continue;
        await m.up(tx, dialect);
        await tx
          .insertInto('schema_migrations')
          .values({ version: m.version, name: m.name, applied_at: new Date().toISOString() })
          .execute();
        applied.push(m.version);
      }
      return applied;
    });
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError('STORE_ERR_MIGRATION', `migrating the database failed: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
