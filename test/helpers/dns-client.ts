/**
 * A small DNS client for tests and load generators: builds raw queries and sends them over
 * UDP or TCP to loopback servers, returning the response bytes. It refuses any address
 * outside 127.0.0.0/8 and ::1, so nothing here can send traffic off the machine.
 * @module
 */
import { execFile } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { isIP, Socket as TcpSocket } from 'node:net';
import { decodeMessage } from '../../src/wire/decode.js';
import { rdataToText } from '../../src/wire/rdata.js';
import { isNetnsTestAddress } from './netns.js';

/** Thrown when a target is not a loopback address. */
export class NotLoopbackError extends Error {
  readonly code = 'TEST_ERR_NOT_LOOPBACK';
  constructor(host: string) {
    super(`refusing to send DNS traffic to ${host}: only 127.0.0.0/8 and ::1 are allowed`);
    this.name = 'NotLoopbackError';
  }
}

/** Thrown when no response arrived in time. */
export class QueryTimeoutError extends Error {
  readonly code = 'TEST_ERR_TIMEOUT';
  constructor(what: string) {
    super(`no response: ${what}`);
    this.name = 'QueryTimeoutError';
  }
}

/** True for a literal loopback address (127.0.0.0/8 or ::1). Host names are not resolved. */
export function isLoopback(host: string): boolean {
  if (isIP(host) === 4) return host.split('.')[0] === '127';
  if (isIP(host) === 6) return host === '::1' || /^(0{0,4}:){7}0{0,3}1$/.test(host);
  return false;
}

/**
 * Throws NotLoopbackError unless `host` is a loopback address literal — or, in a test running
 * inside a network namespace of its own (test/helpers/netns.ts), an address of its prefix.
 */
export function assertLoopback(host: string): void {
  if (!isLoopback(host) && !isNetnsTestAddress(host)) throw new NotLoopbackError(host);
}

/** EDNS settings of a query (RFC 6891 §6.1.2). */
export interface QueryEdns {
  udpSize: number;
  version?: number;
  /** DNSSEC OK bit (RFC 3225). */
  dnssecOk?: boolean;
  options?: { code: number; data: Uint8Array }[];
}

/** What to put in a query. Type and class are numbers (see src/wire/constants.ts). */
export interface QuerySpec {
  id?: number;
  name: string;
  type: number;
  class?: number;
  /** Recursion desired; off by default (we query authoritative servers). */
  rd?: boolean;
  /** Omitted: no OPT record. */
  edns?: QueryEdns;
}

/**
 * Encodes a presentation-format name (`www.example.`; `\.` and `\DDD` escapes allowed) as
 * uncompressed wire octets. Independent of src/wire so that tests do not trust the code under test.
 */
export function encodeName(text: string): number[] {
  const out: number[] = [];
  if (text === '.' || text === '') return [0];
  let label: number[] = [];
  const flush = (): void => {
    if (label.length === 0 || label.length > 63) throw new Error(`bad label in '${text}'`);
    out.push(label.length, ...label);
    label = [];
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '.') {
      flush();
    } else if (ch === '\\') {
      const digits = text.slice(i + 1, i + 4);
      if (/^\d{3}$/.test(digits)) {
        label.push(Number(digits));
        i += 3;
      } else {
        label.push(text.charCodeAt(i + 1));
        i += 1;
      }
    } else {
      label.push(text.charCodeAt(i) & 0xff);
    }
  }
  if (label.length > 0) flush();
  out.push(0);
  if (out.length > 255) throw new Error(`name longer than 255 octets: '${text}'`);
  return out;
}

