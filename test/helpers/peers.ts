/**
 * Starts and stops the servers that tests and benchmarks compare: NSD, Knot and Switchboard,
 * each on a free loopback port with a config and run directory in a temp folder. They run in
 * the foreground as our children, are stopped by PID, and never touch system services.
 * @module
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import {
  accessSync,
  constants,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { atCleanup, killAtCleanup, killQuietly } from './cleanup.js';
import { assertLoopback, buildQuery, readHeader } from './dns-client.js';
import { listDescendants } from './procs.js';
import { skipOrFail } from './require-peers.js';

export {
  clockTicksPerSecond,
  isAlive,
  listChildren,
  listDescendants,
  type ProcStat,
  procStatusBytes,
  readProcStat,
  treeCpuSeconds,
} from './procs.js';

/** One zone to serve: its origin (absolute, with final dot) and its zone file. */
export interface ZoneSpec {
  origin: string;
  file: string;
}

/** A running server. */
export interface Peer {
  readonly name: 'nsd' | 'knot' | 'bind' | 'switchboard' | 'trivial';
  readonly host: string;
  readonly port: number;
  /** PID of the main process (the one we spawned). */
  readonly pid: number;
  /** Temp folder holding its config and run files (removed by `stop`). */
  readonly dir: string;
  /** What it printed on stdout and stderr so far (for failure messages). */
  output(): string;
  /** Stops it (SIGTERM, then SIGKILL after a grace period) and removes its temp folder. */
  stop(): Promise<void>;
}

/** Common start options. */
export interface StartOptions {
  host?: string;
  /** Default: a free port. */
  port?: number;
  /** Pin the server to this CPU with taskset (benchmarks). */
  cpu?: number;
  /** How long to wait until it answers the first zone's SOA. Default 30 s. */
  readyTimeoutMs?: number;
  /** Extra environment for the process (added to this one's). */
  env?: Record<string, string>;
  /**
   * (tidy25) Also wait, within `readyTimeoutMs`, for a line of the process's output matching this
   * (a server's own "ready" line: Switchboard's start line comes once every worker's UDP and TCP
   * listeners accept, where the first UDP answer may come before a worker's TCP listener).
   */
  readyLine?: RegExp;
}

/** Absolute path of an executable found on PATH (plus the sbin folders), or undefined. */
export function findCommand(cmd: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/** What is missing of `cmds` (as a sentence saying how to install it), or false when all are there. */
export function missingCommands(...cmds: string[]): false | string {
  const missing = cmds.filter((c) => !findCommand(c));
  return missing.length === 0
    ? false
    : `not installed: ${missing.join(', ')} (run scripts/install-test-deps.sh as root)`;
}

/**
 * For test files: a skip reason when any of `cmds` is missing, else false (pass to node:test's
 * `skip`); with SWITCHBOARD_REQUIRE_PEERS=1 a missing command also fails the run (require-peers.ts).
 */
export function skipUnlessCommands(...cmds: string[]): false | string {
  return skipOrFail(missingCommands(...cmds));
}

/** The Switchboard CLI to run: $SWITCHBOARD_BIN or dist/src/cli/main.js, from the repo root. */
export function switchboardBin(): string {
  return resolve(process.env.SWITCHBOARD_BIN ?? 'dist/src/cli/main.js');
}

/**
 * The lowest port of the kernel's ephemeral range (`net.ipv4.ip_local_port_range`), 32768 when
 * it cannot be read.
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32768;
  } catch {
    return 32768;
  }
}

const FIRST_TEST_PORT = 20000;

async function tcpFree(port: number, host: string): Promise<boolean> {
  return new Promise<boolean>((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, host, () => srv.close(() => res(true)));
  });
}

async function udpFree(port: number, host: string): Promise<boolean> {
  return new Promise<boolean>((res) => {
    const s = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    s.once('error', () => res(false));
    s.bind(port, host, () => s.close(() => res(true)));
  });
}

/**
 * A port free for both UDP and TCP on `host`, drawn at random BELOW the kernel's ephemeral
 * range: a port the kernel handed out for `listen(0)` can be taken again, between this check
 * and the server's bind, as the local port of any outgoing connection of the tests running in
 * parallel (a server's start then failed `bind EADDRINUSE`, 2026-12-05). Below that range only
 * another test's explicit choice can collide, one chance in ~12,000 per pair.
 */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  assertLoopback(host);
  const low = ephemeralLow();
  const span = low - FIRST_TEST_PORT;
  for (let attempt = 0; attempt < 100; attempt++) {
    const port =
      span >= 1000
        ? FIRST_TEST_PORT + Math.floor(Math.random() * span)
        : await new Promise<number>((res, rej) => {
            // No room below the ephemeral range: the kernel's choice, as before.
            const srv = createServer();
            srv.once('error', rej);
            srv.listen(0, host, () => {
              const addr = srv.address();
              srv.close(() => res(typeof addr === 'object' && addr ? addr.port : 0));
            });
          });
    if (port > 0 && (await tcpFree(port, host)) && (await udpFree(port, host))) return port;
  }
  throw new Error('no free port found');
}

