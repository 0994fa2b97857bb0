/**
 * What a test or benchmark starts must not outlive it, however it ends: a normal exit, an
 * uncaught error, or SIGINT / SIGTERM / SIGHUP (Ctrl-C, `kill`, a closed terminal, a CI
 * timeout). Every helper that starts something (peers.ts, platform.ts, acme.ts, pdns.ts,
 * postgres.ts) registers a synchronous cleanup here when it starts it and drops it when it was
 * stopped the ordinary way. The cleanups run once: on `exit`, or on one of those signals, after
 * which the process ends as the signal would have ended it (unless another part of the program
 * handles that signal itself, as scripts/run-tests.mjs does).
 *
 * Signal handlers are installed only when the first cleanup is registered, so importing a helper
 * changes nothing for a process that starts nothing.
 * @module
 */
import type { ChildProcess } from 'node:child_process';
import { listDescendants } from './procs.js';

/** Something to undo at once; it must not wait (it may run from a signal or `exit`). */
export type Cleanup = () => void;

const cleanups = new Set<Cleanup>();
const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let installed = false;

/** Registers `fn` to run when the process ends; returns a function that unregisters it. */
export function atCleanup(fn: Cleanup): () => void {
  install();
  cleanups.add(fn);
  return () => {
    cleanups.delete(fn);
  };
}

/** Runs every registered cleanup now (each once, in registration order); errors are ignored. */
export function runCleanups(): void {
  const list = [...cleanups];
  cleanups.clear();
  for (const fn of list) {
    try {
      fn();
    } catch {
      // best effort: one failing cleanup must not keep the others from running
    }
  }
}

/** SIGKILL, ignoring a process that is already gone. */
export function killQuietly(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Kills `child` (or the process `pid`) and every descendant of it with SIGKILL when the process
 * ends, plus any PIDs `more()` returns (descendants seen earlier that may have been re-parented
 * since, such as cluster workers). Returns the unregister function: call it once the child was
 * stopped the ordinary way.
 */
export function killAtCleanup(child: ChildProcess | number, more?: () => Iterable<number>): () => void {
  return atCleanup(() => {
    const extra = more ? [...more()] : [];
    // A child that already exited is not killed by PID again: the PID may be someone else's now.
    const gone = typeof child !== 'number' && (child.exitCode !== null || child.signalCode !== null);
    const pid = typeof child === 'number' ? child : child.pid;
    if (pid === undefined || gone) {
      for (const p of extra) killQuietly(p, 'SIGKILL');
      return;
    }
    // The tree first: once the parent is gone its children are re-parented and lost to us.
    const tree = [pid, ...listDescendants(pid), ...extra];
    for (const p of tree) killQuietly(p, 'SIGKILL');
  });
}

function onSignal(signal: NodeJS.Signals): void {
  runCleanups();
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  installed = false;
  // End as the signal would have ended us (exit status 128 + n for the parent's shell), unless
  // someone else in this process handles it and so decides.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const s of SIGNALS) process.on(s, onSignal);
}

// On an ordinary exit (or process.exit after an error) as well: `exit` handlers run synchronously.
process.on('exit', runCleanups);
