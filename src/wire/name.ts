/**
 * Domain names. A `Name` keeps its uncompressed wire form as a latin1 string (one char per
 * octet, case preserved) and a case-folded `key` computed once (Hickory's LowerName idea):
 * maps are keyed by `key`, so comparisons never fold case again on the query path.
 * @module
 */
import { MAX_LABEL_LENGTH, MAX_NAME_LENGTH } from './constants.js';
import { WireFormatError } from './errors.js';

/** ASCII-only case folding (RFC 4343: only A-Z fold; octets >= 0x80 are left alone). */
export function foldCase(s: string): string {
  // Fast path: most names are already lower case.
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return foldFrom(s, i);
  }
  return s;
}

function foldFrom(s: string, start: number): string {
  // Without octets >= 0x80 the native toLowerCase folds exactly A-Z, several times faster
  // than building the string here; it would also fold Latin-1 letters, hence the check.
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return s.toLowerCase();
  let out = s.slice(0, start);
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 0x41 && c <= 0x5a ? String.fromCharCode(c | 0x20) : s[i];
  }
  return out;
}

/** An absolute domain name. Immutable. */
export class Name {
  /** Uncompressed wire form, case preserved, including the final zero octet, as latin1. */
  readonly wire: string;
  /** `wire` with ASCII letters folded to lower case: the identity of the name. */
  readonly key: string;

  /** The root name `.` */
  static readonly ROOT: Name = new Name('\0');

  private constructor(wire: string, key?: string) {
    this.wire = wire;
    this.key = key ?? foldCase(wire);
  }

  /** Trusted constructor from an already validated wire string (latin1, with final zero). */
  static fromWire(wire: string): Name {
    return wire === '\0' ? Name.ROOT : new Name(wire);
  }

  /**
   * Builds a name from raw labels (latin1 strings, leftmost first). Validates lengths.
   * @throws WireFormatError DNS_ERR_NAME
   */
  static fromLabels(labels: readonly string[]): Name {
    let wire = '';
    for (const label of labels) {
      if (label.length === 0) throw new WireFormatError('DNS_ERR_NAME', 'empty label');
      if (label.length > MAX_LABEL_LENGTH)
        throw new WireFormatError('DNS_ERR_NAME', `label longer than ${MAX_LABEL_LENGTH} octets`);
      wire += String.fromCharCode(label.length) + label;
    }
    wire += '\0';
    if (wire.length > MAX_NAME_LENGTH)
      throw new WireFormatError('DNS_ERR_NAME', `name longer than ${MAX_NAME_LENGTH} octets`);
    return Name.fromWire(wire);
  }

  /**
   * Parses presentation format (`www.example.com.`, escapes `\.` and `\DDD`).
   * A name without a final dot is relative to `origin` (required then); `@` is the origin.
   * @throws WireFormatError DNS_ERR_TEXT or DNS_ERR_NAME
   */
  static parse(text: string, origin?: Name): Name {
    if (text === '@') {
      if (!origin) throw new WireFormatError('DNS_ERR_TEXT', "'@' used without an origin");
      return origin;
    }
    if (text === '.') return Name.ROOT;
    if (text.length === 0) throw new WireFormatError('DNS_ERR_TEXT', 'empty name');
    const labels: string[] = [];
    let label = '';
    let absolute = false;
    let i = 0;
    while (i < text.length) {
      const ch = text[i];
      if (ch === '.') {
        if (label.length === 0) throw new WireFormatError('DNS_ERR_TEXT', `empty label in name '${text}'`);
        labels.push(label);
        label = '';
        i++;
        if (i === text.length) absolute = true;
        continue;
      }
      if (ch === '\\') {
        const a = text.charCodeAt(i + 1);
        if (Number.isNaN(a)) throw new WireFormatError('DNS_ERR_TEXT', `dangling '\\' in name '${text}'`);
        if (a >= 0x30 && a <= 0x39) {
          const digits = text.slice(i + 1, i + 4);
          if (!/^\d{3}$/.test(digits))
            throw new WireFormatError('DNS_ERR_TEXT', `bad \\DDD escape in name '${text}'`);
          const v = Number(digits);
          if (v > 255) throw new WireFormatError('DNS_ERR_TEXT', `\\${digits} is over 255 in name '${text}'`);
          label += String.fromCharCode(v);
          i += 4;
        } else {
          if (a > 0xff) throw new WireFormatError('DNS_ERR_TEXT', `non-latin1 character in name '${text}'`);
          label += text[i + 1];
          i += 2;
        }
        continue;
      }
      const c = text.charCodeAt(i);
      if (c > 0xff) throw new WireFormatError('DNS_ERR_TEXT', `non-latin1 character in name '${text}'`);
      label += ch;
      i++;
    }
    if (label.length > 0) labels.push(label);
    if (absolute) return Name.fromLabels(labels);
    if (!origin) throw new WireFormatError('DNS_ERR_TEXT', `relative name '${text}' without an origin`);
    return Name.fromLabels([...labels, ...origin.labels()]);
  }

