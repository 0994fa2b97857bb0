/**
 * Side-by-side compile benchmark (issue 7): this checkout's compiler against another
 * checkout's build (`--baseline DIR`, a worktree whose `dist/` is built), interleaved in one
 * process so both see the same machine load — on a shared machine a ratio measured this way
 * is far steadier than two runs' figures. Three workloads, each timed by process CPU (user +
 * system), medians and minimums of `--runs`, the order alternating per run:
 *
 * - `Zone.build` and `checkZone` over `--zones` small zones (bench/many-zones.ts's 10-record
 *   text, each side parsing it with its own parser, untimed), µs/zone;
 * - `compileZone` over the same zones, µs/zone, each image written into one reused buffer
 *   (the compile thread's arena does that: no ArrayBuffer per image), the images compared
 *   octet for octet;
 * - the compile thread's `runBatch` over the same texts (128 text jobs a batch: parse,
 *   compile, the columns posted back), µs/zone;
 * - `loadZoneTextColumns` of the `--records`-record zone (bench/zone-load.ts's generator), and
 *   `compileZone` of the columns it made (each side its own), µs/record; the images are
 *   compared octet for octet. For the load also its wall time and the CPU of the calling
 *   thread alone (a side that parses in a second thread, src/zone/parse-thread.ts, spends
 *   process CPU in both).
 *
 *   node --expose-gc dist/bench/compile-ab.js --baseline /work/main [--zones N] [--records N] [--runs N]
 * @module
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CompilableZone, CompileOptions } from '../src/image/compile.js';
import type { CompileBatch, CompileBatchRequest } from '../src/server/shared/compile-pool.js';
import type { RR } from '../src/wire/message.js';
import type { Name } from '../src/wire/name.js';
import type { ParsedZone } from '../src/zone/parser.js';
import type { Zone } from '../src/zone/zone.js';
import { manyZoneOrigin, manyZoneText } from './many-zones.js';
import { median } from './stats.js';
import { BIG_ORIGIN, generateBigZone } from './zone-load.js';

interface Side {
  label: string;
  compileZone: (zone: CompilableZone, opts?: CompileOptions) => Uint8Array;
  parseZone: (text: string, opts: { origin: string; octets: boolean }) => ParsedZone;
  build: (origin: Name, records: RR[], cls: number) => Zone;
  checkZone: (zone: Zone, records: RR[]) => unknown[];
  runBatch: (req: CompileBatchRequest) => { batch: CompileBatch };
  loadZoneText: (text: string, opts: { origin: string; octets: boolean }) => { zone: Zone };
  loadZoneTextColumns: (text: string, opts: { origin: string; octets: boolean }) => { zone: CompilableZone };
}

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

async function side(label: string, dist: string): Promise<Side> {
  const load = (p: string) => import(pathToFileURL(join(dist, p)).href);
  const compile = await load('src/image/compile.js');
  const thread = await load('src/server/shared/compile-thread.js');
  const zone = await load('src/zone/load.js');
  const parser = await load('src/zone/parser.js');
  const built = await load('src/zone/zone.js');
  const check = await load('src/zone/check.js');
  return {
    label,
    compileZone: compile.compileZone,
    parseZone: parser.parseZone,
    build: (origin, records, cls) => built.Zone.build(origin, records, cls),
    checkZone: check.checkZone,
    runBatch: thread.runBatch,
    loadZoneText: zone.loadZoneText,
    loadZoneTextColumns: zone.loadZoneTextColumns,
  };
}

const gc = (globalThis as { gc?: () => void }).gc;

/** CPU of this (the main) thread in µs, from /proc (10 ms ticks); 0 where there is no /proc. */
function threadCpuMicros(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10_000;
  } catch {
    return 0;
  }
}
function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/**
 * Runs `work(k)` for both sides `runs` times, alternating the order; returns µs per unit.
 * After each forced collection the run waits for V8's background threads to finish sweeping:
 * process CPU counts them, and a full collection of a heap of 20,000 Zones left ~10 µs a zone
 * of their work in the run that followed it.
 */
async function interleave(runs: number, units: number, work: (k: number) => void): Promise<number[][]> {
  const out: number[][] = [[], []];
  for (let r = 0; r < runs; r++)
    for (const k of r % 2 === 0 ? [0, 1] : [1, 0]) {
      gc?.();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const c = cpuMicros();
      work(k);
      out[k].push((cpuMicros() - c) / units);
    }
  return out;
}

function report(what: string, unit: string, sides: Side[], res: number[][]): void {
  const fmt = (a: number[]) => `median ${median(a).toFixed(2)}, min ${Math.min(...a).toFixed(2)}`;
  console.log(
    `${what}: ${sides[0].label} ${fmt(res[0])} | ${sides[1].label} ${fmt(res[1])} ${unit}; ratio of medians ${(median(res[1]) / median(res[0])).toFixed(2)}`,
  );
}

