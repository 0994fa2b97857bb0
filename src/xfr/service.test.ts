/**
 * The transfer service without a network: which queries it takes, the ACL, the concurrency
 * limits (edge keys exempt, slots freed when a stream closes), IXFR answered with one SOA when
 * the client is current, and an image zone transferred to the same records as its parsed zone.
 * @module
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { seededRandom } from '../../test/helpers/prng.js';
import { Catalog } from '../answer/catalog.js';
import { compileZone } from '../image/compile.js';
import { openImage } from '../image/reader.js';
import { ImageZone } from '../image/zone-view.js';
import type { ResponseStream, TransportContext } from '../transport/handler.js';
import { RRType } from '../wire/constants.js';
import { decodeMessage } from '../wire/decode.js';
import { encodeMessage } from '../wire/encode.js';
import { Name } from '../wire/name.js';
import { rdataToText } from '../wire/rdata.js';
import { loadZoneText } from '../zone/load.js';
import type { ServedZone } from '../zone/zone.js';
import { TransferAcl } from './acl.js';
import { TransferService } from './service.js';
import { findTsig, makeTsigKey, signTsigRequest } from './tsig.js';

const ZONE = [
  '$ORIGIN x.test.',
  '$TTL 60',
  '@ SOA ns hostmaster 5 60 60 600 60',
  '@ NS ns',
  'ns A 127.0.0.1',
  'a A 192.0.2.1',
  'a A 192.0.2.2',
  'b.c TXT "deep"',
  '',
].join('\n');
const zone = loadZoneText(ZONE).zone;
const SECRET = Buffer.from('unit-test-edge-key-secret').toString('base64');
const edge = makeTsigKey('edge', 'hmac-sha256', SECRET);

const tcp = (address: string): TransportContext => ({ transport: 'tcp', address, port: 1 });

function query(type: number, id = 1, authoritySerial?: number): Uint8Array {
  return encodeMessage({
    id,
    flags: 0,
    questions: [{ name: Name.parse('x.test.'), type, class: 1 }],
    answers: [],
    authority:
      authoritySerial === undefined
        ? []
        : [
            {
              name: Name.parse('x.test.'),
              type: RRType.SOA,
              class: 1,
              ttl: 0,
              rdata: soaRdata(authoritySerial),
            },
          ],
    additional: [],
  });
}

function soaRdata(serial: number): Uint8Array {
  const names = Buffer.from([0, 0]);
  const nums = Buffer.alloc(20);
  nums.writeUInt32BE(serial, 0);
  return new Uint8Array(Buffer.concat([names, nums]));
}

/** A signed copy of `q` (the edge key). */
function signed(q: Uint8Array): Uint8Array {
  return signTsigRequest(q, edge);
}

function drain(s: ResponseStream): string[] {
  const out: string[] = [];
  for (let m = s.next(); m !== null && m !== undefined; m = s.next())
    for (const rr of decodeMessage(m).answers)
      out.push(`${rr.name} ${rr.type} ${rdataToText(rr.type, rr.rdata)}`);
  s.close();
  return out;
}

function service(z: ServedZone = zone, limits = { perSource: 1, total: 2 }): TransferService {
  const acl = new TransferAcl([edge], ['127.0.0.2', '127.0.1.0/24']);
  return new TransferService({ acl, catalog: () => new Catalog([z]), ...limits });
}

