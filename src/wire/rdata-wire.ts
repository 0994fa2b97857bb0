/**
 * Wire layout of RDATA per RR type: validation, expansion of compressed names where RFC 3597
 * §4 allows it, and the offsets of names inside uncompressed RDATA. One layout per type, like
 * libknot's descriptor table; types with nested structure get a validator function.
 * @module
 */
import { NSEC3_HASH_LENGTH, RRType, typeToString, ZONEMD_DIGEST_LENGTH } from './constants.js';
import { WireFormatError } from './errors.js';

/**
 * Layout items, in order:
 * - a number: that many fixed octets;
 * - 'c': a name that may be compressed on output and in input (RFC 1035 types, RFC 3597 §4);
 * - 'd': a name that a receiver decompresses but that is never compressed on output
 *   (RFC 3597 §4: RP, AFSDB, RT, SIG, PX, NXT, NAPTR, SRV);
 * - 'n': a name that must be uncompressed (every other type, e.g. RFC 6672 §2.5, RFC 4034 §3.1.7);
 * - 's': one <character-string>; 'S': one or more <character-string>s to the end;
 * - 'r': the rest, any length; 'R': the rest, at least one octet;
 * - 'b': an RFC 4034 §4.1.2 type bitmap to the end (possibly empty).
 */
export type LayoutItem = number | 'c' | 'd' | 'n' | 's' | 'S' | 'r' | 'R' | 'b';

/** A validator for types whose layout a flat item list cannot express (all names uncompressed). */
type Validator = (rd: Uint8Array, start: number, end: number, type: number) => void;

const NAME_C: readonly LayoutItem[] = ['c'];
const DS_LIKE: readonly LayoutItem[] = [4, 'r'];
const TXT_LIKE: readonly LayoutItem[] = ['S'];

/** Flat layouts. Types absent here and from `validators` are opaque (RFC 3597). */
export const layouts: ReadonlyMap<number, readonly LayoutItem[]> = new Map<number, readonly LayoutItem[]>([
  [RRType.A, [4]],
  [RRType.NS, NAME_C],
  [RRType.MD, NAME_C],
  [RRType.MF, NAME_C],
  [RRType.CNAME, NAME_C],
  [RRType.SOA, ['c', 'c', 20]],
  [RRType.MB, NAME_C],
  [RRType.MG, NAME_C],
  [RRType.MR, NAME_C],
  [RRType.NULL, ['r']],
  [RRType.WKS, [5, 'r']],
  [RRType.PTR, NAME_C],
  [RRType.HINFO, ['s', 's']],
  [RRType.MINFO, ['c', 'c']],
  [RRType.MX, [2, 'c']],
  [RRType.TXT, TXT_LIKE],
  [RRType.RP, ['d', 'd']],
  [RRType.AFSDB, [2, 'd']],
  [RRType.X25, ['s']],
  [RRType.RT, [2, 'd']],
  [RRType.NSAP, ['R']],
  [RRType.SIG, [18, 'd', 'r']],
  [RRType.KEY, DS_LIKE],
  [RRType['NSAP-PTR'], ['n']],
  [RRType.PX, [2, 'd', 'd']],
  [RRType.GPOS, ['s', 's', 's']],
  [RRType.AAAA, [16]],
  [RRType.NXT, ['d', 'r']],
  [RRType.SRV, [6, 'd']],
  [RRType.NAPTR, [4, 's', 's', 's', 'd']],
  [RRType.KX, [2, 'n']],
  [RRType.CERT, [5, 'r']],
  [RRType.DNAME, ['n']],
  [RRType.DS, DS_LIKE],
  [RRType.SSHFP, [2, 'r']],
  [RRType.RRSIG, [18, 'n', 'r']],
  [RRType.NSEC, ['n', 'b']],
  [RRType.DNSKEY, DS_LIKE],
  [RRType.DHCID, ['R']],
  [RRType.TLSA, [3, 'r']],
  [RRType.SMIMEA, [3, 'r']],
  [RRType.NINFO, TXT_LIKE],
  [RRType.RKEY, DS_LIKE],
  [RRType.TALINK, ['n', 'n']],
  [RRType.CDS, DS_LIKE],
  [RRType.CDNSKEY, DS_LIKE],
  [RRType.OPENPGPKEY, ['R']],
  [RRType.CSYNC, [6, 'b']],
  [RRType.DSYNC, [5, 'n']],
  [RRType.SPF, TXT_LIKE],
  [RRType.NID, [10]],
  [RRType.L32, [6]],
  [RRType.L64, [10]],
  [RRType.LP, [2, 'n']],
  [RRType.EUI48, [6]],
  [RRType.EUI64, [8]],
  [RRType.URI, [4, 'r']],
  [RRType.AVC, TXT_LIKE],
  [RRType.RESINFO, TXT_LIKE],
  [RRType.WALLET, TXT_LIKE],
  [RRType.TA, DS_LIKE],
  [RRType.DLV, DS_LIKE],
]);

