/**
 * The secondary zones' refresher (`start`'s and `serve`'s, src/server/shared/secondary-refresher.ts)
 * transferring many zones from one NSD primary, TSIG-signed: over persistent, pipelined
 * connections (connection.ts, the default) against a connection per transfer (`connections:
 * false`, what it did before session 14), alternated round by round in one process. Per mode:
 * the wall time until every zone was transferred, this process's CPU (the refresher, the
 * transfers' parsing and checks) and NSD's CPU over the same time, the connections opened;
 * medians over the rounds. The zones are kept in memory (test/helpers/memory-keeper.ts): the
 * control plane's import is not part of it.
 *
 *   node dist/bench/secondary-xfr.js [--zones 500] [--records 40] [--rounds 3]
 *
 * Loopback only; NSD is stopped at the end.
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecondaryRefresher } from '../src/server/shared/secondary-refresher.js';
import { OutboundPolicy } from '../src/xfr/outbound.js';
import { memoryKeeper } from '../test/helpers/memory-keeper.js';
import { startNsd, treeCpuSeconds } from '../test/helpers/peers.js';
import { median } from './stats.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

const zoneCount = Number(arg('zones', '500'));
const records = Number(arg('records', '40'));
const rounds = Number(arg('rounds', '3'));
const SECRET = Buffer.from('secondary-xfr-bench-transfer-key-0001').toString('base64');
const KEY = { name: 'bench.', algorithm: 'hmac-sha256', secret: SECRET };
const nameOf = (i: number) => `z${i}.secondary-bench.test.`;

const dir = mkdtempSync(join(tmpdir(), 'sb-secondary-xfr-'));
const zones = Array.from({ length: zoneCount }, (_, i) => {
  const file = join(dir, `${nameOf(i)}zone`);
  writeFileSync(
    file,
    [
      `$ORIGIN ${nameOf(i)}`,
      '$TTL 300',
      `@ IN SOA ns1 hostmaster ${i + 1} 3600 600 86400 300`,
      '@ NS ns1',
      'ns1 A 192.0.2.1',
      ...Array.from({ length: records }, (_, k) => `h${k} A 192.0.2.${k % 250}`),
      '',
    ].join('\n'),
  );
  return { origin: nameOf(i), file };
});

const nsd = await startNsd(zones, { primaryTo: { to: '127.0.0.1', key: KEY } });
type Mode = 'persistent' | 'per-transfer';
const results: Record<Mode, { ms: number[]; cpu: number[]; nsdCpu: number[]; conns: number[] }> = {
  persistent: { ms: [], cpu: [], nsdCpu: [], conns: [] },
  'per-transfer': { ms: [], cpu: [], nsdCpu: [], conns: [] },
};
try {
  for (let round = 0; round < rounds; round++)
    for (const mode of (round % 2 === 0
      ? ['persistent', 'per-transfer']
      : ['per-transfer', 'persistent']) as Mode[]) {
      const { control } = memoryKeeper(
        zones.map((z) => z.origin),
        [`${nsd.host}:${nsd.port}`],
        KEY,
      );
      const refresher = new SecondaryRefresher({
        control,
        policy: new OutboundPolicy(['127.0.0.0/8']),
        log: { info() {}, error() {} },
        ...(mode === 'per-transfer' ? { connections: false as const } : {}),
      });
      const cpu0 = process.cpuUsage();
      const nsd0 = treeCpuSeconds(nsd.pid);
      const t0 = performance.now();
      await refresher.start();
      while (refresher.stats.transfersOk + refresher.stats.transfersFailed < zoneCount)
        await new Promise((r) => setTimeout(r, 5));
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const r = results[mode];
      r.ms.push(ms);
      r.cpu.push((cpu.user + cpu.system) / 1e6);
      r.nsdCpu.push(treeCpuSeconds(nsd.pid) - nsd0);
      r.conns.push(refresher.stats.connections);
      const failed = refresher.stats.transfersFailed;
      refresher.close();
      console.log(
        `round ${round + 1} ${mode}: ${zoneCount} zones in ${Math.round(ms)} ms, CPU ${r.cpu.at(-1)?.toFixed(2)} s here, NSD ${r.nsdCpu.at(-1)?.toFixed(2)} s, ${refresher.stats.connections} connections${failed ? `, ${failed} FAILED` : ''}`,
      );
    }
  for (const mode of ['persistent', 'per-transfer'] as Mode[]) {
    const r = results[mode];
    console.log(
      `${mode}: median ${Math.round(median(r.ms))} ms, CPU ${median(r.cpu).toFixed(2)} s here, NSD ${median(r.nsdCpu).toFixed(2)} s, connections ${median(r.conns)} (${zoneCount} zones × ${records + 3} records, ${rounds} rounds)`,
    );
  }
} finally {
  await nsd.stop();
  rmSync(dir, { recursive: true, force: true });
}
