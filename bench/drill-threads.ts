/**
 * Reads a drill's per-thread CPU trace (`bench/drill.ts --thread-trace`: OUT/NAME.threads.jsonl)
 * beside its report (OUT/NAME.json) and prints, per second of each phase, the legitimate queries
 * over 100 ms [late, lost, TCP], the CPU quota's throttled time, and each process's CPU
 * milliseconds: main thread + other threads (V8's GC and compiler helpers, libuv's pool,
 * compile threads), and the main thread's busiest 100 ms.
 *
 * With `--slices PHASE:FROM-TO` (seconds of the phase), every 100 ms sample of that span instead:
 * the quota's throttled ms, each process's main + other threads' ms, each worker socket's queue
 * (KiB) and drops, and from the workers' own trace (OUT/NAME.workers, src/server/shared/worker-trace.ts)
 * datagrams read, answered in C, JS calls (interpolated to the sample's bounds between the trace's
 * lines, which a saturated loop writes 80-340 ms apart), the event loop's busy ms, and the collections.
 *
 * Usage: node dist/bench/drill-threads.js OUT [NAME (default switchboard)] [--phases wave1,wave2]
 *   [--slices wave1:8-13]
 * @module
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DrillReport } from '../src/drill/run.js';
import { type ThreadTraceSample, threadTraceSeconds } from '../src/drill/thread-trace.js';
import type { WorkerTraceLine } from '../src/server/shared/worker-trace.js';

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: { phases: { type: 'string', default: '' }, slices: { type: 'string', default: '' } },
});
const out = positionals[0];
if (!out) {
  process.stderr.write('Usage: node dist/bench/drill-threads.js OUT [NAME] [--phases wave1,...]\n');
  process.exit(2);
}
const name = positionals[1] ?? 'switchboard';
const report = JSON.parse(readFileSync(join(out, `${name}.json`), 'utf8')) as DrillReport;
const text = readFileSync(join(out, `${name}.threads.jsonl`), 'utf8');
const first = text.slice(0, text.indexOf('\n'));
const root = first ? (JSON.parse(first) as ThreadTraceSample).p[0]?.[0] : undefined;
const want = a.phases ? new Set(a.phases.split(',')) : undefined;

if (a.slices) {
  const m = /^(\w+):(-?\d+(?:\.\d+)?)-(-?\d+(?:\.\d+)?)$/.exec(a.slices);
  const ph = m ? report.phases.find((p) => p.name === m[1]) : undefined;
  if (!m || ph?.startedAtMs === undefined) {
    process.stderr.write(`--slices ${a.slices}: PHASE:FROM-TO with a phase of the report\n`);
    process.exit(2);
  }
  slices(ph.startedAtMs, Number(m[2]), Number(m[3]));
  process.exit(0);
}

/** Every sample from `from` to `to` seconds after `t0`. */
function slices(t0: number, from: number, to: number): void {
  const samples = text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ThreadTraceSample);
  const wdir = join(out, `${name}.workers`);
  const workers = new Map<number, WorkerTraceLine[]>();
  if (existsSync(wdir))
    for (const f of readdirSync(wdir)) {
      const pm = /^worker-(\d+)\.jsonl$/.exec(f);
      if (!pm) continue;
      workers.set(
        Number(pm[1]),
        readFileSync(join(wdir, f), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as WorkerTraceLine),
      );
    }
  const nearest = (lines: WorkerTraceLine[], w: number): WorkerTraceLine | undefined => {
    let best: WorkerTraceLine | undefined;
    for (const l of lines) if (l.w <= w && (!best || l.w > best.w)) best = l;
    return best;
  };
  // onset22: a counter at an instant, interpolated between the worker trace's lines around it (a
  // timer on a saturated loop writes them 80-340 ms apart: the counts since the line before are
  // not the slice's, and set beside its 100 ms of CPU they misread the cost of a datagram).
  const at = (lines: WorkerTraceLine[], w: number, k: number): number | undefined => {
    let prev: WorkerTraceLine | undefined;
    let next: WorkerTraceLine | undefined;
    for (const l of lines) {
      if (l.w <= w) prev = l;
      else {
        next = l;
        break;
      }
    }
    if (!prev || !next) return undefined;
    const p = prev.u[k] ?? 0;
    return p + ((w - prev.w) / (next.w - prev.w)) * ((next.u[k] ?? 0) - p);
  };
  const delta = (lines: WorkerTraceLine[], from: number, to: number, k: number): string => {
    const a = at(lines, from, k);
    const b = at(lines, to, k);
    return a === undefined || b === undefined ? '?' : (b - a).toFixed(0);
  };
  process.stdout.write(
    't (s), throttled ms; per process: main+other ms; per worker socket: queue KiB, drops; per worker trace: read, in C, JS calls, loop busy ms, GC (ms kind), prefilter programs attached\n',
  );
  for (let i = 1; i < samples.length; i++) {
    const a0 = samples[i - 1];
    const b = samples[i];
    const t = (b.w - t0) / 1000;
    if (t < from || t > to) continue;
    const thr = a0.thrNs !== undefined && b.thrNs !== undefined ? (b.thrNs - a0.thrNs) / 1e6 : 0;
    const before = new Map<number, number>();
    for (const [, rows] of a0.p) for (const [tid, ns] of rows) before.set(tid, ns);
    const procs = b.p.map(([pid, rows]) => {
      let main = 0;
      let other = 0;
      for (const [tid, ns] of rows) {
        const d = (ns - (before.get(tid) ?? ns)) / 1e6;
        if (tid === pid) main += d;
        else other += d;
      }
      const q = b.q?.find((x) => x[0] === pid);
      const q0 = a0.q?.find((x) => x[0] === pid);
      const lines = workers.get(pid);
      let wt = '';
      if (lines) {
        const x = nearest(lines, b.w);
        const y = nearest(lines, a0.w);
        if (x && y) {
          const gcs = lines
            .filter((l) => l.w > y.w && l.w <= x.w)
            .flatMap((l) => l.g)
            .map(([, d, k]) => `${d}k${k}`);
          wt = ` r${delta(lines, a0.w, b.w, 0)} c${delta(lines, a0.w, b.w, 2)} j${delta(lines, a0.w, b.w, 5)} l${lines
            .filter((l) => l.w > y.w && l.w <= x.w)
            .reduce((s, l) => s + l.l, 0)
            .toFixed(0)}${gcs.length ? ` gc ${gcs.join(',')}` : ''}${
            // onset22: the prefilter's programs built and attached in the slice (the last entry: 9 since
            // session 26, 11 in the traces before, which held queue21's two counts before it)
            x.u.length === 9 || x.u.length === 11 ? ` p${delta(lines, a0.w, b.w, x.u.length - 1)}` : ''
          }`;
        }
      }
      return `${pid === b.p[0]?.[0] ? 'P' : pid} ${main.toFixed(1)}+${other.toFixed(1)}${q ? ` q${(q[1] / 1024).toFixed(0)} d${q0 ? q[2] - q0[2] : 0}` : ''}${wt}`;
    });
    const drill =
      a0.d && b.d
        ? ` | drill ${((b.d[0] - a0.d[0]) / 1e6).toFixed(0)} w${((b.d[1] - a0.d[1]) / 1e6).toFixed(0)}`
        : '';
    process.stdout.write(
      `${t.toFixed(1).padStart(5)} thr ${thr.toFixed(0).padStart(3)}  ${procs.join(' | ')}${drill}\n`,
    );
  }
}

