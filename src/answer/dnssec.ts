/**
 * DNSSEC-aware answers from a zone that arrives signed (PowerDNS's PRESIGNED; what NSD and
 * Knot do for a signed zone file): the RRSIGs and NSEC/NSEC3 records are the zone's own, we
 * only pick the right ones (RFC 4035 §3.1, RFC 5155 §7.2). No signing, no validation.
 *
 * A zone is signed when its apex holds a DNSKEY RRset and RRSIGs. Its proof index holds the
 * NSEC owners in canonical order, or the NSEC3 chain (the one the apex's NSEC3PARAM names)
 * sorted by hash; a proof is a binary search. Where the index comes from (never built at a
 * query on a zone read from an image):
 * - a zone read from an image (`ImageZone`, `LazyImageZone`): the image's NSEC_INDEX or
 *   NSEC3_INDEX section, written by the compiler (src/image/proof-index.ts) and read in
 *   place (`ServedZone`'s optional `proofs()`): nothing is built on the worker;
 * - a `Zone` (`--images off`: `serve`'s zone loader, `start`'s parsed text): built from its
 *   nodes when the zone is loaded (`prepareSignedZone`, called by the loaders), kept per zone;
 * - anything else (an image without the section, a zone no loader prepared): built on the
 *   first DO query, as a last resort.
 * NSEC3 hashes of the names a query needs (at most the query's labels + 2, each
 * `iterations + 1` SHA-1s) are cached per index (bounded: cleared when full), so a repeated
 * name costs no hashing.
 * @module
 */
import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { RRType } from '../wire/constants.js';
import type { Name } from '../wire/name.js';
import type { RRset, ServedNode, ServedZone } from '../zone/zone.js';

/** Most NSEC3 iterations we hash (RFC 9276 §3.1 asks for 0; validators give up well below this). */
export const MAX_NSEC3_ITERATIONS = 2500;
/** Hashes kept per zone before the cache is cleared. */
const HASH_CACHE = 16_384;
/** Octets of an NSEC3 hash (SHA-1, hash algorithm 1: the only one defined). */
export const NSEC3_HASH_SIZE = 20;

/**
 * The lookups of a zone's proof index, whatever holds it. Owners are returned as keys
 * (`Name.key`): the proof's node is looked up by it (one key made per record placed).
 */
export interface ZoneProofs {
  /** The NSEC3 chain's parameters; undefined for an NSEC zone. */
  readonly nsec3: { readonly iterations: number; readonly salt: Uint8Array } | undefined;
  /** Whether it holds an NSEC chain (false for NSEC3, or a signed zone with neither). */
  readonly nsec: boolean;
  /** The owner of the NSEC whose span covers `key`: the last owner canonically before it (wrapping). */
  nsecCover(key: string): string | undefined;
  /** The owner of the NSEC3 whose hash is `hash` (20 octets). */
  nsec3Match(hash: Uint8Array): string | undefined;
  /** The owner of the NSEC3 whose span covers `hash`: the last hash before it (wrapping). */
  nsec3Cover(hash: Uint8Array): string | undefined;
}

/** What the proofs of one signed zone read. */
export interface SignedIndex {
  zone: ServedZone;
  proofs: ZoneProofs;
  /** name key → NSEC3 hash (bounded); undefined for NSEC zones. */
  hashes: Map<string, Uint8Array> | undefined;
}

const signed = new WeakMap<ServedZone, boolean>();
const indexes = new WeakMap<object, SignedIndex | null>();

/** Whether `zone` carries signatures: a DNSKEY RRset and RRSIGs at its apex (cached per zone). */
export function isSignedZone(zone: ServedZone): boolean {
  let s = signed.get(zone);
  if (s === undefined) {
    const apex = zone.apex;
    s = apex.get(RRType.DNSKEY) !== undefined && apex.get(RRType.RRSIG) !== undefined;
    signed.set(zone, s);
  }
  return s;
}

/** A zone that brings its proof index (an image's sections: src/image/zone-view.ts). */
interface WithProofs {
  proofs(): ZoneProofs | undefined;
  /** The object the index is kept for (a `LazyImageZone`'s open `ImageZone`). */
  proofKey?(): object;
}

/**
 * The proof index of a signed zone, or undefined when it is not signed: an image's sections
 * read in place, else the index `prepareSignedZone` built with the zone (else built now).
 */
