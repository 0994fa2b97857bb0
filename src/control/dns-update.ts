/**
 * DNS UPDATE (RFC 2136) over a zone's content: the prerequisite checks (§3.2) and the update
 * section's processing (§3.2–§3.4), as one pure function the zone-work thread runs against
 * the zone as last committed — so an update is checked and applied under the same rules,
 * limits, quota and versioning as any other change (zone-work.ts, `kind: 'update'`).
 *
 * Records arrive as the DNS worker decoded them (RDATA as uncompressed wire octets, hex) and
 * are stored as the API stores them (canonical presentation text). Two RDATAs are the same
 * record when their octets are, with the names inside them (the RFC 1035 name types, SRV,
 * DNAME, AFSDB, RT, KX) compared without regard to case (RFC 4343); other types compare octet
 * for octet.
 * @module
 */
import { Rcode, RRType } from '../wire/constants.js';
import { Name } from '../wire/name.js';
import { rdataToText, readSoa } from '../wire/rdata.js';
import { compressibleOffsets } from '../wire/rdata-wire.js';
import { CLASS_ANY, CLASS_NONE, TYPE_ANY, type UpdateRR } from '../xfr/update-types.js';
import type { EditLimits } from './edit.js';
import {
  enabledRecords,
  nameKeyOf,
  parseContent,
  type RecordState,
  type RRsetState,
  rdataOfContent,
  rrsetKey,
  type ZoneContent,
} from './records.js';
import { serialGreater } from './serial.js';

export type { UpdateRR };

/** What an update did: its RCODE, and the new content when it is NOERROR. */
export type UpdateOutcome =
  | { rcode: typeof Rcode.NOERROR; draft: ZoneContent; applied: number }
  | { rcode: number; reason: string };

/** Meta types that are never records (RFC 6895 §3.1: OPT, TKEY, TSIG, IXFR, AXFR, MAILB, MAILA, ANY). */
function isMetaType(t: number): boolean {
  return t === RRType.OPT || (t >= 128 && t <= 255);
}

const NAME_AT: Readonly<Record<number, number>> = {
  [RRType.SRV]: 6,
  [RRType.DNAME]: 0,
  // AFSDB (18), RT (21), KX (36): a 16-bit field, then a name.
  18: 2,
  21: 2,
  36: 2,
};

function lowerName(rd: Uint8Array, at: number): number {
  let i = at;
  while (i < rd.length && rd[i] !== 0) {
    const len = rd[i];
    for (let j = i + 1; j <= i + len && j < rd.length; j++) if (rd[j] >= 0x41 && rd[j] <= 0x5a) rd[j] |= 0x20;
    i += len + 1;
  }
  return i + 1;
}

/** The octets two RDATAs are compared by (names case-folded where the type's layout is known). */
export function rdataIdentity(type: number, rdata: Uint8Array): string {
  const rd = Uint8Array.from(rdata);
  const at = NAME_AT[type];
  if (at !== undefined) lowerName(rd, at);
  else for (const o of compressibleOffsets(type, rd)) lowerName(rd, o);
  return Buffer.from(rd.buffer, rd.byteOffset, rd.length).toString('latin1');
}

function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

function identityOfContent(type: number, content: string): string {
  return rdataIdentity(type, rdataOfContent(type, content));
}

function fail(rcode: number, reason: string): UpdateOutcome {
  return { rcode, reason };
}

/**
 * Checks the prerequisites and applies the updates of one UPDATE message to `current`
 * (not changed: the result's `draft` is a new map, or `into` when given: a map over
 * `current` that the caller can undo, see incremental.ts). `zclass` is the zone section's class.
 * Limits of the API apply (a TTL above the platform's maximum, an RRset above its size):
 * such an update is REFUSED with the reason, nothing applied.
 */
