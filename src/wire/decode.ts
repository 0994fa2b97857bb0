/**
 * DNS message decoder (RFC 1035 §4.1) with safe name decompression.
 * @module
 */
import type { Message } from './message.js';
import type { Name } from './name.js';

/**
 * Reads a possibly compressed name at `offset`. `end` is the offset just after the name as
 * it appears at `offset` (after the first pointer, if any). Rejects pointer loops, forward
 * pointers, reserved label types and names over 255 octets.
 * @throws WireFormatError DNS_ERR_NAME / DNS_ERR_SHORT
 */
export function readName(_buf: Uint8Array, _offset: number): { name: Name; end: number } {
  throw new Error('not implemented');
}

/**
 * Decodes a whole message. The OPT RR (if any, at most one, owner root, in additional)
 * becomes `edns`. Trailing bytes after the counted records are an error.
 * @throws WireFormatError
 */
export function decodeMessage(_buf: Uint8Array): Message {
  throw new Error('not implemented');
}
