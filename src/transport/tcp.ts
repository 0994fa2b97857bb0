/**
 * DNS over TCP (RFC 1035 §4.2.2, RFC 7766): every message is preceded by a two-octet length.
 * Queries pipelined on one connection are answered as each frame completes (RFC 7766 §6.2.1.1),
 * frames may arrive split across reads or several in one read, idle connections are closed
 * (RFC 7766 §6.2.3), and connection counts are capped per worker and per client address.
 * @module
 */
import { closeSync } from 'node:fs';
import { connect, createServer, type Server, Socket } from 'node:net';
import { TransportError } from './errors.js';
import type {
  QueryHandler,
  ResponseStream,
  StreamHandler,
  TransportContext,
  TransportErrorSink,
} from './handler.js';
import { formatListenAddress, type ListenAddress } from './listen-address.js';
import type { NativeTcpGate } from './native-udp.js';

/** TCP listener options. */
export interface TcpListenerOptions {
  address: ListenAddress;
  handler: QueryHandler;
  /** Sees each query first; may answer it with a stream of messages (zone transfers). */
  streams?: StreamHandler;
  /** Called for failures that are survived; never called per query on success. */
  onError?: TransportErrorSink;
  /** Close a connection after this long without any octet received or sent (ms). */
  idleTimeoutMs?: number;
  /** Most connections open at once in this process; more are closed at once. */
  maxConnections?: number;
  /** Most connections open at once from one client address; more are closed at once. */
  maxConnectionsPerClient?: number;
  /** Strangers' connections served a second while the gate calls them strangers (`setGate`):
   * the process's budget (default STRANGERS_PER_SECOND). */
  strangersPerSecond?: number;
  /** The same per client block (IPv4 /24, IPv6 /56; default STRANGERS_PER_BLOCK_PER_SECOND). */
  strangersPerBlockPerSecond?: number;
  /**
   * Accepts up to `max` connections waiting on the listening socket `fd`: [fd, address, port,
   * ...] (the native addon's `acceptTcp`, src/transport/native-udp.ts `nativeAcceptTcp`). With
   * it, each connection libuv hands over (one per turn of the event loop) is followed by up to
   * ACCEPT_BATCH more from the accept queue; without it, one a turn.
   */
  acceptBatch?: (fd: number, max: number) => (number | string)[];
  /**
   * The accept decision in C (the native addon with the native shield: native/tcp_gate.h). While
   * `active()`, the batch accept judges each connection in C — a blocked /24's closed at once, a
   * stranger under pressure beyond the strangers' budget held there without any JS object — and
   * hands over only those to serve; libuv's one a turn is judged by `judge` (the same budget). Not
   * active (the Node shield, or none loaded): `acceptBatch` and the gate (`setGate`) as before.
   */
  acceptGate?: TcpAcceptGate;
}

/** Verdicts of the C accept decision (native/tcp_gate.h). */
export const TCP_SERVE = 0;
export const TCP_STRANGER = 1;
export const TCP_HOLD = 2;
export const TCP_BLOCKED = 3;
/** (`judge` with a descriptor) C keeps a duplicate until its first frame: JS closes its own. */
export const TCP_KEPT = 4;
/** (`judge` with a descriptor, tcpc23) C serves a duplicate (native/tcp_serve.h): JS closes its own. */
export const TCP_IN_C = 5;

/**
 * The accept decision in C, as a listener uses it (src/server/shared/listeners.ts builds it): the
 * addon's gate (native-udp.ts `NativeTcpGate`: `accept` adds [blocked closed, held, strangers
 * served, taken, full batches, handed over, kept in C for their first frame] to its counts;
 * `watch` keeps the connections of sources nothing vouches for, in calm too, in C until their
 * first complete frame, reset at `calmMs` / `pressedMs`), with the address given as text.
 */
export interface TcpAcceptGate
  extends Pick<
    NativeTcpGate,
    'accept' | 'sweep' | 'close' | 'configure' | 'watch' | 'unwatch' | 'serve' | 'listen' | 'unlisten'
  > {
  /** Whether the decision is C's now (the shield of this process is the native one). */
  active(): boolean;
  /** (tidy25) NativeTcpGate.clientNote with the address as text: 1 counted in C's table (note
   * -1 at close), 0 refused at the per-client limit (C's and JS's together), 2 JS counts it. */
  clientNote?(address: string, delta: 1 | -1): number;
  /** The verdict (TCP_SERVE .. TCP_BLOCKED) for a connection JS accepted from `address`; with
   * its descriptor `fd` (not read yet) from `listeningFd`, TCP_KEPT when C keeps a duplicate of it
   * until its first frame (`watch`): the socket is then destroyed unread. */
  judge(address: string, fd?: number, listeningFd?: number, port?: number): number;
}

