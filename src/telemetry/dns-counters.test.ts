import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DnsCounters } from './dns-counters.js';
import { blockOf, C, G, Q, RCODE_LABELS, type TransportName } from './dns-layout.js';

/** A 12-octet response header with `rcode` and TC as given. */
function response(rcode: number, tc = false): Uint8Array {
  const h = new Uint8Array(12);
  h[2] = 0x84 | (tc ? 0x02 : 0);
  h[3] = rcode & 0x0f;
  return h;
}

const rcodeIndex = (t: TransportName, label: (typeof RCODE_LABELS)[number]) =>
  blockOf(t) + Q.rcode + RCODE_LABELS.indexOf(label);

describe('DnsCounters', () => {
  test('counts queries per transport, responses by header RCODE, TC and drops', () => {
    const c = new DnsCounters();
    const replies: (Uint8Array | null)[] = [
      response(0),
      response(3),
      response(5),
      response(1),
      response(2),
      response(4),
      response(9), // NOTAUTH: other
      response(7), // BADCOOKIE (23: its low four bits in the header)
      response(0, true),
      null,
    ];
    let next = 0;
    const h = c.wrapHandler((_q, _ctx: { transport: 'udp' | 'tcp' }) => replies[next++]);
    const q = new Uint8Array(12);
    for (let i = 0; i < replies.length; i++) h(q, { transport: 'udp' });
    next = 0;
    h(q, { transport: 'tcp' });
    h(q, { transport: 'tcp' });
    const r = c.report().counters;
    assert.equal(r[blockOf('udp') + Q.received], 10);
    assert.equal(r[blockOf('udp') + Q.dropped], 1);
    assert.equal(r[blockOf('udp') + Q.truncated], 1);
    assert.equal(r[rcodeIndex('udp', 'NOERROR')], 2);
    assert.equal(r[rcodeIndex('udp', 'NXDOMAIN')], 1);
    assert.equal(r[rcodeIndex('udp', 'REFUSED')], 1);
    assert.equal(r[rcodeIndex('udp', 'FORMERR')], 1);
    assert.equal(r[rcodeIndex('udp', 'SERVFAIL')], 1);
    assert.equal(r[rcodeIndex('udp', 'NOTIMP')], 1);
    assert.equal(r[rcodeIndex('udp', 'other')], 1);
    assert.equal(r[rcodeIndex('udp', 'BADCOOKIE')], 1);
    assert.equal(r[blockOf('tcp') + Q.received], 2);
    assert.equal(r[rcodeIndex('tcp', 'NOERROR')], 1);
    assert.equal(r[rcodeIndex('tcp', 'NXDOMAIN')], 1);
  });

  test('passes the reply through unchanged', () => {
    const c = new DnsCounters();
    const reply = response(0);
    const h = c.wrapHandler((_q, _ctx: { transport: 'udp' | 'tcp' }) => reply);
    assert.equal(h(new Uint8Array(12), { transport: 'udp' }), reply);
  });

  test('the report adds cache, TCP listener and zone numbers', () => {
    const c = new DnsCounters();
    c.countZoneUpdates(3);
    c.countZoneUpdates(0);
    const stats = (hits: number) => ({ entries: 4, bytes: 400, hits, misses: 2, stale: 1 });
    const r = c.report({
      cache: () => ({ udp: stats(10), tcp: stats(20) }),
      tcp: () => [
        { accepted: 7, open: 2, refused: 1, malformed: 0, idleClosed: 5 },
        { accepted: 3, open: 1, refused: 2, malformed: 1, idleClosed: 0 },
      ],
      zones: () => 42,
    });
    assert.equal(r.counters[C.zoneUpdates], 3);
    assert.equal(r.counters[blockOf('udp') + Q.cacheHits], 10);
    assert.equal(r.counters[blockOf('tcp') + Q.cacheHits], 20);
    assert.equal(r.counters[blockOf('tcp') + Q.cacheStale], 1);
    assert.equal(r.counters[C.tcpAccepted], 10);
    assert.equal(r.counters[C.tcpRejected], 3);
    assert.equal(r.counters[C.tcpMalformed], 1);
    assert.equal(r.counters[C.tcpIdleClosed], 5);
    assert.equal(r.gauges[G.tcpOpen], 3);
    assert.equal(r.gauges[G.zonesServed], 42);
    assert.equal(r.gauges[G.cacheEntries], 4);
    assert.equal(r.gauges[G.cacheBytes + 1], 400);
    // Answers sent from C by native sockets are added to the UDP block (received, RCODE, TC).
    const byRcode = new Array<number>(16).fill(0);
    byRcode[0] = 5;
    byRcode[3] = 2;
    byRcode[9] = 1; // NOTAUTH: `other`
    const nat = c.report({
      nativeUdp: () => [
        { answeredC: 8, answeredCByRcode: byRcode, answeredCTruncated: 1 },
        { answeredC: 1, answeredCByRcode: [1], answeredCTruncated: 0 },
      ],
    });
    const u = blockOf('udp');
    assert.equal(nat.counters[u + Q.received], 9);
    assert.equal(nat.counters[u + Q.rcode + RCODE_LABELS.indexOf('NOERROR')], 6);
    assert.equal(nat.counters[u + Q.rcode + RCODE_LABELS.indexOf('NXDOMAIN')], 2);
    assert.equal(nat.counters[u + Q.rcode + RCODE_LABELS.indexOf('other')], 1);
    assert.equal(nat.counters[u + Q.truncated], 1);
    assert.equal(nat.counters[blockOf('tcp') + Q.received], 0);
    // Without sources: zeros, same shape.
    const empty = new DnsCounters().report();
    assert.ok(empty.counters.every((v) => v === 0));
    assert.ok(empty.gauges.every((v) => v === 0));
  });
});
