/**
 * The miss path (pre-parse, precomputed negative answers) gives the same octets as the full
 * decode-and-encode path, for random names in many zone shapes, on both transports, with and
 * without EDNS, NSID and the response cache.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildQuery, TCP, UDP, zoneFromText } from '../../test/helpers/answer-fixtures.js';
import { seededRandom } from '../../test/helpers/prng.js';
import { EdnsOption, RRClass, RRType } from '../wire/constants.js';
import { Name } from '../wire/name.js';
import { QueryView } from '../wire/query-view.js';
import { Catalog } from './catalog.js';
import { negativeTail } from './negative-tail.js';
import { Responder, type ResponderOptions } from './respond.js';

const { A, AAAA, ANY, CNAME, DS, MX, NS, SOA, TXT } = RRType;

/** Zones whose SOA names sit in every relation to the apex and to the questions. */
const ZONES: [string, string][] = [
  [
    'example.',
    `$TTL 3600
@ SOA ns1 hostmaster 1 7200 3600 1209600 300
@ NS ns1
ns1 A 192.0.2.1
www A 192.0.2.10
a.b.c A 192.0.2.11
*.wild TXT "w"
*.wild A 192.0.2.7
*.wild A 192.0.2.8
*.wild AAAA 2001:db8::7
srv SRV 0 0 53 ns1
caa CAA 0 issue "ca.example"
${Array.from({ length: 12 }, (_, i) => `many TXT "${String(i).padStart(2, '0')}${'x'.repeat(90)}"`).join('\n')}
sub NS ns.sub
ns.sub A 192.0.2.53
alias CNAME nowhere
dn DNAME example.net.`,
  ],
  // SOA names outside the zone, a negative TTL above the SOA's own.
  [
    'example.net.',
    '$TTL 60\n@ 60 SOA ns.other.org. admin.other.org. 1 2 3 4 3600\n@ NS ns.other.org.\nx A 192.0.2.2',
  ],
  // MNAME the apex itself; RNAME deep below it; upper case spellings in the zone.
  [
    'MiXeD.Test.',
    '$TTL 300\n@ SOA MiXeD.Test. Host.Master.Deep.MIXED.test. 7 1 1 1 100\n@ NS ns.mixed.test.\nNS A 192.0.2.3\nDeep A 192.0.2.4',
  ],
  // A child zone of example. (most specific zone wins).
  [
    'kid.example.',
    '@ 300 SOA ns1.kid.example. h.example. 1 1 1 1 30\n@ 300 NS ns1.kid.example.\nns1 300 A 192.0.2.5',
  ],
  // Long SOA names: a long question makes the negative answer not fit in 512 octets.
  [
    'long.test.',
    `@ 300 SOA ${'m'.repeat(63)}.${'n'.repeat(63)}.long.test. ${'r'.repeat(63)}.${'s'.repeat(63)}.long.test. 1 1 1 1 30
@ 300 NS ns.long.test.`,
  ],
  // SOA RDATA names sharing a suffix with each other, none with the apex's first label.
  [
    'deep.zone.test.',
    '@ 300 SOA a.ns.deep.zone.test. b.ns.deep.zone.test. 1 1 1 1 30\n@ 300 NS x.test.\nns TXT "n"',
  ],
];

function catalog(withRoot: boolean): Catalog {
  const zones = ZONES.map(([origin, text]) => zoneFromText(origin, text));
  if (withRoot)
    zones.push(
      zoneFromText(
        '.',
        '@ 300 SOA a.root-servers.net. nstld. 1 1 1 1 86400\n@ NS a.root-servers.net.\n@ TXT "root"\n@ AAAA 2001:db8::1',
      ),
    );
  return new Catalog(zones);
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-';

function randomLabel(random: () => number): string {
  const special = [
    'ns1',
    'NS1',
    'ns',
    'hostmaster',
    'host',
    'Deep',
    'deep',
    'x',
    '*',
    'www',
    'b',
    'a',
    'sub',
    'wild',
    'Wild',
    'srv',
    'caa',
    'many',
    'alias',
    'dn',
    'm'.repeat(63),
  ];
  if (random() < 0.3) return special[Math.floor(random() * special.length)];
  let s = '';
  const n = 1 + Math.floor(random() * 20);
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(random() * ALPHABET.length)];
  // Now and then an octet outside ASCII (it must not be case-folded).
  if (random() < 0.05) s += '\\200';
  return s;
}

