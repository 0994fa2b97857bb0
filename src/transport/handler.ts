/**
 * The contract between the transports and whatever answers queries.
 * @module
 */

/**
 * Where a query came from. The transports reuse one object per socket (UDP) or connection
 * (TCP) and overwrite it before each call, so a handler must not keep a reference to it.
 */
export interface TransportContext {
  transport: 'udp' | 'tcp';
  address: string;
  port: number;
}

/**
 * Turns the bytes of one query into the bytes of its response, or null to send nothing.
 * Called synchronously on the hot path; `query` is only valid during the call.
 */
export type QueryHandler = (query: Uint8Array, ctx: TransportContext) => Uint8Array | null;

/** Receives failures the transports survive (handler exceptions, socket errors). */
export type TransportErrorSink = (message: string, err: unknown) => void;
