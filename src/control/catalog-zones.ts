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
import type { ZoneCatalogTable } from '../store/schema.js';
import { RRType } from '../wire/constants.js';
import type { CatalogChange } from '../xfr/catz/format.js';
import { emptyCatalogText, foldName, GROUP_NAME } from '../xfr/catz/format.js';
import type { CatalogMemberZone, CatalogZoneRef } from '../xfr/catz/producer.js';
import { requireWrite, SYSTEM_PRINCIPAL } from './access.js';
import { refuseMemberChange } from './catalog-consumer.js';
import { invalid, now, type PlaneContext } from './context.js';
import { parseZoneName } from './records.js';
import { ControlError, type Principal } from './types.js';
import type { Zones } from './zones.js';

/** The account that owns the fleet catalog (not a tenant: no token is ever made for it). */
export const SYSTEM_ACCOUNT = 'switchboard-system';

/** Zones read per query by `catalogSnapshot`. */
const PAGE = 2000;

/** A catalog zone's PTR record (owner, target), or with `type: 'TXT'` a TXT record (target: its text). */
export interface CatalogRecord {
  owner: string;
  target: string;
  type?: 'TXT';
}

/** What `start`'s catalog writer reads at start: every zone, every catalog and what it lists. */
export interface CatalogSnapshot {
  zones: CatalogMemberZone[];
  producers: CatalogZoneRef[];
  /** Each catalog zone's PTR records (owner, target), and its TXT records (the `group` properties). */
  ptrs: Map<string, CatalogRecord[]>;
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

/** What the writer reads of a zone's `zone_catalog` row. */
type CatalogRow = Pick<
  ZoneCatalogTable,
  'zone_id' | 'catalog' | 'groups' | 'coo_from' | 'coo_at' | 'id_from'
>;
const CATALOG_COLUMNS = ['zone_id', 'catalog', 'groups', 'coo_from', 'coo_at', 'id_from'] as const;

function memberOf(z: ZoneRow, row: CatalogRow | undefined): CatalogMemberZone {
  return {
    name: z.name,
    id: z.id,
    createdAt: z.created_at,
    accountId: z.account_id,
    kind: z.kind,
    serial: Number(z.serial),
    catalog: row?.catalog ?? null,
    groups: row?.groups ? (JSON.parse(row.groups) as string[]) : [],
    cooFrom: row?.coo_from ?? null,
    ...(row?.coo_at ? { cooAt: Date.parse(row.coo_at) } : {}),
    idFrom: row?.id_from ?? null,
  };
}

/** At most this many groups per member. */
export const MAX_CATALOG_GROUPS = 8;

/** A member's groups as given (`CATALOG-GROUP` metadata): checked, folded to a sorted unique list. */
export function checkCatalogGroups(v: unknown, field = 'CATALOG-GROUP'): string[] {
  if (
    !Array.isArray(v) ||
    v.length > MAX_CATALOG_GROUPS ||
    !v.every((g) => typeof g === 'string' && GROUP_NAME.test(g))
  )
    throw invalid(
      `catalog groups are a list of at most ${MAX_CATALOG_GROUPS} names of 1 to 63 letters, digits, '-', '_' or '.'`,
      field,
    );
  return [...new Set(v as string[])].sort();
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
   * transaction. Moved from one Producer zone of the account to another, the zone keeps its
   * groups and its unique id, and is listed in the one it left with a `coo` property naming the
   * new one for a while (RFC 9432 §4.4.1; `start`'s writer, `CatalogPlanner`); removed (''), its
   * groups go with it. The catalog must be a Producer zone of the zone's own account (another
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
    const old = await repo.db
      .selectFrom('zone_catalog')
      .select(['catalog', 'member_id', 'groups', 'id_from'])
      .where('zone_id', '=', zone.id)
      .executeTakeFirst();
    // A move between Producer zones (not a Consumer's member): coo in the one left.
    const moved = old !== undefined && old.member_id == null;
    await repo.db.deleteFrom('zone_catalog').where('zone_id', '=', zone.id).execute();
    await repo.db
      .insertInto('zone_catalog')
      .values({
        zone_id: zone.id,
        account_id: zone.account_id,
        catalog: name,
        updated_at: at,
        ...(moved
          ? {
              groups: old.groups ?? null,
              coo_from: old.catalog,
              coo_at: at,
              id_from: old.id_from ?? old.catalog,
            }
          : {}),
      })
      .execute();
    await this.#ctx.events.notifySettings(repo, zone.name, ['catalog']);
    return true;
  }

  /** The groups of `zone` in the Producer zone it names (`CATALOG-GROUP` metadata; [] when none). */
  async catalogGroups(p: Principal, zoneName: string): Promise<string[]> {
    this.#ctx.checkOpen();
    const repo = this.#ctx.store.repo;
    const zone = await this.#ctx.visibleZone(repo, p, this.#ctx.zoneName(zoneName).toString());
    const row = await repo.db
      .selectFrom('zone_catalog')
      .select('groups')
      .where('zone_id', '=', zone.id)
      .executeTakeFirst();
    return row?.groups ? (JSON.parse(row.groups) as string[]) : [];
  }

  /**
   * Sets the groups of `zone` in the Producer zone its `catalog` field names (RFC 9432 §4.4.2;
   * [] removes them). A zone that names no Producer zone: 422 (set `catalog` first); a Consumer's
   * member follows its catalog (422).
   */
  async setCatalogGroups(p: Principal, zoneName: string, value: unknown): Promise<string[]> {
    this.#ctx.checkOpen();
    const groups = checkCatalogGroups(value);
    const zname = this.#ctx.zoneName(zoneName).toString();
    const changed = await this.#ctx.write(async (repo) => {
      const zone = await this.#ctx.visibleZone(repo, p, zname, true);
      requireWrite(p);
      const row = await repo.db
        .selectFrom('zone_catalog')
        .select(['catalog', 'member_id', 'groups'])
        .where('zone_id', '=', zone.id)
        .executeTakeFirst();
      if (row?.member_id != null) refuseMemberChange(zone, row.catalog);
      if (!row)
        throw invalid(
          `zone ${zone.name} is in no catalog: set its catalog field to a Producer zone first`,
          'CATALOG-GROUP',
        );
      const next = groups.length === 0 ? null : JSON.stringify(groups);
      if ((row.groups ?? null) === next) return false;
      await repo.db
        .updateTable('zone_catalog')
        .set({ groups: next, updated_at: now() })
        .where('zone_id', '=', zone.id)
        .execute();
      await this.#ctx.audit(repo, p, 'zone.catalog', zone.name, zone.account_id, {
        catalog: row.catalog,
        groups,
      });
      await this.#ctx.events.notifySettings(repo, zone.name, ['catalog']);
      return true;
    });
    if (changed) this.#ctx.events.emitSettings({ zone: zname, kinds: ['catalog'] });
    return groups;
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
    const catalogs = new Map<string, CatalogRow>();
    for (const r of await repo.db.selectFrom('zone_catalog').select(CATALOG_COLUMNS).execute())
      catalogs.set(r.zone_id, r);
    const zones: CatalogMemberZone[] = [];
    const producerRows: ZoneRow[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await repo.listZones({ after, limit: PAGE });
      for (const z of page) {
        zones.push(memberOf(z, catalogs.get(z.id)));
        if (z.kind === 'Producer') producerRows.push(z);
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1].name;
      await new Promise((r) => setImmediate(r));
    }
    const ptrs = new Map<string, CatalogRecord[]>();
    for (const p of producerRows) ptrs.set(p.name, await this.#ptrsOf(repo, p));
    return {
      zones,
      producers: producerRows.map((p) => ({ name: p.name, accountId: p.account_id })),
      ptrs,
    };
  }

  /** The PTR records (owner, target) of catalog zone `name` (none when it is not a Producer zone). */
  async catalogPtrs(name: string): Promise<CatalogRecord[]> {
    this.#ctx.checkOpen();
    const repo = this.#ctx.store.repo;
    const zone = await repo.getZoneByName(foldName(name));
    return zone?.kind === 'Producer' ? this.#ptrsOf(repo, zone) : [];
  }

  /**
   * A catalog zone's PTRs, then its `group` properties' TXTs (`type: 'TXT'`), read in pages (a
   * catalog of 100,000 members is not one synchronous read).
   */
  async #ptrsOf(repo: Repo, zone: ZoneRow): Promise<CatalogRecord[]> {
    const list: CatalogRecord[] = [];
    for (const type of [RRType.PTR, RRType.TXT]) {
      let afterKey: string | undefined;
      for (;;) {
        let q = repo.db
          .selectFrom('rrsets')
          .select(['name', 'name_key', 'records'])
          .where('zone_id', '=', zone.content_id || zone.id)
          .where('type', '=', type);
        if (afterKey !== undefined) q = q.where('name_key', '>', afterKey);
        const rows = await q.orderBy('name_key').limit(PAGE).execute();
        for (const r of rows)
          if (type === RRType.PTR || r.name.toLowerCase().startsWith('group.'))
            for (const rec of JSON.parse(r.records) as { content: string }[])
              list.push(
                type === RRType.TXT
                  ? { owner: r.name, target: rec.content, type: 'TXT' }
                  : { owner: r.name, target: rec.content },
              );
        if (rows.length < PAGE) break;
        afterKey = rows[rows.length - 1].name_key;
        await new Promise((r) => setImmediate(r));
      }
    }
    return list;
  }

  /** The zones named as the writer sees them (undefined: no such zone now), and the Producers. */
  async catalogZonesNamed(
    names: readonly string[],
  ): Promise<{ zones: Map<string, CatalogMemberZone | undefined>; producers: CatalogZoneRef[] }> {
    this.#ctx.checkOpen();
    const repo = this.#ctx.store.repo;
    const folded = names.map(foldName);
    const rows = folded.length > 0 ? await repo.zonesNamed(folded) : [];
    const catalogs = new Map<string, CatalogRow>();
    if (rows.length > 0)
      for (const r of await repo.db
        .selectFrom('zone_catalog')
        .select(CATALOG_COLUMNS)
        .where(
          'zone_id',
          'in',
          rows.map((z) => z.id),
        )
        .execute())
        catalogs.set(r.zone_id, r);
    const zones = new Map<string, CatalogMemberZone | undefined>();
    for (const n of folded) zones.set(n, undefined);
    for (const z of rows) zones.set(z.name, memberOf(z, catalogs.get(z.id)));
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
