/**
 * Semantic checks of a zone, in the spirit of named-checkzone and Knot's semantic checks:
 * errors make the zone refuse to load (the server keeps the previous version), warnings are
 * reported only. Severities follow BIND where the RFCs leave room: a broken apex is an
 * error, a delegation without glue or an MX pointing at a CNAME is a warning.
 * @module
 */
import { createHash } from 'node:crypto';
import { RRType, typeToString } from '../wire/constants.js';
import type { RR } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { rdataTarget } from '../wire/rdata.js';
import { nameLengthAt } from '../wire/rdata-wire.js';
import type { ColumnZone, ZoneColumns } from './column-zone.js';
import { type Zone as BuiltZone, NodeFlag, type RRset, type ZoneNode } from './zone.js';

/** A zone the checks read: a `Zone`, or the same zone kept as columns (`ColumnZone`). */
type Zone = BuiltZone | ColumnZone;

/** One check result. */
export interface ZoneFinding {
  severity: 'error' | 'warning';
  /** Owner name (presentation form) the finding is about. */
  name: string;
  /** The RR type concerned, when there is one (used to find the source line). */
  type?: number;
  message: string;
  /** A stable code for findings that callers treat specially. */
  code?: ZoneCheckCode;
}

/**
 * Codes of findings a caller may grade differently. `ZONE_CHECK_NS_NO_ADDRESS`: an in-zone
 * apex NS target without A/AAAA — an error for named-checkzone (the zone is not loaded), but
 * PowerDNS accepts such zones through its API, and the clients built for it expect that.
 * `ZONE_CHECK_NS_NO_GLUE`: an NS target at or below a zone cut without the glue addresses
 * (RFC 9471) — a warning here, as in BIND; the control plane refuses it.
 * `ZONE_CHECK_NAMES`: a name where a host name or mailbox is expected is not one (BIND's
 * check-names); always a warning.
 */
export type ZoneCheckCode = 'ZONE_CHECK_NS_NO_ADDRESS' | 'ZONE_CHECK_NS_NO_GLUE' | 'ZONE_CHECK_NAMES';

/**
 * Types allowed beside a CNAME: RFC 4035 §2.5 (RRSIG, NSEC) and RFC 2065 §2.3.5 (the old
 * security types SIG, KEY, NXT, still accepted by BIND) amend RFC 1034 §3.6.2.
 */
const CNAME_COMPANIONS = new Set<number>([
  RRType.CNAME,
  RRType.RRSIG,
  RRType.NSEC,
  RRType.SIG,
  RRType.KEY,
  RRType.NXT,
]);

/** Types that are authoritative data at a delegation point (RFC 4035 §2.4, RFC 4034 §4). */
const AT_CUT = new Set<number>([RRType.NS, RRType.DS, RRType.RRSIG, RRType.NSEC]);

function isAddress(type: number): boolean {
  return type === RRType.A || type === RRType.AAAA;
}

function hasAddress(node: ZoneNode | undefined): boolean {
  return node !== undefined && (node.get(RRType.A) !== undefined || node.get(RRType.AAAA) !== undefined);
}

/** True when `cut` redirects by DNAME: a DNAME at a delegation point is itself occluded. */
function isDnameCut(cut: ZoneNode | undefined): boolean {
  return (cut?.has(NodeFlag.DNAME) ?? false) && !cut?.has(NodeFlag.DELEGATION);
}

/** The closest delegation or DNAME node strictly above `name` (the apex only for DNAME), if any. */
function cutAbove(zone: Zone, name: Name): ZoneNode | undefined {
  return cutAboveKey(zone, name.key);
}

/**
 * `cutAbove` of the name whose key is `key`, walking keys (no Name made per ancestor). The
 * step to the origin (the last one, and for most names of a zone the only one) looks the apex
 * up by the origin's own key: no slice of `key` is made and hashed for it.
 */
function cutAboveKey(zone: Zone, key: string): ZoneNode | undefined {
  const originKey = zone.origin.key;
  let k = key;
  while (k !== originKey && k.length > 1) {
    const next = k.charCodeAt(0) + 1;
    if (k.length - next === originKey.length && k.endsWith(originKey)) {
      const apex = zone.nodes.get(originKey);
      return apex?.has(NodeFlag.DNAME) ? apex : undefined;
    }
    k = k.slice(next);
    const anc = zone.nodes.get(k);
    if (!anc) continue;
    if (k === originKey) return anc.has(NodeFlag.DNAME) ? anc : undefined;
    if (anc.has(NodeFlag.DELEGATION) || anc.has(NodeFlag.DNAME)) return anc;
  }
  return undefined;
}

