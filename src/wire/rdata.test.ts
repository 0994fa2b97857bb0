import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { sharedFile } from '../../test/helpers/paths.js';
import { roundTrips, tokens } from '../../test/helpers/rdata-fixtures.js';
import { RRType, typeFromString } from './constants.js';
import { WireFormatError } from './errors.js';
import { Name } from './name.js';
import {
  compressibleNameOffsets,
  rdataFromText,
  rdataTarget,
  rdataToText,
  readRdata,
  readSoa,
  type TextToken,
} from './rdata.js';

const origin = Name.parse('example.');

function typeOf(name: string): number {
  const t = typeFromString(name);
  assert.ok(t !== undefined, name);
  return t;
}

/** Parses RDATA text of `typeName`. */
function wireOf(typeName: string, text: string): Uint8Array {
  return rdataFromText(typeOf(typeName), tokens(text), origin);
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function bytes(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h.replace(/[\s.]/g, ''), 'hex'));
}

function isTextError(field: RegExp) {
  return (e: unknown) => e instanceof WireFormatError && e.code === 'DNS_ERR_TEXT' && field.test(e.message);
}

function isWireError(e: unknown): boolean {
  return e instanceof WireFormatError && (e.code === 'DNS_ERR_RDATA' || e.code === 'DNS_ERR_NAME');
}

describe('rdata round trips text → wire → text → wire', () => {
  for (const [typeName, input, expected] of roundTrips) {
    test(`${typeName} ${input}`, () => {
      const type = typeOf(typeName);
      const wire = wireOf(typeName, input);
      const text = rdataToText(type, wire);
      assert.equal(text, expected ?? input);
      const again = rdataFromText(type, tokens(text), origin);
      assert.equal(hex(again), hex(wire));
      // Wire → wire through the receive path (uncompressed input is unchanged).
      assert.equal(hex(readRdata(wire, 0, wire.length, type)), hex(wire));
      // RFC 3597 §5: the generic form of any RDATA parses to the same octets.
      const generic = `\\# ${wire.length} ${hex(wire)}`;
      assert.equal(hex(rdataFromText(type, tokens(generic), origin)), hex(wire));
    });
  }
});

// Wire forms worked out by hand from the RFCs.
const wireVectors: [string, string, string][] = [
  ['A', '192.0.2.1', 'c0000201'],
  ['AAAA', '2001:db8::1', '20010db8000000000000000000000001'],
  ['MX', '10 mail.example.', '000a 046d61696c 076578616d706c65 00'],
  ['SOA', 'a. b. 1 2 3 4 5', '0161 00 0162 00 00000001 00000002 00000003 00000004 00000005'],
  ['TXT', '"ab" ""', '026162 00'],
  ['SRV', '1 2 3 t.', '0001 0002 0003 0174 00'],
  ['NAPTR', '1 2 "a" "b" "c" .', '0001 0002 0161 0162 0163 00'],
  ['CAA', '0 issue "ca.example"', '00 05 6973737565 63612e6578616d706c65'],
  ['DS', '1 8 2 abcd', '0001 08 02 abcd'],
  ['DNSKEY', '257 3 8 AQID', '0101 03 08 010203'],
  ['NSEC', 'a. A RRSIG NSEC', '0161 00 00 06 400000000003'],
  ['NSEC', 'a. TYPE1234 CAA', `0161 00 01 01 40 04 1b ${'00'.repeat(26)}20`],
  ['NSEC3PARAM', '1 0 10 aabb', '01 00 000a 02 aabb'],
  ['NSEC3', '2 1 12 - 00 A', '02 01 000c 00 01 00 00 01 40'],
  [
    'RRSIG',
    'A 8 2 300 20200101000000 20191201000000 1 e. AA==',
    '0001 08 02 0000012c 5e0be100 5de30280 0001 0165 00 00',
  ],
  ['SVCB', '1 . port=53', '0001 00 0003 0002 0035'],
  ['HTTPS', '1 . alpn=h2,h3', '0001 00 0001 0006 026832 026833'],
  ['SVCB', '1 . docpath=n,s', '0001 00 000a 0004 016e 0173'],
  ['SVCB', '1 . docpath', '0001 00 000a 0000'],
  ['TSIG', 'x. 1 300 2 AAA= 7 0 0', '0178 00 000000000001 012c 0002 0000 0007 0000 0000'],
  ['LOC', '0 N 0 E 0m', '00 12 16 13 80000000 80000000 00989680'],
  ['EUI48', '00-00-5e-00-53-2a', '00005e00532a'],
  ['APL', '1:192.168.32.0/21 !1:192.168.38.0/28', '0001 15 03 c0a820 0001 1c 83 c0a826'],
  ['URI', '10 1 "ftp://a"', '000a 0001 6674703a2f2f61'],
  ['OPENPGPKEY', 'AQID', '010203'],
  ['AMTRELAY', '10 1 1 203.0.113.15', '0a 81 cb00710f'],
  ['IPSECKEY', '10 1 2 192.0.2.38 AQID', '0a 01 02 c0000226 010203'],
  ['HIP', '2 AABB AQID rvs.', '02 02 0003 aabb 010203 03727673 00'],
  ['CSYNC', '66 3 A NS AAAA', '00000042 0003 00 04 60000008'],
  ['WKS', '10.0.0.1 6 0 1 2 21 23', '0a000001 06 e00005'],
];

