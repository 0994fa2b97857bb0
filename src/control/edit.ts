/**
 * Editing a zone's content: validating change sets and zone files into canonical RRsets,
 * applying them to a copy of the current content, checking the result as a whole (SOA, apex
 * NS, CNAME exclusivity, then the zone module's own build and semantic checks), choosing the
 * new serial, and diffing old against new. Pure functions over `ZoneContent`: the store is
 * touched by the caller only, inside its transaction. RRsetState objects are shared between
 * the current content and the draft, so they are never mutated: a change replaces them.
 * @module
 */
import { RRType, typeToString } from '../wire/constants.js';
import type { RR } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { rdataToText, readSoa } from '../wire/rdata.js';
import {
  canonicalSortKey,
  checkZone,
  formatRecord,
  parseZone,
  sortRecords,
  Zone,
  ZoneBuildError,
  type ZoneFinding,
} from '../zone/index.js';
import {
  contentToRecords,
  enabledRecords,
  nameKeyOf,
  parseContent,
  parseOwner,
  parseTtl,
  parseType,
  type RecordMemo,
  type RecordState,
  type RRsetState,
  rdataOfContent,
  recordLine,
  rrsetKey,
  toOctets,
  ttlOverLimit,
  type ZoneContent,
} from './records.js';
import { chooseSerial } from './serial.js';
import { ControlError } from './types.js';

/** Validation limits (configurable per control plane). */
export interface EditLimits {
  /** Highest TTL accepted (at most 2^31-1, RFC 2181 §8). */
  maxTtl: number;
  /** Most records in one RRset. */
  maxRecordsPerRRset: number;
}

/**
 * How many records a request may make (counted before they are made): the account's
 * remaining quota or the per-request ceiling, whichever is lower; `code` is what going over
 * it is (CTL_ERR_QUOTA for the quota).
 */
export interface RecordBudget {
  max: number;
  /** The limit, for the message ("the per-request ceiling maxRecordsPerRequest"). */
  name: string;
  code: 'CTL_ERR_QUOTA' | 'CTL_ERR_VALIDATION';
}

/** A change of a change set, validated and canonicalised (records deduplicated). */
export interface PreparedChange {
  op: 'replace' | 'delete' | 'add' | 'remove';
  /** Path of the change in the request (`rrsets[2]`). */
  field: string;
  name: Name;
  nameKey: string;
  type: number;
  ttl: number;
  records: RecordState[];
}

/** Which request field last touched each RRset and each owner name (to point errors at). */
export interface Touches {
  rrsets: Map<string, string>;
  names: Map<string, string>;
}

/** Where a finding about a name (and type) came from: a request field, or a zone-file line. */
export type Locate = (nameKey: string, type?: number) => { field?: string; where?: string };

function invalid(message: string, field?: string): ControlError {
  return new ControlError('CTL_ERR_VALIDATION', message, field);
}

/** Types allowed beside a CNAME (RFC 4035 §2.5 amends RFC 1034 §3.6.2: RRSIG and NSEC). */
const CNAME_COMPANIONS = new Set<number>([RRType.CNAME, RRType.RRSIG, RRType.NSEC]);

const OPS = new Set(['replace', 'delete', 'add', 'remove']);

/** Deduplicates records by content (RFC 2181 §5: an RRset holds no duplicates); last wins. */
function dedupe(records: RecordState[]): RecordState[] {
  if (records.length < 2) return records;
  const byContent = new Map<string, RecordState>();
  for (const r of records) byContent.set(r.content, r);
  return byContent.size === records.length ? records : [...byContent.values()];
}

