/**
 * The first second of a flood (issue 8's wave 1, "onset"): a real `switchboard serve --shield on`
 * on the native UDP path, held to a tenth of a core by a cgroup CPU quota (as the drill bench's
 * --server-cpu-share does: the overload ratio without a second machine), and a short drill — 10
 * calm seconds, then the dyn-2016 UDP mix at ~150,000 datagrams a second from the resolvers' and
 * the bots' addresses. The worker falls behind, blocks the bots' /24s in the kernel, and the
 * legitimate resolvers' queries first sent in the flood's first second are still answered in
 * time (before the first try's timeout) — asserted with a margin. The worker's onset trace (per
 * 100 ms after it fell behind) is printed as a diagnostic. Root and a cgroup CPU controller
 * needed (skipped otherwise; fails with SWITCHBOARD_REQUIRE_PEERS=1).
 * @module
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseScenario, runDrill, writeZoneFiles } from '../../src/drill/index.js';
import { DYN_MIX } from '../../src/drill/scenario.js';
import { nativeUdpStatus } from '../../src/transport/native-udp.js';
import { listDescendants, type Peer, startSwitchboard } from '../helpers/peers.js';
import { skipOrFail } from '../helpers/require-peers.js';
import { waitForText } from '../helpers/wait-for.js';

/** A cgroup (v2 cpu.max or v1 cfs quota) holding the server to `share` of a core, 10 ms period. */
function cpuGroup(share: number): { dir: string; procs: string } | string {
  const name = `switchboard-onset-${process.pid}`;
  const quota = Math.round(share * 10_000);
  try {
    if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
      if (!readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').includes('cpu'))
        return 'no cgroup v2 cpu controller';
      writeFileSync('/sys/fs/cgroup/cgroup.subtree_control', '+cpu');
      const dir = join('/sys/fs/cgroup', name);
      mkdirSync(dir);
      writeFileSync(join(dir, 'cpu.max'), `${quota} 10000`);
      return { dir, procs: join(dir, 'cgroup.procs') };
    }
    if (existsSync('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')) {
      const dir = join('/sys/fs/cgroup/cpu', name);
      mkdirSync(dir);
      writeFileSync(join(dir, 'cpu.cfs_period_us'), '10000');
      writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quota));
      return { dir, procs: join(dir, 'cgroup.procs') };
    }
    return 'no cgroup CPU controller (v2 cpu.max or v1 cpu.cfs_quota_us)';
  } catch (e) {
    return `cannot make a cgroup with a CPU quota (root needed): ${(e as Error).message}`;
  }
}

const native = nativeUdpStatus();
const group = native.ok ? cpuGroup(0.1) : `the native UDP addon is not available: ${native.reason}`;
const skip = skipOrFail(typeof group === 'string' ? group : false);
const shape = { zones: 4, names: 200 };
let dir = '';
let sb: Peer | undefined;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'sb-onset-'));
  writeZoneFiles(dir, shape);
  sb = await startSwitchboard(dir, { workers: 1, args: ['--shield', 'on', '--rrl', 'responses=200,slip=2'] });
  const g = group as { procs: string };
  for (const pid of [sb.pid, ...listDescendants(sb.pid)]) writeFileSync(g.procs, String(pid));
});

