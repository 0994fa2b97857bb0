/**
 * Proof that a Responder over ImageZones answers octet for octet as one over Zones: the
 * differential corpus (test/interop/corpus), a hand-written zone with every kind of answer,
 * and every zone under ../shared/testdata that loads (read in place; skipped with a message
 * when absent), over UDP (no EDNS, EDNS 512/1232/4096), TCP, with NSID, COOKIE and DO, with
 * and without the response cache. Plus answer.test.ts-style cases over ImageZone.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { buildQuery, mixCase, type Variant } from '../../test/helpers/image-queries.js';
import { sharedTestdata } from '../../test/helpers/paths.js';
import { listZoneFiles } from '../../test/helpers/peers.js';
import { seededRandom } from '../../test/helpers/prng.js';
import { loadZoneFiles } from '../../test/helpers/zone-files.js';
import { AnswerKind, answerQuery } from '../answer/answer.js';
import { Catalog } from '../answer/catalog.js';
import { Responder, type ResponderOptions } from '../answer/respond.js';
import { typeFromString } from '../wire/constants.js';
import { Name } from '../wire/name.js';
import { loadZoneFile, loadZoneText } from '../zone/load.js';
import { NodeFlag, type RRset, type ServedZone, type Zone } from '../zone/zone.js';
import { compileZone } from './compile.js';
import { FALLBACK_NAMES, Fallback, H, T, TEMPLATE_HEADER_SIZE, TemplateFlag } from './format.js';
import { PackReader, PackWriter } from './pack.js';
import { openImage, parseQuery, respondFromImage } from './reader.js';
import { ImageZone, ImageZonePool, NODE_CACHE } from './zone-view.js';

const NSID = new TextEncoder().encode('ns-test');
const TYPES = [1, 2, 5, 6, 15, 16, 28, 33, 39, 43, 65, 99, 255, 65400];

/** Every transport/EDNS combination the proof asks in. */
export const VARIANTS: Variant[] = [
  { transport: 'udp' },
  { transport: 'udp', edns: { size: 512, do: false, nsid: false, cookie: false } },
  { transport: 'udp', edns: { size: 1232, do: true, nsid: false, cookie: false } },
  { transport: 'udp', edns: { size: 1232, do: false, nsid: true, cookie: true } },
  { transport: 'udp', edns: { size: 4096, do: true, nsid: true, cookie: false } },
  { transport: 'udp', edns: { size: 512, do: false, nsid: false, cookie: true } },
  { transport: 'tcp' },
  { transport: 'tcp', edns: { size: 1232, do: true, nsid: true, cookie: true } },
];

/** An ImageZone compiled from `zone`. */
export function imageOf(zone: Zone): ImageZone {
  return new ImageZone(openImage(compileZone(zone)));
}

function randomLabel(rnd: () => number): string {
  const n = 1 + Math.floor(rnd() * 12);
  let s = String.fromCharCode(n);
  for (let i = 0; i < n; i++) s += String.fromCharCode(0x61 + Math.floor(rnd() * 26));
  return s;
}

/** Names to ask of `zone`: each name (sampled to `maxNames`), a mixed-case spelling, random labels below. */
function namesOf(zone: Zone, rnd: () => number, maxNames: number): string[] {
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
  return names;
}

/** Responders over Zones and over ImageZones of the same zones, with the same options. */
class Pair {
  readonly zones: Responder;
  readonly images: Responder;
  constructor(zones: Zone[], images: ServedZone[], opts: ResponderOptions) {
    this.zones = new Responder(new Catalog(zones), opts);
    this.images = new Responder(new Catalog(images), opts);
  }
}

interface Tally {
  queries: number;
  mismatches: string[];
  /** Responses the ImageZone side copied from templates, and its fallbacks by reason. */
  templates: number;
  fallbacks: number[];
}

function newTally(): Tally {
  return { queries: 0, mismatches: [], templates: 0, fallbacks: new Array(FALLBACK_NAMES.length).fill(0) };
}

