/**
 * Deleted zones (docs/CONTROL-PLANE.md, "Deleted zones"): a deleted zone is kept, with its
 * versions, for the retention time (default 30 days). Meanwhile its name is free for a new
 * zone (as in PowerDNS), its history stays readable, and it can be restored — under its old
 * id, as the next version with the next SOA serial — while its name is still free.
 * @module
 */
import type { DeletedZoneRow, DeletedZoneSummaryRow, Repo } from '../store/index.js';
import { RRType } from '../wire/constants.js';
import { Name } from '../wire/name.js';
import { canSeeZone, requireWrite } from './access.js';
import { listedAccount, now, type PlaneContext } from './context.js';
import { changeLines, countChangeLines, diffContent, settleSerial } from './edit.js';
import { decodeCursor, isIntCursor, isTimeCursor, makePage, pageLimit } from './paging.js';
import { checkQuota } from './quota.js';
import { nameKeyOf, parseZoneName, rrsetKey } from './records.js';
import type { Retention } from './retention.js';
import { prunedVersion } from './retention.js';
import { contentOf, parseChanges, rrsetRow, storeChanges, toZoneInfo, toZoneVersion } from './rows.js';
import {
  ControlError,
  type DeletedZone,
  type Page,
  type PageRequest,
  type Principal,
  type VersionDiff,
  type ZoneInfo,
  type ZoneVersion,
} from './types.js';

/** What restoring needs of the zone operations (name and nesting checks). */
export interface RestoreChecks {
  checkNameFreeFor(repo: Repo, origin: Name, accountId: string): Promise<void>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function deletedNotFound(what: string): ControlError {
  return new ControlError('CTL_ERR_NOT_FOUND', `no deleted zone ${what}`);
}

/** The deleted-zone operations of the control plane. */
export class DeletedZones {
  readonly #ctx: PlaneContext;
  readonly #retention: Retention;
  readonly #checks: RestoreChecks;

  constructor(ctx: PlaneContext, retention: Retention, checks: RestoreChecks) {
    this.#ctx = ctx;
    this.#retention = retention;
    this.#checks = checks;
  }

  #toDeleted(r: DeletedZoneSummaryRow): DeletedZone {
    return {
      id: r.id,
      name: r.name,
      accountId: r.account_id,
      version: Number(r.version),
      serial: r.serial,
      recordCount: Number(r.record_count),
      createdAt: r.created_at,
      deletedAt: r.deleted_at,
      deletedBy: r.deleted_by,
      purgeAfter: this.#retention.purgeAfter(r.deleted_at),
      kind: r.kind === 'Master' ? 'Master' : 'Native',
      soaEditApi: r.soa_edit_api,
      accountLabel: r.account_label,
    };
  }

