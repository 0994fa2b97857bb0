/**
 * TSIG (RFC 8945): shared-secret transaction signatures over whole DNS messages.
 *
 * The server side only: find and check the TSIG record of a request (key, MAC with the
 * truncation rules of §5.2.2.1, time), and sign responses — the first with the request's MAC
 * and all the TSIG variables (§4.3.3), each later message of a multi-message answer (a zone
 * transfer) with the prior MAC and the timers only (§5.3.1). Error answers follow §5.3.2:
 * BADKEY and BADSIG unsigned, BADTIME signed with the client's time and ours in Other Data.
 * Every offset read from the wire is bounds-checked; a request we cannot read is `malformed`.
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Name } from '../wire/name.js';

/** The HMAC algorithms of RFC 8945 §6 that we accept, by their TSIG algorithm name. */
export const TSIG_ALGORITHMS = {
  'hmac-md5': { wire: 'hmac-md5.sig-alg.reg.int.', hash: 'md5', size: 16 },
  'hmac-sha1': { wire: 'hmac-sha1.', hash: 'sha1', size: 20 },
  'hmac-sha224': { wire: 'hmac-sha224.', hash: 'sha224', size: 28 },
  'hmac-sha256': { wire: 'hmac-sha256.', hash: 'sha256', size: 32 },
  'hmac-sha384': { wire: 'hmac-sha384.', hash: 'sha384', size: 48 },
  'hmac-sha512': { wire: 'hmac-sha512.', hash: 'sha512', size: 64 },
} as const;

export type TsigAlgorithm = keyof typeof TSIG_ALGORITHMS;

/** TSIG error codes (RFC 8945 §4.3: the TSIG RR's Error field). */
export const TsigError = { NOERROR: 0, BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22 } as const;

/** RFC 8945 §10: the recommended fudge. */
export const TSIG_FUDGE = 300;

const TSIG_TYPE = 250;
const CLASS_ANY = 255;
const RCODE_FORMERR = 1;
const RCODE_NOTAUTH = 9;

/** A shared key: its name (compared case-insensitively), algorithm and secret. */
export interface TsigKey {
  readonly name: Name;
  readonly algorithm: TsigAlgorithm;
  readonly secret: Uint8Array;
}

export class TsigKeyError extends Error {
  readonly code = 'TSIG_ERR_KEY';
}

/**
 * The algorithm named `text`, in any of the spellings peers use: `hmac-sha256`,
 * `hmac-sha256.`, `HMAC-MD5.SIG-ALG.REG.INT`; undefined when not one we implement.
 */
export function tsigAlgorithmOf(text: string): TsigAlgorithm | undefined {
  let t = text.toLowerCase();
  if (t.endsWith('.')) t = t.slice(0, -1);
  if (t === 'hmac-md5.sig-alg.reg.int') return 'hmac-md5';
  return Object.hasOwn(TSIG_ALGORITHMS, t) ? (t as TsigAlgorithm) : undefined;
}

/** A key from its parts; the secret is base64 (RFC 4648, as BIND's and Knot's key files). */
export function makeTsigKey(name: string, algorithm: string, secretBase64: string): TsigKey {
  const alg = tsigAlgorithmOf(algorithm);
  if (alg === undefined) throw new TsigKeyError(`unknown TSIG algorithm '${algorithm}'`);
  let keyName: Name;
  try {
    keyName = Name.parse(name.endsWith('.') ? name : `${name}.`);
  } catch {
    throw new TsigKeyError(`bad TSIG key name '${name}'`);
  }
  if (keyName.isRoot) throw new TsigKeyError('a TSIG key needs a name');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(secretBase64) || secretBase64.length % 4 !== 0)
    throw new TsigKeyError(`the secret of TSIG key '${name}' is not base64`);
  const secret = new Uint8Array(Buffer.from(secretBase64, 'base64'));
  if (secret.length === 0) throw new TsigKeyError(`the secret of TSIG key '${name}' is empty`);
  return { name: keyName, algorithm: alg, secret };
}

