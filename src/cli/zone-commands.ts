/**
 * `switchboard zone create|list|show|import|export|rm|versions|diff|rollback|shield`: zones through
 * the native API.
 * @module
 */
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import type {
  RRsetData,
  VersionDiff,
  ZoneChangeResult,
  ZoneDetail,
  ZoneInfo,
  ZoneVersion,
} from '../control/types.js';
import { Name } from '../wire/index.js';
import { formatDiagnostic, parseZone } from '../zone/index.js';
import { accountIdOf, accountNames, nameOf } from './account-commands.js';
import { ApiRequestError } from './api-client.js';
import { originHint } from './check-zone.js';
import {
  absoluteZone,
  addCommonOptions,
  type CommonOptions,
  ifMatchHeader,
  parseWholeNumber,
  readInput,
  runClientAction,
  UsageError,
  zonePath,
} from './client-common.js';
import { registerZoneDnsUpdateCommands } from './dns-update-commands.js';
import { formatDryRun, formatJson, formatTable, formatTime } from './output.js';
import { registerZoneTransferCommands } from './tsigkey-commands.js';
import { registerZoneCatalogCommands } from './zone-catalog-commands.js';
import { registerDeletedZoneCommands } from './zone-deleted-commands.js';
import { registerZoneSecondaryCommands } from './zone-secondary-commands.js';
import { registerZoneShieldCommands } from './zone-shield-commands.js';

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

function formatZoneList(zones: readonly ZoneInfo[], names: Map<string, string>): string {
  return formatTable(
    ['NAME', 'SERIAL', 'VERSION', 'RECORDS', 'ACCOUNT', 'UPDATED'],
    zones.map((z) => [
      z.name,
      String(z.serial),
      String(z.version),
      String(z.recordCount),
      nameOf(names, z.accountId),
      formatTime(z.updatedAt),
    ]),
  );
}

function formatZoneHeader(z: ZoneInfo, names: Map<string, string>): string {
  return (
    `zone     ${z.name}\n` +
    `serial   ${z.serial}\n` +
    `version  ${z.version}\n` +
    `records  ${z.recordCount}\n` +
    `account  ${nameOf(names, z.accountId)}\n` +
    `updated  ${formatTime(z.updatedAt)}\n`
  );
}

