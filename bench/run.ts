/**
 * `npm run bench`: runs the benchmarks (dnsperf throughput and CPU efficiency, zone load,
 * control plane), prints readable tables, and records the figures with the command, the date
 * and the machine in docs/PERFORMANCE.md (between its `bench:results` markers; the control
 * plane between its own, see bench/control-plane.ts, which also takes its own flags).
 *
 * Usage: `node dist/bench/run.js --help` (USAGE below; docs/PERFORMANCE.md "Config").
 * @module
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { findCommand, switchboardBin } from '../test/helpers/peers.js';
import { runControlPlaneSuite } from './control-plane.js';
import { runDnsperfBench, type ServerResult, switchboardHasIo } from './dnsperf-bench.js';
import { runFairnessSuite } from './fairness.js';
import { runManyZonesBench } from './many-zones.js';
import { runNativeScaling } from './native-scaling.js';
import { MIX_DESCRIPTIONS, type Mix } from './queries.js';
import { fmt, formatMarkdownTable, formatTable } from './stats.js';
import { type LoadResult, runZoneLoadBench } from './zone-load.js';

/**
 * Targets. From the project brief: Switchboard's queries per CPU-second relative to NSD and the
 * trivial Node responder, and the zone load. From issue 7 (the fast path): per mix and I/O path,
 * the 100,000-zone start, the 1,000,000-record zone and worker scaling.
 */
export const TARGETS = {
  vsNsd: 0.4,
  vsTrivial: 0.7,
  zoneLoadSeconds: 10,
  zoneLoadBytes: 2 ** 30,
  /** Issue 7: the native path's queries per CPU-second vs NSD's, both mixes. */
  nativeVsNsd: 1.0,
  /** Issue 7: the node path vs the trivial responder, random-subdomain mix. */
  randomNodeVsTrivial: 0.7,
  /** Issue 7: the node path vs the trivial responder, existing-names mix. */
  existingNodeVsTrivial: 0.85,
  /** Issue 7: 100,000 zones × 10 records, 2 workers: the last zone answers within (s). */
  manyZonesSeconds: 5,
  /** Issue 7: a 1,000,000-record zone answers within (s) of a cold start… */
  bigZoneSeconds: 2,
  /** …with a peak below (bytes). */
  bigZoneBytes: 300e6,
  /** Issue 7: queries per CPU-second with 2 workers vs 1. */
  workerScaling: 0.9,
} as const;

/** Every suite, in the order a full run takes them. */
const ALL_SUITES = [
  'dnsperf',
  'random',
  'mixed',
  'scaling',
  'zones',
  'zone-load',
  'control-plane',
  'fairness',
];

interface Options {
  suites: string[];
  durationS: number;
  rounds: number;
  latencyDurationS: number;
  latencyQps: number;
  names: number;
  servers: string[] | undefined;
  zoneRecords: number;
  manyZones: number;
  /** `--many-zones-servers text,images,nsd,knot`: which servers the zones suite runs (default all). */
  manyZonesServers?: string[];
  scalingClients: number;
  /** `--native-scaling-servers`: the scaling suite's native-path pairs under the drill's sender (bench/native-scaling.ts); `none` skips them. */
  nativeScalingServers?: string[];
  /** `--scaling-nice N`: nice value of the native scaling runs' server and sender (default 0). */
  scalingNice: number;
  /** dnsperf -Q on the throughput runs (undefined: unbounded). */
  throughputQps: number | undefined;
  expectedQps: number;
  baselineBin: string | undefined;
  writeDoc: boolean;
  quick: boolean;
}

const USAGE = `Usage: node dist/bench/run.js [--quick] [--suite ${ALL_SUITES.join(',')}]
  [--duration S] [--rounds N] [--latency-duration S] [--latency-qps N] [--names N]
  [--servers switchboard,switchboard-native,switchboard-native-c,nsd,knot,trivial,...] [--expected-qps N]
  [--scaling-clients N] [--native-scaling-servers native,native-w2,native-c,native-c-w2,nsd,nsd-2|none]
  [--scaling-nice N] [--throughput-qps N] [--many-zones N] [--many-zones-servers text,images,nsd,knot]
  [--zone-records N] [--baseline-bin PATH] [--no-doc] [--doc]
See docs/PERFORMANCE.md "Config".
`;

