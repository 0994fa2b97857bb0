/**
 * Issue 7's "memory sharing (RSS/PSS with 1 vs 4 workers)", through `switchboard serve --images
 * on`: one zone of 1,000,000 records (bench/zone-load.ts's zone, an image of ~144 MB) served by 1
 * and then by 4 workers, pages touched by 4,096 queries for names all over the zone from as many
 * source ports (so that every worker answers some). Every worker reads the image from the
 * primary's pack file, mapped (native/mmap.c: resident pages of the `.sbpack` mapping in each
 * worker); a worker's memory outside that mapping stays under half the image (it holds no copy);
 * and going from 1 to 4 workers grows the summed PSS of the whole tree by less than one image (3
 * private copies would add 3). Measured 2026-12-05 (load ~12): image 137 MiB, resident in full in
 * every worker; a worker's own PSS 16-23 MiB; the tree 230 MiB with 1 worker, 273 with 4. A memory assertion, not a timing one; the figures are printed.
 * Skips without the native addon's mapFile.
 * @module
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BIG_ORIGIN, generateBigZone } from '../../bench/zone-load.js';
import { packMmapStatus } from '../../src/image/pack.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { buildQuery, queryUdp } from '../helpers/dns-client.js';
import { listChildren, startSwitchboard } from '../helpers/peers.js';
import { skipOrFail } from '../helpers/require-peers.js';

const status = packMmapStatus();
const skip = skipOrFail(
  status.mapped ? false : `native mapFile unavailable (${status.reason}); npm run build:native builds it`,
);
const RECORDS = 1_000_000;

const dir = mkdtempSync(join(tmpdir(), 'sb-worker-memory-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** MiB of one process: size, Pss and Rss of its pack-file mappings, and its whole Pss. */
function memoryOf(pid: number): { packSize: number; packPss: number; packRss: number; pss: number } {
  const m = { packSize: 0, packPss: 0, packRss: 0, pss: 0 };
  let inPack = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inPack = line.endsWith('.sbpack');
    else if (inPack) {
      const f = /^(Size|Pss|Rss):\s+(\d+) kB/.exec(line);
      if (f?.[1] === 'Size') m.packSize += Number(f[2]) / 1024;
      if (f?.[1] === 'Pss') m.packPss += Number(f[2]) / 1024;
      if (f?.[1] === 'Rss') m.packRss += Number(f[2]) / 1024;
    }
  }
  m.pss = Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1]) / 1024;
  return m;
}

/** Asks `names` names of the zone, 64 at a time, each query from its own socket (source port). */
async function touch(port: number, names: number): Promise<void> {
  for (let i = 0; i < names; i += 64) {
    await Promise.all(
      Array.from({ length: 64 }, async (_, k) => {
        // Names all over the zone (about 1.8 records a name; a few are CNAMEs: NXDOMAIN is fine).
        const n = Math.floor(((((i + k) * 2654435761) % 2 ** 32) / 2 ** 32) * (RECORDS / 2));
        const q = buildQuery({ name: `h${n}.${BIG_ORIGIN}`, type: 1 });
        const rcode = decodeMessage(await queryUdp(q, { port, timeoutMs: 2000, retries: 2 })).flags & 0xf;
        assert.ok(rcode === 0 || rcode === 3, `h${n}: rcode ${rcode}`);
      }),
    );
  }
}

interface Served {
  workers: number;
  /** MiB: the image's mapping (the pack file's size), the largest seen. */
  image: number;
  /** MiB, per worker: resident pages of the pack mapping, and PSS outside it. */
  packRss: number[];
  own: number[];
  /** MiB, the whole tree's PSS (primary and workers). */
  treePss: number;
}

async function serve(workers: number): Promise<Served> {
  const peer = await startSwitchboard(dir, {
    workers,
    io: 'native',
    args: ['--images', 'on'],
    readyTimeoutMs: 300_000,
  });
  try {
    // A zone this big is staged (docs/IMAGE.md "Answer first, templates after"): measured once
    // its full image is in, not the first image without templates.
    const until = Date.now() + 120_000;
    while (!/its full image served/.test(peer.output())) {
      assert.ok(Date.now() < until, `the full image swapped in: ${peer.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await touch(peer.port, 4096);
    const kids = listChildren(peer.pid);
    assert.equal(kids.length, workers);
    const m = kids.map(memoryOf);
    const r = (v: number) => Math.round(v);
    return {
      workers,
      image: r(Math.max(...m.map((x) => x.packSize))),
      packRss: m.map((x) => r(x.packRss)),
      own: m.map((x) => r(x.pss - x.packPss)),
      treePss: r(memoryOf(peer.pid).pss + m.reduce((s, x) => s + x.pss, 0)),
    };
  } finally {
    await peer.stop();
  }
}

describe('serve --images on: the workers share the zone image', { skip, timeout: 600_000 }, () => {
  test('1 vs 4 workers: every worker maps the image, holds no copy of it; 3 more workers cost less than one image', async () => {
    generateBigZone(join(dir, 'big.test.zone'), RECORDS);
    const one = await serve(1);
    const four = await serve(4);
    const text = JSON.stringify({ one, four });
    console.log(`MiB: ${text}`);
    assert.ok(one.image > 50 && four.image > 50, `the image is mapped from its pack: ${text}`);
    for (const s of [one, four]) {
      for (const rss of s.packRss) assert.ok(rss > 8, `a worker reads the mapped image: ${text}`);
      for (const own of s.own) assert.ok(own < s.image / 2, `a worker's own memory: ${text}`);
    }
    assert.ok(four.treePss - one.treePss < one.image, `tree PSS, 1 vs 4 workers: ${text}`);
  });
});
