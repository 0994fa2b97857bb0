import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WireFormatError } from './errors.js';
import { compareCanonical, foldCase, Name } from './name.js';

const origin = Name.parse('example.com.');

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof WireFormatError && e.code === code);
}

describe('Name.parse / toString', () => {
  test('absolute names keep their case and print with a final dot', () => {
    const n = Name.parse('WWW.Example.COM.');
    assert.equal(n.wire, '\x03WWW\x07Example\x03COM\x00');
    assert.equal(n.key, '\x03www\x07example\x03com\x00');
    assert.equal(n.toString(), 'WWW.Example.COM.');
    assert.equal(n.length, 17);
    assert.equal(n.labelCount, 3);
  });

  test('root', () => {
    assert.equal(Name.parse('.'), Name.ROOT);
    assert.equal(Name.ROOT.toString(), '.');
    assert.equal(Name.ROOT.isRoot, true);
    assert.equal(Name.ROOT.labelCount, 0);
    assert.equal(Name.ROOT.parent(), Name.ROOT);
  });

  test('relative names and @ use the origin', () => {
    assert.equal(Name.parse('www', origin).toString(), 'www.example.com.');
    assert.equal(Name.parse('a.b', origin).toString(), 'a.b.example.com.');
    assert.equal(Name.parse('@', origin), origin);
    assert.equal(Name.parse('www', Name.ROOT).toString(), 'www.');
    throwsCode(() => Name.parse('www'), 'DNS_ERR_TEXT');
    throwsCode(() => Name.parse('@'), 'DNS_ERR_TEXT');
  });

  test('escapes: \\. and \\DDD are label octets, not separators', () => {
    const n = Name.parse('a\\.b.c\\032d.\\255\\000.');
    assert.deepEqual(n.labels(), ['a.b', 'c d', '\xff\x00']);
    assert.equal(n.toString(), 'a\\.b.c\\032d.\\255\\000.');
    assert.equal(Name.parse('\\@\\$\\;\\(\\)\\"\\\\.').toString(), '\\@\\$\\;\\(\\)\\"\\\\.');
    assert.deepEqual(Name.parse('\\a.').labels(), ['a']);
  });

  test('printing escapes special and non-printable octets and parses back', () => {
    const n = Name.fromLabels(['\x00\x1f \x7f\x80.\\', 'ok']);
    const text = n.toString();
    assert.equal(text, '\\000\\031\\032\\127\\128\\.\\\\.ok.');
    assert.equal(Name.parse(text).wire, n.wire);
  });

  test('malformed text', () => {
    throwsCode(() => Name.parse(''), 'DNS_ERR_TEXT');
    throwsCode(() => Name.parse('a..b.'), 'DNS_ERR_TEXT');
    throwsCode(() => Name.parse('.a.'), 'DNS_ERR_TEXT');
    throwsCode(() => Name.parse('a\\'), 'DNS_ERR_TEXT');
    throwsCode(() => Name.parse('a\\25.'), 'DNS_ERR_TEXT');
    throwsCode(() => Name.parse('a\\256.'), 'DNS_ERR_TEXT');
    throwsCode(() => Name.parse('caf\u20ac.'), 'DNS_ERR_TEXT');
    throwsCode(() => Name.parse('caf\\\u20ac.'), 'DNS_ERR_TEXT');
  });

  test('limits: 63-octet labels, 255-octet names', () => {
    const l63 = 'a'.repeat(63);
    assert.equal(Name.parse(`${l63}.`).length, 65);
    throwsCode(() => Name.parse(`${'a'.repeat(64)}.`), 'DNS_ERR_NAME');
    // 4 labels of 63 + 1 label of 1: 4*64 + 2 + 1 = 259 > 255; 3*64 + 62 + 1 = 255 fits.
    const max = Name.parse(`${l63}.${l63}.${l63}.${'b'.repeat(61)}.`);
    assert.equal(max.length, 255);
    throwsCode(() => Name.parse(`${l63}.${l63}.${l63}.${'b'.repeat(62)}.`), 'DNS_ERR_NAME');
    throwsCode(() => max.prepend('x'), 'DNS_ERR_NAME');
    throwsCode(() => Name.parse(`x.${l63}.${l63}.${l63}`, Name.parse(`${'b'.repeat(60)}.`)), 'DNS_ERR_NAME');
    throwsCode(() => Name.fromLabels(['']), 'DNS_ERR_NAME');
  });

  test('relative printing', () => {
    assert.equal(Name.parse('www.example.com.').toRelativeString(origin), 'www');
    assert.equal(Name.parse('EXAMPLE.com.').toRelativeString(origin), '@');
    assert.equal(Name.parse('a\\.b.example.com.').toRelativeString(origin), 'a\\.b');
    assert.equal(Name.parse('www.example.net.').toRelativeString(origin), 'www.example.net.');
    assert.equal(Name.parse('xexample.com.').toRelativeString(origin), 'xexample.com.');
  });
});

