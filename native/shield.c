/*
 * The shield's mechanisms in C: see shield.h. Each function mirrors the TypeScript module
 * named above it, operation for operation (the same doubles in the same order), so both
 * paths reach the same decisions; test/native/shield-c.test.ts checks that they do.
 */
#include "shield.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ================= bounded-table.ts ================= */

uint32_t sb_mix32(uint32_t h, uint32_t v) {
  uint32_t x = (h ^ v) * 0x9e3779b1u;
  return x ^ (x >> 15);
}

uint32_t sb_hash_prefix(const uint8_t *addr, size_t addr_len, unsigned bits) {
  unsigned whole = bits >> 3;
  uint32_t h = addr_len == 4 ? 0x3c6ef372u : 0xa54ff53au;
  if (whole > addr_len) whole = (unsigned)addr_len;
  for (unsigned i = 0; i < whole; i++) h = sb_mix32(h, addr[i]);
  unsigned rest = bits & 7;
  if (rest && whole < addr_len) h = sb_mix32(h, addr[whole] & ((0xffu << (8 - rest)) & 0xffu));
  return sb_mix32(h, bits);
}

int sb_table_init(sb_table *t, uint32_t size, uint32_t ways) {
  memset(t, 0, sizeof(*t));
  if (!(ways == 1 || ways == 2 || ways == 4 || ways == 8 || ways == 16)) return -1;
  if (size < 1 || size > (1u << 24)) return -1;
  uint32_t n = ways;
  while (n < size) n *= 2;
  t->keys = calloc(n, sizeof(uint32_t));
  if (t->keys == NULL) return -1;
  t->size = n;
  t->ways = ways;
  t->mask = (n - 1) & ~(ways - 1);
  return 0;
}

void sb_table_free(sb_table *t) {
  free(t->keys);
  t->keys = NULL;
}

int32_t sb_table_find(const sb_table *t, uint32_t key) {
  uint32_t tag = key | 1u;
  uint32_t base = (key * 0x85ebca6bu) & t->mask;
  /* Relaxed loads: the source table may be shared by the workers (standing.h); a plain load on
   * x86-64 and arm64 either way. */
  for (uint32_t i = 0; i < t->ways; i++)
    if (__atomic_load_n(&t->keys[base + i], __ATOMIC_RELAXED) == tag) return (int32_t)(base + i);
  return -1;
}

uint32_t sb_table_claim(sb_table *t, uint32_t key, sb_rank_fn rank, void *ctx) {
  uint32_t tag = key | 1u;
  uint32_t base = (key * 0x85ebca6bu) & t->mask;
  uint32_t victim = base;
  double lowest = INFINITY;
  for (uint32_t i = 0; i < t->ways; i++) {
    uint32_t s = base + i;
    uint32_t k = t->keys[s];
    if (k == tag) {
      t->claimed = 0;
      return s;
    }
    if (k == 0) {
      if (lowest != -INFINITY) {
        victim = s;
        lowest = -INFINITY;
      }
      continue;
    }
    double r = rank(ctx, s);
    if (r < lowest) {
      lowest = r;
      victim = s;
    }
  }
  if (lowest != -INFINITY) t->evictions++;
  t->keys[victim] = tag;
  t->claimed = 1;
  return victim;
}

/* ================= siphash.ts ================= */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND           \
  do {                     \
    v0 += v1;              \
    v1 = ROTL(v1, 13);     \
    v1 ^= v0;              \
    v0 = ROTL(v0, 32);     \
    v2 += v3;              \
    v3 = ROTL(v3, 16);     \
    v3 ^= v2;              \
    v0 += v3;              \
    v3 = ROTL(v3, 21);     \
    v3 ^= v0;              \
    v2 += v1;              \
    v1 = ROTL(v1, 17);     \
    v1 ^= v2;              \
    v2 = ROTL(v2, 32);     \
  } while (0)

static uint64_t le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

void sb_siphash24(const uint8_t key[16], const uint8_t *data, size_t len, uint8_t out[8]) {
  uint64_t k0 = le64(key), k1 = le64(key + 8);
  uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
  uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
  size_t whole = len & ~(size_t)7;
  for (size_t at = 0; at < whole; at += 8) {
    uint64_t m = le64(data + at);
    v3 ^= m;
    SIPROUND;
    SIPROUND;
    v0 ^= m;
  }
  uint64_t m = (uint64_t)(len & 0xff) << 56;
  for (size_t i = 0; whole + i < len; i++) m |= (uint64_t)data[whole + i] << (8 * i);
  v3 ^= m;
  SIPROUND;
  SIPROUND;
  v0 ^= m;
  v2 ^= 0xff;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  uint64_t h = v0 ^ v1 ^ v2 ^ v3;
  for (int i = 0; i < 8; i++) out[i] = (uint8_t)(h >> (8 * i));
}

/* ================= cookies.ts ================= */

#define COOKIE_MAX_AGE 3600
#define COOKIE_MAX_SKEW 300

static size_t cookie_input(uint8_t buf[40], const uint8_t client[8], const uint8_t stamp8[8], const uint8_t *addr,
                           size_t addr_len) {
  memcpy(buf, client, 8);
  memcpy(buf + 8, stamp8, 8);
  memcpy(buf + 16, addr, addr_len);
  return 16 + addr_len;
}

