/**
 * DNS over UDP (RFC 1035 §4.2.1): one datagram in, at most one datagram out, to the source.
 * In a `node:cluster` worker the socket is shared with the other workers (the primary owns the
 * handle) and the kernel hands each datagram to whichever worker reads first.
 * @module
 */
import { createSocket, type Socket } from 'node:dgram';
import { TransportError } from './errors.js';
import type { QueryHandler, TransportContext, TransportErrorSink } from './handler.js';
import { formatListenAddress, type ListenAddress } from './listen-address.js';

/** UDP listener options. */
export interface UdpListenerOptions {
  address: ListenAddress;
  handler: QueryHandler;
  /** Called for failures that are survived; never called per query on success. */
  onError?: TransportErrorSink;
  /**
   * Socket receive buffer requested (bytes); the kernel caps it at net.core.rmem_max. A large
   * buffer absorbs bursts and the pause while a worker swaps zones in.
   */
  recvBufferSize?: number;
  /** Socket send buffer requested (bytes); capped by net.core.wmem_max. */
  sendBufferSize?: number;
}

/** A bound UDP listener. */
export interface UdpListener {
  readonly address: ListenAddress;
  /** The port actually bound (differs from `address.port` when that was 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** Default receive buffer request: 8 MiB. */
export const DEFAULT_UDP_RECV_BUFFER = 8 * 1024 * 1024;
/** Default send buffer request: 4 MiB. */
export const DEFAULT_UDP_SEND_BUFFER = 4 * 1024 * 1024;

/** Largest payload one UDP datagram can carry over IPv4 (65535 − 20 − 8). */
const MAX_UDP_PAYLOAD = 65507;

/**
 * Binds a UDP socket and answers every datagram with `handler`. Exceptions from the handler
 * and send errors are reported to `onError` and the socket keeps serving.
 * @throws TransportError TRANSPORT_ERR_BIND
 */
export function createUdpListener(opts: UdpListenerOptions): Promise<UdpListener> {
  const { address, handler } = opts;
  const onError = opts.onError ?? (() => {});
  const socket: Socket = createSocket({
    type: address.family === 6 ? 'udp6' : 'udp4',
    // An IPv6 wildcard must not also take IPv4, so `0.0.0.0` and `::` can both be listed.
    ipv6Only: address.family === 6,
    recvBufferSize: opts.recvBufferSize ?? DEFAULT_UDP_RECV_BUFFER,
    sendBufferSize: opts.sendBufferSize ?? DEFAULT_UDP_SEND_BUFFER,
    // Replies only ever go to the numeric source address of a datagram: skip Node's default
    // dns.lookup (an IP check and a nextTick per send), ~7% of a query's CPU here.
    lookup: numericLookup(address.family === 6 ? 6 : 4),
  });
  // One context object per socket, overwritten per datagram: no allocation on the hot path.
  const ctx: TransportContext = { transport: 'udp', address: '', port: 0 };
  // A deferred answer goes to the address and port of the query being handled now.
  ctx.defer = () => {
    const to = ctx.address;
    const port = ctx.port;
    let sent = false;
    return (response) => {
      if (sent || response === null || response.length > MAX_UDP_PAYLOAD) return;
      sent = true;
      try {
        socket.send(response, port, to);
      } catch (err) {
        onError(`UDP ${formatListenAddress(address)}: send failed`, err);
      }
    };
  };

  return new Promise((resolve, reject) => {
    const onBindError = (err: Error) => {
      socket.close();
      reject(
        new TransportError(
          'TRANSPORT_ERR_BIND',
          `cannot bind UDP ${formatListenAddress(address)}: ${err.message}`,
          {
            cause: err,
          },
        ),
      );
    };
    socket.once('error', onBindError);
    socket.bind({ address: address.host, port: address.port }, () => {
      socket.off('error', onBindError);
      // Send errors (no callback given) and receive errors arrive here; none may crash us.
      socket.on('error', (err) => onError(`UDP ${formatListenAddress(address)}: socket error`, err));
      socket.on('message', (msg, rinfo) => {
        // Source port 0 cannot be answered (and Node's send throws on it): forged, drop.
        if (rinfo.port === 0) return;
        ctx.address = rinfo.address;
        ctx.port = rinfo.port;
        let reply: Uint8Array | null;
        try {
          reply = handler(msg, ctx);
        } catch (err) {
          onError(`UDP ${formatListenAddress(address)}: query handler failed`, err);
          return;
        }
        if (reply === null || reply.length > MAX_UDP_PAYLOAD) return;
        try {
          socket.send(reply, rinfo.port, rinfo.address);
        } catch (err) {
          // Synchronous argument errors (asynchronous ones come as 'error' events).
          onError(`UDP ${formatListenAddress(address)}: send failed`, err);
        }
      });
      const port = socket.address().port;
      resolve({
        address,
        port,
        close: () =>
          new Promise<void>((done) => {
            try {
              socket.close(() => done());
            } catch {
              done(); // already closed
            }
          }),
      });
    });
  });
}

/** A dgram `lookup` for numeric addresses: answers synchronously with the address itself. */
export function numericLookup(family: 4 | 6) {
  return (
    address: string,
    _opts: unknown,
    callback: (err: Error | null, address: string, family: number) => void,
  ) => callback(null, address, family);
}
