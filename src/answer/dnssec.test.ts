import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildQuery, TCP, UDP, zoneFromText } from '../../test/helpers/answer-fixtures.js';
import { seededRandom } from '../../test/helpers/prng.js';
import { EDNS_DO, RRType } from '../wire/constants.js';
import { decodeMessage } from '../wire/decode.js';
import { compareCanonical, Name } from '../wire/name.js';
import { Catalog } from './catalog.js';
import { base32hex, canonicalKey, isSignedZone, MAX_NSEC3_ITERATIONS, nsec3Hash } from './dnssec.js';
import { Responder } from './respond.js';

const { A, AAAA, DS, MX, NS, NSEC, RRSIG, SOA, TXT } = RRType;

/** An RRSIG's presentation form with a fake signature: the engine never validates. */
function sig(covered: string, labels: number, ttl: number): string {
  return `RRSIG ${covered} 8 ${labels} ${ttl} 20300101000000 20200101000000 1 sig.test. ${'A'.repeat(342)}==`;
}

/** A hand-made NSEC-signed zone (RRSIGs fake; the chain and bitmaps are real). */
const SIGNED = `
sig.test. 3600 IN SOA ns1.sig.test. h.sig.test. 1 7200 3600 1209600 300
sig.test. 3600 IN ${sig('SOA', 2, 3600)}
sig.test. 3600 IN NS ns1.sig.test.
sig.test. 3600 IN ${sig('NS', 2, 3600)}
sig.test. 3600 IN DNSKEY 257 3 13 ${Buffer.alloc(64, 7).toString('base64')}
sig.test. 3600 IN ${sig('DNSKEY', 2, 3600)}
sig.test. 300 IN NSEC deleg.sig.test. NS SOA RRSIG NSEC DNSKEY
sig.test. 300 IN ${sig('NSEC', 2, 300)}
*.w.sig.test. 3600 IN TXT "wild"
*.w.sig.test. 3600 IN ${sig('TXT', 2, 3600)}
*.w.sig.test. 300 IN NSEC www.sig.test. TXT RRSIG NSEC
*.w.sig.test. 300 IN ${sig('NSEC', 3, 300)}
deleg.sig.test. 3600 IN NS ns.deleg.sig.test.
deleg.sig.test. 3600 IN DS 1 13 2 ${'00'.repeat(32)}
deleg.sig.test. 3600 IN ${sig('DS', 3, 3600)}
deleg.sig.test. 300 IN NSEC ns1.sig.test. NS DS RRSIG NSEC
deleg.sig.test. 300 IN ${sig('NSEC', 3, 300)}
ns.deleg.sig.test. 3600 IN A 192.0.2.2
ns1.sig.test. 3600 IN A 192.0.2.1
ns1.sig.test. 3600 IN ${sig('A', 3, 3600)}
ns1.sig.test. 300 IN NSEC *.w.sig.test. A RRSIG NSEC
ns1.sig.test. 300 IN ${sig('NSEC', 3, 300)}
www.sig.test. 3600 IN A 192.0.2.80
www.sig.test. 3600 IN ${sig('A', 3, 3600)}
www.sig.test. 300 IN NSEC sig.test. A RRSIG NSEC
www.sig.test. 300 IN ${sig('NSEC', 3, 300)}
`;

function responder(): Responder {
  return new Responder(new Catalog([zoneFromText('sig.test.', SIGNED)]));
}

function ask(r: Responder, name: string, type: number, dnssec: boolean, udpSize = 1232, tcp = false) {
  const q = buildQuery(name, type, { edns: { udpSize, flags: dnssec ? EDNS_DO : 0 } });
  return decodeMessage(r.respond(q, tcp ? TCP : UDP)!);
}

const types = (rrs: { type: number; name: Name }[]) => rrs.map((rr) => `${rr.name} ${rr.type}`).sort();

