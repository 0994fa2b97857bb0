/**
 * A zone's next image from its current image and the changed RRsets (issue 7 item 1: "a change
 * to one zone builds that zone's image from the control plane's diff"): the records are read
 * back out of the base image (names from NAMEDATA, RRsets from RRSETS, RDATA as stored), the
 * changed RRsets put in their place, and the result built (`Zone.build`, or a `ColumnZone` for
 * a big zone) and compiled by `compileZone` as any zone. No zone text is rendered, lexed or
 * parsed but the changed RRsets' own lines.
 *
 * The records go to the build in the order the control plane's served text has them
 * (`renderServedText` over rows in owner-key and type order: the SOA first, then each name's
 * RRsets by type), so the image is octet for octet the one compiled from the new zone's text
 * (`patch.test.ts` checks it on random zones and diffs).
 *
 * Refused (`PatchRefusedError`, the caller compiles the zone's text instead) when the answer
 * could differ from that text's: an owner spelled with capitals in the base (the image keeps
 * one spelling per name, the text one per RRset, and which RRset spells a name depends on the
 * others) or in the change, or a base image of another class.
 * @module
 */

import { RRType } from '../wire/constants.js';
import type { RR } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { ColumnZone } from '../zone/column-zone.js';
import { Zone } from '../zone/zone.js';
import { type CompilableZone, type CompileOptions, compileZone } from './compile.js';
import { N, NAME_RECORD_SIZE, NameFlag, R, RRSET_RECORD_SIZE } from './format.js';
import type { ZoneImage } from './reader.js';

/** One RRset as it is after the change: no records means it is gone. */
export interface RRsetPatch {
  /** The owner, spelled in lower case (anything else is refused). */
  name: Name;
  type: number;
  ttl: number;
  /** The RDATA of its records, in the control plane's order (disabled ones left out). */
  rdata: readonly Uint8Array[];
}

/** The patch cannot give the image the zone's text would: compile the text. */
export class PatchRefusedError extends Error {
  readonly code = 'IMAGE_ERR_PATCH_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'PatchRefusedError';
  }
}

/** From this many records a patched zone is built as columns (compile-thread's COLUMN_ZONE_TEXT, ~35,000 records). */
export const COLUMN_ZONE_RECORDS = 35_000;

function u32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

function u16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}

const latin1 = new TextDecoder('latin1');

/** The zone `base` holds with `patches` applied, ready for `compileZone`. */
export function patchZone(base: ZoneImage, patches: readonly RRsetPatch[]): CompilableZone {
  const b = base.bytes;
  if (base.spelling >= 0) throw new PatchRefusedError('the zone spells owner names with capitals');
  if (u16(b, 20) !== 1) throw new PatchRefusedError('the zone is not of class IN');
  // Per owner key: its changed RRsets by type (the last given wins).
  const byName = new Map<string, Map<number, RRsetPatch>>();
  let delta = 0;
  for (const p of patches) {
    if (p.name.wire !== p.name.key) throw new PatchRefusedError(`${p.name} is spelled with capitals`);
    let m = byName.get(p.name.key);
    if (!m) {
      m = new Map();
      byName.set(p.name.key, m);
    }
    const had = m.get(p.type);
    if (had) delta -= had.rdata.length;
    m.set(p.type, p);
    delta += p.rdata.length;
  }
  const origin = Name.fromWire(latin1.decode(base.origin));
  const records = patchedRecords(base, origin, byName);
  // The record count decides the model as the text's length does in the compile thread; both
  // give the same image, only the cost differs.
  const big = base.recordCount + delta >= COLUMN_ZONE_RECORDS;
  return big ? ColumnZone.build(origin, records) : Zone.build(origin, records);
}

/** `patchZone` then `compileZone`. */
export function compilePatched(
  base: ZoneImage,
  patches: readonly RRsetPatch[],
  opts: CompileOptions = {},
): Uint8Array {
  return compileZone(patchZone(base, patches), opts);
}

