/**
 * Zone contents under content ids (migrations 7 and 8), on SQLite (with and without the
 * zone-work thread) and on a real PostgreSQL: deleting and restoring a zone are one-row
 * writes that keep its content id; a purge hands its rows to the background collection; a
 * big rollback is staged under a new content id and switched to like an import; a new zone
 * is checked (name, quota) before any row is written, and only a big one is staged; the
 * quota and the version counts treat disabled records by one rule.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import {
  createDatabase,
  postgresSkipReason,
  startPostgresServer,
  type TestCluster,
} from '../../test/helpers/postgres.js';
import { openStore, type Store } from '../store/index.js';
import { StoreControlPlane } from './plane.js';
import type { StageTarget } from './staging.js';
import { abandonContent, collectGarbage, stageContent } from './staging.js';
import { ControlError, type Principal } from './types.js';
import { runZoneJob, STAGE_MIN } from './zone-work.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sb-content-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Harness {
  cp: StoreControlPlane;
  /** A second handle on the same database, to look at rows. */
  raw: Store;
  cleanup(): Promise<void>;
}

let server: TestCluster | undefined;
const backends: Array<{
  name: string;
  skip: string | false;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  open(): Promise<Harness>;
}> = [
  ...(['thread', 'inline'] as const).map((zoneWork) => ({
    name: `SQLite (zone work: ${zoneWork})`,
    skip: false as string | false,
    async setup() {},
    async teardown() {},
    async open(): Promise<Harness> {
      const dataDir = tempDir();
      const cp = await StoreControlPlane.open({ dataDir, zoneWork });
      const raw = await openStore({ dataDir });
      return {
        cp,
        raw,
        async cleanup() {
          await cp.close();
          await raw.close();
        },
      };
    },
  })),
  {
    name: 'PostgreSQL',
    skip: postgresSkipReason(),
    async setup() {
      server = await startPostgresServer();
    },
    async teardown() {
      await server?.stop();
    },
    async open(): Promise<Harness> {
      if (!server) throw new Error('no PostgreSQL server');
      const db = await createDatabase(server.url);
      const dataDir = tempDir();
      const cp = await StoreControlPlane.open({ dataDir, database: db.url });
      const raw = await openStore({ dataDir, database: db.url });
      return {
        cp,
        raw,
        async cleanup() {
          await cp.close();
          await raw.close();
          await db.stop();
        },
      };
    },
  },
];

/** A zone file: SOA, NS, ns1 and `n` A records h0…h<n-1> (prefix `prefix`). */
function zoneText(origin: string, n: number, prefix = 'h'): string {
  const lines = [
    '$TTL 300',
    `@ SOA ns1.${origin}. h.${origin}. 1 3600 600 86400 300`,
    `@ NS ns1.${origin}.`,
    'ns1 A 10.0.0.1',
  ];
  for (let i = 0; i < n; i++) lines.push(`${prefix}${i} A 10.1.${(i >> 8) & 255}.${i & 255}`);
  return `${lines.join('\n')}\n`;
}

async function count(raw: Store, query: ReturnType<typeof sql<{ n: number | string }>>): Promise<number> {
  const r = await query.execute(raw.db);
  return Number(r.rows[0].n);
}

async function contentIdOfZone(raw: Store, name: string): Promise<string> {
  const r = await raw.db.selectFrom('zones').select('content_id').where('name', '=', name).executeTakeFirst();
  assert.ok(r, `zone ${name}`);
  return r.content_id;
}

function rowsOf(raw: Store, contentId: string): Promise<number> {
  return count(raw, sql`select count(*) as n from rrsets where zone_id = ${contentId}`);
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`not within 30 s: ${what}`);
}

const DAY = 86_400_000;