/**
 * Zone specs for every `*.zone` file in `dir`: the origin is the file's `$ORIGIN`, or the
 * file name minus `.zone` (the Switchboard CLI's rule).
 */
export function listZoneFiles(dir: string): ZoneSpec[] {
  const out: ZoneSpec[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.zone')) continue;
    const file = resolve(dir, f);
    const m = /^\$ORIGIN\s+(\S+)/m.exec(readFileSync(file, 'latin1'));
    let origin = m ? m[1] : basename(f, '.zone');
    if (!origin.endsWith('.')) origin += '.';
    out.push({ origin, file });
  }
  return out;
}

/** Resolves once `name` SOA gets a response from the server (any rcode). */
export async function waitForAnswer(
  host: string,
  port: number,
  name: string,
  timeoutMs: number,
  alive: () => boolean,
): Promise<void> {
  assertLoopback(host);
  // One socket asks every 20 ms and takes any answer, however late: a server busy loading is
  // seen answering within ~20 ms of its first answer (a try-then-wait loop saw it only in
  // 300-400 ms steps, so the zone-load suite could not tell gains under ~0.4 s), and a loaded
  // machine's slow first answer still counts (no per-try timeout throws it away).
  const query = buildQuery({ name, type: 6, edns: { udpSize: 1232 } });
  const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (error?: Error): void => {
        if (done) return;
        done = true;
        if (timer !== undefined) clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      const deadline = Date.now() + timeoutMs;
      socket.on('message', (msg) => {
        try {
          if (readHeader(msg).qr) finish();
        } catch {
          // not a DNS answer: keep asking
        }
      });
      // ICMP port unreachable (nothing bound yet) surfaces as an error on some kernels: ignore.
      socket.on('error', () => {});
      const ask = (): void => {
        if (done) return;
        if (!alive()) {
          finish(new Error('server exited before it answered'));
          return;
        }
        if (Date.now() >= deadline) {
          finish(new Error(`no answer for ${name} SOA on ${host}:${port} within ${timeoutMs} ms`));
          return;
        }
        socket.send(query, port, host, () => {});
        timer = setTimeout(ask, 20);
      };
      socket.bind(0, isIP(host) === 6 ? '::1' : '127.0.0.1', ask);
    });
  } finally {
    socket.close();
  }
}