/**
 * The key (`Name.key`) of the uncompressed name at rd[pos], the target of an NS (pos 0), MX
 * (2) or SRV (6) record: the checks look targets up by key and make a Name only to report one.
 * @throws WireFormatError as `rdataTarget` does for a name that runs past the RDATA
 */
function targetKeyAt(rd: Uint8Array, pos: number): string {
  const end = pos + nameLengthAt(rd, pos);
  // One flat string made at once when there is nothing to fold (a string built a character
  // at a time is a chain of ~25 strings the Map lookup that follows must flatten first).
  let k = pos;
  while (k < end && (rd[k] < 0x41 || rd[k] > 0x5a)) k++;
  if (k === end) return latin1Slice.call(rd, pos, end);
  let s = '';
  for (let i = pos; i < end; i++) {
    const c = rd[i];
    s += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
  }
  return s;
}

const latin1Slice = Buffer.prototype.latin1Slice as (this: Uint8Array, start: number, end: number) => string;

/** `Name.isSubdomainOf` on keys. */
function keyIsUnder(k: string, a: string): boolean {
  if (a.length > k.length) return false;
  if (a.length === k.length) return a === k;
  let i = 0;
  const target = k.length - a.length;
  while (i < target) i += k.charCodeAt(i) + 1;
  return i === target && k.endsWith(a);
}

/**
 * Checks done on the record list before the zone is built (Zone.build drops or merges what
 * these look at): the SOA must be unique and at the apex, and should come first.
 */
export function checkRecords(origin: Name, records: readonly RR[]): ZoneFinding[] {
  const out: ZoneFinding[] = [];
  const apexSoa: RR[] = [];
  for (const rr of records) {
    if (rr.type !== RRType.SOA) continue;
    if (rr.name.key === origin.key) apexSoa.push(rr);
    else if (rr.name.isSubdomainOf(origin))
      out.push({
        severity: 'error',
        name: rr.name.toString(),
        type: RRType.SOA,
        message: `SOA record not at the top of the zone (${origin})`,
      });
  }
  if (apexSoa.length === 0)
    out.push({
      severity: 'error',
      name: origin.toString(),
      type: RRType.SOA,
      message: 'no SOA record at the zone apex',
    });
  else if (
    apexSoa.length > 1 &&
    new Set(apexSoa.map((rr) => Buffer.from(rr.rdata).toString('latin1'))).size > 1
  )
    // RFC 1035 §5.2: exactly one SOA RR at the top of the zone.
    out.push({
      severity: 'error',
      name: origin.toString(),
      type: RRType.SOA,
      message: `multiple SOA records at the zone apex (RFC 1035 §5.2)`,
    });
  const first = records[0];
  if (first && !(first.type === RRType.SOA && first.name.key === origin.key) && apexSoa.length > 0)
    // RFC 1035 §5.2 wants the SOA at the top of the file; BIND, Knot and NSD all accept it
    // later, so this is only a warning.
    out.push({
      severity: 'warning',
      name: first.name.toString(),
      type: first.type,
      message: 'the first record is not the SOA (RFC 1035 §5.2)',
    });
  return out;
}

/**
 * Checks a built zone. When `records` (the parsed list) is given, the record-level checks
 * of `checkRecords` run too. Zone.build's own warnings (TTL mismatch, duplicates, out of
 * zone) are included as warnings.
 */
