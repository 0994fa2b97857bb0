/**
 * DNS over UDP through the native batched socket (native/udp.c): the same contract as
 * `createUdpListener` (udp.ts) — one datagram in, at most one out, handler exceptions
 * survived — but each worker owns its own `SO_REUSEPORT` socket, datagrams arrive in batches
 * drained with `recvmmsg`, and answers leave in batches through `sendmmsg`. One JS call per
 * batch: the addon fills a shared input buffer with the datagrams and their pre-parse, this
 * module answers each through the handler and writes the answers into the shared output
 * buffer (layout: docs/NATIVE.md).
 *
 * The addon is loaded lazily; `nativeUdpStatus()` says whether it loaded and passed its
 * self-check, and why not.
 * @module
 */

import { closeSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { TransportError } from './errors.js';
import type { TransportContext } from './handler.js';
import { formatListenAddress } from './listen-address.js';
import type { NativeShieldAddon } from './native-shield.js';
import {
  DEFAULT_UDP_RECV_BUFFER,
  DEFAULT_UDP_SEND_BUFFER,
  type UdpListener,
  type UdpListenerOptions,
} from './udp.js';

/** Buffer layout constants, read from the addon (`layout()`). */
export interface NativeLayout {
  batch: number;
  slot: number;
  inDescWords: number;
  inDataOffset: number;
  inSize: number;
  outDescWords: number;
  outDataOffset: number;
  outDataCap: number;
  outSize: number;
  maxBatchesPerWakeup: number;
  version: number;
}

/** Counters of one native socket since it opened. */
export interface NativeUdpStats {
  received: number;
  /** Dropped in C: source port 0 or refused by the admission hook. */
  dropped: number;
  /** Longer than a slot (`layout().slot` octets) and dropped. */
  truncated: number;
  /** Answered in C by the zone-image hook (`--native-answers`); never seen by the JS handler. */
  answeredC: number;
  /** The C answers by header RCODE (16 entries, index = RCODE), for the DNS counters. */
  answeredCByRcode: number[];
  /** The C answers with TC=1. */
  answeredCTruncated: number;
  answeredJs: number;
  sent: number;
  sendErrors: number;
  recvErrors: number;
  batches: number;
  jsCalls: number;
  /** 1 when the socket is bound to a wildcard and replies from the queried address. */
  pktinfo: number;
  /** Receive timestamps on the socket (SO_TIMESTAMPNS): 0 off (the default), 1 behind now from the
   * queue's wait (SWITCHBOARD_QDELAY=on), 2 the overload meter too (SWITCHBOARD_QDELAY=meter). */
  queueDelayStamps?: number;
  /** Wake-ups whose oldest datagram waited >= 20 ms in the socket queue (the worker behind now). */
  queueDelayBehind?: number;
  /** The longest wait (ms) of a wake-up's oldest datagram since the socket opened. */
  queueDelayMaxMs?: number;
  /** The shield (native-shield.ts): datagrams it dropped and answered TC=1 before any answer,
   * and answers rate limiting dropped and sent truncated (slipped). */
  shieldDropped: number;
  shieldTruncated: number;
  rrlDropped: number;
  rrlSlipped: number;
  /** Of rrlDropped, the C answers (the JS ones were counted by the handler). */
  rrlDroppedC: number;
  /** The kernel prefilter on this socket: IPv4 /24s it drops now, programs attached, failures. */
  prefilterPrefixes: number;
  /** Attacked zones whose missing names the program drops now (the QNAME filter). */
  prefilterZones: number;
  prefilterUpdates: number;
  prefilterErrors: number;
  /** onset22: setsockopt calls that attached a program (the UDP socket's and each TCP listener's),
   * and those spared because the program built was the one already attached. */
  prefilterAttaches?: number;
  prefilterSame?: number;
  /** own22: times the idle clock ran the shield's clock and the program with no batch read for
   * 200 ms (native/udp.c on_idle_clock). */
  idleClocks: number;
}

/** The addon's functions (native/udp.c). */
export interface NativeUdpAddon extends NativeShieldAddon {
  open(
    host: string,
    port: number,
    recvBuf: number,
    sendBuf: number,
    onBatch: (count: number) => number,
  ): [handle: object, input: ArrayBuffer, output: ArrayBuffer, port: number];
  flush(handle: object, count: number): void;
  /** During a batch's JS call: a token for answering datagram `index` later (undefined: cannot). */
  peer?(handle: object, index: number): Uint8Array | undefined;
  /** Sends `bytes` as a reply to the datagram of `token` (peer()); false when not sent. */
  sendTo?(handle: object, token: Uint8Array, bytes: Uint8Array): boolean;
  close(handle: object): void;
  /** The TCP listening socket `fd` carries this socket's kernel prefilter from now on (a
   * duplicate of the descriptor, closed with this socket); false when it cannot be taken. */
  filterTcp(handle: object, fd: number): boolean;
  /** Up to `max` connections waiting on the listening TCP socket `fd`, accepted: [fd, address,
   * port, ...] (absent from an addon built before it). With `counts` (Float64Array(7)) each is
   * judged in C first (native/tcp_gate.h: a blocked /24's closed, a stranger beyond the budget
   * held, and with tcpWaitStart a stranger kept until its first frame) and only those to serve
   * are returned, at most `maxServe`; adds to counts [blocked closed, held, strangers served,
   * taken, full batches, handed over, kept for their first frame]. */
  acceptTcp?(fd: number, max: number, counts?: Float64Array, maxServe?: number): (number | string)[];
  /** The same decision for a connection JS accepted: 0 serve, 1 stranger within the budget, 2
   * stranger beyond it (hold), 3 its /24 blocked (close). */
  tcpJudge?(address: Uint8Array, fd?: number, listeningFd?: number, port?: number): number;
  /** Closes the held connections whose deadline came; returns how many are held. */
  tcpGateSweep?(): number;
  /** Closes every connection the C decision holds. */
  tcpGateClose?(): void;
  /** This thread's C accept decisions (cumulative) and the connections held now. */
  tcpGateStats?(): NativeTcpGateStats;
  tcpGateConfigure?(perSecond: number, perBlock: number): void;
  /** From now on the batch accept keeps strangers' connections in C until their first complete
   * frame and hands them to `cb([listeningFd, fd, address, port, ...])` then; reset after
   * `calmMs` without it (`pressedMs` while the shield is pressed). */
  tcpWaitStart?(
    cb: (taken: (number | string | Buffer | null)[], withPrefixes?: boolean | number) => void,
    calmMs: number,
    pressedMs: number,
  ): void;
  /** (tcpc23) From now on the connections C would hand over to serve, and those kept until their
   * first frame, are served in C while the images answer (native/tcp_serve.h); one C cannot go on
   * with is handed to tcpWaitStart's callback as ([listeningFd, fd, address, port, in, out], true):
   * `in` the octets read and not answered, `out` the answers not yet written (null: none). */
  tcpServeStart?(
    idleMs: number,
    pressedMs: number,
    maxOpen: number,
    maxPerClient: number,
    jsOpen?: Float64Array,
  ): void;
  /** Resets the connections waiting for their first frame from `listeningFd` (-1: all). */
  tcpWaitClose?(listeningFd: number): void;
  /** (tcpl24) From now on the listening socket `fd` is accepted from in C (a duplicate of it in
   * tcpWaitStart's epoll set); connections to serve in JS reach tcpWaitStart's callback as
   * ([listeningFd, fd, address, port, ...], 2) — judged in C — or 3 — not judged (the native
   * shield not on). `counts` (Float64Array(8)) as acceptTcp's. Returns the duplicate, or -1. */
  tcpListen?(fd: number, counts: Float64Array, maxUnjudged: number): number;
  /** (tcpl24) Stops accepting from `fd` (tcpListen's) and closes it. */
  tcpUnlisten?(fd: number): boolean;
  /** (tidy25) NativeTcpGate.clientNote. */
  tcpClientNote?(address: Uint8Array, delta: number): number;
  stats(handle: object): NativeUdpStats;
  /** [status, flags, qnameLen, qtype, qclass, optSize, ednsVersion, labels, questionEnd] */
  preparse(bytes: Uint8Array): number[];
  layout(): NativeLayout;
  /** Validates a compiled zone image (src/image) once and installs it for this JS thread, replacing
   * the image of the same origin; throws ERR_IMAGE_FORMAT. The bytes are read IN PLACE (not
   * copied): the addon keeps a reference to their ArrayBuffer (or SharedArrayBuffer) until the
   * image is replaced, removed or cleared. They must not change or be detached meanwhile.
   * Returns the origin's length. */
  imageInstall(bytes: Uint8Array): number;
  /**
   * Serves the origins (concatenated uncompressed wire names, any case) without images: C hands
   * their queries to JS and notes them in the miss list until an image is installed (lazy
   * installs: a parent's image never answers for a served child). Returns how many were new.
   */
  imageServe(origins: Uint8Array): number;
  /**
   * Stops serving the origins (concatenated wire names) and drops their images; with
   * `keepServed` drops the images only. Returns how many were found.
   */
  imageRemove(origins: Uint8Array, keepServed?: boolean): number;
  /** The origins asked for since the last call that were served without an image (concatenated folded wire names), or null. */
  imageMisses(): Uint8Array | null;
  imageClear(): void;
  /** Turns answering from images in the batch loop on or off; `ednsSize` and `nsid` (the NSID
   * payload, none when undefined) as the Responder's options. */
  imageConfigure(enabled: boolean, ednsSize: number, nsid?: Uint8Array): void;
  /** `bytes`: octets of the installed images (referenced where they are, not copied). */
  imageStats(): { zones: number; served: number; bytes: number; enabled: boolean };
  /** The C answer to a UDP query from this thread's images (whether or not the hook is on), or null. */
  answerForTest(query: Uint8Array, tcp?: boolean): Uint8Array | null;
}

/** Layout version this module speaks. */
const LAYOUT_VERSION = 1;

/** Descriptor word indexes of an input datagram (16 × u32 per datagram). */
export const IN = {
  offset: 0,
  length: 1,
  family: 2,
  port: 3,
  /** Words 4..7: the source address octets (IPv4 in the first 4). */
  address: 4,
  status: 8,
  flags: 9,
  qnameLength: 10,
  qtype: 11,
  qclass: 12,
  optSize: 13,
  /** EDNS version | labels << 8 | question end << 16. */
  misc: 14,
  /** 0: for JS, 1: dropped in C, 2: answered in C. */
  verdict: 15,
} as const;

/** Pre-parse status bits (native/preparse.h). */
export const PREPARSE_STATUS = {
  short: 0x1,
  response: 0x2,
  opcode: 0x4,
  qdcount: 0x8,
  badName: 0x10,
  noQtype: 0x20,
  optBad: 0x40,
  trailing: 0x80,
} as const;

/** Pre-parse flag bits (native/preparse.h). */
export const PREPARSE_FLAGS = { opt: 0x1, do: 0x2, cookie: 0x4, rd: 0x8, cd: 0x10, nsid: 0x20 } as const;

/** Whether the native path can run here, and why not. */
export type NativeUdpStatus =
  | { ok: true; addon: NativeUdpAddon; path: string }
  | { ok: false; reason: string };

let status: NativeUdpStatus | undefined;

/** Where the addon is looked for: SWITCHBOARD_NATIVE_ADDON, else native/build/Release. */
export function nativeAddonPath(): string {
  return (
    process.env.SWITCHBOARD_NATIVE_ADDON ??
    fileURLToPath(new URL('../../../native/build/Release/switchboard_udp.node', import.meta.url))
  );
}

/**
 * Loads the addon once and runs its self-check (layout version, a known query pre-parsed, a
 * socket opened and closed on 127.0.0.1). Never throws.
 */
export function nativeUdpStatus(): NativeUdpStatus {
  if (status) return status;
  status = loadAndCheck();
  return status;
}

function loadAndCheck(): NativeUdpStatus {
  if (process.platform !== 'linux') return { ok: false, reason: `not supported on ${process.platform}` };
  const path = nativeAddonPath();
  if (!existsSync(path))
    return { ok: false, reason: `addon not built (${path} missing; npm install builds it)` };
  let addon: NativeUdpAddon;
  try {
    addon = createRequire(import.meta.url)(path) as NativeUdpAddon;
  } catch (err) {
    return { ok: false, reason: `addon failed to load: ${(err as Error).message}` };
  }
  try {
    const layout = addon.layout();
    if (layout.version !== LAYOUT_VERSION)
      return { ok: false, reason: `addon layout version ${layout.version}, expected ${LAYOUT_VERSION}` };
    // www.example. A IN with an OPT (size 1232, DO) carrying a COOKIE option.
    const q = Uint8Array.from([
      0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1, 3, 119, 119, 119, 7, 101, 120, 97, 109, 112, 108, 101,
      0, 0, 1, 0, 1, 0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 12, 0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8,
    ]);
    const got = addon.preparse(q).join(',');
    const want = [
      0,
      PREPARSE_FLAGS.opt | PREPARSE_FLAGS.do | PREPARSE_FLAGS.cookie | PREPARSE_FLAGS.rd,
      13,
      1,
      1,
      1232,
      0,
      2,
      29,
    ].join(',');
    if (got !== want) return { ok: false, reason: `self-check: pre-parse gave ${got}, expected ${want}` };
    const [handle] = addon.open('127.0.0.1', 0, 0, 0, () => 0);
    addon.close(handle);
  } catch (err) {
    return { ok: false, reason: `self-check failed: ${(err as Error).message}` };
  }
  return { ok: true, addon, path };
}

/** A native listener: a UdpListener plus its counters. */
export interface NativeUdpListener extends UdpListener {
  stats(): NativeUdpStats;
  /** The shield's kernel prefilter on a TCP listening socket too (docs/SHIELD.md): the blocked
   * /24s' SYNs are dropped before they take a place in its accept queue. */
  filterTcp(fd: number): boolean;
}

/** Puts the kernel prefilter of `udp` (when it is a native listener) on the TCP socket `fd` too. */
export function filterTcpWith(udp: UdpListener, fd: number | undefined): boolean {
  const l = udp as Partial<NativeUdpListener>;
  return fd !== undefined && typeof l.filterTcp === 'function' && l.filterTcp(fd);
}

/**
 * The addon's batch accept (`acceptTcp`, native/udp.c) when it loaded and has it, else undefined:
 * a TCP listener drains its accept queue with it (libuv takes one connection per turn of the
 * event loop; src/transport/tcp.ts `acceptBatch`). Whether listeners use it: `batchAcceptChosen`.
 */
export function nativeAcceptTcp(): ((fd: number, max: number) => (number | string)[]) | undefined {
  const s = nativeUdpStatus();
  if (!s.ok || typeof s.addon.acceptTcp !== 'function') return undefined;
  const addon = s.addon;
  return (fd, max) => addon.acceptTcp?.(fd, max) ?? [];
}

/** The C accept decision's counters (this thread's, cumulative; native/tcp_gate.h). */
export interface NativeTcpGateStats {
  /** Connections held now (at most heldMax). */
  held: number;
  heldTotal: number;
  /** Held connections closed at their deadline, and to make room in a full table. */
  heldExpired: number;
  heldEvicted: number;
  /** Connections closed at once: their /24 in the shield's blocked set. */
  blockedClosed: number;
  strangersServed: number;
  served: number;
  heldMax: number;
  /** Connections kept in C until their first frame now (at most waitMax), and since start. */
  waiting: number;
  waitTotal: number;
  /** Of those: handed to JS with their frame in, reset at their deadline, reset to make room,
   * closed by their client first, reset for a first frame shorter than a DNS header. */
  waitHanded: number;
  waitExpired: number;
  waitEvicted: number;
  waitClientClosed: number;
  waitRejected: number;
  waitMax: number;
  /** (tcpc23) Connections served in C now (at most serveMax), taken to serve since start, frames
   * answered in C, connections handed to JS (a frame C does not answer, a long frame, a client
   * slow to read), closed for a frame shorter than a header, closed idle (or silent under
   * pressure), closed by their client, refused (the per-client limit), write failures; the
   * answers by RCODE. Absent from an addon built before it. */
  servedInC?: number;
  /** (tcpl24) Listening sockets accepted from in C now (tcpListen), the connections they took
   * since start, and of those the ones handed to JS to serve. */
  listening?: number;
  listenTaken?: number;
  listenHanded?: number;
  serveTotal?: number;
  serveAnswered?: number;
  serveHanded?: number;
  serveMalformed?: number;
  serveIdleClosed?: number;
  serveClientClosed?: number;
  serveRefused?: number;
  /** (tidy25) JS's connections refused at the per-client limit by C's count (C's and JS's). */
  serveJsRefused?: number;
  /** (tidy25) JS's connections of a new address beyond SB_TCP_JS_CLIENTS: counted by JS alone. */
  serveJsUnheld?: number;
  serveWriteErrors?: number;
  serveMax?: number;
  serveByRcode?: number[];
}

/** The addon's accept decision in C (native/tcp_gate.h), bound to this thread. */
export interface NativeTcpGate {
  accept(fd: number, max: number, counts: Float64Array, maxServe: number): (number | string)[];
  /** With `fd` (not read yet), `listeningFd` and `port`: 4 when C keeps a duplicate of it until
   * its first frame (`watch`). */
  judge(address: Uint8Array, fd?: number, listeningFd?: number, port?: number): number;
  sweep(): number;
  close(): void;
  stats(): NativeTcpGateStats;
  /** The strangers' budget (connections a second per worker, per /24 or /56): the listener's. */
  configure(perSecond: number, perBlock: number): void;
  /** Connections of the listening socket `fd` kept in C until their first frame are handed to
   * `deliver` (undefined: the addon cannot keep them; nothing is kept for this listener). */
  watch?(
    fd: number,
    calmMs: number,
    pressedMs: number,
    deliver: (fd: number, address: string, port: number, input?: Buffer, output?: Buffer) => void,
  ): boolean;
  /** (tcpc23) Plain queries answered in C on the connections C would hand over (`watch` first):
   * false when the addon cannot, or `SWITCHBOARD_TCP_C_ANSWERS=off`. Connections C stops serving
   * reach `deliver` with the octets read and not answered and the answers not yet written. */
  serve?(
    idleMs: number,
    pressedMs: number,
    maxOpen: number,
    maxPerClient: number,
    jsOpen?: Float64Array,
  ): boolean;
  /** Stops watching for `fd`: its waiting connections are reset. */
  unwatch?(fd: number): void;
  /**
   * (tcpl24) Every accept of the listening socket `fd` (watched: `watch` first) made in C from now
   * on, on a duplicate of it: returns the duplicate — the listener's descriptor from now on (its
   * `watch` moves to it), closed by `unlisten` — or -1 (the addon cannot, or
   * `SWITCHBOARD_TCP_LISTEN=libuv`). Connections to serve in JS reach the watch's `deliver` with
   * `accepted` 2 (judged in C) or 3 (not judged: the native shield is not on; at most
   * `maxUnjudged` a turn). `counts` (Float64Array(8)) gets acceptTcp's counts.
   */
  listen?(fd: number, counts: Float64Array, maxUnjudged: number): number;
  /** (tcpl24) Stops accepting from `fd` (`listen`'s) and closes it. */
  unlisten?(fd: number): void;
  /**
   * (tidy25) One per-client count for C's and JS's connections (native/tcp_serve.h): `delta` 1
   * before JS serves a connection from `address` — 1 counted in C's table (note -1 when it
   * closes), 0 refused (the client has `maxPerClient` open, C's and JS's together), 2 not held
   * (no table: `serve` not started; or the table's bound for JS's clients: JS counts it itself);
   * `delta` -1 after one counted closed.
   */
  clientNote?(address: Uint8Array, delta: 1 | -1): number;
}

/** The environment variable that keeps libuv's accept on TCP listeners (`libuv`; tcpl24: by
 * default, where the C accept decision and the first-frame watch are there, every accept is C's). */
export const TCP_LISTEN_ENV = 'SWITCHBOARD_TCP_LISTEN';

/** The environment variable that turns off keeping strangers' connections in C until their first
 * frame (`off`: served at once, as before tcphold19 — the B side of an A/B). */
export const TCP_FIRST_FRAME_ENV = 'SWITCHBOARD_TCP_FIRST_FRAME';

/** The environment variable that turns off answering plain TCP queries in C (tcpc23; `off`: the
 * connections are served in JS, as before — the B side of an A/B, and the fallback). */
export const TCP_C_ANSWERS_ENV = 'SWITCHBOARD_TCP_C_ANSWERS';

/** A connection C hands over: kept until its first frame, served in C until `input`/`output`, or
 * (tcpl24) `accepted` in C from the listener (2 judged there, 3 not judged). */
type Deliver = (
  fd: number,
  address: string,
  port: number,
  input?: Buffer,
  output?: Buffer,
  accepted?: number,
) => void;

/** This thread's listeners waiting for connections kept in C, by listening descriptor. */
const frameWatchers = new Map<number, Deliver>();

/** The addon's callback: each connection to its listener (closed when that listener is gone);
 * `withPrefixes`: one connection served in C, with what it read and what it has to write. */
function handFirstFrames(taken: (number | string | Buffer | null)[], withPrefixes?: boolean | number): void {
  const stride = withPrefixes === true ? 6 : 4;
  const accepted = typeof withPrefixes === 'number' ? withPrefixes : undefined;
  for (let i = 0; i + stride - 1 < taken.length; i += stride) {
    const fd = taken[i + 1] as number;
    const deliver = frameWatchers.get(taken[i] as number);
    if (deliver !== undefined)
      deliver(
        fd,
        taken[i + 2] as string,
        taken[i + 3] as number,
        stride === 6 ? ((taken[i + 4] as Buffer | null) ?? undefined) : undefined,
        stride === 6 ? ((taken[i + 5] as Buffer | null) ?? undefined) : undefined,
        accepted,
      );
    else {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
  }
  // A connection C served handed over for a query of a zone whose image is not installed yet
  // (image.c notes the miss): installed as after a UDP batch (src/server/shared/native-answers.ts),
  // so a zone asked only over TCP is answered in C from its next connection on.
  if (withPrefixes === true && afterJsBatch !== undefined) {
    try {
      afterJsBatch();
    } catch {
      // the hook reports its own failures (native-answers.ts onFailed)
    }
  }
}

/** The addon's accept decision in C when it loaded and has it, else undefined. */
export function nativeTcpGate(): NativeTcpGate | undefined {
  const s = nativeUdpStatus();
  if (!s.ok) return undefined;
  const a = s.addon;
  const { acceptTcp, tcpJudge, tcpGateSweep, tcpGateClose, tcpGateStats, tcpGateConfigure } = a;
  if (
    tcpGateConfigure === undefined ||
    acceptTcp === undefined ||
    tcpJudge === undefined ||
    tcpGateSweep === undefined ||
    tcpGateClose === undefined ||
    tcpGateStats === undefined
  )
    return undefined;
  return {
    accept: (fd, max, counts, maxServe) => acceptTcp.call(a, fd, max, counts, maxServe),
    judge: (address, fd, listeningFd, port) =>
      fd === undefined || listeningFd === undefined || port === undefined || !frameWatchers.has(listeningFd)
        ? tcpJudge.call(a, address)
        : tcpJudge.call(a, address, fd, listeningFd, port),
    sweep: () => tcpGateSweep.call(a),
    close: () => tcpGateClose.call(a),
    stats: () => tcpGateStats.call(a),
    configure: (perSecond, perBlock) => tcpGateConfigure.call(a, perSecond, perBlock),
    watch: (fd, calmMs, pressedMs, deliver) => {
      if (a.tcpWaitStart === undefined || process.env[TCP_FIRST_FRAME_ENV] === 'off') return false;
      a.tcpWaitStart(handFirstFrames, calmMs, pressedMs);
      frameWatchers.set(fd, deliver);
      return true;
    },
    serve: (idleMs, pressedMs, maxOpen, maxPerClient, jsOpen) => {
      if (
        a.tcpServeStart === undefined ||
        process.env[TCP_C_ANSWERS_ENV] === 'off' ||
        frameWatchers.size === 0
      )
        return false;
      a.tcpServeStart(idleMs, pressedMs, maxOpen, maxPerClient, jsOpen);
      return true;
    },
    unwatch: (fd) => {
      if (!frameWatchers.delete(fd)) return;
      a.tcpWaitClose?.(fd);
    },
    listen: (fd, counts, maxUnjudged) => {
      const deliver = frameWatchers.get(fd);
      if (deliver === undefined || a.tcpListen === undefined || process.env[TCP_LISTEN_ENV] === 'libuv')
        return -1;
      const d = a.tcpListen(fd, counts, maxUnjudged);
      if (d < 0) return -1;
      // Nothing was accepted from `fd` yet in C (the listener is new): its watch moves to `d`.
      frameWatchers.delete(fd);
      frameWatchers.set(d, deliver);
      return d;
    },
    unlisten: (fd) => {
      a.tcpUnlisten?.(fd);
    },
    clientNote:
      a.tcpClientNote === undefined ? undefined : (address, delta) => a.tcpClientNote?.(address, delta) ?? 2,
  };
}

/**
 * The environment variable that chooses how TCP listeners take connections: `one` is libuv's one
 * accept a turn; `batch` (the default since tcpc) drains the accept queue every turn with the
 * addon's `acceptTcp`, each connection judged in C with the native shield (native/tcp_gate.h);
 * `batch-js` the same batches, every connection handed to JS (before tcpc). The JS-judged batch
 * accept was off by default: in the full drill at a quarter core it made wave 1 worse (zones not
 * attacked 94.33% against 99.77% with one a turn, A/B 2026-12-05 13:51) — each bot connection
 * ~150-240 us of JS; judged in C it won the A/B (docs/PERFORMANCE.md "tcpc, 2026-12-05").
 */
export const TCP_ACCEPT_ENV = 'SWITCHBOARD_TCP_ACCEPT';

/** True when `SWITCHBOARD_TCP_ACCEPT` is `batch` or `batch-js`: listeners drain their accept
 * queue in batches even where C does not judge the connections (the Node shield, or no shield:
 * each handed to JS). By default only where C judges them (`batchAcceptInC`). */
export function batchAcceptChosen(): boolean {
  const v = process.env[TCP_ACCEPT_ENV];
  return v === 'batch' || v === 'batch-js';
}

/** True unless `SWITCHBOARD_TCP_ACCEPT` is `one` or `batch-js` (the default): the batch accept
 * judges each connection in C (native/tcp_gate.h) while the shield is the native one; `batch-js`
 * hands every connection to JS (the gate and the strangers' budget in tcp.ts), as before tcpc. */
export function batchAcceptInC(): boolean {
  const v = process.env[TCP_ACCEPT_ENV];
  return v !== 'one' && v !== 'batch-js';
}

/** The environment variable that turns the shield's TCP gate off (`off`; on otherwise:
 * src/server/shared/listeners.ts). */
export const TCP_GATE_ENV = 'SWITCHBOARD_TCP_GATE';

/** The environment variable a worker pool sets to its number of workers (src/transport/cluster.ts). */
export const WORKER_COUNT_ENV = 'SWITCHBOARD_WORKER_COUNT';

/** The environment variable that sets the native socket's receive buffer (octets; the kernel
 * caps it at net.core.rmem_max and doubles it): an experiment's knob (p99s18: how long a full
 * queue makes a datagram wait), unset by default. */
export const UDP_RCVBUF_ENV = 'SWITCHBOARD_UDP_RCVBUF';

function rcvbufOverride(): number | undefined {
  const v = Number(process.env[UDP_RCVBUF_ENV]);
  return Number.isInteger(v) && v >= 4096 ? v : undefined;
}

/** The counters of `listener` when it is a native one, else undefined (the node path). */
export function nativeStatsOf(listener: UdpListener): NativeUdpStats | undefined {
  const l = listener as Partial<NativeUdpListener>;
  return typeof l.stats === 'function' ? l.stats() : undefined;
}

/**
 * Called after each batch JS answered (this thread's; `--native-answers`: installs the images
 * of the zones C handed over because they had none yet, see native-answers.ts).
 */
let afterJsBatch: (() => void) | undefined;

/** Sets (or clears) the hook run after each batch JS answered on this thread's native sockets. */
export function setAfterJsBatch(hook: (() => void) | undefined): void {
  afterJsBatch = hook;
}

/** Largest payload one UDP datagram can carry over IPv4 (65535 − 20 − 8). */
const MAX_UDP_PAYLOAD = 65507;

/**
 * Binds a native batched UDP socket (`SO_REUSEPORT`: every worker binds its own) and answers
 * every datagram with `opts.handler`. Same error behaviour as `createUdpListener`.
 * @throws TransportError TRANSPORT_ERR_BIND (also when the addon is unavailable)
 */
export async function createNativeUdpListener(opts: UdpListenerOptions): Promise<NativeUdpListener> {
  const { address, handler } = opts;
  const onError = opts.onError ?? (() => {});
  const st = nativeUdpStatus();
  if (!st.ok)
    throw new TransportError(
      'TRANSPORT_ERR_BIND',
      `cannot open native UDP ${formatListenAddress(address)}: ${st.reason}`,
    );
  const addon = st.addon;
  const layout = addon.layout();
  const where = `UDP ${formatListenAddress(address)}`;
  // One context object per socket, overwritten per datagram (as in udp.ts).
  const ctx: TransportContext = { transport: 'udp', address: '', port: 0 };
  // The datagram being handled now, for a deferred answer (ctx.defer: a DNS UPDATE).
  let current = 0;
  if (addon.peer !== undefined && addon.sendTo !== undefined) {
    const peer = addon.peer;
    const sendTo = addon.sendTo;
    ctx.defer = () => {
      if (closed) return undefined;
      const token = peer(handle, current);
      if (token === undefined) return undefined;
      let sent = false;
      return (response) => {
        if (sent || closed || response === null || response.length > MAX_UDP_PAYLOAD) return;
        sent = true;
        try {
          sendTo(handle, token, response);
        } catch (err) {
          onError(`${where}: deferred send failed`, err);
        }
      };
    };
  }
  let inWords: Uint32Array;
  let inBytes: Uint8Array;
  let outWords: Uint32Array;
  let outBytes: Uint8Array;
  let handle: object;
  let closed = false;
  const names = new AddressNames();
  const outDesc = layout.outDescWords;
  const inDesc = layout.inDescWords;
  const outData = layout.outDataOffset;
  const outCap = layout.outDataCap;

  const onBatch = (count: number): number => {
    let k = 0;
    let used = 0;
    for (let i = 0; i < count; i++) {
      const d = i * inDesc;
      if (inWords[d + IN.verdict] !== 0) continue;
      const off = inWords[d + IN.offset];
      const len = inWords[d + IN.length];
      ctx.port = inWords[d + IN.port];
      ctx.address = names.of(inWords, d + IN.address, inWords[d + IN.family]);
      current = i;
      let reply: Uint8Array | null;
      try {
        reply = handler(inBytes.subarray(off, off + len), ctx);
      } catch (err) {
        onError(`${where}: query handler failed`, err);
        continue;
      }
      if (reply === null || reply.length === 0 || reply.length > MAX_UDP_PAYLOAD) continue;
      if (used + reply.length > outCap) {
        // Output area full: send what is there now and start over at its beginning.
        addon.flush(handle, k);
        k = 0;
        used = 0;
      }
      outBytes.set(reply, outData + used);
      const o = k * outDesc;
      outWords[o] = i;
      outWords[o + 1] = used;
      outWords[o + 2] = reply.length;
      k++;
      // Keep each answer 8-aligned (cheap, and friendly to the copy).
      used += (reply.length + 7) & ~7;
    }
    if (afterJsBatch !== undefined) {
      try {
        afterJsBatch();
      } catch (err) {
        onError(`${where}: after-batch hook failed`, err);
      }
    }
    return k;
  };

  let bound: number;
  try {
    const opened = addon.open(
      address.host,
      address.port,
      rcvbufOverride() ?? opts.recvBufferSize ?? DEFAULT_UDP_RECV_BUFFER,
      opts.sendBufferSize ?? DEFAULT_UDP_SEND_BUFFER,
      onBatch,
    );
    handle = opened[0];
    inWords = new Uint32Array(opened[1]);
    inBytes = new Uint8Array(opened[1]);
    outWords = new Uint32Array(opened[2]);
    outBytes = new Uint8Array(opened[2]);
    bound = opened[3];
  } catch (err) {
    throw new TransportError(
      'TRANSPORT_ERR_BIND',
      `cannot bind UDP ${formatListenAddress(address)}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return {
    address,
    port: bound,
    stats: () => addon.stats(handle),
    filterTcp: (fd) => !closed && addon.filterTcp(handle, fd),
    close: async () => {
      if (closed) return;
      closed = true;
      addon.close(handle);
    },
  };
}

/**
 * Source address strings, formatted as Node's dgram does (`127.0.0.1`, `::1`), cached for
 * IPv4 so that a busy resolver's address is built once, not per datagram.
 */
class AddressNames {
  readonly #v4 = new Map<number, string>();

  of(words: Uint32Array, at: number, family: number): string {
    if (family === 4) {
      const key = words[at];
      let s = this.#v4.get(key);
      if (s === undefined) {
        // The octets are in network order in memory; read them byte by byte.
        const b = new Uint8Array(words.buffer, words.byteOffset + at * 4, 4);
        s = `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
        if (this.#v4.size >= 65536) this.#v4.clear();
        this.#v4.set(key, s);
      }
      return s;
    }
    if (family === 6) return formatIPv6(new Uint8Array(words.buffer, words.byteOffset + at * 4, 16));
    return '';
  }
}

/** RFC 5952 text of 16 address octets (the longest run of ≥ 2 zero groups as `::`). */
export function formatIPv6(b: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i] << 8) | b[i + 1]);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  // IPv4-mapped (::ffff:a.b.c.d) as Node prints it.
  if (bestAt === 0 && bestLen === 5 && g[5] === 0xffff) return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const hex = (from: number, to: number) =>
    g
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':');
  if (bestAt < 0) return hex(0, 8);
  return `${hex(0, bestAt)}::${hex(bestAt + bestLen, 8)}`;
}
