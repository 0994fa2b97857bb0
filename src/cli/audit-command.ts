/**
 * `switchboard audit`: the audit log (who changed what, when, from where), newest first,
 * filtered by account, zone, action and time on the server.
 * @module
 */
import type { Command } from 'commander';
import type { AuditEntry, TokenInfo } from '../control/types.js';
import { accountIdOf, accountNames, nameOf } from './account-commands.js';
import type { ApiClient } from './api-client.js';
import { ApiRequestError } from './api-client.js';
import {
  absoluteZone,
  addCommonOptions,
  type CommonOptions,
  parseWholeNumber,
  runClientAction,
  UsageError,
} from './client-common.js';
import { formatJson, formatTable, formatTime } from './output.js';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/**
 * The instant a `--since` value names: an ISO 8601 date or time (`2026-12-01`,
 * `2026-12-01T10:00Z`), or a duration back from now (`90s`, `30m`, `2h`, `7d`, `1w`).
 * @throws UsageError
 */
export function parseSince(value: string, now = Date.now()): string {
  const v = value.trim();
  const d = /^([0-9]+)([smhdw])$/.exec(v);
  if (d) return new Date(now - Number(d[1]) * (UNITS[d[2]] ?? 0) * 1000).toISOString();
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v)) {
    const t = Date.parse(v.replace(' ', 'T'));
    if (!Number.isNaN(t)) return new Date(t).toISOString();
  }
  throw new UsageError(
    `--since must be a date or time (2026-12-01, 2026-12-01T10:00Z) or a duration back from now (30m, 2h, 7d), got '${value}'`,
  );
}

/** Token names of these token ids (ids the key may not read stay ids). */
async function tokenNames(api: ApiClient, entries: readonly AuditEntry[]): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  if (!entries.some((e) => e.tokenId)) return names;
  try {
    for (const t of await api.listAll<TokenInfo>('/api/v1/tokens')) names.set(t.id, t.name);
  } catch (err) {
    if (!(err instanceof ApiRequestError) || err.status === 0) throw err;
  }
  return names;
}

function detailText(detail: unknown): string {
  if (detail === null || detail === undefined) return '';
  if (typeof detail !== 'object') return String(detail);
  return Object.entries(detail as Record<string, unknown>)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
}

/** Registers `audit`. */
export function registerAuditCommand(program: Command): void {
  addCommonOptions(
    program
      .command('audit')
      .description('show the audit log, newest first')
      .option('--zone <zone>', 'only entries about this zone')
      .option('--action <action>', "only this action ('zone.change'), or a prefix ending in '.' ('zone.')")
      .option('--since <when>', 'only entries from then on: a date or time, or a duration back (30m, 2h, 7d)')
      .option('--account <name>', 'administrators: only this account (name or id)')
      .option('--limit <n>', 'at most this many entries (default 50)')
      .option('--all', 'every matching entry'),
  ).action(
    (
      opts: CommonOptions & {
        zone?: string;
        action?: string;
        since?: string;
        account?: string;
        limit?: string;
        all?: boolean;
      },
    ) =>
      runClientAction(opts, async ({ api, json, out }) => {
        const query = {
          zone: opts.zone === undefined ? undefined : absoluteZone(opts.zone),
          action: opts.action,
          since: opts.since === undefined ? undefined : parseSince(opts.since),
          accountId: await accountIdOf(api, opts.account),
        };
        let items: AuditEntry[];
        if (opts.all) items = await api.listAll<AuditEntry>('/api/v1/audit', query);
        else {
          const limit = opts.limit === undefined ? 50 : parseWholeNumber('--limit', opts.limit, 1000);
          items = (
            await api.request<{ items: AuditEntry[] }>('GET', '/api/v1/audit', { query: { ...query, limit } })
          ).body.items;
        }
        if (json) {
          out(formatJson(items));
          return;
        }
        const [accounts, tokens] = await Promise.all([
          accountNames(api, [
            ...items.map((e) => e.accountId),
            ...items.filter((e) => e.action.startsWith('account.')).map((e) => e.target),
          ]),
          tokenNames(api, items),
        ]);
        out(
          formatTable(
            ['TIME', 'ACCOUNT', 'ACTION', 'TARGET', 'BY', 'FROM', 'DETAIL'],
            items.map((e) => [
              formatTime(e.at),
              nameOf(accounts, e.accountId),
              e.action,
              e.action.startsWith('account.') ? nameOf(accounts, e.target) : e.target,
              e.tokenId ? (tokens.get(e.tokenId) ?? e.tokenId) : '-',
              e.remote ?? '',
              detailText(e.detail),
            ]),
          ),
        );
      }),
  );
}
