/**
 * The SOA timer bounds of secondary zones (docs/TRANSFERS.md "Secondary role") and
 * `patchZoneText` (an IXFR's differences applied to a zone's text by start's rule: serve's
 * folder); the refresher against NSD and Knot: test/e2e/secondary.test.ts, serve's IXFR from
 * BIND: test/e2e/serve-secondary.test.ts.
 * @module
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { recordLine } from '../../xfr/secondary/ixfr-in.js';
import { parseZoneText } from '../../zone/parser.js';
import {
  clampTimers,
  IXFR_MAX_TEXT,
  MAX_MASTER_HOLD_S,
  masterHold,
  patchZoneText,
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

describe("patchZoneText: an IXFR difference applied to a held text (start's rule)", () => {
  const ZONE = 'px.test.';
  const held = [
    'px.test. 300 IN SOA ns1.px.test. h.px.test. 1 3600 600 86400 300',
    'px.test. 300 IN NS ns1.px.test.',
    'ns1.px.test. 300 IN A 192.0.2.53',
    'www.px.test. 300 IN A 192.0.2.1',
    'www.px.test. 300 IN A 192.0.2.2',
    'old.px.test. 60 IN TXT "gone"',
  ].join('\n');
  /** A text's records as sorted lines (the order of a text is its writer's). */
  const linesOf = (text: string) => parseZoneText(text, { origin: ZONE }).map(recordLine).sort();
  const soa = (serial: number) =>
    `px.test. 300 IN SOA ns1.px.test. h.px.test. ${serial} 3600 600 86400 300\n`;

  test('removals, additions, two steps in order: the zone after, SOA first', async () => {
    const text = await patchZoneText(held, ZONE, [
      {
        removed: `${soa(1)}www.px.test. 300 IN A 192.0.2.2\nold.px.test. 60 IN TXT "gone"\n`,
        added: `${soa(2)}www.px.test. 300 IN A 192.0.2.3\nnew.px.test. 120 IN AAAA 2001:db8::1\n`,
      },
      {
        removed: `${soa(2)}new.px.test. 120 IN AAAA 2001:db8::1\n`,
        added: `${soa(3)}new.px.test. 60 IN AAAA 2001:db8::2\n`,
      },
    ]);
    assert.match(text, /^px\.test\.\s+300\s+IN\s+SOA\s+ns1\.px\.test\. h\.px\.test\. 3 /);
    assert.deepEqual(
      linesOf(text),
      linesOf(
        [
          soa(3),
          'px.test. 300 IN NS ns1.px.test.',
          'ns1.px.test. 300 IN A 192.0.2.53',
          'www.px.test. 300 IN A 192.0.2.1',
          'www.px.test. 300 IN A 192.0.2.3',
          'new.px.test. 60 IN AAAA 2001:db8::2',
        ].join('\n'),
      ),
    );
  });

  test('refused (the refresher then transfers by AXFR): a removal not held, an RRset left with two TTLs, a text over IXFR_MAX_TEXT', async () => {
    await assert.rejects(
      patchZoneText(held, ZONE, [{ removed: `${soa(1)}www.px.test. 300 IN A 192.0.2.9\n`, added: soa(2) }]),
      /removes www\.px\.test\. A 192\.0\.2\.9, which is not held/,
    );
    await assert.rejects(
      patchZoneText(held, ZONE, [{ removed: soa(1), added: `${soa(2)}www.px.test. 60 IN A 192.0.2.3\n` }]),
      /records of TTL 300 and 60/,
    );
    const big = `${held}\n${'; padding\n'.repeat(IXFR_MAX_TEXT / 10 + 1)}`;
    await assert.rejects(
      patchZoneText(big, ZONE, [{ removed: soa(1), added: soa(2) }]),
      /over 1048576 characters/,
    );
  });
});
