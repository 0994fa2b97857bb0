/**
 * Secondary zones (issue 9 §2; docs/TRANSFERS.md "Secondary role"): zones of kind `Slave`
 * whose content comes by zone transfer from `masters`. Here: their settings (masters checked
 * against the operator's outbound policy, the transfer key one of the zone's own account's
 * keys), their refresh state, and what the refresher in `start` reads (every secondary zone
 * with its key's secret). The transferred content is written by `Zones.transferIn`.
 * @module
 */
import type { Repo, ZoneRow } from '../store/index.js';
import { formatOutboundTarget, OutboundPolicy } from '../xfr/outbound.js';
import { requireWrite } from './access.js';
import {
  type ConsumerReport,
  consumerOfMember,
  followConsumer,
  refuseMemberChange,
} from './catalog-consumer.js';
import type { PlaneContext } from './context.js';
import { quoted } from './records.js';
import { tsigKeyName } from './tsig-keys.js';
import { ControlError, type Principal } from './types.js';

/** Most masters per zone. */
export const MAX_MASTERS = 16;

/**
 * The content a secondary zone has before its first transfer: serial 0, never served (the
 * DNS workers are not given a Slave zone at serial 0: queries get REFUSED, not made-up data).
 */
export const PLACEHOLDER_ZONEFILE =
  '@ 3600 IN SOA invalid. hostmaster.invalid. 0 3600 600 604800 3600\n@ 3600 IN NS invalid.\n';

/** A secondary zone's settings and state as the API shows them. */
export interface ZoneSecondaryInfo {
  /** `ADDR:PORT` / `[V6]:PORT`, in the order they are tried. */
  masters: string[];
  /** Key names (absolute, folded): PowerDNS's `slave_tsig_key_ids` (at most one used). */
  slaveTsigKeyIds: string[];
  lastCheck: string | null;
  lastSuccess: string | null;
  notifiedSerial: number | null;
  masterUsed: string | null;
  lastError: string | null;
  /** A Consumer zone's last sync of its members (control/catalog-consumer.ts). */
  consumer?: ConsumerReport;
}

/** A secondary zone as the refresher reads it (the key's secret included). */
export interface SecondaryZone {
  name: string;
  id: string;
  accountId: string;
  serial: number;
  masters: string[];
  key: { name: string; algorithm: string; secret: string } | null;
  lastSuccess: string | null;
  /**
   * Most records a transfer of the zone may bring: the account's record quota less what its
   * other zones hold (a transfer past it is cut off, not stored), at most the per-request ceiling.
   */
  maxRecords: number;
}

/** What one refresh found, as the refresher records it. */
export interface SecondaryCheck {
  /** Undefined: not a refresh (a NOTIFY's serial only). */
  ok?: boolean;
  masterUsed?: string;
  error?: string;
  notifiedSerial?: number;
}

function invalid(message: string, field: string): ControlError {
  return new ControlError('CTL_ERR_VALIDATION', message, field);
}

