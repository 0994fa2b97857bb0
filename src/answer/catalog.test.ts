import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { zoneFromText } from '../../test/helpers/answer-fixtures.js';
import { seededRandom } from '../../test/helpers/prng.js';
import { Name } from '../wire/name.js';
import type { ServedZone, Zone } from '../zone/zone.js';
import { Catalog, diffCatalogs, type ZoneBase } from './catalog.js';

function zone(origin: string, addr = '192.0.2.1'): Zone {
  return zoneFromText(origin, `$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A ${addr}\n`);
}

/** Calls of Map.prototype.set while `fn` runs (a copy of a map sets every entry). */
function mapSets<T>(fn: () => T): { result: T; sets: number } {
  const original = Map.prototype.set;
  let sets = 0;
  Map.prototype.set = function (this: Map<unknown, unknown>, k: unknown, v: unknown) {
    sets++;
    return original.call(this, k, v);
  };
  try {
    return { result: fn(), sets };
  } finally {
    Map.prototype.set = original;
  }
}

/** What a catalog serves, as origin → zone, read through `get` (not `zones`). */
function served(c: Catalog, origins: readonly string[]): Map<string, ServedZone | undefined> {
  return new Map(origins.map((o) => [o, c.get(Name.parse(o))]));
}

describe('Catalog.withZones costs O(changes)', () => {
  test('a change to one of 10,000 zones does not copy the others', () => {
    const zones = Array.from({ length: 10_000 }, (_, i) => zone(`z${i}.test.`));
    let c = new Catalog(zones);
    for (let i = 0; i < 20; i++) {
      const { result, sets } = mapSets(() =>
        c.withZones(
          [zone(`z${i}.test.`, '192.0.2.2'), zone(`new${i}.test.`)],
          [Name.parse(`z${i + 100}.test.`)],
        ),
      );
      // Two puts into the shared map, two undo entries and one more for the removal: a handful,
      // never one per zone.
      assert.ok(sets < 20, `withZones set ${sets} map entries`);
      assert.equal(result.size, c.size);
      c = result;
    }
    assert.equal(c.size, 10_000);
  });

  test('a superseded catalog still serves exactly what it served', () => {
    const a = zone('a.test.');
    const b = zone('b.test.');
    const sub = zone('sub.a.test.');
    const origins = ['a.test.', 'b.test.', 'sub.a.test.', 'c.test.'];
    const c0 = new Catalog([a, b]);
    const before = served(c0, origins);
    const c1 = c0.withZones([sub, zone('b.test.', '192.0.2.9')], [Name.parse('a.test.')]);
    const c2 = c1.withZones([a, zone('c.test.')]);
    assert.equal(c0.isNewest, false);
    assert.equal(c1.isNewest, false);
    assert.equal(c2.isNewest, true);
    assert.deepEqual(served(c0, origins), before);
    assert.equal(c0.size, 2);
    assert.equal(c0.find(Name.parse('www.sub.a.test.')), a, 'longest match in the old catalog');
    assert.equal(c1.find(Name.parse('www.sub.a.test.')), sub);
    assert.equal(c1.find(Name.parse('x.a.test.')), undefined, 'a.test. was removed in c1');
    assert.equal(c2.find(Name.parse('x.a.test.')), a);
    assert.deepEqual(new Set(c0.zones), new Set([a, b]));
    assert.equal(c1.size, 2);
    assert.equal(c2.size, 4);
  });

  test('deriving twice from one catalog branches without disturbing either line', () => {
    const a = zone('a.test.');
    const base = new Catalog([a]);
    const left = base.withZones([zone('l.test.')]);
    const right = base.withZones([zone('r.test.')], [Name.parse('a.test.')]);
    assert.deepEqual([...left.zones].map((z) => z.origin.toString()).sort(), ['a.test.', 'l.test.']);
    assert.deepEqual([...right.zones].map((z) => z.origin.toString()).sort(), ['r.test.']);
    assert.deepEqual(
      [...base.zones].map((z) => z.origin.toString()),
      ['a.test.'],
    );
    assert.deepEqual(
      diffCatalogs(base, right).map((d) => d.key),
      [Name.parse('a.test.').key, Name.parse('r.test.').key],
    );
    // Going on from the branch works too.
    const right2 = right.withZones([zone('r2.test.')]);
    assert.equal(right2.size, 2);
    assert.equal(left.size, 2);
  });

  test('random derivations agree with catalogs built from scratch', () => {
    const rand = seededRandom(6);
    const ORIGINS = ['test.', 'a.test.', 'b.test.', 'sub.a.test.', 'example.', 'c.example.', '.'];
    const versions = new Map(ORIGINS.map((o) => [o, [zone(o, '192.0.2.1'), zone(o, '192.0.2.2')]]));
    const pick = () => ORIGINS[Math.floor(rand() * ORIGINS.length)];
    // Every catalog with the plain map of what it must serve.
    const line: { c: Catalog; want: Map<string, Zone> }[] = [{ c: new Catalog(), want: new Map() }];
    for (let step = 0; step < 300; step++) {
      // Mostly from the newest, sometimes from an older one (a branch).
      const from = rand() < 0.85 ? line[line.length - 1] : line[Math.floor(rand() * line.length)];
      const put: Zone[] = [];
      const remove: Name[] = [];
      const want = new Map(from.want);
      for (let n = Math.floor(rand() * 3); n > 0; n--) {
        const o = pick();
        remove.push(Name.parse(o));
        want.delete(o);
      }
      for (let n = Math.floor(rand() * 3); n > 0; n--) {
        const o = pick();
        const z = (versions.get(o) as Zone[])[Math.floor(rand() * 2)];
        put.push(z);
        want.set(o, z);
      }
      line.push({ c: from.c.withZones(put, remove), want });
      // Every catalog so far still serves what it served.
      for (const { c, want: w } of line) {
        assert.equal(c.size, w.size);
        for (const o of ORIGINS) assert.equal(c.get(Name.parse(o)), w.get(o), `step ${step}, ${o}`);
      }
      const next = line[line.length - 1];
      const scratch = new Catalog(next.want.values());
      for (const q of ['x.sub.a.test.', 'a.test.', 'y.c.example.', 'nothing.', 'b.test.'])
        assert.equal(next.c.find(Name.parse(q)), scratch.find(Name.parse(q)), q);
      const keys = (d: ReturnType<typeof diffCatalogs>) => d.map((x) => x.key).sort();
      assert.deepEqual(
        keys(diffCatalogs(from.c, next.c)),
        keys(diffCatalogs(new Catalog(from.want.values()), scratch)),
      );
    }
  });
});