export function checkZone(zone: Zone, records?: readonly RR[]): ZoneFinding[] {
  const out: ZoneFinding[] = records ? checkRecords(zone.origin, records) : [];
  const origin = zone.origin;
  const err = (
    node: ZoneNode | Name,
    type: number | undefined,
    message: string,
    code?: ZoneCheckCode,
  ): void => {
    const name = 'name' in node ? node.name : node;
    out.push({ severity: 'error', name: name.toString(), type, message, ...(code ? { code } : {}) });
  };
  const warn = (name: Name, type: number | undefined, message: string, code?: ZoneCheckCode): void => {
    out.push({ severity: 'warning', name: name.toString(), type, message, ...(code ? { code } : {}) });
  };

  // RFC 1034 §4.2.1: the apex has an NS RRset.
  if (!zone.apex.get(RRType.NS)) err(zone.apex, RRType.NS, 'no NS records at the zone apex');

  // check-names findings, kept apart so they follow the others as they always have; found in
  // this one walk over the nodes (a second walk of a million-node map cost as much as the checks).
  const names: ZoneFinding[] = [];
  const originIsHost = isHostName(origin);
  const signed = newSignedTally(zone);
  // A ColumnZone: a name whose checks are only its owner's check-names is checked from the
  // columns, without a node made for it (most names of a big zone: see `columnNamesOnly`).
  const columns = 'columns' in zone && !signed.signed ? zone : undefined;
  const cols = columns?.columns();
  const n = zone.nodes.size;
  const all = columns === undefined ? zone.nodes.values() : undefined;
  for (let i = 0; i < n; i++) {
    if (
      cols !== undefined &&
      i > 0 &&
      columnNamesOnly(columns as ColumnZone, cols, i, originIsHost ? origin.wire.length : -1, names)
    )
      continue;
    const node =
      all !== undefined ? (all.next().value as ZoneNode) : (columns as ColumnZone).nodeAt(i, false);
    const sets = node.rrsets;
    if (sets.length === 0) continue;
    checkNodeNames(node, sets, originIsHost ? origin.wire.length : -1, names);
    const isApex = node.name.key === origin.key;

    if (node.has(NodeFlag.BELOW_CUT)) {
      const cut = cutAbove(zone, node.name);
      if (cut && isDnameCut(cut)) {
        // RFC 6672 §2.4: no data may exist below a DNAME owner. NSEC3 records (and their
        // RRSIGs) live at hashed names below the apex and are no such data (RFC 5155 §7.1).
        const data = sets.find((s) => s.type !== RRType.NSEC3 && s.type !== RRType.RRSIG);
        if (data || !cut.name.equals(origin))
          err(node, (data ?? sets[0]).type, `data below the DNAME at ${cut.name} (RFC 6672 §2.4)`);
      } else if (cut) {
        for (const s of sets)
          if (!isAddress(s.type))
            warn(
              node.name,
              s.type,
              `${typeToString(s.type)} occluded by the delegation at ${cut.name} (not served)`,
            );
      }
      continue;
    }

    if (!isApex && node.get(RRType.SOA))
      err(node, RRType.SOA, `SOA record not at the top of the zone (${origin})`);

    tallySigned(signed, node, sets);

    const cname = node.get(RRType.CNAME);
    if (cname) {
      // RFC 1034 §3.6.2 / RFC 2181 §10.1: a CNAME owner has no other data (RFC 4035 §2.5:
      // except RRSIG and NSEC).
      for (const s of sets)
        if (!CNAME_COMPANIONS.has(s.type))
          err(node, RRType.CNAME, `CNAME and other data (${typeToString(s.type)}) (RFC 1034 §3.6.2)`);
      if (cname.rdata.length > 1)
        err(node, RRType.CNAME, `${cname.rdata.length} CNAME records at one name (RFC 2181 §10.1)`);
    }

    const dname = node.get(RRType.DNAME);
    if (dname) {
      // (A DNAME beside NS at a delegation point is occluded: warned about below, as BIND.)
      if (dname.rdata.length > 1)
        err(node, RRType.DNAME, `${dname.rdata.length} DNAME records at one name (RFC 6672 §2.4)`);
    }

    // RFC 5155 §3: an NSEC3 owner's first label is the base32hex hash, without padding.
    if (node.get(RRType.NSEC3) && !isBase32Hex(node.name.firstLabel()))
      err(
        node,
        RRType.NSEC3,
        `NSEC3 owner label '${node.name.firstLabel()}' is not unpadded base32hex (RFC 5155 §3)`,
      );

    // RFC 4035 §2.4: DS belongs to the parent side of a delegation, never to the apex.
    if (node.get(RRType.DS)) {
      if (isApex) err(node, RRType.DS, 'DS record at the top of the zone (RFC 4035 §2.4)');
      else if (!node.has(NodeFlag.DELEGATION))
        warn(node.name, RRType.DS, 'DS record at a name that is not a delegation point (RFC 4035 §2.4)');
    }

    // RFC 4592 §4.2: an NS RRset at a wildcard owner does not delegate anything useful.
    if (node.name.isWildcard && node.get(RRType.NS))
      warn(node.name, RRType.NS, 'NS records at a wildcard owner (RFC 4592 §4.2)');

    if (node.has(NodeFlag.DELEGATION)) {
      for (const s of sets)
        if (!AT_CUT.has(s.type) && !isAddress(s.type))
          warn(node.name, s.type, `${typeToString(s.type)} at a delegation point is occluded (not served)`);
    }

    for (const s of sets) {
      if (s.type === RRType.NS) checkNsTargets(zone, node, s.rdata, isApex, err, warn);
      else if (s.type === RRType.MX || s.type === RRType.SRV)
        checkMailTargets(zone, node, s.type, s.rdata, warn);
    }
  }

  checkCds(zone, err);
  reportSigned(zone, signed, warn);
  for (const f of names) out.push(f);
  for (const w of zone.warnings) out.push({ severity: 'warning', name: w.name, message: w.message });
  return out;
}