const baseline = arg('baseline', '');
if (baseline === '') throw new Error('--baseline DIR (a checkout with a built dist/) is required');
const zones = Number(arg('zones', '10000'));
const records = Number(arg('records', '200000'));
const runs = Number(arg('runs', '6'));
const here = resolve(new URL('..', import.meta.url).pathname);
const sides = [await side('baseline', join(resolve(baseline), 'dist')), await side('this', here)];
console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')} (2 cores shared: figures are noisy; the ratio is the figure to read)`,
);

if (zones > 0) {
  const texts: { origin: string; text: string }[] = [];
  for (let i = 0; i < zones; i++) {
    const origin = manyZoneOrigin(i, zones);
    texts.push({ origin, text: manyZoneText(origin, i) });
  }
  const parsed = sides.map((s) => texts.map((t) => s.parseZone(t.text, { origin: t.origin, octets: true })));
  let built: Zone[][] = [[], []];
  report(
    `Zone.build, ${zones} zones × 10 records`,
    'µs/zone',
    sides,
    await interleave(runs, zones, (k) => {
      const out: Zone[] = [];
      for (const p of parsed[k]) out.push(sides[k].build(p.origin as Name, p.records, p.class));
      built[k] = out;
    }),
  );
  report(
    `checkZone, ${zones} zones × 10 records`,
    'µs/zone',
    sides,
    await interleave(runs, zones, (k) => {
      let n = 0;
      for (let i = 0; i < zones; i++) n += sides[k].checkZone(built[k][i], parsed[k][i].records).length;
      if (n < 0) console.log(n);
    }),
  );
  built = [[], []];
  parsed.length = 0;
  const loaded = sides.map((s) =>
    texts.map((t) => s.loadZoneText(t.text, { origin: t.origin, octets: true }).zone),
  );
  // One buffer for every image (as the compile thread's arena): the allocation is not timed.
  const arena = new Uint8Array(1 << 20);
  const allocate = (n: number): Uint8Array => arena.subarray(0, n);
  report(
    `compileZone, ${zones} zones × 10 records`,
    'µs/zone',
    sides,
    await interleave(runs, zones, (k) => {
      for (const z of loaded[k]) sides[k].compileZone(z, { allocate });
    }),
  );
  let differ = 0;
  for (let i = 0; i < zones; i++) {
    const a = sides[0].compileZone(loaded[0][i]);
    const b = sides[1].compileZone(loaded[1][i]);
    if (a.length !== b.length || Buffer.compare(a, b) !== 0) differ++;
  }
  console.log(`  images: ${differ === 0 ? 'every one identical' : `${differ} DIFFERENT`}`);
  if (differ > 0) process.exitCode = 1;
  loaded.length = 0;
  report(
    `runBatch (parse + compile + columns), ${zones} zones × 10 records, 128 a batch`,
    'µs/zone',
    sides,
    await interleave(runs, zones, (k) => {
      for (let i = 0; i < texts.length; i += 128) {
        const s = texts.slice(i, i + 128);
        sides[k].runBatch({ kind: 'text', names: s.map((t) => t.origin), texts: s.map((t) => t.text) });
      }
    }),
  );
}

if (records > 0) {
  const dir = mkdtempSync(join(tmpdir(), 'sb-compile-ab-'));
  let text: string;
  try {
    const file = join(dir, 'big.zone');
    generateBigZone(file, records);
    text = readFileSync(file, 'latin1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Each side loads the zone with its own loader, then compiles it: both timed.
  let count = 0;
  const images: Uint8Array[] = [];
  const res: number[][] = [[], []];
  const loads: number[][] = [[], []];
  const walls: number[][] = [[], []];
  const mains: number[][] = [[], []];
  for (let r = 0; r < runs; r++)
    for (const k of r % 2 === 0 ? [0, 1] : [1, 0]) {
      gc?.();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const l = cpuMicros();
      const m = threadCpuMicros();
      const w = performance.now();
      let zone: CompilableZone | undefined = sides[k].loadZoneTextColumns(text, {
        origin: BIG_ORIGIN,
        octets: true,
      }).zone;
      count = zone.recordCount;
      loads[k].push((cpuMicros() - l) / count);
      walls[k].push(((performance.now() - w) * 1000) / count);
      mains[k].push((threadCpuMicros() - m) / count);
      gc?.();
      const c = cpuMicros();
      images[k] = sides[k].compileZone(zone);
      res[k].push((cpuMicros() - c) / count);
      zone = undefined;
    }
  report(`loadZoneTextColumns of the ${count}-record zone, process CPU`, 'µs/record', sides, loads);
  report(`  the same, CPU of the calling thread`, 'µs/record', sides, mains);
  report(`  the same, wall`, 'µs/record', sides, walls);
  report(`compileZone of the ${count}-record zone from columns`, 'µs/record', sides, res);
  const same = images[0].length === images[1].length && Buffer.compare(images[0], images[1]) === 0;
  console.log(`  the two images are ${same ? 'identical' : 'DIFFERENT'} (${images[0].length} octets)`);
  if (!same) process.exitCode = 1;
}
