/**
 * The C answer from zone images (native/image.c) against the JS reader and the Responder, octet
 * for octet: for the image proof's zones (a hand-written zone with every case, the corpus zones,
 * ../shared/testdata when present) every name × type, random names below each, wildcards, cuts,
 * ENTs, mixed case, over UDP without EDNS and with EDNS 512/1232/4096 (DO on and off). Every
 * answer C gives must be the Responder's; C may hand a query back only where the JS reader falls
 * back too, or when the query carries an EDNS option (NSID and the rest stay with JS).
 * Also: corrupted images are refused by the C validator as by `openImage`.
 * @module
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { Catalog } from '../../src/answer/catalog.js';
import { isSignedZone } from '../../src/answer/dnssec.js';
import { Responder } from '../../src/answer/respond.js';
import { compileZone } from '../../src/image/compile.js';
import { H, T, TEMPLATE_HEADER_SIZE, TemplateFlag } from '../../src/image/format.js';
import { ImageCatalog, openImage, parseQuery, respondFromImage } from '../../src/image/reader.js';
import { NativeAnswers } from '../../src/server/shared/native-answers.js';
import { createNativeUdpListener, nativeUdpStatus } from '../../src/transport/native-udp.js';
import { RRType } from '../../src/wire/constants.js';
import { Name } from '../../src/wire/name.js';
import { loadZoneText } from '../../src/zone/load.js';
import { NodeFlag, type Zone } from '../../src/zone/zone.js';
import { queryUdp } from '../helpers/dns-client.js';
import { type Edns, queryPacket } from '../helpers/image-queries.js';
import { repoRoot, sharedTestdata } from '../helpers/paths.js';
import { seededRandom } from '../helpers/prng.js';
import { skipOrFail } from '../helpers/require-peers.js';
import { loadZoneFiles } from '../helpers/zone-files.js';

setFlagsFromString('--expose-gc');
const native = nativeUdpStatus();
const missing = skipOrFail(native.ok ? false : `native addon unavailable: ${native.reason}`);

const TYPES = [1, 2, 5, 6, 15, 16, 28, 33, 43, 99, 255, 65400];

const COOKIE: [number, number[]] = [10, [1, 2, 3, 4, 5, 6, 7, 8]];
const SERVER_COOKIE: [number, number[]] = [10, [1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 9, 9, 9, 9]];
const VARIANTS: (Edns | undefined)[] = [
  undefined,
  { size: 1232, do: true, nsid: false },
  { size: 512, do: false, nsid: false },
  { size: 4096, do: false, nsid: false },
  { size: 1232, do: false, nsid: true },
  { size: 1232, do: true, nsid: false, options: [COOKIE] },
  { size: 4096, do: false, nsid: true, options: [SERVER_COOKIE, [12, [0, 0, 0, 0]]] },
  {
    size: 512,
    do: true,
    nsid: false,
    options: [
      [12, new Array(40).fill(0)],
      [65001, [7]],
    ],
  },
  { size: 1232, do: false, nsid: false, options: [[10, [1, 2, 3]]] }, // a COOKIE of a bad length: ignored too
  { size: 65535, do: false, nsid: true, options: [[8, [0, 1, 24, 0, 192, 0, 2]]] },
];

function mixCase(wire: string, rnd: () => number): string {
  let s = '';
  for (let i = 0; i < wire.length; i++) {
    const c = wire.charCodeAt(i);
    s += c >= 0x61 && c <= 0x7a && rnd() < 0.5 ? String.fromCharCode(c - 32) : wire[i];
  }
  return s;
}

function randomLabel(rnd: () => number): string {
  const n = 1 + Math.floor(rnd() * 12);
  let s = String.fromCharCode(n);
  for (let i = 0; i < n; i++) s += String.fromCharCode(0x61 + Math.floor(rnd() * 26));
  return s;
}

interface Tally {
  queries: number;
  c: number;
  js: number;
  /** The same queries as read over TCP (tcpc23: C serves plain TCP queries): answered in C. */
  tcp: number;
  mismatches: string[];
}

/**
 * Installs `zones` in C and asks C, the JS reader and the Responder the same UDP queries
 * (`nsid`: our NSID, configured in all three; `templates: false`: images without templates,
 * a staged zone's first stage).
 */
