import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openImage } from '../../image/reader.js';
import { CompilePool } from './compile-pool.js';

function zoneText(name: string, serial: number, address: string): string {
  return (
    `${name} 3600 IN SOA ns1.${name} hostmaster.${name} ${serial} 10800 3600 604800 3600\n` +
    `${name} 3600 IN NS ns1.${name}\n` +
    `ns1.${name} 300 IN A 192.0.2.53\n` +
    `www.${name} 300 IN A ${address}\n`
  );
}

describe('CompilePool', () => {
  test('compiles zone text into a valid image, transferred whole', async (t) => {
    const pool = new CompilePool({ threads: 2 });
    t.after(() => pool.close());
    const o = await pool.compile({
      kind: 'text',
      name: 'a.test.',
      text: zoneText('a.test.', 7, '192.0.2.1'),
    });
    assert.ok(o.ok, JSON.stringify(o));
    assert.equal(o.origin, 'a.test.');
    assert.equal(o.serial, 7);
    assert.equal(o.image.byteOffset, 0);
    assert.equal(o.image.byteLength, o.image.buffer.byteLength);
    const image = openImage(o.image);
    assert.equal(image.serial, 7);
    assert.equal(image.recordCount, 4);
  });

  test('a zone that does not parse is reported with its line; the pool goes on', async (t) => {
    const pool = new CompilePool({ threads: 1 });
    t.after(() => pool.close());
    const bad = await pool.compile({
      kind: 'text',
      name: 'b.test.',
      text: `${zoneText('b.test.', 1, '192.0.2.1')}oops.b.test. 300 IN A not-an-address\n`,
    });
    assert.equal(bad.ok, false);
    assert.match(bad.ok ? '' : bad.errors.join('\n'), /b\.test\.:5/);
    const good = await pool.compile({
      kind: 'text',
      name: 'b.test.',
      text: zoneText('b.test.', 2, '192.0.2.2'),
    });
    assert.ok(good.ok);
  });

  test('files are strict (the zone checks apply); text from the control plane is not', async (t) => {
    const pool = new CompilePool({ threads: 1 });
    const dir = mkdtempSync(join(tmpdir(), 'sb-compile-'));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
      return pool.close();
    });
    const text = 'n.test. 60 IN SOA ns.elsewhere. h.n.test. 1 1 1 1 1\nn.test. 60 IN NS ns1.n.test.\n';
    writeFileSync(join(dir, 'n.test.zone'), text);
    const file = await pool.compile({ kind: 'file', path: join(dir, 'n.test.zone') });
    assert.equal(file.ok, false);
    assert.match(file.ok ? '' : file.errors.join('\n'), /n\.test\.zone/);
    const pushed = await pool.compile({ kind: 'text', name: 'n.test.', text });
    assert.ok(pushed.ok, JSON.stringify(pushed));
  });

  test('many zones through a small queue: every one comes back, matched to its job', async (t) => {
    const pool = new CompilePool({ threads: 2, maxQueue: 2 });
    t.after(() => pool.close());
    const names = Array.from({ length: 40 }, (_, i) => `z${i}.test.`);
    const outs = await Promise.all(
      names.map((name, i) => pool.compile({ kind: 'text', name, text: zoneText(name, i + 1, '192.0.2.9') })),
    );
    outs.forEach((o, i) => {
      assert.ok(o.ok);
      assert.equal(o.origin, names[i]);
      assert.equal(o.serial, i + 1);
    });
    assert.equal(pool.stats.compiled, 40);
    assert.ok(pool.stats.threadsStarted <= 2);
  });

  test('a zone that runs a thread out of its heap fails alone; the jobs beside it compile', async (t) => {
    const pool = new CompilePool({ threads: 1, heapMb: 24 });
    t.after(() => pool.close());
    const lines = [zoneText('big.test.', 1, '192.0.2.1')];
    for (let i = 0; i < 400_000; i++) lines.push(`h${i}.big.test. 300 IN TXT "${'x'.repeat(40)} ${i}"\n`);
    const small = (n: number) =>
      pool.compile({ kind: 'text', name: `s${n}.test.`, text: zoneText(`s${n}.test.`, n, '192.0.2.3') });
    // Posted to the same thread: the big one kills it, and the others run again, alone.
    const [before, big, after] = await Promise.all([
      small(1),
      pool.compile({ kind: 'text', name: 'big.test.', text: lines.join('') }),
      small(2),
    ]);
    assert.equal(big.ok, false);
    assert.match(big.ok ? '' : big.errors.join('\n'), /big\.test\.: compile thread failed/);
    assert.ok(before.ok && after.ok, JSON.stringify([before, after]));
    assert.equal(before.serial, 1);
    assert.equal(after.serial, 2);
    assert.ok((await small(3)).ok);
    assert.ok(pool.stats.threadsStarted >= 2);
  });

  test('closing fails the queued jobs', async () => {
    const pool = new CompilePool({ threads: 1 });
    const jobs = Array.from({ length: 5 }, (_, i) =>
      pool.compile({ kind: 'text', name: `c${i}.test.`, text: zoneText(`c${i}.test.`, 1, '192.0.2.1') }),
    );
    await pool.close();
    const outs = await Promise.all(jobs);
    assert.ok(outs.some((o) => !o.ok && /closed/.test(o.errors[0])));
    const after = await pool.compile({
      kind: 'text',
      name: 'd.test.',
      text: zoneText('d.test.', 1, '192.0.2.1'),
    });
    assert.equal(after.ok, false);
  });
});
