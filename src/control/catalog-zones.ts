/**
 * Catalog zones in the control plane (RFC 9432; docs/TRANSFERS.md "Catalog zones"): the zone
 * field `catalog` (PowerDNS 4.7: a member zone names a zone of kind `Producer` of its own
 * account; migration 14, `zone_catalog`), the platform's fleet catalog (a Producer zone of the
 * reserved account `switchboard-system`, made by `start`), and what `start`'s catalog writer
 * reads and writes. A catalog zone's content is ordinary zone content — versions, diffs, IXFR,
 * NOTIFY and images work on it unchanged — but only this module writes it (`Zones.catalogWrite`):
 * the API refuses changes to a Producer zone.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { Repo, ZoneRow } from '../store/index.js';
import { RRType } from '../wire/constants.js';
import type { CatalogChange } from '../xfr/catz/format.js';
import { emptyCatalogText, foldName } from '../xfr/catz/format.js';
import type { CatalogMemberZone, CatalogZoneRef } from '../xfr/catz/producer.js';
import { SYSTEM_PRINCIPAL } from './access.js';
import { invalid, now, type PlaneContext } from './context.js';
import { parseZoneName } from './records.js';
import { ControlError, type Principal } from './types.js';
import type { Zones } from './zones.js';

/** The account that owns the fleet catalog (not a tenant: no token is ever made for it). */
export const SYSTEM_ACCOUNT = 'switchboard-system';

/** Zones read per query by `catalogSnapshot`. */
const PAGE = 2000;

/** What `start`'s catalog writer reads at start: every zone, every catalog and what it lists. */
export interface CatalogSnapshot {
  zones: CatalogMemberZone[];
  producers: CatalogZoneRef[];
  /** Each catalog zone's PTR records (owner, target). */
  ptrs: Map<string, { owner: string; target: string }[]>;
}

/** A Producer zone's content is generated: the API's changes are refused (422). */
export function refuseCatalogWrite(zone: ZoneRow): void {
  if (zone.kind === 'Producer')
    throw new ControlError(
      'CTL_ERR_VALIDATION',
      `zone ${zone.name} is a catalog zone (kind Producer): its records are generated from its members ` +
        '(zones whose catalog field names it) and cannot be changed through the API',
      'kind',
    );
}

function memberOf(z: ZoneRow, catalog: string | null): CatalogMemberZone {
  return {
    name: z.name,
    id: z.id,
    createdAt: z.created_at,
    accountId: z.account_id,
    kind: z.kind,
    serial: Number(z.serial),
    catalog,
  };
}

export class CatalogZones {
  readonly #ctx: PlaneContext;
  readonly #zones: Zones;
  #systemId: string | undefined;

  constructor(ctx: PlaneContext, zones: Zones) {
    this.#ctx = ctx;
    this.#zones = zones;
  }

  /** The catalog a zone names ('' when none). */
  async catalogOf(repo: Repo, zoneId: string): Promise<string> {
    const row = await repo.db
      .selectFrom('zone_catalog')
      .select('catalog')
      .where('zone_id', '=', zoneId)
      .executeTakeFirst();
    return row?.catalog ?? '';
  }