/** Validates a list of record objects (`{content, disabled?}`) of `type`. */
function prepareRecords(type: number, records: unknown, field: string, limits: EditLimits): RecordState[] {
  if (!Array.isArray(records)) throw invalid('records must be a list', `${field}.records`);
  if (records.length > limits.maxRecordsPerRRset)
    throw invalid(
      `${records.length} records in one RRset: at most ${limits.maxRecordsPerRRset}`,
      `${field}.records`,
    );
  const out: RecordState[] = [];
  for (let j = 0; j < records.length; j++) {
    const rf = `${field}.records[${j}]`;
    const r = records[j] as { content?: unknown; disabled?: unknown } | null;
    if (r === null || typeof r !== 'object') throw invalid('a record must be an object with content', rf);
    if (r.disabled !== undefined && typeof r.disabled !== 'boolean')
      throw invalid('disabled must be true or false', `${rf}.disabled`);
    const disabled = r.disabled === true;
    if (disabled && type === RRType.SOA) throw invalid('the SOA record cannot be disabled', `${rf}.disabled`);
    out.push({ content: parseContent(type, r.content, `${rf}.content`).text, disabled });
  }
  return dedupe(out);
}

/**
 * Validates a change set against the zone `origin` (no current state needed): names inside
 * the zone, known types, TTL bounds, every record's syntax. Fields are `${prefix}[i]…`.
 */
export function prepareChanges(
  changes: unknown,
  origin: Name,
  limits: EditLimits,
  prefix = 'rrsets',
): PreparedChange[] {
  if (!Array.isArray(changes)) throw invalid('the changes must be a list', prefix);
  const out: PreparedChange[] = [];
  for (let i = 0; i < changes.length; i++) {
    const field = `${prefix}[${i}]`;
    const c = changes[i] as Record<string, unknown> | null;
    if (c === null || typeof c !== 'object') throw invalid('a change must be an object', field);
    const op = c.op;
    if (typeof op !== 'string' || !OPS.has(op))
      throw invalid(`unknown change '${String(op)}' (replace, delete, add or remove)`, `${field}.op`);
    const name = parseOwner(c.name, origin, `${field}.name`);
    const type = parseType(c.type, `${field}.type`);
    // RFC 1035 §5.2: the SOA is at the top of the zone and nowhere else.
    if (type === RRType.SOA && !name.equals(origin))
      throw invalid(`an SOA record belongs at the zone apex ${origin}, not at ${name}`, `${field}.name`);
    let ttl = 0;
    let records: RecordState[] = [];
    if (op === 'replace' || op === 'add') ttl = parseTtl(c.ttl, limits.maxTtl, `${field}.ttl`);
    if (op !== 'delete') records = prepareRecords(type, c.records, field, limits);
    out.push({ op: op as PreparedChange['op'], field, name, nameKey: nameKeyOf(name), type, ttl, records });
  }
  return out;
}

/** Applies prepared changes, in order, to `draft`; returns what each RRset was touched by. */
export function applyChanges(
  draft: ZoneContent,
  changes: readonly PreparedChange[],
  limits: EditLimits,
): Touches {
  const touches: Touches = { rrsets: new Map(), names: new Map() };
  for (const c of changes) {
    const key = rrsetKey(c.nameKey, c.type);
    const old = draft.get(key);
    let next: RRsetState | undefined;
    switch (c.op) {
      case 'replace':
        // PowerDNS REPLACE with no records deletes the RRset.
        next =
          c.records.length > 0
            ? { name: c.name.toString(), nameKey: c.nameKey, type: c.type, ttl: c.ttl, records: c.records }
            : undefined;
        break;
      case 'delete':
        next = undefined;
        break;
      case 'add': {
        const merged = dedupe([...(old?.records ?? []), ...c.records]);
        // RFC 2181 §5.2: one TTL per RRset, so the TTL given applies to the whole set.
        next = { name: c.name.toString(), nameKey: c.nameKey, type: c.type, ttl: c.ttl, records: merged };
        break;
      }
      case 'remove': {
        if (!old) break;
        const gone = new Set(c.records.map((r) => r.content));
        const kept = old.records.filter((r) => !gone.has(r.content));
        next = kept.length > 0 ? { ...old, records: kept } : undefined;
        if (kept.length === old.records.length) next = old;
        break;
      }
    }
    if (c.op === 'remove' && !old) continue;
    if (c.type === RRType.SOA && !next)
      // RFC 1035 §5.2: every zone has exactly one SOA.
      throw invalid('the SOA record cannot be removed (RFC 1035 §5.2)', c.field);
    if (next) {
      if (next.records.length > limits.maxRecordsPerRRset)
        throw invalid(
          `${next.records.length} records in one RRset: at most ${limits.maxRecordsPerRRset}`,
          `${c.field}.records`,
        );
      if (c.type === RRType.SOA && next.records.length !== 1)
        throw invalid('a zone has exactly one SOA record (RFC 1035 §5.2)', `${c.field}.records`);
      if (c.type === RRType.CNAME && next.records.length > 1)
        // RFC 2181 §10.1: one name, one CNAME.
        throw invalid(`${next.name} can have only one CNAME record (RFC 2181 §10.1)`, `${c.field}.records`);
      if (c.type === RRType.DNAME && next.records.length > 1)
        throw invalid(`${next.name} can have only one DNAME record (RFC 6672 §2.4)`, `${c.field}.records`);
      draft.set(key, next);
    } else draft.delete(key);
    touches.rrsets.set(key, c.field);
    touches.names.set(c.nameKey, c.field);
  }
  return touches;
}