/** Shorthand for an RDATA layout error naming the type. */
export function rdataError(type: number, what: string): WireFormatError {
  return new WireFormatError('DNS_ERR_RDATA', `${typeToString(type)} RDATA: ${what}`);
}

const HEADER_SIZE = 12;

// Set by scanName: whether the name just scanned contained a compression pointer. A module
// variable instead of a result object keeps the hot path free of allocations.
let scannedPointer = false;
// Set by scanName: the uncompressed length of the name just scanned.
let scannedLength = 0;

/**
 * Scans a name starting at `start` inside the RDATA region ending at `end`; pointers (when
 * `allowPointer`) may lead anywhere earlier in `msg`. Returns the offset just after the name
 * as it sits in the RDATA. Sets `scannedPointer`.
 */
function scanName(msg: Uint8Array, start: number, end: number, allowPointer: boolean, type: number): number {
  let pos = start;
  let limit = end;
  let total = 0;
  let after = -1;
  scannedPointer = false;
  for (;;) {
    if (pos >= limit) {
      if (after < 0) throw rdataError(type, 'name runs past the end of the RDATA');
      throw new WireFormatError('DNS_ERR_NAME', 'compression pointer leads past the end of the message', pos);
    }
    const len = msg[pos];
    if (len === 0) {
      if (after < 0) after = pos + 1;
      scannedLength = total + 1;
      return after;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (!allowPointer)
        throw rdataError(type, 'compression pointer in a name that must not be compressed (RFC 3597 §4)');
      if (pos + 1 >= limit) {
        if (after < 0) throw rdataError(type, 'name runs past the end of the RDATA');
        throw new WireFormatError('DNS_ERR_NAME', 'truncated compression pointer', pos);
      }
      const target = ((len & 0x3f) << 8) | msg[pos + 1];
      // RFC 1035 §4.1.4 pointers refer to a prior occurrence: a pointer to itself or later
      // is a forward pointer (and the only way to build a loop that does not grow the name).
      if (target >= pos) throw new WireFormatError('DNS_ERR_NAME', 'forward compression pointer', pos);
      // Names start after the 12-octet header (RFC 1035 §4.1.1); like Knot, refuse pointers into it.
      if (target < HEADER_SIZE)
        throw new WireFormatError('DNS_ERR_NAME', 'compression pointer into the header', pos);
      if (after < 0) after = pos + 2;
      scannedPointer = true;
      pos = target;
      limit = msg.length;
      continue;
    }
    // RFC 6891 §5 / RFC 2673: 0x40 (extended) and 0x80 label types are not valid in names.
    if (kind !== 0)
      throw new WireFormatError('DNS_ERR_NAME', `reserved label type 0x${len.toString(16)}`, pos);
    total += len + 1;
    // RFC 1035 §2.3.4: 255 octets including the root label.
    if (total > 254) throw new WireFormatError('DNS_ERR_NAME', 'name longer than 255 octets', pos);
    pos += len + 1;
  }
}

/** Writes the uncompressed form of an already validated (possibly compressed) name at `pos`
 * into `out` at `o`; returns the offset after it. */
function expandNameInto(msg: Uint8Array, pos: number, out: Uint8Array, o: number): number {
  for (;;) {
    const len = msg[pos];
    if (len >= 0xc0) {
      pos = ((len & 0x3f) << 8) | msg[pos + 1];
      continue;
    }
    out[o++] = len;
    if (len === 0) return o;
    for (let i = pos + 1, e = pos + 1 + len; i < e; i++) out[o++] = msg[i];
    pos += len + 1;
  }
}

