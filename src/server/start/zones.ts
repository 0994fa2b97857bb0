/**
 * A `start` worker's table of served zones: applies the primary's zone messages (snapshots
 * and updates) and builds the Catalog the Responder answers from. Only the zones a message
 * carries are parsed; the others keep their parsed Zone objects.
 *
 * A snapshot file (`--images on`, snapshot-file.ts) becomes a `SnapshotBase`: its columns as
 * they were read and one open-addressing table over the zones' wire names (`OriginIndex`), each
 * zone's object (a `LazyImageZone`) made when something first asks for it — a query, an
 * update, the native answers' install — instead of an object, an origin `Name` and two Map
 * entries per zone at apply (~0.3 s of CPU per worker for 100,000 zones). The table and the
 * Catalog hold only what later updates changed over it.
 * @module
 */
import { Catalog, type ZoneBase } from '../../answer/catalog.js';
import { OriginIndex } from '../../answer/origin-index.js';
import type { Name } from '../../wire/name.js';
import type { ServedZone } from '../../zone/zone.js';
import { originOf } from '../shared/images.js';
import { type SnapshotColumns, snapshotName, snapshotPush } from '../shared/snapshot-file.js';
import { isDeletion, type ZonePush, type ZonesMessage } from './protocol.js';

interface Entry {
  zone: ServedZone;
  version: number;
  serial: number;
}

/** What applying one message did. */
export interface ApplyResult {
  /** The set of served zones changed: swap in `catalog()`. */
  changed: boolean;
  /** Zones that could not be parsed, as `name: message` (they keep their previous version). */
  errors: string[];
  /** For a snapshot batch: the snapshot is now complete and served. */
  snapshotDone: boolean;
}

function describeParseError(name: string, err: unknown): string {
  // A ZoneParseError (src/zone/parser.ts), known by its shape: this module does not load the
  // zone parser (a worker serving images never parses a zone: zone-text.ts is loaded then).
  const errors = (err as { errors?: unknown } | null)?.errors;
  if (err instanceof Error && err.name === 'ZoneParseError' && Array.isArray(errors))
    return `${name}: ${errors.map((e: { message?: unknown }) => String(e?.message)).join('; ')}`;
  return `${name}: ${err instanceof Error ? err.message : String(err)}`;
}

/** Turns one pushed zone (text or image) into the Zone served; throws when it cannot. */
export type ZonePushLoader = (push: ZonePush) => ServedZone;

/**
 * How a table may make the zones of a snapshot file on their first use instead of at apply
 * (`--images on`: `images.ts`'s loader).
 */
export interface DeferredLoads {
  /** True when the zone of an image of `length` octets may be made later: making it cannot fail. */
  canDefer(length: number): boolean;
  /** Makes a deferred zone, on its first use (not counted as a load again). */
  make(push: ZonePush): ServedZone;
  /** `n` pushes were taken to be made on first use (counted as loads now). */
  taken(n: number): void;
  /** The zones made are read from images (`ServedZone.respondFromTemplate`). */
  readonly images: boolean;
}

/** Scratch for `keyOfName`. */
const keyScratch = new Uint8Array(256);

/**
 * Writes the case-folded wire form of the name `text[start, end)` (absolute, presentation form)
 * at `out[at]` and returns its length and label count as `length | labels << 16`, or -1 when it
 * is not a plain name (escapes, the root, an empty or long label, octets outside printable
 * ASCII): the same names as `originOf`'s fast path, with the same wire form as its key.
 */
function writeWireKey(text: string, start: number, end: number, out: Uint8Array, at: number): number {
  const n = end - start;
  if (n < 2 || n > 254 || text.charCodeAt(end - 1) !== 0x2e) return -1;
  let label = at; // where the current label's length octet goes
  let labels = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    const o = at + (i - start) + 1;
    if (c === 0x2e) {
      const len = o - label - 1;
      if (len === 0 || len > 63) return -1;
      out[label] = len;
      label = o;
      labels++;
    } else if (c <= 0x20 || c >= 0x7f || c === 0x5c) return -1;
    else out[o] = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
  }
  out[at + n] = 0;
  return (n + 1) | (labels << 16);
}

