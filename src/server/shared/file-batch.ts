/**
 * Zone files read many at a time by the native addon (`readFiles`, native/readfiles.c): one
 * call opens, stats, reads and closes a batch of files into one reused buffer, where Node's fs
 * costs four calls per file, each with a request object (and a Stats object for the fstat).
 * For 100,000 10-record zone files that overhead was about half the CPU time of reading them
 * (docs/PERFORMANCE.md). The compile threads use it for their file jobs; without the addon
 * (not built, or SWITCHBOARD_NATIVE_READ=0) they read each file with Node's fs as before.
 *
 * The outcome per file is the one `readZoneFile` (compile-thread.ts) gives, with the same
 * fingerprint: the stat's times are turned into milliseconds with the arithmetic of Node's
 * Stats (`sec * 1e3 + nsec / 1e6`), so a fingerprint taken here equals one from `statSync`.
 * Anything unusual (an open or read error, a file larger than the buffer) is left to the
 * caller's own read (`undefined` here), which then reports the error with Node's message.
 * @module
 */
import { createRequire } from 'node:module';
import { nativeAddonPath } from '../../transport/native-udp.js';

/** A zone file as read (or skipped) here: one of `readZoneFile`'s outcomes (no error: see above). */
export type NativeFileRead = { skip: 'absent' | 'unchanged' } | { text: string; sig: string };

/** The environment variable that turns the native read off (`0`). */
export const NATIVE_READ_ENV = 'SWITCHBOARD_NATIVE_READ';

interface ReadFilesAddon {
  readFiles(
    paths: readonly string[],
    from: number,
    statOnly: Uint8Array,
    into: Uint8Array,
    meta: Float64Array,
  ): number;
}

/** Doubles per path in `meta` (native/readfiles.c). */
const FIELDS = 9;
const RF_READ = 0;
const RF_ABSENT = 1;
const RF_STAT = 2;

/** The buffer the files of a batch are read into (a file larger than this is read by fs). */
const BUFFER_BYTES = 1 << 20;

let addon: ReadFilesAddon | false | undefined;
let buffer: Buffer | undefined;

function loadAddon(): ReadFilesAddon | false {
  if (addon !== undefined) return addon;
  addon = false;
  if (process.env[NATIVE_READ_ENV] === '0' || process.platform !== 'linux') return addon;
  try {
    const a = createRequire(import.meta.url)(nativeAddonPath()) as Partial<ReadFilesAddon>;
    if (typeof a.readFiles === 'function') addon = a as ReadFilesAddon;
  } catch {
    // not built or not loadable: Node's fs reads the files
  }
  return addon;
}

/** Whether this process reads zone files with the addon. */
export function nativeReadAvailable(): boolean {
  return loadAddon() !== false;
}

/** A fingerprint as `fileSignature` makes it from Stats: size, mtimeMs, ino, ctimeMs. */
function signature(meta: Float64Array, at: number): string {
  const mtimeMs = meta[at + 4] * 1e3 + meta[at + 5] / 1e6;
  const ctimeMs = meta[at + 7] * 1e3 + meta[at + 8] / 1e6;
  return `${meta[at + 3]}:${mtimeMs}:${meta[at + 6]}:${ctimeMs}`;
}

/**
 * Reads `paths` as `readZoneFile(paths[i], sigs[i] || undefined)` would: a path with a
 * fingerprint is only stat'ed, and is `unchanged` when it still has it. Returns one entry per
 * path, `undefined` where the caller must read the file itself (an error, a large file, or a
 * changed fingerprint), or `undefined` as a whole when the addon is not available.
 */
export function readZoneFilesNative(
  paths: readonly string[],
  sigs: readonly string[],
): (NativeFileRead | undefined)[] | undefined {
  const a = loadAddon();
  if (a === false) return undefined;
  const n = paths.length;
  const out: (NativeFileRead | undefined)[] = new Array(n).fill(undefined);
  const statOnly = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (sigs[i]) statOnly[i] = 1;
  const meta = new Float64Array(n * FIELDS);
  buffer ??= Buffer.allocUnsafe(BUFFER_BYTES);
  const buf = buffer;
  let from = 0;
  while (from < n) {
    const to = a.readFiles(paths, from, statOnly, buf, meta);
    for (let i = from; i < to; i++) {
      const at = i * FIELDS;
      const status = meta[at];
      if (status === RF_READ) {
        const start = meta[at + 2];
        out[i] = { text: buf.toString('latin1', start, start + meta[at + 3]), sig: signature(meta, at) };
      } else if (status === RF_ABSENT) out[i] = { skip: 'absent' };
      else if (status === RF_STAT) {
        // Unchanged: skipped. Changed: the caller reads it (a fresh fingerprint with the octets).
        if (signature(meta, at) === sigs[i]) out[i] = { skip: 'unchanged' };
      }
      // RF_FALLBACK: left undefined
    }
    // `to` never stays at `from` (a file too large even for an empty buffer is a fallback),
    // but a loop must not spin on a surprise.
    if (to <= from) break;
    from = to;
  }
  return out;
}
