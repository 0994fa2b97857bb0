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
import { rdataTarget, readSoa, type Soa } from '../wire/rdata.js';
import { ColumnZone } from '../zone/column-zone.js';
import { type RRset, type ServedNode, type ServedZone, Zone, type ZoneNode } from '../zone/zone.js';
import {
  type CompilableZone,
  type CompileOptions,
  compileZone,
  put16,
  put32,
  templatesOf,
} from './compile.js';
import {
  ANSWER_ENTRY_SIZE,
  AnswerEntryKind,
  fnv1a,
  H,
  HEADER_SIZE,
  N,
  NAME_RECORD_SIZE,
  NameFlag,
  NONE,
  R,
  RRSET_RECORD_SIZE,
  SECTION_ENTRY_SIZE,
  T,
  TEMPLATE_HEADER_SIZE,
} from './format.js';
import type { ZoneImage } from './reader.js';
import { ImageNode, ImageZone } from './zone-view.js';

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

/** Per owner key: its changed RRsets by type (the last given wins); refuses owners spelled with capitals. */
function byOwner(patches: readonly RRsetPatch[]): Map<string, Map<number, RRsetPatch>> {
  const byName = new Map<string, Map<number, RRsetPatch>>();
  for (const p of patches) {
    if (p.name.wire !== p.name.key) throw new PatchRefusedError(`${p.name} is spelled with capitals`);
    let m = byName.get(p.name.key);
    if (!m) {
      m = new Map();
      byName.set(p.name.key, m);
    }
    m.set(p.type, p);
  }
  return byName;
}

/** The zone `base` holds with `patches` applied, ready for `compileZone`. */
export function patchZone(base: ZoneImage, patches: readonly RRsetPatch[]): CompilableZone {
  const b = base.bytes;
  if (base.spelling >= 0) throw new PatchRefusedError('the zone spells owner names with capitals');
  if (u16(b, 20) !== 1) throw new PatchRefusedError('the zone is not of class IN');
  const byName = byOwner(patches);
  let delta = 0;
  for (const m of byName.values()) for (const p of m.values()) delta += p.rdata.length;
  const origin = Name.fromWire(latin1.decode(base.origin));
  const records = patchedRecords(base, origin, byName);
  // The record count decides the model as the text's length does in the compile thread; both
  // give the same image, only the cost differs.
  const big = base.recordCount + delta >= COLUMN_ZONE_RECORDS;
  return big ? ColumnZone.build(origin, records) : Zone.build(origin, records);
}

/**
 * The next image: `patchImage` (only the names the change can affect compiled again) when it
 * takes the change and `SWITCHBOARD_DELTA_IMAGE` is not `off`, else `patchZone` then
 * `compileZone`. The octets are the same either way.
 */
export function compilePatched(
  base: ZoneImage,
  patches: readonly RRsetPatch[],
  opts: CompileOptions = {},
): Uint8Array {
  return compilePatchedWith(base, patches, opts).image;
}

