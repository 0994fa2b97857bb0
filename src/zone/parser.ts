/**
 * Master-file parser (RFC 1035 §5): directives `$ORIGIN`, `$TTL` (RFC 2308 §4), `$INCLUDE`
 * (confined to the zone file's folder) and BIND's `$GENERATE`; records
 * `owner [ttl] [class] type rdata` with owner, TTL and class inheritance. RDATA text goes to
 * `rdataFromText`. Errors are collected (up to a limit) with file and line rather than
 * stopping at the first, like named-checkzone; a file with any error yields no zone.
 * @module
 */
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import {
  classFromString,
  classToString,
  MAX_LABEL_LENGTH,
  MAX_NAME_LENGTH,
  RRType,
  typeFromString,
  typeToString,
} from '../wire/constants.js';
import type { RR } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { rdataFromText, readSoa } from '../wire/rdata.js';
import {
  compileGenerateTemplate,
  countGenerateRange,
  expandGenerateTemplate,
  GenerateSyntaxError,
  parseGenerateRange,
} from './generate.js';
import { LineScanner, tokenizeText, type ZoneEntry, ZoneLexer, type ZoneToken } from './lexer.js';
import { RdataSlab } from './rdata-slab.js';

/** Stable error codes of the zone parser and loader: part of the API. */
export type ZoneErrorCode =
  | 'ZONE_ERR_SYNTAX' // lexical or record-layout fault (quotes, parentheses, missing fields)
  | 'ZONE_ERR_DIRECTIVE' // bad or unknown $-directive
  | 'ZONE_ERR_INCLUDE' // $INCLUDE: file missing, not a file, outside the zone folder, too deep
  | 'ZONE_ERR_GENERATE' // $GENERATE: bad range, template or too many records
  | 'ZONE_ERR_NAME' // bad domain name (owner, $ORIGIN)
  | 'ZONE_ERR_TTL' // bad TTL, or no TTL known for a record
  | 'ZONE_ERR_CLASS' // class differs from the zone's
  | 'ZONE_ERR_TYPE' // unknown type or a meta type
  | 'ZONE_ERR_RDATA' // RDATA text rejected by the type's parser
  | 'ZONE_ERR_IO' // the zone file itself could not be read
  | 'ZONE_ERR_CHECK' // a semantic check failed (see check.ts)
  | 'ZONE_ERR_BUILD' // the zone could not be built (no SOA at the apex …)
  | 'ZONE_ERR_LIMIT' // the text would make more records than `maxRecords` allows; parsing stopped
  | 'ZONE_ERR_TOO_MANY'; // error limit reached, parsing stopped

/** One finding located in a file. */
export interface ZoneDiagnostic {
  code: ZoneErrorCode;
  /** The file as named by the caller (or the $INCLUDE path); '<text>' for a string. */
  file: string;
  /** 1-based line; 0 when the finding concerns the whole file. */
  line: number;
  message: string;
}

/** Formats a diagnostic as `file:line: message`, the shape named-checkzone prints. */
export function formatDiagnostic(d: { file: string; line: number; message: string }): string {
  return d.line > 0 ? `${d.file}:${d.line}: ${d.message}` : `${d.file}: ${d.message}`;
}

/** A zone file that cannot be loaded; `errors` holds every error found (first one in `message`). */
export class ZoneParseError extends Error {
  readonly code: ZoneErrorCode;
  readonly file: string;
  readonly line: number;
  readonly errors: readonly ZoneDiagnostic[];
  readonly warnings: readonly ZoneDiagnostic[];

  constructor(errors: readonly ZoneDiagnostic[], warnings: readonly ZoneDiagnostic[] = []) {
    const first = errors[0];
    const more =
      errors.length > 1 ? ` (and ${errors.length - 1} more error${errors.length > 2 ? 's' : ''})` : '';
    super(formatDiagnostic(first) + more);
    this.name = 'ZoneParseError';
    this.code = first.code;
    this.file = first.file;
    this.line = first.line;
    this.errors = errors;
    this.warnings = warnings;
  }
}

/** Options of `parseZone` / `parseZoneText`. */
export interface ParseOptions {
  /** The initial origin (`@`, relative names). A string is parsed as an absolute name. */
  origin?: Name | string;
  /** Origin used when the file names none before its first relative name (see load.ts); a
   * function is called the first time it is needed (most files say `$ORIGIN` first). */
  fallbackOrigin?: Name | (() => Name | undefined);
  /** File name for messages; its folder is the base and the confinement of `$INCLUDE`. */
  file?: string;
  /** TTL used when no `$TTL` is in effect and no record gave one, like an initial `$TTL`. */
  defaultTtl?: number;
  /** The zone's class; default: the class of the first record, else IN. */
  class?: number;
  /** Stop after this many errors (default 100). */
  maxErrors?: number;
  /** Deepest `$INCLUDE` nesting (default 8). */
  maxIncludeDepth?: number;
  /** Folder `$INCLUDE` paths must stay in (default: the folder of `file`). */
  includeRoot?: string;
  /**
   * Most records the text may make (default: no limit). Counted while parsing: a
   * `$GENERATE` is checked with its whole count before it expands anything, so a small text
   * can never allocate more than this many records. Going over is a ZONE_ERR_LIMIT error that
   * stops the parse. The API sets it (account quota, per-request ceiling); `serve` and
   * `check-zone` do not.
   */
  maxRecords?: number;
  /** What `maxRecords` is, for the message (default 'the record limit'). */
  maxRecordsName?: string;
  /** The text already holds one char per octet (a file read as latin1); otherwise it is
   * Unicode and non-ASCII characters are taken as their UTF-8 octets. */
  octets?: boolean;
  /**
   * Given every record as it is parsed, with the zone's origin as known then (undefined until
   * a record's origin is known), instead of collecting them: `records` of the result is then
   * empty, and so are `lines` and `fileIndex`: each record's line and file are in
   * `recordLines` instead (two typed arrays, not two arrays of a million numbers that the
   * collector copies as they grow). For a loader that keeps records its own way (a big zone's
   * columns, `loadZoneTextColumns`).
   */
  sink?: (rr: RR, origin: Name | undefined) => void;
  /**
   * The sink keeps nothing it is given but copies (of the record and of its RDATA octets):
   * the parser may then give it one record object, refilled for each record, whose RDATA is a
   * view of the parser's scratch valid during the call only — no object, view or slab copy
   * per record on the commonest lines (`fastLine`). A loader's sink that copies the octets
   * into its own columns (the parse thread's chunks, `ColumnZoneStream.add`) sets it.
   */
  transientRecords?: boolean;
  /**
   * With `transientRecords`: a relative owner new on a fast line (plain: no escape) is not made
   * into a Name; its wire octets are written into this buffer (`OwnerOctets`) and the record
   * given to the sink names `OwnerOctets.NAME` instead, until a Name is asked for (a line of the
   * general path, an `$INCLUDE`). For a sink that copies the owner's octets anyway (the parse
   * thread's `ChunkEncoder`).
   */
  ownerOctets?: OwnerOctets;
  /** For tests: every line through the general lexer and record path (no LineScanner, no
   * fast record path). The result is the same either way. */
  slowPath?: boolean;
}

/**
 * The current owner as octets (`ParseOptions.ownerOctets`): the parser writes a new relative
 * owner's uncompressed wire form here (case kept) and gives the sink `OwnerOctets.NAME` as the
 * record's name; `seq` counts the owners written so (a sink tells a new one from the last by
 * it). Such an owner lies at or under the zone's origin: it is relative to the origin in effect,
 * which is the zone's (the parser gives octets only then).
 */
export class OwnerOctets {
  /** The name a record whose owner is in `wire` is given with (a marker: never a real owner). */
  static readonly NAME: Name = Name.fromWire('\x01\x00\x00');
  readonly wire = new Uint8Array(256);
  length = 0;
  seq = 0;
}

/** The result of parsing: records with their source lines, and the findings. */
export interface ParsedZone {
  records: RR[];
  /** `lines[i]` is the line of `records[i]` in `files[fileIndex[i]]`. */
  lines: number[];
  fileIndex: number[];
  /** With a `sink`: `lines` and `fileIndex` of every record given to it, by record index. */
  recordLines?: { lines: Int32Array; fileIndex: Int32Array };
  files: string[];
  /** The zone's origin: the given one, else the origin in effect at the first record. */
  origin: Name | undefined;
  /** The zone's class (of the first record, or as given). */
  class: number;
  errors: ZoneDiagnostic[];
  warnings: ZoneDiagnostic[];
}

