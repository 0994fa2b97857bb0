/**
 * The set of zones served, found by longest suffix match (the most specific zone wins when
 * both a parent and a child zone are served).
 * @module
 */
import type { Name } from '../wire/name.js';
import type { Zone } from '../zone/zone.js';

/** An immutable set of zones; a new Catalog is built and swapped in on reload. */
export class Catalog {
  readonly #byKey = new Map<string, Zone>();

  constructor(zones: Iterable<Zone> = []) {
    for (const z of zones) this.#byKey.set(z.origin.key, z);
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

  get zones(): IterableIterator<Zone> {
    return this.#byKey.values();
  }

  get size(): number {
    return this.#byKey.size;
  }
}
