/**
 * The UDP and TCP listeners of a DNS worker, bound on every listen address (the same for
 * `serve` and `start` workers).
 * @module
 */
import { STANDING_FILE_ENV } from '../../transport/cluster.js';
import type { QueryHandler, StreamHandler } from '../../transport/handler.js';
import type { ListenAddress } from '../../transport/listen-address.js';
import {
  batchAcceptChosen,
  batchAcceptInC,
  createNativeUdpListener,
  filterTcpWith,
  nativeAcceptTcp,
  nativeTcpGate,
  nativeUdpStatus,
  TCP_GATE_ENV,
  WORKER_COUNT_ENV,
} from '../../transport/native-udp.js';
import {
  createTcpListener,
  TCP_SERVE,
  type TcpAcceptGate,
  type TcpListener,
  warmTcpPath,
} from '../../transport/tcp.js';
import { createUdpListener, type UdpListener } from '../../transport/udp.js';
import { ConfigError } from './options.js';
import { shieldOnNativePath, shieldTcpStanding, tcpAddressOctets } from './shield.js';

/**
 * The batch accept's decision in C (native/tcp_gate.h) where the addon has it and the process's
 * shield is the native one (checked per turn: the shield may stop or be in dry run); else
 * undefined (the Node shield judges in JS through the gate).
 */
function cAcceptGate(): TcpAcceptGate | undefined {
  const g = batchAcceptInC() ? nativeTcpGate() : undefined;
  if (g === undefined) return undefined;
  return {
    active: shieldOnNativePath,
    accept: g.accept,
    judge: (address, fd, listeningFd, port) => {
      const octets = tcpAddressOctets(address);
      return octets === undefined ? TCP_SERVE : g.judge(octets, fd, listeningFd, port);
    },
    sweep: g.sweep,
    close: g.close,
    configure: g.configure,
    watch: g.watch,
    unwatch: g.unwatch,
    serve: g.serve,
    listen: g.listen,
    unlisten: g.unlisten,
    clientNote:
      g.clientNote === undefined
        ? undefined
        : (address, delta) => {
            const octets = tcpAddressOctets(address);
            return octets === undefined ? 2 : (g.clientNote?.(octets, delta) ?? 2);
          },
  };
}

/** The UDP path: the native batched socket (native/udp.c) or Node's dgram. */
export type UdpIo = 'native' | 'node';
/** `--io` as given: a path, or `auto` (native when the addon loads and passes its self-check). */
export type UdpIoChoice = UdpIo | 'auto';
/** The environment variable giving the default of `--io` (tests run both paths with it). */
export const IO_ENV = 'SWITCHBOARD_IO';

/**
 * Validates `--io` (absent: the SWITCHBOARD_IO environment variable, else `auto`).
 * @throws ConfigError for anything but native, node or auto
 */
export function parseUdpIo(value: string | undefined, env: NodeJS.ProcessEnv = process.env): UdpIoChoice {
  const v = value ?? env[IO_ENV] ?? 'auto';
  if (v === 'native' || v === 'node' || v === 'auto') return v;
  const from = value === undefined ? IO_ENV : '--io';
  throw new ConfigError(`${from} must be native, node or auto, got '${v}'`);
}

/**
 * Decides the UDP path once, in the primary, and says why (the one log line at start).
 * `auto` takes native when the addon loaded and passed its self-check and there are no worker
 * processes (`--workers 0`), or there are and `--images on` (workers then never parse a zone:
 * the primary compiles it, so no worker blocks on a big changed zone), else node. With worker
 * processes every native worker binds its own SO_REUSEPORT socket (so a listen port of 0
 * cannot be shared, and a worker that blocks leaves its share of clients unanswered):
 * `--io native` chooses it explicitly.
 * @throws ConfigError when native is asked for explicitly and cannot run
 */
export function chooseUdpIo(
  choice: UdpIoChoice,
  listen: readonly ListenAddress[],
  clustered: boolean,
  images = false,
): { io: UdpIo; why: string } {
  if (choice === 'node') return { io: 'node', why: '--io node' };
  const status = nativeUdpStatus();
  const portZero = clustered && listen.some((a) => a.port === 0);
  if (choice === 'native') {
    if (!status.ok) throw new ConfigError(`--io native: ${status.reason}`);
    if (portZero)
      throw new ConfigError('--io native: a listen port of 0 cannot be shared by worker processes');
    return { io: 'native', why: '--io native' };
  }
  if (!status.ok) return { io: 'node', why: `native addon unavailable: ${status.reason}` };
  // Worker processes each own an SO_REUSEPORT socket on the native path: the kernel hashes a
  // client to one of them, so a worker busy loading a big zone leaves its share unanswered
  // until it is done (measured: another tenant's change-to-answer 4.9 s vs 1.1 s on the shared
  // socket of the node path, test/e2e/fairness.test.ts). Until workers swap in compiled zone
  // images instead of parsing (issue 7), `auto` keeps the node path for worker processes.
  if (clustered && !images)
    return {
      io: 'node',
      why: 'worker processes: a worker loading a zone would leave its native socket unread; --io native to choose it',
    };
  if (portZero) return { io: 'node', why: 'a listen port of 0 cannot be shared by worker processes' };
  if (clustered)
    return {
      io: 'native',
      why: 'addon loaded and passed its self-check; --images on: workers load no zone text',
    };
  return { io: 'native', why: 'addon loaded and passed its self-check' };
}