// ---- signed zones served as received (PRESIGNED) -------------------------------------------
//
// A zone that arrives signed is served as received (src/answer/dnssec.ts): we are not a
// validator, so missing or expired signatures never refuse it. These warnings say when the zone
// will not be answered as signed at all, or what a validating resolver will reject. Expired
// signatures are not reported: a finding that depends on the day would make a zone's check
// change without the zone changing (the root zone of 2020 expired long ago and is still
// served, as NSD and Knot serve it).

/** What the walk of `checkZone` notes about signatures. */
interface SignedTally {
  /** The apex holds DNSKEY and RRSIG: the zone is answered as signed. */
  signed: boolean;
  rrsigs: number;
  nsec: number;
  nsec3: number;
  unsigned: number;
  firstUnsigned: string | undefined;
}

function newSignedTally(zone: Zone): SignedTally {
  const apex = zone.apex;
  return {
    signed: apex.get(RRType.DNSKEY) !== undefined && apex.get(RRType.RRSIG) !== undefined,
    rrsigs: 0,
    nsec: 0,
    nsec3: 0,
    unsigned: 0,
    firstUnsigned: undefined,
  };
}

/** Notes the RRSIGs of an authoritative node, and (signed zones) its RRsets no RRSIG covers. */
function tallySigned(t: SignedTally, node: ZoneNode, sets: readonly RRset[]): void {
  if (node.get(RRType.NSEC)) t.nsec++;
  if (node.get(RRType.NSEC3)) t.nsec3++;
  const sigs = node.get(RRType.RRSIG);
  if (sigs === undefined && !t.signed) return;
  let covered = 0n;
  if (sigs !== undefined)
    for (const rd of sigs.rdata) {
      if (rd.length < 18) continue;
      t.rrsigs++;
      covered |= 1n << BigInt((rd[0] << 8) | rd[1]);
    }
  if (!t.signed) return;
  const cut = node.has(NodeFlag.DELEGATION);
  for (const s of sets) {
    // RFC 4035 §2.2: the NS of a cut (and glue) is not signed; every other RRset is.
    if (s.type === RRType.RRSIG || (cut && s.type !== RRType.DS && s.type !== RRType.NSEC)) continue;
    if ((covered & (1n << BigInt(s.type))) !== 0n) continue;
    t.unsigned++;
    t.firstUnsigned ??= `${node.name} ${typeToString(s.type)}`;
  }
}

function reportSigned(
  zone: Zone,
  t: SignedTally,
  warn: (name: Name, type: number | undefined, message: string) => void,
): void {
  const apex = zone.apex;
  const origin = zone.origin;
  if (!t.signed) {
    if (apex.get(RRType.DNSKEY))
      warn(origin, RRType.DNSKEY, 'DNSKEY at the apex but no RRSIG there: the zone is answered unsigned');
    else if (t.rrsigs > 0)
      warn(
        origin,
        RRType.RRSIG,
        `${t.rrsigs} RRSIG records but no DNSKEY at the apex: the zone is answered unsigned`,
      );
  }
  if (apex.get(RRType.NSEC3PARAM) && t.nsec3 === 0)
    warn(
      origin,
      RRType.NSEC3PARAM,
      'NSEC3PARAM without NSEC3 records (RFC 5155 §4): negative answers carry no proof',
    );
  if (!t.signed) return;
  if (t.nsec === 0 && t.nsec3 === 0)
    warn(origin, RRType.NSEC, 'signed zone without NSEC or NSEC3 records: negative answers carry no proof');
  if (t.unsigned > 0)
    warn(
      origin,
      RRType.RRSIG,
      `${t.unsigned} RRsets have no RRSIG (first: ${t.firstUnsigned}): served as received, validators will reject them`,
    );
}

// ---- CDS / CDNSKEY (RFC 7344, RFC 8078) --------------------------------------------------

/** RFC 4034 appendix B key tag of DNSKEY RDATA. */
export function keyTag(rdata: Uint8Array): number {
  if (rdata[3] === 1) {
    // Algorithm 1 (RSA/MD5): the 16 bits before the last octet of the modulus.
    return rdata.length >= 4 ? (rdata[rdata.length - 3] << 8) | rdata[rdata.length - 2] : 0;
  }
  let ac = 0;
  for (let i = 0; i < rdata.length; i++) ac += i & 1 ? rdata[i] : rdata[i] << 8;
  ac += (ac >> 16) & 0xffff;
  return ac & 0xffff;
}

/** DS digest types we can compute (IANA "DS RR Type Digest Algorithms"). */
const DS_DIGESTS: Record<number, string> = { 1: 'sha1', 2: 'sha256', 4: 'sha384' };

