/**
 * Where datagrams were lost in the kernel: the per-socket `drops` counters of /proc/net/udp and
 * /proc/net/udp6 (a datagram the socket's receive queue had no room for, or that a socket
 * filter refused) and the host-wide UDP counters of /proc/net/snmp (RcvbufErrors: queue
 * overflows only; InErrors: overflows, filter drops and bad checksums). The drill reads them at
 * each phase boundary and splits the sockets into the target's (its port), the drill's
 * resolvers' and the drill's attack senders' (their local address:port), and everything else.
 * @module
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** One UDP socket of the network namespace. */
export interface UdpSocketRow {
  /** Local address as text (IPv4 dotted, or IPv6 in hex groups). */
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
  /** Octets waiting in its receive queue. */
  readonly rxQueue: number;
  /** Datagrams dropped since it was created (queue full, or refused by a socket filter). */
  readonly drops: number;
}

/** Parses the text of /proc/net/udp or /proc/net/udp6. Lines that do not parse are skipped. */
export function parseProcUdp(text: string, family: 4 | 6): UdpSocketRow[] {
  const out: UdpSocketRow[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
    if (f.length < 13 || !/^\d+:$/.test(f[0])) continue;
    const [addrHex, portHex] = f[1].split(':');
    const queues = f[4].split(':');
    const drops = Number(f[f.length - 1]);
    const port = Number.parseInt(portHex ?? '', 16);
    if (!addrHex || !Number.isFinite(port) || !Number.isFinite(drops)) continue;
    out.push({
      address: family === 4 ? hexToIpv4(addrHex) : hexToIpv6(addrHex),
      port,
      family,
      rxQueue: Number.parseInt(queues[1] ?? '0', 16) || 0,
      drops,
    });
  }
  return out;
}

/** The kernel writes the IPv4 address as the in_addr's 32 bits in host order (little-endian here). */
function hexToIpv4(hex: string): string {
  const n = Number.parseInt(hex, 16) >>> 0;
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
}

/** Four 32-bit words, each in host order: shown as 8 groups (enough to tell ::1 from ::). */
function hexToIpv6(hex: string): string {
  const groups: string[] = [];
  for (let w = 0; w < 4; w++) {
    const n = Number.parseInt(hex.slice(w * 8, w * 8 + 8), 16) >>> 0;
    const b = [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24];
    groups.push(((b[0] << 8) | b[1]).toString(16), ((b[2] << 8) | b[3]).toString(16));
  }
  return groups.join(':');
}

/** The host's UDP counters (the `Udp:` lines of /proc/net/snmp), by name. */
export function parseSnmpUdp(text: string): Record<string, number> {
  return parseProcCounters(text, 'Udp:');
}

/**
 * One group of a /proc/net/snmp or /proc/net/netstat text (a line of names after `prefix`, then
 * a line of values), by name: `Udp:` of snmp, `TcpExt:` of netstat (the listen queue's drops).
 */
export function parseProcCounters(text: string, prefix: string): Record<string, number> {
  const lines = text.split('\n').filter((l) => l.startsWith(prefix));
  if (lines.length < 2) return {};
  const names = lines[0].split(/\s+/).slice(1);
  const values = lines[1].split(/\s+/).slice(1).map(Number);
  const out: Record<string, number> = {};
  names.forEach((n, i) => {
    if (Number.isFinite(values[i])) out[n] = values[i];
  });
  return out;
}

/** Which sockets belong to whom. */
export interface SocketOwners {
  /** The target's UDP port (every socket bound to it, any address: SO_REUSEPORT groups). */
  readonly targetPort: number;
  /** "address:port" of each of the drill's resolver sockets. */
  readonly resolvers: ReadonlySet<string>;
  /** Local ports of the attack senders' sockets (bound to the wildcard). */
  readonly senderPorts: ReadonlySet<number>;
}

/** Drops and queues at one moment, summed per owner. */
export interface SocketSample {
  readonly targetDrops: number;
  readonly targetSockets: number;
  readonly targetQueued: number;
  readonly resolverDrops: number;
  readonly senderDrops: number;
  /** Host-wide: datagrams dropped because a receive queue was full. */
  readonly rcvbufErrors: number;
  /** Host-wide: every UDP receive error (queue full, socket filter, checksum). */
  readonly inErrors: number;
  /** Host-wide TCP (`TcpExt:` of /proc/net/netstat): connections a listener's full accept queue
   * refused (ListenOverflows), SYNs and handshakes a listener dropped for any reason
   * (ListenDrops: overflows, socket filter, no memory), SYN cookies sent (SyncookiesSent: the
   * SYN queue was full). */
  readonly listenOverflows: number;
  readonly listenDrops: number;
  readonly syncookiesSent: number;
  /** False when /proc could not be read (not Linux): every figure is then 0. */
  readonly readable: boolean;
}

