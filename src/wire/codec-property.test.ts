/**
 * Property tests of the codec with a seeded PRNG (reproducible; change SEED to explore):
 * random messages survive encode → decode, and arbitrary or mutated octets only ever yield a
 * message or a WireFormatError.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { seededRandom } from '../../test/helpers/prng.js';
import { RRType } from './constants.js';
import { decodeMessage } from './decode.js';
import { encodeMessage } from './encode.js';
import { WireFormatError } from './errors.js';
import type { Edns, Message, Question, RR } from './message.js';
import { foldCase, Name } from './name.js';

const SEED = 0x5eed_c0de;

class Gen {
  readonly rand: () => number;
  constructor(seed: number) {
    this.rand = seededRandom(seed);
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rand() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.rand() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(0, 255);
    return out;
  }
  /** Random case for ASCII letters only. */
  recase(label: string): string {
    let out = '';
    for (let i = 0; i < label.length; i++) {
      const c = label.charCodeAt(i);
      const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
      out += letter ? String.fromCharCode(this.chance(0.5) ? c | 0x20 : c & ~0x20) : label[i];
    }
    return out;
  }
  label(): string {
    if (this.chance(0.1)) {
      // Any octets at all, including '.', 0x00 and >= 0x80.
      let s = '';
      for (let i = this.int(1, 63); i > 0; i--) s += String.fromCharCode(this.int(0, 255));
      return s;
    }
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_';
    let s = '';
    for (let i = this.int(1, this.chance(0.9) ? 8 : 63); i > 0; i--)
      s += alphabet[this.int(0, alphabet.length - 1)];
    return s;
  }
}

/**
 * Makes names for one message. Labels come from a small pool so that names share suffixes
 * (exercising compression). With `consistentCase`, every case-folded suffix keeps the case of
 * its first use, because compression is case-insensitive: a later name sharing a suffix comes
 * back with the case of the earlier one (as NSD and Knot do).
 */
