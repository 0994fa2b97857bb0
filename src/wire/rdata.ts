/**
 * RDATA of every RR type: wire layout (validation, names inside, compression rules) and
 * presentation (text) form. One descriptor per type, like libknot's descriptor table.
 * RDATA is always held uncompressed; the encoder asks `compressibleNameOffsets` where it may
 * compress, the decoder calls `readRdata` to expand and validate.
 * @module
 */
import type { Name } from './name.js';

/** A master-file token: raw text with escapes still in place; `quoted` if it was in "…". */
export interface TextToken {
  text: string;
  quoted: boolean;
}

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
export function readRdata(_msg: Uint8Array, _offset: number, _length: number, _type: number): Uint8Array {
  throw new Error('not implemented');
}

/**
 * Offsets, inside uncompressed `rdata`, of the names an encoder may compress: only the
 * RFC 1035 types (NS, CNAME, SOA, MX, PTR, MB, MG, MR, MINFO) per RFC 3597 §4.
 */
export function compressibleNameOffsets(_type: number, _rdata: Uint8Array): readonly number[] {
  throw new Error('not implemented');
}

/** Presentation form of RDATA; RFC 3597 `\# len hex` for types without a known layout. */
export function rdataToText(_type: number, _rdata: Uint8Array): string {
  throw new Error('not implemented');
}

/**
 * Parses the RDATA tokens of a master-file record (everything after TYPE) into wire form.
 * Relative names are completed with `origin`. Accepts RFC 3597 `\# len hex` for any type.
 * @throws WireFormatError DNS_ERR_TEXT with a message naming the field at fault
 */
export function rdataFromText(
  _type: number,
  _tokens: readonly TextToken[],
  _origin: Name | undefined,
): Uint8Array {
  throw new Error('not implemented');
}

/** The name an RR points at, for additional processing and checks: NS/CNAME/DNAME/PTR target,
 * MX exchange, SRV target, SVCB/HTTPS target (as written, '.' included); undefined otherwise. */
export function rdataTarget(_type: number, _rdata: Uint8Array): Name | undefined {
  throw new Error('not implemented');
}

/** Decodes SOA RDATA. */
export function readSoa(_rdata: Uint8Array): Soa {
  throw new Error('not implemented');
}