/** Flags that take a value, and flags that stand alone: anything else is a mistake, not a default run. */
const VALUE_FLAGS = new Set([
  '--suite',
  '--duration',
  '--rounds',
  '--latency-duration',
  '--latency-qps',
  '--names',
  '--servers',
  '--zone-records',
  '--many-zones',
  '--many-zones-servers',
  '--scaling-clients',
  '--native-scaling-servers',
  '--scaling-nice',
  '--throughput-qps',
  '--expected-qps',
  '--baseline-bin',
]);
const BARE_FLAGS = new Set(['--quick', '--no-doc', '--doc', '--help', '-h']);

function parseArgs(argv: string[]): Options {
  for (let k = 0; k < argv.length; k++) {
    if (VALUE_FLAGS.has(argv[k])) {
      if (k + 1 >= argv.length) throw new Error(`${argv[k]} needs a value\n${USAGE}`);
      k++;
    } else if (!BARE_FLAGS.has(argv[k])) throw new Error(`unknown argument '${argv[k]}'\n${USAGE}`);
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const quick = argv.includes('--quick');
  const positive = (flag: string, v: string): number => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 1)
      throw new Error(`${flag} must be a whole number of at least 1, got '${v}'`);
    return n;
  };
  const get = (flag: string, dflt: string): string => {
    const i = argv.indexOf(flag);
    return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
  };
  const suites = get('--suite', ALL_SUITES.join(','))
    .split(',')
    .map((x) => (x === 'existing' ? 'dnsperf' : x));
  for (const x of suites)
    if (!ALL_SUITES.includes(x))
      throw new Error(`unknown suite '${x}' (known: ${ALL_SUITES.join(', ')}, existing)`);
  const i = argv.indexOf('--servers');
  return {
    quick,
    suites,
    durationS: Number(get('--duration', quick ? '3' : '10')),
    rounds: Number(get('--rounds', quick ? '1' : '3')),
    latencyDurationS: Number(get('--latency-duration', quick ? '2' : '5')),
    latencyQps: Number(get('--latency-qps', '10000')),
    names: Number(get('--names', '10000')),
    servers: i >= 0 && i + 1 < argv.length ? argv[i + 1].split(',') : undefined,
    zoneRecords: Number(get('--zone-records', quick ? '100000' : '1000000')),
    manyZones: Number(get('--many-zones', quick ? '10000' : '100000')),
    manyZonesServers: argv.includes('--many-zones-servers')
      ? get('--many-zones-servers', '').split(',')
      : undefined,
    scalingClients: Number(get('--scaling-clients', '16')),
    nativeScalingServers: argv.includes('--native-scaling-servers')
      ? get('--native-scaling-servers', '').split(',')
      : undefined,
    scalingNice: Number(get('--scaling-nice', '0')),
    throughputQps: argv.includes('--throughput-qps')
      ? positive('--throughput-qps', get('--throughput-qps', ''))
      : undefined,
    expectedQps: Number(get('--expected-qps', '250000')),
    baselineBin: argv.includes('--baseline-bin') ? resolve(get('--baseline-bin', '')) : undefined,
    // Quick runs are for trying the harness; only full runs are recorded unless asked.
    writeDoc: !argv.includes('--no-doc') && (!quick || argv.includes('--doc')),
  };
}

/** The servers a mix suite compares by default: Switchboard on each I/O path it has, the peers, the floor. */
function defaultServers(baseline: boolean): string[] {
  const servers = ['switchboard'];
  if (baseline) servers.push('switchboard-baseline');
  if (switchboardHasIo()) servers.push('switchboard-native', 'switchboard-native-c');
  servers.push('switchboard-start', 'nsd');
  if (findCommand('knotd')) servers.push('knot');
  servers.push('trivial');
  return servers;
}

/** Worker scaling: Switchboard with 1 and 2 workers (each I/O path), NSD with 1 and 2 servers. */
function scalingServers(): string[] {
  const servers = ['switchboard', 'switchboard-w2'];
  if (switchboardHasIo())
    servers.push(
      'switchboard-native',
      'switchboard-native-w2',
      'switchboard-native-c',
      'switchboard-native-c-w2',
    );
  servers.push('nsd', 'nsd-2');
  return servers;
}

