/**
 * The edge registry in the store (migration 16, control/edges.ts), on SQLite and PostgreSQL:
 * summaries written by two replicas read back whole by either (times, addresses, NOTIFY
 * address, counts, lag), a rewrite replaces a replica's row, malformed stored values read as
 * empty, rows past the retention deleted at the next write.
 * @module
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { sql } from 'kysely';
import { postgresSkipReason, startPostgres } from '../../test/helpers/postgres.js';
import { openStore } from '../store/index.js';
import { EDGE_ROW_RETENTION_MS, type StoredEdge } from './edges.js';
import { openControlPlane } from './index.js';
import type { ControlPlaneOptions } from './types.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const T = Date.parse('2026-12-05T05:00:00.000Z');

function edge(pop: string, replica: string, over: Partial<StoredEdge> = {}): StoredEdge {
  return {
    pop,
    replica,
    addresses: [
      ['127.0.0.1', T],
      ['::1', T - 5000],
    ],
    notify: '127.0.0.9:5300',
    notifyAt: T - 1000,
    lastSeen: T,
    zones: 100_000,
    behind: 2,
    lagSince: T - 30_000,
    behindZones: ['a.test. 1 → 2', 'b.test. 7 → 9'],
    updatedAt: T,
    ...over,
  };
}

async function exercise(
  opts: ControlPlaneOptions,
  raw: () => Promise<{ exec(q: string): Promise<void>; close(): Promise<void> }>,
) {
  const one = await openControlPlane(opts);
  const two = await openControlPlane(opts);
  try {
    assert.ok(one.writeEdges && one.readEdges && two.writeEdges && two.readEdges);
    assert.deepEqual(await one.readEdges(), []);
    await one.writeEdges([
      edge('ams1.', 'r1'),
      edge('fra1.', 'r1', { notify: undefined, lagSince: null, behind: 0, behindZones: [] }),
    ]);
    await two.writeEdges([edge('ams1.', 'r2', { zones: 3, lastSeen: T - 60_000, updatedAt: T + 1 })]);
    const read = (await two.readEdges()).sort((x, y) =>
      `${x.pop}${x.replica}`.localeCompare(`${y.pop}${y.replica}`),
    );
    assert.deepEqual(
      read,
      [
        edge('ams1.', 'r1'),
        edge('ams1.', 'r2', { zones: 3, lastSeen: T - 60_000, updatedAt: T + 1 }),
        edge('fra1.', 'r1', { notify: undefined, notifyAt: 0, lagSince: null, behind: 0, behindZones: [] }),
      ].map((e) => (e.notify === undefined ? (({ notify: _, ...rest }) => rest)(e) : e)),
    );
    // A rewrite replaces r1's row of ams1.
    await one.writeEdges([
      edge('ams1.', 'r1', { behind: 0, lagSince: null, behindZones: [], updatedAt: T + 2 }),
    ]);
    const ams = (await one.readEdges()).find((e) => e.pop === 'ams1.' && e.replica === 'r1');
    assert.equal(ams?.behind, 0);
    assert.equal(ams?.lagSince, null);
    assert.equal((await one.readEdges()).length, 3);
    // Malformed stored values read as empty, never throw.
    const db = await raw();
    await db.exec(
      "update edge_registry set addresses = 'not json', behind_zones = '{\"x\":1}', lag_since = 'soon' where replica = 'r2'",
    );
    await db.close();
    const bad = (await one.readEdges()).find((e) => e.replica === 'r2');
    assert.deepEqual(bad?.addresses, []);
    assert.deepEqual(bad?.behindZones, []);
    assert.equal(bad?.lagSince, null);
    // Rows not rewritten for the retention time go at the next write.
    const old = await raw();
    await old.exec(
      `update edge_registry set updated_at = '${new Date(Date.now() - EDGE_ROW_RETENTION_MS - 1000).toISOString()}' where pop = 'fra1.' or replica = 'r2'`,
    );
    await old.close();
    await one.writeEdges([edge('ams1.', 'r1', { updatedAt: Date.now() })]);
    assert.deepEqual(
      (await one.readEdges()).map((e) => `${e.pop} ${e.replica}`),
      ['ams1. r1'],
    );
  } finally {
    await one.close();
    await two.close();
  }
}

test('edge summaries in the store: SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-edges-'));
  dirs.push(dir);
  await exercise({ dataDir: dir }, async () => {
    const store = await openStore({ dataDir: dir });
    return {
      exec: async (q) => {
        await sql.raw(q).execute(store.db);
      },
      close: () => store.close(),
    };
  });
});

test('edge summaries in the store: PostgreSQL', { skip: postgresSkipReason() }, async () => {
  const pg = await startPostgres();
  const dir = mkdtempSync(join(tmpdir(), 'sb-edges-'));
  dirs.push(dir);
  try {
    await exercise({ dataDir: dir, database: pg.url }, async () => {
      const store = await openStore({ dataDir: dir, database: pg.url });
      return {
        exec: async (q) => {
          await sql.raw(q).execute(store.db);
        },
        close: () => store.close(),
      };
    });
  } finally {
    await pg.stop();
  }
});
