/**
 * V8 flags for a big zone file's cold load only (issue 7, docs/PERFORMANCE.md "big22"). The
 * load's parse, column build and compile run once, on threads of the serve primary, and ~0.7 s
 * of the start's CPU is V8's own optimizing compiler on its helper threads (big21): TurboFan
 * inlines the image encoder into each of the compile's paths again. With the primary's flags
 * changed while the load runs (`v8.setFlagsFromString`: V8's flags are the process's, read by
 * each optimizing job as it is made, so the compile and parse threads started meanwhile see them)
 * and put back once it is done, that work is cut for the load alone: the DNS workers are other
 * processes, forked with the command line's flags (`process.execArgv`, which this leaves as it
 * is), so the code that answers queries keeps full TurboFan; and code the primary optimizes
 * after the load is optimized as before.
 *
 * `SWITCHBOARD_LOAD_V8_FLAGS`: the flags, separated by spaces or `+` (unset: `--no-turbo-inlining`;
 * empty or `off`: none). Only boolean flags (`--name` / `--no-name`) are taken, so that each is
 * put back by its opposite; a flag the command line names is left to the command line.
 * @module
 */
import { setFlagsFromString } from 'node:v8';

/** The environment variable holding the load's flags. */
export const LOAD_V8_FLAGS_ENV = 'SWITCHBOARD_LOAD_V8_FLAGS';
/** The load's flags when the variable is unset. */
export const DEFAULT_LOAD_V8_FLAGS = '--no-turbo-inlining';

/** A flag's name with `_` as `-` and without `--` / `--no-`. */
function flagName(flag: string): string {
  return flag.replace(/^--(no-)?/, '').replace(/_/g, '-');
}

/** The opposite of a boolean flag: `--no-x` → `--x`, `--x` → `--no-x`. */
export function oppositeFlag(flag: string): string {
  return flag.startsWith('--no-') ? `--${flag.slice(5)}` : `--no-${flag.slice(2)}`;
}

/**
 * The flags to set for the load: from `spec` (the variable's value), the boolean ones not named
 * on the command line (`execArgv`).
 */
export function loadFlags(spec: string | undefined, execArgv: readonly string[]): string[] {
  const text = spec ?? DEFAULT_LOAD_V8_FLAGS;
  if (text.trim() === 'off') return [];
  const named = new Set(execArgv.filter((a) => a.startsWith('--')).map((a) => flagName(a.split('=')[0])));
  return text.split(/[\s+]+/).filter((f) => /^--[a-z][a-z0-9_-]*$/i.test(f) && !named.has(flagName(f)));
}

let applied: string[] = [];

/** Sets the load's flags in this process (once until `restoreLoadFlags`); the flags set. */
export function applyLoadFlags(env: NodeJS.ProcessEnv = process.env): readonly string[] {
  if (applied.length > 0) return applied;
  const flags = loadFlags(env[LOAD_V8_FLAGS_ENV], process.execArgv);
  for (const f of flags) setFlagsFromString(f);
  applied = flags;
  return flags;
}

/** Puts back what `applyLoadFlags` set (nothing when it set nothing). */
export function restoreLoadFlags(): void {
  for (const f of applied) setFlagsFromString(oppositeFlag(f));
  applied = [];
}