/** Ranks RRset types in a name as the served text orders them: the SOA first, then by type. */
function rank(type: number): number {
  return type === RRType.SOA ? -1 : type;
}

/**
 * The new zone's records in the served text's order: the apex SOA, then name by name (the
 * base's names in canonical order, then the names the patches add) each name's RRsets by type.
 * One generator, no delegation (`yield*` per RRset cost a third of the walk on big zones).
 */
function* patchedRecords(
  base: ZoneImage,
  origin: Name,
  byName: Map<string, Map<number, RRsetPatch>>,
): Generator<RR> {
  const b = base.bytes;
  const text = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const cls = 1;
  // The SOA first, as the text has it.
  const soaPatch = byName.get(origin.key)?.get(RRType.SOA);
  if (soaPatch)
    for (const rdata of soaPatch.rdata)
      yield { name: origin, type: RRType.SOA, class: cls, ttl: soaPatch.ttl, rdata };
  const nameCount = base.nameCount;
  const seen = new Set<string>();
  /** A changed name's RRsets: base ones (`set` ≥ 0) and patches, sorted by rank. */
  const sets: { type: number; set: number; patch: RRsetPatch | undefined }[] = [];
  for (let i = 0; i < nameCount; i++) {
    const rec = base.names + i * NAME_RECORD_SIZE;
    const flags = u32(b, rec + N.FLAGS);
    const at = u32(b, rec + N.NAMEDATA);
    const wire = text.toString('latin1', at + 1, at + 1 + b[at]);
    const changed = byName.get(wire);
    if (changed) seen.add(wire);
    if (flags & NameFlag.EMPTY && !changed) continue;
    const name = wire === origin.key ? origin : Name.fromWire(wire);
    const first = u32(b, rec + N.RRSET_FIRST);
    const count = u32(b, rec + N.RRSET_COUNT);
    sets.length = 0;
    for (let s = 0; s < count; s++) {
      const set = base.rrsets + (first + s) * RRSET_RECORD_SIZE;
      const type = u16(b, set + R.TYPE);
      if (changed?.has(type)) continue;
      if (type === RRType.SOA && name === origin && soaPatch) continue; // written first
      sets.push({ type, set, patch: undefined });
    }
    if (changed) {
      // The changed RRsets in place of the base's, by rank (the others keep the base's order
      // among themselves: the sort is stable).
      for (const p of changed.values())
        if (!(p.type === RRType.SOA && name === origin)) sets.push({ type: p.type, set: -1, patch: p });
      sets.sort((x, y) => rank(x.type) - rank(y.type));
    }
    for (const e of sets) {
      if (e.patch) {
        for (const rdata of e.patch.rdata) yield { name, type: e.type, class: cls, ttl: e.patch.ttl, rdata };
        continue;
      }
      // RDATA: per record a u16 big-endian length, then the octets.
      const n = u16(b, e.set + R.COUNT);
      const ttl = u32(b, e.set + R.TTL);
      let r = u32(b, e.set + R.RDATA);
      for (let k = 0; k < n; k++) {
        const len = (b[r] << 8) | b[r + 1];
        yield { name, type: e.type, class: cls, ttl, rdata: b.subarray(r + 2, r + 2 + len) };
        r += 2 + len;
      }
    }
  }
  // Names the base does not hold, in key order.
  const added = [...byName.keys()].filter((k) => !seen.has(k)).sort();
  for (const key of added) {
    const list = [...(byName.get(key) as Map<number, RRsetPatch>).values()].sort(
      (x, y) => rank(x.type) - rank(y.type),
    );
    for (const p of list) {
      if (p.type === RRType.SOA && key === origin.key) continue;
      for (const rdata of p.rdata) yield { name: p.name, type: p.type, class: cls, ttl: p.ttl, rdata };
    }
  }
}
