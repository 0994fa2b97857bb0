/**
 * early-load.ts: which zone folders and options start a big file's compile thread before the
 * serve primary loads (the start itself and its load: e2e serve-early-load.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BIG_FILE, bigZoneFile, startEarlyLoad } from './early-load.js';

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
});
