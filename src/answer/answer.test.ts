import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Case,
  exampleCatalog,
  runTable,
  TCP,
  zoneFromText,
} from '../../test/helpers/answer-fixtures.js';
import { RRType } from '../wire/constants.js';
import { Name } from '../wire/name.js';
import { AnswerKind, answerQuery, isAuthoritative } from './answer.js';
import { Catalog } from './catalog.js';
import { Responder } from './respond.js';

const { A, AAAA, ANY, CNAME, DNAME, DS, MX, NS, SOA, SRV, TXT } = RRType;

const SOA_EXAMPLE = 'example. 300 IN SOA ns1.example. hostmaster.example. 1 7200 3600 1209600 300';
const SOA_NET = 'example.net. 600 IN SOA ns1.example. hostmaster.example. 1 7200 3600 1209600 600';
const SOA_CHILD = 'child.example. 100 IN SOA ns.child.example. hostmaster.example. 1 7200 3600 1209600 600';
const DELEG_NS = [
  'deleg.example. 3600 IN NS ns.deleg.example.',
  'deleg.example. 3600 IN NS ns1.example.',
  'deleg.example. 3600 IN NS ns.outside.test.',
];
const DELEG_GLUE = [
  'ns.deleg.example. 3600 IN A 192.0.2.53',
  'ns.deleg.example. 3600 IN AAAA 2001:db8::53',
  'ns1.example. 3600 IN A 192.0.2.1',
];
const LONG =
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.net.';

let shared: Responder | undefined;
const responder = () => {
  shared ??= new Responder(exampleCatalog());
  return shared;
};

describe('exact matches and negative answers (RFC 1034 §4.3.2, RFC 2308)', () => {
  runTable(responder, [
    { qname: 'www.example.', qtype: A, aa: true, answer: ['www.example. 3600 IN A 192.0.2.10'] },
    { qname: 'www.example.', qtype: AAAA, aa: true, answer: ['www.example. 3600 IN AAAA 2001:db8::10'] },
    {
      qname: 'example.',
      qtype: SOA,
      aa: true,
      answer: ['example. 3600 IN SOA ns1.example. hostmaster.example. 1 7200 3600 1209600 300'],
      why: 'positive answers keep authority empty (minimal responses)',
    },
    {
      qname: 'www.example.',
      qtype: MX,
      aa: true,
      authority: [SOA_EXAMPLE],
      why: 'NODATA: SOA TTL is min(TTL, MINIMUM) (RFC 2308 §3)',
    },
    {
      qname: 'ttl.example.',
      qtype: TXT,
      aa: true,
      authority: [SOA_EXAMPLE],
    },
    { qname: 'ttl.example.', qtype: A, aa: true, answer: ['ttl.example. 60 IN A 192.0.2.99'] },
    {
      qname: 'nothing.example.',
      qtype: A,
      rcode: 3,
      aa: true,
      authority: [SOA_EXAMPLE],
      why: 'NXDOMAIN (RFC 2308 §2.1)',
    },
    {
      qname: 'nothing.child.example.',
      qtype: A,
      rcode: 3,
      aa: true,
      authority: [SOA_CHILD],
      why: 'negative TTL from the SOA TTL when lower than MINIMUM',
    },
    {
      qname: 'host.child.example.',
      qtype: A,
      aa: true,
      answer: ['host.child.example. 3600 IN A 192.0.2.61'],
      why: 'the most specific zone answers',
    },
    {
      qname: 'b.ent.example.',
      qtype: A,
      aa: true,
      authority: [SOA_EXAMPLE],
      why: 'an empty non-terminal is NODATA, not NXDOMAIN (RFC 8020)',
    },
    { qname: 'ent.example.', qtype: A, aa: true, authority: [SOA_EXAMPLE], why: 'ENT above a wildcard' },
    {
      qname: 'www.nowhere.test.',
      qtype: A,
      rcode: 5,
      aa: false,
      why: 'REFUSED outside the served zones',
    },
    { qname: 'net.', qtype: SOA, rcode: 5, aa: false, why: 'a parent of a served zone is not served' },
    {
      qname: 'nope.example.net.',
      qtype: A,
      rcode: 3,
      aa: true,
      authority: [SOA_NET],
      why: 'the sibling zone answers its own names',
    },
  ]);
});

