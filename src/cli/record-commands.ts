/**
 * `switchboard record set|rm|list`: RRsets through the native API. `set` replaces the RRset
 * with exactly the values given; `rm` removes the RRset, or only the values given.
 * @module
 */
import type { Command } from 'commander';
import type { RRsetData, ZoneChangeResult } from '../control/types.js';
import { ApiRequestError } from './api-client.js';
import {
  addCommonOptions,
  type CommonOptions,
  ifMatchHeader,
  parseWholeNumber,
  qualifyName,
  runClientAction,
  UsageError,
  zonePath,
} from './client-common.js';
import { formatJson } from './output.js';
import { formatRRsetTable } from './zone-commands.js';

/** The TTL of a new RRset when `--ttl` is not given. */
export const DEFAULT_RECORD_TTL = 3600;

function checkType(type: string): string {
  const t = type.trim().toUpperCase();
  // RFC 3597 §5: TYPEnnn is the generic form of any type.
  if (!/^(?:[A-Z][A-Z0-9-]*|TYPE[0-9]+)$/.test(t)) throw new UsageError(`'${type}' is not a record type`);
  return t;
}

interface ChangeOpts extends CommonOptions {
  zone: string;
  ifMatch?: string;
  comment?: string;
  dryRun?: boolean;
}

async function patch(
  api: import('./api-client.js').ApiClient,
  opts: ChangeOpts,
  change: Record<string, unknown>,
): Promise<ZoneChangeResult> {
  const body: Record<string, unknown> = { changes: [change] };
  if (opts.comment !== undefined) body.comment = opts.comment;
  const res = await api.request<ZoneChangeResult>('PATCH', `${zonePath(opts.zone)}/rrsets`, {
    json: body,
    query: { dryRun: opts.dryRun ? 'true' : undefined },
    headers: ifMatchHeader(opts.ifMatch),
  });
  return res.body;
}

function changeOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--zone <zone>', 'the zone the record belongs to')
    .option('--if-match <version>', 'only if the zone is still at this version')
    .option('--comment <text>', 'kept with the new version')
    .option('--dry-run', 'print what the change would remove and add, without applying it');
}

/**
 * The answer of a dry run: what would go (`-`) and come (`+`), as master-file lines. The
 * version is the one the plan was made against: `--if-match` it to apply exactly this.
 */
export function formatDryRun(info: ZoneChangeResult): string {
  const head = `dry run, nothing applied: ${info.name} is at version ${info.version}, serial ${info.serial}`;
  if (!info.changed) return `${head}; the change would change nothing\n`;
  const lines = [
    ...(info.removedRecords ?? []).map((l) => `- ${l}`),
    ...(info.addedRecords ?? []).map((l) => `+ ${l}`),
  ];
  return `${head}; the change would remove ${info.removed} and add ${info.added} record lines (apply it with --if-match ${info.version}):\n${lines.join('\n')}\n`;
}

/** Warnings of a change, for stderr. */
function printWarnings(info: ZoneChangeResult): void {
  for (const w of info.warnings ?? []) process.stderr.write(`switchboard: warning: ${w}\n`);
}

