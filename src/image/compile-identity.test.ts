/**
 * The fast compiler writes the very octets of the reference compiler (test/helpers/
 * image-reference.ts: every template made by the answer engine and `MessageWriter`, shiftable
 * ones built three times and checked): for every zone in ../shared/testdata and
 * test/interop/corpus/zones, the benchmark zones, and seeded random zones made to hit the
 * odd cases (wildcards, CNAME chains, DNAMEs, cuts with and without glue, names through the
 * placeholders' labels, mixed case, RRsets too big to shift or to answer).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { manyZoneOrigin, manyZoneText } from '../../bench/many-zones.js';
import { BIG_ORIGIN, generateBigZone } from '../../bench/zone-load.js';
import { referenceCompileZone } from '../../test/helpers/image-reference.js';
import { repoRoot, sharedTestdata } from '../../test/helpers/paths.js';
import { seededRandom } from '../../test/helpers/prng.js';
import { loadZoneFiles } from '../../test/helpers/zone-files.js';
import type { AnswerOptions } from '../answer/answer.js';
import { loadZoneFile, loadZoneText } from '../zone/load.js';
import type { Zone } from '../zone/zone.js';
import { compileZone } from './compile.js';

/** The first differing octet, or -1. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** Compiles `zone` both ways; returns a message when they differ (or fail differently). */
function compare(zone: Zone, label: string, answer?: AnswerOptions): string | undefined {
  let want: Uint8Array | undefined;
  let wantError: string | undefined;
  try {
    want = referenceCompileZone(zone, { answer });
  } catch (e) {
    wantError = (e as Error).message;
  }
  let got: Uint8Array | undefined;
  try {
    got = compileZone(zone, { answer });
  } catch (e) {
    if (wantError === undefined) return `${label}: compileZone threw ${(e as Error).message}`;
    return undefined;
  }
  if (want === undefined) return `${label}: the reference threw (${wantError}), compileZone did not`;
  const at = firstDifference(got, want);
  if (at < 0) return undefined;
  return `${label}: ${got.length} octets vs the reference's ${want.length}, first difference at ${at}`;
}

const LABELS = [
  'www',
  'mail',
  'ns1',
  'ns2',
  'a',
  'b',
  'c',
  'sub',
  'x',
  'WWW',
  'Mail',
  '\\255',
  '\\254x',
  'y',
];

/** A random zone text under `origin`, seeded. */
function randomZone(seed: number): { text: string; origin: string } {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const origin = rnd() < 0.2 ? 'Ex.Test.' : 'ex.test.';
  const name = (depth = 1 + Math.floor(rnd() * 3)): string => {
    const parts: string[] = [];
    for (let i = 0; i < depth; i++) parts.push(rnd() < 0.08 ? '*' : pick(LABELS));
    // A wildcard is only ever the leftmost label.
    for (let i = 1; i < parts.length; i++) if (parts[i] === '*') parts[i] = 'w';
    return parts.join('.');
  };
  const lines = [
    `$ORIGIN ${origin}`,
    '$TTL 300',
    `@ 600 SOA ${pick(['ns1', 'ns1.other.', 'hostmaster.x'])} ${pick(['hostmaster', 'h.other.', 'ns2.sub'])} 1 2 3 4 ${pick(['60', '6000'])}`,
    '@ NS ns1',
    `@ NS ${pick(['ns2', 'ns.other.', 'ns1.sub'])}`,
  ];
  if (rnd() < 0.15) lines.push(`* A 192.0.2.${Math.floor(rnd() * 255)}`);
  if (rnd() < 0.05) lines.push('@ DNAME target.other.');
  if (rnd() < 0.1) lines.push('@ DS 1 8 2 AABBCCDD');
  const count = 5 + Math.floor(rnd() * 40);
  for (let i = 0; i < count; i++) {
    const owner = name();
    const r = rnd();
    if (r < 0.3) lines.push(`${owner} A 192.0.2.${i & 255}`);
    else if (r < 0.4) lines.push(`${owner} AAAA 2001:db8::${i.toString(16)}`);
    else if (r < 0.5) lines.push(`${owner} MX ${i} ${pick([name(), 'mx.other.', '.'])}`);
    else if (r < 0.57) lines.push(`${owner} CNAME ${pick([name(), 'www.other.', owner])}`);
    else if (r < 0.67) {
      lines.push(`${owner} NS ${pick([`ns.${owner}`, name(), 'ns.other.'])}`);
      if (rnd() < 0.6) lines.push(`ns.${owner} A 192.0.2.${i & 255}`);
      if (rnd() < 0.3) lines.push(`ns.${owner} AAAA 2001:db8::${i.toString(16)}`);
      if (rnd() < 0.3) lines.push(`${owner} DS 1 8 2 AABBCC${(i & 255).toString(16).padStart(2, '0')}`);
    } else if (r < 0.72) lines.push(`${owner} DNAME ${pick([name(), 'dn.other.'])}`);
    else if (r < 0.8) lines.push(`${owner} SRV 0 1 53 ${pick([name(), 'srv.other.'])}`);
    else if (r < 0.85) lines.push(`${owner} TXT "t${i}" ${rnd() < 0.3 ? '"more"' : ''}`);
    else if (r < 0.9) lines.push(`${owner} PTR ${name()}`);
    else if (r < 0.93) lines.push(`${owner} HTTPS 1 ${pick([name(), '.'])} alpn=h2`);
    else lines.push(`${owner} NS ${name()}`);
  }
  return { text: `${lines.join('\n')}\n`, origin };
}

