import assert from 'node:assert/strict';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BIG_ORIGIN, generateBigZone } from '../../../bench/zone-load.js';
import { compileZone } from '../../image/compile.js';
import { loadZoneText } from '../../zone/load.js';
import { CompilePool } from '../shared/compile-pool.js';
import { fileSignature } from '../shared/compile-thread.js';
import { ImageShipper } from '../shared/image-shipper.js';
import { PackReader, PackWriter } from '../shared/images.js';
import { CompiledZoneDir, statSignature } from './image-dir.js';

function zoneText(origin: string | null, serial: number, extra = ''): string {
  return [
    origin ? `$ORIGIN ${origin}` : '',
    '$TTL 300',
    `@ IN SOA ns1.example.net. hostmaster.example.net. ${serial} 7200 900 1209600 300`,
    '  IN NS ns1.example.net.',
    'www IN A 192.0.2.1',
    extra,
    '',
  ].join('\n');
}

describe('CompiledZoneDir', () => {
  test('loads like loadZoneDir, compiles each changed file once, and says what changed', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-imagedir-'));
    const pool = new CompilePool({ threads: 2 });
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
      return pool.close();
    });
    writeFileSync(join(dir, 'a.example.zone'), zoneText(null, 1));
    writeFileSync(join(dir, 'b.example.zone'), zoneText(null, 1));
    writeFileSync(join(dir, 'dup.zone'), zoneText('a.example.', 9));
    writeFileSync(join(dir, 'bad.example.zone'), zoneText(null, 1, 'oops IN A not-an-address'));
    const images = new CompiledZoneDir(dir, pool);

    const first = await images.load();
    assert.deepEqual(
      first.report.files.map((f) => [f.file, f.status]),
      [
        ['a.example.zone', 'loaded'],
        ['b.example.zone', 'loaded'],
        ['bad.example.zone', 'failed'],
        ['dup.zone', 'failed'],
      ],
    );
    assert.match(first.report.files[2].errors[0], new RegExp(`^${join(dir, 'bad.example.zone')}:6: `));
    assert.match(first.report.files[3].errors.join('\n'), /already served from a\.example\.zone/);
    assert.deepEqual(
      first.changes.map((c) => [c.name, c.serial, c.image !== undefined]),
      [
        ['a.example.', 1, true],
        ['b.example.', 1, true],
      ],
    );
    first.commit();
    const compiled = pool.stats.compiled + pool.stats.failed;

    // Nothing changed: nothing is sent, and only dup.zone is compiled again (a file that lost
    // its origin to another keeps no image; it may be served next time).
    const same = await images.load();
    assert.equal(pool.stats.compiled + pool.stats.failed, compiled + 1);
    assert.deepEqual(same.changes, []);
    same.commit();
    assert.deepEqual(
      same.report.files.map((f) => f.status),
      ['loaded', 'loaded', 'failed', 'failed'],
    );

    // a changes, b breaks (kept), the first file of a's origin goes (dup takes it), c is new.
    writeFileSync(join(dir, 'b.example.zone'), zoneText(null, 2, 'broken IN MX'));
    unlinkSync(join(dir, 'a.example.zone'));
    writeFileSync(join(dir, 'c.example.zone'), zoneText(null, 5));
    const next = await images.load();
    assert.deepEqual(
      next.report.files.map((f) => [f.file, f.status, f.serial]),
      [
        ['b.example.zone', 'kept', 1],
        ['bad.example.zone', 'failed', undefined],
        ['c.example.zone', 'loaded', 5],
        ['dup.zone', 'loaded', 9],
      ],
    );
    next.commit();
    assert.deepEqual(next.report.removed, ['a.example.zone']);
    assert.deepEqual(next.changes.map((c) => [c.name, c.serial, c.image !== undefined]).sort(), [
      ['a.example.', 9, true],
      ['c.example.', 5, true],
    ]);
    assert.deepEqual(
      images.zones().map((z) => [z.file, z.origin, z.serial]),
      [
        ['b.example.zone', 'b.example.', 1],
        ['c.example.zone', 'c.example.', 5],
        ['dup.zone', 'a.example.', 9],
      ],
    );

    // An unreadable folder changes nothing.
    const gone = await new CompiledZoneDir(join(dir, 'missing'), pool).load();
    assert.match(gone.report.dirError ?? '', /cannot read zone folder/);
  });

  test('warnings: in the report of the load that compiled the file and of the next one, which skips it; the report serializes', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-imagedir-'));
    const pool = new CompilePool({ threads: 1 });
    const writer = new PackWriter();
    t.after(() => {
      writer.close();
      rmSync(dir, { recursive: true, force: true });
      return pool.close();
    });
    writeFileSync(join(dir, 'a.example.zone'), zoneText('a.example.', 1, '* IN NS ns2.example.net.'));
    writeFileSync(join(dir, 'b.example.zone'), zoneText('b.example.', 1));
    const images = new CompiledZoneDir(dir, pool, writer);
    const first = await images.load();
    const rows = (r: Awaited<ReturnType<CompiledZoneDir['load']>>) =>
      r.report.files.map((f) => [f.file, f.status, f.origin, f.serial, f.warnings, f.errors]);
    assert.deepEqual(
      rows(first).map(([file, status, , , warnings]) => [file, status, (warnings as string[]).length]),
      [
        ['a.example.zone', 'loaded', 1],
        ['b.example.zone', 'loaded', 0],
      ],
    );
    assert.match(first.report.files[0].warnings[0], /wildcard/);
    // An own, enumerable `files`: JSON and structured clone see the entries.
    assert.deepEqual(JSON.parse(JSON.stringify(first.report)), { files: first.report.files, removed: [] });
    assert.deepEqual(structuredClone(first.report).files, first.report.files);
    first.commit();
    const again = await images.load();
    assert.deepEqual(again.changes, []);
    assert.deepEqual(rows(again), rows(first));
  });

  test('a first load of many files reads them without fingerprints, takes those after its commit, and loads as a plain load', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-imagedir-'));
    const pool = new CompilePool({ threads: 2 });
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
      return pool.close();
    });
    for (let i = 0; i < 5; i++) writeFileSync(join(dir, `z${i}.example.zone`), zoneText(null, i + 1));
    writeFileSync(join(dir, 'bad.example.zone'), zoneText(null, 1, 'oops IN A not-an-address'));
    writeFileSync(join(dir, 'dup.zone'), zoneText('z1.example.', 9));
    // Over the 64 KiB of one read: read after an fstat, as any file (and fingerprinted then).
    const txt = Array.from({ length: 1500 }, (_, i) => `t${i} IN TXT "${'x'.repeat(40)}"`).join('\n');
    writeFileSync(join(dir, 'big.example.zone'), zoneText(null, 7, txt));
    assert.ok(statSync(join(dir, 'big.example.zone')).size > 64 * 1024);
    mkdirSync(join(dir, 'folder.zone')); // not a regular file: skipped, as before
    await new Promise((r) => setTimeout(r, 50)); // every ctime before the load's start
    assert.equal(
      statSignature(statSync(join(dir, 'dup.zone'))),
      fileSignature(statSync(join(dir, 'dup.zone'))),
    );

    const view = (l: Awaited<ReturnType<CompiledZoneDir['load']>>) => ({
      files: l.report.files.map((f) => [f.file, f.status, f.serial, f.errors.length]),
      changes: l.changes.map((c) => [c.name, c.serial, Buffer.from(c.image ?? []).toString('base64')]),
    });
    const plain = await new CompiledZoneDir(dir, pool, undefined, { sigLaterFiles: 1e9 }).load();
    const later = new CompiledZoneDir(dir, pool, undefined, { sigLaterFiles: 3, sigLaterMarginMs: 0 });
    const first = await later.load();
    assert.deepEqual(view(first), view(plain));
    assert.equal(first.report.files.length, 8);
    first.commit();
    await later.fingerprinted();

    // Every file fingerprinted: nothing is compiled again but the file that lost its origin.
    const compiled = pool.stats.compiled + pool.stats.failed;
    const same = await later.load();
    assert.deepEqual(same.changes, []);
    assert.equal(pool.stats.compiled + pool.stats.failed, compiled + 1);
    same.commit();
    writeFileSync(join(dir, 'z3.example.zone'), zoneText(null, 33));
    const next = await later.load();
    assert.deepEqual(
      next.changes.map((c) => [c.name, c.serial]),
      [['z3.example.', 33]],
    );
    next.commit();

    // Files changed within the margin of the load's start are not trusted: read again next time.
    const strict = new CompiledZoneDir(dir, pool, undefined, { sigLaterFiles: 3, sigLaterMarginMs: 60_000 });
    const a = await strict.load();
    a.commit();
    await strict.fingerprinted();
    const before = pool.stats.compiled + pool.stats.failed;
    const b = await strict.load();
    assert.deepEqual(view(b).files, view(a).files);
    // 8 files read again (the big one was fingerprinted by its fstat, so 7 compiled again).
    assert.equal(pool.stats.compiled + pool.stats.failed, before + 7);
  });

  test('a load that is not committed (its publish failed) is compiled again by the next one', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-imagedir-'));
    const pool = new CompilePool({ threads: 1 });
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
      return pool.close();
    });
    writeFileSync(join(dir, 'a.example.zone'), zoneText(null, 1));
    writeFileSync(join(dir, 'b.example.zone'), zoneText(null, 1));
    const images = new CompiledZoneDir(dir, pool);
    (await images.load()).commit();

    writeFileSync(join(dir, 'a.example.zone'), zoneText(null, 2));
    unlinkSync(join(dir, 'b.example.zone'));
    const failed = await images.load(); // publishing this one fails: no commit
    const summary = (l: typeof failed) =>
      l.changes.map((c) => [c.name, c.serial, c.image !== undefined]).sort();
    const want = [
      ['a.example.', 2, true],
      ['b.example.', 1, false],
    ];
    assert.deepEqual(summary(failed), want);
    assert.deepEqual(
      images.zones().map((z) => [z.file, z.serial]),
      [
        ['a.example.zone', 1],
        ['b.example.zone', 1],
      ],
    );
    const again = await images.load();
    assert.deepEqual(summary(again), want);
    again.commit();
    assert.deepEqual(
      images.zones().map((z) => [z.file, z.serial]),
      [['a.example.zone', 2]],
    );
    assert.deepEqual((await images.load()).changes, []);
  });
  test("with a store: images go into the packs during the load, changes carry refs, a losing file's image is released", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-imagedir-'));
    const pool = new CompilePool({ threads: 2, batchJobs: 2 });
    const writer = new PackWriter();
    t.after(() => {
      writer.close();
      rmSync(dir, { recursive: true, force: true });
      return pool.close();
    });
    for (let i = 0; i < 9; i++) writeFileSync(join(dir, `z${i}.example.zone`), zoneText(null, i + 1));
    writeFileSync(join(dir, 'zz-dup.zone'), zoneText('z0.example.', 99));
    const images = new CompiledZoneDir(dir, pool, writer);
    const first = await images.load();
    assert.equal(first.changes.length, 9);
    assert.ok(first.changes.every((c) => c.image === undefined && c.ref !== undefined));
    assert.equal(writer.stats().images, 9); // the duplicate's image was stored, then released
    const shipper = new ImageShipper(writer, { broadcast: () => {} });
    shipper.publish(first.changes, false);
    first.commit();
    const reader = new PackReader(writer.dir);
    t.after(() => reader.close());
    const z3 = shipper.get('z3.example.');
    assert.ok(z3);
    assert.ok(reader.open(z3.ref).length > 0);
    assert.equal(writer.stats().images, 9);
    // Unchanged: nothing stored, nothing changed.
    assert.deepEqual((await images.load()).changes, []);
    assert.equal(writer.stats().images, 9);
  });

  test('settled in file order as batches come back out of order: the same report and changes with a store as without', async (t) => {
    // More files than one store write (256) and small batches on two threads, so outcomes
    // come back out of order and files are settled while others still compile; duplicate
    // origins (the first file by name wins) and failures spread through the folder.
    const dir = mkdtempSync(join(tmpdir(), 'sb-imagedir-'));
    const pool = new CompilePool({ threads: 2, batchJobs: 3 });
    const writer = new PackWriter();
    t.after(() => {
      writer.close();
      rmSync(dir, { recursive: true, force: true });
      return pool.close();
    });
    const n = 700;
    for (let i = 0; i < n; i++) {
      const name = `f${String(i).padStart(4, '0')}.example.zone`;
      if (i % 97 === 5) writeFileSync(join(dir, name), zoneText(null, 1, 'oops IN A not-an-address'));
      else if (i % 50 === 49)
        writeFileSync(join(dir, name), zoneText(`f${String(i - 40).padStart(4, '0')}.example.`, 7));
      else writeFileSync(join(dir, name), zoneText(null, i + 1));
    }
    const summary = (r: Awaited<ReturnType<CompiledZoneDir['load']>>) => ({
      files: r.report.files.map((f) => [f.file, f.status, f.origin, f.serial, f.errors.length]),
      changes: r.changes.map((c) => [c.name, c.serial, c.version]),
    });
    // `settled` sees the changes grow while the threads compile, in file order.
    const seen: number[] = [];
    let handed: readonly unknown[] | undefined;
    const stored = await new CompiledZoneDir(dir, pool, writer).load({
      settled: (changes) => {
        handed = changes;
        seen.push(changes.length);
      },
    });
    const plain = await new CompiledZoneDir(dir, pool).load();
    assert.deepEqual(summary(stored), summary(plain));
    assert.equal(handed, stored.changes); // the array the load returns
    assert.ok(seen.length > 1, `settled called ${seen.length} times`);
    assert.ok(seen.every((k, j) => j === 0 || k > seen[j - 1]));
    assert.equal(seen[seen.length - 1], stored.changes.length);
    const failed = stored.report.files.filter((f) => f.status === 'failed');
    const bad = [...Array(n).keys()].filter((i) => i % 97 === 5).length;
    const dups = [...Array(n).keys()].filter(
      (i) => i % 50 === 49 && i % 97 !== 5 && (i - 40) % 97 !== 5,
    ).length;
    assert.equal(failed.length, bad + dups);
    // Each losing file names the file that holds its origin (the first clash, and every one after).
    for (const f of failed) {
      const i = Number(f.file.slice(1, 5));
      if (i % 97 === 5) continue;
      assert.match(
        f.errors[f.errors.length - 1],
        new RegExp(`already served from f${String(i - 40).padStart(4, '0')}\\.example\\.zone$`),
        f.file,
      );
    }
    assert.equal(stored.changes.length, n - bad - dups);
    assert.ok(stored.changes.every((c) => c.ref !== undefined && c.image === undefined));
    assert.equal(writer.stats().images, n - bad - dups); // the losers' images were released
    assert.deepEqual(
      stored.changes.map((c) => c.name),
      stored.report.files.filter((f) => f.status === 'loaded').map((f) => f.origin?.toLowerCase()),
    );
  });

  test('with a store that cannot write (a full disk): the load throws, keeps nothing, and the next load compiles again', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-imagedir-'));
    const pool = new CompilePool({ threads: 1, batchJobs: 1 });
    const writer = new PackWriter();
    t.after(() => {
      writer.close();
      rmSync(dir, { recursive: true, force: true });
      return pool.close();
    });
    for (let i = 0; i < 300; i++) writeFileSync(join(dir, `f${i}.example.zone`), zoneText(null, 1));
    // The real writer, with its second write failing as a full disk fails.
    let writes = 0;
    const full = {
      addMany: (list: readonly Uint8Array[]) => {
        if (++writes === 2) throw new Error('ENOSPC: no space left on device, write');
        return writer.addMany(list);
      },
      release: (ref: Parameters<PackWriter['release']>[0]) => writer.release(ref),
    };
    const images = new CompiledZoneDir(dir, pool, full);
    await assert.rejects(images.load(), /cannot store the zone images, zones unchanged: ENOSPC/);
    assert.equal(writer.stats().images, 0); // the first write's images were released
    assert.deepEqual(images.zones(), []);
    const again = await images.load();
    assert.equal(again.changes.length, 300);
    assert.equal(writer.stats().images, 300);
  });

  test("a big zone's image is written into the pack folder by its thread and adopted: the same image, CHECKED, no file left", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-imagedir-'));
    const pool = new CompilePool({ threads: 2, batchJobs: 2 });
    const writer = new PackWriter();
    t.after(() => {
      writer.close();
      rmSync(dir, { recursive: true, force: true });
      return pool.close();
    });
    // Over the column threshold (1 MiB of text); a second file with the same origin loses
    // it (its adopted image is released), small zones beside them.
    generateBigZone(join(dir, 'big.test.zone'), 45_000);
    copyFileSync(join(dir, 'big.test.zone'), join(dir, 'zz-big.zone'));
    for (let i = 0; i < 5; i++) writeFileSync(join(dir, `z${i}.example.zone`), zoneText(null, i + 1));
    const tmpFiles = () => readdirSync(writer.dir).filter((f) => f.endsWith('.sbtmp'));
    const stored = await new CompiledZoneDir(dir, pool, writer).load();
    const plain = await new CompiledZoneDir(dir, pool).load();
    const summary = (r: typeof stored) =>
      r.report.files.map((f) => [f.file, f.status, f.origin, f.errors.length]);
    assert.deepEqual(summary(stored), summary(plain));
    assert.equal(stored.changes.length, 6);
    assert.ok(stored.changes.every((c) => c.ref !== undefined && c.image === undefined));
    assert.equal(writer.stats().images, 6, "the losing file's image was released");
    assert.deepEqual(tmpFiles(), []);
    const big = stored.changes.find((c) => c.name === BIG_ORIGIN);
    assert.ok(big?.ref);
    const want = compileZone(
      loadZoneText(readFileSync(join(dir, 'big.test.zone'), 'latin1'), { origin: BIG_ORIGIN }).zone,
    );
    assert.deepEqual(
      plain.changes.find((c) => c.name === BIG_ORIGIN)?.image,
      want,
      'compiled in memory without a store',
    );
    const reader = new PackReader(writer.dir);
    t.after(() => reader.close());
    const got = reader.open(big.ref);
    assert.ok(Buffer.from(got).equals(Buffer.from(want)));
    assert.equal(reader.verified(big.ref, got), true, 'a CHECKED pack of its own');
    // A store that cannot take it (a full disk): the load throws and keeps nothing.
    const full = {
      dir: writer.dir,
      addMany: (list: readonly Uint8Array[]) => writer.addMany(list),
      release: (ref: Parameters<PackWriter['release']>[0]) => writer.release(ref),
      adopt: () => {
        throw new Error('ENOSPC: no space left on device, write');
      },
    };
    const before = writer.stats().images;
    const failing = new CompiledZoneDir(dir, pool, full);
    await assert.rejects(failing.load(), /cannot store the zone images, zones unchanged: ENOSPC/);
    assert.equal(writer.stats().images, before, 'what the failed load stored was released');
    assert.deepEqual(failing.zones(), []);
    assert.deepEqual(tmpFiles(), [], 'the image it could not take was removed');
  });
});
