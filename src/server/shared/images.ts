/**
 * `--images on`: zones are compiled once by the primary (compile-pool.ts), stored in image
 * packs (src/image pack files, one set per primary) and shipped to the DNS workers as
 * references; a worker maps the image and serves it (no zone text parsed in workers), opening
 * each zone's image on the zone's first query. This module holds what the primaries and
 * workers of `serve` and `start` share: the flag, the pack types, and a worker's image loader
 * (refs → `LazyImageZone`s in one bounded `ImageZonePool`).
 * @module
 */
import { type ImageRef, PackReader, PackWriter } from '../../image/pack.js';
import {
  DEFAULT_OPEN_NODES,
  DEFAULT_OPEN_ZONES,
  EAGER_OPEN_BYTES,
  ImageZonePool,
  type ImageZonePoolOptions,
  LazyImageZone,
} from '../../image/zone-view.js';
import { Name } from '../../wire/name.js';
import type { ServedZone } from '../../zone/zone.js';
import { ConfigError } from './options.js';

export { type ImageRef, PackReader, PackWriter };

/** The environment variable giving the default of `--images` (tests run both ways with it). */
export const IMAGES_ENV = 'SWITCHBOARD_IMAGES';

/**
 * Validates `--images on|off` (absent: SWITCHBOARD_IMAGES, else on).
 * @throws ConfigError for anything else
 */
export function parseImages(
  value: string | boolean | undefined,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (value === true) return true;
  if (value === false) return false;
  const v = value ?? env[IMAGES_ENV] ?? 'on';
  if (v === 'on' || v === '1') return true;
  if (v === 'off' || v === '0') return false;
  if (v === '') return true;
  const from = value === undefined ? IMAGES_ENV : '--images';
  throw new ConfigError(`${from} must be on or off, got '${v}'`);
}

/** How a worker counts what it loaded (reported to the primary; tests assert on it). */
export interface LoadCounters {
  /** Zone texts parsed in this worker (0 with images on). */
  textParses: number;
  /** Image refs taken from the primary (each opened on its zone's first query, or at once when big). */
  imageOpens: number;
  /** Of those, images opened (validated) so far. */
  imagesOpened?: number;
  /**
   * Of the images opened, those whose octets were checked against their pack's CRC-32 (a
   * snapshot marked `trusted` opens its big images without: docs/IMAGE.md).
   */
  crcChecked?: number;
  /**
   * Of the images opened, those opened when their push arrived trusting the primary (`trusted`:
   * a big delta image, or a big image of a snapshot marked `trusted`): header and section
   * table checked, neither a CRC-32 nor the full validation.
   */
  trustedOpens?: number;
  /** With images: whether the packs are memory-mapped (shared by the workers) or read as copies. */
  mapped?: boolean;
  /** Milliseconds from the snapshot's first message to the worker serving it (when reported at start). */
  snapshotMs?: number;
  /** Milliseconds from the worker's process start to it serving (when reported at start). */
  readyMs?: number;
}

/**
 * `… zone images mapped, … opened (packs mapped), … zone texts parsed`: the line a primary logs
 * per worker ("mapped": refs taken, whose images open on their zone's first query).
 */
export function formatLoads(loads: LoadCounters): string {
  const how = loads.mapped === undefined ? '' : loads.mapped ? ' (packs mapped)' : ' (packs read as copies)';
  const opened = loads.imagesOpened === undefined ? '' : `, ${loads.imagesOpened} opened`;
  const took =
    loads.snapshotMs === undefined
      ? ''
      : ` (snapshot applied in ${loads.snapshotMs} ms; serving ${loads.readyMs ?? '?'} ms after the worker started)`;
  const crc = loads.crcChecked === undefined ? '' : `, ${loads.crcChecked} images checked by CRC-32`;
  const trusted = loads.trustedOpens === undefined ? '' : `, ${loads.trustedOpens} opened trusted`;
  return `${loads.imageOpens} zone images mapped${opened}${how}, ${loads.textParses} zone texts parsed${crc}${trusted}${took}`;
}

/** The environment variables bounding a worker's open images (`ImageZonePool`). */
export const OPEN_ZONES_ENV = 'SWITCHBOARD_OPEN_ZONES';
export const OPEN_NODES_ENV = 'SWITCHBOARD_OPEN_NODES';

/**
 * The bounds of a worker's open images: SWITCHBOARD_OPEN_ZONES (ImageZones open at once,
 * default 16,384) and SWITCHBOARD_OPEN_NODES (nodes they cache together, default 65,536).
 * @throws ConfigError when one is not a whole number (at least 1 for zones)
 */
