/**
 * Raw TCP clients for the transport's e2e tests (tcp-accept, tcp-c-answers): a connection from a
 * chosen loopback address, and how the server ends it.
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
