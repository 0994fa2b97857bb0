/**
 * Helpers for the ACME DNS-01 interop test and the control-plane benchmark: a throw-away CA
 * for pebble's HTTPS listener (Debian's pebble package does not ship upstream's test
 * certificates), pebble and lego run as our children, and `switchboard start` on free loopback
 * ports with its own data folder. Every child is stopped by PID; nothing listens beyond loopback.
 * @module
 */

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { killAtCleanup, killQuietly } from './cleanup.js';
import { assertLoopback } from './dns-client.js';
import { findCommand, findFreePort, listDescendants, missingCommands } from './peers.js';
import { startPlatform } from './platform.js';
import { skipOrFail } from './require-peers.js';

/** What is missing of lego, pebble and openssl, or false when all are installed. */
export function acmeToolsMissing(): false | string {
  return missingCommands('lego', 'pebble', 'openssl');
}

/** For test files: skip (or, with SWITCHBOARD_REQUIRE_PEERS=1, fail) when the ACME tools are missing. */
export function skipUnlessAcmeTools(): false | string {
  return skipOrFail(acmeToolsMissing());
}

/** Environment for children: no proxy can divert their loopback traffic. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (/^(https?|all|no)_proxy$/i.test(k)) delete env[k];
  return { ...env, NO_PROXY: '127.0.0.1,localhost,::1', ...extra };
}

/** A child process we started: its output tail, and a stop that never leaves it behind. */
export interface Child {
  readonly pid: number;
  readonly argv: readonly string[];
  /** Everything it printed so far (the last 64 KiB). */
  output(): string;
  /** True once it exited. */
  exited(): boolean;
  /** Resolves with its exit code (null when killed by a signal). */
  readonly done: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; also kills descendants that outlived it. */
  stop(graceMs?: number): Promise<void>;
}

/** Spawns `argv` with `env` added, keeping the tail of its output. */
export function spawnChild(argv: readonly string[], env: Record<string, string> = {}, cwd?: string): Child {
  const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv(env), cwd });
  // Whatever ends this process (exit, SIGINT, SIGTERM) ends the child and its descendants.
  const unkill = killAtCleanup(proc);
  let out = '';
  const keep = (d: Buffer): void => {
    out = (out + d.toString('utf8')).slice(-65536);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  let isDone = false;
  const done = new Promise<number | null>((res) => {
    proc.once('exit', (code) => {
      isDone = true;
      res(code);
    });
    proc.once('error', (e) => {
      out += `\nspawn error: ${e.message}`;
      isDone = true;
      res(null);
    });
  });
  const stop = async (graceMs = 5000): Promise<void> => {
    const descendants = proc.pid ? listDescendants(proc.pid) : [];
    if (!isDone && proc.pid) {
      killQuietly(proc.pid, 'SIGTERM');
      const timer = setTimeout(() => proc.pid && killQuietly(proc.pid, 'SIGKILL'), graceMs);
      await done;
      clearTimeout(timer);
    }
    // Workers that outlived their primary: stop them by PID.
    for (const pid of descendants) killQuietly(pid, 'SIGKILL');
    unkill();
  };
  return { pid: proc.pid ?? -1, argv, output: () => out, exited: () => isDone, done, stop };
}

/** Runs `argv` to completion, killing it after `timeoutMs`. */
export async function runChild(
  argv: readonly string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ code: number | null; output: string; timedOut: boolean }> {
  const child = spawnChild(argv, env);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void child.stop(2000);
  }, timeoutMs);
  const code = await child.done;
  clearTimeout(timer);
  await child.stop();
  return { code, output: child.output(), timedOut };
}

/** A throw-away CA and a certificate for 127.0.0.1 / localhost signed by it. */
export interface TestCa {
  /** PEM of the CA certificate (what clients must trust). */
  caCert: string;
  /** Server certificate and key (PEM files). */
  serverCert: string;
  serverKey: string;
}

