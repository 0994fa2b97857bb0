/**
 * The account quotas (docs/API.md, "Limits"), checked in one place for every path that adds
 * zones or records: zone creation, content changes (RRsets, import, rollback) and restoring a
 * deleted zone. What counts is what is stored: every record of every zone of the account,
 * disabled ones included (they are kept, exported and enabled again at will), from the
 * counters that triggers keep on the account row (migration 4). Administrators are exempt.
 * @module
 */
import type { Repo } from '../store/index.js';
import { ControlError, type Principal } from './types.js';

/** What a write adds to an account. */
export interface QuotaDelta {
  /** Zones added (1 for a new or restored zone). */
  zones?: number;
  /** Records added (negative or 0: nothing to check). */
  records: number;
}

/**
 * Refuses (CTL_ERR_QUOTA) a write that would take the account over its zone or record
 * quota. In a write transaction the account row is locked (PostgreSQL), which serialises the
 * quota checks of concurrent writes; outside one (`lock` false) it is a cheap early answer
 * that the writing transaction repeats. An absent account passes: callers check existence.
 */
export async function checkQuota(
  repo: Repo,
  p: Principal,
  accountId: string,
  add: QuotaDelta,
  opts: { zoneField?: string; recordField?: string; lock?: boolean } = {},
): Promise<void> {
  const zones = add.zones ?? 0;
  if (p.scope.admin || (zones <= 0 && add.records <= 0)) return;
  const account = await repo.getAccount(accountId, opts.lock ?? true);
  if (!account) return;
  if (zones > 0 && Number(account.zone_count) + zones > Number(account.max_zones))
    throw new ControlError(
      'CTL_ERR_QUOTA',
      `the account's zone quota (${account.max_zones}) is reached`,
      opts.zoneField,
    );
  if (add.records <= 0) return;
  const total = Number(account.record_count) + add.records;
  if (total > Number(account.max_records))
    throw new ControlError(
      'CTL_ERR_QUOTA',
      `the account's record quota (${account.max_records}) would be exceeded (${total} records)`,
      opts.recordField,
    );
}
