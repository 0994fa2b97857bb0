/**
 * `switchboard start` configuration: validated from command-line options; the DNS part is
 * passed to the worker processes as JSON in the environment.
 * @module
 */

import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { DEFAULT_MAX_TTL, MAX_TTL_RFC, parseHostName } from '../../control/records.js';
import type { ShieldPolicy } from '../../control/types.js';
import {
  DEFAULT_TENANT_METRICS_ZONES,
  DEFAULT_TENANT_SHIELD_ZONES,
  MAX_METRICS_ZONES,
  MAX_SHIELD_ZONES,
  parseShieldZone,
  parseShieldZones,
  type ShieldZoneSetting,
} from '../../shield/config.js';
import { TransportError } from '../../transport/errors.js';
import {
  type ListenAddress,
  parseListenAddress,
  parseListenAddresses,
} from '../../transport/listen-address.js';
import {
  DEFAULT_TCP_IDLE_TIMEOUT_MS,
  DEFAULT_TCP_MAX_CONNECTIONS,
  DEFAULT_TCP_MAX_PER_CLIENT,
} from '../../transport/tcp.js';
import { DEFAULT_UDP_RECV_BUFFER, DEFAULT_UDP_SEND_BUFFER } from '../../transport/udp.js';
import { Name } from '../../wire/name.js';
import { DEFAULT_FLEET_CATALOG } from '../../xfr/catz/format.js';
import { OutboundPolicy } from '../../xfr/outbound.js';
import {
  type DnsWorkerConfig,
  decodeDnsWorkerConfig,
  encodeDnsWorkerConfig,
  START_CONFIG_ENV,
} from '../shared/dns-worker-config.js';
import { parseImages } from '../shared/images.js';
import { parseUdpIo, type UdpIoChoice } from '../shared/listeners.js';
import { parseNativeAnswers } from '../shared/native-answers-option.js';
import { applyAnswerOptions, ConfigError, DEFAULT_DNS, parseInteger } from '../shared/options.js';
import { resolveShieldFlags, type ShieldFlagsInput } from '../shared/shield.js';
import { resolveTransferFlags } from '../shared/transfers.js';
import { metricsAccessOf, parseLimitFlags, type StartLimits } from './limits.js';

export {
  DEFAULT_MAX_TTL,
  type DnsWorkerConfig,
  decodeDnsWorkerConfig,
  encodeDnsWorkerConfig,
  START_CONFIG_ENV,
};

/** Where the embedded store lives when `--data` is not given. */
export const DEFAULT_DATA_DIR = './data';
/** The HTTP API listener when `--http` is not given (loopback). */
export const DEFAULT_HTTP = '127.0.0.1:8080';
/** The environment variable that seeds an administrator key. */
export const API_KEY_ENV = 'SWITCHBOARD_API_KEY';

/** Everything `switchboard start` needs. */
export interface StartConfig {
  /** Absolute path of the data folder (SQLite store). */
  dataDir: string;
  /** `postgres://…` when PostgreSQL is the store. */
  database?: string;
  /** Where the HTTP API listens. */
  http: ListenAddress;
  /** DNS worker processes (at least 1). */
  workers: number;
  dns: DnsWorkerConfig;
  /** `--io`: the UDP path asked for (`auto` unless given; SWITCHBOARD_IO sets the default). */
  io: UdpIoChoice;
  /** `--images on|off` (SWITCHBOARD_IMAGES sets the default; on unless given or set off): the primary
   * compiles each zone once and the DNS workers serve the shared images. */
  images: boolean;
  /** The platform's name servers: the apex NS of zones created without any (absolute names). */
  nameservers?: string[];
  /** `--limit` and `--trusted-proxy`: the API's request limits and the retention of history. */
  limits?: StartLimits;
  /** Who may read `/metrics` (`--metrics`; default open on loopback only). */
  metricsAccess?: 'open' | 'key';
  /** Highest record TTL the control plane accepts (`--max-ttl`; absent: its default, 30 days). */
  maxTtl?: number;
  /** Most records one request may make (`--max-records-per-request`; absent: 200000). */
  maxRecordsPerRequest?: number;
  /**
   * Per-zone shield settings through the API: the platform's caps (1,024 zones and 100 in the
   * metrics, less those `--shield-zone` sets) and what tenants may set (`--shield-tenant`).
   */
  shieldPolicy?: ShieldPolicy;
  /**
   * Where tenants may aim the platform (secondary zones' masters, ALSO-NOTIFY, NOTIFY targets):
   * special-purpose ranges refused unless `--outbound-allow PREFIX` (repeatable) opens them.
   */
  outbound: OutboundPolicy;
  /**
   * The fleet catalog's name (RFC 9432; `--fleet-catalog NAME`, default
   * `catalog.switchboard.invalid.`): a catalog zone of every zone, transferable with an edge key only.
   */
  fleetCatalog?: string;
}

