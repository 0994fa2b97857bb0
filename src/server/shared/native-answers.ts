/**
 * Answers in C from compiled zone images (`--native-answers`, native/image.c): keeps the
 * addon's per-thread table in step with the Catalog a worker serves.
 *
 * Lazy, as JS opens images: `sync` hands the addon the ORIGINS served (in bulk, only those
 * that changed: `diffCatalogs`, O(changes) for a catalog derived with `withZones`), without
 * images. C finds the closest enclosing served zone of each QNAME; when that zone has no image
 * yet it hands the datagram to JS and notes the origin. After each batch JS answered (the
 * native socket's after-batch hook takes the noted origins; the install runs from
 * `setImmediate`, once the batch's answers are sent), `installMisses` installs the images of those zones:
 * a `LazyImageZone` is opened as for a query (its validation, its errors: a zone whose image
 * cannot be opened stays with JS, which answers SERVFAIL), an `ImageZone` gives its bytes, a
 * parsed `Zone` (`--images off`) is compiled. The addon validates the bytes again and reads them
 * in place (it holds a reference until the image is replaced or removed). A zone whose Zone
 * object changes loses its image (its origin stays served) until its next query.
 * The batch loop runs on this same thread, so an install or removal never happens under a C
 * answer being written.
 *
 * Memory: only images of zones queried since they last changed are referenced (the mapped
 * pack octets, or the compiled bytes with `--images off`); `stats()` says how many.
 * @module
 */
import { type Catalog, diffCatalogs } from '../../answer/catalog.js';
import { isSignedZone } from '../../answer/dnssec.js';
import { H } from '../../image/format.js';
import { ImageZone, LazyImageZone } from '../../image/zone-view.js';
import { type NativeUdpAddon, nativeUdpStatus, setAfterJsBatch } from '../../transport/native-udp.js';
import type { ServedZone, Zone } from '../../zone/zone.js';
import type { NativeAnswersMode } from './native-answers-option.js';
import { buildResponderOptions } from './options.js';

export interface NativeAnswersSync {
  /** Origins newly served in C (without images: installed on their first query). */
  served: number;
  /** Origins no longer served. */
  removed: number;
  /** Images dropped because their zone changed (installed again on its next query). */
  dropped: number;
}

/**
 * The keys (latin1 strings: folded wire names) as concatenated wire names (one buffer: one
 * addon call). One join and one native latin1 encode: a worker's first sync hands 100,000
 * origins over while its code is still cold, where a loop per octet costs several times more.
 */
function concatKeys(keys: string[]): Uint8Array {
  return Buffer.from(keys.join(''), 'latin1');
}

/** Keeps the addon's served origins and images in step with a worker's zones. */
export class NativeAnswers {
  readonly #addon: NativeUdpAddon;
  /** The catalog last synced (the origins C serves are its zones'). */
  #catalog: Catalog | undefined;
  /** The zone whose image is installed, by origin key. */
  readonly #installed = new Map<string, ServedZone>();
  /** Zones whose image failed: left to JS until their Zone object changes. */
  #failed = new WeakSet<ServedZone>();
  /** Origin keys answered by JS alone (see `hold`). */
  #held: ReadonlySet<string> = new Set();
  readonly #compile: ((zone: Zone) => Uint8Array) | undefined;
  readonly #onFailed: ((message: string) => void) | undefined;
  /** Miss lists taken after JS batches, installed once those batches' answers went out. */
  #pendingMisses: Uint8Array[] = [];
  /** The install after the batch, when one is due (`#afterBatch`). */
  #installDue: NodeJS.Immediate | undefined;
  /** Images installed on first query, and failures, since the start. */
  installs = 0;
  failures = 0;

