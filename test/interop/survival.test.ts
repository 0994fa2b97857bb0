/**
 * Survival test: Switchboard with two workers takes at least 100,000 random and mutated UDP
 * packets from several loopback sources, plus garbage and stalled connections over TCP, and
 * afterwards the same processes are alive and known queries still get the same correct answers.
 * Traffic is bounded in count, rate and time, and goes to loopback only (dns-client refuses
 * anything else). Set SURVIVAL_SEED to replay a run.
 * @module
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { Socket as TcpSocket } from 'node:net';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  assertLoopback,
  buildQuery,
  type QuerySpec,
  queryTcp,
  queryUdp,
  readHeader,
} from '../helpers/dns-client.js';
import { hostilePackets } from '../helpers/hostile-packets.js';
import { isAlive, listChildren, type Peer, startSwitchboard } from '../helpers/peers.js';
import { seededRandom } from '../helpers/prng.js';

const zoneDir = resolve('test/interop/corpus/zones');
const UDP_PACKETS = 100_000;
/** Packets per burst and pause between bursts: at most ~20k packets/s, kind to a 2-core box. */
const BURST = 100;
const BURST_PAUSE_MS = 5;
/** Hard stop for the UDP phase, whatever happened. */
const UDP_TIME_LIMIT_MS = 45_000;
const SOURCES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'];

const seed = Number(process.env.SURVIVAL_SEED ?? Date.now() % 0x7fffffff);
const rand = seededRandom(seed);
const { int, pick, randomBytes, validQuery, hostilePacket } = hostilePackets(rand);

/** Known queries and what must stay true of their answers. */
interface Probe {
  spec: QuerySpec;
  tcp: boolean;
  rcode: number;
  tc?: boolean;
  minAnswers: number;
  /** Octets the response must contain (the expected address). */
  contains?: number[];
}

const PROBES: Probe[] = [
  {
    spec: { name: 'www.example.', type: 1, edns: { udpSize: 1232 } },
    tcp: false,
    rcode: 0,
    minAnswers: 1,
    contains: [0, 4, 192, 0, 2, 10],
  },
  { spec: { name: 'www.example.', type: 28 }, tcp: false, rcode: 0, minAnswers: 1 },
  { spec: { name: 'nope.example.', type: 1, edns: { udpSize: 1232 } }, tcp: false, rcode: 3, minAnswers: 0 },
  { spec: { name: 'foo.wild.example.', type: 16 }, tcp: false, rcode: 0, minAnswers: 1 },
  {
    spec: { name: 'chain1.example.', type: 1 },
    tcp: true,
    rcode: 0,
    minAnswers: 4,
    contains: [0, 4, 192, 0, 2, 10],
  },
  { spec: { name: 'nowhere.invalid.', type: 1 }, tcp: false, rcode: 5, minAnswers: 0 },
  { spec: { name: 'big1232.example.', type: 16 }, tcp: false, rcode: 0, tc: true, minAnswers: 0 },
  { spec: { name: 'big1232.example.', type: 16 }, tcp: true, rcode: 0, tc: false, minAnswers: 6 },
  {
    spec: { name: 'www.child.example.', type: 1 },
    tcp: true,
    rcode: 0,
    minAnswers: 1,
    contains: [0, 4, 192, 0, 2, 101],
  },
];

/** Sends a probe; returns its response with the ID zeroed so answers can be compared byte for byte. */
async function runProbe(port: number, p: Probe, id: number): Promise<Uint8Array> {
  const q = buildQuery({ ...p.spec, id });
  const r = p.tcp
    ? await queryTcp(q, { port, timeoutMs: 5000 })
    : await queryUdp(q, { port, timeoutMs: 2000, retries: 4 });
  const h = readHeader(r);
  const label = `${p.spec.name} ${p.spec.type}${p.tcp ? ' tcp' : ''}`;
  assert.equal(h.id, id, `${label}: ID`);
  assert.ok(h.qr, `${label}: QR`);
  assert.equal(h.rcode, p.rcode, `${label}: RCODE`);
  if (p.tc !== undefined) assert.equal(h.tc, p.tc, `${label}: TC`);
  assert.ok(h.ancount >= p.minAnswers, `${label}: ${h.ancount} answers, expected at least ${p.minAnswers}`);
  if (p.contains) {
    const hex = Buffer.from(r).toString('hex');
    assert.ok(hex.includes(Buffer.from(p.contains).toString('hex')), `${label}: expected address missing`);
  }
  const copy = Uint8Array.from(r);
  copy[0] = 0;
  copy[1] = 0;
  return copy;
}

async function bindSources(): Promise<UdpSocket[]> {
  const sockets: UdpSocket[] = [];
  for (const address of SOURCES) {
    assertLoopback(address);
    const s = createSocket('udp4');
    await new Promise<void>((res, rej) => {
      s.once('error', rej);
      s.bind({ address, port: 0 }, () => res());
    });
    sockets.push(s);
  }
  return sockets;
}

