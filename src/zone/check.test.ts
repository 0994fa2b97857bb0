import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Name } from '../wire/name.js';
import { checkRecords, checkZone, keyTag, type ZoneFinding } from './check.js';
import { ColumnZone } from './column-zone.js';
import { parseZoneText } from './parser.js';
import { Zone } from './zone.js';

const HEAD = `$ORIGIN example.
$TTL 300
@      SOA  ns hostmaster 1 7200 3600 1209600 300
@      NS   ns
ns     A    192.0.2.53
`;

/** checkZone's findings of the zone as a `Zone`, the same as of the zone as a `ColumnZone`. */
function findings(body: string, head = HEAD, origin = 'example.'): ZoneFinding[] {
  const records = parseZoneText(head + body, { origin });
  const zone = Zone.build(Name.parse(origin), records);
  const got = checkZone(zone, records);
  // Most names of a ColumnZone are checked from its columns, without a node (check.ts).
  assert.deepEqual(checkZone(ColumnZone.build(Name.parse(origin), records), records), got);
  return got;
}

function errors(body: string, head = HEAD): string[] {
  return findings(body, head)
    .filter((f) => f.severity === 'error')
    .map((f) => `${f.name} ${f.message}`);
}

function warnings(body: string, head = HEAD): string[] {
  return findings(body, head)
    .filter((f) => f.severity === 'warning')
    .map((f) => `${f.name} ${f.message}`);
}