/** Builds the wire form of a one-question query. */
export function buildQuery(spec: QuerySpec): Uint8Array {
  const id = spec.id ?? Math.floor(Math.random() * 0x10000);
  const bytes: number[] = [
    id >> 8,
    id & 0xff,
    spec.rd ? 0x01 : 0x00,
    0x00,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    spec.edns ? 1 : 0,
  ];
  bytes.push(...encodeName(spec.name));
  const cls = spec.class ?? 1;
  bytes.push(spec.type >> 8, spec.type & 0xff, cls >> 8, cls & 0xff);
  if (spec.edns) {
    const e = spec.edns;
    const opts: number[] = [];
    for (const o of e.options ?? [])
      opts.push(o.code >> 8, o.code & 0xff, o.data.length >> 8, o.data.length & 0xff, ...o.data);
    // RFC 6891 §6.1.2/§6.1.3: owner root, TYPE 41, CLASS = payload size, TTL = ext-rcode|version|flags.
    bytes.push(0, 0, 41, e.udpSize >> 8, e.udpSize & 0xff, 0, e.version ?? 0, e.dnssecOk ? 0x80 : 0, 0);
    bytes.push(opts.length >> 8, opts.length & 0xff, ...opts);
  }
  return Uint8Array.from(bytes);
}

/** Where and how to send. */
export interface SendOptions {
  host?: string;
  port: number;
  /** Per attempt. Default 2000 ms. */
  timeoutMs?: number;
  /** UDP only: further attempts after a timeout (UDP may drop under load). Default 2. */
  retries?: number;
  /** Bind the client socket to this loopback source address. */
  localAddress?: string;
}

/** The 16-bit ID of a message. */
export function messageId(msg: Uint8Array): number {
  return (msg[0] << 8) | msg[1];
}

/**
 * Sends `query` over UDP and resolves with the first datagram whose ID matches, retrying on
 * timeout. Rejects with QueryTimeoutError after the last attempt.
 */
export async function queryUdp(query: Uint8Array, opts: SendOptions): Promise<Uint8Array> {
  const host = opts.host ?? '127.0.0.1';
  assertLoopback(host);
  if (opts.localAddress) assertLoopback(opts.localAddress);
  const attempts = 1 + (opts.retries ?? 2);
  for (let i = 0; i < attempts; i++) {
    const r = await udpOnce(query, host, opts.port, opts.timeoutMs ?? 2000, opts.localAddress);
    if (r) return r;
  }
  throw new QueryTimeoutError(`UDP ${host}:${opts.port} after ${attempts} attempts`);
}

function udpOnce(
  query: Uint8Array,
  host: string,
  port: number,
  timeoutMs: number,
  localAddress: string | undefined,
): Promise<Uint8Array | null> {
  return new Promise((resolve) => {
    const sock = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    let done = false;
    const finish = (v: Uint8Array | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.close();
      resolve(v);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    sock.on('error', () => finish(null));
    sock.on('message', (msg) => {
      // Ignore stray datagrams (a late answer to an earlier attempt has the same ID: fine).
      if (msg.length >= 2 && query.length >= 2 && messageId(msg) !== messageId(query)) return;
      finish(new Uint8Array(msg));
    });
    const send = (): void => sock.send(query, port, host, (err) => err && finish(null));
    if (localAddress) sock.bind({ address: localAddress, port: 0 }, send);
    else send();
  });
}

/**
 * Sends `query` over TCP with the RFC 1035 §4.2.2 two-octet length prefix and resolves with
 * the first response message (without its prefix).
 */
export function queryTcp(query: Uint8Array, opts: SendOptions): Promise<Uint8Array> {
  const host = opts.host ?? '127.0.0.1';
  assertLoopback(host);
  if (opts.localAddress) assertLoopback(opts.localAddress);
  const timeoutMs = opts.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const sock = new TcpSocket();
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (err: Error | null, v?: Uint8Array): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(v!);
    };
    const timer = setTimeout(() => finish(new QueryTimeoutError(`TCP ${host}:${opts.port}`)), timeoutMs);
    sock.on('error', (e) => finish(e));
    sock.on('close', () =>
      finish(new QueryTimeoutError(`TCP ${host}:${opts.port} closed before a response`)),
    );
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 2) return;
      const len = buf.readUInt16BE(0);
      if (buf.length >= 2 + len) finish(null, new Uint8Array(buf.subarray(2, 2 + len)));
    });
    sock.connect({ host, port: opts.port, localAddress: opts.localAddress }, () => {
      const frame = Buffer.alloc(2 + query.length);
      frame.writeUInt16BE(query.length, 0);
      frame.set(query, 2);
      sock.write(frame);
    });
  });
}

