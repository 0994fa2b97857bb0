/**
 * Image packs (pack.ts, native/mmap.c): append, full pack → new pack, an image bigger than a
 * pack, release and compaction, views valid after unlink, corrupt packs and bad refs refused
 * with a clear error, the copying fallback, the directory lock. Every test runs on both
 * reader paths (mapped when the addon is built, and the copy); the mapped ones skip without
 * the addon (and fail with SWITCHBOARD_REQUIRE_PEERS=1).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { buildQuery } from '../../test/helpers/dns-client.js';
import { exampleZones } from '../../test/helpers/paths.js';
import { seededRandom } from '../../test/helpers/prng.js';
import { skipOrFail } from '../../test/helpers/require-peers.js';
import { Catalog } from '../answer/catalog.js';
import { Responder } from '../answer/respond.js';
import { nativeAddonPath } from '../transport/native-udp.js';
import { loadZoneFile } from '../zone/load.js';
import { compileZone } from './compile.js';
import {
  DEFAULT_PACK_BYTES,
  discardPackedImage,
  type ImageRef,
  PACK_HEADER_SIZE,
  PackEntries,
  PackError,
  PackReader,
  PackWriter,
  packMmapStatus,
  refKey,
  trimNativeHeap,
  writePackedImage,
} from './pack.js';
import { openImage, parseQuery, respondFromImage } from './reader.js';
import { ImageZone } from './zone-view.js';

const root = mkdtempSync(join(tmpdir(), 'sb-pack-test-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const newDir = (): string => join(root, `d${++dirs}`);

const status = packMmapStatus();
const mappedSkip = skipOrFail(
  status.mapped ? false : `native mapFile unavailable (${status.reason}); npm run build:native builds it`,
);

/** Deterministic image bytes: `n` octets seeded by `seed`. */
function image(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

/** Applies `f` to `b` and returns `b`. */
function spoilWith(b: Buffer, f: (b: Buffer) => unknown): Buffer {
  f(b);
  return b;
}

const packFiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.sbpack'));

for (const mode of ['mapped', 'copy'] as const) {
  const reader = (dir: string): PackReader => new PackReader(dir, { mmap: mode === 'mapped' });
  const skip = mode === 'mapped' ? mappedSkip : false;

  describe(`packs, ${mode} reader`, { skip }, () => {
    test('images read back as written, 8-aligned, in one preallocated pack', () => {
      const w = new PackWriter(newDir(), { packBytes: 1 << 20 });
      try {
        const r = reader(w.dir);
        assert.equal(r.mapped, mode === 'mapped');
        const imgs = [1, 7, 8, 9, 100, 4096, 5000].map((n, i) => image(n, i + 1));
        const refs = imgs.map((b) => w.add(b));
        for (const [i, ref] of refs.entries()) {
          assert.equal(ref.offset % 8, 0);
          assert.equal(ref.length, imgs[i].length);
          const got = r.open(ref);
          assert.deepEqual(got, imgs[i]);
          if (mode === 'mapped') assert.equal(got.byteOffset, ref.offset, 'a view in place, not a copy');
        }
        assert.equal(new Set(refs.map((x) => x.pack)).size, 1);
        const files = packFiles(w.dir);
        assert.equal(files.length, 1);
        assert.equal(statSync(join(w.dir, files[0])).size, 1 << 20, 'preallocated to its capacity');
        // Appended after the reader mapped the pack: seen without remapping.
        const later = image(300, 99);
        const ref = w.add(later);
        assert.deepEqual(r.open(ref), later);
        if (mode === 'mapped') assert.equal(r.mappedPacks(), 1);
        const s = w.stats();
        assert.equal(s.images, 8);
        assert.equal(s.packs, 1);
        assert.equal(s.dead, 0);
      } finally {
        w.close();
      }
    });

    test('an image written into the folder by another thread (writePackedImage) is adopted as a CHECKED pack of its own', () => {
      const w = new PackWriter(newDir(), { packBytes: 1024 });
      try {
        const r = reader(w.dir);
        const small = w.add(image(100, 1));
        const imgs = [1, 7, 8, 5000, 1 << 20].map((n, i) => image(n, i + 10));
        for (const img of imgs) {
          // Written in pieces at the base given, as compileZoneToFile does.
          const packed = writePackedImage(w.dir, (fd, base) => {
            for (let at = 0; at < img.length; at += 3000)
              writeSync(fd, img, at, Math.min(3000, img.length - at), base + at);
            return img.length;
          });
          assert.equal(packed.length, img.length);
          assert.ok(existsSync(join(w.dir, packed.file)));
          const ref = w.adopt(packed);
          assert.ok(!existsSync(join(w.dir, packed.file)), 'renamed to a pack name');
          assert.equal(ref.offset, PACK_HEADER_SIZE + 8);
          assert.equal(
            statSync(join(w.dir, ref.pack)).size,
            PACK_HEADER_SIZE + Math.ceil((8 + img.length) / 8) * 8,
          );
          const got = r.open(ref);
          assert.deepEqual(got, img);
          assert.equal(r.verified(ref, got), true, 'its CRC-32 in the pack header');
          assert.equal(w.release(ref), true);
          assert.ok(!existsSync(join(w.dir, ref.pack)), 'its last release unlinks it');
        }
        assert.deepEqual(r.open(small), image(100, 1));
        // A file that is not what its description says is refused, and removed.
        const bad = writePackedImage(w.dir, (fd, base) => {
          writeSync(fd, image(64, 3), 0, 64, base);
          return 64;
        });
        assert.throws(() => w.adopt({ ...bad, length: 56 }), PackError);
        assert.ok(!existsSync(join(w.dir, bad.file)));
        assert.throws(() => w.adopt({ file: '../x.sbtmp', length: 8, crc: 0 }), /bad file name/);
        const gone = writePackedImage(w.dir, (fd, base) => {
          writeSync(fd, image(64, 4), 0, 64, base);
          return 64;
        });
        assert.equal(discardPackedImage(w.dir, gone), true);
        assert.ok(!existsSync(join(w.dir, gone.file)));
        // A writer that throws leaves no file.
        assert.throws(() =>
          writePackedImage(w.dir, () => {
            throw new Error('compile failed');
          }),
        );
        assert.deepEqual(
          readdirSync(w.dir).filter((f) => f.endsWith('.sbtmp')),
          [],
        );
      } finally {
        w.close();
      }
    });

    test('a full pack starts a new one; an image bigger than a pack gets its own', () => {
      const w = new PackWriter(newDir(), { packBytes: 1024 });
      try {
        const r = reader(w.dir);
        const refs: ImageRef[] = [];
        const imgs: Uint8Array[] = [];
        for (let i = 0; i < 20; i++) {
          imgs.push(image(200, i));
          refs.push(w.add(imgs[i]));
        }
        const packs = [...new Set(refs.map((x) => x.pack))];
        // (1024 − 64) / 208 = 4 images a pack.
        assert.equal(packs.length, 5);
        for (const [i, ref] of refs.entries()) {
          assert.ok(ref.offset + ref.length <= 1024);
          assert.deepEqual(r.open(ref), imgs[i]);
        }
        const big = image(10_000, 77);
        const bigRef = w.add(big);
        assert.ok(!packs.includes(bigRef.pack));
        assert.equal(statSync(join(w.dir, bigRef.pack)).size, PACK_HEADER_SIZE + 8 + 10_000);
        assert.deepEqual(r.open(bigRef), big);
        // The current pack keeps filling after the big one.
        const next = w.add(image(10, 5));
        assert.equal(next.pack, refs[19].pack);
        assert.equal(packFiles(w.dir).length, 6);
      } finally {
        w.close();
      }
    });

    test('addMany: one batch across full packs, big images and the staging limit reads back in order', () => {
      const w = new PackWriter(newDir(), { packBytes: 8 << 20 });
      try {
        const r = reader(w.dir);
        const sizes = [1, 100, 3 << 20, 9 << 20, 7, 2 << 20, 5 << 20, 64, 1 << 20, 3];
        const imgs = sizes.map((n, i) => image(n, i + 10));
        const refs = w.addMany(imgs);
        assert.equal(refs.length, imgs.length);
        for (const [i, ref] of refs.entries()) assert.deepEqual(r.open(ref), imgs[i], `image ${i}`);
        assert.equal(w.stats().images, imgs.length);
        // The 9 MiB image has a pack of its own; the others share 8 MiB packs.
        assert.equal(refs.filter((x) => x.pack === refs[3].pack).length, 1);
        assert.ok(new Set(refs.map((x) => x.pack)).size >= 3);
        assert.deepEqual(w.addMany([]), []);
        assert.throws(() => w.addMany([image(5, 1), new Uint8Array(0)]), /empty image/);
        assert.equal(w.stats().images, imgs.length, 'a refused batch adds nothing');
      } finally {
        w.close();
      }
    });

    test('release and compaction: moves reported, old refs live until released, views valid after unlink', () => {
      const w = new PackWriter(newDir(), { packBytes: 4096 });
      try {
        const r = reader(w.dir);
        const imgs = Array.from({ length: 40 }, (_, i) => image(500 + i, i));
        const refs = imgs.map((b) => w.add(b));
        const firstPack = refs[0].pack;
        const inFirst = refs.filter((x) => x.pack === firstPack);
        assert.ok(inFirst.length >= 3);
        const held = r.open(inFirst[0]); // a worker still holds it
        // Release all but one image of the first pack: under half live.
        for (const ref of inFirst.slice(0, -1)) assert.equal(w.release(ref), true);
        assert.equal(w.release(inFirst[0]), false, 'a second release is refused');
        assert.ok(existsSync(join(w.dir, firstPack)), 'one image is still live');
        const survivor = inFirst.at(-1) as ImageRef;
        const imagesBefore = w.stats().images;
        const moves = w.compact();
        assert.equal(moves.size, 1);
        const moved = moves.get(refKey(survivor)) as ImageRef;
        assert.notEqual(moved.pack, firstPack);
        assert.deepEqual(r.open(moved), imgs[refs.indexOf(survivor)]);
        assert.equal(w.stats().draining, 1);
        assert.equal(w.stats().images, imagesBefore + 1, 'old and new both live until the old is released');
        assert.equal(w.compact().size, 0, 'a draining pack is not compacted again');
        // The old ref stays readable until the caller releases it (after shipping the move).
        assert.deepEqual(r.open(survivor), imgs[refs.indexOf(survivor)]);
        assert.equal(w.release(survivor), true);
        assert.equal(existsSync(join(w.dir, firstPack)), false, 'the last release unlinks the pack');
        assert.equal(w.stats().draining, 0);
        // A view taken before the unlink is still the image (mapped: pages live on).
        assert.deepEqual(held, imgs[0]);
        // A reader that had not mapped the pack cannot open it any more.
        assert.throws(() => reader(w.dir).open(survivor), PackError);
        // A pack whose every image is released is unlinked at once (not the current pack).
        const secondPack = refs[10].pack;
        for (const ref of refs.filter((x) => x.pack === secondPack)) w.release(ref);
        assert.equal(existsSync(join(w.dir, secondPack)), false);
        // The current pack stays while it is appended to, even with nothing live.
        const last = refs.at(-1) as ImageRef;
        for (const ref of refs.filter((x) => x.pack === last.pack)) w.release(ref);
        assert.ok(existsSync(join(w.dir, last.pack)));
        assert.ok(w.stats().live > 0);
        assert.equal(
          w.stats().images,
          refs.length -
            inFirst.length -
            refs.filter((x) => x.pack === secondPack).length -
            refs.filter((x) => x.pack === last.pack).length +
            1,
        );
      } finally {
        w.close();
      }
    });

    test('random adds, releases and compactions: every live ref reads back, dead packs are gone', () => {
      const rnd = seededRandom(7);
      const w = new PackWriter(newDir(), { packBytes: 2048 });
      try {
        const r = reader(w.dir);
        const live = new Map<string, { ref: ImageRef; bytes: Uint8Array }>();
        const held: { view: Uint8Array; bytes: Uint8Array }[] = [];
        let seed = 0;
        let moves = 0;
        const packsSeen = new Set<string>();
        const put = (ref: ImageRef, bytes: Uint8Array): void => {
          assert.equal(live.has(refKey(ref)), false, 'a new ref never repeats a live one');
          live.set(refKey(ref), { ref, bytes });
          packsSeen.add(ref.pack);
        };
        for (let step = 0; step < 600; step++) {
          const x = rnd();
          if (x < 0.35) {
            const bytes = image(1 + Math.floor(rnd() * (rnd() < 0.05 ? 5000 : 400)), ++seed);
            put(w.add(bytes), bytes);
          } else if (x < 0.45) {
            const batch = Array.from({ length: 1 + Math.floor(rnd() * 12) }, () =>
              image(1 + Math.floor(rnd() * 300), ++seed),
            );
            for (const [i, ref] of w.addMany(batch).entries()) put(ref, batch[i]);
          } else if (x < 0.8 && live.size > 0) {
            const keys = [...live.keys()];
            const key = keys[Math.floor(rnd() * keys.length)];
            const { ref, bytes } = live.get(key) as { ref: ImageRef; bytes: Uint8Array };
            if (rnd() < 0.2) held.push({ view: r.open(ref), bytes });
            assert.equal(w.release(ref), true);
            assert.equal(w.release(ref), false);
            live.delete(key);
          } else if (x < 0.9) {
            // The caller ships the moves, then releases the old refs.
            for (const [oldKey, moved] of w.compact({ threshold: rnd() })) {
              const entry = live.get(oldKey) as { ref: ImageRef; bytes: Uint8Array };
              assert.ok(entry, 'a move is of a live ref');
              put(moved, entry.bytes);
              moves++;
              assert.equal(w.release(entry.ref), true);
              live.delete(oldKey);
            }
          }
          if (step % 50 === 49 || step === 599) {
            for (const { ref, bytes } of live.values()) assert.deepEqual(r.open(ref), bytes, refKey(ref));
            for (const h of held)
              assert.deepEqual(h.view, h.bytes, 'a view held across releases and unlinks');
            const st = w.stats();
            assert.equal(st.images, live.size);
            const packsWithLive = new Set([...live.values()].map((e) => e.ref.pack));
            const files = new Set(packFiles(w.dir));
            for (const p of packsWithLive) assert.ok(files.has(p), `pack ${p} with live images exists`);
            assert.ok(files.size <= packsWithLive.size + 1, 'at most the current pack holds nothing live');
            assert.equal(st.packs, files.size);
          }
        }
        assert.ok(moves > 20, `compaction moved ${moves} images`);
        assert.ok(packsSeen.size > packFiles(w.dir).length + 10, 'packs were unlinked along the way');
      } finally {
        w.close();
      }
    });

    test('a reader holds no descriptor of an unlinked pack once it opens another', () => {
      const w = new PackWriter(newDir(), { packBytes: 1024 });
      try {
        const r = reader(w.dir);
        const a = w.add(image(900, 1)); // fills a pack
        const b = w.add(image(900, 2)); // the next pack
        assert.notEqual(a.pack, b.pack);
        r.open(a);
        w.release(a); // unlinked: a sealed pack with nothing live
        assert.equal(existsSync(join(w.dir, a.pack)), false);
        const c = w.add(image(900, 3)); // a third pack
        r.open(c);
        const fds = readdirSync('/proc/self/fd').map((fd) => {
          try {
            return readlinkSync(`/proc/self/fd/${fd}`);
          } catch {
            return '';
          }
        });
        assert.equal(
          fds.filter((l) => l.includes(a.pack)).length,
          0,
          'no descriptor (copy) or the mapping only (mapped) of the unlinked pack',
        );
        r.close();
      } finally {
        w.close();
      }
    });

    test('a compiled zone image answers in place from the pack', () => {
      const w = new PackWriter(newDir(), { packBytes: 1 << 20 });
      try {
        const r = reader(w.dir);
        const zone = loadZoneFile(join(exampleZones, 'example.com.zone'), { origin: 'example.com.' }).zone;
        const bytes = compileZone(zone);
        w.add(image(13, 1)); // not at the pack's first entry
        const ref = w.add(bytes);
        const inPack = openImage(r.open(ref));
        const direct = openImage(bytes);
        const a = new Uint8Array(65535);
        const b = new Uint8Array(65535);
        let answered = 0;
        for (const [name, type] of [
          ['www.example.com.', 1],
          ['example.com.', 6],
          ['nothing-here.example.com.', 1],
          ['example.com.', 15],
        ] as const) {
          const q = parseQuery(buildQuery({ id: 7, name, type }), 'udp');
          assert.ok(q);
          const n = respondFromImage(direct, q, a);
          assert.equal(respondFromImage(inPack, q, b), n, name);
          if (n > 0) answered++;
          assert.deepEqual(b.subarray(0, Math.max(n, 0)), a.subarray(0, Math.max(n, 0)), name);
        }
        assert.equal(answered, 4, 'every query answered from the image');
      } finally {
        w.close();
      }
    });

    test('an ImageZone over a pack view serves through the Responder as the Zone does', () => {
      const w = new PackWriter(newDir(), { packBytes: 1 << 20 });
      try {
        const zone = loadZoneFile(join(exampleZones, 'example.com.zone'), { origin: 'example.com.' }).zone;
        w.add(image(40, 3));
        const ref = w.add(compileZone(zone));
        const view = reader(w.dir).open(ref);
        const served = new ImageZone(openImage(view));
        assert.equal(served.image.bytes.buffer, view.buffer, 'read in place, not copied');
        const fromPack = new Responder(new Catalog([served]), { cache: false });
        const fromZone = new Responder(new Catalog([zone]), { cache: false });
        for (const [name, type] of [
          ['www.example.com.', 1],
          ['example.com.', 2],
          ['example.com.', 15],
          ['nothing.example.com.', 28],
          ['example.com.', 255],
        ] as const) {
          const q = buildQuery({ id: 3, name, type });
          const a = fromPack.respond(q, { transport: 'udp' });
          assert.ok(a && a.length > 12, name);
          assert.deepEqual(a, fromZone.respond(q, { transport: 'udp' }), `${name} ${type}`);
        }
      } finally {
        w.close();
      }
    });

    test('corrupt, short or foreign pack files are refused with a clear error', () => {
      const w = new PackWriter(newDir(), { packBytes: 4096 });
      try {
        const img = image(100, 1);
        const ref = w.add(img);
        const path = join(w.dir, ref.pack);
        const original = readFileSync(path);
        const cases: [string, (b: Buffer) => Buffer, RegExp][] = [
          ['magic', (b) => spoilWith(b, (x) => x.write('XXXX', 0)), /bad magic/],
          ['version', (b) => spoilWith(b, (x) => x.writeUInt16LE(9, 4)), /version 9/],
          ['capacity', (b) => spoilWith(b, (x) => x.writeUInt32LE(8192, 8)), /capacity 8192 differs/],
          ['header size', (b) => spoilWith(b, (x) => x.writeUInt16LE(32, 6)), /bad header size/],
          ['alignment', (b) => spoilWith(b, (x) => x.writeUInt32LE(4, 16)), /bad alignment/],
          ['short', (b) => b.subarray(0, 40), /shorter than its header|capacity/],
          ['truncated', (b) => b.subarray(0, 2048), /capacity 4096 differs/],
          [
            'entry tag',
            (b) => spoilWith(b, (x) => x.writeUInt32LE(0, ref.offset - 4)),
            /no entry starts there/,
          ],
          [
            'entry length',
            (b) => spoilWith(b, (x) => x.writeUInt32LE(99, ref.offset - 8)),
            /the entry holds 99/,
          ],
        ];
        for (const [what, spoil, message] of cases) {
          writeFileSync(path, spoil(Buffer.from(original)));
          // A fresh reader: a mapping is taken per reader.
          assert.throws(
            () => reader(w.dir).open(ref),
            (e: Error) => e instanceof PackError && message.test(e.message),
            what,
          );
        }
        writeFileSync(path, '');
        assert.throws(() => reader(w.dir).open(ref), PackError);
        writeFileSync(path, original);
        assert.deepEqual(reader(w.dir).open(ref), img);
      } finally {
        w.close();
      }
    });

    test('the bounds of every ref are checked', () => {
      const w = new PackWriter(newDir(), { packBytes: 4096 });
      try {
        const r = reader(w.dir);
        const a = w.add(image(100, 1));
        const b = w.add(image(50, 2));
        const bad: [unknown, RegExp][] = [
          [{ ...a, offset: a.offset + 8 }, /no entry starts there|the entry holds/],
          [{ ...a, offset: a.offset + 1 }, /bad offset/],
          [{ ...a, offset: 0 }, /bad offset/],
          [{ ...a, offset: -8 }, /bad offset/],
          [{ ...a, offset: 1.5 }, /bad offset/],
          [{ ...a, offset: 2 ** 53 }, /bad offset/],
          [{ ...a, length: 101 }, /the entry holds 100/],
          [{ ...a, length: 0 }, /bad length/],
          [{ ...b, length: 4000 }, /past the pack's end 4096/],
          [{ ...b, offset: 2048 }, /no entry starts there/],
          [{ ...b, offset: 4096 }, /past the pack's end/],
          [{ ...a, pack: '../x.sbpack' }, /bad pack name/],
          [{ ...a, pack: 'pack-000001-00000000.sbpack' }, /ENOENT|No such file/],
          [{ ...a, pack: 1 }, /bad pack name/],
          [null, /not an object/],
        ];
        for (const [ref, message] of bad)
          assert.throws(
            () => r.open(ref as ImageRef),
            (e: Error) => e instanceof PackError && message.test(e.message),
            JSON.stringify(ref),
          );
        assert.deepEqual(r.open(a), image(100, 1));
      } finally {
        w.close();
      }
    });
  });
}

describe('pack writer', () => {
  test('an owned temp directory is removed by close(); a given one keeps only what others put there', () => {
    const w = new PackWriter();
    assert.equal(w.ownsDir, true);
    assert.ok(w.dir.startsWith(tmpdir()));
    w.add(image(10, 1));
    w.close();
    assert.equal(existsSync(w.dir), false);
    assert.throws(() => w.add(image(1, 1)), /closed/);

    const dir = newDir();
    const w2 = new PackWriter(dir);
    w2.add(image(10, 1));
    writeFileSync(join(dir, 'other-file'), 'x');
    // An image a compile thread wrote that was never adopted (the thread died): ours too.
    writePackedImage(dir, (fd, base) => writeSync(fd, image(9, 2), 0, 9, base));
    assert.equal(readdirSync(dir).length, 4); // lock, pack, other-file, the image
    w2.close();
    assert.deepEqual(readdirSync(dir), ['other-file']);
  });

  test('an owned temp directory is removed when the process exits', () => {
    const url = pathToFileURL(resolve('dist/src/image/pack.js')).href;
    const r = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { PackWriter } from ${JSON.stringify(url)}; const w = new PackWriter(); w.add(new Uint8Array(9)); console.log(w.dir); process.exit(0);`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const dir = r.stdout.trim();
    assert.ok(dir.length > 0);
    assert.equal(existsSync(dir), false);
  });

  test('a new temp writer removes the temp pack directories of writers whose process is gone (SIGKILL)', () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const stale = mkdtempSync(join(tmpdir(), 'switchboard-packs-'));
    writeFileSync(join(stale, 'writer.lock'), `${dead}\n`);
    writeFileSync(join(stale, 'pack-000001.sbp'), 'x');
    const alive = mkdtempSync(join(tmpdir(), 'switchboard-packs-'));
    writeFileSync(join(alive, 'writer.lock'), `${process.pid}\n`);
    const unlocked = mkdtempSync(join(tmpdir(), 'switchboard-packs-'));
    const w = new PackWriter();
    try {
      assert.equal(existsSync(stale), false, "the dead writer's directory is gone");
      assert.equal(existsSync(alive), true, "a live writer's directory stays");
      assert.equal(existsSync(unlocked), true, 'a directory without a lock (being made) stays');
    } finally {
      w.close();
      rmSync(alive, { recursive: true, force: true });
      rmSync(unlocked, { recursive: true, force: true });
    }
  });

  test('one writer per directory; a stale lock is taken over and its packs removed', () => {
    const dir = newDir();
    const w = new PackWriter(dir);
    assert.throws(() => new PackWriter(dir), /holds it/);
    w.close();
    // A writer killed without cleaning up: its lock and pack stay behind.
    const url = pathToFileURL(resolve('dist/src/image/pack.js')).href;
    // (and an image a compile thread wrote that was never adopted)
    const crashScript = `import { PackWriter, writePackedImage } from ${JSON.stringify(url)}; import { writeSync } from 'node:fs'; const w = new PackWriter(${JSON.stringify(dir)}); w.add(new Uint8Array(9)); writePackedImage(${JSON.stringify(dir)}, (fd, base) => writeSync(fd, new Uint8Array(9).fill(1), 0, 9, base)); process.kill(process.pid, 'SIGKILL');`;
    const crashed = spawnSync(process.execPath, ['--input-type=module', '-e', crashScript], {
      encoding: 'utf8',
    });
    assert.equal(crashed.signal, 'SIGKILL', crashed.stderr);
    assert.equal(packFiles(dir).length, 1);
    assert.ok(existsSync(join(dir, 'writer.lock')));
    assert.equal(readdirSync(dir).filter((f) => f.endsWith('.sbtmp')).length, 1);
    const w2 = new PackWriter(dir);
    assert.equal(packFiles(dir).length, 0, 'the stale pack was removed');
    assert.equal(
      readdirSync(dir).filter((f) => f.endsWith('.sbtmp')).length,
      0,
      'and the image never adopted',
    );
    assert.equal(readFileSync(join(dir, 'writer.lock'), 'utf8').trim(), String(process.pid));
    w2.close();
    // A live writer in another process is refused.
    const holder = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { PackWriter } from ${JSON.stringify(url)}; new PackWriter(${JSON.stringify(dir)}); try { new PackWriter(${JSON.stringify(dir)}); } catch (e) { console.log(e.message); }`,
      ],
      { encoding: 'utf8' },
    );
    assert.match(holder.stdout, /holds it/);
    // Packs left without a lock (its file removed by hand) are swept too.
    const again = spawnSync(process.execPath, ['--input-type=module', '-e', crashScript], {
      encoding: 'utf8',
    });
    assert.equal(again.signal, 'SIGKILL', again.stderr);
    rmSync(join(dir, 'writer.lock'));
    assert.equal(packFiles(dir).length, 1);
    new PackWriter(dir).close();
    assert.equal(packFiles(dir).length, 0);
    writeFileSync(join(dir, 'writer.lock'), `${process.ppid}\n`); // a live process that is not us
    assert.throws(() => new PackWriter(dir), /in use by the pack writer of process/);
  });

  test('a failed write leaves no ref of the batch live', () => {
    const w = new PackWriter(newDir(), { packBytes: 1 << 20 });
    try {
      const kept = w.add(image(100, 1));
      // Break the current pack's descriptor (as an I/O error would): the next write fails.
      const current = (w as unknown as { current: { fd: number } }).current;
      closeSync(current.fd);
      current.fd = openSync('/dev/null', 'r'); // read-only: write() fails with EBADF
      const before = w.stats();
      assert.throws(() => w.addMany([image(50, 2), image(60, 3)]), /EBADF/);
      const after = w.stats();
      assert.equal(after.images, before.images);
      assert.equal(after.live, before.live);
      assert.ok(after.dead > before.dead);
      assert.equal(w.release(kept), true);
    } finally {
      w.close();
    }
  });

  test('pack entries: columns in offset order, released slots skipped, growth past the first capacity', () => {
    const e = new PackEntries();
    const want = new Map<number, number>();
    for (let k = 0; k < 100; k++) {
      e.set(64 + 24 * k, 1 + k);
      want.set(64 + 24 * k, 1 + k);
    }
    assert.equal(e.size, 100);
    assert.throws(() => e.set(64, 5), PackError); // not past the last one
    for (let k = 0; k < 100; k += 3) {
      assert.equal(e.delete(64 + 24 * k), true);
      want.delete(64 + 24 * k);
    }
    assert.equal(e.delete(64), false); // released twice
    assert.equal(e.delete(65), false); // never there
    assert.equal(e.get(64), undefined);
    assert.equal(e.get(64 + 24), 2);
    assert.equal(e.get(63), undefined);
    assert.equal(e.get(64 + 24 * 100), undefined);
    assert.equal(e.size, want.size);
    assert.deepEqual([...e], [...want]);
    e.set(0xffff_fff0, 8); // a pack's last offset fits the column
    assert.equal(e.get(0xffff_fff0), 8);
  });

  test('bad arguments are refused', () => {
    assert.throws(() => new PackWriter(newDir(), { packBytes: 10 }), /packBytes/);
    assert.throws(() => new PackWriter(newDir(), { packBytes: 2 ** 33 }), /packBytes/);
    const w = new PackWriter(newDir(), { packBytes: 1024 });
    try {
      assert.throws(() => w.add(new Uint8Array(0)), /empty image/);
      assert.throws(() => w.add('x' as unknown as Uint8Array), /Uint8Array/);
      assert.throws(() => w.compact({ threshold: 2 }), /threshold/);
      assert.equal(w.release({ pack: 'nope', offset: 72, length: 1 }), false);
    } finally {
      w.close();
    }
    assert.equal(DEFAULT_PACK_BYTES, 64 * 1024 * 1024);
  });
});

describe('pack reader fallback', () => {
  for (const [what, env, reason] of [
    ['SWITCHBOARD_PACK_MMAP=0', { SWITCHBOARD_PACK_MMAP: '0' }, /^SWITCHBOARD_PACK_MMAP=0$/],
    ['no addon', { SWITCHBOARD_NATIVE_ADDON: join(root, 'missing.node') }, /^native addon not loaded: /],
  ] as const)
    test(`${what}: copies (mapped: false)`, () => {
      const w = new PackWriter(newDir());
      try {
        const img = image(1000, 3);
        const ref = w.add(img);
        const url = pathToFileURL(resolve('dist/src/image/pack.js')).href;
        const r = spawnSync(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            `import { PackReader, packMmapStatus } from ${JSON.stringify(url)};
           const r = new PackReader(${JSON.stringify(w.dir)});
           const b = r.open(${JSON.stringify(ref)});
           let sum = 0; for (const x of b) sum = (sum + x) % 65521;
           console.log(JSON.stringify({ mapped: r.mapped, reason: packMmapStatus().reason, sum, byteOffset: b.byteOffset, bufLen: b.buffer.byteLength }));`,
          ],
          { encoding: 'utf8', env: { ...process.env, ...env } },
        );
        assert.equal(r.status, 0, r.stderr);
        const got = JSON.parse(r.stdout);
        let sum = 0;
        for (const x of img) sum = (sum + x) % 65521;
        assert.match(got.reason, reason);
        assert.deepEqual(got, {
          mapped: false,
          reason: got.reason,
          sum,
          byteOffset: 8,
          bufLen: 1008,
        });
      } finally {
        w.close();
      }
    });
});

