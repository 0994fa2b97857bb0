/**
 * Presentation (master file) form of RDATA, per type: parsing tokens into wire form and
 * printing wire form as text, following the RFC that defines each type and the output
 * conventions of BIND and Knot (absolute names, base64 unsplit), except that hex is lower
 * case as PowerDNS prints it (API clients compare the text they wrote with what they read).
 * @module
 */
import {
  NSEC3_HASH_LENGTH,
  RRType,
  typeFromString,
  typeToString,
  ZONEMD_DIGEST_LENGTH,
} from './constants.js';
import { WireFormatError } from './errors.js';
import { Name } from './name.js';
import {
  clip,
  fromBase32Hex,
  fromBase64,
  fromHex,
  ipv4ToText,
  ipv6ToText,
  parseDuration,
  parseSigTime,
  parseUint,
  quoteText,
  requireIpv4,
  requireIpv6,
  sigTimeToText,
  textError,
  toBase32Hex,
  toBase64,
  toHex,
  unescapeText,
} from './rdata-encoding.js';
import { parseSvcParams, printSvcParams, svcParamsConsistent } from './rdata-svcb.js';
import { checkRdata, isAlnum } from './rdata-wire.js';
import { servicePort } from './services.js';
import type { TextToken } from './text-token.js';

/** Sequential access to a record's RDATA tokens with field-named errors. */
class Cursor {
  private i = 0;
  constructor(
    readonly tokens: readonly TextToken[],
    readonly typeName: string,
  ) {}
  /** The next token, or an error naming the missing field. */
  next(field: string): TextToken {
    const t = this.tokens[this.i];
    if (t === undefined) throw textError(`${this.typeName} ${field}`, 'missing');
    this.i++;
    return t;
  }
  /** The next token's text (for fields where quoting does not matter). */
  text(field: string): string {
    return this.next(field).text;
  }
  more(): boolean {
    return this.i < this.tokens.length;
  }
  /** All remaining token texts concatenated (base64/hex fields may span tokens). */
  joinRest(): string {
    let s = '';
    while (this.i < this.tokens.length) s += this.tokens[this.i++].text;
    return s;
  }
  get index(): number {
    return this.i;
  }
  skipAll(): void {
    this.i = this.tokens.length;
  }
  end(): void {
    const t = this.tokens[this.i];
    if (t !== undefined) throw textError(this.typeName, `unexpected '${clip(t.text)}' after the RDATA`);
  }
  f(field: string): string {
    return `${this.typeName} ${field}`;
  }
}

