/**
 * Compact storage of many small RDATA byte strings.
 * @module
 */

/**
 * Packs small RDATA into shared 64 KiB buffers: a view costs ~95 octets of heap where a
 * Uint8Array of its own costs ~210, which is most of a record's footprint in a big zone.
 */
export class RdataSlab {
  static readonly SIZE = 65536;
  #buf = new Uint8Array(RdataSlab.SIZE);
  #used = 0;

  /** A copy of `rdata` in the slab (or `rdata` itself when it is large). */
  copy(rdata: Uint8Array): Uint8Array {
    const n = rdata.length;
    if (n > 4096) return rdata;
    if (this.#used + n > RdataSlab.SIZE) {
      this.#buf = new Uint8Array(RdataSlab.SIZE);
      this.#used = 0;
    }
    const view = this.#buf.subarray(this.#used, this.#used + n);
    view.set(rdata);
    this.#used += n;
    return view;
  }

  /**
   * `rdata` packed: an array that owns its whole buffer is copied into the slab; a view into
   * a larger buffer (already packed, e.g. by the zone parser) is kept as it is.
   */
  adopt(rdata: Uint8Array): Uint8Array {
    return rdata.byteLength === rdata.buffer.byteLength ? this.copy(rdata) : rdata;
  }
}