export function signedIndex(zone: ServedZone): SignedIndex | undefined {
  const w = zone as Partial<WithProofs>;
  const key = typeof w.proofKey === 'function' ? w.proofKey() : zone;
  let ix = indexes.get(key);
  if (ix === undefined) {
    if (!isSignedZone(zone)) ix = null;
    else {
      const proofs = (typeof w.proofs === 'function' ? w.proofs() : undefined) ?? buildProofs(zone);
      ix = { zone, proofs, hashes: proofs.nsec3 !== undefined ? new Map() : undefined };
    }
    indexes.set(key, ix);
  }
  return ix ?? undefined;
}

/**
 * Builds a signed zone's proof index now, with the zone (a loader's call: `--images off`
 * zones), so that no query waits for it; nothing for an unsigned zone or one read from an image.
 */
export function prepareSignedZone(zone: ServedZone): void {
  if (isSignedZone(zone)) signedIndex(zone);
}

/**
 * Calls `visit(keyOf, rdataOf)` for every name of `zone`: a `Zone`'s map, or an image's name table
 * (an `ImageZone`, or a `LazyImageZone` opened) read in place, without making its nodes.
 * `rdataOf(type)`: the name's first RDATA of that type, or undefined.
 */
function scanNames(
  zone: ServedZone,
  visit: (keyOf: () => string, rdataOf: (type: number) => Uint8Array | undefined) => void,
): void {
  const z = zone as unknown as {
    nodes: unknown;
    opened?: () => unknown;
    nodeCount?: number;
    keyAt?: (i: number) => string;
    firstRdataAt?: (i: number, type: number) => Uint8Array | undefined;
  };
  if (z.nodes instanceof Map) {
    for (const node of (z.nodes as Map<string, ServedNode>).values())
      visit(
        () => node.name.key,
        (type) => node.get(type)?.rdata[0],
      );
    return;
  }
  const img = (typeof z.opened === 'function' ? z.opened() : z) as typeof z;
  if (typeof img.nodeCount !== 'number' || img.keyAt === undefined || img.firstRdataAt === undefined) return;
  const n = img.nodeCount;
  for (let i = 0; i < n; i++) {
    const at = i;
    // The key only when asked: most names of a big zone are not what the index keeps.
    visit(
      () => img.keyAt!.call(img, at),
      (type) => img.firstRdataAt!.call(img, at, type),
    );
  }
}

/**
 * The NSEC3 chain parameters of a signed zone: its apex's first NSEC3PARAM RDATA that
 * names SHA-1 with a salt of the stated length (RFC 5155 §4.2: hash algorithm, flags,
 * iterations, salt length, salt); undefined when there is none (the zone's proofs are NSEC).
 */
export function nsec3ParamsOf(
  param: readonly Uint8Array[] | undefined,
): { iterations: number; salt: Uint8Array } | undefined {
  if (param === undefined) return undefined;
  for (const rd of param) {
    if (rd.length < 5 || rd[0] !== 1 || rd.length !== 5 + rd[4]) continue;
    return { iterations: (rd[2] << 8) | rd[3], salt: Uint8Array.from(rd.subarray(5, 5 + rd[4])) };
  }
  return undefined;
}

/**
 * The raw hash of an NSEC3 owner of the chain `params` names, from its NSEC3 RDATA and its
 * key (`Name.key`, or the same octets: an image's or a column zone's name, read in place):
 * the RDATA's parameters equal the chain's, the owner is one label below the apex (`labels`
 * = the apex's + 1) and that label is 32 base32hex characters; else undefined.
 */
export function nsec3OwnerHash(
  key: string | Uint8Array,
  rdata: Uint8Array,
  params: { iterations: number; salt: Uint8Array },
  labels: number,
): Uint8Array | undefined {
  if (!sameParams(rdata, params)) return undefined;
  const at = typeof key === 'string' ? (i: number) => key.charCodeAt(i) : (i: number) => key[i];
  let n = 0;
  for (let i = 0; i < key.length && at(i) !== 0; i += at(i) + 1) n++;
  if (n !== labels) return undefined;
  return base32hexDecode(key, 1, at(0));
}

