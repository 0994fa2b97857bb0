/**
 * `serve --images on`: the zone folder read by the primary and compiled on the compile pool,
 * with the same outcome rules as `loadZoneDir` (zone-dir.ts) — a file that fails keeps its
 * previous zone, a vanished file drops it, two files with one origin: the first by name
 * wins — but each file is read, parsed and compiled once, in the primary's compile threads
 * (in batches: the primary never stats or reads a file), and a file whose size, mtime, inode
 * and ctime did not change since the last committed load is not read again (its thread
 * stats it and answers `unchanged`).
 * @module
 */
import { type Stats, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { discardPackedImage, type PackedImage } from '../../image/pack.js';
import { traceStart } from '../../telemetry/start-trace.js';
import { type CompileJob, type CompileJobs, type CompilePool, SIG_LATER } from '../shared/compile-pool.js';
import type { ImageChange } from '../shared/image-shipper.js';
import type { ImageRef } from '../shared/images.js';
import type { CachedImage, ImageCacheWriter } from './image-cache.js';
import type { ZoneSummary } from './report.js';
import { isZoneFileName, type ZoneDirReport, type ZoneFileReport } from './zone-dir.js';

/** Shared by the outcomes without errors or warnings (100,000 zones: one array, not 200,000). */
const NONE: string[] = [];

/**
 * During a load, the outcome of a file it compiled: its fields are in the load's columns, and
 * `commit` makes its FileOutcome. Never remembered itself.
 */
const FRESH: FileOutcome = Object.freeze({ sig: '', ok: true, errors: NONE, warnings: NONE }) as FileOutcome;

/** One compiled file's outcome, kept to skip it while it does not change. */
interface FileOutcome {
  sig: string;
  ok: boolean;
  key?: string;
  origin?: string;
  serial?: number;
  errors: string[];
  warnings: string[];
}

/** `status` of a file in a load's report (a column: no entry object per file during the load). */
const NOT_REPORTED = 0;
const FAILED = 1;
const LOADED = 2;
const KEPT = 3;

/** A zone served from a file. */
export interface ServedFile {
  file: string;
  /** The origin's case-folded key. */
  key: string;
  /** The zone's name in worker messages: the origin as text, lower case. */
  name: string;
  origin: string;
  serial: number;
  /** The publish generation of its image (bumped when the file's image changed). */
  version: number;
}

/**
 * A zone with a new image: its ServedFile and its ImageChange in one object (the shipper keeps
 * it as its record of the zone, `ShippedZone`: nothing may change it after the load).
 */
interface ServedChange extends ServedFile, ImageChange {
  version: number;
  serial: number;
}

/**
 * Where compiled images are stored as they come back (the primary's PackWriter): `addMany` is
 * all or nothing and throws when the images cannot be written (a full disk).
 */
export interface ImageStore {
  addMany(images: readonly Uint8Array[]): ImageRef[];
  release(ref: ImageRef): boolean;
  /**
   * With both (a PackWriter): the pack folder, where the compile threads write big images
   * themselves (`writePackedImage`), and how such an image is taken (throws as `addMany`).
   */
  readonly dir?: string;
  adopt?(packed: PackedImage): ImageRef;
}

/** Images stored in one write while a load compiles (about 400 KiB of 10-record zones). */
const STORE_EVERY = 256;

/**
 * A first load of at least this many files reads them without their fingerprints
 * (`SIG_LATER`: no fstat in the threads, on the path to the first answer) and takes them once
 * the load is committed, stat by stat, off the path (`#fingerprint`).
 */
const SIG_LATER_FILES = 1000;
/**
 * A file fingerprinted after its read is trusted only when its ctime is older than the load's
 * start by this much (coarse file-system clocks, timestamps of 1-2 s granularity): a file
 * changed since (its ctime is then the change's) is read again at the next load.
 */
const SIG_LATER_MARGIN_MS = 2000;
/** Files fingerprinted per turn of the loop. */
const SIG_LATER_SLICE = 2000;

/** A file's fingerprint from its stat: `fileSignature` of compile-thread.ts (not loaded here). */
export function statSignature(st: Stats): string {
  return `${st.size}:${st.mtimeMs}:${st.ino}:${st.ctimeMs}`;
}

/** Tuning of the first load's deferred fingerprints (tests). */
export interface CompiledZoneDirOptions {
  sigLaterFiles?: number;
  sigLaterMarginMs?: number;
}

/** The zone folder as compiled images. */
export class CompiledZoneDir {
  readonly #dir: string;
  readonly #pool: CompilePool;
  /** The folder as a prefix of its files' paths (`join(dir, name)`, without a join per file). */
  readonly #prefix: string;
  readonly #store: ImageStore | undefined;
  readonly #outcomes = new Map<string, FileOutcome>();
  #served = new Map<string, ServedFile>();
  #version = 0;
  /** For the next load: images cached on disk, by file name (image-cache.ts). */
  #cache: Map<string, CachedImage> | undefined;
  /** For the next load: opens where its images are cached (once one is compiled). */
  #openCache: (() => ImageCacheWriter) | undefined;
  /**
   * The cache the last load wrote (to commit once it is published, or abort): none when
   * every image came from the cache (the cache on disk is still right) or none was asked.
   */
  cacheWriter: ImageCacheWriter | undefined;
  /** Images the last load took from the cache (not compiled). */
  fromCache = 0;
  readonly #sigLaterFiles: number;
  readonly #sigLaterMarginMs: number;
  /** The fingerprints a first load took after its commit (`SIG_LATER`): done when it resolves. */
  #fingerprinted: Promise<void> = Promise.resolve();

  /**
   * With `store`, each load stores the new images as their batches come back (while the
   * threads go on compiling) and its changes carry refs instead of images: no image waits in
   * this process for the publish, and the publish writes nothing.
   */
  constructor(dir: string, pool: CompilePool, store?: ImageStore, opts: CompiledZoneDirOptions = {}) {
    this.#sigLaterFiles = opts.sigLaterFiles ?? SIG_LATER_FILES;
    this.#sigLaterMarginMs = opts.sigLaterMarginMs ?? SIG_LATER_MARGIN_MS;
    this.#dir = dir;
    this.#pool = pool;
    this.#store = store;
    // join(dir, name) for any file name (no `/` in it): the normalized folder and a separator,
    // or nothing for the current folder.
    this.#prefix = join(dir, 'x').slice(0, -1);
  }

  /**
   * The next load takes a file's image from `entries` (a cache read from disk) when the file's
   * fingerprint is still the entry's (its thread stats it and answers `unchanged`: nothing is
   * read or compiled). Once it compiles an image, it opens a new cache with `open` and adds
   * every image it compiled or took to it (`cacheWriter`); when it compiles none, the cache on
   * disk stays as it is.
   */
  useCache(entries: Map<string, CachedImage> | undefined, open?: () => ImageCacheWriter): void {
    this.#cache = entries;
    this.#openCache = open;
  }

  /** Resolves once the fingerprints a first load took after its commit are in (tests). */
  fingerprinted(): Promise<void> {
    return this.#fingerprinted;
  }

  /**
   * A publish generation above every one given so far (the next load's is above it): for an
   * image made after its load (a staged zone's full image, image-primary.ts), published
   * between loads, never during one.
   */
  takeVersion(): number {
    return ++this.#version;
  }

  /** The zones served now, in file name order. */
  zones(): ZoneSummary[] {
    return [...this.#served.values()].map((z) => ({ file: z.file, origin: z.origin, serial: z.serial }));
  }

  /**
   * Reads the folder (again), compiling new and changed files; returns the report (as
   * `loadZoneDir`'s) and the changes to publish. An unreadable folder changes nothing.
   *
   * Nothing is remembered until the caller calls `commit()`, once the changes are published:
   * if publishing fails (a full disk), the next load compares against what is really served
   * and compiles the changed files again, rather than think they are unchanged.
   *
   * `settled`, if given, is called while the threads compile, each time more files are
   * settled (in file name order), with the changes so far: the same array the load returns,
   * which only grows (the zones no file serves any more are added after the last call). A cold
   * start publishes them as they come, so little is left to publish after the compile. (If
   * the load then throws, the changes handed were void: their images are released.)
   *
   * `staged` (with a store that adopts): a big zone's image is made in two stages (CompileJob
   * `staged`): this load's change carries its image without templates; the full image comes
   * later through `CompilePool.onFull` (image-primary.ts).
   *
   * @throws Error when the images cannot be stored (with a store): then every image this load
   *   stored is released and nothing is remembered.
   */
  async load(
    opts: { settled?: (changes: readonly ImageChange[]) => void; staged?: boolean } = {},
  ): Promise<{ report: ZoneDirReport; changes: ImageChange[]; commit: () => void }> {
    const settled = opts.settled;
    // One thread loads its modules while the folder is listed; the others once there is more
    // than one file for them (a folder of one big zone: no idle thread's heap or start-up beside
    // the compile).
    this.#pool.prestart(1);
    let names: string[];
    /**
     * A first load of many (read with `SIG_LATER`): the names the listing says are not
     * regular files (read with a fingerprint, as any file of a later load: a FIFO is skipped).
     */
    let irregular: Set<string> | undefined;
    try {
      const first = this.#outcomes.size === 0 && this.#served.size === 0;
      const listed = await readdir(this.#dir, { withFileTypes: true });
      traceStart('primary', `zone folder listed (${listed.length} entries)`);
      names = [];
      const others: string[] = [];
      for (const e of listed)
        if (isZoneFileName(e.name)) {
          names.push(e.name);
          if (!e.isFile()) others.push(e.name);
        }
      names.sort();
      if (
        first &&
        names.length >= this.#sigLaterFiles &&
        this.#cache === undefined &&
        this.#openCache === undefined
      )
        irregular = new Set(others);
      if (names.length > 1) this.#pool.prestart();
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      return {
        report: { files: [], removed: [], dirError: `cannot read zone folder: ${why}` },
        changes: [],
        commit: () => {},
      };
    }
    // One compileEach for the whole folder: the threads read, fingerprint and compile in
    // batches, with no stat, message or promise per file on this loop; each outcome is taken
    // in as its batch comes back, while the threads go on. A file read before is sent with its
    // fingerprint, and the thread only stats it: unchanged, it is not read.
    const prefix = this.#prefix;
    const known = this.#outcomes;
    let cache = this.#cache;
    let openCache = this.#openCache;
    this.#cache = undefined;
    this.#openCache = undefined;
    this.cacheWriter = undefined;
    // Images taken from the cache before the first compiled one (written only if one is).
    const early: [string, CachedImage][] = [];
    const toCache = (file: string, e: CachedImage, compiled: boolean) => {
      if (openCache === undefined) return;
      if (this.cacheWriter === undefined) {
        if (!compiled) {
          early.push([file, e]);
          return;
        }
        try {
          this.cacheWriter = openCache();
        } catch {
          openCache = undefined; // the cache cannot be written: the load goes on without it
          return;
        }
        for (const [f, h] of early) this.cacheWriter.add(f, h, h.image);
        early.length = 0;
      }
      this.cacheWriter.add(file, e, e.image);
    };
    // A big zone's image is written into the pack folder by its thread, as it is made, and
    // adopted here: no copy of it in this process, no write on this loop. Not with an image
    // cache being written (it needs the octets): those come back as before.
    const packDir = this.#store?.adopt !== undefined && openCache === undefined ? this.#store.dir : undefined;
    // A big zone's image without templates first, its full image later (image-primary.ts).
    const staged = packDir !== undefined && opts.staged === true;
    // Every job of one shape, made whole at once (100,000 files: no property added after).
    const job = (path: string, sig: string | undefined): CompileJob =>
      packDir === undefined
        ? { kind: 'file', path, sig }
        : staged
          ? { kind: 'file', path, sig, packDir, staged }
          : { kind: 'file', path, sig, packDir };
    // Made as the pool batches them (no job nor path per file living through the compile).
    /**
     * 1 for a file read with `SIG_LATER`; 2 once its outcome came back without a fingerprint
     * (taken after the commit: a column, not a list of 100,000 indexes).
     */
    const sigLater = new Uint8Array(names.length);
    const jobs: CompileJobs = {
      count: names.length,
      job: (i: number): CompileJob => {
        const name = names[i];
        const path = prefix + name;
        const old = known.size === 0 ? undefined : known.get(name);
        // Unchanged: its failure stands, or its image is the one served (else compile it anew:
        // a file that lost to another for its origin may be served now, and needs its image).
        if (old && old.sig !== '' && (!old.ok || this.#served.get(name)?.key === old.key))
          return job(path, old.sig);
        // Cached on disk: unchanged, the cached image is taken.
        const hit = old === undefined ? cache?.get(name) : undefined;
        if (hit !== undefined) return job(path, hit.sig);
        if (irregular !== undefined && !irregular.has(name)) {
          sigLater[i] = 1;
          return job(path, SIG_LATER);
        }
        return job(path, undefined);
      },
    };
    // The wall time before any file is read (for the fingerprints taken after the load).
    const startedAt = Date.now();
    /** Files read with `SIG_LATER` whose outcome has no fingerprint (`sigLater` 2): taken after the commit. */
    let later = 0;
    this.fromCache = 0;
    const outcomes: (FileOutcome | null)[] = new Array(names.length).fill(null);
    // The outcomes of the files this load compiled (`FRESH`), as columns: no object per file
    // while the threads compile (100,000 of them promoted to the old generation).
    const freshKeys: string[] = new Array(names.length);
    const freshOrigins: string[] = new Array(names.length);
    const freshSerials = new Float64Array(names.length);
    const freshSigs: string[] = new Array(names.length);
    const freshWarnings = new Map<number, string[]>();
    /** 1 once the file's outcome came back (its outcome may be null: vanished). */
    const back = new Uint8Array(names.length);
    const images: (Uint8Array | undefined)[] = new Array(names.length);
    const store = this.#store;
    const refs: (ImageRef | undefined)[] = new Array(names.length);
    const stored: ImageRef[] = [];
    let pending: number[] = [];
    let storeError: unknown;

    // The served set and the report are built in file name order as the outcomes come back
    // (the first file by name wins an origin, so file i is settled once every file before it
    // is): on a cold start of 100,000 files this runs on this loop while the threads compile,
    // not after the last batch (~0.3-0.4 s there). Per file only what the rest needs is made:
    // a new image's zone is one object (its ServedFile and its ImageChange, which the shipper
    // keeps as its record of the zone), and the report is a column of statuses, its entries
    // made when it is first read (`report.files`: after a cold start's publish, not before).
    const previous = this.#served;
    /** A first load: no file was served before (no lookups in `previous`). */
    const cold = previous.size === 0;
    // The zones served, in file name order: made a Map by `commit` (on a cold start once every
    // worker serves, not on this loop while the threads compile).
    const served: ServedFile[] = [];
    /** Per file: its status in the report (`NOT_REPORTED` for a file with no outcome). */
    const status = new Uint8Array(names.length);
    /** The errors of files that lost their origin to an earlier file (few: a Map). */
    const clashes = new Map<number, string[]>();
    const origins = new Map<string, string>(); // origin key → file that holds it
    /** A file found its origin held: `origins` is looked up before it is set from then on. */
    let clashed = false;
    // The publish generation of this load's images (taken once the load cannot fail).
    const version = this.#version + 1;
    // Changes by zone name: new images, and zones no file serves any more.
    const changes: ImageChange[] = [];
    const settle = (i: number) => {
      const o = outcomes[i];
      if (o === null) return;
      const file = names[i];
      let zone: ServedFile | undefined;
      let st = FAILED;
      // A file compiled by this load: its fields in the columns (`FRESH`).
      const fresh = o === FRESH;
      const key = fresh ? freshKeys[i] : o.key;
      const origin = fresh ? freshOrigins[i] : o.origin;
      const serial = fresh ? freshSerials[i] : o.serial;
      if (o.ok && key !== undefined && origin !== undefined && serial !== undefined) {
        // The origin taken in one operation (not a lookup, then an insert: ~0.5 µs a file in a
        // Map of 100,000): a file that finds it held put itself in the holder's place, which is
        // put back from `served`, and the rest of the load looks up first.
        let holder: string | undefined;
        if (clashed) holder = origins.get(key);
        else {
          const had = origins.size;
          origins.set(key, file);
          if (origins.size === had) {
            clashed = true;
            for (const z of served) origins.set(z.key, z.file);
            holder = origins.get(key);
          }
        }
        if (holder !== undefined)
          clashes.set(i, [...o.errors, `${prefix}${file}: zone ${origin} is already served from ${holder}`]);
        else {
          const image = images[i];
          const ref = refs[i];
          if (image === undefined && ref === undefined) {
            // Unchanged and served: the same entry (a file whose image is not served is compiled).
            const old = cold ? undefined : previous.get(file);
            if (old !== undefined && old.key === key) zone = old;
            else if (!clashed) origins.delete(key); // not served: the origin is not its
          } else {
            // One shape for every zone (all its fields at once: no property added after).
            const change: ServedChange = {
              name: origin.toLowerCase(),
              version,
              serial,
              ref,
              image: ref === undefined ? image : undefined,
              file,
              key,
              origin,
            };
            changes.push(change);
            zone = change;
            refs[i] = undefined; // taken by the change
          }
        }
      }
      if (zone) st = LOADED;
      else if (!cold) {
        const old = previous.get(file);
        if (old && !origins.has(old.key)) {
          zone = old;
          st = KEPT;
        }
      }
      status[i] = st;
      if (zone) {
        if (st === KEPT || clashed) origins.set(zone.key, file);
        served.push(zone);
      }
    };
    /** The report's entries, in file name order, from the columns (once the load is done). */
    const reportFiles = (): ZoneFileReport[] => {
      const files: ZoneFileReport[] = [];
      let z = 0; // served holds the zones of the loaded and kept files, in that order
      for (let i = 0; i < names.length; i++) {
        const st = status[i];
        if (st === NOT_REPORTED) continue;
        const o = outcomes[i] as FileOutcome;
        const errors = clashes.get(i) ?? o.errors;
        const warnings = o === FRESH ? (freshWarnings.get(i) ?? NONE) : o.warnings;
        if (st === FAILED) files.push({ file: names[i], status: 'failed', errors, warnings });
        else {
          const zone = served[z++];
          files.push({
            file: names[i],
            status: st === LOADED ? 'loaded' : 'kept',
            errors,
            warnings,
            origin: zone.origin,
            serial: zone.serial,
          });
        }
      }
      return files;
    };
    /** Files before `next` are settled. */
    let next = 0;
    // Settles the files whose outcome is back (and, with a store, whose image is stored).
    const advance = () => {
      const had = changes.length;
      while (next < names.length && back[next] === 1 && (store === undefined || images[next] === undefined))
        settle(next++);
      if (settled !== undefined && changes.length > had) settled(changes);
    };
    // Stores the images of `pending` in one write: after that only their refs are kept.
    const flush = () => {
      const batch = pending;
      pending = [];
      if (store === undefined || batch.length === 0 || storeError !== undefined) return;
      try {
        const got = store.addMany(batch.map((i) => images[i] as Uint8Array));
        batch.forEach((i, k) => {
          refs[i] = got[k];
          images[i] = undefined;
          stored.push(got[k]);
        });
      } catch (err) {
        storeError = err;
        return;
      }
      advance();
    };
    traceStart('primary', 'compile starts');
    await this.#pool.compileEach(jobs, (i, o) => {
      back[i] = 1;
      const hit = !o.ok && o.skip === 'unchanged' && !known.has(names[i]) ? cache?.get(names[i]) : undefined;
      if (hit !== undefined) {
        // Unchanged since it was cached: its cached image, as if compiled now.
        this.fromCache++;
        o = {
          ok: true,
          key: hit.key,
          origin: hit.origin,
          serial: hit.serial,
          image: hit.image,
          warnings: NONE,
          sig: hit.sig,
        };
      }
      if (o.ok && o.sig !== undefined && openCache !== undefined)
        toCache(
          names[i],
          { sig: o.sig, key: o.key, origin: o.origin, serial: o.serial, image: o.image },
          hit === undefined,
        );
      if (o.ok) {
        // Its FileOutcome is made by `commit` (on a cold start once every worker serves).
        outcomes[i] = FRESH;
        freshKeys[i] = o.key;
        freshOrigins[i] = o.origin;
        freshSerials[i] = o.serial;
        if (o.sig !== undefined) freshSigs[i] = o.sig;
        if (o.warnings.length > 0) freshWarnings.set(i, o.warnings);
      }
      if (o.ok && o.packed !== undefined) {
        if (store?.adopt !== undefined && storeError === undefined)
          try {
            const ref = store.adopt(o.packed);
            refs[i] = ref;
            stored.push(ref);
          } catch (err) {
            storeError = err;
          }
        // Not taken (a failed store before, or this adopt failed): removed (PackWriter.adopt
        // removes it itself when it fails).
        if (refs[i] === undefined && packDir !== undefined)
          try {
            discardPackedImage(packDir, o.packed);
          } catch {
            // left for the folder's next writer, which removes it
          }
      } else if (o.ok) {
        images[i] = o.image;
        // (After its outcome is set: the flush settles the files it stored.)
        if (store !== undefined && storeError === undefined && pending.push(i) >= STORE_EVERY) flush();
      } else if (o.skip === 'unchanged') outcomes[i] = known.get(names[i]) as FileOutcome;
      else if (o.skip === undefined)
        // No fingerprint (it could not be opened, or the pool is closing): read it again next time.
        outcomes[i] = {
          sig: o.sig ?? '',
          ok: false,
          errors: o.errors,
          warnings: o.warnings.length > 0 ? o.warnings : NONE,
        };
      // absent: vanished since readdir, or not a regular file
      if (o.sig === undefined && outcomes[i] !== null && sigLater[i] === 1) {
        sigLater[i] = 2;
        later++;
      }
      if (i === next) advance();
    });
    flush();
    irregular = undefined;
    // The cache's entries (views of its mapping) are done with: let go here, since `commit`
    // below shares this function's closure context and would keep them, and the mapped
    // cache's pages, in the primary while the workers map the packs (bigzone4).
    cache = undefined;
    early.length = 0;
    if (storeError !== undefined) {
      try {
        for (const r of stored) store?.release(r);
      } catch {
        // the writer is closed (the server is stopping): its packs are gone with it
      }
      throw new Error(
        `cannot store the zone images, zones unchanged: ${storeError instanceof Error ? storeError.message : String(storeError)}`,
      );
    }
    this.#version = version;
    advance();
    // Stored images no change took (a file that lost its origin to an earlier one) go now.
    if (store !== undefined) for (const r of refs) if (r !== undefined) store.release(r);
    // (A cold start has nothing to compare with: no set of 100,000 names made for it.)
    const present = previous.size > 0 || known.size > 0 ? new Set(names) : undefined;
    const removed = present === undefined ? [] : [...previous.keys()].filter((f) => !present.has(f));
    // A zone that moved to another file (same name, new image) is a put above; a name that
    // left is removed: its version is the new generation, above any it had. (The name is the
    // origin in lower case and the key its case-folded wire form: one served key, one name.)
    for (const z of previous.values())
      if (!origins.has(z.key)) changes.push({ name: z.name, version, serial: z.serial });
    let committed = false;
    const commit = () => {
      if (committed) return;
      committed = true;
      for (let i = 0; i < names.length; i++) {
        let o = outcomes[i];
        if (o === FRESH) {
          o = {
            sig: freshSigs[i] ?? '',
            ok: true,
            key: freshKeys[i],
            origin: freshOrigins[i],
            serial: freshSerials[i],
            errors: NONE,
            warnings: freshWarnings.get(i) ?? NONE,
          };
          outcomes[i] = o;
        }
        if (o !== null && known.get(names[i]) !== o) known.set(names[i], o);
      }
      if (present !== undefined)
        for (const file of this.#outcomes.keys()) if (!present.has(file)) this.#outcomes.delete(file);
      const map = new Map<string, ServedFile>();
      for (const z of served) map.set(z.file, z);
      this.#served = map;
      if (later > 0) this.#fingerprinted = this.#fingerprint(names, outcomes, sigLater, startedAt);
    };
    let files: ZoneFileReport[] | undefined;
    const report: ZoneDirReport = {
      get files(): ZoneFileReport[] {
        files ??= reportFiles();
        return files;
      },
      set files(value: ZoneFileReport[]) {
        files = value;
      },
      removed,
    };
    return { report, changes, commit };
  }

  /**
   * Takes the fingerprints of the files a first load read without them (`SIG_LATER`), a slice
   * per turn of the loop, so the next load skips those still unchanged. A file whose ctime is
   * not older than the load's start (by the margin) may have changed since it was read: it
   * keeps no fingerprint and the next load reads it again; so does one replaced or gone.
   */
  async #fingerprint(
    names: readonly string[],
    outcomes: readonly (FileOutcome | null)[],
    later: Uint8Array,
    startedAt: number,
  ): Promise<void> {
    const before = startedAt - this.#sigLaterMarginMs;
    for (let i = 0, k = 0; i < later.length; i++) {
      if (later[i] !== 2) continue;
      if (k > 0 && k % SIG_LATER_SLICE === 0) await new Promise((r) => setImmediate(r));
      k++;
      const o = outcomes[i];
      // Only the outcome still remembered (a later load replaces it with its own).
      if (o === null || o.sig !== '' || this.#outcomes.get(names[i]) !== o) continue;
      let st: Stats | undefined;
      try {
        st = statSync(this.#prefix + names[i], { throwIfNoEntry: false });
      } catch {
        continue;
      }
      if (st?.isFile() && st.ctimeMs < before) o.sig = statSignature(st);
    }
  }
}