/** Parser state that `$INCLUDE` saves and restores (RFC 1035 §5.1). */
interface Scope {
  origin: Name | undefined;
  defaultTtl: number | undefined;
  lastTtl: number | undefined;
  lastOwner: Name | undefined;
}

class ParseFault extends Error {
  readonly code: ZoneErrorCode;
  readonly line: number;
  constructor(code: ZoneErrorCode, message: string, line = 0) {
    super(message);
    this.code = code;
    this.line = line;
  }
}

/** RFC 6895 §3.1: OPT and the whole 128–255 range are meta/question types, never zone data. */
function isMetaType(type: number): boolean {
  return type === RRType.OPT || (type >= 128 && type <= 255);
}

const MAX_TTL = 0xffffffff;
const HIGH_BIT_TTL = 0x7fffffff;

/**
 * Parses a TTL: decimal seconds or BIND units (`1h30m`, `1w2d`; s/m/h/d/w, any case);
 * a trailing bare number counts as seconds.
 * @throws Error naming the fault
 */
export function parseTtl(text: string): number {
  const n = text.length;
  if (n === 0) throw new Error('empty TTL');
  let total = 0;
  let cur = -1;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      cur = (cur < 0 ? 0 : cur * 10) + (c - 0x30);
      if (cur > MAX_TTL) throw new Error(`TTL '${text}' is over ${MAX_TTL}`);
      continue;
    }
    let mult: number;
    switch (c | 0x20) {
      case 0x73: // s
        mult = 1;
        break;
      case 0x6d: // m
        mult = 60;
        break;
      case 0x68: // h
        mult = 3600;
        break;
      case 0x64: // d
        mult = 86400;
        break;
      case 0x77: // w
        mult = 604800;
        break;
      default:
        throw new Error(`'${text}' is not a TTL`);
    }
    if (cur < 0) throw new Error(`'${text}' is not a TTL: unit without a number`);
    total += cur * mult;
    cur = -1;
    if (total > MAX_TTL) throw new Error(`TTL '${text}' is over ${MAX_TTL}`);
  }
  if (cur >= 0) total += cur;
  if (total > MAX_TTL) throw new Error(`TTL '${text}' is over ${MAX_TTL}`);
  return total;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Class of a token when it is a class mnemonic or CLASSnnn. Fast path for `IN`. */
function classOfToken(text: string): number | undefined {
  if (text.length === 2) {
    const a = text.charCodeAt(0) | 0x20;
    const b = text.charCodeAt(1) | 0x20;
    if (a === 0x69 && b === 0x6e) return 1;
  }
  const c0 = text.charCodeAt(0) | 0x20;
  // Every class mnemonic starts with c, h, i, n or a.
  if (c0 !== 0x63 && c0 !== 0x68 && c0 !== 0x69 && c0 !== 0x6e && c0 !== 0x61) return undefined;
  // Type mnemonics such as A and AAAA start so too: remember the answer for each spelling.
  const known = classCache.get(text);
  if (known !== undefined) return known < 0 ? undefined : known;
  const c = classFromString(text);
  if (classCache.size < 1000) classCache.set(text, c ?? -1);
  return c;
}

const classCache = new Map<string, number>();

const typeCache = new Map<string, number>();

/** The commonest types' mnemonics, any case, by a switch on their characters (no Map). */
function fastTypeOf(t: string): number | undefined {
  switch (t.length) {
    case 1:
      return (t.charCodeAt(0) | 0x20) === 0x61 ? RRType.A : undefined;
    case 2: {
      const a = t.charCodeAt(0) | 0x20;
      const b = t.charCodeAt(1) | 0x20;
      if (a === 0x6e && b === 0x73) return RRType.NS;
      if (a === 0x6d && b === 0x78) return RRType.MX;
      return undefined;
    }
    case 4:
      return (t.charCodeAt(0) | 0x20) === 0x61 &&
        (t.charCodeAt(1) | 0x20) === 0x61 &&
        (t.charCodeAt(2) | 0x20) === 0x61 &&
        (t.charCodeAt(3) | 0x20) === 0x61
        ? RRType.AAAA
        : undefined;
    default:
      return undefined;
  }
}

function typeOfToken(text: string): number | undefined {
  let t = typeCache.get(text);
  if (t !== undefined) return t;
  t = typeFromString(text);
  if (t !== undefined && typeCache.size < 1000) typeCache.set(text, t);
  return t;
}

/**
 * Parses a domain name in master-file text relative to `origin`. Names without escapes are
 * built straight into wire form (the common case, kept fast); others go through Name.parse.
 * @throws Error with a message naming the fault
 */
export function parseNameText(text: string, origin: Name | undefined): Name {
  const n = text.length;
  if (n === 1) {
    const c = text.charCodeAt(0);
    if (c === 0x40) {
      if (!origin) throw new Error("'@' used without an origin");
      return origin;
    }
    if (c === 0x2e) return Name.ROOT;
  }
  if (n === 0) throw new Error('empty name');
  let wire = '';
  let start = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 0x2e;
    if (c === 0x5c) return Name.parse(text, origin);
    if (c > 0xff) throw new Error(`non-latin1 character in name '${text}'`);
    if (c !== 0x2e) continue;
    if (i === n && start === n) break; // final dot already consumed
    const len = i - start;
    if (len === 0) throw new Error(`empty label in name '${text}'`);
    if (len > MAX_LABEL_LENGTH) throw new Error(`label longer than ${MAX_LABEL_LENGTH} octets in '${text}'`);
    wire += String.fromCharCode(len) + text.slice(start, i);
    start = i + 1;
  }
  const absolute = text.charCodeAt(n - 1) === 0x2e;
  if (absolute) wire += '\0';
  else {
    if (!origin) throw new Error(`relative name '${text}' without an origin`);
    wire += origin.wire;
  }
  if (wire.length > MAX_NAME_LENGTH)
    throw new Error(`name '${text}' is longer than ${MAX_NAME_LENGTH} octets`);
  return Name.fromWire(wire);
}

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const SEMI = 0x3b;
const BACKSLASH = 0x5c;

/**
 * The end of the unquoted token at `p` as the LineScanner reads it (at a blank, LF, CR, `;`
 * or the text's end), or -1 when it would end in a character the fast line does not take
 * (`\`, `(`, `)`, `"`: the scanner or the lexer reads that line).
 */
function plainEnd(src: string, p: number): number {
  const n = src.length;
  for (; p < n; p++) {
    const c = src.charCodeAt(p);
    if (c > SEMI) {
      if (c === BACKSLASH) return -1;
      continue;
    }
    if (c === SPACE || c === TAB || c === LF || c === CR || c === SEMI) return p;
    if (c === QUOTE || c === 0x28 || c === 0x29) return -1;
  }
  return p;
}

/** The first index from `p` that is not a blank (a CR of CRLF counts as one, as the lexer has it). */
/**
 * `src` holds `text` at `p` (`text.length` octets of it there: the caller checked the room).
 * A loop, not `startsWith(text, p)`: for a short owner the builtin's call cost more than the
 * compare (the fast line's owner cache asks on most lines).
 */
function sameAt(src: string, p: number, text: string): boolean {
  for (let i = text.length - 1; i >= 0; i--) if (src.charCodeAt(p + i) !== text.charCodeAt(i)) return false;
  return true;
}

function skipBlanks(src: string, p: number): number {
  let c = src.charCodeAt(p);
  while (c === SPACE || c === TAB || c === CR) c = src.charCodeAt(++p);
  return p;
}

/** `t[s, e)` as a TTL (`parseTtl`), or -1 where parseTtl would throw. */
function ttlAt(t: string, s: number, e: number): number {
  let v = 0;
  for (let i = s; i < e; i++) {
    const d = t.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) {
      try {
        return parseTtl(t.slice(s, e));
      } catch {
        return -1;
      }
    }
    v = v * 10 + d;
    if (v > MAX_TTL) return -1;
  }
  return v;
}

