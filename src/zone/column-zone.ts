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
import type { RR } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { readSoa, type Soa } from '../wire/rdata.js';
import { RdataSlab } from './rdata-slab.js';
import { apexSoa, NodeFlag, type RRset, ZoneNode, type ZoneWarning } from './zone.js';

/**
 * Nodes looked up (`nodes.get`) are cached in two generations of this many each: enough for
 * one answer or one check to see one object per name, few enough that they die young (a
 * bigger cache had nodes survive two scavenges and fill the old generation with garbage).
 */
const GENERATION = 512;

/**
 * The columns live in SharedArrayBuffers (made so for a split compile over two threads, since
 * removed: it gave no earlier answer; they cost nothing measurable against plain buffers).
 */
function i32(n: number): Int32Array<SharedArrayBuffer> {
  return new Int32Array(new SharedArrayBuffer(n * 4));
}
function u8(n: number): Uint8Array<SharedArrayBuffer> {
  return new Uint8Array(new SharedArrayBuffer(n));
}

/** A growable Int32Array column. */
function grow32(a: Int32Array<SharedArrayBuffer>, need: number): Int32Array<SharedArrayBuffer> {
  if (need <= a.length) return a;
  let n = a.length * 2;
  while (n < need) n *= 2;
  const b = i32(n);
  b.set(a);
  return b;
}

/** A growable Uint16Array column. */
function grow16(a: Uint16Array, need: number): Uint16Array {
  if (need <= a.length) return a;
  let n = a.length * 2;
  while (n < need) n *= 2;
  const b = new Uint16Array(n);
  b.set(a);
  return b;
}

/** FNV-1a (32 bits) of a key's octets (a latin1 string: one octet a char). */
function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h;
}

