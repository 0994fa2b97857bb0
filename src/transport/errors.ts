/**
 * Typed errors of the transport layer, with stable codes (part of the API, do not rename).
 * @module
 */

/** Stable codes of transport failures. */
export type TransportErrorCode =
  | 'TRANSPORT_ERR_LISTEN_ADDRESS' // a --listen value that is not ADDR, ADDR:PORT or [ADDR]:PORT
  | 'TRANSPORT_ERR_BIND' // a socket could not be bound (in use, not permitted, no such address)
  | 'TRANSPORT_ERR_WORKER'; // a worker process failed to start

/** A transport failure: bad listen address, bind failure, worker start failure. */
export class TransportError extends Error {
  readonly code: TransportErrorCode;
  constructor(code: TransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransportError';
    this.code = code;
  }
}
