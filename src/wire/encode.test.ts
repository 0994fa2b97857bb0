import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EdnsOption, RRType } from './constants.js';
import { decodeMessage } from './decode.js';
import { buildNsidOption, optLength } from './edns.js';
import { encodeMessage, MessageWriter, Section } from './encode.js';
import { WireFormatError } from './errors.js';
import type { Message, RR } from './message.js';
import { Name } from './name.js';

const n = (text: string) => Name.parse(text);
const A = (text: string, ...addr: number[]): RR => ({
  name: n(text),
  type: RRType.A,
  class: 1,
  ttl: 300,
  rdata: Uint8Array.from(addr),
});
function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
function ascii(s: string): string {
  return Buffer.from(s, 'latin1').toString('hex');
}
function soaRdata(mname: string, rname: string): Uint8Array {
  const tail = new Uint8Array(20);
  tail[3] = 1; // serial 1
  return Uint8Array.from([...n(mname).toBytes(), ...n(rname).toBytes(), ...tail]);
}
function mxRdata(pref: number, exchange: string): Uint8Array {
  return Uint8Array.from([pref >> 8, pref & 0xff, ...n(exchange).toBytes()]);
}
function misuse(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => e instanceof WireFormatError && e.code === 'DNS_ERR_FORMAT');
}
/** Every name of a decoded message in presentation form, section by section. */
function names(m: Message): string[] {
  return [
    ...m.questions.map((q) => q.name.toString()),
    ...[...m.answers, ...m.authority, ...m.additional].map((r) => r.name.toString()),
  ];
}