/** Registers `zone` and its sub-commands. */
export function registerZoneCommands(program: Command): void {
  const zone = program.command('zone').description('manage zones through the API').exitOverride();
  registerDeletedZoneCommands(zone);
  registerZoneShieldCommands(zone);
  registerZoneTransferCommands(zone);
  registerZoneSecondaryCommands(zone);
  registerZoneDnsUpdateCommands(zone);
  registerZoneCatalogCommands(zone);

  addCommonOptions(
    zone
      .command('create')
      .description('create a zone (empty but for SOA and NS, or from a zone file)')
      .argument('<name>', 'zone name (the final dot may be omitted)')
      .option('--file <file>', "the zone's content as a master file ('-' for stdin)")
      .option('--nameserver <name>', 'apex NS record (repeatable)', collect)
      .option('--account <name>', 'administrators: the owning account (name or id)')
      .option(
        '--kind <kind>',
        'Native (default), Master, Producer: a catalog zone (RFC 9432) of its members, Slave or ' +
          "Consumer: another provider's catalog zone (its members become Slave zones)",
      )
      .option('--catalog <zone>', 'the catalog zone (kind Producer, same account) that lists this zone')
      .option(
        '--masters <addr>',
        'Slave or Consumer: a master ADDR, ADDR:PORT or [IPv6]:PORT (repeatable)',
        collect,
      )
      .option('--key <name>', "Slave or Consumer: the transfer key (a TSIG key of the zone's account)"),
  ).action(
    (
      name: string,
      opts: CommonOptions & {
        file?: string;
        nameserver?: string[];
        account?: string;
        kind?: string;
        catalog?: string;
        masters?: string[];
        key?: string;
      },
    ) =>
      runClientAction(opts, async ({ api, json, out }) => {
        const body: Record<string, unknown> = { name: absoluteZone(name) };
        if (opts.kind !== undefined) body.kind = opts.kind;
        if (opts.catalog !== undefined) body.catalog = absoluteZone(opts.catalog);
        if (opts.masters) body.masters = opts.masters;
        if (opts.key !== undefined) body.slaveTsigKeyIds = [opts.key];
        if (opts.file !== undefined) body.zonefile = readInput(opts.file);
        if (opts.nameserver) body.nameservers = opts.nameserver;
        if (opts.account !== undefined) body.accountId = await accountIdOf(api, opts.account);
        const res = await api
          .request<ZoneDetail & { warnings?: string[] }>('POST', '/api/v1/zones', { json: body })
          .catch((err: unknown) => {
            if (
              opts.file !== undefined &&
              err instanceof ApiRequestError &&
              err.status === 422 &&
              err.field === 'zonefile'
            )
              reportZoneFileErrors(opts.file, body.zonefile as string, name, err);
            throw err;
          });
        for (const w of res.body.warnings ?? []) process.stderr.write(`switchboard: warning: ${w}\n`);
        if (json) out(formatJson(res.body));
        else
          out(`created zone ${res.body.name} (serial ${res.body.serial}, ${res.body.recordCount} records)\n`);
      }),
  );

  addCommonOptions(
    zone
      .command('list')
      .description('list the zones the key can see')
      .option('--account <name>', 'administrators: only this account (name or id)'),
  ).action((opts: CommonOptions & { account?: string }) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const items = await api.listAll<ZoneInfo>('/api/v1/zones', {
        accountId: await accountIdOf(api, opts.account),
      });
      if (json) out(formatJson(items));
      else
        out(
          formatZoneList(
            items,
            await accountNames(
              api,
              items.map((z) => z.accountId),
            ),
          ),
        );
    }),
  );

  addCommonOptions(
    zone.command('show').description('show a zone and its records').argument('<zone>', 'zone name'),
  ).action((name: string, opts: CommonOptions) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const res = await api.request<ZoneDetail>('GET', zonePath(name));
      if (json) out(formatJson(res.body));
      else
        out(
          `${formatZoneHeader(res.body, await accountNames(api, [res.body.accountId]))}\n${formatRRsetTable(res.body.rrsets)}`,
        );
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
      .option('--comment <text>', 'kept with the new version')
      .option('--dry-run', 'print what the import would remove and add, without applying it'),
  ).action(
    (
      file: string,
      opts: CommonOptions & {
        zone: string;
        create?: boolean;
        ifMatch?: string;
        comment?: string;
        dryRun?: boolean;
      },
    ) =>
      runClientAction(opts, async ({ api, json, out }) => {
        const text = readInput(file);
        const progress = uploadProgress(file, text);
        let info: ZoneInfo & Partial<ZoneChangeResult>;
        try {
          const res = await api.request<ZoneChangeResult>('PUT', `${zonePath(opts.zone)}/zonefile`, {
            text,
            contentType: ZONEFILE_TYPE,
            query: { comment: opts.comment, dryRun: opts.dryRun ? 'true' : undefined },
            headers: ifMatchHeader(opts.ifMatch),
            onProgress: progress?.update,
          });
          info = res.body;
        } catch (err) {
          progress?.done();
          if (!(err instanceof ApiRequestError)) throw err;
          if (err.status === 404 && !opts.create)
            throw new ApiRequestError(
              404,
              err.code,
              `zone ${absoluteZone(opts.zone)} does not exist: use --create to create it from the file`,
            );
          if (err.status === 404 && opts.dryRun)
            throw new ApiRequestError(
              404,
              err.code,
              `zone ${absoluteZone(opts.zone)} does not exist: a dry run plans changes of existing zones (check the file with switchboard check-zone)`,
            );
          if (err.status === 422 && err.field === 'zonefile')
            reportZoneFileErrors(file, text, opts.zone, err);
          if (!(opts.create && err.status === 404)) throw err;
          const res = await api
            .request<ZoneDetail>('POST', '/api/v1/zones', {
              json: { name: absoluteZone(opts.zone), zonefile: text },
            })
            .catch((e: unknown) => {
              if (e instanceof ApiRequestError && e.status === 422 && e.field === 'zonefile')
                reportZoneFileErrors(file, text, opts.zone, e);
              throw e;
            });
          info = res.body;
        }
        progress?.done();
        for (const w of info.warnings ?? []) process.stderr.write(`switchboard: warning: ${w}\n`);
        if (json) out(formatJson(info));
        else if (info.dryRun) out(formatDryRun(info as ZoneChangeResult));
        else if (info.changed === false)
          out(
            `no change: the file holds ${info.name}'s current content (version ${info.version}, serial ${info.serial})\n`,
          );
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
      .description('delete a zone (it stops being served at once); asks for confirmation unless --yes')
      .argument('<zone>', 'zone name')
      .option('--if-match <version>', 'only if the zone is still at this version')
      .option('--yes', 'do not ask for confirmation (needed when stdin is not a terminal)'),
  ).action((name: string, opts: CommonOptions & { ifMatch?: string; yes?: boolean }) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const zname = absoluteZone(name);
      let ifMatch = opts.ifMatch;
      if (!opts.yes) {
        if (!process.stdin.isTTY)
          throw new UsageError(
            `not deleting ${zname} without confirmation: stdin is not a terminal; pass --yes to delete it`,
          );
        const z = (await api.request<ZoneInfo>('GET', zonePath(name))).body;
        const ok = await confirm(
          `Delete zone ${z.name} (${z.recordCount} records, version ${z.version})? It stops being served at once. [y/N] `,
        );
        if (!ok) throw new UsageError(`not deleted: ${z.name} is unchanged`);
        // Delete what was confirmed, not a version someone made meanwhile.
        ifMatch ??= String(z.version);
      }
      await api.request('DELETE', zonePath(name), { headers: ifMatchHeader(ifMatch) });
      if (json) out(formatJson({ deleted: zname }));
      else out(`deleted zone ${zname}\n`);
    }),
  );

  registerVersionCommands(zone);
}