/** Reads /proc now. */
export function sampleSockets(owners: SocketOwners): SocketSample {
  let rows: UdpSocketRow[] = [];
  let readable = true;
  try {
    rows = parseProcUdp(readFileSync('/proc/net/udp', 'utf8'), 4);
  } catch {
    readable = false;
  }
  try {
    rows = rows.concat(parseProcUdp(readFileSync('/proc/net/udp6', 'utf8'), 6));
  } catch {
    // no IPv6
  }
  let snmp: Record<string, number> = {};
  try {
    snmp = parseSnmpUdp(readFileSync('/proc/net/snmp', 'utf8'));
  } catch {
    // not Linux
  }
  let tcp: Record<string, number> = {};
  try {
    tcp = parseProcCounters(readFileSync('/proc/net/netstat', 'utf8'), 'TcpExt:');
  } catch {
    // not Linux
  }
  return {
    ...classify(rows, owners),
    rcvbufErrors: snmp.RcvbufErrors ?? 0,
    inErrors: snmp.InErrors ?? 0,
    listenOverflows: tcp.ListenOverflows ?? 0,
    listenDrops: tcp.ListenDrops ?? 0,
    syncookiesSent: tcp.SyncookiesSent ?? 0,
    readable,
  };
}

/** Sums the rows per owner. */
export function classify(
  rows: readonly UdpSocketRow[],
  owners: SocketOwners,
): Omit<
  SocketSample,
  'rcvbufErrors' | 'inErrors' | 'listenOverflows' | 'listenDrops' | 'syncookiesSent' | 'readable'
> {
  let targetDrops = 0;
  let targetSockets = 0;
  let targetQueued = 0;
  let resolverDrops = 0;
  let senderDrops = 0;
  for (const r of rows) {
    if (r.port === owners.targetPort) {
      targetDrops += r.drops;
      targetSockets++;
      targetQueued += r.rxQueue;
    } else if (owners.resolvers.has(`${r.address}:${r.port}`)) resolverDrops += r.drops;
    else if (owners.senderPorts.has(r.port)) senderDrops += r.drops;
  }
  return { targetDrops, targetSockets, targetQueued, resolverDrops, senderDrops };
}

/** What was lost in the kernel between two samples. */
export interface KernelLosses {
  /** Datagrams the target's sockets dropped (queue full, or its socket filter: the shield's BPF prefilter). */
  readonly targetSocketDrops: number;
  /**
   * Of those, an estimate of the queue overflows: the host's RcvbufErrors less the drill's
   * own sockets' drops (every other socket on the host counts too: an upper bound when others run).
   */
  readonly targetQueueFull: number;
  /** The rest of the target's drops: its socket filter refused them (0 without one). */
  readonly targetFilter: number;
  /** Answers to the legitimate resolvers lost in the drill's own receive queues. */
  readonly drillResolverDrops: number;
  /** Answers to the attack lost in the senders' receive queues ("answered" undercounts by this). */
  readonly drillSenderDrops: number;
  /** Host-wide receive errors (every socket on the machine). */
  readonly hostRcvbufErrors: number;
  readonly hostInErrors: number;
  /** Host-wide TCP listen queue counters (SocketSample): handshakes the target's TCP listener
   * (or any other on the host) refused with its accept queue full, every listener drop (socket
   * filter included: the shield's blocked /24s' SYNs), SYN cookies sent. */
  readonly hostListenOverflows: number;
  readonly hostListenDrops: number;
  readonly hostSyncookiesSent: number;
  readonly readable: boolean;
}

/** The losses between samples a and b. */
export function kernelLosses(a: SocketSample, b: SocketSample): KernelLosses {
  const d = (x: number, y: number) => Math.max(0, y - x);
  const targetSocketDrops = d(a.targetDrops, b.targetDrops);
  const drillResolverDrops = d(a.resolverDrops, b.resolverDrops);
  const drillSenderDrops = d(a.senderDrops, b.senderDrops);
  const hostRcvbufErrors = d(a.rcvbufErrors, b.rcvbufErrors);
  const queueFull = Math.min(
    targetSocketDrops,
    Math.max(0, hostRcvbufErrors - drillResolverDrops - drillSenderDrops),
  );
  return {
    targetSocketDrops,
    targetQueueFull: queueFull,
    targetFilter: targetSocketDrops - queueFull,
    drillResolverDrops,
    drillSenderDrops,
    hostRcvbufErrors,
    hostInErrors: d(a.inErrors, b.inErrors),
    hostListenOverflows: d(a.listenOverflows, b.listenOverflows),
    hostListenDrops: d(a.listenDrops, b.listenDrops),
    hostSyncookiesSent: d(a.syncookiesSent, b.syncookiesSent),
    readable: a.readable && b.readable,
  };
}

