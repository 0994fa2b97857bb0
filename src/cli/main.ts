#!/usr/bin/env node
/**
 * The `switchboard` command line: `start` runs the platform (control plane + DNS), `serve`
 * runs the authoritative server from a zone folder, `check-zone` checks a zone file, and
 * `zone`, `record`, `token`, `account`, `audit` use the HTTP API. Thin over src/server and src/cli.
 * @module
 */
// First: `serve` and `start` re-execute themselves with glibc's hugetlb tunable (hugetlb.ts)
// before anything else is loaded.
import './hugetlb.js';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ServeOptionsInput } from '../server/serve/config.js';
import { type EarlyLoadOptions, startEarlyLoad } from '../server/serve/early-load.js';
import { ConfigError, DEFAULT_DNS } from '../server/shared/options.js';
import type { StartOptionsInput } from '../server/start/config.js';
import { earlyServeOptions, sameEarlyOptions } from './serve-argv.js';

/**
 * A big zone file's compile thread started from the command line as read before commander is
 * loaded (serve-argv.ts); `started` whether it was.
 */
const earlyRead = earlyServeOptions(process.argv);
const early = earlyRead === undefined ? undefined : { opts: earlyRead, started: tryEarlyLoad(earlyRead) };

/** `startEarlyLoad`, never throwing here (before commander: the serve action reports errors). */
function tryEarlyLoad(opts: EarlyLoadOptions): boolean {
  try {
    return startEarlyLoad(opts);
  } catch {
    return false;
  }
}
const { Command: CommandClass, CommanderError } = await import('commander');

/** `EXIT_USAGE` of client-common.ts (not imported: `serve` does not load the HTTP client). */
const EXIT_USAGE = 2;

/** The package version, read from package.json next to dist/ (unknown when not found). */
function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Help of `--images` (serve and start). */
const IMAGES_HELP =
  "'on' (default, or env SWITCHBOARD_IMAGES): the primary compiles each zone once (compile threads) and the DNS workers serve the shared images, parsing no zone text; 'off': every worker parses every zone";
/** Help of `--io` (serve and start). */
const SHIELD_HELP =
  "the shield (docs/SHIELD.md): 'on' (admission before answering, on the native UDP path), 'dry-run' (counts what it would shed, sheds nothing) or 'off' (default)";
const RRL_HELP =
  "response-rate limiting with --shield: 'responses=N[,nxdomains=N][,nodata=N][,referrals=N][,errors=N][,all=N][,window=S][,slip=N][,ipv4=LEN][,ipv6=LEN][,table=N]' (BIND's rate-limit, per client block) or 'off'";
const COOKIE_SECRET_HELP =
  'DNS cookie secret, 32 hex digits (RFC 9018; repeatable: the first makes cookies, up to two more are accepted; default: a random one at start)';
const COOKIE_ROTATE_HELP =
  'a new DNS cookie secret this often, made by the primary for every worker, the previous one accepted one more period (RFC 9018): off, or e.g. 1d, 12h, 30m (default 1d; off when --cookie-secret is given)';
const TRANSFER_KEY_HELP =
  "a TSIG key NAME:ALGORITHM:SECRET (base64; hmac-sha256 …) that may transfer every zone: the platform's edge key (repeatable)";
const SHIELD_ZONE_HELP =
  "one zone's own shield settings: NAME:key=value,... with min-nx, budget (the random-subdomain detector's floor and budget), responses, nxdomains, nodata, referrals, errors (RRL rates), metrics=on (its rates exported); repeatable, at most 1024 zones";
const SHIELD_ALLOW_HELP = 'a prefix the shield never sheds, limits or blocks: ADDR/LEN (repeatable)';
const NATIVE_ANSWERS_HELP =
  'on|off: on the native UDP path, answer plain queries from the zone images in C (env SWITCHBOARD_NATIVE_ANSWERS; default: on with --images on)';
const IO_HELP =
  "UDP path: 'native' (batched recvmmsg/sendmmsg addon), 'node' (dgram) or 'auto' (native when the addon loads and --workers is 0 or --images is on, else node; default, or env SWITCHBOARD_IO)";

