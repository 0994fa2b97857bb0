/**
 * AXFR responses (RFC 5936) from a served zone — the same snapshot the worker answers queries
 * from, so the serial transferred is the serial answered. Messages are packed up to 64 KiB
 * with name compression (`MessageWriter`), SOA first and last (§2.2), the question in the
 * first message only (§2.2.1), each message signed when the request was (RFC 8945 §5.3.1).
 * A generator: each message is built when the transport asks for it, so a big zone is
 * walked a few messages per turn of the event loop (transport/tcp.ts) and never held whole.
 * @module
 */
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
    const w = new MessageWriter(h.maxSize ?? MAX_TRANSFER_MESSAGE);
    w.header(h.id, h.flags);
    if (first) w.question(h.question);
    if (h.opt) w.reserve(11);
    if (h.signer) w.reserve(h.signer.overhead);
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
    if (h.opt) w.opt(h.opt);
    first = false;
    const msg = w.finish();
    yield h.signer ? h.signer.sign(msg) : msg;
  }
}

/** The one-SOA answer to an IXFR whose client is current (RFC 1995 §2). */
export function soaOnly(zone: ServedZone, h: TransferHeader): Uint8Array {
  const w = new MessageWriter(h.maxSize ?? MAX_TRANSFER_MESSAGE);
  w.header(h.id, h.flags);
  w.question(h.question);
  const soa = zone.soa;
  w.rrset(Section.Answer, soa.name, soa.type, soa.class, soa.ttl, soa.rdata);
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
    const w = new MessageWriter(h.maxSize ?? MAX_TRANSFER_MESSAGE);
    w.header(h.id, h.flags);
    if (first) w.question(h.question);
    if (h.opt) w.reserve(11);
    if (h.signer) w.reserve(h.signer.overhead);
    let count = 0;
    while (at < records.length && w.rr(Section.Answer, records[at])) {
      at++;
      count++;
    }
    if (count === 0) throw new RangeError(`a record of ${records[at].name} does not fit a message`);
    if (h.opt) w.opt(h.opt);
    first = false;
    const msg = w.finish();
    yield h.signer ? h.signer.sign(msg) : msg;
  }
}
