/**
 * Keeping catalog zones in step with the zones they list (RFC 9432, producer side): an index of
 * what each catalog zone holds (member zone name → unique id) and the plan of RRset changes that
 * brings it to what the zones say — a whole reconciliation at start, then the changes for the
 * zones named by each change event. Pure: reading the zones and writing the changes is the
 * caller's (`src/server/start/catalogs.ts`).
 *
 * Who is a member of what:
 * - the **fleet catalog** lists every zone the platform serves (every account's; secondary zones
 *   once they hold a transferred content) except catalog zones themselves;
 * - a **per-account catalog** (a zone of kind `Producer`, PowerDNS 4.7) lists the zones of its
 *   own account whose `catalog` field names it; a Producer zone is never a member.
 * @module
 */
import { addMember, type CatalogChange, foldName, memberId, memberIdOf, removeMember } from './format.js';

/** A zone as the planner sees it. */
export interface CatalogMemberZone {
  /** Folded absolute name. */
  name: string;
  /** Internal id (`zones.id`). */
  id: string;
  createdAt: string;
  accountId: string;
  kind: string;
  serial: number;
  /** The per-account catalog the zone names (folded), or null. */
  catalog: string | null;
}

/** A catalog zone the planner writes: the fleet catalog or a Producer zone of an account. */
export interface CatalogZoneRef {
  name: string;
  accountId: string;
}

/** True for a zone the fleet catalog lists: not a catalog, and served (a Slave zone once transferred). */
export function servedMember(z: CatalogMemberZone): boolean {
  if (z.kind === 'Producer' || z.kind === 'Consumer') return false;
  return !(z.kind === 'Slave' && z.serial === 0);
}

export class CatalogPlanner {
  readonly #fleet: string | undefined;
  /** Catalog name → (member zone name → unique id), as the catalog zones hold it. */
  readonly #members = new Map<string, Map<string, string>>();
  /** Catalog name → (unique id → member zone name): the reverse of `#members`. */
  readonly #ids = new Map<string, Map<string, string>>();
  /** Member zone name → the catalogs that list it. */
  readonly #of = new Map<string, Set<string>>();
  /** Producer zones by name (the fleet catalog is not among them). */
  #producers = new Map<string, CatalogZoneRef>();

  /** `fleet`: the fleet catalog's name (undefined: none published). */
  constructor(fleet: string | undefined) {
    this.#fleet = fleet === undefined ? undefined : foldName(fleet);
  }

  get fleet(): string | undefined {
    return this.#fleet;
  }

  /** Members listed by `catalog` now. */
  size(catalog: string): number {
    return this.#members.get(foldName(catalog))?.size ?? 0;
  }

  /** The unique id `zone` has in `catalog`, if listed. */
  idOf(catalog: string, zone: string): string | undefined {
    return this.#members.get(foldName(catalog))?.get(foldName(zone));
  }

