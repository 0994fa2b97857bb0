/**
 * A fixed-size, set-associative table of 32-bit keys to slot numbers: the memory of every
 * per-source and per-zone state of the shield. Made once with its size; never grows, however
 * many keys a flood brings (rotating IPv6 addresses, random names). A key is looked up in its
 * set of `ways` slots; a new key takes a free slot of its set, or the one its owner's `rank`
 * says is worth least (the caller keeps what it values — a verified resolver — and lets
 * strangers fight over the rest).
 *
 * The caller keeps its own columns (typed arrays of `size` entries) indexed by the slot
 * number this table hands out, and resets a slot's columns when `claim` says it was given to
 * a new key.
 */
export class BoundedTable {
  readonly size: number;
  readonly ways: number;
  readonly #keys: Uint32Array;
  readonly #mask: number;
  /** Slots handed to a new key while another key held them. */
  evictions = 0;
  /** Whether the last `claim` gave its slot to the key (the caller resets the slot's columns). */
  claimed = false;

  /**
   * @param size slots wanted (rounded up to a power of two, at least `ways`)
   * @param ways slots per set: 1, 2, 4, 8 or 16
   */
  constructor(size: number, ways = 4) {
    if (![1, 2, 4, 8, 16].includes(ways)) throw new RangeError('ways must be 1, 2, 4, 8 or 16');
    if (!Number.isInteger(size) || size < 1 || size > 1 << 24)
      throw new RangeError('size must be 1..16777216');
    let n = ways;
    while (n < size) n *= 2;
    this.size = n;
    this.ways = ways;
    this.#mask = (n - 1) & ~(ways - 1);
    this.#keys = new Uint32Array(n);
  }

  /** The slot holding `key`, or -1. */
  find(key: number): number {
    const tag = (key | 1) >>> 0;
    const base = Math.imul(key, 0x85ebca6b) & this.#mask;
    for (let i = 0; i < this.ways; i++) if (this.#keys[base + i] === tag) return base + i;
    return -1;
  }

  /**
   * The slot of `key`, given to it if it had none: a free slot of its set, else the slot
   * whose `rank(slot)` is lowest (ties: the first). Sets `claimed` when the slot was (re)given
   * to this key, so the caller must reset its columns. Allocates nothing.
   */
  claim(key: number, rank: (slot: number) => number): number {
    const tag = (key | 1) >>> 0;
    const base = Math.imul(key, 0x85ebca6b) & this.#mask;
    let victim = -1;
    let lowest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.ways; i++) {
      const s = base + i;
      const k = this.#keys[s];
      if (k === tag) {
        this.claimed = false;
        return s;
      }
      if (k === 0) {
        if (lowest !== Number.NEGATIVE_INFINITY) {
          victim = s;
          lowest = Number.NEGATIVE_INFINITY;
        }
        continue;
      }
      const r = rank(s);
      if (r < lowest) {
        lowest = r;
        victim = s;
      }
    }
    if (lowest !== Number.NEGATIVE_INFINITY) this.evictions++;
    this.#keys[victim] = tag;
    this.claimed = true;
    return victim;
  }

  /** Whether `slot` holds a key. */
  holds(slot: number): boolean {
    return this.#keys[slot] !== 0;
  }

  /** Frees `slot`. */
  release(slot: number): void {
    this.#keys[slot] = 0;
  }

  /** Slots in use (a walk of the table: for tests and metrics, not the packet path). */
  used(): number {
    let n = 0;
    for (const k of this.#keys) if (k !== 0) n++;
    return n;
  }
}

/** A 32-bit mix step (multiply, xor-shift). */
export function mix32(h: number, v: number): number {
  const x = Math.imul(h ^ v, 0x9e3779b1);
  return (x ^ (x >>> 15)) >>> 0;
}

/** Hash of `octets[start, end)`, case-folded (A–Z as a–z): a name's wire octets. */
export function hashOctets(octets: Uint8Array, start = 0, end = octets.length, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = start; i < end; i++) {
    const c = octets[i];
    h = mix32(h, c >= 0x41 && c <= 0x5a ? c | 0x20 : c);
  }
  return h;
}

/** Hash of the first `bits` bits of an address (4 or 16 octets): a client block. */
export function hashPrefix(address: Uint8Array, bits: number): number {
  const whole = bits >>> 3;
  let h = address.length === 4 ? 0x3c6ef372 : 0xa54ff53a;
  for (let i = 0; i < whole; i++) h = mix32(h, address[i]);
  const rest = bits & 7;
  if (rest) h = mix32(h, address[whole] & (0xff << (8 - rest)) & 0xff);
  return mix32(h, bits);
}
