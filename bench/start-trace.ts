/**
 * One cold start's timeline: `serve --workers 2 --images on` over one big generated zone
 * (bench/zone-load.ts's generator), or with `--zones N` over N small zones (bench/many-zones.ts's
 * folder, the last zone probed), with the start-up trace on (`SWITCHBOARD_TRACE_START=1`,
 * src/telemetry/start-trace.ts), probed for the zone's SOA every 10 ms (not the test helpers'
 * ~0.4 s steps). Prints each round's stages — ms since the spawn, the stage's thread's own CPU
 * and its process's CPU at that point — and the medians over the rounds. With `--bin A,B` the
 * builds' starts alternate (A/B), each build's medians printed apart. Loopback only; each
 * server is stopped once it answered (or after 120 s).
 *
 *   node dist/bench/start-trace.js [--records 1000000 | --zones 100000] [--rounds 3] [--bin PATH/dist/src/cli/main.js,...]
 *     [--env 'K=V K2=V2,,K=V']
 *
 * `--env`: each side's own environment, comma-separated in the order of `--bin` (space-separated
 * K=V within a side; empty: none), e.g. one build twice, `--bin A,A --env ',SWITCHBOARD_X=on'`;
 * `NODE_ARGS=--flag` (further `--flag`s after it join it) puts node's own flags on that side's
 * command line (V8 flags such as `--single-threaded-gc` are refused in NODE_OPTIONS).
 * @module
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { killAtCleanup, killQuietly } from '../test/helpers/cleanup.js';
import { buildQuery, readHeader } from '../test/helpers/dns-client.js';
import { findFreePort, listDescendants, treeCpuSeconds } from '../test/helpers/peers.js';
import { manyZoneOrigin, writeManyZones } from './many-zones.js';
import { generateBigZone } from './zone-load.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

const records = Number(arg('records', '1000000'));
/** With `--zones N`: N small zones (the folder kept, as cold-start-ab's), the last one probed. */
const zones = Number(arg('zones', '0'));
const rounds = Number(arg('rounds', '3'));
const here = resolve(new URL('..', import.meta.url).pathname);
const binArgs = arg('bin', join(here, 'src/cli/main.js')).split(',');
const envArgs = arg('env', '').split(',');
/** One side of the A/B: a CLI and the environment it gets beside this process's. */
interface Side {
  bin: string;
  env: Record<string, string>;
  label: string;
}
const bins: Side[] = binArgs.map((bin, i) => {
  const env: Record<string, string> = {};
  for (const kv of (envArgs[i] ?? '').split(' ')) {
    const at = kv.indexOf('=');
    if (at > 0) env[kv.slice(0, at)] = kv.slice(at + 1);
    // 'NODE_ARGS=--a --b': node's own flags (a later '--' token joins them)
    else if (kv.startsWith('--') && env.NODE_ARGS !== undefined) env.NODE_ARGS += ` ${kv}`;
  }
  const named = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  return { bin, env, label: named.length > 0 ? `${bin} (${named.join(' ')})` : bin };
});
const ORIGIN = zones > 0 ? manyZoneOrigin(zones - 1, zones) : 'big.test.';
const LIMIT_MS = 120_000;

/** Sends the SOA query every 10 ms until a reply comes (or `limitMs` passes); the reply's wall time. */
function probe(port: number, limitMs: number): Promise<number | undefined> {
  const sock = createSocket('udp4');
  const q = buildQuery({ name: ORIGIN, type: 6, edns: { udpSize: 1232 } });
  return new Promise((res) => {
    const end = (at: number | undefined) => {
      clearInterval(timer);
      clearTimeout(limit);
      sock.close();
      res(at);
    };
    sock.on('message', (m) => {
      if (readHeader(m).qr) end(Date.now());
    });
    sock.on('error', () => {});
    const timer = setInterval(() => sock.send(q, port, '127.0.0.1'), 10);
    const limit = setTimeout(() => end(undefined), limitMs);
  });
}

interface Stage {
  label: string;
  ms: number;
  threadCpu: number;
  processCpu: number;
}

