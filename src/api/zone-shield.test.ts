/**
 * A zone's own shield settings through the HTTP API (`inject`) over a real control plane, on
 * SQLite and PostgreSQL: the flag's rules (a bad value is a 4xx naming the field and changes
 * nothing), the platform-wide caps, who may set what (operator, tenant within the operator's
 * ceilings, never another account's zone), audit rows, the settings going with a deleted zone,
 * and the change events the DNS workers are fed from (another replica's too).
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

for (const backend of backends)
  describe(`zone shield settings (${backend.name})`, { skip: backend.skip }, () => {
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
    const tenant = async (name: string, scope: Record<string, unknown> = { access: 'write' }) => {
      const a = await req('POST', '/api/v1/accounts', { name });
      const t = await req('POST', '/api/v1/tokens', { name, accountId: a.json.id, scope });
      assert.equal(t.status, 201, JSON.stringify(t.json));
      return { key: t.json.secret as string, accountId: a.json.id as string };
    };
    const zone = async (name: string, key = ADMIN) => {
      const r = await req('POST', '/api/v1/zones', { name, nameservers: ['ns1.example.net.'] }, key);
      assert.equal(r.status, 201, JSON.stringify(r.json));
    };
    const shield = (z: string) => `/api/v1/zones/${z}/shield`;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'sb-shieldapi-'));
      db = backend.name === 'postgres' ? await startPostgres() : undefined;
      control = await openControlPlane({
        dataDir: dir,
        ...(db ? { database: db.url } : {}),
        // Small caps, as `start --shield-zone` flags would leave them; tenants may set some fields.
        shield: {
          maxZones: 3,
          maxMetricsZones: 1,
          tenant: { minNxPerSecond: 1000, rrl: { responses: 50, nxdomains: 20 }, metrics: false },
          tenantZones: 1,
        },
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

    it('reads, replaces and removes a zone’s settings; audit rows; events', async () => {
      await zone('a.test');
      let events = 0;
      const off = control.onShieldChange(() => events++);
      assert.deepEqual((await req('GET', shield('a.test'))).json, { zone: 'a.test.', settings: {} });
      const put = await req('PUT', `${shield('a.test')}?comment=pin`, {
        minNxPerSecond: 5000,
        budgetFloor: 20,
        rrl: { responses: 5 },
        metrics: true,
      });
      assert.equal(put.status, 200, JSON.stringify(put.json));
      assert.deepEqual(put.json.settings, {
        minNxPerSecond: 5000,
        budgetFloor: 20,
        rrl: { responses: 5 },
        metrics: true,
      });
      assert.equal(put.json.setBy, 'operator');
      assert.equal(events, 1);
      // The same again changes nothing: no event, no audit row.
      await req('PUT', shield('a.test'), {
        minNxPerSecond: 5000,
        budgetFloor: 20,
        rrl: { responses: 5 },
        metrics: true,
      });
      assert.equal(events, 1);
      assert.deepEqual(await control.shieldZones(), [
        {
          name: 'a.test.',
          settings: { minNxPerSecond: 5000, budgetFloor: 20, rrl: { responses: 5 }, metrics: true },
        },
      ]);
      // PUT replaces every member.
      const smaller = await req('PUT', shield('A.Test'), { rrl: { nxdomains: 7 } });
      assert.deepEqual(smaller.json.settings, { rrl: { nxdomains: 7 } });
      const audit = await req('GET', '/api/v1/audit?zone=a.test&action=zone.shield');
      assert.equal(audit.json.items.length, 2);
      assert.deepEqual(audit.json.items[1].detail.to, {
        minNxPerSecond: 5000,
        budgetFloor: 20,
        rrl: { responses: 5 },
        metrics: true,
      });
      assert.equal(audit.json.items[1].detail.comment, 'pin');
      const del = await req('DELETE', shield('a.test'));
      assert.equal(del.status, 200);
      assert.deepEqual(del.json, { zone: 'a.test.', settings: {} });
      assert.deepEqual(await control.shieldZones(), []);
      assert.equal(events, 3);
      off();
    });

    it('refuses a bad value with the field named, and changes nothing', async () => {
      await zone('bad.test');
      await req('PUT', shield('bad.test'), { budgetFloor: 10 });
      const cases: [unknown, string][] = [
        [{ minNxPerSecond: 0 }, 'minNxPerSecond'],
        [{ budgetFloor: -1 }, 'budgetFloor'],
        [{ rrl: { responses: 1e8 } }, 'responses'],
        [{ rrl: { bogus: 1 } }, 'bogus'],
        [{ bogus: true }, 'bogus'],
        [{ metrics: 'yes' }, 'metrics'],
        [{ minNxPerSecond: 'many' }, 'minNxPerSecond'],
      ];
      for (const [body, field] of cases) {
        const r = await req('PUT', shield('bad.test'), body);
        assert.ok(r.status === 400 || r.status === 422, `${JSON.stringify(body)} → ${r.status}`);
        assert.match(JSON.stringify(r.json), new RegExp(field), JSON.stringify(r.json));
      }
      // The control plane checks the same rules without the HTTP schema (other callers).
      await assert.rejects(
        control.setZoneShield(control.systemPrincipal(), 'bad.test', { minNxPerSecond: 1e8 }),
        {
          code: 'CTL_ERR_VALIDATION',
          field: 'settings.minNxPerSecond',
        },
      );
      await assert.rejects(
        control.setZoneShield(control.systemPrincipal(), 'bad.test', { rrl: { nodata: Number.NaN } }),
        {
          field: 'settings.rrl.nodata',
        },
      );
      assert.deepEqual((await req('GET', shield('bad.test'))).json.settings, { budgetFloor: 10 });
      await req('DELETE', shield('bad.test'));
    });

    it('holds the platform-wide caps: zones with settings, zones in the metrics', async () => {
      for (const z of ['c1.test', 'c2.test', 'c3.test', 'c4.test']) await zone(z);
      assert.equal((await req('PUT', shield('c1.test'), { metrics: true })).status, 200);
      const metrics = await req('PUT', shield('c2.test'), { metrics: true });
      assert.equal(metrics.status, 403);
      assert.equal(metrics.json.code, 'CTL_ERR_QUOTA');
      assert.equal(metrics.json.field, 'settings.metrics');
      assert.equal((await req('GET', shield('c2.test'))).json.settings.metrics, undefined);
      assert.equal((await req('PUT', shield('c2.test'), { budgetFloor: 1 })).status, 200);
      assert.equal((await req('PUT', shield('c3.test'), { budgetFloor: 1 })).status, 200);
      const full = await req('PUT', shield('c4.test'), { budgetFloor: 1 });
      assert.equal(full.status, 403);
      assert.equal(full.json.code, 'CTL_ERR_QUOTA');
      assert.match(full.json.error, /at most 3 zones/);
      // Changing a zone that has settings is not adding one.
      assert.equal((await req('PUT', shield('c3.test'), { budgetFloor: 2 })).status, 200);
      // A deleted zone's settings go with it, and free its place.
      assert.equal((await req('DELETE', '/api/v1/zones/c3.test')).status, 204);
      assert.equal(
        (await control.shieldZones()).some((z) => z.name === 'c3.test.'),
        false,
      );
      assert.equal((await req('PUT', shield('c4.test'), { budgetFloor: 1 })).status, 200);
      for (const z of ['c1.test', 'c2.test', 'c4.test']) await req('DELETE', shield(z));
    });

    it('tenants: their own zones only, within the operator’s ceilings, never over the operator’s pin', async () => {
      const t1 = await tenant('shield-t1');
      const t2 = await tenant('shield-t2');
      const reader = await req('POST', '/api/v1/tokens', {
        name: 'reader',
        accountId: t1.accountId,
        scope: { access: 'read' },
      });
      await zone('t1.test', t1.key);
      await zone('t2.test', t2.key);
      // Another account's zone is not found, for reading and for writing, whatever the body.
      assert.equal((await req('GET', shield('t2.test'), undefined, t1.key)).status, 404);
      assert.equal((await req('PUT', shield('t2.test'), { budgetFloor: 1 }, t1.key)).status, 404);
      // A body the schema refuses is 400 before any zone is looked up: the same for a zone that
      // does not exist, so it says nothing of another account's.
      assert.equal((await req('PUT', shield('t2.test'), { bogus: 1 }, t1.key)).status, 400);
      assert.equal((await req('PUT', shield('none.test'), { bogus: 1 }, t1.key)).status, 400);
      assert.equal((await req('DELETE', shield('t2.test'), undefined, t1.key)).status, 404);
      // Within the ceilings.
      const ok = await req('PUT', shield('t1.test'), { minNxPerSecond: 800, rrl: { responses: 40 } }, t1.key);
      assert.equal(ok.status, 200, JSON.stringify(ok.json));
      assert.equal(ok.json.setBy, 'tenant');
      // Over a ceiling, a field not opened, a rate of 0 (no limit), metrics not opened.
      const refused: [unknown, string][] = [
        [{ minNxPerSecond: 5000 }, 'settings.minNxPerSecond'],
        [{ budgetFloor: 10 }, 'settings.budgetFloor'],
        [{ rrl: { responses: 0 } }, 'settings.rrl.responses'],
        [{ rrl: { nodata: 5 } }, 'settings.rrl.nodata'],
        [{ metrics: true }, 'settings.metrics'],
      ];
      for (const [body, field] of refused) {
        const r = await req('PUT', shield('t1.test'), body, t1.key);
        assert.equal(r.status, 403, JSON.stringify(body));
        assert.equal(r.json.field, field);
      }
      assert.deepEqual((await req('GET', shield('t1.test'), undefined, t1.key)).json.settings, {
        minNxPerSecond: 800,
        rrl: { responses: 40 },
      });
      // A read-only token reads, and may not write.
      assert.equal((await req('GET', shield('t1.test'), undefined, reader.json.secret)).status, 200);
      assert.equal(
        (await req('PUT', shield('t1.test'), { minNxPerSecond: 900 }, reader.json.secret)).status,
        403,
      );
      // The operator pins the zone: the tenant can no longer change or remove it.
      assert.equal((await req('PUT', shield('t1.test'), { rrl: { responses: 2 } })).status, 200);
      const pinned = await req('DELETE', shield('t1.test'), undefined, t1.key);
      assert.equal(pinned.status, 403);
      assert.match(pinned.json.error, /set by the operator/);
      assert.deepEqual((await req('GET', shield('t1.test'), undefined, t1.key)).json, {
        zone: 't1.test.',
        settings: { rrl: { responses: 2 } },
        setBy: 'operator',
        updatedAt: (await req('GET', shield('t1.test'))).json.updatedAt,
      });
      await req('DELETE', shield('t1.test'));
    });

    it('per account: a tenant gives at most tenantZones of its zones settings; the operator is not counted', async () => {
      const t = await tenant('shield-cap');
      await zone('cap1.test', t.key);
      await zone('cap2.test', t.key);
      assert.equal((await req('PUT', shield('cap1.test'), { minNxPerSecond: 500 }, t.key)).status, 200);
      const over = await req('PUT', shield('cap2.test'), { minNxPerSecond: 500 }, t.key);
      assert.equal(over.status, 403, JSON.stringify(over.json));
      assert.equal(over.json.code, 'CTL_ERR_QUOTA');
      assert.equal(over.json.field, 'settings');
      assert.match(over.json.error, /zones=N/);
      assert.deepEqual((await req('GET', shield('cap2.test'), undefined, t.key)).json.settings, {});
      // Changing the zone it has is not adding one.
      assert.equal((await req('PUT', shield('cap1.test'), { minNxPerSecond: 600 }, t.key)).status, 200);
      // The operator's pin on another zone of the account neither counts nor is refused.
      assert.equal((await req('PUT', shield('cap2.test'), { budgetFloor: 3 })).status, 200);
      await req('DELETE', shield('cap2.test'));
      // Freed by removing the first, the place takes the second.
      assert.equal((await req('DELETE', shield('cap1.test'), undefined, t.key)).status, 200);
      assert.equal((await req('PUT', shield('cap2.test'), { minNxPerSecond: 500 }, t.key)).status, 200);
      await req('DELETE', shield('cap2.test'));
    });

    it('PowerDNS API: the settings as X-SWITCHBOARD-SHIELD zone metadata', async () => {
      const Z = '/api/v1/servers/localhost/zones';
      await zone('pdns.test');
      const t = await tenant('shield-pdns');
      await zone('pdns-other.test', t.key);
      const kind = `${Z}/pdns.test./metadata/X-SWITCHBOARD-SHIELD`;
      assert.deepEqual((await req('GET', kind)).json, {
        kind: 'X-SWITCHBOARD-SHIELD',
        metadata: [],
        type: 'Metadata',
      });
      const put = await req('PUT', kind, { metadata: ['min-nx=5000,responses=5,metrics=on'] });
      assert.equal(put.status, 200, JSON.stringify(put.json));
      assert.deepEqual(put.json.metadata, ['min-nx=5000,responses=5,metrics=on']);
      assert.deepEqual((await req('GET', shield('pdns.test'))).json.settings, {
        minNxPerSecond: 5000,
        rrl: { responses: 5 },
        metrics: true,
      });
      assert.deepEqual((await req('GET', `${Z}/pdns.test./metadata`)).json, [
        { kind: 'SOA-EDIT-API', metadata: ['DEFAULT'], type: 'Metadata' },
        { kind: 'X-SWITCHBOARD-SHIELD', metadata: ['min-nx=5000,responses=5,metrics=on'], type: 'Metadata' },
      ]);
      // A bad field: 422 naming it, nothing changed; another kind is not set here.
      const bad = await req('PUT', kind, { metadata: ['budget=-1'] });
      assert.equal(bad.status, 422);
      assert.match(bad.json.error, /budget must be a number/);
      assert.equal((await req('PUT', kind, { metadata: ['a=1', 'b=2'] })).status, 422);
      assert.equal(
        (await req('PUT', `${Z}/pdns.test./metadata/ALSO-NOTIFY`, { metadata: ['192.0.2.1'] })).status,
        422,
      );
      assert.deepEqual((await req('GET', shield('pdns.test'))).json.settings.rrl, { responses: 5 });
      // Another account's zone: 404, whatever the body.
      assert.equal(
        (await req('GET', `${Z}/pdns-other.test./metadata`, undefined, (await tenant('shield-pdns2')).key))
          .status,
        404,
      );
      assert.equal(
        (await req('PUT', kind.replace('pdns.test.', 'pdns.test.'), { metadata: ['budget=1'] }, t.key))
          .status,
        404,
      );
      assert.equal((await req('PUT', kind, { metadata: ['bogus'] }, t.key)).status, 404);
      // Removed.
      assert.equal((await req('DELETE', kind)).status, 204);
      assert.deepEqual((await req('GET', shield('pdns.test'))).json.settings, {});
      assert.equal((await req('GET', `${Z}/pdns.test./metadata`)).json.length, 1);
    });

    it('without --shield-tenant, tenants read only', async () => {
      const closed = await openControlPlane({ dataDir: mkdtempSync(join(tmpdir(), 'sb-shieldapi-closed-')) });
      try {
        const sys = closed.systemPrincipal();
        const acc = await closed.createAccount(sys, { name: 'x' });
        const tok = await closed.createToken(sys, {
          name: 'x',
          accountId: acc.id,
          scope: { admin: false, access: 'write' },
        });
        await closed.createZone(sys, {
          name: 'x.test',
          accountId: acc.id,
          nameservers: ['ns1.example.net.'],
        });
        const p = await closed.authenticate(tok.secret);
        assert.ok(p);
        assert.deepEqual((await closed.getZoneShield(p, 'x.test')).settings, {});
        await assert.rejects(closed.setZoneShield(p, 'x.test', { minNxPerSecond: 100 }), {
          code: 'CTL_ERR_FORBIDDEN',
          field: 'settings',
        });
      } finally {
        await closed.close();
      }
    });

    it('concurrent writers cannot pass the cap together', async () => {
      const names = ['k1.test', 'k2.test', 'k3.test', 'k4.test', 'k5.test'];
      for (const z of names) await zone(z);
      assert.deepEqual(await control.shieldZones(), []);
      const results = await Promise.all(names.map((z) => req('PUT', shield(z), { budgetFloor: 5 })));
      assert.deepEqual(
        results.map((r) => r.status).sort(),
        [200, 200, 200, 403, 403],
        JSON.stringify(results.map((r) => r.json)),
      );
      assert.equal((await control.shieldZones()).length, 3);
      for (const z of names) await req('DELETE', shield(z));
    });

    it('another replica hears of a change (PostgreSQL NOTIFY)', {
      skip: backend.name !== 'postgres',
    }, async () => {
      assert.ok(db);
      const second = await openControlPlane({ dataDir: dir, database: db.url });
      try {
        await zone('r.test');
        const heard = new Promise<void>((resolve) => second.onShieldChange(resolve));
        await req('PUT', shield('r.test'), { budgetFloor: 3 });
        await heard;
        assert.deepEqual(
          (await second.shieldZones()).find((z) => z.name === 'r.test.'),
          { name: 'r.test.', settings: { budgetFloor: 3 } },
        );
      } finally {
        await second.close();
      }
    });
  });
