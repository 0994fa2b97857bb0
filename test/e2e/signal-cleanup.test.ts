/**
 * Benchmarks and test helpers stop what they started when they are stopped by a signal
 * (test/helpers/cleanup.ts): SIGTERM or SIGINT to a script driven by the helpers, or to
 * `bench/control-plane.js` while it loads zones, leaves no `switchboard start`, DNS worker,
 * `switchboard serve` or PostgreSQL cluster behind, and no temp folder of theirs. The scripts end
 * as the signal ends a process (killed by that signal), so a caller sees why they stopped.
 *
 * Waits below are bounded polls for something that must happen (a process gone), not timed
 * assertions: the deadline only keeps a broken cleanup from hanging the run.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { isAlive, listDescendants } from '../helpers/procs.js';

const HOLD = resolve('dist/test/helpers/hold-children.js');
const BENCH = resolve('dist/bench/control-plane.js');

interface Started {
  child: ChildProcess;
  out(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(argv: string[]): Started {
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString('utf8');
  });
  child.stderr!.on('data', (d: Buffer) => {
    out = (out + d.toString('utf8')).slice(-20_000);
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once('exit', (code, signal) => res({ code, signal })),
  );
  return { child, out: () => out, exit };
}

/** Resolves once `cond` holds; rejects with `what` after `ms`, or when the script exited. */
async function until(s: Started, cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  let exited = false;
  void s.exit.then(() => {
    exited = true;
  });
  while (!cond()) {
    if (exited) throw new Error(`the script exited before ${what}\n${s.out()}`);
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms\n${s.out()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits (bounded) until none of `pids` is alive; resolves with those still alive. */
async function survivors(pids: number[], ms = 10_000): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const alive = pids.filter(isAlive);
    if (alive.length === 0 || Date.now() > deadline) return alive;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** PIDs of PostgreSQL server processes listening on `port` (found by their command line). */
function postgresOnPort(port: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmd: string[];
    try {
      cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const p = cmd.indexOf('-p');
    if (/postgres$/.test(cmd[0] ?? '') && p >= 0 && cmd[p + 1] === String(port)) out.push(Number(entry));
  }
  return out;
}

function describeProcs(pids: number[]): string {
  return pids
    .map((p) => {
      try {
        return `${p}: ${readFileSync(`/proc/${p}/cmdline`, 'utf8').replaceAll('\0', ' ')}`;
      } catch {
        return `${p}: (gone)`;
      }
    })
    .join('\n');
}

describe('signals stop what the helpers started', { timeout: 240_000 }, () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} to a helper-driven script: no server, worker or cluster remains`, async () => {
      assert.ok(existsSync(HOLD), `${HOLD} is not built (npm run build)`);
      const s = run([HOLD, '--max-seconds', '180']);
      await until(s, () => s.out().includes('"ready":true'), 120_000, 'ready line');
      const info = JSON.parse(
        s
          .out()
          .split('\n')
          .find((l) => l.includes('"ready":true'))!,
      ) as {
        pids: number[];
        dirs: string[];
        pgPort?: number;
      };
      const pids = [...info.pids, ...listDescendants(s.child.pid!)];
      const pg = info.pgPort ? postgresOnPort(info.pgPort) : [];
      if (info.pgPort) assert.ok(pg.length > 0, `no PostgreSQL found on port ${info.pgPort}`);
      // The platform's primary and 2 workers, the serve peer and its worker at least.
      assert.ok(pids.length >= 5, `expected at least 5 processes, got ${pids.length}`);
      assert.deepEqual(
        pids.filter((p) => !isAlive(p)),
        [],
        'every started process runs',
      );

      s.child.kill(signal);
      const end = await s.exit;
      assert.equal(end.signal, signal, `the script ends as ${signal} ends a process\n${s.out()}`);
      const left = await survivors([...pids, ...pg]);
      assert.deepEqual(left, [], `processes left behind:\n${describeProcs(left)}`);
      for (const d of info.dirs) assert.ok(!existsSync(d), `temp folder left behind: ${d}`);
    });
  }

  test('SIGTERM to bench/control-plane.js while it loads: its switchboard start is gone', async () => {
    assert.ok(existsSync(BENCH), `${BENCH} is not built (npm run build)`);
    const s = run([
      BENCH,
      '--stores',
      'sqlite',
      '--zones',
      '100000',
      '--load-clients',
      '2',
      '--workers',
      '2',
      '--no-doc',
    ]);
    // Once the platform serves, the bench starts loading zones (which would take long): stop it then.
    await until(s, () => /control-plane\[sqlite\]: started/.test(s.out()), 120_000, 'started line');
    const pids = listDescendants(s.child.pid!);
    assert.ok(pids.length >= 3, `expected switchboard start and 2 workers, got:\n${describeProcs(pids)}`);

    s.child.kill('SIGTERM');
    const end = await s.exit;
    assert.equal(end.signal, 'SIGTERM', `the bench ends as SIGTERM ends a process\n${s.out()}`);
    const left = await survivors(pids);
    assert.deepEqual(left, [], `processes left behind:\n${describeProcs(left)}`);
  });
});