  /** Length of the uncompressed wire form in octets. */
  get length(): number {
    return this.wire.length;
  }

  /** Number of labels, not counting the root label. */
  get labelCount(): number {
    let n = 0;
    let i = 0;
    const w = this.wire;
    for (let len = w.charCodeAt(0); len !== 0; len = w.charCodeAt(i)) {
      n++;
      i += len + 1;
    }
    return n;
  }

  /** True for the root name. */
  get isRoot(): boolean {
    return this.wire.length === 1;
  }

  /** True when the leftmost label is `*` (RFC 4592 wildcard). */
  get isWildcard(): boolean {
    return this.wire.charCodeAt(0) === 1 && this.wire.charCodeAt(1) === 0x2a;
  }

  /** Raw labels (latin1 strings), leftmost first, without the root label. */
  labels(): string[] {
    const out: string[] = [];
    const w = this.wire;
    let i = 0;
    for (let len = w.charCodeAt(0); len !== 0; len = w.charCodeAt(i)) {
      out.push(w.slice(i + 1, i + 1 + len));
      i += len + 1;
    }
    return out;
  }

  /** The leftmost label (raw), or '' for the root. */
  firstLabel(): string {
    const len = this.wire.charCodeAt(0);
    return this.wire.slice(1, 1 + len);
  }

  /** The name with its leftmost label removed; the root's parent is the root. */
  parent(): Name {
    if (this.isRoot) return this;
    const skip = this.wire.charCodeAt(0) + 1;
    return new Name(this.wire.slice(skip), this.key.slice(skip));
  }

  /** The ancestor with `n` labels (n <= labelCount). */
  suffix(n: number): Name {
    let drop = this.labelCount - n;
    if (drop <= 0) return this;
    let i = 0;
    while (drop-- > 0) i += this.wire.charCodeAt(i) + 1;
    return Name.fromWire(this.wire.slice(i));
  }

  /** `label.this` */
  prepend(label: string): Name {
    return Name.fromLabels([label, ...this.labels()]);
  }

  /** The wildcard `*.this`; throws DNS_ERR_NAME when that would exceed 255 octets. */
  wildcard(): Name {
    // RFC 1035 §2.3.4: '*.' adds two octets, which may push the name over 255.
    if (this.wire.length + 2 > MAX_NAME_LENGTH)
      throw new WireFormatError('DNS_ERR_NAME', `name longer than ${MAX_NAME_LENGTH} octets`);
    return new Name(`\x01*${this.wire}`, `\x01*${this.key}`);
  }

  /** Case-insensitive equality. */
  equals(other: Name): boolean {
    return this.key === other.key;
  }

  /** True when this name equals `ancestor` or lies below it. */
  isSubdomainOf(ancestor: Name): boolean {
    const a = ancestor.key;
    const k = this.key;
    if (a.length > k.length) return false;
    if (a.length === k.length) return a === k;
    // Walk label boundaries so that a suffix match is always on a label boundary.
    let i = 0;
    const target = k.length - a.length;
    while (i < target) i += k.charCodeAt(i) + 1;
    return i === target && k.endsWith(a);
  }

