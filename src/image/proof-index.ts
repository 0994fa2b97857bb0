/**
 * A signed zone's NSEC/NSEC3 proof index as a section of its image (docs/IMAGE.md
 * "NSEC_INDEX, NSEC3_INDEX"): made by the compiler with the rest of the image (the compile
 * thread, never a serving loop), read in place by the workers (`ImageProofs`: a binary search
 * over the image's octets; no string per name, one key made per proof record placed).
 *
 * - NSEC_INDEX (17): u32 count, then `count` u32 name indexes, ascending. NAMES is in
 *   canonical order (RFC 4034 §6.1), so these are the NSEC owners in canonical order.
 * - NSEC3_INDEX (18): u32 count, u16 iterations, u8 hash algorithm (1), u8 salt length, the
 *   salt, zero padding to 4; then `count` entries of 24 octets — the owner's raw 20-octet
 *   hash (its first label, base32hex-decoded), u32 name index — sorted by hash, distinct.
 *
 * Written only for a signed zone (a DNSKEY RRset and RRSIGs at the apex), with exactly the
 * contents `dnssec.ts` would build from the zone: NSEC3 when the apex has a usable
 * NSEC3PARAM (only the owners of that chain, one label below the apex), else NSEC.
 * @module
 */
import { NSEC3_HASH_SIZE, nsec3OwnerHash, nsec3ParamsOf, type ZoneProofs } from '../answer/dnssec.js';
import { RRType } from '../wire/constants.js';
import { N, NAME_RECORD_SIZE, SectionId } from './format.js';
import type { ZoneImage } from './reader.js';

/** One NSEC3_INDEX entry: hash, name index. */
export const NSEC3_ENTRY_SIZE = NSEC3_HASH_SIZE + 4;

/** What the compiler hands over for one section: its id and its octets (a multiple of 4). */
export interface ProofSection {
  id: number;
  bytes: Uint8Array;
}

/** The compiler's view of a zone's names in canonical order (compile.ts's `OrderedNames`). */
export interface ProofNames {
  readonly length: number;
  /** The folded key (`Name.key`) of name `i`, or its octets (read in place: no string per name). */
  key(i: number): string | Uint8Array;
  /** The first RDATA of name `i`'s RRset of `type`, if it has one. */
  rdata(i: number, type: number): Uint8Array | undefined;
}

/** The zone being compiled, as far as the proof section reads it. */
export interface ProofZone {
  readonly apex: { get(type: number): { readonly rdata: readonly Uint8Array[] } | undefined };
  readonly origin: { readonly labelCount: number };
}

/**
 * The proof section of `zone` (its names in canonical order: `names`), or undefined when it
 * is not signed (`isSignedZone`'s test: a DNSKEY RRset and RRSIGs at the apex).
 */
export function proofSection(zone: ProofZone, names: ProofNames): ProofSection | undefined {
  const apex = zone.apex;
  if (apex.get(RRType.DNSKEY) === undefined || apex.get(RRType.RRSIG) === undefined) return undefined;
  const params = nsec3ParamsOf(apex.get(RRType.NSEC3PARAM)?.rdata);
  const n = names.length;
  if (params === undefined) {
    const idx: number[] = [];
    for (let i = 0; i < n; i++) if (names.rdata(i, RRType.NSEC) !== undefined) idx.push(i);
    const out = new Uint8Array(4 + idx.length * 4);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, idx.length, true);
    for (let k = 0; k < idx.length; k++) dv.setUint32(4 + k * 4, idx[k], true);
    return { id: SectionId.NSEC_INDEX, bytes: out };
  }
  const labels = zone.origin.labelCount + 1;
  let hashes = new Uint8Array(1024 * NSEC3_HASH_SIZE);
  let owners = new Int32Array(1024);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const rd = names.rdata(i, RRType.NSEC3);
    if (rd === undefined) continue;
    const h = nsec3OwnerHash(names.key(i), rd, params, labels);
    if (h === undefined) continue;
    if (count === owners.length) {
      const o = new Int32Array(count * 2);
      o.set(owners);
      owners = o;
      const hs = new Uint8Array(count * 2 * NSEC3_HASH_SIZE);
      hs.set(hashes);
      hashes = hs;
    }
    hashes.set(h, count * NSEC3_HASH_SIZE);
    owners[count++] = i;
  }
  const order = sortByHash(hashes, count);
  const saltLen = params.salt.length;
  const at0 = 8 + ((saltLen + 3) & ~3);
  const out = new Uint8Array(at0 + count * NSEC3_ENTRY_SIZE);
  const dv = new DataView(out.buffer);
  dv.setUint16(4, params.iterations, true);
  out[6] = 1;
  out[7] = saltLen;
  out.set(params.salt, 8);
  let w = 0;
  for (let k = 0; k < count; k++) {
    const e = order[k];
    // Two owners of one hash cannot both be names of the zone; keep the first if they are.
    if (w > 0 && compareAt(hashes, e * NSEC3_HASH_SIZE, out, at0 + (w - 1) * NSEC3_ENTRY_SIZE) === 0)
      continue;
    const p = at0 + w * NSEC3_ENTRY_SIZE;
    out.set(hashes.subarray(e * NSEC3_HASH_SIZE, (e + 1) * NSEC3_HASH_SIZE), p);
    dv.setUint32(p + NSEC3_HASH_SIZE, owners[e], true);
    w++;
  }
  dv.setUint32(0, w, true);
  return { id: SectionId.NSEC3_INDEX, bytes: out.subarray(0, at0 + w * NSEC3_ENTRY_SIZE) };
}

