/**
 * The drill's log of finished queries (src/drill/query-log.ts): every field of every record read
 * back as it was kept, past the columns' growth, in order and by phase.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RESOLVER_CLASSES } from '../../src/drill/population.js';
import { QueryLog } from '../../src/drill/query-log.js';
import type { QueryKind, QueryRecord } from '../../src/drill/resolvers.js';

const KINDS: QueryKind[] = ['name', 'typo', 'aaaa', 'big'];
const CAUSES = ['noAnswer', 'wrongAnswer', 'truncated'] as const;

function record(i: number): QueryRecord {
  const ok = i % 5 !== 0;
  return {
    phase: i % 7,
    cls: RESOLVER_CLASSES[i % RESOLVER_CLASSES.length],
    zone: i % 200,
    kind: KINDS[i % KINDS.length],
    ok,
    tries: 1 + (i % 4),
    tcp: i % 3 === 0,
    latencyMs: ok ? (i % 3000) + 0.123 * (i % 9) : 3200,
    startSecond: Math.floor(i / 100),
    startMs: i * 10,
    cause: ok ? undefined : CAUSES[i % 3],
  };
}

test('every record read back as kept, past growth; ok(i); by phase', () => {
  const log = new QueryLog(4);
  const n = 1000;
  for (let i = 0; i < n; i++) log.push(record(i));
  assert.equal(log.length, n);
  assert.deepEqual(
    [...log],
    Array.from({ length: n }, (_, i) => record(i)),
  );
  for (let i = 0; i < n; i++) assert.equal(log.ok(i), record(i).ok);
  assert.deepEqual(
    [...log.ofPhase(3)],
    Array.from({ length: n }, (_, i) => record(i)).filter((r) => r.phase === 3),
  );
});
