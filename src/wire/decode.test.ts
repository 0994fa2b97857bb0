import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EDNS_DO, RRType } from './constants.js';
import { decodeMessage, readName } from './decode.js';
import { WireFormatError } from './errors.js';
import { Name } from './name.js';

// Hand-built packets: every octet is spelled out so the tests do not depend on the encoder.

function u16(v: number): number[] {
  return [(v >> 8) & 0xff, v & 0xff];
}
function u32(v: number): number[] {
  return [...u16(v >>> 16), ...u16(v & 0xffff)];
}
function header(qd: number, an: number, ns: number, ar: number, id = 0x1234, flags = 0x0100): number[] {
  return [...u16(id), ...u16(flags), ...u16(qd), ...u16(an), ...u16(ns), ...u16(ar)];
}
function nameBytes(text: string): number[] {
  return [...Name.parse(text).toBytes()];
}
function question(name: number[], type: number = RRType.A, cls = 1): number[] {
  return [...name, ...u16(type), ...u16(cls)];
}
function rr(owner: number[], type: number, cls: number, ttl: number, rdata: number[]): number[] {
  return [...owner, ...u16(type), ...u16(cls), ...u32(ttl), ...u16(rdata.length), ...rdata];
}
function packet(...parts: number[][]): Uint8Array {
  return Uint8Array.from(parts.flat());
}
function ptr(offset: number): number[] {
  return [0xc0 | (offset >> 8), offset & 0xff];
}
function rejects(buf: Uint8Array, code: string, offset?: number): void {
  assert.throws(
    () => decodeMessage(buf),
    (e: unknown) => {
      assert.ok(e instanceof WireFormatError, `expected WireFormatError, got ${e}`);
      assert.equal(e.code, code, e.message);
      if (offset !== undefined) assert.equal(e.offset, offset, e.message);
      return true;
    },
  );
}
function rejectsName(buf: Uint8Array, at: number, code: string): void {
  assert.throws(
    () => readName(buf, at),
    (e: unknown) => e instanceof WireFormatError && e.code === code,
  );
}

const OPT_ROOT = [0];

