/*
 * ipv626: the kernel prefilter's IPv6 /56 blocks (block6.h; docs/SHIELD.md "IPv6 /56s before the
 * socket queue"). The rules are those of the IPv4 /24s in shield_glue.c — a count of a second
 * against the threshold (prorated to the /56's time so far before the sweep), missing names from
 * several hosts (here /64s), a block of prefilter_seconds doubled per strike plus up to an eighth,
 * renewed at expiry from the program's sample — without the onset share rule (onset3) and the
 * bridge's standing, which stay IPv4-only.
 */
#include "block6.h"

#include <stdlib.h>
#include <string.h>

#include "prefilter.h"

_Static_assert(SB_BLOCK6_MAX == SB_BLOCK6_MAX_PROG, "the blocked set fits the program");

uint64_t sb_block6_key(const uint8_t *addr) {
  uint64_t k = 0;
  for (int i = 0; i < 7; i++) k = (k << 8) | addr[i];
  return k << 8;
}

void sb_block6_init(sb_block6 *t) { memset(t, 0, sizeof(*t)); }

static unsigned home(uint64_t key) { return (unsigned)((key * 0x9e3779b97f4a7c15ull) >> 56) & (SB_BLK6_SLOTS - 1); }

static int find(const sb_block6 *t, uint64_t key) {
  unsigned h = home(key);
  for (unsigned i = 0; i < SB_BLK6_PROBES; i++) {
    const sb_blk6 *s = &t->slot[(h + i) & (SB_BLK6_SLOTS - 1)];
    if (s->used && s->key == key) return (int)((h + i) & (SB_BLK6_SLOTS - 1));
  }
  return -1;
}

/* The /56's slot, claimed when new: an empty probe, else the quietest one neither blocked nor good
 * (-1 when every probe is). */
static int claim(sb_block6 *t, uint64_t key, double now_ms) {
  int at = find(t, key);
  if (at >= 0) {
    t->slot[at].seen = now_ms;
    return at;
  }
  unsigned h = home(key);
  int best = -1;
  double rank = 0;
  for (unsigned i = 0; i < SB_BLK6_PROBES; i++) {
    unsigned j = (h + i) & (SB_BLK6_SLOTS - 1);
    const sb_blk6 *s = &t->slot[j];
    if (!s->used) {
      best = (int)j;
      break;
    }
    if (s->until > 0 || s->good_until > now_ms) continue;
    if (best < 0 || s->seen < rank) {
      best = (int)j;
      rank = s->seen;
    }
  }
  if (best < 0) {
    t->no_slot++;
    return -1;
  }
  sb_blk6 *s = &t->slot[best];
  if (!s->used) t->nused++;
  memset(s, 0, sizeof(*s));
  s->used = 1;
  s->key = key;
  s->seen = now_ms;
  return best;
}

static unsigned hosts(const sb_blk6 *s) {
  unsigned n = 0;
  for (unsigned i = 0; i < 32; i++) n += (unsigned)__builtin_popcount(s->hosts[i]);
  return n;
}

static double prorated(const sb_block6 *t, const sb_blk6 *s, double threshold, int prorate, double now_ms) {
  if (!prorate) return threshold;
  double from = t->last_sweep;
  if (s->since > from) from = s->since;
  double f = (now_ms - from) / 1000;
  if (f < 0.1) f = 0.1;
  if (f > 1) f = 1;
  return threshold * f;
}

int sb_block6_count(sb_block6 *t, const uint8_t *addr, int kind, const sb_block6_rules *r, double now_ms) {
  if (r->threshold <= 0) return 0;
  int at = claim(t, sb_block6_key(addr), now_ms);
  if (at < 0) return 0;
  sb_blk6 *s = &t->slot[at];
  if (s->since <= 0) s->since = now_ms;
  if (kind == SB_B6_SHED) {
    if (s->sheds < UINT32_MAX) s->sheds++;
    return s->sheds >= prorated(t, s, r->threshold, r->prorate, now_ms);
  }
  if (kind == SB_B6_RRL) {
    if (s->rrl < UINT32_MAX) s->rrl++;
    return s->rrl >= prorated(t, s, r->rrl_threshold, r->prorate_rrl, now_ms);
  }
  if (s->nx < UINT32_MAX) s->nx++;
  s->hosts[addr[7] >> 3] |= (uint8_t)(1u << (addr[7] & 7));
  return (s->nx & 7) == 0 && s->nx >= prorated(t, s, r->threshold, r->prorate, now_ms) && hosts(s) >= r->hosts_needed;
}

void sb_block6_good(sb_block6 *t, const uint8_t *addr, double now_ms) {
  int at = claim(t, sb_block6_key(addr), now_ms);
  if (at >= 0) t->slot[at].good_until = now_ms + SB_BLK6_GOOD_MS;
}