/** The options of the answers, the same for `serve` and `start`. */
function addAnswerOptions(command: Command): Command {
  return command
    .option(
      '--nsid <text>',
      "RFC 5001 name server identifier returned to clients that ask ('{worker}' = worker number)",
    )
    .option(
      '--identity <text>',
      "RFC 4892 identity answered to 'dig CH TXT id.server' ('{worker}' = worker number; '' = refuse; default: the host name)",
    )
    .option('--hide-version', "refuse 'dig CH TXT version.server' (default: answer 'Switchboard VERSION')")
    .option('--edns-size <n>', 'EDNS UDP payload size advertised and used as the UDP response cap');
}

/**
 * Runs a server command (`serve`, `start`) and exits with its code; a configuration error is
 * one line on stderr and exit 1.
 */
async function runServer(run: () => Promise<number>): Promise<never> {
  let code: number;
  try {
    code = await run();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`switchboard: error: ${err.message}\n`);
    code = 1;
  }
  process.exit(code);
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Builds the command tree. */
function buildProgram(): Command {
  const program = new CommandClass();
  program
    .name('switchboard')
    .description('Authoritative DNS server that keeps answering through a DDoS')
    .version(readVersion());

  const serve = program
    .command('serve')
    .description('serve every *.zone file of a folder over UDP and TCP')
    .requiredOption('--zone-dir <dir>', 'folder of zone files, one zone per *.zone file')
    .option(
      '--listen <addr>',
      `address to serve on: ADDR, ADDR:PORT, [IPv6]:PORT (repeatable; default ${DEFAULT_DNS})`,
      collect,
    )
    .option('--workers <n>', 'worker processes (default: number of CPUs; 0 = serve from one process)')
    .option('--io <path>', IO_HELP);
  addAnswerOptions(serve)
    .option('--tcp-idle-timeout <ms>', 'close TCP connections idle this long (default 10000)')
    .option('--tcp-max-connections <n>', 'open TCP connections allowed per worker (default 1000)')
    .option(
      '--tcp-max-per-client <n>',
      'open TCP connections allowed per client address per worker (default 32)',
    )
    .option('--native-answers [on|off]', NATIVE_ANSWERS_HELP)
    .option('--images <on|off>', IMAGES_HELP)
    .option('--shield <mode>', SHIELD_HELP)
    .option('--rrl <spec>', RRL_HELP)
    .option('--cookie-secret <hex>', COOKIE_SECRET_HELP, collect)
    .option('--shield-allow <prefix>', SHIELD_ALLOW_HELP, collect)
    .option('--cookie-rotate <duration>', COOKIE_ROTATE_HELP)
    .option('--shield-zone <spec>', SHIELD_ZONE_HELP, collect)
    .option('--transfer-key <spec>', TRANSFER_KEY_HELP, collect)
    .option(
      '--allow-axfr-from <prefix>',
      'an address or prefix that may transfer (AXFR/IXFR) every zone without a key (repeatable; default: none)',
      collect,
    )
    .option(
      '--secondary <spec>',
      'a zone followed from primaries: NAME=ADDR:PORT[,ADDR:PORT…][/KEYNAME:ALG:SECRET] (repeatable; needs --secondary-dir)',
      collect,
    )
    .option(
      '--secondary-dir <dir>',
      "where the --secondary zones' last good copies are kept (NAME.zone files)",
    )
    .option(
      '--secondaries-file <file>',
      'zones followed from primaries, one --secondary value a line (# comments): keeps TSIG secrets off the command line',
    )
    .option(
      '--metrics <addr>',
      "the DNS plane's Prometheus metrics at http://ADDR:PORT/metrics ([IPv6]:PORT; default: none)",
    )
    .action((opts: ServeOptionsInput) =>
      runServer(async () => {
        // A big zone file's compile thread starts before the serve modules load (they take
        // ~0.25 s of CPU, the thread reads and parses meanwhile): early-load.ts.
        // Not decided yet, or decided on a line commander read otherwise without starting
        // (one that started is dropped by the primary when its file is not the one to load).
        if (early === undefined || (!early.started && !sameEarlyOptions(early.opts, opts)))
          startEarlyLoad(opts);
        const { buildServeConfig } = await import('../server/serve/config.js');
        const config = buildServeConfig({ ...opts, serverVersion: readVersion() });
        if (config.workers !== 0) {
          const { runPrimary } = await import('../server/serve/primary.js');
          return await runPrimary(config);
        }
        const { runSingleProcess } = await import('../server/serve/single.js');
        return await runSingleProcess(config);
      }),
    );

  const edge = program
    .command('edge')
    .description(
      "a DNS-only node: follows the control plane's fleet catalog, NOTIFY and IXFR with an edge key, and keeps serving from its state when the primary is unreachable (docs/EDGE.md)",
    )
    .requiredOption('--primary <addr>', 'the control plane to follow: ADDR:PORT or [IPv6]:PORT')
    .requiredOption('--key <spec>', "the edge's transfer key NAME:ALG:SECRET (one of start's --transfer-key)")
    .requiredOption('--state <dir>', 'folder of the crash-safe state store (edge.sqlite)')
    .option(
      '--listen <addr>',
      `address to serve on: ADDR, ADDR:PORT, [IPv6]:PORT (repeatable; default ${DEFAULT_DNS})`,
      collect,
    )
    .option('--pop <name>', "the point of presence, answered as NSID (default: the key's name)")
    .option('--workers <n>', 'DNS worker processes (default: number of CPUs)')
    .option('--catalog <name>', 'the fleet catalog zone to follow (default catalog.switchboard.invalid.)')
    .option(
      '--max-stale <duration>',
      'answer the last good data this long without a successful check, then SERVFAIL (default 7d)',
    )
    .option('--io <path>', IO_HELP)
    .option(
      '--transfer-key <spec>',
      "a key (NAME:ALG:SECRET) the edge's own secondaries transfer every zone it serves with (repeatable; the first signs --notify)",
      collect,
    )
    .option(
      '--allow-axfr-from <prefix>',
      "an address or prefix that may transfer the edge's zones without a key (repeatable)",
      collect,
    )
    .option(
      '--notify <addr>',
      'a secondary of the edge, NOTIFYed of each new version: ADDR:PORT (repeatable)',
      collect,
    );
  addAnswerOptions(edge)
    .option('--native-answers [on|off]', NATIVE_ANSWERS_HELP)
    .option('--shield <mode>', SHIELD_HELP)
    .option('--rrl <spec>', RRL_HELP)
    .option('--cookie-secret <hex>', COOKIE_SECRET_HELP, collect)
    .option('--shield-allow <prefix>', SHIELD_ALLOW_HELP, collect)
    .option('--cookie-rotate <duration>', COOKIE_ROTATE_HELP)
    .action((opts: Record<string, unknown>) =>
      runServer(async () => {
        // Loaded on demand: `serve` does not load the edge's modules.
        const { buildEdgeConfig } = await import('../server/edge/config.js');
        const { runEdge } = await import('../server/edge/edge.js');
        return await runEdge(buildEdgeConfig({ ...opts, serverVersion: readVersion() }));
      }),
    );

  return program;
}

