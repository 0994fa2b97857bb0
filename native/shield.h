/*
 * The shield's per-datagram mechanisms in C (issue 8; docs/SHIELD.md): the same arithmetic as
 * the src/shield modules, so that the native path decides exactly what the Node path decides. The
 * TypeScript modules are the reference: test/native/shield-c.test.ts runs the same random
 * operations through both (this file built with -fsanitize=address,undefined) and compares
 * every result.
 *
 * Pure C, no allocation after a structure is made, no recursion; every offset read from a
 * datagram is checked against its length. Not wired into the batch loop yet (hooks.h).
 */
#ifndef SWITCHBOARD_SHIELD_H
#define SWITCHBOARD_SHIELD_H

#include <stddef.h>
#include <stdint.h>

#include "prefilter.h"
#include "block6.h"
#include "preparse.h"
typedef sb_preparse sb_preparse_ref;

/* ---- hashing (bounded-table.ts) ---- */
uint32_t sb_mix32(uint32_t h, uint32_t v);
uint32_t sb_hash_prefix(const uint8_t *addr, size_t addr_len, unsigned bits);
/* SipHash-2-4 of data[0, len) under a 16-octet key, written as 8 octets (least significant first). */
void sb_siphash24(const uint8_t key[16], const uint8_t *data, size_t len, uint8_t out[8]);

/* ---- fixed-size set-associative table (bounded-table.ts) ---- */
typedef struct sb_table {
  uint32_t size, ways, mask;
  uint32_t *keys;
  double evictions;
  int claimed; /* the last claim gave the slot to its key */
} sb_table;
typedef double (*sb_rank_fn)(void *ctx, uint32_t slot);
int sb_table_init(sb_table *t, uint32_t size, uint32_t ways); /* 0, or -1 (bad shape, no memory) */
void sb_table_free(sb_table *t);
int32_t sb_table_find(const sb_table *t, uint32_t key);
uint32_t sb_table_claim(sb_table *t, uint32_t key, sb_rank_fn rank, void *ctx);

/* ---- cookies (cookies.ts) ---- */
#define SB_COOKIE_NONE 0
#define SB_COOKIE_MALFORMED 1
#define SB_COOKIE_CLIENT_ONLY 2
#define SB_COOKIE_INVALID 3
#define SB_COOKIE_VALID 4
/* Classifies the COOKIE option of `len` octets at q[at] (at < 0: none) for address `addr`
 * (4 or 16 octets) at `now` (seconds, 32-bit serial) against `nsecrets` 16-octet secrets. */
int sb_cookie_check(const uint8_t *q, size_t qlen, long at, size_t len, const uint8_t *addr, size_t addr_len,
                    uint32_t now, const uint8_t (*secrets)[16], unsigned nsecrets);
/* Writes client cookie (8 octets at client) + a version-1 server cookie: 24 octets at out. */
void sb_cookie_write(uint8_t out[24], const uint8_t client[8], const uint8_t *addr, size_t addr_len, uint32_t now,
                     const uint8_t secret[16]);

/* ---- response-rate limiting (rrl.ts) ---- */
#define SB_RRL_SEND 0
#define SB_RRL_DROP 1
#define SB_RRL_SLIP 2
typedef struct sb_rrl {
  double rates[5], all;
  unsigned window, slip, v4_bits, v6_bits;
  int dry_run;
  sb_table table;
  double *balance, *stamp;
  uint32_t *limited;
  double sent, dropped[5], slipped[5];
  /* The buckets every worker shares (sb_rrl_share; NULL: this table's own). Not owned. */
  uint64_t *shared;
  uint32_t shared_mask; /* the first word of a key's set: (set index × SB_RRL_SHARED_WAYS) & mask */
  double shared_retries; /* compare-and-swaps lost to another worker and tried again */
} sb_rrl;
int sb_rrl_init(sb_rrl *r, const double rates[5], double all, unsigned window, unsigned slip, unsigned v4_bits,
                unsigned v6_bits, uint32_t table_size, int dry_run);
void sb_rrl_free(sb_rrl *r);
uint32_t sb_rrl_block(const sb_rrl *r, const uint8_t *addr, size_t addr_len);
int sb_rrl_decide(sb_rrl *r, uint32_t block, unsigned kind, uint32_t name_hash, double now_ms);
/* The same with the five rates given (a zone's own, --shield-zone); NULL: the limiter's. */
int sb_rrl_decide_rates(sb_rrl *r, uint32_t block, unsigned kind, uint32_t name_hash, double now_ms,
                        const double *rates);
/* Buckets shared by the workers (docs/SHIELD.md "Response-rate limiting", "One account per
 * client block"): `nwords` 64-bit words (a power of two, at least SB_RRL_SHARED_WAYS; all zero
 * before first use), in sets of SB_RRL_SHARED_WAYS (one cache line). A bucket is one word: a tag
 * of its key (18 bits), the slip count of its run (4 bits) and its theoretical arrival time (42
 * bits, 1/1024 ms, wrapping every 49.7 days) — BIND's balance as a generic cell rate (the balance
 * is rate × (1 − (tat − now) / 1 s), full when tat <= now), changed with one compare-and-swap, so
 * every process deciding with these words spends one account per key. A full bucket is the same
 * as none, so a set makes room by reusing a full bucket, else the one nearest full (an attacker
 * rotating keys pushes out the nearly full, never the limited). After this call r decides with
 * the shared words only (its own table unused); words NULL: back to its own. */
#define SB_RRL_SHARED_WAYS 8
void sb_rrl_share(sb_rrl *r, uint64_t *words, uint32_t nwords);