/** `compilePatched`, saying which way the image was made (`delta` undefined: compiled whole). */
export function compilePatchedWith(
  base: ZoneImage,
  patches: readonly RRsetPatch[],
  opts: CompileOptions = {},
): { image: Uint8Array; delta: DeltaOutcome } {
  const delta: DeltaOutcome = deltaImagesOn()
    ? patchImage(base, patches, opts)
    : { image: undefined, refused: 'off' };
  if (delta.image !== undefined) return { image: delta.image, delta };
  return { image: compileZone(patchZone(base, patches), opts), delta };
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

// ---------------------------------------------------------------------------------------------
// Delta images: only the names a change can affect compiled again (issue 9, issue 7 item 1)

/** Why `patchImage` left a change to the whole compile (counted by the caller). */
export type DeltaRefusal =
  | 'off'
  | 'layout'
  | 'name added or removed'
  | 'kind of name'
  | 'kind of change'
  | 'dname in zone'
  | 'negative template'
  | 'too many names'
  | 'templates not in name order';

/** The delta path's outcome: the image, or why the whole compile must make it. */
export type DeltaOutcome =
  | { image: Uint8Array; names: number; rebuilt: number; bytes: number }
  | { image: undefined; refused: DeltaRefusal };

/**
 * At most this many names' templates made again (the changed names, the apex and the names
 * whose answers read them); more and the whole compile is no slower than working out which
 * may be copied, and an `ImageZone`'s node cache (4,096 a generation) keeps every node one
 * object through the few answers made.
 */
export const DELTA_MAX_NAMES = 1024;

/** `SWITCHBOARD_DELTA_IMAGE=off` (read per call): every patch compiled whole, as before deltaimage. */
export function deltaImagesOn(): boolean {
  return process.env.SWITCHBOARD_DELTA_IMAGE !== 'off';
}

/** Names whose own data a delta may change: not at or below a cut, no DNAME, not a wildcard, no CNAME. */
const UNCHANGEABLE =
  NameFlag.DELEGATION | NameFlag.BELOW_CUT | NameFlag.DNAME | NameFlag.IS_WILDCARD | NameFlag.HAS_CNAME;
/** Names whose templates a delta may make again: none whose referral another name shares. */
const UNREBUILDABLE = NameFlag.DELEGATION | NameFlag.BELOW_CUT | NameFlag.DNAME | NameFlag.IS_WILDCARD;

class Refused extends Error {
  constructor(readonly why: DeltaRefusal) {
    super(why);
  }
}

/** A served zone over the base image with the changed names (and the SOA) replaced: what the template code reads. */
class PatchedZone implements ServedZone {
  readonly origin: Name;
  readonly class = 1;
  readonly nodes: { get(key: string): ServedNode | undefined } = this;
  readonly warnings: readonly never[] = [];
  readonly soaData: Soa;
  readonly soaMinimum: number;
  readonly serial: number;
  constructor(
    readonly view: ImageZone,
    /** The names changed or added, by key; null: gone. */
    readonly changed: Map<string, ImageNode | null>,
    readonly soa: RRset,
    readonly recordCount: number,
  ) {
    this.origin = view.origin;
    this.soaData = readSoa(soa.rdata[0]);
    this.soaMinimum = this.soaData.minimum;
    this.serial = this.soaData.serial;
  }
  get apex(): ServedNode {
    return this.changed.get(this.origin.key) ?? this.view.apex; // never gone
  }
  get(name: Name | string): ServedNode | undefined {
    const key = typeof name === 'string' ? name : name.key;
    const node = this.changed.get(key);
    return node === undefined ? this.view.nodeByKey(key) : (node ?? undefined);
  }
}

/** The watch labels and flags of the template record at `at` (what decides which names share the negative one). */
function watchOf(b: Uint8Array, at: number): string {
  const patches = u16(b, at + T.PATCH_COUNT);
  const n = b[at + T.WATCH_COUNT];
  let p = at + TEMPLATE_HEADER_SIZE + patches * 2;
  const labels: string[] = [String(b[at + T.TFLAGS])];
  for (let k = 0; k < n; k++) {
    labels.push(latin1.decode(b.subarray(p + 1, p + 1 + b[p])));
    p += 1 + b[p];
  }
  return labels.join('\u0000');
}

/**
 * The zone `base` holds with `patches` applied, compiled by copying every name's records,
 * answer entries and templates from `base` but those of the names the change can affect —
 * the changed owners, the apex (the SOA), the names whose answers hold the SOA (their own
 * NODATA, CNAMEs to names without the type), the NS/MX/SRV owners whose additional data is a
 * changed owner's addresses, and the CNAMEs that lead to any of these — which are made again by
 * the compiler's own per-name code (`templatesOf`) over the base image with the changes laid on
 * it. The octets are those `compileZone(patchZone(base, patches))` makes (patch.test.ts).
 *
 * Names added and removed are taken (NAMES, NAMEDATA and HASH laid out again, empty
 * non-terminals and parents' `HAS_CHILDREN` worked out) unless the zone has a wildcard, the
 * added name lies at or below a cut, is a wildcard, or has an octet 0 or 0xfe/0xff.
 *
 * Left to the whole compile (`image` undefined, with why): those names added or removed; a change
 * at or below a cut, at a DNAME, a wildcard, a CNAME name or of an RRset of type CNAME, DNAME,
 * DS, or NS/SOA off the apex; a zone with a DNAME; a cut (or a name below one, or a wildcard)
 * whose answers the change reaches; more than `DELTA_MAX_NAMES` names to make again; a change
 * of the SOA that changes which names share the negative template; a base image laid out other
 * than the compiler lays it out now. The caller then compiles the whole zone (`compilePatched`).
 */
export function patchImage(
  base: ZoneImage,
  patches: readonly RRsetPatch[],
  opts: CompileOptions = {},
): DeltaOutcome {
  try {
    return deltaImage(base, patches, opts);
  } catch (err) {
    if (err instanceof Refused) return { image: undefined, refused: err.why };
    throw err;
  }
}

function deltaImage(base: ZoneImage, patches: readonly RRsetPatch[], opts: CompileOptions): DeltaOutcome {
  const b = base.bytes;
  if (opts.templates === false || opts.allocate !== undefined) throw new Refused('layout');
  if (base.spelling >= 0) throw new PatchRefusedError('the zone spells owner names with capitals');
  if (u16(b, H.CLASS) !== 1) throw new PatchRefusedError('the zone is not of class IN');
  if ((u32(b, H.FLAGS) & 1) === 0) throw new Refused('layout');
  // The sections as the compiler lays them out: ORIGIN … TEMPLATES, back to back.
  if (u32(b, H.SECTION_COUNT) !== 8 || u32(b, H.SECTION_TABLE) !== HEADER_SIZE) throw new Refused('layout');
  const start: number[] = [];
  const size: number[] = [];
  let expect = HEADER_SIZE + 8 * SECTION_ENTRY_SIZE;
  for (let s = 0; s < 8; s++) {
    const e = HEADER_SIZE + s * SECTION_ENTRY_SIZE;
    if (u32(b, e) !== s + 1 || u32(b, e + 4) !== expect) throw new Refused('layout');
    start.push(expect);
    size.push(u32(b, e + 8));
    expect += size[s];
  }
  if (expect !== b.length) throw new Refused('layout');
  const [, oNames, oNamedata, , oRrsets, oRdata, oAnswers, oTpl] = start;
  const tplLen = size[7];
  const nameCount = base.nameCount;

  // The changes by owner (the last given wins): names of the base changed, added or removed.
  const view = new ImageZone(base);
  const origin = view.origin;
  const originKey = origin.key;
  const byName = byOwner(patches);
  /** The names whose data or flags change (their node after), by key; added ones have index -1. */
  const drafts = new Map<string, Draft>();
  /** Names of the base that are gone (their last RRset removed, or an empty non-terminal left with no child). */
  const gone = new Uint8Array(nameCount);
  const goneKeys = new Set<string>();
  let recordCount = base.recordCount;
  let soa = view.soa;
  const leaves: number[] = [];
  for (const [key, m] of byName) {
    const old = view.nodeByKey(key);
    if (old === undefined) {
      // A name the base does not hold: a plain name in the zone, no wildcard, not below a cut
      // (checked with its ancestors below).
      const sets = setsAfter(undefined, m, false);
      if (sets.sets.length === 0) continue; // nothing there before or after
      if (!inZone(key, originKey) || (key.charCodeAt(0) === 1 && key.charCodeAt(1) === 0x2a))
        throw new Refused('kind of name');
      if (oddOctets(key)) throw new Refused('kind of name');
      recordCount += sets.records;
      drafts.set(key, { name: Name.fromWire(key), sets: sets.sets, flags: 0, index: -1 });
      continue;
    }
    const flags = u32(b, oNames + old.index * NAME_RECORD_SIZE + N.FLAGS);
    if ((flags & UNCHANGEABLE) !== 0) throw new Refused('kind of name');
    const apex = key === originKey;
    const sets = setsAfter(old, m, apex);
    recordCount += sets.records;
    if (sets.soa !== undefined) soa = sets.soa;
    if (sets.sets.length === 0 && (flags & NameFlag.HAS_CHILDREN) === 0) {
      // Removed: its ancestors (empty non-terminals left with no child, a parent's flag) below.
      if (oddOctets(key)) throw new Refused('kind of name');
      gone[old.index] = 1;
      goneKeys.add(key);
      leaves.push(old.index);
      continue;
    }
    drafts.set(key, { name: old.name, sets: sets.sets, flags: old.flags, index: old.index });
  }
  // Names added: their parents gain a child (and empty non-terminals are made up to a name
  // the zone holds); names removed: their parents may lose their last one.
  let structural = leaves.length > 0;
  for (const [key, d] of [...drafts]) {
    if (d.index >= 0) continue;
    structural = true;
    let child = key;
    for (;;) {
      const parentKey = child.slice(child.charCodeAt(0) + 1);
      const draft = drafts.get(parentKey);
      if (draft !== undefined) {
        draft.flags |= NameFlag.HAS_CHILDREN;
        if (draft.index < 0) break;
      }
      const parent = view.nodeByKey(parentKey);
      if (parent !== undefined) {
        if (goneKeys.has(parentKey)) throw new Refused('name added or removed');
        const pf = u32(b, oNames + parent.index * NAME_RECORD_SIZE + N.FLAGS);
        if ((pf & (NameFlag.DELEGATION | NameFlag.BELOW_CUT | NameFlag.DNAME | NameFlag.IS_WILDCARD)) !== 0)
          throw new Refused('kind of name');
        if (draft === undefined && (pf & NameFlag.HAS_CHILDREN) === 0)
          drafts.set(parentKey, {
            name: parent.name,
            sets: [...parent.rrsets],
            flags: parent.flags | NameFlag.HAS_CHILDREN,
            index: parent.index,
          });
        break;
      }
      if (draft !== undefined) break;
      // An empty non-terminal the new name brings.
      drafts.set(parentKey, {
        name: Name.fromWire(parentKey),
        sets: [],
        flags: NameFlag.HAS_CHILDREN,
        index: -1,
      });
      child = parentKey;
    }
  }
  for (let l = 0; l < leaves.length; l++) {
    let child = leaves[l];
    for (;;) {
      const ck = keyOf(b, oNames, child);
      const pk = ck.slice(ck.charCodeAt(0) + 1);
      const parent = view.nodeByKey(pk);
      if (parent === undefined) throw new Refused('layout');
      const p = parent.index;
      if (hasChild(b, oNames, nameCount, p, pk, gone) || hasDraftBelow(drafts, pk)) break;
      const draft = drafts.get(pk);
      const empty = draft !== undefined ? draft.sets.length === 0 : parent.rrsets.length === 0;
      if (empty && pk !== originKey) {
        // An empty non-terminal with no child left: gone too.
        if (draft !== undefined) throw new Refused('name added or removed');
        gone[p] = 1;
        goneKeys.add(pk);
        child = p;
        continue;
      }
      if (draft !== undefined) draft.flags &= ~NameFlag.HAS_CHILDREN;
      else
        drafts.set(pk, {
          name: parent.name,
          sets: [...parent.rrsets],
          flags: parent.flags & ~NameFlag.HAS_CHILDREN,
          index: p,
        });
      break;
    }
  }
  const soaChanged = soa !== view.soa;
  /** The nodes after the change, by key (null: gone), and by the base's index. */
  const changed = new Map<string, ImageNode | null>();
  const changedIdx = new Map<number, ImageNode>();
  const addedList: ImageNode[] = [];
  for (const [key, d] of drafts) {
    // The served text's order: the SOA first, then by type (stable: the base's order kept).
    d.sets.sort((x, y) => rank(x.type) - rank(y.type));
    const node = new ImageNode(d.name, d.sets, d.flags, d.index);
    changed.set(key, node);
    if (d.index >= 0) changedIdx.set(d.index, node);
    else addedList.push(node);
  }
  for (const key of goneKeys) changed.set(key, null);

  // Per name: its template region in the base (the templates placed while it was compiled, in
  // name order after the negative one), and the earlier names whose templates it shares.
  const tplAbs = (v: number): number => (v === NONE ? -1 : v - oTpl);
  const negAbs = u32(b, H.NEGATIVE_TEMPLATE);
  const negOld = tplAbs(negAbs);
  if (negOld > 0) throw new Refused('negative template');
  const negOldSize = negOld === 0 ? u32(b, oTpl) : 0;
  const oldStart = new Int32Array(nameCount);
  const oldEnd = new Int32Array(nameCount);
  /** Names that must be made again (1), or must not be (never: checked at the end). */
  const rebuild = new Uint8Array(nameCount);
  /** Per name: the first name whose region may hold templates it placed and no name uses (or -1). */
  const deadFrom = new Int32Array(nameCount).fill(-1);
  /** Per name: one earlier name whose templates it uses (-1 none); more than one: refused. */
  const uses = new Int32Array(nameCount).fill(-1);
  let frontier = negOldSize;
  let lastOwner = -1;
  let hasDname = false;
  let hasWildcard = false;
  /** One name's template references: offsets (relative to TEMPLATES), and which is its referral. */
  let refs = new Int32Array(64);
  let own = new Int32Array(64);
  for (let i = 0; i < nameCount; i++) {
    const rec = oNames + i * NAME_RECORD_SIZE;
    const nameFlags = u32(b, rec + N.FLAGS);
    if (nameFlags & NameFlag.DNAME) hasDname = true;
    if (nameFlags & NameFlag.IS_WILDCARD) hasWildcard = true;
    const first = u32(b, rec + N.ANSWER_FIRST);
    const count = u32(b, rec + N.ANSWER_COUNT);
    if (count + 2 > refs.length) {
      refs = new Int32Array(count + 2);
      own = new Int32Array(count + 2);
    }
    let n = 0;
    for (let e = 0; e < count; e++) {
      const at = oAnswers + (first + e) * ANSWER_ENTRY_SIZE;
      if (b[at + 2] === AnswerEntryKind.TEMPLATE) refs[n++] = tplAbs(u32(b, at + 4));
    }
    const nodata = u32(b, rec + N.NODATA_TEMPLATE);
    if (nodata !== NONE) refs[n++] = tplAbs(nodata);
    const withoutReferral = n;
    const referral = u32(b, rec + N.REFERRAL_TEMPLATE);
    if (referral !== NONE) refs[n++] = tplAbs(referral);
    let owned = 0;
    let maxOwn = -1;
    let soaIn = false;
    for (let k = 0; k < n; k++) {
      const rel = refs[k];
      if (rel < 0 || rel >= tplLen) throw new Refused('layout');
      if (rel === negOld) continue;
      // A template with the SOA in authority (NODATA, NXDOMAIN at a chain's end): made again
      // when the SOA changes. A referral has NS there, not the SOA.
      if (k < withoutReferral && u16(b, oTpl + rel + T.NS_COUNT) !== 0) soaIn = true;
      if (rel >= frontier) {
        own[owned++] = rel;
        if (rel > maxOwn) maxOwn = rel;
        continue;
      }
      const j = regionOf(oldStart, oldEnd, rel, i);
      if (j < 0 || (uses[i] >= 0 && uses[i] !== j)) throw new Refused('templates not in name order');
      uses[i] = j;
    }
    oldStart[i] = frontier;
    if (maxOwn >= 0) {
      let p = frontier;
      let dead = false;
      while (p <= maxOwn) {
        const sz = u32(b, oTpl + p);
        if (sz < TEMPLATE_HEADER_SIZE || (sz & 3) !== 0 || p + sz > tplLen) throw new Refused('layout');
        let k = 0;
        while (k < owned && own[k] !== p) k++;
        if (k === owned) dead = true;
        p += sz;
      }
      if (dead) deadFrom[i] = lastOwner + 1;
      frontier = p;
      lastOwner = i;
    }
    oldEnd[i] = frontier;
    if (soaChanged && soaIn && !gone[i]) rebuild[i] = 1;
  }
  if (frontier !== tplLen) throw new Refused('templates not in name order');
  if (hasDname) throw new Refused('dname in zone');
  // A name added or removed: the zone has no wildcard (whose answers the names beside it
  // decide), and its names sort as their keys' octets do (none with an octet 0 in a label).
  if (structural && (hasWildcard || zeroOctets(b, oNames, nameCount))) throw new Refused('kind of name');

  // The changed names, the apex, and the names whose answers read a changed name's addresses
  // (NS, MX, SRV targets) or lead to a name made again or gone (CNAME), until nothing more is added.
  const apexIndex = view.apex instanceof ImageNode ? view.apex.index : -1;
  if (apexIndex < 0) throw new Refused('layout');
  rebuild[apexIndex] = 1;
  for (const i of changedIdx.keys()) rebuild[i] = 1;
  const cnames: { owner: number; target: string }[] = [];
  const rrsetCount = u32(b, H.RRSET_COUNT);
  for (let s = 0; s < rrsetCount; s++) {
    const at = oRrsets + s * RRSET_RECORD_SIZE;
    const type = u16(b, at + R.TYPE);
    if (type !== RRType.NS && type !== RRType.MX && type !== RRType.SRV && type !== RRType.CNAME) continue;
    const owner = u32(b, at + R.OWNER);
    if (gone[owner]) continue;
    let r = u32(b, at + R.RDATA);
    const n = u16(b, at + R.COUNT);
    for (let k = 0; k < n; k++) {
      const len = (b[r] << 8) | b[r + 1];
      const target = rdataTarget(type, b.subarray(r + 2, r + 2 + len));
      r += 2 + len;
      if (target === undefined) continue;
      if (changed.has(target.key)) rebuild[owner] = 1;
      else if (type === RRType.CNAME) cnames.push({ owner, target: target.key });
    }
  }
  for (let grew = true; grew && cnames.length > 0; ) {
    grew = false;
    for (const c of cnames) {
      if (rebuild[c.owner]) continue;
      const t = view.nodeByKey(c.target);
      if (t !== undefined && rebuild[t.index]) {
        rebuild[c.owner] = 1;
        grew = true;
      }
    }
  }
  // A name using an earlier name's templates is made again with it (in name order: the earlier is final).
  let rebuilt = addedList.length;
  for (let i = 0; i < nameCount; i++) {
    if (gone[i]) continue;
    if (!rebuild[i] && uses[i] >= 0 && (rebuild[uses[i]] || gone[uses[i]])) rebuild[i] = 1;
    if (!rebuild[i]) continue;
    if ((u32(b, oNames + i * NAME_RECORD_SIZE + N.FLAGS) & UNREBUILDABLE) !== 0 || uses[i] >= 0)
      throw new Refused('kind of name');
    if (++rebuilt > DELTA_MAX_NAMES) throw new Refused('too many names');
  }
  if (rebuilt > DELTA_MAX_NAMES) throw new Refused('too many names');
  // Templates no name uses (rare) stay with the names around them: none of those made again or gone.
  for (let i = 0; i < nameCount; i++)
    if (deadFrom[i] >= 0)
      for (let j = deadFrom[i]; j <= i; j++)
        if (rebuild[j] || gone[j]) throw new Refused('templates not in name order');

  // The new names in canonical order: `src` the base's index of each, or -1 - k for addedList[k].
  addedList.sort((x, y) => compareKeys(x.name.key, y.name.key, originKey.length));
  const newCount = nameCount + addedList.length - goneKeys.size;
  const src = new Int32Array(newCount);
  {
    let n = 0;
    let i = 0;
    for (let k = 0; k < addedList.length; k++) {
      const key = addedList[k].name.key;
      // The first base name after the added one.
      let lo = i;
      let hi = nameCount;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (compareKeys(keyOf(b, oNames, mid), key, originKey.length) < 0) lo = mid + 1;
        else hi = mid;
      }
      for (; i < lo; i++) if (!gone[i]) src[n++] = i;
      src[n++] = -1 - k;
    }
    for (; i < nameCount; i++) if (!gone[i]) src[n++] = i;
    if (n !== newCount) throw new Error('delta image: names do not add up');
  }
  const newOf = new Int32Array(nameCount).fill(-1);
  for (let n = 0; n < newCount; n++) if (src[n] >= 0) newOf[src[n]] = n;

  // The names made again, by the compiler's per-name code over the patched view.
  const zone = new PatchedZone(view, changed, soa, recordCount);
  const order: number[] = [];
  const nodes: ZoneNode[] = [];
  for (let n = 0; n < newCount; n++) {
    const i = src[n];
    if (i < 0 || rebuild[i]) {
      order.push(n);
      nodes.push((i < 0 ? addedList[-1 - i] : (changedIdx.get(i) ?? view.nodeAt(i))) as unknown as ZoneNode);
    }
  }
  // Every name read through the view is one object (additional data is deduplicated by identity).
  for (let k = 0; k < nodes.length; k++) {
    const key = (nodes[k] as unknown as ImageNode).name.key;
    nodes[k] = zone.get(key) as unknown as ZoneNode;
  }
  const made = templatesOf(
    zone as unknown as CompilableZone,
    highNames(base, oNames),
    nodes,
    opts.answer ?? {},
  );
  const negNew = made.negative;
  if (negNew < 0 !== negOld < 0 || negNew > 0) throw new Refused('negative template');
  const negNewSize = negNew === 0 ? u32(made.bytes, 0) : 0;
  if (negNew === 0 && watchOf(made.bytes, 0) !== watchOf(b, oTpl)) throw new Refused('negative template');

  // Where each name's templates go.
  const newStart = new Int32Array(newCount);
  const slot = new Int32Array(newCount).fill(-1);
  let tplTotal = negNewSize;
  for (let k = 0; k < order.length; k++) slot[order[k]] = k;
  for (let n = 0; n < newCount; n++) {
    newStart[n] = tplTotal;
    const k = slot[n];
    const i = src[n];
    tplTotal += k >= 0 ? made.ends[k] - made.starts[k] : oldEnd[i] - oldStart[i];
  }

  // Sizes: NAMES, NAMEDATA and HASH as they are (unless names come or go); RRSETS, RDATA,
  // ANSWERS and TEMPLATES anew.
  let newRrsets = rrsetCount;
  let rdataDelta = 0;
  let newEntries = size[6] / ANSWER_ENTRY_SIZE;
  for (const [i, node] of changedIdx) {
    const rec = oNames + i * NAME_RECORD_SIZE;
    newRrsets += node.rrsets.length - u32(b, rec + N.RRSET_COUNT);
    for (const set of node.rrsets) for (const rd of set.rdata) rdataDelta += 2 + rd.length;
    const old = view.nodeAt(i);
    for (const set of old.rrsets) for (const rd of set.rdata) rdataDelta -= 2 + rd.length;
  }
  for (const node of addedList) {
    newRrsets += node.rrsets.length;
    for (const set of node.rrsets) for (const rd of set.rdata) rdataDelta += 2 + rd.length;
  }
  let namedataDelta = 0;
  for (let i = 0; i < nameCount; i++) {
    if (!gone[i]) continue;
    const rec = oNames + i * NAME_RECORD_SIZE;
    newRrsets -= u32(b, rec + N.RRSET_COUNT);
    newEntries -= u32(b, rec + N.ANSWER_COUNT);
    for (const set of view.nodeAt(i).rrsets) for (const rd of set.rdata) rdataDelta -= 2 + rd.length;
    namedataDelta -= 1 + b[u32(b, rec + N.NAMEDATA)];
  }
  for (const node of addedList) namedataDelta += 1 + node.name.key.length;
  const oldRdataUsed = rdataUsed(b, oRrsets, rrsetCount, oRdata);
  const newRdata = (oldRdataUsed + rdataDelta + 3) & ~3;
  for (let k = 0; k < order.length; k++) {
    const i = src[order[k]];
    newEntries += made.entryCount[k] - (i < 0 ? 0 : u32(b, oNames + i * NAME_RECORD_SIZE + N.ANSWER_COUNT));
  }
  let slots = u32(b, start[3]);
  let namedataSize = size[2];
  if (structural) {
    const lastAt = u32(b, oNames + (nameCount - 1) * NAME_RECORD_SIZE + N.NAMEDATA);
    namedataSize = (lastAt + 1 + b[lastAt] - oNamedata + namedataDelta + 3) & ~3;
    slots = 8;
    while (slots < newCount * 2) slots *= 2;
  }
  const sizes = [
    size[0],
    newCount * NAME_RECORD_SIZE,
    namedataSize,
    structural ? 8 + slots * 4 : size[3],
    newRrsets * RRSET_RECORD_SIZE,
    newRdata,
    newEntries * ANSWER_ENTRY_SIZE,
    tplTotal,
  ];
  const starts: number[] = [];
  let at = HEADER_SIZE + 8 * SECTION_ENTRY_SIZE;
  for (const s of sizes) {
    starts.push(at);
    at += s;
  }
  const total = at;
  const nNames = starts[1];
  const nRrsets = starts[4];
  const nRdata = starts[5];
  const nAnswers = starts[6];
  const nTpl = starts[7];
  const out = new Uint8Array(total);
  const oldRec = (i: number): number => oNames + i * NAME_RECORD_SIZE;
  const newRec = (n: number): number => nNames + n * NAME_RECORD_SIZE;
  // Header, section table and ORIGIN; NAMES, NAMEDATA and HASH as they are when the names are
  // the same, else laid out again (name records copied in runs, fields rewritten below).
  if (!structural) out.set(b.subarray(0, oRrsets), 0);
  else {
    out.set(b.subarray(0, oNames), 0);
    layNames(b, out, src, addedList, oNames, nNames, starts[2], starts[3], slots);
  }
  put32(out, H.TOTAL_LENGTH, total);
  put32(out, H.SERIAL, zone.serial);
  put32(out, H.NAME_COUNT, newCount);
  put32(out, H.RRSET_COUNT, newRrsets);
  put32(out, H.RECORD_COUNT, recordCount);
  put32(out, H.NEGATIVE_TEMPLATE, negNew < 0 ? NONE : nTpl);
  for (let s = 0; s < 8; s++) {
    put32(out, HEADER_SIZE + s * SECTION_ENTRY_SIZE + 4, starts[s]);
    put32(out, HEADER_SIZE + s * SECTION_ENTRY_SIZE + 8, sizes[s]);
  }
  // A changed name's flags (an empty non-terminal filled or emptied, a child gained or lost).
  for (let n = 0; n < newCount; n++) {
    const i = src[n];
    const node = i < 0 ? addedList[-1 - i] : changedIdx.get(i);
    if (node !== undefined) put32(out, newRec(n) + N.FLAGS, imageFlags(node));
  }

  /** A base template's offset (absolute) → the new image's (`i` the base's name index). */
  const moveOld = (abs: number, i: number): number => {
    if (abs === NONE) return NONE;
    const rel = abs - oTpl;
    if (rel === negOld) return nTpl;
    const j = rel >= oldStart[i] && rel < oldEnd[i] ? i : uses[i];
    return nTpl + newStart[newOf[j]] + (rel - oldStart[j]);
  };
  /** A made template's offset (in `made.bytes`, -1 none) → the new image's. */
  const moveMade = (rel: number, k: number, n: number): number => {
    if (rel < 0) return NONE;
    if (rel === negNew) return nTpl;
    if (rel < made.starts[k] || rel >= made.ends[k])
      throw new Error('delta image: a made template shared between names');
    return nTpl + newStart[n] + (rel - made.starts[k]);
  };
  /** The end of the run of base names copied as they are from new name `n` (src consecutive, none in `skip`). */
  const runEnd = (n: number, skip: (i: number) => boolean): number => {
    const i = src[n];
    let m = n + 1;
    while (m < newCount && src[m] === i + (m - n) && !skip(src[m])) m++;
    return m;
  };

  // Templates: the negative one, then each name's, copied or made.
  if (negNew === 0) out.set(made.bytes.subarray(0, negNewSize), nTpl);
  for (let n = 0; n < newCount; n++) {
    const k = slot[n];
    if (k >= 0) out.set(made.bytes.subarray(made.starts[k], made.ends[k]), nTpl + newStart[n]);
  }
  // Runs of names copied whole: their templates in one piece each.
  const remade = (i: number): boolean => rebuild[i] === 1;
  for (let n = 0; n < newCount; ) {
    if (slot[n] >= 0) {
      n++;
      continue;
    }
    const m = runEnd(n, remade);
    const from = oldStart[src[n]];
    const to = oldEnd[src[m - 1]];
    if (to > from) out.set(b.subarray(oTpl + from, oTpl + to), nTpl + newStart[n]);
    n = m;
  }

  // RRSETS and RDATA: runs of unchanged names copied whole, their owners and RDATA offsets
  // moved; NAMES' fields rewritten; ANSWERS copied per run, offsets moved.
  let pSet = nRrsets;
  let pRd = nRdata;
  let pAns = nAnswers;
  let sets = 0;
  let entries = 0;
  const isChanged = (i: number): boolean => changedIdx.has(i);
  for (let n = 0; n < newCount; ) {
    const i = src[n];
    const node = i < 0 ? addedList[-1 - i] : changedIdx.get(i);
    if (node !== undefined) {
      const rec = newRec(n);
      put32(out, rec + N.RRSET_FIRST, sets);
      put32(out, rec + N.RRSET_COUNT, node.rrsets.length);
      for (const set of node.rrsets) {
        put32(out, pSet + R.OWNER, n);
        put16(out, pSet + R.TYPE, set.type);
        put16(out, pSet + R.COUNT, set.rdata.length);
        put32(out, pSet + R.TTL, set.ttl);
        put32(out, pSet + R.RDATA, pRd);
        pSet += RRSET_RECORD_SIZE;
        sets++;
        for (const rd of set.rdata) {
          out[pRd] = rd.length >> 8;
          out[pRd + 1] = rd.length;
          out.set(rd, pRd + 2);
          pRd += 2 + rd.length;
        }
      }
      n++;
      continue;
    }
    const m = runEnd(n, isChanged);
    // Names [n, m) are base names [i, i + m - n): their RRsets base RRsets [s0, s1), their RDATA one range.
    const s0 = u32(b, oldRec(i) + N.RRSET_FIRST);
    const lastRec = oldRec(i + m - n - 1);
    const s1 = u32(b, lastRec + N.RRSET_FIRST) + u32(b, lastRec + N.RRSET_COUNT);
    const setShift = sets - s0;
    if (setShift !== 0 || structural)
      for (let k = n; k < m; k++)
        put32(out, newRec(k) + N.RRSET_FIRST, u32(b, oldRec(i + k - n) + N.RRSET_FIRST) + setShift);
    if (s1 > s0) {
      const from = oRrsets + s0 * RRSET_RECORD_SIZE;
      out.set(b.subarray(from, oRrsets + s1 * RRSET_RECORD_SIZE), pSet);
      const rd0 = u32(b, from + R.RDATA);
      const last = oRrsets + (s1 - 1) * RRSET_RECORD_SIZE;
      const rdEnd = rdataEnd(b, u32(b, last + R.RDATA), u16(b, last + R.COUNT));
      const shift = pRd - rd0;
      const ownerShift = n - i;
      if (shift !== 0 || ownerShift !== 0)
        for (let s = 0, o = pSet; s < s1 - s0; s++, o += RRSET_RECORD_SIZE) {
          put32(out, o + R.RDATA, u32(out, o + R.RDATA) + shift);
          if (ownerShift !== 0) put32(out, o + R.OWNER, u32(out, o + R.OWNER) + ownerShift);
        }
      out.set(b.subarray(rd0, rdEnd), pRd);
      pRd += rdEnd - rd0;
      pSet += (s1 - s0) * RRSET_RECORD_SIZE;
      sets += s1 - s0;
    }
    n = m;
  }
  for (let n = 0; n < newCount; ) {
    const k = slot[n];
    if (k >= 0) {
      const rec = newRec(n);
      const first = made.entryFirst[k];
      const count = made.entryCount[k];
      put32(out, rec + N.ANSWER_FIRST, entries);
      put32(out, rec + N.ANSWER_COUNT, count);
      for (let e = first; e < first + count; e++, pAns += ANSWER_ENTRY_SIZE) {
        const t = made.eTpl[e];
        put16(out, pAns, made.eQtype[e]);
        out[pAns + 2] = t >= 0 ? AnswerEntryKind.TEMPLATE : AnswerEntryKind.FALLBACK;
        out[pAns + 3] = t >= 0 ? 0 : made.eReason[e];
        put32(out, pAns + 4, moveMade(t, k, n));
      }
      entries += count;
      put32(out, rec + N.NODATA_TEMPLATE, moveMade(made.nodata[k], k, n));
      put32(out, rec + N.REFERRAL_TEMPLATE, moveMade(made.referral[k], k, n));
      n++;
      continue;
    }
    const m = runEnd(n, remade);
    const i = src[n];
    const e0 = u32(b, oldRec(i) + N.ANSWER_FIRST);
    const lastRec = oldRec(i + m - n - 1);
    const e1 = u32(b, lastRec + N.ANSWER_FIRST) + u32(b, lastRec + N.ANSWER_COUNT);
    out.set(b.subarray(oAnswers + e0 * ANSWER_ENTRY_SIZE, oAnswers + e1 * ANSWER_ENTRY_SIZE), pAns);
    const entryShift = entries - e0;
    for (let x = n; x < m; x++) {
      const from = oldRec(i + x - n);
      const rec = newRec(x);
      const count = u32(b, from + N.ANSWER_COUNT);
      if (entryShift !== 0 || structural)
        put32(out, rec + N.ANSWER_FIRST, u32(b, from + N.ANSWER_FIRST) + entryShift);
      for (let e = 0; e < count; e++, pAns += ANSWER_ENTRY_SIZE)
        if (out[pAns + 2] === AnswerEntryKind.TEMPLATE)
          put32(out, pAns + 4, moveOld(u32(out, pAns + 4), i + x - n));
      put32(out, rec + N.NODATA_TEMPLATE, moveOld(u32(b, from + N.NODATA_TEMPLATE), i + x - n));
      put32(out, rec + N.REFERRAL_TEMPLATE, moveOld(u32(b, from + N.REFERRAL_TEMPLATE), i + x - n));
    }
    entries += e1 - e0;
    n = m;
  }
  if (pSet !== nRdata || pAns !== nTpl || entries !== newEntries || sets !== newRrsets || pRd > nAnswers)
    throw new Error('delta image: sections do not add up');
  return { image: out, names: newCount, rebuilt, bytes: made.bytes.length };
}

