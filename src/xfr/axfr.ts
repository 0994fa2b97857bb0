/**
 * AXFR responses (RFC 5936) from a served zone — the same snapshot the worker answers queries
 * from, so the serial transferred is the serial answered. Messages are packed up to 64 KiB
 * with name compression (`MessageWriter`), SOA first and last (§2.2), the question in the
 * first message only (§2.2.1), each message signed when the request was (RFC 8945 §5.3.1).
 * A generator: each message is built when the transport asks for it, so a big zone is
 * walked a few messages per turn of the event loop (transport/tcp.ts) and never held whole.
 * @module
 */
import { N, NAME_RECORD_SIZE, R, RRSET_RECORD_SIZE } from '../image/format.js';
import type { ZoneImage } from '../image/reader.js';
import { ImageZone, LazyImageZone } from '../image/zone-view.js';
import { Flag, RRType } from '../wire/constants.js';
import { MessageWriter, Section } from '../wire/encode.js';
import type { Edns, Question, RR } from '../wire/message.js';
import type { ServedNode, ServedZone } from '../zone/zone.js';
import type { Difference } from './journal.js';
import type { TsigSigner } from './tsig.js';

/** Largest DNS message over TCP. */
export const MAX_TRANSFER_MESSAGE = 65_535;

/** Every node of a served zone, in the zone's own order (canonical for images). */
export function* nodesOf(zone: ServedZone): Generator<ServedNode> {
  const z = zone instanceof LazyImageZone ? zone.opened() : zone;
  if (z instanceof ImageZone) {
    const n = z.nodeCount;
    for (let i = 0; i < n; i++) yield z.nodeAt(i);
    return;
  }
  const nodes = (z.nodes as { values?: () => Iterable<ServedNode> }).values;
  if (typeof nodes !== 'function') throw new TypeError(`zone ${zone.origin}: its nodes cannot be listed`);
  yield* nodes.call(z.nodes);
}

/** What the messages of one transfer share. */
export interface TransferHeader {
  id: number;
  /** Flags of every message: QR, AA, opcode QUERY and the query's RD/CD. */
  flags: number;
  question: Question;
  /** Our OPT in each message when the query had one (RFC 6891 §7). */
  opt?: Edns;
  signer?: TsigSigner;
  maxSize?: number;
}

/**
 * The messages of a full transfer of `zone`: SOA, every other record, SOA (for IXFR too, when
 * no increment is sent: RFC 1995 §4).
 */
export function* fullTransfer(zone: ServedZone, h: TransferHeader): Generator<Uint8Array> {
  const z = zone instanceof LazyImageZone ? zone.opened() : zone;
  if (z instanceof ImageZone && apexFirst(z.image)) {
    yield* imageTransfer(z.image, h);
    return;
  }
  yield* objectTransfer(zone, h);
}

/** The generic full transfer: every node made into objects, every record through `MessageWriter`. */
/** @internal exported for the tests that compare it with the image path */
export function* objectTransfer(zone: ServedZone, h: TransferHeader): Generator<Uint8Array> {
  const soa = zone.soa;
  const apexKey = zone.origin.key;
  const nodes = nodesOf(zone);
  // The cursor: the node being written, its RRset and record; `stage` 0 = opening SOA,
  // 1 = the zone's records, 2 = closing SOA, 3 = done.
  let node: ServedNode | undefined;
  let set = 0;
  let rec = 0;
  let stage = 0;
  let first = true;
  while (stage < 3) {
    const w = openMessage(h, first);
    let count = 0;
    fill: for (;;) {
      if (stage === 0 || stage === 2) {
        if (
          !w.rr(Section.Answer, {
            name: soa.name,
            type: soa.type,
            class: soa.class,
            ttl: soa.ttl,
            rdata: soa.rdata[0],
          })
        )
          break;
        count++;
        stage++;
        if (stage === 3) break;
        continue;
      }
      if (node === undefined) {
        const next = nodes.next();
        if (next.done) {
          stage = 2;
          continue;
        }
        node = next.value;
        set = 0;
        rec = 0;
      }
      const sets = node.rrsets;
      const skipSoa = node.name.key === apexKey;
      while (set < sets.length) {
        const rs = sets[set];
        if (skipSoa && rs.type === RRType.SOA) {
          set++;
          continue;
        }
        const rdata = rs.rdata;
        while (rec < rdata.length) {
          if (
            !w.rr(Section.Answer, {
              name: rs.name,
              type: rs.type,
              class: rs.class,
              ttl: rs.ttl,
              rdata: rdata[rec],
            })
          ) {
            if (count === 0)
              throw new RangeError(`zone ${zone.origin}: a record of ${rs.name} does not fit a message`);
            break fill;
          }
          count++;
          rec++;
        }
        set++;
        rec = 0;
      }
      node = undefined;
    }
    if (count === 0 && stage < 3) throw new RangeError(`zone ${zone.origin}: the SOA does not fit a message`);
    first = false;
    yield closeMessage(w, h);
  }
}

