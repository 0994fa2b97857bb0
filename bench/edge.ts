/**
 * `switchboard edge` (docs/EDGE.md): a new edge's catalog sync, and change-to-answer on several
 * edges. A `serve` primary (1 worker, images on, an edge key) serves N small zones and a fleet
 * catalog listing them; then:
 *
 * 1. sync: one edge with an empty state is started and timed until its log says every member
 *    is transferred and stored (`catalog sync: …`) and until the last zone answers; the edge's
 *    peak RSS (its primary and its worker, VmHWM) and CPU seconds of the whole tree;
 * 2. change-to-answer: E edges (1 worker each, on 127.0.0.2…) follow the same primary; C times
 *    a zone's record is changed (file rewritten, SIGHUP to serve, a signed NOTIFY to each edge
 *    as `start` sends), and the time until each edge answers the new record is taken; p50/p99.
 *
 *   node dist/bench/edge.js [--zones 10000] [--edges 3] [--changes 10]
 *
 * Loopback only; every process is stopped at the end.
 * @module
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeMessage } from '../src/wire/decode.js';
import { rdataToText } from '../src/wire/rdata.js';
import { type EdgeProcess, sendNotify, startEdge } from '../test/e2e/edge-support.js';
import { freePort, startServe } from '../test/e2e/support.js';
import { buildQuery, queryUdp } from '../test/helpers/dns-client.js';
import { listDescendants, procStatusBytes, treeCpuSeconds } from '../test/helpers/procs.js';
import { median } from './stats.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

const zones = Number(arg('zones', '10000'));
const edgeCount = Number(arg('edges', '3'));
const changes = Number(arg('changes', '10'));
const SECRET = Buffer.from('edge-benchmark-key-secret-00000000000').toString('base64');
const KEY = `bench.:hmac-sha256:${SECRET}`;

const dir = mkdtempSync(join(tmpdir(), 'sb-edge-bench-'));
const zoneDir = join(dir, 'zones');
mkdirSync(zoneDir);
const nameOf = (i: number) => `z${i}.bench.`;
const zoneText = (origin: string, serial: number, www: string) =>
  `$ORIGIN ${origin}\n$TTL 300\n@ IN SOA ns1 hostmaster ${serial} 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\nwww A ${www}\nmail A 192.0.2.3\n`;
for (let i = 0; i < zones; i++)
  writeFileSync(join(zoneDir, `${nameOf(i)}zone`), zoneText(nameOf(i), 1, '192.0.2.2'));
const catalog = [
  '$ORIGIN catalog.switchboard.invalid.',
  '@ 0 IN SOA invalid. invalid. 1 3600 600 86400 0',
  '@ 0 IN NS invalid.',
  'version 0 IN TXT "2"',
];
for (let i = 0; i < zones; i++) catalog.push(`m${i}.zones 0 IN PTR ${nameOf(i)}`);
writeFileSync(join(zoneDir, 'catalog.switchboard.invalid.zone'), `${catalog.join('\n')}\n`);

async function answer(edge: EdgeProcess, name: string): Promise<string> {
  try {
    const r = decodeMessage(
      await queryUdp(buildQuery({ name, type: 1 }), {
        host: edge.host,
        port: edge.port,
        timeoutMs: 500,
        retries: 0,
      }),
    );
    return r.answers.map((a) => rdataToText(a.type, a.rdata)).join('|');
  } catch {
    return '';
  }
}

function treeRss(pid: number): number {
  let peak = 0;
  for (const p of [pid, ...listDescendants(pid)]) peak += procStatusBytes(p, 'VmHWM');
  return peak;
}

const port = await freePort();
const serve = await startServe(
  ['--zone-dir', zoneDir, '--listen', `127.0.0.1:${port}`, '--workers', '1', '--transfer-key', KEY],
  600_000,
);
const edges: EdgeProcess[] = [];
try {
  if (!serve.startLine) throw new Error(`serve did not start: ${serve.stderr()}`);
  console.log(`primary: ${serve.startLine.slice(0, 80)}…`);
  // 1. Sync.
  const t0 = performance.now();
  const first = await startEdge({
    primary: `127.0.0.1:${port}`,
    key: KEY,
    host: '127.0.0.2',
    minTimers: '3600,600',
  });
  edges.push(first);
  await first.waitForStderr(/catalog sync: every new member transferred and stored in \d+ ms/, 1, 900_000);
  const stored = performance.now() - t0;
  const last = `www.${nameOf(zones - 1)}`;
  while ((await answer(first, last)) !== '192.0.2.2') await new Promise((r) => setTimeout(r, 50));
  const answered = performance.now() - t0;
  const syncLine = /catalog sync: [^\n]*/.exec(first.stderr())?.[0];
  console.log(
    `sync of ${zones} zones to a new edge: stored ${(stored / 1000).toFixed(1)} s, last zone answered ${(answered / 1000).toFixed(1)} s; edge peak RSS ${(treeRss(first.pid) / 1048576).toFixed(0)} MiB (primary + 1 worker), edge CPU ${treeCpuSeconds(first.pid).toFixed(1)} s; primary CPU ${treeCpuSeconds(serve.pid).toFixed(1)} s`,
  );
  console.log(`  (${syncLine})`);
  // 2. Change-to-answer on E edges.
  for (let i = 1; i < edgeCount; i++) {
    const e = await startEdge({
      primary: `127.0.0.1:${port}`,
      key: KEY,
      host: `127.0.0.${2 + i}`,
      minTimers: '3600,600',
    });
    edges.push(e);
    await e.waitForStderr(/catalog sync: every new member transferred/, 1, 900_000);
  }
  const times: number[] = [];
  for (let c = 1; c <= changes; c++) {
    const zone = nameOf(c % zones);
    const www = `198.51.100.${c}`;
    writeFileSync(join(zoneDir, `${zone}zone`), zoneText(zone, 1 + c, www));
    const before = (serve.stderr().match(/reloaded/g) ?? []).length;
    serve.child.kill('SIGHUP');
    await serve.waitForStderr(/reloaded/, before + 1, 60_000);
    const t = performance.now();
    await Promise.all(edges.map((e) => sendNotify(zone, e.host, e.port, '127.0.0.1', KEY)));
    await Promise.all(
      edges.map(async (e) => {
        while ((await answer(e, `www.${zone}`)) !== www) await new Promise((r) => setTimeout(r, 5));
        times.push(performance.now() - t);
      }),
    );
  }
  times.sort((a, b) => a - b);
  const p99 = times[Math.min(times.length - 1, Math.ceil(times.length * 0.99) - 1)];
  console.log(
    `change-to-answer (NOTIFY → SOA → IXFR → store → compile → workers), ${edgeCount} edges × ${changes} changes: p50 ${median(times).toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, max ${times[times.length - 1].toFixed(0)} ms`,
  );
} finally {
  for (const e of edges) await e.stop();
  await serve.stop();
  rmSync(dir, { recursive: true, force: true });
  for (const e of edges) rmSync(e.state, { recursive: true, force: true });
}