class NameMaker {
  readonly #pool: string[];
  readonly #seen = new Map<string, string>();
  constructor(
    readonly g: Gen,
    readonly consistentCase: boolean,
  ) {
    this.#pool = Array.from({ length: g.int(1, 8) }, () => g.label());
  }
  name(): Name {
    const g = this.g;
    let wire = '\0';
    for (let i = g.int(0, 5); i > 0; i--) {
      const label = g.recase(g.chance(0.8) ? g.pick(this.#pool) : g.label());
      const next = String.fromCharCode(label.length) + label + wire;
      if (next.length > 255) break;
      wire = next;
      if (this.consistentCase) {
        const key = foldCase(wire);
        const first = this.#seen.get(key);
        if (first === undefined) this.#seen.set(key, wire);
        else wire = first;
      }
    }
    return Name.fromWire(wire);
  }
}

const PRIVATE_TYPES = [65280, 65281, 65400, 65534];

function u16(v: number): number[] {
  return [(v >> 8) & 0xff, v & 0xff];
}

function rdataFor(g: Gen, names: NameMaker, type: number): Uint8Array {
  switch (type) {
    case RRType.A:
      return g.bytes(4);
    case RRType.AAAA:
      return g.bytes(16);
    case RRType.NS:
    case RRType.CNAME:
    case RRType.PTR:
      return names.name().toBytes();
    case RRType.MX:
      return Uint8Array.from([...u16(g.int(0, 65535)), ...names.name().toBytes()]);
    case RRType.SRV:
      return Uint8Array.from([...g.bytes(6), ...names.name().toBytes()]);
    case RRType.SOA:
      return Uint8Array.from([...names.name().toBytes(), ...names.name().toBytes(), ...g.bytes(20)]);
    case RRType.TXT: {
      const out: number[] = [];
      for (let i = g.int(1, 3); i > 0; i--) {
        const len = g.int(0, g.chance(0.9) ? 20 : 255);
        out.push(len, ...g.bytes(len));
      }
      return Uint8Array.from(out);
    }
    default:
      return g.bytes(g.int(0, 40));
  }
}

const TYPES = [
  RRType.A,
  RRType.AAAA,
  RRType.NS,
  RRType.CNAME,
  RRType.PTR,
  RRType.MX,
  RRType.SRV,
  RRType.SOA,
  RRType.TXT,
];

function randomRR(g: Gen, names: NameMaker): RR {
  const type = g.chance(0.2) ? g.pick(PRIVATE_TYPES) : g.pick(TYPES);
  return {
    name: names.name(),
    type,
    class: g.chance(0.9) ? 1 : g.int(0, 65535),
    ttl: g.int(0, 0xffffffff),
    rdata: rdataFor(g, names, type),
  };
}

function randomMessage(g: Gen, consistentCase: boolean): Message {
  const names = new NameMaker(g, consistentCase);
  const questions: Question[] = [];
  for (let i = g.int(0, 2); i > 0; i--)
    questions.push({ name: names.name(), type: g.int(0, 65535), class: g.int(0, 65535) });
  const section = () => Array.from({ length: g.int(0, 6) }, () => randomRR(g, names));
  const msg: Message = {
    id: g.int(0, 65535),
    flags: g.int(0, 65535),
    questions,
    answers: section(),
    authority: section(),
    additional: section(),
  };
  // Now and then a message past 16 KiB, where new names can no longer be pointer targets.
  if (g.chance(0.02))
    msg.answers.unshift({ ...randomRR(g, names), type: 65280, rdata: g.bytes(g.int(16000, 20000)) });
  if (g.chance(0.6)) {
    const edns: Edns = {
      udpSize: g.int(0, 65535),
      extendedRcode: g.int(0, 255),
      version: g.int(0, 255),
      flags: g.int(0, 65535),
      options: Array.from({ length: g.int(0, 3) }, () => ({
        code: g.int(0, 65535),
        data: g.bytes(g.int(0, 20)),
      })),
    };
    msg.edns = edns;
  }
  if (g.chance(0.1)) {
    const tsig = [
      ...Name.parse('hmac-sha256.').toBytes(),
      ...g.bytes(8),
      0,
      4,
      ...g.bytes(4),
      ...g.bytes(4),
      0,
      0,
    ];
    msg.additional.push({
      name: names.name(),
      type: RRType.TSIG,
      class: 255,
      ttl: 0,
      rdata: Uint8Array.from(tsig),
    });
  }
  return msg;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** Types whose RDATA names the writer compresses (RFC 3597 §4), so their case may change. */
const NAMED_RDATA: ReadonlySet<number> = new Set([
  RRType.NS,
  RRType.MD,
  RRType.MF,
  RRType.CNAME,
  RRType.SOA,
  RRType.MB,
  RRType.MG,
  RRType.MR,
  RRType.PTR,
  RRType.MINFO,
  RRType.MX,
]);

/**
 * A plain, comparable form of a message. `exact` compares names by `wire` (case preserved);
 * otherwise by `key`, and the RDATA of types whose names are compressed with case folded.
 */
function plain(m: Message, exact: boolean) {
  const nm = (n: Name) => (exact ? n.wire : n.key);
  const rr = (r: RR) => ({
    name: nm(r.name),
    type: r.type,
    class: r.class,
    ttl: r.ttl,
    rdata:
      !exact && NAMED_RDATA.has(r.type) ? foldCase(Buffer.from(r.rdata).toString('latin1')) : hex(r.rdata),
  });
  return {
    id: m.id,
    flags: m.flags,
    questions: m.questions.map((q) => ({ name: nm(q.name), type: q.type, class: q.class })),
    answers: m.answers.map(rr),
    authority: m.authority.map(rr),
    // decodeMessage returns TSIG last, encodeMessage writes it last: compare in that order.
    additional: [
      ...m.additional.filter((r) => r.type !== RRType.TSIG),
      ...m.additional.filter((r) => r.type === RRType.TSIG),
    ].map(rr),
    edns: m.edns && { ...m.edns, options: m.edns.options.map((o) => ({ code: o.code, data: hex(o.data) })) },
  };
}

/**
 * A header with small counts followed by random message-like pieces (labels, root labels,
 * backward pointers, TYPE/CLASS pairs with common types, TTLs, RDLENGTH + data): random
 * input that gets past the first few checks far more often than uniform octets do.
 */
function tokenSoup(g: Gen): Uint8Array {
  const out = [g.int(0, 255), g.int(0, 255), g.int(0, 255), g.int(0, 255)];
  for (let k = 0; k < 4; k++) out.push(0, g.int(0, 2));
  const types = [
    RRType.A,
    RRType.NS,
    RRType.SOA,
    RRType.MX,
    RRType.TXT,
    RRType.AAAA,
    RRType.OPT,
    RRType.TSIG,
    65280,
  ];
  for (let k = g.int(0, 16); k > 0; k--) {
    switch (g.int(0, 5)) {
      case 0: {
        const n = g.chance(0.9) ? g.int(1, 8) : g.int(0, 255);
        out.push(n, ...g.bytes(Math.min(n, 63)));
        break;
      }
      case 1:
        out.push(0);
        break;
      case 2: {
        const t = g.int(0, out.length);
        out.push(0xc0 | (t >> 8), t & 0xff);
        break;
      }
      case 3:
        out.push(...u16(g.pick(types)), ...u16(g.chance(0.8) ? 1 : g.int(0, 65535)));
        break;
      case 4: {
        const n = g.int(0, 20);
        out.push(...u16(g.chance(0.9) ? n : g.int(0, 65535)), ...g.bytes(n));
        break;
      }
      default:
        out.push(...g.bytes(4));
    }
  }
  return Uint8Array.from(out);
}

/** Decodes `buf`; anything thrown other than a WireFormatError fails the test with the input. */
function decodeOrWireError(buf: Uint8Array, what: string): Message | undefined {
  try {
    return decodeMessage(buf);
  } catch (e) {
    if (e instanceof WireFormatError) return undefined;
    assert.fail(`${what}: ${hex(buf)} threw ${(e as Error)?.stack ?? e}`);
  }
}

describe('codec properties', () => {
  test('decode(encode(m)) equals m, names compared case-preserving', () => {
    const g = new Gen(SEED);
    for (let i = 0; i < 3000; i++) {
      const m = randomMessage(g, true);
      const bytes = encodeMessage(m);
      const back = decodeMessage(bytes);
      assert.deepEqual(plain(back, true), plain(m, true), `message #${i}`);
      // Re-encoding the decoded message gives the same octets.
      assert.equal(hex(encodeMessage(back)), hex(bytes), `message #${i} re-encoded`);
    }
  });

  test('with names in unrelated cases, decode(encode(m)) equals m up to ASCII case', () => {
    const g = new Gen(SEED + 1);
    for (let i = 0; i < 2000; i++) {
      const m = randomMessage(g, false);
      assert.deepEqual(plain(decodeMessage(encodeMessage(m)), false), plain(m, false), `message #${i}`);
    }
  });

  test('random octets: a message or a WireFormatError, nothing else', (t) => {
    const g = new Gen(SEED + 2);
    let decoded = 0;
    for (let i = 0; i < 100_000; i++) {
      if (g.chance(0.3)) {
        if (decodeOrWireError(tokenSoup(g), 'token soup') !== undefined) decoded++;
        continue;
      }
      const len = g.int(0, g.chance(0.5) ? 40 : 300);
      const buf = g.bytes(len);
      // Half the time, small counts so that parsing gets past the header.
      if (len >= 12 && g.chance(0.5)) {
        for (let k = 4; k < 12; k += 2) {
          buf[k] = 0;
          buf[k + 1] = g.int(0, 3);
        }
      }
      if (decodeOrWireError(buf, 'random') !== undefined) decoded++;
    }
    t.diagnostic(`${decoded} of 100000 random inputs decoded`);
  });

  test('mutated valid messages: a message or a WireFormatError; what decodes re-encodes', (t) => {
    const g = new Gen(SEED + 3);
    const corpus = Array.from({ length: 200 }, () => encodeMessage(randomMessage(g, g.chance(0.5))));
    const special = [0x00, 0x3f, 0x40, 0x80, 0xc0, 0xff];
    let decoded = 0;
    for (let i = 0; i < 60_000; i++) {
      const base = g.pick(corpus);
      let buf: Uint8Array;
      const kind = g.int(0, 4);
      if (kind === 0) {
        // Bit flips.
        buf = base.slice();
        for (let k = g.int(1, 4); k > 0 && buf.length > 0; k--)
          buf[g.int(0, buf.length - 1)] ^= 1 << g.int(0, 7);
      } else if (kind === 1) {
        buf = base.slice(0, g.int(0, base.length));
      } else if (kind === 2) {
        // Splice: the head of one message and the tail of another.
        const other = g.pick(corpus);
        const tail = other.subarray(g.int(0, other.length));
        const head = base.subarray(0, g.int(0, base.length));
        buf = new Uint8Array(head.length + tail.length);
        buf.set(head);
        buf.set(tail, head.length);
      } else if (kind === 3) {
        // Octets that mean something to the name decoder: label types and pointers.
        buf = base.slice();
        for (let k = g.int(1, 3); k > 0 && buf.length > 0; k--) {
          const at = g.int(0, buf.length - 1);
          buf[at] = g.chance(0.5) ? g.pick(special) : g.int(0, 255);
          if (buf[at] >= 0xc0 && at + 1 < buf.length) buf[at + 1] = g.int(0, Math.min(255, buf.length));
        }
      } else {
        // Insert or delete a few octets.
        const at = g.int(0, base.length);
        const del = Math.min(g.int(0, 3), base.length - at);
        const ins = g.bytes(g.int(0, 3));
        buf = new Uint8Array(base.length - del + ins.length);
        buf.set(base.subarray(0, at));
        buf.set(ins, at);
        buf.set(base.subarray(at + del), at + ins.length);
      }
      const m = decodeOrWireError(buf, `mutation ${kind}`);
      if (m === undefined) continue;
      decoded++;
      // Whatever decodes is a well-formed message: it encodes again (uncompressed RDATA may
      // push it past 64 KiB, the only acceptable failure) and decodes to the same thing.
      let again: Uint8Array;
      try {
        again = encodeMessage(m);
      } catch (e) {
        assert.ok(e instanceof WireFormatError && e.code === 'DNS_ERR_TOO_BIG', `${hex(buf)}: ${e}`);
        continue;
      }
      assert.deepEqual(plain(decodeMessage(again), false), plain(m, false), hex(buf));
    }
    t.diagnostic(`${decoded} of 60000 mutated inputs decoded`);
    assert.ok(decoded > 0, 'some mutations should still decode');
  });
});
