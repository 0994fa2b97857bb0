/**
 * The big-zone path: a zone loaded as columns (`loadZoneTextColumns`, src/zone/column-zone.ts)
 * is the zone `loadZoneText` builds (the same names in the same order, flags, RRsets, record
 * count, warnings and errors, the same refusals with the same messages) and compiles to the
 * same image octets, for every zone of ../shared/testdata and the interop corpus, seeded
 * random zones made to hit Zone.build's cases (duplicates, TTL mismatches, out-of-zone data,
 * owners spelled two ways, big RRsets), and the benchmark zones; and the
 * compile thread takes that path for big zone text with the same result.
 */
import assert from 'node:assert/strict';
import {
  appendFileSync,
  closeSync,
  existsSync,
  ftruncateSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { manyZoneOrigin, manyZoneText } from '../../bench/many-zones.js';
import { BIG_ORIGIN, generateBigZone } from '../../bench/zone-load.js';
import { repoRoot, sharedTestdata } from '../../test/helpers/paths.js';
import { seededRandom } from '../../test/helpers/prng.js';
import { BIG_FILE } from '../server/serve/image-primary.js';
import { COLUMN_ZONE_TEXT, runCompile } from '../server/shared/compile-thread.js';
import { RRType } from '../wire/constants.js';
import { Name } from '../wire/name.js';
import {
  ColumnZone,
  EarlyParse,
  type LoadOptions,
  loadZoneText,
  loadZoneTextColumns,
  NameTable,
  Zone,
} from '../zone/index.js';
import { PARSE_THREAD_TEXT } from '../zone/load.js';
import { compileZone, compileZoneToFile, StagedCompile } from './compile.js';
import { H } from './format.js';
import { openImage } from './reader.js';

type Opts = LoadOptions & { file?: string; octets?: boolean };

/** What a load gave: the zone, or the thrown error's name, message and listed errors. */
function outcome<Z>(
  load: () => { zone: Z; warnings: unknown[]; errors: unknown[] },
): { zone: Z; warnings: unknown[]; errors: unknown[] } | { thrown: unknown } {
  try {
    return load();
  } catch (e) {
    const err = e as Error & { errors?: unknown; warnings?: unknown };
    return { thrown: { name: err.name, message: err.message, errors: err.errors, warnings: err.warnings } };
  }
}

/** The zone as plain data: names in insertion order with flags and RRsets. */
function dump(zone: Zone | ColumnZone): unknown[] {
  const out: unknown[] = [zone.origin.wire, zone.class, zone.recordCount, zone.serial, zone.warnings];
  for (const node of zone.nodes.values())
    out.push([
      node.name.wire,
      node.name.key,
      node.flags,
      node.rrsets.map((s) => [
        s.name.wire,
        s.type,
        s.class,
        s.ttl,
        s.rdata.map((d) => Buffer.from(d).toString('hex')),
      ]),
    ]);
  return out;
}

/**
 * `loadZoneTextColumns` through a parse thread started before the text is there (`EarlyParse`,
 * the compile thread's path for a big file): the text's octets put where the file's read would.
 */
function loadEarly(text: string, opts: Opts): ReturnType<typeof loadZoneTextColumns> {
  const octets = Buffer.from(text, 'latin1');
  const early = EarlyParse.start(octets.length);
  assert.ok(early);
  early.octets.set(octets);
  early.length = octets.length;
  try {
    return loadZoneTextColumns('', { ...opts, early });
  } finally {
    early.close();
  }
}

/**
 * Loads `text` both ways; returns a message when anything differs. The columns also through
 * the parse thread's octet chunks (`thread: 'inline'`, or the worker itself with `thread`
 * true): the same outcome as the in-thread parse.
 */
function compare(
  text: string,
  opts: Opts,
  label: string,
  thread: boolean | 'inline' | 'early' = 'inline',
): string | undefined {
  const a = outcome(() => loadZoneText(text, opts));
  const b = outcome(() => loadZoneTextColumns(text, { ...opts, thread: false }));
  const c = outcome(() =>
    thread === 'early' ? loadEarly(text, opts) : loadZoneTextColumns(text, { ...opts, thread }),
  );
  try {
    if ('thrown' in b || 'thrown' in c) assert.deepEqual(c, b);
    else {
      assert.deepEqual(c.warnings, b.warnings);
      assert.deepEqual(c.errors, b.errors);
      assert.deepEqual(dump(c.zone), dump(b.zone));
    }
  } catch {
    return `${label}: the parse through chunks (${thread}) differs`;
  }
  if ('thrown' in a || 'thrown' in b) {
    try {
      assert.deepEqual(b, a);
      return undefined;
    } catch {
      return `${label}: outcomes differ: ${JSON.stringify('thrown' in a ? a.thrown : 'loaded')} vs ${JSON.stringify('thrown' in b ? b.thrown : 'loaded')}`;
    }
  }
  try {
    assert.deepEqual(b.warnings, a.warnings);
    assert.deepEqual(b.errors, a.errors);
  } catch {
    return `${label}: findings differ`;
  }
  try {
    assert.deepEqual(dump(b.zone), dump(a.zone));
  } catch {
    return `${label}: zones differ`;
  }
  let want: Uint8Array | string;
  let got: Uint8Array | string;
  try {
    want = compileZone(a.zone);
  } catch (e) {
    want = `threw ${(e as Error).message}`;
  }
  try {
    got = compileZone(b.zone);
  } catch (e) {
    got = `threw ${(e as Error).message}`;
  }
  if (typeof want === 'string' || typeof got === 'string')
    return want === got ? undefined : `${label}: compile ${String(want)} vs ${String(got)}`;
  if (!Buffer.from(got).equals(Buffer.from(want))) return `${label}: images differ`;
  const inFile = compiledToFile(b.zone);
  if (!Buffer.from(inFile).equals(Buffer.from(want))) return `${label}: the image written to a file differs`;
  return undefined;
}

/** Where `compiledToFile` writes (one file for the whole run, emptied each time). */
let scratchFile: { dir: string; fd: number } | undefined;

/**
 * `compileZoneToFile`'s image (written in pieces, never whole in memory), at an offset past
 * octets that must stay as they are, read back.
 */
function compiledToFile(
  zone: ColumnZone | Zone,
  write: (fd: number, base: number) => number = (fd, base) => compileZoneToFile(zone, fd, base, {}),
): Uint8Array {
  if (scratchFile === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'sb-columns-file-'));
    scratchFile = { dir, fd: openSync(join(dir, 'image'), 'w+') };
    process.on('exit', () => {
      closeSync((scratchFile as { fd: number }).fd);
      rmSync(dir, { recursive: true, force: true });
    });
  }
  const fd = scratchFile.fd;
  ftruncateSync(fd, 0);
  const base = 72;
  const length = write(fd, base);
  const size = statSync(join(scratchFile.dir, 'image')).size;
  assert.equal(size, base + length, 'the file ends where the image does');
  const all = new Uint8Array(size);
  let done = 0;
  while (done < size) done += readSync(fd, all, done, size - done, done);
  assert.ok(
    all.subarray(0, base).every((v) => v === 0),
    'nothing written before the base',
  );
  return all.subarray(base);
}

