/**
 * DNS message encoder with name compression (RFC 1035 §4.1.4) and a size limit for
 * truncation decisions.
 * @module
 */
import { RRType } from './constants.js';
import { optLength } from './edns.js';
import { WireFormatError } from './errors.js';
import type { Edns, Message, Question, RR } from './message.js';
import type { Name } from './name.js';
import * as table from './name-compression.js';
import { hashLabel, sameName, slotOf, storedNameLength } from './name-compression.js';
import { compressibleNameOffsets } from './rdata.js';

/** Sections a record can be written to. */
export enum Section {
  Answer = 0,
  Authority = 1,
  Additional = 2,
}

/** RFC 1035 §4.2.2 / RFC 6891: no DNS message exceeds 65535 octets. */
const MAX_MESSAGE_SIZE = 65535;
const HEADER_LENGTH = 12;
/** Capacity of a writer's own buffer when it has to leave the shared one; grows by doubling. */
const INITIAL_CAPACITY = 512;
/** Before any record: the question section. */
const QUESTIONS = -1;

// Typed arrays over 64 octets live off the V8 heap and cost ~0.3 µs each to allocate, more
// than encoding a small answer, and a Map of suffix strings costs ~40 ns per entry. So writers
// share one buffer and one compression table, and `finish` copies the result out (from Node's
// Buffer pool). One writer at a time owns them; a new writer takes them over, first moving the
// previous owner's octets to a private buffer (that owner was usually abandoned, e.g. by a
// caller that gave up on an answer that did not fit). A writer that lost the table goes on
// without compressing against earlier names: correct, only larger.

/** Room past the size limit, to stage a name uncompressed before compressing it in place. */
const STAGING = 256;
const shared = new Uint8Array(MAX_MESSAGE_SIZE + STAGING);
let sharedOwner: MessageWriter | undefined;

// The compression table (name-compression.ts): slots belong to the writer whose generation
// they carry, so handing the table over is one increment. Its constants are read into
// module-local consts once: an imported binding is read through its module cell at every use
// (V8 11), which made MessageWriter 7-30% slower in bench/codec's probe loops.
const SLOTS = table.SLOTS;
const SLOT_MASK = table.SLOT_MASK;
const MAX_TARGETS = table.MAX_TARGETS;
const POINTER_LIMIT = table.POINTER_LIMIT;
const FNV_OFFSET = table.FNV_OFFSET;
const slotGeneration = new Uint32Array(SLOTS);
const slotHash = new Int32Array(SLOTS);
const slotOffset = new Uint16Array(SLOTS);
let generation = 0;
let targetCount = 0;

// Per-name scratch: label offsets and suffix hashes (a name has at most 127 labels).
const labelAt = new Int32Array(128);
const suffixHash = new Int32Array(128);
// Table slots filled by the owner's append in progress, emptied again if it is rolled back.
const addedSlots = new Int32Array(MAX_TARGETS);

/**
 * Writes a record's TYPE, CLASS and TTL (8 octets) at `at`: the fixed part after the owner,
 * before RDLENGTH. Shared by the message writer, the image compiler and the Responder's
 * direct answers (one place for the layout of RFC 1035 §4.1.3).
 */
export function writeTypeClassTtl(buf: Uint8Array, at: number, type: number, cls: number, ttl: number): void {
  buf[at] = type >> 8;
  buf[at + 1] = type;
  buf[at + 2] = cls >> 8;
  buf[at + 3] = cls;
  buf[at + 4] = ttl >>> 24;
  buf[at + 5] = ttl >>> 16;
  buf[at + 6] = ttl >>> 8;
  buf[at + 7] = ttl;
}

// An exception from `compressibleNameOffsets`, held while the append is rolled back.
let pendingError: unknown;

function misuse(message: string): WireFormatError {
  return new WireFormatError('DNS_ERR_FORMAT', `MessageWriter: ${message}`);
}