/** The origin key (`Name.key`) of a zone name of a push; undefined when it is no valid name. */
function keyOfName(name: string): string | undefined {
  const w = writeWireKey(name, 0, name.length, keyScratch, 0);
  if (w >= 0) return Buffer.from(keyScratch.buffer, 0, w & 0xffff).toString('latin1');
  try {
    return originOf(name).key;
  } catch {
    return undefined;
  }
}

/**
 * The zones of a snapshot file as its columns and an `OriginIndex` over their names; each
 * zone made on its first ask (a big image, or a name that is not plain, at once: that may
 * fail, and the zone is then left out with an error, as a push that cannot be loaded is).
 */
class SnapshotBase implements ZoneBase {
  readonly #cols: SnapshotColumns;
  readonly #index: OriginIndex;
  /** The zones made so far, by index. */
  readonly #made: (ServedZone | undefined)[];
  readonly #labels: Uint8Array;
  readonly #depths = new Int32Array(128);
  readonly #make: (push: ZonePush) => ServedZone;
  readonly size: number;
  readonly imageCount: number;

  /**
   * `released`: told of a zone made at once that a later zone of the same name replaced;
   * `errors`: `name: message` of each zone left out.
   */
  constructor(
    cols: SnapshotColumns,
    load: ZonePushLoader,
    deferred: DeferredLoads,
    release: ((zone: ServedZone) => void) | undefined,
    errors: string[],
  ) {
    const count = cols.count;
    this.#cols = cols;
    this.#make = deferred.make;
    this.#made = new Array(count);
    this.#labels = new Uint8Array(count);
    const index = new OriginIndex(count, cols.text.length - cols.namesStart + count + 1);
    this.#index = index;
    const { text, nameEnds, lengths } = cols;
    let size = 0;
    let taken = 0;
    let start = cols.namesStart;
    for (let i = 0; i < count; i++) {
      const end = nameEnds[i];
      const out = index.reserve();
      let w = writeWireKey(text, start, end, out, index.writeAt);
      start = end;
      let replaced: number;
      if (w >= 0 && deferred.canDefer(lengths[i])) {
        replaced = index.commit(i, w & 0xffff);
        taken++;
      } else {
        let zone: ServedZone;
        try {
          zone = load(snapshotPush(cols, i));
        } catch (err) {
          errors.push(describeParseError(snapshotName(cols, i), err));
          continue;
        }
        const key = zone.origin.key;
        w = key.length | (zone.origin.labelCount << 16);
        replaced = index.add(i, key);
        this.#made[i] = zone;
      }
      const labels = w >>> 16;
      this.#labels[i] = labels;
      this.#depths[labels]++;
      size++;
      if (replaced >= 0) {
        const had = this.#made[replaced];
        this.#made[replaced] = undefined;
        if (had !== undefined) release?.(had);
        this.#depths[this.#labels[replaced]]--;
        size--;
      }
    }
    if (taken > 0) deferred.taken(taken);
    this.size = size;
    this.imageCount = deferred.images ? size : 0;
  }

  countDepths(depths: Int32Array): void {
    for (let d = 0; d < depths.length; d++) depths[d] += this.#depths[d];
  }

  getKey(key: string): ServedZone | undefined {
    const i = this.#index.find(key);
    if (i < 0) return undefined;
    const z = this.#made[i];
    if (z !== undefined) return z;
    const made = this.#make(snapshotPush(this.#cols, i));
    this.#made[i] = made;
    return made;
  }

  hasKey(key: string): boolean {
    return this.#index.find(key) >= 0;
  }

