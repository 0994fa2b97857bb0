/**
 * The few DNS messages the drill makes and reads: queries (optionally with EDNS and a COOKIE
 * option) and the parts of a response it checks (ID, flags, RCODE, question, the A records of
 * the answer, the server cookie). Every offset read from a response is bounds-checked.
 * @module
 */

export const TYPE_A = 1;
export const TYPE_TXT = 16;
export const TYPE_AAAA = 28;
const TYPE_OPT = 41;
const OPT_COOKIE = 10;

/** A name in wire form (lower case). */
export function wireName(text: string): Uint8Array {
  const out: number[] = [];
  for (const label of text.replace(/\.$/, '').split('.')) {
    if (label.length === 0) continue;
    if (label.length > 63) throw new Error(`label too long in ${text}`);
    out.push(label.length);
    for (let i = 0; i < label.length; i++) out.push(label.charCodeAt(i) & 0x7f);
  }
  out.push(0);
  return Uint8Array.from(out);
}

/** EDNS of a query: the UDP size, and the cookie to send (8-octet client cookie + server cookie). */
export interface QueryEdns {
  readonly size: number;
  readonly cookie?: Uint8Array;
}

/**
 * Writes a query into `buf` at `at` (RD clear, one question, class IN); returns its length.
 * `buf` must have room for 12 + name + 4 + 11 + 4 + 40 octets.
 */
export function writeQuery(
  buf: Uint8Array,
  at: number,
  id: number,
  name: Uint8Array,
  qtype: number,
  edns?: QueryEdns,
): number {
  let p = at;
  buf[p++] = (id >> 8) & 255;
  buf[p++] = id & 255;
  buf[p++] = 0;
  buf[p++] = 0;
  buf[p++] = 0;
  buf[p++] = 1;
  buf[p++] = 0;
  buf[p++] = 0;
  buf[p++] = 0;
  buf[p++] = 0;
  buf[p++] = 0;
  buf[p++] = edns ? 1 : 0;
  buf.set(name, p);
  p += name.length;
  buf[p++] = qtype >> 8;
  buf[p++] = qtype & 255;
  buf[p++] = 0;
  buf[p++] = 1;
  if (edns) {
    const cookie = edns.cookie;
    const rdlen = cookie ? 4 + cookie.length : 0;
    buf[p++] = 0;
    buf[p++] = 0;
    buf[p++] = TYPE_OPT;
    buf[p++] = edns.size >> 8;
    buf[p++] = edns.size & 255;
    buf[p++] = 0;
    buf[p++] = 0;
    buf[p++] = 0;
    buf[p++] = 0;
    buf[p++] = rdlen >> 8;
    buf[p++] = rdlen & 255;
    if (cookie) {
      buf[p++] = 0;
      buf[p++] = OPT_COOKIE;
      buf[p++] = cookie.length >> 8;
      buf[p++] = cookie.length & 255;
      buf.set(cookie, p);
      p += cookie.length;
    }
  }
  return p - at;
}

/** What the drill reads from a response. */
export interface ResponseInfo {
  readonly id: number;
  readonly rcode: number;
  readonly tc: boolean;
  readonly aa: boolean;
  /** The A records of the answer section, each as a 32-bit number. */
  readonly a: number[];
  readonly ancount: number;
  /** The COOKIE option's data (client + server cookie), when the response has one. */
  readonly cookie?: Uint8Array;
  /** Smallest TTL of the answer section's records (undefined when it has none). */
  readonly ttl?: number;
  /**
   * How long a negative answer may be cached (RFC 2308 §5): the smaller of the authority
   * section SOA's TTL and its MINIMUM field (undefined without a SOA).
   */
  readonly negativeTtl?: number;
}

const TYPE_SOA = 6;

/** Skips a (possibly compressed) name; returns the offset after it, or -1. */
function skipName(m: Uint8Array, p: number): number {
  for (let hops = 0; hops < 128; hops++) {
    if (p >= m.length) return -1;
    const len = m[p];
    if (len === 0) return p + 1;
    if ((len & 0xc0) === 0xc0) return p + 2 <= m.length ? p + 2 : -1;
    if (len & 0xc0) return -1;
    p += 1 + len;
  }
  return -1;
}

/**
 * Reads a response to a query whose question was `name`/`qtype`; returns undefined when it is
 * not a response to that question (wrong question, not QR, malformed).
 */
export function readResponse(m: Uint8Array, name: Uint8Array, qtype: number): ResponseInfo | undefined {
  if (m.length < 12 || (m[2] & 0x80) === 0) return undefined;
  const id = (m[0] << 8) | m[1];
  // The header's four bits; an OPT adds the upper eight (RFC 6891 §6.1.3: BADCOOKIE = 23).
  let rcode = m[3] & 0x0f;
  const tc = (m[2] & 0x02) !== 0;
  const aa = (m[2] & 0x04) !== 0;
  const qd = (m[4] << 8) | m[5];
  const an = (m[6] << 8) | m[7];
  const ns = (m[8] << 8) | m[9];
  const ar = (m[10] << 8) | m[11];
  if (qd !== 1) return undefined;
  let p = 12;
  if (p + name.length + 4 > m.length) return undefined;
  for (let i = 0; i < name.length; i++) {
    const c = m[p + i];
    const lower = c >= 65 && c <= 90 ? c | 0x20 : c;
    if (lower !== name[i]) return undefined;
  }
  p += name.length;
  if (((m[p] << 8) | m[p + 1]) !== qtype) return undefined;
  p += 4;
  const a: number[] = [];
  let cookie: Uint8Array | undefined;
  let ttl: number | undefined;
  let negativeTtl: number | undefined;
  const total = an + ns + ar;
  for (let r = 0; r < total; r++) {
    p = skipName(m, p);
    if (p < 0 || p + 10 > m.length) break;
    const type = (m[p] << 8) | m[p + 1];
    const rrTtl = ((m[p + 4] << 24) | (m[p + 5] << 16) | (m[p + 6] << 8) | m[p + 7]) >>> 0;
    const rdlen = (m[p + 8] << 8) | m[p + 9];
    p += 10;
    if (p + rdlen > m.length) break;
    if (r < an && type !== TYPE_OPT) ttl = ttl === undefined ? rrTtl : Math.min(ttl, rrTtl);
    if (r >= an && r < an + ns && type === TYPE_SOA && rdlen >= 22) {
      const e = p + rdlen;
      const minimum = ((m[e - 4] << 24) | (m[e - 3] << 16) | (m[e - 2] << 8) | m[e - 1]) >>> 0;
      negativeTtl = Math.min(rrTtl, minimum);
    }
    if (r < an && type === TYPE_A && rdlen === 4)
      a.push(((m[p] << 24) | (m[p + 1] << 16) | (m[p + 2] << 8) | m[p + 3]) >>> 0);
    if (r >= an + ns && type === TYPE_OPT) {
      rcode |= m[p - 6] << 4;
      let q = p;
      while (q + 4 <= p + rdlen) {
        const code = (m[q] << 8) | m[q + 1];
        const len = (m[q + 2] << 8) | m[q + 3];
        if (q + 4 + len > p + rdlen) break;
        if (code === OPT_COOKIE && len >= 8 && len <= 40) cookie = m.slice(q + 4, q + 4 + len);
        q += 4 + len;
      }
    }
    p += rdlen;
  }
  return { id, rcode, tc, aa, a, ancount: an, cookie, ttl, negativeTtl };
}
