/**
 * Catalog zones in the control plane (docs/TRANSFERS.md "Catalog zones"), on SQLite and
 * PostgreSQL: the fleet catalog made once in the system account (hidden from lists, not
 * deletable, its name refused to a tenant), a tenant's Producer zone (generated content, not
 * editable, kind fixed), the `catalog` field's rules (same account, a Producer, not a Producer
 * member, '' removes; a deleted Producer clears it), what the writer reads and writes, the
 * transfer list marking catalog zones; with PostgreSQL a second replica hears the `catalog`
 * setting.
 * @module
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { postgresSkipReason, startPostgres } from '../../test/helpers/postgres.js';
import { addMember, memberId, removeMember } from '../xfr/catz/format.js';
import { openControlPlane } from './index.js';
import { ControlError, type ControlPlane, type Principal, type ZoneSettingsChange } from './types.js';

const FLEET = 'catalog.switchboard.invalid.';
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'sb-catz-'));
  dirs.push(d);
  return d;
};

async function rejects(p: Promise<unknown>, code: string, field?: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ControlError, String(err));
    assert.equal(err.code, code, err.message);
    if (field !== undefined) assert.equal(err.field, field, err.message);
    return true;
  });
}

async function tenant(cp: ControlPlane, name: string): Promise<Principal> {
  const admin = cp.systemPrincipal();
  const account = await cp.createAccount(admin, { name });
  const tok = await cp.createToken(admin, {
    name,
    accountId: account.id,
    scope: { admin: false, access: 'write' },
  });
  return (await cp.authenticate(tok.secret, '192.0.2.7')) as Principal;
}

async function exercise(cp: ControlPlane): Promise<void> {
  const admin = cp.systemPrincipal();
  assert.ok(cp.ensureFleetCatalog && cp.catalogSnapshot && cp.catalogZonesNamed && cp.writeCatalog);
  await cp.ensureFleetCatalog(FLEET);
  await cp.ensureFleetCatalog(FLEET); // once
  const a = await tenant(cp, 'a');
  const b = await tenant(cp, 'b');
  await rejects(cp.createAccount(admin, { name: 'switchboard-system' }), 'CTL_ERR_CONFLICT', 'name');
  // Hidden from an administrator's lists of every zone and account; not deletable.
  assert.ok(!(await cp.listZones(admin)).items.some((z) => z.name === FLEET));
  assert.ok(!(await cp.listAccounts(admin)).items.some((x) => x.name === 'switchboard-system'));
  await rejects(cp.deleteZone(admin, FLEET), 'CTL_ERR_FORBIDDEN');
  await rejects(cp.getZone(a, FLEET), 'CTL_ERR_NOT_FOUND');

  // A tenant's Producer zone: generated content, not editable, its kind fixed.
  const cat = await cp.createZone(a, { name: 'cat.a.test', kind: 'Producer' });
  assert.equal(cat.kind, 'Producer');
  assert.deepEqual(cat.rrsets.map((r) => `${r.name} ${r.type}`).sort(), [
    'cat.a.test. NS',
    'cat.a.test. SOA',
    'version.cat.a.test. TXT',
  ]);
  await rejects(
    cp.changeRRsets(a, 'cat.a.test', [{ op: 'delete', name: 'version.cat.a.test.', type: 'TXT' }]),
    'CTL_ERR_VALIDATION',
    'kind',
  );
  await rejects(cp.updateZoneMetadata(a, 'cat.a.test', { kind: 'Native' }), 'CTL_ERR_VALIDATION', 'kind');
  await rejects(
    cp.createZone(a, { name: 'cat2.a.test', kind: 'Producer', zonefile: '@ 60 IN TXT "x"\n' }),
    'CTL_ERR_VALIDATION',
    'zonefile',
  );

  // The catalog field.
  const heard: ZoneSettingsChange[] = [];
  const off = cp.onSettingsChange((c) => {
    if (c.kinds.includes('catalog')) heard.push(c);
  });
  await cp.createZone(a, { name: 'one.a.test', nameservers: ['ns1.example.net.'], catalog: 'cat.a.test' });
  assert.equal((await cp.getZone(a, 'one.a.test')).catalog, 'cat.a.test.');
  await cp.createZone(b, { name: 'b.test', nameservers: ['ns1.example.net.'] });
  await rejects(
    cp.updateZoneMetadata(b, 'b.test', { catalog: 'cat.a.test.' }),
    'CTL_ERR_VALIDATION',
    'catalog',
  );
  await rejects(
    cp.updateZoneMetadata(a, 'cat.a.test', { catalog: 'cat.a.test.' }),
    'CTL_ERR_VALIDATION',
    'catalog',
  );
  await rejects(
    cp.updateZoneMetadata(a, 'one.a.test', { catalog: 'one.a.test.' }),
    'CTL_ERR_VALIDATION',
    'catalog',
  );
  await rejects(
    cp.updateZoneMetadata(a, 'one.a.test', { catalog: 'no such' }),
    'CTL_ERR_VALIDATION',
    'catalog',
  );
  await cp.updateZoneMetadata(a, 'one.a.test', { catalog: '' });
  assert.equal((await cp.getZone(a, 'one.a.test')).catalog, undefined);
  await cp.updateZoneMetadata(a, 'one.a.test', { catalog: 'CAT.a.test' });
  assert.equal((await cp.getZone(a, 'one.a.test')).catalog, 'cat.a.test.');
  off();
  assert.ok(heard.length >= 3, JSON.stringify(heard));

  // What the writer reads: every zone, the Producers, each catalog's PTRs; and writes.
  const snap = await cp.catalogSnapshot();
  assert.deepEqual(snap.producers.map((p) => p.name).sort(), ['cat.a.test.', FLEET]);
  assert.equal(snap.zones.find((z) => z.name === 'one.a.test.')?.catalog, 'cat.a.test.');
  assert.deepEqual(snap.ptrs.get(FLEET), []);
  const one = snap.zones.find((z) => z.name === 'one.a.test.');
  assert.ok(one);
  const id = memberId(FLEET, one.id, one.createdAt);
  const wrote = await cp.writeCatalog(FLEET, [addMember(FLEET, id, 'one.a.test.')]);
  assert.equal(wrote.changed, true);
  assert.deepEqual((await cp.catalogSnapshot()).ptrs.get(FLEET), [
    { owner: `${id}.zones.${FLEET}`, target: 'one.a.test.' },
  ]);
  assert.equal((await cp.writeCatalog(FLEET, [addMember(FLEET, id, 'one.a.test.')])).changed, false);
  assert.deepEqual(await cp.catalogPtrs?.(FLEET), [{ owner: `${id}.zones.${FLEET}`, target: 'one.a.test.' }]);
  assert.deepEqual(await cp.catalogPtrs?.('one.a.test.'), []);
  await cp.writeCatalog(FLEET, [removeMember(FLEET, id)]);
  assert.deepEqual((await cp.catalogSnapshot()).ptrs.get(FLEET), []);
  await rejects(
    cp.writeCatalog('one.a.test.', [addMember('one.a.test.', 'x', 'b.test.')]),
    'CTL_ERR_NOT_FOUND',
  );
  const named = await cp.catalogZonesNamed(['one.a.test.', 'gone.test.']);
  assert.equal(named.zones.get('gone.test.'), undefined);
  assert.equal(named.zones.get('one.a.test.')?.catalog, 'cat.a.test.');

  // Groups (CATALOG-GROUP): checked, kept sorted; refused for a zone in no catalog.
  assert.ok(cp.setCatalogGroups && cp.catalogGroups);
  assert.deepEqual(await cp.setCatalogGroups(a, 'one.a.test', ['red', 'blue', 'red']), ['blue', 'red']);
  assert.deepEqual(await cp.catalogGroups(a, 'one.a.test.'), ['blue', 'red']);
  await rejects(cp.setCatalogGroups(a, 'one.a.test', ['no spaces']), 'CTL_ERR_VALIDATION', 'CATALOG-GROUP');
  await rejects(cp.setCatalogGroups(a, 'one.a.test', 'red'), 'CTL_ERR_VALIDATION', 'CATALOG-GROUP');
  await rejects(cp.setCatalogGroups(a, 'cat.a.test', ['red']), 'CTL_ERR_VALIDATION', 'CATALOG-GROUP');
  await rejects(cp.catalogGroups(b, 'one.a.test'), 'CTL_ERR_NOT_FOUND');
  // Moved to a second Producer zone of the account: groups kept, where from and when recorded,
  // the unique id's catalog kept (the writer lists it in both, coo in the old one, for a while).
  await cp.createZone(a, { name: 'cat2.a.test.', kind: 'Producer' });
  await cp.updateZoneMetadata(a, 'one.a.test', { catalog: 'cat2.a.test.' });
  let moved = (await cp.catalogZonesNamed(['one.a.test.'])).zones.get('one.a.test.');
  assert.equal(moved?.catalog, 'cat2.a.test.');
  assert.deepEqual(moved?.groups, ['blue', 'red']);
  assert.equal(moved?.cooFrom, 'cat.a.test.');
  assert.equal(moved?.idFrom, 'cat.a.test.');
  assert.ok(moved?.cooAt !== undefined && Math.abs(moved.cooAt - Date.now()) < 60_000);
  // And back: from cat2 now, the id still made from the first catalog's name.
  await cp.updateZoneMetadata(a, 'one.a.test', { catalog: 'cat.a.test.' });
  moved = (await cp.catalogZonesNamed(['one.a.test.'])).zones.get('one.a.test.');
  assert.equal(moved?.cooFrom, 'cat2.a.test.');
  assert.equal(moved?.idFrom, 'cat.a.test.');
  await cp.deleteZone(a, 'cat2.a.test.');
  // Removed from its catalog: its groups go with it.
  await cp.updateZoneMetadata(a, 'one.a.test', { catalog: '' });
  assert.deepEqual(await cp.catalogGroups(a, 'one.a.test.'), []);
  await cp.updateZoneMetadata(a, 'one.a.test', { catalog: 'cat.a.test.' });
  moved = (await cp.catalogZonesNamed(['one.a.test.'])).zones.get('one.a.test.');
  assert.equal(moved?.cooFrom, null);
  // Deleted and restored: back in its catalog with its groups (migration 17 kept the row).
  await cp.setCatalogGroups(a, 'one.a.test', ['green']);
  const oneId = (await cp.getZone(a, 'one.a.test')).id;
  await cp.deleteZone(a, 'one.a.test');
  const restored = await cp.restoreZone(a, oneId);
  assert.equal(restored.catalog, 'cat.a.test.');
  assert.equal((await cp.getZone(a, 'one.a.test')).catalog, 'cat.a.test.');
  assert.deepEqual(await cp.catalogGroups(a, 'one.a.test.'), ['green']);

  // The workers' list marks the catalog zones.
  const transfer = await cp.transferZones();
  assert.deepEqual(
    transfer
      .filter((z) => z.catalog === true)
      .map((z) => z.name)
      .sort(),
    ['cat.a.test.', FLEET],
  );

  // A deleted Producer clears its members' field; a tenant cannot take the fleet catalog's name.
  await cp.deleteZone(a, 'cat.a.test');
  assert.equal((await cp.getZone(a, 'one.a.test')).catalog, undefined);
  await rejects(
    cp.createZone(b, { name: FLEET, nameservers: ['ns1.example.net.'] }),
    'CTL_ERR_CONFLICT',
    'name',
  );
}

describe('catalog zones in the control plane (SQLite)', () => {
  test('fleet catalog, Producer zones, the catalog field, the writer’s reads and writes', async () => {
    const cp = await openControlPlane({ dataDir: tempDir() });
    try {
      await exercise(cp);
    } finally {
      await cp.close();
    }
  });
});

describe('catalog zones in the control plane (PostgreSQL)', { skip: postgresSkipReason() }, () => {
  test('the same, and a second replica hears the catalog setting', async () => {
    const db = await startPostgres();
    const dataDir = tempDir();
    const first = await openControlPlane({ dataDir, database: db.url });
    const second = await openControlPlane({ dataDir, database: db.url });
    try {
      const heard = new Promise<ZoneSettingsChange>((resolve) => {
        const off = second.onSettingsChange((c) => {
          if (!c.kinds.includes('catalog') || c.zone !== 'one.a.test.') return;
          off();
          resolve(c);
        });
      });
      await exercise(first);
      assert.deepEqual((await heard).kinds, ['catalog']);
    } finally {
      await second.close();
      await first.close();
      await db.stop();
    }
  });
});
