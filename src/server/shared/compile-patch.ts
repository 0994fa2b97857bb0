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
import { openImage } from '../../image/reader.js';
import { Name } from '../../wire/name.js';
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

/** The changes as RRset patches: each changed RRset's lines parsed, under the zone's origin. */
export function toPatches(origin: string, changes: readonly PatchChange[]): RRsetPatch[] {
  const out: RRsetPatch[] = [];
  for (const c of changes) {
    const name = Name.parse(c.owner);
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
    const made = compilePatchedWith(base, toPatches(job.name, job.changes));
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
