/**
 * `switchboard drill`: the traffic and attack generator of src/drill (docs/DRILL.md). Loopback
 * targets only; --max-seconds and --max-packets are required.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import {
  checkHardStops,
  checkShape,
  DEFAULT_DYN,
  DrillConfigError,
  defaultLonePerWave,
  dyn2016,
  htmlReport,
  LONE_MAX,
  LONE_PER_WAVE,
  parseMetricsUrl,
  parseTarget,
  prioritizeResolvers,
  ROTATE_MAX,
  readScenarioFile,
  runDrill,
  type Scenario,
  textReport,
  waveOfPhases,
  writeZoneFiles,
} from '../drill/index.js';

interface DrillCliOptions {
  target?: string;
  scenario: string;
  maxSeconds?: string;
  maxPackets?: string;
  seed: string;
  resolvers: string;
  lone?: string;
  bots: string;
  rotate24s: string;
  zones: string;
  names: string;
  victim: string;
  legitRate: string;
  typos: string;
  multiple: string;
  baseline: string;
  wave: string;
  calm: string;
  capacity?: string;
  capacityStart?: string;
  settle: string;
  senders?: string;
  io: string;
  gso: string;
  targetPid?: string;
  json?: string;
  html?: string;
  progress: boolean;
  label?: string;
  writeZones?: string;
  cpus?: string;
  targetMetrics?: string;
  cache: boolean;
}

function int(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new DrillConfigError(`${name}: a whole number from ${min} to ${max}, got '${text}'`);
  return n;
}

function num(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new DrillConfigError(`${name}: a number from ${min} to ${max}, got '${text}'`);
  return n;
}

/** Pins this process (and the senders it forks later) to `cpus` with taskset. */
function pinSelf(cpus: string): void {
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(cpus))
    throw new DrillConfigError(`--cpus: a CPU list like 1 or 2-3, got '${cpus}'`);
  const r = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { encoding: 'utf8' });
  if (r.status !== 0)
    throw new DrillConfigError(
      `--cpus: taskset failed: ${(r.stderr || r.error?.message || '').trim().split('\n')[0]}`,
    );
}

async function drillAction(o: DrillCliOptions): Promise<number> {
  const shape = checkShape({
    zones: int('--zones', o.zones, 1, 200),
    names: int('--names', o.names, 1, 60000),
  });
  if (o.writeZones) {
    const files = writeZoneFiles(o.writeZones, shape);
    process.stdout.write(`wrote ${files.length} zone files to ${o.writeZones}\n`);
    return 0;
  }
  if (!o.target) throw new DrillConfigError('--target: required (ADDR:PORT on loopback)');
  const target = parseTarget(o.target);
  if (o.cpus !== undefined) pinSelf(o.cpus);
  const stops = checkHardStops(o.maxSeconds, o.maxPackets);
  const victim = int('--victim', o.victim, 0, shape.zones - 1);
  const resolvers = int('--resolvers', o.resolvers, 1, 20000);
  const bots = int('--bots', o.bots, 1, 1_000_000);
  const legitRate = num('--legit-rate', o.legitRate, 0, 1_000_000);
  let scenario: Scenario | undefined;
  if (o.scenario === 'capacity') scenario = undefined;
  else if (o.scenario === 'dyn-2016')
    scenario = dyn2016({
      baseline: num('--baseline', o.baseline, 0, 3600),
      wave: num('--wave', o.wave, 0, 3600),
      calm: num('--calm', o.calm, 0, 3600),
      multiple: num('--multiple', o.multiple, 0, 100),
    });
  else scenario = readScenarioFile(o.scenario);
  const targetMetrics = o.targetMetrics !== undefined ? parseMetricsUrl(o.targetMetrics) : undefined;
  const nice = prioritizeResolvers();
  const report = await runDrill({
    target,
    stops,
    scenario,
    seed: int('--seed', o.seed, 0, 2 ** 31),
    shape,
    victim,
    resolvers,
    lonePerWave:
      o.lone !== undefined
        ? int('--lone', o.lone, 0, LONE_MAX)
        : defaultLonePerWave(scenario ? Math.max(0, ...waveOfPhases(scenario)) + 1 : 0),
    bots,
    rotate24s: int('--rotate-24s', o.rotate24s, 0, ROTATE_MAX),
    perResolverRate: legitRate / resolvers,
    typoShare: num('--typos', o.typos, 0, 0.5),
    senders: o.senders
      ? int('--senders', o.senders, 1, 64)
      : Math.max(1, Math.min(4, availableParallelism() - 1)),
    io: o.io === 'native' || o.io === 'node' ? o.io : 'auto',
    gso: int('--gso', o.gso, 1, 64),
    capacity: o.capacity !== undefined ? num('--capacity', o.capacity, 1, 100_000_000) : undefined,
    capacityStart:
      o.capacityStart !== undefined ? num('--capacity-start', o.capacityStart, 100, 100_000_000) : undefined,
    settleMs: num('--settle', o.settle, 0, 60) * 1000,
    targetPid: o.targetPid !== undefined ? int('--target-pid', o.targetPid, 1, 2 ** 22) : undefined,
    progress: o.progress,
    label: o.label,
    targetMetrics,
    cache: o.cache,
    senderNice: nice.senderNice,
    drillNice: nice.drillNice,
  });
  process.stdout.write(textReport(report));
  if (o.json) writeFileSync(o.json, `${JSON.stringify(report, null, 1)}\n`);
  if (o.html) writeFileSync(o.html, htmlReport(report));
  return 0;
}