/** Growable byte buffer for building RDATA. */
class Builder {
  private buf = new Uint8Array(64);
  length = 0;
  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.length++] = v;
  }
  u16(v: number): void {
    this.room(2);
    this.buf[this.length++] = v >>> 8;
    this.buf[this.length++] = v & 0xff;
  }
  u32(v: number): void {
    this.u16(Math.floor(v / 65536));
    this.u16(v % 65536);
  }
  u48(v: number): void {
    this.u16(Math.floor(v / 2 ** 32));
    this.u32(v % 2 ** 32);
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  name(n: Name): void {
    this.room(n.length);
    this.length = n.writeTo(this.buf, this.length);
  }
  /** A <character-string>: length octet and at most 255 octets (RFC 1035 §3.3). */
  charString(b: Uint8Array, field: string): void {
    if (b.length > 255) throw textError(field, 'character-string longer than 255 octets');
    this.u8(b.length);
    this.bytes(b);
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Thrown by a printer when valid RDATA has no type-specific text that parses back to it
 * (e.g. an empty digest): the RFC 3597 generic form is printed instead. */
const NOT_PRINTABLE = new Error('not printable');

/** Sequential reader over validated RDATA for printing. */
class Reader {
  pos = 0;
  constructor(readonly rd: Uint8Array) {}
  u8(): number {
    return this.rd[this.pos++];
  }
  u16(): number {
    const v = (this.rd[this.pos] << 8) | this.rd[this.pos + 1];
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.u16() * 65536;
    return v + this.u16();
  }
  u48(): number {
    const hi = this.u16() * 2 ** 32;
    return hi + this.u32();
  }
  name(): Name {
    const start = this.pos;
    let p = start;
    while (this.rd[p] !== 0) p += this.rd[p] + 1;
    this.pos = p + 1;
    let w = '';
    for (let i = start; i <= p; i++) w += String.fromCharCode(this.rd[i]);
    return Name.fromWire(w);
  }
  charString(): string {
    const len = this.rd[this.pos];
    const s = quoteText(this.rd, this.pos + 1, this.pos + 1 + len);
    this.pos += 1 + len;
    return s;
  }
  take(n: number): Uint8Array {
    const b = this.rd.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  rest(): Uint8Array {
    return this.take(this.rd.length - this.pos);
  }
  /** The rest as hex; a text form cannot show an empty hex field. */
  hexRest(): string {
    if (this.atEnd) throw NOT_PRINTABLE;
    return toHex(this.rest());
  }
  /** The rest as base64; a text form cannot show an empty base64 field. */
  base64Rest(): string {
    if (this.atEnd) throw NOT_PRINTABLE;
    return toBase64(this.rest());
  }
  get atEnd(): boolean {
    return this.pos >= this.rd.length;
  }
}

type Parse = (c: Cursor, b: Builder, origin: Name | undefined, type: number) => void;
type Print = (r: Reader, type: number) => string;

interface TextForm {
  parse?: Parse;
  print?: Print;
}

// ---- field helpers -------------------------------------------------------------------

function u8(c: Cursor, b: Builder, field: string): number {
  const v = parseUint(c.text(field), 0xff, c.f(field), '8-bit');
  b.u8(v);
  return v;
}
function u16(c: Cursor, b: Builder, field: string): number {
  const v = parseUint(c.text(field), 0xffff, c.f(field), '16-bit');
  b.u16(v);
  return v;
}
function u32(c: Cursor, b: Builder, field: string): number {
  const v = parseUint(c.text(field), 0xffffffff, c.f(field), '32-bit');
  b.u32(v);
  return v;
}

function parseName(text: string, origin: Name | undefined, field: string): Name {
  try {
    return Name.parse(text, origin);
  } catch (e) {
    if (e instanceof WireFormatError) throw textError(field, e.message);
    throw e;
  }
}

function name(c: Cursor, b: Builder, origin: Name | undefined, field: string): void {
  b.name(parseName(c.text(field), origin, c.f(field)));
}

function charString(c: Cursor, b: Builder, field: string): void {
  b.charString(unescapeText(c.text(field), c.f(field)), c.f(field));
}

/**
 * A TXT/SPF string of any length as consecutive <character-string>s of 255 octets and the
 * rest, as Knot's zone parser and PowerDNS do: consumers concatenate the strings of a TXT
 * RR (RFC 7208 §3.3, RFC 6376 §3.6.2.2), so a long DKIM key or SPF policy written as one
 * quoted string means the same as its pieces.
 */
function longCharString(c: Cursor, b: Builder, field: string): void {
  const s = unescapeText(c.text(field), c.f(field));
  if (s.length <= 255) {
    b.charString(s, c.f(field));
    return;
  }
  for (let p = 0; p < s.length; p += 255) b.charString(s.subarray(p, p + 255), c.f(field));
}

/** DNSSEC algorithm numbers with their mnemonics (IANA "DNS Security Algorithm Numbers"). */
const dnssecAlgorithms: Record<string, number> = {
  RSAMD5: 1,
  DH: 2,
  DSA: 3,
  RSASHA1: 5,
  'DSA-NSEC3-SHA1': 6,
  'RSASHA1-NSEC3-SHA1': 7,
  RSASHA256: 8,
  RSASHA512: 10,
  'ECC-GOST': 12,
  ECDSAP256SHA256: 13,
  ECDSAP384SHA384: 14,
  ED25519: 15,
  ED448: 16,
  INDIRECT: 252,
  PRIVATEDNS: 253,
  PRIVATEOID: 254,
};

/** RFC 4034 Appendix A.1: the algorithm field may be a number or a mnemonic. */
function algorithm(c: Cursor, b: Builder, field = 'algorithm'): void {
  const t = c.text(field);
  const v = dnssecAlgorithms[t.toUpperCase()];
  b.u8(v ?? parseUint(t, 0xff, c.f(field), '8-bit'));
}

function rrType(text: string, field: string): number {
  const t = typeFromString(text);
  if (t === undefined) throw textError(field, `'${clip(text)}' is not an RR type`);
  return t;
}

function hexRest(c: Cursor, b: Builder, field: string, allowEmpty = false): void {
  const s = c.joinRest();
  if (s.length === 0 && !allowEmpty) throw textError(c.f(field), 'missing');
  b.bytes(fromHex(s, c.f(field)));
}

function base64Rest(c: Cursor, b: Builder, field: string, allowEmpty = false): void {
  const s = c.joinRest();
  if (s.length === 0 && !allowEmpty) throw textError(c.f(field), 'missing');
  b.bytes(fromBase64(s, c.f(field)));
}

/** RFC 4034 §4.1.2 type bitmap from mnemonics. */
function typeBitmap(c: Cursor, b: Builder, field = 'type list'): void {
  const types = new Set<number>();
  while (c.more()) types.add(rrType(c.text(field), c.f(field)));
  writeBitmap(
    b,
    [...types].sort((x, y) => x - y),
  );
}

/** Writes an RFC 4034 §4.1.2 type bitmap for ascending `types`. */
function writeBitmap(b: Builder, types: readonly number[]): void {
  let i = 0;
  while (i < types.length) {
    const window = types[i] >> 8;
    const bits = new Uint8Array(32);
    let maxOctet = 0;
    for (; i < types.length && types[i] >> 8 === window; i++) {
      const low = types[i] & 0xff;
      bits[low >> 3] |= 0x80 >> (low & 7);
      maxOctet = low >> 3;
    }
    b.u8(window);
    b.u8(maxOctet + 1);
    b.bytes(bits.subarray(0, maxOctet + 1));
  }
}

function bitmapToText(r: Reader): string {
  let s = '';
  while (!r.atEnd) {
    const window = r.u8();
    const len = r.u8();
    // RFC 4034 §4.1.2: trailing zero octets MUST be omitted; text would drop them.
    if (r.rd[r.pos + len - 1] === 0) throw NOT_PRINTABLE;
    for (let i = 0; i < len; i++) {
      const octet = r.u8();
      for (let bit = 0; bit < 8; bit++)
        if (octet & (0x80 >> bit)) s += ` ${typeToString(window * 256 + i * 8 + bit)}`;
    }
  }
  return s;
}

// ---- types ---------------------------------------------------------------------------

const nameForm: TextForm = {
  parse: (c, b, o) => name(c, b, o, 'target'),
  print: (r) => r.name().toString(),
};

const twoNames: TextForm = {
  parse: (c, b, o) => {
    name(c, b, o, 'first name');
    name(c, b, o, 'second name');
  },
  print: (r) => `${r.name()} ${r.name()}`,
};

const prefName = (prefField: string, nameField: string): TextForm => ({
  parse: (c, b, o) => {
    u16(c, b, prefField);
    name(c, b, o, nameField);
  },
  print: (r) => `${r.u16()} ${r.name()}`,
});

/** TXT-like types: one or more character-strings; `split` allows strings over 255 octets. */
const txtForm = (split: boolean): TextForm => ({
  parse: (c, b) => {
    if (!c.more()) throw textError(c.f('text'), 'at least one character-string is required');
    while (c.more()) (split ? longCharString : charString)(c, b, 'text');
  },
  print: (r) => {
    const parts: string[] = [];
    while (!r.atEnd) parts.push(r.charString());
    return parts.join(' ');
  },
});

const dsForm: TextForm = {
  parse: (c, b) => {
    u16(c, b, 'key tag');
    algorithm(c, b);
    u8(c, b, 'digest type');
    hexRest(c, b, 'digest');
  },
  print: (r) => `${r.u16()} ${r.u8()} ${r.u8()} ${r.hexRest()}`,
};

/** RFC 2535 §3.1.2: KEY flags with both high bits set mean "no key"; the key may be absent. */
const NO_KEY = 0xc000;

const keyForm = (allowNoKey: boolean): TextForm => ({
  parse: (c, b) => {
    const flags = u16(c, b, 'flags');
    u8(c, b, 'protocol');
    algorithm(c, b);
    base64Rest(c, b, 'public key', allowNoKey && (flags & NO_KEY) === NO_KEY);
  },
  print: (r) => {
    const flags = r.u16();
    const head = `${flags} ${r.u8()} ${r.u8()}`;
    if (r.atEnd && !(allowNoKey && (flags & NO_KEY) === NO_KEY)) throw NOT_PRINTABLE;
    return r.atEnd ? head : `${head} ${toBase64(r.rest())}`;
  },
});

const sigForm: TextForm = {
  parse: (c, b, o) => {
    b.u16(rrType(c.text('type covered'), c.f('type covered')));
    algorithm(c, b);
    u8(c, b, 'labels');
    u32(c, b, 'original TTL');
    b.u32(parseSigTime(c.text('signature expiration'), c.f('signature expiration')));
    b.u32(parseSigTime(c.text('signature inception'), c.f('signature inception')));
    u16(c, b, 'key tag');
    name(c, b, o, "signer's name");
    base64Rest(c, b, 'signature');
  },
  print: (r) =>
    `${typeToString(r.u16())} ${r.u8()} ${r.u8()} ${r.u32()} ${sigTimeToText(r.u32())} ${sigTimeToText(r.u32())} ` +
    `${r.u16()} ${r.name()} ${r.base64Rest()}`,
};

const tlsaForm: TextForm = {
  parse: (c, b) => {
    u8(c, b, 'usage');
    u8(c, b, 'selector');
    u8(c, b, 'matching type');
    hexRest(c, b, 'certificate association data');
  },
  print: (r) => `${r.u8()} ${r.u8()} ${r.u8()} ${r.hexRest()}`,
};

function saltField(c: Cursor, b: Builder): void {
  const t = c.text('salt');
  // RFC 5155 §3.3: '-' is the empty salt.
  const salt = t === '-' ? new Uint8Array(0) : fromHex(t, c.f('salt'));
  if (salt.length > 255) throw textError(c.f('salt'), 'longer than 255 octets');
  b.u8(salt.length);
  b.bytes(salt);
}

function saltText(r: Reader): string {
  const len = r.u8();
  return len === 0 ? '-' : toHex(r.take(len));
}

const eui = (octets: number): TextForm => ({
  parse: (c, b) => {
    const t = c.text('address');
    // RFC 7043 §3.2 / §4.2: hex pairs separated by '-'.
    const re = octets === 6 ? /^[0-9a-fA-F]{2}(-[0-9a-fA-F]{2}){5}$/ : /^[0-9a-fA-F]{2}(-[0-9a-fA-F]{2}){7}$/;
    if (!re.test(t))
      throw textError(c.f('address'), `'${clip(t)}' is not ${octets} hex pairs separated by '-'`);
    b.bytes(fromHex(t.replace(/-/g, ''), c.f('address')));
  },
  print: (r) => {
    // RFC 7043 §3.2 / §4.2 write the pairs in hex; lower case like every hex field here.
    const parts: string[] = [];
    for (let i = 0; i < octets; i++) parts.push(toHex(r.take(1)));
    return parts.join('-');
  },
});

const locator64: TextForm = {
  parse: (c, b) => {
    u16(c, b, 'preference');
    const t = c.text('locator');
    // RFC 6742 §2.1: four 16-bit groups in hex separated by ':' (BIND drops leading zeros).
    const groups = t.split(':');
    if (groups.length !== 4 || !groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g)))
      throw textError(c.f('locator'), `'${clip(t)}' is not xxxx:xxxx:xxxx:xxxx`);
    for (const g of groups) b.u16(Number.parseInt(g, 16));
  },
  print: (r) => {
    const pref = r.u16();
    const g: string[] = [];
    for (let i = 0; i < 4; i++) g.push(toHex(r.take(2)));
    return `${pref} ${g.join(':')}`;
  },
};

const certTypes: Record<string, number> = {
  PKIX: 1,
  SPKI: 2,
  PGP: 3,
  IPKIX: 4,
  ISPKI: 5,
  IPGP: 6,
  ACPKIX: 7,
  IACPKIX: 8,
  URI: 253,
  OID: 254,
};
const certTypeNames = new Map(Object.entries(certTypes).map(([k, v]) => [v, k]));

// ---- LOC (RFC 1876 §3) ----------------------------------------------------------------

function decimal(text: string, maxFrac: number, field: string, allowNegative = false): number {
  const re = allowNegative ? /^-?\d+(?:\.\d*)?$/ : /^\d+(?:\.\d*)?$/;
  if (!re.test(text)) throw textError(field, `'${clip(text)}' is not a number`);
  const [int, frac = ''] = text.replace('-', '').split('.');
  if (frac.length > maxFrac) throw textError(field, `'${clip(text)}' has more than ${maxFrac} decimals`);
  const scaled = Number(int) * 10 ** maxFrac + Number(frac.padEnd(maxFrac, '0') || '0');
  return text.startsWith('-') ? -scaled : scaled;
}

function meters(text: string, field: string, allowNegative = false): number {
  const t = text.endsWith('m') || text.endsWith('M') ? text.slice(0, -1) : text;
  return decimal(t, 2, field, allowNegative);
}

/** RFC 1876 §2: a size in centimeters as mantissa (high nibble) and power of ten (low). */
function precisionByte(cm: number, field: string): number {
  if (cm > 9000000000) throw textError(field, 'more than 90000000.00m');
  let exp = 0;
  while (exp < 9 && cm >= 10 ** (exp + 1)) exp++;
  return (Math.floor(cm / 10 ** exp) << 4) | exp;
}

/** As BIND (and dig) print LOC precisions: whole meters from 1m up, else `0.DDm`. */
function precisionText(v: number): string {
  const man = v >> 4;
  const exp = v & 15;
  // 0 x 10^exp with exp > 0 is a second encoding of zero that text cannot keep.
  if (man === 0 && exp !== 0) throw NOT_PRINTABLE;
  if (exp >= 2) return `${man * 10 ** (exp - 2)}m`;
  return `0.${(man * 10 ** exp).toString().padStart(2, '0')}m`;
}

function locAngle(c: Cursor, maxDeg: number, hemis: string, field: string): number {
  const deg = parseUint(c.text(field), maxDeg, c.f(field), `degree (0-${maxDeg})`);
  let min = 0;
  let sec = 0;
  let t = c.text(field);
  if (/^\d+$/.test(t)) {
    min = parseUint(t, 59, c.f(field), 'minute (0-59)');
    t = c.text(field);
    if (/^\d+(\.\d*)?$/.test(t)) {
      sec = decimal(t, 3, c.f(field));
      if (sec >= 60000) throw textError(c.f(field), `'${t}' seconds is not below 60`);
      t = c.text(field);
    }
  }
  const h = t.toUpperCase();
  if (h.length !== 1 || !hemis.includes(h))
    throw textError(c.f(field), `'${clip(t)}' is not one of ${hemis.split('').join('/')}`);
  // RFC 1876 §3 bounds each field (d1 0..90, m1 0..59, s1 0..59.999), not their sum.
  const v = (deg * 3600 + min * 60) * 1000 + sec;
  return h === hemis[0] ? 2 ** 31 + v : 2 ** 31 - v;
}

function angleText(v: number, hemis: string, maxDeg: number): string {
  let x = v - 2 ** 31;
  const h = x >= 0 ? hemis[0] : hemis[1];
  x = Math.abs(x);
  const deg = Math.floor(x / 3600000);
  // Beyond the text field ranges (RFC 1876 §3): only the generic form can carry it.
  if (deg > maxDeg) throw NOT_PRINTABLE;
  x -= deg * 3600000;
  const min = Math.floor(x / 60000);
  x -= min * 60000;
  const sec = Math.floor(x / 1000);
  return `${deg} ${min} ${sec}.${(x % 1000).toString().padStart(3, '0')} ${h}`;
}

const locForm: TextForm = {
  parse: (c, b) => {
    const lat = locAngle(c, 90, 'NS', 'latitude');
    const lon = locAngle(c, 180, 'EW', 'longitude');
    const alt = meters(c.text('altitude'), c.f('altitude'), true);
    // RFC 1876 §2: altitude in cm above a base 100000 m below the WGS 84 spheroid.
    if (alt < -10000000 || alt > 0xffffffff - 10000000) throw textError(c.f('altitude'), 'out of range');
    const prec = [100, 1000000, 1000]; // RFC 1876 §3 defaults: 1m, 10000m, 10m
    const names = ['size', 'horizontal precision', 'vertical precision'];
    for (let i = 0; i < 3 && c.more(); i++) prec[i] = meters(c.text(names[i]), c.f(names[i]));
    b.u8(0);
    for (let i = 0; i < 3; i++) b.u8(precisionByte(prec[i], c.f(names[i])));
    b.u32(lat);
    b.u32(lon);
    b.u32(alt + 10000000);
  },
  print: (r) => {
    if (r.rd[0] !== 0) return generic(r.rd);
    r.u8();
    const size = r.u8();
    const hp = r.u8();
    const vp = r.u8();
    const lat = r.u32();
    const lon = r.u32();
    const alt = r.u32() - 10000000;
    const sign = alt < 0 ? '-' : '';
    const a = Math.abs(alt);
    return (
      `${angleText(lat, 'NS', 90)} ${angleText(lon, 'EW', 180)} ` +
      `${sign}${Math.floor(a / 100)}.${(a % 100).toString().padStart(2, '0')}m ` +
      `${precisionText(size)} ${precisionText(hp)} ${precisionText(vp)}`
    );
  },
};

// ---- APL (RFC 3123 §5) ----------------------------------------------------------------

const aplForm: TextForm = {
  parse: (c, b) => {
    while (c.more()) {
      const t = c.text('item');
      const m = /^(!?)(\d+):([^/]+)\/(\d+)$/.exec(t);
      if (!m) throw textError(c.f('item'), `'${clip(t)}' is not [!]family:address/prefix`);
      const family = Number(m[2]);
      let addr: Uint8Array;
      let maxPrefix: number;
      if (family === 1) {
        addr = requireIpv4(m[3], c.f('item'));
        maxPrefix = 32;
      } else if (family === 2) {
        addr = requireIpv6(m[3], c.f('item'));
        maxPrefix = 128;
      } else throw textError(c.f('item'), `address family ${m[2]} is not 1 or 2`);
      const prefix = parseUint(m[4], maxPrefix, c.f('item prefix'), `prefix length (0-${maxPrefix})`);
      // RFC 3123 §4: trailing zero octets of the address are not sent.
      let len = addr.length;
      while (len > 0 && addr[len - 1] === 0) len--;
      b.u16(family);
      b.u8(prefix);
      b.u8((m[1] === '!' ? 0x80 : 0) | len);
      b.bytes(addr.subarray(0, len));
    }
  },
  print: (r) => {
    const items: string[] = [];
    while (!r.atEnd) {
      const family = r.u16();
      const prefix = r.u8();
      const nl = r.u8();
      const part = r.take(nl & 0x7f);
      // RFC 3123 §4: trailing zero octets are not sent; text would drop them.
      if (part.length > 0 && part[part.length - 1] === 0) throw NOT_PRINTABLE;
      const neg = nl & 0x80 ? '!' : '';
      if (family !== 1 && family !== 2) return generic(r.rd);
      const addr = new Uint8Array(family === 1 ? 4 : 16);
      addr.set(part);
      const text = family === 1 ? ipv4ToText(addr, 0) : ipv6ToText(addr, 0);
      items.push(`${neg}${family}:${text}/${prefix}`);
    }
    return items.join(' ');
  },
};

// ---- WKS (RFC 1035 §3.4.2) ----------------------------------------------------------------

const wksForm: TextForm = {
  parse: (c, b) => {
    b.bytes(requireIpv4(c.text('address'), c.f('address')));
    const p = c.text('protocol').toLowerCase();
    const proto = p === 'tcp' ? 6 : p === 'udp' ? 17 : parseUint(p, 0xff, c.f('protocol'), '8-bit');
    b.u8(proto);
    const bits = new Uint8Array(8192);
    let max = -1;
    while (c.more()) {
      const t = c.text('port');
      // RFC 1035 §3.4.2 / §5.1: services by number or by name (RFC 1010's list).
      const port = /^\d+$/.test(t)
        ? parseUint(t, 0xffff, c.f('port'), '16-bit')
        : servicePort(t, proto, c.f('port'));
      bits[port >> 3] |= 0x80 >> (port & 7);
      max = Math.max(max, port >> 3);
    }
    b.bytes(bits.subarray(0, max + 1));
  },
  print: (r) => {
    let s = `${ipv4ToText(r.take(4), 0)} ${r.u8()}`;
    const bits = r.rest();
    if (bits.length > 0 && bits[bits.length - 1] === 0) throw NOT_PRINTABLE;
    for (let i = 0; i < bits.length; i++)
      for (let bit = 0; bit < 8; bit++) if (bits[i] & (0x80 >> bit)) s += ` ${i * 8 + bit}`;
    return s;
  },
};

// ---- gateway/relay fields (IPSECKEY, AMTRELAY) -------------------------------------------

function gateway(c: Cursor, b: Builder, o: Name | undefined, kind: number, field: string): void {
  const t = c.text(field);
  if (kind === 0) {
    // RFC 4025 §3.1 / RFC 8777 §4.3.1: no gateway is written '.'.
    if (t !== '.') throw textError(c.f(field), `must be '.' for type 0, not '${clip(t)}'`);
  } else if (kind === 1) b.bytes(requireIpv4(t, c.f(field)));
  else if (kind === 2) b.bytes(requireIpv6(t, c.f(field)));
  else if (kind === 3) b.name(parseName(t, o, c.f(field)));
  else throw textError(c.f(field), `type ${kind} is not 0-3`);
}

function gatewayText(r: Reader, kind: number): string {
  if (kind === 0) return '.';
  if (kind === 1) return ipv4ToText(r.take(4), 0);
  if (kind === 2) return ipv6ToText(r.take(16), 0);
  return r.name().toString();
}

// ---- TSIG (RFC 8945 §4.2; BIND's text layout) ------------------------------------------

const tsigErrors: Record<string, number> = { NOERROR: 0, BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22 };
const tsigErrorNames = new Map(Object.entries(tsigErrors).map(([k, v]) => [v, k]));

const tsigForm: TextForm = {
  parse: (c, b, o) => {
    name(c, b, o, 'algorithm');
    const t = c.text('time signed');
    if (!/^\d{1,15}$/.test(t) || Number(t) > 2 ** 48 - 1)
      throw textError(c.f('time signed'), `'${clip(t)}' is not a 48-bit number`);
    b.u48(Number(t));
    u16(c, b, 'fudge');
    const macLen = u16(c, b, 'MAC size');
    if (macLen > 0) {
      const mac = fromBase64(c.text('MAC'), c.f('MAC'));
      if (mac.length !== macLen) throw textError(c.f('MAC'), `${mac.length} octets, MAC size says ${macLen}`);
      b.bytes(mac);
    }
    u16(c, b, 'original ID');
    const e = c.text('error');
    b.u16(tsigErrors[e.toUpperCase()] ?? parseUint(e, 0xffff, c.f('error'), '16-bit'));
    const otherLen = u16(c, b, 'other length');
    if (otherLen > 0) {
      const other = fromBase64(c.text('other data'), c.f('other data'));
      if (other.length !== otherLen)
        throw textError(c.f('other data'), `${other.length} octets, other length says ${otherLen}`);
      b.bytes(other);
    }
  },
  print: (r) => {
    let s = `${r.name()} ${r.u48()} ${r.u16()}`;
    const macLen = r.u16();
    s += ` ${macLen}`;
    if (macLen > 0) s += ` ${toBase64(r.take(macLen))}`;
    s += ` ${r.u16()}`;
    const err = r.u16();
    s += ` ${tsigErrorNames.get(err) ?? err}`;
    const otherLen = r.u16();
    s += ` ${otherLen}`;
    if (otherLen > 0) s += ` ${toBase64(r.take(otherLen))}`;
    return s;
  },
};

// RFC 8005 §6: "pk-algorithm base16(HIT) base64(public key) rendezvous-servers" — a
// different order from the wire (HIT length, algorithm, PK length, HIT, PK, servers).
const hipForm: TextForm = {
  parse: (c, b, o) => {
    const alg = parseUint(c.text('PK algorithm'), 0xff, c.f('PK algorithm'), '8-bit');
    const hit = fromHex(c.text('HIT'), c.f('HIT'));
    if (hit.length === 0 || hit.length > 255) throw textError(c.f('HIT'), 'must be 1..255 octets');
    const pk = fromBase64(c.text('public key'), c.f('public key'));
    if (pk.length > 0xffff) throw textError(c.f('public key'), 'longer than 65535 octets');
    b.u8(hit.length);
    b.u8(alg);
    b.u16(pk.length);
    b.bytes(hit);
    b.bytes(pk);
    while (c.more()) name(c, b, o, 'rendezvous server');
  },
  print: (r) => {
    const hitLen = r.u8();
    const alg = r.u8();
    const pkLen = r.u16();
    let s = `${alg} ${toHex(r.take(hitLen))} ${toBase64(r.take(pkLen))}`;
    while (!r.atEnd) s += ` ${r.name()}`;
    return s;
  },
};

// ---- the table -----------------------------------------------------------------------

const forms = new Map<number, TextForm>([
  [
    RRType.A,
    {
      parse: (c, b) => b.bytes(requireIpv4(c.text('address'), c.f('address'))),
      print: (r) => ipv4ToText(r.rd, 0),
    },
  ],
  [
    RRType.AAAA,
    {
      parse: (c, b) => b.bytes(requireIpv6(c.text('address'), c.f('address'))),
      print: (r) => ipv6ToText(r.rd, 0),
    },
  ],
  [RRType.NS, nameForm],
  [RRType.MD, nameForm],
  [RRType.MF, nameForm],
  [RRType.CNAME, nameForm],
  [RRType.MB, nameForm],
  [RRType.MG, nameForm],
  [RRType.MR, nameForm],
  [RRType.PTR, nameForm],
  [RRType.DNAME, nameForm],
  [RRType['NSAP-PTR'], nameForm],
  [
    RRType.SOA,
    {
      parse: (c, b, o) => {
        name(c, b, o, 'MNAME');
        name(c, b, o, 'RNAME');
        u32(c, b, 'serial');
        // BIND and Knot accept TTL-style units (1h, 2w) in the SOA timers.
        for (const f of ['refresh', 'retry', 'expire', 'minimum']) b.u32(parseDuration(c.text(f), c.f(f)));
      },
      print: (r) => `${r.name()} ${r.name()} ${r.u32()} ${r.u32()} ${r.u32()} ${r.u32()} ${r.u32()}`,
    },
  ],
  [
    RRType.HINFO,
    {
      parse: (c, b) => {
        charString(c, b, 'CPU');
        charString(c, b, 'OS');
      },
      print: (r) => `${r.charString()} ${r.charString()}`,
    },
  ],
  [RRType.MINFO, twoNames],
  [RRType.MX, prefName('preference', 'exchange')],
  [RRType.TXT, txtForm(true)],
  [RRType.SPF, txtForm(true)],
  [RRType.AVC, txtForm(false)],
  [RRType.RESINFO, txtForm(false)],
  [RRType.WALLET, txtForm(false)],
  [RRType.NINFO, txtForm(false)],
  [RRType.RP, twoNames],
  [RRType.AFSDB, prefName('subtype', 'hostname')],
  [RRType.RT, prefName('preference', 'intermediate host')],
  [RRType.KX, prefName('preference', 'exchanger')],
  [RRType.LP, prefName('preference', 'FQDN')],
  [RRType.TALINK, twoNames],
  [
    RRType.X25,
    {
      parse: (c, b) => charString(c, b, 'PSDN-address'),
      print: (r) => r.charString(),
    },
  ],
  [
    RRType.ISDN,
    {
      parse: (c, b) => {
        charString(c, b, 'ISDN-address');
        if (c.more()) charString(c, b, 'subaddress');
      },
      print: (r) => (r.atEnd ? '' : r.charString()) + (r.atEnd ? '' : ` ${r.charString()}`),
    },
  ],
  [
    RRType.GPOS,
    {
      parse: (c, b) => {
        // RFC 1712 §3 means real numbers, but like BIND any strings are kept as given.
        for (const f of ['longitude', 'latitude', 'altitude']) charString(c, b, f);
      },
      print: (r) => `${r.charString()} ${r.charString()} ${r.charString()}`,
    },
  ],
  [
    RRType.NSAP,
    {
      parse: (c, b) => {
        const t = c.joinRest();
        // RFC 1706 §5: "0x" followed by hex digits, optionally with '.' separators.
        if (!/^0[xX][0-9a-fA-F.]+$/.test(t)) throw textError(c.f('address'), `'${clip(t)}' is not 0x<hex>`);
        b.bytes(fromHex(t.slice(2).replace(/\./g, ''), c.f('address')));
      },
      print: (r) => `0x${toHex(r.rest())}`,
    },
  ],
  [RRType.SIG, sigForm],
  [RRType.RRSIG, sigForm],
  [RRType.KEY, keyForm(true)],
  [RRType.DNSKEY, keyForm(false)],
  [RRType.CDNSKEY, keyForm(false)],
  [RRType.RKEY, keyForm(false)],
  [
    RRType.PX,
    {
      parse: (c, b, o) => {
        u16(c, b, 'preference');
        name(c, b, o, 'MAP822');
        name(c, b, o, 'MAPX400');
      },
      print: (r) => `${r.u16()} ${r.name()} ${r.name()}`,
    },
  ],
  [RRType.LOC, locForm],
  [
    RRType.SRV,
    {
      parse: (c, b, o) => {
        u16(c, b, 'priority');
        u16(c, b, 'weight');
        u16(c, b, 'port');
        name(c, b, o, 'target');
      },
      print: (r) => `${r.u16()} ${r.u16()} ${r.u16()} ${r.name()}`,
    },
  ],
  [
    RRType.NAPTR,
    {
      parse: (c, b, o) => {
        u16(c, b, 'order');
        u16(c, b, 'preference');
        charString(c, b, 'flags');
        charString(c, b, 'services');
        charString(c, b, 'regexp');
        name(c, b, o, 'replacement');
      },
      print: (r) => `${r.u16()} ${r.u16()} ${r.charString()} ${r.charString()} ${r.charString()} ${r.name()}`,
    },
  ],
  [
    RRType.CERT,
    {
      parse: (c, b) => {
        const t = c.text('type');
        b.u16(certTypes[t.toUpperCase()] ?? parseUint(t, 0xffff, c.f('type'), '16-bit'));
        u16(c, b, 'key tag');
        algorithm(c, b);
        base64Rest(c, b, 'certificate');
      },
      print: (r) => {
        const t = r.u16();
        return `${certTypeNames.get(t) ?? t} ${r.u16()} ${r.u8()} ${r.base64Rest()}`;
      },
    },
  ],
  [RRType.APL, aplForm],
  [RRType.DS, dsForm],
  [RRType.CDS, dsForm],
  [RRType.TA, dsForm],
  [RRType.DLV, dsForm],
  [
    RRType.SSHFP,
    {
      parse: (c, b) => {
        u8(c, b, 'algorithm');
        u8(c, b, 'fingerprint type');
        hexRest(c, b, 'fingerprint');
      },
      print: (r) => `${r.u8()} ${r.u8()} ${r.hexRest()}`,
    },
  ],
  [
    RRType.IPSECKEY,
    {
      parse: (c, b, o) => {
        u8(c, b, 'precedence');
        const kind = u8(c, b, 'gateway type');
        const alg = u8(c, b, 'algorithm');
        gateway(c, b, o, kind, 'gateway');
        // RFC 4025 §2.4: algorithm 0 means no key; any other algorithm comes with its key.
        if (alg !== 0 && !c.more()) throw textError(c.f('public key'), `missing (algorithm ${alg})`);
        base64Rest(c, b, 'public key', true);
      },
      print: (r) => {
        const head = `${r.u8()} `;
        const kind = r.u8();
        const s = `${head}${kind} ${r.u8()} ${gatewayText(r, kind)}`;
        return r.atEnd ? s : `${s} ${toBase64(r.rest())}`;
      },
    },
  ],
  [
    RRType.NSEC,
    {
      parse: (c, b, o) => {
        name(c, b, o, 'next domain name');
        typeBitmap(c, b);
      },
      print: (r) => `${r.name()}${bitmapToText(r)}`,
    },
  ],
  [
    RRType.DHCID,
    {
      parse: (c, b) => base64Rest(c, b, 'digest'),
      print: (r) => toBase64(r.rest()),
    },
  ],
  [
    RRType.OPENPGPKEY,
    {
      parse: (c, b) => base64Rest(c, b, 'public key'),
      print: (r) => toBase64(r.rest()),
    },
  ],
  [
    RRType.NSEC3,
    {
      parse: (c, b) => {
        const alg = u8(c, b, 'hash algorithm');
        u8(c, b, 'flags');
        u16(c, b, 'iterations');
        saltField(c, b);
        const t = c.text('next hashed owner name');
        const hash = fromBase32Hex(t, c.f('next hashed owner name'));
        if (hash.length === 0 || hash.length > 255)
          throw textError(c.f('next hashed owner name'), 'bad length');
        // RFC 5155 §5: the next hashed owner is the hash itself, so SHA-1 (algorithm 1,
        // RFC 5155 §11) gives exactly 20 octets; unknown algorithms may use any length.
        const want = NSEC3_HASH_LENGTH[alg];
        if (want !== undefined && hash.length !== want)
          throw textError(
            c.f('next hashed owner name'),
            `${hash.length} octets, hash algorithm ${alg} gives ${want}`,
          );
        b.u8(hash.length);
        b.bytes(hash);
        typeBitmap(c, b);
      },
      print: (r) => {
        const head = `${r.u8()} ${r.u8()} ${r.u16()} ${saltText(r)}`;
        const len = r.u8();
        return `${head} ${toBase32Hex(r.take(len))}${bitmapToText(r)}`;
      },
    },
  ],
  [
    RRType.NSEC3PARAM,
    {
      parse: (c, b) => {
        u8(c, b, 'hash algorithm');
        u8(c, b, 'flags');
        u16(c, b, 'iterations');
        saltField(c, b);
      },
      print: (r) => `${r.u8()} ${r.u8()} ${r.u16()} ${saltText(r)}`,
    },
  ],
  [RRType.TLSA, tlsaForm],
  [RRType.SMIMEA, tlsaForm],
  [RRType.HIP, hipForm],
  [
    RRType.CSYNC,
    {
      parse: (c, b) => {
        u32(c, b, 'SOA serial');
        u16(c, b, 'flags');
        typeBitmap(c, b);
      },
      print: (r) => `${r.u32()} ${r.u16()}${bitmapToText(r)}`,
    },
  ],
  [
    RRType.ZONEMD,
    {
      parse: (c, b) => {
        u32(c, b, 'serial');
        u8(c, b, 'scheme');
        const hash = u8(c, b, 'hash algorithm');
        const start = b.length;
        hexRest(c, b, 'digest');
        // RFC 8976 §2.2.4: SHA-384 and SHA-512 digests are never truncated; any other
        // (unknown) hash algorithm, like any unknown scheme, is accepted (§4: a verifier skips
        // it) with a digest of at least 12 octets.
        const len = b.length - start;
        const want = ZONEMD_DIGEST_LENGTH[hash];
        if (want !== undefined && len !== want)
          throw textError(c.f('digest'), `${len} octets, hash algorithm ${hash} gives ${want}`);
        if (len < 12) throw textError(c.f('digest'), 'shorter than 12 octets');
      },
      print: (r) => `${r.u32()} ${r.u8()} ${r.u8()} ${r.hexRest()}`,
    },
  ],
  [
    RRType.SVCB,
    {
      parse: (c, b, o, type) => {
        u16(c, b, 'priority');
        name(c, b, o, 'target');
        b.bytes(parseSvcParams(c.tokens, c.index, typeToString(type)));
        c.skipAll();
      },
      print: (r) => {
        const head = `${r.u16()} ${r.name()}`;
        // Valid on the wire but refused in text (RFC 9460 §2.4.3 self-consistency).
        if (!svcParamsConsistent(r.rd, r.pos, r.rd.length)) throw NOT_PRINTABLE;
        return head + printSvcParams(r.rd, r.pos, r.rd.length);
      },
    },
  ],
  [
    RRType.DSYNC,
    {
      parse: (c, b, o) => {
        b.u16(rrType(c.text('RRtype'), c.f('RRtype')));
        const s = c.text('scheme');
        // RFC 9859 §2.1: scheme 1 is NOTIFY.
        b.u8(s.toUpperCase() === 'NOTIFY' ? 1 : parseUint(s, 0xff, c.f('scheme'), '8-bit'));
        u16(c, b, 'port');
        name(c, b, o, 'target');
      },
      print: (r) => {
        const t = typeToString(r.u16());
        const s = r.u8();
        return `${t} ${s === 1 ? 'NOTIFY' : s} ${r.u16()} ${r.name()}`;
      },
    },
  ],
  [RRType.NID, locator64],
  [RRType.L64, locator64],
  [
    RRType.L32,
    {
      parse: (c, b) => {
        u16(c, b, 'preference');
        b.bytes(requireIpv4(c.text('locator'), c.f('locator')));
      },
      print: (r) => `${r.u16()} ${ipv4ToText(r.take(4), 0)}`,
    },
  ],
  [RRType.EUI48, eui(6)],
  [RRType.EUI64, eui(8)],
  [RRType.TSIG, tsigForm],
  [
    RRType.URI,
    {
      parse: (c, b) => {
        u16(c, b, 'priority');
        u16(c, b, 'weight');
        // RFC 7553 §4.5: the target is a quoted string, not limited to 255 octets.
        b.bytes(unescapeText(c.text('target'), c.f('target')));
      },
      print: (r) => `${r.u16()} ${r.u16()} ${quoteText(r.rest())}`,
    },
  ],
  [
    RRType.CAA,
    {
      parse: (c, b) => {
        u8(c, b, 'flags');
        const tag = c.text('tag');
        // RFC 8659 §4.1: tag is 1+ ASCII letters and digits.
        if (tag.length === 0 || tag.length > 255 || ![...tag].every((ch) => isAlnum(ch.charCodeAt(0))))
          throw textError(c.f('tag'), `'${clip(tag)}' is not letters and digits`);
        b.u8(tag.length);
        for (let i = 0; i < tag.length; i++) b.u8(tag.charCodeAt(i));
        b.bytes(unescapeText(c.text('value'), c.f('value')));
      },
      print: (r) => {
        const flags = r.u8();
        const tagLen = r.u8();
        const tag = String.fromCharCode(...r.take(tagLen));
        return `${flags} ${tag} ${quoteText(r.rest())}`;
      },
    },
  ],
  [
    RRType.AMTRELAY,
    {
      parse: (c, b, o) => {
        u8(c, b, 'precedence');
        const d = c.text('discovery optional');
        if (d !== '0' && d !== '1') throw textError(c.f('discovery optional'), `'${clip(d)}' is not 0 or 1`);
        const kind = parseUint(c.text('type'), 0x7f, c.f('type'), '7-bit');
        b.u8((d === '1' ? 0x80 : 0) | kind);
        gateway(c, b, o, kind, 'relay');
      },
      print: (r) => {
        const prec = r.u8();
        const dt = r.u8();
        const kind = dt & 0x7f;
        return `${prec} ${dt >> 7} ${kind} ${gatewayText(r, kind)}`;
      },
    },
  ],
  [RRType.WKS, wksForm],
]);
forms.set(RRType.HTTPS, forms.get(RRType.SVCB)!);

/** RFC 3597 §5 generic presentation: `\# <length> <hex>`. */
export function generic(rd: Uint8Array): string {
  return rd.length === 0 ? '\\# 0' : `\\# ${rd.length} ${toHex(rd)}`;
}

/** Presentation form of `rdata`; the RFC 3597 form when the type has no text form or the
 * RDATA does not match the type's layout. */
export function printRdataText(type: number, rdata: Uint8Array): string {
  const form = forms.get(type);
  if (form?.print === undefined) return generic(rdata);
  try {
    checkRdata(type, rdata);
  } catch {
    return generic(rdata);
  }
  try {
    return form.print(new Reader(rdata), type);
  } catch (e) {
    if (e === NOT_PRINTABLE) return generic(rdata);
    throw e;
  }
}

function parseGeneric(type: number, tokens: readonly TextToken[]): Uint8Array {
  const name = typeToString(type);
  const lenText = tokens[1]?.text;
  if (lenText === undefined) throw textError(`${name} \\# length`, 'missing');
  const len = parseUint(lenText, 0xffff, `${name} \\# length`, '16-bit');
  let hex = '';
  for (let i = 2; i < tokens.length; i++) hex += tokens[i].text;
  const data = fromHex(hex, `${name} \\# data`);
  if (data.length !== len) throw textError(`${name} \\# data`, `${data.length} octets, length says ${len}`);
  try {
    checkRdata(type, data);
  } catch (e) {
    if (e instanceof WireFormatError) throw textError(`${name} \\# data`, e.message);
    throw e;
  }
  return data;
}

/** Wire form of RDATA from master-file tokens (type-specific or RFC 3597 generic). */
export function parseRdataText(
  type: number,
  tokens: readonly TextToken[],
  origin: Name | undefined,
): Uint8Array {
  const first = tokens[0];
  // RFC 3597 §5: an unquoted `\#` token introduces the generic form, for any type.
  if (first !== undefined && !first.quoted && first.text === '\\#') return parseGeneric(type, tokens);
  const name = typeToString(type);
  const form = forms.get(type);
  if (form?.parse === undefined)
    throw textError(name, 'no presentation format known for this type; use the RFC 3597 \\# form');
  const c = new Cursor(tokens, name);
  const b = new Builder();
  form.parse(c, b, origin, type);
  c.end();
  if (b.length > 0xffff) throw textError(name, 'RDATA longer than 65535 octets');
  const rd = b.finish();
  try {
    checkRdata(type, rd);
  } catch (e) {
    if (e instanceof WireFormatError) throw textError(name, e.message);
    throw e;
  }
  return rd;
}
