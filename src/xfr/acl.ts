/**
 * Who may transfer which zone: the platform's edge keys (`--transfer-key`: every zone),
 * the operator's allow-list (`serve --allow-transfer`: every zone, by source address), and each
 * zone's own settings under `start` (the PowerDNS zone field `master_tsig_key_ids` and metadata
 * `ALLOW-AXFR-FROM`, prefixes and `AUTO-NS`), with the keys of the zone's account — the only
 * keys a request for that zone can be signed with besides the edge keys, so two tenants' keys
 * of the same name never meet.
 * @module
 */
import type { Catalog } from '../answer/catalog.js';
import { addressOctets, PrefixSet, parsePrefix } from '../shield/prefix-set.js';
import { RRType } from '../wire/constants.js';
import { Name } from '../wire/name.js';
import type { ServedZone } from '../zone/zone.js';
import type { TsigKey } from './tsig.js';

/** One zone's transfer settings as the control plane hands them to the DNS workers. */
export interface ZoneTransferSettings {
  /** Every TSIG key of the zone's account (requests for the zone are checked against these). */
  keys: readonly TsigKey[];
  /** Names (folded wire keys, `Name.key`) of the keys allowed to transfer it. */
  allowKeys: readonly string[];
  /** `ALLOW-AXFR-FROM` prefixes. */
  allowFrom: readonly string[];
  /** `ALLOW-AXFR-FROM` holds `AUTO-NS`: the addresses of the zone's NS names may transfer. */
  autoNs: boolean;
  /**
   * A catalog zone (RFC 9432): its ordinary queries are answered only to those who may transfer
   * it, others get REFUSED (a catalog lists customers' zones: not public).
   */
  catalog?: boolean;
}

interface CompiledZoneSettings {
  keys: Map<string, TsigKey>;
  allowKeys: Set<string>;
  allowFrom: PrefixSet | undefined;
  autoNs: boolean;
}

/** Checks `text` is a prefix (`ADDR` or `ADDR/LEN`) the allow-lists take. */
export function isTransferPrefix(text: string): boolean {
  try {
    parsePrefix(text);
    return true;
  } catch {
    return false;
  }
}

export class TransferAcl {
  readonly #edge = new Map<string, TsigKey>();
  readonly #allowFrom: PrefixSet | undefined;
  #zones = new Map<string, CompiledZoneSettings>();
  /** Catalog zones' origin keys. */
  #catalogs: ReadonlySet<string> = new Set();
  /** The same keys by their length in octets (a question name is matched without decoding it). */
  #catalogsByLength = new Map<number, string[]>();

  /**
   * `edgeKeys`: may transfer every zone, exempt from the concurrency limits. `allowFrom`:
   * prefixes allowed every zone without a key (serve's allow-list).
   */
  constructor(edgeKeys: readonly TsigKey[] = [], allowFrom: readonly string[] = []) {
    for (const k of edgeKeys) this.#edge.set(k.name.key, k);
    this.#allowFrom = allowFrom.length > 0 ? new PrefixSet(allowFrom) : undefined;
  }

  /** Replaces every zone's settings (keyed by the zone's folded name, `Name.key`). */
  setZones(zones: ReadonlyMap<string, ZoneTransferSettings>): void {
    const next = new Map<string, CompiledZoneSettings>();
    const catalogs = new Set<string>();
    for (const [zone, s] of zones) {
      if (s.catalog === true) catalogs.add(zone);
      const allowFrom = s.allowFrom.filter(isTransferPrefix);
      next.set(zone, {
        keys: new Map(s.keys.map((k) => [k.name.key, k])),
        allowKeys: new Set(s.allowKeys),
        allowFrom: allowFrom.length > 0 ? new PrefixSet(allowFrom) : undefined,
        autoNs: s.autoNs,
      });
    }
    this.#zones = next;
    this.#catalogs = catalogs;
    const byLength = new Map<number, string[]>();
    for (const k of catalogs) byLength.set(k.length, [...(byLength.get(k.length) ?? []), k]);
    this.#catalogsByLength = byLength;
  }