/**
 * Incremental message writer. Records are appended section by section (answer, authority,
 * additional, in that order); an append that would exceed `maxSize` (after space reserved
 * with `reserve`) writes nothing and returns false, so the caller decides truncation.
 *
 * Owner names are always compressed; RDATA names only where `compressibleNameOffsets` allows
 * (RFC 3597 §4). Compression targets are keyed by case-folded suffix, so a later name reuses
 * an earlier one's octets whatever its case (RFC 4343 §3: case is not significant), as NSD
 * and Knot do. `opt` and a final TSIG record may use the reserved space.
 */
export class MessageWriter {
  #buf: Uint8Array;
  #len = HEADER_LENGTH;
  readonly #max: number;
  #reserved = 0;
  #id = 0;
  #flags = 0;
  readonly #counts = [0, 0, 0, 0]; // QD, AN, NS, AR
  #section = QUESTIONS;
  #optWritten = false;
  #tsigWritten = false;
  #result: Uint8Array | undefined;
  /** This writer's generation in the compression table; 0 once it lost the table. */
  #generation: number;
  /** How many `addedSlots` the append in progress has filled. */
  #added = 0;
  /** Key and offset of the last owner or question name written whole: RRsets repeat it. */
  #lastKey: string | undefined;
  #lastTarget = 0;
  /** Where the whole name just compressed by `#compressStaged` can be pointed at, or -1. */
  #stagedTarget = -1;

  /** A writer whose output never exceeds `maxSize` octets (clamped to 12..65535). */
  constructor(maxSize = MAX_MESSAGE_SIZE) {
    const size = Number.isFinite(maxSize) ? Math.floor(maxSize) : MAX_MESSAGE_SIZE;
    this.#max = Math.min(MAX_MESSAGE_SIZE, Math.max(HEADER_LENGTH, size));
    if (sharedOwner !== undefined) sharedOwner.#leaveShared();
    sharedOwner = this;
    this.#buf = shared;
    generation = (generation + 1) >>> 0;
    if (generation === 0) {
      slotGeneration.fill(0);
      generation = 1;
    }
    this.#generation = generation;
    targetCount = 0;
  }

