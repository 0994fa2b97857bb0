/**
 * A zone kept as columns for compiling big zones: the same names, RRsets, flags, record count
 * and warnings as `Zone.build` gives for the same records, but held as typed arrays (per name:
 * its wire form, flags and a list of RRsets; per RRset: type, TTL and a list of records; per
 * record: an offset into one RDATA slab) instead of a graph of JS objects. A `ZoneNode` is
 * made when a name is looked up (`nodes.get`) or walked (`nodes.values()`) and dropped again:
 * the last 1,024 looked up stay cached (two generations of 512), so one answer or one check
 * sees the same node, and the same RRset objects, for one name.
 *
 * Why: a 1,000,000-record `Zone` is ~350 MB of small objects that every full garbage
 * collection of the compile thread walks (a third of the compile was GC); the columns are a
 * few large arrays the collector does not look into. `checkZone` and `compileZone` read a
 * ColumnZone as they read a Zone, so findings and image octets are the same (tests:
 * column-zone.test.ts, src/image/compile-identity.test.ts).
 * @module
 */

import { RRType } from '../wire/constants.js';
import { WireFormatError } from '../wire/errors.js';
import type { RR } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { readSoa, type Soa } from '../wire/rdata.js';
import { nameLengthAt } from '../wire/rdata-wire.js';
import { NodeFlag, type RRset, ZoneBuildError, ZoneNode, type ZoneWarning } from './zone.js';

/**
 * Nodes looked up (`nodes.get`) are cached in two generations of this many each: enough for
 * one answer or one check to see one object per name, few enough that they die young (a
 * bigger cache had nodes survive two scavenges and fill the old generation with garbage).
 */
const GENERATION = 512;

/** A growable Int32Array column. */
function grow32(a: Int32Array<ArrayBuffer>, need: number): Int32Array<ArrayBuffer> {
  if (need <= a.length) return a;
  let n = a.length * 2;
  while (n < need) n *= 2;
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

/** FNV-1a (32 bits) of a key's octets (a latin1 string: one octet a char). */
function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h;
}

/**
 * Key → name index of a ColumnZone: open addressing (linear probing) over one Int32Array,
 * two words a slot (the name index + 1, 0 = empty; the key's hash), the keys themselves in
 * one array by name index (insertion order = Zone.build's). A `Map` of ~600,000 string keys
 * cost the column build about a µs an operation; here a lookup is one hash of the key's
 * octets, a probe in one typed array (a slot's index and hash share a cache line) and one
 * string comparison only when the hashes are equal. At most 3/4 full.
 */
export class NameTable {
  /** Keys by name index. */
  readonly keys: string[] = [];
  #slots: Int32Array;
  #mask: number;

  /** `expect`: names expected (the table starts big enough for them, then doubles). */
  constructor(expect = 1024) {
    let cap = 1024;
    while (cap * 3 < expect * 4 && cap < 1 << 27) cap *= 2;
    this.#slots = new Int32Array(cap * 2);
    this.#mask = cap - 1;
  }

  get size(): number {
    return this.keys.length;
  }

  /** The name index of `key`, or -1 (then `add(key)` takes the free slot found here). */
  find(key: string): number {
    const h = hashKey(key);
    const slots = this.#slots;
    const mask = this.#mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = slots[i * 2];
      if (v === 0) {
        this.#missKey = key;
        this.#missSlot = i;
        this.#missHash = h;
        return -1;
      }
      if (slots[i * 2 + 1] === h && this.keys[v - 1] === key) return v - 1;
    }
  }

  /** The last key `find` did not find, and the free slot and hash it ended at. */
  #missKey: string | undefined;
  #missSlot = 0;
  #missHash = 0;

  /** Adds `key` (not in the table) as the next name index, which it returns. */
  add(key: string): number {
    const i = this.keys.length;
    this.keys.push(key);
    if (this.keys.length * 4 > (this.#mask + 1) * 3) this.#grow();
    else if (key === this.#missKey) {
      this.#slots[this.#missSlot * 2] = i + 1;
      this.#slots[this.#missSlot * 2 + 1] = this.#missHash;
    } else this.#put(i + 1, hashKey(key));
    this.#missKey = undefined;
    return i;
  }

  #put(value: number, h: number): void {
    const slots = this.#slots;
    const mask = this.#mask;
    let i = h & mask;
    while (slots[i * 2] !== 0) i = (i + 1) & mask;
    slots[i * 2] = value;
    slots[i * 2 + 1] = h;
  }

  #grow(): void {
    const cap = (this.#mask + 1) * 2;
    this.#slots = new Int32Array(cap * 2);
    this.#mask = cap - 1;
    const keys = this.keys;
    for (let i = 0; i < keys.length; i++) this.#put(i + 1, hashKey(keys[i]));
  }
}

