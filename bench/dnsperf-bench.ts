/**
 * Throughput and CPU-efficiency benchmark with dnsperf: each server (Switchboard with one
 * worker, NSD with one server process, Knot with one worker, and the trivial Node responder)
 * is pinned to one CPU and dnsperf to the other, then queried with the same mix of existing
 * names, NXDOMAIN and NODATA for a fixed time. Server CPU time comes from /proc/PID/stat deltas
 * over the whole process tree; latency percentiles from a separate fixed-rate run with
 * `dnsperf -v`. Targets only loopback and every run is time-limited (`-l`).
 * @module
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { killAtCleanup } from '../test/helpers/cleanup.js';
import { assertLoopback } from '../test/helpers/dns-client.js';
import {
  listDescendants,
  type Peer,
  startKnot,
  startNsd,
  startSwitchboard,
  startTrivialResponder,
  switchboardBin,
  treeCpuSeconds,
} from '../test/helpers/peers.js';
import { seededRandom } from '../test/helpers/prng.js';
import { type Mix, namesNeeded, writeRandomQueryFile } from './queries.js';
import { startPlatformPeer } from './start-contender.js';
import { LatencyHistogram, median } from './stats.js';

/** The origin of the benchmark zone. */
export const BENCH_ORIGIN = 'bench.test.';

/**
 * Writes `bench.test.zone` (`names` hosts with an A record, every other one an AAAA too) into
 * `dir`, and a dnsperf query file of `queries` lines: 60 % existing A, 10 % existing AAAA,
 * 15 % NXDOMAIN, 15 % NODATA (TXT at an existing name). Returns the query file's path.
 */
export function writeBenchZone(
  dir: string,
  names: number,
  queries = 50_000,
): { zoneDir: string; queryFile: string } {
  const zoneDir = join(dir, 'zones');
  mkdirSync(zoneDir, { recursive: true });
  const lines = [
    `$ORIGIN ${BENCH_ORIGIN}`,
    '$TTL 300',
    '@ SOA ns.bench.test. hostmaster.bench.test. 1 3600 900 604800 60',
    '@ NS ns.bench.test.',
    'ns A 192.0.2.1',
  ];
  for (let i = 0; i < names; i++) {
    // RFC 2544 benchmarking range and RFC 3849 documentation prefix.
    lines.push(`host-${i} A 198.18.${(i >> 8) & 255}.${i & 255}`);
    if (i % 2 === 0) lines.push(`host-${i} AAAA 2001:db8::${i.toString(16)}`);
  }
  writeFileSync(join(zoneDir, 'bench.test.zone'), `${lines.join('\n')}\n`);
  const rand = seededRandom(20240101);
  const q: string[] = [];
  for (let i = 0; i < queries; i++) {
    const r = rand();
    const n = Math.floor(rand() * names);
    if (r < 0.6) q.push(`host-${n}.bench.test. A`);
    else if (r < 0.7) q.push(`host-${n - (n % 2)}.bench.test. AAAA`);
    else if (r < 0.85) q.push(`nx-${n}.bench.test. A`);
    else q.push(`host-${n}.bench.test. TXT`);
  }
  const queryFile = join(dir, 'queries.txt');
  writeFileSync(queryFile, `${q.join('\n')}\n`);
  return { zoneDir, queryFile };
}

/** One timed dnsperf run against one server. */
export interface ThroughputRun {
  qps: number;
  /**
   * Names in the query file: when `sent` exceeds it, dnsperf looped and names repeated
   * (Infinity for the existing-names file, which repeats by design).
   */
  names: number;
  sent: number;
  completed: number;
  lost: number;
  cpuSeconds: number;
  /** Completed queries per server CPU-second. */
  qpsPerCpu: number;
  /** dnsperf's average latency (s). */
  avgLatency: number;
}

/** Latency percentiles (seconds) at a fixed offered rate. */
export interface LatencyRun {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
}

/** Results for one server over all rounds. */
export interface ServerResult {
  label: string;
  command: string;
  throughput: ThroughputRun[];
  latency: LatencyRun[];
  /** Medians over the rounds. */
  median: { qps: number; cpuSeconds: number; qpsPerCpu: number; lostPct: number } & Omit<LatencyRun, 'count'>;
  error?: string;
}

