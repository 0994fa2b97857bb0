/**
 * The body of one compile thread (a worker_thread of `CompilePool`): turns zone text into
 * compiled zone images (src/image `compileZone`). Jobs come in batches (one message holds
 * many zones) and each batch is answered with one message: the small images copied into one
 * transferred buffer, the large ones transferred as they are (no copy).
 *
 * A file job is read here, not in the primary: one open, fstat and read into a reused buffer
 * (readFileSync costs a second fstat and a fresh buffer per file), and the file's fingerprint
 * (size, mtime, inode, ctime) is taken from the descriptor that was read, so it always
 * describes the octets compiled. A job that carries the fingerprint of the last read is
 * answered `unchanged` after one stat when the file did not change.
 * @module
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { type CompilableZone, compileZone, compileZoneToFile, StagedCompile } from '../../image/compile.js';
import { discardPackedImage, type PackedImage, trimNativeHeap, writePackedImage } from '../../image/pack.js';
import { startTraceOn, threadCpuMs, traceStart } from '../../telemetry/start-trace.js';

import { ColumnZone } from '../../zone/column-zone.js';
import {
  EarlyParse,
  loadZoneText,
  loadZoneTextColumns,
  PARSE_THREAD_TEXT,
  type PendingChecks,
  readLatin1Fd,
  type ZoneDiagnostic,
  ZoneParseError,
} from '../../zone/index.js';
import { runPatch } from './compile-patch.js';
import {
  type CompileBatch,
  type CompileBatchRequest,
  type CompileJob,
  type CompileOutcome,
  SIG_LATER,
  STATUS_ABSENT,
  STATUS_FAILED,
  STATUS_OK,
  STATUS_UNCHANGED,
  type StagedFull,
} from './compile-pool.js';
import { collectGarbage } from './gc.js';
import { formatZoneProblem } from './zone-problem.js';

/** A big compile's stages in the start-up trace (SWITCHBOARD_TRACE_START=1). */
const compileTrace = startTraceOn ? (stage: string) => traceStart('compile', stage) : undefined;

function describe(name: string, err: unknown): string[] {
  if (err instanceof ZoneParseError) return err.errors.map((e) => formatZoneProblem(name, e));
  return [formatZoneProblem(name, err)];
}

/** A file's fingerprint: it changed when any part did (an edit in place changes ctime too). */
export function fileSignature(st: Stats): string {
  return `${st.size}:${st.mtimeMs}:${st.ino}:${st.ctimeMs}`;
}

/** Shared by the outcomes without errors or warnings. */
const NONE: string[] = [];
/** The image of an outcome whose image is in a pack folder (`packed`). */
const NO_IMAGE = new Uint8Array(0);

/**
 * O_NONBLOCK: opening a FIFO named `x.zone` must not hang the thread (the primary used to stat
 * first and skip anything but a regular file); on a regular file the flag changes nothing.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;
/**
 * O_NOATIME (Linux): reading a zone file does not update its access time. A file read for the
 * first time since it was written otherwise gets its atime written (relatime): a dirty inode
 * for the journal (a small gain over 100,000 fresh files, inside the noise: docs/PERFORMANCE.md
 * "Session 27"). Allowed only to the file's owner (or CAP_FOWNER): after the first EPERM this
 * thread opens without it.
 */
let noAtime = constants.O_NOATIME ?? 0;

/** Opens a zone file for reading (without touching its atime where allowed). */
function openZoneFile(path: string): number {
  if (noAtime !== 0)
    try {
      return openSync(path, OPEN_FLAGS | noAtime);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
      noAtime = 0;
    }
  return openSync(path, OPEN_FLAGS);
}

type FileRead =
  | { skip: 'absent' | 'unchanged' }
  | { text: string; sig?: string; early?: EarlyParse }
  | { error: ZoneParseError; sig?: string };

/**
 * Reads a zone file as latin1 (one char per octet, as loadZoneFile does), with the fingerprint
 * of what was read. A missing path or one that is not a regular file is `absent` (the zone
 * folder lost it between its listing and now); any other failure is the ZONE_ERR_IO error
 * loadZoneFile would throw, with the same message.
 */
