/**
 * The shield's settings as an operator writes them (server flags; a zone's own settings also
 * through `start`'s API: src/control/zone-shield.ts, checked with ZONE_NUMBERS), parsed into the
 * mechanisms' configurations with errors that name the field at fault.
 *
 * - `--shield off|on|dry-run`
 * - `--rrl off` or `--rrl responses=N[,nxdomains=N][,nodata=N][,referrals=N][,errors=N][,all=N]
 *   [,window=S][,slip=N][,ipv4=LEN][,ipv6=LEN][,table=N]` (BIND's names, shortened)
 * - `--cookie-secret HEX` (repeatable: the first makes cookies, the others are still accepted)
 * - `--shield-allow PREFIX` (repeatable: never shed, limited or blocked)
 * - `--shield-zone NAME:key=value,…` (repeatable: one zone's own detector floor, budget floor,
 *   RRL rates, and whether its rates are exported as metrics)
 */
import { Name } from '../wire/name.js';
import { parseCookieSecret } from './cookies.js';
import { PrefixSet } from './prefix-set.js';
import type { RrlConfig } from './rrl.js';

export type ShieldMode = 'off' | 'on' | 'dry-run';

export function parseShieldMode(text: string): ShieldMode {
  if (text === 'off' || text === 'on' || text === 'dry-run') return text;
  throw new RangeError(`--shield must be off, on or dry-run, not '${text}'`);
}

const RRL_FIELDS: Record<string, keyof RrlConfig> = {
  responses: 'responsesPerSecond',
  nxdomains: 'nxdomainsPerSecond',
  nodata: 'nodataPerSecond',
  referrals: 'referralsPerSecond',
  errors: 'errorsPerSecond',
  all: 'allPerSecond',
  window: 'window',
  slip: 'slip',
  ipv4: 'ipv4PrefixLength',
  ipv6: 'ipv6PrefixLength',
  table: 'tableSize',
};

/** `--rrl …` → an RrlConfig, or null for `off`. @throws RangeError naming the field */
export function parseRrlSpec(text: string): RrlConfig | null {
  const spec = text.trim();
  if (spec === 'off') return null;
  const out: Partial<Record<keyof RrlConfig, number>> = {};
  for (const part of spec.split(',')) {
    const [name, value, extra] = part.split('=').map((s) => s.trim());
    const field = RRL_FIELDS[name];
    if (field === undefined) {
      throw new RangeError(`--rrl: unknown field '${name}' (known: ${Object.keys(RRL_FIELDS).join(', ')})`);
    }
    if (value === undefined || extra !== undefined || !/^\d+(\.\d+)?$/.test(value)) {
      throw new RangeError(`--rrl: ${name} must be a number, as ${name}=N`);
    }
    if (field in out) throw new RangeError(`--rrl: ${name} given twice`);
    out[field] = Number(value);
  }
  if (out.responsesPerSecond === undefined)
    throw new RangeError('--rrl: responses=N is required (or --rrl off)');
  return { ...out, responsesPerSecond: out.responsesPerSecond } as RrlConfig;
}

/** Most zones with settings of their own (the per-zone table's fixed bound, as in C). */
export const MAX_SHIELD_ZONES = 1024;
/** Most zones opted into the per-zone metrics (series are few by design). */
export const MAX_METRICS_ZONES = 100;
/** Zones of one account with settings its tenants wrote, unless `--shield-tenant zones=N` says otherwise. */
export const DEFAULT_TENANT_SHIELD_ZONES = 32;
/** Of them, zones in the metrics, unless `--shield-tenant metrics-zones=N` says otherwise. */
export const DEFAULT_TENANT_METRICS_ZONES = 5;

/** One zone's own settings (`--shield-zone`); absent fields keep the server's. */
export interface ShieldZoneSetting {
  /** The zone, absolute, lower case (`example.com.`). */
  name: string;
  /** The detector's floor: missing names a second below which the zone is never attacked. */
  minNxPerSecond?: number;
  /** Missing-name answers a second the zone still gets while attacked, at least. */
  budgetFloor?: number;
  /** RRL rates of its responses by kind; a kind not given takes the zone's `responses`, else the server's. */
  rrl?: { responses?: number; nxdomains?: number; nodata?: number; referrals?: number; errors?: number };
  /** Its query and missing-name rates exported whatever its rank. */
  metrics?: boolean;
}

/**
 * The numeric fields of `--shield-zone`: [setting, RRL kind, lowest, highest]. The control
 * plane checks the API's per-zone settings with the same table.
 */
export const ZONE_NUMBERS: Record<
  string,
  [keyof ShieldZoneSetting | 'rrl', string | undefined, number, number]
> = {
  'min-nx': ['minNxPerSecond', undefined, 1, 1e7],
  budget: ['budgetFloor', undefined, 0, 1e7],
  responses: ['rrl', 'responses', 0, 1e7],
  nxdomains: ['rrl', 'nxdomains', 0, 1e7],
  nodata: ['rrl', 'nodata', 0, 1e7],
  referrals: ['rrl', 'referrals', 0, 1e7],
  errors: ['rrl', 'errors', 0, 1e7],
};

