/**
 * The SOA timer bounds of secondary zones (docs/TRANSFERS.md "Secondary role"); the refresher
 * against NSD and Knot: test/e2e/secondary.test.ts.
 * @module
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clampTimers, TIMER_BOUNDS, testLowerBounds } from './secondary-refresher.js';

describe('SOA timers of secondary zones', () => {
  test('clamped: refresh [60 s, 1 day], retry [30 s, 1 h] and ≤ refresh, expire [1 h, 30 d] and ≥ refresh + retry', () => {
    assert.deepEqual(clampTimers({ refresh: 3600, retry: 600, expire: 604800 }), {
      refresh: 3600,
      retry: 600,
      expire: 604800,
    });
    assert.deepEqual(clampTimers({ refresh: 0, retry: 0, expire: 0 }), {
      refresh: TIMER_BOUNDS.refresh[0],
      retry: TIMER_BOUNDS.retry[0],
      expire: TIMER_BOUNDS.expire[0],
    });
    assert.deepEqual(clampTimers({ refresh: 2 ** 32 - 1, retry: 2 ** 32 - 1, expire: 2 ** 32 - 1 }), {
      refresh: 86400,
      retry: 3600,
      expire: 30 * 86400,
    });
    // retry never above refresh; expire at least refresh + retry.
    assert.deepEqual(clampTimers({ refresh: 60, retry: 3000, expire: 10 }), {
      refresh: 60,
      retry: 60,
      expire: 3600,
    });
    assert.deepEqual(clampTimers({ refresh: 86400, retry: 3600, expire: 3600 }), {
      refresh: 86400,
      retry: 3600,
      expire: 90000,
    });
  });

  test('the tests-only lower bounds', () => {
    assert.deepEqual(testLowerBounds('1,1,4'), [1, 1, 4]);
    for (const bad of [undefined, '', '1,1', '0,1,4', 'a,b,c', '1,1,4,5'])
      assert.equal(testLowerBounds(bad), undefined);
    assert.deepEqual(clampTimers({ refresh: 1, retry: 1, expire: 4 }, [1, 1, 4]), {
      refresh: 1,
      retry: 1,
      expire: 4,
    });
  });
});