export function readZoneFile(path: string, previous?: string): FileRead {
  if (previous !== undefined && previous !== SIG_LATER) {
    let st: Stats;
    try {
      st = statSync(path);
    } catch {
      return { skip: 'absent' };
    }
    if (!st.isFile()) return { skip: 'absent' };
    if (fileSignature(st) === previous) return { skip: 'unchanged' };
  }
  let fd: number;
  try {
    fd = openZoneFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { skip: 'absent' };
    return { error: ioError(path, err) };
  }
  let sig: string | undefined;
  let early: EarlyParse | undefined;
  try {
    if (previous === SIG_LATER) {
      // A small file, no fstat: read from offset 0, so a bigger one (or one that is no longer
      // a regular file: the read fails) is read below as any other.
      smallRead ??= Buffer.allocUnsafe(SMALL_READ);
      let n = SMALL_READ;
      try {
        n = readSync(fd, smallRead, 0, SMALL_READ, 0);
      } catch {
        // read below, after the fstat
      }
      if (n < SMALL_READ) return { text: smallRead.toString('latin1', 0, n) };
    }
    const st = fstatSync(fd);
    if (!st.isFile()) return { skip: 'absent' };
    sig = fileSignature(st);
    if (st.size >= PARSE_THREAD_TEXT && process.env.SWITCHBOARD_PARSE_THREAD !== 'off')
      early = EarlyParse.start(st.size);
    if (early === undefined) return { text: readLatin1Fd(fd, st.size), sig };
    // A big file: its parse thread loads its code while the file is read into the octets it
    // parses (docs/IMAGE.md "Big zones"); a file that grew past its size is read whole here.
    if (early.readFd(fd)) return { text: '', sig, early };
    const text = early.text() + readLatin1Fd(fd);
    early.close();
    return { text, sig };
  } catch (err) {
    early?.close();
    return { error: ioError(path, err), sig };
  } finally {
    closeSync(fd);
  }
}

/** `SIG_LATER` reads: a file shorter than this is read whole in one call (image-dir.ts). */
const SMALL_READ = 64 * 1024;
let smallRead: Buffer | undefined;

function ioError(path: string, err: unknown): ZoneParseError {
  return new ZoneParseError([{ code: 'ZONE_ERR_IO', file: path, line: 0, message: (err as Error).message }]);
}

// The big-zone path (src/zone/column-zone.ts, docs/IMAGE.md).
/**
 * Zone text of at least this many octets (~35,000 records) is loaded as columns
 * (`loadZoneTextColumns`): no graph of per-record objects lives through the compile. The same
 * image, errors and warnings either way; below it `Zone` is faster (fixed costs per zone).
 */
export const COLUMN_ZONE_TEXT = 1 << 20;
const loaderFor = (text: string): typeof loadZoneText | typeof loadZoneTextColumns =>
  text.length >= COLUMN_ZONE_TEXT ? loadZoneTextColumns : loadZoneText;

/**
 * A file text of at least this many octets (~600,000 records) is freed by a full collection
 * after its load, before its compile (a smaller one: the thread's own collections do).
 */
const COLLECT_TEXT = 16 << 20;

/**
 * Loads a file's text and lets go of it: the caller keeps no reference to the text (`read`
 * loses it here), so a collection after the load frees it before the compile.
 */
function loadRead(
  read: { text: string; early?: EarlyParse },
  file: string,
): ReturnType<typeof loadZoneText | typeof loadZoneTextColumns> {
  // A big file's checks run in a thread of their own while this one compiles it (settled
  // before the outcome: compileJob).
  const text = read.text;
  read.text = '';
  const early = read.early;
  read.early = undefined;
  if (early !== undefined)
    try {
      return loadZoneTextColumns('', {
        file,
        octets: true,
        stage: traceBig(early.length),
        early,
        checksLater: CHECKS_LATER,
      });
    } finally {
      early.close();
    }
  return loaderFor(text)(text, {
    file,
    octets: true,
    stage: traceBig(text.length),
    checksLater: CHECKS_LATER,
  });
}

/**
 * A big file's checks beside its compile (load.ts `checksLater`), in the parse thread once its
 * parse is done (par1m: no new isolate; docs/IMAGE.md "The checks run beside the compile");
 * `SWITCHBOARD_CHECK_THREAD=off` runs them before the compile, in this thread. (A fresh check
 * thread of its own, as load1m had it, is used only when there was no parse thread.)
 */