/**
 * The entries' order by hash: their first four octets and their position packed in one
 * number (exact below 2^53: 2^21 entries) and sorted natively, then runs of equal first
 * octets (rare: the hashes are uniform) put in order by the whole hash.
 * @internal exported for its test
 */
export function sortByHash(hashes: Uint8Array, count: number): Int32Array {
  const order = new Int32Array(count);
  const head = (k: number): number => {
    const p = k * NSEC3_HASH_SIZE;
    return ((hashes[p] << 24) | (hashes[p + 1] << 16) | (hashes[p + 2] << 8) | hashes[p + 3]) >>> 0;
  };
  const byHash = (a: number, b: number): number =>
    compareAt(hashes, a * NSEC3_HASH_SIZE, hashes, b * NSEC3_HASH_SIZE);
  if (count >= 1 << 21) {
    for (let k = 0; k < count; k++) order[k] = k;
    return order.sort(byHash);
  }
  const packed = new Float64Array(count);
  for (let k = 0; k < count; k++) packed[k] = head(k) * (1 << 21) + k;
  packed.sort();
  for (let k = 0; k < count; k++) order[k] = packed[k] % (1 << 21);
  for (let k = 1; k < count; k++) {
    // Insertion into the run of equal heads before it.
    const e = order[k];
    let j = k - 1;
    while (j >= 0 && head(order[j]) === head(e) && byHash(order[j], e) > 0) {
      order[j + 1] = order[j];
      j--;
    }
    order[j + 1] = e;
  }
  return order;
}

/** memcmp of 20 octets: `a[pa..]` against `b[pb..]`. */
function compareAt(a: Uint8Array, pa: number, b: Uint8Array, pb: number): number {
  for (let k = 0; k < NSEC3_HASH_SIZE; k++) {
    const d = a[pa + k] - b[pb + k];
    if (d !== 0) return d;
  }
  return 0;
}

function le32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

/**
 * Checks a proof section at load (`openImage`): its shape always; with `deep`, every name
 * index below `nameCount`, NSEC indexes strictly ascending, NSEC3 hashes strictly ascending.
 * Returns a message when it is bad, undefined when good.
 */
export function checkProofSection(
  b: Uint8Array,
  id: number,
  at: number,
  size: number,
  nameCount: number,
  deep: boolean,
): string | undefined {
  if (size < 4) return 'proof index size';
  const count = le32(b, at);
  if (id === SectionId.NSEC_INDEX) {
    if (count > nameCount || size !== 4 + count * 4) return 'NSEC index size';
    let prev = -1;
    for (let k = 0; deep && k < count; k++) {
      const v = le32(b, at + 4 + k * 4);
      if (v >= nameCount || v <= prev) return `NSEC index entry ${k}`;
      prev = v;
    }
    return undefined;
  }
  if (size < 8) return 'NSEC3 index size';
  const saltLen = b[at + 7];
  const at0 = 8 + ((saltLen + 3) & ~3);
  if (b[at + 6] !== 1 || count > nameCount || size !== at0 + count * NSEC3_ENTRY_SIZE)
    return 'NSEC3 index size';
  for (let k = 0; deep && k < count; k++) {
    const p = at + at0 + k * NSEC3_ENTRY_SIZE;
    if (le32(b, p + NSEC3_HASH_SIZE) >= nameCount) return `NSEC3 index entry ${k}`;
    if (k > 0 && compareAt(b, p - NSEC3_ENTRY_SIZE, b, p) >= 0) return `NSEC3 index entry ${k} out of order`;
  }
  return undefined;
}

/** Label starts of a key (a name has at most 127 labels) and of an image name: scratch. */
const keyStarts = new Int32Array(128);
const nameStarts = new Int32Array(128);

