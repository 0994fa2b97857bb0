// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${offset,width,base} is BIND's $GENERATE syntax, not a template.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { RRType } from '../wire/constants.js';
import type { RR } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { rdataToText } from '../wire/rdata.js';
import {
  type ParseOptions,
  parseNameText,
  parseTtl,
  parseZone,
  parseZoneText,
  ZoneParseError,
} from './parser.js';

const SOA = '@ IN SOA ns.example. host.example. 1 7200 3600 1209600 300';

function show(rr: RR): string {
  return `${rr.name} ${rr.ttl} ${rr.type} ${rdataToText(rr.type, rr.rdata)}`;
}

function parse(text: string, opts: Partial<ParseOptions> = {}): string[] {
  return parseZoneText(text, { origin: 'example.', ...opts }).map(show);
}

function errorsOf(text: string, opts: Partial<ParseOptions> = {}): string[] {
  const p = parseZone(text, { origin: 'example.', file: 'z.zone', ...opts });
  return p.errors.map((e) => `${e.file}:${e.line}: ${e.code} ${e.message}`);
}

describe('parseTtl (RFC 2308 §4 / BIND units)', () => {
  test('plain seconds and units in any case', () => {
    assert.equal(parseTtl('0'), 0);
    assert.equal(parseTtl('4294967295'), 4294967295);
    assert.equal(parseTtl('1h30m'), 5400);
    assert.equal(parseTtl('1W2D'), 777600);
    assert.equal(parseTtl('1w1d1h1m1s'), 694861);
    assert.equal(parseTtl('1s1m1m'), 121);
    assert.equal(parseTtl('1h30'), 3630);
  });
  test('rejects bad and overflowing TTLs', () => {
    for (const t of ['-1', '4294967296', '100000000W', '4294967295s1w', '1x', 'h', ''])
      assert.throws(() => parseTtl(t), Error, t);
  });
});

describe('parseNameText', () => {
  const origin = Name.parse('example.');
  test('absolute, relative, @ and root', () => {
    assert.equal(parseNameText('www.example.org.', origin).toString(), 'www.example.org.');
    assert.equal(parseNameText('www', origin).toString(), 'www.example.');
    assert.equal(parseNameText('@', origin), origin);
    assert.equal(parseNameText('.', origin), Name.ROOT);
  });
  test('escapes go through Name.parse', () => {
    assert.equal(parseNameText('a\\.b', origin).labels()[0], 'a.b');
    assert.equal(parseNameText('\\065', origin).toString(), 'A.example.');
  });
  test('faults', () => {
    for (const t of ['a..b', '.a', `${'x'.repeat(64)}.`, `${'x.'.repeat(130)}`])
      assert.throws(() => parseNameText(t, origin), Error, t);
    assert.throws(() => parseNameText('rel', undefined), /without an origin/);
  });
});

