/**
 * Opening the store: the embedded SQLite file (`<dataDir>/switchboard.db`, WAL with
 * synchronous=FULL so a commit survives SIGKILL and power loss) or PostgreSQL (a connection
 * pool, plus a dedicated LISTEN connection for the change feed). Migrations run at open.
 * @module
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { ChangeFeed, type ChangeFeedHandlers, type ChangeFeedOptions } from './change-feed.js';
import { isRetryable, StoreError } from './errors.js';
import { migrateToLatest } from './migrate.js';
import { Repo, type StoreDialect } from './repo.js';
import type { Database } from './schema.js';

/** How to open the store. */
export interface StoreOptions {
  /** Folder of the SQLite file (created when missing). */
  dataDir: string;
  /** `postgres://…` (or `postgresql://…`) to use PostgreSQL instead. */
  database?: string;
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
}

/** The SQLite file name inside the data folder. */
export const SQLITE_FILE = 'switchboard.db';

/**
 * Makes the data folder private: created 0700, and the database file created 0600 before
 * SQLite opens it (SQLite gives its -wal and -shm files the database file's mode). Files left
 * by an older version are narrowed to 0600 too; a folder that exists keeps its mode.
 */
export function preparePrivateDataDir(dataDir: string, file: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`])
    try {
      chmodSync(f, 0o600);
    } catch {
      // Absent (no WAL yet): SQLite creates it with the database file's mode.
    }
}

/** An open store. */
export class Store {
  readonly db: Kysely<Database>;
  readonly dialect: StoreDialect;
  /**
   * Queries outside any transaction: reads only. SQLite: on a second, read-only connection,
   * so that reads never queue behind a write transaction holding the writer connection (WAL
   * readers see the last commit and take no lock a writer waits for).
   */
  readonly repo: Repo;
  /** SQLite: the read-only connection (undefined with PostgreSQL, whose pool serves both). */
  readonly #reader: Kysely<Database> | undefined;
  /** The SQLite file, or undefined with PostgreSQL. */
  readonly file: string | undefined;
  readonly #url: string | undefined;
  readonly #feeds = new Set<ChangeFeed>();
  #closed = false;

  private constructor(
    db: Kysely<Database>,
    dialect: StoreDialect,
    file?: string,
    url?: string,
    reader?: Kysely<Database>,
  ) {
    this.db = db;
    this.dialect = dialect;
    this.#reader = reader;
    this.repo = new Repo(reader ?? db, dialect);
    this.file = file;
    this.#url = url;
  }

  /**
   * Opens (creating and migrating) the store.
   * @throws StoreError STORE_ERR_OPEN or STORE_ERR_MIGRATION
   */
  static async open(opts: StoreOptions): Promise<Store> {
    const url = opts.database;
    if (url !== undefined && url !== '') {
      if (!/^postgres(ql)?:\/\//.test(url))
        throw new StoreError('STORE_ERR_OPEN', `unsupported database URL '${url}' (want postgres://…)`);
      return Store.#openPostgres(url, opts.poolSize ?? 10);
    }
    return Store.#openSqlite(opts.dataDir);
  }

  static async #openSqlite(dataDir: string): Promise<Store> {
    const file = resolve(join(dataDir, SQLITE_FILE));
    let handle: BetterSqlite3.Database;
    try {
      preparePrivateDataDir(dataDir, file);
      handle = new BetterSqlite3(file);
      // WAL lets readers proceed during a write; synchronous=FULL syncs the WAL at every
      // commit, so an acknowledged change survives SIGKILL and power loss.
      handle.pragma('journal_mode = WAL');
      handle.pragma('synchronous = FULL');
      handle.pragma('foreign_keys = ON');
      handle.pragma('busy_timeout = 5000');
      // Checkpoints run in the commit that crosses this many WAL pages, synchronously: the
      // zone-work thread's connection, which writes big contents, checkpoints at SQLite's
      // default (1000 pages); the request loop's only when the WAL has grown well past it.
      handle.pragma('wal_autocheckpoint = 10000');
    } catch (err) {
      throw new StoreError('STORE_ERR_OPEN', `cannot open ${file}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: handle }) });
    try {
      await migrateToLatest(db, 'sqlite');
    } catch (err) {
      await db.destroy();
      throw err;
    }
    let reader: Kysely<Database>;
    try {
      const r = new BetterSqlite3(file, { readonly: true });
      // A WAL reader waits only while another connection recovers the WAL index (rare, short).
      r.pragma('busy_timeout = 1000');
      reader = new Kysely<Database>({ dialect: new SqliteDialect({ database: r }) });
    } catch (err) {
      await db.destroy();
      throw new StoreError('STORE_ERR_OPEN', `cannot open ${file}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return new Store(db, 'sqlite', file, undefined, reader);
  }

  /**
   * A second writer connection to an SQLite store that `open` has opened (and migrated): the
   * zone-work thread's, which stages big contents and collects old ones (control/staging.ts)
   * while the request loop's connection takes its turns in between. synchronous=NORMAL (the
   * stager makes its last commit FULL), SQLite's default checkpoints; no reader of its own.
   */
  static attachSqlite(file: string): Store {
    let handle: BetterSqlite3.Database;
    try {
      handle = new BetterSqlite3(file, { fileMustExist: true });
      handle.pragma('busy_timeout = 10000');
      handle.pragma('synchronous = NORMAL');
      handle.pragma('foreign_keys = ON');
    } catch (err) {
      throw new StoreError('STORE_ERR_OPEN', `cannot open ${file}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return new Store(
      new Kysely<Database>({ dialect: new SqliteDialect({ database: handle }) }),
      'sqlite',
      file,
    );
  }

  static async #openPostgres(url: string, poolSize: number): Promise<Store> {
    const pool = new pg.Pool({ connectionString: url, max: poolSize, keepAlive: true });
    // An idle pooled connection that dies emits 'error' on the pool: without a handler
    // that would crash the process; the pool replaces the connection by itself.
    pool.on('error', () => {});
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    try {
      await sql`select 1`.execute(db);
    } catch (err) {
      await db.destroy();
      throw new StoreError('STORE_ERR_OPEN', `cannot connect to PostgreSQL: ${(err as Error).message}`, {
        cause: err,
      });
    }
    try {
      await migrateToLatest(db, 'postgres');
    } catch (err) {
      await db.destroy();
      throw err;
    }
    return new Store(db, 'postgres', undefined, url);
  }

  /**
   * Runs `fn` in one transaction and commits, or rolls everything back when it throws.
   * PostgreSQL deadlocks and serialization failures, and SQLite's busy snapshot (another
   * connection wrote since this transaction read), are retried (the whole function again, so
   * it must only touch the store). SQLite: Kysely holds the single connection for the
   * whole transaction, so transactions of this process never interleave.
   */
  async transaction<T>(fn: (repo: Repo) => Promise<T>): Promise<T> {
    if (this.#closed) throw new StoreError('STORE_ERR_CLOSED', 'the store is closed');
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.transaction().execute((tx) => fn(new Repo(tx, this.dialect)));
      } catch (err) {
        if (attempt < 20 && isRetryable(err)) {
          // SQLite: the other writer (the zone-work thread) holds the lock for one short slice.
          if (this.dialect === 'sqlite') await new Promise((r) => setTimeout(r, Math.min(2 * attempt, 20)));
          continue;
        }
        throw err;
      }
    }
  }

  /**
   * Runs read-only `fn` on one consistent snapshot (PostgreSQL: REPEATABLE READ, so every
   * query sees the same committed state; SQLite: one transaction on the read-only connection).
   */
  async read<T>(fn: (repo: Repo) => Promise<T>): Promise<T> {
    if (this.#closed) throw new StoreError('STORE_ERR_CLOSED', 'the store is closed');
    if (this.#reader) {
      const reader = this.#reader;
      // One read transaction on the reader connection: a consistent snapshot, and no wait for
      // a write transaction in progress.
      return reader.transaction().execute((tx) => fn(new Repo(tx, this.dialect)));
    }
    return this.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute((tx) => fn(new Repo(tx, this.dialect)));
  }

  /**
   * Sends a notification on `channel` from inside transaction `repo`: PostgreSQL delivers it
   * to every listener when (and only if) the transaction commits. No-op on SQLite.
   */
  async notify(repo: Repo, channel: string, payload: string): Promise<void> {
    if (this.dialect !== 'postgres') return;
    await sql`select pg_notify(${channel}, ${payload})`.execute(repo.db);
  }

  /** Starts a change feed on `channel` (PostgreSQL only; undefined on SQLite). */
  async listen(
    channel: string,
    handlers: ChangeFeedHandlers,
    opts?: ChangeFeedOptions,
  ): Promise<ChangeFeed | undefined> {
    if (this.dialect !== 'postgres' || this.#url === undefined) return undefined;
    const feed = new ChangeFeed(this.#url, channel, handlers, opts);
    await feed.start();
    this.#feeds.add(feed);
    return feed;
  }

  /** Closes the feeds and the database. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const f of this.#feeds) await f.close();
    this.#feeds.clear();
    await this.#reader?.destroy();
    await this.db.destroy();
  }
}

/** Opens the store (see `Store.open`). */
export function openStore(opts: StoreOptions): Promise<Store> {
  return Store.open(opts);
}
