/**
 * `switchboard zone secondary show|set|retrieve`: a secondary zone's masters, transfer key and
 * refresh state through the native API (`/api/v1/zones/{zone}/secondary`; docs/TRANSFERS.md
 * "Secondary role"). `set --master` makes the zone a Slave zone (its records then come only by
 * zone transfer); `set --no-masters` makes it Native again.
 * @module
 */
import type { Command } from 'commander';
import type { ConsumerReport } from '../control/catalog-consumer.js';
import type { ZoneSecondaryInfo } from '../control/secondary.js';
import { addCommonOptions, type CommonOptions, runClientAction, zonePath } from './client-common.js';
import { formatJson } from './output.js';

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function formatSecondary(zone: string, s: ZoneSecondaryInfo | null): string {
  if (s === null) return `zone ${zone} is not a secondary zone (Native now)\n`;
  return (
    `zone            ${zone}\n` +
    `masters         ${s.masters.join(', ')}\n` +
    `key             ${s.slaveTsigKeyIds.join(', ') || '-'}\n` +
    `last check      ${s.lastCheck ?? '-'}\n` +
    `last success    ${s.lastSuccess ?? '-'}\n` +
    `master used     ${s.masterUsed ?? '-'}\n` +
    `notified serial ${s.notifiedSerial ?? '-'}\n` +
    `last error      ${s.lastError ?? '-'}\n` +
    (s.consumer === undefined ? '' : formatConsumer(s.consumer))
  );
}

/** A Consumer zone's last sync of its members. */
function formatConsumer(c: ConsumerReport): string {
  return (
    `catalog serial  ${c.serial} (read ${c.at})\n` +
    `members         ${c.members} (last sync: ${c.added} added, ${c.removed} removed, ${c.reset} re-created, ${c.moved} moved by coo)\n` +
    (c.error !== undefined ? `catalog error   ${c.error}\n` : '') +
    `refused         ${c.refusedTotal}\n` +
    c.refused.map((r) => `  ${r.zone}: ${r.reason}\n`).join('') +
    c.ignored.map((i) => `  ignored: ${i}\n`).join('')
  );
}

/** Registers `zone secondary` under the `zone` command. */
export function registerZoneSecondaryCommands(zone: Command): void {
  const sec = zone
    .command('secondary')
    .description('secondary zones: masters, transfer key, refresh state')
    .exitOverride();

  addCommonOptions(
    sec
      .command('show')
      .description("show a secondary zone's masters and refresh state")
      .argument('<zone>', 'zone name'),
  ).action((name: string, opts: CommonOptions) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const res = await api.request<ZoneSecondaryInfo>('GET', `${zonePath(name)}/secondary`);
      out(json ? formatJson(res.body) : formatSecondary(name, res.body));
    }),
  );

  addCommonOptions(
    sec
      .command('set')
      .description('make a zone a secondary of masters (ADDR:PORT, tried in order), or Native again')
      .argument('<zone>', 'zone name')
      .option('--master <addr>', 'ADDR, ADDR:PORT or [IPv6]:PORT (repeatable)', collect)
      .option('--no-masters', 'no masters: the zone becomes Native (its records stay)')
      .option('--key <name>', "the transfer key: a TSIG key of the zone's account")
      .option('--no-key', 'transfers unsigned'),
  ).action(
    (name: string, opts: CommonOptions & { master?: string[]; masters?: boolean; key?: string | false }) =>
      runClientAction(opts, async ({ api, json, out }) => {
        const body: { masters?: string[]; slaveTsigKeyIds?: string[] } = {};
        if (opts.master) body.masters = opts.master;
        else if (opts.masters === false) body.masters = [];
        if (typeof opts.key === 'string') body.slaveTsigKeyIds = [opts.key];
        else if (opts.key === false) body.slaveTsigKeyIds = [];
        const res = await api.request<ZoneSecondaryInfo | null>('PUT', `${zonePath(name)}/secondary`, {
          json: body,
        });
        const info = res.status === 204 ? null : res.body;
        out(json ? formatJson(info) : formatSecondary(name, info));
      }),
  );

  addCommonOptions(
    sec
      .command('retrieve')
      .description('transfer a secondary zone from its masters now (AXFR, whatever the serials say)')
      .argument('<zone>', 'zone name'),
  ).action((name: string, opts: CommonOptions) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const res = await api.request<{ result: string }>('POST', `${zonePath(name)}/secondary/retrieve`);
      out(json ? formatJson(res.body) : `${res.body.result}\n`);
    }),
  );
}
