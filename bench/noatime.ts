/**
 * Reading freshly written zone files with and without O_NOATIME (compile-thread.ts
 * `openZoneFile`), alternated: N files of ~300 octets are written and synced, then each is
 * opened, read and closed once; printed are the pass's wall time and the machine's CPU (all
 * cores, from /proc/stat) over the pass and the `--settle` seconds after it, when the journal
 * writes the atime updates a relatime mount makes on a first read. Linux; no network.
 *
 *   node dist/bench/noatime.js [--files 100000] [--rounds 2] [--settle 6]
 * @module
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  constants,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

const files = Math.max(1, Math.min(200_000, Number(arg('files', '100000'))));
const rounds = Math.max(1, Math.min(10, Number(arg('rounds', '2'))));
const settleMs = Math.max(0, Math.min(30, Number(arg('settle', '6')))) * 1000;

/** Non-idle CPU of the whole machine so far, ms (user, nice, system, irq, softirq). */
function machineCpuMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  const hz = 100;
  return ((f[0] + f[1] + f[2] + f[5] + f[6]) * 1000) / hz;
}

if (process.platform !== 'linux' || constants.O_NOATIME === undefined) {
  console.log('noatime: Linux only');
  process.exit(0);
}
const text = `$ORIGIN a.test.\n${'@ 3600 TXT "padding"\n'.repeat(14)}`;
const buf = Buffer.allocUnsafe(65536);
const root = mkdtempSync(join(tmpdir(), 'sb-noatime-'));
try {
  for (let r = 1; r <= rounds; r++)
    for (const [label, flags] of [
      ['plain', constants.O_RDONLY],
      ['O_NOATIME', constants.O_RDONLY | constants.O_NOATIME],
    ] as const) {
      const dir = join(root, `${label}-${r}`);
      mkdirSync(dir);
      for (let i = 0; i < files; i++) writeFileSync(join(dir, `f${i}.zone`), text);
      execFileSync('sync');
      await new Promise((res) => setTimeout(res, 3000));
      const c0 = machineCpuMs();
      const t0 = performance.now();
      for (let i = 0; i < files; i++) {
        const fd = openSync(join(dir, `f${i}.zone`), flags);
        readSync(fd, buf, 0, buf.length, 0);
        closeSync(fd);
      }
      const wall = performance.now() - t0;
      await new Promise((res) => setTimeout(res, settleMs));
      console.log(
        `round ${r} ${label}: read pass ${wall.toFixed(0)} ms; machine CPU over it and ${settleMs / 1000} s after: ${(machineCpuMs() - c0).toFixed(0)} ms`,
      );
      rmSync(dir, { recursive: true, force: true });
    }
} finally {
  rmSync(root, { recursive: true, force: true });
}
