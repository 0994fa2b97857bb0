/**
 * The Responder over ImageZones next to the Responder over Zones (issue 7): CPU per query on
 * a random-subdomain mix (every QNAME a new random label under a served zone: NXDOMAIN) and
 * an existing-names mix (names of the zones asked again and again, so the Zone side answers
 * mostly from its response cache), both sides in one process, rounds interleaved, medians of
 * `--rounds`; then the JS heap a worker holds for `--zones` zones × 10 records as ImageZones
 * (their images counted apart: in a worker they are mapped pack pages) and as Zones. A fourth
 * side serves the same images as zones opened on their first query (`LazyImageZone`, as a DNS
 * worker does with `--images on`).
 *
 *   node --expose-gc dist/bench/image-responder.js [--zones 10000] [--queries 200000] [--rounds 5]
 *
 * Single-threaded, in process, no sockets: the cost of `Responder.respond` alone.
 * @module
 */
import { Catalog } from '../src/answer/catalog.js';
import { Responder } from '../src/answer/respond.js';
import { compileZone } from '../src/image/compile.js';
import { openImage } from '../src/image/reader.js';
import { ImageZone, ImageZonePool } from '../src/image/zone-view.js';
import { Name } from '../src/wire/name.js';
import { loadZoneText } from '../src/zone/load.js';
import type { ServedZone, Zone } from '../src/zone/zone.js';
import { seededRandom } from '../test/helpers/prng.js';
import { ednsQuery } from './queries.js';
import { cpuMicros, median } from './stats.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Zone `i`: 10 records (SOA, 2 NS, MX, 2 A, AAAA, TXT, CNAME, A at the apex). */
function zoneText(i: number): string {
  return `$ORIGIN customer${i}.example.
$TTL 3600
@ SOA ns1.dns.example. hostmaster.dns.example. ${i} 7200 900 1209600 300
@ NS ns1.dns.example.
@ NS ns2.dns.example.
@ MX 10 mail
@ A 192.0.2.${i % 250}
www A 198.51.100.${i % 250}
www AAAA 2001:db8::${(i % 65535).toString(16)}
mail A 203.0.113.${i % 250}
@ TXT "v=spf1 mx -all"
shop CNAME www
`;
}

function label(rnd: () => number): string {
  const n = 8 + Math.floor(rnd() * 8);
  let s = String.fromCharCode(n);
  for (let i = 0; i < n; i++) s += String.fromCharCode(0x61 + Math.floor(rnd() * 26));
  return s;
}

function wire(name: string): string {
  let s = '';
  for (const l of name.split('.')) if (l !== '') s += String.fromCharCode(l.length) + l;
  return `${s}\0`;
}

/** `n` random-subdomain queries, new names for every `seed` (no name is ever asked twice). */
function randomMix(zones: number, n: number, seed: number): Uint8Array[] {
  const rnd = seededRandom(seed);
  const random: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const z = Math.floor(rnd() * zones);
    random.push(ednsQuery(label(rnd) + wire(`customer${z}.example.`), rnd() < 0.7 ? 1 : 28, i & 0xffff));
  }
  return random;
}

function existingMix(zones: number, n: number): Uint8Array[] {
  const rnd = seededRandom(42);
  // 10,000 distinct questions (www/mail/apex/shop × A/AAAA/MX) asked in a random order.
  const distinct: Uint8Array[] = [];
  const owners = ['www.', 'mail.', '', 'shop.'];
  const types = [1, 28, 15];
  for (let i = 0; distinct.length < 10_000; i++) {
    const z = i % zones;
    distinct.push(ednsQuery(wire(`${owners[i % 4]}customer${z}.example.`), types[(i >> 2) % 3], 0));
  }
  const existing: Uint8Array[] = [];
  for (let i = 0; i < n; i++) existing.push(distinct[Math.floor(rnd() * distinct.length)]);
  return existing;
}

/** CPU µs per query of `r` over `qs`. */
function run(r: Responder, qs: Uint8Array[]): number {
  const t = cpuMicros();
  let bytes = 0;
  for (let i = 0; i < qs.length; i++) bytes += r.respond(qs[i], { transport: 'udp' })?.length ?? 0;
  if (bytes === 0) throw new Error('no answers');
  return (cpuMicros() - t) / qs.length;
}

