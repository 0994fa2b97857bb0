/**
 * The start-up trace (`SWITCHBOARD_TRACE_START=1`, docs/PERFORMANCE.md): one line on stderr per
 * stage of a cold start, in every process and thread that takes part (the primary, its compile
 * threads, the parse thread, the DNS workers), so one start's timeline can be put together from
 * the lines (bench/start-trace.ts does):
 *
 *     sb-trace WALL_MS PID THREAD WHO STAGE thread-cpu=MS process-cpu=MS
 *
 * WALL_MS is the wall clock (milliseconds since the epoch, the same clock in every process),
 * thread-cpu the calling thread's own CPU time (user + system, /proc/thread-self/stat: 10 ms
 * ticks) and process-cpu the process's. Off (the default) a stage costs one boolean test.
 * Written with one synchronous write to file descriptor 2, from worker threads too (their
 * `process.stderr` goes through the main thread's event loop, which may be busy).
 * @module
 */
import { readFileSync, writeSync } from 'node:fs';
import { threadId } from 'node:worker_threads';

/** The environment variable that turns the trace on ("1"). */
export const START_TRACE_ENV = 'SWITCHBOARD_TRACE_START';

/** The trace is on for this process (and the threads and processes it starts). */
export const startTraceOn = process.env[START_TRACE_ENV] === '1';

/** The calling thread's CPU time in ms (utime + stime of /proc/thread-self/stat), -1 if unreadable. */
export function threadCpuMs(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'latin1');
    // Fields after the command (which may hold spaces): state is field 3; utime 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return -1;
  }
}

function line(wall: number, who: string, stage: string, threadCpu: number): void {
  const u = process.cpuUsage();
  const text = `sb-trace ${wall.toFixed(1)} ${process.pid} ${threadId} ${who} ${stage.replaceAll(' ', '_')} thread-cpu=${threadCpu} process-cpu=${Math.round((u.user + u.system) / 1000)}\n`;
  try {
    writeSync(2, text);
  } catch {
    // a closed stderr: no trace
  }
}

/** Marks a stage of the start of `who` (a process or thread's role: primary, compile, parse, worker). */
export function traceStart(who: string, stage: string): void {
  if (startTraceOn) line(performance.timeOrigin + performance.now(), who, stage, threadCpuMs());
}

/**
 * Marks when this process (or thread) began: the wall time of its time origin, before any of
 * its code ran (the CPU figures are those of now).
 */
export function traceOrigin(who: string): void {
  if (startTraceOn) line(performance.timeOrigin, who, 'began', threadCpuMs());
}