/* ---- per-zone settings (--shield-zone; config.ts) ---- */
#define SB_SHIELD_MAX_ZONE_SETTINGS 1024
typedef struct sb_zone_setting {
  uint32_t key;         /* the zone's key (FNV-1a of its origin's wire form) */
  double min_nx;        /* the detector's floor; < 0: the server's */
  double budget_floor;  /* an attacked zone's budget floor; < 0: the server's */
  double rrl_rates[5];  /* RRL rates by kind, each < 0: the server's (resolved by the shield) */
  int metrics;          /* reported in the metrics whatever its rank */
} sb_zone_setting;
/* The setting of `key` in `s` (n entries sorted by key), or NULL. */
const sb_zone_setting *sb_zone_setting_find(const sb_zone_setting *s, unsigned n, uint32_t key);

/* ---- random-subdomain detection per zone (zone-attack.ts) ---- */
typedef struct sb_zones {
  double min_nx, factor, share, hold, floor_;
  sb_table table;
  uint32_t *key, *queries, *missing;
  double *second, *q_rate, *nx_rate, *baseline, *tokens, *token_stamp;
  uint8_t *attacked;
  uint16_t *calm;
  /* Per slot: the detector's floor and the budget floor (the zone's setting, else the server's). */
  double *min_nx_of, *floor_of;
  const sb_zone_setting *settings; /* sorted by key; not owned */
  unsigned nsettings;
  /* Changes since the caller last drained them: slot and new state. */
  uint32_t events[64];
  uint8_t event_state[64];
  unsigned nevents;
  double lost_events;
} sb_zones;
int sb_zones_init(sb_zones *z, double min_nx, double factor, double share, double hold, double budget_floor,
                  uint32_t table_size);
void sb_zones_free(sb_zones *z);
/* Per-zone floors, taken by a zone's slot when it is claimed, and at once by the zones tracked
 * when called on a running detector (settings pushed to a worker). */
void sb_zones_set_settings(sb_zones *z, const sb_zone_setting *settings, unsigned n);
/* The rates of `slot` as a roll at now_ms would leave them (what sb_zones_top ranks by). */
void sb_zones_rates(const sb_zones *z, uint32_t slot, double now_ms, double *q_rate, double *nx_rate);
uint32_t sb_zones_observe(sb_zones *z, uint32_t zone, int exists, double now_ms);
int sb_zones_admit_missing(sb_zones *z, uint32_t slot, double now_ms);
/* Rolls the attacked zones up to now (the TS sweep; attacked slots found by a table walk). */
void sb_zones_sweep(sb_zones *z, double now_ms);
/* The `max` busiest zones tracked (smoothed queries a second, decayed over the seconds since
 * their last query), busiest first: their slots in out[]; returns how many. */
unsigned sb_zones_top(const sb_zones *z, double now_ms, uint32_t *out, double *q_rate, double *nx_rate, unsigned max);

/* ---- source tiers (sources.ts) ---- */
#define SB_TIER_UNKNOWN 0
#define SB_TIER_HISTORY 1
#define SB_TIER_TCP 2
#define SB_TIER_COOKIE 3
typedef struct sb_sources {
  sb_table table;
  uint32_t history_min;
  double history_share, tcp_ms, cookie_ms, now;
  uint32_t *good, *bad;
  double *tcp_at, *cookie_at, *seen, *credited, *history_at, *tc_at;
  /* The table and arrays live in a file every worker maps (standing.h): not freed here, a slot
   * claimed with a compare-and-swap of its key, a calm credit with one of its stamp. */
  int shared;
  /* hist23 (sources.ts noteUnrest): when (ms) a worker last saw an attack in progress — the
   * file's header stamp when shared (unrest_shared: any worker's), else unrest_own — and how long
   * after it a source without history earns no calm credit (calm_after_ms; 0: the rule off). */
  double *unrest_shared;
  double unrest_own, calm_after_ms;
  /* tidy25: calm queries refused their credit by that rule (this worker's; cumulative). */
  double calm_refused;
} sb_sources;
int sb_sources_init(sb_sources *s, uint32_t table_size, uint32_t history_min, double history_share,
                    double tcp_seconds, double cookie_seconds);
void sb_sources_free(sb_sources *s);
uint32_t sb_sources_key(const uint8_t *addr, size_t addr_len);
int sb_sources_tier(sb_sources *s, uint32_t key, int cookie_valid, double now_ms);
void sb_sources_note_calm(sb_sources *s, uint32_t key, int exists, double now_ms);
/* hist23: "calm" for the history credit is also "no attack seen lately": within calm_after_ms of
 * the last sb_sources_note_unrest (any worker's, when shared) a source without history earns no
 * calm credit (nothing counted), one with history is credited as before (keeps its day). */
#define SB_CALM_AFTER_MS 20000.0
/* The stamp moves in steps of at least this (a shared cache line written at most 20 times a
 * second by each worker under attack). */
#define SB_UNREST_STEP_MS 50.0
/* The worker behind (overload level >= 1) this long in a row is an attack in progress even with no
 * /24 blocked (a flood nothing could block); a worker briefly behind at start is not. */
#define SB_UNREST_PRESSED_MS 3000.0
void sb_sources_note_unrest(sb_sources *s, double now_ms);
/* Sets calm_after_ms (0: the rule off). */
void sb_sources_set_calm_after(sb_sources *s, double ms);
/* A query answered over TCP: the tcp tier when key was sent a TC=1 within SB_TC_FOLLOW_MS; 1 if so. */
int sb_sources_note_tcp(sb_sources *s, uint32_t key, double now_ms);
/* key was sent a TC=1 answer. */
void sb_sources_note_truncated(sb_sources *s, uint32_t key, double now_ms);
#define SB_TC_FOLLOW_MS 60000.0
/* Whether key came back over TCP within the TCP tier's time, whatever its tier (0 for a query
 * without a cookie from a cookie speaker). */
