/**
 * A cgroup CPU quota for a server's process tree, and CPU pinning (taskset): how
 * `npm run bench:drill -- --server-cpu-share F` and the short shield drill in `npm test`
 * (test/drill/shield-dry-run.test.ts) hold a server to a share of one core, so that a drill on
 * the other core of a 2-core machine can send it a multiple of its capacity.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { listDescendants } from './procs.js';

const V2_ROOT = '/sys/fs/cgroup';
const V1_ROOT = '/sys/fs/cgroup/cpu';

function hasV2Cpu(): boolean {
  return (
    existsSync(join(V2_ROOT, 'cgroup.controllers')) &&
    readFileSync(join(V2_ROOT, 'cgroup.controllers'), 'utf8').includes('cpu')
  );
}

/**
 * Why a CPU quota and pinning to two separate CPUs cannot be had here (false: they can): root,
 * a writable cgroup CPU controller (v2 `cpu.max` or v1 `cpu.cfs_quota_us`; probed by making a
 * quota), taskset and >= 2 CPUs.
 */
export function cpuQuotaMissing(): false | string {
  if (process.getuid?.() !== 0) return 'a cgroup CPU quota needs root';
  if (availableParallelism() < 2) return 'fewer than 2 CPUs: the server and the drill cannot be pinned apart';
  const r = spawnSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
  if (r.error || r.status !== 0) return 'taskset (util-linux) is not installed or fails';
  try {
    new CpuQuota(0.5, `switchboard-probe-${process.pid}`).remove();
  } catch (err) {
    return `cannot make a cgroup CPU quota: ${err instanceof Error ? err.message : String(err)}`;
  }
  return false;
}

/** Pins every thread of a process tree to `cpu` (Knot pins its own threads at start: re-pin after). */
export function pinTree(pid: number, cpu: number): void {
  for (const p of [pid, ...listDescendants(pid)])
    spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(p)], { stdio: 'ignore' });
}

/** cgroup v2's highest `cpu.weight` and v1's highest `cpu.shares` (the kernel's bounds). */
const CPU_WEIGHT_MAX = 10_000;
const CPU_SHARES_MAX = 262_144;

/**
 * A cgroup of its own with a CPU quota of `share` of one CPU (cgroup v2 `cpu.max`, or v1
 * `cpu.cfs_quota_us`). On a 2-core machine the drill has one CPU to send from, and on loopback
 * the sender pays for delivering each datagram: against a server that answers in ~3 µs it
 * cannot send 3x the server's capacity, but it can send 3x the capacity of a server held to a
 * share of its CPU — the same overload ratio, the kernel's queue in front of it unchanged.
 * The cgroup also gets the highest CPU weight: up to its quota it runs before anything else on
 * its CPU, so the server's figures are its own, not its neighbours' load.
 */
export class CpuQuota {
  readonly dir: string;
  readonly #v2: boolean;

  constructor(share: number, name = `switchboard-drill-${process.pid}`) {
    if (!(share > 0 && share <= 1)) throw new Error(`CPU share ${share}: must be in (0, 1]`);
    // A short period (10 ms): the server runs in slices of F × 10 ms, so the throttling itself adds
    // at most ~10 ms to an answer (a 100 ms period would add up to 100 ms to the p99).
    const period = 10_000;
    const quota = Math.max(1000, Math.round(share * period));
    if (hasV2Cpu()) {
      this.#v2 = true;
      writeFileSync(join(V2_ROOT, 'cgroup.subtree_control'), '+cpu');
      this.dir = join(V2_ROOT, name);
      mkdirSync(this.dir);
      writeFileSync(join(this.dir, 'cpu.max'), `${quota} ${period}`);
      // Its share first whenever it wants it (up to the quota): the highest weight, so that other
      // processes on the server's CPU (a shared machine: builds, tests) do not take the server's
      // slice and turn their load into the server's latency (session 21: a helper's build beside
      // a drill gave one run's wave 1 a p99 of 2.6 s).
      writeFileSync(join(this.dir, 'cpu.weight'), String(CPU_WEIGHT_MAX));
    } else if (existsSync(join(V1_ROOT, 'cpu.cfs_quota_us'))) {
      this.#v2 = false;
      this.dir = join(V1_ROOT, name);
      mkdirSync(this.dir);
      writeFileSync(join(this.dir, 'cpu.cfs_period_us'), String(period));
      writeFileSync(join(this.dir, 'cpu.cfs_quota_us'), String(quota));
      writeFileSync(join(this.dir, 'cpu.shares'), String(CPU_SHARES_MAX));
    } else throw new Error('no cgroup CPU controller found (cgroup v2 cpu.max or v1 cpu.cfs_quota_us)');
  }

  /** Moves every process of the tree under `pid` into the quota (their later children follow). */
  add(pid: number): void {
    for (const p of [pid, ...listDescendants(pid)]) {
      try {
        writeFileSync(join(this.dir, 'cgroup.procs'), String(p));
      } catch {
        // gone already
      }
    }
  }

  /** Removes the cgroup (its processes have exited by then). */
  remove(): void {
    try {
      rmdirSync(this.dir);
    } catch (err) {
      process.stderr.write(
        `cpu quota: cannot remove ${this.dir} (${this.#v2 ? 'v2' : 'v1'}): ${String(err)}\n`,
      );
    }
  }
}

/**
 * A cgroup of its own for the drill's process with the highest CPU weight and no quota (late25):
 * on a shared machine a build or a test suite on the drill's CPU took the resolvers' CPU for
 * 100-700 ms at a time (cgroup v1 with autogroups: nice -5 counts only within the drill's own
 * session), and every answer that arrived meanwhile was read late — the drill's lateness counted
 * as the server's p99. In this cgroup the drill runs before anything else on its CPU; the processes
 * it forks later (the senders) follow it, and the server is moved into its quota as before.
 */
export class CpuWeight {
  readonly dir: string;
  readonly #root: string;

  constructor(name = `switchboard-drill-self-${process.pid}`) {
    if (hasV2Cpu()) {
      writeFileSync(join(V2_ROOT, 'cgroup.subtree_control'), '+cpu');
      this.#root = V2_ROOT;
      this.dir = join(V2_ROOT, name);
      mkdirSync(this.dir);
      writeFileSync(join(this.dir, 'cpu.weight'), String(CPU_WEIGHT_MAX));
    } else if (existsSync(join(V1_ROOT, 'cpu.shares'))) {
      this.#root = V1_ROOT;
      this.dir = join(V1_ROOT, name);
      mkdirSync(this.dir);
      writeFileSync(join(this.dir, 'cpu.shares'), String(CPU_SHARES_MAX));
    } else throw new Error('no cgroup CPU controller found (cgroup v2 cpu.weight or v1 cpu.shares)');
  }

  /** Moves one process (all its threads) into the cgroup; its later children follow. */
  add(pid: number): void {
    writeFileSync(join(this.dir, 'cgroup.procs'), String(pid));
  }

  /** Moves `pids` back to the root cgroup and removes this one (what is left in it: an error logged). */
  remove(pids: readonly number[]): void {
    for (const p of pids) {
      try {
        writeFileSync(join(this.#root, 'cgroup.procs'), String(p));
      } catch {
        // gone already
      }
    }
    try {
      rmdirSync(this.dir);
    } catch (err) {
      process.stderr.write(`cpu weight: cannot remove ${this.dir}: ${String(err)}\n`);
    }
  }
}