  /**
   * The origin key of the catalog zone holding the uncompressed name at `offset` of `msg` (a
   * question name), or undefined — also for a name that is compressed, truncated or too long.
   * Allocates nothing: the name's label offsets are walked, and only a suffix as long as some
   * catalog zone's name is compared, octet by octet, ASCII letters folded.
   */
  catalogAt(msg: Uint8Array, offset: number): string | undefined {
    if (this.#catalogs.size === 0) return undefined;
    let end = offset;
    while (end < msg.length && msg[end] !== 0) {
      if ((msg[end] & 0xc0) !== 0) return undefined;
      end += msg[end] + 1;
    }
    if (end >= msg.length || end - offset + 1 > 255) return undefined;
    end++;
    for (let at = offset; at < end; at += msg[at] + 1) {
      const candidates = this.#catalogsByLength.get(end - at);
      if (candidates !== undefined) for (const key of candidates) if (sameFolded(msg, at, key)) return key;
      if (msg[at] === 0) break;
    }
    return undefined;
  }

  /** The catalog zones' origin keys (their queries are held out of the C answers). */
  catalogKeys(): ReadonlySet<string> {
    return this.#catalogs;
  }

  /**
   * The key named `name` as seen from the zone keyed `zoneKey` (undefined: no zone): an edge
   * key first (the operator's names win), else a key of the zone's account.
   */
  keyFor(zoneKey: string | undefined, name: Name): TsigKey | undefined {
    return (
      this.#edge.get(name.key) ??
      (zoneKey === undefined ? undefined : this.#zones.get(zoneKey)?.keys.get(name.key))
    );
  }

  /** True for the platform's own keys (exempt from transfer limits). */
  isEdgeKey(key: TsigKey | undefined): boolean {
    return key !== undefined && this.#edge.get(key.name.key) === key;
  }

  /**
   * May a request from `address`, signed with `key` (verified; undefined: unsigned), transfer
   * `zone`? An edge key, a key the zone allows, or an address an allow-list names (PowerDNS:
   * `TSIG-ALLOW-AXFR` or `ALLOW-AXFR-FROM`, either suffices).
   */
  allows(zone: ServedZone, address: string, key: TsigKey | undefined, catalog: Catalog): boolean {
    if (this.isEdgeKey(key)) return true;
    const s = this.#zones.get(zone.origin.key);
    if (key && s?.allowKeys.has(key.name.key) && s.keys.get(key.name.key) === key) return true;
    let octets: Uint8Array;
    try {
      octets = addressOctets(address);
    } catch {
      return false;
    }
    if (this.#allowFrom?.has(octets)) return true;
    if (s === undefined) return false;
    if (s.allowFrom?.has(octets)) return true;
    return s.autoNs && nsAddresses(zone, catalog).some((a) => sameOctets(a, octets));
  }
}

/** The addresses of the zone's NS names that the served zones hold (A and AAAA). */
function nsAddresses(zone: ServedZone, catalog: Catalog): Uint8Array[] {
  const out: Uint8Array[] = [];
  const ns = zone.apex.rrsets.find((s) => s.type === RRType.NS);
  for (const rdata of ns?.rdata ?? []) {
    const target = nameFromRdata(rdata);
    if (target === undefined) continue;
    const node = catalog.find(target)?.get(target);
    for (const set of node?.rrsets ?? [])
      if (set.type === RRType.A || set.type === RRType.AAAA) for (const r of set.rdata) out.push(r);
  }
  return out;
}

/** An uncompressed name filling `rdata` (NS RDATA as images and zones store it). */
function nameFromRdata(rdata: Uint8Array): Name | undefined {
  if (rdata.length === 0 || rdata.length > 255) return undefined;
  let at = 0;
  while (at < rdata.length && rdata[at] !== 0) {
    if (rdata[at] > 63) return undefined;
    at += rdata[at] + 1;
  }
  if (at !== rdata.length - 1) return undefined;
  return Name.fromWire(Buffer.from(rdata.buffer, rdata.byteOffset, rdata.length).toString('latin1'));
}

/** `msg` from `at` equals the folded wire key `key` with ASCII letters folded. */
function sameFolded(msg: Uint8Array, at: number, key: string): boolean {
  for (let i = 0; i < key.length; i++) {
    let c = msg[at + i];
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== key.charCodeAt(i)) return false;
  }
  return true;
}

function sameOctets(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
