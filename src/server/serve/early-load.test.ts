/**
 * early-load.ts: which zone folders and options start a big file's compile thread before the
 * serve primary loads (the start itself and its load: e2e serve-early-load.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BIG_FILE, bigZoneFile, startEarlyListing, startEarlyLoad, takeEarlyListing } from './early-load.js';

describe('the early start of a big zone file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-early-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('bigZoneFile: the path only when the big file is the one zone file', () => {
    assert.deepEqual(bigZoneFile(join(dir, 'missing')), { big: false });
    assert.deepEqual(bigZoneFile(dir), { big: false, only: undefined });
    const big = join(dir, 'big.test.zone');
    writeFileSync(big, '');
    truncateSync(big, BIG_FILE); // sparse: its size is what counts
    writeFileSync(join(dir, 'notes.txt'), 'not a zone');
    assert.deepEqual(bigZoneFile(dir), { big: true, only: big });
    writeFileSync(join(dir, 'small.test.zone'), '');
    assert.deepEqual(bigZoneFile(dir), { big: true, only: undefined });
    rmSync(join(dir, 'small.test.zone'));
    truncateSync(big, BIG_FILE - 1);
    assert.deepEqual(bigZoneFile(dir), { big: false, only: undefined });
    truncateSync(big, BIG_FILE);
  });

  test('startEarlyLoad starts nothing unless the options leave no doubt', () => {
    const env = {};
    const no = (opts: Parameters<typeof startEarlyLoad>[0], e: NodeJS.ProcessEnv = env) =>
      assert.equal(startEarlyLoad(opts, e, dir), false, JSON.stringify({ opts, e }));
    no({ zoneDir: dir, images: 'off' });
    no({ zoneDir: dir, images: false });
    no({ zoneDir: dir }, { SWITCHBOARD_IMAGES: 'off' });
    no({ zoneDir: dir, workers: '0' });
    no({ zoneDir: dir, workers: 'two' });
    no({ zoneDir: dir }, { SWITCHBOARD_IMAGE_CACHE: '/tmp/cache' });
    no({ zoneDir: dir }, { SWITCHBOARD_PARSE_THREAD: 'off' });
    no({ zoneDir: dir }, { SWITCHBOARD_EARLY_LOAD: 'off' });
    no({});
    no({ zoneDir: join(dir, 'missing') });
  });

  test('bigZoneFile: a folder of many small zone files is `many` (its compile threads start early)', () => {
    const many = mkdtempSync(join(tmpdir(), 'sb-early-many-'));
    try {
      for (let i = 0; i < 31; i++) writeFileSync(join(many, `z${i}.test.zone`), '');
      for (let i = 0; i < 40; i++) writeFileSync(join(many, `note${i}.txt`), '');
      // More entries than are looked at, but fewer than half of them zone files: not many.
      assert.deepEqual(bigZoneFile(many), { big: false });
      for (let i = 31; i < 70; i++) writeFileSync(join(many, `z${i}.test.zone`), '');
      assert.deepEqual(bigZoneFile(many), { big: false, many: true });
      // A big file among them: the big file's start, not many's.
      const big = join(many, 'big.test.zone');
      writeFileSync(big, '');
      truncateSync(big, BIG_FILE);
      // (Whether the big file is among the entries looked at depends on the listing's order.)
      assert.equal(bigZoneFile(many).many === true && bigZoneFile(many).big, false);
    } finally {
      rmSync(many, { recursive: true, force: true });
    }
  });

  test('the early listing is taken once, by a load of the same folder', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'sb-early-list-'));
    try {
      writeFileSync(join(folder, 'a.test.zone'), '');
      assert.equal(takeEarlyListing(folder), undefined);
      startEarlyListing(folder);
      assert.equal(takeEarlyListing(join(folder, 'other')), undefined, 'another folder: not taken');
      startEarlyListing(folder);
      const listed = await takeEarlyListing(folder);
      assert.deepEqual(
        listed?.map((e) => e.name),
        ['a.test.zone'],
      );
      assert.equal(takeEarlyListing(folder), undefined, 'taken once');
      // A folder that cannot be listed: undefined (the load lists it itself and says why).
      startEarlyListing(join(folder, 'missing'));
      assert.equal(await takeEarlyListing(join(folder, 'missing')), undefined);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
