/**
 * The worker's own trace (worker-trace.ts): nothing without SWITCHBOARD_WORKER_TRACE; with it, a
 * line every 100 ms summing the sockets' counters, and the collections that ended.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NativeUdpStats } from '../../transport/native-udp.js';
import type { TcpStats } from '../../transport/tcp.js';
import { startWorkerTrace, WORKER_TRACE_ENV, type WorkerTraceLine } from './worker-trace.js';

const udp = {
  received: 10,
  dropped: 1,
  answeredC: 7,
  answeredJs: 2,
  batches: 3,
  jsCalls: 1,
  sent: 9,
  shieldDropped: 1,
  prefilterAttaches: 5,
};
const tcp = { accepted: 4, refused: 1, open: 2, batchAccepted: 3 };
const sources = {
  udp: () => [udp as unknown as NativeUdpStats, udp as unknown as NativeUdpStats],
  tcp: () => [tcp as unknown as TcpStats],
};

test('off without the variable', () => {
  delete process.env[WORKER_TRACE_ENV];
  assert.equal(startWorkerTrace(sources), undefined);
});

test('a line every 100 ms: the sockets summed, the loop, the heap, the collections', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-worker-trace-'));
  process.env[WORKER_TRACE_ENV] = dir;
  try {
    const stop = startWorkerTrace(sources);
    assert.ok(stop);
    // Garbage enough for a scavenge.
    let keep: unknown[] = [];
    for (let r = 0; r < 20; r++) keep = Array.from({ length: 50_000 }, (_, i) => ({ i }));
    assert.ok(keep.length > 0);
    await sleep(350);
    stop();
    const files = readdirSync(dir);
    assert.deepEqual(files, [`worker-${process.pid}.jsonl`]);
    const lines = readFileSync(join(dir, files[0] ?? ''), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as WorkerTraceLine);
    assert.ok(lines.length >= 2, `${lines.length} lines`);
    assert.deepEqual(lines[0]?.u, [20, 2, 14, 4, 6, 2, 18, 2, 10]);
    assert.deepEqual(lines[0]?.t, [4, 1, 2, 3]);
    assert.ok((lines[0]?.h ?? 0) > 0);
    assert.ok(lines.flatMap((l) => l.g).length >= 1, 'the collections are listed');
  } finally {
    delete process.env[WORKER_TRACE_ENV];
    rmSync(dir, { recursive: true, force: true });
  }
});
