/**
 * Two builds of Switchboard (and, with `--trivial`, the trivial Node responder) side by side at
 * a FIXED offered rate: each server pinned to CPU 1, dnsperf to CPU 0 sending `--qps` queries a
 * second for `--duration` seconds, server CPU from /proc over its process tree; rounds
 * alternate the servers; medians. At a fixed rate every server answers the same queries, so
 * CPU per query compares even when a shared machine keeps dnsperf from saturating the server
 * (the saturating suites of run.ts then swing with the client's share of the CPU).
 *
 *   node dist/bench/ab-rate.js --baseline-bin OLD/dist/src/cli/main.js [--io node|native]
 *     [--mix existing|random] [--rounds 3] [--duration 6] [--qps 15000] [--trivial]
 *
 * `--qps 0`: no fixed rate, dnsperf sends as fast as the server answers (`-q 100` in flight),
 * as the saturating suites of run.ts do (random mix: a file of 250,000 queries a second).
 *
 * Loopback only; dnsperf stops by itself (`-l`), servers are stopped after each round.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { assertLoopback } from '../test/helpers/dns-client.js';
import {
  type Peer,
  startSwitchboard,
  startTrivialResponder,
  switchboardBin,
  treeCpuSeconds,
} from '../test/helpers/peers.js';
import { BENCH_ORIGIN, writeBenchZone } from './dnsperf-bench.js';
import { writeRandomQueryFile } from './queries.js';
import { median } from './stats.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

/** dnsperf at `qps` for `seconds` against `peer`; returns the queries completed. */
function dnsperf(peer: Peer, file: string, seconds: number, qps: number): number {
  assertLoopback(peer.host);
  const args = ['-c', '0', 'dnsperf', '-s', peer.host, '-p', String(peer.port), '-d', file];
  args.push('-l', String(seconds), '-c', '2', '-q', '100', '-t', '2');
  // 0: as fast as the server answers (the saturating suites of run.ts), else a fixed rate.
  if (qps > 0) args.push('-Q', String(qps));
  const r = spawnSync('taskset', args, { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
  if (r.status !== 0) throw new Error(`dnsperf failed: ${r.stderr}`);
  return Number(/Queries completed:\s+(\d+)/.exec(r.stdout)?.[1] ?? Number.NaN);
}

async function main(): Promise<void> {
  const baseline = process.argv.includes('--baseline-bin') ? resolve(arg('baseline-bin', '')) : undefined;
  const io = arg('io', 'node') as 'node' | 'native';
  const mix = arg('mix', 'existing');
  const rounds = Number(arg('rounds', '3'));
  const seconds = Number(arg('duration', '6'));
  const qps = Number(arg('qps', '15000'));
  const dir = mkdtempSync(join(tmpdir(), 'ab-rate-'));
  try {
    const { zoneDir, queryFile } = writeBenchZone(dir, 10_000);
    const servers: [string, () => Promise<Peer>][] = [
      ['new', () => startSwitchboard(zoneDir, { workers: 1, cpu: 1, io })],
    ];
    if (baseline)
      servers.push(['baseline', () => startSwitchboard(zoneDir, { workers: 1, cpu: 1, io, bin: baseline })]);
    if (process.argv.includes('--trivial'))
      servers.push(['trivial', () => startTrivialResponder({ cpu: 1 })]);
    const results = new Map<string, number[]>();
    for (let round = 0; round < rounds; round++) {
      for (const [name, start] of servers) {
        let file = queryFile;
        if (mix === 'random') {
          // A new file for every server and round: no name is asked twice.
          file = join(dir, `random-${round}-${name}.txt`);
          const count = Math.ceil((qps > 0 ? qps : 250_000) * (seconds + 2) * 1.2);
          writeRandomQueryFile(file, {
            count,
            seed: 1000 + round * 10 + name.length,
            tag: `ab${round}${name[0]}`,
            origin: BENCH_ORIGIN,
          });
        }
        const peer = await start();
        try {
          dnsperf(peer, file, 1, qps); // warm-up
          const cpu0 = treeCpuSeconds(peer.pid);
          const done = dnsperf(peer, file, seconds, qps);
          const cpu = treeCpuSeconds(peer.pid) - cpu0;
          const rate = done / cpu;
          results.set(name, [...(results.get(name) ?? []), rate]);
          console.log(
            `${name} round ${round + 1}: ${done} queries, ${cpu.toFixed(2)} CPU s, ${rate.toFixed(0)} q/CPU-s`,
          );
        } finally {
          await peer.stop();
        }
      }
    }
    const m = new Map([...results].map(([k, v]) => [k, median(v)]));
    const line = [...m].map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ');
    console.log(
      `${io} path, ${mix} mix at ${qps} qps: queries per server CPU-second (medians of ${rounds}): ${line}`,
    );
    const n = m.get('new')!;
    for (const other of ['baseline', 'trivial'])
      if (m.has(other)) console.log(`new / ${other}: ${(n / m.get(other)!).toFixed(2)}×`);
    if (m.has('baseline') && m.has('trivial'))
      console.log(`baseline / trivial: ${(m.get('baseline')! / m.get('trivial')!).toFixed(2)}×`);
    console.log(`(new: ${switchboardBin()})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
