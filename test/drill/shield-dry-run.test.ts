/**
 * Issue 8's short drill in `npm test`, shield on against dry run: the same drill (fixed seed,
 * a few seconds) against `switchboard serve --io native --shield on` and against the same server
 * with `--shield dry-run` (which decides the same but drops nothing): after a calm phase in which
 * the resolvers earn a history, a flood of random subdomains of zone 0 (from the resolvers' own
 * addresses and from bots) and of valid names from bots, as in 2016.
 *
 * What it asserts, with margins: the shield sheds the random-subdomain flood (it answers under
 * 3/4 of the share the dry run answers, which answers all it reads; 0.28-0.55 of it seen) and
 * legitimate success with the shield is not below the dry run's, per zone group; every
 * legitimate class gets >= 90%.
 *
 * What it does NOT assert: that the shield *raises* legitimate success over the dry run, as the
 * issue asks. On this 2-core machine the drill's senders share the CPUs with the server, so the
 * dry-run server (answering every datagram in JS) slows the very flood it is measured against,
 * and retries recover nearly every legitimate query in both runs. Seven runs at load 11-12
 * (2026-12-05): success 0.987-1.000 in dry run, 0.991-1.000 shielded; first-try success 0.74-0.97
 * either way round. `npm run bench:drill` (server and drill on separate cores, the attack at 3x
 * the measured capacity) is where the difference shows. The calm phase is 10 s: with 2.5 s the
 * `plain` resolvers had not earned the history tier and the shield answered 0.897 of them.
 * Skips without the native addon (SWITCHBOARD_REQUIRE_PEERS=1 fails).
 * @module
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type DrillReport, parseScenario, runDrill, writeZoneFiles } from '../../src/drill/index.js';
import { nativeUdpStatus } from '../../src/transport/native-udp.js';
import { startSwitchboard } from '../helpers/peers.js';
import { skipOrFail } from '../helpers/require-peers.js';
import { shortDrillOptions } from '../helpers/short-drill.js';

const native = nativeUdpStatus();
const skip = skipOrFail(native.ok ? false : `the native UDP addon is not available: ${native.reason}`);

const shape = { zones: 4, names: 200 };
let dir = '';

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sb-drill-shield-'));
  writeZoneFiles(dir, shape);
});
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const scenario = parseScenario({
  phases: [
    // 10 s: a source earns the `history` tier after 8 calm seconds (docs/SHIELD.md "tiers").
    { name: 'calm', seconds: 10 },
    {
      name: 'flood',
      seconds: 5,
      attack: { rate: 2_000_000, mix: { 'rs-resolvers': 1, 'rs-bots': 1, direct: 1 } },
    },
  ],
});

/** One drill against a fresh `serve --io native --shield MODE` (answers in JS); the report. */
async function drill(mode: 'on' | 'dry-run'): Promise<DrillReport> {
  const peer = await startSwitchboard(dir, { workers: 0, io: 'native', args: ['--shield', mode] });
  try {
    return await runDrill(
      shortDrillOptions(peer, shape, {
        scenario,
        senders: 3,
        targetPid: peer.pid,
        label: `switchboard --io native --shield ${mode}`,
      }),
    );
  } finally {
    await peer.stop();
  }
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

test('the shield sheds a flood the dry run answers, and legitimate success is not lower', {
  skip,
  timeout: 180_000,
}, async () => {
  const dry = await drill('dry-run');
  const on = await drill('on');
  const flood = (r: DrillReport) => {
    const f = r.phases[1];
    const sent = sum(f.attack.sent);
    // The random subdomains alone (the direct flood asks existing names: answered either way).
    const rs = f.attack.sent['rs-resolvers'] + f.attack.sent['rs-bots'];
    const rsAnswered = f.attack.answered['rs-resolvers'] + f.attack.answered['rs-bots'];
    return {
      f,
      sent,
      answered: sum(f.attack.answered) / Math.max(1, sent),
      rs: rsAnswered / Math.max(1, rs),
    };
  };
  const d = flood(dry);
  const o = flood(on);
  const figures = (x: ReturnType<typeof flood>) =>
    `legitimate success ${x.f.legit.all.success.toFixed(3)} (first try ${x.f.legit.all.firstTry.toFixed(3)}, p99 ${x.f.legit.all.p99Ms.toFixed(0)} ms; victim's names ${x.f.legit.byZoneGroup.victim.success.toFixed(3)}, other zones ${x.f.legit.byZoneGroup.others.success.toFixed(3)}); attack ${x.sent} sent, ${(100 * x.answered).toFixed(1)}% answered (random subdomains ${(100 * x.rs).toFixed(1)}%)`;
  const both = `dry run: ${figures(d)}; shield on: ${figures(o)}`;
  console.log(both);
  assert.ok(d.sent > 50_000 && o.sent > 50_000, `a flood was sent: ${both}`);
  // The dry run answers what it reads; the shield drops most of the flood (in the kernel, in C).
  assert.ok(d.rs > 0.2, `the dry run answered the random subdomains: ${both}`);
  // Shielded/dry-run shares seen at load 10-15: 0.28-0.55 (the shield answers the attacked
  // zone's missing names within a budget, and from the first queries until it calls the attack).
  assert.ok(o.rs < 0.75 * d.rs, `the shield shed the random subdomains: ${both}`);
  // Legitimate queries are not the price: success with the shield is not below the dry run's.
  const legit = (x: ReturnType<typeof flood>) => x.f.legit;
  assert.ok(legit(o).all.success >= legit(d).all.success - 0.01, both);
  for (const group of ['victim', 'others'] as const)
    assert.ok(
      legit(o).byZoneGroup[group].success >= Math.min(0.98, legit(d).byZoneGroup[group].success - 0.01),
      `${group}: ${both}`,
    );
  for (const [name, c] of Object.entries(legit(o).byClass))
    assert.ok(c.queries === 0 || c.success >= 0.9, `class ${name}: ${JSON.stringify(c)}; ${both}`);
});