/**
 * A signed zone's proofs read from its image's section (validated by `openImage`), in place:
 * `ImageZone.proofs()`.
 */
export class ImageProofs implements ZoneProofs {
  readonly nsec3: { iterations: number; salt: Uint8Array } | undefined;
  readonly nsec: boolean;
  readonly #img: ZoneImage;
  /** First entry's offset. */
  readonly #at: number;
  readonly #count: number;
  readonly #keyAt: (i: number) => string;

  /** `at`: the section's offset; `keyAt`: name index → key (`ImageZone.keyAt`). */
  constructor(img: ZoneImage, id: number, at: number, keyAt: (i: number) => string) {
    this.#img = img;
    this.#keyAt = keyAt;
    const b = img.bytes;
    this.#count = le32(b, at);
    if (id === SectionId.NSEC3_INDEX) {
      const saltLen = b[at + 7];
      this.nsec3 = { iterations: b[at + 4] | (b[at + 5] << 8), salt: b.subarray(at + 8, at + 8 + saltLen) };
      this.nsec = false;
      this.#at = at + 8 + ((saltLen + 3) & ~3);
    } else {
      this.nsec3 = undefined;
      this.nsec = true;
      this.#at = at + 4;
    }
  }

  nsecCover(key: string): string | undefined {
    const n = this.#count;
    if (!this.nsec || n === 0) return undefined;
    // Names of the zone canonically before `key` (NAMES is in canonical order)...
    const rank = this.#rank(key);
    // ...and the last NSEC owner among them (wrapping to the last owner).
    const b = this.#img.bytes;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (le32(b, this.#at + mid * 4) < rank) lo = mid + 1;
      else hi = mid;
    }
    return this.#keyAt(le32(b, this.#at + (lo === 0 ? n - 1 : lo - 1) * 4));
  }

  nsec3Match(hash: Uint8Array): string | undefined {
    const i = this.#lowerBound(hash);
    if (i >= this.#count) return undefined;
    const p = this.#at + i * NSEC3_ENTRY_SIZE;
    if (compareAt(this.#img.bytes, p, hash, 0) !== 0) return undefined;
    return this.#keyAt(le32(this.#img.bytes, p + NSEC3_HASH_SIZE));
  }

  nsec3Cover(hash: Uint8Array): string | undefined {
    const n = this.#count;
    if (this.nsec || n === 0) return undefined;
    const i = this.#lowerBound(hash);
    const p = this.#at + (i === 0 ? n - 1 : i - 1) * NSEC3_ENTRY_SIZE;
    return this.#keyAt(le32(this.#img.bytes, p + NSEC3_HASH_SIZE));
  }

  /** The first NSEC3 entry whose hash is not below `hash`. */
  #lowerBound(hash: Uint8Array): number {
    if (this.nsec || hash.length !== NSEC3_HASH_SIZE) return this.#count;
    const b = this.#img.bytes;
    let lo = 0;
    let hi = this.#count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareAt(b, this.#at + mid * NSEC3_ENTRY_SIZE, hash, 0) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** How many names of the image sort canonically before the name whose key is `key`. */
  #rank(key: string): number {
    let kc = 0;
    for (let i = 0; i < key.length && key.charCodeAt(i) !== 0; i += key.charCodeAt(i) + 1)
      keyStarts[kc++] = i;
    const img = this.#img;
    let lo = 0;
    let hi = img.nameCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareName(img, mid, key, kc) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * RFC 4034 §6.1 order of image name `i` against `key` (its `kc` label starts in `keyStarts`):
 * labels compared from the root down, octet by octet (both are folded), a label before any
 * longer one it starts, then fewer labels first. Negative when the image's name sorts first.
 */
function compareName(img: ZoneImage, i: number, key: string, kc: number): number {
  const b = img.bytes;
  const nd = le32(b, img.names + i * NAME_RECORD_SIZE + N.NAMEDATA);
  const end = nd + 1 + b[nd];
  let nc = 0;
  for (let p = nd + 1; p < end && b[p] !== 0; p += b[p] + 1) nameStarts[nc++] = p;
  for (let a = nc - 1, k = kc - 1; a >= 0 && k >= 0; a--, k--) {
    const pa = nameStarts[a];
    const pk = keyStarts[k];
    const la = b[pa];
    const lk = key.charCodeAt(pk);
    const m = Math.min(la, lk);
    for (let j = 1; j <= m; j++) {
      const d = b[pa + j] - key.charCodeAt(pk + j);
      if (d !== 0) return d;
    }
    if (la !== lk) return la - lk;
  }
  return nc - kc;
}