int sb_cookie_check(const uint8_t *q, size_t qlen, long at, size_t len, const uint8_t *addr, size_t addr_len,
                    uint32_t now, const uint8_t (*secrets)[16], unsigned nsecrets) {
  if (at < 0) return SB_COOKIE_NONE;
  if ((size_t)at > qlen || len > qlen - (size_t)at) return SB_COOKIE_MALFORMED;
  if (len == 8) return SB_COOKIE_CLIENT_ONLY;
  if (len < 16 || len > 40) return SB_COOKIE_MALFORMED;
  if (len != 24) return SB_COOKIE_INVALID;
  const uint8_t *server = q + at + 8;
  if (server[0] != 1 || server[1] != 0 || server[2] != 0 || server[3] != 0) return SB_COOKIE_INVALID;
  if (addr_len != 4 && addr_len != 16) return SB_COOKIE_INVALID;
  uint32_t stamp = ((uint32_t)server[4] << 24) | ((uint32_t)server[5] << 16) | ((uint32_t)server[6] << 8) | server[7];
  int32_t age = (int32_t)(now - stamp);
  if (age > COOKIE_MAX_AGE || age < -COOKIE_MAX_SKEW) return SB_COOKIE_INVALID;
  uint8_t buf[40], h[8];
  size_t n = cookie_input(buf, q + at, server, addr, addr_len);
  for (unsigned s = 0; s < nsecrets; s++) {
    sb_siphash24(secrets[s], buf, n, h);
    unsigned diff = 0;
    for (int i = 0; i < 8; i++) diff |= h[i] ^ server[8 + i];
    if (diff == 0) return SB_COOKIE_VALID;
  }
  return SB_COOKIE_INVALID;
}

void sb_cookie_write(uint8_t out[24], const uint8_t client[8], const uint8_t *addr, size_t addr_len, uint32_t now,
                     const uint8_t secret[16]) {
  uint8_t stamp8[8] = {1, 0, 0, 0, (uint8_t)(now >> 24), (uint8_t)(now >> 16), (uint8_t)(now >> 8), (uint8_t)now};
  uint8_t buf[40];
  size_t n = cookie_input(buf, client, stamp8, addr, addr_len == 16 ? 16 : 4);
  memcpy(out, buf, 16);
  sb_siphash24(secret, buf, n, out + 16);
}

/* ================= rrl.ts ================= */

static double rrl_rank(void *ctx, uint32_t slot) { return ((sb_rrl *)ctx)->stamp[slot]; }

int sb_rrl_init(sb_rrl *r, const double rates[5], double all, unsigned window, unsigned slip, unsigned v4_bits,
                unsigned v6_bits, uint32_t table_size, int dry_run) {
  memset(r, 0, sizeof(*r));
  if (window < 1 || window > 3600 || slip > 10 || v4_bits > 32 || v6_bits > 128) return -1;
  memcpy(r->rates, rates, sizeof(r->rates));
  r->all = all;
  r->window = window;
  r->slip = slip;
  r->v4_bits = v4_bits;
  r->v6_bits = v6_bits;
  r->dry_run = dry_run;
  if (sb_table_init(&r->table, table_size < 1024 ? 1024 : table_size, 4) != 0) return -1;
  uint32_t n = r->table.size;
  r->balance = calloc(n, sizeof(double));
  r->stamp = calloc(n, sizeof(double));
  r->limited = calloc(n, sizeof(uint32_t));
  if (!r->balance || !r->stamp || !r->limited) {
    sb_rrl_free(r);
    return -1;
  }
  return 0;
}

void sb_rrl_free(sb_rrl *r) {
  sb_table_free(&r->table);
  free(r->balance);
  free(r->stamp);
  free(r->limited);
  r->balance = r->stamp = NULL;
  r->limited = NULL;
}

uint32_t sb_rrl_block(const sb_rrl *r, const uint8_t *addr, size_t addr_len) {
  return sb_hash_prefix(addr, addr_len, addr_len == 4 ? r->v4_bits : r->v6_bits);
}

static uint32_t rrl_bucket(sb_rrl *r, uint32_t key, double rate, double now_ms) {
  uint32_t slot = sb_table_claim(&r->table, key, rrl_rank, r);
  if (r->table.claimed) {
    r->balance[slot] = rate;
    r->stamp[slot] = now_ms;
    r->limited[slot] = 0;
  } else {
    double elapsed = now_ms - r->stamp[slot];
    if (elapsed > 0) {
      double next = r->balance[slot] + (rate * elapsed) / 1000;
      /* Back to a full balance: a new run of limited responses (its first slips, as BIND's). */
      if (next >= rate) r->limited[slot] = 0;
      r->balance[slot] = fmin(rate, next);
      r->stamp[slot] = now_ms;
    }
  }
  return slot;
}

static int rrl_charge(sb_rrl *r, uint32_t b, double rate) {
  double floor_ = -rate * r->window;
  double next = r->balance[b] - 1;
  r->balance[b] = fmax(next, floor_);
  return next < 0;
}

/* ---- the buckets the workers share (shield.h sb_rrl_share) ---- */
/* A word: tag (18 bits) << 46 | slip count (4 bits) << 42 | theoretical arrival time (42 bits). */
#define SHARED_TAT_BITS 42
#define SHARED_TAT_MASK ((1ull << SHARED_TAT_BITS) - 1)
#define SHARED_COUNT_SHIFT 42
#define SHARED_TAG_SHIFT 46
#define SHARED_UNITS_PER_MS 1024.0
#define SHARED_SECOND 1024000ull /* one second in the word's units */
#define SHARED_ATTEMPTS 4