/** The index of a signed `Zone` (or an image without its sections), from one pass over its names. */
function buildProofs(zone: ServedZone): ZoneProofs {
  const params = nsec3ParamsOf(zone.apex.get(RRType.NSEC3PARAM)?.rdata);
  const nsec: { key: string; owner: string }[] = [];
  const nsec3: { hash: string; owner: string }[] = [];
  const hashLabels = zone.origin.labelCount + 1;
  scanNames(zone, (keyOf, rdataOf) => {
    if (params === undefined) {
      if (rdataOf(RRType.NSEC) === undefined) return;
      const key = keyOf();
      nsec.push({ key: canonicalKey(key), owner: key });
      return;
    }
    // Only the chain NSEC3PARAM names (same algorithm, iterations and salt), one label down.
    const rd = rdataOf(RRType.NSEC3);
    if (rd === undefined) return;
    const key = keyOf();
    const hash = nsec3OwnerHash(key, rd, params, hashLabels);
    if (hash !== undefined) nsec3.push({ hash: latin1Of(hash), owner: key });
  });
  const byKey = <T extends { owner: string }>(list: T[], k: (e: T) => string): void => {
    list.sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0));
  };
  if (params !== undefined) {
    byKey(nsec3, (e) => e.hash);
    return new ArrayProofs(
      params,
      nsec3.map((e) => e.hash),
      nsec3.map((e) => e.owner),
    );
  }
  byKey(nsec, (e) => e.key);
  return new ArrayProofs(
    undefined,
    nsec.map((e) => e.key),
    nsec.map((e) => e.owner),
  );
}

/** A proof index in JS arrays: sorted canonical keys (NSEC) or raw hashes as latin1 (NSEC3). */
class ArrayProofs implements ZoneProofs {
  readonly nsec3: { iterations: number; salt: Uint8Array } | undefined;
  readonly nsec: boolean;
  readonly #sorted: string[];
  readonly #owners: string[];

  constructor(
    nsec3: { iterations: number; salt: Uint8Array } | undefined,
    sorted: string[],
    owners: string[],
  ) {
    this.nsec3 = nsec3;
    this.nsec = nsec3 === undefined;
    this.#sorted = sorted;
    this.#owners = owners;
  }

  nsecCover(key: string): string | undefined {
    return this.nsec ? this.#owners[coverIndex(this.#sorted, canonicalKey(key))] : undefined;
  }

  nsec3Match(hash: Uint8Array): string | undefined {
    return this.nsec ? undefined : this.#owners[exactIndex(this.#sorted, latin1Of(hash))];
  }

  nsec3Cover(hash: Uint8Array): string | undefined {
    return this.nsec ? undefined : this.#owners[coverIndex(this.#sorted, latin1Of(hash))];
  }
}

function latin1Of(b: Uint8Array): string {
  return String.fromCharCode.apply(null, b as unknown as number[]);
}

function sameParams(rd: Uint8Array, chain: { iterations: number; salt: Uint8Array }): boolean {
  // RFC 5155 §3.2: alg, flags, iterations (2), salt length, salt, ...
  if (rd.length < 5 || rd[0] !== 1) return false;
  if (((rd[2] << 8) | rd[3]) !== chain.iterations) return false;
  const n = rd[4];
  if (n !== chain.salt.length || rd.length < 5 + n) return false;
  for (let i = 0; i < n; i++) if (rd[5 + i] !== chain.salt[i]) return false;
  return true;
}

/**
 * A string whose order is RFC 4034 §6.1's canonical order of names: the labels from the
 * root down, each octet (lower case: keys are folded) shifted up by one, each label ended by
 * a 0 — so a label sorts before any longer label it starts.
 */
export function canonicalKey(key: string): string {
  const starts = labelStarts;
  let count = 0;
  for (let i = 0; i < key.length && key.charCodeAt(i) !== 0; i += key.charCodeAt(i) + 1) starts[count++] = i;
  // One code unit per octet of each label plus its end: never more than the key's length (≤ 255).
  const out = keyUnits;
  let p = 0;
  for (let s = count - 1; s >= 0; s--) {
    const at = starts[s];
    const n = key.charCodeAt(at);
    for (let k = 1; k <= n; k++) out[p++] = key.charCodeAt(at + k) + 1;
    out[p++] = 0;
  }
  return String.fromCharCode.apply(null, out.subarray(0, p) as unknown as number[]);
}

/** Scratch of `canonicalKey`: label offsets (a name has at most 127 labels) and code units. */
const labelStarts = new Int32Array(128);
const keyUnits = new Uint16Array(256);

const B32HEX = '0123456789abcdefghijklmnopqrstuv';

