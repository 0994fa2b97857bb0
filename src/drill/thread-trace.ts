/**
 * A per-thread CPU trace of the target during a drill (`bench/drill.ts --thread-trace FILE`):
 * every `intervalMs` (default 100) a worker thread of the drill reads each thread's run time
 * (`/proc/PID/task/TID/schedstat`, nanoseconds) of every process of the target's tree, and,
 * when the target runs under a CPU quota, the cgroup's throttling counters (`cpu.stat`), and
 * appends one JSON line per sample to FILE. Cumulative values: `threadTraceSeconds` turns them
 * into CPU milliseconds per process per wall second. What it costs: a few dozen small /proc
 * reads per sample, on the drill's CPU (schedstat does not walk page tables, unlike smaps).
 * @module
 */
import { appendFileSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { isMainThread, Worker, workerData } from 'node:worker_threads';
import { processTree } from './proc.js';

/** One line of the trace file. */
export interface ThreadTraceSample {
  /** Wall clock, ms since the epoch. */
  readonly w: number;
  /** The quota's counters (cgroup v1 `throttled_time` ns / v2 `throttled_usec` × 1000; periods throttled). */
  readonly thrNs?: number;
  readonly thrN?: number;
  /** Per process: [pid, [[tid, run ns, runnable-but-waiting ns], ...]]. */
  readonly p: [number, [number, number, number][]][];
  /** Per CPU (/proc/stat, USER_HZ ticks): [busy (user+nice+system+irq+softirq+steal), idle+iowait]. */
  readonly c?: [number, number][];
  /** The target's UDP sockets (IPv4, its port): [owner pid (0: not found), octets queued, drops since open]. */
  readonly q?: [number, number, number][];
  /** The drill's own main thread (its resolvers' loop): [run ns, runnable-but-waiting ns] (late25:
   * a late answer while the drill waited for its CPU is the drill's lateness, not the target's). */
  readonly d?: [number, number];
  /** Threads first seen in this sample: [tid, name (/proc/PID/task/TID/comm)] (late25: which of a
   * worker's threads took its quota — V8's platform workers, libuv's pool). */
  readonly n?: [number, string][];
}

/** Starts the trace in a worker thread; `stop()` ends it. */
export class ThreadTrace {
  private readonly worker: Worker;

  constructor(
    pid: number,
    private readonly file: string,
    cgroupDir?: string,
    port?: number,
    intervalMs = 100,
  ) {
    writeFileSync(file, '');
    this.worker = new Worker(new URL(import.meta.url), {
      workerData: { threadTrace: { pid, file, cgroupDir, port, intervalMs } },
    });
    this.worker.unref();
    this.worker.on('error', () => {});
  }

  /** Resolves once the trace's thread has written its first sample (at most `timeoutMs`): its
   * start (a thread's module loaded and compiled) is then not in the measured time. */
  async ready(timeoutMs = 2000): Promise<void> {
    const end = performance.now() + timeoutMs;
    while (performance.now() < end) {
      try {
        if (statSync(this.file).size > 0) return;
      } catch {
        // not written yet
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

function readSchedstat(path: string): [number, number] | undefined {
  try {
    const f = readFileSync(path, 'utf8').split(' ');
    return [Number(f[0]), Number(f[1])];
  } catch {
    return undefined;
  }
}

function cpuTicks(): [number, number][] {
  const out: [number, number][] = [];
  try {
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      if (!/^cpu\d/.test(line)) continue;
      const f = line.split(/\s+/).slice(1).map(Number);
      out.push([f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0), f[3] + f[4]]);
    }
  } catch {
    // no /proc/stat
  }
  return out;
}

function quotaCounters(dir: string): { thrNs?: number; thrN?: number } {
  try {
    const text = readFileSync(`${dir}/cpu.stat`, 'utf8');
    const ns = /^throttled_time (\d+)/m.exec(text);
    const us = /^throttled_usec (\d+)/m.exec(text);
    const n = /^nr_throttled (\d+)/m.exec(text);
    return {
      thrNs: ns ? Number(ns[1]) : us ? Number(us[1]) * 1000 : undefined,
      thrN: n ? Number(n[1]) : undefined,
    };
  } catch {
    return {};
  }
}

/** Socket inode -> the pid holding it, for the processes given. */
function socketOwners(pids: readonly number[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) out.set(m[1], pid);
      } catch {
        // closed meanwhile
      }
    }
  }
  return out;
}

/** The UDP sockets bound to `port` (IPv4): [owner, octets queued, drops]. */
function udpQueues(port: number, owners: Map<string, number>): [number, number, number][] {
  const out: [number, number, number][] = [];
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  try {
    for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f.length < 13 || !f[1]?.endsWith(hexPort)) continue;
      out.push([
        owners.get(f[9] ?? '') ?? 0,
        Number.parseInt(f[4]?.split(':')[1] ?? '0', 16) || 0,
        Number(f[f.length - 1]) || 0,
      ]);
    }
  } catch {
    // not Linux
  }
  return out;
}

