/**
 * A thread's time on a CPU and time spent runnable but waiting for one, from
 * /proc/PID/task/TID/schedstat (nanoseconds, Linux with scheduler statistics). Tests compare
 * latencies with the time a server's thread was kept off the CPU by *other* processes: on a
 * shared, oversubscribed machine that wait is what inflates wall times, whereas a thread held
 * by heavy work runs (its CPU time grows) while the others wait for it.
 * @module
 */
import { readFileSync } from 'node:fs';

/** Cumulative scheduler times of one thread (ms). */
export interface SchedTimes {
  /** On a CPU. */
  runMs: number;
  /** Runnable, waiting in a run queue. */
  waitMs: number;
}

/** The scheduler times of thread `tid` of process `pid` (its main thread by default); undefined when gone. */
export function schedTimes(pid: number, tid = pid): SchedTimes | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8');
  } catch {
    return undefined;
  }
  const [run, wait] = text.trim().split(/\s+/).map(Number);
  if (!Number.isFinite(run) || !Number.isFinite(wait)) return undefined;
  return { runMs: run / 1e6, waitMs: wait / 1e6 };
}

/** Whether this kernel reports scheduler statistics (else tests fall back to wall times alone). */
export function hasSchedStats(): boolean {
  return schedTimes(process.pid) !== undefined;
}

/** What a thread did between two samples (ms); zeros when either sample is missing. */
export function schedDelta(before: SchedTimes | undefined, after: SchedTimes | undefined): SchedTimes {
  if (!before || !after) return { runMs: 0, waitMs: 0 };
  return { runMs: after.runMs - before.runMs, waitMs: after.waitMs - before.waitMs };
}
