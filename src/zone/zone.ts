/**
 * The in-memory zone: an immutable snapshot of names → RRsets, built once and only read on
 * the query path. Everything the answer algorithm needs is precomputed at build time
 * (Knot's adjust.c, NSD's struct domain): empty non-terminals exist as nodes, delegation
 * points and occluded names are flagged, and each node knows whether it has children.
 * @module
 */

import { RRType } from '../wire/constants.js';
import { WireFormatError } from '../wire/errors.js';
import type { RR } from '../wire/message.js';
import { Name } from '../wire/name.js';
import type { QueryView } from '../wire/query-view.js';
import { readSoa, type Soa } from '../wire/rdata.js';
import { nameLengthAt } from '../wire/rdata-wire.js';
import { RdataSlab } from './rdata-slab.js';

/** All records of one owner, type and class (RFC 2181 §5). */
export interface RRset {
  name: Name;
  type: number;
  class: number;
  ttl: number;
  rdata: Uint8Array[];
}

/** Node flags. */
export const NodeFlag = {
  /** Has an NS RRset and is not the apex: a zone cut. */
  DELEGATION: 1,
  /** Lies below a zone cut or a DNAME: not authoritative data (glue or occluded). */
  BELOW_CUT: 2,
  /** Has a DNAME RRset. */
  DNAME: 4,
  /** Has at least one child node (so it is an ENT when it has no RRsets). */
  HAS_CHILDREN: 8,
  /** Has a wildcard child `*.name`. */
  WILDCARD_CHILD: 16,
} as const;

/**
 * What the answer engine reads of one owner name: `ZoneNode` (JS objects built from records)
 * and `ImageNode` (src/image/zone-view.ts, read from a compiled image) both provide it.
 * `get` must return the same RRset object for the same node during one answer (additional
 * processing dedupes RRsets by identity).
 */
export interface ServedNode {
  readonly name: Name;
  readonly rrsets: readonly RRset[];
  readonly flags: number;
  get(type: number): RRset | undefined;
}

/**
 * What the answer engine, the Catalog, the Responder and the response cache read of a served
 * zone: `Zone` and `ImageZone` (src/image/zone-view.ts) both provide it. Zones are compared by
 * identity (a served zone never changes once built).
 */
export interface ServedZone {
  readonly origin: Name;
  readonly class: number;
  /** Nodes by key (case-folded wire name, `Name.key`), ENTs included. */
  readonly nodes: { get(key: string): ServedNode | undefined };
  readonly apex: ServedNode;
  readonly soa: RRset;
  readonly soaData: Soa;
  readonly serial: number;
  readonly recordCount: number;
  /** Non-fatal findings when the zone was built (an image holds none: they were reported then). */
  readonly warnings: readonly ZoneWarning[];
  /** The node at exactly `name`, if it exists (ENTs included). */
  get(name: Name): ServedNode | undefined;
  /**
   * Zones read from a compiled image (`ImageZone`, src/image/zone-view.ts; undefined for a
   * `Zone`): writes the response to `query`, which `view` pre-parsed, into `out` by copying a
   * precomputed answer and returns its length, or returns −reason (src/image/format.ts
   * `Fallback`) when the image does not hold the answer (the engine then answers). `limit`:
   * the response size limit; `udpSize`: our EDNS size; `nsid`: our NSID option (code, length,
   * payload) when configured. Never throws.
   */
  respondFromTemplate?(
    query: Uint8Array,
    view: QueryView,
    limit: number,
    udpSize: number,
    nsid: Uint8Array | undefined,
    out: Uint8Array,
  ): number;
}

/** One owner name in the zone (possibly an empty non-terminal with no RRsets). */
export class ZoneNode implements ServedNode {
  readonly name: Name;
  /** RRsets at this name; a short array (a few types per name) beats a Map in memory. */
  rrsets: RRset[];
  flags = 0;

  constructor(name: Name, rrsets: RRset[] = []) {
    this.name = name;
    this.rrsets = rrsets;
  }

  /** The RRset of `type`, if any. */
  get(type: number): RRset | undefined {
    const sets = this.rrsets;
    for (let i = 0; i < sets.length; i++) if (sets[i].type === type) return sets[i];
    return undefined;
  }

  /** True for a name with no RRsets (an empty non-terminal when it has children). */
  get isEmpty(): boolean {
    return this.rrsets.length === 0;
  }

  has(flag: number): boolean {
    return (this.flags & flag) !== 0;
  }
}

/** A problem found while building a zone that does not stop it from loading. */
export interface ZoneWarning {
  name: string;
  message: string;
}

/** Why a zone could not be built. */
export class ZoneBuildError extends Error {
  readonly code = 'ZONE_ERR_BUILD';
  constructor(message: string) {
    super(message);
    this.name = 'ZoneBuildError';
  }
}

/**
 * The apex's one SOA RRset and its serial and MINIMUM, checked as every zone build checks them
 * (`Zone`, `ColumnZone`): what readSoa checks, without making its two Names (most zones never
 * need them). @throws ZoneBuildError without an apex SOA or with more than one SOA record;
 * WireFormatError for an SOA RDATA of the wrong length
 */