/** Adds `switchboard drill`. */
export function registerDrillCommand(program: Command): void {
  program
    .command('drill')
    .description(
      'rehearse an attack on loopback: simulated resolvers and a flood against a DNS server (docs/DRILL.md)',
    )
    .option('--target <addr:port>', 'the server to drill: 127.0.0.0/8 or [::1] only')
    .option('--scenario <name|file>', "'dyn-2016', 'capacity', or a JSON file of phases", 'dyn-2016')
    .option('--max-seconds <n>', 'hard stop: the run ends after this many seconds (required; at most 3600)')
    .option('--max-packets <n>', 'hard stop: the run ends after sending this many datagrams (required)')
    .option('--seed <n>', 'seed of every random choice', '1')
    .option('--resolvers <n>', 'legitimate resolvers, each from its own 127.x address', '200')
    .option(
      '--lone <n>',
      `resolvers of the 'lone' class per wave, on top of --resolvers: each first appears when its wave starts, in a /24 of its own (127.1.128-255; default ${LONE_PER_WAVE}, at most ${LONE_MAX} over all the waves; 0: none)`,
    )
    .option('--bots <n>', 'bot source addresses (127.2.0.0/16 and on)', '10000')
    .option(
      '--rotate-24s <n>',
      `the bots' UDP flood rotates its sources over N /24s taken in turn (127.4.0.0/24 on, a random host in each; at most ${ROTATE_MAX}; IPv4 and the native sender only; 0: off)`,
      '0',
    )
    .option('--zones <n>', 'zones of the drill zone set', '8')
    .option('--names <n>', 'names per zone', '1000')
    .option('--victim <k>', 'the attacked zone (z<k>.drill)', '0')
    .option(
      '--legit-rate <qps>',
      'legitimate queries per second, all resolvers together, before storms',
      '2000',
    )
    .option('--typos <share>', 'share of legitimate queries for names that do not exist', '0.02')
    .option(
      '--multiple <x>',
      'dyn-2016: attack rate as a multiple of the measured capacity',
      String(DEFAULT_DYN.multiple),
    )
    .option('--baseline <s>', 'dyn-2016: seconds before the first wave', String(DEFAULT_DYN.baseline))
    .option('--wave <s>', 'dyn-2016: seconds of each wave', String(DEFAULT_DYN.wave))
    .option('--calm <s>', 'dyn-2016: seconds of calm after each wave', String(DEFAULT_DYN.calm))
    .option('--capacity <qps>', 'the target capacity (skips measuring it)')
    .option('--capacity-start <qps>', 'first rate the capacity search offers (default 10000)')
    .option(
      '--settle <s>',
      "before the first phase, at most S s of warm-up queries (from 127.3.0.1) and a wait until the target's tree is quiet (with --target-pid); 0: none",
      '0',
    )
    .option('--senders <n>', 'attack sender processes (default: CPUs - 1, 1-4)')
    .option('--io <path>', "attack I/O: 'native' (sendmmsg addon), 'node' (dgram), 'auto'", 'auto')
    .option(
      '--gso <n>',
      'native path: attack queries per UDP GSO message, all from one source (1 = off, at most 64)',
      '16',
    )
    .option('--cpus <list>', 'pin the drill and its senders to these CPUs (taskset), apart from the target')
    .option('--target-pid <pid>', "report the target's CPU and RSS (the process and its descendants)")
    .option(
      '--target-metrics <url>',
      "the target's Prometheus page (http on loopback): its drop, shed and RRL counters per phase",
    )
    .option('--no-cache', 'resolvers send every lookup (default: they cache answers for their TTL)')
    .option('--json <file>', 'write the report as JSON')
    .option('--html <file>', 'write the report as one self-contained HTML page')
    .option('--label <text>', 'a description of the target for the report')
    .option('--no-progress', 'no progress line on stderr')
    .option('--write-zones <dir>', 'write the drill zone set (one file per zone) into DIR and exit')
    .action(async (o: DrillCliOptions) => {
      try {
        process.exitCode = await drillAction(o);
      } catch (err) {
        // Configuration errors and failures to start (an attack sender that could not run) alike: one line.
        if (!(err instanceof Error)) throw err;
        process.stderr.write(`switchboard drill: error: ${err.message}\n`);
        process.exitCode = 1;
      }
    });
}
