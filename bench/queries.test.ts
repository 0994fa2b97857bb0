import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { seededRandom } from '../test/helpers/prng.js';
import { namesNeeded, randomLabel, randomQueryLines, writeRandomQueryFile } from './queries.js';

describe('random-subdomain query files', () => {
  test('every name of a file is new, and files with different tags share none', () => {
    const a = [...randomQueryLines({ count: 50_000, seed: 1, tag: 't1', origin: 'bench.test.' })];
    const b = [...randomQueryLines({ count: 50_000, seed: 1, tag: 't2', origin: 'bench.test.' })];
    assert.equal(new Set(a).size, 50_000);
    const both = new Set([...a, ...b]);
    assert.equal(both.size, 100_000);
    for (const line of a.slice(0, 100)) assert.match(line, /^[a-z0-9]{7,}-t1\.bench\.test\. A$/);
  });

  test('the same seed gives the same file; another seed another', () => {
    const o = { count: 1000, tag: 'x', origin: 'bench.test' };
    const one = [...randomQueryLines({ ...o, seed: 7 })];
    assert.deepEqual([...randomQueryLines({ ...o, seed: 7 })], one);
    assert.notDeepEqual([...randomQueryLines({ ...o, seed: 8 })], one);
    assert.ok(one[0].endsWith('.bench.test. A'), 'a relative origin gets its final dot');
  });

  test('labels stay unique when the random parts collide', () => {
    // A generator that always returns 0 makes every random part "aaaaaa": the counter still differs.
    const zero = (): number => 0;
    const labels = Array.from({ length: 5000 }, (_, i) => randomLabel(zero, i, 'z'));
    assert.equal(new Set(labels).size, 5000);
    assert.ok(labels.every((l) => l.length <= 63));
    assert.equal(randomLabel(seededRandom(3), 0, 'q').length, 6 + 1 + 2);
  });

  test('the mixed variant asks about existing names about half the time', () => {
    const lines = [
      ...randomQueryLines({
        count: 10_000,
        seed: 5,
        tag: 'm1',
        origin: 'bench.test.',
        existingFraction: 0.5,
        existingNames: (i) => `host-${i}`,
        existingCount: 100,
      }),
    ];
    const existing = lines.filter((l) => /^host-\d+\.bench\.test\. A$/.test(l)).length;
    assert.ok(existing > 4500 && existing < 5500, `${existing} existing of 10000`);
    const random = lines.filter((l) => !l.startsWith('host-'));
    assert.equal(new Set(random).size, random.length);
  });

  test('bad options are refused', () => {
    assert.throws(
      () => [...randomQueryLines({ count: 1, seed: 1, tag: 'Bad tag', origin: 'x.' })],
      /bad tag/,
    );
    assert.throws(
      () => [...randomQueryLines({ count: 1, seed: 1, tag: 'a', origin: 'x.', existingFraction: 0.5 })],
      /existingNames/,
    );
    assert.throws(() => namesNeeded(0, 100), /must be > 0/);
  });

  test('a file holds exactly the lines asked for', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-queries-test-'));
    try {
      const file = join(dir, 'q.txt');
      const n = writeRandomQueryFile(file, { count: 30_000, seed: 9, tag: 'f', origin: 'bench.test.' });
      assert.equal(n, 30_000);
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
      assert.equal(lines.length, 30_000);
      assert.deepEqual(lines, [
        ...randomQueryLines({ count: 30_000, seed: 9, tag: 'f', origin: 'bench.test.' }),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('files are sized from duration × rate with a margin, within bounds', () => {
    assert.equal(namesNeeded(10, 250_000), 3_250_000);
    assert.equal(namesNeeded(1, 10), 10_000);
    assert.equal(namesNeeded(100, 1_000_000), 4_000_000);
    assert.equal(namesNeeded(100, 1_000_000, 123), 123);
  });
});
