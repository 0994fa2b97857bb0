/**
 * Adversarial review of the answer path: queries a hostile or unusual client could send,
 * answered by a caching responder in every order, must get exactly what an uncached
 * responder gives them (up to ASCII case outside the question, which the cache folds).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildQuery, EXAMPLE_ZONE, TCP, UDP, zoneFromText } from '../../test/helpers/answer-fixtures.js';
import { EdnsOption, Flag, Opcode, RRClass, RRType } from '../wire/constants.js';
import { decodeMessage } from '../wire/decode.js';
import { findEdnsOption } from '../wire/edns.js';
import { Name } from '../wire/name.js';
import { Catalog } from './catalog.js';
import type { QueryContext } from './respond.js';
import { Responder } from './respond.js';

const { A, TXT, CNAME, DNAME } = RRType;

/** Wildcard, DNAME and CNAME in one chain, and an RRset that needs a large buffer. */
const REVIEW_ZONE = `
$ORIGIN rev.test.
$TTL 300
@ SOA ns.rev.test. h.rev.test. 1 7200 3600 1209600 60
@ NS ns.rev.test.
ns A 192.0.2.1
*.w CNAME x.d.rev.test.
d DNAME t.rev.test.
x.t A 192.0.2.7
*.t TXT "t-wild"
caf\\201 A 192.0.2.9
big TXT ${Array.from({ length: 30 }, (_, i) => `"${'x'.repeat(60)}${i}"`).join(' ')}
`;

function bigTxtZone(): string {
  // 30 strings of 62 octets in one TXT RR is ~1.9 KB; add separate RRs so sizes span buckets.
  const lines = [REVIEW_ZONE];
  for (let i = 0; i < 40; i++) lines.push(`many TXT "${'m'.repeat(50)}${i}"`);
  return lines.join('\n');
}

function catalog(): Catalog {
  return new Catalog([zoneFromText('example.', EXAMPLE_ZONE), zoneFromText('rev.test.', bigTxtZone())]);
}

/** The message with every ASCII letter folded: cached answers fold names outside the question. */
function foldAscii(b: Uint8Array): Buffer {
  const out = Buffer.from(b);
  for (let i = 0; i < out.length; i++) if (out[i] >= 0x41 && out[i] <= 0x5a) out[i] |= 0x20;
  return out;
}

function withTrailing(q: Uint8Array, extra: number[]): Uint8Array {
  return Uint8Array.from([...q, ...extra]);
}

/** The query with its OPT owner changed from the root to `a.` (RFC 6891 §6.1.1 forbids it). */
function withOptOwner(q: Uint8Array): Uint8Array {
  // The OPT RR is last: owner (1 octet: root) + 10 header octets + options; here no options.
  const optStart = q.length - 11;
  assert.equal(q[optStart], 0);
  return Uint8Array.from([...q.subarray(0, optStart), 1, 0x61, 0, ...q.subarray(optStart + 1)]);
}

/** A second copy of the question, QDCOUNT 2. */
function withTwoQuestions(q: Uint8Array): Uint8Array {
  const qEnd = q.length; // no EDNS
  const out = Uint8Array.from([...q, ...q.subarray(12, qEnd)]);
  out[5] = 2;
  return out;
}

/** The question's name replaced by a compression pointer to itself (a loop). */
function withSelfPointer(q: Uint8Array): Uint8Array {
  return Uint8Array.from([...q.subarray(0, 12), 0xc0, 12, 0, 1, 0, 1]);
}

function setFlags(q: Uint8Array, flags: number): Uint8Array {
  const out = Uint8Array.from(q);
  out[2] = flags >> 8;
  out[3] = flags & 0xff;
  return out;
}

