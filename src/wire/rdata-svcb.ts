/**
 * SVCB/HTTPS SvcParams in presentation form (RFC 9460 §2.1 and Appendix A): parsing
 * `key=value` tokens into wire SvcParams and printing them back. alpn and dohpath values are
 * printed unquoted unless the master-file syntax needs quotes (`alpn=h2,h3`, as Knot and
 * PowerDNS print them); keyNNNN values are always quoted, as both print those. Either
 * spelling reads back to the same octets.
 * @module
 */

import {
  clip,
  escapeText,
  fromBase64,
  ipv4ToText,
  ipv6ToText,
  needsQuotes,
  parseUint,
  requireIpv4,
  requireIpv6,
  textError,
  toBase64,
  unescapeText,
} from './rdata-encoding.js';
import { checkSvcParamValue, SvcParamKey } from './rdata-wire.js';
import type { TextToken } from './text-token.js';

const keyNames = new Map<number, string>(Object.entries(SvcParamKey).map(([k, v]) => [v, k]));

/** Presentation name of a SvcParamKey: its registered name or `keyNNNNN` (RFC 9460 §2.1). */
export function svcKeyToText(key: number): string {
  return keyNames.get(key) ?? `key${key}`;
}

/** SvcParamKey for a presentation name (registered name or keyNNNNN). */
export function svcKeyFromText(text: string, field: string): number {
  const known = (SvcParamKey as Record<string, number>)[text];
  if (known !== undefined) return known;
  const m = /^key(\d{1,5})$/.exec(text);
  // RFC 9460 §14.3.2: 65535 is reserved ("Invalid key").
  if (m && (m[1] === '0' || !m[1].startsWith('0'))) {
    const v = Number(m[1]);
    if (v < 65535) return v;
  }
  throw textError(field, `'${clip(text)}' is not a SvcParamKey`);
}

/**
 * Splits a char-string-decoded value into value-list items (RFC 9460 Appendix A.1): items
 * are separated by ',', and '\,' and '\\' stand for a literal comma and backslash.
 */
function splitValueList(value: Uint8Array, field: string): Uint8Array[] {
  const items: Uint8Array[] = [];
  let cur: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === 0x5c) {
      const n = value[i + 1];
      if (n !== 0x2c && n !== 0x5c) throw textError(field, "'\\' in a value list must escape ',' or '\\'");
      cur.push(n);
      i++;
    } else if (c === 0x2c) {
      if (cur.length === 0) throw textError(field, 'empty item in value list');
      items.push(Uint8Array.from(cur));
      cur = [];
    } else cur.push(c);
  }
  if (cur.length === 0) throw textError(field, 'empty item in value list');
  items.push(Uint8Array.from(cur));
  return items;
}

function ascii(b: Uint8Array): string {
  let s = '';
  for (const c of b) s += String.fromCharCode(c);
  return s;
}

/** Wire SvcParamValue for `key` from its char-string-decoded presentation value. */
function encodeValue(key: number, value: Uint8Array | undefined, field: string): Uint8Array {
  const name = svcKeyToText(key);
  const f = `${field} ${name}`;
  const needValue = (): Uint8Array => {
    if (value === undefined || value.length === 0) throw textError(f, 'a value is required');
    return value;
  };
  switch (key) {
    case SvcParamKey.mandatory: {
      const keys = splitValueList(needValue(), f).map((k) => svcKeyFromText(ascii(k), f));
      keys.sort((a, b) => a - b);
      const out = new Uint8Array(keys.length * 2);
      keys.forEach((k, i) => {
        // RFC 9460 §8: the list MUST NOT contain "mandatory" nor repeat a key.
        if (k === SvcParamKey.mandatory) throw textError(f, 'must not list mandatory itself');
        if (i > 0 && keys[i - 1] === k) throw textError(f, `key ${svcKeyToText(k)} listed twice`);
        out[2 * i] = k >> 8;
        out[2 * i + 1] = k & 0xff;
      });
      return out;
    }
    case SvcParamKey.alpn: {
      const ids = splitValueList(needValue(), f);
      const parts: number[] = [];
      for (const id of ids) {
        if (id.length > 255) throw textError(f, 'alpn-id longer than 255 octets');
        parts.push(id.length, ...id);
      }
      return Uint8Array.from(parts);
    }
    case SvcParamKey['no-default-alpn']:
    case SvcParamKey.ohttp:
      if (value !== undefined && value.length > 0) throw textError(f, 'takes no value');
      return new Uint8Array(0);
    case SvcParamKey.port: {
      const p = parseUint(ascii(needValue()), 0xffff, f, '16-bit');
      return Uint8Array.of(p >> 8, p & 0xff);
    }
    case SvcParamKey.ipv4hint: {
      const addrs = ascii(needValue()).split(',');
      const out = new Uint8Array(addrs.length * 4);
      addrs.forEach((a, i) => {
        out.set(requireIpv4(a, f), 4 * i);
      });
      return out;
    }
    case SvcParamKey.ipv6hint: {
      const addrs = ascii(needValue()).split(',');
      const out = new Uint8Array(addrs.length * 16);
      addrs.forEach((a, i) => {
        out.set(requireIpv6(a, f), 16 * i);
      });
      return out;
    }
    case SvcParamKey.ech:
      return fromBase64(ascii(needValue()), f);
    case SvcParamKey['tls-supported-groups']: {
      const groups = ascii(needValue()).split(',');
      const out = new Uint8Array(groups.length * 2);
      groups.forEach((g, i) => {
        const v = parseUint(g, 0xffff, f, '16-bit');
        out[2 * i] = v >> 8;
        out[2 * i + 1] = v & 0xff;
      });
      return out;
    }
    case SvcParamKey.dohpath:
      // RFC 9461 §5: a URI template, UTF-8; carried as is.
      return needValue();
    case SvcParamKey.docpath: {
      // RFC 9953 §3.2: path segments as a value list ("docpath=a,b"); no value is the root path.
      if (value === undefined || value.length === 0) return new Uint8Array(0);
      const parts: number[] = [];
      for (const seg of splitValueList(value, f)) {
        if (seg.length > 255) throw textError(f, 'path segment longer than 255 octets');
        parts.push(seg.length, ...seg);
      }
      return Uint8Array.from(parts);
    }
    default:
      return value ?? new Uint8Array(0);
  }
}

