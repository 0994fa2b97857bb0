/**
 * Limits of the shared API (docs/API.md, "Limits"; issue 6): request rates per account (all
 * its tokens share one bucket, so minting tokens does not raise it) and per token; concurrent
 * heavy requests per account; zones created per account per hour; failed API keys per source
 * address, refused with 429 before the key is even looked at; which proxies' X-Forwarded-For
 * is believed. Administrator tokens are exempt from the account, token, heavy and zone limits
 * (they are the operator); the failed-key limit applies to every caller.
 *
 * All state is in memory, per process: with several replicas on PostgreSQL each limits on its
 * own. Every map is bounded (see buckets.ts).
 * @module
 */
import { BlockList, isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../control/types.js';
import { BucketMap, type Clock, ConcurrencyMap } from './buckets.js';
import { ApiError } from './errors.js';
import { RawJsonBody } from './raw-body.js';

/** The limits, each with a documented default; 0 turns a limit off. */
export interface ApiLimits {
  /** Requests a second per account, all its tokens together. */
  accountRate: number;
  /** Requests an account may send at once above its rate. */
  accountBurst: number;
  /** Requests a second per token. */
  tokenRate: number;
  tokenBurst: number;
  /** Heavy requests (see `isHeavy…`) in progress at once per account. */
  heavyConcurrency: number;
  /** A request body larger than this (bytes) makes a request heavy. */
  heavyBodyBytes: number;
  /** A change list (`changes`, PowerDNS `rrsets`) longer than this makes a request heavy. */
  heavyChanges: number;
  /** Zones an account may create per hour (a bucket of this size refilled over an hour). */
  zonesPerHour: number;
  /** Failed API keys a source address may send at once... */
  failedKeys: number;
  /** ...and per minute after that. */
  failedKeysPerMinute: number;
  /** Addresses or CIDR ranges of reverse proxies whose X-Forwarded-For is believed. */
  trustedProxies: string[];
  /** Most buckets kept per kind (accounts, tokens, sources); least recently used go first. */
  maxBuckets: number;
}

/** The defaults (docs/API.md, "Limits"). */
export const DEFAULT_API_LIMITS: Readonly<ApiLimits> = Object.freeze({
  accountRate: 50,
  accountBurst: 200,
  tokenRate: 20,
  tokenBurst: 100,
  heavyConcurrency: 2,
  heavyBodyBytes: 64 * 1024,
  heavyChanges: 100,
  zonesPerHour: 200,
  failedKeys: 10,
  failedKeysPerMinute: 10,
  trustedProxies: [],
  maxBuckets: 100_000,
});

/** The numeric limits by the name `--limit NAME=N` and the 429 body use. */
export const API_LIMIT_NAMES: Readonly<Record<string, Exclude<keyof ApiLimits, 'trustedProxies'>>> =
  Object.freeze({
    'account-rate': 'accountRate',
    'account-burst': 'accountBurst',
    'token-rate': 'tokenRate',
    'token-burst': 'tokenBurst',
    'heavy-concurrency': 'heavyConcurrency',
    'heavy-body-bytes': 'heavyBodyBytes',
    'heavy-changes': 'heavyChanges',
    'zones-per-hour': 'zonesPerHour',
    'failed-keys': 'failedKeys',
    'failed-keys-per-minute': 'failedKeysPerMinute',
    'max-buckets': 'maxBuckets',
  });

/** A request refused by a limit: 429 with `Retry-After` (seconds) and the limit's name. */
export class RateLimitError extends ApiError {
  /** The limit's name (`token-rate`, `failed-keys`, …). */
  readonly limit: string;
  /** Seconds to wait (at least 1). */
  readonly retryAfter: number;
  constructor(limit: string, retryAfterMs: number, message: string) {
    const retryAfter = Math.max(1, Math.ceil(retryAfterMs / 1000));
    super(429, 'API_ERR_RATE_LIMITED', `${message}; retry in ${retryAfter} s`);
    this.limit = limit;
    this.retryAfter = retryAfter;
  }
}

/** One trusted-proxy entry: an address (`prefix` the full length) or a CIDR range. */
export interface ProxyRange {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/**
 * Reads one trusted-proxy entry, `ADDR` or `ADDR/LEN` (IPv4 or IPv6; blanks around it
 * ignored). The one parser of `--trusted-proxy` and of `ApiLimits.trustedProxies`.
 * @returns undefined when the entry is neither an IP address nor a CIDR range
 */
export function parseProxyRange(entry: string): ProxyRange | undefined {
  const [address, len, extra] = entry.trim().split('/');
  const kind = isIP(address);
  if (kind === 0 || extra !== undefined) return undefined;
  const family = kind === 4 ? 'ipv4' : 'ipv6';
  const max = kind === 4 ? 32 : 128;
  if (len === undefined) return { address, prefix: max, family };
  const prefix = Number(len);
  if (!/^\d{1,3}$/.test(len) || prefix > max) return undefined;
  return { address, prefix, family };
}

/**
 * The proxies of `--trusted-proxy`, as Fastify's `trustProxy` function: X-Forwarded-For is
 * read from the right, each hop believed only while the address it came from is trusted.
 * @throws Error naming a bad entry
 */
export function trustedProxyFunction(list: readonly string[]): ((address: string) => boolean) | undefined {
  if (list.length === 0) return undefined;
  const block = new BlockList();
  for (const entry of list) {
    const range = parseProxyRange(entry);
    if (range === undefined) throw new Error(`trusted proxy '${entry}' is not an IP address or CIDR range`);
    block.addSubnet(range.address, range.prefix, range.family);
  }
  return (address) => {
    const a = unmapped(address);
    const family = isIP(a);
    return family !== 0 && block.check(a, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/** `::ffff:192.0.2.1` → `192.0.2.1`. */
function unmapped(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1] : address;
}

/**
 * The key a source address is limited by: the IPv4 address, or the /64 of an IPv6 address
 * (one host usually holds a whole /64: per address would be no limit at all).
 */
export function sourceKey(address: string): string {
  const a = unmapped(address);
  if (isIP(a) !== 6) return a;
  const [head, tail] = a.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined ? h : [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/** What a request holds (its heavy slot, the zone it may create). */
interface Held {
  account: string;
  heavy?: boolean;
  /** The handler has been entered: its end (onSend) releases the slot. */
  handling?: boolean;
  zone?: boolean;
  released?: boolean;
}

/** Routes that create a zone (the hourly cap counts them). */
const CREATE_ROUTES = new Set([
  'POST /api/v1/zones',
  'POST /api/v1/servers/localhost/zones',
  'POST /api/v1/deleted-zones/:id/restore',
]);

/** Routes that are heavy whatever their size: a small zone file can expand a lot. */
const HEAVY_ROUTES = new Set([
  'PUT /api/v1/zones/:zone/zonefile',
  'POST /api/v1/zones/:zone/rollback',
  'POST /api/v1/deleted-zones/:id/restore',
]);

function routeOf(request: FastifyRequest): string {
  return `${request.method} ${request.routeOptions.url ?? ''}`;
}

/** The limiter of one API instance. */
export class Limiter {
  readonly limits: Readonly<ApiLimits>;
  readonly #accounts: BucketMap | undefined;
  readonly #tokens: BucketMap | undefined;
  readonly #zones: BucketMap | undefined;
  readonly #failures: BucketMap | undefined;
  readonly #heavy: ConcurrencyMap | undefined;
  readonly #held = new WeakMap<FastifyRequest, Held>();

  constructor(limits: Partial<ApiLimits> = {}, now: Clock = Date.now) {
    const l: ApiLimits = { ...DEFAULT_API_LIMITS, ...limits };
    for (const [name, key] of Object.entries(API_LIMIT_NAMES)) {
      const v = l[key];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
        throw new Error(`limit ${name} must be a number ≥ 0, got ${String(v)}`);
    }
    this.limits = Object.freeze(l);
    const opts = { maxEntries: l.maxBuckets > 0 ? l.maxBuckets : DEFAULT_API_LIMITS.maxBuckets, now };
    const map = (rate: number, burst: number) =>
      rate > 0 && burst > 0 ? new BucketMap({ rate, burst }, opts) : undefined;
    this.#accounts = map(l.accountRate, l.accountBurst);
    this.#tokens = map(l.tokenRate, l.tokenBurst);
    this.#zones = map(l.zonesPerHour / 3600, l.zonesPerHour);
    this.#failures = map(l.failedKeysPerMinute / 60, l.failedKeys);
    this.#heavy = l.heavyConcurrency > 0 ? new ConcurrencyMap(l.heavyConcurrency) : undefined;
  }

  /** Buckets held, per kind (tests: the maps stay bounded). */
  get sizes(): { accounts: number; tokens: number; zones: number; sources: number; heavy: number } {
    return {
      accounts: this.#accounts?.size ?? 0,
      tokens: this.#tokens?.size ?? 0,
      zones: this.#zones?.size ?? 0,
      sources: this.#failures?.size ?? 0,
      heavy: this.#heavy?.size ?? 0,
    };
  }

  /**
   * Before a key is checked: takes one attempt from its source (429 when none is left), so
   * wrong keys sent in parallel are limited too; `keyAccepted` gives it back.
   */
  beforeKey(request: FastifyRequest): void {
    const r = this.#failures?.take(sourceKey(request.ip));
    if (r && !r.ok)
      throw new RateLimitError('failed-keys', r.retryAfterMs, 'too many failed API keys from this address');
  }

  /** The key was accepted: the attempt `beforeKey` took is given back. */
  keyAccepted(request: FastifyRequest): void {
    this.#failures?.refund(sourceKey(request.ip));
  }

  /** After authentication: the account and token rates, and the heavy slot known from headers. */
  authenticated(request: FastifyRequest, p: Principal): void {
    if (p.scope.admin) return;
    const account = accountKey(p);
    const a = this.#accounts?.check(account);
    const t = this.#tokens?.check(p.tokenId);
    if (a && !a.ok)
      throw new RateLimitError('account-rate', a.retryAfterMs, "the account's request rate limit is reached");
    if (t && !t.ok)
      throw new RateLimitError('token-rate', t.retryAfterMs, "this token's request rate limit is reached");
    const held: Held = { account };
    // The heavy slot first: a request refused for it uses up none of the rates.
    if (HEAVY_ROUTES.has(routeOf(request)) || this.#bigBody(request)) this.#acquireHeavy(held);
    this.#held.set(request, held);
    this.#accounts?.take(account);
    this.#tokens?.take(p.tokenId);
  }

  /** Before the handler (body parsed and valid): the zone cap and heavy slots that depend on the body. */
  beforeHandler(request: FastifyRequest): void {
    const held = this.#held.get(request);
    if (!held) return;
    const route = routeOf(request);
    if (this.#zones && CREATE_ROUTES.has(route)) {
      const r = this.#zones.take(held.account);
      if (!r.ok)
        throw new RateLimitError(
          'zones-per-hour',
          r.retryAfterMs,
          `the account may create ${this.limits.zonesPerHour} zones an hour`,
        );
      held.zone = true;
    }
    if (!held.heavy && this.#heavyBody(route, request.body)) {
      try {
        this.#acquireHeavy(held);
      } catch (err) {
        this.#done(request, 429);
        throw err;
      }
    }
    held.handling = true;
  }

  /** The response is on its way: frees the heavy slot; a failed creation gives its zone back. */
  #done(request: FastifyRequest, status: number): void {
    const held = this.#held.get(request);
    if (!held || held.released) return;
    held.released = true;
    if (held.heavy) this.#heavy?.release(held.account);
    if (held.zone && status >= 300) this.#zones?.refund(held.account);
  }

  #acquireHeavy(held: Held): void {
    if (!this.#heavy) return;
    if (!this.#heavy.acquire(held.account))
      throw new RateLimitError(
        'heavy-concurrency',
        1000,
        `the account already has ${this.limits.heavyConcurrency} heavy requests (imports, zone files, big changes) in progress`,
      );
    held.heavy = true;
  }

  #bigBody(request: FastifyRequest): boolean {
    if (this.limits.heavyBodyBytes === 0) return false;
    const length = request.headers['content-length'];
    if (length === undefined) return request.headers['transfer-encoding'] !== undefined;
    return Number(length) > this.limits.heavyBodyBytes;
  }

  #heavyBody(route: string, body: unknown): boolean {
    // Too big to parse on the request loop: heavy whatever it holds.
    if (body instanceof RawJsonBody) return true;
    if (typeof body !== 'object' || body === null) return false;
    const b = body as Record<string, unknown>;
    if (CREATE_ROUTES.has(route))
      return (
        typeof b.zonefile === 'string' ||
        typeof b.zone === 'string' ||
        (Array.isArray(b.rrsets) && b.rrsets.length > 0)
      );
    const n = this.limits.heavyChanges;
    return (
      n > 0 &&
      ((Array.isArray(b.changes) && b.changes.length > n) || (Array.isArray(b.rrsets) && b.rrsets.length > n))
    );
  }

  /** Installs the hooks that hold and free heavy slots and zone creations. */
  register(app: FastifyInstance): void {
    app.addHook('preHandler', async (request) => this.beforeHandler(request));
    app.addHook('onSend', async (request, reply: FastifyReply, payload) => {
      this.#done(request, reply.statusCode);
      return payload;
    });
    app.addHook('onResponse', async (request, reply) => this.#done(request, reply.statusCode));
    app.addHook('onRequest', async (request, reply) => {
      // A client gone before the handler started: nothing will send, so free the slot here.
      reply.raw.once('close', () => {
        const held = this.#held.get(request);
        if (held && !held.handling) this.#done(request, 499);
      });
    });
  }
}

/** The bucket of a token's account (a token of no account is its own account). */
function accountKey(p: Principal): string {
  return p.accountId ?? `token:${p.tokenId}`;
}