describe('records (RFC 1035 §5.1)', () => {
  test('TTL and class in either order, both optional', () => {
    const out = parse(
      `$TTL 60\n${SOA}\nfoo 300 IN A 192.0.2.1\nbar IN 300 A 192.0.2.2\nbaz IN A 192.0.2.3\nqux 5m A 192.0.2.4\n`,
    );
    assert.deepEqual(out.slice(1), [
      'foo.example. 300 1 192.0.2.1',
      'bar.example. 300 1 192.0.2.2',
      'baz.example. 60 1 192.0.2.3',
      'qux.example. 300 1 192.0.2.4',
    ]);
  });

  test('owner inheritance, @ and relative names', () => {
    const out = parse(
      `$TTL 60\n${SOA}\nwww A 192.0.2.1\n  AAAA 2001:db8::1\n@ MX 10 mail\nabs.example.org. A 192.0.2.9\n`,
    );
    assert.deepEqual(out.slice(1), [
      'www.example. 60 1 192.0.2.1',
      'www.example. 60 28 2001:db8::1',
      'example. 60 15 10 mail.example.',
      'abs.example.org. 60 1 192.0.2.9',
    ]);
  });

  test('parentheses across lines with comments', () => {
    const out = parse('$TTL 1h\n@ IN SOA ns host (\n 2026112201 ; serial\n 2h 30m\n 2w 5m ) ; end\n');
    assert.deepEqual(out, ['example. 3600 6 ns.example. host.example. 2026112201 7200 1800 1209600 300']);
  });

  test('escapes in owner names and quoted RDATA reach the RDATA parser intact', () => {
    const out = parse(`$TTL 60\na\\.b TXT "say \\"hi\\"" \\059x\n`);
    assert.deepEqual(out, ['a\\.b.example. 60 16 "say \\"hi\\"" ";x"']);
  });

  test('RFC 3597 TYPEnnn, CLASSnnn and \\#', () => {
    const out = parse('$TTL 60\nx CLASS1 TYPE1 \\# 4 C0000201\ny TYPE65280 \\# 2 abcd\n');
    assert.deepEqual(out, ['x.example. 60 1 192.0.2.1', 'y.example. 60 65280 \\# 2 abcd']);
  });

  test('TTL inheritance: $TTL wins, else the last explicit TTL (RFC 1035), else the SOA minimum (BIND)', () => {
    assert.deepEqual(
      parse('a 100 A 192.0.2.1\nb A 192.0.2.2\n$TTL 7\nc A 192.0.2.3\nd 9 A 192.0.2.4\ne A 192.0.2.5\n'),
      [
        'a.example. 100 1 192.0.2.1',
        'b.example. 100 1 192.0.2.2',
        'c.example. 7 1 192.0.2.3',
        'd.example. 9 1 192.0.2.4',
        'e.example. 7 1 192.0.2.5',
      ],
    );
    const p = parseZone(`${SOA}\nwww A 192.0.2.1\n`, { origin: 'example.' });
    assert.deepEqual(p.errors, []);
    assert.deepEqual(
      p.records.map((r) => r.ttl),
      [300, 300],
    );
    assert.match(p.warnings[0].message, /SOA MINIMUM/);
    assert.deepEqual(errorsOf('www A 192.0.2.1\n'), [
      'z.zone:1: ZONE_ERR_TTL no TTL specified and no $TTL in effect',
    ]);
  });

  test('defaultTtl acts as an initial $TTL', () => {
    assert.deepEqual(parse('a A 192.0.2.1\n', { defaultTtl: 42 }), ['a.example. 42 1 192.0.2.1']);
  });

  test('the type can never be taken for a TTL and vice versa', () => {
    assert.deepEqual(errorsOf('$TTL 1\nfoo 300 300 A 192.0.2.1\n'), [
      "z.zone:2: ZONE_ERR_TYPE '300' is a second TTL",
    ]);
    assert.deepEqual(errorsOf('$TTL 1\nfoo IN BOGUS x\n'), [
      "z.zone:2: ZONE_ERR_TYPE 'BOGUS' is an unknown type",
    ]);
  });

  test('the class must match the zone class; meta types are refused', () => {
    assert.deepEqual(errorsOf('$TTL 1\na IN A 192.0.2.1\nb CH A 192.0.2.1\n'), [
      "z.zone:3: ZONE_ERR_CLASS class CH differs from the zone's class IN",
    ]);
    assert.deepEqual(errorsOf('$TTL 1\na ANY \\# 0\nb TKEY \\# 0\n'), [
      'z.zone:2: ZONE_ERR_TYPE meta type ANY cannot be in a zone file',
      'z.zone:3: ZONE_ERR_TYPE meta type TKEY cannot be in a zone file',
    ]);
  });

  test('RDATA errors carry file:line and the field', () => {
    const errs = errorsOf('$TTL 1\n@ MX x mail\n');
    assert.equal(errs.length, 1);
    assert.match(errs[0], /^z\.zone:2: ZONE_ERR_RDATA MX preference: 'x' is not a/);
  });

  test('no owner for a blank-owner first line, nor after a bad owner', () => {
    assert.deepEqual(errorsOf('$TTL 1\n  A 192.0.2.1\n'), [
      'z.zone:2: ZONE_ERR_SYNTAX no current owner name',
    ]);
    const errs = errorsOf('$TTL 1\na..b A 192.0.2.1\n  A 192.0.2.2\n');
    assert.equal(errs.length, 2);
    assert.match(errs[1], /:3: ZONE_ERR_SYNTAX no current owner name/);
  });

  test('collects several errors, up to maxErrors', () => {
    const text = '$TTL 1\na A x\nb A y\nc A 192.0.2.1\nd A z\n';
    const p = parseZone(text, { origin: 'example.' });
    assert.deepEqual(
      p.errors.map((e) => e.line),
      [2, 3, 5],
    );
    assert.equal(p.records.length, 1);
    const capped = parseZone(text, { origin: 'example.', maxErrors: 2 });
    assert.deepEqual(
      capped.errors.map((e) => e.code),
      ['ZONE_ERR_RDATA', 'ZONE_ERR_RDATA', 'ZONE_ERR_TOO_MANY'],
    );
  });

  test('parseZoneText throws a ZoneParseError with every error', () => {
    try {
      parseZoneText('$TTL 1\na A x\nb A y\n', { origin: 'example.', file: 'ex.zone' });
      assert.fail('no error');
    } catch (err) {
      assert.ok(err instanceof ZoneParseError);
      assert.equal(err.code, 'ZONE_ERR_RDATA');
      assert.equal(err.file, 'ex.zone');
      assert.equal(err.line, 2);
      assert.equal(err.errors.length, 2);
      assert.match(err.message, /^ex\.zone:2: A address: 'x' is not an IPv4 address \(and 1 more error\)$/);
    }
  });

  test('lexer faults surface as ZONE_ERR_SYNTAX at their line', () => {
    assert.deepEqual(errorsOf('$TTL 1\na TXT "open\nb A 192.0.2.1\n'), [
      'z.zone:2: ZONE_ERR_SYNTAX unbalanced quotes: line ends inside a quoted string',
    ]);
    assert.deepEqual(errorsOf('$TTL 1\na A (\n192.0.2.1\n'), [
      "z.zone:2: ZONE_ERR_SYNTAX unbalanced '(': end of input inside parentheses",
    ]);
  });

  test('non-latin1 text is read as UTF-8 octets', () => {
    const out = parse('$TTL 1\na TXT "é"\n');
    assert.deepEqual(out, ['a.example. 1 16 "\\195\\169"']);
  });
});