/** Length of the uncompressed name at `pos` in `rd` (trusted: validated RDATA). */
export function nameLengthAt(rd: Uint8Array, pos: number): number {
  let p = pos;
  for (;;) {
    if (p >= rd.length) throw new WireFormatError('DNS_ERR_RDATA', 'name runs past the end of the RDATA', p);
    const len = rd[p];
    if (len === 0) return p + 1 - pos;
    if (len > 63) throw new WireFormatError('DNS_ERR_NAME', 'compressed or bad label in stored RDATA', p);
    p += len + 1;
  }
}

/** Validates one uncompressed name in RDATA; returns the offset after it. */
export function checkName(rd: Uint8Array, pos: number, end: number, type: number): number {
  return scanName(rd, pos, end, false, type);
}

/**
 * Validates an RFC 4034 §4.1.2 type bitmap occupying [pos, end): windows in strictly
 * ascending order, each bitmap 1..32 octets.
 */
export function checkBitmap(rd: Uint8Array, pos: number, end: number, type: number): void {
  let last = -1;
  while (pos < end) {
    if (pos + 2 > end) throw rdataError(type, 'truncated type bitmap window header');
    const window = rd[pos];
    const len = rd[pos + 1];
    if (window <= last) throw rdataError(type, 'type bitmap windows not in ascending order');
    if (len < 1 || len > 32) throw rdataError(type, `type bitmap window length ${len} is not in 1..32`);
    pos += 2 + len;
    if (pos > end) throw rdataError(type, 'type bitmap window runs past the end of the RDATA');
    last = window;
  }
}

// Compressed names found by scanLayout: (start, end in the message) pairs, reused.
const compressed: number[] = [];

/**
 * Walks a flat layout over msg[start, end). Returns the uncompressed RDATA length; compressed
 * names in 'c'/'d' fields are recorded in `compressed` (empty when none).
 */
function scanLayout(
  msg: Uint8Array,
  start: number,
  end: number,
  layout: readonly LayoutItem[],
  type: number,
): number {
  let pos = start;
  let total = end - start;
  compressed.length = 0;
  for (let i = 0; i < layout.length; i++) {
    const item = layout[i];
    if (typeof item === 'number') {
      pos += item;
      if (pos > end) throw rdataError(type, `expected at least ${pos - start} octets, got ${end - start}`);
      continue;
    }
    switch (item) {
      case 'c':
      case 'd':
      case 'n': {
        const nameStart = pos;
        pos = scanName(msg, pos, end, item !== 'n', type);
        if (scannedPointer) {
          compressed.push(nameStart, pos);
          total += scannedLength - (pos - nameStart);
        }
        break;
      }
      case 's':
        if (pos >= end) throw rdataError(type, 'missing <character-string>');
        pos += 1 + msg[pos];
        if (pos > end) throw rdataError(type, '<character-string> runs past the end of the RDATA');
        break;
      case 'S':
        if (pos >= end) throw rdataError(type, 'at least one <character-string> is required');
        while (pos < end) {
          pos += 1 + msg[pos];
          if (pos > end) throw rdataError(type, '<character-string> runs past the end of the RDATA');
        }
        break;
      case 'R':
        if (pos >= end) throw rdataError(type, 'empty data field');
        pos = end;
        break;
      case 'r':
        pos = end;
        break;
      case 'b':
        checkBitmap(msg, pos, end, type);
        pos = end;
        break;
    }
  }
  if (pos !== end) throw rdataError(type, `${end - pos} trailing octet(s)`);
  return total;
}

function need(pos: number, n: number, end: number, type: number, what: string): number {
  if (pos + n > end) throw rdataError(type, `truncated ${what}`);
  return pos + n;
}

function done(pos: number, end: number, type: number): void {
  if (pos !== end) throw rdataError(type, `${end - pos} trailing octet(s)`);
}

function u16(rd: Uint8Array, pos: number): number {
  return (rd[pos] << 8) | rd[pos + 1];
}

/** SVCB/HTTPS SvcParamKeys (IANA "Service Parameter Keys (SvcParamKeys)"). */
export const SvcParamKey = {
  mandatory: 0,
  alpn: 1,
  'no-default-alpn': 2,
  port: 3,
  ipv4hint: 4,
  ech: 5,
  ipv6hint: 6,
  dohpath: 7,
  ohttp: 8,
  'tls-supported-groups': 9,
  docpath: 10,
} as const;

/**
 * Validates one SvcParamValue of a known key (RFC 9460 §2.2: a client MUST consider an RR
 * malformed if a value of a known key fails to parse). Unknown keys are opaque.
 */
