/**
 * Records as the control plane keeps them: RRsets in presentation form, each record's
 * content canonicalised by a round trip through the RDATA codec (parse with `rdataFromText`,
 * print with `rdataToText`), so exports and diffs are stable whatever spelling came in.
 * Parsing helpers here throw ControlError CTL_ERR_VALIDATION with the field at fault.
 * @module
 */
import { RRType, typeFromString, typeToString } from '../wire/constants.js';
import type { RR } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { rdataFromText, rdataToText } from '../wire/rdata.js';
import { tokenizeText } from '../zone/index.js';
import { ControlError, type RecordData, type RRsetData } from './types.js';

/** One record of an RRset: canonical content, and whether it is served. */
export interface RecordState {
  content: string;
  disabled: boolean;
}

/** An RRset of a zone's content (the unit stored, diffed and rolled back). */
export interface RRsetState {
  /** Owner, absolute presentation form, case preserved. */
  name: string;
  /** Owner case-folded: with `type` the identity of the RRset. */
  nameKey: string;
  type: number;
  ttl: number;
  records: RecordState[];
}

/** A zone's content: RRsets by `rrsetKey`. */
export type ZoneContent = Map<string, RRsetState>;

/** The map key of an RRset (a blank cannot occur unescaped in a presentation name). */
export function rrsetKey(nameKey: string, type: number): string {
  return `${nameKey} ${type}`;
}

/** The case-folded presentation form of a name: the key of names in the store. */
export function nameKeyOf(name: Name): string {
  return name.toLowerCase().toString();
}

/** RFC 2181 §8: a TTL is an unsigned 31-bit number. */
export const MAX_TTL_RFC = 2147483647;
/** The TTL limit when the operator sets none (`switchboard start --max-ttl`): 30 days. */
export const DEFAULT_MAX_TTL = 2592000;

function invalid(message: string, field?: string): ControlError {
  return new ControlError('CTL_ERR_VALIDATION', message, field);
}

/** How much of a refused value an error message quotes. */
export const QUOTE_CHARS = 64;

/**
 * A value as an error message quotes it: at most `max` characters, then `…` and the length,
 * so a 64 KB value is not echoed back whole.
 */
export function quoted(value: string, max = QUOTE_CHARS): string {
  return value.length <= max ? value : `${value.slice(0, max)}… (${value.length} characters)`;
}

/** An error message from a lower layer, cut to a readable length (it may quote the input). */
function reason(err: unknown): string {
  return quoted((err as Error).message, 4 * QUOTE_CHARS);
}

/**
 * Text as octets (one char per octet, the form names and RDATA text use): Unicode input is
 * taken as its UTF-8 octets, as the zone parser does for text that is not a latin1 file.
 */
export function toOctets(s: string): string {
  for (let i = 0; i < s.length; i++)
    if (s.charCodeAt(i) > 0x7f) return Buffer.from(s, 'utf8').toString('latin1');
  return s;
}

/** Adds the final dot when missing (API input may omit it); `\\.` is an escaped dot. */
function absolute(text: string): string {
  if (!text.endsWith('.')) return `${text}.`;
  let slashes = 0;
  for (let i = text.length - 2; i >= 0 && text[i] === '\\'; i--) slashes++;
  return slashes % 2 === 0 ? text : `${text}.`;
}

/** Characters allowed in zone name labels: letters, digits, '-', '_' and '/' (RFC 2317). */
const ZONE_LABEL_RE = /^[A-Za-z0-9_\-/]+$/;

/**
 * Parses and case-folds a zone name (`example.com` or `example.com.`).
 * Zone names are host-like: labels of letters, digits, '-', '_' (service zones) and '/'
 * (RFC 2317 classless reverse zones); not the root, not a wildcard.
 */
export function parseZoneName(text: unknown, field = 'name'): Name {
  if (typeof text !== 'string' || text.length === 0) throw invalid('a zone name is required', field);
  let name: Name;
  try {
    name = Name.parse(absolute(toOctets(text)));
  } catch (err) {
    throw invalid(`bad zone name '${quoted(text)}': ${reason(err)}`, field);
  }
  if (name.isRoot) throw invalid('the root zone cannot be managed here', field);
  for (const label of name.labels())
    if (!ZONE_LABEL_RE.test(label))
      throw invalid(
        `bad zone name '${quoted(text)}': labels may hold only letters, digits, '-', '_' and '/'`,
        field,
      );
  return name.toLowerCase();
}

