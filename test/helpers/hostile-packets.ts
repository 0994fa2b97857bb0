/**
 * The hostile-packet generator of the survival test (test/interop/survival.test.ts), shared
 * with the native pre-parse fuzz test (test/native/fuzz.test.ts): random bytes, or a valid
 * query broken in one of several ways. Deterministic for a given `rand`.
 * @module
 */
import { buildQuery, type QuerySpec } from './dns-client.js';

/** The generator's functions, all drawing from `rand` (a seeded PRNG returning [0, 1)). */
export function hostilePackets(rand: () => number) {
  const int = (n: number): number => Math.floor(rand() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)];
  const randomBytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(256));

  const NAMES = [
    'www.example.',
    'example.',
    'nope.example.',
    'foo.wild.example.',
    'big4096.example.',
    'lots.example.',
    'host.deleg.example.',
    'www.dn.example.',
    'loop1.example.',
    'www.child.example.',
    'host3.rfc4592.test.',
    'nowhere.invalid.',
  ];
  const TYPES = [1, 2, 5, 6, 15, 16, 28, 33, 39, 43, 255, 65280];

  function validQuery(): Uint8Array {
    const spec: QuerySpec = { name: pick(NAMES), type: pick(TYPES), id: int(0x10000) };
    if (rand() < 0.7) spec.edns = { udpSize: pick([0, 512, 1232, 4096, 65535]), dnssecOk: rand() < 0.3 };
    return buildQuery(spec);
  }

  function setU16(b: Uint8Array, at: number, v: number): void {
    if (at + 1 < b.length) {
      b[at] = (v >> 8) & 0xff;
      b[at + 1] = v & 0xff;
    }
  }

  /** An OPT RR (RFC 6891 §6.1.2) with `count` options of random codes and sizes, maybe lying about its length. */
  function optRecord(count: number, lie: boolean): number[] {
    const opts: number[] = [];
    for (let i = 0; i < count; i++) {
      const len = int(12);
      opts.push(int(2) ? pick([3, 8, 10, 12, 15]) : int(256), 0, 0, len, ...randomBytes(len));
    }
    const rdlen = lie ? int(0x10000) : opts.length;
    return [0, 0, 41, 0xff, 0xff, int(256), int(256), int(256), int(256), rdlen >> 8, rdlen & 0xff, ...opts];
  }

  /** One hostile datagram: random bytes, or a valid query broken in one of several ways. */
  function hostilePacket(): Uint8Array {
    const kind = int(11);
    if (kind === 0) return randomBytes(int(601));
    const q = validQuery();
    switch (kind) {
      case 1: {
        // Bit flips anywhere.
        const b = Uint8Array.from(q);
        for (let i = 1 + int(8); i > 0; i--) b[int(b.length)] ^= 1 << int(8);
        return b;
      }
      case 2:
        return q.slice(0, int(q.length));
      case 3: {
        // Random bytes inserted at a random place.
        const at = int(q.length + 1);
        return Uint8Array.from([...q.slice(0, at), ...randomBytes(1 + int(40)), ...q.slice(at)]);
      }
      case 4: {
        // RFC 1035 §4.1.1 counts that do not match the sections present.
        const b = Uint8Array.from(q);
        for (const at of [4, 6, 8, 10])
          if (rand() < 0.5) setU16(b, at, pick([0, 1, 2, 3, 255, 0xffff, int(0x10000)]));
        return b;
      }
      case 5: {
        // RFC 1035 §4.1.4 compression pointers: to itself, forward, into the header, past the end, in chains.
        const target = pick([12, 0, 2, 13, 14, q.length, 0x3fff, int(64)]);
        const ptr = [0xc0 | (target >> 8), target & 0xff];
        const tail = [0, 1, 0, 1];
        const chain = rand() < 0.5 ? [1, 0x61, ...ptr] : ptr;
        const b = Uint8Array.from([...q.slice(0, 12), ...chain, ...tail, ...randomBytes(int(20))]);
        setU16(b, 4, 1);
        setU16(b, 10, 0);
        return b;
      }
      case 6: {
        // Huge or lying EDNS: many options, a 65535 payload size, an RDLENGTH past the end.
        const body = [...q.slice(0, q.length - (q[11] === 1 ? 11 : 0))];
        body[11] = 1;
        return Uint8Array.from([...body, ...optRecord(int(2) ? 1 + int(200) : int(4), rand() < 0.4)]);
      }
      case 7: {
        // Two OPT records, or an OPT whose owner is not the root.
        const body = [...q.slice(0, q.length - (q[11] === 1 ? 11 : 0))];
        body[11] = 2;
        const opt = optRecord(int(3), false);
        const second = rand() < 0.5 ? opt : [1, 0x78, ...opt];
        return Uint8Array.from([...body, ...opt, ...second]);
      }
      case 8: {
        // Odd header bits: QR set (a response must never be answered), other opcodes, Z, RCODE.
        const b = Uint8Array.from(q);
        b[2] = int(256);
        b[3] = int(256);
        return b;
      }
      case 9: {
        // Labels longer than 63 octets, reserved label types, names beyond 255 octets.
        const labels: number[] = [];
        for (let i = 0; i < 1 + int(10); i++) {
          const len = pick([63, 64, 0x40, 0x80, 0x7f, 1 + int(63)]);
          labels.push(len, ...randomBytes(Math.min(len & 0x3f, 63)));
        }
        return Uint8Array.from([...q.slice(0, 12), ...labels, 0, 0, 1, 0, 1]);
      }
      default: {
        // Qdcount 0 or 2, or question class ANY/CH/NONE.
        const b = Uint8Array.from(q);
        if (rand() < 0.5) setU16(b, 4, pick([0, 2]));
        else setU16(b, q.length - (q[11] === 1 ? 11 : 0) - 2, pick([3, 254, 255, 0, int(0x10000)]));
        return b;
      }
    }
  }

  return { int, pick, randomBytes, validQuery, hostilePacket };
}
