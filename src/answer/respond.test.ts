import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildQuery,
  type Case,
  checkResponse,
  exampleCatalog,
  TCP,
  UDP,
  zoneFromText,
} from '../../test/helpers/answer-fixtures.js';
import { seededRandom } from '../../test/helpers/prng.js';
import { compileZone } from '../image/compile.js';
import { openImage } from '../image/reader.js';
import { ImageZone } from '../image/zone-view.js';
import { EdeCode, EdnsOption, RRClass, RRType } from '../wire/constants.js';
import { decodeMessage } from '../wire/decode.js';
import { findEdnsOption, parseEdeOption } from '../wire/edns.js';
import type { Message } from '../wire/message.js';
import { Catalog } from './catalog.js';
import { Responder } from './respond.js';

const { A, AXFR, IXFR, MX, NS, TXT } = RRType;

function decode(bytes: Uint8Array | null): Message {
  assert.ok(bytes, 'a response was expected');
  return decodeMessage(bytes);
}

function rcodeOf(msg: Message): number {
  return ((msg.edns?.extendedRcode ?? 0) << 4) | (msg.flags & 0xf);
}

/** A raw header: id, flags, counts. */
function header(id: number, flags: number, qd: number, an = 0, ns = 0, ar = 0): number[] {
  return [id >> 8, id & 0xff, flags >> 8, flags & 0xff, 0, qd, 0, an, 0, ns, 0, ar];
}

const WWW_QUESTION = [3, 0x77, 0x77, 0x77, 7, ...Buffer.from('example'), 0, 0, 1, 0, 1];

describe('what is dropped and what is FORMERR (RFC 1035 §4.1.1)', () => {
  const r = new Responder(exampleCatalog());

  test('shorter than a header: nothing is sent', () => {
    assert.equal(r.respond(new Uint8Array(0), UDP), null);
    assert.equal(r.respond(new Uint8Array(11), UDP), null);
  });

  test('a response (QR=1) is never answered', () => {
    const q = buildQuery('www.example.', A, { flags: 0x8100 });
    assert.equal(r.respond(q, UDP), null);
  });

  test('no question: FORMERR with the header', () => {
    const msg = decode(r.respond(Uint8Array.from(header(7, 0x0100, 0)), UDP));
    assert.equal(msg.id, 7);
    assert.equal(rcodeOf(msg), 1);
    assert.equal(msg.questions.length, 0);
    assert.equal(msg.flags & 0x0100, 0x0100, 'RD copied');
  });

  test('two questions: FORMERR', () => {
    const q = Uint8Array.from([...header(8, 0, 2), ...WWW_QUESTION, ...WWW_QUESTION]);
    const msg = decode(r.respond(q, UDP));
    assert.equal(rcodeOf(msg), 1);
  });

  test('QDCOUNT=1 without a question: FORMERR, header only', () => {
    const msg = decode(r.respond(Uint8Array.from(header(9, 0x0100, 1)), UDP));
    assert.equal(msg.id, 9);
    assert.equal(rcodeOf(msg), 1);
    assert.equal(msg.questions.length, 0);
  });

  test('trailing octets after the question: FORMERR echoing the question', () => {
    const q = Uint8Array.from([...header(10, 0x0100, 1), ...WWW_QUESTION, 0, 0]);
    const msg = decode(r.respond(q, UDP));
    assert.equal(rcodeOf(msg), 1);
    assert.equal(msg.questions.length, 1);
    assert.equal(msg.questions[0].name.toString(), 'www.example.');
  });

  test('a pointer loop in the question: FORMERR, header only', () => {
    const q = Uint8Array.from([...header(11, 0, 1), 0xc0, 12, 0, 1, 0, 1]);
    const msg = decode(r.respond(q, UDP));
    assert.equal(rcodeOf(msg), 1);
    assert.equal(msg.questions.length, 0);
  });

  test('two OPT records: FORMERR (RFC 6891 §6.1.1)', () => {
    const opt = [0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0];
    const q = Uint8Array.from([...header(12, 0, 1, 0, 0, 2), ...WWW_QUESTION, ...opt, ...opt]);
    assert.equal(rcodeOf(decode(r.respond(q, UDP))), 1);
  });

  test('opcode STATUS and NOTIFY: NOTIMP with the question (and OPT when asked)', () => {
    for (const opcode of [2, 4, 5]) {
      const q = buildQuery('www.example.', A, { flags: opcode << 11, edns: {} });
      const msg = decode(r.respond(q, UDP));
      assert.equal(rcodeOf(msg), 4);
      assert.equal((msg.flags >> 11) & 0xf, opcode, 'opcode echoed');
      assert.equal(msg.questions.length, 1);
      assert.ok(msg.edns);
      assert.equal(msg.answers.length, 0);
    }
  });
});