/** Parses an owner name (absolute; `@` is the apex) that must lie inside the zone `origin`. */
export function parseOwner(text: unknown, origin: Name, field: string): Name {
  if (typeof text !== 'string' || text.length === 0) throw invalid('a name is required', field);
  let name: Name;
  try {
    name = text === '@' ? origin : Name.parse(absolute(toOctets(text)));
  } catch (err) {
    throw invalid(`bad name '${quoted(text)}': ${reason(err)}`, field);
  }
  if (!name.isSubdomainOf(origin))
    throw invalid(`${quoted(name.toString())} is not inside the zone ${origin}`, field);
  return name;
}

/** Types that are not data (RFC 6895 §3.1: OPT, and the meta/question range 128–255). */
function isMetaType(type: number): boolean {
  return type === 0 || type === RRType.OPT || (type >= 128 && type <= 255);
}

/**
 * PowerDNS's ALIAS pseudo-type (external-dns sends it for CNAMEs at a zone apex). It is no
 * DNS type: the server answers it by resolving the target itself, with outgoing queries.
 */
const ALIAS = 'ALIAS';

/** Parses a type mnemonic or `TYPEnnn` (RFC 3597). */
export function parseType(text: unknown, field: string): number {
  if (typeof text !== 'string') throw invalid('a type is required', field);
  if (text.toUpperCase() === ALIAS)
    throw invalid(
      'ALIAS records are not supported: serving one means resolving its target with outgoing ' +
        'queries, and Switchboard is an authoritative-only server that sends none; publish the ' +
        "target's addresses as A and AAAA records instead",
      field,
    );
  const type = typeFromString(text);
  if (type === undefined) throw invalid(`unknown record type '${quoted(text)}'`, field);
  if (isMetaType(type)) throw invalid(`${typeToString(type)} is not a record type a zone can hold`, field);
  return type;
}

/** The message of a TTL over the limit: the one rule of both APIs and of zone files. */
export function ttlOverLimit(ttl: number, max: number): string {
  return `TTL ${ttl} is over this server's limit of ${Math.min(max, MAX_TTL_RFC)} seconds (switchboard start --max-ttl)`;
}

/** Checks a TTL: an integer from 0 to `max` (RFC 2181 §8 caps it at 2^31-1). */
export function parseTtl(value: unknown, max: number, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw invalid('the TTL must be an integer number of seconds', field);
  if (value < 0) throw invalid(`TTL ${value} is negative`, field);
  if (value > Math.min(max, MAX_TTL_RFC)) throw invalid(ttlOverLimit(value, max), field);
  return value;
}

/** An RFC 952 / RFC 1123 §2.1 host name label: letters, digits, inner hyphens, 1–63 characters. */
const HOST_LABEL_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * Parses a name server's host name (`ns1.example.net`, final dot optional) as RFC 952 and
 * RFC 1123 §2.1 define host names: labels of letters, digits and inner hyphens, at most 63
 * characters each, 253 in all. Returns the absolute form.
 */
export function parseHostName(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid('a host name is required', field);
  const text = value.endsWith('.') ? value.slice(0, -1) : value;
  const labels = text.split('.');
  const bad = labels.find((l) => !HOST_LABEL_RE.test(l));
  if (bad !== undefined || text.length > 253)
    throw invalid(
      `'${quoted(value)}' is not a host name (RFC 952, RFC 1123 §2.1: labels of letters, digits and inner hyphens, like ns1.example.net)`,
      field,
    );
  return Name.parse(`${text}.`).toString();
}

/** A record content parsed: its canonical text and wire RDATA. */
export interface ParsedContent {
  text: string;
  rdata: Uint8Array;
}

/**
 * Parses one record's content (presentation RDATA, names absolute) and returns its
 * canonical form. The master-file lexer splits it into tokens, so quoting and escapes work
 * as in a zone file.
 */