describe('MessageWriter compression', () => {
  test('www.example.com then mail.example.com: pointer to example.com', () => {
    const w = new MessageWriter();
    w.header(0xabcd, 0x8400);
    assert.equal(w.question({ name: n('www.example.com.'), type: RRType.A, class: 1 }), true);
    assert.equal(w.rr(Section.Answer, A('mail.example.com.', 192, 0, 2, 1)), true);
    const out = w.finish();
    const expected =
      'abcd8400000100010000000' +
      '0' +
      `03${ascii('www')}07${ascii('example')}03${ascii('com')}00` +
      '00010001' +
      // mail + pointer to offset 16 (example.com inside the question name)
      `04${ascii('mail')}c010` +
      '00010001' +
      '0000012c' +
      '0004c0000201';
    assert.equal(hex(out), expected);
    assert.equal(out.length, w.length);
  });

  test('an owner equal to the question name is a bare pointer to offset 12', () => {
    const w = new MessageWriter();
    w.question({ name: n('example.com.'), type: RRType.A, class: 1 });
    w.rr(Section.Answer, A('example.com.', 1, 2, 3, 4));
    assert.equal(hex(w.finish().subarray(29, 31)), 'c00c');
  });

  test('case-insensitive: the SOA owner in authority points into the question and takes its case', () => {
    const w = new MessageWriter();
    w.header(1, 0x8403);
    w.question({ name: n('NoSuch.EXAMPLE.com.'), type: RRType.A, class: 1 });
    const soa = soaRdata('ns1.example.com.', 'hostmaster.example.com.');
    assert.equal(
      w.rr(Section.Authority, { name: n('example.com.'), type: RRType.SOA, class: 1, ttl: 60, rdata: soa }),
      true,
    );
    const out = w.finish();
    // Question 12..35; the owner at 36 is a pointer to offset 19 (EXAMPLE.com in the question).
    assert.equal(hex(out.subarray(36, 38)), 'c013');
    const m = decodeMessage(out);
    assert.equal(m.authority[0].name.toString(), 'EXAMPLE.com.');
    // RDATA names are compressed against it too (SOA is an RFC 1035 type).
    assert.deepEqual(
      [...m.authority[0].rdata.subarray(0, 41)],
      [...n('ns1.EXAMPLE.com.').toBytes(), ...n('hostmaster.EXAMPLE.com.').toBytes()],
    );
    // Owner (2) + fixed (10) + RDATA: ns1 (3+1) + pointer (2) + hostmaster (10+1) + pointer (2) + 20.
    assert.equal(out.length, 36 + 2 + 10 + 6 + 13 + 20);
  });

  test('only A-Z fold: octets 0xC1 and 0xE1 are different labels', () => {
    const w = new MessageWriter();
    w.question({ name: Name.fromLabels(['\xc1', 'x']), type: RRType.A, class: 1 });
    w.rr(Section.Answer, { ...A('a.', 1, 2, 3, 4), name: Name.fromLabels(['\xe1', 'x']) });
    const out = w.finish();
    // Owner: label \xE1 then a pointer to "x." at offset 14, not a pointer to offset 12.
    assert.equal(hex(out.subarray(21, 25)), '01e1c00e');
    const m = decodeMessage(out);
    assert.equal(m.answers[0].name.wire, '\x01\xe1\x01x\x00');
  });

  test('NS, MX, CNAME and SOA RDATA names are compressed; RDATA names become targets for glue', () => {
    const w = new MessageWriter();
    w.question({ name: n('example.com.'), type: RRType.MX, class: 1 });
    w.rr(Section.Answer, {
      name: n('example.com.'),
      type: RRType.MX,
      class: 1,
      ttl: 1,
      rdata: mxRdata(10, 'mx.example.com.'),
    });
    w.rrset(Section.Authority, n('example.com.'), RRType.NS, 1, 1, [n('ns1.example.com.').toBytes()]);
    w.rr(Section.Additional, A('ns1.example.com.', 1, 2, 3, 4));
    w.rr(Section.Additional, A('mx.example.com.', 5, 6, 7, 8));
    const out = w.finish();
    // Question 12..28; MX RR at 29: owner c00c, fixed 10, RDATA = pref(2) "mx"(3) c00c.
    assert.equal(hex(out.subarray(29, 48)), `c00c000f0001000000010007000a02${ascii('mx')}c00c`);
    // NS RR at 48: owner c00c, RDLENGTH 6 at 58, RDATA "ns1" (at 60) + c00c.
    assert.equal(hex(out.subarray(58, 66)), `000603${ascii('ns1')}c00c`);
    // Glue owners point at the RDATA names: ns1 at 60 (0x3c), mx at 43 (0x2b).
    assert.equal(hex(out.subarray(66, 68)), 'c03c');
    assert.equal(hex(out.subarray(82, 84)), 'c02b');
    const m = decodeMessage(out);
    assert.deepEqual(names(m), [
      'example.com.',
      'example.com.',
      'example.com.',
      'ns1.example.com.',
      'mx.example.com.',
    ]);
  });

  test('SRV, DNAME and unknown-type RDATA are copied without compression (RFC 3597 §4, RFC 6672 §2.5)', () => {
    const target = n('www.example.com.').toBytes();
    const srv = Uint8Array.from([0, 1, 0, 2, 0, 80, ...target]);
    const w = new MessageWriter();
    w.question({ name: n('www.example.com.'), type: RRType.SRV, class: 1 });
    w.rr(Section.Answer, { name: n('www.example.com.'), type: RRType.SRV, class: 1, ttl: 1, rdata: srv });
    w.rr(Section.Answer, {
      name: n('www.example.com.'),
      type: RRType.DNAME,
      class: 1,
      ttl: 1,
      rdata: target,
    });
    w.rr(Section.Answer, { name: n('www.example.com.'), type: 65280, class: 1, ttl: 1, rdata: target });
    const out = w.finish();
    const m = decodeMessage(out);
    assert.deepEqual([...m.answers[0].rdata], [...srv]);
    // 12 + question 21; each RR: pointer 2 + 10 + uncompressed RDATA.
    assert.equal(out.length, 12 + 21 + (12 + srv.length) + 2 * (12 + target.length));
  });

  test('no pointer targets at or beyond offset 0x4000', () => {
    const w = new MessageWriter();
    w.question({ name: n('example.com.'), type: RRType.TXT, class: 1 });
    const big = new Uint8Array(255 * 65);
    for (let i = 0; i < 65; i++) big[i * 255] = 254;
    // Padding until past 16 KiB, then a new name twice: the second copy must not point at the first.
    w.rr(Section.Answer, { name: n('example.com.'), type: RRType.TXT, class: 1, ttl: 1, rdata: big });
    assert.ok(w.length > 0x4000);
    w.rr(Section.Answer, A('far.away.test.', 1, 1, 1, 1));
    w.rr(Section.Answer, A('x.far.away.test.', 2, 2, 2, 2));
    w.rr(Section.Answer, A('y.example.com.', 3, 3, 3, 3));
    const out = w.finish();
    const m = decodeMessage(out);
    assert.deepEqual(names(m).slice(2), ['far.away.test.', 'x.far.away.test.', 'y.example.com.']);
    // y.example.com still compresses against the question (offset 12 < 0x4000).
    assert.equal(hex(out.subarray(out.length - 18, out.length - 14)), '0179c00c');
  });
});

