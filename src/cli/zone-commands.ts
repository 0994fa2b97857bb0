/**
 * `switchboard zone create|list|show|import|export|rm`: zones through the native API.
 * @module
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { RRsetData, ZoneDetail, ZoneInfo } from '../control/types.js';
import { ApiRequestError } from './api-client.js';
import {
  absoluteZone,
  addCommonOptions,
  type CommonOptions,
  ifMatchHeader,
  readInput,
  runClientAction,
  UsageError,
  zonePath,
} from './client-common.js';
import { formatJson, formatTable, formatTime } from './output.js';
import { registerDeletedZoneCommands } from './zone-deleted-commands.js';

/** RFC 4027 §2: the media type of master-file text. */
const ZONEFILE_TYPE = 'text/dns';

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** One table row per record: NAME TTL TYPE CONTENT. */
export function formatRRsetTable(rrsets: readonly RRsetData[]): string {
  const rows: string[][] = [];
  for (const r of rrsets)
    for (const rec of r.records)
      rows.push([r.name, String(r.ttl), r.type, rec.disabled ? `${rec.content} (disabled)` : rec.content]);
  return formatTable(['NAME', 'TTL', 'TYPE', 'CONTENT'], rows);
}

function formatZoneList(zones: readonly ZoneInfo[]): string {
  return formatTable(
    ['NAME', 'SERIAL', 'VERSION', 'RECORDS', 'ACCOUNT', 'UPDATED'],
    zones.map((z) => [
      z.name,
      String(z.serial),
      String(z.version),
      String(z.recordCount),
      z.accountId,
      formatTime(z.updatedAt),
    ]),
  );
}

function formatZoneHeader(z: ZoneInfo): string {
  return (
    `zone     ${z.name}\n` +
    `serial   ${z.serial}\n` +
    `version  ${z.version}\n` +
    `records  ${z.recordCount}\n` +
    `account  ${z.accountId}\n` +
    `updated  ${formatTime(z.updatedAt)}\n`
  );
}

/** Registers `zone` and its sub-commands. */
export function registerZoneCommands(program: Command): void {
  const zone = program.command('zone').description('manage zones through the API').exitOverride();
  registerDeletedZoneCommands(zone);

  addCommonOptions(
    zone
      .command('create')
      .description('create a zone (empty but for SOA and NS, or from a zone file)')
      .argument('<name>', 'zone name (the final dot may be omitted)')
      .option('--file <file>', "the zone's content as a master file ('-' for stdin)")
      .option('--nameserver <name>', 'apex NS record (repeatable)', collect)
      .option('--account <id>', 'administrators: the owning account'),
  ).action((name: string, opts: CommonOptions & { file?: string; nameserver?: string[]; account?: string }) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const body: Record<string, unknown> = { name: absoluteZone(name) };
      if (opts.file !== undefined) body.zonefile = readInput(opts.file);
      if (opts.nameserver) body.nameservers = opts.nameserver;
      if (opts.account !== undefined) body.accountId = opts.account;
      const res = await api.request<ZoneDetail>('POST', '/api/v1/zones', { json: body });
      if (json) out(formatJson(res.body));
      else
        out(`created zone ${res.body.name} (serial ${res.body.serial}, ${res.body.recordCount} records)\n`);
    }),
  );

  addCommonOptions(
    zone
      .command('list')
      .description('list the zones the key can see')
      .option('--account <id>', 'administrators: only this account'),
  ).action((opts: CommonOptions & { account?: string }) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const items = await api.listAll<ZoneInfo>('/api/v1/zones', { accountId: opts.account });
      out(json ? formatJson(items) : formatZoneList(items));
    }),
  );

  addCommonOptions(
    zone.command('show').description('show a zone and its records').argument('<zone>', 'zone name'),
  ).action((name: string, opts: CommonOptions) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const res = await api.request<ZoneDetail>('GET', zonePath(name));
      if (json) out(formatJson(res.body));
      else out(`${formatZoneHeader(res.body)}\n${formatRRsetTable(res.body.rrsets)}`);
    }),
  );

  addCommonOptions(
    zone
      .command('import')
      .description("replace a zone's content with a master file (one new version)")
      .argument('<file>', "zone file ('-' for stdin)")
      .requiredOption('--zone <zone>', 'the zone to replace')
      .option('--create', 'create the zone from the file when it does not exist')
      .option('--if-match <version>', 'only if the zone is still at this version')
      .option('--comment <text>', 'kept with the new version'),
  ).action(
    (
      file: string,
      opts: CommonOptions & { zone: string; create?: boolean; ifMatch?: string; comment?: string },
    ) =>
      runClientAction(opts, async ({ api, json, out }) => {
        const text = readInput(file);
        let info: ZoneInfo;
        try {
          const res = await api.request<ZoneInfo>('PUT', `${zonePath(opts.zone)}/zonefile`, {
            text,
            contentType: ZONEFILE_TYPE,
            query: { comment: opts.comment },
            headers: ifMatchHeader(opts.ifMatch),
          });
          info = res.body;
        } catch (err) {
          if (!(opts.create && err instanceof ApiRequestError && err.status === 404)) throw err;
          const res = await api.request<ZoneDetail>('POST', '/api/v1/zones', {
            json: { name: absoluteZone(opts.zone), zonefile: text },
          });
          info = res.body;
        }
        if (json) out(formatJson(info));
        else
          out(
            `imported ${info.name}: version ${info.version}, serial ${info.serial}, ${info.recordCount} records\n`,
          );
      }),
  );

  addCommonOptions(
    zone
      .command('export')
      .description('print a zone as a master file')
      .argument('<zone>', 'zone name')
      .option('--output <file>', 'write to this file instead of stdout'),
  ).action((name: string, opts: CommonOptions & { output?: string }) =>
    runClientAction(opts, async ({ api, out }) => {
      const res = await api.request<string>('GET', `${zonePath(name)}/zonefile`, {
        headers: { accept: `${ZONEFILE_TYPE}, text/plain` },
      });
      const text = typeof res.body === 'string' ? res.body : String(res.body ?? '');
      if (opts.output !== undefined) {
        try {
          writeFileSync(opts.output, text);
        } catch (err) {
          throw new UsageError(`cannot write ${opts.output}: ${(err as Error).message}`);
        }
      } else out(text);
    }),
  );

  addCommonOptions(
    zone
      .command('rm')
      .description('delete a zone (it stops being served at once)')
      .argument('<zone>', 'zone name')
      .option('--if-match <version>', 'only if the zone is still at this version'),
  ).action((name: string, opts: CommonOptions & { ifMatch?: string }) =>
    runClientAction(opts, async ({ api, json, out }) => {
      await api.request('DELETE', zonePath(name), { headers: ifMatchHeader(opts.ifMatch) });
      if (json) out(formatJson({ deleted: absoluteZone(name) }));
      else out(`deleted zone ${absoluteZone(name)}\n`);
    }),
  );
}
