/**
 * The IXFR journal (RFC 1995): for each zone, the differences between its last few served
 * versions, bounded in versions and bytes, and the condensed difference from a client's serial
 * to the serial served.
 *
 * Where the differences come from (`switchboard start`): the primary reads each new version of
 * a zone as its diff against the version it held (the control plane's stored diffs,
 * `servedChanges`, which the image patches already use), turns it into the records removed and
 * added (`journalEntryFromChanges`, in the primary, bounded in characters), keeps them in its
 * own journal and sends each entry to every DNS worker (`switchboard:transfer-journal`; a
 * worker that starts gets the primary's journal whole). A DNS worker answers IXFR from its
 * journal without asking anyone: the tenants' queries never wait on the control plane.
 *
 * Rules:
 * - an entry links serial `from` to serial `to` (`to` after `from` in RFC 1982 terms); an
 *   entry whose `from` is not the zone's last `to` starts the zone's journal afresh (the
 *   history was broken: a restore, an import read whole, a zone re-created, a worker that
 *   restarted mid-way);
 * - a new serial not after the previous one (a rollback or import carrying a lower serial)
 *   resets the zone's journal: clients then get a full transfer (AXFR form inside the IXFR
 *   response, RFC 1995 §4) — or one SOA when RFC 1982 says they are ahead, as BIND, NSD and Knot
 *   answer: the operator bumps the serial past theirs;
 * - oldest entries are dropped beyond `maxVersions` or `maxZoneBytes` per zone, and whole
 *   journals of the zones changed least recently beyond `maxTotalBytes`.
 * @module
 */
import { RRClass, RRType } from '../wire/constants.js';
import type { RR } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { readSoa } from '../wire/rdata.js';

/** Default versions kept per zone. */
export const DEFAULT_JOURNAL_VERSIONS = 100;
/** Default bytes (record wire size) kept per zone. */
export const DEFAULT_JOURNAL_ZONE_BYTES = 1 << 20;
/** Default bytes kept in total (per process). */
export const DEFAULT_JOURNAL_TOTAL_BYTES = 64 << 20;

export interface JournalLimits {
  maxVersions?: number;
  maxZoneBytes?: number;
  maxTotalBytes?: number;
}

/** What the journal needs of an entry. */
export interface JournalItem {
  from: number;
  to: number;
  bytes: number;
}

/** One version's difference, as records. */
export interface JournalEntry extends JournalItem {
  /** The SOA of version `from` and of version `to`. */
  fromSoa: RR;
  toSoa: RR;
  /** Records removed and added (SOA excluded). */
  del: RR[];
  add: RR[];
}

/** A zone's condensed difference between two serials. */
export interface Difference {
  fromSoa: RR;
  toSoa: RR;
  del: RR[];
  add: RR[];
}

/** Zone → its last differences, oldest first; bounded (see the module's rules). */
export class BoundedJournal<E extends JournalItem> {
  readonly maxVersions: number;
  readonly maxZoneBytes: number;
  readonly maxTotalBytes: number;
  /** In order of last change (the first is the least recently changed). */
  readonly #zones = new Map<string, { entries: E[]; bytes: number }>();
  #bytes = 0;

  constructor(limits: JournalLimits = {}) {
    this.maxVersions = limits.maxVersions ?? DEFAULT_JOURNAL_VERSIONS;
    this.maxZoneBytes = limits.maxZoneBytes ?? DEFAULT_JOURNAL_ZONE_BYTES;
    this.maxTotalBytes = limits.maxTotalBytes ?? DEFAULT_JOURNAL_TOTAL_BYTES;
  }

  /** Bytes held (all zones). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Zones with a journal. */
  get size(): number {
    return this.#zones.size;
  }

