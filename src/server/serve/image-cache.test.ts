import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CompilePool } from '../shared/compile-pool.js';
import { cacheFileOf, compilerKey, ImageCacheWriter, readImageCache } from './image-cache.js';
import { CompiledZoneDir } from './image-dir.js';

function zoneFile(dir: string, name: string, serial: number): void {
  writeFileSync(
    join(dir, `${name}.zone`),
    `$ORIGIN ${name}.\n$TTL 300\n@ IN SOA ns1.example.net. h.example.net. ${serial} 7200 900 1209600 300\n  IN NS ns1.example.net.\nwww IN A 192.0.2.${serial % 250}\n`,
  );
}

describe('image cache (SWITCHBOARD_IMAGE_CACHE)', () => {
  test('a start takes the cached images of unchanged files, compiles the changed ones, and never trusts a bad cache', async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'sb-image-cache-'));
    const zones = join(root, 'zones');
    mkdirSync(zones);
    for (const n of ['a.test', 'b.test', 'c.test']) zoneFile(zones, n, 1);
    const pool = new CompilePool({ threads: 1 });
    t.after(async () => {
      await pool.close();
      rmSync(root, { recursive: true, force: true });
    });
    const path = cacheFileOf(join(root, 'cache'), zones);

    // A start with no cache: everything compiled, the cache written.
    const images = new Map<string, Uint8Array>();
    const start = async () => {
      const dir = new CompiledZoneDir(zones, pool);
      const read = readImageCache(path);
      dir.useCache('entries' in read ? read.entries : undefined, () => new ImageCacheWriter(path));
      const compiledBefore = pool.stats.compiled;
      const load = await dir.load();
      assert.equal(dir.cacheWriter?.commit(), undefined);
      load.commit();
      for (const c of load.changes) images.set(c.name, c.image as Uint8Array);
      return { dir, load, read, compiled: pool.stats.compiled - compiledBefore };
    };
    const cold = await start();
    assert.deepEqual('why' in cold.read && cold.read.why, 'none yet');
    assert.equal(cold.compiled, 3);
    assert.equal(cold.dir.fromCache, 0);
    assert.ok(existsSync(path));
    const coldImages = new Map(images);

    // Warm: nothing read or compiled, the same octets, the cache left as it is.
    const warm = await start();
    assert.equal(warm.compiled, 0);
    assert.equal(warm.dir.fromCache, 3);
    assert.equal(warm.dir.cacheWriter, undefined, 'nothing compiled: the cache is not rewritten');
    assert.equal(warm.load.report.files.filter((f) => f.status === 'loaded').length, 3);
    for (const [name, image] of coldImages)
      assert.ok(Buffer.from(image).equals(images.get(name) as Uint8Array), `${name}: the same octets`);

    // One file changed: it alone is compiled (serial 2), the cache rewritten with all three.
    zoneFile(zones, 'b.test', 2);
    const changed = await start();
    assert.equal(changed.compiled, 1);
    assert.equal(changed.dir.fromCache, 2);
    assert.equal(changed.load.report.files.find((f) => f.file === 'b.test.zone')?.serial, 2);
    const again = readImageCache(path);
    assert.ok('entries' in again);
    assert.equal(again.entries.size, 3);
    assert.equal(again.entries.get('b.test.zone')?.serial, 2);

    // A flipped octet anywhere, a cut, or another compiler: the cache is not used at all.
    const good = readFileSync(path);
    const bad = Buffer.from(good);
    bad[Math.floor(bad.length / 2)] ^= 0x40;
    writeFileSync(path, bad);
    assert.match((readImageCache(path) as { why: string }).why, /checksum/);
    const corrupt = await start();
    assert.equal(corrupt.compiled, 3, 'a corrupt cache: every zone compiled');
    assert.equal(corrupt.dir.fromCache, 0);
    writeFileSync(path, good.subarray(0, good.length - 1));
    assert.match((readImageCache(path) as { why: string }).why, /checksum|truncated/);
    writeFileSync(path, good);
    assert.match((readImageCache(path, `${compilerKey()}x`) as { why: string }).why, /another compiler/);
    assert.ok('entries' in readImageCache(path));
  });

  test('bounded: a cache that would pass its size is not written', () => {
    const root = mkdtempSync(join(tmpdir(), 'sb-image-cache-'));
    try {
      const path = join(root, 'x.sbcache');
      const w = new ImageCacheWriter(path, compilerKey(), 1000);
      const e = { sig: '1:2:3:4', key: '\x01a\x00', origin: 'a.', serial: 1 };
      w.add('a.zone', e, new Uint8Array(600));
      w.add('b.zone', e, new Uint8Array(600));
      assert.match(w.commit() ?? '', /over 1000 octets/);
      assert.ok(!existsSync(path));
      assert.deepEqual(readImageCache(path), { why: 'none yet' });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
