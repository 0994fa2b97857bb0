/**
 * `switchboard serve` and `start` run with glibc's malloc asking for transparent huge pages
 * (`GLIBC_TUNABLES=glibc.malloc.hugetlb=1`, glibc 2.35+): a 1,000,000-record zone's column
 * build (typed arrays of tens of MiB, allocated by malloc) runs ~0.2 s faster with fewer page
 * faults (docs/PERFORMANCE.md "boot1m"). glibc reads the tunable only when a process starts,
 * so when it is not set the CLI re-executes itself once, in place (execve: the same PID, the
 * same descriptors), with it set — before any other module is loaded (main.ts imports this
 * first). The re-executed process puts the environment back as it was, so the processes it
 * starts (the DNS workers, peers in tests) do not inherit the tunable.
 *
 * Not done (the process goes on as it is) when: not Linux, not glibc 2.35 or later, transparent
 * huge pages are `never`, GLIBC_TUNABLES already names the tunable, SWITCHBOARD_HUGETLB=off,
 * the process has an IPC channel (forked by a parent that talks to it) or is a cluster worker,
 * the small exec addon (native/exec.c) is not built, or the exec fails.
 *
 * The same exec also sets `glibc.malloc.arena_max=1` (unless SWITCHBOARD_ARENA_MAX=default, or
 * GLIBC_TUNABLES names it already): every thread of the primary allocates from the main arena,
 * which the hugetlb tunable advises for huge pages as it grows. Without it each thread (the
 * compile thread, the parse thread) gets an arena of its own, a heap trimmed back as blocks are
 * freed, whose pages were measured as 4 KiB faults (the advice did not give it huge pages), so
 * the load's and the compile's middle-sized buffers (below glibc's mmap threshold, which rises
 * as big blocks are freed) were fresh 4 KiB pages at ~12 µs each on this VM: ~20,000 fewer
 * faults in the primary during a 1,000,000-record cold start, ~0.4 CPU s, +8–24 MiB of peak
 * PSS (docs/PERFORMANCE.md "load23").
 *
 * The same exec puts V8's `--no-memory-reducer` on the command line (also when the tunable is
 * not wanted; also for `edge`, which serves DNS like `serve` but compiles no big zone at start,
 * so it gets the flag without the tunable). V8's memory reducer runs full collections of its own ~8 s after the allocation
 * rate falls — after a start: in the drill the primary's and each DNS worker's came mid-wave,
 * tens of ms each at full speed and four times that under a quarter-core quota (docs/
 * PERFORMANCE.md "onset19"). The start's garbage is collected explicitly already
 * (src/server/shared/gc.ts), so the reducer only repeats that work at a bad time. A flag of the
 * command line, not the environment: cluster workers inherit it through `process.execArgv`,
 * the other tools a server starts (NSD, dig) see nothing. SWITCHBOARD_MEMORY_REDUCER=on keeps
 * V8's default (an A/B).
 * @module
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The tunable set. */
export const HUGETLB_TUNABLE = 'glibc.malloc.hugetlb=1';
/** Holds GLIBC_TUNABLES as it was before the re-exec ('unset' or '=VALUE'), for the restore. */
const WAS_ENV = 'SWITCHBOARD_GLIBC_TUNABLES_WAS';

interface ExecAddon {
  execve(path: string, argv: string[], env: string[]): never;
  glibc: string;
}

/** Whether glibc `version` ("2.36") has the hugetlb tunable (2.35 and later). */
export function glibcHasHugetlb(version: string): boolean {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const major = Number(m[1]);
  return major > 2 || (major === 2 && Number(m[2]) >= 35);
}

/** The one-arena tunable the re-exec adds beside the hugetlb one (see the module comment). */
export const ARENA_TUNABLE = 'glibc.malloc.arena_max=1';

/**
 * GLIBC_TUNABLES with the hugetlb tunable added (`current` unset or holding others), and the
 * one-arena tunable unless `env` opts out (SWITCHBOARD_ARENA_MAX=default) or `current` names
 * arena_max already.
 */
