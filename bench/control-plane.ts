/**
 * Control-plane benchmark (issues 3 and 6): `switchboard start` on SQLite and on PostgreSQL,
 * loaded with 100,000 zones of 10 records each through the PowerDNS-compatible API (the load
 * rate reported per 10,000 zones: a create must cost the same with many zones as with few; the
 * RSS of every process once loaded), then
 *
 * - API changes per second: PATCH of one RRset (REPLACE `www` A), one client in sequence and
 *   N clients at once on different zones;
 * - change-to-answer latency: from sending the PATCH to the first UDP answer that carries the
 *   new address (polled every 2 ms from several sockets), over a few hundred changes, on an
 *   idle server and again while N writers keep changing other zones.
 *
 * Prints tables and records the figures in the "Control plane" section of docs/PERFORMANCE.md.
 * Usage: node dist/bench/control-plane.js [--quick] [--stores sqlite,postgres] [--zones N] [--chunk-zones N]
 *   [--load-clients N] [--change-seconds S] [--clients N] [--latency-changes N]
 *   [--loaded-latency-changes N] [--poll-ms N] [--poll-timeout-ms N] [--workers N] [--compare-creates N]
 *   [--no-doc] [--doc]
 * Everything runs on loopback; every loop is bounded by a count or a deadline.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { type SwitchboardServer, startSwitchboardServer } from '../test/helpers/acme.js';
import {
  clockTicksPerSecond,
  listDescendants,
  procStatusBytes,
  readProcStat,
  switchboardBin,
  treeCpuSeconds,
  waitForAnswer,
} from '../test/helpers/peers.js';
import { NO_LIMIT_ARGS } from '../test/helpers/platform.js';
import { postgresMissing, startPostgres, type TestDatabase } from '../test/helpers/postgres.js';
import { AnswerPoller, ApiClient } from './control-plane-probe.js';
import { fmt, formatMarkdownTable, formatTable, quantileSorted } from './stats.js';

/** Target from the issue: p99 change-to-answer below 1 s with 10,000 zones loaded. */
export const CHANGE_TO_ANSWER_P99_TARGET_MS = 1000;

/** Target from issue 6: the last chunk of the load at least this share of the first one's rate. */
export const LOAD_RATE_KEPT_TARGET = 0.8;

/** Records per generated zone (SOA, 2 NS with their addresses, and 5 others). */
export const RECORDS_PER_ZONE = 10;

/** Options of the control-plane suite. */
export interface ControlPlaneBenchOptions {
  stores: string[];
  zones: number;
  /** The load rate is reported per this many zones. */
  chunkZones: number;
  /** Concurrent clients while loading the zones. */
  loadClients: number;
  /** Length of each change-throughput run. */
  changeSeconds: number;
  /** Concurrent clients of the parallel change run. */
  clients: number;
  /** Changes measured for change-to-answer latency. */
  latencyChanges: number;
  /** Changes measured for change-to-answer latency while `clients` writers run (0: skip). */
  loadedLatencyChanges: number;
  /** Interval between the UDP polls of one change. */
  pollIntervalMs: number;
  /** A change not answered within this long counts as a timeout. */
  pollTimeoutMs: number;
  /** `switchboard start --workers`. */
  workers: number;
  /**
   * Zone creations timed one at a time after the load, alternating between the loaded server
   * and a second one holding only `SMALL_SERVER_ZONES` zones (0: skip). Both see the same
   * machine at the same moments, so their ratio holds on a shared machine where rates do not.
   */
  compareCreates: number;
  log: (line: string) => void;
}

/** Sorted-sample summary (ms). */
export interface Summary {
  count: number;
  median: number;
  p99: number;
  max: number;
}

/** The load of one chunk of zones (by completion order). */
export interface LoadChunk {
  /** Zones loaded before this chunk. */
  from: number;
  /** Zones loaded at its end. */
  to: number;
  seconds: number;
  perSecond: number;
  /** POST round trips of the zones completed in this chunk. */
  api: Summary;
  /**
   * CPU milliseconds per zone the server spent in this chunk: all its processes (primary and
   * DNS workers; not PostgreSQL's), and the primary alone. On a shared machine these say what a
   * create costs better than the rate does.
   */
  cpuMsPerZone: number;
  primaryCpuMsPerZone: number;
}

/** Creations timed alternately on the loaded server and on one with few zones. */
export interface CreateComparison {
  /** Zones on the small server while it was measured. */
  smallZones: number;
  /** Zones on the loaded server. */
  loadedZones: number;
  loaded: Summary;
  small: Summary;
}

/** Zones of the small server of the create comparison ("a handful"). */
export const SMALL_SERVER_ZONES = 10;

/** One process of the server with its resident memory. */
export interface ProcessRss {
  pid: number;
  /** 'primary', 'DNS worker' or the program's name. */
  role: string;
  rssBytes: number;
}

