import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BoundedTable, hashOctets, hashPrefix } from './bounded-table.js';

describe('BoundedTable', () => {
  test('a key keeps its slot; a full set gives up its lowest-ranked slot, never a better one', () => {
    const t = new BoundedTable(64, 4);
    const rank = new Float64Array(t.size);
    const byRank = (s: number) => rank[s];
    const first = t.claim(12345, byRank);
    assert.equal(t.claimed, true);
    rank[first] = 100; // a valued key
    assert.equal(t.claim(12345, byRank), first);
    assert.equal(t.claimed, false);
    assert.equal(t.find(12345), first);
    // Flood with 100,000 other keys of rank 0: the valued key stays while its set has others to give up.
    let kept = 0;
    for (let k = 0; k < 100_000; k++) {
      const s = t.claim(1_000_000 + k, byRank);
      if (t.claimed) rank[s] = 0;
      if (t.find(12345) === first) kept++;
    }
    assert.equal(kept, 100_000);
    assert.equal(t.size, 64);
    assert.ok(t.used() <= 64);
    assert.ok(t.evictions > 99_000);
    t.release(first);
    assert.equal(t.find(12345), -1);
  });

  test('sizes round up to a power of two; bad shapes are refused', () => {
    assert.equal(new BoundedTable(1000, 8).size, 1024);
    assert.equal(new BoundedTable(1, 4).size, 4);
    assert.throws(() => new BoundedTable(10, 3), /ways/);
    assert.throws(() => new BoundedTable(0), /size/);
  });

  test('hashes: names fold case; prefixes ignore the bits past their length', () => {
    const a = Uint8Array.from(Buffer.from('\x03WWW\x07example\x00', 'latin1'));
    const b = Uint8Array.from(Buffer.from('\x03www\x07EXAMPLE\x00', 'latin1'));
    assert.equal(hashOctets(a), hashOctets(b));
    assert.notEqual(hashOctets(a), hashOctets(a, 0, a.length - 1));
    assert.equal(hashPrefix(Uint8Array.of(10, 1, 2, 3), 20), hashPrefix(Uint8Array.of(10, 1, 15, 200), 20));
    assert.notEqual(hashPrefix(Uint8Array.of(10, 1, 2, 3), 20), hashPrefix(Uint8Array.of(10, 1, 16, 3), 20));
  });
});
