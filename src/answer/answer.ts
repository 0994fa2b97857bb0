/**
 * The answer algorithm: RFC 1034 §4.3.2 over the served zones, with RFC 4592 wildcards,
 * RFC 6672 DNAME, RFC 2308 negative answers and RFC 8482 ANY. A pure function of
 * (catalog, question, options): it returns a result kind and the RRsets of each section;
 * the caller (respond.ts) turns the kind into RCODE and AA and encodes (STYLE.md §6 rule 1).
 *
 * Every answer is built from one zone: the one that holds the question's name (for DS at a
 * child apex, the parent). CNAME/DNAME chains stop at that zone's edge and additional data
 * comes from that zone only, as in Knot: one tenant's answer never carries another zone's
 * data, and a zone's answers depend on nothing but that zone.
 *
 * States follow Knot's internet.c: HIT (data found), NODATA, NXDOMAIN (Knot's MISS),
 * DELEGATION (referral), plus FOLLOW inside the loop for CNAME/DNAME redirection, and the
 * two outcomes outside any zone data: REFUSED (no zone) and YXDOMAIN (DNAME overflow).
 * @module
 */
import { MAX_NAME_LENGTH, RRType } from '../wire/constants.js';
import type { Name } from '../wire/name.js';
import { rdataTarget } from '../wire/rdata.js';
import { NodeFlag, type RRset, type ServedNode, type ServedZone } from '../zone/zone.js';
import type { Catalog } from './catalog.js';
import {
  isHiddenNsec3Owner,
  isSignedZone,
  proveDelegation,
  proveNodata,
  proveNxdomain,
  proveWildcard,
  rrsigAnswer,
  type SignedIndex,
  signaturesOf,
  signedIndex,
} from './dnssec.js';

/** How the lookup ended; the caller maps it to RCODE and AA (see `rcodeOfKind`). */
export const AnswerKind = {
  /** Data found (or a redirection chain that left the zone or hit the step limit). */
  HIT: 0,
  /** The name exists, the type does not: NOERROR, SOA in authority (RFC 2308 §2.2). */
  NODATA: 1,
  /** The name does not exist: NXDOMAIN, SOA in authority (RFC 2308 §2.1). */
  NXDOMAIN: 2,
  /** A zone cut was met: NS in authority, glue in additional, AA clear (RFC 1034 §4.3.2 3.b). */
  DELEGATION: 3,
  /** No served zone contains the name (RFC 1034 §4.3.2 step 2 fails). */
  REFUSED: 4,
  /** A DNAME substitution produced a name over 255 octets (RFC 6672 §2.2). */
  YXDOMAIN: 5,
} as const;

/** One of the `AnswerKind` values. */
export type AnswerKind = (typeof AnswerKind)[keyof typeof AnswerKind];

/** The outcome of a lookup: a kind and the RRsets of each section, in order. */
export interface AnswerResult {
  kind: AnswerKind;
  /** The zone the answer was built from (the only one); undefined when REFUSED. */
  zone: ServedZone | undefined;
  answer: RRset[];
  authority: RRset[];
  /** Additional data that must fit or the response is truncated: in-domain glue (RFC 9471 §3). */
  glue: RRset[];
  /** Optional additional data: dropped silently when it does not fit (RFC 2181 §9). */
  additional: RRset[];
  /**
   * The zone the catalog lookup returned (at most one, `zone`). With `absent`, all the answer
   * depends on besides the question: it stays right as long as this is the zone served at
   * its origin and no zone is added above an `absent` name or between the name looked up and
   * the zone found for it (the response cache relies on this).
   */
  zones: ServedZone[];
  /**
   * Names whose catalog lookup found no served zone: the question when REFUSED; the parent of
   * a DS query's name when the zone at that name is served but no zone above it.
   */
  absent: Name[];
}

/** Lookup options. */
export interface AnswerOptions {
  /** Most CNAME/DNAME redirections followed before answering with the chain so far (default 16). */
  maxChain?: number;
}

/** Default limit on redirections: NSD and Knot stop well before any real chain would. */
export const DEFAULT_MAX_CHAIN = 16;

/** RCODE for a kind (RFC 1035 §4.1.1, RFC 6672 §2.2 for YXDOMAIN). */
export function rcodeOfKind(kind: AnswerKind): number {
  switch (kind) {
    case AnswerKind.NXDOMAIN:
      return 3;
    case AnswerKind.REFUSED:
      return 5;
    case AnswerKind.YXDOMAIN:
      return 6;
    default:
      return 0;
  }
}

