/**
 * dnsperf query files for the benchmarks' mixes. The random-subdomain mix is the 2016 "water
 * torture" traffic: every query a new random label under an existing zone (NXDOMAIN), so no
 * response cache can help. Files are deterministic from a seed and sized so that no name repeats
 * within a run (dnsperf loops over its file when it runs out).
 * @module
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { seededRandom } from '../test/helpers/prng.js';

/** The query mixes the dnsperf suites run. */
export type Mix = 'existing' | 'random' | 'mixed';

/** What each mix is, for tables and docs. */
export const MIX_DESCRIPTIONS: Record<Mix, string> = {
  existing:
    'existing-names mix: 60% A, 10% AAAA (existing names), 15% NXDOMAIN, 15% NODATA over a fixed set of names',
  random:
    'random-subdomain mix: every query A for a new random label under the zone (NXDOMAIN), no name repeated',
  mixed: 'half random-subdomain (new random label, NXDOMAIN), half A for an existing name',
};

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * The `i`-th random label of a file: 6 random characters, then `i` in base 36, then `-` and the
 * file's `tag`. The random part has a fixed length, so the rest names `i` and `tag` unambiguously:
 * labels are unique within a file and across files with different tags.
 */
export function randomLabel(rand: () => number, i: number, tag: string): string {
  let s = '';
  for (let k = 0; k < 6; k++) s += ALPHABET[Math.floor(rand() * 36)];
  return `${s}${i.toString(36)}-${tag}`;
}

/** Options of {@link randomQueryLines} and {@link writeRandomQueryFile}. */
export interface RandomQueryOptions {
  /** Lines to write. */
  count: number;
  /** PRNG seed: the same seed gives the same file. */
  seed: number;
  /** Short tag ([a-z0-9]) that makes this file's labels differ from every other file's. */
  tag: string;
  /** The zone the labels go under, absolute (`bench.test.`). */
  origin: string;
  /** Share (0..1) of lines that ask A for an existing name instead. Default 0. */
  existingFraction?: number;
  /** The existing names (relative to `origin`) to draw from when `existingFraction` > 0. */
  existingNames?: (i: number) => string;
  /** How many existing names there are. */
  existingCount?: number;
}

/** The lines of a random-subdomain query file (`name. A` each), generated lazily. */
export function* randomQueryLines(o: RandomQueryOptions): Generator<string> {
  if (!/^[a-z0-9]{1,8}$/.test(o.tag)) throw new Error(`bad tag '${o.tag}': 1 to 8 of [a-z0-9]`);
  const origin = o.origin.endsWith('.') ? o.origin : `${o.origin}.`;
  const rand = seededRandom(o.seed);
  const share = o.existingFraction ?? 0;
  if (share > 0 && (!o.existingNames || !o.existingCount))
    throw new Error('existingFraction needs existingNames');
  for (let i = 0; i < o.count; i++) {
    if (share > 0 && rand() < share) {
      const n = Math.floor(rand() * (o.existingCount ?? 1));
      yield `${o.existingNames?.(n)}.${origin} A`;
    } else {
      yield `${randomLabel(rand, i, o.tag)}.${origin} A`;
    }
  }
}

/** Writes a random-subdomain query file (streamed in 1 MiB chunks); returns the line count. */
export function writeRandomQueryFile(file: string, o: RandomQueryOptions): number {
  const fd = openSync(file, 'w');
  let chunk = '';
  let n = 0;
  try {
    for (const line of randomQueryLines(o)) {
      chunk += `${line}\n`;
      n++;
      if (chunk.length > 1 << 20) {
        writeSync(fd, chunk);
        chunk = '';
      }
    }
    writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
  return n;
}

/**
 * How many names a run needs so that none repeats: `seconds` × `expectedQps` with 30% to spare,
 * at least 10,000 and at most `cap` (a bound on the file's size: ~40 bytes a line).
 */
export function namesNeeded(seconds: number, expectedQps: number, cap = 4_000_000): number {
  if (!(seconds > 0) || !(expectedQps > 0)) throw new Error('seconds and expectedQps must be > 0');
  return Math.min(cap, Math.max(10_000, Math.ceil(seconds * expectedQps * 1.3)));
}

/**
 * A query for `wireName` (the name's wire octets as a latin1 string, root label included) with
 * RD set and an OPT (1232, no options): the in-process benches' queries (image, image-responder).
 */
export function ednsQuery(wireName: string, qtype: number, id: number): Uint8Array {
  const out = new Uint8Array(12 + wireName.length + 4 + 11);
  out[0] = id >> 8;
  out[1] = id & 0xff;
  out[2] = 1;
  out[5] = 1;
  out[11] = 1;
  let p = 12;
  for (let i = 0; i < wireName.length; i++) out[p++] = wireName.charCodeAt(i);
  out[p++] = qtype >> 8;
  out[p++] = qtype & 0xff;
  out[p++] = 0;
  out[p++] = 1;
  p += 2;
  out[p++] = 41;
  out[p++] = 0x04;
  out[p++] = 0xd0;
  return out;
}
