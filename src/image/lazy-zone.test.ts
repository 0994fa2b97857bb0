/**
 * Zones opened on their first query (`LazyImageZone`, `ImageZonePool`): nothing is read before
 * a query; the bounds on open zones and cached nodes hold; a closed zone opens again with the
 * same answers; a bad image (corrupt octets, a missing pack, another zone's image) is reported
 * once and its zone answers SERVFAIL while the other zones answer; big images open at once.
 * (The octet-for-octet proof against Zones is in zone-view.test.ts.)
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Catalog } from '../answer/catalog.js';
import { Responder } from '../answer/respond.js';
import { Name } from '../wire/name.js';
import { loadZoneText } from '../zone/load.js';
import { compileZone } from './compile.js';
import { type ImageRef, PackReader, PackWriter, packMmapStatus } from './pack.js';
import { ImageFormatError, openImage, type ZoneImage } from './reader.js';
import { EAGER_OPEN_BYTES, ImageZonePool, type LazyImageZone } from './zone-view.js';

const SERVFAIL = 2;
const NXDOMAIN = 3;

function zoneText(i: number, extra = ''): string {
  return `$ORIGIN z${i}.test.
$TTL 300
@ SOA ns1 h ${i} 3600 600 86400 60
@ NS ns1
ns1 A 192.0.2.1
www A 198.51.100.${i % 250}
mail A 203.0.113.${i % 250}
@ MX 10 mail
${extra}`;
}

function compiled(i: number, extra = ''): Uint8Array {
  return compileZone(loadZoneText(zoneText(i, extra), { origin: `z${i}.test.` }).zone);
}

/** A query for `name` (presentation, absolute) and `qtype`, no EDNS. */
function query(name: string, qtype: number, id = 7): Uint8Array {
  let wire = '';
  for (const l of name.split('.')) if (l !== '') wire += String.fromCharCode(l.length) + l;
  wire += '\0';
  const out = new Uint8Array(12 + wire.length + 4);
  out[0] = id >> 8;
  out[1] = id & 0xff;
  out[2] = 1;
  out[5] = 1;
  for (let i = 0; i < wire.length; i++) out[12 + i] = wire.charCodeAt(i);
  out[12 + wire.length + 1] = qtype;
  out[12 + wire.length + 3] = 1;
  return out;
}

function rcode(r: Uint8Array | null): number {
  assert.ok(r !== null);
  return r[3] & 0xf;
}

/** `n` zones in one pack; `images[i]` overrides zone i's octets. */
function packOf(n: number, images: Map<number, Uint8Array> = new Map()) {
  const writer = new PackWriter(undefined, { packBytes: 1 << 20 });
  const refs = writer.addMany(Array.from({ length: n }, (_, i) => images.get(i) ?? compiled(i)));
  return { writer, refs, reader: new PackReader(writer.dir) };
}

