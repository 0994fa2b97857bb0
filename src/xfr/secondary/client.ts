/**
 * The client side of zone transfers (secondary role; docs/TRANSFERS.md "Secondary role"): the
 * SOA query that compares serials (UDP, then TCP when truncated) and AXFR over TCP (RFC 5936),
 * each signed with the zone's key when it has one, every response's TSIG checked
 * (`TsigVerifier`: RFC 8945 §5.3.1, the last message signed). A transfer is bounded in octets,
 * records and time (whole and idle): past a bound it is cut off and its records dropped — the
 * caller only ever sees a whole zone. Every response is checked: its ID, QR, opcode, RCODE,
 * question, class IN, the zone's SOA first and last, every owner inside the zone.
 * @module
 */
import { createSocket } from 'node:dgram';
import { isIP, Socket } from 'node:net';
import { RRClass, RRType, typeToString } from '../../wire/constants.js';
import { decodeMessage } from '../../wire/decode.js';
import { encodeMessage } from '../../wire/encode.js';
import type { EdnsOptionData, Message, RR } from '../../wire/message.js';
import type { Name } from '../../wire/name.js';
import { rdataToText, readSoa } from '../../wire/rdata.js';
import type { OutboundTarget } from '../outbound.js';
import { signTsigRequest, type TsigKey, TsigVerifier } from '../tsig.js';

/** The bounds of one transfer in. */
export interface TransferLimits {
  /** Most octets of all the messages together. */
  maxBytes: number;
  /** Most records (the two SOAs counted once). */
  maxRecords: number;
  /** Most milliseconds for the whole transfer. */
  timeoutMs: number;
  /** Most milliseconds without data. */
  idleMs: number;
}

export const DEFAULT_TRANSFER_LIMITS: TransferLimits = {
  maxBytes: 256 * 1024 * 1024,
  maxRecords: 1_000_000,
  timeoutMs: 120_000,
  idleMs: 15_000,
};

/** A transfer or query failed: why, in words fit for the API's `last_error`. */
export class TransferError extends Error {
  readonly code = 'XFR_ERR_IN';
}

/** A zone as transferred: its serial and records as master-file text (absolute names). */
export interface TransferredZone {
  serial: number;
  timers: SoaTimers;
  records: number;
  bytes: number;
  messages: number;
  text: string;
}

/** The SOA's serial and timers (RFC 1035 §3.3.13), as the master sent them. */
export interface SoaTimers {
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
}

function timersOf(rdata: Uint8Array): SoaTimers {
  const s = readSoa(rdata);
  return { serial: s.serial, refresh: s.refresh, retry: s.retry, expire: s.expire };
}

const FLAG_QR = 0x8000;
const FLAG_TC = 0x0200;

/** Query IDs are drawn from a pool of random octets, refilled 4 KiB at a time (one call each was slow). */
const idPool = new Uint16Array(2048);
let idNext = idPool.length;

function randomId(): number {
  if (idNext === idPool.length) {
    crypto.getRandomValues(idPool);
    idNext = 0;
  }
  return idPool[idNext++];
}

/**
 * `switchboard edge`'s NOTIFY address (docs/EDGE.md): an EDNS option of the local/experimental
 * range (RFC 6891 §9) in the edge's signed SOA checks, holding `ADDR:PORT` as text, so that
 * `start` learns where to NOTIFY the edge from a message the edge key signed.
 */
export const EDGE_NOTIFY_OPTION = 65301;

/**
 * A query for `zone`/`type` (with `authority`: IXFR's SOA; with `options`: an OPT carrying
 * them), signed with `key` when given (returns the octets as sent).
 */
export function buildQuery(
  zone: Name,
  type: number,
  key?: TsigKey,
  opcode = 0,
  authority: RR[] = [],
  options?: EdnsOptionData[],
): Uint8Array {
  const msg: Message = {
    id: randomId(),
    flags: (opcode & 0xf) << 11,
    questions: [{ name: zone, type, class: RRClass.IN }],
    answers: [],
    authority,
    additional: [],
    ...(options ? { edns: { udpSize: 1232, extendedRcode: 0, version: 0, flags: 0, options } } : {}),
  };
  const bytes = encodeMessage(msg);
  return key ? signTsigRequest(bytes, key) : bytes;
}

