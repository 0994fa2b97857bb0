/**
 * How long DNS answers stop while a big zone changes under `switchboard start`: every worker
 * re-parses a changed zone, and blocks while it does. With staggering (the default) one worker
 * parses at a time; with SWITCHBOARD_STAGGER_CHARS=never all do at once.
 *
 * Usage: node dist/bench/stagger.js [--records N] [--changes N] [--rounds N]
 * Loopback only; every run stops by itself.
 * @module
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildQuery } from '../test/helpers/dns-client.js';
import { startPlatform } from '../test/helpers/platform.js';
import { median } from './stats.js';

const KEY = `sb_stagger_${'x'.repeat(32)}`;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

function bigZone(records: number): string {
  const lines = [
    '$ORIGIN big.test.',
    '$TTL 300',
    '@ SOA ns1.example.net. h.big.test. 1 7200 900 1209600 300',
    '@ NS ns1.example.net.',
  ];
  for (let i = 0; i < records; i++) lines.push(`h${i} A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  return `${lines.join('\n')}\n`;
}

/** Longest time without any answer (ms) to queries sent every 2 ms while `changes` PATCHes land. */
async function measure(stagger: string, records: number, changes: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-stagger-'));
  const saved = process.env.SWITCHBOARD_STAGGER_CHARS;
  process.env.SWITCHBOARD_STAGGER_CHARS = stagger;
  const p = await startPlatform({ dataDir: dir, apiKey: KEY, workers: 2 });
  if (saved === undefined) delete process.env.SWITCHBOARD_STAGGER_CHARS;
  else process.env.SWITCHBOARD_STAGGER_CHARS = saved;
  const headers = { 'X-API-Key': KEY, 'Content-Type': 'application/json' };
  const sock = createSocket('udp4');
  try {
    const created = await fetch(`${p.api}/api/v1/zones`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'big.test', zonefile: bigZone(records) }),
    });
    if (created.status !== 201) throw new Error(`creating the big zone: HTTP ${created.status}`);
    await new Promise((r) => setTimeout(r, 3000)); // every worker has parsed it
    const query = buildQuery({ name: 'www.example.com', type: 1 });
    let last = performance.now();
    let gap = 0;
    sock.on('message', () => {
      const now = performance.now();
      gap = Math.max(gap, now - last);
      last = now;
    });
    const timer = setInterval(() => sock.send(query, p.dnsPort, '127.0.0.1'), 2);
    await new Promise((r) => setTimeout(r, 300));
    last = performance.now();
    gap = 0;
    for (let i = 0; i < changes; i++) {
      const r = await fetch(`${p.api}/api/v1/zones/big.test/rrsets`, {
        method: 'PATCH',
        headers,
        body: JSON.stringify({
          changes: [
            {
              op: 'replace',
              name: 'h1.big.test.',
              type: 'A',
              ttl: 300,
              records: [{ content: `10.9.9.${i}` }],
            },
          ],
        }),
      });
      if (r.status !== 200) throw new Error(`PATCH: HTTP ${r.status}`);
      await new Promise((d) => setTimeout(d, 1500));
    }
    clearInterval(timer);
    return gap;
  } finally {
    sock.close();
    await p.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const records = arg('--records', 150_000);
  const changes = arg('--changes', 3);
  const rounds = arg('--rounds', 3);
  const results: Record<string, number[]> = { staggered: [], 'all at once': [] };
  for (let r = 0; r < rounds; r++) {
    results.staggered.push(await measure('', records, changes));
    results['all at once'].push(await measure('never', records, changes));
  }
  console.log(
    `${records}-record zone changed ${changes} times, queries every 2 ms, 2 workers, ${rounds} rounds`,
  );
  for (const [mode, gaps] of Object.entries(results))
    console.log(
      `${mode.padEnd(12)} longest gap without answers: median ${median(gaps).toFixed(0)} ms (${gaps.map((g) => g.toFixed(0)).join(', ')})`,
    );
}

await main();
