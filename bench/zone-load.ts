/**
 * Zone load benchmark: generates a large zone (mixed A/AAAA/MX/TXT/CNAME and NS delegations
 * with glue) in a temp folder, then measures how long Switchboard's loader takes and how much
 * memory it peaks at, next to NSD and Knot (time from start until they answer the SOA, and the
 * VmHWM of their processes).
 * @module
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { killAtCleanup } from '../test/helpers/cleanup.js';
import {
  findCommand,
  listDescendants,
  type Peer,
  procStatusBytes,
  startKnot,
  startNsd,
  startSwitchboard,
  treeCpuSeconds,
} from '../test/helpers/peers.js';
import type { LoadZoneReport } from './load-zone-child.js';
import { TreeMemorySampler } from './pss.js';
import { median } from './stats.js';

/** The origin of the generated zone. */
export const BIG_ORIGIN = 'big.test.';

/**
 * Writes a zone of about `records` records to `file`: per name an A, every 2nd an AAAA,
 * every 10th an MX and a TXT, every 20th name is a CNAME instead, every 50th a delegation
 * (2 NS + glue). Returns the number of records written.
 */
export function generateBigZone(file: string, records: number): number {
  const fd = openSync(file, 'w');
  let chunk = '';
  let count = 0;
  const put = (line: string): void => {
    chunk += line;
    count++;
    if (chunk.length > 1 << 20) {
      writeSync(fd, chunk);
      chunk = '';
    }
  };
  put(`$ORIGIN ${BIG_ORIGIN}\n$TTL 3600\n@ SOA ns1.big.test. hostmaster.big.test. 1 7200 1800 1209600 300\n`);
  put('@ NS ns1.big.test.\n');
  put('@ NS ns2.big.test.\n');
  put('ns1 A 192.0.2.1\n');
  put('ns2 A 192.0.2.2\n');
  // RFC 2544 benchmarking addresses (198.18.0.0/15) and RFC 3849 documentation IPv6.
  for (let i = 0; count < records; i++) {
    const a = `198.${18 + ((i >> 16) & 1)}.${(i >> 8) & 255}.${i & 255}`;
    if (i % 50 === 49) {
      put(`d${i} NS ns1.d${i}\n`);
      put(`d${i} NS ns.elsewhere.example.\n`);
      put(`ns1.d${i} A ${a}\n`);
    } else if (i % 20 === 19) {
      put(`c${i} CNAME h${i - 1}\n`);
    } else {
      put(`h${i} A ${a}\n`);
      if (i % 2 === 0) put(`h${i} AAAA 2001:db8::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}\n`);
      if (i % 10 === 0) {
        put(`h${i} MX 10 h${i}\n`);
        put(`h${i} TXT "record ${i} of the generated benchmark zone"\n`);
      }
    }
  }
  writeSync(fd, chunk);
  closeSync(fd);
  return count;
}

/** One server's load figures. */
export interface LoadResult {
  label: string;
  /** Seconds until loaded (loader) or until the SOA is answered (servers). */
  seconds: number;
  /** Peak RSS of the largest process. */
  peakRssBytes: number;
  /** Sum of the peak RSS of all its processes (shared pages counted more than once). */
  totalPeakRssBytes: number;
  /** CPU seconds the load took (all its processes, from /proc; the loader's own count). */
  cpuSeconds: number;
  /** Peak of the PSS summed over all its processes, sampled during the load and once after. */
  peakPssBytes: number;
  /** Peak of the RSS summed over all its processes, sampled likewise. */
  peakRssSumBytes: number;
  note: string;
  error?: string;
}

