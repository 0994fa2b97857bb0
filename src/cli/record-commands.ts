/**
 * `switchboard record set|rm|list`: RRsets through the native API. `set` replaces the RRset
 * with exactly the values given; `rm` removes the RRset, or only the values given.
 * @module
 */
import type { Command } from 'commander';
import type { RRsetData, ZoneChangeResult } from '../control/types.js';
import { type ApiClient, ApiRequestError } from './api-client.js';
import { parseChangeFile } from './change-file.js';
import {
  addCommonOptions,
  type CommonOptions,
  ifMatchHeader,
  parseWholeNumber,
  readInput,
  runClientAction,
  UsageError,
  zonePath,
} from './client-common.js';
import { formatDryRun, formatJson, printWarnings } from './output.js';
import { canonicalContent, completeContents, resolveName } from './relative.js';
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
        .argument(
          '<name>',
          "owner: relative to the zone ('www', '@', '*.dev') or absolute ('www.example.com.')",
        )
        .argument('<type>', 'record type (A, AAAA, MX, TXT, …)')
        .argument(
          '<values...>',
          "record data in master-file form, one argument per record; names in it are relative to the zone unless they end with a dot ('10 mail', '\"v=spf1 -all\"')",
        )
        .option('--ttl <seconds>', `TTL (default: the RRset's current TTL, else ${DEFAULT_RECORD_TTL})`)
        .addHelpText(
          'after',
          `
Names, the owner and those inside the values, are relative to the zone, as in a zone
file: 'mail' is mail.<zone>., '@' the apex; a name ending with a dot is absolute. A
relative name ending with the zone's name ('www.<zone>') is refused: add the final dot.

Examples:
  switchboard record set @ MX '10 mail' --zone shop.test             # 10 mail.shop.test.
  switchboard record set www A 192.0.2.10 192.0.2.11 --zone shop.test --ttl 300
  switchboard record set @ TXT '"v=spf1 mx -all"' --zone shop.test
  switchboard record set docs CNAME pages.example.net. --zone shop.test`,
        ),
    ),
  ).action((name: string, type: string, values: string[], opts: ChangeOpts & { ttl?: string }) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const owner = resolveName(name, opts.zone);
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
        records: completeContents(rtype, values, opts.zone).map((content) => ({ content })),
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
      const owner = resolveName(name, opts.zone);
      const rtype = checkType(type);
      const change =
        values.length === 0
          ? { op: 'delete', name: owner, type: rtype }
          : {
              op: 'remove',
              name: owner,
              type: rtype,
              records: completeContents(rtype, values, opts.zone).map((content) => ({ content })),
            };
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
          name: opts.name === undefined ? undefined : resolveName(opts.name, opts.zone),
          type: opts.type === undefined ? undefined : checkType(opts.type),
        },
      });
      out(json ? formatJson(res.body.items) : formatRRsetTable(res.body.items));
    }),
  );

  registerRecordStateCommands(record);
  registerRecordApplyCommand(record);
}

/** Two contents are the same record: equal once both are in canonical form. */
function sameContent(type: string, a: string, b: string, zone: string): boolean {
  if (a === b) return true;
  return canonicalForCompare(type, a, zone) === canonicalForCompare(type, b, zone);
}

function canonicalForCompare(type: string, content: string, zone: string): string {
  return canonicalContent(type, content, zone) ?? content;
}