function parseList(text: string): string[] {
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * The masters, checked: each `ADDR`, `ADDR:PORT` or `[V6]:PORT` (port 53 when none) that the
 * operator's policy lets tenants name; 422 naming the field otherwise.
 */
export function checkMasters(values: unknown, policy: OutboundPolicy, field = 'masters'): string[] {
  if (!Array.isArray(values) || values.length === 0 || values.length > MAX_MASTERS)
    throw invalid(`a Slave zone needs a list of 1 to ${MAX_MASTERS} masters (ADDR:PORT)`, field);
  const out: string[] = [];
  values.forEach((v, i) => {
    if (typeof v !== 'string') throw invalid('masters are strings (ADDR:PORT)', `${field}[${i}]`);
    try {
      out.push(formatOutboundTarget(policy.check(v)));
    } catch (err) {
      throw invalid(`master '${quoted(v)}': ${(err as Error).message}`, `${field}[${i}]`);
    }
  });
  return [...new Set(out)];
}

export class Secondaries {
  readonly #ctx: PlaneContext;
  readonly #policy: OutboundPolicy;
  readonly #refreshListeners = new Set<(zone: string) => void>();

  constructor(ctx: PlaneContext) {
    this.#ctx = ctx;
    this.#policy = ctx.opts.outbound ?? new OutboundPolicy([]);
  }

  /** The masters of a new zone, checked before its creation's work (422 naming `masters`). */
  checkMasters(values: unknown): string[] {
    return checkMasters(values, this.#policy);
  }

  /** The key of `slave_tsig_key_ids` (at most one), a key of the account: else 422. */
  async checkKey(repo: Repo, accountId: string, ids: unknown): Promise<string | null> {
    if (ids === undefined || ids === null) return null;
    if (!Array.isArray(ids) || ids.length > 1)
      throw invalid('slave_tsig_key_ids takes a list of at most one key id', 'slave_tsig_key_ids');
    if (ids.length === 0) return null;
    const n = tsigKeyName(ids[0], 'slave_tsig_key_ids[0]');
    if (!(await repo.getTsigKey(accountId, n)))
      throw invalid(
        `A TSIG key with the name '${quoted(String(ids[0]))}' does not exist`,
        'slave_tsig_key_ids[0]',
      );
    return n;
  }

  /** Writes a zone's secondary row (in the caller's transaction). */
  async put(repo: Repo, zoneId: string, masters: string[], key: string | null): Promise<void> {
    await repo.putZoneSecondary({
      zone_id: zoneId,
      masters: JSON.stringify(masters),
      tsig_key: key,
      updated_at: new Date().toISOString(),
    });
  }

  async getZoneSecondary(p: Principal, zoneName: string): Promise<ZoneSecondaryInfo | null> {
    this.#ctx.checkOpen();
    const zname = this.#ctx.zoneName(zoneName).toString();
    const repo = this.#ctx.store.repo;
    const zone = await this.#ctx.visibleZone(repo, p, zname);
    return infoOf(await repo.getZoneSecondary(zone.id));
  }

  /**
   * Sets a zone's masters and/or key. Masters given non-empty make the zone a Slave zone (its
   * content then comes only by transfer); an empty list makes a Slave zone Native again (its
   * last transferred content stays, editable).
   */
  async setZoneSecondary(
    p: Principal,
    zoneName: string,
    input: { masters?: unknown; slaveTsigKeyIds?: unknown },
  ): Promise<ZoneSecondaryInfo | null> {
    this.#ctx.checkOpen();
    const zname = this.#ctx.zoneName(zoneName).toString();
    const emptied = Array.isArray(input.masters) && input.masters.length === 0;
    const out = await this.#ctx.write(async (repo) => {
      const zone = await this.#ctx.visibleZone(repo, p, zname, true);
      requireWrite(p);
      // After who may: an unknown zone is 404 and a read-only key 403 whatever the masters say.
      const consumer = await consumerOfMember(repo, zone.id);
      if (consumer !== undefined) refuseMemberChange(zone, consumer);
      if (emptied && zone.kind === 'Consumer')
        throw invalid(
          `zone ${zone.name} is a catalog zone (kind Consumer): it needs masters (delete it instead)`,
          'masters',
        );
      const masters = input.masters === undefined || emptied ? undefined : this.checkMasters(input.masters);
      const row = await repo.getZoneSecondary(zone.id);
      const before = infoOf(row);
      if (emptied) {
        if (!row) return { info: null, zone, changed: false };
        await repo.deleteZoneSecondary(zone.id);
        if (zone.kind === 'Slave') await repo.updateZone(zone.id, { kind: 'Native' });
        await this.#ctx.audit(repo, p, 'zone.secondary', zone.name, zone.account_id, {
          from: { masters: before?.masters, key: before?.slaveTsigKeyIds },
          to: null,
        });
        return { info: null, zone, changed: true };
      }
      const nextMasters = masters ?? before?.masters;
      if (nextMasters === undefined || nextMasters.length === 0)
        throw invalid('a Slave zone needs masters (ADDR:PORT)', 'masters');
      const key =
        input.slaveTsigKeyIds !== undefined
          ? await this.checkKey(repo, zone.account_id, input.slaveTsigKeyIds)
          : (row?.tsig_key ?? null);
      await this.put(repo, zone.id, nextMasters, key);
      // A Consumer zone's members take its masters and key now, not at the catalog's next version.
      const followed = zone.kind === 'Consumer' ? await followConsumer(repo, zone, nextMasters, key) : 0;
      if (zone.kind !== 'Slave' && zone.kind !== 'Consumer')
        await repo.updateZone(zone.id, { kind: 'Slave' });
      await this.#ctx.audit(repo, p, 'zone.secondary', zone.name, zone.account_id, {
        from: before ? { masters: before.masters, key: before.slaveTsigKeyIds } : null,
        to: { masters: nextMasters, key: key === null ? [] : [key] },
        ...(followed > 0 ? { members: followed } : {}),
      });
      await this.#ctx.events.notifyShield(repo, zone.name);
      return { info: infoOf(await repo.getZoneSecondary(zone.id)), zone, changed: true };
    });
    if (out.changed) this.#ctx.events.emitShield();
    return out.info;
  }

  /**
   * PowerDNS's `axfr-retrieve`: asks the refresher of this process to transfer the zone now
   * (422 when the zone is not a secondary zone). Another replica's refresher is not told.
   */
  async requestSecondaryRefresh(p: Principal, zoneName: string): Promise<void> {
    this.#ctx.checkOpen();
    const zname = this.#ctx.zoneName(zoneName).toString();
    const zone = await this.#ctx.visibleZone(this.#ctx.store.repo, p, zname);
    requireWrite(p);
    if (zone.kind !== 'Slave' && zone.kind !== 'Consumer')
      throw invalid(
        `zone ${zone.name} is not a secondary zone (kind Slave or Consumer): nothing to retrieve`,
        'kind',
      );
    for (const l of this.#refreshListeners) l(zone.name);
  }

  /** The refresher's subscription to `requestSecondaryRefresh`. */
  onSecondaryRefresh(listener: (zone: string) => void): () => void {
    this.#refreshListeners.add(listener);
    return () => this.#refreshListeners.delete(listener);
  }

  /** Every secondary zone, for the refresher. */
  async secondaryZones(): Promise<SecondaryZone[]> {
    this.#ctx.checkOpen();
    const repo = this.#ctx.store.repo;
    const rows = await repo.listZoneSecondaries();
    const keys = await repo.tsigKeysOfAccounts([...new Set(rows.map((r) => r.account_id))]);
    const byKey = new Map(keys.map((k) => [`${k.account_id} ${k.name}`, k]));
    const quota = new Map<string, { max: number; used: number }>();
    for (const a of new Set(rows.map((r) => r.account_id))) {
      const account = await repo.getAccount(a);
      quota.set(a, { max: Number(account?.max_records ?? 0), used: await repo.sumRecords(a) });
    }
    const ceiling = this.#ctx.limits.maxRecordsPerRequest;
    return rows.map((r) => {
      const q = quota.get(r.account_id) ?? { max: 0, used: 0 };
      const k = r.tsig_key === null ? undefined : byKey.get(`${r.account_id} ${r.tsig_key}`);
      return {
        name: r.name,
        id: r.zone_id,
        accountId: r.account_id,
        serial: Number(r.serial),
        masters: parseList(r.masters),
        key: k ? { name: k.name, algorithm: k.algorithm, secret: k.secret } : null,
        lastSuccess: r.last_success,
        maxRecords: Math.min(ceiling, Math.max(0, q.max - (q.used - Number(r.record_count)))),
      };
    });
  }

  /** Records a refresh's outcome (a zone deleted meanwhile: nothing to record). */
  async recordSecondaryCheck(zoneId: string, check: SecondaryCheck): Promise<void> {
    this.#ctx.checkOpen();
    const at = new Date().toISOString();
    await this.#ctx.write(async (repo) => {
      await repo.updateZoneSecondary(zoneId, {
        ...(check.ok === undefined
          ? {}
          : check.ok
            ? { last_check: at, last_success: at, last_error: null }
            : { last_check: at, last_error: check.error ?? 'failed' }),
        ...(check.masterUsed !== undefined ? { master_used: check.masterUsed } : {}),
        ...(check.notifiedSerial !== undefined ? { notified_serial: check.notifiedSerial } : {}),
      });
    });
  }
}