function runLoaderChild(file: string): Promise<LoadZoneReport> {
  const script = fileURLToPath(new URL('./load-zone-child.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, file, BIG_ORIGIN], { stdio: ['ignore', 'pipe', 'pipe'] });
    // SIGINT/SIGTERM of the benchmark stops the loader too (test/helpers/cleanup.ts).
    const unkill = killAtCleanup(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err = (err + d).slice(-4000);
    });
    // Stops by itself: a loader that hangs is killed after 10 minutes.
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      unkill();
      if (code !== 0) return reject(new Error(`loader exited with ${code}: ${err.trim()}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as LoadZoneReport);
      } catch {
        reject(new Error(`loader printed no report: ${out}${err}`));
      }
    });
  });
}

function treePeakRss(pid: number): { max: number; sum: number } {
  let max = 0;
  let sum = 0;
  for (const p of [pid, ...listDescendants(pid)]) {
    const hwm = procStatusBytes(p, 'VmHWM');
    max = Math.max(max, hwm);
    sum += hwm;
  }
  return { max, sum };
}

/**
 * `settled`: a line the server prints once it is done building (a staged big zone's full image
 * swapped in, docs/IMAGE.md "Answer first, templates after"): memory is sampled until it appears
 * (at most 30 s) and one second more, so the peak covers the whole start, not only the first answer.
 */
async function timeServer(
  label: string,
  note: string,
  start: () => Promise<Peer>,
  settled?: RegExp,
): Promise<LoadResult> {
  // Samples every process this benchmark starts (one server at a time), from before the spawn.
  const sampler = new TreeMemorySampler(250);
  const t0 = performance.now();
  let peer: Peer | undefined;
  try {
    peer = await start();
    const seconds = (performance.now() - t0) / 1000;
    const cpuSeconds = treeCpuSeconds(peer.pid);
    if (settled) {
      const p = peer;
      const until = performance.now() + 30_000;
      while (!settled.test(p.output()) && performance.now() < until)
        await new Promise((r) => setTimeout(r, 50));
    }
    // One more second: a server may still be building after it first answers.
    await new Promise((r) => setTimeout(r, 1000));
    const peak = sampler.stop();
    const rss = treePeakRss(peer.pid);
    return {
      label,
      seconds,
      cpuSeconds,
      peakRssBytes: rss.max,
      totalPeakRssBytes: rss.sum,
      peakPssBytes: peak.pss,
      peakRssSumBytes: peak.rss,
      note,
    };
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    return { label, seconds: Number.NaN, ...NO_MEMORY, note, error: msg };
  } finally {
    sampler.stop();
    await peer?.stop();
  }
}

const NO_MEMORY = {
  cpuSeconds: Number.NaN,
  peakRssBytes: 0,
  totalPeakRssBytes: 0,
  peakPssBytes: 0,
  peakRssSumBytes: 0,
} as const;

/**
 * Per server, the median of each figure over the rounds (errors kept when every round failed);
 * the note lists each round's seconds when there were several.
 */
export function medianResults(perRound: LoadResult[][]): LoadResult[] {
  const labels = [...new Set(perRound.flat().map((r) => r.label))];
  return labels.map((label) => {
    const runs = perRound.flat().filter((r) => r.label === label);
    const ok = runs.filter((r) => !r.error);
    const med = (f: (r: LoadResult) => number): number => median(ok.map(f));
    if (ok.length === 0) return runs[0];
    return {
      label,
      seconds: med((r) => r.seconds),
      cpuSeconds: med((r) => r.cpuSeconds),
      peakRssBytes: med((r) => r.peakRssBytes),
      totalPeakRssBytes: med((r) => r.totalPeakRssBytes),
      peakPssBytes: med((r) => r.peakPssBytes),
      peakRssSumBytes: med((r) => r.peakRssSumBytes),
      note:
        runs.length > 1
          ? `${ok[0].note}; median of ${ok.length} (s: ${ok.map((r) => r.seconds.toFixed(2)).join(', ')})`
          : ok[0].note,
      error: ok.length < runs.length ? `${runs.length - ok.length} round(s) failed` : undefined,
    };
  });
}

/** Options of the zone load benchmark. */
export interface ZoneLoadOptions {
  records: number;
  /** Rounds (each server started this many times); medians reported. Default 1. */
  rounds?: number;
  log: (line: string) => void;
}

/** Runs the zone load benchmark; every server is stopped and the temp folder removed afterwards. */
export async function runZoneLoadBench(
  opts: ZoneLoadOptions,
): Promise<{ records: number; bytes: number; results: LoadResult[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-bigzone-'));
  try {
    const file = join(dir, 'big.test.zone');
    const records = generateBigZone(file, opts.records);
    const bytes = statSync(file).size;
    opts.log(`zone-load: generated ${records} records (${(bytes / 1e6).toFixed(1)} MB) in ${file}`);
    const rounds = Math.max(1, opts.rounds ?? 1);
    const perRound: LoadResult[][] = [];
    for (let round = 1; round <= rounds; round++) {
      opts.log(`zone-load: round ${round} of ${rounds}`);
      const results: LoadResult[] = [];

      opts.log('zone-load: Switchboard loadZoneFile (child process)');
      const sampler = new TreeMemorySampler(250);
      try {
        const r = await runLoaderChild(file);
        const peak = sampler.stop();
        results.push({
          label: 'Switchboard loadZoneFile',
          seconds: r.ms / 1000,
          cpuSeconds: r.cpuMs / 1000,
          peakRssBytes: r.peakRssBytes,
          totalPeakRssBytes: r.peakRssBytes,
          peakPssBytes: peak.pss,
          peakRssSumBytes: peak.rss,
          note: `${r.records} records; RSS after load ${(r.rssBytes / 2 ** 20).toFixed(0)} MiB`,
        });
      } catch (e) {
        results.push({
          label: 'Switchboard loadZoneFile',
          seconds: Number.NaN,
          ...NO_MEMORY,
          note: '',
          error: (e as Error).message.split('\n')[0],
        });
      } finally {
        sampler.stop();
      }
      const zones = [{ origin: BIG_ORIGIN, file }];
      const ready = { readyTimeoutMs: 300_000 };
      // Timed to the first answer (not to the start line, which waits for every worker's TCP too).
      const sbReady = { ...ready, waitForStartLine: false };
      opts.log('zone-load: Switchboard serve --workers 1 (until it answers the SOA)');
      results.push(
        await timeServer(
          'Switchboard serve --images off',
          'serve --workers 1 --images off (every worker parses the zone); all processes',
          () => startSwitchboard(dir, { workers: 1, args: ['--images', 'off'], ...sbReady }),
        ),
      );
      opts.log('zone-load: Switchboard serve --workers 2 (until it answers the SOA)');
      results.push(
        await timeServer(
          'Switchboard serve --workers 2 --images off',
          'serve --workers 2 --images off; all processes',
          () => startSwitchboard(dir, { workers: 2, args: ['--images', 'off'], ...sbReady }),
        ),
      );
      opts.log('zone-load: Switchboard serve --workers 2 --images on (until it answers the SOA)');
      results.push(
        await timeServer(
          'Switchboard serve --workers 2 --images on',
          'serve --workers 2 --images on: compiled once in the primary, workers map the image; all processes',
          () => startSwitchboard(dir, { workers: 2, args: ['--images', 'on'], ...sbReady }),
          // A zone this big is staged by default: sampled until its full image is in.
          process.env.SWITCHBOARD_STAGED === 'off'
            ? undefined
            : /its full image (served|was not made|not stored)/,
        ),
      );
      if (findCommand('nsd')) {
        opts.log('zone-load: NSD (until it answers the SOA)');
        results.push(await timeServer('NSD', 'server-count 1; all processes', () => startNsd(zones, ready)));
      }
      if (findCommand('knotd')) {
        opts.log('zone-load: Knot (until it answers the SOA)');
        results.push(await timeServer('Knot', '1 UDP/TCP worker', () => startKnot(zones, ready)));
      }
      perRound.push(results);
    }
    const results = medianResults(perRound);

    return { records, bytes, results };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