/**
 * Whole-zone rules checked before the (costlier) build: one SOA at the apex, NS at the
 * apex, CNAME exclusivity. Names not touched by the change were valid already.
 */
export function checkContentRules(content: ZoneContent, origin: Name, locate: Locate): void {
  const apexKey = nameKeyOf(origin);
  const at = (nameKey: string, type?: number): { field?: string; where: string } => {
    const l = locate(nameKey, type);
    return { field: l.field, where: l.where ?? '' };
  };
  const soa = content.get(rrsetKey(apexKey, RRType.SOA));
  if (soa?.records.length !== 1) {
    const l = at(apexKey, RRType.SOA);
    throw invalid(
      `${l.where}the zone needs exactly one SOA record at its apex ${origin} (RFC 1035 §5.2)`,
      l.field,
    );
  }
  const ns = content.get(rrsetKey(apexKey, RRType.NS));
  if (!ns || enabledRecords(ns).length === 0) {
    const l = at(apexKey, RRType.NS);
    throw invalid(
      `${l.where}the zone needs NS records at its apex ${origin} (RFC 1034 §4.2.1): they cannot all be removed`,
      l.field,
    );
  }
  // RFC 1034 §3.6.2 / RFC 2181 §10.1: a CNAME owner has no other data (RFC 4035 §2.5:
  // except DNSSEC's RRSIG and NSEC).
  const cnames = new Set<string>();
  for (const s of content.values()) if (s.type === RRType.CNAME) cnames.add(s.nameKey);
  if (cnames.size === 0) return;
  for (const s of content.values()) {
    if (!cnames.has(s.nameKey) || CNAME_COMPANIONS.has(s.type)) continue;
    // The other data's field when the change touched it, else the field that added the CNAME.
    const l = at(s.nameKey, s.type);
    throw invalid(
      `${l.where}${s.name} has a CNAME and other data (${typeToString(s.type)}): a CNAME must be alone at its name (RFC 1034 §3.6.2)`,
      l.field?.endsWith(']') ? `${l.field}.type` : l.field,
    );
  }
}

/** Most warnings one answer lists (the rest are counted). */
export const MAX_WARNINGS = 20;

/**
 * Builds the zone with the zone module and runs its semantic checks: any error rejects the
 * content (a bad change never replaces a good zone), located through `locate`. The NS
 * findings that do not refuse the content are pushed to `warnings` (`name NS: message`).
 *
 * Name servers (RFC 9471): an NS target at or below a zone cut of this zone (required or
 * sibling glue) without address records is refused — nobody could reach that server. Any
 * other in-zone NS target without an address is a warning: named-checkzone refuses it at the
 * apex, but PowerDNS accepts it and the ecosystem's clients create such zones (the address
 * often follows in the next change).
 */
