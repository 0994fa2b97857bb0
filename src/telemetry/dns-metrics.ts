/**
 * The DNS plane's Prometheus metrics (docs/METRICS.md), read from a DnsAggregator at each
 * scrape: registered into `start`'s registry (primary-metrics.ts) and into `serve --metrics`'s
 * own (dns-plane-metrics.ts), so both export the same families.
 * @module
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { DnsAggregator } from './aggregate.js';
import {
  blockOf,
  C,
  COOKIE_STATUSES,
  F,
  G,
  Q,
  RCODE_LABELS,
  S,
  SHIELD_DECISIONS,
  SHIELD_REASONS,
  SHIELD_TIERS,
  TCP_FIRST_FRAME_OUTCOMES,
  TRANSFER_FORMS,
  TRANSFER_OUTCOMES,
  TRANSPORTS,
  X,
} from './dns-layout.js';

/** Registers the DNS plane's metrics in `registry`: values read from `dns` at each scrape. */
export function registerDnsMetrics(registry: Registry, dns: DnsAggregator): void {
  const registers = [registry];
  /** A counter per transport at `offset` of each transport block. */
  const perTransport = (name: string, help: string, offset: number) =>
    new Counter({
      name,
      help,
      labelNames: ['transport'],
      registers,
      collect() {
        const totals = dns.counters();
        this.reset();
        for (const t of TRANSPORTS) this.inc({ transport: t }, totals[blockOf(t) + offset]);
      },
    });
  perTransport('switchboard_dns_queries_total', 'DNS queries received, by transport.', Q.received);
  perTransport(
    'switchboard_dns_queries_dropped_total',
    'DNS queries answered with nothing (too short, a response, or undecodable), by transport.',
    Q.dropped,
  );
  perTransport(
    'switchboard_dns_responses_truncated_total',
    'DNS responses sent with TC=1, by transport.',
    Q.truncated,
  );
  perTransport(
    'switchboard_dns_response_cache_hits_total',
    'Queries answered from the response cache, by transport (JS answers only: a query answered in C from a zone image is no cache lookup).',
    Q.cacheHits,
  );
  perTransport(
    'switchboard_dns_response_cache_misses_total',
    'Response-cache lookups that found no valid entry (stale ones included), by transport.',
    Q.cacheMisses,
  );
  perTransport(
    'switchboard_dns_native_answers_total',
    'Queries answered in C from zone images (--native-answers), by transport (UDP, and plain TCP queries on connections C serves): no response-cache lookup.',
    Q.answeredC,
  );
  perTransport(
    'switchboard_dns_response_cache_stale_total',
    'Response-cache lookups that found an entry built from a zone changed since, by transport.',
    Q.cacheStale,
  );
  new Counter({
    name: 'switchboard_dns_responses_total',
    help: 'DNS responses sent, by transport and RCODE (header RCODE; other = any not listed).',
    labelNames: ['transport', 'rcode'],
    registers,
    collect() {
      const totals = dns.counters();
      this.reset();
      for (const t of TRANSPORTS)
        RCODE_LABELS.forEach((rcode, i) => {
          this.inc({ transport: t, rcode }, totals[blockOf(t) + Q.rcode + i]);
        });
    },
  });
  const workerWide = (name: string, help: string, index: number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(dns.counters()[index]);
      },
    });
  workerWide(
    'switchboard_dns_tcp_connections_accepted_total',
    'TCP connections accepted (within the per-worker and per-client limits).',
    C.tcpAccepted,
  );
  workerWide(
    'switchboard_dns_tcp_connections_rejected_total',
    "TCP connections closed on arrival: a connection limit reached, or the shield's TCP gate under overload.",
    C.tcpRejected,
  );
  new Counter({
    name: 'switchboard_dns_tcp_connections_closed_total',
    help: 'TCP connections closed by the server, by reason (idle timeout, malformed frame, evicted: silent, closed to make room at the limit).',
    labelNames: ['reason'],
    registers,
    collect() {
      const totals = dns.counters();
      this.reset();
      this.inc({ reason: 'idle' }, totals[C.tcpIdleClosed]);
      this.inc({ reason: 'malformed' }, totals[C.tcpMalformed]);
      this.inc({ reason: 'evicted' }, totals[C.tcpEvicted]);
    },
  });
  new Counter({
    name: 'switchboard_dns_tcp_first_frame_total',
    help: 'TCP connections from sources nothing vouches for kept in C until their first complete frame, by outcome: kept (all), handed (to JS with it), expired (reset at the deadline: the idle timeout, 1 s under pressure), evicted (reset to make room), client-closed, malformed (a first frame shorter than a header).',
    labelNames: ['outcome'],
    registers,
    collect() {
      const totals = dns.counters();
      this.reset();
      TCP_FIRST_FRAME_OUTCOMES.forEach((outcome, i) => {
        this.inc({ outcome }, totals[F.firstFrame + i]);
      });
    },
  });
  new Gauge({
    name: 'switchboard_dns_tcp_first_frame_waiting',
    help: 'TCP connections kept in C until their first frame now, over all DNS workers.',
    registers,
    collect() {
      this.set(dns.gauges()[G.tcpFirstFrameWaiting]);
    },
  });
  new Counter({
    name: 'switchboard_dns_transfers_total',
    help: 'Zone transfer requests (AXFR, IXFR over TCP) by outcome: started, refused (not allowed, not a zone), limited (over the concurrent transfer limits).',
    labelNames: ['outcome'],
    registers,
    collect() {
      const totals = dns.counters();
      this.reset();
      TRANSFER_OUTCOMES.forEach((outcome, i) => {
        this.inc({ outcome }, totals[X.transfers + i]);
      });
    },
  });
  new Counter({
    name: 'switchboard_dns_transfers_served_total',
    help: 'Zone transfers served, by form: axfr; ixfr (a difference from the journal), ixfr-full (the whole zone: the journal could not say), ixfr-current (one SOA: the client is current, or asked over UDP).',
    labelNames: ['form'],
    registers,
    collect() {
      const totals = dns.counters();
      this.reset();
      TRANSFER_FORMS.forEach((form, i) => {
        this.inc({ form }, totals[X.served + i]);
      });
    },
  });
  workerWide(
    'switchboard_dns_tsig_failures_total',
    'Signed requests whose TSIG did not verify (BADKEY, BADSIG, BADTIME, or a malformed MAC).',
    X.tsigFailures,
  );
  new Gauge({
    name: 'switchboard_dns_transfers_active',
    help: 'Zone transfers being written now, over all DNS workers.',
    registers,
    collect() {
      this.set(dns.gauges()[G.transfersActive]);
    },
  });
  new Gauge({
    name: 'switchboard_dns_tcp_connections_open',
    help: 'TCP connections open now, over all DNS workers.',
    registers,
    collect() {
      this.set(dns.gauges()[G.tcpOpen]);
    },
  });
  const cacheGauge = (name: string, help: string, first: number) =>
    new Gauge({
      name,
      help,
      labelNames: ['transport'],
      registers,
      collect() {
        const g = dns.gauges();
        this.reset();
        TRANSPORTS.forEach((t, i) => {
          this.set({ transport: t }, g[first + i]);
        });
      },
    });
  cacheGauge(
    'switchboard_dns_response_cache_entries',
    'Responses held in the response caches of all DNS workers, by transport.',
    G.cacheEntries,
  );
  cacheGauge(
    'switchboard_dns_response_cache_bytes',
    'Octets of responses held in the response caches of all DNS workers, by transport.',
    G.cacheBytes,
  );
  new Gauge({
    name: 'switchboard_dns_workers',
    help: 'DNS workers whose latest report is from a live process.',
    registers,
    collect() {
      this.set(dns.liveWorkers);
    },
  });
  new Gauge({
    name: 'switchboard_dns_zones_served',
    help: 'Zones served by each live DNS worker.',
    labelNames: ['worker'],
    registers,
    collect() {
      this.reset();
      for (const slot of dns.slots()) {
        const g = dns.slotGauges(slot);
        if (g) this.set({ worker: String(slot) }, g[G.zonesServed]);
      }
    },
  });
  registerShieldMetrics(registry, dns);
  new Counter({
    name: 'switchboard_dns_zone_updates_total',
    help: 'Zone additions, replacements and deletions applied by each DNS worker slot.',
    labelNames: ['worker'],
    registers,
    collect() {
      this.reset();
      for (const slot of dns.slots())
        this.inc({ worker: String(slot) }, dns.slotCounters(slot)[C.zoneUpdates]);
    },
  });
}

