/**
 * A set of zone origins as one open-addressing hash table over their case-folded wire octets
 * (typed arrays: no string, Map entry or object per origin), for a DNS worker's snapshot of
 * 100,000 zones: built in one pass, found by key string or by octets.
 *
 * Origin `i` is added with its index; looking a key up gives the index of the origin with that
 * key added last (a key added twice keeps the later index, the earlier one is reported as
 * replaced), or -1.
 * @module
 */

const EMPTY = -1;

/** FNV-1a over octets, 32 bits. */
function hashOctets(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}

/** `hashOctets` of a latin1 key string's char codes. */
function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A grow-only hash table of case-folded wire names (each at most 255 octets). */
export class OriginIndex {
  /** The keys' octets, one after another. */
  #octets: Buffer;
  #used = 0;
  /** Origin i's key is `#octets[#starts[i], #starts[i] + #lengths[i])` (-1 start: none). */
  #starts: Int32Array;
  #lengths: Uint8Array;
  /** Slots: an origin index, or EMPTY. Power-of-two size, at most half full. */
  #slots: Int32Array;
  #mask: number;
  #keys = 0;

  /** `capacity`: origins expected (indexes up to it need no growth); `octets`: their total length expected. */
  constructor(capacity: number, octets = capacity * 16) {
    const n = Math.max(16, capacity);
    this.#starts = new Int32Array(n).fill(-1);
    this.#lengths = new Uint8Array(n);
    this.#octets = Buffer.alloc(Math.max(256, octets));
    let size = 32;
    while (size < n * 2) size *= 2;
    this.#slots = new Int32Array(size).fill(EMPTY);
    this.#mask = size - 1;
  }

  /** Distinct keys held. */
  get size(): number {
    return this.#keys;
  }

  /**
   * The buffer to write the next key into, from `writeAt` (then `commit`): at least 256
   * octets free there; valid until the next `reserve`.
   */
  reserve(): Uint8Array {
    if (this.#used + 256 > this.#octets.length) {
      const next = Buffer.alloc(this.#octets.length * 2);
      next.set(this.#octets.subarray(0, this.#used));
      this.#octets = next;
    }
    return this.#octets;
  }

  /** Where the next key is written in the buffer `reserve` gives. */
  get writeAt(): number {
    return this.#used;
  }

  /**
   * Adds origin `index` whose key (case-folded wire form, 1–255 octets) was just written at
   * `writeAt` (after `reserve`). Returns the index it replaced (the same key added before), or -1.
   */
  commit(index: number, length: number): number {
    if (length < 1 || length > 255) throw new RangeError(`key length ${length}`);
    if (index >= this.#starts.length) this.#growIndexes(index + 1);
    const start = this.#used;
    const b = this.#octets;
    const mask = this.#mask;
    let s = hashOctets(b, start, start + length) & mask;
    for (;;) {
      const at = this.#slots[s];
      if (at === EMPTY) break;
      if (this.#lengths[at] === length && this.#equalAt(at, b, start, length)) {
        // The same key again: the later origin takes its slot; its octets need no new copy.
        this.#slots[s] = index;
        this.#starts[index] = this.#starts[at];
        this.#lengths[index] = length;
        this.#starts[at] = -1;
        return at;
      }
      s = (s + 1) & mask;
    }
    this.#slots[s] = index;
    this.#starts[index] = start;
    this.#lengths[index] = length;
    this.#used += length;
    if (++this.#keys * 2 > this.#slots.length) this.#rehash();
    return -1;
  }

  /** Adds origin `index` with key `key` (case-folded wire form as a latin1 string). */
  add(index: number, key: string): number {
    const buffer = this.reserve();
    const at = this.#used;
    for (let i = 0; i < key.length; i++) buffer[at + i] = key.charCodeAt(i);
    return this.commit(index, key.length);
  }

  /** The index of the origin with key `key` (case-folded wire form), or -1. */
  find(key: string): number {
    const length = key.length;
    if (length < 1 || length > 255) return -1;
    const mask = this.#mask;
    const b = this.#octets;
    let s = hashKey(key) & mask;
    for (;;) {
      const at = this.#slots[s];
      if (at === EMPTY) return -1;
      if (this.#lengths[at] === length) {
        const start = this.#starts[at];
        let j = 0;
        while (j < length && b[start + j] === key.charCodeAt(j)) j++;
        if (j === length) return at;
      }
      s = (s + 1) & mask;
    }
  }

  /** Origin `index`'s key as a latin1 string ('' when it has none: never added or replaced). */
  keyAt(index: number): string {
    const start = index < this.#starts.length ? this.#starts[index] : -1;
    if (start < 0) return '';
    return this.#octets.toString('latin1', start, start + this.#lengths[index]);
  }

  /**
   * Every key held, one after another, in the order they were first added (a view: valid
   * until the next key is added): a key added again keeps its octets, so the octets written
   * are exactly these.
   */
  octets(): Uint8Array {
    return this.#octets.subarray(0, this.#used);
  }

  /** True when origin `index` holds a key (added and not replaced). */
  has(index: number): boolean {
    return index < this.#starts.length && this.#starts[index] >= 0;
  }

  #equalAt(at: number, b: Uint8Array, start: number, length: number): boolean {
    const o = this.#starts[at];
    for (let j = 0; j < length; j++) if (b[o + j] !== b[start + j]) return false;
    return true;
  }

  #growIndexes(min: number): void {
    let n = this.#starts.length * 2;
    while (n < min) n *= 2;
    const starts = new Int32Array(n).fill(-1);
    starts.set(this.#starts);
    const lengths = new Uint8Array(n);
    lengths.set(this.#lengths);
    this.#starts = starts;
    this.#lengths = lengths;
  }

  #rehash(): void {
    const size = this.#slots.length * 2;
    const slots = new Int32Array(size).fill(EMPTY);
    const mask = size - 1;
    const b = this.#octets;
    for (const at of this.#slots) {
      if (at === EMPTY) continue;
      const start = this.#starts[at];
      let s = hashOctets(b, start, start + this.#lengths[at]) & mask;
      while (slots[s] !== EMPTY) s = (s + 1) & mask;
      slots[s] = at;
    }
    this.#slots = slots;
    this.#mask = mask;
  }
}