export function applyDnsUpdate(
  current: ZoneContent,
  origin: Name,
  zclass: number,
  prereqs: readonly UpdateRR[],
  updates: readonly UpdateRR[],
  limits: EditLimits,
  into?: ZoneContent,
): UpdateOutcome {
  const apexKey = nameKeyOf(origin);
  const names = new Map<string, Name>();
  const nameOf = (text: string): Name | undefined => {
    let n = names.get(text);
    if (n === undefined) {
      try {
        n = Name.parse(text);
      } catch {
        return undefined;
      }
      names.set(text, n);
    }
    return n;
  };
  // Which RRsets each name has (for "name in use" and CNAME exclusivity).
  const byName = new Map<string, Set<number>>();
  for (const s of current.values()) {
    if (enabledRecords(s).length === 0) continue;
    let set = byName.get(s.nameKey);
    if (set === undefined) {
      set = new Set();
      byName.set(s.nameKey, set);
    }
    set.add(s.type);
  }

  // RFC 2136 §3.2: prerequisites, in order; value-dependent ones gathered and compared last.
  const wanted = new Map<string, { nameKey: string; type: number; ids: Set<string> }>();
  for (const rr of prereqs) {
    const name = nameOf(rr.name);
    if (name === undefined) return fail(Rcode.FORMERR, `prerequisite owner '${rr.name}' is not a name`);
    if (rr.ttl !== 0) return fail(Rcode.FORMERR, `prerequisite ${rr.name}: TTL must be 0`);
    if (!name.isSubdomainOf(origin)) return fail(Rcode.NOTZONE, `${rr.name} is not in the zone ${origin}`);
    const nameKey = nameKeyOf(name);
    const present = byName.get(nameKey);
    if (rr.class === CLASS_ANY || rr.class === CLASS_NONE) {
      if (rr.rdata !== '') return fail(Rcode.FORMERR, `prerequisite ${rr.name}: RDATA must be empty`);
      const exists = rr.type === TYPE_ANY ? present !== undefined : present?.has(rr.type) === true;
      if (rr.class === CLASS_ANY && !exists)
        return rr.type === TYPE_ANY
          ? fail(Rcode.NXDOMAIN, `${rr.name} has no records`)
          : fail(Rcode.NXRRSET, `${rr.name} has no records of type ${rr.type}`);
      if (rr.class === CLASS_NONE && exists)
        return rr.type === TYPE_ANY
          ? fail(Rcode.YXDOMAIN, `${rr.name} has records`)
          : fail(Rcode.YXRRSET, `${rr.name} has records of type ${rr.type}`);
    } else if (rr.class === zclass) {
      if (isMetaType(rr.type))
        return fail(Rcode.FORMERR, `prerequisite ${rr.name}: type ${rr.type} is not a record type`);
      const key = rrsetKey(nameKey, rr.type);
      let w = wanted.get(key);
      if (w === undefined) {
        w = { nameKey, type: rr.type, ids: new Set() };
        wanted.set(key, w);
      }
      w.ids.add(rdataIdentity(rr.type, fromHex(rr.rdata)));
    } else
      return fail(Rcode.FORMERR, `prerequisite ${rr.name}: class ${rr.class} is not the zone's, ANY or NONE`);
  }
  for (const [key, w] of wanted) {
    const have = current.get(key);
    const ids = new Set((have ? enabledRecords(have) : []).map((r) => identityOfContent(w.type, r.content)));
    if (ids.size !== w.ids.size || [...w.ids].some((id) => !ids.has(id)))
      return fail(
        Rcode.NXRRSET,
        `the RRset ${have?.name ?? w.nameKey} type ${w.type} is not the one required`,
      );
  }

  // RFC 2136 §3.4.1: the update section checked whole before anything is applied.
  for (const rr of updates) {
    const name = nameOf(rr.name);
    if (name === undefined) return fail(Rcode.FORMERR, `update owner '${rr.name}' is not a name`);
    if (!name.isSubdomainOf(origin)) return fail(Rcode.NOTZONE, `${rr.name} is not in the zone ${origin}`);
    if (rr.class === zclass) {
      if (isMetaType(rr.type))
        return fail(Rcode.FORMERR, `update ${rr.name}: type ${rr.type} cannot be added`);
    } else if (rr.class === CLASS_ANY) {
      if (rr.ttl !== 0 || rr.rdata !== '' || (isMetaType(rr.type) && rr.type !== TYPE_ANY))
        return fail(Rcode.FORMERR, `update ${rr.name}: a deletion of class ANY has TTL 0 and no RDATA`);
    } else if (rr.class === CLASS_NONE) {
      if (rr.ttl !== 0 || isMetaType(rr.type))
        return fail(Rcode.FORMERR, `update ${rr.name}: a deletion of class NONE has TTL 0 and a record type`);
    } else return fail(Rcode.FORMERR, `update ${rr.name}: class ${rr.class} is not the zone's, ANY or NONE`);
  }

  // RFC 2136 §3.4.2: applied in order; some are silently ignored, as the RFC says.
  const draft: ZoneContent = into ?? new Map(current);
  // The types stored at each name the updates touch (disabled records included), kept in step.
  const stored = new Map<string, Set<number>>();
  for (const rr of updates) stored.set(nameKeyOf(nameOf(rr.name) as Name), new Set());
  for (const s of current.values()) stored.get(s.nameKey)?.add(s.type);
  const typesAt = (nameKey: string): number[] => [...(stored.get(nameKey) ?? [])];
  const put = (key: string, s: RRsetState): void => {
    draft.set(key, s);
    stored.get(s.nameKey)?.add(s.type);
  };
  const drop = (nameKey: string, type: number): void => {
    draft.delete(rrsetKey(nameKey, type));
    stored.get(nameKey)?.delete(type);
  };
  let applied = 0;
  for (let i = 0; i < updates.length; i++) {
    const rr = updates[i];
    const name = nameOf(rr.name) as Name;
    const nameKey = nameKeyOf(name);
    const atApex = nameKey === apexKey;
    const key = rrsetKey(nameKey, rr.type);
    const old = draft.get(key);
    if (rr.class === zclass) {
      let content: string;
      try {
        content = parseContent(rr.type, rdataToText(rr.type, fromHex(rr.rdata)), `updates[${i}]`).text;
      } catch (err) {
        return fail(Rcode.REFUSED, `update ${rr.name}: ${(err as Error).message}`);
      }
      if (rr.ttl > limits.maxTtl)
        return fail(
          Rcode.REFUSED,
          `update ${rr.name}: TTL ${rr.ttl} is above the platform's maximum ${limits.maxTtl}`,
        );
      if (rr.type === RRType.SOA) {
        // Only the apex's, and only forward (RFC 2136 §3.4.2.2).
        if (!atApex || old === undefined) continue;
        const oldSerial = readSoa(rdataOfContent(RRType.SOA, old.records[0].content)).serial;
        const newSerial = readSoa(fromHex(rr.rdata)).serial;
        if (!serialGreater(newSerial, oldSerial)) continue;
        put(key, { ...old, ttl: rr.ttl, records: [{ content, disabled: false }] });
        applied++;
        continue;
      }
      const others = typesAt(nameKey).filter((t) => t !== rr.type);
      // CNAME exclusivity (RFC 2136 §3.4.2.2, RFC 2181 §10.1): the add is ignored.
      if (rr.type === RRType.CNAME && others.length > 0) continue;
      if (rr.type !== RRType.CNAME && others.includes(RRType.CNAME)) continue;
      const id = rdataIdentity(rr.type, fromHex(rr.rdata));
      const kept: RecordState[] = (old?.records ?? []).filter(
        (r) => identityOfContent(rr.type, r.content) !== id,
      );
      // One CNAME (or DNAME) per name: a new one replaces the old.
      const records =
        rr.type === RRType.CNAME || rr.type === RRType.DNAME
          ? [{ content, disabled: false }]
          : [...kept, { content, disabled: false }];
      if (records.length > limits.maxRecordsPerRRset)
        return fail(
          Rcode.REFUSED,
          `update ${rr.name}: ${records.length} records in one RRset, at most ${limits.maxRecordsPerRRset}`,
        );
      // RFC 2181 §5.2: one TTL per RRset: the update's applies to the whole set.
      const next: RRsetState = {
        name: old?.name ?? name.toString(),
        nameKey,
        type: rr.type,
        ttl: rr.ttl,
        records,
      };
      put(key, next);
      applied++;
    } else if (rr.class === CLASS_ANY) {
      if (rr.type === TYPE_ANY) {
        for (const t of typesAt(nameKey)) {
          if (atApex && (t === RRType.SOA || t === RRType.NS)) continue;
          drop(nameKey, t);
          applied++;
        }
      } else {
        if (atApex && (rr.type === RRType.SOA || rr.type === RRType.NS)) continue;
        if (old !== undefined) {
          drop(nameKey, rr.type);
          applied++;
        }
      }
    } else {
      // CLASS NONE: one record deleted.
      if (rr.type === RRType.SOA || old === undefined) continue;
      const id = rdataIdentity(rr.type, fromHex(rr.rdata));
      const kept = old.records.filter((r) => identityOfContent(rr.type, r.content) !== id);
      if (kept.length === old.records.length) continue;
      // The apex keeps at least one NS (RFC 2136 §3.4.2.4).
      if (atApex && rr.type === RRType.NS && kept.length === 0) continue;
      if (kept.length > 0) put(key, { ...old, records: kept });
      else drop(nameKey, rr.type);
      applied++;
    }
  }
  return { rcode: Rcode.NOERROR, draft, applied };
}