/** True when name 0 of the image is its origin (the compiler's canonical order always has it so). */
function apexFirst(img: ZoneImage): boolean {
  if (img.nameCount === 0) return false;
  const b = img.bytes;
  const nd = img.dv.getUint32(img.names + N.NAMEDATA, true);
  const o = img.origin;
  if (b[nd] !== o.length) return false;
  for (let k = 0; k < o.length; k++) if (b[nd + 1 + k] !== o[k]) return false;
  return true;
}

/** Compression pointers reach the first 16 KiB of a message only (RFC 1035 §4.1.4). */
const POINTER_LIMIT = 0x4000;

/**
 * A full transfer written straight from an image's octets: each record's owner (compressed
 * against the same owner or the zone's origin earlier in the message), then its type, class and
 * TTL from the RRset table and its RDLENGTH and RDATA copied as they are (the image keeps them in
 * wire form, uncompressed: RFC 1035 allows that and RFC 5936 asks nothing more). No object is
 * made per name or record, so the cost per record is a few copies (the object path made a
 * node, an RRset and a `Name` per name and compressed every RDATA name). The same records in
 * the same order as `objectTransfer` (src/xfr/service.test.ts compares them).
 */
/**
 * Where image transfers build their messages (a 64 KiB zeroed buffer per transfer was most of a
 * small zone's transfer; a generator never yields with a message half-built, so one is shared).
 */
const scratch = new Uint8Array(MAX_TRANSFER_MESSAGE);

