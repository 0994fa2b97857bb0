/**
 * Consumer zones in the control plane (docs/TRANSFERS.md "Catalog zones (consumer)"), on SQLite
 * and PostgreSQL (migration 15): a catalog transferred in makes its members Slave zones of the
 * account with the catalog's masters; the quota and another account's name refuse members
 * (reported); members are read-only and take the Consumer zone's new masters and key at once;
 * a member removed is deleted, one whose id changed is
 * re-created; a catalog without version "2" changes nothing; deleting the Consumer zone deletes
 * its members. (With real producers: test/e2e/catalog-consumer.test.ts.)
 * @module
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { postgresSkipReason, startPostgres } from '../../test/helpers/postgres.js';
import { OutboundPolicy } from '../xfr/outbound.js';
import { openControlPlane } from './index.js';
import { ControlError, type ControlPlane, type Principal } from './types.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'sb-consumer-'));
  dirs.push(d);
  return d;
};
const outbound = new OutboundPolicy(['192.0.2.0/24']);
const CAT = 'cat.test.';

async function tenant(cp: ControlPlane, name: string, maxZones: number): Promise<Principal> {
  const admin = cp.systemPrincipal();
  const account = await cp.createAccount(admin, { name, maxZones });
  const tok = await cp.createToken(admin, {
    name,
    accountId: account.id,
    scope: { admin: false, access: 'write' },
  });
  return (await cp.authenticate(tok.secret, '192.0.2.7')) as Principal;
}

function catalog(serial: number, members: [string, string][], version = '2'): string {
  return [
    `${CAT} 0 IN SOA invalid. invalid. ${serial} 3600 600 86400 0`,
    `${CAT} 0 IN NS invalid.`,
    `version.${CAT} 0 IN TXT "${version}"`,
    ...members.map(([id, zone]) => `${id}.zones.${CAT} 0 IN PTR ${zone}`),
    '',
  ].join('\n');
}

async function rejects(p: Promise<unknown>, field: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ControlError, String(err));
    assert.equal(err.code, 'CTL_ERR_VALIDATION', err.message);
    assert.equal(err.field, field, err.message);
    return true;
  });
}

async function exercise(cp: ControlPlane): Promise<void> {
  assert.ok(cp.syncConsumer && cp.consumerZones);
  const a = await tenant(cp, 'a', 4);
  const b = await tenant(cp, 'b', 10);
  await cp.createZone(b, { name: 'taken.test.', nameservers: ['ns1.example.'] });
  const made = await cp.createZone(a, { name: CAT, kind: 'Consumer', masters: ['192.0.2.53'] });
  assert.equal(made.kind, 'Consumer');
  await rejects(cp.createZone(a, { name: 'x.test.', kind: 'Consumer' }), 'masters');
  assert.deepEqual(await cp.consumerZones(), [CAT]);
  // Not transferred yet: nothing to do.
  assert.equal(await cp.syncConsumer(CAT), null);
  await cp.transferIn(
    made.id,
    CAT,
    catalog(1, [
      ['id1', 'one.test.'],
      ['id2', 'two.test.'],
      ['idt', 'taken.test.'],
      ['id3', 'three.test.'],
      ['id4', 'four.test.'],
    ]),
    'test',
  );
  let r = await cp.syncConsumer(CAT);
  assert.ok(r);
  // The quota (4): the catalog and three members, in name order; two.test. refused, and the
  // name another account serves.
  assert.equal(r.members, 3);
  assert.equal(r.added, 3);
  assert.deepEqual(
    r.refused.map((x) => x.zone),
    ['taken.test.', 'two.test.'],
  );
  assert.match(r.refused[1].reason, /zone quota \(4\)/);
  const names = async () => (await cp.listZones(a)).items.map((z) => z.name).sort();
  assert.deepEqual(await names(), [CAT, 'four.test.', 'one.test.', 'three.test.']);
  const one = await cp.getZone(a, 'one.test.');
  assert.equal(one.kind, 'Slave');
  assert.equal(one.catalog, CAT);
  assert.deepEqual((await cp.getZoneSecondary(a, 'one.test.'))?.masters, ['192.0.2.53:53']);
  assert.equal((await cp.getZoneSecondary(a, CAT))?.consumer?.members, 3);
  // Read-only members, and a Consumer zone's kind and masters stay.
  await rejects(cp.deleteZone(a, 'one.test.'), 'catalog');
  await rejects(cp.updateZoneMetadata(a, 'one.test.', { kind: 'Native' }), 'catalog');
  await rejects(cp.updateZoneMetadata(a, 'one.test.', { catalog: '' }), 'catalog');
  await rejects(cp.setZoneSecondary(a, 'one.test.', { masters: [] }), 'catalog');
  await rejects(cp.updateZoneMetadata(a, CAT, { kind: 'Native' }), 'kind');
  await rejects(cp.setZoneSecondary(a, CAT, { masters: [] }), 'masters');
  await rejects(cp.changeRRsets(a, CAT, [{ op: 'delete', name: `version.${CAT}`, type: 'TXT' }]), 'kind');
  // The Consumer zone's masters and key changed: its members take them at once (same
  // transaction), not at the catalog's next version.
  await cp.createTsigKey(a, { name: 'moved', algorithm: 'hmac-sha256' });
  await cp.setZoneSecondary(a, CAT, { masters: ['192.0.2.54:5300'], slaveTsigKeyIds: ['moved'] });
  for (const m of ['one.test.', 'three.test.', 'four.test.']) {
    const sec = await cp.getZoneSecondary(a, m);
    assert.deepEqual(sec?.masters, ['192.0.2.54:5300'], m);
    assert.deepEqual(sec?.slaveTsigKeyIds, ['moved.'], m);
  }
  // Another account's zone is untouched; a member's own settings stay refused.
  assert.equal(await cp.getZoneSecondary(b, 'taken.test.'), null);
  await rejects(cp.setZoneSecondary(a, 'one.test.', { masters: ['192.0.2.55'] }), 'catalog');
  // The same sync again changes nothing.
  r = await cp.syncConsumer(CAT);
  assert.equal(r?.added, 0);
  assert.equal(r?.removed, 0);
  // one removed, four re-created (a new id): two fits now.
  const fourBefore = await cp.getZone(a, 'four.test.');
  await cp.transferIn(
    made.id,
    CAT,
    catalog(2, [
      ['id2', 'two.test.'],
      ['idt', 'taken.test.'],
      ['id3', 'three.test.'],
      ['id4b', 'four.test.'],
    ]),
    'test',
  );
  r = await cp.syncConsumer(CAT);
  assert.equal(r?.removed, 1);
  assert.equal(r?.reset, 1);
  assert.equal(r?.added, 1);
  assert.deepEqual(await names(), [CAT, 'four.test.', 'three.test.', 'two.test.']);
  assert.notEqual((await cp.getZone(a, 'four.test.')).id, fourBefore.id);
  // A catalog of another schema version: not used, the members stay.
  await cp.transferIn(made.id, CAT, catalog(3, [], '1'), 'test');
  r = await cp.syncConsumer(CAT);
  assert.match(r?.error ?? '', /not supported/);
  assert.deepEqual(await names(), [CAT, 'four.test.', 'three.test.', 'two.test.']);
  // The Consumer zone deleted: its members with it; b's zone untouched.
  await cp.deleteZone(a, CAT);
  assert.deepEqual(await names(), []);
  assert.equal((await cp.getZone(b, 'taken.test.')).name, 'taken.test.');
}

describe('Consumer zones in the control plane (SQLite)', () => {
  test('members made, refused, removed, re-created; read-only; deleted with the Consumer zone', async () => {
    const cp = await openControlPlane({ dataDir: tempDir(), outbound });
    try {
      await exercise(cp);
    } finally {
      await cp.close();
    }
  });
});

describe('Consumer zones in the control plane (PostgreSQL)', { skip: postgresSkipReason() }, () => {
  test('the same', async () => {
    const db = await startPostgres();
    const cp = await openControlPlane({ dataDir: tempDir(), database: db.url, outbound });
    try {
      await exercise(cp);
    } finally {
      await cp.close();
      await db.stop();
    }
  });
});