  /** Moves this writer's octets out of the shared buffer and drops its compression table. */
  #leaveShared(): void {
    const own = new Uint8Array(Math.min(this.#max, Math.max(INITIAL_CAPACITY, this.#len)) + STAGING);
    own.set(shared.subarray(0, this.#len));
    this.#buf = own;
    this.#generation = 0;
    this.#added = 0;
  }

  /** Sets ID and flags word (counts are filled in by `finish`). */
  header(id: number, flags: number): void {
    this.#id = id & 0xffff;
    this.#flags = flags & 0xffff;
  }

  /** Appends a question; its name becomes a compression target. */
  question(q: Question): boolean {
    this.#checkOpen();
    if (this.#section !== QUESTIONS) throw misuse('question after a record');
    const mark = this.#len;
    this.#added = 0;
    const limit = this.#max - this.#reserved;
    if (!this.#writeName(q.name.wire, q.name.key, limit) || !this.#room(4, limit)) {
      this.#rollback(mark);
      return false;
    }
    this.#u16(q.type);
    this.#u16(q.class);
    this.#counts[0]++;
    return true;
  }

  /** Appends one RR, compressing its owner and (where allowed) RDATA names. */
  rr(section: Section, rr: RR): boolean {
    const limit = this.#enter(section, rr.type);
    const mark = this.#len;
    this.#added = 0;
    if (this.#writeRR(rr.name, rr.type, rr.class, rr.ttl, rr.rdata, limit)) {
      this.#commit(section, rr.type, 1, mark);
      return true;
    }
    this.#fail(mark);
    return false;
  }

  /** Appends a whole RRset, all or nothing. */
  rrset(
    section: Section,
    name: Name,
    type: number,
    cls: number,
    ttl: number,
    rdata: readonly Uint8Array[],
  ): boolean {
    const limit = this.#enter(section, type);
    const mark = this.#len;
    this.#added = 0;
    for (let i = 0; i < rdata.length; i++) {
      if (!this.#writeRR(name, type, cls, ttl, rdata[i], limit)) {
        this.#fail(mark);
        return false;
      }
    }
    this.#commit(section, type, rdata.length, mark);
    return true;
  }

  /** Keeps `bytes` free at the end (for OPT/TSIG written later); negative releases. */
  reserve(bytes: number): void {
    this.#reserved = Math.max(0, this.#reserved + bytes);
  }

  /**
   * Appends the OPT pseudo-RR (must come last in additional, before TSIG). It may use the
   * reserved space, and releases as much of the reservation as it occupies.
   */
  opt(edns: Edns): boolean {
    this.#checkOpen();
    if (this.#optWritten) throw misuse('a second OPT record (RFC 6891 §6.1.1)');
    if (this.#tsigWritten) throw misuse('OPT after TSIG (RFC 8945 §5.1: TSIG is last)');
    const size = optLength(edns);
    const limit = this.#max - Math.max(0, this.#reserved - size);
    if (!this.#room(size, limit)) return false;
    const buf = this.#buf;
    // RFC 6891 §6.1.2/§6.1.3: root owner, CLASS = UDP size, TTL = ext-rcode|version|flags.
    buf[this.#len++] = 0;
    this.#u16(RRType.OPT);
    this.#u16(edns.udpSize);
    this.#u16(((edns.extendedRcode & 0xff) << 8) | (edns.version & 0xff));
    this.#u16(edns.flags);
    this.#u16(size - 11);
    for (const o of edns.options) {
      this.#u16(o.code);
      this.#u16(o.data.length);
      buf.set(o.data, this.#len);
      this.#len += o.data.length;
    }
    this.#section = Section.Additional;
    this.#counts[3]++;
    this.#optWritten = true;
    this.#reserved = Math.max(0, this.#reserved - size);
    return true;
  }

  /** Current encoded length. */
  get length(): number {
    return this.#len;
  }

  /** Octets still available to ordinary records (maximum size less length and reservation). */
  get remaining(): number {
    return Math.max(0, this.#max - this.#reserved - this.#len);
  }

  /**
   * Finishes the message (patches the counts) and returns its bytes, a Uint8Array of exactly
   * the message (it may be a view into a pooled ArrayBuffer: mind `byteOffset`). Appending
   * after `finish` throws.
   */
  finish(): Uint8Array {
    if (this.#result !== undefined) return this.#result;
    const buf = this.#buf;
    const len = this.#len;
    const c = this.#counts;
    buf[0] = this.#id >> 8;
    buf[1] = this.#id & 0xff;
    buf[2] = this.#flags >> 8;
    buf[3] = this.#flags & 0xff;
    for (let i = 0; i < 4; i++) {
      buf[4 + 2 * i] = c[i] >> 8;
      buf[5 + 2 * i] = c[i] & 0xff;
    }
    // Buffer.allocUnsafe takes small sizes from Node's pool (no off-heap allocation); the
    // result is exposed as a plain Uint8Array so callers see one type whatever the size.
    const pooled = Buffer.allocUnsafe(len);
    const out = new Uint8Array(pooled.buffer, pooled.byteOffset, len);
    if (len <= 64) for (let i = 0; i < len; i++) out[i] = buf[i];
    else out.set(buf.subarray(0, len));
    if (sharedOwner === this) sharedOwner = undefined;
    this.#buf = out; // the shared buffer is no longer ours to touch
    this.#generation = 0;
    this.#result = out;
    return out;
  }

  #checkOpen(): void {
    if (this.#result !== undefined) throw misuse('append after finish()');
  }

  /** Checks that a record of `type` may go to `section` now; returns the size limit for it. */
  #enter(section: Section, type: number): number {
    this.#checkOpen();
    if (section < this.#section) throw misuse(`record for section ${Section[section]} after a later section`);
    if (type === RRType.OPT) throw misuse('OPT must be written with opt()');
    if (this.#tsigWritten) throw misuse('record after TSIG (RFC 8945 §5.1: TSIG is last)');
    if (type === RRType.TSIG) {
      if (section !== Section.Additional) throw misuse('TSIG outside the additional section');
      return this.#max; // the space reserved for it
    }
    if (this.#optWritten && section === Section.Additional) throw misuse('additional record after OPT');
    return this.#max - this.#reserved;
  }

  #commit(section: Section, type: number, n: number, mark: number): void {
    this.#counts[section + 1] += n;
    this.#section = section;
    if (type === RRType.TSIG) {
      this.#tsigWritten = true;
      this.#reserved = Math.max(0, this.#reserved - (this.#len - mark));
    }
  }

  /** Rolls back a failed append; rethrows what made it fail, if it was not lack of room. */
  #fail(mark: number): void {
    this.#rollback(mark);
    const e = pendingError;
    if (e !== undefined) {
      pendingError = undefined;
      throw e;
    }
  }

  #rollback(mark: number): void {
    this.#len = mark;
    if (this.#lastTarget >= mark) this.#lastKey = undefined;
    // Emptying the most recent insertions in reverse order restores the linear-probing table
    // exactly: a later entry never sits inside an earlier entry's probe sequence.
    if (this.#generation !== 0) {
      for (let i = this.#added - 1; i >= 0; i--) slotGeneration[addedSlots[i]] = 0;
      targetCount -= this.#added;
    }
    this.#added = 0;
  }

  /** Makes `n` octets of buffer available past the end, beyond the size limit if need be. */
  #stage(n: number): void {
    const want = this.#len + n;
    if (want > this.#buf.length) {
      let cap = this.#buf.length * 2;
      while (cap < want) cap *= 2;
      const grown = new Uint8Array(Math.min(cap, this.#max + STAGING));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
  }

  /** Makes room for `n` more octets within `limit`; false when they do not fit. */
  #room(n: number, limit: number): boolean {
    if (this.#len + n > limit) return false;
    this.#stage(n);
    return true;
  }

  #u16(v: number): void {
    const buf = this.#buf;
    buf[this.#len++] = (v >> 8) & 0xff;
    buf[this.#len++] = v & 0xff;
  }

  /** Writes a name given as its uncompressed wire form (latin1 string) and case-folded key. */
  #writeName(wire: string, key: string, limit: number): boolean {
    if (key === this.#lastKey) {
      // The same name as the previous owner (every record of an RRset after the first).
      if (!this.#room(2, limit)) return false;
      const buf = this.#buf;
      buf[this.#len++] = 0xc0 | (this.#lastTarget >> 8);
      buf[this.#len++] = this.#lastTarget & 0xff;
      return true;
    }
    const n = wire.length;
    this.#stage(n);
    const buf = this.#buf;
    const at = this.#len;
    for (let i = 0; i < n; i++) buf[at + i] = wire.charCodeAt(i);
    if (!this.#compressStaged(limit)) return false;
    if (this.#stagedTarget >= 0) {
      this.#lastKey = key;
      this.#lastTarget = this.#stagedTarget;
    }
    return true;
  }

  /**
   * Compresses the uncompressed name staged at the end of the message (RFC 1035 §4.1.4): its
   * longest suffix already in the message becomes a pointer, and its new suffixes become
   * targets. False (nothing written) when the result exceeds `limit`.
   */
  #compressStaged(limit: number): boolean {
    const buf = this.#buf;
    const start = this.#len;
    let labels = 0;
    let p = start;
    while (buf[p] !== 0) {
      labelAt[labels++] = p;
      p += buf[p] + 1;
    }
    let end = p + 1;
    // The root alone is never replaced: a pointer (2 octets) is longer than the root label.
    let cut = labels;
    this.#stagedTarget = -1;
    const gen = this.#generation;
    if (gen !== 0 && labels > 0) {
      let h = FNV_OFFSET;
      for (let i = labels - 1; i >= 0; i--) {
        h = hashLabel(h, buf, labelAt[i]);
        suffixHash[i] = h;
      }
      // Longest suffix first: most names repeat the question name or share its zone.
      search: for (let i = 0; i < labels; i++) {
        const hi = suffixHash[i];
        for (let s = slotOf(hi); slotGeneration[s] === gen; s = (s + 1) & SLOT_MASK) {
          if (slotHash[s] === hi && sameName(buf, labelAt[i], slotOffset[s])) {
            const target = slotOffset[s];
            if (i === 0) this.#stagedTarget = target;
            cut = i;
            end = labelAt[i] + 2;
            buf[labelAt[i]] = 0xc0 | (target >> 8);
            buf[labelAt[i] + 1] = target & 0xff;
            break search;
          }
        }
      }
    }
    if (end > limit) {
      this.#stagedTarget = -1;
      return false;
    }
    if (cut > 0 && start < POINTER_LIMIT) this.#stagedTarget = start;
    if (gen !== 0) {
      for (let i = 0; i < cut && targetCount < MAX_TARGETS; i++) {
        const offset = labelAt[i];
        // RFC 1035 §4.1.4: only the first 16 KiB can be pointed at.
        if (offset >= POINTER_LIMIT) break;
        let s = slotOf(suffixHash[i]);
        while (slotGeneration[s] === gen) s = (s + 1) & SLOT_MASK;
        slotGeneration[s] = gen;
        slotHash[s] = suffixHash[i];
        slotOffset[s] = offset;
        addedSlots[this.#added++] = s;
        targetCount++;
      }
    }
    this.#len = end;
    return true;
  }

  #writeRR(name: Name, type: number, cls: number, ttl: number, rdata: Uint8Array, limit: number): boolean {
    // Asked first, before anything of this record is written. A throw (malformed stored
    // RDATA) is kept for `#fail`, which rolls back first: no try/finally on the hot path.
    let names: readonly number[];
    try {
      names = compressibleNameOffsets(type, rdata);
    } catch (e) {
      pendingError = e;
      return false;
    }
    if (!this.#writeName(name.wire, name.key, limit) || !this.#room(10, limit)) return false;
    const buf = this.#buf;
    const p = this.#len;
    writeTypeClassTtl(buf, p, type, cls, ttl);
    const rdlengthAt = p + 8;
    this.#len = p + 10;
    let from = 0;
    for (let k = 0; k < names.length; k++) {
      const at = names[k];
      const nameLength = at >= from ? storedNameLength(rdata, at) : -1;
      if (nameLength < 0) break; // not a clean name: copy the rest as it is
      if (!this.#copy(rdata, from, at, limit)) return false;
      this.#stage(nameLength);
      const buf = this.#buf;
      const to = this.#len - at;
      for (let j = at; j < at + nameLength; j++) buf[to + j] = rdata[j];
      if (!this.#compressStaged(limit)) return false;
      from = at + nameLength;
    }
    if (!this.#copy(rdata, from, rdata.length, limit)) return false;
    const rdlength = this.#len - rdlengthAt - 2;
    this.#buf[rdlengthAt] = rdlength >> 8;
    this.#buf[rdlengthAt + 1] = rdlength & 0xff;
    return true;
  }

  /** Copies src[from, to) to the end of the message. */
  #copy(src: Uint8Array, from: number, to: number, limit: number): boolean {
    const n = to - from;
    if (n <= 0) return true;
    if (!this.#room(n, limit)) return false;
    const buf = this.#buf;
    let pos = this.#len;
    if (n < 64) {
      for (let j = from; j < to; j++) buf[pos++] = src[j];
    } else {
      buf.set(from === 0 && to === src.length ? src : src.subarray(from, to), pos);
      pos += n;
    }
    this.#len = pos;
    return true;
  }
}

/**
 * Encodes a whole message without a size limit: questions, answer, authority, additional
 * records, then OPT, then any TSIG record (RFC 8945 §5.1: TSIG is last).
 * @throws WireFormatError DNS_ERR_TOO_BIG when it exceeds 65535 octets
 */
export function encodeMessage(msg: Message): Uint8Array {
  const w = new MessageWriter(MAX_MESSAGE_SIZE);
  w.header(msg.id, msg.flags);
  const tooBig = () => new WireFormatError('DNS_ERR_TOO_BIG', 'message longer than 65535 octets');
  for (const q of msg.questions) if (!w.question(q)) throw tooBig();
  for (const rr of msg.answers) if (!w.rr(Section.Answer, rr)) throw tooBig();
  for (const rr of msg.authority) if (!w.rr(Section.Authority, rr)) throw tooBig();
  for (const rr of msg.additional)
    if (rr.type !== RRType.TSIG && !w.rr(Section.Additional, rr)) throw tooBig();
  if (msg.edns !== undefined && !w.opt(msg.edns)) throw tooBig();
  for (const rr of msg.additional)
    if (rr.type === RRType.TSIG && !w.rr(Section.Additional, rr)) throw tooBig();
  return w.finish();
}
