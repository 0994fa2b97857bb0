/**
 * `switchboard zone catalog ZONE [CATALOG] [--none]`: which catalog zone (kind Producer, RFC 9432)
 * of its account lists a zone, through the native API (`PATCH /api/v1/zones/{zone}` with
 * `catalog`; docs/TRANSFERS.md "Catalog zones"). A catalog zone itself is made with
 * `switchboard zone create NAME --kind Producer`.
 * @module
 */
import type { Command } from 'commander';
import type { ZoneDetail, ZoneInfo } from '../control/types.js';
import { addCommonOptions, type CommonOptions, runClientAction, zonePath } from './client-common.js';
import { formatJson } from './output.js';

/** Registers `zone catalog` under the `zone` command. */
export function registerZoneCatalogCommands(zone: Command): void {
  addCommonOptions(
    zone
      .command('catalog')
      .description('show or set the catalog zone (kind Producer, same account) that lists a zone')
      .argument('<zone>', 'zone name')
      .argument('[catalog]', 'the catalog zone to list it in')
      .option('--none', 'list it in no catalog zone'),
  ).action((name: string, catalog: string | undefined, opts: CommonOptions & { none?: boolean }) =>
    runClientAction(opts, async ({ api, json, out }) => {
      if (catalog !== undefined && opts.none === true)
        throw new Error('give a catalog zone or --none, not both');
      if (catalog === undefined && opts.none !== true) {
        const res = await api.request<ZoneDetail>('GET', zonePath(name));
        out(
          json
            ? formatJson({ zone: res.body.name, catalog: res.body.catalog ?? '' })
            : `${res.body.catalog || '-'}\n`,
        );
        return;
      }
      const value = catalog === undefined ? '' : catalog.endsWith('.') ? catalog : `${catalog}.`;
      const res = await api.request<ZoneInfo>('PATCH', zonePath(name), { json: { catalog: value } });
      if (json) out(formatJson({ zone: res.body.name, catalog: value }));
      else
        out(
          value === ''
            ? `zone ${res.body.name} is in no catalog zone\n`
            : `zone ${res.body.name} listed in ${value}\n`,
        );
    }),
  );
}
