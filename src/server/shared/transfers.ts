/**
 * Zone transfers in a DNS-serving process (`serve` and `start` workers): the flags
 * (`--transfer-key NAME:ALG:SECRET`, `--allow-axfr-from PREFIX`, both repeatable) checked once
 * in the primary, and each worker's `TransferService` (src/xfr/) in front of its Responder.
 * With `start`, each zone's own settings (keys of its account, `master_tsig_key_ids`,
 * `ALLOW-AXFR-FROM`) arrive from the primary as `switchboard:transfer-zones` messages after
 * every change, as the zones' shield settings do (docs/TRANSFERS.md).
 * @module
 */
import type { Catalog } from '../../answer/catalog.js';
import { Name } from '../../wire/name.js';
import { isTransferPrefix, TransferAcl, type ZoneTransferSettings } from '../../xfr/acl.js';
import {
  BoundedJournal,
  entryFromWire,
  type JournalEntry,
  type JournalLimits,
  type WireJournalEntry,
} from '../../xfr/journal.js';
import { type SignedQueryEvent, TransferService } from '../../xfr/service.js';
import { makeTsigKey, parseTsigKeySpec, type TsigKey, TsigKeyError } from '../../xfr/tsig.js';
import type { EdgeSightings } from './edge-sightings.js';
import type { Logger } from './log.js';
import { ConfigError } from './options.js';

/** The transfer flags as the processes carry them (JSON: secrets as given, base64). */
export interface TransferFlags {
  /** `--transfer-key` specs, checked. */
  keys: string[];
  /** `--allow-axfr-from` prefixes, checked. */
  allowFrom: string[];
}

/**
 * Checks `--transfer-key` and `--allow-axfr-from`; undefined when neither is given.
 * @throws ConfigError naming the flag (never the secret)
 */
export function resolveTransferFlags(input: {
  transferKey?: string[];
  allowAxfrFrom?: string[];
}): TransferFlags | undefined {
  const keys = input.transferKey ?? [];
  const allowFrom = input.allowAxfrFrom ?? [];
  if (keys.length === 0 && allowFrom.length === 0) return undefined;
  const names = new Set<string>();
  for (const spec of keys) {
    let key: TsigKey;
    try {
      key = parseTsigKeySpec(spec);
    } catch (err) {
      if (err instanceof TsigKeyError) throw new ConfigError(`--transfer-key: ${err.message}`);
      throw err;
    }
    if (names.has(key.name.key)) throw new ConfigError(`--transfer-key: key ${key.name} given twice`);
    names.add(key.name.key);
  }
  for (const p of allowFrom)
    if (!isTransferPrefix(p)) throw new ConfigError(`--allow-axfr-from: '${p}' is not an address or prefix`);
  return { keys, allowFrom };
}

/** One zone's transfer settings as the primary sends them (secrets base64). */
export interface ZoneTransferWire {
  zone: string;
  keys: { name: string; algorithm: string; secret: string }[];
  allowKeys: string[];
  allowFrom: string[];
  autoNs: boolean;
  /** `start`'s primary only (NOTIFY out): ALSO-NOTIFY targets and the zone's account. */
  alsoNotify?: string[];
  account?: string;
  /** A catalog zone (RFC 9432): ordinary queries REFUSED unless the query may transfer it. */
  catalog?: boolean;
}

/** The message carrying every zone's transfer settings (the whole set each time). */
export interface TransferZonesMessage {
  type: 'switchboard:transfer-zones';
  zones: ZoneTransferWire[];
}

export function isTransferZonesMessage(msg: unknown): msg is TransferZonesMessage {
  return (
    typeof msg === 'object' &&
    msg !== null &&
    (msg as { type?: unknown }).type === 'switchboard:transfer-zones'
  );
}

/**
 * Primary → DNS workers: IXFR journal entries (src/xfr/journal.ts), in the order of the zone
 * changes; `entry: null` starts a zone's history over. A worker that says hello gets the
 * primary's whole journal in one message.
 */
export interface TransferJournalMessage {
  type: 'switchboard:transfer-journal';
  entries: { zone: string; entry: WireJournalEntry | null }[];
}

export function isTransferJournalMessage(msg: unknown): msg is TransferJournalMessage {
  return (
    typeof msg === 'object' &&
    msg !== null &&
    (msg as { type?: unknown }).type === 'switchboard:transfer-journal'
  );
}

/** Applies a `switchboard:transfer-journal` message to a worker's journal. */
export function applyTransferJournal(
  journal: BoundedJournal<JournalEntry>,
  msg: TransferJournalMessage,
): void {
  for (const { zone, entry } of msg.entries) {
    let key: string;
    try {
      key = Name.parse(zone).key;
    } catch {
      continue;
    }
    if (entry === null) journal.reset(key);
    else
      try {
        journal.append(key, entryFromWire(entry));
      } catch {
        journal.reset(key);
      }
  }
}

/** The worker's transfer service over `catalog`, with the flags' keys and allow-list. */
export function startTransfers(
  flags: TransferFlags | undefined,
  catalog: () => Catalog,
  log: Logger,
  ednsSize: number | undefined,
  journalLimits?: JournalLimits,
  sightings?: EdgeSightings,
): { service: TransferService; acl: TransferAcl; journal: BoundedJournal<JournalEntry> } {
  const acl = new TransferAcl((flags?.keys ?? []).map(parseTsigKeySpec), flags?.allowFrom ?? []);
  const journal = new BoundedJournal<JournalEntry>(journalLimits);
  const service = new TransferService({
    acl,
    catalog,
    ednsSize,
    journal,
    ...(sightings ? { onSignedQuery: (e: SignedQueryEvent) => sightings.signed(e) } : {}),
    onTransfer: (e) => {
      sightings?.transfer(e);
      if (e.outcome === 'started' || e.outcome === 'done') return;
      log.info(`transfer ${e.type} ${e.zone} to ${e.address}${e.key ? ` key ${e.key}` : ''}: ${e.outcome}`);
    },
  });
  return { service, acl, journal };
}

/** Applies a `switchboard:transfer-zones` message to `acl` (a bad key is left out, logged by name). */
export function applyTransferZones(acl: TransferAcl, msg: TransferZonesMessage, log: Logger): void {
  const zones = new Map<string, ZoneTransferSettings>();
  for (const z of msg.zones) {
    const keys: TsigKey[] = [];
    for (const k of z.keys) {
      try {
        keys.push(makeTsigKey(k.name, k.algorithm, k.secret));
      } catch {
        log.error(`zone ${z.zone}: TSIG key ${k.name} cannot be used`);
      }
    }
    let zone: Name;
    try {
      zone = Name.parse(z.zone);
    } catch {
      continue;
    }
    const allowKeys: string[] = [];
    for (const n of z.allowKeys) {
      try {
        allowKeys.push(Name.parse(n.endsWith('.') ? n : `${n}.`).key);
      } catch {
        // A name the control plane checked; nothing to allow otherwise.
      }
    }
    zones.set(zone.key, {
      keys,
      allowKeys,
      allowFrom: z.allowFrom,
      autoNs: z.autoNs,
      ...(z.catalog === true ? { catalog: true } : {}),
    });
  }
  acl.setZones(zones);
}