/** Header facts readable without a full decoder. */
export interface HeaderInfo {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rcode: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

/** Reads the 12-octet header (RFC 1035 §4.1.1). */
export function readHeader(msg: Uint8Array): HeaderInfo {
  if (msg.length < 12) throw new Error(`message of ${msg.length} octets has no full header`);
  const flags = (msg[2] << 8) | msg[3];
  const u16 = (o: number): number => (msg[o] << 8) | msg[o + 1];
  return {
    id: u16(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rcode: flags & 0xf,
    qdcount: u16(4),
    ancount: u16(6),
    nscount: u16(8),
    arcount: u16(10),
  };
}

/**
 * `kdig @127.0.0.1 -p PORT +time=3 +retry=1 ARGS…`: its output and errors as one text (never
 * rejects; a missing kdig or a timeout shows in the text).
 */
export function kdigAt(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      'kdig',
      ['@127.0.0.1', '-p', String(port), '+time=3', '+retry=1', ...args],
      { timeout: 30_000 },
      (_e, out, err) => resolve(`${out}${err}`),
    );
  });
}

/** `RCODE TTL RDATA | TTL RDATA…` (sorted) of `name type` asked over UDP at a loopback port. */
export async function answerText(port: number, name: string, type: number): Promise<string> {
  const r = decodeMessage(
    await queryUdp(buildQuery({ name, type, edns: { udpSize: 1232 } }), { port, timeoutMs: 1000 }),
  );
  const rcode = r.flags & 15;
  return `${rcode} ${r.answers
    .filter((a) => a.type === type)
    .map((a) => `${a.ttl} ${rdataToText(a.type, a.rdata)}`)
    .sort()
    .join(' | ')}`;
}

/**
 * Sends `frame` (a length-prefixed DNS message) over a new TCP connection from `localAddress` to
 * 127.0.0.1:`port`; the octets that came back before the close (empty when the server closed or
 * reset the connection unanswered). Ends after one whole answer or `timeoutMs`.
 */
export async function tcpExchange(
  port: number,
  localAddress: string,
  frame: Buffer,
  timeoutMs = 4000,
): Promise<Buffer> {
  const sock = new TcpSocket();
  const got: Buffer[] = [];
  sock.on('data', (d) => {
    got.push(d);
    const all = Buffer.concat(got);
    if (all.length >= 2 && all.length >= 2 + all.readUInt16BE(0)) sock.destroy();
  });
  sock.on('error', () => {});
  sock.on('connect', () => sock.write(frame));
  sock.connect({ host: '127.0.0.1', port, localAddress });
  const timer = setTimeout(() => sock.destroy(), timeoutMs);
  // (not events.once: a reset is an 'error' here, an outcome like any close)
  await new Promise((r) => sock.once('close', r));
  clearTimeout(timer);
  return Buffer.concat(got);
}

/** A running `blastUdp`: stop it (the interval cleared, the sockets closed). */
export interface UdpBlast {
  stop(): void;
}

/**
 * Sends `query` from `sources` UDP sockets (bound to `address(i)`, an ephemeral port each) to
 * 127.0.0.1:`port` every `everyMs`, each reply handed to `onReply`, until stopped or `maxMs`
 * passed (bounded whatever the test does): for tests that ask from before a server binds until
 * after it serves (a worker joining the port's group must answer right from its first datagram).
 */
export async function blastUdp(opts: {
  port: number;
  query: Uint8Array;
  sources: number;
  address: (i: number) => string;
  onReply: (reply: Buffer) => void;
  everyMs?: number;
  maxMs: number;
}): Promise<UdpBlast> {
  const sockets: ReturnType<typeof createSocket>[] = [];
  for (let i = 0; i < opts.sources; i++) {
    const address = opts.address(i);
    assertLoopback(address);
    const s = createSocket('udp4');
    s.on('message', (m) => opts.onReply(m));
    s.on('error', () => undefined);
    await new Promise<void>((r) => s.bind(0, address, () => r()));
    sockets.push(s);
  }
  const deadline = Date.now() + opts.maxMs;
  const timer = setInterval(() => {
    if (Date.now() > deadline) return;
    for (const s of sockets) s.send(opts.query, opts.port, '127.0.0.1');
  }, opts.everyMs ?? 2);
  return {
    stop() {
      clearInterval(timer);
      for (const s of sockets) s.close();
    },
  };
}
