/**
 * RDATA of every RR type: wire layout (validation, names inside, compression rules) and
 * presentation (text) form. One descriptor per type, like libknot's descriptor table.
 * RDATA is always held uncompressed; the encoder asks `compressibleNameOffsets` where it may
 * compress, the decoder calls `readRdata` to expand and validate.
 * @module
 */
import { RRType } from './constants.js';
import { WireFormatError } from './errors.js';
import { Name } from './name.js';
import { parseRdataText, printRdataText } from './rdata-text.js';
import { compressibleOffsets, nameLengthAt, readRdataWire } from './rdata-wire.js';
import type { TextToken } from './text-token.js';

export type { TextToken } from './text-token.js';

/** Decoded SOA RDATA (RFC 1035 §3.3.13). */
export interface Soa {
  mname: Name;
  rname: Name;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

/**
 * Reads the RDATA of `type` found at `msg[offset, offset+length)`, expanding compression
 * pointers in the names that RFC 3597 §4 lets a receiver decompress, and validating the
 * layout of every known type. Returns uncompressed RDATA.
 * @throws WireFormatError
 */
export function readRdata(msg: Uint8Array, offset: number, length: number, type: number): Uint8Array {
  return readRdataWire(msg, offset, length, type);
}

/**
 * Offsets, inside uncompressed `rdata`, of the names an encoder may compress: only the
 * RFC 1035 types (NS, CNAME, SOA, MX, PTR, MB, MG, MR, MINFO) per RFC 3597 §4.
 */
export function compressibleNameOffsets(type: number, rdata: Uint8Array): readonly number[] {
  return compressibleOffsets(type, rdata);
}

/** Presentation form of RDATA; RFC 3597 `\# len hex` for types without a known layout. */
export function rdataToText(type: number, rdata: Uint8Array): string {
  return printRdataText(type, rdata);
}

/**
 * Parses the RDATA tokens of a master-file record (everything after TYPE) into wire form.
 * Relative names are completed with `origin`. Accepts RFC 3597 `\# len hex` for any type.
 * @throws WireFormatError DNS_ERR_TEXT with a message naming the field at fault
 */
export function rdataFromText(
  type: number,
  tokens: readonly TextToken[],
  origin: Name | undefined,
): Uint8Array {
  return parseRdataText(type, tokens, origin);
}

function nameAt(rdata: Uint8Array, pos: number): Name {
  return Name.fromWire(latin1(rdata, pos, pos + nameLengthAt(rdata, pos)));
}

function latin1(b: Uint8Array, start: number, end: number): string {
  // Names are at most 255 octets: a loop of one-character strings is about 3x faster here
  // than spreading a subarray into String.fromCharCode (an array of arguments per name).
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(b[i]);
  return s;
}

/** The name an RR points at, for additional processing and checks: NS/CNAME/DNAME/PTR target,
 * MX exchange, SRV target, SVCB/HTTPS target (as written, '.' included); undefined otherwise. */
export function rdataTarget(type: number, rdata: Uint8Array): Name | undefined {
  switch (type) {
    case RRType.NS:
    case RRType.CNAME:
    case RRType.DNAME:
    case RRType.PTR:
      return nameAt(rdata, 0);
    case RRType.MX:
    case RRType.SVCB:
    case RRType.HTTPS:
      return nameAt(rdata, 2);
    case RRType.SRV:
      return nameAt(rdata, 6);
    default:
      return undefined;
  }
}

/** Decodes SOA RDATA. */
export function readSoa(rdata: Uint8Array): Soa {
  const mlen = nameLengthAt(rdata, 0);
  const rlen = nameLengthAt(rdata, mlen);
  const p = mlen + rlen;
  if (p + 20 !== rdata.length) throw new WireFormatError('DNS_ERR_RDATA', 'SOA RDATA: bad length');
  const v = new DataView(rdata.buffer, rdata.byteOffset + p, 20);
  return {
    mname: nameAt(rdata, 0),
    rname: nameAt(rdata, mlen),
    serial: v.getUint32(0),
    refresh: v.getUint32(4),
    retry: v.getUint32(8),
    expire: v.getUint32(12),
    minimum: v.getUint32(16),
  };
}
