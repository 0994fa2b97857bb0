/**
 * The drill's loss accounting without a server: /proc/net/udp and /proc/net/snmp parsing, the
 * split of drops between the target, the drill's resolvers and its senders, the target's
 * Prometheus counters, and the TTLs a resolver caches answers for (RFC 2308 for negatives).
 * Then, on loopback, a socket nobody reads: its drops are found under the target's port.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect, createServer as createTcpServer } from 'node:net';
import { test } from 'node:test';
import { metricDeltas, parseMetrics, parseMetricsUrl } from '../../src/drill/metrics.js';
import { loadDrillAddon } from '../../src/drill/native.js';
import { readResponse, wireName } from '../../src/drill/packet.js';
import type { ResolverClass } from '../../src/drill/population.js';
import { emptyCounters } from '../../src/drill/resolvers.js';
import {
  fillDrillLag,
  fillOnset,
  lossReport,
  type PhaseReport,
  type SlowSecond,
} from '../../src/drill/run.js';
import {
  classify,
  kernelLosses,
  type ListenQueue,
  parseListenQueue,
  parseProcCounters,
  parseProcUdp,
  parseSnmpUdp,
  parseSsListen,
  type SocketSample,
  sampleListenQueue,
  sampleListenQueueOff,
  sampleSockets,
} from '../../src/drill/sockets.js';
import { skipUnlessCommands } from '../helpers/peers.js';

const PROC_UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
16243: 0100007F:150F 00000000:0000 07 00000000:00000200 00:00000000 00000000     0        0 5486407 2 000000007cb8b689 1234
16250: 0100017F:D431 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5486408 2 000000007cb8b690 7
16251: 00000000:DCFB 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5486409 2 000000007cb8b691 3
16252: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5486410 2 000000007cb8b692 99
garbage line
`;

test('/proc/net/udp: address, port, queue and drops per socket; owners summed apart', () => {
  const rows = parseProcUdp(PROC_UDP, 4);
  assert.equal(rows.length, 4);
  assert.deepEqual(rows[0], { address: '127.0.0.1', port: 5391, family: 4, rxQueue: 512, drops: 1234 });
  assert.equal(rows[1].address, '127.1.0.1');
  assert.equal(rows[2].address, '0.0.0.0');
  const v6 = parseProcUdp(
    '  sl local rem\n  5: 00000000000000000000000001000000:150F 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 1 2 0 5\n',
    6,
  );
  assert.equal(v6[0].address, '0:0:0:0:0:0:0:1');
  assert.equal(v6[0].drops, 5);
  const owners = { targetPort: 5391, resolvers: new Set(['127.1.0.1:54321']), senderPorts: new Set([56571]) };
  assert.deepEqual(classify(rows, owners), {
    targetDrops: 1234,
    targetSockets: 1,
    targetQueued: 512,
    resolverDrops: 7,
    senderDrops: 3,
  });
});

test('/proc/net/snmp: the Udp counters by name', () => {
  const snmp = parseSnmpUdp(
    'Ip: Forwarding DefaultTTL\nIp: 1 64\nUdp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\nUdp: 10 2 30 40 25 0\n',
  );
  assert.equal(snmp.RcvbufErrors, 25);
  assert.equal(snmp.InErrors, 30);
  assert.deepEqual(parseSnmpUdp('nothing'), {});
  const tcp = parseProcCounters(
    'TcpExt: SyncookiesSent SyncookiesRecv ListenOverflows ListenDrops\nTcpExt: 4 0 12 15\nIpExt: InNoRoutes\nIpExt: 0\n',
    'TcpExt:',
  );
  assert.equal(tcp.ListenOverflows, 12);
  assert.equal(tcp.ListenDrops, 15);
  assert.equal(tcp.SyncookiesSent, 4);
});

test('kernel losses: queue overflows = host RcvbufErrors less the drill’s own drops; the rest of the target’s drops are its filter', () => {
  const a: SocketSample = {
    targetDrops: 100,
    targetSockets: 1,
    targetQueued: 0,
    resolverDrops: 5,
    senderDrops: 10,
    rcvbufErrors: 1000,
    inErrors: 1000,
    listenOverflows: 7,
    listenDrops: 9,
    syncookiesSent: 0,
    readable: true,
  };
  const b: SocketSample = {
    ...a,
    targetDrops: 700,
    resolverDrops: 15,
    senderDrops: 30,
    rcvbufErrors: 1430,
    inErrors: 1630,
    listenOverflows: 57,
    listenDrops: 79,
    syncookiesSent: 3,
  };
  const k = kernelLosses(a, b);
  assert.equal(k.hostListenOverflows, 50);
  assert.equal(k.hostListenDrops, 70);
  assert.equal(k.hostSyncookiesSent, 3);
  assert.equal(k.targetSocketDrops, 600);
  assert.equal(k.drillResolverDrops, 10);
  assert.equal(k.drillSenderDrops, 20);
  assert.equal(k.targetQueueFull, 400, '430 overflows, 30 of them in the drill');
  assert.equal(k.targetFilter, 200);
  // The legitimate share of what was sent: 1000 legit of 10000 datagrams.
  const c = { ...emptyCounters(), udpTries: 1000, udpAnswers: 900 };
  const attack = {
    rate: 1,
    sent: { 'rs-resolvers': 9000, 'rs-bots': 0, direct: 0, large: 0 },
    answered: { 'rs-resolvers': 0, 'rs-bots': 0, direct: 0, large: 0 },
    rcodes: {},
    behind: 0,
    tcp: { tried: 0, established: 0, answered: 0, failed: 0, slowClosedByServer: 0, slowOpen: 0 },
  };
  const records = [
    {
      phase: 0,
      cls: 'steady',
      zone: 0,
      kind: 'name',
      ok: false,
      tries: 4,
      tcp: false,
      latencyMs: 3200,
      startSecond: 0,
      startMs: 0,
      cause: 'noAnswer',
    },
    {
      phase: 0,
      cls: 'plain',
      zone: 1,
      kind: 'big',
      ok: false,
      tries: 4,
      tcp: false,
      latencyMs: 3200,
      startSecond: 0,
      startMs: 0,
      cause: 'truncated',
    },
    {
      phase: 1,
      cls: 'plain',
      zone: 1,
      kind: 'name',
      ok: false,
      tries: 4,
      tcp: false,
      latencyMs: 3200,
      startSecond: 0,
      startMs: 0,
      cause: 'noAnswer',
    },
  ] as const;
  const l = lossReport(c, records, 0, k, undefined, attack);
  assert.equal(l.unansweredTries, 100);
  assert.equal(l.legitShare, 0.1);
  assert.equal(l.legitInTargetQueue, 40);
  assert.equal(l.legitInTargetFilter, 20);
  assert.equal(l.legitInDrillQueue, 10);
  assert.equal(l.legitAfterRead, 50, '100 unanswered - 40 queue - 10 drill');
  assert.deepEqual(l.failedBy, { noAnswer: 1, wrongAnswer: 0, truncated: 1 });
});

test('metrics: loopback http only; the drop, shed and RRL counters kept; deltas of what moved', () => {
  assert.equal(parseMetricsUrl('http://127.0.0.1:9100/metrics').port, '9100');
  assert.equal(parseMetricsUrl('http://[::1]:9100/metrics').port, '9100');
  for (const bad of [
    'https://127.0.0.1/metrics',
    'http://10.0.0.1:9100/metrics',
    'http://localhost/metrics',
    'x',
  ])
    assert.throws(() => parseMetricsUrl(bad), /--target-metrics/, bad);
  const page = `# HELP switchboard_dns_rrl_responses_total x
# TYPE switchboard_dns_rrl_responses_total counter
switchboard_dns_rrl_responses_total{action="dropped"} 10
switchboard_dns_rrl_responses_total{action="slipped"} 4
switchboard_dns_shield_shed_total{reason="zone-budget",tier="unknown"} 7
switchboard_dns_queries_total{transport="udp"} 100
switchboard_dns_zones_served{worker="0"} 8
`;
  const a = parseMetrics(page);
  assert.equal(a['switchboard_dns_rrl_responses_total{action="dropped"}'], 10);
  assert.equal(a['switchboard_dns_zones_served{worker="0"}'], undefined, 'gauges of other things left out');
  const b = parseMetrics(page.replace('} 10', '} 25').replace('} 100', '} 160'));
  assert.deepEqual(metricDeltas(a, b), {
    'switchboard_dns_rrl_responses_total{action="dropped"}': 15,
    'switchboard_dns_queries_total{transport="udp"}': 60,
  });
  assert.equal(metricDeltas(undefined, b), undefined);
});

/** A response to n1.z0.drill (A or AAAA) with the given sections. */
function response(
  rcode: number,
  answerTtl: number | undefined,
  soa?: { ttl: number; minimum: number },
): Uint8Array {
  const name = wireName('n1.z0.drill');
  const out: number[] = [
    0x12,
    0x34,
    0x84,
    rcode,
    0,
    1,
    0,
    answerTtl === undefined ? 0 : 1,
    0,
    soa ? 1 : 0,
    0,
    0,
  ];
  out.push(...name, 0, 1, 0, 1);
  const u32 = (x: number) => [(x >>> 24) & 255, (x >>> 16) & 255, (x >>> 8) & 255, x & 255];
  if (answerTtl !== undefined) out.push(0xc0, 12, 0, 1, 0, 1, ...u32(answerTtl), 0, 4, 10, 0, 0, 1);
  if (soa) {
    const rdata = [
      0xc0,
      15,
      0xc0,
      15,
      ...u32(1),
      ...u32(7200),
      ...u32(3600),
      ...u32(1209600),
      ...u32(soa.minimum),
    ];
    out.push(0xc0, 15, 0, 6, 0, 1, ...u32(soa.ttl), 0, rdata.length, ...rdata);
  }
  return Uint8Array.from(out);
}