/** A name after the change, while its flags are worked out (`index` the base's, -1 added). */
interface Draft {
  name: Name;
  sets: RRset[];
  flags: number;
  index: number;
}

/** A name's RRsets after its patches (`old` undefined: a name the base does not hold), checked. */
function setsAfter(
  old: ImageNode | undefined,
  m: Map<number, RRsetPatch>,
  apex: boolean,
): { sets: RRset[]; records: number; soa: RRset | undefined } {
  const sets: RRset[] = [];
  let records = 0;
  let soa: RRset | undefined;
  if (old !== undefined)
    for (const set of old.rrsets)
      if (!m.has(set.type)) sets.push(set);
      else records -= set.rdata.length;
  for (const p of m.values()) {
    const t = p.type;
    if (t === RRType.CNAME || t === RRType.DNAME || t === RRType.DS) throw new Refused('kind of change');
    // A zone that becomes signed needs its proof index (proof-index.ts), a section the delta
    // layout does not make: DNSSEC types go to the whole compile. (A signed base image has
    // nine sections and is refused above.)
    if (
      t === RRType.DNSKEY ||
      t === RRType.RRSIG ||
      t === RRType.NSEC ||
      t === RRType.NSEC3 ||
      t === RRType.NSEC3PARAM
    )
      throw new Refused('kind of change');
    if ((t === RRType.NS || t === RRType.SOA) && !apex) throw new Refused('kind of change');
    if ((t === RRType.NS || t === RRType.SOA) && p.rdata.length === 0) throw new Refused('kind of change');
    if (t === RRType.SOA && p.rdata.length !== 1) throw new Refused('kind of change');
    if (p.rdata.length > 0xffff) throw new Refused('kind of change');
    // Duplicates are dropped by the build: left to it.
    for (let x = 0; x < p.rdata.length; x++)
      for (let y = x + 1; y < p.rdata.length; y++)
        if (Buffer.compare(p.rdata[x], p.rdata[y]) === 0) throw new Refused('kind of change');
    if (p.rdata.length === 0) continue;
    const name = old?.name ?? p.name;
    const set: RRset = { name, type: t, class: 1, ttl: p.ttl, rdata: [...p.rdata] };
    sets.push(set);
    records += p.rdata.length;
    if (t === RRType.SOA) soa = set;
  }
  return { sets, records, soa };
}

