import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RR } from '../wire/message.js';
import { compareCanonical, Name } from '../wire/name.js';
import { parseZoneText } from './parser.js';
import { canonicalSortKey, compareRdata, printRecords, printZone, sortRecords } from './printer.js';
import { Zone } from './zone.js';

const ZONE = `$ORIGIN example.
$TTL 3600
b        A     192.0.2.2
@        SOA   ns1 hostmaster 2026112201 7200 1800 1209600 300
@        NS    ns1
@        MX    20 mx2
@        MX    10 mx1
ns1      A     192.0.2.53
Z        A     192.0.2.90
a        TXT   "second" "string"
a        A     192.0.2.1
*.w      A     192.0.2.80
yljkjljk.a A   192.0.2.3
\\001.z  A     192.0.2.4
sub      NS    ns.sub
ns.sub   A     192.0.2.99
`;

const canonicalOrder = [
  'example.',
  'a.example.',
  'yljkjljk.a.example.',
  'Z.a.example.',
  'zABC.a.EXAMPLE.',
  'z.example.',
  '\\001.z.example.',
  '*.z.example.',
  '\\200.z.example.',
];

describe('canonical order (RFC 4034 §6.1)', () => {
  test('canonicalSortKey orders names as compareCanonical does (the RFC example)', () => {
    const names = canonicalOrder.map((t) => Name.parse(t));
    const shuffled = [...names].reverse();
    const byKey = [...shuffled].sort((x, y) => (canonicalSortKey(x) < canonicalSortKey(y) ? -1 : 1));
    const byCmp = [...shuffled].sort(compareCanonical);
    assert.deepEqual(
      byKey.map((n) => n.toString()),
      byCmp.map((n) => n.toString()),
    );
    assert.deepEqual(
      byKey.map((n) => n.key),
      names.map((n) => n.key),
    );
  });

  test('a label that prefixes another sorts first; octet 0 sorts before any other', () => {
    const k = (t: string) => canonicalSortKey(Name.parse(t));
    assert.ok(k('ab.') < k('abc.'));
    assert.ok(k('a.b.') < k('\\000.a.b.'));
    assert.ok(k('\\000.a.b.') < k('\\001.a.b.'));
    assert.ok(k('b.') < k('a.b.'));
  });

  test('compareRdata compares octets left to right, shorter first', () => {
    assert.ok(compareRdata(Uint8Array.of(1, 2), Uint8Array.of(1, 3)) < 0);
    assert.ok(compareRdata(Uint8Array.of(1), Uint8Array.of(1, 0)) < 0);
    assert.equal(compareRdata(Uint8Array.of(9), Uint8Array.of(9)), 0);
  });
});

describe('printer', () => {
  const records = parseZoneText(ZONE, { origin: 'example.' });
  const origin = Name.parse('example.');

  test('SOA first, then canonical order by name, type and RDATA; absolute names', () => {
    const text = printRecords(records, origin);
    assert.equal(
      text,
      [
        'example.\t3600\tIN\tSOA\tns1.example. hostmaster.example. 2026112201 7200 1800 1209600 300',
        'example.\t3600\tIN\tNS\tns1.example.',
        'example.\t3600\tIN\tMX\t10 mx1.example.',
        'example.\t3600\tIN\tMX\t20 mx2.example.',
        'a.example.\t3600\tIN\tA\t192.0.2.1',
        'a.example.\t3600\tIN\tTXT\t"second" "string"',
        'yljkjljk.a.example.\t3600\tIN\tA\t192.0.2.3',
        'b.example.\t3600\tIN\tA\t192.0.2.2',
        'ns1.example.\t3600\tIN\tA\t192.0.2.53',
        'sub.example.\t3600\tIN\tNS\tns.sub.example.',
        'ns.sub.example.\t3600\tIN\tA\t192.0.2.99',
        '*.w.example.\t3600\tIN\tA\t192.0.2.80',
        'Z.example.\t3600\tIN\tA\t192.0.2.90',
        '\\001.z.example.\t3600\tIN\tA\t192.0.2.4',
        '',
      ].join('\n'),
    );
  });

  test('printZone prints the same text as printRecords for the same data', () => {
    const zone = Zone.build(origin, records);
    assert.equal(printZone(zone), printRecords(records, origin));
  });

  test('round trip: parse → print → parse gives the same records', () => {
    const key = (rrs: RR[]) =>
      sortRecords(rrs).map(
        (r) => `${r.name.key}|${r.ttl}|${r.class}|${r.type}|${Buffer.from(r.rdata).toString('hex')}`,
      );
    const printed = printRecords(records, origin);
    const again = parseZoneText(printed, { origin: '.' });
    assert.deepEqual(key(again), key(records));
    // And printing is stable.
    assert.equal(printRecords(again, origin), printed);
  });

  test('an empty list prints nothing', () => {
    assert.equal(printRecords([]), '');
  });
});