int sb_sources_used_tcp(const sb_sources *s, uint32_t key, int cookie_valid, double now_ms);
void sb_sources_note_cookie(sb_sources *s, uint32_t key, double now_ms);
/* Whether the source has a calm-time history now (whatever its tier: a history source that also
 * used TCP is in the tcp tier). */
int sb_sources_has_history(sb_sources *s, uint32_t key, double now_ms);
/* Whether the source is of good standing (what keeps its /24 out of the prefilter): a valid cookie
 * within window_ms, or a calm-time history. Read from the table every worker shares (standing.h)
 * when there is one: a source whose datagrams reach only another worker counts too. */
int sb_sources_good(const sb_sources *s, uint32_t key, double window_ms, double now_ms);
/* A TC=1 answer vouches for its source's TCP connections this long (a resolver's TCP retry comes
 * at once; the bots that were sent one of the 100 TC=1 a second strangers get are let in this
 * long only). */
#define SB_TC_GATE_MS 5000.0
/* Whether anything vouches for the source (sources.ts vouched): a TC=1 answer sent to it within
 * SB_TC_GATE_MS, the tcp tier's time since it followed one, a cookie within the cookie time, or
 * a calm-time history. A TCP connection from a source nothing vouches for is refused under
 * overload (sb_shield_tcp_admit). */
int sb_sources_vouched(const sb_sources *s, uint32_t key, double now_ms);

/* ---- admission (admission.ts) ---- */
#define SB_ADMIT_ANSWER 0
#define SB_ADMIT_DROP 1
#define SB_ADMIT_TRUNCATE 2
/* The batch loop's own verdicts (shield_glue.c), beside admission's: */
#define SB_ADMIT_FORMERR 3   /* a malformed COOKIE option (RFC 7873 §5.2.2) */
#define SB_ADMIT_BADCOOKIE 4 /* under attack or overload, a cookie client without a valid one */
/* TC=1 answers a second, at most, to sources not seen on TCP (admission.ts). */
#define SB_NO_TCP_TRUNCATIONS_PER_SECOND 100
/* Distinct hosts of a /24 shedding missing names in one second before they count toward a block. */
#define SB_PREFILTER_NX_HOSTS 16
/* The same while the worker is behind (now, or overload level >= 1), with the hosts of the /24's
 * last second kept (onset): a bot /24 read at ~1,000 datagrams a second in bursts of 16 from one
 * host showed 16 hosts only ~250 ms in (the drill's wave 1: blocks 390-650 ms after falling
 * behind); 8 is still more than the "one or a few" addresses of a resolver's /24. */
#define SB_PREFILTER_NX_HOSTS_BEHIND 8
/* The same with onset2's rules: the hosts a /24's strangers asked for existing names with in
 * calm times count too (the host map is filled from the flood's first datagram, before the worker
 * falls behind), and 4 hosts are enough while behind. The drill's wave 1 (a worker at a quarter of
 * a loaded core reading 15,000-30,000 datagrams a second at the onset, the bots' /24s ~25-70 of
 * them per 100 ms in bursts of 16 from one host) saw 8 hosts only 200-400 ms after falling behind,
 * with every legitimate datagram in between at the FIFO queue's odds. 4 is still twice the "one or
 * two" addresses of a resolver's /24; a /24 with a source of good standing is never blocked. */
#define SB_PREFILTER_NX_HOSTS_ONSET 4
/* renew20: distinct hosts a blocked /24's sample must show for the block to be renewed at its end
 * (docs/SHIELD.md "Renewed from evidence"): onset2's 4, twice a resolver's "one or two"
 * addresses. At the drill's rates a bot /24 gives a worker dozens of sampled datagrams in the
 * window, each from one of its 250 hosts. */
#define SB_RENEW_HOSTS 4
/* onset2: while the worker is behind, the blocked set is rebuilt at most this often (ms). */
#define SB_PREFILTER_BEHIND_MS 10
/* A /24 that crosses the threshold within a second is blocked then, not at the second's end:
 * the blocked set is rebuilt at most this often (ms) between the once-a-second sweeps. */
#define SB_PREFILTER_EARLY_MS 50
/* The worker is behind *now* (shield8): a run of SB_MAX_BATCHES full batches was read within
 * this many ms — the socket queue is full or filling, whatever the smoothed overload level says
 * yet (its 0.5 s smoothing reaches level 1 some 350 ms into a flood). Strangers' direct floods
 * count toward a /24's block from then on, and rate-limited answers toward it at the prorated
 * threshold (docs/SHIELD.md "Wave 1"). */
#define SB_BEHIND_NOW_MS 100
/* The onset trace: 20 slices of 100 ms from falling behind after 2 s of keeping up. Fields: read
 * per tier (0-3), not answered per tier (4-7), /24s blocked (8), overload level (9), zones in the
 * QNAME filter (10), datagrams read while the worker was behind now (11). */
#define SB_ONSET_SLICES 20
#define SB_ONSET_SLICE_MS 100
#define SB_ONSET_CALM_MS 2000
#define SB_ONSET_FIELDS 12
/* onset3: the /24 blocks whose evidence the trace keeps (a wave's bot /24s: 32 in the drill). */
#define SB_ONSET_BLOCKS 64
/* onset3's share rule, while the worker is behind: a /24 whose strangers' datagrams read lately
 * are at least 1/SB_SHARE_DIV of all strangers' (of at least SB_SHARE_MIN_TOTAL), at least
 * SB_SHARE_MIN of them, from at least SB_SHARE_HOSTS distinct hosts, SB_SHARE_BEHIND of them read
 * while behind (the /24 still sending when the worker fell behind). */
