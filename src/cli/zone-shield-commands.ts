/**
 * `switchboard zone shield show|set|rm`: a zone's own shield settings through the native API
 * (`/api/v1/zones/{zone}/shield`; docs/SHIELD.md "Per-zone settings"). `set` takes the fields of
 * `--shield-zone` without the name (`min-nx=5000,budget=20,responses=5,metrics=on`) and
 * replaces every setting of the zone.
 * @module
 */
import type { Command } from 'commander';
import { formatShieldSpec, parseShieldSpec } from '../control/shield-spec.js';
import type { ZoneShieldInfo, ZoneShieldSettings } from '../control/types.js';
import {
  absoluteZone,
  addCommonOptions,
  type CommonOptions,
  runClientAction,
  UsageError,
  zonePath,
} from './client-common.js';
import { formatJson, formatTime } from './output.js';

/** The settings text of `zone shield set`. @throws UsageError naming the field */
function settingsOf(spec: string): ZoneShieldSettings {
  try {
    return parseShieldSpec(spec);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function formatInfo(i: ZoneShieldInfo): string {
  return (
    `zone      ${i.zone}\n` +
    `settings  ${formatShieldSpec(i.settings)}\n` +
    (i.setBy ? `set by    ${i.setBy}\n` : '') +
    (i.updatedAt ? `updated   ${formatTime(i.updatedAt)}\n` : '')
  );
}

/** Registers `zone shield` under the `zone` command. */
export function registerZoneShieldCommands(zone: Command): void {
  const shield = zone
    .command('shield')
    .description("a zone's own shield settings (RRL rates, attack floor and budget, metrics)")
    .exitOverride();

  addCommonOptions(
    shield.command('show').description("show a zone's own shield settings").argument('<zone>', 'zone name'),
  ).action((name: string, opts: CommonOptions) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const res = await api.request<ZoneShieldInfo>('GET', `${zonePath(name)}/shield`);
      out(json ? formatJson(res.body) : formatInfo(res.body));
    }),
  );

  addCommonOptions(
    shield
      .command('set')
      .description(
        "replace a zone's own shield settings: min-nx=N,budget=N,responses=N,nxdomains=N,nodata=N,referrals=N,errors=N,metrics=on (fields not given: the server's)",
      )
      .argument('<zone>', 'zone name')
      .argument('<settings>', "the settings, as --shield-zone takes them after the zone's name")
      .option('--comment <text>', 'kept in the audit row'),
  ).action((name: string, spec: string, opts: CommonOptions & { comment?: string }) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const settings = settingsOf(spec);
      const res = await api.request<ZoneShieldInfo>('PUT', `${zonePath(name)}/shield`, {
        json: settings,
        query: { comment: opts.comment },
      });
      out(
        json
          ? formatJson(res.body)
          : `zone ${absoluteZone(name)}: shield ${formatShieldSpec(res.body.settings)}\n`,
      );
    }),
  );

  addCommonOptions(
    shield
      .command('rm')
      .description("remove a zone's own shield settings (the server's apply again)")
      .argument('<zone>', 'zone name')
      .option('--comment <text>', 'kept in the audit row'),
  ).action((name: string, opts: CommonOptions & { comment?: string }) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const res = await api.request<ZoneShieldInfo>('DELETE', `${zonePath(name)}/shield`, {
        query: { comment: opts.comment },
      });
      out(json ? formatJson(res.body) : `zone ${absoluteZone(name)}: shield settings removed\n`);
    }),
  );
}