describe('rdata wire vectors', () => {
  for (const [typeName, text, wire] of wireVectors) {
    test(`${typeName} ${text}`, () => {
      assert.equal(hex(wireOf(typeName, text)), wire.replace(/\s/g, ''));
    });
  }
});

describe('readRdata name decompression (RFC 3597 §4)', () => {
  // A 12-octet header, then "example.com." at offset 12 for pointers to target (0xc00c).
  const prefix = bytes(`${'00'.repeat(12)} 076578616d706c65 03636f6d 00`);
  const msgWith = (rdata: string) => {
    const r = bytes(rdata);
    const m = new Uint8Array(prefix.length + r.length);
    m.set(prefix);
    m.set(r, prefix.length);
    return { m, off: prefix.length, len: r.length };
  };
  const exampleCom = '076578616d706c6503636f6d00';

  test('MX exchange pointer is expanded', () => {
    const { m, off, len } = msgWith('000a 046d61696c c00c');
    const rd = readRdata(m, off, len, RRType.MX);
    assert.equal(hex(rd), `000a046d61696c${exampleCom}`);
    assert.equal(rdataToText(RRType.MX, rd), '10 mail.example.com.');
  });
  test('SOA: both names expanded; the result can exceed the RDLENGTH', () => {
    const { m, off, len } = msgWith('c00c 0161c00c 00000001 00000002 00000003 00000004 00000005');
    const rd = readRdata(m, off, len, RRType.SOA);
    assert.ok(rd.length > len);
    const soa = readSoa(rd);
    assert.equal(soa.mname.toString(), 'example.com.');
    assert.equal(soa.rname.toString(), 'a.example.com.');
    assert.deepEqual([soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum], [1, 2, 3, 4, 5]);
  });
  for (const [type, rdata] of [
    [RRType.NS, 'c00c'],
    [RRType.CNAME, 'c00c'],
    [RRType.PTR, 'c00c'],
    [RRType.MINFO, 'c00c c00c'],
    [RRType.RP, 'c00c c00c'],
    [RRType.AFSDB, '0001 c00c'],
    [RRType.RT, '0001 c00c'],
    [RRType.PX, '0001 c00c c00c'],
    [RRType.SRV, '0001 0002 0003 c00c'],
    [RRType.NAPTR, '0001 0002 00 00 00 c00c'],
    [RRType.SIG, '0001 08 02 0000012c 5e0be100 5de30300 0001 c00c 0102'],
  ] as const) {
    test(`type ${type} names may be compressed`, () => {
      const { m, off, len } = msgWith(rdata);
      const rd = readRdata(m, off, len, type);
      assert.ok(hex(rd).includes(exampleCom));
      assert.ok(!hex(rd).includes('c00c'));
    });
  }
  for (const [type, rdata] of [
    [RRType.DNAME, 'c00c'],
    [RRType.KX, '0001 c00c'],
    [RRType.RRSIG, '0001 08 02 0000012c 5e0be100 5de30300 0001 c00c 0102'],
    [RRType.NSEC, 'c00c 000140'],
    [RRType.SVCB, '0001 c00c'],
    [RRType.HTTPS, '0001 c00c'],
    [RRType.TSIG, 'c00c 000000000001 012c 0000 0007 0000 0000'],
    [RRType.IPSECKEY, '0a 03 02 c00c'],
    [RRType.AMTRELAY, '0a 03 c00c'],
    [RRType.HIP, '02 02 0000 aabb c00c'],
  ] as const) {
    test(`type ${type} names must not be compressed`, () => {
      const { m, off, len } = msgWith(rdata);
      assert.throws(() => readRdata(m, off, len, type), isWireError);
    });
  }
  const isNameError = (e: unknown) => e instanceof WireFormatError && e.code === 'DNS_ERR_NAME';
  const header = '00'.repeat(12);
  test('forward pointer, self pointer and loops are rejected', () => {
    const forward = bytes(`${header} c00e 00`);
    assert.throws(() => readRdata(forward, 12, 2, RRType.NS), isNameError);
    const self = bytes(`${header} c00c`);
    assert.throws(() => readRdata(self, 12, 2, RRType.NS), isNameError);
    // A label then a pointer back to it: the name grows until the 255-octet limit.
    const loop = bytes(`${header} 0161 c00c`);
    assert.throws(() => readRdata(loop, 12, 4, RRType.NS), isNameError);
    // Pointer to a pointer to the first: strictly backwards, fine.
    const chain = bytes(`${header} 0161 00 c00c c00f`);
    assert.equal(hex(readRdata(chain, 17, 2, RRType.NS)), '016100');
  });
  test('a pointer into the 12-octet header is rejected', () => {
    const msg = bytes(`${header} c002`);
    assert.throws(() => readRdata(msg, 12, 2, RRType.NS), isNameError);
  });
  test('reserved label types 0x40 and 0x80 are rejected', () => {
    for (const first of ['41', '81']) {
      const msg = bytes(`${first}6100`);
      assert.throws(
        () => readRdata(msg, 0, 3, RRType.NS),
        (e: unknown) => (e as WireFormatError).code === 'DNS_ERR_NAME',
      );
    }
  });
  test('a name of 256 octets is rejected, 255 accepted', () => {
    const label63 = `3f${'61'.repeat(63)}`;
    const ok = bytes(`${label63.repeat(3)}3d${'61'.repeat(61)}00`); // 64*3 + 62 + 1 = 255
    assert.equal(readRdata(ok, 0, ok.length, RRType.NS).length, 255);
    const long = bytes(`${label63.repeat(3)}3e${'61'.repeat(62)}00`);
    assert.throws(() => readRdata(long, 0, long.length, RRType.NS), isWireError);
  });
  test('RDATA past the end of the message is DNS_ERR_SHORT', () => {
    assert.throws(
      () => readRdata(bytes('c00002'), 0, 4, RRType.A),
      (e: unknown) => (e as WireFormatError).code === 'DNS_ERR_SHORT',
    );
  });
  test('readRdata returns a copy, not a view of the message', () => {
    const msg = bytes('c0000201');
    const rd = readRdata(msg, 0, 4, RRType.A);
    msg[0] = 0;
    assert.equal(rd[0], 0xc0);
  });
});