/* 1/64 first: in drill B4 the last bot /24s sat at 1.2-1.8% of a whole that kept the blocked /24s'
 * earlier counts and the never-blocked `nat` /24s' strangers (40 /24s, ~2.5% each when even). */
#define SB_SHARE_DIV 128
#define SB_SHARE_MIN 32
#define SB_SHARE_MIN_TOTAL 256
#define SB_SHARE_HOSTS 3
#define SB_SHARE_BEHIND 16
typedef struct sb_admission {
  unsigned slip, budget_slip;
  double shed_budget[4], shed_overload[4];
  double tc_tokens, tc_at;
} sb_admission;
int sb_admission_decide(sb_admission *a, int tier, int in_zone, int exists, int zone_attacked, int within_budget,
                        int overload, int used_tcp, double now_ms);

typedef struct sb_overload {
  double behind, tau, hold, share, at, level_at, saturated_since;
  int level;
} sb_overload;
void sb_overload_init(sb_overload *o, double behind_share, double smoothing_seconds, double hold_seconds);
void sb_overload_read(sb_overload *o, unsigned got, unsigned capacity, double now_ms);

/* ---- the shield of one JS thread's batch loop (shield_glue.c; hooks.h, udp.c) ---- */
#define SB_SHIELD_OFF 0
#define SB_SHIELD_ON 1
#define SB_SHIELD_DRY_RUN 2
#define SB_SHIELD_MAX_ALLOW 256

/* Settings, as shieldConfigure hands them (docs/SHIELD.md). */
typedef struct sb_shield_config {
  int mode;
  uint8_t secrets[3][16];
  unsigned nsecrets;
  uint8_t allow_len[SB_SHIELD_MAX_ALLOW]; /* 4 or 16 */
  uint8_t allow_bits[SB_SHIELD_MAX_ALLOW];
  uint8_t allow[SB_SHIELD_MAX_ALLOW][16];
  unsigned nallow;
  int rrl_on;
  double rrl_rates[5], rrl_all;
  unsigned rrl_window, rrl_slip, rrl_v4, rrl_v6, rrl_table;
  double zone_min_nx, zone_factor, zone_share, zone_hold, zone_floor;
  uint32_t zone_table;
  uint32_t source_table, history_min;
  double history_share, tcp_seconds, cookie_seconds;
  double overload_behind, overload_smoothing, overload_hold;
  /* The kernel prefilter: an IPv4 /24 shed (overload, unknown sources) or rate limited this many
   * times in a second is blocked in the kernel for block_seconds (doubled on each repeat, up to
   * 16×); 0 turns it off. Never a /24 where a source of good standing was seen in 10 minutes,
   * nor one touching the allow-list. */
  double prefilter_threshold, prefilter_seconds;
  /* Per-zone settings (--shield-zone), sorted by key; configure copies them. */
  const sb_zone_setting *zone_settings;
  unsigned nzone_settings;
} sb_shield_config;