for (const backend of backends) {
  describe(`zone contents on ${backend.name}`, { skip: backend.skip }, () => {
    before(() => backend.setup());
    after(() => backend.teardown());

    test('delete and restore move no rows: the content id goes to the deleted zone and back; a purge collects it', async () => {
      const h = await backend.open();
      try {
        const admin = h.cp.systemPrincipal();
        await h.cp.createZone(admin, { name: 'big.test', zonefile: zoneText('big.test', 3000) });
        const id = await contentIdOfZone(h.raw, 'big.test.');
        assert.equal(await rowsOf(h.raw, id), 3003);
        const allRows = () => count(h.raw, sql`select count(*) as n from rrsets`);
        const before = await allRows();

        await h.cp.deleteZone(admin, 'big.test');
        const d = await h.raw.repo.getDeletedZone((await h.cp.getDeletedZone(admin, 'big.test')).id);
        assert.equal(d?.content_id, id, 'the deleted zone keeps the content id');
        assert.equal(await rowsOf(h.raw, id), 3003, 'its rows stay where they were');
        assert.equal(await allRows(), before, 'nothing copied');
        assert.deepEqual(await h.raw.repo.listGarbage('2999-01-01T00:00:00.000Z', 10), [], 'nor collected');

        const restored = await h.cp.restoreZone(admin, 'big.test');
        assert.equal(restored.version, 2);
        assert.equal(restored.serial, 2, 'the next serial');
        assert.equal(restored.recordCount, 3003);
        assert.equal(await contentIdOfZone(h.raw, 'big.test.'), id, 'the same content id');
        assert.equal(await allRows(), before, 'nothing copied back');
        const z = await h.cp.getZone(admin, 'big.test');
        assert.equal(z.rrsets.length, 3003);
        assert.match(
          z.rrsets.find((s) => s.type === 'SOA')?.records[0].content ?? '',
          / 2 3600 600 86400 300$/,
        );
        const v2 = await h.cp.getVersion(admin, 'big.test', 2);
        assert.equal(v2.kind, 'restore');
        assert.equal(v2.removedRecords.length, 1);
        assert.equal(v2.addedRecords.length, 1);
        assert.equal(v2.added, 1);
        assert.equal(v2.removed, 1);
        const served = await h.cp.servedZone('big.test');
        assert.ok(served?.text.includes('h2999.big.test.'));

        // Deleted again and purged 30 days on: its rows go, through the background collection.
        await h.cp.deleteZone(admin, 'big.test');
        const report = await h.cp.pruneHistory(new Date(Date.now() + 31 * DAY));
        assert.equal(report.deletedZones, 1);
        await assert.rejects(h.cp.restoreZone(admin, 'big.test'), ControlError);
        await until('the purged zone’s rows collected', async () => {
          const garbage = await count(h.raw, sql`select count(*) as n from content_gc`);
          return (await rowsOf(h.raw, id)) === 0 && garbage === 0;
        });
      } finally {
        await h.cleanup();
      }
    });

    test('a big rollback is staged and switched to like an import; a rollback to the current content is a no-op', async () => {
      const h = await backend.open();
      try {
        const admin = h.cp.systemPrincipal();
        await h.cp.createZone(admin, { name: 'roll.test', zonefile: zoneText('roll.test', 3000) });
        await h.cp.importZone(admin, 'roll.test', zoneText('roll.test', 3000, 'g'));
        const v2Id = await contentIdOfZone(h.raw, 'roll.test.');

        const plan = await h.cp.rollback(admin, 'roll.test', 1, { dryRun: true });
        assert.equal(plan.dryRun, true);
        assert.equal(plan.addedRecords?.length, 3001, '3000 A records and the SOA');
        assert.equal((await h.cp.getZone(admin, 'roll.test')).version, 2, 'a dry run writes nothing');

        const r = await h.cp.rollback(admin, 'roll.test', 1);
        assert.equal(r.changed, true);
        assert.equal(r.version, 3);
        assert.equal(r.added, 3001);
        assert.equal(r.removed, 3001);
        const v3Id = await contentIdOfZone(h.raw, 'roll.test.');
        assert.notEqual(v3Id, v2Id, 'a whole new content, switched to');
        assert.equal(await rowsOf(h.raw, v3Id), 3003);
        const z = await h.cp.getZone(admin, 'roll.test');
        assert.ok(z.rrsets.some((s) => s.name === 'h2999.roll.test.'));
        assert.ok(!z.rrsets.some((s) => s.name === 'g0.roll.test.'));
        const v = await h.cp.getVersion(admin, 'roll.test', 3);
        assert.equal(v.kind, 'rollback');
        assert.equal(v.comment, 'rollback to version 1');
        await until('the replaced content collected', async () => (await rowsOf(h.raw, v2Id)) === 0);

        // Version 3 is the current content: nothing to do.
        const same = await h.cp.rollback(admin, 'roll.test', 3);
        assert.equal(same.changed, false);
        assert.equal(same.version, 3);
        assert.equal(same.serial, r.serial);
        // A small rollback is written in place (the same content id).
        await h.cp.changeRRsets(admin, 'roll.test', [
          { op: 'replace', name: 'x.roll.test.', type: 'A', ttl: 60, records: [{ content: '192.0.2.1' }] },
        ]);
        const back = await h.cp.rollback(admin, 'roll.test', 3);
        assert.equal(back.version, 5);
        assert.equal(back.added, 1, 'the SOA with the next serial');
        assert.equal(back.removed, 2, 'x and the old SOA');
        assert.equal(await contentIdOfZone(h.raw, 'roll.test.'), v3Id);
        assert.ok(!(await h.cp.getZone(admin, 'roll.test')).rrsets.some((s) => s.name === 'x.roll.test.'));
        // Unknown versions.
        await assert.rejects(
          h.cp.rollback(admin, 'roll.test', 99),
          (e: unknown) => e instanceof ControlError && e.code === 'CTL_ERR_NOT_FOUND',
        );
      } finally {
        await h.cleanup();
      }
    });

    test('a new zone is checked (name, quota) before any row is written; a small one is not staged', async () => {
      const h = await backend.open();
      try {
        const admin = h.cp.systemPrincipal();
        const account = await h.cp.createAccount(admin, { name: 't', maxZones: 1, maxRecords: 10_000 });
        const token = await h.cp.createToken(admin, {
          name: 'w',
          accountId: account.id,
          scope: { admin: false, access: 'write' },
        });
        const p = (await h.cp.authenticate(token.secret)) as Principal;
        await h.cp.createZone(p, { name: 'one.test', nameservers: ['ns1.one.test.'] });
        const rows = () => count(h.raw, sql`select count(*) as n from rrsets`);
        const garbage = () => count(h.raw, sql`select count(*) as n from content_gc`);
        const before = await rows();
        // Over the zone quota, and a name taken: refused before the content is even worked on.
        await assert.rejects(
          h.cp.createZone(p, { name: 'two.test', zonefile: zoneText('two.test', 3000) }),
          (e: unknown) => e instanceof ControlError && e.code === 'CTL_ERR_QUOTA' && e.field === 'name',
        );
        await assert.rejects(
          h.cp.createZone(admin, { name: 'one.test', zonefile: zoneText('one.test', 3000) }),
          (e: unknown) => e instanceof ControlError && e.code === 'CTL_ERR_CONFLICT',
        );
        assert.equal(await rows(), before, 'no row staged');
        assert.equal(await garbage(), 0, 'nothing staged to collect');
        // A small zone's rows are written by the creating transaction under a new content id.
        const small = await h.cp.createZone(admin, {
          name: 'small.test',
          zonefile: zoneText('small.test', 50),
        });
        const id = await contentIdOfZone(h.raw, 'small.test.');
        assert.notEqual(id, small.id);
        assert.equal(await rowsOf(h.raw, id), 53);
        assert.equal(await garbage(), 0);
      } finally {
        await h.cleanup();
      }
    });

    test('disabled records: one rule for the quota and for the version counts', async () => {
      const h = await backend.open();
      try {
        const admin = h.cp.systemPrincipal();
        const account = await h.cp.createAccount(admin, { name: 'q', maxZones: 5, maxRecords: 6 });
        const token = await h.cp.createToken(admin, {
          name: 'w',
          accountId: account.id,
          scope: { admin: false, access: 'write' },
        });
        const p = (await h.cp.authenticate(token.secret)) as Principal;
        // SOA + NS = 2 records.
        await h.cp.createZone(p, { name: 'd.test', nameservers: ['ns1.d.test.'] });
        const four = [1, 2, 3, 4].map((i) => ({ content: `192.0.2.${i}`, disabled: i > 2 }));
        const r = await h.cp.changeRRsets(p, 'd.test', [
          { op: 'replace', name: 'w.d.test.', type: 'A', ttl: 60, records: four },
        ]);
        // Disabled records are stored: they count against the quota (6 = 2 + 4)...
        assert.equal(r.recordCount, 6);
        const rv = await h.cp.getVersion(p, 'd.test', r.version);
        assert.equal(r.added, 5, '...and in the version counts (4 records and the SOA)...');
        assert.equal(r.added, rv.addedRecords.length, '...as in its diff lines');
        await assert.rejects(
          h.cp.changeRRsets(p, 'd.test', [
            {
              op: 'replace',
              name: 'x.d.test.',
              type: 'A',
              ttl: 60,
              records: [{ content: '192.0.2.9', disabled: true }],
            },
          ]),
          (e: unknown) => e instanceof ControlError && e.code === 'CTL_ERR_QUOTA',
        );
        // Disabling a record: a removed line and an added (marked) line, as the diff shows it.
        const flip = [1, 2, 3, 4].map((i) => ({ content: `192.0.2.${i}`, disabled: i !== 1 }));
        const f = await h.cp.changeRRsets(p, 'd.test', [
          { op: 'replace', name: 'w.d.test.', type: 'A', ttl: 60, records: flip },
        ]);
        const v = await h.cp.getVersion(p, 'd.test', f.version);
        assert.equal(f.removed, v.removedRecords.length);
        assert.equal(f.added, v.addedRecords.length);
        assert.ok(v.addedRecords.some((l) => l.startsWith(';disabled; ')));
        // The same rule off the request loop (a big import through the zone work).
        await h.cp.createZone(admin, { name: 'big.test', zonefile: zoneText('big.test', 600) });
        const text = `${zoneText('big.test', 600)};disabled; h0 A 10.9.9.9\n`;
        const big = await h.cp.importZone(admin, 'big.test', text);
        const bv = await h.cp.getVersion(admin, 'big.test', big.version);
        assert.equal(big.added, bv.addedRecords.length);
        assert.equal(big.removed, bv.removedRecords.length);
        assert.equal(big.recordCount, 604);
      } finally {
        await h.cleanup();
      }
    });

    test('staging and collection: one implementation over this store', async () => {
      const h = await backend.open();
      try {
        const target: StageTarget = {
          write: (fn) => h.raw.transaction(fn),
          read: h.raw.repo,
          pause: () => new Promise((r) => setImmediate(r)),
        };
        const slice = (from: number, n: number) =>
          JSON.stringify(
            Array.from({ length: n }, (_, i) => ({
              name_key: `k${from + i}`,
              name: `k${from + i}.`,
              type: 1,
              ttl: 60,
              records: 'x',
            })),
          );
        const id = await stageContent(target, [slice(0, 400), slice(400, 400), slice(800, 10)]);
        assert.equal(await rowsOf(h.raw, id), 810);
        // Listed for collection an hour on (a crash mid-way leaves nothing for good)...
        assert.deepEqual(await h.raw.repo.listGarbage(new Date().toISOString(), 10), []);
        assert.deepEqual(
          await h.raw.repo.listGarbage(new Date(Date.now() + 2 * 3_600_000).toISOString(), 10),
          [id],
        );
        await collectGarbage(target);
        assert.equal(await rowsOf(h.raw, id), 810, 'not due yet: kept');
        // ...and due at once when abandoned.
        await abandonContent(target, id);
        await collectGarbage(target);
        assert.equal(await rowsOf(h.raw, id), 0);
        assert.deepEqual(
          await h.raw.repo.listGarbage(new Date(Date.now() + 2 * 3_600_000).toISOString(), 10),
          [],
        );
        // A failing slice abandons what was written.
        await assert.rejects(stageContent(target, [slice(0, 10), '[{"name_key":null}]']));
        await collectGarbage(target);
        assert.equal(await count(h.raw, sql`select count(*) as n from rrsets where name_key like 'k%'`), 0);
      } finally {
        await h.cleanup();
      }
    });
  });
}

describe('the staging threshold (zone work)', () => {
  test('a new zone is staged only above STAGE_MIN RRsets, as a change is', () => {
    const job = (n: number) => ({
      kind: 'create' as const,
      origin: 'n.test.',
      input: { zonefile: zoneText('n.test', n) },
      defaults: undefined,
      limits: { maxTtl: 2_592_000, maxRecordsPerRRset: 10_000 },
      budget: { max: 1_000_000, name: 'test', code: 'CTL_ERR_VALIDATION' as const },
    });
    const small = runZoneJob(job(STAGE_MIN - 3), new Map(), new Map()).work;
    assert.equal(small.rewrite, true);
    assert.equal(small.stage, false, `${STAGE_MIN} RRsets: one transaction`);
    const big = runZoneJob(job(STAGE_MIN - 2), new Map(), new Map()).work;
    assert.equal(big.stage, true, `${STAGE_MIN + 1} RRsets: staged`);
  });
});
