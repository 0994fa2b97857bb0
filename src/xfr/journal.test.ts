/**
 * The IXFR journal: entries from RRset texts then and now, the condensed difference (records
 * added then removed cancel; a TTL change is a removal and an addition), the chain from a
 * serial to another, the bounds (versions, bytes per zone, bytes in total) and the resets (a
 * broken chain, a serial that does not go forward in RFC 1982 terms, a change too big); then
 * the transfer service answering IXFR from it (the difference, or the whole zone when the
 * journal cannot say).
 * @module
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Catalog } from '../answer/catalog.js';
import type { ResponseStream, TransportContext } from '../transport/handler.js';
import { RRType } from '../wire/constants.js';
import { decodeMessage } from '../wire/decode.js';
import { encodeMessage } from '../wire/encode.js';
import type { RR } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { rdataToText } from '../wire/rdata.js';
import { loadZoneText } from '../zone/load.js';
import { parseZoneText } from '../zone/parser.js';
import { TransferAcl } from './acl.js';
import {
  BoundedJournal,
  condense,
  entryFromWire,
  type JournalEntry,
  journalEntryFromChanges,
  serialBehind,
} from './journal.js';
import { TransferService } from './service.js';

const origin = Name.parse('j.test.');
const parse = (text: string, o: Name): RR[] => parseZoneText(text, { origin: o });
const soa = (serial: number) => `j.test.\t60\tIN\tSOA\tns.j.test. h.j.test. ${serial} 60 60 600 60\n`;

/** An entry from serial `from` to `to` changing `sets` (type, then, now). */
function entry(from: number, to: number, sets: [number, string, string][]): JournalEntry {
  const wire = journalEntryFromChanges(
    origin,
    from,
    to,
    [
      { type: RRType.SOA, was: soa(from), text: soa(to) },
      ...sets.map(([type, was, text]) => ({ type, was, text })),
    ],
    parse,
  );
  assert.ok(wire, 'journaled');
  return entryFromWire(wire);
}

const TYPES: Record<number, string> = { 1: 'A', 2: 'NS', 6: 'SOA', 16: 'TXT' };
const text = (rrs: RR[]) => rrs.map((r) => `${r.name} ${r.ttl} ${rdataToText(r.type, r.rdata)}`).sort();

describe('IXFR journal', () => {
  test('an entry: the records removed and added, SOAs apart; a TTL change removes and adds', () => {
    const e = entry(1, 2, [
      [
        RRType.A,
        'www.j.test.\t60\tIN\tA\t192.0.2.1\nwww.j.test.\t60\tIN\tA\t192.0.2.2\n',
        'www.j.test.\t60\tIN\tA\t192.0.2.2\nwww.j.test.\t60\tIN\tA\t192.0.2.3\n',
      ],
      [RRType.TXT, 'x.j.test.\t60\tIN\tTXT\t"a"\n', 'x.j.test.\t120\tIN\tTXT\t"a"\n'],
    ]);
    assert.deepEqual(text(e.del), ['www.j.test. 60 192.0.2.1', 'x.j.test. 60 "a"']);
    assert.deepEqual(text(e.add), ['www.j.test. 60 192.0.2.3', 'x.j.test. 120 "a"']);
    assert.equal(e.from, 1);
    assert.equal(e.to, 2);
  });

  test('no entry: SOAs that do not carry the serials, no `was`, too much text, text that does not parse', () => {
    const changes = [{ type: RRType.SOA, was: soa(1), text: soa(3) }];
    assert.equal(journalEntryFromChanges(origin, 1, 2, changes, parse), undefined);
    assert.equal(
      journalEntryFromChanges(origin, 1, 3, [{ type: RRType.SOA, text: soa(3) }], parse),
      undefined,
    );
    assert.equal(journalEntryFromChanges(origin, 1, 3, changes, parse, 10), undefined);
    const bad = [...changes, { type: RRType.A, was: '', text: 'www.j.test. 60 IN A not-an-address\n' }];
    assert.equal(journalEntryFromChanges(origin, 1, 3, bad, parse), undefined);
    assert.ok(journalEntryFromChanges(origin, 1, 3, changes, parse));
  });

  test('condensed: a record added then removed is in neither list; removed then added back, neither', () => {
    const a = (ip: string) => `www.j.test.\t60\tIN\tA\t${ip}\n`;
    const e1 = entry(1, 2, [[RRType.A, a('192.0.2.1'), a('192.0.2.1') + a('192.0.2.9')]]);
    const e2 = entry(2, 3, [[RRType.A, a('192.0.2.1') + a('192.0.2.9'), a('192.0.2.2')]]);
    const e3 = entry(3, 4, [[RRType.A, a('192.0.2.2'), a('192.0.2.2') + a('192.0.2.1')]]);
    const d = condense([e1, e2, e3]);
    assert.deepEqual(text(d.del), []);
    assert.deepEqual(text(d.add), ['www.j.test. 60 192.0.2.2']);
    assert.match(rdataToText(RRType.SOA, d.fromSoa.rdata), / 1 60 /);
    assert.match(rdataToText(RRType.SOA, d.toSoa.rdata), / 4 60 /);
  });

  test('chains, bounds and resets', () => {
    const j = new BoundedJournal<JournalEntry>({
      maxVersions: 3,
      maxZoneBytes: 10_000,
      maxTotalBytes: 1_000_000,
    });
    for (let s = 1; s <= 5; s++) assert.ok(j.append('z', entry(s, s + 1, [])));
    // Three versions kept: 3→4, 4→5, 5→6.
    assert.equal(j.chain('z', 2, 6), undefined);
    assert.equal(j.chain('z', 3, 6)?.length, 3);
    assert.equal(j.chain('z', 4, 5)?.length, 1);
    assert.equal(j.chain('z', 4, 7), undefined);
    // A broken chain starts over.
    assert.ok(j.append('z', entry(10, 11, [])));
    assert.equal(j.chain('z', 5, 6), undefined);
    assert.equal(j.chain('z', 10, 11)?.length, 1);
    // A serial that does not go forward (RFC 1982) resets the zone: a full transfer next.
    assert.equal(j.append('z', entry(11, 11 - 5, [])), false);
    assert.equal(j.chain('z', 10, 11), undefined);
    assert.equal(j.size, 0);
    // Wrapping forward is forward.
    assert.ok(j.append('w', entry(0xffffffff, 3, [])));
    assert.equal(j.chain('w', 0xffffffff, 3)?.length, 1);
  });

  test('bytes: per zone the oldest go, in total the zones changed least recently go', () => {
    const big = (s: number) =>
      entry(s, s + 1, [[RRType.TXT, '', `t.j.test.\t60\tIN\tTXT\t"${'x'.repeat(200)}${s}"\n`]]);
    const one = big(1).bytes;
    const j = new BoundedJournal<JournalEntry>({ maxZoneBytes: one * 2, maxTotalBytes: one * 4.5 });
    for (let s = 1; s <= 4; s++) j.append('a', big(s));
    assert.ok(j.bytes <= one * 2);
    assert.equal(j.chain('a', 3, 5)?.length, 2);
    assert.equal(j.chain('a', 2, 5), undefined);
    j.append('b', big(1));
    j.append('b', big(2));
    j.append('c', big(1)); // over the total: 'a' (changed least recently) goes
    assert.ok(j.bytes <= one * 4.5);
    assert.equal(j.chain('a', 3, 5), undefined);
    assert.equal(j.chain('b', 1, 3)?.length, 2);
    assert.equal(j.chain('c', 1, 2)?.length, 1);
    // An entry bigger than a zone's bound is not kept: the zone starts over.
    assert.equal(new BoundedJournal<JournalEntry>({ maxZoneBytes: one - 1 }).append('a', big(1)), false);
  });

  test('serialBehind follows RFC 1982', () => {
    assert.equal(serialBehind(1, 2), true);
    assert.equal(serialBehind(2, 1), false);
    assert.equal(serialBehind(5, 5), false);
    assert.equal(serialBehind(0xffffffff, 0), true);
    assert.equal(serialBehind(0, 0x80000000), false); // undefined in RFC 1982: not behind
  });
});