void sb_rrl_share(sb_rrl *r, uint64_t *words, uint32_t nwords) {
  if (words == NULL || nwords < SB_RRL_SHARED_WAYS || (nwords & (nwords - 1)) != 0) {
    r->shared = NULL;
    r->shared_mask = 0;
    return;
  }
  r->shared = words;
  r->shared_mask = (nwords - 1) & ~(SB_RRL_SHARED_WAYS - 1u);
}

/* How late another worker's clock may be read (a batch's time taken before another worker's
 * charge): up to this far past the cap, a bucket is at its floor (clamped to the cap). */
#define SHARED_SKEW (60 * SHARED_SECOND)

/* How far (units) a word's arrival time is ahead of now: 0 when the bucket is full (tat <= now);
 * the cap (1 + window seconds) when it is ahead of that by up to SHARED_SKEW (this worker's now
 * older than the charge that put it at its floor); 0 beyond that — a word untouched for about
 * the clock's wrap (49.7 days), full long ago. */
static uint64_t shared_ahead(uint64_t w, uint64_t now_u, uint64_t cap_u) {
  uint64_t d = (w - now_u) & SHARED_TAT_MASK;
  /* d < 2^41: ahead; else behind (the arrival time is past). */
  if (d == 0 || d >= (1ull << (SHARED_TAT_BITS - 1)) || d > cap_u + SHARED_SKEW) return 0;
  return d > cap_u ? cap_u : d;
}

/* Charges one response to key's shared bucket at `rate` (rrl_bucket + rrl_charge as one
 * compare-and-swap); 1 when over the rate. With `counted`, a limited response advances its run's
 * slip count (mod slip) and *phase gets the count before: 0 means the response slips. */
static int shared_charge(sb_rrl *r, uint32_t key, double rate, double now_ms, int counted, unsigned *phase) {
  uint64_t now_u = (uint64_t)(now_ms * SHARED_UNITS_PER_MS);
  uint64_t cap_u = (uint64_t)(1 + r->window) * SHARED_SECOND;
  /* A response moves the arrival time on by 1/rate (rounded down: k responses at one instant
   * never count more than k/rate), the floor −rate × window caps it at 1 + window seconds ahead. */
  double iv = (double)SHARED_SECOND / rate;
  uint64_t interval = iv >= (double)cap_u ? cap_u : iv < 1 ? 1 : (uint64_t)iv;
  uint64_t *set = r->shared + ((uint32_t)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> 32) & r->shared_mask);
  uint64_t tag = (uint64_t)(sb_mix32(key, 0x7a6u) & 0x3ffffu) | 1u;
  int limited = 0;
  unsigned count = 0;
  for (int attempt = 0; attempt < SHARED_ATTEMPTS; attempt++) {
    uint64_t *mine = NULL, old = 0, *victim = set, victim_old = 0, victim_ahead = UINT64_MAX;
    for (unsigned i = 0; i < SB_RRL_SHARED_WAYS; i++) {
      uint64_t w = __atomic_load_n(&set[i], __ATOMIC_RELAXED);
      if (w != 0 && (w >> SHARED_TAG_SHIFT) == tag) {
        mine = &set[i];
        old = w;
        break;
      }
      /* Room for a new key: a free word, else a full bucket (the same as none), else the
       * bucket nearest full. */
      uint64_t a = w == 0 ? 0 : shared_ahead(w, now_u, cap_u) + 1;
      if (a < victim_ahead) {
        victim = &set[i];
        victim_old = w;
        victim_ahead = a;
      }
    }
    uint64_t ahead = 0;
    count = 0;
    if (mine != NULL) {
      ahead = shared_ahead(old, now_u, cap_u);
      /* A full balance restarts the run (its first limited response slips again). */
      if (ahead != 0) count = (unsigned)(old >> SHARED_COUNT_SHIFT) & 15u;
    } else {
      mine = victim;
      old = victim_old;
    }
    limited = ahead + interval > SHARED_SECOND;
    unsigned next_count = count;
    if (counted && limited && r->slip > 0) next_count = (count + 1) % r->slip;
    uint64_t next_ahead = ahead + interval > cap_u ? cap_u : ahead + interval;
    uint64_t w = tag << SHARED_TAG_SHIFT | (uint64_t)next_count << SHARED_COUNT_SHIFT |
                 ((now_u + next_ahead) & SHARED_TAT_MASK);
    if (__atomic_compare_exchange_n(mine, &old, w, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) break;
    /* Another worker changed the set meanwhile: look again (after the last attempt the decision
     * stands uncharged — one response's worth, as any race between workers here). */
    r->shared_retries++;
  }
  if (phase != NULL) *phase = count;
  return limited;
}

int sb_rrl_decide(sb_rrl *r, uint32_t block, unsigned kind, uint32_t name_hash, double now_ms) {
  return sb_rrl_decide_rates(r, block, kind, name_hash, now_ms, NULL);
}