/**
 * Parses SvcParams tokens (after priority and target) into wire form, sorted by key
 * (RFC 9460 §2.2), with duplicate keys and mandatory-but-absent keys rejected (§2.1, §8).
 */
export function parseSvcParams(tokens: readonly TextToken[], start: number, field: string): Uint8Array {
  const params = new Map<number, Uint8Array>();
  for (let i = start; i < tokens.length; i++) {
    const tok = tokens[i];
    const text = tok.text;
    const eq = text.indexOf('=');
    let keyText: string;
    let raw: string | undefined;
    if (eq < 0) keyText = text;
    else {
      keyText = text.slice(0, eq);
      raw = text.slice(eq + 1);
      if (raw === '') {
        // `key="value"`: a lexer may hand the quoted value over as the next token. A bare
        // `key=` is not RFC 9460 Appendix A syntax (an unquoted value has 1+ characters).
        if (i + 1 >= tokens.length || !tokens[i + 1].quoted)
          throw textError(field, `'${clip(text)}' has '=' but no value`);
        raw = tokens[++i].text;
      } else if (raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"')) {
        // …or leave the quotes inside the token.
        raw = raw.slice(1, -1);
      }
    }
    const key = svcKeyFromText(keyText, field);
    if (params.has(key)) throw textError(field, `SvcParamKey ${svcKeyToText(key)} appears twice`);
    const value = raw === undefined ? undefined : unescapeText(raw, `${field} ${keyText}`);
    const wire = encodeValue(key, value, field);
    if (wire.length > 0xffff) throw textError(field, `${keyText} value longer than 65535 octets`);
    checkSvcParamValueText(wire, key, field);
    params.set(key, wire);
  }
  // RFC 9460 §8: every key listed in mandatory must be present.
  const mandatory = params.get(SvcParamKey.mandatory);
  if (mandatory) {
    for (let p = 0; p < mandatory.length; p += 2) {
      const k = (mandatory[p] << 8) | mandatory[p + 1];
      if (!params.has(k)) throw textError(field, `mandatory key ${svcKeyToText(k)} is missing`);
    }
  }
  // RFC 9460 §7.1.1: no-default-alpn without alpn is not self-consistent.
  if (params.has(SvcParamKey['no-default-alpn']) && !params.has(SvcParamKey.alpn))
    throw textError(field, 'no-default-alpn requires alpn');
  const keys = [...params.keys()].sort((a, b) => a - b);
  let total = 0;
  for (const k of keys) total += 4 + params.get(k)!.length;
  const out = new Uint8Array(total);
  let o = 0;
  for (const k of keys) {
    const v = params.get(k)!;
    out[o] = k >> 8;
    out[o + 1] = k & 0xff;
    out[o + 2] = v.length >> 8;
    out[o + 3] = v.length & 0xff;
    out.set(v, o + 4);
    o += 4 + v.length;
  }
  return out;
}

function checkSvcParamValueText(wire: Uint8Array, key: number, field: string): void {
  try {
    checkSvcParamValue(wire, key, 0, wire.length, 64);
  } catch (e) {
    throw textError(field, (e as Error).message);
  }
}