function* imageTransfer(img: ZoneImage, h: TransferHeader): Generator<Uint8Array> {
  const b = img.bytes;
  const dv = img.dv;
  const cls = dv.getUint16(20, true);
  const originLen = img.origin.length;
  const max = Math.min(h.maxSize ?? MAX_TRANSFER_MESSAGE, MAX_TRANSFER_MESSAGE);
  const tail = h.opt ? encodedOpt(h.opt) : undefined;
  const limit = max - (tail?.length ?? 0) - (h.signer?.overhead ?? 0);
  const question = encodedQuestion(h.question);
  // The apex's SOA RRset: its record goes first and last, and is skipped in the walk.
  const apexSets = dv.getUint32(img.names + N.RRSET_FIRST, true);
  const apexSetCount = dv.getUint32(img.names + N.RRSET_COUNT, true);
  let soaSet = -1;
  for (let k = 0; k < apexSetCount; k++)
    if (dv.getUint16(img.rrsets + (apexSets + k) * RRSET_RECORD_SIZE + R.TYPE, true) === RRType.SOA) {
      soaSet = apexSets + k;
      break;
    }
  if (soaSet < 0 || dv.getUint16(img.rrsets + soaSet * RRSET_RECORD_SIZE + R.COUNT, true) !== 1)
    throw new RangeError('zone image: no single SOA at the apex');
  // Each message is built and copied out between two resumptions: one scratch for all transfers.
  const buf = scratch;
  // The cursor: name, RRset (absolute index), records left in it and the next RDATA offset;
  // stage 0 = opening SOA, 1 = the walk, 2 = closing SOA, 3 = done.
  let stage = 0;
  let name = 0;
  let set = apexSets;
  let setEnd = apexSets + apexSetCount;
  let cur = -1;
  let left = 0;
  let rd = 0;
  let first = true;
  while (stage < 3) {
    let at = 12;
    if (first) {
      buf.set(question, at);
      at += question.length;
    }
    let count = 0;
    // Per message: where the last owner was written (and whose it was), and where a folded
    // copy of the origin is, as compression targets (-1: none yet in this message).
    let lastName = -1;
    let lastAt = -1;
    let originAt = -1;
    fill: for (;;) {
      let owner: number;
      let s: number;
      if (stage === 0 || stage === 2) {
        owner = 0;
        s = soaSet;
        rd = dv.getUint32(img.rrsets + soaSet * RRSET_RECORD_SIZE + R.RDATA, true);
      } else {
        // Next record of the walk: the rest of this RRset, else the next RRset (the apex SOA
        // skipped), else the next name's first.
        while (left === 0) {
          if (set >= setEnd) {
            name++;
            if (name >= img.nameCount) {
              stage = 2;
              continue fill;
            }
            const r = img.names + name * NAME_RECORD_SIZE;
            set = dv.getUint32(r + N.RRSET_FIRST, true);
            setEnd = set + dv.getUint32(r + N.RRSET_COUNT, true);
            continue;
          }
          cur = set++;
          if (cur === soaSet) continue;
          const co = img.rrsets + cur * RRSET_RECORD_SIZE;
          left = dv.getUint16(co + R.COUNT, true);
          rd = dv.getUint32(co + R.RDATA, true);
        }
        owner = name;
        s = cur;
      }
      const so = img.rrsets + s * RRSET_RECORD_SIZE;
      const rdlen = (b[rd] << 8) | b[rd + 1];
      // The owner: a pointer to the same owner, the labels before the origin and a pointer to
      // it, or the whole name.
      const spelled = img.spellingOf(owner);
      const nd =
        spelled >= 0 ? spelled : dv.getUint32(img.names + owner * NAME_RECORD_SIZE + N.NAMEDATA, true);
      const nameLen = b[nd];
      let ownerLen: number;
      let mode: number; // 0 pointer to the last owner, 1 prefix + origin pointer, 2 whole
      if (owner === lastName) {
        ownerLen = 2;
        mode = 0;
      } else if (spelled < 0 && originAt >= 0) {
        ownerLen = nameLen - originLen + 2;
        mode = 1;
      } else {
        ownerLen = nameLen;
        mode = 2;
      }
      if (at + ownerLen + 10 + rdlen > limit) {
        if (count === 0) throw new RangeError(`zone image: a record of name ${owner} does not fit a message`);
        break;
      }
      const start = at;
      if (mode === 0) {
        buf[at] = 0xc0 | (lastAt >> 8);
        buf[at + 1] = lastAt & 0xff;
        at += 2;
      } else if (mode === 1) {
        const prefix = nameLen - originLen;
        buf.set(b.subarray(nd + 1, nd + 1 + prefix), at);
        at += prefix;
        buf[at] = 0xc0 | (originAt >> 8);
        buf[at + 1] = originAt & 0xff;
        at += 2;
      } else {
        buf.set(b.subarray(nd + 1, nd + 1 + nameLen), at);
        if (spelled < 0 && originAt < 0 && at + nameLen - originLen < POINTER_LIMIT)
          originAt = at + nameLen - originLen;
        at += nameLen;
      }
      if (start < POINTER_LIMIT) {
        lastName = owner;
        lastAt = start;
      } else if (mode !== 0) lastName = -1;
      const type = dv.getUint16(so + R.TYPE, true);
      const ttl = dv.getUint32(so + R.TTL, true);
      buf[at] = type >> 8;
      buf[at + 1] = type & 0xff;
      buf[at + 2] = cls >> 8;
      buf[at + 3] = cls & 0xff;
      buf[at + 4] = ttl >>> 24;
      buf[at + 5] = (ttl >>> 16) & 0xff;
      buf[at + 6] = (ttl >>> 8) & 0xff;
      buf[at + 7] = ttl & 0xff;
      at += 8;
      buf.set(b.subarray(rd, rd + 2 + rdlen), at);
      at += 2 + rdlen;
      count++;
      if (stage === 1) {
        rd += 2 + rdlen;
        left--;
      } else {
        stage++;
        if (stage === 3) break;
      }
    }
    if (tail) {
      buf.set(tail, at);
      at += tail.length;
    }
    buf[0] = h.id >> 8;
    buf[1] = h.id & 0xff;
    buf[2] = h.flags >> 8;
    buf[3] = h.flags & 0xff;
    buf[4] = 0;
    buf[5] = first ? 1 : 0;
    buf[6] = count >> 8;
    buf[7] = count & 0xff;
    buf[8] = 0;
    buf[9] = 0;
    buf[10] = 0;
    buf[11] = tail ? 1 : 0;
    first = false;
    const msg = buf.slice(0, at);
    yield h.signer ? h.signer.sign(msg) : msg;
  }
}

