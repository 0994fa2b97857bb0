/**
 * The target's CPU time and resident memory, when it is a local process: the process given by
 * --target-pid and all its descendants (workers, compile threads are threads of them), read
 * from /proc.
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS = 100; // USER_HZ on Linux

interface Stat {
  ppid: number;
  cpuTicks: number;
}

function readStat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(rest[1]), cpuTicks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return undefined;
  }
}

function pssBytes(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** `pid` and its descendants. */
export function processTree(pid: number): number[] {
  const byParent = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const s = readStat(Number(e));
    if (!s) continue;
    const list = byParent.get(s.ppid) ?? [];
    list.push(Number(e));
    byParent.set(s.ppid, list);
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) for (const c of byParent.get(out[i]) ?? []) out.push(c);
  return out;
}

/** One reading of the target. */
export interface TargetSample {
  /** CPU seconds used so far by the tree (user + system). */
  readonly cpuSeconds: number;
  /** Summed RSS of the tree (shared pages counted once per process: an upper bound). */
  readonly rssBytes: number;
  /** Summed PSS of the tree (shared pages split between the processes sharing them; 0 when unreadable). */
  readonly pssBytes: number;
  readonly processes: number;
  readonly alive: boolean;
}

/** Reads the target tree now. */
export function sampleTarget(pid: number): TargetSample {
  const root = readStat(pid);
  if (!root) return { cpuSeconds: 0, rssBytes: 0, pssBytes: 0, processes: 0, alive: false };
  let ticks = 0;
  let rss = 0;
  let pss = 0;
  const tree = processTree(pid);
  for (const p of tree) {
    const s = readStat(p);
    if (!s) continue;
    ticks += s.cpuTicks;
    rss += rssBytes(p);
    pss += pssBytes(p);
  }
  return { cpuSeconds: ticks / TICKS, rssBytes: rss, pssBytes: pss, processes: tree.length, alive: true };
}

/** CPU seconds used so far by `pid` and its descendants (cheap: /proc/PID/stat only). */
export function treeCpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) ticks += readStat(p)?.cpuTicks ?? 0;
  return ticks / TICKS;
}

/** CPU seconds used so far by the processes `pids` (a tree read once with processTree: no /proc scan). */
export function cpuSecondsOf(pids: readonly number[]): number {
  let ticks = 0;
  for (const p of pids) ticks += readStat(p)?.cpuTicks ?? 0;
  return ticks / TICKS;
}

/** True while the process exists (and is not a zombie). */
export function isAlive(pid: number): boolean {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2, text.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The CPUs a process may run on (`Cpus_allowed_list` of /proc/PID/status), e.g. "0-1" or "1". */
export function cpusAllowed(pid: number): string {
  try {
    const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? m[1] : '?';
  } catch {
    return '?';
  }
}

/** The CPU numbers of a list like "0-2,5". */
export function cpuSet(list: string): Set<number> {
  const out = new Set<number>();
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (!Number.isInteger(a)) continue;
    for (let c = a; c <= (Number.isInteger(b) ? b : a); c++) out.add(c);
  }
  return out;
}

/** Busy time (user + nice + system + irq + softirq + steal, seconds) of each CPU since boot, from /proc/stat. */
export function cpuBusySeconds(): number[] {
  const out: number[] = [];
  try {
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      const m = /^cpu(\d+)\s+(.*)$/.exec(line);
      if (!m) continue;
      const f = (m[2] ?? '').split(/\s+/).map(Number);
      out[Number(m[1])] = (f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0)) / TICKS;
    }
  } catch {
    // not Linux
  }
  return out;
}