/** RFC 8078 §4: the CDS and CDNSKEY that ask the parent to remove the DS RRset. */
function isCdsDelete(rd: Uint8Array): boolean {
  return rd.length === 5 && rd[2] === 0 && rd[0] === 0 && rd[1] === 0 && rd[3] === 0 && rd[4] === 0;
}
function isCdnskeyDelete(rd: Uint8Array): boolean {
  return rd.length === 5 && rd[0] === 0 && rd[1] === 0 && rd[2] === 3 && rd[3] === 0 && rd[4] === 0;
}

/**
 * RFC 7344 §4.1 / §3: the CDS and CDNSKEY records at the apex describe keys of the zone's
 * DNSKEY RRset (else the parent would publish a DS that breaks the chain of trust): each
 * CDNSKEY is one of the DNSKEY records, each CDS (of a digest type we can compute) the digest
 * of one. The RFC 8078 delete records stand alone. Errors, as BIND refuses such zones.
 */
function checkCds(zone: Zone, err: Report): void {
  const cds = zone.apex.get(RRType.CDS)?.rdata ?? [];
  const cdnskey = zone.apex.get(RRType.CDNSKEY)?.rdata ?? [];
  if (cds.length === 0 && cdnskey.length === 0) return;
  const keys = zone.apex.get(RRType.DNSKEY)?.rdata ?? [];
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const keySet = new Set(keys.map(hex));
  for (const rd of cdnskey) {
    if (isCdnskeyDelete(rd) || keySet.has(hex(rd))) continue;
    err(zone.apex, RRType.CDNSKEY, 'CDNSKEY matches no DNSKEY of the zone (RFC 7344 §4.1)');
  }
  const owner = Buffer.from(zone.origin.key, 'latin1');
  for (const rd of cds) {
    if (isCdsDelete(rd) || rd.length < 4) continue;
    const tag = (rd[0] << 8) | rd[1];
    const alg = rd[2];
    const digest = DS_DIGESTS[rd[3]];
    if (digest === undefined) continue; // a digest type we cannot compute: not ours to judge
    const want = hex(rd.subarray(4));
    const match = keys.some(
      (k) =>
        k.length >= 4 &&
        k[3] === alg &&
        keyTag(k) === tag &&
        createHash(digest).update(owner).update(k).digest('hex') === want,
    );
    if (!match)
      err(
        zone.apex,
        RRType.CDS,
        `CDS ${tag} ${alg} ${rd[3]} is the digest of no DNSKEY of the zone (RFC 7344 §4.1)`,
      );
  }
}

// ---- check-names ------------------------------------------------------------------------
//
// BIND's check-names policy (named.conf `check-names`, on by default for primary zones),
// graded as a warning: names that must be host names (RFC 952, RFC 1123 §2.1: letters,
// digits and inner hyphens) or mailboxes are checked where BIND checks them, nowhere else.
// Underscore names are real (RFC 8552: _dmarc, SRV owners, _acme-challenge, DKIM keys), so a
// finding never refuses a zone: it tells the operator what BIND would refuse.

/** Owners that must be host names (a leading '*' label allowed): BIND's checkowner. */
const HOST_OWNER = new Set<number>([RRType.A, RRType.AAAA, RRType.A6, RRType.WKS, RRType.MX]);

/** Reverse-mapping trees, where a PTR target must be a host name. */
const REVERSE = ['in-addr.arpa.', 'ip6.arpa.', 'ip6.int.'].map((n) => Name.parse(n));

/** RFC 6763 §11 service-discovery prefixes: their PTR targets are not host names. */
const DNS_SD = new Set(['b', 'db', 'r', 'dr', 'lb']);

function isLdh(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);
}

/** True when the labels of `wire` from octet `i` on (up to octet `end`) are host-name labels. */
function hostLabelsFrom(wire: string, i: number, end = wire.length): boolean {
  for (let len = wire.charCodeAt(i); len !== 0 && i < end; len = wire.charCodeAt(i)) {
    for (let k = 1; k <= len; k++) {
      const c = wire.charCodeAt(i + k);
      if (!(isLdh(c) || (c === 0x2d && k !== 1 && k !== len))) return false;
    }
    i += len + 1;
  }
  return true;
}

/** RFC 952 / RFC 1123 §2.1 host name; a leading `*` label when `wildcard`. */
export function isHostName(name: Name, wildcard = false): boolean {
  if (wildcard && name.isWildcard) return hostLabelsFrom(name.wire, 2);
  return hostLabelsFrom(name.wire, 0);
}

const SPF_LABELS = new Set(['_spf', '_spf_verify', '_spf_rate']);

/**
 * Owners of A records that BIND's check-names lets pass although they are not host names:
 * Active Directory's `gc._msdcs.<forest>` and SPF `exists:` targets below a `_spf`,
 * `_spf_verify` or `_spf_rate` label (RFC 7208 §5.7, appendix D.1).
 */
