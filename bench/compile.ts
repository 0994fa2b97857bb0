/**
 * Zone-image compile benchmark (issue 7, cold start): µs of CPU per record to parse master-file
 * text into a `Zone` and to compile that `Zone` into an image, on the two shapes of the
 * cold-start targets — many small zones (bench/many-zones.ts's 10-record zone text) and one
 * big zone (bench/zone-load.ts's generator) — with the reference compiler
 * (test/helpers/image-reference.ts, the engine-made compiler the fast one replaced) and
 * `compileZone` side by side in one process, interleaved, medians of `--runs` runs. Every
 * image of the fast compiler is checked octet for octet against the reference's.
 *
 *   node --expose-gc dist/bench/compile.js [--zones N] [--records N] [--runs N] [--no-reference]
 *
 * For the many small zones it also times the compile thread's `runBatch` (batches of 128 text
 * jobs: parse, compile into the batch's arena, the columns posted back).
 *
 * For the big zone it also times the compile thread's path both ways: `loadZoneText` (a Zone
 * graph) and `loadZoneTextColumns` (src/zone/column-zone.ts), each followed by compileZone.
 *
 * Each phase of loading is timed on its own (parseZone, Zone.build, checkZone; parseZone also
 * with `slowPath`, the general path alone, interleaved), then
 * loadZoneText whole, per record and (many zones) per zone. For the many small zones it also
 * times the compile thread's pipeline: text → Zone → image with each Zone dropped at once (the
 * heap then holds no Zone objects while compiling), and the same from one file per zone
 * (loadZoneFile, as `serve --zone-dir` reads them).
 *
 * CPU figures are this process's user + system time (steadier than wall time on a shared
 * machine). Heap figures need --expose-gc.
 * @module
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { compileZone } from '../src/image/compile.js';
import { runBatch } from '../src/server/shared/compile-thread.js';
import { checkZone } from '../src/zone/check.js';
import { loadZoneFile, loadZoneText, loadZoneTextColumns } from '../src/zone/load.js';
import { type ParsedZone, parseZone } from '../src/zone/parser.js';
import { Zone } from '../src/zone/zone.js';
import { referenceCompileZone } from '../test/helpers/image-reference.js';
import { manyZoneOrigin, manyZoneText, writeManyZones } from './many-zones.js';
import { cpuMillis, median } from './stats.js';
import { BIG_ORIGIN, generateBigZone } from './zone-load.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const gc = (globalThis as { gc?: () => void }).gc;
/** Blocks this thread (V8's background threads go on). */
const pause = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};
function heap(): number | undefined {
  if (!gc) return undefined;
  gc();
  gc();
  const m = process.memoryUsage();
  // The process CPU that the next phase is timed by counts V8's background threads: they
  // sweep after a full collection (for a heap of 20,000 Zones ~10 µs a zone of the phase that
  // followed it, before this pause).
  pause(300);
  return m.heapUsed + m.external + m.arrayBuffers;
}
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A shape: texts to parse, and how to parse one. */
interface Shape {
  label: string;
  texts: { text: string; origin: string }[];
}

function manyShape(zones: number): Shape {
  const texts: { text: string; origin: string }[] = [];
  for (let i = 0; i < zones; i++) {
    const origin = manyZoneOrigin(i, zones);
    texts.push({ text: manyZoneText(origin, i), origin });
  }
  return { label: `${zones} zones × 10 records`, texts };
}