/**
 * Whether the response is authoritative (AA). A referral is not, unless a redirection in
 * the answer section led to it: AA speaks of the first owner name (RFC 6604 §2.1), which we
 * are authoritative for; NSD and Knot both answer a CNAME into a cut with AA set.
 */
export function isAuthoritative(result: AnswerResult): boolean {
  if (result.kind === AnswerKind.REFUSED) return false;
  if (result.kind === AnswerKind.DELEGATION) return result.answer.length > 0;
  return true;
}

/** Internal step outcome: a final kind, or FOLLOW with the next name in `next`. */
const FOLLOW = -1;

interface Step {
  res: AnswerResult;
  next: Name | undefined;
  /** Sets already placed, so additional processing never repeats one. */
  placed: Set<RRset>;
  /**
   * The zone's proof index when the query set DO and the zone is signed (dnssec.ts): RRSIGs
   * go with every authoritative RRset placed, and negative answers, wildcard expansions and
   * referrals carry their NSEC/NSEC3 proofs (RFC 4035 §3.1, RFC 5155 §7.2).
   */
  sec: SignedIndex | undefined;
  /** RRSIG queries answered one RRset per type covered (`DnssecMode`). */
  rrsigSplit: boolean;
}

/**
 * How the Responder asks (RFC 3225): `do` — the query set DO, so a signed zone's answers carry
 * RRSIGs and NSEC/NSEC3 proofs (dnssec.ts). Given at all (DO or not), an RRSIG query is
 * answered one RRset per type covered, each with its covered RRset's TTL (`rrsigAnswer`).
 * Without it (image compilation and its reference), the engine answers as before DNSSEC: the
 * Responder never takes a signed zone's DO or RRSIG answers from an image.
 */
export interface DnssecMode {
  do: boolean;
}

/**
 * Answers `qtype` for `qname` from the zone of `catalog` that holds it.
 *
 * CNAME and DNAME chains are followed inside that zone only, as Knot does (NSD follows them
 * into every zone it serves): a target outside the zone ends the answer with the chain so
 * far, NOERROR, AA. RFC 1034 §4.3.2 step 3.a returns to step 1, where a server "may" look in
 * its other zones; it need not, and a resolver re-queries an out-of-zone target anyway,
 * trusting no out-of-bailiwick data (RFC 2181 §5.4.1). Staying in the zone keeps tenants
 * apart (no other customer's data in an answer) and makes every answer a function of one
 * zone, which per-zone caching and compiled zone images rely on.
 */
export function answerQuery(
  catalog: Catalog,
  qname: Name,
  qtype: number,
  opts: AnswerOptions = {},
  dnssec?: DnssecMode,
): AnswerResult {
  const res: AnswerResult = {
    kind: AnswerKind.REFUSED,
    zone: undefined,
    answer: [],
    authority: [],
    glue: [],
    additional: [],
    zones: [],
    absent: [],
  };
  const zone = findZone(catalog, qname, qtype, res);
  if (!zone) return res;
  res.zone = zone;
  const maxChain = opts.maxChain ?? DEFAULT_MAX_CHAIN;
  const sec = dnssec?.do ? signedIndex(zone) : undefined;
  const step: Step = { res, next: undefined, placed: new Set(), sec, rrsigSplit: dnssec !== undefined };
  let name = qname;
  let visited: string[] | undefined;
  for (let hops = 0; ; hops++) {
    const kind = solveName(zone, name, qtype, step);
    if (kind !== FOLLOW) {
      res.kind = kind;
      break;
    }
    const next = step.next!;
    // A redirection chain ends with NOERROR and the chain so far (RFC 1034 §3.6.2 forbids
    // loops but they happen; NSD and Knot answer NOERROR, BIND SERVFAIL): at a loop, at the
    // step limit, or when the target is outside this zone (Knot's KNOT_EOUTOFZONE → HIT).
    res.kind = AnswerKind.HIT;
    if (hops + 1 >= maxChain) break;
    visited ??= [qname.key];
    visited.push(name.key);
    if (visited.includes(next.key)) break;
    if (!next.isSubdomainOf(zone.origin)) break;
    name = next;
  }
  solveAdditional(zone, step);
  return res;
}

