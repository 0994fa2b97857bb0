/**
 * Tokens and authentication: a secret to a Principal, tokens created, listed and revoked,
 * and the administrator token of the first start.
 * @module
 */
import { randomUUID } from 'node:crypto';
import {
  hashSecret,
  newSecret,
  PREFIX_LENGTH,
  requireAccountWide,
  requireWrite,
  SYSTEM_PRINCIPAL,
} from './access.js';
import { checkLabel, invalid, listedAccount, now, type PlaneContext } from './context.js';
import { decodeCursor, isTimeCursor, makePage, pageLimit } from './paging.js';
import { parseZoneName } from './records.js';
import { scopeOf, toTokenInfo } from './rows.js';
import {
  ControlError,
  type NewToken,
  type Page,
  type PageRequest,
  type Principal,
  type TokenInfo,
  type TokenScope,
} from './types.js';

/** Write the last-used time of a token at most this often (ms): not a write per request. */
const LAST_USED_EVERY_MS = 60_000;

/** The token operations of the control plane. */
export class Tokens {
  readonly #ctx: PlaneContext;

  constructor(ctx: PlaneContext) {
    this.#ctx = ctx;
  }

  async authenticate(secret: string, remote?: string): Promise<Principal | null> {
    this.#ctx.checkOpen();
    if (typeof secret !== 'string' || secret.length === 0 || secret.length > 1024) return null;
    const row = await this.#ctx.store.repo.getTokenByHash(hashSecret(secret));
    if (!row || row.revoked_at !== null) return null;
    const t = Date.now();
    if (row.last_used_at === null || t - Date.parse(row.last_used_at) > LAST_USED_EVERY_MS) {
      // Bookkeeping only: not awaited (a request does not queue behind another tenant's write
      // transaction for it), and authentication does not fail for it.
      this.#ctx.store
        .transaction((repo) => repo.updateToken(row.id, { last_used_at: new Date(t).toISOString() }))
        .catch(() => {});
    }
    const p: Principal = { tokenId: row.id, accountId: row.account_id, scope: scopeOf(row) };
    if (remote !== undefined) p.remote = remote;
    return p;
  }

