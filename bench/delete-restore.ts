/**
 * How long deleting and restoring a big zone take (the length of their write transactions,
 * which hold every other writer): the control plane on a fresh SQLite store, one zone of N
 * records created from a zone file, then deleted and restored `--rounds` times. Since
 * migration 8 both are one-row writes (the deleted zone keeps its content id), so the times
 * should not grow with N.
 *
 * Usage: node dist/bench/delete-restore.js [--records N] [--rounds N]
 * Nothing on the network; stops by itself.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreControlPlane } from '../src/control/plane.js';
import { median } from './stats.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const records = arg('--records', 100_000);
const rounds = arg('--rounds', 3);
const dataDir = mkdtempSync(join(tmpdir(), 'sb-delete-restore-'));
try {
  const cp = await StoreControlPlane.open({ dataDir });
  try {
    const admin = cp.systemPrincipal();
    const lines = [
      '$TTL 300',
      '@ SOA ns1.big.test. h.big.test. 1 3600 600 86400 300',
      '@ NS ns1.big.test.',
      'ns1 A 10.0.0.1',
    ];
    for (let i = 0; i < records; i++)
      lines.push(`h${i} A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    await cp.createZone(admin, { name: 'big.test', zonefile: `${lines.join('\n')}\n` });
    const del: number[] = [];
    const res: number[] = [];
    for (let k = 0; k < rounds; k++) {
      let t = performance.now();
      await cp.deleteZone(admin, 'big.test');
      del.push(performance.now() - t);
      t = performance.now();
      await cp.restoreZone(admin, 'big.test');
      res.push(performance.now() - t);
    }
    const ms = (xs: number[]) => xs.map((x) => Math.round(x));
    console.log(
      JSON.stringify({
        records,
        deleteMs: ms(del),
        restoreMs: ms(res),
        medianDeleteMs: Math.round(median(del)),
        medianRestoreMs: Math.round(median(res)),
      }),
    );
  } finally {
    await cp.close();
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