const CHECKS_LATER = process.env.SWITCHBOARD_CHECK_THREAD !== 'off';

/** The start-up trace's stages of a big file's load (src/telemetry/start-trace.ts). */
function traceBig(octets: number): ((name: string) => void) | undefined {
  return startTraceOn && octets >= COLUMN_ZONE_TEXT ? (name) => traceStart('compile', name) : undefined;
}

/**
 * Where a batch's small images are compiled: one buffer, reused from batch to batch, each
 * image written in place by `compileZone` (its `allocate` option), so a small zone costs no
 * ArrayBuffer of its own (allocated, then swept by the GC); the batch's transferred buffer is
 * one copy of what the arena holds. An image that does not fit (or is large) gets a buffer of
 * its own. (A plain buffer: writes into a resizable one cost V8 11 far more.)
 */
export class ImageArena {
  buf: Uint8Array;
  used = 0;
  constructor(bytes: number) {
    this.buf = new Uint8Array(bytes);
  }
  readonly allocate = (n: number): Uint8Array => {
    if (n > SMALL_IMAGE || this.used + n > this.buf.length) return new Uint8Array(n);
    const at = this.used;
    this.used = at + n;
    return this.buf.subarray(at, at + n); // compileZone zeroes what an allocator hands it
  };
  /** The image lies in this arena. */
  holds(image: Uint8Array): boolean {
    return image.buffer === this.buf.buffer;
  }
}

/** The thread's arena: room for ~600 images of a 10-record zone (~1.7 KiB each). */
const arena = new ImageArena(1 << 20);

/**
 * Runs one job; never throws. A compiled image is a whole ArrayBuffer of its own, or (a
 * `Zone`'s, with `arena`) a view into the arena.
 */
export function runCompile(job: CompileJob, arena?: ImageArena): CompileOutcome {
  if (job.kind === 'patch') return runPatch(job);
  return compileJob(job, arena);
}