  *keys(): IterableIterator<string> {
    const index = this.#index;
    for (let i = 0; i < this.#cols.count; i++) if (index.has(i)) yield index.keyAt(i);
  }

  keyOctets(): Uint8Array {
    return this.#index.octets();
  }

  /** The zone at `key` if it was made (none made here). */
  peek(key: string): ServedZone | undefined {
    const i = this.#index.find(key);
    return i < 0 ? undefined : this.#made[i];
  }

  /** The version of the zone at `key`, if held. */
  version(key: string): number | undefined {
    const i = this.#index.find(key);
    return i < 0 ? undefined : this.#cols.versions[i];
  }

  /** Every zone made so far, with its origin key. */
  *made(): IterableIterator<[string, ServedZone]> {
    const index = this.#index;
    for (let i = 0; i < this.#made.length; i++) {
      const z = this.#made[i];
      if (z !== undefined && index.has(i)) yield [index.keyAt(i), z];
    }
  }
}

/**
 * What a table serves: a snapshot file's base, if any, and the entries by origin key over it
 * (null: a base zone no longer served).
 */
class ZoneState {
  readonly base: SnapshotBase | undefined;
  readonly map = new Map<string, Entry | null>();
  size: number;

  constructor(base?: SnapshotBase) {
    this.base = base;
    this.size = base?.size ?? 0;
  }

  /** The version served at `key`, if any (no zone made). */
  version(key: string): number | undefined {
    const e = this.map.get(key);
    if (e !== undefined) return e === null ? undefined : e.version;
    return this.base?.version(key);
  }

  /** The zone served at `key` (a base zone made if it was not). */
  zone(key: string): ServedZone | undefined {
    const e = this.map.get(key);
    if (e !== undefined) return e === null ? undefined : e.zone;
    return this.base?.getKey(key);
  }

  /** The zone served at `key` if made (none made here). */
  peek(key: string): ServedZone | undefined {
    const e = this.map.get(key);
    if (e !== undefined) return e === null ? undefined : e.zone;
    return this.base?.peek(key);
  }

  set(key: string, entry: Entry): void {
    if (this.version(key) === undefined) this.size++;
    this.map.set(key, entry);
  }

  remove(key: string): void {
    if (this.version(key) === undefined) return;
    this.size--;
    if (this.base?.hasKey(key) === true) this.map.set(key, null);
    else this.map.delete(key);
  }

  /** Every zone object made, with its key. */
  *made(): IterableIterator<[string, ServedZone]> {
    if (this.base !== undefined)
      for (const [key, z] of this.base.made()) if (!this.map.has(key)) yield [key, z];
    for (const [key, e] of this.map) if (e !== null) yield [key, e.zone];
  }

  /** A Catalog serving this. */
  catalog(): Catalog {
    const zones: ServedZone[] = [];
    const removed: Name[] = [];
    for (const e of this.map.values()) if (e !== null) zones.push(e.zone);
    const c = new Catalog(zones, this.base);
    if (this.base !== undefined)
      for (const [key, e] of this.map)
        if (e === null) removed.push((this.base.getKey(key) as ServedZone).origin);
    return removed.length > 0 ? c.withZones([], removed) : c;
  }
}

/** The zones a worker serves, by origin key (`Name.key`: push names are case-folded already). */
export class ServedZoneTable {
  readonly #load: ZonePushLoader;
  readonly #release: ((zone: ServedZone) => void) | undefined;
  readonly #deferred: DeferredLoads | undefined;
  /**
   * `load`: how a pushed zone becomes a Zone (zone-text.ts `parseTextPush`: parse its text,
   * or an image loader); `release`: told of
   * each zone that stopped being served (replaced or removed), e.g. to close its image;
   * `deferred`: how the zones of a snapshot file may be made on first use (without it, every
   * zone of a file is loaded at apply).
   */
  constructor(load: ZonePushLoader, release?: (zone: ServedZone) => void, deferred?: DeferredLoads) {
    this.#load = load;
    this.#release = release;
    this.#deferred = deferred;
  }
  #current = new ZoneState();
  /** A snapshot being received (null when none is under way). */
  #pending: ZoneState | null = null;
  #catalog = new Catalog();

  /** Number of zones served. */
  get size(): number {
    return this.#current.size;
  }

  /** The version served for `name`, if any. */
  versionOf(name: string): number | undefined {
    const key = keyOfName(name);
    return key === undefined ? undefined : this.#current.version(key);
  }

  /** The Catalog of the zones served now (rebuilt only when a message changed them). */
  catalog(): Catalog {
    return this.#catalog;
  }

