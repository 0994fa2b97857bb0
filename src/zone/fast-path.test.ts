/**
 * The parser's fast path (lexer.ts `LineScanner`, parser.ts `fastRecord`) gives exactly what
 * the general path gives (`slowPath: true`: every line through ZoneLexer and `entry`): the
 * same records (owner, type, class, TTL, RDATA octets), lines, origin, class, errors and
 * warnings, on every file of ../shared/testdata and the examples, and on seeded random texts
 * made of common lines, near-misses and the rare syntax mixed.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { exampleZones, sharedTestdata } from '../../test/helpers/paths.js';
import { seededRandom } from '../../test/helpers/prng.js';
import { type ParsedZone, type ParseOptions, parseZone } from './parser.js';

/** What a parse gives, in plain values (Names and RDATA as text) for deepEqual. */
function summary(p: ParsedZone): unknown {
  return {
    records: p.records.map((r) => [
      r.name.wire,
      r.type,
      r.class,
      r.ttl,
      Buffer.from(r.rdata).toString('hex'),
    ]),
    lines: p.lines,
    fileIndex: p.fileIndex,
    files: p.files,
    origin: p.origin?.wire,
    class: p.class,
    errors: p.errors,
    warnings: p.warnings,
  };
}

function same(text: string, opts: ParseOptions, label: string): void {
  const fast = parseZone(text, opts);
  const slow = parseZone(text, { ...opts, slowPath: true });
  assert.deepEqual(summary(fast), summary(slow), label);
}

function files(dir: string, out: string[]): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e);
    const st = statSync(p);
    if (st.isDirectory()) files(p, out);
    else if (!/\.(md|key|private|json|py|sh)$/i.test(e) && st.size < 4_000_000) out.push(p);
  }
  return out;
}

test('fast path = general path on every file of ../shared/testdata and examples/zones', (t) => {
  // ../shared/testdata holds the real zones (a user's clone may not have it: skipped then).
  if (!existsSync(sharedTestdata)) return t.skip(`${sharedTestdata} absent`);
  const all = files(sharedTestdata, files(exampleZones, []));
  if (all.length === 0) return t.skip('no zone files here');
  let records = 0;
  for (const path of all) {
    const text = readFileSync(path, 'latin1');
    const o: ParseOptions = { file: path, octets: true };
    same(text, o, path);
    records += parseZone(text, o).records.length;
  }
  assert.ok(records > 10_000, `only ${records} records compared`);
});

/** Lines the fast path takes, lines it must leave, and lines with the rare syntax. */
const OWNERS = [
  '@',
  'h1',
  'h1',
  'H1',
  'h1.',
  'x\\.y',
  'www',
  'WWW',
  'a.b',
  'x.example.com.',
  '*',
  '*.w',
  '',
  ' ',
  '\t',
  'bad..name',
  '"q"',
  '$X',
];
const TTLS = ['', '300', '1h', '1H30m', '4294967295', '4294967296', '2147483648', '1x', '0'];
const CLASSES = ['', 'IN', 'in', 'CH', 'ANY', 'NONE', 'CLASS1', 'HS'];
const RECORDS = [
  'A 192.0.2.1',
  'a 10.0.0.1',
  'A 01.2.3.4',
  'A 1.2.3',
  'A "1.2.3.4"',
  'A 1.2.3.4 5',
  'A',
  'AAAA 2001:db8::1',
  'aaaa ::ffff:1.2.3.4',
  'AAAA 1::2::3',
  'NS ns1',
  'NS ns1.example.net.',
  'NS a\\.b',
  'NS @',
  'CNAME x..y',
  'PTR host',
  'MX 10 mail',
  'MX 70000 mail',
  'MX 10',
  'TXT "hello world"',
  'TXT plain "two" three',
  'TXT "with \\" escape"',
  'TXT "unterminated',
  'TXT ""',
  'SOA ns1 host 1 2 3 4 5',
  'SOA ns1 host 1 2 3 4',
  'SOA ns1 host ( 1 2 3 4 5 )',
  'SOA ns1 host (\n 1 2 3\n 4 5 )',
  'SRV 0 5 5060 sip',
  'CAA 0 issue "ca.example"',
  'DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118',
  'TYPE65534 \\# 2 abcd',
  'HINFO "x" "y"',
  'OPT 1',
  'ANY 1',
  'NOSUCH 1',
  'A 192.0.2.1 ; comment',
  'A 192.0.2.1\r',
  'A ( 192.0.2.2 )',
  'A 192.0.2.3 )',
  'TXT a"b"c',
  // Lines the fast line (parser.ts `fastLine`) reads straight from the text, and its near misses.
  'A 192.0.2.1;c',
  'A\t192.0.2.9 \t',
  'AAAA ::',
  'AAAA 1:2:3:4:5:6:7:8',
  'AAAA 2001:DB8::A',
  'CNAME host.',
  'cname Host',
  'Ptr @',
  'MX 10 @',
  'MX\t10\tmail',
  'mx 10 mail.example.net.;c',
  'MX 10 mail extra',
  'TXT "a";c',
  'TXT "a""b"',
  'TXT "a" b ; c',
  'TXT a"b"',
  `TXT "${'x'.repeat(300)}"`,
  `TXT ${'y'.repeat(255)} ${'z'.repeat(256)}`,
  `TXT "${'w'.repeat(4000)}" "${'v'.repeat(200)}"`,
  'TXT',
  'TXT ;c',
  'NS ns1 ns2',
  'A 1.2.3.4(',
  'A\\ 1.2.3.4',
];
const DIRECTIVES = [
  '$ORIGIN sub',
  '$ORIGIN example.org.',
  '$TTL 600',
  '$TTL bad',
  '$INCLUDE nothing.zone',
  '$GENERATE 1-3 g$ A 10.0.0.$',
  '$BOGUS x',
  '; only a comment',
  '',
  '   ',
];

