/**
 * Worker scaling on the native UDP path (issue 7 item 4), with a load generator that can
 * saturate it: dnsperf on one core offers less than one native worker answers (~200,000
 * queries per CPU-second), so the dnsperf scaling suite compared a one-worker server woken
 * with few queries a time against a two-worker one, not the workers' cost. Here the drill's
 * native sender (src/drill/flood.ts: sendmmsg, UDP GSO runs, 10,000 loopback source
 * addresses, so SO_REUSEPORT spreads them over the workers) offers more than the server can
 * take: valid names of the drill's zones (its `direct` kind, one A record each).
 *
 * Each server is pinned to CPU 1 (both workers on that CPU: CPU per query must not grow with
 * workers) and the sender to CPU 0. After a second of warm-up (C installs each zone's image
 * on its first query), for `durationS` seconds: the answers that came back (counted by the
 * sender, plus those its socket dropped, from /proc/net/udp) over the CPU seconds of the
 * server's process tree (from /proc). Rounds alternate the servers' order.
 *
 *   node dist/bench/native-scaling.js [--rounds 3] [--duration 5] [--gso 16]
 *     [--servers native,native-w2,native-c,native-c-w2,nsd,nsd-2] [--nice N]
 * @module
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FloodPool } from '../src/drill/flood.js';
import { loadDrillAddon } from '../src/drill/native.js';
import { sampleSockets } from '../src/drill/sockets.js';
import { DEFAULT_SHAPE, writeZoneFiles, zoneOrigin } from '../src/drill/zones.js';
import {
  findCommand,
  listDescendants,
  type Peer,
  startNsd,
  startSwitchboard,
  treeCpuSeconds,
} from '../test/helpers/peers.js';
import { fmt, formatMarkdownTable, formatTable, median } from './stats.js';

/** Issue 7: queries per CPU-second with 2 workers ≥ this × with 1. */
export const NATIVE_SCALING_TARGET = 0.9;

/** One measured window. */
export interface NativeScalingRun {
  /** Datagrams the sender offered. */
  sent: number;
  /** Answers the server sent back (received by the sender or dropped at its socket). */
  answered: number;
  /** CPU seconds of the server's processes. */
  cpu: number;
  /** Queries dropped at the server's sockets (its queues were full: it was offered more than it took). */
  serverDrops: number;
  seconds: number;
}

export interface NativeScalingResult {
  key: string;
  label: string;
  command: string;
  runs: NativeScalingRun[];
  error?: string;
}

export interface NativeScalingOptions {
  rounds: number;
  durationS: number;
  /** Which servers (keys below); default every Switchboard pair, and NSD's when installed. */
  servers?: readonly string[];
  /** Queries per GSO message of the sender (the drill's default 16). */
  gso?: number;
  /**
   * Nice value given to the server's processes and the sender (when allowed): on a machine
   * shared with other work, a server that waits for its CPU drains full batches per wake-up
   * whatever its worker count, and the ratio says nothing (the dnsperf suite's "not
   * saturated"). Default 0 (unchanged).
   */
  nice?: number;
  log: (line: string) => void;
}

interface ServerSpec {
  key: string;
  label: string;
  command: string;
  start: (dir: string, zones: { origin: string; file: string }[]) => Promise<Peer>;
}

const SERVER_CPU = 1;
const SENDER_CPU = 0;

function switchboard(key: string, workers: number, c: boolean): ServerSpec {
  const args = ['--native-answers', c ? 'on' : 'off'];
  const label = `Switchboard native UDP --native-answers ${c ? 'on' : 'off'}${workers > 1 ? ` --workers ${workers}` : ''}`;
  return {
    key,
    label,
    command: `taskset -c ${SERVER_CPU} node dist/src/cli/main.js serve --workers ${workers} --io native ${args.join(' ')}`,
    start: (dir) =>
      startSwitchboard(dir, { workers, io: 'native', args, cpu: SERVER_CPU, firstOrigin: zoneOrigin(0) }),
  };
}

function nsd(key: string, count: number): ServerSpec {
  return {
    key,
    label: count > 1 ? `NSD server-count ${count}` : 'NSD',
    command: `taskset -c ${SERVER_CPU} nsd -d (server-count ${count}, rrl-ratelimit 0)`,
    start: (_dir, zones) => startNsd(zones, { serverCount: count, cpu: SERVER_CPU }),
  };
}

const ALL: ServerSpec[] = [
  switchboard('native', 1, false),
  switchboard('native-w2', 2, false),
  switchboard('native-c', 1, true),
  switchboard('native-c-w2', 2, true),
  nsd('nsd', 1),
  nsd('nsd-2', 2),
];

/** The pairs compared: [one worker, two workers, judged by the target]. */
const PAIRS: [string, string, boolean][] = [
  ['native', 'native-w2', true],
  ['native-c', 'native-c-w2', true],
  ['nsd', 'nsd-2', false],
];