function bigShape(records: number): Shape {
  const dir = mkdtempSync(join(tmpdir(), 'sb-compile-'));
  try {
    const file = join(dir, 'big.zone');
    generateBigZone(file, records);
    return {
      label: `one zone of ${records} records`,
      texts: [{ text: readFileSync(file, 'latin1'), origin: BIG_ORIGIN }],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * parseZone over every text with each result dropped at once (as the compile thread drops it),
 * with the fast path and with `slowPath` (every line through ZoneLexer and `entry`, the path
 * before the fast one), order alternating by run: pushes the CPU ms of each.
 */
function parseSideBySide(shape: Shape, r: number, fast: number[], slow: number[]): void {
  for (const slowPath of r % 2 === 0 ? [true, false] : [false, true]) {
    const c = cpuMillis();
    let n = 0;
    for (const t of shape.texts)
      n += parseZone(t.text, { origin: t.origin, octets: true, slowPath }).lines.length;
    (slowPath ? slow : fast).push(cpuMillis() - c);
    if (n < 0) console.log(n);
  }
}

function run(shape: Shape, runs: number, reference: boolean): void {
  const parse: number[] = [];
  const parseSlow: number[] = [];
  const parseDrop: number[] = [];
  const build: number[] = [];
  const check: number[] = [];
  const load: number[] = [];
  const fast: number[] = [];
  const ref: number[] = [];
  let records = 0;
  let bytes = 0;
  let zoneHeap: number | undefined;
  let mismatches = 0;
  for (let r = 0; r < runs; r++) {
    // The phases of loadZoneText one at a time over every text (parse, build, check), then
    // loadZoneText itself (the three and what joins them) keeping the Zones for the compilers.
    parseSideBySide(shape, r, parseDrop, parseSlow);
    let c = cpuMillis();
    const parsed: ParsedZone[] = [];
    for (const t of shape.texts) parsed.push(parseZone(t.text, { origin: t.origin, octets: true }));
    parse.push(cpuMillis() - c);
    c = cpuMillis();
    const built: Zone[] = [];
    for (const p of parsed) built.push(Zone.build(p.origin!, p.records, p.class));
    build.push(cpuMillis() - c);
    c = cpuMillis();
    let findings = 0;
    for (let i = 0; i < built.length; i++) findings += checkZone(built[i], parsed[i].records).length;
    check.push(cpuMillis() - c);
    if (findings < 0) console.log(findings); // keeps the result alive
    parsed.length = 0;
    built.length = 0;
    const h0 = heap();
    c = cpuMillis();
    const zones: Zone[] = [];
    for (const t of shape.texts) zones.push(loadZoneText(t.text, { origin: t.origin, octets: true }).zone);
    load.push(cpuMillis() - c);
    const h1 = heap();
    // The first run only: in later ones the last run's Zones may still be held (a dead local
    // the interpreter keeps) when h0 is read, and are freed by h1.
    if (r === 0 && h0 !== undefined && h1 !== undefined) zoneHeap = h1 - h0;
    records = zones.reduce((n, z) => n + z.recordCount, 0);
    // Interleaved: the order alternates so neither compiler always runs on a warmer JIT.
    const images: Uint8Array[] = [];
    const order = r % 2 === 0 ? ['fast', 'ref'] : ['ref', 'fast'];
    let refImages: Uint8Array[] = [];
    for (const which of order) {
      if (which === 'ref' && !reference) continue;
      c = cpuMillis();
      const out: Uint8Array[] = [];
      for (const z of zones) out.push(which === 'fast' ? compileZone(z) : referenceCompileZone(z));
      (which === 'fast' ? fast : ref).push(cpuMillis() - c);
      if (which === 'fast') images.push(...out);
      else refImages = out;
    }
    bytes = images.reduce((n, i) => n + i.length, 0);
    if (reference)
      for (let i = 0; i < images.length; i++) if (!sameBytes(images[i], refImages[i])) mismatches++;
  }
  const n = shape.texts.length;
  // µs per record, and per zone when there are many.
  const us = (ms: number): string =>
    `${((ms * 1000) / records).toFixed(2)}${n > 1 ? ` (${((ms * 1000) / n).toFixed(1)} per zone)` : ''}`;
  console.log(`${shape.label} (${records} records), ${runs} runs, median µs CPU per record:`);
  console.log(`  parse (parseZone): ${us(median(parse))}`);
  console.log(
    `  parse, each result dropped at once: ${us(median(parseDrop))}; the general path only (slowPath): ${us(median(parseSlow))}`,
  );
  console.log(`  build (Zone.build): ${us(median(build))}`);
  console.log(`  check (checkZone): ${us(median(check))}`);
  console.log(`  parse + build + check (loadZoneText): ${us(median(load))}`);
  if (reference) console.log(`  compile, reference: ${us(median(ref))}`);
  console.log(
    `  compile, compileZone: ${us(median(fast))}${reference ? ` (${(median(ref) / median(fast)).toFixed(1)}× faster)` : ''}`,
  );
  console.log(
    `  images: ${(bytes / records).toFixed(1)} bytes/record${zoneHeap !== undefined ? `; Zone objects ${(zoneHeap / records).toFixed(0)} bytes/record` : ''}`,
  );
  if (reference)
    console.log(
      mismatches === 0
        ? '  every image identical to the reference'
        : `  ${mismatches} IMAGES DIFFER FROM THE REFERENCE`,
    );
  if (mismatches > 0) process.exitCode = 1;
}

/**
 * The compile thread's pipeline for many small zones: text → Zone → image, the Zone dropped at
 * once (only the images live on), so the heap holds no Zone objects: parse + compile µs CPU per
 * record, with each compiler, interleaved, medians of `runs`.
 */
function pipeline(shape: Shape, runs: number, reference: boolean): void {
  const fast: number[] = [];
  const ref: number[] = [];
  let records = 0;
  for (let r = 0; r < runs; r++) {
    const order = r % 2 === 0 ? ['fast', 'ref'] : ['ref', 'fast'];
    for (const which of order) {
      if (which === 'ref' && !reference) continue;
      heap();
      const c = cpuMillis();
      const images: Uint8Array[] = [];
      records = 0;
      for (const t of shape.texts) {
        const z = loadZoneText(t.text, { origin: t.origin, octets: true }).zone;
        records += z.recordCount;
        images.push(which === 'fast' ? compileZone(z) : referenceCompileZone(z));
      }
      (which === 'fast' ? fast : ref).push(cpuMillis() - c);
    }
  }
  const us = (ms: number): string => ((ms * 1000) / records).toFixed(2);
  console.log(
    `${shape.label}, text → image with the Zone dropped at once, ${runs} runs, median µs CPU per record:`,
  );
  if (reference) console.log(`  parse + compile, reference: ${us(median(ref))}`);
  console.log(
    `  parse + compile, compileZone: ${us(median(fast))}${reference ? ` (${(median(ref) / median(fast)).toFixed(2)}× faster)` : ''}`,
  );
}

/**
 * The compile thread's batch path itself (`runBatch`, as a compile thread runs a message of
 * `start`'s text jobs): batches of 128 zones, each parsed, compiled (a Zone's image written
 * into the batch's arena) and packed into the batch's transferable columns. µs CPU per zone,
 * medians of `runs`.
 */
function batchPipeline(shape: Shape, runs: number): void {
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    heap();
    const c = cpuMillis();
    let ok = 0;
    for (let i = 0; i < shape.texts.length; i += 128) {
      const slice = shape.texts.slice(i, i + 128);
      const { batch } = runBatch({
        kind: 'text',
        names: slice.map((t) => t.origin),
        texts: slice.map((t) => t.text),
      });
      for (const st of batch.status) if (st === 0) ok++;
    }
    times.push(cpuMillis() - c);
    if (ok !== shape.texts.length) throw new Error(`${shape.texts.length - ok} zones failed in runBatch`);
  }
  console.log(
    `${shape.label}, the compile thread's runBatch (text jobs, 128 a batch), ${runs} runs, median µs CPU per zone: ${((median(times) * 1000) / shape.texts.length).toFixed(1)}`,
  );
}

/**
 * As the compile thread runs for `serve --zone-dir`: each zone read from its own file
 * (loadZoneFile: read, parse, build, check), compiled, dropped. µs CPU per zone, medians.
 */
function filePipeline(zones: number, runs: number): void {
  const dir = mkdtempSync(join(tmpdir(), 'sb-compile-files-'));
  try {
    writeManyZones(dir, zones);
    const files = readdirSync(dir).map((f) => join(dir, f));
    const load: number[] = [];
    const both: number[] = [];
    for (let r = 0; r < runs; r++) {
      heap();
      let c = cpuMillis();
      for (const f of files) loadZoneFile(f);
      load.push(cpuMillis() - c);
      heap();
      c = cpuMillis();
      for (const f of files) compileZone(loadZoneFile(f).zone);
      both.push(cpuMillis() - c);
    }
    const us = (ms: number): string => ((ms * 1000) / files.length).toFixed(1);
    console.log(`${files.length} zone files × 10 records, ${runs} runs, median µs CPU per zone:`);
    console.log(`  loadZoneFile (read + parse + build + check): ${us(median(load))}`);
    console.log(`  loadZoneFile + compileZone: ${us(median(both))}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The compile thread's path for one big zone, both ways, interleaved: `loadZoneText` (a `Zone`
 * graph) or `loadZoneTextColumns` (columns, records streamed from the parser: the path the
 * compile thread takes for zone text of 1 MiB or more), then `compileZone`. µs CPU per
 * record for the load and the compile, and ms of garbage-collection pauses over both (wall
 * clock, from PerformanceObserver 'gc' entries: inflated on a loaded machine); medians of `runs`. The two images are
 * checked octet for octet.
 */
async function bigPipeline(records: number, runs: number): Promise<void> {
  const { text, origin } = bigShape(records).texts[0];
  let gcMs = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  });
  obs.observe({ entryTypes: ['gc'] });
  const figures = {
    zone: { load: [] as number[], compile: [] as number[], gc: [] as number[] },
    columns: { load: [] as number[], compile: [] as number[], gc: [] as number[] },
  };
  let count = 0;
  const images: Partial<Record<'zone' | 'columns', Uint8Array>> = {};
  for (let r = 0; r < runs; r++) {
    for (const which of r % 2 === 0 ? (['zone', 'columns'] as const) : (['columns', 'zone'] as const)) {
      heap();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const g0 = gcMs;
      let c = cpuMillis();
      const loaded = (which === 'zone' ? loadZoneText : loadZoneTextColumns)(text, { origin, octets: true });
      count = loaded.zone.recordCount;
      figures[which].load.push(cpuMillis() - c);
      c = cpuMillis();
      const image = compileZone(loaded.zone);
      figures[which].compile.push(cpuMillis() - c);
      // GC entries are delivered asynchronously.
      await new Promise((resolve) => setTimeout(resolve, 50));
      figures[which].gc.push(gcMs - g0);
      if (r === 0) images[which] = image;
    }
  }
  obs.disconnect();
  if (!images.zone || !images.columns || !sameBytes(images.zone, images.columns))
    throw new Error('the two paths made different images');
  const us = (ms: number[]): string => ((median(ms) * 1000) / count).toFixed(2);
  console.log(
    `one zone of ${count} records, the compile thread's path, ${runs} runs, median µs CPU per record (GC: pause ms, wall clock, from 'gc' entries):`,
  );
  for (const which of ['zone', 'columns'] as const) {
    const f = figures[which];
    console.log(
      `  ${which === 'zone' ? 'loadZoneText (Zone)      ' : 'loadZoneTextColumns      '}: load ${us(f.load)}, compileZone ${us(f.compile)}, GC ${median(f.gc).toFixed(0)} ms`,
    );
  }
}

const zones = arg('zones', 20_000);
const records = arg('records', 200_000);
const runs = arg('runs', 5);
const reference = !process.argv.includes('--no-reference');
console.log(
  `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')} (2 cores shared: figures are noisy)`,
);
if (zones > 0) {
  const shape = manyShape(zones);
  run(shape, runs, reference);
  pipeline(shape, runs, reference);
  batchPipeline(shape, runs);
  filePipeline(zones, runs);
}
if (records > 0) {
  run(bigShape(records), runs, reference);
  await bigPipeline(records, runs);
}
