/**
 * Shared fixtures for the RDATA tests: a small tokenizer and the round-trip table.
 * @module
 */
import type { TextToken } from '../../src/wire/text-token.js';

/** A small master-file tokenizer for RDATA text (quotes, escapes kept, parentheses dropped). */
export function tokens(text: string): TextToken[] {
  const out: TextToken[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '(' || c === ')') {
      i++;
      continue;
    }
    if (c === ';') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out.push({ text: text.slice(i + 1, j), quoted: true });
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < text.length && !' \t\n();"'.includes(text[j])) j += text[j] === '\\' ? 2 : 1;
    out.push({ text: text.slice(i, j), quoted: false });
    i = j;
  }
  return out;
}

// [type, input text, expected presentation (defaults to the input)]
export const roundTrips: [string, string, string?][] = [
  ['A', '192.0.2.1'],
  ['A', '0.0.0.0'],
  ['AAAA', '2001:db8::1'],
  ['AAAA', '2001:0DB8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
  ['AAAA', '2001:db8:0:0:1::1', '2001:db8::1:0:0:1'],
  ['AAAA', '::'],
  ['AAAA', '::1'],
  ['AAAA', '1::'],
  ['AAAA', '2001:db8:0:1:1:1:1:1'],
  ['AAAA', '::ffff:192.0.2.1'],
  ['AAAA', '::ffff:c000:201', '::ffff:192.0.2.1'],
  ['AAAA', 'fe80::1:2:3:4'],
  ['NS', 'ns1', 'ns1.example.'],
  ['NS', '@', 'example.'],
  ['CNAME', 'a\\.b.example.', 'a\\.b.example.'],
  ['CNAME', '.'],
  ['DNAME', 'target.example.net.'],
  ['PTR', 'host.example.'],
  ['MD', 'md.example.'],
  ['MF', 'mf.example.'],
  ['MB', 'mb.example.'],
  ['MG', 'mg.example.'],
  ['MR', 'mr.example.'],
  ['MINFO', 'rmail.example. email.example.'],
  [
    'SOA',
    'ns1 hostmaster 2024010101 3600 900 1209600 300',
    'ns1.example. hostmaster.example. 2024010101 3600 900 1209600 300',
  ],
  ['SOA', 'ns1. h. 1 1h 15m 2w 1d', 'ns1. h. 1 3600 900 1209600 86400'],
  ['SOA', 'ns1. h. 4294967295 0 0 0 0'],
  ['MX', '10 mail.example.'],
  ['MX', '0 .'],
  ['TXT', '"hello world"'],
  ['TXT', 'a b c', '"a" "b" "c"'],
  ['TXT', '""'],
  ['TXT', '"quote \\" and backslash \\\\"'],
  ['TXT', '"\\000\\255\\127"'],
  ['TXT', '"caf\\195\\169"'],
  ['TXT', 'semi\\;colon', '"semi;colon"'],
  ['SPF', '"v=spf1 -all"'],
  ['HINFO', '"INTEL-386" "Unix"'],
  ['HINFO', 'PC Linux', '"PC" "Linux"'],
  ['RP', 'mbox.example. txt.example.'],
  ['AFSDB', '1 afs.example.'],
  ['RT', '10 relay.example.'],
  ['KX', '10 kx.example.'],
  ['PX', '10 map822.example. mapx400.example.'],
  ['SRV', '0 5 5060 sip.example.'],
  ['NAPTR', '100 10 "U" "E2U+sip" "!^.*$!sip:info@example.com!" .'],
  ['NAPTR', '100 50 "s" "http+I2L+I2C+I2R" "" _http._tcp.example.'],
  ['CAA', '0 issue "letsencrypt.org"'],
  ['CAA', '128 tbs "Unknown"'],
  ['CAA', '0 issue ";"'],
  ['CAA', '0 iodef mailto:x@example.com', '0 iodef "mailto:x@example.com"'],
  ['CAA', '0 issuewild ""'],
  ['SSHFP', '1 1 aa549bfe898489c02d1715d97d79c57ba2fa76ab'],
  ['SSHFP', '1 1 AA549BFE898489C02D1715D97D79C57BA2FA76AB', '1 1 aa549bfe898489c02d1715d97d79c57ba2fa76ab'],
  ['SSHFP', '4 2 ( 123456789abcdef6 7890123456789abc )', '4 2 123456789abcdef67890123456789abc'],
  [
    'TLSA',
    '3 1 1 A9CDF989B504FE5DCA90C0D2167B6550570734F7C763E09FDF88904E06157065',
    '3 1 1 a9cdf989b504fe5dca90c0d2167b6550570734f7c763e09fdf88904e06157065',
  ],
  ['SMIMEA', '3 1 1 a9cdf989b504fe5dca90c0d2167b6550570734f7c763e09fdf88904e06157065'],
  ['DS', '60485 5 1 2bb183af5f22588179a53b0a98631fad1a292118'],
  [
    'DS',
    '60485 RSASHA1 1 2BB183AF5F22588179A53B0A98631FAD1A292118',
    '60485 5 1 2bb183af5f22588179a53b0a98631fad1a292118',
  ],
  ['CDS', '0 0 0 00'],
  ['DNSKEY', '257 3 8 AwEAAa+/'],
  ['DNSKEY', '256 3 ECDSAP256SHA256 ( AQID BAUG )', '256 3 13 AQIDBAUG'],
  ['CDNSKEY', '0 3 0 AA=='],
  [
    'RRSIG',
    'A 5 3 86400 20030322173103 20030220173103 2642 example. oJB1W6WNGv+ldvQ3WDG0MQkg5IEhjRip8WTr PYGv07h108dUKGMeDPKijVCHX3DDKdfb+v6o B9wfuh3DTJXUAfI/M0zmO/zz8bW0Rznl8O3t GNazPwQKkRN20XPXV6nwwfoXmJQbsLNrLfkG J5D6fwFm8nN+6pBzeDQfsS3Ap3o=',
    'A 5 3 86400 20030322173103 20030220173103 2642 example. oJB1W6WNGv+ldvQ3WDG0MQkg5IEhjRip8WTrPYGv07h108dUKGMeDPKijVCHX3DDKdfb+v6oB9wfuh3DTJXUAfI/M0zmO/zz8bW0Rznl8O3tGNazPwQKkRN20XPXV6nwwfoXmJQbsLNrLfkGJ5D6fwFm8nN+6pBzeDQfsS3Ap3o=',
  ],
  [
    'RRSIG',
    'TYPE65000 13 2 300 1577836800 1041379200 1 . AAAA',
    'TYPE65000 13 2 300 20200101000000 20030101000000 1 . AAAA',
  ],
  ['NSEC', 'host.example. A MX RRSIG NSEC TYPE1234'],
  ['NSEC', 'host.example. NSEC A A', 'host.example. A NSEC'],
  ['NSEC', 'host.example.'],
  ['NSEC', '. CAA TYPE65535'],
  [
    'NSEC3',
    '1 1 12 aabbccdd 2t7b4g4vsa5smi47k61mv5bv1a22bojr MX DNSKEY NS SOA NSEC3PARAM RRSIG',
    '1 1 12 aabbccdd 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR NS SOA MX RRSIG DNSKEY NSEC3PARAM',
  ],
  ['NSEC3', '1 0 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR'],
  ['NSEC3PARAM', '1 0 0 -'],
  ['NSEC3PARAM', '1 1 12 aabbccdd'],
  ['NSEC3PARAM', '1 1 12 AABBCCDD', '1 1 12 aabbccdd'],
  ['OPENPGPKEY', 'AQIDBAUG'],
  ['DHCID', 'AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA='],
  ['URI', '10 1 "ftp://ftp1.example.com/public"'],
  ['URI', '10 1 ""'],
  ['EUI48', '00-00-5E-00-53-2A', '00-00-5e-00-53-2a'],
  ['EUI64', '00-00-5e-ef-10-00-00-2a'],
  // RFC 8976 §2.2.4: SHA-384 (1) and SHA-512 (2) digests at full length; unknown schemes
  // and hash algorithms with any digest of 12 octets or more.
  [
    'ZONEMD',
    '2018031900 1 1 1a6e359fc97bfaaf380f39eb49a44968db34c359cc6d4965aa6b7ff6feb36ffd59cd11202d9c43be81fd995681686260',
  ],
  [
    'ZONEMD',
    '2018031900 1 2 FA0FFAE638D2731A9CF861E5B20F435EF9D7EB8BE245FBC152CA5A2D89BFA34C8362444FE6CF2F0FF59EEE36DCA60CF74438C4140AD3427AE6912D8D3B3C4AC9',
    '2018031900 1 2 fa0ffae638d2731a9cf861e5b20f435ef9d7eb8be245fbc152ca5a2d89bfa34c8362444fe6cf2f0ff59eee36dca60cf74438c4140ad3427ae6912d8d3b3c4ac9',
  ],
  ['ZONEMD', '2018031900 1 240 62e6cf51b02e54b9b5f967d5'],
  ['ZONEMD', '2018031900 241 240 62E6CF51B02E54B9B5F967D5', '2018031900 241 240 62e6cf51b02e54b9b5f967d5'],
  [
    'ZONEMD',
    '2018031900 241 1 1a6e359fc97bfaaf380f39eb49a44968db34c359cc6d4965aa6b7ff6feb36ffd59cd11202d9c43be81fd995681686260',
  ],
  ['LOC', '42 21 54 N 71 06 18 W -24m 30m', '42 21 54.000 N 71 6 18.000 W -24.00m 30m 10000m 10m'],
  ['LOC', '52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m'],
  ['LOC', '0 N 0 E 0 0.5m 0.05 1', '0 0 0.000 N 0 0 0.000 E 0.00m 0.50m 0.05m 1m'],
  ['LOC', '90 S 180 W 42849672.95m', '90 0 0.000 S 180 0 0.000 W 42849672.95m 1m 10000m 10m'],
  ['LOC', '0 N 0 E 0', '0 0 0.000 N 0 0 0.000 E 0.00m 1m 10000m 10m'],
  ['APL', '1:192.168.32.0/21 !1:192.168.38.0/28'],
  ['APL', '1:224.0.0.0/4 2:ff00::/8'],
  ['APL', '', ''],
  ['CERT', 'PGP 0 0 AQID'],
  ['CERT', '65534 65535 PRIVATEOID AQID', '65534 65535 254 AQID'],
  ['IPSECKEY', '10 1 2 192.0.2.38 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ=='],
  ['IPSECKEY', '10 0 2 . AQNR'],
  ['IPSECKEY', '10 3 2 gw.example. AQNR'],
  ['IPSECKEY', '10 2 2 2001:db8::1 AQNR'],
  ['IPSECKEY', '10 0 0 .'],
  [
    'HIP',
    '2 200100107B1A74DF365639CC39F1D578 AwEAAbdx rvs.example. rvs2.example.',
    '2 200100107b1a74df365639cc39f1d578 AwEAAbdx rvs.example. rvs2.example.',
  ],
  ['CSYNC', '66 3 A NS AAAA'],
  ['AMTRELAY', '10 0 1 203.0.113.15'],
  ['AMTRELAY', '128 1 3 amtrelays.example.com.'],
  ['AMTRELAY', '0 0 0 .'],
  ['DSYNC', 'CDS NOTIFY 5300 notify.parent.net.'],
  ['DSYNC', 'CSYNC 128 443 notify.parent.net.'],
  ['L32', '10 10.1.2.0'],
  ['L64', '10 2001:0DB8:1140:1000', '10 2001:0db8:1140:1000'],
  ['NID', '10 0014:4fff:ff20:ee64'],
  ['NID', '10 14:4fff:ff20:ee64', '10 0014:4fff:ff20:ee64'],
  ['LP', '10 l64-subnet1.example.com.'],
  ['EUI48', '00-00-5e-00-53-2a'],
  ['X25', '"311061700956"'],
  ['ISDN', '"150862028003217" "004"'],
  ['GPOS', '"-32.6882" "116.8652" "10.0"'],
  [
    'NSAP',
    '0x47.0005.80.005a00.0000.0001.e133.ffffff000161.00',
    '0x47000580005a0000000001e133ffffff00016100',
  ],
  ['NSAP-PTR', 'foo.'],
  ['WKS', '10.0.0.1 6 0 1 2 21 23'],
  ['WKS', '10.0.0.1 tcp 25', '10.0.0.1 6 25'],
  ['TALINK', 'a.example. b.example.'],
  ['AVC', '"app-name:WOLFGANG"'],
  ['RESINFO', 'qnamemin exterr=15,16,17', '"qnamemin" "exterr=15,16,17"'],
  ['WALLET', '"EXAMPLE" "0123"'],
  ['KEY', '256 3 5 AQID'],
  ['SIG', 'SOA 5 1 3600 20030322173103 20030220173103 2642 example. AQID'],
  ['TA', '12345 8 2 00112233'],
  ['DLV', '12345 8 2 00112233'],
  ['TSIG', 'hmac-sha256. 1700000000 300 4 AQIDBA== 4321 NOERROR 0'],
  ['TSIG', 'hmac-sha256. 1700000000 300 0 4321 BADTIME 6 AAAAAAAB'],
  ['TYPE65280', '\\# 4 0a000001'],
  ['TYPE65280', '\\# 4 0A000001', '\\# 4 0a000001'],
  ['TYPE65280', '\\# 0'],
  ['NULL', '\\# 3 010203'],
  ['SVCB', '0 foo.example.com.'],
  ['SVCB', '1 .'],
  ['HTTPS', '1 . alpn=h3,h2 ipv4hint=104.16.132.229,104.16.133.229 ipv6hint=2606:4700::6810:84e5'],
  ['HTTPS', '1 . alpn="h3,h2" ipv4hint="104.16.132.229"', '1 . alpn=h3,h2 ipv4hint=104.16.132.229'],
  [
    'HTTPS',
    '1 . alpn="h2" no-default-alpn port=8443 ech=AEX+',
    '1 . alpn=h2 no-default-alpn port=8443 ech=AEX+',
  ],
  ['SVCB', '1 foo.example.com. mandatory=alpn,ipv4hint alpn=h2 ipv4hint=192.0.2.1'],
  ['SVCB', '1 . dohpath=/dns-query{?dns}'],
  ['SVCB', '1 . dohpath="/dns-query{?dns}"', '1 . dohpath=/dns-query{?dns}'],
  // Quotes only where a blank, '"', ';' or a parenthesis would break the token.
  ['SVCB', '1 . alpn="h2 x"'],
  ['SVCB', '1 . alpn=h2\\;x', '1 . alpn="h2;x"'],
  ['SVCB', '1 . alpn="(h2)"'],
  ['SVCB', '1 . alpn=h\\"2', '1 . alpn="h\\"2"'],
  ['SVCB', '1 . alpn="f\\\\\\\\oo\\\\,bar,h2"', '1 . alpn=f\\\\\\\\oo\\\\,bar,h2'],
  // keyNNNN values stay quoted (Knot, BIND and PowerDNS print them so); empty ones bare.
  ['SVCB', '1 . key667="hello\\210qoo"'],
  ['SVCB', '1 . key667=hello', '1 . key667="hello"'],
  ['SVCB', '1 . key667="a b" key668=\\040', '1 . key667="a b" key668="("'],
  ['SVCB', '1 . key667=\\009', '1 . key667="\\009"'],
  ['SVCB', '1 . dohpath=/q{?dns}\\;x', '1 . dohpath="/q{?dns};x"'],
  ['SVCB', '1 . key65000 key65001=""', '1 . key65000 key65001'],
  ['NSEC3', '0 0 0 - CPNMUOG=', '0 0 0 - CPNMUOG'],
  ['KEY', '49152 3 5', '49152 3 5'],
  ['LOC', '90 59 59.999 S 180 59 59.999 W 0m', '90 59 59.999 S 180 59 59.999 W 0.00m 1m 10000m 10m'],
  ['SVCB', '1 . key1=h2', '1 . alpn=h2'],
  ['SVCB', '1 . ohttp'],
  // RFC 9953 §3.2.1 docpath: segments as a value list, no value for the root path.
  ['SVCB', '1 dns.example.org. alpn=co docpath'],
  ['SVCB', '1 dns.example.org. alpn=co docpath=dns'],
  ['SVCB', '1 dns.example.org. alpn=co docpath=n,s'],
  ['SVCB', '1 . alpn=co docpath=""', '1 . alpn=co docpath'],
  ['SVCB', '1 . tls-supported-groups=29,23'],
];
