/**
 * The catalog zone consumer (RFC 9432 v2): version check, members, broken member nodes, a zone
 * listed twice, and what a consumer does with a change (`diffCatalog`).
 * @module
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Name } from '../../wire/name.js';
import { parseZoneText } from '../../zone/parser.js';
import { diffCatalog, parseCatalog } from './consume.js';

const catalog = Name.parse('catalog.switchboard.invalid.');

function records(...lines: string[]) {
  return parseZoneText(
    ['@ 0 IN SOA invalid. invalid. 1 60 10 3600 0', '@ 0 IN NS invalid.', ...lines, ''].join('\n'),
    { origin: catalog },
  );
}

describe('parseCatalog', () => {
  test('version 2 with members', () => {
    const r = parseCatalog(
      catalog,
      records(
        'version 0 IN TXT "2"',
        'a1.zones 0 IN PTR one.test.',
        'b2.zones 0 IN PTR two.test.',
        'group.a1.zones 0 IN TXT "x"',
      ),
    );
    assert.ok(r.ok);
    if (!r.ok) return;
    assert.deepEqual(r.members.map((m) => `${m.id} ${m.zone}`).sort(), ['a1 one.test.', 'b2 two.test.']);
    assert.deepEqual(r.ignored, []);
  });

  test('no version, two versions, version 1: not processed', () => {
    assert.match(
      (parseCatalog(catalog, records('a.zones 0 IN PTR one.test.')) as { why: string }).why,
      /0 TXT/,
    );
    assert.equal(parseCatalog(catalog, records('version 0 IN TXT "2"', 'version 0 IN TXT "1"')).ok, false);
    assert.match(
      (
        parseCatalog(catalog, records('version 0 IN TXT "1"', 'a.zones 0 IN PTR one.test.')) as {
          why: string;
        }
      ).why,
      /not supported/,
    );
  });

  test('a member node with two PTRs, a PTR deeper than a member, a member inside the catalog: ignored', () => {
    const r = parseCatalog(
      catalog,
      records(
        'version 0 IN TXT "2"',
        'a.zones 0 IN PTR one.test.',
        'a.zones 0 IN PTR two.test.',
        'coo.b.zones 0 IN PTR three.test.',
        'c.zones 0 IN PTR x.catalog.switchboard.invalid.',
        'd.zones 0 IN PTR four.test.',
      ),
    );
    assert.ok(r.ok);
    if (!r.ok) return;
    assert.deepEqual(
      r.members.map((m) => m.zone.toString()),
      ['four.test.'],
    );
    assert.equal(r.ignored.length, 3);
  });

  test('coo (RFC 9432 §5.4.1): returned with its member; two coo PTRs or one of no member: ignored', () => {
    const r = parseCatalog(
      catalog,
      records(
        'version 0 IN TXT "2"',
        'a.zones 0 IN PTR one.test.',
        'coo.a.zones 0 IN PTR new-catalog.example.',
        'b.zones 0 IN PTR two.test.',
        'coo.b.zones 0 IN PTR x.example.',
        'coo.b.zones 0 IN PTR y.example.',
        'coo.gone.zones 0 IN PTR z.example.',
      ),
    );
    assert.ok(r.ok);
    if (!r.ok) return;
    const byZone = new Map(r.members.map((m) => [m.zone.toString(), m]));
    assert.equal(byZone.get('one.test.')?.coo?.toString(), 'new-catalog.example.');
    assert.equal(byZone.get('two.test.')?.coo, undefined);
    assert.equal(r.ignored.length, 2, r.ignored.join('; '));
  });

  test('a zone listed twice: the ID held is kept, else the first ID', () => {
    const recs = records('version 0 IN TXT "2"', 'b.zones 0 IN PTR one.test.', 'a.zones 0 IN PTR one.test.');
    const fresh = parseCatalog(catalog, recs);
    assert.ok(fresh.ok && fresh.members.length === 1 && fresh.members[0].id === 'a');
    const held = parseCatalog(catalog, recs, new Map([[Name.parse('one.test.').key, 'b']]));
    assert.ok(held.ok && held.members[0].id === 'b' && held.ignored.length === 1);
  });
});

describe('diffCatalog', () => {
  test('added, removed, and a new ID (reset)', () => {
    const k = (n: string) => Name.parse(n).key;
    const have = new Map([
      [k('one.test.'), 'a'],
      [k('two.test.'), 'b'],
    ]);
    const d = diffCatalog(have, [
      { zone: Name.parse('one.test.'), id: 'A' }, // IDs compare without regard to case
      { zone: Name.parse('two.test.'), id: 'b2' },
      { zone: Name.parse('three.test.'), id: 'c' },
    ]);
    assert.deepEqual(
      d.added.map((m) => m.zone.toString()),
      ['three.test.'],
    );
    assert.deepEqual(
      d.reset.map((m) => m.zone.toString()),
      ['two.test.'],
    );
    assert.deepEqual(diffCatalog(have, []).removed.length, 2);
  });
});
