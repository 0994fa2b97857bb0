/**
 * IXFR vs AXFR of one big zone after small changes, from Switchboard and from Knot and BIND
 * serving the same zone in the same run (issue 9's benchmark: "AXFR and IXFR of a
 * 1,000,000-record zone vs NSD and Knot"). Every server gets the same `--versions` changes, each
 * replacing one A record: Switchboard (`start`, 1 DNS worker, images on) through the PowerDNS API
 * (PATCH), Knot (journal on) and BIND through signed DNS UPDATEs (Debian's nsupdate). NSD 4.6
 * takes no UPDATE and keeps no IXFR journal (IXFR out came in NSD 4.7): it serves the zone file
 * and is asked the same IXFR from an older serial, which it answers with the whole zone.
 * Then kdig's `IXFR=<serial before the versions>` and `AXFR`, signed, alternated `--rounds` times
 * per server: kdig's own time, octets and records, and the server's CPU over each transfer
 * (its process tree); medians; the rates against Knot's. Also change → served (every version:
 * the change made until the new SOA is answered), which for Switchboard includes the primary
 * building its IXFR journal entry and patching the image.
 *
 *   node dist/bench/ixfr.js [--records 100000] [--versions 5] [--rounds 5]
 *                           [--servers switchboard,knot,bind,nsd]
 *
 * Loopback only; each server is stopped after its rounds.
 * @module
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answerText } from '../test/helpers/dns-client.js';
import {
  type Peer,
  skipUnlessCommands,
  startBind,
  startKnot,
  startNsd,
  treeCpuSeconds,
} from '../test/helpers/peers.js';
import {
  callApi,
  NO_LIMIT_ARGS,
  queryPlatform,
  removeDataDir,
  startPlatform,
} from '../test/helpers/platform.js';
import { median } from './stats.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

const records = Number(arg('records', '100000'));
const versions = Number(arg('versions', '5'));
const rounds = Number(arg('rounds', '5'));
const servers = arg('servers', 'switchboard,knot,bind,nsd').split(',');
const ADMIN = 'sb_bench_ixfr_admin_key_0123456789abcdef';
const ZONE = 'ixfr-bench.test.';
const PDNS = '/api/v1/servers/localhost';
const EDGE = Buffer.from('the-ixfr-bench-edge-key-secret!!').toString('base64');
const KEY = { name: 'edge', algorithm: 'hmac-sha256', secret: EDGE };

// Relative names: a 1,000,000-record zone's text stays under the API's 32 MiB body limit.
const lines = [
  `$ORIGIN ${ZONE}`,
  '@ 300 IN SOA ns1 hostmaster 1 3600 600 86400 300',
  '@ 300 IN NS ns1',
  'ns1 300 IN A 127.0.0.1',
];
for (let i = 0; i < records - 3; i++)
  lines.push(`h${i} 300 IN A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
const zoneText = `${lines.join('\n')}\n`;

interface Transfer {
  bytes: number;
  records: number;
  ms: number;
  cpu: number;
}

/** One signed transfer with kdig (`type` = `AXFR` or `IXFR=<serial>`): kdig's report, the server's CPU. */
function kdig(port: number, pid: number, type: string): Transfer {
  const before = treeCpuSeconds(pid);
  const out = execFileSync(
    'kdig',
    ['@127.0.0.1', '-p', String(port), '-y', `hmac-sha256:edge:${EDGE}`, type, ZONE, '+noall', '+stats'],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
  );
  const cpu = treeCpuSeconds(pid) - before;
  const m = /Received (\d+) B \((\d+) messages, (\d+) records\)[\s\S]*in ([\d.]+) ms/.exec(out);
  if (!m) throw new Error(`no kdig summary:\n${out}`);
  return { bytes: Number(m[1]), records: Number(m[3]), ms: Number(m[4]), cpu };
}

