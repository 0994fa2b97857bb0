/**
 * The drill's per-thread CPU trace (src/drill/thread-trace.ts): a sample of this process names
 * its main thread with a growing run time, and a trace's lines sum into CPU ms per wall second
 * (main thread apart from the others, the quota's throttling, the CPUs' busy time).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleThreads, type ThreadTraceSample, threadTraceSeconds } from '../../src/drill/thread-trace.js';

test('a sample reads every thread of the process, the main thread among them', () => {
  const a = sampleThreads([process.pid]);
  let x = 0;
  for (let i = 0; i < 2e6; i++) x += Math.sqrt(i);
  assert.ok(x > 0);
  const b = sampleThreads([process.pid]);
  const main = (s: ThreadTraceSample) => s.p[0]?.[1].find(([tid]) => tid === process.pid);
  assert.equal(a.p[0]?.[0], process.pid);
  assert.ok(main(a) !== undefined, 'the main thread (tid = pid) is listed');
  assert.ok((main(b)?.[1] ?? 0) > (main(a)?.[1] ?? 0), 'its run time grew');
  assert.ok((b.c?.length ?? 0) >= 1, 'the CPUs read from /proc/stat');
  assert.ok(b.w >= a.w);
  // The drill's own main thread beside the target's (here the same process): run and wait ns.
  // Names once per thread: the first sample names the main thread, the next one not again.
  const named = new Set<number>();
  const n0 = sampleThreads([process.pid], undefined, undefined, undefined, named).n ?? [];
  assert.ok(
    n0.some(([tid, name]) => tid === process.pid && name.length > 0),
    'the main thread named',
  );
  assert.ok(
    !(sampleThreads([process.pid], undefined, undefined, undefined, named).n ?? []).some(
      ([tid]) => tid === process.pid,
    ),
  );
  const d0 = sampleThreads([], undefined, undefined, process.pid).d;
  for (let i = 0; i < 2e6; i++) x += Math.sqrt(i);
  const d1 = sampleThreads([], undefined, undefined, process.pid).d;
  assert.ok(d0 && d1 && d1[0] > d0[0], "the drill's main thread's run time grew");
});

test('a trace sums into CPU ms per second: main and other threads, throttling, CPUs', () => {
  const t0 = 1_000_000;
  const line = (w: number, mainNs: number, otherNs: number, thrNs: number, busy: number): string =>
    JSON.stringify({
      w,
      thrNs,
      thrN: thrNs / 1e6,
      p: [
        [
          7,
          [
            [7, mainNs, 0],
            [8, otherNs, 0],
          ],
        ],
      ],
      c: [[busy, 0]],
      d: [mainNs / 2, mainNs / 10],
    } satisfies ThreadTraceSample);
  const text = [
    line(t0, 0, 0, 0, 0),
    line(t0 + 500, 20e6, 1e6, 5e6, 3),
    line(t0 + 1000, 50e6, 1e6, 9e6, 7),
    line(t0 + 1500, 60e6, 41e6, 9e6, 8),
  ].join('\n');
  const s = threadTraceSeconds(text, t0, 2);
  assert.deepEqual(s[0]?.cpu[7], [20, 1, 20, 0]);
  assert.equal(s[0]?.throttledMs, 5);
  assert.deepEqual(s[0]?.cpuBusyMs, [30]);
  // The sample at +1000 ms opens the second second: main 30 + 10, other 0 + 40.
  assert.deepEqual(s[1]?.cpu[7], [40, 40, 30, 0]);
  assert.equal(s[1]?.throttledMs, 4);
  assert.deepEqual(s[1]?.cpuBusyMs, [50]);
  // The drill's main thread (half the target's main run time, a tenth of it waited): second 0 10
  // and 2 ms; second 1 15 + 5 and 3 + 1.
  assert.deepEqual(s[0]?.drill, [10, 2]);
  assert.deepEqual(s[1]?.drill, [20, 4]);
});
