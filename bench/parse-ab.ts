/**
 * The two halves of a big zone's load, this checkout against another build (`--baseline DIR`,
 * whose `dist/` is built), alternated in one process so both see the same machine load: the
 * parse thread's half (`parseToChunks` of the `--records`-record zone of bench/zone-load.ts's
 * generator, its chunks written into one reused buffer and dropped) and the whole load in one
 * thread (`parseThroughChunks` into a `ColumnZoneStream`, then `finish`: parse, encode, decode
 * and the column build). Process CPU ms (user + system) of each, medians of `--runs`, the
 * order alternating per run; the columns' name and record counts compared.
 *
 *   node --expose-gc dist/bench/parse-ab.js --baseline /tmp/main-base [--records 1000000] [--runs 6]
 * @module
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ColumnZone } from '../src/zone/column-zone.js';
import { cpuMillis, median } from './stats.js';
import { BIG_ORIGIN, generateBigZone } from './zone-load.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

interface Side {
  label: string;
  parse: (text: string) => void;
  load: (text: string) => ColumnZone;
  parseMs: number[];
  loadMs: number[];
}

async function side(label: string, dist: string): Promise<Side> {
  const load = (p: string) => import(pathToFileURL(join(dist, p)).href);
  const pt = await load('src/zone/parse-thread.js');
  const cz = await load('src/zone/column-zone.js');
  const opts = { origin: BIG_ORIGIN, octets: true };
  return {
    label,
    parse: (text) => {
      const buf = new Uint8Array(pt.CHUNK);
      pt.parseToChunks(text, opts, { next: () => buf, send: () => {} }, () => {});
    },
    load: (text) => {
      const stream = new cz.ColumnZoneStream(text.length / 24);
      const parsed = pt.parseThroughChunks(text, opts, stream);
      return stream.finish(parsed.origin, parsed.class);
    },
    parseMs: [],
    loadMs: [],
  };
}

const baseline = arg('baseline', '');
if (baseline === '') throw new Error('--baseline DIR (a build with dist/) is needed');
const records = Number(arg('records', '1000000'));
const runs = Number(arg('runs', '6'));
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const sides = [
  await side(`base (${baseline})`, join(baseline, 'dist')),
  await side('this', new URL('..', import.meta.url).pathname),
];
const dir = mkdtempSync(join(tmpdir(), 'sb-parse-ab-'));
try {
  const file = join(dir, 'big.zone');
  generateBigZone(file, records);
  const text = readFileSync(file, 'latin1');
  console.log(`${records} records, ${text.length} octets; load average ${loadavg()[0].toFixed(1)}`);
  const counts: string[] = [];
  for (let r = 0; r < runs; r++) {
    for (let k = 0; k < sides.length; k++) {
      const s = sides[(r + k) % sides.length];
      gc();
      let c = cpuMillis();
      s.parse(text);
      s.parseMs.push(cpuMillis() - c);
      gc();
      c = cpuMillis();
      const zone = s.load(text);
      s.loadMs.push(cpuMillis() - c);
      counts[(r + k) % sides.length] = `${zone.nameCount} names, ${zone.recordCount} records`;
    }
  }
  for (let i = 0; i < sides.length; i++) {
    const s = sides[i];
    const fmt = (v: number[]) => `${median(v).toFixed(0)} (${v.map((x) => x.toFixed(0)).join(', ')})`;
    console.log(`${s.label}: ${counts[i]}`);
    console.log(`  parse thread's half, ms CPU: ${fmt(s.parseMs)}`);
    console.log(`  parse + columns in one thread, ms CPU: ${fmt(s.loadMs)}`);
  }
  console.log(`load average at the end ${loadavg()[0].toFixed(1)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