/** `NAME:ALG:SECRET` (the `--transfer-key` flag) as a key. */
export function parseTsigKeySpec(spec: string): TsigKey {
  const first = spec.indexOf(':');
  const second = first < 0 ? -1 : spec.indexOf(':', first + 1);
  if (first <= 0 || second < 0)
    throw new TsigKeyError(`TSIG key '${redact(spec)}' is not NAME:ALGORITHM:SECRET`);
  return makeTsigKey(spec.slice(0, first), spec.slice(first + 1, second), spec.slice(second + 1));
}

/** A spec with its secret hidden, for error messages (secrets are never logged). */
function redact(spec: string): string {
  const parts = spec.split(':');
  return parts.length >= 3 ? `${parts[0]}:${parts[1]}:…` : '…';
}

/** A fresh random secret of the algorithm's output size, base64 (as `tsig-keygen`/`keymgr -t`). */
export function generateTsigSecret(algorithm: TsigAlgorithm): string {
  const bytes = new Uint8Array(TSIG_ALGORITHMS[algorithm].size);
  crypto.getRandomValues(bytes);
  return Buffer.from(bytes).toString('base64');
}

/** The TSIG record found at the end of a message (RFC 8945 §4.2). */
export interface TsigRecord {
  /** Where the TSIG RR starts: the message without it is `msg.subarray(0, offset)`. */
  offset: number;
  /** The key name as sent (wire form, latin1), and folded. */
  keyName: Name;
  algorithmName: Name;
  timeSigned: number;
  fudge: number;
  mac: Uint8Array;
  originalId: number;
  error: number;
  other: Uint8Array;
}

/**
 * The TSIG record of `msg`: undefined when it has none, 'malformed' when the message cannot
 * be walked or a TSIG is anywhere but last in the additional section, or is ill-formed.
 */
export function findTsig(msg: Uint8Array): TsigRecord | 'malformed' | undefined {
  if (msg.length < 12) return 'malformed';
  const qd = (msg[4] << 8) | msg[5];
  const total = ((msg[6] << 8) | msg[7]) + ((msg[8] << 8) | msg[9]) + ((msg[10] << 8) | msg[11]);
  let at = 12;
  for (let i = 0; i < qd; i++) {
    at = skipName(msg, at);
    if (at < 0 || at + 4 > msg.length) return 'malformed';
    at += 4;
  }
  let last = -1;
  let lastType = -1;
  for (let i = 0; i < total; i++) {
    const start = at;
    at = skipName(msg, at);
    if (at < 0 || at + 10 > msg.length) return 'malformed';
    const type = (msg[at] << 8) | msg[at + 1];
    const rdlength = (msg[at + 8] << 8) | msg[at + 9];
    at += 10 + rdlength;
    if (at > msg.length) return 'malformed';
    // RFC 8945 §5.1: a TSIG anywhere but last is a format error.
    if (lastType === TSIG_TYPE) return 'malformed';
    last = start;
    lastType = type;
  }
  if (lastType !== TSIG_TYPE) return undefined;
  const arcount = (msg[10] << 8) | msg[11];
  if (arcount === 0) return 'malformed';
  return readTsig(msg, last);
}

/** The TSIG RR at `start` (bounds-checked), or 'malformed'. */
function readTsig(msg: Uint8Array, start: number): TsigRecord | 'malformed' {
  const keyName = readName(msg, start);
  if (keyName === undefined) return 'malformed';
  let at = skipName(msg, start);
  const cls = (msg[at + 2] << 8) | msg[at + 3];
  const ttl = ((msg[at + 4] << 24) | (msg[at + 5] << 16) | (msg[at + 6] << 8) | msg[at + 7]) >>> 0;
  const rdlength = (msg[at + 8] << 8) | msg[at + 9];
  at += 10;
  const end = at + rdlength;
  if (cls !== CLASS_ANY || ttl !== 0 || end !== msg.length) return 'malformed';
  // RDATA: algorithm name (RFC 8945 §4.2: not compressed), then fixed fields.
  const algorithmName = readName(msg, at, true);
  if (algorithmName === undefined) return 'malformed';
  at = skipName(msg, at);
  if (at + 10 > end) return 'malformed';
  const timeSigned = read48(msg, at);
  const fudge = (msg[at + 6] << 8) | msg[at + 7];
  const macSize = (msg[at + 8] << 8) | msg[at + 9];
  at += 10;
  if (at + macSize + 6 > end) return 'malformed';
  const mac = msg.slice(at, at + macSize);
  at += macSize;
  const originalId = (msg[at] << 8) | msg[at + 1];
  const error = (msg[at + 2] << 8) | msg[at + 3];
  const otherLen = (msg[at + 4] << 8) | msg[at + 5];
  at += 6;
  if (at + otherLen !== end) return 'malformed';
  const other = msg.slice(at, end);
  return { offset: start, keyName, algorithmName, timeSigned, fudge, mac, originalId, error, other };
}

