/**
 * The native pre-parse (native/preparse.c) under AddressSanitizer and UndefinedBehaviorSanitizer:
 * the standalone harness (native/fuzz/harness.c, compiled here from the same source as the
 * addon) is fed a deterministic hostile corpus — the survival test's generator, every query of
 * the differential corpus with EDNS variants, all of their truncations and single-bit flips —
 * and any sanitizer report or broken invariant fails the test. Without a C compiler it skips;
 * with SWITCHBOARD_REQUIRE_PEERS=1 a missing compiler fails.
 * @module
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { compileZone } from '../../src/image/compile.js';
import { typeFromString } from '../../src/wire/constants.js';
import { loadZoneFile } from '../../src/zone/load.js';
import { buildQuery, type QuerySpec } from '../helpers/dns-client.js';
import { hostilePackets } from '../helpers/hostile-packets.js';
import { seededRandom } from '../helpers/prng.js';
import { skipOrFail } from '../helpers/require-peers.js';
import { buildHarness, packRecords, SANITIZER_ENV } from '../helpers/sanitizer.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-fuzz-'));
const harness = join(dir, 'harness');

/** Builds the harness; returns why it cannot be built, or false. */
function build(): false | string {
  return buildHarness('sanitizer harness', harness, ['preparse.c', 'image.c', 'fuzz/harness.c']);
}

const skip = skipOrFail(build());
after(() => rmSync(dir, { recursive: true, force: true }));

const pack = packRecords;

/** The differential corpus (test/interop/corpus/queries.txt) as queries, each in EDNS variants. */
function corpusQueries(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const text = readFileSync(resolve('test/interop/corpus/queries.txt'), 'utf8');
  let id = 1;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [name, typeText] = line.split(/\s+/);
    const type = typeFromString(typeText);
    if (type === undefined) continue;
    const variants: QuerySpec['edns'][] = [
      undefined,
      { udpSize: 1232 },
      { udpSize: 4096, dnssecOk: true, options: [{ code: 10, data: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) }] },
      {
        udpSize: 512,
        version: 1,
        options: [
          { code: 3, data: new Uint8Array(0) },
          { code: 8, data: Uint8Array.of(0, 1, 24, 0, 192, 0, 2) },
        ],
      },
    ];
    for (const edns of variants) out.push(buildQuery({ name, type, id: id++ & 0xffff, rd: true, edns }));
  }
  return out;
}

/** The corpus queries with an OPT of version 0 carrying options (what C now answers itself). */
function optionQueries(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const text = readFileSync(resolve('test/interop/corpus/queries.txt'), 'utf8');
  let id = 1;
  const sets: NonNullable<QuerySpec['edns']>['options'][] = [
    [{ code: 3, data: new Uint8Array(0) }],
    [
      { code: 10, data: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) },
      { code: 3, data: new Uint8Array(0) },
    ],
    [
      { code: 12, data: new Uint8Array(31) },
      { code: 65001, data: Uint8Array.of(1) },
      { code: 10, data: new Uint8Array(24) },
    ],
  ];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [name, typeText] = line.split(/\s+/);
    const type = typeFromString(typeText);
    if (type === undefined) continue;
    const options = sets[id % sets.length];
    out.push(buildQuery({ name, type, id: id++ & 0xffff, edns: { udpSize: id % 2 ? 512 : 4096, options } }));
  }
  return out;
}

