/**
 * The per-query JS cost of the node path without sockets: `Responder.respond` over the
 * dnsperf benchmark's zone (bench.test., `--names` hosts) read from its compiled image, as a
 * `serve` worker reads it, on the dnsperf suites' mixes (existing names, random subdomains),
 * next to the trivial responder's reply builder (bench/trivial-responder.ts) on the same
 * queries. Single-threaded, in process: what the JS adds to a datagram's receive and send,
 * which both servers pay alike. Rounds interleaved, medians of `--rounds`.
 *
 *   node dist/bench/respond-path.js [--names 10000] [--queries 200000] [--rounds 7] [--edns] [--mix existing|random]
 *     [--pollute KB]
 *
 * `--edns`: every query carries an OPT (1232, no options); dnsperf sends none by default.
 * `--pollute KB`: after each query, read KB kibibytes of a 16 MiB buffer (one octet per 64-octet
 * line, moving on each time), as the kernel's receive and send evict the CPU caches between
 * two datagrams of a real server; a third side measures that reading alone and its cost is
 * subtracted from both, so what remains is each side's own cost with cold caches.
 * @module
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catalog } from '../src/answer/catalog.js';
import { Responder } from '../src/answer/respond.js';
import { compileZone } from '../src/image/compile.js';
import { openImage } from '../src/image/reader.js';
import { ImageZone } from '../src/image/zone-view.js';
import { loadZoneText } from '../src/zone/load.js';
import type { ServedZone } from '../src/zone/zone.js';
import { buildQuery } from '../test/helpers/dns-client.js';
import { BENCH_ORIGIN, writeBenchZone } from './dnsperf-bench.js';
import { randomQueryLines } from './queries.js';
import { cpuMicros, median } from './stats.js';
import { buildTrivialReply } from './trivial-responder.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const TYPES: Record<string, number> = { A: 1, AAAA: 28, TXT: 16 };

/** Wire queries (RD set, as dnsperf sends them) of dnsperf lines `name TYPE`. */
function toQueries(lines: Iterable<string>, edns: boolean): Buffer[] {
  const out: Buffer[] = [];
  let id = 0;
  for (const line of lines) {
    const [name, type] = line.split(' ');
    const q = buildQuery({
      id: id++ & 0xffff,
      name,
      type: TYPES[type],
      rd: true,
      edns: edns ? { udpSize: 1232 } : undefined,
    });
    out.push(Buffer.from(q));
  }
  return out;
}

/** The buffer `--pollute` reads, and where the next read starts. */
const dirt = new Uint8Array(16 * 1024 * 1024);
let dirtAt = 0;

/** Reads one octet per 64-octet line of `kib` KiB of `dirt`, from where the last read stopped. */
function pollute(kib: number): number {
  let sum = 0;
  const end = kib * 1024;
  for (let i = 0; i < end; i += 64) {
    sum += dirt[dirtAt];
    dirtAt = (dirtAt + 64) & (dirt.length - 1);
  }
  return sum;
}

/** CPU µs per query of `answer` over `qs` (each followed by `kib` KiB of `pollute`). */
function run(answer: (q: Buffer) => Uint8Array | null, qs: Buffer[], kib: number): number {
  const t = cpuMicros();
  let bytes = 0;
  for (let i = 0; i < qs.length; i++) {
    bytes += answer(qs[i])?.length ?? 0;
    if (kib > 0) bytes += pollute(kib) & 1;
  }
  if (bytes === 0) throw new Error('no answers');
  return (cpuMicros() - t) / qs.length;
}

function main(): void {
  const names = arg('names', 10_000);
  const nQueries = arg('queries', 200_000);
  const rounds = arg('rounds', 7);
  const edns = process.argv.includes('--edns');
  const kib = arg('pollute', 0);
  const only = process.argv.indexOf('--mix');
  const mixes =
    only >= 0 ? [process.argv[only + 1] as 'existing' | 'random'] : (['existing', 'random'] as const);
  const dir = mkdtempSync(join(tmpdir(), 'respond-path-'));
  let zoneText: string;
  let existingLines: string[];
  try {
    const w = writeBenchZone(dir, names, 50_000);
    zoneText = readFileSync(join(w.zoneDir, 'bench.test.zone'), 'utf8');
    existingLines = readFileSync(w.queryFile, 'utf8').trim().split('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const zone = loadZoneText(zoneText, { origin: BENCH_ORIGIN }).zone;
  const image: ServedZone = new ImageZone(openImage(compileZone(zone)));
  const responder = new Responder(new Catalog([image]), {});
  const ctx = { transport: 'udp' as const, address: '127.0.0.1', port: 5353 };
  // The existing-names file (50,000 lines) looped up to `--queries`, as dnsperf loops it.
  const file = toQueries(existingLines, edns);
  const existing = Array.from({ length: nQueries }, (_, i) => file[i % file.length]);
  const sides: Record<string, (q: Buffer) => Uint8Array | null> = {
    switchboard: (q) => responder.respond(q, ctx),
    trivial: (q) => buildTrivialReply(q),
  };
  // The reading alone (a reply that costs nothing), subtracted from both sides.
  const empty = new Uint8Array(1);
  if (kib > 0) sides.pollution = () => empty;
  const results: Record<string, number[]> = {};
  for (let round = 0; round <= rounds; round++) {
    for (const mix of mixes) {
      // Random names: new for every round, so the response cache never sees one twice.
      const qs =
        mix === 'existing'
          ? existing
          : toQueries(
              randomQueryLines({ count: nQueries, seed: 7 + round, tag: `r${round}`, origin: BENCH_ORIGIN }),
              edns,
            );
      for (const [side, fn] of Object.entries(sides)) {
        const us = run(fn, qs, kib);
        // Round 0 warms the JIT and the cache.
        if (round > 0) results[`${mix} ${side}`] = [...(results[`${mix} ${side}`] ?? []), us];
      }
    }
  }
  for (const mix of mixes) {
    const p = kib > 0 ? median(results[`${mix} pollution`]) : 0;
    const s = median(results[`${mix} switchboard`]) - p;
    const t = median(results[`${mix} trivial`]) - p;
    const polluted = kib > 0 ? ` (${kib} KiB read between queries: ${p.toFixed(3)} µs, subtracted)` : '';
    console.log(
      `${mix}${edns ? ' (EDNS)' : ''}: Responder.respond ${s.toFixed(3)} µs CPU/query, trivial reply ${t.toFixed(3)} µs; medians of ${rounds}${polluted}`,
    );
  }
  console.log(
    `image answers ${responder.imageAnswers}, fallbacks ${responder.imageFallbacks.reduce((a, b) => a + b, 0)}; cache ${JSON.stringify(responder.cacheStats()?.udp)}`,
  );
}

main();
