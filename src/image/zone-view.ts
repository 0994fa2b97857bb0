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
import { RRType } from '../wire/constants.js';
import { Name } from '../wire/name.js';
import type { QueryView } from '../wire/query-view.js';
import { readSoa, type Soa } from '../wire/rdata.js';
import type { RRset, ServedNode, ServedZone } from '../zone/zone.js';
import { fnv1aString, H, N, NAME_RECORD_SIZE, R, RRSET_RECORD_SIZE } from './format.js';
import { type ImageQuery, queryFromView, respondFromImage, type ZoneImage } from './reader.js';

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
  /** The apex's name index (found once, at construction). */
  readonly #apexIndex: number;

  constructor(image: ZoneImage) {
    this.image = image;
    this.class = image.dv.getUint16(H.CLASS, true);
    this.serial = image.serial;
    this.recordCount = image.recordCount;
    const apex = this.#find(latin1(image.origin, 0, image.origin.length));
    // openImage does not require the origin among the names; the compiler always writes it.
    if (apex < 0) throw new RangeError('zone image: the origin is not among its names');
    this.#apexIndex = apex;
    this.origin = this.#nameOf(apex);
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
      this.#old = this.#cur;
      this.#cur = new Map();
    }
    this.#cur.set(i, node);
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

/** `n` octets of `b` from `at` as a latin1 string. */
function latin1(b: Uint8Array, at: number, n: number): string {
  return Buffer.from(b.buffer, b.byteOffset + at, n).toString('latin1');
}