typedef struct sb_shield {
  sb_shield_config cfg; /* cfg.zone_settings points at zone_settings below */
  /* Why the source table is private although SWITCHBOARD_STANDING_FILE names a shared one (a
   * static string), or NULL. */
  const char *standing_error;
  sb_zone_setting *zone_settings; /* owned, sorted; RRL rates resolved against the server's */
  sb_sources sources;
  sb_zones zones;
  sb_admission adm;
  sb_overload overload;
  sb_rrl rrl;
  double last_sweep;
  /* A /24 crossed the threshold within the current second (a block to make before the sweep),
   * and when the blocked set was last rebuilt between sweeps (at most every SB_PREFILTER_EARLY_MS). */
  int block_pending;
  double last_early;
  /* the prefilter's state: per IPv4 /24 */
  sb_table blocks;
  uint32_t *blk_key, *blk_sheds, *blk_nx_sheds;
  /* Rate-limited positive answers and referrals this second (a /24 over its RRL rate): they block
   * at the whole threshold, or at the prorated one while the worker is behind (shield8). */
  uint32_t *blk_rrl;
  uint8_t *blk_strikes;
  uint8_t *blk_hosts; /* 32 octets a /24: which hosts shed missing names this second */
  double *blk_good_until, *blk_until, *blk_seen;
  /* When the /24's counts of this second began (ms; 0: none yet): its rate is judged over its own
   * time since then, not over the second's, so a flood that starts late in a second is blocked as
   * soon as one that starts at the sweep (onset). */
  double *blk_since;
  /* Whether the /24's host map holds the hosts of the second before too (kept at one sweep, cleared
   * at the next). */
  uint8_t *blk_carry;
  /* SWITCHBOARD_ONSET=off at configure (A/B runs): shield8's rules — the rate over the second's
   * time, 16 hosts whatever the level, the host map cleared at every sweep. */
  int onset_off;
  /* SWITCHBOARD_ONSET2=off at configure (A/B runs): onset's rules (8 hosts while behind, hosts
   * counted only while behind or shed, the set rebuilt at most every 50 ms). */
  int onset2_off;
  /* onset3: a /24's datagrams from sources without good standing read lately (calm or behind) and
   * those read while the worker was behind (now, or level >= 1), both halved at each sweep, and when
   * the first of them was read (ms; 0: none). The share rule judges a /24, while the worker is
   * behind, by its part of all such datagrams read lately — not by an absolute rate of what a
   * falling-behind worker happened to read — once it has been read while behind too.
   * SWITCHBOARD_ONSET3=off (A/B runs): onset2's rules. */
  uint32_t *blk_recent, *blk_behind;
  double *blk_first;
  int onset3_off;
  /* onset19: before a /24 is blocked, the source table (shared by the workers) is asked whether a
   * source of it has good standing; if so the block is not made (blocks_spared).
   * SWITCHBOARD_SHARED_GOOD=off (A/B runs): only this worker's own marks. */
  int shared_good_off;
  /* expiry19: the UDP program passes 1 in SB_PREFILTER_SAMPLE_DIV of a blocked /24's datagrams;
   * the worker counts them (blk_sampled, since blk_sampled_since: the last seconds before the
   * block's expiry) and drops them, and at expiry renews a block whose sample still shows the
   * /24 over the threshold; block lengths are also drawn up to an eighth longer, so blocks
   * made together do not all lapse in one second. SWITCHBOARD_PREFILTER_RENEW=off (A/B runs):
   * no sample, no jitter, every block released blind at expiry, as before. */
  uint32_t *blk_sampled;
  double *blk_sampled_since;
  /* renew20: the distinct hosts (last octets) of the sampled datagrams in the same window, up to
   * SB_RENEW_HOSTS of them (blk_sampled_nhosts). A block is renewed only when the sample shows that
   * many: a /24 whose bots stopped while two or three resolvers of it ask on over the threshold (no
   * standing: none earned while blocked) was renewed for as long as they asked, where a block made
   * anew needs the same spread of hosts (SB_PREFILTER_NX_HOSTS_ONSET, and more in calm). */
  uint8_t *blk_sampled_hosts;
  uint8_t *blk_sampled_nhosts;
  /* The block was kept SB_RENEW_GRACE_MS past its end (its sample under the threshold but not
   * empty), to be judged on that time's sample alone; cleared when a block is made or renewed. */
  uint8_t *blk_grace;
  int renew_off;
  uint32_t blocked[512];
  unsigned nblocked, blocked_version;
  /* ipv626: the IPv6 /56 blocks (block6.h), rebuilt with the /24s (the same version). */
  sb_block6 block6;
  double blocks_made, would_block, blocks_spared;
  /* expiry19: blocks renewed at expiry from their sample, and the sampled datagrams read. */
  double blocks_renewed, sampled, blocks_graced;
  uint32_t wall; /* seconds since the epoch at the batch (cookie timestamps) */
  /* counters since configured */
  double seen, answered, dropped, truncated, allowed, cookies[5], rrl_dropped, rrl_slipped, would_drop,
      would_truncate, formerr, badcookie, would_badcookie;
  /* The prefilter's QNAME filter (docs/SHIELD.md): zones whose missing names the kernel drops
   * while they are attacked, all names of each in the program, a share of the others admitted. */
  struct sb_qf_state {
    uint32_t key;
    const void *image;       /* the image the names came from (refreshed when it changes) */
    uint32_t *hashes;        /* owned */
    double missing;          /* missing names of the zone read since `since` (what the kernel let through) */
    double since;            /* when the estimate's window started (ms): re-estimated every SB_QF_ESTIMATE_MS */
    double peak;             /* the highest estimate of the second (what the hold judges) */
    double quiet;            /* seconds in a row whose estimated flood was under the zone's floor */
    double estimate;         /* the last window's estimated flood (missing names a second, before the kernel) */
    double sized;            /* the flood the share is sized for: the estimate, or an earlier one decayed */
    double refresh;          /* sweeps since the set was last read */
  } qf[SB_QF_MAX_ZONES];
  sb_qf_zone qf_zones[SB_QF_MAX_ZONES]; /* what the program is built from (hashes point into qf[]) */
  unsigned nqf;
  uint32_t qf_candidate;     /* an attacked zone to filter, at the next clock */
  /* The missing names of an attacked zone not (yet) in the filter, counted since `since` (ms):
   * its flood over the last window between candidate tries, which a burst shows at once where
   * the second's count so far does not. */
  uint32_t qf_cand_zone;
  double qf_cand_missing, qf_cand_since;
  double qf_next_try;        /* no candidate taken before (a zone that does not qualify: every 10 s) */
  uint32_t qf_refused[8];    /* zones that did not qualify, and until when (ms) */
  double qf_refused_until[8];
  double qf_made, qf_ended, qf_would_drop, qf_refusals;
  int qf_off; /* SWITCHBOARD_QNAME_FILTER=off at configure: no zone enters the filter */
  /* SWITCHBOARD_QF_FAST=off at configure (A/B runs): the share re-sized once a second and the
   * first share from the first estimate alone (shield6's policy). */
  int qf_slow;
  /* SWITCHBOARD_QF_HOLD=off at configure (A/B runs): the share follows the estimate down at once. */
  int qf_hold_off;
  /* SWITCHBOARD_DIRECT_BLOCKS=off (A/B runs): strangers' existing names answered while the worker
   * is behind do not count toward a /24's block (only shed ones do, at overload level 2). */
  int direct_off;
  /* SWITCHBOARD_BEHIND_NOW=off (A/B runs): the direct count and the prorated RRL count wait for
   * overload level 1 as before shield8. When (ms) a run of reads last came back full (behind). */
  int behind_now_off;
  double behind_at;
  /* When (ms) the current run of full reads began (the worker behind since), and when the blocked
   * set last grew from empty (a wave's first block): for the log's timeline. */
  double behind_since, blocked_first_at;
  /* Missing names asked in calm times (not attacked), per zone: the ones asked again (typos,
   * stale links) join the filter's set when their zone enters it, and are answered outside the
   * attacked zone's budget; a random subdomain is never asked twice. */
  sb_table known;
  uint32_t *known_zone, *known_hash;
  uint16_t *known_count;
  double *known_seen;
  double known_now;
  double qf_known_added; /* known missing names in the last set read */
  /* When (monotonic ms, 0: never) a zone was last called attacked, last entered the QNAME
   * filter, and the blocked /24s last grew: for the worker's log lines (a wave's timeline). */
  double attacked_at, qf_made_at, blocked_at;
  /* TCP connections closed on arrival under overload (nothing vouched for the source), and the
   * same in dry run (counted, accepted). */
  double tcp_refused, would_refuse_tcp;
  /* The onset trace (accounting only): the first SB_ONSET_SLICES × 100 ms after the worker falls
   * behind from calm (no full run of reads in the SB_ONSET_CALM_MS before), what admission decided
   * per slice — datagrams read and not answered (dropped, TC=1, BADCOOKIE, FORMERR) per tier
   * (unknown, history, tcp, cookie) — and the state at the slice's last datagram: /24s blocked,
   * overload level, zones in the QNAME filter; and how many were read while behind now. Reported
   * once by shieldStats when complete. */
  double onset_start;     /* monotonic ms; 0: none */
  int onset_reported;
  uint32_t onset[SB_ONSET_SLICES][SB_ONSET_FIELDS];
  /* onset3: the evidence of each /24 blocked while the trace runs (the first SB_ONSET_BLOCKS):
   * its prefix, when (ms after the trace's start), the rule that blocked it, its distinct hosts,
   * its strangers' datagrams read lately and all strangers' (the share), those read while behind, this second's
   * counts (existing names shed, missing or answered-while-behind, rate limited), and when its
   * first datagram read while behind was (ms after the trace's start; negative: before). */
  struct sb_onset_block {
    uint32_t p24;
    float at, first;
    uint32_t hosts, recent, total, behind, nx, sheds, rrl;
    uint8_t rule; /* 's' sheds, 'r' rate limited, 'n' missing/answered from many hosts, 'S' share */
  } onset_blocks[SB_ONSET_BLOCKS];
  unsigned nonset_blocks;
  /* bridge21 (docs/SHIELD.md "The bridge"): from the moment the worker falls behind after calm
   * with no /24 blocked, its UDP program passes only sources of standing (the /24s this worker
   * marked good, the allow-list's ranges) and 1 in bridge_div of everyone else, until the blocks
   * are made from that sample (SB_BRIDGE_QUIET_MS without a new one, after SB_BRIDGE_MIN_MS) or
   * SB_BRIDGE_MAX_MS. While it holds, the worker counts as behind for the /24 rules and each
   * stranger's datagram weighs bridge_div in the share rule's counts (what it stands for).
   * SWITCHBOARD_BRIDGE=off (A/B runs); SWITCHBOARD_BRIDGE_SHARE=N: 1 in N (default 16).
   * own22 (the strangers' price): a /24 that earns standing while the bridge holds joins it
   * (SWITCHBOARD_BRIDGE_JOIN=off: not), and the share doubles every SB_BRIDGE_RISE_MS without a new
   * block (bridge_div_now; SWITCHBOARD_BRIDGE_RISE=off: not). */
  int bridge_off, bridge_on, bridge_join_off, bridge_rise_off;
  /* hist23 (note_unrest): since when (ms; 0: not) the worker's overload level has been >= 1 in a
   * row, as the clock saw it. */
  double pressed_since;
  uint32_t bridge_div, bridge_div_now;
  double bridge_start, bridge_lifted, bridge_ready, bridge_last_block;
  uint32_t bridge_good[SB_BRIDGE_MAX_GOOD];
  uint32_t bridge_ranges[SB_BRIDGE_MAX_RANGES][2];
  sb_bridge bridge;
  /* Bridges made, their total ms, the ones not made (too many /24s of standing, none at all, or
   * a program that did not fit), and the last one's start (ms), length, /24s of standing, why it
   * was lifted (1 its blocks made, 2 at its longest, 3 quiet with no block made) and the blocks made in it. */
  double bridges, bridge_ms, bridges_refused, bridge_last_at, bridge_last_ms, bridge_last_good, bridge_last_why,
      bridge_last_blocks, bridge_blocks_at_start;
  /* own22: /24s that joined the bridge (standing earned while it held), since start and in the last one. */
  double bridge_joined, bridge_last_joined, bridge_joined_at_start;
  /* thin26 (docs/SHIELD.md "The long bridge"): the bridge's window of reads (since bw_start, ms):
   * datagrams read and the strangers' datagrams its share kept out (each stranger read stands for
   * bridge_div_now sent: div - 1 kept out); when a window last kept out a flood (hi: at least
   * twice what the worker read, lo: at least as much, each over a floor); whether the bridge held
   * past its usual lift for that (bridge_long), how many did, and the most a window of the last
   * one kept out (a second's rate). SWITCHBOARD_BRIDGE_LONG=off: never long (A/B runs). */
  int bridge_long_off, bridge_long;
  double bw_start, bw_whole, bw_offered, bridge_hi_at, bridge_lo_at;
  double bridges_long, bridge_last_long, bridge_kept_max, bridge_last_kept;
  /* thin26: the long bridge's share sized from the queue (SWITCHBOARD_BRIDGE_SIZE=off: kept at
   * bridge_div): when it last changed, whether that was a fall, the changes in the last bridge, and
   * the widest share (smallest div) it reached. */
  int bridge_size_off, bridge_size_fell;
  double bridge_size_at, bridge_sized, bridge_last_sized, bridge_div_min, bridge_last_div_min;
} sb_shield;