/** Raw options as the CLI hands them over. */
export interface StartOptionsInput extends ShieldFlagsInput {
  data?: string;
  database?: string;
  dns?: string[];
  http?: string;
  workers?: string | number;
  nsid?: string;
  ednsSize?: string | number;
  /** `--identity`: absent = the host name, empty = refuse `id.server.`. */
  identity?: string;
  /** `--hide-version`: refuse `version.server.`. */
  hideVersion?: boolean;
  /** The package version (not a flag: the CLI reads package.json once). */
  serverVersion?: string;
  /** Comma-separated name server names (flag --nameservers or env SWITCHBOARD_NAMESERVERS). */
  nameservers?: string;
  /** `--limit NAME=N` (repeatable). */
  limit?: string[];
  /** `--trusted-proxy ADDR[/LEN]` (repeatable, or comma-separated). */
  trustedProxy?: string[];
  /** `--metrics open|key`. */
  metrics?: string;
  /** `--max-ttl SECONDS`: the one TTL limit of both APIs and of zone files. */
  maxTtl?: string | number;
  /** `--max-records-per-request N`: the per-request record ceiling (issue 6). */
  maxRecordsPerRequest?: string | number;
  /** `--io native|node|auto`. */
  io?: string;
  /** `--images on|off`. */
  images?: string;
  /** `--native-answers [on|off|auto]` (true: given without a value). */
  nativeAnswers?: string | boolean;
  /** `--shield-tenant off|key=max,…`: the per-zone settings tenants may set, and their ceilings. */
  shieldTenant?: string;
  /** `--transfer-key NAME:ALG:SECRET` (repeatable): keys that may transfer every zone (edges). */
  transferKey?: string[];
  /** `--outbound-allow PREFIX` (repeatable): a special-purpose range tenants may name as a target. */
  outboundAllow?: string[];
  /** `--fleet-catalog NAME`: the fleet catalog zone's name. */
  fleetCatalog?: string;
}

/**
 * The per-zone shield policy of the API: caps less the flags' zones; `--shield-tenant`
 * (`min-nx=N,budget=N,responses=N,…,metrics=on`, the `--shield-zone` fields: each one tenants
 * may set, at most N) or `off` (default: tenants read their zones' settings only).
 * @throws ConfigError naming the flag
 */