describe('NSEC3 hashing (RFC 5155 Appendix A: salt aabbccdd, 12 iterations)', () => {
  const salt = Buffer.from('aabbccdd', 'hex');
  for (const [name, hash] of [
    ['example.', '0p9mhaveqvm6t7vbl5lop2u3t2rp3tom'],
    ['a.example.', '35mthgpgcu1qg68fab165klnsnk3dpvl'],
    ['ns1.example.', '2t7b4g4vsa5smi47k61mv5bv1a22bojr'],
    ['*.w.example.', 'r53bq7cc2uvmubfu5ocmm6pers9tk9en'],
  ])
    test(name, () => assert.equal(nsec3Hash(Name.parse(name).key, salt, 12), hash));
  test('base32hex of RFC 4648 §10 vectors', () => {
    assert.equal(base32hex(Buffer.from('foobar')), 'cpnmuoj1e8');
    assert.equal(base32hex(Buffer.from('f')), 'co');
  });
  test('iterations are capped', () => assert.ok(MAX_NSEC3_ITERATIONS <= 2500));
});

describe('canonicalKey orders names as RFC 4034 §6.1', () => {
  test('agrees with compareCanonical on random names', () => {
    const rnd = seededRandom(9);
    const alphabet = ['a', 'b', '-', '0', 'z', '\\000', '\\255', 'A'];
    const names: Name[] = [];
    for (let i = 0; i < 400; i++) {
      const labels: string[] = [];
      const n = 1 + Math.floor(rnd() * 3);
      for (let l = 0; l < n; l++) {
        let s = '';
        const len = 1 + Math.floor(rnd() * 3);
        for (let k = 0; k < len; k++) s += alphabet[Math.floor(rnd() * alphabet.length)];
        labels.push(s);
      }
      names.push(Name.parse(`${labels.join('.')}.`));
    }
    for (let i = 0; i + 1 < names.length; i++) {
      const a = names[i];
      const b = names[i + 1];
      const want = Math.sign(compareCanonical(a, b));
      const ka = canonicalKey(a.key);
      const kb = canonicalKey(b.key);
      assert.equal(ka < kb ? -1 : ka > kb ? 1 : 0, want, `${a} vs ${b}`);
    }
  });
});