export function withHugetlb(current: string | undefined, env: NodeJS.ProcessEnv = {}): string {
  const arena =
    env.SWITCHBOARD_ARENA_MAX !== 'default' && current?.includes('glibc.malloc.arena_max') !== true;
  const add = arena ? `${HUGETLB_TUNABLE}:${ARENA_TUNABLE}` : HUGETLB_TUNABLE;
  return current === undefined || current === '' ? add : `${current}:${add}`;
}

/**
 * Whether this process should re-execute itself with the tunable: the checks that need no
 * addon (the command, the environment, the platform).
 */
export function wantsHugetlbReexec(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  platform: string,
): boolean {
  if (platform !== 'linux') return false;
  if (argv[2] !== 'serve' && argv[2] !== 'start') return false;
  if (env.SWITCHBOARD_HUGETLB === 'off') return false;
  if (env.GLIBC_TUNABLES?.includes('glibc.malloc.hugetlb') === true) return false;
  if (env[WAS_ENV] !== undefined) return false; // re-executed already (a glibc that dropped it)
  if (env.NODE_CHANNEL_FD !== undefined || env.NODE_UNIQUE_ID !== undefined) return false;
  return true;
}

/** The V8 flag that turns the memory reducer off. */
export const NO_MEMORY_REDUCER = '--no-memory-reducer';

/**
 * Whether this process should re-execute itself with `--no-memory-reducer` (see the module
 * comment): `serve`, `start` or `edge` (an edge answers the same floods), not a forked or cluster child, the flag (either way) not given.
 */
export function wantsNoMemoryReducer(
  argv: readonly string[],
  execArgv: readonly string[],
  env: NodeJS.ProcessEnv,
  platform: string,
): boolean {
  if (platform !== 'linux') return false;
  if (argv[2] !== 'serve' && argv[2] !== 'start' && argv[2] !== 'edge') return false;
  if (env.SWITCHBOARD_MEMORY_REDUCER === 'on') return false;
  if (env.NODE_CHANNEL_FD !== undefined || env.NODE_UNIQUE_ID !== undefined) return false;
  return !execArgv.some((a) => /^--(no-)?memory[-_]reducer(=|$)/.test(a));
}

/** Transparent huge pages can be had here (`always` or `madvise`; unknown: assumed not). */
export function thpAvailable(): boolean {
  try {
    return !readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'latin1').includes('[never]');
  } catch {
    return false;
  }
}

/** Re-executes this process with the tunable and the V8 flag when it should (see the module comment); else returns. */
function reexec(): void {
  const env = process.env;
  const flag = wantsNoMemoryReducer(process.argv, process.execArgv, env, process.platform);
  const tunable = wantsHugetlbReexec(process.argv, env, process.platform) && thpAvailable();
  if (!flag && !tunable) return;
  let addon: ExecAddon;
  try {
    addon = createRequire(import.meta.url)(
      '../../../native/build/Release/switchboard_exec.node',
    ) as ExecAddon;
  } catch {
    return;
  }
  if (typeof addon.execve !== 'function') return;
  const withTunable = tunable && glibcHasHugetlb(String(addon.glibc));
  if (!flag && !withTunable) return;
  const strings: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || (withTunable && k === 'GLIBC_TUNABLES')) continue;
    strings.push(`${k}=${v}`);
  }
  if (withTunable) {
    strings.push(`GLIBC_TUNABLES=${withHugetlb(env.GLIBC_TUNABLES, env)}`);
    strings.push(`${WAS_ENV}=${env.GLIBC_TUNABLES === undefined ? 'unset' : `=${env.GLIBC_TUNABLES}`}`);
  }
  const nodeArgs = flag ? [...process.execArgv, NO_MEMORY_REDUCER] : process.execArgv;
  try {
    addon.execve(process.execPath, [process.argv0, ...nodeArgs, ...process.argv.slice(1)], strings);
  } catch {
    // The exec failed: this process goes on as it is.
  }
}

/** After the re-exec: the environment as it was, for the processes this one starts. */
function restoreEnv(): void {
  const was = process.env[WAS_ENV];
  if (was === undefined) return;
  delete process.env[WAS_ENV];
  if (was === 'unset') delete process.env.GLIBC_TUNABLES;
  else if (was.startsWith('=')) process.env.GLIBC_TUNABLES = was.slice(1);
}

reexec();
restoreEnv();