function randomText(rand: () => number): string {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)];
  const lines: string[] = [];
  if (rand() < 0.7) lines.push('$ORIGIN example.com.');
  if (rand() < 0.6) lines.push('$TTL 3600');
  if (rand() < 0.8) lines.push('@ SOA ns1 hostmaster 1 7200 1800 1209600 300');
  const n = 5 + Math.floor(rand() * 30);
  for (let i = 0; i < n; i++) {
    if (rand() < 0.12) {
      lines.push(pick(DIRECTIVES));
      continue;
    }
    const owner = pick(OWNERS);
    const parts = [owner === ' ' || owner === '\t' ? '' : owner];
    const ttl = pick(TTLS);
    const cls = pick(CLASSES);
    if (rand() < 0.5) parts.push(ttl, cls);
    else parts.push(cls, ttl);
    parts.push(pick(RECORDS));
    let line = parts.filter((p) => p !== '').join(rand() < 0.8 ? ' ' : '\t');
    if (owner === ' ' || owner === '\t' || owner === '') line = `${owner === '' ? ' ' : owner}${line}`;
    lines.push(line);
  }
  return lines.join(rand() < 0.9 ? '\n' : '\r\n') + (rand() < 0.5 ? '\n' : '');
}

test('fast path = general path on seeded random texts', () => {
  const rand = seededRandom(0x5eed7);
  for (let k = 0; k < 1500; k++) {
    const text = randomText(rand);
    const opts: ParseOptions[] = [{}, { origin: 'example.com.' }, { fallbackOrigin: () => undefined }];
    same(text, opts[k % 3], `text ${k}:\n${text}`);
  }
});

test('transientRecords: a sink that copies gets what the parser gives without it', () => {
  const rand = seededRandom(0x7a11);
  for (let k = 0; k < 400; k++) {
    const text = randomText(rand);
    const opts: ParseOptions = k % 2 === 0 ? { origin: 'example.com.' } : {};
    const kept: ParsedZone['records'] = [];
    const got = parseZone(text, {
      ...opts,
      transientRecords: true,
      sink: (rr) => kept.push({ ...rr, rdata: rr.rdata.slice() }),
    });
    const want = parseZone(text, opts);
    assert.deepEqual(
      summary({ ...got, records: kept, lines: want.lines, fileIndex: want.fileIndex }),
      summary(want),
    );
    assert.deepEqual([...(got.recordLines?.lines ?? [])], want.lines, `text ${k}`);
  }
});

test('the fast line in $INCLUDEd files, CRLF files, after $ORIGIN and $TTL, and around odd lines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-fast-line-'));
  try {
    const crlf = (lines: string[]) => `${lines.join('\r\n')}\r\n`;
    writeFileSync(
      join(dir, 'sub.zone'),
      crlf([
        '  A 192.0.2.50',
        'a A 192.0.2.51',
        ' AAAA 2001:db8::51',
        'b 300 IN MX 10 a',
        'c CNAME a ; to a',
        '$ORIGIN deeper',
        ' A 192.0.2.52',
        'd TXT "x" y',
        'e A 192.0.2.\\053',
        'f TYPE1 \\# 4 c0000235',
        'g A ( 192.0.2.54 )',
      ]),
    );
    const main = [
      '$ORIGIN example.com.',
      '$TTL 3600',
      '@ SOA ns1 hostmaster 1 7200 1800 1209600 300',
      '@ NS ns1',
      'ns1 A 192.0.2.1',
      'www A 192.0.2.2',
      ' AAAA 2001:db8::2',
      '$INCLUDE sub.zone sub',
      ' A 192.0.2.3',
      'www2 A 192.0.2.4',
      '$TTL 60',
      'www3 A 192.0.2.5',
      '$ORIGIN other.example.com.',
      ' A 192.0.2.6',
      'x A 192.0.2.7',
      'y 1h30m A 192.0.2.8',
      'z A 192.0.2.256',
      'z2 A 192.0.2.9 extra',
      'Z3 a 192.0.2.10;tail',
    ].join('\n');
    const file = join(dir, 'example.com.zone');
    writeFileSync(file, main);
    same(main, { file, octets: true }, 'LF file including a CRLF file');
    same(main.replaceAll('\n', '\r\n'), { file, octets: true }, 'CRLF file including a CRLF file');
    const parsed = parseZone(main, { file, octets: true });
    assert.ok(parsed.records.length >= 20, `${parsed.records.length} records`);
    assert.ok(parsed.errors.length > 0, 'the bad lines are reported');
    assert.ok(
      parsed.warnings.some((w) => w.message.includes('first record of an included file')),
      "the included file's first line warned as before",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
