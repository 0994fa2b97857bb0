/**
 * parse-early.ts: the early compile thread's start of a big file's parse thread
 * (`prestartParse` / `takePrestartedParse`) — the file read into the thread's octets, the
 * thread handed over with the file's fingerprint, and the load through it the same as the
 * text's; and what it leaves alone. The whole start through it: e2e serve-early-load,
 * serve-big-zone.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateBigZone } from '../../bench/zone-load.js';
import { earlyThreadParsing } from '../server/shared/compile-pool.js';
import { checkZone } from './check.js';
import { loadZoneTextColumns } from './load.js';
import { PARSE_THREAD_TEXT, prestartParse, takePrestartedParse } from './parse-early.js';

describe('the parse thread started before the compiler loads (prestartParse)', () => {
  let dir = '';
  let file = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sb-parse-early-'));
    file = join(dir, 'big.test.zone');
    generateBigZone(file, 330_000);
    // A warning of the checks (an MX target without addresses) and a CNAME, beside the generator's.
    appendFileSync(file, 'mx1 MX 10 nowhere\nnowhere TXT "no address"\nalias CNAME h1\n');
    assert.ok(statSync(file).size >= PARSE_THREAD_TEXT);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the file read into the thread, handed over once; its load is the text load', () => {
    assert.equal(prestartParse(file), true);
    assert.equal(prestartParse(file), false, 'one at a time');
    const pre = takePrestartedParse(file);
    assert.ok(pre);
    assert.equal(takePrestartedParse(file), undefined, 'taken once');
    const st = statSync(file);
    assert.equal(pre.st.size, st.size);
    assert.equal(pre.st.ino, st.ino);
    assert.equal(pre.st.mtimeMs, st.mtimeMs);
    const text = readFileSync(file, 'latin1');
    assert.equal(pre.early.length, text.length);
    assert.ok(Buffer.from(pre.early.octets.buffer, 0, pre.early.length).equals(readFileSync(file)));
    const stages: string[] = [];
    let early: ReturnType<typeof loadZoneTextColumns>;
    try {
      early = loadZoneTextColumns('', {
        file,
        octets: true,
        early: pre.early,
        stage: (s) => stages.push(s),
      });
    } finally {
      pre.early.close();
    }
    assert.ok(stages.includes('first records from the parse thread'), stages.join(', '));
    const here = loadZoneTextColumns(text, { file, octets: true, thread: false });
    assert.equal(early.zone.nameCount, here.zone.nameCount);
    assert.equal(early.zone.recordCount, here.zone.recordCount);
    assert.deepEqual(early.warnings, here.warnings);
    assert.deepEqual(checkZone(early.zone), checkZone(here.zone));
  });

  test('another path: the thread is stopped, nothing handed over', () => {
    assert.equal(prestartParse(file), true);
    assert.equal(takePrestartedParse(join(dir, 'other.zone')), undefined);
    assert.equal(takePrestartedParse(file), undefined);
  });

  test('nothing started for a small file, a missing one, a folder, or the parse thread off', () => {
    const small = join(dir, 'small.zone');
    writeFileSync(small, '$ORIGIN small.test.\n@ 3600 SOA ns1 h 1 2 3 4 5\n');
    assert.equal(prestartParse(small), false);
    assert.equal(prestartParse(join(dir, 'missing.zone')), false);
    assert.equal(prestartParse(dir), false);
    assert.equal(prestartParse(file, { SWITCHBOARD_PARSE_THREAD: 'off' }), false);
    assert.equal(takePrestartedParse(file), undefined);
  });

  test('earlyThreadParsing: at once without an early compile thread', async () => {
    const t0 = Date.now();
    await earlyThreadParsing(5_000);
    assert.ok(Date.now() - t0 < 1_000);
  });
});