test('TTLs a resolver caches for: the answer’s smallest TTL; a negative answer min(SOA TTL, MINIMUM) (RFC 2308 §5)', () => {
  const name = wireName('n1.z0.drill');
  const pos = readResponse(response(0, 3600), name, 1);
  assert.equal(pos?.ttl, 3600);
  assert.equal(pos?.negativeTtl, undefined);
  const nx = readResponse(response(3, undefined, { ttl: 3600, minimum: 300 }), name, 1);
  assert.equal(nx?.rcode, 3);
  assert.equal(nx?.ttl, undefined);
  assert.equal(nx?.negativeTtl, 300);
  assert.equal(readResponse(response(0, undefined, { ttl: 60, minimum: 300 }), name, 1)?.negativeTtl, 60);
});

const addon = loadDrillAddon().addon;
test('on loopback: datagrams a socket had no room for are counted as the target’s drops', {
  skip: addon ? false : 'the drill addon is not built',
}, async () => {
  // The addon's socket is read only when asked (drain): nobody reads it here, its queue fills.
  const fd = addon!.open(4);
  assert.ok(fd >= 0);
  const port = addon!.port(fd);
  try {
    const owners = { targetPort: port, resolvers: new Set<string>(), senderPorts: new Set<number>() };
    const before = sampleSockets(owners);
    assert.equal(before.targetSockets, 1);
    const sender = createSocket('udp4');
    const payload = Buffer.alloc(1400);
    // 8 MiB asked for (4 MiB under the default rmem_max; each datagram costs more than its size).
    for (let i = 0; i < 12_000; i++)
      await new Promise<void>((r) => sender.send(payload, port, '127.0.0.1', () => r()));
    const after = sampleSockets(owners);
    sender.close();
    const k = kernelLosses(before, after);
    assert.ok(k.readable);
    assert.ok(k.targetSocketDrops > 0, `drops ${k.targetSocketDrops}`);
    assert.ok(after.targetQueued > 0);
    assert.ok(k.hostRcvbufErrors >= k.targetQueueFull);
  } finally {
    addon!.close(fd);
  }
});

