/**
 * The UDP and TCP listeners of a DNS worker, bound on every listen address (the same for
 * `serve` and `start` workers).
 * @module
 */
import type { QueryHandler } from '../../transport/handler.js';
import type { ListenAddress } from '../../transport/listen-address.js';
import { createTcpListener, type TcpListener } from '../../transport/tcp.js';
import { createUdpListener, type UdpListener } from '../../transport/udp.js';

/** The listener settings shared by `serve` and `start` workers. */
export interface ListenerSettings {
  listen: ListenAddress[];
  tcpIdleTimeoutMs: number;
  tcpMaxConnections: number;
  tcpMaxConnectionsPerClient: number;
  udpRecvBufferSize: number;
  udpSendBufferSize: number;
}

/** Open listeners and how to close them all. */
export interface OpenListeners {
  udp: UdpListener[];
  tcp: TcpListener[];
  closeAll(): Promise<void>;
}

/**
 * Binds UDP and TCP on every listen address, all answering through `handler`. If one address
 * cannot be bound, the ones already open are closed and the error is thrown.
 * @throws TransportError on bind failure
 */
export async function openListeners(
  config: ListenerSettings,
  handler: QueryHandler,
  onError: (message: string, err: unknown) => void,
): Promise<OpenListeners> {
  const udp: UdpListener[] = [];
  const tcp: TcpListener[] = [];
  const closeAll = async () => {
    await Promise.all([...udp.map((l) => l.close()), ...tcp.map((l) => l.close())]);
  };
  try {
    for (const address of config.listen) {
      udp.push(
        await createUdpListener({
          address,
          handler,
          onError,
          recvBufferSize: config.udpRecvBufferSize,
          sendBufferSize: config.udpSendBufferSize,
        }),
      );
      tcp.push(
        await createTcpListener({
          address,
          handler,
          onError,
          idleTimeoutMs: config.tcpIdleTimeoutMs,
          maxConnections: config.tcpMaxConnections,
          maxConnectionsPerClient: config.tcpMaxConnectionsPerClient,
        }),
      );
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  return { udp, tcp, closeAll };
}
