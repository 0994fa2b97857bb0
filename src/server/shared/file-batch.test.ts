import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileSignature, readZoneFile } from './compile-thread.js';
import { nativeReadAvailable, readZoneFilesNative } from './file-batch.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-file-batch-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const skip = nativeReadAvailable() ? false : 'the native addon is not built';

describe('readZoneFilesNative', { skip }, () => {
  test('the same texts and fingerprints as readZoneFile, across several buffer fills', () => {
    const paths: string[] = [];
    // 300 small files and four of 400 KiB (the 1 MiB buffer is refilled between them), with
    // every octet value (latin1: one char per octet).
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    for (let i = 0; i < 304; i++) {
      const p = join(dir, `f${i}.zone`);
      const big = i % 100 === 7;
      const body = big ? Buffer.alloc(400 * 1024, `line ${i}\n`) : Buffer.from(`@ SOA zone ${i}\n`);
      writeFileSync(p, Buffer.concat([body, all]));
      paths.push(p);
    }
    const got = readZoneFilesNative(
      paths,
      paths.map(() => ''),
    );
    assert.ok(got);
    paths.forEach((p, i) => {
      const want = readZoneFile(p);
      assert.deepEqual(got[i], want, p);
      assert.equal((got[i] as { sig: string }).sig, fileSignature(statSync(p)));
    });
  });

  test('absent, not a regular file, too large and unchanged or changed fingerprints', () => {
    const small = join(dir, 'small.zone');
    writeFileSync(small, '@ SOA x\n');
    const large = join(dir, 'large.zone');
    writeFileSync(large, Buffer.alloc(2 * 1024 * 1024, 'a'));
    const sub = join(dir, 'sub.zone');
    mkdirSync(sub);
    const fifo = join(dir, 'fifo.zone');
    execFileSync('mkfifo', [fifo]);
    const changed = join(dir, 'changed.zone');
    writeFileSync(changed, 'one\n');
    const oldSig = fileSignature(statSync(changed));
    writeFileSync(changed, 'two, longer\n');
    const sig = fileSignature(statSync(small));
    const paths = [small, join(dir, 'missing.zone'), sub, fifo, large, small, changed, small];
    const sigs = ['', '', '', '', '', sig, oldSig, ''];
    const got = readZoneFilesNative(paths, sigs);
    assert.ok(got);
    assert.deepEqual(got[0], { text: '@ SOA x\n', sig });
    assert.deepEqual(got[1], { skip: 'absent' });
    assert.deepEqual(got[2], { skip: 'absent' });
    assert.deepEqual(got[3], { skip: 'absent' }); // opened O_NONBLOCK: never waits for a writer
    assert.equal(got[4], undefined); // larger than the buffer: the caller reads it
    assert.deepEqual(got[5], { skip: 'unchanged' });
    assert.equal(got[6], undefined); // changed since: the caller reads it
    assert.deepEqual(got[7], { text: '@ SOA x\n', sig });
    // What the caller then does gives what it always gave.
    assert.equal((readZoneFile(large) as { text: string }).text.length, 2 * 1024 * 1024);
    assert.deepEqual(readZoneFile(changed, oldSig), {
      text: 'two, longer\n',
      sig: fileSignature(statSync(changed)),
    });
  });

  test('bad arguments are TypeErrors, not crashes', () => {
    assert.deepEqual(readZoneFilesNative([], []), []);
    assert.throws(() => readZoneFilesNative([42 as unknown as string], ['']), /every path must be a string/);
    // A path with a zero octet or far too long is left to the caller (whose fs call reports it).
    assert.deepEqual(readZoneFilesNative(['a\0b', 'x'.repeat(5000)], ['', '']), [undefined, undefined]);
  });
});
