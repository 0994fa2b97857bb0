/**
 * A silent primary on loopback: a UDP socket that records when each query arrived (its name
 * and type) and answers nothing — to a client, a server that does not answer. Tests use it to
 * see what a secondary actually sent, and when (a recorder, not a stand-in for our code).
 * @module
 */
import { createSocket } from 'node:dgram';
import { decodeMessage } from '../../src/wire/decode.js';
import { assertLoopback } from './dns-client.js';

/** One query received: `at` in ms (Date.now()), the first question's name and type. */
export interface RecordedQuery {
  at: number;
  name: string;
  type: number;
}

export interface QueryRecorder {
  /** Every query received so far, in order (datagrams that do not decode are left out). */
  readonly queries: RecordedQuery[];
  /** Closes the socket (again: the same promise). */
  close(): Promise<void>;
}

/** Binds UDP `host:port` (loopback) and records what arrives until closed. */
export async function startQueryRecorder(port: number, host = '127.0.0.1'): Promise<QueryRecorder> {
  assertLoopback(host);
  const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const queries: RecordedQuery[] = [];
  sock.on('message', (m) => {
    const at = Date.now();
    try {
      const q = decodeMessage(new Uint8Array(m)).questions[0];
      if (q) queries.push({ at, name: q.name.toString(), type: q.type });
    } catch {
      // not a DNS message: not recorded
    }
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, host, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  let closed: Promise<void> | undefined;
  return {
    queries,
    close: () => {
      closed ??= new Promise<void>((resolve) => sock.close(() => resolve()));
      return closed;
    },
  };
}