export async function launch(
  name: Peer['name'],
  argv: string[],
  dir: string,
  host: string,
  port: number,
  firstOrigin: string,
  opts: StartOptions,
): Promise<Peer> {
  const cmd = opts.cpu !== undefined ? ['taskset', '-c', String(opts.cpu), ...argv] : argv;
  const child = spawn(cmd[0], cmd.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
  });
  // Whatever ends this process (exit, SIGINT, SIGTERM) ends the server and removes its folder.
  const unkill = killAtCleanup(child);
  const unremove = atCleanup(() => rmSync(dir, { recursive: true, force: true }));
  let out = '';
  // The ready line, seen as the output comes (the tail kept below may lose it later).
  let sawLine = opts.readyLine === undefined;
  let onLine: (() => void) | undefined;
  const keep = (d: Buffer): void => {
    // Keep the tail only: a long run must not grow memory without bound.
    out = (out + d.toString('utf8')).slice(-20000);
    if (!sawLine && opts.readyLine?.test(out)) {
      sawLine = true;
      onLine?.();
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  const exitPromise = new Promise<void>((res) => {
    child.once('exit', () => {
      exited = true;
      res();
    });
    child.once('error', (e) => {
      out += `\nspawn error: ${e.message}`;
      exited = true;
      res();
    });
  });
  const stop = async (): Promise<void> => {
    const descendants = child.pid ? listDescendants(child.pid) : [];
    if (!exited && child.pid) {
      killQuietly(child.pid, 'SIGTERM');
      const timer = setTimeout(() => child.pid && killQuietly(child.pid, 'SIGKILL'), 5000);
      await exitPromise;
      clearTimeout(timer);
    }
    // Children that outlived their parent (a worker, NSD's xfrd): stop them by PID.
    for (const pid of descendants) killQuietly(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    unkill();
    unremove();
  };
  try {
    const t0 = Date.now();
    const timeoutMs = opts.readyTimeoutMs ?? 30000;
    await waitForAnswer(host, port, firstOrigin, timeoutMs, () => !exited);
    if (!sawLine) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no line matching ${opts.readyLine} within ${timeoutMs} ms`)),
          Math.max(0, timeoutMs - (Date.now() - t0)),
        );
        const done = () => {
          clearTimeout(timer);
          if (sawLine) resolve();
          else reject(new Error(`exited before a line matching ${opts.readyLine}`));
        };
        onLine = done;
        void exitPromise.then(done);
        if (sawLine) done();
      });
    }
  } catch (e) {
    await stop();
    throw new Error(`${name} did not start: ${(e as Error).message}\n${argv.join(' ')}\n${out}`);
  }
  return { name, host, port, pid: child.pid!, dir, output: () => out, stop };
}

/** A TSIG key as NSD and Knot configure one (secret base64). */
export interface TsigKeySpec {
  name: string;
  algorithm: string;
  secret: string;
}

/**
 * Serve the zones as a secondary of `primary` (`HOST@PORT`), transferring them (with `key`
 * when given) instead of loading their files: ready once the first zone's SOA is answered.
 */
export interface SecondaryOf {
  primary: string;
  key?: TsigKeySpec;
  /** Take NOTIFY from the primary's address (with `key` when given); log transfers (info). */
  allowNotify?: boolean;
}

/** Options for NSD. */
export interface NsdOptions extends StartOptions {
  secondary?: SecondaryOf;
  /** Let this address transfer (AXFR) the zones unsigned (benchmarks). */
  provideXfr?: string;
  /** NSD `server-count` (server processes). Default 1. */
  serverCount?: number;
  /** `rrl-ratelimit` (responses per second per /24); default 0 = RRL off. */
  rrlRatelimit?: number;
  /**
   * Serve the zones as a primary with signed transfers: `provide-xfr` to `to` with `key`, and
   * NOTIFY (signed) to `notify` (`HOST@PORT`) when given.
   */
  primaryTo?: { to: string; key: TsigKeySpec; notify?: string };
}

/** Starts NSD (`nsd -d -c FILE`) serving `zones`, with RRL off (unless `rrlRatelimit`) so tests and load are not rate limited. */
export async function startNsd(zones: ZoneSpec[], opts: NsdOptions = {}): Promise<Peer> {
  const host = opts.host ?? '127.0.0.1';
  assertLoopback(host);
  const port = opts.port ?? (await findFreePort(host));
  const dir = mkdtempSync(join(tmpdir(), 'sb-nsd-'));
  const sec = opts.secondary;
  const conf = [
    'server:',
    `  ip-address: ${host}@${port}`,
    `  port: ${port}`,
    '  username: ""',
    '  chroot: ""',
    '  database: ""',
    `  zonesdir: "${dir}"`,
    `  pidfile: "${join(dir, 'nsd.pid')}"`,
    `  xfrdfile: "${join(dir, 'xfrd.state')}"`,
    `  zonelistfile: "${join(dir, 'zone.list')}"`,
    `  xfrdir: "${dir}"`,
    `  logfile: "${join(dir, 'nsd.log')}"`,
    `  server-count: ${opts.serverCount ?? 1}`,
    `  verbosity: ${sec?.allowNotify ? 2 : 0}`,
    `  rrl-ratelimit: ${opts.rrlRatelimit ?? 0}`,
    '  zonefiles-write: 0',
    'remote-control:',
    '  control-enable: no',
    ...((k) =>
      k ? ['key:', `  name: "${k.name}"`, `  algorithm: ${k.algorithm}`, `  secret: "${k.secret}"`] : [])(
      sec?.key ?? opts.primaryTo?.key,
    ),
    ...zones.flatMap((z) =>
      sec
        ? [
            'zone:',
            `  name: "${z.origin}"`,
            `  request-xfr: ${sec.primary} ${sec.key ? sec.key.name : 'NOKEY'}`,
            ...(sec.allowNotify
              ? [`  allow-notify: ${sec.primary.split('@')[0]} ${sec.key ? sec.key.name : 'NOKEY'}`]
              : []),
          ]
        : [
            'zone:',
            `  name: "${z.origin}"`,
            `  zonefile: "${z.file}"`,
            ...(opts.provideXfr ? [`  provide-xfr: ${opts.provideXfr} NOKEY`] : []),
            ...(opts.primaryTo
              ? [
                  `  provide-xfr: ${opts.primaryTo.to} ${opts.primaryTo.key.name}`,
                  ...(opts.primaryTo.notify
                    ? [`  notify: ${opts.primaryTo.notify} ${opts.primaryTo.key.name}`]
                    : []),
                ]
              : []),
          ],
    ),
    '',
  ].join('\n');
  const file = join(dir, 'nsd.conf');
  writeFileSync(file, conf);
  const nsd = findCommand('nsd') ?? 'nsd';
  return launch('nsd', [nsd, '-d', '-c', file], dir, host, port, zones[0].origin, opts);
}

/**
 * The `server:`, `log:` and `database:` sections of a knot.conf for a Knot run in `dir`,
 * listening on `listen` (`HOST@PORT`): the part every Knot the tests start has in common.
 */
export function knotServerSections(
  dir: string,
  listen: string,
  opts: { workers?: number; log?: 'info' | 'error' } = {},
): string[] {
  const workers = opts.workers ?? 1;
  return [
    'server:',
    `    rundir: "${dir}"`,
    `    listen: ${listen}`,
    `    udp-workers: ${workers}`,
    `    tcp-workers: ${workers}`,
    '    background-workers: 1',
    'log:',
    '  - target: stderr',
    `    any: ${opts.log ?? 'info'}`,
    'database:',
    `    storage: "${dir}"`,
  ];
}

/**
 * A knot.conf for a Knot in `dir` serving one zone from `file` with a journal of its changes
 * (`zonefile-load: difference`: a `knotc zone-reload` after the file changed makes an IXFR
 * difference), transfers allowed from 127.0.0.0/8 with TSIG key `key` (hmac-sha256), and
 * NOTIFY sent to `notify` (`HOST@PORT`) signed with it: a primary that answers IXFR from its
 * journal, for the secondaries' tests.
 */
export function knotJournalPrimaryConf(
  dir: string,
  listen: string,
  zone: { domain: string; file: string },
  key: { id: string; secret: string },
  notify: string,
): string {
  return [
    ...knotServerSections(dir, listen),
    'key:',
    `  - id: ${key.id}`,
    '    algorithm: hmac-sha256',
    `    secret: ${key.secret}`,
    'remote:',
    '  - id: secondary',
    `    address: ${notify}`,
    `    key: ${key.id}`,
    'acl:',
    '  - id: xfr',
    '    address: 127.0.0.0/8',
    `    key: ${key.id}`,
    '    action: transfer',
    'zone:',
    `  - domain: ${zone.domain}`,
    `    file: "${zone.file}"`,
    `    storage: "${dir}"`,
    '    semantic-checks: off',
    '    zonefile-sync: -1',
    '    zonefile-load: difference',
    '    journal-content: changes',
    '    acl: xfr',
    '    notify: secondary',
    '',
  ].join('\n');
}

/** Options for Knot. */
export interface KnotOptions extends StartOptions {
  /** Knot `udp-workers` / `tcp-workers`. Default 1 each. */
  workers?: number;
  /** Module sections (e.g. a `mod-cookies:` block), lines placed before `template:`. */
  moduleSections?: string[];
  /** `global-module:` of the default template (e.g. `mod-cookies/default`). */
  globalModule?: string;
  secondary?: SecondaryOf;
  /** Let this address transfer (AXFR) the zones unsigned (benchmarks). */
  provideXfr?: string;
  /**
   * As NsdOptions.primaryTo: signed transfers to `to`, NOTIFY (signed) to `notify` (`HOST@PORT`);
   * with `dynamic`, signed UPDATEs from `to` too, kept in Knot's journal (so it answers IXFR).
   */
  primaryTo?: { to: string; key: TsigKeySpec; notify?: string; dynamic?: boolean };
  /** `dnssec-signing: on` for the zones served from files: Knot makes keys and signs (default policy). */
  dnssecSigning?: boolean;
}

/** Starts knotd in the foreground serving `zones` (no journal, no zone file write-back). */
export async function startKnot(zones: ZoneSpec[], opts: KnotOptions = {}): Promise<Peer> {
  const host = opts.host ?? '127.0.0.1';
  assertLoopback(host);
  const port = opts.port ?? (await findFreePort(host));
  const dir = mkdtempSync(join(tmpdir(), 'sb-knot-'));
  const workers = opts.workers ?? 1;
  const sec = opts.secondary;
  const conf = [
    ...knotServerSections(dir, `${host}@${port}`, { workers, log: sec?.allowNotify ? 'info' : 'error' }),
    ...(opts.moduleSections ?? []),
    ...((k) =>
      k ? ['key:', `  - id: ${k.name}`, `    algorithm: ${k.algorithm}`, `    secret: ${k.secret}`] : [])(
      sec?.key ?? opts.primaryTo?.key,
    ),
    ...(opts.primaryTo
      ? [
          ...(opts.primaryTo.notify
            ? [
                'remote:',
                '  - id: notify-target',
                `    address: ${opts.primaryTo.notify}`,
                `    key: ${opts.primaryTo.key.name}`,
              ]
            : []),
          'acl:',
          '  - id: signed-xfr',
          `    address: ${opts.primaryTo.to}`,
          `    key: ${opts.primaryTo.key.name}`,
          opts.primaryTo.dynamic ? '    action: [transfer, update]' : '    action: transfer',
        ]
      : []),
    ...(sec
      ? [
          'remote:',
          '  - id: primary',
          `    address: ${sec.primary}`,
          ...(sec.key ? [`    key: ${sec.key.name}`] : []),
          ...(sec.allowNotify
            ? [
                'acl:',
                '  - id: notify-from-primary',
                `    address: ${sec.primary.split('@')[0]}`,
                '    action: notify',
                ...(sec.key ? [`    key: ${sec.key.name}`] : []),
              ]
            : []),
        ]
      : []),
    ...(opts.provideXfr
      ? ['acl:', '  - id: provide-xfr', `    address: ${opts.provideXfr}`, '    action: transfer']
      : []),
    'template:',
    '  - id: default',
    `    storage: "${dir}"`,
    '    semantic-checks: off',
    '    zonefile-sync: -1',
    '    zonefile-load: whole',
    `    journal-content: ${opts.primaryTo?.dynamic ? 'changes' : 'none'}`,
    ...(opts.provideXfr ? ['    acl: provide-xfr'] : []),
    ...(opts.globalModule ? [`    global-module: ${opts.globalModule}`] : []),
    'zone:',
    ...zones.flatMap((z) =>
      sec
        ? [
            `  - domain: "${z.origin}"`,
            `    file: "${join(dir, `${z.origin}zone`)}"`,
            '    master: primary',
            ...(sec.allowNotify ? ['    acl: notify-from-primary'] : []),
          ]
        : [
            `  - domain: "${z.origin}"`,
            `    file: "${z.file}"`,
            ...(opts.dnssecSigning ? ['    dnssec-signing: on'] : []),
            ...(opts.primaryTo
              ? ['    acl: signed-xfr', ...(opts.primaryTo.notify ? ['    notify: notify-target'] : [])]
              : []),
          ],
    ),
    '',
  ].join('\n');
  const file = join(dir, 'knot.conf');
  writeFileSync(file, conf);
  const knotd = findCommand('knotd') ?? 'knotd';
  return launch('knot', [knotd, '-c', file], dir, host, port, zones[0].origin, opts);
}

/** Options for BIND 9. */
export interface BindOptions extends StartOptions {
  secondary?: SecondaryOf;
  /**
   * Serve the zones as a primary: transfers to `to` signed with `key`, NOTIFY (signed) to
   * `notify` (`HOST@PORT`) when given; with `dynamic`, the zones take signed UPDATEs (BIND then
   * keeps a journal, so it answers IXFR).
   */
  primaryTo?: { to: string; key: TsigKeySpec; notify?: string; dynamic?: boolean };
  /** More statements for the `options { }` block, e.g. `rate-limit { responses-per-second 5; };`. */
  options?: string[];
}

/** `HOST@PORT` as BIND writes an address with a port. */
function bindAddress(at: string): string {
  const [host, port] = at.split('@');
  return port ? `${host} port ${port}` : host;
}

/**
 * Starts BIND 9 (`named -g -c FILE`, foreground, logging to stderr) serving `zones` on
 * `host:port`, recursion off; as a secondary of `opts.secondary.primary` or a primary
 * (`opts.primaryTo`). Its files live in a folder of its own, removed by `stop`.
 */
export async function startBind(zones: ZoneSpec[], opts: BindOptions = {}): Promise<Peer> {
  const host = opts.host ?? '127.0.0.1';
  assertLoopback(host);
  const port = opts.port ?? (await findFreePort(host));
  const dir = mkdtempSync(join(tmpdir(), 'sb-bind-'));
  const sec = opts.secondary;
  const pri = opts.primaryTo;
  const key = sec?.key ?? pri?.key;
  const conf = [
    'options {',
    `  directory "${dir}";`,
    `  pid-file "${join(dir, 'named.pid')}";`,
    `  session-keyfile "${join(dir, 'session.key')}";`,
    `  managed-keys-directory "${dir}";`,
    `  listen-on port ${port} { ${host}; };`,
    '  listen-on-v6 { none; };',
    '  recursion no;',
    '  dnssec-validation no;',
    '  allow-query { any; };',
    `  notify ${pri?.notify ? 'explicit' : 'no'};`,
    // NOTIFY at once after a change (BIND waits 5 s by default).
    '  notify-delay 0;',
    // Transfers from the primary at once, not after BIND's start-up jitter.
    '  serial-query-rate 100;',
    ...(opts.options ?? []).map((o) => `  ${o}`),
    '};',
    'controls { };',
    ...(key
      ? [`key "${key.name}" {`, `  algorithm ${key.algorithm};`, `  secret "${key.secret}";`, '};']
      : []),
    ...zones.flatMap((z) =>
      sec
        ? [
            `zone "${z.origin}" {`,
            '  type secondary;',
            `  file "${join(dir, `${z.origin}zone`)}";`,
            `  primaries { ${bindAddress(sec.primary)}${sec.key ? ` key "${sec.key.name}"` : ''}; };`,
            ...(sec.allowNotify ? [`  allow-notify { ${sec.primary.split('@')[0]}; };`] : []),
            '};',
          ]
        : [
            `zone "${z.origin}" {`,
            '  type primary;',
            // A dynamic zone is written by BIND (its journal next to it): work on a copy.
            `  file "${pri?.dynamic ? join(dir, `${z.origin}zone`) : z.file}";`,
            ...(pri
              ? [
                  `  allow-transfer { key "${pri.key.name}"; };`,
                  ...(pri.notify
                    ? [`  also-notify { ${bindAddress(pri.notify)} key "${pri.key.name}"; };`]
                    : []),
                  ...(pri.dynamic ? [`  allow-update { key "${pri.key.name}"; };`] : []),
                ]
              : ['  allow-transfer { any; };']),
            '};',
          ],
    ),
    '',
  ].join('\n');
  if (pri?.dynamic) for (const z of zones) writeFileSync(join(dir, `${z.origin}zone`), readFileSync(z.file));
  const file = join(dir, 'named.conf');
  writeFileSync(file, conf);
  const named = findCommand('named') ?? 'named';
  // -g: foreground, log to stderr; -4: IPv4 only; -n 1: one worker thread (these are 2 cores).
  return launch('bind', [named, '-g', '-4', '-n', '1', '-c', file], dir, host, port, zones[0].origin, opts);
}

/** Options for Switchboard. */
export interface SwitchboardOptions extends StartOptions {
  /** `--workers N`; omitted: the CLI's default. */
  workers?: number;
  /** The CLI script; default `switchboardBin()`. */
  bin?: string;
  /** Extra Node flags (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** `--io native|node`; omitted: the CLI's default (auto, or SWITCHBOARD_IO). */
  io?: 'native' | 'node';
  /** More `serve` flags (e.g. `--native-answers`). */
  args?: string[];
  /**
   * (tidy25) Whether the start also waits for the start line ("switchboard: serving … (udp+tcp)"),
   * printed once every worker's UDP and TCP listeners accept — the first UDP answer can come from
   * a worker whose TCP listener is not up yet, or before the other workers are. Default true;
   * benchmarks that time the start to the first answer pass false.
   */
  waitForStartLine?: boolean;
  /**
   * The origin probed to tell the server is up; default: the first zone file's, found by
   * reading every file of the folder (a benchmark that knows it passes it, so that listing
   * 100,000 files is not timed as the server's start).
   */
  firstOrigin?: string;
}

/** Starts `node BIN serve --zone-dir DIR --listen HOST:PORT [--workers N]`. */
export async function startSwitchboard(zoneDir: string, opts: SwitchboardOptions = {}): Promise<Peer> {
  const host = opts.host ?? '127.0.0.1';
  assertLoopback(host);
  const port = opts.port ?? (await findFreePort(host));
  const dir = mkdtempSync(join(tmpdir(), 'sb-switchboard-'));
  const argv = [
    process.execPath,
    ...(opts.nodeArgs ?? []),
    opts.bin ?? switchboardBin(),
    'serve',
    '--zone-dir',
    resolve(zoneDir),
    '--listen',
    isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`,
  ];
  if (opts.workers !== undefined) argv.push('--workers', String(opts.workers));
  if (opts.io !== undefined) argv.push('--io', opts.io);
  if (opts.args) argv.push(...opts.args);
  const first = opts.firstOrigin ?? listZoneFiles(zoneDir)[0]?.origin ?? '.';
  const readyLine = opts.waitForStartLine === false ? undefined : (opts.readyLine ?? SWITCHBOARD_START_LINE);
  return launch('switchboard', argv, dir, host, port, first, { ...opts, readyLine });
}

/** `serve`'s start line (src/server/serve/report.ts formatStartLine). */
export const SWITCHBOARD_START_LINE = /switchboard: serving .* \(udp\+tcp\)/;

/**
 * Starts bench/trivial-responder (the do-nothing Node UDP responder benchmarks compare with),
 * from the build folder this file was compiled into.
 */
export async function startTrivialResponder(opts: StartOptions = {}): Promise<Peer> {
  const host = opts.host ?? '127.0.0.1';
  assertLoopback(host);
  const port = opts.port ?? (await findFreePort(host));
  const dir = mkdtempSync(join(tmpdir(), 'sb-trivial-'));
  const script = fileURLToPath(new URL('../../bench/trivial-responder.js', import.meta.url));
  const argv = [process.execPath, script, '--listen', `${host}:${port}`, '--max-seconds', '7200'];
  return launch('trivial', argv, dir, host, port, 'bench.test.', opts);
}
