/**
 * Deleted zones and the retention of history, through the HTTP API (`inject`) over a real
 * SQLite control plane: a deleted zone's history stays readable and the zone restorable,
 * its name is free meanwhile; pruning keeps the newest versions, and a pruned version is 410.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { backends, NO_LIMITS } from '../../test/helpers/api-harness.js';
import { startPostgres } from '../../test/helpers/postgres.js';
import { openControlPlane } from '../control/index.js';
import type { ControlPlane } from '../control/types.js';
import { buildApi } from './index.js';

const ADMIN = 'sb_test_admin_key_0123456789abcdef';
const DAY = 86_400_000;

for (const backend of backends)
  describe(`deleted zones and retention (${backend.name})`, { skip: backend.skip }, () => {
    let dir: string;
    let db: Awaited<ReturnType<typeof startPostgres>> | undefined;
    let control: ControlPlane;
    let app: Awaited<ReturnType<typeof buildApi>>;
    const req = async (
      method: string,
      url: string,
      body?: unknown,
      key = ADMIN,
      // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
    ): Promise<{ status: number; json: any }> => {
      const r = await app.inject({
        method: method as 'GET',
        url,
        headers: { 'x-api-key': key, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      });
      return { status: r.statusCode, json: r.body ? JSON.parse(r.body) : undefined };
    };
    const tenant = async (name: string): Promise<string> => {
      const a = await req('POST', '/api/v1/accounts', { name });
      const t = await req('POST', '/api/v1/tokens', {
        name,
        accountId: a.json.id,
        scope: { access: 'write' },
      });
      return t.json.secret;
    };
    const setA = (zone: string, v: string, key: string) =>
      req(
        'PATCH',
        `/api/v1/zones/${zone}/rrsets`,
        {
          changes: [{ op: 'replace', name: `www.${zone}.`, type: 'A', ttl: 300, records: [{ content: v }] }],
        },
        key,
      );

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'sb-deleted-'));
      db = backend.name === 'postgres' ? await startPostgres() : undefined;
      control = await openControlPlane({
        dataDir: dir,
        ...(db ? { database: db.url } : {}),
        retention: { versionsPerZone: 3, versionDays: 10, auditDays: 20, deletedZoneDays: 5 },
      });
      await control.bootstrapAdmin(ADMIN);
      app = await buildApi(control, { limits: NO_LIMITS });
    });
    after(async () => {
      await app?.close();
      await control?.close();
      await db?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('keeps a deleted zone readable and restorable; its name is free meanwhile', async () => {
      const key = await tenant('owner');
      const other = await tenant('other');
      assert.equal(
        (await req('POST', '/api/v1/zones', { name: 'gone.test', nameservers: ['ns1.example.net'] }, key))
          .status,
        201,
      );
      assert.equal((await setA('gone.test', '192.0.2.1', key)).status, 200);
      const before = await req('GET', '/api/v1/zones/gone.test', undefined, key);
      assert.equal((await req('DELETE', '/api/v1/zones/gone.test', undefined, key)).status, 204);
      assert.equal((await req('GET', '/api/v1/zones/gone.test', undefined, key)).status, 404);

      const list = await req('GET', '/api/v1/deleted-zones', undefined, key);
      assert.equal(list.status, 200);
      assert.equal(list.json.items.length, 1);
      const d = list.json.items[0];
      assert.equal(d.name, 'gone.test.');
      assert.equal(d.id, before.json.id);
      assert.equal(d.version, 2);
      assert.equal(Date.parse(d.purgeAfter) - Date.parse(d.deletedAt), 5 * DAY);
      // Another tenant sees nothing of it.
      assert.equal((await req('GET', '/api/v1/deleted-zones', undefined, other)).json.items.length, 0);
      assert.equal((await req('GET', `/api/v1/deleted-zones/${d.id}`, undefined, other)).status, 404);
      assert.equal((await req('POST', '/api/v1/deleted-zones/gone.test/restore', {}, other)).status, 404);

      // Its history is readable, by id or by name.
      const versions = await req('GET', '/api/v1/deleted-zones/gone.test/versions', undefined, key);
      assert.deepEqual(
        versions.json.items.map((v: { version: number }) => v.version),
        [2, 1],
      );
      const v2 = await req('GET', `/api/v1/deleted-zones/${d.id}/versions/2`, undefined, key);
      assert.ok(v2.json.addedRecords.some((l: string) => l.includes('192.0.2.1')));

      // The name is free: a new zone of that name; restoring the old one is then a conflict.
      assert.equal(
        (await req('POST', '/api/v1/zones', { name: 'gone.test', nameservers: ['ns1.example.net'] }, key))
          .status,
        201,
      );
      const conflict = await req('POST', `/api/v1/deleted-zones/${d.id}/restore`, {}, key);
      assert.equal(conflict.status, 409);
      assert.equal((await req('DELETE', '/api/v1/zones/gone.test', undefined, key)).status, 204);
      assert.equal(
        (await req('GET', '/api/v1/deleted-zones?name=gone.test', undefined, key)).json.items.length,
        2,
      );

      // Restore the first one by id: the next version, the next serial, the old content.
      const restored = await req('POST', `/api/v1/deleted-zones/${d.id}/restore`, { comment: 'oops' }, key);
      assert.equal(restored.status, 201);
      assert.equal(restored.json.id, d.id);
      assert.equal(restored.json.version, 3);
      assert.ok(restored.json.serial > before.json.serial);
      const z = await req('GET', '/api/v1/zones/gone.test', undefined, key);
      const www = z.json.rrsets.find((r: { name: string }) => r.name === 'www.gone.test.');
      assert.equal(www.records[0].content, '192.0.2.1');
      const vs = await req('GET', '/api/v1/zones/gone.test/versions', undefined, key);
      assert.equal(vs.json.items[0].kind, 'restore');
      assert.equal(vs.json.items[0].comment, 'oops');
      // Rolling back across the deletion works: version 1 had no www.
      assert.equal((await req('POST', '/api/v1/zones/gone.test/rollback', { version: 1 }, key)).status, 200);
      const z1 = await req('GET', '/api/v1/zones/gone.test', undefined, key);
      assert.equal(
        z1.json.rrsets.some((r: { name: string }) => r.name === 'www.gone.test.'),
        false,
      );
      // The restored one left the list; the other deleted one stays.
      assert.equal(
        (await req('GET', '/api/v1/deleted-zones?name=gone.test', undefined, key)).json.items.length,
        1,
      );
      const audit = await req('GET', '/api/v1/audit', undefined, key);
      assert.ok(audit.json.items.some((e: { action: string }) => e.action === 'zone.restore'));
    });

    it('prunes old versions, old audit rows and expired deleted zones; a pruned version is 410', async () => {
      const key = await tenant('pruned');
      assert.equal(
        (await req('POST', '/api/v1/zones', { name: 'prune.test', nameservers: ['ns1.example.net'] }, key))
          .status,
        201,
      );
      for (let i = 1; i <= 5; i++) assert.equal((await setA('prune.test', `192.0.2.${i}`, key)).status, 200);
      // A zone deleted now, to be purged later.
      assert.equal(
        (await req('POST', '/api/v1/zones', { name: 'expire.test', nameservers: ['ns1.example.net'] }, key))
          .status,
        201,
      );
      assert.equal((await req('DELETE', '/api/v1/zones/expire.test', undefined, key)).status, 204);

      // Now: only the count rule applies (keep 3 of 6).
      const r1 = await control.pruneHistory(new Date());
      assert.ok(r1.versions >= 3, JSON.stringify(r1));
      const vs = await req('GET', '/api/v1/zones/prune.test/versions', undefined, key);
      assert.deepEqual(
        vs.json.items.map((v: { version: number }) => v.version),
        [6, 5, 4],
      );
      const gone = await req('POST', '/api/v1/zones/prune.test/rollback', { version: 2 }, key);
      assert.equal(gone.status, 410);
      assert.equal(gone.json.code, 'CTL_ERR_GONE');
      assert.match(gone.json.error, /pruned/);
      assert.equal((await req('GET', '/api/v1/zones/prune.test/versions/1', undefined, key)).status, 410);
      assert.equal((await req('GET', '/api/v1/zones/prune.test/versions/99', undefined, key)).status, 404);
      // A kept version still rolls back.
      assert.equal((await req('POST', '/api/v1/zones/prune.test/rollback', { version: 4 }, key)).status, 200);

      // Six days on: the deleted zone is purged; versions older than 10 days are not yet due.
      const r2 = await control.pruneHistory(new Date(Date.now() + 6 * DAY));
      assert.ok(r2.deletedZones >= 1, JSON.stringify(r2));
      assert.equal((await req('GET', '/api/v1/deleted-zones/expire.test', undefined, key)).status, 404);
      assert.equal((await req('POST', '/api/v1/deleted-zones/expire.test/restore', {}, key)).status, 404);

      // Eleven days on: only each zone's current version is left; the audit is kept 20 days.
      await control.pruneHistory(new Date(Date.now() + 11 * DAY));
      const left = await req('GET', '/api/v1/zones/prune.test/versions', undefined, key);
      assert.deepEqual(
        left.json.items.map((v: { version: number }) => v.version),
        [7],
      );
      assert.ok((await req('GET', '/api/v1/audit', undefined, key)).json.items.length > 0);
      const r3 = await control.pruneHistory(new Date(Date.now() + 21 * DAY));
      assert.ok(r3.audit > 0);
      assert.equal((await req('GET', '/api/v1/audit', undefined, key)).json.items.length, 0);
      // The zone itself is untouched.
      const z = await req('GET', '/api/v1/zones/prune.test', undefined, key);
      assert.equal(z.json.version, 7);
    });
  });