describe('additional section processing (RFC 1034 §4.3.2 step 6)', () => {
  runTable(responder, [
    {
      qname: 'mxnet.example.',
      qtype: MX,
      aa: true,
      answer: ['mxnet.example. 3600 IN MX 10 www.example.net.'],
      why: 'no addresses from another zone, though we serve it (as Knot): one zone per answer',
    },
    {
      qname: 'example.net.',
      qtype: NS,
      aa: true,
      answer: ['example.net. 3600 IN NS ns1.example.'],
      why: "the NS target's address is in example., another zone: not added",
    },
    {
      qname: 'example.',
      qtype: MX,
      aa: true,
      answer: ['example. 3600 IN MX 10 mail.example.'],
      additional: ['mail.example. 3600 IN A 192.0.2.20'],
    },
    {
      qname: 'example.',
      qtype: NS,
      aa: true,
      answer: ['example. 3600 IN NS ns1.example.', 'example. 3600 IN NS ns2.example.'],
      additional: ['ns1.example. 3600 IN A 192.0.2.1', 'ns2.example. 3600 IN AAAA 2001:db8::2'],
    },
    {
      qname: 'srv.example.',
      qtype: SRV,
      aa: true,
      answer: ['srv.example. 3600 IN SRV 0 0 80 www.example.'],
      additional: ['www.example. 3600 IN A 192.0.2.10', 'www.example. 3600 IN AAAA 2001:db8::10'],
    },
  ]);
});

describe('CNAME (RFC 1034 §3.6.2, §4.3.2 3.a)', () => {
  runTable(responder, [
    {
      qname: 'cname.example.',
      qtype: A,
      aa: true,
      answer: ['cname.example. 3600 IN CNAME www.example.', 'www.example. 3600 IN A 192.0.2.10'],
    },
    {
      qname: 'cname.example.',
      qtype: CNAME,
      aa: true,
      answer: ['cname.example. 3600 IN CNAME www.example.'],
      why: 'QTYPE CNAME is not followed',
    },
    {
      qname: 'chain1.example.',
      qtype: A,
      aa: true,
      answer: [
        'chain1.example. 3600 IN CNAME chain2.example.',
        'chain2.example. 3600 IN CNAME www.example.',
        'www.example. 3600 IN A 192.0.2.10',
      ],
    },
    {
      qname: 'loop1.example.',
      qtype: A,
      aa: true,
      answer: ['loop1.example. 3600 IN CNAME loop2.example.', 'loop2.example. 3600 IN CNAME loop1.example.'],
      why: 'a loop ends with NOERROR and the chain so far, like NSD and Knot',
    },
    { qname: 'self.example.', qtype: A, aa: true, answer: ['self.example. 3600 IN CNAME self.example.'] },
    {
      qname: 'xz.example.',
      qtype: A,
      aa: true,
      answer: ['xz.example. 3600 IN CNAME www.example.net.'],
      why: 'a target in another zone we serve ends the chain: one zone per answer (as Knot)',
    },
    {
      qname: 'xzmiss.example.',
      qtype: A,
      aa: true,
      answer: ['xzmiss.example. 3600 IN CNAME nope.example.net.'],
      why: 'NOERROR: the other zone is not asked, so its NXDOMAIN is not ours to give',
    },
    {
      qname: 'tochild.example.',
      qtype: A,
      aa: true,
      answer: ['tochild.example. 3600 IN CNAME host.child.example.'],
      authority: ['child.example. 3600 IN NS ns.child.example.'],
      additional: ['ns.child.example. 3600 IN A 192.0.2.60'],
      why: 'a target below a cut is followed in this zone to the referral, though we serve the child (Knot)',
    },
    {
      qname: 'nx.example.',
      qtype: A,
      rcode: 3,
      aa: true,
      answer: ['nx.example. 3600 IN CNAME nothere.example.'],
      authority: [SOA_EXAMPLE],
    },
    {
      qname: 'out.example.',
      qtype: A,
      aa: true,
      answer: ['out.example. 3600 IN CNAME www.elsewhere.test.'],
      why: 'a target outside our zones ends the chain with NOERROR',
    },
    {
      qname: 'todeleg.example.',
      qtype: A,
      aa: true,
      answer: ['todeleg.example. 3600 IN CNAME foo.deleg.example.'],
      authority: DELEG_NS,
      additional: DELEG_GLUE,
      why: 'a chain into a cut ends with the referral, AA for the first name (RFC 6604 §2.1)',
    },
  ]);
});