test('an attack phase onset: queries bucketed per 100 ms from the phase start, answered and in time per class', () => {
  const slices = Array.from({ length: 30 }, (_, k) => ({
    fromMs: k * 100,
    attackPerSecond: 0,
    queries: 0,
    answered: 0,
    inTime: 0,
    byClass: {},
    late: { typo: 0, tcp: 0, udp: 0 },
  }));
  const phases = [{ name: 'baseline' }, { name: 'wave1', onset: slices }] as unknown as PhaseReport[];
  const rec = (
    phase: number,
    startMs: number,
    ok: boolean,
    latencyMs: number,
    cls: ResolverClass = 'steady',
    kind: 'name' | 'typo' = 'name',
    tcp = false,
    zone = 0,
  ) =>
    ({
      phase,
      cls,
      zone,
      kind,
      ok,
      tries: ok ? 1 : 4,
      tcp,
      latencyMs,
      startSecond: 0,
      startMs,
    }) as const;
  fillOnset(
    phases,
    [0, 10_000],
    [
      rec(0, 9_990, true, 2), // baseline: no onset
      rec(1, 10_000, true, 3),
      rec(1, 10_050, true, 1_000, 'new'), // answered after a retry: not in time
      rec(1, 10_150, false, 3_200, 'plain'),
      rec(1, 12_999, true, 5),
      rec(1, 13_000, true, 5), // past the onset
      rec(1, 10_200, false, 3_200, 'steady', 'typo'), // the attacked zone's typo
      rec(1, 10_210, false, 3_200, 'steady', 'typo', false, 3), // another zone's typo: UDP
      rec(1, 10_220, true, 2_400, 'steady', 'name', true), // TC=1, then TCP late
      rec(1, 10_230, true, 30, 'steady', 'name', true), // TC=1, then TCP in time
    ],
  );
  assert.deepEqual(slices[2].late, { typo: 1, tcp: 1, udp: 1 });
  assert.deepEqual(slices[0].late, { typo: 0, tcp: 0, udp: 1 });
  assert.deepEqual(
    [
      slices[0].queries,
      slices[0].answered,
      slices[0].inTime,
      slices[1].queries,
      slices[1].answered,
      slices[29].queries,
    ],
    [2, 2, 1, 1, 0, 1],
  );
  assert.deepEqual(slices[0].byClass, { steady: [1, 1, 1], new: [1, 1, 0] });
  assert.deepEqual(slices[1].byClass, { plain: [1, 0, 0] });
});

