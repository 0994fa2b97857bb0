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
  /**
   * Asks to answer this query later (a DNS UPDATE relayed to the control plane): called during
   * the handler, which then returns null; the function it gives sends the answer once (null:
   * none). Over TCP the connection answers nothing else until then (RFC 7766 §7 lets later
   * responses wait). Absent or undefined: this transport cannot answer later.
   */
  defer?: () => DeferredReply | undefined;
}

/** Sends a deferred answer (once; later calls are ignored); null sends nothing. */
export type DeferredReply = (response: Uint8Array | null) => void;

/**
 * Turns the bytes of one query into the bytes of its response, or null to send nothing.
 * Called synchronously on the hot path; `query` is only valid during the call.
 */
export type QueryHandler = (query: Uint8Array, ctx: TransportContext) => Uint8Array | null;

/**
 * A response of several messages (a zone transfer, RFC 5936): `next` returns them one at a
 * time, null after the last; `close` is called once, when the last was taken or the
 * connection went away first. A deferred answer (TransportContext.defer) is a stream of one
 * message that is undefined until it arrives.
 */
export interface ResponseStream {
  /** The next message; null after the last; undefined: not yet — the stream's owner wakes the writer. */
  next(): Uint8Array | null | undefined;
  close(): void;
}

/**
 * Sees every TCP query before the handler: undefined leaves it to the handler; otherwise its
 * one response (or null: none) or a stream of them (src/xfr/: transfers and TSIG).
 */
export type StreamHandler = (
  query: Uint8Array,
  ctx: TransportContext,
) => Uint8Array | ResponseStream | null | undefined;

/** Receives failures the transports survive (handler exceptions, socket errors). */
export type TransportErrorSink = (message: string, err: unknown) => void;
