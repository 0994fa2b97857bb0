import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import type { QueryHandler } from './handler.js';
import { parseListenAddress } from './listen-address.js';
import { nativeAcceptTcp } from './native-udp.js';
import {
  ACCEPT_BATCH,
  clientBlock,
  createTcpListener,
  PRESSURE_FIRST_QUERY_MS,
  StrangerBudget,
  type TcpListener,
  type TcpListenerOptions,
  warmTcpPath,
} from './tcp.js';

/** Echo handler: the query with QR set; `0xff` at offset 12 throws, `0xfe` answers nothing. */
const echo: QueryHandler = (q) => {
  if (q[12] === 0xff) throw new Error('boom');
  if (q[12] === 0xfe) return null;
  const r = new Uint8Array(q);
  r[2] |= 0x80;
  return r;
};

/** A 12-octet header with `id` plus `extra` octets. */
function query(id: number, extra: number[] = [0]): Buffer {
  return Buffer.from([id >> 8, id & 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...extra]);
}

function frame(msg: Uint8Array): Buffer {
  const out = Buffer.alloc(msg.length + 2);
  out.writeUInt16BE(msg.length, 0);
  out.set(msg, 2);
  return out;
}

/** A test client that splits the response stream into messages. */
class Client {
  readonly sock: Socket;
  readonly #messages: Buffer[] = [];
  readonly #waiters: ((m: Buffer | null) => void)[] = [];
  #buf = Buffer.alloc(0);
  ended = false;
  readonly closed: Promise<void>;

  constructor(sock: Socket) {
    this.sock = sock;
    sock.on('data', (d: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, d]);
      while (this.#buf.length >= 2 && this.#buf.length >= 2 + this.#buf.readUInt16BE(0)) {
        const len = this.#buf.readUInt16BE(0);
        const m = this.#buf.subarray(2, 2 + len);
        this.#buf = this.#buf.subarray(2 + len);
        const w = this.#waiters.shift();
        if (w) w(m);
        else this.#messages.push(m);
      }
    });
    sock.on('error', () => {});
    sock.on('end', () => {
      this.ended = true;
    });
    // Not events.once: it rejects on 'error' (a reset: a connection closed with unread octets).
    this.closed = new Promise<void>((done) => sock.once('close', () => done())).then(() => {
      for (const w of this.#waiters.splice(0)) w(null);
    });
  }

  /** The next response, or null when the connection closed first. */
  next(): Promise<Buffer | null> {
    const m = this.#messages.shift();
    if (m) return Promise.resolve(m);
    if (this.sock.destroyed) return Promise.resolve(null);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async write(b: Buffer): Promise<void> {
    await new Promise<void>((resolve, reject) => this.sock.write(b, (e) => (e ? reject(e) : resolve())));
  }
}

async function openClient(port: number, host = '127.0.0.1', localAddress?: string): Promise<Client> {
  const sock = connect({ port, host, localAddress, noDelay: true });
  await once(sock, 'connect');
  return new Client(sock);
}

const pause = () => new Promise((r) => setTimeout(r, 20));

async function withListener(
  t: { after: (fn: () => Promise<void>) => void },
  opts: Partial<TcpListenerOptions> = {},
  host = '127.0.0.1',
): Promise<{ listener: TcpListener; errors: string[] }> {
  const errors: string[] = [];
  const listener = await createTcpListener({
    address: parseListenAddress(`${host.includes(':') ? `[${host}]` : host}:0`),
    handler: echo,
    onError: (m) => errors.push(m),
    ...opts,
  });
  t.after(() => listener.close(50));
  return { listener, errors };
}

function idOf(m: Buffer | null): number {
  assert.ok(m, 'expected a response');
  return m.readUInt16BE(0);
}