describe('referrals and DS (RFC 1034 §4.3.2 3.b, RFC 4035 §3.1.4.1)', () => {
  runTable(responder, [
    {
      qname: 'foo.deleg.example.',
      qtype: A,
      aa: false,
      authority: DELEG_NS,
      additional: DELEG_GLUE,
      why: 'glue for targets in the zone; none for ns.outside.test.',
    },
    { qname: 'deleg.example.', qtype: A, aa: false, authority: DELEG_NS, additional: DELEG_GLUE },
    {
      qname: 'deleg.example.',
      qtype: NS,
      aa: false,
      authority: DELEG_NS,
      additional: DELEG_GLUE,
      why: 'NS at a cut is a referral too',
    },
    {
      qname: 'ns.deleg.example.',
      qtype: A,
      aa: false,
      authority: DELEG_NS,
      additional: DELEG_GLUE,
      why: 'glue is never an answer',
    },
    {
      qname: 'deleg.example.',
      qtype: DS,
      aa: true,
      answer: [
        'deleg.example. 3600 IN DS 12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE7B1B4ACC3A1CA8E0A4C6C8B2',
      ],
      why: 'DS is parent-side data',
    },
    {
      qname: 'child.example.',
      qtype: DS,
      aa: true,
      authority: [SOA_EXAMPLE],
      why: 'DS at a served child apex is answered from the served parent',
    },
    {
      qname: 'child.example.',
      qtype: NS,
      aa: true,
      answer: ['child.example. 3600 IN NS ns.child.example.'],
      additional: ['ns.child.example. 3600 IN A 192.0.2.60'],
      why: 'other types at a served child apex come from the child',
    },
    {
      qname: 'x.deleg.example.',
      qtype: DS,
      aa: false,
      authority: DELEG_NS,
      additional: DELEG_GLUE,
      why: 'DS below a cut is a referral',
    },
  ]);

  test('DS at the apex of a zone whose parent we do not serve is NODATA from the zone', () => {
    const r = new Responder(new Catalog([zoneFromText('child.example.', CHILD_ZONE_TEXT)]));
    const res = answerQuery(r.catalog, Name.parse('child.example.'), DS);
    assert.equal(res.kind, AnswerKind.NODATA);
    assert.equal(res.authority[0].type, SOA);
    assert.equal(res.authority[0].name.toString(), 'child.example.');
  });
});

const CHILD_ZONE_TEXT = `
$ORIGIN child.example.
@ 3600 SOA ns hostmaster 1 2 3 4 5
@ 3600 NS ns
ns 3600 A 192.0.2.60
`;

