/**
 * The shield of the native UDP path (native/shield_glue.c, docs/SHIELD.md): its settings
 * turned into the numbers `shieldConfigure` takes, and its counters. The mechanisms and their
 * defaults are src/shield's; the C code does the same arithmetic (test/native/shield-c.test.ts).
 * @module
 */

import type { OverloadConfig } from '../shield/admission.js';
import type { RrlConfig } from '../shield/rrl.js';
import { DEFAULT_HISTORY_MIN, type SourceTableConfig } from '../shield/sources.js';
import type { ShieldStats } from '../shield/stats.js';
import type { ZoneAttackConfig } from '../shield/zone-attack.js';

/** What the native shield is configured with. */
export interface NativeShieldSettings {
  mode: 'off' | 'on' | 'dry-run';
  /** 16-octet secrets: the first makes cookies, the others are accepted (at most 3). */
  secrets: Uint8Array[];
  /** Never shed, limited or blocked. */
  allow: { octets: Uint8Array; length: number }[];
  rrl: RrlConfig | null;
  zones?: ZoneAttackConfig;
  sources?: SourceTableConfig;
  overload?: OverloadConfig;
  /** The kernel prefilter: an IPv4 /24 shed or rate limited `threshold` times in a second (by
   * one worker) is dropped by the socket's BPF filter for `seconds` (doubled on each repeat,
   * up to 16×); threshold 0 turns it off. Default 200 and 30. */
  prefilter?: { threshold: number; seconds: number };
  /** Zones with settings of their own (`--shield-zone`), at most 1024; -1 (or absent) keeps the server's. */
  zoneSettings?: NativeZoneSetting[];
}

/** One zone's own settings as the native shield takes them. */
export interface NativeZoneSetting {
  /** nativeZoneKey of its origin. */
  key: number;
  minNxPerSecond?: number;
  budgetFloor?: number;
  /** The five RRL rates by kind, resolved (config.ts zoneRrlRates); absent: the server's. */
  rrlRates?: readonly number[];
  metrics?: boolean;
}

/** The native shield's counters (shieldStats): the shape both paths share. */
export type NativeShieldStats = ShieldStats;

/** The addon's shield functions (native/shield_napi.c). */
export interface NativeShieldAddon {
  shieldConfigure(
    mode: number,
    numbers: Float64Array,
    secrets: Uint8Array,
    allow: Uint8Array,
    zones?: Float64Array,
  ): void;
  shieldStats(): NativeShieldStats | null;
  shieldNoteTcp(address: Uint8Array): void;
  /** Whether to serve a TCP connection just accepted from `address` (sb_shield_tcp_admit). */
  shieldTcpAdmit?(address: Uint8Array): boolean;
  /** New cookie secrets (16 × n octets, n 1..3; the first makes), the tables kept; false when off. */
  shieldSetSecrets(secrets: Uint8Array): boolean;
  /** New per-zone settings (zoneSettingsArray), the tables kept; false when off. @throws RangeError */
  shieldSetZones?(zones: Float64Array): boolean;
}

const MODES = { off: 0, on: 1, 'dry-run': 2 } as const;

/**
 * The 28 numbers of shieldConfigure, in native/shield_napi.c's order, with src/shield's
 * defaults for what is not set.
 */
export function shieldNumbers(s: NativeShieldSettings): Float64Array {
  const r = s.rrl;
  const base = r?.responsesPerSecond ?? 0;
  const z = s.zones ?? {};
  const src = s.sources ?? {};
  const o = s.overload ?? {};
  return Float64Array.of(
    r ? 1 : 0,
    base,
    r?.nxdomainsPerSecond ?? base,
    r?.nodataPerSecond ?? base,
    r?.referralsPerSecond ?? base,
    r?.errorsPerSecond ?? base,
    r?.allPerSecond ?? 0,
    r?.window ?? 15,
    r?.slip ?? 2,
    r?.ipv4PrefixLength ?? 24,
    r?.ipv6PrefixLength ?? 56,
    r?.tableSize ?? 65536,
    z.minNxPerSecond ?? 200,
    z.factor ?? 10,
    z.minNxShare ?? 0.5,
    z.holdSeconds ?? 10,
    z.budgetFloor ?? 50,
    z.tableSize ?? 16384,
    src.tableSize ?? 262144,
    src.historyMin ?? DEFAULT_HISTORY_MIN,
    src.historyShare ?? 0.8,
    src.tcpSeconds ?? 3600,
    src.cookieSeconds ?? 3600,
    o.behindShare ?? 0.5,
    o.smoothingSeconds ?? 0.5,
    o.holdSeconds ?? 2,
    s.prefilter?.threshold ?? 200,
    s.prefilter?.seconds ?? 30,
  );
}

/** Configures the calling thread's native shield. @throws on settings the addon refuses */
export function configureNativeShield(addon: NativeShieldAddon, s: NativeShieldSettings): void {
  if (s.secrets.length > 3) throw new RangeError('at most 3 cookie secrets');
  const secrets = new Uint8Array(16 * s.secrets.length);
  s.secrets.forEach((k, i) => {
    if (k.length !== 16) throw new RangeError('a cookie secret is 16 octets');
    secrets.set(k, 16 * i);
  });
  const allow = new Uint8Array(18 * s.allow.length);
  s.allow.forEach((p, i) => {
    allow[18 * i] = p.octets.length;
    allow[18 * i + 1] = p.length;
    allow.set(p.octets, 18 * i + 2);
  });
  const zs = s.zoneSettings ?? [];
  const zones = zoneSettingsArray(zs);
  addon.shieldConfigure(MODES[s.mode], shieldNumbers(s), secrets, allow, zs.length > 0 ? zones : undefined);
}

/** Zone settings as the addon takes them: 9 numbers each, -1 for "the server's". */
export function zoneSettingsArray(zs: readonly NativeZoneSetting[]): Float64Array {
  if (zs.length > 1024) throw new RangeError('at most 1024 zones with settings of their own');
  const zones = new Float64Array(9 * zs.length);
  zs.forEach((z, i) => {
    zones[9 * i] = z.key >>> 0;
    zones[9 * i + 1] = z.minNxPerSecond ?? -1;
    zones[9 * i + 2] = z.budgetFloor ?? -1;
    for (let k = 0; k < 5; k++) zones[9 * i + 3 + k] = z.rrlRates?.[k] ?? -1;
    zones[9 * i + 8] = z.metrics ? 1 : 0;
  });
  return zones;
}

/**
 * New per-zone settings for the calling thread's running native shield, its tables kept
 * (zones tracked now take their floors at once). False when no shield runs here.
 * @throws RangeError on settings the addon refuses (nothing changed)
 */
export function setNativeZoneSettings(addon: NativeShieldAddon, zs: readonly NativeZoneSetting[]): boolean {
  if (addon.shieldSetZones === undefined) throw new RangeError('this addon cannot change zone settings');
  return addon.shieldSetZones(zoneSettingsArray(zs));
}

/** The key the native shield files a zone under: FNV-1a of its origin's case-folded wire form. */
export function nativeZoneKey(originWire: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const c of originWire) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return h >>> 0;
}
