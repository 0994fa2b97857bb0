/**
 * Retention of history (docs/CONTROL-PLANE.md, "Retention"): versions beyond the newest N of
 * a zone or older than D days (never a zone's current version), audit rows older than D
 * days, and deleted zones (with their versions) once their restore window has passed.
 *
 * Pruning runs off the request path (`switchboard start` calls `pruneHistory` on a timer) in
 * small transactions of at most `BATCH` rows, yielding to the event loop between them, so it
 * never holds the loop or the SQLite writer for long. What goes is always a zone's OLDEST
 * versions, so every version still listed can be rolled back to.
 * @module
 */
import { INT32_MAX, type PlaneContext } from './context.js';
import { ControlError, type PruneReport, type RetentionOptions } from './types.js';

/** The defaults (docs/CONTROL-PLANE.md, "Retention"). */
export const DEFAULT_RETENTION: Readonly<Required<RetentionOptions>> = Object.freeze({
  versionsPerZone: 1000,
  versionDays: 365,
  auditDays: 365,
  deletedZoneDays: 30,
});

/** Rows per pruning transaction. */
const BATCH = 500;
const DAY_MS = 86_400_000;

/** Lets other work of the event loop run between two pruning transactions. */
function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The retention in force, checked. */
export function retentionOf(opts: RetentionOptions | undefined): Required<RetentionOptions> {
  const r = { ...DEFAULT_RETENTION, ...(opts ?? {}) };
  for (const [k, v] of Object.entries(r))
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
      throw new Error(`retention ${k} must be a whole number ≥ 0, got ${String(v)}`);
  return r;
}

/** The message of a version that retention removed (410). */
export function prunedVersion(zone: string, version: number, r: Required<RetentionOptions>): ControlError {
  const rules = [
    r.versionsPerZone > 0 ? `the newest ${r.versionsPerZone}` : '',
    r.versionDays > 0 ? `those of the last ${r.versionDays} days` : '',
  ].filter((x) => x !== '');
  return new ControlError(
    'CTL_ERR_GONE',
    `version ${version} of zone ${zone} was pruned by the retention policy (versions kept: ${rules.join(' and ') || 'all'})`,
    'version',
  );
}

/** The pruning of one control plane. */
export class Retention {
  readonly #ctx: PlaneContext;
  readonly rules: Required<RetentionOptions>;
  /** Starts the background collection of content rows (zones.ts) after a purge. */
  readonly #collect: () => void;
  #running: Promise<PruneReport> | undefined;

  constructor(ctx: PlaneContext, collect: () => void = () => {}) {
    this.#ctx = ctx;
    this.rules = retentionOf(ctx.opts.retention);
    this.#collect = collect;
  }

  /** When a deleted zone deleted at `deletedAt` is purged (null: never). */
  purgeAfter(deletedAt: string): string | null {
    const d = this.rules.deletedZoneDays;
    return d > 0 ? new Date(Date.parse(deletedAt) + d * DAY_MS).toISOString() : null;
  }

  /** One pass of every rule; a pass already running is joined, not doubled. */
  pruneHistory(now: Date = new Date()): Promise<PruneReport> {
    this.#ctx.checkOpen();
    if (!this.#running)
      this.#running = this.#pass(now).finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  async #pass(now: Date): Promise<PruneReport> {
    const report: PruneReport = { versions: 0, audit: 0, deletedZones: 0 };
    const r = this.rules;
    const t = now.getTime();
    if (r.deletedZoneDays > 0)
      report.deletedZones = await this.#purgeDeleted(iso(t - r.deletedZoneDays * DAY_MS), report);
    if (r.versionsPerZone > 0) report.versions += await this.#pruneByCount(r.versionsPerZone);
    if (r.versionDays > 0) report.versions += await this.#pruneByAge(iso(t - r.versionDays * DAY_MS));
    if (r.auditDays > 0) {
      const before = iso(t - r.auditDays * DAY_MS);
      for (;;) {
        const n = await this.#ctx.write((repo) => repo.pruneAudit(before, BATCH));
        report.audit += n;
        if (n < BATCH) break;
        await yieldToLoop();
      }
    }
    return report;
  }

  /**
   * Deleted zones past their window: their versions in batches, then the zone's row, whose
   * content id goes to content_gc in the same transaction (migration 8): its RRset rows are
   * deleted by the background collection, a slice per short transaction.
   */
  async #purgeDeleted(before: string, report: PruneReport): Promise<number> {
    let purged = 0;
    try {
      for (;;) {
        const ids = await this.#ctx.store.repo.deletedZonesBefore(before, 50);
        for (const id of ids) {
          for (;;) {
            // Only while it is still deleted: a zone restored meanwhile keeps its history.
            const n = await this.#ctx.write(async (repo) =>
              (await repo.getDeletedZone(id, true)) ? repo.pruneVersions(id, INT32_MAX, BATCH) : 0,
            );
            report.versions += n;
            await yieldToLoop();
            if (n < BATCH) break;
          }
          if (await this.#ctx.write((repo) => repo.purgeDeletedZone(id, new Date().toISOString()))) purged++;
        }
        if (ids.length < 50) return purged;
      }
    } finally {
      if (purged > 0) this.#collect();
    }
  }

  /** Versions beyond the newest `keep` of every live zone, walking the zones in pages. */
  async #pruneByCount(keep: number): Promise<number> {
    let deleted = 0;
    let after = '';
    for (;;) {
      const page = await this.#ctx.store.repo.zonePage(after, BATCH);
      for (const z of page) {
        if (z.version <= keep) continue;
        const upTo = z.version - keep;
        const oldest = await this.#ctx.store.repo.oldestVersion(z.id);
        if (oldest === undefined || oldest > upTo) continue;
        for (;;) {
          const n = await this.#ctx.write((repo) => repo.pruneVersions(z.id, upTo, BATCH));
          deleted += n;
          await yieldToLoop();
          if (n < BATCH) break;
        }
      }
      if (page.length < BATCH) return deleted;
      after = page[page.length - 1].id;
      await yieldToLoop();
    }
  }

  /** Versions older than `before`, in time order; a live zone's current version stays. */
  async #pruneByAge(before: string): Promise<number> {
    let deleted = 0;
    let after: { at: string; zoneId: string; version: number } | undefined;
    for (;;) {
      const rows = await this.#ctx.store.repo.versionsOlderThan(before, after, BATCH);
      if (rows.length === 0) return deleted;
      const last = rows[rows.length - 1];
      after = { at: last.created_at, zoneId: last.zone_id, version: last.version };
      const upTo = new Map<string, number>();
      for (const v of rows) upTo.set(v.zone_id, Math.max(upTo.get(v.zone_id) ?? 0, v.version));
      const current = await this.#ctx.store.repo.currentVersions([...upTo.keys()]);
      for (const [zoneId, v] of upTo) {
        const cur = current.get(zoneId);
        // Deleted zones keep their history until they are purged.
        if (cur === undefined) continue;
        const limit = Math.min(v, cur - 1);
        if (limit < 1) continue;
        deleted += await this.#ctx.write((repo) => repo.pruneVersions(zoneId, limit, BATCH));
      }
      await yieldToLoop();
      if (rows.length < BATCH) return deleted;
    }
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
