/**
 * A big zone's checks where the compile thread runs them (docs/IMAGE.md "The checks in the
 * parse thread"): `inline` (before the compile, in the loading thread:
 * `SWITCHBOARD_CHECK_THREAD=off`) against `parse` (handed to the parse thread once its parse is
 * done, the default) and `fresh` (a check thread of its own, load1m's way), each in a fresh
 * process loading the generated zone as the compile thread does (an `EarlyParse` thread over
 * the file's octets, `loadZoneTextColumns`, the checks finished), the modes alternated per
 * round. Prints per run and as medians: the process's CPU ms (every thread), the wall ms until
 * the load returned (what the compile waits for) and until the checks were settled, and the
 * findings (which must be the same). Loopback-free: no server is started.
 *
 *   node dist/bench/checks-ab.js [--records 1000000] [--rounds 3] [--modes inline,parse,fresh]
 * @module
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadZoneTextColumns } from '../src/zone/load.js';
import { EarlyParse } from '../src/zone/parse-thread.js';
import { cpuMillis, median } from './stats.js';
import { generateBigZone } from './zone-load.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

interface Run {
  cpu: number;
  loadWall: number;
  wall: number;
  findings: string;
}

/** One load in this process (the child): the compile thread's way, with the checks as `mode` says. */
function child(file: string, mode: string): Run {
  const c0 = cpuMillis();
  const t0 = performance.now();
  const octets = readFileSync(file);
  let got: ReturnType<typeof loadZoneTextColumns>;
  if (mode === 'fresh') {
    // No parse thread to hand the checks to: a check thread of its own.
    process.env.SWITCHBOARD_PARSE_THREAD = 'off';
    got = loadZoneTextColumns(octets.toString('latin1'), {
      file,
      octets: true,
      checksLater: true,
      thread: true,
    });
  } else {
    const early = EarlyParse.start(octets.length);
    if (early === undefined) throw new Error('no parse thread');
    early.octets.set(octets);
    early.length = octets.length;
    try {
      got = loadZoneTextColumns('', { file, octets: true, early, checksLater: mode === 'parse' });
    } finally {
      early.close();
    }
  }
  const loadWall = performance.now() - t0;
  const settled = got.checks ? got.checks.finish() : got;
  return {
    cpu: cpuMillis() - c0,
    loadWall,
    wall: performance.now() - t0,
    findings: JSON.stringify([settled.errors, got.warnings]),
  };
}

if (process.argv[2] === '--child') {
  console.log(JSON.stringify(child(process.argv[3], process.argv[4])));
} else {
  const records = Number(arg('records', '1000000'));
  const rounds = Number(arg('rounds', '3'));
  const modes = arg('modes', 'inline,parse,fresh').split(',');
  const dir = mkdtempSync(join(tmpdir(), 'sb-checks-ab-'));
  try {
    const file = join(dir, 'big.test.zone');
    generateBigZone(file, records);
    const runs = new Map<string, Run[]>(modes.map((m) => [m, []]));
    for (let r = 0; r < rounds; r++)
      for (let k = 0; k < modes.length; k++) {
        const mode = modes[(r + k) % modes.length];
        const load = loadavg()[0].toFixed(1);
        const out = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', file, mode], {
          encoding: 'utf8',
          timeout: 300_000,
        });
        if (out.status !== 0) throw new Error(`${mode}: ${out.stderr}`);
        const got = JSON.parse(out.stdout) as Run;
        runs.get(mode)?.push(got);
        console.log(
          `${mode.padEnd(6)} round ${r + 1} (load ${load}): CPU ${got.cpu.toFixed(0)} ms, load returned ${got.loadWall.toFixed(0)} ms, checks settled ${got.wall.toFixed(0)} ms`,
        );
      }
    const first = runs.get(modes[0])?.[0]?.findings;
    const same = [...runs.values()].every((rs) => rs.every((x) => x.findings === first));
    console.log(`findings the same in every run: ${same}`);
    for (const [mode, rs] of runs)
      console.log(
        `${mode.padEnd(6)} medians of ${rs.length}: CPU ${median(rs.map((x) => x.cpu)).toFixed(0)} ms, load returned ${median(rs.map((x) => x.loadWall)).toFixed(0)} ms, checks settled ${median(rs.map((x) => x.wall)).toFixed(0)} ms`,
      );
    if (!same) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
