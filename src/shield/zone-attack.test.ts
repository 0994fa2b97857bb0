import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ZoneAttackDetector, type ZoneAttackEvent } from './zone-attack.js';

/** Feeds `seconds` seconds from `start` s: per second `existing` + `missing` queries of `zone`, spread evenly. */
function feed(
  d: ZoneAttackDetector,
  zone: number,
  start: number,
  seconds: number,
  existing: number,
  missing: number,
) {
  let admitted = 0;
  let asked = 0;
  for (let s = start; s < start + seconds; s++) {
    const n = existing + missing;
    for (let i = 0; i < n; i++) {
      const t = s * 1000 + (i * 1000) / n;
      const isMissing = i % n < missing;
      const slot = d.observe(zone, !isMissing, t);
      if (isMissing) {
        asked++;
        if (d.admitMissing(slot, t)) admitted++;
      }
    }
    d.sweep(s * 1000 + 999);
  }
  return { admitted, asked };
}

describe('random-subdomain detection per zone', () => {
  test('a calm zone is never called attacked; a flood of missing names is, within seconds, and leaves after it stops', () => {
    const d = new ZoneAttackDetector();
    const events: ZoneAttackEvent[] = [];
    d.onChange((e) => events.push(e));
    feed(d, 1, 0, 120, 50, 5);
    assert.equal(events.length, 0);
    // The flood: 5,000 missing names a second under zone 1.
    feed(d, 1, 120, 3, 50, 5000);
    assert.equal(events.length, 1);
    assert.equal(events[0].zone, 1);
    assert.equal(events[0].attacked, true);
    assert.ok(events[0].at < 122_000, `entered at ${events[0].at}`);
    assert.ok(
      events[0].baselinePerSecond > 1 && events[0].baselinePerSecond <= 5,
      `${events[0].baselinePerSecond}`,
    );
    assert.deepEqual(d.attackedZones(), [1]);
    // The flood stops (no query at all): sweeps end it after the hold time.
    for (let s = 123; s < 145; s++) d.sweep(s * 1000);
    assert.equal(events.length, 2);
    assert.equal(events[1].attacked, false);
    assert.ok(events[1].at >= 133_000 && events[1].at <= 140_000, `left at ${events[1].at}`);
    assert.deepEqual(d.attackedZones(), []);
  });

  test('the mid-second call: a flood is called a few hundred queries in, not at the end of its second', () => {
    const d = new ZoneAttackDetector();
    const events: ZoneAttackEvent[] = [];
    d.onChange((e) => events.push(e));
    feed(d, 1, 0, 60, 50, 5);
    // 5,000 missing names a second from 60 s on: this second's missing names, smoothed as the
    // roll would (0.5 of them), pass the 200 floor at ~400 queries: ~80 ms in.
    let calledAt = -1;
    for (let i = 0; i < 5000; i++) {
      const t = 60_000 + i / 5;
      const slot = d.observe(1, false, t);
      if (calledAt < 0 && d.isAttacked(slot)) calledAt = i;
    }
    assert.ok(calledAt >= 390 && calledAt <= 420, `called after ${calledAt} queries`);
    assert.equal(events.length, 1);
    assert.ok(events[0].at < 60_100, `entered at ${events[0].at}`);
    // The roll that follows agrees (attacked, no second event); the budget holds from the start.
    feed(d, 1, 61, 2, 50, 5000);
    assert.equal(events.length, 1);
    assert.deepEqual(d.attackedZones(), [1]);
  });

  test('the mid-second call calls nothing the roll would not: a burst under the smoothed floor, a busy zone', () => {
    const d = new ZoneAttackDetector();
    const events: ZoneAttackEvent[] = [];
    d.onChange((e) => events.push(e));
    // 390 missing names in one second after a calm minute: the roll smooths them to 195 < 200.
    feed(d, 2, 0, 60, 50, 5);
    feed(d, 2, 60, 1, 0, 390);
    feed(d, 2, 61, 30, 50, 5);
    // A zone whose missing names are under half its queries (share 0.5): interleaved for 5 s,
    // then each second's missing names first (the projection judges the share against at
    // least the last smoothed rate, so the first 4,000 of a second do not look a flood).
    for (let s = 0; s < 5; s++) for (let i = 0; i < 9000; i++) d.observe(3, i % 9 >= 4, s * 1000 + i / 9);
    feed(d, 3, 5, 25, 5000, 4000);
    assert.equal(events.length, 0);
    assert.deepEqual(d.attackedZones(), []);
  });

  test('while attacked, missing names get the budget; other zones are untouched', () => {
    const d = new ZoneAttackDetector({ budgetFloor: 50 });
    feed(d, 1, 0, 60, 50, 5);
    feed(d, 2, 0, 60, 50, 5);
    feed(d, 1, 60, 2, 50, 5000);
    const during = feed(d, 1, 62, 10, 50, 5000);
    // ~50 a second of 5,000 (floor 50 > 2 × baseline ≈ 10): about 1%.
    assert.ok(
      during.admitted >= 450 && during.admitted <= 560,
      `admitted ${during.admitted} of ${during.asked}`,
    );
    const other = feed(d, 2, 60, 12, 50, 5);
    assert.equal(other.admitted, other.asked, 'zone 2 keeps all its answers');
    assert.deepEqual(d.attackedZones(), [1]);
  });

  test('a zone whose normal traffic is mostly missing names learns it, and is only called attacked far above it', () => {
    const d = new ZoneAttackDetector({ minNxPerSecond: 100 });
    const events: ZoneAttackEvent[] = [];
    d.onChange((e) => events.push(e));
    // Calm but NXDOMAIN-heavy, under the absolute floor while its baseline builds up.
    for (let s = 0; s < 1200; s++) feed(d, 7, s, 1, 20, Math.min(90, s));
    assert.equal(events.length, 0);
    // Its normal rises a little: 150/s is over the floor but under 10× its baseline (~90).
    feed(d, 7, 1200, 30, 20, 150);
    assert.equal(events.length, 0);
    feed(d, 7, 1230, 5, 20, 5000);
    assert.equal(events.length, 1);
  });

  test('needs the share too: a busy zone whose missing names are a minority is not attacked', () => {
    const d = new ZoneAttackDetector();
    const events: ZoneAttackEvent[] = [];
    d.onChange((e) => events.push(e));
    feed(d, 3, 0, 20, 5000, 1000);
    assert.equal(events.length, 0);
  });

  test('state is bounded: 100,000 zones through a table of 1,024, and the attacked zone is kept', () => {
    const d = new ZoneAttackDetector({ tableSize: 1024 });
    feed(d, 42, 0, 3, 0, 3000);
    assert.deepEqual(d.attackedZones(), [42]);
    for (let z = 0; z < 100_000; z++) d.observe(1000 + z, false, 3000 + z / 100);
    assert.deepEqual(d.attackedZones(), [42]);
    const slot = d.observe(42, false, 4000);
    assert.equal(d.isAttacked(slot), true);
  });

  test('the busiest zones, busiest first, fading once their queries stop', () => {
    const d = new ZoneAttackDetector();
    feed(d, 1, 0, 10, 10, 0);
    feed(d, 2, 0, 10, 100, 0);
    feed(d, 3, 0, 10, 40, 20);
    const top = d.top(10_500);
    assert.deepEqual(
      top.map((r) => r.zone),
      [2, 3, 1],
    );
    assert.ok(top[0].queriesPerSecond > 90 && top[0].queriesPerSecond <= 100);
    assert.ok(top[1].missingPerSecond > 15 && top[1].missingPerSecond <= 20);
    assert.deepEqual(
      d.top(10_500, 2).map((r) => r.zone),
      [2, 3],
    );
    // Ten silent seconds later they have faded away.
    assert.deepEqual(d.top(25_000), []);
  });

  test('refuses settings out of range', () => {
    assert.throws(() => new ZoneAttackDetector({ minNxShare: 2 }), /minNxShare/);
    assert.throws(() => new ZoneAttackDetector({ holdSeconds: 0 }), /holdSeconds/);
    assert.throws(() => new ZoneAttackDetector({ tableSize: 1 }), /tableSize/);
  });
});
