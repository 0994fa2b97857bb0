import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadZoneFile } from '../src/zone/load.js';
import { manyZoneOrigin, probeSample, writeManyZones } from './many-zones.js';

describe('many-zones suite helpers', () => {
  test('zone names are zero-padded so file order is zone order', () => {
    assert.equal(manyZoneOrigin(0, 100_000), 'z00000.many.test.');
    assert.equal(manyZoneOrigin(99_999, 100_000), 'z99999.many.test.');
    assert.equal(manyZoneOrigin(7, 10), 'z7.many.test.');
    const names = Array.from({ length: 1000 }, (_, i) => manyZoneOrigin(i, 1000));
    assert.deepEqual([...names].sort(), names);
  });

  test('every zone file holds 10 records that Switchboard loads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-many-test-'));
    try {
      const origins = writeManyZones(dir, 12);
      assert.equal(origins.length, 12);
      assert.equal(readdirSync(dir).length, 12);
      for (const origin of [origins[0], origins[11]]) {
        const loaded = loadZoneFile(join(dir, `${origin.slice(0, -1)}.zone`), { origin });
        assert.equal(loaded.zone.recordCount, 10, origin);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the probe sample spans the zones and includes the last 20', () => {
    const s = probeSample(100_000);
    assert.equal(s[0], 0);
    assert.equal(s.at(-1), 99_999);
    for (let i = 99_980; i < 100_000; i++) assert.ok(s.includes(i), `zone ${i} probed`);
    assert.ok(s.length >= 100 && s.length <= 121);
    assert.equal(new Set(s).size, s.length);
    assert.deepEqual(probeSample(3), [0, 1, 2]);
  });
});
