/**
 * `switchboard token create|list|revoke`: API tokens through the native API. A new token's
 * secret is printed once; lists show only its prefix.
 * @module
 */
import type { Command } from 'commander';
import type { NewToken, TokenInfo, TokenScope, ZoneInfo } from '../control/types.js';
import { accountIdOf, accountNames, nameOf } from './account-commands.js';
import { type ApiClient, ApiRequestError } from './api-client.js';
import {
  absoluteZone,
  addCommonOptions,
  type CommonOptions,
  runClientAction,
  UsageError,
  zonePath,
} from './client-common.js';
import { formatJson, formatTable, formatTime } from './output.js';

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `admin`, `write`, `read`, with `on a.example., b.example.` for zone-scoped tokens. */
export function formatScope(scope: TokenScope): string {
  const base = scope.admin ? 'admin' : scope.access;
  return scope.zones && scope.zones.length > 0 ? `${base} on ${scope.zones.join(', ')}` : base;
}

function formatTokenList(tokens: readonly TokenInfo[], names: Map<string, string>): string {
  return formatTable(
    ['ID', 'NAME', 'PREFIX', 'SCOPE', 'ACCOUNT', 'CREATED', 'LAST USED', 'REVOKED'],
    tokens.map((t) => [
      t.id,
      t.name,
      t.prefix,
      formatScope(t.scope),
      nameOf(names, t.accountId),
      formatTime(t.createdAt),
      formatTime(t.lastUsedAt),
      formatTime(t.revokedAt),
    ]),
  );
}

/** Registers `token` and its sub-commands. */
export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('manage API tokens through the API').exitOverride();

  addCommonOptions(
    token
      .command('create')
      .description('create an API token; its secret is printed once')
      .argument('<name>', 'a name to recognise the token by')
      .option('--access <access>', "'read' or 'write' (default read)", 'read')
      .option('--zone <zone>', 'restrict the token to this zone (repeatable)', collect)
      .option('--admin', 'an administrator token (administrators only)')
      .option(
        '--account <name>',
        "administrators: the token's account, name or id (default: the --zone's account)",
      ),
  ).action(
    (
      name: string,
      opts: CommonOptions & { access: string; zone?: string[]; admin?: boolean; account?: string },
    ) =>
      runClientAction(opts, async ({ api, json, out }) => {
        if (opts.access !== 'read' && opts.access !== 'write')
          throw new UsageError(`--access must be 'read' or 'write', got '${opts.access}'`);
        const scope: TokenScope = { admin: opts.admin === true, access: opts.access };
        if (opts.zone && opts.zone.length > 0) scope.zones = opts.zone.map(absoluteZone);
        const body: Record<string, unknown> = { name, scope };
        if (opts.account !== undefined) body.accountId = await accountIdOf(api, opts.account);
        else if (opts.admin) body.accountId = null;
        else if (scope.zones) {
          // A token for listed zones belongs to their account (an administrator has none).
          body.accountId = (await api.request<ZoneInfo>('GET', zonePath(scope.zones[0]))).body.accountId;
        }
        const res = await api.request<NewToken>('POST', '/api/v1/tokens', { json: body });
        const t = res.body;
        if (json) out(formatJson(t));
        else
          out(
            `created token ${t.id} (${t.name}, ${formatScope(t.scope)}); its secret is shown this once:\n\n  ${t.secret}\n\n`,
          );
      }),
  );

  addCommonOptions(
    token
      .command('list')
      .description('list tokens (never their secrets)')
      .option('--account <name>', 'administrators: only this account (name or id)'),
  ).action((opts: CommonOptions & { account?: string }) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const items = await api.listAll<TokenInfo>('/api/v1/tokens', {
        accountId: await accountIdOf(api, opts.account),
      });
      if (json) out(formatJson(items));
      else
        out(
          formatTokenList(
            items,
            await accountNames(
              api,
              items.map((t) => t.accountId),
            ),
          ),
        );
    }),
  );

  addCommonOptions(
    token
      .command('revoke')
      .description('revoke a token (it stops working at once)')
      .argument('<token>', 'token id, or its name when one token that is not revoked has it'),
  ).action((value: string, opts: CommonOptions) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const id = await tokenIdOf(api, value);
      await api.request('DELETE', `/api/v1/tokens/${encodeURIComponent(id)}`);
      out(json ? formatJson({ revoked: id }) : `revoked token ${id === value ? id : `${value} (${id})`}\n`);
    }),
  );
}

/** A token id as the API makes them (a UUID). */
const TOKEN_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The id of the token a `revoke` argument names: an id as is; otherwise the one token of that
 * name the key can list that is not revoked (several: a usage error listing their ids).
 */
async function tokenIdOf(api: ApiClient, value: string): Promise<string> {
  if (TOKEN_ID_RE.test(value)) return value;
  const named = (await api.listAll<TokenInfo>('/api/v1/tokens')).filter(
    (t) => t.name === value && !t.revokedAt,
  );
  if (named.length === 1) return named[0].id;
  if (named.length === 0)
    throw new ApiRequestError(404, 'CLI_ERR_NOT_FOUND', `no active token named '${value}'`);
  throw new UsageError(
    `${named.length} active tokens are named '${value}': give the id (${named.map((t) => t.id).join(', ')})`,
  );
}