describe('TCP listener (RFC 7766)', () => {
  test('answers one framed query', async (t) => {
    const { listener } = await withListener(t);
    const c = await openClient(listener.port);
    await c.write(frame(query(7)));
    const r = await c.next();
    assert.equal(idOf(r), 7);
    assert.equal(r![2] & 0x80, 0x80);
    c.sock.destroy();
  });

  test('answers several queries sent in one write, in order (pipelining)', async (t) => {
    const { listener } = await withListener(t);
    const c = await openClient(listener.port);
    await c.write(Buffer.concat([frame(query(1)), frame(query(2)), frame(query(3))]));
    assert.deepEqual([idOf(await c.next()), idOf(await c.next()), idOf(await c.next())], [1, 2, 3]);
    c.sock.destroy();
  });

  test('assembles frames split across writes, the length prefix included', async (t) => {
    const { listener } = await withListener(t);
    const c = await openClient(listener.port);
    const two = Buffer.concat([frame(query(10, [1, 2, 3])), frame(query(11))]);
    // Split inside the first length prefix, inside the first message, and across the boundary.
    for (const [a, b] of [
      [0, 1],
      [1, 5],
      [5, 16],
      [16, 19],
      [19, two.length],
    ]) {
      await c.write(two.subarray(a, b));
      await pause();
    }
    assert.equal(idOf(await c.next()), 10);
    assert.equal(idOf(await c.next()), 11);
    c.sock.destroy();
  });

  test('a large frame arriving octet by octet is answered whole', async (t) => {
    const { listener } = await withListener(t);
    const c = await openClient(listener.port);
    const q = query(
      12,
      Array.from({ length: 500 }, (_, i) => i & 0x7f),
    );
    const f = frame(q);
    for (let i = 0; i < f.length; i++) c.sock.write(f.subarray(i, i + 1));
    const r = await c.next();
    assert.equal(idOf(r), 12);
    assert.equal(r!.length, q.length);
    assert.deepEqual(r!.subarray(12), q.subarray(12));
    c.sock.destroy();
  });

  test('a frame of the maximum length (65535) is answered', async (t) => {
    const { listener } = await withListener(t);
    const c = await openClient(listener.port);
    const q = Buffer.alloc(65535, 1);
    q.writeUInt16BE(0x4242, 0);
    await c.write(frame(q));
    const r = await c.next();
    assert.equal(idOf(r), 0x4242);
    assert.equal(r!.length, 65535);
    c.sock.destroy();
  });

  test('a handler returning null sends nothing; later queries are still answered', async (t) => {
    const { listener } = await withListener(t);
    const c = await openClient(listener.port);
    await c.write(Buffer.concat([frame(query(20, [0xfe])), frame(query(21))]));
    assert.equal(idOf(await c.next()), 21);
    c.sock.destroy();
  });

  test('a frame shorter than a DNS header closes the connection, after earlier answers', async (t) => {
    const { listener } = await withListener(t);
    const c = await openClient(listener.port);
    await c.write(Buffer.concat([frame(query(30)), Buffer.from([0, 3, 1, 2, 3]), frame(query(31))]));
    assert.equal(idOf(await c.next()), 30);
    assert.equal(await c.next(), null);
    await c.closed;
    assert.equal(listener.stats.malformed, 1);
    // The listener keeps serving.
    const d = await openClient(listener.port);
    await d.write(frame(query(32)));
    assert.equal(idOf(await d.next()), 32);
    d.sock.destroy();
  });

  test('garbage never crashes the listener', async (t) => {
    const { listener } = await withListener(t);
    const junk = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff));
    for (let i = 0; i < 5; i++) {
      const c = await openClient(listener.port);
      c.sock.write(junk.subarray(i * 13));
      c.sock.end();
      await c.closed;
    }
    const d = await openClient(listener.port);
    await d.write(frame(query(33)));
    assert.equal(idOf(await d.next()), 33);
    d.sock.destroy();
  });

  test('a handler that throws closes that connection only and is reported', async (t) => {
    const { listener, errors } = await withListener(t);
    const c = await openClient(listener.port);
    await c.write(Buffer.concat([frame(query(40)), frame(query(41, [0xff])), frame(query(42))]));
    assert.equal(idOf(await c.next()), 40);
    assert.equal(await c.next(), null);
    assert.equal(errors.length, 1);
    const d = await openClient(listener.port);
    await d.write(frame(query(43)));
    assert.equal(idOf(await d.next()), 43);
    d.sock.destroy();
  });

  test('a half-closed connection gets every answer, then the server closes', async (t) => {
    const { listener } = await withListener(t);
    const c = await openClient(listener.port);
    c.sock.end(Buffer.concat([frame(query(50)), frame(query(51)), frame(query(52)).subarray(0, 5)]));
    assert.equal(idOf(await c.next()), 50);
    assert.equal(idOf(await c.next()), 51);
    // The incomplete third frame is dropped and the server closes its side.
    await c.closed;
    assert.equal(c.ended, true);
  });

  test('idle connections are closed (RFC 7766 §6.2.3)', async (t) => {
    const { listener } = await withListener(t, { idleTimeoutMs: 100 });
    const c = await openClient(listener.port);
    await c.write(frame(query(60)));
    assert.equal(idOf(await c.next()), 60);
    await c.closed;
    assert.equal(c.ended, true);
    assert.equal(listener.stats.idleClosed, 1);
  });

  test('warmTcpPath answers its connections on a private listener and leaves', async () => {
    assert.equal(await warmTcpPath(40), 40);
  });

  test('strangers (the gate says no) are served within their budget, per process and per /24; beyond it held unread, then closed; removed, it answers again', async (t) => {
    const { listener } = await withListener(t, { strangersPerSecond: 2, strangersPerBlockPerSecond: 1 });
    const asked: string[] = [];
    listener.setGate((address) => {
      asked.push(address);
      return !address.startsWith('127.0.3.') && !address.startsWith('127.0.4.');
    });
    // The first stranger of 127.0.3.0/24 is within both budgets: answered.
    const first = await openClient(listener.port, '127.0.0.1', '127.0.3.1');
    await first.write(frame(query(80)));
    assert.equal(idOf(await first.next()), 80);
    // The second of the same /24 in the same second: held, never read, closed without an answer.
    const held = await openClient(listener.port, '127.0.0.1', '127.0.3.2');
    const heldAt = performance.now();
    held.sock.write(frame(query(81)));
    // Another /24's stranger still has the process's second token; a vouched address is let in.
    const other = await openClient(listener.port, '127.0.0.1', '127.0.4.1');
    await other.write(frame(query(82)));
    assert.equal(idOf(await other.next()), 82);
    const vouched = await openClient(listener.port, '127.0.0.1', '127.0.0.4');
    await vouched.write(frame(query(83)));
    assert.equal(idOf(await vouched.next()), 83);
    assert.equal(await held.next(), null, 'the held stranger is closed unanswered');
    assert.ok(performance.now() - heldAt >= PRESSURE_FIRST_QUERY_MS - 50, 'held until its deadline');
    assert.equal(listener.stats.gated, 1);
    assert.equal(listener.stats.strangersServed, 2);
    assert.deepEqual(asked, ['127.0.3.1', '127.0.3.2', '127.0.4.1', '127.0.0.4']);
    listener.setGate(undefined);
    const again = await openClient(listener.port, '127.0.0.1', '127.0.3.3');
    await again.write(frame(query(84)));
    assert.equal(idOf(await again.next()), 84);
    assert.equal(listener.stats.gated, 1);
    for (const c of [first, other, vouched, again]) c.sock.destroy();
  });

  test('the strangers’ budget: a token bucket a second for the process, whole seconds per client block', () => {
    const b = new StrangerBudget(3, 2);
    assert.equal(b.take('10.0.0.1', 0), true);
    assert.equal(b.take('10.0.0.2', 1), true);
    assert.equal(b.take('10.0.0.3', 2), false, 'the /24 had its 2 this second');
    assert.equal(b.take('::ffff:10.0.1.1', 3), true);
    assert.equal(b.take('10.0.2.1', 4), false, 'the process had its 3');
    assert.equal(b.take('10.0.2.1', 340), true, 'a token a third of a second later');
    assert.equal(b.take('10.0.0.3', 1000), true, 'a new second for the /24');
    assert.equal(clientBlock('192.0.2.77'), '192.0.2');
    assert.equal(clientBlock('::ffff:192.0.2.77'), '192.0.2');
    assert.equal(clientBlock('2001:db8:1:2345:6:7:8:9'), '2001:db8:1:23');
    assert.equal(clientBlock('2001:db8:1:45:6:7:8:9'), '2001:db8:1:00');
    assert.throws(() => new StrangerBudget(-1, 1), RangeError);
  });

  /** Opens `n` connections from their own addresses (127.0.60.x …) while this process's event
   * loop is blocked, so they wait in the accept queue together; each sends one query. */
  async function queuedClients(port: number, n: number): Promise<Promise<number | null>[]> {
    const answers: Promise<number | null>[] = [];
    const blockUntil = performance.now() + 300;
    for (let i = 0; i < n; i++) {
      const sock = connect({
        port,
        host: '127.0.0.1',
        localAddress: `127.0.${60 + Math.floor(i / 200)}.${(i % 200) + 1}`,
      });
      const c = new Client(sock);
      sock.on('connect', () => sock.write(frame(query(i))));
      answers.push(c.next().then((m) => (m ? m.readUInt16BE(0) : null)));
    }
    // The handshakes complete in the kernel while the loop is held here.
    while (performance.now() < blockUntil);
    return answers;
  }

  test('the accept queue is drained in batches with the addon (libuv takes one a turn), every connection answered', {
    skip: nativeAcceptTcp() === undefined ? 'the native addon is not available' : false,
  }, async (t) => {
    const { listener } = await withListener(t, { acceptBatch: nativeAcceptTcp() });
    const answers = await queuedClients(listener.port, 300);
    const ids = await Promise.all(answers);
    assert.deepEqual(
      ids,
      ids.map((_, i) => i),
    );
    assert.equal(listener.stats.accepted, 300);
    // Most came from the batch accept: libuv's one a turn, then up to ACCEPT_BATCH more.
    assert.ok(
      listener.stats.batchAccepted >= 300 - Math.ceil(300 / ACCEPT_BATCH) * 2,
      JSON.stringify(listener.stats),
    );
    assert.ok(listener.stats.acceptFullBatches >= 1, 'a turn took a full batch');
  });

  test('without the batch accept, one connection a turn: the same connections are answered', async (t) => {
    const { listener } = await withListener(t);
    const ids = await Promise.all(await queuedClients(listener.port, 100));
    assert.deepEqual(
      ids,
      ids.map((_, i) => i),
    );
    assert.equal(listener.stats.batchAccepted, 0);
  });

  test('a batch accept that throws is reported; the connection libuv handed over is served', async (t) => {
    const { listener, errors } = await withListener(t, {
      acceptBatch: () => {
        throw new Error('boom');
      },
    });
    const c = await openClient(listener.port);
    await c.write(frame(query(5)));
    assert.equal(idOf(await c.next()), 5);
    assert.ok(errors.some((e) => e.includes('batch accept failed')));
    c.sock.destroy();
  });

  test('connections over the per-client limit are closed at once', async (t) => {
    const { listener } = await withListener(t, { maxConnectionsPerClient: 2 });
    const a = await openClient(listener.port);
    const b = await openClient(listener.port);
    await a.write(frame(query(70)));
    assert.equal(idOf(await a.next()), 70);
    await b.write(frame(query(71)));
    assert.equal(idOf(await b.next()), 71);
    const c = await openClient(listener.port);
    c.sock.write(frame(query(72)));
    assert.equal(await c.next(), null);
    assert.equal(listener.stats.refused, 1);
    // Another client address is not affected.
    const other = await openClient(listener.port, '127.0.0.1', '127.0.0.2');
    await other.write(frame(query(73)));
    assert.equal(idOf(await other.next()), 73);
    // A freed slot can be used again.
    a.sock.destroy();
    await a.closed;
    while (listener.stats.open > 2) await pause();
    const d = await openClient(listener.port);
    await d.write(frame(query(74)));
    assert.equal(idOf(await d.next()), 74);
    for (const s of [b, other, d]) s.sock.destroy();
  });

  test('connections over the per-process limit are closed at once when every open one is mid-query', async (t) => {
    const { listener } = await withListener(t, { maxConnections: 2 });
    const a = await openClient(listener.port, '127.0.0.1', '127.0.0.2');
    const b = await openClient(listener.port, '127.0.0.1', '127.0.0.3');
    await a.write(frame(query(80)));
    assert.equal(idOf(await a.next()), 80);
    await b.write(frame(query(81)));
    assert.equal(idOf(await b.next()), 81);
    // Both begin another query: neither is silent nor idle.
    await a.write(frame(query(83)).subarray(0, 5));
    await b.write(frame(query(84)).subarray(0, 5));
    await pause();
    const c = await openClient(listener.port, '127.0.0.1', '127.0.0.4');
    c.sock.write(frame(query(82)));
    assert.equal(await c.next(), null);
    assert.equal(listener.stats.refused, 1);
    a.sock.destroy();
    b.sock.destroy();
  });

  test('at the per-process limit, the oldest connection that never sent a query makes room', async (t) => {
    const { listener } = await withListener(t, { maxConnections: 2 });
    const silent1 = await openClient(listener.port, '127.0.0.1', '127.0.0.2');
    const busy = await openClient(listener.port, '127.0.0.1', '127.0.0.3');
    await busy.write(frame(query(85)));
    assert.equal(idOf(await busy.next()), 85);
    const silent2 = await openClient(listener.port, '127.0.0.1', '127.0.0.4');
    // silent2 took silent1's place: silent1 is closed, silent2 is served.
    assert.equal(await silent1.next(), null);
    await silent2.write(frame(query(86)));
    assert.equal(idOf(await silent2.next()), 86);
    // Under pressure a silent connection may also go as too slow (over a second on a busy machine).
    assert.equal(listener.stats.evicted + listener.stats.slowClosed, 1);
    // Now both have asked and wait between queries: a newcomer takes the place of the one
    // least recently active (busy, whose answer went out before silent2's).
    const late = await openClient(listener.port, '127.0.0.1', '127.0.0.5');
    assert.equal(await busy.next(), null);
    assert.equal(listener.stats.evictedIdle, 1);
    await late.write(frame(query(87)));
    assert.equal(idOf(await late.next()), 87);
    assert.equal(listener.stats.refused, 0);
    while (listener.stats.open !== 2) await pause();
    assert.equal(idOf(await silent2.write(frame(query(88))).then(() => silent2.next())), 88);
    for (const s of [late, silent2]) s.sock.destroy();
  });

  test('under pressure a connection that sent no complete query within a second makes way for newcomers', async (t) => {
    const { listener } = await withListener(t, { maxConnections: 4 });
    // Slow TCP: one octet of the length prefix, then nothing.
    const slow = [
      await openClient(listener.port, '127.0.0.1', '127.0.0.2'),
      await openClient(listener.port, '127.0.0.1', '127.0.0.3'),
    ];
    for (const c of slow) await c.write(Buffer.from([0]));
    await new Promise((r) => setTimeout(r, PRESSURE_FIRST_QUERY_MS + 200));
    // Half the limit is in use: the next arrival closes both slow ones (not at the limit yet).
    const real = await openClient(listener.port, '127.0.0.1', '127.0.0.4');
    for (const c of slow) assert.equal(await c.next(), null);
    assert.equal(listener.stats.slowClosed, 2);
    assert.equal(listener.stats.evicted, 0);
    await real.write(frame(query(89)));
    assert.equal(idOf(await real.next()), 89);
    real.sock.destroy();
  });

  test('a response too large for a frame is dropped and reported', async (t) => {
    const { listener, errors } = await withListener(t, {
      handler: (q) =>
        q[12] === 1 ? new Uint8Array(70000) : echo(q, { transport: 'tcp', address: '', port: 0 }),
    });
    const c = await openClient(listener.port);
    await c.write(Buffer.concat([frame(query(90, [1])), frame(query(91))]));
    assert.equal(idOf(await c.next()), 91);
    assert.equal(errors.length, 1);
    c.sock.destroy();
  });

  test('close() ends open connections and resolves', async (t) => {
    const { listener } = await withListener(t);
    const c = await openClient(listener.port);
    await c.write(frame(query(95)));
    assert.equal(idOf(await c.next()), 95);
    await listener.close(100);
    await c.closed;
    assert.equal(listener.stats.open, 0);
  });

  test('listens on IPv6 loopback', async (t) => {
    let listener: TcpListener;
    try {
      ({ listener } = await withListener(t, {}, '::1'));
    } catch (err) {
      t.skip(`no IPv6 loopback here: ${(err as Error).message}`);
      return;
    }
    const c = await openClient(listener.port, '::1');
    await c.write(frame(query(99)));
    assert.equal(idOf(await c.next()), 99);
    c.sock.destroy();
  });
});