/** The one line a primary logs at start. */
export function formatUdpIoLine(choice: { io: UdpIo; why: string }): string {
  return choice.io === 'native'
    ? `UDP path: native (recvmmsg/sendmmsg batches, one SO_REUSEPORT socket per worker; ${choice.why})`
    : `UDP path: node (dgram; ${choice.why})`;
}

/** The listener settings shared by `serve` and `start` workers. */
export interface ListenerSettings {
  listen: ListenAddress[];
  tcpIdleTimeoutMs: number;
  tcpMaxConnections: number;
  tcpMaxConnectionsPerClient: number;
  udpRecvBufferSize: number;
  udpSendBufferSize: number;
  /** The UDP path decided at start (`chooseUdpIo`); absent: node. */
  udpIo?: UdpIo;
}

/** Whether this process warmed its TCP path (`warmTcpPath`, once). */
let warmed = false;

/** Open listeners and how to close them all. */
export interface OpenListeners {
  udp: UdpListener[];
  tcp: TcpListener[];
  closeAll(): Promise<void>;
}

/**
 * Whether the shield's TCP gate can judge this worker's connections: one worker, or several on
 * the native path with the cluster primary's shared source-standing file (src/transport/cluster.ts,
 * native/standing.h: a TC=1 sent by one worker vouches for the TCP retry another accepts). The Node
 * path keeps its standing per worker: no gate with several workers there.
 */
export function gateWorkers(udpIo: string | undefined): boolean {
  if (Number(process.env[WORKER_COUNT_ENV] ?? 1) <= 1) return true;
  return udpIo === 'native' && (process.env[STANDING_FILE_ENV] ?? '') !== '';
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
  streams?: StreamHandler,
): Promise<OpenListeners> {
  const udp: UdpListener[] = [];
  const tcp: TcpListener[] = [];
  const closeAll = async () => {
    await Promise.all([...udp.map((l) => l.close()), ...tcp.map((l) => l.close())]);
  };
  try {
    for (const address of config.listen) {
      const createUdp = config.udpIo === 'native' ? createNativeUdpListener : createUdpListener;
      udp.push(
        await createUdp({
          address,
          handler,
          onError,
          recvBufferSize: config.udpRecvBufferSize,
          sendBufferSize: config.udpSendBufferSize,
        }),
      );
      // The shield's TCP gate: under overload, strangers' connections served within a budget
      // (src/transport/tcp.ts). The workers share one listening socket, so a resolver's TCP retry
      // may reach a worker other than the one that sent its TC=1: one worker, or several whose
      // native shields share their source standing (gateWorkers).
      // SWITCHBOARD_TCP_GATE=off turns it off (the B side of an A/B).
      const gate =
        process.env[TCP_GATE_ENV] === 'off' || !gateWorkers(config.udpIo) ? undefined : shieldTcpStanding;
      const t = await createTcpListener({
        address,
        handler,
        streams,
        onError,
        idleTimeoutMs: config.tcpIdleTimeoutMs,
        maxConnections: config.tcpMaxConnections,
        maxConnectionsPerClient: config.tcpMaxConnectionsPerClient,
        // The accept queue drained every turn (libuv takes one connection a turn), on both UDP
        // paths when the addon loads — only where the gate holds strangers' connections unread:
        // without it (several workers, or SWITCHBOARD_TCP_GATE=off) a connection flood accepted
        // in batches is served in full and starves UDP (drill, 2 workers at a quarter core: the
        // zones not attacked 7% answered in wave 1 against 94% with one a turn).
        acceptBatch: gate === undefined || !batchAcceptChosen() ? undefined : nativeAcceptTcp(),
        // Each connection of the batch judged in C (a blocked /24's closed, a stranger beyond the
        // budget held without any JS object) while the shield is the native one.
        // The default (SWITCHBOARD_TCP_ACCEPT unset): only this; where C does not judge (the Node
        // shield, the shield off) one a turn.
        acceptGate: gate === undefined ? undefined : cAcceptGate(),
      });
      tcp.push(t);
      // The shield's kernel prefilter (native path) on the TCP listener too: a blocked /24's
      // connection flood never fills the accept queue resolvers' TCP retries need.
      filterTcpWith(udp[udp.length - 1], t.fd);
      // And the gate: under overload, connections from sources nothing vouches for closed on arrival.
      t.setGate(gate);
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  // Where the shield's TCP gate can be (gateWorkers), the TCP path is compiled in the first
  // moments of serving (a few hundred loopback connections to a private listener, ~0.1-0.16
  // CPU-s a worker): not in a flood's first seconds under a CPU quota. Not awaited: awaited
  // before binding, it held every worker's first answer back ~0.22 s (the 1M zone's cold start,
  // once the gate ran with two workers).
  if (config.udpIo === 'native' && !warmed && gateWorkers(config.udpIo)) {
    warmed = true;
    // p99w1: SWITCHBOARD_TCP_WARM=N connections (default 300; 0: none) for the A/B of a longer
    // warm-up (docs/PERFORMANCE.md "p99w1": wave 1's TCP path in JS ran at ~2x its later cost).
    const n = Number(process.env.SWITCHBOARD_TCP_WARM ?? 300);
    const count = Number.isInteger(n) && n >= 0 && n <= 100_000 ? n : 300;
    if (count > 0) void warmTcpPath(count, Math.max(3000, count * 8)).catch(() => undefined);
  }
  return { udp, tcp, closeAll };
}
