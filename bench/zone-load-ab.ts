/**
 * `serve --workers 2 --images on` over one big generated zone (bench/zone-load.ts's
 * generator), this checkout's build against another's (`--baseline DIR`, a checkout with a
 * built `dist/`), starts alternating: seconds until the SOA is answered, CPU seconds of the
 * server's processes, and the peak of the PSS summed over them (every process's
 * smaps_rollup sampled each 100 ms, as bench/pss.ts), with each process's share at that
 * peak — which process the peak comes from (the primary and its compile threads, or the
 * workers once they map the image). Loopback only; each server is stopped after it answered.
 *
 *   node dist/bench/zone-load-ab.js --baseline /work/main [--records 1000000] [--rounds 2] [--cache]
 *
 * `--cache`: each start runs with the image cache on (`SWITCHBOARD_IMAGE_CACHE`, a fresh folder
 * per build and round) and is followed by a second start over the cache it wrote (a warm
 * start: the image taken from the cache, nothing compiled); both are printed.
 * @module
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { listDescendants, startSwitchboard, treeCpuSeconds } from '../test/helpers/peers.js';
import { readRollup } from './pss.js';
import { generateBigZone } from './zone-load.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

const baseline = arg('baseline', '');
if (baseline === '') throw new Error('--baseline DIR (a checkout with a built dist/) is required');
const records = Number(arg('records', '1000000'));
const rounds = Number(arg('rounds', '2'));
const cache = process.argv.includes('--cache');
const here = resolve(new URL('..', import.meta.url).pathname);
const builds = [
  { label: 'baseline', bin: join(resolve(baseline), 'dist/src/cli/main.js') },
  { label: 'this', bin: join(here, 'src/cli/main.js') },
];
const mib = (b: number): string => (b / 2 ** 20).toFixed(0);

const dir = mkdtempSync(join(tmpdir(), 'sb-zone-load-ab-'));
// The caches (--cache) beside the zone folder, not in it.
const caches = mkdtempSync(join(tmpdir(), 'sb-zone-load-ab-cache-'));
try {
  generateBigZone(join(dir, 'big.test.zone'), records);
  for (let r = 0; r < rounds; r++)
    for (const b of r % 2 === 0 ? builds : [...builds].reverse())
      for (const start of cache ? ['cold', 'warm'] : ['']) {
        if (cache) {
          const at = join(caches, `${b.label}-${r}`);
          if (start === 'cold') mkdirSync(at);
          process.env.SWITCHBOARD_IMAGE_CACHE = at;
        }
        let peak = { sum: 0, per: [] as [number, number][] };
        const timer = setInterval(() => {
          const per: [number, number][] = [];
          let sum = 0;
          for (const p of listDescendants(process.pid)) {
            const x = readRollup(p);
            if (x) {
              per.push([p, x.pss]);
              sum += x.pss;
            }
          }
          if (sum > peak.sum) peak = { sum, per };
        }, 100);
        const t0 = performance.now();
        const peer = await startSwitchboard(dir, {
          bin: b.bin,
          workers: 2,
          args: ['--images', 'on'],
          readyTimeoutMs: 300_000,
          // Timed to the first answer, as before the start line was waited for too.
          waitForStartLine: false,
        });
        const seconds = (performance.now() - t0) / 1000;
        const cpu = treeCpuSeconds(peer.pid);
        await new Promise((res) => setTimeout(res, 1000));
        clearInterval(timer);
        await peer.stop();
        const parts = peak.per.map(([p, v]) => `${p === peer.pid ? 'primary ' : ''}${mib(v)}`).join(' + ');
        console.log(
          `${b.label}${start === '' ? '' : ` (${start}, image cache)`}: answers after ${seconds.toFixed(2)} s, ${cpu.toFixed(2)} CPU s, peak PSS ${mib(peak.sum)} MiB (${parts}); load ${loadavg()[0].toFixed(1)}`,
        );
      }
} finally {
  rmSync(dir, { recursive: true, force: true });
  rmSync(caches, { recursive: true, force: true });
}
