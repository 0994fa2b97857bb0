/**
 * The DNS worker's side of the metrics: counters bumped around the query handler (typed-array
 * increments; the RCODE and TC bit are read from the response header bytes, nothing is
 * decoded), and a report that adds what other parts already count (response cache, TCP
 * listeners, zones) for the primary, which sums the reports of every worker.
 *
 * Imports nothing: the handler, cache and listener shapes are structural, so this module sits
 * below transport and answer without depending on them.
 * @module
 */
import {
  blockOf,
  C,
  COOKIE_STATUSES,
  COUNTER_COUNT,
  type DnsReport,
  F,
  G,
  GAUGE_COUNT,
  MAX_ATTACKED_REPORTED,
  MAX_TOP_ZONES,
  MAX_WATCHED_ZONES,
  Q,
  RCODE_SLOT,
  S,
  SHIELD_TIERS,
  TRANSPORT_BLOCK,
  TRANSPORTS,
  X,
} from './dns-layout.js';

/** What a query handler needs to know of its context here. */
export interface CountedContext {
  transport: 'udp' | 'tcp';
}

/** A query handler: query bytes in, response bytes (or null: send nothing) out. */
export type CountedHandler<Ctx extends CountedContext> = (query: Uint8Array, ctx: Ctx) => Uint8Array | null;

/** The response-cache counters of one transport (Responder.cacheStats()). */
export interface CacheCounters {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
  stale: number;
}

/** The counters of one TCP listener (TcpListener.stats). */
export interface TcpCounters {
  accepted: number;
  open: number;
  refused: number;
  malformed: number;
  idleClosed: number;
  /** Absent from listeners of builds before it was counted. */
  evicted?: number;
  /** Idle connections closed at the limit to make room (counted as `evicted`). */
  evictedIdle?: number;
  /** Connections without a first query within a second under pressure (counted as `idle`). */
  slowClosed?: number;
}

/** The connections of one worker kept in C until their first frame (NativeTcpGateStats). */
export interface TcpFirstFrameCounters {
  waiting?: number;
  waitTotal?: number;
  waitHanded?: number;
  waitExpired?: number;
  waitEvicted?: number;
  waitClientClosed?: number;
  waitRejected?: number;
  /** (tcpc23) Connections served in C now and since start, their frames answered in C (by
   * RCODE), handed to JS (counted by its listener from then on), closed for a short frame, closed
   * idle, refused at the per-client limit: the handler never saw them. */
  servedInC?: number;
  serveTotal?: number;
  serveAnswered?: number;
  serveHanded?: number;
  serveMalformed?: number;
  serveIdleClosed?: number;
  serveRefused?: number;
  serveByRcode?: readonly number[];
}

/** The answers a native UDP socket sent from C (NativeUdpStats): the handler never saw them. */
export interface NativeAnswerCounters {
  answeredC: number;
  /** By header RCODE (index 0–15); absent from an addon built before it was counted. */
  answeredCByRcode?: readonly number[];
  answeredCTruncated?: number;
  /** Datagrams the shield dropped before any answer, and C answers rate limiting dropped:
   * received and dropped, never seen by the handler. */
  shieldDropped?: number;
  rrlDroppedC?: number;
}

/** The shield's counters of this worker (NativeShieldStats), when it is on. */
export interface ShieldCounters {
  answered: number;
  dropped: number;
  truncated: number;
  formerr: number;
  badcookie: number;
  rrlDropped: number;
  rrlSlipped: number;
  cookies: readonly number[];
  shedBudget: readonly number[];
  shedOverload: readonly number[];
  wouldDrop: number;
  wouldTruncate: number;
  wouldBadcookie: number;
  /** Calm queries refused their history credit (an attack seen within 20 s, no history). */
  calmRefused?: number;
  overload: number;
  /** Names of the zones attacked now. */
  attacked: readonly string[];
  /** The busiest zones: [name, queries/s, missing names/s] (at most 10). */
  top?: readonly (readonly [string, number, number])[];
  /** Zones opted into the metrics, tracked now: [name, queries/s, missing names/s] (at most 100). */
  watched?: readonly (readonly [string, number, number])[];
}