describe('compressibleNameOffsets', () => {
  test('RFC 1035 types only', () => {
    assert.deepEqual(compressibleNameOffsets(RRType.NS, wireOf('NS', 'a.')), [0]);
    assert.deepEqual(compressibleNameOffsets(RRType.CNAME, wireOf('CNAME', 'a.')), [0]);
    assert.deepEqual(compressibleNameOffsets(RRType.PTR, wireOf('PTR', 'a.')), [0]);
    assert.deepEqual(compressibleNameOffsets(RRType.MX, wireOf('MX', '1 a.')), [2]);
    assert.deepEqual(compressibleNameOffsets(RRType.SOA, wireOf('SOA', 'ab. c. 1 2 3 4 5')), [0, 4]);
    assert.deepEqual(compressibleNameOffsets(RRType.MINFO, wireOf('MINFO', 'abc. d.')), [0, 5]);
    for (const t of ['MB', 'MG', 'MR', 'MD', 'MF'])
      assert.deepEqual(compressibleNameOffsets(typeOf(t), wireOf(t, 'a.')), [0]);
    // RFC 6672 §2.5, RFC 2782, RFC 3597 §4: not DNAME, SRV, RP, AFSDB, ...
    assert.deepEqual(compressibleNameOffsets(RRType.DNAME, wireOf('DNAME', 'a.')), []);
    assert.deepEqual(compressibleNameOffsets(RRType.SRV, wireOf('SRV', '1 2 3 a.')), []);
    assert.deepEqual(compressibleNameOffsets(RRType.RP, wireOf('RP', 'a. b.')), []);
    assert.deepEqual(compressibleNameOffsets(RRType.AFSDB, wireOf('AFSDB', '1 a.')), []);
    assert.deepEqual(compressibleNameOffsets(RRType.NAPTR, wireOf('NAPTR', '1 2 "" "" "" a.')), []);
    assert.deepEqual(compressibleNameOffsets(RRType.A, wireOf('A', '1.2.3.4')), []);
  });
});

describe('rdataTarget', () => {
  test('names pointed at', () => {
    assert.equal(rdataTarget(RRType.NS, wireOf('NS', 'ns.a.'))?.toString(), 'ns.a.');
    assert.equal(rdataTarget(RRType.CNAME, wireOf('CNAME', 'c.a.'))?.toString(), 'c.a.');
    assert.equal(rdataTarget(RRType.DNAME, wireOf('DNAME', 'd.a.'))?.toString(), 'd.a.');
    assert.equal(rdataTarget(RRType.PTR, wireOf('PTR', 'p.a.'))?.toString(), 'p.a.');
    assert.equal(rdataTarget(RRType.MX, wireOf('MX', '5 mx.a.'))?.toString(), 'mx.a.');
    assert.equal(rdataTarget(RRType.SRV, wireOf('SRV', '1 2 3 srv.a.'))?.toString(), 'srv.a.');
    assert.equal(rdataTarget(RRType.SVCB, wireOf('SVCB', '1 . port=1'))?.toString(), '.');
    assert.equal(rdataTarget(RRType.HTTPS, wireOf('HTTPS', '0 h.a.'))?.toString(), 'h.a.');
    assert.equal(rdataTarget(RRType.A, wireOf('A', '1.2.3.4')), undefined);
    assert.equal(rdataTarget(RRType.TXT, wireOf('TXT', 'x')), undefined);
  });
});

