/**
 * Every zone file under a folder (../shared/testdata, the interop corpus), loaded the way
 * `serve --zone-dir` would: the origin from `$ORIGIN` or the file name, then as a root zone;
 * files that load neither way are counted as skipped. Not the project's parser tests (those
 * assert each file's outcome): this feeds the tests that compare two ways of serving the same
 * zones.
 * @module
 */
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadZoneFile } from '../../src/zone/load.js';
import type { Zone } from '../../src/zone/zone.js';

/** Names of files that are not zones in the testdata folders. */
const NOT_ZONES = /\.(md|txt|key|private|conf|out|in|json|py|sh|README)$/i;

export function loadZoneFiles(
  dir: string,
  maxBytes = 4_000_000,
): { zones: { path: string; zone: Zone }[]; skipped: number } {
  const zones: { path: string; zone: Zone }[] = [];
  let skipped = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (!NOT_ZONES.test(e) && statSync(p).size < maxBytes) {
        let zone: Zone | undefined;
        for (const opts of [{ strict: false }, { strict: false, origin: '.' }]) {
          try {
            zone = loadZoneFile(p, opts).zone;
            break;
          } catch {}
        }
        if (zone) zones.push({ path: p, zone });
        else skipped++;
      }
    }
  };
  walk(dir);
  return { zones, skipped };
}

/**
 * Writes a small zone to `file` (SOA with `serial` and `timers` — refresh retry expire minimum —,
 * NS ns1, ns1 A 127.0.0.1, www A `address`) for a peer to serve; returns `file`.
 */
export function writeSmallZone(
  file: string,
  origin: string,
  serial: number,
  address: string,
  timers = '3600 600 86400 300',
): string {
  writeFileSync(
    file,
    [
      `$ORIGIN ${origin}`,
      '$TTL 300',
      `@ IN SOA ns1 hostmaster ${serial} ${timers}`,
      '@ IN NS ns1',
      'ns1 IN A 127.0.0.1',
      `www IN A ${address}`,
      '',
    ].join('\n'),
  );
  return file;
}
