/**
 * `switchboard tsigkey list|create|show|rm` and `switchboard zone transfer show|set`: TSIG keys
 * and who may transfer a zone, through the native API (`/api/v1/tsigkeys`,
 * `/api/v1/zones/{zone}/transfer`; docs/TRANSFERS.md). A key's secret is printed by `create`
 * and `show` only.
 * @module
 */
import type { Command } from 'commander';
import type { TsigKeyInfo, ZoneTransferInfo } from '../control/tsig-keys.js';
import { addCommonOptions, type CommonOptions, runClientAction, zonePath } from './client-common.js';
import { formatJson, formatTable } from './output.js';

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function keyPath(name: string): string {
  return `/api/v1/tsigkeys/${encodeURIComponent(name.endsWith('.') ? name : `${name}.`)}`;
}

function formatKey(k: TsigKeyInfo): string {
  return `name       ${k.name}\nalgorithm  ${k.algorithm}\n${k.key ? `secret     ${k.key}\n` : ''}`;
}

function formatTransfer(zone: string, t: ZoneTransferInfo): string {
  return (
    `zone        ${zone}\n` +
    `keys        ${t.masterTsigKeyIds.join(', ') || '-'}\n` +
    `allow from  ${t.allowAxfrFrom.join(', ') || '-'}\n` +
    `also notify ${(t.alsoNotify ?? []).join(', ') || '-'}\n`
  );
}

/** Registers `tsigkey`. */
export function registerTsigKeyCommands(program: Command): void {
  const tsig = program
    .command('tsigkey')
    .description("your account's TSIG keys (zone transfers)")
    .exitOverride();

  addCommonOptions(tsig.command('list').description('list the keys (no secrets)')).action(
    (opts: CommonOptions) =>
      runClientAction(opts, async ({ api, json, out }) => {
        const res = await api.request<TsigKeyInfo[]>('GET', '/api/v1/tsigkeys');
        out(
          json
            ? formatJson(res.body)
            : formatTable(
                ['NAME', 'ALGORITHM'],
                res.body.map((k) => [k.name, k.algorithm]),
              ),
        );
      }),
  );

  addCommonOptions(
    tsig
      .command('create')
      .description('create a key (the secret is generated unless --secret is given, and printed)')
      .argument('<name>', 'key name')
      .option(
        '--algorithm <alg>',
        'hmac-sha256 (default), hmac-sha384, hmac-sha512, hmac-sha224, hmac-sha1, hmac-md5',
      )
      .option('--secret <base64>', 'the secret (default: generated)'),
  ).action((name: string, opts: CommonOptions & { algorithm?: string; secret?: string }) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const res = await api.request<TsigKeyInfo>('POST', '/api/v1/tsigkeys', {
        json: {
          name,
          algorithm: opts.algorithm ?? 'hmac-sha256',
          ...(opts.secret ? { key: opts.secret } : {}),
        },
      });
      out(json ? formatJson(res.body) : formatKey(res.body));
    }),
  );

  addCommonOptions(
    tsig.command('show').description('show a key with its secret').argument('<name>', 'key name'),
  ).action((name: string, opts: CommonOptions) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const res = await api.request<TsigKeyInfo>('GET', keyPath(name));
      out(json ? formatJson(res.body) : formatKey(res.body));
    }),
  );

  addCommonOptions(tsig.command('rm').description('delete a key').argument('<name>', 'key name')).action(
    (name: string, opts: CommonOptions) =>
      runClientAction(opts, async ({ api, out }) => {
        await api.request('DELETE', keyPath(name));
        out(`key ${name} deleted\n`);
      }),
  );
}

/** Registers `zone transfer` and `zone notify` under the `zone` command. */
export function registerZoneTransferCommands(zone: Command): void {
  addCommonOptions(
    zone
      .command('notify')
      .description('send NOTIFY for a zone to its ALSO-NOTIFY targets now')
      .argument('<zone>', 'zone name'),
  ).action((name: string, opts: CommonOptions) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const res = await api.request<{ zone: string; serial: number }>('PUT', `${zonePath(name)}/notify`);
      out(json ? formatJson(res.body) : `NOTIFY queued for ${res.body.zone} serial ${res.body.serial}\n`);
    }),
  );

  const transfer = zone.command('transfer').description('who may transfer (AXFR) a zone').exitOverride();

  addCommonOptions(
    transfer.command('show').description('show who may transfer a zone').argument('<zone>', 'zone name'),
  ).action((name: string, opts: CommonOptions) =>
    runClientAction(opts, async ({ api, json, out }) => {
      const res = await api.request<ZoneTransferInfo>('GET', `${zonePath(name)}/transfer`);
      out(json ? formatJson(res.body) : formatTransfer(name, res.body));
    }),
  );

  addCommonOptions(
    transfer
      .command('set')
      .description(
        'set the keys and addresses that may transfer a zone (each option given replaces its list)',
      )
      .argument('<zone>', 'zone name')
      .option('--key <name>', "a key of the zone's account (repeatable)", collect)
      .option('--no-keys', 'no key may transfer')
      .option('--allow <prefix>', 'an address, prefix or AUTO-NS (repeatable)', collect)
      .option('--no-allow', 'no address may transfer unsigned')
      .option('--notify <target>', 'an ALSO-NOTIFY target: ADDR, ADDR:PORT, [V6]:PORT (repeatable)', collect)
      .option('--no-notify', 'no ALSO-NOTIFY target'),
  ).action(
    (
      name: string,
      opts: CommonOptions & {
        key?: string[];
        keys?: boolean;
        allow?: string[] | false;
        notify?: string[] | false;
      },
    ) =>
      runClientAction(opts, async ({ api, json, out }) => {
        const body: Partial<ZoneTransferInfo> = {};
        if (opts.key) body.masterTsigKeyIds = opts.key;
        else if (opts.keys === false) body.masterTsigKeyIds = [];
        if (Array.isArray(opts.allow)) body.allowAxfrFrom = opts.allow;
        else if (opts.allow === false) body.allowAxfrFrom = [];
        if (Array.isArray(opts.notify)) body.alsoNotify = opts.notify;
        else if (opts.notify === false) body.alsoNotify = [];
        const res = await api.request<ZoneTransferInfo>('PUT', `${zonePath(name)}/transfer`, { json: body });
        out(json ? formatJson(res.body) : formatTransfer(name, res.body));
      }),
  );
}