function versionOf(cmd: string, args: string[], re: RegExp): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  const m = re.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`);
  return m ? m[1] : 'not installed';
}

function describeMachine(): string[] {
  const c = cpus();
  return [
    `CPU: ${c.length} × ${c[0]?.model ?? 'unknown'}`,
    `memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB; kernel ${release()}; Node ${process.version}`,
    // The machine is shared: the load when the run began says how noisy the figures may be.
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
    `NSD ${versionOf('nsd', ['-v'], /NSD version (\S+)/)}, Knot ${versionOf('knotd', ['-V'], /version (\S+)/)}, ` +
      `dnsperf ${versionOf('dnsperf', ['-h'], /Version (\S+)/)}`,
  ];
}

/** Seconds as whole microseconds; '∞' marks a percentile past the histogram's 2 s range. */
const us = (s: number): string => fmt(s * 1e6);
const mib = (b: number): string => (b > 0 ? fmt(b / 2 ** 20) : '–');

function dnsperfTable(results: ServerResult[]): { header: string[]; rows: string[][] } {
  const header = [
    'server',
    'QPS',
    'CPU s',
    'queries/CPU-s',
    'CPU µs/query',
    'lost %',
    'p50 µs',
    'p90 µs',
    'p99 µs',
    'p99.9 µs',
  ];
  const rows = results.map((r) => [
    r.error && r.throughput.length === 0 ? `${r.label} (failed)` : r.label,
    fmt(r.median.qps),
    fmt(r.median.cpuSeconds, 2),
    fmt(r.median.qpsPerCpu),
    fmt(1e6 / r.median.qpsPerCpu, 2),
    fmt(r.median.lostPct, 2),
    us(r.median.p50),
    us(r.median.p90),
    us(r.median.p99),
    us(r.median.p999),
  ]);
  return { header, rows };
}

const verdict = (r: number, target: number): string =>
  ` (target ≥ ${target.toFixed(2)}×: ${r >= target ? 'met' : 'NOT met'})`;

/**
 * Ratios of each Switchboard row's queries per CPU-second to NSD's, Knot's and the trivial
 * responder's, with the targets that apply to that row's mix and I/O path.
 */
function ratioLines(results: ServerResult[], mix: Mix): string[] {
  const by = new Map(results.map((r) => [r.label, r.median.qpsPerCpu]));
  const lines: string[] = [];
  for (const sb of results.filter((r) => r.label.startsWith('Switchboard'))) {
    const mine = sb.median.qpsPerCpu;
    const native = sb.label.includes('native');
    const ratio = (other: string, targets: [number, string][]): void => {
      const o = by.get(other);
      if (o === undefined || !Number.isFinite(mine) || !Number.isFinite(o)) return;
      const r = mine / o;
      const v = targets.map(([t, who]) => `${verdict(r, t)}${who ? ` [${who}]` : ''}`).join('');
      lines.push(`${sb.label} / ${other} queries per CPU-second: ${r.toFixed(2)}×${v}`);
    };
    const nsdTargets: [number, string][] = native
      ? [[TARGETS.nativeVsNsd, 'issue 7, native path']]
      : mix === 'existing'
        ? [[TARGETS.vsNsd, 'project brief']]
        : [];
    const trivialTargets: [number, string][] = native
      ? []
      : mix === 'random'
        ? [[TARGETS.randomNodeVsTrivial, 'issue 7, node path']]
        : mix === 'existing'
          ? [
              [TARGETS.existingNodeVsTrivial, 'issue 7, node path'],
              [TARGETS.vsTrivial, 'project brief'],
            ]
          : [];
    ratio('NSD', nsdTargets);
    ratio('Knot', []);
    if (sb.label !== 'Switchboard baseline build') ratio('Switchboard baseline build', []);
    ratio('trivial Node responder', trivialTargets);
  }
  return lines;
}

/** Worker scaling: queries per CPU-second with 2 workers / with 1, per pair in the results. */
function scalingLines(results: ServerResult[], durationS: number, bounded: boolean): string[] {
  const by = new Map(results.map((r) => [r.label, r.median.qpsPerCpu]));
  const cpu = new Map(results.map((r) => [r.label, r.median.cpuSeconds]));
  const pairs: [string, string, boolean][] = [
    ['Switchboard', 'Switchboard --workers 2', true],
    [
      'Switchboard native UDP --native-answers off',
      'Switchboard native UDP --native-answers off --workers 2',
      true,
    ],
    ['Switchboard native UDP --native-answers', 'Switchboard native UDP --native-answers --workers 2', true],
    ['NSD', 'NSD server-count 2', false],
  ];
  const lines: string[] = [];
  for (const [one, two, target] of pairs) {
    const a = by.get(one);
    const b = by.get(two);
    if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b)) continue;
    const r = b / a;
    // Unbounded runs compare saturated servers: one that got well under its CPU's time (a
    // machine busy with other work) drained bigger batches per wake-up than the other.
    const c = cpu.get(one) ?? 0;
    const starved =
      !bounded && c < 0.8 * durationS
        ? ` — ${one} used ${c.toFixed(2)} CPU s of ${durationS} s: not saturated (a loaded machine?), so this ratio is not the workers' cost`
        : '';
    lines.push(
      `${two} / ${one} queries per CPU-second: ${r.toFixed(2)}×${target ? verdict(r, TARGETS.workerScaling) : ' (reference)'}${starved}`,
    );
  }
  return lines;
}