// Malformed wire RDATA per type: each must fail with a typed error, never a RangeError.
const malformed: [string, string][] = [
  ['A', 'c00002'],
  ['A', 'c0000201 00'],
  ['A', ''],
  ['AAAA', '20010db8'],
  ['AAAA', `${'00'.repeat(17)}`],
  ['NS', ''],
  ['NS', '0161'],
  ['NS', '0161 00 00'],
  ['CNAME', '0461'],
  ['DNAME', '0161 00 01'],
  ['SOA', '00 00 00000001'],
  ['SOA', `00 00 ${'00'.repeat(21)}`],
  ['MX', '000a'],
  ['MX', '00'],
  ['MX', '000a 00 00'],
  ['SRV', '0001 0002 00'],
  ['TXT', ''],
  ['TXT', '05616263'],
  ['SPF', '0361'],
  ['HINFO', '0161'],
  ['HINFO', '0161 0162 0163'],
  ['NAPTR', '0001 0002 00 00 00'],
  ['NAPTR', '0001 0002 00 00 00 00 00'],
  ['CAA', '00'],
  ['CAA', '00 00'],
  ['CAA', '00 05 6973'],
  ['CAA', '00 02 2d2d 61'],
  ['SSHFP', '01'],
  ['TLSA', '0301'],
  ['SMIMEA', ''],
  ['DS', '000108'],
  ['CDS', '00'],
  ['DNSKEY', '010103'],
  ['CDNSKEY', '01'],
  ['RRSIG', '0001 08 02 0000012c 5e0be100 5de30300 0001'],
  ['RRSIG', '0001 08 02 0000012c 5e0be100 5de30300 0001 03'],
  ['NSEC', '00 00 00'],
  ['NSEC', '00 00 21 00'],
  ['NSEC', '00 01 01 40 00 01 40'],
  ['NSEC', '00 00 02 40'],
  ['NSEC3', '01 01 000c 00 00'],
  ['NSEC3', '01 01 000c 05 aabb'],
  ['NSEC3', '01 01 000c 00 14 aabb'],
  ['NSEC3', '02 01 000c 00 01 00 00 00'],
  // RFC 5155 §3.1.7: SHA-1 (1) gives a 20-octet next hashed owner.
  ['NSEC3', '01 00 0000 00 01 00'],
  ['NSEC3', `01 00 0000 00 15 ${'00'.repeat(21)}`],
  ['NSEC3PARAM', '01 00 000a 02 aabb cc'],
  ['NSEC3PARAM', '01 00 000a 03 aabb'],
  ['NSEC3PARAM', '01 00 00'],
  ['SVCB', '0001'],
  // RFC 9953 docpath: no empty segment, no segment past the value.
  ['SVCB', '0001 00 000a 0002 0000'],
  ['SVCB', '0001 00 000a 0002 0561'],
  ['SVCB', '0001 00 0003 0002 00'],
  ['SVCB', '0001 00 0003 0002 0035 0001 0003 026832'],
  ['SVCB', '0001 00 0003 0002 0035 0003 0002 0035'],
  ['SVCB', '0001 00 0001 0000'],
  ['SVCB', '0001 00 0001 0003 026832 00'],
  ['SVCB', '0001 00 0001 0001 00'],
  ['SVCB', '0001 00 0000 0002 0000'],
  ['SVCB', '0001 00 0000 0004 0004 0001'],
  ['SVCB', '0001 00 0002 0001 00'],
  ['SVCB', '0001 00 0004 0003 c00002'],
  ['SVCB', '0001 00 0006 0004 20010db8'],
  ['HTTPS', '0001 00 0003 0003 003500'],
  ['HTTPS', '0001 00 ffff 0000'],
  ['OPT', '000a 0008 0102'],
  ['OPT', '000a'],
  ['TSIG', '00 000000000001 012c 0010 00'],
  ['TSIG', '00 000000000001 012c 0000 0007 0000 0000 00'],
  ['TSIG', '00 000000000001 012c 0000 0007 0000 0002 00'],
  ['TKEY', '00 00000000 00000000 0003 0000 0001'],
  ['URI', '000a00'],
  ['EUI48', '00005e0053'],
  ['EUI64', '00005e0053'],
  ['LOC', '00 12 16 13 80000000 80000000'],
  ['LOC', '00 1a 16 13 80000000 80000000 00989680'],
  ['LOC', ''],
  ['APL', '0001 15 05 c0a8200000'],
  ['APL', '0001 21 01 c0'],
  ['APL', '0001 15 03 c0a8'],
  ['IPSECKEY', '0a 04 02'],
  ['IPSECKEY', '0a 00 00 01'],
  // RFC 4025 §2.4: a non-zero algorithm comes with a key.
  ['IPSECKEY', '0a 00 02'],
  ['IPSECKEY', '0a 01 02 c0000226'],
  ['IPSECKEY', '0a 01 02 c000'],
  ['AMTRELAY', '0a 01 cb0071'],
  ['AMTRELAY', '0a 05'],
  ['HIP', '02 02 0003 aabb 0102'],
  ['HIP', '00 02 0000'],
  ['ZONEMD', '00000001 01 01 0011223344556677889900'],
  // RFC 8976 §2.2.4: SHA-384 (1) and SHA-512 (2) digests are never truncated.
  ['ZONEMD', `00000001 01 01 ${'ab'.repeat(12)}`],
  ['ZONEMD', `00000001 01 02 ${'ab'.repeat(48)}`],
  ['ZONEMD', `00000001 f1 02 ${'ab'.repeat(65)}`],
  ['CSYNC', '00000001 00'],
  ['DHCID', ''],
  ['OPENPGPKEY', ''],
  ['RP', '00'],
  ['PX', '0001 00'],
  ['KX', '0001'],
  ['WKS', '0a000001'],
  ['ISDN', '0161 0162 0163'],
  ['X25', ''],
  ['GPOS', '0131 0131'],
];

