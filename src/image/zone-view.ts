/**
 * A served zone read from a compiled image (`ImageZone`): the surface of `Zone` that the
 * answer engine, the Catalog, the Responder and the response cache use (`ServedZone` in
 * zone.ts), read lazily from the image's bytes in place. Nothing is copied at construction
 * (the bytes may be a view over memory-mapped pages shared with other processes); a node, its
 * RRsets and its `Name` are made only when a query touches the name, and each RDATA is a
 * subarray of the image.
 *
 * Owner names: the image stores them case-folded; when the zone's spelling differs, the
 * image's SPELLING section (docs/IMAGE.md) holds it, and the node's name is spelled as the Zone
 * spelled it, so an owner the encoder writes uncompressed has the same octets either way.
 *
 * Node identity: the answer engine dedupes additional RRsets by object identity (two MX
 * records naming one host), so a node looked up twice during one answer must be the same
 * object. Nodes made are kept in two generations of at most `NODE_CACHE` each: a node stays
 * the same object until `NODE_CACHE` other nodes were made after it, far more than one
 * answer touches (the cache is bounded, so a zone read by every query never grows a JS copy
 * of itself).
 * @module
 */
import type { ZoneProofs } from '../answer/dnssec.js';
import { RRType } from '../wire/constants.js';
import { Name } from '../wire/name.js';
import type { QueryView } from '../wire/query-view.js';
import { readSoa, type Soa } from '../wire/rdata.js';
import type { RRset, ServedNode, ServedZone } from '../zone/zone.js';
import { fnv1aString, H, N, NAME_RECORD_SIZE, R, RRSET_RECORD_SIZE } from './format.js';
import type { ImageRef } from './pack.js';
import { ImageProofs } from './proof-index.js';
import {
  ImageFormatError,
  type ImageQuery,
  openImage,
  queryFromView,
  respondFromImage,
  type ZoneImage,
} from './reader.js';

/** Nodes kept per generation (two generations) per ImageZone. */
export const NODE_CACHE = 4096;

/** One name of an image: its RRsets read from the image when the node is made. */
export class ImageNode implements ServedNode {
  readonly name: Name;
  readonly rrsets: readonly RRset[];
  readonly flags: number;
  /** The name's index in the image. */
  readonly index: number;

  constructor(name: Name, rrsets: readonly RRset[], flags: number, index: number) {
    this.name = name;
    this.rrsets = rrsets;
    this.flags = flags;
    this.index = index;
  }

  /** The RRset of `type`, if any. */
  get(type: number): RRset | undefined {
    const sets = this.rrsets;
    for (let i = 0; i < sets.length; i++) if (sets[i].type === type) return sets[i];
    return undefined;
  }

  /** True for a name with no RRsets (an empty non-terminal). */
  get isEmpty(): boolean {
    return this.rrsets.length === 0;
  }

  has(flag: number): boolean {
    return (this.flags & flag) !== 0;
  }
}

const NO_WARNINGS: readonly never[] = Object.freeze([]);

/** A served zone over a `ZoneImage` (contract 1 of issue 7): accepted wherever a Zone is served. */
export class ImageZone implements ServedZone {
  /** The image read (its bytes are never copied). */
  readonly image: ZoneImage;
  readonly origin: Name;
  readonly class: number;
  /** Nodes by key (`nodes.get(key)`): the zone itself (`get` takes a key or a Name), no object more per zone. */
  readonly nodes: { get(key: string): ImageNode | undefined } = this;
  readonly serial: number;
  readonly recordCount: number;
  #apex: ImageNode | undefined;
  #soa: RRset | undefined;
  #soaData: Soa | undefined;
  #cur: Map<number, ImageNode> | undefined;
  #old: Map<number, ImageNode> | undefined;
  #proofs: ImageProofs | undefined;
  /** The apex's name index (found once, at construction). */
  readonly #apexIndex: number;
  /** Told of every change in the number of nodes cached (`LazyImageZone`'s per-process budget). */
  readonly #onNodes: ((delta: number) => void) | undefined;