  /**
   * Sets (or, with '' or null, removes) the catalog `zone` names, inside the caller's
   * transaction. The catalog must be a Producer zone of the zone's own account (another
   * account's, or a missing one: 422 naming `catalog`, "does not exist" — whether another
   * account has such a zone is not revealed); a Producer zone cannot be a member.
   * @returns whether it changed
   */
  async setCatalog(repo: Repo, zone: ZoneRow, value: unknown): Promise<boolean> {
    const before = await this.catalogOf(repo, zone.id);
    if (value === '' || value === null) {
      if (before === '') return false;
      await repo.db.deleteFrom('zone_catalog').where('zone_id', '=', zone.id).execute();
      await this.#ctx.events.notifySettings(repo, zone.name, ['catalog']);
      return true;
    }
    if (typeof value !== 'string')
      throw invalid('catalog must be the name of a Producer zone, or ""', 'catalog');
    let name: string;
    try {
      name = parseZoneName(value, 'catalog').toString();
    } catch {
      throw invalid(`catalog '${value.slice(0, 255)}' is not a zone name`, 'catalog');
    }
    if (zone.kind === 'Producer')
      throw invalid(
        `zone ${zone.name} is a catalog zone (kind Producer): it cannot be a member of one`,
        'catalog',
      );
    const producer = await repo.getZoneByName(name);
    if (!producer || producer.account_id !== zone.account_id)
      throw invalid(`catalog zone ${name} does not exist`, 'catalog');
    if (producer.kind !== 'Producer')
      throw invalid(`zone ${name} is not a catalog zone (kind Producer)`, 'catalog');
    if (before === name) return false;
    const at = now();
    await repo.db.deleteFrom('zone_catalog').where('zone_id', '=', zone.id).execute();
    await repo.db
      .insertInto('zone_catalog')
      .values({ zone_id: zone.id, account_id: zone.account_id, catalog: name, updated_at: at })
      .execute();
    await this.#ctx.events.notifySettings(repo, zone.name, ['catalog']);
    return true;
  }

  /** A Producer zone deleted: its members no longer name it (inside the deleting transaction). */
  async producerDeleted(repo: Repo, zone: ZoneRow): Promise<void> {
    await repo.db
      .deleteFrom('zone_catalog')
      .where('account_id', '=', zone.account_id)
      .where('catalog', '=', zone.name)
      .execute();
    await this.#ctx.events.notifySettings(repo, zone.name, ['catalog']);
  }