/** Checks a response's header and question against the request; the message, decoded. */
export function checkResponse(
  bytes: Uint8Array,
  request: Uint8Array,
  zone: Name,
  type: number,
  first: boolean,
): Message {
  let msg: Message;
  try {
    msg = decodeMessage(bytes);
  } catch (err) {
    throw new TransferError(`malformed response: ${(err as Error).message}`);
  }
  const id = (request[0] << 8) | request[1];
  if (msg.id !== id) throw new TransferError('response ID does not match the query');
  if ((msg.flags & FLAG_QR) === 0) throw new TransferError('not a response (QR clear)');
  if (((msg.flags >> 11) & 0xf) !== 0) throw new TransferError('response opcode is not QUERY');
  const rcode = (msg.flags & 0xf) | ((msg.edns?.extendedRcode ?? 0) << 4);
  if (rcode !== 0) throw new TransferError(`the master answered ${rcodeName(rcode)}`);
  // RFC 5936 §2.2.1: the question in the first message; later ones may omit it.
  if (first || msg.questions.length > 0) {
    const q = msg.questions[0];
    if (msg.questions.length !== 1 || !q.name.equals(zone) || q.type !== type || q.class !== RRClass.IN)
      throw new TransferError('response question does not match the query');
  }
  return msg;
}

function rcodeName(rcode: number): string {
  const names: Record<number, string> = {
    1: 'FORMERR',
    2: 'SERVFAIL',
    3: 'NXDOMAIN',
    4: 'NOTIMP',
    5: 'REFUSED',
    9: 'NOTAUTH',
  };
  return names[rcode] ?? `RCODE ${rcode}`;
}

/** The answer's records without TSIG/OPT. */
function recordsOf(msg: Message): RR[] {
  return msg.answers;
}

export function checkTsig(verifier: TsigVerifier | undefined, bytes: Uint8Array): void {
  if (!verifier) return;
  const why = verifier.verify(bytes);
  if (why !== undefined) throw new TransferError(`TSIG check failed: ${why}`);
}

/** One UDP exchange, or undefined when it timed out. */
function udpExchange(
  target: OutboundTarget,
  query: Uint8Array,
  timeoutMs: number,
): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIP(target.address) === 6 ? 'udp6' : 'udp4');
    const id = (query[0] << 8) | query[1];
    const timer = setTimeout(() => done(undefined), timeoutMs);
    let finished = false;
    function done(v: Uint8Array | undefined, err?: Error): void {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve(v);
    }
    sock.on('error', (err) =>
      done(undefined, new TransferError(`UDP to ${target.address}:${target.port}: ${err.message}`)),
    );
    sock.on('message', (m, rinfo) => {
      // Only the master's answer to this query; anything else is ignored.
      if (rinfo.address !== target.address || rinfo.port !== target.port) return;
      if (m.length < 2 || ((m[0] << 8) | m[1]) !== id) return;
      done(new Uint8Array(m));
    });
    sock.send(query, target.port, target.address);
  });
}

/**
 * A TCP connection reading length-prefixed messages (RFC 7766 §8), bounded: `onMessage` is
 * called for each; it returns true when the exchange is complete.
 */
export function tcpExchange(
  target: OutboundTarget,
  query: Uint8Array,
  limits: TransferLimits,
  onMessage: (bytes: Uint8Array) => boolean,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = new Socket();
    let finished = false;
    let buf: Buffer = Buffer.alloc(0);
    let total = 0;
    const whole = setTimeout(
      () =>
        fail(
          new TransferError(
            `transfer from ${target.address}:${target.port} took longer than ${limits.timeoutMs} ms`,
          ),
        ),
      limits.timeoutMs,
    );
    function fail(err: Error): void {
      if (finished) return;
      finished = true;
      clearTimeout(whole);
      sock.destroy();
      reject(err);
    }
    function ok(): void {
      if (finished) return;
      finished = true;
      clearTimeout(whole);
      sock.destroy();
      resolve();
    }
    sock.setTimeout(limits.idleMs, () =>
      fail(new TransferError(`no data from ${target.address}:${target.port} for ${limits.idleMs} ms`)),
    );
    sock.on('error', (err) =>
      fail(new TransferError(`TCP to ${target.address}:${target.port}: ${err.message}`)),
    );
    sock.on('close', () => {
      // After `ok` (which destroys the socket) a close is expected: no error made for it.
      if (!finished)
        fail(new TransferError(`${target.address}:${target.port} closed the connection mid-transfer`));
    });
    sock.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > limits.maxBytes) {
        fail(new TransferError(`transfer bigger than ${limits.maxBytes} octets: cut off`));
        return;
      }
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (!finished && buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = new Uint8Array(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
        try {
          if (onMessage(msg)) ok();
        } catch (err) {
          fail(err as Error);
        }
      }
    });
    sock.connect(target.port, target.address, () => {
      const framed = Buffer.allocUnsafe(2 + query.length);
      framed.writeUInt16BE(query.length, 0);
      framed.set(query, 2);
      sock.write(framed);
    });
  });
}

