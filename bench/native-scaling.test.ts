import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type NativeScalingResult, pairedRatios } from './native-scaling.js';

function result(perCpu: number[]): NativeScalingResult {
  return {
    key: 'k',
    label: 'k',
    command: '',
    runs: perCpu.map((x) => ({ sent: 2 * x, answered: x, cpu: 1, seconds: 1, serverDrops: x })),
  };
}

test('the paired ratios are each round over its own round, not drifted medians', () => {
  // The machine slows by half in round 2: each round's sides see it alike.
  const one = result([300, 150, 300]);
  const two = result([285, 140, 270]);
  assert.deepEqual(
    pairedRatios(one, two).map((x) => x.toFixed(3)),
    ['0.950', '0.933', '0.900'],
  );
});

test('a side with fewer rounds (it failed) pairs only the rounds both have; no CPU, no ratio', () => {
  const one = result([300, 300, 300]);
  const two = result([270]);
  assert.equal(pairedRatios(one, two).length, 1);
  const idle = result([0, 300]);
  idle.runs[0].cpu = 0;
  assert.deepEqual(pairedRatios(idle, result([10, 150])), [0.5]);
});
