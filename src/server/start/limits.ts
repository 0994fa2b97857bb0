/**
 * The limits and security settings of `switchboard start`: `--limit NAME=N` (the API's
 * request limits, docs/API.md "Limits", and the retention of history, docs/CONTROL-PLANE.md
 * "Retention"), `--trusted-proxy`, `--metrics open|key`, and the minimum length of an
 * operator-chosen `SWITCHBOARD_API_KEY`.
 * @module
 */
import { isIP } from 'node:net';
import { API_LIMIT_NAMES, type ApiLimits, parseProxyRange } from '../../api/limits.js';
import type { RetentionOptions } from '../../control/types.js';

/** `--limit` names of the retention options. */
export const RETENTION_LIMIT_NAMES: Readonly<Record<string, keyof RetentionOptions>> = Object.freeze({
  'versions-per-zone': 'versionsPerZone',
  'version-days': 'versionDays',
  'audit-days': 'auditDays',
  'deleted-zone-days': 'deletedZoneDays',
});

/** The shortest `SWITCHBOARD_API_KEY` accepted (a key shorter than this is guessable). */
export const MIN_API_KEY_LENGTH = 32;

/** What `--limit` and `--trusted-proxy` set. */
export interface StartLimits {
  api: Partial<ApiLimits>;
  retention: RetentionOptions;
}

/**
 * Reads `--limit NAME=N` flags (N a whole number ≥ 0; 0 turns a limit off or keeps history for
 * ever) and `--trusted-proxy` entries.
 * @throws Error naming the flag at fault
 */
export function parseLimitFlags(
  limits: readonly string[] = [],
  proxies: readonly string[] = [],
): StartLimits {
  const out: StartLimits = { api: {}, retention: {} };
  for (const flag of limits) {
    const m = /^\s*([a-z-]+)\s*=\s*(\S+)\s*$/i.exec(flag);
    if (!m) throw new Error(`--limit '${flag}': want NAME=N (e.g. --limit token-rate=50)`);
    const name = m[1].toLowerCase();
    const value = Number(m[2]);
    if (!/^\d+$/.test(m[2]) || !Number.isSafeInteger(value) || value > 2 ** 31 - 1)
      throw new Error(`--limit ${name}: '${m[2]}' is not a whole number ≥ 0`);
    const apiKey = API_LIMIT_NAMES[name];
    const retentionKey = RETENTION_LIMIT_NAMES[name];
    if (apiKey !== undefined) out.api[apiKey] = value;
    else if (retentionKey !== undefined) out.retention[retentionKey] = value;
    else
      throw new Error(
        `--limit: unknown limit '${name}' (known: ${[...Object.keys(API_LIMIT_NAMES), ...Object.keys(RETENTION_LIMIT_NAMES)].join(', ')})`,
      );
  }
  const trusted: string[] = [];
  for (const p of proxies)
    for (const entry of p.split(',')) {
      const e = entry.trim();
      if (e === '') continue;
      if (parseProxyRange(e) === undefined)
        throw new Error(`--trusted-proxy '${e}': want an IP address or a CIDR range (10.0.0.0/8, ::1)`);
      trusted.push(e);
    }
  if (trusted.length > 0) out.api.trustedProxies = trusted;
  return out;
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/**
 * Who may read `/metrics`: as `--metrics` says, else open on a loopback listener and behind
 * an administrator key on any other.
 * @throws Error for a value other than open or key
 */
export function metricsAccessOf(flag: string | undefined, httpHost: string): 'open' | 'key' {
  if (flag === undefined) return isLoopbackHost(httpHost) ? 'open' : 'key';
  const v = flag.trim().toLowerCase();
  if (v === 'open' || v === 'key') return v;
  throw new Error(`--metrics '${flag}': want open (no key) or key (an administrator key)`);
}

/**
 * Checks an operator-chosen administrator key (SWITCHBOARD_API_KEY): at least 32 characters.
 * @throws Error saying why, without echoing the key
 */
export function checkSeededApiKey(key: string, envName: string): void {
  if (key.length < MIN_API_KEY_LENGTH)
    throw new Error(
      `${envName} is ${key.length} characters long; use at least ${MIN_API_KEY_LENGTH} random characters ` +
        `(e.g. openssl rand -base64 33), or unset it and let the first start create a key`,
    );
  if (/\s/.test(key)) throw new Error(`${envName} contains white space; use a key without blanks`);
}