describe('checkZone', () => {
  test('a clean zone has no findings', () => {
    assert.deepEqual(findings('www A 192.0.2.1\n@ MX 10 www\nsub NS ns.sub\nns.sub A 192.0.2.9\n'), []);
  });

  test('signed zones (served as received): the obvious is reported as warnings, never errors', () => {
    const sig = (covered: string) =>
      `RRSIG ${covered} 13 2 300 20300101000000 20200101000000 1 example. ${'A'.repeat(86)}==`;
    const key = `DNSKEY 257 3 13 ${Buffer.alloc(64, 7).toString('base64')}`;
    // RRSIG without DNSKEY: answered unsigned.
    assert.deepEqual(warnings(`www A 192.0.2.1\nwww ${sig('A')}\n`), [
      'example. 1 RRSIG records but no DNSKEY at the apex: the zone is answered unsigned',
    ]);
    // NSEC3PARAM without NSEC3.
    assert.deepEqual(warnings('@ NSEC3PARAM 1 0 0 -\n'), [
      'example. NSEC3PARAM without NSEC3 records (RFC 5155 §4): negative answers carry no proof',
    ]);
    // DNSKEY without RRSIG at the apex.
    assert.deepEqual(warnings(`@ ${key}\n`), [
      'example. DNSKEY at the apex but no RRSIG there: the zone is answered unsigned',
    ]);
    // A signed zone: RRsets without RRSIG and no NSEC/NSEC3 chain; the NS of a cut and glue are unsigned by rule.
    const signed = `@ ${key}\n@ ${sig('DNSKEY')}\n@ ${sig('SOA')}\n@ ${sig('NS')}\nns ${sig('A')}\nsub NS ns.sub\nns.sub A 192.0.2.9\nwww A 192.0.2.1\n`;
    assert.deepEqual(warnings(signed), [
      'example. signed zone without NSEC or NSEC3 records: negative answers carry no proof',
      'example. 1 RRsets have no RRSIG (first: www.example. A): served as received, validators will reject them',
    ]);
    assert.deepEqual(errors(signed), []);
  });

  test('apex without NS is an error', () => {
    const head = '$ORIGIN example.\n$TTL 300\n@ SOA ns hostmaster 1 2 3 4 5\n';
    assert.deepEqual(errors('', head), ['example. no NS records at the zone apex']);
  });

  test('CNAME and other data (RFC 1034 §3.6.2); RRSIG/NSEC allowed beside', () => {
    assert.deepEqual(errors('alias CNAME ns\nalias TXT "x"\n'), [
      'alias.example. CNAME and other data (TXT) (RFC 1034 §3.6.2)',
    ]);
    assert.deepEqual(errors('alias CNAME ns\nalias NSEC zz A\n'), []);
    // BIND bad-cname-and-key.db loads: KEY may sit beside a CNAME (RFC 2065 §2.3.5).
    assert.deepEqual(errors('alias CNAME ns\nalias KEY 0 3 1 AQMFD5ra\n'), []);
    assert.deepEqual(errors('@ CNAME ns\n'), [
      'example. CNAME and other data (SOA) (RFC 1034 §3.6.2)',
      'example. CNAME and other data (NS) (RFC 1034 §3.6.2)',
    ]);
  });

  test('more than one CNAME at a name', () => {
    assert.deepEqual(errors('alias CNAME a\nalias CNAME b\n'), [
      'alias.example. 2 CNAME records at one name (RFC 2181 §10.1)',
    ]);
  });

  test('data below a DNAME (RFC 6672), DNAME beside NS, several DNAMEs', () => {
    assert.deepEqual(errors('d DNAME example.net.\nx.d A 192.0.2.1\n'), [
      'x.d.example. data below the DNAME at d.example. (RFC 6672 §2.4)',
    ]);
    assert.deepEqual(errors('d DNAME a.\nd DNAME b.\n'), [
      'd.example. 2 DNAME records at one name (RFC 6672 §2.4)',
    ]);
    // BIND good1.db: a DNAME at a delegation point is occluded, not an error.
    assert.deepEqual(errors('d DNAME a.\nd NS ns.other.\n'), []);
    assert.deepEqual(warnings('d DNAME a.\nd NS ns.other.\n'), [
      'd.example. DNAME at a delegation point is occluded (not served)',
    ]);
    // An NS target below a DNAME has no address in this zone.
    assert.deepEqual(errors('@ DNAME example.net.\n', HEAD.replace('ns     A    192.0.2.53\n', '')), [
      "example. NS 'ns.example.' is below the DNAME at example.",
    ]);
  });

  test('occluded data below a delegation is a warning; glue is not', () => {
    assert.deepEqual(warnings('sub NS ns.sub\nns.sub A 192.0.2.9\nwww.sub TXT "hidden"\nsub MX 1 ns\n'), [
      'sub.example. MX at a delegation point is occluded (not served)',
      'www.sub.example. TXT occluded by the delegation at sub.example. (not served)',
    ]);
  });

  test('missing glue below a delegation (warning, as BIND); sibling glue', () => {
    assert.deepEqual(warnings('sub NS ns.sub\n'), [
      "sub.example. NS 'ns.sub.example.' has no required glue address records (A or AAAA)",
    ]);
    assert.deepEqual(warnings('sub NS ns.sub\nsub2 NS ns.sub\n'), [
      "sub.example. NS 'ns.sub.example.' has no required glue address records (A or AAAA)",
      "sub2.example. NS 'ns.sub.example.' has no sibling glue address records (A or AAAA)",
    ]);
  });

  test('in-zone NS target without an address: error at the apex, warning at a delegation', () => {
    assert.deepEqual(errors('@ NS ns9\n'), ["example. NS 'ns9.example.' has no address records (A or AAAA)"]);
    assert.deepEqual(warnings('sub NS ns9\n'), [
      "sub.example. NS 'ns9.example.' has no address records (A or AAAA)",
    ]);
    assert.deepEqual(findings('@ NS ns.example.net.\n'), []);
  });

  test('an occluded NS RRset is not checked (BIND good-occulted-ns-by-ns)', () => {
    assert.deepEqual(errors('foo NS ns.example.net.\nbar.foo NS x.foo\n'), []);
  });

  test('MX/SRV targets that are CNAMEs or have no address: warnings', () => {
    assert.deepEqual(
      warnings('alias CNAME ns\n@ MX 10 alias\n_s._tcp SRV 1 1 1 alias\n@ MX 20 nowhere\n@ MX 0 .\n'),
      [
        "example. MX 'alias.example.' is a CNAME (RFC 2181 §10.3)",
        "example. MX 'nowhere.example.' has no address records (A or AAAA)",
        "_s._tcp.example. SRV 'alias.example.' is a CNAME (RFC 2181 §10.3)",
      ],
    );
    assert.deepEqual(errors('alias CNAME ns\n@ MX 10 alias\n'), []);
  });

  test('NSEC3 owner labels must be unpadded base32hex (BIND bad-nsec3owner-padded.db)', () => {
    assert.deepEqual(errors('CPNMU=== NSEC3 2 1 12 aabbccdd CPNMU MX\n'), [
      "CPNMU===.example. NSEC3 owner label 'CPNMU===' is not unpadded base32hex (RFC 5155 §3)",
    ]);
    assert.deepEqual(
      errors('0p9mhaveqvm6t7vbl5lop2u3t2rp3tom NSEC3 1 1 12 aabbccdd 2t7b4g4vsa5smi47k61mv5bv1a22bojr A\n'),
      [],
    );
  });

  test('NSEC3 records below an apex DNAME are not data below the DNAME', () => {
    const head =
      '$ORIGIN example.\n$TTL 300\n@ SOA ns.example.net. h 1 2 3 4 5\n@ NS ns.example.net.\n@ DNAME example.net.\n';
    assert.deepEqual(
      errors(
        '0p9mhaveqvm6t7vbl5lop2u3t2rp3tom NSEC3 1 1 12 aabbccdd 2t7b4g4vsa5smi47k61mv5bv1a22bojr A\n',
        head,
      ),
      [],
    );
    assert.deepEqual(errors('www A 192.0.2.1\n', head), [
      'www.example. data below the DNAME at example. (RFC 6672 §2.4)',
    ]);
  });

  test('DS at the apex is an error (BIND bad-ds.db)', () => {
    assert.deepEqual(
      errors('@ DS 14364 10 2 FD03B2312C8F0FE72C1751EFA1007D743C94EC91594FF0047C23C37CE119BA0C\n'),
      ['example. DS record at the top of the zone (RFC 4035 §2.4)'],
    );
  });

  test('DS away from a delegation point is a warning (BIND bad-ds-2.db loads too)', () => {
    assert.deepEqual(
      warnings('foo DS 14364 10 2 FD03B2312C8F0FE72C1751EFA1007D743C94EC91594FF0047C23C37CE119BA0C\n'),
      ['foo.example. DS record at a name that is not a delegation point (RFC 4035 §2.4)'],
    );
  });

  test('glue below a delegation that also holds an (occluded) DNAME is glue (BIND good1.db)', () => {
    const body = 'nd NS ns.nd\nnd DNAME example.com.\nns.nd A 192.0.2.7\n';
    assert.deepEqual(errors(body), []);
    assert.deepEqual(warnings(body), ['nd.example. DNAME at a delegation point is occluded (not served)']);
  });

  test('TTL mismatch in an RRset comes from Zone.build as a warning', () => {
    const w = warnings('www 300 A 192.0.2.1\nwww 600 A 192.0.2.2\n');
    assert.equal(w.length, 1);
    assert.match(w[0], /^www\.example\. TTL 600 differs/);
  });
});