for (const ph of report.phases) {
  if (want && !want.has(ph.name)) continue;
  if (ph.startedAtMs === undefined) continue;
  const secs = threadTraceSeconds(text, ph.startedAtMs, Math.ceil(ph.seconds));
  const pids = [...new Set(secs.flatMap((s) => Object.keys(s.cpu).map(Number)))].sort((x, y) =>
    x === root ? -1 : y === root ? 1 : x - y,
  );
  const label = (pid: number, i: number) => (pid === root ? 'primary' : `w${i}:${pid}`);
  process.stdout.write(
    `${ph.name} (from ${new Date(ph.startedAtMs).toISOString()}): s, over 100 ms late/lost/TCP, throttled ms (periods), summed, CPUs busy ms (all processes), per process main+other ms (busiest 100 ms of main) w main's runnable wait ms; the drill's main thread ms, w its runnable wait ms; the late first tries' worst ms; the drill's tick's worst lateness ms; its longest GC ms\n`,
  );
  for (const s of secs) {
    const slow = ph.slow?.[s.second];
    const cpu = pids
      .map((pid, i) => {
        const c = s.cpu[pid];
        return c
          ? `${label(pid, i)} ${c[0].toFixed(0)}+${c[1].toFixed(0)} (${c[2].toFixed(0)}) w${c[3].toFixed(0)}`
          : '';
      })
      .filter(Boolean)
      .join('  ');
    const total = pids.reduce((t, pid) => t + (s.cpu[pid]?.[0] ?? 0) + (s.cpu[pid]?.[1] ?? 0), 0);
    process.stdout.write(
      `  ${String(s.second).padStart(2)}s ${slow ? `${slow.udpQueued}/${slow.udpRetried}/${slow.tcp}`.padEnd(14) : '-'.padEnd(14)} thr ${s.throttledMs.toFixed(0).padStart(4)} (${String(s.throttledPeriods).padStart(3)})  sum ${total.toFixed(0).padStart(4)} cpus ${s.cpuBusyMs.map((x) => x.toFixed(0)).join('/')}  ${cpu}  drill ${s.drill[0].toFixed(0)} w${s.drill[1].toFixed(0)}${slow?.udpQueuedMaxMs ? ` late max ${slow.udpQueuedMaxMs}` : ''}${slow?.drillLagMs ? ` tick ${slow.drillLagMs}` : ''}${slow?.drillGcMs ? ` gc ${slow.drillGcMs}` : ''}\n`,
    );
  }
}