/** Creates a CA and a loopback server certificate with openssl in `dir` (valid 2 days). */
export function makeTestCa(dir: string): TestCa {
  mkdirSync(dir, { recursive: true });
  const p = (f: string): string => join(dir, f);
  const openssl = (args: string[]): void => {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=switchboard test CA',
  ]);
  openssl(['req', ...ec, '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=localhost']);
  // Go's TLS stack (pebble, lego) checks the SAN, not the CN.
  writeFileSync(
    p('server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  );
  openssl([
    'x509',
    '-req',
    '-in',
    p('server.csr'),
    '-CA',
    p('ca.pem'),
    '-CAkey',
    p('ca.key'),
    '-CAcreateserial',
    '-out',
    p('server.pem'),
    '-days',
    '2',
    '-extfile',
    p('server.ext'),
  ]);
  return { caCert: p('ca.pem'), serverCert: p('server.pem'), serverKey: p('server.key') };
}

/** A running pebble. */
export interface Pebble extends Child {
  /** The ACME directory URL (`https://127.0.0.1:PORT/dir`). */
  readonly directory: string;
  /** The management interface (`https://127.0.0.1:PORT`): `/roots/0` is the issuing root. */
  readonly management: string;
}

/**
 * Starts pebble on free loopback ports, resolving challenges against `dnsServer` (HOST:PORT),
 * with its HTTPS certificate from `ca`. Resolves once its directory answers.
 */
export async function startPebble(opts: { dir: string; dnsServer: string; ca: TestCa }): Promise<Pebble> {
  assertLoopback(opts.dnsServer.replace(/:\d+$/, ''));
  const [port, mgmt, httpPort, tlsPort] = [
    await findFreePort(),
    await findFreePort(),
    await findFreePort(),
    await findFreePort(),
  ];
  const config = join(opts.dir, 'pebble.json');
  writeFileSync(
    config,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${port}`,
        managementListenAddress: `127.0.0.1:${mgmt}`,
        certificate: opts.ca.serverCert,
        privateKey: opts.ca.serverKey,
        // Only DNS-01 is used; these ports are where HTTP-01 / TLS-ALPN-01 would be checked.
        httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  const child = spawnChild(
    [findCommand('pebble') ?? 'pebble', '-config', config, '-dnsserver', opts.dnsServer],
    // No random validation sleeps, no rejected nonces: the test stays fast and deterministic.
    { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' },
  );
  const directory = `https://127.0.0.1:${port}/dir`;
  const ca = readFileSync(opts.ca.caCert);
  const deadline = Date.now() + 15000;
  for (;;) {
    if (child.exited()) throw new Error(`pebble exited at start:\n${child.output()}`);
    const status = await httpsGet(directory, ca).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) break;
    if (Date.now() > deadline) {
      await child.stop();
      throw new Error(`pebble did not answer at ${directory}:\n${child.output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { ...child, directory, management: `https://127.0.0.1:${mgmt}` };
}

/** GETs `url` over HTTPS trusting only `ca`; resolves with the status and body. */
export function httpsGet(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const req = httpsRequest(url, { ca, timeout: 5000 }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (d: string) => {
        body += d;
      });
      r.on('end', () => res({ status: r.statusCode ?? 0, body }));
      r.on('error', rej);
    });
    req.on('error', rej);
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.end();
  });
}

/**
 * Where lego writes the challenge TXT: its `pdns` provider (the PowerDNS-compatible API) or its
 * `rfc2136` provider (DNS UPDATEs signed with a TSIG key, RFC 2136 + RFC 8945).
 */
export type LegoProvider =
  | { name: 'pdns' /** `http://127.0.0.1:PORT`. */; apiUrl: string; apiKey: string }
  | {
      name: 'rfc2136';
      /** HOST:PORT that receives the signed UPDATEs. */
      nameserver: string;
      tsig: { name: string; algorithm: string; secret: string };
    };

/** What lego needs to obtain a certificate through a DNS-01 challenge. */
export interface LegoRun {
  /** ACME directory (pebble). */
  server: string;
  /** CA certificate file lego must trust for the ACME server's HTTPS. */
  caCert: string;
  /** HOST:PORT of the DNS server lego asks for the zone's SOA. */
  resolver: string;
  domain: string;
  /** Where lego keeps its account and certificates. */
  path: string;
  provider: LegoProvider;
  timeoutMs?: number;
}