/** The type of mnemonic `t[s, e)` for A, NS, MX, TXT, PTR, AAAA and CNAME, any case; else -1. */
function typeAt(t: string, s: number, e: number): number {
  const c0 = t.charCodeAt(s) | 0x20;
  switch (e - s) {
    case 1:
      return c0 === 0x61 ? RRType.A : -1;
    case 2: {
      const c1 = t.charCodeAt(s + 1) | 0x20;
      if (c0 === 0x6e && c1 === 0x73) return RRType.NS;
      if (c0 === 0x6d && c1 === 0x78) return RRType.MX;
      return -1;
    }
    case 3: {
      const c1 = t.charCodeAt(s + 1) | 0x20;
      const c2 = t.charCodeAt(s + 2) | 0x20;
      if (c0 === 0x74 && c1 === 0x78 && c2 === 0x74) return RRType.TXT;
      if (c0 === 0x70 && c1 === 0x74 && c2 === 0x72) return RRType.PTR;
      return -1;
    }
    case 4:
      return c0 === 0x61 &&
        (t.charCodeAt(s + 1) | 0x20) === 0x61 &&
        (t.charCodeAt(s + 2) | 0x20) === 0x61 &&
        (t.charCodeAt(s + 3) | 0x20) === 0x61
        ? RRType.AAAA
        : -1;
    case 5:
      return c0 === 0x63 &&
        (t.charCodeAt(s + 1) | 0x20) === 0x6e &&
        (t.charCodeAt(s + 2) | 0x20) === 0x61 &&
        (t.charCodeAt(s + 3) | 0x20) === 0x6d &&
        (t.charCodeAt(s + 4) | 0x20) === 0x65
        ? RRType.CNAME
        : -1;
    default:
      return -1;
  }
}

/** Scratch for the RDATA of the common types, built before it is packed. */
const scratch = new Uint8Array(65536);
const latin1Slice = Buffer.prototype.latin1Slice as (this: Uint8Array, start: number, end: number) => string;

/** `scratchViews[n]`: `scratch[0, n)` as a view, made once (`ParseOptions.transientRecords`). */
const scratchViews: Uint8Array[] = [];

/** `scratch[0, n)` as a view kept from one call to the next (n ≤ 4,096). */
function scratchView(n: number): Uint8Array {
  let v = scratchViews[n];
  if (v === undefined) {
    for (let k = scratchViews.length; k <= n; k++) scratchViews.push(new Uint8Array(scratch.buffer, 0, k));
    v = scratchViews[n];
  }
  return v;
}

/**
 * The RDATA of the commonest record types in their plainest text — A, AAAA (hex groups), NS,
 * CNAME, PTR, MX, SOA (decimal numbers) and TXT without escapes — written straight into the slab: the same octets
 * `rdataFromText` makes (its field parser, builder, copy and check cost more than the record).
 * Undefined for anything else, or anything it is not sure of: `rdataFromText` then decides,
 * with its errors. The RDATA tokens are `tokens[start, end)`.
 */
export function fastRdata(
  slab: RdataSlab,
  type: number,
  tokens: readonly ZoneToken[],
  origin: Name | undefined,
  start = 0,
  end = tokens.length,
): Uint8Array | undefined {
  const n = end - start;
  if (n <= 0) return undefined;
  const first = tokens[start];
  // RFC 3597 §5: `\#` introduces the generic form.
  if (!first.quoted && first.text === '\\#') return undefined;
  const b = scratch;
  let len = 0;
  switch (type) {
    case RRType.A:
      if (n !== 1 || !ipv4Into(first.text, 0, first.text.length, b)) return undefined;
      len = 4;
      break;
    case RRType.AAAA:
      if (n !== 1 || !ipv6Into(first.text, 0, first.text.length, b)) return undefined;
      len = 16;
      break;
    case RRType.NS:
    case RRType.CNAME:
    case RRType.PTR:
      if (n !== 1) return undefined;
      len = nameInto(first.text, 0, first.text.length, origin, b, 0);
      if (len < 0) return undefined;
      break;
    case RRType.MX: {
      if (n !== 2) return undefined;
      const pref = smallUint(first.text, 0, first.text.length);
      if (pref < 0) return undefined;
      b[0] = pref >> 8;
      b[1] = pref & 0xff;
      const t = tokens[start + 1].text;
      len = nameInto(t, 0, t.length, origin, b, 2);
      if (len < 0) return undefined;
      break;
    }
    case RRType.SOA: {
      // MNAME RNAME serial refresh retry expire minimum, every number plain decimal.
      if (n !== 7) return undefined;
      len = nameInto(first.text, 0, first.text.length, origin, b, 0);
      if (len < 0) return undefined;
      const t = tokens[start + 1].text;
      len = nameInto(t, 0, t.length, origin, b, len);
      if (len < 0) return undefined;
      for (let i = 2; i < 7; i++) {
        const v = uint32(tokens[start + i].text);
        if (v < 0) return undefined;
        b[len++] = v >>> 24;
        b[len++] = (v >>> 16) & 0xff;
        b[len++] = (v >>> 8) & 0xff;
        b[len++] = v & 0xff;
      }
      break;
    }
    case RRType.TXT:
      for (let i = 0; i < n; i++) {
        const t = tokens[start + i].text;
        const tl = t.length;
        if (t.indexOf('\\') >= 0 || len + tl + (tl >> 8) + 1 > 4096) return undefined;
        len = charStringsInto(t, 0, tl, b, len);
      }
      break;
    default:
      return undefined;
  }
  return slab.copyFrom(b, len);
}

/** `t[s, e)` as a 16-bit decimal as parseUint reads it (digits only), or -1. */
function smallUint(t: string, s: number, e: number): number {
  const n = e - s;
  if (n === 0 || n > 5) return -1;
  let v = 0;
  for (let i = s; i < e; i++) {
    const c = t.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v <= 0xffff ? v : -1;
}

/**
 * `t[s, e)` as TXT RDATA writes it at b[len]: one <character-string> per 255 octets (or an
 * empty one), as longCharString does. Returns the end.
 */
function charStringsInto(t: string, s: number, e: number, b: Uint8Array, len: number): number {
  let p = s;
  do {
    const chunk = Math.min(255, e - p);
    b[len++] = chunk;
    for (let k = 0; k < chunk; k++) b[len++] = t.charCodeAt(p + k);
    p += chunk;
  } while (p < e);
  return len;
}

/** A 32-bit decimal as parseUint reads it (1–15 digits, ≤ 0xffffffff), or -1. */
function uint32(t: string): number {
  const n = t.length;
  if (n === 0 || n > 15) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = t.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v <= 0xffffffff ? v : -1;
}

/** `t[s, e)` as a dotted quad as parseIpv4 reads it (4 parts, 0 or 1–3 digits without a leading 0, ≤ 255) into b[0..4). */
function ipv4Into(t: string, s: number, e: number, b: Uint8Array): boolean {
  let part = 0;
  let v = 0;
  let digits = 0;
  for (let i = s; i <= e; i++) {
    const c = i < e ? t.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || v > 255 || part > 3) return false;
      b[part++] = v;
      v = 0;
      digits = 0;
      continue;
    }
    const d = c - 0x30;
    if (d < 0 || d > 9 || digits === 3 || (digits === 1 && v === 0)) return false;
    v = v * 10 + d;
    digits++;
  }
  return part === 4;
}

/** Hex digit value, or -1. */
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x57;
  return -1;
}

const groupScratch = new Uint16Array(9);

/**
 * `t[s, e)` as an IPv6 address of hex groups (at most one `::`, no dotted quad) as parseIpv6
 * reads it, into b[0..16); false for anything else (parseIpv6 then decides).
 */
function ipv6Into(t: string, s: number, e: number, b: Uint8Array): boolean {
  const n = e - s;
  if (n < 2 || n > 45) return false;
  const g = groupScratch;
  let count = 0;
  let gap = -1; // group index where '::' stands
  let i = s;
  if (t.charCodeAt(s) === 0x3a) {
    if (t.charCodeAt(s + 1) !== 0x3a) return false;
    gap = 0;
    i = s + 2;
    if (i === e) {
      b.fill(0, 0, 16);
      return true;
    }
  }
  for (;;) {
    let v = 0;
    let digits = 0;
    while (i < e) {
      const h = hexValue(t.charCodeAt(i));
      if (h < 0) break;
      if (++digits > 4) return false;
      v = (v << 4) | h;
      i++;
    }
    if (digits === 0 || count === 8) return false;
    g[count++] = v;
    if (i === e) break;
    if (t.charCodeAt(i) !== 0x3a) return false; // a '.' (dotted quad) or another character
    i++;
    if (i < e && t.charCodeAt(i) === 0x3a) {
      if (gap >= 0) return false;
      gap = count;
      i++;
      if (i === e) break;
    } else if (i === e) return false;
  }
  if (gap < 0 ? count !== 8 : count > 7) return false;
  b.fill(0, 0, 16);
  const tail = gap < 0 ? 0 : count - gap;
  for (let k = 0; k < count; k++) {
    const slot = gap < 0 || k < gap ? k : 8 - tail + (k - gap);
    b[2 * slot] = g[k] >> 8;
    b[2 * slot + 1] = g[k] & 0xff;
  }
  return true;
}