after(async () => {
  await sb?.stop();
  if (typeof group !== 'string') {
    try {
      rmdirSync(group.dir);
    } catch {
      // its processes may take a moment to leave; the kernel keeps an empty group harmlessly
    }
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a flood on a worker held to a tenth of a core: resolvers answered in time within its first second', {
  skip,
  timeout: 120_000,
}, async (t) => {
  const scenario = parseScenario({
    name: 'onset',
    phases: [
      { name: 'calm', seconds: 10 },
      { name: 'flood', seconds: 3, attack: { rate: 150_000, mix: { ...DYN_MIX } } },
      { name: 'after', seconds: 1 },
    ],
  });
  const r = await runDrill({
    target: { host: sb!.host, port: sb!.port, family: 4 },
    stops: { maxSeconds: 40, maxPackets: 3_000_000 },
    scenario,
    seed: 8,
    shape,
    victim: 0,
    resolvers: 100,
    bots: 10_000,
    perResolverRate: 10,
    typoShare: 0.02,
    senders: 1,
    io: 'auto',
  });
  const flood = r.phases.find((p) => p.name === 'flood')!;
  const sent = Object.values(flood.attack.sent).reduce((a, b) => a + b, 0);
  // The worker fell behind (its onset trace) and blocked the bots' /24s in the kernel.
  await waitForText('the onset trace', () => sb!.output(), /shield: onset: the worker fell behind/);
  const log = await waitForText(
    'the /24 blocks',
    () => sb!.output(),
    /kernel prefilter drops \d+ IPv4 \/24s/,
  );
  t.diagnostic(`attack sent ${Math.round(sent / flood.seconds)}/s`);
  // bridge21: the worker fell behind with no /24 blocked, so its UDP socket was held for the /24s of
  // standing (the resolvers' cookies and histories of the calm) and a share of the rest while its
  // blocks were made, and lifted within its 2 s bound (docs/SHIELD.md "The bridge").
  const bridged =
    process.env.SWITCHBOARD_BRIDGE === 'off'
      ? undefined
      : await waitForText('the bridge', () => sb!.output(), /shield: the bridge held the UDP socket/);
  t.diagnostic(log.match(/shield: (onset|the kernel prefilter drops \d+ IPv4).*$/gm)?.join('\n') ?? '');
  if (bridged !== undefined) {
    const b =
      /the bridge held the UDP socket for (\d+) \/24s of standing.* for (\d+) ms \(lifted: ([^;]*); (\d+) blocks/.exec(
        bridged,
      );
    assert.ok(b, bridged);
    t.diagnostic(b[0]);
    assert.ok(Number(b[1]) >= 1, "the resolvers' /24 had standing");
    assert.ok(Number(b[2]) <= 2_100, `held ${b[2]} ms`);
  }
  // When the first /24 was blocked, from the flood's start (the log's UTC time of day on the
  // drill's wall clock; the same host).
  const first = /drops \d+ IPv4 \/24s \(was 0;.* the first at (\d\d):(\d\d):(\d\d\.\d+)Z/.exec(log);
  assert.ok(first && flood.startedAtMs, log);
  const day = flood.startedAtMs - (flood.startedAtMs % 86_400_000);
  let blockedAt = day + (Number(first[1]) * 3600 + Number(first[2]) * 60 + Number(first[3])) * 1000;
  if (blockedAt < flood.startedAtMs - 43_200_000) blockedAt += 86_400_000;
  const blockedAfter = Math.round(blockedAt - flood.startedAtMs);
  t.diagnostic(`first /24 blocked ${blockedAfter} ms after the flood's start`);
  const slices = flood.onset ?? [];
  t.diagnostic(
    slices
      .slice(0, 12)
      .map((s) => `+${s.fromMs}: ${s.inTime}/${s.queries}`)
      .join(' '),
  );
  // The legitimate queries first sent in the flood's first second: answered before their first
  // try's timeout (800 ms). The attacked zone's typos are shed by design while it is attacked.
  let queries = 0;
  let inTime = 0;
  for (const s of slices.slice(0, 10)) {
    queries += s.queries - (s.late?.typo ?? 0);
    inTime += s.inTime;
  }
  assert.ok(queries > 200, `legitimate queries in the first second: ${queries}`);
  // Loose margins: this shows the behaviour end to end; the timing is the glue harness's
  // (test/native/shield-glue.test.ts). 2026-12-05 at load 10-16 from other work, 7 runs each:
  // 77-99.5% in time with this build, 57-99% with SWITCHBOARD_ONSET=off (slices where the worker at
  // a tenth of a loaded core did not run at all); first block 420-475 ms after the flood's start
  // (3 runs; 494-699 ms with SWITCHBOARD_ONSET=off).
  assert.ok(inTime >= queries * 0.6, `answered in time in the flood's first second: ${inTime} of ${queries}`);
  assert.ok(blockedAfter <= 900, `first /24 blocked ${blockedAfter} ms after the flood's start`);
  // And every class through the whole flood, retries included.
  t.diagnostic(`flood: ${JSON.stringify(flood.legit.all)}`);
  assert.ok(flood.legit.all.success >= 0.95, `flood: ${JSON.stringify(flood.legit.all)}`);
});