/** Counters of one TCP listener (read by tests and metrics). */
export interface TcpStats {
  /** Connections accepted (not refused) since the listener started. */
  accepted: number;
  /** Connections currently open. */
  open: number;
  /** Connections closed on arrival because a limit was reached. */
  refused: number;
  /** Connections closed for a frame shorter than a DNS header. */
  malformed: number;
  /** Connections closed by the idle timeout. */
  idleClosed: number;
  /** Connections that had sent no complete query, closed to make room at the process limit. */
  evicted: number;
  /** Connections between queries (answered, nothing pending), closed to make room at the limit. */
  evictedIdle: number;
  /** Connections closed for sending no complete query within PRESSURE_FIRST_QUERY_MS while
   * half the process limit or more was in use. */
  slowClosed: number;
  /** Strangers' connections (`setGate` said false: the shield under overload, nothing vouches
   * for the address) beyond the strangers' budget: held without being read, then closed
   * (never answered); also counted in `refused`. */
  gated: number;
  /** Strangers' connections served within the strangers' budget. */
  strangersServed: number;
  /** Connections taken from the accept queue by the batch accept (`acceptBatch`), beyond libuv's
   * one a turn (counted in `accepted` or `refused` too). */
  batchAccepted: number;
  /** Turns of the event loop whose batch accept took ACCEPT_BATCH connections (the queue may
   * have held more: the listener is behind its accept queue). */
  acceptFullBatches: number;
  /** Connections closed on arrival because their /24 is in the shield's blocked set (the C
   * accept decision; also counted in `refused`). */
  blockedClosed: number;
  /** Strangers' connections held in C without any JS object (the C accept decision; also
   * counted in `gated` and `refused`). */
  heldInC: number;
  /** Connections from sources nothing vouches for kept in C until their first complete frame
   * (`acceptGate.watch`; not counted in `accepted` until handed over). */
  firstFrameKept: number;
  /** Of those, handed to this listener with their first frame in (then counted in `accepted`). */
  firstFrameHanded: number;
  /** (tcpc23) Connections taken to be served in C, their plain queries answered there
   * (`acceptGate.serve`; not counted in `accepted` unless handed over later). */
  servedInC: number;
  /** Of the connections C served, handed to this listener to go on (a query C does not answer, a
   * long frame, a client slow to read its answers), with what C had read and not answered. */
  handedFromC: number;
}

/** A listening TCP server. */
export interface TcpListener {
  readonly address: ListenAddress;
  /** The port actually bound (differs from `address.port` when that was 0). */
  readonly port: number;
  readonly stats: Readonly<TcpStats>;
  /** The listening socket's descriptor (for the shield's kernel prefilter), when Node exposes it;
   * (tcpl24) C's duplicate of it when C accepts (`acceptsInC`). Undefined once closed. */
  readonly fd?: number;
  /** (tcpl24) Whether every accept of this listener is made in C (`acceptGate.listen`), not by
   * libuv: no net.Socket for a connection C closes, holds, keeps or serves. */
  readonly acceptsInC: boolean;
  /**
   * A gate asked first for every connection accepted, with the client's address: false calls it
   * a stranger under pressure (the shield's TCP gate: overload, and nothing vouches for the
   * address — src/server/shared/shield.ts `shieldTcpStanding`). Strangers are served within a
   * budget a second (the process's and their /24's); beyond it a stranger's connection is held
   * without being read (no CPU: a slow-connection flood gets no reason to reconnect at once),
   * and closed after PRESSURE_FIRST_QUERY_MS or when a newcomer needs its slot. Undefined
   * removes it.
   */
  setGate(gate: ((address: string) => boolean) | undefined): void;
  /** Stops accepting, lets open connections finish writing, then closes them. */
  close(graceMs?: number): Promise<void>;
}

/** RFC 7766 §6.2.3 suggests idle timeouts of the order of seconds: 10 s. */
export const DEFAULT_TCP_IDLE_TIMEOUT_MS = 10_000;
/** Default cap on open connections per worker process. */
export const DEFAULT_TCP_MAX_CONNECTIONS = 1000;
/** Default cap on open connections from one client address, per worker process. */
export const DEFAULT_TCP_MAX_PER_CLIENT = 32;
/**
 * Strangers' connections served a second under pressure (the gate), per process and per client
 * block: a new resolver that nothing vouches for yet still finds TCP, while a connection flood
 * from unknown addresses (the bots' before their /24s are blocked, the `nat` /24s' always) costs
 * at most this many reads and answers a second; the rest cost an accept and a close.
 */
export const STRANGERS_PER_SECOND = 64;
export const STRANGERS_PER_BLOCK_PER_SECOND = 8;
/** Client blocks the strangers' per-block budget tracks in one second (more: over budget). */
const STRANGER_BLOCKS = 4096;

/**
 * The strangers' budget: `perSecond` connections a second for the process (a token bucket,
 * one second deep) and `perBlock` a second per client block (IPv4 /24, IPv6 /56; counted in
 * whole seconds, at most STRANGER_BLOCKS blocks a second).
 */
export class StrangerBudget {
  readonly #perSecond: number;
  readonly #perBlock: number;
  #tokens: number;
  #at = -1;
  #second = -1;
  readonly #blocks = new Map<string, number>();

  constructor(perSecond = STRANGERS_PER_SECOND, perBlock = STRANGERS_PER_BLOCK_PER_SECOND) {
    if (!(perSecond >= 0 && perBlock >= 0)) throw new RangeError('strangers a second must be >= 0');
    this.#perSecond = perSecond;
    this.#perBlock = perBlock;
    this.#tokens = perSecond;
  }

