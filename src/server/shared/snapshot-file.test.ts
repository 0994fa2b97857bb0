import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Catalog, diffCatalogs } from '../../answer/catalog.js';
import { compileZone } from '../../image/compile.js';
import { Name } from '../../wire/name.js';
import { loadZoneText } from '../../zone/load.js';
import type { ZonesMessage } from '../start/protocol.js';
import { ServedZoneTable } from '../start/zones.js';
import { ImageShipper } from './image-shipper.js';
import { imageZoneLoader, PackReader, PackWriter } from './images.js';
import {
  decodeSnapshot,
  encodeSnapshot,
  readSnapshotColumns,
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

describe('a snapshot file as the zone table base (made on first use)', () => {
  const text = (n: string, serial: number, a = '192.0.2.2') =>
    `${n} 3600 IN SOA ns1.${n} h.${n} ${serial} 1 1 1 1\n${n} 3600 IN NS ns1.${n}\nns1.${n} 300 IN A 192.0.2.1\nwww.${n} 300 IN A ${a}\n`;
  const image = (n: string, serial: number, a?: string) =>
    compileZone(loadZoneText(text(n, serial, a), { origin: n, file: n }).zone);
  const snapshotMsg: ZonesMessage = {
    type: 'switchboard:zones',
    kind: 'snapshot',
    seq: 1,
    last: true,
    zones: [],
  };
  /** www.<name>'s A address as the table's catalog serves it (opening the image). */
  const www = (table: ServedZoneTable, name: string) => {
    const z = table.catalog().get(Name.parse(name));
    const rrs = z?.get(Name.parse(`www.${name}`))?.get(1);
    return rrs === undefined ? undefined : [...rrs.rdata[0]].join('.');
  };

  test('serves what the same pushes serve; zones made only when asked; updates and deletions over it', () => {
    const writer = new PackWriter();
    try {
      const names = Array.from({ length: 300 }, (_, i) => `z${i}.Example.`.toLowerCase());
      const list: SnapshotZone[] = names.map((name, i) => ({
        name,
        version: 10 + i,
        serial: 1,
        ref: writer.add(image(name, 1, `192.0.2.${i % 250}`)),
      }));
      // The same name twice: the later one is served, as the pushes would have it.
      list.push({ ...list[5], version: 99, ref: writer.add(image(names[5], 2, '198.51.100.5')) });
      const file = encodeSnapshot(list);
      const reader = new PackReader(writer.dir);
      const counters = { textParses: 0, imageOpens: 0 };
      const images = imageZoneLoader(reader, counters);
      let made = 0;
      const deferred = {
        ...images.deferred,
        make: (p: Parameters<typeof images.deferred.make>[0]) => {
          made++;
          return images.deferred.make(p);
        },
      };
      const released: string[] = [];
      const table = new ServedZoneTable(
        (p) => images.load(p),
        (z) => released.push(z.origin.key),
        deferred,
      );
      const r = table.applySnapshotFile(readSnapshotColumns(file), snapshotMsg);
      assert.deepEqual(r.errors, []);
      assert.equal(r.snapshotDone, true);
      assert.equal(table.size, 300);
      assert.equal(table.catalog().size, 300);
      assert.equal(table.catalog().imageCount, 300);
      assert.equal(counters.imageOpens, 301, 'every ref taken is counted');
      assert.equal(made, 0, 'no zone made at apply');
      assert.equal(table.versionOf('z7.example.'), 17);
      assert.equal(table.versionOf('z5.example.'), 99);
      assert.equal(table.versionOf('nothing.example.'), undefined);

      // The same answers as the pushes applied one by one.
      const pushTable = new ServedZoneTable((p) => images.load(p), images.release);
      pushTable.apply({ ...snapshotMsg, zones: decodeSnapshot(file) });
      for (const name of [names[0], names[5], names[299], 'other.example.'])
        assert.equal(www(table, name), www(pushTable, name), name);
      assert.equal(www(table, names[5]), '198.51.100.5');
      assert.equal(made, 3, 'the zones asked, once each');
      assert.equal(www(table, names[0]), www(pushTable, names[0]));
      assert.equal(made, 3);
      const c0 = table.catalog();
      assert.equal(c0.find(Name.parse(`a.b.${names[42]}`))?.origin.key, Name.parse(names[42]).key);

      // An update replaces one, deletes another, adds a third; an older version is ignored.
      const r2 = table.apply({
        type: 'switchboard:zones',
        kind: 'update',
        seq: 2,
        last: true,
        zones: [
          {
            name: names[0],
            version: 11,
            serial: 2,
            text: null,
            ref: writer.add(image(names[0], 2, '203.0.113.1')),
          },
          { name: names[1], version: 12, serial: 2, text: null },
          {
            name: 'new.example.',
            version: 1,
            serial: 1,
            text: null,
            ref: writer.add(image('new.example.', 1, '203.0.113.9')),
          },
          {
            name: names[2],
            version: 3,
            serial: 2,
            text: null,
            ref: writer.add(image(names[2], 9, '203.0.113.3')),
          },
        ],
      });
      assert.deepEqual(r2.errors, []);
      assert.equal(r2.changed, true);
      assert.equal(table.size, 300);
      assert.equal(www(table, names[0]), '203.0.113.1');
      assert.equal(www(table, names[1]), undefined);
      assert.equal(www(table, 'new.example.'), '203.0.113.9');
      assert.equal(www(table, names[2]), www(pushTable, names[2]), 'an older version is not taken');
      assert.equal(table.versionOf(names[0]), 11);
      assert.equal(table.versionOf(names[1]), undefined);
      assert.equal(table.versionOf(names[2]), 12);
      assert.deepEqual(
        diffCatalogs(c0, table.catalog())
          .map((c) => c.key)
          .sort(),
        [names[0], names[1], 'new.example.'].map((n) => Name.parse(n).key).sort(),
      );
      assert.ok(released.includes(Name.parse(names[0]).key), 'the replaced zone (made) released');
      assert.ok(released.includes(Name.parse(names[1]).key), 'the deleted zone released');
      assert.equal([...table.catalog().keys].length, 300);

      // A new snapshot releases every zone made of the old one.
      const before = released.length;
      table.applySnapshotFile(readSnapshotColumns(encodeSnapshot(list.slice(0, 10))), {
        ...snapshotMsg,
        seq: 3,
      });
      assert.equal(table.size, 10);
      assert.ok(released.length > before);
      assert.equal(www(table, names[299]), undefined);
      assert.equal(www(table, names[3]), www(pushTable, names[3]));
    } finally {
      writer.close();
    }
  });

  test('a name that is not plain is loaded at once, a bad one left out with an error', () => {
    const writer = new PackWriter();
    try {
      const ok = 'a\\046b.example.';
      const list: SnapshotZone[] = [
        { name: ok, version: 1, serial: 1, ref: writer.add(image(ok, 1)) },
        { name: 'plain.example.', version: 1, serial: 1, ref: writer.add(image('plain.example.', 1)) },
        {
          name: 'x..example.',
          version: 1,
          serial: 1,
          ref: { pack: 'pack-000001-0123abcd.sbpack', offset: 0, length: 10 },
        },
      ];
      const images = imageZoneLoader(new PackReader(writer.dir), { textParses: 0, imageOpens: 0 });
      const table = new ServedZoneTable((p) => images.load(p), images.release, images.deferred);
      const r = table.applySnapshotFile(readSnapshotColumns(encodeSnapshot(list)), snapshotMsg);
      assert.equal(r.errors.length, 1);
      assert.match(r.errors[0], /^x\.\.example\.: /);
      assert.equal(table.size, 2);
      assert.equal(www(table, ok), '192.0.2.2');
      assert.equal(www(table, 'plain.example.'), '192.0.2.2');
      assert.equal(table.versionOf(ok), 1);
    } finally {
      writer.close();
    }
  });
});