/* The TCP gate of the calling thread's shield: whether to serve a TCP connection just accepted
 * from `addr` (4 octets, or 16 for IPv6; IPv4-mapped addresses given as 4). Under overload
 * (level >= 1), with the shield on, a source that is not allow-listed and that nothing vouches
 * for (sb_sources_vouched) is refused: 0. A resolver comes to TCP after a TC=1 of ours; a
 * connection flood from bot addresses does not, and costs a worker at its quota its accept,
 * read and answer before its /24 is blocked (or always, where the /24 is shared with resolvers
 * of good standing). 1 otherwise, and always without a shield on this thread. */
int sb_shield_tcp_admit(const uint8_t *addr, size_t addr_len, double now_ms);
/* The batch accept's question (udp.c, tcp_gate.h; added by tcpc): 1 when `addr` is a stranger under
 * pressure — as sb_shield_tcp_admit refusing it, with pressure also while the worker is behind
 * now (a full run of reads within SB_BEHIND_NOW_MS), before the smoothed level reaches 1. */
int sb_shield_tcp_stranger(const uint8_t *addr, size_t addr_len, double now_ms);

/* Whether `addr` (`len` 4 or 16 octets) is in `sh`'s allow-list (a prefix match; prefix lengths
 * beyond the address are never matched). */
