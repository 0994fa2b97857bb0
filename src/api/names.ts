/**
 * Zone names in URLs: the native API takes the name with or without its final dot; the
 * PowerDNS-compatible API uses zone ids, the name with every character outside
 * `[A-Za-z0-9._-]` written `=XX` (hex of each UTF-8 byte), as PowerDNS does
 * (`0/26.2.0.192.in-addr.arpa.` → `0=2F26.2.0.192.in-addr.arpa.`).
 * @module
 */
import { quoted } from '../control/records.js';
import { ApiError } from './errors.js';

/** The absolute zone name of a URL path segment (adds the final dot). */
export function absoluteName(raw: string, field = 'zone'): string {
  const name = raw.trim();
  if (name === '' || /\s/.test(name)) {
    throw new ApiError(400, 'API_ERR_BAD_REQUEST', `${field}: '${quoted(raw)}' is not a domain name`, field);
  }
  return name.endsWith('.') && !name.endsWith('\\.') ? name : `${name}.`;
}

/** The PowerDNS zone id of a zone name. */
export function zoneIdOfName(name: string): string {
  let out = '';
  for (const ch of name) {
    if (/[A-Za-z0-9._-]/.test(ch)) {
      out += ch;
      continue;
    }
    for (const byte of Buffer.from(ch, 'utf8')) out += `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The zone name of a PowerDNS zone id (also takes a plain name, with or without final dot). */
export function zoneNameOfId(id: string): string {
  if (!id.includes('=')) return absoluteName(id, 'zone_id');
  const bytes: number[] = [];
  for (let i = 0; i < id.length; i++) {
    const ch = id[i];
    const hex = id.slice(i + 1, i + 3);
    if (ch === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(ch, 'utf8'));
    }
  }
  return absoluteName(Buffer.from(bytes).toString('utf8'), 'zone_id');
}
