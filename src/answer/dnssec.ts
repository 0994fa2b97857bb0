/**
 * DNSSEC-aware answers from a zone that arrives signed (PowerDNS's PRESIGNED; what NSD and
 * Knot do for a signed zone file): the RRSIGs and NSEC/NSEC3 records are the zone's own, we
 * only pick the right ones (RFC 4035 §3.1, RFC 5155 §7.2). No signing, no validation.
 *
 * A zone is signed when its apex holds a DNSKEY RRset and RRSIGs. Its index (built on the
 * first DO query that reaches it, one pass over its nodes, kept per zone object) holds the
 * NSEC owners in canonical order, or the NSEC3 hashes of the chain the apex's NSEC3PARAM
 * names, in order; a proof is a binary search. NSEC3 hashes of the names a query needs
 * (at most the query's labels + 2, each `iterations + 1` SHA-1s) are cached per zone
 * (bounded: cleared when full), so a repeated name costs no hashing.
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

/** NSEC3 chain of a zone: hashes (base32hex, lower case) in order, their owners' keys. */
interface Nsec3Chain {
  iterations: number;
  salt: Buffer;
  hashes: string[];
  owners: string[];
  /** name key → hash */
  cache: Map<string, string>;
}

/** What the proofs of one signed zone read. */
export interface SignedIndex {
  zone: ServedZone;
  /**
   * NSEC owners in canonical order (sort keys) and their keys (`Name.key`; their nodes are
   * looked up when a proof needs them, so the index holds no node); undefined for NSEC3 zones.
   */
  nsecKeys: string[] | undefined;
  nsecOwners: string[];
  nsec3: Nsec3Chain | undefined;
}

const signed = new WeakMap<ServedZone, boolean>();
const indexes = new WeakMap<ServedZone, SignedIndex | null>();

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

