/**
 * Zone image benchmark: compile time and image size per record next to the JS objects of
 * today's `Zone`, on one big zone (bench/zone-load.ts's generator, 1,000,000 records by
 * default) and on many small zones (100,000 × 10 records by default); plus, side by side in
 * one run, the cost of a random-subdomain query answered from the image and by the Responder.
 *
 *   node --expose-gc dist/bench/image.js [--records N] [--zones N] [--queries N]
 *
 * Single-threaded, in process; heap figures need --expose-gc (otherwise they are skipped).
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Catalog } from '../src/answer/catalog.js';
import { Responder } from '../src/answer/respond.js';
import { compileZone } from '../src/image/compile.js';
import { openImage, parseQuery, respondFromImage } from '../src/image/reader.js';
import { Name } from '../src/wire/name.js';
import { loadZoneFile, loadZoneText } from '../src/zone/load.js';
import type { Zone } from '../src/zone/zone.js';
import { seededRandom } from '../test/helpers/prng.js';
import { ednsQuery } from './queries.js';
import { cpuMillis, median } from './stats.js';
import { BIG_ORIGIN, generateBigZone } from './zone-load.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const gc = (globalThis as { gc?: () => void }).gc;
function heap(): number | undefined {
  if (!gc) return undefined;
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
}
const mb = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;

function bigZone(records: number, queries: number): void {
  const dir = mkdtempSync(join(tmpdir(), 'sb-image-'));
  try {
    const file = join(dir, 'big.zone');
    generateBigZone(file, records);
    const h0 = heap();
    let t = performance.now();
    let c = cpuMillis();
    const zone = loadZoneFile(file, { origin: BIG_ORIGIN }).zone;
    const loadMs = performance.now() - t;
    const loadCpu = cpuMillis() - c;
    const h1 = heap();
    t = performance.now();
    c = cpuMillis();
    const image = compileZone(zone);
    const compileMs = performance.now() - t;
    const compileCpu = cpuMillis() - c;
    c = cpuMillis();
    const img = openImage(image);
    const openMs = cpuMillis() - c;
    const n = zone.recordCount;
    console.log(`big zone: ${n} records, ${zone.nodes.size} names`);
    console.log(
      `  load (parse + build Zone): ${(loadMs / 1000).toFixed(2)} s wall, ${(loadCpu / 1000).toFixed(2)} s CPU`,
    );
    if (h0 !== undefined && h1 !== undefined)
      console.log(`  Zone JS objects: ${mb(h1 - h0)}, ${((h1 - h0) / n).toFixed(0)} bytes/record`);
    console.log(
      `  compile: ${(compileMs / 1000).toFixed(2)} s wall, ${(compileCpu / 1000).toFixed(2)} s CPU (${((compileCpu * 1000) / n).toFixed(2)} µs CPU/record); image ${mb(image.length)}, ${(image.length / n).toFixed(0)} bytes/record; validate at load ${openMs.toFixed(0)} ms CPU`,
    );
    // Random-subdomain queries (every name new, NXDOMAIN), side by side.
    const rnd = seededRandom(42);
    const origin = Name.parse(BIG_ORIGIN).wire;
    const pkts: Uint8Array[] = [];
    for (let i = 0; i < queries; i++) {
      let label = '';
      for (let k = 0; k < 10; k++) label += String.fromCharCode(0x61 + Math.floor(rnd() * 26));
      pkts.push(ednsQuery(`\x0a${label}${origin}`, 1, i & 0xffff));
    }
    // Existing names: 10,000 names asked over and over (the cache's best case), type A.
    const names = [...zone.nodes.values()]
      .filter((n) => n.get(1) && (n.flags & 3) === 0)
      .map((n) => n.name.wire);
    const hot: Uint8Array[] = [];
    for (let i = 0; i < 10_000; i++) hot.push(ednsQuery(names[Math.floor(rnd() * names.length)], 1, i));
    const existing: Uint8Array[] = [];
    for (let i = 0; i < queries; i++) existing.push(hot[i % hot.length]);
    const out = new Uint8Array(65535);
    for (const [label, list] of [
      ['random-subdomain NXDOMAIN', pkts],
      ['existing names (10,000 names, A)', existing],
    ] as const) {
      const responder = new Responder(new Catalog([zone]));
      const runs = { responder: [] as number[], image: [] as number[] };
      for (let r = 0; r < 3; r++) {
        c = cpuMillis();
        for (const p of list) responder.respond(p, { transport: 'udp' });
        runs.responder.push(((cpuMillis() - c) * 1000) / list.length);
        c = cpuMillis();
        let answered = 0;
        for (const p of list) if (respondFromImage(img, parseQuery(p, 'udp')!, out) > 0) answered++;
        runs.image.push(((cpuMillis() - c) * 1000) / list.length);
        if (answered !== list.length) console.log(`  (image fell back on ${list.length - answered} queries)`);
      }
      console.log(
        `  ${label}, ${list.length} queries × 3 runs, median µs CPU/query: Responder (cache on) ${median(runs.responder).toFixed(2)}, image (parseQuery + respondFromImage) ${median(runs.image).toFixed(2)}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function manyZones(count: number): void {
  const h0 = heap();
  let t = performance.now();
  let c = cpuMillis();
  const zones: Zone[] = [];
  for (let i = 0; i < count; i++) {
    const o = `z${i}.test.`;
    zones.push(
      loadZoneText(
        `$ORIGIN ${o}\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 1800 1209600 300\n@ NS ns1\n@ NS ns2\nns1 A 192.0.2.1\nns2 A 192.0.2.2\nwww A 192.0.2.3\nwww AAAA 2001:db8::3\n@ MX 10 mail\nmail A 192.0.2.4\nftp CNAME www\n`,
        { origin: o },
      ).zone,
    );
  }
  const loadMs = performance.now() - t;
  const loadCpu = cpuMillis() - c;
  const h1 = heap();
  const records = zones.reduce((n, z) => n + z.recordCount, 0);
  t = performance.now();
  c = cpuMillis();
  let bytes = 0;
  const images: Uint8Array[] = [];
  for (const z of zones) {
    const img = compileZone(z);
    bytes += img.length;
    images.push(img);
  }
  const compileMs = performance.now() - t;
  const compileCpu = cpuMillis() - c;
  c = cpuMillis();
  for (const i of images) openImage(i);
  const openMs = cpuMillis() - c;
  console.log(`${count} zones × ${records / count} records (${records} records)`);
  console.log(
    `  load (parse + build Zones): ${(loadMs / 1000).toFixed(2)} s wall, ${(loadCpu / 1000).toFixed(2)} s CPU`,
  );
  if (h0 !== undefined && h1 !== undefined)
    console.log(`  Zone JS objects: ${mb(h1 - h0)}, ${((h1 - h0) / records).toFixed(0)} bytes/record`);
  console.log(
    `  compile: ${(compileMs / 1000).toFixed(2)} s wall, ${(compileCpu / 1000).toFixed(2)} s CPU (${((compileCpu * 1000) / count).toFixed(0)} µs CPU/zone); images ${mb(bytes)}, ${(bytes / records).toFixed(0)} bytes/record, ${(bytes / count).toFixed(0)} bytes/zone; validate all ${openMs.toFixed(0)} ms CPU`,
  );
}

const records = arg('records', 1_000_000);
const zoneCount = arg('zones', 100_000);
const queries = arg('queries', 200_000);
if (!gc) console.log('(run with node --expose-gc for heap figures)');
if (records > 0) bigZone(records, queries);
if (zoneCount > 0) manyZones(zoneCount);