describe('TransferService', () => {
  test('takes AXFR/IXFR over TCP only; other queries go on untouched', () => {
    const s = service();
    assert.equal(s.streams(query(RRType.A), tcp('127.0.0.2')), undefined);
    assert.equal(
      s.wrap(() => null)(query(RRType.AXFR), { transport: 'udp', address: '127.0.0.2', port: 1 }),
      null,
    );
  });

  test('REFUSED unless allowed; allowed by prefix or edge key: SOA first and last', () => {
    const s = service();
    const refused = s.streams(query(RRType.AXFR), tcp('127.0.0.9'));
    assert.ok(refused instanceof Uint8Array);
    assert.equal(refused[3] & 15, 5);
    const stream = s.streams(query(RRType.AXFR), tcp('127.0.1.200')) as ResponseStream;
    const rr = drain(stream);
    assert.equal(rr.length, 7);
    assert.match(rr[0], /^x\.test\. 6 /);
    assert.equal(rr[6], rr[0]);
    const viaKey = s.streams(signed(query(RRType.AXFR)), tcp('127.0.0.9')) as ResponseStream;
    assert.equal(typeof viaKey.next, 'function');
    const first = viaKey.next() as Uint8Array;
    assert.ok(findTsig(first) !== undefined);
    viaKey.close();
  });

  test('a catalog zone: ordinary queries REFUSED unless the asker may transfer it; other zones untouched', () => {
    const acl = new TransferAcl([edge]);
    acl.setZones(
      new Map([
        [
          zone.origin.key,
          { keys: [], allowKeys: [], allowFrom: ['127.0.3.0/24'], autoNs: false, catalog: true },
        ],
      ]),
    );
    const other = loadZoneText(ZONE.replaceAll('x.test.', 'y.test.')).zone;
    const s = new TransferService({ acl, catalog: () => new Catalog([zone, other]) });
    let passed = 0;
    const h = s.wrap(() => {
      passed++;
      return new Uint8Array([0, 1, 0x84, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    });
    const ask = (name: string, ctx: TransportContext, sign = false): Uint8Array | null => {
      const q = encodeMessage({
        id: 7,
        flags: 0,
        questions: [{ name: Name.parse(name), type: RRType.A, class: 1 }],
        answers: [],
        authority: [],
        additional: [],
      });
      return h(sign ? signed(q) : q, ctx) as Uint8Array | null;
    };
    const udp = (address: string): TransportContext => ({ transport: 'udp', address, port: 1 });
    // Any name of the catalog zone, any letter case, UDP or TCP: REFUSED, the Responder not asked.
    for (const name of ['x.test.', 'A.X.Test.', 'b.c.x.test.'])
      for (const ctx of [udp('127.0.0.9'), tcp('127.0.0.9')]) {
        const r = ask(name, ctx) as Uint8Array;
        assert.equal(r[3] & 15, 5, name);
        assert.equal(decodeMessage(r).id, 7);
      }
    assert.equal(passed, 0);
    assert.equal(s.stats.catalogRefused, 6);
    // Another zone, or a name that only ends like it: passed on.
    ask('a.y.test.', udp('127.0.0.9'));
    ask('ax.test.', udp('127.0.0.9'));
    assert.equal(passed, 2);
    // Allowed by address (ALLOW-AXFR-FROM) or signed with an edge key: answered (and signed).
    ask('a.x.test.', udp('127.0.3.4'));
    assert.equal(passed, 3);
    const withKey = ask('a.x.test.', udp('127.0.0.9'), true) as Uint8Array;
    assert.equal(passed, 4);
    assert.ok(findTsig(withKey) !== undefined);
    assert.equal(acl.catalogAt(new Uint8Array([1, 0x41]), 0), undefined, 'a truncated name matches nothing');
  });

  test('limits: per source and in total, freed on close; edge keys exempt', () => {
    const s = service();
    const one = s.streams(query(RRType.AXFR), tcp('127.0.0.2')) as ResponseStream;
    const limited = s.streams(query(RRType.AXFR), tcp('127.0.0.2'));
    assert.ok(limited instanceof Uint8Array && (limited[3] & 15) === 5, 'second from one source: REFUSED');
    const two = s.streams(query(RRType.AXFR), tcp('127.0.1.1')) as ResponseStream;
    const total = s.streams(query(RRType.AXFR), tcp('127.0.1.2'));
    assert.ok(total instanceof Uint8Array, 'third in total: REFUSED');
    const exempt = s.streams(signed(query(RRType.AXFR)), tcp('127.0.0.2'));
    assert.ok(!(exempt instanceof Uint8Array) && exempt !== null && exempt !== undefined, 'edge key exempt');
    assert.equal(s.stats.limited, 2);
    one.close();
    two.close();
    (exempt as ResponseStream).close();
    const again = s.streams(query(RRType.AXFR), tcp('127.0.0.2'));
    assert.ok(!(again instanceof Uint8Array));
    (again as ResponseStream).close();
    assert.equal(s.stats.active, 0);
  });

  test('IXFR: one SOA when the client is current or ahead (RFC 1982), else the whole zone', () => {
    const s = service();
    for (const serial of [5, 6, 0x80000003]) {
      const r = s.streams(query(RRType.IXFR, 2, serial), tcp('127.0.0.2'));
      assert.ok(r instanceof Uint8Array, `serial ${serial}`);
      const m = decodeMessage(r);
      assert.equal(m.answers.length, 1);
      assert.equal(m.answers[0].type, RRType.SOA);
    }
    const full = s.streams(query(RRType.IXFR, 3, 4), tcp('127.0.0.2')) as ResponseStream;
    assert.equal(drain(full).length, 7);
  });

  test('an image zone transfers the same records as the parsed zone', () => {
    const image = new ImageZone(openImage(compileZone(zone)));
    const fromImage = drain(service(image).streams(query(RRType.AXFR), tcp('127.0.0.2')) as ResponseStream);
    const fromZone = drain(service(zone).streams(query(RRType.AXFR), tcp('127.0.0.2')) as ResponseStream);
    assert.deepEqual([...fromImage].sort(), [...fromZone].sort());
  });

  test('hostile input: truncated and mutated signed queries never throw; each gets FORMERR, NOTAUTH, REFUSED or nothing', () => {
    const s = service();
    const answerAll = s.wrap(() => new Uint8Array(12));
    const base = signTsigRequest(query(RRType.AXFR, 7), edge);
    const soa = signTsigRequest(query(RRType.SOA, 8), edge);
    const rand = seededRandom(20261204);
    let streams = 0;
    for (let i = 0; i < 5000; i++) {
      const src = i % 2 === 0 ? base : soa;
      let m: Uint8Array;
      if (i % 5 === 0) m = src.subarray(0, Math.floor(rand() * src.length));
      else {
        m = Uint8Array.from(src);
        const flips = 1 + Math.floor(rand() * 4);
        for (let k = 0; k < flips; k++) m[Math.floor(rand() * m.length)] = Math.floor(rand() * 256);
      }
      for (const ctx of [tcp('127.0.0.9'), { transport: 'udp' as const, address: '127.0.0.9', port: 1 }]) {
        const r = ctx.transport === 'tcp' ? s.streams(m, ctx) : answerAll(m, ctx);
        if (r === null || r === undefined) continue;
        if (r instanceof Uint8Array) {
          assert.ok(r.length >= 12);
          assert.ok([0, 1, 5, 9].includes(r[3] & 15), `rcode ${r[3] & 15}`);
          continue;
        }
        // A mutation that still verifies (flipped octets in the question's case, say): drain it.
        streams++;
        drain(r);
      }
    }
    assert.equal(s.stats.active, 0);
    assert.ok(s.stats.tsigFailures > 100, `${s.stats.tsigFailures} TSIG failures`);
    void streams;
  });
});
