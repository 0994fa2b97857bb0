/**
 * The layout of a DNS worker's report: which slot of its `counters` and `gauges` arrays holds
 * what. Workers and the primary run the same build, so a flat array of numbers is enough on
 * the wire (one small IPC message a second) and both sides index it with these constants.
 * @module
 */

/** The transports a worker counts separately, in block order. */
export const TRANSPORTS = ['udp', 'tcp'] as const;

/** A transport label. */
export type TransportName = (typeof TRANSPORTS)[number];

/**
 * Response-code labels, in slot order. RFC 1035 §4.1.1 and RFC 2136 §2.2 define the 4-bit
 * header RCODEs; the ones an authoritative server sends get their own slot, the rest `other`.
 * Extended RCODEs (RFC 6891 §6.1.3) keep their upper eight bits in the OPT record; the header
 * holds the low four, which is all the counter reads. BADCOOKIE (23, RFC 7873 §8) shows as
 * header RCODE 7 — YXRRSET's number, but that is an UPDATE answer (RFC 2136) and Switchboard
 * answers UPDATE with NOTIMP — so header 7 is counted as BADCOOKIE. BADVERS (16) shows as
 * NOERROR (its low four bits are 0).
 */
export const RCODE_LABELS = [
  'NOERROR',
  'FORMERR',
  'SERVFAIL',
  'NXDOMAIN',
  'NOTIMP',
  'REFUSED',
  'BADCOOKIE',
  'other',
] as const;

/** The header RCODE (low four bits) of BADCOOKIE (extended RCODE 23 = 0x17). */
const BADCOOKIE_HEADER_RCODE = 23 & 0x0f;

/** Header RCODE (0–15) → slot in RCODE_LABELS. */
export const RCODE_SLOT: Readonly<Uint8Array> = (() => {
  const slots = new Uint8Array(16).fill(RCODE_LABELS.length - 1);
  for (let rcode = 0; rcode <= 5; rcode++) slots[rcode] = rcode;
  slots[BADCOOKIE_HEADER_RCODE] = RCODE_LABELS.indexOf('BADCOOKIE');
  return slots;
})();

/** Offsets inside one transport's block of counters. */
export const Q = {
  /** Queries handed to the handler. */
  received: 0,
  /** Queries answered with nothing (handler returned null). */
  dropped: 1,
  /** Responses with TC=1. */
  truncated: 2,
  /** First of RCODE_LABELS.length response counters, by RCODE slot. */
  rcode: 3,
  /** Response-cache hits (from Responder.cacheStats()). */
  cacheHits: 3 + RCODE_LABELS.length,
  /** Response-cache misses, stale ones included. */
  cacheMisses: 4 + RCODE_LABELS.length,
  /** Response-cache lookups that found an entry built from a zone changed since. */
  cacheStale: 5 + RCODE_LABELS.length,
  /** Queries answered in C from zone images (`--native-answers`; UDP, and since tcpc23 plain TCP
   * queries): never a cache lookup. */
  answeredC: 6 + RCODE_LABELS.length,
} as const;

/** Counters per transport block. */
export const TRANSPORT_BLOCK = 7 + RCODE_LABELS.length;

/** Index of the first counter of `transport`'s block. */
export function blockOf(transport: TransportName): number {
  return transport === 'tcp' ? TRANSPORT_BLOCK : 0;
}

/** Indexes of the worker-wide counters, after the transport blocks. */
export const C = {
  /** TCP connections closed on arrival because a connection limit was reached. */
  tcpRejected: TRANSPORTS.length * TRANSPORT_BLOCK,
  /** TCP connections closed for a frame shorter than a DNS header. */
  tcpMalformed: TRANSPORTS.length * TRANSPORT_BLOCK + 1,
  /** TCP connections closed by the idle timeout. */
  tcpIdleClosed: TRANSPORTS.length * TRANSPORT_BLOCK + 2,
  /** Zone additions, replacements and deletions applied from the primary's updates. */
  zoneUpdates: TRANSPORTS.length * TRANSPORT_BLOCK + 3,
  /** TCP connections accepted (within the limits). */
  tcpAccepted: TRANSPORTS.length * TRANSPORT_BLOCK + 4,
  /** TCP connections that had sent no complete query, closed to make room at the limit. */
  tcpEvicted: TRANSPORTS.length * TRANSPORT_BLOCK + 5,
} as const;

/** The shield's decisions (docs/SHIELD.md), in slot order from `S.decisions`. */
export const SHIELD_DECISIONS = ['answered', 'dropped', 'truncated', 'formerr', 'badcookie'] as const;
/** The source tiers, in slot order. */
export const SHIELD_TIERS = ['unknown', 'history', 'tcp', 'cookie'] as const;
/** Why the shield shed a datagram, in slot order (each with SHIELD_TIERS.length slots). */
export const SHIELD_REASONS = ['zone-budget', 'overload'] as const;
/** The status of a query's COOKIE option, in slot order. */
export const COOKIE_STATUSES = ['none', 'malformed', 'client-only', 'invalid', 'valid'] as const;

const SHIELD_BASE = TRANSPORTS.length * TRANSPORT_BLOCK + 6;