/** FNV-1a (32 bits) of `n` octets of `b` from `at` (hashKey of the same octets as a string). */
function hashOctets(b: Uint8Array, at: number, n: number): number {
  let h = 0x811c9dc5;
  for (let i = at, end = at + n; i < end; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h;
}

const latin1Slice = Buffer.prototype.latin1Slice as (this: Uint8Array, start: number, end: number) => string;

/**
 * Key → name index of a ColumnZone: open addressing (linear probing) over one Int32Array,
 * two words a slot (the name index + 1, 0 = empty; the key's hash). The keys are octets, not
 * JS strings: one slab (`octets`) with an offset and a length per name index (insertion
 * order = Zone.build's); a name's parent key is a suffix of its own, so an empty
 * non-terminal added for a name (`addAt`) shares the octets of the name that made it. A big
 * zone's ~600,000 keys are then a few typed arrays the garbage collector does not look into,
 * instead of as many strings that survived every scavenge of the load into the old
 * generation (bigzone4). A lookup is one hash of the key's octets, a probe in one typed
 * array (a slot's index and hash share a cache line) and one comparison of octets only when
 * the hashes are equal. At most 3/4 full. A key is at most 255 octets (a wire name).
 */
export class NameTable {
  /** The keys' octets (and a ColumnZone's spellings: `store`); read through `off`/`len`. */
  octets: Uint8Array<SharedArrayBuffer>;
  /** Octets used in `octets`. */
  used = 0;
  /** Per name index: where its key starts in `octets`, and its length. */
  off: Int32Array<SharedArrayBuffer>;
  len: Uint8Array<SharedArrayBuffer>;
  #count = 0;
  #slots: Int32Array;
  #mask: number;

  /**
   * `expect`: names expected (the table starts big enough for them, then doubles). `over`: the
   * parts of a table made in another thread (`parts()`): this one reads the same memory.
   */
  constructor(expect = 1024, over?: NameTableParts) {
    if (over !== undefined) {
      this.octets = over.octets;
      this.used = over.used;
      this.off = over.off;
      this.len = over.len;
      this.#count = over.count;
      this.#slots = over.slots;
      this.#mask = over.mask;
      return;
    }
    let cap = 1024;
    while (cap * 3 < expect * 4 && cap < 1 << 27) cap *= 2;
    this.#slots = i32(cap * 2);
    this.#mask = cap - 1;
    // A quarter more room for names than expected: a regrowth copies `off` and `len` (and
    // touches them anew), pages never written cost nothing (1,000,000-record zone: 586,207
    // names for 575,000 expected).
    const names = Math.max(1024, (expect * 1.25) | 0);
    this.off = i32(names);
    this.len = u8(names);
    // ~20 octets a key (one label under the origin, the origin's labels included), and a few
    // spellings: a regrowth copies them all.
    this.octets = u8(Math.max(16 * 1024, names * 24));
  }

  get size(): number {
    return this.#count;
  }

  /** What `new NameTable(0, parts)` needs to read this table (SharedArrayBuffers: not copied). */
  parts(): NameTableParts {
    return {
      octets: this.octets,
      used: this.used,
      off: this.off,
      len: this.len,
      count: this.#count,
      slots: this.#slots,
      mask: this.#mask,
    };
  }

  /** Key `i` as a string (made now: the table keeps none). */
  key(i: number): string {
    const at = this.off[i];
    return latin1Slice.call(this.octets, at, at + this.len[i]);
  }

  /** The keys in name index order (each made as it is reached). */
  *keys(): IterableIterator<string> {
    for (let i = 0; i < this.#count; i++) yield this.key(i);
  }

  /** The name index of `key`, or -1 (then `add(key)` takes the free slot found here). */
  find(key: string): number {
    const h = hashKey(key);
    const slots = this.#slots;
    const mask = this.#mask;
    const n = key.length;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = slots[i * 2];
      if (v === 0) {
        this.#missKey = key;
        this.#missSlot = i;
        this.#missHash = h;
        return -1;
      }
      if (slots[i * 2 + 1] === h && this.len[v - 1] === n && this.#equals(v - 1, key)) return v - 1;
    }
  }

  /** The name index of the key in `b[at, at + n)`, or -1 (then `addAt` may take the free slot). */
  findAt(b: Uint8Array, at: number, n: number): number {
    const h = hashOctets(b, at, n);
    const slots = this.#slots;
    const mask = this.#mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = slots[i * 2];
      if (v === 0) {
        this.#missKey = undefined;
        this.#missAt = b === this.octets ? at : -1;
        this.#missFrom = b === this.octets ? undefined : b;
        this.#missFromAt = at;
        this.#missSlot = i;
        this.#missHash = h;
        return -1;
      }
      if (slots[i * 2 + 1] === h && this.len[v - 1] === n && this.#equalsAt(v - 1, b, at, n)) return v - 1;
    }
  }

  #equals(i: number, key: string): boolean {
    const o = this.octets;
    const at = this.off[i];
    for (let k = 0; k < key.length; k++) if (o[at + k] !== key.charCodeAt(k)) return false;
    return true;
  }

  #equalsAt(i: number, b: Uint8Array, at: number, n: number): boolean {
    const o = this.octets;
    const p = this.off[i];
    for (let k = 0; k < n; k++) if (o[p + k] !== b[at + k]) return false;
    return true;
  }

  /** The last key `find` did not find, and the free slot and hash it ended at. */
  #missKey: string | undefined;
  /** The offset in `octets` of the last key `findAt` did not find there (-1: none). */
  #missAt = -1;
  #missSlot = 0;
  #missHash = 0;
  /** The other buffer (and offset there) of the last key `findAt` did not find (`addCopy`). */
  #missFrom: Uint8Array | undefined;
  #missFromAt = 0;

  /** Copies `s`'s octets (a latin1 string) into `octets`: where they start. */
  store(s: string): number {
    const n = s.length;
    if (this.used + n > this.octets.length) this.#growOctets(this.used + n);
    const o = this.octets;
    const at = this.used;
    for (let k = 0; k < n; k++) o[at + k] = s.charCodeAt(k);
    this.used = at + n;
    return at;
  }

  /** Adds `key` (not in the table) as the next name index, which it returns. */
  add(key: string): number {
    const reuse = key === this.#missKey;
    return this.#insert(this.store(key), key.length, reuse);
  }

  /** Copies `n` octets of `b` from `at` into `octets`: where they start. */
  storeAt(b: Uint8Array, at: number, n: number): number {
    if (this.used + n > this.octets.length) this.#growOctets(this.used + n);
    const o = this.octets;
    const to = this.used;
    for (let k = 0; k < n; k++) o[to + k] = b[at + k];
    this.used = to + n;
    return to;
  }

  /**
   * Adds the key at `b[at, at + n)` (another buffer: a chunk of the parse thread's records;
   * not in the table) as the next name index, its octets copied; returns it.
   */
  addCopy(b: Uint8Array, at: number, n: number): number {
    const reuse = b === this.#missFrom && at === this.#missFromAt && this.#missKey === undefined;
    return this.#insert(this.storeAt(b, at, n), n, reuse);
  }

  /**
   * Adds the key already in `octets` at `[at, at + n)` (a suffix of a key added before: a
   * parent name's; not in the table) as the next name index, which it returns.
   */
  addAt(at: number, n: number): number {
    return this.#insert(at, n, at === this.#missAt && this.#missKey === undefined);
  }

  #insert(at: number, n: number, reuse: boolean): number {
    const i = this.#count++;
    if (i >= this.off.length) {
      const off = i32(this.off.length * 2);
      off.set(this.off);
      this.off = off;
      const len = u8(this.len.length * 2);
      len.set(this.len);
      this.len = len;
    }
    this.off[i] = at;
    this.len[i] = n;
    if (this.#count * 4 > (this.#mask + 1) * 3) this.#grow();
    else if (reuse) {
      this.#slots[this.#missSlot * 2] = i + 1;
      this.#slots[this.#missSlot * 2 + 1] = this.#missHash;
    } else this.#put(i + 1, hashOctets(this.octets, at, n));
    this.#missKey = undefined;
    this.#missAt = -1;
    this.#missFrom = undefined;
    return i;
  }

  #growOctets(need: number): void {
    let size = this.octets.length * 2;
    while (size < need) size *= 2;
    const o = u8(size);
    o.set(this.octets.subarray(0, this.used));
    this.octets = o;
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
    this.#slots = i32(cap * 2);
    this.#mask = cap - 1;
    const { octets, off, len } = this;
    for (let i = 0; i < this.#count; i++) this.#put(i + 1, hashOctets(octets, off[i], len[i]));
  }
}