  /** Takes one connection of `address` at `nowMs`; false when over the budget. */
  take(address: string, nowMs: number): boolean {
    if (this.#at >= 0)
      this.#tokens = Math.min(this.#perSecond, this.#tokens + ((nowMs - this.#at) * this.#perSecond) / 1000);
    this.#at = nowMs;
    const second = Math.floor(nowMs / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.#blocks.clear();
    }
    if (this.#tokens < 1) return false;
    const block = clientBlock(address);
    const used = this.#blocks.get(block) ?? 0;
    if (used >= this.#perBlock || (used === 0 && this.#blocks.size >= STRANGER_BLOCKS)) return false;
    this.#blocks.set(block, used + 1);
    this.#tokens -= 1;
    return true;
  }
}

/** The client block of an address as text: IPv4 (or `::ffff:` IPv4) /24, IPv6 /56 (its first
 * three groups and the high octet of the fourth, as written; `::` forms count as written). */
export function clientBlock(address: string): string {
  const v4 = address.lastIndexOf('.');
  if (v4 > 0) return address.slice(address.lastIndexOf(':') + 1, v4);
  const g = address.toLowerCase().split(':');
  if (g.length < 4 || address.includes('::')) return address;
  return `${g[0]}:${g[1]}:${g[2]}:${g[3].padStart(4, '0').slice(0, 2)}`;
}

/**
 * Connections the batch accept takes from the accept queue per connection libuv hands over (one
 * per turn of the event loop): a worker whose turns are slow (a UDP flood at a CPU quota: ~20–50
 * turns a second) otherwise drains at that rate, and a resolver's TCP retry waits behind the
 * hundreds of connections a connection flood queued (drill run 16's wave 1: the accept queue
 * full at 512 for the whole wave). Bounded so one turn's accepts do not hold the loop: held
 * strangers cost an accept and a pause, served ones a read and an answer.
 */
export const ACCEPT_BATCH = 64;
/**
 * Connections the batch accept takes per turn when C judges them (`acceptGate`): those closed or
 * held in C cost microseconds (no JS object), so the queue is drained deeper; at most
 * ACCEPT_BATCH of them are handed to JS.
 */
export const ACCEPT_BATCH_C = 256;
/**
 * (tcpc23) Connections JS serves now in this thread, all listeners together: C reads it when it
 * takes a connection to serve (`acceptGate.serve`), so C's and JS's together stay within
 * `maxConnections` (beyond it C hands the newcomer to JS, whose limits and evictions apply).
 */
// (its own ArrayBuffer: off the V8 heap, so the address C keeps never moves)
const jsOpen = new Float64Array(new ArrayBuffer(8));
/** How often held connections in C are swept when no connection arrives (ms). */
const SWEEP_MS = 200;
/** onConnection's `judge`: ask the C decision; C judged it already. */
const JUDGE_IN_C = 1;
const JUDGED = 2;

/** A DNS header is 12 octets (RFC 1035 §4.1.1); a shorter frame cannot be a message. */
const MIN_FRAME = 12;
/** Messages of a response stream written per turn of the event loop (each up to 64 KiB). */
const STREAM_MESSAGES_PER_TURN = 4;
/**
 * Under pressure (half the process limit in use or more) a new connection must complete its
 * first query within this long, not the idle timeout: a flood of slow connections (one octet
 * of the length, then nothing) then turns over in a second instead of holding its slots for
 * the idle timeout, and a resolver's TCP retry finds room. A real client sends its query in
 * the same round trip as the handshake's end.
 */
export const PRESSURE_FIRST_QUERY_MS = 1000;

/**
 * Warms this module's TCP path (and Node's net.Socket under it) in V8 before a flood does it
 * under a CPU quota: `connections` loopback connections (8 at a time) to a private listener on
 * 127.0.0.1 that answers with a stub, each sending two queries — the first frame split after its
 * length prefix, the second in the same write as the first's rest — then closing. The first TCP
 * connections of a cold process cost the listener ~3× what later ones do (bench/tcp-gate.ts,
 * first round; run 11's profile of the drill's first wave: V8 compiling the TCP path under the
 * quota). Touches no real listener's counters. Bounded: gives up after `timeoutMs`. Resolves to
 * the number of connections answered.
 */
export async function warmTcpPath(connections = 300, timeoutMs = 3000): Promise<number> {
  const stub: QueryHandler = (q) => {
    const r = Uint8Array.from(q);
    r[2] |= 0x80;
    return r;
  };
  let listener: TcpListener;
  try {
    listener = await createTcpListener({ address: { host: '127.0.0.1', port: 0, family: 4 }, handler: stub });
  } catch {
    return 0;
  }
  const q = Uint8Array.of(
    0x57,
    0x41,
    0x01,
    0x00,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    4,
    0x77,
    0x61,
    0x72,
    0x6d,
    0,
    0,
    1,
    0,
    1,
  );
  const head = Uint8Array.of(0, q.length);
  const rest = Buffer.concat([q, head, q]);
  const deadline = performance.now() + timeoutMs;
  let left = connections;
  let answered = 0;
  const one = () =>
    new Promise<void>((done) => {
      const s = connect({ host: '127.0.0.1', port: listener.port });
      let got = 0;
      const timer = setTimeout(() => s.destroy(), 1000);
      s.on('error', () => {});
      s.on('connect', () => {
        s.write(head);
        setImmediate(() => s.write(rest));
      });
      s.on('data', (d) => {
        got += d.length;
        if (got >= 2 * (q.length + 2)) {
          answered++;
          s.end();
        }
      });
      s.once('close', () => {
        clearTimeout(timer);
        done();
      });
    });
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (left-- > 0 && performance.now() < deadline) await one();
    }),
  );
  await listener.close(100);
  return answered;
}