/** Asks a yes/no question on the terminal (stderr); true for y or yes. */
async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(question);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** Progress of a big upload on stderr, when stderr is a terminal (undefined otherwise). */
function uploadProgress(
  file: string,
  text: string,
): { update: (sent: number, total: number) => void; done: () => void } | undefined {
  if (!process.stderr.isTTY || text.length < PROGRESS_MIN_CHARS) return undefined;
  const label = file === '-' ? 'stdin' : file;
  const mib = (n: number) => (n / 1048576).toFixed(1);
  let shown = false;
  return {
    update(sent, total) {
      shown = true;
      const line =
        sent < total
          ? `sending ${label}: ${mib(sent)} of ${mib(total)} MiB (${Math.floor((sent / total) * 100)}%)`
          : `sent ${label} (${mib(total)} MiB); the server is checking and storing it…`;
      process.stderr.write(`\r\x1b[K${line}`);
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[K');
      shown = false;
    },
  };
}

/** Files from this size on (characters) show upload progress. */
const PROGRESS_MIN_CHARS = 1 << 20;

/** Errors listed at most, after which a count stands for the rest. */
const MAX_LISTED_ERRORS = 100;

/**
 * The server names the first error of a zone file it refuses; the file is read here as the
 * server reads it (syntax, and every record inside the zone) to list every error, as
 * `check-zone` does, before the error is thrown. Returns when nothing more is found.
 */
function reportZoneFileErrors(file: string, text: string, zoneName: string, err: ApiRequestError): void {
  const label = file === '-' ? '<stdin>' : file;
  let origin: Name;
  try {
    origin = Name.parse(absoluteZone(zoneName));
  } catch {
    return;
  }
  // Only syntax errors are worth a second read: a refused size or quota is not about lines.
  if (!/^zonefile line \d+:/.test(err.message)) return;
  const parsed = parseZone(text, { origin, defaultTtl: 3600, maxErrors: MAX_LISTED_ERRORS + 1 });
  const found: string[] = parsed.errors.map((e) => formatDiagnostic({ ...e, file: label }));
  for (let i = 0; i < parsed.records.length && found.length <= MAX_LISTED_ERRORS; i++) {
    const rr = parsed.records[i];
    if (!rr.name.isSubdomainOf(origin))
      found.push(`${label}:${parsed.lines[i]}: ${rr.name} is not inside the zone ${origin}`);
  }
  if (found.length <= 1) return;
  found.sort((a, b) => lineOf(a) - lineOf(b));
  const shown = found.slice(0, MAX_LISTED_ERRORS);
  for (const line of shown) process.stderr.write(`${line}\n`);
  if (found.length > shown.length) process.stderr.write(`… and more (${MAX_LISTED_ERRORS} shown)\n`);
  const hint = originHint(text, origin.toString(), '--zone');
  if (hint) process.stderr.write(`${hint.replace('is --origin right?', 'is --zone right?')}\n`);
  throw new ApiRequestError(
    err.status,
    err.code,
    `${found.length > MAX_LISTED_ERRORS ? `over ${MAX_LISTED_ERRORS}` : found.length} errors in ${label}; nothing was imported`,
    err.field,
  );
}

function lineOf(diag: string): number {
  const m = /:(\d+): /.exec(diag);
  return m ? Number(m[1]) : 0;
}

/** The name of a version's actor (`<token id> (<token name>)` → the name). */
function actorName(actor: string): string {
  const m = /^\S+ \((.*)\)$/.exec(actor);
  return m ? m[1] : actor;
}

function formatVersions(versions: readonly ZoneVersion[]): string {
  return formatTable(
    ['VERSION', 'SERIAL', 'TIME', 'KIND', 'CHANGE', 'BY', 'COMMENT'],
    versions.map((v) => [
      String(v.version),
      String(v.serial),
      formatTime(v.createdAt),
      v.kind ?? '',
      `+${v.added} -${v.removed}`,
      actorName(v.actor),
      v.comment ?? '',
    ]),
  );
}

/**
 * The net change from version `from` to version `to` (from < to), made of the diffs of the
 * versions in between: a record added then removed again cancels out.
 */
export function netDiff(diffs: readonly VersionDiff[]): { removed: string[]; added: string[] } {
  const count = new Map<string, number>();
  for (const d of diffs) {
    for (const r of d.removedRecords) count.set(r, (count.get(r) ?? 0) - 1);
    for (const r of d.addedRecords) count.set(r, (count.get(r) ?? 0) + 1);
  }
  const removed: string[] = [];
  const added: string[] = [];
  for (const [r, n] of count) {
    if (n < 0) removed.push(r);
    else if (n > 0) added.push(r);
  }
  return { removed, added };
}

/** Master-file lines as a diff: `-` removed, `+` added, tabs as in the zone file. */
function formatDiffLines(removed: readonly string[], added: readonly string[]): string {
  return [...removed.map((r) => `- ${r}`), ...added.map((r) => `+ ${r}`)].map((l) => `${l}\n`).join('');
}

function versionArg(flag: string, value: string): number {
  const n = parseWholeNumber(flag, value);
  if (n < 1) throw new UsageError(`${flag} must be a version number (1 or more), got '${value}'`);
  return n;
}

/** `zone versions|diff|rollback`. */
function registerVersionCommands(zone: Command): void {
  addCommonOptions(
    zone
      .command('versions')
      .description("list a zone's versions, newest first")
      .argument('<zone>', 'zone name')
      .option('--limit <n>', 'at most this many (default 20)')
      .option('--all', 'every version kept'),
  ).action((name: string, opts: CommonOptions & { limit?: string; all?: boolean }) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const path = `${zonePath(name)}/versions`;
      let items: ZoneVersion[];
      if (opts.all) items = await api.listAll<ZoneVersion>(path);
      else {
        const limit = opts.limit === undefined ? 20 : parseWholeNumber('--limit', opts.limit, 1000);
        items = (await api.request<{ items: ZoneVersion[] }>('GET', path, { query: { limit } })).body.items;
      }
      out(json ? formatJson(items) : formatVersions(items));
    }),
  );

  addCommonOptions(
    zone
      .command('diff')
      .description('what a version changed (or the net change between two versions)')
      .argument('<zone>', 'zone name')
      .argument('<version>', 'the version (what it changed from the one before)')
      .argument('[to]', 'a later version: the net change from <version> to it'),
  ).action((name: string, version: string, to: string | undefined, opts: CommonOptions) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const v = versionArg('<version>', version);
      const get = async (n: number) =>
        (await api.request<VersionDiff>('GET', `${zonePath(name)}/versions/${n}`)).body;
      if (to === undefined) {
        const d = await get(v);
        if (json) out(formatJson(d));
        else
          out(
            `version ${d.version} (serial ${d.fromSerial} → ${d.serial}, ${formatTime(d.createdAt)}, ${d.kind ?? 'change'} by ${actorName(d.actor)}${d.comment ? `: ${d.comment}` : ''})\n` +
              formatDiffLines(d.removedRecords, d.addedRecords),
          );
        return;
      }
      const t = versionArg('[to]', to);
      if (t <= v) throw new UsageError(`[to] must be a later version than ${v}, got ${t}`);
      if (t - v > 1000) throw new UsageError('at most 1000 versions apart');
      const diffs: VersionDiff[] = [];
      for (let n = v + 1; n <= t; n++) diffs.push(await get(n));
      const net = netDiff(diffs);
      if (json) out(formatJson({ from: v, to: t, removedRecords: net.removed, addedRecords: net.added }));
      else out(`from version ${v} to ${t}\n${formatDiffLines(net.removed, net.added)}`);
    }),
  );

  addCommonOptions(
    zone
      .command('rollback')
      .description("make an earlier version's content current again (as a new version)")
      .argument('<zone>', 'zone name')
      .argument('<version>', 'the version to return to')
      .option('--if-match <version>', 'only if the zone is still at this version')
      .option('--comment <text>', 'kept with the new version')
      .option('--dry-run', 'print what the rollback would remove and add, without applying it'),
  ).action(
    (
      name: string,
      version: string,
      opts: CommonOptions & { ifMatch?: string; comment?: string; dryRun?: boolean },
    ) =>
      runClientAction(opts, async ({ api, json, out }) => {
        const body: Record<string, unknown> = { version: versionArg('<version>', version) };
        if (opts.comment !== undefined) body.comment = opts.comment;
        const info = (
          await api.request<ZoneChangeResult>('POST', `${zonePath(name)}/rollback`, {
            json: body,
            query: { dryRun: opts.dryRun ? 'true' : undefined },
            headers: ifMatchHeader(opts.ifMatch),
          })
        ).body;
        for (const w of info.warnings ?? []) process.stderr.write(`switchboard: warning: ${w}\n`);
        if (json) out(formatJson(info));
        else if (info.dryRun) out(formatDryRun(info));
        else if (!info.changed)
          out(
            `no change: ${info.name} already holds the content of version ${body.version} (version ${info.version}, serial ${info.serial})\n`,
          );
        else
          out(
            `rolled ${info.name} back to the content of version ${body.version}: now version ${info.version}, serial ${info.serial}\n`,
          );
      }),
  );
}
