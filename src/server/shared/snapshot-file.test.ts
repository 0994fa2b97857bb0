import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Catalog } from '../../answer/catalog.js';
import { compileZone } from '../../image/compile.js';
import { loadZoneText } from '../../zone/load.js';
import { ServedZoneTable } from '../start/zones.js';
import { ImageShipper } from './image-shipper.js';
import { imageZoneLoader, PackReader, PackWriter } from './images.js';
import {
  decodeSnapshot,
  encodeSnapshot,
  SNAPSHOT_FILE_NAME,
  SnapshotBuilder,
  SnapshotFileError,
  type SnapshotZone,
} from './snapshot-file.js';

function zones(n: number): SnapshotZone[] {
  const out: SnapshotZone[] = [];
  for (let i = 0; i < n; i++)
    out.push({
      name: `z${i}.example.`,
      version: 1000 + i,
      serial: (0xffff_fff0 + i) >>> 0,
      ref: { pack: `pack-00000${i % 3}-0123abcd.sbpack`, offset: 8 * i, length: 100 + i },
    });
  return out;
}

describe('snapshot file', () => {
  test('round trip: every zone with its version, serial and ref, in order', () => {
    const list = zones(50);
    const pushes = decodeSnapshot(encodeSnapshot(list));
    assert.deepEqual(
      pushes,
      list.map((z) => ({ ...z, text: null })),
    );
    assert.deepEqual(decodeSnapshot(encodeSnapshot([])), []);
  });

  test('names escaped in presentation form travel as they are; a name not in ASCII is refused', () => {
    const odd = { ...zones(1)[0], name: 'a\\032b\\.c.example.' };
    assert.equal(decodeSnapshot(encodeSnapshot([odd]))[0].name, odd.name);
    assert.throws(() => encodeSnapshot([{ ...odd, name: 'é.example.' }]), SnapshotFileError);
  });

  test('a truncated, extended or garbled file is an error, never a wrong zone', () => {
    const good = encodeSnapshot(zones(20));
    for (const cut of [0, 10, 31, 32, 100, good.length - 1])
      assert.throws(() => decodeSnapshot(good.subarray(0, cut)), SnapshotFileError, `cut at ${cut}`);
    assert.throws(() => decodeSnapshot(Buffer.concat([good, Buffer.alloc(8)])), SnapshotFileError);
    const magic = Buffer.from(good);
    magic[0] ^= 1;
    assert.throws(() => decodeSnapshot(magic), /bad magic/);
    const version = Buffer.from(good);
    version[4] = 9;
    assert.throws(() => decodeSnapshot(version), /format version/);
    // Pack index of zone 0 out of range (3 packs).
    const pack = Buffer.from(good);
    pack.writeUInt32LE(7, 32 + 8 * 20 + 4 * 20);
    assert.throws(() => decodeSnapshot(pack), /pack index/);
    // The end of zone 3's name before its start.
    const end = Buffer.from(good);
    end.writeUInt32LE(1, 32 + 8 * 20 + 4 * 80 + 4 * 3);
    assert.throws(() => decodeSnapshot(end), /name ends out of range/);
    // A version that is not an integer.
    const v = Buffer.from(good);
    v.writeDoubleLE(1.5, 32);
    assert.throws(() => decodeSnapshot(v), /not an integer/);
    // A name octet outside printable ASCII.
    const name = Buffer.from(good);
    name[name.length - 2] = 0xe9;
    assert.throws(() => decodeSnapshot(name), /ASCII/);
    // Misaligned octets are copied, not refused.
    const shifted = Buffer.alloc(good.length + 1);
    good.copy(shifted, 1);
    assert.equal(decodeSnapshot(shifted.subarray(1)).length, 20);
  });

  test('built zone by zone (in slices, past its first capacity): the same octets as one encode; a bad zone adds nothing', () => {
    for (const n of [0, 1, 17, 1500]) {
      const list = zones(n);
      const b = new SnapshotBuilder(16);
      for (let i = 0; i < n; i += 7) for (const z of list.slice(i, i + 7)) b.add(z);
      assert.equal(b.count, n);
      assert.deepEqual(b.finish(), encodeSnapshot(list), `${n} zones`);
    }
    const b = new SnapshotBuilder();
    b.add(zones(1)[0]);
    assert.throws(() => b.add({ ...zones(2)[1], name: 'b\u00e9.example.' }), SnapshotFileError);
    assert.throws(
      () => b.add({ ...zones(2)[1], ref: { pack: 'p\n', offset: 0, length: 1 } }),
      SnapshotFileError,
    );
    assert.throws(
      () => b.add({ ...zones(2)[1], ref: { pack: 'p', offset: -1, length: 1 } }),
      SnapshotFileError,
    );
    assert.equal(b.count, 1);
    assert.deepEqual(b.finish(), encodeSnapshot(zones(1)));
  });

  test("the shipper's first file, built as a cold start publishes, is the set it serves (replacements and removals included)", (t) => {
    const writer = new PackWriter();
    const shipper = new ImageShipper(writer, { broadcast: () => {}, snapshotFileZones: 1 });
    t.after(() => {
      shipper.close();
      writer.close();
    });
    const image = (n: string, serial: number) =>
      compileZone(
        loadZoneText(
          `${n} 3600 IN SOA ns1.${n} h.${n} ${serial} 1 1 1 1\n${n} 3600 IN NS ns1.${n}\nns1.${n} 300 IN A 192.0.2.1\n`,
          {
            origin: n,
            file: n,
          },
        ).zone,
      );
    const put = (name: string, version: number) => ({
      name,
      version,
      serial: version,
      image: image(name, version),
    });
    // Additions only, in two slices: the built file.
    shipper.publish([put('a.example.', 1), put('b.example.', 1)], false);
    shipper.publish([put('c.example.', 1)], false);
    const [m] = shipper.snapshot(0);
    const got = decodeSnapshot(readFileSync(join(writer.dir, m.file as string)));
    assert.deepEqual(
      got.map((z) => [z.name, z.version]),
      [
        ['a.example.', 1],
        ['b.example.', 1],
        ['c.example.', 1],
      ],
    );

    // A replacement and a removal before the first file: it is encoded whole, as served.
    const w2 = new PackWriter();
    const s2 = new ImageShipper(w2, { broadcast: () => {}, snapshotFileZones: 1 });
    t.after(() => {
      s2.close();
      w2.close();
    });
    s2.publish([put('a.example.', 1), put('b.example.', 1), put('c.example.', 1)], false);
    s2.publish([put('a.example.', 2), { name: 'b.example.', version: 2, serial: 0 }], false);
    s2.publish([put('d.example.', 1)], false);
    const [m2] = s2.snapshot(0);
    const got2 = decodeSnapshot(readFileSync(join(w2.dir, m2.file as string)));
    assert.deepEqual(
      got2.map((z) => [z.name, z.version]),
      [
        ['a.example.', 2],
        ['c.example.', 1],
        ['d.example.', 1],
      ],
    );
  });

  test('the shipper writes one file per generation, shared by the workers, removed once loaded and superseded', (t) => {
    const writer = new PackWriter();
    const sent: unknown[] = [];
    const shipper = new ImageShipper(writer, { broadcast: (m) => sent.push(m), snapshotFileZones: 1 });
    t.after(() => {
      shipper.close();
      writer.close();
    });
    const text = (n: string, serial: number) =>
      `${n} 3600 IN SOA ns1.${n} h.${n} ${serial} 1 1 1 1\n${n} 3600 IN NS ns1.${n}\nns1.${n} 300 IN A 192.0.2.1\nwww.${n} 300 IN A 192.0.2.2\n`;
    const image = (n: string, serial: number) =>
      compileZone(loadZoneText(text(n, serial), { origin: n, file: n }).zone);
    shipper.publish(
      ['a.example.', 'b.example.'].map((name) => ({ name, version: 1, serial: 1, image: image(name, 1) })),
      false,
    );
    const [m0] = shipper.snapshot(0);
    const [m1] = shipper.snapshot(1);
    assert.ok(m0.file !== undefined && SNAPSHOT_FILE_NAME.test(m0.file));
    assert.equal(m0.file, m1.file, 'one file for both workers of one generation');
    assert.equal(m0.zones.length, 0);
    assert.equal(m0.last, true);
    const path0 = join(writer.dir, m0.file);

    // A worker applies it as it would the pushes, and answers from the images.
    const reader = new PackReader(writer.dir);
    const images = imageZoneLoader(reader, { textParses: 0, imageOpens: 0 });
    const table = new ServedZoneTable((p) => images.load(p), images.release);
    const r = table.apply({ ...m0, zones: decodeSnapshot(readFileSync(path0)) });
    assert.equal(r.snapshotDone, true);
    assert.equal(table.size, 2);
    assert.equal(table.versionOf('b.example.'), 1);
    assert.ok(table.catalog() instanceof Catalog);

    // A new generation: a later hello gets a new file; the old one stays while worker 1 has
    // not loaded it, and goes once it has.
    shipper.publish([{ name: 'c.example.', version: 2, serial: 2, image: image('c.example.', 2) }]);
    const [m2] = shipper.snapshot(2);
    assert.notEqual(m2.file, m0.file);
    assert.equal(decodeSnapshot(readFileSync(join(writer.dir, m2.file as string))).length, 3);
    shipper.started(0);
    assert.ok(existsSync(path0), 'worker 1 has not loaded it yet');
    shipper.gone(1);
    assert.ok(!existsSync(path0), 'superseded and loaded by every worker sent it');
    const path2 = join(writer.dir, m2.file as string);
    shipper.started(2);
    assert.ok(existsSync(path2), 'the newest stays for the next hello');
    shipper.close();
    assert.ok(!existsSync(path2), 'close removes every snapshot file');
  });
});

describe('snapshot file in chunks', () => {
  test('the same pushes in order, at most `chunk` at a time; a bad file throws before any', async () => {
    const { decodeSnapshotChunks } = await import('./snapshot-file.js');
    const list = zones(1001);
    const file = encodeSnapshot(list);
    const sizes: number[] = [];
    const got: unknown[] = [];
    decodeSnapshotChunks(file, 250, (chunk) => {
      sizes.push(chunk.length);
      got.push(...chunk);
    });
    assert.deepEqual(sizes, [250, 250, 250, 250, 1]);
    assert.deepEqual(got, decodeSnapshot(file));
    // A name end out of range in the last zone: nothing handed out.
    const bad = Buffer.from(file);
    const count = 1001;
    const endAt = 32 + 8 * count + 4 * (4 * count + count - 1);
    bad.writeUInt32LE(bad.readUInt32LE(endAt) + 1, endAt);
    let calls = 0;
    assert.throws(
      () =>
        decodeSnapshotChunks(bad, 250, () => {
          calls++;
        }),
      SnapshotFileError,
    );
    assert.equal(calls, 0);
  });
});