describe('readName', () => {
  test('uncompressed name, case preserved, end after the root label', () => {
    const buf = packet([0xff], nameBytes('Www.Example.COM.'), [0xee]);
    const { name, end } = readName(buf, 1);
    assert.equal(name.toString(), 'Www.Example.COM.');
    assert.equal(name.wire, '\x03Www\x07Example\x03COM\x00');
    assert.equal(end, 18);
  });

  test('root', () => {
    const { name, end } = readName(Uint8Array.of(0), 0);
    assert.equal(name, Name.ROOT);
    assert.equal(end, 1);
  });

  test('pointers: end is after the first pointer; case comes from the target', () => {
    // 0: example.COM.  13: www -> 0   19: mail -> 13 (pointer chain of two hops)
    const buf = packet(
      nameBytes('example.COM.'),
      [3, 0x77, 0x77, 0x77],
      ptr(0),
      [4, ...Buffer.from('mail')],
      ptr(13),
    );
    assert.deepEqual([readName(buf, 13).name.toString(), readName(buf, 13).end], ['www.example.COM.', 19]);
    const r = readName(buf, 19);
    assert.equal(r.name.toString(), 'mail.www.example.COM.');
    assert.equal(r.end, 26);
    // A name that is only a pointer.
    const only = packet(nameBytes('a.'), ptr(0));
    assert.deepEqual([readName(only, 3).name.toString(), readName(only, 3).end], ['a.', 5]);
  });

  test('self pointer is a loop', () => {
    rejectsName(packet([0, 0], ptr(2)), 2, 'DNS_ERR_NAME');
  });

  test('two-pointer cycle is rejected from either entry', () => {
    // 0: -> 2, 2: -> 0
    const buf = packet(ptr(2), ptr(0));
    rejectsName(buf, 0, 'DNS_ERR_NAME');
    rejectsName(buf, 2, 'DNS_ERR_NAME');
    // A cycle through labels: 0: "a" -> 4; 4: "b" -> 0
    const buf2 = packet([1, 0x61], ptr(4), [1, 0x62], ptr(0));
    rejectsName(buf2, 0, 'DNS_ERR_NAME');
    rejectsName(buf2, 4, 'DNS_ERR_NAME');
  });

  test('forward pointer is rejected even when it leads to a valid name', () => {
    rejectsName(packet(ptr(2), nameBytes('a.')), 0, 'DNS_ERR_NAME');
  });

  test('every hop must land before the labels it continues, not just before the pointer', () => {
    // 0: x.   3: "a" then a pointer (at 5) to 3: behind the pointer, but inside its own name.
    rejectsName(packet([1, 0x78, 0], [1, 0x61], ptr(3)), 3, 'DNS_ERR_NAME');
    // Second hop: 6 -> 0; at 0: "a" "b" then (at 4) a pointer to 2, inside the labels reached
    // by the first hop: a loop b -> b -> ... that a pointer-position check alone would follow.
    rejectsName(packet([1, 0x61], [1, 0x62], ptr(2), ptr(0)), 6, 'DNS_ERR_NAME');
    // A legal chain of three hops: 9: "c" -> 7 -> 3: "b" -> 0: "a".
    const ok = packet([1, 0x61, 0], [1, 0x62], ptr(0), ptr(3), [1, 0x63], ptr(7));
    assert.equal(readName(ok, 9).name.toString(), 'c.b.a.');
    assert.equal(readName(ok, 9).end, 13);
  });

  test('pointer past the end of the message', () => {
    rejectsName(packet(nameBytes('a.'), ptr(0x3fff)), 3, 'DNS_ERR_NAME');
    // A pointer cut after its first octet.
    rejectsName(packet(nameBytes('a.'), [0xc0]), 3, 'DNS_ERR_SHORT');
  });

  test('reserved (0x80) and extended (0x40) label types', () => {
    rejectsName(Uint8Array.of(0x41, 0x61, 0), 0, 'DNS_ERR_NAME');
    rejectsName(Uint8Array.of(0x80, 0), 0, 'DNS_ERR_NAME');
    rejectsName(Uint8Array.of(1, 0x61, 0xbf, 0), 0, 'DNS_ERR_NAME');
  });

  test('names over 255 octets, counted uncompressed', () => {
    // 0: three labels of 63 + root = 193 octets. A 61-octet label + pointer expands to 255.
    const base = [...nameBytes(`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.`)];
    assert.equal(base.length, 193);
    const fits = packet(base, [61, ...new Array(61).fill(0x64)], ptr(0));
    assert.equal(readName(fits, 193).name.length, 255);
    const over = packet(base, [62, ...new Array(62).fill(0x64)], ptr(0));
    rejectsName(over, 193, 'DNS_ERR_NAME');
    // Uncompressed too long: 4 * 64 octets of labels.
    const long = packet(...[0, 1, 2, 3].map(() => [63, ...new Array(63).fill(0x65)]), [0]);
    rejectsName(long, 0, 'DNS_ERR_NAME');
  });

  test('reading past the end', () => {
    rejectsName(Uint8Array.of(3, 0x61, 0x62), 0, 'DNS_ERR_SHORT');
    rejectsName(Uint8Array.of(1, 0x61), 0, 'DNS_ERR_SHORT');
    rejectsName(Uint8Array.of(), 0, 'DNS_ERR_SHORT');
    rejectsName(Uint8Array.of(0), 1, 'DNS_ERR_SHORT');
    rejectsName(Uint8Array.of(0), -1, 'DNS_ERR_SHORT');
  });

  test('octets >= 0x80 and upper case are kept as they are', () => {
    const { name } = readName(Uint8Array.of(3, 0xc1, 0x41, 0x2e, 0), 0);
    assert.equal(name.wire, '\x03\xc1A.\x00');
    assert.equal(name.key, '\x03\xc1a.\x00');
  });
});

