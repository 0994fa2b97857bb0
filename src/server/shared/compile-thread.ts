/**
 * The body of one compile thread (a worker_thread of `CompilePool`): turns zone text into a
 * compiled zone image (src/image `compileZone`) and hands the bytes back without a copy (the
 * buffer is transferred). One job at a time; a job that fails answers with its errors.
 * @module
 */
import { parentPort } from 'node:worker_threads';
import { compileZone } from '../../image/compile.js';
import { loadZoneFile, loadZoneText, type Zone, ZoneParseError } from '../../zone/index.js';
import type { CompileBatch, CompileBatchItem, CompileDone, CompileRequest } from './compile-pool.js';
import { formatZoneProblem } from './zone-problem.js';

function describe(name: string, err: unknown): string[] {
  if (err instanceof ZoneParseError) return err.errors.map((e) => formatZoneProblem(name, e));
  return [formatZoneProblem(name, err)];
}

/** Runs one request; never throws. */
export function runCompile(req: CompileRequest): { done: CompileDone; transfer: ArrayBuffer[] } {
  const label = req.kind === 'file' ? req.path : req.name;
  let warnings: string[] = [];
  let zone: Zone;
  try {
    if (req.kind === 'file') {
      // `serve`: strict, with the zone checks (as loadZoneFileForServer).
      const loaded = loadZoneFile(req.path);
      warnings = loaded.warnings.map((w) => formatZoneProblem(req.path, w));
      zone = loaded.zone;
    } else {
      // `start`: not strict, as parseZonePush (the control plane validated every record).
      const loaded = loadZoneText(req.text, { origin: req.name, file: req.name, strict: false });
      warnings = loaded.warnings.map((w) => formatZoneProblem(req.name, w));
      zone = loaded.zone;
    }
  } catch (err) {
    if (err instanceof ZoneParseError) warnings = err.warnings.map((w) => formatZoneProblem(label, w));
    return { done: { id: req.id, ok: false, errors: describe(label, err), warnings }, transfer: [] };
  }
  try {
    let image = compileZone(zone);
    if (image.byteOffset !== 0 || image.byteLength !== image.buffer.byteLength) image = image.slice();
    return {
      done: {
        id: req.id,
        ok: true,
        key: zone.origin.key,
        origin: zone.origin.toString(),
        serial: zone.serial,
        image,
        warnings,
      },
      transfer: [image.buffer as ArrayBuffer],
    };
  } catch (err) {
    return {
      done: {
        id: req.id,
        ok: false,
        errors: [`${label}: cannot compile: ${(err as Error).message}`],
        warnings,
      },
      transfer: [],
    };
  }
}

/** Images up to this size travel copied into one buffer per batch; larger ones are transferred. */
const SMALL_IMAGE = 256 * 1024;

/** Results not yet posted: sent together once the jobs already delivered are done. */
let outbox: { done: CompileDone; transfer: ArrayBuffer[] }[] = [];
let flushing = false;

/**
 * Posts every finished job in one message: small images copied into one transferred buffer
 * (one postMessage and one transfer per batch instead of per zone: per zone they cost more
 * than compiling a 10-record zone), large ones transferred as they are.
 */
function flush(): void {
  flushing = false;
  const batch = outbox;
  outbox = [];
  let total = 0;
  for (const { done } of batch) if (done.ok && done.image.length <= SMALL_IMAGE) total += done.image.length;
  const shared = new Uint8Array(total);
  const items: CompileBatchItem[] = [];
  const transfer: ArrayBuffer[] = [shared.buffer];
  let at = 0;
  for (const { done, transfer: own } of batch) {
    if (!done.ok) items.push(done);
    else if (done.image.length <= SMALL_IMAGE) {
      shared.set(done.image, at);
      items.push({ ...done, image: undefined, at, length: done.image.length });
      at += done.image.length;
    } else {
      items.push(done);
      transfer.push(...own);
    }
  }
  parentPort?.postMessage({ items, shared } satisfies CompileBatch, transfer);
}

/** A batch goes out at this many results, or `BATCH_MS` after its first one. */
const BATCH_JOBS = 16;
const BATCH_MS = 2;
let timer: NodeJS.Timeout | undefined;

parentPort?.on('message', (req: CompileRequest) => {
  outbox.push(runCompile(req));
  if (outbox.length >= BATCH_JOBS) {
    clearTimeout(timer);
    flushing = false;
    flush();
  } else if (!flushing) {
    flushing = true;
    timer = setTimeout(flush, BATCH_MS);
  }
});
