/**
 * Deferred answers (TransportContext.defer): a handler answers a query later, as a DNS UPDATE
 * relayed to the control plane is — over node UDP, native UDP (from the queried socket, to
 * the querier's port) and TCP (where frames pipelined behind it wait their turn).
 * @module
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import type { QueryHandler } from './handler.js';
import { parseListenAddress } from './listen-address.js';
import { createNativeUdpListener, nativeUdpStatus } from './native-udp.js';
import { createTcpListener } from './tcp.js';
import { createUdpListener } from './udp.js';

/** Queries whose 13th octet is 1 are answered 30 ms later; others at once. */
const later: QueryHandler = (q, ctx) => {
  const r = new Uint8Array(q);
  r[2] |= 0x80;
  if (q[12] !== 1) return r;
  const reply = ctx.defer?.();
  assert.ok(reply, 'the transport can answer later');
  setTimeout(() => {
    reply(r);
    reply(new Uint8Array(12)); // a second call is ignored
  }, 30);
  return null;
};

function query(id: number, mark: number): Uint8Array {
  const q = new Uint8Array(13);
  q[0] = id >> 8;
  q[1] = id & 0xff;
  q[12] = mark;
  return q;
}

const udpPaths = [
  ['node', createUdpListener],
  ...(nativeUdpStatus().ok ? [['native', createNativeUdpListener] as const] : []),
] as const;

for (const [name, create] of udpPaths)
  describe(`deferred answers over UDP (${name} path)`, () => {
    test('a deferred answer reaches the querier once, from the queried port', async () => {
      const l = await create({ address: parseListenAddress('127.0.0.1:0'), handler: later });
      const c = createSocket('udp4');
      try {
        const got: Buffer[] = [];
        c.on('message', (m, rinfo) => {
          assert.equal(rinfo.port, l.port);
          got.push(m);
        });
        c.send(query(7, 1), l.port, '127.0.0.1');
        c.send(query(8, 0), l.port, '127.0.0.1');
        const deadline = Date.now() + 3000;
        while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        await new Promise((r) => setTimeout(r, 100));
        // The immediate answer first, the deferred one after it, and only once.
        assert.deepEqual(
          got.map((m) => m.readUInt16BE(0)),
          [8, 7],
        );
      } finally {
        c.close();
        await l.close();
      }
    });
  });

test('deferred answers over TCP: frames pipelined behind it wait, order kept', async () => {
  const l = await createTcpListener({ address: parseListenAddress('127.0.0.1:0'), handler: later });
  try {
    const s = connect(l.port, '127.0.0.1');
    await once(s, 'connect');
    const frames = [query(1, 1), query(2, 0), query(3, 1), query(4, 0)].map((q) => {
      const f = Buffer.alloc(q.length + 2);
      f.writeUInt16BE(q.length, 0);
      f.set(q, 2);
      return f;
    });
    s.write(Buffer.concat(frames));
    s.end();
    const chunks: Buffer[] = [];
    for await (const c of s) chunks.push(c as Buffer);
    const all = Buffer.concat(chunks);
    const ids: number[] = [];
    for (let at = 0; at + 2 <= all.length; ) {
      const len = all.readUInt16BE(at);
      ids.push(all.readUInt16BE(at + 2));
      at += 2 + len;
    }
    assert.deepEqual(ids, [1, 2, 3, 4]);
  } finally {
    await l.close(50);
  }
});
