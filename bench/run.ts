/**
 * `npm run bench`: runs the benchmarks (dnsperf throughput and CPU efficiency, zone load,
 * control plane), prints readable tables, and records the figures with the command, the date
 * and the machine in docs/PERFORMANCE.md (between its `bench:results` markers; the control
 * plane between its own, see bench/control-plane.ts, which also takes its own flags).
 *
 * Usage: node dist/bench/run.js [--quick] [--suite dnsperf,zone-load,control-plane,fairness] [--duration S]
 *   [--rounds N] [--latency-duration S] [--latency-qps N] [--names N]
 *   [--servers switchboard,nsd,trivial,knot] [--zone-records N] [--no-doc]
 * @module
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { findCommand, switchboardBin } from '../test/helpers/peers.js';
import { runControlPlaneSuite } from './control-plane.js';
import { runDnsperfBench, type ServerResult } from './dnsperf-bench.js';
import { runFairnessSuite } from './fairness.js';
import { fmt, formatMarkdownTable, formatTable } from './stats.js';
import { type LoadResult, runZoneLoadBench } from './zone-load.js';

/** Targets from the project brief: Switchboard's queries per CPU-second relative to the others. */
export const TARGETS = { vsNsd: 0.4, vsTrivial: 0.7, zoneLoadSeconds: 10, zoneLoadBytes: 2 ** 30 } as const;

interface Options {
  suites: string[];
  durationS: number;
  rounds: number;
  latencyDurationS: number;
  latencyQps: number;
  names: number;
  servers: string[];
  zoneRecords: number;
  writeDoc: boolean;
  quick: boolean;
}

function parseArgs(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const get = (flag: string, dflt: string): string => {
    const i = argv.indexOf(flag);
    return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
  };
  const servers = ['switchboard', 'nsd', 'trivial'];
  if (findCommand('knotd')) servers.push('knot');
  return {
    quick,
    suites: get('--suite', 'dnsperf,zone-load,control-plane,fairness').split(','),
    durationS: Number(get('--duration', quick ? '3' : '10')),
    rounds: Number(get('--rounds', quick ? '1' : '3')),
    latencyDurationS: Number(get('--latency-duration', quick ? '2' : '5')),
    latencyQps: Number(get('--latency-qps', '10000')),
    names: Number(get('--names', '10000')),
    servers: get('--servers', servers.join(',')).split(','),
    zoneRecords: Number(get('--zone-records', quick ? '100000' : '1000000')),
    // Quick runs are for trying the harness; only full runs are recorded unless asked.
    writeDoc: !argv.includes('--no-doc') && (!quick || argv.includes('--doc')),
  };
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
    fmt(r.median.lostPct, 2),
    us(r.median.p50),
    us(r.median.p90),
    us(r.median.p99),
    us(r.median.p999),
  ]);
  return { header, rows };
}

function ratioLines(results: ServerResult[]): string[] {
  const by = new Map(results.map((r) => [r.label, r.median.qpsPerCpu]));
  const sb = by.get('Switchboard');
  const lines: string[] = [];
  const ratio = (other: string, target?: number): void => {
    const o = by.get(other);
    if (sb === undefined || o === undefined || !Number.isFinite(sb) || !Number.isFinite(o)) return;
    const r = sb / o;
    const verdict =
      target === undefined
        ? ''
        : r >= target
          ? ` (target ≥ ${target * 100}%: met)`
          : ` (target ≥ ${target * 100}%: NOT met)`;
    lines.push(`Switchboard / ${other} queries per CPU-second: ${(r * 100).toFixed(1)}%${verdict}`);
  };
  ratio('NSD', TARGETS.vsNsd);
  ratio('trivial Node responder', TARGETS.vsTrivial);
  ratio('Knot');
  return lines;
}

function loadTable(results: LoadResult[]): { header: string[]; rows: string[][] } {
  const header = ['server', 'load s', 'peak RSS MiB (largest process)', 'peak RSS MiB (sum)', 'note'];
  const rows = results.map((r) => [
    r.label,
    fmt(r.seconds, 2),
    mib(r.peakRssBytes),
    mib(r.totalPeakRssBytes),
    r.error ? `failed: ${r.error}` : r.note,
  ]);
  return { header, rows };
}

function loadVerdict(results: LoadResult[]): string[] {
  const r = results.find((x) => x.label === 'Switchboard loadZoneFile');
  if (!r || !Number.isFinite(r.seconds)) return [];
  const timeOk = r.seconds < TARGETS.zoneLoadSeconds;
  const memOk = r.peakRssBytes < TARGETS.zoneLoadBytes;
  return [
    `Switchboard load: ${r.seconds.toFixed(2)} s (target < ${TARGETS.zoneLoadSeconds} s: ${timeOk ? 'met' : 'NOT met'}), ` +
      `peak RSS ${mib(r.peakRssBytes)} MiB (target < 1 GiB: ${memOk ? 'met' : 'NOT met'})`,
  ];
}

const BEGIN = '<!-- bench:results:begin -->';
const END = '<!-- bench:results:end -->';

