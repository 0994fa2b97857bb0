/**
 * Issue 8's short drill in `npm test`: the shield RAISES legitimate success over the same drill
 * against the same server in dry run (`--shield dry-run` decides the same but drops nothing).
 *
 * As `npm run bench:drill -- --server-cpu-share F` does, at small scale: the server is pinned
 * to CPU 0 and held to SHARE of it by a cgroup CPU quota, the drill (this process, its
 * resolvers and its senders) is pinned to CPU 1; the server's capacity is measured first
 * (shield off, a short search), then the same drill (fixed seed) runs against
 * `serve --io native --shield dry-run` and against `--shield on`: 10 s calm (a source earns the
 * `history` tier after 8 calm seconds, docs/SHIELD.md), then 5 s of random subdomains of zone 0
 * (from the resolvers' own addresses and from bots) and valid names from bots, at MULTIPLE x
 * the capacity. The dry-run server answers every datagram it reads in JS, so at 3x its capacity
 * its queue overflows and legitimate queries are lost with the flood; the shield drops the flood
 * in C (and the bots' /24s in the kernel) and the legitimate queries get through.
 *
 * The measures: first-try success (answered before the first try's 800 ms timeout: retries
 * hide part of the difference) and success (retries included). What it asserts, for all
 * legitimate queries and for the zones not attacked, with margins that held in the runs quoted
 * in docs/TESTING.md (sixteen at load 2.4-11: first try 0.06-0.18 dry run against 0.46-0.81
 * shielded, success 0.67-0.82 against 0.96-1.00): the shield's first-try success exceeds the
 * dry run's by MARGIN and its success by SUCCESS_MARGIN; success with the shield >= 0.9.
 * Without the quota and pinning (the senders sharing the cores with an unthrottled server) the
 * dry run slows the very flood it is measured against and no raise shows (2026-12-05: first
 * try 0.74-0.97 either way, success 0.987-1.000 dry run against 0.991-1.000 shielded).
 *
 * Skips without the native addon, root, a writable cgroup CPU controller, taskset or 2 CPUs
 * (SWITCHBOARD_REQUIRE_PEERS=1 fails instead).
 * @module
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type DrillReport, parseScenario, runDrill, writeZoneFiles } from '../../src/drill/index.js';
import { nativeUdpStatus } from '../../src/transport/native-udp.js';
import { CpuQuota, cpuQuotaMissing, pinTree } from '../helpers/cpu-quota.js';
import { startSwitchboard } from '../helpers/peers.js';
import { skipOrFail } from '../helpers/require-peers.js';
import { shortDrillOptions } from '../helpers/short-drill.js';

const native = nativeUdpStatus();
const skip = skipOrFail(
  native.ok ? cpuQuotaMissing() : `the native UDP addon is not available: ${native.reason}`,
);

/** The server's share of CPU 0 (a cgroup quota), and the attack as a multiple of its capacity. */
const SHARE = 0.1;
const MULTIPLE = 3;
/** How much higher the shield's first-try success must be (smallest difference seen: 0.34). */
const MARGIN = 0.2;
/** How much higher its success (retries included) must be (smallest difference seen: 0.19). */
const SUCCESS_MARGIN = 0.05;
const SERVER_CPU = 0;
const DRILL_CPU = 1;

const shape = { zones: 4, names: 200 };
let dir = '';
let quota: CpuQuota | undefined;
let affinity = '';