/** Every query variant the review probes. */
function variants(): { label: string; q: Uint8Array }[] {
  const out: { label: string; q: Uint8Array }[] = [];
  const names = [
    'www.example.',
    'WwW.ExAmPlE.',
    'Foo.W.rev.test.',
    'foo.w.REV.test.',
    'big.rev.test.',
    'MANY.rev.test.',
    'EXAMPLE.',
    'No.Such.Example.',
    'X.Dname.example.',
    'Foo.Deleg.example.',
    'A.Wild.example.',
    'Loop1.example.',
    'SRV.example.',
    'Child.Example.',
    'caf\\201.rev.test.',
    'CAF\\233.rev.test.',
  ];
  const edns = [
    undefined,
    { udpSize: 512 },
    { udpSize: 1232 },
    { udpSize: 4096 },
    { udpSize: 4096, flags: 0x8000 },
    { udpSize: 1232, options: [{ code: EdnsOption.NSID, data: new Uint8Array(0) }] },
    { udpSize: 1232, options: [{ code: 65001, data: Uint8Array.of(1, 2, 3) }] },
    { udpSize: 1232, version: 1 },
    { udpSize: 100 },
  ];
  for (const name of names)
    for (const type of [A, TXT, RRType.ANY, RRType.SOA, RRType.DS, RRType.SRV])
      for (const e of edns)
        out.push({ label: `${name}/${type}/${JSON.stringify(e)}`, q: buildQuery(name, type, { edns: e }) });
  const plain = buildQuery('www.example.', A);
  const withEdns = buildQuery('www.example.', A, { edns: {} });
  out.push(
    { label: 'CD', q: buildQuery('www.example.', A, { flags: 0x0110 }) },
    { label: 'no RD', q: buildQuery('www.example.', A, { flags: 0 }) },
    { label: 'Z and AD', q: buildQuery('www.example.', A, { flags: 0x0160 }) },
    { label: 'TC and AA in a query', q: buildQuery('www.example.', A, { flags: 0x0700 }) },
    { label: 'other id', q: buildQuery('www.example.', A, { id: 0xbeef }) },
    { label: 'NOTIFY', q: setFlags(plain, Opcode.NOTIFY << 11) },
    { label: 'STATUS', q: setFlags(plain, Opcode.STATUS << 11) },
    { label: 'opcode 15', q: setFlags(plain, 15 << 11) },
    { label: 'CH', q: buildQuery('www.example.', A, { qclass: RRClass.CH }) },
    { label: 'CH id.server', q: buildQuery('ID.Server.', TXT, { qclass: RRClass.CH }) },
    { label: 'ANY class', q: buildQuery('www.example.', A, { qclass: 255 }) },
    { label: 'trailing octets', q: withTrailing(plain, [0]) },
    { label: 'trailing octets after OPT', q: withTrailing(withEdns, [1, 2]) },
    { label: 'OPT owned by a.', q: withOptOwner(withEdns) },
    { label: 'two questions', q: withTwoQuestions(plain) },
    { label: 'question name is a pointer loop', q: withSelfPointer(plain) },
    { label: 'escaped dot in a label', q: buildQuery('www\\.example.', A) },
    { label: 'DNAME overflow', q: buildQuery(`${'a'.repeat(63)}.${'b'.repeat(63)}.long.example.`, A) },
    {
      label: 'DNAME overflow, other case',
      q: buildQuery(`${'A'.repeat(63)}.${'b'.repeat(63)}.LONG.example.`, A),
    },
    { label: 'AXFR', q: buildQuery('example.', RRType.AXFR) },
  );
  return out;
}

function respondUncached(q: Uint8Array, ctx: QueryContext): Uint8Array | null {
  return new Responder(catalog(), { ednsSize: 4096, cache: false, nsid: Uint8Array.of(0x6e) }).respond(
    q,
    ctx,
  );
}

function assertSame(label: string, q: Uint8Array, got: Uint8Array | null, want: Uint8Array | null): void {
  if (want === null) {
    assert.equal(got, null, label);
    return;
  }
  assert.ok(got, label);
  assert.deepEqual(foldAscii(got), foldAscii(want), `${label}: response differs from an uncached one`);
  // ID, and the question spelled as asked (resolvers matching 0x20 case check it).
  assert.equal(got[0], q[0], label);
  assert.equal(got[1], q[1], label);
  if (want.length >= 12 && want[5] === 1 && got.length === want.length) {
    const qEnd = 12 + questionLength(want);
    assert.deepEqual(Buffer.from(got.subarray(12, qEnd)), Buffer.from(want.subarray(12, qEnd)), label);
  }
}

