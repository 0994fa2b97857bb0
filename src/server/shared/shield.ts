/**
 * The shield in a DNS-serving process (docs/SHIELD.md): the operator's flags checked once in
 * the primary (a random cookie secret made there when none is given, so every worker shares
 * it), and in each worker the native path's shield configured after its socket opens, its
 * zone attack events turned into log lines.
 * @module
 */
import type { Catalog } from '../../answer/catalog.js';
import {
  MAX_METRICS_ZONES,
  MAX_SHIELD_ZONES,
  parseShieldZones,
  type ShieldZoneSetting,
  shieldSettings,
  ZONE_NUMBERS,
  zoneRrlRates,
} from '../../shield/config.js';
import {
  CookieRotation,
  DEFAULT_COOKIE_ROTATE_MS,
  parseCookieRotate,
  rolloverDelay,
} from '../../shield/cookie-rotation.js';
import { ipv4Octets, NodeShield, type ZoneClassifier, type ZoneSignal } from '../../shield/node-shield.js';
import { addressOctets, parsePrefix } from '../../shield/prefix-set.js';
import type { ShieldCounters } from '../../telemetry/dns-counters.js';
import { MAX_WATCHED_ZONES } from '../../telemetry/dns-layout.js';
import { STANDING_FILE_ENV } from '../../transport/cluster.js';
import type { QueryHandler } from '../../transport/handler.js';
import {
  configureNativeShield,
  type NativeShieldStats,
  type NativeZoneSetting,
  nativeZoneKey,
  setNativeZoneSettings,
} from '../../transport/native-shield.js';
import { nativeTcpGate, nativeUdpStatus } from '../../transport/native-udp.js';
import { RRType } from '../../wire/constants.js';
import { Name } from '../../wire/name.js';
import { ConfigError } from './options.js';

/** The shield's flags as they travel to workers (JSON). */
export interface ShieldFlags {
  mode: 'off' | 'on' | 'dry-run';
  rrl?: string;
  /** 32 hex digits each; the first makes cookies. */
  cookieSecrets: string[];
  allow: string[];
  /** `--cookie-rotate`: a new secret every this many ms, made by the primary (0: never). */
  cookieRotateMs?: number;
  /** `--shield-zone NAME:key=value,…` as given (checked by the primary). */
  zones?: string[];
}

/** Primary → worker: the cookie secrets to use from now on (32 hex digits each; the first makes). */
export interface CookieSecretsMessage {
  type: 'switchboard:cookie-secrets';
  secrets: string[];
}

/** Narrows an IPC message to a cookie secrets message (1 to 3 secrets of 32 hex digits). */
export function isCookieSecretsMessage(msg: unknown): msg is CookieSecretsMessage {
  if (typeof msg !== 'object' || msg === null) return false;
  const m = msg as { type?: unknown; secrets?: unknown };
  return (
    m.type === 'switchboard:cookie-secrets' &&
    Array.isArray(m.secrets) &&
    m.secrets.length >= 1 &&
    m.secrets.length <= 3 &&
    m.secrets.every((x) => typeof x === 'string' && /^[0-9a-f]{32}$/.test(x))
  );
}

/** The shield's flags as the CLI hands them over (strings, possibly missing): `serve` and `start` alike. */
export interface ShieldFlagsInput {
  /** `--shield off|on|dry-run`. */
  shield?: string;
  /** `--rrl responses=N,…`. */
  rrl?: string;
  /** `--cookie-secret HEX` (repeatable). */
  cookieSecret?: string[];
  /** `--shield-allow PREFIX` (repeatable). */
  shieldAllow?: string[];
  /** `--cookie-rotate off|DURATION`. */
  cookieRotate?: string;
  /** `--shield-zone NAME:key=value,…` (repeatable). */
  shieldZone?: string[];
}

/**
 * Checks the flags (`--shield`, `--rrl`, `--cookie-secret`, `--shield-allow`) and fills in a
 * random cookie secret when none is given. Undefined when the shield is off and nothing else
 * was asked. @throws ConfigError naming the flag at fault
 */
