/**
 * The many-zones suite (issue 7): N zones × 10 records each in a folder, then Switchboard
 * `serve --workers 2`, NSD (server-count 2) and Knot (2 UDP workers) in turn from a cold start:
 * the time until the LAST zone answers (a sample of zones is probed, the last ones included) and
 * the peak of the PSS summed over all their processes (sampled from /proc/PID/smaps_rollup
 * during the load and after), so memory shared between workers shows as shared.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { assertLoopback, buildQuery, readHeader } from '../test/helpers/dns-client.js';
import {
  findCommand,
  findFreePort,
  type Peer,
  startKnot,
  startNsd,
  startSwitchboard,
  treeCpuSeconds,
} from '../test/helpers/peers.js';
import { TreeMemorySampler } from './pss.js';
import { fmt, formatMarkdownTable, formatTable, median } from './stats.js';

/** Issue 7's targets for this suite. */
export const MANY_ZONES_TARGET_SECONDS = 5;

/** The origin of zone `i` of `n` (zero-padded, so file order is zone order). */
export function manyZoneOrigin(i: number, n: number): string {
  return `z${String(i).padStart(String(Math.max(1, n - 1)).length, '0')}.many.test.`;
}

/** The 10 records of zone `origin`: SOA, 2 NS, their 2 A, www A and AAAA, mail A, MX, TXT. */
export function manyZoneText(origin: string, i: number): string {
  const a = `198.${18 + ((i >> 16) & 1)}.${(i >> 8) & 255}.${i & 255}`;
  return [
    `$ORIGIN ${origin}`,
    '$TTL 3600',
    `@ SOA ns1 hostmaster 1 7200 1800 1209600 300`,
    '@ NS ns1',
    '@ NS ns2',
    'ns1 A 192.0.2.1',
    'ns2 A 192.0.2.2',
    `www A ${a}`,
    `www AAAA 2001:db8::${(i & 0xffff).toString(16)}`,
    `mail A ${a}`,
    '@ MX 10 mail',
    `@ TXT "zone ${i}"`,
    '',
  ].join('\n');
}

/** Writes `n` zone files into `dir` (one per zone, named after it); returns their origins. */
export function writeManyZones(dir: string, n: number): string[] {
  mkdirSync(dir, { recursive: true });
  const origins: string[] = [];
  for (let i = 0; i < n; i++) {
    const origin = manyZoneOrigin(i, n);
    writeFileSync(join(dir, `${origin.slice(0, -1)}.zone`), manyZoneText(origin, i));
    origins.push(origin);
  }
  return origins;
}

/** The zones probed: every `n/100`-th, the first, and the last 20. */
export function probeSample(n: number): number[] {
  const out = new Set<number>([0]);
  const step = Math.max(1, Math.floor(n / 100));
  for (let i = 0; i < n; i += step) out.add(i);
  for (let i = Math.max(0, n - 20); i < n; i++) out.add(i);
  return [...out].sort((a, b) => a - b);
}

/**
 * Resolves with `performance.now()` at the moment every one of `origins` has answered its SOA
 * with NOERROR and AA, or throws at the deadline. One socket, kept open: the last name is
 * asked every `everyMs` until it answers, then each name not yet answered, and an answer to
 * any of its tries counts, so the
 * time is known to within `everyMs` whether or not the server is bound yet (a socket that is
 * not bound drops the query, and a probe waiting out a timeout of hundreds of ms before its
 * next try measured the start in steps that long: the spread between runs that the cold-start
 * figures showed until 2026-12-04, "manyzones5" in docs/PERFORMANCE.md).
 */
