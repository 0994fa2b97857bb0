/**
 * Canonical master-file text: absolute names, no directives, one record per line
 * `name TTL CLASS TYPE rdata`, the SOA first and then every record in DNSSEC canonical
 * order (RFC 4034 §6.1 names, then type, then RDATA octets as in §6.3). Parsing the output
 * gives the same records back.
 * @module
 */
import { classToString, RRType, typeToString } from '../wire/constants.js';
import type { RR } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { rdataToText } from '../wire/rdata.js';
import type { Zone, ZoneNode } from './zone.js';

/**
 * A string whose plain `<` order is RFC 4034 §6.1 canonical order: the case-folded labels
 * from the rightmost, each octet shifted up by one and each label closed by U+0000, so a
 * label that is a prefix of another sorts first and a parent before its children. Computed
 * once per name, it avoids a label-by-label comparison in every sort step.
 */
export function canonicalSortKey(name: Name): string {
  const w = name.key;
  const starts: number[] = [];
  for (let i = 0, len = w.charCodeAt(0); len !== 0; len = w.charCodeAt(i)) {
    starts.push(i);
    i += len + 1;
  }
  const parts: string[] = [];
  for (let k = starts.length - 1; k >= 0; k--) {
    const s = starts[k];
    const len = w.charCodeAt(s);
    const codes = new Array<number>(len + 1);
    for (let j = 0; j < len; j++) codes[j] = w.charCodeAt(s + 1 + j) + 1;
    codes[len] = 0;
    parts.push(String.fromCharCode(...codes));
  }
  return parts.join('');
}

/** Compares two RDATA octet strings (RFC 4034 §6.3: as left-justified unsigned octets). */
export function compareRdata(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** One record as `name TTL CLASS TYPE rdata` (tab-separated, absolute names). */
export function formatRecord(rr: RR): string {
  return `${rr.name.toString()}\t${rr.ttl}\t${classToString(rr.class)}\t${typeToString(rr.type)}\t${rdataToText(rr.type, rr.rdata)}`;
}

/**
 * Sorts records into canonical order, the apex SOA (when `origin` is given) first.
 * Returns a new array.
 */
export function sortRecords(records: readonly RR[], origin?: Name): RR[] {
  const keys = new Map<string, string>();
  const keyOf = (n: Name): string => {
    let k = keys.get(n.key);
    if (k === undefined) {
      k = canonicalSortKey(n);
      keys.set(n.key, k);
    }
    return k;
  };
  const decorated = records.map((rr) => ({ k: keyOf(rr.name), rr }));
  decorated.sort((x, y) => {
    if (x.k !== y.k) return x.k < y.k ? -1 : 1;
    if (x.rr.type !== y.rr.type) return x.rr.type - y.rr.type;
    return compareRdata(x.rr.rdata, y.rr.rdata);
  });
  const out = decorated.map((d) => d.rr);
  if (origin) {
    const i = out.findIndex((rr) => rr.type === RRType.SOA && rr.name.key === origin.key);
    if (i > 0) out.unshift(...out.splice(i, 1));
  }
  return out;
}

/** Prints records in canonical text (sorted; SOA first when `origin` is given). */
export function printRecords(records: readonly RR[], origin?: Name): string {
  const sorted = sortRecords(records, origin);
  const lines = new Array<string>(sorted.length);
  for (let i = 0; i < sorted.length; i++) lines[i] = formatRecord(sorted[i]);
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/** Prints a whole zone in canonical text: its SOA first, then every record in canonical order. */
export function printZone(zone: Zone): string {
  const nodes: Array<{ k: string; n: ZoneNode }> = [];
  for (const n of zone.nodes.values())
    if (n.rrsets.length > 0) nodes.push({ k: canonicalSortKey(n.name), n });
  nodes.sort((x, y) => (x.k < y.k ? -1 : x.k > y.k ? 1 : 0));
  const soa = zone.soa;
  const chunks: string[] = [
    formatRecord({ name: soa.name, type: soa.type, class: soa.class, ttl: soa.ttl, rdata: soa.rdata[0] }),
  ];
  const cls = classToString(zone.class);
  let lines: string[] = [];
  for (const { n } of nodes) {
    // The owner, class and type texts are made once per node / RRset, not per record.
    const owner = n.name.toString();
    const sets = n.rrsets.length > 1 ? n.rrsets.slice().sort((a, b) => a.type - b.type) : n.rrsets;
    for (const s of sets) {
      if (s === soa) continue;
      const head = `${owner}\t${s.ttl}\t${cls}\t${typeToString(s.type)}\t`;
      const rdatas = s.rdata.length > 1 ? s.rdata.slice().sort(compareRdata) : s.rdata;
      for (const rdata of rdatas) lines.push(head + rdataToText(s.type, rdata));
    }
    if (lines.length >= 4096) {
      chunks.push(lines.join('\n'));
      lines = [];
    }
  }
  if (lines.length > 0) chunks.push(lines.join('\n'));
  return `${chunks.join('\n')}\n`;
}