export function checkSvcParamValue(
  rd: Uint8Array,
  key: number,
  pos: number,
  end: number,
  type: number,
): void {
  const len = end - pos;
  switch (key) {
    case SvcParamKey.mandatory: {
      // RFC 9460 §8: a non-empty list of keys in strictly increasing order, never "mandatory".
      if (len === 0 || len % 2 !== 0) throw rdataError(type, 'mandatory: value is not a non-empty key list');
      let prev = -1;
      for (let p = pos; p < end; p += 2) {
        const k = u16(rd, p);
        if (k === SvcParamKey.mandatory) throw rdataError(type, 'mandatory: lists the mandatory key itself');
        if (k <= prev) throw rdataError(type, 'mandatory: keys not in strictly increasing order');
        prev = k;
      }
      return;
    }
    case SvcParamKey.alpn: {
      // RFC 9460 §7.1.1: a non-empty list of non-empty alpn-ids, each a <character-string>.
      if (len === 0) throw rdataError(type, 'alpn: empty value');
      let p = pos;
      while (p < end) {
        const l = rd[p];
        if (l === 0) throw rdataError(type, 'alpn: empty alpn-id');
        p += 1 + l;
        if (p > end) throw rdataError(type, 'alpn: alpn-id runs past the end of the value');
      }
      return;
    }
    case SvcParamKey['no-default-alpn']:
    case SvcParamKey.ohttp:
      // RFC 9460 §7.1.1, RFC 9540 §4: the value is empty.
      if (len !== 0) throw rdataError(type, `key${key}: value must be empty`);
      return;
    case SvcParamKey.port:
      if (len !== 2) throw rdataError(type, 'port: value must be 2 octets');
      return;
    case SvcParamKey.ipv4hint:
      if (len === 0 || len % 4 !== 0)
        throw rdataError(type, 'ipv4hint: value is not a non-empty address list');
      return;
    case SvcParamKey.ipv6hint:
      if (len === 0 || len % 16 !== 0)
        throw rdataError(type, 'ipv6hint: value is not a non-empty address list');
      return;
    case SvcParamKey.ech:
    case SvcParamKey.dohpath:
      // RFC 9460 §9 (an ECHConfigList) and RFC 9461 §5 (a URI template) are never empty.
      if (len === 0) throw rdataError(type, `key${key}: empty value`);
      return;
    case SvcParamKey['tls-supported-groups']: {
      if (len === 0 || len % 2 !== 0)
        throw rdataError(type, 'tls-supported-groups: value is not a non-empty list');
      // draft-ietf-tls-key-share-prediction §3.1: a list with duplicates is invalid.
      for (let p = pos; p < end; p += 2)
        for (let q = pos; q < p; q += 2)
          if (u16(rd, p) === u16(rd, q)) throw rdataError(type, 'tls-supported-groups: duplicate group');
      return;
    }
    case SvcParamKey.docpath: {
      // RFC 9953 §3.2: the path as a sequence of length-prefixed, non-empty segments; empty
      // for the root path.
      let p = pos;
      while (p < end) {
        if (rd[p] === 0) throw rdataError(type, 'docpath: empty segment');
        p += 1 + rd[p];
        if (p > end) throw rdataError(type, 'docpath: segment runs past the end of the value');
      }
      return;
    }
    default:
      return;
  }
}