function writeDoc(section: string): void {
  const file = resolve('docs/PERFORMANCE.md');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : `# Performance\n\n${BEGIN}\n${END}\n`;
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  const next =
    a >= 0 && b > a
      ? `${text.slice(0, a + BEGIN.length)}\n${section}\n${text.slice(b)}`
      : `${text.trimEnd()}\n\n${BEGIN}\n${section}\n${END}\n`;
  writeFileSync(file, next);
}

const FAIRNESS_BEGIN = '<!-- bench:fairness:begin -->';
const FAIRNESS_END = '<!-- bench:fairness:end -->';

/** Replaces the text between two markers of docs/PERFORMANCE.md (a "Fairness" section at the end if absent). */
function writeSection(begin: string, end: string, section: string): void {
  const file = resolve('docs/PERFORMANCE.md');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Performance\n';
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  const next =
    a >= 0 && b > a
      ? `${text.slice(0, a + begin.length)}\n${section}\n${text.slice(b)}`
      : `${text.trimEnd()}\n\n## Fairness\n\n${begin}\n${section}\n${end}\n`;
  writeFileSync(file, next);
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const log = (line: string): void => console.log(line);
  const started = new Date();
  const machine = describeMachine();
  const bin = process.env.SWITCHBOARD_BIN ? `SWITCHBOARD_BIN=${process.env.SWITCHBOARD_BIN} ` : '';
  const rel = relative(process.cwd(), process.argv[1]);
  const script = rel.startsWith('..') ? process.argv[1] : rel;
  const command = `${bin}node ${script} ${process.argv.slice(2).join(' ')}`.trim();
  log(`bench: ${command}`);
  for (const m of machine) log(`bench: ${m}`);
  if (!existsSync(switchboardBin())) log(`bench: warning: ${switchboardBin()} not found (build first)`);

  const md: string[] = [
    `Recorded ${started.toISOString()} with \`${command}\`.`,
    '',
    ...machine.map((m) => `- ${m}`),
  ];
  const work = mkdtempSync(join(tmpdir(), 'sb-bench-'));
  try {
    if (opts.suites.includes('dnsperf')) {
      if (!findCommand('dnsperf') || !findCommand('taskset')) {
        log('bench: dnsperf or taskset not installed: skipping the dnsperf suite');
      } else {
        const results = await runDnsperfBench({
          durationS: opts.durationS,
          rounds: opts.rounds,
          latencyDurationS: opts.latencyDurationS,
          latencyQps: opts.latencyQps,
          names: opts.names,
          serverCpu: 1,
          clientCpu: 0,
          servers: opts.servers,
          workDir: work,
          log,
        });
        const t = dnsperfTable(results);
        const ratios = ratioLines(results);
        const setup =
          `${opts.names} names; mix 60% A, 10% AAAA (existing), 15% NXDOMAIN, 15% NODATA; ` +
          `server on CPU 1, dnsperf on CPU 0 (-c 2 -q 100); ${opts.rounds} round(s) of ${opts.durationS} s; ` +
          `medians; latency from a separate ${opts.latencyDurationS} s run at ${opts.latencyQps} qps (dnsperf -v)`;
        log(`\nThroughput and CPU efficiency (${setup})\n`);
        log(formatTable(t.header, t.rows));
        for (const l of ratios) log(l);
        md.push(
          '',
          '### Throughput and CPU efficiency',
          '',
          setup + '.',
          '',
          formatMarkdownTable(t.header, t.rows),
          '',
          ...ratios.map((l) => `- ${l}`),
          '',
          'Queries per CPU-second in each round (how noisy the medians are):',
          '',
          ...results.map(
            (r) => `- ${r.label}: ${r.throughput.map((x) => fmt(x.qpsPerCpu)).join(', ') || '–'}`,
          ),
          '',
          'Commands:',
          '',
          ...results.map((r) => `- ${r.label}: \`${r.command}\`${r.error ? ` — error: ${r.error}` : ''}`),
        );
      }
    }
    if (opts.suites.includes('zone-load')) {
      const z = await runZoneLoadBench({ records: opts.zoneRecords, log });
      const t = loadTable(z.results);
      const verdict = loadVerdict(z.results);
      const setup = `${z.records} records, ${(z.bytes / 1e6).toFixed(1)} MB zone file (A/AAAA/MX/TXT/CNAME and NS delegations with glue)`;
      log(`\nZone load (${setup})\n`);
      log(formatTable(t.header, t.rows));
      for (const l of verdict) log(l);
      md.push(
        '',
        '### Zone load',
        '',
        setup +
          '. Switchboard: `loadZoneFile` in a child process (time and VmHWM); servers: time from start until they answer the SOA, VmHWM from /proc.',
        '',
        formatMarkdownTable(t.header, t.rows),
        '',
        ...verdict.map((l) => `- ${l}`),
      );
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
          FAIRNESS_BEGIN,
          FAIRNESS_END,
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
  // Only a run of these suites replaces their results (a control-plane-only run keeps them).
  if (opts.writeDoc && opts.suites.some((s) => s === 'dnsperf' || s === 'zone-load')) {
    writeDoc(md.join('\n'));
    log('\nbench: figures written to docs/PERFORMANCE.md');
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
