/**
 * Field encodings shared by RDATA presentation formats: hex, base64, base32hex, character
 * strings with master-file escapes, IPv4/IPv6 addresses, decimal numbers and times.
 * Parsers throw WireFormatError('DNS_ERR_TEXT') with a message naming the field.
 * @module
 */
import { WireFormatError } from './errors.js';

/** A DNS_ERR_TEXT error for `field`. */
export function textError(field: string, message: string): WireFormatError {
  return new WireFormatError('DNS_ERR_TEXT', `${field}: ${message}`);
}

const HEX = '0123456789abcdef';

/**
 * Lower-case hex without separators: the one hex encoder of every presentation form (DS,
 * SSHFP, TLSA, NSEC3 salt, ZONEMD, HIP, EUI, NSAP, RFC 3597 `\#`). Hex is case-insensitive
 * on input everywhere (RFC 4648 §8), so the case changes no wire octets; lower case is what
 * PowerDNS prints, so API clients reading records back see the text they sent.
 */
export function toHex(b: Uint8Array, start = 0, end = b.length): string {
  let s = '';
  for (let i = start; i < end; i++) s += HEX[b[i] >> 4] + HEX[b[i] & 15];
  return s;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** Decodes hex (either case, even number of digits). */
export function fromHex(text: string, field: string): Uint8Array {
  if (text.length % 2 !== 0) throw textError(field, `'${clip(text)}' has an odd number of hex digits`);
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = hexValue(text.charCodeAt(2 * i));
    const lo = hexValue(text.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) throw textError(field, `'${clip(text)}' is not hex`);
    out[i] = (hi << 4) | lo;
  }
  return out;
}

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Base64 (RFC 4648 §4) with padding, unsplit. */
export function toBase64(b: Uint8Array, start = 0, end = b.length): string {
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('base64');
}

/** Strict base64 decoding (RFC 4648 §4, padding required, canonical). */
export function fromBase64(text: string, field: string): Uint8Array {
  if (!B64.test(text)) throw textError(field, `'${clip(text)}' is not base64`);
  const out = new Uint8Array(Buffer.from(text, 'base64'));
  // RFC 4648 §3.5: reject non-zero pad bits so that text → wire → text is stable.
  if (toBase64(out) !== text) throw textError(field, `'${clip(text)}' is not canonical base64`);
  return out;
}

const B32HEX = '0123456789ABCDEFGHIJKLMNOPQRSTUV';

/** Base32hex (RFC 4648 §7) without padding (RFC 5155 §3.3), upper case as BIND prints it. */
export function toBase32Hex(b: Uint8Array, start = 0, end = b.length): string {
  let s = '';
  let acc = 0;
  let bits = 0;
  for (let i = start; i < end; i++) {
    acc = (acc << 8) | b[i];
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      s += B32HEX[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) s += B32HEX[(acc << (5 - bits)) & 31];
  return s;
}

/** Decodes unpadded base32hex, either case; pad bits must be zero. */
export function fromBase32Hex(text: string, field: string): Uint8Array {
  // RFC 5155 §3.3 writes the hash unpadded; accept RFC 4648 padding as Knot does.
  const pad = text.indexOf('=');
  if (pad >= 0) {
    const count = text.length - pad;
    if (text.length % 8 !== 0 || ![1, 3, 4, 6].includes(count) || !/^=+$/.test(text.slice(pad)))
      throw textError(field, `'${clip(text)}' has bad base32hex padding`);
    text = text.slice(0, pad);
  }
  const n = text.length;
  // Valid unpadded lengths are n mod 8 in {0, 2, 4, 5, 7}.
  const r = n % 8;
  if (r === 1 || r === 3 || r === 6) throw textError(field, `'${clip(text)}' has a bad base32hex length`);
  const out = new Uint8Array(Math.floor((n * 5) / 8));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i) | 0x20;
    let v: number;
    if (c >= 0x30 && c <= 0x39) v = c - 0x30;
    else if (c >= 0x61 && c <= 0x76) v = c - 0x61 + 10;
    else throw textError(field, `'${clip(text)}' is not base32hex`);
    acc = ((acc << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) throw textError(field, `'${clip(text)}' has non-zero pad bits`);
  return out;
}

/**
 * Decodes master-file escapes (`\DDD`, `\X`) of a token into octets (RFC 1035 §5.1). Token
 * text is latin1 (one char per octet, as the zone lexer reads files); a char above 0xFF can
 * only come from a JS caller and is encoded as UTF-8.
 */
export function unescapeText(text: string, field: string): Uint8Array {
  const n = text.length;
  // Fast path: no escapes, no wide chars.
  let simple = true;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c || c > 0xff) {
      simple = false;
      break;
    }
  }
  if (simple) {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = text.charCodeAt(i);
    return out;
  }
  const bytes: number[] = [];
  for (let i = 0; i < n; i++) {
    let c = text.charCodeAt(i);
    if (c === 0x5c) {
      if (i + 1 >= n) throw textError(field, `dangling '\\' in '${clip(text)}'`);
      const d = text.charCodeAt(i + 1);
      if (d >= 0x30 && d <= 0x39) {
        const digits = text.slice(i + 1, i + 4);
        if (!/^\d{3}$/.test(digits)) throw textError(field, `bad \\DDD escape in '${clip(text)}'`);
        const v = Number(digits);
        if (v > 255) throw textError(field, `\\${digits} is over 255 in '${clip(text)}'`);
        bytes.push(v);
        i += 3;
        continue;
      }
      i++;
      c = d;
    }
    if (c <= 0xff) bytes.push(c);
    else {
      const cp = text.codePointAt(i)!;
      if (cp > 0xffff) i++;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b);
    }
  }
  return Uint8Array.from(bytes);
}

