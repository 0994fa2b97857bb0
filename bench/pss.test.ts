import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { parseSmapsRollup, readRollup, sumRollups, TreeMemorySampler } from './pss.js';

const SAMPLE = `55f464b05000-7ffd8df20000 ---p 00000000 00:00 0                          [rollup]
Rss:                1620 kB
Pss:                 280 kB
Pss_Dirty:           112 kB
Pss_Anon:            112 kB
Shared_Clean:       1444 kB
Private_Dirty:       112 kB
SwapPss:               0 kB
`;

describe('PSS from smaps_rollup', () => {
  test('parses Pss and Rss (not Pss_Dirty or SwapPss) in bytes', () => {
    assert.deepEqual(parseSmapsRollup(SAMPLE), { pss: 280 * 1024, rss: 1620 * 1024 });
  });

  test('text without the fields gives undefined', () => {
    assert.equal(parseSmapsRollup(''), undefined);
    assert.equal(parseSmapsRollup('Rss: 12 kB\n'), undefined);
  });

  test('reads this process; a process that is gone counts nothing', () => {
    const me = readRollup(process.pid);
    assert.ok(me && me.pss > 0 && me.rss >= me.pss);
    assert.equal(readRollup(2 ** 22 + 1), undefined);
    const sum = sumRollups([process.pid, 2 ** 22 + 1]);
    assert.equal(sum.processes, 1);
  });

  test('the sampler sees a child process', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { stdio: 'ignore' });
    try {
      const sampler = new TreeMemorySampler(50);
      // Wait until the child has a memory map (it exists from the spawn; it may still be exec'ing).
      for (let i = 0; i < 100 && sampler.sample().processes === 0; i++)
        await new Promise((r) => setTimeout(r, 20));
      const peak = sampler.stop();
      assert.ok(peak.processes >= 1, 'one child process seen');
      assert.ok(peak.pss > 0 && peak.rss >= peak.pss);
      assert.ok(peak.samples >= 2);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