  async createToken(
    p: Principal,
    input: { name: string; accountId?: string | null; userId?: string; scope: TokenScope },
  ): Promise<NewToken> {
    requireWrite(p);
    requireAccountWide(p);
    const name = checkLabel(input?.name, 'name');
    const scope = this.#checkScope(input?.scope);
    if (scope.admin && !p.scope.admin)
      throw new ControlError('CTL_ERR_FORBIDDEN', 'only an administrator can create administrator tokens');
    let accountId: string | null;
    if (p.scope.admin) {
      accountId = input.accountId !== undefined ? input.accountId : scope.admin ? null : p.accountId;
      if (accountId === null && !scope.admin)
        throw invalid('a token that is not an administrator token belongs to an account', 'accountId');
    } else {
      accountId = input.accountId ?? p.accountId;
      if (accountId === null || accountId !== p.accountId)
        throw new ControlError('CTL_ERR_NOT_FOUND', `account ${input.accountId} not found`, 'accountId');
    }
    const secret = newSecret();
    const row = {
      id: randomUUID(),
      account_id: accountId,
      user_id: input.userId ?? null,
      name,
      secret_hash: hashSecret(secret),
      prefix: secret.slice(0, PREFIX_LENGTH),
      admin: scope.admin ? 1 : 0,
      access: scope.access,
      zones: scope.zones !== undefined ? JSON.stringify(scope.zones) : null,
      created_at: now(),
      last_used_at: null,
      revoked_at: null,
    };
    await this.#ctx.write(async (repo) => {
      if (accountId !== null && !(await repo.getAccount(accountId)))
        throw new ControlError('CTL_ERR_NOT_FOUND', `account ${accountId} not found`, 'accountId');
      if (input.userId !== undefined) {
        const user = await repo.getUser(input.userId);
        if (!user || user.account_id !== accountId)
          throw new ControlError('CTL_ERR_NOT_FOUND', `user ${input.userId} not found`, 'userId');
      }
      await repo.insertToken(row);
      await this.#ctx.audit(repo, p, 'token.create', row.id, accountId, { name, scope, prefix: row.prefix });
    });
    return { ...toTokenInfo(row), secret };
  }

  #checkScope(v: unknown): TokenScope {
    const s = v as { admin?: unknown; access?: unknown; zones?: unknown } | null;
    if (s === null || typeof s !== 'object') throw invalid('scope is required', 'scope');
    if (s.admin !== undefined && typeof s.admin !== 'boolean')
      throw invalid('scope.admin must be true or false', 'scope.admin');
    if (s.access !== 'read' && s.access !== 'write')
      throw invalid("scope.access must be 'read' or 'write'", 'scope.access');
    const scope: TokenScope = { admin: s.admin === true, access: s.access };
    if (s.zones !== undefined && s.zones !== null) {
      if (scope.admin) throw invalid('an administrator token cannot be limited to zones', 'scope.zones');
      if (!Array.isArray(s.zones)) throw invalid('scope.zones must be a list of zone names', 'scope.zones');
      scope.zones = [...new Set(s.zones.map((z, i) => parseZoneName(z, `scope.zones[${i}]`).toString()))];
    }
    return scope;
  }

  async listTokens(p: Principal, input?: { accountId?: string } & PageRequest): Promise<Page<TokenInfo>> {
    this.#ctx.checkOpen();
    requireAccountWide(p);
    const limit = pageLimit(input);
    const after = decodeCursor(input, isTimeCursor);
    const accountId = listedAccount(p, input?.accountId);
    if (accountId === null) return { items: [] };
    const rows = await this.#ctx.store.repo.listTokens({ accountId, after, limit: limit + 1 });
    return makePage(rows, limit, toTokenInfo, (r) => ({ at: r.created_at, id: r.id }));
  }

  async revokeToken(p: Principal, id: string): Promise<void> {
    requireWrite(p);
    requireAccountWide(p);
    await this.#ctx.write(async (repo) => {
      const row = typeof id === 'string' ? await repo.getToken(id) : undefined;
      if (!row || (!p.scope.admin && (row.account_id === null || row.account_id !== p.accountId)))
        throw new ControlError('CTL_ERR_NOT_FOUND', `token ${id} not found`);
      if (!p.scope.admin && row.admin === 1)
        throw new ControlError('CTL_ERR_FORBIDDEN', 'only an administrator can revoke administrator tokens');
      if (row.revoked_at !== null) return;
      await repo.updateToken(row.id, { revoked_at: now() });
      await this.#ctx.audit(repo, p, 'token.revoke', row.id, row.account_id, { name: row.name });
    });
  }

  async bootstrapAdmin(secret?: string): Promise<{ created: boolean; tokenId: string; secret?: string }> {
    const p = this.systemPrincipal();
    if (secret !== undefined) {
      if (typeof secret !== 'string' || secret.length < 8)
        throw invalid('the administrator key must be at least 8 characters', 'secret');
      const hash = hashSecret(secret);
      return this.#ctx.write(async (repo) => {
        const row = await repo.getTokenByHash(hash);
        if (row && row.admin === 1 && row.revoked_at === null && row.access === 'write')
          return { created: false, tokenId: row.id };
        if (row) {
          // The operator named this exact key as the administrator key: make it one again.
          await repo.updateToken(row.id, {
            admin: 1,
            access: 'write',
            zones: null,
            revoked_at: null,
            account_id: null,
          });
          await this.#ctx.audit(repo, p, 'token.bootstrap', row.id, null, { restored: true });
          return { created: false, tokenId: row.id };
        }
        const id = randomUUID();
        await repo.insertToken({
          id,
          account_id: null,
          user_id: null,
          name: 'administrator (SWITCHBOARD_API_KEY)',
          secret_hash: hash,
          // An operator's own key may be short: show no more than a quarter of it.
          prefix: secret.slice(0, Math.min(PREFIX_LENGTH, Math.floor(secret.length / 4))),
          admin: 1,
          access: 'write',
          zones: null,
          created_at: now(),
          last_used_at: null,
          revoked_at: null,
        });
        await this.#ctx.audit(repo, p, 'token.bootstrap', id, null, { from: 'SWITCHBOARD_API_KEY' });
        return { created: true, tokenId: id };
      });
    }
    return this.#ctx.write(async (repo) => {
      const existing = await repo.findActiveAdminToken();
      if (existing) return { created: false, tokenId: existing.id };
      const fresh = newSecret();
      const id = randomUUID();
      await repo.insertToken({
        id,
        account_id: null,
        user_id: null,
        name: 'administrator (first start)',
        secret_hash: hashSecret(fresh),
        prefix: fresh.slice(0, PREFIX_LENGTH),
        admin: 1,
        access: 'write',
        zones: null,
        created_at: now(),
        last_used_at: null,
        revoked_at: null,
      });
      await this.#ctx.audit(repo, p, 'token.bootstrap', id, null, { from: 'first start' });
      return { created: true, tokenId: id, secret: fresh };
    });
  }

  systemPrincipal(): Principal {
    return { tokenId: SYSTEM_PRINCIPAL.tokenId, accountId: null, scope: { admin: true, access: 'write' } };
  }
}