describe('decodeMessage', () => {
  const qname = nameBytes('www.Example.com.');

  test('a query with EDNS', () => {
    const buf = packet(
      header(1, 0, 0, 1, 0xbeef, 0x0120),
      question(qname, RRType.AAAA),
      rr(OPT_ROOT, RRType.OPT, 1232, 0x01008000, [
        ...u16(10),
        ...u16(8),
        1,
        2,
        3,
        4,
        5,
        6,
        7,
        8,
        ...u16(3),
        0,
        0,
      ]),
    );
    const m = decodeMessage(buf);
    assert.equal(m.id, 0xbeef);
    assert.equal(m.flags, 0x0120);
    assert.equal(m.questions.length, 1);
    assert.equal(m.questions[0].name.toString(), 'www.Example.com.');
    assert.equal(m.questions[0].type, RRType.AAAA);
    assert.equal(m.questions[0].class, 1);
    assert.deepEqual([m.answers, m.authority, m.additional], [[], [], []]);
    assert.ok(m.edns);
    assert.equal(m.edns.udpSize, 1232);
    assert.equal(m.edns.extendedRcode, 1);
    assert.equal(m.edns.version, 0);
    assert.equal(m.edns.flags, EDNS_DO);
    assert.deepEqual(
      m.edns.options.map((o) => [o.code, [...o.data]]),
      [
        [10, [1, 2, 3, 4, 5, 6, 7, 8]],
        [3, []],
      ],
    );
    // Options are copies, not views of the input.
    buf[buf.length - 5] = 0xff;
    assert.equal(m.edns.options[0].data[7], 8);
  });

  test('EDNS version and extended rcode come from the TTL octets', () => {
    const m = decodeMessage(packet(header(0, 0, 0, 1), rr(OPT_ROOT, RRType.OPT, 4096, 0xfe017fff, [])));
    assert.deepEqual(m.edns, { udpSize: 4096, extendedRcode: 0xfe, version: 1, flags: 0x7fff, options: [] });
  });

  test('no OPT: no edns property', () => {
    const m = decodeMessage(packet(header(1, 0, 0, 0), question(qname)));
    assert.equal('edns' in m, false);
  });

  test('a response with compressed owner and RDATA names in every section', () => {
    const buf = packet(
      header(1, 1, 1, 1, 1, 0x8400),
      question(qname), // name at 12
      rr(ptr(12), RRType.A, 1, 300, [192, 0, 2, 1]),
      rr(ptr(16), RRType.NS, 1, 3600, [3, ...Buffer.from('ns1'), ...ptr(16)]), // example.com at 16
      rr(ptr(0x3d), RRType.A, 1, 3600, [192, 0, 2, 53]), // ns1 at 61 (0x3d)
    );
    const m = decodeMessage(buf);
    assert.equal(m.answers[0].name.toString(), 'www.Example.com.');
    assert.deepEqual([...m.answers[0].rdata], [192, 0, 2, 1]);
    assert.equal(m.answers[0].ttl, 300);
    assert.equal(m.authority[0].name.toString(), 'Example.com.');
    assert.deepEqual([...m.authority[0].rdata], nameBytes('ns1.Example.com.'));
    assert.equal(m.additional[0].name.toString(), 'ns1.Example.com.');
    assert.equal(m.additional[0].type, RRType.A);
  });

  test('TTL is unsigned 32-bit', () => {
    const m = decodeMessage(packet(header(0, 1, 0, 0), rr([0], RRType.A, 1, 0xffffffff, [1, 2, 3, 4])));
    assert.equal(m.answers[0].ttl, 0xffffffff);
  });

  test('truncated header', () => {
    rejects(Uint8Array.of(), 'DNS_ERR_SHORT', 0);
    rejects(packet(header(0, 0, 0, 0)).subarray(0, 11), 'DNS_ERR_SHORT', 0);
  });

  test('truncated question', () => {
    const full = packet(header(1, 0, 0, 0), question(qname));
    for (let n = 12; n < full.length; n++) rejects(full.subarray(0, n), 'DNS_ERR_SHORT');
    // Counts promising more questions than there are.
    rejects(packet(header(2, 0, 0, 0), question(qname)), 'DNS_ERR_SHORT');
  });

  test('truncated RR (owner, fixed fields, RDATA)', () => {
    const full = packet(header(0, 1, 0, 0), rr(nameBytes('a.'), RRType.A, 1, 1, [1, 2, 3, 4]));
    for (let n = 12; n < full.length; n++) rejects(full.subarray(0, n), 'DNS_ERR_SHORT');
    rejects(packet(header(0, 0, 0, 1)), 'DNS_ERR_SHORT', 12);
  });

  test('RDATA length disagreeing with the type layout', () => {
    rejects(packet(header(0, 1, 0, 0), rr([0], RRType.A, 1, 1, [1, 2, 3])), 'DNS_ERR_RDATA');
  });

  test('two OPT records', () => {
    const opt = rr(OPT_ROOT, RRType.OPT, 1232, 0, []);
    rejects(packet(header(0, 0, 0, 2), opt, opt), 'DNS_ERR_FORMAT', 23);
  });

  test('OPT not owned by the root', () => {
    rejects(packet(header(0, 0, 0, 1), rr(nameBytes('a.'), RRType.OPT, 1232, 0, [])), 'DNS_ERR_FORMAT', 12);
  });

  test('OPT outside the additional section', () => {
    const opt = rr(OPT_ROOT, RRType.OPT, 1232, 0, []);
    rejects(packet(header(0, 1, 0, 0), opt), 'DNS_ERR_FORMAT');
    rejects(packet(header(0, 0, 1, 0), opt), 'DNS_ERR_FORMAT');
  });

  test('malformed EDNS option list', () => {
    // Option header cut short, and option data longer than the RDATA.
    rejects(packet(header(0, 0, 0, 1), rr(OPT_ROOT, RRType.OPT, 1232, 0, [0, 3, 0])), 'DNS_ERR_RDATA');
    rejects(
      packet(header(0, 0, 0, 1), rr(OPT_ROOT, RRType.OPT, 1232, 0, [0, 3, 0, 2, 0x61])),
      'DNS_ERR_RDATA',
    );
  });

  test('TSIG must be the last record', () => {
    const tsigRdata = [
      ...nameBytes('hmac-sha256.'),
      ...[0, 0, 0x65, 0x00, 0x00, 0x00], // time signed
      ...u16(300), // fudge
      ...u16(2),
      0xaa,
      0xbb, // MAC
      ...u16(0x1234), // original ID
      ...u16(0), // error
      ...u16(0), // other len
    ];
    const tsig = rr(nameBytes('key.'), RRType.TSIG, 255, 0, tsigRdata);
    const a = rr([0], RRType.A, 1, 1, [1, 2, 3, 4]);
    const opt = rr(OPT_ROOT, RRType.OPT, 1232, 0, []);
    const m = decodeMessage(packet(header(0, 0, 0, 3), a, opt, tsig));
    assert.deepEqual(
      m.additional.map((r) => r.type),
      [RRType.A, RRType.TSIG],
    );
    assert.ok(m.edns);
    rejects(packet(header(0, 0, 0, 2), tsig, opt), 'DNS_ERR_FORMAT');
    rejects(packet(header(0, 0, 0, 2), tsig, tsig), 'DNS_ERR_FORMAT');
    rejects(packet(header(0, 1, 0, 0), tsig), 'DNS_ERR_FORMAT');
    rejects(packet(header(0, 1, 0, 1), tsig, a), 'DNS_ERR_FORMAT');
  });

  test('trailing octets', () => {
    rejects(packet(header(1, 0, 0, 0), question(qname), [0]), 'DNS_ERR_TRAILING', 33);
    rejects(packet(header(0, 0, 0, 0), [1, 2, 3]), 'DNS_ERR_TRAILING', 12);
  });

  test('name errors inside the message keep their codes', () => {
    rejects(packet(header(1, 0, 0, 0), ptr(12), u16(1), u16(1)), 'DNS_ERR_NAME', 12);
    rejects(packet(header(1, 0, 0, 0), ptr(20), u16(1), u16(1), nameBytes('a.')), 'DNS_ERR_NAME', 12);
    rejects(packet(header(1, 0, 0, 0), [0x40, 0], u16(1), u16(1)), 'DNS_ERR_NAME', 12);
  });

  test('a header-only message and huge counts with no data', () => {
    const m = decodeMessage(packet(header(0, 0, 0, 0)));
    assert.deepEqual(m.questions, []);
    rejects(packet(header(0xffff, 0xffff, 0xffff, 0xffff)), 'DNS_ERR_SHORT', 12);
  });

  test('decodes from a Buffer view with a non-zero byteOffset; RDATA never aliases the input', () => {
    const bytes = packet(
      [9, 9, 9],
      header(1, 1, 0, 0),
      question(qname),
      rr(ptr(12), RRType.A, 1, 1, [1, 2, 3, 4]),
    );
    const view = Buffer.from(bytes.buffer, 3);
    const m = decodeMessage(view);
    assert.equal(m.questions[0].name.toString(), 'www.Example.com.');
    view[view.length - 1] = 99;
    assert.deepEqual(m.answers[0].rdata, Uint8Array.of(1, 2, 3, 4));
  });
});
