/**
 * Issue 6 item 1: one tenant's requests never take the platform down or stall the others.
 * Against a real `switchboard start --workers 2`: tenant A's `$GENERATE` bomb gets a 4xx
 * naming the limit quickly and without the primary growing, A's 100,000-record import and a
 * 5,000-RRset PATCH go through, and tenant B's API calls and changes meanwhile are not stalled
 * (bounds below); the platform is the same process afterwards and still answers.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { FAIRNESS_START_ARGS, runFairness } from '../helpers/fairness.js';
import { makeDataDir, type Platform, removeDataDir, startPlatform } from '../helpers/platform.js';

/** The bound for the bomb's refusal is 2 s; a busy shared machine gets 5. */
const BOMB_MS = 5000;
/**
 * Tenant B's worst call and p99 while A imports and PATCHes: the bounds (p99 < 100 ms,
 * worst < 300 ms), on top of a control measured in the same run — B's own calls while it runs
 * alone before A starts (`calm`, CALM_MS).
 *
 * What a loaded machine does to wall times is taken out by measuring it, not by wider bounds
 * (test/helpers/sched.ts, `FairnessResult.b.loop`): from each call's wall time the test
 * subtracts the time the primary's loop thread (or the test's own thread, whichever is longer)
 * sat runnable in a run queue while other processes had the CPUs — `unstarved`. A loop held by
 * A's work is not waiting in a run queue, it is running A's work: that time stays in. On a quiet
 * machine the wait is ~0 and the bounds are the on wall time; at load 10–20 the wait is
 * most of a slow call. And, load or not, the CPU time the loop thread used during any one of
 * B's calls stays under WORST_MS (`run`): a loop held by A's 100,000-record parse runs ~1 s of
 * it during the call that waits (shown with the heavy work made inline: docs/TESTING.md).
 * The scenario may run twice on a fresh platform: every functional check holds on each run,
 * the timing bounds on at least one. bench/fairness.ts measures the same with medians
 * (docs/PERFORMANCE.md).
 */
const WORST_MS = 300;
const P99_MS = 100;
/** Tenant B's change reaches the DNS answers meanwhile (the issue: < 1 s; headroom for CI). */
const CHANGE_TO_ANSWER_MS = 2000;
const TIMING_ATTEMPTS = 2;
/** How long tenant B runs alone first, for the control: a few calls even at load 20. */
const CALM_MS = 3000;
/**
 * A's PATCH after the import: 5,000 RRsets, a ~480 kB JSON body, above the 256 KiB from which
 * the API parses and validates bodies in the zone-work thread (src/api/raw-body.ts).
 */
const PATCH_RRSETS = 5000;

describe('tenant fairness under switchboard start --workers 2', () => {
  const running: Platform[] = [];
  const dirs: string[] = [];
  after(async () => {
    for (const p of running) await p.stop();
    for (const d of dirs) removeDataDir(d);
  });

  test("a $GENERATE bomb is refused at once; a 100,000-record import and a big PATCH do not stall another tenant's calls", async () => {
    const misses: string[] = [];
    for (let attempt = 1; attempt <= TIMING_ATTEMPTS; attempt++) {
      const miss = await runOnce();
      if (miss === undefined) return;
      misses.push(`run ${attempt}: ${miss}`);
      console.log(`fairness timing missed on run ${attempt}: ${miss}`);
    }
    assert.fail(`timing bounds missed on every run: ${misses.join('; ')}`);

    /** One run on a fresh platform: functional checks assert; a missed timing bound is returned. */
    async function runOnce(): Promise<string | undefined> {
      const key = `sb_${randomBytes(32).toString('base64url')}`;
      const dataDir = makeDataDir();
      dirs.push(dataDir);
      const platform = await startPlatform({
        dataDir,
        workers: 2,
        apiKey: key,
        extraArgs: FAIRNESS_START_ARGS,
      });
      running.push(platform);
      const pid = platform.pid;
      const r = await runFairness(platform, key, {
        patchRRsets: PATCH_RRSETS,
        calmMs: CALM_MS,
        log: (l) => console.log(l),
      });
      console.log(JSON.stringify(r));

      // The bomb: a 4xx naming the limit and the line, quickly, and the primary did not grow.
      assert.ok(r.bomb.bytes <= 3100, `bomb of ${r.bomb.bytes} octets`);
      assert.equal(r.bomb.status, 403, r.bomb.error);
      assert.match(r.bomb.error, /zonefile line \d+: \$GENERATE 0-65535/);
      assert.match(r.bomb.error, /record quota/);
      assert.ok(r.bomb.ms < BOMB_MS, `bomb answered in ${r.bomb.ms.toFixed(0)} ms`);
      assert.ok(r.bomb.rssGrowthMb < 100, `primary grew by ${r.bomb.rssGrowthMb.toFixed(0)} MiB`);

      // The import and the big PATCH went through, and B was served all along.
      assert.equal(r.import.status, 200);
      assert.equal(r.patch?.status, 200);
      assert.ok((r.patch?.bytes ?? 0) > 256 * 1024, `PATCH body of ${r.patch?.bytes} octets`);
      assert.equal(r.b.errors, 0);
      assert.ok(r.b.all.count >= 10, `only ${r.b.all.count} calls of tenant B`);
      const c = r.changeToAnswer;
      assert.ok(c.count >= 1, 'no change of tenant B reached the answers');
      const calm = r.calm;
      const loop = r.b.loop;
      // (No call finished before A: no control, the bounds alone.)
      const ms = (v: number) => v.toFixed(0);
      const figures =
        `tenant B over ${r.b.all.count} calls: worst ${ms(r.b.all.max)} ms, p99 ${ms(r.b.all.p99)} ms on the wall; ` +
        `unstarved worst ${ms(loop.unstarved.max)} ms, p99 ${ms(loop.unstarved.p99)} ms; loop CPU in one call worst ${ms(loop.run.max)} ms; ` +
        `change-to-answer worst ${ms(c.max)} ms, unstarved ${ms(c.unstarved.max)} ms` +
        ` (before A, ${calm.all.count} calls: unstarved worst ${ms(calm.loop.unstarved.max)} ms, p99 ${ms(calm.loop.unstarved.p99)} ms;` +
        ` change-to-answer unstarved worst ${ms(calm.changeToAnswer.unstarved.max)} ms)`;
      console.log(figures);
      const timingMiss =
        loop.run.max < WORST_MS &&
        loop.unstarved.max < WORST_MS + calm.loop.unstarved.max &&
        loop.unstarved.p99 < P99_MS + calm.loop.unstarved.p99 &&
        c.unstarved.max < CHANGE_TO_ANSWER_MS + calm.changeToAnswer.unstarved.max
          ? undefined
          : figures;

      // Alive afterwards: same process, API and DNS answer (the imported zone included).
      assert.ok(r.alive.samePid, 'the primary exited');
      // The very process started above still runs (signal 0 only checks it exists).
      assert.doesNotThrow(() => process.kill(pid, 0), 'the primary is gone');
      assert.equal(r.alive.api, 200);
      assert.deepEqual(r.alive.dns, ['10.1.134.159']);
      // Stopped before another run, so a second run has the machine to itself.
      await platform.stop();
      running.splice(running.indexOf(platform), 1);
      return timingMiss;
    }
  });
});