describe('MessageWriter limits and rollback', () => {
  test('an RRset that does not fit is not written at all, compression table included', () => {
    const w = new MessageWriter(100);
    w.header(7, 0x8400);
    w.question({ name: n('example.com.'), type: RRType.NS, class: 1 });
    const before = w.length;
    const rdata = ['a', 'b', 'c', 'd', 'e'].map((l) => n(`${l}.sub.example.com.`).toBytes());
    assert.equal(w.rrset(Section.Answer, n('sub.example.com.'), RRType.NS, 1, 1, rdata), false);
    assert.equal(w.length, before);
    // 'sub.example.com' was registered during the failed write; it must be gone, or this
    // owner would point into bytes that are no longer there.
    assert.equal(w.rr(Section.Answer, A('x.sub.example.com.', 9, 9, 9, 9)), true);
    const m = decodeMessage(w.finish());
    assert.equal(m.answers.length, 1);
    assert.equal(m.answers[0].name.toString(), 'x.sub.example.com.');
  });

  test('filling to the limit: every accepted record is complete and the message decodes', () => {
    for (const max of [12, 29, 512, 777]) {
      const w = new MessageWriter(max);
      w.question({ name: n('example.com.'), type: RRType.A, class: 1 });
      let accepted = 0;
      for (let i = 0; i < 200; i++) {
        if (w.rr(Section.Answer, A(`h${i}.example.com.`, 10, 0, 0, i & 0xff))) accepted++;
        assert.ok(w.length <= max);
      }
      const out = w.finish();
      assert.ok(out.length <= max);
      const m = decodeMessage(out);
      if (max < 29) assert.equal(m.questions.length, 0);
      assert.equal(m.answers.length, accepted);
    }
  });

  test('reserve keeps room for OPT, which uses it', () => {
    const edns = {
      udpSize: 1232,
      extendedRcode: 0,
      version: 0,
      flags: 0,
      options: [buildNsidOption(new Uint8Array(5))],
    };
    const w = new MessageWriter(200);
    w.question({ name: n('example.com.'), type: RRType.A, class: 1 });
    w.reserve(optLength(edns));
    while (w.rr(Section.Answer, A('example.com.', 1, 2, 3, 4)));
    assert.ok(w.remaining < 16);
    assert.equal(w.opt(edns), true);
    const out = w.finish();
    assert.ok(out.length <= 200);
    const m = decodeMessage(out);
    assert.deepEqual(m.edns?.options[0].code, EdnsOption.NSID);
    // Without the reservation the answers would have taken the room.
    const w2 = new MessageWriter(200);
    w2.question({ name: n('example.com.'), type: RRType.A, class: 1 });
    while (w2.rr(Section.Answer, A('example.com.', 1, 2, 3, 4)));
    assert.equal(w2.opt(edns), false);
    // Releasing a reservation gives the room back.
    const w3 = new MessageWriter(40);
    w3.reserve(30);
    assert.equal(w3.question({ name: n('example.com.'), type: RRType.A, class: 1 }), false);
    w3.reserve(-30);
    assert.equal(w3.question({ name: n('example.com.'), type: RRType.A, class: 1 }), true);
  });

  test('the buffer grows past its initial size up to 65535', () => {
    const w = new MessageWriter();
    w.question({ name: n('example.com.'), type: RRType.A, class: 1 });
    let count = 0;
    while (w.rr(Section.Answer, A('example.com.', 1, 2, 3, 4))) count++;
    assert.equal(count, Math.floor((65535 - 29) / 16));
    assert.equal(decodeMessage(w.finish()).answers.length, count);
  });

  test('a failed RRset does not leave its owner behind as a compression shortcut', () => {
    const w = new MessageWriter(29 + 31 + 10);
    w.question({ name: n('example.com.'), type: RRType.A, class: 1 });
    // The first record (owner written in full) fits, the second does not: all rolled back.
    const owner = n('www.example.net.');
    assert.equal(
      w.rrset(Section.Answer, owner, RRType.A, 1, 1, [Uint8Array.of(1, 1, 1, 1), Uint8Array.of(2, 2, 2, 2)]),
      false,
    );
    assert.equal(w.length, 29);
    // Had the first owner stayed cached, this one would be a pointer to its own offset.
    assert.equal(w.rr(Section.Answer, { ...A('a.', 3, 3, 3, 3), name: owner }), true);
    assert.deepEqual(names(decodeMessage(w.finish())), ['example.com.', 'www.example.net.']);
    const w2 = new MessageWriter(200);
    w2.question({ name: n('example.com.'), type: RRType.A, class: 1 });
    assert.equal(
      w2.rrset(Section.Answer, owner, RRType.A, 1, 1, [new Uint8Array(4), new Uint8Array(200)]),
      false,
    );
    assert.equal(w2.rr(Section.Answer, { ...A('a.', 3, 3, 3, 3), name: owner }), true);
    assert.deepEqual(names(decodeMessage(w2.finish())), ['example.com.', 'www.example.net.']);
  });

  test('malformed stored RDATA: the error propagates and the writer is left as before', () => {
    const w = new MessageWriter();
    w.question({ name: n('example.com.'), type: RRType.SOA, class: 1 });
    const bad = Uint8Array.of(5, 0x61); // SOA whose MNAME runs past the RDATA
    assert.throws(
      () => w.rrset(Section.Answer, n('example.com.'), RRType.SOA, 1, 1, [soaRdata('a.', 'b.'), bad]),
      WireFormatError,
    );
    assert.equal(w.length, 29);
    assert.equal(w.rr(Section.Answer, A('example.com.', 1, 2, 3, 4)), true);
    const m = decodeMessage(w.finish());
    assert.equal(m.answers.length, 1);
  });

  test('writers used in turn share nothing: each message is complete and compressed correctly', () => {
    const first = new MessageWriter();
    first.question({ name: n('one.example.'), type: RRType.A, class: 1 });
    first.rr(Section.Answer, A('one.example.', 1, 1, 1, 1));
    // A second writer takes over the shared buffer and table while the first is unfinished.
    const second = new MessageWriter();
    second.question({ name: n('two.example.'), type: RRType.A, class: 1 });
    second.rr(Section.Answer, A('x.two.example.', 2, 2, 2, 2));
    // The first goes on (without its compression table) after the second wrote over both.
    assert.equal(first.rr(Section.Answer, A('one.example.', 3, 3, 3, 3)), true);
    assert.equal(first.rr(Section.Authority, A('y.one.example.', 4, 4, 4, 4)), true);
    const a = decodeMessage(first.finish());
    const b = decodeMessage(second.finish());
    assert.deepEqual(names(a), ['one.example.', 'one.example.', 'one.example.', 'y.one.example.']);
    assert.deepEqual(names(b), ['two.example.', 'x.two.example.']);
    assert.deepEqual(
      a.answers.map((r) => r.rdata[0]),
      [1, 3],
    );
    // A third writer after both finished.
    const third = new MessageWriter();
    third.question({ name: n('three.example.'), type: RRType.A, class: 1 });
    third.rr(Section.Answer, A('three.example.', 5, 5, 5, 5));
    assert.equal(third.finish().length, 12 + 15 + 4 + 16);
  });

  test('thousands of distinct suffixes: past the table cap names are still written correctly', () => {
    const w = new MessageWriter();
    const expected: string[] = [];
    let seed = 7;
    const next = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 16;
    };
    for (let i = 0; i < 400; i++) {
      const labels = Array.from({ length: 40 }, () => 'abcdefghijklmnopqrstuvwxyz0123456789'[next() % 36]);
      const name = Name.fromLabels(labels);
      assert.equal(w.rr(Section.Answer, { ...A('a.', 1, 2, 3, 4), name }), true);
      expected.push(name.toString());
    }
    const out = w.finish();
    assert.ok(out.length > 0x4000);
    assert.deepEqual(names(decodeMessage(out)), expected);
  });

  test('misuse throws DNS_ERR_FORMAT', () => {
    const w = new MessageWriter();
    w.rr(Section.Authority, A('a.', 1, 1, 1, 1));
    misuse(() => w.rr(Section.Answer, A('a.', 1, 1, 1, 1)));
    misuse(() => w.question({ name: n('a.'), type: 1, class: 1 }));
    misuse(() => w.rr(Section.Additional, { ...A('.'), type: RRType.OPT }));
    w.opt({ udpSize: 512, extendedRcode: 0, version: 0, flags: 0, options: [] });
    misuse(() => w.opt({ udpSize: 512, extendedRcode: 0, version: 0, flags: 0, options: [] }));
    misuse(() => w.rr(Section.Additional, A('a.', 1, 1, 1, 1)));
    w.finish();
    misuse(() => w.rr(Section.Additional, A('a.', 1, 1, 1, 1)));
  });
});

