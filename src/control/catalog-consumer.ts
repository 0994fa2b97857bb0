/**
 * The `Consumer` zone kind (PowerDNS 4.7; RFC 9432 as a consumer; docs/TRANSFERS.md "Catalog
 * zones (consumer)"): a zone of kind Consumer is another provider's catalog zone, transferred
 * from its `masters` as a Slave zone is (the same refresher, key, NOTIFY and expiry). After each
 * version of it, `syncConsumer` keeps its member zones in step, in the Consumer zone's account:
 *
 * - a member added to the catalog becomes a zone of kind Slave with the catalog's masters and
 *   key, its `catalog` field naming the Consumer zone (`zone_catalog`, with the member's unique
 *   id: migration 15); the refresher transfers it;
 * - a member gone from the catalog is deleted (restorable as any deleted zone);
 * - a member whose unique id changed (§5.3/§5.4: deleted and re-created on the producer) is
 *   deleted and created again: its data is dropped and transferred anew;
 * - `coo` (§5.4.1): a zone that is a member of another Consumer zone of the account moves to this
 *   one only when that catalog's `coo` property for it names this catalog; its data is kept when
 *   the unique id is the same in both, else it is re-created. Without it the zone stays where it
 *   is (reported);
 * - the account's zone quota applies: members past it are not created, and reported; a name
 *   another account holds (or one inside or around another account's zone), or a zone of the
 *   account that is not this catalog's member, is not taken over (reported);
 * - `group` properties are ignored (RFC 9432 leaves their meaning to the parties).
 *
 * The catalog is parsed by the edge's parser (`xfr/catz/consume.ts`). What a sync did and what it
 * refused is kept with the zone's secondary row (`consumer_report`) and shown by
 * `GET /api/v1/zones/{zone}/secondary`. Members are read-only: their masters, key, kind and
 * catalog follow the Consumer zone (a change of its masters or key reaches them in the same
 * transaction: `followConsumer`, called by `setZoneSecondary`); the API refuses to change or delete them (delete the member
 * on the producer, or the Consumer zone, which takes its members with it).
 * @module
 */
import type { Repo, ZoneRow } from '../store/index.js';
import { RRType, typeToString } from '../wire/constants.js';
import type { RR } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { type CatalogMember, diffCatalog, parseCatalog } from '../xfr/catz/consume.js';
import { parseZoneText } from '../zone/parser.js';
import { SYSTEM_PRINCIPAL } from './access.js';
import type { PlaneContext } from './context.js';
import { parseZoneName } from './records.js';
import { ControlError, type Principal } from './types.js';
import type { Zones } from './zones.js';

/** Entries of each list kept in a report. */
const REPORT_LIST = 100;

/** What one sync of a Consumer zone did (kept with the zone, shown by the native API). */
export interface ConsumerReport {
  /** When (ISO time). */
  at: string;
  /** The catalog's serial it read. */
  serial: number;
  /** Members served under the catalog after the sync. */
  members: number;
  added: number;
  removed: number;
  /** Re-created (their unique id changed). */
  reset: number;
  /** Taken over from another Consumer zone of the account by its `coo` property. */
  moved: number;
  /** Members not created (first REPORT_LIST), with why. */
  refused: { zone: string; reason: string }[];
  refusedTotal: number;
  /** What the parser ignored (first REPORT_LIST). */
  ignored: string[];
  /** Set when the catalog could not be used at all (its members are left as they were). */
  error?: string;
}

interface Member {
  name: string;
  zoneId: string;
  memberId: string;
  masters: string;
  key: string | null;
}

/** The Consumer zone that made member zone `zoneId`, if it is one. */
export async function consumerOfMember(repo: Repo, zoneId: string): Promise<string | undefined> {
  const row = await repo.db
    .selectFrom('zone_catalog')
    .select(['catalog', 'member_id'])
    .where('zone_id', '=', zoneId)
    .executeTakeFirst();
  return row?.member_id == null ? undefined : row.catalog;
}