/**
 * `--shield-zone NAME:key=value,…` → a zone's settings. Keys: `min-nx`, `budget`,
 * `responses`, `nxdomains`, `nodata`, `referrals`, `errors` (numbers), `metrics` (on|off).
 * @throws RangeError naming the flag, the zone and the field
 */
export function parseShieldZone(text: string): ShieldZoneSetting {
  const colon = text.indexOf(':');
  const fail = (why: string): never => {
    throw new RangeError(`--shield-zone '${text}': ${why}`);
  };
  if (colon <= 0) fail('expected NAME:key=value[,key=value…]');
  const rawName = text.slice(0, colon).trim();
  let name: string;
  try {
    const n = Name.parse(rawName.endsWith('.') ? rawName : `${rawName}.`);
    name = n.toString().toLowerCase();
  } catch (e) {
    return fail(`'${rawName}' is not a domain name (${(e as Error).message})`);
  }
  const out: ShieldZoneSetting = { name };
  const seen = new Set<string>();
  for (const part of text.slice(colon + 1).split(',')) {
    const [key, value, extra] = part.split('=').map((s) => s.trim());
    if (seen.has(key)) fail(`${key} given twice`);
    seen.add(key);
    if (key === 'metrics') {
      if (value !== 'on' && value !== 'off') fail('metrics must be on or off');
      out.metrics = value === 'on';
      continue;
    }
    const spec = ZONE_NUMBERS[key];
    if (spec === undefined)
      fail(`unknown field '${key}' (known: ${[...Object.keys(ZONE_NUMBERS), 'metrics'].join(', ')})`);
    const [field, sub, lo, hi] = spec;
    if (value === undefined || extra !== undefined || !/^\d+(\.\d+)?$/.test(value))
      fail(`${key} must be a number, as ${key}=N`);
    const v = Number(value);
    if (v < lo || v > hi) fail(`${key} must be ${lo}..${hi}`);
    if (field === 'rrl') out.rrl = { ...out.rrl, [sub as string]: v };
    else (out as unknown as Record<string, number>)[field] = v;
  }
  return out;
}

/** Every `--shield-zone`, checked together: at most MAX_SHIELD_ZONES, one per zone. */
export function parseShieldZones(texts: readonly string[]): ShieldZoneSetting[] {
  if (texts.length > MAX_SHIELD_ZONES)
    throw new RangeError(`--shield-zone: at most ${MAX_SHIELD_ZONES} zones have settings of their own`);
  const out = texts.map(parseShieldZone);
  const names = new Set<string>();
  for (const z of out) {
    if (names.has(z.name)) throw new RangeError(`--shield-zone: ${z.name} given twice`);
    names.add(z.name);
  }
  const watched = out.filter((z) => z.metrics).length;
  if (watched > MAX_METRICS_ZONES)
    throw new RangeError(
      `--shield-zone: at most ${MAX_METRICS_ZONES} zones with metrics=on (${watched} given)`,
    );
  return out;
}

/**
 * The five RRL rates (answer, nxdomain, nodata, referral, error) of a zone's responses: its own
 * where given, else its `responses`, else the server's (0 where the server limits nothing);
 * undefined when the zone sets no rate (the server's apply).
 */
export function zoneRrlRates(zone: ShieldZoneSetting, server: RrlConfig | null): number[] | undefined {
  const z = zone.rrl;
  if (z === undefined) return undefined;
  const base = server?.responsesPerSecond ?? 0;
  const serverRates = server
    ? [
        base,
        server.nxdomainsPerSecond ?? base,
        server.nodataPerSecond ?? base,
        server.referralsPerSecond ?? base,
        server.errorsPerSecond ?? base,
      ]
    : [0, 0, 0, 0, 0];
  return [z.responses, z.nxdomains, z.nodata, z.referrals, z.errors].map(
    (v, k) => v ?? (k === 0 ? undefined : z.responses) ?? serverRates[k],
  );
}

export interface ShieldSettings {
  mode: ShieldMode;
  rrl: RrlConfig | null;
  /** Secrets as given: the first makes cookies. Empty: a random secret is made at start. */
  cookieSecrets: Uint8Array[];
  allow: PrefixSet;
}

/** Flags as commander hands them → settings. @throws RangeError naming the flag and value */
export function shieldSettings(flags: {
  shield?: string;
  rrl?: string;
  cookieSecret?: string[];
  shieldAllow?: string[];
}): ShieldSettings {
  const secrets = (flags.cookieSecret ?? []).map((s, i) => {
    try {
      return parseCookieSecret(s.trim());
    } catch (e) {
      throw new RangeError(`--cookie-secret #${i + 1}: ${(e as Error).message}`);
    }
  });
  if (secrets.length > 3)
    throw new RangeError('--cookie-secret: at most 3 (one that makes cookies, two more accepted)');
  const allow = new PrefixSet();
  for (const p of flags.shieldAllow ?? []) {
    try {
      allow.add(p);
    } catch (e) {
      throw new RangeError(`--shield-allow: ${(e as Error).message}`);
    }
  }
  return {
    mode: parseShieldMode(flags.shield ?? 'off'),
    rrl: flags.rrl === undefined ? null : parseRrlSpec(flags.rrl),
    cookieSecrets: secrets,
    allow,
  };
}
