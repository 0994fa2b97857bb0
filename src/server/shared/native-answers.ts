/**
 * Answers in C from compiled zone images (`--native-answers`, native/image.c): keeps the
 * addon's per-thread table of images in step with the Catalog a worker serves. Each zone is
 * compiled (src/image `compileZone`) when it first appears or when its Zone object changes,
 * and installed in the addon, which validates it and reads it in place (it holds a reference
 * to the bytes until the image is replaced or removed); zones that left the Catalog are
 * removed. The batch loop runs on this same thread, so an install or removal happens between
 * two batches, never under one.
 *
 * Memory: images sit beside the JS zones (about the size of the zone's wire data plus its
 * templates); `stats().bytes` says how much.
 * @module
 */
import type { Catalog } from '../../answer/catalog.js';
import { compileZone } from '../../image/compile.js';
import { ImageZone, LazyImageZone } from '../../image/zone-view.js';
import { type NativeUdpAddon, nativeUdpStatus } from '../../transport/native-udp.js';
import type { ServedZone, Zone } from '../../zone/zone.js';
import { buildResponderOptions } from './options.js';

/** The case-folded wire form of a zone's origin (as images store it). */
function foldedOrigin(zone: ServedZone): Uint8Array {
  const w = zone.origin.wire;
  const out = new Uint8Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const c = w.charCodeAt(i);
    out[i] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
  }
  return out;
}

/** A name's key and the keys of every ancestor (keys are case-folded wire names). */
function ancestorKeys(key: string): string[] {
  const out = [key];
  for (let i = 0; i < key.length - 1; ) {
    i += key.charCodeAt(i) + 1;
    out.push(key.slice(i));
  }
  return out;
}

export interface NativeAnswersSync {
  installed: number;
  removed: number;
  /** Zones whose image could not be compiled or installed: answered by JS. */
  failed: string[];
}

/** Installs and replaces the images of a worker's zones in the native addon. */
export class NativeAnswers {
  readonly #addon: NativeUdpAddon;
  readonly #installed = new Map<string, { zone: ServedZone; origin: Uint8Array }>();
  /** Zones whose image failed, by origin key: not compiled again until their Zone changes. */
  readonly #failed = new Map<string, ServedZone>();
  readonly #compile: (zone: Zone) => Uint8Array;

  /** Turns the C answers on with the Responder's EDNS size and NSID (`compile`: for tests). */
  constructor(
    addon: NativeUdpAddon,
    ednsSize = 1232,
    compile: (zone: Zone) => Uint8Array = compileZone,
    nsid?: Uint8Array,
  ) {
    this.#addon = addon;
    this.#compile = compile;
    addon.imageClear();
    addon.imageConfigure(true, ednsSize, nsid);
  }

  /** The addon when it loaded, else why not. */
  static available(): { ok: true; addon: NativeUdpAddon } | { ok: false; reason: string } {
    const s = nativeUdpStatus();
    return s.ok ? { ok: true, addon: s.addon } : { ok: false, reason: s.reason };
  }

  /**
   * Brings the addon's images in step with `catalog`. Never throws for a bad zone. A zone
   * without an image is answered by JS; so are the zones above it (C picks the longest origin
   * that HAS an image, so a parent's image would otherwise answer for the child's names).
   */
  sync(catalog: Catalog): NativeAnswersSync {
    const result: NativeAnswersSync = { installed: 0, removed: 0, failed: [] };
    const want = new Map<string, ServedZone>();
    for (const zone of catalog.zones) want.set(zone.origin.key, zone);
    for (const [key, zone] of this.#failed) if (want.get(key) !== zone) this.#failed.delete(key);
    // Origins kept out of C: the failed zones and every served zone above one of them.
    const blocked = new Set<string>();
    const block = (key: string) => {
      for (const up of ancestorKeys(key)) blocked.add(up);
    };
    for (const key of this.#failed.keys()) block(key);
    for (const [key, zone] of want) {
      if (blocked.has(key) || this.#installed.get(key)?.zone === zone) continue;
      try {
        // An ImageZone already is an image (issue 7): install its bytes as they are; a zone
        // opened on first query (LazyImageZone) hands its stored octets unopened (C validates).
        const image =
          zone instanceof ImageZone
            ? zone.image.bytes
            : zone instanceof LazyImageZone
              ? zone.bytes()
              : this.#compile(zone as Zone);
        this.#addon.imageInstall(image);
        this.#installed.set(key, { zone, origin: foldedOrigin(zone) });
        result.installed++;
      } catch (err) {
        this.#failed.set(key, zone);
        block(key);
        result.failed.push(`${zone.origin}: ${(err as Error).message}`);
      }
    }
    for (const [key, entry] of this.#installed) {
      if (want.get(key) === entry.zone && !blocked.has(key)) continue;
      this.#addon.imageRemove(entry.origin);
      this.#installed.delete(key);
      if (!want.has(key)) result.removed++;
    }
    return result;
  }

  /** Images installed and their octets (read in place by the addon, not copied). */
  stats(): { zones: number; bytes: number; enabled: boolean } {
    return this.#addon.imageStats();
  }

  /** Turns the C answers off and frees every image. */
  close(): void {
    this.#addon.imageConfigure(false, 1232);
    this.#addon.imageClear();
    this.#installed.clear();
    this.#failed.clear();
  }
}

/**
 * The C answers of one worker when `--native-answers` is on and the UDP path is native, else
 * undefined (said once in the log). Call `sync` after every Catalog swap.
 */
export function startNativeAnswers(
  config: { nativeAnswers?: boolean; udpIo?: string; ednsSize?: number; nsid?: string },
  log: { info(m: string): void; warn(m: string): void },
): NativeAnswers | undefined {
  if (config.nativeAnswers !== true) return undefined;
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
  return new NativeAnswers(a.addon, config.ednsSize ?? 1232, compileZone, nsid);
}