/** Adds the image counters of `pairs` to `tally`. */
function count(pairs: Pair[], tally: Tally): void {
  for (const p of pairs) {
    tally.templates += p.images.imageAnswers;
    p.images.imageFallbacks.forEach((n, i) => {
      if (i < tally.fallbacks.length) tally.fallbacks[i] += n;
      else assert.equal(n, 0, `fallback reason ${i} is not in format.ts`);
    });
  }
}

function report(t: { diagnostic: (m: string) => void }, label: string, tally: Tally): void {
  const fb = tally.fallbacks
    .map((n, i) => (n > 0 ? `${FALLBACK_NAMES[i]} ${n}` : ''))
    .filter((x) => x !== '')
    .join(', ');
  t.diagnostic(
    `${label}: ${tally.queries} queries compared; the ImageZone side copied ${tally.templates} from templates; fallbacks to the engine: ${fb || 'none'}`,
  );
}

const OPTION_SETS: ResponderOptions[] = [
  { cache: false },
  { cache: false, nsid: NSID, ednsSize: 4096 },
  // The cache: 'first' stores every answer, so the second ask of a key is a hit.
  { cache: { admission: 'first' }, nsid: NSID },
  { cache: { admission: 'first' }, imageAnswers: 'skip' },
];

/** Asks both responders of every option set `pkt`; records any difference. */
function ask(pairs: Pair[], pkt: Uint8Array, v: Variant, what: string, tally: Tally): void {
  for (const pair of pairs) {
    for (let round = 0; round < 2; round++) {
      tally.queries++;
      const a = pair.zones.respond(pkt, { transport: v.transport });
      const b = pair.images.respond(pkt, { transport: v.transport });
      if (a === null && b === null) continue;
      if (a === null || b === null || Buffer.compare(Buffer.from(a), Buffer.from(b)) !== 0) {
        if (tally.mismatches.length < 20)
          tally.mismatches.push(
            `${what} ${v.transport} ${JSON.stringify(v.edns)} round ${round}:\n  zones  ${a && Buffer.from(a).toString('hex')}\n  images ${b && Buffer.from(b).toString('hex')}`,
          );
        else tally.mismatches.length++;
      }
    }
  }
}

/**
 * Compares the two catalogs on names sampled from `zones`, each with the types held and TYPES.
 * `asImage(i)`: whether zone i is served as an ImageZone on the image side (default all).
 */
function compareZones(
  zones: Zone[],
  tally: Tally,
  seed: number,
  maxNames = 120,
  asImage: (i: number) => boolean = () => true,
): void {
  const rnd = seededRandom(seed);
  const images = zones.map((z, i) => (asImage(i) ? imageOf(z) : z));
  const pairs = OPTION_SETS.map((o) => new Pair(zones, images, o));
  for (const zone of zones)
    for (const qname of namesOf(zone, rnd, maxNames)) {
      const node = zone.nodes.get(Name.fromWire(qname).key);
      const types = new Set(TYPES);
      for (const s of node?.rrsets ?? []) types.add(s.type);
      for (const qtype of types) {
        const v = VARIANTS[Math.floor(rnd() * VARIANTS.length)];
        const flags = (rnd() < 0.5 ? 0x0100 : 0) | (rnd() < 0.2 ? 0x0010 : 0);
        const pkt = buildQuery(Math.floor(rnd() * 65536), flags, qname, qtype, v);
        ask(pairs, pkt, v, `${Name.fromWire(qname)} ${qtype}`, tally);
      }
    }
  count(pairs, tally);
}

function assertClean(tally: Tally): void {
  assert.equal(tally.mismatches.length, 0, tally.mismatches.slice(0, 5).join('\n'));
}

const corpusDir = resolve('test/interop/corpus');

function corpusZones(): Zone[] {
  return listZoneFiles(join(corpusDir, 'zones')).map((z) => loadZoneFile(z.file, { origin: z.origin }).zone);
}