/** The FLAGS field of a name record for `node` (what the compiler's layout writes). */
function imageFlags(node: ImageNode): number {
  let flags = node.flags & 31;
  if (node.get(RRType.CNAME)) flags |= NameFlag.HAS_CNAME;
  if (node.name.isWildcard) flags |= NameFlag.IS_WILDCARD;
  if (node.rrsets.length === 0) flags |= NameFlag.EMPTY;
  return flags;
}

/** The folded key of base name `i`, read from NAMEDATA. */
function keyOf(b: Uint8Array, oNames: number, i: number): string {
  const at = u32(b, oNames + i * NAME_RECORD_SIZE + N.NAMEDATA);
  return latin1.decode(b.subarray(at + 1, at + 1 + b[at]));
}

/** `key` is a name strictly below `originKey` (label by label). */
function inZone(key: string, originKey: string): boolean {
  if (key.length <= originKey.length || !key.endsWith(originKey)) return false;
  let p = 0;
  while (key.length - p > originKey.length) p += key.charCodeAt(p) + 1;
  return key.length - p === originKey.length;
}

/** `key` is a name strictly below `parent` (label by label). */
function isBelow(key: string, parent: string): boolean {
  return inZone(key, parent);
}

/** An octet 0 inside a label, or 0xfe/0xff (each changes how the whole zone is compiled). */
function oddOctets(key: string): boolean {
  for (let p = 0; p < key.length - 1; p++) {
    const c = key.charCodeAt(p);
    if (c === 0 || c >= 0xfe) return true;
  }
  return false;
}