/** The offset after the name at `at`, or -1 (bounds and label rules checked; pointers end it). */
function skipName(msg: Uint8Array, at: number): number {
  let n = 0;
  for (;;) {
    if (at >= msg.length) return -1;
    const len = msg[at];
    if (len === 0) return at + 1;
    if ((len & 0xc0) === 0xc0) return at + 2 <= msg.length ? at + 2 : -1;
    if ((len & 0xc0) !== 0) return -1;
    n += len + 1;
    if (n > 254) return -1;
    at += len + 1;
  }
}

/** The name at `at`, following compression pointers unless `plain`; undefined when ill-formed. */
function readName(msg: Uint8Array, at: number, plain = false): Name | undefined {
  let wire = '';
  let hops = 0;
  for (;;) {
    if (at >= msg.length) return undefined;
    const len = msg[at];
    if (len === 0) break;
    if ((len & 0xc0) === 0xc0) {
      if (plain || at + 1 >= msg.length || ++hops > 64) return undefined;
      const target = ((len & 0x3f) << 8) | msg[at + 1];
      if (target >= at) return undefined;
      at = target;
      continue;
    }
    if ((len & 0xc0) !== 0 || at + 1 + len > msg.length) return undefined;
    wire += String.fromCharCode(len);
    for (let i = 1; i <= len; i++) wire += String.fromCharCode(msg[at + i]);
    if (wire.length > 254) return undefined;
    at += len + 1;
  }
  return Name.fromWire(`${wire}\0`);
}

function read48(b: Uint8Array, at: number): number {
  return (
    ((b[at] << 8) | b[at + 1]) * 2 ** 32 +
    (((b[at + 2] << 24) | (b[at + 3] << 16) | (b[at + 4] << 8) | b[at + 5]) >>> 0)
  );
}

function write48(b: Uint8Array, at: number, v: number): void {
  const hi = Math.floor(v / 2 ** 32);
  const lo = v >>> 0;
  b[at] = (hi >> 8) & 0xff;
  b[at + 1] = hi & 0xff;
  b[at + 2] = lo >>> 24;
  b[at + 3] = (lo >> 16) & 0xff;
  b[at + 4] = (lo >> 8) & 0xff;
  b[at + 5] = lo & 0xff;
}

/** The canonical (lower-case, uncompressed) wire octets of a name. */
function canonicalWire(name: Name): Buffer {
  return Buffer.from(name.key, 'latin1');
}

function u16(v: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(v & 0xffff, 0);
  return b;
}

/** Seconds since the epoch, as TSIG counts time. */
export function tsigNow(): number {
  return Math.floor(Date.now() / 1000);
}

/** What `verifyTsigRequest` decided. */
export type TsigVerdict =
  | { ok: true; key: TsigKey; tsig: TsigRecord }
  /**
   * The request fails: answer with `rcode` (NOTAUTH, or FORMERR) and TSIG error `error`.
   * `key` is set when the answer is to be signed (BADTIME: the MAC checked out).
   */
  | { ok: false; rcode: number; error: number; tsig: TsigRecord; key?: TsigKey };

/**
 * Checks the TSIG of a request (RFC 8945 §5.2): the key (by name, in `lookup`, and its
 * algorithm), the MAC (§5.2.2, truncation per §5.2.2.1), then the time (§5.2.3).
 */
