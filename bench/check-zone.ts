/**
 * Microbenchmark of the zone checks (not a test): ms per `checkZone` on a generated zone (the
 * zone-load suite's `big.test.`), median of several runs. With other checkouts' roots given,
 * their `dist/src/zone/check.js` is timed on the same Zone object, the runs interleaved, so a
 * change to the checks is measured side by side on a noisy machine (ratios, not absolutes).
 * Run: `node dist/bench/check-zone.js [--records N] [--runs K] [ROOT...]` (ROOT: a checkout
 * with a built dist/, e.g. a `git worktree` of the commit before a change).
 * @module
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Name } from '../src/wire/name.js';
import { checkZone } from '../src/zone/check.js';
import { loadZoneText } from '../src/zone/load.js';
import type { Zone } from '../src/zone/zone.js';
import { median } from './stats.js';
import { BIG_ORIGIN, generateBigZone } from './zone-load.js';

type Check = (zone: Zone) => unknown[];

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let records = 1_000_000;
  let runs = 9;
  const roots: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--records') records = Number(args[++i]);
    else if (args[i] === '--runs') runs = Number(args[++i]);
    else roots.push(resolve(args[i]));
  }
  if (!(records > 0 && runs > 0)) throw new Error('usage: check-zone.js [--records N] [--runs K] [ROOT...]');
  const dir = mkdtempSync(join(tmpdir(), 'sb-check-zone-'));
  let zone: Zone;
  try {
    const file = join(dir, 'big.zone');
    generateBigZone(file, records);
    zone = loadZoneText(readFileSync(file, 'utf8'), { origin: Name.parse(BIG_ORIGIN) }).zone;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const checks: [string, Check][] = [['this build', checkZone]];
  for (const root of roots) {
    const url = pathToFileURL(join(root, 'dist/src/zone/check.js')).href;
    checks.push([root, ((await import(url)) as { checkZone: Check }).checkZone]);
  }
  const times = checks.map((): number[] => []);
  for (let r = 0; r < runs; r++)
    for (let k = 0; k < checks.length; k++) {
      const t = performance.now();
      checks[k][1](zone);
      times[k].push(performance.now() - t);
    }
  const base = median(times[0]);
  for (let k = 0; k < checks.length; k++) {
    const m = median(times[k]);
    const ratio = k === 0 ? '' : ` (${(m / base).toFixed(2)}x this build)`;
    console.log(
      `checkZone ${records} records, ${checks[k][0]}: median ${m.toFixed(0)} ms of ${runs}${ratio}`,
    );
  }
}

await main();