export function openImageLimits(env: NodeJS.ProcessEnv = process.env): {
  maxZones: number;
  maxNodes: number;
} {
  const read = (name: string, def: number, min: number): number => {
    const v = env[name];
    if (v === undefined || v === '') return def;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < min)
      throw new ConfigError(`${name} must be a whole number of at least ${min}, got '${v}'`);
    return n;
  };
  return {
    maxZones: read(OPEN_ZONES_ENV, DEFAULT_OPEN_ZONES, 1),
    maxNodes: read(OPEN_NODES_ENV, DEFAULT_OPEN_NODES, 0),
  };
}

/** A worker's loader of pushed images and the pool of the zones it opened. */
export interface ImageZoneLoader {
  /** The ZonePushLoader (start/zones.ts): a zone whose image opens on first query. */
  load(push: { name: string; ref?: ImageRef }): ServedZone;
  /** What to give ServedZoneTable as `release`: closes a zone no longer served. */
  release(zone: ServedZone): void;
  /**
   * What to give ServedZoneTable as `deferred`: a snapshot file's zones of small images made on
   * their first use (a big image is opened at apply, where a bad one is refused).
   */
  deferred: {
    canDefer(length: number): boolean;
    make(push: { name: string; ref?: ImageRef }): ServedZone;
    taken(n: number): void;
    readonly images: true;
  };
  pool: ImageZonePool;
}

/**
 * The image loader of a DNS worker (`--images on`): each pushed ref becomes a `LazyImageZone`
 * (opened on its zone's first query, or at once when big: a bad big image is then refused
 * here and the previous version kept), all in one bounded `ImageZonePool`. Counts refs taken
 * in `counters.imageOpens` (`counters.imagesOpened`: `pool.firstOpens` when last counted).
 */
export function imageZoneLoader(
  reader: PackReader,
  counters: LoadCounters,
  opts: ImageZonePoolOptions = {},
): ImageZoneLoader {
  counters.mapped = reader.mapped;
  counters.imagesOpened = 0;
  counters.trustedOpens = 0;
  const pool = new ImageZonePool((ref) => reader.open(ref), {
    verified: (ref, bytes) => reader.verified(ref, bytes),
    ...opts,
  });
  const make = (push: { name: string; ref?: ImageRef; trusted?: boolean }): LazyImageZone => {
    if (!push.ref) throw new Error('no image reference in this push (--images on)');
    const zone = pool.zone(originOf(push.name), push.ref, false, push.trusted === true);
    // A big image opens here, at once: trusted, without its CRC-32 or the full validation.
    if (push.trusted === true && zone.isOpen) counters.trustedOpens = (counters.trustedOpens ?? 0) + 1;
    return zone;
  };
  return {
    pool,
    load(push) {
      const zone = make(push);
      counters.imageOpens++;
      counters.imagesOpened = pool.firstOpens;
      return zone;
    },
    deferred: {
      canDefer: (length) => length < EAGER_OPEN_BYTES,
      make,
      taken(n) {
        counters.imageOpens += n;
      },
      images: true,
    },
    release(zone) {
      if (zone instanceof LazyImageZone) zone.close();
    },
  };
}

/** Scratch for `originOf`: a name's wire form is at most 255 octets. */
const nameScratch = Buffer.allocUnsafe(256);

/**
 * `Name.parse(text)` for a zone name of a push (absolute, presentation form), for less: a
 * plain name (printable ASCII labels, no escapes) is written into its wire form in one pass
 * and made one flat string, where `Name.parse` builds a string per character and a label
 * array (100,000 zones in a snapshot: garbage that made most of a worker's apply time).
 * Anything else (escapes, the root, an empty or long label) goes to `Name.parse`, so the
 * result and the errors are always its.
 */
export function originOf(text: string): Name {
  const n = text.length;
  if (n < 2 || n > 254 || text.charCodeAt(n - 1) !== 0x2e) return Name.parse(text);
  const wire = nameScratch;
  let start = 0; // where the current label starts in `text`; its length octet is wire[start]
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      const len = i - start;
      if (len === 0 || len > 63) return Name.parse(text);
      wire[start] = len;
      start = i + 1;
    } else if (c <= 0x20 || c >= 0x7f || c === 0x5c) return Name.parse(text);
    else wire[i + 1] = c;
  }
  wire[n] = 0;
  return Name.fromWire(wire.toString('latin1', 0, n + 1));
}

/** Narrows a value from IPC to an ImageRef. */
export function isImageRef(v: unknown): v is ImageRef {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Partial<ImageRef>;
  return (
    typeof r.pack === 'string' &&
    Number.isInteger(r.offset) &&
    Number.isInteger(r.length) &&
    (r.offset as number) >= 0 &&
    (r.length as number) > 0
  );
}

export { collectGarbage } from './gc.js';
