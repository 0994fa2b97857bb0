/**
 * `--images on`: zones are compiled once by the primary (compile-pool.ts), stored in image
 * packs (src/image pack files, one set per primary) and shipped to the DNS workers as
 * references; a worker maps the image and serves it (no zone text parsed in workers). This
 * module holds what the primaries and workers of `serve` and `start` share: the flag, the
 * pack types, and opening a shipped image as a servable Zone.
 * @module
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type ImageRef, PackReader, PackWriter } from '../../image/pack.js';
import { openImage } from '../../image/reader.js';
import { ImageZone } from '../../image/zone-view.js';
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
  /** Images opened from packs. */
  imageOpens: number;
  /** With images: whether the packs are memory-mapped (shared by the workers) or read as copies. */
  mapped?: boolean;
}

/** `… zone images opened (packs mapped), … zone texts parsed`: the line a primary logs per worker. */
export function formatLoads(loads: LoadCounters): string {
  const how = loads.mapped === undefined ? '' : loads.mapped ? ' (packs mapped)' : ' (packs read as copies)';
  return `${loads.imageOpens} zone images opened${how}, ${loads.textParses} zone texts parsed`;
}

/**
 * Opens a shipped image as a Zone the Catalog and Responder serve.
 * @throws ImageFormatError when the bytes are not a valid image; an Error when the pack cannot be read
 */
export function openShippedZone(reader: PackReader, ref: ImageRef, counters?: LoadCounters): ServedZone {
  const image = openImage(reader.open(ref));
  if (counters) counters.imageOpens++;
  return new ImageZone(image);
}

/** A worker's loader of pushed images (ZonePushLoader of start/zones.ts): counts in `counters`. */
export function imageZoneLoader(
  reader: PackReader,
  counters: LoadCounters,
): (push: { ref?: ImageRef }) => ServedZone {
  counters.mapped = reader.mapped;
  return (push) => {
    if (!push.ref) throw new Error('no image reference in this push (--images on)');
    return openShippedZone(reader, push.ref, counters);
  };
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

let fullGc: (() => void) | null | undefined;

/**
 * Runs one full garbage collection, if the runtime allows it. The primary calls it after a
 * cold start (and after big reloads): compiling 100,000 zones leaves ~170 MB of image batches
 * and ~90 MB of heap behind as garbage, which V8 keeps until the next major GC — and an idle
 * primary allocates too little to trigger one, so that memory stayed resident (measured: 452 MB
 * RSS 20 s after the start, 84 MB heap live after one full GC). One pause of tens of ms.
 */
export function collectGarbage(): void {
  if (fullGc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      fullGc = runInNewContext('gc') as () => void;
    } catch {
      fullGc = null;
    }
  }
  fullGc?.();
}
