/**
 * A real PostgreSQL for tests. `startPostgres()` gives every caller a fresh, empty database:
 * on the server named by SWITCHBOARD_TEST_DATABASE when set (one cluster shared by every test
 * file: the runner starts it once with `startPostgresCluster()`), else on a throw-away
 * cluster of its own made with Debian's initdb/pg_ctl in a temp folder, listening on a free
 * 127.0.0.1 port with trust authentication, and removed again by `stop()`.
 * @module
 */
import { type SpawnSyncOptions, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { atCleanup } from './cleanup.js';
import { findFreePort } from './peers.js';
import { skipOrFail } from './require-peers.js';

/** A database for one test file. */
export interface TestDatabase {
  /** `postgres://…` of the fresh database. */
  url: string;
  /** Drops the database (and stops the cluster when it was started for this database). */
  stop(): Promise<void>;
}

/** A running cluster. */
export interface TestCluster {
  /** `postgres://…/postgres`: an administrative database, for SWITCHBOARD_TEST_DATABASE. */
  url: string;
  stop(): Promise<void>;
}

const PG_ROOT = '/usr/lib/postgresql';

/** The bin folder of the newest installed PostgreSQL, or undefined. */
function findBinDir(): string | undefined {
  if (!existsSync(PG_ROOT)) return undefined;
  const versions = readdirSync(PG_ROOT)
    .filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(PG_ROOT, versions[0], 'bin') : undefined;
}

/**
 * For test files: why PostgreSQL tests cannot run here, or false when they can: pass it as
 * `{ skip }`. With SWITCHBOARD_REQUIRE_PEERS=1 a missing PostgreSQL also fails the run
 * (require-peers.ts); scripts and benchmarks call `postgresMissing()` instead.
 */
export function postgresSkipReason(): string | false {
  return skipOrFail(postgresMissing());
}

/** Why no PostgreSQL cluster can be started here, or false when one can. */
export function postgresMissing(): string | false {
  if (process.env.SWITCHBOARD_TEST_DATABASE) return false;
  if (!findBinDir())
    return `PostgreSQL is not installed (no ${PG_ROOT}/*/bin/initdb; run scripts/install-test-deps.sh as root)`;
  if (isRoot() && spawnSync('id', ['-u', 'postgres']).status !== 0)
    return 'running as root but there is no postgres user to run initdb as';
  return false;
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Runs a PostgreSQL program, as the postgres user when we are root (initdb refuses root). */
function runPg(bin: string, args: string[], opts: SpawnSyncOptions = {}): void {
  const cmd = isRoot() ? 'runuser' : bin;
  const argv = isRoot() ? ['-u', 'postgres', '--', bin, ...args] : args;
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 60_000, ...opts });
  if (r.status !== 0)
    throw new Error(`${bin} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
}

/** Stops a cluster at once (throws when pg_ctl fails) and removes its folder in any case. */
function stopCluster(bin: string, data: string, dir: string): void {
  try {
    runPg(join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-w']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Starts a throw-away cluster on a free 127.0.0.1 port (trust authentication on loopback,
 * unix socket inside its temp folder). Tests run with fsync off (test data needs no crash
 * safety); `durable: true` keeps PostgreSQL's defaults (fsync, synchronous_commit) so a
 * benchmark compares it fairly with SQLite's `synchronous = FULL`.
 * @throws Error when PostgreSQL is not installed or does not start
 */
export async function startPostgresCluster(opts: { durable?: boolean } = {}): Promise<TestCluster> {
  const bin = findBinDir();
  if (!bin) throw new Error(`PostgreSQL is not installed (${PG_ROOT}/*/bin/initdb)`);
  const dir = mkdtempSync(join(tmpdir(), 'sb-pg-'));
  const data = join(dir, 'data');
  if (isRoot()) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(dir, uid, gid);
  }
  let stopped = false;
  const stopNow = (): void => {
    if (stopped) return;
    stopped = true;
    unregister();
    stopCluster(bin, data, dir);
  };
  // pg_ctl daemonizes, so the cluster is no child of ours: stop it when this process ends
  // (exit, SIGINT, SIGTERM), whether or not the caller got to call stop().
  const unregister = atCleanup(() => {
    try {
      stopNow();
    } catch {
      // not running
    }
  });
  try {
    runPg(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    const port = await findFreePort();
    const options = [
      `-p ${port}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories=${dir}`,
      ...(opts.durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
      '-c max_connections=200',
    ].join(' ');
    runPg(join(bin, 'pg_ctl'), [
      'start',
      '-D',
      data,
      '-w',
      '-t',
      '60',
      '-l',
      join(dir, 'log'),
      '-o',
      options,
    ]);
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    return {
      url,
      async stop() {
        stopNow();
      },
    };
  } catch (err) {
    let log = '';
    try {
      log = readFileSync(join(dir, 'log'), 'utf8');
    } catch {
      // no log yet
    }
    try {
      stopNow();
    } catch {
      // not running
    }
    throw new Error(`could not start PostgreSQL: ${(err as Error).message}${log ? `\n${log}` : ''}`);
  }
}

/** The URL of database `db` on the server of `url`. */
function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** Runs one statement on the administrative database of `url`. */
async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/**
 * A fresh empty database (random name) on the server of `adminUrl`; `stop()` drops it.
 */
export async function createDatabase(adminUrl: string): Promise<TestDatabase> {
  const name = `sb_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  let dropped = false;
  return {
    url: withDatabase(adminUrl, name),
    async stop() {
      if (dropped) return;
      dropped = true;
      // PostgreSQL 13+: FORCE ends the sessions a test may have left open.
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/**
 * A fresh empty database: on SWITCHBOARD_TEST_DATABASE's server when set, else on a cluster
 * started for it. `stop()` drops it (and stops that cluster).
 */
export async function startPostgres(opts: { durable?: boolean } = {}): Promise<TestDatabase> {
  const shared = process.env.SWITCHBOARD_TEST_DATABASE;
  if (shared) return createDatabase(shared);
  const cluster = await startPostgresCluster(opts);
  try {
    const db = await createDatabase(cluster.url);
    return { url: db.url, stop: () => cluster.stop() };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

/**
 * A server for many databases: SWITCHBOARD_TEST_DATABASE's when set (never stopped here),
 * else a throw-away cluster. Test files that need several databases start one of these.
 */
export async function startPostgresServer(): Promise<TestCluster> {
  const shared = process.env.SWITCHBOARD_TEST_DATABASE;
  if (shared) return { url: shared, stop: async () => {} };
  return startPostgresCluster();
}
