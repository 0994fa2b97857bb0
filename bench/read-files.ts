/**
 * Reading a folder of zone files the way a compile thread does (issue 7 cold start): with the
 * native addon's `readFiles` (`readZoneFilesNative`, a batch of 128 per call) and with Node's fs
 * (`readZoneFile`, four calls per file), alternated in one process; then the stat-only pass of a
 * start whose files did not change (the image cache, a SIGHUP reload). CPU time (user and
 * system), medians.
 *
 *   node dist/bench/read-files.js [--dir DIR] [--zones 100000] [--rounds 5]
 *
 * DIR (default: a temp folder of `--zones` many-zones files, removed at the end) is only read.
 * @module
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readZoneFile } from '../src/server/shared/compile-thread.js';
import { nativeReadAvailable, readZoneFilesNative } from '../src/server/shared/file-batch.js';
import { writeManyZones } from './many-zones.js';
import { cpuMillis, median } from './stats.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const BATCH = 128;
const rounds = Number(arg('rounds') ?? 5);
let dir = arg('dir');
let made: string | undefined;
if (dir === undefined) {
  made = mkdtempSync(join(tmpdir(), 'sb-bench-read-'));
  dir = join(made, 'zones');
  writeManyZones(dir, Number(arg('zones') ?? 100_000));
}
try {
  if (!nativeReadAvailable()) throw new Error('the native addon is not built (npm run build:native)');
  const root = dir;
  const paths = readdirSync(root)
    .filter((n) => n.endsWith('.zone'))
    .sort()
    .map((n) => join(root, n));
  const none = paths.map(() => '');
  const sigs = paths.map((p) => {
    const r = readZoneFile(p);
    return 'sig' in r && r.sig !== undefined ? r.sig : '';
  });
  const time = (run: () => void): number => {
    const c0 = cpuMillis();
    run();
    return cpuMillis() - c0;
  };
  const native = (want: string[]) => () => {
    for (let i = 0; i < paths.length; i += BATCH)
      readZoneFilesNative(paths.slice(i, i + BATCH), want.slice(i, i + BATCH));
  };
  const fs = (want: string[]) => () => {
    for (let i = 0; i < paths.length; i++) readZoneFile(paths[i], want[i] || undefined);
  };
  const f = {
    nativeRead: [] as number[],
    fsRead: [] as number[],
    nativeStat: [] as number[],
    fsStat: [] as number[],
  };
  for (let r = 0; r < rounds; r++) {
    f.nativeRead.push(time(native(none)));
    f.fsRead.push(time(fs(none)));
    f.nativeStat.push(time(native(sigs)));
    f.fsStat.push(time(fs(sigs)));
    console.log(
      `round ${r + 1}: read native ${Math.round(f.nativeRead[r])} ms, fs ${Math.round(f.fsRead[r])} ms; ` +
        `stat only native ${Math.round(f.nativeStat[r])} ms, fs ${Math.round(f.fsStat[r])} ms (CPU)`,
    );
  }
  const m = (v: number[]) => Math.round(median(v));
  console.log(
    `${paths.length} files, medians of ${rounds}: read native ${m(f.nativeRead)} ms CPU vs fs ${m(f.fsRead)} ms ` +
      `(${(median(f.nativeRead) / median(f.fsRead)).toFixed(2)}x); stat only native ${m(f.nativeStat)} vs fs ${m(f.fsStat)} ms ` +
      `(${(median(f.nativeStat) / median(f.fsStat)).toFixed(2)}x)`,
  );
} finally {
  if (made) rmSync(made, { recursive: true, force: true });
}