function compare(
  zones: Zone[],
  seed: number,
  ednsSize: number,
  maxNames = 150,
  nsid?: Uint8Array,
  templates = true,
): Tally {
  const addon = native.ok ? native.addon : undefined;
  assert.ok(addon);
  addon.imageClear();
  addon.imageConfigure(false, ednsSize, nsid);
  const images = zones.map((z) => compileZone(z, { templates }));
  for (const b of images) addon.imageInstall(b);
  const cat = new ImageCatalog(images.map((b) => openImage(b)));
  const responder = new Responder(new Catalog(zones), { cache: false, ednsSize, nsid });
  const rnd = seededRandom(seed);
  const out = new Uint8Array(65535);
  const tally: Tally = { queries: 0, c: 0, js: 0, tcp: 0, mismatches: [] };
  for (const zone of zones) {
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
        const e = VARIANTS[Math.floor(rnd() * VARIANTS.length)];
        const flags = (rnd() < 0.5 ? 0x0100 : 0) | (rnd() < 0.2 ? 0x0010 : 0);
        const pkt = queryPacket(Math.floor(rnd() * 65536), flags, qname, qtype, e);
        // A signed zone's DO and RRSIG queries are the JS engine's (docs/IMAGE.md "Signed
        // zones"): NativeAnswers never installs its image; installed here by hand, nothing to compare.
        if (isSignedZone(zone) && (e?.do === true || qtype === RRType.RRSIG)) continue;
        tally.queries++;
        const expected = responder.respond(pkt, { transport: 'udp' });
        const q = parseQuery(pkt, 'udp', { ednsSize, nsid });
        const n = q ? respondFromImage(cat, q, out) : -1;
        const got = addon.answerForTest(pkt);
        const what = `${Name.fromWire(qname)} ${qtype} ${JSON.stringify(e)}`;
        // Over TCP (no truncation, frames up to 65,535 octets): C's answer is the Responder's.
        const gotTcp = addon.answerForTest(pkt, true);
        if (gotTcp !== null) {
          tally.tcp++;
          const want = responder.respond(pkt, { transport: 'tcp' });
          if (want === null || Buffer.compare(Buffer.from(gotTcp), Buffer.from(want)) !== 0)
            tally.mismatches.push(
              `${what}: C over TCP differs from the Responder\n  C         ${Buffer.from(gotTcp).toString('hex')}\n  responder ${want && Buffer.from(want).toString('hex')}`,
            );
        }
        if (got !== null) {
          tally.c++;
          const js = n >= 0 ? Buffer.from(out.subarray(0, n)) : undefined;
          if (js === undefined || Buffer.compare(Buffer.from(got), js) !== 0)
            tally.mismatches.push(
              `${what}: C differs from the JS reader (${n < 0 ? `fallback ${-n}` : 'other octets'})`,
            );
          else if (expected === null || Buffer.compare(Buffer.from(got), Buffer.from(expected)) !== 0)
            tally.mismatches.push(
              `${what}: C differs from the Responder\n  C         ${Buffer.from(got).toString('hex')}\n  responder ${expected && Buffer.from(expected).toString('hex')}`,
            );
        } else if (n >= 0) {
          // C answers everything the JS reader answers: EDNS options and answers of any size included.
          tally.js++;
          tally.mismatches.push(`${what}: the JS reader answers (${n} octets), C handed it back`);
        }
      }
    }
  }
  addon.imageClear();
  addon.imageConfigure(false, 1232);
  return tally;
}

function check(t: { diagnostic: (m: string) => void }, label: string, tally: Tally): void {
  t.diagnostic(
    `${label}: ${tally.queries} queries, ${tally.c} answered in C, ${tally.js} by the JS reader only, ${tally.tcp} over TCP in C`,
  );
  assert.ok(
    tally.queries === 0 || tally.tcp >= tally.c,
    'C answers over TCP at least what it answers over UDP',
  );
  assert.equal(tally.mismatches.length, 0, tally.mismatches.slice(0, 5).join('\n'));
}

const EXAMPLE = `
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
`;
const CHILD =
  '$ORIGIN sub.example.\n$TTL 60\n@ SOA ns.sub.example. h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.5\nwww A 192.0.2.9\n';

