/**
 * Adversarial review of DNS over TCP: frames split anywhere, degenerate lengths, pipelining,
 * and a client that sends a lot and never reads (memory must stay bounded).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import type { QueryHandler } from './handler.js';
import { parseListenAddress } from './listen-address.js';
import { createTcpListener, type TcpListener } from './tcp.js';

function frame(msg: Uint8Array): Buffer {
  const out = Buffer.alloc(msg.length + 2);
  out.writeUInt16BE(msg.length, 0);
  out.set(msg, 2);
  return out;
}

/** A 12-octet header carrying `id`, then `extra` zero octets. */
function query(id: number, extra = 1): Buffer {
  const b = Buffer.alloc(12 + extra);
  b.writeUInt16BE(id, 0);
  return b;
}

/** Reads framed messages from `sock` until it closes; resolves with them. */
function collect(sock: Socket): Promise<Buffer[]> {
  const out: Buffer[] = [];
  let buf = Buffer.alloc(0);
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const len = buf.readUInt16BE(0);
      out.push(buf.subarray(2, 2 + len));
      buf = buf.subarray(2 + len);
    }
  });
  sock.on('error', () => {});
  return once(sock, 'close').then(() => out);
}

async function withListener(handler: QueryHandler, body: (l: TcpListener) => Promise<void>): Promise<void> {
  const l = await createTcpListener({ address: parseListenAddress('127.0.0.1:0'), handler });
  try {
    await body(l);
  } finally {
    await l.close(100);
  }
}

async function open(l: TcpListener): Promise<Socket> {
  const s = connect({ host: '127.0.0.1', port: l.port, noDelay: true });
  await once(s, 'connect');
  return s;
}

const tick = () => new Promise((r) => setImmediate(r));

/** Echoes the query's ID in a 12-octet response. */
const idEcho: QueryHandler = (q) => {
  const r = new Uint8Array(12);
  r[0] = q[0];
  r[1] = q[1];
  r[2] = 0x80;
  return r;
};

describe('TCP framing under hostile input', () => {
  test('a stream split at every octet boundary is answered in order', async () => {
    await withListener(idEcho, async (l) => {
      const stream = Buffer.concat([frame(query(1)), frame(query(2, 30)), frame(query(3))]);
      for (let cut = 1; cut < stream.length; cut++) {
        const s = await open(l);
        const got = collect(s);
        s.write(stream.subarray(0, cut));
        await tick();
        s.end(stream.subarray(cut));
        const ids = (await got).map((m) => m.readUInt16BE(0));
        assert.deepEqual(ids, [1, 2, 3], `cut at ${cut}`);
      }
    });
  });

  test('one octet per write is answered', async () => {
    await withListener(idEcho, async (l) => {
      const stream = Buffer.concat([frame(query(7)), frame(query(8))]);
      const s = await open(l);
      const got = collect(s);
      for (const octet of stream) {
        s.write(Buffer.of(octet));
        await tick();
      }
      s.end();
      assert.deepEqual(
        (await got).map((m) => m.readUInt16BE(0)),
        [7, 8],
      );
    });
  });

  test('a 0-length frame closes the connection after answering what came before', async () => {
    let calls = 0;
    await withListener(
      (q) => {
        calls++;
        return idEcho(q, { transport: 'tcp', address: '', port: 0 });
      },
      async (l) => {
        const s = await open(l);
        const got = collect(s);
        s.write(Buffer.concat([frame(query(1)), Buffer.of(0, 0), frame(query(2))]));
        assert.deepEqual(
          (await got).map((m) => m.readUInt16BE(0)),
          [1],
        );
        assert.equal(calls, 1, 'nothing after the bad frame reaches the handler');
        assert.equal(l.stats.malformed, 1);
      },
    );
  });

  test('a 65535-octet frame reaches the handler whole', async () => {
    const sizes: number[] = [];
    await withListener(
      (q) => {
        sizes.push(q.length);
        return idEcho(q, { transport: 'tcp', address: '', port: 0 });
      },
      async (l) => {
        const s = await open(l);
        const got = collect(s);
        const big = query(9, 65535 - 12);
        // In pieces, with the length prefix split from the body.
        const f = frame(big);
        s.write(f.subarray(0, 1));
        await tick();
        s.write(f.subarray(1, 40000));
        await tick();
        s.end(Buffer.concat([f.subarray(40000), frame(query(10))]));
        assert.deepEqual(
          (await got).map((m) => m.readUInt16BE(0)),
          [9, 10],
        );
        assert.deepEqual(sizes, [65535, 13]);
      },
    );
  });
});

describe('TCP back-pressure', () => {
  test('a client that never reads gets no more answers buffered than the socket holds; all arrive once it reads', async () => {
    const replySize = 30_000;
    const total = 2000;
    let calls = 0;
    const handler: QueryHandler = (q) => {
      calls++;
      const r = new Uint8Array(replySize);
      r[0] = q[0];
      r[1] = q[1];
      return r;
    };
    await withListener(handler, async (l) => {
      const s = await open(l);
      s.pause();
      // All queries in one write: ~30 KB, usually one read on the server.
      const queries: Buffer[] = [];
      for (let i = 0; i < total; i++) queries.push(frame(query(i)));
      s.write(Buffer.concat(queries));
      // Wait until the server stops answering (its writes are blocked).
      let last = -1;
      for (let stable = 0; stable < 3; ) {
        await new Promise((r) => setTimeout(r, 100));
        if (calls === last) stable++;
        else stable = 0;
        last = calls;
      }
      // Kernel buffers on loopback hold a few MB; 60 MB of answers must not be queued.
      assert.ok(
        calls * replySize < 24 * 1024 * 1024,
        `${calls} answers (${calls * replySize} octets) buffered`,
      );
      const got = collect(s);
      s.resume();
      s.end();
      const ids = (await got).map((m) => m.readUInt16BE(0));
      assert.equal(ids.length, total);
      assert.deepEqual(
        ids,
        Array.from({ length: total }, (_, i) => i),
      );
    });
  });
});

describe('slow senders', () => {
  test('a frame trickled in one octet at a time is cut off at the idle timeout, not kept forever', async () => {
    const l = await createTcpListener({
      address: parseListenAddress('127.0.0.1:0'),
      handler: (q) => q,
      idleTimeoutMs: 400,
    });
    try {
      const s = await open(l);
      const closed = once(s, 'close');
      s.on('error', () => {});
      // A 30-octet frame, one octet every 100 ms: each octet restarts the idle timer, so
      // only the frame deadline can end this before the frame completes (3.2 s).
      const bytes = frame(query(7, 18));
      let i = 0;
      const trickle = setInterval(() => {
        if (i < bytes.length && !s.destroyed) s.write(bytes.subarray(i, ++i));
      }, 100);
      await closed;
      clearInterval(trickle);
      assert.ok(i < bytes.length, `the connection lasted until the frame was complete (${i} octets)`);
      assert.equal(l.stats.idleClosed, 1);
    } finally {
      await l.close(100);
    }
  });
});