/** A NameTable's memory and counts (`NameTable.parts`). */
export interface NameTableParts {
  octets: Uint8Array<SharedArrayBuffer>;
  used: number;
  off: Int32Array<SharedArrayBuffer>;
  len: Uint8Array<SharedArrayBuffer>;
  count: number;
  slots: Int32Array;
  mask: number;
}

/**
 * A ColumnZone as another thread gets it (`ColumnZone.shared`, structured-clonable): its
 * columns are SharedArrayBuffers, so `ColumnZone.fromShared` reads the same memory (the
 * checks of a big zone run there while this thread compiles it: src/zone/check-thread.ts).
 */
export interface SharedColumnZone {
  origin: string;
  cls: number;
  recordCount: number;
  names: number;
  index: NameTableParts;
  wireOff: Int32Array;
  warnings: readonly ZoneWarning[];
  flags: Uint8Array;
  firstSet: Int32Array;
  setType: Int32Array;
  setTtl: Int32Array;
  setNext: Int32Array;
  setFirst: Int32Array;
  recOff: Int32Array;
  recLen: Int32Array;
  recNext: Int32Array;
  slab: Uint8Array;
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
    return this.#zone._index.keys();
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
  /**
   * Per name: where its wire form (the spelling of the Name that made it, as Zone.build
   * keeps) lies in the index's octets, or -1 when it is spelled as its key (lower case).
   */
  readonly #wireOff: Int32Array;
  readonly #names: number;
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
    this.#wireOff = b.wireOff;
    this.#names = b.names;
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
    const checked = apexSoa(origin, apex);
    this.apex = apex;
    this.soa = checked.soa;
    this.#serial = checked.serial;
    this.#minimum = checked.minimum;
  }

  /** Names in the zone, empty non-terminals included. */
  get nameCount(): number {
    return this.#names;
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
    return i === 0 ? this.origin.key : this._index.key(i);
  }

  /** The wire form (spelling kept) of name `i`. */
  wireAt(i: number): string {
    const w = this.#wireOff[i];
    if (w < 0) return this._index.key(i);
    return latin1Slice.call(this._index.octets, w, w + this._index.len[i]);
  }

  /**
   * Where name `i`'s spelling lies in `_index.octets` (its length: the key's), or -1 when it
   * is spelled as its key (`wireAt(i) === keyAt(i)`).
   */
  spellingAt(i: number): number {
    return this.#wireOff[i];
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
    const n = this.#names;
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
    const name = i === 0 ? this.origin : Name.fromWire(this.wireAt(i));
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

  /**
   * The zone for another thread (`fromShared` there): its columns as they are (in
   * SharedArrayBuffers, not copied), its numbers and warnings. Read only, both sides: the
   * columns are never written after the build.
   */
  shared(): SharedColumnZone {
    return {
      origin: this.origin.wire,
      cls: this.class,
      recordCount: this.recordCount,
      names: this.#names,
      index: this._index.parts(),
      wireOff: this.#wireOff,
      warnings: this.warnings,
      ...this.columns(),
    };
  }

  /** The zone `shared()` gave (in another thread): the same names, RRsets, flags and warnings. */
  static fromShared(s: SharedColumnZone): ColumnZone {
    const b = {
      index: new NameTable(0, s.index),
      wireOff: s.wireOff,
      names: s.names,
      flags: s.flags,
      firstSet: s.firstSet,
      setType: s.setType,
      setTtl: s.setTtl,
      setNext: s.setNext,
      setFirst: s.setFirst,
      recOff: s.recOff,
      recLen: s.recLen,
      recNext: s.recNext,
      slab: s.slab,
      count: s.recordCount,
      warnings: [...s.warnings],
    };
    return new ColumnZone(b as unknown as Builder, Name.fromWire(s.origin), s.cls);
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
  /**
   * Per record (in order): its owner's name index in the columns, or -1 - k for the k-th of
   * `#otherKeys` (a record not built: out of zone, of another class, or given before the
   * origin was known), and its type (for locating findings: `keyOf`, `types`).
   */
  #owner: Int32Array<SharedArrayBuffer>;
  readonly #otherKeys: string[] = [];
  #records = 0;
  /** Each record's type (16 bits: half the pages a 32-bit column touches). */
  types: Uint16Array;

  /**
   * `expect`: about how many records will come (`expectedRecords` of the text): the columns
   * are made that big at once instead of grown by doubling (each doubling a copy of every
   * column). Only a hint: a wrong guess costs a regrowth or some zeroed, never-touched pages.
   */
  constructor(expect = 0) {
    this.#expect = Math.min(Math.max(expect | 0, 1024), 1 << 26);
    this.types = new Uint16Array(this.#expect);
    this.#owner = i32(this.#expect);
  }

  /** Records given so far. */
  get count(): number {
    return this.#records;
  }

  /** The owner key of record `i` (made now). */
  keyOf(i: number): string {
    const o = this.#owner[i];
    return o < 0 ? this.#otherKeys[-1 - o] : (this.#b as Builder).index.key(o);
  }

  /** One record; `origin`: the zone's origin if known yet. */
  add(rr: RR, origin: Name | undefined): void {
    const n = this.#records++;
    if (n >= this.types.length) {
      this.types = grow16(this.types, n + 1);
      this.#owner = grow32(this.#owner, n + 1);
    }
    this.types[n] = rr.type;
    if (this.#first || rr.type === RRType.SOA) {
      this.#first = false;
      this.checkList.push(this.#kept(rr));
    }
    if (origin === undefined || this.#early !== undefined) {
      this.#early ??= [];
      this.#early.push(this.#kept(rr));
      this.#owner[n] = -1 - this.#otherKeys.length;
      this.#otherKeys.push(rr.name.key);
      return;
    }
    this.#b ??= new Builder(origin, rr.class, this.#expect);
    const i = this.#add(this.#b, rr);
    if (i >= 0) this.#owner[n] = i;
    else {
      this.#owner[n] = -1 - this.#otherKeys.length;
      this.#otherKeys.push(rr.name.key);
    }
  }

  /** Where the RDATA of the records kept as records (`checkList`, `#early`) is copied. */
  #keep: RdataSlab | undefined;

  /**
   * A record kept past `add` (a copy: the parser may refill the one it gave, and its RDATA
   * may be a view of its scratch: `ParseOptions.transientRecords`).
   */
  #kept(rr: RR): RR {
    this.#keep ??= new RdataSlab();
    return { name: rr.name, type: rr.type, class: rr.class, ttl: rr.ttl, rdata: this.#keep.copy(rr.rdata) };
  }

  /** Records are being kept until the origin is known (`add` takes them, not `addOctets`). */
  get waiting(): boolean {
    return this.#early !== undefined;
  }

  /** The owner name index of the run of `addOctets` records (-1: not looked up yet). */
  #runNode = -1;
  #runInZone = false;

  /**
   * `add` of a record given as octets (the parse thread's, src/zone/parse-thread.ts) with the
   * zone's origin known and no record waiting for it: `newOwner` false when its owner is the
   * previous record's (the parser's same Name), `inZone` whether that owner lies at or under
   * `origin`; the owner's key, spelling and RDATA as `Builder.addOctets` takes them.
   */
  addOctets(
    origin: Name,
    newOwner: boolean,
    inZone: boolean,
    key: Uint8Array,
    at: number,
    len: number,
    wire: Uint8Array | undefined,
    wireAt: number,
    type: number,
    cls: number,
    ttl: number,
    rd: Uint8Array,
    rdAt: number,
    rdLen: number,
  ): void {
    const n = this.#records++;
    if (n >= this.types.length) {
      this.types = grow16(this.types, n + 1);
      this.#owner = grow32(this.#owner, n + 1);
    }
    this.types[n] = type;
    if (this.#first || type === RRType.SOA) {
      this.#first = false;
      const text =
        wire === undefined
          ? latin1Slice.call(key, at, at + len)
          : latin1Slice.call(wire, wireAt, wireAt + len);
      this.checkList.push({
        name: Name.fromWire(text),
        type,
        class: cls,
        ttl,
        rdata: rd.slice(rdAt, rdAt + rdLen),
      });
    }
    this.#b ??= new Builder(origin, cls, this.#expect);
    const b = this.#b;
    this.#lastName = undefined;
    if (newOwner) {
      this.#runNode = -1;
      this.#runInZone = inZone;
    }
    if (!this.#runInZone || cls !== b.cls) {
      b.warnings.push({
        name: nameText(key, at, len, wire, wireAt),
        message: this.#runInZone
          ? 'record of another class ignored'
          : `out of zone data ignored (zone ${b.origin})`,
      });
      this.#owner[n] = -1 - this.#otherKeys.length;
      this.#otherKeys.push(latin1Slice.call(key, at, at + len));
      return;
    }
    const i = b.addOctets(this.#runNode, key, at, len, wire, wireAt, type, ttl, rd, rdAt, rdLen);
    this.#runNode = i;
    this.#owner[n] = i;
  }

  /** The name index the record went to, or -1 (not built: out of zone, another class). */
  #add(b: Builder, rr: RR): number {
    const origin = b.origin;
    if (rr.name !== this.#lastName) {
      this.#lastName = rr.name;
      this.#lastInZone = rr.name.isSubdomainOf(origin);
    }
    if (!this.#lastInZone) {
      b.warnings.push({ name: rr.name.toString(), message: `out of zone data ignored (zone ${origin})` });
      return -1;
    }
    if (rr.class !== b.cls) {
      b.warnings.push({ name: rr.name.toString(), message: 'record of another class ignored' });
      return -1;
    }
    return b.add(rr);
  }

  /** The zone, as `Zone.build(origin, records, cls)` makes it. Throws as it does. */
  finish(origin: Name, cls: number): ColumnZone {
    let b = this.#b;
    if (b !== undefined && (b.origin.key !== origin.key || b.cls !== cls))
      throw new Error(`internal: records were built under ${b.origin}, the zone is ${origin}`);
    if (b === undefined) {
      b = new Builder(origin, cls, this.#expect);
      this.#b = b;
      this.#lastName = undefined;
      for (const rr of this.#early ?? []) this.#add(b, rr);
      this.#early = undefined;
    }
    b.adjust(origin);
    return ColumnZone._fromBuilder(b, origin, cls);
  }
}

/** A name given as octets (`addOctets`), as `Name.toString` shows it. */
export function nameText(
  key: Uint8Array,
  at: number,
  len: number,
  wire: Uint8Array | undefined,
  wireAt: number,
): string {
  return wire === undefined
    ? Name.fromWire(latin1Slice.call(key, at, at + len)).toString()
    : Name.fromWire(latin1Slice.call(wire, wireAt, wireAt + len)).toString();
}

/** The columns under construction (`ColumnZone.build`). */
class Builder {
  readonly index: NameTable;
  /** Per name: its spelling's offset in the index's octets, -1 when spelled as its key. */
  wireOff: Int32Array<SharedArrayBuffer>;
  names = 0;
  flags: Uint8Array<SharedArrayBuffer>;
  firstSet: Int32Array<SharedArrayBuffer>;
  lastSet: Int32Array<SharedArrayBuffer>;
  sets = 0;
  setType: Int32Array<SharedArrayBuffer>;
  setTtl: Int32Array<SharedArrayBuffer>;
  setNext: Int32Array<SharedArrayBuffer>;
  setFirst: Int32Array<SharedArrayBuffer>;
  setLast: Int32Array<SharedArrayBuffer>;
  recs = 0;
  recOff: Int32Array<SharedArrayBuffer>;
  recLen: Int32Array<SharedArrayBuffer>;
  recNext: Int32Array<SharedArrayBuffer>;
  slab: Uint8Array<SharedArrayBuffer>;
  used = 0;
  count = 0;
  readonly warnings: ZoneWarning[] = [];
  /** Octet keys of big RRsets' RDATA (Zone.build's duplicate test, linear for big RRsets). */
  readonly #seen = new Map<number, Set<string>>();
  readonly #originLength: number;
  #lastOwner: Name | undefined;
  #lastNode: number | undefined;
  readonly origin: Name;
  readonly cls: number;

  /** `expect`: records expected (at least 1,024): every column starts that long. */
  constructor(origin: Name, cls: number, expect = 1024) {
    this.origin = origin;
    this.cls = cls;
    this.#originLength = origin.key.length;
    // Names: about half the records in a big zone (the table doubles past that).
    this.index = new NameTable(expect >> 1);
    // A name or an RRset per record at most; RDATA ~16 octets a record on average (the
    // slab grows by doubling past that).
    this.flags = u8(expect);
    this.firstSet = i32(expect);
    this.wireOff = i32(expect);
    this.lastSet = i32(expect);
    this.setType = i32(expect);
    this.setTtl = i32(expect);
    this.setNext = i32(expect);
    this.setFirst = i32(expect);
    this.setLast = i32(expect);
    this.recOff = i32(expect);
    this.recLen = i32(expect);
    this.recNext = i32(expect);
    this.slab = u8(Math.max(64 * 1024, expect * 16));
    this.index.find(origin.key);
    this.#name(origin.key, origin.wire);
  }

  /** A new name (its key just missed in the index). */
  #name(key: string, wire: string): number {
    const i = this.#slot();
    this.index.add(key);
    this.wireOff[i] = wire === key ? -1 : this.index.store(wire);
    return i;
  }

  /**
   * A new name whose key is in the index's octets at `[at, at + n)` (just missed there) and
   * whose spelling is at `wire` (-1: the key's).
   */
  #nameAt(at: number, n: number, wire: number): number {
    const i = this.#slot();
    this.index.addAt(at, n);
    this.wireOff[i] = wire;
    return i;
  }

  /** The next name index, its columns grown and set empty. */
  #slot(): number {
    const i = this.names++;
    if (i >= this.flags.length) {
      const f = u8(this.flags.length * 2);
      f.set(this.flags);
      this.flags = f;
    }
    if (i >= this.firstSet.length) {
      this.firstSet = grow32(this.firstSet, i + 1);
      this.lastSet = grow32(this.lastSet, i + 1);
      this.wireOff = grow32(this.wireOff, i + 1);
    }
    this.firstSet[i] = -1;
    this.lastSet[i] = -1;
    return i;
  }

  #findSet(node: number, type: number): number {
    for (let s = this.firstSet[node]; s >= 0; s = this.setNext[s]) if (this.setType[s] === type) return s;
    return -1;
  }

  /** A record of RRset `set`: its RDATA `rd[at, at + n)` copied into the slab. */
  #record(set: number, rd: Uint8Array, from: number, n: number): void {
    const r = this.recs++;
    if (r >= this.recOff.length) {
      this.recOff = grow32(this.recOff, r + 1);
      this.recLen = grow32(this.recLen, r + 1);
      this.recNext = grow32(this.recNext, r + 1);
    }
    if (this.used + n > this.slab.length) {
      let size = this.slab.length * 2;
      while (size < this.used + n) size *= 2;
      const s = u8(size);
      s.set(this.slab.subarray(0, this.used));
      this.slab = s;
    }
    const at = this.used;
    const slab = this.slab;
    if (n <= 32) for (let k = 0; k < n; k++) slab[at + k] = rd[from + k];
    else slab.set(from === 0 && n === rd.length ? rd : rd.subarray(from, from + n), at);
    this.used = at + n;
    this.recOff[r] = at;
    this.recLen[r] = n;
    this.recNext[r] = -1;
    const last = this.setLast[set];
    if (last < 0) this.setFirst[set] = r;
    else this.recNext[last] = r;
    this.setLast[set] = r;
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
    }
    this.setType[s] = type;
    this.setTtl[s] = ttl;
    this.setNext[s] = -1;
    this.setFirst[s] = -1;
    this.setLast[s] = -1;
    const last = this.lastSet[node];
    if (last < 0) this.firstSet[node] = s;
    else this.setNext[last] = s;
    this.lastSet[node] = s;
    return s;
  }

  /** True when the RRset already holds RDATA `rd[from, from + n)` (Zone.build's isDuplicate). */
  #isDuplicate(set: number, rd: Uint8Array, from: number, n: number): boolean {
    const slab = this.slab;
    let keys = this.#seen.get(set);
    if (keys === undefined) {
      // Up to 15 records compared one by one (no count column: the list walked is counted).
      let count = 0;
      outer: for (let r = this.setFirst[set]; r >= 0; r = this.recNext[r]) {
        if (++count === 16) break;
        if (this.recLen[r] !== n) continue;
        const at = this.recOff[r];
        for (let k = 0; k < n; k++) if (slab[at + k] !== rd[from + k]) continue outer;
        return true;
      }
      if (count < 16) return false;
    }
    if (!keys) {
      keys = new Set();
      for (let r = this.setFirst[set]; r >= 0; r = this.recNext[r])
        keys.add(
          Buffer.from(slab.buffer, slab.byteOffset + this.recOff[r], this.recLen[r]).toString('latin1'),
        );
      this.#seen.set(set, keys);
    }
    const k = latin1Slice.call(rd, from, from + n);
    if (keys.has(k)) return true;
    keys.add(k);
    return false;
  }

  /** One record of the zone's class, at or under the origin: its owner's name index. */
  add(rr: RR): number {
    // The parser hands one Name to a run of records of one owner: looked up once per run.
    const found = rr.name === this.#lastOwner ? (this.#lastNode as number) : this.index.find(rr.name.key);
    const node = found < 0 ? undefined : found;
    const set = node === undefined ? -1 : this.#findSet(node, rr.type);
    if (set < 0) {
      if (node !== undefined) this.#record(this.#newSet(node, rr.type, rr.ttl), rr.rdata, 0, rr.rdata.length);
      else {
        const i = this.#name(rr.name.key, rr.name.wire);
        this.#record(this.#newSet(i, rr.type, rr.ttl), rr.rdata, 0, rr.rdata.length);
        this.#ancestors(i);
        this.#lastNode = i;
        this.#lastOwner = rr.name;
        return i;
      }
      this.#lastOwner = rr.name;
      this.#lastNode = node;
      return node;
    }
    this.#lastOwner = rr.name;
    this.#lastNode = node;
    if (this.#isDuplicate(set, rr.rdata, 0, rr.rdata.length)) {
      this.warnings.push({ name: rr.name.toString(), message: `duplicate ${rr.type} record ignored` });
      return node as number;
    }
    // RFC 4034 §3: RRSIGs at one name legitimately differ in TTL (Zone.build).
    const ttl = this.setTtl[set] >>> 0;
    if (ttl !== rr.ttl && rr.type !== RRType.RRSIG)
      this.warnings.push({
        name: rr.name.toString(),
        message: `TTL ${rr.ttl} differs from the RRset's TTL ${ttl}; using ${ttl}`,
      });
    this.#record(set, rr.rdata, 0, rr.rdata.length);
    return node as number;
  }

  /**
   * `add` of a record given as octets (a chunk of the parse thread's, src/zone/parse-thread.ts):
   * the owner's key at `key[at, at + len)`, its spelling at `wire[wireAt, wireAt + len)`
   * (`wire` undefined: spelled as the key), its name index `node` when known (-1: looked up
   * here), the RDATA at `rd[rdAt, rdAt + rdLen)`. The same columns and warnings as `add`.
   */
  addOctets(
    node: number,
    key: Uint8Array,
    at: number,
    len: number,
    wire: Uint8Array | undefined,
    wireAt: number,
    type: number,
    ttl: number,
    rd: Uint8Array,
    rdAt: number,
    rdLen: number,
  ): number {
    this.#lastOwner = undefined;
    const found = node >= 0 ? node : this.index.findAt(key, at, len);
    if (found < 0) {
      const i = this.#slot();
      this.index.addCopy(key, at, len);
      this.wireOff[i] = wire === undefined ? -1 : this.index.storeAt(wire, wireAt, len);
      this.#record(this.#newSet(i, type, ttl), rd, rdAt, rdLen);
      this.#ancestors(i);
      return i;
    }
    const set = this.#findSet(found, type);
    if (set < 0) {
      this.#record(this.#newSet(found, type, ttl), rd, rdAt, rdLen);
      return found;
    }
    if (this.#isDuplicate(set, rd, rdAt, rdLen)) {
      this.warnings.push({
        name: nameText(key, at, len, wire, wireAt),
        message: `duplicate ${type} record ignored`,
      });
      return found;
    }
    const was = this.setTtl[set] >>> 0;
    if (was !== ttl && type !== RRType.RRSIG)
      this.warnings.push({
        name: nameText(key, at, len, wire, wireAt),
        message: `TTL ${ttl} differs from the RRset's TTL ${was}; using ${was}`,
      });
    this.#record(set, rd, rdAt, rdLen);
    return found;
  }

  /**
   * The empty non-terminals between new name `i` and the origin (Zone.build's addAncestors):
   * each parent's key is a suffix of its child's octets, and so is its spelling.
   */
  #ancestors(i: number): void {
    const index = this.index;
    const originLength = this.#originLength;
    let at = index.off[i];
    let n = index.len[i];
    let wire = this.wireOff[i];
    for (;;) {
      // `octets` is read anew each time round: adding a name may have grown it.
      const octets = index.octets;
      const skip = octets[at] + 1;
      const wild = octets[at] === 1 && octets[at + 1] === 0x2a;
      const bits = NodeFlag.HAS_CHILDREN | (wild ? NodeFlag.WILDCARD_CHILD : 0);
      if (n - skip === originLength) {
        // The parent is the origin (every name here lies at or under it): name 0, no lookup.
        this.flags[0] |= bits;
        return;
      }
      at += skip;
      n -= skip;
      const existing = index.findAt(octets, at, n);
      if (existing >= 0) {
        this.flags[existing] |= bits;
        return;
      }
      // The parent's spelling: the child's suffix, unless that is spelled as the key.
      if (wire >= 0) {
        wire += skip;
        let same = true;
        for (let k = 0; k < n; k++)
          if (octets[wire + k] !== octets[at + k]) {
            same = false;
            break;
          }
        if (same) wire = -1;
      }
      const p = this.#nameAt(at, n, wire);
      this.flags[p] |= bits;
    }
  }

  /** Delegations, DNAMEs and what lies below them (Zone.build's adjust). */
  adjust(_origin: Name): void {
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
    const index = this.index;
    const octets = index.octets;
    const originLength = this.#originLength;
    for (let i = 1; i < this.names; i++) {
      let at = index.off[i];
      let n = index.len[i];
      while (n !== originLength) {
        const skip = octets[at] + 1;
        at += skip;
        n -= skip;
        // The origin's length: the origin itself (every key lies at or under it), name 0.
        const atOrigin = n === originLength;
        const anc = atOrigin ? 0 : index.findAt(octets, at, n);
        // RFC 6672 §2.4: nothing may exist below a DNAME, the apex's included.
        const mask = atOrigin ? NodeFlag.DNAME : NodeFlag.DELEGATION | NodeFlag.DNAME;
        if (anc >= 0 && (this.flags[anc] & mask) !== 0) {
          this.flags[i] |= NodeFlag.BELOW_CUT;
          break;
        }
      }
    }
  }
}