describe('classes and transfers', () => {
  const r = new Responder(exampleCatalog());
  const cases: [string, Case][] = [
    [
      'CHAOS without an identity or version configured is refused (chaos.test.ts has the rest)',
      { qname: 'version.bind.', qtype: TXT, rcode: 5, aa: false, query: { qclass: RRClass.CH } },
    ],
    ['class ANY is refused', { qname: 'www.example.', qtype: A, rcode: 5, query: { qclass: RRClass.ANY } }],
    ['AXFR over UDP: NOTIMP (RFC 5936 §4.2, as NSD and Knot)', { qname: 'example.', qtype: AXFR, rcode: 4 }],
    ['IXFR over UDP: REFUSED until transfers exist (as NSD)', { qname: 'example.', qtype: IXFR, rcode: 5 }],
    ['AXFR over TCP: REFUSED until transfers exist', { qname: 'example.', qtype: AXFR, rcode: 5, ctx: TCP }],
  ];
  for (const [name, c] of cases)
    test(name, () => {
      checkResponse(c, r.respond(buildQuery(c.qname, c.qtype, c.query), c.ctx ?? UDP));
    });

  test('a refused transfer says why with EDE 18 when EDNS is used', () => {
    const msg = decode(r.respond(buildQuery('example.', AXFR, { edns: {} }), TCP));
    const ede = findEdnsOption(msg.edns, EdnsOption.EDE);
    assert.ok(ede);
    assert.equal(parseEdeOption(ede.data).infoCode, EdeCode.PROHIBITED);
  });
});

describe('header flags', () => {
  const r = new Responder(exampleCatalog(), { cache: false });
  test('ID echoed, RD and CD copied, RA and AD clear', () => {
    for (const flags of [0x0000, 0x0100, 0x0010, 0x0110, 0x0130]) {
      const msg = decode(r.respond(buildQuery('www.example.', A, { id: 0xbeef, flags }), UDP));
      assert.equal(msg.id, 0xbeef);
      assert.equal(msg.flags & 0x0100, flags & 0x0100, 'RD');
      assert.equal(msg.flags & 0x0010, flags & 0x0010, 'CD');
      assert.equal(msg.flags & 0x0080, 0, 'RA');
      assert.equal(msg.flags & 0x0020, 0, 'AD');
      assert.equal(msg.flags & 0x8400, 0x8400, 'QR AA');
    }
  });

  test('TC or AA in a query do not change the answer', () => {
    const msg = decode(r.respond(buildQuery('www.example.', A, { flags: 0x0700 }), UDP));
    assert.equal(msg.flags & 0x0200, 0);
    assert.equal(msg.answers.length, 1);
  });
});

