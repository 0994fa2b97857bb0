/**
 * A bounded cache of encoded responses: the hot path. A hit costs a key build, a map lookup
 * and a copy with the ID, RD/CD and the question's spelling patched in.
 *
 * Key: the query's octets with the ID and flags zeroed, so the header's four counts and every
 * byte from offset 12 on (question, EDNS OPT and anything else), with the question name
 * case-folded. The ID, RD and CD do not
 * change the answer and are patched; the question's spelling is patched too, and because
 * every other occurrence of the name is a compression pointer to it, the case is carried
 * everywhere (NSD does the same). Responses must therefore be built with the case-folded
 * question name (respond.ts does), so a hit and a fresh answer are the same bytes.
 *
 * Cacheability rule: a response may be cached only when it is a function of the key, the
 * transport, the responder's options and the zones it was built from (its stamps, below)
 * alone. Anything that depends on the client address (ECS, geo steering, RRL slip), on time
 * (online-signed RRSIG windows), on TSIG or on server cookies must bypass the cache or be
 * patched like the ID. Today no response depends on anything else.
 *
 * Invalidation per zone: every entry carries the stamps of what it was built from (the one
 * zone the answer came from; see `ZoneStamps`). A zone change kills the stamps it
 * affects, and a hit whose stamps are not all live is dropped there and then and counted as a
 * miss (`stale`): entries of other zones stay warm, and no change ever walks the cache.
 *
 * Bounds: entries and bytes, with first-in-first-out eviction (a Map keeps insertion
 * order, so eviction is O(1) and a hit needs no bookkeeping). Negative answers (NXDOMAIN,
 * REFUSED) live in their own smaller partition, so a random-subdomain flood, whose every
 * query is a new key, only churns that partition and leaves the positive answers warm.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Name } from '../wire/name.js';
import type { ServedZone } from '../zone/zone.js';
import type { Catalog, CatalogChange } from './catalog.js';

/** Cache bounds. */
export interface ResponseCacheOptions {
  /** Most entries kept (default 250,000: a busy server's working set). */
  maxEntries?: number;
  /** Most octets of keys and responses kept (default 64 MiB). */
  maxBytes?: number;
  /** Share of both bounds given to negative answers (default 0.25). */
  negativeShare?: number;
  /**
   * Which misses are stored: 'repeat' (default) only a key that already missed recently (the
   * doorkeeper, see `admit`), 'first' every one.
   */
  admission?: 'repeat' | 'first';
  /** Bits of the doorkeeper (default 2^20: 128 KiB); it forgets all after `doorBits / 16` new keys. */
  doorBits?: number;
}

/** Longest query we build a key for: real queries are far shorter; larger ones go uncached. */
export const MAX_KEY_QUERY = 512;

const HEADER = 12;

/**
 * A validity token: cache entries built from the data it stands for are good while it is
 * live. Killing it (once, for good) invalidates them all at once; each is dropped lazily.
 */
export class CacheStamp {
  /** False once the data this stamp stands for changed. */
  live = true;
}

/** The stamp of entries that depend on no zone data (BADVERS, refused transfers): never killed. */
export const ALWAYS_VALID: CacheStamp = new CacheStamp();

/**
 * The hash's starting value, drawn per process: which keys share a hash (and so evict each
 * other) cannot be worked out from outside.
 */
const HASH_SEED = randomBytes(4).readInt32LE(0) ^ 0x811c9dc5;
/** FNV-1a's 32-bit prime. */
const FNV_PRIME = 0x01000193;

/**
 * The hash of `words` 32-bit words: each fed through `FNV_PRIME` from `HASH_SEED` (FNV-1a
 * over words: a bijection per step, so keys differing in any word differ before the finish),
 * finished (murmur3's fmix32) and cut to a small integer.
 */
function hashWords(w: Int32Array, words: number): number {
  let h = HASH_SEED;
  for (let i = 0; i < words; i++) h = Math.imul(h ^ w[i], FNV_PRIME);
  return finish(h);
}