describe('directives', () => {
  test('$ORIGIN absolute and relative to the current origin; case-insensitive', () => {
    const out = parse('$TTL 1\n$ORIGIN sub\na A 192.0.2.1\n$origin other.test.\nb A 192.0.2.2\n');
    assert.deepEqual(out, ['a.sub.example. 1 1 192.0.2.1', 'b.other.test. 1 1 192.0.2.2']);
    assert.deepEqual(errorsOf('$ORIGIN\n'), ['z.zone:1: ZONE_ERR_DIRECTIVE $ORIGIN: missing argument']);
    assert.deepEqual(errorsOf('$ORIGIN a. b.\n'), ["z.zone:1: ZONE_ERR_DIRECTIVE $ORIGIN: extra text 'b.'"]);
  });

  test('$TTL with units; errors', () => {
    assert.deepEqual(parse('$TTL 1h30m\na A 192.0.2.1\n'), ['a.example. 5400 1 192.0.2.1']);
    assert.deepEqual(errorsOf('$TTL\n'), ['z.zone:1: ZONE_ERR_DIRECTIVE $TTL: missing argument']);
    assert.deepEqual(errorsOf('$TTL 1x\n'), ["z.zone:1: ZONE_ERR_TTL $TTL: '1x' is not a TTL"]);
  });

  test('unknown directives are errors', () => {
    assert.deepEqual(errorsOf('$BOGUS x\n'), ["z.zone:1: ZONE_ERR_DIRECTIVE unknown directive '$BOGUS'"]);
  });

  test('$GENERATE with ttl, class, modifiers and a quoted multi-field rhs', () => {
    const out = parse(
      '$TTL 60\n$GENERATE 1-3 host$ A 192.0.2.$\n$GENERATE 10-12/2 ${0,3,d}x 300 IN CNAME ${-1,4,x}.y\n$GENERATE 0-1 t$ TXT "a$ b"\n',
    );
    assert.deepEqual(out, [
      'host1.example. 60 1 192.0.2.1',
      'host2.example. 60 1 192.0.2.2',
      'host3.example. 60 1 192.0.2.3',
      '010x.example. 300 5 0009.y.example.',
      '012x.example. 300 5 000b.y.example.',
      't0.example. 60 16 "a0" "b"',
      't1.example. 60 16 "a1" "b"',
    ]);
  });

  test('$GENERATE errors (BIND bad-generate-*)', () => {
    assert.deepEqual(errorsOf('$TTL 1\n$GENERATE 9--10 host$ A 192.0.2.$\n'), [
      "z.zone:2: ZONE_ERR_GENERATE $GENERATE: invalid range '9--10'",
    ]);
    assert.deepEqual(errorsOf('$TTL 1\n$GENERATE 0-7 host$ A 1.2.3.${1000\n'), [
      "z.zone:2: ZONE_ERR_GENERATE $GENERATE: missing '}' in '1.2.3.${1000'",
    ]);
    assert.deepEqual(errorsOf('$TTL 1\n$GENERATE 0-7 tkey$ TKEY "x"\n'), [
      'z.zone:2: ZONE_ERR_TYPE $GENERATE: meta type TKEY cannot be in a zone file',
    ]);
    assert.deepEqual(errorsOf('$TTL 1\n$GENERATE 1-1 host$ TXT foo${2147483647}\n'), [
      'z.zone:2: ZONE_ERR_GENERATE $GENERATE: 1+2147483647 is out of range',
    ]);
    assert.equal(errorsOf('$TTL 1\n$GENERATE 0-70000 h$ A 192.0.2.1\n').length, 1);
    assert.equal(errorsOf('$TTL 1\n$GENERATE 0-3 h$ A\n').length, 1);
  });
});

