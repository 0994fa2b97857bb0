/*
 * ipv626: the kernel prefilter's IPv6 blocks (docs/SHIELD.md "IPv6 /56s before the socket queue").
 * A block is a /56 (the and RRL's IPv6 client block: an ISP's smallest customer
 * delegation), its hosts counted per /64 (a bot rotating through the addresses of its /64 is one
 * host). A small fixed table of /56s with the counts the IPv4 /24s have (shield_glue.c) and the
 * same rules, bounds and expiry; the blocked set is sorted 64-bit keys the UDP program searches
 * (prefilter.c). Never blocked: a /56 touching an allow-listed prefix, or one with a source of
 * good standing (marked here, or found in the source table by the caller's `shared_good`).
 */
#ifndef SWITCHBOARD_BLOCK6_H
#define SWITCHBOARD_BLOCK6_H

#include <stddef.h>
#include <stdint.h>

/* /56s the table follows (a power of two): strangers' /56s seen in a flood; blocked and good ones
 * are kept, the quietest other one gives way. */
#define SB_BLK6_SLOTS 256
/* Probes for a /56's slot (open addressing). */
#define SB_BLK6_PROBES 8
/* Most /56s blocked at once (the UDP program's IPv6 part: a scan of at most this many). */
#define SB_BLOCK6_MAX 64

typedef struct sb_blk6 {
  uint64_t key; /* the /56: the address's first 7 octets, big-endian, in the top 56 bits */
  uint32_t sheds, rrl, nx, sampled;
  uint8_t hosts[32]; /* which /64s of the /56 (its 8th octet) counted this second */
  uint8_t used, strikes, grace;
  double since, seen, good_until, until, sampled_since;
} sb_blk6;

typedef struct sb_block6 {
  sb_blk6 slot[SB_BLK6_SLOTS];
  uint64_t blocked[SB_BLOCK6_MAX]; /* sorted ascending */
  unsigned nblocked;
  double made, renewed, spared, sampled, would_block, last_sweep;
  /* /56s over the threshold not blocked: SB_BLOCK6_MAX blocked already, or no slot to count in. */
  double over_max, no_slot;
  /* Slots ever taken (never given back: a slot is reused): 0 while no IPv6 source was counted, and
   * the scan then costs nothing (an IPv4-only server walks no IPv6 table). */
  unsigned nused;
} sb_block6;

/* What a /56's count is toward: a stranger's existing name shed ('s'), a rate-limited answer
 * ('r'), a missing name shed or an existing name read while behind ('n', with its /64). */
enum { SB_B6_SHED = 's', SB_B6_RRL = 'r', SB_B6_NX = 'n' };

/* The rules the scan applies (the shield's settings and its state now). */
typedef struct sb_block6_rules {
  double threshold;     /* counts a second (prefilter_threshold); <= 0: nothing is blocked */
  double rrl_threshold; /* the same for 'r' counts (the whole threshold while the worker keeps up) */
  int prorate;          /* before the sweep: the thresholds prorated to the /56's time this second */
  int prorate_rrl;
  unsigned hosts_needed; /* distinct /64s an 'n' count needs */
  double seconds;        /* a block's length, doubled per strike (up to 16x) */
  int dry_run;           /* count would_block, block nothing */
  int renew;             /* a sample passes: renewed at expiry when it shows the /56 over the threshold */
  /* A /56 not to block: allow-listed (touches an allow range); a source of good standing in the
   * shared source table (asked only when a block is about to be made). NULL: none. */
  int (*allowed)(void *ctx, uint64_t key);
  int (*shared_good)(void *ctx, uint64_t key, double now_ms);
  void *ctx;
} sb_block6_rules;

/* A /56 stays good this long after a source of good standing in it was read (as a /24). */
#define SB_BLK6_GOOD_MS 600000.0
#define SB_BLK6_SHARED_GOOD_MS 10000.0

/* The /56 of a 16-octet address. */
uint64_t sb_block6_key(const uint8_t *addr);
void sb_block6_init(sb_block6 *t);
/* One count of `kind` for the address's /56 (claims a slot; nothing when none can be had).
 * Returns 1 when the /56 now reaches the (prorated) threshold: the caller scans soon. */
int sb_block6_count(sb_block6 *t, const uint8_t *addr, int kind, const sb_block6_rules *r, double now_ms);
/* A source of good standing read: its /56 is not blocked for SB_BLK6_GOOD_MS. */
void sb_block6_good(sb_block6 *t, const uint8_t *addr, double now_ms);
/* Whether the address's /56 is blocked now (the sorted set). */
int sb_block6_blocked(const sb_block6 *t, const uint8_t *addr);
/* A datagram of a blocked /56 the program's sample passed: counted toward its renewal. */
void sb_block6_sampled(sb_block6 *t, const uint8_t *addr);
/* Blocks the /56s over the threshold and lets expired blocks go; `sweep` once a second (the counts
 * then start a new second). Returns 1 when the blocked set changed. */
int sb_block6_scan(sb_block6 *t, const sb_block6_rules *r, double now_ms, int sweep);

#endif