/** One sample now. */
export function sampleThreads(
  pids: readonly number[],
  cgroupDir?: string,
  queues?: { port: number; owners: Map<string, number> },
  drillPid?: number,
  named?: Set<number>,
): ThreadTraceSample {
  const p: [number, [number, number, number][]][] = [];
  const n: [number, string][] = [];
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    const rows: [number, number, number][] = [];
    for (const t of tids) {
      const ns = readSchedstat(`/proc/${pid}/task/${t}/schedstat`);
      if (ns !== undefined) rows.push([Number(t), ns[0], ns[1]]);
      if (named && !named.has(Number(t))) {
        named.add(Number(t));
        try {
          n.push([Number(t), readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim()]);
        } catch {
          // gone
        }
      }
    }
    p.push([pid, rows]);
  }
  return {
    w: Date.now(),
    ...(cgroupDir ? quotaCounters(cgroupDir) : {}),
    p,
    c: cpuTicks(),
    ...(queues ? { q: udpQueues(queues.port, queues.owners) } : {}),
    ...(drillPid !== undefined ? { d: readSchedstat(`/proc/${drillPid}/task/${drillPid}/schedstat`) } : {}),
    ...(n.length > 0 ? { n } : {}),
  };
}

/** Per wall second from `fromMs`: CPU ms per process (main thread, other threads) and ms throttled. */
export interface TraceSecond {
  readonly second: number;
  /** pid -> [main thread ms, other threads ms, busiest 100 ms slice of the main thread,
   * ms the main thread was runnable but waited (the quota's throttling, other processes on its CPU)]. */
  readonly cpu: Record<number, [number, number, number, number]>;
  /** Per CPU: busy ms (every process, the kernel's softirqs), from /proc/stat. */
  readonly cpuBusyMs: number[];
  readonly throttledMs: number;
  readonly throttledPeriods: number;
  /** The drill's main thread: [run ms, runnable-but-waiting ms] (samples without it: [0, 0]). */
  readonly drill: [number, number];
}

/** Reads a trace file into seconds from `fromMs` (wall clock, ms since the epoch). */
export function threadTraceSeconds(text: string, fromMs: number, seconds: number): TraceSecond[] {
  const samples = text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ThreadTraceSample);
  const out: TraceSecond[] = Array.from({ length: seconds }, (_, second) => ({
    second,
    cpu: {},
    throttledMs: 0,
    throttledPeriods: 0,
    cpuBusyMs: [],
    drill: [0, 0],
  }));
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1];
    const b = samples[i];
    const k = Math.floor((b.w - fromMs) / 1000);
    if (k < 0 || k >= seconds) continue;
    const s = out[k] as { -readonly [K in keyof TraceSecond]: TraceSecond[K] };
    if (a.thrNs !== undefined && b.thrNs !== undefined) s.throttledMs += (b.thrNs - a.thrNs) / 1e6;
    if (a.thrN !== undefined && b.thrN !== undefined) s.throttledPeriods += b.thrN - a.thrN;
    if (a.d && b.d) {
      s.drill[0] += (b.d[0] - a.d[0]) / 1e6;
      s.drill[1] += (b.d[1] - a.d[1]) / 1e6;
    }
    if (a.c && b.c)
      b.c.forEach(([busy], i) => {
        s.cpuBusyMs[i] = (s.cpuBusyMs[i] ?? 0) + (busy - (a.c?.[i]?.[0] ?? busy)) * 10;
      });
    const before = new Map<number, [number, number]>();
    for (const [, rows] of a.p) for (const [tid, ns, wait] of rows) before.set(tid, [ns, wait ?? 0]);
    for (const [pid, rows] of b.p) {
      const c = s.cpu[pid] ?? [0, 0, 0, 0];
      for (const [tid, ns, wait] of rows) {
        const prev = before.get(tid) ?? [ns, wait ?? 0];
        const d = (ns - prev[0]) / 1e6;
        if (tid === pid) {
          c[0] += d;
          c[2] = Math.max(c[2], d);
          c[3] += ((wait ?? 0) - prev[1]) / 1e6;
        } else c[1] += d;
      }
      s.cpu[pid] = c;
    }
  }
  return out;
}

if (!isMainThread && workerData?.threadTrace) {
  const { pid, file, cgroupDir, port, intervalMs } = workerData.threadTrace as {
    pid: number;
    file: string;
    cgroupDir?: string;
    port?: number;
    intervalMs: number;
  };
  let pids = processTree(pid);
  let owners = socketOwners(pids);
  let n = 0;
  const named = new Set<number>();
  const loop = () => {
    // The tree again every second (a restarted worker, a late thread).
    if (++n % 10 === 0) {
      pids = processTree(pid);
      owners = socketOwners(pids);
    }
    const queues = port ? { port, owners } : undefined;
    appendFileSync(file, `${JSON.stringify(sampleThreads(pids, cgroupDir, queues, process.pid, named))}\n`);
    setTimeout(loop, intervalMs);
  };
  loop();
}
