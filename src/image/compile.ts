/**
 * The zone image compiler: a `Zone` → one contiguous byte array (format.ts, docs/IMAGE.md).
 *
 * Precomputed answers are made by the engine itself: `answerQuery` over a catalog holding
 * only this zone, encoded by `MessageWriter` exactly as respond.ts encodes them (no size
 * limit, no OPT: the reader decides truncation from the section lengths and appends OPT).
 * Templates used for QNAMEs of other lengths (negative answers, referrals, wildcards) are
 * built with placeholder QNAMEs and carry a patch list of the compression pointers that move
 * with the question's length; the patch list is found by building with two placeholders of
 * different lengths and is checked against a third before the template is marked usable.
 * @module
 */

import { readSync, writeSync } from 'node:fs';
import {
  AnswerKind,
  type AnswerOptions,
  type AnswerResult,
  answerQuery,
  DEFAULT_MAX_CHAIN,
  isAuthoritative,
  rcodeOfKind,
} from '../answer/answer.js';
import { Catalog } from '../answer/catalog.js';
import { RRType } from '../wire/constants.js';
import { writeTypeClassTtl } from '../wire/encode.js';
import type { RR } from '../wire/message.js';
import { Name } from '../wire/name.js';
import * as table from '../wire/name-compression.js';
import { hashLabel, sameName, slotOf, storedNameLength } from '../wire/name-compression.js';
import { compressibleNameOffsets, rdataTarget } from '../wire/rdata.js';
import { hasCompressibleNames, nameLengthAt } from '../wire/rdata-wire.js';
import { ColumnZone, type ZoneColumns } from '../zone/column-zone.js';
import { NodeFlag, type RRset, Zone, type ZoneNode } from '../zone/zone.js';
import {
  ANSWER_ENTRY_SIZE,
  AnswerEntryKind,
  CNAME_CHASE_TYPES,
  Fallback,
  fnv1aString,
  H,
  HEADER_SIZE,
  MAGIC,
  NAME_RECORD_SIZE,
  NameFlag,
  NONE,
  RRSET_RECORD_SIZE,
  SECTION_ENTRY_SIZE,
  SectionId,
  T,
  TEMPLATE_HEADER_SIZE,
  TemplateFlag,
  VERSION,
} from './format.js';
import { type ProofNames, type ProofSection, proofSection } from './proof-index.js';

/** Compiler options. */
export interface CompileOptions {
  /** Allocates the image's bytes (default `new Uint8Array(n)`; pass one over a SharedArrayBuffer to share it). */
  allocate?: (bytes: number) => Uint8Array;
  /** Precompute answers (default true); without, the image holds names and RRsets only. */
  templates?: boolean;
  /** The answer options the Responder runs with (its `answer` option): templates must be made with the same. */
  answer?: AnswerOptions;
  /**
   * Told the compile's stages of a big zone (a ColumnZone): 'sorted', 'templates made', 'names
   * written' — the compile thread passes its start-up trace (SWITCHBOARD_TRACE_START=1).
   */
  trace?: (stage: string) => void;
}

/** Allocates in a SharedArrayBuffer, for images shared between worker threads. */
export function sharedAllocator(bytes: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(bytes));
}

/** A shiftable template's pointers must stay below 0x4000 whatever the QNAME length. */
const SHIFT_LIMIT = 0x4000 - 255 - 16;
const NO_NUMBERS: number[] = [];
const NO_STRINGS: string[] = [];
const ADDRESS_TYPES = [RRType.A, RRType.AAAA];
/** A type no zone holds: used to ask for a node's NODATA answer. */
const ABSENT_TYPE = 65534;

/** A template, already written to the TEMPLATES section (its body is not kept). */
interface Tpl {
  /** Offset inside the TEMPLATES section. */
  at: number;
  an: number;
  ns: number;
  ar: number;
  dnsFlags: number;
  watch: string[];
  tflags: number;
}

/** A template's parts, before it is written. */
interface TplParts extends Encoded {
  dnsFlags: number;
  qnameLength: number;
  anchorLength: number;
  patches: number[];
  watch: string[];
  tflags: number;
}

/** An answer-table entry before layout. */
interface Entry {
  qtype: number;
  tpl: Tpl | undefined;
  reason: number;
}

/**
 * Where `compileZoneToFile` writes an image: a file, the image's octet 0 at `base`. Written in
 * pieces (`pwrite`), never whole in this process's memory; a hole never written reads 0.
 */
class ImageFile {
  constructor(
    readonly fd: number,
    readonly base: number,
  ) {}
  /** Writes `src` at image offset `at`. */
  write(src: Uint8Array, at: number): void {
    let done = 0;
    while (done < src.length) done += writeSync(this.fd, src, done, src.length - done, this.base + at + done);
  }
  /** Reads `into.length` octets from image offset `at`. */
  read(into: Uint8Array, at: number): void {
    let done = 0;
    while (done < into.length) {
      const n = readSync(this.fd, into, done, into.length - done, this.base + at + done);
      if (n === 0) throw new Error(`image file: short read at ${this.base + at + done}`);
      done += n;
    }
  }
  /**
   * Moves `n` octets from image offset `from` up to `to` (>= from; the ranges may overlap):
   * copied from the end down, each piece read before anything it overlaps is written.
   */
  moveUp(from: number, to: number, n: number): void {
    if (to === from || n === 0) return;
    const piece = new Uint8Array(new ArrayBuffer(Math.min(n, 4 << 20)));
    for (let end = n; end > 0; ) {
      const k = Math.min(piece.length, end);
      const chunk = piece.subarray(0, k);
      this.read(chunk, from + end - k);
      this.write(chunk, to + end - k);
      end -= k;
    }
  }
}

/**
 * Growing little-endian byte buffer: its own array, grown by copying; or (`over`) one whose
 * octets go to a resizable ArrayBuffer from `base` on, staged in a plain buffer and copied in
 * (one `set`, the resizable buffer grown in place) whenever the stage is full — a big zone's
 * TEMPLATES section written where the image will hold it, without a second copy of it
 * (single stores into a resizable buffer cost V8 11 several times more than into a plain one).
 * Positions a writer takes from `len` are in `buf`; `total`/`flushed + len` is the offset in
 * the section.
 */
class Bytes {
  buf = new Uint8Array(1024);
  len = 0;
  /** Octets already copied to the resizable buffer (0 without one). */
  flushed = 0;
  #rab: ArrayBuffer | ImageFile | undefined;
  #base = 0;

  /**
   * A buffer writing into `rab` (a resizable buffer, or an image file) from `base` on, through
   * a stage of `stage` octets.
   */
  static over(rab: ArrayBuffer | ImageFile, base: number, stage: number): Bytes {
    const b = new Bytes();
    b.#rab = rab;
    b.#base = base;
    b.buf = new Uint8Array(stage);
    return b;
  }

  /** Octets written so far (the section's length). */
  get total(): number {
    return this.flushed + this.len;
  }