/**
 * Octets as master-file text without the surrounding quotes: `"` and `\` escaped, octets
 * outside printable ASCII as `\DDD` (RFC 1035 §5.1). Blanks, `;` and parentheses stay as
 * they are, so the result needs quotes when it holds them (see needsQuotes).
 */
export function escapeText(b: Uint8Array, start = 0, end = b.length): string {
  let s = '';
  for (let i = start; i < end; i++) {
    const c = b[i];
    if (c < 0x20 || c >= 0x7f) s += `\\${c.toString().padStart(3, '0')}`;
    else if (c === 0x22 || c === 0x5c) s += `\\${String.fromCharCode(c)}`;
    else s += String.fromCharCode(c);
  }
  return s;
}

/**
 * Presentation form of a character string: quoted, with `"` and `\` escaped and octets
 * outside printable ASCII as `\DDD` (as BIND and Knot print TXT).
 */
export function quoteText(b: Uint8Array, start = 0, end = b.length): string {
  return `"${escapeText(b, start, end)}"`;
}

/**
 * Whether escaped text (as escapeText gives it) must be quoted to stay one master-file token:
 * it is empty, or holds a blank, a `"`, a `;` (comment) or a parenthesis (RFC 1035 §5.1).
 */
export function needsQuotes(text: string): boolean {
  if (text.length === 0) return true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x22 || c === 0x3b || c === 0x28 || c === 0x29) return true;
  }
  return false;
}

/** Parses an unsigned decimal integer no larger than `max`. */
export function parseUint(text: string, max: number, field: string, bits: string): number {
  if (!/^\d{1,15}$/.test(text)) throw textError(field, `'${clip(text)}' is not a ${bits} number`);
  const v = Number(text);
  if (v > max) throw textError(field, `'${clip(text)}' is not a ${bits} number`);
  return v;
}

/** Parses a dotted-quad IPv4 address (no leading zeros, as inet_pton). */
export function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (!/^(?:0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

/** Like parseIpv4 but throws a field error. */
export function requireIpv4(text: string, field: string): Uint8Array {
  const a = parseIpv4(text);
  if (!a) throw textError(field, `'${clip(text)}' is not an IPv4 address`);
  return a;
}

/** Parses an IPv6 address (RFC 4291 §2.2, including a trailing dotted quad). */
export function parseIpv6(text: string): Uint8Array | undefined {
  if (text.length < 2 || text.length > 45) return undefined;
  const out = new Uint8Array(16);
  let head: string[];
  let tail: string[];
  const dbl = text.indexOf('::');
  if (dbl >= 0) {
    if (text.indexOf('::', dbl + 1) >= 0) return undefined;
    const l = text.slice(0, dbl);
    const r = text.slice(dbl + 2);
    head = l === '' ? [] : l.split(':');
    tail = r === '' ? [] : r.split(':');
  } else {
    head = text.split(':');
    tail = [];
  }
  const groups: number[] = [];
  const tailGroups: number[] = [];
  const parseGroups = (list: string[], into: number[], isLast: boolean): boolean => {
    for (let i = 0; i < list.length; i++) {
      const g = list[i];
      if (isLast && i === list.length - 1 && g.includes('.')) {
        const v4 = parseIpv4(g);
        if (!v4) return false;
        into.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
      into.push(Number.parseInt(g, 16));
    }
    return true;
  };
  if (!parseGroups(head, groups, tail.length === 0 && dbl < 0)) return undefined;
  if (!parseGroups(tail, tailGroups, true)) return undefined;
  if (dbl >= 0) {
    if (groups.length + tailGroups.length > 7) return undefined;
  } else if (groups.length !== 8) return undefined;
  for (let i = 0; i < groups.length; i++) {
    out[2 * i] = groups[i] >> 8;
    out[2 * i + 1] = groups[i] & 0xff;
  }
  const base = 8 - tailGroups.length;
  for (let i = 0; i < tailGroups.length; i++) {
    out[2 * (base + i)] = tailGroups[i] >> 8;
    out[2 * (base + i) + 1] = tailGroups[i] & 0xff;
  }
  return out;
}

/** Like parseIpv6 but throws a field error. */
export function requireIpv6(text: string, field: string): Uint8Array {
  const a = parseIpv6(text);
  if (!a) throw textError(field, `'${clip(text)}' is not an IPv6 address`);
  return a;
}

/** Dotted-quad IPv4 from 4 octets at `pos`. */
export function ipv4ToText(b: Uint8Array, pos: number): string {
  return `${b[pos]}.${b[pos + 1]}.${b[pos + 2]}.${b[pos + 3]}`;
}

/**
 * RFC 5952 §4 text of 16 octets at `pos`: lower case, no leading zeros, the longest run
 * (first on a tie) of two or more zero groups as `::`. Like inet_ntop, IPv4-mapped and
 * IPv4-compatible addresses end in a dotted quad (RFC 5952 §5).
 */
export function ipv6ToText(b: Uint8Array, pos: number): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[pos + 2 * i] << 8) | b[pos + 2 * i + 1]);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestStart = -1;
  const v4 = bestStart === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff));
  let s = '';
  const groups = v4 ? 6 : 8;
  for (let i = 0; i < groups; i++) {
    if (i === bestStart) {
      s += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    s += w[i].toString(16);
    if (i < 7) s += ':';
  }
  if (v4) s += ipv4ToText(b, pos + 12);
  else if (s.endsWith(':') && !s.endsWith('::')) s = s.slice(0, -1);
  return s;
}

