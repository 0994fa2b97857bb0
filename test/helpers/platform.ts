/**
 * Helpers of every test and benchmark that runs `switchboard start`: run the platform as a child process on
 * free loopback ports, wait for its started block, call its API, query its DNS workers (with
 * NSID `w{worker}` so a test can tell which worker answered), kill it hard.
 * @module
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeMessage } from '../../src/wire/decode.js';
import { rdataToText } from '../../src/wire/rdata.js';
import { atCleanup, killAtCleanup } from './cleanup.js';
import { buildQuery, queryUdp } from './dns-client.js';
import { findCommand, findFreePort, listDescendants, switchboardBin } from './peers.js';
import { parseExposition, sampleValue } from './prometheus.js';

/** A running `switchboard start`. */
export interface Platform {
  readonly child: ChildProcess;
  readonly pid: number;
  /** `http://127.0.0.1:PORT`. */
  readonly api: string;
  readonly httpPort: number;
  readonly dnsPort: number;
  readonly dataDir: string;
  /** The admin key printed at first start, if one was. */
  readonly printedKey?: string;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<number | null>;
  /** SIGTERM, wait, then SIGKILL whatever is left of it and its workers. */
  stop(): Promise<number | null>;
  /** SIGKILL the primary and every worker at once (a crash). */
  kill(): Promise<void>;
}

/** Options of `startPlatform`. */
export interface PlatformOptions {
  /** Reuse this data folder (default: a new temp folder). */
  dataDir?: string;
  database?: string;
  workers?: number;
  /** SWITCHBOARD_API_KEY for the process (omitted: unset). */
  apiKey?: string;
  httpPort?: number;
  dnsPort?: number;
  extraArgs?: string[];
  timeoutMs?: number;
  /** Pin the platform's processes to these CPUs with taskset (benchmarks), e.g. '1'. */
  cpus?: string;
}

/**
 * `switchboard start` flags that turn the per-tenant request limits off (docs/API.md,
 * "Limits"): for benchmarks that load thousands of zones through one tenant's key.
 */
export const NO_LIMIT_ARGS: readonly string[] = [
  'account-rate=0',
  'token-rate=0',
  'heavy-concurrency=0',
  'zones-per-hour=0',
].flatMap((l) => ['--limit', l]);

const STARTED = /^switchboard: started, pid \d+$/m;
const API_LINE = /^\s+API\s+(http:\/\/\S+)\/api\/v1\/$/m;
const KEY = /^\s+(sb_[A-Za-z0-9_-]+)\s*$/m;

/** A fresh temp folder for a store. */
export function makeDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'sb-start-'));
}

/** Removes a data folder made by makeDataDir. */
export function removeDataDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Starts `switchboard start` on free loopback ports and waits until it serves. */
export async function startPlatform(opts: PlatformOptions = {}): Promise<Platform> {
  const dataDir = opts.dataDir ?? makeDataDir();
  // A folder made here goes when this process ends, however it ends (the caller may remove it sooner).
  if (opts.dataDir === undefined) atCleanup(() => removeDataDir(dataDir));
  const httpPort = opts.httpPort ?? (await findFreePort());
  const dnsPort = opts.dnsPort ?? (await findFreePort());
  const args = [
    switchboardBin(),
    'start',
    '--data',
    dataDir,
    '--http',
    `127.0.0.1:${httpPort}`,
    '--dns',
    `127.0.0.1:${dnsPort}`,
    '--workers',
    String(opts.workers ?? 2),
    '--nsid',
    'w{worker}',
    ...(opts.database ? ['--database', opts.database] : []),
    ...(opts.extraArgs ?? []),
  ];
  const env = { ...process.env };
  delete env.SWITCHBOARD_API_KEY;
  if (opts.apiKey !== undefined) env.SWITCHBOARD_API_KEY = opts.apiKey;
  // taskset execs node in place: the pid stays the platform's primary.
  const child = opts.cpus
    ? spawn(findCommand('taskset') ?? 'taskset', ['-c', opts.cpus, process.execPath, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env,
      })
    : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of listeners) l();
  };
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString('utf8');
    notify();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString('utf8')).slice(-200_000);
    notify();
  });
  let hasExited = false;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      hasExited = true;
      notify();
      resolve(code);
    });
  });
  const pid = child.pid!;
  const descendants = new Set<number>();
  // SIGINT/SIGTERM/exit of this process: the primary, its workers, and workers seen before.
  const unkill = killAtCleanup(child, () => descendants);
  const remember = () => {
    for (const p of listDescendants(pid)) descendants.add(p);
  };
  const killAll = () => {
    for (const p of descendants) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };

  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (STARTED.test(out)) done(null);
      else if (hasExited)
        done(new Error(`switchboard start exited before it started\nstdout: ${out}\nstderr: ${err}`));
    };
    const timer = setTimeout(
      () => done(new Error(`switchboard start did not start in time\nstdout: ${out}\nstderr: ${err}`)),
      opts.timeoutMs ?? 60_000,
    );
    const done = (e: Error | null) => {
      clearTimeout(timer);
      listeners.delete(check);
      if (e) {
        remember();
        child.kill('SIGKILL');
        killAll();
        unkill();
        reject(e);
      } else resolve();
    };
    listeners.add(check);
    check();
  });
  remember();
  const api = API_LINE.exec(out)?.[1] ?? `http://127.0.0.1:${httpPort}`;
  return {
    child,
    pid,
    api,
    httpPort,
    dnsPort,
    dataDir,
    printedKey: KEY.exec(out)?.[1],
    stdout: () => out,
    stderr: () => err,
    exited,
    stop: async () => {
      remember();
      if (!hasExited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      killAll();
      unkill();
      return exited;
    },
    kill: async () => {
      remember();
      child.kill('SIGKILL');
      killAll();
      await exited;
      unkill();
    },
  };
}