const validators = new Map<number, Validator>([
  [
    RRType.LOC,
    (rd, pos, end, type) => {
      if (pos >= end) throw rdataError(type, 'empty RDATA');
      // RFC 1876 §2: only version 0 is defined; other versions are opaque to us.
      if (rd[pos] !== 0) return;
      if (end - pos !== 16) throw rdataError(type, 'version 0 RDATA must be 16 octets');
      // RFC 1876 §2: SIZE, HORIZ PRE and VERT PRE nibbles are restricted to 0-9.
      for (let i = 1; i <= 3; i++) {
        const v = rd[pos + i];
        if (v >> 4 > 9 || (v & 15) > 9) throw rdataError(type, 'precision nibble over 9');
      }
    },
  ],
  [
    RRType.ISDN,
    (rd, pos, end, type) => {
      // RFC 1183 §3.2: ISDN-address, then an optional subaddress.
      pos = need(pos, 1, end, type, 'ISDN-address');
      pos = need(pos, rd[pos - 1], end, type, 'ISDN-address');
      if (pos < end) {
        pos = need(pos, 1, end, type, 'subaddress');
        pos = need(pos, rd[pos - 1], end, type, 'subaddress');
      }
      done(pos, end, type);
    },
  ],
  [
    RRType.OPT,
    (rd, pos, end, type) => {
      // RFC 6891 §6.1.2: {OPTION-CODE, OPTION-LENGTH, OPTION-DATA}*
      while (pos < end) {
        pos = need(pos, 4, end, type, 'option header');
        pos = need(pos, u16(rd, pos - 2), end, type, 'option data');
      }
    },
  ],
  [
    RRType.APL,
    (rd, pos, end, type) => {
      // RFC 3123 §4: {ADDRESSFAMILY(2) PREFIX(1) N|AFDLENGTH(1) AFDPART}*
      while (pos < end) {
        pos = need(pos, 4, end, type, 'APL item header');
        const family = u16(rd, pos - 4);
        const prefix = rd[pos - 2];
        const afdlen = rd[pos - 1] & 0x7f;
        const max = family === 1 ? 4 : family === 2 ? 16 : 127;
        if (afdlen > max) throw rdataError(type, `AFDLENGTH ${afdlen} too long for family ${family}`);
        if ((family === 1 && prefix > 32) || (family === 2 && prefix > 128))
          throw rdataError(type, `prefix ${prefix} too long for family ${family}`);
        pos = need(pos, afdlen, end, type, 'AFDPART');
      }
    },
  ],
  [
    RRType.IPSECKEY,
    (rd, start, end, type) => {
      let pos = start;
      // RFC 4025 §2.1: precedence, gateway type, algorithm, gateway, public key.
      pos = need(pos, 3, end, type, 'header');
      const gwType = rd[pos - 2];
      if (gwType === 1) pos = need(pos, 4, end, type, 'IPv4 gateway');
      else if (gwType === 2) pos = need(pos, 16, end, type, 'IPv6 gateway');
      // RFC 4025 §2.5: the gateway name is never compressed.
      else if (gwType === 3) pos = checkName(rd, pos, end, type);
      else if (gwType !== 0) throw rdataError(type, `unknown gateway type ${gwType}`);
      // RFC 4025 §2.4: algorithm 0 means that no key is present, any other that one is.
      if (rd[start + 2] === 0 && pos !== end) throw rdataError(type, 'public key present with algorithm 0');
      if (rd[start + 2] !== 0 && pos === end)
        throw rdataError(type, `no public key with algorithm ${rd[start + 2]}`);
    },
  ],
  [
    RRType.NSEC3,
    (rd, start, end, type) => {
      let pos = start;
      // RFC 5155 §3.2: alg, flags, iterations, salt length, salt, hash length, hash, bitmap.
      pos = need(pos, 5, end, type, 'header');
      pos = need(pos, rd[pos - 1], end, type, 'salt');
      pos = need(pos, 1, end, type, 'hash length');
      const hashLen = rd[pos - 1];
      if (hashLen === 0) throw rdataError(type, 'empty next hashed owner name');
      // RFC 5155 §3.1.7: the next hashed owner is a hash of the algorithm's own length.
      const want = NSEC3_HASH_LENGTH[rd[start]];
      if (want !== undefined && hashLen !== want)
        throw rdataError(
          type,
          `${hashLen}-octet next hashed owner, hash algorithm ${rd[start]} gives ${want}`,
        );
      pos = need(pos, hashLen, end, type, 'next hashed owner name');
      checkBitmap(rd, pos, end, type);
    },
  ],
  [
    RRType.NSEC3PARAM,
    (rd, pos, end, type) => {
      // RFC 5155 §4.2: alg, flags, iterations, salt length, salt; nothing after.
      pos = need(pos, 5, end, type, 'header');
      pos = need(pos, rd[pos - 1], end, type, 'salt');
      done(pos, end, type);
    },
  ],
  [
    RRType.HIP,
    (rd, pos, end, type) => {
      // RFC 8005 §5: HIT length, PK algorithm, PK length, HIT, public key, rendezvous servers.
      pos = need(pos, 4, end, type, 'header');
      const hitLen = rd[pos - 4];
      const pkLen = u16(rd, pos - 2);
      if (hitLen === 0) throw rdataError(type, 'empty HIT');
      pos = need(pos, hitLen, end, type, 'HIT');
      pos = need(pos, pkLen, end, type, 'public key');
      // RFC 8005 §5: rendezvous server names MUST NOT be compressed.
      while (pos < end) pos = checkName(rd, pos, end, type);
    },
  ],
  [
    RRType.ZONEMD,
    (rd, pos, end, type) => {
      // RFC 8976 §2.2.4: the digest MUST NOT be shorter than 12 octets; SHA-384 and SHA-512
      // digests are never truncated. Unknown schemes and hash algorithms are valid.
      if (end - pos < 6 + 12) throw rdataError(type, 'digest shorter than 12 octets');
      const want = ZONEMD_DIGEST_LENGTH[rd[pos + 5]];
      if (want !== undefined && end - pos - 6 !== want)
        throw rdataError(type, `${end - pos - 6}-octet digest, hash algorithm ${rd[pos + 5]} gives ${want}`);
    },
  ],
  [
    RRType.SVCB,
    (rd, pos, end, type) => {
      // RFC 9460 §2.2: priority, target (uncompressed, §2.2), SvcParams.
      pos = need(pos, 2, end, type, 'priority');
      pos = checkName(rd, pos, end, type);
      let prev = -1;
      while (pos < end) {
        pos = need(pos, 4, end, type, 'SvcParam header');
        const key = u16(rd, pos - 4);
        // RFC 9460 §2.2: keys in strictly increasing order, else the RR is malformed.
        if (key <= prev) throw rdataError(type, `SvcParamKey ${key} out of order or repeated`);
        prev = key;
        if (key === 65535) throw rdataError(type, 'reserved SvcParamKey 65535');
        const vstart = pos;
        pos = need(pos, u16(rd, pos - 2), end, type, 'SvcParamValue');
        checkSvcParamValue(rd, key, vstart, pos, type);
      }
    },
  ],
  [
    RRType.TKEY,
    (rd, pos, end, type) => {
      // RFC 2930 §2: algorithm, inception, expiration, mode, error, key, other.
      pos = checkName(rd, pos, end, type);
      pos = need(pos, 14, end, type, 'fixed fields');
      pos = need(pos, u16(rd, pos - 2), end, type, 'key data');
      pos = need(pos, 2, end, type, 'other size');
      pos = need(pos, u16(rd, pos - 2), end, type, 'other data');
      done(pos, end, type);
    },
  ],
  [
    RRType.TSIG,
    (rd, pos, end, type) => {
      // RFC 8945 §4.2: algorithm (uncompressed), time signed (48 bits), fudge, MAC size, MAC,
      // original ID, error, other len, other data.
      pos = checkName(rd, pos, end, type);
      pos = need(pos, 10, end, type, 'fixed fields');
      pos = need(pos, u16(rd, pos - 2), end, type, 'MAC');
      pos = need(pos, 6, end, type, 'original ID, error, other len');
      pos = need(pos, u16(rd, pos - 2), end, type, 'other data');
      done(pos, end, type);
    },
  ],
  [
    RRType.CAA,
    (rd, pos, end, type) => {
      // RFC 8659 §4.1: flags, tag length (at least 1), tag (ASCII letters and digits), value.
      pos = need(pos, 2, end, type, 'flags and tag length');
      const tagLen = rd[pos - 1];
      if (tagLen === 0) throw rdataError(type, 'empty tag');
      const tagStart = pos;
      pos = need(pos, tagLen, end, type, 'tag');
      for (let i = tagStart; i < pos; i++)
        if (!isAlnum(rd[i])) throw rdataError(type, 'tag is not alphanumeric');
    },
  ],
  [
    RRType.AMTRELAY,
    (rd, pos, end, type) => {
      // RFC 8777 §4.2: precedence, D bit + relay type, relay.
      pos = need(pos, 2, end, type, 'header');
      const relayType = rd[pos - 1] & 0x7f;
      if (relayType === 1) pos = need(pos, 4, end, type, 'IPv4 relay');
      else if (relayType === 2) pos = need(pos, 16, end, type, 'IPv6 relay');
      else if (relayType === 3) pos = checkName(rd, pos, end, type);
      else if (relayType !== 0) throw rdataError(type, `unknown relay type ${relayType}`);
      done(pos, end, type);
    },
  ],
]);
validators.set(RRType.HTTPS, validators.get(RRType.SVCB)!);