export function infoOf(
  row:
    | {
        masters: string;
        tsig_key: string | null;
        last_check: string | null;
        last_success: string | null;
        notified_serial: number | string | null;
        master_used: string | null;
        last_error: string | null;
        consumer_report?: string | null;
      }
    | undefined,
): ZoneSecondaryInfo | null {
  if (!row) return null;
  let consumer: ConsumerReport | undefined;
  try {
    if (row.consumer_report) consumer = JSON.parse(row.consumer_report) as ConsumerReport;
  } catch {
    consumer = undefined;
  }
  return {
    ...(consumer !== undefined ? { consumer } : {}),
    masters: parseList(row.masters),
    slaveTsigKeyIds: row.tsig_key === null ? [] : [row.tsig_key],
    lastCheck: row.last_check,
    lastSuccess: row.last_success,
    notifiedSerial: row.notified_serial === null ? null : Number(row.notified_serial),
    masterUsed: row.master_used,
    lastError: row.last_error,
  };
}

/** Secondary zones' content comes from their masters: API changes are refused (422). */
export function refuseSecondaryWrite(zone: ZoneRow): void {
  if (zone.kind === 'Consumer')
    throw new ControlError(
      'CTL_ERR_VALIDATION',
      `zone ${zone.name} is a catalog zone (kind Consumer): its records come from its masters by ` +
        'zone transfer and cannot be changed through the API',
      'kind',
    );
  if (zone.kind === 'Slave')
    throw new ControlError(
      'CTL_ERR_VALIDATION',
      `zone ${zone.name} is a secondary zone (kind Slave): its records come from its masters by ` +
        'zone transfer and cannot be changed through the API (change them on the primary, or make the zone Native)',
      'kind',
    );
}