/**
 * `t[s, e)` as a name as `parseNameText` reads it, its uncompressed wire form written at b[at]:
 * the end, or -1 for anything it would refuse or that has an escape (`rdataFromText` then
 * decides). No Name is made: RDATA keeps only the octets.
 */
function nameInto(
  t: string,
  s: number,
  e: number,
  origin: Name | undefined,
  b: Uint8Array,
  at: number,
): number {
  const n = e - s;
  if (n === 0) return -1;
  if (n === 1) {
    const c = t.charCodeAt(s);
    if (c === 0x40) return origin === undefined ? -1 : wireInto(origin.wire, b, at);
    if (c === 0x2e) {
      b[at] = 0;
      return at + 1;
    }
  }
  let p = at;
  let start = s;
  for (let i = s; i <= e; i++) {
    const c = i < e ? t.charCodeAt(i) : 0x2e;
    if (c === 0x5c || c > 0xff) return -1;
    if (c !== 0x2e) continue;
    if (i === e && start === e) break; // final dot already consumed
    const len = i - start;
    if (len === 0 || len > MAX_LABEL_LENGTH) return -1;
    b[p++] = len;
    for (let k = start; k < i; k++) b[p++] = t.charCodeAt(k);
    start = i + 1;
  }
  if (t.charCodeAt(e - 1) === 0x2e) b[p++] = 0;
  else if (origin === undefined) return -1;
  else p = wireInto(origin.wire, b, p);
  return p - at > MAX_NAME_LENGTH ? -1 : p;
}

function wireInto(w: string, b: Uint8Array, at: number): number {
  for (let i = 0; i < w.length; i++) b[at + i] = w.charCodeAt(i);
  return at + w.length;
}

/** Removes master-file escapes from a file name (`\X` → X, `\DDD` → octet). */
function unescapeText(text: string): string {
  if (!text.includes('\\')) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const d = text.slice(i + 1, i + 4);
    if (/^\d{3}$/.test(d)) {
      out += String.fromCharCode(Number(d) & 0xff);
      i += 3;
    } else {
      out += text[i + 1] ?? '';
      i++;
    }
  }
  return out;
}

/** Converts JS (Unicode) text to one char per octet: non-ASCII characters become their UTF-8 octets. */
export function toOctetString(text: string): string {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) return Buffer.from(text, 'utf8').toString('latin1');
  }
  return text;
}

/**
 * The slab every parse of this thread packs its RDATA into: buffers of 16 KiB, so a
 * 10-record zone allocates no buffer of its own (an ArrayBuffer per zone cost more than the
 * zone's records), and 100,000 small zones kept as `Zone`s share densely packed buffers. A
 * buffer lives while any zone holds RDATA in it: a kept zone keeps at most 16 KiB of RDATA of
 * zones since dropped.
 */
const parserSlab = new RdataSlab(16384, 16384);

/** Streaming parser over one top-level file and its includes. */
class ZoneParser {
  readonly records: RR[] = [];
  /** With a sink: room for `n` records' lines and files. */
  reserveLines(n: number): void {
    if (n <= this.lineColumn.length) return;
    this.lineColumn = new Int32Array(n);
    this.fileColumn = new Int32Array(n);
  }

  /** Records parsed (given to the sink, or in `records`). */
  count = 0;
  readonly #sink: ((rr: RR, origin: Name | undefined) => void) | undefined;
  /** With `transientRecords`: the one record object given to the sink, refilled each time. */
  readonly #transient: RR | undefined;
  readonly lines: number[] = [];
  readonly fileIndex: number[] = [];
  /** With a sink: each record's line and file index (`ParsedZone.recordLines`). */
  lineColumn: Int32Array<ArrayBuffer> = new Int32Array(0);
  fileColumn: Int32Array<ArrayBuffer> = new Int32Array(0);
  readonly files: string[] = [];
  readonly errors: ZoneDiagnostic[] = [];
  readonly warnings: ZoneDiagnostic[] = [];
  readonly maxErrors: number;
  readonly maxIncludeDepth: number;
  readonly maxRecords: number;
  readonly maxRecordsName: string;
  #fallback: Name | (() => Name | undefined) | undefined;
  /** The folder `$INCLUDE` is confined to, before symlinks are resolved. */
  readonly #includeDir: string | undefined;
  /** `#includeDir` with symlinks resolved: found on the first `$INCLUDE` (a realpath costs an
   * lstat per path component, more than parsing a small zone that includes nothing). */
  #includeRoot: string | undefined;
  zoneOrigin: Name | undefined;
  zoneClass: number | undefined;
  stopped = false;

  scope: Scope;
  #file = '<text>';
  #fileIdx = 0;
  #dir: string | undefined;
  #depth = 0;
  // Cache of the last owner text → Name (zones often repeat the owner on each line).
  #ownerText = '';
  #ownerOrigin: Name | undefined;
  #ownerName: Name | undefined;
  #originChanged = false;
  /** `ParseOptions.ownerOctets` (with transient records only). */
  readonly #octets: OwnerOctets | undefined;
  readonly #slab = parserSlab;
  /** Every line through the ZoneLexer and `entry` (ParseOptions.slowPath). */
  readonly #slowOnly: boolean;

  constructor(opts: ParseOptions, origin: Name | undefined) {
    this.maxErrors = opts.maxErrors ?? 100;
    this.maxIncludeDepth = opts.maxIncludeDepth ?? 8;
    this.maxRecords = opts.maxRecords ?? Number.POSITIVE_INFINITY;
    this.maxRecordsName = opts.maxRecordsName ?? 'the record limit';
    this.#sink = opts.sink;
    this.#transient =
      opts.sink !== undefined && opts.transientRecords === true
        ? { name: Name.ROOT, type: 0, class: 0, ttl: 0, rdata: scratchView(0) }
        : undefined;
    this.#slowOnly = opts.slowPath === true;
    this.#octets = this.#transient !== undefined ? opts.ownerOctets : undefined;
    this.#fallback = opts.fallbackOrigin;
    this.zoneOrigin = origin;
    this.zoneClass = opts.class;
    this.scope = { origin, defaultTtl: opts.defaultTtl, lastTtl: undefined, lastOwner: undefined };
    this.#includeDir = opts.includeRoot ?? (opts.file !== undefined ? dirname(opts.file) : undefined);
  }