/** The member zones Consumer zone `zone` made. */
export async function membersOfConsumer(repo: Repo, zone: ZoneRow): Promise<ZoneRow[]> {
  const rows = await repo.db
    .selectFrom('zones')
    .innerJoin('zone_catalog', 'zone_catalog.zone_id', 'zones.id')
    .select('zones.name as name')
    .where('zone_catalog.account_id', '=', zone.account_id)
    .where('zone_catalog.catalog', '=', zone.name)
    .where('zone_catalog.member_id', 'is not', null)
    .execute();
  const out: ZoneRow[] = [];
  for (const r of rows) {
    const z = await repo.getZoneByName(r.name, true);
    if (z) out.push(z);
  }
  return out;
}

/**
 * A Consumer zone's masters or key changed (inside the caller's transaction): its members take
 * them in the same transaction, in one statement, so the refresher and the DNS workers' NOTIFY
 * check see the new masters with the Consumer zone's (the settings channel, announced by the
 * caller). Returns how many members changed.
 */
export async function followConsumer(
  repo: Repo,
  zone: ZoneRow,
  masters: readonly string[],
  key: string | null,
): Promise<number> {
  const members = repo.db
    .selectFrom('zone_catalog')
    .select('zone_id')
    .where('account_id', '=', zone.account_id)
    .where('catalog', '=', zone.name)
    .where('member_id', 'is not', null);
  const r = await repo.db
    .updateTable('zone_secondary')
    .set({ masters: JSON.stringify(masters), tsig_key: key, updated_at: new Date().toISOString() })
    .where('zone_id', 'in', members)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** A member of a Consumer zone follows its catalog: the API does not change or delete it (422). */
export function refuseMemberChange(zone: ZoneRow, consumer: string): never {
  throw new ControlError(
    'CTL_ERR_VALIDATION',
    `zone ${zone.name} is a member of catalog ${consumer} (kind Consumer): it follows the catalog ` +
      '(remove it from the catalog on the producer, or delete the Consumer zone)',
    'catalog',
  );
}

/** The principal of a Consumer zone's writes: the account itself (its quotas apply), audited. */
function consumerPrincipal(accountId: string): Principal {
  return {
    tokenId: SYSTEM_PRINCIPAL.tokenId,
    accountId,
    scope: { admin: false, access: 'write' },
    remote: 'catalog consumer',
  };
}

export class CatalogConsumers {
  readonly #ctx: PlaneContext;
  readonly #zones: Zones;

  constructor(ctx: PlaneContext, zones: Zones) {
    this.#ctx = ctx;
    this.#zones = zones;
  }

  /** The names of every Consumer zone. */
  async consumerZones(): Promise<string[]> {
    this.#ctx.checkOpen();
    const rows = await this.#ctx.store.repo.db
      .selectFrom('zones')
      .select('name')
      .where('kind', '=', 'Consumer')
      .execute();
    return rows.map((r) => r.name);
  }

  /** A catalog zone's members and properties, as stored (PTR and TXT records only). */
  async #catalog(repo: Repo, zone: ZoneRow): Promise<RR[]> {
    const rows = await repo.db
      .selectFrom('rrsets')
      .select(['name', 'type', 'ttl', 'records'])
      .where('zone_id', '=', zone.content_id || zone.id)
      .where('type', 'in', [RRType.PTR, RRType.TXT])
      .execute();
    const lines: string[] = [];
    for (const r of rows)
      for (const rec of JSON.parse(r.records) as { content: string }[])
        lines.push(`${r.name} ${r.ttl} IN ${typeToString(r.type)} ${rec.content}`);
    return parseZoneText(`${lines.join('\n')}\n`, { origin: Name.parse(zone.name) });
  }

  async #members(repo: Repo, zone: ZoneRow): Promise<Map<string, Member>> {
    const rows = await repo.db
      .selectFrom('zones')
      .innerJoin('zone_catalog', 'zone_catalog.zone_id', 'zones.id')
      .leftJoin('zone_secondary', 'zone_secondary.zone_id', 'zones.id')
      .select([
        'zones.name as name',
        'zones.id as zoneId',
        'zone_catalog.member_id as memberId',
        'zone_secondary.masters as masters',
        'zone_secondary.tsig_key as key',
      ])
      .where('zone_catalog.account_id', '=', zone.account_id)
      .where('zone_catalog.catalog', '=', zone.name)
      .where('zone_catalog.member_id', 'is not', null)
      .execute();
    const out = new Map<string, Member>();
    for (const r of rows)
      out.set(Name.parse(r.name).key, {
        name: r.name,
        zoneId: r.zoneId,
        memberId: r.memberId as string,
        masters: r.masters ?? '[]',
        key: r.key ?? null,
      });
    return out;
  }

  /**
   * Brings the members of Consumer zone `name` in step with the catalog it holds (see the
   * module comment). Null when there is nothing to do: no such Consumer zone, or not transferred
   * yet. Several calls for one zone must not run at once (start's driver runs them one by one).
   */
  async syncConsumer(name: string): Promise<ConsumerReport | null> {
    this.#ctx.checkOpen();
    const repo = this.#ctx.store.repo;
    const zname = parseZoneName(name, 'name').toString();
    const zone = await repo.getZoneByName(zname);
    if (zone?.kind !== 'Consumer' || Number(zone.serial) === 0) return null;
    const sec = await repo.getZoneSecondary(zone.id);
    if (!sec) return null;
    const origin = Name.parse(zone.name);
    const have = await this.#members(repo, zone);
    const report: ConsumerReport = {
      at: new Date().toISOString(),
      serial: Number(zone.serial),
      members: have.size,
      added: 0,
      removed: 0,
      reset: 0,
      moved: 0,
      refused: [],
      refusedTotal: 0,
      ignored: [],
    };
    const ids = new Map([...have].map(([k, m]) => [k, m.memberId]));
    const parsed = parseCatalog(origin, await this.#catalog(repo, zone), ids);
    if (!parsed.ok) {
      report.error = `catalog not used: ${parsed.why}`;
      await this.#save(zone, report);
      return report;
    }
    report.ignored = parsed.ignored.slice(0, REPORT_LIST);
    const refuse = (zoneName: string, reason: string) => {
      report.refusedTotal++;
      if (report.refused.length < REPORT_LIST) report.refused.push({ zone: zoneName, reason });
    };
    const p = consumerPrincipal(zone.account_id);
    const diff = diffCatalog(ids, parsed.members);
    const drop = async (m: Member, why: string): Promise<boolean> => {
      try {
        await this.#zones.deleteConsumerMember(p, m.name, m.zoneId, why);
        return true;
      } catch (err) {
        refuse(m.name, `not deleted: ${(err as Error).message}`);
        return false;
      }
    };
    for (const k of diff.removed) {
      const m = have.get(k) as Member;
      if (await drop(m, `gone from catalog ${zone.name}`)) report.removed++;
    }
    const create: CatalogMember[] = [...diff.added];
    for (const c of diff.reset) {
      const m = have.get(c.zone.key) as Member;
      if (await drop(m, `re-created in catalog ${zone.name} (unique id ${m.memberId} → ${c.id})`)) {
        report.reset++;
        create.push(c);
      }
    }
    // In name order (as the quota's cut is stated: the first names are made).
    const nameOf = (m: CatalogMember) => m.zone.toString().toLowerCase();
    create.sort((a, b) => (nameOf(a) < nameOf(b) ? -1 : nameOf(a) > nameOf(b) ? 1 : 0));
    const account = await repo.getAccount(zone.account_id);
    let room = account ? Number(account.max_zones) - Number(account.zone_count) : 0;
    /** Other Consumer zones' catalogs, parsed once each (for `coo`). */
    const others = new Map<string, Map<string, CatalogMember> | undefined>();
    const masters = JSON.parse(sec.masters) as string[];
    for (const c of create) {
      const memberName = c.zone.toString().toLowerCase();
      const existing = await repo.getZoneByName(memberName);
      if (existing) {
        const moved = await this.#coo(repo, zone, existing, c, others);
        if (moved === 'kept') {
          report.moved++;
          continue;
        }
        if (moved === 'reset') {
          // Its data goes; created again below under this catalog.
          report.moved++;
        } else {
          refuse(
            memberName,
            existing.account_id !== zone.account_id
              ? 'the zone is served by another account'
              : moved === 'other'
                ? 'the zone is a member of another Consumer zone of the account (no coo property naming this catalog)'
                : 'a zone of that name exists in the account (not a member of this catalog)',
          );
          continue;
        }
      }
      if (room <= 0) {
        refuse(memberName, `the account's zone quota (${account?.max_zones ?? 0}) is reached`);
        continue;
      }
      try {
        await this.#zones.createZone(p, {
          name: memberName,
          kind: 'Slave',
          masters,
          ...(sec.tsig_key !== null ? { slaveTsigKeyIds: [sec.tsig_key] } : {}),
          consumerMember: { catalog: zone.name, memberId: c.id },
        });
        room--;
        if (!have.has(c.zone.key)) report.added++;
      } catch (err) {
        if (err instanceof ControlError && err.code === 'CTL_ERR_QUOTA') room = 0;
        refuse(memberName, (err as Error).message);
      }
    }
    // Members follow the Consumer zone's masters and key (`setZoneSecondary` makes them follow at
    // once; this catches members made by a sync that raced with such a change).
    const now = await this.#members(repo, zone);
    const want = JSON.stringify(masters);
    let followed = false;
    if ([...now.values()].some((m) => m.masters !== want || m.key !== sec.tsig_key))
      await this.#ctx.write(async (r) => {
        followed = (await followConsumer(r, zone, masters, sec.tsig_key)) > 0;
        if (followed) await this.#ctx.events.notifyShield(r, zone.name);
      });
    report.members = now.size;
    await this.#save(zone, report);
    if (followed) this.#ctx.events.emitShield();
    return report;
  }

  /**
   * A zone of the catalog's name exists: whether a `coo` property moves it here (RFC 9432
   * §5.4.1). 'kept': moved with its data (same unique id); 'reset': deleted, to be created
   * again here; 'other': a member of another Consumer zone without such a property; 'no':
   * not a Consumer's member of this account.
   */
  async #coo(
    repo: Repo,
    zone: ZoneRow,
    existing: ZoneRow,
    c: CatalogMember,
    others: Map<string, Map<string, CatalogMember> | undefined>,
  ): Promise<'kept' | 'reset' | 'other' | 'no'> {
    if (existing.account_id !== zone.account_id) return 'no';
    const owner = await repo.db
      .selectFrom('zone_catalog')
      .select(['catalog', 'member_id'])
      .where('zone_id', '=', existing.id)
      .executeTakeFirst();
    if (owner?.member_id == null || owner.catalog === zone.name) return 'no';
    if (!others.has(owner.catalog)) {
      const o = await repo.getZoneByName(owner.catalog);
      let list: Map<string, CatalogMember> | undefined;
      if (o?.kind === 'Consumer') {
        const r = parseCatalog(Name.parse(o.name), await this.#catalog(repo, o));
        if (r.ok) list = new Map(r.members.map((m) => [m.zone.key, m]));
      }
      others.set(owner.catalog, list);
    }
    const there = others.get(owner.catalog)?.get(c.zone.key);
    if (there?.coo === undefined || !there.coo.equals(Name.parse(zone.name))) return 'other';
    const p = consumerPrincipal(zone.account_id);
    if (there.id.toLowerCase() === c.id.toLowerCase()) {
      await this.#ctx.write(async (r) => {
        await r.db
          .updateTable('zone_catalog')
          .set({ catalog: zone.name, member_id: c.id, updated_at: new Date().toISOString() })
          .where('zone_id', '=', existing.id)
          .execute();
        await this.#ctx.audit(r, p, 'zone.catalog', existing.name, existing.account_id, {
          catalog: zone.name,
          from: owner.catalog,
          coo: true,
        });
      });
      return 'kept';
    }
    await this.#zones.deleteConsumerMember(
      p,
      existing.name,
      existing.id,
      `moved from catalog ${owner.catalog} to ${zone.name} (coo) under a new unique id`,
    );
    return 'reset';
  }

  async #save(zone: ZoneRow, report: ConsumerReport): Promise<void> {
    await this.#ctx.write((r) => r.updateZoneSecondary(zone.id, { consumer_report: JSON.stringify(report) }));
  }
}
