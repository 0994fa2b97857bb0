import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Admission, type AdmissionInput, Admit, OverloadMeter } from './admission.js';
import { SourceTable, Tier } from './sources.js';

const v4 = (...o: number[]) => Uint8Array.from(o);

describe('source tiers', () => {
  test('strangers are unknown; calm history, a TCP handshake and a valid cookie lift an address', () => {
    const s = new SourceTable({ tableSize: 1024, historyMin: 5 });
    const a = s.key(v4(192, 0, 2, 1));
    assert.equal(s.tier(a, false, 0), Tier.unknown);
    for (let i = 0; i < 4; i++) s.noteCalmQuery(a, true, i * 1000);
    assert.equal(s.tier(a, false, 3100), Tier.unknown, 'not enough history yet');
    for (let i = 0; i < 100; i++) s.noteCalmQuery(a, true, 3100 + i);
    assert.equal(s.tier(a, false, 3300), Tier.unknown, 'one query a second counts: a burst buys nothing');
    s.noteCalmQuery(a, true, 4000);
    assert.equal(s.tier(a, false, 4100), Tier.history);
    // Mostly missing names: no history.
    const b = s.key(v4(192, 0, 2, 2));
    for (let i = 0; i < 50; i++) s.noteCalmQuery(b, i % 2 === 0, i * 1000);
    assert.equal(s.tier(b, false, 100_000), Tier.unknown);
    assert.equal(s.noteTcp(b, 100_000), false, "TCP on its own (a bot's connection flood) buys nothing");
    assert.equal(s.tier(b, false, 100_000), Tier.unknown);
    s.noteTruncated(b, 99_000);
    assert.equal(s.noteTcp(b, 100_000), true, 'TCP after our TC=1: a resolver following it');
    assert.equal(s.tier(b, false, 100_100), Tier.tcp);
    assert.equal(s.tier(b, false, 100_000 + 3_600_000), Tier.unknown, 'the handshake vouches for an hour');
    assert.equal(s.tier(b, true, 0), Tier.cookie, 'a valid cookie on the query itself');
  });

  test('an address that speaks cookies and sends a query without one is a stranger', () => {
    const s = new SourceTable({ tableSize: 1024, historyMin: 1 });
    const a = s.key(v4(198, 51, 100, 7));
    s.noteCalmQuery(a, true, 0);
    s.noteTruncated(a, 0);
    s.noteTcp(a, 0);
    s.noteCookie(a, 0);
    assert.equal(s.tier(a, true, 1000), Tier.cookie);
    assert.equal(s.tier(a, false, 1000), Tier.unknown);
  });

  test('IPv6 addresses are kept per /64: a bot rotating through its /64 is one entry', () => {
    const s = new SourceTable({ tableSize: 1024 });
    const a = new Uint8Array(16);
    a.set([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2]);
    const b = a.slice();
    b[15] = 0x99;
    b[9] = 0x42;
    assert.equal(s.key(a), s.key(b));
    const c = a.slice();
    c[7] = 3;
    assert.notEqual(s.key(a), s.key(c));
  });

  test('a flood of a million strangers does not push out known resolvers', () => {
    const s = new SourceTable({ tableSize: 4096, historyMin: 3 });
    const known: number[] = [];
    for (let i = 0; i < 200; i++) {
      const k = s.key(v4(10, 1, i, 1));
      known.push(k);
      for (let j = 0; j < 3; j++) s.noteCalmQuery(k, true, j * 1000);
      if (i % 2) {
        s.noteTruncated(k, 4);
        s.noteTcp(k, 5);
      }
    }
    for (let i = 0; i < 1_000_000; i++)
      s.noteCalmQuery(s.key(v4(100, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff)), false, 10 + i / 1000);
    assert.equal(s.size, 4096);
    const kept = known.filter((k, i) => s.tier(k, false, 3000) === (i % 2 ? Tier.tcp : Tier.history)).length;
    assert.equal(kept, 200);
  });
});

const base: AdmissionInput = {
  tier: Tier.unknown,
  inZone: true,
  exists: true,
  zoneAttacked: false,
  withinZoneBudget: true,
  overload: 0,
  usedTcp: true,
  nowMs: 0,
};