/** Registers `record` and its sub-commands. */
export function registerRecordCommands(program: Command): void {
  const record = program
    .command('record')
    .description('manage records (RRsets) through the API')
    .exitOverride();

  addCommonOptions(
    changeOptions(
      record
        .command('set')
        .description('set the RRset NAME TYPE to exactly these values (creating or replacing it)')
        .argument('<name>', "owner: relative to the zone ('www', '@') or absolute ('www.example.com.')")
        .argument('<type>', 'record type (A, AAAA, MX, TXT, …)')
        .argument(
          '<values...>',
          "record data in master-file form, one argument per record ('10 mail', '\"v=spf1 -all\"')",
        )
        .option('--ttl <seconds>', `TTL (default: the RRset's current TTL, else ${DEFAULT_RECORD_TTL})`),
    ),
  ).action((name: string, type: string, values: string[], opts: ChangeOpts & { ttl?: string }) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const owner = qualifyName(name, opts.zone);
      const rtype = checkType(type);
      let ttl: number;
      // The server's TTL limit is the one rule (its 422 names it): no second bound here.
      if (opts.ttl !== undefined) ttl = parseWholeNumber('--ttl', opts.ttl, Number.MAX_SAFE_INTEGER);
      else {
        const current = await api.request<{ items: RRsetData[] }>('GET', `${zonePath(opts.zone)}/rrsets`, {
          query: { name: owner, type: rtype },
        });
        ttl = current.body.items[0]?.ttl ?? DEFAULT_RECORD_TTL;
      }
      const info = await patch(api, opts, {
        op: 'replace',
        name: owner,
        type: rtype,
        ttl,
        records: values.map((content) => ({ content })),
      });
      printWarnings(info);
      if (json) out(formatJson(info));
      else if (info.dryRun) out(formatDryRun(info));
      else if (!info.changed)
        out(
          `no change: ${owner} ${rtype} already holds exactly these records; ${info.name} stays at serial ${info.serial}\n`,
        );
      else
        out(
          `set ${owner} ${ttl} ${rtype} (${values.length} record${values.length === 1 ? '' : 's'}); ${info.name} is at serial ${info.serial}\n`,
        );
    }),
  );

  addCommonOptions(
    changeOptions(
      record
        .command('rm')
        .description('remove the RRset NAME TYPE, or only the values given')
        .argument('<name>', "owner: relative to the zone ('www', '@') or absolute")
        .argument('<type>', 'record type')
        .argument('[values...]', 'remove only these records (default: the whole RRset)'),
    ),
  ).action((name: string, type: string, values: string[], opts: ChangeOpts) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const owner = qualifyName(name, opts.zone);
      const rtype = checkType(type);
      const change =
        values.length === 0
          ? { op: 'delete', name: owner, type: rtype }
          : { op: 'remove', name: owner, type: rtype, records: values.map((content) => ({ content })) };
      const info = await patch(api, opts, change);
      printWarnings(info);
      if (json) out(formatJson(info));
      else if (info.dryRun && info.changed) out(formatDryRun(info));
      if (!info.changed)
        // Nothing matched: say so and fail (exit 1), so a script notices the typo.
        throw new ApiRequestError(
          0,
          'CLI_ERR_NO_MATCH',
          `nothing matched: ${values.length === 0 ? `there is no RRset ${owner} ${rtype}` : `${owner} ${rtype} has no record ${values.map((v) => `'${v}'`).join(', ')}`}; nothing was removed (${info.name} stays at serial ${info.serial})`,
        );
      if (!json && !info.dryRun) {
        // A removal adds only the new SOA line (and removes the old one with the records).
        const n = Math.max(0, info.removed - info.added);
        const what =
          values.length === 0
            ? `removed ${owner} ${rtype} (${n} record${n === 1 ? '' : 's'})`
            : `removed ${n} record${n === 1 ? '' : 's'} from ${owner} ${rtype}${n < values.length ? ` (${values.length - n} of the values given matched nothing)` : ''}`;
        out(`${what}; ${info.name} is at serial ${info.serial}\n`);
      }
    }),
  );

  addCommonOptions(
    record
      .command('list')
      .description("list a zone's records")
      .requiredOption('--zone <zone>', 'the zone')
      .option('--name <name>', 'only this owner (relative or absolute)')
      .option('--type <type>', 'only this type'),
  ).action((opts: CommonOptions & { zone: string; name?: string; type?: string }) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const res = await api.request<{ items: RRsetData[] }>('GET', `${zonePath(opts.zone)}/rrsets`, {
        query: {
          name: opts.name === undefined ? undefined : qualifyName(opts.name, opts.zone),
          type: opts.type === undefined ? undefined : checkType(opts.type),
        },
      });
      out(json ? formatJson(res.body.items) : formatRRsetTable(res.body.items));
    }),
  );
}
