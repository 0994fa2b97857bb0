/**
 * The serve primary's cold load of a zone folder, in this process, with no DNS workers: the
 * compile pool, the pack writer, the image shipper and `CompiledZoneDir.load` as
 * image-primary.ts runs them (the settled changes published in slices while the threads
 * compile). Prints the main thread's CPU during the load (what the compile threads share the
 * cores with), the load's wall time and the whole process's CPU, per round. Writes the
 * many-zones suite's folder (N zones × 10 records) when `--dir` is not given. No network.
 *
 *   node dist/bench/primary-load.js [--zones 100000] [--dir DIR] [--rounds 3]
 * @module
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PackWriter } from '../src/image/pack.js';
import { CompiledZoneDir } from '../src/server/serve/image-dir.js';
import { CompilePool } from '../src/server/shared/compile-pool.js';
import { type ImageChange, ImageShipper } from '../src/server/shared/image-shipper.js';
import { threadCpuMs } from '../src/telemetry/start-trace.js';
import { writeManyZones } from './many-zones.js';
import { median } from './stats.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

const zones = Number(arg('zones', '100000'));
const rounds = Math.max(1, Math.min(20, Number(arg('rounds', '3'))));
let dir = arg('dir', '');
let made: string | undefined;
if (dir === '' || !existsSync(dir)) {
  made = mkdtempSync(join(tmpdir(), 'sb-primary-load-'));
  dir = join(made, 'zones');
  writeManyZones(dir, zones);
}
/** As image-primary.ts: the settled changes published every this many. */
const PUBLISH_EVERY = 5000;

const mainCpu: number[] = [];
const walls: number[] = [];
try {
  for (let r = 1; r <= rounds; r++) {
    const writer = new PackWriter();
    const pool = new CompilePool();
    const shipper = new ImageShipper(writer, { broadcast: () => {}, snapshotFileZones: 1 });
    const folder = new CompiledZoneDir(dir, pool, writer);
    const c0 = threadCpuMs();
    const p0 = process.cpuUsage();
    const t0 = performance.now();
    let upTo = 0;
    const settled = (changes: readonly ImageChange[]) => {
      if (changes.length - upTo < PUBLISH_EVERY) return;
      shipper.publish(changes.slice(upTo), false);
      upTo = changes.length;
    };
    const first = await folder.load({ settled, staged: true });
    shipper.publish(first.changes.slice(upTo), false);
    const wall = performance.now() - t0;
    const cpu = threadCpuMs() - c0;
    const p = process.cpuUsage(p0);
    console.log(
      `round ${r}: ${shipper.size} zones; load ${wall.toFixed(0)} ms wall, primary main thread ${cpu.toFixed(0)} ms CPU, process ${((p.user + p.system) / 1000).toFixed(0)} ms CPU`,
    );
    mainCpu.push(cpu);
    walls.push(wall);
    shipper.close();
    await pool.close();
    writer.close();
  }
  console.log(
    `median of ${rounds}: main thread ${median(mainCpu).toFixed(0)} ms CPU, load ${median(walls).toFixed(0)} ms wall`,
  );
} finally {
  if (made !== undefined) rmSync(made, { recursive: true, force: true });
}