function randomQuery(random: () => number, origins: string[], nsid: boolean): Uint8Array {
  const origin = origins[Math.floor(random() * origins.length)];
  let name = origin === '.' ? '' : origin;
  const depth = Math.floor(random() * 4);
  for (let i = 0; i < depth; i++) name = `${randomLabel(random)}.${name}`;
  if (name === '') name = '.';
  if (random() < 0.3) name = name.toUpperCase().replace('\\200', '\\200');
  const types = [A, AAAA, TXT, MX, NS, SOA, DS, ANY, CNAME, 99, RRType.SRV, RRType.CAA, RRType.DNAME];
  const type = types[Math.floor(random() * types.length)];
  const roll = random();
  const qclass = roll < 0.03 ? RRClass.CH : roll < 0.05 ? 3 : RRClass.IN;
  const flags = (random() < 0.5 ? 0x0100 : 0) | (random() < 0.2 ? 0x0010 : 0);
  const id = Math.floor(random() * 65536);
  if (random() < 0.4) return buildQuery(name, type, { id, flags, qclass });
  const sizes = [0, 512, 600, 1232, 4096, 65535];
  const options = [];
  if (nsid && random() < 0.5) options.push({ code: EdnsOption.NSID, data: new Uint8Array(0) });
  if (random() < 0.2)
    options.push({ code: EdnsOption.COOKIE, data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]) });
  if (random() < 0.1) options.push({ code: 65001, data: Uint8Array.of(9) });
  return buildQuery(name, type, {
    id,
    flags,
    qclass,
    edns: {
      udpSize: sizes[Math.floor(random() * sizes.length)],
      flags: random() < 0.5 ? 0x8000 : 0,
      version: random() < 0.03 ? 1 : 0,
      options,
    },
  });
}

