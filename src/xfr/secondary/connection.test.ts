/**
 * `TransferConnections` against a scripted TCP server on loopback: answers out of order are
 * matched by ID; an error answer fails its exchange alone (the connection stays); with every
 * connection full the next exchange waits (never more outstanding than connections × pipeline);
 * a message no exchange asked for ends the connection. Real primaries (NSD, Knot, BIND 9, whose
 * answers interleave): test/e2e/xfr-pipeline.test.ts, test/e2e/secondary-connections.test.ts.
 * @module
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { RRType } from '../../wire/constants.js';
import { Name } from '../../wire/name.js';
import { buildQuery, DEFAULT_TRANSFER_LIMITS, TransferError } from './client.js';
import { TransferConnections } from './connection.js';

type Mode = 'reverse' | 'refuse-second' | 'stranger' | 'slow';

/** A server answering each query with one message: the query with QR set (and an RCODE). */
function scripted(mode: () => Mode, seen: { outstanding: number; max: number }): Server {
  return createServer((sock: Socket) => {
    let buf = Buffer.alloc(0);
    const held: Buffer[] = [];
    const answer = (q: Buffer, rcode = 0): void => {
      const a = Buffer.from(q);
      a[2] |= 0x80;
      a[3] = (a[3] & 0xf0) | rcode;
      const f = Buffer.alloc(2 + a.length);
      f.writeUInt16BE(a.length, 0);
      a.copy(f, 2);
      seen.outstanding--;
      sock.write(f);
    };
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const q = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + q.length);
        seen.outstanding++;
        seen.max = Math.max(seen.max, seen.outstanding);
        held.push(Buffer.from(q));
      }
      const m = mode();
      if (m === 'reverse' && held.length >= 4) for (const q of held.splice(0).reverse()) answer(q);
      if (m === 'refuse-second' && held.length >= 3) {
        const [a, b, c] = held.splice(0);
        answer(c);
        answer(b, 5);
        answer(a);
      }
      if (m === 'stranger' && held.length >= 2) {
        const q = held.splice(0)[0];
        q[0] ^= 0xff;
        answer(q);
      }
      if (m === 'slow') for (const q of held.splice(0)) setTimeout(() => answer(q), 20);
    });
    sock.on('error', () => {});
  });
}

/** One exchange: done at the first message; an RCODE other than 0 throws (as the transfer checks do). */
function ask(conns: TransferConnections, port: number, i: number): Promise<number> {
  const query = buildQuery(Name.parse(`z${i}.conn.test.`), RRType.AXFR);
  let id = -1;
  return conns
    .exchange({ address: '127.0.0.1', port }, query, DEFAULT_TRANSFER_LIMITS, (m) => {
      if ((m[3] & 0x0f) !== 0) throw new TransferError(`RCODE ${m[3] & 0x0f}`);
      id = (m[0] << 8) | m[1];
      assert.equal(id, (query[0] << 8) | query[1], 'the answer to this query');
      return true;
    })
    .then(() => i);
}

describe('TransferConnections (scripted server)', () => {
  let server: Server;
  let port = 0;
  let mode: Mode = 'reverse';
  const seen = { outstanding: 0, max: 0 };
  before(async () => {
    server = scripted(() => mode, seen);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test('answers out of order: each goes to the query with its ID', async () => {
    mode = 'reverse';
    const conns = new TransferConnections({ address: '127.0.0.1', port }, { connections: 1, pipeline: 4 });
    try {
      assert.deepEqual(await Promise.all([0, 1, 2, 3].map((i) => ask(conns, port, i))), [0, 1, 2, 3]);
      assert.equal(conns.opened, 1);
    } finally {
      conns.close();
    }
  });

  test('an error answer fails its exchange alone; the connection stays', async () => {
    mode = 'refuse-second';
    const conns = new TransferConnections({ address: '127.0.0.1', port }, { connections: 1, pipeline: 3 });
    try {
      const all = await Promise.allSettled([0, 1, 2].map((i) => ask(conns, port, i)));
      assert.deepEqual(
        all.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      assert.equal(conns.opened, 1);
      assert.equal(conns.open, 1);
    } finally {
      conns.close();
    }
  });

  test('full: the next exchange waits, never more outstanding than connections × pipeline', async () => {
    mode = 'slow';
    seen.max = 0;
    seen.outstanding = 0;
    const conns = new TransferConnections({ address: '127.0.0.1', port }, { connections: 2, pipeline: 2 });
    try {
      const ids = Array.from({ length: 12 }, (_, i) => i);
      assert.deepEqual(
        (await Promise.all(ids.map((i) => ask(conns, port, i)))).sort((a, b) => a - b),
        ids,
      );
      assert.ok(seen.max <= 4, `${seen.max} outstanding at most`);
      assert.equal(conns.opened, 2);
    } finally {
      conns.close();
    }
  });

  test('a message no exchange asked for ends the connection; the exchanges on it fail or go again once', async () => {
    mode = 'stranger';
    const conns = new TransferConnections({ address: '127.0.0.1', port }, { connections: 1, pipeline: 2 });
    try {
      const all = await Promise.allSettled([0, 1].map((i) => ask(conns, port, i)));
      // Nothing got an answer: both are sent again on a new connection, then fail there too.
      for (const r of all) {
        assert.equal(r.status, 'rejected');
        if (r.status === 'rejected') assert.match((r.reason as Error).message, /an answer not asked for/);
      }
      assert.equal(conns.opened, 2);
    } finally {
      conns.close();
    }
  });
});
