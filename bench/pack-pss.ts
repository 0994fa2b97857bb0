/**
 * Memory of workers serving zone images from packs (src/image/pack.ts): N zones of the
 * many-zones suite (10 records each) are compiled once, written into packs, and then 1, 2 and
 * 4 reader processes each open every image (`PackReader.open` + `openImage` into an
 * `ImageCatalog`, as a worker would) and answer one query per zone (so every image's pages are
 * touched). Summed PSS over the readers (/proc/PID/smaps_rollup), mapped and with the copying
 * fallback. The growth over an idle reader is what the images cost; a Node process's own
 * baseline (~40 MiB, partly shared) is reported apart.
 *
 *   node dist/bench/pack-pss.js [--zones 10000] [--readers 1,2,4]
 *
 * Writes only under a temp dir (removed). No network.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { compileZone } from '../src/image/compile.js';
import { PackWriter, packMmapStatus } from '../src/image/pack.js';
import { loadZoneText } from '../src/zone/load.js';
import { manyZoneOrigin, manyZoneText } from './many-zones.js';
import { readRollup } from './pss.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
}

const zones = Number(arg('zones', '10000'));
const readerCounts = arg('readers', '1,2,4').split(',').map(Number);
const MiB = 2 ** 20;

/** A reader process: opens every image, answers one query per zone, reports, waits. */
const CHILD = `
import { readFileSync } from 'node:fs';
const [packUrl, readerUrl, dir, refsFile, mode] = process.argv.slice(1);
const { PackReader } = await import(packUrl);
const { ImageCatalog, openImage, parseQuery, respondFromImage } = await import(readerUrl);
const refs = JSON.parse(readFileSync(refsFile, 'utf8'));
const reader = new PackReader(dir, { mmap: mode === 'mapped' });
process.stdout.write('idle\\n');
process.stdin.once('data', () => {
  const catalog = new ImageCatalog();
  for (const ref of refs) catalog.put(openImage(reader.open(ref)));
  const out = new Uint8Array(65535);
  let answered = 0;
  for (let i = 0; i < refs.length; i++) {
    const name = 'www.z' + String(i).padStart(String(Math.max(1, refs.length - 1)).length, '0') + '.many.test';
    const q = [0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for (const l of name.split('.')) q.push(l.length, ...Buffer.from(l));
    q.push(0, 0, 1, 0, 1);
    const pq = parseQuery(Uint8Array.from(q), 'udp');
    if (pq && respondFromImage(catalog, pq, out) > 0) answered++;
  }
  globalThis.keep = catalog;
  if (global.gc) global.gc();
  process.stdout.write('ready ' + catalog.size + ' ' + answered + '\\n');
});
process.stdin.on('end', () => process.exit(0));
`;

function waitLine(p: ChildProcess, word: string): Promise<string> {
  return new Promise((ok, fail) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString();
      const line = buf.split('\n').find((l) => l.startsWith(word));
      if (line !== undefined) {
        p.stdout?.off('data', onData);
        ok(line);
      }
    };
    p.stdout?.on('data', onData);
    p.once('exit', (code) => fail(new Error(`reader exited (${code}) before "${word}"`)));
  });
}

async function run(n: number, mode: 'mapped' | 'copy', dir: string, refsFile: string) {
  const packUrl = pathToFileURL(resolve('dist/src/image/pack.js')).href;
  const readerUrl = pathToFileURL(resolve('dist/src/image/reader.js')).href;
  const procs = Array.from({ length: n }, () =>
    spawn(
      process.execPath,
      ['--expose-gc', '--input-type=module', '-e', CHILD, packUrl, readerUrl, dir, refsFile, mode],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    ),
  );
  try {
    await Promise.all(procs.map((p) => waitLine(p, 'idle')));
    const idle = procs.reduce((s, p) => s + (readRollup(p.pid as number)?.pss ?? 0), 0);
    for (const p of procs) p.stdin?.write('go\n');
    const ready = await Promise.all(procs.map((p) => waitLine(p, 'ready')));
    const loaded = procs.reduce((s, p) => s + (readRollup(p.pid as number)?.pss ?? 0), 0);
    const [, size, answered] = ready[0].split(' ').map(Number);
    if (size !== zones || answered !== zones)
      throw new Error(`reader served ${size} zones, answered ${answered}`);
    return { idle, loaded };
  } finally {
    for (const p of procs) p.stdin?.end();
    await Promise.all(
      procs.map((p) => (p.exitCode !== null ? undefined : new Promise((ok) => p.once('exit', ok)))),
    );
  }
}

const base = mkdtempSync(join(tmpdir(), 'sb-bench-pack-pss-'));
try {
  let t = performance.now();
  const images = Array.from({ length: zones }, (_, i) => {
    const origin = manyZoneOrigin(i, zones);
    return compileZone(loadZoneText(manyZoneText(origin, i), { origin }).zone);
  });
  const compileS = (performance.now() - t) / 1000;
  const writer = new PackWriter(join(base, 'packs'));
  t = performance.now();
  const refs = writer.addMany(images);
  const writeS = (performance.now() - t) / 1000;
  const bytes = images.reduce((s, b) => s + b.length, 0);
  const refsFile = join(base, 'refs.json');
  writeFileSync(refsFile, JSON.stringify(refs));
  console.log(
    `${zones} zones × 10 records: images ${(bytes / MiB).toFixed(1)} MiB in ${writer.stats().packs} packs; ` +
      `compile ${compileS.toFixed(1)} s (one thread), addMany ${(writeS * 1000).toFixed(0)} ms`,
  );
  const modes: ('mapped' | 'copy')[] = packMmapStatus().mapped ? ['mapped', 'copy'] : ['copy'];
  console.log('| readers | mode | summed PSS idle | summed PSS serving | growth | growth per reader |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const mode of modes)
    for (const n of readerCounts) {
      const { idle, loaded } = await run(n, mode, writer.dir, refsFile);
      const growth = loaded - idle;
      const f = (x: number): string => `${(x / MiB).toFixed(1)} MiB`;
      console.log(`| ${n} | ${mode} | ${f(idle)} | ${f(loaded)} | ${f(growth)} | ${f(growth / n)} |`);
    }
  writer.close();
} finally {
  rmSync(base, { recursive: true, force: true });
}
