/**
 * Response-rate limiting side by side with BIND 9 (`rate-limit`, the semantics `--rrl` follows):
 * the same query streams, sent on one schedule to BIND and to Switchboard (the native path with
 * JS answers and no zone signal, the native path with C answers, the Node path), each stream
 * from a /24 of its own, one kind of response per stream (an answer, NXDOMAIN for random names,
 * NODATA, REFUSED), below and above the rate, with slip 0 and 2 — and the counts compared:
 * answered, truncated (TC=1), dropped. BIND counts whole seconds and we count continuously, so
 * over the limit BIND answers 5 to 10 (where its second boundaries fall) and we answer 5 to 9;
 * the checks hold for both.
 *
 * One process each (`--workers 0`): each worker keeps its own RRL table (docs/SHIELD.md), so
 * with several workers a client whose datagrams reach more than one is allowed more.
 * @module
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { nativeUdpStatus } from '../../src/transport/native-udp.js';
import { buildQuery } from '../helpers/dns-client.js';
import { type Peer, skipUnlessCommands, startBind, startSwitchboard } from '../helpers/peers.js';

const skip = skipUnlessCommands('named');
const RATE = 5;
const STREAM_SECONDS = 3;
const ZONE =
  '$ORIGIN example.\n$TTL 300\n@ SOA ns1 h 1 3600 600 86400 300\n@ NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.1\n';

/** One kind of response a stream asks for. */
const KINDS = {
  answer: { rcode: 0, name: () => 'www.example.', type: 1 },
  nxdomain: {
    rcode: 3,
    name: (i: number) => `r${i}-${Math.random().toString(36).slice(2, 8)}.example.`,
    type: 1,
  },
  nodata: { rcode: 0, name: () => 'www.example.', type: 16 },
  error: { rcode: 5, name: () => 'www.not-served.test.', type: 1 },
} as const;
type Kind = keyof typeof KINDS;

interface Count {
  sent: number;
  answered: number;
  truncated: number;
  dropped: number;
  /** Answers (TC=0) with another RCODE than the kind's. */
  wrongRcode: number;
}

/**
 * Sends `rate` queries a second for STREAM_SECONDS from `source` to every server (a socket each,
 * the same schedule), waits for the last replies, and counts what came back per server.
 */
async function stream(servers: Peer[], source: string, kind: Kind, rate: number): Promise<Count[]> {
  const k = KINDS[kind];
  const counts = servers.map(() => ({ sent: 0, answered: 0, truncated: 0, dropped: 0, wrongRcode: 0 }));
  const socks = await Promise.all(
    servers.map(async (_, s) => {
      const sock = dgram.createSocket('udp4');
      await new Promise<void>((r) => sock.bind(0, source, () => r()));
      const seen = new Set<number>();
      sock.on('message', (m) => {
        const id = (m[0] << 8) | m[1];
        if (seen.has(id)) return;
        seen.add(id);
        if (m[2] & 0x02) counts[s].truncated++;
        else {
          counts[s].answered++;
          if ((m[3] & 15) !== k.rcode) counts[s].wrongRcode++;
        }
      });
      return sock;
    }),
  );
  const total = rate * STREAM_SECONDS;
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const q = buildQuery({ id: i, name: k.name(i), type: k.type });
    servers.forEach((p, s) => {
      socks[s].send(q, p.port, p.host);
      counts[s].sent++;
    });
  }
  await new Promise((r) => setTimeout(r, 2000));
  for (const sock of socks) sock.close();
  for (const c of counts) c.dropped = c.sent - c.answered - c.truncated;
  return counts;
}

describe('RRL side by side with BIND 9 (responses-per-second 5, window 1)', { skip }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sb-rrl-'));
    writeFileSync(join(dir, 'example.zone'), ZONE);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const slip of [0, 2]) {
    test(`slip ${slip}: answered, truncated and dropped as BIND counts them, per kind, below and above the rate`, async () => {
      const spec = `responses=${RATE},window=1,slip=${slip}`;
      const peers: { name: string; peer: Peer }[] = [];
      try {
        peers.push({
          name: 'bind',
          peer: await startBind([{ origin: 'example.', file: join(dir, 'example.zone') }], {
            options: [`rate-limit { responses-per-second ${RATE}; window 1; slip ${slip}; };`],
          }),
        });
        const sb = (args: string[]) =>
          startSwitchboard(dir, { workers: 0, args: ['--shield', 'on', '--rrl', spec, ...args] });
        if (nativeUdpStatus().ok) {
          // JS answers on the native path: the shield has no zone signal (the NXDOMAIN key comes from the reply).
          peers.push({ name: 'native/js', peer: await sb(['--io', 'native']) });
          peers.push({ name: 'native/c', peer: await sb(['--io', 'native', '--native-answers']) });
        }
        peers.push({ name: 'node', peer: await sb(['--io', 'node']) });
        const servers = peers.map((p) => p.peer);
        const runs: { kind: Kind; rate: number; counts: Promise<Count[]> }[] = [];
        let block = 0;
        for (const rate of [3, 40])
          for (const kind of Object.keys(KINDS) as Kind[])
            runs.push({
              kind,
              rate,
              counts: stream(servers, `127.0.${60 + 10 * slip + block++}.1`, kind, rate),
            });
        const problems: string[] = [];
        for (const r of runs) {
          const counts = await r.counts;
          const table = peers.map((p, s) => `${p.name} ${JSON.stringify(counts[s])}`).join('; ');
          const check = (ok: boolean, what: string) => {
            if (!ok) problems.push(`${r.kind} at ${r.rate} qps: ${what} — ${table}`);
          };
          counts.forEach((c, s) => {
            const who = peers[s].name;
            check(c.wrongRcode === 0, `${who}: an answer with another RCODE`);
            if (r.rate < RATE) {
              check(c.answered === c.sent, `${who}: below the rate, everything answered`);
              return;
            }
            // Over the limit: a second's credit, and at most one more (BIND's second boundary).
            check(c.answered >= RATE && c.answered <= 2 * RATE, `${who}: ${RATE}..${2 * RATE} answered`);
            const limited = c.sent - c.answered;
            // BIND never truncates an error; slip 2 truncates half the rest (the first of a run).
            const tc = slip === 0 || r.kind === 'error' ? 0 : Math.ceil(limited / 2);
            check(Math.abs(c.truncated - tc) <= 2, `${who}: ${tc} truncated (±2)`);
          });
        }
        assert.deepEqual(problems, []);
      } finally {
        await Promise.all(peers.map((p) => p.peer.stop()));
      }
    });
  }
});