/** True for ASCII letters and digits. */
export function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** True when `type` has a layout this module validates (not opaque per RFC 3597). */
export function isKnownLayout(type: number): boolean {
  return layouts.has(type) || validators.has(type);
}

/**
 * Reads and validates the RDATA of `type` at msg[offset, offset+length), expanding
 * compressed names where RFC 3597 §4 allows it. Returns a fresh copy (never a view of `msg`,
 * so receive buffers can be reused).
 */
export function readRdataWire(msg: Uint8Array, offset: number, length: number, type: number): Uint8Array {
  const end = offset + length;
  if (offset < 0 || length < 0 || end > msg.length)
    throw new WireFormatError(
      'DNS_ERR_SHORT',
      `${typeToString(type)} RDATA runs past the end of the message`,
      offset,
    );
  // Hot path: address records need no walk.
  if (type === RRType.A || type === RRType.AAAA) {
    if (length !== (type === RRType.A ? 4 : 16)) throw rdataError(type, `length ${length} is wrong`);
    return msg.slice(offset, end);
  }
  const layout = layouts.get(type);
  if (layout !== undefined) {
    const total = scanLayout(msg, offset, end, layout, type);
    if (compressed.length === 0) return msg.slice(offset, end);
    // RFC 3597 §4: hold the RDATA with its names expanded.
    const out = new Uint8Array(total);
    let o = 0;
    let copied = offset;
    for (let i = 0; i < compressed.length; i += 2) {
      for (let k = copied; k < compressed[i]; k++) out[o++] = msg[k];
      o = expandNameInto(msg, compressed[i], out, o);
      copied = compressed[i + 1];
    }
    for (let k = copied; k < end; k++) out[o++] = msg[k];
    return out;
  }
  const validate = validators.get(type);
  if (validate !== undefined) validate(msg, offset, end, type);
  return msg.slice(offset, end);
}