/** Some base name holds an octet 0 inside a label (the compiler then sorts octets + 1). */
function zeroOctets(b: Uint8Array, oNames: number, nameCount: number): boolean {
  for (let i = 0; i < nameCount; i++) {
    const at = u32(b, oNames + i * NAME_RECORD_SIZE + N.NAMEDATA);
    const end = at + b[at];
    for (let p = at + 1; p < end; p++) if (b[p] === 0) return true;
  }
  return false;
}

/** Base name `p` (key `pk`) keeps a child: a name below it (they follow it in canonical order) not gone. */
function hasChild(
  b: Uint8Array,
  oNames: number,
  nameCount: number,
  p: number,
  pk: string,
  gone: Uint8Array,
): boolean {
  for (let j = p + 1; j < nameCount; j++) {
    if (!isBelow(keyOf(b, oNames, j), pk)) return false;
    if (!gone[j]) return true;
  }
  return false;
}

/** Some added name (a draft of no base index) lies below `pk`. */
function hasDraftBelow(drafts: Map<string, Draft>, pk: string): boolean {
  for (const [key, d] of drafts) if (d.index < 0 && isBelow(key, pk)) return true;
  return false;
}

/**
 * The canonical order of two names of one zone (RFC 4034 §6.1, as the compiler's sort keys
 * have it when no label holds an octet 0): label by label from the origin, octets compared.
 */