/**
 * Starts a TCP listener answering each framed query with `handler`.
 * @throws TransportError TRANSPORT_ERR_BIND
 */
export function createTcpListener(opts: TcpListenerOptions): Promise<TcpListener> {
  const { address, handler, streams } = opts;
  const onError = opts.onError ?? (() => {});
  const idleTimeoutMs = opts.idleTimeoutMs ?? DEFAULT_TCP_IDLE_TIMEOUT_MS;
  const maxConnections = opts.maxConnections ?? DEFAULT_TCP_MAX_CONNECTIONS;
  const maxPerClient = opts.maxConnectionsPerClient ?? DEFAULT_TCP_MAX_PER_CLIENT;
  const strangers = new StrangerBudget(opts.strangersPerSecond, opts.strangersPerBlockPerSecond);
  const label = `TCP ${formatListenAddress(address)}`;
  const stats: TcpStats = {
    accepted: 0,
    open: 0,
    refused: 0,
    malformed: 0,
    idleClosed: 0,
    evicted: 0,
    evictedIdle: 0,
    slowClosed: 0,
    gated: 0,
    strangersServed: 0,
    batchAccepted: 0,
    acceptFullBatches: 0,
    blockedClosed: 0,
    heldInC: 0,
    firstFrameKept: 0,
    firstFrameHanded: 0,
    servedInC: 0,
    handedFromC: 0,
  };
  const acceptBatch = opts.acceptBatch;
  const acceptGate = opts.acceptGate;
  // C judges with the same strangers' budget as the JS one below: the listener's settings.
  acceptGate?.configure(
    opts.strangersPerSecond ?? STRANGERS_PER_SECOND,
    opts.strangersPerBlockPerSecond ?? STRANGERS_PER_BLOCK_PER_SECOND,
  );
  const counts = new Float64Array(8);
  // (tcpl24) What C's own accepts of this listener decided (acceptTcp's counts, added to in C: its
  // own ArrayBuffer, off the V8 heap) — read into the stats below.
  const fromC = new Float64Array(new ArrayBuffer(8 * 8));
  // The stats C's accepts add to read C's counts too; JS's own increments go on as before.
  const cStats: [keyof TcpStats, (c: Float64Array) => number][] = [
    ['blockedClosed', (c) => c[0]],
    ['heldInC', (c) => c[1]],
    ['gated', (c) => c[1]],
    ['refused', (c) => c[0] + c[1]],
    ['strangersServed', (c) => c[2]],
    ['batchAccepted', (c) => c[3]],
    ['acceptFullBatches', (c) => c[4]],
    ['firstFrameKept', (c) => c[6]],
    ['servedInC', (c) => c[7]],
  ];
  for (const [key, ofC] of cStats) {
    let own = stats[key];
    Object.defineProperty(stats, key, {
      enumerable: true,
      get: () => own + ofC(fromC),
      set: (v: number) => {
        own = v - ofC(fromC);
      },
    });
  }
  // (tcpl24) C accepts from `serverFd` (its duplicate of Node's listening socket) instead of libuv.
  let cListening = false;
  let cSweeper: NodeJS.Timeout | undefined;
  // Held connections in C are closed at their deadline by the next batch accept, or by this
  // timer when no connection comes (armed while any is held).
  let sweeper: NodeJS.Timeout | undefined;
  const sweep = () => {
    sweeper = undefined;
    if (acceptGate !== undefined && acceptGate.sweep() > 0) armSweeper();
  };
  const armSweeper = () => {
    if (sweeper !== undefined || serverFd < 0) return;
    sweeper = setTimeout(sweep, SWEEP_MS);
    sweeper.unref();
  };
  let serverFd = -1;
  let gate: ((address: string) => boolean) | undefined;
  const perClient = new Map<string, number>();
  const sockets = new Set<Socket>();
  // Connections that have not sent a complete query yet, oldest first (a Map keeps insertion
  // order), with when they were accepted: at the process limit the oldest of them makes room for
  // a newcomer, so a flood of connections that never ask anything cannot lock real clients out;
  // under pressure those older than PRESSURE_FIRST_QUERY_MS are closed as others arrive.
  const silent = new Map<Socket, number>();
  // Connections between queries (every frame answered, none begun), least recently active
  // first: at the limit with no silent connection left, the oldest of them makes room.
  const idle = new Set<Socket>();
  const evictedSockets = new Set<Socket>();
  const evict = (victim: Socket) => {
    silent.delete(victim);
    idle.delete(victim);
    // 'close' comes later and does the accounting; count the slot as free now.
    victim.destroy();
    stats.open--;
    jsOpen[0]--;
    evictedSockets.add(victim);
  };

  // allowHalfOpen: a client may send its queries and shut down its side; we still answer
  // (RFC 7766 §6.2.4 lets a client close after sending), then close ours.
  // pauseOnConnect: libuv's connection is not read (nor put in libuv's epoll set) before the C
  // decision, which may keep a duplicate of it until its first frame; served ones are resumed.
  const server: Server = createServer(
    { allowHalfOpen: true, noDelay: true, pauseOnConnect: true },
    (socket) => {
      const inC = acceptGate?.active() === true;
      onConnection(socket, socket.remoteAddress ?? '', socket.remotePort ?? 0, inC ? JUDGE_IN_C : undefined);
      // libuv hands over one connection per turn: drain the rest of the accept queue, bounded.
      if ((acceptBatch === undefined && !inC) || serverFd < 0) return;
      let taken: (number | string)[];
      try {
        if (inC && acceptGate !== undefined) {
          counts.fill(0);
          taken = acceptGate.accept(serverFd, ACCEPT_BATCH_C, counts, ACCEPT_BATCH);
          stats.blockedClosed += counts[0];
          stats.heldInC += counts[1];
          stats.gated += counts[1];
          stats.refused += counts[0] + counts[1];
          stats.strangersServed += counts[2];
          stats.batchAccepted += counts[3] - counts[5];
          stats.acceptFullBatches += counts[4];
          stats.firstFrameKept += counts[6];
          stats.servedInC += counts[7];
          if (counts[1] > 0 || counts[6] > 0 || counts[7] > 0) armSweeper();
        } else if (acceptBatch !== undefined) {
          taken = acceptBatch(serverFd, ACCEPT_BATCH);
          if (taken.length >= ACCEPT_BATCH * 3) stats.acceptFullBatches++;
        } else return;
      } catch (err) {
        onError(`${label}: batch accept failed`, err);
        return;
      }
      for (let i = 0; i + 2 < taken.length; i += 3) {
        const s = adopt(taken[i] as number);
        if (s === undefined) continue;
        stats.batchAccepted++;
        // Judged in C already (the strangers among them counted there).
        onConnection(s, taken[i + 1] as string, taken[i + 2] as number, inC ? JUDGED : undefined);
      }
    },
  );

  /** A net.Socket for a descriptor accepted in C; undefined (closed) when Node cannot take it. */
  function adopt(fd: number): Socket | undefined {
    let s: Socket;
    try {
      s = new Socket({ fd, allowHalfOpen: true, readable: true, writable: true });
    } catch (err) {
      closeSync(fd);
      onError(`${label}: accepted descriptor not usable`, err);
      return undefined;
    }
    s.setNoDelay(true);
    return s;
  }

  /**
   * A connection kept in C until its first frame, handed over with it in: read at once. Or
   * (tcpc23) one C served until a frame it does not answer: `input` the octets C read and did not
   * answer (from that frame's length on), `output` the answers C had not written yet.
   */
  function firstFrameIn(
    fd: number,
    client: string,
    port: number,
    input?: Buffer,
    output?: Buffer,
    accepted?: number,
  ): void {
    if (serverFd < 0) {
      closeSync(fd);
      return;
    }
    const s = adopt(fd);
    if (s === undefined) return;
    if (accepted !== undefined) {
      // (tcpl24) Accepted in C from the listener: judged there (2: to serve), or not (3: the
      // native shield is not on; the gate and the strangers' budget here judge it).
      onConnection(s, client, port, accepted === 2 ? JUDGED : undefined);
      return;
    }
    if (input !== undefined || output !== undefined) stats.handedFromC++;
    else stats.firstFrameHanded++;
    onConnection(s, client, port, JUDGED, input, output);
  }

  /**
   * Admits (or refuses, or holds) one accepted connection and serves it. `judge`: JUDGE_IN_C asks
   * the C decision (libuv's connection while it is active), JUDGED means C judged it already (to
   * serve); undefined asks the gate and the JS strangers' budget.
   */
  function onConnection(
    socket: Socket,
    client: string,
    port: number,
    judge?: number,
    input?: Buffer,
    output?: Buffer,
  ): void {
    // A stranger under pressure beyond the strangers' budget: held, never read (below).
    let hold = false;
    if (judge === JUDGE_IN_C && acceptGate !== undefined) {
      const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
      const v =
        typeof fd === 'number' && fd >= 0 && serverFd >= 0
          ? acceptGate.judge(client, fd, serverFd, port)
          : acceptGate.judge(client);
      if (v === TCP_KEPT || v === TCP_IN_C) {
        // Kept in C until its first frame, or served there (a duplicate of the descriptor): this
        // socket was never read (pauseOnConnect) nor watched by libuv, and closing it leaves the
        // connection open.
        if (v === TCP_KEPT) stats.firstFrameKept++;
        else stats.servedInC++;
        armSweeper();
        socket.destroy();
        return;
      }
      if (v === TCP_BLOCKED) {
        stats.refused++;
        stats.blockedClosed++;
        socket.on('error', () => {});
        socket.resetAndDestroy();
        return;
      }
      if (v === TCP_STRANGER) stats.strangersServed++;
      else if (v === TCP_HOLD) hold = true;
    } else if (judge === undefined && gate !== undefined && !gate(client)) {
      if (strangers.take(client, performance.now())) stats.strangersServed++;
      else hold = true;
    }
    // (tidy25) One per-client count with C's connections: noted in C's table (1), refused there
    // (0: the client has maxPerClient open, C's and JS's together), or counted here (2: no table,
    // or beyond its bound for JS's clients; the libuv path without the addon).
    const noted = acceptGate?.clientNote?.(client, 1) ?? 2;
    const count = noted === 1 ? 0 : noted === 0 ? maxPerClient : (perClient.get(client) ?? 0);
    if (stats.open * 2 >= maxConnections) {
      const now = performance.now();
      for (const [old, since] of silent) {
        if (now - since < PRESSURE_FIRST_QUERY_MS) break;
        stats.slowClosed++;
        evict(old);
      }
    }
    if (count < maxPerClient && stats.open >= maxConnections) {
      if (silent.size > 0) {
        stats.evicted++;
        evict(silent.keys().next().value as Socket);
      } else if (idle.size > 0) {
        stats.evictedIdle++;
        evict(idle.values().next().value as Socket);
      }
    }
    if (stats.open >= maxConnections || count >= maxPerClient) {
      if (noted === 1) acceptGate?.clientNote?.(client, -1);
      stats.refused++;
      if (hold) stats.gated++;
      socket.destroy();
      return;
    }
    if (noted !== 1) perClient.set(client, count + 1);
    stats.accepted++;
    stats.open++;
    jsOpen[0]++;
    sockets.add(socket);
    silent.set(socket, performance.now());
    if (hold) {
      // Not read, not answered: silent until closed (after PRESSURE_FIRST_QUERY_MS, or sooner
      // to make room at the limit). Closing at once would cost as much CPU and make a slow-
      // connection flood reconnect at once; a held connection costs a slot and no CPU.
      stats.gated++;
      stats.refused++;
      socket.pause();
      socket.on('error', () => {});
      socket.setTimeout(PRESSURE_FIRST_QUERY_MS, () => socket.destroy());
    }
    socket.once('close', () => {
      sockets.delete(socket);
      silent.delete(socket);
      idle.delete(socket);
      // An evicted socket's slot was freed when it was evicted.
      if (!evictedSockets.delete(socket)) {
        stats.open--;
        jsOpen[0]--;
      }
      if (noted === 1) {
        acceptGate?.clientNote?.(client, -1);
        return;
      }
      const n = (perClient.get(client) ?? 1) - 1;
      if (n <= 0) perClient.delete(client);
      else perClient.set(client, n);
    });
    if (!hold && serveConnection(socket, client, port, input, output)) socket.resume();
  }

  /** Serves `socket`; (tcpc23) first writes `output` (answers C had not written) and answers the
   * frames of `input` (octets C read and did not answer), as if just read. False when the socket
   * must stay paused (back-pressure, or closing). */
  function serveConnection(
    socket: Socket,
    client: string,
    port: number,
    input?: Buffer,
    output?: Buffer,
  ): boolean {
    const ctx: TransportContext = { transport: 'tcp', address: client, port };
    // A deferred answer asked for by the handler now being called (ctx.defer): becomes the
    // connection's stream when the handler returns.
    let deferred: ResponseStream | null = null;
    ctx.defer = () => {
      let response: Uint8Array | null | undefined;
      let taken = false;
      const d: ResponseStream = {
        next: () => {
          if (response === undefined) return undefined;
          if (taken) return null;
          taken = true;
          return response;
        },
        close: () => {},
      };
      deferred = d;
      return (r) => {
        if (response !== undefined) return;
        response = r;
        // Still this connection's stream: write it on the next turn.
        if (stream === d) setImmediate(pump);
      };
    };
    // Frame assembly state: the first octet of a split length prefix, and a frame being filled.
    let lengthHigh = -1;
    let frame: Buffer | null = null;
    let filled = 0;
    let closing = false;
    // Back-pressure: set while our writes are blocked on a client that does not read; the
    // unparsed rest of the read that blocked them waits in `pending` until 'drain'.
    let blocked = false;
    let pending: Buffer | null = null;
    /** The client half-closed: close once `pending` is answered. */
    let peerEnded = false;
    // A frame once started must be complete within the idle timeout. The idle timer restarts
    // on every octet, so without this deadline a client trickling one octet every few seconds
    // (slowloris) would hold its connection, and a slot of the connection limits, forever.
    let frameTimer: NodeJS.Timeout | null = null;
    let answeredCount = 0;
    const clearFrameTimer = () => {
      if (frameTimer !== null) clearTimeout(frameTimer);
      frameTimer = null;
    };
    socket.once('close', clearFrameTimer);
    // A multi-message response being written (src/xfr/): while it runs no other frame is
    // answered (RFC 7766 §7 lets responses to later queries wait), and it is written a few
    // messages per turn of the event loop so one big transfer never holds the loop.
    let stream: ResponseStream | null = null;
    const endStream = () => {
      const s = stream;
      stream = null;
      s?.close();
    };
    socket.once('close', endStream);

    socket.setTimeout(idleTimeoutMs);
    socket.on('timeout', () => {
      // RFC 7766 §6.2.3: the server closes idle connections. A client that ignores our FIN
      // is cut off at the next expiry.
      if (closing) {
        socket.destroy();
        return;
      }
      stats.idleClosed++;
      closing = true;
      socket.end();
    });
    // Resets and the like: 'close' follows and does the accounting.
    socket.on('error', () => {});
    const finish = () => {
      frame = null;
      closing = true;
      socket.end();
    };
    socket.on('drain', () => {
      if (stream !== null) {
        pump();
        return;
      }
      blocked = false;
      if (closing) return;
      const rest = pending;
      pending = null;
      if (rest !== null) consume(rest);
      if (blocked || closing) return;
      if (peerEnded) finish();
      else socket.resume();
    });
    socket.on('end', () => {
      // The client half-closed: finish writing and close once every complete frame it sent
      // is answered ('end' comes even while paused, so frames held back by back-pressure are
      // answered first, on 'drain'); an incomplete trailing frame is dropped.
      peerEnded = true;
      if (pending === null && stream === null) finish();
    });

    /** Answers one complete frame; false when the connection must stop. */
    const answer = (query: Uint8Array): boolean => {
      if (answeredCount++ === 0) silent.delete(socket);
      let reply: Uint8Array | null;
      try {
        const r = streams?.(query, ctx);
        if (r !== undefined && r !== null && !(r instanceof Uint8Array)) {
          stream = r;
          blocked = true;
          socket.pause();
          setImmediate(pump);
          return true;
        }
        deferred = null;
        reply = r === undefined ? handler(query, ctx) : r;
        if (deferred !== null) {
          // Answered later: nothing else on this connection until then.
          stream = deferred;
          deferred = null;
          blocked = true;
          socket.pause();
          setImmediate(pump);
          return true;
        }
      } catch (err) {
        // A client waiting on an answer that will never come is better told by a close;
        // answers already written still go out first.
        onError(`${label}: query handler failed`, err);
        closing = true;
        frame = null;
        socket.end();
        return false;
      }
      if (reply === null) return true;
      if (reply.length > 0xffff) {
        onError(`${label}: response of ${reply.length} octets does not fit a TCP frame`, undefined);
        return true;
      }
      const out = Buffer.allocUnsafe(reply.length + 2);
      out.writeUInt16BE(reply.length, 0);
      out.set(reply, 2);
      // Back-pressure: a client that does not read its answers stops being read from, and
      // the frames already read wait too (one read can hold thousands of small queries,
      // each answered with up to 64 KiB: answering them all would queue gigabytes).
      if (!socket.write(out)) {
        blocked = true;
        socket.pause();
      }
      return true;
    };

    /** Writes the stream's next messages: until the socket pushes back or a turn's share is sent. */
    function pump(): void {
      if (stream === null) return;
      if (closing || socket.destroyed) {
        endStream();
        return;
      }
      let sent = 0;
      let ok = true;
      // A deferred answer not there yet: its arrival wakes pump again.
      let waiting = false;
      socket.cork();
      try {
        while (ok && sent < STREAM_MESSAGES_PER_TURN) {
          let msg: Uint8Array | null | undefined;
          try {
            msg = stream.next();
          } catch (err) {
            onError(`${label}: response stream failed`, err);
            endStream();
            closing = true;
            socket.end();
            return;
          }
          if (msg === undefined) {
            waiting = true;
            break;
          }
          if (msg === null) {
            endStream();
            break;
          }
          sent++;
          const out = Buffer.allocUnsafe(msg.length + 2);
          out.writeUInt16BE(msg.length, 0);
          out.set(msg, 2);
          ok = socket.write(out);
        }
      } finally {
        socket.uncork();
      }
      if (stream !== null) {
        // Pushed back: 'drain' resumes; else the next turn does, after other work had its turn.
        if (ok && !waiting) setImmediate(pump);
        return;
      }
      if (!ok) {
        // The last messages are queued: 'drain' goes on with what the client sent meanwhile.
        return;
      }
      blocked = false;
      const rest = pending;
      pending = null;
      if (rest !== null) consume(rest);
      if (blocked || closing) return;
      if (peerEnded) finish();
      else {
        idle.add(socket);
        socket.resume();
      }
    }

    const reject = () => {
      stats.malformed++;
      closing = true;
      frame = null;
      socket.end();
    };

    socket.on('data', (chunk: Buffer) => {
      if (closing) return;
      // A paused stream emits no data, but should some slip through, it waits its turn.
      if (blocked || pending !== null) {
        pending = pending === null ? chunk : Buffer.concat([pending, chunk]);
        return;
      }
      consume(chunk);
    });

    /** Parses and answers the frames of `chunk` until it ends or our writes are blocked. */
    function consume(chunk: Buffer): void {
      idle.delete(socket);
      const n = chunk.length;
      let off = 0;
      const answeredBefore = answeredCount;
      // Responses to the frames of one read go out in one write where possible.
      socket.cork();
      try {
        while (off < n) {
          if (frame !== null) {
            const take = Math.min(frame.length - filled, n - off);
            chunk.copy(frame, filled, off, off + take);
            filled += take;
            off += take;
            if (filled < frame.length) break;
            const done = frame;
            frame = null;
            if (!answer(done)) return;
            if (blocked) {
              if (off < n) pending = chunk.subarray(off);
              return;
            }
            continue;
          }
          let len: number;
          if (lengthHigh >= 0) {
            len = (lengthHigh << 8) | chunk[off];
            off += 1;
            lengthHigh = -1;
          } else if (n - off >= 2) {
            len = chunk.readUInt16BE(off);
            off += 2;
          } else {
            lengthHigh = chunk[off];
            break;
          }
          if (len < MIN_FRAME) {
            reject();
            return;
          }
          if (n - off >= len) {
            const q = chunk.subarray(off, off + len);
            off += len;
            if (!answer(q)) return;
            if (blocked) {
              if (off < n) pending = chunk.subarray(off);
              return;
            }
          } else {
            // Copy into a buffer of the frame's size so a frame trickling in octet by octet
            // costs linear, not quadratic, copying.
            frame = Buffer.allocUnsafe(len);
            filled = 0;
          }
        }
      } finally {
        socket.uncork();
        // (Re)arm the deadline for a frame begun in this read; a finished frame disarms it.
        const partial = frame !== null || lengthHigh >= 0;
        if (!partial || answeredCount !== answeredBefore) clearFrameTimer();
        // Between queries: a candidate to make room at the limit (least recently active first).
        if (!partial && answeredCount > 0 && !blocked && !closing && pending === null) idle.add(socket);
        if (partial && frameTimer === null && !closing) {
          frameTimer = setTimeout(() => {
            frameTimer = null;
            if (closing) return;
            stats.idleClosed++;
            closing = true;
            frame = null;
            socket.end();
          }, idleTimeoutMs);
        }
      }
    }

    // Handed over by C (tcpc23): its unwritten answers first, then the frames it read. A
    // connection C answered is no silent one (not closed to make room as one that never asked).
    if (output !== undefined || input !== undefined) {
      silent.delete(socket);
      answeredCount = 1;
    }
    if (output !== undefined && output.length > 0 && !socket.write(output)) {
      blocked = true;
      if (input !== undefined && input.length > 0) pending = input;
      return false;
    }
    if (input !== undefined && input.length > 0) consume(input);
    return !blocked && !closing;
  }

  /**
   * (tcpl24) Moves the listener's accepts into C (`acceptGate.listen`): C accepts from its own
   * duplicate of the listening socket, watched by its epoll set, and libuv's watch of it is
   * closed — no net.Socket for a connection C closes, holds, keeps or serves (tcpc23's profile:
   * ~12% of a worker's CPU in a wave went to the one libuv accepted a turn). Node's handle is
   * closed at the libuv level only (the prototype's close, not node:cluster's wrapper): under
   * node:cluster (SCHED_NONE) the primary keeps its copy of the socket, so a restarted worker's
   * listen gets it again; `server.close()` later tells the primary as before. Closed in a
   * microtask: node:cluster's own 'listening' handler reads the address first. No connection is
   * accepted by libuv in between (no I/O before microtasks); should one be, the 'connection'
   * callback above serves it as before.
   */
  function listenInC(): void {
    if (acceptGate?.listen === undefined) return;
    // Unjudged (the native shield not on): up to ACCEPT_BATCH a wake-up, the rest on the next —
    // libuv's accept took every connection queued at a wake-up (uv__server_io loops to EAGAIN;
    // measured on Node 20: 50 queued connections, 50 'connection' events in one turn, one process
    // or a cluster worker), so this bounds what it did rather than slowing it to one a turn.
    const d = acceptGate.listen(serverFd, fromC, ACCEPT_BATCH);
    if (d < 0) return;
    serverFd = d;
    cListening = true;
    // Held connections' deadlines (C sweeps on its wake-ups; this when none come).
    cSweeper = setInterval(() => acceptGate.sweep(), SWEEP_MS);
    cSweeper.unref();
    queueMicrotask(() => {
      const h = (server as unknown as { _handle?: { close?: () => void } | null })._handle;
      if (!cListening || h === undefined || h === null) return;
      const close = Object.getPrototypeOf(h)?.close as (() => void) | undefined;
      try {
        close?.call(h);
      } catch (err) {
        onError(`${label}: closing libuv's watch of the listening socket failed`, err);
      }
    });
  }

  return new Promise((resolve, reject) => {
    const onListenError = (err: Error) => {
      reject(
        new TransportError('TRANSPORT_ERR_BIND', `cannot listen on ${label}: ${err.message}`, { cause: err }),
      );
    };
    server.once('error', onListenError);
    server.listen(
      { host: address.host, port: address.port, ipv6Only: address.family === 6, backlog: 511 },
      () => {
        server.off('error', onListenError);
        server.on('error', (err) => onError(`${label}: server error`, err));
        const bound = server.address();
        const port = typeof bound === 'object' && bound !== null ? bound.port : address.port;
        const fd = (server as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
        if (typeof fd === 'number' && fd >= 0) serverFd = fd;
        // Strangers kept in C until their first frame: a connection that never asks costs no JS.
        // And (tcpc23) their plain queries answered in C, as every connection C would hand over.
        if (
          serverFd >= 0 &&
          acceptGate?.watch?.(serverFd, idleTimeoutMs, PRESSURE_FIRST_QUERY_MS, firstFrameIn)
        ) {
          acceptGate.serve?.(idleTimeoutMs, PRESSURE_FIRST_QUERY_MS, maxConnections, maxPerClient, jsOpen);
          listenInC();
        }
        resolve({
          address,
          port,
          stats,
          get fd() {
            return serverFd >= 0 ? serverFd : undefined;
          },
          get acceptsInC() {
            return cListening;
          },
          setGate: (g) => {
            gate = g;
          },
          close: async (graceMs = 1000) => {
            // C's duplicate of the listening socket first: no accept after this.
            if (cListening) acceptGate?.unlisten?.(serverFd);
            cListening = false;
            if (cSweeper !== undefined) clearInterval(cSweeper);
            cSweeper = undefined;
            if (serverFd >= 0) acceptGate?.unwatch?.(serverFd);
            serverFd = -1;
            if (sweeper !== undefined) clearTimeout(sweeper);
            sweeper = undefined;
            acceptGate?.close();
            const serverClosed = new Promise<void>((done) => server.close(() => done()));
            const open = [...sockets];
            const socketsClosed = Promise.all(open.map((s) => new Promise((done) => s.once('close', done))));
            for (const s of open) s.end();
            // Clients that do not close their side within the grace period are cut off.
            const timer = setTimeout(() => {
              for (const s of sockets) s.destroy();
            }, graceMs);
            timer.unref();
            await Promise.all([serverClosed, socketsClosed]);
            clearTimeout(timer);
          },
        });
      },
    );
  });
}