/** Shortens long input for error messages. */
export function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/**
 * Parses an RRSIG/SIG time: YYYYMMDDHHmmSS (UTC) or an unsigned 32-bit integer
 * (RFC 4034 §3.2). Dates before 1970 or past 2106 wrap modulo 2^32 (RFC 4034 §3.1.5).
 */
export function parseSigTime(text: string, field: string): number {
  if (/^\d{14}$/.test(text)) {
    const y = Number(text.slice(0, 4));
    const mo = Number(text.slice(4, 6));
    const d = Number(text.slice(6, 8));
    const h = Number(text.slice(8, 10));
    const mi = Number(text.slice(10, 12));
    const s = Number(text.slice(12, 14));
    // setUTCFullYear, unlike Date.UTC, takes years 0-99 as written (not as 1900-1999).
    const date = new Date(0);
    date.setUTCFullYear(y, mo - 1, d);
    if (
      date.getUTCFullYear() !== y ||
      date.getUTCMonth() !== mo - 1 ||
      date.getUTCDate() !== d ||
      h > 23 ||
      mi > 59 ||
      s > 59
    )
      throw textError(field, `'${text}' is not a valid YYYYMMDDHHmmSS time`);
    // RFC 4034 §3.1.5: the field is a 32-bit count of seconds since 1970 compared in serial
    // arithmetic (RFC 1982), so any year 0000-9999 maps to its value modulo 2^32 (as BIND):
    // 2106-02-07 06:28:16 is 0 again, 1969-12-31 23:59:59 is 2^32 - 1.
    const seconds = date.getTime() / 1000 + h * 3600 + mi * 60 + s;
    return ((seconds % 2 ** 32) + 2 ** 32) % 2 ** 32;
  }
  return parseUint(text, 0xffffffff, field, '32-bit');
}

/** YYYYMMDDHHmmSS (UTC) of a 32-bit time value (RFC 4034 §3.2). */
export function sigTimeToText(t: number): string {
  const d = new Date(t * 1000);
  const p = (n: number, w = 2) => n.toString().padStart(w, '0');
  return (
    p(d.getUTCFullYear(), 4) +
    p(d.getUTCMonth() + 1) +
    p(d.getUTCDate()) +
    p(d.getUTCHours()) +
    p(d.getUTCMinutes()) +
    p(d.getUTCSeconds())
  );
}

/**
 * Parses a TTL-like duration: seconds, or BIND units (`1w2d3h4m5s`, case-insensitive),
 * as accepted in SOA timer fields. Must fit in 32 bits.
 */
export function parseDuration(text: string, field: string): number {
  if (/^\d+$/.test(text)) return parseUint(text, 0xffffffff, field, '32-bit');
  const re = /(\d+)([wdhms])/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text.toLowerCase()); m; m = re.exec(text.toLowerCase())) {
    const mult = { w: 604800, d: 86400, h: 3600, m: 60, s: 1 }[m[2] as 'w' | 'd' | 'h' | 'm' | 's'];
    total += Number(m[1]) * mult;
    consumed = re.lastIndex;
  }
  if (consumed !== text.length || text.length === 0 || total > 0xffffffff)
    throw textError(field, `'${clip(text)}' is not a 32-bit number or duration`);
  return total;
}
