/**
 * The shield's settings as an operator writes them (server flags; per-zone settings come
 * later), parsed into the mechanisms' configurations with errors that name the field at fault.
 *
 * - `--shield off|on|dry-run`
 * - `--rrl off` or `--rrl responses=N[,nxdomains=N][,nodata=N][,referrals=N][,errors=N][,all=N]
 *   [,window=S][,slip=N][,ipv4=LEN][,ipv6=LEN][,table=N]` (BIND's names, shortened)
 * - `--cookie-secret HEX` (repeatable: the first makes cookies, the others are still accepted)
 * - `--shield-allow PREFIX` (repeatable: never shed, limited or blocked)
 */
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