/** Where a report takes the numbers this module does not count itself. */
export interface ReportSources {
  /** Every native UDP socket's C answers since it opened (none on the node path). */
  nativeUdp?: () => Iterable<Readonly<NativeAnswerCounters>>;
  /** Response-cache statistics per transport; undefined when caching is off. */
  cache?: () => { udp: CacheCounters; tcp: CacheCounters } | undefined;
  /** Every TCP listener's counters (none before the listeners are bound). */
  tcp?: () => Iterable<Readonly<TcpCounters>>;
  /** This worker's connections kept in C until their first frame (native/tcp_gate.h; the
   * addon's tcpGateStats), undefined without the addon. */
  tcpFirstFrame?: () => TcpFirstFrameCounters | undefined;
  /** Zones served now. */
  zones?: () => number;
  /** The shield's counters (undefined when it is off). */
  shield?: () => ShieldCounters | undefined;
  /** The zone transfer service's counters (src/xfr/service.ts `TransferStats`). */
  transfers?: () => TransferCounters;
}

/** A worker's zone transfer counters (cumulative, but `active`). */
export interface TransferCounters {
  started: number;
  refused: number;
  limited: number;
  tsigFailures: number;
  active: number;
  axfr?: number;
  ixfr?: number;
  ixfrFull?: number;
  ixfrCurrent?: number;
}

/** RFC 1035 §4.1.1: the RCODE is the low four bits of the header's fourth octet. */
const RCODE_OCTET = 3;
/** RFC 1035 §4.1.1: TC is bit 0x02 of the third octet. */
const FLAGS_OCTET = 2;
const TC_BIT = 0x02;
const HEADER_LENGTH = 12;

/** One worker's DNS counters. */
export class DnsCounters {
  /** Cumulative counters in the layout of dns-layout.ts (the report fills in the rest). */
  readonly #counts = new Float64Array(COUNTER_COUNT);

  /**
   * Wraps `handler` so every query is counted: received per transport, then dropped (null)
   * or the response's RCODE and TC bit. A few typed-array increments per query.
   */
  wrapHandler<Ctx extends CountedContext>(handler: CountedHandler<Ctx>): CountedHandler<Ctx> {
    const counts = this.#counts;
    const slots = RCODE_SLOT;
    return (query, ctx) => {
      const base = ctx.transport === 'tcp' ? TRANSPORT_BLOCK : 0;
      counts[base + Q.received]++;
      const reply = handler(query, ctx);
      if (reply === null) {
        counts[base + Q.dropped]++;
        return null;
      }
      // A response shorter than a header cannot be classified; the handler never makes one.
      if (reply.length < HEADER_LENGTH) {
        counts[base + Q.rcode + slots[15]]++;
        return reply;
      }
      counts[base + Q.rcode + slots[reply[RCODE_OCTET] & 0x0f]]++;
      if ((reply[FLAGS_OCTET] & TC_BIT) !== 0) counts[base + Q.truncated]++;
      return reply;
    };
  }

  /** Counts zone changes applied from the primary (added, replaced or deleted zones). */
  countZoneUpdates(n: number): void {
    if (n > 0) this.#counts[C.zoneUpdates] += n;
  }

