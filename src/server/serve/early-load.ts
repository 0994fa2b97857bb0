/**
 * The early start of a big zone file's load (issue 7, docs/IMAGE.md "The start-up order of a
 * big zone file"): `switchboard serve` looks at its zone folder before it loads the serve
 * primary's modules (~0.25 s of CPU: configuration, packs, listeners, shield, transfers) and,
 * when the folder's one zone file is big, starts the compile thread that will compile it at
 * once (compile-pool.ts `startEarlyCompileThread`): the thread reads and parses the file while
 * the primary loads, and the primary's compile pool takes that thread as its first. Light on
 * purpose: this module and what it imports are all the CLI loads before the thread starts.
 * @module
 */
import { type Dir, opendirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startEarlyCompileThread } from '../shared/compile-pool.js';
import { isZoneFileName } from './zone-dir.js';

/** The environment variable naming the image cache's folder (image-cache.ts; unset: no cache). */
export const IMAGE_CACHE_ENV = 'SWITCHBOARD_IMAGE_CACHE';

/** A folder of at most this many entries is looked at for a big zone file. */
const BIG_FILE_LOOK = 64;
/**
 * `PARSE_THREAD_TEXT` of src/zone/load.ts (the primary loads no zone code), from which a zone
 * file's parse runs in a thread of its own and the compile thread says 'compiling'.
 */
export const BIG_FILE = 8 << 20;

/**
 * What the zone folder (of at most `BIG_FILE_LOOK` entries: a big zone is served alone or with
 * a few others) holds: whether a `.zone` file of `BIG_FILE` octets or more is there (its load
 * runs on two threads, docs/IMAGE.md "Big zones"), and its path when it is the only zone file.
 * Nothing when the folder cannot be read (the load says why).
 */
export function bigZoneFile(zoneDir: string): { big: boolean; only?: string } {
  let dir: Dir | undefined;
  let big = false;
  let only: string | undefined;
  let files = 0;
  try {
    dir = opendirSync(zoneDir);
    for (let i = 0; i < BIG_FILE_LOOK; i++) {
      const e = dir.readSync();
      if (e === null) return { big, only: files === 1 ? only : undefined };
      if (!isZoneFileName(e.name)) continue;
      files++;
      const path = join(zoneDir, e.name);
      if (statSync(path).size >= BIG_FILE) {
        big = true;
        only = path;
      }
    }
    return { big };
  } catch {
    return { big };
  } finally {
    dir?.closeSync();
  }
}

/** The options of `serve` this looks at, as the command line gave them. */
export interface EarlyLoadOptions {
  zoneDir?: string;
  images?: string | boolean;
  workers?: string | number;
}

/**
 * Starts the compile thread of the zone folder's big file now, before the serve primary is
 * loaded, when the options leave no doubt that `serve --images on` with workers will compile
 * it (no image cache: a warm start compiles nothing). Whatever it decides, the result is the
 * same: a thread not taken by the primary holds nothing up (unref'd), a file changed meanwhile
 * is read again by its job. True when started.
 */
export function startEarlyLoad(
  opts: EarlyLoadOptions,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): boolean {
  const images = opts.images ?? env.SWITCHBOARD_IMAGES ?? 'on';
  if (!(images === true || images === 'on' || images === '1' || images === '')) return false;
  if (opts.workers !== undefined && !/^0*[1-9]\d*$/.test(String(opts.workers))) return false;
  if (env[IMAGE_CACHE_ENV] || env.SWITCHBOARD_PARSE_THREAD === 'off' || !opts.zoneDir) return false;
  // A/B runs: the start as before this (the thread started by the primary, the file read by its job).
  if (env.SWITCHBOARD_EARLY_LOAD === 'off') return false;
  const { only } = bigZoneFile(resolve(cwd, opts.zoneDir));
  if (only === undefined) return false;
  try {
    startEarlyCompileThread(only);
  } catch {
    return false;
  }
  return true;
}