/** The proof index of a signed zone (built on first use), or undefined when it is not signed. */
export function signedIndex(zone: ServedZone): SignedIndex | undefined {
  let ix = indexes.get(zone);
  if (ix === undefined) {
    ix = isSignedZone(zone) ? buildIndex(zone) : null;
    indexes.set(zone, ix);
  }
  return ix ?? undefined;
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

function buildIndex(zone: ServedZone): SignedIndex {
  const ix: SignedIndex = { zone, nsecKeys: undefined, nsecOwners: [], nsec3: undefined };
  const param = zone.apex.get(RRType.NSEC3PARAM);
  let chain: Nsec3Chain | undefined;
  if (param !== undefined) {
    // RFC 5155 §4.2: hash algorithm, flags, iterations, salt length, salt. The first usable one.
    for (const rd of param.rdata) {
      if (rd.length < 5 || rd[0] !== 1 || rd.length !== 5 + rd[4]) continue;
      chain = {
        iterations: (rd[2] << 8) | rd[3],
        salt: Buffer.from(rd.subarray(5, 5 + rd[4])),
        hashes: [],
        owners: [],
        cache: new Map(),
      };
      break;
    }
  }
  const nsec: { key: string; owner: string }[] = [];
  const nsec3: { hash: string; owner: string }[] = [];
  const hashLabels = zone.origin.labelCount + 1;
  scanNames(zone, (keyOf, rdataOf) => {
    if (chain === undefined) {
      if (rdataOf(RRType.NSEC) === undefined) return;
      const key = keyOf();
      nsec.push({ key: canonicalKey(key), owner: key });
      return;
    }
    // Only the chain NSEC3PARAM names (same algorithm, iterations and salt), one label down.
    const rd = rdataOf(RRType.NSEC3);
    if (rd === undefined || !sameParams(rd, chain)) return;
    const key = keyOf();
    if (labelsOf(key) !== hashLabels) return;
    nsec3.push({ hash: key.slice(1, 1 + key.charCodeAt(0)), owner: key });
  });
  if (chain !== undefined) {
    nsec3.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
    chain.hashes = nsec3.map((e) => e.hash);
    chain.owners = nsec3.map((e) => e.owner);
    ix.nsec3 = chain;
  } else {
    nsec.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    ix.nsecKeys = nsec.map((e) => e.key);
    ix.nsecOwners = nsec.map((e) => e.owner);
  }
  return ix;
}

function sameParams(rd: Uint8Array, chain: Nsec3Chain): boolean {
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

/** RFC 5155 §5: IH(salt, x, k), SHA-1, of the name whose key (folded wire form) is `key`. */
export function nsec3Hash(key: string, salt: Uint8Array, iterations: number): string {
  const buf = hashInput;
  const n = buf.write(key, 0, 'latin1');
  buf.set(salt, n);
  let h = sha1(buf.subarray(0, n + salt.length));
  buf.set(salt, 20);
  for (let i = 0; i < iterations; i++) {
    buf.set(h, 0);
    h = sha1(buf.subarray(0, 20 + salt.length));
  }
  return base32hex(h);
}

function hashOf(chain: Nsec3Chain, key: string): string {
  let h = chain.cache.get(key);
  if (h === undefined) {
    h = nsec3Hash(key, chain.salt, Math.min(chain.iterations, MAX_NSEC3_ITERATIONS));
    if (chain.cache.size >= HASH_CACHE) chain.cache.clear();
    chain.cache.set(key, h);
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
  const keys = ix.nsecKeys!;
  const i = coverIndex(keys, canonicalKey(key));
  if (i >= 0) pushOwned(ix, ix.nsecOwners[i], RRType.NSEC, out, placed);
}

/** The NSEC3 whose hash equals `key`'s, pushed; false when there is none. */
function nsec3Matching(ix: SignedIndex, key: string, out: RRset[], placed: Set<RRset>): boolean {
  const c = ix.nsec3!;
  const i = exactIndex(c.hashes, hashOf(c, key));
  if (i < 0) return false;
  pushOwned(ix, c.owners[i], RRType.NSEC3, out, placed);
  return true;
}

/** The NSEC3 whose span covers `key`'s hash. */
function nsec3Covering(ix: SignedIndex, key: string, out: RRset[], placed: Set<RRset>): void {
  const c = ix.nsec3!;
  const i = coverIndex(c.hashes, hashOf(c, key));
  if (i >= 0) pushOwned(ix, c.owners[i], RRType.NSEC3, out, placed);
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
    ix.nsec3 !== undefined &&
    node.get(RRType.NSEC3) !== undefined &&
    node.name.labelCount === ix.zone.origin.labelCount + 1
  );
}

/** RFC 4035 §3.1.3.2 / RFC 5155 §7.2.2: NXDOMAIN for `name`, whose closest encloser is `ce`. */
export function proveNxdomain(ix: SignedIndex, name: Name, ce: Name, out: RRset[], placed: Set<RRset>): void {
  if (ix.nsec3 !== undefined) {
    const cpe = closestEncloserProof(ix, name.key, ce.key, out, placed);
    nsec3Covering(ix, `\x01*${cpe}`, out, placed);
    return;
  }
  if (ix.nsecKeys === undefined) return;
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
  if (ix.nsec3 !== undefined) {
    const key = node.name.key;
    if (!nsec3Matching(ix, key, out, placed)) closestEncloserProof(ix, key, key, out, placed);
    return;
  }
  if (ix.nsecKeys === undefined) return;
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
  if (ix.nsec3 !== undefined) {
    if (nodata) nsec3Matching(ix, ce, out, placed);
    const qlabels = labelsOf(name.key);
    const celabels = labelsOf(ce);
    if (qlabels > celabels) nsec3Covering(ix, ancestorKey(name.key, qlabels - celabels - 1), out, placed);
    if (nodata) nsec3Matching(ix, wild.name.key, out, placed);
    return;
  }
  if (ix.nsecKeys === undefined) return;
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