describe('wildcards (RFC 4592)', () => {
  runTable(responder, [
    {
      qname: 'x.wild.example.',
      qtype: TXT,
      aa: true,
      answer: ['x.wild.example. 3600 IN TXT "wild"'],
      why: 'owner of the synthesized record is the QNAME',
    },
    { qname: 'a.b.wild.example.', qtype: TXT, aa: true, answer: ['a.b.wild.example. 3600 IN TXT "wild"'] },
    {
      qname: 'x.wild.example.',
      qtype: A,
      aa: true,
      authority: [SOA_EXAMPLE],
      why: 'a wildcard match without the type is NODATA',
    },
    {
      qname: 'foo.wc.example.',
      qtype: A,
      aa: true,
      answer: ['foo.wc.example. 3600 IN CNAME www.example.', 'www.example. 3600 IN A 192.0.2.10'],
      why: 'wildcard CNAME is followed',
    },
    {
      qname: 'x.ent.example.',
      qtype: A,
      aa: true,
      answer: ['x.ent.example. 3600 IN A 192.0.2.31'],
    },
    {
      qname: 'x.b.ent.example.',
      qtype: A,
      rcode: 3,
      aa: true,
      authority: [SOA_EXAMPLE],
      why: 'the ENT b.ent is the closest encloser: *.ent does not apply',
    },
    {
      qname: 'a.b.ent.example.',
      qtype: TXT,
      aa: true,
      authority: [SOA_EXAMPLE],
      why: 'an existing name is never matched by a wildcard',
    },
    {
      qname: 'x.wnsdeleg.example.',
      qtype: A,
      aa: true,
      authority: [SOA_EXAMPLE],
      why: 'a wildcard owning NS is not a delegation (NSD)',
    },
    {
      qname: 'x.deleg.example.',
      qtype: TXT,
      aa: false,
      authority: DELEG_NS,
      additional: DELEG_GLUE,
      why: 'no wildcard below a cut',
    },
  ]);

  // RFC 4592 §2.2.1's example zone and its answers (§2.2.1 text, cases one by one).
  const rfc = `
$ORIGIN example.
$TTL 3600
@ SOA ns.example.com. hostmaster.example. 1 2 3 4 60
@ NS ns.example.com.
@ NS ns.example.net.
*.example. TXT "this is a wildcard"
*.example. MX 10 host1.example.
sub.*.example. TXT "this is not a wildcard"
host1.example. A 192.0.2.1
_ssh._tcp.host1.example. SRV 0 0 22 host1.example.
_ssh._tcp.host2.example. SRV 0 0 22 host2.example.
subdel.example. NS ns.example.com.
subdel.example. NS ns.example.net.
`;
  const rfcSoa = 'example. 60 IN SOA ns.example.com. hostmaster.example. 1 2 3 4 60';
  let rfcResponder: Responder | undefined;
  const r4592 = () => {
    rfcResponder ??= new Responder(new Catalog([zoneFromText('example.', rfc)]));
    return rfcResponder;
  };
  const cases: Case[] = [
    {
      qname: 'host3.example.',
      qtype: MX,
      aa: true,
      answer: ['host3.example. 3600 IN MX 10 host1.example.'],
      additional: ['host1.example. 3600 IN A 192.0.2.1'],
    },
    { qname: 'host3.example.', qtype: A, aa: true, authority: [rfcSoa] },
    {
      qname: 'foo.bar.example.',
      qtype: TXT,
      aa: true,
      answer: ['foo.bar.example. 3600 IN TXT "this is a wildcard"'],
    },
    { qname: 'host1.example.', qtype: MX, aa: true, authority: [rfcSoa] },
    { qname: 'sub.*.example.', qtype: MX, aa: true, authority: [rfcSoa] },
    { qname: '_telnet._tcp.host1.example.', qtype: SRV, rcode: 3, aa: true, authority: [rfcSoa] },
    {
      qname: 'host.subdel.example.',
      qtype: A,
      aa: false,
      authority: ['subdel.example. 3600 IN NS ns.example.com.', 'subdel.example. 3600 IN NS ns.example.net.'],
    },
    { qname: 'ghost.*.example.', qtype: MX, rcode: 3, aa: true, authority: [rfcSoa] },
    {
      qname: '*.example.',
      qtype: TXT,
      aa: true,
      answer: ['*.example. 3600 IN TXT "this is a wildcard"'],
      why: 'asking for the wildcard itself is an exact match',
    },
  ];
  describe('RFC 4592 §2.2.1 example', () => runTable(r4592, cases));
});

