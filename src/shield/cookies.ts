/**
 * DNS cookies, server side (RFC 7873), with interoperable server cookies (RFC 9018): any
 * server holding the same secret — another Switchboard worker, an edge, or a BIND/Knot/
 * PowerDNS server configured with that secret — makes and accepts the same cookies.
 *
 * A version-1 server cookie is 16 octets: version (1), three reserved zero octets, a 32-bit
 * timestamp (seconds since the epoch, compared with RFC 1982 serial arithmetic) and an 8-octet
 * SipHash-2-4 over client cookie | version | reserved | timestamp | client address, keyed by
 * the server secret.
 *
 * Checking never allocates: the caller hands the query's octets, the offset and length of its
 * COOKIE option data (QueryView's `cookieAt`/`cookieLength`) and the source address octets.
 */
import { randomBytes } from 'node:crypto';
import { sipHash24 } from './siphash.js';

/** Octets of a client cookie (RFC 7873 §4). */
export const CLIENT_COOKIE_LENGTH = 8;
/** Octets of a version-1 server cookie (RFC 9018 §4). */
export const SERVER_COOKIE_LENGTH = 16;
/** Octets of a COOKIE option's data as we answer it: client + server cookie. */
export const COOKIE_OPTION_LENGTH = CLIENT_COOKIE_LENGTH + SERVER_COOKIE_LENGTH;
/** A server cookie older than this is accepted no more (RFC 9018 §4.3: one hour). */
export const COOKIE_MAX_AGE_SECONDS = 3600;
/** A server cookie dated this far ahead is still accepted (RFC 9018 §4.3: five minutes). */
export const COOKIE_MAX_SKEW_SECONDS = 300;
/** A valid server cookie older than this is replaced by a fresh one (RFC 9018 §4.3). */
export const COOKIE_REFRESH_SECONDS = 1800;

/** What a query's COOKIE option says (RFC 7873 §5.2). */
export const CookieStatus = {
  /** No COOKIE option. */
  none: 0,
  /** A COOKIE option of a length RFC 7873 forbids: the answer is FORMERR. */
  malformed: 1,
  /** A client cookie alone (a first contact, or a client that dropped our cookie). */
  clientOnly: 2,
  /** A server cookie we did not make, made for another client cookie or address, or expired. */
  invalid: 3,
  /** A server cookie we made for this client cookie and address, within its lifetime. */
  valid: 4,
} as const;
export type CookieStatus = (typeof CookieStatus)[keyof typeof CookieStatus];