/** `ColumnZone.columns()`: the typed arrays a ColumnZone is made of. */
export interface ZoneColumns {
  readonly flags: Uint8Array;
  readonly firstSet: Int32Array;
  readonly setType: Int32Array;
  readonly setTtl: Int32Array;
  readonly setNext: Int32Array;
  readonly setFirst: Int32Array;
  readonly recOff: Int32Array;
  readonly recLen: Int32Array;
  readonly recNext: Int32Array;
  readonly slab: Uint8Array;
}

/** The names of a ColumnZone, read as `Zone.nodes` is (a Map from key to node). */
export class ColumnNodes {
  readonly #zone: ColumnZone;
  constructor(zone: ColumnZone) {
    this.#zone = zone;
  }

  /** Names in the zone, empty non-terminals included. */
  get size(): number {
    return this.#zone.nameCount;
  }

  /** The node at `key` (a case-folded wire name), made now or taken from the cache. */
  get(key: string): ZoneNode | undefined {
    const i = this.#zone._index.find(key);
    return i < 0 ? undefined : this.#zone.nodeAt(i);
  }

  has(key: string): boolean {
    return this.#zone._index.find(key) >= 0;
  }

  /** Keys in the order `Zone.build` would have inserted them. */
  keys(): IterableIterator<string> {
    return this.#zone._index.keys.values();
  }

  /**
   * Nodes in the order `Zone.build` would have inserted them, each made as it is reached
   * (not cached: a walk over every name would only push the looked-up ones out).
   */
  *values(): IterableIterator<ZoneNode> {
    const n = this.#zone.nameCount;
    for (let i = 0; i < n; i++) yield this.#zone.nodeAt(i, false);
  }
}

/** A zone held as columns (see the module comment). Build with `ColumnZone.build`. */
export class ColumnZone {
  readonly origin: Name;
  readonly class: number;
  readonly nodes: ColumnNodes;
  readonly apex: ZoneNode;
  readonly soa: RRset;
  readonly recordCount: number;
  readonly warnings: readonly ZoneWarning[];
  readonly #serial: number;
  readonly #minimum: number;
  #soaData: Soa | undefined;

  /** @internal key → name index (insertion order = Zone.build's). */
  readonly _index: NameTable;
  /** Per name: its wire form (the spelling of the Name that made it, as Zone.build keeps). */
  readonly #wires: string[];
  readonly #flags: Uint8Array;
  readonly #firstSet: Int32Array;
  /** Per RRset: type, TTL, next RRset of its name, first record. */
  readonly #setType: Int32Array;
  readonly #setTtl: Int32Array;
  readonly #setNext: Int32Array;
  readonly #setFirst: Int32Array;
  /** Per record: RDATA offset and length in the slab, next record of its RRset. */
  readonly #recOff: Int32Array;
  readonly #recLen: Int32Array;
  readonly #recNext: Int32Array;
  readonly #slab: Uint8Array;
  #cur = new Map<number, ZoneNode>();
  #old = new Map<number, ZoneNode>();
  #lastIndex = -1;
  #lastNode: ZoneNode | undefined;