int sb_rrl_decide_rates(sb_rrl *r, uint32_t block, unsigned kind, uint32_t name_hash, double now_ms,
                        const double *rates) {
  if (kind > 4) kind = 4;
  double rate = rates != NULL ? rates[kind] : r->rates[kind];
  int limited = 0;
  uint32_t bucket = 0;
  unsigned phase = 0;
  if (rate > 0) {
    uint32_t key = kind == 4 ? sb_mix32(block, 0x51) : sb_mix32(sb_mix32(block, kind + 1), name_hash);
    if (r->shared != NULL) {
      limited = shared_charge(r, key, rate, now_ms, 1, &phase);
    } else {
      bucket = rrl_bucket(r, key, rate, now_ms);
      limited = rrl_charge(r, bucket, rate);
    }
  }
  int over_all = 0;
  if (r->all > 0)
    over_all = r->shared != NULL ? shared_charge(r, sb_mix32(block, 0xa11), r->all, now_ms, 0, NULL)
                                 : rrl_charge(r, rrl_bucket(r, sb_mix32(block, 0xa11), r->all, now_ms), r->all);
  if (!limited && !over_all) {
    r->sent++;
    return SB_RRL_SEND;
  }
  /* As BIND: the first limited response of a run slips, then every slip-th; an error, or a response
   * over the all-per-second limit, never slips (dropped). */
  uint32_t n = !limited ? 0 : r->shared != NULL ? phase + 1 : ++r->limited[bucket];
  int slip = limited && !over_all && kind != 4 && r->slip > 0 && (n - 1) % r->slip == 0;
  if (slip)
    r->slipped[kind]++;
  else
    r->dropped[kind]++;
  if (r->dry_run) {
    r->sent++;
    return SB_RRL_SEND;
  }
  return slip ? SB_RRL_SLIP : SB_RRL_DROP;
}

/* ================= config.ts: per-zone settings ================= */

