/**
 * The consumer side of catalog zones, version 2 (RFC 9432): from a catalog zone's records,
 * the member zones and their unique IDs.
 *
 * - The catalog must carry exactly one TXT at `version.<catalog>` whose one string is "2"
 *   (§4.2); otherwise it is not processed at all (`ok: false`) and the consumer keeps what it
 *   served from the last good catalog.
 * - A member is a PTR at `<id>.zones.<catalog>`, `<id>` one label (§4.1). A member node with
 *   more than one PTR is broken: ignored. A zone named by several member nodes is taken under
 *   the ID the consumer already has for it when that is among them (no re-transfer), else the
 *   first ID in canonical order; the others are reported as ignored.
 * - The `coo` property (§5.4.1: `coo.<id>.zones.<catalog> PTR <new catalog>`, one PTR) is
 *   returned with its member for a consumer that follows several catalogs (`CatalogMember.coo`);
 *   `group` and custom `ext` properties are not acted upon; a member zone that is the catalog
 *   itself or below it is ignored.
 *
 * What the consumer does with a change (§5): a new member is transferred and served; a member
 * gone from the catalog is no longer served and its data dropped; a member whose ID changed
 * (a zone deleted and re-created on the producer, or a reset) is dropped and transferred anew.
 * `diffCatalog` says which of these apply.
 * @module
 */
import { RRType } from '../../wire/constants.js';
import type { RR } from '../../wire/message.js';
import { Name } from '../../wire/name.js';
import { rdataToText } from '../../wire/rdata.js';

/** One member zone of a catalog. */
export interface CatalogMember {
  /** The member zone (absolute, as the PTR names it). */
  zone: Name;
  /** Its unique ID (the member node's first label, as it is: IDs compare case-insensitively). */
  id: string;
  /** The catalog its `coo` property names (change of ownership, RFC 9432 §5.4.1), if any. */
  coo?: Name;
}

export type CatalogParse =
  | { ok: true; members: CatalogMember[]; ignored: string[] }
  | { ok: false; why: string };

/** The text of a TXT RDATA's strings (bounds-checked), or undefined when malformed. */
function txtStrings(rdata: Uint8Array): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  while (i < rdata.length) {
    const len = rdata[i];
    if (i + 1 + len > rdata.length) return undefined;
    out.push(Buffer.from(rdata.subarray(i + 1, i + 1 + len)).toString('latin1'));
    i += 1 + len;
  }
  return out;
}

/**
 * Parses a catalog's records. `known`: the ID the consumer holds per member zone (its name's
 * key), to keep a zone listed twice under the ID it already has.
 */
export function parseCatalog(
  catalog: Name,
  records: Iterable<RR>,
  known?: ReadonlyMap<string, string>,
): CatalogParse {
  const versionNode = catalog.prepend('version');
  const zonesNode = catalog.prepend('zones');
  const versions: RR[] = [];
  /** Member node key → its ID label and PTRs. */
  const nodes = new Map<string, { id: string; targets: Name[] }>();
  /** Member node key → the targets of its `coo` property. */
  const coos = new Map<string, Name[]>();
  const ignored: string[] = [];
  for (const rr of records) {
    if (rr.type === RRType.TXT && rr.name.equals(versionNode)) versions.push(rr);
    else if (rr.type === RRType.PTR && rr.name.isSubdomainOf(zonesNode) && !rr.name.equals(zonesNode)) {
      if (rr.name.labelCount === zonesNode.labelCount + 2 && rr.name.firstLabel().toLowerCase() === 'coo') {
        try {
          const target = Name.parse(rdataToText(RRType.PTR, rr.rdata));
          const key = rr.name.parent().key;
          coos.set(key, [...(coos.get(key) ?? []), target]);
        } catch {
          ignored.push(`${rr.name}: malformed PTR`);
        }
        continue;
      }
      if (rr.name.labelCount !== zonesNode.labelCount + 1) {
        ignored.push(`${rr.name}: a PTR deeper than one label below zones (not a member)`);
        continue;
      }
      let target: Name;
      try {
        target = Name.parse(rdataToText(RRType.PTR, rr.rdata));
      } catch {
        ignored.push(`${rr.name}: malformed PTR`);
        continue;
      }
      const node = nodes.get(rr.name.key) ?? { id: rr.name.firstLabel(), targets: [] };
      node.targets.push(target);
      nodes.set(rr.name.key, node);
    }
  }
  if (versions.length !== 1)
    return { ok: false, why: `${versions.length} TXT records at ${versionNode} (exactly one is required)` };
  const v = txtStrings(versions[0].rdata);
  if (v === undefined || v.length !== 1 || v[0] !== '2')
    return { ok: false, why: `catalog schema version ${JSON.stringify(v)} is not supported (only "2")` };
  for (const [key, targets] of coos) {
    const node = nodes.get(key);
    if (node === undefined) ignored.push(`coo.${Name.fromWire(key).firstLabel()}: a property of no member`);
    else if (targets.length !== 1)
      ignored.push(`member ${node.id}: ${targets.length} coo PTR records (one is allowed)`);
  }
  /** Zone key → candidate members. */
  const byZone = new Map<string, CatalogMember[]>();
  for (const [nodeKey, node] of nodes) {
    if (node.targets.length !== 1) {
      ignored.push(`member ${node.id}: ${node.targets.length} PTR records (exactly one is required)`);
      continue;
    }
    const zone = node.targets[0];
    if (zone.isSubdomainOf(catalog)) {
      ignored.push(`member ${node.id}: ${zone} is the catalog or inside it`);
      continue;
    }
    const list = byZone.get(zone.key) ?? [];
    const coo = coos.get(nodeKey);
    list.push(coo?.length === 1 ? { zone, id: node.id, coo: coo[0] } : { zone, id: node.id });
    byZone.set(zone.key, list);
  }
  const members: CatalogMember[] = [];
  for (const [key, list] of byZone) {
    if (list.length === 1) {
      members.push(list[0]);
      continue;
    }
    const had = known?.get(key);
    list.sort((a, b) => (a.id.toLowerCase() < b.id.toLowerCase() ? -1 : 1));
    const keep = list.find((m) => had !== undefined && m.id.toLowerCase() === had.toLowerCase()) ?? list[0];
    members.push(keep);
    for (const m of list)
      if (m !== keep) ignored.push(`member ${m.id}: ${m.zone} is listed already under ${keep.id}`);
  }
  return { ok: true, members, ignored };
}

/** What a consumer does to go from the members it serves to a catalog's. */
export interface CatalogDiff {
  /** New members: transfer and serve. */
  added: CatalogMember[];
  /** Members gone: stop serving, drop their data. */
  removed: string[];
  /** Members whose ID changed: drop their data, transfer anew. */
  reset: CatalogMember[];
}

/** `have`: zone name key → the ID served under. */
export function diffCatalog(
  have: ReadonlyMap<string, string>,
  members: readonly CatalogMember[],
): CatalogDiff {
  const added: CatalogMember[] = [];
  const reset: CatalogMember[] = [];
  const seen = new Set<string>();
  for (const m of members) {
    seen.add(m.zone.key);
    const id = have.get(m.zone.key);
    if (id === undefined) added.push(m);
    else if (id.toLowerCase() !== m.id.toLowerCase()) reset.push(m);
  }
  const removed = [...have.keys()].filter((k) => !seen.has(k));
  return { added, removed, reset };
}