/** `runCompile` of a file or text job. */
function compileJob(job: Exclude<CompileJob, { kind: 'patch' }>, arena?: ImageArena): CompileOutcome {
  const label = job.kind === 'file' ? job.path : job.name;
  let warnings: string[] = NONE;
  let zone: CompilableZone;
  let sig: string | undefined;
  // A big file's checks, running in their thread while the zone compiles (load.ts
  // `checksLater`): settled before any outcome, so a zone that fails one never serves.
  let checks: PendingChecks | undefined;
  let loadWarnings: ZoneDiagnostic[] = [];
  /** The refusal the checks make (undefined: they passed, their warnings taken). */
  const settle = (): CompileOutcome | undefined => {
    const c = checks;
    if (c === undefined) return undefined;
    checks = undefined;
    try {
      c.finish();
    } catch (err) {
      if (err instanceof ZoneParseError && err.warnings.length > 0)
        warnings = err.warnings.map((w) => formatZoneProblem(label, w));
      const failed: CompileOutcome = { ok: false, errors: describe(label, err), warnings };
      if (sig !== undefined) failed.sig = sig;
      return failed;
    }
    if (loadWarnings.length > 0) warnings = loadWarnings.map((w) => formatZoneProblem(label, w));
    return undefined;
  };
  try {
    if (job.kind === 'file') {
      // `serve`: strict, with the zone checks (as loadZoneFile, which this is but for the read).
      // The file this thread loaded as it started (the CLI's early start), when unchanged.
      const pre = takePreload(job.path, job.sig);
      let octets: number;
      let loaded: ReturnType<typeof loadRead>;
      if (pre !== undefined) {
        sig = pre.sig;
        octets = pre.octets;
        if (pre.loaded === undefined) throw pre.error;
        loaded = pre.loaded;
      } else {
        const read = readZoneFile(job.path, job.sig);
        if ('skip' in read) return { ok: false, skip: read.skip, errors: NONE, warnings };
        sig = read.sig;
        if ('error' in read) throw read.error;
        octets = read.early?.length ?? read.text.length;
        traceBig(octets)?.(`file read (${octets} octets)`);
        loaded = loadRead(read, job.path);
      }
      const stage = traceBig(octets);
      checks = 'checks' in loaded ? loaded.checks : undefined;
      loadWarnings = loaded.warnings;
      stage?.('loaded');
      if (loaded.warnings.length > 0) warnings = loaded.warnings.map((w) => formatZoneProblem(job.path, w));
      zone = loaded.zone;
      // bigzone: the text read (a big file's: its octets twice, as read and as a string) and
      // the load's garbage go before the image is made beside the columns (docs/IMAGE.md
      // "Big zones"). Only for a text worth it: a full collection costs ~50 ms.
      // Then the malloc arenas' freed memory goes back to the system (`trimNativeHeap`), so the
      // load's freed blocks do not stay resident beside the compile's scratch (tmpl2: ~2 MiB
      // off the cold start's peak PSS).
      if (octets >= COLLECT_TEXT) {
        collectGarbage();
        trimNativeHeap();
      }
      stage?.('collected, compile starts');
      // The primary forks its DNS workers now, or once the checks beside the compile are done
      // (`checksDone`, the word their thread sets: image-primary.ts), so that the compile keeps
      // a core of its own while it can.
      if (octets >= PARSE_THREAD_TEXT)
        parentPort?.postMessage({ stage: 'compiling', checksDone: checks?.doneWord });
    } else {
      // `start`: not strict, as parseZonePush (the control plane validated every record).
      const loaded = loaderFor(job.text)(job.text, { origin: job.name, file: job.name, strict: false });
      if (loaded.warnings.length > 0) warnings = loaded.warnings.map((w) => formatZoneProblem(job.name, w));
      zone = loaded.zone;
    }
  } catch (err) {
    checks?.stop();
    if (err instanceof ZoneParseError && err.warnings.length > 0)
      warnings = err.warnings.map((w) => formatZoneProblem(label, w));
    const failed: CompileOutcome = { ok: false, errors: describe(label, err), warnings };
    if (sig !== undefined) failed.sig = sig;
    return failed;
  }
  // A big zone's image (columns) for a pack folder: written there as it is made, never whole
  // in this thread's memory, and the primary copies nothing (it adopts the file). Should that
  // fail (a full disk, or the compile itself), the zone is compiled in memory below: the same
  // refusal, or an image the primary stores (or fails to, as before).
  if (job.kind === 'file' && job.packDir !== undefined && zone instanceof ColumnZone) {
    let packed: PackedImage | undefined;
    // A big zone asked to be staged: its image without templates first (docs/IMAGE.md
    // "Answer first, templates after"); the full one is made once this batch is answered.
    const staged =
      job.staged === true && zone.recordCount >= stagedRecords()
        ? new StagedCompile(zone, { trace: compileTrace })
        : undefined;
    try {
      packed = writePackedImage(job.packDir, (fd, base) =>
        staged !== undefined
          ? staged.first(fd, base)
          : compileZoneToFile(zone, fd, base, { trace: compileTrace }),
      );
    } catch {
      packed = undefined;
    }
    if (packed !== undefined)
      traceStart(
        'compile',
        staged !== undefined ? 'compiled into the pack, without templates' : 'compiled into the pack',
      );
    const refused = settle();
    if (refused !== undefined) {
      if (packed !== undefined) discardPackedImage(job.packDir, packed);
      return refused;
    }
    if (packed !== undefined) {
      const done: CompileOutcome = {
        ok: true,
        key: zone.origin.key,
        origin: zone.origin.toString(),
        serial: zone.serial,
        image: NO_IMAGE,
        packed,
        warnings,
      };
      if (sig !== undefined) done.sig = sig;
      if (staged !== undefined) {
        // The checks passed: the first stage serves; the second is owed (`runStagedFulls`).
        done.staged = true;
        stagedNext.push({ staged, dir: job.packDir, origin: done.origin });
      }
      return done;
    }
  }
  try {
    // A ColumnZone (a big zone) is compiled in place in a buffer of its own (compile.ts).
    let image =
      arena !== undefined && !(zone instanceof ColumnZone)
        ? compileZone(zone, { allocate: arena.allocate })
        : compileZone(zone, { trace: compileTrace });
    const refused = settle();
    if (refused !== undefined) return refused;
    if (!arena?.holds(image) && (image.byteOffset !== 0 || image.byteLength !== image.buffer.byteLength))
      image = image.slice();
    const done: CompileOutcome = {
      ok: true,
      key: zone.origin.key,
      origin: zone.origin.toString(),
      serial: zone.serial,
      image,
      warnings,
    };
    if (sig !== undefined) done.sig = sig;
    return done;
  } catch (err) {
    // The checks' refusal first, as when they ran before the compile.
    const refused = settle();
    if (refused !== undefined) return refused;
    const failed: CompileOutcome = {
      ok: false,
      errors: [`${label}: cannot compile: ${(err as Error).message}`],
      warnings,
    };
    if (sig !== undefined) failed.sig = sig;
    return failed;
  }
}