  private constructor(b: Builder, origin: Name, cls: number) {
    this.origin = origin;
    this.class = cls;
    this._index = b.index;
    this.#wires = b.wires;
    this.#flags = b.flags.subarray(0, b.names);
    this.#firstSet = b.firstSet;
    this.#setType = b.setType;
    this.#setTtl = b.setTtl;
    this.#setNext = b.setNext;
    this.#setFirst = b.setFirst;
    this.#recOff = b.recOff;
    this.#recLen = b.recLen;
    this.#recNext = b.recNext;
    this.#slab = b.slab;
    this.recordCount = b.count;
    this.warnings = b.warnings;
    this.nodes = new ColumnNodes(this);
    // What the Zone constructor checks, with its messages.
    const apex = this.#make(0);
    const soa = apex.get(RRType.SOA);
    if (!soa) throw new ZoneBuildError(`zone ${origin} has no SOA record at its apex`);
    if (soa.rdata.length !== 1)
      throw new ZoneBuildError(`zone ${origin} has ${soa.rdata.length} SOA records`);
    this.apex = apex;
    this.soa = soa;
    const rd = soa.rdata[0];
    const mlen = nameLengthAt(rd, 0);
    const p = mlen + nameLengthAt(rd, mlen);
    if (p + 20 !== rd.length) throw new WireFormatError('DNS_ERR_RDATA', 'SOA RDATA: bad length');
    this.#serial = ((rd[p] << 24) | (rd[p + 1] << 16) | (rd[p + 2] << 8) | rd[p + 3]) >>> 0;
    this.#minimum = ((rd[p + 16] << 24) | (rd[p + 17] << 16) | (rd[p + 18] << 8) | rd[p + 19]) >>> 0;
  }

  /** Names in the zone, empty non-terminals included. */
  get nameCount(): number {
    return this.#wires.length;
  }

  /** SOA serial. */
  get serial(): number {
    return this.#serial;
  }

  /** SOA MINIMUM (RFC 2308 §5), as `Zone.soaMinimum`. */
  get soaMinimum(): number {
    return this.#minimum;
  }

  /** The apex SOA's fields. */
  get soaData(): Soa {
    this.#soaData ??= readSoa(this.soa.rdata[0]);
    return this.#soaData;
  }

  /** The node at exactly `name`, if it exists (ENTs included). */
  get(name: Name): ZoneNode | undefined {
    return this.nodes.get(name.key);
  }

  /** The case-folded key of name `i`. */
  keyAt(i: number): string {
    return i === 0 ? this.origin.key : this._index.keys[i];
  }

  /** The wire form (spelling kept) of name `i`. */
  wireAt(i: number): string {
    return this.#wires[i];
  }

  /**
   * The columns themselves, for a writer that reads every name once in an order of its own
   * (the image compiler's layout): per name `flags` and `firstSet`; per RRset `setType`,
   * `setTtl`, `setNext`, `setFirst`; per record `recOff`, `recLen` (in `slab`), `recNext`;
   * -1 ends a list. Read only.
   */
  columns(): ZoneColumns {
    return {
      flags: this.#flags,
      firstSet: this.#firstSet,
      setType: this.#setType,
      setTtl: this.#setTtl,
      setNext: this.#setNext,
      setFirst: this.#setFirst,
      recOff: this.#recOff,
      recLen: this.#recLen,
      recNext: this.#recNext,
      slab: this.#slab,
    };
  }