/** RFC 4648 §7 base32hex without padding, lower case. */
export function base32hex(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < bytes.length; i++) {
    acc = (acc << 8) | bytes[i];
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += B32HEX[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += B32HEX[(acc << (5 - bits)) & 31];
  return out;
}

/** One-shot SHA-1 (`crypto.hash`, Node ≥ 20.12: no Hash object per call), else `createHash`. */
const oneShot = (crypto as { hash?: (alg: string, data: Uint8Array, enc: 'buffer') => Buffer }).hash;

function sha1(data: Uint8Array): Buffer {
  return oneShot !== undefined ? oneShot('sha1', data, 'buffer') : createHash('sha1').update(data).digest();
}

/** Input of each hash round: a name (≤ 255 octets) or a digest, then the salt (≤ 255). */
const hashInput = Buffer.allocUnsafe(512);

/** RFC 5155 §5: IH(salt, x, k), SHA-1, of the name whose key (folded wire form) is `key`: 20 octets. */
export function nsec3Digest(key: string, salt: Uint8Array, iterations: number): Buffer {
  const buf = hashInput;
  const n = buf.write(key, 0, 'latin1');
  buf.set(salt, n);
  let h = sha1(buf.subarray(0, n + salt.length));
  buf.set(salt, 20);
  for (let i = 0; i < iterations; i++) {
    buf.set(h, 0);
    h = sha1(buf.subarray(0, 20 + salt.length));
  }
  return h;
}

/** `nsec3Digest` in base32hex (lower case), as an NSEC3 owner's first label spells it. */
export function nsec3Hash(key: string, salt: Uint8Array, iterations: number): string {
  return base32hex(nsec3Digest(key, salt, iterations));
}

/**
 * RFC 4648 §7 base32hex (no padding; either case) of `text[from, from + length)` (characters
 * or octets), when that
 * is exactly the 32 characters of a 20-octet NSEC3 hash; else undefined.
 */
export function base32hexDecode(
  text: string | Uint8Array,
  from: number,
  length: number,
): Uint8Array | undefined {
  if (length !== 32 || from + length > text.length) return undefined;
  const out = new Uint8Array(NSEC3_HASH_SIZE);
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = from; i < from + length; i++) {
    const c = (typeof text === 'string' ? text.charCodeAt(i) : text[i]) | 0x20;
    const v = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x76 ? c - 0x61 + 10 : -1;
    if (v < 0) return undefined;
    acc = ((acc << 5) | v) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

function hashOf(ix: SignedIndex, key: string): Uint8Array {
  const cache = ix.hashes!;
  let h = cache.get(key);
  if (h === undefined) {
    const p = ix.proofs.nsec3!;
    h = nsec3Digest(key, p.salt, Math.min(p.iterations, MAX_NSEC3_ITERATIONS));
    if (cache.size >= HASH_CACHE) cache.clear();
    cache.set(key, h);
  }
  return h;
}

/** The first index of `sorted` whose entry is not below `v` (`sorted.length` when none). */
function lowerBound(sorted: string[], v: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the last entry of `sorted` below `v` (wrapping to the last entry), or -1 when empty. */
function coverIndex(sorted: string[], v: string): number {
  const lo = lowerBound(sorted, v);
  return lo === 0 ? sorted.length - 1 : lo - 1;
}

/** Index of `v` in `sorted`, or -1. */
function exactIndex(sorted: string[], v: string): number {
  const lo = lowerBound(sorted, v);
  return lo < sorted.length && sorted[lo] === v ? lo : -1;
}

// ---- signatures -----------------------------------------------------------------------------

const byCovered = new WeakMap<RRset, Map<number, Uint8Array[]>>();

/** The RRSIG RDATA at `node` that cover `type` (RFC 4034 §3.1: Type Covered, first two octets). */
export function rrsigsCovering(node: ServedNode, type: number): Uint8Array[] | undefined {
  const sigs = node.get(RRType.RRSIG);
  if (sigs === undefined) return undefined;
  let m = byCovered.get(sigs);
  if (m === undefined) {
    m = new Map();
    for (const rd of sigs.rdata) {
      if (rd.length < 18) continue;
      const t = (rd[0] << 8) | rd[1];
      const list = m.get(t);
      if (list === undefined) m.set(t, [rd]);
      else list.push(rd);
    }
    byCovered.set(sigs, m);
  }
  return m.get(type);
}

/**
 * The RRSIGs covering `set` as placed in an answer (`set.name` its owner there: the query's
 * name for a wildcard expansion, whose RRSIG keeps the labels field it was signed with,
 * RFC 4035 §3.1.3.3), taken from `node`, with `set`'s TTL (RFC 4034 §3: an RRSIG's TTL is the
 * covered RRset's; a negative answer's SOA has its TTL lowered, RFC 2308 §3, and so has its
 * signature); undefined when there are none.
 */
export function signaturesOf(node: ServedNode, set: RRset): RRset | undefined {
  const rdata = rrsigsCovering(node, set.type);
  if (rdata === undefined) return undefined;
  return { name: set.name, type: RRType.RRSIG, class: set.class, ttl: set.ttl, rdata };
}

/**
 * Pushes `set` of `node` and its RRSIGs into `out` unless it was placed already (by identity,
 * or the same owner and type: an image's nodes are made afresh, so their sets are too).
 */
function pushSigned(node: ServedNode, type: number, out: RRset[], placed: Set<RRset>): void {
  const set = node.get(type);
  if (set === undefined || placed.has(set)) return;
  for (let i = 0; i < out.length; i++) if (out[i].type === type && out[i].name.key === set.name.key) return;
  placed.add(set);
  out.push(set);
  const sig = signaturesOf(node, set);
  if (sig !== undefined) out.push(sig);
}

/** `pushSigned` for the node of the zone at `owner` (a key from the index). */
function pushOwned(ix: SignedIndex, owner: string, type: number, out: RRset[], placed: Set<RRset>): void {
  const node = ix.zone.nodes.get(owner);
  if (node !== undefined) pushSigned(node, type, out, placed);
}

// ---- proofs ---------------------------------------------------------------------------------

/** Labels of a name key (the root has none). */
function labelsOf(key: string): number {
  let n = 0;
  for (let i = 0; key.charCodeAt(i) !== 0; i += key.charCodeAt(i) + 1) n++;
  return n;
}

/** The key `drop` labels up from `key`. */
function ancestorKey(key: string, drop: number): string {
  let i = 0;
  while (drop-- > 0) i += key.charCodeAt(i) + 1;
  return i === 0 ? key : key.slice(i);
}

/** The NSEC whose span covers the name `key` (the last owner before it, canonically). */
function nsecCovering(ix: SignedIndex, key: string, out: RRset[], placed: Set<RRset>): void {
  const owner = ix.proofs.nsecCover(key);
  if (owner !== undefined) pushOwned(ix, owner, RRType.NSEC, out, placed);
}

/** The NSEC3 whose hash equals `key`'s, pushed; false when there is none. */
function nsec3Matching(ix: SignedIndex, key: string, out: RRset[], placed: Set<RRset>): boolean {
  const owner = ix.proofs.nsec3Match(hashOf(ix, key));
  if (owner === undefined) return false;
  pushOwned(ix, owner, RRType.NSEC3, out, placed);
  return true;
}

/** The NSEC3 whose span covers `key`'s hash. */
function nsec3Covering(ix: SignedIndex, key: string, out: RRset[], placed: Set<RRset>): void {
  const owner = ix.proofs.nsec3Cover(hashOf(ix, key));
  if (owner !== undefined) pushOwned(ix, owner, RRType.NSEC3, out, placed);
}

/**
 * RFC 5155 §7.2.1 closest encloser proof for `key`, starting from `from` (an ancestor of
 * `key`, or `key`: the closest encloser the zone's tree found): the NSEC3 matching the
 * closest provable encloser (the first of `from` and its ancestors with an NSEC3; with
 * opt-out, empty non-terminals and unsigned cuts have none) and the one covering the next
 * closer name. Returns the closest provable encloser's key.
 */
function closestEncloserProof(
  ix: SignedIndex,
  key: string,
  from: string,
  out: RRset[],
  placed: Set<RRset>,
): string {
  const apexLabels = ix.zone.origin.labelCount;
  let ce = from;
  let labels = labelsOf(ce);
  while (labels > apexLabels && !nsec3Matching(ix, ce, out, placed)) {
    ce = ancestorKey(ce, 1);
    labels--;
  }
  if (labels <= apexLabels) nsec3Matching(ix, ce, out, placed);
  const qlabels = labelsOf(key);
  if (qlabels > labels) nsec3Covering(ix, ancestorKey(key, qlabels - labels - 1), out, placed);
  return ce;
}

/**
 * RFC 5155 §7.2.8: an NSEC3 owner name is covered by another NSEC3 of the chain, so a query
 * for it (any type, DO set) is answered as for a name that does not exist, as NSD and Knot do.
 */
export function isHiddenNsec3Owner(ix: SignedIndex, node: ServedNode): boolean {
  return (
    ix.proofs.nsec3 !== undefined &&
    node.get(RRType.NSEC3) !== undefined &&
    node.name.labelCount === ix.zone.origin.labelCount + 1
  );
}

/** RFC 4035 §3.1.3.2 / RFC 5155 §7.2.2: NXDOMAIN for `name`, whose closest encloser is `ce`. */
export function proveNxdomain(ix: SignedIndex, name: Name, ce: Name, out: RRset[], placed: Set<RRset>): void {
  if (ix.proofs.nsec3 !== undefined) {
    const cpe = closestEncloserProof(ix, name.key, ce.key, out, placed);
    nsec3Covering(ix, `\x01*${cpe}`, out, placed);
    return;
  }
  if (!ix.proofs.nsec) return;
  nsecCovering(ix, name.key, out, placed);
  nsecCovering(ix, `\x01*${ce.key}`, out, placed);
}

/**
 * RFC 4035 §3.1.3.1 / RFC 5155 §7.2.3–7.2.4: NODATA at `node` (it exists; an empty
 * non-terminal has no NSEC, so the NSEC whose span holds it). Also the proof of no DS at a
 * delegation (RFC 4035 §3.1.4.1, RFC 5155 §7.2.7: with opt-out, the closest provable
 * encloser and the opt-out NSEC3 covering the next closer name).
 */
export function proveNodata(ix: SignedIndex, node: ServedNode, out: RRset[], placed: Set<RRset>): void {
  if (ix.proofs.nsec3 !== undefined) {
    const key = node.name.key;
    if (!nsec3Matching(ix, key, out, placed)) closestEncloserProof(ix, key, key, out, placed);
    return;
  }
  if (!ix.proofs.nsec) return;
  if (node.get(RRType.NSEC) !== undefined) pushSigned(node, RRType.NSEC, out, placed);
  else nsecCovering(ix, node.name.key, out, placed);
}

/**
 * A wildcard expansion of `wild` for `name` (RFC 4035 §3.1.3.3, RFC 5155 §7.2.5–7.2.6): the
 * proof that `name` does not exist (the NSEC covering it; the NSEC3 covering the next closer
 * name), and for a NODATA answer the wildcard's own NSEC (NSEC3: the closest encloser's and
 * the wildcard's).
 */
export function proveWildcard(
  ix: SignedIndex,
  name: Name,
  wild: ServedNode,
  nodata: boolean,
  out: RRset[],
  placed: Set<RRset>,
): void {
  const ce = ancestorKey(wild.name.key, 1);
  if (ix.proofs.nsec3 !== undefined) {
    if (nodata) nsec3Matching(ix, ce, out, placed);
    const qlabels = labelsOf(name.key);
    const celabels = labelsOf(ce);
    if (qlabels > celabels) nsec3Covering(ix, ancestorKey(name.key, qlabels - celabels - 1), out, placed);
    if (nodata) nsec3Matching(ix, wild.name.key, out, placed);
    return;
  }
  if (!ix.proofs.nsec) return;
  nsecCovering(ix, name.key, out, placed);
  if (nodata) pushSigned(wild, RRType.NSEC, out, placed);
}

/** A referral's DS and its RRSIGs (RFC 4035 §3.1.4), or the proof that the cut has none. */
export function proveDelegation(ix: SignedIndex, cut: ServedNode, out: RRset[], placed: Set<RRset>): void {
  if (cut.get(RRType.DS) !== undefined) pushSigned(cut, RRType.DS, out, placed);
  else proveNodata(ix, cut, out, placed);
}

/**
 * The answer to a query for type RRSIG at `node` of a signed zone (RFC 4035 §3.1.5 leaves it
 * open; as NSD answers): every RRSIG there, in one RRset per type covered, each with the TTL of the RRset
 * it covers (RFC 4034 §3; the RRSIG set's own TTL when that RRset is absent).
 */
export function rrsigAnswer(node: ServedNode, owner: Name): RRset[] | undefined {
  const sigs = node.get(RRType.RRSIG);
  if (sigs === undefined) return undefined;
  rrsigsCovering(node, 0);
  const out: RRset[] = [];
  for (const [type, rdata] of byCovered.get(sigs)!) {
    const ttl = node.get(type)?.ttl ?? sigs.ttl;
    out.push({ name: owner, type: RRType.RRSIG, class: sigs.class, ttl, rdata });
  }
  return out;
}