export function buildAndCheck(
  content: ZoneContent,
  origin: Name,
  locate: Locate,
  memo?: RecordMemo,
  warnings?: string[],
): Zone {
  let zone: Zone;
  try {
    zone = Zone.build(origin, contentToRecords(content, memo));
  } catch (err) {
    if (err instanceof ZoneBuildError) throw invalid(err.message);
    throw err;
  }
  gradeFindings(checkZone(zone), locate, warnings);
  return zone;
}

/**
 * `checkZone`'s findings graded as the API grades them (see buildAndCheck): the first error
 * refuses the content, located through `locate`; the NS findings that do not refuse it are
 * pushed to `warnings`.
 */
export function gradeFindings(findings: ZoneFinding[], locate: Locate, warnings?: string[]): void {
  const errors = findings.filter((f) =>
    f.code === 'ZONE_CHECK_NS_NO_GLUE'
      ? true
      : f.severity === 'error' && f.code !== 'ZONE_CHECK_NS_NO_ADDRESS',
  );
  if (warnings) {
    const notes = findings.filter((f) => f.type === RRType.NS && !errors.includes(f));
    for (const f of notes.slice(0, MAX_WARNINGS)) warnings.push(`${f.name} NS: ${f.message}`);
    if (notes.length > MAX_WARNINGS) warnings.push(`(and ${notes.length - MAX_WARNINGS} more)`);
  }
  if (errors.length > 0) {
    const f = errors[0];
    // Presentation names are ASCII (other octets are \DDD escapes): folding the text folds the name.
    const l = locate(f.name.toLowerCase(), f.type);
    const what = f.type !== undefined ? `${f.name} ${typeToString(f.type)}` : f.name;
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
    const why = f.code === 'ZONE_CHECK_NS_NO_GLUE' ? ': the glue must be in this zone (RFC 9471)' : '';
    throw invalid(`${l.where ?? ''}${what}: ${f.message}${why}${more}`, l.field);
  }
}

/** The serial in the SOA of `content`. */
export function soaSerial(content: ZoneContent, origin: Name): number {
  const soa = content.get(rrsetKey(nameKeyOf(origin), RRType.SOA));
  if (!soa) throw invalid(`the zone has no SOA record at its apex ${origin}`);
  return readSoa(rdataOfContent(RRType.SOA, soa.records[0].content)).serial;
}

/**
 * Sets the serial of the new version into the draft's SOA: `old + 1` (RFC 1982) unless the
 * draft's own SOA serial is greater than `oldSerial`; with no old serial (a new zone) the
 * draft's is kept. Returns the serial.
 */
export function settleSerial(draft: ZoneContent, origin: Name, oldSerial: number | undefined): number {
  const key = rrsetKey(nameKeyOf(origin), RRType.SOA);
  const soa = draft.get(key);
  if (!soa) throw invalid(`the zone has no SOA record at its apex ${origin}`);
  const rdata = rdataOfContent(RRType.SOA, soa.records[0].content);
  const requested = readSoa(rdata).serial;
  const serial = oldSerial === undefined ? requested : chooseSerial(oldSerial, requested);
  if (serial !== requested) {
    // RFC 1035 §3.3.13: SERIAL is the first of the five 32-bit fields after the two names.
    const copy = new Uint8Array(rdata);
    new DataView(copy.buffer, copy.byteOffset + copy.length - 20, 4).setUint32(0, serial);
    draft.set(key, { ...soa, records: [{ content: rdataToText(RRType.SOA, copy), disabled: false }] });
  }
  return serial;
}

/** What one version changed: each RRset as it was before and after (null: absent). */
export interface RRsetChangeRecord {
  before: RRsetState | null;
  after: RRsetState | null;
}

/**
 * Same owner spelling, TTL and records. An RRset is a set (RFC 2181 §5): the order of its
 * records is no difference, so the same records in another order (a zone file sorted
 * otherwise, `record set` with the values swapped) change nothing.
 */
