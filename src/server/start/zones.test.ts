import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Name } from '../../wire/name.js';
import type { ZonePush, ZonesMessage } from './protocol.js';
import { parseTextPush } from './zone-text.js';
import { ServedZoneTable } from './zones.js';

function zoneText(name: string, serial: number, address: string): string {
  return (
    `${name} 3600 IN SOA ns1.${name} hostmaster.${name} ${serial} 10800 3600 604800 3600\n` +
    `${name} 3600 IN NS ns1.${name}\n` +
    `www.${name} 300 IN A ${address}\n`
  );
}

function push(name: string, version: number, address: string | null, reset = false): ZonePush {
  const p: ZonePush = {
    name,
    version,
    serial: version,
    text: address === null ? null : zoneText(name, version, address),
  };
  if (reset) p.reset = true;
  return p;
}

let seq = 0;
function msg(kind: ZonesMessage['kind'], zones: ZonePush[], last = true): ZonesMessage {
  return { type: 'switchboard:zones', kind, seq: ++seq, last, zones };
}

/** The A address of www.<name> as served, if any. */
function addressOf(table: ServedZoneTable, name: string): string | undefined {
  const rdata = table
    .catalog()
    .get(Name.parse(name))
    ?.get(Name.parse(`www.${name}`))
    ?.get(1)?.rdata[0];
  return rdata ? [...rdata].join('.') : undefined;
}