describe('compileZone writes the reference compiler’s octets', () => {
  const dirs = [sharedTestdata, resolve(repoRoot, 'test/interop/corpus/zones')].filter((d) => existsSync(d));
  test('every zone of ../shared/testdata and the interop corpus', (t) => {
    const diffs: string[] = [];
    let n = 0;
    for (const dir of dirs)
      for (const { path, zone } of loadZoneFiles(dir).zones) {
        n++;
        const d = compare(zone, path);
        if (d) diffs.push(d);
      }
    t.diagnostic(`${n} zones compared`);
    assert.deepEqual(diffs, []);
  });

  test('with a short chain limit (the Responder’s maxChain option)', () => {
    const diffs: string[] = [];
    for (let seed = 1; seed <= 60; seed++) {
      const { text, origin } = randomZone(seed);
      const d = compare(loadZoneText(text, { origin, strict: false }).zone, `seed ${seed}`, { maxChain: 2 });
      if (d) diffs.push(d);
    }
    assert.deepEqual(diffs, []);
  });

  test('the benchmark zones (many-zones text, the big zone generator)', () => {
    const diffs: string[] = [];
    for (const i of [0, 1, 77, 65535, 99_999]) {
      const origin = manyZoneOrigin(i, 100_000);
      const d = compare(loadZoneText(manyZoneText(origin, i), { origin }).zone, origin);
      if (d) diffs.push(d);
    }
    const dir = mkdtempSync(join(tmpdir(), 'sb-identity-'));
    try {
      const file = join(dir, 'big.zone');
      generateBigZone(file, 20_000);
      const d = compare(loadZoneFile(file, { origin: BIG_ORIGIN }).zone, 'big zone');
      if (d) diffs.push(d);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(diffs, []);
  });

  test('seeded random zones', (t) => {
    const diffs: string[] = [];
    let loaded = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const { text, origin } = randomZone(seed);
      let zone: Zone;
      try {
        zone = loadZoneText(text, { origin, strict: false }).zone;
      } catch {
        continue;
      }
      loaded++;
      const d = compare(zone, `seed ${seed}:\n${text}`);
      if (d) diffs.push(d);
    }
    t.diagnostic(`${loaded} random zones compared`);
    assert.ok(loaded > 300, `only ${loaded} random zones loaded`);
    assert.deepEqual(diffs, []);
  });

  test('RRsets too big to shift, and too big to answer', () => {
    const long = 'x'.repeat(250);
    const lines = ['$ORIGIN big.', '$TTL 300', '@ SOA ns1 h 1 2 3 4 5', '@ NS ns1', 'ns1 A 192.0.2.1'];
    // 80 TXT records of ~250 octets under a wildcard: a body over 16 KiB (not shiftable).
    for (let i = 0; i < 80; i++) lines.push(`*.w TXT "${long}${i}"`);
    // 300 of them at one name: over 65535 octets (too large).
    for (let i = 0; i < 300; i++) lines.push(`huge TXT "${long}${i}"`);
    // A referral with many glue names below the cut.
    for (let i = 0; i < 60; i++) lines.push(`cut NS n${i}.cut`, `n${i}.cut A 192.0.2.${i}`);
    const zone = loadZoneText(`${lines.join('\n')}\n`, { origin: 'big.' }).zone;
    assert.equal(compare(zone, 'big.'), undefined);
  });

  test('without templates', () => {
    const { text, origin } = randomZone(7);
    const zone = loadZoneText(text, { origin, strict: false }).zone;
    assert.deepEqual(
      Buffer.from(compileZone(zone, { templates: false })),
      Buffer.from(referenceCompileZone(zone, { templates: false })),
    );
  });
});