/** `h` finished (murmur3's fmix32) and cut to a small integer. */
function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  // 30 bits: a small integer on every V8 build, so a Map keyed by it never boxes a number.
  return h & 0x3fffffff;
}

/**
 * The cache key of a query: its octets with the ID and flags zeroed (so the header's four
 * counts and every octet from offset 12 on), the question name case-folded, as octets with
 * their hash. One `QueryKey` is reused for every
 * query (`build` is synchronous, and the cache copies the octets it keeps).
 */
export class QueryKey {
  /** The key's octets (`length` of them, then zeros to a multiple of 4). */
  readonly bytes: Uint8Array;
  /** The same octets as 32-bit words (hashed and compared a word at a time). */
  readonly words: Int32Array;
  length = 0;
  /** Hash of the octets (30 bits). */
  hash = 0;
  /** Octets of the (uncompressed) question name at offset 12 of the query. */
  qnameLength = 0;
  /** True when the question name had a letter A-Z: a cached answer needs its spelling patched in. */
  mixedCase = false;

  constructor(capacity = MAX_KEY_QUERY) {
    this.bytes = new Uint8Array((capacity + 3) & ~3);
    this.words = new Int32Array(this.bytes.buffer);
  }

  /** A key of arbitrary octets (a latin1 string): for tests and tools, not queries. */
  static of(text: string): QueryKey {
    const k = new QueryKey(text.length);
    for (let i = 0; i < text.length; i++) k.bytes[i] = text.charCodeAt(i) & 0xff;
    k.length = text.length;
    k.hash = hashWords(k.words, (text.length + 3) >> 2);
    return k;
  }

  /** The octets as a latin1 string (for tests and logs). */
  get text(): string {
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.length).toString('latin1');
  }

  /** A copy of the octets, as a cache entry keeps them. */
  copyBytes(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }

  /**
   * Makes this the key of `query` and returns true, or returns false (the fields then mean
   * nothing) when it cannot be cached: not a plain QUERY with one question, a compressed or
   * malformed question name, or too long. One pass: the octets are copied, folded and hashed
   * together.
   */
  build(query: Uint8Array): boolean {
    const len = query.length;
    // QR=0 and OPCODE=QUERY (RFC 1035 §4.1.1); other opcodes are rare and not cached.
    if (len < HEADER + 5 || len > MAX_KEY_QUERY || (query[2] & 0xf8) !== 0) return false;
    if (query[4] !== 0 || query[5] !== 1) return false;
    // The question name: plain labels only (a pointer at offset 12 is never valid).
    let i = HEADER;
    for (;;) {
      if (i >= len) return false;
      const l = query[i];
      if (l === 0) break;
      if (l > 63) return false;
      i += l + 1;
      if (i >= len) return false;
    }
    const qnameEnd = i + 1;
    if (qnameEnd + 4 > len || qnameEnd - HEADER > 255) return false;
    // The query's octets (one memmove) with the ID and flags zeroed (a hit patches them in),
    // then zeros to the word's end (hashed, and compared with the zeros after a stored key).
    const b = this.bytes;
    const w = this.words;
    const n = len;
    b.set(query);
    w[0] = 0;
    for (let j = n; j < ((n + 3) & ~3); j++) b[j] = 0;
    // A-Z of the name folded (RFC 4343), four octets at a time while whole words are name
    // (label lengths are below 0x41, so they never fold), then octet by octet.
    const nameEnd = qnameEnd;
    let upper = 0;
    for (let j = HEADER >> 2; j < nameEnd >> 2; j++) {
      const x = w[j];
      const low = x & 0x7f7f7f7f;
      // The high bit of each octet in 0x41-0x5a: below 0x80, at least 0x41, not above 0x5a.
      const m = ~x & (low + 0x3f3f3f3f) & ~(low + 0x25252525) & 0x80808080;
      if (m !== 0) {
        upper = 1;
        w[j] = x | (m >>> 2);
      }
    }
    for (let j = nameEnd & ~3; j < nameEnd; j++) {
      const c = b[j];
      if (c >= 0x41 && c <= 0x5a) {
        b[j] = c | 0x20;
        upper = 1;
      }
    }
    this.length = n;
    this.hash = hashWords(w, (n + 3) >> 2);
    this.qnameLength = qnameEnd - HEADER;
    this.mixedCase = upper !== 0;
    return true;
  }
}