/** The corpus lines as (qname, qtype, variant), as test/interop/differential.test.ts reads them. */
function corpusQueries(): { qname: Name; qtype: number; v: Variant; line: string }[] {
  const out: { qname: Name; qtype: number; v: Variant; line: string }[] = [];
  for (const raw of readFileSync(join(corpusDir, 'queries.txt'), 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [name, type, ...opts] = line.split(/\s+/);
    const qtype = typeFromString(type);
    if (qtype === undefined) continue;
    let edns: Variant['edns'] = { size: 1232, do: false, nsid: false, cookie: false };
    let transport: 'udp' | 'tcp' = 'udp';
    let version = 0;
    for (const o of opts) {
      if (o === 'tcp') transport = 'tcp';
      else if (o === 'noedns') edns = undefined;
      else if (o === 'do' && edns) edns.do = true;
      else if (o.startsWith('bufsize=') && edns) edns.size = Number(o.slice(8));
      else if (o.startsWith('ednsver=')) version = Number(o.slice(8));
    }
    if (version !== 0) continue;
    out.push({ qname: Name.parse(name), qtype, v: { transport, edns }, line });
  }
  return out;
}

const example = `
$ORIGIN Example.
$TTL 3600
@ SOA NS1 hostmaster 1 7200 900 1209600 300
@ NS NS1
@ NS ns2.other.
@ MX 10 Mail
@ MX 20 mail
NS1 A 192.0.2.1
ns1 AAAA 2001:db8::1
Mail A 192.0.2.2
www A 192.0.2.3
www AAAA 2001:db8::3
alias CNAME www
alias2 CNAME alias
mx-alias CNAME Mail
out CNAME www.other.
*.Wild TXT "wild"
*.wild MX 5 mail
*.cw CNAME www
a.B.c.ent A 192.0.2.4
sub NS ns.sub
sub NS ns1
sub DS 1 8 2 AABBCCDD
NS.sub A 192.0.2.5
ns.sub AAAA 2001:db8::5
dn DNAME target.Example.
target A 192.0.2.9
x.target A 192.0.2.10
dn-out DNAME elsewhere.
hostmaster.x A 192.0.2.6
child NS ns1.child
ns1.child A 192.0.2.7
deep NS ns1.deep
deep NS ns2.deep
deep NS ns3.deep
deep NS NS1
ns1.deep AAAA 2001:db8::10
ns1.deep AAAA 2001:db8::11
ns2.deep AAAA 2001:db8::13
ns3.deep AAAA 2001:db8::15
srv SRV 0 0 53 Mail
`;

const childText = `
$ORIGIN child.example.
$TTL 300
@ SOA ns1 h 7 3600 600 86400 60
@ NS ns1
ns1 A 192.0.2.7
w A 192.0.2.8
`;

describe('a Responder over ImageZones answers as one over Zones', () => {
  test('the differential corpus, in every variant', (t) => {
    const zones = corpusZones();
    const images = zones.map(imageOf);
    const pairs = OPTION_SETS.map((o) => new Pair(zones, images, o));
    const tally = newTally();
    const rnd = seededRandom(7);
    for (const q of corpusQueries()) {
      for (const v of [q.v, ...VARIANTS]) {
        const wire = rnd() < 0.3 ? mixCase(q.qname.wire, rnd) : q.qname.wire;
        ask(pairs, buildQuery(Math.floor(rnd() * 65536), 0x0100, wire, q.qtype, v), v, q.line, tally);
      }
    }
    count(pairs, tally);
    report(t, 'corpus', tally);
    assertClean(tally);
    assert.ok(tally.queries > 10_000);
    assert.ok(tally.templates > tally.queries / 4, 'most ImageZone answers are template copies');
  });

  test('ImageZones over views of image packs (mapped when the addon loads) answer the same', (t) => {
    const zones = corpusZones();
    const writer = new PackWriter(undefined, { packBytes: 1 << 20 });
    try {
      const refs = writer.addMany(zones.map((z) => compileZone(z)));
      const reader = new PackReader(writer.dir);
      t.diagnostic(`pack views ${reader.mapped ? 'memory-mapped' : 'copied (no addon)'}`);
      const images = refs.map((r) => new ImageZone(openImage(reader.open(r))));
      const pairs = OPTION_SETS.map((o) => new Pair(zones, images, o));
      const tally = newTally();
      const rnd = seededRandom(9);
      for (const q of corpusQueries()) {
        const v = VARIANTS[Math.floor(rnd() * VARIANTS.length)];
        ask(pairs, buildQuery(Math.floor(rnd() * 65536), 0x0100, q.qname.wire, q.qtype, v), v, q.line, tally);
      }
      count(pairs, tally);
      assertClean(tally);
      assert.ok(tally.templates > 0);
    } finally {
      writer.close();
    }
  });

  test('zones opened on first query under a tiny pool (2 zones, 40 nodes open) answer the same', (t) => {
    const zones = corpusZones();
    const writer = new PackWriter(undefined, { packBytes: 1 << 20 });
    try {
      const refs = writer.addMany(zones.map((z) => compileZone(z)));
      const reader = new PackReader(writer.dir);
      const pool = new ImageZonePool((r) => reader.open(r), { maxZones: 2, maxNodes: 40 });
      const lazy = refs.map((r, i) => pool.zone(zones[i].origin.toLowerCase(), r));
      assert.equal(pool.openZones, 0, 'nothing opened before a query');
      const pairs = OPTION_SETS.map((o) => new Pair(zones, lazy, o));
      const tally = newTally();
      const rnd = seededRandom(21);
      let most = 0;
      for (const q of corpusQueries()) {
        const v = VARIANTS[Math.floor(rnd() * VARIANTS.length)];
        ask(pairs, buildQuery(Math.floor(rnd() * 65536), 0x0100, q.qname.wire, q.qtype, v), v, q.line, tally);
        most = Math.max(most, pool.openZones);
      }
      count(pairs, tally);
      assertClean(tally);
      assert.ok(tally.templates > 0);
      assert.ok(most <= 2, `at most 2 zones open (saw ${most})`);
      assert.ok(pool.evictions > 0 && pool.reopens > 0, 'zones were closed and opened again');
      assert.ok(pool.firstOpens <= zones.length, 'each image validated once');
      t.diagnostic(
        `${tally.queries} queries; ${pool.firstOpens} first opens, ${pool.reopens} reopens, ${pool.evictions} evictions`,
      );
    } finally {
      writer.close();
    }
  });

  test('images compiled without templates: the engine over the ImageZone answers the rest', () => {
    const zones = corpusZones();
    const images = zones.map((z) => new ImageZone(openImage(compileZone(z, { templates: false }))));
    const pairs = OPTION_SETS.map((o) => new Pair(zones, images, o));
    const tally = newTally();
    const rnd = seededRandom(13);
    for (const q of corpusQueries()) {
      const v = VARIANTS[Math.floor(rnd() * VARIANTS.length)];
      ask(pairs, buildQuery(Math.floor(rnd() * 65536), 0x0100, q.qname.wire, q.qtype, v), v, q.line, tally);
    }
    count(pairs, tally);
    assertClean(tally);
    // Only the zone's negative template is written without templates: everything else fell back.
    assert.ok(tally.fallbacks.reduce((x, y) => x + y, 0) > tally.templates);
  });

  test('a hand-written zone with mixed-case owners, a served child, every kind of answer', (t) => {
    const zones = [
      loadZoneText(example, { origin: 'Example.' }).zone,
      loadZoneText(childText, { origin: 'child.example.' }).zone,
    ];
    const tally = newTally();
    compareZones(zones, tally, 3, 1000);
    report(t, 'hand-written', tally);
    assertClean(tally);
    assert.ok(tally.templates > 0 && tally.fallbacks.some((n) => n > 0));
  });

  test('a catalog mixing Zones and ImageZones (a Zone child under an image parent, and the reverse)', () => {
    const zones = [
      loadZoneText(example, { origin: 'Example.' }).zone,
      loadZoneText(childText, { origin: 'child.example.' }).zone,
    ];
    for (const which of [0, 1]) {
      const tally = newTally();
      compareZones(zones, tally, 5 + which, 1000, (i) => i === which);
      assertClean(tally);
    }
  });

  test('a replaced ImageZone: cached template answers of the old image are not served', () => {
    const v1 = loadZoneText(example, { origin: 'Example.' }).zone;
    const v2 = loadZoneText(example.replace('www A 192.0.2.3', 'www A 192.0.2.33'), {
      origin: 'Example.',
    }).zone;
    const r = new Responder(new Catalog([imageOf(v1)]), {});
    const pkt = buildQuery(1, 0x0100, '\x03www\x07example\x00', 1, VARIANTS[0]);
    const ask1 = (x: Responder) => Buffer.from(x.respond(pkt, { transport: 'udp' })!);
    const first = ask1(r);
    for (let i = 0; i < 3; i++) assert.deepEqual(ask1(r), first);
    assert.ok((r.cacheStats()?.udp.hits ?? 0) > 0, 'the template answer was cached');
    r.replaceZones([imageOf(v2)]);
    const after = ask1(r);
    assert.deepEqual(after, ask1(new Responder(new Catalog([v2]), { cache: false })));
    assert.notDeepEqual(after, first);
  });

  test('every zone of ../shared/testdata that loads', (t) => {
    if (!existsSync(sharedTestdata)) {
      t.skip(`${sharedTestdata} is not present (only in the team's workspace)`);
      return;
    }
    const { zones, skipped } = loadZoneFiles(sharedTestdata);
    const tally = newTally();
    let seed = 11;
    for (const { zone } of zones) compareZones([zone], tally, seed++, 60);
    report(t, `${zones.length} zones (${skipped} files skipped)`, tally);
    assertClean(tally);
  });
});

describe('answerQuery over ImageZone', () => {
  const zone = loadZoneText(example, { origin: 'Example.' }).zone;
  const child = loadZoneText(childText, { origin: 'child.example.' }).zone;
  const images = new Catalog([imageOf(zone), imageOf(child)]);
  const zonesCat = new Catalog([zone, child]);
  const A = 1;
  const summary = (sets: RRset[]): string[] => sets.map((s) => `${s.name} ${s.type} ${s.rdata.length}`);
  const same = (qname: string, qtype: number) => {
    const a = answerQuery(zonesCat, Name.parse(qname), qtype);
    const b = answerQuery(images, Name.parse(qname), qtype);
    assert.equal(b.kind, a.kind, qname);
    for (const k of ['answer', 'authority', 'glue', 'additional'] as const)
      assert.deepEqual(summary(b[k]), summary(a[k]), `${qname} ${qtype} ${k}`);
    return b;
  };

  test('DNAME: synthesized CNAME and the chain inside the zone', () => {
    const r = same('x.dn.example.', A);
    assert.equal(r.kind, AnswerKind.HIT);
    assert.deepEqual(summary(r.answer), ['dn.Example. 39 1', 'x.dn.example. 5 1', 'x.target.Example. 1 1']);
  });

  test('CNAME asked for another type: NODATA at the target', () => {
    const r = same('alias.example.', 15);
    assert.equal(r.kind, AnswerKind.NODATA);
  });

  test('MX with two records to one host: its address once in additional', () => {
    const r = same('example.', 15);
    assert.deepEqual(summary(r.additional), ['Mail.Example. 1 1']);
  });

  test('wildcards, ENTs, glue, DS at a served child apex', () => {
    assert.equal(same('q.wild.example.', 16).kind, AnswerKind.HIT);
    assert.equal(same('c.ent.example.', A).kind, AnswerKind.NODATA);
    assert.equal(same('nope.c.ent.example.', A).kind, AnswerKind.NXDOMAIN);
    const ref = same('www.deep.example.', A);
    assert.equal(ref.kind, AnswerKind.DELEGATION);
    assert.equal(ref.glue.length, 3);
    // DS at the child's apex: the parent's DS (RFC 4035 §3.1.4.1), from the parent's image.
    const ds = same('child.example.', 43);
    assert.equal(ds.zone?.origin.toString(), 'Example.');
    assert.equal(same('w.child.example.', A).kind, AnswerKind.HIT);
  });

  test('more names touched than the node cache holds: nodes are made again, the same data', () => {
    const n = NODE_CACHE * 2 + 100;
    let text = '$ORIGIN many.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n';
    for (let i = 0; i < n; i++) text += `h${i} A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}\n`;
    const z = imageOf(loadZoneText(text, { origin: 'many.' }).zone);
    const first = z.nodes.get(Name.parse('h0.many.').key)!;
    assert.equal(z.nodes.get(Name.parse('h0.many.').key), first, 'kept while recent');
    for (let round = 0; round < 2; round++)
      for (let i = 0; i < n; i += 7) {
        const node = z.nodes.get(Name.parse(`h${i}.many.`).key)!;
        assert.deepEqual([...node.get(A)!.rdata[0]], [10, (i >> 16) & 255, (i >> 8) & 255, i & 255]);
      }
    const again = z.nodes.get(Name.parse('h0.many.').key)!;
    assert.deepEqual(again.get(A)!.rdata, first.get(A)!.rdata);
    assert.equal(z.apex, z.nodes.get(Name.parse('many.').key), 'the apex is one object');
  });

  test('a crafted image whose patched pointers would leave their range falls back (as in C)', () => {
    const image = compileZone(loadZoneText(example, { origin: 'Example.' }).zone);
    const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
    const t = dv.getUint32(H.NEGATIVE_TEMPLATE, true);
    const patches = dv.getUint16(t + T.PATCH_COUNT, true);
    assert.ok(patches > 0 && (image[t + T.TFLAGS] & TemplateFlag.SHIFTABLE) !== 0);
    const qlen = image[t + T.QNAME_LENGTH];
    const body = t + dv.getUint32(t + T.BODY, true);
    const bad = image.slice();
    for (let i = 0; i < patches; i++) {
      const at = body + dv.getUint16(t + TEMPLATE_HEADER_SIZE + i * 2, true);
      bad[at] = 0xff;
      bad[at + 1] = 0xf0;
    }
    const good = openImage(image);
    const crafted = openImage(bad);
    const out = new Uint8Array(65535);
    const nx = (len: number): string => {
      const label = len - 9 - 1;
      return `${String.fromCharCode(label)}${'q'.repeat(label)}\x07example\x00`;
    };
    for (const len of [qlen - 2, qlen + 1, qlen + 16, qlen + 40]) {
      if (len - 10 < 1 || len - 10 > 63 || len === qlen) continue;
      const q = parseQuery(buildQuery(1, 0x100, nx(len), 1, VARIANTS[0]), 'udp')!;
      assert.ok(respondFromImage(good, q, out) > 0, `good image, QNAME ${len}`);
      assert.equal(respondFromImage(crafted, q, out), -Fallback.UNPATCHABLE, `crafted image, QNAME ${len}`);
    }
  });

  test('owners keep the zone spelling; RDATA is a view of the image', () => {
    const img = imageOf(zone);
    assert.equal(img.origin.wire, '\x07Example\x00');
    const node = img.nodes.get(Name.parse('ns1.example.').key)!;
    assert.equal(node.name.wire, '\x03NS1\x07Example\x00');
    const a = node.get(A)!;
    assert.equal(a.rdata[0].buffer, img.image.bytes.buffer);
    // The same object while it is in use (additional processing dedupes by identity).
    assert.equal(img.nodes.get(Name.parse('ns1.example.').key), node);
    assert.equal(img.soaData.minimum, 300);
    assert.equal(img.serial, 1);
  });
});