/**
 * The accept queue of the target's TCP listeners: the LISTEN rows (state 0A) of /proc/net/tcp and
 * /proc/net/tcp6 for `port`, whose rx_queue is the number of connections whose handshake completed
 * and that the server has not accepted yet, and tx_queue the queue's limit (the backlog) on
 * kernels that show it (0 on others: `ss -lt` shows it as Send-Q). Summed over the listeners of
 * the port (one per listen address).
 */
export interface ListenQueue {
  readonly queued: number;
  readonly backlog: number;
}

/** Parses the LISTEN rows of a /proc/net/tcp or /proc/net/tcp6 text for `port` (summed). */
export function parseListenQueue(text: string, port: number): ListenQueue {
  let queued = 0;
  let backlog = 0;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    // sl local rem st tx_queue:rx_queue ...
    if (f.length < 5 || !/^\d+:$/.test(f[0]) || f[3] !== '0A') continue;
    const local = f[1].split(':');
    if (Number.parseInt(local[local.length - 1] ?? '', 16) !== port) continue;
    const [tx, rx] = f[4].split(':');
    queued += Number.parseInt(rx ?? '0', 16) || 0;
    backlog += Number.parseInt(tx ?? '0', 16) || 0;
  }
  return { queued, backlog };
}

/** Reads the accept queue of `port`'s TCP listeners now (undefined when /proc cannot be read). */
export function sampleListenQueue(port: number): ListenQueue | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return undefined;
  }
  try {
    text += readFileSync('/proc/net/tcp6', 'utf8');
  } catch {
    // no IPv6
  }
  return parseListenQueue(text, port);
}

/** Parses `ss -ltnH` lines (`LISTEN Recv-Q Send-Q local peer`) for `port`: Recv-Q is the accept
 * queue, Send-Q the backlog (summed over the port's listeners). */
export function parseSsListen(text: string, port: number): ListenQueue {
  let queued = 0;
  let backlog = 0;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[0] !== 'LISTEN') continue;
    const local = f[3] ?? '';
    if (Number(local.slice(local.lastIndexOf(':') + 1)) !== port) continue;
    queued += Number(f[1]) || 0;
    backlog += Number(f[2]) || 0;
  }
  return { queued, backlog };
}

/**
 * The accept queue of `port`'s listeners read off the drill's loop (late25): `ss -ltnH`, whose
 * netlink dump the kernel filters to listening sockets, in a child process; `/proc/net/tcp` (the
 * fallback, when `ss` fails) lists every socket — after a TCP flood ~6,600 of them, most in
 * TIME-WAIT, and reading it took 14–27 ms of the loop ten times a second, every answer arriving
 * meanwhile read that much later and counted as the server's lateness. Calls `done` once.
 */
export function sampleListenQueueOff(port: number, done: (q: ListenQueue | undefined) => void): void {
  execFile('ss', ['-ltnH', `sport = :${port}`], { timeout: 2000 }, (err, stdout) => {
    done(err ? sampleListenQueue(port) : parseSsListen(stdout, port));
  });
}

/** A phase's accept-queue readings (every ACCEPT_QUEUE_SAMPLE_MS): see AcceptQueueStats. */
export class AcceptQueueSampler {
  #samples = 0;
  #sum = 0;
  #max = 0;
  #full = 0;
  #backlog = 0;

  add(q: ListenQueue | undefined): void {
    if (q === undefined) return;
    this.#samples++;
    this.#sum += q.queued;
    if (q.queued > this.#max) this.#max = q.queued;
    // The kernel refuses a handshake once the queue holds more than the backlog.
    if (q.backlog > 0 && q.queued >= q.backlog) this.#full++;
    if (q.backlog > 0) this.#backlog = q.backlog;
  }

  stats(): AcceptQueueStats | undefined {
    if (this.#samples === 0) return undefined;
    return {
      samples: this.#samples,
      mean: Math.round(this.#sum / this.#samples),
      max: this.#max,
      fullShare: Math.round((this.#full / this.#samples) * 1000) / 1000,
      backlog: this.#backlog,
    };
  }
}

/** What the accept queue of the target's TCP listeners held during a phase. */
export interface AcceptQueueStats {
  readonly samples: number;
  /** Connections waiting to be accepted: mean and highest reading. */
  readonly mean: number;
  readonly max: number;
  /** Share of the readings with the queue full (at or over the backlog: new handshakes refused;
   * 0 when the kernel does not show the backlog). */
  readonly fullShare: number;
  /** 0: not shown by this kernel (Switchboard listens with 511: full at 512). */
  readonly backlog: number;
}