describe('zones opened on first query', () => {
  test('nothing is read before a query; each zone opens on its first and answers', () => {
    const { writer, refs, reader } = packOf(20);
    try {
      let reads = 0;
      const pool = new ImageZonePool((r) => {
        reads++;
        return reader.open(r);
      });
      const zones = refs.map((r, i) => pool.zone(Name.parse(`z${i}.test.`), r));
      const responder = new Responder(new Catalog(zones), { cache: false });
      assert.equal(reads, 0);
      assert.equal(pool.openZones, 0);
      assert.equal(responder.catalog.imageCount, 20, 'served as image zones');
      const r = responder.respond(query('www.z7.test.', 1), { transport: 'udp' });
      assert.equal(rcode(r), 0);
      assert.deepEqual([...(r as Uint8Array).subarray(-4)], [198, 51, 100, 7]);
      assert.equal(rcode(responder.respond(query('nope.z3.test.', 1), { transport: 'udp' })), NXDOMAIN);
      assert.deepEqual(
        zones.map((z, i) => (z.isOpen ? i : -1)).filter((i) => i >= 0),
        [3, 7],
      );
      assert.equal(pool.firstOpens, 2);
      // The engine's path (not a template: answerQuery reads nodes) opens through the same zone.
      assert.equal(zones[9].serial, 9);
      assert.equal(zones[9].get(Name.parse('mail.z9.test.'))?.rrsets.length, 1);
      assert.equal(pool.firstOpens, 3);
    } finally {
      writer.close();
    }
  });

  test('at most maxZones open and maxNodes cached; a closed zone opens again, header checks only', () => {
    const { writer, refs, reader } = packOf(50);
    try {
      const pool = new ImageZonePool((r) => reader.open(r), { maxZones: 8, maxNodes: 12 });
      const zones = refs.map((r, i) => pool.zone(Name.parse(`z${i}.test.`), r));
      const responder = new Responder(new Catalog(zones), { cache: false });
      for (let round = 0; round < 3; round++)
        for (let i = 0; i < 50; i++) {
          const r = responder.respond(query(`www.z${i}.test.`, 1), { transport: 'udp' });
          assert.equal(rcode(r), 0);
          assert.equal((r as Uint8Array).at(-1), i % 250);
          // Nodes are made by the engine's path only (templates make none).
          const node = zones[i].get(Name.parse(`mail.z${i}.test.`));
          assert.equal(node?.rrsets[0].rdata[0][3], i % 250);
          assert.ok(pool.openZones <= 8, `open ${pool.openZones}`);
          assert.ok(pool.cachedNodes <= 12, `nodes ${pool.cachedNodes}`);
        }
      assert.equal(pool.firstOpens, 50, 'each image validated once');
      assert.ok(pool.reopens >= 100, `reopens ${pool.reopens}`);
      assert.ok(pool.evictions >= pool.reopens);
    } finally {
      writer.close();
    }
  });

  test('the zone in use is never closed under it (node identity within an answer)', () => {
    const { writer, refs, reader } = packOf(3);
    try {
      // One zone open, no node budget: every other zone's use closes it, never the one in use.
      const pool = new ImageZonePool((r) => reader.open(r), { maxZones: 1, maxNodes: 0 });
      const zones = refs.map((r, i) => pool.zone(Name.parse(`z${i}.test.`), r));
      const a = zones[0].get(Name.parse('www.z0.test.'));
      assert.equal(zones[0].get(Name.parse('www.z0.test.')), a, 'still open: the same node');
      assert.equal(pool.openZones, 1);
      zones[1].get(Name.parse('www.z1.test.'));
      assert.ok(!zones[0].isOpen && zones[1].isOpen);
      assert.notEqual(zones[0].get(Name.parse('www.z0.test.')), a, 'opened again: a new node');
    } finally {
      writer.close();
    }
  });

  test('one zone over the node budget alone keeps answering (nothing else to close)', () => {
    let extra = '';
    for (let i = 0; i < 300; i++) extra += `h${i} A 10.0.${i >> 8}.${i & 255}\n`;
    const { writer, refs, reader } = packOf(2, new Map([[0, compiled(0, extra)]]));
    try {
      const pool = new ImageZonePool((r) => reader.open(r), { maxZones: 4, maxNodes: 10 });
      const zones = refs.map((r, i) => pool.zone(Name.parse(`z${i}.test.`), r));
      zones[1].get(Name.parse('www.z1.test.'));
      for (let i = 0; i < 300; i++)
        assert.equal(zones[0].get(Name.parse(`h${i}.z0.test.`))?.rrsets[0].rdata[0][3], i & 255);
      assert.equal(pool.evictions, 1, 'the other zone was closed once');
      assert.ok(zones[0].isOpen && !zones[1].isOpen);
      assert.equal(pool.cachedNodes, 300, 'over the budget: the zone in use is not closed');
    } finally {
      writer.close();
    }
  });

  test('a corrupt image: reported once, its zone answers SERVFAIL, the others answer', () => {
    const bad = compiled(1).slice();
    bad.fill(0xee, 64, bad.length - 8);
    const { writer, refs, reader } = packOf(3, new Map([[1, bad]]));
    try {
      const errors: [string, Error][] = [];
      const pool = new ImageZonePool((r) => reader.open(r), {
        onError: (z, err) => errors.push([z.origin.toString(), err]),
      });
      const zones = refs.map((r, i) => pool.zone(Name.parse(`z${i}.test.`), r));
      const responder = new Responder(new Catalog(zones));
      for (let k = 0; k < 3; k++) {
        assert.equal(rcode(responder.respond(query('www.z1.test.', 1, k), { transport: 'udp' })), SERVFAIL);
        assert.equal(rcode(responder.respond(query('www.z0.test.', 1, k), { transport: 'udp' })), 0);
        assert.equal(rcode(responder.respond(query('www.z2.test.', 1, k), { transport: 'udp' })), 0);
      }
      assert.equal(errors.length, 1, 'logged once');
      assert.equal(errors[0][0], 'z1.test.');
      assert.ok(errors[0][1] instanceof ImageFormatError, String(errors[0][1]));
      assert.equal(pool.failures, 1);
      assert.ok(zones[1].error instanceof ImageFormatError);
      assert.ok(!zones[1].isOpen);
    } finally {
      writer.close();
    }
  });

  test("a ref to another zone's image, or to no image, is refused at first query", () => {
    const { writer, refs, reader } = packOf(2);
    try {
      const errors: string[] = [];
      const pool = new ImageZonePool((r) => reader.open(r), {
        onError: (_z, err) => errors.push(err.message),
      });
      const swapped = pool.zone(Name.parse('z0.test.'), refs[1]);
      const nowhere: ImageRef = { ...refs[0], offset: refs[0].offset + 8 };
      const missing = pool.zone(Name.parse('z9.test.'), nowhere);
      const responder = new Responder(new Catalog([swapped, missing]));
      assert.equal(rcode(responder.respond(query('www.z0.test.', 1), { transport: 'udp' })), SERVFAIL);
      assert.equal(rcode(responder.respond(query('z9.test.', 6), { transport: 'udp' })), SERVFAIL);
      assert.equal(errors.length, 2);
      assert.match(errors[0], /is not of zone z0\.test\./);
    } finally {
      writer.close();
    }
  });

  test('big images are opened (and validated) when they arrive; a bad one is refused then', () => {
    let extra = '';
    for (let i = 0; extra.length < EAGER_OPEN_BYTES; i++) extra += `h${i} TXT "${'x'.repeat(200)}"\n`;
    const big = compiled(0, extra);
    assert.ok(big.length >= EAGER_OPEN_BYTES);
    const broken = big.slice();
    broken.fill(0xee, 64, 4096);
    const { writer, refs, reader } = packOf(
      2,
      new Map([
        [0, big],
        [1, broken],
      ]),
    );
    try {
      const pool = new ImageZonePool((r) => reader.open(r));
      const z: LazyImageZone = pool.zone(Name.parse('z0.test.'), refs[0]);
      assert.ok(z.isOpen);
      assert.equal(pool.firstOpens, 1);
      assert.throws(() => pool.zone(Name.parse('z1.test.'), refs[1]), ImageFormatError);
      assert.equal(pool.failures, 0, 'refused at arrival: the caller reports it');
    } finally {
      writer.close();
    }
  });

  test('a trusted ref (a delta image) opens on arrival with header checks only; a bad header is still refused', () => {
    let extra = '';
    for (let i = 0; extra.length < EAGER_OPEN_BYTES; i++) extra += `h${i} TXT "${'x'.repeat(200)}"\n`;
    const big = compiled(0, extra);
    // A template's octets changed (what only the full validation finds), and a bad magic.
    const inner = big.slice();
    const img = openImage(big);
    inner.fill(0xee, img.answers, img.answers + 64);
    const badHeader = big.slice();
    badHeader[0] ^= 0xff;
    const { writer, refs, reader } = packOf(
      4,
      new Map([
        [0, big],
        [1, inner],
        [2, inner],
        [3, badHeader],
      ]),
    );
    try {
      const pool = new ImageZonePool((r) => reader.open(r));
      const z0 = pool.zone(Name.parse('z0.test.'), refs[0], false, true);
      assert.ok(z0.isOpen);
      assert.equal(pool.firstOpens, 1, 'a first open, counted as one');
      // Trusted: not validated in full (the primary's compiler made it from a validated base);
      // untrusted, the same octets are refused.
      assert.ok(pool.zone(Name.parse('z0.test.'), refs[1], false, true).isOpen);
      assert.throws(() => pool.zone(Name.parse('z0.test.'), refs[2]), ImageFormatError);
      assert.throws(() => pool.zone(Name.parse('z0.test.'), refs[3], false, true), ImageFormatError);
      const r = new Responder(new Catalog([z0]));
      assert.equal(rcode(r.respond(query('h1.z0.test.', 16), { transport: 'udp' })), 0);
    } finally {
      writer.close();
    }
  });

  test('a reopen (header checks only) reads the same fields as a full validation', () => {
    for (let i = 0; i < 20; i++) {
      const bytes = compiled(i, i % 2 === 0 ? 'MiXed A 192.0.2.9\n*.w TXT "x"\n' : '');
      const full = openImage(bytes);
      const quick = openImage(bytes, { validated: true });
      const fields = (z: ZoneImage) => {
        const { bytes: _b, dv: _d, ...rest } = z;
        return { ...rest, origin: [...z.origin] };
      };
      assert.deepEqual(fields(quick), fields(full));
    }
    // A reopen of octets that are not an image still fails (the full path says why).
    assert.throws(() => openImage(new Uint8Array(100), { validated: true }), ImageFormatError);
  });

  test('close(): the zone is let go, and opens again if asked', () => {
    const { writer, refs, reader } = packOf(1);
    try {
      const pool = new ImageZonePool((r) => reader.open(r));
      const z = pool.zone(Name.parse('z0.test.'), refs[0]);
      assert.equal(z.soaData.serial, 0);
      assert.equal(pool.openZones, 1);
      z.close();
      assert.equal(pool.openZones, 0);
      assert.ok(!z.isOpen);
      assert.equal(z.bytes().length, refs[0].length, 'the octets without opening');
      assert.ok(!z.isOpen);
      assert.equal(z.recordCount, 6);
      assert.equal(pool.reopens, 1);
    } finally {
      writer.close();
    }
  });
});

