/**
 * What a TCP connection costs the process that serves it (src/transport/tcp.ts), served (one
 * query answered, then the client closes) against held by the gate (`setGate` calling every
 * client a stranger, as the shield's TCP gate does under overload: strangers beyond their budget
 * — 64 a second, 8 a second per /24 — are held unread and closed after PRESSURE_FIRST_QUERY_MS;
 * the few within the budget are served), alternating: the listener runs in a child process that
 * reports its own CPU time (process.cpuUsage), so the clients' cost is not counted. A held
 * client sends its query and gives up after `--give-up` ms (the drill's bots wait 2 s; a
 * resolver 800 ms); the round ends once the listener closed every held connection. Checks: every
 * connection of a served round answered; every connection of a held round either served within
 * the strangers' budget or held (gated) and never answered beyond it. Loopback only, bounded in
 * connections.
 *
 * With `--warm` the child first runs warmTcpPath (as a worker with the shield on does at start):
 * compare the first round's figures with and without it (the rest are warm either way).
 *
 *   node dist/bench/tcp-gate.js [--connections 2000] [--rounds 3] [--concurrency 200] [--give-up 50] [--warm]
 * @module
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseListenAddress } from '../src/transport/listen-address.js';
import {
  createTcpListener,
  PRESSURE_FIRST_QUERY_MS,
  STRANGERS_PER_BLOCK_PER_SECOND,
  warmTcpPath,
} from '../src/transport/tcp.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1 || v > 1_000_000)
    throw new RangeError(`${name} must be a positive integer`);
  return v;
}

interface Counts {
  cpuMicros: number;
  gated: number;
  accepted: number;
  strangersServed: number;
  open: number;
}
type Msg = { port: number } | Counts;

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
        strangersServed: listener.stats.strangersServed,
        open: listener.stats.open,
      });
    }
    if (m.stop) void listener.close(100).then(() => process.exit(0));
  });
  process.send!({ port: listener.port });
} else {
  const total = arg('--connections', 2000);
  const rounds = arg('--rounds', 3);
  const concurrency = arg('--concurrency', 200);
  const giveUpMs = arg('--give-up', 50);
  const child: ChildProcess = fork(
    fileURLToPath(import.meta.url),
    ['--child', ...(process.argv.includes('--warm') ? ['--warm'] : [])],
    { stdio: 'inherit' },
  );
  const next = async (): Promise<Msg> => (await once(child, 'message'))[0] as Msg;
  const { port } = (await next()) as { port: number };
  const q = Buffer.from([0, 12, 0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);

  // A failed check must not leave the listener's process behind.
  process.on('exit', () => child.kill());
  /** One connection: its query, then the answer or the give-up; true when answered. */
  const one = (waitMs: number): Promise<boolean> =>
    new Promise((done) => {
      const s = connect({ host: '127.0.0.1', port });
      let answered = false;
      const timer = setTimeout(() => s.destroy(), waitMs);
      s.on('error', () => {});
      s.on('connect', () => s.write(q));
      s.on('data', () => {
        answered = true;
        s.destroy();
      });
      s.once('close', () => {
        clearTimeout(timer);
        done(answered);
      });
    });
  const burst = async (waitMs: number): Promise<number> => {
    let left = total;
    let answered = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (left-- > 0) if (await one(waitMs)) answered++;
      }),
    );
    return answered;
  };
  const counts = async (): Promise<Counts> => {
    child.send({ cpu: true });
    return (await next()) as Counts;
  };
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const per: Record<'served' | 'held', number[]> = { served: [], held: [] };
  const seconds: number[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const mode of ['served', 'held'] as const) {
      child.send({ gate: mode === 'held' });
      const before = await counts();
      const t0 = performance.now();
      // Served connections wait for their answer (bounded); held ones give up.
      const answered = await burst(mode === 'held' ? giveUpMs : 5000);
      if (mode === 'held') seconds.push((performance.now() - t0) / 1000);
      // Held connections are closed by the listener PRESSURE_FIRST_QUERY_MS after their accept:
      // wait for the last of them (bounded), then read the clock.
      const deadline = performance.now() + PRESSURE_FIRST_QUERY_MS + 2000;
      let after = await counts();
      while (after.open > 0 && performance.now() < deadline) {
        await new Promise((d) => setTimeout(d, 50));
        after = await counts();
      }
      if (after.open > 0) throw new Error(`${mode}: ${after.open} connections still open`);
      const accepted = after.accepted - before.accepted;
      const gated = after.gated - before.gated;
      const served = after.strangersServed - before.strangersServed;
      if (mode === 'served') {
        if (accepted !== total || answered !== total)
          throw new Error(`served: ${accepted} accepted, ${answered} answered of ${total}`);
      } else {
        // Every connection a stranger: within the budget served, beyond it held and unanswered.
        if (gated + served !== total) throw new Error(`held: ${gated} held + ${served} served of ${total}`);
        const budget = STRANGERS_PER_BLOCK_PER_SECOND * (Math.ceil(seconds[seconds.length - 1]) + 1);
        if (served > budget || answered > served)
          throw new Error(`held: ${served} served (budget ${budget}), ${answered} answered`);
      }
      per[mode].push((after.cpuMicros - before.cpuMicros) / total);
    }
  }
  child.send({ stop: true });
  await once(child, 'exit');
  const f = (v: number[]) => `${median(v).toFixed(1)} µs (rounds: ${v.map((x) => x.toFixed(1)).join(', ')})`;
  console.log(`TCP connections, listener CPU per connection, medians of ${rounds} rounds of ${total}:`);
  console.log(`  served (accept, read, one answer, close):                      ${f(per.served)}`);
  console.log(
    `  strangers under the gate (held unread, closed after ${PRESSURE_FIRST_QUERY_MS} ms; ${STRANGERS_PER_BLOCK_PER_SECOND}/s of the /24 served): ${f(per.held)}`,
  );
}
