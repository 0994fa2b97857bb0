/**
 * Raw TCP clients for the transport's e2e tests (tcp-accept, tcp-c-answers, tcp-per-client, the
 * shield's): a connection from a chosen loopback address, a message with its length prefix, the
 * framed answers read back, one query asked on a connection of its own, and how the server ends it.
 * @module
 */

import { connect, type Socket } from 'node:net';
import { assertLoopback } from './dns-client.js';

/** Connects to 127.0.0.1:`port` from `localAddress` (loopback only); resolves once connected. */
export function openFrom(port: number, localAddress: string): Promise<Socket> {
  assertLoopback(localAddress);
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, localAddress });
    s.once('error', reject);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

/** `msg` with its two-octet length prefix (RFC 1035 §4.2.2). */
export function framed(msg: Uint8Array): Buffer {
  const b = Buffer.alloc(2 + msg.length);
  b.writeUInt16BE(msg.length, 0);
  b.set(msg, 2);
  return b;
}

/**
 * The framed messages `s` receives (without their prefixes), read from now until `done(messages)`
 * holds, the connection closes or `ms` passed; resolves with those read (errors end it quietly).
 */
export function readFrames(s: Socket, done: (m: Buffer[]) => boolean, ms: number): Promise<Buffer[]> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const msgs: Buffer[] = [];
    const finish = () => {
      clearTimeout(timer);
      resolve(msgs);
    };
    const timer = setTimeout(finish, ms);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        msgs.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (done(msgs)) finish();
    });
    s.once('close', finish);
    s.on('error', () => {});
  });
}

/**
 * Opens a connection to 127.0.0.1:`port` from `from` and sends `query` on it: its first answer
 * (undefined when none came within `ms` or the server closed it unanswered) and the socket, left
 * open for the caller to close.
 */
export async function askFrom(
  port: number,
  from: string,
  query: Uint8Array,
  ms: number,
): Promise<{ s: Socket; answer: Buffer | undefined }> {
  const s = await openFrom(port, from);
  const got = readFrames(s, (m) => m.length >= 1, ms);
  s.write(framed(query));
  return { s, answer: (await got)[0] };
}

/** How `s` ends: 'reset' (ECONNRESET), 'fin' (the server's orderly close), within `ms`, else 'open'. */
export function ending(s: Socket, ms: number): Promise<{ how: 'reset' | 'fin' | 'open'; after: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ how: 'open', after: ms }), ms);
    s.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ how: err.code === 'ECONNRESET' ? 'reset' : 'fin', after: performance.now() - t0 });
    });
    s.on('end', () => {
      clearTimeout(timer);
      resolve({ how: 'fin', after: performance.now() - t0 });
    });
    s.resume();
  });
}
