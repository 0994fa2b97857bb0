/**
 * `npm run bench:drill`: the dyn-2016 drill (docs/DRILL.md) against Switchboard with the
 * shield on (`--shield on --rrl responses=N,slip=2`), Switchboard in dry run, NSD with RRL on
 * and Knot with mod-rrl, in one run, each server pinned to one CPU and the drill (its
 * resolvers and attack senders) to another. Each server's capacity is measured first, on the
 * same build with its rate limiting off (the shield off), and the attack runs at --multiple x
 * that capacity. Prints a table per server and writes each report as JSON and HTML into --out.
 *
 * Usage: node dist/bench/drill.js [--servers switchboard,switchboard-dry-run,nsd,knot] [--gso 8] [--multiple 3] [--baseline S]
 *   [--wave S] [--calm S] [--resolvers N] [--bots N] [--legit-rate QPS] [--senders N]
 *   [--server-cpu 0] [--drill-cpu 1] [--workers 1] [--out DIR] [--switchboard-args "..."]
 *   [--rrl 200] [--capacity QPS (skip the measurement: smoke runs only)] [--server-cpu-share F] [--settle 10]
 * @module
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  type DrillReport,
  dyn2016,
  htmlReport,
  prioritizeResolvers,
  runDrill,
  sendCeiling,
  textReport,
  writeZoneFiles,
} from '../src/drill/index.js';
import { DYN_MIX } from '../src/drill/scenario.js';
import type { LegitStats } from '../src/drill/stats.js';
import { CpuQuota, CpuWeight, pinTree } from '../test/helpers/cpu-quota.js';
import {
  findCommand,
  findFreePort,
  listZoneFiles,
  type Peer,
  startKnot,
  startNsd,
  startSwitchboard,
} from '../test/helpers/peers.js';

const { values: a } = parseArgs({
  options: {
    servers: { type: 'string', default: 'switchboard,switchboard-dry-run,nsd,knot' },
    gso: { type: 'string', default: '16' },
    multiple: { type: 'string', default: '3' },
    baseline: { type: 'string', default: '10' },
    wave: { type: 'string', default: '20' },
    calm: { type: 'string', default: '10' },
    resolvers: { type: 'string', default: '200' },
    bots: { type: 'string', default: '10000' },
    lone: { type: 'string', default: '16' },
    'rotate-24s': { type: 'string', default: '0' },
    'legit-rate': { type: 'string', default: '2000' },
    senders: { type: 'string', default: '2' },
    'server-cpu': { type: 'string', default: '0' },
    'drill-cpu': { type: 'string', default: '1' },
    workers: { type: 'string', default: '1' },
    out: { type: 'string', default: join(tmpdir(), 'switchboard-drill') },
    'switchboard-args': { type: 'string', default: '' },
    'server-node-args': { type: 'string', default: '' },
    'thread-trace': { type: 'boolean', default: false },
    'drill-weight': { type: 'string', default: 'on' },
    'drill-nice': { type: 'string', default: '-5' },
    rrl: { type: 'string', default: '200' },
    capacity: { type: 'string' },
    settle: { type: 'string', default: '10' },
    cache: { type: 'string', default: 'on' },
    'server-cpu-share': { type: 'string', default: '1' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (a.help) {
  process.stdout.write(
    [
      'Usage: node dist/bench/drill.js [options]   (npm run bench:drill)',
      '',
      'The dyn-2016 drill against each server in turn: capacity measured first (rate limiting off),',
      'then the attack at --multiple x that capacity. Loopback only; every run stops by itself.',
      '',
      '  --servers LIST        switchboard,switchboard-dry-run,nsd,knot (default: all four)',
      '  --multiple N          attack rate as a multiple of the measured capacity (default 3)',
      '  --baseline S --wave S --calm S   phase lengths in seconds (default 10, 20, 10)',
      '  --resolvers N --bots N           simulated resolvers and bot addresses (default 200, 10000)',
      "  --lone N              'lone' resolvers per wave, on top: each first seen when its wave starts, in a /24 of its own (default 16)",
      "  --rotate-24s N        the bots' UDP flood rotates its sources over N /24s taken in turn (127.4.0.0/24 on; 0: off)",
      '  --legit-rate QPS      legitimate queries per second in calm times (default 2000)',
      '  --senders N --gso N   attack sender processes and datagrams per sendmmsg segment (default 2, 16)',
      '  --server-cpu N --drill-cpu N     CPUs the server and the drill are pinned to (default 0, 1)',
      '  --workers N           DNS workers of Switchboard (default 1)',
      '  --server-cpu-share F  give each server only F of its CPU (0 < F <= 1, a cgroup CPU quota, root;',
      '                        capacity and drill alike): lets a 2-core machine send 3x a fast server',
      '  --rrl N               responses per second per /24 for every server with RRL (default 200)',
      '  --cache on|off        resolvers cache answers per TTL (default on)',
      '  --capacity QPS        skip the capacity measurement (smoke runs only)',
      '  --settle S            before the baseline, at most S s of warm-up queries from an address outside the',
      '                        population and a wait until the server is quiet (default 10; 0: the baseline',
      '                        starts as soon as the server answers, and measures its start-up)',
      '  --switchboard-args "..."         extra arguments for switchboard serve',
      '  --server-node-args "..."         Node flags for switchboard serve, inherited by its workers (e.g. --cpu-prof)',
      "  --thread-trace        per-thread CPU of the drilled server every 100 ms (and the quota's throttling)",
      '  --drill-weight on|off with --server-cpu-share: the drill in a cgroup of the highest CPU weight, so that',
      '                        other processes on its CPU do not delay its resolvers (default on; off: nice only)',
      '                        into OUT/NAME.threads.jsonl, summed per second of each attack phase in the report',
      '  --out DIR             where the JSON and HTML reports go (default $TMPDIR/switchboard-drill)',
      '',
    ].join('\n'),
  );
  process.exit(0);
}

/** Whether this build's `serve` has --metrics ADDR:PORT (the shield's counters per phase). */
function serveHasMetrics(): boolean {
  const bin = process.env.SWITCHBOARD_BIN ?? fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  const r = spawnSync(process.execPath, [bin, 'serve', '--help'], { encoding: 'utf8' });
  return /--metrics <addr>/.test(r.stdout ?? '');
}

