/**
 * IXFR in (RFC 1995) against a primary played by this test over real TCP on loopback: the
 * incremental answer (one step, a chain of steps), the AXFR form, the one-SOA answer, and
 * hostile answers (differences from another serial, a broken chain, records after the end, a
 * bad MAC, a cut connection, too many records, an owner outside the zone) that must fail the
 * transfer. Real primaries (serve, NSD, Knot): test/e2e/edge*.test.ts.
 * @module
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { RRType, typeToString } from '../../wire/constants.js';
import { decodeMessage } from '../../wire/decode.js';
import { encodeMessage } from '../../wire/encode.js';
import type { RR } from '../../wire/message.js';
import { Name } from '../../wire/name.js';
import { parseZoneText } from '../../zone/parser.js';
import { findTsig, makeTsigKey, type TsigRecord, TsigSigner } from '../tsig.js';
import { DEFAULT_TRANSFER_LIMITS, TransferError } from './client.js';
import { serialAfter, transferIn } from './ixfr-in.js';

const zone = Name.parse('ixfr.test.');
const key = makeTsigKey(
  'edge',
  'hmac-sha256',
  Buffer.from('ixfr-in-unit-test-secret-0123456789').toString('base64'),
);
const other = makeTsigKey(
  'edge',
  'hmac-sha256',
  Buffer.from('not-the-ixfr-in-unit-test-secret-000').toString('base64'),
);

function rr(owner: string, type: number, text: string, ttl = 300): RR {
  return parseZoneText(`${owner} ${ttl} IN ${typeToString(type)} ${text}`, { origin: zone })[0];
}
const soa = (serial: number) => rr('@', RRType.SOA, `ns1 hostmaster ${serial} 60 10 3600 300`);
const a = (owner: string, addr: string) => rr(owner, RRType.A, addr);

/** What the fake primary answers: messages of answer records, signed with `signKey` (default the key). */
interface Script {
  messages: RR[][];
  signKey?: typeof key;
  /** Close the connection after this many messages. */
  cutAfter?: number;
}

let server: Server;
let port = 0;
let script: Script = { messages: [] };
/** The serial the last IXFR query carried (its authority SOA). */
let askedSerial: number | undefined;

function answer(sock: Socket, query: Uint8Array): void {
  const tsig = findTsig(query) as TsigRecord;
  const msg = decodeMessage(query);
  const auth = msg.authority.find((r) => r.type === RRType.SOA);
  askedSerial = auth
    ? new DataView(auth.rdata.buffer, auth.rdata.byteOffset + auth.rdata.length - 20).getUint32(0)
    : undefined;
  const signer = new TsigSigner(script.signKey ?? key, tsig.mac);
  script.messages.forEach((answers, i) => {
    if (script.cutAfter !== undefined && i >= script.cutAfter) return;
    const body = encodeMessage({
      id: msg.id,
      flags: 0x8400,
      questions: i === 0 ? msg.questions : [],
      answers,
      authority: [],
      additional: [],
    });
    const signed = signer.sign(body);
    const framed = Buffer.alloc(2 + signed.length);
    framed.writeUInt16BE(signed.length, 0);
    framed.set(signed, 2);
    sock.write(framed);
  });
  if (script.cutAfter !== undefined) sock.end();
}

before(async () => {
  server = createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('error', () => {});
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0))
        answer(sock, new Uint8Array(buf.subarray(2, 2 + buf.readUInt16BE(0))));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});
after(() => server.close());

const target = () => ({ address: '127.0.0.1', port });
const limits = { ...DEFAULT_TRANSFER_LIMITS, timeoutMs: 5000, idleMs: 2000 };