export function parseContent(type: number, content: unknown, field: string): ParsedContent {
  if (typeof content !== 'string') throw invalid('the record content must be a string', field);
  const tname = typeToString(type);
  let tokens: ReturnType<typeof tokenizeText>;
  try {
    tokens = tokenizeText(toOctets(content));
  } catch (err) {
    throw invalid(`${tname} record '${quoted(content)}': ${reason(err)}`, field);
  }
  if (tokens.length === 0) throw invalid(`${tname} record: the content is empty`, field);
  // Unquoted text would be split at its blanks into several strings (RFC 1035 §5.1), which
  // silently breaks an SPF or DKIM record; PowerDNS refuses it, and so does the API (zone
  // files keep the master-file rules).
  if ((type === RRType.TXT || type === RRType.SPF) && tokens.some((t) => !t.quoted))
    throw invalid(
      `${tname} content must be quoted character-strings, e.g. "v=spf1 -all" (got '${quoted(content)}')`,
      field,
    );
  let rdata: Uint8Array;
  try {
    // No origin: names in API content are absolute, so 'mail' is an error, not a guess.
    rdata = rdataFromText(type, tokens, undefined);
  } catch (err) {
    throw invalid(`${tname} record '${quoted(content)}': ${reason(err)}`, field);
  }
  return { text: rdataToText(type, rdata), rdata };
}

/** Wire RDATA of stored (already canonical) content. */
export function rdataOfContent(type: number, content: string): Uint8Array {
  return rdataFromText(type, tokenizeText(content), undefined);
}

/** `name TTL IN TYPE content`: one master-file line with absolute names. */
export function recordLine(name: string, ttl: number, type: number, content: string): string {
  return `${name}\t${ttl}\tIN\t${typeToString(type)}\t${content}`;
}

/** The served records of an RRset (disabled ones are kept but never served). */
export function enabledRecords(s: RRsetState): RecordState[] {
  return s.records.every((r) => !r.disabled) ? s.records : s.records.filter((r) => !r.disabled);
}

/** The RRset as the API shows it. */
export function toRRsetData(s: RRsetState): RRsetData {
  return {
    name: s.name,
    type: typeToString(s.type),
    ttl: s.ttl,
    records: s.records.map((r): RecordData => ({ content: r.content, disabled: r.disabled })),
  };
}

/** Records JSON as stored (`disabled` only when true, to keep rows small). */
export function encodeRecords(records: readonly RecordState[]): string {
  return JSON.stringify(
    records.map((r) => (r.disabled ? { content: r.content, disabled: true } : { content: r.content })),
  );
}

/** Parses stored records JSON. */
export function decodeRecords(json: string): RecordState[] {
  const list = JSON.parse(json) as Array<{ content: string; disabled?: boolean }>;
  return list.map((r) => ({ content: r.content, disabled: r.disabled === true }));
}

/** Parsed records of one RRset, by RRset object (RRset objects are never mutated). */
export type RecordMemo = Map<RRsetState, RR[]>;

/**
 * Every served record of `content` as RRs (for building the zone and exporting it). With
 * `memo`, RRsets parsed before are taken from it and the new ones are added to it.
 */
export function contentToRecords(content: ZoneContent, memo?: RecordMemo): RR[] {
  const out: RR[] = [];
  for (const s of content.values()) {
    let rrs = memo?.get(s);
    if (!rrs) {
      rrs = [];
      const name = Name.parse(s.name);
      for (const r of s.records) {
        if (r.disabled) continue;
        rrs.push({ name, type: s.type, class: 1, ttl: s.ttl, rdata: rdataOfContent(s.type, r.content) });
      }
      memo?.set(s, rrs);
    }
    for (const rr of rrs) out.push(rr);
  }
  return out;
}

/** Counts records (served or not): what quotas count. */
export function countRecords(content: Iterable<RRsetState>): number {
  let n = 0;
  for (const s of content) n += s.records.length;
  return n;
}

/**
 * Master-file text of the served records, SOA first (what DNS workers load). Built from the
 * stored canonical text, without re-parsing: fast enough for every zone at start.
 */
export function renderServedText(rrsets: Iterable<RRsetState>): string {
  const lines: string[] = [];
  let soa = '';
  for (const s of rrsets) {
    for (const r of s.records) {
      if (r.disabled) continue;
      const line = recordLine(s.name, s.ttl, s.type, r.content);
      if (s.type === RRType.SOA) soa = line;
      else lines.push(line);
    }
  }
  if (soa) lines.unshift(soa);
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}
