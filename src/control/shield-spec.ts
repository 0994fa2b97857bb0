/**
 * A zone's shield settings as text — the fields of `--shield-zone` after the zone's name
 * (`min-nx=5000,budget=20,responses=5,metrics=on`) — for the CLI (`zone shield set`) and the
 * PowerDNS API's `X-SWITCHBOARD-SHIELD` zone metadata. Checked by the flag's own parser.
 * @module
 */
import { parseShieldZone } from '../shield/config.js';
import type { ZoneShieldSettings } from './types.js';

/**
 * `min-nx=N,budget=N,responses=N,…,metrics=on|off` → settings; `none` or empty text → none.
 * @throws RangeError naming the field (`'bogus=1': unknown field 'bogus' …`)
 */
export function parseShieldSpec(spec: string): ZoneShieldSettings {
  const text = spec.trim();
  if (text === '' || text === 'none') return {};
  let parsed: ReturnType<typeof parseShieldZone>;
  try {
    parsed = parseShieldZone(`x.:${text}`);
  } catch (e) {
    throw new RangeError((e as Error).message.replace(/^--shield-zone 'x\.:[^']*': /, `'${text}': `));
  }
  const out: ZoneShieldSettings = {};
  if (parsed.minNxPerSecond !== undefined) out.minNxPerSecond = parsed.minNxPerSecond;
  if (parsed.budgetFloor !== undefined) out.budgetFloor = parsed.budgetFloor;
  if (parsed.rrl !== undefined) out.rrl = parsed.rrl;
  if (parsed.metrics) out.metrics = true;
  return out;
}

/** The settings in the `--shield-zone` form (`none` when empty). */
export function formatShieldSpec(s: ZoneShieldSettings): string {
  const parts: string[] = [];
  if (s.minNxPerSecond !== undefined) parts.push(`min-nx=${s.minNxPerSecond}`);
  if (s.budgetFloor !== undefined) parts.push(`budget=${s.budgetFloor}`);
  for (const k of ['responses', 'nxdomains', 'nodata', 'referrals', 'errors'] as const)
    if (s.rrl?.[k] !== undefined) parts.push(`${k}=${s.rrl[k]}`);
  if (s.metrics) parts.push('metrics=on');
  return parts.length === 0 ? 'none' : parts.join(',');
}