export function apexSoa(
  origin: Name,
  apex: { get(type: number): RRset | undefined } | undefined,
): { soa: RRset; serial: number; minimum: number } {
  const soa = apex?.get(RRType.SOA);
  if (!apex || !soa) throw new ZoneBuildError(`zone ${origin} has no SOA record at its apex`);
  if (soa.rdata.length !== 1) throw new ZoneBuildError(`zone ${origin} has ${soa.rdata.length} SOA records`);
  const rd = soa.rdata[0];
  const mlen = nameLengthAt(rd, 0);
  const p = mlen + nameLengthAt(rd, mlen);
  if (p + 20 !== rd.length) throw new WireFormatError('DNS_ERR_RDATA', 'SOA RDATA: bad length');
  return {
    soa,
    serial: ((rd[p] << 24) | (rd[p + 1] << 16) | (rd[p + 2] << 8) | rd[p + 3]) >>> 0,
    minimum: ((rd[p + 16] << 24) | (rd[p + 17] << 16) | (rd[p + 18] << 8) | rd[p + 19]) >>> 0,
  };
}

/** An immutable zone snapshot. */
export class Zone implements ServedZone {
  readonly origin: Name;
  readonly class: number;
  /** key (case-folded wire name) → node; includes the apex and every empty non-terminal. */
  readonly nodes: Map<string, ZoneNode>;
  readonly apex: ZoneNode;
  readonly soa: RRset;
  /** The SOA's serial and MINIMUM, read at build time; the rest of `soaData` when asked. */
  readonly #serial: number;
  readonly #minimum: number;
  #soaData: Soa | undefined;
  /** Count of records (not RRsets). */
  readonly recordCount: number;
  /** Non-fatal findings at build time (duplicate records, TTL mismatch, out-of-zone data). */
  readonly warnings: readonly ZoneWarning[];

  private constructor(
    origin: Name,
    cls: number,
    nodes: Map<string, ZoneNode>,
    recordCount: number,
    warnings: ZoneWarning[],
  ) {
    this.origin = origin;
    this.class = cls;
    this.nodes = nodes;
    const apex = nodes.get(origin.key);
    const checked = apexSoa(origin, apex);
    this.apex = apex as ZoneNode; // apexSoa threw without one
    this.soa = checked.soa;
    this.#serial = checked.serial;
    this.#minimum = checked.minimum;
    this.recordCount = recordCount;
    this.warnings = warnings;
  }

  /** The node at exactly `name`, if it exists (ENTs included). */
  get(name: Name): ZoneNode | undefined {
    return this.nodes.get(name.key);
  }

  /** The apex SOA's fields. */
  get soaData(): Soa {
    this.#soaData ??= readSoa(this.soa.rdata[0]);
    return this.#soaData;
  }

  /** SOA serial. */
  get serial(): number {
    return this.#serial;
  }

  /** SOA MINIMUM: the TTL of negative answers is the least of it and the SOA's TTL (RFC 2308 §5). */
  get soaMinimum(): number {
    return this.#minimum;
  }

  /**
   * Builds a zone from records. Records are grouped into RRsets (duplicates dropped,
   * RFC 2181 §5); an RRset's TTL is its first record's (RFC 2181 §5.2 forbids mixed TTLs:
   * reported as a warning). Records outside the origin are dropped with a warning, as BIND
   * does. Throws when there is no single SOA at the apex.
   */
  static build(origin: Name, records: Iterable<RR>, cls = 1): Zone {
    const nodes = new Map<string, ZoneNode>();
    const warnings: ZoneWarning[] = [];
    // Octet keys of large RRsets' RDATA: the duplicate test stays linear for big RRsets
    // (a $GENERATE of 65,536 records at one name took 8 s with the pairwise scan).
    const seen = new Map<RRset, Set<string>>();
    let count = 0;
    const slab = new RdataSlab();
    const apex = new ZoneNode(origin);
    nodes.set(origin.key, apex);

    // Records of one owner come together and share its Name (the parser's): test it once,
    // and look its node up once (`lastNode`: the node of `lastName`, once there is one).
    let lastName: Name | undefined;
    let lastInZone = false;
    let lastNode: ZoneNode | undefined;
    for (const rr of records) {
      if (rr.name !== lastName) {
        lastName = rr.name;
        lastInZone = lastName.isSubdomainOf(origin);
        lastNode = undefined;
      }
      if (!lastInZone) {
        warnings.push({ name: rr.name.toString(), message: `out of zone data ignored (zone ${origin})` });
        continue;
      }
      if (rr.class !== cls) {
        warnings.push({ name: rr.name.toString(), message: 'record of another class ignored' });
        continue;
      }
      let node = lastNode ?? nodes.get(rr.name.key);
      lastNode = node;
      let set = node?.get(rr.type);
      if (!set) {
        // Array literals get exactly the room they need; a push onto [] reserves 17 slots.
        const owner = node?.name ?? rr.name;
        set = { name: owner, type: rr.type, class: rr.class, ttl: rr.ttl, rdata: [slab.adopt(rr.rdata)] };
        count++;
        if (node) node.rrsets.push(set);
        else {
          node = new ZoneNode(rr.name, [set]);
          nodes.set(rr.name.key, node);
          addAncestors(nodes, node.name, origin, apex);
          lastNode = node;
        }
        continue;
      } else {
        if (isDuplicate(seen, set, rr.rdata)) {
          warnings.push({ name: rr.name.toString(), message: `duplicate ${rr.type} record ignored` });
          continue;
        }
        // RFC 4034 §3: each RRSIG carries the TTL of the RRset it covers, so RRSIGs at one
        // name legitimately differ: not a mismatch. (One TTL is still kept per RRSIG set.)
        if (set.ttl !== rr.ttl && rr.type !== RRType.RRSIG)
          warnings.push({
            name: rr.name.toString(),
            message: `TTL ${rr.ttl} differs from the RRset's TTL ${set.ttl}; using ${set.ttl}`,
          });
      }
      set.rdata.push(slab.adopt(rr.rdata));
      count++;
    }
    compact(nodes);
    adjust(nodes, origin);
    return new Zone(origin, cls, nodes, count, warnings);
  }