/**
 * Registers every command but `serve` (their modules loaded now: `switchboard serve` alone
 * skips them, ~60 ms of CPU before a cold start's first zone is compiled).
 */
async function registerOthers(program: Command): Promise<void> {
  const [
    { API_KEY_ENV, buildStartConfig, DEFAULT_DATA_DIR, DEFAULT_HTTP, DEFAULT_MAX_TTL },
    { registerAccountCommands },
    { registerAuditCommand },
    { registerDrillCommand },
    { registerEdgeCommands },
    { registerRecordCommands },
    { registerTokenCommands },
    { registerTsigKeyCommands },
    { registerZoneCommands },
  ] = await Promise.all([
    import('../server/start/config.js'),
    import('./account-commands.js'),
    import('./audit-command.js'),
    import('./drill-command.js'),
    import('./edge-commands.js'),
    import('./record-commands.js'),
    import('./token-commands.js'),
    import('./tsigkey-commands.js'),
    import('./zone-commands.js'),
  ]);
  const start = program
    .command('start')
    .description('run the platform: control plane (HTTP API + store) and DNS workers serving its zones live')
    .option('--data <dir>', `folder of the embedded SQLite store (default ${DEFAULT_DATA_DIR})`)
    .option('--database <url>', 'postgres://… : use PostgreSQL instead of SQLite (for several replicas)')
    .option(
      '--dns <addr>',
      `DNS address: ADDR:PORT or [IPv6]:PORT (repeatable; default ${DEFAULT_DNS})`,
      collect,
    )
    .option('--http <addr>', `HTTP API address: ADDR:PORT or [IPv6]:PORT (default ${DEFAULT_HTTP})`)
    .option('--workers <n>', 'DNS worker processes (default: number of CPUs)')
    .option('--io <path>', IO_HELP)
    .option('--native-answers [on|off]', NATIVE_ANSWERS_HELP)
    .option('--images <on|off>', IMAGES_HELP)
    .option('--shield <mode>', SHIELD_HELP)
    .option('--rrl <spec>', RRL_HELP)
    .option('--cookie-secret <hex>', COOKIE_SECRET_HELP, collect)
    .option('--shield-allow <prefix>', SHIELD_ALLOW_HELP, collect)
    .option('--cookie-rotate <duration>', COOKIE_ROTATE_HELP)
    .option('--shield-zone <spec>', SHIELD_ZONE_HELP, collect)
    .option('--transfer-key <spec>', TRANSFER_KEY_HELP, collect)
    .option(
      '--outbound-allow <prefix>',
      'a special-purpose range (loopback, private, link-local, …) tenants may still name as masters or NOTIFY targets (repeatable; default: none)',
      collect,
    )
    .option(
      '--fleet-catalog <name>',
      'name of the catalog zone (RFC 9432) listing every zone, transferable with a --transfer-key only (default catalog.switchboard.invalid.)',
    )
    .option(
      '--shield-tenant <spec>',
      "what tenants may set of their zones' shield settings through the API: 'off' (default: operators only) or " +
        'min-nx=N,budget=N,responses=N,nxdomains=N,nodata=N,referrals=N,errors=N,metrics=on (each field opened, at most N), ' +
        'zones=N,metrics-zones=N (zones of one account with settings its tenants wrote; default 32 and 5)',
    );
  addAnswerOptions(start)
    .option(
      '--nameservers <names>',
      'comma-separated name servers of the platform: the NS of zones created without any (env SWITCHBOARD_NAMESERVERS)',
    )
    .option(
      '--limit <name=n>',
      'an API limit or a retention time, e.g. token-rate=50, zones-per-hour=0 (0 = off; repeatable; docs/API.md "Limits")',
      collect,
    )
    .option(
      '--trusted-proxy <addr>',
      'a reverse proxy (IP or CIDR) whose X-Forwarded-For names the client (repeatable; default none)',
      collect,
    )
    .option(
      '--metrics <open|key>',
      '/metrics without a key, or with an administrator key (default: open on loopback only)',
    )
    .option(
      '--max-ttl <seconds>',
      `highest record TTL the APIs and zone imports accept (default ${DEFAULT_MAX_TTL} = 30 days; at most 2147483647)`,
    )
    .option(
      '--max-records-per-request <n>',
      'most records one request may make (zone file, RRsets, change set), counted before they are made; administrators included (default 200000)',
    )
    .addHelpText(
      'after',
      `\nEnvironment:\n  ${API_KEY_ENV}  administrator API key to accept, at least 32 characters (without it, the first start creates one, prints it once and saves it in <--data>/admin-key)\n  SWITCHBOARD_NAMESERVERS  default for --nameservers\n\nFrom a checkout, flags go after '--': npm start -- --http 127.0.0.1:9000 --workers 2`,
    )
    .action((opts: StartOptionsInput) =>
      runServer(async () => {
        opts.nameservers ??= process.env.SWITCHBOARD_NAMESERVERS;
        const version = readVersion();
        const config = buildStartConfig({ ...opts, serverVersion: version });
        // Loaded on demand so `serve` does not depend on the control plane's modules.
        const { runStart } = await import('../server/start/start.js');
        return runStart(config, { version });
      }),
    );

  program
    .command('check-zone')
    .description('parse and check a zone file; exit 0 when it would load')
    .argument('<file>', "zone file ('-' for stdin)")
    .option('--origin <name>', "zone origin (default: the file's $ORIGIN, else the file name minus .zone)")
    .option('--print', 'print the zone in canonical form')
    .action(async (file: string, opts: { origin?: string; print?: boolean }) => {
      // Loaded on demand so `serve` does not depend on the checker's module.
      const { checkZoneCommand } = await import('./check-zone.js');
      process.exitCode = await checkZoneCommand(file, { origin: opts.origin, print: opts.print });
    });

  registerZoneCommands(program);
  registerRecordCommands(program);
  registerTokenCommands(program);
  registerTsigKeyCommands(program);
  registerAccountCommands(program);
  registerAuditCommand(program);
  registerDrillCommand(program);
  registerEdgeCommands(program);
}

try {
  const program = buildProgram();
  if (process.argv[2] !== 'serve') await registerOthers(program);
  await program.parseAsync(process.argv);
} catch (err) {
  // The client commands throw their usage errors (commander has printed the message):
  // exit 2 for those, 0 for --help.
  if (!(err instanceof CommanderError)) throw err;
  process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
}