describe('encodeMessage', () => {
  test('writes OPT after the additional records and TSIG last; counts patched', () => {
    const tsigRdata = Uint8Array.from([
      ...n('hmac-sha256.').toBytes(),
      0,
      0,
      0,
      0,
      0,
      1,
      1,
      44,
      0,
      0,
      0,
      7,
      0,
      0,
      0,
      0,
    ]);
    const msg: Message = {
      id: 42,
      flags: 0x8180,
      questions: [{ name: n('Example.org.'), type: RRType.A, class: 1 }],
      answers: [A('Example.org.', 1, 2, 3, 4)],
      authority: [],
      additional: [
        { name: n('key.'), type: RRType.TSIG, class: 255, ttl: 0, rdata: tsigRdata },
        A('ns.example.org.', 5, 6, 7, 8),
      ],
      edns: {
        udpSize: 4096,
        extendedRcode: 1,
        version: 0,
        flags: 0x8000,
        options: [{ code: 65001, data: Uint8Array.of(1) }],
      },
    };
    const out = encodeMessage(msg);
    assert.equal(hex(out.subarray(4, 12)), '0001000100000003');
    const m = decodeMessage(out);
    assert.deepEqual(
      m.additional.map((r) => r.type),
      [RRType.A, RRType.TSIG],
    );
    assert.equal(m.additional[0].name.toString(), 'ns.Example.org.');
    assert.deepEqual(m.edns?.extendedRcode, 1);
    assert.deepEqual(m.edns?.flags, 0x8000);
  });

  test('a message over 65535 octets is DNS_ERR_TOO_BIG', () => {
    const rr: RR = { name: n('a.'), type: 65280, class: 1, ttl: 0, rdata: new Uint8Array(65000) };
    const msg: Message = { id: 0, flags: 0, questions: [], answers: [rr, rr], authority: [], additional: [] };
    assert.throws(
      () => encodeMessage(msg),
      (e: unknown) => e instanceof WireFormatError && e.code === 'DNS_ERR_TOO_BIG',
    );
  });
});