describe('CDS and CDNSKEY match the DNSKEY RRset (RFC 7344 §4.1; BIND bad-cds.db, bad-cdnskey.db)', () => {
  // A P-256 key made for this test; the DS digests are dnssec-dsfromkey's (BIND 9.18).
  const KEY =
    '257 3 13 miyCj+OQNu258tTdaFg+o3Gp430M/Ak4ZOIi4YJCGipD8PSscAJoU8FDdi9uN5aGGl/iOW4e0e6QTSsKlAaTvA==';
  const SHA256 = '21DEBC1EC535E7A0A1C9C9B0C5477EB2CE294893ED87314547F840C7C48D3C4D';
  const SHA1 = '707DB92EA0F8B4B6AFF8A64199891437F09F8FA9';
  const SHA384 =
    '39DC3DE84B09974CCAA1DF4B1EB2116F3BAA0BF0E075A9FEDAF756C2F0D106E74E931B71CF5FED24BAAB90C4DA7CC32B';

  test('the key tag (RFC 4034 appendix B)', () => {
    const records = parseZoneText(`${HEAD}@ DNSKEY ${KEY}\n`, { origin: 'example.' });
    const dnskey = records.find((r) => r.type === 48);
    assert.ok(dnskey);
    assert.equal(keyTag(dnskey.rdata), 28037);
  });

  test('CDS of every digest type we compute, CDNSKEY equal to the DNSKEY, and the RFC 8078 delete forms pass', () => {
    const body = `@ DNSKEY ${KEY}\n@ CDS 28037 13 2 ${SHA256}\n@ CDS 28037 13 1 ${SHA1}\n@ CDS 28037 13 4 ${SHA384}\n@ CDNSKEY ${KEY}\n`;
    assert.deepEqual(errors(body), []);
    assert.deepEqual(errors('@ CDS 0 0 0 00\n@ CDNSKEY 0 3 0 AA==\n'), []);
    // A digest type we cannot compute is not judged.
    assert.deepEqual(errors(`@ DNSKEY ${KEY}\n@ CDS 28037 13 99 00112233\n`), []);
  });

  test('a CDS or CDNSKEY for a key the zone does not publish is an error', () => {
    const wrongDigest = SHA256.replace(/D$/, 'E');
    assert.deepEqual(errors(`@ DNSKEY ${KEY}\n@ CDS 28037 13 2 ${wrongDigest}\n`), [
      'example. CDS 28037 13 2 is the digest of no DNSKEY of the zone (RFC 7344 §4.1)',
    ]);
    assert.deepEqual(errors(`@ DNSKEY ${KEY}\n@ CDS 28037 8 2 ${SHA256}\n`), [
      'example. CDS 28037 8 2 is the digest of no DNSKEY of the zone (RFC 7344 §4.1)',
    ]);
    assert.deepEqual(errors(`@ CDS 28037 13 2 ${SHA256}\n`), [
      'example. CDS 28037 13 2 is the digest of no DNSKEY of the zone (RFC 7344 §4.1)',
    ]);
    assert.deepEqual(errors(`@ DNSKEY ${KEY}\n@ CDNSKEY ${KEY.replace('257', '256')}\n`), [
      'example. CDNSKEY matches no DNSKEY of the zone (RFC 7344 §4.1)',
    ]);
  });
});