describe('DNAME (RFC 6672)', () => {
  runTable(responder, [
    {
      qname: 'www.dname.example.',
      qtype: A,
      aa: true,
      answer: [
        'dname.example. 3600 IN DNAME example.net.',
        'www.dname.example. 3600 IN CNAME www.example.net.',
      ],
      why: 'DNAME, synthesized CNAME with the DNAME TTL (§3.1, §3.2); the target is another zone: stop',
    },
    {
      qname: 'a.b.dname.example.',
      qtype: A,
      aa: true,
      answer: [
        'dname.example. 3600 IN DNAME example.net.',
        'a.b.dname.example. 3600 IN CNAME a.b.example.net.',
      ],
    },
    {
      qname: 'dname.example.',
      qtype: A,
      aa: true,
      authority: [SOA_EXAMPLE],
      why: 'the DNAME owner itself is not redirected (§2.3)',
    },
    {
      qname: 'dname.example.',
      qtype: DNAME,
      aa: true,
      answer: ['dname.example. 3600 IN DNAME example.net.'],
    },
    {
      qname: 'x.long.example.',
      qtype: A,
      aa: true,
      answer: [`long.example. 3600 IN DNAME ${LONG}`, `x.long.example. 3600 IN CNAME x.${LONG}`],
    },
    {
      qname: `${'a'.repeat(63)}.bbbbbbbbbb.long.example.`,
      qtype: A,
      rcode: 6,
      aa: true,
      answer: [`long.example. 3600 IN DNAME ${LONG}`],
      why: 'YXDOMAIN when the substituted name exceeds 255 octets (§2.2)',
    },
  ]);

  // RFC 6672 §2.2's substitution examples on a zone holding them.
  const zone = `
$ORIGIN example.com.
$TTL 3600
@ SOA ns hostmaster 1 2 3 4 60
@ NS ns.example.net.
frobozz DNAME frobozz.example.net.
bar DNAME .
apex-to-self DNAME example.com.
`;
  const net = `
$ORIGIN example.net.
$TTL 3600
@ SOA ns hostmaster 1 2 3 4 60
@ NS ns
ns A 192.0.2.1
a.frobozz A 192.0.2.7
`;
  let r: Responder | undefined;
  const r6672 = () => {
    r ??= new Responder(new Catalog([zoneFromText('example.com.', zone), zoneFromText('example.net.', net)]));
    return r;
  };
  runTable(r6672, [
    {
      qname: 'a.frobozz.example.com.',
      qtype: A,
      aa: true,
      answer: [
        'frobozz.example.com. 3600 IN DNAME frobozz.example.net.',
        'a.frobozz.example.com. 3600 IN CNAME a.frobozz.example.net.',
      ],
      why: 'example.net. is served too, but an answer comes from one zone only',
    },
    {
      qname: 'foo.bar.example.com.',
      qtype: A,
      aa: true,
      answer: ['bar.example.com. 3600 IN DNAME .', 'foo.bar.example.com. 3600 IN CNAME foo.'],
      why: 'DNAME to the root',
    },
    {
      qname: 'x.apex-to-self.example.com.',
      qtype: A,
      aa: true,
      answer: [
        'apex-to-self.example.com. 3600 IN DNAME example.com.',
        'x.apex-to-self.example.com. 3600 IN CNAME x.example.com.',
      ],
      authority: ['example.com. 60 IN SOA ns.example.com. hostmaster.example.com. 1 2 3 4 60'],
      rcode: 3,
    },
  ]);

  test('a DNAME that keeps matching its own target is applied once, as NSD does', () => {
    const z = zoneFromText(
      'example.org.',
      `$ORIGIN example.org.
@ 60 SOA ns hostmaster 1 2 3 4 60
@ 60 NS ns
d 60 DNAME x.d.example.org.
`,
    );
    const res = answerQuery(new Catalog([z]), Name.parse('a.d.example.org.'), A);
    // The DNAME and one synthesized CNAME (a.d → a.x.d); meeting the same DNAME again ends it.
    assert.equal(res.kind, AnswerKind.HIT);
    assert.deepEqual(
      res.answer.map((s) => `${s.name} ${s.type}`),
      ['d.example.org. 39', 'a.d.example.org. 5'],
    );
  });
});

describe('ANY (RFC 8482)', () => {
  runTable(responder, [
    {
      qname: 'www.example.',
      qtype: ANY,
      aa: true,
      answer: ['www.example. 3600 IN A 192.0.2.10'],
      why: 'one RRset: the lowest type',
    },
    {
      qname: 'example.',
      qtype: ANY,
      aa: true,
      answer: ['example. 3600 IN NS ns1.example.', 'example. 3600 IN NS ns2.example.'],
      additional: ['ns1.example. 3600 IN A 192.0.2.1', 'ns2.example. 3600 IN AAAA 2001:db8::2'],
    },
    {
      qname: 'www.example.',
      qtype: ANY,
      aa: true,
      answer: ['www.example. 3600 IN A 192.0.2.10'],
      ctx: TCP,
      why: 'the same over TCP, like NSD and Knot',
    },
    {
      qname: 'cname.example.',
      qtype: ANY,
      aa: true,
      answer: ['cname.example. 3600 IN CNAME www.example.'],
      why: 'ANY does not follow a CNAME',
    },
    {
      qname: 'x.wild.example.',
      qtype: ANY,
      aa: true,
      answer: ['x.wild.example. 3600 IN TXT "wild"'],
    },
    { qname: 'b.ent.example.', qtype: ANY, aa: true, authority: [SOA_EXAMPLE] },
    { qname: 'foo.deleg.example.', qtype: ANY, aa: false, authority: DELEG_NS, additional: DELEG_GLUE },
  ]);
});