/**
 * The key of `query` in a new `QueryKey`, or undefined when it cannot be cached (see
 * `QueryKey.build`; the Responder reuses one instead).
 */
export function buildQueryKey(query: Uint8Array): QueryKey | undefined {
  const k = new QueryKey();
  return k.build(query) ? k : undefined;
}

/**
 * A copy of `cached` answering `query`: the query's ID, RD and CD (RFC 1035 §4.1.1,
 * RFC 4035 §3) and its question name's spelling (same length, at offset 12). `qnameLength` 0:
 * the query's name is spelled as stored (no A-Z), nothing to patch.
 */
export function patchResponse(cached: Uint8Array, query: Uint8Array, qnameLength: number): Uint8Array {
  const out = Buffer.allocUnsafe(cached.length);
  out.set(cached, 0);
  out[0] = query[0];
  out[1] = query[1];
  out[2] = (cached[2] & 0xfe) | (query[2] & 0x01);
  out[3] = (cached[3] & 0xef) | (query[3] & 0x10);
  for (let i = HEADER; i < HEADER + qnameLength; i++) out[i] = query[i];
  return out;
}

/** Applies the patch of `patchResponse` in place (for a freshly built response). */
export function patchResponseInPlace(response: Uint8Array, query: Uint8Array, qnameLength: number): void {
  response[0] = query[0];
  response[1] = query[1];
  response[2] = (response[2] & 0xfe) | (query[2] & 0x01);
  response[3] = (response[3] & 0xef) | (query[3] & 0x10);
  for (let i = HEADER; i < HEADER + qnameLength; i++) response[i] = query[i];
}

/** Octets of an entry's header in the arena: size, hash, key and response lengths, flags. */
const ENTRY_HEADER = 16;
/** Entry flag: deleted (replaced, stale or evicted), its octets wait for the ring's tail. */
const DEAD = 1;
/** Entry flag: it has more stamps than the first (`Partition.#more`). */
const MORE = 2;
/** The flags word holds the entry's first stamp's number above these two bits. */
const STAMP_SHIFT = 2;
/** First sizes of a partition's arena (octets) and slot table (slots, a power of two). */
const FIRST_ARENA = 64 * 1024;
const FIRST_SLOTS = 1024;

/**
 * One partition's entries: their octets in one ring arena and an open-addressing index over it.
 *
 * Why not a Map of objects: a hit then read a Map bucket, an entry object, the key's array
 * and octets, the response's array and octets — six or seven cache lines far apart, which
 * under real traffic (the kernel's receive and send between two queries evict them) cost more
 * than the rest of the answer. Here a hit reads one slot of an Int32Array (hash and offset),
 * the entry's header, key and response, contiguous in the arena, and its stamp (one of the
 * few the partition's entries share, numbered in `#stampList`).
 *
 * The arena is a ring written in insertion order, so first-in-first-out eviction is advancing
 * its tail: a deleted entry (replaced, stale) is only flagged, and its octets are reused
 * when the tail passes. Entry at offset o (4-aligned): Int32 words [size, hash, keyLength |
 * responseLength << 16, flags | first stamp's number << 2], then the key's octets (with zeros
 * to a word's end) and the response's (from a word boundary). A size word of 0 (or less than a header before
 * the end) sends the tail back to offset 0. The arena starts small and doubles up to the
 * partition's byte bound while the ring has not wrapped; the slot table doubles whenever it
 * would be more than half full.
 */
