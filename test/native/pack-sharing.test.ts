/**
 * Memory sharing of image packs (src/image/pack.ts, native/mmap.c): ~100 MB of images in pack
 * files, read by 1 and then 4 child processes that each open every image and touch every page.
 * The page cache holds one copy: the proportional set size (PSS, /proc/PID/smaps_rollup and
 * the pack files' own mappings in /proc/PID/smaps) summed over the children is about the same
 * with 4 as with 1, not 4×. The copying fallback (no addon) is measured beside it with 2
 * children to show the measure would see copies (2× the images). A memory assertion, not a
 * timing one.
 * @module
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { type ImageRef, PackWriter, packMmapStatus } from '../../src/image/pack.js';
import { killQuietly } from '../helpers/cleanup.js';
import { skipOrFail } from '../helpers/require-peers.js';

const IMAGE_BYTES = 64 * 1024;
const IMAGES = 1600; // 100 MiB
const TOTAL = IMAGE_BYTES * IMAGES;
const MiB = 1024 * 1024;

const status = packMmapStatus();
const skip = skipOrFail(
  status.mapped ? false : `native mapFile unavailable (${status.reason}); npm run build:native builds it`,
);
const root = mkdtempSync(join(tmpdir(), 'sb-pack-share-'));
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) if (c.pid) killQuietly(c.pid);
  rmSync(root, { recursive: true, force: true });
});

/** The child: maps (or copies) every image, touches every page, then waits for stdin to close. */
const CHILD = `
import { readFileSync } from 'node:fs';
const [url, dir, refsFile, mode] = process.argv.slice(1);
const { PackReader } = await import(url);
const refs = JSON.parse(readFileSync(refsFile, 'utf8'));
const reader = new PackReader(dir, { mmap: mode === 'mapped' });
process.stdout.write('loaded\\n');
process.stdin.once('data', () => {
  const views = refs.map((ref) => reader.open(ref));
  let sum = 0;
  for (const v of views) {
    for (let i = 0; i < v.length; i += 4096) sum += v[i];
    sum += v[v.length - 1];
  }
  globalThis.keep = views;
  process.stdout.write('ready ' + reader.mapped + ' ' + sum + '\\n');
});
process.stdin.on('end', () => process.exit(0));
`;

/** Pss of a process in kB: the whole process (smaps_rollup) and the mappings of files under `dir`. */
function pss(pid: number, dir: string): { total: number; packs: number } {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const total = Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1]);
  let packs = 0;
  let inPack = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inPack = line.includes(dir);
    else if (inPack && line.startsWith('Pss:')) packs += Number(/(\d+)/.exec(line)?.[1]);
  }
  return { total, packs };
}

/** Waits for each child to print a line starting with `word`; returns the lines. */
function lines(procs: ChildProcess[], word: string): Promise<string[]> {
  return Promise.all(
    procs.map(
      (p) =>
        new Promise<string>((ok, fail) => {
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
          p.once('exit', (code) => fail(new Error(`child exited (${code}) before "${word}"`)));
        }),
    ),
  );
}

interface Measure {
  /** Sum over the children of the growth of their whole PSS, MiB. */
  totalDelta: number;
  /** Sum over the children of the PSS of the pack mappings, MiB. */
  packs: number;
}

async function measure(n: number, mode: 'mapped' | 'copy', dir: string, refsFile: string): Promise<Measure> {
  const url = pathToFileURL(resolve('dist/src/image/pack.js')).href;
  const procs = Array.from({ length: n }, () => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', CHILD, url, dir, refsFile, mode], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    children.add(p);
    return p;
  });
  try {
    await lines(procs, 'loaded');
    const before = procs.map((p) => pss(p.pid as number, dir));
    for (const p of procs) p.stdin?.write('go\n');
    const ready = await lines(procs, 'ready');
    for (const l of ready) assert.match(l, mode === 'mapped' ? /^ready true / : /^ready false /);
    assert.equal(new Set(ready).size, 1, 'every child read the same bytes');
    const afterTouch = procs.map((p) => pss(p.pid as number, dir));
    const totalDelta = afterTouch.reduce((s, a, i) => s + a.total - before[i].total, 0) / 1024;
    const packs = afterTouch.reduce((s, a) => s + a.packs, 0) / 1024;
    return { totalDelta, packs };
  } finally {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((ok) => {
            if (p.exitCode !== null) return ok();
            p.once('exit', () => ok());
            p.stdin?.end();
          }),
      ),
    );
    for (const p of procs) children.delete(p);
  }
}

describe('image packs share memory between processes', { skip }, () => {
  test('summed PSS with 4 readers is about that of 1 (mapped), 2× with copies', async (t) => {
    const writer = new PackWriter(join(root, 'packs'));
    const refs: ImageRef[] = [];
    for (let i = 0; i < IMAGES; i++) refs.push(writer.add(randomBytes(IMAGE_BYTES)));
    const refsFile = join(root, 'refs.json');
    writeFileSync(refsFile, JSON.stringify(refs));
    try {
      const one = await measure(1, 'mapped', writer.dir, refsFile);
      const four = await measure(4, 'mapped', writer.dir, refsFile);
      const copies = await measure(2, 'copy', writer.dir, refsFile);
      const fmt = (m: Measure): string =>
        `PSS growth ${m.totalDelta.toFixed(1)} MiB, pack mappings ${m.packs.toFixed(1)} MiB`;
      t.diagnostic(`images: ${TOTAL / MiB} MiB in ${writer.stats().packs} packs`);
      t.diagnostic(`1 mapped reader:  ${fmt(one)}`);
      t.diagnostic(`4 mapped readers: ${fmt(four)} (summed)`);
      t.diagnostic(`2 copying readers: ${fmt(copies)} (summed)`);
      const images = TOTAL / MiB;
      // One reader: the pack pages it touched are all its own.
      assert.ok(one.packs > 0.95 * images && one.packs < 1.1 * images, `1 reader: pack PSS ${one.packs} MiB`);
      // Four readers: the same pages, each a quarter in each process.
      assert.ok(
        four.packs > 0.95 * images && four.packs < 1.1 * images,
        `4 readers: pack PSS ${four.packs} MiB`,
      );
      // The whole processes grew by about one copy together, not four.
      assert.ok(
        four.totalDelta < 1.25 * one.totalDelta + 8,
        `4 readers grew ${four.totalDelta} MiB, 1 reader ${one.totalDelta} MiB`,
      );
      // The copying fallback: one copy per process, and the measure sees it.
      assert.ok(copies.packs < 1, 'copies map no pack');
      assert.ok(copies.totalDelta > 1.8 * images, `2 copying readers grew ${copies.totalDelta} MiB`);
    } finally {
      writer.close();
    }
  });
});