  /**
   * `onNodes`: called with +1 for each node cached and −n when a generation of n is dropped.
   * `origin`: the zone's name when the caller has it (its key must be the image's origin;
   * `LazyImageZone` checked it), else it is read from the image, spelled as the zone spelled it.
   */
  constructor(image: ZoneImage, onNodes?: (delta: number) => void, origin?: Name) {
    this.image = image;
    this.#onNodes = onNodes;
    this.class = image.dv.getUint16(H.CLASS, true);
    this.serial = image.serial;
    this.recordCount = image.recordCount;
    const apex = this.#find(origin?.key ?? latin1(image.origin, 0, image.origin.length));
    // openImage does not require the origin among the names; the compiler always writes it.
    if (apex < 0) throw new RangeError('zone image: the origin is not among its names');
    this.#apexIndex = apex;
    this.origin = origin ?? this.#nameOf(apex);
  }

  /** The apex node. */
  get apex(): ImageNode {
    this.#apex ??= this.#node(this.#apexIndex);
    return this.#apex;
  }

  /** The SOA RRset at the apex. */
  get soa(): RRset {
    if (this.#soa === undefined) {
      const soa = this.apex.get(RRType.SOA);
      if (soa === undefined || soa.rdata.length !== 1)
        throw new RangeError(`zone image ${this.origin}: no single SOA at the apex`);
      this.#soa = soa;
    }
    return this.#soa;
  }

  get soaData(): Soa {
    this.#soaData ??= readSoa(this.soa.rdata[0]);
    return this.#soaData;
  }

  /** Nothing to report: findings were reported when the zone was built and compiled. */
  get warnings(): readonly never[] {
    return NO_WARNINGS;
  }

  /** The node at exactly `name` (a Name, or its key: `Name.key`), if it exists (ENTs included). */
  get(name: Name | string): ImageNode | undefined {
    return this.nodeByKey(typeof name === 'string' ? name : name.key);
  }

  /** `ServedZone.respondFromTemplate`: reader.ts `respondFromImage` on this zone's image. */
  respondFromTemplate(
    query: Uint8Array,
    view: QueryView,
    limit: number,
    udpSize: number,
    nsid: Uint8Array | undefined,
    out: Uint8Array,
  ): number {
    return respondFromImage(this.image, queryFromView(query, view, limit, udpSize, nsid, scratchQuery), out);
  }

  /** The node whose case-folded wire key is `key`, if the image holds it. */
  nodeByKey(key: string): ImageNode | undefined {
    const i = this.#find(key);
    return i < 0 ? undefined : this.#node(i);
  }

  /** How many names (nodes, empty non-terminals included) the image holds. */
  get nodeCount(): number {
    return this.image.nameCount;
  }

  /**
   * The node of name index `i` (0 ≤ i < nodeCount, canonical order), made anew and not cached:
   * a zone transfer (src/xfr/) walks every name once and must not flush the query path's cache.
   */
  nodeAt(i: number): ImageNode {
    if (!(i >= 0 && i < this.image.nameCount)) throw new RangeError(`zone image: no name ${i}`);
    return this.#make(i);
  }

  /** The folded key (`Name.key`) of name index `i` (0 ≤ i < nodeCount), no node made. */
  keyAt(i: number): string {
    const img = this.image;
    const nd = img.dv.getUint32(img.names + i * NAME_RECORD_SIZE + N.NAMEDATA, true);
    return latin1(img.bytes, nd + 1, img.bytes[nd]);
  }

  /**
   * The first RDATA of name index `i`'s RRset of `type`, or undefined when it has none; read
   * from the image, no node made (the DNSSEC proof index scans every name with it).
   */
  firstRdataAt(i: number, type: number): Uint8Array | undefined {
    const img = this.image;
    const dv = img.dv;
    const r = img.names + i * NAME_RECORD_SIZE;
    const first = dv.getUint32(r + N.RRSET_FIRST, true);
    const count = dv.getUint32(r + N.RRSET_COUNT, true);
    for (let k = 0; k < count; k++) {
      const s = img.rrsets + (first + k) * RRSET_RECORD_SIZE;
      if (dv.getUint16(s + R.TYPE, true) !== type || dv.getUint16(s + R.COUNT, true) === 0) continue;
      const p = dv.getUint32(s + R.RDATA, true);
      const b = img.bytes;
      return b.subarray(p + 2, p + 2 + ((b[p] << 8) | b[p + 1]));
    }
    return undefined;
  }