  get includeRoot(): string | undefined {
    if (this.#includeRoot === undefined && this.#includeDir !== undefined)
      this.#includeRoot = safeRealpath(this.#includeDir);
    return this.#includeRoot;
  }

  get fallbackOrigin(): Name | undefined {
    const f = this.#fallback;
    if (typeof f !== 'function') return f;
    const origin = f();
    this.#fallback = origin;
    return origin;
  }

  error(code: ZoneErrorCode, line: number, message: string): void {
    if (this.stopped) return;
    this.errors.push({ code, file: this.#file, line, message });
    if (this.errors.length >= this.maxErrors) {
      this.stopped = true;
      this.errors.push({
        code: 'ZONE_ERR_TOO_MANY',
        file: this.#file,
        line,
        message: `too many errors (${this.maxErrors}); stopped`,
      });
    }
  }

  /**
   * Refuses `count` more records when they would go over `maxRecords`: records an error and
   * stops parsing (what follows cannot be loaded anyway), before anything is allocated.
   */
  budget(count: number, line: number, what: () => string): boolean {
    if (this.count + count <= this.maxRecords) return true;
    if (this.stopped) return false;
    this.errors.push({
      code: 'ZONE_ERR_LIMIT',
      file: this.#file,
      line,
      message: `${what()}: over the limit of ${this.maxRecords} records (${this.maxRecordsName}); stopped`,
    });
    this.stopped = true;
    return false;
  }

  warn(line: number, message: string): void {
    this.warnings.push({ code: 'ZONE_ERR_SYNTAX', file: this.#file, line, message });
  }

  /** Parses one file's text (the top-level file or an include). */
  parseText(text: string, file: string, dir: string | undefined, octets = false): void {
    const savedFile = this.#file;
    const savedIdx = this.#fileIdx;
    const savedDir = this.#dir;
    this.#file = file;
    this.#fileIdx = this.files.length;
    this.files.push(file);
    this.#dir = dir;
    try {
      const src = octets ? text : toOctetString(text);
      const n = src.length;
      // Each line is read by the LineScanner when it can (no token objects made) and taken by
      // the fast record path when it can; the rest goes the general way: the line's tokens to
      // `entry`, or (parentheses, escapes, open quotes) the ZoneLexer reads the entry.
      const scanner = this.#slowOnly ? undefined : new LineScanner();
      let pos = 0;
      let line = 1;
      let first = true;
      while (pos < n && !this.stopped) {
        // The commonest line read straight from the text (no token strings); the first entry
        // of a file goes the scanner's way (an included file's first-record warning).
        if (scanner !== undefined && !first) {
          const end = this.fastLine(src, pos, line);
          if (end >= 0) {
            pos = end + 1;
            line++;
            continue;
          }
        }
        if (scanner?.scan(src, pos, line)) {
          if (scanner.count > 0) {
            const inherit = scanner.inheritOwner;
            if (first && this.#depth > 0 && inherit)
              this.warn(
                line,
                'the first record of an included file inherits the owner of the including file',
              );
            first = false;
            try {
              if (!this.fastRecord(scanner, line))
                this.entry({ tokens: scanner.copy(), line, inheritOwner: inherit });
            } catch (err) {
              if (err instanceof ParseFault) this.error(err.code, err.line || line, err.message);
              else throw err;
            }
          }
          pos = scanner.end + 1;
          line++;
          continue;
        }
        const lexer = new ZoneLexer(src, line, pos);
        // Without the scanner, the lexer reads the whole text (one entry per call).
        for (let e = lexer.next(); e !== undefined && !this.stopped; e = lexer.next()) {
          if (first && this.#depth > 0 && e.inheritOwner && !e.error)
            this.warn(
              e.line,
              'the first record of an included file inherits the owner of the including file',
            );
          first = false;
          try {
            this.entry(e);
          } catch (err) {
            if (err instanceof ParseFault) this.error(err.code, err.line || e.line, err.message);
            else throw err;
          }
          if (scanner) break;
        }
        pos = scanner ? lexer.pos : n;
        line = lexer.line;
      }
    } finally {
      this.#file = savedFile;
      this.#fileIdx = savedIdx;
      this.#dir = savedDir;
    }
  }

  entry(e: ZoneEntry): void {
    if (e.error) {
      this.error('ZONE_ERR_SYNTAX', e.error.line, e.error.message);
      return;
    }
    const tokens = e.tokens;
    const first = tokens[0];
    if (!e.inheritOwner && !first.quoted && first.text.charCodeAt(0) === 0x24 /* $ */) {
      this.directive(first.text.toUpperCase(), tokens, e.line);
      return;
    }
    let owner: Name;
    let i = 0;
    if (e.inheritOwner) {
      // RFC 1035 §5.1: a blank owner is the last stated owner.
      if (!this.scope.lastOwner) throw new ParseFault('ZONE_ERR_SYNTAX', 'no current owner name', e.line);
      owner = this.real(this.scope.lastOwner);
      if (this.#originChanged && this.scope.origin && !owner.equals(this.scope.origin))
        // Often a mistake: the writer meant the new origin (BIND warns the same way).
        this.warn(
          e.line,
          `record with inherited owner (${owner}) immediately after $ORIGIN (${this.scope.origin})`,
        );
    } else {
      // A bad owner must not lend the previous owner to the blank-owner lines after it.
      this.scope.lastOwner = undefined;
      owner = this.owner(first.text, e.line);
      this.scope.lastOwner = owner;
      i = 1;
    }
    this.#originChanged = false;
    this.record(owner, tokens, i, e.line);
  }

  /**
   * `name` as a Name: the owner in `ownerOctets` made into one (and put where the marker was:
   * the last owner, the owner cache), any other name as it is.
   */
  real(name: Name): Name;
  real(name: Name | undefined): Name | undefined;
  real(name: Name | undefined): Name | undefined {
    if (name !== OwnerOctets.NAME) return name;
    const o = this.#octets as OwnerOctets;
    const made = Name.fromWire(latin1Slice.call(o.wire, 0, o.length));
    if (this.scope.lastOwner === name) this.scope.lastOwner = made;
    if (this.#ownerName === name) this.#ownerName = made;
    return made;
  }

  owner(text: string, line: number): Name {
    const origin = this.originFor(text);
    if (text === this.#ownerText && origin === this.#ownerOrigin && this.#ownerName)
      return this.real(this.#ownerName);
    let name: Name;
    try {
      name = parseNameText(text, origin);
    } catch (err) {
      throw new ParseFault('ZONE_ERR_NAME', `owner '${text}': ${(err as Error).message}`, line);
    }
    this.#ownerText = text;
    this.#ownerOrigin = origin;
    this.#ownerName = name;
    return name;
  }

  /** The origin to complete a relative name with; settles the zone origin on first use. */
  originFor(text: string): Name | undefined {
    if (!this.scope.origin) {
      const c = text.charCodeAt(text.length - 1);
      const absolute = c === 0x2e && !(text.length > 1 && text.charCodeAt(text.length - 2) === 0x5c);
      if (absolute) return undefined;
      if (this.fallbackOrigin) this.scope.origin = this.fallbackOrigin;
    }
    return this.scope.origin;
  }

  /**
   * The commonest record line, `[owner] [ttl] [IN] type rdata…` of type A, AAAA, NS, CNAME,
   * PTR, MX or TXT on one physical line, with an origin known, read straight from the text at
   * `pos` (line `line`): what the LineScanner and `fastRecord` would make of it, without a
   * string per token (only a new owner's text is sliced). Answers the index of the line's LF
   * (or the text's length), or -1 having changed nothing but the owner cache for anything it
   * is not sure of (a parenthesis, an escape, a quote outside TXT, a directive, another type
   * or class, RDATA `fastRdata` would not take, …): the scanner then reads the line.
   */
  fastLine(src: string, pos: number, line: number): number {
    const scope = this.scope;
    const origin = scope.origin;
    if (origin === undefined) return -1;
    const n = src.length;
    let p = pos;
    let c = src.charCodeAt(p);
    let owner: Name | undefined;
    const inherit = c === SPACE || c === TAB;
    if (inherit) {
      owner = scope.lastOwner;
      if (owner === undefined || this.#originChanged) return -1;
    } else {
      if (c === 0x24 /* $ */) return -1;
      const e = plainEnd(src, p);
      if (e <= p) return -1;
      const text = this.#ownerText;
      if (
        this.#ownerName !== undefined &&
        e - p === text.length &&
        origin === this.#ownerOrigin &&
        sameAt(src, p, text)
      )
        owner = this.#ownerName;
      else {
        const o = this.#octets;
        let len = -1;
        // A relative owner, the origin in effect the zone's: its octets only (no Name).
        const zo = this.zoneOrigin;
        if (
          o !== undefined &&
          zo !== undefined &&
          (origin === zo || origin.key === zo.key) &&
          src.charCodeAt(e - 1) !== 0x2e &&
          !(e - p === 1 && src.charCodeAt(p) === 0x40)
        )
          len = nameInto(src, p, e, origin, o.wire, 0);
        if (len > 0 && o !== undefined) {
          o.length = len;
          o.seq++;
          owner = OwnerOctets.NAME;
          // The marker stands for the new octets only: an older one was made a Name or dropped.
          this.#ownerText = src.slice(p, e);
          this.#ownerOrigin = origin;
          this.#ownerName = owner;
        } else
          try {
            owner = this.owner(src.slice(p, e), line);
          } catch {
            return -1;
          }
      }
      p = e;
    }
    p = skipBlanks(src, p);
    let s = p;
    let e = plainEnd(src, p);
    if (e <= p) return -1;
    // [ttl] [IN], in either order (RFC 1035 §5.1), as fastRecord reads them.
    let ttl = -1;
    let cls = 0;
    for (let k = 0; k < 2; k++) {
      const c0 = src.charCodeAt(s);
      if (ttl < 0 && c0 >= 0x30 && c0 <= 0x39) {
        ttl = ttlAt(src, s, e);
        if (ttl < 0) return -1;
      } else if (cls === 0 && e - s === 2 && (c0 | 0x20) === 0x69 && (src.charCodeAt(s + 1) | 0x20) === 0x6e)
        cls = 1;
      else break;
      s = p = skipBlanks(src, e);
      e = plainEnd(src, p);
      if (e <= p) return -1;
    }
    let type = typeAt(src, s, e);
    if (type < 0) {
      const t = typeOfToken(src.slice(s, e));
      if (t === undefined || isMetaType(t)) return -1;
      type = t;
    }
    const zcls = this.zoneClass ?? (cls === 0 ? 1 : cls);
    if (cls !== 0 && cls !== zcls) return -1;
    p = skipBlanks(src, e);
    c = src.charCodeAt(p);
    if (p >= n || c === LF || c === SEMI) return -1; // no RDATA: the general path says so
    const b = scratch;
    let len = 0;
    // The first RDATA token, unquoted but for TXT's.
    if (type !== RRType.TXT) {
      e = plainEnd(src, p);
      if (e <= p) return -1;
    }
    switch (type) {
      case RRType.A:
        if (!ipv4Into(src, p, e, b)) return -1;
        len = 4;
        p = e;
        break;
      case RRType.AAAA:
        if (!ipv6Into(src, p, e, b)) return -1;
        len = 16;
        p = e;
        break;
      case RRType.NS:
      case RRType.CNAME:
      case RRType.PTR:
        len = nameInto(src, p, e, origin, b, 0);
        if (len < 0) return -1;
        p = e;
        break;
      case RRType.MX: {
        const pref = smallUint(src, p, e);
        if (pref < 0) return -1;
        b[0] = pref >> 8;
        b[1] = pref & 0xff;
        p = skipBlanks(src, e);
        e = plainEnd(src, p);
        if (e <= p) return -1;
        len = nameInto(src, p, e, origin, b, 2);
        if (len < 0) return -1;
        p = e;
        break;
      }
      case RRType.TXT:
        // Quoted or plain strings, no escape: one <character-string> per 255 octets (or an
        // empty one), at most 4,096 octets, as fastRdata writes them.
        for (;;) {
          let ts = p;
          let te: number;
          if (c === QUOTE) {
            ts = p + 1;
            for (te = ts; ; te++) {
              if (te >= n) return -1;
              const q = src.charCodeAt(te);
              if (q === QUOTE) break;
              if (q === BACKSLASH || q === LF) return -1;
            }
            p = te + 1;
          } else {
            te = plainEnd(src, p);
            if (te <= p) return -1;
            p = te;
          }
          const tl = te - ts;
          if (len + tl + (tl >> 8) + 1 > 4096) return -1;
          len = charStringsInto(src, ts, te, b, len);
          p = skipBlanks(src, p);
          c = src.charCodeAt(p);
          if (p >= n || c === LF || c === SEMI) break;
        }
        break;
      default:
        return -1;
    }
    // The line's end: blanks, then its LF, a comment or the text's end.
    p = skipBlanks(src, p);
    if (p < n) {
      c = src.charCodeAt(p);
      if (c === SEMI) {
        const nl = src.indexOf('\n', p);
        p = nl < 0 ? n : nl;
      } else if (c !== LF) return -1;
    }
    // What fastRecord changes, then the record.
    const rdata = this.#transient !== undefined ? scratchView(len) : this.#slab.copyFrom(b, len);
    if (!inherit) scope.lastOwner = owner;
    this.#originChanged = false;
    if (this.zoneOrigin === undefined) this.zoneOrigin = origin;
    this.zoneClass = zcls;
    try {
      this.finishRecord(owner, ttl < 0 ? undefined : ttl, type, rdata, line);
    } catch (err) {
      if (err instanceof ParseFault) this.error(err.code, err.line || line, err.message);
      else throw err;
    }
    return p;
  }

  /**
   * The common record line, `[owner] [ttl] [IN] type rdata…` with an origin known, taken
   * straight from the scanner's tokens: what `entry` would do with them, for less. Answers
   * false, having changed nothing that `entry` would not change the same way, for any line it
   * is not sure of (a directive, another class, no origin yet, an inherited owner right after
   * `$ORIGIN`, anything refused): `entry` then takes the line and says what is wrong.
   */
  fastRecord(scan: LineScanner, line: number): boolean {
    const scope = this.scope;
    const origin = scope.origin;
    if (origin === undefined) return false;
    const toks = scan.tokens;
    const count = scan.count;
    let owner: Name | undefined;
    let i = 0;
    if (scan.inheritOwner) {
      owner = this.real(scope.lastOwner);
      if (owner === undefined || this.#originChanged) return false;
    } else {
      const t = toks[0];
      if (t.quoted || t.text.charCodeAt(0) === 0x24 /* $ */) return false;
      try {
        owner = this.owner(t.text, line);
      } catch {
        return false;
      }
      i = 1;
    }
    let ttl = -1;
    let cls = 0;
    for (let k = 0; k < 2 && i < count; k++) {
      const t = toks[i];
      if (t.quoted) break;
      const text = t.text;
      const c0 = text.charCodeAt(0);
      if (ttl < 0 && c0 >= 0x30 && c0 <= 0x39) {
        try {
          ttl = parseTtl(text);
        } catch {
          return false;
        }
        i++;
        continue;
      }
      if (cls === 0 && text.length === 2 && (c0 | 0x20) === 0x69 && (text.charCodeAt(1) | 0x20) === 0x6e) {
        cls = 1;
        i++;
        continue;
      }
      break;
    }
    if (i + 1 >= count) return false;
    const typeTok = toks[i];
    if (typeTok.quoted) return false;
    const type = fastTypeOf(typeTok.text) ?? typeOfToken(typeTok.text);
    if (type === undefined || isMetaType(type)) return false;
    const zcls = this.zoneClass ?? (cls === 0 ? 1 : cls);
    if (cls !== 0 && cls !== zcls) return false;
    const slab = this.#slab;
    let rdata = fastRdata(slab, type, toks, origin, i + 1, count);
    if (rdata === undefined) {
      try {
        rdata = slab.copy(rdataFromText(type, toks.slice(i + 1, count), origin));
      } catch {
        return false;
      }
    }
    // What entry and addRecord change before the TTL is settled.
    if (!scan.inheritOwner) scope.lastOwner = owner;
    this.#originChanged = false;
    if (this.zoneOrigin === undefined) this.zoneOrigin = origin;
    this.zoneClass = zcls;
    this.finishRecord(owner, ttl < 0 ? undefined : ttl, type, rdata, line);
    return true;
  }

  /** `[ttl] [class] type rdata…` from token `i` on, for `owner`. */
  record(owner: Name, tokens: readonly ZoneToken[], start: number, line: number): void {
    let i = start;
    let ttl: number | undefined;
    let cls: number | undefined;
    // RFC 1035 §5.1: TTL and class are both optional and may come in either order. A type
    // mnemonic never starts with a digit, so a leading digit always means a TTL.
    for (let k = 0; k < 2 && i < tokens.length; k++) {
      const t = tokens[i];
      if (t.quoted) break;
      const text = t.text;
      if (ttl === undefined && isDigit(text.charCodeAt(0))) {
        try {
          ttl = parseTtl(text);
        } catch (err) {
          throw new ParseFault('ZONE_ERR_TTL', (err as Error).message, t.line);
        }
        i++;
        continue;
      }
      if (cls === undefined) {
        const c = classOfToken(text);
        // ANY is also a type mnemonic: take ANY/NONE as a class only before a type or TTL.
        if (c !== undefined && (c < 254 || this.isTypeOrTtl(tokens[i + 1]))) {
          cls = c;
          i++;
          continue;
        }
      }
      break;
    }
    const typeTok = tokens[i];
    if (!typeTok) throw new ParseFault('ZONE_ERR_SYNTAX', 'missing type (unexpected end of line)', line);
    const type = typeTok.quoted ? undefined : typeOfToken(typeTok.text);
    if (type === undefined) {
      const what = isDigit(typeTok.text.charCodeAt(0)) ? 'a second TTL' : 'an unknown type';
      throw new ParseFault('ZONE_ERR_TYPE', `'${typeTok.text}' is ${what}`, typeTok.line);
    }
    this.addRecord(owner, ttl, cls, type, tokens, i + 1, line);
  }

  isTypeOrTtl(t: ZoneToken | undefined): boolean {
    if (t === undefined || t.quoted) return false;
    return isDigit(t.text.charCodeAt(0)) || typeOfToken(t.text) !== undefined;
  }

  addRecord(
    owner: Name,
    ttl: number | undefined,
    cls: number | undefined,
    type: number,
    tokens: readonly ZoneToken[],
    start: number,
    line: number,
  ): void {
    if (isMetaType(type))
      throw new ParseFault('ZONE_ERR_TYPE', `meta type ${typeToText(type)} cannot be in a zone file`, line);
    if (this.zoneOrigin === undefined) this.zoneOrigin = this.scope.origin ?? this.fallbackOrigin;
    // RFC 1035 §5.1: an omitted class is the last one; every record must share the zone's.
    if (this.zoneClass === undefined) this.zoneClass = cls ?? 1;
    const zcls = this.zoneClass;
    if (cls !== undefined && cls !== zcls)
      throw new ParseFault(
        'ZONE_ERR_CLASS',
        `class ${classToString(cls)} differs from the zone's class ${classToString(zcls)}`,
        line,
      );
    // RFC 3123 §4: an APL RR may hold no items; every other type needs some RDATA text.
    if (tokens.length === start && type !== RRType.APL)
      throw new ParseFault(
        'ZONE_ERR_RDATA',
        `${typeToText(type)}: missing RDATA (unexpected end of line)`,
        line,
      );
    let rdata: Uint8Array;
    try {
      // Packed at once: a zone of a million records keeps ~110 fewer octets per record.
      const origin = this.originFor('x');
      rdata =
        fastRdata(this.#slab, type, tokens, origin, start) ??
        this.#slab.copy(rdataFromText(type, start === 0 ? tokens : tokens.slice(start), origin));
    } catch (err) {
      const msg = (err as Error).message;
      const tname = typeToText(type);
      throw new ParseFault('ZONE_ERR_RDATA', msg.startsWith(tname) ? msg : `${tname}: ${msg}`, line);
    }
    this.finishRecord(owner, ttl, type, rdata, line);
  }

  /** A record with its RDATA made: its TTL settled, then given to the sink or kept. */
  finishRecord(owner: Name, ttl: number | undefined, type: number, rdata: Uint8Array, line: number): void {
    const zcls = this.zoneClass as number;
    const scope = this.scope;
    if (ttl !== undefined) {
      scope.lastTtl = ttl;
    } else if (scope.defaultTtl !== undefined) {
      // RFC 2308 §4: $TTL gives the TTL of records that state none.
      ttl = scope.defaultTtl;
    } else if (scope.lastTtl !== undefined) {
      // RFC 1035 §5.1: without $TTL, the last stated TTL.
      ttl = scope.lastTtl;
    } else if (type === RRType.SOA) {
      // BIND: with no TTL anywhere yet, the SOA takes its MINIMUM (RFC 1035 semantics).
      ttl = readSoa(rdata).minimum;
      scope.lastTtl = ttl;
      this.warn(line, `no TTL specified; using SOA MINIMUM (${ttl}) instead`);
    } else {
      throw new ParseFault('ZONE_ERR_TTL', 'no TTL specified and no $TTL in effect', line);
    }
    if (ttl > HIGH_BIT_TTL) this.warn(line, `TTL ${ttl} has the high bit set (RFC 2181 §8: read as 0)`);
    if (this.count >= this.maxRecords)
      if (!this.budget(1, line, () => `record ${this.count + 1} of the text`)) return;
    const n = this.count;
    if (this.#sink !== undefined) {
      let rr = this.#transient;
      if (rr !== undefined) {
        rr.name = owner;
        rr.type = type;
        rr.class = zcls;
        rr.ttl = ttl;
        rr.rdata = rdata;
      } else rr = { name: owner, type, class: zcls, ttl, rdata };
      this.#sink(rr, this.zoneOrigin);
      if (n >= this.lineColumn.length) {
        const size = Math.max(1024, n * 2);
        const lines = new Int32Array(size);
        lines.set(this.lineColumn);
        this.lineColumn = lines;
        const files = new Int32Array(size);
        files.set(this.fileColumn);
        this.fileColumn = files;
      }
      this.lineColumn[n] = line;
      // The column is fresh (zeros, grown by copying): a record of the top-level file (index
      // 0, nearly every record) writes nothing, so its pages are never touched.
      const fileIdx = this.#fileIdx;
      if (fileIdx !== 0) this.fileColumn[n] = fileIdx;
    } else {
      this.records.push({ name: owner, type, class: zcls, ttl, rdata });
      this.lines.push(line);
      this.fileIndex.push(this.#fileIdx);
    }
    this.count = n + 1;
  }

  directive(word: string, tokens: readonly ZoneToken[], line: number): void {
    switch (word) {
      case '$ORIGIN': {
        const arg = this.oneArg(tokens, 1, line);
        try {
          // RFC 1035 §5.1: a relative $ORIGIN is relative to the current origin.
          this.scope.origin = parseNameText(arg.text, this.originFor(arg.text));
          this.#originChanged = true;
        } catch (err) {
          throw new ParseFault('ZONE_ERR_NAME', `$ORIGIN: ${(err as Error).message}`, line);
        }
        return;
      }
      case '$TTL': {
        const arg = this.oneArg(tokens, 1, line);
        try {
          this.scope.defaultTtl = parseTtl(arg.text);
        } catch (err) {
          throw new ParseFault('ZONE_ERR_TTL', `$TTL: ${(err as Error).message}`, line);
        }
        return;
      }
      case '$INCLUDE':
        this.include(tokens, line);
        return;
      case '$GENERATE':
        this.generate(tokens, line);
        return;
      default:
        throw new ParseFault('ZONE_ERR_DIRECTIVE', `unknown directive '${tokens[0].text}'`, line);
    }
  }

  oneArg(tokens: readonly ZoneToken[], n: number, line: number): ZoneToken {
    const name = tokens[0].text.toUpperCase();
    if (tokens.length <= n) throw new ParseFault('ZONE_ERR_DIRECTIVE', `${name}: missing argument`, line);
    if (tokens.length > n + 1)
      throw new ParseFault('ZONE_ERR_DIRECTIVE', `${name}: extra text '${tokens[n + 1].text}'`, line);
    return tokens[n];
  }

  include(tokens: readonly ZoneToken[], line: number): void {
    if (tokens.length < 2) throw new ParseFault('ZONE_ERR_DIRECTIVE', '$INCLUDE: missing file name', line);
    if (tokens.length > 3)
      throw new ParseFault('ZONE_ERR_DIRECTIVE', `$INCLUDE: extra text '${tokens[3].text}'`, line);
    const root = this.#dir === undefined ? undefined : this.includeRoot;
    if (this.#dir === undefined || root === undefined)
      throw new ParseFault('ZONE_ERR_INCLUDE', '$INCLUDE needs a zone file path (text has no folder)', line);
    if (this.#depth >= this.maxIncludeDepth)
      throw new ParseFault('ZONE_ERR_INCLUDE', `$INCLUDE nested deeper than ${this.maxIncludeDepth}`, line);
    let origin = this.scope.origin;
    if (tokens.length === 3) {
      try {
        origin = parseNameText(tokens[2].text, this.originFor(tokens[2].text));
      } catch (err) {
        throw new ParseFault('ZONE_ERR_NAME', `$INCLUDE origin: ${(err as Error).message}`, line);
      }
    }
    const fileArg = unescapeText(tokens[1].text);
    const path = resolve(this.#dir, fileArg);
    const shown = isAbsolute(fileArg) ? fileArg : joinShown(this.#dir, fileArg);
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      throw new ParseFault('ZONE_ERR_INCLUDE', `$INCLUDE: ${shown}: file not found`, line);
    }
    // Confinement: the real path (symlinks resolved) must stay inside the zone folder.
    const rel = relative(root, real);
    if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel))
      throw new ParseFault('ZONE_ERR_INCLUDE', `$INCLUDE: ${shown}: outside the zone file's folder`, line);
    if (!statSync(real).isFile())
      throw new ParseFault('ZONE_ERR_INCLUDE', `$INCLUDE: ${shown}: not a file`, line);
    let text: string;
    try {
      text = readFileSync(real, 'latin1');
    } catch (err) {
      throw new ParseFault('ZONE_ERR_INCLUDE', `$INCLUDE: ${shown}: ${(err as Error).message}`, line);
    }
    // RFC 1035 §5.1: the included file starts with the given origin, and neither its
    // $ORIGIN nor (as the brief and BIND's restore of state have it) its $TTL leak back.
    const saved = this.scope;
    // The included file's owners overwrite the octets: the last owner made a Name first.
    saved.lastOwner = this.real(saved.lastOwner);
    this.scope = { origin, defaultTtl: saved.defaultTtl, lastTtl: saved.lastTtl, lastOwner: saved.lastOwner };
    this.#depth++;
    try {
      this.parseText(text, shown, dirname(real), true);
    } finally {
      this.#depth--;
      this.scope = saved;
    }
  }

  generate(tokens: readonly ZoneToken[], line: number): void {
    // $GENERATE range lhs [ttl] [class] type rhs
    if (tokens.length < 5) throw new ParseFault('ZONE_ERR_GENERATE', '$GENERATE: missing fields', line);
    const rhsTok = tokens[tokens.length - 1];
    let range: ReturnType<typeof parseGenerateRange>;
    let lhs: ReturnType<typeof compileGenerateTemplate>;
    let rhs: ReturnType<typeof compileGenerateTemplate>;
    try {
      range = parseGenerateRange(tokens[1].text);
      lhs = compileGenerateTemplate(tokens[2].text);
      rhs = compileGenerateTemplate(rhsTok.text);
    } catch (err) {
      if (err instanceof GenerateSyntaxError)
        throw new ParseFault('ZONE_ERR_GENERATE', `$GENERATE: ${err.message}`, line);
      throw err;
    }
    // Fields between lhs and rhs: [ttl] [class] type, as in a record.
    let ttl: number | undefined;
    let cls: number | undefined;
    let type: number | undefined;
    for (let i = 3; i < tokens.length - 1; i++) {
      const text = tokens[i].text;
      if (type !== undefined)
        throw new ParseFault(
          'ZONE_ERR_GENERATE',
          `$GENERATE: extra text '${text}' (quote a multi-field rhs)`,
          line,
        );
      if (ttl === undefined && isDigit(text.charCodeAt(0))) {
        try {
          ttl = parseTtl(text);
        } catch (err) {
          throw new ParseFault('ZONE_ERR_TTL', `$GENERATE: ${(err as Error).message}`, line);
        }
      } else if (cls === undefined && classOfToken(text) !== undefined) cls = classOfToken(text);
      else {
        type = typeOfToken(text);
        if (type === undefined)
          throw new ParseFault('ZONE_ERR_TYPE', `$GENERATE: '${text}' is an unknown type`, line);
      }
    }
    if (type === undefined) throw new ParseFault('ZONE_ERR_GENERATE', '$GENERATE: missing type', line);
    if (isMetaType(type))
      throw new ParseFault(
        'ZONE_ERR_TYPE',
        `$GENERATE: meta type ${typeToText(type)} cannot be in a zone file`,
        line,
      );
    // Counted before expanding: a line of text must not make 65,536 records over the budget.
    const count = countGenerateRange(range);
    const before = this.count;
    if (
      !this.budget(
        count,
        line,
        () => `$GENERATE ${tokens[1].text} would make ${count} records (${before} before it)`,
      )
    )
      return;
    for (let v = range.start; v <= range.stop && !this.stopped; v += range.step) {
      try {
        const ownerText = expandGenerateTemplate(lhs, v);
        const owner = this.owner(ownerText, line);
        const rdataText = expandGenerateTemplate(rhs, v);
        let rdataTokens: ZoneToken[];
        try {
          rdataTokens = tokenizeText(rdataText, line);
        } catch (err) {
          throw new ParseFault(
            'ZONE_ERR_GENERATE',
            `$GENERATE: rhs '${rdataText}': ${(err as Error).message}`,
            line,
          );
        }
        this.addRecord(owner, ttl, cls, type, rdataTokens, 0, line);
      } catch (err) {
        if (err instanceof GenerateSyntaxError)
          throw new ParseFault('ZONE_ERR_GENERATE', `$GENERATE: ${err.message}`, line);
        // One bad iteration is usually bad for all: report it once and stop this directive.
        throw err;
      }
    }
  }
}

function typeToText(type: number): string {
  return typeToString(type);
}

function joinShown(dir: string, file: string): string {
  const rel = relative(process.cwd(), resolve(dir, file));
  return rel.startsWith('..') ? resolve(dir, file) : rel;
}

function safeRealpath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

/**
 * With a record budget: the `$GENERATE` line at which the directives' counts alone (each
 * iteration makes one record, so they are a lower bound of the records) go over it, found by
 * a scan of the text before any parsing; undefined when they do not.
 */
function generateOverBudget(
  text: string,
  max: number,
): { line: number; range: string; total: number } | undefined {
  if (!Number.isFinite(max)) return undefined;
  const re = /^\$GENERATE[ \t]+(\S+)/gim;
  let total = 0;
  let line = 1;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    let count: number;
    try {
      count = countGenerateRange(parseGenerateRange(m[1]));
    } catch {
      continue; // the parser reports it
    }
    total += count;
    if (total <= max) continue;
    for (let i = text.indexOf('\n'); i !== -1 && i < m.index; i = text.indexOf('\n', i + 1)) line++;
    return { line, range: m[1], total };
  }
  return undefined;
}

function toOrigin(origin: Name | string | undefined): Name | undefined {
  if (origin === undefined || origin instanceof Name) return origin;
  const text = origin.endsWith('.') ? origin : `${origin}.`;
  // parseNameText makes the same Name for a plain name, for less; Name.parse says what is wrong.
  if (text.indexOf('\\') < 0 && text !== '@')
    try {
      return parseNameText(text, undefined);
    } catch {}
  return Name.parse(text);
}

/**
 * Parses master-file text and returns every record with its source line and every finding;
 * never throws for faults in the text (see `errors`).
 */
export function parseZone(text: string, opts: ParseOptions = {}): ParsedZone {
  const origin = toOrigin(opts.origin);
  const p = new ZoneParser(opts, origin);
  const file = opts.file ?? '<text>';
  const over = generateOverBudget(text, p.maxRecords);
  if (over) {
    p.errors.push({
      code: 'ZONE_ERR_LIMIT',
      file,
      line: over.line,
      message: `$GENERATE ${over.range}: the $GENERATE lines up to here make ${over.total} records: over the limit of ${p.maxRecords} records (${p.maxRecordsName}); nothing parsed`,
    });
    return {
      records: [],
      lines: [],
      fileIndex: [],
      files: [file],
      origin,
      class: opts.class ?? 1,
      errors: p.errors,
      warnings: [],
    };
  }
  // About a record per 24 octets of a big zone's text: the line columns made that big at once,
  // not doubled from 1,024 (each doubling a copy, and fresh pages touched; a guess on the high
  // side costs pages never written).
  if (opts.sink !== undefined) p.reserveLines(Math.ceil(text.length / 24));
  p.parseText(
    text,
    file,
    opts.file !== undefined ? dirname(opts.file) : opts.includeRoot,
    opts.octets ?? false,
  );
  const parsed: ParsedZone = {
    records: p.records,
    lines: p.lines,
    fileIndex: p.fileIndex,
    files: p.files,
    origin: p.zoneOrigin ?? origin,
    class: p.zoneClass ?? 1,
    errors: p.errors,
    warnings: p.warnings,
  };
  if (opts.sink !== undefined)
    parsed.recordLines = {
      lines: p.lineColumn.subarray(0, p.count),
      fileIndex: p.fileColumn.subarray(0, p.count),
    };
  return parsed;
}

/**
 * Parses master-file text into records.
 * @throws ZoneParseError listing every error when the text has any
 */
export function parseZoneText(
  text: string,
  opts: { origin: Name | string; file?: string; defaultTtl?: number } & ParseOptions,
): RR[] {
  const parsed = parseZone(text, opts);
  if (parsed.errors.length > 0) throw new ZoneParseError(parsed.errors, parsed.warnings);
  return parsed.records;
}