before(() => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'sb-drill-shield-'));
  writeZoneFiles(dir, shape);
  quota = new CpuQuota(SHARE, `switchboard-short-drill-${process.pid}`);
  // The drill on the other CPU (its sender processes, started later, inherit it).
  affinity =
    spawnSync('taskset', ['-p', '-c', String(process.pid)], { encoding: 'utf8' })
      .stdout.split(':')
      .pop()
      ?.trim() ?? '';
  pinTree(process.pid, DRILL_CPU);
});
after(() => {
  if (affinity) spawnSync('taskset', ['-a', '-p', '-c', affinity, String(process.pid)], { stdio: 'ignore' });
  quota?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A fresh `serve --io native --shield MODE` pinned to SERVER_CPU and held to SHARE of it. */
async function serve(mode: 'on' | 'dry-run' | 'off') {
  const peer = await startSwitchboard(dir, {
    workers: 0,
    io: 'native',
    cpu: SERVER_CPU,
    args: ['--shield', mode],
  });
  pinTree(peer.pid, SERVER_CPU);
  quota?.add(peer.pid);
  return peer;
}

/** The capacity search of src/drill (valid names from bots, >= 99% answered), shield off. */
async function capacity(): Promise<number> {
  const peer = await serve('off');
  try {
    const r = await runDrill(
      shortDrillOptions(peer, shape, {
        senders: 2,
        capacityStart: 16_000,
        // The search takes 9-22 s here; the hard stop must not cut its last steps.
        stops: { maxSeconds: 40, maxPackets: 5_000_000 },
        label: 'capacity',
      }),
    );
    console.log(`capacity steps: ${JSON.stringify(r.capacity?.steps)}`);
    return r.capacity?.qps ?? 0;
  } finally {
    await peer.stop();
  }
}

/** One drill against a fresh `serve --io native --shield MODE`; the report. */
async function drill(mode: 'on' | 'dry-run', qps: number): Promise<DrillReport> {
  const scenario = parseScenario({
    phases: [
      { name: 'calm', seconds: 10 },
      {
        name: 'flood',
        seconds: 5,
        attack: { rate: MULTIPLE * qps, mix: { 'rs-resolvers': 1, 'rs-bots': 1, direct: 1 } },
      },
    ],
  });
  const peer = await serve(mode);
  try {
    return await runDrill(
      shortDrillOptions(peer, shape, {
        scenario,
        senders: 2,
        capacity: qps,
        targetPid: peer.pid,
        label: `switchboard --io native --shield ${mode}, ${SHARE} of CPU ${SERVER_CPU}`,
      }),
    );
  } finally {
    await peer.stop();
  }
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

/**
 * One dry-run drill and one shielded drill at `qps`: their figures and the checks that failed
 * (empty when the shield showed its raise).
 */
async function pair(qps: number, t0: number, t1: number): Promise<{ both: string; failed: string[] }> {
  const dry = await drill('dry-run', qps);
  const on = await drill('on', qps);
  const flood = (r: DrillReport) => {
    const f = r.phases[1];
    const sent = sum(f.attack.sent);
    const rs = f.attack.sent['rs-resolvers'] + f.attack.sent['rs-bots'];
    const rsAnswered = f.attack.answered['rs-resolvers'] + f.attack.answered['rs-bots'];
    return { f, sent, rs: rsAnswered / Math.max(1, rs) };
  };
  const d = flood(dry);
  const o = flood(on);
  const g = (x: ReturnType<typeof flood>) => x.f.legit;
  const figures = (x: ReturnType<typeof flood>) =>
    `first try all ${g(x).all.firstTry.toFixed(3)}, others ${g(x).byZoneGroup.others.firstTry.toFixed(3)}, victim ${g(x).byZoneGroup.victim.firstTry.toFixed(3)} (success all ${g(x).all.success.toFixed(3)}, others ${g(x).byZoneGroup.others.success.toFixed(3)}, p99 ${g(x).all.p99Ms.toFixed(0)} ms); attack ${x.sent} sent (${Math.round(x.sent / x.f.seconds)}/s), random subdomains ${(100 * x.rs).toFixed(1)}% answered; server ${x.f.target?.cpuCores.toFixed(2)} cores`;
  const both = `capacity ${qps}/s (${((t1 - t0) / 1000).toFixed(1)} s), ${((Date.now() - t0) / 1000).toFixed(1)} s in all; dry run: ${figures(d)}; shield on: ${figures(o)}`;
  console.log(both);
  const failed: string[] = [];
  const check = (ok: boolean, what: string) => {
    if (!ok) failed.push(what);
  };
  check(Math.min(d.sent, o.sent) > 2 * qps * d.f.seconds, 'the flood was sent (at least 2x the capacity)');
  // The share of random subdomains answered is printed, not compared: this one-process server
  // has no zone signals (no C answers without --native-answers), so no zone is called attacked;
  // the overloaded dry run answers what its capacity allows (5-17% seen) and the shield, its CPU
  // freed by the blocked direct flood, answered 0.29-1.39 of that share in runs at load 1-10
  // (2026-12-05). The random-subdomain budget is tested where the zone signals are
  // (test/e2e/shield*.test.ts, test/native/shield-glue*).
  // First try (answered within the 800 ms before the resolver's first timeout): raised.
  for (const [what, pick] of [
    ['all legitimate', (x: ReturnType<typeof flood>) => g(x).all],
    ['the zones not attacked', (x: ReturnType<typeof flood>) => g(x).byZoneGroup.others],
  ] as const) {
    check(pick(o).firstTry >= pick(d).firstTry + MARGIN, `first try, ${what}`);
    check(pick(o).success >= pick(d).success + SUCCESS_MARGIN, `success, ${what}`);
  }
  check(g(o).all.success >= 0.9, 'success with the shield');
  return { both, failed };
}

// One pair again when the first misses: at a tenth of a core the shielded run's onset varies a
// lot from run to run (2026-12-06, this VM, the session's start build and main alike: shielded
// first try 0.30-0.77, success 0.89-0.99, each side failing 1 of 2-3 runs), and a machine busy
// with other work can keep the senders under 2x. Both pairs' figures are printed; the second
// must pass every check.
test('the shield raises legitimate first-try success over the dry run at 3x a capped server’s capacity', {
  skip,
  timeout: 300_000,
}, async () => {
  const t0 = Date.now();
  const qps = await capacity();
  assert.ok(qps > 0, 'a capacity was measured');
  const t1 = Date.now();
  let r = await pair(qps, t0, t1);
  if (r.failed.length > 0) {
    console.log(`first pair missed (${r.failed.join('; ')}): one pair again`);
    r = await pair(qps, t0, t1);
  }
  assert.deepEqual(r.failed, [], r.both);
});
