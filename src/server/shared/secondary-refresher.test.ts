/**
 * The SOA timer bounds of secondary zones (docs/TRANSFERS.md "Secondary role"); the refresher
 * against NSD and Knot: test/e2e/secondary.test.ts.
 * @module
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  clampTimers,
  MAX_MASTER_HOLD_S,
  masterHold,
  TIMER_BOUNDS,
  testLowerBounds,
  unreachable,
} from './secondary-refresher.js';

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

  test('an unreachable master: held back retry, doubled each failure, capped; bad answers are not unreachability', () => {
    assert.deepEqual(
      [1, 2, 3, 4].map((n) => masterHold(30, n)),
      [30, 60, 120, 240],
    );
    assert.equal(masterHold(600, 10), MAX_MASTER_HOLD_S);
    assert.equal(masterHold(30, 1000), MAX_MASTER_HOLD_S);
    assert.equal(unreachable(new Error('no answer from 192.0.2.1:53 to the SOA query')), true);
    assert.equal(unreachable(new Error('UDP to 127.0.0.1:5300: recv ECONNREFUSED')), true);
    assert.equal(unreachable(new Error('connect ECONNREFUSED 127.0.0.1:5300')), true);
    assert.equal(unreachable(new Error('the master answered REFUSED')), false);
    assert.equal(unreachable(new Error('TSIG check failed: BADSIG')), false);
  });
});