int sb_shield_allow_listed(const sb_shield *sh, const uint8_t *addr, size_t len);

/* The prefilter version a socket of this thread should carry (0: none), and its prefixes. */
unsigned sb_shield_prefilter(const uint32_t **prefixes, unsigned *n);
/* ipv626: the IPv6 /56s blocked now (sorted, block6.h keys) of the same version. */
void sb_shield_prefilter6(const uint64_t **keys, unsigned *n);
/* The sample share the UDP program gives blocked /24s (sb_prefilter_build_sampled; 0: none). */
uint32_t sb_shield_prefilter_sample(void);
/* bridge21: the bridge of the same version, NULL when none holds (docs/SHIELD.md "The bridge"). */
const sb_bridge *sb_shield_prefilter_bridge(void);
/* The bridge's bounds (ms): it holds at least MIN, is lifted QUIET after the last block made in
 * it, at most MAX after it began; none again within REST of the last one's lift. QUIET was 300 in
 * the first drill pairs: an attack whose senders ramp up over ~800 ms (drill B2: 25,000 a second
 * at the wave's start, 558,000 at +800 ms) found the bridge lifted at +650 ms with 18-22 of its
 * 32 /24s blocked, and its first full second lost 35 first tries at +900 ms. */
#define SB_BRIDGE_MIN_MS 300
#define SB_BRIDGE_QUIET_MS 700
#define SB_BRIDGE_MAX_MS 2000
#define SB_BRIDGE_REST_MS 10000
/* own22: while the bridge holds, the strangers' share doubles for every this many ms without a new
 * block (1 in 16, 8, 4, then 2 from 525 ms of quiet until the lift at SB_BRIDGE_QUIET_MS): once the
 * bots' /24s are blocked the strangers left are mostly resolvers first seen in the attack, each of
 * whose datagrams the share dropped 15 times in 16 (the drill's `lone` class: 119 of 157 first tries
 * late or lost in wave 1's first second). A new block sets it back to bridge_div. */
#define SB_BRIDGE_RISE_MS 175
/* Not within this long of the shield's first datagram: the /24s of standing are the ones this
 * worker read sources of standing from, and at its start it has read none (every resolver would be
 * a stranger). The drill's wave 1 comes ~12 s after the first datagram (settle and baseline). */
#define SB_BRIDGE_WARM_MS 5000
#define SB_BRIDGE_DIV 16
/* thin26: the long bridge (docs/SHIELD.md "The long bridge"). When the bridge would be lifted (no
 * block for SB_BRIDGE_QUIET_MS, or SB_BRIDGE_MAX_MS) but its last SB_BRIDGE_WIN_MS window's share
 * kept out at least twice what the worker read and at least SB_BRIDGE_LONG_FLOOR datagrams a
 * second (lifting it would at least triple the worker's load: a flood no /24 rule sees), it holds
 * on, the share back at bridge_div; it is lifted once no window kept out as much as the worker read
 * (and half the floor) for SB_BRIDGE_CALM_MS — the hysteresis; the next may come
 * SB_BRIDGE_LONG_REST_MS after such a lift (SB_BRIDGE_REST_MS after any other). */
#define SB_BRIDGE_WIN_MS 100
#define SB_BRIDGE_LONG_FLOOR 10000
#define SB_BRIDGE_CALM_MS 1000
#define SB_BRIDGE_LONG_REST_MS 2000
/* thin26: while a long bridge holds, the strangers' share is sized from the queue: doubled (div
 * halved, down to SB_BRIDGE_SIZE_MIN_DIV) after SB_BRIDGE_SIZE_MS with the worker never behind
 * (SB_BRIDGE_SIZE_FELL_MS after a fall), halved at once (at most every SB_BRIDGE_WIN_MS, up to
 * bridge_div) while it is behind. A stranger's retry then passes at the widest share the worker
 * keeps up with, not at 1 in 16. */
#define SB_BRIDGE_SIZE_MS 1000
#define SB_BRIDGE_SIZE_FELL_MS 8000
#define SB_BRIDGE_SIZE_MIN_DIV 4
/* The QNAME filter's zones of the same version (docs/SHIELD.md); 0 of them when none. */
unsigned sb_shield_prefilter_zones(const sb_qf_zone **zones);
/* The share of an attacked zone's flood the QNAME filter lets through: about this many missing
 * names a second (at least twice the zone's floor), so its budget, its typos and the detector
 * still see it. */
#define SB_QF_ADMIT_PER_SECOND 5000
/* A zone enters the QNAME filter when its estimated flood is at least this many missing names a
 * second (under it, user space sheds it cheaply enough); it leaves when its estimate stays under
 * the detector's floor for the detector's hold. */
#define SB_QF_MIN_FLOOD 10000
/* A zone's flood is re-estimated (and its share re-sized) every this many ms: a share set from a
 * wrong first estimate lets the worker be flooded for one window, not for a second. */