function compareKeys(a: string, b: string, originLength: number): number {
  const x = reversedLabels(a, originLength);
  const y = reversedLabels(b, originLength);
  return x < y ? -1 : x > y ? 1 : 0;
}

function reversedLabels(k: string, originLength: number): string {
  const stop = k.length - originLength;
  const starts: number[] = [];
  for (let i = 0; i < stop; i += k.charCodeAt(i) + 1) starts.push(i);
  let key = '';
  for (let j = starts.length - 1; j >= 0; j--) {
    const p = starts[j];
    key += k.slice(p + 1, p + 1 + k.charCodeAt(p));
    if (j > 0) key += '\x00';
  }
  return key;
}

/**
 * NAMES, NAMEDATA and HASH of the new image when names come or go: the base's name records
 * and names copied in runs (NAMEDATA offsets moved), an added name's written, every slot of
 * HASH placed again (the compiler's open addressing, in name order).
 */
function layNames(
  b: Uint8Array,
  out: Uint8Array,
  src: Int32Array,
  added: readonly ImageNode[],
  oNames: number,
  nNames: number,
  nNamedata: number,
  nHash: number,
  slots: number,
): void {
  const newCount = src.length;
  let pNd = nNamedata;
  for (let n = 0; n < newCount; ) {
    const i = src[n];
    const rec = nNames + n * NAME_RECORD_SIZE;
    if (i < 0) {
      const key = added[-1 - i].name.key;
      put32(out, rec + N.NAMEDATA, pNd);
      out[pNd] = key.length;
      for (let k = 0; k < key.length; k++) out[pNd + 1 + k] = key.charCodeAt(k);
      pNd += 1 + key.length;
      n++;
      continue;
    }
    let m = n + 1;
    while (m < newCount && src[m] === i + (m - n)) m++;
    out.set(b.subarray(oNames + i * NAME_RECORD_SIZE, oNames + (i + m - n) * NAME_RECORD_SIZE), rec);
    const nd0 = u32(b, oNames + i * NAME_RECORD_SIZE + N.NAMEDATA);
    const lastAt = u32(b, oNames + (i + m - n - 1) * NAME_RECORD_SIZE + N.NAMEDATA);
    const nd1 = lastAt + 1 + b[lastAt];
    out.set(b.subarray(nd0, nd1), pNd);
    const shift = pNd - nd0;
    if (shift !== 0)
      for (let x = n; x < m; x++) {
        const r = nNames + x * NAME_RECORD_SIZE + N.NAMEDATA;
        put32(out, r, u32(out, r) + shift);
      }
    pNd += nd1 - nd0;
    n = m;
  }
  put32(out, nHash, slots);
  const mask = slots - 1;
  const hash = new Uint32Array(slots);
  for (let n = 0; n < newCount; n++) {
    const at = u32(out, nNames + n * NAME_RECORD_SIZE + N.NAMEDATA);
    let s = fnv1a(out, at + 1, at + 1 + out[at]) & mask;
    while (hash[s] !== 0) s = (s + 1) & mask;
    hash[s] = n + 1;
  }
  for (let s = 0; s < slots; s++) if (hash[s] !== 0) put32(out, nHash + 8 + s * 4, hash[s]);
}