export function timeAllAnswered(
  host: string,
  port: number,
  origins: readonly string[],
  deadline: number,
  everyMs = 10,
): Promise<number> {
  assertLoopback(host);
  if (origins.length === 0 || origins.length > 65536) throw new Error('1 to 65,536 names (one DNS ID each)');
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    // Query i has DNS ID i: its answer is matched by ID.
    const queries = origins.map((name, i) => {
      const q = buildQuery({ name, type: 6 });
      q[0] = i >> 8;
      q[1] = i & 255;
      return q;
    });
    const left = new Set(origins.map((_, i) => i));
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: Error) => {
      if (timer) clearInterval(timer);
      timer = undefined;
      const at = performance.now();
      sock.close();
      if (err) reject(err);
      else resolve(at);
    };
    sock.on('error', () => {}); // a send refused while nothing listens: asked again
    sock.on('message', (msg) => {
      if (timer === undefined || msg.length < 12) return;
      const id = (msg[0] << 8) | msg[1];
      const h = readHeader(new Uint8Array(msg));
      if (!(h.qr && h.rcode === 0 && h.aa) || !left.delete(id)) return;
      if (left.size === 0) finish();
      else if (id === origins.length - 1) tick();
    });
    const tick = () => {
      if (performance.now() > deadline) {
        const first = [...left][0];
        finish(new Error(`${left.size} zones still not answering, e.g. ${origins[first ?? 0]}`));
        return;
      }
      // Until the last name answers, only it is asked (~100 datagrams a second: the probe
      // must not take CPU from the start it times); then every name still left.
      if (left.has(origins.length - 1)) sock.send(queries[origins.length - 1], port, host);
      else for (const i of left) sock.send(queries[i], port, host);
    };
    sock.bind(0, isIP(host) === 6 ? '::1' : '127.0.0.1', () => {
      timer = setInterval(tick, everyMs);
      tick();
    });
  });
}

/** One server's run. */
export interface ManyZonesRun {
  seconds: number;
  /** CPU seconds of the server's processes until then (from /proc): less inflated by other work than the wall time. */
  cpuSeconds: number;
  peakPss: number;
  peakRss: number;
  pssAfter: number;
  processes: number;
}

/** One server's results over the rounds. */
export interface ManyZonesResult {
  label: string;
  command: string;
  runs: ManyZonesRun[];
  error?: string;
}

/** Options of the many-zones suite. */
export interface ManyZonesOptions {
  zones: number;
  workers: number;
  rounds?: number;
  /** Which servers run (default all): `text` (serve, every worker parses every zone), `images`
   * (serve --images on: compiled once by the primary, shared by the workers), `images-c-off`
   * (the same with --native-answers off), `nsd`, `knot`. */
  servers?: readonly string[];
  log: (line: string) => void;
}

