/**
 * The fleet's change-to-answer with `start` as the primary (docs/EDGE.md "The control plane's
 * view"; docs/PERFORMANCE.md "Zone transfers (issue 9)"): no hand NOTIFY — `start` NOTIFYs the
 * edges it learnt (their signed SOA checks carry where), so this times the whole path:
 *
 * 1. a record changed through the API → answered by each of E edges (start's NOTIFY → the
 *    edge's SOA check → IXFR → store → compile → workers);
 * 2. a zone created through the API → answered by each edge (the fleet catalog's new version
 *    NOTIFYed → catalog IXFR → the member's AXFR);
 * 3. with `--downstream`: Knot as a secondary of edge 0 (`--transfer-key`, `--notify`): the change
 *    → answered by Knot (start → edge → Knot, NOTIFY and IXFR at both hops).
 *
 *   node dist/bench/edge-fleet.js [--zones 20] [--edges 3] [--changes 5] [--downstream] [--trace]
 *
 * Times from the API call's start; p50/p99 over edges × changes. `--trace` runs every process
 * with SWITCHBOARD_EDGE_TRACE=1 and prints where the time goes: per hop (start released the
 * NOTIFY, the edge's NOTIFY acked, the edge took it, SOA answered, transfer read, stored,
 * published, applied by its workers, answered) p50/p99 from the API call, and the slowest
 * samples hop by hop. Loopback only; every process stopped at the end.
 * @module
 */
import { parseTrace, type TraceEvent } from '../src/edge/trace.js';
import { decodeMessage } from '../src/wire/decode.js';
import { rdataToText } from '../src/wire/rdata.js';
import { type EdgeProcess, startEdge } from '../test/e2e/edge-support.js';
import { freePort } from '../test/e2e/support.js';
import { buildQuery, queryUdp } from '../test/helpers/dns-client.js';
import { type Peer, startKnot } from '../test/helpers/peers.js';
import { callApi, NO_LIMIT_ARGS, type Platform, startPlatform } from '../test/helpers/platform.js';
import { treeCpuSeconds } from '../test/helpers/procs.js';
import { median, quantileSorted } from './stats.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

const zones = Number(arg('zones', '20'));
const edgeCount = Number(arg('edges', '3'));
const changes = Number(arg('changes', '5'));
const downstream = process.argv.includes('--downstream');
const trace = process.argv.includes('--trace');
// Read by every process started below (src/edge/trace.ts).
if (trace) process.env.SWITCHBOARD_EDGE_TRACE = '1';
const epochNow = () => performance.timeOrigin + performance.now();

/** One answer timed: which edge, the zones whose hops count (in order), from when (epoch ms), how long. */
interface Sample {
  edge: number;
  zones: string[];
  at: number;
  ms: number;
}

const START_HOPS = ['start-released'];
const EDGE_HOPS = ['edge-notify', 'edge-soa', 'edge-xfr', 'edge-stored', 'edge-publish', 'edge-applied'];