/** The shield's metrics (docs/SHIELD.md; zero while it is off). */
function registerShieldMetrics(registry: Registry, dns: DnsAggregator): void {
  const registers = [registry];
  /** A counter with one label whose series are summed worker counters: [label value, index]. */
  const byLabel = (
    name: string,
    help: string,
    label: string,
    series: readonly (readonly [string, number])[],
  ) =>
    new Counter({
      name,
      help,
      labelNames: [label],
      registers,
      collect() {
        const totals = dns.counters();
        this.reset();
        for (const [value, index] of series) this.inc({ [label]: value }, totals[index]);
      },
    });
  byLabel(
    'switchboard_dns_shield_decisions_total',
    'UDP datagrams the shield decided on before answering (--shield), by decision.',
    'decision',
    SHIELD_DECISIONS.map((d, i) => [d, S.decisions + i] as const),
  );
  new Counter({
    name: 'switchboard_dns_shield_shed_total',
    help: 'Datagrams the shield dropped or truncated, by reason (zone-budget: missing names of an attacked zone; overload) and source tier.',
    labelNames: ['reason', 'tier'],
    registers,
    collect() {
      const totals = dns.counters();
      this.reset();
      SHIELD_REASONS.forEach((reason, r) => {
        SHIELD_TIERS.forEach((tier, t) => {
          this.inc({ reason, tier }, totals[S.shed + r * SHIELD_TIERS.length + t]);
        });
      });
    },
  });
  byLabel(
    'switchboard_dns_rrl_responses_total',
    'Responses response-rate limiting held back, by action (dropped, or slipped: sent truncated).',
    'action',
    [
      ['dropped', S.rrlDropped],
      ['slipped', S.rrlSlipped],
    ],
  );
  byLabel(
    'switchboard_dns_cookies_total',
    'UDP queries by their DNS COOKIE option, as the shield found it (RFC 7873).',
    'status',
    COOKIE_STATUSES.map((c, i) => [c, S.cookies + i] as const),
  );
  byLabel(
    'switchboard_dns_shield_dry_run_total',
    'What the shield would have done in dry run (--shield dry-run), by decision.',
    'decision',
    [
      ['dropped', S.wouldDrop],
      ['truncated', S.wouldTruncate],
      ['badcookie', S.wouldBadcookie],
    ],
  );
  new Counter({
    name: 'switchboard_dns_shield_calm_refused_total',
    help: 'Queries asked in calm (worker keeping up, zone not attacked) that earned their source no history credit: an attack was seen within the last 20 s and the source had no history.',
    registers,
    collect() {
      this.reset();
      this.inc(dns.counters()[S.calmRefused]);
    },
  });
  new Gauge({
    name: 'switchboard_dns_shield_overload_level',
    help: "Each DNS worker's overload level (0 keeping up, 1 behind, 2 far behind, 3 drowning).",
    labelNames: ['worker'],
    registers,
    collect() {
      this.reset();
      for (const slot of dns.slots()) {
        const g = dns.slotGauges(slot);
        if (g) this.set({ worker: String(slot) }, g[G.overload]);
      }
    },
  });
  const topGauge = (name: string, help: string, i: 0 | 1) =>
    new Gauge({
      name,
      help,
      labelNames: ['zone'],
      registers,
      collect() {
        this.reset();
        for (const [zone, rates] of dns.topZones()) this.set({ zone }, Math.round(rates[i] * 10) / 10);
      },
    });
  topGauge(
    'switchboard_dns_zone_queries_per_second',
    "Queries a second of each worker's 10 busiest zones (smoothed over ~2 s; with --shield on), summed over workers.",
    0,
  );
  topGauge(
    'switchboard_dns_zone_missing_per_second',
    "Queries a second for names that do not exist, of each worker's 10 busiest zones (with --shield on), summed over workers.",
    1,
  );
  new Gauge({
    name: 'switchboard_dns_zone_under_attack',
    help: 'Zones under a random-subdomain attack now (1 per zone a worker holds attacked; at most 32 per worker).',
    labelNames: ['zone'],
    registers,
    collect() {
      this.reset();
      for (const zone of dns.attackedZones()) this.set({ zone }, 1);
    },
  });
}
