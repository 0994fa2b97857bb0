/**
 * Zone transfers over persistent TCP connections (RFC 7766 §6.2.1: several queries on one
 * connection, sent without waiting — pipelined; RFC 5936 §4.1: several AXFRs may share a
 * connection), for a secondary that transfers many zones from one primary (the edge's catalog
 * sync: one connection set-up and tear-down per zone cost both sides more than the transfers).
 *
 * `TransferConnections.exchange` has `tcpExchange`'s contract (client.ts): the query is sent,
 * every response message is handed to `onMessage` until it returns true; the bounds are the
 * same (whole time, time without data, octets). Each message goes to the exchange whose query
 * has its ID (RFC 7766 §7: answers may come out of order): NSD and Knot (and ours) answer a
 * connection's queries in turn, but BIND 9 runs the transfers of one connection at once and
 * interleaves their messages. No two exchanges outstanding on one connection have the same ID
 * (one that would is sent on another connection). An error answer (RCODE not 0) in one message
 * ends its exchange alone. Anything else wrong with an exchange (a check of `onMessage`
 * failing: TSIG, question, …; a bound; a message no exchange asked for) ends that exchange
 * *and* the connection (what follows on it cannot be trusted); the others on it that got
 * nothing yet are sent again on a new connection, once. A connection the primary closed
 * while idle (its idle timeout) is replaced at the next exchange. With every connection open
 * and holding `pipeline` exchanges, an exchange waits (its time bound running) until one ends.
 * @module
 */
import { Socket } from 'node:net';
import type { OutboundTarget } from '../outbound.js';
import { TransferError, type TransferLimits } from './client.js';

interface Exchange {
  query: Uint8Array;
  limits: TransferLimits;
  onMessage: (bytes: Uint8Array) => boolean;
  resolve: () => void;
  reject: (err: Error) => void;
  /** Octets of its answer so far. */
  bytes: number;
  /** Messages of its answer so far (none: it may be sent again elsewhere). */
  messages: number;
  /** Sent again already (after its connection failed before it got anything). */
  resent: boolean;
  timer: NodeJS.Timeout;
  /** The connection it was sent on last. */
  conn?: Connection;
}

export interface TransferConnectionsOptions {
  /** Connections at most (default 4). */
  connections?: number;
  /** Queries outstanding on one connection at most before another one is opened (default 8). */
  pipeline?: number;
}

/** The ID of a query (its first two octets). */
function idOf(query: Uint8Array): number {
  return (query[0] << 8) | query[1];
}

/** One TCP connection carrying exchanges, their answers told apart by ID. */
class Connection {
  readonly #sock = new Socket();
  readonly #queue: Exchange[] = [];
  #buf: Buffer = Buffer.alloc(0);
  #dead = false;
  #corked = false;
  readonly #onDead: (c: Connection, requeue: Exchange[]) => void;
  readonly #onDone: () => void;
  readonly #target: OutboundTarget;

