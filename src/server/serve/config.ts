/**
 * `switchboard serve` configuration: validated from command-line options, passed to the
 * worker processes as JSON in the environment.
 * @module
 */

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { MAX_MASTERS } from '../../control/secondary.js';
import { type MetricsAddress, parseMetricsAddress } from '../../telemetry/metrics-address.js';
import { TransportError } from '../../transport/errors.js';
import { type ListenAddress, parseListenAddresses } from '../../transport/listen-address.js';
import {
  DEFAULT_TCP_IDLE_TIMEOUT_MS,
  DEFAULT_TCP_MAX_CONNECTIONS,
  DEFAULT_TCP_MAX_PER_CLIENT,
} from '../../transport/tcp.js';
import { DEFAULT_UDP_RECV_BUFFER, DEFAULT_UDP_SEND_BUFFER } from '../../transport/udp.js';
import { Name } from '../../wire/name.js';
import { formatOutboundTarget, parseOutboundTarget } from '../../xfr/outbound.js';
import { parseTsigKeySpec } from '../../xfr/tsig.js';
import type { DnsServingSettings } from '../shared/dns-worker-config.js';
import { parseImages } from '../shared/images.js';
import { parseUdpIo, type UdpIo, type UdpIoChoice } from '../shared/listeners.js';
import { parseNativeAnswers } from '../shared/native-answers-option.js';
import { applyAnswerOptions, ConfigError, DEFAULT_DNS, parseInteger } from '../shared/options.js';
import { resolveShieldFlags, type ShieldFlagsInput } from '../shared/shield.js';
import { resolveTransferFlags } from '../shared/transfers.js';

/** The environment variable carrying the config to worker processes. */
export const CONFIG_ENV = 'SWITCHBOARD_SERVE_CONFIG';

/** Everything a server process needs; JSON-serialisable. */
export interface ServeConfig extends DnsServingSettings {
  /** Absolute path of the folder of `*.zone` files. */
  zoneDir: string;
  /** Worker processes; 0 serves from the one process (no cluster). */
  workers: number;
  /** `--io`: the UDP path asked for (`auto` unless given; SWITCHBOARD_IO sets the default). */
  io: UdpIoChoice;
  /** The UDP path the primary decided on (`chooseUdpIo`), set before workers start. */
  udpIo?: UdpIo;
  /** `--images on|off` (SWITCHBOARD_IMAGES sets the default; on unless given or set off): the
   * primary compiles each zone file once and the workers serve the shared images. */
  images?: boolean;
  /** `--metrics ADDR:PORT`: the DNS plane's Prometheus metrics on a listener of their own. */
  metrics?: MetricsAddress;
  /** `--secondary`: zones followed from primaries (docs/TRANSFERS.md "Secondary zones of serve"). */
  secondaries?: ServeSecondary[];
  /** `--secondary-dir DIR`: where their last good copies are kept (absolute). */
  secondaryDir?: string;
  /** `--secondaries-file FILE` (absolute): read again on SIGHUP (`rereadSecondaries`). */
  secondariesFile?: string;
  /** The zones of the `--secondary` flags (those of the file come after them). */
  secondaryFlags?: ServeSecondary[];
}

/** A zone `serve` follows from primaries (`--secondary NAME=ADDR:PORT[,…][/KEYNAME:ALG:SECRET]`). */
export interface ServeSecondary {
  /** Absolute, folded. */
  name: string;
  /** `ADDR:PORT` / `[V6]:PORT`, tried in order. */
  primaries: string[];
  /** The TSIG key of its transfers and NOTIFYs (secret base64). */
  key?: { name: string; algorithm: string; secret: string };
}

/** Most lines a `--secondaries-file` may hold (each a zone followed). */
const MAX_SECONDARIES_FILE_LINES = 100_000;

/**
 * The zones of a `--secondaries-file`: one `--secondary` value a line (`NAME=ADDR[:PORT][,…]
 * [/KEYNAME:ALG:SECRET]`), blank lines and `#` comments skipped. Keeps TSIG secrets out of the
 * command line (which `ps` shows every user). An error names the file and line, never the
 * line's text (it may hold a secret).
 * @throws ConfigError
 */