export function verifyTsigRequest(
  msg: Uint8Array,
  tsig: TsigRecord,
  lookup: (name: Name) => TsigKey | undefined,
  now = tsigNow(),
): TsigVerdict {
  const key = lookup(tsig.keyName);
  const alg = tsigAlgorithmOf(tsig.algorithmName.toString());
  // §5.2.1: an unknown key, or a known one with another algorithm: BADKEY.
  if (key === undefined || alg !== key.algorithm)
    return { ok: false, rcode: RCODE_NOTAUTH, error: TsigError.BADKEY, tsig };
  const full = TSIG_ALGORITHMS[alg].size;
  const size = tsig.mac.length;
  // §5.2.2.1: longer than the hash, or shorter than max(10, half of it): FORMERR.
  if (size > full || size < Math.max(10, Math.ceil(full / 2)))
    return { ok: false, rcode: RCODE_FORMERR, error: TsigError.NOERROR, tsig };
  const computed = macOf(key, [
    unsignedMessage(msg, tsig),
    variables(tsig, tsig.timeSigned, tsig.fudge, tsig.error, tsig.other),
  ]);
  if (!timingSafeEqual(computed.subarray(0, size), tsig.mac))
    return { ok: false, rcode: RCODE_NOTAUTH, error: TsigError.BADSIG, tsig };
  // §5.2.3: outside Time Signed ± Fudge: BADTIME, signed.
  if (Math.abs(now - tsig.timeSigned) > tsig.fudge)
    return { ok: false, rcode: RCODE_NOTAUTH, error: TsigError.BADTIME, tsig, key };
  return { ok: true, key, tsig };
}

/** The message as it was before its TSIG was added: without the RR, ARCOUNT − 1, original ID. */
function unsignedMessage(msg: Uint8Array, tsig: TsigRecord): Buffer {
  const out = Buffer.from(msg.subarray(0, tsig.offset));
  const ar = out.readUInt16BE(10);
  out.writeUInt16BE(ar - 1, 10);
  out.writeUInt16BE(tsig.originalId, 0);
  return out;
}

/** The TSIG variables of RFC 8945 §4.3.3. */
function variables(
  tsig: { keyName: Name; algorithmName: Name },
  time: number,
  fudge: number,
  error: number,
  other: Uint8Array,
): Buffer {
  const fixed = Buffer.alloc(6);
  fixed.writeUInt16BE(CLASS_ANY, 0);
  const timers = Buffer.alloc(8);
  write48(timers, 0, time);
  timers.writeUInt16BE(fudge, 6);
  return Buffer.concat([
    canonicalWire(tsig.keyName),
    fixed,
    canonicalWire(tsig.algorithmName),
    timers,
    u16(error),
    u16(other.length),
    other,
  ]);
}

