/**
 * A signed zone's proof index as an image section (proof-index.ts): zones signed here by
 * ldns-signzone (NSEC, NSEC3) and dnssec-signzone (NSEC3 opt-out), compiled as a Zone, as
 * columns in memory and as columns into a file (the same octets); the image's lookups give
 * the owners the index built from the Zone gives, for names in and out of the zone, and DO
 * answers over the image are the Zone's octet for octet; bad sections and version-1 images
 * are refused at load.
 * @module
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildQuery, TCP } from '../../test/helpers/answer-fixtures.js';
import { skipUnlessCommands } from '../../test/helpers/peers.js';
import { seededRandom } from '../../test/helpers/prng.js';
import { skipOrFail } from '../../test/helpers/require-peers.js';
import { testZoneText } from '../../test/helpers/signed-zones.js';
import { Catalog } from '../answer/catalog.js';
import { MAX_NSEC3_ITERATIONS, nsec3Digest, signedIndex } from '../answer/dnssec.js';
import { Responder } from '../answer/respond.js';
import { EDNS_DO, RRType } from '../wire/constants.js';
import { Name } from '../wire/name.js';
import { loadZoneText, loadZoneTextColumns, type Zone } from '../zone/index.js';
import { compileZone, compileZoneToFile } from './compile.js';
import { H, SECTION_ENTRY_SIZE, SectionId, VERSION } from './format.js';
import { compilePatched, patchZone } from './patch.js';
import { NSEC3_ENTRY_SIZE, sortByHash } from './proof-index.js';
import { ImageFormatError, openImage } from './reader.js';
import { ImageZone } from './zone-view.js';

const skip = skipOrFail(
  skipUnlessCommands('ldns-keygen', 'ldns-signzone', 'dnssec-keygen', 'dnssec-signzone'),
);
const ORIGIN = 'proof.test.';
const HOSTS = 300;

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** The test zone with `HOSTS` more names (a chain long enough to search), signed. */
function sign(dir: string, kind: 'nsec' | 'nsec3' | 'optout'): string {
  const work = mkdtempSync(join(dir, `${kind}-`));
  const bare = ORIGIN.slice(0, -1);
  let text = testZoneText(ORIGIN);
  for (let i = 0; i < HOSTS; i++) text += `h${i}.sub${i % 7} A 10.0.${i >> 8}.${i & 255}\n`;
  const plain = join(work, 'plain.zone');
  const out = join(work, 'signed.zone');
  if (kind === 'optout') {
    const ksk = run('dnssec-keygen', ['-q', '-a', 'ECDSAP256SHA256', '-f', 'KSK', bare], work);
    const zsk = run('dnssec-keygen', ['-q', '-a', 'ECDSAP256SHA256', bare], work);
    writeFileSync(
      plain,
      `${text}$INCLUDE ${join(work, `${ksk}.key`)}\n$INCLUDE ${join(work, `${zsk}.key`)}\n`,
    );
    const args = ['-q', '-3', 'beef', '-H', '1', '-A', '-O', 'text', '-e', '20300101000000', '-o', bare];
    run('dnssec-signzone', [...args, '-f', out, plain, `${ksk}.key`, `${zsk}.key`], work);
  } else {
    const ksk = run('ldns-keygen', ['-a', 'ECDSAP256SHA256', '-k', bare], work);
    const zsk = run('ldns-keygen', ['-a', 'ECDSAP256SHA256', bare], work);
    writeFileSync(plain, text);
    const args = ['-e', '20300101000000', '-f', out, '-o', bare];
    if (kind === 'nsec3') args.push('-n', '-t', '2', '-s', 'c0ffee');
    run('ldns-signzone', [...args, plain, ksk, zsk], work);
  }
  return readFileSync(out, 'latin1');
}

function compiledToFile(zone: Parameters<typeof compileZoneToFile>[0], dir: string): Uint8Array {
  const path = join(dir, 'image');
  const fd = openSync(path, 'w+');
  try {
    ftruncateSync(fd, 0);
    const length = compileZoneToFile(zone, fd, 8);
    const all = new Uint8Array(8 + length);
    let done = 0;
    while (done < all.length) done += readSync(fd, all, done, all.length - done, done);
    return all.subarray(8);
  } finally {
    closeSync(fd);
  }
}

/** The section table's entry of `id`: [offset, size], or undefined. */
function sectionOf(b: Uint8Array, id: number): [number, number] | undefined {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = dv.getUint32(H.SECTION_COUNT, true);
  for (let i = 0; i < n; i++) {
    const e = dv.getUint32(H.SECTION_TABLE, true) + i * SECTION_ENTRY_SIZE;
    if (dv.getUint32(e, true) === id) return [dv.getUint32(e + 4, true), dv.getUint32(e + 8, true)];
  }
  return undefined;
}

