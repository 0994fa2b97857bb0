/**
 * Image packs (src/image/pack.ts): the cost of writing N zone images into packs (the primary)
 * and of opening all of them by ref in a reader (a worker), mapped and copied. The images are
 * real compiled zones of the many-zones suite (1,000 distinct, repeated to N), so sizes are
 * those of 10-record zones (~1.7 KiB).
 *
 *   node dist/bench/packs.js [--images 100000] [--runs 3] [--dir DIR]
 *
 * Prints medians over the runs. Writes only under DIR (default: a temp dir, removed).
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { compileZone } from '../src/image/compile.js';
import { type ImageRef, PackReader, PackWriter, packMmapStatus } from '../src/image/pack.js';
import { loadZoneText } from '../src/zone/load.js';
import { manyZoneOrigin, manyZoneText } from './many-zones.js';
import { median } from './stats.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

const n = arg('images', 100_000);
const runs = arg('runs', 3);
const dirArg = process.argv.indexOf('--dir');
const base = dirArg > 0 ? process.argv[dirArg + 1] : mkdtempSync(join(tmpdir(), 'sb-bench-packs-'));

const distinct = Array.from({ length: 1000 }, (_, i) => {
  const origin = manyZoneOrigin(i, n);
  return compileZone(loadZoneText(manyZoneText(origin, i), { origin }).zone);
});
const bytes = Array.from({ length: n }, (_, i) => distinct[i % distinct.length].length).reduce(
  (a, b) => a + b,
  0,
);

const add: number[] = [];
const addMany: number[] = [];
const openMapped: number[] = [];
const openCopy: number[] = [];
let packs = 0;
for (let r = 0; r < runs; r++) {
  const many = new PackWriter(join(base, `many${r}`));
  let t = performance.now();
  const batch = 1000;
  for (let i = 0; i < n; i += batch)
    many.addMany(
      Array.from({ length: Math.min(batch, n - i) }, (_, j) => distinct[(i + j) % distinct.length]),
    );
  addMany.push(((performance.now() - t) * 1000) / n);
  many.close();

  const w = new PackWriter(join(base, `one${r}`));
  t = performance.now();
  const refs: ImageRef[] = [];
  for (let i = 0; i < n; i++) refs.push(w.add(distinct[i % distinct.length]));
  add.push(((performance.now() - t) * 1000) / n);
  packs = w.stats().packs;
  if (packMmapStatus().mapped) {
    const reader = new PackReader(w.dir);
    t = performance.now();
    let sum = 0;
    for (const ref of refs) sum += reader.open(ref)[0];
    openMapped.push(((performance.now() - t) * 1000) / n);
    if (sum !== n * distinct[0][0]) throw new Error('bad read');
  }
  const copier = new PackReader(w.dir, { mmap: false });
  t = performance.now();
  for (const ref of refs) copier.open(ref);
  openCopy.push(((performance.now() - t) * 1000) / n);
  w.close();
}
if (dirArg < 0) rmSync(base, { recursive: true, force: true });

const us = (xs: number[]): string => (xs.length ? `${median(xs).toFixed(2)} µs` : 'n/a (no addon)');
console.log(`${n} images, ${(bytes / 2 ** 20).toFixed(1)} MiB in ${packs} packs; medians of ${runs} runs`);
console.log(`add (primary):            ${us(add)} per image`);
console.log(`addMany, 1,000 a call:    ${us(addMany)} per image`);
console.log(`open, mapped (worker):    ${us(openMapped)} per image`);
console.log(`open, copy (no addon):    ${us(openCopy)} per image`);
