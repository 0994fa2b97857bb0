/**
 * `switchboard zone deleted` and `zone restore`: deleted zones stay restorable, with their
 * history, for the retention time (default 30 days; docs/CONTROL-PLANE.md, "Deleted zones").
 * @module
 */
import type { Command } from 'commander';
import type { DeletedZone, ZoneInfo } from '../control/types.js';
import { accountIdOf } from './account-commands.js';
import { absoluteZone, addCommonOptions, type CommonOptions, runClientAction } from './client-common.js';
import { formatJson, formatTable, formatTime } from './output.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A zone name or a deleted zone's id, as the API takes it. */
function deletedRef(ref: string): string {
  return encodeURIComponent(UUID.test(ref) ? ref : absoluteZone(ref));
}

function formatDeletedList(zones: readonly DeletedZone[]): string {
  return formatTable(
    ['NAME', 'ID', 'VERSION', 'RECORDS', 'DELETED', 'RESTORABLE UNTIL'],
    zones.map((z) => [
      z.name,
      z.id,
      String(z.version),
      String(z.recordCount),
      formatTime(z.deletedAt),
      z.purgeAfter === null ? 'always' : formatTime(z.purgeAfter),
    ]),
  );
}

/** Registers `zone deleted` and `zone restore` under the `zone` command. */
export function registerDeletedZoneCommands(zone: Command): void {
  addCommonOptions(
    zone
      .command('deleted')
      .description('list deleted zones that can still be restored (newest first)')
      .option('--name <zone>', 'only those of this name')
      .option('--account <name>', 'administrators: only this account (name or id)'),
  ).action((opts: CommonOptions & { name?: string; account?: string }) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const items = await api.listAll<DeletedZone>('/api/v1/deleted-zones', {
        name: opts.name === undefined ? undefined : absoluteZone(opts.name),
        accountId: await accountIdOf(api, opts.account),
      });
      out(json ? formatJson(items) : formatDeletedList(items));
    }),
  );

  addCommonOptions(
    zone
      .command('restore')
      .description('bring a deleted zone back with its history (as a new version with the next serial)')
      .argument('<zone>', 'zone name (the most recently deleted of that name) or the id `zone deleted` shows')
      .option('--comment <text>', 'kept with the new version'),
  ).action((ref: string, opts: CommonOptions & { comment?: string }) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const res = await api.request<ZoneInfo>('POST', `/api/v1/deleted-zones/${deletedRef(ref)}/restore`, {
        json: opts.comment === undefined ? {} : { comment: opts.comment },
      });
      if (json) out(formatJson(res.body));
      else
        out(
          `restored zone ${res.body.name} (version ${res.body.version}, serial ${res.body.serial}, ${res.body.recordCount} records)\n`,
        );
    }),
  );
}