/** `record enable|disable NAME TYPE [VALUE...]`. */
function registerRecordStateCommands(record: Command): void {
  for (const enable of [false, true]) {
    const verb = enable ? 'enable' : 'disable';
    addCommonOptions(
      changeOptions(
        record
          .command(verb)
          .description(
            enable
              ? 'serve disabled records of the RRset NAME TYPE again (all, or only the values given)'
              : 'stop serving records of the RRset NAME TYPE but keep them (all, or only the values given)',
          )
          .argument('<name>', "owner: relative to the zone ('www', '@') or absolute")
          .argument('<type>', 'record type')
          .argument('[values...]', `${verb} only these records (default: every record of the RRset)`),
      ),
    ).action((name: string, type: string, values: string[], opts: ChangeOpts) =>
      runClientAction(opts, async ({ api, json, out }) => {
        const owner = resolveName(name, opts.zone);
        const rtype = checkType(type);
        const current = await api.request<{ items: RRsetData[] }>('GET', `${zonePath(opts.zone)}/rrsets`, {
          query: { name: owner, type: rtype },
        });
        const rrset = current.body.items[0];
        if (!rrset)
          throw new ApiRequestError(404, 'CLI_ERR_NOT_FOUND', `there is no RRset ${owner} ${rtype}`);
        const wanted = completeContents(rtype, values, opts.zone);
        const missing = wanted.filter(
          (w) => !rrset.records.some((r) => sameContent(rtype, r.content, w, opts.zone)),
        );
        if (missing.length > 0)
          throw new ApiRequestError(
            404,
            'CLI_ERR_NOT_FOUND',
            `${owner} ${rtype} has no record ${missing.map((m) => `'${m}'`).join(', ')}`,
          );
        let touched = 0;
        const records = rrset.records.map((r) => {
          const hit = wanted.length === 0 || wanted.some((w) => sameContent(rtype, r.content, w, opts.zone));
          if (!hit || !r.disabled === enable) return r;
          touched++;
          return { content: r.content, disabled: !enable };
        });
        if (touched === 0) {
          if (json) out(formatJson({ changed: 0 }));
          else
            out(
              `nothing to ${verb}: ${owner} ${rtype} ${enable ? 'has no disabled record' : 'is already disabled'}${wanted.length > 0 ? ' among those' : ''}\n`,
            );
          return;
        }
        // Read, modify, write: the write applies only if nobody changed the zone in between.
        const ifMatch = opts.ifMatch ?? current.headers.get('etag')?.replace(/"/g, '');
        const info = await patch(
          api,
          { ...opts, ifMatch },
          {
            op: 'replace',
            name: rrset.name,
            type: rtype,
            ttl: rrset.ttl,
            records,
          },
        );
        if (json) out(formatJson(info));
        else if (info.dryRun) out(formatDryRun(info));
        else
          out(
            `${verb}d ${touched} record${touched === 1 ? '' : 's'} of ${rrset.name} ${rtype}; ${info.name} is at serial ${info.serial}\n`,
          );
      }),
    );
  }
}

/** Owners whose RRsets `record apply` asks for one by one; with more it reads the whole zone. */
const MAX_OWNER_LOOKUPS = 4;

/**
 * The TTLs of the RRsets at `owners` (key: `name TYPE`, name lower-cased), for changes that
 * give none. The API filters by one owner name per request (`?name=`), so a few owners are
 * asked for one by one and only their RRsets travel; with more, one request for the whole
 * zone costs less (the server reads the zone's contents for either request).
 */
export async function currentTtls(
  api: ApiClient,
  zone: string,
  owners: readonly string[],
): Promise<Map<string, number>> {
  const distinct = [...new Set(owners.map((o) => o.toLowerCase()))];
  const queries = distinct.length <= MAX_OWNER_LOOKUPS ? distinct.map((name) => ({ name })) : [{}];
  const ttls = new Map<string, number>();
  for (const query of queries) {
    const res = await api.request<{ items: RRsetData[] }>('GET', `${zonePath(zone)}/rrsets`, { query });
    for (const r of res.body.items) ttls.set(`${r.name.toLowerCase()} ${r.type}`, r.ttl);
  }
  return ttls;
}

/** `record apply FILE --zone ZONE`: several changes as one version. */
function registerRecordApplyCommand(record: Command): void {
  addCommonOptions(
    record
      .command('apply')
      .description('apply several changes from a file as one version (all or nothing)')
      .argument('<file>', "change file, lines or JSON ('-' for stdin; see docs/CLI.md)")
      .requiredOption('--zone <zone>', 'the zone to change')
      .option('--if-match <version>', 'only if the zone is still at this version')
      .option('--comment <text>', 'kept with the new version (default: the JSON file\'s "comment")')
      .option('--dry-run', 'print what the changes would remove and add, without applying them')
      .addHelpText(
        'after',
        `
Line form, one change per line ('#' or ';' starts a comment line):
  set NAME [TTL] TYPE RDATA   lines with the same NAME and TYPE make up the RRset
  add NAME [TTL] TYPE RDATA   add one record, keeping the others
  rm  NAME TYPE RDATA         remove one record
  rm  NAME TYPE               remove the whole RRset
JSON form: {"changes": [{"op": "replace", "name": "www", "type": "A", "records": [{"content": "192.0.2.1"}]}]}
Names (owner and inside RDATA) are relative to the zone unless they end with a dot (a
relative name ending with the zone's name is refused: add the dot). A missing
TTL is the RRset's current TTL, else ${DEFAULT_RECORD_TTL}.

Example:
  printf 'set www 300 A 192.0.2.1\nset www 300 A 192.0.2.2\nset @ MX 10 mail\nrm old CNAME\n' |
    switchboard record apply - --zone shop.test`,
      ),
  ).action((file: string, opts: ChangeOpts) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const parsed = parseChangeFile(readInput(file), opts.zone, file === '-' ? 'stdin' : file);
      for (const n of parsed.notes) process.stderr.write(`switchboard: note: ${n}\n`);
      const needTtl = parsed.changes.filter(
        (c) => (c.op === 'replace' || c.op === 'add') && c.ttl === undefined,
      );
      if (needTtl.length > 0) {
        const ttls = await currentTtls(
          api,
          opts.zone,
          needTtl.map((c) => c.name),
        );
        for (const c of needTtl) c.ttl = ttls.get(`${c.name.toLowerCase()} ${c.type}`) ?? DEFAULT_RECORD_TTL;
      }
      const body: Record<string, unknown> = { changes: parsed.changes };
      const comment = opts.comment ?? parsed.comment;
      if (comment !== undefined) body.comment = comment;
      const res = await api.request<ZoneChangeResult>('PATCH', `${zonePath(opts.zone)}/rrsets`, {
        json: body,
        query: { dryRun: opts.dryRun ? 'true' : undefined },
        headers: ifMatchHeader(opts.ifMatch),
      });
      const info = res.body;
      const n = parsed.changes.length;
      printWarnings(info);
      if (json) out(formatJson(info));
      else if (info.dryRun) out(formatDryRun(info));
      else if (!info.changed)
        out(
          `no change: the zone already holds what the ${n} change${n === 1 ? '' : 's'} ask for; ${info.name} stays at serial ${info.serial}\n`,
        );
      else
        out(
          `applied ${n} change${n === 1 ? '' : 's'} to ${info.name} as one version: version ${info.version}, serial ${info.serial}\n`,
        );
    }),
  );
}