function heapUsed(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

function main(): void {
  const nZones = arg('zones', 10_000);
  const nQueries = arg('queries', 200_000);
  const rounds = arg('rounds', 5);
  if (!gc) console.log('(run with --expose-gc for the heap figures)');

  // Heap: Zones first (built from text, as a worker builds them today).
  const h0 = heapUsed();
  let zones: Zone[] | undefined = [];
  for (let i = 0; i < nZones; i++)
    zones.push(loadZoneText(zoneText(i), { origin: `customer${i}.example.` }).zone);
  let zoneCatalog: Catalog | undefined = new Catalog(zones);
  const zoneHeap = heapUsed() - h0;
  const records = zones.reduce((n, z) => n + z.recordCount, 0);
  // Images as a worker would receive them (mapped pages in a pack; here plain buffers, counted apart).
  const images = zones.map((z) => compileZone(z));
  const imageBytes = images.reduce((n, b) => n + b.length, 0);
  const h1 = heapUsed();
  const imageZones: ServedZone[] = images.map((b) => new ImageZone(openImage(b)));
  const imageCatalog = new Catalog(imageZones);
  const imageHeap = heapUsed() - h1;
  console.log(
    `JS heap for ${nZones} zones × 10 records (${records} records): Zones ${(zoneHeap / 1048576).toFixed(1)} MiB (${(zoneHeap / records).toFixed(0)} B/record); ` +
      `ImageZones ${(imageHeap / 1048576).toFixed(1)} MiB (${(imageHeap / records).toFixed(0)} B/record) + images ${(imageBytes / 1048576).toFixed(1)} MiB outside the heap (${(imageBytes / records).toFixed(0)} B/record)`,
  );

  // Zones opened on their first query (as a DNS worker serves images): the same images
  // (plain buffers standing for pack views), the default bounds of a worker's pool.
  const pool = new ImageZonePool((ref) => images[ref.offset]);
  const lazyCatalog = new Catalog(
    images.map((b, i) =>
      pool.zone(Name.parse(`customer${i}.example.`), { pack: 'p', offset: i, length: b.length }),
    ),
  );

  const existing = existingMix(nZones, nQueries);
  const sides = {
    zones: new Responder(zoneCatalog, {}),
    images: new Responder(imageCatalog, {}),
    'images-skip': new Responder(imageCatalog, { imageAnswers: 'skip' }),
    lazy: new Responder(lazyCatalog, {}),
  };
  zones = undefined;
  zoneCatalog = undefined;
  const results: Record<string, number[]> = {};
  for (let round = 0; round < rounds + 1; round++) {
    for (const mix of ['random-subdomain', 'existing-names'] as const)
      for (const [side, r] of Object.entries(sides)) {
        // Random names: a new set for every side and round, so no cache ever sees one twice.
        const qs =
          mix === 'existing-names' ? existing : randomMix(nZones, nQueries, 1000 + round * 10 + side.length);
        const us = run(r, qs);
        // Round 0 warms the JIT and the caches.
        if (round === 0) continue;
        const key = `${mix} ${side}`;
        results[key] = [...(results[key] ?? []), us];
      }
  }
  for (const mix of ['random-subdomain', 'existing-names']) {
    const z = median(results[`${mix} zones`]);
    const i = median(results[`${mix} images`]);
    const k = median(results[`${mix} images-skip`]);
    const l = median(results[`${mix} lazy`]);
    console.log(
      `${mix}: Zone catalog ${z.toFixed(2)} µs CPU/query; ImageZone catalog ${i.toFixed(2)} µs (${(z / i).toFixed(2)}× the Zone catalog's queries per CPU-second), ` +
        `with imageAnswers 'skip' ${k.toFixed(2)} µs (${(z / k).toFixed(2)}×); zones opened on first query (LazyImageZone) ${l.toFixed(2)} µs (${(i / l).toFixed(2)}× the ImageZone catalog's); medians of ${rounds}`,
    );
  }
  const im = sides.images;
  console.log(
    `ImageZone side: ${im.imageAnswers} template answers, fallbacks ${im.imageFallbacks.reduce((a, b) => a + b, 0)}; Zone side cache: ${JSON.stringify(sides.zones.cacheStats()?.udp)}`,
  );
}

main();