describe('check-names (BIND policy, warnings only)', () => {
  const names = (body: string, head = HEAD) =>
    findings(body, head)
      .filter((f) => f.code === 'ZONE_CHECK_NAMES')
      .map((f) => {
        assert.equal(f.severity, 'warning');
        return `${f.name} ${f.message.replace(/ \(.*\)$/, '')}`;
      });

  test('underscore names where BIND allows any name give no finding', () => {
    // RFC 8552 attribute leaves, SRV owners, DKIM, DNS-SD, alias-mode SVCB, KX targets.
    const body = [
      '_dmarc TXT "v=DMARC1; p=none"',
      '_acme-challenge.www TXT "token"',
      'sel._domainkey TXT "v=DKIM1; p="',
      '_sip._tcp SRV 10 5 5060 sip',
      'sip A 192.0.2.7',
      '_443._tcp.www TLSA 3 1 1 00',
      '_svc HTTPS 0 _alias.example.net.',
      'c_name CNAME x_y.example.net.',
      'kx KX 1 a_b.example.net.',
      '_x._dns-sd._udp PTR a_b.example.net.',
      '*.wild A 192.0.2.8',
      '1digit A 192.0.2.9',
      // BIND's exceptions for A owners: Active Directory and SPF exists: targets.
      'gc._msdcs A 192.0.2.10',
      '%{i}._spf A 127.0.0.2',
      'a._spf_rate.x A 127.0.0.2',
      'a._spf_verify A 127.0.0.2',
      'null MX 0 .',
    ].join('\n');
    assert.deepEqual(names(`${body}\n`), []);
    // And they load: check-names never refuses a zone.
    assert.deepEqual(errors(`${body}\n`), []);
  });

  test('host-name owners (A, AAAA, MX, WKS) and host-name targets, as named-checkzone 9.18 reports them', () => {
    const body = [
      '-a A 192.0.2.1',
      'b- AAAA 2001:db8::1',
      'd_e A 192.0.2.2',
      'gc._msdcs.x_y A 192.0.2.3',
      '_m MX 10 ns',
      'm MX 10 x_y.example.net.',
      's SRV 1 1 1 _t.example.net.',
      'sv SVCB 1 _u.example.net.',
      'n NS a_b.example.net.',
      'af AFSDB 1 a_b.example.net.',
      'r RP a_b.c.example.net. .',
      'r2 RP a.b_c.example.net. .',
    ].join('\n');
    assert.deepEqual(names(`${body}\n`), [
      '-a.example. owner of A is not a host name',
      'b-.example. owner of AAAA is not a host name',
      'd_e.example. owner of A is not a host name',
      'gc._msdcs.x_y.example. owner of A is not a host name',
      '_m.example. owner of MX is not a host name',
      "m.example. MX exchange 'x_y.example.net.' is not a host name",
      "s.example. SRV target '_t.example.net.' is not a host name",
      "sv.example. SVCB target '_u.example.net.' is not a host name",
      "n.example. NS target 'a_b.example.net.' is not a host name",
      "af.example. AFSDB host 'a_b.example.net.' is not a host name",
      "r2.example. RP mailbox 'a.b_c.example.net.' is not a mailbox name",
    ]);
    // Warnings only: the zone still loads (no errors from check-names).
    assert.deepEqual(
      findings(`${body}\n`).filter((f) => f.code === 'ZONE_CHECK_NAMES' && f.severity !== 'warning'),
      [],
    );
  });

  test('owners checked from the columns: spelling, wildcards, an origin that is no host name', () => {
    const body = [
      'D_E A 192.0.2.2',
      'Ok-1 A 192.0.2.3',
      '*.x_Y A 192.0.2.4',
      '*.fine AAAA 2001:db8::1',
      '*.fine TXT "t"',
      'a.b.c-.d TXT "t"',
      'a.b.c-.d A 192.0.2.5',
      'gc._msdcs.z A 192.0.2.6',
      'sub NS ns.sub',
      'x_y.sub A 192.0.2.7',
      'ns.sub A 192.0.2.8',
    ].join('\n');
    assert.deepEqual(names(`${body}\n`), [
      'D_E.example. owner of A is not a host name',
      '*.x_Y.example. owner of A is not a host name',
      'a.b.c-.d.example. owner of A is not a host name',
      // Glue is checked too (checked from its node: it lies below a cut).
      'x_y.sub.example. owner of A is not a host name',
    ]);
    const head = '$ORIGIN x_y.example.\n$TTL 300\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.53\n';
    assert.deepEqual(
      findings('www A 192.0.2.1\ngc._msdcs A 192.0.2.2\n', head, 'x_y.example.')
        .filter((f) => f.code === 'ZONE_CHECK_NAMES')
        .map((f) => f.name),
      // The apex's SOA MNAME, RNAME and NS target, then every A owner (none is a host name).
      [
        'x_y.example.',
        'x_y.example.',
        'x_y.example.',
        'ns.x_y.example.',
        'www.x_y.example.',
        'gc._msdcs.x_y.example.',
      ],
    );
  });

  test('SOA MNAME must be a host name and RNAME a mailbox', () => {
    const head =
      '$ORIGIN example.\n$TTL 300\n@ SOA n_s host_master.x_y 1 2 3 4 5\n@ NS ns\nns A 192.0.2.53\n';
    assert.deepEqual(names('', head), [
      "example. SOA MNAME 'n_s.example.' is not a host name",
      "example. SOA RNAME 'host_master.x_y.example.' is not a mailbox name",
    ]);
  });

  test('PTR targets in reverse trees, except RFC 6763 service-discovery prefixes (BIND *-dns-sd-reverse.db)', () => {
    const head =
      '$ORIGIN 2.0.192.in-addr.arpa.\n$TTL 300\n@ SOA ns.example. h.example. 1 2 3 4 5\n@ NS ns.example.\n';
    const records = parseZoneText(
      `${head}1 PTR a_b.example.\n2 PTR ok.example.\nb._dns-sd._udp PTR !@#3.\nlb._dns-sd._tcp PTR !@#3.\n`,
      { origin: '2.0.192.in-addr.arpa.' },
    );
    const zone = Zone.build(Name.parse('2.0.192.in-addr.arpa.'), records);
    assert.deepEqual(
      checkZone(zone, records)
        .filter((f) => f.code === 'ZONE_CHECK_NAMES')
        .map((f) => f.name),
      ['1.2.0.192.in-addr.arpa.', 'lb._dns-sd._tcp.2.0.192.in-addr.arpa.'],
    );
  });
});

