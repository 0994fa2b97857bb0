/**
 * AXFR of one big zone from Switchboard (`serve`, 1 worker, images on), NSD and Knot, each
 * serving the same zone file on loopback: kdig's AXFR timed (wall, from kdig's own report) and
 * the server's CPU over the transfer, `--rounds` rounds alternating the servers; medians, and
 * Switchboard's rate and CPU per record against Knot's (issue 9's target: at least half Knot's
 * rate on a 1,000,000-record zone: `--records 1000000`).
 *
 *   node dist/bench/axfr.js [--records 100000] [--rounds 3]
 *
 * Loopback only; each server is stopped after its rounds.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Peer, startKnot, startNsd, startSwitchboard, treeCpuSeconds } from '../test/helpers/peers.js';
import { median } from './stats.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

const records = Number(arg('records', '100000'));
const rounds = Number(arg('rounds', '3'));
const origin = 'big.test.';

const dir = mkdtempSync(join(tmpdir(), 'sb-axfr-bench-'));
const zoneDir = join(dir, 'zones');
execFileSync('mkdir', ['-p', zoneDir]);
const lines = [
  `$ORIGIN ${origin}`,
  '$TTL 300',
  '@ IN SOA ns1 hostmaster 7 3600 600 86400 300',
  '@ NS ns1',
  'ns1 A 127.0.0.1',
];
for (let i = 0; i < records - 3; i++)
  lines.push(
    i % 10 === 0 ? `h${i} TXT "record ${i}"` : `h${i} A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
  );
const file = join(zoneDir, 'big.test.zone');
writeFileSync(file, `${lines.join('\n')}\n`);

/** One AXFR with kdig: its own time (ms), messages and records; the server's CPU seconds. */
function transfer(peer: Peer): { ms: number; messages: number; records: number; cpu: number } {
  const before = treeCpuSeconds(peer.pid);
  const out = execFileSync(
    'kdig',
    [`@${peer.host}`, '-p', String(peer.port), 'AXFR', origin, '+noall', '+stats'],
    {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  const cpu = treeCpuSeconds(peer.pid) - before;
  const m = /\((\d+) messages, (\d+) records\)[\s\S]*in ([\d.]+) ms/.exec(out);
  if (!m) throw new Error(`no kdig summary in:\n${out}`);
  return { ms: Number(m[3]), messages: Number(m[1]), records: Number(m[2]), cpu };
}

const servers: { name: string; start: () => Promise<Peer> }[] = [
  {
    name: 'switchboard',
    start: () =>
      startSwitchboard(zoneDir, {
        workers: 1,
        args: ['--allow-axfr-from', '127.0.0.1'],
        readyTimeoutMs: 120_000,
      }),
  },
  {
    name: 'nsd',
    start: () => startNsd([{ origin, file }], { provideXfr: '127.0.0.1', readyTimeoutMs: 120_000 }),
  },
  {
    name: 'knot',
    start: () => startKnot([{ origin, file }], { provideXfr: '127.0.0.1', readyTimeoutMs: 120_000 }),
  },
];
const results = new Map<string, { ms: number[]; cpu: number[]; messages: number; records: number }>();
try {
  const peers = new Map<string, Peer>();
  for (const s of servers) peers.set(s.name, await s.start());
  // Warm-up: each server's first transfer (Switchboard opens its image on first use).
  for (const p of peers.values()) transfer(p);
  for (let r = 0; r < rounds; r++)
    for (const s of servers) {
      const t = transfer(peers.get(s.name)!);
      const e = results.get(s.name) ?? { ms: [], cpu: [], messages: t.messages, records: t.records };
      e.ms.push(t.ms);
      e.cpu.push(t.cpu);
      results.set(s.name, e);
    }
  for (const p of peers.values()) await p.stop();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  `AXFR of ${records} records (${rounds} rounds, medians; kdig's time, server CPU seconds over the transfer)`,
);
for (const [name, e] of results)
  console.log(
    `${name.padEnd(12)} ${median(e.ms).toFixed(0).padStart(6)} ms  cpu ${median(e.cpu).toFixed(2)} s  ${e.messages} messages, ${e.records} records`,
  );
const sb = results.get('switchboard');
const knot = results.get('knot');
if (sb && knot) {
  // Rate = records a second as the client received them; CPU = the servers' own cost per record.
  const rate = median(knot.ms) / median(sb.ms);
  const cpu = median(knot.cpu) / median(sb.cpu);
  console.log(
    `switchboard / knot: rate ${rate.toFixed(2)}× (issue 9: ≥ 0.5×: ${rate >= 0.5 ? 'met' : 'NOT met'}), records per server CPU-second ${cpu.toFixed(2)}×`,
  );
}