  /** Every record, apex first then by canonical order is NOT guaranteed; use the printer to sort. */
  *records(): IterableIterator<RR> {
    for (const node of this.nodes.values())
      for (const set of node.rrsets)
        for (const rdata of set.rdata)
          yield { name: set.name, type: set.type, class: set.class, ttl: set.ttl, rdata };
  }
}

/** Trims arrays that grew by push (V8 reserves spare slots) to their exact length. */
function compact(nodes: Map<string, ZoneNode>): void {
  for (const node of nodes.values()) {
    if (node.rrsets.length > 1) node.rrsets = node.rrsets.slice();
    for (const set of node.rrsets) if (set.rdata.length > 1) set.rdata = set.rdata.slice();
  }
}

function rdataKey(d: Uint8Array): string {
  return Buffer.from(d.buffer, d.byteOffset, d.length).toString('latin1');
}

/** True when `rdata` is already in `set`; records its key when it is not (and the set is big). */
function isDuplicate(seen: Map<RRset, Set<string>>, set: RRset, rdata: Uint8Array): boolean {
  if (set.rdata.length < 16) return set.rdata.some((d) => bytesEqual(d, rdata));
  let keys = seen.get(set);
  if (!keys) {
    keys = new Set(set.rdata.map(rdataKey));
    seen.set(set, keys);
  }
  const k = rdataKey(rdata);
  if (keys.has(k)) return true;
  keys.add(k);
  return false;
}

/**
 * Creates the empty non-terminal nodes between `name` and the origin. `apex` is the origin's
 * node: a parent whose key is as long as the origin's is the origin (`name` is under it), so
 * that step (for most names the only one) makes and hashes no slice of the key.
 */
function addAncestors(nodes: Map<string, ZoneNode>, name: Name, origin: Name, apex: ZoneNode): void {
  let child = name;
  const originLength = origin.key.length;
  while (child.key !== origin.key) {
    // Looked up by key first: the parent's Name is made only when its node is (an ENT).
    const cut = child.key.charCodeAt(0) + 1;
    const existing = child.key.length - cut === originLength ? apex : nodes.get(child.key.slice(cut));
    if (existing) {
      existing.flags |= NodeFlag.HAS_CHILDREN;
      if (child.isWildcard) existing.flags |= NodeFlag.WILDCARD_CHILD;
      return;
    }
    const parent = child.parent();
    const node = new ZoneNode(parent);
    node.flags |= NodeFlag.HAS_CHILDREN;
    if (child.isWildcard) node.flags |= NodeFlag.WILDCARD_CHILD;
    nodes.set(parent.key, node);
    child = parent;
  }
}

/** Precomputes node flags: delegations, DNAMEs and what lies below them. */
function adjust(nodes: Map<string, ZoneNode>, origin: Name): void {
  const cuts: ZoneNode[] = [];
  for (const node of nodes.values()) {
    if (node.name.key !== origin.key && node.get(RRType.NS)) {
      node.flags |= NodeFlag.DELEGATION;
      cuts.push(node);
    }
    if (node.get(RRType.DNAME)) {
      node.flags |= NodeFlag.DNAME;
      cuts.push(node);
    }
  }
  if (cuts.length === 0) return;
  // A node is below a cut when any proper ancestor (below the apex) is a delegation or DNAME.
  for (const node of nodes.values()) {
    let n = node.name;
    while (n.key !== origin.key) {
      n = n.parent();
      const anc = nodes.get(n.key);
      // RFC 6672 §2.4: nothing may exist below a DNAME, the apex's included.
      const mask = n.key === origin.key ? NodeFlag.DNAME : NodeFlag.DELEGATION | NodeFlag.DNAME;
      if (anc && (anc.flags & mask) !== 0) {
        node.flags |= NodeFlag.BELOW_CUT;
        break;
      }
    }
  }
}

/** Octet equality of two byte arrays. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export { Name };