  /**
   * The proof index of a signed zone, read in place from the image's NSEC_INDEX or
   * NSEC3_INDEX section (proof-index.ts; `signedIndex` in src/answer/dnssec.ts asks), or
   * undefined when the image has none.
   */
  proofs(): ZoneProofs | undefined {
    const img = this.image;
    if (img.proofs < 0) return undefined;
    this.#proofs ??= new ImageProofs(img, img.proofsId, img.proofs, (i) => this.keyAt(i));
    return this.#proofs;
  }

  /** Index of the name whose folded wire form is `key`, or -1. */
  #find(key: string): number {
    const img = this.image;
    const b = img.bytes;
    const dv = img.dv;
    const n = key.length;
    let s = fnv1aString(key) & img.slotMask;
    for (;;) {
      const v = dv.getUint32(img.hash + s * 4, true);
      if (v === 0) return -1;
      const nd = dv.getUint32(img.names + (v - 1) * NAME_RECORD_SIZE + N.NAMEDATA, true);
      if (b[nd] === n) {
        let k = 0;
        while (k < n && b[nd + 1 + k] === key.charCodeAt(k)) k++;
        if (k === n) return v - 1;
      }
      s = (s + 1) & img.slotMask;
    }
  }

  /** The node of name index `i` (made on first use; see the module comment). */
  #node(i: number): ImageNode {
    if (this.#apex !== undefined && this.#apex.index === i) return this.#apex;
    let node = this.#cur?.get(i);
    if (node !== undefined) return node;
    node = this.#old?.get(i);
    if (node === undefined) node = this.#make(i);
    if (this.#cur === undefined) this.#cur = new Map();
    else if (this.#cur.size >= NODE_CACHE) {
      if (this.#old !== undefined) this.#onNodes?.(-this.#old.size);
      this.#old = this.#cur;
      this.#cur = new Map();
    }
    this.#cur.set(i, node);
    this.#onNodes?.(1);
    return node;
  }

  /** The owner name of index `i`: as the zone spelled it when the image says, else folded. */
  #nameOf(i: number): Name {
    const img = this.image;
    const spelled = img.spellingOf(i);
    if (spelled >= 0) return Name.fromWire(latin1(img.bytes, spelled + 1, img.bytes[spelled]));
    const nd = img.dv.getUint32(img.names + i * NAME_RECORD_SIZE + N.NAMEDATA, true);
    return Name.fromWire(latin1(img.bytes, nd + 1, img.bytes[nd]));
  }

  #make(i: number): ImageNode {
    const img = this.image;
    const dv = img.dv;
    const b = img.bytes;
    const r = img.names + i * NAME_RECORD_SIZE;
    const name = this.#nameOf(i);
    const first = dv.getUint32(r + N.RRSET_FIRST, true);
    const count = dv.getUint32(r + N.RRSET_COUNT, true);
    const sets: RRset[] = new Array(count);
    for (let k = 0; k < count; k++) {
      const s = img.rrsets + (first + k) * RRSET_RECORD_SIZE;
      const records = dv.getUint16(s + R.COUNT, true);
      const rdata: Uint8Array[] = new Array(records);
      let p = dv.getUint32(s + R.RDATA, true);
      for (let j = 0; j < records; j++) {
        const l = (b[p] << 8) | b[p + 1];
        rdata[j] = b.subarray(p + 2, p + 2 + l);
        p += 2 + l;
      }
      sets[k] = {
        name,
        type: dv.getUint16(s + R.TYPE, true),
        class: this.class,
        ttl: dv.getUint32(s + R.TTL, true),
        rdata,
      };
    }
    // The low five bits are zone.ts's NodeFlag (format.ts NameFlag); the rest are the image's own.
    return new ImageNode(name, sets, dv.getUint32(r + N.FLAGS, true) & 31, i);
  }
}

/** The query object `respondFromTemplate` fills (reused: the call is synchronous). */
const scratchQuery: ImageQuery = { id: 0, flags: 0, qname: new Uint8Array(0), qtype: 0, qclass: 0, limit: 0 };

/** True when the octets of `b` are the latin1 string `key`. */
function isKey(b: Uint8Array, key: string): boolean {
  if (b.length !== key.length) return false;
  for (let i = 0; i < b.length; i++) if (b[i] !== key.charCodeAt(i)) return false;
  return true;
}