/** Zone files under `dir` (recursively), as compile-identity.test.ts walks them. */
function zoneFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (
        !/\.(md|txt|key|private|conf|out|in|json|py|sh|README)$/i.test(e) &&
        statSync(p).size < 4_000_000
      )
        files.push(p);
    }
  };
  walk(dir);
  return files;
}

const LABELS = [
  'www',
  'WWW',
  'mail',
  'ns1',
  'Ns1',
  'a',
  'b',
  'sub',
  'x',
  '\\255',
  '\\254',
  'y',
  '*',
  'z\\000',
];

/**
 * A random zone whose names point at each other (columnData's cases): a small pool of owners,
 * NS/MX/SRV/CNAME targets mostly drawn from it, addresses and HTTPS at some, cuts with glue.
 */
function columnShapesZone(seed: number): { text: string; origin: string } {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const origin = rnd() < 0.3 ? 'Sh.Test.' : 'sh.test.';
  const pool = [
    'h1',
    'H1',
    'h2',
    'h3',
    'c1',
    'c2',
    'C3',
    'm1',
    'm2',
    'cut',
    'ns.cut',
    'x.cut',
    'a.b.ent',
    'w.*',
    'dn',
  ];
  const target = (): string =>
    pick([
      ...pool.filter((n) => !n.includes('*')),
      '@',
      'deep.dn',
      'out.other.',
      'h1.sh.test.',
      'H2.SH.TEST.',
    ]);
  const lines = [
    `$ORIGIN ${origin}`,
    '$TTL 300',
    '@ 600 SOA ns1 hostmaster 1 2 3 4 60',
    '@ NS ns1',
    'ns1 A 192.0.2.53',
  ];
  if (rnd() < 0.3) lines.push('@ AAAA 2001:db8::53');
  if (rnd() < 0.2) lines.push('* TXT "apex wildcard"');
  // Two records of one RRset naming the same target (its addresses given once).
  if (rnd() < 0.5) lines.push('h1 A 192.0.2.1', 'm2 MX 1 h1', 'm2 MX 2 H1', 'm2 MX 3 ns.cut');
  // A second cut: glue under it, its NS naming the first cut's glue (sibling glue) and itself.
  if (rnd() < 0.5)
    lines.push(
      'sub NS ns.sub',
      `sub NS ${pick(['ns.cut', 'sub', 'NS.Sub'])}`,
      'ns.sub A 192.0.2.7',
      'sub A 192.0.2.8',
    );
  if (rnd() < 0.3) lines.push('ns.cut AAAA 2001:db8::77', 'cut A 192.0.2.9');
  const count = 10 + Math.floor(rnd() * 40);
  for (let i = 0; i < count; i++) {
    const owner = pick(pool.slice(0, -1));
    const r = rnd();
    if (owner === 'cut' || owner === 'dn') {
      if (owner === 'cut')
        lines.push(`cut NS ${pick(['ns.cut', 'x.cut', 'h1', 'out.other.', 'cut', '@', 'ns.sub'])}`);
      else lines.push(`dn DNAME ${pick(['h1', 'out.other.', 'c1'])}`);
      if (rnd() < 0.3) lines.push(`${owner} DS 1 8 2 ${'ab'.repeat(32)}`);
    } else if (r < 0.2) lines.push(`${owner} A 192.0.2.${i & 255}`);
    else if (r < 0.3) lines.push(`${owner} AAAA 2001:db8::${i.toString(16)}`);
    else if (r < 0.35) lines.push(`${owner} HTTPS 1 . alpn=h2`);
    else if (r < 0.5) lines.push(`${owner} MX ${i % 4} ${rnd() < 0.1 ? '.' : target()}`);
    else if (r < 0.6) lines.push(`${owner} CNAME ${target()}`);
    else if (r < 0.67) lines.push(`${owner} SRV 0 1 53 ${rnd() < 0.1 ? '.' : target()}`);
    else if (r < 0.74) lines.push(`${owner} NS ${target()}`);
    else if (r < 0.8) lines.push(`${owner} DS 1 8 2 ${'cd'.repeat(32)}`);
    else if (r < 0.85) lines.push(`${owner} PTR ${target()}`);
    else if (r < 0.9) lines.push(`${owner} TXT "t${i}"`);
    else lines.push(`${owner} ${pick([60, 900])} A 198.51.100.${i & 255}`);
  }
  return { text: `${lines.join('\n')}\n`, origin };
}