describe('native mapFile', { skip: mappedSkip }, () => {
  test('trimHeap (malloc_trim after a big compile): callable any time, says whether memory went back', () => {
    // Freed blocks of a thread's arena (as a compile thread leaves them) are there to give back.
    const held: Uint8Array[] = [];
    for (let i = 0; i < 64; i++) held.push(new Uint8Array(256 * 1024).fill(i));
    held.length = 0;
    for (let i = 0; i < 3; i++) assert.equal(typeof trimNativeHeap(), 'boolean');
  });

  test('mapFile: the whole file, or a clear error with errno text', () => {
    const mapFile = (
      createRequire(import.meta.url)(nativeAddonPath()) as { mapFile: (p: unknown) => ArrayBuffer }
    ).mapFile;
    const dir = newDir();
    mkdirSync(dir);
    writeFileSync(join(dir, 'f'), 'hello, pages');
    const ab = mapFile(join(dir, 'f'));
    assert.equal(Buffer.from(ab).toString(), 'hello, pages');
    writeFileSync(join(dir, 'empty'), '');
    const errors: [unknown, RegExp][] = [
      [join(dir, 'none'), /open: No such file or directory \(errno 2\)/],
      [dir, /not a regular file/],
      ['/dev/null', /not a regular file/],
      [join(dir, 'empty'), /empty file/],
      ['', /empty path/],
      ['a\0b', /zero octet/],
      [`/${'x'.repeat(5000)}`, /path too long/],
    ];
    for (const [path, message] of errors)
      assert.throws(
        () => mapFile(path),
        (e: Error & { code?: string }) => e.code === 'ERR_MMAP' && message.test(e.message),
        String(path).slice(0, 40),
      );
    assert.throws(
      () => mapFile(42),
      (e: Error & { code?: string }) => e.code === 'ERR_MMAP_ARGS',
    );
    assert.throws(
      () => mapFile(undefined),
      (e: Error & { code?: string }) => e.code === 'ERR_MMAP_ARGS',
    );
  });

  test('a mapping is unmapped once no view over it is left, and remapped on the next open', () => {
    const url = pathToFileURL(resolve('dist/src/image/pack.js')).href;
    const script = `
      import { readFileSync } from 'node:fs';
      const { PackWriter, PackReader } = await import(${JSON.stringify(url)});
      const w = new PackWriter(undefined, { packBytes: 1 << 20 });
      const refs = Array.from({ length: 100 }, (_, i) => w.add(new Uint8Array(1000).fill(i + 1)));
      const r = new PackReader(w.dir);
      const maps = () => readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.includes(w.dir)).length;
      let views = refs.map((x) => r.open(x));
      const held = [maps(), r.mappedPacks(), views[99][0]];
      views = undefined;
      for (let i = 0; i < 5; i++) { gc(); await new Promise((ok) => setImmediate(ok)); }
      const dropped = [maps(), r.mappedPacks()];
      const again = r.open(refs[5]);
      console.log(JSON.stringify({ held, dropped, reopened: [maps(), again[0]] }));
      w.close();`;
    const run = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { held: [1, 1, 100], dropped: [0, 0], reopened: [1, 6] });
  });

  test('one mapping per pack file, however many images are opened', () => {
    const w = new PackWriter(newDir(), { packBytes: 1 << 20 });
    try {
      const refs = Array.from({ length: 2000 }, (_, i) => w.add(image(64, i)));
      const r = new PackReader(w.dir);
      const views = refs.map((ref) => r.open(ref));
      const path = join(w.dir, refs[0].pack);
      const maps = readFileSync('/proc/self/maps', 'utf8')
        .split('\n')
        .filter((l) => l.endsWith(path));
      assert.equal(maps.length, 1, maps.join('\n'));
      assert.equal(r.mappedPacks(), 1);
      assert.equal(new Set(views.map((v) => v.buffer)).size, 1);
    } finally {
      w.close();
    }
  });
});
