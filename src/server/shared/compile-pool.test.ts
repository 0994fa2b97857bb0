import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openImage } from '../../image/reader.js';
import { CompilePool } from './compile-pool.js';
import { fileSignature, readZoneFile } from './compile-thread.js';

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

  test('warm: an idle thread that exits is replaced by a fresh one, so the next job finds a thread started', async (t) => {
    const pool = new CompilePool({ threads: 2, idleMs: 50, warm: 1 });
    t.after(() => pool.close());
    const job = (serial: number) =>
      pool.compile({ kind: 'text', name: 'w.test.', text: zoneText('w.test.', serial, '192.0.2.1') });
    assert.ok((await job(1)).ok);
    assert.equal(pool.stats.threadsStarted, 1);
    // The thread retires after 50 ms idle; a fresh one takes its place (bounded wait).
    for (let i = 0; i < 100 && pool.stats.threadsStarted < 2; i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(pool.stats.threadsStarted, 2, 'a warm thread started after the idle one exited');
    // The next job goes to that thread: no third start for it.
    const started = pool.stats.threadsStarted;
    assert.ok((await job(2)).ok);
    assert.equal(pool.stats.threadsStarted, started);
    // Without `warm`, an idle pool keeps no thread.
    const cold = new CompilePool({ threads: 1, idleMs: 50 });
    t.after(() => cold.close());
    assert.ok(
      (await cold.compile({ kind: 'text', name: 'c.test.', text: zoneText('c.test.', 1, '192.0.2.1') })).ok,
    );
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(cold.stats.threadsStarted, 1);
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
  test("compileMany: outcomes in the jobs' order across many batches and threads", async (t) => {
    const pool = new CompilePool({ threads: 2, batchJobs: 3, maxQueue: 4, depth: 1 });
    t.after(() => pool.close());
    const names = Array.from({ length: 50 }, (_, i) => `m${i}.test.`);
    const outs = await pool.compileMany(
      names.map((name, i) => ({ kind: 'text', name, text: zoneText(name, i + 1, '192.0.2.9') })),
    );
    assert.equal(outs.length, 50);
    outs.forEach((o, i) => {
      assert.ok(o.ok);
      assert.equal(o.origin, names[i]);
      assert.equal(o.serial, i + 1);
      assert.equal(openImage(o.image).serial, i + 1);
    });
    assert.deepEqual(await pool.compileMany([]), []);
  });

  test('file jobs: the thread reads and fingerprints; unchanged, absent and non-files are skipped', async (t) => {
    const pool = new CompilePool({ threads: 1 });
    const dir = mkdtempSync(join(tmpdir(), 'sb-compile-'));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
      return pool.close();
    });
    const path = join(dir, 'f.test.zone');
    writeFileSync(path, zoneText('f.test.', 3, '192.0.2.3'));
    mkdirSync(join(dir, 'sub.zone'));
    execFileSync('mkfifo', [join(dir, 'pipe.zone')]); // opened without blocking, then skipped
    const [read, gone, sub, fifo] = await pool.compileMany([
      { kind: 'file', path },
      { kind: 'file', path: join(dir, 'gone.zone') },
      { kind: 'file', path: join(dir, 'sub.zone') },
      { kind: 'file', path: join(dir, 'pipe.zone') },
    ]);
    assert.ok(read.ok, JSON.stringify(read));
    assert.equal(read.sig, fileSignature(statSync(path)));
    for (const o of [gone, sub, fifo]) assert.ok(!o.ok && o.skip === 'absent', JSON.stringify(o));
    const sig = read.sig as string;
    // The same fingerprint: not read again, and counted as neither compiled nor failed.
    const before = { ...pool.stats };
    const same = await pool.compile({ kind: 'file', path, sig });
    assert.ok(!same.ok && same.skip === 'unchanged');
    assert.deepEqual(pool.stats, before);
    // Changed: read again, with its new fingerprint.
    appendFileSync(path, 'extra.f.test. 300 IN A 192.0.2.4\n');
    const changed = await pool.compile({ kind: 'file', path, sig });
    assert.ok(changed.ok, JSON.stringify(changed));
    assert.notEqual(changed.sig, sig);
    assert.equal(openImage(changed.image).recordCount, 5);
    // Gone with a fingerprint: absent.
    const vanished = await pool.compile({ kind: 'file', path: join(dir, 'gone.zone'), sig });
    assert.ok(!vanished.ok && vanished.skip === 'absent');
  });

  test('file jobs: a file larger than the read buffer is read whole; an unreadable one fails as loadZoneFile', async (t) => {
    const pool = new CompilePool({ threads: 1 });
    const dir = mkdtempSync(join(tmpdir(), 'sb-compile-'));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
      return pool.close();
    });
    const lines = [zoneText('big.test.', 1, '192.0.2.1')];
    for (let i = 0; i < 30_000; i++) lines.push(`h${i}.big.test. 300 IN TXT "${'y'.repeat(30)}"\n`);
    writeFileSync(join(dir, 'big.test.zone'), lines.join(''));
    writeFileSync(join(dir, 'small.test.zone'), zoneText('small.test.', 2, '192.0.2.2'));
    // Big (over 1 MiB: a buffer of its own), then small (the reused buffer), then big again.
    const outs = await pool.compileMany(
      ['big', 'small', 'big'].map((n) => ({ kind: 'file' as const, path: join(dir, `${n}.test.zone`) })),
    );
    assert.ok(outs.every((o) => o.ok));
    assert.equal(outs[0].ok && openImage(outs[0].image).recordCount, 30_004);
    assert.equal(outs[1].ok && openImage(outs[1].image).recordCount, 4);
    assert.equal(outs[2].ok && openImage(outs[2].image).recordCount, 30_004);
    if (process.getuid?.() !== 0) {
      const locked = join(dir, 'locked.test.zone');
      writeFileSync(locked, zoneText('locked.test.', 1, '192.0.2.1'), { mode: 0 });
      const o = await pool.compile({ kind: 'file', path: locked });
      assert.ok(!o.ok && o.skip === undefined);
      assert.match(o.errors.join('\n'), /EACCES: permission denied, open/);
    }
  });

  test("a thread that dies inside a batch: the batch's other jobs compile, the culprit fails alone", async (t) => {
    const pool = new CompilePool({ threads: 1, heapMb: 24 });
    t.after(() => pool.close());
    const lines = [zoneText('huge.test.', 1, '192.0.2.1')];
    for (let i = 0; i < 400_000; i++) lines.push(`h${i}.huge.test. 300 IN TXT "${'x'.repeat(40)} ${i}"\n`);
    const small = (n: number) => ({
      kind: 'text' as const,
      name: `t${n}.test.`,
      text: zoneText(`t${n}.test.`, n, '192.0.2.3'),
    });
    const outs = await pool.compileMany([
      small(1),
      small(2),
      { kind: 'text', name: 'huge.test.', text: lines.join('') },
      small(3),
    ]);
    assert.deepEqual(
      outs.map((o) => o.ok),
      [true, true, false, true],
    );
    assert.match(outs[2].ok ? '' : outs[2].errors.join('\n'), /huge\.test\.: compile thread failed/);
    assert.equal(outs[3].ok && outs[3].serial, 3);
  });
  test('prestart starts the threads before any job; shrink ends the idle ones, and the next job starts one again', async (t) => {
    const pool = new CompilePool({ threads: 2 });
    t.after(() => pool.close());
    pool.prestart();
    assert.equal(pool.stats.threadsStarted, 2);
    const one = () =>
      pool.compile({ kind: 'text', name: 'p.test.', text: zoneText('p.test.', 1, '192.0.2.1') });
    assert.ok((await one()).ok);
    assert.equal(pool.stats.threadsStarted, 2);
    // Resolves once the idle threads have exited (serve waits for it before a big image is mapped).
    await pool.shrink();
    const after = await one();
    assert.ok(after.ok);
    assert.equal(pool.stats.threadsStarted, 3);
    const u = pool.utilization();
    assert.ok(u.active > 0 && u.idle >= 0);
  });

  test('size-aware: small zones given after big ones compile first, on a lane big ones never take', async (t) => {
    // Two threads; three big zones (over largeChars) then small ones. With a FIFO pool the small
    // ones would wait behind the big compiles; here they are done before the second big one.
    const pool = new CompilePool({ threads: 2, largeChars: 20_000 });
    t.after(() => pool.close());
    const big = (name: string) => {
      let text = zoneText(name, 1, '192.0.2.1');
      for (let i = 0; i < 4000; i++) text += `h${i}.${name} 300 IN A 192.0.2.${i % 250}\n`;
      return { kind: 'text' as const, name, text };
    };
    const order: string[] = [];
    const track = (label: string, p: Promise<unknown>) => p.then(() => order.push(label));
    const bigs = ['b1.test.', 'b2.test.', 'b3.test.'].map((n) => track(n, pool.compile(big(n))));
    // Given while the big ones are queued or running.
    const smalls = Array.from({ length: 6 }, (_, i) =>
      track(
        `s${i}`,
        pool.compile({ kind: 'text', name: `s${i}.test.`, text: zoneText(`s${i}.test.`, 1, '192.0.2.9') }),
      ),
    );
    await Promise.all([...bigs, ...smalls]);
    // One big zone may have started before the small ones came (the small lane is the other
    // thread); every small one is done before the last two big ones.
    const lastSmall = Math.max(...[0, 1, 2, 3, 4, 5].map((i) => order.indexOf(`s${i}`)));
    const bigDone = ['b1.test.', 'b2.test.', 'b3.test.'].map((n) => order.indexOf(n)).sort((a, b) => a - b);
    assert.ok(lastSmall < bigDone[1], `completion order: ${order.join(' ')}`);
    assert.equal(pool.stats.compiled, 9);
  });

  test('a zone file is read without touching its access time (O_NOATIME, as its owner)', (t) => {
    if (process.platform !== 'linux') return t.skip('O_NOATIME is Linux');
    const dir = mkdtempSync(join(tmpdir(), 'sb-noatime-'));
    try {
      const file = join(dir, 'a.test.zone');
      writeFileSync(file, '$ORIGIN a.test.\n@ 3600 SOA ns h 1 2 3 4 5\n');
      // An access time before the change: relatime would update it at the next read.
      const old = new Date(Date.now() - 3 * 86400_000);
      utimesSync(file, old, new Date());
      const before = statSync(file).atimeMs;
      const read = readZoneFile(file);
      assert.ok('text' in read && read.text.includes('SOA'));
      assert.equal(statSync(file).atimeMs, before, 'atime unchanged');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