export function shieldPolicyOf(input: { shieldZone?: string[]; shieldTenant?: string }): ShieldPolicy {
  let flagZones: ShieldZoneSetting[];
  try {
    flagZones = parseShieldZones(input.shieldZone ?? []);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  const policy: ShieldPolicy = {
    maxZones: MAX_SHIELD_ZONES - flagZones.length,
    maxMetricsZones: Math.max(0, MAX_METRICS_ZONES - flagZones.filter((z) => z.metrics).length),
  };
  const t = input.shieldTenant?.trim();
  if (t === undefined || t === 'off') return policy;
  // The per-account caps (`zones=N`, `metrics-zones=N`) are this flag's own; the rest are
  // `--shield-zone`'s fields, each a ceiling.
  const caps: Record<string, number> = {
    zones: DEFAULT_TENANT_SHIELD_ZONES,
    'metrics-zones': DEFAULT_TENANT_METRICS_ZONES,
  };
  const fields: string[] = [];
  for (const part of t.split(',')) {
    const [key, value] = part.split('=', 2).map((x) => x.trim());
    if (key !== undefined && key in caps) {
      const max = key === 'zones' ? MAX_SHIELD_ZONES : MAX_METRICS_ZONES;
      const n = Number(value);
      if (!/^\d+$/.test(value ?? '') || n > max)
        throw new ConfigError(
          `--shield-tenant: ${key} must be 0..${max} (zones of one account), got '${value ?? ''}'`,
        );
      caps[key] = n;
    } else fields.push(part);
  }
  let parsed: ShieldZoneSetting;
  try {
    parsed = parseShieldZone(`tenant.:${fields.join(',')}`);
  } catch (e) {
    throw new ConfigError(
      `--shield-tenant: ${(e as Error).message.replace(/^--shield-zone 'tenant\.:[^']*': /, '')}`,
    );
  }
  const { name: _name, ...ceilings } = parsed;
  return {
    ...policy,
    tenant: ceilings,
    tenantZones: caps.zones,
    tenantMetricsZones: caps['metrics-zones'],
  };
}

/**
 * Validates raw start options and fills in defaults.
 * @throws ConfigError SERVER_ERR_CONFIG
 */
export function buildStartConfig(input: StartOptionsInput, cwd = process.cwd()): StartConfig {
  const images = parseImages(input.images);
  const parse = <T>(flag: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof TransportError) throw new ConfigError(`${flag}: ${err.message}`, { cause: err });
      throw err;
    }
  };
  const listen = parse('--dns', () =>
    parseListenAddresses(input.dns && input.dns.length > 0 ? input.dns : [DEFAULT_DNS]),
  );
  const http = parse('--http', () => parseListenAddress(input.http ?? DEFAULT_HTTP, 8080));
  if (input.database !== undefined && !/^postgres(ql)?:\/\//.test(input.database))
    throw new ConfigError(`--database must be a postgres:// URL, got '${input.database}'`);
  const dns: DnsWorkerConfig = {
    listen,
    tcpIdleTimeoutMs: DEFAULT_TCP_IDLE_TIMEOUT_MS,
    tcpMaxConnections: DEFAULT_TCP_MAX_CONNECTIONS,
    tcpMaxConnectionsPerClient: DEFAULT_TCP_MAX_PER_CLIENT,
    udpRecvBufferSize: DEFAULT_UDP_RECV_BUFFER,
    udpSendBufferSize: DEFAULT_UDP_SEND_BUFFER,
    nativeAnswers: parseNativeAnswers(input.nativeAnswers, images),
  };
  const shield = resolveShieldFlags(input);
  if (shield !== undefined) dns.shield = shield;
  const transfers = resolveTransferFlags({ transferKey: input.transferKey });
  if (transfers !== undefined) dns.transfers = transfers;
  applyAnswerOptions(dns, input);
  let nameservers: string[] | undefined;
  if (input.nameservers !== undefined && input.nameservers.trim() !== '') {
    nameservers = input.nameservers.split(',').map((n) => n.trim());
    // The rule zone creation applies to `nameservers` (RFC 952, RFC 1123 §2.1).
    nameservers = nameservers.map((n) => {
      try {
        return parseHostName(n, '--nameservers');
      } catch (err) {
        throw new ConfigError(`--nameservers: ${(err as Error).message}`, { cause: err });
      }
    });
  }
  let limits: StartLimits;
  let metricsAccess: 'open' | 'key';
  try {
    limits = parseLimitFlags(input.limit, input.trustedProxy);
    metricsAccess = metricsAccessOf(input.metrics, http.host);
  } catch (err) {
    throw new ConfigError((err as Error).message, { cause: err });
  }
  let outbound: OutboundPolicy;
  try {
    outbound = new OutboundPolicy(input.outboundAllow ?? []);
  } catch (err) {
    throw new ConfigError(`--outbound-allow: ${(err as Error).message}`, { cause: err });
  }
  let fleetCatalog = DEFAULT_FLEET_CATALOG;
  if (input.fleetCatalog !== undefined)
    try {
      fleetCatalog = Name.parse(
        input.fleetCatalog.endsWith('.') ? input.fleetCatalog : `${input.fleetCatalog}.`,
      )
        .toString()
        .toLowerCase();
      if (fleetCatalog === '.') throw new Error('the root cannot be a catalog zone');
    } catch (err) {
      throw new ConfigError(
        `--fleet-catalog: '${input.fleetCatalog}' is not a zone name: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  return {
    limits,
    metricsAccess,
    outbound,
    fleetCatalog,
    dataDir: resolve(cwd, input.data ?? DEFAULT_DATA_DIR),
    database: input.database,
    ...(nameservers ? { nameservers } : {}),
    shieldPolicy: shieldPolicyOf(input),
    // RFC 2181 §8: a TTL is at most 2^31-1.
    ...(input.maxTtl !== undefined
      ? { maxTtl: parseInteger('--max-ttl', input.maxTtl, 0, MAX_TTL_RFC, 0) }
      : {}),
    ...(input.maxRecordsPerRequest !== undefined
      ? {
          maxRecordsPerRequest: parseInteger(
            '--max-records-per-request',
            input.maxRecordsPerRequest,
            1,
            MAX_TTL_RFC,
            0,
          ),
        }
      : {}),
    http,
    workers: parseInteger('--workers', input.workers, 1, 256, availableParallelism()),
    dns,
    io: parseUdpIo(input.io),
    images,
  };
}

/** A database URL with its password hidden, for printing. */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}