describe('C answers from zone images', { skip: missing }, () => {
  test('the hand-written zone and a child zone: C = Responder', (t) => {
    const parent = loadZoneText(EXAMPLE, { origin: 'example.' }).zone;
    const child = loadZoneText(CHILD, { origin: 'sub.example.' }).zone;
    for (const size of [1232, 512, 4096]) {
      const tally = compare([parent, child], size, size);
      check(t, `example. + sub.example., ednsSize ${size}`, tally);
      assert.ok(tally.c > tally.queries / 2, 'most queries answered in C');
    }
  });

  test('with an NSID configured (short, and long enough to push answers over 512): C = Responder', (t) => {
    const parent = loadZoneText(EXAMPLE, { origin: 'example.' }).zone;
    const child = loadZoneText(CHILD, { origin: 'sub.example.' }).zone;
    for (const [size, nsid] of [
      [1232, Buffer.from('ns-1')],
      [4096, Buffer.from('x'.repeat(300))],
      [512, Buffer.from('n'.repeat(512))],
    ] as const) {
      const tally = compare([parent, child], size + nsid.length, size, 150, new Uint8Array(nsid));
      check(t, `NSID of ${nsid.length} octets, ednsSize ${size}`, tally);
      assert.ok(tally.c > tally.queries / 2, 'most queries answered in C');
    }
  });

  test('answers larger than 4,096 octets are answered in C (up to the EDNS size, 65,535 at most)', () => {
    const addon = native.ok ? native.addon : undefined;
    assert.ok(addon);
    const txt = Array.from(
      { length: 60 },
      (_, i) => `big TXT "${String(i).padStart(3, '0')}${'y'.repeat(200)}"`,
    );
    const zone = loadZoneText(`${EXAMPLE}\n${txt.join('\n')}\n`, { origin: 'example.' }).zone;
    const responder = new Responder(new Catalog([zone]), { cache: false, ednsSize: 65535 });
    addon.imageClear();
    addon.imageConfigure(false, 65535);
    try {
      addon.imageInstall(compileZone(zone));
      for (const size of [512, 4096, 8192, 65535]) {
        const pkt = queryPacket(7, 0x0100, '\x03big\x07example\x00', 16, { size, do: false, nsid: false });
        const want = responder.respond(pkt, { transport: 'udp' });
        const got = addon.answerForTest(pkt);
        assert.ok(got !== null && want !== null, `size ${size}: answered in C`);
        assert.deepEqual(Buffer.from(got), Buffer.from(want), `size ${size}`);
        if (size >= 65535) assert.ok(got.length > 12_000, `${got.length} octets`);
      }
    } finally {
      addon.imageClear();
      addon.imageConfigure(false, 1232);
    }
  });

  test('images are read in place: no copy, kept alive by the addon, SharedArrayBuffer and offset views', () => {
    const addon = native.ok ? native.addon : undefined;
    assert.ok(addon);
    const zone = loadZoneText(EXAMPLE, { origin: 'example.' }).zone;
    const responder = new Responder(new Catalog([zone]), { cache: false });
    const pkt = queryPacket(5, 0x0100, '\x03www\x07example\x00', 1);
    const want = Buffer.from(responder.respond(pkt, { transport: 'udp' })!);
    const image = compileZone(zone);
    addon.imageClear();
    try {
      // A view at an odd offset inside a larger SharedArrayBuffer (as a pack file mapped once).
      const sab = new SharedArrayBuffer(image.length + 101);
      const view = new Uint8Array(sab, 101, image.length);
      view.set(image);
      addon.imageInstall(view);
      assert.deepEqual(addon.imageStats(), { zones: 1, served: 1, bytes: image.length, enabled: false });
      assert.deepEqual(Buffer.from(addon.answerForTest(pkt)!), want);
      // Read where it is: the address octets of www's A record, changed in place, show in the
      // next answer (never done by the server: the bytes must not change while installed).
      const where: number[] = [];
      const inPlace = Buffer.from(view.buffer, 101, image.length);
      for (let at = inPlace.indexOf(Buffer.from([192, 0, 2, 3])); at >= 0; ) {
        where.push(at);
        at = inPlace.indexOf(Buffer.from([192, 0, 2, 3]), at + 1);
      }
      assert.ok(where.length > 0);
      for (const at of where) view[at + 3] = 99;
      const changed = Buffer.from(addon.answerForTest(pkt)!);
      assert.ok(changed.indexOf(Buffer.from([192, 0, 2, 99])) > 0, 'the C answer reads the bytes in place');
      for (const at of where) view[at + 3] = 3;
      assert.deepEqual(Buffer.from(addon.answerForTest(pkt)!), want);
      // Installed from an array nobody else references: the addon's reference keeps it alive.
      addon.imageClear();
      addon.imageInstall(compileZone(zone));
      const gc = runInNewContext('gc') as () => void;
      for (let i = 0; i < 5; i++) {
        gc();
        const junk = Array.from({ length: 200 }, () => new Uint8Array(image.length).fill(0xee));
        assert.equal(junk.length, 200);
      }
      assert.deepEqual(Buffer.from(addon.answerForTest(pkt)!), want);
      // A detached buffer is refused.
      const ab = new ArrayBuffer(image.length);
      new Uint8Array(ab).set(image);
      const early = new Uint8Array(ab);
      structuredClone(ab, { transfer: [ab] });
      assert.throws(() => addon.imageInstall(early), { code: 'ERR_IMAGE_FORMAT' });
    } finally {
      addon.imageClear();
    }
  });

  test('imageConfigure: the NSID argument is checked (type, at most 65,531 octets); none = ignore NSID requests', () => {
    const addon = native.ok ? native.addon : undefined;
    assert.ok(addon);
    assert.throws(() => addon.imageConfigure(false, 1232, new Uint8Array(65_532)), RangeError);
    assert.throws(() => addon.imageConfigure(false, 1232, 'ns1' as unknown as Uint8Array), TypeError);
    addon.imageConfigure(false, 1232, new Uint8Array(65_531));
    addon.imageConfigure(false, 1232);
    addon.imageClear();
    const zone = loadZoneText(EXAMPLE, { origin: 'example.' }).zone;
    addon.imageInstall(compileZone(zone));
    try {
      const pkt = queryPacket(3, 0x0100, '\x03www\x07example\x00', 1, { size: 1232, do: false, nsid: true });
      const want = new Responder(new Catalog([zone]), { cache: false }).respond(pkt, { transport: 'udp' });
      assert.deepEqual(Buffer.from(addon.answerForTest(pkt)!), Buffer.from(want!));
    } finally {
      addon.imageClear();
    }
  });

  test('an image inside a memory-mapped file (mapFile) is answered in place and kept mapped while installed', () => {
    const addon = native.ok
      ? (native.addon as typeof native.addon & { mapFile?: (p: string) => ArrayBuffer })
      : undefined;
    assert.ok(addon);
    if (typeof addon.mapFile !== 'function') assert.fail('the addon has no mapFile (native/mmap.c)');
    const zone = loadZoneText(EXAMPLE, { origin: 'example.' }).zone;
    const image = compileZone(zone);
    const dir = mkdtempSync(join(tmpdir(), 'sb-cnative-'));
    const pkt = queryPacket(8, 0x0100, '\x04nope\x07example\x00', 1, { size: 1232, do: true, nsid: false });
    const want = Buffer.from(
      new Responder(new Catalog([zone]), { cache: false }).respond(pkt, { transport: 'udp' })!,
    );
    addon.imageClear();
    try {
      const file = join(dir, 'pack');
      writeFileSync(file, Buffer.concat([Buffer.alloc(37, 0xaa), image, Buffer.alloc(11)]));
      // Only the addon's reference keeps the mapping once this function returns.
      ((): void => {
        addon.imageInstall(new Uint8Array(addon.mapFile!(file), 37, image.length));
      })();
      rmSync(file); // unlinked: the mapping stays valid
      const gc = runInNewContext('gc') as () => void;
      for (let i = 0; i < 3; i++) gc();
      assert.deepEqual(Buffer.from(addon.answerForTest(pkt)!), want);
      assert.equal(addon.imageStats().bytes, image.length);
    } finally {
      addon.imageClear();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a patched compression pointer that would leave its range (>= 0x4000, or not before itself) is left to JS', () => {
    const addon = native.ok ? native.addon : undefined;
    assert.ok(addon);
    const zone = loadZoneText(EXAMPLE, { origin: 'example.' }).zone;
    const image = compileZone(zone);
    const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
    const t = dv.getUint32(H.NEGATIVE_TEMPLATE, true);
    const patches = dv.getUint16(t + T.PATCH_COUNT, true);
    assert.ok(
      patches > 0 && (image[t + T.TFLAGS] & TemplateFlag.SHIFTABLE) !== 0,
      'the NXDOMAIN template is shiftable',
    );
    const qlen = image[t + T.QNAME_LENGTH];
    const body = t + dv.getUint32(t + T.BODY, true);
    // Every patched pointer of the NXDOMAIN template aimed at 0x3ff0: still a valid image (the
    // validator checks that a patch lands on a pointer), but moved by any QNAME length other
    // than the template's it leaves the message (>= 0x4000) or points past itself.
    const bad = image.slice();
    for (let i = 0; i < patches; i++) {
      const at = body + dv.getUint16(t + TEMPLATE_HEADER_SIZE + i * 2, true);
      bad[at] = 0xff;
      bad[at + 1] = 0xf0;
    }
    /** An NXDOMAIN name under example. whose QNAME is `len` octets long. */
    const nx = (len: number): string => {
      const label = len - 9 - 1; // example. is 9 octets; one length octet
      return `${String.fromCharCode(label)}${'q'.repeat(label)}\x07example\x00`;
    };
    addon.imageClear();
    try {
      addon.imageInstall(image);
      for (const len of [qlen - 2, qlen + 1, qlen + 40]) {
        if (len - 10 < 1 || len - 10 > 63) continue;
        assert.notEqual(
          addon.answerForTest(queryPacket(1, 0x100, nx(len), 1)),
          null,
          `good image, QNAME ${len}`,
        );
      }
      addon.imageInstall(bad);
      for (const len of [qlen - 2, qlen + 1, qlen + 16, qlen + 40]) {
        if (len - 10 < 1 || len - 10 > 63 || len === qlen) continue;
        assert.equal(
          addon.answerForTest(queryPacket(1, 0x100, nx(len), 1)),
          null,
          `QNAME ${len}: handed to JS`,
        );
      }
    } finally {
      addon.imageClear();
    }
  });

  test('the reference to an image is released on remove, replace and clear (its buffer is collected)', async () => {
    const addon = native.ok ? native.addon : undefined;
    assert.ok(addon);
    const gc = runInNewContext('gc') as () => void;
    const zone = loadZoneText(EXAMPLE, { origin: 'example.' }).zone;
    const origin = openImage(compileZone(zone)).origin.slice();
    let collected = 0;
    const registry = new FinalizationRegistry(() => {
      collected++;
    });
    /** Installs a fresh image whose buffer nothing in JS keeps. */
    const installFresh = (): void => {
      const bytes = compileZone(zone);
      registry.register(bytes.buffer, 0);
      addon.imageInstall(bytes);
    };
    const settle = async (want: number, tries = 100): Promise<void> => {
      for (let i = 0; i < tries && collected < want; i++) {
        gc();
        await new Promise((r) => setImmediate(r));
      }
    };
    addon.imageClear();
    try {
      installFresh();
      await settle(1, 20);
      assert.equal(collected, 0, 'an installed image is kept alive by the addon alone');
      installFresh(); // replaces the first: its reference is released
      await settle(1);
      assert.equal(collected, 1, 'replaced');
      assert.equal(addon.imageRemove(origin), 1);
      await settle(2);
      assert.equal(collected, 2, 'removed');
      installFresh();
      addon.imageClear();
      await settle(3);
      assert.equal(collected, 3, 'cleared');
    } finally {
      addon.imageClear();
    }
  });

  test('a worker thread and a process that exit with images installed and a socket open end cleanly', async () => {
    // The env cleanup hook releases every reference while the environment is still valid.
    const image = compileZone(loadZoneText(EXAMPLE, { origin: 'example.' }).zone);
    const addonPath = native.ok ? native.path : '';
    const code = `
      const { createRequire } = require('node:module');
      const addon = createRequire(${JSON.stringify(`${repoRoot}/`)})(${JSON.stringify(addonPath)});
      const bytes = new Uint8Array(${JSON.stringify(Array.from(image))});
      addon.imageConfigure(true, 1232, new Uint8Array([110, 115]));
      addon.imageInstall(bytes);
      addon.imageInstall(new Uint8Array(new SharedArrayBuffer(bytes.length)).map((_, i) => bytes[i]));
      addon.open('127.0.0.1', 0, 0, 0, () => 0);
    `;
    const worker = new Worker(`${code}\nsetTimeout(() => process.exit(0), 20);`, { eval: true });
    const [exitCode] = (await once(worker, 'exit')) as [number];
    assert.equal(exitCode, 0);
    const r = spawnSync(process.execPath, ['-e', `${code}\nsetTimeout(() => process.exit(0), 20);`], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
  });

  test('the interop corpus zones (one zone at a time and all together)', (t) => {
    const zones = loadZoneFiles(resolve(repoRoot, 'test/interop/corpus/zones')).zones.map((z) => z.zone);
    assert.ok(zones.length > 0);
    zones.forEach((z, i) => {
      check(t, `${z.origin}`, compare([z], 100 + i, 1232));
    });
    // Distinct origins only: the catalog holds one image per origin.
    const byOrigin = new Map(zones.map((z) => [z.origin.key, z]));
    check(t, 'all corpus zones together', compare([...byOrigin.values()], 7, 1232, 60));
  });

  test('images without templates (a staged zone before its full image): C = Responder, C answers only from the negative template', (t) => {
    const zones = [
      loadZoneText(EXAMPLE, { origin: 'example.' }).zone,
      loadZoneText(CHILD, { origin: 'sub.example.' }).zone,
      ...loadZoneFiles(resolve(repoRoot, 'test/interop/corpus/zones')).zones.map((z) => z.zone),
    ];
    if (sharedTestdata !== undefined && existsSync(sharedTestdata))
      zones.push(...loadZoneFiles(sharedTestdata).zones.map((z) => z.zone));
    let queries = 0;
    let inC = 0;
    zones.forEach((z, i) => {
      const tally = compare([z], 2000 + i, 1232, 60, undefined, false);
      queries += tally.queries;
      inC += tally.c;
      assert.equal(tally.mismatches.length, 0, `${z.origin}: ${tally.mismatches.slice(0, 3).join('\n')}`);
    });
    t.diagnostic(`${zones.length} zones without templates: ${queries} queries, ${inC} answered in C`);
    // Some (NXDOMAIN from the negative template), far from all: the rest went to JS.
    assert.ok(inC > 0 && inC < queries / 2, `${inC} of ${queries} answered in C`);
  });

  test('../shared/testdata zones', (t) => {
    if (sharedTestdata === undefined || !existsSync(sharedTestdata)) {
      t.diagnostic('../shared/testdata absent: skipped');
      return;
    }
    const zones = loadZoneFiles(sharedTestdata).zones.map((z) => z.zone);
    let total = 0;
    let inC = 0;
    zones.forEach((z, i) => {
      const tally = compare([z], 1000 + i, 1232, 60);
      total += tally.queries;
      inC += tally.c;
      assert.equal(tally.mismatches.length, 0, `${z.origin}: ${tally.mismatches.slice(0, 3).join('\n')}`);
    });
    t.diagnostic(`${zones.length} zones, ${total} queries, ${inC} answered in C`);
  });

  test('corrupted images are refused by the C validator as by openImage, never read outside', () => {
    const addon = native.ok ? native.addon : undefined;
    assert.ok(addon);
    addon.imageClear();
    const bytes = compileZone(loadZoneText(EXAMPLE, { origin: 'example.' }).zone);
    const jsOk = (b: Uint8Array): boolean => {
      try {
        openImage(b);
        return true;
      } catch {
        return false;
      }
    };
    const cOk = (b: Uint8Array): boolean => {
      try {
        addon.imageInstall(b);
        return true;
      } catch (err) {
        assert.equal((err as { code?: string }).code, 'ERR_IMAGE_FORMAT');
        return false;
      }
    };
    for (let n = 0; n < bytes.length; n += Math.max(1, Math.floor(bytes.length / 400)))
      assert.equal(cOk(bytes.subarray(0, n)), false, `truncated to ${n}`);
    const rnd = seededRandom(42);
    const pkt = queryPacket(1, 0x100, '\x03www\x07example\x00', 1);
    for (let i = 0; i < 2000; i++) {
      const b = bytes.slice();
      const at = Math.floor(rnd() * b.length);
      b[at] ^= 1 + Math.floor(rnd() * 255);
      assert.equal(cOk(b), jsOk(b), `flip at ${at}: C and JS validators disagree`);
      addon.answerForTest(pkt); // reads inside the (possibly odd but valid) image only
    }
    addon.imageClear();
    assert.deepEqual(addon.imageStats(), { zones: 0, served: 0, bytes: 0, enabled: false });
  });

  test('a native socket with NativeAnswers: plain queries answered in C, the rest by JS, all as the Responder', async () => {
    const zones = loadZoneFiles(resolve(repoRoot, 'test/interop/corpus/zones')).zones.map((z) => z.zone);
    const byOrigin = new Map(zones.map((z) => [z.origin.key, z]));
    const catalog = new Catalog([...byOrigin.values()]);
    const responder = new Responder(catalog, { cache: false });
    let jsCalls = 0;
    const listener = await createNativeUdpListener({
      address: { host: '127.0.0.1', port: 0, family: 4 },
      handler: (q, ctx) => {
        jsCalls++;
        return responder.respond(q, ctx);
      },
    });
    const nat = NativeAnswers.available();
    assert.ok(nat.ok);
    const answers = new NativeAnswers(nat.addon, 1232, compileZone);
    try {
      const r = answers.sync(catalog);
      assert.equal(r.served, byOrigin.size);
      // Lazy: origins served, no image installed before a query.
      assert.deepEqual([answers.stats().served, answers.stats().zones], [byOrigin.size, 0]);
      const cases: [string, number, Edns | undefined][] = [
        ['\x03www\x07example\x00', 1, undefined], // exact: JS (no image yet), which installs it
        ['\x04nope\x07example\x00', 1, { size: 1232, do: true, nsid: false }], // NXDOMAIN
        ['\x03www\x07example\x00', 15, undefined], // NODATA
        ['\x03www\x07example\x00', 1, { size: 1232, do: false, nsid: true }], // NSID asked, none configured
        ['\x03www\x07example\x00', 1, { size: 1232, do: true, nsid: false, options: [COOKIE] }], // COOKIE
        ['\x03www\x07example\x00', 1, undefined],
        ['\x03www\x07example\x00', 1, { size: 1232, do: false, nsid: false, version: 1 }], // BADVERS: JS
      ];
      for (const [i, [qname, qtype, e]] of cases.entries()) {
        const pkt = queryPacket(100 + i, 0x0100, qname, qtype, e);
        const got = await queryUdp(pkt, { port: listener.port, timeoutMs: 2000, retries: 2 });
        assert.deepEqual(Buffer.from(got), Buffer.from(responder.respond(pkt, { transport: 'udp' })!));
        if (i === 0) assert.equal(answers.stats().zones, 1, "the first query installed example.'s image");
      }
      // Stats: C answered all but the first (no image yet) and the EDNS version 1 query (JS),
      // counted by RCODE for the metrics.
      const st = listener.stats();
      assert.ok(st.answeredC >= 5, `answeredC ${st.answeredC}`);
      assert.ok(jsCalls >= 2);
      assert.equal(answers.installs, 1);
      assert.equal(st.answeredCByRcode.length, 16);
      assert.equal(
        st.answeredCByRcode.reduce((a, b) => a + b, 0),
        st.answeredC,
      );
      assert.ok(st.answeredCByRcode[3] >= 1, 'the NXDOMAIN answered in C is counted');
      // A removed zone's origin and image go away (derived catalog: the diff is O(changes)).
      const first = [...byOrigin.values()][0];
      const smaller = catalog.withZones([], [first.origin]);
      const r2 = answers.sync(smaller);
      assert.equal(r2.removed, 1);
      assert.equal(answers.stats().served, byOrigin.size - 1);
    } finally {
      answers.close();
      await listener.close();
    }
  });
  test('NativeAnswers: lazy installs on the miss list; a changed zone loses its image until its next query', () => {
    const nat = NativeAnswers.available();
    assert.ok(nat.ok);
    const answers = new NativeAnswers(nat.addon, 1232, compileZone);
    try {
      const v1 = loadZoneText(EXAMPLE, { origin: 'example.' }).zone;
      const v2 = loadZoneText(EXAMPLE.replace('www A 192.0.2.3', 'www A 192.0.2.99'), {
        origin: 'example.',
      }).zone;
      const pkt = queryPacket(9, 0x0100, '\x03www\x07EXAMPLE\x00', 1);
      const asC = () => nat.addon.answerForTest(pkt);
      const c1 = new Catalog([v1]);
      assert.equal(answers.sync(c1).served, 1);
      assert.equal(asC(), null, 'served without an image: handed to JS');
      assert.equal(asC(), null);
      answers.installMisses();
      assert.equal(answers.installs, 1, 'one install for two misses');
      assert.deepEqual(
        Buffer.from(asC()!),
        Buffer.from(new Responder(c1, { cache: false }).respond(pkt, { transport: 'udp' })!),
      );
      const c2 = c1.withZones([v2]);
      // Proportional to the change: neither catalog's zones are walked for a derived catalog.
      const walked = () => assert.fail('sync walked every zone of a catalog derived with withZones');
      Object.defineProperty(c1, 'zones', { get: walked });
      Object.defineProperty(c2, 'zones', { get: walked });
      const r = answers.sync(c2);
      assert.deepEqual([r.served, r.removed, r.dropped], [0, 0, 1]);
      assert.equal(asC(), null, "the old version's image is gone; JS answers until it is installed");
      answers.installMisses();
      assert.deepEqual(
        Buffer.from(asC()!),
        Buffer.from(new Responder(c2, { cache: false }).respond(pkt, { transport: 'udp' })!),
      );
      assert.deepEqual(answers.sync(c2), { served: 0, removed: 0, dropped: 0 }, 'the same catalog: nothing');
      const c3 = c2.withZones([], [v2.origin]);
      assert.equal(answers.sync(c3).removed, 1);
      assert.equal(asC(), null);
      assert.equal(nat.addon.imageMisses(), null, 'not served: no miss');
    } finally {
      answers.close();
    }
  });
  test('NativeAnswers: a signed zone (DNSKEY and RRSIGs at its apex) is never installed: C hands every query to JS', () => {
    const nat = NativeAnswers.available();
    assert.ok(nat.ok);
    const answers = new NativeAnswers(nat.addon, 1232, compileZone);
    try {
      const sig = `RRSIG SOA 13 1 300 20300101000000 20200101000000 1 example. ${'A'.repeat(86)}==`;
      const key = `DNSKEY 257 3 13 ${Buffer.alloc(64, 7).toString('base64')}`;
      const signed = loadZoneText(`${EXAMPLE}@ ${key}\n@ ${sig}\n`, { origin: 'example.' }).zone;
      assert.ok(isSignedZone(signed));
      const pkt = queryPacket(9, 0x0100, '\x03www\x07example\x00', 1);
      assert.equal(answers.sync(new Catalog([signed])).served, 1);
      for (let i = 0; i < 3; i++) {
        assert.equal(nat.addon.answerForTest(pkt), null, 'handed to JS');
        answers.installMisses();
      }
      assert.equal(answers.installs, 0);
      assert.equal(answers.failures, 0);
    } finally {
      answers.close();
    }
  });
  test('NativeAnswers: a child zone without an image is never answered by its parent; a failed image stays with JS', () => {
    const nat = NativeAnswers.available();
    assert.ok(nat.ok);
    const compiled: string[] = [];
    const compile = (z: Zone) => {
      compiled.push(z.origin.toString());
      if (z.origin.toString() === 'sub.example.') throw new Error('cannot compile');
      return compileZone(z);
    };
    const failures: string[] = [];
    const answers = new NativeAnswers(nat.addon, 1232, compile, undefined, (m) => failures.push(m));
    try {
      const parent = loadZoneText(EXAMPLE, { origin: 'example.' }).zone;
      const child = loadZoneText(CHILD, { origin: 'sub.example.' }).zone;
      const inChild = queryPacket(3, 0x0100, '\x03www\x03sub\x07example\x00', 1);
      const inParent = queryPacket(4, 0x0100, '\x03www\x07example\x00', 1);
      const catalog = new Catalog([parent, child]);
      answers.sync(catalog);
      assert.equal(nat.addon.answerForTest(inParent), null);
      answers.installMisses();
      assert.deepEqual(compiled, ['example.']);
      assert.notEqual(nat.addon.answerForTest(inParent), null, 'the parent answers in C once installed');
      // Without the served child origin, the parent's image would answer www.sub.example (a referral).
      assert.equal(
        nat.addon.answerForTest(inChild),
        null,
        "the parent's image must not answer the child's names",
      );
      assert.equal(Buffer.from(nat.addon.imageMisses()!).toString('latin1'), '\x03sub\x07example\x00');
      // The miss was taken above: ask again so installMisses sees it.
      nat.addon.answerForTest(inChild);
      answers.installMisses();
      assert.equal(failures.length, 1);
      assert.match(failures[0], /^sub\.example\.: cannot compile/);
      assert.equal(nat.addon.answerForTest(inChild), null, 'a failed zone stays with JS');
      compiled.length = 0;
      answers.installMisses();
      assert.deepEqual(compiled, [], 'a failed zone is not compiled again until it changes');
      // The DS of the child's apex is the parent's: answered in C from the parent's image.
      const ds = queryPacket(5, 0x0100, '\x03sub\x07example\x00', 43);
      assert.deepEqual(
        Buffer.from(nat.addon.answerForTest(ds)!),
        Buffer.from(new Responder(catalog, { cache: false }).respond(ds, { transport: 'udp' })!),
      );
    } finally {
      answers.close();
    }
  });
  test('imageServe/imageRemove: bad name lists are refused whole', () => {
    const addon = nativeUdpStatus();
    assert.ok(addon.ok);
    const a = addon.addon;
    a.imageClear();
    try {
      const good = Buffer.from('\x01a\x04test\x00\x01B\x04TEST\x00', 'latin1');
      for (const bad of [
        Buffer.from('\x01a\x04test', 'latin1'), // no root label
        Buffer.from('\x01a\x04test\x00\x05ab', 'latin1'), // cut short
        Buffer.from(`\x40${'a'.repeat(64)}\x00`, 'latin1'), // label > 63
        Buffer.from(`${`\x3f${'a'.repeat(63)}`.repeat(4)}\x00`, 'latin1'), // 257 octets
        Buffer.from('\xc0\x0c', 'latin1'), // a pointer
      ]) {
        assert.throws(() => a.imageServe(Buffer.concat([good, bad])), /imageServe/);
        assert.throws(() => a.imageRemove(bad), /imageRemove/);
      }
      assert.equal(a.imageStats().served, 0, 'nothing of a refused list was served');
      assert.equal(a.imageServe(good), 2);
      assert.equal(a.imageServe(good), 0, 'already served');
      assert.equal(a.imageServe(new Uint8Array(0)), 0);
      assert.equal(a.imageStats().served, 2);
      assert.equal(a.imageRemove(Buffer.from('\x01b\x04test\x00', 'latin1')), 1, 'case-insensitive');
      assert.equal(a.imageRemove(Buffer.from('\x01b\x04test\x00', 'latin1')), 0);
      assert.equal(a.imageStats().served, 1);
    } finally {
      a.imageClear();
    }
  });
});

/** The `serve` suites that exercise UDP end to end, run again with C answers on. */
const E2E_FILES = ['dist/test/e2e/serve.test.js', 'dist/test/interop/differential.test.js'];

describe('the serve e2e and the differential with --native-answers', {
  skip: missing,
  timeout: 600_000,
}, () => {
  test(`SWITCHBOARD_IO=native SWITCHBOARD_NATIVE_ANSWERS=1: ${E2E_FILES.join(', ')}`, async (t) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SWITCHBOARD_IO: 'native',
      SWITCHBOARD_NATIVE_ANSWERS: 'on',
    };
    delete env.NODE_TEST_CONTEXT;
    const child = spawn(
      process.execPath,
      ['--test', '--test-concurrency=1', '--test-reporter=tap', ...E2E_FILES],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    const keep = (d: Buffer): void => {
      out = (out + d.toString('utf8')).slice(-200_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const code = await new Promise<number>((done) => child.on('exit', (c, s) => done(c ?? (s ? 1 : 0))));
    t.diagnostic(
      out
        .split('\n')
        .filter((l) => /^# (tests|pass|fail|skipped)/.test(l))
        .join(', '),
    );
    assert.equal(code, 0, `the suites failed with C answers on:\n${out.slice(-20_000)}`);
    assert.match(out, /^# fail 0$/m);
  });
});