  /** RRsets and Σ (2 + RDATA length) over all records: the sizes an image's sections take. */
  totals(): { rrsets: number; rdataOctets: number } {
    let rrsets = 0;
    let octets = 0;
    const n = this.#wires.length;
    for (let i = 0; i < n; i++)
      for (let s = this.#firstSet[i]; s >= 0; s = this.#setNext[s]) {
        rrsets++;
        for (let r = this.#setFirst[s]; r >= 0; r = this.#recNext[r]) octets += 2 + this.#recLen[r];
      }
    return { rrsets, rdataOctets: octets };
  }

  /**
   * The node of name index `i`: the same object while it stays in the cache; with `cache`
   * false, the cached one or a new one that is not cached (a walk over all names).
   */
  nodeAt(i: number, cache = true): ZoneNode {
    if (i === 0) return this.apex ?? this.#make(0);
    let node = this.#cur.get(i);
    if (node !== undefined) return node;
    node = this.#old.get(i);
    if (node === undefined) {
      // The node made last (a walk's current name, looked up again by its own checks: an MX
      // naming its own owner) is not made twice.
      if (i === this.#lastIndex) node = this.#lastNode as ZoneNode;
      else {
        node = this.#make(i);
        this.#lastIndex = i;
        this.#lastNode = node;
      }
      if (!cache) return node;
    }
    if (this.#cur.size >= GENERATION) {
      this.#old = this.#cur;
      this.#cur = new Map();
    }
    this.#cur.set(i, node);
    return node;
  }

  #make(i: number): ZoneNode {
    const name = i === 0 ? this.origin : Name.fromWire(this.#wires[i]);
    const sets: RRset[] = [];
    const buf = this.#slab.buffer;
    const base = this.#slab.byteOffset;
    for (let s = this.#firstSet[i]; s >= 0; s = this.#setNext[s]) {
      const rdata: Uint8Array[] = [];
      for (let r = this.#setFirst[s]; r >= 0; r = this.#recNext[r])
        rdata.push(new Uint8Array(buf, base + this.#recOff[r], this.#recLen[r]));
      sets.push({ name, type: this.#setType[s], class: this.class, ttl: this.#setTtl[s] >>> 0, rdata });
    }
    const node = new ZoneNode(name, sets);
    node.flags = this.#flags[i];
    return node;
  }

  /** Every record (no order guaranteed, as `Zone.records`). */
  *records(): IterableIterator<RR> {
    for (const node of this.nodes.values())
      for (const set of node.rrsets)
        for (const rdata of set.rdata)
          yield { name: set.name, type: set.type, class: set.class, ttl: set.ttl, rdata };
  }

  /**
   * Builds a zone from records as `Zone.build(origin, records, cls)` does: the same RRsets
   * (duplicates dropped, the first record's TTL), the same names (empty non-terminals
   * included), flags and warnings, in the same order. Throws as `Zone.build` does.
   */
  static build(origin: Name, records: Iterable<RR>, cls = 1): ColumnZone {
    const stream = new ColumnZoneStream();
    for (const rr of records) stream.add(rr, origin);
    return stream.finish(origin, cls);
  }

  /** @internal made by ColumnZoneStream.finish. */
  static _fromBuilder(b: Builder, origin: Name, cls: number): ColumnZone {
    return new ColumnZone(b, origin, cls);
  }
}

/**
 * `ColumnZone.build` fed one record at a time, as the parser makes them (`ParseOptions.sink`):
 * no list of a big zone's records is kept. Also keeps what the record-level checks and the
 * error locator read of the list: the first record, every SOA record, and each record's
 * owner key and type.
 */
export class ColumnZoneStream {
  #b: Builder | undefined;
  /** Records expected (a hint: the columns start at about this size, then grow as needed). */
  readonly #expect: number;
  /** Records given before the zone's origin was known (kept, built at `finish`). */
  #early: RR[] | undefined;
  #lastName: Name | undefined;
  #lastInZone = false;
  /** The first record, then every SOA record, in order: `checkRecords` finds the same in them. */
  readonly checkList: RR[] = [];
  #first = true;
  /** Per record (in order): its owner's key and its type (for locating findings). */
  readonly keys: string[] = [];
  types: Int32Array<ArrayBuffer>;

  /**
   * `expect`: about how many records will come (`expectedRecords` of the text): the columns
   * are made that big at once instead of grown by doubling (each doubling a copy of every
   * column). Only a hint: a wrong guess costs a regrowth or some zeroed, never-touched pages.
   */
  constructor(expect = 0) {
    this.#expect = Math.min(Math.max(expect | 0, 1024), 1 << 26);
    this.types = new Int32Array(this.#expect);
  }

  /** One record; `origin`: the zone's origin if known yet. */
  add(rr: RR, origin: Name | undefined): void {
    const n = this.keys.length;
    this.keys.push(rr.name.key);
    if (n >= this.types.length) this.types = grow32(this.types, n + 1);
    this.types[n] = rr.type;
    if (this.#first || rr.type === RRType.SOA) {
      this.#first = false;
      this.checkList.push(rr);
    }
    if (origin === undefined || this.#early !== undefined) {
      this.#early ??= [];
      this.#early.push(rr);
      return;
    }
    this.#b ??= new Builder(origin, rr.class, this.#expect);
    this.#add(this.#b, rr);
  }

  #add(b: Builder, rr: RR): void {
    const origin = b.origin;
    if (rr.name !== this.#lastName) {
      this.#lastName = rr.name;
      this.#lastInZone = rr.name.isSubdomainOf(origin);
    }
    if (!this.#lastInZone) {
      b.warnings.push({ name: rr.name.toString(), message: `out of zone data ignored (zone ${origin})` });
      return;
    }
    if (rr.class !== b.cls) {
      b.warnings.push({ name: rr.name.toString(), message: 'record of another class ignored' });
      return;
    }
    b.add(rr);
  }

  /** The zone, as `Zone.build(origin, records, cls)` makes it. Throws as it does. */
  finish(origin: Name, cls: number): ColumnZone {
    let b = this.#b;
    if (b !== undefined && (b.origin.key !== origin.key || b.cls !== cls))
      throw new Error(`internal: records were built under ${b.origin}, the zone is ${origin}`);
    if (b === undefined) {
      b = new Builder(origin, cls, this.#expect);
      this.#lastName = undefined;
      for (const rr of this.#early ?? []) this.#add(b, rr);
      this.#early = undefined;
    }
    b.adjust(origin);
    return ColumnZone._fromBuilder(b, origin, cls);
  }
}

/** The columns under construction (`ColumnZone.build`). */
class Builder {
  readonly index: NameTable;
  readonly wires: string[] = [];
  names = 0;
  flags: Uint8Array<ArrayBuffer>;
  firstSet: Int32Array<ArrayBuffer>;
  lastSet: Int32Array<ArrayBuffer>;
  sets = 0;
  setType: Int32Array<ArrayBuffer>;
  setTtl: Int32Array<ArrayBuffer>;
  setNext: Int32Array<ArrayBuffer>;
  setFirst: Int32Array<ArrayBuffer>;
  setLast: Int32Array<ArrayBuffer>;
  setCount: Int32Array<ArrayBuffer>;
  recs = 0;
  recOff: Int32Array<ArrayBuffer>;
  recLen: Int32Array<ArrayBuffer>;
  recNext: Int32Array<ArrayBuffer>;
  slab: Uint8Array<ArrayBuffer>;
  used = 0;
  count = 0;
  readonly warnings: ZoneWarning[] = [];
  /** Octet keys of big RRsets' RDATA (Zone.build's duplicate test, linear for big RRsets). */
  readonly #seen = new Map<number, Set<string>>();
  readonly #originKey: string;
  #lastOwner: Name | undefined;
  #lastNode: number | undefined;
  readonly origin: Name;
  readonly cls: number;

  /** `expect`: records expected (at least 1,024): every column starts that long. */
  constructor(origin: Name, cls: number, expect = 1024) {
    this.origin = origin;
    this.cls = cls;
    this.#originKey = origin.key;
    // Names: about half the records in a big zone (the table doubles past that).
    this.index = new NameTable(expect >> 1);
    // A name or an RRset per record at most; RDATA ~16 octets a record on average (the
    // slab grows by doubling past that).
    this.flags = new Uint8Array(expect);
    this.firstSet = new Int32Array(expect);
    this.lastSet = new Int32Array(expect);
    this.setType = new Int32Array(expect);
    this.setTtl = new Int32Array(expect);
    this.setNext = new Int32Array(expect);
    this.setFirst = new Int32Array(expect);
    this.setLast = new Int32Array(expect);
    this.setCount = new Int32Array(expect);
    this.recOff = new Int32Array(expect);
    this.recLen = new Int32Array(expect);
    this.recNext = new Int32Array(expect);
    this.slab = new Uint8Array(Math.max(64 * 1024, expect * 16));
    this.#name(origin.key, origin.wire);
  }

  #name(key: string, wire: string): number {
    const i = this.names++;
    if (i >= this.flags.length) {
      const f = new Uint8Array(this.flags.length * 2);
      f.set(this.flags);
      this.flags = f;
    }
    if (i >= this.firstSet.length) {
      this.firstSet = grow32(this.firstSet, i + 1);
      this.lastSet = grow32(this.lastSet, i + 1);
    }
    this.firstSet[i] = -1;
    this.lastSet[i] = -1;
    this.wires.push(wire);
    this.index.add(key);
    return i;
  }

  #findSet(node: number, type: number): number {
    for (let s = this.firstSet[node]; s >= 0; s = this.setNext[s]) if (this.setType[s] === type) return s;
    return -1;
  }

  #record(set: number, rdata: Uint8Array): void {
    const r = this.recs++;
    if (r >= this.recOff.length) {
      this.recOff = grow32(this.recOff, r + 1);
      this.recLen = grow32(this.recLen, r + 1);
      this.recNext = grow32(this.recNext, r + 1);
    }
    const n = rdata.length;
    if (this.used + n > this.slab.length) {
      let size = this.slab.length * 2;
      while (size < this.used + n) size *= 2;
      const s = new Uint8Array(size);
      s.set(this.slab.subarray(0, this.used));
      this.slab = s;
    }
    const at = this.used;
    const slab = this.slab;
    if (n <= 32) for (let k = 0; k < n; k++) slab[at + k] = rdata[k];
    else slab.set(rdata, at);
    this.used = at + n;
    this.recOff[r] = at;
    this.recLen[r] = n;
    this.recNext[r] = -1;
    const last = this.setLast[set];
    if (last < 0) this.setFirst[set] = r;
    else this.recNext[last] = r;
    this.setLast[set] = r;
    this.setCount[set]++;
    this.count++;
  }

  #newSet(node: number, type: number, ttl: number): number {
    const s = this.sets++;
    if (s >= this.setType.length) {
      this.setType = grow32(this.setType, s + 1);
      this.setTtl = grow32(this.setTtl, s + 1);
      this.setNext = grow32(this.setNext, s + 1);
      this.setFirst = grow32(this.setFirst, s + 1);
      this.setLast = grow32(this.setLast, s + 1);
      this.setCount = grow32(this.setCount, s + 1);
    }
    this.setType[s] = type;
    this.setTtl[s] = ttl;
    this.setNext[s] = -1;
    this.setFirst[s] = -1;
    this.setLast[s] = -1;
    this.setCount[s] = 0;
    const last = this.lastSet[node];
    if (last < 0) this.firstSet[node] = s;
    else this.setNext[last] = s;
    this.lastSet[node] = s;
    return s;
  }

  /** True when the RRset already holds `rdata` (Zone.build's isDuplicate). */
  #isDuplicate(set: number, rdata: Uint8Array): boolean {
    const slab = this.slab;
    if (this.setCount[set] < 16) {
      const n = rdata.length;
      outer: for (let r = this.setFirst[set]; r >= 0; r = this.recNext[r]) {
        if (this.recLen[r] !== n) continue;
        const at = this.recOff[r];
        for (let k = 0; k < n; k++) if (slab[at + k] !== rdata[k]) continue outer;
        return true;
      }
      return false;
    }
    let keys = this.#seen.get(set);
    if (!keys) {
      keys = new Set();
      for (let r = this.setFirst[set]; r >= 0; r = this.recNext[r])
        keys.add(
          Buffer.from(slab.buffer, slab.byteOffset + this.recOff[r], this.recLen[r]).toString('latin1'),
        );
      this.#seen.set(set, keys);
    }
    const k = Buffer.from(rdata.buffer, rdata.byteOffset, rdata.length).toString('latin1');
    if (keys.has(k)) return true;
    keys.add(k);
    return false;
  }

  /** One record of the zone's class, at or under the origin. */
  add(rr: RR): void {
    // The parser hands one Name to a run of records of one owner: looked up once per run.
    const found = rr.name === this.#lastOwner ? (this.#lastNode as number) : this.index.find(rr.name.key);
    const node = found < 0 ? undefined : found;
    const set = node === undefined ? -1 : this.#findSet(node, rr.type);
    if (set < 0) {
      if (node !== undefined) this.#record(this.#newSet(node, rr.type, rr.ttl), rr.rdata);
      else {
        const i = this.#name(rr.name.key, rr.name.wire);
        this.#record(this.#newSet(i, rr.type, rr.ttl), rr.rdata);
        this.#ancestors(rr.name.key, rr.name.wire);
        this.#lastNode = i;
      }
      this.#lastOwner = rr.name;
      if (node !== undefined) this.#lastNode = node;
      return;
    }
    this.#lastOwner = rr.name;
    this.#lastNode = node;
    if (this.#isDuplicate(set, rr.rdata)) {
      this.warnings.push({ name: rr.name.toString(), message: `duplicate ${rr.type} record ignored` });
      return;
    }
    // RFC 4034 §3: RRSIGs at one name legitimately differ in TTL (Zone.build).
    const ttl = this.setTtl[set] >>> 0;
    if (ttl !== rr.ttl && rr.type !== RRType.RRSIG)
      this.warnings.push({
        name: rr.name.toString(),
        message: `TTL ${rr.ttl} differs from the RRset's TTL ${ttl}; using ${ttl}`,
      });
    this.#record(set, rr.rdata);
  }

  /** The empty non-terminals between a new name and the origin (Zone.build's addAncestors). */
  #ancestors(key: string, wire: string): void {
    const origin = this.#originKey;
    while (key !== origin) {
      const skip = key.charCodeAt(0) + 1;
      const wild = key.charCodeAt(0) === 1 && key.charCodeAt(1) === 0x2a;
      if (key.length - skip === origin.length) {
        // The parent is the origin (every name here lies at or under it): name 0, no slice
        // to make and hash.
        this.flags[0] |= NodeFlag.HAS_CHILDREN | (wild ? NodeFlag.WILDCARD_CHILD : 0);
        return;
      }
      const parentKey = key.slice(skip);
      const existing = this.index.find(parentKey);
      if (existing >= 0) {
        this.flags[existing] |= NodeFlag.HAS_CHILDREN | (wild ? NodeFlag.WILDCARD_CHILD : 0);
        return;
      }
      const parentWire = wire.slice(skip);
      const p = this.#name(parentKey, parentWire);
      this.flags[p] |= NodeFlag.HAS_CHILDREN | (wild ? NodeFlag.WILDCARD_CHILD : 0);
      key = parentKey;
      wire = parentWire;
    }
  }

  /** Delegations, DNAMEs and what lies below them (Zone.build's adjust). */
  adjust(origin: Name): void {
    let cuts = 0;
    for (let i = 0; i < this.names; i++) {
      if (i !== 0 && this.#findSet(i, RRType.NS) >= 0) {
        this.flags[i] |= NodeFlag.DELEGATION;
        cuts++;
      }
      if (this.#findSet(i, RRType.DNAME) >= 0) {
        this.flags[i] |= NodeFlag.DNAME;
        cuts++;
      }
    }
    if (cuts === 0) return;
    const originKey = origin.key;
    const keys = this.index.keys;
    for (let i = 0; i < keys.length; i++) {
      let k = keys[i];
      while (k !== originKey) {
        const skip = k.charCodeAt(0) + 1;
        // The origin's length: the origin itself (every key lies at or under it), name 0.
        const atOrigin = k.length - skip === originKey.length;
        k = atOrigin ? originKey : k.slice(skip);
        const anc = atOrigin ? 0 : this.index.find(k);
        // RFC 6672 §2.4: nothing may exist below a DNAME, the apex's included.
        const mask = k === originKey ? NodeFlag.DNAME : NodeFlag.DELEGATION | NodeFlag.DNAME;
        if (anc >= 0 && (this.flags[anc] & mask) !== 0) {
          this.flags[i] |= NodeFlag.BELOW_CUT;
          break;
        }
      }
    }
  }
}
