/**
 * A UDP client on a source address of its own (a loopback address, or one of a test network
 * namespace's prefix) that counts what comes back: answers in full, truncated ones, by RCODE,
 * and replies that are not answers to what it asked. The shield's end-to-end tests use it to
 * play resolvers and bots.
 * @module
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { assertLoopback, buildQuery } from './dns-client.js';

/** What a client sent and got back. */
export interface Tally {
  sent: number;
  full: number;
  truncated: number;
  rcodes: Record<number, number>;
  /** Replies to no query of ours, without QR, or without one question. */
  badReplies: number;
}

export interface TallyClient {
  /** Sends a query (its ID remembered) to `port` on the client's target. */
  send(q: Uint8Array, port: number): void;
  /** Sends an A query for `name` with the next ID. */
  sendName(name: string, port: number): void;
  readonly tally: Tally;
  /**
   * Resolves once the replies to everything sent before are in: a fence — a query for a name no
   * zone serves, sent after them from the same socket — is answered. One worker reads a socket's
   * datagrams in order and answers such a name in JS (REFUSED) after the C answers of its batch,
   * so its reply comes after theirs (a query dropped, by RRL or admission, has none to wait for).
   * Sent again each second (an admission may drop one too); its replies are not counted. Rejects
   * when none came within `withinMs` (default 10 s).
   */
  settled(port: number, withinMs?: number): Promise<void>;
  close(): void;
}

/** The name a fence asks for: no zone serves it. */
const FENCE_NAME = 'fence.invalid.';

/** A client bound to `address`, sending to `target` (default 127.0.0.1). */
export async function tallyClient(address: string, target = '127.0.0.1'): Promise<TallyClient> {
  assertLoopback(address);
  assertLoopback(target);
  const sock = dgram.createSocket(isIP(address) === 6 ? 'udp6' : 'udp4');
  await new Promise<void>((r) => sock.bind(0, address, () => r()));
  const tally: Tally = { sent: 0, full: 0, truncated: 0, rcodes: {}, badReplies: 0 };
  const ids = new Set<number>();
  const fences = new Set<number>();
  let fenced: (() => void) | undefined;
  sock.on('message', (m) => {
    const id = (m[0] << 8) | m[1];
    if (fences.has(id)) {
      fenced?.();
      return;
    }
    if (!ids.has(id) || (m[2] & 0x80) === 0 || ((m[4] << 8) | m[5]) !== 1) tally.badReplies++;
    if (m[2] & 0x02) tally.truncated++;
    else tally.full++;
    tally.rcodes[m[3] & 15] = (tally.rcodes[m[3] & 15] ?? 0) + 1;
  });
  let next = 0;
  const send = (q: Uint8Array, port: number): void => {
    ids.add((q[0] << 8) | q[1]);
    fences.delete((q[0] << 8) | q[1]);
    tally.sent++;
    sock.send(q, port, target);
  };
  const settled = async (port: number, withinMs = 10_000): Promise<void> => {
    const deadline = Date.now() + withinMs;
    let answered = false;
    try {
      while (!answered && Date.now() < deadline) {
        // An ID none of this client's queries used (when one is left): its reply cannot be
        // taken for theirs.
        let id = Math.floor(Math.random() * 0x10000);
        for (let n = 0; n < 0x10000 && ids.has(id); n++) id = (id + 1) & 0xffff;
        fences.add(id);
        sock.send(buildQuery({ id, name: FENCE_NAME, type: 1 }), port, target);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(1000, Math.max(0, deadline - Date.now())));
          fenced = () => {
            answered = true;
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } finally {
      fenced = undefined;
    }
    if (!answered)
      throw new Error(`no answer to a fence query within ${withinMs} ms: ${JSON.stringify(tally)}`);
  };
  return {
    send,
    sendName: (name, port) => send(buildQuery({ id: next++ & 0xffff, name, type: 1 }), port),
    tally,
    settled,
    close: () => sock.close(),
  };
}
