import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import type { QueryHandler, TransportContext } from './handler.js';
import { parseListenAddress } from './listen-address.js';
import { createNativeUdpListener, nativeUdpStatus } from './native-udp.js';
import {
  createUdpListener as createNodeUdpListener,
  type UdpListener,
  type UdpListenerOptions,
} from './udp.js';

/** Both UDP paths pass the same tests; the native one is skipped (with its reason) when it cannot load. */
const native = nativeUdpStatus();
const PATHS: { io: string; create: (o: UdpListenerOptions) => Promise<UdpListener>; skip: string | false }[] =
  [
    { io: 'node', create: createNodeUdpListener, skip: false },
    { io: 'native', create: createNativeUdpListener, skip: native.ok ? false : native.reason },
  ];

const seen: TransportContext[] = [];

/** Echo with QR set; `0xff` at offset 12 throws, `0xfe` answers nothing. */
const echo: QueryHandler = (q, ctx) => {
  // Both paths can answer later (a DNS UPDATE relayed to the control plane).
  assert.equal(typeof ctx.defer, 'function');
  seen.push({ transport: ctx.transport, address: ctx.address, port: ctx.port });
  if (q[12] === 0xff) throw new Error('boom');
  if (q[12] === 0xfe) return null;
  const r = new Uint8Array(q);
  r[2] |= 0x80;
  return r;
};

function query(id: number, extra: number[] = [0]): Buffer {
  return Buffer.from([id >> 8, id & 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...extra]);
}

/** A client socket whose received datagrams queue up for `next`. */
async function openClient(family: 4 | 6 = 4): Promise<{ sock: Socket; next: () => Promise<Buffer> }> {
  const sock = createSocket(family === 6 ? 'udp6' : 'udp4');
  const queue: Buffer[] = [];
  const waiters: ((b: Buffer) => void)[] = [];
  sock.on('message', (m) => {
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  sock.bind(0, family === 6 ? '::1' : '127.0.0.1');
  await once(sock, 'listening');
  return {
    sock,
    next: () => {
      const m = queue.shift();
      return m ? Promise.resolve(m) : new Promise((resolve) => waiters.push(resolve));
    },
  };
}

for (const { io, create: createUdpListener, skip } of PATHS)
  describe(`UDP listener (${io} path)`, { skip }, () => {
    let listener: UdpListener;
    const errors: string[] = [];

    test('binds and answers a datagram to its source, with the source in the context', async (t) => {
      listener = await createUdpListener({
        address: parseListenAddress('127.0.0.1:0'),
        handler: echo,
        onError: (m) => errors.push(m),
      });
      t.after(() => listener.close());
      const c = await openClient();
      t.after(() => c.sock.close());
      c.sock.send(query(1), listener.port, '127.0.0.1');
      const r = await c.next();
      assert.equal(r.readUInt16BE(0), 1);
      assert.equal(r[2] & 0x80, 0x80);
      const ctx = seen.at(-1)!;
      assert.deepEqual(ctx, { transport: 'udp', address: '127.0.0.1', port: c.sock.address().port });

      // A handler failure is reported and the socket keeps serving; null sends nothing.
      c.sock.send(query(2, [0xff]), listener.port, '127.0.0.1');
      c.sock.send(query(3, [0xfe]), listener.port, '127.0.0.1');
      c.sock.send(query(4), listener.port, '127.0.0.1');
      assert.equal((await c.next()).readUInt16BE(0), 4);
      assert.equal(errors.length, 1);
    });

    test('a bind failure is a TransportError', async (t) => {
      // Held by a socket without SO_REUSEPORT (the native path sets it, so two native sockets share).
      const first = await createNodeUdpListener({
        address: parseListenAddress('127.0.0.1:0'),
        handler: echo,
      });
      t.after(() => first.close());
      await assert.rejects(
        createUdpListener({ address: parseListenAddress(`127.0.0.1:${first.port}`), handler: echo }),
        (err: unknown) => (err as { code?: string }).code === 'TRANSPORT_ERR_BIND',
      );
    });

    test('answers on IPv6 loopback', async (t) => {
      let l: UdpListener;
      try {
        l = await createUdpListener({ address: parseListenAddress('[::1]:0'), handler: echo });
      } catch (err) {
        t.skip(`no IPv6 loopback here: ${(err as Error).message}`);
        return;
      }
      t.after(() => l.close());
      const c = await openClient(6);
      t.after(() => c.sock.close());
      c.sock.send(query(9), l.port, '::1');
      assert.equal((await c.next()).readUInt16BE(0), 9);
      assert.deepEqual(seen.at(-1), { transport: 'udp', address: '::1', port: c.sock.address().port });
    });
  });
