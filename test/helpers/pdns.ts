/**
 * Runs a real PowerDNS Authoritative (Debian's `pdns_server` with the gsqlite3 backend) as a
 * child process for differential tests of the PowerDNS-compatible API: a throw-away SQLite
 * database and config in a temp folder, its DNS and HTTP API on free loopback ports, in the
 * foreground, stopped by PID. Everything that would make it talk beyond loopback (security
 * polling, NOTIFY) is switched off.
 * @module
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { atCleanup, killAtCleanup, killQuietly } from './cleanup.js';
import { assertLoopback } from './dns-client.js';
import { findCommand, findFreePort, waitForAnswer } from './peers.js';
import { skipOrFail } from './require-peers.js';

/** Where Debian's pdns-backend-sqlite3 ships the schema (the first one present is used). */
const SCHEMA_PATHS = [
  '/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql',
  '/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql',
  '/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql.gz',
];

/** A running pdns_server. */
export interface PdnsServer {
  readonly pid: number;
  /** `http://127.0.0.1:PORT` of its webserver (the API is under `/api`). */
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly host: string;
  readonly dnsPort: number;
  readonly httpPort: number;
  /** Temp folder with pdns.conf and the database (removed by `stop`). */
  readonly dir: string;
  /** The tail of what it logged (for failure messages). */
  output(): string;
  /** SIGTERM, SIGKILL after a grace period, then removes the temp folder. */
  stop(): Promise<void>;
}

/** Options of `startPdns`. */
export interface PdnsOptions {
  /** Its `api-key` (default: a random one). */
  apiKey?: string;
  /** How long to wait until both the API and DNS answer. Default 30 s. */
  readyTimeoutMs?: number;
}

/** The gsqlite3 schema file shipped by pdns-backend-sqlite3, or undefined. */
export function findPdnsSchema(): string | undefined {
  return SCHEMA_PATHS.find((p) => existsSync(p));
}

/** What is missing of pdns_server and its SQLite backend, or false when both are installed. */
export function pdnsMissing(): false | string {
  if (!findCommand('pdns_server'))
    return 'not installed: pdns_server (apt-get install pdns-server pdns-backend-sqlite3; see scripts/install-test-deps.sh)';
  if (!findPdnsSchema())
    return 'not installed: the gsqlite3 schema of pdns-backend-sqlite3 (apt-get install pdns-backend-sqlite3)';
  return false;
}

/** For test files: skip (or, with SWITCHBOARD_REQUIRE_PEERS=1, fail) when PowerDNS is missing. */
export function skipUnlessPdns(): false | string {
  return skipOrFail(pdnsMissing());
}

function readSchema(path: string): string {
  const bytes = readFileSync(path);
  return (path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
}

/** The pdns.conf of a test instance. */
export function pdnsConfig(o: {
  dir: string;
  host: string;
  dnsPort: number;
  httpPort: number;
  apiKey: string;
}): string {
  return [
    'launch=gsqlite3',
    `gsqlite3-database=${join(o.dir, 'pdns.sqlite3')}`,
    `local-address=${o.host}`,
    `local-port=${o.dnsPort}`,
    'api=yes',
    `api-key=${o.apiKey}`,
    'webserver=yes',
    `webserver-address=${o.host}`,
    `webserver-port=${o.httpPort}`,
    'webserver-allow-from=127.0.0.0/8',
    `socket-dir=${o.dir}`,
    // No security-status lookups under secpoll.powerdns.com: the test stays on loopback.
    'security-poll-suffix=',
    // An empty only-notify makes queueNotifyDomain skip resolving NS names (no lookups, no NOTIFY).
    'only-notify=',
    // No caches: a DNS query right after an API change sees the change.
    'cache-ttl=0',
    'negquery-cache-ttl=0',
    'query-cache-ttl=0',
    'zone-cache-refresh-interval=0',
    'receiver-threads=1',
    'distributor-threads=1',
    'loglevel=4',
    '',
  ].join('\n');
}

async function waitForApi(apiUrl: string, apiKey: string, deadline: number, alive: () => boolean) {
  while (Date.now() < deadline) {
    if (!alive()) throw new Error('pdns_server exited before its API answered');
    try {
      const r = await fetch(`${apiUrl}/api/v1/servers/localhost`, {
        headers: { 'X-API-Key': apiKey },
        signal: AbortSignal.timeout(1000),
      });
      await r.arrayBuffer();
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the PowerDNS API at ${apiUrl} did not answer in time`);
}

/**
 * Starts `pdns_server --daemon=no --guardian=no --config-dir=<tmp>` with an empty gsqlite3
 * database on free loopback ports and waits until its API and DNS listener answer.
 */
export async function startPdns(opts: PdnsOptions = {}): Promise<PdnsServer> {
  const host = '127.0.0.1';
  assertLoopback(host);
  const schema = findPdnsSchema();
  const bin = findCommand('pdns_server');
  if (!schema || !bin) throw new Error(pdnsMissing() || 'pdns_server not found');
  const dir = mkdtempSync(join(tmpdir(), 'sb-pdns-'));
  const apiKey = opts.apiKey ?? `pdns-test-${crypto.randomUUID()}`;
  const dnsPort = await findFreePort(host);
  let httpPort = await findFreePort(host);
  while (httpPort === dnsPort) httpPort = await findFreePort(host);
  const db = new Database(join(dir, 'pdns.sqlite3'));
  try {
    db.exec(readSchema(schema));
  } finally {
    db.close();
  }
  writeFileSync(join(dir, 'pdns.conf'), pdnsConfig({ dir, host, dnsPort, httpPort, apiKey }));
  // Run as whoever we are: without setuid/setgid in pdns.conf it keeps our user, who owns `dir`.
  const argv = [bin, '--daemon=no', '--guardian=no', '--disable-syslog', `--config-dir=${dir}`];
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  // Whatever ends this process (exit, SIGINT, SIGTERM) ends pdns_server and removes its folder.
  const unkill = killAtCleanup(child);
  const unremove = atCleanup(() => rmSync(dir, { recursive: true, force: true }));
  let out = '';
  const keep = (d: Buffer): void => {
    out = (out + d.toString('utf8')).slice(-20000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  const exitPromise = new Promise<void>((res) => {
    const done = (): void => {
      exited = true;
      res();
    };
    child.once('exit', done);
    child.once('error', (e) => {
      out += `\nspawn error: ${e.message}`;
      done();
    });
  });
  const stop = async (): Promise<void> => {
    if (!exited && child.pid) {
      killQuietly(child.pid, 'SIGTERM');
      const timer = setTimeout(() => child.pid && killQuietly(child.pid, 'SIGKILL'), 5000);
      await exitPromise;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
    unkill();
    unremove();
  };
  const apiUrl = `http://${host}:${httpPort}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  try {
    await waitForApi(apiUrl, apiKey, deadline, () => !exited);
    // Any response will do (REFUSED for the root): the UDP listener is up.
    await waitForAnswer(host, dnsPort, '.', Math.max(1000, deadline - Date.now()), () => !exited);
  } catch (e) {
    await stop();
    throw new Error(`pdns_server did not start: ${(e as Error).message}\n${argv.join(' ')}\n${out}`);
  }
  return {
    pid: child.pid!,
    apiUrl,
    apiKey,
    host,
    dnsPort,
    httpPort,
    dir,
    output: () => out,
    stop,
  };
}