/** The last name before `upto` whose template region holds `rel` (regions are in name order), or -1. */
function regionOf(oldStart: Int32Array, oldEnd: Int32Array, rel: number, upto: number): number {
  let lo = 0;
  let hi = upto - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (oldStart[mid] <= rel) lo = mid + 1;
    else hi = mid - 1;
  }
  for (let j = hi; j >= 0; j--) {
    if (oldEnd[j] > rel) return oldStart[j] <= rel ? j : -1;
    if (oldEnd[j] > oldStart[j]) return -1;
  }
  return -1;
}

/** The end of `count` records' RDATA from `at` (each a u16 big-endian length, then the octets). */
function rdataEnd(b: Uint8Array, at: number, count: number): number {
  let r = at;
  for (let k = 0; k < count; k++) r += 2 + ((b[r] << 8) | b[r + 1]);
  return r;
}

/** The RDATA section's octets in use (without the padding): the end of the last RRset's records. */
function rdataUsed(b: Uint8Array, oRrsets: number, count: number, oRdata: number): number {
  if (count === 0) return 0;
  const last = oRrsets + (count - 1) * RRSET_RECORD_SIZE;
  return rdataEnd(b, u32(b, last + R.RDATA), u16(b, last + R.COUNT)) - oRdata;
}

/** Some name of the image has an octet 0xfe or 0xff (what the compiler's `highNames` says of the zone). */
function highNames(base: ZoneImage, oNames: number): boolean {
  const b = base.bytes;
  for (let i = 0; i < base.nameCount; i++) {
    const at = u32(b, oNames + i * NAME_RECORD_SIZE + N.NAMEDATA);
    const end = at + 1 + b[at];
    for (let p = at + 1; p < end; p++) if (b[p] >= 0xfe) return true;
  }
  return false;
}