describe('$INCLUDE', () => {
  const root = mkdtempSync(join(tmpdir(), 'zone-include-'));
  const zdir = join(root, 'zones');
  mkdirSync(join(zdir, 'sub'), { recursive: true });
  writeFileSync(join(root, 'outside.db'), 'evil A 192.0.2.66\n');
  writeFileSync(join(zdir, 'sub', 'hosts.db'), '$ORIGIN inner\n$TTL 5\nh A 192.0.2.7\n');
  writeFileSync(join(zdir, 'sub', 'bad.db'), 'x A nope\n');
  writeFileSync(join(zdir, 'sub', 'loop.db'), '$INCLUDE loop.db\n');
  writeFileSync(join(zdir, 'blank.db'), '  A 192.0.2.8\n');
  symlinkSync(join(root, 'outside.db'), join(zdir, 'link.db'));
  after(() => rmSync(root, { recursive: true, force: true }));

  const run = (text: string) => {
    const file = join(zdir, 'main.zone');
    writeFileSync(file, text);
    return parseZone(text, { origin: 'example.', file });
  };

  test('path relative to the zone file; origin argument; $ORIGIN/$TTL do not leak back', () => {
    const p = run('$TTL 1\n$INCLUDE sub/hosts.db other.test.\nafter A 192.0.2.9\n$INCLUDE "sub/hosts.db"\n');
    assert.deepEqual(p.errors, []);
    assert.deepEqual(p.records.map(show), [
      'h.inner.other.test. 5 1 192.0.2.7',
      'after.example. 1 1 192.0.2.9',
      'h.inner.example. 5 1 192.0.2.7',
    ]);
    assert.deepEqual(p.lines, [3, 3, 3]);
    assert.equal(p.files[p.fileIndex[0]].endsWith(join('sub', 'hosts.db')), true);
  });

  test('an included file can inherit the owner, with a warning', () => {
    const p = run('$TTL 1\nhost A 192.0.2.1\n$INCLUDE blank.db\n');
    assert.deepEqual(p.errors, []);
    assert.equal(p.records[1].name.toString(), 'host.example.');
    assert.match(p.warnings[0].message, /inherits the owner/);
  });

  test("with a sink, each record's line and file index as without one (top-level records write no file index)", () => {
    // Included records between top-level ones, before and after the columns grow past 1,024.
    const top = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => `t${from + i} A 192.0.2.${(from + i) & 255}\n`).join('');
    const text = `$TTL 1\n${top(0, 3)}$INCLUDE sub/hosts.db\n${top(3, 1500)}$INCLUDE sub/hosts.db x.example.\n${top(1503, 2)}`;
    const file = join(zdir, 'main.zone');
    writeFileSync(file, text);
    const want = parseZone(text, { origin: 'example.', file });
    let count = 0;
    const got = parseZone(text, { origin: 'example.', file, transientRecords: true, sink: () => count++ });
    assert.deepEqual(got.errors, []);
    assert.equal(count, 1507);
    assert.deepEqual([...(got.recordLines?.lines ?? [])], want.lines);
    assert.deepEqual([...(got.recordLines?.fileIndex ?? [])], want.fileIndex);
    assert.deepEqual(
      want.fileIndex.flatMap((f, i) => (f !== 0 ? [i] : [])),
      [3, 1504],
    );
  });

  test('errors inside the included file name that file and line', () => {
    const p = run('$TTL 1\n$INCLUDE sub/bad.db\n');
    assert.equal(p.errors.length, 1);
    assert.ok(p.errors[0].file.endsWith(join('sub', 'bad.db')));
    assert.equal(p.errors[0].line, 1);
  });

  test('confinement: .., absolute paths outside and symlinks out are refused', () => {
    for (const arg of ['../outside.db', join(root, 'outside.db'), 'link.db']) {
      const p = run(`$TTL 1\n$INCLUDE ${arg}\n`);
      assert.equal(p.errors.length, 1, arg);
      assert.equal(p.errors[0].code, 'ZONE_ERR_INCLUDE');
      assert.match(p.errors[0].message, /outside the zone file's folder/);
      assert.equal(p.records.length, 0);
    }
  });

  test('missing files, directories and recursion are errors', () => {
    assert.match(run('$INCLUDE nope.db\n').errors[0].message, /file not found/);
    assert.match(run('$INCLUDE sub\n').errors[0].message, /not a file/);
    assert.match(run('$INCLUDE sub/loop.db\n').errors[0].message, /nested deeper than/);
    assert.match(run('$INCLUDE\n').errors[0].message, /missing file name/);
  });

  test('text without a file cannot include', () => {
    const p = parseZone('$INCLUDE x\n', { origin: 'example.' });
    assert.equal(p.errors[0].code, 'ZONE_ERR_INCLUDE');
  });
});