/**
 * The most specific served zone for `name` (RFC 1034 §4.3.2 step 2), except that a DS query
 * at a child apex goes to the parent when we serve it: the DS RRset lives on the parent side
 * of the cut (RFC 4035 §3.1.4.1). For DS the zone holding `name`'s parent is looked up first:
 * it is the parent when a zone is served at `name`, and otherwise the zone holding `name`
 * itself; only when it is none is `name` looked up (a child whose parent we do not serve).
 * The zone found, or the name that found none, is noted in `res` (see `AnswerResult.zones`).
 */
function findZone(catalog: Catalog, name: Name, qtype: number, res: AnswerResult): ServedZone | undefined {
  let zone: ServedZone | undefined;
  if (qtype === RRType.DS && !name.isRoot) {
    const parent = name.parent();
    zone = catalog.find(parent);
    if (zone === undefined) {
      res.absent.push(parent);
      zone = catalog.find(name);
    }
  } else zone = catalog.find(name);
  if (zone === undefined) res.absent.push(name);
  else res.zones.push(zone);
  return zone;
}

/** One pass of RFC 1034 §4.3.2 step 3 inside `zone` for `name`. */
function solveName(zone: ServedZone, name: Name, qtype: number, step: Step): AnswerKind | typeof FOLLOW {
  const node = zone.nodes.get(name.key);
  if (node && step.sec && isHiddenNsec3Owner(step.sec, node)) {
    solveNegative(zone, name, step);
    proveNxdomain(step.sec, name, zone.origin, step.res.authority, step.placed);
    return AnswerKind.NXDOMAIN;
  }
  // Fast path: the name exists and no cut or DNAME lies above it.
  if (node && (node.flags & NodeFlag.BELOW_CUT) === 0) {
    // RFC 4035 §3.1.4.1: DS at a cut is parent-side data, answered authoritatively.
    if ((node.flags & NodeFlag.DELEGATION) !== 0 && qtype !== RRType.DS)
      return solveReferral(zone, node, name, step);
    return solveNode(zone, node, name, qtype, step);
  }
  // Walk down from the apex: the highest cut or DNAME on the path wins (RFC 1034 §4.3.2
  // step 3.b, RFC 6672 §3.2), and the last node met is the closest encloser (RFC 4592 §3.3.1).
  // The apex is included: a DNAME there redirects everything below it (RFC 6672 §2.3).
  const depth = name.labelCount;
  let encloser = zone.apex;
  for (let labels = zone.origin.labelCount; labels <= depth; labels++) {
    const n = zone.nodes.get(keySuffix(name.key, depth - labels));
    if (!n) break;
    if ((n.flags & NodeFlag.DELEGATION) !== 0) {
      if (labels === depth && qtype === RRType.DS) return solveNode(zone, n, name, qtype, step);
      return solveReferral(zone, n, name, step);
    }
    if ((n.flags & NodeFlag.DNAME) !== 0 && labels < depth) return solveDname(zone, n, name, qtype, step);
    encloser = n;
  }
  // The name does not exist. RFC 4592 §3.3.1: the source of synthesis is `*.<closest
  // encloser>`; an existing name or ancestor (ENTs too) blocks it, because the closest
  // encloser is then deeper than the wildcard's parent.
  if ((encloser.flags & NodeFlag.WILDCARD_CHILD) !== 0) {
    const wild = zone.nodes.get(`\x01*${encloser.name.key}`);
    if (wild) {
      const kind = solveNode(zone, wild, name, qtype, step);
      if (step.sec)
        proveWildcard(step.sec, name, wild, kind === AnswerKind.NODATA, step.res.authority, step.placed);
      return kind;
    }
  }
  solveNegative(zone, name, step);
  if (step.sec) proveNxdomain(step.sec, name, encloser.name, step.res.authority, step.placed);
  return AnswerKind.NXDOMAIN;
}

/**
 * Answers from the data at `node` for `owner` (the node itself, or a wildcard standing in
 * for `owner`, RFC 4592 §3.3.1: synthesized records take the query name as owner).
 *
 * A wildcard that owns NS is not treated as a delegation: RFC 4592 §4.2 leaves its meaning
 * undefined; like NSD we answer its NS as plain data and give NODATA for other types (Knot
 * refers with the literal `*` owner, which resolvers cannot use).
 */
