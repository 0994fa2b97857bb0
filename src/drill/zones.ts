/**
 * The zones a drill runs against. The drill writes them (`switchboard drill --write-zones DIR`)
 * and the server under test serves them, so the drill knows the right answer to every query
 * it makes: `n<i>.z<k>.drill.` has one A record 10.<k>.<i/256>.<i%256>, `big.z<k>.drill.`
 * a large TXT RRset (large answers), and any other name is NXDOMAIN. Zone 0 is the victim.
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DrillConfigError } from './target.js';

/** The shape of the zone set. */
export interface ZoneSetShape {
  /** How many zones (1-200). */
  readonly zones: number;
  /** Names with an A record per zone (1-60000). */
  readonly names: number;
}

export const DEFAULT_SHAPE: ZoneSetShape = { zones: 8, names: 1000 };

/** Checks a zone set shape. */
export function checkShape(shape: ZoneSetShape): ZoneSetShape {
  if (!Number.isInteger(shape.zones) || shape.zones < 1 || shape.zones > 200)
    throw new DrillConfigError('--zones: a whole number from 1 to 200');
  if (!Number.isInteger(shape.names) || shape.names < 1 || shape.names > 60000)
    throw new DrillConfigError('--names: a whole number from 1 to 60000');
  return shape;
}

/** Origin of zone k, without the final dot. */
export function zoneOrigin(k: number): string {
  return `z${k}.drill`;
}

/** Name i of zone k. */
export function hostName(k: number, i: number): string {
  return `n${i}.${zoneOrigin(k)}`;
}

/** The A record of name i of zone k, as four octets. */
export function hostAddress(k: number, i: number): [number, number, number, number] {
  return [10, k & 255, (i >> 8) & 255, i & 255];
}

/** Text of the big TXT RRset: 6 strings of 200 characters (about 1.2 KB of RDATA). */
function bigTxt(k: number): string[] {
  const out: string[] = [];
  for (let j = 0; j < 6; j++) out.push(`"${`z${k}s${j}-`.padEnd(200, 'x')}"`);
  return out;
}

/** The master-file text of zone k. */
export function zoneText(shape: ZoneSetShape, k: number): string {
  const o = `${zoneOrigin(k)}.`;
  const lines = [
    `$ORIGIN ${o}`,
    '$TTL 3600',
    `@ IN SOA ns1.${o} hostmaster.${o} 1 7200 3600 1209600 300`,
    `@ IN NS ns1.${o}`,
    `ns1 IN A 10.${k & 255}.255.254`,
  ];
  for (let i = 0; i < shape.names; i++) lines.push(`n${i} IN A ${hostAddress(k, i).join('.')}`);
  for (const t of bigTxt(k)) lines.push(`big IN TXT ${t}`);
  return `${lines.join('\n')}\n`;
}

/** Writes one `<origin>.zone` file per zone into `dir`; returns the files. */
export function writeZoneFiles(dir: string, shape: ZoneSetShape): string[] {
  checkShape(shape);
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (let k = 0; k < shape.zones; k++) {
    const file = join(dir, `${zoneOrigin(k)}.zone`);
    writeFileSync(file, zoneText(shape, k));
    files.push(file);
  }
  return files;
}
