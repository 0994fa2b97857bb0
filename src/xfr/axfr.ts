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
import type { Edns, Question } from '../wire/message.js';
import type { ServedNode, ServedZone } from '../zone/zone.js';
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
  const records = recordsOf(zone);
  let first = true;
  let pending: Rec | undefined = {
    name: soa.name,
    type: soa.type,
    cls: soa.class,
    ttl: soa.ttl,
    rdata: soa.rdata[0],
  };
  let closing = false;
  let done = false;
  while (!done) {
    const w = new MessageWriter(h.maxSize ?? MAX_TRANSFER_MESSAGE);
    w.header(h.id, h.flags);
    if (first) w.question(h.question);
    if (h.opt) w.reserve(11);
    if (h.signer) w.reserve(h.signer.overhead);
    let count = 0;
    for (;;) {
      if (pending === undefined) {
        const next = records.next();
        if (!next.done) pending = next.value;
        else if (!closing) {
          closing = true;
          pending = { name: soa.name, type: soa.type, cls: soa.class, ttl: soa.ttl, rdata: soa.rdata[0] };
        } else {
          done = true;
          break;
        }
      }
      if (
        !w.rr(Section.Answer, {
          name: pending.name,
          type: pending.type,
          class: pending.cls,
          ttl: pending.ttl,
          rdata: pending.rdata,
        })
      ) {
        if (count === 0)
          throw new RangeError(`zone ${zone.origin}: a record of ${pending.name} does not fit a message`);
        break;
      }
      count++;
      pending = undefined;
    }
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

interface Rec {
  name: ServedNode['name'];
  type: number;
  cls: number;
  ttl: number;
  rdata: Uint8Array;
}

/** Every record but the apex SOA. */
function* recordsOf(zone: ServedZone): Generator<Rec> {
  const apexKey = zone.origin.key;
  for (const node of nodesOf(zone)) {
    const isApex = node.name.key === apexKey;
    for (const set of node.rrsets) {
      if (isApex && set.type === RRType.SOA) continue;
      for (const rdata of set.rdata)
        yield { name: set.name, type: set.type, cls: set.class, ttl: set.ttl, rdata };
    }
  }
}

/** The header flags of a transfer's messages. */
export function transferFlags(queryFlags: number, rcode = 0): number {
  return Flag.QR | (rcode === 0 ? Flag.AA : 0) | (queryFlags & (Flag.RD | Flag.CD)) | rcode;
}