export function sameRRset(a: RRsetState, b: RRsetState): boolean {
  if (a.name !== b.name || a.ttl !== b.ttl || a.records.length !== b.records.length) return false;
  let inOrder = true;
  for (let i = 0; i < a.records.length && inOrder; i++)
    inOrder =
      a.records[i].content === b.records[i].content && a.records[i].disabled === b.records[i].disabled;
  if (inOrder) return true;
  const disabledOf = new Map(a.records.map((r) => [r.content, r.disabled]));
  return b.records.every((r) => disabledOf.get(r.content) === r.disabled);
}

/** The RRsets that differ between two contents. */
export function diffContent(before: ZoneContent, after: ZoneContent): RRsetChangeRecord[] {
  const out: RRsetChangeRecord[] = [];
  for (const [key, b] of before) {
    const a = after.get(key);
    if (!a) out.push({ before: b, after: null });
    else if (a !== b && !sameRRset(a, b)) out.push({ before: b, after: a });
  }
  for (const [key, a] of after) if (!before.has(key)) out.push({ before: null, after: a });
  return out;
}

/**
 * What marks a disabled record in exported master-file text and in diffs: the record's line
 * behind this comment, e.g. `;disabled; www.example.com.\t300\tIN\tA\t192.0.2.9`. Other
 * master-file readers see a comment; `parseZonefile` reads the record back as disabled.
 */
export const DISABLED_MARK = ';disabled; ';

/** A record line as export and diffs show it (disabled ones behind `DISABLED_MARK`). */
interface LineItem {
  s: RRsetState;
  c: string;
  disabled: boolean;
}

/**
 * The records a set of RRset changes removed and added, as master-file lines: the lines of
 * the export that went and came. A served record is its line (the IXFR view, RFC 1995 §4); a
 * disabled record is its line behind `DISABLED_MARK`, so disabling a record removes its line
 * and adds the marked one (enabling: the reverse). A TTL change removes and re-adds the whole
 * RRset; a change of the owner's case alone changes nothing (names compare
 * case-insensitively).
 */
export function changeLines(changes: readonly RRsetChangeRecord[]): { removed: string[]; added: string[] } {
  const removed: LineItem[] = [];
  const added: LineItem[] = [];
  eachChangeLine(
    changes,
    (s, r) => removed.push({ s, c: r.content, disabled: r.disabled }),
    (s, r) => added.push({ s, c: r.content, disabled: r.disabled }),
  );
  return { removed: sortLines(removed), added: sortLines(added) };
}

/**
 * How many lines `changeLines` lists, without formatting and sorting them (that took seconds
 * for a 100,000-record import): the `added` and `removed` of every version. One rule with the
 * lists: disabled records count, and enabling or disabling one is a removed and an added line.
 */
export function countChangeLines(changes: readonly RRsetChangeRecord[]): { removed: number; added: number } {
  let removed = 0;
  let added = 0;
  eachChangeLine(
    changes,
    () => removed++,
    () => added++,
  );
  return { removed, added };
}

/** The walk behind `changeLines` and `countChangeLines`: each line removed and added. */
function eachChangeLine(
  changes: readonly RRsetChangeRecord[],
  onRemoved: (s: RRsetState, r: RecordState) => void,
  onAdded: (s: RRsetState, r: RecordState) => void,
): void {
  const key = (r: RecordState): string => (r.disabled ? `-${r.content}` : `+${r.content}`);
  for (const { before, after } of changes) {
    const b = before?.records ?? [];
    const a = after?.records ?? [];
    if (before && after && before.ttl === after.ttl) {
      const inA = new Set(a.map(key));
      const inB = new Set(b.map(key));
      for (const r of b) if (!inA.has(key(r))) onRemoved(before, r);
      for (const r of a) if (!inB.has(key(r))) onAdded(after, r);
    } else {
      if (before) for (const r of b) onRemoved(before, r);
      if (after) for (const r of a) onAdded(after, r);
    }
  }
}