function questionLength(msg: Uint8Array): number {
  let i = 12;
  while (msg[i] !== 0 && msg[i] < 0xc0) i += msg[i] + 1;
  return (msg[i] >= 0xc0 ? i + 2 : i + 1) + 4 - 12;
}

describe('a caching responder answers as an uncached one, in any order, on both transports', () => {
  const all = variants();
  const expected = new Map<string, Uint8Array | null>();
  for (const ctx of [UDP, TCP])
    for (const v of all) expected.set(`${ctx.transport} ${v.label}`, respondUncached(v.q, ctx));

  for (const order of ['forward', 'backward', 'interleaved']) {
    test(`order ${order}`, () => {
      const r = new Responder(catalog(), { ednsSize: 4096, nsid: Uint8Array.of(0x6e) });
      const seq = order === 'backward' ? [...all].reverse() : all;
      // Twice over, so the second pass is served from the cache.
      for (let pass = 0; pass < 2; pass++)
        for (const v of seq) {
          const ctxs = order === 'interleaved' ? [TCP, UDP] : [UDP, TCP];
          for (const ctx of ctxs) {
            const label = `${ctx.transport} ${v.label}`;
            assertSame(`${label} (pass ${pass})`, v.q, r.respond(v.q, ctx), expected.get(label)!);
          }
        }
      assert.ok(r.cacheStats()!.udp.hits > 0, 'the cache was exercised');
    });
  }
});

describe('specific hypotheses', () => {
  test('a TC answer cached for a small buffer is not served to a larger buffer or over TCP', () => {
    const r = new Responder(catalog(), { ednsSize: 4096 });
    const small = buildQuery('big.rev.test.', TXT, { edns: { udpSize: 512 } });
    const large = buildQuery('big.rev.test.', TXT, { edns: { udpSize: 4096 } });
    for (let i = 0; i < 2; i++) {
      assert.ok(decodeMessage(r.respond(small, UDP)!).flags & Flag.TC, 'TC at 512');
      const l = decodeMessage(r.respond(large, UDP)!);
      assert.equal(l.flags & Flag.TC, 0, 'no TC at 4096');
      assert.equal(l.answers.length, 1);
      const t = decodeMessage(r.respond(small, TCP)!);
      assert.equal(t.flags & Flag.TC, 0, 'no TC over TCP');
      assert.equal(t.answers.length, 1);
    }
  });

  test('RD and CD come from each query, never from the cached one; Z, AD never echoed', () => {
    const r = new Responder(catalog());
    for (const flags of [0x0110, 0x0000, 0x0100, 0x0010, 0x0170, 0x0000]) {
      const res = r.respond(buildQuery('www.example.', A, { flags, id: flags + 1 }), UDP)!;
      const m = decodeMessage(res);
      assert.equal(m.id, flags + 1);
      assert.equal(m.flags & Flag.RD, flags & Flag.RD);
      assert.equal(m.flags & Flag.CD, flags & Flag.CD);
      assert.equal(m.flags & 0x0060, 0, 'Z and AD clear');
    }
  });

  test('wildcard → CNAME → DNAME → synthesized CNAME → A, owners spelled as asked', () => {
    const r = new Responder(catalog());
    for (const spelling of ['foo.w.rev.test.', 'FoO.w.ReV.test.', 'FOO.W.REV.TEST.']) {
      const m = decodeMessage(r.respond(buildQuery(spelling, A), UDP)!);
      assert.equal(m.flags & 0xf, 0);
      assert.deepEqual(
        m.answers.map((rr) => [rr.name.toString().toLowerCase(), rr.type]),
        [
          ['foo.w.rev.test.', CNAME],
          ['d.rev.test.', DNAME],
          ['x.d.rev.test.', CNAME],
          ['x.t.rev.test.', A],
        ],
      );
      assert.equal(m.questions[0].name.toString(), spelling);
      assert.equal(m.answers[0].name.toString(), spelling, 'the wildcard owner is the QNAME as asked');
    }
  });

  test('names over 255 octets, however spelled, never reach the answer algorithm', () => {
    // 4 labels of 63 octets are 256 octets with the root: the longest allowed is 255.
    const label = 'a'.repeat(62);
    assert.throws(() => Name.parse(`${label}\\.${label}.${label}.${label}.${label}.`));
    assert.throws(() => Name.parse(`${'\\097'.repeat(63)}.${label}a.${label}a.${label}a.`));
    const longest = Name.parse(`${label}a.${label}a.${label}a.${'a'.repeat(61)}.`);
    assert.equal(longest.length, 255);
    const r = new Responder(catalog());
    const ok = decodeMessage(r.respond(buildQuery(longest, A), UDP)!);
    assert.equal(ok.flags & 0xf, 5, 'REFUSED: in no zone');
    // On the wire: one more octet in the last label makes 256.
    const wire = Buffer.from(buildQuery(longest, A));
    const lastLabel = 12 + 64 * 3;
    const tooLong = Buffer.concat([
      wire.subarray(0, lastLabel),
      Buffer.of(62),
      Buffer.alloc(62, 0x61),
      wire.subarray(lastLabel + 62),
    ]);
    for (let i = 0; i < 2; i++) {
      const m = r.respond(tooLong, UDP)!;
      assert.equal(m[3] & 0xf, 1, 'FORMERR');
    }
  });

  test('NSID only when asked, whatever was cached first', () => {
    const r = new Responder(catalog(), { nsid: Uint8Array.of(1, 2) });
    const asked = buildQuery('www.example.', A, {
      edns: { options: [{ code: EdnsOption.NSID, data: new Uint8Array(0) }] },
    });
    const not = buildQuery('www.example.', A, { edns: {} });
    for (let i = 0; i < 2; i++) {
      assert.ok(findEdnsOption(decodeMessage(r.respond(asked, UDP)!).edns!, EdnsOption.NSID));
      assert.equal(findEdnsOption(decodeMessage(r.respond(not, UDP)!).edns!, EdnsOption.NSID), undefined);
    }
  });
});