describe('signed zone answers (RFC 4035 §3.1)', () => {
  test('the zone is seen as signed; an unsigned one is not', () => {
    assert.ok(isSignedZone(zoneFromText('sig.test.', SIGNED)));
    assert.ok(!isSignedZone(zoneFromText('u.test.', 'u.test. 60 IN SOA a.u.test. b.u.test. 1 2 3 4 5')));
  });

  test('without DO nothing DNSSEC is added; DO is copied into the OPT (RFC 3225 §3)', () => {
    const r = responder();
    const plain = ask(r, 'www.sig.test.', A, false);
    assert.deepEqual(types(plain.answers), ['www.sig.test. 1']);
    assert.equal(plain.edns!.flags & EDNS_DO, 0);
    const nx = ask(r, 'nope.sig.test.', A, false);
    assert.deepEqual(types(nx.authority), ['sig.test. 6']);
    const signed = ask(r, 'www.sig.test.', A, true);
    assert.deepEqual(types(signed.answers), ['www.sig.test. 1', 'www.sig.test. 46']);
    assert.equal(signed.edns!.flags & EDNS_DO, EDNS_DO);
  });

  test('the cache never answers a DO query with a response built without DO', () => {
    const r = responder();
    for (let i = 0; i < 3; i++) ask(r, 'www.sig.test.', A, false);
    for (let i = 0; i < 3; i++)
      assert.deepEqual(types(ask(r, 'www.sig.test.', A, true).answers), [
        'www.sig.test. 1',
        'www.sig.test. 46',
      ]);
  });

  test('NXDOMAIN: SOA, the NSEC covering the name and the one covering the wildcard, each signed', () => {
    const m = ask(responder(), 'x.sig.test.', A, true);
    assert.equal(m.flags & 0xf, 3);
    // Canonical order: sig.test. < deleg < ns1 < *.w < www; x is covered by www's NSEC,
    // *.sig.test. by the apex's.
    assert.deepEqual(types(m.authority), [
      'sig.test. 46',
      'sig.test. 46',
      'sig.test. 47',
      'sig.test. 6',
      'www.sig.test. 46',
      'www.sig.test. 47',
    ]);
    // The RRSIG over the negative SOA has the SOA's lowered TTL (RFC 2308 §3).
    const soaSig = m.authority.find((rr) => rr.type === RRSIG && ((rr.rdata[0] << 8) | rr.rdata[1]) === SOA)!;
    assert.equal(soaSig.ttl, 300);
  });

  test('NODATA: the name’s own NSEC', () => {
    const m = ask(responder(), 'www.sig.test.', MX, true);
    assert.deepEqual(types(m.authority), [
      'sig.test. 46',
      'sig.test. 6',
      'www.sig.test. 46',
      'www.sig.test. 47',
    ]);
  });

  test('wildcard answer: the RRSIG as signed (labels 2) under the query name, and the NSEC covering it', () => {
    const m = ask(responder(), 'a.w.sig.test.', TXT, true);
    assert.deepEqual(types(m.answers), ['a.w.sig.test. 16', 'a.w.sig.test. 46']);
    assert.equal(m.answers.find((rr) => rr.type === RRSIG)!.rdata[3], 2);
    assert.deepEqual(types(m.authority), ['*.w.sig.test. 46', '*.w.sig.test. 47']);
  });

  test('wildcard NODATA: the covering NSEC and the wildcard’s NSEC (one RRset, not two)', () => {
    const m = ask(responder(), 'a.w.sig.test.', AAAA, true);
    assert.deepEqual(types(m.authority), [
      '*.w.sig.test. 46',
      '*.w.sig.test. 47',
      'sig.test. 46',
      'sig.test. 6',
    ]);
  });

  test('referral: NS unsigned, DS and its RRSIG; glue unsigned; DS query answered by the parent', () => {
    const r = responder();
    const m = ask(r, 'www.deleg.sig.test.', A, true);
    assert.deepEqual(types(m.authority), ['deleg.sig.test. 2', 'deleg.sig.test. 43', 'deleg.sig.test. 46']);
    assert.deepEqual(types(m.additional.filter((rr) => rr.type !== RRType.OPT)), ['ns.deleg.sig.test. 1']);
    const ds = ask(r, 'deleg.sig.test.', DS, true);
    assert.deepEqual(types(ds.answers), ['deleg.sig.test. 43', 'deleg.sig.test. 46']);
    assert.ok((ds.flags & 0x0400) !== 0);
  });

  test('RRSIG query: every RRSIG, one RRset per type covered, each with its covered RRset’s TTL', () => {
    const m = ask(responder(), 'sig.test.', RRSIG, false, 1232, true);
    const ttls = m.answers.map((rr) => `${(rr.rdata[0] << 8) | rr.rdata[1]}/${rr.ttl}`).sort();
    assert.deepEqual(ttls, [`${NSEC}/300`, `${NS}/3600`, `${SOA}/3600`, `${RRType.DNSKEY}/3600`].sort());
  });

  test('truncation: a signed answer that does not fit is TC with no partial RRset or lone RRSIG (RFC 4035 §3.1.1)', () => {
    const m = ask(responder(), 'x.sig.test.', A, true, 512);
    const whole = ask(responder(), 'x.sig.test.', A, true, 4096);
    assert.equal(whole.authority.length, 6);
    // Six authority RRsets, three of them 256-octet signatures, do not fit in 512 octets.
    assert.ok((m.flags & 0x0200) !== 0, 'TC');
    assert.equal(m.authority.length, 0);
    assert.equal(m.answers.length, 0);
  });
});