/** Names a proof may be asked about: the zone's, names that are not, their wildcards. */
function probeKeys(zone: Zone, random: () => number): string[] {
  const keys: string[] = [];
  const origin = zone.origin.key;
  for (const node of zone.nodes.values()) {
    keys.push(node.name.key, `\x01*${node.name.key}`);
    keys.push(`\x02zz${node.name.key}`, `\x01a${node.name.key}`, `\x01-${node.name.key}`);
  }
  for (let i = 0; i < 200; i++) {
    const label = Math.floor(random() * 1e9).toString(36);
    keys.push(`${String.fromCharCode(label.length)}${label}${origin}`);
  }
  keys.push(origin, `\x03\x00\x00\x00${origin}`, `\x01\xff${origin}`);
  return keys;
}

test('NSEC3 hashes sorted as octet strings, runs of equal first octets included', () => {
  const random = seededRandom(3);
  const count = 5000;
  const hashes = new Uint8Array(count * 20);
  for (let k = 0; k < hashes.length; k++) hashes[k] = Math.floor(random() * 256);
  // Many entries share their first four octets (and some their first 19).
  for (let k = 0; k < count; k += 3) hashes.copyWithin(k * 20, 0, k % 2 === 0 ? 4 : 19);
  const hex = (k: number) => Buffer.from(hashes.subarray(k * 20, k * 20 + 20)).toString('hex');
  const want = Array.from({ length: count }, (_, k) => hex(k)).sort();
  assert.deepEqual(Array.from(sortByHash(hashes, count), hex), want);
});