/** The question's octets (name uncompressed, type, class), as `MessageWriter` writes them. */
function encodedQuestion(q: Question): Uint8Array {
  const w = new MessageWriter();
  w.header(0, 0);
  w.question(q);
  return w.finish().slice(12);
}

/** Our OPT record's octets. */
function encodedOpt(edns: Edns): Uint8Array {
  const w = new MessageWriter();
  w.header(0, 0);
  w.opt(edns);
  return w.finish().slice(12);
}

/** The one-SOA answer to an IXFR whose client is current (RFC 1995 §2). */
export function soaOnly(zone: ServedZone, h: TransferHeader): Uint8Array {
  const w = new MessageWriter(h.maxSize ?? MAX_TRANSFER_MESSAGE);
  w.header(h.id, h.flags);
  w.question(h.question);
  const soa = zone.soa;
  w.rrset(Section.Answer, soa.name, soa.type, soa.class, soa.ttl, soa.rdata);
  return closeMessage(w, h);
}

/**
 * A transfer message's writer: the header, the question in the first message only, room kept
 * for our OPT and the TSIG record (written by `closeMessage`).
 */
function openMessage(h: TransferHeader, first: boolean): MessageWriter {
  const w = new MessageWriter(h.maxSize ?? MAX_TRANSFER_MESSAGE);
  w.header(h.id, h.flags);
  if (first) w.question(h.question);
  if (h.opt) w.reserve(11);
  if (h.signer) w.reserve(h.signer.overhead);
  return w;
}

/** The message `w` holds, with our OPT when the query had one, signed when the transfer is. */
function closeMessage(w: MessageWriter, h: TransferHeader): Uint8Array {
  if (h.opt) w.opt(h.opt);
  const msg = w.finish();
  return h.signer ? h.signer.sign(msg) : msg;
}

/** The header flags of a transfer's messages. */
export function transferFlags(queryFlags: number, rcode = 0): number {
  return Flag.QR | (rcode === 0 ? Flag.AA : 0) | (queryFlags & (Flag.RD | Flag.CD)) | rcode;
}

/**
 * The messages of an incremental transfer (RFC 1995 §4): the current SOA, then the condensed
 * difference — the old SOA, the records removed, the new SOA, the records added — then the
 * current SOA again. `diff.toSoa` is the zone's current SOA.
 */
export function* incrementalTransfer(diff: Difference, h: TransferHeader): Generator<Uint8Array> {
  const records: RR[] = [diff.toSoa, diff.fromSoa, ...diff.del, diff.toSoa, ...diff.add, diff.toSoa];
  let at = 0;
  let first = true;
  while (at < records.length) {
    const w = openMessage(h, first);
    let count = 0;
    while (at < records.length && w.rr(Section.Answer, records[at])) {
      at++;
      count++;
    }
    if (count === 0) throw new RangeError(`a record of ${records[at].name} does not fit a message`);
    first = false;
    yield closeMessage(w, h);
  }
}
