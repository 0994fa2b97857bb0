/**
 * The decoded shape of a DNS message (RFC 1035 §4.1) and its parts.
 * RDATA is kept as uncompressed wire octets; `rdata.ts` knows each type's layout
 * (names inside it, text form). The codec lives in `decode.ts` and `encode.ts`.
 * @module
 */
import type { Name } from './name.js';

/** One resource record. `rdata` is uncompressed wire form (names inside fully expanded). */
export interface RR {
  name: Name;
  type: number;
  class: number;
  ttl: number;
  rdata: Uint8Array;
}

/** One entry of the question section. */
export interface Question {
  name: Name;
  type: number;
  class: number;
}

/** One EDNS option (RFC 6891 §6.1.2). */
export interface EdnsOptionData {
  code: number;
  data: Uint8Array;
}

/** The OPT pseudo-RR, decoded (RFC 6891 §6.1.3). */
export interface Edns {
  /** Requestor's / responder's UDP payload size (the OPT CLASS field). */
  udpSize: number;
  /** Upper 8 bits of the 12-bit extended RCODE (the OPT TTL's first octet). */
  extendedRcode: number;
  version: number;
  /** The 16 flag bits (DO = 0x8000). */
  flags: number;
  options: EdnsOptionData[];
}

/** A whole message. The OPT record is not in `additional`; it is `edns`. */
export interface Message {
  id: number;
  /** The 16-bit flags word: QR, OPCODE, AA, TC, RD, RA, Z, AD, CD, low 4 bits of RCODE. */
  flags: number;
  questions: Question[];
  answers: RR[];
  authority: RR[];
  additional: RR[];
  edns?: Edns;
}

/** OPCODE from a flags word. */
export function opcodeOf(flags: number): number {
  return (flags >> 11) & 0xf;
}

/** Low 4 bits of RCODE from a flags word. */
export function rcodeOf(flags: number): number {
  return flags & 0xf;
}

/** Full (12-bit) RCODE of a message, combining EDNS extended bits. */
export function fullRcode(msg: Message): number {
  return ((msg.edns?.extendedRcode ?? 0) << 4) | (msg.flags & 0xf);
}
