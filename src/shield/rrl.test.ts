import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ResponseKind, ResponseRateLimiter, RrlAction } from './rrl.js';

const v4 = (a: number, b: number, c: number, d: number) => Uint8Array.of(a, b, c, d);
function v6(text: string): Uint8Array {
  // Full form only, 8 groups: enough for tests.
  const out = new Uint8Array(16);
  text.split(':').forEach((g, i) => {
    const n = Number.parseInt(g, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  });
  return out;
}

/** Sends `n` responses at `t` ms; the tally of actions. */
function burst(
  rrl: ResponseRateLimiter,
  block: number,
  kind: ResponseKind,
  name: number,
  n: number,
  t: number,
) {
  const tally = { send: 0, drop: 0, slip: 0 };
  for (let i = 0; i < n; i++) {
    const a = rrl.decide(block, kind, name, t);
    if (a === RrlAction.send) tally.send++;
    else if (a === RrlAction.drop) tally.drop++;
    else tally.slip++;
  }
  return tally;
}

describe('response-rate limiting', () => {
  test('a block gets its rate of identical answers, then every 2nd limited one slips (BIND default)', () => {
    const rrl = new ResponseRateLimiter({ responsesPerSecond: 5 });
    const block = rrl.blockHash(v4(192, 0, 2, 1));
    assert.deepEqual(burst(rrl, block, ResponseKind.answer, 42, 15, 1000), { send: 5, drop: 5, slip: 5 });
  });

  test('slip 0 drops all, slip 1 truncates all, slip 3 truncates every third', () => {
    for (const [slip, want] of [
      [0, { send: 5, drop: 9, slip: 0 }],
      [1, { send: 5, drop: 0, slip: 9 }],
      [3, { send: 5, drop: 6, slip: 3 }],
    ] as const) {
      const rrl = new ResponseRateLimiter({ responsesPerSecond: 5, slip });
      assert.deepEqual(
        burst(rrl, rrl.blockHash(v4(192, 0, 2, 1)), ResponseKind.answer, 1, 14, 0),
        want,
        `slip ${slip}`,
      );
    }
  });

  test("BIND's slip order: the first limited response slips, then every slip-th; a full balance starts a new run", () => {
    const rrl = new ResponseRateLimiter({ responsesPerSecond: 5, slip: 3 });
    const b = rrl.blockHash(v4(192, 0, 2, 1));
    const seq = (n: number, t: number) =>
      Array.from({ length: n }, () => 'SDT'[rrl.decide(b, ResponseKind.answer, 1, t)]).join('');
    assert.equal(seq(12, 0), 'SSSSSTDDTDDT');
    // 2 s later the balance (-7 + 10) is not full: the run goes on where it was.
    assert.equal(seq(6, 2000), 'SSSDDT');
    // 5 s after that it is full again: 5 answers, and a new run starts at a slip.
    assert.equal(seq(8, 7000), 'SSSSSTDD');
  });

  test('errors and responses over the all-per-second limit are dropped, never truncated (BIND)', () => {
    const errors = new ResponseRateLimiter({ responsesPerSecond: 5, slip: 1 });
    const b = errors.blockHash(v4(192, 0, 2, 1));
    assert.deepEqual(burst(errors, b, ResponseKind.error, 0, 15, 0), { send: 5, drop: 10, slip: 0 });
    assert.deepEqual(burst(errors, b, ResponseKind.nxdomain, 9, 15, 0), { send: 5, drop: 0, slip: 10 });
    const all = new ResponseRateLimiter({ responsesPerSecond: 0, allPerSecond: 4, slip: 1 });
    let drop = 0;
    for (let name = 0; name < 10; name++) drop += burst(all, b, ResponseKind.answer, name, 1, 0).drop;
    assert.equal(drop, 6);
  });

  test('credit comes back at the rate, and a flooding block waits out its window', () => {
    const rrl = new ResponseRateLimiter({ responsesPerSecond: 10, window: 2, slip: 0 });
    const b = rrl.blockHash(v4(198, 51, 100, 7));
    assert.equal(burst(rrl, b, ResponseKind.answer, 1, 10, 0).send, 10);
    assert.equal(burst(rrl, b, ResponseKind.answer, 1, 1, 0).send, 0);
    // Half a second later: 5 credits earned, minus the one overdrawn.
    assert.equal(burst(rrl, b, ResponseKind.answer, 1, 10, 500).send, 4);
    // Flood: 1,000 more at once push the balance to the floor (-rate × window = -20).
    burst(rrl, b, ResponseKind.answer, 1, 1000, 500);
    // 2 s later the balance is back at 0: nothing yet; at 2.1 s one credit.
    assert.equal(burst(rrl, b, ResponseKind.answer, 1, 1, 2500).send, 0);
    assert.equal(burst(rrl, b, ResponseKind.answer, 1, 1, 2700).send, 1);
    // Idle long enough: the full burst again, never more.
    assert.equal(burst(rrl, b, ResponseKind.answer, 1, 20, 60000).send, 10);
  });

  test('addresses in one /24 (IPv4) or /56 (IPv6) share a budget; the next block has its own', () => {
    const rrl = new ResponseRateLimiter({ responsesPerSecond: 4, slip: 0 });
    assert.equal(rrl.blockHash(v4(10, 0, 0, 1)), rrl.blockHash(v4(10, 0, 0, 200)));
    assert.notEqual(rrl.blockHash(v4(10, 0, 0, 1)), rrl.blockHash(v4(10, 0, 1, 1)));
    const a = v6('2001:db8:1:2300:0:0:0:1');
    const b = v6('2001:db8:1:23ff:ffff:0:0:9');
    const c = v6('2001:db8:1:2400:0:0:0:1');
    assert.equal(rrl.blockHash(a), rrl.blockHash(b), 'same /56');
    assert.notEqual(rrl.blockHash(a), rrl.blockHash(c), 'next /56');
    const block = rrl.blockHash(v4(10, 0, 0, 1));
    assert.equal(burst(rrl, block, ResponseKind.answer, 9, 3, 0).send, 3);
    assert.equal(burst(rrl, rrl.blockHash(v4(10, 0, 0, 77)), ResponseKind.answer, 9, 3, 0).send, 1);
    assert.equal(burst(rrl, rrl.blockHash(v4(10, 0, 1, 1)), ResponseKind.answer, 9, 4, 0).send, 4);
    const wide = new ResponseRateLimiter({
      responsesPerSecond: 1,
      ipv4PrefixLength: 16,
      ipv6PrefixLength: 48,
    });
    assert.equal(wide.blockHash(v4(10, 0, 0, 1)), wide.blockHash(v4(10, 0, 9, 1)));
    assert.equal(wide.blockHash(a), wide.blockHash(c));
    assert.throws(() => rrl.blockHash(new Uint8Array(5)), RangeError);
  });

  test('kinds are counted apart: different answers, NXDOMAIN per zone, errors per block', () => {
    const rrl = new ResponseRateLimiter({
      responsesPerSecond: 3,
      nxdomainsPerSecond: 2,
      errorsPerSecond: 1,
      slip: 0,
    });
    const b = rrl.blockHash(v4(203, 0, 113, 5));
    assert.equal(burst(rrl, b, ResponseKind.answer, 1, 5, 0).send, 3);
    assert.equal(burst(rrl, b, ResponseKind.answer, 2, 5, 0).send, 3, 'another name: its own budget');
    // Random names under one zone all count as that zone's NXDOMAIN.
    assert.equal(burst(rrl, b, ResponseKind.nxdomain, 777, 5, 0).send, 2);
    assert.equal(burst(rrl, b, ResponseKind.nxdomain, 778, 5, 0).send, 2, 'another zone');
    assert.equal(
      burst(rrl, b, ResponseKind.error, 1, 3, 0).send + burst(rrl, b, ResponseKind.error, 2, 3, 0).send,
      1,
    );
    const c = rrl.counters();
    assert.equal(c.sent, 11);
    assert.deepEqual(c.dropped, { answer: 4, nxdomain: 6, nodata: 0, referral: 0, error: 5 });
  });

  test('a rate of 0 leaves that kind unlimited; allPerSecond caps the block whatever the kind', () => {
    const rrl = new ResponseRateLimiter({ responsesPerSecond: 0, allPerSecond: 6, slip: 0 });
    const b = rrl.blockHash(v4(203, 0, 113, 5));
    let sent = 0;
    for (let name = 0; name < 20; name++) sent += burst(rrl, b, ResponseKind.answer, name, 1, 0).send;
    assert.equal(sent, 6);
    const free = new ResponseRateLimiter({ responsesPerSecond: 0 });
    assert.equal(burst(free, b, ResponseKind.answer, 1, 10000, 0).send, 10000);
  });

  test('dry run sends everything and counts what it would have limited', () => {
    const rrl = new ResponseRateLimiter({ responsesPerSecond: 5, dryRun: true });
    const b = rrl.blockHash(v4(192, 0, 2, 1));
    assert.deepEqual(burst(rrl, b, ResponseKind.answer, 42, 15, 0), { send: 15, drop: 0, slip: 0 });
    const c = rrl.counters();
    assert.equal(c.dropped.answer, 5);
    assert.equal(c.slipped.answer, 5);
  });

  test('the table stays its size through a flood from a million addresses, and still limits a steady block', () => {
    const rrl = new ResponseRateLimiter({ responsesPerSecond: 5, slip: 0, tableSize: 4096 });
    const steady = rrl.blockHash(v4(192, 0, 2, 1));
    let steadySent = 0;
    for (let i = 0; i < 1_000_000; i++) {
      const t = i / 100; // 100,000 responses a second for 10 s
      const spoofed = rrl.blockHash(v4(10 + (i % 200), (i >> 8) & 0xff, i & 0xff, 1));
      rrl.decide(spoofed, ResponseKind.nxdomain, 5, t);
      if (i % 100 === 0)
        steadySent += rrl.decide(steady, ResponseKind.answer, 1, t) === RrlAction.send ? 1 : 0;
    }
    assert.equal(rrl.tableSize, 4096);
    // 10,000 asks in 10 s at 5/s: the burst plus ~50 earned, give or take evictions resetting it.
    assert.ok(steadySent < 500, `steady block sent ${steadySent}`);
  });

  test('refuses settings out of range', () => {
    assert.throws(() => new ResponseRateLimiter({ responsesPerSecond: -1 }), /responsesPerSecond/);
    assert.throws(() => new ResponseRateLimiter({ responsesPerSecond: 1, window: 0 }), /window/);
    assert.throws(() => new ResponseRateLimiter({ responsesPerSecond: 1, slip: 11 }), /slip/);
    assert.throws(() => new ResponseRateLimiter({ responsesPerSecond: 1, ipv4PrefixLength: 33 }), /ipv4/);
    assert.throws(() => new ResponseRateLimiter({ responsesPerSecond: 1, tableSize: 0 }), /tableSize/);
    assert.equal(new ResponseRateLimiter({ responsesPerSecond: 1, tableSize: 1500 }).tableSize, 2048);
  });
});