/** Escapes one value-list item for presentation (quoted or not, see presentValue). */
function escapeItem(b: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) {
    const c = b[i];
    // RFC 9460 Appendix A.1: ',' and '\' are escaped at the value-list level ("\,", "\\"),
    // and the backslash itself is escaped again in the char-string layer.
    if (c === 0x2c) s += '\\\\,';
    else if (c === 0x5c) s += '\\\\\\\\';
    else if (c === 0x22) s += '\\"';
    else if (c < 0x20 || c >= 0x7f) s += `\\${c.toString().padStart(3, '0')}`;
    else s += String.fromCharCode(c);
  }
  return s;
}

/**
 * `=value` for an escaped value: RFC 9460 Appendix A lets a value be a contiguous or a
 * quoted char-string; quotes only when a blank, `"`, `;` or parenthesis would otherwise end
 * or break the token (empty values are never printed: the key stands alone).
 */
function presentValue(escaped: string): string {
  return needsQuotes(escaped) ? `="${escaped}"` : `=${escaped}`;
}

/** Presentation of SvcParams in rd[pos, end) (validated), ` key=value` each. */
export function printSvcParams(rd: Uint8Array, pos: number, end: number): string {
  let s = '';
  while (pos < end) {
    const key = (rd[pos] << 8) | rd[pos + 1];
    const len = (rd[pos + 2] << 8) | rd[pos + 3];
    const v = pos + 4;
    const vend = v + len;
    s += ` ${svcKeyToText(key)}`;
    switch (key) {
      case SvcParamKey.mandatory: {
        const names: string[] = [];
        for (let p = v; p < vend; p += 2) names.push(svcKeyToText((rd[p] << 8) | rd[p + 1]));
        s += `=${names.join(',')}`;
        break;
      }
      case SvcParamKey.alpn: {
        const ids: string[] = [];
        for (let p = v; p < vend; p += 1 + rd[p]) ids.push(escapeItem(rd, p + 1, p + 1 + rd[p]));
        s += presentValue(ids.join(','));
        break;
      }
      case SvcParamKey['no-default-alpn']:
      case SvcParamKey.ohttp:
        break;
      case SvcParamKey.port:
        s += `=${(rd[v] << 8) | rd[v + 1]}`;
        break;
      case SvcParamKey.ipv4hint: {
        const a: string[] = [];
        for (let p = v; p < vend; p += 4) a.push(ipv4ToText(rd, p));
        s += `=${a.join(',')}`;
        break;
      }
      case SvcParamKey.ipv6hint: {
        const a: string[] = [];
        for (let p = v; p < vend; p += 16) a.push(ipv6ToText(rd, p));
        s += `=${a.join(',')}`;
        break;
      }
      case SvcParamKey.ech:
        s += `=${toBase64(rd, v, vend)}`;
        break;
      case SvcParamKey['tls-supported-groups']: {
        const g: number[] = [];
        for (let p = v; p < vend; p += 2) g.push((rd[p] << 8) | rd[p + 1]);
        s += `=${g.join(',')}`;
        break;
      }
      case SvcParamKey.dohpath:
        s += presentValue(escapeText(rd, v, vend));
        break;
      case SvcParamKey.docpath: {
        const segs: string[] = [];
        for (let p = v; p < vend; p += 1 + rd[p]) segs.push(escapeItem(rd, p + 1, p + 1 + rd[p]));
        if (segs.length > 0) s += presentValue(segs.join(','));
        break;
      }
      default:
        // keyNNNN: always quoted, as Knot, BIND and PowerDNS 4.7 print it (clients that wrote
        // key667="x" read back what they wrote); an empty value is the key alone (Knot, BIND).
        if (len > 0) s += `="${escapeText(rd, v, vend)}"`;
    }
    pos = vend;
  }
  return s;
}

/**
 * RFC 9460 §2.4.3 self-consistency of wire SvcParams in rd[pos, end) (validated): keys
 * listed in mandatory are present, and no-default-alpn comes with alpn.
 */
export function svcParamsConsistent(rd: Uint8Array, pos: number, end: number): boolean {
  const keys = new Set<number>();
  let mandatory: Uint8Array | undefined;
  for (let p = pos; p < end; ) {
    const key = (rd[p] << 8) | rd[p + 1];
    const len = (rd[p + 2] << 8) | rd[p + 3];
    keys.add(key);
    if (key === SvcParamKey.mandatory) mandatory = rd.subarray(p + 4, p + 4 + len);
    p += 4 + len;
  }
  if (keys.has(SvcParamKey['no-default-alpn']) && !keys.has(SvcParamKey.alpn)) return false;
  if (mandatory)
    for (let p = 0; p < mandatory.length; p += 2)
      if (!keys.has((mandatory[p] << 8) | mandatory[p + 1])) return false;
  return true;
}
