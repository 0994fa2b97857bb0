/**
 * A zone of `--records` records (default 1,000,000) created from zone text through the API of
 * `switchboard start` (SQLite store, 1 DNS worker, images on), as an operator moving from
 * BIND or NSD does: a tenant whose record quota allows it POSTs the zone (PowerDNS API, `zone`
 * text with `$ORIGIN` and relative names: under the 32 MiB body limit), then replaces it whole
 * (native API, `PUT /zones/{zone}/zonefile`, one record changed). Reported: the time to the
 * 201, to the zone served (its SOA and a record answered), the replace's time to 200 and to the
 * new serial served, an AXFR's record count, and the primary's peak RSS (VmHWM, reset before
 * each step: the zone-work thread, the API, the compile threads are in it; the DNS worker is a
 * process of its own) and its CPU seconds over each step (all its threads). `--alone` also runs the create's zone work (`runZoneJob`) in a child
 * process with the thread's heap cap and reports its peak RSS and heap: the zone-work thread's
 * share on its own.
 *
 *   node dist/bench/big-create.js [--records 1000000] [--alone]
 *
 * Loopback only; the platform is stopped at the end.
 * @module
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_WORKER_HEAP_MB } from '../src/control/offload.js';
import { runZoneJob } from '../src/control/zone-work.js';
import {
  callApi,
  NO_LIMIT_ARGS,
  queryPlatform,
  removeDataDir,
  startPlatform,
  tenantToken,
} from '../test/helpers/platform.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

const records = Number(arg('records', '1000000'));
const ZONE = 'big-create.test.';
const ADMIN = 'sb_bench_big_create_admin_key_0123456789';
const EDGE = Buffer.from('the-big-create-bench-edge-key!!!').toString('base64');

/** The zone's text: SOA, NS, the NS's address, then A records `h<i>` (serial `serial`). */
function zoneText(serial: number, changed?: number): string {
  const lines = [
    `$ORIGIN ${ZONE}`,
    `@ 300 IN SOA ns1 hostmaster ${serial} 3600 600 86400 300`,
    '@ 300 IN NS ns1',
    'ns1 300 IN A 127.0.0.1',
  ];
  for (let i = 0; i < records - 3; i++)
    lines.push(
      i === changed
        ? `h${i} 300 IN A 192.0.2.1`
        : `h${i} 300 IN A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    );
  return `${lines.join('\n')}\n`;
}

/** VmHWM (peak RSS) of `pid` in MiB; `reset` first resets it (clear_refs 5). */
function peakMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : -1;
}
/** CPU seconds `pid` has used (all its threads: /proc/PID/stat utime + stime, 100 Hz ticks). */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** The create's zone work in this process (the child of `--alone`): time, peak RSS and heap. */
function alone(): void {
  const text = zoneText(1);
  const t0 = performance.now();
  const out = runZoneJob(
    {
      kind: 'create',
      origin: ZONE,
      input: { zonefile: text },
      defaults: undefined,
      limits: { maxTtl: 2592000, maxRecordsPerRRset: 1000 },
      budget: { max: records + 10, name: 'bench', code: 'CTL_ERR_VALIDATION' },
    },
    new Map(),
    new Map(),
  );
  const ms = performance.now() - t0;
  const u = process.resourceUsage();
  console.log(
    JSON.stringify({
      ms: Math.round(ms),
      cpuS: Number(((u.userCPUTime + u.systemCPUTime) / 1e6).toFixed(2)),
      maxRssMiB: Math.round(u.maxRSS / 1024),
      heapAfterMiB: Math.round(process.memoryUsage().heapUsed / 1048576),
      records: out.work.recordCount,
    }),
  );
}

async function waitServed(port: number, name: string, type: number, want: string): Promise<void> {
  const deadline = performance.now() + 600_000;
  while (performance.now() < deadline) {
    const r = await queryPlatform(port, name, type).catch(() => undefined);
    if (r?.answers.some((a) => a.includes(want))) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${name} ${want} never served`);
}

async function main(): Promise<void> {
  const result: Record<string, unknown> = { records };
  if (process.argv.includes('--alone')) {
    const child = spawnSync(
      process.execPath,
      [
        `--max-old-space-size=${DEFAULT_WORKER_HEAP_MB}`,
        fileURLToPath(import.meta.url),
        '--child',
        '--records',
        String(records),
      ],
      { encoding: 'utf8', timeout: 600_000 },
    );
    if (child.status !== 0) throw new Error(`alone: ${child.status} ${child.stderr}`);
    result.zoneWorkAlone = JSON.parse(child.stdout.trim().split('\n').pop() as string);
    console.log('zone work alone (runZoneJob, create):', result.zoneWorkAlone);
  }
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
    const tenant = await tenantToken(p.api, ADMIN, 'migrating', { maxRecords: records + 10 });
    const text = zoneText(1);
    const idle = peakMiB(p.pid);
    resetPeak(p.pid);
    let cpu0 = cpuSeconds(p.pid);
    let t0 = performance.now();
    const made = await callApi(p.api, tenant, 'POST', '/api/v1/servers/localhost/zones?rrsets=false', {
      name: ZONE,
      kind: 'Native',
      zone: text,
    });
    const createMs = performance.now() - t0;
    if (made.status !== 201)
      throw new Error(`create: ${made.status} ${JSON.stringify(made.body).slice(0, 300)}`);
    await waitServed(p.dnsPort, `h${records - 4}.${ZONE}`, 1, '10.');
    const servedMs = performance.now() - t0;
    const createCpu = cpuSeconds(p.pid) - cpu0;
    const createPeak = peakMiB(p.pid);
    const axfr = execFileSync(
      'kdig',
      [
        '@127.0.0.1',
        '-p',
        String(p.dnsPort),
        '-y',
        `hmac-sha256:edge:${EDGE}`,
        'AXFR',
        ZONE,
        '+noall',
        '+stats',
      ],
      {
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    const axfrRecords = Number(/\((\d+) messages, (\d+) records\)/.exec(axfr)?.[2] ?? -1);
    resetPeak(p.pid);
    cpu0 = cpuSeconds(p.pid);
    t0 = performance.now();
    const replaced = await callApi(p.api, tenant, 'PUT', `/api/v1/zones/${ZONE}/zonefile`, zoneText(2, 7));
    const replaceMs = performance.now() - t0;
    if (replaced.status !== 200)
      throw new Error(`replace: ${replaced.status} ${JSON.stringify(replaced.body).slice(0, 300)}`);
    await waitServed(p.dnsPort, `h7.${ZONE}`, 1, '192.0.2.1');
    const replaceServedMs = performance.now() - t0;
    const replaceCpu = cpuSeconds(p.pid) - cpu0;
    Object.assign(result, {
      textMiB: Number((text.length / 1048576).toFixed(1)),
      createMs: Math.round(createMs),
      createServedMs: Math.round(servedMs),
      createCpuS: Number(createCpu.toFixed(1)),
      axfrRecords,
      replaceMs: Math.round(replaceMs),
      replaceServedMs: Math.round(replaceServedMs),
      replaceCpuS: Number(replaceCpu.toFixed(1)),
      replaceAdded: replaced.body.added,
      replaceRemoved: replaced.body.removed,
      primaryIdleMiB: idle,
      primaryPeakCreateMiB: createPeak,
      primaryPeakReplaceMiB: peakMiB(p.pid),
    });
    console.log(JSON.stringify(result, null, 1));
  } finally {
    await p.stop();
    removeDataDir(p.dataDir);
  }
}

if (process.argv.includes('--child')) alone();
else await main();
