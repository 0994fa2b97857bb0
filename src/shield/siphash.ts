/**
 * SipHash-2-4 (Aumasson and Bernstein, 2012) with a 128-bit key and a 64-bit result: the hash
 * of interoperable DNS server cookies (RFC 9018 §4.4). Written over 32-bit halves so that no
 * BigInt is made per call; a call allocates nothing.
 *
 * The 64-bit state words v0..v3 live in one Uint32Array as (low, high) pairs. The result is
 * written as 8 octets, least significant first — the byte order of the reference
 * implementation, and the order RFC 9018 servers put the hash on the wire.
 */

/** v0..v3 as [v0lo, v0hi, v1lo, v1hi, v2lo, v2hi, v3lo, v3hi]; m the current word. */
const v = new Uint32Array(8);
const m = new Uint32Array(2);

/** 64-bit add: v[a] += v[b] (word indices of the low halves). */
function add(a: number, b: number): void {
  const lo = (v[a] + v[b]) >>> 0;
  const carry = lo < v[a] ? 1 : 0;
  v[a] = lo;
  v[a + 1] = (v[a + 1] + v[b + 1] + carry) >>> 0;
}

/** 64-bit rotate left of v[a] by n bits (0 < n < 64, n ≠ 32). */
function rotl(a: number, n: number): void {
  const lo = v[a];
  const hi = v[a + 1];
  if (n < 32) {
    v[a] = ((lo << n) | (hi >>> (32 - n))) >>> 0;
    v[a + 1] = ((hi << n) | (lo >>> (32 - n))) >>> 0;
  } else {
    const k = n - 32;
    v[a] = ((hi << k) | (lo >>> (32 - k))) >>> 0;
    v[a + 1] = ((lo << k) | (hi >>> (32 - k))) >>> 0;
  }
}

/** 64-bit rotate by 32: swap the halves. */
function swap(a: number): void {
  const lo = v[a];
  v[a] = v[a + 1];
  v[a + 1] = lo;
}

/** 64-bit xor: v[a] ^= v[b]. */
function xor(a: number, b: number): void {
  v[a] = (v[a] ^ v[b]) >>> 0;
  v[a + 1] = (v[a + 1] ^ v[b + 1]) >>> 0;
}

const V0 = 0;
const V1 = 2;
const V2 = 4;
const V3 = 6;

function round(): void {
  add(V0, V1);
  rotl(V1, 13);
  xor(V1, V0);
  swap(V0);
  add(V2, V3);
  rotl(V3, 16);
  xor(V3, V2);
  add(V0, V3);
  rotl(V3, 21);
  xor(V3, V0);
  add(V2, V1);
  rotl(V1, 17);
  xor(V1, V2);
  swap(V2);
}

function readLe32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

/** One message word into the state: v3 ^= m, two rounds, v0 ^= m. */
function compress(lo: number, hi: number): void {
  v[V3] = (v[V3] ^ lo) >>> 0;
  v[V3 + 1] = (v[V3 + 1] ^ hi) >>> 0;
  round();
  round();
  v[V0] = (v[V0] ^ lo) >>> 0;
  v[V0 + 1] = (v[V0 + 1] ^ hi) >>> 0;
}

/**
 * SipHash-2-4 of `data[start, end)` under the 16-octet `key`, written as 8 octets (least
 * significant first) at `out[outAt]`.
 * @throws RangeError when the key is not 16 octets or the range is outside `data`
 */
export function sipHash24(
  key: Uint8Array,
  data: Uint8Array,
  start = 0,
  end = data.length,
  out: Uint8Array = new Uint8Array(8),
  outAt = 0,
): Uint8Array {
  if (key.length !== 16) throw new RangeError(`SipHash key must be 16 octets, not ${key.length}`);
  if (start < 0 || end > data.length || start > end) throw new RangeError('SipHash range outside the data');
  if (outAt < 0 || outAt + 8 > out.length) throw new RangeError('SipHash output does not fit');
  const k0lo = readLe32(key, 0);
  const k0hi = readLe32(key, 4);
  const k1lo = readLe32(key, 8);
  const k1hi = readLe32(key, 12);
  // "somepseudorandomlygeneratedbytes", as four 64-bit constants.
  v[V0] = (k0lo ^ 0x70736575) >>> 0;
  v[V0 + 1] = (k0hi ^ 0x736f6d65) >>> 0;
  v[V1] = (k1lo ^ 0x6e646f6d) >>> 0;
  v[V1 + 1] = (k1hi ^ 0x646f7261) >>> 0;
  v[V2] = (k0lo ^ 0x6e657261) >>> 0;
  v[V2 + 1] = (k0hi ^ 0x6c796765) >>> 0;
  v[V3] = (k1lo ^ 0x79746573) >>> 0;
  v[V3 + 1] = (k1hi ^ 0x74656462) >>> 0;
  const length = end - start;
  const whole = start + (length & ~7);
  for (let at = start; at < whole; at += 8) compress(readLe32(data, at), readLe32(data, at + 4));
  // The last word: the remaining 0..7 octets, least significant first, and the length's low
  // octet in the top octet.
  m[0] = 0;
  m[1] = (length & 0xff) << 24;
  for (let i = 0; whole + i < end; i++) {
    const octet = data[whole + i];
    if (i < 4) m[0] |= octet << (8 * i);
    else m[1] |= octet << (8 * (i - 4));
  }
  compress(m[0] >>> 0, m[1] >>> 0);
  v[V2] = (v[V2] ^ 0xff) >>> 0;
  round();
  round();
  round();
  round();
  const lo = (v[V0] ^ v[V1] ^ v[V2] ^ v[V3]) >>> 0;
  const hi = (v[V0 + 1] ^ v[V1 + 1] ^ v[V2 + 1] ^ v[V3 + 1]) >>> 0;
  out[outAt] = lo & 0xff;
  out[outAt + 1] = (lo >>> 8) & 0xff;
  out[outAt + 2] = (lo >>> 16) & 0xff;
  out[outAt + 3] = lo >>> 24;
  out[outAt + 4] = hi & 0xff;
  out[outAt + 5] = (hi >>> 8) & 0xff;
  out[outAt + 6] = (hi >>> 16) & 0xff;
  out[outAt + 7] = hi >>> 24;
  return out;
}