describe('zone origin', () => {
  test('the origin in effect at the first record is the zone origin', () => {
    const p = parseZone(`$ORIGIN example.net.\n$TTL 1\n${SOA}\n`, {});
    assert.equal(p.origin?.toString(), 'example.net.');
    const q = parseZone(`$TTL 1\n${SOA}\n`, { fallbackOrigin: Name.parse('from.file.') });
    assert.equal(q.origin?.toString(), 'from.file.');
    assert.equal(q.records[0].type, RRType.SOA);
  });
});

describe('record budget (maxRecords)', () => {
  const head = '$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n';

  test('$GENERATE lines over the budget are refused before anything is parsed, naming the line and the limit', () => {
    const bomb = `${head}${'$GENERATE 0-65535 h$ A 10.0.0.1\n'.repeat(50)}`;
    const z = parseZone(bomb, { origin: 'big.test', maxRecords: 1000, maxRecordsName: 'the quota' });
    assert.equal(z.errors.length, 1);
    assert.equal(z.errors[0].code, 'ZONE_ERR_LIMIT');
    assert.equal(z.errors[0].line, 4);
    assert.match(
      z.errors[0].message,
      /\$GENERATE 0-65535: the \$GENERATE lines up to here make 65536 records/,
    );
    assert.match(z.errors[0].message, /over the limit of 1000 records \(the quota\)/);
    assert.equal(z.records.length, 0);
    // The line where the sum crosses the budget.
    const later = parseZone(bomb, { origin: 'big.test', maxRecords: 200_000 });
    assert.equal(later.errors[0].line, 7);
    assert.match(later.errors[0].message, /make 262144 records/);
  });

  test('a $GENERATE that goes over with the records before it stops before it expands', () => {
    const plain = Array.from({ length: 100 }, (_, i) => `p${i} A 10.0.1.${i}\n`).join('');
    const text = `${head}${plain}$GENERATE 0-999 h$ A 10.0.0.1\n`;
    const z = parseZone(text, { origin: 'big.test', maxRecords: 1050, maxRecordsName: 'the quota' });
    assert.equal(z.errors.length, 1);
    assert.equal(z.errors[0].code, 'ZONE_ERR_LIMIT');
    assert.equal(z.errors[0].line, 104);
    assert.match(
      z.errors[0].message,
      /\$GENERATE 0-999 would make 1000 records \(102 before it\): over the limit of 1050 records \(the quota\)/,
    );
    assert.equal(z.records.length, 102);
  });

  test('plain records count too; exactly the budget passes', () => {
    const text = `${head}${Array.from({ length: 8 }, (_, i) => `h${i} A 10.0.0.${i}\n`).join('')}`;
    assert.equal(parseZone(text, { origin: 'big.test', maxRecords: 10 }).errors.length, 0);
    const z = parseZone(text, { origin: 'big.test', maxRecords: 9 });
    assert.equal(z.errors.length, 1);
    assert.equal(z.errors[0].code, 'ZONE_ERR_LIMIT');
    assert.equal(z.errors[0].line, 11);
    assert.match(
      z.errors[0].message,
      /record 10 of the text: over the limit of 9 records \(the record limit\)/,
    );
    assert.equal(z.records.length, 9);
  });

  test('a $GENERATE within the budget expands; without a budget nothing is limited', () => {
    const text = `${head}$GENERATE 1-100 h$ A 10.0.0.$\n`;
    assert.equal(parseZone(text, { origin: 'big.test', maxRecords: 102 }).records.length, 102);
    assert.equal(parseZone(text, { origin: 'big.test', maxRecords: 101 }).errors[0].code, 'ZONE_ERR_LIMIT');
    const many = `${head}${'$GENERATE 0-65535 h$ A 10.0.0.1\n'.repeat(3)}`;
    assert.equal(parseZone(many, { origin: 'big.test' }).records.length, 2 + 3 * 65536);
  });
});