/** Per hop p50/p99 from the API call, and the slowest samples hop by hop. */
function traceReport(what: string, samples: Sample[], startLog: TraceEvent[], edgeLogs: TraceEvent[][]) {
  const first = (log: TraceEvent[], hop: string, zone: string, at: number, detail?: string) =>
    log.find(
      (e) =>
        e.hop === hop &&
        e.zone === zone &&
        e.at >= at &&
        (detail === undefined || e.detail.startsWith(detail)),
    );
  const rows = samples.map((s) => {
    const hops: [string, number | undefined][] = [];
    const e = edges[s.edge];
    for (const [i, zone] of s.zones.entries()) {
      const tag = s.zones.length > 1 ? (i === 0 ? 'catalog ' : 'member ') : '';
      for (const h of START_HOPS) hops.push([tag + h, first(startLog, h, zone, s.at)?.at]);
      hops.push([
        `${tag}start-notify-acked`,
        first(startLog, 'start-notify-acked', zone, s.at, `${e.host}:${e.port} `)?.at,
      ]);
      for (const h of EDGE_HOPS) hops.push([tag + h, first(edgeLogs[s.edge], h, zone, s.at)?.at]);
    }
    return { s, hops: hops.map(([h, t]) => [h, t === undefined ? undefined : t - s.at] as const) };
  });
  console.log(
    `  where the time goes (${what}; ms from the API call, p50 / p99 / max over ${samples.length}):`,
  );
  const names = rows[0]?.hops.map(([h]) => h) ?? [];
  for (const [i, h] of names.entries()) {
    const v = rows
      .map((r) => r.hops[i][1])
      .filter((x): x is number => x !== undefined)
      .sort((a, b) => a - b);
    if (v.length === 0) {
      console.log(`    ${h.padEnd(30)} (no trace)`);
      continue;
    }
    console.log(
      `    ${h.padEnd(30)} ${median(v).toFixed(0).padStart(6)} ${quantileSorted(v, 0.99).toFixed(0).padStart(6)} ${v[v.length - 1].toFixed(0).padStart(6)}  (n ${v.length})`,
    );
  }
  const answered = rows.map((r) => r.s.ms).sort((a, b) => a - b);
  console.log(
    `    ${'answered'.padEnd(30)} ${median(answered).toFixed(0).padStart(6)} ${quantileSorted(answered, 0.99).toFixed(0).padStart(6)} ${answered[answered.length - 1].toFixed(0).padStart(6)}`,
  );
  for (const r of [...rows].sort((a, b) => b.s.ms - a.s.ms).slice(0, 3))
    console.log(
      `    slow: edge ${r.s.edge} ${r.s.zones.at(-1)} answered at ${r.s.ms.toFixed(0)} ms: ${r.hops.map(([h, t]) => `${h} ${t === undefined ? '-' : t.toFixed(0)}`).join(', ')}`,
    );
}
const ADMIN = 'sb_bench_edge_fleet_admin_key_0123456789';
const keyOf = (i: number) =>
  `fleet${i}.:hmac-sha256:${Buffer.from(`bench-edge-fleet-key-${i}-0123456789abcdef`).toString('base64')}`;
const DOWN_SECRET = Buffer.from('bench-edge-fleet-downstream-key-0123456').toString('base64');
const nameOf = (i: number) => `f${i}.fleet.bench.`;
const zoneFile = (origin: string, www: string) =>
  `$ORIGIN ${origin}\n@ 300 IN SOA ns1 hostmaster 1 3600 600 86400 300\n@ 300 IN NS ns1\nns1 300 IN A 192.0.2.1\nwww 300 IN A ${www}\n`;

async function answer(host: string, port: number, name: string): Promise<string> {
  try {
    const r = decodeMessage(
      await queryUdp(buildQuery({ name, type: 1 }), { host, port, timeoutMs: 500, retries: 0 }),
    );
    return r.answers.map((a) => rdataToText(a.type, a.rdata)).join('|');
  } catch {
    return '';
  }
}

