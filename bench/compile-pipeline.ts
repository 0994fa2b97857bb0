/**
 * The compile pipeline of a `serve --images on` primary (issue 7), alone: a zone folder read
 * and compiled by the compile pool (src/server/serve/image-dir.ts), the images stored in packs
 * as the cold start does, then the same folder loaded again unchanged (a SIGHUP with nothing
 * changed). No DNS worker runs, so the figure is the compile phase only.
 *
 *   node dist/bench/compile-pipeline.js [--dir DIR] [--zones 100000] [--threads N] [--depth N] [--runs 3]
 *
 * DIR (default: a temp folder of `--zones` many-zones files, removed at the end) is only read.
 * Prints per run: the cold load + publish time and CPU time (all threads of the process: a
 * figure a busy machine disturbs less than the wall time), the reload's, and the share of the compile
 * threads' time spent waiting for work (their event loops' idle share; a thread waiting for
 * the primary's next batch is idle).
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CompiledZoneDir } from '../src/server/serve/image-dir.js';
import { CompilePool } from '../src/server/shared/compile-pool.js';
import { ImageShipper } from '../src/server/shared/image-shipper.js';
import { PackWriter } from '../src/server/shared/images.js';
import { writeManyZones } from './many-zones.js';
import { median } from './stats.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const runs = Number(arg('runs') ?? 3);
const threads = arg('threads') !== undefined ? Number(arg('threads')) : undefined;
const depth = arg('depth') !== undefined ? Number(arg('depth')) : undefined;
let dir = arg('dir');
let made: string | undefined;
if (dir === undefined) {
  made = mkdtempSync(join(tmpdir(), 'sb-bench-pipeline-'));
  dir = join(made, 'zones');
  writeManyZones(dir, Number(arg('zones') ?? 100_000));
}

const cold: number[] = [];
const reload: number[] = [];
const idle: number[] = [];
const cpu: number[] = [];
try {
  for (let r = 0; r < runs; r++) {
    const pool = new CompilePool({
      ...(threads !== undefined ? { threads } : {}),
      ...(depth !== undefined ? { depth } : {}),
    });
    const writer = new PackWriter();
    const shipper = new ImageShipper(writer, { broadcast: () => {} });
    const zones = new CompiledZoneDir(dir, pool, writer); // stored during the load, as serve does
    try {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      // Published as serve does: slices of 5,000 settled changes while the threads compile.
      let upTo = 0;
      const first = await zones.load({
        settled: (changes) => {
          if (changes.length - upTo < 5000) return;
          shipper.publish(changes.slice(upTo), false);
          upTo = changes.length;
        },
      });
      shipper.publish(first.changes.slice(upTo), false);
      first.commit();
      const t1 = performance.now();
      const c1 = process.cpuUsage();
      const u = pool.utilization();
      const again = await zones.load();
      const t2 = performance.now();
      const c2 = process.cpuUsage();
      const coldCpu = (c1.user + c1.system - c0.user - c0.system) / 1e3;
      const reloadCpu = (c2.user + c2.system - c1.user - c1.system) / 1e3;
      cpu.push(coldCpu);
      cold.push(t1 - t0);
      reload.push(t2 - t1);
      const share = u.idle / (u.idle + u.active);
      idle.push(share);
      console.log(
        `run ${r + 1}: ${shipper.size} zones, cold ${Math.round(t1 - t0)} ms, ` +
          `${Math.round(coldCpu)} ms CPU (threads ${(100 * share).toFixed(1)}% idle); ` +
          `reload unchanged ${Math.round(t2 - t1)} ms, ${Math.round(reloadCpu)} ms CPU ` +
          `(${again.changes.length} changes); ${pool.size} threads`,
      );
    } finally {
      await pool.close();
      writer.close();
    }
  }
  console.log(
    `median of ${runs}: cold ${Math.round(median(cold))} ms, ${Math.round(median(cpu))} ms CPU, threads ${(100 * median(idle)).toFixed(1)}% idle, ` +
      `reload ${Math.round(median(reload))} ms`,
  );
} finally {
  if (made) rmSync(made, { recursive: true, force: true });
}
