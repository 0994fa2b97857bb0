/**
 * The name-compression table's parts (RFC 1035 §4.1.4) shared by the message writer
 * (`encode.ts`) and the image compiler's template encoder (`image/compile.ts`), which must
 * compress octet for octet alike: an open-addressing table from case-folded name suffix to
 * the offset of its first occurrence, the suffix hash, the slot a hash starts at, and the check
 * that confirms a hash match against the message.
 * @module
 */

/** Slots of the table (a power of two). */
export const SLOTS = 8192;
/** `slot & SLOT_MASK` wraps a probe. */
export const SLOT_MASK = SLOTS - 1;
/** Beyond this many targets (far more than 16 KiB of names has) new names are not added. */
export const MAX_TARGETS = SLOTS / 2;
/** RFC 1035 §4.1.4: a pointer has 14 bits, so only the first 16 KiB can be pointed at. */
export const POINTER_LIMIT = 0x4000;
/** FNV-1a's 32-bit prime and offset basis: the suffix hash starts at `FNV_OFFSET` (the root). */
export const FNV_PRIME = 0x01000193;
export const FNV_OFFSET = 0x811c9dc5 | 0;

/** Hash of a label (at buf[p]) prepended to a suffix whose hash is `h`; ASCII case folded. */
export function hashLabel(h: number, buf: Uint8Array, p: number): number {
  const end = p + buf[p];
  h = Math.imul(h ^ buf[p], FNV_PRIME);
  for (let k = p + 1; k <= end; k++) {
    const c = buf[k];
    // RFC 4343 §3: only A-Z fold.
    h = Math.imul(h ^ (c >= 0x41 && c <= 0x5a ? c | 0x20 : c), FNV_PRIME);
  }
  return h;
}

/** The slot a suffix hash's probe starts at. */
export function slotOf(h: number): number {
  return (h ^ (h >>> 13) ^ (h >>> 26)) & SLOT_MASK;
}

/**
 * True when the uncompressed name at buf[a] equals the name at buf[b] (which may be
 * compressed: it was written earlier into the same message), ignoring ASCII case.
 */
export function sameName(buf: Uint8Array, a: number, b: number): boolean {
  for (;;) {
    let lb = buf[b];
    while (lb >= 0xc0) {
      b = ((lb & 0x3f) << 8) | buf[b + 1];
      lb = buf[b];
    }
    if (buf[a] !== lb) return false;
    if (lb === 0) return true;
    for (let k = 1; k <= lb; k++) {
      let x = buf[a + k];
      let y = buf[b + k];
      if (x === y) continue;
      if (x >= 0x41 && x <= 0x5a) x |= 0x20;
      if (y >= 0x41 && y <= 0x5a) y |= 0x20;
      if (x !== y) return false;
    }
    a += lb + 1;
    b += lb + 1;
  }
}

/**
 * Length of the uncompressed name at rdata[pos], or -1 when it is not a well-formed
 * uncompressed name inside the RDATA (the writer then copies the RDATA as it is).
 */
export function storedNameLength(rdata: Uint8Array, pos: number): number {
  let p = pos;
  while (p < rdata.length) {
    const len = rdata[p];
    if (len === 0) return p + 1 - pos <= 255 ? p + 1 - pos : -1;
    if (len > 63) return -1;
    p += len + 1;
  }
  return -1;
}
