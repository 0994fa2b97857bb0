/**
 * The set of zones served, found by longest suffix match (the most specific zone wins when
 * both a parent and a child zone are served).
 *
 * Catalogs are immutable: a change builds a new one (from scratch, or with `withZones` from
 * the current one, which also records what changed so `diffCatalogs` can skip the full scan).
 * Zones are compared by object identity: a Zone never changes once built, so "the same object"
 * means "the same data".
 * @module
 */
import type { Name } from '../wire/name.js';
import type { Zone } from '../zone/zone.js';

let nextCatalogId = 1;

/** An immutable set of zones; a new Catalog is built and swapped in on reload. */
export class Catalog {
  // Not readonly only so that `withZones` can fill in the catalog it builds; never changed after.
  #byKey = new Map<string, Zone>();
  /** The id of the catalog this one was derived from by `withZones` (0: none). */
  #baseId = 0;
  /** Origin keys whose zone differs from that base. */
  #changed: readonly string[] = [];
  /** Unique per catalog: a derived catalog names its base by id, so it never keeps it alive. */
  readonly id = nextCatalogId++;

  constructor(zones: Iterable<Zone> = []) {
    for (const z of zones) this.#byKey.set(z.origin.key, z);
  }

  /**
   * A new catalog: this one with the zones of `put` added or replacing those of the same
   * origin, and the zones at the origins of `remove` removed (removals first). The result
   * remembers what differs from this catalog, so `diffCatalogs(this, result)` costs
   * O(changes) instead of O(zones).
   */
  withZones(put: Iterable<Zone>, remove: Iterable<Name> = []): Catalog {
    // Arrays: both are walked twice, and a generator would be empty the second time.
    const puts = [...put];
    const removes = [...remove];
    const map = new Map(this.#byKey);
    for (const name of removes) map.delete(name.key);
    for (const z of puts) map.set(z.origin.key, z);
    const changed: string[] = [];
    const seen = new Set<string>();
    const note = (key: string): void => {
      if (seen.has(key)) return;
      seen.add(key);
      if (map.get(key) !== this.#byKey.get(key)) changed.push(key);
    };
    for (const name of removes) note(name.key);
    for (const z of puts) note(z.origin.key);
    const c = new Catalog();
    c.#byKey = map;
    c.#baseId = this.id;
    c.#changed = changed;
    return c;
  }

  /**
   * Origins whose zone differs between `before` and this catalog (added, removed, or another
   * Zone object), when this catalog was derived from `before` by `withZones`; else undefined.
   */
  changesSince(before: Catalog): readonly string[] | undefined {
    return this.#baseId === before.id ? this.#changed : undefined;
  }

  /** The zone with the longest origin that `name` is at or below, if any. */
  find(name: Name): Zone | undefined {
    if (this.#byKey.size === 0) return undefined;
    // Strip one label at a time; keys are case-folded wire strings, so slicing is exact.
    let key = name.key;
    for (;;) {
      const z = this.#byKey.get(key);
      if (z) return z;
      if (key.length === 1) return undefined;
      key = key.slice(key.charCodeAt(0) + 1);
    }
  }

  /** The zone whose origin is exactly `name`. */
  get(name: Name): Zone | undefined {
    return this.#byKey.get(name.key);
  }

  /** The zone whose origin has the case-folded wire key `key` (`Name.key`). */
  getKey(key: string): Zone | undefined {
    return this.#byKey.get(key);
  }

  /** Every zone served, in insertion order. */
  get zones(): IterableIterator<Zone> {
    return this.#byKey.values();
  }

  /** Number of zones served. */
  get size(): number {
    return this.#byKey.size;
  }
}

/** How one origin differs between two catalogs. */
export interface CatalogChange {
  /** The origin's case-folded wire key. */
  key: string;
  /** The zone served there before, if any. */
  before: Zone | undefined;
  /** The zone served there after, if any. */
  after: Zone | undefined;
}

/**
 * Every origin whose zone differs between `before` and `after` (added, removed, or another
 * Zone object). O(changes) when `after` was derived from `before` by `withZones`; otherwise
 * one pass over both catalogs (about 0.1 ms per 10,000 zones here).
 */
export function diffCatalogs(before: Catalog, after: Catalog): CatalogChange[] {
  const out: CatalogChange[] = [];
  const known = after.changesSince(before);
  if (known !== undefined) {
    for (const key of known) out.push({ key, before: before.getKey(key), after: after.getKey(key) });
    return out;
  }
  let added = 0;
  for (const z of after.zones) {
    const key = z.origin.key;
    const old = before.getKey(key);
    if (old === z) continue;
    if (old === undefined) added++;
    out.push({ key, before: old, after: z });
  }
  // Every origin of `after` but the added ones is in `before`: any more there were removed.
  if (before.size === after.size - added) return out;
  for (const z of before.zones) {
    const key = z.origin.key;
    if (after.getKey(key) === undefined) out.push({ key, before: z, after: undefined });
  }
  return out;
}