  /** The report to send the primary: this worker's cumulative counters and current gauges. */
  report(sources: ReportSources = {}): DnsReport {
    const counters = Array.from(this.#counts);
    const gauges = new Array<number>(GAUGE_COUNT).fill(0);
    const cache = sources.cache?.();
    if (cache) {
      TRANSPORTS.forEach((t, i) => {
        const s = cache[t];
        const b = blockOf(t);
        counters[b + Q.cacheHits] = s.hits;
        counters[b + Q.cacheMisses] = s.misses;
        counters[b + Q.cacheStale] = s.stale;
        gauges[G.cacheEntries + i] = s.entries;
        gauges[G.cacheBytes + i] = s.bytes;
      });
    }
    // Queries answered in C (`--native-answers`) never reach wrapHandler: received, answered
    // by RCODE and TC as if they had (the socket's counters are cumulative, like ours).
    for (const s of sources.nativeUdp?.() ?? []) {
      const b = blockOf('udp');
      counters[b + Q.received] += s.answeredC;
      counters[b + Q.answeredC] += s.answeredC;
      const byRcode = s.answeredCByRcode ?? [];
      for (let r = 0; r < 16; r++) counters[b + Q.rcode + RCODE_SLOT[r]] += byRcode[r] ?? 0;
      counters[b + Q.truncated] += s.answeredCTruncated ?? 0;
      const unseen = (s.shieldDropped ?? 0) + (s.rrlDroppedC ?? 0);
      counters[b + Q.received] += unseen;
      counters[b + Q.dropped] += unseen;
    }
    for (const s of sources.tcp?.() ?? []) {
      counters[C.tcpAccepted] += s.accepted;
      counters[C.tcpRejected] += s.refused;
      counters[C.tcpMalformed] += s.malformed;
      counters[C.tcpIdleClosed] += s.idleClosed + (s.slowClosed ?? 0);
      counters[C.tcpEvicted] += (s.evicted ?? 0) + (s.evictedIdle ?? 0);
      gauges[G.tcpOpen] += s.open;
    }
    const ff = sources.tcpFirstFrame?.();
    if (ff !== undefined) {
      [
        ff.waitTotal,
        ff.waitHanded,
        ff.waitExpired,
        ff.waitEvicted,
        ff.waitClientClosed,
        ff.waitRejected,
      ].forEach((v, i) => {
        counters[F.firstFrame + i] = v ?? 0;
      });
      gauges[G.tcpFirstFrameWaiting] = ff.waiting ?? 0;
      // Plain TCP queries answered in C (tcpc23) never reach wrapHandler either: received and
      // answered by RCODE in the TCP block, their connections in the TCP counters.
      const b = blockOf('tcp');
      const answered = ff.serveAnswered ?? 0;
      counters[b + Q.received] += answered;
      counters[b + Q.answeredC] += answered;
      const byRcode = ff.serveByRcode ?? [];
      for (let r = 0; r < 16; r++) counters[b + Q.rcode + RCODE_SLOT[r]] += byRcode[r] ?? 0;
      counters[C.tcpAccepted] += (ff.serveTotal ?? 0) - (ff.serveHanded ?? 0);
      counters[C.tcpRejected] += ff.serveRefused ?? 0;
      counters[C.tcpMalformed] += ff.serveMalformed ?? 0;
      counters[C.tcpIdleClosed] += ff.serveIdleClosed ?? 0;
      gauges[G.tcpOpen] += ff.servedInC ?? 0;
    }
    gauges[G.zonesServed] = sources.zones?.() ?? 0;
    const xfr = sources.transfers?.();
    if (xfr !== undefined) {
      counters[X.transfers] = xfr.started;
      counters[X.transfers + 1] = xfr.refused;
      counters[X.transfers + 2] = xfr.limited;
      counters[X.tsigFailures] = xfr.tsigFailures;
      [xfr.axfr, xfr.ixfr, xfr.ixfrFull, xfr.ixfrCurrent].forEach((v, i) => {
        counters[X.served + i] = v ?? 0;
      });
      gauges[G.transfersActive] = xfr.active;
    }
    const sh = sources.shield?.();
    if (sh === undefined) return { counters, gauges };
    [sh.answered, sh.dropped, sh.truncated, sh.formerr, sh.badcookie].forEach((v, i) => {
      counters[S.decisions + i] = v;
    });
    for (let t = 0; t < SHIELD_TIERS.length; t++) {
      counters[S.shed + t] = sh.shedBudget[t] ?? 0;
      counters[S.shed + SHIELD_TIERS.length + t] = sh.shedOverload[t] ?? 0;
    }
    counters[S.rrlDropped] = sh.rrlDropped;
    counters[S.rrlSlipped] = sh.rrlSlipped;
    for (let c = 0; c < COOKIE_STATUSES.length; c++) counters[S.cookies + c] = sh.cookies[c] ?? 0;
    counters[S.wouldDrop] = sh.wouldDrop;
    counters[S.wouldTruncate] = sh.wouldTruncate;
    counters[S.wouldBadcookie] = sh.wouldBadcookie;
    counters[S.calmRefused] = sh.calmRefused ?? 0;
    gauges[G.overload] = sh.overload;
    return {
      counters,
      gauges,
      attacked: sh.attacked.slice(0, MAX_ATTACKED_REPORTED),
      topZones: (sh.top ?? []).slice(0, MAX_TOP_ZONES).map(([z, q, nx]) => [z, q, nx]),
      ...(sh.watched?.length
        ? { watchedZones: sh.watched.slice(0, MAX_WATCHED_ZONES).map(([z, q, nx]) => [z, q, nx]) }
        : {}),
    };
  }
}
