/**
 * `switchboard serve` configuration: validated from command-line options, passed to the
 * worker processes as JSON in the environment.
 * @module
 */
import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import type { ResponderOptions } from '../answer/respond.js';
import { TransportError } from '../transport/errors.js';
import { type ListenAddress, parseListenAddresses } from '../transport/listen-address.js';
import {
  DEFAULT_TCP_IDLE_TIMEOUT_MS,
  DEFAULT_TCP_MAX_CONNECTIONS,
  DEFAULT_TCP_MAX_PER_CLIENT,
} from '../transport/tcp.js';
import { DEFAULT_UDP_RECV_BUFFER, DEFAULT_UDP_SEND_BUFFER } from '../transport/udp.js';

/** The listen address used when none is given. */
export const DEFAULT_LISTEN = '127.0.0.1:5300';

/** The environment variable carrying the config to worker processes. */
export const CONFIG_ENV = 'SWITCHBOARD_SERVE_CONFIG';

/** The software name in CH `version.server.` answers (`Switchboard 0.1.0`). */
export const SERVER_NAME = 'Switchboard';

/** Replaced by the worker's slot number in `--nsid` and `--identity`. */
export const WORKER_PLACEHOLDER = '{worker}';

/** RFC 1035 §3.3: one TXT <character-string> holds at most 255 octets. */
const MAX_IDENTITY_OCTETS = 255;

/** Everything a server process needs; JSON-serialisable. */
export interface ServeConfig {
  /** Absolute path of the folder of `*.zone` files. */
  zoneDir: string;
  listen: ListenAddress[];
  /** Worker processes; 0 serves from the one process (no cluster). */
  workers: number;
  /** RFC 5001 NSID, as text (sent as its UTF-8 octets); `{worker}` = the worker's slot. */
  nsid?: string;
  /** EDNS payload size advertised and used as the UDP response cap. */
  ednsSize?: number;
  /** RFC 4892 identity (CH TXT `id.server.`); `{worker}` = the worker's slot; undefined: refused. */
  identity?: string;
  /** Text of CH TXT `version.server.` (`Switchboard 0.1.0`); undefined: refused. */
  version?: string;
  tcpIdleTimeoutMs: number;
  tcpMaxConnections: number;
  tcpMaxConnectionsPerClient: number;
  udpRecvBufferSize: number;
  udpSendBufferSize: number;
}

/** Raw options as the CLI hands them over (strings, possibly missing). */
export interface ServeOptionsInput {
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
}

/** An invalid serve option. */
export class ConfigError extends Error {
  readonly code = 'SERVER_ERR_CONFIG';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** A whole number option within [min, max], or `dflt` when absent. */
export function parseInteger(
  name: string,
  value: string | number | undefined,
  min: number,
  max: number,
  dflt: number,
): number {
  if (value === undefined) return dflt;
  const text = String(value).trim();
  if (!/^[0-9]+$/.test(text)) throw new ConfigError(`${name} must be a whole number, got '${value}'`);
  const n = Number(text);
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/**
 * Validates raw serve options and fills in defaults.
 * @throws ConfigError SERVER_ERR_CONFIG
 */
export function buildServeConfig(input: ServeOptionsInput, cwd = process.cwd()): ServeConfig {
  if (!input.zoneDir) throw new ConfigError('--zone-dir is required');
  let listen: ListenAddress[];
  try {
    listen = parseListenAddresses(input.listen && input.listen.length > 0 ? input.listen : [DEFAULT_LISTEN]);
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
  };
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

/** What `serve` and `start` configure in every worker's Responder (JSON-serialisable). */
export interface AnswerSettings {
  ednsSize?: number;
  nsid?: string;
  identity?: string;
  version?: string;
}

/** The raw options behind `AnswerSettings`, as the CLI hands them over. */
export interface AnswerOptionsInput {
  ednsSize?: string | number;
  nsid?: string;
  identity?: string;
  hideVersion?: boolean;
  serverVersion?: string;
}

/**
 * `--edns-size`, `--nsid`, `--identity` and `--hide-version`, shared by `serve` and `start`,
 * validated into `target`. The identity defaults to the host name and the version text to
 * `Switchboard VERSION`, as NSD and Knot default to theirs.
 */
export function applyAnswerOptions(target: AnswerSettings, input: AnswerOptionsInput): void {
  // RFC 6891 §6.2.5: sizes below 512 are treated as 512; we refuse them outright instead.
  if (input.ednsSize !== undefined)
    target.ednsSize = parseInteger('--edns-size', input.ednsSize, 512, 65535, 1232);
  if (input.nsid !== undefined) {
    // RFC 5001 §2.3: the payload is opaque octets carried in an option of at most 65535.
    if (input.nsid.length === 0) throw new ConfigError('--nsid must not be empty');
    if (Buffer.byteLength(input.nsid, 'utf8') > 512)
      throw new ConfigError('--nsid is longer than 512 octets');
    target.nsid = input.nsid;
  }
  // RFC 4892 §2.3: the identity names this server; empty switches id.server. off (REFUSED).
  const identity = input.identity ?? hostname();
  if (Buffer.byteLength(identity, 'utf8') > MAX_IDENTITY_OCTETS)
    throw new ConfigError(`--identity is longer than ${MAX_IDENTITY_OCTETS} octets`);
  if (identity !== '') target.identity = identity;
  if (!input.hideVersion)
    target.version = input.serverVersion ? `${SERVER_NAME} ${input.serverVersion}` : SERVER_NAME;
}

/**
 * The Responder options of one serving process. `{worker}` in the NSID and the identity
 * becomes `slot`, so operators and tests can tell which worker answered (the default: the
 * slot the cluster gave this worker, `0` in a single process).
 */
export function buildResponderOptions(
  settings: AnswerSettings,
  slot: string = process.env.SWITCHBOARD_WORKER_SLOT ?? '0',
): ResponderOptions {
  const nsid = settings.nsid?.replaceAll(WORKER_PLACEHOLDER, slot);
  return {
    ednsSize: settings.ednsSize,
    nsid: nsid !== undefined ? new Uint8Array(Buffer.from(nsid, 'utf8')) : undefined,
    identity: settings.identity?.replaceAll(WORKER_PLACEHOLDER, slot),
    version: settings.version,
  };
}