static int has(const sb_block6 *t, uint64_t key) {
  unsigned lo = 0, hi = t->nblocked;
  while (lo < hi) {
    unsigned mid = lo + (hi - lo) / 2;
    if (t->blocked[mid] == key) return 1;
    if (t->blocked[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return 0;
}

int sb_block6_blocked(const sb_block6 *t, const uint8_t *addr) {
  return t->nblocked > 0 && has(t, sb_block6_key(addr));
}

void sb_block6_sampled(sb_block6 *t, const uint8_t *addr) {
  t->sampled++;
  int at = find(t, sb_block6_key(addr));
  if (at >= 0 && t->slot[at].sampled < UINT32_MAX) t->slot[at].sampled++;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* As shield_glue.c's SB_RENEW_WINDOW_MS and SB_RENEW_GRACE_MS. */
#define B6_RENEW_WINDOW_MS 4000.0
#define B6_GRACE_MS 2000.0

static void sample_restart(sb_blk6 *s, double now_ms) {
  s->sampled = 0;
  s->sampled_since = now_ms;
}

static double block_length(const sb_block6 *t, const sb_blk6 *s, const sb_block6_rules *r) {
  unsigned strikes = s->strikes < 4 ? s->strikes : 4;
  double ms = r->seconds * 1000 * (double)(1u << strikes);
  if (!r->renew) return ms;
  uint64_t h = (s->key ^ (uint64_t)(t->made + t->renewed) * 0x9e3779b97f4a7c15ull) * 0xff51afd7ed558ccdull;
  return ms + ms / 8 * (double)((h >> 40) & 0xffff) / 65536.0;
}

int sb_block6_scan(sb_block6 *t, const sb_block6_rules *r, double now_ms, int sweep) {
  if (r->threshold <= 0 || t->nused == 0) return 0;
  uint64_t next[SB_BLOCK6_MAX];
  unsigned n = 0, active = 0;
  for (unsigned i = 0; i < SB_BLK6_SLOTS; i++)
    if (t->slot[i].used && t->slot[i].until > now_ms) active++;
  for (unsigned i = 0; i < SB_BLK6_SLOTS; i++) {
    sb_blk6 *s = &t->slot[i];
    if (!s->used) continue;
    double th = prorated(t, s, r->threshold, r->prorate && !sweep, now_ms);
    double rrl_at = prorated(t, s, r->rrl_threshold, r->prorate_rrl && !sweep, now_ms);
    int rule = s->sheds >= th ? 's' : s->rrl >= rrl_at ? 'r' : s->nx >= th && hosts(s) >= r->hosts_needed ? 'n' : 0;
    /* At a block's end: renewed when its sample shows the /56 still over the threshold; kept 2 s
     * (once) when it shows some traffic under it; else released. */
    int expiring = s->until > 0 && s->until <= now_ms;
    if (!rule && expiring && r->renew && s->sampled > 0) {
      double ms = now_ms - s->sampled_since;
      if (ms < 1000) ms = 1000;
      if ((double)s->sampled * SB_PREFILTER_SAMPLE_DIV * 1000 / ms >= r->threshold) rule = 'e';
      else if (!s->grace) rule = 'g';
    }
    if (rule && now_ms >= s->good_until && !(r->allowed != NULL && r->allowed(r->ctx, s->key))) {
      if (r->dry_run) {
        if (sweep) t->would_block++;
      } else if (s->until <= now_ms && r->shared_good != NULL && r->shared_good(r->ctx, s->key, now_ms)) {
        s->good_until = now_ms + SB_BLK6_SHARED_GOOD_MS;
        t->spared++;
      } else if (rule == 'g') {
        s->until = now_ms + B6_GRACE_MS;
        s->grace = 1;
        sample_restart(s, now_ms);
      } else if (s->until <= now_ms) {
        if (!expiring && active >= SB_BLOCK6_MAX) {
          t->over_max++;
        } else {
          if (!expiring) active++;
          s->grace = 0;
          s->until = now_ms + block_length(t, s, r);
          if (s->strikes < 255) s->strikes++;
          sample_restart(s, now_ms);
          if (expiring) t->renewed++;
          else t->made++;
        }
      }
    }
    if (sweep) {
      s->sheds = s->rrl = s->nx = 0;
      s->since = 0;
      memset(s->hosts, 0, sizeof(s->hosts));
      if (s->until - now_ms > B6_RENEW_WINDOW_MS) sample_restart(s, now_ms);
    }
    if (s->until > now_ms && n < SB_BLOCK6_MAX) next[n++] = s->key;
    else if (s->until > 0 && s->until <= now_ms) s->until = 0;
  }
  if (sweep) t->last_sweep = now_ms;
  qsort(next, n, sizeof(uint64_t), cmp_u64);
  if (n == t->nblocked && memcmp(next, t->blocked, n * sizeof(uint64_t)) == 0) return 0;
  memcpy(t->blocked, next, n * sizeof(uint64_t));
  t->nblocked = n;
  return 1;
}