/**
 * A staged zone (a file job with `staged`, compiled into a pack folder as columns) of at least
 * this many records is served first from its image without templates (~0.4 s of the compile
 * thread's CPU for 1,000,000 records against ~0.9–1.0 s for the full image), the full image
 * made after (docs/IMAGE.md "Answer first, templates after"). Below it the gain is small
 * beside the second image's cost. `SWITCHBOARD_STAGED_RECORDS=N` sets it (tests).
 */
export const STAGED_RECORDS = 250_000;

function stagedRecords(): number {
  const n = Number(process.env.SWITCHBOARD_STAGED_RECORDS);
  return Number.isInteger(n) && n > 0 ? n : STAGED_RECORDS;
}

/** The staged zones of the batch being run, whose full image is made once it is answered. */
const stagedNext: { staged: StagedCompile; dir: string; origin: string }[] = [];

/**
 * The second stage of the zones staged by the batch just answered: each one's full image into
 * its pack folder, posted as `{ full }` (the pool hands it to `onFull`). The checks passed
 * with the first stage; a failure here leaves the zone served without templates.
 * `SWITCHBOARD_STAGED_HOLD_MS=N` waits that long first (tests: queries during the first stage).
 */
function runStagedFulls(): void {
  const hold = Number(process.env.SWITCHBOARD_STAGED_HOLD_MS);
  if (stagedNext.length > 0 && Number.isFinite(hold) && hold > 0)
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, hold);
  while (stagedNext.length > 0) {
    const { staged, dir, origin } = stagedNext.shift() as (typeof stagedNext)[number];
    const full: StagedFull = { origin, dir };
    const t0 = threadCpuMs();
    try {
      full.packed = writePackedImage(dir, (fd, base) => staged.full(fd, base));
      full.cpuMs = threadCpuMs() - t0;
      traceStart('compile', 'full image compiled into the pack');
    } catch (err) {
      full.error = (err as Error).message;
    }
    parentPort?.postMessage({ full });
  }
  // The columns and the compile's tables go when the primary ends this thread, before the
  // workers map the full image (image-primary.ts).
}

/** Images up to this size travel copied into the batch's buffer; larger ones are transferred. */
const SMALL_IMAGE = 256 * 1024;

/**
 * Runs a batch and packs its results as columns (arrays of strings and numbers, one typed
 * array of statuses: structured clone copies those ~10 times faster than one object per job),
 * the small images copied into one transferred buffer, the large ones transferred as they are.
 */