describe('proof index section (NSEC_INDEX, NSEC3_INDEX)', { skip, timeout: 120_000 }, () => {
  let dir: string;
  const texts: Record<string, string> = {};
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sb-proofidx-'));
    for (const kind of ['nsec', 'nsec3', 'optout'] as const) texts[kind] = sign(dir, kind);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const kind of ['nsec', 'nsec3', 'optout'] as const)
    test(`${kind}: one section, the same octets every way; lookups and DO answers equal the Zone's`, () => {
      const origin = Name.parse(ORIGIN);
      const zone = loadZoneText(texts[kind], { origin, strict: false }).zone;
      const image = compileZone(zone);
      const cols = loadZoneTextColumns(texts[kind], { origin, strict: false, thread: false }).zone;
      assert.deepEqual(compileZone(cols), image, 'columns in memory');
      assert.deepEqual(compiledToFile(cols, dir), image, 'columns into a file');
      const nsec = sectionOf(image, SectionId.NSEC_INDEX);
      const nsec3 = sectionOf(image, SectionId.NSEC3_INDEX);
      assert.equal(nsec !== undefined, kind === 'nsec');
      assert.equal(nsec3 !== undefined, kind !== 'nsec');

      const iz = new ImageZone(openImage(image), undefined, origin);
      const fromImage = signedIndex(iz)!;
      const fromZone = signedIndex(zone)!;
      assert.ok(
        fromImage.proofs !== fromZone.proofs && iz.proofs() === fromImage.proofs,
        'read from the image',
      );
      assert.deepEqual(fromImage.proofs.nsec3, fromZone.proofs.nsec3 && { ...fromZone.proofs.nsec3 });
      const random = seededRandom(7);
      const keys = probeKeys(zone, random);
      const p = fromZone.proofs.nsec3;
      let matched = 0;
      for (const key of keys) {
        assert.equal(fromImage.proofs.nsecCover(key), fromZone.proofs.nsecCover(key), `NSEC cover ${key}`);
        if (p === undefined) continue;
        const h = nsec3Digest(key, p.salt, Math.min(p.iterations, MAX_NSEC3_ITERATIONS));
        const m = fromZone.proofs.nsec3Match(h);
        if (m !== undefined) matched++;
        assert.equal(fromImage.proofs.nsec3Match(h), m, `NSEC3 match ${key}`);
        assert.equal(fromImage.proofs.nsec3Cover(h), fromZone.proofs.nsec3Cover(h), `NSEC3 cover ${key}`);
      }
      if (p !== undefined) assert.ok(matched > HOSTS / 2, `hashes of the zone's names match (${matched})`);

      const a = new Responder(new Catalog([zone]), { cache: false });
      const b = new Responder(new Catalog([iz]), { cache: false });
      const types = [RRType.A, RRType.AAAA, RRType.TXT, RRType.DS, RRType.NS, RRType.MX];
      let n = 0;
      for (const key of keys.slice(0, 600)) {
        let name: Name;
        try {
          name = Name.fromWire(key);
        } catch {
          continue;
        }
        const q = buildQuery(name.toString(), types[n++ % types.length], {
          edns: { udpSize: 4096, flags: EDNS_DO },
        });
        assert.deepEqual(b.respond(q, TCP), a.respond(q, TCP), `${name} ${types[(n - 1) % types.length]}`);
      }
    });

  test('a patched image (IXFR/API change) carries the section rebuilt: the new owner is in it', () => {
    const origin = Name.parse(ORIGIN);
    const base = openImage(compileZone(loadZoneText(texts.nsec, { origin, strict: false }).zone));
    const name = Name.parse(`new.${ORIGIN}`);
    const next = Uint8Array.from(Buffer.from(Name.parse(`www.${ORIGIN}`).key, 'latin1'));
    const nsecRdata = new Uint8Array([...next, 0, 6, 0x40, 0, 0, 0, 0, 0x03]);
    const patches = [
      { name, type: RRType.A, ttl: 300, rdata: [new Uint8Array([192, 0, 2, 9])] },
      { name, type: RRType.NSEC, ttl: 300, rdata: [nsecRdata] },
    ];
    const patched = compilePatched(base, patches);
    const zone = patchZone(base, patches);
    assert.deepEqual(compileZone(zone), patched);
    const count = (b: Uint8Array) => {
      const [at] = sectionOf(b, SectionId.NSEC_INDEX)!;
      return new DataView(b.buffer, b.byteOffset).getUint32(at, true);
    };
    assert.equal(count(patched), count(base.bytes) + 1);
    const iz = new ImageZone(openImage(patched), undefined, origin);
    const fromZone = signedIndex(zone as Zone)!;
    for (const key of [name.key, `\x01a${name.key}`, `\x01z${origin.key}`, `\x03nex${origin.key}`])
      assert.equal(signedIndex(iz)!.proofs.nsecCover(key), fromZone.proofs.nsecCover(key), key);
    assert.equal(signedIndex(iz)!.proofs.nsecCover(`\x01a${name.key}`), name.key);
  });

  test('bad sections and version-1 images are refused at load; an unsigned zone has none', () => {
    const origin = Name.parse(ORIGIN);
    const nsecImage = compileZone(loadZoneText(texts.nsec, { origin, strict: false }).zone);
    const nsec3Image = compileZone(loadZoneText(texts.nsec3, { origin, strict: false }).zone);
    const refused = (b: Uint8Array, why: RegExp): void => {
      assert.throws(
        () => openImage(b),
        (e: unknown) => e instanceof ImageFormatError && why.test(e.message),
      );
    };
    // NSEC: entries out of order, past the names, the count not the size's.
    const [at] = sectionOf(nsecImage, SectionId.NSEC_INDEX)!;
    const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
    let bad = nsecImage.slice();
    dv(bad).setUint32(at + 8, dv(bad).getUint32(at + 4, true), true);
    refused(bad, /NSEC index entry/);
    bad = nsecImage.slice();
    dv(bad).setUint32(at + 4, 0xffffff, true);
    refused(bad, /NSEC index entry/);
    bad = nsecImage.slice();
    dv(bad).setUint32(at, dv(bad).getUint32(at, true) + 1, true);
    refused(bad, /NSEC index size/);
    // NSEC3: two hashes swapped, a name index past the names, a salt longer than its room.
    const [at3] = sectionOf(nsec3Image, SectionId.NSEC3_INDEX)!;
    const e0 = at3 + 8 + ((nsec3Image[at3 + 7] + 3) & ~3);
    bad = nsec3Image.slice();
    bad.copyWithin(e0, e0 + NSEC3_ENTRY_SIZE, e0 + 2 * NSEC3_ENTRY_SIZE);
    refused(bad, /out of order/);
    bad = nsec3Image.slice();
    dv(bad).setUint32(e0 + 20, 0xffffff, true);
    refused(bad, /NSEC3 index entry/);
    bad = nsec3Image.slice();
    bad[at3 + 7] = 200;
    refused(bad, /NSEC3 index size/);
    // A reopen (header only) refuses a section of the wrong shape too: it validates in full.
    bad = nsec3Image.slice();
    bad[at3 + 6] = 2;
    refused(bad, /NSEC3 index size/);
    assert.throws(() => openImage(bad, { validated: true }), ImageFormatError);
    // Another format version.
    bad = nsecImage.slice();
    dv(bad).setUint16(H.VERSION, VERSION - 1, true);
    refused(bad, /version 1 is not supported/);
    // An unsigned zone: no proof section.
    const plain = compileZone(loadZoneText(testZoneText(ORIGIN), { origin, strict: false }).zone);
    assert.equal(sectionOf(plain, SectionId.NSEC_INDEX), undefined);
    assert.equal(sectionOf(plain, SectionId.NSEC3_INDEX), undefined);
  });
});
