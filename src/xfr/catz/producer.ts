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
 *   own account whose `catalog` field names it; a Producer zone is never a member. There a member
 *   carries its groups (`group` TXT, RFC 9432 §4.4.2), and a zone moved from one Producer zone of
 *   the account to another stays listed in the one it left, with a `coo` property naming the new
 *   one (§4.4.1), for `cooHoldMs` after the move — under the same unique id in both (its id is
 *   made from the name of the catalog it was first listed in, `idFrom`), so consumers move it
 *   without a reset — and then leaves it.
 * @module
 */
import {
  addMember,
  type CatalogChange,
  foldName,
  memberId,
  memberIdOf,
  propertyOf,
  removeMember,
  setCoo,
  setGroups,
} from './format.js';

/** How long a moved zone stays in the catalog it left, with its `coo` property (default). */
export const COO_HOLD_MS = 24 * 3600 * 1000;

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
  /** Its groups in that catalog (§4.4.2). */
  groups?: readonly string[];
  /** The Producer zone it moved from, and when (ms since the epoch): listed there with `coo` a while. */
  cooFrom?: string | null;
  cooAt?: number;
  /** The catalog whose name its unique id in its Producer catalog is made from (null: that one's). */
  idFrom?: string | null;
}

/** What a catalog should hold for one member: its id and properties. */
interface Entry {
  id: string;
  /** Sorted, joined by spaces ('' none). */
  groups: string;
  coo: string | undefined;
}

/** A member's properties as a catalog holds them (by unique id). */
interface Props {
  group?: string;
  coo?: string;
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
  /** Catalog name → (unique id → its properties there). */
  readonly #props = new Map<string, Map<string, Props>>();
  /** Zone → when its `coo` listing in the catalog it left ends (ms): planned again then. */
  readonly #cooUntil = new Map<string, number>();
  readonly #cooHoldMs: number;
  readonly #now: () => number;
  /** Producer zones by name (the fleet catalog is not among them). */
  #producers = new Map<string, CatalogZoneRef>();

  /**
   * `fleet`: the fleet catalog's name (undefined: none published); `cooHoldMs`: how long a moved
   * zone stays listed, with `coo`, in the catalog it left (default COO_HOLD_MS).
   */
  constructor(fleet: string | undefined, opts: { cooHoldMs?: number; now?: () => number } = {}) {
    this.#fleet = fleet === undefined ? undefined : foldName(fleet);
    this.#cooHoldMs = opts.cooHoldMs ?? COO_HOLD_MS;
    this.#now = opts.now ?? Date.now;
  }

