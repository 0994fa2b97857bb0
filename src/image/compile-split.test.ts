/**
 * A big zone's compile split over two threads (`compileZoneToFile` with a `CompileHelper`,
 * docs/IMAGE.md "Big zones"): the same octets as the compile in one thread, with the
 * default split (column-zone.test.ts compares every zone it loads split at three points); a
 * failure in the helper fails the compile, never a partial image; a helper that is gone
 * leaves the compile whole; and serve's compile thread splits a big file's compile into the
 * pack folder.
 */
import assert from 'node:assert/strict';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BIG_ORIGIN, generateBigZone } from '../../bench/zone-load.js';
import { runCompile } from '../server/shared/compile-thread.js';
import { type ColumnZone, loadZoneTextColumns } from '../zone/index.js';
import {
  compileZone,
  compileZoneToFile,
  type HalfCompiler,
  SPLIT_NAMES,
  SPLIT_SHARE,
  splitStats,
} from './compile.js';
import { CompileHelper } from './compile-helper.js';

/** Blocks until `helper` is up (a test has nothing else to do meanwhile). */
function whenReady(helper: CompileHelper): void {
  assert.ok(helper.whenReady(30_000), 'the helper thread starts');
}

/** `compileZoneToFile` into a new file in `dir`; the octets read back. */
function toFile(dir: string, zone: ColumnZone, helper?: HalfCompiler): Uint8Array {
  const path = join(dir, `image-${Math.random().toString(16).slice(2)}`);
  const fd = openSync(path, 'w+');
  try {
    const n = compileZoneToFile(zone, fd, 0, {}, helper);
    const out = new Uint8Array(n);
    let done = 0;
    while (done < n) done += readSync(fd, out, done, n - done, done);
    return out;
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
}

function bigZone(dir: string, records: number): { zone: ColumnZone; file: string } {
  const file = join(dir, 'big.test.zone');
  generateBigZone(file, records);
  const { zone } = loadZoneTextColumns(readFileSync(file, 'latin1'), { origin: BIG_ORIGIN, octets: true });
  return { zone, file };
}

describe('a big zone compiled in two threads', () => {
  test('the default split (share and size) gives the one-thread image, and the helper is reused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-split-'));
    const helper = new CompileHelper(dir);
    try {
      const { zone } = bigZone(dir, 90_000);
      assert.ok(zone.nameCount >= SPLIT_NAMES, `${zone.nameCount} names`);
      assert.equal(helper.share, SPLIT_SHARE);
      whenReady(helper);
      const want = Buffer.from(compileZone(zone));
      for (let round = 0; round < 2; round++) {
        assert.ok(Buffer.from(toFile(dir, zone, helper)).equals(want), `round ${round}`);
        assert.ok(helper.ready, 'idle again');
      }
      // The half's template file is unlinked at once: nothing is left in the folder.
      assert.deepEqual(
        readdirSync(dir).filter((f) => f.endsWith('.sbhalf')),
        [],
      );
    } finally {
      helper.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a helper that fails fails the compile (no image), and one that is gone leaves it whole', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-split-'));
    try {
      const { zone } = bigZone(dir, 90_000);
      const want = Buffer.from(compileZone(zone));
      const failing = (where: 'wait' | 'finish'): HalfCompiler => {
        const real = new CompileHelper(dir);
        whenReady(real);
        return {
          ready: true,
          whenReady: () => true,
          minNames: 1,
          share: 0.5,
          start: (job) => real.start(job),
          wait: () => {
            const done = real.wait();
            if (where === 'wait') {
              real.close();
              throw new Error('split compile: injected');
            }
            return done;
          },
          write: (job) => real.write(job),
          finish: () => {
            real.finish();
            real.close();
            throw new Error('split compile: injected');
          },
        };
      };
      for (const where of ['wait', 'finish'] as const)
        assert.throws(() => toFile(dir, zone, failing(where)), /injected/, where);
      // The real helper's own failure: its thread gone before it answers.
      const gone = new CompileHelper(dir, { minNames: 1 });
      whenReady(gone);
      gone.close();
      assert.equal(gone.ready, false);
      assert.ok(Buffer.from(toFile(dir, zone, gone)).equals(want), 'compiled whole');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("serve's compile thread splits a big file's compile into the pack folder (SWITCHBOARD_COMPILE_SPLIT=on): the same image", () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-split-'));
    const was = process.env.SWITCHBOARD_COMPILE_SPLIT;
    process.env.SWITCHBOARD_COMPILE_SPLIT = 'on';
    try {
      // Over the compile thread's 4 MiB (the helper is started after the load).
      const { zone, file } = bigZone(dir, 200_000);
      const packs = join(dir, 'packs');
      mkdirSync(packs, { recursive: true });
      const before = splitStats.compiles;
      const got = runCompile({ kind: 'file', path: file, packDir: packs });
      assert.equal(splitStats.compiles, before + 1, 'split');
      assert.ok(got.ok, got.ok ? '' : got.errors.join('; '));
      assert.ok(got.packed !== undefined, 'written into the pack folder');
      const fd = openSync(join(packs, got.packed.file), 'r');
      const image = new Uint8Array(got.packed.length);
      let done = 0;
      while (done < image.length) done += readSync(fd, image, done, image.length - done, 72 + done);
      closeSync(fd);
      assert.ok(Buffer.from(image).equals(Buffer.from(compileZone(zone))));
      assert.deepEqual(
        readdirSync(packs).filter((f) => !f.endsWith('.sbtmp')),
        [],
      );
    } finally {
      if (was === undefined) delete process.env.SWITCHBOARD_COMPILE_SPLIT;
      else process.env.SWITCHBOARD_COMPILE_SPLIT = was;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