/** `n` octets of `b` from `at` as a latin1 string. */
function latin1(b: Uint8Array, at: number, n: number): string {
  return Buffer.from(b.buffer, b.byteOffset + at, n).toString('latin1');
}

// ---------------------------------------------------------------------------------------------
// Zones opened on first query

/** Default bound on the ImageZones a process keeps open (`ImageZonePool`). */
export const DEFAULT_OPEN_ZONES = 16_384;
/** Default bound on the nodes those ImageZones cache, all zones together. */
export const DEFAULT_OPEN_NODES = 65_536;
/** Images of at least this many octets are opened (and validated) when they arrive, not on first query. */
export const EAGER_OPEN_BYTES = 256 * 1024;

/** Options of an `ImageZonePool`. */
export interface ImageZonePoolOptions {
  /** Most ImageZones open at once (at least 1; default `DEFAULT_OPEN_ZONES`). */
  maxZones?: number;
  /** Most nodes cached by the open zones together (default `DEFAULT_OPEN_NODES`). */
  maxNodes?: number;
  /** Told once per zone whose image cannot be opened (its queries are then answered SERVFAIL). */
  onError?: (zone: LazyImageZone, err: Error) => void;
  /**
   * True when an image's octets are known to be the ones its writer stored (`PackReader.verified`:
   * a checksum its pack carries): its first open then skips the deep validation (header and
   * section table checked only, as a reopen). Default: every image validated in full.
   */
  verified?: (ref: ImageRef, bytes: Uint8Array) => boolean;
}

/**
 * The ImageZones a process has open, bounded: at most `maxZones` zones and `maxNodes` cached
 * nodes. Beyond either bound a zone not used since the clock hand last passed it is closed
 * (the CLOCK approximation of least recently used: one flag written per use, no list to
 * reorder on the query path); a closed zone opens again on its next query.
 */
export class ImageZonePool {
  readonly maxZones: number;
  readonly maxNodes: number;
  readonly #read: (ref: ImageRef) => Uint8Array;
  readonly #onError: ((zone: LazyImageZone, err: Error) => void) | undefined;
  readonly #verified: ((ref: ImageRef, bytes: Uint8Array) => boolean) | undefined;
  /** The open zones; a closed slot is undefined and listed in #free. */
  readonly #ring: (LazyImageZone | undefined)[] = [];
  readonly #free: number[] = [];
  /** Pack names, each string held once (a name comes with every ref of every message). */
  readonly #packs = new Map<string, string>();
  #hand = 0;
  #open = 0;
  #nodes = 0;
  /** Images opened (validated) for the first time. */
  firstOpens = 0;
  /** Of the first opens, images whose checksum matched (not validated in full). */
  verifiedOpens = 0;
  /** Images opened again after being closed (header checks only). */
  reopens = 0;
  /** Zones closed to keep within the bounds. */
  evictions = 0;
  /** Zones whose image could not be opened. */
  failures = 0;

  /** `read`: the image's octets for a ref (`PackReader.open`); throws when it cannot. */
  constructor(read: (ref: ImageRef) => Uint8Array, opts: ImageZonePoolOptions = {}) {
    this.#read = read;
    this.maxZones = Math.max(1, Math.floor(opts.maxZones ?? DEFAULT_OPEN_ZONES));
    this.maxNodes = Math.max(0, Math.floor(opts.maxNodes ?? DEFAULT_OPEN_NODES));
    this.#onError = opts.onError;
    this.#verified = opts.verified;
  }

  /** ImageZones open now. */
  get openZones(): number {
    return this.#open;
  }

  /** Nodes the open zones cache now. */
  get cachedNodes(): number {
    return this.#nodes;
  }

  /**
   * A zone served from the image at `ref`, opened on its first query. `origin`: the zone's
   * name, which the image must have. With `eager`, or for an image of `EAGER_OPEN_BYTES` or
   * more (whose validation would stall a first query), the image is opened now.
   * @throws ImageFormatError or PackError, when opened now and the image is bad
   */
  zone(origin: Name, ref: ImageRef, eager = false, trusted = false): LazyImageZone {
    let pack = this.#packs.get(ref.pack);
    if (pack === undefined) {
      pack = ref.pack;
      this.#packs.set(pack, pack);
    }
    const z = new LazyImageZone(this, origin, pack, ref.offset, ref.length, trusted);
    if (eager || ref.length >= EAGER_OPEN_BYTES) z._open(true);
    return z;
  }

