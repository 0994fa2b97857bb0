/**
 * A big zone file (create or replace through the API) read as columns: the text is parsed
 * straight into a `ColumnZoneStream` (typed columns, RDATA in one slab: src/zone/column-zone.ts)
 * and checked there — the per-record checks of `parseZonefile`, the whole-zone rules of
 * `checkContentRules`, and `checkZone` graded as `buildAndCheck` grades it — so no list of
 * parsed records, no `Zone` graph and no record memo of a million objects is ever made. Only
 * then is the content made (one `RRsetState` a RRset, its records' canonical text), which is
 * what the zone-work thread keeps for the zone's next change.
 *
 * The same content, the same refusals (with the line at fault) as the object path for the same
 * text; the column path is taken for texts of `BULK_TEXT` octets or more without disabled
 * records (edit.ts `DISABLED_MARK`, which the object path handles).
 * @module
 */
import { RRType, typeToString } from '../wire/constants.js';
import type { RR } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { rdataToText } from '../wire/rdata.js';
import { type ColumnZone, ColumnZoneStream, checkZone, parseZone, ZoneBuildError } from '../zone/index.js';
import { DISABLED_MARK, type EditLimits, gradeFindings, type Locate, type RecordBudget } from './edit.js';
import {
  nameKeyOf,
  type RRsetState,
  rdataOfContent,
  rrsetKey,
  toOctets,
  ttlOverLimit,
  type ZoneContent,
} from './records.js';
import { ControlError } from './types.js';

/** Zone-file texts of at least this many characters go the column path. */
export const BULK_TEXT = 1 << 20;

/** Types allowed beside a CNAME (as edit.ts checkContentRules: RFC 1034 §3.6.2, RFC 4035 §2.5). */
const CNAME_COMPANIONS = new Set<number>([RRType.CNAME, RRType.RRSIG, RRType.NSEC]);

function invalid(message: string): ControlError {
  return new ControlError('CTL_ERR_VALIDATION', message, 'zonefile');
}

/** Whether `text` takes the column path: big, and no disabled records in it. */
export function isBulkZonefile(text: unknown): text is string {
  if (typeof text !== 'string' || text.length < BULK_TEXT) return false;
  const mark = DISABLED_MARK.trimEnd();
  return !text.startsWith(mark) && !text.includes(`\n${mark}`);
}

/** What the text holds at the apex, for the caller to fill in what a zone needs. */
export interface ApexSeen {
  /** The apex SOA is there. */
  soa: boolean;
  /** The apex NS targets, in order (presentation form). */
  ns: string[];
}

/** A record to add to the text's (apex records made by the caller: SOA, NS). */
export interface ExtraRecord {
  type: number;
  ttl: number;
  content: string;
}

/** The content of a zone file, checked whole, and the NS warnings of its check. */
export interface ColumnsContent {
  content: ZoneContent;
  locate: Locate;
  warnings: string[];
}

/**
 * Parses and checks zone-file `text` for zone `origin` as columns, then makes its content.
 * `fill` sees what the apex holds and gives records to add there (create: the nameservers and
 * the default SOA; replace: the zone's SOA when the text has none); it may throw. Throws
 * ControlError (field `zonefile`, messages naming the line) as `parseZonefile`, `checkContentRules`
 * and `buildAndCheck` do.
 */
export function columnsContent(
  text: string,
  origin: Name,
  limits: EditLimits,
  budget: RecordBudget | undefined,
  fill?: (seen: ApexSeen) => ExtraRecord[],
): ColumnsContent {
  const octets = toOctets(text);
  // ~28 octets a line in a big zone: the columns start about that big.
  const stream = new ColumnZoneStream(octets.length / 24);
  const seen: ApexSeen = { soa: false, ns: [] };
  let soaRdata: Uint8Array | undefined;
  let bad: { index: number; message: string } | undefined;
  let count = 0;
  let lastName: Name | undefined;
  let lastInZone = false;
  let lastApex = false;
  const sink = (rr: RR): void => {
    const i = count++;
    if (bad !== undefined) return;
    if (rr.name !== lastName) {
      lastName = rr.name;
      lastInZone = rr.name.isSubdomainOf(origin);
      lastApex = lastInZone && rr.name.key === origin.key;
    }
    let message: string | undefined;
    if (rr.class !== 1) message = 'only class IN records can be imported';
    else if (!lastInZone) message = `${rr.name} is not inside the zone ${origin}`;
    else if (rr.type === RRType.SOA && !lastApex)
      message = `an SOA record belongs at the zone apex ${origin}, not at ${rr.name}`;
    else if (rr.ttl > limits.maxTtl) message = ttlOverLimit(rr.ttl, limits.maxTtl);
    else if (rr.type === RRType.SOA) {
      if (soaRdata !== undefined && Buffer.compare(soaRdata, rr.rdata) !== 0)
        message = 'a zone has exactly one SOA record (RFC 1035 §5.2)';
      soaRdata ??= rr.rdata.slice();
      seen.soa = true;
    } else if (rr.type === RRType.NS && lastApex) seen.ns.push(rdataToText(RRType.NS, rr.rdata));
    if (message !== undefined) {
      bad = { index: i, message };
      return;
    }
    stream.add(rr, origin);
  };
  const parsed = parseZone(octets, {
    origin,
    defaultTtl: 3600,
    octets: true,
    maxErrors: 20,
    sink,
    ...(budget ? { maxRecords: budget.max, maxRecordsName: budget.name } : {}),
  });
  if (parsed.errors.length > 0) {
    const e = parsed.errors[0];
    const more = parsed.errors.length > 1 ? ` (and ${parsed.errors.length - 1} more)` : '';
    const message = `zonefile line ${e.line}: ${e.message}${more}`;
    if (budget && e.code === 'ZONE_ERR_LIMIT') throw new ControlError(budget.code, message, 'zonefile');
    throw invalid(message);
  }
  const lines = parsed.recordLines?.lines ?? new Int32Array(0);
  if (bad !== undefined) throw invalid(`zonefile line ${lines[bad.index]}: ${bad.message}`);
  const textRecords = stream.count;
  for (const x of fill?.(seen) ?? [])
    stream.add(
      { name: origin, type: x.type, class: 1, ttl: x.ttl, rdata: rdataOfContent(x.type, x.content) },
      origin,
    );
  // The line of the first record of an owner (and type): looked up only to report a refusal.
  let index: Map<string, number> | undefined;
  const lineOf = (nameKey: string, type?: number): number | undefined => {
    if (!index) {
      index = new Map();
      for (let i = 0; i < textRecords; i++) {
        const k = stream.keyOf(i);
        const kt = `${k} ${stream.types[i]}`;
        if (!index.has(k)) index.set(k, lines[i]);
        if (!index.has(kt)) index.set(kt, lines[i]);
      }
    }
    let key: string;
    try {
      key = Name.parse(nameKey).key;
    } catch {
      return undefined;
    }
    return (type !== undefined ? index.get(`${key} ${type}`) : undefined) ?? index.get(key);
  };
  const locate: Locate = (nameKey, type) => {
    const line = lineOf(nameKey, type);
    return { field: 'zonefile', where: line !== undefined ? `zonefile line ${line}: ` : 'zonefile: ' };
  };
  let zone: ColumnZone;
  try {
    zone = stream.finish(origin, 1);
  } catch (err) {
    if (err instanceof ZoneBuildError) throw invalid(err.message);
    throw err;
  }
  checkColumns(zone, origin, limits, locate);
  const warnings: string[] = [];
  gradeFindings(checkZone(zone), locate, warnings);
  // Not the locate above: it holds the stream's columns, which go now.
  return {
    content: contentOfColumns(zone),
    locate: () => ({ field: 'zonefile', where: 'zonefile: ' }),
    warnings,
  };
}