describe('EDNS (RFC 6891)', () => {
  const r = new Responder(exampleCatalog(), { nsid: new TextEncoder().encode('sb1') });

  test('no OPT in the query, none in the response', () => {
    assert.equal(decode(r.respond(buildQuery('www.example.', A), UDP)).edns, undefined);
  });

  test('OPT answered with our size, version 0, DO echoed', () => {
    for (const flags of [0, 0x8000]) {
      const msg = decode(r.respond(buildQuery('www.example.', A, { edns: { udpSize: 4096, flags } }), UDP));
      assert.ok(msg.edns);
      assert.equal(msg.edns.udpSize, 1232);
      assert.equal(msg.edns.version, 0);
      assert.equal(msg.edns.flags, flags);
      assert.deepEqual(msg.edns.options, []);
    }
  });

  test('version 1: BADVERS, OPT version 0, question, no answer', () => {
    const msg = decode(r.respond(buildQuery('www.example.', A, { edns: { version: 1 } }), UDP));
    assert.equal(rcodeOf(msg), 16);
    assert.equal(msg.flags & 0xf, 0);
    assert.equal(msg.edns?.version, 0);
    assert.equal(msg.edns?.extendedRcode, 1);
    assert.equal(msg.questions.length, 1);
    assert.equal(msg.answers.length, 0);
    assert.equal(msg.flags & 0x0400, 0, 'AA clear');
  });

  test('unknown options are ignored', () => {
    const edns = { options: [{ code: 65001, data: Uint8Array.of(1, 2, 3) }] };
    const msg = decode(r.respond(buildQuery('www.example.', A, { edns }), UDP));
    assert.equal(rcodeOf(msg), 0);
    assert.equal(msg.answers.length, 1);
    assert.deepEqual(msg.edns?.options, []);
  });

  test('NSID when asked and configured (RFC 5001)', () => {
    const asked = { options: [{ code: EdnsOption.NSID, data: new Uint8Array(0) }] };
    const msg = decode(r.respond(buildQuery('www.example.', A, { edns: asked }), UDP));
    const nsid = findEdnsOption(msg.edns, EdnsOption.NSID);
    assert.ok(nsid);
    assert.equal(Buffer.from(nsid.data).toString(), 'sb1');
    const plain = decode(r.respond(buildQuery('www.example.', A, { edns: {} }), UDP));
    assert.equal(findEdnsOption(plain.edns, EdnsOption.NSID), undefined, 'not asked');
    const unconfigured = new Responder(exampleCatalog());
    const none = decode(unconfigured.respond(buildQuery('www.example.', A, { edns: asked }), UDP));
    assert.equal(findEdnsOption(none.edns, EdnsOption.NSID), undefined, 'not configured');
  });

  test('REFUSED carries EDE 20 Not Authoritative (RFC 8914 §4.21)', () => {
    const msg = decode(r.respond(buildQuery('www.nowhere.test.', A, { edns: {} }), UDP));
    assert.equal(rcodeOf(msg), 5);
    const ede = findEdnsOption(msg.edns, EdnsOption.EDE);
    assert.ok(ede);
    assert.equal(parseEdeOption(ede.data).infoCode, EdeCode.NOT_AUTHORITATIVE);
    const noEdns = decode(r.respond(buildQuery('www.nowhere.test.', A), UDP));
    assert.equal(noEdns.edns, undefined);
  });

  test('the configured size is advertised', () => {
    const big = new Responder(exampleCatalog(), { ednsSize: 4096 });
    assert.equal(decode(big.respond(buildQuery('www.example.', A, { edns: {} }), UDP)).edns?.udpSize, 4096);
  });
});

describe('truncation (RFC 2181 §9, RFC 9471)', () => {
  let text = '$ORIGIN big.test.\n$TTL 300\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n';
  for (let i = 0; i < 30; i++) text += `txt TXT "${String(i).padStart(2, '0')}${'x'.repeat(58)}"\n`;
  for (let i = 0; i < 12; i++) {
    text += `sub NS ns${i}.sub\nns${i}.sub A 192.0.2.${i}\nns${i}.sub AAAA 2001:db8::${i}\n`;
    text += `mx MX ${i} host${i}\nhost${i} A 192.0.2.${100 + i}\nhost${i} AAAA 2001:db8::${100 + i}\n`;
  }
  const catalog = new Catalog([zoneFromText('big.test.', text)]);

  test('an answer over 512 octets without EDNS: TC, question only', () => {
    const r = new Responder(catalog);
    const msg = decode(r.respond(buildQuery('txt.big.test.', TXT), UDP));
    assert.equal(msg.flags & 0x0200, 0x0200);
    assert.equal(msg.flags & 0x0400, 0x0400, 'AA kept');
    assert.equal(msg.questions.length, 1);
    assert.equal(msg.answers.length + msg.authority.length + msg.additional.length, 0);
    assert.equal(msg.edns, undefined);
  });

  test('over the lesser of the client size and ours: TC with OPT', () => {
    const r = new Responder(catalog);
    const bytes = r.respond(buildQuery('txt.big.test.', TXT, { edns: { udpSize: 4096 } }), UDP);
    const msg = decode(bytes);
    assert.equal(msg.flags & 0x0200, 0x0200);
    assert.ok(msg.edns);
    assert.equal(msg.answers.length, 0);
  });

  test('fits when both sizes allow it, and over TCP', () => {
    const r = new Responder(catalog, { ednsSize: 4096 });
    const udp = r.respond(buildQuery('txt.big.test.', TXT, { edns: { udpSize: 4096 } }), UDP);
    assert.equal(decode(udp).answers.length, 30);
    assert.ok(udp!.length > 1232);
    const tcp = decode(new Responder(catalog).respond(buildQuery('txt.big.test.', TXT), TCP));
    assert.equal(tcp.flags & 0x0200, 0);
    assert.equal(tcp.answers.length, 30);
  });

  test('a client size under 512 counts as 512', () => {
    const r = new Responder(catalog);
    const bytes = r.respond(buildQuery('mx.big.test.', MX, { edns: { udpSize: 100 } }), UDP);
    assert.ok(bytes!.length > 100 && bytes!.length <= 512);
    assert.equal(decode(bytes).flags & 0x0200, 0);
  });

  test('in-domain glue that does not fit: TC (RFC 9471 §3)', () => {
    const r = new Responder(catalog);
    const msg = decode(r.respond(buildQuery('a.sub.big.test.', A), UDP));
    assert.equal(msg.flags & 0x0200, 0x0200);
    assert.equal(msg.flags & 0x0400, 0, 'a referral has AA clear');
    const full = decode(r.respond(buildQuery('a.sub.big.test.', A, { edns: {} }), UDP));
    assert.equal(full.flags & 0x0200, 0);
    assert.equal(full.authority.length, 12);
    assert.equal(full.additional.length, 24);
  });

  test('optional additional data that does not fit is left out without TC', () => {
    const r = new Responder(catalog);
    const bytes = r.respond(buildQuery('mx.big.test.', MX), UDP);
    const msg = decode(bytes);
    assert.equal(msg.flags & 0x0200, 0);
    assert.equal(msg.answers.length, 12);
    assert.ok(msg.additional.length > 0 && msg.additional.length < 24, `${msg.additional.length} additional`);
    assert.ok(bytes!.length <= 512);
  });

  test('NS answers keep their addresses in additional when they fit', () => {
    const r = new Responder(catalog);
    const msg = decode(r.respond(buildQuery('big.test.', NS), UDP));
    assert.equal(msg.additional.length, 1);
  });
});