function isAddressOwnerException(name: Name): boolean {
  const l = name.labels().map((x) => x.toLowerCase());
  if (l.length < 2) return false;
  if (l[0] === 'gc' && l[1] === '_msdcs' && hostLabelsFrom(name.wire, 2 + 1 + 6 + 1)) return true;
  return l.slice(0, -1).some((x) => SPF_LABELS.has(x));
}

function isDnsSdPrefix(name: Name): boolean {
  const l = name.labels();
  return (
    l.length >= 3 &&
    DNS_SD.has(l[0].toLowerCase()) &&
    l[1].toLowerCase() === '_dns-sd' &&
    l[2].toLowerCase() === '_udp'
  );
}

function nameAt(rd: Uint8Array, pos: number): Name {
  return Name.fromWire(String.fromCharCode(...rd.subarray(pos, nameEnd(rd, pos))));
}

/** The offset after the uncompressed name at rd[pos]. */
function nameEnd(rd: Uint8Array, pos: number): number {
  while (rd[pos] !== 0) pos += rd[pos] + 1;
  return pos + 1;
}

/** The name at rd[pos] is a host name (checked on the octets: no allocation when it is). */
function isHostNameAt(rd: Uint8Array, pos: number): boolean {
  for (let len = rd[pos]; len !== 0; len = rd[pos]) {
    for (let k = 1; k <= len; k++) {
      const c = rd[pos + k];
      if (!(isLdh(c) || (c === 0x2d && k !== 1 && k !== len))) return false;
    }
    pos += len + 1;
  }
  return true;
}

/** The name at rd[pos] is a mailbox: any printable first label, then a host name. */
function isMailboxAt(rd: Uint8Array, pos: number): boolean {
  const len = rd[pos];
  for (let k = 1; k <= len; k++) if (rd[pos + k] <= 0x20 || rd[pos + k] >= 0x7f) return false;
  return len === 0 || isHostNameAt(rd, pos + len + 1);
}

/** What check-names looks at for a type: its owner (must be a host name), its RDATA, or both. */
const NAMES_OWNER = 1;
const NAMES_RDATA = 2;
/** The rules by type (types below 256; none above has one). */
const NAMES_RULE = new Uint8Array(256);
for (const t of HOST_OWNER) NAMES_RULE[t] |= NAMES_OWNER;
for (const t of [
  RRType.NS,
  RRType.MX,
  RRType.SRV,
  RRType.AFSDB,
  RRType.RT,
  RRType.SVCB,
  RRType.HTTPS,
  RRType.SOA,
  RRType.RP,
  RRType.MINFO,
  RRType.PTR,
])
  NAMES_RULE[t] |= NAMES_RDATA;

/**
 * Types whose RRsets the walk of `checkZone` checks for more than their owner's check-names
 * (or whose RDATA names check-names reads): a name holding one is checked from its node.
 */
const NODE_CHECKED = new Uint8Array(256);
for (const t of [
  RRType.SOA,
  RRType.CNAME,
  RRType.DNAME,
  RRType.NSEC3,
  RRType.NSEC,
  RRType.RRSIG,
  RRType.DS,
  RRType.NS,
  RRType.MX,
  RRType.SRV,
])
  NODE_CHECKED[t] = 1;
for (let t = 0; t < 256; t++) if ((NAMES_RULE[t] & NAMES_RDATA) !== 0) NODE_CHECKED[t] = 1;

/** Node flags that make the walk of `checkZone` look at a name's node. */
const NODE_FLAGS = NodeFlag.DELEGATION | NodeFlag.BELOW_CUT | NodeFlag.DNAME;

/**
 * `checkZone`'s walk over name `i` of an unsigned ColumnZone, from the columns, when all it
 * checks is the owner's check-names: not the apex, no cut, nothing below one, no DNAME, and only
 * types of no further check (`NODE_CHECKED`). Then the same finding `checkNodeNames` makes
 * (the owner read as octets: its key, whose labels are host labels exactly when its
 * spelling's are) is appended to `out`, and true is returned; false: the node is to be checked.
 */
function columnNamesOnly(
  zone: ColumnZone,
  c: ZoneColumns,
  i: number,
  originLength: number,
  out: ZoneFinding[],
): boolean {
  if ((c.flags[i] & NODE_FLAGS) !== 0) return false;
  let ownerType = -1;
  for (let s = c.firstSet[i]; s >= 0; s = c.setNext[s]) {
    const t = c.setType[s];
    if (t < 256) {
      if (NODE_CHECKED[t] !== 0) return false;
      if (ownerType < 0 && (NAMES_RULE[t] & NAMES_OWNER) !== 0) ownerType = t;
    }
  }
  if (ownerType < 0) return true;
  const index = zone._index;
  const b = index.octets;
  const at = index.off[i];
  const len = index.len[i];
  const wild = b[at] === 1 && b[at + 1] === 0x2a;
  if (originLength >= 0 && hostLabelsAt(b, wild ? at + 2 : at, at + len - originLength)) return true;
  // Not a host name: the owner's findings as `checkNodeNames` makes them, from its node.
  const node = zone.nodeAt(i, false);
  checkNodeNames(node, node.rrsets, originLength, out);
  return true;
}