/** Options of the dnsperf benchmark. */
export interface DnsperfBenchOptions {
  durationS: number;
  rounds: number;
  latencyDurationS: number;
  latencyQps: number;
  names: number;
  serverCpu: number;
  clientCpu: number;
  servers: string[];
  workDir: string;
  log: (line: string) => void;
  /** The query mix (default 'existing'). */
  mix?: Mix;
  /** dnsperf `-c` (client sockets; default 2). */
  clients?: number;
  /** The highest QPS expected of any server, to size random-name files (default 250,000). */
  expectedQps?: number;
  /**
   * dnsperf `-Q` on the throughput runs (default none: as fast as the server answers): a rate
   * every server keeps up with compares CPU per query at the same offered load. (CPU per query
   * still depends on how many queries a wake-up drains, so on a loaded machine on how long the
   * server waits for its CPU.)
   */
  throughputQps?: number;
  /** Another build of the CLI (a copy of an older dist/) for the `switchboard-baseline` contender. */
  baselineBin?: string;
}

function pinTree(pid: number, cpu: number): void {
  // Knot pins its own worker threads at start-up, so re-pin every thread of every process in
  // the tree afterwards (taskset -a applies to all threads of a process).
  for (const p of [pid, ...listDescendants(pid)])
    spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(p)], { stdio: 'ignore' });
}

/** The CPUs the threads of a process tree may run on (from /proc/PID/task/TID/status). */
export function describeAffinity(pid: number): string {
  const seen = new Set<string>();
  for (const p of [pid, ...listDescendants(pid)]) {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        const m = /^Cpus_allowed_list:\s+(\S+)/m.exec(readFileSync(`/proc/${p}/task/${t}/status`, 'utf8'));
        if (m) seen.add(m[1]);
      } catch {
        // thread ended
      }
    }
  }
  return [...seen].join(',');
}

interface DnsperfStats {
  sent: number;
  completed: number;
  lost: number;
  qps: number;
  avgLatency: number;
}