async function until(host: string, port: number, name: string, want: string, t0: number, limitMs = 60_000) {
  while ((await answer(host, port, name)) !== want) {
    if (performance.now() - t0 > limitMs)
      throw new Error(`${name} at ${host}:${port}: not ${want} within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now() - t0;
}

const summary = (what: string, times: number[]) => {
  const s = [...times].sort((a, b) => a - b);
  console.log(
    `${what}: n ${s.length}, p50 ${median(s).toFixed(0)} ms, p99 ${quantileSorted(s, 0.99).toFixed(0)} ms, max ${s[s.length - 1].toFixed(0)} ms`,
  );
};

let platform: Platform | undefined;
const edges: EdgeProcess[] = [];
let knot: Peer | undefined;
try {
  platform = await startPlatform({
    apiKey: ADMIN,
    workers: 1,
    extraArgs: [
      ...NO_LIMIT_ARGS,
      ...Array.from({ length: edgeCount }, (_, i) => ['--transfer-key', keyOf(i)]).flat(),
    ],
  });
  for (let i = 0; i < zones; i++) {
    const r = await callApi(platform.api, ADMIN, 'POST', '/api/v1/zones', {
      name: nameOf(i),
      zonefile: zoneFile(nameOf(i), '192.0.2.2'),
    });
    if (r.status !== 201) throw new Error(`zone ${nameOf(i)}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  const knotPort = downstream ? await freePort() : 0;
  for (let i = 0; i < edgeCount; i++) {
    const host = `127.0.0.${i === 0 && downstream ? 1 : 31 + i}`;
    edges.push(
      await startEdge({
        primary: `127.0.0.1:${platform.dnsPort}`,
        key: keyOf(i),
        host,
        pop: `fleet${i}`,
        minTimers: '3600,600',
        extra:
          i === 0 && downstream
            ? ['--transfer-key', `down:hmac-sha256:${DOWN_SECRET}`, '--notify', `127.0.0.1:${knotPort}`]
            : [],
      }),
    );
  }
  const t0 = performance.now();
  await Promise.all(
    edges.map((e) => until(e.host, e.port, `www.${nameOf(zones - 1)}`, '192.0.2.2', t0, 120_000)),
  );
  console.log(
    `${edgeCount} edges follow ${zones} zones of start (synced in ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  if (downstream) {
    knot = await startKnot(
      Array.from({ length: zones }, (_, i) => ({ origin: nameOf(i), file: '' })),
      {
        port: knotPort,
        secondary: {
          primary: `127.0.0.1@${edges[0].port}`,
          key: { name: 'down', algorithm: 'hmac-sha256', secret: DOWN_SECRET },
          allowNotify: true,
        },
        readyTimeoutMs: 60_000,
      },
    );
    const k = knot;
    await until('127.0.0.1', k.port, `www.${nameOf(zones - 1)}`, '192.0.2.2', performance.now(), 60_000);
  }
  // Let every edge's check reach start (its NOTIFY address listed) before the first change.
  await new Promise((r) => setTimeout(r, 2000));
  const cpuBefore = {
    start: treeCpuSeconds(platform.pid),
    edges: edges.reduce((n, e) => n + treeCpuSeconds(e.pid), 0),
  };
  const changed: number[] = [];
  const changeSamples: Sample[] = [];
  const downstreamTimes: number[] = [];
  for (let c = 1; c <= changes; c++) {
    const zone = nameOf(c % zones);
    const www = `198.51.100.${c}`;
    const t = performance.now();
    const at = epochNow();
    const r = await callApi(platform.api, ADMIN, 'PATCH', `/api/v1/zones/${zone}/rrsets`, {
      changes: [{ op: 'replace', name: `www.${zone}`, type: 'A', ttl: 300, records: [{ content: www }] }],
    });
    if (r.status !== 200) throw new Error(`PATCH ${zone}: ${r.status}`);
    const waits = edges.map(async (e, i) => {
      const ms = await until(e.host, e.port, `www.${zone}`, www, t);
      changed.push(ms);
      changeSamples.push({ edge: i, zones: [zone], at, ms });
    });
    if (knot)
      waits.push(
        until('127.0.0.1', knot.port, `www.${zone}`, www, t).then((ms) => {
          downstreamTimes.push(ms);
        }),
      );
    await Promise.all(waits);
  }
  summary(
    `record changed through the API → answered by each edge (${edgeCount} edges × ${changes})`,
    changed,
  );
  if (downstreamTimes.length > 0) summary('  … → answered by Knot, a secondary of edge 0', downstreamTimes);
  const created: number[] = [];
  const createSamples: Sample[] = [];
  for (let c = 0; c < Math.min(changes, 3); c++) {
    const zone = `new${c}.fleet.bench.`;
    const t = performance.now();
    const at = epochNow();
    const r = await callApi(platform.api, ADMIN, 'POST', '/api/v1/zones', {
      name: zone,
      zonefile: zoneFile(zone, '192.0.2.9'),
    });
    if (r.status !== 201) throw new Error(`POST ${zone}: ${r.status}`);
    await Promise.all(
      edges.map(async (e, i) => {
        const ms = await until(e.host, e.port, `www.${zone}`, '192.0.2.9', t);
        created.push(ms);
        createSamples.push({ edge: i, zones: ['catalog.switchboard.invalid.', zone], at, ms });
      }),
    );
  }
  summary(
    `zone created through the API → answered by each edge (fleet catalog NOTIFY; ${edgeCount} edges)`,
    created,
  );
  if (trace) {
    // The last lines reach the pipes a moment after the answers.
    await new Promise((r) => setTimeout(r, 300));
    const startLog = parseTrace(platform.stderr());
    const edgeLogs = edges.map((e) => parseTrace(e.stderr()));
    traceReport('record changed', changeSamples, startLog, edgeLogs);
    traceReport('zone created: the catalog, then the member', createSamples, startLog, edgeLogs);
  }
  console.log(
    `CPU during the changes: start ${(treeCpuSeconds(platform.pid) - cpuBefore.start).toFixed(2)} s, edges ${(edges.reduce((n, e) => n + treeCpuSeconds(e.pid), 0) - cpuBefore.edges).toFixed(2)} s`,
  );
} finally {
  await knot?.stop();
  for (const e of edges) await e.stop();
  await platform?.stop();
}
