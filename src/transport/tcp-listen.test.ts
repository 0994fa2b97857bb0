/**
 * (tcpl24) A TCP listener whose accepts are made in C (`acceptGate.listen`, native/udp.c
 * `tcpListen`): a real listener with the addon's gate and no native shield in this thread, so C
 * accepts and hands every connection to JS unjudged. Real clients over loopback: answered; closed
 * and made again on the same port in the same process (C's duplicate closed: the port binds
 * again); `SWITCHBOARD_TCP_LISTEN=libuv` keeps libuv's accept.
 * @module
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import type { QueryHandler } from './handler.js';
import { nativeTcpGate, TCP_LISTEN_ENV } from './native-udp.js';
import { createTcpListener, TCP_SERVE, type TcpAcceptGate, type TcpListener } from './tcp.js';

const g = nativeTcpGate();
const skip = g?.listen === undefined ? 'the addon has no tcpListen' : false;

/** The addon's gate as src/server/shared/listeners.ts builds it, never active (no native shield). */
function gate(): TcpAcceptGate {
  const n = g as NonNullable<typeof g>;
  return {
    active: () => false,
    accept: n.accept,
    judge: () => TCP_SERVE,
    sweep: n.sweep,
    close: n.close,
    configure: n.configure,
    watch: n.watch,
    unwatch: n.unwatch,
    serve: n.serve,
    listen: n.listen,
    unlisten: n.unlisten,
  };
}

const echo: QueryHandler = (q) => {
  const r = Uint8Array.from(q);
  r[2] |= 0x80;
  return r;
};

/** One query on a connection of its own from `local`: whether the answer came (its id). */
function ask(port: number, local: string, id: number): Promise<boolean> {
  const q = Buffer.from([0, 12, id >> 8, id & 0xff, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, localAddress: local });
    const timer = setTimeout(() => s.destroy(), 3000);
    let got = Buffer.alloc(0);
    s.on('connect', () => s.write(q));
    s.on('data', (d) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 14) s.end();
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve(got.length >= 14 && got.readUInt16BE(2) === id && (got[4] & 0x80) !== 0);
    });
  });
}

describe('TCP accepts in C (tcpListen)', { skip }, () => {
  test('answered; closed and listening again on the same port in one process', async () => {
    let l: TcpListener = await createTcpListener({
      address: { host: '127.0.0.1', port: 0, family: 4 },
      handler: echo,
      acceptGate: gate(),
    });
    assert.equal(l.acceptsInC, true);
    const port = l.port;
    const fd = l.fd;
    assert.ok(fd !== undefined && fd >= 0);
    const first = await Promise.all(Array.from({ length: 40 }, (_, i) => ask(port, `127.0.130.${i + 1}`, i)));
    assert.deepEqual(first, Array(40).fill(true));
    assert.ok(l.stats.batchAccepted >= 40, JSON.stringify(l.stats));
    assert.equal(l.stats.accepted, 40);
    await l.close(100);
    assert.equal(l.fd, undefined);
    l = await createTcpListener({
      address: { host: '127.0.0.1', port, family: 4 },
      handler: echo,
      acceptGate: gate(),
    });
    assert.equal(l.acceptsInC, true);
    assert.equal(await ask(port, '127.0.130.100', 7), true);
    await l.close(100);
  });

  test(`${TCP_LISTEN_ENV}=libuv: libuv accepts, as before`, async () => {
    process.env[TCP_LISTEN_ENV] = 'libuv';
    try {
      const l = await createTcpListener({
        address: { host: '127.0.0.1', port: 0, family: 4 },
        handler: echo,
        acceptGate: gate(),
      });
      assert.equal(l.acceptsInC, false);
      assert.equal(await ask(l.port, '127.0.131.1', 9), true);
      await l.close(100);
    } finally {
      delete process.env[TCP_LISTEN_ENV];
    }
  });
});
