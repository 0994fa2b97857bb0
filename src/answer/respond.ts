/**
 * From query bytes to response bytes: header checks, EDNS, the answer algorithm, encoding
 * with truncation, and a cache of encoded responses for the hot path.
 * @module
 */
import type { Catalog } from './catalog.js';

/** Where a query came from. */
export interface QueryContext {
  transport: 'udp' | 'tcp';
  /** Source address and port, when known. */
  address?: string;
  port?: number;
}

/** Responder options. */
export interface ResponderOptions {
  /** EDNS UDP payload size we advertise and cap responses at (default 1232). */
  ednsSize?: number;
  /** RFC 5001 NSID payload returned when a client asks for it; off when undefined. */
  nsid?: Uint8Array;
}

/** Answers queries from a catalog; `setCatalog` swaps zones atomically (and drops the cache). */
export class Responder {
  constructor(_catalog: Catalog, _opts: ResponderOptions = {}) {}

  setCatalog(_catalog: Catalog): void {}

  /**
   * Returns the response to `query`, or null when nothing must be sent (a response packet,
   * or input too broken to answer even with FORMERR). Never throws.
   */
  respond(_query: Uint8Array, _ctx: QueryContext): Uint8Array | null {
    return null;
  }
}