function solveNode(
  zone: ServedZone,
  node: ServedNode,
  owner: Name,
  qtype: number,
  step: Step,
): AnswerKind | typeof FOLLOW {
  const sets = node.rrsets;
  if (sets.length === 0) {
    // An empty non-terminal exists (RFC 8020): NODATA, never NXDOMAIN.
    solveNegative(zone, owner, step);
    if (step.sec && node.name.key === owner.key) proveNodata(step.sec, node, step.res.authority, step.placed);
    return AnswerKind.NODATA;
  }
  if (qtype === RRType.ANY) {
    // RFC 8482 §4.1: answer ANY with one RRset of the node; we take the lowest type, as Knot
    // does (NSD takes its first stored), the same over UDP and TCP like both of them.
    let pick = sets[0];
    for (let i = 1; i < sets.length; i++) if (sets[i].type < pick.type) pick = sets[i];
    placeAnswer(step, pick, owner, node);
    return AnswerKind.HIT;
  }
  // Only a signed zone's: an unsigned zone's RRSIG records stay one RRset, as its image has them.
  if (qtype === RRType.RRSIG && step.rrsigSplit && isSignedZone(zone)) {
    const sigs = rrsigAnswer(node, owner);
    if (sigs) {
      for (const s of sigs) step.res.answer.push(s);
      return AnswerKind.HIT;
    }
  }
  const set = node.get(qtype);
  if (set) {
    placeAnswer(step, set, owner, node);
    return AnswerKind.HIT;
  }
  const cname = node.get(RRType.CNAME);
  if (cname && cname.rdata.length > 0) {
    // RFC 1034 §4.3.2 3.a: copy the CNAME, continue with its target.
    placeAnswer(step, cname, owner, node);
    const target = rdataTarget(RRType.CNAME, cname.rdata[0]);
    if (!target) return AnswerKind.HIT;
    step.next = target;
    return FOLLOW;
  }
  solveNegative(zone, owner, step);
  // A wildcard's NODATA proof is the caller's (solveName).
  if (step.sec && node.name.key === owner.key) proveNodata(step.sec, node, step.res.authority, step.placed);
  return AnswerKind.NODATA;
}

/**
 * RFC 6672 §3.2: `name` lies below the DNAME at `node`: copy the DNAME, synthesize a CNAME
 * from `name` to the substituted name with the DNAME's TTL (§3.1), and continue with it.
 */
function solveDname(
  zone: ServedZone,
  node: ServedNode,
  name: Name,
  qtype: number,
  step: Step,
): AnswerKind | typeof FOLLOW {
  const dname = node.get(RRType.DNAME)!;
  // A DNAME whose target lies below itself redirects forever; meeting it a second time ends
  // the chain, as NSD does (the answer already holds this DNAME once).
  if (step.placed.has(dname)) return AnswerKind.HIT;
  step.res.answer.push(dname);
  step.placed.add(dname);
  // The synthesized CNAME is unsigned (RFC 6672 §5.3.1): the DNAME's RRSIGs vouch for it.
  const sig = step.sec ? signaturesOf(node, dname) : undefined;
  if (sig) step.res.answer.push(sig);
  const target = rdataTarget(RRType.DNAME, dname.rdata[0]);
  if (!target) return AnswerKind.HIT;
  // RFC 6672 §2.2: a substituted name over 255 octets is YXDOMAIN, with the DNAME only.
  if (name.length - node.name.length + target.length > MAX_NAME_LENGTH) return AnswerKind.YXDOMAIN;
  const next = name.replaceSuffix(node.name, target);
  step.res.answer.push({
    name,
    type: RRType.CNAME,
    class: zone.class,
    ttl: dname.ttl,
    rdata: [next.toBytes()],
  });
  // RFC 1034 §4.3.2 3.a: a CNAME is followed only when QTYPE is not CNAME itself.
  if (qtype === RRType.CNAME) return AnswerKind.HIT;
  step.next = next;
  return FOLLOW;
}

/**
 * RFC 1034 §4.3.2 3.b: a referral to the cut at `cut`: its NS RRset in authority, and the
 * addresses of the NS targets we hold in this zone in additional. Targets below the cut are
 * in-domain glue, required for the referral to work (RFC 9471 §2.1); others (sibling glue and
 * our own authoritative addresses) are optional (RFC 9471 §2.2).
 */