/** Validates uncompressed RDATA of `type` (as produced by text parsing or stored). */
export function checkRdata(type: number, rd: Uint8Array): void {
  const layout = layouts.get(type);
  if (layout !== undefined) {
    // Pointers are not allowed in stored RDATA: check 'c'/'d' names as uncompressed too.
    scanLayout(rd, 0, rd.length, uncompressedLayout(layout), type);
    return;
  }
  validators.get(type)?.(rd, 0, rd.length, type);
}

const uncompressedCache = new Map<readonly LayoutItem[], readonly LayoutItem[]>();
function uncompressedLayout(layout: readonly LayoutItem[]): readonly LayoutItem[] {
  let u = uncompressedCache.get(layout);
  if (!u) {
    u = layout.map((i) => (i === 'c' || i === 'd' ? 'n' : i));
    uncompressedCache.set(layout, u);
  }
  return u;
}

const AT_ZERO: readonly number[] = Object.freeze([0]);
const AT_TWO: readonly number[] = Object.freeze([2]);
const NONE: readonly number[] = Object.freeze([]);

/**
 * Whether `type`'s RDATA holds names an encoder may compress (the types `compressibleOffsets`
 * gives offsets for: the RFC 1035 name types). Keep the two in step.
 */
export function hasCompressibleNames(type: number): boolean {
  switch (type) {
    case RRType.NS:
    case RRType.MD:
    case RRType.MF:
    case RRType.CNAME:
    case RRType.MB:
    case RRType.MG:
    case RRType.MR:
    case RRType.PTR:
    case RRType.MX:
    case RRType.SOA:
    case RRType.MINFO:
      return true;
    default:
      return false;
  }
}

/**
 * Offsets of names an encoder may compress: only in the RFC 1035 types (RFC 3597 §4); not
 * DNAME (RFC 6672 §2.5), not SRV (RFC 2782), not the RFC 3597 "decompress only" types.
 */
export function compressibleOffsets(type: number, rdata: Uint8Array): readonly number[] {
  switch (type) {
    case RRType.NS:
    case RRType.MD:
    case RRType.MF:
    case RRType.CNAME:
    case RRType.MB:
    case RRType.MG:
    case RRType.MR:
    case RRType.PTR:
      return AT_ZERO;
    case RRType.MX:
      return AT_TWO;
    case RRType.SOA:
    case RRType.MINFO:
      return [0, nameLengthAt(rdata, 0)];
    default:
      return NONE;
  }
}