describe('transferIn (IXFR in)', () => {
  test('RFC 1982 order', () => {
    assert.ok(serialAfter(2, 1));
    assert.ok(serialAfter(0, 0xffffffff));
    assert.ok(!serialAfter(1, 1));
    assert.ok(!serialAfter(1, 2));
  });

  test('one step, split over messages: removals (old SOA first) and additions (new SOA first)', async () => {
    script = {
      messages: [[soa(3), soa(1), a('www', '192.0.2.1')], [soa(3), a('www', '192.0.2.2')], [soa(3)]],
    };
    const r = await transferIn(target(), zone, key, 1, limits);
    assert.equal(askedSerial, 1);
    assert.equal(r.kind, 'incremental');
    if (r.kind !== 'incremental') return;
    assert.equal(r.serial, 3);
    assert.equal(r.steps.length, 1);
    assert.deepEqual([r.steps[0].from, r.steps[0].to], [1, 3]);
    assert.equal(r.steps[0].removed.length, 2);
    assert.equal(r.steps[0].added.length, 2);
  });

  test('a chain of steps', async () => {
    script = {
      messages: [
        [
          soa(5),
          soa(1),
          a('x', '192.0.2.1'),
          soa(2),
          a('y', '192.0.2.2'),
          soa(2),
          soa(5),
          a('z', '192.0.2.3'),
          soa(5),
        ],
      ],
    };
    const r = await transferIn(target(), zone, key, 1, limits);
    assert.equal(r.kind, 'incremental');
    if (r.kind === 'incremental')
      assert.deepEqual(
        r.steps.map((s) => [s.from, s.to]),
        [
          [1, 2],
          [2, 5],
        ],
      );
  });

  test('the AXFR form and the one-SOA answer', async () => {
    script = {
      messages: [
        [soa(9), a('www', '192.0.2.9')],
        [rr('@', RRType.NS, 'ns1'), soa(9)],
      ],
    };
    const full = await transferIn(target(), zone, key, 1, limits);
    assert.equal(full.kind, 'full');
    if (full.kind === 'full') assert.equal(full.records.length, 3);
    script = { messages: [[soa(1)]] };
    assert.equal((await transferIn(target(), zone, key, 1, limits)).kind, 'current');
    // AXFR (no serial): the same reader.
    script = { messages: [[soa(9), a('www', '192.0.2.9'), soa(9)]] };
    const axfr = await transferIn(target(), zone, key, undefined, limits);
    assert.equal(askedSerial, undefined);
    assert.equal(axfr.kind, 'full');
  });

  const hostile: [string, Script, RegExp][] = [
    [
      'differences from another serial',
      { messages: [[soa(3), soa(2), soa(3), soa(3)]] },
      /start at serial 2/,
    ],
    ['a broken chain', { messages: [[soa(5), soa(1), soa(2), soa(4), soa(5), soa(5)]] }, /does not follow/],
    [
      'records after the closing SOA',
      { messages: [[soa(3), soa(1), soa(3), soa(3), a('x', '192.0.2.1')]] },
      /after the closing SOA/,
    ],
    ['a bad MAC', { messages: [[soa(3), soa(1), soa(3), soa(3)]], signKey: other }, /TSIG/],
    [
      'a cut connection',
      { messages: [[soa(3), soa(1)], [soa(3)], [soa(3)]], cutAfter: 1 },
      /closed|incomplete/,
    ],
    [
      'an owner outside the zone',
      { messages: [[soa(9), { ...a('www', '192.0.2.1'), name: Name.parse('www.other.test.') }, soa(9)]] },
      /outside the zone/,
    ],
  ];
  for (const [what, s, why] of hostile)
    test(`hostile: ${what}`, async () => {
      script = s;
      await assert.rejects(transferIn(target(), zone, key, 1, limits), (err: Error) => {
        assert.match(err.message, why);
        return err instanceof TransferError || err instanceof Error;
      });
    });

  test('hostile: more records than the limit', async () => {
    script = {
      messages: [[soa(9), ...Array.from({ length: 50 }, (_, i) => a(`h${i}`, '192.0.2.1')), soa(9)]],
    };
    await assert.rejects(
      transferIn(target(), zone, key, 1, { ...limits, maxRecords: 20 }),
      /more than 20 records/,
    );
  });
});