  /**
   * Turns the C answers on with the Responder's EDNS size and NSID and hooks `installMisses`
   * after every batch JS answers on this thread's native sockets. `compile`: how a parsed
   * `Zone` (`--images off`) becomes an image (src/image/compile.ts `compileZone`; given by the
   * caller, so that a worker serving images does not load the compiler); without it such a
   * zone is answered by JS. `onFailed`: told when a zone's image cannot be installed (JS answers it).
   */
  constructor(
    addon: NativeUdpAddon,
    ednsSize = 1232,
    compile?: (zone: Zone) => Uint8Array,
    nsid?: Uint8Array,
    onFailed?: (message: string) => void,
  ) {
    this.#addon = addon;
    this.#compile = compile;
    this.#onFailed = onFailed;
    addon.imageClear();
    addon.imageConfigure(true, ednsSize, nsid);
    setAfterJsBatch(() => this.#afterBatch());
  }

  /**
   * The after-batch hook: the batch's miss list taken (one addon call; nothing more when it is
   * empty) and installed from `setImmediate`, after the batch returned and its answers were
   * sent. A first query must not wait for its zone's install: a 1,000,000-record image's
   * validation is 0.15–0.2 s of a cold worker. The install stays on this thread, between two
   * batches, so it never swaps an image under an answer being written.
   */
  #afterBatch(): void {
    const misses = this.#addon.imageMisses();
    if (misses === null) return;
    this.#pendingMisses.push(misses);
    this.#installDue ??= setImmediate(() => {
      this.#installDue = undefined;
      try {
        this.installMisses();
      } catch (err) {
        // Not one zone's failure (those are caught per zone): said, and the worker goes on.
        this.#onFailed?.(`installing zone images: ${(err as Error)?.message ?? err}`);
      }
    }).unref();
  }

  /** The addon when it loaded, else why not. */
  static available(): { ok: true; addon: NativeUdpAddon } | { ok: false; reason: string } {
    const s = nativeUdpStatus();
    return s.ok ? { ok: true, addon: s.addon } : { ok: false, reason: s.reason };
  }

  /**
   * Brings the addon's served origins in step with `catalog`: new origins served (no image
   * yet), removed ones dropped, the image of a changed zone dropped. O(changes) when `catalog`
   * was derived from the last one synced with `Catalog.withZones`. Never throws for a bad zone.
   */
  sync(catalog: Catalog): NativeAnswersSync {
    const result: NativeAnswersSync = { served: 0, removed: 0, dropped: 0 };
    const prev = this.#catalog;
    if (prev === catalog) return result;
    const add: string[] = [];
    const remove: string[] = [];
    const drop: string[] = [];
    // The first catalog: every origin, as one buffer of keys (a snapshot's base gives its own).
    if (prev === undefined) {
      const all = catalog.originOctets();
      if (all.length > 0) result.served = this.#addon.imageServe(all);
    } else
      for (const c of diffCatalogs(prev, catalog)) {
        if (c.after === undefined) {
          remove.push(c.key);
          this.#installed.delete(c.key);
        } else if (c.before === undefined) add.push(c.key);
        else if (this.#installed.delete(c.key)) drop.push(c.key);
      }
    this.#catalog = catalog;
    if (remove.length > 0) result.removed = this.#addon.imageRemove(concatKeys(remove));
    if (drop.length > 0) result.dropped = this.#addon.imageRemove(concatKeys(drop), true);
    if (add.length > 0) result.served = this.#addon.imageServe(concatKeys(add));
    return result;
  }

  /**
   * Zones JS answers alone (an expired secondary zone: SERVFAIL, docs/TRANSFERS.md): their
   * images dropped and not installed again while held; the origins stay served, so C hands
   * their queries to JS. `keys`: the origin keys held now (replaces the last set).
   */
  hold(keys: ReadonlySet<string>): void {
    const drop: string[] = [];
    for (const k of keys) if (!this.#held.has(k)) drop.push(k);
    this.#held = new Set(keys);
    for (const k of drop) this.#installed.delete(k);
    if (drop.length > 0) this.#addon.imageRemove(concatKeys(drop), true);
  }

  /**
   * Installs the images of the zones C handed to JS for want of one (the addon's miss list,
   * and the lists the after-batch hook took): run after the batches JS answered. Cheap when
   * there are none (one addon call).
   */
  installMisses(): void {
    const taken = this.#pendingMisses;
    this.#pendingMisses = [];
    const now = this.#addon.imageMisses();
    if (now !== null) taken.push(now);
    for (const misses of taken) this.#install(misses);
  }

  #install(misses: Uint8Array): void {
    const catalog = this.#catalog;
    if (catalog === undefined) return;
    for (let at = 0; at < misses.length; ) {
      const start = at;
      // Whole names (the addon writes them so); bounded by the length all the same.
      while (at < misses.length && misses[at] !== 0) at += misses[at] + 1;
      if (at >= misses.length) break;
      at++;
      const key = String.fromCharCode(...misses.subarray(start, at));
      const zone = catalog.getKey(key);
      if (
        zone === undefined ||
        this.#failed.has(zone) ||
        this.#held.has(key) ||
        this.#installed.get(key) === zone
      )
        continue;
      try {
        // A signed zone's image holds no DNSSEC answers: JS answers it (docs/IMAGE.md). (Its
        // apex is read here: an image that cannot be opened throws, and is failed below.)
        if (isSignedZone(zone)) continue;
        const bytes =
          zone instanceof LazyImageZone
            ? zone.opened().image.bytes
            : zone instanceof ImageZone
              ? zone.image.bytes
              : this.#compileParsed(zone as Zone);
        // An image without templates (a staged zone's first stage, docs/IMAGE.md "Answer first,
        // templates after"): C could answer only its negative template's NXDOMAINs, and the
        // install's validation reads every page of it (~65 MiB for 1,000,000 records, beside
        // the compile of the full image). JS answers it; the full image is installed on its
        // first query once swapped in.
        if ((bytes[H.FLAGS] & 1) === 0) continue;
        this.#addon.imageInstall(bytes);
        this.#installed.set(key, zone);
        this.installs++;
      } catch (err) {
        // JS keeps answering this zone (a LazyImageZone that cannot be opened: SERVFAIL, and
        // its pool already logged why).
        this.#failed.add(zone);
        this.failures++;
        if (!(zone instanceof LazyImageZone)) this.#onFailed?.(`${zone.origin}: ${(err as Error).message}`);
      }
    }
  }

  /** The image of a parsed zone; throws when no compiler was given. */
  #compileParsed(zone: Zone): Uint8Array {
    if (this.#compile === undefined) throw new Error('a parsed zone, and no zone compiler loaded');
    return this.#compile(zone);
  }

  /** Images installed, origins served, octets referenced (read in place, not copied). */
  stats(): { zones: number; served: number; bytes: number; enabled: boolean } {
    return this.#addon.imageStats();
  }

  /** Turns the C answers off and frees every image. */
  close(): void {
    setAfterJsBatch(undefined);
    if (this.#installDue !== undefined) clearImmediate(this.#installDue);
    this.#installDue = undefined;
    this.#pendingMisses = [];
    this.#addon.imageConfigure(false, 1232);
    this.#addon.imageClear();
    this.#installed.clear();
    this.#failed = new WeakSet();
    this.#catalog = undefined;
  }
}

/**
 * The C answers of one worker when `--native-answers` is on (or `auto`, the default with
 * `--images on`) and the UDP path is native, else undefined (an explicit `on` that cannot run is
 * said once in the log). Call `sync` after every Catalog swap.
 */
export function startNativeAnswers(
  config: { nativeAnswers?: NativeAnswersMode; udpIo?: string; ednsSize?: number; nsid?: string },
  log: { info(m: string): void; warn(m: string): void },
  compile?: (zone: Zone) => Uint8Array,
): NativeAnswers | undefined {
  const mode = config.nativeAnswers;
  if (mode === undefined || mode === false) return undefined;
  // 'auto' (the default with --images on): on over the native path, silently off otherwise.
  if (mode === 'auto' && config.udpIo !== 'native') return undefined;
  if (config.udpIo !== 'native') {
    log.warn('--native-answers ignored: the UDP path is not native (--io)');
    return undefined;
  }
  const a = NativeAnswers.available();
  if (!a.ok) {
    log.warn(`--native-answers ignored: ${a.reason}`);
    return undefined;
  }
  // The same NSID octets as this worker's Responder (`{worker}` = its slot).
  const { nsid } = buildResponderOptions(config);
  return new NativeAnswers(a.addon, config.ednsSize ?? 1232, compile, nsid, (m) =>
    log.warn(`zone image not installed, JS answers it: ${m}`),
  );
}