  /** After this, `buf` has room for `n` octets at `len` (which may have moved to 0). */
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    if (this.#rab !== undefined) {
      this.flush();
      if (n <= this.buf.length) return;
      this.buf = new Uint8Array(Math.max(n, this.buf.length * 2));
      return;
    }
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }

  /** Copies the stage to the resizable buffer (grown to hold it). */
  flush(): void {
    const rab = this.#rab;
    if (rab === undefined || this.len === 0) return;
    const at = this.#base + this.flushed;
    if (rab instanceof ImageFile) rab.write(this.buf.subarray(0, this.len), at);
    // Past maxByteLength this throws RangeError: the image could not be a valid one.
    else if (rab.byteLength < at + this.len) (rab as ResizableArrayBuffer).resize(at + this.len);
    if (!(rab instanceof ImageFile)) new Uint8Array(rab, at, this.len).set(this.buf.subarray(0, this.len));
    this.flushed += this.len;
    this.len = 0;
  }

  /** Sets the octet at section offset `at` (staged or already copied). */
  patch(at: number, v: number): void {
    if (at >= this.flushed) this.buf[at - this.flushed] = v;
    else if (this.#rab instanceof ImageFile) this.#rab.write(Uint8Array.of(v), this.#base + at);
    else new Uint8Array(this.#rab as ArrayBuffer, this.#base + at, 1)[0] = v;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v & 0xff;
  }
  u16(v: number): void {
    this.ensure(2);
    this.buf[this.len++] = v & 0xff;
    this.buf[this.len++] = (v >>> 8) & 0xff;
  }
  u32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    b[this.len++] = v & 0xff;
    b[this.len++] = (v >>> 8) & 0xff;
    b[this.len++] = (v >>> 16) & 0xff;
    b[this.len++] = (v >>> 24) & 0xff;
  }
  bytes(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.len);
    this.len += src.length;
  }
  latin1(s: string): void {
    this.ensure(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.len++] = s.charCodeAt(i);
  }
  pad4(): void {
    while (this.len & 3) this.u8(0);
  }
  view(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

/**
 * Compiles a zone given as records (the control plane's path: no master-file text), through
 * the same `Zone.build` as every other zone. Throws ZoneBuildError as `Zone.build` does.
 */
export function compileRecords(origin: Name, records: Iterable<RR>, opts: CompileOptions = {}): Uint8Array {
  return compileZone(Zone.build(origin, records), opts);
}

/**
 * Compiles `zone` into an image. Never changes the zone. Not reentrant: the encoder and the
 * section scratch are shared by the calls of one thread (an `allocate` must not compile).
 */
export function compileZone(zone: CompilableZone, opts: CompileOptions = {}): Uint8Array {
  return compile(zone, opts, undefined) as Uint8Array;
}

/**
 * Compiles `zone` into file `fd`, the image's first octet at `base`; returns the image's
 * length. The octets are `compileZone`'s. A ColumnZone's image (a big zone, compiled in place)
 * is written in pieces as it is made — its templates through a 1 MiB stage, moved up past
 * ANSWERS in the file, the other sections through their stages — so it is never whole in
 * this process's memory; any other zone's is compiled in memory and written once. The file
 * must read 0 where nothing was written (new, or a hole) from `base` on.
 */
/** What `templatesOf` makes: some names' templates, as a whole compile of their zone makes them. */
export interface SomeTemplates {
  /** The templates, the zone's negative template first (at 0), then each name's in the order given. */
  bytes: Uint8Array;
  /** The negative template's offset in `bytes` (0), or -1 when the zone has none. */
  negative: number;
  /** Per name given: where its templates start in `bytes` (and `ends[k]` where they end). */
  starts: Int32Array;
  ends: Int32Array;
  /** Per name: NODATA and referral template offsets in `bytes`, -1 for none. */
  nodata: Int32Array;
  referral: Int32Array;
  /** Per name: its answer entries `[entryFirst[k], entryFirst[k] + entryCount[k])` of the three arrays below. */
  entryFirst: Int32Array;
  entryCount: Int32Array;
  eQtype: Uint16Array;
  /** Template offset in `bytes`, or -1 with the fallback reason in `eReason`. */
  eTpl: Int32Array;
  eReason: Uint8Array;
}

/**
 * The templates a whole compile of `zone` writes for `nodes` (in canonical order, each one of
 * the zone's names) and the zone's negative template, made by the same per-name code
 * (`nodePlain`, `forNode`); for src/image/patch.ts, which copies every other name's templates
 * from the image it patches. `zone` may be any served zone that reads as the compiled one
 * would (an `ImageZone` with some names replaced); `highNames`: some name of the zone has an
 * octet 0xfe or 0xff (the compile works it out from the whole zone). Names below or at a cut
 * are not given (their referrals are shared between names: a whole compile's matter).
 */
export function templatesOf(
  zone: CompilableZone,
  highNames: boolean,
  nodes: readonly ZoneNode[],
  answerOpts: AnswerOptions = {},
): SomeTemplates {
  const out = new Bytes();
  const ctx = new TemplateBuilder(zone, answerOpts, out, highNames);
  const table = new NodeTable().reset(Math.max(1, nodes.length));
  const starts = new Int32Array(nodes.length);
  const ends = new Int32Array(nodes.length);
  for (let k = 0; k < nodes.length; k++) {
    starts[k] = out.total;
    if (!ctx.nodePlain(nodes[k], table, k)) table.put(k, ctx.forNode(nodes[k]));
    ends[k] = out.total;
  }
  return {
    bytes: out.view(),
    negative: ctx.negative === undefined ? -1 : ctx.negative.at,
    starts,
    ends,
    nodata: table.nodata,
    referral: table.referral,
    entryFirst: table.entryFirst,
    entryCount: table.entryCount,
    eQtype: table.eQtype,
    eTpl: table.eTpl,
    eReason: table.eReason,
  };
}

export function compileZoneToFile(
  zone: CompilableZone,
  fd: number,
  base: number,
  opts: CompileOptions = {},
): number {
  const file = new ImageFile(fd, base);
  if (!(zone instanceof ColumnZone) || opts.templates === false || opts.allocate !== undefined) {
    const image = compileZone(zone, opts);
    file.write(image, 0);
    return image.length;
  }
  return compile(zone, opts, file) as number;
}

/**
 * A big zone's two images from one sort (docs/IMAGE.md "Answer first, templates after"):
 * `first` writes the image without templates (names, RRsets, RDATA and the negative template:
 * what the engine answers from), `full` then the image `compileZoneToFile` writes, octet for
 * octet, reusing the canonical order the first one sorted. Each into a file as
 * `compileZoneToFile`; `full` at most once, after `first`.
 */
export class StagedCompile {
  readonly #zone: ColumnZone;
  readonly #opts: CompileOptions;
  #order: ColumnOrder | undefined;
  constructor(zone: ColumnZone, opts: CompileOptions = {}) {
    this.#zone = zone;
    this.#opts = opts;
  }
  /** The image without templates into `fd` at `base`: its length. */
  first(fd: number, base: number): number {
    const order = canonicalOrder(this.#zone) as ColumnOrder;
    this.#order = order;
    this.#opts.trace?.('sorted');
    return compile(this.#zone, { ...this.#opts, templates: false }, new ImageFile(fd, base), order) as number;
  }
  /** The whole image (`compileZoneToFile`'s octets) into `fd` at `base`: its length. */
  full(fd: number, base: number): number {
    const order = this.#order;
    this.#order = undefined;
    return compile(this.#zone, { ...this.#opts, templates: true }, new ImageFile(fd, base), order) as number;
  }
}

/**
 * `compileZone`, or with `file` (a ColumnZone's) into a file: the length. `sorted`: the
 * zone's canonical order made before (`StagedCompile`), not sorted again.
 */
function compile(
  zone: CompilableZone,
  opts: CompileOptions,
  file: ImageFile | undefined,
  sorted?: ColumnOrder,
): Uint8Array | number {
  const nodes = sorted ?? canonicalOrder(zone);
  // A big zone's compile stages, to the caller's trace (the start-up trace).
  const stage = nodes instanceof ColumnOrder ? opts.trace : undefined;
  if (sorted === undefined) stage?.('sorted');
  const withTemplates = opts.templates !== false;
  const proof = proofSection(zone, proofNames(zone, nodes));
  const sizes = measure(zone, nodes);
  if (proof !== undefined) sizes.beforeAnswers += SECTION_ENTRY_SIZE;
  // A big zone (a ColumnZone) is compiled in place: the image is one resizable buffer, the
  // sections before ANSWERS sized now, the templates written right after them as they are
  // made (grown in place), then moved up past ANSWERS once its size is known. No template
  // scratch lives beside the finished image, and nothing is copied but that one move.
  let rab: ArrayBuffer | undefined;
  let templates = templateScratch;
  if (file !== undefined) templates = Bytes.over(file, sizes.beforeAnswers, 1 << 20);
  else if (withTemplates && opts.allocate === undefined && zone instanceof ColumnZone && RESIZABLE) {
    rab = new (ArrayBuffer as ResizableArrayBufferConstructor)(sizes.beforeAnswers, {
      maxByteLength: MAX_IMAGE,
    });
    templates = Bytes.over(rab, sizes.beforeAnswers, 1 << 20);
  } else templates.len = 0;
  try {
    const high = nodes instanceof ColumnOrder ? nodes.highNames : undefined;
    const ctx = new TemplateBuilder(zone, opts.answer ?? {}, templates, high);
    // A big zone's entries: one per RRset, one for ANY per name, a few more (a CNAME's chases).
    const entries = nodes instanceof ColumnOrder ? sizes.totalRrsets + nodes.length + (nodes.length >> 3) : 0;
    const table = nodeTable.reset(
      nodes.length,
      entries,
      nodes instanceof ColumnOrder ? nodes.scratch : undefined,
    );
    if (nodes instanceof ColumnOrder) nodes.scratch = undefined;
    // Each name's templates go to typed arrays at once: no per-name object lives to the layout.
    if (withTemplates && nodes instanceof ColumnOrder) {
      // A big zone: its names written from the columns; a node made only where they cannot be.
      const cols = (zone as ColumnZone).columns();
      for (let i = 0; i < nodes.length; i++) {
        if (i % WARM_BLOCK === 0) warmColumns(nodes, cols, i, Math.min(i + WARM_BLOCK, nodes.length));
        ctx.columnName(cols, nodes.index(i), nodes, table, i);
      }
      stage?.('templates made');
    } else if (withTemplates)
      for (let i = 0; i < nodes.length; i++) {
        const node = nodes.node(i);
        if (!ctx.nodePlain(node, table, i)) table.put(i, ctx.forNode(node));
      }
    else for (let i = 0; i < nodes.length; i++) table.put(i, NO_TEMPLATES);
    return layout(
      zone,
      nodes,
      sizes,
      table,
      templates,
      ctx.negative,
      withTemplates,
      opts.allocate,
      rab,
      file,
      proof,
      stage,
    );
  } finally {
    // A big zone's templates and tables are not kept alive by the scratch.
    if (templateScratch.buf.length > 1 << 20) templateScratch = new Bytes();
    if (nodeTable.nodata.length > 1 << 16 || nodeTable.eQtype.length > 1 << 18) nodeTable = new NodeTable();
  }
}

/**
 * What `compileZone` reads: a `Zone`, or a `ColumnZone` (a big zone kept as columns, whose
 * nodes are made as they are read: src/zone/column-zone.ts). Both give the same image.
 */
export type CompilableZone = Zone | ColumnZone;

/** The zone's names in canonical order, as the compiler reads them. */
interface OrderedNames {
  readonly length: number;
  key(i: number): string;
  wire(i: number): string;
  /** The i-th node (a ColumnZone makes it now, unless it is still cached). */
  node(i: number): ZoneNode;
}

/** Names warmed per `warmColumns` call: their lines fit in L1/L2 until the loop reads them. */
const WARM_BLOCK = 64;
const warmSet = new Int32Array(WARM_BLOCK);
/** Past the block: what the warming read, kept so that the reads are not dropped. */
const warmRec = new Int32Array(WARM_BLOCK + 1);

/**
 * Reads, for names `from` to `to` (at most WARM_BLOCK, canonical order), the first cache line
 * each of them touches in every column the templates are written from: the key's index entry
 * and octets, the name's flags and first RRset, that RRset's columns, its first record's and
 * the record's RDATA. The templates loop reads these at random (the columns are in the file's
 * order), one miss after the other; here the block's misses of one level are independent of
 * each other, so the core has many in flight at once and the loop finds them in cache (−21%
 * of the pass's CPU in the start trace, cold19; the sections' pass showed no gain and is not
 * warmed). Writes nothing: the image is the same.
 */
function warmColumns(nodes: ColumnOrder, cols: ZoneColumns, from: number, to: number): void {
  const order = nodes.order;
  const { off, len } = nodes.keyColumns;
  const octets = nodes.octets;
  const { flags, firstSet, setType, setTtl, setNext, setFirst, recOff, recLen, recNext, slab } = cols;
  let sink = 0;
  const n = to - from;
  for (let j = 0; j < n; j++) {
    const idx = order[from + j];
    sink += off[idx] + len[idx] + flags[idx];
    warmSet[j] = firstSet[idx];
  }
  for (let j = 0; j < n; j++) {
    const idx = order[from + j];
    sink += octets[off[idx]];
    const t = warmSet[j];
    if (t < 0) {
      warmRec[j] = -1;
      continue;
    }
    sink += setType[t] + setTtl[t] + setNext[t];
    warmRec[j] = setFirst[t];
  }
  for (let j = 0; j < n; j++) {
    const r = warmRec[j];
    if (r >= 0) sink += recLen[r] + recNext[r] + slab[recOff[r]];
  }
  warmRec[WARM_BLOCK] = sink;
}

/** A Zone's nodes, sorted. */
class NodeArray implements OrderedNames {
  readonly #nodes: ZoneNode[];
  readonly length: number;
  constructor(nodes: ZoneNode[]) {
    this.#nodes = nodes;
    this.length = nodes.length;
  }
  key(i: number): string {
    return this.#nodes[i].name.key;
  }
  wire(i: number): string {
    return this.#nodes[i].name.wire;
  }
  node(i: number): ZoneNode {
    return this.#nodes[i];
  }
}

/** A ColumnZone's names by index, sorted: a node is made when it is read. */
class ColumnOrder implements OrderedNames {
  readonly #zone: ColumnZone;
  readonly #order: Int32Array;
  readonly length: number;
  /** Some name has an octet 0xfe or 0xff (`TemplateBuilder`'s `highNames`), seen by the sort. */
  readonly highNames: boolean;
  /**
   * The sort's memory, dead once sorted and already touched (the NodeTable's per-name arrays
   * are made in it: a fresh page costs ~12 µs of CPU on this VM, docs/IMAGE.md).
   */
  scratch: ArrayBuffer | undefined;
  constructor(zone: ColumnZone, sorted: SortedColumns) {
    this.#zone = zone;
    this.#order = sorted.order;
    this.length = sorted.order.length;
    this.highNames = sorted.highNames;
    this.scratch = sorted.scratch;
  }
  key(i: number): string {
    return this.#zone.keyAt(this.#order[i]);
  }
  wire(i: number): string {
    return this.#zone.wireAt(this.#order[i]);
  }
  node(i: number): ZoneNode {
    return this.#zone.nodeAt(this.#order[i]);
  }
  /** The zone's name index of the i-th name. */
  index(i: number): number {
    return this.#order[i];
  }
  /** The name indexes in canonical order. */
  get order(): Int32Array {
    return this.#order;
  }
  /** The key table's per-index columns (`keyOff`/`keyLen` by name index). */
  get keyColumns(): { readonly off: Int32Array; readonly len: Uint8Array } {
    return this.#zone._index;
  }
  /** The octets the keys (and spellings) lie in (read after the load: no longer grown). */
  get octets(): Uint8Array {
    return this.#zone._index.octets;
  }
  /** Where the i-th name's key lies in `octets`. */
  keyOff(i: number): number {
    return this.#zone._index.off[this.#order[i]];
  }
  /** The i-th name's key length (also its spelling's). */
  keyLen(i: number): number {
    return this.#zone._index.len[this.#order[i]];
  }
  /** Where the i-th name's spelling lies in `octets`, -1 when spelled as its key. */
  spelling(i: number): number {
    return this.#zone.spellingAt(this.#order[i]);
  }
}

/** Per name of the zone being compiled (canonical order): its templates and answer entries. */
class NodeTable {
  /** Offsets in the TEMPLATES section, -1 for none. */
  nodata = new Int32Array(64);
  referral = new Int32Array(64);
  entryFirst = new Int32Array(64);
  entryCount = new Int32Array(64);
  eQtype = new Uint16Array(256);
  /** Template offset, or -1 with the fallback reason in eReason. */
  eTpl = new Int32Array(256);
  eReason = new Uint8Array(256);
  entries = 0;

  /**
   * Ready for `names` names; `entries`: about how many answer entries (a big zone's: its entry
   * arrays made that big at once in one scratch buffer, instead of grown by doubling, each
   * doubling a copy into fresh pages; room left untouched costs nothing).
   */
  reset(names: number, entries = 0, room?: ArrayBuffer): this {
    if (entries * 7 >= BIG_TABLE) {
      const mem = new ArrayBuffer(entries * 7);
      this.eTpl = new Int32Array(mem, 0, entries);
      this.eQtype = new Uint16Array(mem, entries * 4, entries);
      this.eReason = new Uint8Array(mem, entries * 6, entries);
    }
    if (names * 16 >= BIG_TABLE) {
      // A big zone's: exactly its names, in `room` (the sort's memory, dead once sorted: no
      // fresh pages) or one scratch buffer (written whole).
      const mem = room !== undefined && room.byteLength >= names * 16 ? room : new ArrayBuffer(names * 16);
      this.nodata = new Int32Array(mem, 0, names);
      this.referral = new Int32Array(mem, names * 4, names);
      this.entryFirst = new Int32Array(mem, names * 8, names);
      this.entryCount = new Int32Array(mem, names * 12, names);
    } else if (this.nodata.length < names) {
      let n = this.nodata.length;
      while (n < names) n *= 2;
      this.nodata = new Int32Array(n);
      this.referral = new Int32Array(n);
      this.entryFirst = new Int32Array(n);
      this.entryCount = new Int32Array(n);
    }
    this.entries = 0;
    return this;
  }

  /**
   * Name `i`'s entries `plainQtypes[0, n)` → templates `plainAts[0, n)` (QTYPEs distinct, in
   * any order: written sorted), its NODATA template `nodata`, no referral.
   */
  putPlain(name: number, n: number, nodata: number, reasons = false, referral = -1): void {
    const i = name;
    this.nodata[i] = nodata;
    this.referral[i] = referral;
    const e = this.entries;
    this.entryFirst[i] = e;
    this.entryCount[i] = n;
    if (e + n > this.eQtype.length) this.#grow(e + n);
    const q = this.eQtype;
    const t = this.eTpl;
    const why = this.eReason;
    for (let k = 0; k < n; k++) {
      // Insertion sort by QTYPE: a handful of entries.
      const qt = plainQtypes[k];
      const at = plainAts[k];
      const reason = reasons && at < 0 ? plainReasons[k] : 0;
      let j = e + k - 1;
      while (j >= e && q[j] > qt) {
        q[j + 1] = q[j];
        t[j + 1] = t[j];
        why[j + 1] = why[j];
        j--;
      }
      q[j + 1] = qt;
      t[j + 1] = at;
      why[j + 1] = reason;
    }
    this.entries = e + n;
  }

  #grow(need: number): void {
    let n = this.eQtype.length;
    while (n < need) n *= 2;
    const q = new Uint16Array(n);
    q.set(this.eQtype);
    this.eQtype = q;
    const t = new Int32Array(n);
    t.set(this.eTpl);
    this.eTpl = t;
    const r2 = new Uint8Array(n);
    r2.set(this.eReason);
    this.eReason = r2;
  }

  put(name: number, r: NodeTemplates): void {
    const i = name;
    this.nodata[i] = r.nodata === undefined ? -1 : r.nodata.at;
    this.referral[i] = r.referral === undefined ? -1 : r.referral.at;
    const list = r.entries;
    let e = this.entries;
    this.entryFirst[i] = e;
    this.entryCount[i] = list.length;
    if (e + list.length > this.eQtype.length) this.#grow(e + list.length);
    for (let k = 0; k < list.length; k++, e++) {
      const x = list[k];
      this.eQtype[e] = x.qtype;
      this.eTpl[e] = x.tpl === undefined ? -1 : x.tpl.at;
      this.eReason[e] = x.tpl === undefined ? x.reason : 0;
    }
    this.entries = e;
  }
}

let nodeTable = new NodeTable();
/** From this many octets of per-name arrays (~260,000 names) a NodeTable's are one scratch buffer. */
const BIG_TABLE = 4 << 20;

/** Answer entries of one plain name (TemplateBuilder.columnPlain), before they are sorted. */
const plainQtypes = new Int32Array(64);
const plainAts = new Int32Array(64);
/** Their fallback reasons where no template was made (`TemplateBuilder.columnData`). */
const plainReasons = new Uint8Array(64);
/** The target RRsets a template's additional section holds so far (`#encodedSetAt`, `#encodeReferral`). */
let placedSets = new Int32Array(256);
/** A referral's optional additional RRsets and their names' indexes, until the glue is written. */
let optionalSets = new Int32Array(256);
let optionalNames = new Int32Array(256);

/** `a` with twice the room, its octets kept (an RRset naming more targets than fit). */
function doubled(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}
/** The label starts of a key (`#columnGlue`). */
const labelStarts = new Int32Array(128);
/** `#columnChase`: the template would pass 65,535 octets. */
const CHASE_TOO_LARGE = -2;

/**
 * The header of a plain template (`#plainData`'s: exact, AA, NOERROR, the body all required,
 * no patches or watch labels) of `size` octets with a body of `body` and `count` answers.
 */
function plainHeader(
  b: Uint8Array,
  start: number,
  size: number,
  body: number,
  count: number,
  qname: number,
): void {
  put32(b, start, size);
  put32(b, start + 4, TEMPLATE_HEADER_SIZE);
  put32(b, start + 8, body);
  put32(b, start + 12, body);
  put16(b, start + 16, count);
  put32(b, start + 18, 0);
  put16(b, start + 22, 0);
  put16(b, start + 24, 0x0400);
  b[start + 26] = qname;
  b[start + 27] = qname;
  put32(b, start + 28, 0);
}

/** A record's owner as the pointer to the question (0xc00c), TYPE, CLASS, TTL and RDLENGTH `len` at `p`. */
function ownerPointer(b: Uint8Array, p: number, type: number, cls: number, ttl: number, len: number): void {
  b[p] = 0xc0;
  b[p + 1] = 12;
  writeTypeClassTtl(b, p + 2, type, cls, ttl);
  b[p + 10] = len >> 8;
  b[p + 11] = len;
}

/** RRset `t` is one of the first `n` of `placedSets`. */
function placedBefore(t: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (placedSets[k] === t) return true;
  return false;
}

/** The first RRset of `type` at name index `idx` of the columns, or -1. */
function setOfType(cols: ZoneColumns, idx: number, type: number): number {
  for (let t = cols.firstSet[idx]; t >= 0; t = cols.setNext[t]) if (cols.setType[t] === type) return t;
  return -1;
}

/** What `TemplateBuilder.forNode` gives for one name. */
interface NodeTemplates {
  entries: Entry[];
  nodata: Tpl | undefined;
  referral: Tpl | undefined;
}

const NO_TEMPLATES: NodeTemplates = { entries: [], nodata: undefined, referral: undefined };

/** The TEMPLATES section under construction, reused from one compile to the next. */
let templateScratch = new Bytes();

/** `ArrayBuffer` with ES2024's resizing (Node 20 has it; the ES2022 typings do not). */
type ResizableArrayBuffer = ArrayBuffer & { resize(bytes: number): void };
type ResizableArrayBufferConstructor = new (bytes: number, opts: { maxByteLength: number }) => ArrayBuffer;
const RESIZABLE = typeof (ArrayBuffer.prototype as Partial<ResizableArrayBuffer>).resize === 'function';
/** An image's length is a u32 (its header's TOTAL_LENGTH). */
const MAX_IMAGE = 0xffff_fffc;

/** The sizes of an image's sections that do not depend on its templates. */
interface Sizes {
  namedataLen: number;
  rdataLen: number;
  totalRrsets: number;
  spelled: boolean;
  spellLen: number;
  slots: number;
  /** Where ANSWERS starts: the header, the section table and the sections before it. */
  beforeAnswers: number;
}

function measure(zone: CompilableZone, nodes: OrderedNames): Sizes {
  const originKey = zone.origin.key;
  let namedataLen = 0;
  let rdataLen = 0;
  let totalRrsets = 0;
  if (nodes instanceof ColumnOrder) for (let i = 0; i < nodes.length; i++) namedataLen += 1 + nodes.keyLen(i);
  else for (let i = 0; i < nodes.length; i++) namedataLen += 1 + nodes.key(i).length;
  if (zone instanceof ColumnZone) {
    // Counted in the columns: no node is made for it.
    const totals = zone.totals();
    totalRrsets = totals.rrsets;
    rdataLen = totals.rdataOctets;
  } else
    for (let i = 0; i < nodes.length; i++) {
      const sets = nodes.node(i).rrsets;
      totalRrsets += sets.length;
      for (let k = 0; k < sets.length; k++) {
        const rd = sets[k].rdata;
        for (let j = 0; j < rd.length; j++) rdataLen += 2 + rd[j].length;
      }
    }
  namedataLen = (namedataLen + 3) & ~3;
  rdataLen = (rdataLen + 3) & ~3;
  // SPELLING (only when some owner is not spelled in lower case): per name an offset, then names.
  let spelled = false;
  let spellLen = 0;
  if (nodes instanceof ColumnOrder) {
    for (let i = 0; i < nodes.length; i++)
      if (nodes.spelling(i) >= 0) {
        spelled = true;
        spellLen += 1 + nodes.keyLen(i);
      }
  } else
    for (let i = 0; i < nodes.length; i++) {
      const wire = nodes.wire(i);
      if (wire !== nodes.key(i)) {
        spelled = true;
        spellLen += 1 + wire.length;
      }
    }
  spellLen = (spellLen + 3) & ~3;
  let slots = 8;
  while (slots < nodes.length * 2) slots *= 2;
  const beforeAnswers =
    HEADER_SIZE +
    (spelled ? SECTION_IDS_SPELLED : SECTION_IDS).length * SECTION_ENTRY_SIZE +
    ((originKey.length + 3) & ~3) +
    nodes.length * NAME_RECORD_SIZE +
    namedataLen +
    8 +
    slots * 4 +
    totalRrsets * RRSET_RECORD_SIZE +
    rdataLen;
  return { namedataLen, rdataLen, totalRrsets, spelled, spellLen, slots, beforeAnswers };
}

/**
 * Lays the image out in one buffer sized up front; every section written in place. With
 * `rab`, the templates are already in it from `measured.beforeAnswers` on (compileZone).
 */
function layout(
  zone: CompilableZone,
  nodes: OrderedNames,
  measured: Sizes,
  table: NodeTable,
  templates: Bytes,
  negative: Tpl | undefined,
  withTemplates: boolean,
  allocate: ((bytes: number) => Uint8Array) | undefined,
  rab: ArrayBuffer | undefined,
  file?: ImageFile,
  proof?: ProofSection,
  stage?: (stage: string) => void,
): Uint8Array | number {
  const originKey = zone.origin.key;
  const { namedataLen, rdataLen, totalRrsets, spelled, spellLen, slots } = measured;
  const totalEntries = table.entries;

  const plainIds = spelled ? SECTION_IDS_SPELLED : SECTION_IDS;
  const sectionIds = proof === undefined ? plainIds : [...plainIds, proof.id];
  const sizes = [
    (originKey.length + 3) & ~3,
    nodes.length * NAME_RECORD_SIZE,
    namedataLen,
    8 + slots * 4,
    totalRrsets * RRSET_RECORD_SIZE,
    rdataLen,
    totalEntries * ANSWER_ENTRY_SIZE,
    templates.total,
  ];
  if (spelled) sizes.push(nodes.length * 4 + spellLen);
  // A signed zone's proof index (proof-index.ts): the last section.
  if (proof !== undefined) sizes.push(proof.bytes.length);
  const starts: number[] = [];
  let at = HEADER_SIZE + sectionIds.length * SECTION_ENTRY_SIZE;
  for (const size of sizes) {
    starts.push(at);
    at += size;
  }
  const total = at;
  const [oOrigin, oNames, oNamedata, oHash, oRrsets, oRdata, oAnswers, oTemplates] = starts;
  const absTpl = (t: Tpl | undefined): number => (t === undefined ? NONE : oTemplates + t.at);
  const absAt = (at: number): number => (at < 0 ? NONE : oTemplates + at);

  let out: Uint8Array;
  if (file !== undefined) {
    if (oAnswers !== measured.beforeAnswers) throw new Error('image layout: ANSWERS moved');
    // As with `rab`, in the file: the templates move up past ANSWERS; what follows them was
    // never written (reads 0). `out` is only the header, the section table and the origin.
    templates.flush();
    file.moveUp(oAnswers, oTemplates, templates.total);
    out = new Uint8Array(oNames);
  } else if (rab !== undefined) {
    if (oAnswers !== measured.beforeAnswers) throw new Error('image layout: ANSWERS moved');
    // The templates were written at ANSWERS' start: move them up to their section. The
    // octets past them read 0 (a resizable buffer's new octets are zeros).
    templates.flush();
    const n = templates.total;
    (rab as ResizableArrayBuffer).resize(total);
    out = new Uint8Array(rab, 0, total);
    // Nothing was written past the templates' old end: SPELLING and the padding read 0.
    out.copyWithin(oTemplates, oAnswers, oAnswers + n);
  } else out = (allocate ?? ((n: number) => new Uint8Array(n)))(total);
  if (file === undefined && out.length !== total)
    throw new RangeError(`allocator returned ${out.length} octets, ${total} asked`);
  // An allocator may hand back used memory; padding and reserved octets must read 0.
  if (allocate !== undefined) out.fill(0);
  put32(out, H.MAGIC, MAGIC);
  put16(out, H.VERSION, VERSION);
  put16(out, H.HEADER_SIZE, HEADER_SIZE);
  put32(out, H.TOTAL_LENGTH, total);
  put32(out, H.SECTION_COUNT, sectionIds.length);
  put32(out, H.SECTION_TABLE, HEADER_SIZE);
  put16(out, H.CLASS, zone.class);
  put16(out, H.ORIGIN_LENGTH, originKey.length);
  put32(out, H.SERIAL, zone.serial);
  put32(out, H.NAME_COUNT, nodes.length);
  put32(out, H.RRSET_COUNT, totalRrsets);
  put32(out, H.RECORD_COUNT, zone.recordCount);
  put32(out, H.NEGATIVE_TEMPLATE, absTpl(negative));
  put32(out, H.FLAGS, withTemplates ? 1 : 0);
  for (let s = 0; s < sectionIds.length; s++) {
    const e = HEADER_SIZE + s * SECTION_ENTRY_SIZE;
    put32(out, e, sectionIds[s]);
    put32(out, e + 4, starts[s]);
    put32(out, e + 8, sizes[s]);
  }
  for (let i = 0; i < originKey.length; i++) out[oOrigin + i] = originKey.charCodeAt(i);
  const proofAt = proof === undefined ? total : starts[starts.length - 1];
  if (proof !== undefined) {
    if (file !== undefined) file.write(proof.bytes, proofAt);
    else out.set(proof.bytes, proofAt);
  }

  // Hash table: open addressing, load ≤ 1/2; slots hold name index + 1.
  if (file === undefined) put32(out, oHash, slots);
  const slotMask = slots - 1;
  // A big zone's table and home slots (`writeColumns`): one scratch buffer (zeroed, huge pages).
  let hash: Uint32Array;
  let homes: Int32Array | undefined;
  if (nodes instanceof ColumnOrder && (slots + nodes.length) * 4 >= BIG_TABLE) {
    const mem = new ArrayBuffer((slots + nodes.length) * 4);
    hash = new Uint32Array(mem, 0, slots);
    homes = new Int32Array(mem, slots * 4, nodes.length);
  } else {
    if (hashScratch.length < slots) hashScratch = new Uint32Array(slots);
    hash = hashScratch;
    hash.fill(0, 0, slots);
  }

  const cols = zone instanceof ColumnZone ? zone.columns() : undefined;
  const at0: ColumnStarts = {
    name: oNames,
    data: oNamedata,
    set: oRrsets,
    rd: oRdata,
    ans: oAnswers,
  };
  if (cols !== undefined && file !== undefined) {
    // Into the file: the sections through the same stages, then the rest, the head last.
    writeColumns(file, nodes as ColumnOrder, cols, table, absAt, at0, hash, slotMask, homes);
    stage?.('names written');
    finishFile(file, out, nodes, spelled, starts, hash, oHash, slots, proofAt);
    return total;
  }
  if (cols !== undefined && rab !== undefined) {
    // In place in the resizable buffer: the sections written through plain stages.
    writeColumns(out, nodes as ColumnOrder, cols, table, absAt, at0, hash, slotMask, homes);
    return finish(out, nodes, spelled, starts, hash, oHash, slots, templates, oTemplates, rab);
  }
  let pName = oNames;
  let pNamedata = oNamedata;
  let pRrset = oRrsets;
  let pRdata = oRdata;
  let pAnswer = oAnswers;
  let rrsetCount = 0;
  let answerCount = 0;
  for (let i = 0; i < nodes.length; i++) {
    const key = nodes.key(i);
    let s = fnv1aString(key) & slotMask;
    while (hash[s] !== 0) s = (s + 1) & slotMask;
    hash[s] = i + 1;

    if (cols !== undefined) {
      // A ColumnZone's name, RRsets and RDATA read from its columns: no node is made.
      const idx = (nodes as ColumnOrder).index(i);
      let setCount = 0;
      let flags = cols.flags[idx] & 31;
      for (let t = cols.firstSet[idx]; t >= 0; t = cols.setNext[t]) {
        setCount++;
        if (cols.setType[t] === RRType.CNAME) flags |= NameFlag.HAS_CNAME;
      }
      if (key.charCodeAt(0) === 1 && key.charCodeAt(1) === 0x2a) flags |= NameFlag.IS_WILDCARD;
      if (setCount === 0) flags |= NameFlag.EMPTY;
      pName = nameRecord(out, pName, pNamedata, flags, rrsetCount, setCount, answerCount, table, i, absAt);
      out[pNamedata++] = key.length;
      for (let k = 0; k < key.length; k++) out[pNamedata++] = key.charCodeAt(k);
      const slab = cols.slab;
      for (let t = cols.firstSet[idx]; t >= 0; t = cols.setNext[t]) {
        let count = 0;
        for (let r = cols.setFirst[t]; r >= 0; r = cols.recNext[r]) count++;
        put32(out, pRrset, i);
        put16(out, pRrset + 4, cols.setType[t]);
        put16(out, pRrset + 6, count);
        put32(out, pRrset + 8, cols.setTtl[t]);
        put32(out, pRrset + 12, pRdata);
        pRrset += RRSET_RECORD_SIZE;
        rrsetCount++;
        for (let r = cols.setFirst[t]; r >= 0; r = cols.recNext[r]) {
          const at = cols.recOff[r];
          const n = cols.recLen[r];
          out[pRdata] = n >> 8;
          out[pRdata + 1] = n;
          pRdata += 2;
          if (n <= 32) for (let b = 0; b < n; b++) out[pRdata + b] = slab[at + b];
          else out.set(slab.subarray(at, at + n), pRdata);
          pRdata += n;
        }
      }
    } else {
      const node = nodes.node(i);
      const sets = node.rrsets;
      let flags = node.flags & 31;
      if (node.get(RRType.CNAME)) flags |= NameFlag.HAS_CNAME;
      if (node.name.isWildcard) flags |= NameFlag.IS_WILDCARD;
      if (sets.length === 0) flags |= NameFlag.EMPTY;
      pName = nameRecord(out, pName, pNamedata, flags, rrsetCount, sets.length, answerCount, table, i, absAt);
      out[pNamedata++] = key.length;
      for (let k = 0; k < key.length; k++) out[pNamedata++] = key.charCodeAt(k);

      for (let k = 0; k < sets.length; k++) {
        const set = sets[k];
        const rd = set.rdata;
        put32(out, pRrset, i);
        put16(out, pRrset + 4, set.type);
        put16(out, pRrset + 6, rd.length);
        put32(out, pRrset + 8, set.ttl);
        put32(out, pRrset + 12, pRdata);
        pRrset += RRSET_RECORD_SIZE;
        rrsetCount++;
        for (let j = 0; j < rd.length; j++) {
          const d = rd[j];
          const n = d.length;
          out[pRdata] = n >> 8;
          out[pRdata + 1] = n;
          pRdata += 2;
          if (n <= 32) for (let b = 0; b < n; b++) out[pRdata + b] = d[b];
          else out.set(d, pRdata);
          pRdata += n;
        }
      }
    }
    const first = table.entryFirst[i];
    const last = first + table.entryCount[i];
    for (let e = first; e < last; e++) {
      const at = table.eTpl[e];
      put16(out, pAnswer, table.eQtype[e]);
      out[pAnswer + 2] = at >= 0 ? AnswerEntryKind.TEMPLATE : AnswerEntryKind.FALLBACK;
      out[pAnswer + 3] = table.eReason[e];
      put32(out, pAnswer + 4, absAt(at));
      pAnswer += ANSWER_ENTRY_SIZE;
      answerCount++;
    }
  }
  return finish(out, nodes, spelled, starts, hash, oHash, slots, templates, oTemplates, rab);
}

/** The hash slots, SPELLING and (without `rab`) the templates: the end of `layout`. */
function finish(
  out: Uint8Array,
  nodes: OrderedNames,
  spelled: boolean,
  starts: number[],
  hash: Uint32Array,
  oHash: number,
  slots: number,
  templates: Bytes,
  oTemplates: number,
  rab: ArrayBuffer | undefined,
): Uint8Array {
  const slot0 = oHash + 8;
  if (LITTLE_ENDIAN) out.set(new Uint8Array(hash.buffer, hash.byteOffset, slots * 4), slot0);
  else for (let k = 0; k < slots; k++) if (hash[k] !== 0) put32(out, slot0 + k * 4, hash[k]);
  if (hash.length > 1 << 16) hashScratch = new Uint32Array(64);
  if (spelled) {
    const oSpell = starts[8];
    let p = oSpell + nodes.length * 4;
    if (nodes instanceof ColumnOrder) p = spellColumns(out, oSpell, p, oSpell, nodes);
    else
      for (let i = 0; i < nodes.length; i++) {
        const wire = nodes.wire(i);
        if (wire === nodes.key(i)) {
          put32(out, oSpell + i * 4, NONE);
          continue;
        }
        put32(out, oSpell + i * 4, p);
        out[p++] = wire.length;
        for (let k = 0; k < wire.length; k++) out[p++] = wire.charCodeAt(k);
      }
  }
  // Template bodies hold absolute message offsets only; the record itself is position-free.
  if (rab === undefined) out.set(templates.view(), oTemplates);
  return out;
}

/**
 * SPELLING's offsets (at `o` in `out`) and names (from `p`) of a ColumnZone's names, read
 * from its octets; `base`: what `o` is in the image. Returns the end.
 */
function spellColumns(out: Uint8Array, o: number, p: number, base: number, nodes: ColumnOrder): number {
  const octets = nodes.octets;
  for (let i = 0; i < nodes.length; i++) {
    const w = nodes.spelling(i);
    if (w < 0) {
      put32(out, o + i * 4, NONE);
      continue;
    }
    put32(out, o + i * 4, base + (p - o));
    const n = nodes.keyLen(i);
    out[p++] = n;
    for (let k = 0; k < n; k++) out[p++] = octets[w + k];
  }
  return p;
}

/**
 * `finish` for an image written into a file: the hash section, SPELLING (each built in a
 * buffer of its own and written once) and `head` (the header, the section table and the
 * origin) at offset 0. The octets `finish` writes into an image in memory.
 */
function finishFile(
  file: ImageFile,
  head: Uint8Array,
  nodes: OrderedNames,
  spelled: boolean,
  starts: number[],
  hash: Uint32Array,
  oHash: number,
  slots: number,
  /** Where SPELLING ends (the image's end, or the proof index's start). */
  total: number,
): void {
  if (LITTLE_ENDIAN) {
    // The slots' octets written as they lie in `hash` (no 8 MiB copy for a big zone's).
    const count = new Uint8Array(8);
    put32(count, 0, slots);
    file.write(count, oHash);
    file.write(new Uint8Array(hash.buffer, hash.byteOffset, slots * 4), oHash + 8);
  } else file.write(hashSection(hash, slots), oHash);
  if (hash.length > 1 << 16) hashScratch = new Uint32Array(64);
  if (spelled) {
    const oSpell = starts[8];
    const sp = new Uint8Array(total - oSpell);
    let p = nodes.length * 4;
    if (nodes instanceof ColumnOrder) p = spellColumns(sp, 0, p, oSpell, nodes);
    else
      for (let i = 0; i < nodes.length; i++) {
        const wire = nodes.wire(i);
        if (wire === nodes.key(i)) {
          put32(sp, i * 4, NONE);
          continue;
        }
        put32(sp, i * 4, oSpell + p);
        sp[p++] = wire.length;
        for (let k = 0; k < wire.length; k++) sp[p++] = wire.charCodeAt(k);
      }
    file.write(sp, oSpell);
  }
  file.write(head, 0);
}

/** The names in canonical order as the proof index reads them (only a signed zone's are read). */
function proofNames(zone: CompilableZone, nodes: OrderedNames): ProofNames {
  if (nodes instanceof ColumnOrder) {
    const cols = (zone as ColumnZone).columns();
    return {
      length: nodes.length,
      // The key's octets in place (name 0, the origin, is not in them: its key).
      key: (i) =>
        nodes.index(i) === 0
          ? nodes.key(i)
          : nodes.octets.subarray(nodes.keyOff(i), nodes.keyOff(i) + nodes.keyLen(i)),
      rdata: (i, type) => {
        for (let t = cols.firstSet[nodes.index(i)]; t >= 0; t = cols.setNext[t]) {
          if (cols.setType[t] !== type) continue;
          const r = cols.setFirst[t];
          return r < 0 ? undefined : cols.slab.subarray(cols.recOff[r], cols.recOff[r] + cols.recLen[r]);
        }
        return undefined;
      },
    };
  }
  return {
    length: nodes.length,
    key: (i) => nodes.key(i),
    rdata: (i, type) => nodes.node(i).get(type)?.rdata[0],
  };
}

/** The HASH section of `slots` slots. */
function hashSection(hash: Uint32Array, slots: number): Uint8Array {
  const section = new Uint8Array(8 + slots * 4);
  put32(section, 0, slots);
  if (LITTLE_ENDIAN) section.set(new Uint8Array(hash.buffer, hash.byteOffset, slots * 4), 8);
  else for (let k = 0; k < slots; k++) if (hash[k] !== 0) put32(section, 8 + k * 4, hash[k]);
  return section;
}

/**
 * Part of one section, written in a plain buffer and copied into `out` (one `set`) when full:
 * single stores into an array over a resizable buffer cost V8 11 several times more.
 */
class Stage {
  buf: Uint8Array;
  n = 0;
  /** Where buf[0] goes in `out`. */
  at: number;
  readonly #out: Uint8Array | ImageFile;
  constructor(out: Uint8Array | ImageFile, at: number) {
    this.#out = out;
    this.at = at;
    this.buf = new Uint8Array(1 << 16);
  }
  /** Room for `k` more octets at `n` (which may move to 0). */
  room(k: number): void {
    if (this.n + k <= this.buf.length) return;
    this.flush();
    if (k > this.buf.length) this.buf = new Uint8Array(k * 2);
  }
  flush(): void {
    if (this.#out instanceof ImageFile) this.#out.write(this.buf.subarray(0, this.n), this.at);
    else this.#out.set(this.buf.subarray(0, this.n), this.at);
    this.at += this.n;
    this.n = 0;
  }
  /** The offset in `out` of the next octet. */
  get pos(): number {
    return this.at + this.n;
  }
}

/** Where each section's records start (`writeColumns`). */
interface ColumnStarts {
  name: number;
  data: number;
  set: number;
  rd: number;
  ans: number;
}

/**
 * `layout`'s loop for a ColumnZone compiled in place: NAMES, NAMEDATA, RRSETS, RDATA and
 * ANSWERS of its names from the columns through stages (the same octets as the loop in
 * `layout`), from `at` on, and their hash slots.
 */
function writeColumns(
  out: Uint8Array | ImageFile,
  nodes: ColumnOrder,
  cols: ZoneColumns,
  table: NodeTable,
  absAt: (at: number) => number,
  at: ColumnStarts,
  hash: Uint32Array,
  slotMask: number,
  /** Room for the names' home slots (else allocated). */
  homeRoom?: Int32Array,
): void {
  const sName = new Stage(out, at.name);
  const sData = new Stage(out, at.data);
  const sSet = new Stage(out, at.set);
  const sRd = new Stage(out, at.rd);
  const sAns = new Stage(out, at.ans);
  const {
    flags: nameFlags,
    firstSet,
    setNext,
    setType,
    setTtl,
    setFirst,
    recNext,
    recOff,
    recLen,
    slab,
  } = cols;
  let rrsetCount = 0;
  let answerCount = 0;
  const octets = nodes.octets;
  const homes = homeRoom ?? new Int32Array(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    // The key's octets, read where the columns keep them (no string).
    const ko = nodes.keyOff(i);
    const kn = nodes.keyLen(i);
    const idx = nodes.index(i);
    let setCount = 0;
    let flags = nameFlags[idx] & 31;
    for (let t = firstSet[idx]; t >= 0; t = setNext[t]) {
      setCount++;
      if (setType[t] === RRType.CNAME) flags |= NameFlag.HAS_CNAME;
    }
    if (octets[ko] === 1 && octets[ko + 1] === 0x2a) flags |= NameFlag.IS_WILDCARD;
    if (setCount === 0) flags |= NameFlag.EMPTY;
    sName.room(NAME_RECORD_SIZE);
    sData.room(1 + kn);
    nameRecord(sName.buf, sName.n, sData.pos, flags, rrsetCount, setCount, answerCount, table, i, absAt);
    sName.n += NAME_RECORD_SIZE;
    const d = sData.buf;
    let pd = sData.n;
    d[pd++] = kn;
    // The key copied and hashed (FNV-1a, format.ts's `fnv1a`) in one pass over its octets.
    let h = FNV_OFFSET;
    for (let k = 0; k < kn; k++) {
      const c = octets[ko + k];
      d[pd++] = c;
      h = Math.imul(h ^ c, FNV_PRIME);
    }
    homes[i] = h & slotMask;
    sData.n = pd;
    for (let t = firstSet[idx]; t >= 0; t = setNext[t]) {
      let count = 0;
      let octets = 0;
      for (let r = setFirst[t]; r >= 0; r = recNext[r]) {
        count++;
        octets += 2 + recLen[r];
      }
      sSet.room(RRSET_RECORD_SIZE);
      sRd.room(octets);
      const b = sSet.buf;
      const p = sSet.n;
      put32(b, p, i);
      put16(b, p + 4, setType[t]);
      put16(b, p + 6, count);
      put32(b, p + 8, setTtl[t]);
      put32(b, p + 12, sRd.pos);
      sSet.n = p + RRSET_RECORD_SIZE;
      rrsetCount++;
      const rb = sRd.buf;
      let pr = sRd.n;
      for (let r = setFirst[t]; r >= 0; r = recNext[r]) {
        const at = recOff[r];
        const n = recLen[r];
        rb[pr] = n >> 8;
        rb[pr + 1] = n;
        pr += 2;
        // One copy loop for every length: a `set` branch for the long RDATA, first taken after
        // V8 optimized this loop, cost a deoptimization and a recompile.
        for (let k = 0; k < n; k++) rb[pr + k] = slab[at + k];
        pr += n;
      }
      sRd.n = pr;
    }
    const first = table.entryFirst[i];
    const last = first + table.entryCount[i];
    sAns.room((last - first) * ANSWER_ENTRY_SIZE);
    const ab = sAns.buf;
    let pa = sAns.n;
    for (let e = first; e < last; e++) {
      const at = table.eTpl[e];
      put16(ab, pa, table.eQtype[e]);
      ab[pa + 2] = at >= 0 ? AnswerEntryKind.TEMPLATE : AnswerEntryKind.FALLBACK;
      ab[pa + 3] = table.eReason[e];
      put32(ab, pa + 4, absAt(at));
      pa += ANSWER_ENTRY_SIZE;
      answerCount++;
    }
    sAns.n = pa;
  }
  sName.flush();
  sData.flush();
  sSet.flush();
  sRd.flush();
  sAns.flush();
  fillSlots(hash, homes, nodes.length, slotMask);
}

/**
 * The hash slots of names `[0, n)` from their home slots, inserted in index order (open
 * addressing, linear probing: the slots `layout`'s loop gives). A loop of its own: its cache
 * misses into the table overlap, where inside `writeColumns`' loop each one stalled it.
 */
function fillSlots(hash: Uint32Array, homes: Int32Array, n: number, slotMask: number): void {
  for (let i = 0; i < n; i++) {
    let s = homes[i];
    while (hash[s] !== 0) s = (s + 1) & slotMask;
    hash[s] = i + 1;
  }
}

/** Writes name `i`'s record of the NAMES section at `p`; returns the next record's offset. */
function nameRecord(
  out: Uint8Array,
  p: number,
  namedata: number,
  flags: number,
  rrsetFirst: number,
  rrsetCount: number,
  answerFirst: number,
  table: NodeTable,
  i: number,
  absAt: (at: number) => number,
): number {
  put32(out, p, namedata);
  put32(out, p + 4, flags);
  put32(out, p + 8, rrsetFirst);
  put32(out, p + 12, rrsetCount);
  put32(out, p + 16, answerFirst);
  put32(out, p + 20, table.entryCount[i]);
  put32(out, p + 24, absAt(table.nodata[i]));
  put32(out, p + 28, absAt(table.referral[i]));
  return p + NAME_RECORD_SIZE;
}

/** The slots are u32 little-endian: copied as they are when the machine's order is that. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The hash slots of the image being laid out (reused). */
let hashScratch = new Uint32Array(64);

/** A u32, little-endian, at `p` (also src/image/patch.ts's). */
export function put32(b: Uint8Array, p: number, v: number): void {
  b[p] = v;
  b[p + 1] = v >>> 8;
  b[p + 2] = v >>> 16;
  b[p + 3] = v >>> 24;
}

/** A u16, little-endian, at `p`. */
export function put16(b: Uint8Array, p: number, v: number): void {
  b[p] = v;
  b[p + 1] = v >>> 8;
}

const SECTION_IDS = [
  SectionId.ORIGIN,
  SectionId.NAMES,
  SectionId.NAMEDATA,
  SectionId.HASH,
  SectionId.RRSETS,
  SectionId.RDATA,
  SectionId.ANSWERS,
  SectionId.TEMPLATES,
];
const SECTION_IDS_SPELLED = [...SECTION_IDS, SectionId.SPELLING];

/** Writes a template record at the end of `b`; returns its offset. */
function writeTemplate(b: Bytes, t: TplParts): number {
  let watchBytes = 0;
  for (const w of t.watch) watchBytes += w.length;
  const bodyOffset = (TEMPLATE_HEADER_SIZE + t.patches.length * 2 + watchBytes + 3) & ~3;
  const size = (bodyOffset + t.length + 3) & ~3;
  b.ensure(size);
  const start = b.len;
  const h = b.buf;
  put32(h, start, size);
  put32(h, start + 4, bodyOffset);
  put32(h, start + 8, t.requiredLength);
  put32(h, start + 12, t.length);
  put16(h, start + 16, t.an);
  put16(h, start + 18, t.ns);
  put16(h, start + 20, t.arRequired);
  put16(h, start + 22, t.arOptional);
  put16(h, start + 24, t.dnsFlags);
  h[start + 26] = t.qnameLength;
  h[start + 27] = t.anchorLength;
  put16(h, start + 28, t.patches.length);
  h[start + 30] = t.watch.length;
  h[start + 31] = t.tflags;
  b.len = start + TEMPLATE_HEADER_SIZE;
  for (const p of t.patches) b.u16(p);
  for (const w of t.watch) b.latin1(w);
  const buf = b.buf;
  while (b.len < start + bodyOffset) buf[b.len++] = 0;
  const body = t.buf;
  const from = t.start;
  const n = t.length;
  if (n <= 64) for (let i = 0; i < n; i++) buf[b.len + i] = body[from + i];
  else buf.set(body.subarray(from, from + n), b.len);
  b.len += n;
  while (b.len < start + size) buf[b.len++] = 0;
  return b.flushed + start;
}

/** An encoded answer: the message after the question (a view of the encoder's scratch), and its parts. */
interface Encoded {
  /** The body is buf[start, start + length). */
  buf: Uint8Array;
  start: number;
  length: number;
  requiredLength: number;
  an: number;
  ns: number;
  arRequired: number;
  arOptional: number;
}

// ---------------------------------------------------------------------------------------
// The template encoder: writes a response as `MessageWriter` (wire/encode.ts) writes it with
// no size limit and no OPT — same name compression, octet for octet (the table's hash, slots
// and name check are wire/name-compression.ts, shared with it) — into one scratch buffer
// reused by every template, and notes where it wrote each compression pointer, so a shiftable
// template's patch list is read off instead of found by encoding it twice more. The rules it
// mirrors: a name's longest suffix already written whole (case-folded, at an offset below
// 0x4000, while fewer than 4096 suffixes are known) becomes a pointer to its first
// occurrence; an owner equal to the previous owner or question name points where that one
// can be pointed at; RDATA names are compressed only where `compressibleNameOffsets` allows.

const MESSAGE_LIMIT = 65535;
// Module-local consts, read once (as in wire/encode.ts: an imported binding is read through its
// module cell at every use).
const POINTER_LIMIT = table.POINTER_LIMIT;
const SLOTS = table.SLOTS;
const SLOT_MASK = table.SLOT_MASK;
const MAX_TARGETS = table.MAX_TARGETS;
const FNV_PRIME = table.FNV_PRIME;
const FNV_OFFSET = table.FNV_OFFSET;

class TemplateEncoder {
  /** The message; past MESSAGE_LIMIT only as staging room (the append then fails). */
  readonly buf = new Uint8Array(MESSAGE_LIMIT + 1024);
  len = 12;
  /** Where the question ends (the body starts). */
  qEnd = 0;
  an = 0;
  ns = 0;
  ar = 0;
  /** Body-relative offsets of the pointers written, and their targets. */
  ptrAt = new Int32Array(256);
  ptrTo = new Int32Array(256);
  pointers = 0;
  #lastKey: string | undefined;
  #lastTarget = 0;
  #stagedTarget = -1;
  readonly #slotGen = new Uint32Array(SLOTS);
  readonly #slotHash = new Int32Array(SLOTS);
  readonly #slotOffset = new Uint16Array(SLOTS);
  /** The slot of each suffix known, in the order they were added (`rewind` empties them). */
  readonly #slotLog = new Uint16Array(MAX_TARGETS);
  #gen = 0;
  #targets = 0;
  /** What `mark` saved: `len`, `an`, `ns`, `ar`, `pointers`, targets known, `#lastTarget`. */
  readonly #saved = new Int32Array(7);
  #savedKey: string | undefined;
  /** Suffixes known as compression targets. */
  get targets(): number {
    return this.#targets;
  }
  readonly #labelAt = new Int32Array(128);
  readonly #suffixHash = new Int32Array(128);

  /** Starts a message with `qname` (class IN) as its question. */
  begin(qname: Name, qtype: number): void {
    this.beginWire(qname.wire, qname.key, qtype);
  }

  /** `begin` for the QNAME of wire form `wire` and case-folded key `key`. */
  beginWire(wire: string, key: string, qtype: number): void {
    this.#gen = (this.#gen + 1) >>> 0;
    if (this.#gen === 0) {
      this.#slotGen.fill(0);
      this.#gen = 1;
    }
    this.#targets = 0;
    this.#lastKey = undefined;
    this.len = 12;
    this.an = this.ns = this.ar = 0;
    this.pointers = 0;
    this.#writeName(wire, key);
    const buf = this.buf;
    buf[this.len++] = qtype >> 8;
    buf[this.len++] = qtype & 0xff;
    buf[this.len++] = 0;
    buf[this.len++] = 1;
    this.qEnd = this.len;
  }

  /**
   * Notes the message as it stands (a QNAME and what follows it), so that `rewind` can bring
   * it back after more is appended: the templates that begin alike (a CNAME's chases) are
   * encoded past their common beginning only, with the same octets as a fresh encoding.
   */
  mark(): void {
    const m = this.#saved;
    m[0] = this.len;
    m[1] = this.an;
    m[2] = this.ns;
    m[3] = this.ar;
    m[4] = this.pointers;
    m[5] = this.#targets;
    m[6] = this.#lastTarget;
    this.#savedKey = this.#lastKey;
  }

  /**
   * Back to the message `mark` noted (in the same `begin`): its length, counts and pointers,
   * and the compression targets of the names written since forgotten. Later suffixes only
   * ever probe past earlier ones, so emptying their slots leaves the table as it was.
   */
  rewind(): void {
    const m = this.#saved;
    const slotGen = this.#slotGen;
    for (let k = m[5]; k < this.#targets; k++) slotGen[this.#slotLog[k]] = 0;
    this.len = m[0];
    this.an = m[1];
    this.ns = m[2];
    this.ar = m[3];
    this.pointers = m[4];
    this.#targets = m[5];
    this.#lastTarget = m[6];
    this.#lastKey = this.#savedKey;
  }

  /** Appends `sets` to a section (0 answer, 1 authority, 2 additional); false past 65535 octets. */
  sets(section: number, sets: readonly RRset[]): boolean {
    for (let i = 0; i < sets.length; i++) {
      const s = sets[i];
      if (!this.rrset(section, s.name, s.type, s.class, s.ttl, s.rdata)) return false;
    }
    return true;
  }

  rrset(
    section: number,
    name: Name,
    type: number,
    cls: number,
    ttl: number,
    rdata: readonly Uint8Array[],
  ): boolean {
    return this.rrsetWire(section, name.wire, name.key, type, cls, ttl, rdata);
  }

  /** `rrset` for the owner of wire form `wire` and case-folded key `key` (no Name made). */
  rrsetWire(
    section: number,
    wire: string,
    key: string,
    type: number,
    cls: number,
    ttl: number,
    rdata: readonly Uint8Array[],
  ): boolean {
    for (let i = 0; i < rdata.length; i++) if (!this.#rr(wire, key, type, cls, ttl, rdata[i])) return false;
    if (section === 0) this.an += rdata.length;
    else if (section === 1) this.ns += rdata.length;
    else this.ar += rdata.length;
    return true;
  }

  /**
   * `rrsetWire` for RRset `t` of the columns, its records read where the columns keep them: a
   * view made per record only for a type with names to compress (`#rr`), none for the rest.
   */
  columnSetWire(
    section: number,
    wire: string,
    key: string,
    cls: number,
    cols: ZoneColumns,
    t: number,
  ): boolean {
    const { setType, setTtl, setFirst, recNext, recOff, recLen, slab } = cols;
    const type = setType[t];
    const ttl = setTtl[t] >>> 0;
    const names = hasCompressibleNames(type);
    let count = 0;
    for (let r = setFirst[t]; r >= 0; r = recNext[r]) {
      const at = recOff[r];
      const n = recLen[r];
      if (
        !(names
          ? this.#rr(wire, key, type, cls, ttl, slab.subarray(at, at + n))
          : this.#rrOctets(wire, key, type, cls, ttl, slab, at, n))
      )
        return false;
      count++;
    }
    if (section === 0) this.an += count;
    else if (section === 1) this.ns += count;
    else this.ar += count;
    return true;
  }

  /** `#rr` for RDATA with no name to compress: `src[at, at + n)`, copied as it is. */
  #rrOctets(
    wire: string,
    key: string,
    type: number,
    cls: number,
    ttl: number,
    src: Uint8Array,
    at: number,
    n: number,
  ): boolean {
    if (!this.#writeName(wire, key) || this.len + 10 + n > MESSAGE_LIMIT) return false;
    const buf = this.buf;
    const p = this.len;
    writeTypeClassTtl(buf, p, type, cls, ttl);
    buf[p + 8] = n >> 8;
    buf[p + 9] = n & 0xff;
    const q = p + 10;
    if (n < 64) for (let j = 0; j < n; j++) buf[q + j] = src[at + j];
    else buf.set(src.subarray(at, at + n), q);
    this.len = q + n;
    return true;
  }

  #rr(wire: string, key: string, type: number, cls: number, ttl: number, rdata: Uint8Array): boolean {
    const names = compressibleNameOffsets(type, rdata);
    if (!this.#writeName(wire, key) || this.len + 10 > MESSAGE_LIMIT) return false;
    const buf = this.buf;
    const p = this.len;
    writeTypeClassTtl(buf, p, type, cls, ttl);
    const rdlengthAt = p + 8;
    this.len = p + 10;
    let from = 0;
    for (let k = 0; k < names.length; k++) {
      const at = names[k];
      const nameLength = at >= from ? storedNameLength(rdata, at) : -1;
      if (nameLength < 0) break;
      if (!this.#copy(rdata, from, at)) return false;
      const to = this.len - at;
      for (let j = at; j < at + nameLength; j++) buf[to + j] = rdata[j];
      if (!this.#compressStaged()) return false;
      from = at + nameLength;
    }
    if (!this.#copy(rdata, from, rdata.length)) return false;
    const rdlength = this.len - rdlengthAt - 2;
    buf[rdlengthAt] = rdlength >> 8;
    buf[rdlengthAt + 1] = rdlength & 0xff;
    return true;
  }

  #copy(src: Uint8Array, from: number, to: number): boolean {
    const n = to - from;
    if (n <= 0) return true;
    if (this.len + n > MESSAGE_LIMIT) return false;
    const buf = this.buf;
    let pos = this.len;
    if (n < 64) for (let j = from; j < to; j++) buf[pos++] = src[j];
    else {
      buf.set(src.subarray(from, to), pos);
      pos += n;
    }
    this.len = pos;
    return true;
  }

  #pointer(at: number, target: number): void {
    const buf = this.buf;
    buf[at] = 0xc0 | (target >> 8);
    buf[at + 1] = target & 0xff;
    let n = this.pointers;
    if (n === this.ptrAt.length) {
      const at2 = new Int32Array(n * 2);
      at2.set(this.ptrAt);
      this.ptrAt = at2;
      const to2 = new Int32Array(n * 2);
      to2.set(this.ptrTo);
      this.ptrTo = to2;
    }
    this.ptrAt[n] = at - this.qEnd;
    this.ptrTo[n++] = target;
    this.pointers = n;
  }

  #writeName(wire: string, key: string): boolean {
    if (key === this.#lastKey) {
      if (this.len + 2 > MESSAGE_LIMIT) return false;
      this.#pointer(this.len, this.#lastTarget);
      this.len += 2;
      return true;
    }
    const buf = this.buf;
    const at = this.len;
    const n = wire.length;
    for (let i = 0; i < n; i++) buf[at + i] = wire.charCodeAt(i);
    if (!this.#compressStaged()) return false;
    if (this.#stagedTarget >= 0) {
      this.#lastKey = key;
      this.#lastTarget = this.#stagedTarget;
    }
    return true;
  }

  #compressStaged(): boolean {
    const buf = this.buf;
    const start = this.len;
    const labelAt = this.#labelAt;
    const suffixHash = this.#suffixHash;
    let labels = 0;
    let p = start;
    while (buf[p] !== 0) {
      labelAt[labels++] = p;
      p += buf[p] + 1;
    }
    let end = p + 1;
    let cut = labels;
    this.#stagedTarget = -1;
    const gen = this.#gen;
    const slotGen = this.#slotGen;
    const slotHash = this.#slotHash;
    const slotOffset = this.#slotOffset;
    let target = -1;
    if (labels > 0) {
      let h = FNV_OFFSET;
      for (let i = labels - 1; i >= 0; i--) {
        h = hashLabel(h, buf, labelAt[i]);
        suffixHash[i] = h;
      }
      search: for (let i = 0; i < labels; i++) {
        const hi = suffixHash[i];
        for (let s = slotOf(hi); slotGen[s] === gen; s = (s + 1) & SLOT_MASK) {
          if (slotHash[s] === hi && sameName(buf, labelAt[i], slotOffset[s])) {
            target = slotOffset[s];
            if (i === 0) this.#stagedTarget = target;
            cut = i;
            end = labelAt[i] + 2;
            break search;
          }
        }
      }
    }
    if (end > MESSAGE_LIMIT) {
      this.#stagedTarget = -1;
      return false;
    }
    if (target >= 0) this.#pointer(labelAt[cut], target);
    if (cut > 0 && start < POINTER_LIMIT) this.#stagedTarget = start;
    for (let i = 0; i < cut && this.#targets < MAX_TARGETS; i++) {
      const offset = labelAt[i];
      if (offset >= POINTER_LIMIT) break;
      let s = slotOf(suffixHash[i]);
      while (slotGen[s] === gen) s = (s + 1) & SLOT_MASK;
      slotGen[s] = gen;
      slotHash[s] = suffixHash[i];
      slotOffset[s] = offset;
      this.#slotLog[this.#targets++] = s;
    }
    this.len = end;
    return true;
  }

  /** The encoded parts (the body is a view of the scratch buffer, valid until the next `begin`). */
  parts(requiredEnd: number, arRequired: number): Encoded {
    const qEnd = this.qEnd;
    return {
      buf: this.buf,
      start: qEnd,
      length: this.len - qEnd,
      requiredLength: requiredEnd - qEnd,
      an: this.an,
      ns: this.ns,
      arRequired,
      arOptional: this.ar - arRequired,
    };
  }
}

const encoder = new TemplateEncoder();

/** Encodes `result` as respond.ts does, without a size limit or OPT; undefined when over 65535 octets. */
function encode(qname: Name, qtype: number, result: AnswerResult): Encoded | undefined {
  const w = encoder;
  w.begin(qname, qtype);
  if (!w.sets(0, result.answer) || !w.sets(1, result.authority) || !w.sets(2, result.glue)) return undefined;
  const requiredEnd = w.len;
  if (!w.sets(2, result.additional)) return undefined;
  let arRequired = 0;
  for (const g of result.glue) arRequired += g.rdata.length;
  return w.parts(requiredEnd, arRequired);
}

function bodyOf(e: Encoded): Uint8Array {
  return e.buf.subarray(e.start, e.start + e.length);
}

function dnsFlagsOf(result: AnswerResult): number {
  return (isAuthoritative(result) ? 0x0400 : 0) | rcodeOfKind(result.kind);
}

function isExternal(result: AnswerResult): boolean {
  return result.absent.length > 0 || result.zones.length > 1;
}

/** The last label of `key`'s part above the suffix `anchor` (key strictly under anchor). */
function labelBelow(key: string, anchorLength: number): string {
  const stop = key.length - anchorLength;
  let i = 0;
  let last = 0;
  while (i < stop) {
    last = i;
    i += key.charCodeAt(i) + 1;
  }
  return key.slice(last, stop);
}

function hasHighOctet(key: string): boolean {
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) >= 0xfe) return true;
  return false;
}

function isUnder(key: string, anchor: string): boolean {
  if (key.length <= anchor.length || !key.endsWith(anchor)) return false;
  let i = 0;
  const stop = key.length - anchor.length;
  while (i < stop) i += key.charCodeAt(i) + 1;
  return i === stop;
}

/** Every name a response of `result` writes that the encoder may compress (owners and RFC 1035 RDATA names). */
function namesOf(result: AnswerResult): string[] {
  const out: string[] = [];
  for (const list of [result.answer, result.authority, result.glue, result.additional])
    for (const set of list) {
      out.push(set.name.key);
      for (const d of set.rdata)
        for (const off of compressibleNameOffsets(set.type, d)) {
          let p = off;
          while (p < d.length && d[p] !== 0) p += d[p] + 1;
          let s = '';
          for (let k = off; k <= p && k < d.length; k++) {
            const c = d[k];
            s += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
          }
          out.push(s);
        }
    }
  return out;
}

/**
 * The case-folded key of the name an NS, MX or SRV record points at (what
 * `rdataTarget(type, rdata).key` is), made without a Name.
 */
function targetKey(type: number, rdata: Uint8Array): string {
  const pos = type === RRType.MX ? 2 : type === RRType.SRV ? 6 : 0;
  const end = pos + nameLengthAt(rdata, pos);
  return foldedLatin1(rdata, pos, end);
}

const latin1Slice = Buffer.prototype.latin1Slice as (this: Uint8Array, start: number, end: number) => string;

/**
 * The octets `b[start, end)` as a latin1 string with A–Z folded: one flat string made at once
 * when there is nothing to fold (a string built a character at a time is a chain the Map
 * lookups that follow must flatten first).
 */
function foldedLatin1(b: Uint8Array, start: number, end: number): string {
  let k = start;
  while (k < end && (b[k] < 0x41 || b[k] > 0x5a)) k++;
  if (k === end) return latin1Slice.call(b, start, end);
  return foldedChars(b, start, end);
}

function foldedChars(rdata: Uint8Array, pos: number, end: number): string {
  let s = '';
  for (let i = pos; i < end; i++) {
    const c = rdata[i];
    s += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
  }
  return s;
}

/**
 * The parts of an exact template for its own QNAME (AA, NOERROR, no required additional, no
 * patches or watch labels), reused by `#placeExact` and `#plainData`: `#place` keeps none of it.
 */
const exactParts: TplParts = {
  buf: new Uint8Array(0),
  start: 0,
  length: 0,
  requiredLength: 0,
  an: 0,
  ns: 0,
  arRequired: 0,
  arOptional: 0,
  dnsFlags: 0x0400,
  qnameLength: 0,
  anchorLength: 0,
  patches: NO_NUMBERS,
  watch: NO_STRINGS,
  tflags: 0,
};

/** A negative template watching no label. */
const NOT_WATCHED = { has: (_label: string): boolean => false };

/** The body of a template `#plainData` writes (grown for a big RRset, never shrunk past 64 KiB). */
let plainScratch = new Uint8Array(4096);

/** Builds the templates of one zone. */
class TemplateBuilder {
  readonly zone: CompilableZone;
  #catalog: Catalog | undefined;
  /** The TEMPLATES section, written as templates are made. */
  out: Bytes;
  readonly negative: Tpl | undefined;
  /** The negative template's watch labels (a Set only when there are many: a zone's are few). */
  readonly #negativeWatch: { has(label: string): boolean };
  /** The negative template watches some label (`#negativeWatch` is not empty). */
  readonly #watching: boolean;
  /** The watch labels when few (compared as octets, `#watchedOctets`), else undefined. */
  readonly #fewWatch: readonly string[] | undefined;

  readonly #answerOpts: AnswerOptions;
  /** Some name of the zone has an octet 0xfe or 0xff (the placeholders' labels). */
  #highNames = false;

  /**
   * `highNames` given (a delta image's names compiled again, `templatesOf`): whether some name
   * of the whole zone has a high octet, known from the base image — not scanned again here.
   */
  constructor(zone: CompilableZone, answerOpts: AnswerOptions, out: Bytes, highNames?: boolean) {
    this.zone = zone;
    this.out = out;
    this.#answerOpts = answerOpts;
    if (highNames !== undefined) this.#highNames = highNames;
    else if (zone instanceof ColumnZone) this.#highNames = columnKeysHave(zone, 0xfe, true);
    else
      for (const key of zone.nodes.keys())
        if (hasHighOctet(key)) {
          this.#highNames = true;
          break;
        }
    this.negative = this.#negativeTemplate();
    const watch = this.negative?.watch ?? NO_STRINGS;
    this.#watching = watch.length > 0;
    this.#fewWatch = watch.length <= 8 ? watch : undefined;
    this.#negativeWatch =
      watch.length > 8
        ? new Set(watch)
        : watch.length === 0
          ? NOT_WATCHED
          : { has: (l) => watch.includes(l) };
  }

  /**
   * `#negativeWatch.has(labelBelow(key, originLength))` for the key at `octets[ko, ko + kn)`
   * (under the origin, longer than it), read from the octets: no string per name when the
   * watch labels are few (a zone's SOA gives at most two).
   */
  #watchedOctets(octets: Uint8Array, ko: number, kn: number, originLength: number): boolean {
    const few = this.#fewWatch;
    if (few === undefined)
      return this.#negativeWatch.has(labelBelow(latin1Slice.call(octets, ko, ko + kn), originLength));
    const stop = ko + kn - originLength;
    let at = ko;
    let last = ko;
    while (at < stop) {
      last = at;
      at += octets[at] + 1;
    }
    const n = stop - last;
    next: for (let w = 0; w < few.length; w++) {
      const label = few[w];
      if (label.length !== n) continue;
      for (let k = 0; k < n; k++) if (label.charCodeAt(k) !== octets[last + k]) continue next;
      return true;
    }
    return false;
  }

  #place(parts: TplParts): Tpl {
    const at = writeTemplate(this.out, parts);
    return {
      at,
      an: parts.an,
      ns: parts.ns,
      ar: parts.arRequired + parts.arOptional,
      dnsFlags: parts.dnsFlags,
      watch: parts.watch,
      tflags: parts.tflags,
    };
  }

  /** Clears the RCODE of a placed template (negative bodies serve NXDOMAIN and NODATA). */
  #clearRcode(t: Tpl): void {
    t.dnsFlags &= ~0x000f;
    this.out.patch(t.at + T.DNS_FLAGS, t.dnsFlags & 0xff);
    this.out.patch(t.at + T.DNS_FLAGS + 1, t.dnsFlags >> 8);
  }

  #answer(name: Name, qtype: number): AnswerResult {
    this.#catalog ??= new Catalog([this.zone]);
    return answerQuery(this.#catalog, name, qtype, this.#answerOpts);
  }

  /** A template for exactly `name` (the QNAME it will be used for). */
  #exact(name: Name, qtype: number): Entry {
    const result = this.#answer(name, qtype);
    const enc = encode(name, qtype, result);
    if (!enc) return { qtype, tpl: undefined, reason: Fallback.TOO_LARGE };
    const tpl = this.#place({
      buf: enc.buf,
      start: enc.start,
      length: enc.length,
      requiredLength: enc.requiredLength,
      an: enc.an,
      ns: enc.ns,
      arRequired: enc.arRequired,
      arOptional: enc.arOptional,
      dnsFlags: dnsFlagsOf(result),
      qnameLength: name.length,
      anchorLength: name.length,
      patches: NO_NUMBERS,
      watch: NO_STRINGS,
      tflags: isExternal(result) ? TemplateFlag.EXTERNAL : 0,
    });
    return { qtype, tpl, reason: 0 };
  }

  /** Places the template just encoded for exactly its QNAME: AA, NOERROR, nothing from outside the zone. */
  #placeExact(name: Name, qtype: number, requiredEnd: number): Entry {
    return { qtype, tpl: this.#place(this.#exactParts(name.length, requiredEnd)), reason: 0 };
  }

  /** What `encoder.parts(requiredEnd, 0)` gives, in the reused parts (nothing keeps them). */
  #exactParts(qnameLength: number, requiredEnd: number): TplParts {
    const w = encoder;
    const p = exactParts;
    p.buf = w.buf;
    p.start = w.qEnd;
    p.length = w.len - w.qEnd;
    p.requiredLength = requiredEnd - w.qEnd;
    p.an = w.an;
    p.ns = w.ns;
    p.arOptional = w.ar;
    p.qnameLength = qnameLength;
    p.anchorLength = qnameLength;
    return p;
  }

  /**
   * What `#exact(name, set.type)` makes, written directly: `node` is a plain name (no cut at
   * or above it, not a wildcard), so the engine's answer is the RRset under the QNAME and the
   * addresses of its NS, MX or SRV targets held in the zone (answer.ts solveNode and
   * solveAdditional).
   */
  #exactData(name: Name, set: RRset): Entry {
    const qtype = set.type;
    // (hasCompressibleNames: the types compressibleNameOffsets gives offsets for, asked
    // without the offsets array it makes for an SOA.)
    if (qtype !== RRType.SRV && name.wire.length > 1 && !hasCompressibleNames(qtype)) {
      const plain = this.#plainData(name, set);
      if (plain !== undefined) return plain;
    }
    const w = encoder;
    w.begin(name, qtype);
    if (!w.rrset(0, name, qtype, set.class, set.ttl, set.rdata))
      return { qtype, tpl: undefined, reason: Fallback.TOO_LARGE };
    const requiredEnd = w.len;
    if (qtype === RRType.NS || qtype === RRType.MX || qtype === RRType.SRV) {
      const nodes = this.zone.nodes;
      let placed: RRset[] | undefined;
      for (const rdata of set.rdata) {
        const key = targetKey(qtype, rdata);
        if (key.length === 1) continue; // '.': no service (RFC 7505, RFC 2782)
        const node = nodes.get(key);
        if (!node || (node.flags & (NodeFlag.BELOW_CUT | NodeFlag.DELEGATION)) !== 0) continue;
        for (const t of ADDRESS_TYPES) {
          const a = node.get(t);
          if (a === undefined || placed?.includes(a)) continue;
          if (placed === undefined) placed = [a];
          else placed.push(a);
          if (!w.rrset(2, a.name, a.type, a.class, a.ttl, a.rdata))
            return { qtype, tpl: undefined, reason: Fallback.TOO_LARGE };
        }
      }
    }
    return this.#placeExact(name, qtype, requiredEnd);
  }

  /**
   * What `#exactData` makes for an RRset with no name the encoder may compress and no
   * additional section (A, AAAA, TXT … : no NS, MX or SRV), written without the encoder: each
   * record is the owner as a pointer to the question (the encoder's pointer to the previous
   * owner, the QNAME at offset 12; not for the root, which it writes whole), then TYPE, CLASS,
   * TTL, RDLENGTH and the RDATA as it is. Undefined near the 65,535-octet limit (the encoder
   * then decides).
   */
  #plainData(name: Name, set: RRset): Entry | undefined {
    const rdata = set.rdata;
    let size = 0;
    for (let i = 0; i < rdata.length; i++) size += 12 + rdata[i].length;
    if (12 + name.length + 4 + size > MESSAGE_LIMIT) return undefined;
    if (plainScratch.length < size) plainScratch = new Uint8Array(MESSAGE_LIMIT);
    const b = plainScratch;
    const { type, class: cls, ttl } = set;
    let p = 0;
    for (let i = 0; i < rdata.length; i++) {
      const rd = rdata[i];
      const n = rd.length;
      b[p] = 0xc0;
      b[p + 1] = 12;
      writeTypeClassTtl(b, p + 2, type, cls, ttl);
      b[p + 10] = n >> 8;
      b[p + 11] = n;
      p += 12;
      if (n <= 32) for (let k = 0; k < n; k++) b[p + k] = rd[k];
      else b.set(rd, p);
      p += n;
    }
    const parts = exactParts;
    parts.buf = b;
    parts.start = 0;
    parts.length = p;
    parts.requiredLength = p;
    parts.an = rdata.length;
    parts.ns = 0;
    parts.arOptional = 0;
    parts.qnameLength = name.length;
    parts.anchorLength = name.length;
    return { qtype: type, tpl: this.#place(parts), reason: 0 };
  }

  /**
   * What `#exact(name, qtype)` makes for a plain CNAME name asked for a type it lacks, when the
   * chain is one hop to a plain name of the zone that holds the type: the CNAME and the
   * target's RRset (answer.ts answerQuery's loop, solveNode twice); undefined otherwise.
   */
  #exactChase(node: ZoneNode, name: Name, qtype: number): Entry | undefined {
    if ((this.#answerOpts.maxChain ?? DEFAULT_MAX_CHAIN) < 2) return undefined;
    const cname = node.get(RRType.CNAME);
    if (cname === undefined || cname.rdata.length === 0) return undefined;
    const target = rdataTarget(RRType.CNAME, cname.rdata[0]);
    const zone = this.zone;
    if (target === undefined || target.key === name.key || !target.isSubdomainOf(zone.origin))
      return undefined;
    const tnode = zone.nodes.get(target.key);
    if (tnode === undefined || (tnode.flags & (NodeFlag.BELOW_CUT | NodeFlag.DELEGATION)) !== 0)
      return undefined;
    const set = tnode.get(qtype);
    if (set === undefined) return undefined;
    const w = encoder;
    w.begin(name, qtype);
    if (
      !w.rrset(0, name, RRType.CNAME, cname.class, cname.ttl, cname.rdata) ||
      !w.rrset(0, target, qtype, set.class, set.ttl, set.rdata)
    )
      return { qtype, tpl: undefined, reason: Fallback.TOO_LARGE };
    return this.#placeExact(name, qtype, w.len);
  }

  /**
   * What `#exact(name, qtype)` makes for a name that exists without that type (nor a CNAME),
   * written directly: the zone's SOA with the negative TTL in authority (answer.ts
   * solveNegative); undefined when the engine must answer (below a cut, or a referral).
   */
  #exactNodata(node: ZoneNode, name: Name, qtype: number): Entry | undefined {
    if ((node.flags & NodeFlag.BELOW_CUT) !== 0) return undefined;
    if ((node.flags & NodeFlag.DELEGATION) !== 0 && qtype !== RRType.DS) return undefined;
    if (node.get(qtype) !== undefined || node.get(RRType.CNAME) !== undefined) return undefined;
    const zone = this.zone;
    const soa = zone.soa;
    const owner = name.key === soa.name.key && name.wire !== soa.name.wire ? name : soa.name;
    const w = encoder;
    w.begin(name, qtype);
    if (!w.rrset(1, owner, soa.type, soa.class, Math.min(soa.ttl, zone.soaMinimum), soa.rdata))
      return { qtype, tpl: undefined, reason: Fallback.TOO_LARGE };
    return this.#placeExact(name, qtype, w.len);
  }

  /**
   * A template for any QNAME under `anchor` that the engine answers the same way: built with
   * placeholder QNAMEs (labels of octets 0xfe/0xff no zone data holds). `solve` maps the
   * placeholder to the engine's result for it.
   */
  #shiftable(anchor: Name, qtype: number, solve: (q: Name) => AnswerResult): Entry {
    const a = anchor.wire;
    if (a.length + 5 > 255) return { qtype, tpl: undefined, reason: Fallback.UNPATCHABLE };
    const p1 = Name.fromWire(`\x01\xff${a}`);
    const r1 = solve(p1);
    const e1 = encode(p1, qtype, r1);
    if (!e1) return { qtype, tpl: undefined, reason: Fallback.TOO_LARGE };
    const tpl: TplParts = {
      buf: e1.buf,
      start: e1.start,
      length: e1.length,
      requiredLength: e1.requiredLength,
      an: e1.an,
      ns: e1.ns,
      arRequired: e1.arRequired,
      arOptional: e1.arOptional,
      dnsFlags: dnsFlagsOf(r1),
      qnameLength: p1.length,
      anchorLength: a.length,
      patches: [],
      watch: [],
      tflags: isExternal(r1) ? TemplateFlag.EXTERNAL : 0,
    };
    // Labels just below the anchor of every name the response writes: a QNAME through one of
    // them would be compressed against by the encoder, so the reader falls back for it.
    const watch = new Set<string>();
    const names = namesOf(r1);
    let odd = this.#highNames || encoder.targets >= MAX_TARGETS - 16;
    for (const key of names) {
      if (key !== p1.key && isUnder(key, anchor.key)) watch.add(labelBelow(key, a.length));
      if (!odd && key !== p1.key && hasHighOctet(key)) odd = true;
    }
    if (watch.size > 255 || 12 + 255 + 4 + e1.length > SHIFT_LIMIT)
      return { qtype, tpl: this.#place(tpl), reason: 0 };
    tpl.watch = [...watch];
    if (!odd) {
      // The engine answers every QNAME under the anchor alike (no name of the zone or of the
      // response goes through the placeholders' labels): the pointers that move are the
      // ones not aimed at the whole QNAME (offset 12), as building with two more placeholders
      // would find.
      const patches: number[] = [];
      const at = encoder.ptrAt;
      const to = encoder.ptrTo;
      for (let i = 0; i < encoder.pointers; i++) if (to[i] !== 12) patches.push(at[i]);
      tpl.patches = patches;
      tpl.tflags |= TemplateFlag.SHIFTABLE;
      return { qtype, tpl: this.#place(tpl), reason: 0 };
    }
    // Names through the placeholders' labels: build twice more and compare, as ever.
    const b1 = bodyOf(tpl).slice();
    tpl.buf = b1;
    tpl.start = 0;
    const p2 = Name.fromWire(`\x02\xff\xff${a}`);
    const p3 = Name.fromWire(`\x02\xff\xfe\x01\xfe${a}`);
    const e2 = encode(p2, qtype, solve(p2));
    const b2 = e2 && bodyOf(e2).slice();
    const e3 = encode(p3, qtype, solve(p3));
    const patches = b2 && e3 ? findPatches(b1, b2) : undefined;
    if (
      patches !== undefined &&
      e3 !== undefined &&
      e3.requiredLength === tpl.requiredLength &&
      sameBytes(applyPatches(b1, patches, p3.length - p1.length), bodyOf(e3))
    ) {
      tpl.patches = patches;
      tpl.tflags |= TemplateFlag.SHIFTABLE;
    }
    return { qtype, tpl: this.#place(tpl), reason: 0 };
  }

  #negativeTemplate(): Tpl | undefined {
    const zone = this.zone;
    // The engine's NXDOMAIN for a name under the apex (the placeholder itself) when there is
    // no wildcard or DNAME at the apex; else the apex's NODATA. Either is the SOA with the negative TTL
    // in authority, the body of both NXDOMAIN and NODATA (the reader sets the RCODE).
    const atApex = (zone.apex.flags & (NodeFlag.WILDCARD_CHILD | NodeFlag.DNAME)) !== 0;
    if (!atApex && !this.#highNames) {
      const plain = this.#plainNegative();
      if (plain !== null) return plain;
    }
    const origin = zone.origin.toLowerCase();
    const e = this.#shiftable(origin, ABSENT_TYPE, (q) =>
      atApex || this.#highNames ? this.#answer(atApex ? origin : q, ABSENT_TYPE) : this.#nxdomain(),
    );
    if (!e.tpl) return undefined;
    // Only a plain SOA-in-authority answer will do (an apex CNAME would chase instead).
    if (e.tpl.an !== 0 || e.tpl.ns !== 1 || e.tpl.ar !== 0) return undefined;
    this.#clearRcode(e.tpl);
    return e.tpl;
  }

  /**
   * What `#shiftable(origin, ABSENT_TYPE, () => this.#nxdomain())` makes, with the RCODE
   * cleared (#negativeTemplate), written without an AnswerResult, a placeholder Name or the
   * generic watch and patch search: the SOA with the negative TTL in authority after the
   * question `\xff.origin`; the watch labels are those of the SOA's MNAME and RNAME under the
   * apex (its owner is the apex); the patches are the pointers not aimed at the QNAME. Null
   * when the general path must decide (a name through octets 0xfe/0xff, a body too long to
   * shift, a full compression table).
   */
  #plainNegative(): Tpl | undefined | null {
    const zone = this.zone;
    const a = zone.origin.key;
    if (a.length + 5 > 255) return null;
    const soa = zone.soa;
    const rd = soa.rdata[0];
    const qname = `\x01\xff${a}`;
    const w = encoder;
    w.beginWire(qname, qname, ABSENT_TYPE);
    if (!w.rrset(1, soa.name, soa.type, soa.class, Math.min(soa.ttl, zone.soaMinimum), soa.rdata))
      return null;
    const length = w.len - w.qEnd;
    if (w.targets >= MAX_TARGETS - 16 || 12 + 255 + 4 + length > SHIFT_LIMIT) return null;
    const watch: string[] = [];
    for (let k = 0, off = 0; k < 2; k++) {
      // MNAME then RNAME (compressibleNameOffsets of SOA), each up to its root label.
      let p = off;
      while (p < rd.length && rd[p] !== 0) p += rd[p] + 1;
      const end = Math.min(p + 1, rd.length);
      for (let j = off; j < end; j++) if (rd[j] >= 0xfe) return null;
      const key = foldedLatin1(rd, off, end);
      if (isUnder(key, a)) {
        const label = labelBelow(key, a.length);
        if (!watch.includes(label)) watch.push(label);
      }
      off = p + 1;
    }
    if (watch.length > 255) return null;
    const patches: number[] = [];
    const at = w.ptrAt;
    const to = w.ptrTo;
    for (let i = 0; i < w.pointers; i++) if (to[i] !== 12) patches.push(at[i]);
    return this.#place({
      buf: w.buf,
      start: w.qEnd,
      length,
      requiredLength: length,
      an: 0,
      ns: w.ns,
      arRequired: 0,
      arOptional: 0,
      dnsFlags: 0x0400,
      qnameLength: qname.length,
      anchorLength: a.length,
      patches,
      watch,
      tflags: TemplateFlag.SHIFTABLE,
    });
  }

  /**
   * The engine's answer for a placeholder just under the apex when the apex has no wildcard
   * or DNAME and no name of the zone goes through the placeholder's label: NXDOMAIN, the SOA
   * with the negative TTL in authority (answer.ts solveName, solveNegative).
   */
  #nxdomain(): AnswerResult {
    const zone = this.zone;
    const soa = { ...zone.soa, ttl: Math.min(zone.soa.ttl, zone.soaMinimum) };
    return {
      kind: AnswerKind.NXDOMAIN,
      zone,
      answer: [],
      authority: [soa],
      glue: [],
      additional: [],
      zones: [zone],
      absent: [],
    };
  }

  /** A NODATA template valid for exactly `node`'s name. */
  #nodataFor(node: ZoneNode, qtype = ABSENT_TYPE): Tpl | undefined {
    const neg = this.negative;
    const key = node.name.key;
    const originKey = this.zone.origin.key;
    if (neg && (neg.tflags & TemplateFlag.SHIFTABLE) !== 0) {
      if (key === originKey || !this.#negativeWatch.has(labelBelow(key, originKey.length))) return neg;
    }
    // The shared one would compress differently for this name: one of its own.
    const name = node.name.toLowerCase();
    const e = this.#exactNodata(node, name, qtype) ?? this.#exact(name, qtype);
    if (!e.tpl) return undefined;
    this.#clearRcode(e.tpl);
    return e.tpl;
  }

  /** Referral templates of cuts, by cut name key (built once each). */
  #referrals: Map<string, Tpl | undefined> | undefined;

  #referralOf(cut: ZoneNode): Tpl | undefined {
    const key = cut.name.key;
    // Made with the first cut: most zones have none.
    this.#referrals ??= new Map();
    if (!this.#referrals.has(key)) {
      const name = cut.name.toLowerCase();
      this.#referrals.set(key, this.#shiftable(name, RRType.A, (q) => this.#answer(q, RRType.A)).tpl);
    }
    return this.#referrals.get(key);
  }

  /**
   * A name below a cut (glue, mostly) whose label under the cut is one the cut's referral
   * writes (its NS target): asked by its own name, the engine's referral compresses against
   * the question; an exact referral of its own keeps it off the fallback path.
   */
  #glueReferral(node: ZoneNode): Tpl | undefined {
    const zone = this.zone;
    const depth = node.name.labelCount;
    let cut: ZoneNode | undefined;
    for (let labels = zone.origin.labelCount + 1; labels < depth; labels++) {
      const n = zone.nodes.get(node.name.suffix(labels).key);
      if (n === undefined) return undefined;
      if ((n.flags & NodeFlag.DNAME) !== 0 && (n.flags & NodeFlag.DELEGATION) === 0) return undefined;
      if ((n.flags & NodeFlag.DELEGATION) !== 0) {
        cut = n;
        break;
      }
    }
    if (cut === undefined) return undefined;
    const shared = this.#referralOf(cut);
    if (shared === undefined || !shared.watch.includes(labelBelow(node.name.key, cut.name.key.length)))
      return undefined;
    const e = this.#exact(node.name.toLowerCase(), RRType.A);
    return e.tpl !== undefined && e.tpl.dnsFlags === shared.dnsFlags ? e.tpl : undefined;
  }

  /**
   * What `forNode` makes for name `idx` of a ColumnZone (its key `key`, canonical index `i`),
   * written from the columns without making its node, when the name is plain: not the root,
   * not a wildcard, no cut at or above it, at least one RRset and every one of a type whose
   * RDATA holds no name the encoder may compress (not NS, CNAME, SOA, MX, PTR, MINFO …), nor
   * SRV or DS (`#exactData`'s `#plainData` case for each RRset), and the zone's negative
   * template serving its NODATA. Each RRset's template is `#plainData`'s, octet for octet,
   * written straight into TEMPLATES; ANY is the lowest type's. False (nothing written) when
   * the name is not plain: the caller makes the node.
   */
  columnPlain(cols: ZoneColumns, idx: number, nodes: ColumnOrder, table: NodeTable, i: number): boolean {
    if ((cols.flags[idx] & (NodeFlag.BELOW_CUT | NodeFlag.DELEGATION)) !== 0) return false;
    // The key read as octets where the columns keep it (a string only for the watch labels).
    const octets = nodes.octets;
    const ko = nodes.keyOff(i);
    const kn = nodes.keyLen(i);
    if (kn <= 1 || (octets[ko] === 1 && octets[ko + 1] === 0x2a)) return false;
    const { setType, setNext, setFirst, recLen, recNext } = cols;
    let sets = 0;
    for (let t = cols.firstSet[idx]; t >= 0; t = setNext[t]) {
      if (!plainType(setType[t])) return false;
      // Every template must stay under the 65,535-octet limit (else the encoder decides).
      let size = 12 + kn + 4;
      for (let r = setFirst[t]; r >= 0; r = recNext[r]) size += 12 + recLen[r];
      if (size > MESSAGE_LIMIT) return false;
      sets++;
    }
    if (sets === 0 || sets >= plainQtypes.length) return false;
    const neg = this.negative;
    if (neg === undefined || (neg.tflags & TemplateFlag.SHIFTABLE) === 0) return false;
    const originLength = this.zone.origin.key.length;
    if (kn !== originLength && this.#watching && this.#watchedOctets(octets, ko, kn, originLength))
      return false;
    const cls = this.zone.class;
    let n = 0;
    let lowest = 0x10000;
    let lowestAt = -1;
    for (let t = cols.firstSet[idx]; t >= 0; t = setNext[t]) {
      const type = setType[t];
      const at = this.#plainSetAt(cols, t, kn, cls);
      plainQtypes[n] = type;
      plainAts[n++] = at;
      if (type < lowest) {
        lowest = type;
        lowestAt = at;
      }
    }
    // RFC 8482 answer to ANY: the lowest type's RRset, the same bytes as asking for it.
    plainQtypes[n] = RRType.ANY;
    plainAts[n++] = lowestAt;
    table.putPlain(i, n, neg.at);
    return true;
  }

  /**
   * `#plainData`'s template for RRset `t` of the columns under a QNAME of `kn` octets (its
   * octets, written straight into TEMPLATES); returns its offset there. The caller has checked
   * that it stays under the 65,535-octet limit.
   */
  #plainSetAt(cols: ZoneColumns, t: number, kn: number, cls: number): number {
    const { setType, setTtl, setFirst, recOff, recLen, recNext, slab } = cols;
    const type = setType[t];
    const ttl = setTtl[t];
    let body = 0;
    let count = 0;
    for (let r = setFirst[t]; r >= 0; r = recNext[r]) {
      body += 12 + recLen[r];
      count++;
    }
    const size = (TEMPLATE_HEADER_SIZE + body + 3) & ~3;
    const out = this.out;
    out.ensure(size);
    const start = out.len;
    const b = out.buf;
    plainHeader(b, start, size, body, count, kn);
    let p = start + TEMPLATE_HEADER_SIZE;
    for (let r = setFirst[t]; r >= 0; r = recNext[r]) {
      const len = recLen[r];
      ownerPointer(b, p, type, cls, ttl, len);
      p += 12;
      const at = recOff[r];
      if (len <= 32) for (let k = 0; k < len; k++) b[p + k] = slab[at + k];
      else b.set(slab.subarray(at, at + len), p);
      p += len;
    }
    while (p < start + size) b[p++] = 0;
    out.len = start + size;
    return out.flushed + start;
  }

  /** Name `i` (name index `idx`) of a ColumnZone: its templates into `table`, from the columns where it can. */
  columnName(cols: ZoneColumns, idx: number, nodes: ColumnOrder, table: NodeTable, i: number): void {
    if (
      !this.columnPlain(cols, idx, nodes, table, i) &&
      !this.columnData(cols, idx, nodes, table, i) &&
      !this.columnCut(cols, idx, nodes, table, i)
    )
      table.put(i, this.forNode(nodes.node(i)));
  }

  /**
   * What `forNode` makes for name `idx` of a ColumnZone (canonical index `i`) at a cut (not a
   * wildcard) or below one, written from the columns without making its node: at a cut its
   * referral (`#referralOf`'s, `#columnReferral` when it can), the DS entry (the engine's) and
   * the NODATA for DS; below a cut `#glueReferral`'s (the exact referral of a name the cut's
   * referral writes, `#columnReferral` for its QNAME). False (nothing written) for any other
   * name, and for a name below a cut when the apex has a DNAME: the caller makes the node.
   */
  columnCut(cols: ZoneColumns, idx: number, nodes: ColumnOrder, table: NodeTable, i: number): boolean {
    const flags = cols.flags[idx];
    const octets = nodes.octets;
    const ko = nodes.keyOff(i);
    const kn = nodes.keyLen(i);
    if (kn <= 1 || (octets[ko] === 1 && octets[ko + 1] === 0x2a)) return false;
    const zone = this.zone as ColumnZone;
    if ((flags & NodeFlag.BELOW_CUT) !== 0) {
      if ((cols.flags[0] & NodeFlag.DNAME) !== 0) return false;
      table.putPlain(i, 0, -1, false, this.#columnGlue(cols, octets, ko, kn));
      return true;
    }
    if ((flags & NodeFlag.DELEGATION) === 0) return false;
    const key = latin1Slice.call(octets, ko, ko + kn);
    const referral = this.#referralAt(cols, idx, key);
    const ds = setOfType(cols, idx, RRType.DS);
    let n = 0;
    if (ds >= 0) {
      const e = this.#exact(Name.fromWire(key), RRType.DS);
      plainQtypes[n] = RRType.DS;
      plainAts[n] = e.tpl === undefined ? -1 : e.tpl.at;
      plainReasons[n++] = e.tpl === undefined ? e.reason : 0;
    }
    let nodata = -1;
    if (ds < 0 && setOfType(cols, idx, RRType.CNAME) < 0) {
      const neg = this.negative;
      const originLength = zone.origin.key.length;
      if (
        neg !== undefined &&
        (neg.tflags & TemplateFlag.SHIFTABLE) !== 0 &&
        !(this.#watching && this.#watchedOctets(octets, ko, kn, originLength))
      )
        nodata = neg.at;
      else nodata = this.#nodataFor(zone.nodeAt(idx), RRType.DS)?.at ?? -1;
    }
    table.putPlain(i, n, nodata, true, referral?.at ?? -1);
    return true;
  }

  /**
   * `#glueReferral` for the name below a cut whose key is `octets[ko, ko + kn)`: the cut is
   * the highest name with NS on its path under the apex (none when a name on it is missing or
   * has a DNAME first). The offset of its template, or -1.
   */
  #columnGlue(cols: ZoneColumns, octets: Uint8Array, ko: number, kn: number): number {
    const zone = this.zone as ColumnZone;
    const originLength = zone.origin.key.length;
    // The key's label starts, the leftmost first; its suffixes from the shortest under the apex.
    let labels = 0;
    for (let p = 0; p < kn - originLength; p += octets[ko + p] + 1) labelStarts[labels++] = p;
    let cut = -1;
    let cutAt = 0;
    for (let l = labels - 1; l >= 1; l--) {
      const at = labelStarts[l];
      const ti = zone._index.findAt(octets, ko + at, kn - at);
      if (ti < 0) return -1;
      const f = cols.flags[ti];
      if ((f & NodeFlag.DNAME) !== 0 && (f & NodeFlag.DELEGATION) === 0) return -1;
      if ((f & NodeFlag.DELEGATION) !== 0) {
        cut = ti;
        cutAt = at;
        break;
      }
    }
    if (cut < 0) return -1;
    const cutKey = latin1Slice.call(octets, ko + cutAt, ko + kn);
    const shared = this.#referralAt(cols, cut, cutKey);
    if (shared === undefined) return -1;
    const key = latin1Slice.call(octets, ko, ko + kn);
    if (!shared.watch.includes(labelBelow(key, cutKey.length))) return -1;
    let at = -1;
    let dnsFlags = 0;
    if (!this.#highNames && this.#encodeReferral(cols, cut, cutKey, key, key)) {
      at = this.#placeReferral(key.length, key.length, NO_NUMBERS, NO_STRINGS, 0).at;
    } else {
      const e = this.#exact(Name.fromWire(key), RRType.A);
      if (e.tpl === undefined) return -1;
      at = e.tpl.at;
      dnsFlags = e.tpl.dnsFlags;
    }
    return dnsFlags === shared.dnsFlags ? at : -1;
  }

  /** The cut `#referralAt` was asked for last (its name index, -1 for none) and its referral. */
  #lastCut = -1;
  #lastReferral: Tpl | undefined;

  /**
   * `#referralOf` for the cut at name index `idx` (key `key`): made once, from the columns when
   * it can. The names below a cut follow it in canonical order: theirs is the last one asked.
   */
  #referralAt(cols: ZoneColumns, idx: number, key: string): Tpl | undefined {
    if (idx === this.#lastCut) return this.#lastReferral;
    this.#referrals ??= new Map();
    let tpl: Tpl | undefined | null;
    if (this.#referrals.has(key)) tpl = this.#referrals.get(key);
    else {
      tpl = this.#columnReferral(cols, idx, key);
      if (tpl === null) tpl = this.#referralOf((this.zone as ColumnZone).nodeAt(idx));
      else this.#referrals.set(key, tpl);
    }
    this.#lastCut = idx;
    this.#lastReferral = tpl;
    return tpl;
  }

  /**
   * What `#shiftable(cut, A, (q) => this.#answer(q, A))` makes for the cut at name index `idx`
   * (key `key`), written from the columns: the engine's referral for the placeholder under it
   * (answer.ts solveReferral, the `#encodeReferral` octets), its watch labels those of the NS
   * targets under the cut, its patches the pointers not aimed at the QNAME. Null when the
   * general path must decide (names through octets 0xfe/0xff, a full compression table, a
   * body too long to shift, more than 255 watch labels, an NS record without a name).
   */
  #columnReferral(cols: ZoneColumns, idx: number, key: string): Tpl | undefined | null {
    if (this.#highNames || key.length + 5 > 255) return null;
    const qname = `\x01\xff${key}`;
    if (!this.#encodeReferral(cols, idx, key, qname, qname)) return null;
    const w = encoder;
    if (w.targets >= MAX_TARGETS - 16 || 12 + 255 + 4 + (w.len - w.qEnd) > SHIFT_LIMIT) return null;
    const watch: string[] = [];
    const { setFirst, recNext, recOff, recLen, slab } = cols;
    for (let r = setFirst[setOfType(cols, idx, RRType.NS)]; r >= 0; r = recNext[r]) {
      // namesOf's names: the NS owner (the cut: not under itself), each NS target (the glue
      // and additional owners are targets again).
      const end = recOff[r] + recLen[r];
      let p = recOff[r];
      while (p < end && slab[p] !== 0) p += slab[p] + 1;
      const tkey = foldedLatin1(slab, recOff[r], Math.min(p + 1, end));
      if (hasHighOctet(tkey)) return null;
      if (isUnder(tkey, key)) {
        const label = labelBelow(tkey, key.length);
        if (!watch.includes(label)) watch.push(label);
      }
    }
    if (watch.length > 255) return null;
    const patches: number[] = [];
    const at = w.ptrAt;
    const to = w.ptrTo;
    for (let k = 0; k < w.pointers; k++) if (to[k] !== 12) patches.push(at[k]);
    return this.#placeReferral(qname.length, key.length, patches, watch, TemplateFlag.SHIFTABLE);
  }

  /** Where the referral `#encodeReferral` wrote last has its required part end, and its glue records. */
  #refRequiredEnd = 0;
  #refGlue = 0;

  /**
   * Encodes the engine's referral to the cut at name index `cut` for a QNAME (wire `qwire`,
   * key `qkey`) below it, asked for A: the cut's NS RRset in authority; the A and AAAA RRsets
   * of its NS targets held in the zone, those under the cut as glue (required), the others
   * as optional additional data, each RRset once, in NS record order (answer.ts solveReferral,
   * pushAddresses). False past 65,535 octets. `cutKey`: the cut's key. (Each NS target read
   * from the RDATA's octets as `rdataTarget` reads it, without a Name.)
   */
  #encodeReferral(cols: ZoneColumns, cut: number, cutKey: string, qwire: string, qkey: string): boolean {
    const zone = this.zone as ColumnZone;
    const ns = setOfType(cols, cut, RRType.NS);
    if (ns < 0) return false;
    const cls = zone.class;
    const w = encoder;
    w.beginWire(qwire, qkey, RRType.A);
    const cutName = zone.spellingAt(cut) < 0 ? cutKey : zone.wireAt(cut);
    if (!w.columnSetWire(1, cutName, cutKey, cls, cols, ns)) return false;
    const { setFirst, recNext, recOff, recLen, slab } = cols;
    const originKey = zone.origin.key;
    let placed = 0;
    let optional = 0;
    let glue = 0;
    for (let r = setFirst[ns]; r >= 0; r = recNext[r]) {
      const at = recOff[r];
      const tkey = foldedLatin1(slab, at, at + nameLengthAt(slab.subarray(at, at + recLen[r]), 0));
      if (tkey !== originKey && !isUnder(tkey, originKey)) continue;
      const ti = zone._index.find(tkey);
      if (ti < 0) continue;
      const under = tkey === cutKey || isUnder(tkey, cutKey);
      for (const type of ADDRESS_TYPES) {
        const a = setOfType(cols, ti, type);
        if (a < 0 || placedBefore(a, placed)) continue;
        if (placed === placedSets.length) placedSets = doubled(placedSets);
        placedSets[placed++] = a;
        if (!under) {
          if (optional === optionalSets.length) {
            optionalSets = doubled(optionalSets);
            optionalNames = doubled(optionalNames);
          }
          optionalSets[optional] = a;
          optionalNames[optional++] = ti;
          continue;
        }
        const wire = ti === 0 ? zone.origin.wire : zone.wireAt(ti);
        if (!w.columnSetWire(2, wire, tkey, cls, cols, a)) return false;
        for (let g = setFirst[a]; g >= 0; g = recNext[g]) glue++;
      }
    }
    this.#refRequiredEnd = w.len;
    this.#refGlue = glue;
    for (let k = 0; k < optional; k++) {
      const a = optionalSets[k];
      const ti = optionalNames[k];
      const wire = ti === 0 ? zone.origin.wire : zone.wireAt(ti);
      const tkey = zone.keyAt(ti);
      if (!w.columnSetWire(2, wire, tkey, cls, cols, a)) return false;
    }
    return true;
  }

  /** Places the referral `#encodeReferral` wrote last (no AA, NOERROR, nothing from outside the zone). */
  #placeReferral(
    qnameLength: number,
    anchorLength: number,
    patches: number[],
    watch: string[],
    tflags: number,
  ): Tpl {
    const w = encoder;
    const qEnd = w.qEnd;
    return this.#place({
      buf: w.buf,
      start: qEnd,
      length: w.len - qEnd,
      requiredLength: this.#refRequiredEnd - qEnd,
      an: 0,
      ns: w.ns,
      arRequired: this.#refGlue,
      arOptional: w.ar - this.#refGlue,
      dnsFlags: 0,
      qnameLength,
      anchorLength,
      patches,
      watch,
      tflags,
    });
  }

  /**
   * What `forNode` makes for name `idx` of a ColumnZone (canonical index `i`) that
   * `columnPlain` leaves — an RRset whose RDATA holds a name (NS, MX, SRV, CNAME, SOA, PTR …),
   * a DS, a NODATA of its own, or no RRset — written from the columns without making its
   * node, when the name is not the root, not a wildcard and has no cut at or above it:
   * `#dataEntries`' templates in its order, each RRset's as `#exactData` writes it
   * (`#plainData`'s octets for a plain type; the encoder over the records' octets, with the
   * in-zone addresses of NS, MX and SRV targets read from the columns), a CNAME's chases as
   * `#exactChase`, the engine (`#exact`) where those give up, the NODATA template
   * `#nodataFor`'s (the node made only when it is not the zone's negative one). False
   * (nothing written) for any other name: the caller makes the node.
   */
  columnData(cols: ZoneColumns, idx: number, nodes: ColumnOrder, table: NodeTable, i: number): boolean {
    if ((cols.flags[idx] & (NodeFlag.BELOW_CUT | NodeFlag.DELEGATION)) !== 0) return false;
    const octets = nodes.octets;
    const ko = nodes.keyOff(i);
    const kn = nodes.keyLen(i);
    if (kn <= 1 || (octets[ko] === 1 && octets[ko + 1] === 0x2a)) return false;
    const { setType, setNext } = cols;
    let sets = 0;
    let cname = -1;
    for (let t = cols.firstSet[idx]; t >= 0; t = setNext[t]) {
      if (setType[t] === RRType.CNAME) cname = t;
      sets++;
    }
    if (sets + CNAME_CHASE_TYPES.length + 1 > plainQtypes.length) return false;
    const zone = this.zone as ColumnZone;
    const key = latin1Slice.call(octets, ko, ko + kn);
    const cls = zone.class;
    let lower: Name | undefined;
    let n = 0;
    let lowest = 0x10000;
    let lowestN = -1;
    // The encoder holds the CNAME RRset's own template (its QNAME and the RRset: how each of
    // its chases begins) until another template is encoded.
    this.#chasePrefix = false;
    for (let t = cols.firstSet[idx]; t >= 0; t = setNext[t]) {
      const type = setType[t];
      let at = -1;
      let reason = 0;
      if (type === RRType.DS) {
        lower ??= Name.fromWire(key);
        const e = this.#exact(lower, type);
        this.#chasePrefix = false;
        if (e.tpl !== undefined) at = e.tpl.at;
        else reason = e.reason;
      } else if (type !== RRType.SRV && !hasCompressibleNames(type) && this.#plainFits(cols, t, kn)) {
        at = this.#plainSetAt(cols, t, kn, cls);
      } else {
        at = this.#encodedSetAt(cols, t, key, kn, cls);
        if (at < 0) reason = Fallback.TOO_LARGE;
        this.#chasePrefix = t === cname && at >= 0;
        if (this.#chasePrefix) encoder.mark();
      }
      plainQtypes[n] = type;
      plainAts[n] = at;
      plainReasons[n] = reason;
      if (type < lowest) {
        lowest = type;
        lowestN = n;
      }
      n++;
    }
    if (sets > 0) {
      // RFC 8482 answer to ANY: the lowest type's RRset, the same bytes as asking for it.
      plainQtypes[n] = RRType.ANY;
      plainAts[n] = plainAts[lowestN];
      plainReasons[n++] = plainReasons[lowestN];
    }
    let nodata = -1;
    if (cname >= 0) {
      const ti = this.#chaseTarget(cols, cname, key);
      for (const qtype of CNAME_CHASE_TYPES) {
        if (setOfType(cols, idx, qtype) >= 0) continue;
        let at = ti < 0 ? -1 : this.#columnChase(cols, cname, ti, key, kn, qtype);
        let reason = 0;
        if (at === CHASE_TOO_LARGE) {
          at = -1;
          reason = Fallback.TOO_LARGE;
        } else if (at < 0) {
          lower ??= Name.fromWire(key);
          const e = this.#exact(lower, qtype);
          this.#chasePrefix = false;
          if (e.tpl !== undefined) at = e.tpl.at;
          else reason = e.reason;
        }
        plainQtypes[n] = qtype;
        plainAts[n] = at;
        plainReasons[n++] = reason;
      }
    } else {
      const neg = this.negative;
      const originLength = zone.origin.key.length;
      if (
        neg !== undefined &&
        (neg.tflags & TemplateFlag.SHIFTABLE) !== 0 &&
        (kn === originLength || !(this.#watching && this.#watchedOctets(octets, ko, kn, originLength)))
      )
        nodata = neg.at;
      else nodata = this.#nodataFor(zone.nodeAt(idx))?.at ?? -1;
    }
    table.putPlain(i, n, nodata, true);
    return true;
  }

  /** `#plainData` would write RRset `t` under a QNAME of `kn` octets (under the 65,535-octet limit). */
  #plainFits(cols: ZoneColumns, t: number, kn: number): boolean {
    const { setFirst, recNext, recLen } = cols;
    let size = 12 + kn + 4;
    for (let r = setFirst[t]; r >= 0; r = recNext[r]) size += 12 + recLen[r];
    return size <= MESSAGE_LIMIT;
  }

  /**
   * `#exactData`'s encoder path for RRset `t` of the columns, owned by the QNAME (case-folded
   * key `key`, `kn` octets): the RRset, then for NS, MX and SRV the A and AAAA RRsets of its
   * targets held in the zone (not below a cut nor at one; each RRset once) in additional.
   * Returns the template's offset, or -1 past 65,535 octets.
   */
  #encodedSetAt(cols: ZoneColumns, t: number, key: string, kn: number, cls: number): number {
    const type = cols.setType[t];
    const w = encoder;
    w.beginWire(key, key, type);
    if (!w.columnSetWire(0, key, key, cls, cols, t)) return -1;
    const requiredEnd = w.len;
    if (type === RRType.NS || type === RRType.MX || type === RRType.SRV) {
      const zone = this.zone as ColumnZone;
      const index = zone._index;
      const { flags, setFirst, recNext, recOff, recLen, slab } = cols;
      let placed = 0;
      for (let r = setFirst[t]; r >= 0; r = recNext[r]) {
        const rd = slab.subarray(recOff[r], recOff[r] + recLen[r]);
        const tkey = targetKey(type, rd);
        if (tkey.length === 1) continue; // '.': no service (RFC 7505, RFC 2782)
        const ti = index.find(tkey);
        if (ti < 0 || (flags[ti] & (NodeFlag.BELOW_CUT | NodeFlag.DELEGATION)) !== 0) continue;
        for (const at of ADDRESS_TYPES) {
          const a = setOfType(cols, ti, at);
          if (a < 0 || placedBefore(a, placed)) continue;
          if (placed === placedSets.length) placedSets = doubled(placedSets);
          placedSets[placed++] = a;
          const wire = ti === 0 ? zone.origin.wire : zone.wireAt(ti);
          if (!w.columnSetWire(2, wire, tkey, cls, cols, a)) return -1;
        }
      }
    }
    return this.#placeExactAt(kn, requiredEnd);
  }

  /** The CNAME target `#chaseTarget` found last: its wire form (as the RDATA spells it) and key. */
  #chasedWire = '';
  #chasedKey = '';
  /**
   * The encoder holds, `mark`ed, the QNAME and the CNAME RRset of the name whose chases are
   * being written (`columnData`): each chase rewinds to it and appends its own part.
   */
  #chasePrefix = false;

  /**
   * The name index of the target of CNAME RRset `cname` (its first record's, as `#exactChase`
   * reads it; the Name in `#chased`) owned by the QNAME of key `key`, when the chases may be
   * written from the columns: a chain limit of 2 or more, a target in the zone (not the QNAME)
   * that is neither below a cut nor at one. Else -1: the engine answers. (The target read
   * from the RDATA's octets as `rdataTarget` reads it, without a Name.)
   */
  #chaseTarget(cols: ZoneColumns, cname: number, key: string): number {
    if ((this.#answerOpts.maxChain ?? DEFAULT_MAX_CHAIN) < 2) return -1;
    const r = cols.setFirst[cname];
    if (r < 0) return -1;
    const zone = this.zone as ColumnZone;
    const slab = cols.slab;
    const at = cols.recOff[r];
    const end = at + nameLengthAt(slab.subarray(at, at + cols.recLen[r]), 0);
    const tkey = foldedLatin1(slab, at, end);
    const originKey = zone.origin.key;
    if (tkey === key || (tkey !== originKey && !isUnder(tkey, originKey))) return -1;
    const ti = zone._index.find(tkey);
    if (ti < 0 || (cols.flags[ti] & (NodeFlag.BELOW_CUT | NodeFlag.DELEGATION)) !== 0) return -1;
    this.#chasedWire = latin1Slice.call(slab, at, end);
    this.#chasedKey = tkey;
    return ti;
  }

  /**
   * `#exactChase` from the columns: the CNAME RRset `cname` of the QNAME (key `key`, `kn`
   * octets) and the RRset of `qtype` of its target (name index `ti`, `#chaseTarget`'s) when
   * the target holds that type; or, when the target holds neither
   * that type nor a CNAME, what the engine answers then (`#exact`): the CNAME and the
   * negative SOA. The template's offset; -1 when the engine must answer; CHASE_TOO_LARGE
   * past 65,535 octets. The QNAME and the CNAME RRset are encoded once per name
   * (`#chasePrefix`; the question's QTYPE is not in a template's octets).
   */
  #columnChase(cols: ZoneColumns, cname: number, ti: number, key: string, kn: number, qtype: number): number {
    const zone = this.zone as ColumnZone;
    const set = setOfType(cols, ti, qtype);
    // Without that type: the engine's NODATA at the target (not the apex, whose SOA could be
    // renamed to the target's spelling, nor another CNAME, which it would follow), the CNAME
    // and the zone's SOA with the negative TTL in authority (answer.ts solveNode, solveNegative).
    if (set < 0 && (ti === 0 || setOfType(cols, ti, RRType.CNAME) >= 0)) return -1;
    const cls = zone.class;
    const w = encoder;
    if (this.#chasePrefix) w.rewind();
    else {
      w.beginWire(key, key, qtype);
      if (!w.columnSetWire(0, key, key, cls, cols, cname)) return CHASE_TOO_LARGE;
      w.mark();
      this.#chasePrefix = true;
    }
    if (set >= 0) {
      if (!w.columnSetWire(0, this.#chasedWire, this.#chasedKey, cls, cols, set)) return CHASE_TOO_LARGE;
    } else {
      const soa = zone.soa;
      const ttl = Math.min(soa.ttl, zone.soaMinimum);
      if (!w.rrsetWire(1, soa.name.wire, soa.name.key, soa.type, soa.class, ttl, soa.rdata))
        return CHASE_TOO_LARGE;
    }
    return this.#placeExactAt(kn, w.len);
  }

  /** `#placeExact` for a QNAME of `qnameLength` octets, placed without a Tpl: its offset. */
  #placeExactAt(qnameLength: number, requiredEnd: number): number {
    return writeTemplate(this.out, this.#exactParts(qnameLength, requiredEnd));
  }

  /** `columnPlain` for a Zone's node: the same test, the same octets, read from its RRsets. */
  nodePlain(node: ZoneNode, table: NodeTable, i: number): boolean {
    if ((node.flags & (NodeFlag.BELOW_CUT | NodeFlag.DELEGATION)) !== 0) return false;
    const key = node.name.key;
    if (key.length <= 1 || (key.charCodeAt(0) === 1 && key.charCodeAt(1) === 0x2a)) return false;
    const sets = node.rrsets;
    if (sets.length === 0 || sets.length >= plainQtypes.length) return false;
    for (let k = 0; k < sets.length; k++) {
      const set = sets[k];
      if (!plainType(set.type)) return false;
      const rdata = set.rdata;
      let size = 12 + key.length + 4;
      for (let r = 0; r < rdata.length; r++) size += 12 + rdata[r].length;
      if (size > MESSAGE_LIMIT) return false;
    }
    const neg = this.negative;
    if (neg === undefined || (neg.tflags & TemplateFlag.SHIFTABLE) === 0) return false;
    const originKey = this.zone.origin.key;
    if (key !== originKey && this.#negativeWatch.has(labelBelow(key, originKey.length))) return false;
    const out = this.out;
    let n = 0;
    let lowest = 0x10000;
    let lowestAt = -1;
    for (let k = 0; k < sets.length; k++) {
      const { type, class: cls, ttl, rdata } = sets[k];
      let body = 0;
      for (let r = 0; r < rdata.length; r++) body += 12 + rdata[r].length;
      const size = (TEMPLATE_HEADER_SIZE + body + 3) & ~3;
      out.ensure(size);
      const start = out.len;
      const b = out.buf;
      plainHeader(b, start, size, body, rdata.length, key.length);
      let p = start + TEMPLATE_HEADER_SIZE;
      for (let r = 0; r < rdata.length; r++) {
        const rd = rdata[r];
        const len = rd.length;
        ownerPointer(b, p, type, cls, ttl, len);
        p += 12;
        if (len <= 32) for (let j = 0; j < len; j++) b[p + j] = rd[j];
        else b.set(rd, p);
        p += len;
      }
      while (p < start + size) b[p++] = 0;
      out.len = start + size;
      plainQtypes[n] = type;
      plainAts[n++] = out.flushed + start;
      if (type < lowest) {
        lowest = type;
        lowestAt = out.flushed + start;
      }
    }
    plainQtypes[n] = RRType.ANY;
    plainAts[n++] = lowestAt;
    table.putPlain(i, n, neg.at);
    return true;
  }

  forNode(node: ZoneNode): NodeTemplates {
    const entries: Entry[] = [];
    const res = { entries, nodata: undefined as Tpl | undefined, referral: undefined as Tpl | undefined };
    if ((node.flags & NodeFlag.BELOW_CUT) !== 0) {
      res.referral = this.#glueReferral(node);
      return res;
    }
    const name = node.name.toLowerCase();
    if ((node.flags & NodeFlag.DELEGATION) !== 0) {
      res.referral = this.#referralOf(node);
      // A wildcard owning NS refers when asked by its own name, and is plain data when it
      // stands in for another name (answer.ts solveNode): it needs both.
      if (node.name.isWildcard) return { ...this.#dataEntries(node, name), referral: res.referral };
      if (node.get(RRType.DS)) entries.push(this.#exact(name, RRType.DS));
      // Only DS is answered from a cut's own data: its NODATA is the one for DS.
      if (!node.get(RRType.CNAME) && !node.get(RRType.DS)) res.nodata = this.#nodataFor(node, RRType.DS);
      return res;
    }
    return this.#dataEntries(node, name);
  }

  #dataEntries(
    node: ZoneNode,
    name: Name,
  ): { entries: Entry[]; nodata: Tpl | undefined; referral: Tpl | undefined } {
    const wild = node.name.isWildcard ? node.name.parent().toLowerCase() : undefined;
    const sets = node.rrsets;
    if (sets.length === 0)
      return {
        entries: [],
        nodata: wild !== undefined ? this.negative : this.#nodataFor(node),
        referral: undefined,
      };
    // Sized for the RRsets and ANY (a push onto [] reserves 17 slots); a CNAME's chases pushed.
    const entries: Entry[] = new Array(sets.length + 1);
    let lowest = sets[0];
    let any = 0;
    for (let k = 0; k < sets.length; k++) {
      const set = sets[k];
      entries[k] =
        wild === undefined && set.type !== RRType.DS
          ? this.#exactData(name, set)
          : this.#make(wild, name, set.type);
      if (set.type < lowest.type) {
        lowest = set;
        any = k;
      }
    }
    // RFC 8482 answer to ANY: the lowest type's RRset, the same bytes as asking for it.
    entries[sets.length] = { qtype: RRType.ANY, tpl: entries[any].tpl, reason: entries[any].reason };
    let nodata: Tpl | undefined;
    if (node.get(RRType.CNAME)) {
      for (const t of CNAME_CHASE_TYPES)
        if (!node.get(t))
          entries.push(
            (wild === undefined ? this.#exactChase(node, name, t) : undefined) ?? this.#make(wild, name, t),
          );
    } else if (wild !== undefined) {
      nodata = this.negative;
    } else {
      nodata = this.#nodataFor(node);
    }
    // By QTYPE (insertion sort: a handful of entries, each QTYPE once).
    for (let i = 1; i < entries.length; i++) {
      const e = entries[i];
      let j = i - 1;
      while (j >= 0 && entries[j].qtype > e.qtype) {
        entries[j + 1] = entries[j];
        j--;
      }
      entries[j + 1] = e;
    }
    return { entries, nodata, referral: undefined };
  }

  /** The entry of `qtype` at a wildcard (`wild`: the name it stands in under) or at exactly `name`. */
  #make(wild: Name | undefined, name: Name, qtype: number): Entry {
    return wild !== undefined
      ? this.#shiftable(wild, qtype, (q) => this.#answer(q, qtype))
      : this.#exact(name, qtype);
  }
}

/**
 * A type whose RDATA holds no name the template encoder may compress (compressibleNameOffsets
 * is empty: not an RFC 1035 name type), not SRV (its targets' addresses go in additional) and
 * not DS (answered by the engine): `#exactData` writes its template with `#plainData`.
 */
function plainType(type: number): boolean {
  return type !== RRType.SRV && type !== RRType.DS && type !== RRType.ANY && !hasCompressibleNames(type);
}

/**
 * The zone's nodes in RFC 4034 §6.1 canonical order. Sorting with a precomputed key (labels
 * right to left, each octet + 1, label ends as 0) compares plain strings, several times faster
 * than comparing names label by label. Every node is at or under the origin (Zone.build drops
 * the rest), so keys leave the origin's labels out: the apex's key is empty and a name one
 * label below it, most names of a big zone, has that label as its key, a slice of its own key.
 */
function canonicalOrder(zone: CompilableZone): OrderedNames {
  const n = zone.nodes.size;
  const originLength = zone.origin.key.length;
  // An octet 0 inside a label would be ambiguous with the label end: then (for the whole
  // zone, so all keys compare alike) every octet is stored + 1.
  let shift = false;
  if (zone instanceof ColumnZone) {
    // By name index, from the columns' key octets: no node (nor key string) is made to be sorted.
    return new ColumnOrder(zone, columnOrder(zone, originLength));
  }
  for (const key of zone.nodes.keys())
    if (key.indexOf('\x00') < key.length - 1) {
      shift = true;
      break;
    }
  const keys: string[] = new Array(n);
  const order: number[] = new Array(n);
  const nodes: ZoneNode[] = new Array(n);
  let k = 0;
  for (const node of zone.nodes.values()) {
    order[k] = k;
    nodes[k] = node;
    keys[k++] = sortKey(node.name.key, node.name.key.length - originLength, shift);
  }
  if (n <= 16) {
    // Insertion sort: a small zone's names (the sort builtin's set-up costs more).
    for (let i = 1; i < n; i++) {
      const x = order[i];
      const kx = keys[x];
      let j = i - 1;
      while (j >= 0 && keys[order[j]] > kx) {
        order[j + 1] = order[j];
        j--;
      }
      order[j + 1] = x;
    }
  } else order.sort((a, b) => (keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : 0));
  const out: ZoneNode[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = nodes[order[i]];
  return new NodeArray(out);
}

/**
 * `canonicalOrder` of a ColumnZone: its name indexes sorted by their sort keys (`sortKey`'s
 * code units, here octets + 1 so that 0 can end a key), the keys written into one array from
 * the columns' key octets and sorted by a multikey quicksort (Bentley and Sedgewick: a
 * three-way partition on one position of the keys at a time, an explicit stack, insertion
 * sort for short runs) — no key string is made and no comparator called. The keys of
 * distinct names are distinct, so any correct sort gives the one order.
 */
function columnOrder(zone: ColumnZone, originLength: number): SortedColumns {
  const n = zone.nodes.size;
  const { octets, off, len } = zone._index;
  const total = keyTotal(len, n, originLength);
  // The keys, their offsets and the packed units in one buffer, dead after the sort (`scratch`).
  const koAt = (total * 2 + 3) & ~3;
  const unitAt = koAt + (n + 1) * 4;
  const mem = new ArrayBuffer(unitAt + n * 4);
  // Per key: its code units + 1 (1 the label separator), so a key's end (0) sorts first.
  const kb = new Uint16Array(mem, 0, total);
  const ko = new Int32Array(mem, koAt, n + 1);
  // The origin's labels end every key (not in the sort keys): its octets tested here.
  const origin = zone.origin.key;
  let seen = 0;
  for (let q = 0; q < origin.length - 1; q += origin.charCodeAt(q) + 1)
    for (let c = q + 1; c <= q + origin.charCodeAt(q); c++) seen |= unitsSeen(origin.charCodeAt(c));
  // An octet 0 inside a label would be ambiguous with the label end: then (for the whole
  // zone, so all keys compare alike) every octet is stored + 1 — the keys written again.
  const add = (seen & SEEN_ZERO) !== 0 ? 2 : 1;
  seen |= keyUnits(octets, off, len, n, originLength, kb, ko, add);
  if (add === 1 && (seen & SEEN_ZERO) !== 0) keyUnits(octets, off, len, n, originLength, kb, ko, 2);
  const order = identityOrder(n);
  // Per position in `order`: the key's code units d, d + 1 and d + 2 (0 past its end) packed
  // in 9 bits each (a unit is at most 0x101), moved with `order`: a partition reads this
  // array in sequence instead of each key's units at random, and the units are read again
  // from the keys only once every three positions (when a run of equal ones goes deeper).
  const unit = new Int32Array(mem, unitAt, n);
  sortRuns(kb, ko, order, unit, n);
  return { order, highNames: (seen & SEEN_HIGH) !== 0, scratch: mem };
}

/**
 * The octets of the sort keys of a ColumnZone's `n` names (each key's octets below the
 * origin's `originLength`). Each of `columnOrder`'s passes over the names is a function of
 * its own: V8 optimizes a long loop while it runs (on-stack replacement), and code after it
 * in the same function, not run yet, would have no type feedback — a deoptimization and a
 * recompile of the whole function once the loop ends.
 */
function keyTotal(len: Uint8Array, n: number, originLength: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) total += Math.max(0, len[i] - originLength);
  return total;
}

/** `[0, 1, … n - 1]`. */
function identityOrder(n: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order;
}

/**
 * Sorts `order[0, n)` by the keys (`columnOrder`'s multikey quicksort, into `unit` the
 * keys' packed units). The three-way partition is a function of its own
 * (`partition`): the first one runs over every name and gets optimized mid-loop, before the
 * rest of this loop has run once.
 */
function sortRuns(kb: Uint16Array, ko: Int32Array, order: Int32Array, unit: Int32Array, n: number): void {
  // Runs to sort: lo, hi, d and whether `unit` already holds their units at d (1) or not (0).
  // The first run's units are packed by the loop's own `packUnits` call.
  const stack: number[] = [0, n, 0, 0];
  while (stack.length > 0) {
    const packed = stack.pop() as number;
    const d = stack.pop() as number;
    const hi = stack.pop() as number;
    const lo = stack.pop() as number;
    if (hi - lo < 12) {
      for (let i = lo + 1; i < hi; i++) {
        const x = order[i];
        let j = i - 1;
        while (j >= lo && keyAfter(kb, ko, order[j], x, d)) {
          order[j + 1] = order[j];
          j--;
        }
        order[j + 1] = x;
      }
      continue;
    }
    // Called for every run, an empty range when its units are packed: a call site first
    // reached once V8 has optimized the loop costs a deoptimization and a recompile.
    packUnits(kb, ko, order, unit, lo, packed === 0 ? hi : lo, d);
    // The median of three as the pivot.
    const a = unit[lo];
    const b = unit[(lo + hi) >>> 1];
    const c = unit[hi - 1];
    const v = Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
    const lt = partition(order, unit, lo, hi, v);
    const gt = partitionGt;
    if (lt - lo > 1) stack.push(lo, lt, d, 1);
    if (hi - gt - 1 > 1) stack.push(gt + 1, hi, d, 1);
    // Keys that end before d + 3 are equal (one name at most): no deeper position to sort on.
    if ((v & 0x1ff) !== 0 && gt + 1 - lt > 1) stack.push(lt, gt + 1, d + 3, 0);
  }
}

/** Where `partition`'s run of units above the pivot starts, less one (its second result). */
let partitionGt = 0;

/**
 * Three-way partition of `order[lo, hi)` (and `unit` with it) around the pivot unit `v`:
 * below it, equal, above it. Returns where the equal units start; `partitionGt` is where
 * they end, less one.
 */
function partition(order: Int32Array, unit: Int32Array, lo: number, hi: number, v: number): number {
  let lt = lo;
  let gt = hi - 1;
  let i = lo;
  while (i <= gt) {
    const u = unit[i];
    if (u < v) {
      const x = order[i];
      order[i] = order[lt];
      unit[i++] = unit[lt];
      order[lt] = x;
      unit[lt++] = u;
    } else if (u > v) {
      const x = order[i];
      order[i] = order[gt];
      unit[i] = unit[gt];
      order[gt] = x;
      unit[gt--] = u;
    } else i++;
  }
  partitionGt = gt;
  return lt;
}

/** What `columnOrder` gives: the name indexes sorted, what its pass over the octets saw, its memory. */
interface SortedColumns {
  order: Int32Array;
  /** Some label octet is 0xfe or 0xff (`TemplateBuilder`'s `highNames`). */
  highNames: boolean;
  /** The keys' buffer, not read again once sorted. */
  scratch: ArrayBuffer | undefined;
}

/** `keyUnits`' findings: a label octet 0 (the keys need `shift`), one of 0xfe or 0xff. */
const SEEN_ZERO = 1;
const SEEN_HIGH = 2;

function unitsSeen(o: number): number {
  return o === 0 ? SEEN_ZERO : o >= 0xfe ? SEEN_HIGH : 0;
}

/**
 * Writes the sort keys of names `[0, n)` (`sortKey`'s, from the columns' key octets below the
 * origin's `originLength`) into `kb`, each label octet + `add`, and their starts into `ko`;
 * returns what it saw of the label octets (SEEN_ZERO, SEEN_HIGH) — one pass over them.
 */
function keyUnits(
  octets: Uint8Array,
  off: Int32Array,
  len: Uint8Array,
  n: number,
  originLength: number,
  kb: Uint16Array,
  ko: Int32Array,
  add: number,
): number {
  const starts = new Int32Array(128);
  let seen = 0;
  let p = 0;
  for (let i = 0; i < n; i++) {
    ko[i] = p;
    const at = off[i];
    const stop = len[i] - originLength;
    let labels = 0;
    for (let k = 0; k < stop; k += octets[at + k] + 1) starts[labels++] = k;
    for (let j = labels - 1; j >= 0; j--) {
      const q = at + starts[j];
      const end = q + octets[q];
      for (let c = q + 1; c <= end; c++) {
        const o = octets[c];
        if (o === 0 || o >= 0xfe) seen |= unitsSeen(o);
        kb[p++] = o + add;
      }
      if (j > 0) kb[p++] = 1;
    }
  }
  ko[n] = p;
  return seen;
}

/** `unit[lo, hi)`: the code units d, d + 1 and d + 2 of the keys `order[lo, hi)`, packed. */
function packUnits(
  kb: Uint16Array,
  ko: Int32Array,
  order: Int32Array,
  unit: Int32Array,
  lo: number,
  hi: number,
  d: number,
): void {
  for (let i = lo; i < hi; i++) {
    const x = order[i];
    const p = ko[x] + d;
    const e = ko[x + 1];
    // Past the key's end a unit is 0. Each unit read on its own test (the arms past the end
    // hold no operation needing type feedback): short keys, first met after V8 optimized
    // this loop, cost no deoptimization.
    const u0 = p < e ? kb[p] : 0;
    const u1 = p + 1 < e ? kb[p + 1] : 0;
    const u2 = p + 2 < e ? kb[p + 2] : 0;
    unit[i] = (u0 << 18) | (u1 << 9) | u2;
  }
}

/** Key `a` sorts after key `b` (both equal before position `d`). */
function keyAfter(kb: Uint16Array, ko: Int32Array, a: number, b: number, d: number): boolean {
  let p = ko[a] + d;
  let q = ko[b] + d;
  const pe = ko[a + 1];
  const qe = ko[b + 1];
  for (; p < pe && q < qe; p++, q++) if (kb[p] !== kb[q]) return kb[p] > kb[q];
  return p < pe;
}

/**
 * True when some label octet of a ColumnZone's keys is `c` (`atLeast`: is `c` or above), read
 * from its octets (the length octets and the final 0 not tested).
 */
function columnKeysHave(zone: ColumnZone, c: number, atLeast: boolean): boolean {
  const { octets, off, len } = zone._index;
  const n = zone.nameCount;
  for (let i = 0; i < n; i++) {
    const at = off[i];
    const end = at + len[i] - 1;
    for (let p = at; p < end; p += octets[p] + 1) {
      const stop = p + octets[p];
      if (atLeast) {
        for (let k = p + 1; k <= stop; k++) if (octets[k] >= c) return true;
      } else for (let k = p + 1; k <= stop; k++) if (octets[k] === c) return true;
    }
  }
  return false;
}

/**
 * The sort key of the labels in `k[0, stop)` (a case-folded wire name, the origin's labels cut
 * off at `stop`): labels right to left, each but the last followed by octet 0 (with `shift`,
 * every label octet + 1), so the end of a label sorts before any octet and a label before its
 * extensions. (A final 0 would follow every key alike: leaving it out keeps the order.)
 */
function sortKey(k: string, stop: number, shift: boolean): string {
  if (stop <= 0) return '';
  const first = k.charCodeAt(0) + 1;
  if (first === stop && !shift) return k.slice(1, stop);
  const starts: number[] = [];
  for (let i = 0; i < stop; i += k.charCodeAt(i) + 1) starts.push(i);
  let key = '';
  for (let j = starts.length - 1; j >= 0; j--) {
    const p = starts[j];
    const len = k.charCodeAt(p);
    if (shift) for (let c = p + 1; c <= p + len; c++) key += String.fromCharCode(k.charCodeAt(c) + 1);
    else key += k.slice(p + 1, p + 1 + len);
    if (j > 0) key += '\x00';
  }
  return key;
}

/** Offsets in `a` of the compression pointers whose target differs by one in `b`. */
function findPatches(a: Uint8Array, b: Uint8Array): number[] | undefined {
  if (a.length !== b.length) return undefined;
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    // The pointer starts here (its high octet changed by a carry) or one octet before.
    let p = i;
    if (!((a[i] & 0xc0) === 0xc0 && i + 1 < a.length && ptr(b, i) === ptr(a, i) + 1)) p = i - 1;
    if (p < 0 || (a[p] & 0xc0) !== 0xc0 || ptr(b, p) !== ptr(a, p) + 1) return undefined;
    out.push(p);
    i = p + 1;
  }
  return out;
}

function ptr(b: Uint8Array, p: number): number {
  return ((b[p] & 0x3f) << 8) | b[p + 1];
}

function applyPatches(body: Uint8Array, patches: number[], delta: number): Uint8Array {
  const out = body.slice();
  for (const p of patches) {
    const t = ptr(body, p) + delta;
    out[p] = 0xc0 | (t >> 8);
    out[p + 1] = t & 0xff;
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
