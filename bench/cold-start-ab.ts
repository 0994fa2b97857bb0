/**
 * A/B of `serve`'s cold start over many zones (issue 7): two builds (or one build with two
 * environments) started in alternation over the same folder of N zones × 10 records
 * (bench/many-zones.ts's zones), each timed from its spawn until the last zone answers its SOA
 * with NOERROR+AA (asked every 10 ms), with the CPU seconds of the primary (all its threads) and of its DNS
 * workers read from /proc at that moment. Medians per side; pairs alternate which side goes
 * first, so a change in the machine's load spreads over both.
 *
 *   node dist/bench/cold-start-ab.js [--zones 100000] [--pairs 3] [--workers 2] [--dir DIR]
 *     [--a dist/src/cli/main.js] [--b PATH] [--a-env K=V,...] [--b-env K=V,...] [--args '...']
 *     [--a-node '--flag ...'] [--b-node '--flag ...']
 *
 * `--dir`: the zone folder, written once if it does not hold N zone files (kept, so the files
 * are in the page cache for every run; default /tmp/sb-cold-start-N). `--a`/`--b`: the CLI of
 * each side (default both this build: then tell them apart with `--a-env`/`--b-env`, or with
 * Node flags for the primary, `--a-node`/`--b-node`, which its workers inherit).
 * @module
 */
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildQuery, queryUdp, readHeader } from '../test/helpers/dns-client.js';
import {
  clockTicksPerSecond,
  findFreePort,
  listDescendants,
  readProcStat,
  startSwitchboard,
} from '../test/helpers/peers.js';
import { manyZoneOrigin, probeSample, timeAllAnswered, writeManyZones } from './many-zones.js';
import { median } from './stats.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

function parseEnv(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of s.split(',').filter(Boolean)) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new Error(`bad env '${kv}' (K=V)`);
    out[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return out;
}

/** CPU seconds of one process (all its threads, and children it reaped). */
function cpuOf(pid: number): number {
  const s = readProcStat(pid);
  return s ? (s.utime + s.stime + s.cutime + s.cstime) / clockTicksPerSecond() : 0;
}

interface Run {
  /** From the spawn until the last zone answered (asked every 10 ms). */
  seconds: number;
  /** Until the test helper's own probe (a try every ~400 ms) saw it: what this bench printed before. */
  helperSeconds: number;
  cpu: number;
  primaryCpu: number;
  workersCpu: number[];
}

async function allAnswer(port: number, names: string[]): Promise<number> {
  let bad = 0;
  for (const name of names) {
    try {
      const h = readHeader(
        await queryUdp(buildQuery({ name, type: 6 }), {
          host: '127.0.0.1',
          port,
          timeoutMs: 1000,
          retries: 1,
        }),
      );
      if (!(h.qr && h.rcode === 0 && h.aa)) bad++;
    } catch {
      bad++;
    }
  }
  return bad;
}

async function main(): Promise<void> {
  const n = Number(arg('zones', '100000'));
  const pairs = Number(arg('pairs', '3'));
  const workers = Number(arg('workers', '2'));
  const dir = resolve(arg('dir', `/tmp/sb-cold-start-${n}`));
  const extra = arg('args', '').split(' ').filter(Boolean);
  const sides = [
    {
      label: 'A',
      bin: resolve(arg('a', 'dist/src/cli/main.js')),
      env: parseEnv(arg('a-env', '')),
      node: arg('a-node', '').split(' ').filter(Boolean),
    },
    {
      label: 'B',
      bin: resolve(arg('b', 'dist/src/cli/main.js')),
      env: parseEnv(arg('b-env', '')),
      node: arg('b-node', '').split(' ').filter(Boolean),
    },
  ];
  if (!existsSync(dir) || readdirSync(dir).length !== n) {
    console.log(`writing ${n} zones into ${dir}`);
    writeManyZones(dir, n);
  }
  const last = manyZoneOrigin(n - 1, n);
  const sample = probeSample(n).map((i) => manyZoneOrigin(i, n));
  const runs: Run[][] = [[], []];
  for (let p = 0; p < pairs; p++) {
    const order = p % 2 === 0 ? [0, 1] : [1, 0];
    for (const k of order) {
      const side = sides[k];
      const saved = { ...process.env };
      Object.assign(process.env, side.env);
      const port = await findFreePort('127.0.0.1');
      const t0 = performance.now();
      // The last zone asked every 10 ms from the spawn on (many-zones.ts): the helper's own wait
      // tries every ~400 ms, and timed the start in steps that long.
      const answered = timeAllAnswered('127.0.0.1', port, [last], t0 + 300_000);
      answered.catch(() => {});
      let peer: Awaited<ReturnType<typeof startSwitchboard>>;
      try {
        peer = await startSwitchboard(dir, {
          port,
          bin: side.bin,
          nodeArgs: side.node,
          workers,
          args: extra,
          firstOrigin: last,
          readyTimeoutMs: 300_000,
          // Timed to the first answer, as before the start line was waited for too.
          waitForStartLine: false,
        });
      } finally {
        process.env = saved;
      }
      const helperSeconds = (performance.now() - t0) / 1000;
      const seconds = ((await answered) - t0) / 1000;
      const kids = listDescendants(peer.pid);
      const primaryCpu = cpuOf(peer.pid);
      const workersCpu = kids.map(cpuOf);
      const cpu = primaryCpu + workersCpu.reduce((a, b) => a + b, 0);
      const bad = await allAnswer(peer.port, sample);
      await peer.stop();
      if (bad > 0) throw new Error(`${side.label}: ${bad} of ${sample.length} sampled zones did not answer`);
      runs[k].push({ seconds, helperSeconds, cpu, primaryCpu, workersCpu });
      console.log(
        `pair ${p + 1} ${side.label}: last zone ${seconds.toFixed(2)} s (the helper's ~400 ms probe: ${helperSeconds.toFixed(2)} s), CPU ${cpu.toFixed(2)} s (primary ${primaryCpu.toFixed(2)}, workers ${workersCpu.map((c) => c.toFixed(2)).join('/')})`,
      );
    }
  }
  for (const [k, side] of sides.entries()) {
    const r = runs[k];
    const f = (xs: number[]) => median(xs).toFixed(2);
    console.log(
      `${side.label} (${[...side.node, side.bin].join(' ')}${Object.keys(side.env).length > 0 ? ` ${JSON.stringify(side.env)}` : ''}): ` +
        `last zone ${f(r.map((x) => x.seconds))} s [${r.map((x) => x.seconds.toFixed(2)).join(', ')}] ` +
        `(helper's probe ${f(r.map((x) => x.helperSeconds))} s), ` +
        `CPU ${f(r.map((x) => x.cpu))} s [${r.map((x) => x.cpu.toFixed(2)).join(', ')}], ` +
        `primary ${f(r.map((x) => x.primaryCpu))} s, workers ${f(r.flatMap((x) => x.workersCpu))} s each (medians of ${r.length})`,
    );
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