#define SB_QF_ESTIMATE_MS 100
/* A zone's first share assumes a flood of at least this many missing names a second: early in a
 * flood the rate read is a low estimate (the worker reads at most its capacity; a second's
 * first milliseconds say little), and too small a share costs only one window of typos. */
#define SB_QF_FIRST_FLOOD 50000
/* The flood a zone's share is sized for falls no faster than by half every this many ms: the calm
 * between two waves of one attack (the zone still in the filter) must not open the filter wide
 * for the next wave's first window (SWITCHBOARD_QF_HOLD=off: sized for the last estimate alone). */
#define SB_QF_SHARE_HALF_LIFE_MS 10000
/* Calm-time missing names remembered (entries), and the most of them a zone's set takes. */
#define SB_QF_KNOWN_TABLE 4096
#define SB_QF_KNOWN_PER_ZONE 256

/* The calling thread's shield, NULL when off. configure replaces it (NULL config: off). */
sb_shield *sb_shield_thread(void);
int sb_shield_configure(const sb_shield_config *cfg); /* 0, or -1: bad settings or no memory (old one kept) */
/* A new cookie secret set (RFC 9018 rollover) for the calling thread's shield, its tables kept:
 * `n` (1..3) secrets of 16 octets, the first makes cookies. 0, 1 when no shield is on, -1 bad n. */
int sb_shield_set_secrets(const uint8_t *secrets, unsigned n);
/* New per-zone settings (at most SB_SHIELD_MAX_ZONE_SETTINGS, keys unique; RRL rates < 0: the
 * server's), the tables kept: zones tracked now take their floors at once, and a zone rate
 * starts the RRL when the shield had none. 0 done, 1 no shield on this thread, -1 refused. */
int sb_shield_set_zone_settings(const sb_zone_setting *settings, unsigned n);

/* What admission decided for one datagram, kept until its answer is sent (for RRL). */
typedef struct sb_verdict {
  uint32_t zone_key;
  uint8_t in_zone, exists, allowed, addr_len, tier;
  uint8_t addr[16];
  int8_t cookie;   /* SB_COOKIE_* of the query */
  long cookie_at;  /* offset of its COOKIE option data, -1 when none */
} sb_verdict;

/* Admission of one pre-parsed datagram from `src` at `now_ms`: SB_ADMIT_ANSWER, _DROP or
 * _TRUNCATE (in dry run always _ANSWER, the would-be verdict counted). Fills *v. */
int sb_shield_admit(sb_shield *sh, const sb_preparse_ref *pp, const uint8_t *pkt, size_t len,
                    const void *src_sockaddr, double now_ms, sb_verdict *v);
/* Rate limiting of the answer `ans` (alen octets) to the query `pkt` whose admission gave *v:
 * SB_RRL_SEND, _DROP or _SLIP (send a TC=1 reply instead). */
int sb_shield_after(sb_shield *sh, const sb_preparse_ref *pp, const uint8_t *pkt, const sb_verdict *v,
                    const uint8_t *ans, size_t alen, double now_ms);
/* The clocks of a batch (monotonic ms; the wall clock for cookies) and the zones' per-second
 * sweep. */
void sb_shield_clock(sb_shield *sh, double now_ms);
/* One wake-up of the batch loop that read `got` full batches of its allowance of `capacity`:
 * the overload meter. */
void sb_shield_batch(sb_shield *sh, unsigned got, unsigned capacity, double now_ms);
/* onset3: the worker is behind now without a meter reading (SWITCHBOARD_BEHIND_SPAN=on, udp.c). */
void sb_shield_behind(sb_shield *sh, double now_ms);

/* p99w1: a wake-up whose oldest datagram waited this long (ms) in the socket queue (its kernel
 * receive timestamp) finds the worker behind now, whatever its reads add up to. */
#define SB_QDELAY_BEHIND_MS 20
/* The oldest datagram of a wake-up waited `wait_ms` (negative: no timestamp): at
 * SB_QDELAY_BEHIND_MS or more the worker is behind now (sb_shield_behind); returns whether. */
int sb_shield_queue_wait(sb_shield *sh, double wait_ms, double now_ms);
/* Adds our COOKIE option (the query's client cookie and a server cookie: the query's own when
 * valid and under half an hour old, else a new one) to the OPT of the reply `ans` (alen
 * octets, the OPT its last record), when the query carried a usable client cookie and the
 * result fits both `cap` and the client's UDP `limit`. Returns the reply's new length (alen
 * when nothing was added). */
size_t sb_shield_add_cookie(const sb_shield *sh, const sb_verdict *v, const uint8_t *pkt, uint8_t *ans, size_t alen,
                            size_t cap, size_t limit);
/* The client's UDP limit for a reply to this query: 512 without EDNS, else its payload size
 * (at least 512), at most our EDNS size. */
size_t sb_shield_udp_limit(const sb_preparse_ref *pp);
/* Writes RRL's slip for the response `ans` (at least its 12-octet header; `out` may be `ans`):
 * an empty TC=1 reply to the query (header, question, an OPT when it had one) with the
 * response's RCODE and AA. Its length, or 0 when it does not fit or the query has no usable
 * question. */
size_t sb_shield_write_slip(const sb_preparse_ref *pp, const uint8_t *pkt, size_t len, const uint8_t *ans, uint8_t *out,
                            size_t cap);
/* The same shape for the shield's other replies: `rcode` the full (extended) RCODE — FORMERR
 * (1) or BADCOOKIE (23: header 7, OPT extended-RCODE 1, so only with an OPT) — without TC.
 * The OPT has our UDP size and the query's DO bit (RFC 3225 §3). */
size_t sb_shield_write_reply(const sb_preparse_ref *pp, const uint8_t *pkt, size_t len, uint8_t *out, size_t cap,
                             int tc, unsigned rcode);

#endif
