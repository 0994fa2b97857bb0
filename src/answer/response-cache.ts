/**
 * A bounded cache of encoded responses: the hot path. A hit costs a key build, a map lookup
 * and a copy with the ID, RD/CD and the question's spelling patched in.
 *
 * Key: the header's four counts and every query byte from offset 12 on (question, EDNS
 * OPT and anything else), with the question name case-folded. The ID, RD and CD do not
 * change the answer and are patched; the question's spelling is patched too, and because
 * every other occurrence of the name is a compression pointer to it, the case is carried
 * everywhere (NSD does the same). Responses must therefore be built with the case-folded
 * question name (respond.ts does), so a hit and a fresh answer are the same bytes.
 *
 * Cacheability rule: a response may be cached only when it is a function of the key, the
 * transport, the responder's options and the catalog (cleared on swap) alone. Anything that
 * depends on the client address (ECS, geo steering, RRL slip), on time (online-signed
 * RRSIG windows), on TSIG or on server cookies must bypass the cache or be patched like the
 * ID. Today no response depends on anything else.
 *
 * Bounds: entries and bytes, with first-in-first-out eviction (a Map keeps insertion
 * order, so eviction is O(1) and a hit needs no bookkeeping). Negative answers (NXDOMAIN,
 * REFUSED) live in their own smaller partition, so a random-subdomain flood, whose every
 * query is a new key, only churns that partition and leaves the positive answers warm.
 * @module
 */

/** Cache bounds. */
export interface ResponseCacheOptions {
  /** Most entries kept (default 250,000: a busy server's working set). */
  maxEntries?: number;
  /** Most octets of keys and responses kept (default 64 MiB). */
  maxBytes?: number;
  /** Share of both bounds given to negative answers (default 0.25). */
  negativeShare?: number;
}

/** Longest query we build a key for: real queries are far shorter; larger ones go uncached. */
export const MAX_KEY_QUERY = 512;

const HEADER = 12;
const scratch = Buffer.allocUnsafe(MAX_KEY_QUERY);

/** The cache key of a query, with the length of its question name; both 0/'' when uncacheable. */
export interface QueryKey {
  key: string;
  /** Octets of the (uncompressed) question name at offset 12. */
  qnameLength: number;
}

/**
 * Builds the key of `query`, or returns undefined when it cannot be cached: not a plain
 * QUERY with one question, a compressed or malformed question name, or too long.
 */
export function buildQueryKey(query: Uint8Array): QueryKey | undefined {
  const len = query.length;
  // QR=0 and OPCODE=QUERY (RFC 1035 §4.1.1); other opcodes are rare and not cached.
  if (len < HEADER + 5 || len > MAX_KEY_QUERY || (query[2] & 0xf8) !== 0) return undefined;
  if (query[4] !== 0 || query[5] !== 1) return undefined;
  // Walk the question name: plain labels only (a pointer at offset 12 is never valid).
  let i = HEADER;
  for (;;) {
    if (i >= len) return undefined;
    const l = query[i];
    if (l === 0) break;
    if (l > 63) return undefined;
    i += l + 1;
  }
  const qnameEnd = i + 1;
  if (qnameEnd + 4 > len || qnameEnd - HEADER > 255) return undefined;
  // Counts (offset 4) and everything after the header; fold A-Z in the name only. Length
  // octets are at most 63, below 'A', so folding the whole name region is safe.
  const n = len - 4;
  scratch.set(query.subarray(4), 0);
  for (let j = HEADER - 4; j < qnameEnd - 4; j++) {
    const c = scratch[j];
    if (c >= 0x41 && c <= 0x5a) scratch[j] = c | 0x20;
  }
  return { key: scratch.toString('latin1', 0, n), qnameLength: qnameEnd - HEADER };
}

/**
 * A copy of `cached` answering `query`: the query's ID, RD and CD (RFC 1035 §4.1.1,
 * RFC 4035 §3) and its question name's spelling (same length, at offset 12).
 */
export function patchResponse(cached: Uint8Array, query: Uint8Array, qnameLength: number): Uint8Array {
  const out = Buffer.allocUnsafe(cached.length);
  out.set(cached, 0);
  out[0] = query[0];
  out[1] = query[1];
  out[2] = (cached[2] & 0xfe) | (query[2] & 0x01);
  out[3] = (cached[3] & 0xef) | (query[3] & 0x10);
  out.set(query.subarray(HEADER, HEADER + qnameLength), HEADER);
  return out;
}

/** Applies the patch of `patchResponse` in place (for a freshly built response). */
export function patchResponseInPlace(response: Uint8Array, query: Uint8Array, qnameLength: number): void {
  response[0] = query[0];
  response[1] = query[1];
  response[2] = (response[2] & 0xfe) | (query[2] & 0x01);
  response[3] = (response[3] & 0xef) | (query[3] & 0x10);
  response.set(query.subarray(HEADER, HEADER + qnameLength), HEADER);
}

class Partition {
  readonly map = new Map<string, Uint8Array>();
  bytes = 0;
  constructor(
    readonly maxEntries: number,
    readonly maxBytes: number,
  ) {}

  set(key: string, value: Uint8Array): void {
    const size = key.length + value.length;
    if (size > this.maxBytes || this.maxEntries < 1) return;
    const old = this.map.get(key);
    if (old) {
      this.map.delete(key);
      this.bytes -= key.length + old.length;
    }
    while (this.map.size >= this.maxEntries || this.bytes + size > this.maxBytes) {
      const first = this.map.entries().next().value;
      if (!first) break;
      this.map.delete(first[0]);
      this.bytes -= first[0].length + first[1].length;
    }
    this.map.set(key, value);
    this.bytes += size;
  }

  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }
}

/** Encoded responses by query key, bounded in entries and bytes (see the module comment). */
export class ResponseCache {
  readonly #positive: Partition;
  readonly #negative: Partition;
  /** Lookups that found a response. */
  hits = 0;
  /** Lookups that did not. */
  misses = 0;

  constructor(opts: ResponseCacheOptions = {}) {
    const entries = opts.maxEntries ?? 250_000;
    const bytes = opts.maxBytes ?? 64 * 1024 * 1024;
    const share = opts.negativeShare ?? 0.25;
    const negEntries = Math.floor(entries * share);
    const negBytes = Math.floor(bytes * share);
    this.#positive = new Partition(entries - negEntries, bytes - negBytes);
    this.#negative = new Partition(negEntries, negBytes);
  }

  /** The stored response for `key`; never mutate it (use `patchResponse`). */
  get(key: string): Uint8Array | undefined {
    const found = this.#positive.map.get(key) ?? this.#negative.map.get(key);
    if (found === undefined) this.misses++;
    else this.hits++;
    return found;
  }

  /** Stores `response` (the caller hands over ownership: it must not change afterwards). */
  set(key: string, response: Uint8Array, negative = false): void {
    (negative ? this.#negative : this.#positive).set(key, response);
  }

  /** Drops everything (on a catalog swap). */
  clear(): void {
    this.#positive.clear();
    this.#negative.clear();
  }

  /** Entries held. */
  get size(): number {
    return this.#positive.map.size + this.#negative.map.size;
  }

  /** Octets held (keys and responses). */
  get bytes(): number {
    return this.#positive.bytes + this.#negative.bytes;
  }
}