function hex(b: Uint8Array | null): string | null {
  return b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

function compare(seed: number, opts: ResponderOptions, withRoot: boolean): number {
  const cat = catalog(withRoot);
  const origins = [...ZONES.map(([o]) => o), 'not-ours.test.', ...(withRoot ? ['.'] : [])];
  // Without the cache the question is answered as spelled, with it case-folded then patched
  // (a DNAME-synthesized target differs in case only): compare each with its like.
  const full = new Responder(cat, { ...opts, fastPath: false, cache: false });
  const fast = new Responder(cat, { ...opts, cache: false });
  const fullCached = new Responder(cat, { ...opts, fastPath: false });
  const cached = new Responder(cat, opts);
  const random = seededRandom(seed);
  let compared = 0;
  for (let i = 0; i < 4000; i++) {
    const q = randomQuery(random, origins, opts.nsid !== undefined);
    for (const ctx of [UDP, TCP]) {
      const want = hex(full.respond(q, ctx));
      const label = `seed ${seed} query ${i} ${Buffer.from(q).toString('hex')} ${ctx.transport}`;
      assert.equal(hex(fast.respond(q, ctx)), want, label);
      // Three times: the second miss is admitted, the third is a hit.
      for (let k = 0; k < 3; k++)
        assert.equal(hex(cached.respond(q, ctx)), hex(fullCached.respond(q, ctx)), `${label} cached ${k}`);
      compared++;
    }
  }
  return compared;
}

describe('miss path', () => {
  test('the same octets as the full path: default options', () => {
    assert.equal(compare(1, {}, false), 8000);
  });

  test('the same octets as the full path: NSID, a larger EDNS size, a root zone', () => {
    compare(2, { nsid: new TextEncoder().encode('ns-a'), ednsSize: 4096 }, true);
  });

  test('the same octets as the full path: a small EDNS size, a long NSID', () => {
    compare(3, { nsid: new Uint8Array(300).fill(0x61), ednsSize: 512 }, false);
  });

  test('mutated queries (flipped, cut, extended octets): the same answer, or none, as the full path', () => {
    const cat = catalog(true);
    const origins = [...ZONES.map(([o]) => o), 'not-ours.test.', '.'];
    const nsid = new TextEncoder().encode('ns-a');
    const full = new Responder(cat, { nsid, fastPath: false, cache: false });
    const fast = new Responder(cat, { nsid, cache: false });
    const random = seededRandom(4242);
    for (let i = 0; i < 20_000; i++) {
      const q = Uint8Array.from(randomQuery(random, origins, true));
      const roll = random();
      let m: Uint8Array = q;
      if (roll < 0.6) {
        for (let k = 1 + Math.floor(random() * 3); k > 0; k--) {
          const at = Math.floor(random() * q.length);
          q[at] = random() < 0.5 ? q[at] ^ (1 << Math.floor(random() * 8)) : Math.floor(random() * 256);
        }
      } else if (roll < 0.8) m = q.subarray(0, Math.floor(random() * q.length));
      else m = Uint8Array.from([...q, ...Array.from({ length: 1 + Math.floor(random() * 4) }, () => 0)]);
      for (const ctx of [UDP, TCP]) {
        const label = `mutant ${i} ${Buffer.from(m).toString('hex')} ${ctx.transport}`;
        assert.equal(hex(fast.respond(m, ctx)), hex(full.respond(m, ctx)), label);
      }
    }
  });

  test('negative answers are copied, not encoded, for ordinary names; clashes are left to the encoder', () => {
    const cat = catalog(false);
    const zone = cat.get(Name.parse('example.'))!;
    const tail = negativeTail(zone);
    assert.ok(tail, 'example. has a tail');
    assert.deepEqual(tail.clashes, ['\x03ns1', '\x0ahostmaster']);
    const view = new QueryView();
    assert.ok(view.parse(buildQuery('Random.Example.', A)));
    assert.equal(tail.fits(view.folded, view.qnameLength, view.labelCount), true);
    assert.ok(view.parse(buildQuery('x.NS1.example.', A)));
    assert.equal(tail.fits(view.folded, view.qnameLength, view.labelCount), false, 'ns1 is the MNAME');
    const mixed = negativeTail(cat.get(Name.parse('mixed.test.'))!);
    assert.ok(mixed);
    assert.deepEqual(mixed.clashes, ['\x04deep']);
  });
});

describe('QueryView', () => {
  test('reads the question and OPT of a plain query, case-folded', () => {
    const v = new QueryView();
    const q = buildQuery('WwW.Example.', TXT, {
      edns: { udpSize: 1400, flags: 0x8000, options: [{ code: EdnsOption.NSID, data: new Uint8Array(0) }] },
    });
    assert.ok(v.parse(q));
    assert.equal(v.foldedWire(), '\x03www\x07example\x00');
    assert.equal(v.qnameLength, 13);
    assert.equal(v.labelCount, 2);
    assert.equal(v.qtype, TXT);
    assert.equal(v.qclass, RRClass.IN);
    assert.equal(v.edns, true);
    assert.equal(v.udpSize, 1400);
    assert.equal(v.ednsFlags, 0x8000);
    assert.equal(v.nsid, true);
    assert.equal(v.cookieAt, -1);
  });

  test('leaves everything unusual to the full decoder', () => {
    const v = new QueryView();
    const plain = buildQuery('www.example.', A);
    assert.ok(v.parse(plain));
    const bad = (f: (b: Uint8Array) => Uint8Array) => v.parse(f(Uint8Array.from(plain)));
    assert.equal(
      bad((b) => Uint8Array.from([...b, 0])),
      false,
      'trailing octet',
    );
    assert.equal(
      bad((b) => b.subarray(0, b.length - 1)),
      false,
      'short question',
    );
    assert.equal(
      bad((b) => {
        b[2] |= 0x80;
        return b;
      }),
      false,
      'QR set',
    );
    assert.equal(
      bad((b) => {
        b[2] |= 0x28;
        return b;
      }),
      false,
      'opcode 5',
    );
    assert.equal(
      bad((b) => {
        b[5] = 2;
        return b;
      }),
      false,
      'QDCOUNT 2',
    );
    assert.equal(
      bad((b) => {
        b[12] = 0xc0;
        return b;
      }),
      false,
      'pointer',
    );
    const withOpt = buildQuery('www.example.', A, {
      edns: { options: [{ code: 10, data: new Uint8Array(8) }] },
    });
    assert.ok(v.parse(withOpt));
    assert.equal(v.cookieLength, 8);
    const broken = Uint8Array.from(withOpt);
    broken[broken.length - 9] = 9; // option length 9 runs past the RDATA
    assert.equal(v.parse(broken), false);
  });
});