async function once(side: Side, dir: string): Promise<{ stages: Stage[]; cpu: number } | undefined> {
  const port = await findFreePort();
  const t0 = Date.now();
  const child = spawn(
    process.execPath,
    [
      // `--env 'NODE_ARGS=--flag ...'`: node's own flags for that side (not allowed in NODE_OPTIONS).
      ...(side.env.NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
      side.bin,
      'serve',
      '--zone-dir',
      dir,
      '--listen',
      `127.0.0.1:${port}`,
      '--workers',
      '2',
      '--images',
      'on',
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...side.env, SWITCHBOARD_TRACE_START: '1' },
    },
  );
  const unkill = killAtCleanup(child);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString('utf8');
  });
  const answered = await probe(port, LIMIT_MS);
  const cpu = child.pid ? treeCpuSeconds(child.pid) : 0;
  const rest = child.pid ? listDescendants(child.pid) : [];
  const exited = new Promise((r) => child.once('exit', r));
  if (child.pid) killQuietly(child.pid, 'SIGTERM');
  const hard = setTimeout(() => child.pid && killQuietly(child.pid, 'SIGKILL'), 5000);
  await exited;
  clearTimeout(hard);
  for (const p of rest) killQuietly(p, 'SIGKILL');
  unkill();
  if (answered === undefined) {
    console.log(`no answer within ${LIMIT_MS} ms:\n${err.slice(-3000)}`);
    return undefined;
  }
  const stages: Stage[] = [];
  const workerOf = new Map<string, number>();
  for (const line of err.split('\n')) {
    const m = /^sb-trace (\S+) (\d+) (\d+) (\S+) (\S+) thread-cpu=(-?\d+) process-cpu=(\d+)$/.exec(line);
    if (!m) continue;
    let who = m[4];
    // The two workers apart: by their process id, in the order they first spoke.
    if (who === 'worker') {
      if (!workerOf.has(m[2])) workerOf.set(m[2], workerOf.size);
      who = `worker${workerOf.get(m[2])}`;
    }
    if (who === 'compile' && m[3] !== '0') who = `compile#${m[3]}`;
    stages.push({
      label: `${who}: ${m[5].replaceAll('_', ' ')}`,
      ms: Number(m[1]) - t0,
      threadCpu: Number(m[6]),
      processCpu: Number(m[7]),
    });
  }
  stages.sort((a, b) => a.ms - b.ms);
  // A stage seen many times (a compile thread's batches of many zones): its first and last.
  const seen = new Map<string, number>();
  for (const s of stages) seen.set(s.label, (seen.get(s.label) ?? 0) + 1);
  for (const [label, n] of seen) {
    if (n < 3) continue;
    const same = stages.filter((s) => s.label === label);
    const first = same[0];
    const last = same[n - 1];
    first.label = `${label} (first of ${n})`;
    last.label = `${label} (last of ${n})`;
    for (let i = stages.length - 1; i >= 0; i--) if (stages[i].label === label) stages.splice(i, 1);
  }
  stages.push({ label: 'client: first answer', ms: answered - t0, threadCpu: -1, processCpu: -1 });
  return { stages, cpu };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const dir = zones > 0 ? `/tmp/sb-cold-start-${zones}` : mkdtempSync(join(tmpdir(), 'sb-start-trace-'));
try {
  if (zones === 0) generateBigZone(join(dir, 'big.test.zone'), records);
  else if (!existsSync(dir) || readdirSync(dir).length !== zones) writeManyZones(dir, zones);
  const runs = new Map<string, { stages: Stage[]; cpu: number }[]>(bins.map((b) => [b.label, []]));
  for (let r = 0; r < rounds; r++)
    for (const bin of r % 2 === 0 ? bins : [...bins].reverse()) {
      const load = loadavg()[0].toFixed(1);
      const got = await once(bin, dir);
      if (!got) continue;
      runs.get(bin.label)?.push(got);
      console.log(
        `\n${bin.label} round ${r + 1} (load ${load}): answered after ${got.stages.at(-1)?.ms} ms, ${got.cpu.toFixed(2)} CPU s`,
      );
      for (const s of got.stages)
        console.log(
          `  ${String(Math.round(s.ms)).padStart(6)} ms  ${s.label.padEnd(52)} ${s.threadCpu >= 0 ? `thread ${s.threadCpu} ms, process ${s.processCpu} ms` : ''}`,
        );
    }
  for (const [bin, got] of runs) {
    if (got.length === 0) continue;
    console.log(`\n${bin}: medians of ${got.length} (ms since spawn; the thread's CPU ms)`);
    // Stages by label, in the order of the first run.
    for (const s of got[0].stages) {
      const same = got.map((g) => g.stages.find((x) => x.label === s.label)).filter((x) => x !== undefined);
      if (same.length !== got.length) continue;
      const cpu = s.threadCpu >= 0 ? `  thread CPU ${median(same.map((x) => x.threadCpu))}` : '';
      console.log(
        `  ${String(Math.round(median(same.map((x) => x.ms)))).padStart(6)}  ${s.label.padEnd(52)}${cpu}`,
      );
    }
    console.log(
      `  CPU s of the server's processes at the answer: ${median(got.map((g) => g.cpu)).toFixed(2)}`,
    );
  }
} finally {
  if (zones === 0) rmSync(dir, { recursive: true, force: true });
}
