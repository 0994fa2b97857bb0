/**
 * IXFR vs AXFR out of `switchboard start` (1 DNS worker, images on) for one big zone after a
 * small change through the API (one record replaced per version, `--versions` versions): kdig's
 * `IXFR=<serial before>` and `AXFR`, alternated `--rounds` times; kdig's own time, octets and
 * records, and the platform's CPU (primary + worker) over each transfer; medians. Also the API
 * change → served (every version) time, which includes the primary building its IXFR journal
 * entry.
 *
 *   node dist/bench/ixfr.js [--records 100000] [--versions 5] [--rounds 5]
 *
 * Loopback only; the platform is stopped at the end.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { treeCpuSeconds } from '../test/helpers/peers.js';
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
const ADMIN = 'sb_bench_ixfr_admin_key_0123456789abcdef';
const ZONE = 'ixfr-bench.test.';
const PDNS = '/api/v1/servers/localhost';
const EDGE = Buffer.from('the-ixfr-bench-edge-key-secret!!').toString('base64');

const lines = [
  `${ZONE} 300 IN SOA ns1.${ZONE} hostmaster.${ZONE} 1 3600 600 86400 300`,
  `${ZONE} 300 IN NS ns1.${ZONE}`,
  `ns1.${ZONE} 300 IN A 127.0.0.1`,
];
for (let i = 0; i < records - 3; i++)
  lines.push(`h${i}.${ZONE} 300 IN A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);

const p = await startPlatform({
  apiKey: ADMIN,
  workers: 1,
  extraArgs: [...NO_LIMIT_ARGS, '--transfer-key', `edge:hmac-sha256:${EDGE}`],
  timeoutMs: 120_000,
});
try {
  const call = (method: string, path: string, body?: unknown) => callApi(p.api, ADMIN, method, path, body);
  const made = await call('POST', `${PDNS}/zones`, {
    name: ZONE,
    kind: 'Native',
    zone: `${lines.join('\n')}\n`,
  });
  if (made.status !== 201)
    throw new Error(`zone not created: ${made.status} ${JSON.stringify(made.body).slice(0, 300)}`);
  const serial = async (): Promise<number> =>
    (await call('GET', `${PDNS}/zones/${ZONE}?rrsets=false`)).body.serial;
  const waitServed = async (s: number): Promise<number> => {
    const t0 = performance.now();
    for (;;) {
      const r = await queryPlatform(p.dnsPort, ZONE, 6);
      if (r.answers.some((a) => a.includes(` ${s} `))) return performance.now() - t0;
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
  const kdig = (type: string) => {
    const before = treeCpuSeconds(p.pid);
    const out = execFileSync(
      'kdig',
      [
        '@127.0.0.1',
        '-p',
        String(p.dnsPort),
        '-y',
        `hmac-sha256:edge:${EDGE}`,
        type,
        ZONE,
        '+noall',
        '+stats',
      ],
      { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
    );
    const cpu = treeCpuSeconds(p.pid) - before;
    const m = /Received (\d+) B \((\d+) messages, (\d+) records\)[\s\S]*in ([\d.]+) ms/.exec(out);
    if (!m) throw new Error(`no kdig summary:\n${out}`);
    return { bytes: Number(m[1]), records: Number(m[3]), ms: Number(m[4]), cpu };
  };
  const res = { ixfr: [] as ReturnType<typeof kdig>[], axfr: [] as ReturnType<typeof kdig>[] };
  for (let r = 0; r < rounds; r++) {
    res.ixfr.push(kdig(`IXFR=${s0}`));
    res.axfr.push(kdig('AXFR'));
  }
  const sum = (l: ReturnType<typeof kdig>[]) => ({
    ms: median(l.map((x) => x.ms)),
    cpuMs: Math.round(median(l.map((x) => x.cpu)) * 1000),
    bytes: l[0].bytes,
    records: l[0].records,
  });
  console.log(
    JSON.stringify(
      {
        records,
        versions,
        rounds,
        changeToServedMs: Math.round(median(changeMs)),
        ixfr: sum(res.ixfr),
        axfr: sum(res.axfr),
      },
      null,
      1,
    ),
  );
} finally {
  await p.stop();
  removeDataDir(p.dataDir);
}
