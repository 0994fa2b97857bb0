/**
 * A DNS worker's helper threads at the lowest CPU priority (late25). A worker answers on its main
 * thread; V8's platform threads (optimizing compiles, concurrent GC) and libuv's pool share the
 * worker's CPU with it. When that CPU is the limit — a core saturated by a flood, or a CPU quota —
 * whatever they take is taken from the reads: in the two-worker drills both workers compiled the
 * same hot functions at the same moment (the functions reach V8's tier-up threshold after the same
 * number of calls since their start), ~35 ms of TurboFan each within 0.5 s, and the main threads,
 * left half of their quota, let the socket queue grow to ~1.6 MiB: 100–180 ms late answers mid-wave
 * (docs/PERFORMANCE.md "late25"). At nice 19 (weight 15 against the main thread's 1024) the helpers
 * run on what the main thread leaves: at once when it waits for datagrams, within about a second
 * under a flood. Linux only (setpriority(2) on a thread id sets that thread's nice);
 * `SWITCHBOARD_HELPER_NICE=off` leaves them as they are.
 * @module
 */
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

/** The environment variable: `off` keeps the helper threads at the worker's own priority. */
export const HELPER_NICE_ENV = 'SWITCHBOARD_HELPER_NICE';
/** The nice value given to every thread of the worker but its main one. */
export const HELPER_NICE = 19;
/** How often threads started later (libuv's pool is made on its first use) are looked for. */
export const HELPER_RESCAN_MS = 5000;

/**
 * Sets every thread of this process but the main one (tid = pid) not in `seen` to `nice`, and
 * adds it to `seen`. Returns how many it set (0 where /proc/self/task is not there).
 */
export function lowerHelperThreads(seen: Set<number>, nice = HELPER_NICE): number {
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return 0;
  }
  let n = 0;
  for (const t of tids) {
    const tid = Number(t);
    if (tid === process.pid || seen.has(tid)) continue;
    seen.add(tid);
    try {
      setPriority(tid, nice);
      n++;
    } catch {
      // exited meanwhile
    }
  }
  return n;
}

/**
 * In a worker process: its helper threads at nice 19 now and every HELPER_RESCAN_MS for new ones
 * (an unref'd timer). Returns the stop function, or undefined where it does not apply (not Linux,
 * or the variable says off).
 */
export function keepHelperThreadsLow(env: NodeJS.ProcessEnv = process.env): (() => void) | undefined {
  if (process.platform !== 'linux' || env[HELPER_NICE_ENV] === 'off') return undefined;
  const seen = new Set<number>();
  lowerHelperThreads(seen);
  const timer = setInterval(() => lowerHelperThreads(seen), HELPER_RESCAN_MS);
  timer.unref();
  return () => clearInterval(timer);
}
