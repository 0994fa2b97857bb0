/**
 * NOTIFY in (src/xfr/secondary/notify-in.ts): an accepted NOTIFY is relayed at most once a second
 * per zone, and one that comes within that second is relayed when it is up — never dropped (a
 * primary's two versions in a row must both be fetched), carrying the latest serial hint.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Opcode, RRType } from '../../wire/constants.js';
import { encodeMessage } from '../../wire/encode.js';
import { Name } from '../../wire/name.js';
import { type NotifyInMessage, SecondaryInbound } from './notify-in.js';

function notify(id: number, serial: number): Uint8Array {
  const soa = new Uint8Array(22);
  new DataView(soa.buffer).setUint32(2, serial);
  return encodeMessage({
    id,
    flags: Opcode.NOTIFY << 11,
    questions: [{ name: Name.parse('sec.test.'), type: RRType.SOA, class: 1 }],
    answers: [{ name: Name.parse('sec.test.'), type: RRType.SOA, class: 1, ttl: 0, rdata: soa }],
    authority: [],
    additional: [],
  });
}

describe('SecondaryInbound: NOTIFY relays', () => {
  test('within a second of the last relay: relayed once when the second is up, with the latest serial', async () => {
    const relayed: NotifyInMessage[] = [];
    const inbound = new SecondaryInbound((m) => relayed.push(m));
    inbound.apply({
      type: 'switchboard:secondary-zones',
      zones: [{ zone: 'sec.test.', masters: ['127.0.0.1'], key: null }],
      expired: [],
    });
    const answer = inbound.wrap(() => null);
    const ctx = { transport: 'udp' as const, address: '127.0.0.1', port: 53 };
    for (const [id, serial] of [
      [1, 10],
      [2, 11],
      [3, 12],
    ] as const) {
      const r = answer(notify(id, serial), ctx);
      assert.ok(r instanceof Uint8Array && (r[3] & 0xf) === 0, 'NOERROR');
    }
    // The first at once; the two that came within its second are not lost.
    assert.deepEqual(
      relayed.map((m) => m.serial),
      [10],
    );
    await new Promise((r) => setTimeout(r, 1200));
    assert.deepEqual(
      relayed.map((m) => m.serial),
      [10, 12],
    );
    // From another address: refused, nothing relayed.
    const refused = answer(notify(4, 13), { ...ctx, address: '127.0.0.9' }) as Uint8Array;
    assert.equal(refused[3] & 0xf, 5);
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(relayed.length, 2);
  });
});