/** A random zone text meant to hit every branch of Zone.build, seeded. */
function randomZone(seed: number): { text: string; origin: string } {
  const rnd = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const origin = rnd() < 0.2 ? 'Ex.Test.' : 'ex.test.';
  const name = (depth = 1 + Math.floor(rnd() * 3)): string => {
    const parts: string[] = [];
    for (let i = 0; i < depth; i++) parts.push(pick(LABELS));
    for (let i = 1; i < parts.length; i++) if (parts[i] === '*') parts[i] = 'w';
    return parts.join('.');
  };
  const lines = [`$ORIGIN ${origin}`, '$TTL 300', '@ 600 SOA ns1 hostmaster 1 2 3 4 60'];
  if (rnd() < 0.9) lines.push('@ NS ns1', `@ NS ${pick(['ns2', 'ns.other.', 'ns1.sub'])}`);
  if (rnd() < 0.05) lines.push('@ SOA ns2 hostmaster 2 2 3 4 60');
  if (rnd() < 0.05) lines.push('@ DNAME target.other.');
  const count = 5 + Math.floor(rnd() * 60);
  for (let i = 0; i < count; i++) {
    const owner = name();
    const ttl = rnd() < 0.1 ? ` ${pick([60, 300, 900])}` : '';
    const r = rnd();
    if (r < 0.25) lines.push(`${owner}${ttl} A 192.0.2.${Math.floor(rnd() * 4)}`);
    else if (r < 0.32) lines.push(`${owner}${ttl} AAAA 2001:db8::${Math.floor(rnd() * 4)}`);
    else if (r < 0.4) lines.push(`${owner}${ttl} MX ${i % 3} ${pick([name(), 'mx.other.', '.'])}`);
    else if (r < 0.46) lines.push(`${owner}${ttl} CNAME ${pick([name(), 'www.other.'])}`);
    else if (r < 0.56) {
      lines.push(`${owner} NS ${pick([`ns.${owner}`, name(), 'ns.other.'])}`);
      if (rnd() < 0.6) lines.push(`ns.${owner} A 192.0.2.${i & 255}`);
    } else if (r < 0.6) lines.push(`${owner} DNAME ${pick([name(), 'dn.other.'])}`);
    else if (r < 0.66) lines.push(`${owner}${ttl} TXT "t${Math.floor(rnd() * 3)}"`);
    else if (r < 0.7)
      lines.push(`${owner} RRSIG A 8 3 ${pick([60, 300])} 20300101000000 20200101000000 1 ex.test. AAAA`);
    else if (r < 0.74) lines.push(`out${i}.elsewhere. A 192.0.2.9`);
    else if (r < 0.77) lines.push(`${owner}${ttl} HINFO "a" "b"`);
    else if (r < 0.8) {
      // A big RRset (the duplicate test's keyed path, over 16 records), with duplicates.
      for (let k = 0; k < 20; k++) lines.push(`${owner} A 198.51.100.${Math.floor(rnd() * 24)}`);
    } else if (r < 0.85) lines.push(`${owner} SRV 0 1 53 ${name()}`);
    else lines.push(`${owner}${ttl} PTR ${name()}`);
  }
  return { text: `${lines.join('\n')}\n`, origin };
}

