import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildQuery, exampleCatalog, TCP, UDP } from '../../test/helpers/answer-fixtures.js';
import { EdeCode, EdnsOption, RRClass, RRType } from '../wire/constants.js';
import { decodeMessage } from '../wire/decode.js';
import { buildNsidOption, findEdnsOption, parseEdeOption } from '../wire/edns.js';
import type { Message } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { ChaosTable, encodeTxt } from './chaos.js';
import { Responder, type ResponderOptions } from './respond.js';

const { A, ANY, SOA, TXT } = RRType;
const CH = RRClass.CH;
const NOERROR = 0;
const REFUSED = 5;
const AA = 0x0400;
const OPTS: ResponderOptions = { identity: 'ns1.fra', version: 'Switchboard 0.1.0' };

function ask(r: Responder, name: string, type: number, opts: Parameters<typeof buildQuery>[2] = {}): Message {
  const bytes = r.respond(buildQuery(name, type, { qclass: CH, ...opts }), UDP);
  assert.ok(bytes, 'a response was expected');
  return decodeMessage(bytes);
}

/** The answer's TXT strings, decoded as UTF-8. */
function txtStrings(msg: Message): string[] {
  assert.equal(msg.answers.length, 1, 'one TXT record');
  const rr = msg.answers[0];
  assert.equal(rr.type, TXT);
  assert.equal(rr.class, CH);
  const out: string[] = [];
  for (let i = 0; i < rr.rdata.length; i += rr.rdata[i] + 1)
    out.push(Buffer.from(rr.rdata.subarray(i + 1, i + 1 + rr.rdata[i])).toString('utf8'));
  return out;
}

function edeOf(msg: Message): number | undefined {
  const o = findEdnsOption(msg.edns, EdnsOption.EDE);
  return o === undefined ? undefined : parseEdeOption(o.data).infoCode;
}