function parseDnsperf(text: string): DnsperfStats {
  const num = (re: RegExp): number => {
    const m = re.exec(text);
    return m ? Number(m[1]) : Number.NaN;
  };
  return {
    sent: num(/Queries sent:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    qps: num(/Queries per second:\s+([\d.]+)/),
    avgLatency: num(/Average Latency \(s\):\s+([\d.]+)/),
  };
}

function dnsperfArgs(peer: Peer, opts: DnsperfBenchOptions, queryFile: QueryFile, seconds: number): string[] {
  assertLoopback(peer.host);
  return [
    '-c',
    String(opts.clientCpu),
    'dnsperf',
    '-s',
    peer.host,
    '-p',
    String(peer.port),
    '-d',
    queryFile.path,
    '-l',
    String(seconds),
    '-c',
    String(opts.clients ?? 2),
    '-q',
    '100',
    '-t',
    '2',
    ...(opts.throughputQps !== undefined ? ['-Q', String(opts.throughputQps)] : []),
  ];
}

/** Runs dnsperf (time-limited by -l, and killed if it overruns by 30 s) and returns its output. */
function runDnsperf(args: string[], seconds: number, onLine?: (line: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    // SIGINT/SIGTERM of the benchmark stops dnsperf too (test/helpers/cleanup.ts).
    const unkill = killAtCleanup(child);
    let out = '';
    const rl = createInterface({ input: child.stdout });
    rl.on('line', (line) => {
      if (onLine && line.startsWith('> ')) onLine(line);
      else out += `${line}\n`;
    });
    let err = '';
    child.stderr.on('data', (d) => {
      err = (err + d).slice(-4000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      unkill();
      if (code !== 0) reject(new Error(`dnsperf exited with ${code}: ${err.trim()}`));
      else resolve(out);
    });
  });
}

async function measureThroughput(
  peer: Peer,
  opts: DnsperfBenchOptions,
  queryFile: QueryFile,
): Promise<ThroughputRun> {
  const cpu0 = treeCpuSeconds(peer.pid);
  const out = await runDnsperf(dnsperfArgs(peer, opts, queryFile, opts.durationS), opts.durationS);
  const cpuSeconds = treeCpuSeconds(peer.pid) - cpu0;
  const s = parseDnsperf(out);
  return {
    ...s,
    names: queryFile.lines,
    cpuSeconds,
    qpsPerCpu: cpuSeconds > 0 ? s.completed / cpuSeconds : Number.NaN,
  };
}

async function measureLatency(
  peer: Peer,
  opts: DnsperfBenchOptions,
  queryFile: QueryFile,
): Promise<LatencyRun> {
  const hist = new LatencyHistogram();
  const args = [
    ...dnsperfArgs(peer, opts, queryFile, opts.latencyDurationS),
    '-Q',
    String(opts.latencyQps),
    '-v',
  ];
  await runDnsperf(args, opts.latencyDurationS, (line) => {
    // "> NOERROR name type 0.000123"
    const sp = line.lastIndexOf(' ');
    const v = Number(line.slice(sp + 1));
    if (Number.isFinite(v)) hist.add(v);
  });
  return {
    count: hist.count,
    p50: hist.quantile(0.5),
    p90: hist.quantile(0.9),
    p99: hist.quantile(0.99),
    p999: hist.quantile(0.999),
  };
}

interface Contender {
  label: string;
  command: string;
  start: () => Promise<Peer>;
}

/** `serve --help` of the CLI under test mentions `--io` (the native UDP path exists). */
export function switchboardHasIo(): boolean {
  if (hasIo === undefined) {
    const r = spawnSync(process.execPath, [switchboardBin(), 'serve', '--help'], { encoding: 'utf8' });
    hasIo = /--io\b/.test(`${r.stdout ?? ''}`);
  }
  return hasIo;
}
let hasIo: boolean | undefined;

/**
 * Every server the dnsperf suites know, by the name `--servers` takes. A new contender (another
 * I/O path, another worker count) is one more entry here.
 */
function contenders(opts: DnsperfBenchOptions, zoneDir: string): Contender[] {
  const zones = [{ origin: BENCH_ORIGIN, file: join(zoneDir, 'bench.test.zone') }];
  const cpu = opts.serverCpu;
  const sb = (label: string, workers: number, io?: 'native' | 'node'): Contender => ({
    label,
    command: `taskset -c ${cpu} node dist/src/cli/main.js serve --workers ${workers}${io ? ` --io ${io}` : ''}`,
    start: () => startSwitchboard(zoneDir, { workers, cpu, io }),
  });
  // The node (dgram) path: explicit once the CLI has --io, so the row means the same thing.
  const node = switchboardHasIo() ? 'node' : undefined;
  const all: Record<string, Contender> = {
    switchboard: sb('Switchboard', 1, node),
    // The two UDP paths side by side (`--io`, docs/NATIVE.md); run.ts asks for 'switchboard-native'
    // only when the CLI under test has --io.
    'switchboard-node': sb('Switchboard node UDP', 1, 'node'),
    // Without the C answers (on by default with images since issue 7), so the row keeps meaning
    // "the native batches, every answer by the Responder".
    'switchboard-native': {
      label: 'Switchboard native UDP --native-answers off',
      command: `taskset -c ${cpu} node dist/src/cli/main.js serve --workers 1 --io native --native-answers off`,
      start: () =>
        startSwitchboard(zoneDir, { workers: 1, cpu, io: 'native', args: ['--native-answers', 'off'] }),
    },
    // Plain queries answered in C from compiled zone images (`--native-answers`, docs/NATIVE.md).
    'switchboard-native-c': {
      label: 'Switchboard native UDP --native-answers',
      command: `taskset -c ${cpu} node dist/src/cli/main.js serve --workers 1 --io native --native-answers`,
      start: () => startSwitchboard(zoneDir, { workers: 1, cpu, io: 'native', args: ['--native-answers'] }),
    },
    // Worker scaling: two workers on the same single CPU as one (CPU per query must not grow).
    'switchboard-w2': sb('Switchboard --workers 2', 2, node),
    // The native pairs with the same --native-answers on both sides (scaling compares them).
    'switchboard-native-w2': {
      label: 'Switchboard native UDP --native-answers off --workers 2',
      command: `taskset -c ${cpu} node dist/src/cli/main.js serve --workers 2 --io native --native-answers off`,
      start: () =>
        startSwitchboard(zoneDir, { workers: 2, cpu, io: 'native', args: ['--native-answers', 'off'] }),
    },
    'switchboard-native-c-w2': {
      label: 'Switchboard native UDP --native-answers --workers 2',
      command: `taskset -c ${cpu} node dist/src/cli/main.js serve --workers 2 --io native --native-answers`,
      start: () => startSwitchboard(zoneDir, { workers: 2, cpu, io: 'native', args: ['--native-answers'] }),
    },
    // Another build (before/after in one run): `--baseline-bin PATH/dist/src/cli/main.js`, on
    // the same UDP path as the 'switchboard' row (the node path, when the CLI under test has --io).
    'switchboard-baseline': {
      label: 'Switchboard baseline build',
      command: `taskset -c ${cpu} node ${opts.baselineBin ?? '(--baseline-bin)'} serve --workers 1${node ? ` --io ${node}` : ''}`,
      start: () => {
        if (!opts.baselineBin) throw new Error('switchboard-baseline needs --baseline-bin PATH');
        return startSwitchboard(zoneDir, { workers: 1, cpu, bin: opts.baselineBin, io: node });
      },
    },
    // The platform (`start`: control plane + DNS workers), the zone created through its API.
    'switchboard-start': {
      label: 'Switchboard start',
      command: `taskset -c ${cpu} node dist/src/cli/main.js start --workers 1 (SQLite store; zone created through the API)`,
      start: () =>
        startPlatformPeer(BENCH_ORIGIN, join(zoneDir, 'bench.test.zone'), {
          cpu,
          workers: 1,
          args: node ? ['--io', node] : [],
        }),
    },
    nsd: {
      label: 'NSD',
      command: `taskset -c ${cpu} nsd -d (server-count 1, rrl-ratelimit 0)`,
      start: () => startNsd(zones, { cpu, serverCount: 1 }),
    },
    'nsd-2': {
      label: 'NSD server-count 2',
      command: `taskset -c ${cpu} nsd -d (server-count 2, rrl-ratelimit 0)`,
      start: () => startNsd(zones, { cpu, serverCount: 2 }),
    },
    knot: {
      label: 'Knot',
      command: `taskset -c ${cpu} knotd (udp-workers 1, tcp-workers 1; threads re-pinned)`,
      start: () => startKnot(zones, { cpu, workers: 1 }),
    },
    trivial: {
      label: 'trivial Node responder',
      command: `taskset -c ${cpu} node dist/bench/trivial-responder.js`,
      start: () => startTrivialResponder({ cpu }),
    },
  };
  return opts.servers.map((s) => {
    const c = all[s];
    if (!c) throw new Error(`unknown server '${s}' (known: ${Object.keys(all).join(', ')})`);
    return c;
  });
}

/** A dnsperf query file and its line count. */
export interface QueryFile {
  path: string;
  lines: number;
}

/** Seeds of the random-name files: one per round and purpose, so no name repeats across runs. */
const RANDOM_SEED = 20161021;

/**
 * The query files of one round (round 0: the warm-up). The existing-names mix uses one file for
 * every run; the random mixes write fresh files per round (each server gets the same names in a
 * round; separate processes, so one cannot warm another's cache), sized by {@link namesNeeded}.
 */
function queryFilesFor(
  opts: DnsperfBenchOptions,
  existing: QueryFile,
  round: number,
): { throughput: QueryFile; latency: QueryFile } {
  const mix = opts.mix ?? 'existing';
  if (mix === 'existing') return { throughput: existing, latency: existing };
  const write = (purpose: 't' | 'l', seconds: number, qps: number): QueryFile => {
    const path = join(opts.workDir, `random-${purpose}.txt`);
    rmSync(path, { force: true });
    const lines = writeRandomQueryFile(path, {
      count: namesNeeded(seconds, qps),
      seed: RANDOM_SEED + round * 2 + (purpose === 'l' ? 1 : 0),
      tag: `${purpose}${round}`,
      origin: BENCH_ORIGIN,
      existingFraction: mix === 'mixed' ? 0.5 : 0,
      existingNames: (i) => `host-${i}`,
      existingCount: opts.names,
    });
    return { path, lines };
  };
  const seconds = round === 0 ? 2 : opts.durationS;
  return {
    throughput: write('t', seconds, opts.expectedQps ?? 250_000),
    latency: write('l', opts.latencyDurationS, opts.latencyQps),
  };
}

/**
 * Runs the benchmark: all servers are started (idle ones cost nothing), warmed up, then
 * measured in interleaved rounds so that background noise spreads over all of them.
 */
export async function runDnsperfBench(opts: DnsperfBenchOptions): Promise<ServerResult[]> {
  const bench = writeBenchZone(opts.workDir, opts.names);
  const { zoneDir } = bench;
  // The existing-names file is meant to be looped over: its names repeat by design.
  const existing: QueryFile = { path: bench.queryFile, lines: Number.POSITIVE_INFINITY };
  const list = contenders(opts, zoneDir);
  const peers = new Map<string, Peer>();
  const results = new Map<string, ServerResult>();
  try {
    const warm = queryFilesFor(opts, existing, 0).throughput;
    for (const c of list) {
      const r: ServerResult = {
        label: c.label,
        command: c.command,
        throughput: [],
        latency: [],
        median: {
          qps: Number.NaN,
          cpuSeconds: Number.NaN,
          qpsPerCpu: Number.NaN,
          lostPct: Number.NaN,
          p50: Number.NaN,
          p90: Number.NaN,
          p99: Number.NaN,
          p999: Number.NaN,
        },
      };
      results.set(c.label, r);
      try {
        const peer = await c.start();
        peers.set(c.label, peer);
        pinTree(peer.pid, opts.serverCpu);
        opts.log(
          `dnsperf: ${c.label} on port ${peer.port}, threads on CPU ${describeAffinity(peer.pid)}; warm-up`,
        );
        await runDnsperf(dnsperfArgs(peer, opts, warm, 2), 2);
      } catch (e) {
        r.error = (e as Error).message.split('\n')[0];
        opts.log(`dnsperf: ${c.label} failed to start: ${r.error}`);
      }
    }
    for (let round = 1; round <= opts.rounds; round++) {
      const files = queryFilesFor(opts, existing, round);
      for (const c of list) {
        const peer = peers.get(c.label);
        const r = results.get(c.label)!;
        if (!peer || r.error) continue;
        try {
          const t = await measureThroughput(peer, opts, files.throughput);
          r.throughput.push(t);
          const l = await measureLatency(peer, opts, files.latency);
          r.latency.push(l);
          opts.log(
            `dnsperf: round ${round} ${c.label}: ${t.qps.toFixed(0)} qps, ${t.cpuSeconds.toFixed(2)} CPU s, ` +
              `${t.qpsPerCpu.toFixed(0)} q/CPU-s, lost ${t.lost}; p50 ${(l.p50 * 1e6).toFixed(0)} µs, ` +
              `p99 ${(l.p99 * 1e6).toFixed(0)} µs at ${opts.latencyQps} qps` +
              (t.sent > t.names ? `; WARNING: ${t.sent} sent from ${t.names} names: names repeated` : ''),
          );
        } catch (e) {
          r.error = (e as Error).message.split('\n')[0];
          opts.log(`dnsperf: ${c.label} failed: ${r.error}`);
        }
      }
    }
  } finally {
    for (const p of peers.values()) await p.stop();
  }
  for (const r of results.values()) {
    const t = r.throughput;
    r.median = {
      qps: median(t.map((x) => x.qps)),
      cpuSeconds: median(t.map((x) => x.cpuSeconds)),
      qpsPerCpu: median(t.map((x) => x.qpsPerCpu)),
      lostPct: median(t.map((x) => (x.sent > 0 ? (100 * x.lost) / x.sent : Number.NaN))),
      p50: median(r.latency.map((x) => x.p50)),
      p90: median(r.latency.map((x) => x.p90)),
      p99: median(r.latency.map((x) => x.p99)),
      p999: median(r.latency.map((x) => x.p999)),
    };
  }
  return [...results.values()];
}