/** Pins this process to `cpus` ("0", "0-1"): children forked meanwhile inherit it. */
function pinSelf(cpus: string): void {
  spawnSync('taskset', ['-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(
  spec: ServerSpec,
  dir: string,
  zones: { origin: string; file: string }[],
  opts: NativeScalingOptions,
): Promise<NativeScalingRun> {
  const peer = await spec.start(dir, zones);
  let pool: FloodPool | undefined;
  try {
    // The sender on CPU 0: this process is pinned there while it forks, then let go.
    pinSelf(String(SENDER_CPU));
    try {
      pool = await FloodPool.start({
        target: { host: peer.host, port: peer.port, family: 4 },
        senders: 1,
        senderNice: 0,
        seed: 7,
        zones: DEFAULT_SHAPE.zones,
        names: DEFAULT_SHAPE.names,
        victim: 0,
        bots: 10_000,
        resolverAddresses: [],
        deadline: Date.now() + (opts.durationS + 30) * 1000,
        maxPackets: 2_000_000_000,
        io: 'native',
        gso: opts.gso ?? 16,
      });
    } finally {
      pinSelf(`0-${availableParallelism() - 1}`);
    }
    if (opts.nice) {
      const pids = [
        peer.pid,
        ...listDescendants(peer.pid),
        ...listDescendants(process.pid).filter((p) => p !== peer.pid),
      ];
      spawnSync('renice', ['-n', String(opts.nice), '-p', ...pids.map(String)], { stdio: 'ignore' });
    }
    const owners = { targetPort: peer.port, resolvers: new Set<string>(), senderPorts: new Set(pool.ports) };
    // An unreachable rate: the sender sends as fast as its CPU lets it.
    pool.setRate(50_000_000, { direct: 1 });
    await sleep(1000);
    const a = await pool.switchRate(50_000_000, { direct: 1 });
    const sa = sampleSockets(owners);
    const ca = treeCpuSeconds(peer.pid);
    const t0 = performance.now();
    await sleep(opts.durationS * 1000);
    const b = await pool.switchRate(0, { direct: 1 });
    const seconds = (performance.now() - t0) / 1000;
    const cb = treeCpuSeconds(peer.pid);
    // Answers still in flight come back within a few ms; the sender drains them before its next report.
    await sleep(300);
    const c = pool.totals();
    const sb = sampleSockets(owners);
    const direct = 2;
    return {
      sent: b.sent[direct] - a.sent[direct],
      answered: c.answered[direct] - a.answered[direct] + (sb.senderDrops - sa.senderDrops),
      cpu: cb - ca,
      serverDrops: sb.targetDrops - sa.targetDrops,
      seconds,
    };
  } finally {
    await pool?.stop();
    await peer.stop();
  }
}

/**
 * Each round's answers per CPU-second of `b` over `a`, for the rounds both measured (a failed
 * side's later rounds are missing: rounds are matched by index only while both have one).
 */
export function pairedRatios(a: NativeScalingResult, b: NativeScalingResult): number[] {
  const n = Math.min(a.runs.length, b.runs.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a.runs[i];
    const y = b.runs[i];
    if (x.cpu > 0 && y.cpu > 0 && x.answered > 0) out.push(y.answered / y.cpu / (x.answered / x.cpu));
  }
  return out;
}

/** Runs the suite; returns the table as markdown and the ratio lines. */
export async function runNativeScaling(
  opts: NativeScalingOptions,
): Promise<{ results: NativeScalingResult[]; markdown: string[]; lines: string[] } | undefined> {
  const { addon, reason } = loadDrillAddon();
  if (!addon) {
    opts.log(`native scaling: the drill's native sender is not there (${reason}): skipped`);
    return undefined;
  }
  if (!findCommand('taskset') || availableParallelism() < 2) {
    opts.log('native scaling: needs taskset and 2 CPUs: skipped');
    return undefined;
  }
  const keys =
    opts.servers ?? ALL.filter((s) => !s.key.startsWith('nsd') || findCommand('nsd')).map((s) => s.key);
  const specs = ALL.filter((s) => keys.includes(s.key));
  const dir = mkdtempSync(join(tmpdir(), 'sb-native-scaling-'));
  try {
    const files = writeZoneFiles(dir, DEFAULT_SHAPE);
    const zones = files.map((file, k) => ({ origin: zoneOrigin(k), file }));
    const results: NativeScalingResult[] = specs.map((s) => ({
      key: s.key,
      label: s.label,
      command: s.command,
      runs: [],
    }));
    for (let round = 0; round < opts.rounds; round++) {
      const order = round % 2 === 0 ? specs : [...specs].reverse();
      for (const s of order) {
        const r = results[specs.indexOf(s)];
        if (r.error) continue;
        try {
          const run = await measure(s, dir, zones, opts);
          r.runs.push(run);
          opts.log(
            `native scaling: round ${round + 1} ${s.label}: offered ${fmt(run.sent / run.seconds)}/s, answered ${fmt(run.answered / run.seconds)}/s, ` +
              `${run.cpu.toFixed(2)} CPU s, ${fmt(run.answered / run.cpu)} answers per CPU-second, ${fmt(run.serverDrops)} dropped at its sockets`,
          );
        } catch (err) {
          r.error = (err as Error).message.split('\n')[0];
          opts.log(`native scaling: ${s.label} failed: ${r.error}`);
        }
      }
    }
    const perCpu = (r: NativeScalingResult) => median(r.runs.map((x) => x.answered / x.cpu));
    const header = [
      'server',
      'offered/s',
      'answered/s',
      'CPU s',
      'answers/CPU-s',
      'CPU µs/answer',
      'dropped at server %',
    ];
    const rows = results.map((r) => [
      r.error && r.runs.length === 0 ? `${r.label} (failed)` : r.label,
      fmt(median(r.runs.map((x) => x.sent / x.seconds))),
      fmt(median(r.runs.map((x) => x.answered / x.seconds))),
      fmt(median(r.runs.map((x) => x.cpu)), 2),
      fmt(perCpu(r)),
      fmt(1e6 / perCpu(r), 2),
      fmt(median(r.runs.map((x) => (100 * x.serverDrops) / Math.max(1, x.sent))), 1),
    ]);
    const lines: string[] = [];
    for (const [one, two, judged] of PAIRS) {
      const a = results.find((r) => r.key === one);
      const b = results.find((r) => r.key === two);
      if (!a || !b || a.runs.length === 0 || b.runs.length === 0) continue;
      // The ratio of the medians, and the median of each round's own ratio: a round measures the
      // two sides one after the other (adjacent in time, the order reversed every round), so its
      // ratio sees the same background load on both sides; the machine's drift between rounds
      // (1.5× seen on a shared machine) moves the medians' ratio, not the paired one. The target
      // is judged on the paired median.
      const ofMedians = perCpu(b) / perCpu(a);
      const paired = pairedRatios(a, b);
      const ratio = paired.length > 0 ? median(paired) : ofMedians;
      const cpuOne = median(a.runs.map((x) => x.cpu));
      // Offered more than it took: queries dropped at its sockets. Without drops the sender was
      // the limit, the server drained small batches, and its CPU per answer says little.
      const dropShare = (r: NativeScalingResult) =>
        median(r.runs.map((x) => x.serverDrops / Math.max(1, x.sent)));
      const notOverloaded = [a, b].filter((r) => dropShare(r) < 0.01).map((r) => r.label);
      const underfed =
        notOverloaded.length > 0
          ? ` — not offered more than it took (no queries dropped at its sockets: the sender was the limit): ${notOverloaded.join(', ')}`
          : '';
      const starved =
        cpuOne < 0.8 * opts.durationS
          ? ` — ${a.label} used ${cpuOne.toFixed(2)} CPU s of ${opts.durationS} s: not saturated (a loaded machine, or the sender too slow), so this ratio is not the workers' cost`
          : '';
      lines.push(
        `${b.label} / ${a.label} answers per CPU-second: ${ratio.toFixed(2)}× (median of the rounds' paired ratios ${paired
          .map((x) => x.toFixed(2))
          .join(', ')}; ratio of the medians ${ofMedians.toFixed(2)}×)${
          judged
            ? ` (target ≥ ${NATIVE_SCALING_TARGET.toFixed(2)}×: ${ratio >= NATIVE_SCALING_TARGET ? 'met' : 'NOT met'})`
            : ' (reference)'
        }${starved}${underfed}`,
      );
    }
    for (const r of results) if (r.error) lines.push(`${r.label}: error: ${r.error}`);
    const setup =
      `native path, loaded by the drill's native sender (sendmmsg, GSO runs of ${opts.gso ?? 16}, 10,000 loopback sources; ` +
      `valid names of ${DEFAULT_SHAPE.zones} zones × ${fmt(DEFAULT_SHAPE.names)} names, one A record each) at more than the server takes; ` +
      `server on CPU ${SERVER_CPU} (both workers on that one CPU), sender on CPU ${SENDER_CPU}; after 1 s of warm-up, ${opts.rounds} round(s) of ${opts.durationS} s, servers alternated; ` +
      `answers counted by the sender (plus its socket's drops), CPU of the server's process tree from /proc; medians` +
      (opts.nice ? `; the server and the sender at nice ${opts.nice}` : '');
    opts.log(`\nWorker scaling, native path (${setup})\n`);
    opts.log(formatTable(header, rows));
    for (const l of lines) opts.log(l);
    const markdown = [
      `${setup}.`,
      '',
      formatMarkdownTable(header, rows),
      '',
      ...lines.map((l) => `- ${l}`),
      '',
      'Answers per CPU-second in each round:',
      '',
      ...results.map((r) => `- ${r.label}: ${r.runs.map((x) => fmt(x.answered / x.cpu)).join(', ') || '–'}`),
      '',
      'Commands:',
      '',
      ...results.map((r) => `- ${r.label}: \`${r.command}\`${r.error ? ` — error: ${r.error}` : ''}`),
    ];
    return { results, markdown, lines };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const servers = arg('servers', '');
  runNativeScaling({
    rounds: Number(arg('rounds', '3')),
    durationS: Number(arg('duration', '5')),
    gso: Number(arg('gso', '16')),
    nice: Number(arg('nice', '0')),
    ...(servers ? { servers: servers.split(',') } : {}),
    log: (l) => console.log(l),
  }).then(
    () => process.exit(0),
    (err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