  /** The deleted zone `p` may see, by id or by name (the most recently deleted); else NOT_FOUND. */
  async #visible(repo: Repo, p: Principal, idOrName: string, lock = false): Promise<DeletedZoneRow> {
    if (typeof idOrName !== 'string' || idOrName === '') throw deletedNotFound("''");
    let row: DeletedZoneRow | undefined;
    if (UUID.test(idOrName)) row = await repo.getDeletedZone(idOrName.toLowerCase(), lock);
    else {
      let name: string;
      try {
        name = parseZoneName(idOrName, 'name').toString();
      } catch {
        throw deletedNotFound(idOrName);
      }
      const accountId = p.scope.admin ? undefined : (p.accountId ?? '');
      const [latest] = await repo.listDeletedZones({ name, accountId, limit: 1 });
      if (latest) row = await repo.getDeletedZone(latest.id, lock);
    }
    if (!row || !canSeeZone(p, row.name, row.account_id)) throw deletedNotFound(idOrName);
    return row;
  }

  async listDeletedZones(
    p: Principal,
    input?: { accountId?: string; name?: string } & PageRequest,
  ): Promise<Page<DeletedZone>> {
    this.#ctx.checkOpen();
    const limit = pageLimit(input);
    const before = decodeCursor(input, isTimeCursor);
    const accountId = listedAccount(p, input?.accountId);
    if (accountId === null) return { items: [] };
    let name: string | undefined;
    if (input?.name !== undefined)
      try {
        name = parseZoneName(input.name, 'name').toString();
      } catch {
        return { items: [] };
      }
    const rows = await this.#ctx.store.repo.listDeletedZones({ accountId, name, before, limit: limit + 1 });
    // A token limited to some zones sees only those.
    const visible = rows.filter((r) => canSeeZone(p, r.name, r.account_id));
    return makePage(
      visible,
      limit,
      (r) => this.#toDeleted(r),
      (r) => ({ at: r.deleted_at, id: r.id }),
    );
  }

  async getDeletedZone(p: Principal, idOrName: string): Promise<DeletedZone> {
    this.#ctx.checkOpen();
    const row = await this.#ctx.store.read((repo) => this.#visible(repo, p, idOrName));
    return this.#toDeleted(row);
  }

  async listDeletedVersions(p: Principal, idOrName: string, page?: PageRequest): Promise<Page<ZoneVersion>> {
    this.#ctx.checkOpen();
    const limit = pageLimit(page);
    const before = decodeCursor(page, isIntCursor);
    const rows = await this.#ctx.store.read(async (repo) => {
      const z = await this.#visible(repo, p, idOrName);
      return repo.listVersions(z.id, { before, limit: limit + 1 });
    });
    return makePage(rows, limit, toZoneVersion, (r) => Number(r.version));
  }

  async getDeletedVersion(p: Principal, idOrName: string, version: number): Promise<VersionDiff> {
    this.#ctx.checkOpen();
    const { zone, row } = await this.#ctx.store.read(async (repo) => {
      const z = await this.#visible(repo, p, idOrName);
      return { zone: z, row: Number.isInteger(version) ? await repo.getVersion(z.id, version) : undefined };
    });
    if (!row) {
      if (Number.isInteger(version) && version >= 1 && version <= Number(zone.version))
        throw prunedVersion(zone.name, version, this.#retention.rules);
      throw new ControlError('CTL_ERR_NOT_FOUND', `zone ${zone.name} has no version ${version}`, 'version');
    }
    const { removed, added } = changeLines(parseChanges(row.changes));
    return {
      ...toZoneVersion(row),
      fromSerial: row.from_serial,
      removedRecords: removed,
      addedRecords: added,
    };
  }

  async restoreZone(p: Principal, idOrName: string, opts?: { comment?: string }): Promise<ZoneInfo> {
    this.#ctx.checkOpen();
    requireWrite(p);
    const comment = typeof opts?.comment === 'string' ? opts.comment : null;
    const result = await this.#ctx.write(async (repo) => {
      const d = await this.#visible(repo, p, idOrName, true);
      const origin = Name.parse(d.name);
      if (!(await repo.getAccount(d.account_id)))
        throw new ControlError('CTL_ERR_NOT_FOUND', `the account of zone ${d.name} no longer exists`);
      await this.#checks.checkNameFreeFor(repo, origin, d.account_id);
      await checkQuota(repo, p, d.account_id, { zones: 1, records: Number(d.record_count) });
      // One-row writes whatever the zone's size (migration 8): the zone row comes back with
      // the content id it had, whose rows stayed where they were; only the apex SOA changes,
      // to the next serial, as for any change (secondaries see the zone move forward).
      const contentId = d.content_id;
      const apex = nameKeyOf(origin);
      const soaRow = await repo.getRRset(contentId, apex, RRType.SOA);
      if (!soaRow) throw new Error(`deleted zone ${d.name} has no stored SOA (content ${contentId})`);
      const before = contentOf([soaRow]);
      const draft = new Map(before);
      const serial = settleSerial(draft, origin, d.serial);
      const diff = diffContent(before, draft);
      const { added, removed } = countChangeLines(diff);
      const version = Number(d.version) + 1;
      const at = now();
      const row = {
        id: d.id,
        name: d.name,
        account_id: d.account_id,
        version,
        serial,
        record_count: Number(d.record_count),
        created_at: d.created_at,
        updated_at: at,
        kind: d.kind,
        soa_edit_api: d.soa_edit_api,
        account_label: d.account_label,
        content_id: contentId,
      };
      await repo.removeDeletedZone(d.id);
      await repo.insertZone(row);
      const catalog = await restoreCatalog(repo, d);
      if (catalog !== undefined) await this.#ctx.events.notifySettings(repo, d.name, ['catalog']);
      const soa = draft.get(rrsetKey(apex, RRType.SOA));
      if (diff.length > 0 && soa) {
        await repo.deleteRRset(contentId, apex, RRType.SOA);
        await repo.insertRRsets([rrsetRow(contentId, soa)]);
      }
      await repo.insertVersion({
        zone_id: d.id,
        version,
        serial,
        from_serial: d.serial,
        created_at: at,
        actor: p.tokenId,
        actor_name: await this.#ctx.actorName(repo, p),
        remote: p.remote ?? null,
        comment,
        kind: 'restore',
        added,
        removed,
        changes: storeChanges(diff),
      });
      await this.#ctx.audit(repo, p, 'zone.restore', d.name, d.account_id, {
        version,
        serial,
        deletedAt: d.deleted_at,
        ...(comment !== null ? { comment } : {}),
      });
      const ev = { zone: d.name, version, deleted: false };
      await this.#ctx.events.notify(repo, ev);
      return { row, ev, catalog };
    });
    this.#ctx.events.emit(result.ev);
    if (result.catalog !== undefined)
      this.#ctx.events.emitSettings({ zone: result.row.name, kinds: ['catalog'] });
    return {
      ...toZoneInfo(result.row),
      ...(result.catalog !== undefined ? { catalog: result.catalog } : {}),
    };
  }
}

/**
 * A restored zone's `catalog` field back (migration 17 kept its row with the deleted zone): when
 * it named a Producer zone that still exists in its account, it names it again, with its groups
 * and the catalog its unique id is made from (so consumers see the id it had). A Consumer's member
 * comes back as a plain Slave zone (the catalog drops what it no longer lists). Returns the
 * catalog named again, if any.
 */
async function restoreCatalog(repo: Repo, d: DeletedZoneRow): Promise<string | undefined> {
  if (!d.catalog) return undefined;
  let saved: { catalog?: unknown; member_id?: unknown; groups?: unknown; id_from?: unknown };
  try {
    saved = JSON.parse(d.catalog) as typeof saved;
  } catch {
    return undefined;
  }
  if (typeof saved.catalog !== 'string' || saved.member_id != null) return undefined;
  const producer = await repo.getZoneByName(saved.catalog);
  if (producer?.kind !== 'Producer' || producer.account_id !== d.account_id) return undefined;
  await repo.db
    .insertInto('zone_catalog')
    .values({
      zone_id: d.id,
      account_id: d.account_id,
      catalog: producer.name,
      groups: typeof saved.groups === 'string' ? saved.groups : null,
      id_from: typeof saved.id_from === 'string' ? saved.id_from : null,
      updated_at: new Date().toISOString(),
    })
    .execute();
  return producer.name;
}