  /**
   * Replaces the suffix `oldSuffix` (which this name must be under) by `newSuffix`:
   * RFC 6672 DNAME substitution. Throws DNS_ERR_NAME when the result exceeds 255 octets.
   */
  replaceSuffix(oldSuffix: Name, newSuffix: Name): Name {
    const keep = this.wire.length - oldSuffix.wire.length;
    const wire = this.wire.slice(0, keep) + newSuffix.wire;
    if (wire.length > MAX_NAME_LENGTH)
      throw new WireFormatError('DNS_ERR_NAME', `name longer than ${MAX_NAME_LENGTH} octets`);
    return Name.fromWire(wire);
  }

  /** Name with ASCII letters folded to lower case (RFC 4034 §6.2 canonical form). */
  toLowerCase(): Name {
    return this.wire === this.key ? this : new Name(this.key, this.key);
  }

  /** Presentation format with a final dot; special characters escaped. */
  toString(): string {
    if (this.isRoot) return '.';
    let out = '';
    const w = this.wire;
    let i = 0;
    for (let len = w.charCodeAt(0); len !== 0; len = w.charCodeAt(i)) {
      for (let j = i + 1; j <= i + len; j++) out += escapeLabelChar(w.charCodeAt(j));
      out += '.';
      i += len + 1;
    }
    return out;
  }

  /** Presentation format relative to `origin` when below it (`@` for the origin itself). */
  toRelativeString(origin: Name): string {
    if (this.key === origin.key) return '@';
    if (!this.isSubdomainOf(origin)) return this.toString();
    const full = Name.fromWire(this.wire.slice(0, this.wire.length - origin.wire.length) + '\0');
    const s = full.toString();
    return s.slice(0, -1);
  }

  /** Writes the uncompressed wire form at `offset`; returns the offset after it. */
  writeTo(buf: Uint8Array, offset: number): number {
    const w = this.wire;
    for (let i = 0; i < w.length; i++) buf[offset + i] = w.charCodeAt(i);
    return offset + w.length;
  }

  /** Uncompressed wire form as bytes. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.wire.length);
    this.writeTo(out, 0);
    return out;
  }
}

function escapeLabelChar(c: number): string {
  // RFC 4343 §2.1: escape '.', '\\' and characters outside printable ASCII;
  // also those special in master files.
  if (c <= 0x20 || c >= 0x7f) return `\\${c.toString().padStart(3, '0')}`;
  switch (c) {
    case 0x2e: // .
    case 0x5c: // \
    case 0x22: // "
    case 0x28: // (
    case 0x29: // )
    case 0x3b: // ;
    case 0x40: // @
    case 0x24: // $
      return `\\${String.fromCharCode(c)}`;
    default:
      return String.fromCharCode(c);
  }
}

/**
 * RFC 4034 §6.1 canonical order: compare label by label from the rightmost, each label as
 * case-folded octet strings. Returns <0, 0, >0.
 */
export function compareCanonical(a: Name, b: Name): number {
  if (a.key === b.key) return 0;
  const la = labelOffsets(a.key);
  const lb = labelOffsets(b.key);
  let i = la.length - 1;
  let j = lb.length - 1;
  while (i >= 0 && j >= 0) {
    const c = compareLabel(a.key, la[i], b.key, lb[j]);
    if (c !== 0) return c;
    i--;
    j--;
  }
  return la.length - lb.length;
}

function labelOffsets(w: string): number[] {
  const out: number[] = [];
  let i = 0;
  for (let len = w.charCodeAt(0); len !== 0; len = w.charCodeAt(i)) {
    out.push(i);
    i += len + 1;
  }
  return out;
}

function compareLabel(a: string, ia: number, b: string, ib: number): number {
  const na = a.charCodeAt(ia);
  const nb = b.charCodeAt(ib);
  const n = Math.min(na, nb);
  for (let k = 1; k <= n; k++) {
    const d = a.charCodeAt(ia + k) - b.charCodeAt(ib + k);
    if (d !== 0) return d;
  }
  return na - nb;
}