describe('UDP responses never exceed what one datagram carries', () => {
  test('with --edns-size 65535, an answer of 65508-65535 octets is truncated, not built too large to send', () => {
    // RFC 768 / IPv4: a UDP payload is at most 65507 octets; the UDP transport drops larger ones.
    const lines = [
      '$ORIGIN huge.test.',
      '$TTL 300',
      '@ SOA ns.huge.test. h.huge.test. 1 7200 3600 1209600 60',
      '@ NS ns',
      'ns A 192.0.2.1',
    ];
    for (let i = 0; i < 244; i++) lines.push(`t TXT "${String(i).padStart(3, '0')}${'x'.repeat(252)}"`);
    lines.push(`t TXT "${'y'.repeat(80)}"`);
    const r = new Responder(new Catalog([zoneFromText('huge.test.', lines.join('\n'))]), { ednsSize: 65535 });
    const q = buildQuery('t.huge.test.', TXT, { edns: { udpSize: 65535 } });
    const full = r.respond(q, TCP)!;
    assert.ok(full.length > 65507 && full.length <= 65535, `precondition: ${full.length} octets`);
    for (let i = 0; i < 2; i++) {
      const udp = r.respond(q, UDP)!;
      assert.ok(udp.length <= 65507, `${udp.length} octets over UDP`);
      assert.ok(decodeMessage(udp).flags & Flag.TC);
    }
  });
});

describe('only ASCII letters fold (RFC 4343 §3)', () => {
  test('a Latin-1 capital and its small letter are different names, cached or not', () => {
    const r = new Responder(catalog());
    for (let i = 0; i < 2; i++) {
      const hit = decodeMessage(r.respond(buildQuery('CAF\\201.rev.test.', A), UDP)!);
      assert.equal(hit.answers.length, 1);
      const miss = decodeMessage(r.respond(buildQuery('caf\\233.rev.test.', A), UDP)!);
      assert.equal(miss.flags & 0xf, 3, 'NXDOMAIN: \\233 is not \\201');
    }
  });
});
