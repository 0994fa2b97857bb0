/**
 * Messages between the drill and its attack sender processes, and the attack kinds. An answer
 * carries its kind in the top two bits of the DNS ID.
 * @module
 */

/** The attack kinds, in ID-tag order. */
export const KINDS = ['rs-resolvers', 'rs-bots', 'direct', 'large'] as const;
export type AttackKind = (typeof KINDS)[number];

/** What each kind sends. */
export const KIND_MEANING: Record<AttackKind, string> = {
  'rs-resolvers': 'random-subdomain queries for the victim zone, from the resolvers\u2019 addresses',
  'rs-bots': 'random-subdomain queries for the victim zone, from bot addresses',
  direct: 'valid names of every zone, from bot addresses',
  large: 'large answers (TXT, EDNS 4096), from bot addresses',
};

/** Shares of the attack rate per kind (normalized when used). */
export type AttackMix = Partial<Record<AttackKind, number>>;

/** TCP floods from bot addresses, beside the UDP mix. */
export interface TcpFlood {
  /** New connections per second, each sending one query (a connection flood). */
  readonly connect?: number;
  /** Connections held open after one octet of the length prefix (slow TCP). */
  readonly slow?: number;
}

/** TCP counters, in this order: connections tried, established, answered, failed, slow ones closed by the server, slow ones open now. */
export const TCP_COUNTERS = [
  'tried',
  'established',
  'answered',
  'failed',
  'slowClosedByServer',
  'slowOpen',
] as const;

/** What the drill tells its attack senders, whether one (FloodInit) or the pool (flood.ts). */
export interface FloodSettings {
  readonly seed: number;
  readonly zones: number;
  readonly names: number;
  readonly victim: number;
  readonly bots: number;
  readonly resolverAddresses: number[];
  /** Epoch milliseconds after which it stops by itself. */
  readonly deadline: number;
  /** Most datagrams it may send. */
  readonly maxPackets: number;
  readonly io: 'auto' | 'native' | 'node';
  /** Random-subdomain queries per UDP GSO message from one source (1: no GSO). */
  readonly gso: number;
  /**
   * maps25: the bots' UDP datagrams rotate their sources over this many /24s (rotatingAddress in
   * population.ts; 0 or absent: the `bots` addresses). Native sender only (per-datagram source).
   */
  readonly rotate24s?: number;
}

/** Set-up of one sender process. */
export interface FloodInit extends FloodSettings {
  readonly type: 'init';
  readonly index: number;
  readonly senders: number;
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
}

/** Cumulative counters a sender reports (every 200 ms and when done). */
export interface FloodMessage {
  readonly type: 'stats' | 'done';
  /** Datagrams sent per kind. */
  readonly sent: number[];
  /** Answers per kind: 18 counters each (RCODE 0-15, TC, any). */
  readonly counts: number[];
  /** Datagrams the sender fell behind its rate by (not sent). */
  readonly behind: number;
  readonly total: number;
  /** TCP counters (TCP_COUNTERS order). */
  readonly tcp: number[];
  readonly reason?: string;
}
