/**
 * The counters a shield reports (both UDP paths).
 * @module
 */
/**
 * The shield's counters since it was configured: the native shield's (shieldStats in
 * native/shield_napi.c) and the Node path's (NodeShield.stats) have this one shape, so metrics
 * read either the same way.
 */
export interface ShieldStats {
  seen: number;
  answered: number;
  dropped: number;
  truncated: number;
  allowed: number;
  wouldDrop: number;
  wouldTruncate: number;
  rrlDropped: number;
  rrlSlipped: number;
  /** FORMERR for a malformed COOKIE option; BADCOOKIE sent (or, in dry run, that would be). */
  formerr: number;
  badcookie: number;
  wouldBadcookie: number;
  /** Queries by cookie status: none, malformed, client only, invalid, valid. */
  cookies: number[];
  /** 0 (keeping up) .. 3 (drowning). */
  overload: number;
  /** (tidy25) Calm queries refused their history credit because an attack was seen within the
   * last 20 s (hist23, docs/SHIELD.md "What calm means") and their source had no history: this
   * worker's, cumulative (native: `sb_sources.calm_refused`; Node: SourceTable.calmRefused). */
  calmRefused?: number;
  /** Shed by an attacked zone's budget and by overload, per tier (unknown, history, tcp, cookie). */
  shedBudget: number[];
  shedOverload: number[];
  /** Keys (FNV-1a of the origin's wire form) of the zones attacked now. */
  attacked: number[];
  /** State changes since the last call: [zone key, 1 entered / 0 left]. */
  events: [number, number][];
  lostEvents: number;
  /** Blocks the prefilter made (or, in dry run, would have), and /24s blocked now. */
  blocksMade: number;
  /** Blocks not made (native path): a source of the /24 has good standing in the source table the
   * workers share, though this worker did not read it. */
  blocksSpared?: number;
  /** Blocks renewed at their expiry because the sample the kernel passes of a blocked /24 showed it
   * still over the threshold, and the sampled datagrams read (and dropped) (native path). */
  blocksRenewed?: number;
  /** Blocks kept 2 s past their end to be judged again (their sample under the threshold, not empty). */
  blocksGraced?: number;
  prefilterSampled?: number;
  wouldBlock: number;
  blocked: number;
  /** ipv626 (native path): IPv6 /56s the prefilter drops now, blocks made, renewed at expiry from
   * their sample and spared (good standing in the shared source table), sampled datagrams read, and
   * what dry run would have blocked (docs/SHIELD.md "IPv6 /56s before the socket queue"). */
  blocked6?: number;
  blocks6Made?: number;
  blocks6Renewed?: number;
  blocks6Spared?: number;
  prefilterSampled6?: number;
  wouldBlock6?: number;
  /** The prefilter's QNAME filter (native path): attacked zones whose missing names the kernel
   * drops now, zones taken and let go since start, zones that did not qualify, what dry run
   * would have dropped, and the first zone's estimated flood (missing names a second before
   * the kernel) and the share of it let through. */
  qfZones?: number;
  qfMade?: number;
  qfEnded?: number;
  qfRefusals?: number;
  /** Known missing names (asked again in calm times) in the last set read. */
  qfKnownAdded?: number;
  qfWouldDrop?: number;
  qfEstimate?: number;
  qfShare?: number;
  /** When (ms since the epoch, 0: never; native path) a zone was last called attacked, last
   * entered the QNAME filter, and the blocked /24s last grew: the log lines' timeline. */
  attackedAt?: number;
  qfMadeAt?: number;
  blockedAt?: number;
  /** When the blocked set last grew from empty (a wave's first block), and when the current run of
   * full reads began (the worker behind since; shield8). Native path. */
  blockedFirstAt?: number;
  behindSince?: number;
  /** bridge21 (native path, docs/SHIELD.md "The bridge"): bridges made since start, whether one
   * holds now, their total ms, bridges not made (no source of standing, too many /24s of it), and
   * the last one's start (wall ms), length, /24s of standing, why it was lifted (1 blocks made,
   * 2 the longest, 3 no block made) and the blocks made while it held. */
  bridges?: number;
  bridgeOn?: number;
  bridgeMs?: number;
  bridgesRefused?: number;
  /** lone24: bridge programs attached as eBPF with the quiet /24s' pass, and attempts that fell back to
   * the classic program (bpf(2) refused; this process). */
  bridgeLoneAttached?: number;
  bridgeLoneRefused?: number;
  /** lone24: milliseconds spent making and attaching those programs (the verifier's mostly). */
  bridgeLoneMs?: number;
  /** maps25: writes into the eBPF bridge's maps (its share, its /24s of standing) and the ms they
   * took; the LRU map of /24s now (entries, those hot, its size); this process. */
  bridgeLoneMapWrites?: number;
  bridgeLoneMapMs?: number;
  /** maps25: the bridge's changes that wrote its maps only (the program the same), and the rebuilds
   * (one a wake-up) that found a new program waiting for the gap after the last (SB_LONE_GAP_MS). */
  bridgeLoneMapsOnly?: number;
  bridgeLoneDeferred?: number;
  loneMapEntries?: number;
  loneMapHot?: number;
  loneMapSize?: number;
  /** The source table's slots and the keys it evicted since start (native path). */
  sourcesSize?: number;
  sourcesEvictions?: number;
  bridgeLastAt?: number;
  bridgeLastMs?: number;
  bridgeLastGood?: number;
  bridgeLastWhy?: number;
  bridgeLastBlocks?: number;
  /** own22: /24s that joined a bridge (standing earned while it held), since start and in the last one. */
  bridgeJoined?: number;
  bridgeLastJoined?: number;
  /** thin26: bridges held past their lift while their share kept out a flood no block was made for
   * (the long bridge), whether the last one did, and the most a 100 ms window of it kept out (a second's rate). */
  bridgesLong?: number;
  bridgeLastLong?: number;
  bridgeLastKept?: number;
  /** thin26: the long bridge's share sized from the queue: changes in the last bridge, its widest share (1/div). */
  bridgeLastSized?: number;
  bridgeLastShareMax?: number;
  /** The onset trace (native path), once, when complete: the first 20 × 100 ms after the worker
   * fell behind from calm (`at`, ms since the epoch); per slice, datagrams read per tier
   * (unknown, history, tcp, cookie), not answered per tier, then /24s blocked, the overload level
   * and zones in the QNAME filter at the slice's last datagram, and datagrams read while the
   * worker was behind now (a full run of reads within 100 ms). `blocks` (onset3): each /24
   * blocked while the trace ran — [prefix as a 32-bit number, ms after `at`, the rule's char code
   * (s shed, r rate limited, n many hosts, S share), distinct hosts, its strangers' datagrams
   * read lately (halved each second), all strangers', this second's missing-or-answered, shed and
   * rate-limited counts, ms after `at` of its first datagram read lately, those read while behind]. */
  onset?: { at: number; slices: number[][]; blocks?: number[][] };
  /** The 10 busiest zones tracked: [zone key, queries/s, missing names/s], busiest first. */
  top: [number, number, number][];
  /** Zones set with metrics=on that are tracked now: [zone key, queries/s, missing names/s]. */
  watched?: [number, number, number][];
}