describe('Catalog.findKey probes only the depths origins have', () => {
  test('the most specific zone wins at every depth, through additions, removals and superseded catalogs', () => {
    const root = zone('.');
    const test1 = zone('test.');
    const a = zone('a.test.');
    const deep = zone('x.y.a.test.');
    const find = (c: Catalog, n: string) => c.find(Name.parse(n))?.origin.toString();
    const c1 = new Catalog([test1, deep]);
    assert.equal(find(c1, 'w.x.y.a.test.'), 'x.y.a.test.');
    assert.equal(find(c1, 'y.a.test.'), 'test.');
    assert.equal(find(c1, 'other.'), undefined);
    const c2 = c1.withZones([a, root]);
    assert.equal(find(c2, 'y.a.test.'), 'a.test.');
    assert.equal(find(c2, 'other.'), '.');
    assert.equal(find(c2, 'w.x.y.a.test.'), 'x.y.a.test.');
    const c3 = c2.withZones([], [deep.origin, test1.origin]);
    assert.equal(find(c3, 'w.x.y.a.test.'), 'a.test.');
    assert.equal(find(c3, 'b.test.'), '.');
    const c4 = c3.withZones([], [root.origin, a.origin]);
    assert.equal(c4.size, 0);
    assert.equal(find(c4, 'w.x.y.a.test.'), undefined);
    // The superseded catalogs still answer as they did (their own depths).
    assert.equal(find(c1, 'y.a.test.'), 'test.');
    assert.equal(find(c2, 'other.'), '.');
    assert.equal(find(c3, 'w.x.y.a.test.'), 'a.test.');
    // A zone replaced by another object at the same origin keeps its depth counted once.
    const c5 = c4.withZones([zone('q.test.')]).withZones([zone('q.test.', '192.0.2.9')]);
    assert.equal(find(c5, 'w.q.test.'), 'q.test.');
    assert.equal(find(c5.withZones([], [Name.parse('q.test.')]), 'w.q.test.'), undefined);
  });
});