describe('a zone loaded as columns is the zone loadZoneText builds, and compiles alike', () => {
  test('every zone of ../shared/testdata and the interop corpus (strict and not)', (t) => {
    const dirs = [sharedTestdata, resolve(repoRoot, 'test/interop/corpus/zones')].filter((d) =>
      existsSync(d),
    );
    const diffs: string[] = [];
    let n = 0;
    for (const dir of dirs)
      for (const path of zoneFiles(dir)) {
        const text = readFileSync(path, 'latin1');
        for (const opts of [
          { file: path, octets: true },
          { file: path, octets: true, strict: false },
        ]) {
          n++;
          // Files that include others through the worker itself (it reads them).
          const d = compare(text, opts, path, text.includes('$INCLUDE') ? true : 'inline');
          if (d) diffs.push(d);
        }
      }
    t.diagnostic(`${n} loads compared`);
    assert.deepEqual(diffs, []);
    // The corpus alone is a few files: the count is checked where ../shared is (CI), not in a
    // user's clone without it (the test still compares the corpus there).
    if (!existsSync(sharedTestdata))
      return t.skip(`${sharedTestdata} absent: only the interop corpus compared`);
    assert.ok(n > 100);
  });

  test('seeded random zones (duplicates, TTL mismatches, out-of-zone data, spellings)', (t) => {
    const diffs: string[] = [];
    let loaded = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const { text, origin } = randomZone(seed);
      for (const strict of [true, false]) {
        const d = compare(text, { origin, strict }, `seed ${seed} strict ${strict}:\n${text}`);
        if (d) diffs.push(d);
      }
      try {
        loadZoneText(text, { origin, strict: false });
        loaded++;
      } catch {}
    }
    t.diagnostic(`${loaded} random zones loaded`);
    assert.ok(loaded > 200, `only ${loaded} random zones loaded`);
    assert.deepEqual(diffs, []);
  });

  test('names whose templates are written from the columns (targets, chases, glue, DS, wildcards, DNAME, ENTs), seeded', (t) => {
    // compileZone writes a non-plain name of a ColumnZone from its columns (columnData):
    // NS/MX/SRV targets in and out of the zone (with A and AAAA, twice, spelled otherwise, at
    // or below cuts, '.'), CNAMEs to names with and without the type, to the apex, to other
    // CNAMEs, below cuts and out of the zone, DS at names that are not cuts, glue below cuts,
    // wildcards, DNAMEs and empty non-terminals beside them; also with a chain limit of 1.
    const diffs: string[] = [];
    let loaded = 0;
    for (let seed = 1; seed <= 120; seed++) {
      const { text, origin } = columnShapesZone(seed);
      const d = compare(text, { origin, strict: false }, `seed ${seed}:\n${text}`);
      if (d) diffs.push(d);
      const a = outcome(() => loadZoneText(text, { origin, strict: false }));
      const b = outcome(() => loadZoneTextColumns(text, { origin, strict: false, thread: false }));
      if ('thrown' in a || 'thrown' in b) continue;
      loaded++;
      for (const answer of [{ maxChain: 1 }, { maxChain: 2 }]) {
        const want = Buffer.from(compileZone(a.zone, { answer }));
        if (!Buffer.from(compileZone(b.zone, { answer })).equals(want))
          diffs.push(`seed ${seed} maxChain ${answer.maxChain}: images differ`);
      }
    }
    t.diagnostic(`${loaded} zones compiled`);
    assert.ok(loaded > 100, `only ${loaded} zones loaded`);
    assert.deepEqual(diffs, []);
  });

  test('an RRset naming hundreds of targets (MX to 600 names with A and AAAA, a cut with 300 NS in and out of it): the Zone’s image', () => {
    const lines = ['$ORIGIN t.test.', '@ 300 SOA ns hm 1 2 3 4 5', '@ 300 NS ns', 'ns 300 A 192.0.2.1'];
    for (let i = 0; i < 600; i++)
      lines.push(`mx 300 MX ${i} m${i}`, `m${i} 300 A 192.0.2.${i & 255}`, `m${i} 300 AAAA 2001:db8::${i}`);
    for (let i = 0; i < 300; i++)
      lines.push(
        `cut 300 NS ${i % 2 === 0 ? `g${i}.cut` : `m${i}`}`,
        `g${i}.cut 300 A 198.51.100.${i & 255}`,
      );
    const text = `${lines.join('\n')}\n`;
    const want = compileZone(loadZoneText(text, { origin: 't.test.' }).zone);
    const zone = loadZoneTextColumns(text, { origin: 't.test.', thread: false }).zone;
    assert.ok(zone instanceof ColumnZone);
    assert.ok(Buffer.from(compileZone(zone)).equals(Buffer.from(want)));
    assert.ok(Buffer.from(compiledToFile(zone)).equals(Buffer.from(want)));
  });

  test('MX RRsets whose exchange is their owner beside every other shape: the Zone’s image', () => {
    // The column compile's image of these shapes against the Zone's (the engine's path). The shapes: the exchange
    // spelled otherwise, the owner with A and AAAA (several records, other TTLs), one of them,
    // neither, at the apex, below a cut, at a wildcard, with a second MX record; beside them
    // MX to other names in and out of the zone, CNAME chains, cuts with and without glue.
    const lines = [
      '$ORIGIN Mx.Test.',
      '$TTL 300',
      '@ 600 SOA ns1 hostmaster 1 2 3 4 60',
      '@ NS ns1',
      'ns1 A 192.0.2.53',
      '@ MX 5 @',
      '@ A 192.0.2.1',
      'both MX 10 both',
      'both A 192.0.2.2',
      'both 60 A 192.0.2.3',
      'both 900 AAAA 2001:db8::2',
      'Upper MX 10 UPPER.mx.TEST.',
      'upper AAAA 2001:db8::3',
      'only-a 120 MX 0 only-a',
      'only-a A 192.0.2.4',
      'bare MX 65535 bare',
      'bare TXT "no address"',
      'two MX 10 two',
      'two MX 20 both',
      'two A 192.0.2.5',
      'deep.er.name MX 1 deep.er.name',
      'deep.er.name A 192.0.2.6',
      '* MX 10 *',
      '* A 192.0.2.7',
      'w.* MX 10 w.*.mx.test.',
      'other MX 10 both',
      'out MX 10 mail.elsewhere.example.',
      'c1 CNAME c2',
      'c2 CNAME both',
      'c3 CNAME upper',
      'c4 CNAME out.elsewhere.example.',
      'cut NS ns.cut',
      'cut NS ns.elsewhere.example.',
      'ns.cut A 192.0.2.8',
      'ns.cut MX 10 ns.cut',
      'cut2 NS ns.elsewhere.example.',
      'x.cut2 MX 10 x.cut2',
    ];
    for (let i = 0; i < 40; i++) lines.push(`h${i} MX ${i} h${i}`, `h${i} A 198.51.100.${i}`);
    for (let i = 0; i < 40; i += 2) lines.push(`h${i} AAAA 2001:db8::${i.toString(16)}`);
    const text = `${lines.join('\n')}\n`;
    const want = Buffer.from(compileZone(loadZoneText(text, { origin: 'mx.test.', strict: false }).zone));
    const zone = loadZoneTextColumns(text, { origin: 'mx.test.', strict: false, thread: false }).zone;
    assert.ok(zone instanceof ColumnZone);
    for (const answer of [{ maxChain: 1 }, { maxChain: 8 }]) {
      const a = Buffer.from(
        compileZone(loadZoneText(text, { origin: 'mx.test.', strict: false }).zone, { answer }),
      );
      assert.ok(Buffer.from(compileZone(zone, { answer })).equals(a), `maxChain ${answer.maxChain}`);
    }
    assert.ok(Buffer.from(compileZone(zone)).equals(want));
    assert.ok(Buffer.from(compiledToFile(zone)).equals(want));
  });

  test('the canonical order of many names (octets 0 and 255, spellings, depths, prefixes): the Zone’s', () => {
    // compileZone sorts a ColumnZone's names with a multikey quicksort over octet keys (a
    // Zone's with a comparator over strings): the same order, so the same image.
    for (const seed of [1, 2, 3]) {
      const rnd = seededRandom(seed);
      const alphabet = ['a', 'b', 'A', 'ab', 'b0', '\\000', '\\255', 'z\\000a', '-', 'a\\255'];
      const label = (): string => {
        let l = '';
        const k = 1 + Math.floor(rnd() * 3);
        for (let i = 0; i < k; i++) l += alphabet[Math.floor(rnd() * alphabet.length)];
        return l;
      };
      const lines = ['$ORIGIN o.test.', '@ 300 SOA ns hm 1 2 3 4 5', '@ 300 NS ns', 'ns 300 A 192.0.2.1'];
      for (let i = 0; i < 3000; i++) {
        const depth = 1 + Math.floor(rnd() * 4);
        const labels: string[] = [];
        for (let d = 0; d < depth; d++) labels.push(label());
        lines.push(`${labels.join('.')} 300 TXT "${i}"`);
      }
      const text = `${lines.join('\n')}\n`;
      const want = compileZone(loadZoneText(text, { origin: 'o.test.', strict: false }).zone);
      const zone = loadZoneTextColumns(text, { origin: 'o.test.', strict: false, thread: false }).zone;
      assert.ok(zone instanceof ColumnZone);
      assert.ok(Buffer.from(compileZone(zone)).equals(Buffer.from(want)), `seed ${seed}: images differ`);
    }
  });

  test('records given directly: another class and out-of-zone owners are dropped with the same warnings', () => {
    const origin = Name.parse('z.');
    const rr = (name: string, type: number, rdata: number[], cls = 1, ttl = 60) => ({
      name: Name.parse(name),
      type,
      class: cls,
      ttl,
      rdata: Uint8Array.from(rdata),
    });
    const soa = [1, 0x6e, 0, 1, 0x68, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5];
    const records = [
      rr('z.', RRType.SOA, soa),
      rr('a.z.', RRType.A, [192, 0, 2, 1]),
      rr('a.z.', RRType.A, [192, 0, 2, 1], 3),
      rr('b.y.', RRType.A, [192, 0, 2, 2]),
      rr('A.z.', RRType.A, [192, 0, 2, 1], 1, 30),
      rr('A.z.', RRType.A, [192, 0, 2, 3], 1, 30),
      rr('x.Deep.z.', RRType.TXT, [1, 0x61]),
    ];
    assert.deepEqual(dump(ColumnZone.build(origin, records)), dump(Zone.build(origin, records)));
    assert.deepEqual(
      Buffer.from(compileZone(ColumnZone.build(origin, records))),
      Buffer.from(compileZone(Zone.build(origin, records))),
    );
  });

  test('records before the origin is known (no $ORIGIN yet, no origin given) are built under the origin found later', () => {
    const texts = [
      'z. 60 SOA ns.z. h.z. 1 2 3 4 5\n$ORIGIN z.\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.2\n',
      'a.z. 60 A 192.0.2.9\nz. 60 SOA ns.z. h.z. 1 2 3 4 5\n$ORIGIN z.\n@ NS ns\nns A 192.0.2.1\n',
      'x.y. 60 A 192.0.2.9\n$ORIGIN z.\n@ 60 SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n',
    ];
    const diffs = texts
      .flatMap((t, i) => [
        compare(t, {}, `text ${i}`),
        compare(t, {}, `text ${i}, thread`, true),
        compare(t, {}, `text ${i}, early thread`, 'early'),
      ])
      .filter((d) => d !== undefined);
    assert.deepEqual(diffs, []);
  });

  test("owners the parse thread gives as octets (relative, new on a fast line) beside every other owner: the in-thread parse's zone", () => {
    // Spellings folded or not, the origin restated in another case, $ORIGIN away and back, an
    // owner whose line the fast path leaves after reading it (SRV, parentheses, a bad address),
    // blank owners after fast and general lines, absolute owners and '@', an $INCLUDE between
    // a new owner and a blank-owner line, and owners repeated out of order.
    const dir = mkdtempSync(join(tmpdir(), 'sb-octet-owner-'));
    try {
      writeFileSync(join(dir, 'inc.db'), 'inc1 A 192.0.2.40\nInc2 AAAA 2001:db8::40\n');
      const lines = [
        '$ORIGIN Oct.Example.',
        '$TTL 300',
        '@ SOA ns1 h 1 2 3 4 5',
        '@ NS ns1',
        'ns1 A 192.0.2.1',
        'www A 192.0.2.2',
        ' AAAA 2001:db8::2',
        'WWW TXT "same owner, other spelling"',
        'Mail MX 10 mail',
        ' A 192.0.2.3',
        'srv SRV 0 0 53 ns1',
        ' A 192.0.2.4',
        'par A ( 192.0.2.5 )',
        ' TXT "after a parenthesis"',
        'bad A 192.0.2.300',
        'bad2 A 192.0.2.6',
        'deep.er.name A 192.0.2.7',
        'www A 192.0.2.8',
        'abs.oct.example. A 192.0.2.9',
        ' A 192.0.2.10',
        '$ORIGIN OCT.EXAMPLE.',
        'up A 192.0.2.11',
        '$ORIGIN other.example.',
        'away A 192.0.2.12',
        '$ORIGIN oct.example.',
        'back A 192.0.2.13',
        'incl A 192.0.2.14',
        `$INCLUDE ${join(dir, 'inc.db')}`,
        ' A 192.0.2.15',
        'x\\.y A 192.0.2.16',
        'z A 192.0.2.17',
        '\t A 192.0.2.18',
      ];
      const text = `${lines.join('\n')}\n`;
      const opts = { origin: 'oct.example.', strict: false, file: join(dir, 'oct.zone') };
      // The thread's octet path against the in-thread parse; the parse itself finds the bad line.
      const d = compare(text, opts, 'octet owners', true) ?? compare(text, opts, 'octet owners, inline');
      assert.equal(d, undefined, d);
      const ok = text.replace('bad A 192.0.2.300\n', '');
      for (const thread of ['inline', true, 'early'] as const)
        assert.equal(compare(ok, opts, `octet owners ${thread}`, thread), undefined, `${thread}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('odd values: TTLs with the high bit set, RDATA over 4 KiB, a wildcard and a DNAME with data below', () => {
    const long = Array.from(
      { length: 24 },
      (_, i) => `"${String(i).padStart(3, '0')}${'x'.repeat(240)}"`,
    ).join(' ');
    const text = [
      '$ORIGIN z.',
      '$TTL 4294967295',
      '@ SOA ns h 1 2 3 4 5',
      '@ NS ns',
      'ns 2147483648 A 192.0.2.1',
      'ns 2147483648 A 192.0.2.2',
      `big TXT ${long}`,
      `big TXT ${long} "2"`,
      '* 60 MX 10 ns',
      'd 60 DNAME elsewhere.',
      'x.d 60 A 192.0.2.3',
      '',
    ].join('\n');
    assert.equal(compare(text, { origin: 'z.' }, 'odd'), undefined);
    assert.equal(compare(text, { origin: 'z.' }, 'odd, thread', true), undefined);
    assert.equal(compare(text, { origin: 'z.' }, 'odd, early thread', 'early'), undefined);
    assert.equal(compare(text, { origin: 'z.', strict: false }, 'odd, not strict'), undefined);
    const loaded = loadZoneTextColumns(text, { origin: 'z.', strict: false });
    assert.equal(loaded.zone.get(Name.parse('ns.z.'))?.get(RRType.A)?.ttl, 2147483648);
    assert.equal(loaded.zone.soa.ttl, 4294967295);
  });

  test('refusals carry the same messages (no SOA, two SOAs, a check error)', () => {
    const cases = [
      '$ORIGIN z.\n$TTL 60\n@ NS ns\nns A 192.0.2.1\n',
      '$ORIGIN z.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ SOA ns h 2 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n',
      '$ORIGIN z.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nc CNAME x\nc A 192.0.2.1\n',
      '$ORIGIN z.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\nns A 192.0.2.1\n',
    ];
    for (const text of cases) {
      const a = outcome(() => loadZoneText(text, { origin: 'z.' }));
      assert.ok('thrown' in a, text);
      assert.deepEqual(
        outcome(() => loadZoneTextColumns(text, { origin: 'z.' })),
        a,
      );
      assert.deepEqual(
        outcome(() => loadZoneTextColumns(text, { origin: 'z.', thread: true })),
        a,
      );
      assert.deepEqual(
        outcome(() => loadEarly(text, { origin: 'z.' })),
        a,
      );
    }
  });

  test('the benchmark zones (many-zones text, the big zone generator)', () => {
    const diffs: string[] = [];
    for (const i of [0, 1, 77, 99_999]) {
      const origin = manyZoneOrigin(i, 100_000);
      const d = compare(manyZoneText(origin, i), { origin }, origin);
      if (d) diffs.push(d);
    }
    const dir = mkdtempSync(join(tmpdir(), 'sb-columns-'));
    try {
      const file = join(dir, 'big.zone');
      generateBigZone(file, 20_000);
      const text = readFileSync(file, 'latin1');
      const opts = { origin: BIG_ORIGIN, file, octets: true };
      const d = compare(text, opts, 'big zone', true);
      if (d) diffs.push(d);
      const e = compare(text, opts, 'big zone, early thread', 'early');
      if (e) diffs.push(e);
      // The file read into the early thread's octets, as the compile thread does; a file that
      // grew past the size the thread was started for is seen (the rest read by the caller).
      const fd = openSync(file, 'r');
      try {
        const early = EarlyParse.start(text.length);
        assert.ok(early);
        assert.equal(early.readFd(fd), true);
        assert.equal(early.length, text.length);
        assert.deepEqual(
          dump(loadZoneTextColumns('', { ...opts, early }).zone),
          dump(loadZoneText(text, opts).zone),
        );
        early.close();
        const small = EarlyParse.start(1000);
        assert.ok(small);
        assert.equal(small.readFd(fd), true); // at the end: nothing more
        assert.equal(small.length, 0);
        small.close(); // never handed its text: the thread stops
        const grown = EarlyParse.start(1000);
        assert.ok(grown);
        const again = openSync(file, 'r');
        try {
          assert.equal(grown.readFd(again), false);
          assert.equal(grown.length, 1001);
          assert.equal(grown.text(), text.slice(0, 1001));
        } finally {
          closeSync(again);
          grown.close();
        }
      } finally {
        closeSync(fd);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(diffs, []);
  });

  test('StagedCompile: the image without templates, then the full image from the same sort, each as compileZone makes it', () => {
    /** The two stages into a file against `compileZone` without and with templates. */
    const staged = (zone: ColumnZone, label: string): void => {
      const told: string[] = [];
      const st = new StagedCompile(zone, { trace: (s) => told.push(s) });
      const first = Buffer.from(compiledToFile(zone, (fd, base) => st.first(fd, base)));
      const full = Buffer.from(compiledToFile(zone, (fd, base) => st.full(fd, base)));
      assert.ok(
        first.equals(Buffer.from(compileZone(zone, { templates: false }))),
        `${label}: the first stage`,
      );
      assert.ok(full.equals(Buffer.from(compileZone(zone))), `${label}: the full image`);
      assert.equal(first.readUInt32LE(H.FLAGS) & 1, 0, `${label}: no templates`);
      assert.equal(full.readUInt32LE(H.FLAGS) & 1, 1, label);
      assert.equal(
        told.filter((s) => s === 'sorted').length,
        1,
        `${label}: sorted once (${told.join(', ')})`,
      );
    };
    const dir = mkdtempSync(join(tmpdir(), 'sb-staged-'));
    try {
      const file = join(dir, 'big.zone');
      generateBigZone(file, 20_000);
      const text = readFileSync(file, 'latin1');
      staged(loadZoneTextColumns(text, { origin: BIG_ORIGIN, file, octets: true }).zone, 'big zone');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    let made = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const { text, origin } = randomZone(seed);
      let zone: ColumnZone;
      try {
        zone = loadZoneTextColumns(text, { origin, strict: false }).zone;
      } catch {
        continue; // refused (two SOAs and the like): nothing to compile
      }
      staged(zone, `random zone ${seed}`);
      made++;
    }
    assert.ok(made >= 40, `${made} random zones compiled`);
  });

  test("a big zone's image from columns passes the full validation (workers may skip it: a CHECKED pack)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-columns-'));
    try {
      const file = join(dir, 'big.zone');
      generateBigZone(file, 60_000);
      const { zone } = loadZoneTextColumns(readFileSync(file, 'latin1'), {
        origin: BIG_ORIGIN,
        octets: true,
      });
      const image = openImage(compileZone(zone));
      assert.equal(image.nameCount, zone.nameCount);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("serve's primary knows PARSE_THREAD_TEXT (it waits for such a file's compile to fork its workers)", () => {
    assert.equal(BIG_FILE, PARSE_THREAD_TEXT);
  });

  test('the compile thread parses text over PARSE_THREAD_TEXT in a thread of its own, with the same image', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-columns-'));
    try {
      const file = join(dir, 'big.test.zone');
      generateBigZone(file, 380_000);
      const text = readFileSync(file, 'latin1');
      assert.ok(text.length >= PARSE_THREAD_TEXT, `${text.length} octets`);
      const got = runCompile({ kind: 'file', path: file });
      const want = loadZoneTextColumns(text, { file, octets: true, thread: false });
      assert.ok(got.ok);
      assert.ok(Buffer.from(got.image).equals(Buffer.from(compileZone(want.zone))));
      assert.deepEqual(got.warnings, []);
      // The thread started before the read (the file's octets shared with it): a bad record
      // at the end refuses the zone with the error the in-thread parse gives.
      appendFileSync(file, 'bad A 192.0.2.300\nc CNAME x\nc A 192.0.2.1\n');
      const bad = runCompile({ kind: 'file', path: file });
      const thrown = outcome(() =>
        loadZoneTextColumns(readFileSync(file, 'latin1'), { file, octets: true, thread: false }),
      );
      assert.equal(bad.ok, false);
      assert.ok('thrown' in thrown);
      const errs = (thrown.thrown as { errors: { line: number; message: string }[] }).errors;
      assert.ok(errs.length > 0);
      assert.equal(bad.errors.length, errs.length);
      for (let i = 0; i < errs.length; i++) assert.ok(bad.errors[i].includes(errs[i].message), bad.errors[i]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the compile thread loads big zone text as columns, with the same result', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-columns-'));
    try {
      const file = join(dir, 'big.test.zone');
      // Just over the threshold, and a duplicate record (a warning) at the end.
      generateBigZone(file, 45_000);
      let text = readFileSync(file, 'latin1');
      assert.ok(text.length >= COLUMN_ZONE_TEXT, `${text.length} octets`);
      text += 'h0 A 198.18.0.0\n';
      const got = runCompile({ kind: 'text', name: BIG_ORIGIN, text });
      const want = loadZoneText(text, { origin: BIG_ORIGIN, file: BIG_ORIGIN, strict: false });
      assert.ok(got.ok);
      assert.ok(Buffer.from(got.image).equals(Buffer.from(compileZone(want.zone))));
      assert.equal(got.warnings.length, want.warnings.length);
      assert.equal(got.warnings.length, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("NameTable (the column build's key → name index)", () => {
  test('finds what a Map finds, across growth, for random octet keys', () => {
    const rand = seededRandom(7);
    for (const start of [0, 10, 5_000]) {
      const table = new NameTable(start);
      const map = new Map<string, number>();
      for (let n = 0; n < 20_000; n++) {
        // Short keys over few octets (many near-misses and hash-equal probes), any octet 0..255.
        const len = 1 + Math.floor(rand() * 6);
        let key = '';
        for (let k = 0; k < len; k++)
          key += String.fromCharCode(rand() < 0.8 ? 0x61 + Math.floor(rand() * 4) : Math.floor(rand() * 256));
        const want = map.get(key) ?? -1;
        // A fresh string of the same octets: compared by content, not identity.
        assert.equal(table.find(key.split('').join('')), want);
        if (want < 0 && rand() < 0.7) {
          const i = table.add(key);
          assert.equal(i, map.size);
          map.set(key, i);
        }
        // A miss followed by adding another key must not reuse the miss's slot.
        if (rand() < 0.05) {
          const other = `${key}\x00x`;
          if (!map.has(other) && table.find(`${key}\x00y`) < 0 && !map.has(`${key}\x00y`)) {
            map.set(other, table.add(other));
          }
        }
      }
      assert.equal(table.size, map.size);
      for (const [key, i] of map) assert.equal(table.find(key), i);
      assert.deepEqual([...table.keys()], [...map.keys()]);
    }
  });

  test('a key added from its own octets (a suffix, as a parent name) is found as a string and as octets', () => {
    const rand = seededRandom(11);
    const table = new NameTable(0);
    const map = new Map<string, number>();
    for (let n = 0; n < 20_000; n++) {
      // A wire-like key of 1–4 labels; each suffix of it looked up by its octets, then added.
      let key = '';
      const labels = 1 + Math.floor(rand() * 4);
      for (let l = 0; l < labels; l++) {
        const len = 1 + Math.floor(rand() * 3);
        key += String.fromCharCode(len);
        for (let k = 0; k < len; k++) key += String.fromCharCode(0x61 + Math.floor(rand() * 3));
      }
      key += '\x00';
      if (table.find(key) >= 0) continue;
      const i = table.add(key);
      map.set(key, i);
      let at = table.off[i];
      let len = table.len[i];
      while (len > 1) {
        const skip = table.octets[at] + 1;
        at += skip;
        len -= skip;
        const suffix = key.slice(key.length - len);
        const want = map.get(suffix) ?? -1;
        assert.equal(table.findAt(table.octets, at, len), want);
        if (want >= 0) break;
        map.set(suffix, table.addAt(at, len));
      }
    }
    assert.equal(table.size, map.size);
    for (const [key, i] of map) {
      assert.equal(table.find(key), i);
      assert.equal(table.key(i), key);
      assert.equal(table.findAt(Buffer.from(key, 'latin1'), 0, key.length), i);
    }
  });
});