describe('ServedZoneTable', () => {
  test('a snapshot is served only once its last batch is in', () => {
    const t = new ServedZoneTable(parseTextPush);
    let r = t.apply(msg('snapshot', [push('a.test.', 1, '192.0.2.1')], false));
    assert.equal(r.changed, false);
    assert.equal(t.size, 0);
    assert.equal(t.catalog().size, 0);
    r = t.apply(msg('snapshot', [push('b.test.', 3, '192.0.2.2')], true));
    assert.equal(r.changed, true);
    assert.equal(r.snapshotDone, true);
    assert.equal(t.size, 2);
    assert.equal(t.catalog().size, 2);
    assert.equal(t.versionOf('b.test.'), 3);
  });

  test('an update replaces one zone and keeps the others parsed as they were', () => {
    const t = new ServedZoneTable(parseTextPush);
    t.apply(msg('snapshot', [push('a.test.', 1, '192.0.2.1'), push('b.test.', 1, '192.0.2.2')]));
    const before = t.catalog().get(Name.parse('b.test.'));
    const r = t.apply(msg('update', [push('a.test.', 2, '192.0.2.9')]));
    assert.equal(r.changed, true);
    assert.equal(t.versionOf('a.test.'), 2);
    assert.equal(t.catalog().get(Name.parse('b.test.')), before, 'b.test. was not re-parsed');
    assert.equal(addressOf(t, 'a.test.'), '192.0.2.9');
    assert.equal(addressOf(t, 'b.test.'), '192.0.2.2');
  });

  test('an older version never replaces a newer one; the same version is not re-parsed', () => {
    const t = new ServedZoneTable(parseTextPush);
    t.apply(msg('snapshot', [push('a.test.', 5, '192.0.2.5')]));
    const zone = t.catalog().get(Name.parse('a.test.'));
    assert.equal(t.apply(msg('update', [push('a.test.', 4, '192.0.2.4')])).changed, false);
    assert.equal(t.apply(msg('update', [push('a.test.', 5, '192.0.2.5')])).changed, false);
    assert.equal(t.versionOf('a.test.'), 5);
    assert.equal(t.catalog().get(Name.parse('a.test.')), zone);
    // A stale deletion is ignored too.
    assert.equal(t.apply(msg('update', [push('a.test.', 4, null)])).changed, false);
    assert.equal(t.size, 1);
  });

  test("a 'moved' push of the same version is taken (the primary compacted its packs)", () => {
    const t = new ServedZoneTable(parseTextPush);
    t.apply(msg('snapshot', [push('a.test.', 5, '192.0.2.5')]));
    const zone = t.catalog().get(Name.parse('a.test.'));
    // The same version again is skipped, unless it says the image moved.
    assert.equal(t.apply(msg('update', [push('a.test.', 5, '192.0.2.5')])).changed, false);
    const moved = { ...push('a.test.', 5, '192.0.2.5'), moved: true };
    assert.equal(t.apply(msg('update', [moved])).changed, true);
    assert.notEqual(t.catalog().get(Name.parse('a.test.')), zone);
    assert.equal(t.versionOf('a.test.'), 5);
    assert.equal(addressOf(t, 'a.test.'), '192.0.2.5');
    // An older version never comes back, moved or not.
    assert.equal(
      t.apply(msg('update', [{ ...push('a.test.', 4, '192.0.2.4'), moved: true }])).changed,
      false,
    );
  });

  test('a reset takes a lower version (the zone was deleted and created again)', () => {
    const t = new ServedZoneTable(parseTextPush);
    t.apply(msg('snapshot', [push('a.test.', 5, '192.0.2.5')]));
    assert.equal(t.apply(msg('update', [push('a.test.', 1, '192.0.2.1', true)])).changed, true);
    assert.equal(t.versionOf('a.test.'), 1);
    assert.equal(addressOf(t, 'a.test.'), '192.0.2.1');
  });

  test('a deletion drops the zone; a new zone is added', () => {
    const t = new ServedZoneTable(parseTextPush);
    t.apply(msg('snapshot', [push('a.test.', 2, '192.0.2.1')]));
    let r = t.apply(msg('update', [push('a.test.', 2, null), push('c.test.', 1, '192.0.2.3')]));
    assert.equal(r.changed, true);
    assert.equal(t.catalog().get(Name.parse('a.test.')), undefined);
    assert.notEqual(t.catalog().get(Name.parse('c.test.')), undefined);
    r = t.apply(msg('update', [push('zzz.test.', 1, null)]));
    assert.equal(r.changed, false, 'deleting an unknown zone changes nothing');
  });

  test('a zone that does not parse keeps its previous version and is reported', () => {
    const t = new ServedZoneTable(parseTextPush);
    t.apply(msg('snapshot', [push('a.test.', 1, '192.0.2.1')]));
    const bad: ZonePush = {
      name: 'a.test.',
      version: 2,
      serial: 2,
      text: 'a.test. 300 IN A not-an-address\n',
    };
    const r = t.apply(msg('update', [bad]));
    assert.equal(r.changed, false);
    assert.equal(r.errors.length, 1);
    assert.match(r.errors[0], /^a\.test\.: /);
    assert.equal(t.versionOf('a.test.'), 1);
  });

  test('zones the zone checks would refuse (NS without glue) are still served', () => {
    const t = new ServedZoneTable(parseTextPush);
    const text = 'n.test. 60 IN SOA ns.elsewhere. h.n.test. 1 1 1 1 1\nn.test. 60 IN NS ns1.n.test.\n';
    const r = t.apply(msg('snapshot', [{ name: 'n.test.', version: 1, serial: 1, text }]));
    assert.deepEqual(r.errors, []);
    assert.equal(t.size, 1);
  });

  test('release: every zone that stops being served is told once (replaced, removed, left out of a snapshot)', () => {
    const released: string[] = [];
    const t = new ServedZoneTable(parseTextPush, (z) => released.push(`${z.origin} ${z.serial}`));
    t.apply(msg('snapshot', [push('a.test.', 1, '192.0.2.1'), push('b.test.', 1, '192.0.2.2')], false));
    // The same zone twice in one snapshot: the first is let go.
    t.apply(msg('snapshot', [push('a.test.', 2, '192.0.2.1'), push('c.test.', 1, '192.0.2.3')]));
    assert.deepEqual(released, ['a.test. 1']);
    t.apply(msg('update', [push('b.test.', 2, '192.0.2.4'), push('c.test.', 2, null)]));
    assert.deepEqual(released, ['a.test. 1', 'b.test. 1', 'c.test. 1']);
    // An older version is ignored: nothing released.
    t.apply(msg('update', [push('b.test.', 1, '192.0.2.5')]));
    assert.equal(released.length, 3);
    // A new snapshot without b: b is let go; a is taken again (a new object): the old a too.
    t.apply(msg('snapshot', [push('a.test.', 2, '192.0.2.1')]));
    assert.deepEqual(released.slice(3).sort(), ['a.test. 2', 'b.test. 2']);
    assert.equal(addressOf(t, 'a.test.'), '192.0.2.1');
  });
});