export function runBatch(req: CompileBatchRequest): { batch: CompileBatch; transfer: ArrayBuffer[] } {
  const n = req.kind === 'file' ? req.paths.length : req.names.length;
  const results: CompileOutcome[] = new Array(n);
  arena.used = 0;
  for (let i = 0; i < n; i++)
    results[i] =
      req.kind === 'file'
        ? runCompile(
            {
              kind: 'file',
              path: req.paths[i],
              sig: req.sigs[i] || undefined,
              packDir: req.packDir,
              staged: req.staged,
            },
            arena,
          )
        : req.kind === 'patch'
          ? runPatch({
              kind: 'patch',
              name: req.names[i],
              dir: req.dirs[i],
              ref: req.refs[i],
              changes: req.changes[i],
            })
          : runCompile({ kind: 'text', name: req.names[i], text: req.texts[i] }, arena);
  let total = 0;
  // Every small image in the arena: the batch's buffer is one copy of it.
  let inArena = true;
  for (const o of results)
    if (o.ok && o.packed === undefined && o.image.length <= SMALL_IMAGE) {
      total += o.image.length;
      if (!arena.holds(o.image)) inArena = false;
    }
  const batch: CompileBatch = {
    status: new Uint8Array(n),
    keys: new Array(n).fill(''),
    origins: new Array(n).fill(''),
    serials: new Array(n).fill(0),
    sigs: new Array(n).fill(''),
    at: new Array(n).fill(-1),
    lengths: new Array(n).fill(0),
    large: [],
    packed: [],
    problems: [],
    shared: inArena ? arena.buf.slice(0, arena.used) : new Uint8Array(total),
  };
  const transfer: ArrayBuffer[] = [batch.shared.buffer as ArrayBuffer];
  let at = 0;
  results.forEach((o, i) => {
    if (o.sig !== undefined) batch.sigs[i] = o.sig;
    if (o.warnings.length > 0 || !o.ok) batch.problems.push([i, o.ok ? NONE : o.errors, o.warnings]);
    if (!o.ok) {
      batch.status[i] =
        o.skip === 'absent' ? STATUS_ABSENT : o.skip === 'unchanged' ? STATUS_UNCHANGED : STATUS_FAILED;
      return;
    }
    batch.status[i] = STATUS_OK;
    batch.keys[i] = o.key;
    batch.origins[i] = o.origin;
    batch.serials[i] = o.serial;
    if (o.delta !== undefined) {
      batch.deltas ??= [];
      batch.deltas.push([i, o.delta]);
    }
    if (o.packed !== undefined) {
      batch.lengths[i] = o.packed.length;
      batch.packed.push([i, o.packed]);
      if (o.staged === true) {
        batch.staged ??= [];
        batch.staged.push(i);
      }
      return;
    }
    batch.lengths[i] = o.image.length;
    if (o.image.length <= SMALL_IMAGE && inArena) batch.at[i] = o.image.byteOffset;
    else if (o.image.length <= SMALL_IMAGE) {
      batch.shared.set(o.image, at);
      batch.at[i] = at;
      at += o.image.length;
    } else {
      batch.large.push(o.image);
      transfer.push(o.image.buffer as ArrayBuffer);
    }
  });
  return { batch, transfer };
}

/**
 * A big zone file loaded before its job came (`workerData.preload`: a thread the CLI started
 * before the serve primary's modules were loaded, compile-pool.ts `startEarlyCompileThread`):
 * the load (or the error it threw), the fingerprint of what was read. Taken by the job for
 * the same path, when the file's fingerprint is still that; dropped after the first batch.
 */
let preloaded:
  | { path: string; sig: string; octets: number; loaded?: ReturnType<typeof loadRead>; error?: unknown }
  | undefined;

/** Loads a big zone file now, for the job that will come for it (`preloaded`). */
function preload(path: string): void {
  const read = readZoneFile(path);
  // Only a big file (read into its early parse thread's octets); anything else waits for its job.
  if (!('text' in read) || read.early === undefined || read.sig === undefined) return;
  const octets = read.early.length;
  traceBig(octets)?.(`file read (${octets} octets, before its job)`);
  try {
    preloaded = { path, sig: read.sig, octets, loaded: loadRead(read, path) };
  } catch (err) {
    preloaded = { path, sig: read.sig, octets, error: err };
  }
}

/** The preloaded file, if it is `path` and unchanged (and not a reload's job, `previous` set). */
function takePreload(path: string, previous: string | undefined): typeof preloaded {
  const pre = preloaded;
  if (pre === undefined || pre.path !== path || previous !== undefined) return undefined;
  preloaded = undefined;
  let st: Stats;
  try {
    st = statSync(path);
  } catch {
    dropPreload(pre);
    return undefined;
  }
  if (st.isFile() && fileSignature(st) === pre.sig) return pre;
  dropPreload(pre);
  return undefined;
}

function dropPreload(pre: NonNullable<typeof preloaded>): void {
  if (pre.loaded !== undefined && 'checks' in pre.loaded) pre.loaded.checks?.stop();
}

traceStart('compile', 'thread up');
const preloadPath = (workerData as { preload?: unknown } | null)?.preload;
if (typeof preloadPath === 'string') preload(preloadPath);
parentPort?.on('message', (req: CompileBatchRequest) => {
  traceStart('compile', 'batch received');
  const { batch, transfer } = runBatch(req);
  // A preload no job took (another file came first, or it changed): let go of it.
  if (preloaded !== undefined) {
    dropPreload(preloaded);
    preloaded = undefined;
  }
  parentPort?.postMessage(batch, transfer);
  runStagedFulls();
});