function loadTable(results: LoadResult[]): { header: string[]; rows: string[][] } {
  const header = [
    'server',
    'load s',
    'CPU s',
    'peak PSS MiB (sum, sampled)',
    'peak RSS MiB (sum, sampled)',
    'VmHWM MiB (largest process)',
    'VmHWM MiB (sum)',
    'note',
  ];
  const rows = results.map((r) => [
    r.label,
    fmt(r.seconds, 2),
    fmt(r.cpuSeconds, 2),
    mib(r.peakPssBytes),
    mib(r.peakRssSumBytes),
    mib(r.peakRssBytes),
    mib(r.totalPeakRssBytes),
    r.error ? `failed: ${r.error}` : r.note,
  ]);
  return { header, rows };
}

function loadVerdict(results: LoadResult[], records: number): string[] {
  const lines: string[] = [];
  const r = results.find((x) => x.label === 'Switchboard loadZoneFile');
  if (r && Number.isFinite(r.seconds)) {
    const timeOk = r.seconds < TARGETS.zoneLoadSeconds;
    const memOk = r.peakRssBytes < TARGETS.zoneLoadBytes;
    lines.push(
      `Switchboard loadZoneFile: ${r.seconds.toFixed(2)} s (project brief: < ${TARGETS.zoneLoadSeconds} s: ${timeOk ? 'met' : 'NOT met'}), ` +
        `peak RSS ${mib(r.peakRssBytes)} MiB (project brief: < 1 GiB: ${memOk ? 'met' : 'NOT met'})`,
    );
  }
  // Issue 7's targets are for a 1,000,000-record zone: a smaller one is not judged by them.
  if (records < 1_000_000) {
    lines.push(`(${fmt(records)} records: issue 7's targets are for 1,000,000, not judged here)`);
    return lines;
  }
  for (const s of results.filter(
    (x) => x.label.startsWith('Switchboard serve') && Number.isFinite(x.seconds),
  )) {
    const timeOk = s.seconds < TARGETS.bigZoneSeconds;
    const memOk = s.peakPssBytes > 0 && s.peakPssBytes < TARGETS.bigZoneBytes;
    lines.push(
      `${s.label}: answering ${s.seconds.toFixed(2)} s after a cold start (issue 7: < ${TARGETS.bigZoneSeconds} s: ${timeOk ? 'met' : 'NOT met'}), ` +
        `peak PSS ${fmt(s.peakPssBytes / 1e6)} MB summed over its processes (issue 7: < ${TARGETS.bigZoneBytes / 1e6} MB: ${memOk ? 'met' : 'NOT met'})`,
    );
  }
  return lines;
}

/** The markers of each suite's part of docs/PERFORMANCE.md (its "Results" section). */
const MARKERS: Record<string, string> = {
  dnsperf: 'existing',
  random: 'random',
  mixed: 'mixed',
  scaling: 'scaling',
  zones: 'zones',
  'zone-load': 'zone-load',
  fairness: 'fairness',
};

/**
 * Replaces the text between `<!-- bench:KEY:begin -->` and `<!-- bench:KEY:end -->` in
 * docs/PERFORMANCE.md; without those markers the section is added at the end of the page.
 */
function writeSection(key: string, title: string, section: string): void {
  const begin = `<!-- bench:${key}:begin -->`;
  const end = `<!-- bench:${key}:end -->`;
  const file = resolve('docs/PERFORMANCE.md');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Performance\n';
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  const next =
    a >= 0 && b > a
      ? `${text.slice(0, a + begin.length)}\n${section}\n${text.slice(b)}`
      : `${text.trimEnd()}\n\n### ${title}\n\n${begin}\n${section}\n${end}\n`;
  writeFileSync(file, next);
}