describe('Catalog.findFolded', () => {
  /** A name's case-folded wire octets in a buffer larger than the name, as QueryView holds them. */
  function folded(name: string): { bytes: Uint8Array; length: number; labels: number } {
    const key = Name.parse(name).key;
    const bytes = new Uint8Array(300).fill(0xee);
    for (let i = 0; i < key.length; i++) bytes[i] = key.charCodeAt(i);
    return { bytes, length: key.length, labels: Name.parse(name).labelCount };
  }

  test('finds what findKey finds, in any order of names (the last zone found is remembered)', () => {
    const zones = ['test.', 'a.test.', 'b.test.', 'deep.sub.b.test.', '.', 'x.'].map((o) => zone(o));
    const c = new Catalog(zones);
    const rand = seededRandom(3);
    const names = [
      'www.a.test.',
      'a.test.',
      'x.y.z.a.test.',
      'b.test.',
      'q.sub.b.test.',
      'deep.sub.b.test.',
      'r.deep.sub.b.test.',
      'c.test.',
      'test.',
      '.',
      'org.',
      'x.',
      'w.x.',
      // Octets of "a.test." inside a label, not at a label boundary: not under a.test.
      '\\001a\\004test.test.',
      'zz\\001a.test.',
    ];
    for (let i = 0; i < 2000; i++) {
      const name = names[Math.floor(rand() * names.length)];
      const f = folded(name);
      const want = c.findKey(Name.parse(name).key);
      assert.equal(c.findFolded(f.bytes, f.length, f.labels), want, name);
    }
  });

  test('a zone added below the one found last is found (the catalog it was added to is a new one)', () => {
    const a = zone('a.test.');
    const c0 = new Catalog([a]);
    const f = folded('www.sub.a.test.');
    assert.equal(c0.findFolded(f.bytes, f.length, f.labels), a);
    const sub = zone('sub.a.test.');
    const c1 = c0.withZones([sub]);
    assert.equal(c1.findFolded(f.bytes, f.length, f.labels), sub);
    assert.equal(c0.findFolded(f.bytes, f.length, f.labels), a);
  });
});