describe('Name operations', () => {
  test('isSubdomainOf works on label boundaries, case-insensitively', () => {
    const n = Name.parse('www.Example.COM.');
    assert.equal(n.isSubdomainOf(origin), true);
    assert.equal(n.isSubdomainOf(n), true);
    assert.equal(n.isSubdomainOf(Name.ROOT), true);
    assert.equal(origin.isSubdomainOf(n), false);
    assert.equal(Name.parse('xexample.com.').isSubdomainOf(origin), false);
    assert.equal(Name.parse('example.com.example.net.').isSubdomainOf(origin), false);
    // A label whose octets look like a suffix must not match across a boundary.
    assert.equal(Name.fromLabels(['a\x07example\x03com']).isSubdomainOf(origin), false);
  });

  test('parent, suffix, firstLabel, prepend, wildcard', () => {
    const n = Name.parse('a.b.example.com.');
    assert.equal(n.parent().toString(), 'b.example.com.');
    assert.equal(n.suffix(2).toString(), 'example.com.');
    assert.equal(n.suffix(0), Name.ROOT);
    assert.equal(n.suffix(9), n);
    assert.equal(n.firstLabel(), 'a');
    assert.equal(origin.prepend('www').toString(), 'www.example.com.');
    const w = origin.wildcard();
    assert.equal(w.toString(), '*.example.com.');
    assert.equal(w.isWildcard, true);
    assert.equal(origin.isWildcard, false);
    assert.equal(Name.parse('\\042.example.com.').isWildcard, true);
  });

  test('wildcard of a 254/255-octet name is refused', () => {
    const l63 = 'a'.repeat(63);
    const n = Name.parse(`${l63}.${l63}.${l63}.${'b'.repeat(60)}.`);
    assert.equal(n.length, 254);
    throwsCode(() => n.wildcard(), 'DNS_ERR_NAME');
    assert.equal(n.parent().wildcard().length, 254 - 64 + 2);
  });

  test('replaceSuffix substitutes the suffix and enforces 255 octets (RFC 6672)', () => {
    const n = Name.parse('a.B.example.com.');
    assert.equal(n.replaceSuffix(origin, Name.parse('Example.NET.')).toString(), 'a.B.Example.NET.');
    assert.equal(n.replaceSuffix(origin, Name.ROOT).toString(), 'a.B.');
    assert.equal(origin.replaceSuffix(origin, Name.parse('x.')).toString(), 'x.');
    const long = Name.parse(`${'c'.repeat(63)}.${'c'.repeat(63)}.${'c'.repeat(63)}.`);
    throwsCode(
      () => Name.parse(`${'d'.repeat(63)}.example.com.`).replaceSuffix(origin, long),
      'DNS_ERR_NAME',
    );
  });

  test('equals and toLowerCase fold only A-Z (RFC 4343)', () => {
    assert.equal(Name.parse('WWW.EXAMPLE.COM.').equals(Name.parse('www.example.com.')), true);
    // 0xC1 and 0xE1 are distinct octets: Latin-1 "case" is not DNS case.
    assert.equal(Name.parse('\\193.').equals(Name.parse('\\225.')), false);
    // '@' (0x40) and '[' (0x5b) border A-Z and must not fold to '`' / '{'.
    assert.equal(foldCase('@AZ[`az{'), '@az[`az{');
    assert.equal(foldCase('\xc0\xde'), '\xc0\xde');
    // Upper case next to Latin-1 letters, before and after: only the ASCII letters fold.
    assert.equal(foldCase('\xc0A\xc1b'), '\xc0a\xc1b');
    assert.equal(foldCase('A\xdeB'), 'a\xdeb');
    assert.equal(foldCase('\x03WWW\x00'), '\x03www\x00');
    const lower = Name.parse('Www.Example.').toLowerCase();
    assert.equal(lower.wire, '\x03www\x07example\x00');
    assert.equal(lower.toLowerCase(), lower);
  });

  test('writeTo and toBytes give the uncompressed wire form', () => {
    assert.deepEqual([...Name.parse('a.bc.').toBytes()], [1, 0x61, 2, 0x62, 0x63, 0]);
    const buf = new Uint8Array(8);
    assert.equal(Name.parse('a.').writeTo(buf, 2), 5);
    assert.deepEqual([...buf], [0, 0, 1, 0x61, 0, 0, 0, 0]);
  });
});

describe('compareCanonical', () => {
  test('RFC 4034 §6.1 example order', () => {
    const ordered = [
      'example.',
      'a.example.',
      'yljkjljk.a.example.',
      'Z.a.example.',
      'zABC.a.EXAMPLE.',
      'z.example.',
      '\\001.z.example.',
      '*.z.example.',
      '\\200.z.example.',
    ].map((t) => Name.parse(t));
    const shuffled = [...ordered].reverse();
    shuffled.push(shuffled.shift()!);
    shuffled.sort(compareCanonical);
    assert.deepEqual(
      shuffled.map((n) => n.toString()),
      ordered.map((n) => n.toString()),
    );
    for (let i = 0; i + 1 < ordered.length; i++) {
      assert.ok(compareCanonical(ordered[i], ordered[i + 1]) < 0);
      assert.ok(compareCanonical(ordered[i + 1], ordered[i]) > 0);
    }
  });

  test('equal names in different case compare equal; root sorts first', () => {
    assert.equal(compareCanonical(Name.parse('A.EXAMPLE.'), Name.parse('a.example.')), 0);
    assert.ok(compareCanonical(Name.ROOT, Name.parse('a.')) < 0);
    // A shorter label sorts before a longer one it prefixes ("absence of octet sorts first").
    assert.ok(compareCanonical(Name.parse('a.example.'), Name.parse('aa.example.')) < 0);
  });
});