/** What one store measured (NaN where a phase did not run). */
export interface StoreResult {
  store: string;
  command: string;
  error?: string;
  zones: number;
  records: number;
  loadSeconds: number;
  /** DNS answers the last zone loaded this long after its POST returned. */
  loadServeMs: number;
  /** Resident memory of the server's processes after the load: all of them, and the largest. */
  rssBytes: number;
  rssLargestBytes: number;
  /** Every process of the server after the load. */
  processes: ProcessRss[];
  /** The load rate per `chunkZones` zones. */
  loadChunks: LoadChunk[];
  /** Create cost with the zones loaded vs with a handful (when measured). */
  createComparison?: CreateComparison;
  sequential: { changes: number; seconds: number; perSecond: number; api: Summary };
  concurrent: {
    clients: number;
    changes: number;
    seconds: number;
    perSecond: number;
    api: Summary;
    errors: number;
  };
  /** Change-to-answer on an otherwise idle server. */
  latency: LatencyResult;
  /** Change-to-answer while `writers` other clients keep changing other zones. */
  latencyUnderLoad: LatencyResult & { writers: number; backgroundPerSecond: number };
}

/** Change-to-answer figures (ms) of one series of changes. */
export interface LatencyResult {
  changes: number;
  /** Changes whose new value was not answered within the poll timeout. */
  timeouts: number;
  /** PATCH sent → first UDP answer carrying the new value. */
  toAnswer: Summary;
  /** 2xx received → that answer (negative: the DNS answer came first). */
  ackToAnswer: Summary;
  /** PATCH sent → last answer still without it (every polled worker has it). */
  settled: Summary;
  /** Answers without the new value after one had carried it. */
  staleAfterNew: number;
  /** PATCH round trip. */
  api: Summary;
}

function summarize(values: number[]): Summary {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return {
    count: v.length,
    median: quantileSorted(v, 0.5),
    p99: quantileSorted(v, 0.99),
    max: v.length > 0 ? v[v.length - 1] : Number.NaN,
  };
}

const emptySummary = (): Summary => ({ count: 0, median: Number.NaN, p99: Number.NaN, max: Number.NaN });

const emptyLatency = (): LatencyResult => ({
  changes: 0,
  timeouts: 0,
  toAnswer: emptySummary(),
  ackToAnswer: emptySummary(),
  settled: emptySummary(),
  staleAfterNew: 0,
  api: emptySummary(),
});

/** The name of generated zone `i`. */
export function zoneName(i: number): string {
  return `z${i}.cp-bench.test.`;
}

/** A PowerDNS-style zone creation body with RECORDS_PER_ZONE records (the SOA is made by the server). */
export function zoneBody(i: number): unknown {
  const z = zoneName(i);
  // RFC 5737 / RFC 3849 documentation addresses.
  const a = (n: number): string => `192.0.2.${(i * 3 + n) % 250}`;
  const rr = (name: string, type: string, contents: string[]) => ({
    name,
    type,
    ttl: 300,
    records: contents.map((content) => ({ content, disabled: false })),
  });
  return {
    name: z,
    kind: 'Native',
    nameservers: [`ns1.${z}`, `ns2.${z}`],
    rrsets: [
      rr(`www.${z}`, 'A', [a(1)]),
      rr(`www.${z}`, 'AAAA', [`2001:db8::${(i % 65535).toString(16)}`]),
      rr(`mail.${z}`, 'A', [a(2)]),
      rr(z, 'MX', [`10 mail.${z}`]),
      rr(z, 'TXT', ['"v=spf1 mx -all"']),
      rr(`ns2.${z}`, 'A', [a(3)]),
      rr(`ns1.${z}`, 'A', [a(5)]),
    ],
  };
}

/** A distinct IPv4 address for change number `k` (10.0.0.0/8, private use). */
function changeAddress(k: number): string {
  const n = (k % 0xfffffe) + 1;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

function changeBody(zone: string, ip: string): unknown {
  return {
    rrsets: [
      {
        name: `www.${zone}`,
        type: 'A',
        ttl: 300,
        changetype: 'REPLACE',
        records: [{ content: ip, disabled: false }],
      },
    ],
  };
}

const PDNS_ZONES = '/api/v1/servers/localhost/zones';

/** Runs `work(i)` for i in [0, count) with `concurrency` at once; rejects on the first failure. */
async function runPool(
  count: number,
  concurrency: number,
  work: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      await work(i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, lane));
}

/** An account with room for `zones` zones on `server` and a write token's client for it. */
async function benchTenant(admin: ApiClient, zones: number, sockets: number): Promise<ApiClient> {
  const acct = await admin.expect('POST', '/api/v1/accounts', {
    name: 'bench',
    maxZones: zones + 100,
    maxRecords: (zones + 100) * RECORDS_PER_ZONE * 2,
  });
  const accountId = (acct.json as { id: string }).id;
  const tok = await admin.expect('POST', '/api/v1/tokens', {
    name: 'bench',
    accountId,
    scope: { admin: false, access: 'write' },
  });
  return admin.withKey((tok.json as { secret: string }).secret, sockets);
}

/**
 * Times `count` zone creations one at a time, alternating between `loaded` (holding
 * `loadedZones` zones) and a new server with SMALL_SERVER_ZONES zones on the same store kind.
 */
