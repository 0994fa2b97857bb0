/**
 * History and audit: a zone's versions and the diff of each, and the audit log.
 * @module
 */
import { requireAccountWide } from './access.js';
import { listedAccount, type PlaneContext } from './context.js';
import { changeLines } from './edit.js';
import { decodeCursor, isIntCursor, makePage, pageLimit } from './paging.js';
import { parseZoneName } from './records.js';
import { prunedVersion, retentionOf } from './retention.js';
import { parseChanges, toZoneVersion } from './rows.js';
import {
  type AuditEntry,
  type AuditQuery,
  ControlError,
  type Page,
  type PageRequest,
  type Principal,
  type VersionDiff,
  type ZoneVersion,
} from './types.js';

/** The history and audit operations of the control plane. */
export class History {
  readonly #ctx: PlaneContext;

  constructor(ctx: PlaneContext) {
    this.#ctx = ctx;
  }

  async listVersions(p: Principal, name: string, page?: PageRequest): Promise<Page<ZoneVersion>> {
    this.#ctx.checkOpen();
    const zname = this.#ctx.zoneName(name).toString();
    const limit = pageLimit(page);
    const before = decodeCursor(page, isIntCursor);
    const rows = await this.#ctx.store.read(async (repo) => {
      const zone = await this.#ctx.visibleZone(repo, p, zname);
      return repo.listVersions(zone.id, { before, limit: limit + 1 });
    });
    return makePage(rows, limit, toZoneVersion, (r) => Number(r.version));
  }

  async getVersion(p: Principal, name: string, version: number): Promise<VersionDiff> {
    this.#ctx.checkOpen();
    const zname = this.#ctx.zoneName(name).toString();
    const { row, current } = await this.#ctx.store.read(async (repo) => {
      const zone = await this.#ctx.visibleZone(repo, p, zname);
      const row = Number.isInteger(version) ? await repo.getVersion(zone.id, version) : undefined;
      return { row, current: Number(zone.version) };
    });
    if (!row) {
      // Below the current version and absent: the retention policy removed it.
      if (Number.isInteger(version) && version >= 1 && version <= current)
        throw prunedVersion(zname, version, retentionOf(this.#ctx.opts.retention));
      throw new ControlError('CTL_ERR_NOT_FOUND', `zone ${zname} has no version ${version}`, 'version');
    }
    const { removed, added } = changeLines(parseChanges(row.changes));
    return {
      ...toZoneVersion(row),
      fromSerial: row.from_serial,
      removedRecords: removed,
      addedRecords: added,
    };
  }

  // ---- audit ----

  async listAudit(p: Principal, input?: AuditQuery & PageRequest): Promise<Page<AuditEntry>> {
    this.#ctx.checkOpen();
    requireAccountWide(p);
    const limit = pageLimit(input);
    // The cursor is the sequence number of the last row shown (rows of one millisecond keep
    // their order across pages).
    const before = decodeCursor(input, isIntCursor);
    const filters = auditFilters(input);
    const accountId = listedAccount(p, input?.accountId);
    if (accountId === null) return { items: [] };
    const rows = await this.#ctx.store.repo.listAudit({ accountId, ...filters, before, limit: limit + 1 });
    return makePage(
      rows,
      limit,
      (r): AuditEntry => ({
        id: r.id,
        at: r.at,
        tokenId: r.token_id,
        accountId: r.account_id,
        action: r.action,
        target: r.target,
        remote: r.remote,
        detail: r.detail === null ? null : JSON.parse(r.detail),
      }),
      (r) => r.seq,
    );
  }
}

/**
 * The filters of an audit query, checked: `zone` a zone name (matched case-folded against
 * the entry's target), `action` an action or a prefix ending in '.', `since` an ISO 8601 time.
 * @throws ControlError CTL_ERR_VALIDATION naming the field
 */
function auditFilters(input: AuditQuery | undefined): { target?: string; action?: string; since?: string } {
  const out: { target?: string; action?: string; since?: string } = {};
  if (input?.zone !== undefined) out.target = parseZoneName(input.zone, 'zone').toString();
  if (input?.action !== undefined) {
    if (typeof input.action !== 'string' || !/^[a-z][a-z0-9_.-]{0,63}$/i.test(input.action))
      throw new ControlError('CTL_ERR_VALIDATION', `bad action '${String(input.action)}'`, 'action');
    out.action = input.action.toLowerCase();
  }
  if (input?.since !== undefined) {
    const t = typeof input.since === 'string' ? Date.parse(input.since) : Number.NaN;
    if (!/^\d{4}-\d{2}-\d{2}/.test(String(input.since)) || Number.isNaN(t))
      throw new ControlError(
        'CTL_ERR_VALIDATION',
        `since must be an ISO 8601 date or time (2026-12-01T10:00:00Z), got '${String(input.since)}'`,
        'since',
      );
    out.since = new Date(t).toISOString();
  }
  return out;
}
