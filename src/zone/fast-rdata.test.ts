/**
 * The parser's fast RDATA path (parser.ts `fastRdata`) makes exactly what `rdataFromText`
 * makes, or leaves the record to it: edge cases of every form it takes, and seeded random
 * tokens close to them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom } from '../../test/helpers/prng.js';
import { RRType } from '../wire/constants.js';
import { Name } from '../wire/name.js';
import { rdataFromText } from '../wire/rdata.js';
import type { ZoneToken } from './lexer.js';
import { fastRdata } from './parser.js';
import { RdataSlab } from './rdata-slab.js';

const ORIGIN = Name.parse('Example.COM.');

function tokens(texts: string[], quoted = false): ZoneToken[] {
  return texts.map((text) => ({ text, quoted, line: 1 }));
}

/** Fails when the fast path answers and differs from rdataFromText (or answers what it refuses). */
function check(type: number, toks: ZoneToken[], origin: Name | undefined, taken: { n: number }): void {
  const fast = fastRdata(new RdataSlab(), type, toks, origin);
  if (fast === undefined) return;
  taken.n++;
  let slow: Uint8Array;
  try {
    slow = rdataFromText(type, toks, origin);
  } catch (e) {
    assert.fail(
      `type ${type} ${JSON.stringify(toks.map((t) => t.text))}: fast path took what rdataFromText refuses (${(e as Error).message})`,
    );
  }
  assert.deepEqual(
    Buffer.from(fast),
    Buffer.from(slow),
    `type ${type} ${JSON.stringify(toks.map((t) => t.text))}`,
  );
}

const IPV4 = [
  '0.0.0.0',
  '255.255.255.255',
  '1.2.3.4',
  '01.2.3.4',
  '1.2.3',
  '1.2.3.4.5',
  '256.1.1.1',
  '1..2.3',
  '1.2.3.',
  '.1.2.3',
  '1.2.3.4 ',
  '1.2.3.a',
  '100.200.10.0',
  '1.2.3.0400',
  '',
];
const IPV6 = [
  '::',
  '::1',
  '1::',
  '1::2',
  '2001:db8::1',
  '2001:DB8:0:0:8:800:200C:417A',
  '1:2:3:4:5:6:7:8',
  '1:2:3:4:5:6:7:8:9',
  '1:2:3:4:5:6:7',
  '1::2::3',
  ':1',
  '1:',
  ':::1',
  '1:::2',
  '12345::',
  '::ffff:1.2.3.4',
  '1:2:3:4:5:6:7::',
  '::2:3:4:5:6:7:8',
  '1::2:3:4:5:6:7:8',
  'g::1',
  ':',
  '0:0:0:0:0:0:0:0',
  'abcd:ef01::',
  ':::',
];
const NAMES = [
  '@',
  '.',
  'ns1',
  'ns1.',
  'NS1.Example.COM.',
  'a..b',
  '',
  'a.b.c',
  'x\\.y',
  '\\#',
  `${'a'.repeat(63)}.b`,
  `${'a'.repeat(64)}.b`,
  `${'abcdefghi.'.repeat(26)}`,
  '*.w',
  '-x',
  'a b',
];

test('fastRdata: edge cases of A, AAAA, NS/CNAME/PTR, MX and TXT match rdataFromText', () => {
  const taken = { n: 0 };
  for (const t of IPV4) check(RRType.A, tokens([t]), ORIGIN, taken);
  for (const t of IPV6) check(RRType.AAAA, tokens([t]), ORIGIN, taken);
  for (const type of [RRType.NS, RRType.CNAME, RRType.PTR])
    for (const t of NAMES) {
      check(type, tokens([t]), ORIGIN, taken);
      check(type, tokens([t], true), ORIGIN, taken);
      check(type, tokens([t]), undefined, taken);
      check(type, tokens([t, 'extra']), ORIGIN, taken);
    }
  for (const pref of ['0', '10', '65535', '65536', '010', '000010', '-1', 'x', ''])
    for (const t of NAMES) check(RRType.MX, tokens([pref, t]), ORIGIN, taken);
  check(RRType.MX, tokens(['10']), ORIGIN, taken);
  for (const txt of [
    [''],
    ['a'],
    ['a', 'b'],
    ['x'.repeat(255)],
    ['x'.repeat(256)],
    ['x'.repeat(600), 'y'],
    ['a\\"b'],
    ['\\065'],
    ['\\#', '1', '00'],
  ])
    for (const q of [true, false]) check(RRType.TXT, tokens(txt, q), ORIGIN, taken);
  check(RRType.TXT, [], ORIGIN, taken);
  const soaNumbers = ['0', '1', '4294967295', '4294967296', '0001', '1h', '1234567890123456', 'x', ''];
  for (const mname of ['ns1', 'ns1.other.', '@', 'a..b'])
    for (const num of soaNumbers) {
      check(RRType.SOA, tokens([mname, 'hostmaster', num, '7200', '1800', '1209600', '300']), ORIGIN, taken);
      check(RRType.SOA, tokens([mname, 'h.x.', '1', '2', '3', '4', num]), ORIGIN, taken);
    }
  check(RRType.SOA, tokens(['ns1', 'h', '1', '2', '3', '4']), ORIGIN, taken);
  check(RRType.SOA, tokens(['ns1', 'h', '1', '2', '3', '4', '5', '6']), ORIGIN, taken);
  check(RRType.A, tokens(['\\#', '4', '01020304']), ORIGIN, taken);
  assert.ok(taken.n > 60, `the fast path took only ${taken.n} cases`);
});

test('fastRdata: seeded random near-misses match rdataFromText', () => {
  const rnd = seededRandom(11);
  const alphabet = '0123456789abcdefABCDEF:.x@\\- ';
  const taken = { n: 0 };
  for (let i = 0; i < 20_000; i++) {
    let s = '';
    const len = Math.floor(rnd() * 20);
    for (let k = 0; k < len; k++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    const type = [RRType.A, RRType.AAAA, RRType.NS, RRType.MX, RRType.TXT][i % 5];
    check(
      type,
      type === RRType.MX ? tokens([String(Math.floor(rnd() * 70000)), s]) : tokens([s]),
      ORIGIN,
      taken,
    );
  }
  assert.ok(taken.n > 1000);
});