export function resolveShieldFlags(input: ShieldFlagsInput): ShieldFlags | undefined {
  let settings: ReturnType<typeof shieldSettings>;
  let rotateMs: number | undefined;
  try {
    settings = shieldSettings(input);
    rotateMs = input.cookieRotate === undefined ? undefined : parseCookieRotate(input.cookieRotate);
    parseShieldZones(input.shieldZone ?? []);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
  if (settings.mode === 'off') {
    if (
      input.rrl !== undefined ||
      (input.cookieSecret ?? []).length > 0 ||
      (input.shieldAllow ?? []).length > 0 ||
      input.cookieRotate !== undefined ||
      (input.shieldZone ?? []).length > 0
    )
      throw new ConfigError(
        '--rrl, --cookie-secret, --cookie-rotate, --shield-allow and --shield-zone need --shield on or --shield dry-run',
      );
    return undefined;
  }
  const secrets = settings.cookieSecrets.map((s) => Buffer.from(s).toString('hex'));
  // A secret the operator gives is theirs to rotate (they may share it with other servers):
  // rotated here only when --cookie-rotate asks. A secret made here is rotated daily.
  const given = secrets.length > 0;
  if (!given) secrets.push(Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('hex'));
  return {
    mode: settings.mode,
    rrl: input.rrl,
    cookieSecrets: secrets,
    allow: input.shieldAllow ?? [],
    cookieRotateMs: rotateMs ?? (given ? 0 : DEFAULT_COOKIE_ROTATE_MS),
    ...(input.shieldZone?.length ? { zones: input.shieldZone } : {}),
  };
}

/**
 * Primary → worker: every zone's own settings from the control plane (`start`: the API's
 * `/zones/{zone}/shield`), the whole list each time (at most 1,024). The worker merges them
 * with its `--shield-zone` flags (the flag wins, field by field) and hands the result to its
 * running shield, the tables kept.
 */
export interface ShieldZonesMessage {
  type: 'switchboard:shield-zones';
  zones: ShieldZoneSetting[];
}

function validNumber(v: unknown, flagKey: string): boolean {
  const spec = ZONE_NUMBERS[flagKey];
  return v === undefined || (typeof v === 'number' && v >= spec[2] && v <= spec[3]);
}

/** Narrows an IPC message to a shield zones message (each setting in the flag's ranges). */
export function isShieldZonesMessage(msg: unknown): msg is ShieldZonesMessage {
  if (typeof msg !== 'object' || msg === null) return false;
  const m = msg as { type?: unknown; zones?: unknown };
  if (m.type !== 'switchboard:shield-zones' || !Array.isArray(m.zones) || m.zones.length > MAX_SHIELD_ZONES)
    return false;
  return m.zones.every((z: unknown) => {
    if (typeof z !== 'object' || z === null) return false;
    const x = z as ShieldZoneSetting;
    if (typeof x.name !== 'string' || !x.name.endsWith('.')) return false;
    if (!validNumber(x.minNxPerSecond, 'min-nx') || !validNumber(x.budgetFloor, 'budget')) return false;
    if (x.metrics !== undefined && typeof x.metrics !== 'boolean') return false;
    if (x.rrl === undefined) return true;
    if (typeof x.rrl !== 'object' || x.rrl === null) return false;
    return (['responses', 'nxdomains', 'nodata', 'referrals', 'errors'] as const).every((k) =>
      validNumber(x.rrl?.[k], k),
    );
  });
}

/**
 * The flags' zone settings merged with the control plane's: a zone in both takes each field
 * from the flag when the flag sets it (the process's flags are the operator's last word), else
 * the API's. Bounded as the flag is: at most MAX_SHIELD_ZONES zones (flags first) and
 * MAX_METRICS_ZONES with metrics — the control plane keeps its zones within what the flags
 * leave, so nothing is cut unless the two disagree about the bound.
 */
export function mergeShieldZones(
  flags: readonly ShieldZoneSetting[],
  api: readonly ShieldZoneSetting[],
): { zones: ShieldZoneSetting[]; dropped: number } {
  const byName = new Map<string, ShieldZoneSetting>();
  for (const z of api) byName.set(z.name.toLowerCase(), { ...z, name: z.name.toLowerCase() });
  const out: ShieldZoneSetting[] = [];
  for (const f of flags) {
    const a = byName.get(f.name);
    byName.delete(f.name);
    if (a === undefined) {
      out.push(f);
      continue;
    }
    const rrl = a.rrl || f.rrl ? { ...a.rrl, ...f.rrl } : undefined;
    out.push({
      name: f.name,
      ...((f.minNxPerSecond ?? a.minNxPerSecond) !== undefined
        ? { minNxPerSecond: f.minNxPerSecond ?? a.minNxPerSecond }
        : {}),
      ...((f.budgetFloor ?? a.budgetFloor) !== undefined
        ? { budgetFloor: f.budgetFloor ?? a.budgetFloor }
        : {}),
      ...(rrl ? { rrl } : {}),
      ...((f.metrics ?? a.metrics) !== undefined ? { metrics: f.metrics ?? a.metrics } : {}),
    });
  }
  let dropped = 0;
  let metrics = out.filter((z) => z.metrics).length;
  for (const z of byName.values()) {
    if (out.length >= MAX_SHIELD_ZONES) {
      dropped++;
      continue;
    }
    if (z.metrics && metrics >= MAX_METRICS_ZONES) {
      out.push({ ...z, metrics: false });
      dropped++;
      continue;
    }
    if (z.metrics) metrics++;
    out.push(z);
  }
  return { zones: out, dropped };
}

/** The control plane's zone settings handed to this worker last (until then none). */
let handedZones: ShieldZoneSetting[] = [];

/**
 * In a worker: takes the control plane's zone settings. The running shield (native or Node
 * path) takes them merged with the flags' from the next datagram, its tables kept; a shield
 * started later uses them.
 */
export function applyShieldZones(msg: ShieldZonesMessage): void {
  // The same list again (a worker's hello and a read after it) changes nothing.
  if (JSON.stringify(msg.zones) === JSON.stringify(handedZones)) return;
  handedZones = msg.zones.slice();
  active?.setZones(handedZones);
}

/** A running rotation in a primary. */ /** A running rotation in a primary. */
export interface CookieRotationTimer {
  /** The message with the set in force now (for a worker that starts or restarts). */
  current(): CookieSecretsMessage;
  close(): void;
}

/**
 * In the primary: rotates the cookie secret every `flags.cookieRotateMs` (RFC 9018 rollover:
 * the next secret accepted first, made `rolloverDelay` later) and hands every set to
 * `broadcast`, which sends it to every worker at once. Undefined when nothing rotates.
 */
export function startCookieRotation(
  flags: ShieldFlags | undefined,
  broadcast: (msg: CookieSecretsMessage) => void,
  log: { info(m: string): void },
): CookieRotationTimer | undefined {
  const period = flags?.cookieRotateMs ?? 0;
  if (flags === undefined || flags.mode === 'off' || period <= 0) return undefined;
  const given = flags.cookieSecrets.map((h) => Uint8Array.from(Buffer.from(h, 'hex')));
  const rotation = new CookieRotation(given[0]);
  // The operator's other secrets (already accepted) are kept until the first rotation.
  let set: Uint8Array[] = given;
  const message = (): CookieSecretsMessage => ({
    type: 'switchboard:cookie-secrets',
    secrets: set.map((k) => Buffer.from(k).toString('hex')),
  });
  const delay = rolloverDelay(period);
  let timer: NodeJS.Timeout | undefined;
  const announce = (): void => {
    set = rotation.announce();
    broadcast(message());
    timer = setTimeout(promote, delay);
    timer.unref();
  };
  const promote = (): void => {
    set = rotation.promote();
    broadcast(message());
    log.info(
      `shield: cookie secret rotated (${rotation.rotations} since start; the previous one accepted until the next rotation in ${formatPeriod(period)})`,
    );
    timer = setTimeout(announce, period - delay);
    timer.unref();
  };
  timer = setTimeout(announce, period - delay);
  timer.unref();
  log.info(
    `shield: cookie secret rotated every ${formatPeriod(period)} (RFC 9018 rollover, shared by every worker)`,
  );
  return {
    current: message,
    close: () => clearTimeout(timer),
  };
}

function formatPeriod(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms / 1000}s`;
}

/** The secrets the primary handed this worker last (hex), overriding the flags' once given. */
let handedSecrets: string[] | undefined;

/**
 * In a worker: takes the primary's cookie secrets. The native shield (when on) checks and makes
 * cookies with them from the next datagram, its tables kept; a shield started later uses them.
 */
export function applyCookieSecrets(msg: CookieSecretsMessage): void {
  handedSecrets = msg.secrets.slice();
  active?.setSecrets(secretBytes(handedSecrets));
}

function secretBytes(hex: readonly string[]): Uint8Array {
  const out = new Uint8Array(16 * hex.length);
  hex.forEach((h, i) => {
    out.set(Buffer.from(h, 'hex'), 16 * i);
  });
  return out;
}

/** The shield of this process, when on (for `shieldSawTcp`, new cookie secrets, new zone settings). */
let active:
  | {
      noteTcp(address: Uint8Array): void;
      /** False: a stranger under pressure (overload, nothing vouches for the address). */
      tcpAdmit(address: Uint8Array): boolean;
      setSecrets(secrets: Uint8Array): void;
      setZones(api: readonly ShieldZoneSetting[]): void;
    }
  | undefined;
/** Its counters as last read (once a second), attacked zones by name. */
let latest: ShieldCounters | undefined;
/** Whether `active` is the native shield, on (not in dry run). */
let activeNative = false;

/** The shield's counters for the worker's DNS report; undefined when it is off. */
export function shieldCounters(): ShieldCounters | undefined {
  return latest;
}

/**
 * Tells the shield that `address` completed a TCP handshake and sent a query over it: the
 * address is real, not spoofed (the `tcp` tier). Cheap when the shield is off.
 */
export function shieldSawTcp(address: string): void {
  if (active === undefined) return;
  try {
    active.noteTcp(addressOctets(address));
  } catch {
    // not an address we can key: nothing to remember
  }
}

/** The IPv4 octets of the address being judged (reused: nothing keeps them). */
const standingV4 = new Uint8Array(4);

/**
 * The TCP listener's gate (src/transport/tcp.ts `setGate`): false when the shield is on, the
 * worker is behind (overload level >= 1) and nothing vouches for `address` — no TC=1 of ours
 * to it in the last 5 s, no TCP query after one, no valid cookie lately, no calm-time history
 * (sources.ts `vouched`, shield.c `sb_sources_vouched`). The listener then serves it only within
 * its strangers' budget. True when the shield is off (or not configured yet) and for text that
 * is not an address.
 */
export function shieldTcpStanding(address: string): boolean {
  if (active === undefined) return true;
  let octets = ipv4Octets(address, standingV4);
  if (octets === undefined) {
    try {
      octets = addressOctets(address);
    } catch {
      return true;
    }
  }
  return active.tcpAdmit(octets);
}

/** Whether this process's shield is the native one (the addon's), on (not in dry run): its TCP
 * accept decision is then made in C (native/tcp_gate.h, src/transport/tcp.ts `acceptGate`). */
export function shieldOnNativePath(): boolean {
  return activeNative;
}

/** The octets of a connection's address as the C accept decision takes them (4 or 16), or
 * undefined for text that is not an address. The IPv4 ones are reused: nothing may keep them. */
export function tcpAddressOctets(address: string): Uint8Array | undefined {
  const octets = ipv4Octets(address, standingV4);
  if (octets !== undefined) return octets;
  try {
    return addressOctets(address);
  } catch {
    return undefined;
  }
}

export interface RunningShield {
  close(): void;
}

/**
 * Configures this worker's shield, if the flags turn it on: the native path's (C) or, with
 * `--io node`, the Node path's (src/shield/node-shield.ts, through `withNodeShield`). Logs what
 * runs. The zone attack events are read every second and logged with the zone's name.
 */
/**
 * The worker's log line for an onset trace (ShieldStats.onset): per 100 ms after the worker fell
 * behind, the datagrams read per tier and how many of them were not answered, then the /24s
 * blocked, the overload level, the zones in the QNAME filter and how many were read while the
 * worker was behind now — e.g. `u1200-300 h150-0 t0-0 c90-0 b4 L0 q1 n1440`. Accounting only (docs/SHIELD.md "The onset trace").
 */
export function onsetLine(onset: { at: number; slices: number[][]; blocks?: number[][] }): string {
  const tiers = ['u', 'h', 't', 'c'];
  const slices = onset.slices.map((f, i) => {
    const read = tiers.map((t, k) => `${t}${f[k] ?? 0}-${f[4 + k] ?? 0}`).join(' ');
    return `+${i * 100}: ${read} b${f[8] ?? 0} L${f[9] ?? 0} q${f[10] ?? 0} n${f[11] ?? 0}`;
  });
  const blocks = (onset.blocks ?? []).map((b) => {
    const [
      p24 = 0,
      at = 0,
      rule = 0,
      hosts = 0,
      recent = 0,
      total = 0,
      nx = 0,
      sheds = 0,
      rrl = 0,
      first = 0,
      behind = 0,
    ] = b;
    const prefix = `${(p24 >>> 24) & 255}.${(p24 >>> 16) & 255}.${(p24 >>> 8) & 255}`;
    const since = recent > 0 ? ` from ${first >= 0 ? '+' : ''}${Math.round(first)}` : '';
    return `${prefix} +${Math.round(at)} ${String.fromCharCode(rule || 63)} h${hosts} w${recent}/${total}${since} b${behind} n${nx} s${sheds} r${rrl}`;
  });
  const tail = onset.blocks
    ? `; /24s blocked (ms after falling behind, rule: s shed, r rate limited, n many hosts, S share; hosts, its strangers' datagrams read lately of all strangers', from ms, read while behind; this second's counts): ${blocks.length ? blocks.join(', ') : 'none'}`
    : '';
  return `shield: onset: the worker fell behind at ${new Date(onset.at).toISOString().slice(11, 23)}Z; per 100 ms, read-not answered per tier (u unknown, h history, t tcp, c cookie), /24s blocked, level, zones filtered, read while behind now: ${slices.join('; ')}${tail}`;
}

export function startShield(
  config: { shield?: ShieldFlags; udpIo?: string; nativeAnswers?: boolean | 'auto'; ednsSize?: number },
  log: { info(m: string): void; warn(m: string): void },
  catalog: () => Catalog,
): RunningShield | undefined {
  const flags = config.shield;
  if (flags === undefined || flags.mode === 'off') return undefined;
  const s = shieldSettings({
    shield: flags.mode,
    rrl: flags.rrl,
    cookieSecret: handedSecrets ?? flags.cookieSecrets,
  });
  const mode = s.mode === 'dry-run' ? 'dry-run' : 'on';
  const flagZones = parseShieldZones(flags.zones ?? []);
  // The flags' zone settings with the control plane's (start), merged; the flag wins.
  const merged = (api: readonly ShieldZoneSetting[]): NativeZoneSetting[] => {
    const m = mergeShieldZones(flagZones, api);
    if (m.dropped > 0)
      log.warn(
        `shield: ${m.dropped} zone settings from the API left out: the table holds ${MAX_SHIELD_ZONES} zones, ${MAX_METRICS_ZONES} in the metrics`,
      );
    return m.zones.map((z) => ({
      key: nativeZoneKey(Buffer.from(Name.parse(z.name).key, 'latin1')),
      minNxPerSecond: z.minNxPerSecond,
      budgetFloor: z.budgetFloor,
      rrlRates: zoneRrlRates(z, s.rrl),
      metrics: z.metrics,
    }));
  };
  let fromApi = handedZones;
  let zoneSettings: NativeZoneSetting[];
  try {
    zoneSettings = merged(fromApi);
  } catch (e) {
    // Not expected (the primary sends stored zone names): the flags' settings alone then.
    log.warn(`shield: zone settings from the API not taken: ${(e as Error).message}`);
    fromApi = [];
    zoneSettings = merged(fromApi);
  }
  const zones = mergeShieldZones(flagZones, fromApi).zones;
  const zoneRrl = zones.some((z) => z.rrl !== undefined);
  const zonesText = zones.length
    ? `, ${zones.length} zone${zones.length === 1 ? '' : 's'} with settings of their own (${zones.filter((z) => z.metrics).length} in the metrics)`
    : '';
  const rrlText = s.rrl ? `, response-rate limiting ${flags.rrl}` : ', no response-rate limiting';
  const cookiesText = `, cookies checked (${s.cookieSecrets.length} secret${s.cookieSecrets.length === 1 ? '' : 's'})`;
  const allowText = flags.allow.length ? `, ${flags.allow.length} allowed prefixes` : '';
  let stats: () => NativeShieldStats | null;
  let off: () => void;
  if (config.udpIo === 'native') {
    const status = nativeUdpStatus();
    if (!status.ok) {
      log.warn(`--shield ignored: ${status.reason}`);
      return undefined;
    }
    configureNativeShield(status.addon, {
      mode: s.mode,
      secrets: s.cookieSecrets,
      allow: flags.allow.map((p) => parsePrefix(p)),
      // A zone's own RRL rates need the limiter even when the server limits nothing (its rates 0).
      rrl: s.rrl ?? (zoneRrl ? { responsesPerSecond: 0 } : null),
      zoneSettings,
    });
    log.info(
      `shield ${flags.mode} on the native UDP path: admission before answering` +
        (config.nativeAnswers
          ? ' (zone signals from the zone images)'
          : ' (no zone signal: --native-answers is off)') +
        rrlText +
        cookiesText +
        allowText +
        zonesText +
        '; before the socket queue: a BPF filter on the socket drops IPv4 /24s that flood directly, and IPv6 /56s (the same classic BPF program, both modes; while a bridge holds, its eBPF translation where bpf(2) is allowed, the IPv6 check in it)',
    );
    // The C accept decision only when the shield acts (in dry run it would drop nothing, and the
    // listener takes one connection a turn as before).
    activeNative = mode === 'on';
    active = {
      noteTcp: (a) => status.addon.shieldNoteTcp(a),
      tcpAdmit: (a) => status.addon.shieldTcpAdmit?.(a) ?? true,
      setSecrets: (k) => status.addon.shieldSetSecrets(k),
      setZones: (api) => {
        try {
          setNativeZoneSettings(status.addon, merged(api));
          log.info(
            `shield: zone settings changed (${api.length} from the API, ${flagZones.length} from flags)`,
          );
        } catch (e) {
          log.warn(`shield: zone settings not taken, the previous ones kept: ${(e as Error).message}`);
        }
      },
    };
    stats = () => status.addon.shieldStats();
    // Source standing: shared by the workers (the primary's file, native/standing.h) or this
    // worker's own.
    const first = stats() as {
      standingShared?: number;
      standingError?: string;
      rrlShared?: number;
    } | null;
    if (first?.standingShared === 1) {
      log.info(
        'shield: source standing (history, tcp tier, cookies) shared by the workers (one mapped table)' +
          (first.rrlShared === 1 ? '; RRL: one account per client block for all workers' : ''),
      );
    } else if (process.env[STANDING_FILE_ENV] !== undefined && process.env[STANDING_FILE_ENV] !== '') {
      log.warn(
        `shield: source standing kept per worker: the shared table could not be mapped (${first?.standingError ?? 'unknown'})`,
      );
    }
    off = () => status.addon.shieldConfigure(0, new Float64Array(28), new Uint8Array(0), new Uint8Array(0));
  } else {
    const shield = new NodeShield({
      mode,
      secrets: s.cookieSecrets,
      allow: s.allow,
      rrl: s.rrl,
      zoneSettings: new Map(zoneSettings.map((z) => [z.key, z])),
      ednsSize: config.ednsSize,
    });
    nodeShield = shield;
    log.info(
      `shield ${flags.mode} on the Node UDP path: admission before answering (zone signals from the served zones)` +
        rrlText +
        cookiesText +
        allowText +
        zonesText +
        '; no kernel prefilter on this path (direct floods are shed after the read)',
    );
    active = {
      setZones: (api) => {
        try {
          shield.setZoneSettings(new Map(merged(api).map((z) => [z.key, z])));
          log.info(
            `shield: zone settings changed (${api.length} from the API, ${flagZones.length} from flags)`,
          );
        } catch (e) {
          log.warn(`shield: zone settings not taken, the previous ones kept: ${(e as Error).message}`);
        }
      },
      noteTcp: (a) => shield.noteTcp(a, performance.now()),
      tcpAdmit: (a) => shield.tcpAdmit(a, performance.now()),
      setSecrets: (k) => {
        const list: Uint8Array[] = [];
        for (let i = 0; i < k.length; i += 16) list.push(k.slice(i, i + 16));
        shield.setSecrets(list);
        return true;
      },
    };
    stats = () => {
      const now = performance.now();
      shield.tick(now);
      return shield.stats(now);
    };
    off = () => {
      if (nodeShield === shield) nodeShield = undefined;
    };
  }
  // Zone keys → names: an index of the catalog made when a key is first asked for, and again
  // only when the catalog was swapped (one walk per catalog, not per lookup).
  let indexed: Catalog | undefined;
  let names = new Map<number, string>();
  const nameOf = (key: number): string => {
    const now = catalog();
    if (now !== indexed) {
      indexed = now;
      names = new Map();
      for (const z of now.zones)
        names.set(nativeZoneKey(Buffer.from(z.origin.key, 'latin1')), z.origin.toString());
    }
    return names.get(key) ?? `zone #${key}`;
  };
  let blocked = 0;
  let blocked6 = 0;
  let renewed = 0;
  let bridges = 0;
  let qfZones = 0;
  // The batch accept's decisions in C (native/tcp_gate.h), logged in the second they changed.
  const tcpGate = nativeTcpGate();
  let tcpSeen = '';
  // The time of an event the native stats carry (the log line itself comes with the 1 s poll).
  const at = (ms: number | undefined, before: string, after = ''): string =>
    ms ? `${before}${new Date(ms).toISOString().slice(11, 23)}Z${after}` : '';
  const poll = (): void => {
    const st = stats();
    if (st === null) return;
    if (st.blocked !== blocked) {
      log.info(
        `shield: the kernel prefilter drops ${st.blocked} IPv4 /24${st.blocked === 1 ? '' : 's'} (was ${blocked}; ${st.blocksMade} blocks since start${st.blocksSpared ? `, ${st.blocksSpared} spared: a source of good standing in the source table` : ''}${st.blocksRenewed ? `, ${st.blocksRenewed} renewed from their sample` : ''}${at(st.blockedAt, ', the last added at ')}${blocked === 0 ? `${at(st.blockedFirstAt, ', the first at ')}${at(st.behindSince, ', the worker behind since ')}` : ''})`,
      );
      blocked = st.blocked;
    }
    // ipv626: the IPv6 /56s (their blocks and renewals on one line).
    if ((st.blocked6 ?? 0) !== blocked6) {
      log.info(
        `shield: the kernel prefilter drops ${st.blocked6 ?? 0} IPv6 /56${st.blocked6 === 1 ? '' : 's'} (was ${blocked6}; ${st.blocks6Made ?? 0} blocks since start${st.blocks6Spared ? `, ${st.blocks6Spared} spared: a source of good standing in the source table` : ''}${st.blocks6Renewed ? `, ${st.blocks6Renewed} renewed from their sample (${st.prefilterSampled6 ?? 0} sampled datagrams read)` : ''})`,
      );
      blocked6 = st.blocked6 ?? 0;
    }
    // Renewals keep the set as it was (no line above): logged on their own, for the drill's log.
    if ((st.blocksRenewed ?? 0) !== renewed) {
      log.info(
        `shield: the kernel prefilter renewed ${(st.blocksRenewed ?? 0) - renewed} block${(st.blocksRenewed ?? 0) - renewed === 1 ? '' : 's'} at expiry, its /24 still over the threshold in the sample read (${st.blocksRenewed} since start, ${st.blocksGraced ?? 0} kept 2 s to be judged again; ${st.prefilterSampled ?? 0} sampled datagrams read and dropped)`,
      );
      renewed = st.blocksRenewed ?? 0;
    }
    // bridge21: each bridge once lifted (docs/SHIELD.md "The bridge").
    if ((st.bridges ?? 0) !== bridges && !st.bridgeOn) {
      const why =
        ['', 'its blocks made', 'at its longest', 'no block made', 'the flood it kept out gone'][
          st.bridgeLastWhy ?? 0
        ] ?? '';
      // thin26: held long (its share kept out a flood no block was made for), and the most it kept out.
      const long = st.bridgeLastLong
        ? `held long: its share kept out up to ${Math.round(st.bridgeLastKept ?? 0)} datagrams a second with no block made, the strangers' share sized ${st.bridgeLastSized ?? 0} times (at most 1 in ${Math.round(1 / (st.bridgeLastShareMax || 1))}); ${st.bridgesLong} long since start; `
        : '';
      log.info(
        `shield: the bridge held the UDP socket for ${st.bridgeLastGood} /24s of standing and a share of the rest${at(st.bridgeLastAt, ' from ')} for ${Math.round(st.bridgeLastMs ?? 0)} ms (lifted: ${why}; ${long}${st.bridgeLastBlocks} blocks made while it held${st.bridgeLastJoined ? `, ${st.bridgeLastJoined} /24s joined it on standing earned` : ''}; ${st.bridges} bridges since start, ${st.bridgesRefused ?? 0} not made; quiet /24s passed whole: ${st.bridgeLoneAttached ? `${st.bridgeLoneAttached} programs attached in ${(st.bridgeLoneMs ?? 0).toFixed(1)} ms, ${st.bridgeLoneMapsOnly ?? 0} changes in the maps only, ${st.bridgeLoneDeferred ?? 0} deferred, ${st.bridgeLoneMapWrites ?? 0} map writes in ${(st.bridgeLoneMapMs ?? 0).toFixed(1)} ms, the LRU map ${st.loneMapEntries ?? 0} of ${st.loneMapSize ?? 0} /24s (${st.loneMapHot ?? 0} hot)` : st.bridgeLoneRefused ? 'no, eBPF refused' : 'off'}; the source table ${st.sourcesEvictions ?? 0} evictions in ${st.sourcesSize ?? 0} slots)`,
      );
      bridges = st.bridges ?? 0;
    }
    if ((st.qfZones ?? 0) !== qfZones) {
      log.info(
        `shield: the kernel prefilter ${mode === 'dry-run' ? 'would drop' : 'drops'} the missing names of ${st.qfZones} attacked zone${st.qfZones === 1 ? '' : 's'} (was ${qfZones}; the first's flood ~${Math.round(st.qfEstimate ?? 0)}/s, ${((st.qfShare ?? 0) * 100).toPrecision(2)}% let through, ${st.qfKnownAdded ?? 0} known missing names in its set; ${st.qfMade} since start, ${st.qfRefusals} zones did not qualify${at(st.qfMadeAt, '; the last entered at ')})`,
      );
      qfZones = st.qfZones ?? 0;
    }
    if (st.onset) log.info(onsetLine(st.onset));
    if (tcpGate !== undefined && activeNative) {
      const g = tcpGate.stats();
      const w = g.waitTotal ?? 0;
      const sv = g.serveTotal ?? 0;
      const seen = `${g.heldTotal} ${g.blockedClosed} ${g.strangersServed} ${w} ${g.waitHanded} ${g.waitExpired} ${sv} ${g.serveAnswered} ${g.serveHanded} ${g.serveIdleClosed} ${g.serveClientClosed} ${g.serveMalformed} ${g.serveRefused}`;
      if (seen !== tcpSeen && g.heldTotal + g.blockedClosed + g.strangersServed + w + sv > 0) {
        tcpSeen = seen;
        // tcphold19: strangers kept in C until their first frame (absent from older addons).
        const firstFrame =
          g.waitTotal === undefined
            ? ''
            : `; of the admitted, ${g.waiting} kept for their first frame now (${g.waitTotal} since start: ${g.waitHanded} handed to JS with it, ${g.waitExpired} reset at their deadline, ${g.waitEvicted} to make room, ${g.waitClientClosed} closed by the client, ${g.waitRejected} with a frame shorter than a header)`;
        // tcpc23: connections served in C (absent from older addons, 0 with SWITCHBOARD_TCP_C_ANSWERS=off).
        const inC =
          sv === 0
            ? ''
            : `; served in C: ${g.servedInC} open now (${sv} since start, ${g.serveAnswered} queries answered, ${g.serveHanded} handed to JS, ${g.serveIdleClosed} closed idle, ${g.serveClientClosed} closed by the client, ${g.serveMalformed} for a short frame, ${g.serveRefused} refused at the per-client limit)`;
        // tcpl24: every accept in C (absent from older addons, 0 with SWITCHBOARD_TCP_LISTEN=libuv).
        const listening =
          (g.listening ?? 0) === 0
            ? ''
            : `; every accept made in C on ${g.listening} listening socket(s): ${g.listenTaken} taken since start, ${g.listenHanded} handed to JS`;
        log.info(
          `shield: TCP accept in C: ${g.held} held now (${g.heldTotal} since start, ${g.heldExpired} closed at their deadline, ${g.heldEvicted} to make room), ${g.blockedClosed} closed for a blocked /24, ${g.served} admitted (${g.strangersServed} of them strangers within the budget)${firstFrame}${inC}${listening}`,
        );
      }
    }
    for (const [key, entered] of st.events) {
      log.info(
        entered
          ? `shield: ${nameOf(key)} is under a random-subdomain attack: its missing names are answered within a budget${at(st.attackedAt, ' (a zone was called attacked at ', ')')}`
          : `shield: ${nameOf(key)} is no longer under attack`,
      );
    }
    latest = {
      ...st,
      attacked: st.attacked.slice(0, 32).map(nameOf),
      top: st.top.slice(0, 10).map(([key, q, nx]) => [nameOf(key), q, nx] as const),
      watched: (st.watched ?? [])
        .slice(0, MAX_WATCHED_ZONES)
        .map(([key, q, nx]) => [nameOf(key), q, nx] as const),
    };
  };
  const timer = setInterval(poll, 1000);
  timer.unref();
  return {
    close() {
      clearInterval(timer);
      active = undefined;
      activeNative = false;
      latest = undefined;
      off();
    },
  };
}

/** The Node path's shield of this process, when on (`withNodeShield` routes UDP through it). */
let nodeShield: NodeShield | undefined;

/**
 * With `--shield on|dry-run` and the Node UDP path: `handler` with the shield in front of its
 * UDP queries (once `startShield` has made it; TCP untouched). Otherwise `handler` itself, so
 * the default path gains nothing per query.
 */
export function withNodeShield(
  config: { shield?: ShieldFlags; udpIo?: string },
  handler: QueryHandler,
  catalog: () => Catalog,
): QueryHandler {
  if (config.shield === undefined || config.shield.mode === 'off' || config.udpIo === 'native')
    return handler;
  const classify = zoneClassifier(catalog);
  return (query, ctx) => {
    const shield = nodeShield;
    if (shield === undefined || ctx.transport !== 'udp') return handler(query, ctx);
    return shield.handle(query, ctx.address, performance.now(), classify, () => handler(query, ctx));
  };
}

/**
 * The zone of a pre-parsed query and whether its name exists, from the served catalog: the
 * native path's image classification (image.c sb_image_classify) on the zone model — the
 * exact name, else a delegation or DNAME above it, else a wildcard at its closest encloser.
 */
export function zoneClassifier(catalog: () => Catalog): ZoneClassifier {
  const keys = new WeakMap<object, number>();
  const out: ZoneSignal = { inZone: false, exists: true, zoneKey: 0 };
  const starts: number[] = [];
  return (view) => {
    out.inZone = false;
    out.exists = true;
    out.zoneKey = 0;
    if (view.qclass !== 1) return out;
    // One string of the name, for the zone's lookup and the nodes' (keys are folded wire strings).
    const qkey = view.foldedWire();
    const zone = catalog().findKey(qkey);
    if (zone === undefined) return out;
    let key = keys.get(zone);
    if (key === undefined) {
      key = nativeZoneKey(Buffer.from(zone.origin.key, 'latin1'));
      keys.set(zone, key);
    }
    out.inZone = true;
    out.zoneKey = key;
    if (zone.nodes.get(qkey) !== undefined) return out;
    // Label starts of the name, the root's included; the origin starts at one of them.
    starts.length = 0;
    for (let p = 0; p < qkey.length; p += qkey.charCodeAt(p) + 1) {
      starts.push(p);
      if (qkey.charCodeAt(p) === 0) break;
    }
    const origin = qkey.length - zone.origin.key.length;
    let encloser = -1;
    for (let i = starts.indexOf(origin); i >= 0; i--) {
      const node = zone.nodes.get(qkey.slice(starts[i]));
      if (node === undefined) break;
      if (starts[i] !== origin && node.get(RRType.NS) !== undefined) return out;
      if (i > 0 && node.get(RRType.DNAME) !== undefined) return out;
      encloser = starts[i];
    }
    if (encloser >= 0 && zone.nodes.get(`\x01*${qkey.slice(encloser)}`) !== undefined) return out;
    out.exists = false;
    return out;
  };
}
