/**
 * Compact storage of many small RDATA byte strings.
 * @module
 */

/**
 * Packs small RDATA into shared buffers: a view costs ~95 octets of heap where a Uint8Array
 * of its own costs ~210, which is most of a record's footprint in a big zone. Buffers start
 * small and double up to 64 KiB, so 10,000 small zones don't each hold 64 KiB.
 */
export class RdataSlab {
  static readonly MAX = 65536;
  static readonly FIRST = 256;
  #buf: Uint8Array | undefined;
  #used = 0;
  #next: number;
  readonly #max: number;

  /** Buffers of `first` octets, doubling up to `max`. */
  constructor(first = RdataSlab.FIRST, max = RdataSlab.MAX) {
    this.#next = first;
    this.#max = max;
  }

  /** A copy of `rdata` in the slab (or `rdata` itself when it is large). */
  copy(rdata: Uint8Array): Uint8Array {
    const n = rdata.length;
    if (n > 4096) return rdata;
    let buf = this.#buf;
    if (buf === undefined || this.#used + n > buf.length) {
      buf = this.#buf = new Uint8Array(Math.max(this.#next, n));
      this.#next = Math.min(this.#next * 2, this.#max);
      this.#used = 0;
    }
    const view = new Uint8Array(buf.buffer, this.#used, n);
    view.set(rdata);
    this.#used += n;
    return view;
  }

  /** A copy of `src[0, n)` in the slab (n ≤ 4096), for RDATA built in a scratch buffer. */
  copyFrom(src: Uint8Array, n: number): Uint8Array {
    let buf = this.#buf;
    if (buf === undefined || this.#used + n > buf.length) {
      buf = this.#buf = new Uint8Array(Math.max(this.#next, n));
      this.#next = Math.min(this.#next * 2, this.#max);
      this.#used = 0;
    }
    const at = this.#used;
    for (let i = 0; i < n; i++) buf[at + i] = src[i];
    this.#used = at + n;
    // The constructor, not subarray: subarray looks up a species constructor every call.
    return new Uint8Array(buf.buffer, at, n);
  }

  /**
   * `rdata` packed: an array that owns its whole buffer is copied into the slab; a view into
   * a larger buffer (already packed, e.g. by the zone parser) is kept as it is.
   */
  adopt(rdata: Uint8Array): Uint8Array {
    return rdata.byteLength === rdata.buffer.byteLength ? this.copy(rdata) : rdata;
  }
}
