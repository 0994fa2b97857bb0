/**
 * Typed errors of the wire layer. Every malformed input surfaces as a `WireFormatError`
 * (never a RangeError or TypeError), so callers can answer FORMERR or drop the packet.
 * @module
 */

/** Stable codes: part of the API, do not rename. */
export type WireErrorCode =
  | 'DNS_ERR_SHORT' // read past the end of the message or RDATA
  | 'DNS_ERR_NAME' // bad label type, pointer loop, forward pointer, name > 255 octets
  | 'DNS_ERR_RDATA' // RDATA does not match its type's layout
  | 'DNS_ERR_TEXT' // presentation (text) form could not be parsed
  | 'DNS_ERR_TRAILING' // bytes after the last record
  | 'DNS_ERR_TOO_BIG' // message or field exceeds a protocol limit
  | 'DNS_ERR_FORMAT'; // any other structural fault (e.g. two OPT records)

/** A malformed DNS message, name or RDATA; `offset` is where in the input it was found. */
export class WireFormatError extends Error {
  readonly code: WireErrorCode;
  readonly offset: number;
  constructor(code: WireErrorCode, message: string, offset = -1) {
    super(offset >= 0 ? `${message} (at offset ${offset})` : message);
    this.name = 'WireFormatError';
    this.code = code;
    this.offset = offset;
  }
}