describe('robustness', () => {
  test('random garbage and mutated queries never throw', () => {
    const r = new Responder(exampleCatalog());
    const rand = seededRandom(20261122);
    const seeds = [
      buildQuery('www.example.', A, { edns: { options: [{ code: 3, data: new Uint8Array(0) }] } }),
      buildQuery('x.wild.example.', TXT),
      buildQuery('a.b.dname.example.', A, { edns: {} }),
      buildQuery('foo.deleg.example.', A),
    ];
    for (let i = 0; i < 20000; i++) {
      let q: Uint8Array;
      if (i % 4 === 0) {
        q = new Uint8Array(Math.floor(rand() * 80));
        for (let j = 0; j < q.length; j++) q[j] = Math.floor(rand() * 256);
      } else {
        const base = seeds[i % seeds.length];
        q = Uint8Array.from(base);
        const flips = 1 + Math.floor(rand() * 4);
        for (let k = 0; k < flips; k++) q[Math.floor(rand() * q.length)] = Math.floor(rand() * 256);
        if (rand() < 0.2) q = q.subarray(0, Math.floor(rand() * q.length));
      }
      const ctx = i % 3 === 0 ? TCP : UDP;
      const out = r.respond(q, ctx);
      if (out === null) continue;
      assert.ok(out.length >= 12);
      assert.equal(out[0], q[0]);
      assert.equal(out[1], q[1]);
      assert.equal(out[2] & 0x80, 0x80);
      assert.ok(ctx === TCP || out.length <= 1232);
    }
  });
});

describe('image answers', () => {
  test('an answer handed out keeps its octets while later answers are written (UDP and TCP)', () => {
    const zone = zoneFromText(
      'example.',
      '$TTL 300\n@ SOA ns1 hm 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.10\nwww A 192.0.2.11\n',
    );
    const images = new Catalog([new ImageZone(openImage(compileZone(zone)))]);
    const plain = new Responder(new Catalog([zone]), { cache: false });
    for (const imageAnswers of ['cache', 'skip'] as const) {
      const r = new Responder(images, { imageAnswers });
      const kept: [Uint8Array, Uint8Array, Uint8Array][] = [];
      // Enough answers to fill several slabs; random names so that none is a cache hit.
      const random = seededRandom(11);
      for (let i = 0; i < 5000; i++) {
        const ctx = i % 7 === 0 ? TCP : UDP;
        const name = i % 3 === 0 ? 'www.example.' : `r${Math.floor(random() * 1e9)}.example.`;
        const q = buildQuery(name, A, { id: i & 0xffff, edns: i % 2 === 0 ? { udpSize: 1232 } : undefined });
        const bytes = r.respond(q, ctx)!;
        kept.push([bytes, Uint8Array.from(bytes), plain.respond(q, ctx)!]);
      }
      assert.ok(r.imageAnswers > 3000, `${r.imageAnswers} image answers`);
      for (const [bytes, copy, expected] of kept) {
        assert.deepEqual(Buffer.from(bytes), Buffer.from(copy));
        assert.deepEqual(Buffer.from(bytes), Buffer.from(expected));
      }
    }
  });
});