async function compareCreates(
  loaded: ApiClient,
  loadedZones: number,
  count: number,
  startSmall: () => Promise<{ api: ApiClient; close: () => Promise<void> }>,
): Promise<CreateComparison> {
  const small = await startSmall();
  try {
    for (let i = 0; i < SMALL_SERVER_ZONES; i++) await small.api.expect('POST', PDNS_ZONES, zoneBody(i));
    const a: number[] = [];
    const b: number[] = [];
    for (let k = 0; k < count; k++) {
      // Names above the load's range on the loaded server, the same on the small one; the
      // order alternates so that neither always goes first.
      const i = loadedZones + k;
      const first = k % 2 === 0 ? loaded : small.api;
      for (const api of [first, first === loaded ? small.api : loaded]) {
        const t = performance.now();
        await api.expect('POST', PDNS_ZONES, zoneBody(i));
        (api === loaded ? a : b).push(performance.now() - t);
      }
    }
    return { smallZones: SMALL_SERVER_ZONES + count, loadedZones, loaded: summarize(a), small: summarize(b) };
  } finally {
    await small.close();
  }
}

/** What a process of the server is, from its command line. */
function processRole(pid: number, primary: number): string {
  if (pid === primary) return 'primary';
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    // The DNS worker's entry point: src/server/start/worker-main.ts (start-worker-main.ts before).
    if (argv.some((a) => /(start\/|start-)worker-main\.js$/.test(a))) return 'DNS worker';
    return argv[0]?.split('/').pop() || 'other';
  } catch {
    return 'gone';
  }
}

/** VmRSS of `pid` and its descendants: the sum, the largest process, and each of them. */
function treeRss(pid: number): { sum: number; largest: number; processes: ProcessRss[] } {
  let sum = 0;
  let largest = 0;
  const processes: ProcessRss[] = [];
  for (const p of [pid, ...listDescendants(pid)]) {
    const b = procStatusBytes(p, 'VmRSS');
    sum += b;
    largest = Math.max(largest, b);
    processes.push({ pid: p, role: processRole(p, pid), rssBytes: b });
  }
  return { sum, largest, processes };
}

/**
 * Measures change-to-answer over `count` changes, one at a time, each to a zone from `pickZone`:
 * the PATCH is sent and the UDP poll started at the same instant.
 */
async function measureLatency(
  api: ApiClient,
  poller: AnswerPoller,
  count: number,
  pickZone: () => string,
  nextAddress: () => string,
  opts: ControlPlaneBenchOptions,
): Promise<LatencyResult> {
  const toAnswer: number[] = [];
  const ackToAnswer: number[] = [];
  const settled: number[] = [];
  const apiLat: number[] = [];
  let timeouts = 0;
  let stale = 0;
  for (let c = 0; c < count; c++) {
    const zone = pickZone();
    const ip = nextAddress();
    const start = performance.now();
    let ackMs = Number.NaN;
    const patch = api.call('PATCH', `${PDNS_ZONES}/${zone}`, changeBody(zone, ip)).then((r) => {
      ackMs = performance.now() - start;
      if (r.status < 200 || r.status >= 300)
        throw new Error(`PATCH: HTTP ${r.status} ${r.text.slice(0, 300)}`);
    });
    const seen = poller.poll({
      name: `www.${zone}`,
      ip,
      start,
      intervalMs: opts.pollIntervalMs,
      timeoutMs: opts.pollTimeoutMs,
    });
    const [, p] = await Promise.all([patch, seen]);
    apiLat.push(ackMs);
    stale += p.staleAfterNew;
    if (Number.isNaN(p.firstNewMs)) {
      timeouts++;
      continue;
    }
    toAnswer.push(p.firstNewMs);
    ackToAnswer.push(p.firstNewMs - ackMs);
    settled.push(Math.max(p.firstNewMs, p.lastStaleMs));
  }
  return {
    changes: count,
    timeouts,
    toAnswer: summarize(toAnswer),
    ackToAnswer: summarize(ackToAnswer),
    settled: summarize(settled),
    staleAfterNew: stale,
    api: summarize(apiLat),
  };
}

function latencyLine(l: LatencyResult): string {
  const t = l.toAnswer;
  return `median ${fmt(t.median, 1)} ms, p99 ${fmt(t.p99, 1)} ms, max ${fmt(t.max, 1)} ms, ${l.timeouts} timeouts`;
}