/** Sends UDP_PACKETS hostile datagrams in paced bursts; resolves with sent and received counts. */
async function floodUdp(port: number): Promise<{ sent: number; received: number }> {
  const host = '127.0.0.1';
  assertLoopback(host);
  const sockets = await bindSources();
  let received = 0;
  for (const s of sockets) s.on('message', () => received++);
  const deadline = Date.now() + UDP_TIME_LIMIT_MS;
  let sent = 0;
  try {
    while (sent < UDP_PACKETS && Date.now() < deadline) {
      const pending: Promise<void>[] = [];
      for (let i = 0; i < BURST && sent < UDP_PACKETS; i++, sent++) {
        const s = sockets[sent % sockets.length];
        const pkt = hostilePacket();
        // ENOBUFS and friends are the sender's problem, not the server's: ignore them.
        pending.push(new Promise((res) => s.send(pkt, port, host, () => res())));
      }
      await Promise.all(pending);
      await sleep(BURST_PAUSE_MS);
    }
    await sleep(500);
  } finally {
    for (const s of sockets) s.close();
  }
  return { sent, received };
}

/** Opens a TCP connection from a loopback source, runs `script` on it, and always destroys it. */
async function withConnection(
  port: number,
  source: string,
  script: (s: TcpSocket) => Promise<void>,
): Promise<void> {
  assertLoopback(source);
  const s = new TcpSocket();
  s.on('error', () => {});
  s.on('data', () => {});
  try {
    await new Promise<void>((res, rej) => {
      s.once('error', rej);
      s.connect({ host: '127.0.0.1', port, localAddress: source }, () => res());
    });
    await script(s);
  } catch {
    // A server that closes or resets a hostile connection is doing its job.
  } finally {
    s.destroy();
  }
}

const write = (s: TcpSocket, bytes: Uint8Array): Promise<void> =>
  new Promise((res) => {
    if (s.destroyed) return res();
    s.write(bytes, () => res());
  });

const frame = (body: Uint8Array, claimed = body.length): Uint8Array =>
  Uint8Array.from([claimed >> 8, claimed & 0xff, ...body]);

/** TCP garbage: random frames, lying lengths, zero lengths, slow partial frames, many idle connections. */
async function abuseTcp(port: number): Promise<number> {
  let connections = 0;
  const run = async (
    n: number,
    concurrency: number,
    script: (s: TcpSocket) => Promise<void>,
  ): Promise<void> => {
    let next = 0;
    const lanes = Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        connections++;
        await withConnection(port, pick(SOURCES), script);
      }
    });
    await Promise.all(lanes);
  };
  // Random frames, some of them hostile DNS messages.
  await run(600, 20, async (s) => {
    for (let i = int(5); i >= 0; i--) await write(s, frame(int(2) ? hostilePacket() : randomBytes(int(300))));
    await sleep(int(3));
  });
  // Lengths larger than the data, then close.
  await run(300, 20, async (s) => {
    const body = hostilePacket();
    await write(s, frame(body, body.length + 1 + int(0xffff - body.length)));
  });
  // Zero-length frames, then a valid query (RFC 7766 §8 framing).
  await run(200, 20, async (s) => {
    for (let i = 0; i < 1 + int(20); i++) await write(s, Uint8Array.from([0, 0]));
    await write(s, frame(validQuery()));
    await sleep(5);
  });
  // Raw bytes with no framing at all, in many small writes.
  await run(300, 20, async (s) => {
    for (let i = 0; i < 1 + int(10); i++) await write(s, randomBytes(1 + int(50)));
  });
  // Slowloris: many connections each dribbling a partial frame, one byte at a time, for a few seconds.
  await run(120, 120, async (s) => {
    const f = frame(validQuery());
    for (let i = 0; i < Math.min(f.length - 1, 8); i++) {
      await write(s, f.subarray(i, i + 1));
      await sleep(400);
    }
  });
  // Many connections held open idle at once.
  await run(400, 400, async () => {
    await sleep(1500);
  });
  return connections;
}

describe('survival: hostile traffic does not kill Switchboard', { timeout: 180_000 }, () => {
  let sb: Peer;
  let workers: number[] = [];

  before(async () => {
    sb = await startSwitchboard(zoneDir, { workers: 2 });
    // The workers answer; wait until both exist so their PIDs can be watched.
    for (let i = 0; i < 100 && workers.length < 2; i++) {
      workers = listChildren(sb.pid);
      if (workers.length < 2) await sleep(100);
    }
  });

  after(async () => {
    await sb?.stop();
  });

  test('same processes alive and the same answers after 100k hostile packets', async (t) => {
    t.diagnostic(`seed ${seed} (replay with SURVIVAL_SEED=${seed})`);
    assert.ok(
      workers.length >= 2,
      `expected 2 worker processes under PID ${sb.pid}, found ${workers.length}`,
    );
    const before = [];
    for (let i = 0; i < PROBES.length; i++) before.push(await runProbe(sb.port, PROBES[i], 100 + i));

    const udp = await floodUdp(sb.port);
    t.diagnostic(`UDP: sent ${udp.sent} hostile datagrams, ${udp.received} responses`);
    assert.ok(udp.sent >= UDP_PACKETS, `only ${udp.sent} datagrams sent within the time limit`);
    const conns = await abuseTcp(sb.port);
    t.diagnostic(`TCP: ${conns} hostile connections`);

    assert.ok(isAlive(sb.pid), `main process ${sb.pid} died\n${sb.output()}`);
    for (const pid of workers) assert.ok(isAlive(pid), `worker ${pid} died or was replaced\n${sb.output()}`);
    assert.deepEqual(listChildren(sb.pid).sort(), [...workers].sort(), 'the set of worker processes changed');
    for (let i = 0; i < PROBES.length; i++) {
      const now = await runProbe(sb.port, PROBES[i], 200 + i);
      assert.deepEqual(now, before[i], `answer to ${PROBES[i].spec.name} changed`);
    }
  });
});