  constructor(
    target: OutboundTarget,
    idleMs: number,
    onDead: (c: Connection, requeue: Exchange[]) => void,
    onDone: () => void,
  ) {
    this.#target = target;
    this.#onDead = onDead;
    this.#onDone = onDone;
    const sock = this.#sock;
    sock.setNoDelay(true);
    // Without data for `idleMs` while answers are awaited: the exchanges waiting fail.
    sock.setTimeout(idleMs, () => {
      if (this.#queue.length > 0)
        this.#fail(new TransferError(`no data from ${target.address}:${target.port} for ${idleMs} ms`));
    });
    sock.on('error', (err) =>
      this.#fail(new TransferError(`TCP to ${target.address}:${target.port}: ${err.message}`)),
    );
    sock.on('close', () => {
      if (!this.#dead)
        this.#fail(new TransferError(`${target.address}:${target.port} closed the connection mid-transfer`));
    });
    sock.on('data', (chunk: Buffer) => this.#data(chunk));
    sock.connect(target.port, target.address);
  }

  get pending(): number {
    return this.#queue.length;
  }

  /** Whether an exchange outstanding here has the ID `id`. */
  holds(id: number): boolean {
    return this.#queue.some((x) => idOf(x.query) === id);
  }

  get dead(): boolean {
    return this.#dead;
  }

  /** Sends the exchange's query now (pipelined behind those waiting). */
  send(x: Exchange): void {
    this.#queue.push(x);
    x.conn = this;
    const framed = Buffer.allocUnsafe(2 + x.query.length);
    framed.writeUInt16BE(x.query.length, 0);
    framed.set(x.query, 2);
    // The queries of one turn of the event loop go out in one write.
    if (!this.#corked) {
      this.#corked = true;
      this.#sock.cork();
      setImmediate(() => {
        this.#corked = false;
        this.#sock.uncork();
      });
    }
    this.#sock.write(framed);
  }

  /** Ends `x` (its bound passed): the connection goes too (the rest of its answer would follow). */
  abort(x: Exchange, err: Error): void {
    if (this.#queue.includes(x)) this.#fail(err, x);
  }

  close(): void {
    this.#fail(new TransferError('transfers closed'));
  }

  #data(chunk: Buffer): void {
    if (this.#dead) return;
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    // A message's length and ID (its first two octets) say whose it is.
    while (!this.#dead && this.#buf.length >= 4) {
      const id = this.#buf.readUInt16BE(2);
      const x = this.#queue.find((q) => idOf(q.query) === id);
      if (x === undefined) {
        // Nothing asked with that ID: a server speaking out of turn.
        this.#fail(
          new TransferError(`${this.#target.address}:${this.#target.port} sent an answer not asked for`),
        );
        return;
      }
      const len = this.#buf.readUInt16BE(0);
      if (this.#buf.length < 2 + len) {
        // The exchange's bound counts what is arriving for it too.
        if (x.bytes + this.#buf.length > x.limits.maxBytes) this.#tooBig(x);
        return;
      }
      const msg = new Uint8Array(this.#buf.subarray(2, 2 + len));
      this.#buf = this.#buf.subarray(2 + len);
      x.bytes += 2 + len;
      x.messages++;
      if (x.bytes > x.limits.maxBytes) {
        this.#tooBig(x);
        return;
      }
      let done: boolean;
      try {
        done = x.onMessage(msg);
      } catch (err) {
        // An error answer (RCODE not 0) as the whole of an exchange's answer (BIND's SERVFAIL
        // past its transfers-out quota; REFUSED): that exchange alone fails, the others go on.
        if (x.messages === 1 && msg.length >= 12 && (msg[3] & 0x0f) !== 0) {
          this.#queue.splice(this.#queue.indexOf(x), 1);
          clearTimeout(x.timer);
          x.reject(err as Error);
          this.#onDone();
          continue;
        }
        this.#fail(err as Error, x);
        return;
      }
      if (done) {
        this.#queue.splice(this.#queue.indexOf(x), 1);
        clearTimeout(x.timer);
        x.resolve();
        this.#onDone();
      }
    }
  }

  #tooBig(x: Exchange): void {
    this.#fail(new TransferError(`transfer bigger than ${x.limits.maxBytes} octets: cut off`), x);
  }

  /**
   * The connection ends: `culprit` fails with `err`, and every other exchange that got part of
   * its answer; the others that got nothing are handed back to be sent again.
   */
  #fail(err: Error, culprit?: Exchange): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#sock.destroy();
    const queue = this.#queue.splice(0);
    const requeue: Exchange[] = [];
    for (const x of queue) {
      if (x === culprit || x.messages > 0 || x.resent) {
        clearTimeout(x.timer);
        x.reject(err);
      } else requeue.push(x);
    }
    this.#onDead(this, requeue);
  }
}

/** Persistent, pipelined TCP connections to one primary for transfers and TCP queries. */
export class TransferConnections {
  readonly #target: OutboundTarget;
  readonly #max: number;
  readonly #pipeline: number;
  #conns: Connection[] = [];
  /** Exchanges waiting for room (every connection open and full), in order. */
  #waiting: Exchange[] = [];
  #closed = false;
  /** Connections opened so far (tests, stats). */
  opened = 0;

  constructor(target: OutboundTarget, opts: TransferConnectionsOptions = {}) {
    this.#target = target;
    this.#max = Math.max(1, opts.connections ?? 4);
    this.#pipeline = Math.max(1, opts.pipeline ?? 8);
  }

  /** Connections open now (for tests). */
  get open(): number {
    return this.#conns.filter((c) => !c.dead).length;
  }

  /** `tcpExchange` (client.ts) over one of the persistent connections. */
  exchange(
    target: OutboundTarget,
    query: Uint8Array,
    limits: TransferLimits,
    onMessage: (bytes: Uint8Array) => boolean,
  ): Promise<void> {
    if (target.address !== this.#target.address || target.port !== this.#target.port)
      return Promise.reject(new TransferError(`no connections to ${target.address}:${target.port}`));
    if (this.#closed) return Promise.reject(new TransferError('transfers closed'));
    return new Promise<void>((resolve, reject) => {
      const x: Exchange = {
        query,
        limits,
        onMessage,
        resolve,
        reject,
        bytes: 0,
        messages: 0,
        resent: false,
        timer: setTimeout(() => {
          const err = new TransferError(
            `transfer from ${target.address}:${target.port} took longer than ${limits.timeoutMs} ms`,
          );
          const w = this.#waiting.indexOf(x);
          if (w >= 0) {
            this.#waiting.splice(w, 1);
            reject(err);
          } else x.conn?.abort(x, err);
        }, limits.timeoutMs),
      };
      this.#send(x, limits.idleMs);
    });
  }

  #send(x: Exchange, idleMs: number): void {
    this.#conns = this.#conns.filter((c) => !c.dead);
    const id = idOf(x.query);
    let best: Connection | undefined;
    for (const c of this.#conns)
      if (!c.holds(id) && (best === undefined || c.pending < best.pending)) best = c;
    if (best === undefined || best.pending >= this.#pipeline) {
      if (this.#conns.length >= this.#max) {
        // Full: it waits for an exchange to end (sent then, or failed by its time bound).
        this.#waiting.push(x);
        return;
      }
      best = this.#open(idleMs);
    }
    best.send(x);
  }

  #open(idleMs: number): Connection {
    const conn = new Connection(
      this.#target,
      idleMs,
      (dead, requeue) => {
        this.#conns = this.#conns.filter((c) => c !== dead);
        for (const r of requeue) {
          if (this.#closed) {
            clearTimeout(r.timer);
            r.reject(new TransferError('transfers closed'));
            continue;
          }
          r.resent = true;
          this.#send(r, r.limits.idleMs);
        }
        this.#next();
      },
      () => this.#next(),
    );
    this.#conns.push(conn);
    this.opened++;
    return conn;
  }

  /** Room again (an exchange ended, a connection went): the exchanges waiting are sent. */
  #next(): void {
    const waiting = this.#waiting.splice(0);
    for (const w of waiting) if (!this.#closed) this.#send(w, w.limits.idleMs);
  }

  /** Closes every connection; exchanges under way fail. */
  close(): void {
    this.#closed = true;
    for (const c of this.#conns) c.close();
    this.#conns = [];
    for (const w of this.#waiting.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new TransferError('transfers closed'));
    }
  }
}