const shape = { zones: 8, names: 1000 };
const serverCpu = Number(a['server-cpu']);
const drillCpu = Number(a['drill-cpu']);

const cpuShare = Number(a['server-cpu-share']);
const settleS = Number(a.settle);
if (!(settleS >= 0 && settleS <= 60)) throw new Error(`--settle ${a.settle}: seconds from 0 to 60`);
const quota = cpuShare < 1 ? new CpuQuota(cpuShare) : undefined;
/** late25: the drill itself (resolvers and senders) first on its CPU, with the server's quota only
 * (root and a cgroup controller are there then; without a quota the server, forked by the drill,
 * would inherit the weight). `--drill-weight off`: as before (nice only). */
const drillWeight = quota && a['drill-weight'] !== 'off' ? new CpuWeight() : undefined;

/**
 * Starts a contender: with `limiting`, as drilled (the shield on or in dry run, NSD's RRL,
 * Knot's mod-rrl); without, as its capacity is measured (shield off, RRL off).
 */
async function start(
  name: string,
  dir: string,
  limiting: boolean,
): Promise<{ peer: Peer; label: string; metrics?: URL } | undefined> {
  const workers = Number(a.workers);
  if (name.startsWith('switchboard')) {
    const shield = !limiting ? 'off' : name === 'switchboard-dry-run' ? 'dry-run' : 'on';
    const rrl = limiting && Number(a.rrl) > 0 ? ['--rrl', `responses=${a.rrl},slip=2`] : [];
    const metricsPort = limiting && hasMetrics ? await findFreePort() : 0;
    const extra = [
      '--shield',
      shield,
      ...rrl,
      ...(a['switchboard-args'] ? a['switchboard-args'].split(' ').filter(Boolean) : []),
    ];
    const metricsArgs = metricsPort ? ['--metrics', `127.0.0.1:${metricsPort}`] : [];
    // Node flags (e.g. --cpu-prof) for the drilled server only, not for its capacity run.
    const nodeArgs =
      limiting && a['server-node-args'] ? a['server-node-args'].split(' ').filter(Boolean) : [];
    const peer = await startSwitchboard(dir, {
      workers,
      cpu: serverCpu,
      nodeArgs,
      args: [...extra, ...metricsArgs],
    });
    return {
      peer,
      label: `switchboard serve --workers ${workers} ${extra.join(' ')} (default I/O path: native)`,
      metrics: metricsPort ? new URL(`http://127.0.0.1:${metricsPort}/metrics`) : undefined,
    };
  }
  if (name === 'nsd') {
    if (!findCommand('nsd')) return undefined;
    const rrl = limiting ? Number(a.rrl) : 0;
    const peer = await startNsd(listZoneFiles(dir), {
      serverCount: workers,
      cpu: serverCpu,
      rrlRatelimit: rrl,
    });
    return { peer, label: `NSD, server-count ${workers}, rrl-ratelimit ${rrl} (slip 2, the default)` };
  }
  if (name === 'knot') {
    if (!findCommand('knotd')) return undefined;
    const peer = await startKnot(listZoneFiles(dir), {
      workers,
      cpu: serverCpu,
      ...(limiting
        ? {
            moduleSections: ['mod-rrl:', '  - id: default', `    rate-limit: ${a.rrl}`, '    slip: 2'],
            globalModule: 'mod-rrl/default',
          }
        : {}),
    });
    return {
      peer,
      label: `Knot, udp-workers ${workers}${limiting ? `, mod-rrl rate-limit ${a.rrl} slip 2` : ''}`,
    };
  }
  throw new Error(`unknown server '${name}'`);
}