/**
 * The rules `parseZonefile` and `checkContentRules` apply that `checkZone` does not: records per
 * RRset, one CNAME or DNAME record, NS at the apex, a CNAME alone at its name.
 */
function checkColumns(zone: ColumnZone, origin: Name, limits: EditLimits, locate: Locate): void {
  const c = zone.columns();
  const where = (i: number, type?: number): string => locate(keyText(zone, i), type).where ?? '';
  const apexNs = zone.apex.get(RRType.NS);
  if (!apexNs || apexNs.rdata.length === 0)
    throw invalid(
      `${where(0, RRType.NS)}the zone needs NS records at its apex ${origin} (RFC 1034 §4.2.1): they cannot all be removed`,
    );
  for (let i = 0; i < zone.nameCount; i++) {
    let cname = false;
    let other = -1;
    for (let s = c.firstSet[i]; s >= 0; s = c.setNext[s]) {
      const type = c.setType[s];
      let n = 0;
      for (let r = c.setFirst[s]; r >= 0; r = c.recNext[r]) n++;
      if (n > limits.maxRecordsPerRRset)
        throw invalid(
          `${where(i, type)}more than ${limits.maxRecordsPerRRset} records in the ${nameAt(zone, i)} ${typeToString(type)} RRset`,
        );
      if ((type === RRType.CNAME || type === RRType.DNAME) && n > 1)
        throw invalid(`${where(i, type)}${nameAt(zone, i)} can have only one ${typeToString(type)} record`);
      if (type === RRType.CNAME) cname = true;
      else if (!CNAME_COMPANIONS.has(type) && other < 0) other = type;
    }
    if (cname && other >= 0)
      throw invalid(
        `${where(i, other)}${nameAt(zone, i)} has a CNAME and other data (${typeToString(other)}): a CNAME must be alone at its name (RFC 1034 §3.6.2)`,
      );
  }
}

/** Name `i` of the zone as the content spells it. */
function nameAt(zone: ColumnZone, i: number): Name {
  return i === 0 ? zone.origin : Name.fromWire(zone.wireAt(i));
}

/** The content key (case-folded presentation form) of name `i`. */
function keyText(zone: ColumnZone, i: number): string {
  return nameKeyOf(nameAt(zone, i));
}

/** The zone's RRsets as content (records' canonical text; none disabled). */
function contentOfColumns(zone: ColumnZone): ZoneContent {
  const c = zone.columns();
  const slab = c.slab;
  const content: ZoneContent = new Map();
  for (let i = 0; i < zone.nameCount; i++) {
    if (c.firstSet[i] < 0) continue;
    const name = nameAt(zone, i);
    const text = name.toString();
    const folded = nameKeyOf(name);
    // One string for both when the name is spelled in lower case (the usual case).
    const nameKey = folded === text ? text : folded;
    for (let s = c.firstSet[i]; s >= 0; s = c.setNext[s]) {
      const type = c.setType[s];
      const records: RRsetState['records'] = [];
      for (let r = c.setFirst[s]; r >= 0; r = c.recNext[r])
        records.push({
          content: rdataToText(type, slab.subarray(c.recOff[r], c.recOff[r] + c.recLen[r])),
          disabled: false,
        });
      content.set(rrsetKey(nameKey, type), { name: text, nameKey, type, ttl: c.setTtl[s] >>> 0, records });
    }
  }
  return content;
}
