/**
 * Catalog zones (RFC 9432) in tests: the text of a hand-written catalog, and BIND 9 as a
 * catalog consumer (`catalog-zones`) of a primary — the set-up the catalog e2e files share.
 * @module
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertLoopback } from './dns-client.js';
import { findCommand, findFreePort, launch, type Peer } from './peers.js';

/**
 * Writes a version-2 catalog zone `origin` to `file` (SOA and NS at `invalid.`, TTL 0) with
 * `lines` after the version record (members `ID.zones IN PTR NAME`, properties); returns `file`.
 */
export function writeCatalogZone(file: string, origin: string, lines: string[]): string {
  writeFileSync(
    file,
    [
      `$ORIGIN ${origin}`,
      '$TTL 0',
      '@ IN SOA invalid. invalid. 1 3600 600 86400 0',
      '@ IN NS invalid.',
      'version IN TXT "2"',
      ...lines,
      '',
    ].join('\n'),
  );
  return file;
}

/** BIND as a consumer of catalogs transferred from a primary on loopback. */
export interface BindConsumerOptions {
  /** The catalogs: each a secondary zone of the primary and an entry of `catalog-zones`. */
  catalogs: string[];
  /** The primary's DNS port (on `host`). */
  primaryPort: number;
  /** The TSIG key (hmac-sha256, base64 secret) of the transfers. */
  key: { name: string; secret: string };
  /** Loopback address of both; default 127.0.0.1. */
  host?: string;
  /** BIND's port; default a free one. */
  port?: number;
}

/**
 * Starts BIND 9 (`named -g`, foreground) following `catalogs` from the primary: members added
 * as the catalogs say (`allow-new-zones`, in memory, `min-update-interval 1`), NOTIFY taken from
 * `host`. Ready once the first catalog's SOA is answered; `stop` removes its folder.
 */
export async function startBindCatalogConsumer(opts: BindConsumerOptions): Promise<Peer> {
  const host = opts.host ?? '127.0.0.1';
  assertLoopback(host);
  const port = opts.port ?? (await findFreePort(host));
  const dir = mkdtempSync(join(tmpdir(), 'sb-bind-catz-'));
  const primary = `${host} port ${opts.primaryPort} key "${opts.key.name}"`;
  const conf = [
    `key "${opts.key.name}" { algorithm hmac-sha256; secret "${opts.key.secret}"; };`,
    'controls { };',
    'options {',
    `  directory "${dir}";`,
    `  pid-file "${join(dir, 'named.pid')}";`,
    `  listen-on port ${port} { ${host}; };`,
    '  listen-on-v6 { none; };',
    '  recursion no;',
    '  dnssec-validation no;',
    '  allow-new-zones yes;',
    `  allow-notify { ${host}; };`,
    '  catalog-zones {',
    ...opts.catalogs.map(
      (c) => `    zone "${c}" default-primaries { ${primary}; } in-memory yes min-update-interval 1;`,
    ),
    '  };',
    '};',
    ...opts.catalogs.map(
      (c) => `zone "${c}" { type secondary; file "${join(dir, `${c}db`)}"; primaries { ${primary}; }; };`,
    ),
    '',
  ].join('\n');
  writeFileSync(join(dir, 'named.conf'), conf);
  const named = findCommand('named') ?? 'named';
  return launch('bind', [named, '-g', '-c', join(dir, 'named.conf')], dir, host, port, opts.catalogs[0], {});
}
