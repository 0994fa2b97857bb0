/**
 * Accounts and users: created by administrators, listed and read within a token's reach.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { canSeeAccount, requireAccountWide, requireAdmin, requireWrite } from './access.js';
import { SYSTEM_ACCOUNT } from './catalog-zones.js';
import { checkLabel, INT32_MAX, invalid, now, type PlaneContext } from './context.js';
import { decodeCursor, isTimeCursor, makePage, pageLimit } from './paging.js';
import { toAccount } from './rows.js';
import {
  type Account,
  ControlError,
  type Page,
  type PageRequest,
  type Principal,
  type User,
} from './types.js';

function checkQuota(v: unknown, fallback: number, field: string): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > INT32_MAX)
    throw invalid(`${field} must be an integer from 0 to ${INT32_MAX}`, field);
  return v;
}

/** The account and user operations of the control plane. */
export class Accounts {
  readonly #ctx: PlaneContext;

  constructor(ctx: PlaneContext) {
    this.#ctx = ctx;
  }

  async createAccount(
    p: Principal,
    input: { name: string; maxZones?: number; maxRecords?: number },
  ): Promise<Account> {
    requireAdmin(p);
    requireWrite(p);
    const row = {
      id: randomUUID(),
      name: checkLabel(input?.name, 'name'),
      max_zones: checkQuota(input.maxZones, this.#ctx.limits.defaultMaxZones, 'maxZones'),
      max_records: checkQuota(input.maxRecords, this.#ctx.limits.defaultMaxRecords, 'maxRecords'),
      created_at: now(),
    };
    if (row.name === SYSTEM_ACCOUNT)
      throw new ControlError(
        'CTL_ERR_CONFLICT',
        `account name ${SYSTEM_ACCOUNT} is reserved for the platform`,
        'name',
      );
    await this.#ctx.write(async (repo) => {
      if (await repo.getAccountByName(row.name))
        throw new ControlError('CTL_ERR_CONFLICT', `an account named '${row.name}' exists`, 'name');
      await repo.insertAccount(row);
      await this.#ctx.audit(repo, p, 'account.create', row.id, row.id, {
        name: row.name,
        maxZones: row.max_zones,
        maxRecords: row.max_records,
      });
    });
    return toAccount(row);
  }

  async listAccounts(p: Principal, page?: { name?: string } & PageRequest): Promise<Page<Account>> {
    this.#ctx.checkOpen();
    const limit = pageLimit(page);
    const after = decodeCursor(page, isTimeCursor);
    if (!p.scope.admin && p.accountId === null) return { items: [] };
    const rows = await this.#ctx.store.repo.listAccounts({
      onlyId: p.scope.admin ? undefined : (p.accountId as string),
      name: typeof page?.name === 'string' ? page.name : undefined,
      // The platform's own account (the fleet catalog's, catalog-zones.ts) is not a tenant.
      notName: SYSTEM_ACCOUNT,
      after,
      limit: limit + 1,
    });
    return makePage(rows, limit, toAccount, (r) => ({ at: r.created_at, id: r.id }));
  }

  async getAccount(p: Principal, id: string): Promise<Account> {
    this.#ctx.checkOpen();
    const row =
      typeof id === 'string' && canSeeAccount(p, id) ? await this.#ctx.store.repo.getAccount(id) : undefined;
    if (!row) throw new ControlError('CTL_ERR_NOT_FOUND', `account ${id} not found`);
    return toAccount(row);
  }

  async createUser(p: Principal, input: { accountId: string; name: string }): Promise<User> {
    requireWrite(p);
    const accountId = input?.accountId;
    if (typeof accountId !== 'string' || !canSeeAccount(p, accountId))
      throw new ControlError('CTL_ERR_NOT_FOUND', `account ${accountId} not found`, 'accountId');
    requireAccountWide(p);
    const row = {
      id: randomUUID(),
      account_id: accountId,
      name: checkLabel(input.name, 'name'),
      created_at: now(),
    };
    await this.#ctx.write(async (repo) => {
      if (!(await repo.getAccount(accountId)))
        throw new ControlError('CTL_ERR_NOT_FOUND', `account ${accountId} not found`, 'accountId');
      await repo.insertUser(row);
      await this.#ctx.audit(repo, p, 'user.create', row.id, accountId, { name: row.name });
    });
    return { id: row.id, accountId, name: row.name, createdAt: row.created_at };
  }
}