/** Indexes of the shield's counters (`--shield`, native or Node path), after the worker-wide ones. */
export const S = {
  /** First of SHIELD_DECISIONS.length: datagrams by what the shield decided before answering. */
  decisions: SHIELD_BASE,
  /** First of SHIELD_REASONS.length × SHIELD_TIERS.length: shed datagrams by reason, then tier. */
  shed: SHIELD_BASE + 5,
  /** Answers response-rate limiting dropped, and sent truncated instead (slipped). */
  rrlDropped: SHIELD_BASE + 13,
  rrlSlipped: SHIELD_BASE + 14,
  /** First of COOKIE_STATUSES.length: queries by their COOKIE option. */
  cookies: SHIELD_BASE + 15,
  /** What a dry run would have dropped, truncated, answered BADCOOKIE. */
  wouldDrop: SHIELD_BASE + 20,
  wouldTruncate: SHIELD_BASE + 21,
  wouldBadcookie: SHIELD_BASE + 22,
  /** (tidy25) Calm queries refused their history credit (docs/SHIELD.md "What calm means"); after
   * the first-frame counters (F), the last slot. */
  calmRefused: SHIELD_BASE + 37,
} as const;

/** Outcomes of zone transfer requests (docs/TRANSFERS.md), in slot order from `X.transfers`. */
export const TRANSFER_OUTCOMES = ['started', 'refused', 'limited'] as const;

/** Forms of the transfers served (AXFR; IXFR as a difference, as the whole zone, as one SOA). */
export const TRANSFER_FORMS = ['axfr', 'ixfr', 'ixfr-full', 'ixfr-current'] as const;

/** Indexes of the zone transfer counters, after the shield's. */
export const X = {
  /** First of TRANSFER_OUTCOMES.length: AXFR/IXFR requests by outcome. */
  transfers: SHIELD_BASE + 23,
  /** Signed requests whose TSIG failed (BADKEY, BADSIG, BADTIME, FORMERR). */
  tsigFailures: SHIELD_BASE + 26,
  /** First of TRANSFER_FORMS.length: transfers served by form. */
  served: SHIELD_BASE + 27,
} as const;

/** Outcomes of the TCP connections kept in C until their first frame (native/tcp_gate.h
 * sb_tcp_wait), in slot order from `F.firstFrame`: kept, handed to JS with it, reset at the
 * deadline, reset to make room, closed by the client first, reset for a frame shorter than a header. */
export const TCP_FIRST_FRAME_OUTCOMES = [
  'kept',
  'handed',
  'expired',
  'evicted',
  'client-closed',
  'malformed',
] as const;

/** Indexes of the first-frame counters, after the transfers'. */
export const F = {
  /** First of TCP_FIRST_FRAME_OUTCOMES.length. */
  firstFrame: SHIELD_BASE + 31,
} as const;

/** Length of a report's `counters`. */
export const COUNTER_COUNT = SHIELD_BASE + 38;

/** Indexes of a report's `gauges` (values that go up and down; dropped when a worker dies). */
export const G = {
  tcpOpen: 0,
  zonesServed: 1,
  /** Response-cache entries, UDP then TCP. */
  cacheEntries: 2,
  /** Response-cache octets, UDP then TCP. */
  cacheBytes: 4,
  /** The shield's overload level (0 keeping up .. 3 drowning). */
  overload: 6,
  /** Zone transfers being written now. */
  transfersActive: 7,
  /** TCP connections kept in C until their first frame now. */
  tcpFirstFrameWaiting: 8,
} as const;

/** Length of a report's `gauges`. */
export const GAUGE_COUNT = 9;

/** Most zone names a report lists as under attack. */
export const MAX_ATTACKED_REPORTED = 32;
/** Most zones a report lists as its busiest. */
export const MAX_TOP_ZONES = 10;
/** Most zones opted into the metrics (`--shield-zone NAME:metrics=on`) a report lists. */
export const MAX_WATCHED_ZONES = 100;

/** What a worker sends the primary: cumulative counters and current gauges. */
export interface DnsReport {
  /** COUNTER_COUNT values that only grow during the worker's life. */
  counters: number[];
  /** GAUGE_COUNT current values. */
  gauges: number[];
  /** Zones this worker's shield holds under a random-subdomain attack now (at most 32). */
  attacked?: string[];
  /** This worker's busiest zones: [name, queries/s, missing names/s] (at most 10). */
  topZones?: [string, number, number][];
  /** Zones opted into the metrics, tracked now: [name, queries/s, missing names/s] (at most 100). */
  watchedZones?: [string, number, number][];
}

/** True when `r` has the shape of a report of this build. */
export function isDnsReport(r: unknown): r is DnsReport {
  if (typeof r !== 'object' || r === null) return false;
  const { counters, gauges } = r as { counters?: unknown; gauges?: unknown };
  return (
    Array.isArray(counters) &&
    counters.length === COUNTER_COUNT &&
    Array.isArray(gauges) &&
    gauges.length === GAUGE_COUNT &&
    counters.every(isCount) &&
    gauges.every(isCount) &&
    isNameList((r as { attacked?: unknown }).attacked) &&
    isTopList((r as { topZones?: unknown }).topZones, MAX_TOP_ZONES) &&
    isTopList((r as { watchedZones?: unknown }).watchedZones, MAX_WATCHED_ZONES)
  );
}

function isTopList(v: unknown, max: number): boolean {
  return (
    v === undefined ||
    (Array.isArray(v) &&
      v.length <= max &&
      v.every(
        (row) =>
          Array.isArray(row) &&
          row.length === 3 &&
          typeof row[0] === 'string' &&
          row[0].length > 0 &&
          row[0].length <= 1024 &&
          isCount(row[1]) &&
          isCount(row[2]),
      ))
  );
}

function isNameList(v: unknown): boolean {
  return (
    v === undefined ||
    (Array.isArray(v) &&
      v.length <= MAX_ATTACKED_REPORTED &&
      v.every((n) => typeof n === 'string' && n.length > 0 && n.length <= 1024))
  );
}

function isCount(v: unknown): boolean {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}