/** The lines every recorded section starts with: when, the command, the machine, and that it is shared. */
function provenance(command: string, started: Date, machine: string[], quick: boolean): string[] {
  return [
    `Recorded ${started.toISOString()} with \`${command}\`${quick ? ' (a --quick run: short, one round)' : ''}.`,
    '',
    ...machine.map((m) => `- ${m}`),
    `- load average when this suite ended: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
    '- The machine is shared (2 cores; other engineers build and test on it): the figures are noisy; ratios measured side by side in one run are the ones to trust.',
  ];
}

const MIX_TITLES: Record<Mix, string> = {
  existing: 'Existing-names mix',
  random: 'Random-subdomain mix',
  mixed: 'Mixed: half random subdomains, half existing names',
};

async function mixSuite(
  opts: Options,
  mix: Mix,
  work: string,
  log: (line: string) => void,
  scaling = false,
): Promise<{ title: string; markdown: string[] } | undefined> {
  if (!findCommand('dnsperf') || !findCommand('taskset')) {
    log(`bench: dnsperf or taskset not installed: skipping the ${scaling ? 'scaling' : mix} suite`);
    return undefined;
  }
  const clients = scaling ? opts.scalingClients : 2;
  const servers =
    opts.servers ?? (scaling ? scalingServers() : defaultServers(opts.baselineBin !== undefined));
  const results = await runDnsperfBench({
    durationS: opts.durationS,
    rounds: opts.rounds,
    latencyDurationS: opts.latencyDurationS,
    latencyQps: opts.latencyQps,
    names: opts.names,
    serverCpu: 1,
    clientCpu: 0,
    servers,
    workDir: work,
    log,
    mix,
    clients,
    expectedQps: opts.expectedQps,
    throughputQps: opts.throughputQps,
    baselineBin: opts.baselineBin,
  });
  const t = dnsperfTable(results);
  const ratios = scaling
    ? scalingLines(results, opts.durationS, opts.throughputQps !== undefined)
    : ratioLines(results, mix);
  const title = scaling ? 'Worker scaling' : MIX_TITLES[mix];
  const fileNames = Math.max(0, ...results.flatMap((r) => r.throughput.map((x) => x.names)));
  const namesNote =
    mix === 'existing'
      ? ''
      : `; ${fmt(fileNames)} names in each round's throughput file (a new file per round)`;
  const setup =
    `${MIX_DESCRIPTIONS[mix]} (zone of ${fmt(opts.names)} names${namesNote}); ` +
    `server on CPU 1${scaling ? ' (both workers on that one CPU: CPU per query must not grow with workers)' : ''}, ` +
    `dnsperf on CPU 0 (-c ${clients} -q 100${opts.throughputQps !== undefined ? ` -Q ${opts.throughputQps}` : ''}); ${opts.rounds} round(s) of ${opts.durationS} s; ` +
    `medians; CPU of the whole server process tree from /proc; ` +
    `latency from a separate ${opts.latencyDurationS} s run at ${opts.latencyQps} qps (dnsperf -v)`;
  const repeats = results.flatMap((r) =>
    r.throughput.filter((x) => x.sent > x.names).map((x) => `${r.label} (${x.sent} sent, ${x.names} names)`),
  );
  log(`\n${title} (${setup})\n`);
  log(formatTable(t.header, t.rows));
  for (const l of ratios) log(l);
  for (const rr of repeats) log(`warning: names repeated within a run: ${rr}`);
  const markdown = [
    setup + '.',
    '',
    formatMarkdownTable(t.header, t.rows),
    '',
    ...ratios.map((l) => `- ${l}`),
    ...(repeats.length > 0
      ? ['', `- names repeated within a run (file too small): ${repeats.join('; ')}`]
      : []),
    '',
    'Queries per CPU-second in each round (how noisy the medians are):',
    '',
    ...results.map((r) => `- ${r.label}: ${r.throughput.map((x) => fmt(x.qpsPerCpu)).join(', ') || '–'}`),
    '',
    'Commands:',
    '',
    ...results.map((r) => `- ${r.label}: \`${r.command}\`${r.error ? ` — error: ${r.error}` : ''}`),
  ];
  return { title, markdown };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const log = (line: string): void => console.log(line);
  const machine = describeMachine();
  const bin = process.env.SWITCHBOARD_BIN ? `SWITCHBOARD_BIN=${process.env.SWITCHBOARD_BIN} ` : '';
  const rel = relative(process.cwd(), process.argv[1]);
  const script = rel.startsWith('..') ? process.argv[1] : rel;
  const command = `${bin}node ${script} ${process.argv.slice(2).join(' ')}`.trim();
  log(`bench: ${command}`);
  for (const m of machine) log(`bench: ${m}`);
  if (!existsSync(switchboardBin())) log(`bench: warning: ${switchboardBin()} not found (build first)`);

  const record = (suite: string, title: string, markdown: string[]): void => {
    if (!opts.writeDoc) return;
    writeSection(
      MARKERS[suite],
      title,
      [...provenance(command, new Date(), machine, opts.quick), '', ...markdown].join('\n'),
    );
    log(`bench: ${suite} figures written to docs/PERFORMANCE.md`);
  };
  const work = mkdtempSync(join(tmpdir(), 'sb-bench-'));
  try {
    const mixes: [string, Mix][] = [
      ['dnsperf', 'existing'],
      ['random', 'random'],
      ['mixed', 'mixed'],
    ];
    for (const [suite, mix] of mixes) {
      if (!opts.suites.includes(suite)) continue;
      const r = await mixSuite(opts, mix, work, log);
      if (r) record(suite, r.title, r.markdown);
    }
    if (opts.suites.includes('scaling')) {
      const r = await mixSuite(opts, 'existing', work, log, true);
      // The native path under a sender that saturates it (dnsperf on one core cannot).
      const n =
        opts.nativeScalingServers?.includes('none') === true
          ? undefined
          : await runNativeScaling({
              rounds: opts.rounds,
              durationS: opts.durationS,
              nice: opts.scalingNice,
              log,
              ...(opts.nativeScalingServers ? { servers: opts.nativeScalingServers } : {}),
            });
      const markdown = [
        ...(r?.markdown ?? []),
        ...(n ? ['', "#### The native path under the drill's sender", '', ...n.markdown] : []),
      ];
      if (r || n) record('scaling', r?.title ?? 'Worker scaling', markdown);
    }
    if (opts.suites.includes('zones')) {
      const z = await runManyZonesBench({
        zones: opts.manyZones,
        workers: 2,
        rounds: opts.rounds,
        log,
        ...(opts.manyZonesServers ? { servers: opts.manyZonesServers } : {}),
      });
      record('zones', `${fmt(opts.manyZones)} zones`, z.markdown);
    }
    if (opts.suites.includes('zone-load')) {
      const z = await runZoneLoadBench({ records: opts.zoneRecords, rounds: opts.rounds, log });
      const t = loadTable(z.results);
      const v = loadVerdict(z.results, z.records);
      const setup = `${z.records} records, ${(z.bytes / 1e6).toFixed(1)} MB zone file (A/AAAA/MX/TXT/CNAME and NS delegations with glue)`;
      log(`\nZone load (${setup})\n`);
      log(formatTable(t.header, t.rows));
      for (const l of v) log(l);
      record('zone-load', 'Zone load', [
        setup +
          '. Switchboard: `loadZoneFile` in a child process (time and VmHWM); servers: time from a cold start until they answer the SOA; ' +
          'peak PSS and RSS summed over all their processes, sampled from /proc/PID/smaps_rollup every 250 ms during the load and once after; VmHWM of the largest process.',
        '',
        formatMarkdownTable(t.header, t.rows),
        '',
        ...v.map((l) => `- ${l}`),
      ]);
    }
    if (opts.suites.includes('control-plane')) {
      // Writes its own section of docs/PERFORMANCE.md.
      await runControlPlaneSuite(process.argv.slice(2), command, opts.writeDoc);
    }
    if (opts.suites.includes('fairness')) {
      const runs = opts.quick ? 1 : 3;
      const f = await runFairnessSuite({
        runs,
        records: opts.quick ? 20_000 : 100_000,
        patchRRsets: opts.quick ? 5000 : 35_000,
        createRRsets: opts.quick ? 5000 : 35_000,
        log,
      });
      if (opts.writeDoc) {
        writeSection(
          'fairness',
          'Fairness',
          [
            `Recorded ${new Date().toISOString()} with \`${command}\`; ${machine.join('; ')}.`,
            '',
            ...f.markdown,
          ].join('\n'),
        );
        log('\nbench: fairness figures written to docs/PERFORMANCE.md');
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