export function readSecondariesFile(path: string): ServeSecondary[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`--secondaries-file ${path}: ${(err as Error).message}`);
  }
  const lines = text.split('\n');
  if (lines.length > MAX_SECONDARIES_FILE_LINES)
    throw new ConfigError(`--secondaries-file ${path}: over ${MAX_SECONDARIES_FILE_LINES} lines`);
  const out: ServeSecondary[] = [];
  lines.forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line !== '') out.push(parseServeSecondary(line, `${path}:${i + 1}`));
  });
  return out;
}

/** The flags' zones, then the file's (read now); a zone named twice is an error. */
function mergeSecondaries(flags: readonly ServeSecondary[], file: string | undefined): ServeSecondary[] {
  const list = [...flags, ...(file !== undefined ? readSecondariesFile(file) : [])];
  const seen = new Set<string>();
  for (const s of list) {
    if (seen.has(s.name)) throw new ConfigError(`--secondary ${s.name}: given twice`);
    seen.add(s.name);
  }
  return list;
}

/**
 * The zones `serve` follows after a SIGHUP: the `--secondary` flags' and the `--secondaries-file`
 * read again. A file that cannot be read or has an error throws (FILE:LINE, never the line):
 * the caller keeps the running set.
 * @throws ConfigError
 */
export function rereadSecondaries(config: ServeConfig): ServeSecondary[] {
  return mergeSecondaries(config.secondaryFlags ?? config.secondaries ?? [], config.secondariesFile);
}

/**
 * One `--secondary` value: `NAME=ADDR[:PORT][,ADDR[:PORT]…]` and optionally `/KEYNAME:ALG:SECRET`.
 * @param where how an error names the value (default: the flag and the value itself)
 * @throws ConfigError naming the value
 */
export function parseServeSecondary(text: string, where = `--secondary '${text}'`): ServeSecondary {
  const bad = (why: string) => new ConfigError(`${where}: ${why}`);
  const eq = text.indexOf('=');
  if (eq <= 0) throw bad('expected NAME=ADDR:PORT[,ADDR:PORT…][/KEYNAME:ALG:SECRET]');
  let name: string;
  try {
    name = Name.parse(text.slice(0, eq).endsWith('.') ? text.slice(0, eq) : `${text.slice(0, eq)}.`)
      .toString()
      .toLowerCase();
  } catch (err) {
    throw bad(`not a zone name (${(err as Error).message})`);
  }
  const rest = text.slice(eq + 1);
  const slash = rest.indexOf('/');
  const list = slash < 0 ? rest : rest.slice(0, slash);
  const primaries: string[] = [];
  for (const p of list.split(',')) {
    try {
      primaries.push(formatOutboundTarget(parseOutboundTarget(p.trim())));
    } catch (err) {
      throw bad(`primary '${p}': ${(err as Error).message}`);
    }
  }
  if (primaries.length === 0 || primaries.length > MAX_MASTERS) throw bad(`1 to ${MAX_MASTERS} primaries`);
  const out: ServeSecondary = { name, primaries: [...new Set(primaries)] };
  if (slash >= 0) {
    const spec = rest.slice(slash + 1);
    try {
      const k = parseTsigKeySpec(spec);
      out.key = {
        name: k.name.toString(),
        algorithm: k.algorithm,
        secret: spec.slice(spec.lastIndexOf(':') + 1),
      };
    } catch (err) {
      throw bad(`key: ${(err as Error).message}`);
    }
  }
  return out;
}

/** Raw options as the CLI hands them over (strings, possibly missing). */
export interface ServeOptionsInput extends ShieldFlagsInput {
  zoneDir?: string;
  listen?: string[];
  workers?: string | number;
  nsid?: string;
  ednsSize?: string | number;
  /** `--identity`: absent = the host name, empty = refuse `id.server.`. */
  identity?: string;
  /** `--hide-version`: refuse `version.server.`. */
  hideVersion?: boolean;
  /** The package version (not a flag: the CLI reads package.json once). */
  serverVersion?: string;
  tcpIdleTimeout?: string | number;
  tcpMaxConnections?: string | number;
  tcpMaxPerClient?: string | number;
  /** `--io native|node|auto`. */
  io?: string;
  /** `--native-answers [on|off|auto]` (true: given without a value). */
  nativeAnswers?: string | boolean;
  /** `--images on|off`. */
  images?: string;
  /** `--metrics ADDR:PORT`. */
  metrics?: string;
  /** `--transfer-key NAME:ALG:SECRET` (repeatable). */
  transferKey?: string[];
  /** `--allow-axfr-from PREFIX` (repeatable). */
  allowAxfrFrom?: string[];
  /** `--secondary NAME=ADDR:PORT[,…][/KEYNAME:ALG:SECRET]` (repeatable). */
  secondary?: string[];
  /** `--secondary-dir DIR`. */
  secondaryDir?: string;
  /** `--secondaries-file FILE`: one `--secondary` value a line (`#` comments). */
  secondariesFile?: string;
}

