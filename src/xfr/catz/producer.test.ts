/**
 * The catalog planner (RFC 9432 producer): who is a member of what, unique ids, the changes for
 * a zone created, deleted, re-created, moved between catalogs; a reconciliation against what a
 * catalog holds; 100,000 members planned and applied as additions, then one change per event.
 * @module
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addMember, emptyCatalogText, memberId, memberIdOf, memberOwner } from './format.js';
import { type CatalogMemberZone, CatalogPlanner } from './producer.js';

const FLEET = 'catalog.switchboard.invalid.';

function zone(name: string, extra: Partial<CatalogMemberZone> = {}): CatalogMemberZone {
  return {
    name,
    id: `id-${name}`,
    createdAt: '2026-12-04T00:00:00.000Z',
    accountId: 'acct-a',
    kind: 'Native',
    serial: 1,
    catalog: null,
    ...extra,
  };
}

describe('catalog zones: format', () => {
  test('member ids: one label, stable, new for a re-created zone, per catalog', () => {
    const id = memberId(FLEET, 'zone-1', '2026-12-04T00:00:00.000Z');
    assert.match(id, /^[0-9a-f]{20}$/);
    assert.equal(memberId(FLEET.toUpperCase(), 'zone-1', '2026-12-04T00:00:00.000Z'), id);
    assert.notEqual(memberId(FLEET, 'zone-2', '2026-12-04T00:00:00.000Z'), id);
    assert.notEqual(memberId(FLEET, 'zone-1', '2026-12-04T00:00:01.000Z'), id);
    assert.notEqual(memberId('cat.example.', 'zone-1', '2026-12-04T00:00:00.000Z'), id);
    assert.equal(memberOwner(FLEET, id), `${id}.zones.${FLEET}`);
    assert.equal(memberIdOf(FLEET, `${id}.ZONES.${FLEET}`), id);
    assert.equal(memberIdOf(FLEET, `a.b.zones.${FLEET}`), undefined);
    assert.equal(memberIdOf(FLEET, `version.${FLEET}`), undefined);
  });

  test('an empty catalog: SOA, NS invalid., version "2"', () => {
    const text = emptyCatalogText('cat.example');
    assert.match(text, /^\$ORIGIN cat\.example\.$/m);
    assert.match(text, /^@ 0 IN NS invalid\.$/m);
    assert.match(text, /^version 0 IN TXT "2"$/m);
  });
});

describe('catalog zones: planner', () => {
  test('groups (§4.4.2) and a move between Producer zones with coo (§4.4.1), then the hold ends', () => {
    let now = 1_000_000;
    const p = new CatalogPlanner(undefined, { cooHoldMs: 60_000, now: () => now });
    p.setProducers([
      { name: 'cat1.a.', accountId: 'acct-a' },
      { name: 'cat2.a.', accountId: 'acct-a' },
      { name: 'cat.b.', accountId: 'acct-b' },
    ]);
    const apply = (plan: Map<string, ReturnType<typeof addMember>[]>) => {
      for (const [c, changes] of plan) p.applied(c, changes);
    };
    const owners = (plan: Map<string, ReturnType<typeof addMember>[]>, c: string) =>
      (plan.get(c) ?? []).map(
        (x) =>
          `${x.op} ${x.type} ${x.name.split('.')[0]}${x.op === 'replace' ? ` ${x.records.map((r) => r.content).join(' ')}` : ''}`,
      );
    // A member with groups: its PTR and one TXT per group.
    let plan = p.reconcile([zone('m.a.', { catalog: 'cat1.a.', groups: ['red', 'blue'] })]);
    const id = memberId('cat1.a.', 'id-m.a.', '2026-12-04T00:00:00.000Z');
    assert.deepEqual(owners(plan, 'cat1.a.'), [`replace PTR ${id} m.a.`, 'replace TXT group "blue" "red"']);
    apply(plan);
    // The same again: nothing; groups changed: only the TXT; removed: deleted.
    assert.equal(
      p.plan(new Map([['m.a.', zone('m.a.', { catalog: 'cat1.a.', groups: ['blue', 'red'] })]])).size,
      0,
    );
    plan = p.plan(new Map([['m.a.', zone('m.a.', { catalog: 'cat1.a.', groups: ['green'] })]]));
    assert.deepEqual(owners(plan, 'cat1.a.'), ['replace TXT group "green"']);
    apply(plan);
    // Moved to cat2.a. (the control plane records where from, when, and the id's catalog): the
    // same unique id in cat2.a.; cat1.a. keeps it with coo naming cat2.a.
    const moved = zone('m.a.', {
      catalog: 'cat2.a.',
      groups: ['green'],
      cooFrom: 'cat1.a.',
      cooAt: now,
      idFrom: 'cat1.a.',
    });
    plan = p.plan(new Map([['m.a.', moved]]));
    assert.deepEqual([...plan.keys()], ['cat1.a.', 'cat2.a.'], 'the old catalog (coo) written first');
    assert.deepEqual(owners(plan, 'cat2.a.'), [`replace PTR ${id} m.a.`, 'replace TXT group "green"']);
    assert.deepEqual(owners(plan, 'cat1.a.'), ['replace PTR coo cat2.a.']);
    apply(plan);
    assert.equal(p.plan(new Map([['m.a.', moved]])).size, 0);
    assert.equal(p.nextCooEnd(), now + 60_000);
    assert.deepEqual(p.cooEnded(), []);
    // The hold over: it leaves cat1.a. (PTR, group and coo).
    now += 60_000;
    assert.deepEqual(p.cooEnded(), ['m.a.']);
    plan = p.plan(new Map([['m.a.', moved]]));
    assert.deepEqual(owners(plan, 'cat1.a.'), [`delete PTR ${id}`, 'delete TXT group', 'delete PTR coo']);
    assert.equal(plan.get('cat2.a.'), undefined);
    apply(plan);
    // coo only between Producer zones of the zone's account.
    const other = zone('m.a.', {
      catalog: 'cat2.a.',
      groups: ['green'],
      cooFrom: 'cat.b.',
      cooAt: now,
      idFrom: 'cat1.a.',
    });
    assert.equal(p.plan(new Map([['m.a.', other]])).size, 0);
    // What a catalog holds is read back with its properties; properties of no member are removed.
    const q = new CatalogPlanner(undefined, { cooHoldMs: 60_000, now: () => now });
    q.setProducers([{ name: 'cat2.a.', accountId: 'acct-a' }]);
    const cleanup = q.load('cat2.a.', [
      { owner: `${id}.zones.cat2.a.`, target: 'm.a.' },
      { owner: `group.${id}.zones.cat2.a.`, target: '"green"', type: 'TXT' },
      { owner: 'group.stale.zones.cat2.a.', target: '"x"', type: 'TXT' },
      { owner: 'coo.stale.zones.cat2.a.', target: 'cat9.a.' },
    ]);
    assert.deepEqual(
      cleanup.map((c) => `${c.op} ${c.name}`),
      ['delete group.stale.zones.cat2.a.', 'delete coo.stale.zones.cat2.a.'],
    );
    assert.equal(q.reconcile([moved]).size, 0);
  });

  test('the fleet lists served zones; Producers and never-transferred Slave zones are not members', () => {
    const p = new CatalogPlanner(FLEET);
    p.setProducers([{ name: 'cat.a.', accountId: 'acct-a' }]);
    const plan = p.reconcile([
      zone('a.'),
      zone('slave.', { kind: 'Slave', serial: 0 }),
      zone('slave2.', { kind: 'Slave', serial: 7 }),
      zone('cat.a.', { kind: 'Producer' }),
      zone(FLEET, { kind: 'Producer' }),
    ]);
    const fleet = plan.get(FLEET) ?? [];
    assert.deepEqual(fleet.map((c) => (c.op === 'replace' ? c.records[0].content : '')).sort(), [
      'a.',
      'slave2.',
    ]);
    assert.equal(plan.get('cat.a.'), undefined);
  });

  test('a per-account catalog lists its own account’s zones that name it', () => {
    const p = new CatalogPlanner(undefined);
    p.setProducers([{ name: 'cat.a.', accountId: 'acct-a' }]);
    const plan = p.reconcile([
      zone('one.a.', { catalog: 'cat.a.' }),
      zone('b.', { accountId: 'acct-b', catalog: 'cat.a.' }),
      zone('other.a.', { catalog: 'missing.a.' }),
    ]);
    const changes = plan.get('cat.a.') ?? [];
    assert.equal(changes.length, 1);
    assert.deepEqual(
      changes[0],
      addMember('cat.a.', memberId('cat.a.', 'id-one.a.', zone('x').createdAt), 'one.a.'),
    );
  });

  test('created, unchanged, kind changed, deleted, re-created, moved: one change each', () => {
    const p = new CatalogPlanner(FLEET);
    p.setProducers([
      { name: 'cat1.', accountId: 'acct-a' },
      { name: 'cat2.', accountId: 'acct-a' },
    ]);
    const apply = (zones: Map<string, CatalogMemberZone | undefined>) => {
      const plan = p.plan(zones);
      for (const [c, changes] of plan) p.applied(c, changes);
      return plan;
    };
    let plan = apply(new Map([['z.', zone('z.', { catalog: 'cat1.' })]]));
    assert.equal(plan.get(FLEET)?.length, 1);
    assert.equal(plan.get('cat1.')?.length, 1);
    const id = p.idOf(FLEET, 'z.');
    assert.ok(id);
    // Nothing changed; the kind changed: nothing to write.
    assert.equal(apply(new Map([['z.', zone('z.', { catalog: 'cat1.' })]])).size, 0);
    assert.equal(apply(new Map([['z.', zone('z.', { catalog: 'cat1.', kind: 'Master' })]])).size, 0);
    // Moved to cat2: removed from cat1, added to cat2, the fleet untouched.
    plan = apply(new Map([['Z.', zone('z.', { catalog: 'cat2.' })]]));
    assert.deepEqual([...plan.keys()].sort(), ['cat1.', 'cat2.']);
    assert.equal(plan.get('cat1.')?.[0].op, 'delete');
    // Deleted: removed from both.
    plan = apply(new Map([['z.', undefined]]));
    assert.deepEqual([...plan.keys()].sort(), ['cat2.', FLEET].sort());
    assert.equal(p.size(FLEET), 0);
    // Re-created (a new internal id): a new unique id.
    apply(new Map([['z.', zone('z.', { id: 'another' })]]));
    assert.notEqual(p.idOf(FLEET, 'z.'), id);
    // Re-created between two batches: the old id removed and the new one added in one plan.
    const before = p.idOf(FLEET, 'z.') as string;
    plan = apply(new Map([['z.', zone('z.', { id: 'third' })]]));
    const ops = plan.get(FLEET) ?? [];
    assert.deepEqual(
      ops.map((c) => c.op),
      ['delete', 'replace'],
    );
    assert.ok(ops[0].name.startsWith(before));
  });

  test('load: a catalog as stored; stray owners ignored, a zone listed twice cleaned, gone zones removed', () => {
    const p = new CatalogPlanner(FLEET);
    const id = memberId(FLEET, 'id-a.', zone('a.').createdAt);
    const cleanup = p.load(FLEET, [
      { owner: memberOwner(FLEET, id), target: 'a.' },
      { owner: memberOwner(FLEET, 'dup'), target: 'A.' },
      { owner: memberOwner(FLEET, 'gone'), target: 'gone.' },
      { owner: `version.${FLEET}`, target: 'x.' },
    ]);
    assert.equal(cleanup.length, 1);
    assert.equal(cleanup[0].name, memberOwner(FLEET, 'dup'));
    p.applied(FLEET, cleanup);
    const plan = p.reconcile([zone('a.')]);
    assert.deepEqual(
      plan.get(FLEET)?.map((c) => [c.op, c.name]),
      [['delete', memberOwner(FLEET, 'gone')]],
    );
  });

  test('100,000 members: planned once, then each event costs one change', () => {
    const p = new CatalogPlanner(FLEET);
    const zones: CatalogMemberZone[] = [];
    for (let i = 0; i < 100_000; i++) zones.push(zone(`z${i}.example.`));
    const plan = p.reconcile(zones);
    assert.equal(plan.get(FLEET)?.length, 100_000);
    p.applied(FLEET, plan.get(FLEET) ?? []);
    assert.equal(p.size(FLEET), 100_000);
    assert.equal(p.reconcile(zones).size, 0);
    const one = p.plan(new Map([['z5.example.', undefined]]));
    assert.equal(one.get(FLEET)?.length, 1);
  });
});
