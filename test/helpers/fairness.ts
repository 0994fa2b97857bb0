/**
 * The tenant-fairness scenario (issue 6 item 1), shared by test/e2e/fairness.test.ts and
 * bench/fairness.ts: against a running `switchboard start`, tenant A sends a ~3 kB zone file
 * of `$GENERATE 0-65535` lines, then imports a 100,000-record zone, while tenant B's API
 * calls (reads and small writes of its own zone) are timed one after another. Loopback
 * only; bounded in count and time.
 * @module
 */
import { readFileSync } from 'node:fs';
import { callApi, type Json, type Platform, queryPlatform } from './platform.js';
import { listChildren } from './procs.js';
import { type SchedTimes, schedDelta, schedTimes } from './sched.js';

/** Times of one kind of call (ms). */
export interface Timings {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** What the scenario measured. */
export interface FairnessResult {
  bomb: { status: number; ms: number; error: string; rssGrowthMb: number; bytes: number };
  import: { status: number; ms: number; records: number };
  /** A's PATCH of many RRsets after the import (when asked for: `patchRRsets`). */
  patch?: { status: number; ms: number; rrsets: number; bytes: number };
  /** A's creation of a zone with many RRsets in one JSON POST (when asked for: `createRRsets`). */
  create?: { status: number; ms: number; rrsets: number; bytes: number };
  /** Tenant B's calls while A's requests ran (from A's first request to the import's end + 1 s). */
  b: { all: Timings; reads: Timings; writes: Timings; errors: number; loop: LoopTimings };
  /**
   * Tenant B's change-to-answer (ms): from the PATCH's 2xx to the new record in DNS, while A's
   * requests ran (as `b`; before 2026-12-05 the calm phase's were counted here too); `unstarved`:
   * less the least run-queue wait of the primary's and the DNS workers' main threads meanwhile
   * (or the client's, when longer).
   */
  changeToAnswer: Timings & { unstarved: Timings };
  /**
   * The control: tenant B's calls and change-to-answer (every write's) while B runs alone before
   * A's first request (`calmMs`), on the same platform and machine — what B's calls cost without
   * A (tests compare with it).
   */
  calm: { all: Timings; changeToAnswer: Timings & { unstarved: Timings }; loop: LoopTimings };
  alive: { samePid: boolean; api: number; dns: string[] };
}

/**
 * Tenant B's calls seen from the primary's main thread, the loop that serves every tenant's API
 * (test/helpers/sched.ts), per call: `run`, the CPU time that thread used during the call (a
 * loop held by A's work runs A's work meanwhile: up to seconds of CPU, whatever the load);
 * `starved`, the longer of the times that thread and this process's own thread (the client)
 * waited for a CPU meanwhile, kept off it by other processes; `unstarved`, the call's wall time
 * less `starved`: what the call would have taken on a machine to itself (a loop held by A, or
 * B queued behind A, stays in it). Without scheduler statistics `starved` is 0 and `unstarved`
 * the wall time.
 */
export interface LoopTimings {
  run: Timings;
  unstarved: Timings;
  starved: Timings;
}

function timings(list: number[]): Timings {
  const a = [...list].sort((x, y) => x - y);
  if (a.length === 0) return { count: 0, p50: 0, p99: 0, max: 0 };
  const at = (q: number) => a[Math.min(a.length - 1, Math.floor(q * a.length))];
  return { count: a.length, p50: at(0.5), p99: at(0.99), max: a[a.length - 1] };
}

function loopTimings(calls: { wall: number; loop: SchedTimes; client: SchedTimes }[]): LoopTimings {
  const starved = calls.map((c) => Math.max(c.loop.waitMs, c.client.waitMs));
  return {
    run: timings(calls.map((c) => c.loop.runMs)),
    unstarved: timings(calls.map((c, i) => c.wall - starved[i])),
    starved: timings(starved),
  };
}

function answerTimings(answers: number[], waits: number[]): Timings & { unstarved: Timings } {
  return { ...timings(answers), unstarved: timings(answers.map((a, i) => a - (waits[i] ?? 0))) };
}

/** The primary's resident set (MiB), from /proc (worker threads included). */
export function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** About 3 kB of `$GENERATE 0-65535` lines: millions of records if expanded. */
export function generateBomb(bytes = 3000): string {
  const head = '$TTL 300\n@ SOA ns1.a.test. h.a.test. 1 3600 600 86400 300\n@ NS ns1.a.test.\n';
  const lines: string[] = [head];
  let size = head.length;
  for (let i = 0; size < bytes; i++) {
    const line = `$GENERATE 0-65535 g${i}-$ A 10.0.0.1\n`;
    lines.push(line);
    size += line.length;
  }
  return lines.join('');
}

/** A zone file of `records` A records (plus SOA, NS and the NS address). */
export function bigZoneText(records: number): string {
  const lines = [
    '$TTL 300',
    '@ SOA ns1.a.test. h.a.test. 1 3600 600 86400 300',
    '@ NS ns1.a.test.',
    'ns1 A 10.0.0.1',
  ];
  for (let i = 0; i < records; i++) lines.push(`h${i} A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  return `${lines.join('\n')}\n`;
}

async function ok(
  res: Promise<{ status: number; body: unknown }>,
  what: string,
): Promise<{ status: number; body: Json }> {
  const r = await res;
  if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `switchboard start` flags of the scenario: tenant B calls as fast as it is answered (to time
 * every call), above the per-key and per-account request rates, which are turned off.
 */
export const FAIRNESS_START_ARGS = ['--limit', 'token-rate=0', '--limit', 'account-rate=0'];

/**
 * Runs the scenario on `platform` with administrator key `adminKey`. `records`: the size of
 * A's import (default 100,000; A's quota is set above it).
 */
export async function runFairness(
  platform: Platform,
  adminKey: string,
  opts: {
    records?: number;
    patchRRsets?: number;
    createRRsets?: number;
    log?: (line: string) => void;
    /** How long tenant B runs alone before A's first request (the control, `calm`); default 1 s. */
    calmMs?: number;
  } = {},
): Promise<FairnessResult> {
  const records = opts.records ?? 100_000;
  const patchRRsets = opts.patchRRsets ?? 0;
  const createRRsets = opts.createRRsets ?? 0;
  const log = opts.log ?? (() => {});
  const api = (key: string, method: string, path: string, body?: unknown, type?: string) =>
    callApi(platform.api, key, method, path, body, type ? { 'content-type': type } : {});

  // Two tenants, each with a write token and a zone.
  const accountA = (
    await ok(
      api(adminKey, 'POST', '/api/v1/accounts', {
        name: 'tenant-a',
        maxRecords: records + patchRRsets + createRRsets + 50_000,
      }),
      'account A',
    )
  ).body;
  const accountB = (await ok(api(adminKey, 'POST', '/api/v1/accounts', { name: 'tenant-b' }), 'account B'))
    .body;
  const tokenA = (
    await ok(
      api(adminKey, 'POST', '/api/v1/tokens', {
        name: 'a',
        accountId: accountA.id,
        scope: { access: 'write' },
      }),
      'token A',
    )
  ).body.secret as string;
  const tokenB = (
    await ok(
      api(adminKey, 'POST', '/api/v1/tokens', {
        name: 'b',
        accountId: accountB.id,
        scope: { access: 'write' },
      }),
      'token B',
    )
  ).body.secret as string;
  await ok(api(tokenA, 'POST', '/api/v1/zones', { name: 'a.test', nameservers: ['ns1.a.test.'] }), 'zone A');
  await ok(api(tokenB, 'POST', '/api/v1/zones', { name: 'b.test', nameservers: ['ns1.b.test.'] }), 'zone B');

  // Tenant B: one call after another, reads and small writes, timed; every 10th write also
  // until DNS answers with it.
  const reads: number[] = [];
  const writes: number[] = [];
  const answers: number[] = [];
  // Per call (reads and writes in call order; answers): the threads' scheduler times meanwhile.
  const loopCalls: { wall: number; loop: SchedTimes; client: SchedTimes }[] = [];
  const answerWaits: number[] = [];
  const loop = () => schedTimes(platform.pid);
  const client = () => schedTimes(process.pid);
  // Change-to-answer crosses the primary (its compile threads) and the DNS workers: the least
  // any of their main threads waited for a CPU meanwhile is time the chain was surely starved
  // (or the client's own wait, when longer: it polls DNS).
  const chain = [platform.pid, ...listChildren(platform.pid)];
  const chainTimes = () => chain.map((p) => schedTimes(p));
  let errors = 0;
  let stop = false;
  let calmOver = false;
  let n = 0;
  const tenantB = (async () => {
    const deadline = Date.now() + 600_000;
    while (!stop && Date.now() < deadline) {
      let s = loop();
      let c = client();
      let t = performance.now();
      const r1 = await api(tokenB, 'GET', n % 2 === 0 ? '/api/v1/zones/b.test.' : '/api/v1/zones');
      reads.push(performance.now() - t);
      loopCalls.push({
        wall: reads[reads.length - 1],
        loop: schedDelta(s, loop()),
        client: schedDelta(c, client()),
      });
      if (r1.status !== 200) {
        errors++;
        if (errors <= 3) log(`tenant B read: ${r1.status} ${JSON.stringify(r1.body)}`);
      }
      const address = `192.0.2.${(n % 250) + 1}`;
      s = loop();
      c = client();
      t = performance.now();
      const r2 = await api(tokenB, 'PATCH', '/api/v1/zones/b.test./rrsets', {
        changes: [{ op: 'replace', name: 'w.b.test.', type: 'A', ttl: 60, records: [{ content: address }] }],
      });
      const acked = performance.now();
      writes.push(acked - t);
      loopCalls.push({ wall: acked - t, loop: schedDelta(s, loop()), client: schedDelta(c, client()) });
      const chainBefore = chainTimes();
      const clientBefore = client();
      if (r2.status !== 200) {
        errors++;
        if (errors <= 3) log(`tenant B write: ${r2.status} ${JSON.stringify(r2.body)}`);
      }
      // Every 10th write (every write while B runs alone: the control needs a few).
      if ((n % 10 === 0 || !calmOver) && r2.status === 200) {
        for (let k = 0; k < 100 && !stop; k++) {
          const a = await queryPlatform(platform.dnsPort, 'w.b.test', 1).catch(() => undefined);
          if (a?.answers.includes(address)) {
            answers.push(performance.now() - acked);
            const waits = chainTimes().map((after, i) => schedDelta(chainBefore[i], after).waitMs);
            answerWaits.push(Math.max(Math.min(...waits), schedDelta(clientBefore, client()).waitMs));
            break;
          }
          await sleep(5);
        }
      }
      n++;
      await sleep(10);
    }
  })();

  await sleep(opts.calmMs ?? 1000);
  calmOver = true;
  const mark = {
    reads: reads.length,
    writes: writes.length,
    answers: answers.length,
    calls: loopCalls.length,
  };
  const bombText = generateBomb();
  const rssBefore = rssMb(platform.pid);
  let t = performance.now();
  const bomb = await api(tokenA, 'PUT', '/api/v1/zones/a.test./zonefile', bombText);
  const bombMs = performance.now() - t;
  const rssAfter = rssMb(platform.pid);
  log(`bomb: ${bomb.status} in ${bombMs.toFixed(0)} ms: ${JSON.stringify(bomb.body)}`);

  const text = bigZoneText(records);
  t = performance.now();
  const imported = await api(tokenA, 'PUT', '/api/v1/zones/a.test./zonefile', text);
  const importMs = performance.now() - t;
  log(`import: ${imported.status} in ${importMs.toFixed(0)} ms`);
  let patch: FairnessResult['patch'];
  if (patchRRsets > 0) {
    // A PATCH of many RRsets (one new A RRset each) to the zone just imported.
    const changes = [];
    for (let i = 0; i < patchRRsets; i++)
      changes.push({
        op: 'replace',
        name: `p${i}.a.test.`,
        type: 'A',
        ttl: 300,
        records: [{ content: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }],
      });
    const body = JSON.stringify({ changes });
    t = performance.now();
    const patched = await api(tokenA, 'PATCH', '/api/v1/zones/a.test./rrsets', body, 'application/json');
    patch = { status: patched.status, ms: performance.now() - t, rrsets: patchRRsets, bytes: body.length };
    log(
      `patch of ${patchRRsets} RRsets (${body.length} octets): ${patched.status} in ${patch.ms.toFixed(0)} ms`,
    );
  }
  let create: FairnessResult['create'];
  if (createRRsets > 0) {
    // A new zone of many RRsets in one JSON POST (the zone's SOA and NS made for it).
    const rrsets = [];
    for (let i = 0; i < createRRsets; i++)
      rrsets.push({
        name: `c${i}.a2.test.`,
        type: 'A',
        ttl: 300,
        records: [{ content: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` }],
      });
    const body = JSON.stringify({ name: 'a2.test', nameservers: ['ns1.a.test.'], rrsets });
    t = performance.now();
    const made = await api(tokenA, 'POST', '/api/v1/zones', body, 'application/json');
    create = { status: made.status, ms: performance.now() - t, rrsets: createRRsets, bytes: body.length };
    log(
      `creation with ${createRRsets} RRsets (${body.length} octets): ${made.status} in ${create.ms.toFixed(0)} ms`,
    );
  }
  await sleep(1000);
  stop = true;
  await tenantB;

  const bReads = reads.slice(mark.reads);
  const bWrites = writes.slice(mark.writes);
  // The imported zone reaches the DNS workers (each parses it; bounded wait).
  let dns: string[] = [];
  const last = `h${records - 1}.a.test`;
  for (const until = Date.now() + 60_000; dns.length === 0 && Date.now() < until; ) {
    dns = (await queryPlatform(platform.dnsPort, last, 1).catch(() => ({ answers: [] as string[] }))).answers;
    if (dns.length === 0) await sleep(200);
  }
  const alive = {
    samePid: platform.child.exitCode === null && platform.child.signalCode === null,
    api: (await api(tokenB, 'GET', '/api/v1/zones/b.test.')).status,
    dns,
  };
  return {
    bomb: {
      status: bomb.status,
      ms: bombMs,
      error: typeof bomb.body === 'object' ? String(bomb.body?.error ?? '') : String(bomb.body),
      rssGrowthMb: rssAfter - rssBefore,
      bytes: bombText.length,
    },
    import: { status: imported.status, ms: importMs, records },
    ...(patch ? { patch } : {}),
    ...(create ? { create } : {}),
    b: {
      all: timings([...bReads, ...bWrites]),
      reads: timings(bReads),
      writes: timings(bWrites),
      errors,
      loop: loopTimings(loopCalls.slice(mark.calls)),
    },
    changeToAnswer: answerTimings(answers.slice(mark.answers), answerWaits.slice(mark.answers)),
    calm: {
      all: timings([...reads.slice(0, mark.reads), ...writes.slice(0, mark.writes)]),
      changeToAnswer: answerTimings(answers.slice(0, mark.answers), answerWaits.slice(0, mark.answers)),
      loop: loopTimings(loopCalls.slice(0, mark.calls)),
    },
    alive,
  };
}