  /**
   * Applies a snapshot message whose zones are in a snapshot file (`cols`: its columns), then
   * the zones the message itself carries. With `deferred` loads and no snapshot under way, the
   * file's zones are made on first use; else they are applied as the pushes they stand for.
   */
  applySnapshotFile(cols: SnapshotColumns, msg: ZonesMessage): ApplyResult {
    const errors: string[] = [];
    if (this.#deferred === undefined || this.#pending !== null) {
      // 2,000 pushes at a time: they die young instead of being copied into the old generation.
      for (let from = 0; from < cols.count; from += 2000) {
        const pushes: ZonePush[] = [];
        for (let i = from; i < Math.min(cols.count, from + 2000); i++) pushes.push(snapshotPush(cols, i));
        for (const e of this.apply({ ...msg, zones: pushes, last: false }).errors) errors.push(e);
      }
    } else
      this.#pending = new ZoneState(
        new SnapshotBase(cols, this.#load, this.#deferred, this.#release, errors),
      );
    const result = this.apply(msg);
    return { ...result, errors: errors.length > 0 ? [...errors, ...result.errors] : result.errors };
  }

  /** Applies one zones message from the primary. */
  apply(msg: ZonesMessage): ApplyResult {
    const errors: string[] = [];
    if (msg.kind === 'snapshot') {
      // A snapshot replaces everything at once, when its last batch is in: a worker serves
      // the whole set or none of it, never half.
      const into = this.#pending ?? new ZoneState();
      this.#pending = into;
      for (const push of msg.zones) {
        if (isDeletion(push)) {
          const key = keyOfName(push.name);
          if (key === undefined) continue;
          const had = into.peek(key);
          into.remove(key);
          if (had !== undefined) this.#release?.(had);
          continue;
        }
        try {
          const zone = this.#load(push);
          const key = zone.origin.key;
          const had = into.peek(key);
          into.set(key, { zone, version: push.version, serial: push.serial });
          if (had !== undefined && had !== zone) this.#release?.(had);
        } catch (err) {
          errors.push(describeParseError(push.name, err));
        }
      }
      if (!msg.last) return { changed: false, errors, snapshotDone: false };
      if (this.#release !== undefined)
        for (const [key, had] of this.#current.made()) if (into.peek(key) !== had) this.#release(had);
      this.#current = into;
      this.#pending = null;
      this.#catalog = into.catalog();
      return { changed: true, errors, snapshotDone: true };
    }
    const current = this.#current;
    let changed = false;
    // What changed, for a catalog derived from the current one: the Responder then sees the
    // change in O(changes) and keeps the cached answers of every other zone.
    const touched = new Map<string, Name>();
    for (const push of msg.zones) {
      const key = keyOfName(push.name);
      const have = key === undefined ? undefined : current.version(key);
      // Never go back to an older version (a reset says the zone was re-created: versions
      // started over).
      if (have !== undefined && !push.reset && push.version < have) continue;
      if (isDeletion(push)) {
        if (key !== undefined && have !== undefined) {
          const had = current.zone(key) as ServedZone;
          current.remove(key);
          touched.set(key, had.origin);
          this.#release?.(had);
          changed = true;
        }
        continue;
      }
      if (have !== undefined && !push.reset && !push.moved && push.version === have) continue;
      try {
        const zone = this.#load(push);
        const at = zone.origin.key;
        const had = current.peek(at);
        current.set(at, { zone, version: push.version, serial: push.serial });
        if (had !== undefined && had !== zone) this.#release?.(had);
        touched.set(at, zone.origin);
        changed = true;
      } catch (err) {
        errors.push(describeParseError(push.name, err));
      }
    }
    if (changed) {
      // From the final state of each zone touched: a message may add and delete the same one.
      const put: ServedZone[] = [];
      const remove: Name[] = [];
      for (const [key, origin] of touched) {
        const zone = current.peek(key);
        if (zone !== undefined) put.push(zone);
        else remove.push(origin);
      }
      this.#catalog = this.#catalog.withZones(put, remove);
    }
    return { changed, errors, snapshotDone: false };
  }
}