/** The command line of `lego … run` for `r` (without the environment). */
export function legoArgs(r: Omit<LegoRun, 'timeoutMs'>): string[] {
  return [
    findCommand('lego') ?? 'lego',
    '--server',
    r.server,
    '--accept-tos',
    '--email',
    `acme@${r.domain}`,
    '--dns',
    r.provider.name,
    // lego finds the zone by SOA queries to its resolvers: ask Switchboard itself.
    '--dns.resolvers',
    r.resolver,
    // Its pre-check would ask the zone's NS names (not resolvable here); pebble checks anyway.
    '--dns.disable-cp',
    '--domains',
    r.domain,
    '--path',
    r.path,
    'run',
  ];
}

/** lego's environment for `provider`: where to write, and the same TTL and polling for both. */
function legoProviderEnv(provider: LegoProvider): Record<string, string> {
  const own: Record<string, string> =
    provider.name === 'pdns'
      ? { PDNS_API_URL: provider.apiUrl, PDNS_API_KEY: provider.apiKey }
      : {
          RFC2136_NAMESERVER: provider.nameserver,
          RFC2136_TSIG_KEY: provider.tsig.name,
          RFC2136_TSIG_ALGORITHM: provider.tsig.algorithm,
          RFC2136_TSIG_SECRET: provider.tsig.secret,
        };
  const prefix = provider.name === 'pdns' ? 'PDNS' : 'RFC2136';
  return {
    ...own,
    [`${prefix}_TTL`]: '120',
    [`${prefix}_PROPAGATION_TIMEOUT`]: '30',
    [`${prefix}_POLLING_INTERVAL`]: '1',
  };
}

/** Runs lego's DNS-01 flow with `r.provider`; resolves with its exit code and output. */
export function runLego(r: LegoRun): Promise<{ code: number | null; output: string; timedOut: boolean }> {
  assertLoopback(r.resolver.replace(/:\d+$/, ''));
  if (r.provider.name === 'rfc2136') assertLoopback(r.provider.nameserver.replace(/:\d+$/, ''));
  return runChild(
    legoArgs(r),
    { LEGO_CA_CERTIFICATES: r.caCert, ...legoProviderEnv(r.provider) },
    r.timeoutMs ?? 120000,
  );
}

/** A running `switchboard start`, as the ACME test and the control-plane benchmark use it. */
export interface SwitchboardServer {
  readonly pid: number;
  readonly dnsHost: string;
  readonly dnsPort: number;
  /** `http://127.0.0.1:PORT`. */
  readonly apiUrl: string;
  readonly apiKey: string;
  /** What it printed so far (stdout, then the tail of stderr). */
  output(): string;
  /** True once the primary exited. */
  exited(): boolean;
  stop(): Promise<void>;
}

/** Options of `startSwitchboardServer`. */
export interface StartServerOptions {
  /** `--data DIR` (SQLite). */
  dataDir: string;
  /** `--database URL` (PostgreSQL) instead of SQLite. */
  database?: string;
  /** SWITCHBOARD_API_KEY: the administrator key seeded at start. */
  apiKey: string;
  /** `--workers N`; default 1 (the machine is small). */
  workers?: number;
  /** Pin the server's processes to these CPUs with taskset (benchmarks), e.g. '1'. */
  cpus?: string;
  /** How long to wait until it serves. Default 60 s. */
  readyTimeoutMs?: number;
  /** More `switchboard start` flags (e.g. NO_LIMIT_ARGS). */
  extraArgs?: readonly string[];
}

/** Starts `switchboard start` on free loopback ports (`startPlatform`) and waits until it serves. */
export async function startSwitchboardServer(opts: StartServerOptions): Promise<SwitchboardServer> {
  const p = await startPlatform({
    dataDir: opts.dataDir,
    database: opts.database,
    apiKey: opts.apiKey,
    workers: opts.workers ?? 1,
    cpus: opts.cpus,
    timeoutMs: opts.readyTimeoutMs,
    ...(opts.extraArgs ? { extraArgs: [...opts.extraArgs] } : {}),
  });
  let gone = false;
  void p.exited.then(() => {
    gone = true;
  });
  return {
    pid: p.pid,
    dnsHost: '127.0.0.1',
    dnsPort: p.dnsPort,
    apiUrl: p.api,
    apiKey: opts.apiKey,
    output: () => `${p.stdout()}${p.stderr()}`,
    exited: () => gone,
    stop: async () => {
      await p.stop();
    },
  };
}
