/**
 * Proof that compiled images answer as the engine does: for zones from ../shared/testdata
 * (read in place; skipped when absent) and test/interop/corpus/zones, every query the image
 * answers gets the very octets the Responder sends; queries it hands back fall back only for
 * the allowed reasons. Plus the validator against corrupted images.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { buildQuery, mixCase, type Variant } from '../../test/helpers/image-queries.js';
import { repoRoot, sharedTestdata } from '../../test/helpers/paths.js';
import { seededRandom } from '../../test/helpers/prng.js';
import { loadZoneFiles } from '../../test/helpers/zone-files.js';
import { Catalog } from '../answer/catalog.js';
import { isSignedZone } from '../answer/dnssec.js';
import { Responder } from '../answer/respond.js';
import { RRType } from '../wire/constants.js';
import { compareCanonical, Name } from '../wire/name.js';
import { loadZoneText } from '../zone/load.js';
import { NodeFlag, type Zone } from '../zone/zone.js';
import { compileRecords, compileZone, sharedAllocator } from './compile.js';
import { FALLBACK_NAMES, Fallback } from './format.js';
import {
  ImageCatalog,
  ImageFormatError,
  type ImageQuery,
  openImage,
  parseQuery,
  respondFromImage,
  type ZoneImage,
} from './reader.js';

/** Reasons a query may be handed back to the engine (the rest must be answered). */
const ALLOWED = new Set<number>([
  Fallback.DNAME,
  Fallback.CNAME_OTHER_TYPE,
  Fallback.EXTERNAL,
  Fallback.SUFFIX_COLLISION,
  Fallback.PARTIAL_ADDITIONAL,
  Fallback.UNPATCHABLE,
  Fallback.TOO_LARGE,
]);

const TYPES = [1, 2, 5, 6, 15, 16, 28, 33, 43, 65, 99, 255, 65400];
const NSID = new TextEncoder().encode('ns-test');

const VARIANTS: Variant[] = [
  { transport: 'udp' },
  { transport: 'udp', edns: { size: 1232, do: true, nsid: false } },
  { transport: 'udp', edns: { size: 512, do: false, nsid: true } },
  { transport: 'udp', edns: { size: 4096, do: false, nsid: false } },
  { transport: 'tcp' },
  { transport: 'tcp', edns: { size: 1232, do: true, nsid: true } },
];

function randomLabel(rnd: () => number): string {
  const n = 1 + Math.floor(rnd() * 12);
  let s = String.fromCharCode(n);
  for (let i = 0; i < n; i++) s += String.fromCharCode(0x61 + Math.floor(rnd() * 26));
  return s;
}

interface Tally {
  queries: number;
  answered: number;
  fallbacks: Map<string, number>;
  mismatches: string[];
}

function newTally(): Tally {
  return { queries: 0, answered: 0, fallbacks: new Map(), mismatches: [] };
}