/** A decoded JSON body: the tests check the fields they know. */
// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
export type Json = any;

/** A JSON API call; resolves with status, body and headers (never throws on HTTP errors). */
export async function callApi(
  base: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Json; headers: Headers }> {
  const h: Record<string, string> = { 'x-api-key': key, ...headers };
  let payload: string | undefined;
  if (typeof body === 'string') {
    payload = body;
    h['content-type'] ??= 'text/dns';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    h['content-type'] = 'application/json';
  }
  const res = await fetch(base + path, { method, headers: h, body: payload });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json') && text !== '') parsed = JSON.parse(text);
  return { status: res.status, body: parsed, headers: res.headers };
}

/**
 * A new account `name` (with `maxRecords` when given) and a write token of it, made with the
 * administrator key: the token's secret (tenants of the transfer, update and secondary e2e tests).
 */
export async function tenantToken(
  base: string,
  adminKey: string,
  name: string,
  opts: { maxRecords?: number } = {},
): Promise<string> {
  const acc = await callApi(base, adminKey, 'POST', '/api/v1/accounts', {
    name,
    ...(opts.maxRecords !== undefined ? { maxRecords: opts.maxRecords } : {}),
  });
  if (acc.status !== 201) throw new Error(`account ${name}: ${acc.status} ${JSON.stringify(acc.body)}`);
  const tok = await callApi(base, adminKey, 'POST', '/api/v1/tokens', {
    name,
    accountId: acc.body.id,
    scope: { access: 'write' },
  });
  if (tok.status !== 201) throw new Error(`token ${name}: ${tok.status} ${JSON.stringify(tok.body)}`);
  return tok.body.secret as string;
}

/** One decoded UDP answer: rcode, answer RDATA as text, and which worker (NSID) answered. */
export interface UdpAnswer {
  rcode: number;
  answers: string[];
  worker?: string;
}

/** Queries the platform over UDP (RFC 5001 NSID requested, to learn the worker). */
export async function queryPlatform(port: number, name: string, type: number): Promise<UdpAnswer> {
  const q = buildQuery({
    name,
    type,
    edns: { udpSize: 1232, options: [{ code: 3, data: new Uint8Array(0) }] },
  });
  const r = decodeMessage(await queryUdp(q, { port, timeoutMs: 1000, retries: 2 }));
  const nsid = r.edns?.options.find((o) => o.code === 3);
  return {
    rcode: r.flags & 0xf,
    answers: r.answers.filter((a) => a.type === type).map((a) => rdataToText(a.type, a.rdata)),
    worker: nsid ? Buffer.from(nsid.data).toString('utf8') : undefined,
  };
}

/**
 * Queries until every one of `workers` has answered so that `ok` holds, or `withinMs` passed.
 * Resolves with the milliseconds it took, or rejects naming the workers that did not.
 */
export async function waitForEveryWorker(
  port: number,
  name: string,
  type: number,
  workers: number,
  ok: (a: UdpAnswer) => boolean,
  withinMs: number,
): Promise<number> {
  const started = performance.now();
  const good = new Set<string>();
  const last = new Map<string, UdpAnswer>();
  while (performance.now() - started < withinMs) {
    // A few at once: datagrams on the shared socket go to whichever worker reads first.
    const batch = await Promise.all(
      Array.from({ length: 4 }, () => queryPlatform(port, name, type).catch(() => null)),
    );
    for (const a of batch) {
      if (!a?.worker) continue;
      last.set(a.worker, a);
      if (ok(a)) good.add(a.worker);
    }
    if (good.size >= workers) return performance.now() - started;
  }
  const seen = [...last.entries()]
    .map(([w, a]) => `${w}: rcode ${a.rcode} ${JSON.stringify(a.answers)}`)
    .join('; ');
  throw new Error(
    `only ${good.size} of ${workers} workers answered as expected within ${withinMs} ms (${seen})`,
  );
}

/** Runs the switchboard CLI; resolves with exit code and output. */
export function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  input?: string,
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const e = { ...process.env, ...env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete e[k];
    const child = execFile(
      process.execPath,
      [switchboardBin(), ...args],
      { timeout: 30_000, env: e },
      (error, stdout, stderr) => {
        unkill();
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, out: stdout, err: stderr });
      },
    );
    const unkill = killAtCleanup(child);
    if (input !== undefined) child.stdin?.end(input);
  });
}

/**
 * The zones both DNS workers of a 2-worker platform serve (`switchboard_dns_zones_served` on
 * /metrics: no DNS query sent), once both report the same count — `want` when given. A worker
 * reports every second; its first report comes when it serves.
 */
export async function waitForZonesServed(p: Platform, want?: number, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const exp = parseExposition(await (await fetch(`${p.api}/metrics`)).text());
    const w0 = sampleValue(exp, 'switchboard_dns_zones_served', { worker: '0' });
    const w1 = sampleValue(exp, 'switchboard_dns_zones_served', { worker: '1' });
    if (w0 !== undefined && w0 === w1 && (want === undefined || w0 === want)) return w0;
    if (Date.now() > deadline)
      throw new Error(
        `the workers report ${w0} and ${w1} zones served${want === undefined ? '' : `, want ${want}`}`,
      );
    await new Promise((r) => setTimeout(r, 20));
  }
}