function macOf(key: TsigKey, parts: readonly Uint8Array[]): Buffer {
  const h = createHmac(TSIG_ALGORITHMS[key.algorithm].hash, key.secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

/**
 * Signs the responses to one verified request: the first with the request MAC and the full
 * variables (§4.3.1), each later one with the prior MAC and the timers (§5.3.1). One signer
 * per answered request; `sign` must be called on the messages in the order they are sent.
 */
export class TsigSigner {
  readonly key: TsigKey;
  readonly #algorithmName: Name;
  #prior: Uint8Array;
  #first = true;

  /** `requestMac`: the request's MAC as received (truncated when it was). */
  constructor(key: TsigKey, requestMac: Uint8Array) {
    this.key = key;
    this.#algorithmName = Name.parse(TSIG_ALGORITHMS[key.algorithm].wire);
    this.#prior = requestMac;
  }

  /** Octets the TSIG RR adds to a message (to reserve when packing one). */
  get overhead(): number {
    return (
      tsigRdataOffset(this.key.name, this.#algorithmName) + 16 + TSIG_ALGORITHMS[this.key.algorithm].size + 6
    );
  }

  /**
   * `message` (a finished response without TSIG) with its TSIG appended: the TSIG's error
   * `error` and, for BADTIME, `other` (our time) and `timeSigned` (the client's).
   */
  sign(
    message: Uint8Array,
    now = tsigNow(),
    error: number = TsigError.NOERROR,
    other: Uint8Array = EMPTY,
  ): Uint8Array {
    const id = (message[0] << 8) | message[1];
    const prior = Buffer.concat([u16(this.#prior.length), this.#prior]);
    const body = Buffer.from(message.buffer, message.byteOffset, message.length);
    const mac = this.#first
      ? macOf(this.key, [
          prior,
          body,
          variables(
            { keyName: this.key.name, algorithmName: this.#algorithmName },
            now,
            TSIG_FUDGE,
            error,
            other,
          ),
        ])
      : macOf(this.key, [prior, body, timersOf(now)]);
    this.#first = false;
    this.#prior = mac;
    return appendTsig(message, this.key.name, this.#algorithmName, now, mac, id, error, other);
  }
}

const EMPTY = new Uint8Array(0);

/**
 * `message` (a request without TSIG) signed with `key` (RFC 8945 §4.3.3: the message and the
 * variables, no prior MAC): the client side, for NOTIFY and transfers in (and tests).
 */
export function signTsigRequest(message: Uint8Array, key: TsigKey, now = tsigNow()): Uint8Array {
  const algorithmName = Name.parse(TSIG_ALGORITHMS[key.algorithm].wire);
  const body = Buffer.from(message.buffer, message.byteOffset, message.length);
  const mac = macOf(key, [body, variables({ keyName: key.name, algorithmName }, now, TSIG_FUDGE, 0, EMPTY)]);
  return appendTsig(message, key.name, algorithmName, now, mac, (message[0] << 8) | message[1], 0, EMPTY);
}

function timersOf(now: number): Buffer {
  const b = Buffer.alloc(8);
  write48(b, 0, now);
  b.writeUInt16BE(TSIG_FUDGE, 6);
  return b;
}

/** Length of a TSIG RR's fixed head before its MAC octets: owner, type … algorithm name. */
function tsigRdataOffset(keyName: Name, algorithmName: Name): number {
  return keyName.length + 10 + algorithmName.length;
}

/** `message` with a TSIG RR appended and ARCOUNT + 1. */
function appendTsig(
  message: Uint8Array,
  keyName: Name,
  algorithmName: Name,
  time: number,
  mac: Uint8Array,
  originalId: number,
  error: number,
  other: Uint8Array,
): Uint8Array {
  const rdlen = algorithmName.length + 10 + mac.length + 6 + other.length;
  const out = Buffer.allocUnsafe(message.length + keyName.length + 10 + rdlen);
  out.set(message, 0);
  let at = message.length;
  out.write(keyName.wire, at, 'latin1');
  at += keyName.length;
  out.writeUInt16BE(TSIG_TYPE, at);
  out.writeUInt16BE(CLASS_ANY, at + 2);
  out.writeUInt32BE(0, at + 4);
  out.writeUInt16BE(rdlen, at + 8);
  at += 10;
  out.write(algorithmName.key, at, 'latin1');
  at += algorithmName.length;
  write48(out, at, time);
  out.writeUInt16BE(TSIG_FUDGE, at + 6);
  out.writeUInt16BE(mac.length, at + 8);
  at += 10;
  out.set(mac, at);
  at += mac.length;
  out.writeUInt16BE(originalId, at);
  out.writeUInt16BE(error, at + 2);
  out.writeUInt16BE(other.length, at + 4);
  at += 6;
  out.set(other, at);
  out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/**
 * The TSIG of an error answer to a request that failed `verifyTsigRequest`, appended to
 * `message` (the response without TSIG; its RCODE already NOTAUTH). BADKEY/BADSIG: unsigned,
 * an empty MAC, the request's time (§5.3.2). BADTIME: signed with the key, Time Signed the
 * client's, our time in Other Data (§5.2.3).
 */
export function signTsigError(
  message: Uint8Array,
  verdict: TsigVerdict & { ok: false },
  now = tsigNow(),
): Uint8Array {
  const t = verdict.tsig;
  const id = (message[0] << 8) | message[1];
  if (verdict.error === TsigError.BADTIME && verdict.key !== undefined) {
    const other = new Uint8Array(6);
    write48(other, 0, now);
    const key = verdict.key;
    const algorithmName = Name.parse(TSIG_ALGORITHMS[key.algorithm].wire);
    const prior = Buffer.concat([u16(t.mac.length), t.mac]);
    const body = Buffer.from(message.buffer, message.byteOffset, message.length);
    const mac = macOf(key, [
      prior,
      body,
      variables({ keyName: key.name, algorithmName }, t.timeSigned, TSIG_FUDGE, verdict.error, other),
    ]);
    return appendTsig(message, key.name, algorithmName, t.timeSigned, mac, id, verdict.error, other);
  }
  return appendTsig(message, t.keyName, t.algorithmName, t.timeSigned, EMPTY, id, verdict.error, EMPTY);
}

/** Most unsigned messages in a row a signed transfer may carry (RFC 8945 §5.3.1: 99). */
export const TSIG_MAX_UNSIGNED = 99;

/**
 * The client side of a signed exchange (RFC 8945 §5.3.1, §5.4): checks each response to one
 * signed request, in the order received — the first with the request's MAC and all the TSIG
 * variables, each later signed one with the prior MAC, every message since it, and the timers.
 * Messages without TSIG between signed ones are taken (at most 99 in a row) and covered by the
 * next MAC; the last message of an exchange must be signed (`finish`). A response whose key,
 * algorithm, MAC or time is wrong, or that carries a TSIG error, fails with the reason.
 */
export class TsigVerifier {
  readonly key: TsigKey;
  #prior: Uint8Array;
  #first = true;
  #pending: Uint8Array[] = [];
  #lastSigned = false;

  /** `request`: the request as sent, signed (its MAC starts the chain). */
  constructor(key: TsigKey, request: Uint8Array) {
    this.key = key;
    const t = findTsig(request);
    if (t === undefined || t === 'malformed') throw new TsigKeyError('the request is not signed');
    this.#prior = t.mac;
  }

  /** Checks one response; returns the reason it fails, or undefined when it passes. */
  verify(msg: Uint8Array, now = tsigNow()): string | undefined {
    const tsig = findTsig(msg);
    if (tsig === 'malformed') return 'malformed TSIG';
    if (tsig === undefined) {
      if (this.#first) return 'the response is not signed';
      if (this.#pending.length >= TSIG_MAX_UNSIGNED)
        return `more than ${TSIG_MAX_UNSIGNED} unsigned messages in a row`;
      this.#pending.push(msg);
      this.#lastSigned = false;
      return undefined;
    }
    if (!tsig.keyName.equals(this.key.name)) return `signed with another key (${tsig.keyName})`;
    if (tsigAlgorithmOf(tsig.algorithmName.toString()) !== this.key.algorithm)
      return 'signed with another algorithm';
    if (tsig.error !== TsigError.NOERROR) return `TSIG error ${tsigErrorName(tsig.error)}`;
    const full = TSIG_ALGORITHMS[this.key.algorithm].size;
    if (tsig.mac.length > full || tsig.mac.length < Math.max(10, Math.ceil(full / 2))) return 'bad MAC size';
    const prior = Buffer.concat([u16(this.#prior.length), this.#prior]);
    const computed = this.#first
      ? macOf(this.key, [
          prior,
          unsignedMessage(msg, tsig),
          variables(tsig, tsig.timeSigned, tsig.fudge, tsig.error, tsig.other),
        ])
      : macOf(this.key, [prior, ...this.#pending, unsignedMessage(msg, tsig), timersOfMessage(tsig)]);
    if (!timingSafeEqual(computed.subarray(0, tsig.mac.length), tsig.mac)) return 'bad MAC (BADSIG)';
    if (Math.abs(now - tsig.timeSigned) > tsig.fudge) return 'time outside the fudge (BADTIME)';
    this.#first = false;
    this.#pending = [];
    this.#prior = tsig.mac;
    this.#lastSigned = true;
    return undefined;
  }

  /** Whether the last message checked was signed (an exchange must end signed). */
  get endsSigned(): boolean {
    return this.#lastSigned;
  }
}

function timersOfMessage(tsig: TsigRecord): Buffer {
  const b = Buffer.alloc(8);
  write48(b, 0, tsig.timeSigned);
  b.writeUInt16BE(tsig.fudge, 6);
  return b;
}

/** A TSIG error's name, for messages. */
export function tsigErrorName(code: number): string {
  for (const [k, v] of Object.entries(TsigError)) if (v === code) return k;
  return String(code);
}
