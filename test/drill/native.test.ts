/**
 * The drill's native sender (native/drill.c): under AddressSanitizer and UBSan with hostile
 * datagrams of every length (native/fuzz/drill-harness.c), and through the addon from Node:
 * each datagram leaves from the source address asked for, answers are counted by kind and
 * RCODE, and bad arguments throw instead of reaching C; (maps25) the bots' flood rotating over
 * more /24s than the kernel's LRU map holds (--rotate-24s), within its budget.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { FloodPool, sendCeiling } from '../../src/drill/flood.js';
import { COUNTS_PER_KIND, loadDrillAddon, toNetworkOrder } from '../../src/drill/native.js';
import { checkRotate24s, ROTATE_MAX, rotatingAddress } from '../../src/drill/population.js';
import { runDrill } from '../../src/drill/run.js';
import { DrillConfigError, ipv4ToNumber } from '../../src/drill/target.js';
import { findCommand } from '../helpers/peers.js';
import { skipOrFail } from '../helpers/require-peers.js';

const compiler = findCommand('gcc') ?? findCommand('cc') ?? findCommand('clang');
const dir = mkdtempSync(join(tmpdir(), 'sb-drill-native-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const noCompiler = skipOrFail(
  compiler ? false : 'no C compiler for the drill sanitizer harness (apt-get install gcc)',
);
test('drill.c under ASan/UBSan: hostile datagrams of 0-600 octets sent (alone and in GSO runs) and drained, bad ranges refused', {
  skip: noCompiler,
}, () => {
  const bin = join(dir, 'drill-harness');
  const cc = spawnSync(
    compiler!,
    [
      '-std=gnu11',
      '-g',
      '-O1',
      '-fsanitize=address,undefined',
      '-fno-sanitize-recover=all',
      '-fno-omit-frame-pointer',
      resolve('native/drill.c'),
      resolve('native/fuzz/drill-harness.c'),
      '-o',
      bin,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  assert.equal(cc.status, 0, cc.stderr);
  const run = spawnSync(bin, ['1500'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  const m = /^ok (\d+) (\d+) (\d+)$/m.exec(run.stdout);
  assert.ok(m, run.stdout);
  const [sent, received] = [Number(m[1]), Number(m[2])];
  assert.ok(sent > 10_000 && received >= sent * 0.99, run.stdout);
});

const { addon, reason } = loadDrillAddon();
const noAddon = skipOrFail(addon ? false : `the drill addon is not built (${reason}): npm run build:native`);
test('the addon sends each datagram from its own 127.x source (GSO runs from one), counts answers by kind and RCODE', {
  skip: noAddon,
}, async () => {
  const a = addon!;
  const server = createSocket('udp4');
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
  const seen: string[] = [];
  server.on('message', (msg, rinfo) => {
    seen.push(rinfo.address);
    const reply = Buffer.from(msg);
    reply[2] |= 0x80; // QR
    reply[3] = (reply[3] & 0xf0) | 3; // NXDOMAIN
    server.send(reply, rinfo.port, rinfo.address);
  });
  const fd = a.open(4);
  assert.ok(fd >= 0);
  try {
    const buf = new Uint8Array(64 * 32);
    const offsets = Uint32Array.from({ length: 64 }, (_, i) => i * 32);
    const lengths = new Uint16Array(64).fill(12);
    const srcs = new Uint32Array(64);
    const sources = ['127.2.0.1', '127.2.0.2', '127.3.4.5', '127.1.0.9'];
    sources.forEach((s, i) => {
      srcs[i] = toNetworkOrder(ipv4ToNumber(s));
      buf[i * 32] = 2 << 6; // kind 2 in the ID's top bits
    });
    const dst = toNetworkOrder(ipv4ToNumber('127.0.0.1'));
    const port = (server.address() as { port: number }).port;
    assert.equal(a.send(fd, 4, dst, port, buf, offsets, lengths, srcs, sources.length), sources.length);
    const counts = new Uint32Array(4 * COUNTS_PER_KIND);
    for (let i = 0; i < 100 && counts[2 * COUNTS_PER_KIND + 17] < sources.length; i++) {
      await new Promise((r) => setTimeout(r, 10));
      a.drain(fd, counts, 1000);
    }
    assert.deepEqual(seen.sort(), [...sources].sort());
    assert.equal(counts[2 * COUNTS_PER_KIND + 3], sources.length, 'NXDOMAIN answers of kind 2');
    // A UDP GSO message: 4 equal datagrams from one source arrive as 4 datagrams.
    seen.length = 0;
    for (let j = 0; j < 4; j++) buf.set([1 << 6, j, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], j * 12);
    const gsoOffsets = Uint32Array.of(0);
    const gsoLengths = Uint16Array.of(48);
    const gsoSrcs = Uint32Array.of(toNetworkOrder(ipv4ToNumber('127.2.9.9')));
    const sent = a.send(fd, 4, dst, port, buf, gsoOffsets, gsoLengths, gsoSrcs, 1, Uint16Array.of(12));
    if (sent === 1) {
      for (let i = 0; i < 100 && counts[1 * COUNTS_PER_KIND + 17] < 4; i++) {
        await new Promise((r) => setTimeout(r, 10));
        a.drain(fd, counts, 1000);
      }
      assert.deepEqual(seen, ['127.2.9.9', '127.2.9.9', '127.2.9.9', '127.2.9.9']);
      assert.equal(counts[1 * COUNTS_PER_KIND + 17], 4, 'four answers of kind 1');
    } else assert.ok(sent < 0, 'a kernel without UDP GSO refuses the message');
    assert.ok(
      a.send(fd, 4, dst, port, buf, gsoOffsets, Uint16Array.of(600), gsoSrcs, 1, Uint16Array.of(2)) < 0,
      'a GSO run of more than 64 datagrams is refused',
    );
    // Bad arguments throw in the glue.
    assert.throws(() => a.send(fd, 4, dst, port, buf, offsets, lengths, srcs, 65), TypeError);
    assert.throws(() => a.send(fd, 4, dst, 70000, buf, offsets, lengths, srcs, 1), TypeError);
    assert.throws(
      () => a.send(fd, 4, dst, port, buf, new Uint16Array(64) as never, lengths, srcs, 1),
      TypeError,
    );
    assert.throws(() => a.drain(fd, new Uint32Array(3), 10), TypeError);
    // port(): the socket's local port (its drops are read from /proc/net/udp by that port).
    const local = a.port(fd);
    assert.ok(local > 0 && local < 65536, `port ${local}`);
    assert.ok(a.port(-1) < 0, 'a bad descriptor gives -errno');
    assert.throws(() => (a.port as () => number)(), TypeError);
    assert.throws(
      () => a.send(fd, 4, dst, port, buf, offsets, lengths, srcs, 2, new Uint16Array(1)),
      TypeError,
    );
    offsets[0] = buf.length - 4;
    assert.ok(
      a.send(fd, 4, dst, port, buf, offsets, lengths, srcs, 1) < 0,
      'a datagram past the buffer is refused',
    );
  } finally {
    a.close(fd);
    server.close();
  }
});

test('the send ceiling: the senders flood a socket nobody reads for a moment and stop', {
  skip: loadDrillAddon().addon ? false : 'the drill addon is not built',
}, async () => {
  const started = Date.now();
  const rate = await sendCeiling(
    {
      senders: 1,
      seed: 3,
      zones: 2,
      names: 50,
      victim: 0,
      bots: 300,
      resolverAddresses: [],
      deadline: Date.now() + 10_000,
      maxPackets: 2_000_000,
      io: 'native',
      gso: 8,
    },
    { 'rs-bots': 1, direct: 1 },
    400,
  );
  assert.ok(rate !== undefined && rate > 1000, `rate ${rate}`);
  assert.ok(Date.now() - started < 8000);
});

// maps25: --rotate-24s — the bots' flood rotates its sources over more /24s than the kernel's LRU
// map of /24s holds (4,096), each datagram from a 127.4+ address the native sender sets; bounded by
// its packet budget and deadline as every flood.
test('--rotate-24s: the bots flood from 6,000 /24s in turn (127.4.0.0/24 on), within the packet budget', {
  skip: loadDrillAddon().addon ? false : 'the drill addon is not built',
}, async () => {
  const server = createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
  const p24s = new Set<number>();
  let received = 0;
  let outside = 0;
  server.on('message', (_msg, rinfo) => {
    received++;
    const a = ipv4ToNumber(rinfo.address);
    const host = a & 255;
    const p24 = (a >>> 8) - ((127 << 16) | (4 << 8));
    if (p24 < 0 || p24 >= 6000 || host < 1 || host > 250) outside++;
    else p24s.add(p24);
  });
  const started = Date.now();
  const pool = await FloodPool.start({
    target: { host: '127.0.0.1', port: (server.address() as { port: number }).port, family: 4 },
    senders: 2,
    seed: 5,
    zones: 2,
    names: 50,
    victim: 0,
    bots: 300,
    resolverAddresses: [],
    deadline: Date.now() + 10_000,
    maxPackets: 30_000,
    io: 'native',
    gso: 1,
    rotate24s: 6000,
  });
  try {
    await pool.switchRate(60_000, { 'rs-bots': 1, direct: 1 });
    while (Date.now() - started < 6000 && received < 24_000) await new Promise((r) => setTimeout(r, 50));
    const t = await pool.switchRate(0, { 'rs-bots': 1, direct: 1 });
    const sent = t.sent.reduce((x, y) => x + y, 0);
    assert.ok(sent <= 30_000, `within the packet budget: ${sent}`);
  } finally {
    await pool.stop();
    server.close();
  }
  assert.equal(outside, 0, 'every source inside the rotation (127.4.0.0 + 6,000 /24s, hosts .1-.250)');
  assert.ok(p24s.size > 4096, `more /24s than the LRU map holds: ${p24s.size} of ${received} datagrams`);
});

test('--rotate-24s: refused off its range, with an IPv6 target, and without the native sender', async () => {
  assert.throws(() => checkRotate24s(ROTATE_MAX + 1), DrillConfigError);
  assert.throws(() => checkRotate24s(-1), DrillConfigError);
  assert.throws(() => checkRotate24s(1.5), DrillConfigError);
  assert.equal(checkRotate24s(0), 0);
  // The last /24 of the rotation stays under 127.255/16; the first is 127.4.0.0/24.
  assert.equal(rotatingAddress(ROTATE_MAX - 1, ROTATE_MAX, 249) >>> 24, 127);
  assert.equal((rotatingAddress(ROTATE_MAX - 1, ROTATE_MAX, 249) >>> 16) & 255, 254);
  assert.equal(rotatingAddress(ROTATE_MAX, ROTATE_MAX, 0), ipv4ToNumber('127.4.0.1'));
  const base = {
    stops: { maxSeconds: 5, maxPackets: 1000 },
    seed: 1,
    shape: { zones: 1, names: 10 },
    victim: 0,
    resolvers: 1,
    bots: 10,
    perResolverRate: 1,
    typoShare: 0,
    senders: 1,
    rotate24s: 5000,
  };
  await assert.rejects(
    runDrill({ ...base, target: { host: '::1', port: 53, family: 6 }, io: 'auto' }),
    DrillConfigError,
  );
  await assert.rejects(
    runDrill({ ...base, target: { host: '127.0.0.1', port: 53, family: 4 }, io: 'node' }),
    DrillConfigError,
  );
});
