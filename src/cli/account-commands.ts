/**
 * `switchboard account create|list|show`: accounts (tenants) by name, and the helpers every
 * command uses to take an account by name (`--account NAME`) and to show names, not ids.
 * @module
 */
import type { Command } from 'commander';
import type { Account, ZoneInfo } from '../control/types.js';
import { type ApiClient, ApiRequestError } from './api-client.js';
import { addCommonOptions, type CommonOptions, parseWholeNumber, runClientAction } from './client-common.js';
import { formatJson, formatTable, formatTime } from './output.js';

/** An account id as the API makes them (a UUID). */
const ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The account an `--account` value names: its name, or its id. A name is looked up first
 * (`GET /api/v1/accounts?name=`); a value shaped like an id that names no account is taken
 * as an id.
 * @throws ApiRequestError 404 when no account has that name or id
 */
export async function findAccount(api: ApiClient, value: string): Promise<Account> {
  const byName = await api.request<{ items: Account[] }>('GET', '/api/v1/accounts', {
    query: { name: value },
  });
  const hit = byName.body.items.find((a) => a.name === value);
  if (hit) return hit;
  if (ID_RE.test(value)) {
    try {
      return (await api.request<Account>('GET', `/api/v1/accounts/${encodeURIComponent(value)}`)).body;
    } catch (err) {
      if (!(err instanceof ApiRequestError && err.status === 404)) throw err;
    }
  }
  throw new ApiRequestError(404, 'CLI_ERR_NOT_FOUND', `no account named '${value}'`, 'account');
}

/** The id of the account an `--account` value names (undefined stays undefined). */
export async function accountIdOf(api: ApiClient, value: string | undefined): Promise<string | undefined> {
  return value === undefined ? undefined : (await findAccount(api, value)).id;
}

/**
 * The names of these account ids, for tables. An id the key may not read stays as it is.
 * Few ids are read one by one; many, by listing every account.
 */
export async function accountNames(
  api: ApiClient,
  ids: Iterable<string | null | undefined>,
): Promise<Map<string, string>> {
  const wanted = new Set<string>();
  for (const id of ids) if (id) wanted.add(id);
  const names = new Map<string, string>();
  if (wanted.size === 0) return names;
  try {
    if (wanted.size > 20) {
      for (const a of await api.listAll<Account>('/api/v1/accounts')) names.set(a.id, a.name);
    } else {
      await Promise.all(
        [...wanted].map(async (id) => {
          try {
            const a = (await api.request<Account>('GET', `/api/v1/accounts/${encodeURIComponent(id)}`)).body;
            names.set(a.id, a.name);
          } catch (err) {
            if (!(err instanceof ApiRequestError) || err.status === 0) throw err;
          }
        }),
      );
    }
  } catch (err) {
    // A key that may not list accounts still gets its table, with ids.
    if (!(err instanceof ApiRequestError) || err.status === 0) throw err;
  }
  return names;
}

/** The name of an account id for a table (`-` for none). */
export function nameOf(names: Map<string, string>, id: string | null | undefined): string {
  if (!id) return '-';
  return names.get(id) ?? id;
}

function formatAccounts(accounts: readonly Account[]): string {
  return formatTable(
    ['NAME', 'MAX ZONES', 'MAX RECORDS', 'CREATED', 'ID'],
    accounts.map((a) => [a.name, String(a.maxZones), String(a.maxRecords), formatTime(a.createdAt), a.id]),
  );
}

/** Registers `account` and its sub-commands. */
export function registerAccountCommands(program: Command): void {
  const account = program
    .command('account')
    .description('manage accounts (tenants) through the API')
    .exitOverride();

  addCommonOptions(
    account
      .command('create')
      .description('create an account (administrators)')
      .argument('<name>', 'the account name (unique)')
      .option('--max-zones <n>', 'zone quota (default: the server default)')
      .option('--max-records <n>', 'record quota over all its zones (default: the server default)'),
  ).action((name: string, opts: CommonOptions & { maxZones?: string; maxRecords?: string }) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const body: Record<string, unknown> = { name };
      if (opts.maxZones !== undefined) body.maxZones = parseWholeNumber('--max-zones', opts.maxZones);
      if (opts.maxRecords !== undefined) body.maxRecords = parseWholeNumber('--max-records', opts.maxRecords);
      const a = (await api.request<Account>('POST', '/api/v1/accounts', { json: body })).body;
      if (json) out(formatJson(a));
      else
        out(`created account ${a.name} (${a.maxZones} zones, ${a.maxRecords} records at most; id ${a.id})\n`);
    }),
  );

  addCommonOptions(account.command('list').description('list the accounts the key can see')).action(
    (opts: CommonOptions) =>
      runClientAction(opts, async ({ api, json, out }) => {
        const items = await api.listAll<Account>('/api/v1/accounts');
        out(json ? formatJson(items) : formatAccounts(items));
      }),
  );

  addCommonOptions(
    account
      .command('show')
      .description('show an account: its quotas and how much of them its zones use')
      .argument('<account>', 'account name (or id)'),
  ).action((value: string, opts: CommonOptions) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const a = await findAccount(api, value);
      const zones = await api.listAll<ZoneInfo>('/api/v1/zones', { accountId: a.id });
      const records = zones.reduce((n, z) => n + z.recordCount, 0);
      if (json) out(formatJson({ ...a, zones: zones.length, records }));
      else
        out(
          `account  ${a.name}\n` +
            `id       ${a.id}\n` +
            `zones    ${zones.length} of ${a.maxZones}\n` +
            `records  ${records} of ${a.maxRecords}\n` +
            `created  ${formatTime(a.createdAt)}\n`,
        );
    }),
  );
}