describe('admission', () => {
  test('calm: everything is answered', () => {
    const a = new Admission();
    for (const tier of [0, 1, 2, 3] as Tier[])
      for (const exists of [true, false]) assert.equal(a.decide({ ...base, tier, exists }), Admit.answer);
  });

  test("an attacked zone's missing names beyond its budget: strangers dropped, verified truncated one in two; its existing names answered", () => {
    const a = new Admission();
    const over = { ...base, exists: false, zoneAttacked: true, withinZoneBudget: false };
    assert.equal(a.decide(over), Admit.drop);
    assert.equal(a.decide({ ...over, tier: Tier.history }), Admit.drop);
    const verified = [0, 1, 2, 3].map(() => a.decide({ ...over, tier: Tier.cookie }));
    assert.deepEqual(verified, [Admit.truncate, Admit.drop, Admit.truncate, Admit.drop]);
    assert.equal(a.decide({ ...over, withinZoneBudget: true }), Admit.answer);
    assert.equal(a.decide({ ...base, zoneAttacked: true }), Admit.answer);
    assert.equal(a.shed['zone-budget'][Tier.unknown], 1);
    assert.equal(a.shed['zone-budget'][Tier.cookie], 4);
  });

  test('overload sheds the lowest tiers first, missing names before existing ones; verified sources never', () => {
    const a = new Admission();
    const at = (overload: number, tier: Tier, exists: boolean) =>
      a.decide({ ...base, overload, tier, exists });
    assert.equal(at(1, Tier.unknown, false), Admit.drop);
    assert.equal(at(1, Tier.unknown, true), Admit.answer);
    assert.equal(at(1, Tier.history, false), Admit.answer);
    const strangers = [0, 1, 2, 3, 4, 5, 6, 7].map(() => at(2, Tier.unknown, true));
    assert.equal(strangers.filter((x) => x === Admit.truncate).length, 2);
    assert.equal(strangers.filter((x) => x === Admit.drop).length, 6);
    assert.equal(at(2, Tier.history, false), Admit.drop);
    assert.equal(at(2, Tier.history, true), Admit.answer);
    assert.equal(at(3, Tier.history, true), Admit.answer);
    assert.equal(at(3, Tier.history, false), Admit.drop);
    assert.equal(at(3, Tier.unknown, true), Admit.drop);
    for (const lvl of [1, 2, 3]) {
      assert.equal(at(lvl, Tier.tcp, false), Admit.answer);
      assert.equal(at(lvl, Tier.cookie, true), Admit.answer);
    }
    assert.equal(
      a.decide({ ...base, inZone: false, exists: false, overload: 1 }),
      Admit.drop,
      'not our zone',
    );
  });
});

describe('TC=1 only where TCP answers', () => {
  test('a source not seen on TCP gets TC=1 within 100 a second and is dropped beyond; one seen on TCP keeps its slip', () => {
    const a = new Admission();
    const stranger = { ...base, overload: 2, usedTcp: false };
    // At level 2 one stranger in four would be truncated: 4,000 datagrams in 1 s → 1,000 would.
    let tc = 0;
    for (let i = 0; i < 4000; i++)
      if (a.decide({ ...stranger, nowMs: 10_000 + i / 4 }) === Admit.truncate) tc++;
    assert.ok(
      tc >= 100 && tc <= 202,
      `truncated ${tc}: the budget's burst (100) and one second's refill (100)`,
    );
    const seen = [0, 1, 2, 3, 4, 5, 6, 7].map(() => a.decide({ ...stranger, usedTcp: true, nowMs: 11_000 }));
    assert.equal(seen.filter((x) => x === Admit.truncate).length, 2, 'seen on TCP: one in four, no budget');
    // The budget is shared with an attacked zone's slip for verified sources that never used TCP.
    const over = { ...base, tier: Tier.cookie, exists: false, zoneAttacked: true, withinZoneBudget: false };
    const noTcp = Array.from({ length: 400 }, () => a.decide({ ...over, usedTcp: false, nowMs: 11_000 }));
    assert.equal(noTcp.filter((x) => x === Admit.truncate).length, 0, 'the budget is spent for this instant');
    const later = Array.from({ length: 400 }, () => a.decide({ ...over, usedTcp: false, nowMs: 20_000 }));
    assert.equal(later.filter((x) => x === Admit.truncate).length, 100, 'refilled to its burst of 100');
  });
});

