/**
 * The 'patch' job of a compile thread (`start --images on`): a zone's next image from the
 * image the primary serves now (opened from its pack, as a worker opens it) and the RRsets the
 * control plane's diff says changed (src/image/patch.ts), instead of parsing and compiling the
 * zone's whole text. Only the changed RRsets' lines are parsed; when the change keeps the
 * zone's names and reaches few of them, only those are compiled again (`patchImage`, a delta
 * image: the outcome's `delta`), else the zone is built from the image and compiled whole.
 * @module
 */

import { PackReader } from '../../image/pack.js';
import { compilePatchedWith, type RRsetPatch } from '../../image/patch.js';
import { openImage, type ZoneImage } from '../../image/reader.js';
import { ImageZone } from '../../image/zone-view.js';
import type { RR } from '../../wire/message.js';
import { Name } from '../../wire/name.js';
import type { IxfrStep } from '../../xfr/secondary/ixfr-in.js';
import { recordLine } from '../../xfr/secondary/ixfr-in.js';
import { parseZoneText } from '../../zone/index.js';
import type { CompileOutcome, PatchJob } from './compile-pool.js';
import type { PatchChange } from './dns-protocol.js';

/** One reader per pack folder, for the thread's life (its mappings go with their last view). */
const readers = new Map<string, PackReader>();

function readerOf(dir: string): PackReader {
  let r = readers.get(dir);
  if (!r) {
    r = new PackReader(dir);
    readers.set(dir, r);
  }
  return r;
}

/**
 * The changes as RRset patches: each changed RRset's lines parsed, under the zone's origin; an
 * IXFR's difference (`diff`) applied to the RRset `base` serves (its records less the removed,
 * plus the added, in octet order as the edge's store lists them). A difference that does not
 * apply (a record removed that is not there, records of two TTLs) throws: the zone's text is
 * compiled instead.
 */
export function toPatches(origin: string, changes: readonly PatchChange[], base?: ZoneImage): RRsetPatch[] {
  const out: RRsetPatch[] = [];
  let view: ImageZone | undefined;
  for (const c of changes) {
    const name = Name.parse(c.owner);
    if (c.diff) {
      if (base === undefined) throw new Error('an IXFR difference without the image it applies to');
      view ??= new ImageZone(base);
      out.push(applyDiff(view, name, c, origin));
      continue;
    }
    if (c.text === '') {
      out.push({ name, type: c.type, ttl: c.ttl, rdata: [] });
      continue;
    }
    const rrs = parseZoneText(c.text, { origin, file: origin });
    for (const rr of rrs)
      if (rr.type !== c.type || rr.name.key !== name.key)
        throw new Error(`a changed RRset of ${name} ${c.type} holds a record of ${rr.name} ${rr.type}`);
    out.push({ name, type: c.type, ttl: c.ttl, rdata: rrs.map((rr) => rr.rdata) });
  }
  return out;
}

/** Runs one patch job; never throws (a failure says why: the primary compiles the text then). */
export function runPatch(job: PatchJob): CompileOutcome {
  try {
    const bytes = readerOf(job.dir).open(job.ref);
    // The primary's own image, compiled and stored by it (the pack entry's header was checked
    // by open): only its header and section table are read again. A worker still validates
    // the new image in full when it opens it, unless it is a delta image (docs/IMAGE.md
    // "Delta images").
    const base = openImage(bytes, { validated: true });
    const made = compilePatchedWith(base, toPatches(job.name, job.changes, base));
    let image = made.image;
    if (image.byteOffset !== 0 || image.byteLength !== image.buffer.byteLength) image = image.slice();
    const now = openImage(image, { validated: true });
    const outcome: CompileOutcome = {
      ok: true,
      key: Name.fromWire(new TextDecoder('latin1').decode(now.origin)).key,
      origin: job.name,
      serial: now.serial,
      image,
      warnings: [],
    };
    if (made.delta.image !== undefined) outcome.delta = made.delta.rebuilt;
    return outcome;
  } catch (err) {
    return { ok: false, errors: [`${job.name}: not patched: ${(err as Error).message}`], warnings: [] };
  }
}

/** The records of `text` (one RRset's lines), checked to be of `name` and `type`. */
function linesOf(text: string | undefined, origin: string, name: Name, type: number): RR[] {
  if (text === undefined || text === '') return [];
  const rrs = parseZoneText(text, { origin, file: origin });
  for (const rr of rrs)
    if (rr.type !== type || rr.name.key !== name.key)
      throw new Error(`a difference of ${name} ${type} holds a record of ${rr.name} ${rr.type}`);
  return rrs;
}

/** One IXFR difference (`diff`) applied to the RRset the image serves: the RRset after. */
function applyDiff(view: ImageZone, name: Name, c: PatchChange, origin: string): RRsetPatch {
  const held = view.nodeByKey(name.key)?.get(c.type);
  const removed = linesOf(c.was, origin, name, c.type);
  const added = linesOf(c.text, origin, name, c.type);
  const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;
  const rdata = [...(held?.rdata ?? [])];
  for (const rr of removed) {
    const at = rdata.findIndex((r) => same(r, rr.rdata));
    if (at < 0) throw new Error(`${recordLine(rr)}: removed by the difference but not held`);
    rdata.splice(at, 1);
  }
  let ttl = held?.ttl ?? 0;
  if (added.length > 0) {
    ttl = added[0].ttl;
    if (added.some((rr) => rr.ttl !== ttl) || (rdata.length > 0 && held?.ttl !== ttl))
      throw new Error(`${name} ${c.type}: records of two TTLs`);
  }
  for (const rr of added) if (!rdata.some((r) => same(r, rr.rdata))) rdata.push(rr.rdata);
  rdata.sort((a, b) => Buffer.compare(a, b));
  return { name, type: c.type, ttl, rdata };
}

/**
 * IXFR differences (in order) as patch changes, one per RRset they touch: the records it
 * lost and gained overall (`diff`), as `recordLine` writes them (`switchboard edge`).
 */
export function ixfrChanges(steps: readonly IxfrStep[]): PatchChange[] {
  const sets = new Map<
    string,
    { owner: string; type: number; ttl: number; removed: Set<string>; added: Map<string, RR> }
  >();
  const setOf = (rr: RR) => {
    const key = `${rr.name.key}/${rr.type}`;
    let s = sets.get(key);
    if (!s) {
      s = { owner: rr.name.toString(), type: rr.type, ttl: rr.ttl, removed: new Set(), added: new Map() };
      sets.set(key, s);
    }
    return s;
  };
  for (const step of steps) {
    for (const rr of step.removed) {
      const s = setOf(rr);
      const line = recordLine(rr);
      // Records compared by their RDATA: a removal names the record whatever TTL it gives.
      const rkey = Buffer.from(rr.rdata).toString('latin1');
      if (s.added.has(rkey)) s.added.delete(rkey);
      else s.removed.add(line);
    }
    for (const rr of step.added) {
      const s = setOf(rr);
      s.added.set(Buffer.from(rr.rdata).toString('latin1'), rr);
      s.ttl = rr.ttl;
    }
  }
  const out: PatchChange[] = [];
  const text = (lines: string[]) => (lines.length === 0 ? '' : `${lines.join('\n')}\n`);
  for (const s of sets.values())
    out.push({
      owner: s.owner,
      type: s.type,
      ttl: s.ttl,
      text: text([...s.added.values()].map(recordLine)),
      was: text([...s.removed]),
      diff: true,
    });
  return out;
}