/** Asks the image and the Responder the same queries; records mismatches and fallbacks. */
function compareZone(zone: Zone, tally: Tally, seed: number, maxNames = 150): void {
  const rnd = seededRandom(seed);
  const plain = new Responder(new Catalog([zone]), { cache: false });
  const withNsid = new Responder(new Catalog([zone]), { cache: false, nsid: NSID, ednsSize: 4096 });
  const img = openImage(compileZone(zone));
  const out = new Uint8Array(65535);
  let nodes = [...zone.nodes.values()];
  if (nodes.length > maxNames) {
    const keep = nodes.filter((n) => n.flags !== 0 || n.name.isWildcard).slice(0, maxNames / 2);
    while (keep.length < maxNames) keep.push(nodes[Math.floor(rnd() * nodes.length)]);
    nodes = keep;
  }
  const names: string[] = [zone.origin.wire, randomLabel(rnd) + zone.origin.wire];
  for (const node of nodes) {
    const w = node.name.wire;
    names.push(w);
    if (rnd() < 0.5) names.push(mixCase(w, rnd));
    if (w.length + 14 <= 255) names.push(randomLabel(rnd) + w);
    if (w.length + 28 <= 255 && rnd() < 0.3) names.push(randomLabel(rnd) + randomLabel(rnd) + w);
    if ((node.flags & NodeFlag.WILDCARD_CHILD) !== 0 && w.length + 14 <= 255)
      names.push(randomLabel(rnd) + w);
  }
  for (const qname of names) {
    const node = zone.nodes.get(Name.fromWire(qname).key);
    const types = new Set(TYPES);
    for (const s of node?.rrsets ?? []) types.add(s.type);
    for (const qtype of types) {
      for (let k = 0; k < 2; k++) {
        const v = VARIANTS[Math.floor(rnd() * VARIANTS.length)];
        const flags = (rnd() < 0.5 ? 0x0100 : 0) | (rnd() < 0.2 ? 0x0010 : 0);
        const id = Math.floor(rnd() * 65536);
        const pkt = buildQuery(id, flags, qname, qtype, v);
        // A signed zone's DO and RRSIG queries are answered by the engine, never from its image
        // (docs/IMAGE.md "Signed zones"): no template to compare.
        if (isSignedZone(zone) && (v.edns?.do === true || qtype === RRType.RRSIG)) continue;
        const nsidOn = v.edns?.nsid === true || rnd() < 0.2;
        const responder = nsidOn ? withNsid : plain;
        const expected = responder.respond(pkt, { transport: v.transport });
        tally.queries++;
        const q: ImageQuery | undefined = parseQuery(
          pkt,
          v.transport,
          nsidOn ? { nsid: NSID, ednsSize: 4096 } : {},
        );
        if (q === undefined) {
          tally.mismatches.push(
            `${zone.origin} ${Name.fromWire(qname)} ${qtype}: parseQuery refused a plain query`,
          );
          continue;
        }
        const n = respondFromImage(img, q, out);
        if (n < 0) {
          const reason = FALLBACK_NAMES[-n];
          tally.fallbacks.set(reason, (tally.fallbacks.get(reason) ?? 0) + 1);
          if (!ALLOWED.has(-n))
            tally.mismatches.push(`${zone.origin} ${Name.fromWire(qname)} ${qtype}: fallback ${reason}`);
          continue;
        }
        tally.answered++;
        const got = out.subarray(0, n);
        if (expected === null || Buffer.compare(Buffer.from(got), Buffer.from(expected)) !== 0)
          tally.mismatches.push(
            `${zone.origin} ${Name.fromWire(qname)} type ${qtype} ${v.transport} ${JSON.stringify(v.edns)}:\n  image     ${Buffer.from(got).toString('hex')}\n  responder ${expected && Buffer.from(expected).toString('hex')}`,
          );
      }
    }
  }
}

function report(t: { diagnostic: (m: string) => void }, label: string, tally: Tally): void {
  const fb = [...tally.fallbacks].map(([k, v]) => `${k} ${v}`).join(', ');
  t.diagnostic(
    `${label}: ${tally.queries} queries, ${tally.answered} answered from the image, fallbacks: ${fb || 'none'}`,
  );
}

function assertClean(tally: Tally): void {
  assert.equal(tally.mismatches.length, 0, tally.mismatches.slice(0, 5).join('\n'));
}