/**
 * The zone's SOA serial at `target` (UDP, TCP when truncated; TSIG when `key`): the answer
 * must be authoritative and hold the zone's SOA.
 */
export async function querySoa(
  target: OutboundTarget,
  zone: Name,
  key: TsigKey | undefined,
  timeoutMs = 5000,
  options?: EdnsOptionData[],
): Promise<SoaTimers> {
  const query = buildQuery(zone, RRType.SOA, key, 0, [], options);
  let bytes = await udpExchange(target, query, timeoutMs);
  if (bytes === undefined)
    throw new TransferError(`no answer from ${target.address}:${target.port} to the SOA query`);
  if ((bytes[2] & (FLAG_TC >> 8)) !== 0) {
    let got: Uint8Array | undefined;
    const tcpQuery = buildQuery(zone, RRType.SOA, key, 0, [], options);
    await tcpExchange(
      target,
      tcpQuery,
      { ...DEFAULT_TRANSFER_LIMITS, maxBytes: 70_000, timeoutMs, idleMs: timeoutMs },
      (m) => {
        got = m;
        return true;
      },
    );
    bytes = got as Uint8Array;
    return serialOf(bytes, tcpQuery, zone, key);
  }
  return serialOf(bytes, query, zone, key);
}

function serialOf(bytes: Uint8Array, query: Uint8Array, zone: Name, key: TsigKey | undefined): SoaTimers {
  const msg = checkResponse(bytes, query, zone, RRType.SOA, true);
  if (key) checkTsig(new TsigVerifier(key, query), bytes);
  if ((msg.flags & 0x0400) === 0)
    throw new TransferError('the master is not authoritative for the zone (AA clear)');
  const soa = msg.answers.find((r) => r.type === RRType.SOA && r.name.equals(zone));
  if (!soa) throw new TransferError('the SOA answer holds no SOA of the zone');
  return timersOf(soa.rdata);
}

/**
 * AXFR of `zone` from `target` over TCP (RFC 5936): the records between the two SOAs, checked
 * and bounded (see the module comment), as master-file text. Over a connection of its own, or
 * `exchange`'s (connection.ts's persistent, pipelined ones).
 */
export async function transferZone(
  target: OutboundTarget,
  zone: Name,
  key: TsigKey | undefined,
  limits: TransferLimits = DEFAULT_TRANSFER_LIMITS,
  exchange: typeof tcpExchange = tcpExchange,
): Promise<TransferredZone> {
  const query = buildQuery(zone, RRType.AXFR, key);
  const verifier = key ? new TsigVerifier(key, query) : undefined;
  const lines: string[] = [];
  let serial: number | undefined;
  let timers: SoaTimers | undefined;
  let records = 0;
  let bytes = 0;
  let messages = 0;
  let done = false;
  await exchange(target, query, limits, (m) => {
    bytes += m.length;
    const msg = checkResponse(m, query, zone, RRType.AXFR, messages === 0);
    messages++;
    checkTsig(verifier, m);
    for (const rr of recordsOf(msg)) {
      if (done) throw new TransferError('records after the closing SOA');
      if (rr.class !== RRClass.IN) throw new TransferError(`a record of class ${rr.class} in the transfer`);
      if (!rr.name.isSubdomainOf(zone)) throw new TransferError(`${rr.name} is outside the zone`);
      if (serial === undefined) {
        if (rr.type !== RRType.SOA || !rr.name.equals(zone))
          throw new TransferError("the transfer does not start with the zone's SOA");
        timers = timersOf(rr.rdata);
        serial = timers.serial;
      } else if (rr.type === RRType.SOA && rr.name.equals(zone)) {
        // RFC 5936 §2.2: the closing SOA ends the transfer (the first is the one kept).
        if (readSoa(rr.rdata).serial !== serial)
          throw new TransferError('the closing SOA has another serial (the zone changed mid-transfer)');
        done = true;
        continue;
      }
      if (++records > limits.maxRecords)
        throw new TransferError(`transfer of more than ${limits.maxRecords} records: cut off`);
      lines.push(
        `${rr.name.toString()} ${rr.ttl} IN ${typeToString(rr.type)} ${rdataToText(rr.type, rr.rdata)}`,
      );
    }
    if (done && verifier && !verifier.endsSigned)
      throw new TransferError('TSIG check failed: the last message is not signed');
    return done;
  });
  if (serial === undefined || timers === undefined || !done) throw new TransferError('incomplete transfer');
  return { serial, timers, records, bytes, messages, text: `${lines.join('\n')}\n` };
}