describe('checkRecords', () => {
  const origin = Name.parse('example.');
  const recs = (text: string) => parseZoneText(`$TTL 1\n${text}`, { origin });

  test('no SOA, several SOAs, SOA below the apex', () => {
    assert.deepEqual(
      checkRecords(origin, recs('@ NS ns\n')).map((f) => f.message),
      ['no SOA record at the zone apex'],
    );
    assert.deepEqual(
      checkRecords(origin, recs('@ SOA a b 1 2 3 4 5\n@ SOA a b 2 2 3 4 5\n')).map((f) => f.message),
      ['multiple SOA records at the zone apex (RFC 1035 §5.2)'],
    );
    assert.deepEqual(
      checkRecords(origin, recs('@ SOA a b 1 2 3 4 5\nsub SOA a b 1 2 3 4 5\n')).map((f) => f.message),
      ['SOA record not at the top of the zone (example.)'],
    );
  });

  test('an identical duplicate SOA is fine (Knot soa.duplicate); SOA not first is a warning', () => {
    assert.deepEqual(checkRecords(origin, recs('@ SOA a b 1 2 3 4 5\n@ SOA a b 1 2 3 4 5\n')), []);
    const f = checkRecords(origin, recs('www A 192.0.2.1\n@ SOA a b 1 2 3 4 5\n'));
    assert.deepEqual(
      f.map((x) => [x.severity, x.message]),
      [['warning', 'the first record is not the SOA (RFC 1035 §5.2)']],
    );
  });
});