describe('history', () => {
  test('earned history is kept when the resolver later forwards missing names; a burst still buys none', () => {
    const s = new SourceTable({ tableSize: 1024 });
    const a = s.key(v4(192, 0, 2, 9));
    for (let i = 0; i < 7; i++) s.noteCalmQuery(a, true, i * 1000);
    assert.equal(s.tier(a, false, 7000), Tier.unknown, '7 calm seconds: not yet (default 8)');
    for (let i = 0; i < 1000; i++) s.noteCalmQuery(a, true, 6500 + i / 10);
    assert.equal(s.tier(a, false, 6700), Tier.unknown, 'a burst in the same second buys nothing');
    s.noteCalmQuery(a, true, 7000);
    assert.equal(s.tier(a, false, 7100), Tier.history);
    // A random-subdomain flood through it before the zone is called attacked: missing names
    // credited for 30 calm seconds would have taken the share under 80%; it keeps its history.
    for (let i = 0; i < 30; i++) s.noteCalmQuery(a, false, 8000 + i * 1000);
    assert.equal(s.tier(a, false, 40_000), Tier.history);
    // The last credit that still qualified: 8 good of 10 at 9,000 (80%).
    assert.equal(
      s.tier(a, false, 9000 + 86_400_000 - 1),
      Tier.history,
      'a day from its last qualifying credit',
    );
    assert.equal(s.tier(a, false, 9000 + 86_400_000), Tier.unknown);
    assert.equal(s.usedTcp(a, false, 7000), false);
    s.noteTruncated(a, 7500);
    s.noteTcp(a, 8000);
    assert.equal(s.usedTcp(a, false, 8000 + 3_599_999), true);
    assert.equal(s.usedTcp(a, false, 8000 + 3_600_000), false);
    s.noteCookie(a, 9000);
    assert.equal(s.usedTcp(a, false, 9000), false, 'a cookie speaker without its cookie: not its own query');
    assert.equal(s.usedTcp(a, true, 9000), true);
    assert.equal(
      s.noteTcp(a, 7500 + 60_000),
      false,
      'a TCP query over a minute after the TC=1 lifts nothing',
    );
  });
});

