/**
 * `switchboard edges`: the edges that follow the platform (docs/EDGE.md), through the native API
 * (`GET /api/v1/edges`, an administrator key).
 * @module
 */
import type { Command } from 'commander';
import type { EdgeListing } from '../api/routes/edges.js';
import { addCommonOptions, type CommonOptions, runClientAction } from './client-common.js';
import { formatJson, formatTable } from './output.js';

/** Registers `edges`. */
export function registerEdgeCommands(program: Command): void {
  addCommonOptions(
    program
      .command('edges')
      .description(
        'the edges (switchboard edge) that transfer with an edge key: POP, address, NOTIFY address, zones, lag',
      ),
  ).action((opts: CommonOptions) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const res = await api.request<EdgeListing[]>('GET', '/api/v1/edges');
      out(
        json
          ? formatJson(res.body)
          : formatTable(
              ['POP', 'ADDRESS', 'NOTIFY', 'LAST SEEN', 'ZONES', 'BEHIND', 'LAG (S)'],
              res.body.map((e) => [
                e.pop,
                e.addresses[0] ?? '-',
                e.notify ?? '-',
                e.lastSeen,
                String(e.zones),
                String(e.behind),
                String(e.maxLagSeconds),
              ]),
            ),
      );
    }),
  );
}