function solveReferral(zone: ServedZone, cut: ServedNode, name: Name, step: Step): AnswerKind {
  const ns = cut.get(RRType.NS)!;
  step.res.authority.push(cut.name.key === name.key ? renamed(ns, name) : ns);
  // RFC 4035 §3.1.4: the NS of a cut is unsigned; its DS and RRSIGs, or the proof of none.
  if (step.sec) proveDelegation(step.sec, cut, step.res.authority, step.placed);
  const optional: RRset[] = [];
  for (const rdata of ns.rdata) {
    const target = rdataTarget(RRType.NS, rdata);
    if (!target?.isSubdomainOf(zone.origin)) continue;
    const node = zone.nodes.get(target.key);
    if (!node) continue;
    const into = target.isSubdomainOf(cut.name) ? step.res.glue : optional;
    pushAddresses(node, into, step.placed);
  }
  for (const set of optional) step.res.additional.push(set);
  return AnswerKind.DELEGATION;
}

/** RFC 2308 §3: the zone's SOA in authority, its TTL the lesser of its own TTL and MINIMUM. */
function solveNegative(zone: ServedZone, name: Name, step: Step): void {
  const soa = negativeSoa(zone, name);
  step.res.authority.push(soa);
  const sig = step.sec ? signaturesOf(zone.apex, soa) : undefined;
  if (sig) step.res.authority.push(sig);
}

const negativeSoaCache = new WeakMap<ServedZone, RRset>();

function negativeSoa(zone: ServedZone, name: Name): RRset {
  let soa = negativeSoaCache.get(zone);
  if (!soa) {
    soa = { ...zone.soa, ttl: Math.min(zone.soa.ttl, zone.soaData.minimum) };
    negativeSoaCache.set(zone, soa);
  }
  // Keep the query's spelling when it asked for the apex, so the owner compresses to it.
  return name.key === soa.name.key && name.wire !== soa.name.wire ? renamed(soa, name) : soa;
}

/**
 * Additional processing (RFC 1034 §4.3.2 step 6, RFC 2181 §9): A and AAAA of the NS, MX and
 * SRV targets in the answer, when they are authoritative data of `zone`, the zone the answer
 * came from (as Knot: never another zone's data). Names below a cut are glue, given only
 * with referrals (solveReferral).
 */
function solveAdditional(zone: ServedZone, step: Step): void {
  const answer = step.res.answer;
  for (let i = 0; i < answer.length; i++) {
    const set = answer[i];
    const type = set.type;
    if (type !== RRType.NS && type !== RRType.MX && type !== RRType.SRV) continue;
    for (const rdata of set.rdata) {
      const target = rdataTarget(type, rdata);
      if (!target || target.isRoot) continue;
      const node = zone.nodes.get(target.key);
      if (!node || (node.flags & (NodeFlag.BELOW_CUT | NodeFlag.DELEGATION)) !== 0) continue;
      pushAddresses(node, step.res.additional, step.placed, step.sec !== undefined);
    }
  }
}

/** A and AAAA of `node` into `into`, each with its RRSIGs when `signed` (authoritative data). */
function pushAddresses(node: ServedNode, into: RRset[], placed: Set<RRset>, signed = false): void {
  for (const type of ADDRESS_TYPES) {
    const set = node.get(type);
    if (!set || placed.has(set)) continue;
    into.push(set);
    placed.add(set);
    const sig = signed ? signaturesOf(node, set) : undefined;
    if (sig) into.push(sig);
  }
}

const ADDRESS_TYPES = [RRType.A, RRType.AAAA];

/** `set` of `node` into the answer under `owner`, with its RRSIGs when DNSSEC is asked for. */
function placeAnswer(step: Step, set: RRset, owner: Name, node: ServedNode): void {
  step.placed.add(set);
  const placed = set.name.wire === owner.wire ? set : renamed(set, owner);
  step.res.answer.push(placed);
  // RFC 4035 §3.1.1; an RRSIG query's answer is RRSIGs themselves, never signed again.
  const sig = step.sec && set.type !== RRType.RRSIG ? signaturesOf(node, placed) : undefined;
  if (sig) step.res.answer.push(sig);
}

/** The RRset under another owner: a wildcard expansion, or the query's own spelling. */
function renamed(set: RRset, owner: Name): RRset {
  return { name: owner, type: set.type, class: set.class, ttl: set.ttl, rdata: set.rdata };
}

/** The key of the ancestor `drop` labels up from the name whose key is `key`. */
function keySuffix(key: string, drop: number): string {
  let i = 0;
  while (drop-- > 0) i += key.charCodeAt(i) + 1;
  return i === 0 ? key : key.slice(i);
}