  /** The system account's id, once it exists (cached). */
  async systemAccountId(repo: Repo): Promise<string | undefined> {
    if (this.#systemId === undefined) this.#systemId = (await repo.getAccountByName(SYSTEM_ACCOUNT))?.id;
    return this.#systemId;
  }

  /** True when `zone` is the fleet catalog (a Producer of the system account): it cannot be deleted. */
  async isSystemCatalog(repo: Repo, zone: ZoneRow): Promise<boolean> {
    if (zone.kind !== 'Producer') return false;
    const account = await repo.getAccount(zone.account_id);
    return account?.name === SYSTEM_ACCOUNT;
  }

  /**
   * Makes sure the fleet catalog `name` exists: the system account and a Producer zone of it
   * (empty: SOA, `NS invalid.`, `version TXT "2"`). A zone of that name that is not the system's
   * catalog (a tenant's) is an error: the operator must choose another `--fleet-catalog`.
   */
  async ensureFleetCatalog(name: string): Promise<void> {
    this.#ctx.checkOpen();
    const zname = parseZoneName(name, 'name').toString();
    const account = await this.#ctx.write((repo) =>
      repo.ensureAccount({
        id: randomUUID(),
        name: SYSTEM_ACCOUNT,
        max_zones: 1,
        max_records: 0,
        created_at: now(),
      }),
    );
    const zone = await this.#ctx.store.repo.getZoneByName(zname);
    if (zone) {
      if (zone.account_id !== account.id || zone.kind !== 'Producer')
        throw new ControlError(
          'CTL_ERR_CONFLICT',
          `zone ${zname} exists and is not the platform's catalog: choose another --fleet-catalog`,
          'name',
        );
      return;
    }
    await this.#zones.createZone(SYSTEM_PRINCIPAL, {
      name: zname,
      accountId: account.id,
      kind: 'Producer',
      zonefile: emptyCatalogText(zname),
    });
  }

  /** Every zone, every Producer zone and what each catalog zone lists (for `start`'s writer). */
  async catalogSnapshot(): Promise<CatalogSnapshot> {
    this.#ctx.checkOpen();
    const repo = this.#ctx.store.repo;
    const catalogs = new Map<string, string>();
    for (const r of await repo.db.selectFrom('zone_catalog').select(['zone_id', 'catalog']).execute())
      catalogs.set(r.zone_id, r.catalog);
    const zones: CatalogMemberZone[] = [];
    const producerRows: ZoneRow[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await repo.listZones({ after, limit: PAGE });
      for (const z of page) {
        zones.push(memberOf(z, catalogs.get(z.id) ?? null));
        if (z.kind === 'Producer') producerRows.push(z);
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1].name;
      await new Promise((r) => setImmediate(r));
    }
    const ptrs = new Map<string, { owner: string; target: string }[]>();
    for (const p of producerRows) ptrs.set(p.name, await this.#ptrsOf(repo, p));
    return {
      zones,
      producers: producerRows.map((p) => ({ name: p.name, accountId: p.account_id })),
      ptrs,
    };
  }

  /** The PTR records (owner, target) of catalog zone `name` (none when it is not a Producer zone). */
  async catalogPtrs(name: string): Promise<{ owner: string; target: string }[]> {
    this.#ctx.checkOpen();
    const repo = this.#ctx.store.repo;
    const zone = await repo.getZoneByName(foldName(name));
    return zone?.kind === 'Producer' ? this.#ptrsOf(repo, zone) : [];
  }

  /** A catalog zone's PTRs, read in pages (a catalog of 100,000 members is not one synchronous read). */
  async #ptrsOf(repo: Repo, zone: ZoneRow): Promise<{ owner: string; target: string }[]> {
    const list: { owner: string; target: string }[] = [];
    let afterKey: string | undefined;
    for (;;) {
      let q = repo.db
        .selectFrom('rrsets')
        .select(['name', 'name_key', 'records'])
        .where('zone_id', '=', zone.content_id || zone.id)
        .where('type', '=', RRType.PTR);
      if (afterKey !== undefined) q = q.where('name_key', '>', afterKey);
      const rows = await q.orderBy('name_key').limit(PAGE).execute();
      for (const r of rows)
        for (const rec of JSON.parse(r.records) as { content: string }[])
          list.push({ owner: r.name, target: rec.content });
      if (rows.length < PAGE) return list;
      afterKey = rows[rows.length - 1].name_key;
      await new Promise((r) => setImmediate(r));
    }
  }

  /** The zones named as the writer sees them (undefined: no such zone now), and the Producers. */
  async catalogZonesNamed(
    names: readonly string[],
  ): Promise<{ zones: Map<string, CatalogMemberZone | undefined>; producers: CatalogZoneRef[] }> {
    this.#ctx.checkOpen();
    const repo = this.#ctx.store.repo;
    const folded = names.map(foldName);
    const rows = folded.length > 0 ? await repo.zonesNamed(folded) : [];
    const catalogs = new Map<string, string>();
    if (rows.length > 0)
      for (const r of await repo.db
        .selectFrom('zone_catalog')
        .select(['zone_id', 'catalog'])
        .where(
          'zone_id',
          'in',
          rows.map((z) => z.id),
        )
        .execute())
        catalogs.set(r.zone_id, r.catalog);
    const zones = new Map<string, CatalogMemberZone | undefined>();
    for (const n of folded) zones.set(n, undefined);
    for (const z of rows) zones.set(z.name, memberOf(z, catalogs.get(z.id) ?? null));
    const producers = (
      await repo.db
        .selectFrom('zones')
        .select(['name', 'account_id'])
        .where('kind', '=', 'Producer')
        .execute()
    ).map((p) => ({ name: p.name, accountId: p.account_id }));
    return { zones, producers };
  }

  /** Writes RRset changes to catalog zone `catalog` as one version (the platform's own write). */
  async writeCatalog(
    catalog: string,
    changes: readonly CatalogChange[],
  ): Promise<{ serial: number; changed: boolean }> {
    const r = await this.#zones.catalogWrite(catalog, changes);
    return { serial: r.serial, changed: r.changed };
  }
}

/** The principal of the platform's own catalog writes (an administrator: no quota; audit `system`). */
export function catalogWriter(accountId: string): Principal {
  return {
    tokenId: SYSTEM_PRINCIPAL.tokenId,
    accountId,
    scope: { admin: true, access: 'write' },
    remote: 'catalog zones',
  };
}