describe('answerQuery result', () => {
  const catalog = exampleCatalog();
  test('kinds and AA rule', () => {
    const kinds: [string, number, number, boolean][] = [
      ['www.example.', A, AnswerKind.HIT, true],
      ['www.example.', MX, AnswerKind.NODATA, true],
      ['nothing.example.', A, AnswerKind.NXDOMAIN, true],
      ['foo.deleg.example.', A, AnswerKind.DELEGATION, false],
      ['todeleg.example.', A, AnswerKind.DELEGATION, true],
      ['www.nowhere.test.', A, AnswerKind.REFUSED, false],
    ];
    for (const [name, type, kind, aa] of kinds) {
      const res = answerQuery(catalog, Name.parse(name), type);
      assert.equal(res.kind, kind, name);
      assert.equal(isAuthoritative(res), aa, name);
    }
  });

  test('in-domain glue is mandatory, sibling glue optional (RFC 9471)', () => {
    const res = answerQuery(catalog, Name.parse('foo.deleg.example.'), A);
    assert.deepEqual(
      res.glue.map((s) => `${s.name} ${s.type}`),
      ['ns.deleg.example. 1', 'ns.deleg.example. 28'],
    );
    assert.deepEqual(
      res.additional.map((s) => `${s.name} ${s.type}`),
      ['ns1.example. 1'],
    );
  });

  test('the owner of an exact match keeps the spelling of the question', () => {
    const q = Name.parse('WwW.Example.');
    const res = answerQuery(catalog, q, A);
    assert.equal(res.answer[0].name, q);
  });

  test('the one zone looked up is reported, and every name found in none (for the response cache)', () => {
    const report = (name: string, type: number) => {
      const res = answerQuery(catalog, Name.parse(name), type);
      return {
        zones: res.zones.map((z) => z.origin.toString()),
        absent: res.absent.map((n) => n.toString()),
      };
    };
    assert.deepEqual(report('www.example.', A), { zones: ['example.'], absent: [] });
    // MX target mail.example. is in the same zone: reported once.
    assert.deepEqual(report('example.', MX), { zones: ['example.'], absent: [] });
    // Chains and additional targets into other zones (served or not) look nothing up.
    assert.deepEqual(report('xz.example.', A), { zones: ['example.'], absent: [] });
    assert.deepEqual(report('out.example.', A), { zones: ['example.'], absent: [] });
    assert.deepEqual(report('www.dname.example.', A), { zones: ['example.'], absent: [] });
    assert.deepEqual(report('mxnet.example.', MX), { zones: ['example.'], absent: [] });
    assert.deepEqual(report('www.nowhere.test.', A), { zones: [], absent: ['www.nowhere.test.'] });
    // RFC 4035 §3.1.4.1: DS at the child apex looks up the parent's name first.
    assert.deepEqual(report('child.example.', DS), { zones: ['example.'], absent: [] });
    assert.deepEqual(report('www.example.', DS), { zones: ['example.'], absent: [] });
    // Without a served parent the child answers; the parent's name found no zone.
    const alone = new Catalog([zoneFromText('child.example.', CHILD_ZONE_TEXT)]);
    const ds = answerQuery(alone, Name.parse('child.example.'), DS);
    assert.deepEqual(
      { zones: ds.zones.map((z) => z.origin.toString()), absent: ds.absent.map((n) => n.toString()) },
      { zones: ['child.example.'], absent: ['example.'] },
    );
  });

  test('a long chain stops at maxChain with NOERROR', () => {
    let text = '$ORIGIN chain.test.\n@ 60 SOA ns hm 1 2 3 4 5\n@ 60 NS ns\n';
    for (let i = 0; i < 30; i++) text += `c${i} 60 CNAME c${i + 1}\n`;
    const c = new Catalog([zoneFromText('chain.test.', text)]);
    const res = answerQuery(c, Name.parse('c0.chain.test.'), A);
    assert.equal(res.kind, AnswerKind.HIT);
    assert.equal(res.answer.length, 16);
    assert.equal(answerQuery(c, Name.parse('c0.chain.test.'), A, { maxChain: 3 }).answer.length, 3);
  });
});

test('fixture zones build without warnings', () => {
  for (const z of exampleCatalog().zones) assert.deepEqual(z.warnings, [], z.origin.toString());
});
