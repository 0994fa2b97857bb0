/**
 * Child process of the zone-load benchmark: loads one zone file with src/zone/load.ts and
 * prints one JSON line with the load time, the record count and the memory figures. Run in
 * its own process so its peak RSS (VmHWM) is the load's alone.
 *
 * Usage: node dist/bench/load-zone-child.js FILE [ORIGIN]
 * @module
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loadZoneFile } from '../src/zone/load.js';

/** What the child reports. */
export interface LoadZoneReport {
  ms: number;
  records: number;
  /** `process.memoryUsage().rss` right after the load, with the zone still referenced. */
  rssBytes: number;
  /** Peak resident set size of the process (VmHWM). */
  peakRssBytes: number;
  heapUsedBytes: number;
  /** CPU time (user + system) of the load, ms: unlike the wall time, not inflated by other work on the machine. */
  cpuMs: number;
}

function readVmHwm(): number {
  const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

function main(): void {
  const [file, origin] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: load-zone-child FILE [ORIGIN]\n');
    process.exit(2);
  }
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const loaded = loadZoneFile(file, origin ? { origin } : {});
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const mem = process.memoryUsage();
  const report: LoadZoneReport = {
    ms,
    records: loaded.zone.recordCount,
    rssBytes: mem.rss,
    peakRssBytes: readVmHwm(),
    heapUsedBytes: mem.heapUsed,
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main();