describe('malformed wire RDATA throws WireFormatError', () => {
  for (const [typeName, rdata] of malformed) {
    test(`${typeName} ${rdata || '(empty)'}`, () => {
      const b = bytes(rdata);
      assert.throws(
        () => readRdata(b, 0, b.length, typeOf(typeName)),
        (e: unknown) =>
          e instanceof WireFormatError && (e.code === 'DNS_ERR_RDATA' || e.code === 'DNS_ERR_NAME'),
      );
      // The generic text form must be refused for the same octets.
      assert.throws(
        () => rdataFromText(typeOf(typeName), tokens(`\\# ${b.length} ${hex(b)}`), origin),
        isTextError(/\\#/),
      );
    });
  }
  test('unknown types take any octets (RFC 3597)', () => {
    const b = bytes('c0 01 ff');
    assert.equal(hex(readRdata(b, 0, 3, 65280)), 'c001ff');
    assert.equal(rdataToText(65280, b), '\\# 3 c001ff');
  });
  test('rdataToText falls back to the generic form for a bad layout', () => {
    assert.equal(rdataToText(RRType.A, bytes('0102')), '\\# 2 0102');
    assert.equal(rdataToText(RRType.NULL, bytes('0102')), '\\# 2 0102');
  });
});

// [type, text, field the message must name]
const badText: [string, string, RegExp][] = [
  ['MX', '70000 mail.', /MX preference: '70000' is not a 16-bit number/],
  ['MX', '10', /MX exchange: missing/],
  ['MX', '10 a. b.', /MX: unexpected 'b\.'/],
  ['A', '1.2.3', /A address: '1\.2\.3' is not an IPv4 address/],
  ['A', '1.2.3.256', /A address/],
  ['A', '01.2.3.4', /A address/],
  ['AAAA', '1:2:3:4:5:6:7:8:9', /AAAA address/],
  ['AAAA', '1::2::3', /AAAA address/],
  ['AAAA', '192.0.2.1', /AAAA address/],
  ['SOA', 'a. b. 1 2 3 4', /SOA minimum: missing/],
  ['SOA', 'a. b. -1 2 3 4 5', /SOA serial/],
  ['SOA', 'a. b. 1 2x 3 4 5', /SOA refresh/],
  ['TXT', '', /TXT text/],
  // Only TXT and SPF split long strings; other character-string fields keep the limit.
  ['HINFO', `"${'a'.repeat(256)}" "x"`, /HINFO CPU: character-string longer than 255/],
  ['NAPTR', `1 2 "" "" "${'a'.repeat(256)}" .`, /NAPTR regexp: character-string longer than 255/],
  ['AVC', `"${'a'.repeat(256)}"`, /AVC text: character-string longer than 255/],
  ['TXT', '"\\256"', /TXT text/],
  ['HINFO', '"a"', /HINFO OS: missing/],
  ['CAA', '0 is-sue "x"', /CAA tag/],
  ['CAA', '256 issue "x"', /CAA flags/],
  ['SSHFP', '1 1 abc', /SSHFP fingerprint.*odd/],
  ['SSHFP', '1 1', /SSHFP fingerprint: missing/],
  ['TLSA', '3 1 1 zz', /TLSA certificate association data/],
  ['DS', '1 8 2', /DS digest: missing/],
  ['DS', '1 FOO 2 00', /DS algorithm/],
  ['DNSKEY', '257 3 8 AQI', /DNSKEY public key: 'AQI' is not base64/],
  ['DNSKEY', '257 3 8 AQJ=', /DNSKEY public key.*canonical/],
  ['RRSIG', 'A 8 2 300 20201301000000 20191201000000 1 e. AA==', /RRSIG signature expiration/],
  ['RRSIG', 'A 8 2 300 20200101000000 4294967296 1 e. AA==', /RRSIG signature inception/],
  ['RRSIG', 'BOGUS 8 2 300 1 1 1 e. AA==', /RRSIG type covered/],
  ['NSEC', 'a. A BOGUS', /NSEC type list: 'BOGUS'/],
  ['NSEC3', '1 0 0 - 2T7B4G4VZ A', /NSEC3 next hashed owner name/],
  ['NSEC3', '1 0 0 zz 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A', /NSEC3 salt/],
  ['NSEC3PARAM', '1 0 65536 -', /NSEC3PARAM iterations/],
  ['SVCB', '1 . port=70000', /SVCB port/],
  ['SVCB', '1 . alpn', /SVCB alpn: a value is required/],
  ['SVCB', '1 . alpn=h2 alpn=h3', /appears twice/],
  ['SVCB', '1 . mandatory=port', /mandatory key port is missing/],
  ['SVCB', '1 . mandatory=mandatory', /mandatory/],
  ['SVCB', '1 . no-default-alpn', /no-default-alpn requires alpn/],
  ['SVCB', '1 . no-default-alpn=x alpn=h2', /takes no value/],
  ['SVCB', '1 . ipv4hint=1.2.3', /SVCB ipv4hint/],
  ['SVCB', '1 . ipv6hint=1.2.3.4', /SVCB ipv6hint/],
  ['SVCB', '1 . key65535=x', /not a SvcParamKey/],
  ['SVCB', '1 . tls-supported-groups=29,23,29', /duplicate group/],
  ['SVCB', '1 . ohttp=', /'ohttp=' has '=' but no value/],
  ['KEY', '256 3 5', /KEY public key: missing/],
  ['NSEC3', '0 0 0 - CPNMUO==', /NSEC3 next hashed owner name.*padding/],
  ['LOC', '0 60 N 0 E 0', /LOC latitude/],
  ['LOC', '0 0 60 N 0 E 0', /LOC latitude/],
  ['SVCB', '1 . foo=x', /'foo' is not a SvcParamKey/],
  ['SVCB', '1 . alpn=h2,,h3', /empty item/],
  ['SVCB', '1 . docpath=a,,b', /empty item/],
  ['SVCB', '1 . alpn=h\\\\2', /value list/],
  ['EUI48', '00-00-5e-00-53', /EUI48 address/],
  ['ZONEMD', '1 1 240 00112233', /ZONEMD digest: shorter than 12/],
  // RFC 8976 §2.2.4: SHA-384 and SHA-512 digests are never truncated (BIND refuses these too).
  ['ZONEMD', '1 1 1 1a6e359fc97bfaaf380f39eb', /ZONEMD digest: 12 octets, hash algorithm 1 gives 48/],
  [
    'ZONEMD',
    '1 241 1 1a6e359fc97bfaaf380f39eb49a44968db34c359',
    /ZONEMD digest: 20 octets, hash algorithm 1 gives 48/,
  ],
  [
    'ZONEMD',
    '1 1 2 1a6e359fc97bfaaf380f39eb49a44968db34c359cc6d4965aa6b7ff6feb36ffd59cd11202d9c43be81fd995681686260',
    /ZONEMD digest: 48 octets, hash algorithm 2 gives 64/,
  ],
  // RFC 4025 §2.4: only algorithm 0 goes without a key (BIND refuses this too).
  ['IPSECKEY', '10 1 2 192.0.2.38', /IPSECKEY public key: missing \(algorithm 2\)/],
  // RFC 5155 §3.1.7: a SHA-1 next hashed owner has 20 octets (BIND bad-nsec3-length.db).
  [
    'NSEC3',
    '1 0 10 76931F IMQ912BREQP1POLAH3RMONG A',
    /NSEC3 next hashed owner name: 14 octets, hash algorithm 1 gives 20/,
  ],
  ['NSEC3', '1 0 0 - 00', /NSEC3 next hashed owner name: 1 octets, hash algorithm 1 gives 20/],
  // WKS services by name: only the built-in table, and per protocol.
  ['WKS', '10.0.0.1 tcp bogus', /WKS port: 'bogus' is not a port number or a known service name/],
  ['WKS', '10.0.0.1 udp login', /WKS port: 'login'/],
  ['WKS', '10.0.0.1 tcp 65536', /WKS port: '65536' is not a 16-bit number/],
  ['LOC', '91 N 0 E 0', /LOC latitude/],
  ['LOC', '0 X 0 E 0', /LOC latitude/],
  ['LOC', '0 N 0 E 0 90000001m', /LOC size/],
  ['APL', '3:1.2.3.4/8', /APL item/],
  ['APL', '1:1.2.3.4/33', /APL item prefix/],
  ['AMTRELAY', '0 2 0 .', /AMTRELAY discovery optional/],
  ['AMTRELAY', '0 0 1 .', /AMTRELAY relay/],
  ['IPSECKEY', '10 0 2 gw.example. AQID', /IPSECKEY gateway: must be '\.'/],
  ['NULL', '01', /no presentation format/],
  ['TYPE65280', '01', /no presentation format/],
  ['TYPE65280', '\\# 2 01', /\\# data: 1 octets, length says 2/],
  ['A', '\\# 3 010203', /A \\# data/],
  ['CNAME', 'a..b.', /CNAME target/],
  ['NS', 'relative', /NS target/],
];

describe('rdataFromText errors name the field', () => {
  for (const [typeName, text, re] of badText) {
    test(`${typeName} ${text.slice(0, 50)}`, () => {
      const o = typeName === 'NS' && text === 'relative' ? undefined : origin;
      assert.throws(() => rdataFromText(typeOf(typeName), tokens(text), o), isTextError(re));
    });
  }
});

describe('RFC 9460 Appendix D SVCB test vectors', () => {
  const textFile = sharedFile('dnspython/svcb_test_vectors.text');
  const genericFile = sharedFile('dnspython/svcb_test_vectors.generic');
  test('presentation and generic forms give the same wire', {
    skip: textFile.skip || genericFile.skip,
  }, () => {
    // One record per paragraph-free chunk: split on lines that start a record (not indented,
    // not a comment), joining parenthesised continuations.
    const records = (path: string): string[] => {
      const out: string[] = [];
      let cur = '';
      let depth = 0;
      for (const raw of readFileSync(path, 'latin1').split('\n')) {
        const line = raw.replace(/;.*$/, '');
        if (depth === 0 && line.trim() === '') continue;
        cur += ` ${line}`;
        depth += (line.match(/\(/g) ?? []).length - (line.match(/\)/g) ?? []).length;
        if (depth === 0) {
          out.push(cur.trim());
          cur = '';
        }
      }
      return out;
    };
    const texts = records(textFile.path);
    const generics = records(genericFile.path);
    assert.equal(texts.length, generics.length);
    assert.ok(texts.length >= 9);
    for (let i = 0; i < texts.length; i++) {
      const fromText = rdataFromText(RRType.SVCB, tokens(texts[i]), undefined);
      const fromGeneric = rdataFromText(RRType.SVCB, tokens(generics[i]), undefined);
      assert.equal(hex(fromText), hex(fromGeneric), texts[i]);
      const printed = rdataToText(RRType.SVCB, fromText);
      assert.equal(hex(rdataFromText(RRType.SVCB, tokens(printed), undefined)), hex(fromText), printed);
    }
  });
  test('escaped comma and backslash in alpn: both Appendix D spellings, one wire form', () => {
    // RFC 9460 Appendix D.2 writes this value quoted and unquoted: compare octets, not text.
    const quoted = rdataFromText(
      RRType.SVCB,
      tokens('16 foo.example.org. alpn="f\\\\\\\\oo\\\\,bar,h2"'),
      undefined,
    );
    const bare = rdataFromText(
      RRType.SVCB,
      tokens('16 foo.example.org. alpn=f\\\\\\092oo\\092,bar,h2'),
      undefined,
    );
    assert.equal(hex(bare), hex(quoted));
    assert.equal(
      hex(quoted),
      `0010 03666f6f076578616d706c65036f726700 0001 000c 08 665c6f6f2c626172 02 6832`.replace(/\s/g, ''),
    );
    // No blank, quote, ';' or parenthesis in it: printed unquoted, escapes as RFC 9460 A.1.
    assert.equal(rdataToText(RRType.SVCB, quoted), '16 foo.example.org. alpn=f\\\\\\\\oo\\\\,bar,h2');
  });
  test('quoted value handed over as a separate token (lexer splits at the quote)', () => {
    const toks: TextToken[] = [
      { text: '1', quoted: false },
      { text: '.', quoted: false },
      { text: 'alpn=', quoted: false },
      { text: 'h2,h3', quoted: true },
      { text: 'key667=', quoted: false },
      { text: 'hello\\210qoo', quoted: true },
    ];
    assert.equal(
      rdataToText(RRType.SVCB, rdataFromText(RRType.SVCB, toks, undefined)),
      '1 . alpn=h2,h3 key667="hello\\210qoo"',
    );
  });
  test('alias mode target and unsorted keys in presentation are sorted on the wire', () => {
    const rd = wireOf('SVCB', '16 foo.example.org. ipv4hint=192.0.2.1 alpn=h2,h3-19 mandatory=ipv4hint,alpn');
    assert.equal(
      rdataToText(RRType.SVCB, rd),
      '16 foo.example.org. mandatory=alpn,ipv4hint alpn=h2,h3-19 ipv4hint=192.0.2.1',
    );
  });
});

describe('TXT and SPF strings longer than 255 octets (split as Knot and PowerDNS do)', () => {
  /** The character-strings of TXT RDATA, as latin1 text. */
  const strings = (rd: Uint8Array): string[] => {
    const out: string[] = [];
    for (let p = 0; p < rd.length; p += 1 + rd[p])
      out.push(Buffer.from(rd.subarray(p + 1, p + 1 + rd[p])).toString('latin1'));
    return out;
  };
  test('256 octets: one string of 255 and one of 1; printed as the two strings', () => {
    const rd = wireOf('TXT', `"${'a'.repeat(256)}"`);
    assert.equal(hex(rd), `ff${'61'.repeat(255)}0161`);
    assert.equal(rdataToText(RRType.TXT, rd), `"${'a'.repeat(255)}" "a"`);
  });
  test('exact multiples of 255 leave no empty string behind', () => {
    assert.deepEqual(
      strings(wireOf('TXT', `"${'b'.repeat(510)}"`)).map((x) => x.length),
      [255, 255],
    );
    assert.deepEqual(
      strings(wireOf('TXT', `"${'b'.repeat(511)}"`)).map((x) => x.length),
      [255, 255, 1],
    );
    assert.deepEqual(
      strings(wireOf('TXT', `"${'b'.repeat(255)}"`)).map((x) => x.length),
      [255],
    );
  });
  test('a 2048-bit DKIM key written as one string reads back as the same concatenation', () => {
    const key = Buffer.from(Array.from({ length: 294 }, (_, i) => (i * 37 + 11) & 0xff)).toString('base64');
    const value = `v=DKIM1; k=rsa; p=${key}`;
    for (const type of ['TXT', 'SPF']) {
      const rd = wireOf(type, `"${value}"`);
      const parts = strings(rd);
      assert.deepEqual(
        parts.map((x) => x.length),
        [255, value.length - 255],
      );
      // RFC 6376 §3.6.2.2: the verifier concatenates the strings.
      assert.equal(parts.join(''), value);
      const printed = rdataToText(typeOf(type), rd);
      assert.equal(hex(rdataFromText(typeOf(type), tokens(printed), origin)), hex(rd));
    }
  });
  test('the split counts octets after escapes, and other strings stay as written', () => {
    // 254 letters and a two-octet UTF-8 character: the split falls between its octets (Knot).
    const rd = wireOf('TXT', `"x" "${'c'.repeat(254)}\\195\\169" ""`);
    assert.deepEqual(
      strings(rd).map((x) => x.length),
      [1, 255, 1, 0],
    );
    assert.equal(rd[1 + 1 + 1 + 255], 1);
    assert.equal(rd[1 + 1 + 1 + 255 + 1], 169);
  });
  test('RDATA over 65535 octets is still refused', () => {
    assert.throws(() => wireOf('TXT', `"${'d'.repeat(65280)}"`), isTextError(/TXT: RDATA longer than 65535/));
  });
});

describe('texts that need care', () => {
  test('RRSIG times: 14 digits are a date, other integers are seconds', () => {
    const a = wireOf('RRSIG', 'A 8 2 300 20200101000000 1577836800 1 e. AA==');
    const view = new DataView(a.buffer, a.byteOffset);
    assert.equal(view.getUint32(8), 1577836800);
    assert.equal(view.getUint32(12), 1577836800);
  });
  test('RRSIG dates of any year 0000-9999 are their seconds since 1970 modulo 2^32 (RFC 4034 §3.1.5)', () => {
    const times = (exp: string, inc: string) => {
      const w = wireOf('RRSIG', `A 8 2 300 ${exp} ${inc} 1 e. AA==`);
      const v = new DataView(w.buffer, w.byteOffset);
      return [v.getUint32(8), v.getUint32(12)];
    };
    // The wrap point and the second before it, from both sides.
    assert.deepEqual(times('21060207062816', '21060207062815'), [0, 2 ** 32 - 1]);
    assert.deepEqual(times('19691231235959', '19700101000000'), [2 ** 32 - 1, 0]);
    // Past 2106: one wrap (Knot's 36_RRSIG.in reads 22251231235959 as E1853CFF).
    assert.deepEqual(times('22251231235959', '21060207062817'), [0xe1853cff, 1]);
    // Before 1970, years below 100 included (not read as 19xx): the values named-checkzone
    // 9.18 prints for these dates (BIND's crashzone.db holds the first).
    const [y10, y0] = times('00100227180048', '00000101000000');
    assert.equal(
      rdataToText(RRType.RRSIG, wireOf('RRSIG', `A 8 2 300 ${y10} ${y0} 1 e. AA==`)).split(' ')[4],
      '20510909190448',
    );
    assert.equal(
      rdataToText(RRType.RRSIG, wireOf('RRSIG', `A 8 2 300 ${y0} ${y0} 1 e. AA==`)).split(' ')[4],
      '20410713010400',
    );
    // Not dates: month 13, Feb 30, hour 24.
    for (const bad of ['20201301000000', '20210230000000', '20200101240000'])
      assert.throws(() => times(bad, '0'), isTextError(/RRSIG signature expiration/));
  });
  test('WKS services by name: the built-in table, per protocol, case-insensitive', () => {
    // nsd/zones/rr-wks/rr-wks.zone: tcpmux=1, ftp=21, telnet=23, smtp=25.
    assert.equal(
      hex(wireOf('WKS', '10.0.0.1 tcp 0 tcpmux 2 ftp telnet smtp 26')),
      hex(wireOf('WKS', '10.0.0.1 6 0 1 2 21 23 25 26')),
    );
    assert.equal(hex(wireOf('WKS', '10.0.0.1 TCP SMTP Domain')), hex(wireOf('WKS', '10.0.0.1 6 25 53')));
    assert.equal(hex(wireOf('WKS', '10.0.0.1 udp syslog domain')), hex(wireOf('WKS', '10.0.0.1 17 514 53')));
    assert.equal(hex(wireOf('WKS', '10.0.0.1 tcp login')), hex(wireOf('WKS', '10.0.0.1 6 513')));
    // Printed as numbers, which read back.
    assert.equal(rdataToText(RRType.WKS, wireOf('WKS', '10.0.0.1 tcp ftp smtp')), '10.0.0.1 6 21 25');
  });
  test('IPSECKEY: algorithm 0 goes without a key, any other algorithm needs one (RFC 4025 §2.4)', () => {
    assert.equal(hex(wireOf('IPSECKEY', '10 0 0 .')), '0a0000');
    assert.equal(hex(wireOf('IPSECKEY', '10 1 0 192.0.2.38')), '0a0100c0000226');
    assert.throws(() => wireOf('IPSECKEY', '10 0 2 .'), isTextError(/IPSECKEY public key: missing/));
    assert.throws(() => wireOf('IPSECKEY', '10 0 0 . AQID'), isTextError(/IPSECKEY/));
  });
  test('NSEC3: SHA-1 hashes are 20 octets; unknown hash algorithms take any length (RFC 5155)', () => {
    assert.equal(wireOf('NSEC3', '1 0 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR').length, 26);
    assert.equal(hex(wireOf('NSEC3', '2 0 10 76931F IMQ912BREQP1POLAH3RMONG A')).slice(16, 18), '0e');
    assert.equal(hex(wireOf('NSEC3', '0 0 0 - 00======')), '00000000000100');
  });
  test('TXT keeps octets >= 0x80 as \\DDD and reads latin1 token text as octets', () => {
    const rd = rdataFromText(RRType.TXT, [{ text: 'caf\xe9', quoted: true }], origin);
    assert.equal(hex(rd), '04636166e9');
    assert.equal(rdataToText(RRType.TXT, rd), '"caf\\233"');
  });
  test('base64 and hex fields may span tokens', () => {
    assert.equal(hex(wireOf('DNSKEY', '257 3 8 AQ ID')), '01010308010203');
    assert.equal(hex(wireOf('DS', '1 8 2 ab cd')), '00010802abcd');
  });
  test('readSoa decodes RDATA', () => {
    const soa = readSoa(wireOf('SOA', 'ns. mail. 7 1 2 3 4'));
    assert.equal(soa.mname.toString(), 'ns.');
    assert.equal(soa.serial, 7);
    assert.equal(soa.minimum, 4);
  });
  test('readSoa rejects a short SOA with a typed error', () => {
    assert.throws(() => readSoa(bytes('0000')), WireFormatError);
    assert.throws(() => readSoa(bytes('05')), WireFormatError);
  });
});