test('an attack phase over 100 ms: per second from the phase start, late first tries, lost first tries and TCP apart', () => {
  const slow = Array.from({ length: 3 }, (_, k) => ({
    fromS: k,
    queries: 0,
    udpQueued: 0,
    udpRetried: 0,
    tcp: 0,
  }));
  const phases = [{ name: 'baseline' }, { name: 'wave1', slow }] as unknown as PhaseReport[];
  const rec = (
    startMs: number,
    ok: boolean,
    latencyMs: number,
    tries = 1,
    tcp = false,
    kind: 'name' | 'typo' = 'name',
    zone = 1,
  ) => ({ phase: 1, cls: 'steady', zone, kind, ok, tries, tcp, latencyMs, startSecond: 0, startMs }) as const;
  fillOnset(
    phases,
    [0, 10_000],
    [
      rec(10_000, true, 3), // in time
      rec(10_100, true, 150), // first try, late: a queue
      rec(10_200, true, 900, 2), // first try lost, answered at the retry
      rec(10_300, false, 3_200, 4), // never answered
      rec(11_000, true, 400, 2, true), // TC=1, then TCP
      rec(11_500, false, 3_200, 4, false, 'typo', 0), // the attacked zone's typo: left out
      rec(12_999, true, 50),
      rec(13_000, true, 500), // past the phase
      rec(9_999, true, 500), // before it
    ],
  );
  assert.deepEqual(slow[0], {
    fromS: 0,
    queries: 4,
    udpQueued: 1,
    udpQueuedMaxMs: 150,
    udpRetried: 2,
    tcp: 0,
  });
  assert.deepEqual(slow[1], { fromS: 1, queries: 1, udpQueued: 0, udpRetried: 0, tcp: 1 });
  assert.deepEqual(slow[2], { fromS: 2, queries: 1, udpQueued: 0, udpRetried: 0, tcp: 0 });
});

test("a phase's seconds get the drill's own tick lateness and GC pause of the run seconds they overlap", () => {
  const slow: SlowSecond[] = Array.from({ length: 3 }, (_, k) => ({
    fromS: k,
    queries: 0,
    udpQueued: 0,
    udpRetried: 0,
    tcp: 0,
  }));
  const phases = [{ name: 'baseline' }, { name: 'wave1', slow }] as unknown as PhaseReport[];
  // The phase starts 10.5 s into the run: its second 0 spans run seconds 10 and 11.
  const lag: number[] = [];
  lag[10] = 12;
  lag[11] = 140;
  lag[13] = 60;
  const gc: number[] = [];
  gc[12] = 95.5;
  fillDrillLag(phases, [0, 10_500], lag, gc);
  assert.deepEqual(
    slow.map((s) => [s.drillLagMs, s.drillGcMs]),
    [
      [140, 0],
      [140, 95.5],
      [60, 95.5],
    ],
  );
});

