/**
 * queue21's burst check (docs/PERFORMANCE.md "queue21"): a calm server at a full core (no CPU
 * share) given bursts of N datagrams sent at once — sendmmsg batches from the drill's native
 * sender, each datagram from its own loopback source spread over 256 /24s — must answer every one
 * whether the receive queue's time bound (native/queue_bound.h) is on or off: the bound engages on
 * a standing queue, not on a burst the worker drains within its interval. Run it twice, with and
 * without `SWITCHBOARD_QUEUE_TIME=off` in the environment (the server inherits it).
 *
 * Usage: `node dist/bench/queue-burst.js [--burst 8000] [--rounds 5] [--gap-ms 300] [--workers 1]
 * [--shield off]`. Loopback only; bounded: at most 20 rounds of at most 20,000 datagrams.
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { COUNTS_PER_KIND, loadDrillAddon, NATIVE_BATCH, toNetworkOrder } from '../src/drill/native.js';

const { values: args } = parseArgs({
  options: {
    burst: { type: 'string', default: '8000' },
    rounds: { type: 'string', default: '5' },
    'gap-ms': { type: 'string', default: '300' },
    workers: { type: 'string', default: '1' },
    shield: { type: 'string', default: 'off' },
  },
});
const burst = Math.min(20_000, Math.max(1, Number(args.burst)));
const rounds = Math.min(20, Math.max(1, Number(args.rounds)));
const gapMs = Math.max(0, Number(args['gap-ms']));

const { addon, reason } = loadDrillAddon();
if (!addon) throw new Error(`the drill's native sender is needed: ${reason}`);

/** A free UDP port on 127.0.0.1 (the server binds it next). */
async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address();
  s.close();
  return port;
}

/** The kernel's drop count of the UDP sockets bound to `port` (/proc/net/udp, last column). */
function socketDrops(port: number): number {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let drops = 0;
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1]?.endsWith(hex)) drops += Number(f[f.length - 1]);
  }
  return drops;
}

/** A query for www.burst.test. A with `id`. */
function query(id: number): Uint8Array {
  const name = [3, ...Buffer.from('www'), 5, ...Buffer.from('burst'), 4, ...Buffer.from('test'), 0];
  return Uint8Array.from([id >> 8, id & 0xff, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...name, 0, 1, 0, 1]);
}

const dir = mkdtempSync(join(tmpdir(), 'queue-burst-'));
writeFileSync(
  join(dir, 'burst.test.zone'),
  '$ORIGIN burst.test.\n$TTL 300\n@ SOA ns1 host 1 3600 600 86400 300\n@ NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.1\n',
);
const port = await freePort();
const main = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const server: ChildProcess = spawn(
  process.execPath,
  [
    main,
    'serve',
    '--zone-dir',
    dir,
    '--listen',
    `127.0.0.1:${port}`,
    '--workers',
    String(args.workers),
    '--shield',
    String(args.shield),
  ],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
const fd = addon.open(4);
if (fd < 0) throw new Error(`drill socket: ${fd}`);
const dst = toNetworkOrder(0x7f000001);
const counts = new Uint32Array(4 * COUNTS_PER_KIND);
const answered = (): number => counts[17];

try {
  // Up when one query is answered (at most 30 s).
  const up = performance.now();
  for (;;) {
    const q = query(1);
    addon.send(fd, 4, dst, port, q, Uint32Array.of(0), Uint16Array.of(q.length), Uint32Array.of(0), 1);
    await new Promise((r) => setTimeout(r, 100));
    addon.drain(fd, counts, 1000);
    if (answered() > 0) break;
    if (performance.now() - up > 30_000) throw new Error('the server did not answer within 30 s');
  }
  await new Promise((r) => setTimeout(r, 1000)); // every worker up
  addon.drain(fd, counts, 100_000);
  const q = query(0);
  const buf = new Uint8Array(q.length * NATIVE_BATCH);
  for (let i = 0; i < NATIVE_BATCH; i++) buf.set(q, i * q.length);
  const offsets = Uint32Array.from({ length: NATIVE_BATCH }, (_, i) => i * q.length);
  const lengths = new Uint16Array(NATIVE_BATCH).fill(q.length);
  const srcs = new Uint32Array(NATIVE_BATCH);
  const env = process.env.SWITCHBOARD_QUEUE_TIME ?? '(default: on)';
  console.log(
    `burst ${burst} x ${rounds}, workers ${args.workers}, shield ${args.shield}, SWITCHBOARD_QUEUE_TIME=${env}`,
  );
  const rows: string[] = [];
  for (let r = 0; r < rounds; r++) {
    counts.fill(0);
    const drops0 = socketDrops(port);
    const t0 = performance.now();
    let sent = 0;
    while (sent < burst) {
      const n = Math.min(NATIVE_BATCH, burst - sent);
      for (let i = 0; i < n; i++) {
        const k = sent + i;
        // IDs 0..16383 (kind 0); sources 127.3.<k % 256>.<1 + (k >> 8) % 250>.
        buf[i * q.length] = (k >> 8) & 0x3f;
        buf[i * q.length + 1] = k & 0xff;
        srcs[i] = toNetworkOrder((0x7f030000 | ((k & 255) << 8) | (1 + ((k >> 8) % 250))) >>> 0);
      }
      const taken = addon.send(fd, 4, dst, port, buf, offsets, lengths, srcs, n);
      if (taken > 0) sent += taken;
      else if (taken < 0) throw new Error(`send: ${taken}`);
      addon.drain(fd, counts, 100_000);
    }
    const sendMs = performance.now() - t0;
    let last = performance.now();
    while (answered() < burst && performance.now() - t0 < 3000) {
      await new Promise((res) => setTimeout(res, 2));
      const before = answered();
      addon.drain(fd, counts, 100_000);
      if (answered() > before) last = performance.now();
    }
    const drops = socketDrops(port) - drops0;
    rows.push(
      `round ${r + 1}: sent ${sent} in ${sendMs.toFixed(1)} ms, answered ${answered()} (last at ${(last - t0).toFixed(0)} ms), server socket drops ${drops}`,
    );
    console.log(rows[rows.length - 1]);
    await new Promise((res) => setTimeout(res, gapMs));
  }
} finally {
  addon.close(fd);
  server.kill('SIGTERM');
  await once(server, 'exit');
  rmSync(dir, { recursive: true, force: true });
}