/** `hostLabelsFrom` over octets: the labels of b from `i` on (up to `end`) are host-name labels. */
function hostLabelsAt(b: Uint8Array, i: number, end: number): boolean {
  for (let len = b[i]; len !== 0 && i < end; len = b[i]) {
    for (let k = 1; k <= len; k++) {
      const c = b[i + k];
      if (!(isLdh(c) || (c === 0x2d && k !== 1 && k !== len))) return false;
    }
    i += len + 1;
  }
  return true;
}

/** A `ZONE_CHECK_NAMES` warning. */
function nameFinding(owner: Name, type: number, message: string): ZoneFinding {
  return { severity: 'warning', name: owner.toString(), type, code: 'ZONE_CHECK_NAMES', message };
}

/**
 * Appends to `out` a `ZONE_CHECK_NAMES` warning for every name of `node` (its owner, names in
 * its RDATA) that BIND's check-names would refuse. Called once per node from checkZone's walk;
 * allocates nothing for a node whose names pass. The owner is checked once, however many
 * address types it holds, and only its labels below the origin: every owner of the zone ends
 * with the origin's, checked once by the caller (`originLength` is the origin's wire length,
 * or -1 when the origin is no host name, so that no owner is).
 */
function checkNodeNames(
  node: ZoneNode,
  sets: readonly RRset[],
  originLength: number,
  out: ZoneFinding[],
): void {
  const owner = node.name;
  let ownerIsHost: boolean | undefined;
  for (let i = 0; i < sets.length; i++) {
    const set = sets[i];
    const type = set.type;
    const rule = type < 256 ? NAMES_RULE[type] : 0;
    if (rule === 0) continue;
    if ((rule & NAMES_OWNER) !== 0) {
      ownerIsHost ??=
        originLength >= 0 &&
        hostLabelsFrom(owner.wire, owner.isWildcard ? 2 : 0, owner.wire.length - originLength);
      if (!ownerIsHost && !(type === RRType.A && isAddressOwnerException(owner)))
        out.push(
          nameFinding(
            owner,
            type,
            `owner of ${typeToString(type)} is not a host name (letters, digits, inner hyphens; BIND's check-names refuses it)`,
          ),
        );
    }
    if ((rule & NAMES_RDATA) !== 0) checkRdataNames(owner, set, out);
  }
}

/** Checks the name at rd[pos]: a host name, or a mailbox name when `mailbox`. */
function checkNameAt(
  owner: Name,
  type: number,
  what: string,
  rd: Uint8Array,
  pos: number,
  out: ZoneFinding[],
  mailbox = false,
): void {
  if (mailbox ? isMailboxAt(rd, pos) : isHostNameAt(rd, pos)) return;
  out.push(
    nameFinding(
      owner,
      type,
      `${what} '${nameAt(rd, pos)}' is not a ${mailbox ? 'mailbox name' : 'host name'} (BIND's check-names refuses it)`,
    ),
  );
}

/** The names in the RDATA of `set` that must be host names or mailboxes (BIND's checknames). */
function checkRdataNames(owner: Name, set: RRset, out: ZoneFinding[]): void {
  const type = set.type;
  const rdata = set.rdata;
  switch (type) {
    case RRType.NS:
      for (const rd of rdata) checkNameAt(owner, type, 'NS target', rd, 0, out);
      break;
    case RRType.MX:
      for (const rd of rdata) checkNameAt(owner, type, 'MX exchange', rd, 2, out);
      break;
    case RRType.SRV:
      for (const rd of rdata) checkNameAt(owner, type, 'SRV target', rd, 6, out);
      break;
    case RRType.AFSDB:
    case RRType.RT:
      for (const rd of rdata) checkNameAt(owner, type, `${typeToString(type)} host`, rd, 2, out);
      break;
    case RRType.SVCB:
    case RRType.HTTPS:
      // Service mode only (priority > 0), as BIND: an alias-mode target is any name.
      for (const rd of rdata)
        if (rd[0] !== 0 || rd[1] !== 0) checkNameAt(owner, type, `${typeToString(type)} target`, rd, 2, out);
      break;
    case RRType.SOA:
      for (const rd of rdata) {
        checkNameAt(owner, type, 'SOA MNAME', rd, 0, out);
        checkNameAt(owner, type, 'SOA RNAME', rd, nameEnd(rd, 0), out, true);
      }
      break;
    case RRType.RP:
      for (const rd of rdata) checkNameAt(owner, type, 'RP mailbox', rd, 0, out, true);
      break;
    case RRType.MINFO:
      for (const rd of rdata) {
        checkNameAt(owner, type, 'MINFO RMAILBX', rd, 0, out, true);
        checkNameAt(owner, type, 'MINFO EMAILBX', rd, nameEnd(rd, 0), out, true);
      }
      break;
    case RRType.PTR:
      if (REVERSE.some((tree) => owner.isSubdomainOf(tree)) && !isDnsSdPrefix(owner))
        for (const rd of rdata) checkNameAt(owner, type, 'PTR target in a reverse zone', rd, 0, out);
      break;
  }
}