class Partition {
  /** Key and response octets of the live entries (headers and holes not counted). */
  bytes = 0;
  /** Live entries. */
  size = 0;
  /** The arena as octets and as words (one buffer); empty until the first entry. */
  #u8 = new Uint8Array(0);
  #i32 = new Int32Array(0);
  /** Offset of the next entry, of the oldest entry, and entries in the ring (live or dead). */
  #head = 0;
  #tail = 0;
  #ring = 0;
  /** Slot i: words 2i (hash) and 2i+1 (entry offset + 1; 0: empty). */
  #slots = new Int32Array(0);
  #mask = -1;
  /**
   * The stamps entries depend on, by number (the first of an entry's stamps, in its flags
   * word); how many live entries name each; numbers free for reuse; the number of each.
   */
  #stampList: (CacheStamp | undefined)[] = [];
  #stampRefs: number[] = [];
  #freeStamps: number[] = [];
  readonly #stampIds = new Map<CacheStamp, number>();
  /** An entry's stamps after the first, by its offset (entries flagged MORE: rare). */
  readonly #more = new Map<number, readonly CacheStamp[]>();
  /** The arena's largest size: the partition's byte bound, 4-aligned. */
  readonly #cap: number;

  constructor(
    readonly maxEntries: number,
    readonly maxBytes: number,
  ) {
    this.#cap = Math.max(0, maxBytes & ~3);
  }

  /** The arena (valid until the next `put`): a found entry's octets are read from it. */
  get arena(): Uint8Array {
    return this.#u8;
  }

  /** The arena as words. */
  get arenaWords(): Int32Array {
    return this.#i32;
  }

