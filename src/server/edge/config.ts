/**
 * `switchboard edge` configuration (docs/EDGE.md): the primary to follow, the edge key, the
 * state folder, the fleet catalog's name, the local maximum staleness, and the DNS-serving
 * settings every serving process takes (`serve`'s flags, checked by the same code).
 * @module
 */
import { resolve } from 'node:path';
import { Name } from '../../wire/name.js';
import { type OutboundTarget, parseOutboundTarget } from '../../xfr/outbound.js';
import { parseTsigKeySpec, TsigKeyError } from '../../xfr/tsig.js';
import { buildServeConfig, type ServeConfig, type ServeOptionsInput } from '../serve/config.js';
import { ConfigError } from '../shared/options.js';

/** The fleet catalog followed unless `--catalog` names another (what `start` produces). */
export const DEFAULT_EDGE_CATALOG = 'catalog.switchboard.invalid.';
/** `--max-stale` unless given: 7 days. */
export const DEFAULT_MAX_STALE_MS = 7 * 24 * 3600 * 1000;

export interface EdgeConfig extends Omit<ServeConfig, 'zoneDir'> {
  primary: OutboundTarget;
  /** `--key NAME:ALG:SECRET` as given (checked). */
  key: string;
  /** Absolute path of `--state`. */
  stateDir: string;
  /** `--pop`: answered as NSID (default: the key's name). */
  pop: string;
  /** The catalog's name (absolute, lower case). */
  catalog: string;
  maxStaleMs: number;
  /** `--notify ADDR:PORT`: the edge's own secondaries, NOTIFYed of every new version it serves. */
  notify: OutboundTarget[];
}

export interface EdgeOptionsInput extends Omit<ServeOptionsInput, 'zoneDir'> {
  primary?: string;
  key?: string;
  state?: string;
  pop?: string;
  catalog?: string;
  maxStale?: string;
  notify?: string[];
}

/** `7d`, `12h`, `30m`, `45s`, `1500ms` or plain seconds → milliseconds. */
export function parseDuration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?$/.exec(text.trim());
  if (!m) throw new ConfigError(`${flag}: '${text}' is not a duration (e.g. 7d, 12h, 30m, 45s)`);
  const unit =
    { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[m[2] ?? 's'] ?? 1000;
  const ms = Math.round(Number(m[1]) * unit);
  if (ms < 1000) throw new ConfigError(`${flag}: at least 1 s`);
  return ms;
}

/** Validates the options and fills in the defaults. @throws ConfigError */
export function buildEdgeConfig(input: EdgeOptionsInput, cwd = process.cwd()): EdgeConfig {
  if (!input.primary) throw new ConfigError('--primary ADDR:PORT is required');
  if (!input.key) throw new ConfigError('--key NAME:ALG:SECRET is required');
  if (!input.state) throw new ConfigError('--state DIR is required');
  let primary: OutboundTarget;
  try {
    primary = parseOutboundTarget(input.primary);
  } catch (err) {
    throw new ConfigError(`--primary: ${(err as Error).message}`);
  }
  let keyName: string;
  try {
    keyName = parseTsigKeySpec(input.key).name.toString();
  } catch (err) {
    if (err instanceof TsigKeyError) throw new ConfigError(`--key: ${err.message}`);
    throw err;
  }
  let catalog: string;
  try {
    catalog = Name.parse(input.catalog ?? DEFAULT_EDGE_CATALOG)
      .toString()
      .toLowerCase();
  } catch (err) {
    throw new ConfigError(`--catalog: ${(err as Error).message}`);
  }
  const notify: OutboundTarget[] = [];
  for (const t of input.notify ?? [])
    try {
      notify.push(parseOutboundTarget(t));
    } catch (err) {
      throw new ConfigError(`--notify: ${(err as Error).message}`);
    }
  const pop = input.pop ?? keyName.replace(/\.$/, '');
  if (pop.length === 0 || Buffer.byteLength(pop, 'utf8') > 512)
    throw new ConfigError('--pop: 1 to 512 octets');
  // The serving settings by serve's own checks; the NSID is the POP unless --nsid is given.
  const { zoneDir: _unused, ...serving } = buildServeConfig(
    { ...input, zoneDir: input.state, nsid: input.nsid ?? pop, images: 'on' },
    cwd,
  );
  return {
    ...serving,
    workers: Math.max(1, serving.workers),
    primary,
    key: input.key,
    stateDir: resolve(cwd, input.state),
    pop,
    catalog,
    maxStaleMs:
      input.maxStale === undefined ? DEFAULT_MAX_STALE_MS : parseDuration('--max-stale', input.maxStale),
    notify,
  };
}
