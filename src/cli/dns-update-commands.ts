/**
 * `switchboard zone dns-update show|set`: who may change a zone with DNS UPDATE (RFC 2136),
 * through the native API (`/api/v1/zones/{zone}/dns-update`; docs/TRANSFERS.md "Dynamic update").
 * @module
 */
import type { Command } from 'commander';
import type { ZoneUpdatePolicy } from '../control/dns-updates.js';
import { addCommonOptions, type CommonOptions, runClientAction, zonePath } from './client-common.js';
import { formatJson } from './output.js';

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function formatPolicy(zone: string, u: ZoneUpdatePolicy): string {
  const off = u.tsigAllowDnsupdate.length === 0 && u.allowDnsupdateFrom.length === 0;
  return (
    `zone        ${zone}\n` +
    `keys        ${u.tsigAllowDnsupdate.join(', ') || '-'}\n` +
    `allow from  ${u.allowDnsupdateFrom.join(', ') || '-'}\n` +
    (off ? 'updates     refused (no key and no address allowed)\n' : '')
  );
}

/** Registers `zone dns-update` under the `zone` command. */
export function registerZoneDnsUpdateCommands(zone: Command): void {
  const cmd = zone
    .command('dns-update')
    .description('who may change a zone with DNS UPDATE (nsupdate, RFC 2136)')
    .exitOverride();

  addCommonOptions(
    cmd.command('show').description('show who may update a zone').argument('<zone>', 'zone name'),
  ).action((name: string, opts: CommonOptions) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const res = await api.request<ZoneUpdatePolicy>('GET', `${zonePath(name)}/dns-update`);
      out(json ? formatJson(res.body) : formatPolicy(name, res.body));
    }),
  );

  addCommonOptions(
    cmd
      .command('set')
      .description('set the keys and addresses that may update a zone (each option given replaces its list)')
      .argument('<zone>', 'zone name')
      .option('--key <name>', "a key of the zone's account updates must be signed with (repeatable)", collect)
      .option('--no-keys', 'no key required')
      .option('--allow <prefix>', 'an address or prefix updates must come from (repeatable)', collect)
      .option('--no-allow', 'no address restriction'),
  ).action(
    (name: string, opts: CommonOptions & { key?: string[]; keys?: boolean; allow?: string[] | false }) =>
      runClientAction(opts, async ({ api, json, out }) => {
        const body: Partial<ZoneUpdatePolicy> = {};
        if (opts.key) body.tsigAllowDnsupdate = opts.key;
        else if (opts.keys === false) body.tsigAllowDnsupdate = [];
        if (Array.isArray(opts.allow)) body.allowDnsupdateFrom = opts.allow;
        else if (opts.allow === false) body.allowDnsupdateFrom = [];
        const res = await api.request<ZoneUpdatePolicy>('PUT', `${zonePath(name)}/dns-update`, {
          json: body,
        });
        out(json ? formatJson(res.body) : formatPolicy(name, res.body));
      }),
  );
}