function isBase32Hex(label: string): boolean {
  if (label.length === 0) return false;
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i) | 0x20;
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x76))) return false;
  }
  return true;
}

type Report = (
  node: ZoneNode | Name,
  type: number | undefined,
  message: string,
  code?: ZoneCheckCode,
) => void;

function checkNsTargets(
  zone: Zone,
  node: ZoneNode,
  rdata: readonly Uint8Array[],
  isApex: boolean,
  err: Report,
  warn: (name: Name, type: number | undefined, message: string, code?: ZoneCheckCode) => void,
): void {
  const report = isApex
    ? err
    : (_n: ZoneNode | Name, t: number | undefined, m: string, code?: ZoneCheckCode) =>
        warn(node.name, t, m, code);
  const originKey = zone.origin.key;
  for (const rd of rdata) {
    const key = targetKeyAt(rd, 0);
    if (!keyIsUnder(key, originKey)) continue; // out of zone: not ours to check
    const tnode = zone.nodes.get(key);
    const cut = tnode?.has(NodeFlag.DELEGATION) ? tnode : cutAboveKey(zone, key);
    if (cut && isDnameCut(cut)) {
      // RFC 6672 §2.4: nothing exists below a DNAME, so this server name has no address here.
      report(node, RRType.NS, `NS '${rdataTarget(RRType.NS, rd)}' is below the DNAME at ${cut.name}`);
      continue;
    }
    if (cut) {
      // RFC 1034 §4.2.1: a server name at or below a zone cut needs glue in this zone.
      if (!hasAddress(tnode)) {
        const kind = cut.name.key === node.name.key ? 'required glue' : 'sibling glue';
        warn(
          node.name,
          RRType.NS,
          `NS '${rdataTarget(RRType.NS, rd)}' has no ${kind} address records (A or AAAA)`,
          'ZONE_CHECK_NS_NO_GLUE',
        );
      }
      continue;
    }
    if (tnode?.get(RRType.CNAME)) {
      // RFC 2181 §10.3: an NS RDATA name must not be an alias.
      report(node, RRType.NS, `NS '${rdataTarget(RRType.NS, rd)}' is a CNAME (RFC 2181 §10.3)`);
    } else if (!hasAddress(tnode)) {
      report(
        node,
        RRType.NS,
        `NS '${rdataTarget(RRType.NS, rd)}' has no address records (A or AAAA)`,
        'ZONE_CHECK_NS_NO_ADDRESS',
      );
    }
  }
}

function checkMailTargets(
  zone: Zone,
  node: ZoneNode,
  type: number,
  rdata: readonly Uint8Array[],
  warn: (name: Name, type: number | undefined, message: string) => void,
): void {
  const originKey = zone.origin.key;
  const at = type === RRType.MX ? 2 : 6;
  for (const rd of rdata) {
    const key = targetKeyAt(rd, at);
    // RFC 7505 / RFC 2782: '.' means "no service".
    if (key.length === 1 || !keyIsUnder(key, originKey)) continue;
    const tnode = zone.nodes.get(key);
    const cut = tnode?.has(NodeFlag.DELEGATION) ? tnode : cutAboveKey(zone, key);
    if (cut) continue; // in a child zone: not ours to check
    if (tnode?.get(RRType.CNAME)) {
      // RFC 2181 §10.3: MX and SRV targets must not be aliases.
      warn(node.name, type, `${typeToString(type)} '${rdataTarget(type, rd)}' is a CNAME (RFC 2181 §10.3)`);
    } else if (!hasAddress(tnode) && !(key.charCodeAt(0) === 1 && key.charCodeAt(1) === 0x2a)) {
      // (A wildcard target is not checked.)
      warn(
        node.name,
        type,
        `${typeToString(type)} '${rdataTarget(type, rd)}' has no address records (A or AAAA)`,
      );
    }
  }
}