/** SOA first (as in IXFR), then canonical order of owner, type, content. */
function sortLines(items: LineItem[]): string[] {
  const keys = new Map<string, string>();
  const keyOf = (s: RRsetState): string => {
    let k = keys.get(s.nameKey);
    if (k === undefined) {
      k = sortKeyOfName(s.name);
      keys.set(s.nameKey, k);
    }
    return k;
  };
  const decorated = items.map((x) => ({ k: keyOf(x.s), x }));
  decorated.sort((p, q) => {
    const ps = p.x.s.type === RRType.SOA ? 0 : 1;
    const qs = q.x.s.type === RRType.SOA ? 0 : 1;
    if (ps !== qs) return ps - qs;
    if (p.k !== q.k) return p.k < q.k ? -1 : 1;
    if (p.x.s.type !== q.x.s.type) return p.x.s.type - q.x.s.type;
    return p.x.c < q.x.c ? -1 : p.x.c > q.x.c ? 1 : 0;
  });
  return decorated.map(
    (d) => `${d.x.disabled ? DISABLED_MARK : ''}${recordLine(d.x.s.name, d.x.s.ttl, d.x.s.type, d.x.c)}`,
  );
}

/**
 * The content as master-file text: absolute names, SOA first, then canonical order (the
 * zone printer's form), disabled records in place behind `DISABLED_MARK`. `parseZonefile`
 * reads it back to the same content.
 */