describe('IXFR answered from the journal', () => {
  const zone = loadZoneText(
    [
      '$ORIGIN j.test.',
      '$TTL 60',
      '@ SOA ns h 3 60 60 600 60',
      '@ NS ns',
      'ns A 127.0.0.1',
      'www A 192.0.2.2',
      '',
    ].join('\n'),
  ).zone;
  const tcp: TransportContext = { transport: 'tcp', address: '127.0.0.2', port: 1 };
  const journal = new BoundedJournal<JournalEntry>();
  const a = (ip: string) => `www.j.test.\t60\tIN\tA\t${ip}\n`;
  journal.append(origin.key, entry(1, 2, [[RRType.A, a('192.0.2.1'), a('192.0.2.2')]]));
  journal.append(origin.key, entry(2, 3, [[RRType.TXT, 'x.j.test.\t60\tIN\tTXT\t"x"\n', '']]));
  const service = new TransferService({
    acl: new TransferAcl([], ['127.0.0.0/8']),
    catalog: () => new Catalog([zone]),
    journal,
  });

  function ixfr(serial: number): string[] {
    const q = encodeMessage({
      id: 7,
      flags: 0,
      questions: [{ name: origin, type: RRType.IXFR, class: 1 }],
      answers: [],
      authority: [
        { name: origin, type: RRType.SOA, class: 1, ttl: 0, rdata: parse(soa(serial), origin)[0].rdata },
      ],
      additional: [],
    });
    const s = service.streams(q, tcp) as ResponseStream;
    const out: string[] = [];
    for (let m = s.next(); m !== null && m !== undefined; m = s.next())
      for (const rr of decodeMessage(m).answers)
        out.push(`${rr.name} ${TYPES[rr.type] ?? rr.type} ${rdataToText(rr.type, rr.rdata)}`);
    s.close();
    return out;
  }

  test('from serial 1: the condensed difference; from 2: one version; unknown serial: the zone', () => {
    const soaOf = (n: number) => `j.test. SOA ns.j.test. h.j.test. ${n} 60 60 600 60`;
    assert.deepEqual(ixfr(1), [
      soaOf(3),
      soaOf(1),
      'www.j.test. A 192.0.2.1',
      'x.j.test. TXT "x"',
      soaOf(3),
      'www.j.test. A 192.0.2.2',
      soaOf(3),
    ]);
    assert.deepEqual(ixfr(2), [soaOf(3), soaOf(2), 'x.j.test. TXT "x"', soaOf(3), soaOf(3)]);
    const full = ixfr(0);
    assert.equal(full.length, 5); // SOA, NS, ns A, www A, SOA
    assert.equal(service.stats.ixfr, 2);
    assert.equal(service.stats.ixfrFull, 1);
  });
});