/** The zone's SOA serial as `port` answers it, or -1. */
async function servedSerial(port: number): Promise<number> {
  const text = await answerText(port, ZONE, 6).catch(() => '');
  const m = /^0 \d+ \S+ \S+ (\d+) /.exec(text);
  return m ? Number(m[1]) : -1;
}

/** Polls until `port` answers a serial other than `old`; the milliseconds since `t0`. */
async function waitNewSerial(port: number, old: number, t0: number): Promise<number> {
  while (performance.now() - t0 < 60_000) {
    const s = await servedSerial(port);
    if (s !== old && s !== -1) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('the change was never served');
}

interface Result {
  server: string;
  note?: string;
  changeToServedMs?: number;
  ixfr: Transfer[];
  axfr: Transfer[];
}

/** Alternated IXFR from `from` and AXFR, `rounds` times. */
function transfers(port: number, pid: number, from: number): Pick<Result, 'ixfr' | 'axfr'> {
  const res = { ixfr: [] as Transfer[], axfr: [] as Transfer[] };
  for (let r = 0; r < rounds; r++) {
    res.ixfr.push(kdig(port, pid, `IXFR=${from}`));
    res.axfr.push(kdig(port, pid, 'AXFR'));
  }
  return res;
}

async function runSwitchboard(): Promise<Result> {
  const p = await startPlatform({
    apiKey: ADMIN,
    workers: 1,
    extraArgs: [
      ...NO_LIMIT_ARGS,
      '--max-records-per-request',
      String(records + 10),
      '--transfer-key',
      `edge:hmac-sha256:${EDGE}`,
    ],
    timeoutMs: 180_000,
  });
  try {
    const call = (method: string, path: string, body?: unknown) => callApi(p.api, ADMIN, method, path, body);
    const made = await call('POST', `${PDNS}/zones?rrsets=false`, {
      name: ZONE,
      kind: 'Native',
      zone: zoneText,
    });
    if (made.status !== 201)
      throw new Error(`zone not created: ${made.status} ${JSON.stringify(made.body).slice(0, 300)}`);
    const serial = async (): Promise<number> =>
      (await call('GET', `${PDNS}/zones/${ZONE}?rrsets=false`)).body.serial;
    const waitServed = async (s: number): Promise<void> => {
      for (;;) {
        const r = await queryPlatform(p.dnsPort, ZONE, 6);
        if (r.answers.some((a) => a.includes(` ${s} `))) return;
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const s0 = await serial();
    await waitServed(s0);
    const changeMs: number[] = [];
    for (let v = 0; v < versions; v++) {
      const t0 = performance.now();
      const r = await call('PATCH', `${PDNS}/zones/${ZONE}`, {
        rrsets: [
          {
            name: `h${v}.${ZONE}`,
            type: 'A',
            ttl: 300,
            changetype: 'REPLACE',
            records: [{ content: `192.0.2.${v + 1}`, disabled: false }],
          },
        ],
      });
      if (r.status !== 204) throw new Error(`PATCH: ${r.status}`);
      await waitServed(await serial());
      changeMs.push(performance.now() - t0);
    }
    return { server: 'switchboard', changeToServedMs: median(changeMs), ...transfers(p.dnsPort, p.pid, s0) };
  } finally {
    await p.stop();
    removeDataDir(p.dataDir);
  }
}

/** Knot or BIND: the same versions as signed DNS UPDATEs (nsupdate). */
async function runDynamicPeer(name: 'knot' | 'bind', file: string): Promise<Result> {
  const opts = { primaryTo: { to: '127.0.0.1', key: KEY, dynamic: true }, readyTimeoutMs: 300_000 };
  const peer: Peer =
    name === 'knot'
      ? await startKnot([{ origin: ZONE, file }], opts)
      : await startBind([{ origin: ZONE, file }], opts);
  try {
    const s0 = await servedSerial(peer.port);
    const changeMs: number[] = [];
    let last = s0;
    for (let v = 0; v < versions; v++) {
      const t0 = performance.now();
      const up = spawnSync('nsupdate', ['-y', `hmac-sha256:edge:${EDGE}`], {
        input: [
          `server 127.0.0.1 ${peer.port}`,
          `zone ${ZONE}`,
          `update delete h${v}.${ZONE} A`,
          `update add h${v}.${ZONE} 300 A 192.0.2.${v + 1}`,
          'send',
          '',
        ].join('\n'),
        encoding: 'utf8',
        timeout: 60_000,
      });
      if (up.status !== 0) throw new Error(`nsupdate to ${name}: ${up.stderr}${up.stdout}`);
      changeMs.push(await waitNewSerial(peer.port, last, t0));
      last = await servedSerial(peer.port);
    }
    return { server: name, changeToServedMs: median(changeMs), ...transfers(peer.port, peer.pid, s0) };
  } finally {
    await peer.stop();
  }
}

/** NSD 4.6: no UPDATE, no IXFR journal: the same IXFR (from the serial before) answered whole. */
async function runNsd(file: string): Promise<Result> {
  const peer = await startNsd([{ origin: ZONE, file }], {
    primaryTo: { to: '127.0.0.1', key: KEY },
    readyTimeoutMs: 300_000,
  });
  try {
    const s = await servedSerial(peer.port);
    return {
      server: 'nsd',
      note: 'no IXFR journal in NSD 4.6: IXFR answered with the whole zone',
      ...transfers(peer.port, peer.pid, s - 1),
    };
  } finally {
    await peer.stop();
  }
}

const missing = skipUnlessCommands('kdig', 'nsupdate');
if (missing) throw new Error(missing);
const dir = mkdtempSync(join(tmpdir(), 'sb-ixfr-bench-'));
const file = join(dir, 'zone');
writeFileSync(file, zoneText);
const results: Result[] = [];
try {
  for (const s of servers) {
    if (s === 'switchboard') results.push(await runSwitchboard());
    else if (s === 'knot' || s === 'bind') results.push(await runDynamicPeer(s, file));
    else if (s === 'nsd') results.push(await runNsd(file));
    else throw new Error(`unknown server ${s}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const sum = (l: Transfer[]) => ({
  ms: median(l.map((x) => x.ms)),
  cpuMs: Math.round(median(l.map((x) => x.cpu)) * 1000),
  bytes: l[0].bytes,
  records: l[0].records,
});
const knot = results.find((r) => r.server === 'knot');
const rate = (t: Transfer[]) => sum(t).records / sum(t).ms;
console.log(`${records} records, ${versions} versions, ${rounds} rounds (medians)`);
console.log(
  'server       | change→served | IXFR ms  recs     octets    CPU ms | AXFR ms  recs     CPU ms | AXFR rate vs Knot',
);
for (const r of results) {
  const i = sum(r.ixfr);
  const a = sum(r.axfr);
  console.log(
    [
      r.server.padEnd(12),
      (r.changeToServedMs === undefined ? '—' : `${Math.round(r.changeToServedMs)} ms`).padStart(13),
      `${i.ms.toFixed(0).padStart(7)} ${String(i.records).padStart(8)} ${String(i.bytes).padStart(10)} ${String(i.cpuMs).padStart(6)}`,
      `${a.ms.toFixed(0).padStart(7)} ${String(a.records).padStart(8)} ${String(a.cpuMs).padStart(6)}`,
      knot ? `${(rate(r.axfr) / rate(knot.axfr)).toFixed(2)}×` : '—',
    ].join(' | ') + (r.note ? `  (${r.note})` : ''),
  );
}
console.log(
  JSON.stringify(
    {
      records,
      versions,
      rounds,
      results: results.map((r) => ({ ...r, ixfr: sum(r.ixfr), axfr: sum(r.axfr) })),
    },
    null,
    1,
  ),
);