/** Parses a 16-octet secret written as 32 hexadecimal digits. */
export function parseCookieSecret(text: string): Uint8Array {
  if (!/^[0-9a-fA-F]{32}$/.test(text)) {
    throw new RangeError('a cookie secret is 32 hexadecimal digits (16 octets)');
  }
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

/** A fresh random 16-octet secret. */
export function randomCookieSecret(): Uint8Array {
  return Uint8Array.from(randomBytes(16));
}

/**
 * The secrets of a server: one that makes cookies, and up to two more that are still (or
 * already) accepted — RFC 9018 §5's rollover: a new secret is first accepted everywhere,
 * then made everywhere, and the old one is accepted for one more cookie lifetime.
 */
export class CookieSecrets {
  #make: Uint8Array;
  #accept: Uint8Array[];

  constructor(make: Uint8Array, accept: readonly Uint8Array[] = []) {
    if (make.length !== 16) throw new RangeError('a cookie secret is 16 octets');
    if (accept.length > 2) throw new RangeError('at most two more cookie secrets are accepted');
    for (const s of accept) if (s.length !== 16) throw new RangeError('a cookie secret is 16 octets');
    this.#make = make;
    this.#accept = [...accept];
  }

  /** The secret cookies are made with. */
  get current(): Uint8Array {
    return this.#make;
  }

  /** The other secrets still accepted. */
  get accepted(): readonly Uint8Array[] {
    return this.#accept;
  }

  /**
   * Makes `next` the secret cookies are made with; the current one stays accepted (the
   * caller drops it with `retire` once every cookie it made has expired, an hour later).
   */
  rotate(next: Uint8Array): void {
    if (next.length !== 16) throw new RangeError('a cookie secret is 16 octets');
    this.#accept = [this.#make, ...this.#accept].slice(0, 2);
    this.#make = next;
  }

  /** Stops accepting every secret but the current one. */
  retire(): void {
    this.#accept = [];
  }
}

const scratch = new Uint8Array(CLIENT_COOKIE_LENGTH + 8 + 16);
const hashOut = new Uint8Array(8);

/** Fills scratch with client cookie | version | reserved | timestamp | address; its length. */
function hashInput(
  query: Uint8Array,
  clientAt: number,
  stamp: Uint8Array | null,
  stampAt: number,
  timestamp: number,
  address: Uint8Array,
): number {
  for (let i = 0; i < CLIENT_COOKIE_LENGTH; i++) scratch[i] = query[clientAt + i];
  if (stamp !== null) {
    for (let i = 0; i < 8; i++) scratch[8 + i] = stamp[stampAt + i];
  } else {
    scratch[8] = 1;
    scratch[9] = 0;
    scratch[10] = 0;
    scratch[11] = 0;
    scratch[12] = timestamp >>> 24;
    scratch[13] = (timestamp >>> 16) & 0xff;
    scratch[14] = (timestamp >>> 8) & 0xff;
    scratch[15] = timestamp & 0xff;
  }
  scratch.set(address, 16);
  return 16 + address.length;
}

function checkAddress(address: Uint8Array): void {
  if (address.length !== 4 && address.length !== 16) {
    throw new RangeError('a client address is 4 (IPv4) or 16 (IPv6) octets');
  }
}

/** `a - b` for 32-bit serial numbers (RFC 1982), as a signed number of seconds. */
function serialDifference(a: number, b: number): number {
  return ((a - b) | 0) as number;
}

/** Seconds since the epoch, as a 32-bit serial number. */
export function cookieClock(nowMs: number = Date.now()): number {
  return Math.floor(nowMs / 1000) >>> 0;
}

/**
 * Classifies a query's COOKIE option (`length` octets at `at`; `at < 0` for none) against
 * the client's address (4 or 16 octets) at `now` (cookieClock()).
 */
export function checkCookie(
  query: Uint8Array,
  at: number,
  length: number,
  address: Uint8Array,
  now: number,
  secrets: CookieSecrets,
): CookieStatus {
  if (at < 0) return CookieStatus.none;
  if (at + length > query.length) return CookieStatus.malformed;
  if (length === CLIENT_COOKIE_LENGTH) return CookieStatus.clientOnly;
  if (length < CLIENT_COOKIE_LENGTH + 8 || length > CLIENT_COOKIE_LENGTH + 32) return CookieStatus.malformed;
  // A server cookie of another shape (another vendor's, or another version) is not ours.
  if (length !== COOKIE_OPTION_LENGTH) return CookieStatus.invalid;
  const server = at + CLIENT_COOKIE_LENGTH;
  if (query[server] !== 1 || query[server + 1] !== 0 || query[server + 2] !== 0 || query[server + 3] !== 0) {
    return CookieStatus.invalid;
  }
  checkAddress(address);
  const stamp =
    ((query[server + 4] << 24) | (query[server + 5] << 16) | (query[server + 6] << 8) | query[server + 7]) >>>
    0;
  const age = serialDifference(now, stamp);
  if (age > COOKIE_MAX_AGE_SECONDS || age < -COOKIE_MAX_SKEW_SECONDS) return CookieStatus.invalid;
  const n = hashInput(query, at, query, server, 0, address);
  if (hashMatches(secrets.current, n, query, server + 8)) return CookieStatus.valid;
  for (const secret of secrets.accepted)
    if (hashMatches(secret, n, query, server + 8)) return CookieStatus.valid;
  return CookieStatus.invalid;
}

function hashMatches(secret: Uint8Array, n: number, query: Uint8Array, hashAt: number): boolean {
  sipHash24(secret, scratch, 0, n, hashOut, 0);
  let diff = 0;
  for (let i = 0; i < 8; i++) diff |= hashOut[i] ^ query[hashAt + i];
  return diff === 0;
}

/**
 * Whether a server cookie the query carried (and checkCookie found valid) may be sent back
 * as it is; false when it is old enough to be replaced (RFC 9018 §4.3: after half an hour).
 */
export function cookieStillFresh(query: Uint8Array, at: number, now: number): boolean {
  const s = at + CLIENT_COOKIE_LENGTH + 4;
  const stamp = ((query[s] << 24) | (query[s + 1] << 16) | (query[s + 2] << 8) | query[s + 3]) >>> 0;
  const age = serialDifference(now, stamp);
  return age >= 0 && age <= COOKIE_REFRESH_SECONDS;
}

/**
 * Writes the COOKIE option data of an answer — the query's client cookie (at `clientAt` in
 * `query`) and a new version-1 server cookie for `address` at `now` — as 24 octets at
 * `out[outAt]`. Returns the offset after it.
 */
export function writeCookie(
  out: Uint8Array,
  outAt: number,
  query: Uint8Array,
  clientAt: number,
  address: Uint8Array,
  now: number,
  secret: Uint8Array,
): number {
  if (outAt < 0 || outAt + COOKIE_OPTION_LENGTH > out.length) throw new RangeError('cookie does not fit');
  if (clientAt < 0 || clientAt + CLIENT_COOKIE_LENGTH > query.length)
    throw new RangeError('no client cookie there');
  checkAddress(address);
  const n = hashInput(query, clientAt, null, 0, now >>> 0, address);
  for (let i = 0; i < 16; i++) out[outAt + i] = scratch[i];
  sipHash24(secret, scratch, 0, n, out, outAt + 16);
  return outAt + COOKIE_OPTION_LENGTH;
}
