import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { computeRestartDelay, DEFAULT_BACKOFF, WorkerPool } from './cluster.js';

describe('computeRestartDelay', () => {
  test('doubles from the initial delay up to the cap', () => {
    const b = { initialMs: 100, maxMs: 1000, stableMs: 5000 };
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 50].map((n) => computeRestartDelay(n, b)),
      [100, 200, 400, 800, 1000, 1000, 1000],
    );
    assert.equal(computeRestartDelay(0, b), 100);
    assert.equal(computeRestartDelay(1000), DEFAULT_BACKOFF.maxMs);
  });
});

describe('WorkerPool', () => {
  test('forks workers, restarts one that dies, and stops them all', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-pool-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const script = join(dir, 'worker.mjs');
    // A worker that says hello with its slot and exits when asked.
    writeFileSync(
      script,
      [
        'process.send({ hello: process.env.SWITCHBOARD_WORKER_SLOT, pid: process.pid, x: process.env.X });',
        "process.on('message', (m) => { if (m && m.type === 'switchboard:shutdown') process.exit(0); });",
        'setInterval(() => {}, 1000);',
      ].join('\n'),
    );
    const hellos: { slot: number; pid: number; x: string }[] = [];
    const exits: (number | null)[] = [];
    let onHello: () => void = () => {};
    const pool = new WorkerPool({
      count: 2,
      exec: script,
      env: { X: 'y' },
      backoff: { initialMs: 10, maxMs: 100, stableMs: 60_000 },
      onMessage: (slot, msg) => {
        const m = msg as { hello: string; pid: number; x: string };
        assert.equal(m.hello, String(slot));
        hellos.push({ slot, pid: m.pid, x: m.x });
        onHello();
      },
      onExit: (_slot, _code, _signal, restartIn) => exits.push(restartIn),
    });
    t.after(() => pool.stop(1000));
    const waitHellos = (n: number) =>
      new Promise<void>((resolve) => {
        onHello = () => hellos.length >= n && resolve();
        onHello();
      });
    pool.start();
    await waitHellos(2);
    assert.deepEqual(hellos.map((h) => h.slot).sort(), [0, 1]);
    assert.ok(hellos.every((h) => h.x === 'y'));
    assert.equal(pool.liveSlots().length, 2);

    // Kill slot 0's worker: it is restarted (after the backoff) in the same slot.
    const victim = hellos.find((h) => h.slot === 0)!.pid;
    process.kill(victim, 'SIGKILL');
    await waitHellos(3);
    assert.equal(hellos[2].slot, 0);
    assert.notEqual(hellos[2].pid, victim);
    assert.deepEqual(exits, [10]);

    const pids = pool.pids();
    await pool.stop(2000);
    assert.deepEqual(pool.liveSlots(), []);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0));
    assert.deepEqual(exits.slice(1), [null, null]);
  });
  test('start(first) forks the first slots only; startRest forks the others once', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-pool-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const script = join(dir, 'worker.mjs');
    writeFileSync(
      script,
      [
        'process.send({ hello: process.env.SWITCHBOARD_WORKER_SLOT });',
        "process.on('message', (m) => { if (m && m.type === 'switchboard:shutdown') process.exit(0); });",
        'setInterval(() => {}, 1000);',
      ].join('\n'),
    );
    const hellos: number[] = [];
    let onHello: () => void = () => {};
    const pool = new WorkerPool({
      count: 3,
      exec: script,
      onMessage: (slot) => {
        hellos.push(slot);
        onHello();
      },
    });
    t.after(() => pool.stop(1000));
    const waitHellos = (n: number) =>
      new Promise<void>((resolve) => {
        onHello = () => hellos.length >= n && resolve();
        onHello();
      });
    pool.start(1);
    await waitHellos(1);
    assert.deepEqual(hellos, [0]);
    assert.deepEqual(pool.liveSlots(), [0]);
    assert.equal(pool.size, 3);
    assert.equal(pool.startRest(), true);
    await waitHellos(3);
    assert.deepEqual([...hellos].sort(), [0, 1, 2]);
    assert.deepEqual(pool.liveSlots(), [0, 1, 2]);
    assert.equal(pool.startRest(), false);
  });
});