const sb_zone_setting *sb_zone_setting_find(const sb_zone_setting *s, unsigned n, uint32_t key) {
  unsigned lo = 0, hi = n;
  while (lo < hi) {
    unsigned mid = lo + (hi - lo) / 2;
    if (s[mid].key < key)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && s[lo].key == key ? &s[lo] : NULL;
}

/* ================= zone-attack.ts ================= */

#define ZA_ALPHA 0.5
#define ZA_BASELINE_ALPHA (1.0 / 300)
#define ZA_MAX_FOLD 30
/* The mid-second call (zones_early) every this many missing names of a zone not attacked (2^n). */
#define ZA_EARLY_EVERY 8u

static double zones_rank(void *ctx, uint32_t slot) {
  sb_zones *z = ctx;
  return z->attacked[slot] ? 1e15 : z->second[slot];
}

int sb_zones_init(sb_zones *z, double min_nx, double factor, double share, double hold, double budget_floor,
                  uint32_t table_size) {
  memset(z, 0, sizeof(*z));
  z->min_nx = min_nx;
  z->factor = factor;
  z->share = share;
  z->hold = hold;
  z->floor_ = budget_floor;
  if (sb_table_init(&z->table, table_size, 8) != 0) return -1;
  uint32_t n = z->table.size;
  z->key = calloc(n, 4);
  z->queries = calloc(n, 4);
  z->missing = calloc(n, 4);
  z->second = calloc(n, 8);
  z->q_rate = calloc(n, 8);
  z->nx_rate = calloc(n, 8);
  z->baseline = calloc(n, 8);
  z->tokens = calloc(n, 8);
  z->token_stamp = calloc(n, 8);
  z->attacked = calloc(n, 1);
  z->calm = calloc(n, 2);
  z->min_nx_of = calloc(n, 8);
  z->floor_of = calloc(n, 8);
  if (!z->key || !z->queries || !z->missing || !z->second || !z->q_rate || !z->nx_rate || !z->baseline ||
      !z->tokens || !z->token_stamp || !z->attacked || !z->calm || !z->min_nx_of || !z->floor_of) {
    sb_zones_free(z);
    return -1;
  }
  return 0;
}

void sb_zones_free(sb_zones *z) {
  sb_table_free(&z->table);
  free(z->key);
  free(z->queries);
  free(z->missing);
  free(z->second);
  free(z->q_rate);
  free(z->nx_rate);
  free(z->baseline);
  free(z->tokens);
  free(z->token_stamp);
  free(z->attacked);
  free(z->calm);
  free(z->min_nx_of);
  free(z->floor_of);
  memset(z, 0, sizeof(*z));
}

void sb_zones_set_settings(sb_zones *z, const sb_zone_setting *settings, unsigned n) {
  z->settings = settings;
  z->nsettings = settings != NULL ? n : 0;
  /* Zones tracked now take their floors at once (settings pushed to a running worker; at
   * configure the table is empty). zone-attack.ts setZones does the same. */
  for (uint32_t slot = 0; slot < z->table.size; slot++) {
    if (z->table.keys[slot] == 0) continue;
    const sb_zone_setting *st = sb_zone_setting_find(z->settings, z->nsettings, z->key[slot]);
    z->min_nx_of[slot] = st != NULL && st->min_nx >= 0 ? st->min_nx : z->min_nx;
    z->floor_of[slot] = st != NULL && st->budget_floor >= 0 ? st->budget_floor : z->floor_;
  }
}

static void zones_event(sb_zones *z, uint32_t slot, int state) {
  if (z->nevents < 64) {
    z->events[z->nevents] = slot;
    z->event_state[z->nevents] = (uint8_t)state;
    z->nevents++;
  } else {
    z->lost_events++;
  }
}

static void zones_enter(sb_zones *z, uint32_t slot, double base, double now_ms) {
  z->attacked[slot] = 1;
  z->calm[slot] = 0;
  z->tokens[slot] = fmax(z->floor_of[slot], 2 * base);
  z->token_stamp[slot] = now_ms;
  zones_event(z, slot, 1);
}

/* The mid-second call (zone-attack.ts #early): the rates as this second's roll would leave them
 * if the second ended now; the missing names only grow until the roll, so a zone hot on these
 * is one the roll would call attacked anyway. */
static void zones_early(sb_zones *z, uint32_t slot, double now_ms) {
  if (z->q_rate[slot] == 0) return; /* a zone's first second: the roll decides */
  double nx = z->nx_rate[slot] + ZA_ALPHA * (z->missing[slot] - z->nx_rate[slot]);
  /* The share against at least the last smoothed rate (the rest of the second brings its existing names). */
  double q = fmax(z->q_rate[slot], z->q_rate[slot] + ZA_ALPHA * (z->queries[slot] - z->q_rate[slot]));
  double base = z->baseline[slot];
  if (nx >= z->min_nx_of[slot] && nx >= z->factor * base && nx >= z->share * q) zones_enter(z, slot, base, now_ms);
}

static void zones_decide(sb_zones *z, uint32_t slot, double now_ms) {
  double nx = z->nx_rate[slot], q = z->q_rate[slot], base = z->baseline[slot];
  int hot = nx >= z->min_nx_of[slot] && nx >= z->factor * base && nx >= z->share * q;
  if (z->attacked[slot] == 0) {
    if (hot) {
      zones_enter(z, slot, base, now_ms);
    } else {
      z->baseline[slot] += ZA_BASELINE_ALPHA * (nx - base);
    }
  } else if (hot) {
    z->calm[slot] = 0;
  } else if (++z->calm[slot] >= z->hold) {
    z->attacked[slot] = 0;
    zones_event(z, slot, 0);
  }
}

static void zones_roll(sb_zones *z, uint32_t slot, double second, double now_ms) {
  double gap = fmin(second - z->second[slot], ZA_MAX_FOLD);
  double q = z->queries[slot], nx = z->missing[slot];
  for (int i = 0; i < gap; i++) {
    z->q_rate[slot] += ZA_ALPHA * (q - z->q_rate[slot]);
    z->nx_rate[slot] += ZA_ALPHA * (nx - z->nx_rate[slot]);
    zones_decide(z, slot, now_ms);
    q = 0;
    nx = 0;
  }
  z->second[slot] = second;
  z->queries[slot] = 0;
  z->missing[slot] = 0;
}

uint32_t sb_zones_observe(sb_zones *z, uint32_t zone, int exists, double now_ms) {
  uint32_t slot = sb_table_claim(&z->table, zone, zones_rank, z);
  double second = floor(now_ms / 1000);
  if (z->table.claimed) {
    z->key[slot] = zone;
    z->second[slot] = second;
    z->queries[slot] = 0;
    z->missing[slot] = 0;
    z->q_rate[slot] = 0;
    z->nx_rate[slot] = 0;
    z->baseline[slot] = 0;
    z->attacked[slot] = 0;
    z->calm[slot] = 0;
    const sb_zone_setting *st = sb_zone_setting_find(z->settings, z->nsettings, zone);
    z->min_nx_of[slot] = st != NULL && st->min_nx >= 0 ? st->min_nx : z->min_nx;
    z->floor_of[slot] = st != NULL && st->budget_floor >= 0 ? st->budget_floor : z->floor_;
  } else if (second > z->second[slot]) {
    zones_roll(z, slot, second, now_ms);
  }
  z->queries[slot]++;
  if (!exists && (++z->missing[slot] & (ZA_EARLY_EVERY - 1)) == 0 && z->attacked[slot] == 0) zones_early(z, slot, now_ms);
  return slot;
}

int sb_zones_admit_missing(sb_zones *z, uint32_t slot, double now_ms) {
  if (slot >= z->table.size || z->attacked[slot] != 1) return 1;
  double rate = fmax(z->floor_of[slot], 2 * z->baseline[slot]);
  double elapsed = now_ms - z->token_stamp[slot];
  if (elapsed > 0) {
    z->tokens[slot] = fmin(rate, z->tokens[slot] + (rate * elapsed) / 1000);
    z->token_stamp[slot] = now_ms;
  }
  if (z->tokens[slot] < 1) return 0;
  z->tokens[slot] -= 1;
  return 1;
}

void sb_zones_sweep(sb_zones *z, double now_ms) {
  double second = floor(now_ms / 1000);
  for (uint32_t s = 0; s < z->table.size; s++)
    if (z->attacked[s] && second > z->second[s]) zones_roll(z, s, second, now_ms);
}

void sb_zones_rates(const sb_zones *z, uint32_t slot, double now_ms, double *q_rate, double *nx_rate) {
  double gap = floor(now_ms / 1000) - z->second[slot];
  double q = z->q_rate[slot], nx = z->nx_rate[slot];
  if (gap >= 1) {
    double decay = pow(1 - ZA_ALPHA, fmin(gap, ZA_MAX_FOLD) - 1);
    q = (q + ZA_ALPHA * (z->queries[slot] - q)) * decay;
    nx = (nx + ZA_ALPHA * (z->missing[slot] - nx)) * decay;
  }
  *q_rate = q;
  *nx_rate = nx;
}

unsigned sb_zones_top(const sb_zones *z, double now_ms, uint32_t *out, double *q_rate, double *nx_rate, unsigned max) {
  unsigned n = 0;
  double second = floor(now_ms / 1000);
  for (uint32_t s = 0; s < z->table.size; s++) {
    if (z->table.keys[s] == 0) continue;
    /* As a roll now would leave it: the last counted second folded in, then silent seconds. */
    double gap = second - z->second[s];
    double q = z->q_rate[s], nx = z->nx_rate[s];
    if (gap >= 1) {
      double decay = pow(1 - ZA_ALPHA, fmin(gap, ZA_MAX_FOLD) - 1);
      q = (q + ZA_ALPHA * (z->queries[s] - q)) * decay;
      nx = (nx + ZA_ALPHA * (z->missing[s] - nx)) * decay;
    }
    if (q < 0.5) continue;
    unsigned at = n < max ? n++ : max;
    if (at == max) {
      if (q <= q_rate[max - 1]) continue;
      at = max - 1;
    }
    while (at > 0 && q_rate[at - 1] < q) {
      out[at] = out[at - 1];
      q_rate[at] = q_rate[at - 1];
      nx_rate[at] = nx_rate[at - 1];
      at--;
    }
    out[at] = s;
    q_rate[at] = q;
    nx_rate[at] = nx;
  }
  return n;
}

/* ================= sources.ts ================= */

#define NEVER (-1e15)
/* How long earned history lasts after the last calm credit that qualified: a day. */
#define HISTORY_MS 86400000.0

/* Every field of a source's slot is read and written with relaxed atomics: the table may be shared
 * by the workers (standing.h). On x86-64 and arm64 these are the plain loads and stores of a
 * private table, so both kinds decide alike (test/native/shield-c.test.ts compares the private one
 * with sources.ts). */
static inline double ld(const double *p) {
  double v;
  __atomic_load(p, &v, __ATOMIC_RELAXED);
  return v;
}
static inline void st(double *p, double v) { __atomic_store(p, &v, __ATOMIC_RELAXED); }
static inline uint32_t ld32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void st32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
/* count + 1 up to UINT32_MAX (a shared count: an increment, not a store of a stale value + 1). */
static inline void bump32(sb_sources *s, uint32_t *p) {
  if (!s->shared) {
    if (*p < UINT32_MAX) (*p)++;
    return;
  }
  uint32_t v = ld32(p);
  while (v < UINT32_MAX && !__atomic_compare_exchange_n(p, &v, v + 1, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
}

static int source_slot_tier(const sb_sources *s, uint32_t slot, double now_ms) {
  if (now_ms - ld(&s->cookie_at[slot]) < s->cookie_ms) return SB_TIER_COOKIE;
  if (now_ms - ld(&s->tcp_at[slot]) < s->tcp_ms) return SB_TIER_TCP;
  if (now_ms - ld(&s->history_at[slot]) < HISTORY_MS) return SB_TIER_HISTORY;
  return SB_TIER_UNKNOWN;
}

static double sources_rank(void *ctx, uint32_t slot) {
  sb_sources *s = ctx;
  return source_slot_tier(s, slot, s->now) * 1e13 + ld(&s->seen[slot]);
}

int sb_sources_init(sb_sources *s, uint32_t table_size, uint32_t history_min, double history_share,
                    double tcp_seconds, double cookie_seconds) {
  memset(s, 0, sizeof(*s));
  if (sb_table_init(&s->table, table_size, 8) != 0) return -1;
  s->history_min = history_min;
  s->history_share = history_share;
  s->tcp_ms = tcp_seconds * 1000;
  s->cookie_ms = cookie_seconds * 1000;
  s->unrest_own = NEVER;
  s->calm_after_ms = SB_CALM_AFTER_MS;
  uint32_t n = s->table.size;
  s->good = calloc(n, 4);
  s->bad = calloc(n, 4);
  s->tcp_at = calloc(n, 8);
  s->cookie_at = calloc(n, 8);
  s->seen = calloc(n, 8);
  s->credited = calloc(n, 8);
  s->history_at = calloc(n, 8);
  s->tc_at = calloc(n, 8);
  if (!s->good || !s->bad || !s->tcp_at || !s->cookie_at || !s->seen || !s->credited || !s->history_at || !s->tc_at) {
    sb_sources_free(s);
    return -1;
  }
  return 0;
}

void sb_sources_free(sb_sources *s) {
  if (!s->shared) {
    sb_table_free(&s->table);
    free(s->good);
    free(s->bad);
    free(s->tcp_at);
    free(s->cookie_at);
    free(s->seen);
    free(s->credited);
    free(s->history_at);
    free(s->tc_at);
  }
  memset(s, 0, sizeof(*s));
}

uint32_t sb_sources_key(const uint8_t *addr, size_t addr_len) {
  return sb_hash_prefix(addr, addr_len, addr_len == 4 ? 32 : 64);
}

int sb_sources_tier(sb_sources *s, uint32_t key, int cookie_valid, double now_ms) {
  if (cookie_valid) return SB_TIER_COOKIE;
  int32_t slot = sb_table_find(&s->table, key);
  if (slot < 0) return SB_TIER_UNKNOWN;
  if (now_ms - ld(&s->cookie_at[slot]) < s->cookie_ms) return SB_TIER_UNKNOWN;
  return source_slot_tier(s, (uint32_t)slot, now_ms);
}

int sb_sources_has_history(sb_sources *s, uint32_t key, double now_ms) {
  int32_t slot = sb_table_find(&s->table, key);
  return slot >= 0 && now_ms - ld(&s->history_at[slot]) < HISTORY_MS;
}

int sb_sources_good(const sb_sources *s, uint32_t key, double window_ms, double now_ms) {
  int32_t slot = sb_table_find(&s->table, key);
  if (slot < 0) return 0;
  return now_ms - ld(&s->cookie_at[slot]) < window_ms || now_ms - ld(&s->history_at[slot]) < HISTORY_MS;
}

int sb_sources_vouched(const sb_sources *s, uint32_t key, double now_ms) {
  int32_t slot = sb_table_find(&s->table, key);
  if (slot < 0) return 0;
  return now_ms - ld(&s->tc_at[slot]) < SB_TC_GATE_MS || now_ms - ld(&s->tcp_at[slot]) < s->tcp_ms ||
         now_ms - ld(&s->cookie_at[slot]) < s->cookie_ms || now_ms - ld(&s->history_at[slot]) < HISTORY_MS;
}

/* sb_table_claim for a shared table: the victim taken with a compare-and-swap of its key, the
 * scan done again when another worker changed the set meanwhile (at most 4 times, then the
 * victim taken whatever it holds). The same victim as sb_table_claim when no other writer. */
static uint32_t shared_claim(sb_sources *s, uint32_t key) {
  sb_table *t = &s->table;
  uint32_t tag = key | 1u;
  uint32_t base = (key * 0x85ebca6bu) & t->mask;
  for (int attempt = 0;; attempt++) {
    uint32_t victim = base, held = ld32(&t->keys[base]);
    double lowest = INFINITY;
    for (uint32_t i = 0; i < t->ways; i++) {
      uint32_t sl = base + i;
      uint32_t k = ld32(&t->keys[sl]);
      if (k == tag) {
        t->claimed = 0;
        return sl;
      }
      if (k == 0) {
        if (lowest != -INFINITY) {
          victim = sl;
          held = 0;
          lowest = -INFINITY;
        }
        continue;
      }
      double r = sources_rank(s, sl);
      if (r < lowest) {
        lowest = r;
        victim = sl;
        held = k;
      }
    }
    uint32_t expect = held;
    if (attempt >= 4) {
      __atomic_store_n(&t->keys[victim], tag, __ATOMIC_RELAXED);
    } else if (!__atomic_compare_exchange_n(&t->keys[victim], &expect, tag, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
      if (expect == tag) { /* another worker claimed it for this key: its reset stands */
        t->claimed = 0;
        return victim;
      }
      continue;
    }
    if (lowest != -INFINITY) t->evictions++;
    t->claimed = 1;
    return victim;
  }
}

static uint32_t sources_claim(sb_sources *s, uint32_t key, double now_ms) {
  s->now = now_ms;
  uint32_t slot = s->shared ? shared_claim(s, key) : sb_table_claim(&s->table, key, sources_rank, s);
  if (s->table.claimed) {
    st32(&s->good[slot], 0);
    st32(&s->bad[slot], 0);
    st(&s->tcp_at[slot], NEVER);
    st(&s->cookie_at[slot], NEVER);
    st(&s->credited[slot], NEVER);
    st(&s->history_at[slot], NEVER);
    st(&s->tc_at[slot], NEVER);
  }
  st(&s->seen[slot], now_ms);
  return slot;
}

static inline double *unrest_stamp(sb_sources *s) { return s->unrest_shared != NULL ? s->unrest_shared : &s->unrest_own; }

void sb_sources_note_unrest(sb_sources *s, double now_ms) {
  double *u = unrest_stamp(s);
  if (now_ms - ld(u) >= SB_UNREST_STEP_MS) st(u, now_ms);
}

void sb_sources_set_calm_after(sb_sources *s, double ms) { s->calm_after_ms = ms > 0 ? ms : 0; }

void sb_sources_note_calm(sb_sources *s, uint32_t key, int exists, double now_ms) {
  /* hist23 (sources.ts): an attack seen lately — a source without history earns nothing. */
  if (s->calm_after_ms > 0 && now_ms - ld(unrest_stamp(s)) < s->calm_after_ms) {
    int32_t found = sb_table_find(&s->table, key);
    if (found < 0 || !(now_ms - ld(&s->history_at[found]) < HISTORY_MS)) {
      s->calm_refused++;
      return;
    }
  }
  uint32_t slot = sources_claim(s, key, now_ms);
  /* One query a second at most counts (sources.ts) — for all workers together when shared: the
   * worker whose compare-and-swap of the stamp succeeds takes the credit. */
  double credited = ld(&s->credited[slot]);
  if (now_ms - credited < 1000) return;
  if (s->shared) {
    if (!__atomic_compare_exchange(&s->credited[slot], &credited, &now_ms, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
      return;
  } else {
    s->credited[slot] = now_ms;
  }
  bump32(s, exists ? &s->good[slot] : &s->bad[slot]);
  /* Earned history is kept (sources.ts): a resolver that forwards a random-subdomain flood
   * before its zone is called attacked keeps its standing. */
  uint32_t good = ld32(&s->good[slot]);
  if (good >= s->history_min && good >= s->history_share * ((double)good + ld32(&s->bad[slot])))
    st(&s->history_at[slot], now_ms);
}

int sb_sources_used_tcp(const sb_sources *s, uint32_t key, int cookie_valid, double now_ms) {
  int32_t slot = sb_table_find(&s->table, key);
  if (slot < 0) return 0;
  if (!cookie_valid && now_ms - ld(&s->cookie_at[slot]) < s->cookie_ms) return 0;
  return now_ms - ld(&s->tcp_at[slot]) < s->tcp_ms;
}

void sb_sources_note_truncated(sb_sources *s, uint32_t key, double now_ms) {
  st(&s->tc_at[sources_claim(s, key, now_ms)], now_ms);
}

int sb_sources_note_tcp(sb_sources *s, uint32_t key, double now_ms) {
  int32_t slot = sb_table_find(&s->table, key);
  if (slot < 0 || !(now_ms - ld(&s->tc_at[slot]) < SB_TC_FOLLOW_MS)) return 0;
  st(&s->tcp_at[sources_claim(s, key, now_ms)], now_ms);
  return 1;
}

void sb_sources_note_cookie(sb_sources *s, uint32_t key, double now_ms) {
  st(&s->cookie_at[sources_claim(s, key, now_ms)], now_ms);
}

/* ================= admission.ts ================= */

#define STRANGER_SLIP 4

/* TC=1 for a source seen on TCP; for others within the budget, else a drop (admission.ts). */
static int admission_truncate(sb_admission *a, int used_tcp, double now_ms) {
  if (used_tcp) return SB_ADMIT_TRUNCATE;
  double dt = fmax(0, now_ms - a->tc_at);
  a->tc_at = now_ms;
  a->tc_tokens = fmin(SB_NO_TCP_TRUNCATIONS_PER_SECOND, a->tc_tokens + (dt * SB_NO_TCP_TRUNCATIONS_PER_SECOND) / 1000);
  if (a->tc_tokens < 1) return SB_ADMIT_DROP;
  a->tc_tokens -= 1;
  return SB_ADMIT_TRUNCATE;
}

int sb_admission_decide(sb_admission *a, int tier, int in_zone, int exists, int zone_attacked, int within_budget,
                        int overload, int used_tcp, double now_ms) {
  if (tier < 0 || tier > 3) tier = SB_TIER_UNKNOWN;
  int verified = tier >= SB_TIER_TCP;
  int missing = !in_zone || !exists;
  if (in_zone && !exists && zone_attacked && !within_budget) {
    a->shed_budget[tier]++;
    if (!verified) return SB_ADMIT_DROP;
    a->budget_slip ^= 1;
    return a->budget_slip == 1 ? admission_truncate(a, used_tcp, now_ms) : SB_ADMIT_DROP;
  }
  if (overload <= 0 || verified) return SB_ADMIT_ANSWER;
  if (overload == 1) {
    if (tier == SB_TIER_UNKNOWN && missing) {
      a->shed_overload[tier]++;
      return SB_ADMIT_DROP;
    }
    return SB_ADMIT_ANSWER;
  }
  if (overload == 2) {
    if (tier == SB_TIER_UNKNOWN) {
      a->slip = (a->slip + 1) % STRANGER_SLIP;
      a->shed_overload[tier]++;
      return a->slip == 0 ? admission_truncate(a, used_tcp, now_ms) : SB_ADMIT_DROP;
    }
    if (missing) {
      a->shed_overload[tier]++;
      return SB_ADMIT_DROP;
    }
    return SB_ADMIT_ANSWER;
  }
  if (tier == SB_TIER_HISTORY && !missing) return SB_ADMIT_ANSWER;
  a->shed_overload[tier]++;
  return SB_ADMIT_DROP;
}

void sb_overload_init(sb_overload *o, double behind_share, double smoothing_seconds, double hold_seconds) {
  memset(o, 0, sizeof(*o));
  o->behind = behind_share;
  o->tau = smoothing_seconds * 1000;
  o->hold = hold_seconds * 1000;
  o->saturated_since = -1;
  o->at = -1; /* no read yet: the first one weighs the least (a clock's first reading is not a gap) */
}

void sb_overload_read(sb_overload *o, unsigned got, unsigned capacity, double now_ms) {
  double full = got >= capacity ? 1 : 0;
  double dt = o->at < 0 ? 0 : fmax(0, now_ms - o->at);
  o->at = now_ms;
  double a = dt >= o->tau ? 1 : fmax(dt / o->tau, 0.02);
  o->share += a * (full - o->share);
  int target = 0;
  if (o->share >= 0.95) {
    if (o->saturated_since < 0) o->saturated_since = now_ms;
    target = now_ms - o->saturated_since >= o->hold ? 3 : 2;
  } else {
    o->saturated_since = -1;
    if (o->share >= o->behind) target = 1;
  }
  if (target >= o->level) {
    o->level = target;
    o->level_at = now_ms;
  } else if (target < o->level && now_ms - o->level_at >= o->hold) {
    o->level--;
    o->level_at = now_ms;
  }
}