describe('an image in a pack of its own: its CRC-32 in the pack header, its first open not validated in full', () => {
  /** Writes `octets` into the pack file at `at` (what a worker's mapping then sees). */
  const spoil = (writer: PackWriter, ref: ImageRef, at: number, octets: Uint8Array): void => {
    const fd = openSync(join(writer.dir, ref.pack), 'r+');
    writeSync(fd, octets, 0, octets.length, at);
    closeSync(fd);
  };
  const readers = (dir: string): [string, PackReader][] => [
    ...(packMmapStatus().mapped ? [['mapped', new PackReader(dir)] as [string, PackReader]] : []),
    ['copy', new PackReader(dir, { mmap: false })],
  ];

  test('verified: true for the intact image only; a flipped octet, a changed CRC or a shared pack: false', () => {
    const img = compiled(1);
    // Packs of 1 KiB: the ~1.7 KiB image gets a pack of its own; the small one shares.
    const writer = new PackWriter(undefined, { packBytes: 1024 });
    try {
      const own = writer.add(img);
      const small = compileZone(
        loadZoneText('$ORIGIN s.test.\n@ 60 SOA ns h 1 1 1 1 1\n@ 60 NS ns\n', { strict: false }).zone,
      );
      assert.ok(small.length + 72 <= 1024, `${small.length}`);
      const shared = writer.add(small);
      for (const [how, reader] of readers(writer.dir)) {
        assert.equal(reader.verified(own, reader.open(own)), true, how);
        assert.equal(reader.verified(shared, reader.open(shared)), false, `${how}: a shared pack`);
      }
      for (const at of [0, 64, Math.floor(img.length / 2), img.length - 1]) {
        spoil(writer, own, own.offset + at, Uint8Array.of(img[at] ^ 0x10));
        for (const [how, reader] of readers(writer.dir))
          assert.equal(reader.verified(own, reader.open(own)), false, `${how}: octet ${at} flipped`);
        spoil(writer, own, own.offset + at, Uint8Array.of(img[at]));
      }
      // The header's CRC (offset 40) changed: the intact image no longer matches it.
      const readerNow = new PackReader(writer.dir, { mmap: false });
      const head = new Uint8Array(4);
      spoil(writer, own, 40, head);
      assert.equal(readerNow.verified(own, readerNow.open(own)), false, 'CRC field zeroed');
    } finally {
      writer.close();
    }
  });

  test('intact: opened without the deep validation, same answers; corrupted in its pack: SERVFAIL as before', () => {
    const writer = new PackWriter(undefined, { packBytes: 1024 });
    try {
      const refs = [0, 1, 2].map((i) => writer.add(compiled(i)));
      for (const [how, reader] of readers(writer.dir)) {
        const pool = new ImageZonePool((r) => reader.open(r), { verified: (r, b) => reader.verified(r, b) });
        const zones = refs.map((r, i) => pool.zone(Name.parse(`z${i}.test.`), r));
        const responder = new Responder(new Catalog(zones), { cache: false });
        const r = responder.respond(query('www.z2.test.', 1), { transport: 'udp' });
        assert.deepEqual([...(r as Uint8Array).subarray(-4)], [198, 51, 100, 2], how);
        assert.equal(pool.verifiedOpens, 1, how);
        assert.equal(pool.firstOpens, 1, how);
      }
      // z1's image corrupted in its pack after it was written (the octets the deep validation
      // refuses, as in the test above): the CRC no longer matches, so it is validated in full.
      const bad = compiled(1).slice();
      bad.fill(0xee, 64, bad.length - 8);
      spoil(writer, refs[1], refs[1].offset + 64, bad.subarray(64, bad.length - 8));
      for (const [how, reader] of readers(writer.dir)) {
        const errors: Error[] = [];
        const pool = new ImageZonePool((r) => reader.open(r), {
          verified: (r, b) => reader.verified(r, b),
          onError: (_z, err) => errors.push(err),
        });
        const zones = refs.map((r, i) => pool.zone(Name.parse(`z${i}.test.`), r));
        const responder = new Responder(new Catalog(zones), { cache: false });
        for (let k = 0; k < 2; k++) {
          assert.equal(
            rcode(responder.respond(query('www.z1.test.', 1, k), { transport: 'udp' })),
            SERVFAIL,
            how,
          );
          assert.equal(rcode(responder.respond(query('www.z0.test.', 1, k), { transport: 'udp' })), 0, how);
        }
        assert.equal(errors.length, 1, how);
        assert.ok(errors[0] instanceof ImageFormatError, String(errors[0]));
        assert.equal(pool.verifiedOpens, 1, `${how}: z0 only`);
      }
    } finally {
      writer.close();
    }
  });
});