const lossRows: string[] = [];

/** Per wave: where the legitimate tries that got no answer went (docs/DRILL.md). */
function lossSummary(name: string, r: DrillReport): string[] {
  const out: string[] = [];
  for (const p of r.phases) {
    const l = p.losses;
    if (!l || !p.name.startsWith('wave')) continue;
    const c = l.resolvers;
    const k = l.kernel;
    const sent = Object.values(p.attack.sent).reduce((x, y) => x + y, 0);
    const dropShare = k.targetSocketDrops / Math.max(1, sent + c.udpTries);
    const shield = l.targetCounters
      ? Object.entries(l.targetCounters)
          .filter(([n]) => /shed|rrl|decisions_total\{decision="(dropped|truncated)"|dropped/.test(n))
          .map(([n, v]) => `${n.replace(/^switchboard_dns_/, '')} ${v}`)
          .join(', ')
      : 'n/a';
    out.push(
      `| ${name} | ${p.name} | ${Math.round(sent / p.seconds)} / ${p.attack.rate} | ${c.udpTries} / ${l.unansweredTries} (${pct(l.unansweredTries / Math.max(1, c.udpTries))}) | ${k.targetSocketDrops} (${pct(dropShare)} of all sent; filter ~${k.targetFilter}) | ~${l.legitInTargetQueue} | ~${l.legitAfterRead} | ${k.drillResolverDrops} / ${k.drillSenderDrops} | ${c.tcpTries} / ${c.tcpAnswers} | ${l.failedBy.noAnswer} / ${l.failedBy.wrongAnswer} / ${l.failedBy.truncated} | ${c.timeoutsLate50ms} (worst tick ${c.maxTickLagMs} ms) | ${c.cacheHits} | ${shield || '-'} |`,
    );
  }
  return out;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function cell(s: LegitStats | undefined): string {
  if (!s || s.queries === 0) return '-';
  return `${(s.success * 100).toFixed(2)}% / ${s.p99Ms.toFixed(0)} ms`;
}

/** One row per server: capacity, then per zone group and resolver class (without the attacked zone's
 * typos, shed by design: the names the targets speak of), the worst wave. */
function summaryRows(name: string, r: DrillReport): string[] {
  const waves = r.phases.filter((p) => p.name.startsWith('wave'));
  const worst = (pick: (p: (typeof waves)[number]) => LegitStats | undefined) =>
    waves
      .map(pick)
      .reduce<LegitStats | undefined>((w, s) => (!w || (s && s.success < w.success) ? s : w), undefined);
  const attackRate = waves[0]?.attack.rate ?? 0;
  const sent = waves.reduce((t, p) => t + Object.values(p.attack.sent).reduce((x, y) => x + y, 0), 0);
  const secs = waves.reduce((t, p) => t + p.seconds, 0);
  const rss = Math.max(0, ...r.phases.map((p) => p.target?.rssPeakBytes ?? 0));
  const pss = Math.max(0, ...r.phases.map((p) => p.target?.pssPeakBytes ?? 0));
  const drillCpu = Math.max(0, ...waves.map((p) => p.drill.cpuCores));
  lossRows.push(...lossSummary(name, r));
  return [
    `| ${name} | ${r.capacity?.qps ?? '-'}${r.capacity?.senderLimited ? ' (sender-limited)' : ''} | ${attackRate} / ${Math.round(sent / Math.max(secs, 1))} (${r.capacity?.qps ? (sent / Math.max(secs, 1) / r.capacity.qps).toFixed(2) : '-'}×) | ${cell(worst((p) => p.legit.byZoneGroup.others))} | ${cell(worst((p) => p.legit.byZoneGroup.victim))} | ${['steady', 'new', 'nat', 'plain', 'storm', 'lone'].map((c) => cell(worst((p) => (p.legit.byClassNames ?? p.legit.byClass)[c]))).join(' | ')} | ${(rss / 2 ** 20).toFixed(0)} / ${(pss / 2 ** 20).toFixed(0)} MiB | ${drillCpu} |`,
  ];
}

const hasMetrics = serveHasMetrics();

async function main(): Promise<void> {
  // The drill and its sender processes (forked later: they inherit it) on their own CPU.
  spawnSync('taskset', ['-p', '-c', String(drillCpu), String(process.pid)], { stdio: 'ignore' });
  // Before anything else on its CPU (late25), the senders (forked later) with it.
  drillWeight?.add(process.pid);
  // The resolvers above the senders (nice -5 or --drill-nice when allowed; the senders then at 0, else 10).
  const nice = prioritizeResolvers(Number(a['drill-nice']));
  const dir = mkdtempSync(join(tmpdir(), 'sb-drill-zones-'));
  writeZoneFiles(dir, shape);
  const out = resolve(a.out);
  mkdirSync(out, { recursive: true });
  const scenario = dyn2016({
    baseline: Number(a.baseline),
    wave: Number(a.wave),
    calm: Number(a.calm),
    multiple: Number(a.multiple),
  });
  const total = scenario.phases.reduce((t, p) => t + p.seconds, 0);
  const rows: string[] = [];
  process.stdout.write(
    `drill bench: ${new Date().toISOString()}, ${cpus().length} CPUs (${cpus()[0]?.model}), load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(
        ' ',
      )}; server on CPU ${serverCpu}${quota ? ` held to ${cpuShare} of it (cgroup ${quota.dir})` : ''}, drill on CPU ${drillCpu}${drillWeight ? ` (cgroup ${drillWeight.dir}: the highest CPU weight)` : ''}\n`,
  );
  // What the senders can send at all from this CPU now (before any server runs).
  const ceiling = await sendCeiling(
    {
      senders: Number(a.senders),
      seed: 1,
      zones: shape.zones,
      names: shape.names,
      victim: 0,
      bots: Number(a.bots),
      resolverAddresses: [],
      deadline: Date.now() + 30_000,
      maxPackets: 100_000_000,
      io: 'auto',
      gso: Number(a.gso),
      senderNice: nice.senderNice,
    },
    DYN_MIX,
  );
  process.stdout.write(
    ceiling === undefined
      ? 'drill send ceiling: unknown (no native addon)\n'
      : `drill send ceiling: ${ceiling} datagrams/s (the dyn-2016 mix against a socket nobody reads, ${a.senders} senders, --gso ${a.gso}; an attack of ${a.multiple}x a capacity above ${Math.round(ceiling / Number(a.multiple))} q/s cannot be sent from this CPU now)\n`,
  );
  try {
    const capacities = new Map<string, number>();
    for (const name of a.servers.split(',')) {
      const family = name.startsWith('switchboard') ? 'switchboard' : name;
      const common = {
        stops: { maxSeconds: total + 120, maxPackets: 500_000_000 },
        seed: 1,
        shape,
        victim: 0,
        resolvers: Number(a.resolvers),
        lonePerWave: Number(a.lone),
        bots: Number(a.bots),
        rotate24s: Number(a['rotate-24s']),
        perResolverRate: Number(a['legit-rate']) / Number(a.resolvers),
        typoShare: 0.02,
        senders: Number(a.senders),
        io: 'auto' as const,
        gso: Number(a.gso),
        progress: process.stderr.isTTY,
        cache: a.cache !== 'off',
        senderNice: nice.senderNice,
        drillNice: nice.drillNice,
      };
      // Capacity first, with rate limiting off (the issue's rule), once per server.
      if (!capacities.has(family)) {
        if (a.capacity) capacities.set(family, Number(a.capacity));
        else {
          const plain = await start(name, dir, false);
          if (!plain) {
            process.stdout.write(`${name}: not installed, skipped\n`);
            continue;
          }
          try {
            pinTree(plain.peer.pid, serverCpu);
            quota?.add(plain.peer.pid);
            const r = await runDrill({
              ...common,
              target: { host: plain.peer.host, port: plain.peer.port, family: 4 },
              label: plain.label,
            });
            process.stdout.write(textReport(r));
            capacities.set(family, r.capacity?.qps ?? 0);
          } finally {
            await plain.peer.stop();
          }
        }
      }
      // The workers' own trace (src/server/shared/worker-trace.ts) beside the per-thread one.
      const workerTrace = a['thread-trace'] ? join(out, `${name}.workers`) : undefined;
      if (workerTrace) {
        rmSync(workerTrace, { recursive: true, force: true });
        mkdirSync(workerTrace, { recursive: true });
        process.env.SWITCHBOARD_WORKER_TRACE = workerTrace;
      }
      const started = await start(name, dir, true).finally(() => {
        delete process.env.SWITCHBOARD_WORKER_TRACE;
      });
      if (!started) {
        process.stdout.write(`${name}: not installed, skipped\n`);
        continue;
      }
      const { peer, label, metrics } = started;
      // The server's log lines, each with the UTC time it was first seen (checked every 50 ms):
      // when a zone was called attacked and a /24 blocked, against the report's phases.
      const stamped: string[] = [];
      const counted = new Map<string, number>();
      const stamp = (): void => {
        const now = new Date().toISOString();
        const seen = new Map<string, number>();
        const text = peer.output();
        // The output keeps its last 20,000 characters: then its first line may be cut.
        for (const line of text.split('\n').slice(text.length >= 20000 ? 1 : 0, -1)) {
          const n = (seen.get(line) ?? 0) + 1;
          seen.set(line, n);
          if (n > (counted.get(line) ?? 0)) {
            counted.set(line, n);
            stamped.push(`${now} ${line}`);
          }
        }
      };
      const stamper = setInterval(stamp, 50);
      try {
        pinTree(peer.pid, serverCpu);
        quota?.add(peer.pid);
        const report = await runDrill({
          ...common,
          target: { host: peer.host, port: peer.port, family: 4 },
          scenario,
          targetPid: peer.pid,
          capacity: capacities.get(family),
          settleMs: settleS * 1000,
          label,
          targetMetrics: metrics,
          threadTrace: a['thread-trace']
            ? { file: join(out, `${name}.threads.jsonl`), cgroupDir: quota?.dir }
            : undefined,
        });
        process.stdout.write(textReport(report));
        writeFileSync(join(out, `${name}.json`), `${JSON.stringify(report, null, 1)}\n`);
        writeFileSync(join(out, `${name}.html`), htmlReport(report));
        rows.push(...summaryRows(name, report));
        const crashed = report.phases.some((p) => p.target && !p.target.alive);
        if (crashed) rows.push(`| ${name} | CRASHED during the run |`);
      } finally {
        // The server's log lines with their times, beside the report.
        clearInterval(stamper);
        stamp();
        writeFileSync(join(out, `${name}.log`), `${stamped.join('\n')}\n`);
        await peer.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    quota?.remove();
    drillWeight?.remove([process.pid]);
  }
  process.stdout.write(
    `\nWorst wave per column: legitimate success / p99 (failures at 3200 ms); the classes without the attacked zone's typos (shed by design). Reports in ${out}\n\n| server | capacity q/s | attack offered / sent per s (sent × capacity) | other zones | victim names | steady | new | nat | plain | storm | lone | target RSS / PSS peak | drill CPU in waves |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n${rows.join('\n')}\n`,
  );
  process.stdout.write(
    `\nWhere the legitimate tries went, per wave (docs/DRILL.md):\n\n| server | wave | attack sent / offered per s | legit UDP tries / unanswered | target socket drops | legit lost in target queue (est.) | legit lost to the filter or after the read (est.) | drill resolver / sender socket drops | legit TCP tries / answered | failed: no answer / wrong / truncated | timeouts handled late | cache hits | target counters |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n${lossRows.join('\n')}\n`,
  );
}

await main();
