/**
 * Precomputed negative answers: per zone, the encoded authority section of its NXDOMAIN and
 * NODATA responses (RFC 2308 §3: the SOA with TTL min(SOA TTL, MINIMUM)), so that such a
 * response is the header, the question as received, these octets (pointers moved) and the
 * OPT record: no `MessageWriter`, no compression table.
 *
 * The tail is encoded once by the real encoder, behind a question equal to the apex, so its
 * octets are exactly what `MessageWriter` writes. For a question of P more octets than the
 * apex, everything after the question moves by P and the apex sits P octets later in the
 * question: every compression pointer of the tail moves by P. That is the same message the
 * encoder would write unless the question offers a longer suffix to compress to than the apex
 * alone: a name of the SOA RDATA below the apex sharing the question's label just below the
 * apex (`ns1.example.com.` for a question `x.ns1.example.com.`). `fits` says when the tail may
 * be used; otherwise the caller encodes as before.
 * @module
 */
import { RRType } from '../wire/constants.js';
import { MessageWriter, Section } from '../wire/encode.js';
import { foldCase, Name } from '../wire/name.js';
import { storedNameLength } from '../wire/name-compression.js';
import type { ServedZone } from '../zone/zone.js';

/** The precomputed authority section of a zone's negative answers. */
export class NegativeTail {
  /** Octets of the apex in wire form. */
  readonly apexLength: number;
  readonly apexLabels: number;
  /**
   * @param bytes the SOA RR as encoded after a question naming the apex at offset 12
   * @param pointers offsets in `bytes` of each compression pointer (two octets)
   * @param clashes the folded label (length octet and octets, latin1) just below the apex of
   *   each SOA RDATA name strictly below the apex
   */
  constructor(
    zone: ServedZone,
    readonly bytes: Uint8Array,
    readonly pointers: readonly number[],
    readonly clashes: readonly string[],
  ) {
    this.apexLength = zone.origin.length;
    this.apexLabels = zone.origin.labelCount;
  }

  /**
   * Whether the tail is what the encoder writes after the question `folded` (case-folded,
   * wire form, `labels` labels, a name at or below the apex).
   */
  fits(folded: Uint8Array, length: number, labels: number): boolean {
    const clashes = this.clashes;
    if (clashes.length === 0 || labels === this.apexLabels) return true;
    // The label just below the apex: skip the labels above it.
    let p = 0;
    for (let skip = labels - this.apexLabels - 1; skip > 0; skip--) p += folded[p] + 1;
    const l = folded[p];
    if (p + l + 1 > length) return false;
    next: for (let c = 0; c < clashes.length; c++) {
      const s = clashes[c];
      if (s.length !== l + 1) continue;
      for (let k = 0; k <= l; k++) if (s.charCodeAt(k) !== folded[p + k]) continue next;
      return false;
    }
    return true;
  }

  /** Writes the tail at `out[at]` for a question name `shift` octets longer than the apex. */
  writeAt(out: Uint8Array, at: number, shift: number): void {
    out.set(this.bytes, at);
    const ptrs = this.pointers;
    for (let i = 0; i < ptrs.length; i++) {
      const p = at + ptrs[i];
      const target = (((out[p] & 0x3f) << 8) | out[p + 1]) + shift;
      out[p] = 0xc0 | (target >> 8);
      out[p + 1] = target & 0xff;
    }
  }
}

/** Tails by zone; null when a zone's SOA cannot be templated (then encoded per answer). */
const tails = new WeakMap<ServedZone, NegativeTail | null>();

/** The negative tail of `zone` (built on first use), or null. */
export function negativeTail(zone: ServedZone): NegativeTail | null {
  let t = tails.get(zone);
  if (t === undefined) {
    t = buildTail(zone);
    tails.set(zone, t);
  }
  return t;
}

function buildTail(zone: ServedZone): NegativeTail | null {
  const soa = zone.soa;
  if (soa.rdata.length !== 1) return null;
  const rdata = soa.rdata[0];
  // The RDATA must be two plain names and 20 octets (else the encoder copies it as it is,
  // and the octets could not be walked back here).
  const mname = storedNameLength(rdata, 0);
  if (mname < 0) return null;
  const rname = storedNameLength(rdata, mname);
  if (rname < 0 || mname + rname + 20 !== rdata.length) return null;
  const apex = Name.fromWire(zone.origin.key);
  const w = new MessageWriter(65535);
  w.header(0, 0);
  w.question({ name: apex, type: RRType.SOA, class: zone.class });
  const ttl = Math.min(soa.ttl, zone.soaData.minimum);
  if (!w.rrset(Section.Authority, soa.name, RRType.SOA, soa.class, ttl, soa.rdata)) return null;
  const msg = w.finish();
  const start = 12 + apex.length + 4;
  const bytes = new Uint8Array(msg.subarray(start));
  // Walk the tail: owner, 10 octets, MNAME, RNAME, 20 octets; note every pointer.
  const pointers: number[] = [];
  let p = walkName(bytes, 0, pointers);
  if (p < 0) return null;
  p += 10;
  p = walkName(bytes, p, pointers);
  if (p < 0) return null;
  p = walkName(bytes, p, pointers);
  if (p < 0 || p + 20 !== bytes.length) return null;
  const clashes: string[] = [];
  const key = zone.origin.key;
  for (const [at, len] of [
    [0, mname],
    [mname, rname],
  ]) {
    const folded = foldCase(Buffer.from(rdata.subarray(at, at + len)).toString('latin1'));
    const name = Name.fromWire(folded);
    if (name.length <= key.length || !folded.endsWith(key)) continue;
    // Its label just below the apex.
    let q = 0;
    for (let skip = name.labelCount - zone.origin.labelCount - 1; skip > 0; skip--)
      q += folded.charCodeAt(q) + 1;
    const label = folded.slice(q, q + folded.charCodeAt(q) + 1);
    if (!clashes.includes(label)) clashes.push(label);
  }
  return new NegativeTail(zone, bytes, pointers, clashes);
}

/** Skips the (possibly compressed) name at buf[p], noting a final pointer; -1 when malformed. */
function walkName(buf: Uint8Array, p: number, pointers: number[]): number {
  while (p < buf.length) {
    const l = buf[p];
    if (l === 0) return p + 1;
    if (l >= 0xc0) {
      if (p + 2 > buf.length) return -1;
      pointers.push(p);
      return p + 2;
    }
    if (l > 63) return -1;
    p += l + 1;
  }
  return -1;
}