  /** Adds `entry` to `zone`'s journal (see the module's rules); false when it reset instead. */
  append(zone: string, entry: E): boolean {
    let j = this.#zones.get(zone);
    const last = j?.entries[j.entries.length - 1];
    const linked = last === undefined || last.to === entry.from;
    if (!serialBehind(entry.from, entry.to) || entry.bytes > this.maxZoneBytes || this.maxVersions < 1) {
      this.reset(zone);
      return false;
    }
    if (!linked) this.reset(zone);
    j = this.#zones.get(zone);
    if (j === undefined) j = { entries: [], bytes: 0 };
    else this.#zones.delete(zone);
    this.#zones.set(zone, j);
    j.entries.push(entry);
    j.bytes += entry.bytes;
    this.#bytes += entry.bytes;
    while (j.entries.length > this.maxVersions || j.bytes > this.maxZoneBytes) {
      const old = j.entries.shift() as E;
      j.bytes -= old.bytes;
      this.#bytes -= old.bytes;
    }
    for (const name of this.#zones.keys()) {
      if (this.#bytes <= this.maxTotalBytes || name === zone) break;
      this.reset(name);
    }
    return true;
  }

  /** Forgets `zone`'s journal. */
  reset(zone: string): void {
    const j = this.#zones.get(zone);
    if (j === undefined) return;
    this.#bytes -= j.bytes;
    this.#zones.delete(zone);
  }

  /** The entries leading from serial `from` to serial `to`, or undefined when the journal cannot. */
  chain(zone: string, from: number, to: number): E[] | undefined {
    const entries = this.#zones.get(zone)?.entries;
    if (entries === undefined) return undefined;
    const start = entries.findIndex((e) => e.from === from);
    if (start < 0) return undefined;
    const out: E[] = [];
    for (let i = start; i < entries.length; i++) {
      out.push(entries[i]);
      if (entries[i].to === to) return out;
    }
    return undefined;
  }

  /** Every entry of every zone, oldest first per zone (a worker that starts). */
  *entries(): Generator<[string, E]> {
    for (const [zone, j] of this.#zones) for (const e of j.entries) yield [zone, e];
  }
}

/** Identity of a record in a difference: owner, type, TTL and data (a TTL change is a del + an add). */
function recordKey(rr: RR): string {
  return `${rr.name.key}|${rr.type}|${rr.ttl}|${Buffer.from(rr.rdata.buffer, rr.rdata.byteOffset, rr.rdata.byteLength).toString('latin1')}`;
}

/**
 * The condensed difference of consecutive entries (RFC 1995 §5 allows it): a record removed and
 * added back in between (same TTL) appears in neither list, one added and removed later neither.
 */
export function condense(entries: readonly JournalEntry[]): Difference {
  if (entries.length === 0) throw new RangeError('condense: no entries');
  const del = new Map<string, RR>();
  const add = new Map<string, RR>();
  for (const e of entries) {
    for (const rr of e.del) {
      const k = recordKey(rr);
      if (add.has(k)) add.delete(k);
      else del.set(k, rr);
    }
    for (const rr of e.add) {
      const k = recordKey(rr);
      if (del.has(k)) del.delete(k);
      else add.set(k, rr);
    }
  }
  return {
    fromSoa: entries[0].fromSoa,
    toSoa: entries[entries.length - 1].toSoa,
    del: [...del.values()],
    add: [...add.values()],
  };
}

/** Wire size of a record written uncompressed (what the journal's byte bound counts). */
export function recordBytes(rr: RR): number {
  return rr.name.wire.length + 10 + rr.rdata.length;
}

/** RFC 1982: is serial `a` before `b`? (-1: unreadable, always behind.) */
export function serialBehind(a: number, b: number): boolean {
  if (a < 0) return true;
  if (a === b) return false;
  const d = (b - a) >>> 0;
  return d > 0 && d < 0x80000000;
}

/** Default characters of RRset text a change may carry to be journaled (else: history reset). */
export const DEFAULT_JOURNAL_STEP_CHARS = 512 * 1024;

/** A record as the journal messages carry it: wire name (latin1), type, TTL, rdata (base64). */
export type WireRecord = [name: string, type: number, ttl: number, rdata: string];

/** A journal entry as the primary keeps it and sends it to the DNS workers. */
export interface WireJournalEntry extends JournalItem {
  fromSoa: WireRecord;
  toSoa: WireRecord;
  del: WireRecord[];
  add: WireRecord[];
}

/** One RRset's served lines then (`was`) and now (`text`), as a change carries them. */
export interface RRsetChangeText {
  type: number;
  text: string;
  was?: string;
}

/**
 * The journal entry of one change of zone `origin` from serial `from` to `to`: the records of
 * each changed RRset then and now, compared (a TTL change removes and adds). undefined when
 * the change cannot be journaled: no `was` (an older primary), more than `maxChars` of text,
 * text that does not parse, or SOAs that do not carry the two serials.
 */
export function journalEntryFromChanges(
  origin: Name,
  from: number,
  to: number,
  changes: readonly RRsetChangeText[],
  parse: (text: string, origin: Name) => RR[],
  maxChars = DEFAULT_JOURNAL_STEP_CHARS,
): WireJournalEntry | undefined {
  let chars = 0;
  for (const c of changes) {
    if (c.was === undefined) return undefined;
    chars += c.was.length + c.text.length;
    if (chars > maxChars) return undefined;
  }
  let fromSoa: WireRecord | undefined;
  let toSoa: WireRecord | undefined;
  const del: WireRecord[] = [];
  const add: WireRecord[] = [];
  let bytes = 0;
  for (const c of changes) {
    let before: RR[];
    let after: RR[];
    try {
      before = c.was ? parse(c.was, origin) : [];
      after = c.text ? parse(c.text, origin) : [];
    } catch {
      return undefined;
    }
    if (c.type === RRType.SOA) {
      if (before.length !== 1 || after.length !== 1) return undefined;
      if (soaSerial(before[0]) !== from || soaSerial(after[0]) !== to) return undefined;
      fromSoa = toWire(before[0]);
      toSoa = toWire(after[0]);
      bytes += recordBytes(before[0]) + recordBytes(after[0]);
      continue;
    }
    const then = new Map(before.map((rr) => [recordKey(rr), rr]));
    const now = new Map(after.map((rr) => [recordKey(rr), rr]));
    for (const [k, rr] of then)
      if (!now.has(k)) {
        del.push(toWire(rr));
        bytes += recordBytes(rr);
      }
    for (const [k, rr] of now)
      if (!then.has(k)) {
        add.push(toWire(rr));
        bytes += recordBytes(rr);
      }
  }
  if (fromSoa === undefined || toSoa === undefined) return undefined;
  return { from, to, bytes, fromSoa, toSoa, del, add };
}

function soaSerial(rr: RR): number {
  try {
    return readSoa(rr.rdata).serial;
  } catch {
    return -1;
  }
}

function toWire(rr: RR): WireRecord {
  return [rr.name.wire, rr.type, rr.ttl, Buffer.from(rr.rdata).toString('base64')];
}

function fromWire(r: WireRecord): RR {
  return {
    name: Name.fromWire(r[0]),
    type: r[1],
    class: RRClass.IN,
    ttl: r[2],
    rdata: new Uint8Array(Buffer.from(r[3], 'base64')),
  };
}

/** A received entry as records (a DNS worker; the primary checked it). */
export function entryFromWire(e: WireJournalEntry): JournalEntry {
  return {
    from: e.from,
    to: e.to,
    bytes: e.bytes,
    fromSoa: fromWire(e.fromSoa),
    toSoa: fromWire(e.toSoa),
    del: e.del.map(fromWire),
    add: e.add.map(fromWire),
  };
}