describe('zone images answer as the Responder', () => {
  const example = `
$ORIGIN example.
$TTL 3600
@ SOA ns1 hostmaster 1 7200 900 1209600 300
@ NS ns1
@ NS ns2.other.
@ MX 10 mail
ns1 A 192.0.2.1
ns1 AAAA 2001:db8::1
mail A 192.0.2.2
www A 192.0.2.3
www AAAA 2001:db8::3
alias CNAME www
alias2 CNAME alias
out CNAME www.other.
*.wild TXT "wild"
*.wild MX 5 mail
*.cw CNAME www
a.b.c.ent A 192.0.2.4
sub NS ns.sub
sub NS ns1
sub DS 1 8 2 AABBCCDD
ns.sub A 192.0.2.5
dn DNAME target.
hostmaster.x A 192.0.2.6
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx00"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx01"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx02"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx03"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx04"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx05"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx06"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx07"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx08"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx09"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx10"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx11"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx12"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx13"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx14"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx15"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx16"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx17"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx18"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx19"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx20"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx21"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx22"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx23"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx24"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx25"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx26"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx27"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx28"
big TXT "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx29"
deep NS ns1.deep
deep NS ns2.deep
deep NS ns3.deep
ns1.deep AAAA 2001:db8::10
ns1.deep AAAA 2001:db8::11
ns1.deep AAAA 2001:db8::12
ns2.deep AAAA 2001:db8::13
ns2.deep AAAA 2001:db8::14
ns3.deep AAAA 2001:db8::15
`;
  test('a hand-written zone: every kind of answer, byte-identical', (t) => {
    const zone = loadZoneText(example, { origin: 'example.' }).zone;
    const tally = newTally();
    compareZone(zone, tally, 1);
    report(t, 'example.', tally);
    assertClean(tally);
    assert.ok(tally.answered > tally.queries / 2, 'most queries are answered from the image');
  });

  test('NXDOMAIN, NODATA, referral and wildcard answers come from templates', () => {
    const zone = loadZoneText(example, { origin: 'example.' }).zone;
    const img = openImage(compileZone(zone));
    const responder = new Responder(new Catalog([zone]), { cache: false });
    const out = new Uint8Array(65535);
    const cases: [string, number][] = [
      ['\x0dqwertyuiopasd\x07example\x00', 1], // NXDOMAIN
      ['\x01X\x01Y\x07example\x00', 28], // NXDOMAIN, two labels
      ['\x03www\x07example\x00', 15], // NODATA
      ['\x01c\x03ent\x07example\x00', 1], // ENT
      ['\x03foo\x03sub\x07example\x00', 1], // referral below the cut
      ['\x03sub\x07example\x00', 1], // referral at the cut
      ['\x03sub\x07example\x00', 43], // DS at the cut
      ['\x01z\x04WILD\x07example\x00', 16], // wildcard
      ['\x01z\x04wild\x07example\x00', 15], // wildcard MX + additional
      ['\x01q\x02cw\x07example\x00', 1], // wildcard CNAME followed
    ];
    for (const [qname, qtype] of cases) {
      const pkt = buildQuery(0x1234, 0x0100, qname, qtype, { transport: 'udp' });
      const n = respondFromImage(img, parseQuery(pkt, 'udp')!, out);
      assert.ok(n > 0, `${Name.fromWire(qname)} ${qtype}: fallback ${FALLBACK_NAMES[-n]}`);
      assert.deepEqual(
        Buffer.from(out.subarray(0, n)),
        Buffer.from(responder.respond(pkt, { transport: 'udp' })!),
      );
    }
    // Below a DNAME: handed back.
    const pkt = buildQuery(1, 0, '\x01a\x02dn\x07example\x00', 1, { transport: 'udp' });
    assert.equal(respondFromImage(img, parseQuery(pkt, 'udp')!, out), -Fallback.DNAME);
  });

  test('an ImageCatalog finds the most specific zone; DS at a child apex goes to the parent', () => {
    const parent = loadZoneText(example, { origin: 'example.' }).zone;
    const child = loadZoneText(
      '$ORIGIN sub.example.\n$TTL 60\n@ SOA ns.sub.example. h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.5\nwww A 192.0.2.9\n',
      { origin: 'sub.example.' },
    ).zone;
    const cat = new ImageCatalog([openImage(compileZone(parent)), openImage(compileZone(child))]);
    const responder = new Responder(new Catalog([parent, child]), { cache: false });
    const out = new Uint8Array(65535);
    for (const [qname, qtype] of [
      ['\x03www\x03sub\x07example\x00', 1],
      ['\x03sub\x07example\x00', 43],
      ['\x03sub\x07example\x00', 6],
      ['\x04nope\x03sub\x07example\x00', 1],
      ['\x03www\x07example\x00', 1],
    ] as [string, number][]) {
      const pkt = buildQuery(7, 0, qname, qtype, { transport: 'udp' });
      const n = respondFromImage(cat, parseQuery(pkt, 'udp')!, out);
      assert.ok(n > 0, `${Name.fromWire(qname)} ${qtype}: fallback ${FALLBACK_NAMES[-n]}`);
      assert.deepEqual(
        Buffer.from(out.subarray(0, n)),
        Buffer.from(responder.respond(pkt, { transport: 'udp' })!),
      );
    }
    const none = buildQuery(7, 0, '\x03www\x05other\x00', 1, { transport: 'udp' });
    assert.equal(respondFromImage(cat, parseQuery(none, 'udp')!, out), -Fallback.NO_ZONE);
  });

  test('truncation: an answer too big for 512 octets gets TC as from the Responder', () => {
    const zone = loadZoneText(example, { origin: 'example.' }).zone;
    const img = openImage(compileZone(zone));
    const responder = new Responder(new Catalog([zone]), { cache: false });
    const out = new Uint8Array(65535);
    for (const v of VARIANTS) {
      const pkt = buildQuery(9, 0x0100, '\x03big\x07example\x00', 16, v);
      const n = respondFromImage(img, parseQuery(pkt, v.transport, v.edns?.nsid ? { nsid: NSID } : {})!, out);
      const expected = (
        v.edns?.nsid ? new Responder(new Catalog([zone]), { cache: false, nsid: NSID }) : responder
      ).respond(pkt, { transport: v.transport })!;
      assert.ok(n > 0);
      assert.deepEqual(Buffer.from(out.subarray(0, n)), Buffer.from(expected));
      const tc = (out[2] & 0x02) !== 0;
      // 30 × 77 octets: over 512 and over our 1232-octet EDNS cap, within TCP's 65535.
      assert.equal(tc, v.transport === 'udp', JSON.stringify(v));
    }
  });

  test('the default Responder (response cache on, misses then hits) sends the same octets', () => {
    const zone = loadZoneText(example, { origin: 'example.' }).zone;
    const img = openImage(compileZone(zone));
    const responder = new Responder(new Catalog([zone]));
    const out = new Uint8Array(65535);
    const rnd = seededRandom(5);
    let answered = 0;
    for (let round = 0; round < 2; round++)
      for (const node of zone.nodes.values())
        for (const qtype of [1, 28, 15, 255]) {
          const qname = round === 0 ? node.name.wire : mixCase(node.name.wire, rnd);
          const pkt = buildQuery(round, 0x0100, qname, qtype, VARIANTS[1]);
          const n = respondFromImage(img, parseQuery(pkt, 'udp')!, out);
          if (n < 0) continue;
          answered++;
          assert.deepEqual(
            Buffer.from(out.subarray(0, n)),
            Buffer.from(responder.respond(pkt, { transport: 'udp' })!),
          );
        }
    assert.ok(answered > 50);
  });

  test('names are stored in canonical order (RFC 4034 §6.1) and found through the hash', () => {
    const zone = loadZoneText(example, { origin: 'example.' }).zone;
    const img = openImage(compileRecords(zone.origin, zone.records()));
    const stored: Name[] = [];
    for (let i = 0; i < img.nameCount; i++) {
      const at = img.dv.getUint32(img.names + i * 32, true);
      stored.push(
        Name.fromWire(Buffer.from(img.bytes.subarray(at + 1, at + 1 + img.bytes[at])).toString('latin1')),
      );
    }
    const sorted = [...zone.nodes.values()].map((n) => n.name.toLowerCase()).sort(compareCanonical);
    assert.deepEqual(
      stored.map((n) => n.key),
      sorted.map((n) => n.key),
    );
  });

  test('images can live in a SharedArrayBuffer', () => {
    const zone = loadZoneText(example, { origin: 'example.' }).zone;
    const bytes = compileZone(zone, { allocate: sharedAllocator });
    assert.ok(bytes.buffer instanceof SharedArrayBuffer);
    assert.deepEqual(Buffer.from(bytes), Buffer.from(compileZone(zone)));
    openImage(bytes);
  });

  const corpus = resolve(repoRoot, 'test/interop/corpus/zones');
  test('test/interop/corpus/zones', { skip: existsSync(corpus) ? false : 'no corpus zones' }, (t) => {
    const { zones } = loadZoneFiles(corpus);
    assert.ok(zones.length > 0);
    const tally = newTally();
    for (const [i, z] of zones.entries()) compareZone(z.zone, tally, 100 + i, 400);
    report(t, 'corpus', tally);
    assertClean(tally);
  });

  const folders = [
    'bind9/checkzone',
    'bind9/nsec3',
    'bind9/diff',
    'bind9/master',
    'hickory',
    'knot/semantic-check',
    'knot/tests-extra',
    'nsd/zones',
    'nsd/root-2011-signed',
    'powerdns/zones',
    'simdzone',
    'dnspython',
    'iana-root-zone-2020',
  ];
  for (const folder of folders) {
    const dir = resolve(sharedTestdata, folder);
    const skip = existsSync(dir)
      ? false
      : `../shared/testdata/${folder} is not present (only in the team's workspace)`;
    test(`../shared/testdata/${folder}`, { skip }, (t) => {
      const { zones, skipped } = loadZoneFiles(dir);
      const tally = newTally();
      for (const [i, z] of zones.entries()) compareZone(z.zone, tally, 1000 + i);
      report(t, `${folder} (${zones.length} zones, ${skipped} files that do not load skipped)`, tally);
      assertClean(tally);
    });
  }
});