/** A ZoneBase over zones given, each handed out only once asked for (counted). */
class TestBase implements ZoneBase {
  readonly #zones: Map<string, ServedZone>;
  made = new Set<string>();
  constructor(zones: ServedZone[]) {
    this.#zones = new Map(zones.map((z) => [z.origin.key, z]));
  }
  get size(): number {
    return this.#zones.size;
  }
  get imageCount(): number {
    return 0;
  }
  countDepths(depths: Int32Array): void {
    for (const z of this.#zones.values()) depths[z.origin.labelCount]++;
  }
  getKey(key: string): ServedZone | undefined {
    const z = this.#zones.get(key);
    if (z !== undefined) this.made.add(key);
    return z;
  }
  hasKey(key: string): boolean {
    return this.#zones.has(key);
  }
  keys(): IterableIterator<string> {
    return this.#zones.keys();
  }
  keyOctets(): Uint8Array {
    return Buffer.from([...this.#zones.keys()].join(''), 'latin1');
  }
}

describe('Catalog over a ZoneBase', () => {
  const keysOf = (c: Catalog) => [...c.keys].sort();
  const originsOf = (c: Catalog) => [...c.zones].map((z) => z.origin.key).sort();

  test('answers as a catalog of the same zones, through random changes, old catalogs and diffs; base zones made only when asked', () => {
    const rand = seededRandom(11);
    const origins = ['.', 'test.', 'a.test.', 'b.test.', 'x.y.a.test.', 'org.', 'q.org.', 'deep.q.org.'];
    for (let i = 0; i < 40; i++) origins.push(`z${i}.test.`);
    const pick = () => origins[Math.floor(rand() * origins.length)];
    const initial = origins.filter(() => rand() < 0.5).map((o) => zone(o));
    const base = new TestBase(initial);
    let withBase = new Catalog([], base);
    let plain = new Catalog(initial);
    assert.equal(base.made.size, 0, 'nothing made by the constructor');
    assert.equal(withBase.size, plain.size);
    assert.deepEqual(keysOf(withBase), keysOf(plain));
    assert.equal(base.made.size, 0, 'nothing made by listing the keys');
    assert.deepEqual(
      [...Buffer.from(withBase.originOctets())].sort(),
      [...Buffer.from(plain.originOctets())].sort(),
    );
    const names = [
      'w.x.y.a.test.',
      'a.test.',
      'c.test.',
      'www.z3.test.',
      'deep.q.org.',
      'e.deep.q.org.',
      'n.',
    ];
    const history: [Catalog, Catalog][] = [[withBase, plain]];
    for (let step = 0; step < 60; step++) {
      const put: ServedZone[] = [];
      const remove: Name[] = [];
      for (let k = Math.floor(rand() * 4); k > 0; k--) put.push(zone(pick(), `192.0.2.${step}`));
      for (let k = Math.floor(rand() * 3); k > 0; k--) remove.push(Name.parse(pick()));
      const nextBase = withBase.withZones(put, remove);
      const nextPlain = plain.withZones(put, remove);
      // The same changes, zone for zone (base zones compared by their key: the objects are the base's).
      const diff = (d: ReturnType<typeof diffCatalogs>) =>
        d
          .map(
            (c) =>
              `${c.key}:${c.before?.origin.key ?? '-'}>${c.after === undefined ? '-' : put.includes(c.after) ? 'new' : 'old'}`,
          )
          .sort();
      assert.deepEqual(diff(diffCatalogs(withBase, nextBase)), diff(diffCatalogs(plain, nextPlain)));
      withBase = nextBase;
      plain = nextPlain;
      history.push([withBase, plain]);
      assert.equal(withBase.size, plain.size, `size at step ${step}`);
    }
    for (const [b, p] of history) {
      assert.equal(b.size, p.size);
      for (const o of origins)
        assert.equal(b.get(Name.parse(o))?.origin.key, p.get(Name.parse(o))?.origin.key, o);
      for (const n of names)
        assert.equal(b.find(Name.parse(n))?.origin.key, p.find(Name.parse(n))?.origin.key, n);
      assert.deepEqual(keysOf(b), keysOf(p));
      assert.deepEqual(originsOf(b), originsOf(p));
      assert.deepEqual([...Buffer.from(b.originOctets())].sort(), [...Buffer.from(p.originOctets())].sort());
    }
    // A base zone is the same object whenever asked, and a zone of a change the one put.
    const first = initial[0];
    assert.equal(new Catalog([], base).get(first.origin), first);
  });

  test('a zone given with the base replaces the base zone at its origin', () => {
    const a = zone('a.test.');
    const b = zone('b.test.');
    const base = new TestBase([a, b]);
    const a2 = zone('a.test.', '192.0.2.7');
    const c = new Catalog([a2, zone('c.test.')], base);
    assert.equal(c.size, 3);
    assert.equal(c.get(a.origin), a2);
    assert.equal(c.get(b.origin), b);
    assert.deepEqual(originsOf(c), originsOf(new Catalog([a2, b, zone('c.test.')])));
    const d = c.withZones([], [a.origin]);
    assert.equal(d.size, 2);
    assert.equal(d.get(a.origin), undefined);
    assert.equal(c.get(a.origin), a2, 'the superseded catalog still serves it');
  });
});
