/**
 * The store: persistence of the control plane over Kysely (SQLite via better-sqlite3, or
 * PostgreSQL via pg), with migrations, transactional repository functions and the
 * PostgreSQL LISTEN/NOTIFY change feed. Knows nothing of DNS: rows in, rows out. The only
 * import surface of src/store.
 * @module
 */
export * from './change-feed.js';
export * from './database.js';
export * from './errors.js';
export * from './migrate.js';
export type { Migration } from './migrations.js';
export * from './repo.js';
export type * from './schema.js';