const PROC_TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:AF8B 00000000:0000 0A 000001FF:000001F4 00:00000000 00000000     0        0 111 1 0000000000000000 100 0 0 10 0
   1: 0100007F:AF8B 0100027F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 112 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:1F90 00000000:0000 0A 00000080:00000003 00:00000000 00000000     0        0 113 1 0000000000000000 100 0 0 10 0
garbage line
`;

test('the accept queue of a port: LISTEN rows only, queued (rx) and backlog (tx) summed', () => {
  assert.deepEqual(parseListenQueue(PROC_TCP, 0xaf8b), { queued: 500, backlog: 511 });
  assert.deepEqual(parseListenQueue(PROC_TCP, 0x1f90), { queued: 3, backlog: 128 });
  assert.deepEqual(parseListenQueue(PROC_TCP, 53), { queued: 0, backlog: 0 });
  assert.deepEqual(parseListenQueue('', 53), { queued: 0, backlog: 0 });
});

test('ss -ltnH lines: LISTEN rows of the port only, Recv-Q queued and Send-Q backlog summed', () => {
  const text =
    'LISTEN 3      128      127.0.0.1:8080 0.0.0.0:*\nLISTEN 1 4096 [::1]:8080 [::]:*\nLISTEN 9 511 127.0.0.1:80 0.0.0.0:*\n';
  assert.deepEqual(parseSsListen(text, 8080), { queued: 4, backlog: 4224 });
  assert.deepEqual(parseSsListen(text, 53), { queued: 0, backlog: 0 });
  assert.deepEqual(parseSsListen('', 53), { queued: 0, backlog: 0 });
});

test('the accept queue read off the loop: a listener that never accepts, 5 connections queued', {
  skip: process.platform !== 'linux' ? 'Linux only' : skipUnlessCommands('python3'),
}, async () => {
  // A real listener in another process that never accepts: the handshakes complete in the kernel.
  const py = spawn('python3', [
    '-c',
    "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(16)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(10)",
  ]);
  try {
    const port = await new Promise<number>((r) =>
      py.stdout.once('data', (d: Buffer) => r(Number(String(d).trim()))),
    );
    const socks = Array.from({ length: 5 }, () => connect({ port, host: '127.0.0.1' }).on('error', () => {}));
    await Promise.all(socks.map((c) => new Promise((r) => c.once('connect', r))));
    const q = await new Promise<ListenQueue | undefined>((r) => sampleListenQueueOff(port, r));
    assert.deepEqual(q, { queued: 5, backlog: 16 });
    for (const c of socks) c.destroy();
  } finally {
    py.kill();
  }
});

test('a listener whose process is busy: its queued connections are found under its port', {
  skip: process.platform !== 'linux',
}, async () => {
  const server = createTcpServer((c) => c.destroy());
  await new Promise<void>((r) => server.listen({ port: 0, host: '127.0.0.1', backlog: 16 }, r));
  const port = (server.address() as { port: number }).port;
  // The SYNs leave on the next tick; the kernel completes the handshakes while this loop is held
  // (libuv accepts one connection a turn: at most one went in the turn before).
  const socks = Array.from({ length: 5 }, () => connect({ port, host: '127.0.0.1' }).on('error', () => {}));
  await new Promise((r) => setImmediate(r));
  const until = performance.now() + 200;
  let q = sampleListenQueue(port);
  while (performance.now() < until && (q?.queued ?? 0) < 5) q = sampleListenQueue(port);
  assert.ok(q);
  // The backlog where the kernel shows it (tx_queue of a LISTEN row; 0 on others).
  assert.ok(q.backlog === 16 || q.backlog === 0, JSON.stringify(q));
  assert.ok(q.queued >= 4 && q.queued <= 5, JSON.stringify(q));
  for (const s of socks) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});
