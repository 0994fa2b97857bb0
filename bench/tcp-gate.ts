/**
 * What a TCP connection costs the process that serves it (src/transport/tcp.ts), served (one
 * query answered, then the client closes) against closed on arrival by the gate (`setGate`: the
 * shield's TCP gate under overload), alternating: the listener runs in a child process that
 * reports its own CPU time (process.cpuUsage), so the clients' cost is not counted. Loopback
 * only, bounded in connections.
 *
 * With `--warm` the child first runs warmTcpPath (as a worker with the shield on does at start):
 * compare the first round's figures with and without it (the rest are warm either way).
 *
 *   node dist/bench/tcp-gate.js [--connections 4000] [--rounds 5] [--concurrency 32] [--warm]
 * @module
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseListenAddress } from '../src/transport/listen-address.js';
import { createTcpListener, warmTcpPath } from '../src/transport/tcp.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1 || v > 1_000_000)
    throw new RangeError(`${name} must be a positive integer`);
  return v;
}

type Msg = { port: number } | { cpuMicros: number; gated: number; accepted: number };

if (process.argv.includes('--child')) {
  if (process.argv.includes('--warm')) await warmTcpPath();
  // The listener: answers every query with its own header (QR set); the parent switches the gate.
  const listener = await createTcpListener({
    address: parseListenAddress('127.0.0.1:0'),
    handler: (q) => {
      const r = Uint8Array.from(q);
      r[2] |= 0x80;
      return r;
    },
    maxConnections: 100_000,
    maxConnectionsPerClient: 100_000,
  });
  process.on('message', (m: { gate?: boolean; cpu?: boolean; stop?: boolean }) => {
    if (m.gate !== undefined) listener.setGate(m.gate ? () => false : undefined);
    if (m.cpu) {
      const u = process.cpuUsage();
      process.send!({
        cpuMicros: u.user + u.system,
        gated: listener.stats.gated,
        accepted: listener.stats.accepted,
      });
    }
    if (m.stop) void listener.close(100).then(() => process.exit(0));
  });
  process.send!({ port: listener.port });
} else {
  const total = arg('--connections', 4000);
  const rounds = arg('--rounds', 5);
  const concurrency = arg('--concurrency', 32);
  const child: ChildProcess = fork(
    fileURLToPath(import.meta.url),
    ['--child', ...(process.argv.includes('--warm') ? ['--warm'] : [])],
    { stdio: 'inherit' },
  );
  const next = async (): Promise<Msg> => (await once(child, 'message'))[0] as Msg;
  const { port } = (await next()) as { port: number };
  const q = Buffer.from([0, 12, 0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);

  const one = (): Promise<void> =>
    new Promise((done) => {
      const s = connect({ host: '127.0.0.1', port });
      s.on('error', () => {});
      s.on('connect', () => s.write(q));
      s.on('data', () => s.destroy());
      s.once('close', () => done());
    });
  const burst = async (): Promise<void> => {
    let left = total;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (left-- > 0) await one();
      }),
    );
  };
  const cpu = async (): Promise<{ cpuMicros: number; gated: number; accepted: number }> => {
    child.send({ cpu: true });
    return (await next()) as { cpuMicros: number; gated: number; accepted: number };
  };
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const per: Record<'served' | 'gated', number[]> = { served: [], gated: [] };
  for (let r = 0; r < rounds; r++) {
    for (const mode of ['served', 'gated'] as const) {
      child.send({ gate: mode === 'gated' });
      const before = await cpu();
      await burst();
      // Let the last closes be handled before reading the clock.
      await new Promise((d) => setTimeout(d, 50));
      const after = await cpu();
      const n = mode === 'gated' ? after.gated - before.gated : after.accepted - before.accepted;
      if (n !== total) throw new Error(`${mode}: ${n} of ${total} connections seen`);
      per[mode].push((after.cpuMicros - before.cpuMicros) / total);
    }
  }
  child.send({ stop: true });
  await once(child, 'exit');
  const f = (v: number[]) => `${median(v).toFixed(1)} µs (rounds: ${v.map((x) => x.toFixed(1)).join(', ')})`;
  console.log(`TCP connections, listener CPU per connection, medians of ${rounds} rounds of ${total}:`);
  console.log(`  served (accept, read, one answer, close): ${f(per.served)}`);
  console.log(`  closed on arrival by the gate:            ${f(per.gated)}`);
}