describe('native pre-parse under ASan/UBSan', { skip, timeout: 300_000 }, () => {
  test('the canary: a read past a buffer is reported (the sanitizers are on)', () => {
    const r = spawnSync(harness, ['--canary'], { encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /AddressSanitizer|runtime error/);
  });

  test('the hostile corpus: no sanitizer report, every invariant holds', (t) => {
    const packets: Uint8Array[] = [];
    // 1. The survival test's generator, three fixed seeds.
    for (const seed of [1, 7, 2026]) {
      const gen = hostilePackets(seededRandom(seed));
      for (let i = 0; i < 20_000; i++) packets.push(gen.hostilePacket());
    }
    // 2. The differential corpus, with every truncation and every single-bit flip.
    const queries = corpusQueries();
    for (const q of queries) {
      packets.push(q);
      for (let cut = 0; cut < q.length; cut++) packets.push(q.subarray(0, cut));
      for (let bit = 0; bit < q.length * 8; bit++) {
        const b = Uint8Array.from(q);
        b[bit >> 3] ^= 1 << (bit & 7);
        packets.push(b);
      }
    }
    // 3. Edges: empty, a bare header, the longest name, a 65,536-octet datagram of 0x3f labels.
    packets.push(new Uint8Array(0), new Uint8Array(12), new Uint8Array(65_536).fill(0x3f));
    const corpus = join(dir, 'corpus.bin');
    writeFileSync(corpus, pack(packets));
    const r = spawnSync(harness, [corpus], {
      encoding: 'utf8',
      timeout: 240_000,
      env: {
        ...process.env,
        ...SANITIZER_ENV,
      },
    });
    assert.equal(r.stderr, '', 'sanitizer or invariant report');
    assert.equal(r.status, 0, r.error?.message);
    const m = /^packets (\d+) wellformed (\d+) opt (\d+)$/m.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.equal(Number(m[1]), packets.length);
    // The corpus is not all garbage: the well-formed queries and their EDNS variants got through.
    assert.ok(Number(m[2]) >= queries.length, r.stdout);
    assert.ok(Number(m[3]) >= (queries.length * 3) / 4, r.stdout);
    t.diagnostic(`${r.stdout.trim()} (${queries.length} corpus queries)`);
  });

  test('C answers from zone images (native/image.c) over the hostile corpus, with corrupted images', (t) => {
    // Images: every corpus zone, then 3,000 corruptions of the first (truncations, octet flips):
    // the validator refuses most; those it accepts (a flip in RDATA, a TTL...) replace the
    // zone's image and answer the corpus, under the sanitizers.
    const zoneDir = resolve('test/interop/corpus/zones');
    const images: Uint8Array[] = [];
    for (const f of readdirSync(zoneDir).sort()) {
      try {
        images.push(compileZone(loadZoneFile(join(zoneDir, f), { strict: false }).zone));
      } catch {}
    }
    assert.ok(images.length > 0);
    const rnd = seededRandom(77);
    const base = images[0];
    for (let i = 0; i < 3000; i++) {
      if (i % 3 === 0) images.push(base.subarray(0, Math.floor(rnd() * base.length)));
      else {
        const b = base.slice();
        for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--)
          b[Math.floor(rnd() * b.length)] ^= 1 + Math.floor(rnd() * 255);
        images.push(b);
      }
    }
    const packets: Uint8Array[] = [...corpusQueries()];
    // EDNS version 0 with options, so the C options walk runs: NSID (answered with the
    // harness's NSID), COOKIE, padding, unknown codes; then every truncation and single-octet
    // change of the OPT record of a few of them (lengths that overrun, codes, sizes).
    const withOptions = optionQueries();
    packets.push(...withOptions);
    for (const q of withOptions.slice(0, 40)) {
      const optAt = q.length - (q[q.length - 1] | (q[q.length - 2] << 8)) - 11;
      for (let cut = optAt; cut < q.length; cut++) packets.push(q.subarray(0, cut));
      for (let at = optAt; at < q.length; at++)
        for (const v of [0, 1, 0x7f, 0xff]) {
          const b = Uint8Array.from(q);
          b[at] = v;
          packets.push(b);
        }
    }
    const gen = hostilePackets(seededRandom(5));
    for (let i = 0; i < 20_000; i++) packets.push(gen.hostilePacket());
    const imageFile = join(dir, 'images.bin');
    const corpus = join(dir, 'image-corpus.bin');
    writeFileSync(imageFile, pack(images));
    writeFileSync(corpus, pack(packets));
    const r = spawnSync(harness, ['--images', imageFile, corpus], {
      encoding: 'utf8',
      timeout: 240_000,
      env: {
        ...process.env,
        ...SANITIZER_ENV,
      },
    });
    assert.equal(r.stderr, '', 'sanitizer or invariant report');
    assert.equal(r.status, 0, r.error?.message);
    const m = /^images (\d+) accepted (\d+) answered (\d+)$/m.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.equal(Number(m[1]), images.length);
    assert.ok(Number(m[2]) < images.length, 'corrupted images are refused');
    assert.ok(Number(m[3]) > 0, 'the C answer ran');
    // Origins served without images (lazy installs): QNAMEs handed to JS and noted as misses.
    const s = /^serve (\d+) served (\d+) misses (\d+)$/m.exec(r.stdout);
    assert.ok(s, r.stdout);
    assert.ok(Number(s[1]) > 0 && Number(s[3]) > 0, 'serve and the miss list ran');
    t.diagnostic(r.stdout.trim().replaceAll('\n', '; '));
  });
});
