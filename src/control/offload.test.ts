/**
 * Zone work in a worker thread: the same results and errors as on the calling thread, the
 * worker's content cache, and a job that runs the thread out of memory failing alone.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { InlineZoneWork, ThreadZoneWork, type ZoneWorkRunner } from './offload.js';
import { parseChanges } from './rows.js';
import { ControlError } from './types.js';
import type { StoredRRset, ZoneJob } from './zone-work.js';

const limits = { maxTtl: 86400, maxRecordsPerRRset: 1000 };
const budget = { max: 10_000, name: 'the test budget', code: 'CTL_ERR_QUOTA' as const };
const origin = 'w.test.';
const head = '$TTL 300\n@ SOA ns1 h 1 3600 600 86400 300\n@ NS ns1\nns1 A 10.0.0.1\n';

function importJob(text: string, serial = 1): ZoneJob {
  return { kind: 'import', origin, serial, text, limits, budget };
}

function rowsOf(slices: string[]): StoredRRset[] {
  return slices.flatMap((s) => JSON.parse(s) as StoredRRset[]);
}

const thread = new ThreadZoneWork();
after(() => thread.close());

for (const [name, runner] of [
  ['inline', new InlineZoneWork()],
  ['thread', thread],
] as Array<[string, ZoneWorkRunner]>) {
  describe(`zone work (${name})`, () => {
    test('an import: rows, counts, serial and diff to write', async () => {
      const text = `${head}${Array.from({ length: 500 }, (_, i) => `h${i} A 10.1.${i >> 8}.${i & 255}\n`).join('')}`;
      const { work, ticket } = await runner.run(importJob(text, 7), {
        zoneId: 'z1',
        version: 1,
        rows: async () => [],
      });
      runner.discarded(ticket);
      assert.equal(work.noop, false);
      assert.equal(work.rewrite, true);
      assert.equal(work.recordCount, 503);
      assert.equal(work.added, 503);
      assert.equal(work.removed, 0);
      assert.equal(work.serial, 8, 'the next serial after the zone’s');
      const rows = rowsOf(work.rows);
      assert.equal(rows.length, 503);
      assert.ok(rows.some((r) => r.name === 'h42.w.test.' && r.records === '[{"content":"10.1.0.42"}]'));
      assert.equal(parseChanges(work.changes).length, 503);
    });

    test('errors come back as the ControlError the request gets, with its field', async () => {
      await assert.rejects(
        runner.run(importJob(`${head}bad A 300.1.1.1\n`), { zoneId: 'z2', version: 1, rows: async () => [] }),
        (e: unknown) =>
          e instanceof ControlError && e.code === 'CTL_ERR_VALIDATION' && e.field === 'zonefile',
      );
      const bomb = `${head}${'$GENERATE 0-65535 b$ A 10.0.0.1\n'.repeat(40)}`;
      await assert.rejects(
        runner.run(importJob(bomb), { zoneId: 'z2', version: 1, rows: async () => [] }),
        (e: unknown) =>
          e instanceof ControlError &&
          e.code === 'CTL_ERR_QUOTA' &&
          /zonefile line 5: \$GENERATE 0-65535: the \$GENERATE lines up to here make 65536 records: over the limit of 10000 records \(the test budget\)/.test(
            e.message,
          ),
      );
    });

    test('a big zone stays with the runner after its commit: the next change needs no rows', async () => {
      const text = `${head}${Array.from({ length: 3000 }, (_, i) => `h${i} A 10.2.${i >> 8}.${i & 255}\n`).join('')}`;
      const first = await runner.run(importJob(text), { zoneId: 'z3', version: 1, rows: async () => [] });
      runner.committed(first.ticket, 'z3', 2);
      let read = 0;
      const change: ZoneJob = {
        kind: 'change',
        origin,
        serial: first.work.serial,
        changes: [
          { op: 'replace', name: 'h1.w.test.', type: 'A', ttl: 60, records: [{ content: '10.9.9.9' }] },
        ],
        limits,
      };
      const second = await runner.run(change, {
        zoneId: 'z3',
        version: 2,
        rows: async () => {
          read++;
          return [];
        },
      });
      runner.committed(second.ticket, 'z3', 3);
      assert.equal(read, 0);
      assert.equal(second.work.rewrite, false);
      // The RRset changed and the SOA (its serial).
      assert.deepEqual(second.work.deletes.sort(), [
        ['h1.w.test.', 1],
        ['w.test.', 6],
      ]);
      assert.ok(rowsOf(second.work.rows).some((r) => r.records === '[{"content":"10.9.9.9"}]'));
      assert.equal(second.work.recordCount, 3003);
      // An older version is not in the cache: the rows are read.
      await runner
        .run(change, {
          zoneId: 'z3',
          version: 2,
          rows: async () => {
            read++;
            return [];
          },
        })
        .then((r) => runner.discarded(r.ticket))
        .catch(() => {});
      assert.equal(read, 1);
      // The kept version's served text, rendered where the content is; none of another version.
      const served = await runner.servedText('z3', 3);
      assert.ok(served?.includes('h1.w.test.\t60\tIN\tA\t10.9.9.9\n'), served?.slice(0, 200));
      assert.equal(served?.split('\n').length, 3003 + 1);
      assert.equal(await runner.servedText('z3', 2), undefined);
      // A change worked out in place and then not committed: the kept version is gone with it,
      // so the next change reads the rows rather than trust a content it changed.
      const third = await runner.run(
        { ...change, changes: [{ op: 'delete', name: 'h2.w.test.', type: 'A' }] } as ZoneJob,
        { zoneId: 'z3', version: 3, rows: async () => [] },
      );
      assert.equal(third.work.recordCount, 3002);
      runner.discarded(third.ticket);
      assert.equal(await runner.servedText('z3', 3), undefined);
    });
  });
}

describe('zone work thread: a job that runs out of memory fails alone', () => {
  test('the request gets a 4xx-mapped error, the next job runs on a new thread', async () => {
    const small = new ThreadZoneWork({ heapMb: 24 });
    try {
      const big = `${head}${'$GENERATE 0-65535 h$ A 10.0.0.1\n'.repeat(8)}`;
      await assert.rejects(
        small.run({ ...importJob(big), budget: { ...budget, max: 1_000_000 } } as ZoneJob, undefined),
        (e: unknown) => e instanceof ControlError && /more memory than one request may use/.test(e.message),
      );
      const { work } = await small.run(importJob(`${head}a A 10.0.0.2\n`), undefined);
      assert.equal(work.recordCount, 4);
    } finally {
      await small.close();
    }
  });
});