  /** When the next `coo` listing ends (ms), if any. */
  nextCooEnd(): number | undefined {
    let next: number | undefined;
    for (const t of this.#cooUntil.values()) if (next === undefined || t < next) next = t;
    return next;
  }

  /** The zones whose `coo` listing has ended by now (forgotten here): to be planned again. */
  cooEnded(): string[] {
    const now = this.#now();
    const out: string[] = [];
    for (const [zone, t] of this.#cooUntil)
      if (t <= now) {
        out.push(zone);
        this.#cooUntil.delete(zone);
      }
    return out;
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
   * Takes what catalog zone `catalog` holds: its PTR records as (owner, target) pairs, and its TXT
   * records (`type: 'TXT'`, target the TXT's text) for the `group` properties. Returns the changes
   * that clean it: a zone listed twice (the later ids removed) and properties of no member — never
   * written by this producer, but a catalog must list a zone once. Other owners are left alone.
   */
  load(
    catalog: string,
    ptrs: readonly { owner: string; target: string; type?: 'PTR' | 'TXT' }[],
  ): CatalogChange[] {
    const name = foldName(catalog);
    this.#forgetCatalog(name);
    const members = new Map<string, string>();
    const ids = new Map<string, string>();
    const props = new Map<string, Props>();
    this.#members.set(name, members);
    this.#ids.set(name, ids);
    this.#props.set(name, props);
    const out: CatalogChange[] = [];
    const groups = new Map<string, string[]>();
    for (const { owner, target, type } of ptrs) {
      const prop = propertyOf(name, owner);
      if (prop !== undefined) {
        if (prop.prop === 'group' && type === 'TXT') {
          const list = groups.get(prop.id) ?? [];
          list.push(target.replace(/^"|"$/g, ''));
          groups.set(prop.id, list);
        } else if (prop.prop === 'coo' && type !== 'TXT')
          props.set(prop.id, { ...props.get(prop.id), coo: foldName(target) });
        continue;
      }
      if (type === 'TXT') continue;
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
    for (const [id, list] of groups) props.set(id, { ...props.get(id), group: list.sort().join(' ') });
    for (const [id, pr] of props)
      if (!ids.has(id)) {
        if (pr.group !== undefined) out.push(setGroups(name, id, []));
        if (pr.coo !== undefined) out.push(setCoo(name, id, undefined));
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
        if (have === undefined || want.get(catalog)?.id === have) continue;
        push(catalog, removeMember(catalog, have));
        const pr = this.#props.get(catalog)?.get(have);
        if (pr?.group !== undefined) push(catalog, setGroups(catalog, have, []));
        if (pr?.coo !== undefined) push(catalog, setCoo(catalog, have, undefined));
      }
      for (const [catalog, e] of want) {
        if (this.#members.get(catalog)?.get(name) !== e.id) push(catalog, addMember(catalog, e.id, name));
        const pr = this.#props.get(catalog)?.get(e.id);
        if ((pr?.group ?? '') !== e.groups)
          push(catalog, setGroups(catalog, e.id, e.groups === '' ? [] : e.groups.split(' ')));
        if (pr?.coo !== e.coo) push(catalog, setCoo(catalog, e.id, e.coo));
      }
    }
    // Catalogs that gain a `coo` first: a zone's move is announced by its old catalog before the
    // new one lists it (see #wanted), whatever else the batch holds.
    const coo = (list: CatalogChange[]) => list.some((c) => c.op === 'replace' && c.name.startsWith('coo.'));
    return new Map([...out].sort(([, a], [, b]) => Number(coo(b)) - Number(coo(a))));
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
    let props = this.#props.get(name);
    if (!props) {
      props = new Map();
      this.#props.set(name, props);
    }
    for (const c of changes) {
      const prop = propertyOf(name, c.name);
      if (prop !== undefined) {
        const pr: Props = { ...props.get(prop.id) };
        if (c.op === 'delete') delete pr[prop.prop];
        else if (prop.prop === 'group')
          pr.group = c.records
            .map((r) => r.content.replace(/^"|"$/g, ''))
            .sort()
            .join(' ');
        else pr.coo = foldName(c.records[0].content);
        if (pr.group === undefined && pr.coo === undefined) props.delete(prop.id);
        else props.set(prop.id, pr);
        continue;
      }
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

  /** The catalogs `z` belongs in, with its unique id and properties in each. */
  #wanted(z: CatalogMemberZone | undefined): Map<string, Entry> {
    const want = new Map<string, Entry>();
    if (z === undefined) return want;
    if (this.#fleet !== undefined && servedMember(z) && foldName(z.name) !== this.#fleet)
      want.set(this.#fleet, { id: memberId(this.#fleet, z.id, z.createdAt), groups: '', coo: undefined });
    if (z.catalog !== null && z.kind !== 'Producer') {
      const p = this.#producers.get(foldName(z.catalog));
      if (p !== undefined && p.accountId === z.accountId) {
        const id = memberId(z.idFrom ? foldName(z.idFrom) : p.name, z.id, z.createdAt);
        const groups = [...(z.groups ?? [])].sort().join(' ');
        const from = z.cooFrom ? this.#producers.get(foldName(z.cooFrom)) : undefined;
        const until = (z.cooAt ?? 0) + this.#cooHoldMs;
        // The old catalog first: its `coo` is planned, so written and NOTIFYed, before the new
        // catalog lists the zone (a consumer that saw the new one first would refuse the zone
        // there as the old one's member, RFC 9432 §5.6).
        if (
          from !== undefined &&
          from.accountId === z.accountId &&
          from.name !== p.name &&
          this.#now() < until
        ) {
          want.set(from.name, { id, groups, coo: p.name });
          this.#cooUntil.set(foldName(z.name), until);
        }
        want.set(p.name, { id, groups, coo: undefined });
      }
    }
    return want;
  }

  #forgetCatalog(name: string): void {
    const members = this.#members.get(name);
    if (!members) return;
    for (const zone of members.keys()) this.#unlink(zone, name);
    this.#members.delete(name);
    this.#ids.delete(name);
    this.#props.delete(name);
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