  /**
   * The slot of `key`'s entry, or -1: the entry of the key's hash, if its octets are the key's.
   * `responseAt` then says where its response starts in `arena`.
   */
  find(key: QueryKey): number {
    const slots = this.#slots;
    const mask = this.#mask;
    if (mask < 0) return -1;
    const hash = key.hash;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const at = slots[2 * i + 1];
      if (at === 0) return -1;
      if (slots[2 * i] !== hash) continue;
      // One entry per hash: this one is the key's or nobody's.
      const w = (at - 1) >> 2;
      const i32 = this.#i32;
      const n = key.length;
      if ((i32[w + 2] & 0xffff) !== n) return -1;
      // Word by word: both keys are followed by zeros to the word's end.
      const kw = key.words;
      const k = w + ENTRY_HEADER / 4;
      for (let j = 0; j < (n + 3) >> 2; j++) if (i32[k + j] !== kw[j]) return -1;
      return i;
    }
  }

  /** Whether every stamp of slot `i`'s entry is live. */
  valid(i: number): boolean {
    const o = this.#slots[2 * i + 1] - 1;
    const flags = this.#i32[(o >> 2) + 3];
    if (!this.#stampList[flags >>> STAMP_SHIFT]!.live) return false;
    if ((flags & MORE) === 0) return true;
    const more = this.#more.get(o)!;
    for (let j = 0; j < more.length; j++) if (!more[j].live) return false;
    return true;
  }

  /** Where slot `i`'s response starts in `arena`, and its length. */
  responseAt(i: number): number {
    const o = this.#slots[2 * i + 1] - 1;
    return o + ENTRY_HEADER + (((this.#i32[(o >> 2) + 2] & 0xffff) + 3) & ~3);
  }

  responseLength(i: number): number {
    const o = this.#slots[2 * i + 1] - 1;
    return this.#i32[(o >> 2) + 2] >>> 16;
  }

  /** The slot of the entry of `hash` (whatever its key), or -1. */
  slotOfHash(hash: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    if (mask < 0) return -1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const at = slots[2 * i + 1];
      if (at === 0) return -1;
      if (slots[2 * i] === hash) return i;
    }
  }

  /**
   * Stores `response` (copied; its octets [12, 12 + fold) case-folded) under `key`, replacing
   * the entry of the key's hash; evicts the oldest entries to stay within both bounds.
   */
  put(
    key: QueryKey,
    response: Uint8Array,
    fold: number,
    first: CacheStamp,
    more: readonly CacheStamp[] | undefined,
  ): void {
    const kn = key.length;
    const rn = response.length;
    // The response starts 4-aligned, so a hit can be copied a word at a time.
    const size = ENTRY_HEADER + ((kn + 3) & ~3) + ((rn + 3) & ~3);
    if (size > this.#cap || this.maxEntries < 1 || rn > 0xffff || kn > 0xffff) return;
    const old = this.slotOfHash(key.hash);
    if (old >= 0) this.deleteSlot(old);
    while (this.size >= this.maxEntries) this.#evictTail();
    const o = this.#alloc(size);
    const w = o >> 2;
    const i32 = this.#i32;
    i32[w] = size;
    i32[w + 1] = key.hash;
    i32[w + 2] = kn | (rn << 16);
    i32[w + 3] = (more !== undefined ? MORE : 0) | (this.#stampNumber(first) << STAMP_SHIFT);
    if (more !== undefined) this.#more.set(o, more);
    const u8 = this.#u8;
    // The key with its zeros to the word's end (`find` compares whole words).
    u8.set(key.bytes.subarray(0, (kn + 3) & ~3), o + ENTRY_HEADER);
    const r = o + ENTRY_HEADER + ((kn + 3) & ~3);
    u8.set(response, r);
    for (let j = r + HEADER; j < r + HEADER + fold; j++) {
      const c = u8[j];
      if (c >= 0x41 && c <= 0x5a) u8[j] = c | 0x20;
    }
    this.#ring++;
    this.#head = o + size;
    this.size++;
    this.bytes += kn + rn;
    if (this.size * 2 > this.#mask + 1) this.#growSlots();
    this.#insertSlot(key.hash, o);
  }

  /** Deletes slot `i`'s entry (flagged dead in the ring, its slot freed). */
  deleteSlot(i: number): void {
    const slots = this.#slots;
    const o = slots[2 * i + 1] - 1;
    const w = o >> 2;
    const i32 = this.#i32;
    const flags = i32[w + 3];
    i32[w + 3] = flags | DEAD;
    if ((flags & MORE) !== 0) this.#more.delete(o);
    const n = flags >>> STAMP_SHIFT;
    if (--this.#stampRefs[n] === 0) {
      this.#stampIds.delete(this.#stampList[n]!);
      this.#stampList[n] = undefined;
      this.#freeStamps.push(n);
    }
    const lengths = i32[w + 2];
    this.bytes -= (lengths & 0xffff) + (lengths >>> 16);
    this.size--;
    // Linear probing without tombstones: later entries of the probe run move back.
    const mask = this.#mask;
    let hole = i;
    for (let j = (i + 1) & mask; slots[2 * j + 1] !== 0; j = (j + 1) & mask) {
      const home = slots[2 * j] & mask;
      // The entry at j stays when its home is cyclically in (hole, j].
      if (hole <= j ? hole < home && home <= j : hole < home || home <= j) continue;
      slots[2 * hole] = slots[2 * j];
      slots[2 * hole + 1] = slots[2 * j + 1];
      hole = j;
    }
    slots[2 * hole] = 0;
    slots[2 * hole + 1] = 0;
  }

  clear(): void {
    this.#u8 = new Uint8Array(0);
    this.#i32 = new Int32Array(0);
    this.#head = this.#tail = this.#ring = 0;
    this.#slots = new Int32Array(0);
    this.#mask = -1;
    this.#stampList = [];
    this.#stampRefs = [];
    this.#freeStamps = [];
    this.#stampIds.clear();
    this.#more.clear();
    this.bytes = 0;
    this.size = 0;
  }

  /** The number of `stamp` in `#stampList`, counting one more entry that names it. */
  #stampNumber(stamp: CacheStamp): number {
    let n = this.#stampIds.get(stamp);
    if (n === undefined) {
      n = this.#freeStamps.pop() ?? this.#stampList.length;
      this.#stampList[n] = stamp;
      this.#stampRefs[n] = 0;
      this.#stampIds.set(stamp, n);
    }
    this.#stampRefs[n]++;
    return n;
  }

  #insertSlot(hash: number, o: number): void {
    const slots = this.#slots;
    const mask = this.#mask;
    let i = hash & mask;
    while (slots[2 * i + 1] !== 0) i = (i + 1) & mask;
    slots[2 * i] = hash;
    slots[2 * i + 1] = o + 1;
  }

  #growSlots(): void {
    const old = this.#slots;
    const n = Math.max(FIRST_SLOTS, (this.#mask + 1) * 2);
    this.#slots = new Int32Array(2 * n);
    this.#mask = n - 1;
    for (let i = 0; i < old.length / 2; i++)
      if (old[2 * i + 1] !== 0) this.#insertSlot(old[2 * i], old[2 * i + 1] - 1);
  }

  /** The offset of `size` free octets at the ring's head, evicting the oldest entries for them. */
  #alloc(size: number): number {
    for (;;) {
      if (this.#ring === 0) this.#head = this.#tail = 0;
      const len = this.#u8.length;
      let head = this.#head;
      if (this.#ring === 0 || head > this.#tail) {
        // Not wrapped: free from the head to the end (and before the tail).
        if (head + size <= len) return head;
        if (len < this.#cap) {
          this.#growArena(head + size);
          continue;
        }
        if (head + ENTRY_HEADER <= len) this.#i32[head >> 2] = 0;
        head = this.#head = 0;
      }
      // Wrapped: free from the head to the tail.
      if (head + size <= this.#tail) return head;
      this.#evictTail();
    }
  }

  /** Drops the oldest entry of the ring (deleting it if it is live). */
  #evictTail(): void {
    if (this.#ring === 0) return;
    const i32 = this.#i32;
    let t = this.#tail;
    if (t + ENTRY_HEADER > this.#u8.length || i32[t >> 2] === 0) t = 0;
    const w = t >> 2;
    if ((i32[w + 3] & DEAD) === 0) {
      // The slot of this entry: the one of its hash pointing here.
      const hash = i32[w + 1];
      const slots = this.#slots;
      const mask = this.#mask;
      // Within its probe run (every live entry has a slot; the bound only guards a bug).
      let i = hash & mask;
      for (let n = 0; n <= mask && slots[2 * i + 1] !== t + 1; n++) i = (i + 1) & mask;
      if (slots[2 * i + 1] === t + 1) this.deleteSlot(i);
    }
    this.#ring--;
    t += i32[w];
    // The next oldest entry: here, or at offset 0 after the end of this lap.
    if (this.#ring > 0 && (t + ENTRY_HEADER > this.#u8.length || i32[t >> 2] === 0)) t = 0;
    this.#tail = t;
  }

  #growArena(atLeast: number): void {
    let n = Math.max(FIRST_ARENA, this.#u8.length * 2);
    while (n < atLeast) n *= 2;
    n = Math.min(n, this.#cap);
    const u8 = new Uint8Array(n);
    u8.set(this.#u8);
    this.#u8 = u8;
    this.#i32 = new Int32Array(u8.buffer, 0, n >> 2);
  }
}

/** Encoded responses by query key, bounded in entries and bytes (see the module comment). */
export class ResponseCache {
  readonly #positive: Partition;
  readonly #negative: Partition;
  /** Lookups that found a response. */
  hits = 0;
  /** Lookups that did not (stale ones included). */
  misses = 0;
  /** Lookups that found a response built from zones that changed since: dropped, counted as misses. */
  stale = 0;
  /** Misses not admitted (first sight of their key). */
  declined = 0;
  /**
   * After a hit of `lookup`: the response's octets are `hitArena[hitStart, hitStart +
   * hitLength)`, valid until the next `set` (read them at once; never write them);
   * `hitStart` is a multiple of 4 and `hitWords` the same octets as 32-bit words.
   */
  hitArena: Uint8Array = new Uint8Array(0);
  hitWords: Int32Array = new Int32Array(0);
  hitStart = 0;
  hitLength = 0;
  /** The doorkeeper's bits (undefined: every miss admitted) and keys noted since it was cleared. */
  readonly #door: Int32Array | undefined;
  readonly #doorMask: number;
  readonly #doorLimit: number;
  #doorCount = 0;

  constructor(opts: ResponseCacheOptions = {}) {
    if (opts.admission !== 'first') {
      // A power of two from 2^10 to 2^26 bits.
      const bits = 2 ** Math.min(26, Math.max(10, Math.round(Math.log2(opts.doorBits ?? 2 ** 20))));
      this.#door = new Int32Array(bits / 32);
      this.#doorMask = bits - 1;
      this.#doorLimit = bits / 16;
    } else {
      this.#doorMask = 0;
      this.#doorLimit = 0;
    }
    const entries = opts.maxEntries ?? 250_000;
    const bytes = opts.maxBytes ?? 64 * 1024 * 1024;
    const share = opts.negativeShare ?? 0.25;
    const negEntries = Math.floor(entries * share);
    const negBytes = Math.floor(bytes * share);
    this.#positive = new Partition(entries - negEntries, bytes - negBytes);
    this.#negative = new Partition(negEntries, negBytes);
  }

  /**
   * Whether a response for `key` is stored with all its stamps live; if so `hitArena`,
   * `hitStart` and `hitLength` say where its octets are. A stale entry is dropped here
   * (lazily: zone changes never walk the cache).
   */
  lookup(key: QueryKey): boolean {
    let part = this.#positive;
    let i = part.find(key);
    if (i < 0) {
      part = this.#negative;
      i = part.find(key);
    }
    if (i < 0) {
      this.misses++;
      return false;
    }
    if (!part.valid(i)) {
      part.deleteSlot(i);
      this.stale++;
      this.misses++;
      return false;
    }
    this.hits++;
    this.hitArena = part.arena;
    this.hitWords = part.arenaWords;
    this.hitStart = part.responseAt(i);
    this.hitLength = part.responseLength(i);
    return true;
  }

  /**
   * A copy of the stored response for `key` when all its stamps are live (`lookup`, for tests
   * and tools: the Responder reads the octets in place).
   */
  get(key: QueryKey): Uint8Array | undefined {
    if (!this.lookup(key)) return undefined;
    return this.hitArena.slice(this.hitStart, this.hitStart + this.hitLength);
  }

  /**
   * Stores a copy of `response`, valid while every stamp of `stamps` is live (default:
   * always); `fold`: octets of the question name at offset 12 to case-fold in the copy.
   */
  set(
    key: QueryKey,
    response: Uint8Array,
    negative = false,
    stamps: readonly CacheStamp[] = [],
    fold = 0,
  ): void {
    const first = stamps.length > 0 ? stamps[0] : ALWAYS_VALID;
    const more = stamps.length > 1 ? stamps.slice(1) : undefined;
    // One entry per hash across both partitions (`lookup` takes the positive one first).
    const other = negative ? this.#positive : this.#negative;
    const old = other.slotOfHash(key.hash);
    if (old >= 0) other.deleteSlot(old);
    (negative ? this.#negative : this.#positive).put(key, response, fold, first, more);
  }

  /**
   * Whether a response to `key`, which just missed, is to be stored: yes when the key was noted before (two bits of a Bloom filter, so about 1.5 %
   * of new keys pass when it is fullest), else it is noted and the answer not stored. The
   * filter forgets everything every `doorBits / 16` new keys, so it stays that precise and a
   * name asked again within that window is stored on its second miss. A random-subdomain flood
   * (every key new) thus never enters the cache and never evicts what repeats.
   */
  admit(key: QueryKey): boolean {
    const door = this.#door;
    if (door === undefined) return true;
    // Two bits from the key's hash (already made for the lookup).
    const hash = key.hash;
    const a = hash & this.#doorMask;
    const b = (Math.imul(hash, 0x9e3779b1) >>> 6) & this.#doorMask;
    const wa = a >>> 5;
    const ba = 1 << (a & 31);
    const wb = b >>> 5;
    const bb = 1 << (b & 31);
    if ((door[wa] & ba) !== 0 && (door[wb] & bb) !== 0) return true;
    if (++this.#doorCount > this.#doorLimit) {
      door.fill(0);
      this.#doorCount = 1;
    }
    door[wa] |= ba;
    door[wb] |= bb;
    this.declined++;
    return false;
  }

  /** Drops everything. */
  clear(): void {
    this.#positive.clear();
    this.#negative.clear();
  }

  /** Entries held. */
  get size(): number {
    return this.#positive.size + this.#negative.size;
  }

  /** Octets held (keys and responses). */
  get bytes(): number {
    return this.#positive.bytes + this.#negative.bytes;
  }
}

/** The stamp of one Zone object (so a stamp is never handed out for a zone no longer served). */
class ZoneStamp extends CacheStamp {
  constructor(readonly zone: ServedZone) {
    super();
  }
}

/**
 * The stamps cached answers depend on, and which ones a catalog change kills.
 *
 * What an answer depends on (answer.ts reports it as `zones` and `absent`): an answer is built
 * from one zone, so it made one catalog lookup (two for DS at a child apex whose parent we do
 * not serve): of a name N, which returned a zone Z or none. The answer stays right while that
 * lookup would return the same thing and Z's data is the same, which a change breaks in three
 * ways only:
 * - Z itself is replaced or removed: kill Z's stamp;
 * - a zone O is added between Z's origin and N (the most specific zone wins): the first such
 *   zone added finds Z as its enclosing zone in the catalog before the change, so adding O
 *   kills the stamp of the zone that enclosed O;
 * - N was in no zone and a zone O at or above N is added: O is then enclosed by no zone, so
 *   every lookup that found no zone shares one stamp, killed by every addition enclosed by no
 *   zone.
 * So invalidation costs one stamp kill per changed zone, and zone additions (a new customer
 * zone, typically, enclosed by none of ours) spare every answer built from a zone. The shared
 * stamp covers REFUSED answers (cheap to rebuild; a flood of random names we do not serve
 * must not fill a per-name table) and DS at the apex of a zone whose parent we do not serve.
 */
export class ZoneStamps {
  /** Origin key → stamp of the Zone object served there (created on first use). */
  readonly #zones = new Map<string, ZoneStamp>();
  /** Stamp of lookups that found no zone: killed by any addition enclosed by no zone. */
  #nowhere = new CacheStamp();

  /**
   * The stamps of an answer built from the current catalog: one per zone of `zones`, and the
   * shared stamp of lookups that found no zone when `absent` is not empty. Undefined when a
   * zone is not the one this registry knows at its origin (it cannot be, when `applyChanges`
   * saw every catalog change): such an answer must not be cached.
   */
  stampsOf(zones: readonly ServedZone[], absent: readonly Name[]): CacheStamp[] | undefined {
    const out: CacheStamp[] = [];
    for (let i = 0; i < zones.length; i++) {
      const zone = zones[i];
      const key = zone.origin.key;
      let stamp = this.#zones.get(key);
      if (stamp === undefined) {
        stamp = new ZoneStamp(zone);
        this.#zones.set(key, stamp);
      } else if (stamp.zone !== zone) return undefined;
      out.push(stamp);
    }
    if (absent.length > 0) out.push(this.#nowhere);
    return out;
  }

  /**
   * Kills the stamps that the change from `before` to the next catalog affects (see the class
   * comment); `changes` is `diffCatalogs(before, next)`.
   */
  applyChanges(before: Catalog, changes: readonly CatalogChange[]): void {
    for (const c of changes) {
      if (c.before !== undefined) {
        // Replaced or removed: every answer that read it, and only those.
        this.#killZone(c.key);
        continue;
      }
      if (c.after === undefined) continue;
      // Added: it takes over the names below its origin from the zone that enclosed it, or
      // serves names that were in no zone.
      const enclosing = before.find(c.after.origin);
      if (enclosing !== undefined) this.#killZone(enclosing.origin.key);
      else this.killNowhere();
    }
  }

  /** Kills the stamp of lookups that found no zone (a zone now serves names that were in none). */
  killNowhere(): void {
    this.#nowhere.live = false;
    this.#nowhere = new CacheStamp();
  }

  /** Zone stamps held: for tests and metrics. */
  get size(): number {
    return this.#zones.size;
  }

  #killZone(key: string): void {
    const stamp = this.#zones.get(key);
    if (stamp === undefined) return;
    stamp.live = false;
    this.#zones.delete(key);
  }
}
