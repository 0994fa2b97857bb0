/**
 * BIND's `$GENERATE range lhs [ttl] [class] type rhs` templates: the range, and the `$`
 * substitutions in the owner (lhs) and RDATA (rhs) text. A template is compiled once (so a
 * syntax error is found even for an empty range) and then expanded per iteration.
 * @module
 */

/** The most records one `$GENERATE` may produce: bounds memory for a hostile zone file. */
export const MAX_GENERATE_RECORDS = 65536;

/** The largest value BIND accepts in a range or a substituted value (a signed 32-bit int). */
const INT32_MAX = 2147483647;
const INT32_MIN = -2147483648;

/** A fault in a `$GENERATE` directive; the parser adds file and line. */
export class GenerateSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GenerateSyntaxError';
  }
}

/** `start-stop[/step]` */
export interface GenerateRange {
  start: number;
  stop: number;
  step: number;
}

/** Number of values a range produces. */
export function countGenerateRange(r: GenerateRange): number {
  return Math.floor((r.stop - r.start) / r.step) + 1;
}

function parseDecimal(text: string): number {
  if (text.length === 0 || text.length > 10) return Number.NaN;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return Number.NaN;
  }
  const v = Number(text);
  return v > INT32_MAX ? Number.NaN : v;
}

/**
 * Parses `start-stop[/step]`; start <= stop, step >= 1, all within 0..2^31-1, and at most
 * MAX_GENERATE_RECORDS values.
 * @throws GenerateSyntaxError
 */
export function parseGenerateRange(text: string): GenerateRange {
  const dash = text.indexOf('-');
  const slash = text.indexOf('/');
  const bad = (): GenerateSyntaxError => new GenerateSyntaxError(`invalid range '${text}'`);
  if (dash <= 0) throw bad();
  const start = parseDecimal(text.slice(0, dash));
  const stop = parseDecimal(slash < 0 ? text.slice(dash + 1) : text.slice(dash + 1, slash));
  const step = slash < 0 ? 1 : parseDecimal(text.slice(slash + 1));
  if (Number.isNaN(start) || Number.isNaN(stop) || Number.isNaN(step) || step < 1 || start > stop)
    throw bad();
  const range = { start, stop, step };
  const count = countGenerateRange(range);
  if (count > MAX_GENERATE_RECORDS)
    throw new GenerateSyntaxError(
      `range '${text}' would generate ${count} records (at most ${MAX_GENERATE_RECORDS} per $GENERATE)`,
    );
  return range;
}

/** One `${offset,width,base}` substitution (a bare `$` is offset 0, width 0, base d). */
interface Substitution {
  offset: number;
  width: number;
  base: string;
}

/** A compiled template: literal text alternating with substitutions. */
export interface GenerateTemplate {
  parts: ReadonlyArray<string | Substitution>;
}

const BASES = 'doxXnN';

/**
 * Compiles a lhs/rhs template. `$` is the iterator, `${offset[,width[,base]]}` formats it
 * (bases d, o, x, X, n, N: n/N write reversed nibbles separated by dots, as for ip6.arpa),
 * `$$` is a literal `$`, and any `\X` escape is copied verbatim for the name or RDATA parser.
 * @throws GenerateSyntaxError
 */
export function compileGenerateTemplate(text: string): GenerateTemplate {
  const parts: Array<string | Substitution> = [];
  let lit = '';
  let litStart = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (c !== '$') {
      i++;
      continue;
    }
    lit += text.slice(litStart, i);
    if (text[i + 1] === '$') {
      lit += '$';
      i += 2;
      litStart = i;
      continue;
    }
    if (text[i + 1] !== '{') {
      if (lit) parts.push(lit);
      lit = '';
      parts.push({ offset: 0, width: 0, base: 'd' });
      i++;
      litStart = i;
      continue;
    }
    const close = text.indexOf('}', i + 2);
    if (close < 0) throw new GenerateSyntaxError(`missing '}' in '${text}'`);
    const fields = text.slice(i + 2, close).split(',');
    if (fields.length > 3) throw new GenerateSyntaxError(`bad modifier '\${${fields.join(',')}}'`);
    const [o, w = '0', b = 'd'] = fields;
    const sign = o[0] === '-' ? -1 : 1;
    const offset = sign * parseDecimal(o[0] === '-' || o[0] === '+' ? o.slice(1) : o);
    const width = parseDecimal(w);
    if (Number.isNaN(offset) || Number.isNaN(width) || width > 255 || b.length !== 1 || !BASES.includes(b))
      throw new GenerateSyntaxError(`bad modifier '\${${fields.join(',')}}'`);
    if (lit) parts.push(lit);
    lit = '';
    parts.push({ offset, width, base: b });
    i = close + 1;
    litStart = i;
  }
  lit += text.slice(litStart);
  if (lit) parts.push(lit);
  return { parts };
}

/**
 * Expands a template for iterator value `value`.
 * @throws GenerateSyntaxError when value+offset leaves the signed 32-bit range (as BIND)
 */
export function expandGenerateTemplate(t: GenerateTemplate, value: number): string {
  const parts = t.parts;
  if (parts.length === 1 && typeof parts[0] === 'string') return parts[0];
  let out = '';
  for (let k = 0; k < parts.length; k++) {
    const p = parts[k];
    if (typeof p === 'string') {
      out += p;
      continue;
    }
    const v = value + p.offset;
    if (v > INT32_MAX || v < INT32_MIN) throw new GenerateSyntaxError(`${value}+${p.offset} is out of range`);
    out += formatValue(v, p.width, p.base);
  }
  return out;
}

function formatValue(v: number, width: number, base: string): string {
  switch (base) {
    case 'd': {
      if (v < 0) return `-${String(-v).padStart(width - 1, '0')}`;
      return String(v).padStart(width, '0');
    }
    case 'o':
      return (v >>> 0).toString(8).padStart(width, '0');
    case 'x':
      return (v >>> 0).toString(16).padStart(width, '0');
    case 'X':
      return (v >>> 0).toString(16).toUpperCase().padStart(width, '0');
    default:
      return formatNibbles(v >>> 0, width, base === 'N');
  }
}

/**
 * Reversed nibbles, least significant first, each followed by '.' while more nibbles follow
 * or the width (counted in characters, dots included) is not yet filled; as BIND, a width
 * that ends just after a dot leaves that dot (making the name absolute).
 */
function formatNibbles(value: number, width: number, upper: boolean): string {
  const digits = upper ? '0123456789ABCDEF' : '0123456789abcdef';
  let out = '';
  let v = value;
  let w = width;
  do {
    out += digits[v & 0xf];
    v >>>= 4;
    if (w > 0) w--;
    if (w > 0 || v !== 0) {
      out += '.';
      if (w > 0) w--;
    }
  } while (v !== 0 || w > 0);
  return out;
}