async function benchStore(store: string, opts: ControlPlaneBenchOptions): Promise<StoreResult> {
  const log = opts.log;
  const result: StoreResult = {
    store,
    command: '',
    zones: 0,
    records: 0,
    loadSeconds: Number.NaN,
    loadServeMs: Number.NaN,
    rssBytes: 0,
    rssLargestBytes: 0,
    processes: [],
    loadChunks: [],
    sequential: { changes: 0, seconds: 0, perSecond: Number.NaN, api: emptySummary() },
    concurrent: {
      clients: opts.clients,
      changes: 0,
      seconds: 0,
      perSecond: Number.NaN,
      api: emptySummary(),
      errors: 0,
    },
    latency: emptyLatency(),
    latencyUnderLoad: { ...emptyLatency(), writers: 0, backgroundPerSecond: Number.NaN },
  };
  const dir = mkdtempSync(join(tmpdir(), 'sb-cp-bench-'));
  const apiKey = `sb_bench_${randomBytes(24).toString('base64url')}`;
  let db: TestDatabase | undefined;
  let server: SwitchboardServer | undefined;
  const clients: ApiClient[] = [];
  let poller: AnswerPoller | undefined;
  try {
    if (store === 'postgres') {
      const why = postgresMissing();
      if (why) throw new Error(`skipped: ${why}`);
      // Durable settings (fsync on), as SQLite runs with synchronous = FULL: a fair comparison.
      db = await startPostgres({ durable: true });
    }
    server = await startSwitchboardServer({
      dataDir: join(dir, 'data'),
      database: db?.url,
      apiKey,
      workers: opts.workers,
      readyTimeoutMs: 120_000,
      // The bench loads every zone through one tenant's key: the request limits would throttle it.
      extraArgs: NO_LIMIT_ARGS,
    });
    result.command = `switchboard start --workers ${opts.workers} ${db ? '--database postgres://…' : '--data DIR'} (${store})`;
    log(`control-plane[${store}]: started, API ${server.apiUrl}, DNS ${server.dnsHost}:${server.dnsPort}`);

    // A tenant with room for the whole load, and a write token for it.
    const admin = new ApiClient(server.apiUrl, apiKey, 2);
    clients.push(admin);
    const api = await benchTenant(
      admin,
      opts.zones + opts.compareCreates,
      Math.max(opts.loadClients, opts.clients) + 2,
    );
    clients.push(api);

    // Load: one POST per zone (the API has no multi-zone bulk path), loadClients at once.
    log(
      `control-plane[${store}]: loading ${opts.zones} zones × ${RECORDS_PER_ZONE} records with ${opts.loadClients} clients`,
    );
    const loadStart = performance.now();
    let lastProgress = loadStart;
    let chunkStart = loadStart;
    let chunkLat: number[] = [];
    const primaryCpu = (): number => {
      const st = readProcStat(server?.pid ?? 0);
      return st ? (st.utime + st.stime) / clockTicksPerSecond() : Number.NaN;
    };
    let cpuAt = treeCpuSeconds(server.pid);
    let primaryCpuAt = primaryCpu();
    await runPool(opts.zones, opts.loadClients, async (i) => {
      const t = performance.now();
      await api.expect('POST', PDNS_ZONES, zoneBody(i));
      const done = performance.now();
      chunkLat.push(done - t);
      result.zones++;
      if (result.zones % opts.chunkZones === 0 || result.zones === opts.zones) {
        const seconds = (done - chunkStart) / 1000;
        const cpu = server ? treeCpuSeconds(server.pid) : Number.NaN;
        const pcpu = primaryCpu();
        const chunk: LoadChunk = {
          from: result.zones - chunkLat.length,
          to: result.zones,
          seconds,
          perSecond: chunkLat.length / seconds,
          api: summarize(chunkLat),
          cpuMsPerZone: ((cpu - cpuAt) * 1000) / chunkLat.length,
          primaryCpuMsPerZone: ((pcpu - primaryCpuAt) * 1000) / chunkLat.length,
        };
        result.loadChunks.push(chunk);
        chunkStart = done;
        chunkLat = [];
        cpuAt = cpu;
        primaryCpuAt = pcpu;
        log(
          `control-plane[${store}]:   zones ${fmt(chunk.from)}–${fmt(chunk.to)}: ${fmt(chunk.perSecond)} zones/s, ` +
            `POST p50 ${fmt(chunk.api.median, 1)} ms, p99 ${fmt(chunk.api.p99, 1)} ms, ` +
            `server CPU ${fmt(chunk.cpuMsPerZone, 2)} ms/zone (primary ${fmt(chunk.primaryCpuMsPerZone, 2)})`,
        );
        lastProgress = done;
      } else if (done - lastProgress > 30_000) {
        lastProgress = done;
        log(
          `control-plane[${store}]:   ${result.zones} zones after ${((done - loadStart) / 1000).toFixed(0)} s`,
        );
      }
    });
    const loadEnd = performance.now();
    result.loadSeconds = (loadEnd - loadStart) / 1000;
    // The last zone must be served too before anything is measured.
    await waitForAnswer(
      server.dnsHost,
      server.dnsPort,
      zoneName(opts.zones - 1),
      30_000,
      () => !server?.exited(),
    );
    result.loadServeMs = performance.now() - loadEnd;
    const sample = await api.expect('GET', `${PDNS_ZONES}/${zoneName(0)}`);
    const rrsets = (sample.json as { rrsets?: { records: unknown[] }[] }).rrsets ?? [];
    result.records = rrsets.reduce((n, s) => n + s.records.length, 0);
    const rss = treeRss(server.pid);
    result.rssBytes = rss.sum;
    result.rssLargestBytes = rss.largest;
    result.processes = rss.processes;
    log(
      `control-plane[${store}]: loaded in ${result.loadSeconds.toFixed(1)} s (${fmt(opts.zones / result.loadSeconds)} zones/s); ` +
        `${result.records} records in ${zoneName(0)}; RSS ${fmt(result.rssBytes / 2 ** 20)} MiB (` +
        rss.processes.map((p) => `${p.role} ${fmt(p.rssBytes / 2 ** 20)}`).join(', ') +
        ')',
    );

    if (opts.compareCreates > 0) {
      log(
        `control-plane[${store}]: timing ${opts.compareCreates} creates here and on a server with ${SMALL_SERVER_ZONES} zones, alternately`,
      );
      const cmp = await compareCreates(api, opts.zones, opts.compareCreates, async () => {
        const smallDb = store === 'postgres' ? await startPostgres({ durable: true }) : undefined;
        const smallServer = await startSwitchboardServer({
          dataDir: join(dir, 'small'),
          database: smallDb?.url,
          apiKey,
          workers: opts.workers,
          readyTimeoutMs: 120_000,
          extraArgs: NO_LIMIT_ARGS,
        }).catch(async (e: unknown) => {
          await smallDb?.stop();
          throw e;
        });
        const smallAdmin = new ApiClient(smallServer.apiUrl, apiKey, 2);
        const smallApi = await benchTenant(smallAdmin, SMALL_SERVER_ZONES + opts.compareCreates, 2);
        return {
          api: smallApi,
          close: async () => {
            smallAdmin.close();
            smallApi.close();
            await smallServer.stop();
            await smallDb?.stop();
          },
        };
      });
      result.createComparison = cmp;
      log(
        `control-plane[${store}]: create with ${fmt(cmp.loadedZones)} zones: p50 ${fmt(cmp.loaded.median, 1)} ms, ` +
          `with ${SMALL_SERVER_ZONES}: p50 ${fmt(cmp.small.median, 1)} ms (${fmt(cmp.loaded.median / cmp.small.median, 2)}×)`,
      );
    }

    let k = 0;
    const pick = (n: number): string => zoneName((n * 7919) % opts.zones);

    // (a) changes per second, one client in sequence.
    {
      const lat: number[] = [];
      const start = performance.now();
      const deadline = start + opts.changeSeconds * 1000;
      while (performance.now() < deadline) {
        const t = performance.now();
        const n = k++;
        const r = await api.call('PATCH', `${PDNS_ZONES}/${pick(n)}`, changeBody(pick(n), changeAddress(n)));
        if (r.status < 200 || r.status >= 300)
          throw new Error(`PATCH: HTTP ${r.status} ${r.text.slice(0, 300)}`);
        lat.push(performance.now() - t);
      }
      const seconds = (performance.now() - start) / 1000;
      result.sequential = {
        changes: lat.length,
        seconds,
        perSecond: lat.length / seconds,
        api: summarize(lat),
      };
      log(`control-plane[${store}]: sequential ${fmt(result.sequential.perSecond)} changes/s`);
    }

    // (a) changes per second, N clients at once, each on its own zones.
    {
      const lat: number[] = [];
      let errors = 0;
      const start = performance.now();
      const deadline = start + opts.changeSeconds * 1000;
      await Promise.all(
        Array.from({ length: opts.clients }, async () => {
          while (performance.now() < deadline) {
            const t = performance.now();
            const n = k++;
            const r = await api.call(
              'PATCH',
              `${PDNS_ZONES}/${pick(n)}`,
              changeBody(pick(n), changeAddress(n)),
            );
            if (r.status >= 200 && r.status < 300) lat.push(performance.now() - t);
            else if (++errors <= 3)
              log(`control-plane[${store}]:   PATCH failed: HTTP ${r.status} ${r.text.slice(0, 200)}`);
          }
        }),
      );
      const seconds = (performance.now() - start) / 1000;
      result.concurrent = {
        clients: opts.clients,
        changes: lat.length,
        seconds,
        perSecond: lat.length / seconds,
        api: summarize(lat),
        errors,
      };
      log(`control-plane[${store}]: ${opts.clients} clients ${fmt(result.concurrent.perSecond)} changes/s`);
    }

    // (b) change-to-answer latency, one change at a time on an otherwise idle server.
    poller = new AnswerPoller(server.dnsHost, server.dnsPort);
    await poller.open();
    const half = Math.max(1, Math.floor(opts.zones / 2));
    const nextAddress = (): string => changeAddress(k++);
    result.latency = await measureLatency(
      api,
      poller,
      opts.latencyChanges,
      () => zoneName(Math.floor(Math.random() * opts.zones)),
      nextAddress,
      opts,
    );
    log(`control-plane[${store}]: change-to-answer ${latencyLine(result.latency)}`);

    // (b) again while `clients` writers keep changing other zones (the upper half; the probe
    // uses the lower half, so no writer overwrites the value being waited for).
    if (opts.loadedLatencyChanges > 0 && opts.zones >= 2) {
      let stop = false;
      let background = 0;
      const started = performance.now();
      const writers = Array.from({ length: opts.clients }, async () => {
        while (!stop) {
          const zone = zoneName(half + Math.floor(Math.random() * (opts.zones - half)));
          const r = await api.call('PATCH', `${PDNS_ZONES}/${zone}`, changeBody(zone, nextAddress()));
          if (r.status >= 200 && r.status < 300) background++;
        }
      });
      let measured: LatencyResult;
      try {
        measured = await measureLatency(
          api,
          poller,
          opts.loadedLatencyChanges,
          () => zoneName(Math.floor(Math.random() * half)),
          nextAddress,
          opts,
        );
      } finally {
        stop = true;
        await Promise.all(writers);
      }
      result.latencyUnderLoad = {
        ...measured,
        writers: opts.clients,
        backgroundPerSecond: background / ((performance.now() - started) / 1000),
      };
      log(
        `control-plane[${store}]: under ${opts.clients} writers (${fmt(result.latencyUnderLoad.backgroundPerSecond)} changes/s): ` +
          latencyLine(measured),
      );
    }
  } catch (e) {
    result.error = (e as Error).message.split('\n')[0];
    log(`control-plane[${store}]: ${result.error}`);
    if (server && !/^skipped/.test(result.error)) log(server.output().slice(-3000));
  } finally {
    poller?.close();
    for (const c of clients) c.close();
    await server?.stop();
    await db?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

/** Runs the suite on every store of `opts.stores`, one after the other. */
export async function runControlPlaneBench(opts: ControlPlaneBenchOptions): Promise<StoreResult[]> {
  if (!existsSync(switchboardBin())) throw new Error(`${switchboardBin()} not found (build first)`);
  const out: StoreResult[] = [];
  for (const store of opts.stores) out.push(await benchStore(store, opts));
  return out;
}

const ms = (n: number): string => fmt(n, 1);

/** The throughput table. */
export function throughputTable(results: StoreResult[]): { header: string[]; rows: string[][] } {
  const header = [
    'store',
    'zones',
    'records/zone',
    'load s',
    'zones/s',
    'RSS MiB (all)',
    'RSS MiB (largest)',
    '1 client changes/s',
    '1 client p50 ms',
    '1 client p99 ms',
    'N clients',
    'N clients changes/s',
    'N clients p50 ms',
    'N clients p99 ms',
    'note',
  ];
  const rows = results.map((r) => [
    r.store,
    fmt(r.zones),
    fmt(r.records),
    fmt(r.loadSeconds, 1),
    fmt(r.zones / r.loadSeconds),
    r.rssBytes > 0 ? fmt(r.rssBytes / 2 ** 20) : '–',
    r.rssLargestBytes > 0 ? fmt(r.rssLargestBytes / 2 ** 20) : '–',
    fmt(r.sequential.perSecond),
    ms(r.sequential.api.median),
    ms(r.sequential.api.p99),
    fmt(r.concurrent.clients),
    fmt(r.concurrent.perSecond),
    ms(r.concurrent.api.median),
    ms(r.concurrent.api.p99),
    r.error ?? (r.concurrent.errors > 0 ? `${r.concurrent.errors} failed PATCHes` : ''),
  ]);
  return { header, rows };
}

/** The load rate per chunk of zones, per store. */
export function loadChunkTable(results: StoreResult[]): { header: string[]; rows: string[][] } {
  const header = [
    'store',
    'zones',
    'seconds',
    'zones/s',
    'vs first',
    'POST p50 ms',
    'POST p99 ms',
    'server CPU ms/zone',
    'primary CPU ms/zone',
  ];
  const rows: string[][] = [];
  for (const r of results) {
    const first = r.loadChunks[0]?.perSecond ?? Number.NaN;
    for (const c of r.loadChunks)
      rows.push([
        r.store,
        `${fmt(c.from)}–${fmt(c.to)}`,
        fmt(c.seconds, 1),
        fmt(c.perSecond),
        fmt(c.perSecond / first, 2),
        ms(c.api.median),
        ms(c.api.p99),
        fmt(c.cpuMsPerZone, 2),
        fmt(c.primaryCpuMsPerZone, 2),
      ]);
  }
  return { header, rows };
}

/** Creates timed alternately on the loaded server and on one with a handful of zones. */
export function createComparisonTable(results: StoreResult[]): { header: string[]; rows: string[][] } {
  const header = ['store', 'zones on the server', 'creates', 'POST p50 ms', 'POST p99 ms', 'POST max ms'];
  const rows: string[][] = [];
  for (const r of results) {
    const c = r.createComparison;
    if (!c) continue;
    rows.push([
      r.store,
      fmt(c.loadedZones),
      fmt(c.loaded.count),
      ms(c.loaded.median),
      ms(c.loaded.p99),
      ms(c.loaded.max),
    ]);
    rows.push([
      r.store,
      `${fmt(SMALL_SERVER_ZONES)} (+ these creates)`,
      fmt(c.small.count),
      ms(c.small.median),
      ms(c.small.p99),
      ms(c.small.max),
    ]);
  }
  return { header, rows };
}

/** The resident memory of every process after the load, per store. */
export function memoryTable(results: StoreResult[]): { header: string[]; rows: string[][] } {
  const header = ['store', 'zones loaded', 'process', 'pid', 'RSS MiB'];
  const rows: string[][] = [];
  for (const r of results) {
    for (const p of r.processes)
      rows.push([r.store, fmt(r.zones), p.role, String(p.pid), fmt(p.rssBytes / 2 ** 20)]);
    if (r.processes.length > 0) rows.push([r.store, fmt(r.zones), 'all', '', fmt(r.rssBytes / 2 ** 20)]);
  }
  return { header, rows };
}

/** The change-to-answer table: per store, idle and under write load. */
export function latencyTable(results: StoreResult[]): { header: string[]; rows: string[][] } {
  const header = [
    'store',
    'background writes/s',
    'changes',
    'median ms',
    'p99 ms',
    'max ms',
    'timeouts',
    'ack→answer median ms',
    'ack→answer p99 ms',
    'settled p99 ms',
    'stale after new',
    'PATCH p50 ms',
  ];
  const row = (label: string, background: string, l: LatencyResult): string[] => [
    label,
    background,
    fmt(l.changes),
    ms(l.toAnswer.median),
    ms(l.toAnswer.p99),
    ms(l.toAnswer.max),
    fmt(l.timeouts),
    ms(l.ackToAnswer.median),
    ms(l.ackToAnswer.p99),
    ms(l.settled.p99),
    fmt(l.staleAfterNew),
    ms(l.api.median),
  ];
  const rows: string[][] = [];
  for (const r of results) {
    rows.push(row(`${r.store} (idle)`, '0', r.latency));
    const u = r.latencyUnderLoad;
    if (u.changes > 0) rows.push(row(`${r.store} (${u.writers} writers)`, fmt(u.backgroundPerSecond), u));
  }
  return { header, rows };
}

/** One verdict line per measured series against the issues' targets. */
export function verdictLines(
  results: StoreResult[],
  opts: Pick<ControlPlaneBenchOptions, 'chunkZones'>,
): string[] {
  const line = (label: string, zones: number, l: LatencyResult): string => {
    // A series with 1% or more timeouts has its p99 beyond the poll timeout.
    const p99 = l.timeouts > 0 && l.timeouts / l.changes >= 0.01 ? Number.POSITIVE_INFINITY : l.toAnswer.p99;
    const ok = p99 < CHANGE_TO_ANSWER_P99_TARGET_MS;
    return `${label}: p99 change-to-answer ${fmt(p99, 1)} ms with ${fmt(zones)} zones loaded (target < ${CHANGE_TO_ANSWER_P99_TARGET_MS} ms: ${ok ? 'met' : 'NOT met'})`;
  };
  const out: string[] = [];
  for (const r of results) {
    const chunks = r.loadChunks;
    // Only whole chunks compare: a short last one (zones not a multiple) is left out.
    const whole = chunks.filter((c) => c.to - c.from === opts.chunkZones);
    if (whole.length >= 2) {
      const first = whole[0];
      const last = whole[whole.length - 1];
      const ratio = last.perSecond / first.perSecond;
      out.push(
        `${r.store}: loading zones ${fmt(last.from)}–${fmt(last.to)} ran at ${fmt(last.perSecond)} zones/s, ` +
          `${fmt(ratio, 2)}× the first ${fmt(opts.chunkZones)} (${fmt(first.perSecond)} zones/s) ` +
          `(target ≥ ${LOAD_RATE_KEPT_TARGET}×: ${ratio >= LOAD_RATE_KEPT_TARGET ? 'met' : 'NOT met'}); ` +
          `server CPU per zone ${fmt(last.cpuMsPerZone, 2)} ms vs ${fmt(first.cpuMsPerZone, 2)} ms ` +
          `(${fmt(last.cpuMsPerZone / first.cpuMsPerZone, 2)}×)`,
      );
    }
    const c = r.createComparison;
    if (c)
      out.push(
        `${r.store}: a create with ${fmt(c.loadedZones)} zones took ${fmt(c.loaded.median, 1)} ms (median), ` +
          `with ${SMALL_SERVER_ZONES}: ${fmt(c.small.median, 1)} ms (${fmt(c.loaded.median / c.small.median, 2)}×, measured alternately)`,
      );
    if (r.latency.changes > 0) out.push(line(`${r.store}, idle`, r.zones, r.latency));
    const u = r.latencyUnderLoad;
    if (u.changes > 0) out.push(line(`${r.store}, under ${u.writers} writers`, r.zones, u));
  }
  return out;
}

/** The machine, for the record. */
export function describeMachine(): string[] {
  const c = cpus();
  return [
    `CPU: ${c.length} × ${c[0]?.model ?? 'unknown'}`,
    `memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB; kernel ${release()}; Node ${process.version}`,
    // The machine is shared: the load when the run began says how noisy the figures may be.
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  ];
}

/** The Markdown written between the control-plane markers. */
export function controlPlaneMarkdown(
  results: StoreResult[],
  meta: { command: string; started: Date; machine: string[]; opts: ControlPlaneBenchOptions },
): string {
  const o = meta.opts;
  const t = throughputTable(results);
  const c = loadChunkTable(results);
  const m = memoryTable(results);
  const l = latencyTable(results);
  const cc = createComparisonTable(results);
  return [
    `Recorded ${meta.started.toISOString()} with \`${meta.command}\`.`,
    '',
    ...meta.machine.map((m) => `- ${m}`),
    `- ${o.zones} zones × ${RECORDS_PER_ZONE} records loaded with ${o.loadClients} concurrent POSTs; ` +
      `\`switchboard start --workers ${o.workers}\`; change runs of ${o.changeSeconds} s; ` +
      `${o.latencyChanges} changes for latency on an idle server and ${o.loadedLatencyChanges} under ${o.clients} writers, ` +
      `polled every ${o.pollIntervalMs} ms (timeout ${o.pollTimeoutMs} ms)`,
    '',
    '### Loading and API changes per second',
    '',
    formatMarkdownTable(t.header, t.rows),
    '',
    `### Loading, per ${fmt(o.chunkZones)} zones`,
    '',
    formatMarkdownTable(c.header, c.rows),
    '',
    ...(cc.rows.length > 0
      ? [
          `### A create with the zones loaded and with ${SMALL_SERVER_ZONES}`,
          '',
          formatMarkdownTable(cc.header, cc.rows),
          '',
        ]
      : []),
    `### Memory with the zones loaded`,
    '',
    formatMarkdownTable(m.header, m.rows),
    '',
    '### Change-to-answer latency',
    '',
    formatMarkdownTable(l.header, l.rows),
    '',
    ...verdictLines(results, o).map((v) => `- ${v}`),
    ...results.filter((r) => r.error).map((r) => `- ${r.store}: ${r.error}`),
  ].join('\n');
}

const BEGIN = '<!-- bench:control-plane:begin -->';
const END = '<!-- bench:control-plane:end -->';

/** Replaces the figures between the control-plane markers of docs/PERFORMANCE.md (adding the section if absent). */
export function writeControlPlaneDoc(section: string, file = resolve('docs/PERFORMANCE.md')): void {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Performance\n';
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  const next =
    a >= 0 && b > a
      ? `${text.slice(0, a + BEGIN.length)}\n${section}\n${text.slice(b)}`
      : `${text.trimEnd()}\n\n## Control plane\n\n${BEGIN}\n${section}\n${END}\n`;
  writeFileSync(file, next);
}

/** Parses the suite's options from a command line (also used by bench/run.ts). */
export function parseControlPlaneArgs(argv: string[], log: (line: string) => void): ControlPlaneBenchOptions {
  const quick = argv.includes('--quick');
  const get = (flag: string, dflt: string): string => {
    const i = argv.indexOf(flag);
    return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
  };
  const num = (flag: string, dflt: number, min: number, max: number): number => {
    const n = Number(get(flag, String(dflt)));
    if (!Number.isFinite(n) || n < min || n > max)
      throw new Error(`${flag} must be between ${min} and ${max}`);
    return n;
  };
  const zones = num('--zones', quick ? 2000 : 100_000, 1, 200_000);
  return {
    stores: get('--stores', 'sqlite,postgres').split(','),
    zones,
    chunkZones: num('--chunk-zones', Math.max(1, Math.round(zones / 10)), 1, zones),
    loadClients: num('--load-clients', 8, 1, 64),
    changeSeconds: num('--change-seconds', quick ? 3 : 10, 1, 120),
    clients: num('--clients', 8, 1, 64),
    latencyChanges: num('--latency-changes', quick ? 50 : 300, 1, 5000),
    loadedLatencyChanges: num('--loaded-latency-changes', quick ? 30 : 200, 0, 5000),
    pollIntervalMs: num('--poll-ms', 2, 1, 100),
    pollTimeoutMs: num('--poll-timeout-ms', 5000, 100, 30000),
    workers: num('--workers', 2, 1, 16),
    compareCreates: num('--compare-creates', quick ? 50 : 200, 0, 5000),
    log,
  };
}

/** Runs the suite, prints its tables and (unless told not to) records them; for bench/run.ts too. */
export async function runControlPlaneSuite(
  argv: string[],
  command: string,
  writeDoc: boolean,
): Promise<void> {
  const log = (line: string): void => console.log(line);
  const opts = parseControlPlaneArgs(argv, log);
  const started = new Date();
  const machine = describeMachine();
  const results = await runControlPlaneBench(opts);
  const t = throughputTable(results);
  const c = loadChunkTable(results);
  const m = memoryTable(results);
  const l = latencyTable(results);
  log(`\nControl plane: loading and API changes (${opts.zones} zones × ${RECORDS_PER_ZONE} records)\n`);
  log(formatTable(t.header, t.rows));
  log(`\nControl plane: loading per ${opts.chunkZones} zones\n`);
  log(formatTable(c.header, c.rows));
  log('\nControl plane: memory with the zones loaded\n');
  log(formatTable(m.header, m.rows));
  const cc = createComparisonTable(results);
  if (cc.rows.length > 0) {
    log(`\nControl plane: creates with the zones loaded and with ${SMALL_SERVER_ZONES}, alternately\n`);
    log(formatTable(cc.header, cc.rows));
  }
  log(`\nControl plane: change-to-answer latency (PATCH sent → first UDP answer with the new value)\n`);
  log(formatTable(l.header, l.rows));
  for (const v of verdictLines(results, opts)) log(v);
  const measured = results.some((r) => r.latency.changes > 0 || Number.isFinite(r.sequential.perSecond));
  if (writeDoc && measured) {
    writeControlPlaneDoc(controlPlaneMarkdown(results, { command, started, machine, opts }));
    log('\nbench: control-plane figures written to docs/PERFORMANCE.md');
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const rel = relative(process.cwd(), process.argv[1]);
  const script = rel.startsWith('..') ? process.argv[1] : rel;
  const bin = process.env.SWITCHBOARD_BIN ? `SWITCHBOARD_BIN=${process.env.SWITCHBOARD_BIN} ` : '';
  const command = `${bin}node ${script} ${argv.join(' ')}`.trim();
  console.log(`bench: ${command}`);
  for (const m of describeMachine()) console.log(`bench: ${m}`);
  // Quick runs are for trying the harness; only full runs are recorded unless asked.
  const writeDoc = !argv.includes('--no-doc') && (!argv.includes('--quick') || argv.includes('--doc'));
  runControlPlaneSuite(argv, command, writeDoc).then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
