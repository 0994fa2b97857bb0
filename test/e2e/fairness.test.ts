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
 * Tenant B's worst call and p99 while A imports and PATCHes. The targets (p99 < 100 ms,
 * worst < 300 ms, change-to-answer < 1 s) are measured on a quiet machine by bench/fairness.ts
 * (docs/PERFORMANCE.md); this test guards against the stalls of seconds they replaced, with
 * headroom for a CI machine shared with the rest of the suite (measured here at load ~5: worst
 * 518 ms, p99 145 ms, change-to-answer 1.1 s).
 */
const WORST_MS = 1000;
const P99_MS = 250;
/** Tenant B's change reaches the DNS answers meanwhile (the issue: < 1 s on a quiet machine). */
const CHANGE_TO_ANSWER_MS = 3000;
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
    const r = await runFairness(platform, key, { patchRRsets: PATCH_RRSETS, log: (l) => console.log(l) });
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
    const b = `tenant B: worst ${r.b.all.max.toFixed(0)} ms, p99 ${r.b.all.p99.toFixed(0)} ms over ${r.b.all.count} calls`;
    assert.ok(r.b.all.max < WORST_MS, b);
    assert.ok(r.b.all.p99 < P99_MS, b);
    const c = r.changeToAnswer;
    assert.ok(c.count >= 1 && c.max < CHANGE_TO_ANSWER_MS, `B's change-to-answer worst ${c.max.toFixed(0)} ms`);

    // Alive afterwards: same process, API and DNS answer (the imported zone included).
    assert.ok(r.alive.samePid, 'the primary exited');
    // The very process started above still runs (signal 0 only checks it exists).
    assert.doesNotThrow(() => process.kill(pid, 0), 'the primary is gone');
    assert.equal(r.alive.api, 200);
    assert.deepEqual(r.alive.dns, ['10.1.134.159']);
  });
});
