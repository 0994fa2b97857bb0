/**
 * Processes seen through /proc: parents and descendants, CPU time, memory, liveness. Used by
 * the helpers that start servers (to stop every process they started) and by benchmarks.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Direct children of `pid` (from /proc). */
export function listChildren(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry));
    if (stat && stat.ppid === pid) out.push(Number(entry));
  }
  return out;
}

/** The command line a process was started (or last executed) with. */
export function cmdlineOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
}

/** Every descendant of `pid` (children, their children, …), not `pid` itself. */
export function listDescendants(pid: number): number[] {
  const byParent = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcStat(Number(entry));
    if (!stat) continue;
    const list = byParent.get(stat.ppid) ?? [];
    list.push(Number(entry));
    byParent.set(stat.ppid, list);
  }
  const out: number[] = [];
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop()!;
    for (const c of byParent.get(p) ?? []) {
      out.push(c);
      todo.push(c);
    }
  }
  return out;
}

/** Fields of /proc/PID/stat that we use. */
export interface ProcStat {
  ppid: number;
  /** Clock ticks in user and kernel mode, all threads of the process. */
  utime: number;
  stime: number;
  /** Ticks of waited-for (exited) children. */
  cutime: number;
  cstime: number;
}

/** Parses /proc/PID/stat, or undefined when the process is gone. */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): field N is rest[N - 3].
  return {
    ppid: Number(rest[1]),
    utime: Number(rest[11]),
    stime: Number(rest[12]),
    cutime: Number(rest[13]),
    cstime: Number(rest[14]),
  };
}

let ticksPerSecond: number | undefined;

/** The kernel's USER_HZ (clock ticks per second), from `getconf CLK_TCK`; 100 if unknown. */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number(r.stdout?.trim());
    ticksPerSecond = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return ticksPerSecond;
}

/**
 * CPU seconds (user + system, all threads) used so far by `pid` and its live descendants,
 * plus what exited children reported to their parents.
 */
export function treeCpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of [pid, ...listDescendants(pid)]) {
    const s = readProcStat(p);
    if (s) ticks += s.utime + s.stime + s.cutime + s.cstime;
  }
  return ticks / clockTicksPerSecond();
}

/** A field (in kB, as bytes) of /proc/PID/status such as VmHWM or VmRSS; 0 when absent. */
export function procStatusBytes(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** True while `pid` exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = text.slice(text.lastIndexOf(')') + 2, text.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
