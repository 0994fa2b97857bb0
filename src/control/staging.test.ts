/**
 * Big changes staged under a new content id (migration 7): the switch is atomic, a failed
 * change leaves the zone as it was, the rows of replaced and deleted contents are collected,
 * and every path that takes records refuses a request over the record budget before making
 * them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { sql } from 'kysely';
import { openStore } from '../store/index.js';
import { StoreControlPlane } from './plane.js';
import { ControlError } from './types.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function zoneText(n: number, prefix = 'h', last = ''): string {
  const lines = [
    '$TTL 300',
    '@ SOA ns1.big.test. h.big.test. 1 3600 600 86400 300',
    '@ NS ns1.big.test.',
    'ns1 A 10.0.0.1',
  ];
  for (let i = 0; i < n; i++) lines.push(`${prefix}${i} A 10.1.${(i >> 8) & 255}.${i & 255}`);
  if (last) lines.push(last);
  return `${lines.join('\n')}\n`;
}

async function rowCounts(dataDir: string): Promise<{ rrsets: number; garbage: number }> {
  const store = await openStore({ dataDir });
  try {
    const r = await sql<{ n: number }>`select count(*) as n from rrsets`.execute(store.db);
    const g = await sql<{ n: number }>`select count(*) as n from content_gc`.execute(store.db);
    return { rrsets: Number(r.rows[0].n), garbage: Number(g.rows[0].n) };
  } finally {
    await store.close();
  }
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`not within 30 s: ${what}`);
}

describe('staged big changes (SQLite, zone-work thread)', () => {
  test('imports switch whole; a failed import leaves the zone and no rows; old rows are collected', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sb-stage-'));
    dirs.push(dataDir);
    const cp = await StoreControlPlane.open({ dataDir });
    const admin = cp.systemPrincipal();
    try {
      await cp.createZone(admin, { name: 'big.test', zonefile: zoneText(3000) });
      const v2 = await cp.importZone(admin, 'big.test', zoneText(3000, 'g'));
      assert.equal(v2.version, 2);
      assert.equal(v2.recordCount, 3003);
      const z = await cp.getZone(admin, 'big.test');
      assert.ok(z.rrsets.some((s) => s.name === 'g2999.big.test.'));
      assert.ok(!z.rrsets.some((s) => s.name === 'h0.big.test.'));
      // A bad last line: nothing changes.
      await assert.rejects(
        cp.importZone(admin, 'big.test', zoneText(3000, 'k', 'bad A 300.1.1.1')),
        ControlError,
      );
      const same = await cp.getZone(admin, 'big.test');
      assert.equal(same.version, 2);
      assert.equal(same.rrsets.length, z.rrsets.length);
      const served = await cp.servedZone('big.test');
      assert.ok(served?.text.includes('g2999.big.test.\t300\tIN\tA\t10.1.11.183'));
      // A deleted zone keeps its rows (restorable) until it is purged (migration 8).
      await cp.deleteZone(admin, 'big.test');
    } finally {
      await cp.close();
    }
    // Reopening collects whatever was left (replaced contents, the failed import's rows).
    const again = await StoreControlPlane.open({ dataDir, retention: { deletedZoneDays: 30 } });
    try {
      await until('every replaced row collected, the deleted zone kept', async () => {
        const c = await rowCounts(dataDir);
        return c.rrsets === 3003 && c.garbage === 0;
      });
      // Its purge, 30 days on, hands its rows to the background collection.
      const report = await again.pruneHistory(new Date(Date.now() + 31 * 86_400_000));
      assert.equal(report.deletedZones, 1);
      await until('every row of the purged zone collected', async () => {
        const c = await rowCounts(dataDir);
        return c.rrsets === 0 && c.garbage === 0;
      });
    } finally {
      await again.close();
    }
  });

  test('every path that takes records refuses a request over the budget, naming the limit', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sb-stage-'));
    dirs.push(dataDir);
    const cp = await StoreControlPlane.open({ dataDir, limits: { maxRecordsPerRequest: 5000 } });
    const admin = cp.systemPrincipal();
    try {
      const account = await cp.createAccount(admin, { name: 't', maxRecords: 1000 });
      const token = await cp.createToken(admin, {
        name: 'w',
        accountId: account.id,
        scope: { admin: false, access: 'write' },
      });
      const p = await cp.authenticate(token.secret);
      assert.ok(p);
      const bomb = `$TTL 300\n${'$GENERATE 0-65535 h$ A 10.0.0.1\n'.repeat(80)}`;
      const quota = (e: unknown) =>
        e instanceof ControlError &&
        e.code === 'CTL_ERR_QUOTA' &&
        /over the limit of \d+ records \(the account's record quota 1000/.test(e.message);
      // Zone creation with a zone file or RRsets.
      await assert.rejects(cp.createZone(p, { name: 'a.test', zonefile: bomb }), quota);
      const many = Array.from({ length: 1001 }, (_, i) => ({ content: `10.0.${i >> 8}.${i & 255}` }));
      await assert.rejects(
        cp.createZone(p, {
          name: 'a.test',
          nameservers: ['ns1.a.test.'],
          rrsets: [{ name: 'x.a.test.', type: 'A', ttl: 60, records: many }],
        }),
        quota,
      );
      await cp.createZone(p, { name: 'a.test', nameservers: ['ns1.a.test.'] });
      // Import and RRset changes.
      await assert.rejects(cp.importZone(p, 'a.test', bomb), quota);
      await assert.rejects(
        cp.changeRRsets(p, 'a.test', [
          { op: 'replace', name: 'x.a.test.', type: 'A', ttl: 60, records: many },
        ]),
        quota,
      );
      // Administrators are exempt from quotas, not from the per-request ceiling.
      await assert.rejects(
        cp.importZone(admin, 'a.test', bomb),
        (e: unknown) =>
          e instanceof ControlError &&
          e.code === 'CTL_ERR_VALIDATION' &&
          e.field === 'zonefile' &&
          /over the limit of 5000 records \(the per-request ceiling maxRecordsPerRequest\)/.test(e.message),
      );
      assert.equal((await cp.getZone(p, 'a.test')).version, 1);
    } finally {
      await cp.close();
    }
  });
});