/** Runs the suite; servers are stopped and the temp folder removed afterwards. */
export async function runManyZonesBench(
  opts: ManyZonesOptions,
): Promise<{ results: ManyZonesResult[]; markdown: string[]; lines: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-manyzones-'));
  const rounds = opts.rounds ?? 1;
  try {
    const zoneDir = join(dir, 'zones');
    const t0 = performance.now();
    const origins = writeManyZones(zoneDir, opts.zones);
    // Written back to disk before any server starts: otherwise the kernel writes the 100,000
    // new files back during the first server's cold start, on the same two cores (a cost of
    // this benchmark's set-up that only the first server measured would pay).
    const t1 = performance.now();
    try {
      execFileSync('sync', ['-f', zoneDir], { stdio: 'ignore', timeout: 120_000 });
    } catch {
      // no sync(1) with -f: the first round pays the write-back (rounds 2 and later do not)
    }
    opts.log(
      `zones: wrote ${opts.zones} zones × 10 records in ${((t1 - t0) / 1000).toFixed(1)} s, synced in ${((performance.now() - t1) / 1000).toFixed(1)} s (${zoneDir})`,
    );
    const specs = origins.map((o) => ({ origin: o, file: join(zoneDir, `${o.slice(0, -1)}.zone`) }));
    const sample = probeSample(opts.zones).map((i) => origins[i]);
    const w = opts.workers;
    // The first origin is known here: the server's start is timed from its spawn, without the
    // helper reading the 100,000 files to find it (~1.7 s of this process's CPU before the spawn).
    const ready = { readyTimeoutMs: 600_000, firstOrigin: origins[0] };
    // Timed to the first answer (not to the start line, which waits for every worker's TCP too).
    const sbReady = { ...ready, waitForStartLine: false };
    const want = (key: string) => opts.servers === undefined || opts.servers.includes(key);
    const servers: { label: string; command: string; start: (port: number) => Promise<Peer> }[] = [];
    if (want('text'))
      servers.push({
        label: `Switchboard serve --workers ${w} --images off`,
        command: `node dist/src/cli/main.js serve --workers ${w} --images off`,
        start: (port) =>
          startSwitchboard(zoneDir, { workers: w, args: ['--images', 'off'], port, ...sbReady }),
      });
    if (want('images'))
      servers.push({
        label: `Switchboard serve --workers ${w} --images on`,
        command: `node dist/src/cli/main.js serve --workers ${w} --images on`,
        start: (port) =>
          startSwitchboard(zoneDir, { workers: w, args: ['--images', 'on'], port, ...sbReady }),
      });
    // The same without C answers (on by default with images over the native path): A/B of the
    // lazy installs' cost at a cold start.
    if (want('images-c-off'))
      servers.push({
        label: `Switchboard serve --workers ${w} --images on --native-answers off`,
        command: `node dist/src/cli/main.js serve --workers ${w} --images on --native-answers off`,
        start: (port) =>
          startSwitchboard(zoneDir, {
            workers: w,
            args: ['--images', 'on', '--native-answers', 'off'],
            port,
            ...sbReady,
          }),
      });
    if (findCommand('nsd') && want('nsd'))
      servers.push({
        label: `NSD server-count ${w}`,
        command: `nsd -d (server-count ${w}, rrl-ratelimit 0, no database)`,
        start: (port) => startNsd(specs, { serverCount: w, port, ...ready }),
      });
    if (findCommand('knotd') && want('knot'))
      servers.push({
        label: `Knot udp-workers ${w}`,
        command: `knotd (udp-workers ${w}, tcp-workers ${w})`,
        start: (port) => startKnot(specs, { workers: w, port, ...ready }),
      });
    const results: ManyZonesResult[] = servers.map((s) => ({ label: s.label, command: s.command, runs: [] }));
    for (let round = 1; round <= rounds; round++) {
      for (const [k, s] of servers.entries()) {
        const r = results[k];
        if (r.error) continue;
        opts.log(`zones: round ${round} ${s.label}: cold start until the last zone answers`);
        // Samples every process this benchmark starts, from before the spawn (one server at a time).
        const sampler = new TreeMemorySampler(250);
        const port = await findFreePort('127.0.0.1');
        const start = performance.now();
        let peer: Peer | undefined;
        try {
          // Timed by a probe asking every 10 ms from the spawn on; the helper's own wait for
          // the first zone (a try every ~400 ms) only hands over the server's PID.
          const answered = timeAllAnswered('127.0.0.1', port, sample, start + ready.readyTimeoutMs);
          answered.catch(() => {});
          peer = await s.start(port);
          const seconds = ((await answered) - start) / 1000;
          // Read when the helper returns, up to ~0.4 s after the answer, as before the probe.
          const cpuSeconds = treeCpuSeconds(peer.pid);
          // Keep sampling a little after: memory of a server still settling counts too.
          await new Promise((res) => setTimeout(res, 2000));
          const after = sampler.sample();
          const peak = sampler.stop();
          r.runs.push({
            seconds,
            cpuSeconds,
            peakPss: peak.pss,
            peakRss: peak.rss,
            pssAfter: after.pss,
            processes: peak.processes,
          });
          opts.log(
            `zones: ${s.label}: last zone answers after ${seconds.toFixed(2)} s (${cpuSeconds.toFixed(2)} CPU s); peak PSS ${fmt(peak.pss / 2 ** 20)} MiB ` +
              `(sum over ${peak.processes} processes), PSS after ${fmt(after.pss / 2 ** 20)} MiB, peak RSS sum ${fmt(peak.rss / 2 ** 20)} MiB`,
          );
        } catch (e) {
          r.error = (e as Error).message.split('\n')[0];
          opts.log(`zones: ${s.label} failed: ${r.error}`);
        } finally {
          sampler.stop();
          await peer?.stop();
        }
      }
    }
    const header = [
      'server',
      'last zone answers s',
      'CPU s until then',
      'peak PSS MiB (sum)',
      'PSS MiB after load (sum)',
      'peak RSS MiB (sum)',
      'processes',
      'runs (s)',
    ];
    const rows = results.map((r) => [
      r.error && r.runs.length === 0 ? `${r.label} (failed)` : r.label,
      fmt(median(r.runs.map((x) => x.seconds)), 2),
      fmt(median(r.runs.map((x) => x.cpuSeconds)), 2),
      fmt(median(r.runs.map((x) => x.peakPss)) / 2 ** 20),
      fmt(median(r.runs.map((x) => x.pssAfter)) / 2 ** 20),
      fmt(median(r.runs.map((x) => x.peakRss)) / 2 ** 20),
      fmt(Math.max(0, ...r.runs.map((x) => x.processes))),
      r.runs.map((x) => x.seconds.toFixed(2)).join(', ') || '–',
    ]);
    const lines: string[] = [];
    const nsd = results.find((r) => r.label.startsWith('NSD'));
    const nsdP = nsd ? median(nsd.runs.map((x) => x.peakPss)) : Number.NaN;
    // Issue 7's targets are for 100,000 zones: a smaller run is not judged by them.
    const judged = opts.zones >= 100_000;
    if (!judged) lines.push(`(${fmt(opts.zones)} zones: issue 7's targets are for 100,000, not judged here)`);
    for (const sb of results.filter((r) => r.label.startsWith('Switchboard'))) {
      const sbS = median(sb.runs.map((x) => x.seconds));
      if (judged && Number.isFinite(sbS))
        lines.push(
          `${sb.label}: the last zone answers ${sbS.toFixed(2)} s after a cold start (issue 7: < ${MANY_ZONES_TARGET_SECONDS} s: ${sbS < MANY_ZONES_TARGET_SECONDS ? 'met' : 'NOT met'}; no image cached on disk)`,
        );
      const sbP = median(sb.runs.map((x) => x.peakPss));
      if (judged && Number.isFinite(sbP) && Number.isFinite(nsdP))
        lines.push(
          `${sb.label}: peak summed PSS ${fmt(sbP / 2 ** 20)} MiB = ${(sbP / nsdP).toFixed(2)}× NSD's ${fmt(nsdP / 2 ** 20)} MiB (issue 7: ≤ 1.00×: ${sbP <= nsdP ? 'met' : 'NOT met'})`,
        );
    }
    for (const r of results) if (r.error) lines.push(`${r.label}: error: ${r.error}`);
    const setup =
      `${fmt(opts.zones)} zones × 10 records (SOA, 2 NS + 2 A, www A/AAAA, mail A, MX, TXT), one file each, ` +
      `served by each server in turn from a cold start (not pinned; zone files in the page cache); ` +
      `time from the spawn (the last zone asked every 10 ms, then the sample; CPU seconds of all the server's processes read just after) until each of ${sample.length} sampled zones (every ${Math.max(1, Math.floor(opts.zones / 100))}th and the last 20) answers its SOA with NOERROR+AA; ` +
      `PSS and RSS summed over every process of the server, sampled from /proc/PID/smaps_rollup every 250 ms during the load and 2 s after; ` +
      `${rounds} round(s), medians`;
    const table = formatTable(header, rows, ['runs (s)']);
    opts.log(`\n${fmt(opts.zones)} zones (${setup})\n`);
    opts.log(table);
    for (const l of lines) opts.log(l);
    const markdown = [
      setup + '.',
      '',
      formatMarkdownTable(header, rows),
      '',
      ...lines.map((l) => `- ${l}`),
      '',
      'Commands:',
      '',
      ...results.map((r) => `- ${r.label}: \`${r.command}\``),
    ];
    return { results, markdown, lines };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