export function exportContent(content: ZoneContent): string {
  const records: RR[] = [];
  const disabled = new Set<RR>();
  let origin: Name | undefined;
  for (const s of content.values()) {
    const name = Name.parse(s.name);
    if (s.type === RRType.SOA) origin = name;
    for (const r of s.records) {
      const rr: RR = { name, type: s.type, class: 1, ttl: s.ttl, rdata: rdataOfContent(s.type, r.content) };
      if (r.disabled) disabled.add(rr);
      records.push(rr);
    }
  }
  const lines = sortRecords(records, origin).map((rr) =>
    disabled.has(rr) ? `${DISABLED_MARK}${formatRecord(rr)}` : formatRecord(rr),
  );
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/**
 * Master-file text with the `;disabled;` lines made record lines again (line numbers kept),
 * and the numbers of those lines. A marked line whose rest is a directive (`$…`) or blank
 * stays a comment.
 */
function revealDisabled(text: string): { text: string; lines: Set<number> } {
  const lines = new Set<number>();
  const mark = DISABLED_MARK.trimEnd();
  if (!text.startsWith(mark) && !text.includes(`\n${mark}`)) return { text, lines };
  const out = text.split('\n');
  for (let i = 0; i < out.length; i++) {
    const line = out[i];
    if (!line.startsWith(mark)) continue;
    const rest = line.slice(line.startsWith(DISABLED_MARK) ? DISABLED_MARK.length : mark.length);
    if (rest.trim() === '' || rest.trimStart().startsWith('$')) continue;
    out[i] = rest;
    lines.add(i + 1);
  }
  return { text: out.join('\n'), lines };
}

/** RFC 4034 §6.1 canonical sort key of a presentation name. */
export function sortKeyOfName(name: string): string {
  return canonicalSortKey(Name.parse(name));
}

/** The result of reading a zone file for import. */
export interface ParsedZonefile {
  content: ZoneContent;
  /** The line of the first record of an owner (and type). */
  lineOf(nameKey: string, type?: number): number | undefined;
}

/**
 * Parses master-file text for zone `origin` into content (relative names complete with the
 * origin; `$INCLUDE` is refused: the text has no folder). Errors name the line; the field
 * is `zonefile`. Without `$TTL`, records without a TTL get 3600.
 */
export function parseZonefile(
  text: unknown,
  origin: Name,
  limits: EditLimits,
  budget?: RecordBudget,
): ParsedZonefile {
  const field = 'zonefile';
  if (typeof text !== 'string') throw invalid('the zone file must be text', field);
  const revealed = revealDisabled(toOctets(text));
  const parsed = parseZone(revealed.text, {
    origin,
    defaultTtl: 3600,
    octets: true,
    maxErrors: 20,
    ...(budget ? { maxRecords: budget.max, maxRecordsName: budget.name } : {}),
  });
  if (parsed.errors.length > 0) {
    const e = parsed.errors[0];
    const more = parsed.errors.length > 1 ? ` (and ${parsed.errors.length - 1} more)` : '';
    const message = `zonefile line ${e.line}: ${e.message}${more}`;
    if (budget && e.code === 'ZONE_ERR_LIMIT') throw new ControlError(budget.code, message, field);
    throw invalid(message, field);
  }
  const content: ZoneContent = new Map();
  const lines = new Map<string, number>();
  const seen = new Map<string, Set<string>>();
  for (let i = 0; i < parsed.records.length; i++) {
    const rr = parsed.records[i];
    const line = parsed.lines[i];
    const where = `zonefile line ${line}: `;
    if (rr.class !== 1) throw invalid(`${where}only class IN records can be imported`, field);
    if (!rr.name.isSubdomainOf(origin))
      throw invalid(`${where}${rr.name} is not inside the zone ${origin}`, field);
    if (rr.type === RRType.SOA && !rr.name.equals(origin))
      throw invalid(`${where}an SOA record belongs at the zone apex ${origin}, not at ${rr.name}`, field);
    if (rr.ttl > limits.maxTtl) throw invalid(`${where}${ttlOverLimit(rr.ttl, limits.maxTtl)}`, field);
    const disabled = revealed.lines.has(line);
    if (disabled && rr.type === RRType.SOA) throw invalid(`${where}the SOA record cannot be disabled`, field);
    const nameKey = nameKeyOf(rr.name);
    const key = rrsetKey(nameKey, rr.type);
    const contentText = rdataToText(rr.type, rr.rdata);
    if (!lines.has(nameKey)) lines.set(nameKey, line);
    if (!lines.has(key)) lines.set(key, line);
    let set = content.get(key);
    let texts = seen.get(key);
    if (!set || !texts) {
      // RFC 2181 §5.2: one TTL per RRset; the first record's wins, as in BIND.
      set = { name: rr.name.toString(), nameKey, type: rr.type, ttl: rr.ttl, records: [] };
      content.set(key, set);
      texts = new Set();
      seen.set(key, texts);
    }
    if (texts.has(contentText)) continue;
    texts.add(contentText);
    set.records.push({ content: contentText, disabled });
    if (set.records.length > limits.maxRecordsPerRRset)
      throw invalid(
        `zonefile line ${lines.get(key)}: more than ${limits.maxRecordsPerRRset} records in the ${set.name} ${typeToString(set.type)} RRset`,
        field,
      );
    if (rr.type === RRType.SOA && set.records.length > 1)
      throw invalid(`${where}a zone has exactly one SOA record (RFC 1035 §5.2)`, field);
    if ((rr.type === RRType.CNAME || rr.type === RRType.DNAME) && set.records.length > 1)
      throw invalid(`${where}${set.name} can have only one ${typeToString(rr.type)} record`, field);
  }
  return {
    content,
    lineOf: (nameKey, type) =>
      (type !== undefined ? lines.get(rrsetKey(nameKey, type)) : undefined) ?? lines.get(nameKey),
  };
}

/** A `Locate` for zone-file content: field `zonefile`, message prefixed with the line. */
export function locateInZonefile(z: ParsedZonefile): Locate {
  return (nameKey, type) => {
    const line = z.lineOf(nameKey, type);
    return { field: 'zonefile', where: line !== undefined ? `zonefile line ${line}: ` : 'zonefile: ' };
  };
}

/** A `Locate` for change sets: the request field that last touched the RRset or name. */
export function locateInChanges(t: Touches, fallback?: string): Locate {
  return (nameKey, type) => {
    const field =
      (type !== undefined ? t.rrsets.get(rrsetKey(nameKey, type)) : undefined) ??
      t.names.get(nameKey) ??
      fallback;
    return { field };
  };
}
