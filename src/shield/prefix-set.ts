/**
 * Sets of address prefixes matched against address octets (4 or 16), for the shield's
 * allow-list: prefixes that are never shed, limited or blocked (a big resolver, a carrier-grade
 * NAT, the operator's own monitoring). A lookup masks the address once per prefix length the
 * set holds and looks the result up in a Map: a few operations, whatever the set's size.
 */
import { isIP } from 'node:net';

/** The octets of an IPv4 or IPv6 address in text (`::ffff:a.b.c.d` gives the IPv4 octets). */
export function addressOctets(text: string): Uint8Array {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  const a = mapped ? mapped[1] : text;
  const kind = isIP(a);
  if (kind === 4) return Uint8Array.from(a.split('.').map(Number));
  if (kind !== 6) throw new RangeError(`'${text}' is not an IP address`);
  let head = a;
  let tail4: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (dotted) {
    tail4 = dotted[1].split('.').map(Number);
    head = `${a.slice(0, -dotted[1].length)}0:0`;
  }
  const [l, r] = head.split('::');
  const left = l === '' ? [] : l.split(':');
  const right = r === undefined || r === '' ? [] : r.split(':');
  const groups =
    r === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = Number.parseInt(g, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  });
  if (dotted) out.set(tail4, 12);
  return out;
}

/** `ADDR/LEN` (or a bare address: a host) as octets and a length. */
export function parsePrefix(text: string): { octets: Uint8Array; length: number } {
  const [address, len, extra] = text.trim().split('/');
  if (extra !== undefined) throw new RangeError(`'${text}' is not a prefix (ADDR/LEN)`);
  let octets: Uint8Array;
  try {
    octets = addressOctets(address);
  } catch {
    throw new RangeError(`'${text}' is not a prefix: '${address}' is not an IP address`);
  }
  const max = octets.length * 8;
  if (len === undefined) return { octets, length: max };
  if (!/^\d{1,3}$/.test(len) || Number(len) > max)
    throw new RangeError(`'${text}': prefix length must be 0..${max}`);
  return { octets, length: Number(len) };
}

function maskedKey(octets: Uint8Array, length: number): string {
  let key = '';
  const whole = length >>> 3;
  for (let i = 0; i < whole; i++) key += String.fromCharCode(octets[i]);
  const rest = length & 7;
  if (rest) key += String.fromCharCode(octets[whole] & (0xff << (8 - rest)) & 0xff);
  return key;
}

export class PrefixSet {
  /** Per family (4, 16 octets): prefix length → masked keys. */
  readonly #byLength = new Map<number, Map<number, Set<string>>>([
    [4, new Map()],
    [16, new Map()],
  ]);
  #count = 0;

  constructor(prefixes: readonly string[] = []) {
    for (const p of prefixes) this.add(p);
  }

  /** Adds `ADDR/LEN` or `ADDR`. @throws RangeError naming a bad entry */
  add(prefix: string): void {
    const { octets, length } = parsePrefix(prefix);
    const lengths = this.#byLength.get(octets.length)!;
    let keys = lengths.get(length);
    if (keys === undefined) {
      keys = new Set();
      // Longest first: not needed for a yes/no answer, but keeps lookups predictable.
      const sorted: [number, Set<string>][] = [...lengths.entries(), [length, keys]];
      sorted.sort((a, b) => b[0] - a[0]);
      lengths.clear();
      for (const [k, v] of sorted) lengths.set(k, v);
    }
    const key = maskedKey(octets, length);
    if (!keys.has(key)) this.#count++;
    keys.add(key);
  }

  /** Whether `address` (4 or 16 octets) is inside one of the prefixes. */
  has(address: Uint8Array): boolean {
    const lengths = this.#byLength.get(address.length);
    if (lengths === undefined) return false;
    for (const [length, keys] of lengths) if (keys.has(maskedKey(address, length))) return true;
    return false;
  }

  get size(): number {
    return this.#count;
  }
}