describe('the validator refuses corrupted images', () => {
  const zone = loadZoneText(
    '$ORIGIN v.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n*.w TXT "x"\nd NS ns.d\nns.d A 192.0.2.2\n',
    { origin: 'v.' },
  ).zone;
  const good = compileZone(zone);

  test('the good image opens', () => {
    openImage(good);
  });

  test('every truncation is rejected', () => {
    for (let n = 0; n < good.length; n++) assert.throws(() => openImage(good.slice(0, n)), ImageFormatError);
  });

  test('random corruption is rejected or stays within the image', () => {
    const rnd = seededRandom(7);
    const out = new Uint8Array(65535);
    let rejected = 0;
    for (let k = 0; k < 3000; k++) {
      const bad = good.slice();
      const flips = 1 + Math.floor(rnd() * 4);
      for (let i = 0; i < flips; i++) bad[Math.floor(rnd() * bad.length)] = Math.floor(rnd() * 256);
      let img: ZoneImage;
      try {
        img = openImage(bad);
      } catch (err) {
        assert.ok(err instanceof ImageFormatError, String(err));
        rejected++;
        continue;
      }
      // Accepted (e.g. a flipped RDATA octet): reading it must still be safe.
      for (const qname of [
        '\x02ns\x01v\x00',
        '\x01x\x01w\x01v\x00',
        '\x01q\x01v\x00',
        '\x01a\x01d\x01v\x00',
      ]) {
        const q = parseQuery(buildQuery(1, 0, qname, 1, { transport: 'udp' }), 'udp')!;
        respondFromImage(img, q, out);
      }
    }
    assert.ok(rejected > 0);
  });

  test('offsets pointing outside their section are rejected', () => {
    const bad = good.slice();
    const dv = new DataView(bad.buffer);
    // The negative template offset → past the end.
    dv.setUint32(40, bad.length + 100, true);
    assert.throws(() => openImage(bad), /negative/);
  });

  test('a template offset that is not a template start is rejected (inside one, misaligned, before the section)', () => {
    const dv0 = new DataView(good.buffer, good.byteOffset, good.byteLength);
    const negative = dv0.getUint32(40, true);
    assert.ok(negative !== 0xffffffff);
    for (const at of [negative + 4, negative + 1, negative + 2, negative - 4, 8]) {
      const bad = good.slice();
      new DataView(bad.buffer).setUint32(40, at, true);
      assert.throws(() => openImage(bad), /negative does not point at a template/, String(at));
    }
  });
});
