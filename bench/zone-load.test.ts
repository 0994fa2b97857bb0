import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type LoadResult, medianResults } from './zone-load.js';

const run = (label: string, seconds: number, pss: number, error?: string): LoadResult => ({
  label,
  seconds,
  cpuSeconds: seconds * 2,
  peakRssBytes: pss * 2,
  totalPeakRssBytes: pss * 3,
  peakPssBytes: pss,
  peakRssSumBytes: pss * 2,
  note: 'n',
  error,
});

describe('zone-load medians over rounds', () => {
  test('each figure is the median of the rounds that worked', () => {
    const out = medianResults([
      [run('A', 3, 100), run('B', 1, 10)],
      [run('A', 1, 300), run('B', Number.NaN, 0, 'boom')],
      [run('A', 2, 200), run('B', 3, 30)],
    ]);
    assert.equal(out.length, 2);
    const [a, b] = out;
    assert.equal(a.seconds, 2);
    assert.equal(a.peakPssBytes, 200);
    assert.equal(a.cpuSeconds, 4);
    assert.equal(a.totalPeakRssBytes, 600);
    assert.match(a.note, /median of 3 \(s: 3\.00, 1\.00, 2\.00\)/);
    assert.equal(a.error, undefined);
    assert.equal(b.seconds, 2);
    assert.equal(b.error, '1 round(s) failed');
  });

  test('a server that failed every round keeps its error', () => {
    const out = medianResults([[run('A', Number.NaN, 0, 'did not start')]]);
    assert.equal(out[0].error, 'did not start');
    assert.equal(out[0].note, 'n');
  });
});
