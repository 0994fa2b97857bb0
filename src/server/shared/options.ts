/**
 * Options shared by `switchboard serve` and `switchboard start`: the default DNS address,
 * the configuration error, whole-number options, and the answer options (EDNS size, NSID,
 * identity, version) every worker's Responder is built from.
 * @module
 */
import { hostname } from 'node:os';
import type { ResponderOptions } from '../../answer/respond.js';
import { DEFAULT_DNS_PORT } from '../../transport/listen-address.js';

/** The DNS address served when none is given (`serve --listen`, `start --dns`). */
export const DEFAULT_DNS = `127.0.0.1:${DEFAULT_DNS_PORT}`;

/** The software name in CH `version.server.` answers (`Switchboard 0.1.0`). */
export const SERVER_NAME = 'Switchboard';

/** Replaced by the worker's slot number in `--nsid` and `--identity`. */
export const WORKER_PLACEHOLDER = '{worker}';

/** RFC 1035 §3.3: one TXT <character-string> holds at most 255 octets. */
const MAX_IDENTITY_OCTETS = 255;

/** An invalid `serve` or `start` option. */
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