  /** @internal the octets of `z`'s image. */
  _read(z: LazyImageZone): Uint8Array {
    return this.#read({ pack: z.pack, offset: z.offset, length: z.length });
  }

  /** @internal `bytes` (z's image) match the checksum their pack carries (counted). */
  _verified(z: LazyImageZone, bytes: Uint8Array): boolean {
    if (
      this.#verified === undefined ||
      !this.#verified({ pack: z.pack, offset: z.offset, length: z.length }, bytes)
    )
      return false;
    this.verifiedOpens++;
    return true;
  }

  /** @internal `z` was opened: take a slot, closing another zone when full. */
  _admit(z: LazyImageZone, first: boolean): void {
    if (first) this.firstOpens++;
    else this.reopens++;
    while (this.#open >= this.maxZones && this.#evictOne(z)) {}
    let slot = this.#free.pop();
    if (slot === undefined) {
      slot = this.#ring.length;
      this.#ring.push(z);
    } else this.#ring[slot] = z;
    z._slot = slot;
    this.#open++;
  }

  /** @internal `z` cached `delta` more nodes (fewer when negative). */
  _nodes(z: LazyImageZone, delta: number): void {
    z._nodeCount += delta;
    this.#nodes += delta;
    // Only while another zone is open: the zone in use is never closed (and a sweep over a
    // ring holding it alone would find nothing, node after node).
    if (delta > 0) while (this.#nodes > this.maxNodes && this.#open > 1 && this.#evictOne(z)) {}
  }

  /** @internal `z` could not be opened. */
  _failed(z: LazyImageZone, err: Error): void {
    this.failures++;
    this.#onError?.(z, err);
  }

  /** @internal closes `z` if open (it opens again when used). */
  _close(z: LazyImageZone): void {
    const slot = z._slot;
    if (slot < 0) return;
    this.#ring[slot] = undefined;
    this.#free.push(slot);
    this.#open--;
    this.#nodes -= z._nodeCount;
    z._nodeCount = 0;
    z._slot = -1;
    z._drop();
  }

  /**
   * Closes one open zone other than `keep` (the zone in use: its nodes must stay the same
   * objects while it answers): the first the hand finds unused since it last passed, clearing
   * the used flags it passes. False when `keep` is the only zone open.
   */
  #evictOne(keep: LazyImageZone): boolean {
    const ring = this.#ring;
    // Two turns at most: the first clears every used flag.
    for (let steps = 2 * ring.length; steps > 0; steps--) {
      if (this.#hand >= ring.length) this.#hand = 0;
      const z = ring[this.#hand++];
      if (z === undefined || z === keep) continue;
      if (z._used) {
        z._used = false;
        continue;
      }
      this.evictions++;
      this._close(z);
      return true;
    }
    return false;
  }
}

/**
 * A served zone whose image is opened on its first query (issue 7: a worker handed 100,000
 * refs applies them without reading one). Until then it holds its name, the ref and a few
 * fields; once open it answers through an `ImageZone`, and its pool may close it again (the
 * next query opens it again, checking the header only: the octets of a pack entry never
 * change). An image that cannot be opened (a bad image, a missing pack, another zone's image)
 * is reported once to the pool's `onError`; every query of the zone then throws, which the
 * Responder answers SERVFAIL.
 *
 * The same object serves the zone for as long as the version does (the Catalog and the
 * response cache's stamps compare zones by identity); only what it opened comes and goes.
 */
export class LazyImageZone implements ServedZone {
  readonly origin: Name;
  /** @internal where the image is (`ImageRef`, its pack name shared). */
  readonly pack: string;
  /** @internal */
  readonly offset: number;
  /** @internal */
  readonly length: number;
  readonly #pool: ImageZonePool;
  #zone: ImageZone | undefined;
  /** The error that made the image unusable, for good. */
  #error: Error | undefined;
  /** The image passed a full validation once, or is trusted (reopens check its header only). */
  #validated = false;
  /** Opened at least once (the pool counts first opens and reopens). */
  #opened = false;
  /** @internal used since the pool's clock hand last passed. */
  _used = false;
  /** @internal the slot in the pool (-1: not open). */
  _slot = -1;
  /** @internal nodes the open ImageZone caches. */
  _nodeCount = 0;

  /**
   * @internal use `ImageZonePool.zone`. `trusted`: a delta image (the primary's compiler made
   * it from the version before; docs/IMAGE.md "Delta images"): its first open checks the header
   * and section table only, as a reopen does.
   */
  constructor(
    pool: ImageZonePool,
    origin: Name,
    pack: string,
    offset: number,
    length: number,
    trusted = false,
  ) {
    this.#pool = pool;
    this.#validated = trusted;
    this.origin = origin;
    this.pack = pack;
    this.offset = offset;
    this.length = length;
  }

  /** True while the image is open. */
  get isOpen(): boolean {
    return this.#zone !== undefined;
  }

  /** Why the image could not be opened, if it could not. */
  get error(): Error | undefined {
    return this.#error;
  }

  /**
   * The image's octets as stored, without opening the zone or validating them (what the
   * native addon installs: it validates images itself).
   */
  bytes(): Uint8Array {
    const open = this.#zone;
    return open !== undefined ? open.image.bytes : this.#pool._read(this);
  }

  /** The ImageZone, opened when closed. */
  opened(): ImageZone {
    const z = this.#zone;
    if (z !== undefined) {
      this._used = true;
      return z;
    }
    return this._open(false);
  }

  /** @internal opens the image; `eager`: errors are thrown to the caller, not reported. */
  _open(eager: boolean): ImageZone {
    if (this.#error !== undefined) throw this.#error;
    let zone: ImageZone;
    try {
      const bytes = this.#pool._read(this);
      // A first open validates in full, unless the pack's checksum says these are the octets
      // the primary stored (compiler output): then the header and section table only.
      const image = openImage(bytes, { validated: this.#validated || this.#pool._verified(this, bytes) });
      if (!isKey(image.origin, this.origin.key))
        throw new ImageFormatError(`the image at ${this.pack}:${this.offset} is not of zone ${this.origin}`);
      // Counted while this is the zone's open ImageZone only (a closed one holds no budget).
      const counted: ImageZone = new ImageZone(
        image,
        (delta) => {
          if (this.#zone === counted) this.#pool._nodes(this, delta);
        },
        this.origin,
      );
      zone = counted;
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      if (!eager) {
        this.#error = err;
        this.#pool._failed(this, err);
      }
      throw err;
    }
    const first = !this.#opened;
    this.#opened = true;
    this.#validated = true;
    this.#zone = zone;
    this._used = true;
    this.#pool._admit(this, first);
    return zone;
  }

  /** @internal the pool closed this zone. */
  _drop(): void {
    this.#zone = undefined;
    this._used = false;
  }

  /** Closes the image now (the zone is no longer served: its mapping may go). */
  close(): void {
    this.#pool._close(this);
  }

  /** Nodes by key, as `ImageZone.nodes` (the zone itself: no field more per zone). */
  get nodes(): { get(key: string): ServedNode | undefined } {
    return this;
  }
  get class(): number {
    return this.opened().class;
  }
  get apex(): ServedNode {
    return this.opened().apex;
  }
  get soa(): RRset {
    return this.opened().soa;
  }
  get soaData(): Soa {
    return this.opened().soaData;
  }
  get serial(): number {
    return this.opened().serial;
  }
  get recordCount(): number {
    return this.opened().recordCount;
  }
  /** Nothing to report: findings were reported when the zone was built and compiled. */
  get warnings(): readonly never[] {
    return NO_WARNINGS;
  }

  get(name: Name | string): ServedNode | undefined {
    return this.opened().get(name);
  }

  /** The open image's proof index (`ImageZone.proofs`). */
  proofs(): ZoneProofs | undefined {
    return this.opened().proofs();
  }

  /** What a proof index is kept for: the open ImageZone (a reopen reads the section again). */
  proofKey(): object {
    return this.opened();
  }

  respondFromTemplate(
    query: Uint8Array,
    view: QueryView,
    limit: number,
    udpSize: number,
    nsid: Uint8Array | undefined,
    out: Uint8Array,
  ): number {
    return this.opened().respondFromTemplate(query, view, limit, udpSize, nsid, out);
  }
}