describe('calm after an attack (hist23)', () => {
  test('no history earned within calmAfterSeconds of the last attack seen; earned again after; kept by who had it', () => {
    const s = new SourceTable({ tableSize: 1024 }); // history after 8 calm seconds; calm 20 s after unrest
    const resolver = s.key(v4(192, 0, 2, 1));
    const bot = s.key(v4(198, 51, 100, 7));
    for (let i = 0; i < 8; i++) s.noteCalmQuery(resolver, true, i * 1000);
    assert.equal(s.tier(resolver, false, 8000), Tier.history, 'earned in calm');
    // A wave: a /24 blocked, seen every 100 ms from 10 s to 30 s; the worker keeps up (level 0),
    // and a bot asks a valid name once a second all along and 19 s after.
    for (let t = 10_000; t <= 30_000; t += 100) s.noteUnrest(t);
    for (let t = 10_000; t < 50_000; t += 1000) {
      s.noteCalmQuery(bot, true, t);
      s.noteCalmQuery(resolver, true, t);
    }
    assert.equal(
      s.tier(bot, false, 50_000),
      Tier.unknown,
      '40 valid seconds within 20 s of the wave: nothing',
    );
    // The resolver's history was renewed through the wave: a day from its last credit (49 s).
    assert.equal(s.tier(resolver, false, 49_000 + 86_400_000 - 1), Tier.history);
    assert.equal(s.tier(resolver, false, 49_000 + 86_400_000), Tier.unknown);
    // 20 s after the last unrest (30 s): credits count again; 8 of them make history.
    for (let t = 50_000; t < 57_000; t += 1000) s.noteCalmQuery(bot, true, t);
    assert.equal(s.tier(bot, false, 57_000), Tier.unknown, '7 calm seconds after: not yet');
    s.noteCalmQuery(bot, true, 57_000);
    assert.equal(s.tier(bot, false, 57_000), Tier.history);
    // The edge: a credit at 19,999 ms after unrest is refused, at 20,000 ms counted.
    const edge = new SourceTable({ tableSize: 1024, historyMin: 1 });
    const e = edge.key(v4(203, 0, 113, 5));
    edge.noteUnrest(1000);
    edge.noteCalmQuery(e, true, 20_999);
    assert.equal(edge.tier(e, false, 20_999), Tier.unknown);
    edge.noteCalmQuery(e, true, 21_000);
    assert.equal(edge.tier(e, false, 21_000), Tier.history);
    // calmAfterSeconds 0: the rule off (calm is the caller's level 0 alone).
    const off = new SourceTable({ tableSize: 1024, historyMin: 1, calmAfterSeconds: 0 });
    const o = off.key(v4(203, 0, 113, 6));
    off.noteUnrest(1000);
    off.noteCalmQuery(o, true, 1000);
    assert.equal(off.tier(o, false, 1000), Tier.history);
    assert.throws(() => new SourceTable({ calmAfterSeconds: -1 }), RangeError);
  });

  test('(tidy25) every calm query refused its credit is counted: new sources and known ones without history, not history holders', () => {
    const s = new SourceTable({ tableSize: 1024 });
    const resolver = s.key(v4(192, 0, 2, 1));
    const known = s.key(v4(192, 0, 2, 2));
    const fresh = s.key(v4(198, 51, 100, 9));
    for (let i = 0; i < 8; i++) s.noteCalmQuery(resolver, true, i * 1000);
    for (let i = 0; i < 3; i++) s.noteCalmQuery(known, true, i * 1000);
    assert.equal(s.calmRefused, 0, 'calm: nothing refused');
    s.noteUnrest(10_000);
    for (let t = 10_000; t < 15_000; t += 1000) {
      s.noteCalmQuery(resolver, true, t); // credited: has history
      s.noteCalmQuery(known, true, t); // refused: in the table, no history
      s.noteCalmQuery(fresh, true, t); // refused: new
      s.noteCalmQuery(fresh, false, t + 10); // refused too: every query, not one a second
    }
    assert.equal(s.calmRefused, 15);
    // 20 s after the unrest: credited again, nothing more refused.
    s.noteCalmQuery(fresh, true, 30_000);
    assert.equal(s.calmRefused, 15);
    // The rule off: never refused.
    const off = new SourceTable({ tableSize: 1024, calmAfterSeconds: 0 });
    off.noteUnrest(1000);
    off.noteCalmQuery(off.key(v4(203, 0, 113, 6)), true, 1000);
    assert.equal(off.calmRefused, 0);
  });
});

describe('overload meter', () => {
  test('keeping up is level 0; full reads raise it at once; it falls one level per hold', () => {
    const m = new OverloadMeter({ holdSeconds: 2 });
    let t = 0;
    for (; t < 2000; t += 10) m.read(3, 64, t);
    assert.equal(m.level, 0);
    for (; t < 3000; t += 10) m.read(t % 40 === 0 ? 10 : 64, 64, t);
    assert.equal(m.level, 1, `share ${m.share}`);
    for (; t < 5000; t += 10) m.read(64, 64, t);
    assert.equal(m.level, 2);
    for (; t < 8000; t += 10) m.read(64, 64, t);
    assert.equal(m.level, 3, 'saturated for longer than the hold');
    const calmFrom = t;
    for (; t < calmFrom + 1500; t += 10) m.read(2, 64, t);
    assert.equal(m.level, 3, 'held');
    for (; t < calmFrom + 9000; t += 10) m.read(2, 64, t);
    assert.equal(m.level, 0);
  });

  test('the first read weighs as little as any: a full one at a clock reading of 10 s is not a wave', () => {
    // The clock of a fresh worker does not start at 0: its first reading is not a gap of 10 s
    // during which the socket was full (which made the share 1 and the level 2 at once).
    const m = new OverloadMeter({ holdSeconds: 2 });
    m.read(64, 64, 10_000);
    assert.equal(m.level, 0, `share ${m.share}`);
    assert.ok(m.share <= 0.02 + 1e-9, `share ${m.share}`);
    // A worker that really is behind from its start gets there as one that fell behind later.
    let t = 10_000;
    for (; t < 10_600; t += 10) m.read(64, 64, t);
    assert.equal(m.level, 1, `share ${m.share}`);
    for (; t < 12_000; t += 10) m.read(64, 64, t);
    assert.equal(m.level, 2, `share ${m.share}`);
  });
});
