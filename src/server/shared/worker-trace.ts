/**
 * A worker's own trace for the drill's diagnosis (opt-in: `SWITCHBOARD_WORKER_TRACE=DIR`, set by
 * `bench/drill.ts --thread-trace`): every 100 ms one JSON line appended to DIR/worker-PID.jsonl
 * with the native socket's counters (received, dropped in C, answered in C and in JS, batches,
 * JS calls), the TCP listeners' counters, the event loop's busy time, the heap in use, and the
 * V8 collections that ended since the line before (start on the wall clock, duration, kind).
 * Read by `bench/drill-threads.ts --slices`. Off (nothing runs) without the variable.
 * @module
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { NativeUdpStats } from '../../transport/native-udp.js';
import type { TcpStats } from '../../transport/tcp.js';

/** The environment variable naming the folder (unset: no trace). */
export const WORKER_TRACE_ENV = 'SWITCHBOARD_WORKER_TRACE';

/** One line: `u` [received, dropped, answeredC, answeredJs, batches, jsCalls, sent, shieldDropped,
 * prefilterUpdates] summed over the native sockets (onset22: the kernel prefilter's programs built and
 * attached; traces before session 26 held queue21's two counts before it, 11 entries); `t` [accepted, refused, open, batchAccepted] summed over the
 * TCP listeners; `l` event loop busy ms since the line before; `h` heap used (bytes); `g`
 * collections: [start (ms since the epoch), duration ms, kind (perf_hooks' NODE_PERFORMANCE_GC_*)]. */
export interface WorkerTraceLine {
  readonly w: number;
  readonly u: number[];
  readonly t: number[];
  readonly l: number;
  readonly h: number;
  readonly g: [number, number, number][];
}

/** Starts the trace when the variable is set; returns its stop function (or undefined). */
export function startWorkerTrace(sources: {
  udp: () => Iterable<NativeUdpStats>;
  tcp: () => Iterable<Readonly<TcpStats>>;
}): (() => void) | undefined {
  const dir = process.env[WORKER_TRACE_ENV];
  if (!dir) return undefined;
  const file = join(dir, `worker-${process.pid}.jsonl`);
  let gcs: [number, number, number][] = [];
  const origin = performance.timeOrigin;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as { detail?: { kind?: number } }).detail?.kind ?? 0;
      gcs.push([Math.round(origin + e.startTime), Math.round(e.duration * 10) / 10, kind]);
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  let elu = performance.eventLoopUtilization();
  const tick = (): void => {
    const u = [0, 0, 0, 0, 0, 0, 0, 0, 0];
    for (const s of sources.udp()) {
      u[0] += s.received;
      u[1] += s.dropped;
      u[2] += s.answeredC;
      u[3] += s.answeredJs;
      u[4] += s.batches;
      u[5] += s.jsCalls;
      u[6] += s.sent;
      u[7] += s.shieldDropped;
      u[8] += s.prefilterAttaches ?? s.prefilterUpdates ?? 0;
    }
    const t = [0, 0, 0, 0];
    for (const s of sources.tcp()) {
      t[0] += s.accepted;
      t[1] += s.refused;
      t[2] += s.open;
      t[3] += s.batchAccepted;
    }
    const now = performance.eventLoopUtilization();
    const d = performance.eventLoopUtilization(now, elu);
    elu = now;
    const line: WorkerTraceLine = {
      w: Date.now(),
      u,
      t,
      l: Math.round(d.active * 10) / 10,
      // onset22: V8's count alone (what memoryUsage().heapUsed reads), without its RSS read of /proc:
      // the tick was ~3% of a worker's CPU in a drill, memoryUsage a quarter of it.
      h: getHeapStatistics().used_heap_size,
      g: gcs,
    };
    gcs = [];
    try {
      appendFileSync(file, `${JSON.stringify(line)}\n`);
    } catch {
      // the folder went away: the trace stops quietly (no retry every 100 ms)
      stop();
    }
  };
  const timer = setInterval(tick, 100);
  timer.unref();
  const stop = (): void => {
    clearInterval(timer);
    obs.disconnect();
  };
  return stop;
}