/**
 * Validates raw serve options and fills in defaults.
 * @throws ConfigError SERVER_ERR_CONFIG
 */
export function buildServeConfig(input: ServeOptionsInput, cwd = process.cwd()): ServeConfig {
  if (!input.zoneDir) throw new ConfigError('--zone-dir is required');
  const images = parseImages(input.images);
  let listen: ListenAddress[];
  try {
    listen = parseListenAddresses(input.listen && input.listen.length > 0 ? input.listen : [DEFAULT_DNS]);
  } catch (err) {
    if (err instanceof TransportError) throw new ConfigError(err.message, { cause: err });
    throw err;
  }
  const config: ServeConfig = {
    zoneDir: resolve(cwd, input.zoneDir),
    listen,
    workers: parseInteger('--workers', input.workers, 0, 256, availableParallelism()),
    tcpIdleTimeoutMs: parseInteger(
      '--tcp-idle-timeout',
      input.tcpIdleTimeout,
      1,
      3_600_000,
      DEFAULT_TCP_IDLE_TIMEOUT_MS,
    ),
    tcpMaxConnections: parseInteger(
      '--tcp-max-connections',
      input.tcpMaxConnections,
      1,
      1_000_000,
      DEFAULT_TCP_MAX_CONNECTIONS,
    ),
    tcpMaxConnectionsPerClient: parseInteger(
      '--tcp-max-per-client',
      input.tcpMaxPerClient,
      1,
      1_000_000,
      DEFAULT_TCP_MAX_PER_CLIENT,
    ),
    udpRecvBufferSize: DEFAULT_UDP_RECV_BUFFER,
    udpSendBufferSize: DEFAULT_UDP_SEND_BUFFER,
    io: parseUdpIo(input.io),
    images,
    nativeAnswers: parseNativeAnswers(input.nativeAnswers, images),
  };
  const shield = resolveShieldFlags(input);
  if (shield !== undefined) config.shield = shield;
  const transfers = resolveTransferFlags(input);
  if (transfers !== undefined) config.transfers = transfers;
  if (input.metrics !== undefined) {
    try {
      config.metrics = parseMetricsAddress(input.metrics);
    } catch (err) {
      throw new ConfigError((err as Error).message);
    }
  }
  const file = input.secondariesFile !== undefined ? resolve(cwd, input.secondariesFile) : undefined;
  // With a file, even an empty one: SIGHUP may bring zones into it.
  if ((input.secondary !== undefined && input.secondary.length > 0) || file !== undefined) {
    if (!images) throw new ConfigError('--secondary needs --images on (the default)');
    if (config.workers === 0)
      throw new ConfigError('--secondary needs worker processes (--workers 1 or more)');
    const flags = (input.secondary ?? []).map((t) => parseServeSecondary(t));
    config.secondaryFlags = flags;
    if (file !== undefined) config.secondariesFile = file;
    config.secondaries = mergeSecondaries(flags, file);
    if (!input.secondaryDir)
      throw new ConfigError('--secondary needs --secondary-dir DIR (the last good copies)');
    config.secondaryDir = resolve(cwd, input.secondaryDir);
    if (config.secondaryDir === config.zoneDir)
      throw new ConfigError('--secondary-dir must be another folder than --zone-dir');
  } else if (input.secondaryDir !== undefined) throw new ConfigError('--secondary-dir without --secondary');
  applyAnswerOptions(config, input);
  return config;
}

/** Serialises a config for a worker's environment. */
export function encodeServeConfig(config: ServeConfig): string {
  return JSON.stringify(config);
}

/**
 * Reads the config a primary passed in the environment.
 * @throws ConfigError when absent or not valid JSON
 */
export function decodeServeConfig(text: string | undefined): ServeConfig {
  if (!text)
    throw new ConfigError(`${CONFIG_ENV} is not set (this entry point is started by 'switchboard serve')`);
  try {
    return JSON.parse(text) as ServeConfig;
  } catch (err) {
    throw new ConfigError(`${CONFIG_ENV} is not valid JSON`, { cause: err });
  }
}