describe('CHAOS identity and version (RFC 4892, as NSD and Knot)', () => {
  for (const cache of [true, false]) {
    const r = new Responder(exampleCatalog(), cache ? OPTS : { ...OPTS, cache: false });
    const label = cache ? 'cached' : 'uncached';

    for (const [name, text] of [
      ['id.server.', 'ns1.fra'],
      ['hostname.bind.', 'ns1.fra'],
      ['version.server.', 'Switchboard 0.1.0'],
      ['version.bind.', 'Switchboard 0.1.0'],
    ])
      test(`${label}: CH TXT ${name} → "${text}", TTL 0, AA clear, NOERROR`, () => {
        for (let round = 0; round < 2; round++) {
          const msg = ask(r, name, TXT);
          assert.equal(msg.flags & 0xf, NOERROR);
          // NSD and Knot both leave AA clear: the data belongs to no zone.
          assert.equal(msg.flags & AA, 0, 'AA');
          assert.equal(msg.answers[0].ttl, 0);
          assert.equal(msg.answers[0].name.toString(), name);
          assert.deepEqual(txtStrings(msg), [text]);
          assert.equal(msg.authority.length, 0);
          assert.equal(msg.additional.length, 0);
        }
      });

    test(`${label}: ANY is answered with the TXT record (as NSD)`, () => {
      const msg = ask(r, 'id.server.', ANY);
      assert.equal(msg.flags & 0xf, NOERROR);
      assert.deepEqual(txtStrings(msg), ['ns1.fra']);
    });

    test(`${label}: the owner echoes the query's spelling, also from the cache`, () => {
      for (const name of ['id.server.', 'ID.Server.', 'iD.sErVeR.', 'VERSION.BIND.']) {
        const msg = ask(r, name, TXT);
        assert.equal(msg.questions[0].name.toString(), name);
        assert.equal(msg.answers[0].name.toString(), name);
      }
    });

    test(`${label}: other CH names, and other types, are REFUSED with EDE 21 (as NSD)`, () => {
      for (const [name, type] of [
        ['authors.bind.', TXT],
        ['foo.server.', TXT],
        ['server.', TXT],
        ['bind.', TXT],
        ['x.id.server.', TXT],
        ['id.server.', A],
        ['version.bind.', SOA],
        ['hostname.bind.', RRType.AXFR],
      ] as const) {
        const msg = ask(r, name, type, { edns: {} });
        assert.equal(msg.flags & 0xf, REFUSED, `${name} ${type}`);
        assert.equal(msg.answers.length, 0);
        assert.equal(edeOf(msg), EdeCode.NOT_SUPPORTED, `${name} ${type}`);
      }
    });
  }

  test('ID echoed, RD and CD copied; OPT only when the query had one', () => {
    const r = new Responder(exampleCatalog(), OPTS);
    for (const flags of [0x0000, 0x0100, 0x0110]) {
      const msg = ask(r, 'id.server.', TXT, { id: 0x4242, flags });
      assert.equal(msg.id, 0x4242);
      assert.equal(msg.flags & 0x0110, flags);
      assert.equal(msg.edns, undefined);
    }
    const msg = ask(r, 'id.server.', TXT, { edns: { flags: 0x8000 } });
    assert.ok(msg.edns);
    assert.equal(msg.edns.flags & 0x8000, 0x8000, 'DO copied');
  });

  test('NSID is returned with the identity when asked', () => {
    const r = new Responder(exampleCatalog(), { ...OPTS, nsid: Buffer.from('nsid-1') });
    const msg = ask(r, 'id.server.', TXT, { edns: { options: [buildNsidOption(new Uint8Array(0))] } });
    const nsid = findEdnsOption(msg.edns, EdnsOption.NSID);
    assert.ok(nsid);
    assert.equal(Buffer.from(nsid.data).toString(), 'nsid-1');
    assert.deepEqual(txtStrings(msg), ['ns1.fra']);
  });

  test('over TCP as over UDP', () => {
    const r = new Responder(exampleCatalog(), OPTS);
    const bytes = r.respond(buildQuery('version.server.', TXT, { qclass: CH }), TCP);
    assert.ok(bytes);
    assert.deepEqual(txtStrings(decodeMessage(bytes)), ['Switchboard 0.1.0']);
  });

  test('an identity or version switched off is REFUSED with EDE 18 (NSD hide-identity/hide-version)', () => {
    for (const opts of [{}, { identity: '' }, { version: '' }, { identity: 'x' }, { version: 'v' }]) {
      const r = new Responder(exampleCatalog(), opts);
      for (const [name, text] of [
        ['id.server.', opts.identity],
        ['hostname.bind.', opts.identity],
        ['version.server.', opts.version],
        ['version.bind.', opts.version],
      ]) {
        const msg = ask(r, name ?? '', TXT, { edns: {} });
        if (text) {
          assert.deepEqual(txtStrings(msg), [text], JSON.stringify(opts));
        } else {
          assert.equal(msg.flags & 0xf, REFUSED, `${name} ${JSON.stringify(opts)}`);
          assert.equal(edeOf(msg), EdeCode.PROHIBITED);
        }
      }
    }
  });

  test('a cached answer and a fresh one are the same octets', () => {
    const cached = new Responder(exampleCatalog(), { ...OPTS, cache: { admission: 'first' } });
    const fresh = new Responder(exampleCatalog(), { ...OPTS, cache: false });
    for (const name of ['id.server.', 'Id.Server.', 'ID.SERVER.', 'foo.server.', 'FOO.server.']) {
      const q = buildQuery(name, TXT, { qclass: CH, edns: {} });
      assert.deepEqual([...(cached.respond(q, UDP) ?? [])], [...(fresh.respond(q, UDP) ?? [])], name);
    }
    const stats = cached.cacheStats();
    assert.ok(stats);
    assert.equal(stats.udp.hits, 3, 'the later spellings of each name are cache hits');
  });

  test('the IN class is unaffected: id.server. IN TXT is answered from the zones (REFUSED here)', () => {
    const r = new Responder(exampleCatalog(), OPTS);
    const bytes = r.respond(buildQuery('id.server.', TXT, { edns: {} }), UDP);
    assert.ok(bytes);
    const msg = decodeMessage(bytes);
    assert.equal(msg.flags & 0xf, REFUSED);
    assert.equal(edeOf(msg), EdeCode.NOT_AUTHORITATIVE);
  });

  test('other classes stay REFUSED; EDNS version 1 gets BADVERS before the class is looked at', () => {
    const r = new Responder(exampleCatalog(), OPTS);
    const hs = decodeMessage(r.respond(buildQuery('id.server.', TXT, { qclass: RRClass.HS }), UDP)!);
    assert.equal(hs.flags & 0xf, REFUSED);
    const bad = ask(r, 'id.server.', TXT, { edns: { version: 1 } });
    assert.equal(((bad.edns?.extendedRcode ?? 0) << 4) | (bad.flags & 0xf), 16);
    assert.equal(bad.answers.length, 0);
  });
});

describe('ChaosTable and encodeTxt', () => {
  test('names match case-insensitively', () => {
    const t = new ChaosTable({ identity: 'a' });
    assert.equal(t.answer(Name.parse('HOSTNAME.bind.'), TXT).kind, 'txt');
    assert.deepEqual(t.answer(Name.parse('id.server.example.'), TXT), { kind: 'refused', ede: 21 });
  });

  test('one <character-string> up to 255 octets, then several (RFC 1035 §3.3.14)', () => {
    assert.equal(encodeTxt(undefined), null);
    assert.equal(encodeTxt(''), null);
    assert.deepEqual([...encodeTxt('ab')!], [2, 0x61, 0x62]);
    const s255 = encodeTxt('x'.repeat(255))!;
    assert.equal(s255.length, 256);
    assert.equal(s255[0], 255);
    const s300 = encodeTxt('y'.repeat(300))!;
    assert.equal(s300.length, 302);
    assert.equal(s300[0], 255);
    assert.equal(s300[256], 45);
  });

  test('text is sent as UTF-8', () => {
    assert.deepEqual([...encodeTxt('é')!], [2, 0xc3, 0xa9]);
  });
});