  /** Replaces the set of Producer zones (per-account catalogs). A Producer gone is forgotten. */
  setProducers(producers: readonly CatalogZoneRef[]): void {
    const next = new Map<string, CatalogZoneRef>();
    for (const p of producers) next.set(foldName(p.name), { name: foldName(p.name), accountId: p.accountId });
    for (const name of this.#members.keys())
      if (name !== this.#fleet && !next.has(name)) this.#forgetCatalog(name);
    this.#producers = next;
  }

  /**
   * Takes what catalog zone `catalog` holds: its PTR RRsets as (owner, target) pairs. Returns the
   * changes that clean it: owners that are not `<id>.zones.CATZ`, and a zone listed twice (the
   * later ids removed) — never written by this producer, but a catalog must list a zone once.
   */
  load(catalog: string, ptrs: readonly { owner: string; target: string }[]): CatalogChange[] {
    const name = foldName(catalog);
    this.#forgetCatalog(name);
    const members = new Map<string, string>();
    const ids = new Map<string, string>();
    this.#members.set(name, members);
    this.#ids.set(name, ids);
    const out: CatalogChange[] = [];
    for (const { owner, target } of ptrs) {
      const id = memberIdOf(name, owner);
      if (id === undefined) continue;
      const zone = foldName(target);
      if (members.has(zone)) {
        out.push(removeMember(name, id));
        continue;
      }
      members.set(zone, id);
      ids.set(id, zone);
      this.#link(zone, name);
    }
    return out;
  }

  /**
   * The changes for the zones named: each one's memberships made what its row says (undefined:
   * the zone is gone). Grouped by catalog; the index is updated only by `applied`.
   */
  plan(zones: ReadonlyMap<string, CatalogMemberZone | undefined>): Map<string, CatalogChange[]> {
    const out = new Map<string, CatalogChange[]>();
    const push = (catalog: string, c: CatalogChange) => {
      let list = out.get(catalog);
      if (!list) {
        list = [];
        out.set(catalog, list);
      }
      list.push(c);
    };
    for (const [rawName, z] of zones) {
      const name = foldName(rawName);
      const want = this.#wanted(z);
      for (const catalog of this.#of.get(name) ?? []) {
        const have = this.#members.get(catalog)?.get(name);
        if (have !== undefined && want.get(catalog) !== have) push(catalog, removeMember(catalog, have));
      }
      for (const [catalog, id] of want)
        if (this.#members.get(catalog)?.get(name) !== id) push(catalog, addMember(catalog, id, name));
    }
    return out;
  }

  /**
   * Every zone (`all`, each zone once) against what the catalogs hold: the changes of `plan` for
   * every zone, and the removal of members whose zone is in none of them.
   */
  reconcile(all: Iterable<CatalogMemberZone>): Map<string, CatalogChange[]> {
    const zones = new Map<string, CatalogMemberZone | undefined>();
    for (const z of all) zones.set(foldName(z.name), z);
    for (const name of this.#of.keys()) if (!zones.has(name)) zones.set(name, undefined);
    return this.plan(zones);
  }

  /** True when the index holds catalog `name` (loaded, or written to). */
  knows(name: string): boolean {
    return this.#members.has(foldName(name));
  }

  /** The zone names some catalog lists now (for a reconciliation done in parts). */
  listed(): IterableIterator<string> {
    return this.#of.keys();
  }

  /** Records that `changes` were written to `catalog` (the index follows the catalog zone). */
  applied(catalog: string, changes: readonly CatalogChange[]): void {
    const name = foldName(catalog);
    let members = this.#members.get(name);
    let ids = this.#ids.get(name);
    if (!members || !ids) {
      members = new Map();
      ids = new Map();
      this.#members.set(name, members);
      this.#ids.set(name, ids);
    }
    for (const c of changes) {
      const id = memberIdOf(name, c.name);
      if (id === undefined) continue;
      const was = ids.get(id);
      if (was !== undefined) {
        ids.delete(id);
        if (members.get(was) === id) {
          members.delete(was);
          this.#unlink(was, name);
        }
      }
      if (c.op === 'replace') {
        const zone = foldName(c.records[0].content);
        members.set(zone, id);
        ids.set(id, zone);
        this.#link(zone, name);
      }
    }
  }

  /** The catalogs `z` belongs in, with its unique id in each. */
  #wanted(z: CatalogMemberZone | undefined): Map<string, string> {
    const want = new Map<string, string>();
    if (z === undefined) return want;
    if (this.#fleet !== undefined && servedMember(z) && foldName(z.name) !== this.#fleet)
      want.set(this.#fleet, memberId(this.#fleet, z.id, z.createdAt));
    if (z.catalog !== null && z.kind !== 'Producer') {
      const p = this.#producers.get(foldName(z.catalog));
      if (p !== undefined && p.accountId === z.accountId)
        want.set(p.name, memberId(p.name, z.id, z.createdAt));
    }
    return want;
  }

  #forgetCatalog(name: string): void {
    const members = this.#members.get(name);
    if (!members) return;
    for (const zone of members.keys()) this.#unlink(zone, name);
    this.#members.delete(name);
    this.#ids.delete(name);
  }

  #link(zone: string, catalog: string): void {
    let set = this.#of.get(zone);
    if (!set) {
      set = new Set();
      this.#of.set(zone, set);
    }
    set.add(catalog);
  }

  #unlink(zone: string, catalog: string): void {
    const set = this.#of.get(zone);
    if (!set) return;
    set.delete(catalog);
    if (set.size === 0) this.#of.delete(zone);
  }
}
