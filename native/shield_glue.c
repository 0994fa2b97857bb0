/*
 * The shield of one JS thread's batch loop (shield.h): the mechanisms of shield.c put in the
 * order docs/SHIELD.md gives — per datagram before any answer, admission from the pre-parse,
 * the source's tier (cookie checked here), the zone's attack state and the name's existence
 * (image.c's classification of the installed zone images) and the overload level of the reads;
 * per answer, response-rate limiting from the reply's header. Pure C; nothing allocated per
 * datagram; every offset read from a datagram is checked against its length.
 */
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "image.h"
#include "prefilter.h"
#include "shield.h"
#include "standing.h"
#include "tcp_gate.h"

static __thread sb_shield *g_shield = NULL;

sb_shield *sb_shield_thread(void) { return g_shield; }

static __thread unsigned g_prefilter_version = 0;

static int cmp_setting(const void *a, const void *b) {
  uint32_t x = ((const sb_zone_setting *)a)->key, y = ((const sb_zone_setting *)b)->key;
  return x < y ? -1 : x > y;
}

static void shield_free(sb_shield *sh) {
  if (sh == NULL) return;
  free(sh->zone_settings);
  sb_table_free(&sh->blocks);
  for (unsigned i = 0; i < SB_QF_MAX_ZONES; i++) free(sh->qf[i].hashes);
  sb_table_free(&sh->known);
  free(sh->known_zone);
  free(sh->known_hash);
  free(sh->known_count);
  free(sh->known_seen);
  free(sh->blk_key);
  free(sh->blk_sheds);
  free(sh->blk_nx_sheds);
  free(sh->blk_rrl);
  free(sh->blk_hosts);
  free(sh->blk_strikes);
  free(sh->blk_good_until);
  free(sh->blk_until);
  free(sh->blk_seen);
  free(sh->blk_since);
  free(sh->blk_carry);
  free(sh->blk_behind);
  free(sh->blk_recent);
  free(sh->blk_first);
  free(sh->blk_sampled);
  free(sh->blk_sampled_since);
  free(sh->blk_sampled_hosts);
  free(sh->blk_sampled_nhosts);
  free(sh->blk_grace);
  sb_sources_free(&sh->sources);
  sb_zones_free(&sh->zones);
  if (sh->cfg.rrl_on) sb_rrl_free(&sh->rrl);
  free(sh);
}

/* RRL with several workers: one account per client block for the server, the buckets in the
 * standing file every worker maps (sb_rrl_share; docs/SHIELD.md "One account per client block"),
 * unless SWITCHBOARD_RRL_SHARED=off (A/B runs). One worker, or none, keeps its own table. */
static void rrl_share(sb_shield *sh) {
  if (!sh->cfg.rrl_on || !sh->sources.shared) return;
  const char *off = getenv("SWITCHBOARD_RRL_SHARED");
  if (off != NULL && strcmp(off, "off") == 0) return;
  const char *count = getenv("SWITCHBOARD_WORKER_COUNT");
  if (count == NULL || atoi(count) < 2) return;
  uint32_t n = 0;
  uint64_t *words = sb_standing_rrl_words(&n);
  if (words != NULL) sb_rrl_share(&sh->rrl, words, n);
}

int sb_shield_configure(const sb_shield_config *cfg) {
  if (cfg == NULL || cfg->mode == SB_SHIELD_OFF) {
    shield_free(g_shield);
    g_shield = NULL;
    return 0;
  }
  if (cfg->mode != SB_SHIELD_ON && cfg->mode != SB_SHIELD_DRY_RUN) return -1;
  if (cfg->nsecrets > 3 || cfg->nallow > SB_SHIELD_MAX_ALLOW) return -1;
  if (cfg->nzone_settings > SB_SHIELD_MAX_ZONE_SETTINGS || (cfg->nzone_settings > 0 && cfg->zone_settings == NULL))
    return -1;
  for (unsigned i = 0; i < cfg->nallow; i++)
    if (!((cfg->allow_len[i] == 4 && cfg->allow_bits[i] <= 32) || (cfg->allow_len[i] == 16 && cfg->allow_bits[i] <= 128)))
      return -1;
  sb_shield *sh = calloc(1, sizeof(*sh));
  if (sh == NULL) return -1;
  sh->cfg = *cfg;
  sh->cfg.zone_settings = NULL;
  sh->cfg.nzone_settings = 0;
  if (cfg->nzone_settings > 0) {
    sh->zone_settings = malloc(cfg->nzone_settings * sizeof(sb_zone_setting));
    if (sh->zone_settings == NULL) {
      free(sh);
      return -1;
    }
    memcpy(sh->zone_settings, cfg->zone_settings, cfg->nzone_settings * sizeof(sb_zone_setting));
    qsort(sh->zone_settings, cfg->nzone_settings, sizeof(sb_zone_setting), cmp_setting);
    for (unsigned i = 0; i < cfg->nzone_settings; i++) {
      /* RRL rates: the zone's where given, else the server's (0 when RRL is off for the server). */
      for (int k = 0; k < 5; k++)
        if (sh->zone_settings[i].rrl_rates[k] < 0) sh->zone_settings[i].rrl_rates[k] = cfg->rrl_on ? cfg->rrl_rates[k] : 0;
      if (i > 0 && sh->zone_settings[i].key == sh->zone_settings[i - 1].key) {
        free(sh->zone_settings);
        free(sh);
        return -1;
      }
    }
    sh->cfg.zone_settings = sh->zone_settings;
    sh->cfg.nzone_settings = cfg->nzone_settings;
  }
  /* Source standing shared by the workers (standing.h): the file the cluster primary made, named
   * by SWITCHBOARD_STANDING_FILE; a private table when there is none or it cannot be mapped
   * (sh->standing_error says why: logged by the worker). */
  const char *standing = getenv("SWITCHBOARD_STANDING_FILE");
  int shared = 0;
  if (standing != NULL && standing[0] != 0) {
    const char *why = "";
    shared = sb_standing_attach(&sh->sources, standing, cfg->source_table, cfg->history_min, cfg->history_share,
                                cfg->tcp_seconds, cfg->cookie_seconds, &why) == 0;
    sh->standing_error = shared ? NULL : why;
  }
  if ((!shared && sb_sources_init(&sh->sources, cfg->source_table, cfg->history_min, cfg->history_share,
                                  cfg->tcp_seconds, cfg->cookie_seconds) != 0) ||
      sb_zones_init(&sh->zones, cfg->zone_min_nx, cfg->zone_factor, cfg->zone_share, cfg->zone_hold, cfg->zone_floor,
                    cfg->zone_table) != 0) {
    sh->cfg.rrl_on = 0;
    shield_free(sh);
    return -1;
  }
  sb_zones_set_settings(&sh->zones, sh->zone_settings, sh->cfg.nzone_settings);
  if (cfg->rrl_on && sb_rrl_init(&sh->rrl, cfg->rrl_rates, cfg->rrl_all, cfg->rrl_window, cfg->rrl_slip, cfg->rrl_v4,
                                 cfg->rrl_v6, cfg->rrl_table, cfg->mode == SB_SHIELD_DRY_RUN) != 0) {
    sh->cfg.rrl_on = 0;
    shield_free(sh);
    return -1;
  }
  rrl_share(sh);
  sb_overload_init(&sh->overload, cfg->overload_behind, cfg->overload_smoothing, cfg->overload_hold);
  if (sb_table_init(&sh->blocks, 4096, 8) != 0) {
    shield_free(sh);
    return -1;
  }
  uint32_t nb = sh->blocks.size;
  sh->blk_key = calloc(nb, 4);
  sh->blk_sheds = calloc(nb, 4);
  sh->blk_nx_sheds = calloc(nb, 4);
  sh->blk_rrl = calloc(nb, 4);
  sh->blk_hosts = calloc(nb, 32);
  sh->blk_strikes = calloc(nb, 1);
  sh->blk_good_until = calloc(nb, 8);
  sh->blk_until = calloc(nb, 8);
  sh->blk_seen = calloc(nb, 8);
  sh->blk_since = calloc(nb, 8);
  sh->blk_carry = calloc(nb, 1);
  sh->blk_behind = calloc(nb, 4);
  sh->blk_recent = calloc(nb, 4);
  sh->blk_first = calloc(nb, 8);
  sh->blk_sampled = calloc(nb, 4);
  sh->blk_sampled_since = calloc(nb, 8);
  sh->blk_sampled_hosts = calloc(nb, SB_RENEW_HOSTS);
  sh->blk_sampled_nhosts = calloc(nb, 1);
  sh->blk_grace = calloc(nb, 1);
  if (!sh->blk_grace || !sh->blk_sampled || !sh->blk_sampled_since || !sh->blk_sampled_hosts || !sh->blk_sampled_nhosts || !sh->blk_behind || !sh->blk_recent || !sh->blk_first || !sh->blk_carry || !sh->blk_key || !sh->blk_sheds || !sh->blk_nx_sheds || !sh->blk_rrl || !sh->blk_hosts || !sh->blk_strikes || !sh->blk_good_until || !sh->blk_until || !sh->blk_seen || !sh->blk_since) {
    shield_free(sh);
    return -1;
  }
  if (sb_table_init(&sh->known, SB_QF_KNOWN_TABLE, 8) != 0) {
    shield_free(sh);
    return -1;
  }
  sh->known_zone = calloc(sh->known.size, 4);
  sh->known_hash = calloc(sh->known.size, 4);
  sh->known_count = calloc(sh->known.size, 2);
  sh->known_seen = calloc(sh->known.size, 8);
  if (!sh->known_zone || !sh->known_hash || !sh->known_count || !sh->known_seen) {
    shield_free(sh);
    return -1;
  }
  /* The QNAME filter can be turned off for A/B runs (SWITCHBOARD_QNAME_FILTER=off). */
  const char *qf_env = getenv("SWITCHBOARD_QNAME_FILTER");
  sh->qf_off = qf_env != NULL && strcmp(qf_env, "off") == 0;
  const char *direct_env = getenv("SWITCHBOARD_DIRECT_BLOCKS");
  sh->direct_off = direct_env != NULL && strcmp(direct_env, "off") == 0;
  const char *fast_env = getenv("SWITCHBOARD_QF_FAST");
  sh->qf_slow = fast_env != NULL && strcmp(fast_env, "off") == 0;
  const char *hold_env = getenv("SWITCHBOARD_QF_HOLD");
  sh->qf_hold_off = hold_env != NULL && strcmp(hold_env, "off") == 0;
  const char *behind_env = getenv("SWITCHBOARD_BEHIND_NOW");
  sh->behind_now_off = behind_env != NULL && strcmp(behind_env, "off") == 0;
  const char *onset_env = getenv("SWITCHBOARD_ONSET");
  sh->onset_off = onset_env != NULL && strcmp(onset_env, "off") == 0;
  const char *onset2_env = getenv("SWITCHBOARD_ONSET2");
  sh->onset2_off = onset2_env != NULL && strcmp(onset2_env, "off") == 0;
  const char *onset3_env = getenv("SWITCHBOARD_ONSET3");
  sh->onset3_off = onset3_env != NULL && strcmp(onset3_env, "off") == 0;
  const char *shared_good_env = getenv("SWITCHBOARD_SHARED_GOOD");
  sh->shared_good_off = shared_good_env != NULL && strcmp(shared_good_env, "off") == 0;
  const char *renew_env = getenv("SWITCHBOARD_PREFILTER_RENEW");
  sh->renew_off = renew_env != NULL && strcmp(renew_env, "off") == 0;
  const char *bridge_env = getenv("SWITCHBOARD_BRIDGE");
  sh->bridge_off = bridge_env != NULL && strcmp(bridge_env, "off") == 0;
  const char *bridge_share_env = getenv("SWITCHBOARD_BRIDGE_SHARE");
  long div = bridge_share_env != NULL ? strtol(bridge_share_env, NULL, 10) : 0;
  sh->bridge_div = div >= 2 && div <= 65536 ? (uint32_t)div : SB_BRIDGE_DIV;
  sh->bridge_div_now = sh->bridge_div;
  const char *bridge_join_env = getenv("SWITCHBOARD_BRIDGE_JOIN");
  sh->bridge_join_off = bridge_join_env != NULL && strcmp(bridge_join_env, "off") == 0;
  const char *bridge_rise_env = getenv("SWITCHBOARD_BRIDGE_RISE");
  sh->bridge_rise_off = bridge_rise_env != NULL && strcmp(bridge_rise_env, "off") == 0;
  const char *bridge_long_env = getenv("SWITCHBOARD_BRIDGE_LONG");
  sh->bridge_long_off = bridge_long_env != NULL && strcmp(bridge_long_env, "off") == 0;
  const char *bridge_size_env = getenv("SWITCHBOARD_BRIDGE_SIZE");
  sh->bridge_size_off = bridge_size_env != NULL && strcmp(bridge_size_env, "off") == 0;
  /* hist23: SWITCHBOARD_CALM_AFTER=off (A/B runs): calm is the worker's level 0 and the query's
   * zone not attacked, as before; =N: N seconds (1..3600) instead of SB_CALM_AFTER_MS. */
  const char *calm_after_env = getenv("SWITCHBOARD_CALM_AFTER");
  if (calm_after_env != NULL && strcmp(calm_after_env, "off") == 0) {
    sb_sources_set_calm_after(&sh->sources, 0);
  } else if (calm_after_env != NULL) {
    long secs = strtol(calm_after_env, NULL, 10);
    if (secs >= 1 && secs <= 3600) sb_sources_set_calm_after(&sh->sources, (double)secs * 1000);
  }
  sh->blocked_version = ++g_prefilter_version;
  shield_free(g_shield);
  g_shield = sh;
  return 0;
}

int sb_shield_set_zone_settings(const sb_zone_setting *settings, unsigned n) {
  if (n > SB_SHIELD_MAX_ZONE_SETTINGS || (n > 0 && settings == NULL)) return -1;
  sb_shield *sh = g_shield;
  if (sh == NULL) return 1;
  sb_zone_setting *copy = NULL;
  int zone_rates = 0;
  if (n > 0) {
    copy = malloc(n * sizeof(*copy));
    if (copy == NULL) return -1;
    memcpy(copy, settings, n * sizeof(*copy));
    qsort(copy, n, sizeof(*copy), cmp_setting);
    for (unsigned i = 0; i < n; i++) {
      if (i > 0 && copy[i].key == copy[i - 1].key) {
        free(copy);
        return -1;
      }
      for (int k = 0; k < 5; k++) {
        if (copy[i].rrl_rates[k] >= 0) zone_rates = 1;
        /* As at configure: the zone's rate where given, else the server's (0: RRL off). */
        if (copy[i].rrl_rates[k] < 0) copy[i].rrl_rates[k] = sh->cfg.rrl_on ? sh->cfg.rrl_rates[k] : 0;
      }
    }
  }
  if (zone_rates && !sh->cfg.rrl_on) {
    /* The server limits nothing: a limiter whose own rates are 0, so only such zones are limited
     * (with the server's window and slip), as configure makes it when a flag sets a zone rate. */
    double zero[5] = {0, 0, 0, 0, 0};
    if (sb_rrl_init(&sh->rrl, zero, 0, sh->cfg.rrl_window, sh->cfg.rrl_slip, sh->cfg.rrl_v4, sh->cfg.rrl_v6,
                    sh->cfg.rrl_table, sh->cfg.mode == SB_SHIELD_DRY_RUN) != 0) {
      free(copy);
      return -1;
    }
    memcpy(sh->cfg.rrl_rates, zero, sizeof(zero));
    sh->cfg.rrl_all = 0;
    sh->cfg.rrl_on = 1;
    rrl_share(sh);
  }
  free(sh->zone_settings);
  sh->zone_settings = copy;
  sh->cfg.zone_settings = copy;
  sh->cfg.nzone_settings = n;
  /* Zones tracked now take their floors at once. */
  sb_zones_set_settings(&sh->zones, copy, n);
  return 0;
}

int sb_shield_set_secrets(const uint8_t *secrets, unsigned n) {
  if (n < 1 || n > 3) return -1;
  if (g_shield == NULL) return 1;
  /* Only the secrets change: the tables (sources, zones, RRL, blocks) stay as they are. */
  memcpy(g_shield->cfg.secrets, secrets, 16 * (size_t)n);
  g_shield->cfg.nsecrets = n;
  return 0;
}

/* The source as 4 octets (IPv4, or IPv4-mapped IPv6) or 16; its length (0: unknown family). */
static uint8_t source_octets(const void *sa, uint8_t out[16]) {
  const struct sockaddr *a = sa;
  if (a->sa_family == AF_INET) {
    memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    return 4;
  }
  if (a->sa_family == AF_INET6) {
    const uint8_t *b = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(b, mapped, 12) == 0) {
      memcpy(out, b + 12, 4);
      return 4;
    }
    memcpy(out, b, 16);
    return 16;
  }
  return 0;
}

int sb_shield_allow_listed(const sb_shield *sh, const uint8_t *addr, size_t len) {
  for (unsigned i = 0; i < sh->cfg.nallow; i++) {
    if (sh->cfg.allow_len[i] != len) continue;
    unsigned bits = sh->cfg.allow_bits[i], whole = bits >> 3, rest = bits & 7;
    if (whole > 16 || (rest && whole >= 16)) continue;
    if (memcmp(sh->cfg.allow[i], addr, whole) != 0) continue;
    if (rest) {
      uint8_t m = (uint8_t)(0xff << (8 - rest));
      if ((sh->cfg.allow[i][whole] & m) != (addr[whole] & m)) continue;
    }
    return 1;
  }
  return 0;
}

/* Offset and length of the query's COOKIE option data, or -1. The pre-parse (status 0) has
 * checked the OPT's option list; the walk checks every length again. */
static long find_cookie(const sb_preparse *pp, const uint8_t *pkt, size_t len, size_t *olen) {
  if (pp->status != 0 || !(pp->flags & SB_PF_OPT) || !(pp->flags & SB_PF_COOKIE)) return -1;
  size_t at = pp->question_end;
  if (at == 0 || at + 11 > len || pkt[at] != 0) return -1;
  size_t rdlen = ((size_t)pkt[at + 9] << 8) | pkt[at + 10];
  size_t p = at + 11;
  if (rdlen > len - p) return -1;
  size_t end = p + rdlen;
  while (end - p >= 4) {
    unsigned code = ((unsigned)pkt[p] << 8) | pkt[p + 1];
    size_t l = ((size_t)pkt[p + 2] << 8) | pkt[p + 3];
    if (l > end - p - 4) return -1;
    if (code == 10) {
      *olen = l;
      return (long)(p + 4);
    }
    p += 4 + l;
  }
  return -1;
}

/* The QNAME's hash, case-folded (the TS hashOctets over the name's wire octets). */
static uint32_t qname_hash(const sb_preparse *pp, const uint8_t *pkt, size_t len) {
  uint32_t h = 0x811c9dc5u;
  size_t end = 12 + (size_t)pp->qname_len;
  if (pp->qname_len == 0 || end > len) return h;
  for (size_t i = 12; i < end; i++) {
    uint8_t c = pkt[i];
    h = sb_mix32(h, (c >= 0x41 && c <= 0x5a) ? (uint32_t)(c | 0x20) : c);
  }
  return h;
}

/* ---- the prefilter's policy: which IPv4 /24s the kernel drops ---- */

static double blocks_rank(void *ctx, uint32_t slot) {
  const sb_shield *sh = ctx;
  /* Keep blocked and good /24s; give up the quietest stranger first. */
  return (sh->blk_until[slot] > 0 || sh->blk_good_until[slot] > 0 ? 1e15 : 0) + sh->blk_seen[slot];
}

/* A new window for the block's sample (expiry19): no datagram, no host, from now_ms. */
static void sample_restart(sb_shield *sh, uint32_t slot, double now_ms) {
  sh->blk_sampled[slot] = 0;
  sh->blk_sampled_nhosts[slot] = 0;
  sh->blk_sampled_since[slot] = now_ms;
}

static uint32_t block_slot(sb_shield *sh, uint32_t p24, double now_ms) {
  uint32_t slot = sb_table_claim(&sh->blocks, sb_mix32(p24, 0x24), blocks_rank, sh);
  if (sh->blocks.claimed) {
    sh->blk_key[slot] = p24;
    sh->blk_sheds[slot] = 0;
    sh->blk_nx_sheds[slot] = 0;
    sh->blk_rrl[slot] = 0;
    memset(sh->blk_hosts + 32 * (size_t)slot, 0, 32);
    sh->blk_strikes[slot] = 0;
    sh->blk_good_until[slot] = 0;
    sh->blk_until[slot] = 0;
    sh->blk_since[slot] = 0;
    sh->blk_carry[slot] = 0;
    sh->blk_behind[slot] = 0;
    sh->blk_recent[slot] = 0;
    sh->blk_first[slot] = 0;
    sample_restart(sh, slot, 0);
    sh->blk_grace[slot] = 0;
  }
  sh->blk_seen[slot] = now_ms;
  return slot;
}

/* A count toward the /24's block: its window of this second starts at its first (onset). */
static void count_starts(sb_shield *sh, uint32_t slot, double now_ms) {
  if (sh->blk_since[slot] <= 0) sh->blk_since[slot] = now_ms;
}

#define GOOD_MS 600000.0 /* a /24 stays good this long after a source of good standing in it was read */

static void bridge_join(sb_shield *sh, uint32_t p24);

static void note_good(sb_shield *sh, const sb_verdict *v, double now_ms) {
  if (sh->cfg.prefilter_threshold > 0 && v->addr_len == 16) sb_block6_good(&sh->block6, v->addr, now_ms);
  if (sh->cfg.prefilter_threshold <= 0 || v->addr_len != 4) return;
  uint32_t p24 = ((uint32_t)v->addr[0] << 24) | ((uint32_t)v->addr[1] << 16) | ((uint32_t)v->addr[2] << 8);
  sh->blk_good_until[block_slot(sh, p24, now_ms)] = now_ms + GOOD_MS;
  if (sh->bridge_on) bridge_join(sh, p24);
}

#define SHARED_GOOD_MS 10000.0 /* a /24 found good in the source table: looked up again after this */

/* Whether a source of the /24 p24 has good standing in the source table — with several workers the
 * table they share (standing.h). note_good marks only the /24s of sources this worker read, and
 * with SO_REUSEPORT a resolver that keeps its source port reaches one worker only: the other
 * worker, seeing the /24's bots and not its resolver, blocked the /24 on its own socket and in
 * the TCP listener's union of the sets (onset19: the drill's `nat` resolvers, whose TCP
 * connections were then dropped; a resolver that randomizes its ports would have lost half its
 * UDP too). 256 lookups, made only when a block is about to be made. */
static int shared_good(sb_shield *sh, uint32_t p24, double now_ms) {
  uint8_t addr[4] = {(uint8_t)(p24 >> 24), (uint8_t)(p24 >> 16), (uint8_t)(p24 >> 8), 0};
  for (unsigned host = 0; host < 256; host++) {
    addr[3] = (uint8_t)host;
    if (sb_sources_good(&sh->sources, sb_sources_key(addr, 4), GOOD_MS, now_ms)) return 1;
  }
  return 0;
}

/* The threshold a /24's count of this second is held to: the whole of it at the second's sweep,
 * and before, its share of the time gone since its counts of this second began (at least a tenth):
 * a /24 is blocked once its rate so far this second, measured over 100 ms or more, reaches the
 * threshold a second. Measured from the /24's own first count, not from the sweep (onset): a flood
 * that starts 700 ms into a second had to average the threshold over the whole second — at 500
 * read a second it crossed only after the sweep, ~350 ms in (the drill's wave 1: the bots' /24s
 * blocked 390-650 ms after the worker fell behind). Never stricter than from the sweep: the floor
 * (a tenth of the threshold within the window's first 100 ms) is the one a /24 flooding from the
 * sweep always met. */
static double pf_threshold(const sb_shield *sh, uint32_t slot, double now_ms, int sweep) {
  double from = sh->last_sweep;
  if (!sh->onset_off && sh->blk_since[slot] > from) from = sh->blk_since[slot];
  double f = sweep ? 1 : (now_ms - from) / 1000;
  if (f < 0.1) f = 0.1;
  if (f > 1) f = 1;
  return sh->cfg.prefilter_threshold * f;
}


/* Whether the worker is behind now: a full run of reads within SB_BEHIND_NOW_MS (the raw signal the
 * overload level smooths over 0.5 s). */
static int behind_now(const sb_shield *sh, double now_ms) {
  return !sh->behind_now_off && sh->behind_at > 0 && now_ms - sh->behind_at <= SB_BEHIND_NOW_MS;
}

/* The threshold rate-limited answers are held to: RRL already keeps them cheap (a drop or a TC=1
 * without an answer), so a block is for keeping them out of the socket queue — the prorated
 * threshold while the worker is behind (or at level 1 and up), else the whole of it. A burst of a
 * few dozen limited answers early in a second no longer blocks a /24 (the RRL e2e's flake). */
static double rrl_threshold(const sb_shield *sh, uint32_t slot, double now_ms, int sweep) {
  if (sh->behind_now_off || sh->overload.level >= 1 || behind_now(sh, now_ms)) return pf_threshold(sh, slot, now_ms, sweep);
  return sh->cfg.prefilter_threshold;
}

/* ---- ipv626: the IPv6 /56s (block6.h) ---- */

/* Whether an allow-listed IPv6 prefix overlaps the /56 `key`. */
static int allow_touches6(void *ctx, uint64_t key) {
  const sb_shield *sh = ctx;
  for (unsigned i = 0; i < sh->cfg.nallow; i++) {
    if (sh->cfg.allow_len[i] != 16) continue;
    uint64_t a = 0;
    for (int j = 0; j < 8; j++) a = (a << 8) | sh->cfg.allow[i][j];
    unsigned bits = sh->cfg.allow_bits[i] < 56 ? sh->cfg.allow_bits[i] : 56;
    uint64_t m = bits == 0 ? 0 : ~(~0ull >> bits);
    if ((a & m) == (key & m)) return 1;
  }
  return 0;
}

/* Whether a source of the /56 has good standing in the (shared) source table: its 256 /64s (the
 * table's IPv6 key), asked only when a block is about to be made, as for a /24. */
static int shared_good6(void *ctx, uint64_t key, double now_ms) {
  sb_shield *sh = ctx;
  if (sh->shared_good_off) return 0;
  uint8_t addr[16] = {0};
  for (int j = 0; j < 7; j++) addr[j] = (uint8_t)(key >> (56 - 8 * j));
  for (unsigned host = 0; host < 256; host++) {
    addr[7] = (uint8_t)host;
    if (sb_sources_good(&sh->sources, sb_sources_key(addr, 16), GOOD_MS, now_ms)) return 1;
  }
  return 0;
}

/* The /24s' rules now, for the /56s: the threshold (prorated before the sweep), RRL's held to the
 * whole of it while the worker keeps up, the hosts (/64s) missing names need, the block's length. */
static void rules6(sb_shield *sh, double now_ms, sb_block6_rules *r) {
  int behind = sh->overload.level >= 1 || behind_now(sh, now_ms) || sh->bridge_on;
  r->threshold = sh->cfg.prefilter_threshold;
  r->rrl_threshold = sh->cfg.prefilter_threshold;
  r->prorate = 1;
  r->prorate_rrl = sh->behind_now_off || sh->overload.level >= 1 || behind_now(sh, now_ms);
  r->hosts_needed = sh->onset_off || !behind ? SB_PREFILTER_NX_HOSTS
                    : sh->onset2_off         ? SB_PREFILTER_NX_HOSTS_BEHIND
                                             : SB_PREFILTER_NX_HOSTS_ONSET;
  r->seconds = sh->cfg.prefilter_seconds;
  r->dry_run = sh->cfg.mode == SB_SHIELD_DRY_RUN;
  r->renew = !sh->renew_off;
  r->allowed = allow_touches6;
  r->shared_good = shared_good6;
  r->ctx = sh;
  sh->block6.last_sweep = sh->last_sweep;
}

static void note6(sb_shield *sh, const sb_verdict *v, double now_ms, int kind) {
  sb_block6_rules r;
  rules6(sh, now_ms, &r);
  if (sb_block6_count(&sh->block6, v->addr, kind, &r, now_ms)) sh->block_pending = 1;
}

/* One more toward the source /24's block: a stranger's existing name shed (`rrl` 0: blk_sheds), or
 * a positive answer or referral rate limited by RRL for a source below the history tier (`rrl` 1:
 * blk_rrl, held to rrl_threshold). */
static void note_count(sb_shield *sh, const sb_verdict *v, double now_ms, int rrl) {
  if (sh->cfg.prefilter_threshold > 0 && v->addr_len == 16 && !v->allowed) {
    note6(sh, v, now_ms, rrl ? SB_B6_RRL : SB_B6_SHED);
    return;
  }
  if (sh->cfg.prefilter_threshold <= 0 || v->addr_len != 4 || v->allowed) return;
  uint32_t p24 = ((uint32_t)v->addr[0] << 24) | ((uint32_t)v->addr[1] << 16) | ((uint32_t)v->addr[2] << 8);
  uint32_t slot = block_slot(sh, p24, now_ms);
  uint32_t *count = rrl ? &sh->blk_rrl[slot] : &sh->blk_sheds[slot];
  count_starts(sh, slot, now_ms);
  if (*count < UINT32_MAX) (*count)++;
  if ((*count & 7) == 0 && *count >= (rrl ? rrl_threshold(sh, slot, now_ms, 0) : pf_threshold(sh, slot, now_ms, 0)))
    sh->block_pending = 1;
}

/* A stranger's query for a missing name (or no zone of ours) shed by an attacked zone's budget or
 * for overload: a random-subdomain flood. It counts toward a block only with many hosts of the
 * /24 doing it in one second (bots; a resolver's /24 shows few addresses, and one with a source of
 * good standing is never blocked anyway). */
static void note_nx_shed(sb_shield *sh, const sb_verdict *v, double now_ms) {
  if (sh->cfg.prefilter_threshold > 0 && v->addr_len == 16 && !v->allowed) {
    note6(sh, v, now_ms, SB_B6_NX);
    return;
  }
  if (sh->cfg.prefilter_threshold <= 0 || v->addr_len != 4 || v->allowed) return;
  uint32_t p24 = ((uint32_t)v->addr[0] << 24) | ((uint32_t)v->addr[1] << 16) | ((uint32_t)v->addr[2] << 8);
  uint32_t slot = block_slot(sh, p24, now_ms);
  count_starts(sh, slot, now_ms);
  if (sh->blk_nx_sheds[slot] < UINT32_MAX) sh->blk_nx_sheds[slot]++;
  sh->blk_hosts[32 * (size_t)slot + (v->addr[3] >> 3)] |= (uint8_t)(1u << (v->addr[3] & 7));
  /* Over the threshold so far: a block to consider now (the host count is checked then). */
  if ((sh->blk_nx_sheds[slot] & 7) == 0 && sh->blk_nx_sheds[slot] >= pf_threshold(sh, slot, now_ms, 0)) sh->block_pending = 1;
}

/* onset2: a stranger's existing name answered while the worker keeps up: its host into the /24's
 * map only (no count, so nothing is blocked in calm times). When the worker falls behind, a flood
 * that began before has its hosts seen already. */
static void note_host(sb_shield *sh, const sb_verdict *v, double now_ms) {
  if (sh->cfg.prefilter_threshold <= 0 || v->addr_len != 4 || v->allowed) return;
  uint32_t p24 = ((uint32_t)v->addr[0] << 24) | ((uint32_t)v->addr[1] << 16) | ((uint32_t)v->addr[2] << 8);
  uint32_t slot = block_slot(sh, p24, now_ms);
  sh->blk_hosts[32 * (size_t)slot + (v->addr[3] >> 3)] |= (uint8_t)(1u << (v->addr[3] & 7));
}

/* bridge21: what a datagram read while the bridge holds stands for: bridge_div datagrams sent for a
 * source the bridge's program passes at its share, one for a source it passes whole (IPv6, an allow
 * range, a /24 of standing — the drill's `nat` bots among them: weighing them 16 swelled the share
 * rule's whole, and in drill a1B the sampled bot /24s stayed under 1/128 of it, 12 of 32 blocked
 * in 1.2 s). */
static uint32_t bridge_weight(const sb_shield *sh, const sb_verdict *v) {
  if (!sh->bridge_on || v->addr_len != 4) return 1;
  uint32_t a = ((uint32_t)v->addr[0] << 24) | ((uint32_t)v->addr[1] << 16) | ((uint32_t)v->addr[2] << 8) | v->addr[3];
  const sb_bridge *b = &sh->bridge;
  for (unsigned i = 0; i < b->nranges; i++)
    if (a >= b->ranges[i][0] && a <= b->ranges[i][1]) return 1;
  if (sb_sorted_has(b->good, b->ngood, a & 0xffffff00u)) return 1;
  return sh->bridge_div_now;
}

/* onset3: a datagram of a source without good standing (any name, answered or not): one more
 * toward its /24's share of what the worker reads lately (calm or `behind`), and its host into the
 * /24's map (this replaces onset2's note_host). While behind, a rebuild is asked for every 16 read
 * (the share is judged then, every /24 at once). */
static void note_stranger(sb_shield *sh, const sb_verdict *v, double now_ms, int behind) {
  if (sh->cfg.prefilter_threshold <= 0 || v->addr_len != 4 || v->allowed) return;
  uint32_t p24 = ((uint32_t)v->addr[0] << 24) | ((uint32_t)v->addr[1] << 16) | ((uint32_t)v->addr[2] << 8);
  uint32_t slot = block_slot(sh, p24, now_ms);
  /* bridge21: while the bridge holds, a sampled stranger's datagram read is one of bridge_div sent. */
  uint32_t w = bridge_weight(sh, v);
  if (sh->blk_recent[slot] == 0 && sh->blk_behind[slot] == 0) sh->blk_first[slot] = now_ms;
  sh->blk_recent[slot] = sh->blk_recent[slot] < UINT32_MAX - w ? sh->blk_recent[slot] + w : UINT32_MAX;
  sh->blk_hosts[32 * (size_t)slot + (v->addr[3] >> 3)] |= (uint8_t)(1u << (v->addr[3] & 7));
  if (!behind) return;
  uint32_t was = sh->blk_behind[slot];
  sh->blk_behind[slot] = was < UINT32_MAX - w ? was + w : UINT32_MAX;
  if ((was >> 4) != (sh->blk_behind[slot] >> 4) && sh->blk_recent[slot] >= SB_SHARE_MIN) sh->block_pending = 1;
}

/* Whether the source's /24 was blocked before (its strikes kept while its slot lives). */
static int struck(const sb_shield *sh, const sb_verdict *v) {
  if (v->addr_len != 4 || sh->cfg.prefilter_threshold <= 0) return 0;
  uint32_t p24 = ((uint32_t)v->addr[0] << 24) | ((uint32_t)v->addr[1] << 16) | ((uint32_t)v->addr[2] << 8);
  int32_t s = sb_table_find(&sh->blocks, sb_mix32(p24, 0x24));
  return s >= 0 && sh->blk_key[s] == p24 && sh->blk_strikes[s] > 0;
}

/* Distinct hosts of the /24 in slot that shed missing names this second. */
static unsigned nx_hosts(const sb_shield *sh, uint32_t slot) {
  unsigned n = 0;
  for (size_t i = 0; i < 32; i++) n += (unsigned)__builtin_popcount(sh->blk_hosts[32 * (size_t)slot + i]);
  return n;
}

/* Whether an allow-listed prefix overlaps the /24 p24. */
static int allow_touches(const sb_shield *sh, uint32_t p24) {
  for (unsigned i = 0; i < sh->cfg.nallow; i++) {
    if (sh->cfg.allow_len[i] != 4) continue;
    uint32_t a = ((uint32_t)sh->cfg.allow[i][0] << 24) | ((uint32_t)sh->cfg.allow[i][1] << 16) |
                 ((uint32_t)sh->cfg.allow[i][2] << 8) | sh->cfg.allow[i][3];
    unsigned bits = sh->cfg.allow_bits[i] < 24 ? sh->cfg.allow_bits[i] : 24;
    uint32_t m = bits == 0 ? 0 : ~(0xffffffffu >> bits);
    if ((a & m) == (p24 & m)) return 1;
  }
  return 0;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* expiry19 (docs/SHIELD.md "Renewed from evidence"): the window of a block's sample judged at its
 * expiry. 4 s: a /24 sending at the threshold (200 a second by default) gives ~3 sampled datagrams
 * in it at 1 in 256, a flood of 1,000 a second ~16 (under 4 with odds of about 1 in 10,000). */
#define SB_RENEW_WINDOW_MS 4000.0

/* A block whose sample at expiry shows traffic but under the threshold, kept this much longer (once)
 * to be judged again on the sample of that time alone: a flood that came back just before the
 * expiry (the drill's wave 2 starts 0-4 s before its wave-1 blocks end, after a 10 s lull) shows a
 * few sampled datagrams over a window that is mostly the lull. */
#define SB_RENEW_GRACE_MS 2000.0

/* What the sample read from the blocked /24 in slot over the block's last seconds shows: 2 still
 * over the threshold (the count scaled by the sample's share, as a rate over the window) from at
 * least SB_RENEW_HOSTS hosts, 1 some traffic (under the threshold, or from fewer hosts: a
 * resolver or two asking on after the bots stopped is not a flood to hold the /24 for), 0 none. */
static int sampled_state(const sb_shield *sh, uint32_t slot, double now_ms) {
  if (sh->renew_off || sh->blk_sampled[slot] == 0) return 0;
  double ms = now_ms - sh->blk_sampled_since[slot];
  if (ms < 1000) ms = 1000;
  return (double)sh->blk_sampled[slot] * SB_PREFILTER_SAMPLE_DIV * 1000 / ms >= sh->cfg.prefilter_threshold &&
                 sh->blk_sampled_nhosts[slot] >= SB_RENEW_HOSTS
             ? 2
             : 1;
}

/* A block's length: prefilter_seconds doubled per strike (up to 16x), plus up to an eighth drawn
 * from the /24 and the count of blocks (expiry19): /24s blocked in the same second of a flood's
 * onset lapse over several seconds (30-33.75 s for a first block), not all in one, and each is
 * judged on its own sample. Added, not taken off: a block lasts at least what the operator set,
 * and a flood pulsing with the block's period (the drill's waves start 30 s apart) is still on when
 * its blocks end, so their samples renew them, rather than being ended in the lull before it. */
static double block_length(const sb_shield *sh, uint32_t slot, unsigned strikes) {
  double ms = sh->cfg.prefilter_seconds * 1000 * (double)(1u << strikes);
  if (sh->renew_off) return ms;
  uint32_t h = sb_mix32(sh->blk_key[slot], (uint32_t)(sh->blocks_made + sh->blocks_renewed) * 0x9e3779b9u);
  return ms + ms / 8 * (double)(h & 0xffff) / 65536.0;
}

/* Whether the source is in this worker's blocked set (sorted): a datagram from it reached the
 * worker past the UDP program's sample (or was queued before the block), expiry19. */
static int in_blocked(const sb_shield *sh, const sb_verdict *v) {
  if (v->addr_len == 16) return sb_block6_blocked(&sh->block6, v->addr);
  return v->addr_len == 4 && sb_tcp_in_blocked(v->addr, 4, sh->blocked, sh->nblocked);
}

/* A sampled datagram: counted toward its /24's renewal, then dropped (never answered). */
static void note_sampled(sb_shield *sh, const sb_verdict *v) {
  if (v->addr_len == 16) {
    sb_block6_sampled(&sh->block6, v->addr); /* counted in block6.sampled, not here */
    return;
  }
  sh->sampled++;
  uint32_t p24 = ((uint32_t)v->addr[0] << 24) | ((uint32_t)v->addr[1] << 16) | ((uint32_t)v->addr[2] << 8);
  int32_t s = sb_table_find(&sh->blocks, sb_mix32(p24, 0x24));
  if (s < 0 || sh->blk_key[s] != p24) return;
  if (sh->blk_sampled[s] < UINT32_MAX) sh->blk_sampled[s]++;
  /* Its host among the window's first SB_RENEW_HOSTS distinct ones (renew20). */
  uint8_t *hosts = sh->blk_sampled_hosts + SB_RENEW_HOSTS * (size_t)s;
  unsigned n = sh->blk_sampled_nhosts[s], i = 0;
  while (i < n && hosts[i] != v->addr[3]) i++;
  if (i == n && n < SB_RENEW_HOSTS) {
    hosts[n] = v->addr[3];
    sh->blk_sampled_nhosts[s] = (uint8_t)(n + 1);
  }
}

/* Block the /24s over the threshold and let expired blocks go: once a second (`sweep`: the
 * counts then start a new second), and as soon as a /24's count so far this second reaches the
 * threshold prorated to the time gone (not `sweep`: counts kept; at most every
 * SB_PREFILTER_EARLY_MS) — a /24 whose datagrams are shed at 400 a second is blocked ~100 ms
 * after the shedding starts, not at the end of its second (nor, with a flat threshold, never,
 * when the shedding starts late in the second). */
static void prefilter_scan(sb_shield *sh, double now_ms, int sweep) {
  if (sh->cfg.prefilter_threshold <= 0) return;
  uint32_t next[512];
  unsigned n = 0;
  sh->block_pending = 0;
  sh->last_early = now_ms;
  /* Distinct hosts a /24's missing names (or, while behind, its existing names) need: fewer while
   * the worker is behind, the map then holding the last second's hosts too (onset). */
  int behind = sh->overload.level >= 1 || behind_now(sh, now_ms) || sh->bridge_on;
  unsigned hosts_needed = sh->onset_off || !behind ? SB_PREFILTER_NX_HOSTS
                          : sh->onset2_off         ? SB_PREFILTER_NX_HOSTS_BEHIND
                                                   : SB_PREFILTER_NX_HOSTS_ONSET;
  /* onset3: all strangers' datagrams read while behind (the share rule's whole), judged while the
   * worker is behind. */
  double total = 0;
  int share_on = behind && !sh->onset3_off && !sh->onset_off && !sh->onset2_off;
  for (uint32_t s = 0; share_on && s < sh->blocks.size; s++)
    if (sh->blocks.keys[s] != 0) total += sh->blk_recent[s];
  int tracing = sh->onset_start > 0 && !sh->onset_reported && now_ms >= sh->onset_start &&
                now_ms - sh->onset_start < (double)SB_ONSET_SLICES * SB_ONSET_SLICE_MS;
  for (uint32_t s = 0; s < sh->blocks.size; s++) {
    if (sh->blocks.keys[s] == 0) continue;
    /* Before the sweep: the threshold prorated to the /24's time so far this second. */
    double threshold = pf_threshold(sh, s, now_ms, sweep);
    double rrl_at = rrl_threshold(sh, s, now_ms, sweep);
    unsigned hosts = nx_hosts(sh, s);
    uint8_t rule = sh->blk_sheds[s] >= threshold                        ? 's'
                   : sh->blk_rrl[s] >= rrl_at                           ? 'r'
                   : sh->blk_nx_sheds[s] >= threshold && hosts >= hosts_needed ? 'n'
                                                                                : 0;
    /* The share rule: a falling-behind worker reads a sample of what each /24 sends (at a quarter
     * core in the drill's wave 1, 2,000-30,000 datagrams a second of ~330,000 sent), so a bot /24
     * sending 2,500 a second may be read at under the threshold's 200 while it still takes a
     * fortieth of the worker's reads. Judged against what the worker reads, not a rate. */
    if (!rule && share_on && total >= SB_SHARE_MIN_TOTAL && sh->blk_recent[s] >= SB_SHARE_MIN &&
        (double)sh->blk_recent[s] * SB_SHARE_DIV >= total && hosts >= SB_SHARE_HOSTS &&
        sh->blk_behind[s] >= SB_SHARE_BEHIND)
      rule = 'S';
    /* expiry19: a block at its end, renewed (through the same checks as a new one) when its sample
     * shows the /24 still over the threshold; a /24 gone quiet is released. */
    int expiring = sh->blk_until[s] > 0 && sh->blk_until[s] <= now_ms;
    int sampled = expiring ? sampled_state(sh, s, now_ms) : 0;
    if (!rule && sampled == 2) rule = 'e';
    /* Some traffic but under the threshold, not yet given the grace: judged again in 2 s. */
    if (!rule && sampled == 1 && !sh->blk_grace[s]) rule = 'g';
    if (rule && now_ms >= sh->blk_good_until[s] && !allow_touches(sh, sh->blk_key[s])) {
      if (sh->cfg.mode == SB_SHIELD_DRY_RUN) {
        if (sweep) sh->would_block++; /* once per /24 and second, as before */
      } else if (sh->blk_until[s] <= now_ms && !sh->shared_good_off && shared_good(sh, sh->blk_key[s], now_ms)) {
        sh->blk_good_until[s] = now_ms + SHARED_GOOD_MS;
        sh->blocks_spared++;
      } else if (rule == 'g') {
        sh->blk_until[s] = now_ms + SB_RENEW_GRACE_MS; /* no strike: not a block of its own */
        sh->blk_grace[s] = 1;
        sample_restart(sh, s, now_ms);
        sh->blocks_graced++;
      } else if (sh->blk_until[s] <= now_ms) {
        unsigned strikes = sh->blk_strikes[s] < 4 ? sh->blk_strikes[s] : 4;
        sh->blk_grace[s] = 0;
        sh->blk_until[s] = now_ms + block_length(sh, s, strikes);
        if (sh->blk_strikes[s] < 255) sh->blk_strikes[s]++;
        sample_restart(sh, s, now_ms);
        if (expiring) sh->blocks_renewed++;
        else sh->blocks_made++;
        if (!expiring && sh->bridge_on) sh->bridge_last_block = now_ms;
        if (!expiring && tracing && sh->nonset_blocks < SB_ONSET_BLOCKS) {
          struct sb_onset_block *e = &sh->onset_blocks[sh->nonset_blocks++];
          e->p24 = sh->blk_key[s];
          e->at = (float)(now_ms - sh->onset_start);
          e->first = sh->blk_first[s] > 0 ? (float)(sh->blk_first[s] - sh->onset_start) : 0;
          e->hosts = hosts;
          e->recent = sh->blk_recent[s];
          e->total = (uint32_t)total;
          e->behind = sh->blk_behind[s];
          e->nx = sh->blk_nx_sheds[s];
          e->sheds = sh->blk_sheds[s];
          e->rrl = sh->blk_rrl[s];
          e->rule = rule;
        }
      }
    }
    if (sweep) {
      /* onset3: the share's counts halved each second (a /24's part of the last seconds). */
      sh->blk_behind[s] >>= 1;
      sh->blk_recent[s] >>= 1;
      if (sh->blk_behind[s] == 0 && sh->blk_recent[s] == 0) sh->blk_first[s] = 0;
      sh->blk_sheds[s] = 0;
      sh->blk_rrl[s] = 0;
      sh->blk_since[s] = 0;
      /* The host map: kept for one more second after a second with counts (onset), else cleared. */
      /* onset2: also after a second whose strangers only asked for existing names while the worker
       * kept up (their hosts, noted in calm), so a sweep just after a flood's start keeps them. */
      int hosts = !sh->onset2_off && nx_hosts(sh, s) > 0;
      int keep = !sh->onset_off && !sh->blk_carry[s] && (sh->blk_nx_sheds[s] != 0 || hosts);
      if (!keep && (sh->blk_nx_sheds[s] != 0 || sh->blk_carry[s] || hosts)) memset(sh->blk_hosts + 32 * (size_t)s, 0, 32);
      sh->blk_carry[s] = (uint8_t)keep;
      sh->blk_nx_sheds[s] = 0;
      /* The sample's window: the last SB_RENEW_WINDOW_MS (and up to a second more) of the block. */
      if (sh->blk_until[s] - now_ms > SB_RENEW_WINDOW_MS) {
        sample_restart(sh, s, now_ms);
      }
    }
    if (sh->blk_until[s] > now_ms && n < 512) next[n++] = sh->blk_key[s];
    else if (sh->blk_until[s] > 0 && sh->blk_until[s] <= now_ms) sh->blk_until[s] = 0;
  }
  qsort(next, n, sizeof(uint32_t), cmp_u32);
  if (n != sh->nblocked || memcmp(next, sh->blocked, n * sizeof(uint32_t)) != 0) {
    if (n > sh->nblocked) sh->blocked_at = now_ms;
    if (sh->nblocked == 0 && n > 0) sh->blocked_first_at = now_ms;
    memcpy(sh->blocked, next, n * sizeof(uint32_t));
    sh->nblocked = n;
    sh->blocked_version = ++g_prefilter_version;
  }
  /* ipv626: the IPv6 /56s, by the same rules (block6.c). */
  sb_block6_rules r6;
  rules6(sh, now_ms, &r6);
  unsigned before6 = sh->block6.nblocked;
  if (sb_block6_scan(&sh->block6, &r6, now_ms, sweep)) {
    if (sh->block6.nblocked > before6) sh->blocked_at = now_ms;
    sh->blocked_version = ++g_prefilter_version;
  }
}

/* ---- the prefilter's QNAME filter: an attacked zone's missing names dropped in the kernel ---- */

static int cmp_hash(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* ---- calm-time missing names (the filter's known missing names) ---- */

#define KNOWN_MS 600000 /* remembered 10 minutes from the last time asked */

static double known_rank(void *ctx, uint32_t slot) {
  const sb_shield *sh = ctx;
  /* Keep names asked again and recently; give up the oldest asked-once name first. */
  int again = sh->known_count[slot] >= 2 && sh->known_now - sh->known_seen[slot] < KNOWN_MS;
  return (again ? 1e15 : 0) + sh->known_seen[slot];
}

/* The filter's hash of the QNAME of a datagram classified in zone `zone_key` (its labels in
 * front of the zone's origin), or 0 with *ok 0 when it has none (no image, the apex, bad). */
static uint32_t qname_qf_hash(const sb_preparse *pp, const uint8_t *pkt, size_t len, uint32_t zone_key, int *ok) {
  *ok = 0;
  const void *image;
  const uint8_t *origin;
  size_t olen;
  size_t qlen = pp->qname_len;
  if (qlen == 0 || 12 + qlen > len) return 0;
  if (sb_images_names_of(zone_key, &image, &origin, &olen, NULL, NULL) != 0) return 0;
  if (olen < 3 || olen >= qlen) return 0;
  *ok = 1;
  return sb_qf_hash(pkt + 12, (unsigned)(qlen - olen), pkt + 12 + (qlen - olen), (unsigned)olen);
}

/* A missing name asked in calm times: counted (once per 100 ms, so a resolver's burst of retries
 * counts about once). */
static void known_note(sb_shield *sh, uint32_t zone_key, uint32_t h, double now_ms) {
  uint32_t key = sb_mix32(zone_key, h);
  if (key == 0) key = 1;
  sh->known_now = now_ms;
  uint32_t slot = sb_table_claim(&sh->known, key, known_rank, sh);
  if (sh->known.claimed) {
    sh->known_zone[slot] = zone_key;
    sh->known_hash[slot] = h;
    sh->known_count[slot] = 1;
    sh->known_seen[slot] = now_ms;
    return;
  }
  if (now_ms - sh->known_seen[slot] >= 100 && sh->known_count[slot] < 0xffff) sh->known_count[slot]++;
  sh->known_seen[slot] = now_ms;
}

typedef struct {
  uint32_t *out;
  unsigned n, cap, olen;
} qf_names;

static int qf_take(void *ctx, const uint8_t *name, size_t len) {
  qf_names *q = ctx;
  if (q->n >= q->cap) return 1;
  if (len <= q->olen) return 0;
  q->out[q->n++] = sb_qf_hash(name, (unsigned)(len - q->olen), name + len - q->olen, q->olen);
  return 0;
}

static int qf_find(const sb_shield *sh, uint32_t key) {
  for (unsigned i = 0; i < sh->nqf; i++)
    if (sh->qf[i].key == key) return (int)i;
  return -1;
}

static uint32_t qf_admit_of(double flood) {
  double share = flood > SB_QF_ADMIT_PER_SECOND ? SB_QF_ADMIT_PER_SECOND / flood : 1;
  if (share < 1.0 / 65536) share = 1.0 / 65536;
  double a = share * 4294967296.0;
  return a >= 4294967295.0 ? 0xffffffffu : (uint32_t)a;
}

/* The names of zone `key`'s image as the filter's set of zone slot i (the zone's origin
 * copied): 1, or 0 when the zone does not qualify (no image, not a plain zone, too many names
 * for the room left, an origin too long or too deep). */
static int qf_load(sb_shield *sh, unsigned i, uint32_t key) {
  const void *image;
  const uint8_t *origin;
  size_t olen;
  unsigned used = 0;
  for (unsigned k = 0; k < sh->nqf; k++)
    if (k != i) used += sh->qf_zones[k].nhashes;
  uint32_t *hashes = malloc(SB_QF_MAX_NAMES * sizeof(uint32_t));
  if (hashes == NULL) return 0;
  qf_names q = {hashes, 0, SB_QF_MAX_NAMES - used, 0};
  /* The origin first (its length is needed to split each name). */
  int r = sb_images_names_of(key, &image, &origin, &olen, NULL, NULL);
  if (r == -1 || olen < 3 || olen > SB_QF_MAX_ORIGIN) {
    free(hashes);
    return 0;
  }
  q.olen = (unsigned)olen;
  r = sb_images_names_of(key, &image, &origin, &olen, qf_take, &q);
  if (r < 0) {
    free(hashes);
    return 0;
  }
  /* The zone's missing names asked again in calm times, the most recent first would be better;
   * the table's order is good enough (bounded by SB_QF_KNOWN_PER_ZONE and the room left). */
  unsigned known = 0;
  for (uint32_t k = 0; k < sh->known.size && q.n < q.cap && known < SB_QF_KNOWN_PER_ZONE; k++) {
    if (sh->known.keys[k] == 0 || sh->known_zone[k] != key || sh->known_count[k] < 2) continue;
    if (sh->known_now - sh->known_seen[k] >= KNOWN_MS) continue;
    hashes[q.n++] = sh->known_hash[k];
    known++;
  }
  sh->qf_known_added = known; /* of the last set read */
  qsort(hashes, q.n, sizeof(uint32_t), cmp_hash);
  unsigned u = 0;
  for (unsigned k = 0; k < q.n; k++)
    if (u == 0 || hashes[k] != hashes[u - 1]) hashes[u++] = hashes[k];
  sb_qf_zone *z = &sh->qf_zones[i];
  memset(z->origin, 0, sizeof(z->origin));
  memcpy(z->origin, origin, olen);
  z->origin_len = (unsigned)olen;
  unsigned labels = 0;
  for (size_t p = 0; p < olen && origin[p] != 0; p += 1u + origin[p]) labels++;
  if (labels < 1 || labels > SB_QF_MAX_LABELS - 2) {
    free(hashes);
    return 0;
  }
  z->labels = labels;
  free(sh->qf[i].hashes);
  sh->qf[i].hashes = hashes;
  sh->qf[i].image = image;
  z->hashes = hashes;
  z->nhashes = u;
  return 1;
}

static void qf_remove(sb_shield *sh, unsigned i) {
  free(sh->qf[i].hashes);
  for (unsigned k = i; k + 1 < sh->nqf; k++) {
    sh->qf[k] = sh->qf[k + 1];
    sh->qf_zones[k] = sh->qf_zones[k + 1];
  }
  sh->nqf--;
  memset(&sh->qf[sh->nqf], 0, sizeof(sh->qf[0]));
  memset(&sh->qf_zones[sh->nqf], 0, sizeof(sh->qf_zones[0]));
  sh->qf_ended++;
}

static int qf_refused(sb_shield *sh, uint32_t key, double now_ms) {
  for (unsigned k = 0; k < 8; k++)
    if (sh->qf_refused[k] == key && sh->qf_refused_until[k] > now_ms) return 1;
  return 0;
}

static void qf_refuse(sb_shield *sh, uint32_t key, double now_ms) {
  unsigned at = 0;
  for (unsigned k = 1; k < 8; k++)
    if (sh->qf_refused_until[k] < sh->qf_refused_until[at]) at = k;
  sh->qf_refused[at] = key;
  sh->qf_refused_until[at] = now_ms + 10000;
  sh->qf_refusals++;
}

/* Every SB_QF_ESTIMATE_MS (or at once with `force`), each filtered zone's flood is estimated from
 * what the kernel let through since the last estimate (missing names read / the share) and its
 * share re-sized when it is off by more than 1.5x. 1 when a share changed (the program is rebuilt). */
static int qf_estimate(sb_shield *sh, double now_ms, int force) {
  int changed = 0;
  for (unsigned i = 0; i < sh->nqf; i++) {
    struct sb_qf_state *st = &sh->qf[i];
    sb_qf_zone *z = &sh->qf_zones[i];
    double window = now_ms - st->since;
    if (window < (sh->qf_slow ? 1000 : SB_QF_ESTIMATE_MS) && !(force && window > 0)) continue;
    /* What the kernel let through is the share; in dry run it let everything through. */
    double share = sh->cfg.mode == SB_SHIELD_DRY_RUN ? 1 : z->admit == 0 ? 1.0 / 4294967296.0 : z->admit / 4294967296.0;
    double flood = st->missing * 1000 / window / share;
    st->missing = 0;
    st->since = now_ms;
    st->estimate = flood;
    if (flood > st->peak) st->peak = flood;
    /* qfhold: sized for the larger of this estimate and the earlier size halved every
     * SB_QF_SHARE_HALF_LIFE_MS, so a pause between waves leaves the share near the flood's. */
    double decayed = st->sized * exp2(-window / SB_QF_SHARE_HALF_LIFE_MS);
    st->sized = sh->qf_hold_off || flood > decayed ? flood : decayed;
    uint32_t admit = qf_admit_of(st->sized);
    double was = z->admit, now = admit;
    /* A larger share only while the worker keeps up: behind, it reads less than got through and
     * the estimate is low (a smaller share is always taken). */
    if ((now > was * 1.5 && (sh->overload.level == 0 || sh->qf_slow)) || now * 1.5 < was) {
      z->admit = admit;
      changed = 1;
    }
  }
  return changed;
}

/* A zone just called attacked joins the filter when it qualifies; once a second, each zone's
 * flood is estimated from what the kernel let through (missing names read / share) and its share
 * set so that about SB_QF_ADMIT_PER_SECOND get through; a zone whose estimated flood stayed under
 * its floor for the detector's hold leaves; a zone whose image changed has its names read again. */
static void qf_clock(sb_shield *sh, double now_ms, int sweep, double elapsed_ms) {
  int changed = 0;
  uint32_t key = sh->qf_candidate;
  if (key != 0) {
    sh->qf_candidate = 0;
    if (sh->nqf < SB_QF_MAX_ZONES && qf_find(sh, key) < 0 && !qf_refused(sh, key, now_ms)) {
      unsigned i = sh->nqf;
      memset(&sh->qf[i], 0, sizeof(sh->qf[i]));
      if (qf_load(sh, i, key)) {
        sh->qf[i].key = key;
        /* The first share from the detector's rates: the smoothed rate, or this second's so far. */
        int32_t slot = sb_table_find(&sh->zones.table, key);
        double flood = SB_QF_ADMIT_PER_SECOND;
        if (slot >= 0 && sh->zones.key[slot] == key) {
          double q, nx;
          sb_zones_rates(&sh->zones, (uint32_t)slot, now_ms, &q, &nx);
          double part = now_ms - sh->zones.second[slot] * 1000;
          double now_rate = sh->zones.missing[slot] * 1000 / (part > (sh->qf_slow ? 200 : 50) ? part : (sh->qf_slow ? 200 : 50));
          flood = nx > now_rate ? nx : now_rate;
        }
        /* The flood since the last try (about 50 ms): a burst shows at once. */
        if (!sh->qf_slow && key == sh->qf_cand_zone && now_ms - sh->qf_cand_since >= 20) {
          double burst = sh->qf_cand_missing * 1000 / (now_ms - sh->qf_cand_since);
          if (burst > flood) flood = burst;
        }
        if (key == sh->qf_cand_zone) {
          sh->qf_cand_missing = 0;
          sh->qf_cand_since = now_ms;
        }
        if (flood < SB_QF_MIN_FLOOD) {
          /* Shed in user space for now (a missing name asks again at the next 50 ms). */
          free(sh->qf[i].hashes);
          memset(&sh->qf[i], 0, sizeof(sh->qf[i]));
          memset(&sh->qf_zones[i], 0, sizeof(sh->qf_zones[i]));
        } else {
          /* The first share errs small (SB_QF_FIRST_FLOOD): what gets through under a small share
           * is read in full, so the next window's estimate is true; under too large a share the
           * worker falls behind and reads less than got through, and the estimate stays low. */
          sh->qf_zones[i].admit = qf_admit_of(flood > SB_QF_FIRST_FLOOD || sh->qf_slow ? flood : SB_QF_FIRST_FLOOD);
          sh->qf[i].estimate = flood;
          sh->qf[i].sized = flood;
          sh->qf[i].peak = flood;
          sh->qf[i].since = now_ms;
          sh->nqf++;
          sh->qf_made++;
          sh->qf_made_at = now_ms;
          changed = 1;
        }
      } else {
        qf_refuse(sh, key, now_ms);
      }
    }
  }
  (void)elapsed_ms;
  if (qf_estimate(sh, now_ms, sweep)) changed = 1;
  if (sweep) {
    for (unsigned i = 0; i < sh->nqf;) {
      struct sb_qf_state *st = &sh->qf[i];
      sb_qf_zone *z = &sh->qf_zones[i];
      int32_t slot = sb_table_find(&sh->zones.table, st->key);
      double floor_nx = slot >= 0 && sh->zones.key[slot] == st->key ? sh->zones.min_nx_of[slot] : sh->zones.min_nx;
      st->quiet = st->peak < floor_nx ? st->quiet + 1 : 0;
      st->peak = st->estimate;
      const void *image = NULL;
      const uint8_t *origin;
      size_t olen;
      int present = sb_images_names_of(st->key, &image, &origin, &olen, NULL, NULL) != -1;
      if (st->quiet >= sh->zones.hold || !present) {
        qf_remove(sh, i);
        changed = 1;
        continue;
      }
      /* Every 5 s the set is read again: missing names asked again since (while the detector
       * had the zone out of attack) join it; and at once when the image changed. */
      st->refresh += 1;
      int new_image = image != st->image;
      if (new_image || st->refresh >= 5) {
        st->refresh = 0;
        unsigned had = z->nhashes;
        if (!qf_load(sh, i, st->key)) {
          qf_refuse(sh, st->key, now_ms);
          qf_remove(sh, i);
          changed = 1;
          continue;
        }
        if (new_image || z->nhashes != had) changed = 1;
      }
      (void)z;
      i++;
    }
  }
  if (changed) sh->blocked_version = ++g_prefilter_version;
}

static uint64_t g_qf_rng = 0x9E3779B97F4A7C15ull;

/* A missing name of a zone read while the filter holds it (what the kernel let through; in dry
 * run all of it, and what the kernel would have dropped is counted). */
static void qf_note_missing(sb_shield *sh, uint32_t zone_key, const uint8_t *pkt, size_t len, uint32_t weight) {
  int i = qf_find(sh, zone_key);
  if (i < 0) return;
  sh->qf[i].missing += weight;
  if (sh->cfg.mode == SB_SHIELD_DRY_RUN) {
    g_qf_rng ^= g_qf_rng << 13;
    g_qf_rng ^= g_qf_rng >> 7;
    g_qf_rng ^= g_qf_rng << 17;
    if (sb_qf_decide(sh->qf_zones, sh->nqf, pkt, len, (uint32_t)(g_qf_rng >> 17)) == 0) sh->qf_would_drop++;
  }
}

unsigned sb_shield_prefilter_zones(const sb_qf_zone **zones) {
  sb_shield *sh = g_shield;
  if (sh == NULL || sh->cfg.mode != SB_SHIELD_ON || sh->cfg.prefilter_threshold <= 0) {
    *zones = NULL;
    return 0;
  }
  *zones = sh->qf_zones;
  return sh->nqf;
}

uint32_t sb_shield_prefilter_sample(void) {
  const sb_shield *sh = g_shield;
  if (sh == NULL || sh->cfg.mode != SB_SHIELD_ON || sh->cfg.prefilter_threshold <= 0 || sh->renew_off) return 0;
  return SB_PREFILTER_SAMPLE;
}

unsigned sb_shield_prefilter(const uint32_t **prefixes, unsigned *n) {
  sb_shield *sh = g_shield;
  if (sh == NULL || sh->cfg.mode != SB_SHIELD_ON || sh->cfg.prefilter_threshold <= 0) {
    *prefixes = NULL;
    *n = 0;
    return 0;
  }
  *prefixes = sh->blocked;
  *n = sh->nblocked;
  return sh->blocked_version;
}

void sb_shield_prefilter6(const uint64_t **keys, unsigned *n) {
  sb_shield *sh = g_shield;
  if (sh == NULL || sh->cfg.mode != SB_SHIELD_ON || sh->cfg.prefilter_threshold <= 0) {
    *keys = NULL;
    *n = 0;
    return;
  }
  *keys = sh->block6.blocked;
  *n = sh->block6.nblocked;
}

static int admit(sb_shield *sh, const sb_preparse *pp, const uint8_t *pkt, size_t len, const void *src,
                 double now_ms, sb_verdict *v);

int sb_shield_admit(sb_shield *sh, const sb_preparse *pp, const uint8_t *pkt, size_t len, const void *src,
                    double now_ms, sb_verdict *v) {
  int r = admit(sh, pp, pkt, len, src, now_ms, v);
  /* The onset trace (accounting only). */
  if (sh->onset_start > 0 && now_ms >= sh->onset_start) {
    double d = (now_ms - sh->onset_start) / SB_ONSET_SLICE_MS;
    if (d < SB_ONSET_SLICES) {
      uint32_t *f = sh->onset[(unsigned)d];
      unsigned tier = v->tier < 4 ? v->tier : 0;
      f[tier]++;
      if (r != SB_ADMIT_ANSWER) f[4 + tier]++;
      f[8] = sh->nblocked;
      f[9] = (uint32_t)sh->overload.level;
      f[10] = sh->nqf;
      if (behind_now(sh, now_ms)) f[11]++;
    }
  }
  return r;
}

static int admit(sb_shield *sh, const sb_preparse *pp, const uint8_t *pkt, size_t len, const void *src,
                 double now_ms, sb_verdict *v) {
  sh->seen++;
  memset(v, 0, sizeof(*v));
  v->addr_len = source_octets(src, v->addr);
  if (v->addr_len == 0) {
    sh->answered++;
    return SB_ADMIT_ANSWER;
  }
  if (!sh->renew_off && in_blocked(sh, v)) {
    note_sampled(sh, v);
    sh->dropped++;
    return SB_ADMIT_DROP;
  }
  /* thin26: the bridge's window of reads (what its share kept out: the long bridge). */
  if (sh->bridge_on) {
    uint32_t w = bridge_weight(sh, v);
    if (w == 1)
      sh->bw_whole++;
    else
      sh->bw_offered += w;
  }
  v->allowed = (uint8_t)sb_shield_allow_listed(sh, v->addr, v->addr_len);
  int in_zone = 1, exists = 1;
  uint32_t zone_key = 0;
  int classified = 0;
  if (sb_images_count() > 0) {
    /* Without installed images there is no zone signal: every datagram counts as an existing
     * name of a zone (only the source tiers and the overload level decide). */
    int ex = 0;
    in_zone = pp->status == 0 && sb_image_classify(pp, pkt, len, &zone_key, &ex);
    exists = in_zone && ex;
    classified = in_zone;
  }
  v->in_zone = (uint8_t)in_zone;
  v->exists = (uint8_t)exists;
  v->zone_key = zone_key;
  int cookie = SB_COOKIE_NONE;
  v->cookie_at = -1;
  if (sh->cfg.nsecrets > 0) {
    size_t olen = 0;
    long at = find_cookie(pp, pkt, len, &olen);
    v->cookie_at = at;
    cookie = sb_cookie_check(pkt, len, at, olen, v->addr, v->addr_len, sh->wall,
                             (const uint8_t(*)[16])sh->cfg.secrets, sh->cfg.nsecrets);
  }
  sh->cookies[cookie]++;
  v->cookie = (int8_t)cookie;
  uint32_t key = sb_sources_key(v->addr, v->addr_len);
  if (cookie == SB_COOKIE_VALID) sb_sources_note_cookie(&sh->sources, key, now_ms);
  int tier = sb_sources_tier(&sh->sources, key, cookie == SB_COOKIE_VALID, now_ms);
  v->tier = (uint8_t)tier;
  /* Good standing, which keeps the source's /24 out of the kernel prefilter: a valid cookie or a
   * calm-time history. The tcp tier alone is not enough: a bot that was sent a TC=1 and then
   * joins its own connection flood earns it (the drill's bots did, wave after wave, and their
   * /24s could no longer be blocked). */
  int good = tier == SB_TIER_COOKIE || (tier >= SB_TIER_HISTORY && sb_sources_has_history(&sh->sources, key, now_ms));
  if (good) note_good(sh, v, now_ms);
  /* onset3: the share of what the worker reads while behind, per /24 of sources without standing. */
  else if (!sh->onset3_off && !sh->onset2_off && !sh->onset_off)
    note_stranger(sh, v, now_ms, sh->overload.level >= 1 || behind_now(sh, now_ms) || sh->bridge_on);
  /* bridge21: while the bridge holds, a datagram of a source without standing stands for
   * bridge_div sent (the kernel passed 1 in bridge_div of them): so it counts in the QNAME filter's
   * flood estimates, which would otherwise read the bots' random names 16 times too few (a source
   * the program passes whole weighs 1: bridge_weight). */
  uint32_t weight = good ? 1 : bridge_weight(sh, v);
  int attacked = 0, within = 1;
  if (classified) {
    unsigned events = sh->zones.nevents;
    uint32_t slot = sb_zones_observe(&sh->zones, zone_key, exists, now_ms);
    attacked = sh->zones.attacked[slot];
    if (attacked && sh->zones.nevents > events) sh->attacked_at = now_ms;
    int known = 0;
    if (!exists && sh->cfg.prefilter_threshold > 0 && !sh->qf_off) {
      /* Calm: remember the missing name. Attacked, in the filter: a missing name of its set was
       * asked again in calm times (a typo, a stale link: not a random subdomain) — answered
       * outside the zone's budget, as the kernel let it through. */
      int ok = 0, i = attacked ? qf_find(sh, zone_key) : -1;
      uint32_t h = !attacked || i >= 0 ? qname_qf_hash(pp, pkt, len, zone_key, &ok) : 0;
      if (ok && !attacked) known_note(sh, zone_key, h, now_ms);
      if (ok && attacked) {
        if (i >= 0) {
          const sb_qf_zone *z = &sh->qf_zones[i];
          unsigned lo = 0, hi = z->nhashes;
          while (lo < hi && !known) {
            unsigned mid = lo + (hi - lo) / 2;
            if (z->hashes[mid] == h) known = 1;
            else if (z->hashes[mid] < h) lo = mid + 1;
            else hi = mid;
          }
        }
      }
    }
    if (attacked && !exists) within = known ? 1 : sb_zones_admit_missing(&sh->zones, slot, now_ms);
  }
  if (classified && sh->cfg.prefilter_threshold > 0) {
    if (!exists && sh->nqf > 0) qf_note_missing(sh, zone_key, pkt, len, weight);
    if (attacked && !exists && !sh->qf_off && sh->nqf < SB_QF_MAX_ZONES && qf_find(sh, zone_key) < 0) {
      if (sh->qf_candidate == 0) sh->qf_candidate = zone_key;
      if (sh->qf_cand_zone != zone_key && (sh->qf_cand_zone == 0 || now_ms - sh->qf_cand_since > 1000)) {
        sh->qf_cand_zone = zone_key;
        sh->qf_cand_missing = 0;
        sh->qf_cand_since = now_ms;
      }
      if (sh->qf_cand_zone == zone_key) sh->qf_cand_missing += weight;
    }
  }
  if (sh->overload.level == 0 && !attacked && pp->status == 0) sb_sources_note_calm(&sh->sources, key, exists, now_ms);
  /* Where admission may answer TC=1: is it worth it (has the source used TCP)? */
  int used_tcp = (sh->overload.level >= 2 || (attacked && !exists)) && sb_sources_used_tcp(&sh->sources, key, cookie == SB_COOKIE_VALID, now_ms);
  if (v->allowed) {
    sh->allowed++;
    sh->answered++;
    return SB_ADMIT_ANSWER;
  }
  int dry = sh->cfg.mode == SB_SHIELD_DRY_RUN;
  if (cookie == SB_COOKIE_MALFORMED && !dry) {
    sh->formerr++;
    return SB_ADMIT_FORMERR;
  }
  /* Under attack or overload, a client that speaks cookies but has no valid one gets BADCOOKIE
   * and a fresh cookie instead of the answer: one small reply, and its retry comes back in the
   * cookie tier (RFC 7873 §5.2.3); a spoofed source never sees the cookie. */
  if ((cookie == SB_COOKIE_CLIENT_ONLY || cookie == SB_COOKIE_INVALID) && (pp->flags & SB_PF_OPT) &&
      (sh->overload.level >= 1 || (attacked && !exists))) {
    if (dry) {
      sh->would_badcookie++;
    } else {
      sh->badcookie++;
      return SB_ADMIT_BADCOOKIE;
    }
  }
  double shed_before = sh->adm.shed_overload[tier] + sh->adm.shed_budget[tier];
  int verdict =
      sb_admission_decide(&sh->adm, tier, in_zone, exists, attacked, within, sh->overload.level, used_tcp, now_ms);
  /* Toward a kernel block: strangers' existing names shed (a direct flood), and strangers'
   * missing names shed from many hosts of one /24 (bots' random subdomains; a random-subdomain
   * flood through resolvers comes from few addresses of a /24, or from ones of good standing). */
  if (tier == SB_TIER_UNKNOWN && sh->adm.shed_overload[tier] + sh->adm.shed_budget[tier] != shed_before) {
    if (in_zone && exists)
      note_count(sh, v, now_ms, 0);
    else
      note_nx_shed(sh, v, now_ms);
  } else if (tier == SB_TIER_UNKNOWN && in_zone && exists && !sh->direct_off &&
             (sh->overload.level >= 1 || behind_now(sh, now_ms) || struck(sh, v))) {
    /* Strangers' existing names answered while the worker is behind count like their missing
     * names shed: from many hosts of one /24 (bots' direct flood of valid names), a block. Level
     * 1 sheds only missing names, so without this a direct flood waited for level 2 (the drill's
     * wave 1 after the QNAME filter: the worker seldom reaches it, and the bots' /24s were blocked
     * 2-3 s into the wave). A /24 blocked before counts at any level: when its block expires in
     * the middle of its flood, it is blocked again before the worker falls behind. And from the
     * first full run of reads (behind now), not from level 1: the smoothed level came ~0.7 s into
     * the drill's cold wave 1, and the queue overflowed at the attack's odds until then (shield8). */
    note_nx_shed(sh, v, now_ms);
  } else if (tier == SB_TIER_UNKNOWN && in_zone && exists && !sh->direct_off && !sh->onset2_off && !sh->onset_off &&
             sh->onset3_off) {
    note_host(sh, v, now_ms); /* onset3 on: note_stranger marked the host */
  }
  if (sh->cfg.mode == SB_SHIELD_DRY_RUN) {
    if (verdict == SB_ADMIT_DROP) sh->would_drop++;
    if (verdict == SB_ADMIT_TRUNCATE) sh->would_truncate++;
    sh->answered++;
    return SB_ADMIT_ANSWER;
  }
  if (verdict == SB_ADMIT_DROP) {
    sh->dropped++;
  } else if (verdict == SB_ADMIT_TRUNCATE) {
    sh->truncated++;
    sb_sources_note_truncated(&sh->sources, key, now_ms);
  } else
    sh->answered++;
  return verdict;
}

static size_t skip_name(const uint8_t *m, size_t len, size_t p);

/* The offset just past the reply's question section (len >= 12), or 0 when it cannot be read. */
static size_t skip_questions(const uint8_t *m, size_t len) {
  unsigned qd = ((unsigned)m[4] << 8) | m[5];
  size_t p = 12;
  for (unsigned i = 0; i < qd; i++) {
    p = skip_name(m, len, p);
    if (p == 0 || p + 4 > len) return 0;
    p += 4;
  }
  return p;
}

/* The offset just past `n` resource records starting at p (0 when one cannot be read); `*last`
 * gets the offset of the last one's start (unchanged when n is 0). */
static size_t skip_records(const uint8_t *m, size_t len, size_t p, unsigned n, size_t *last) {
  for (unsigned i = 0; i < n; i++) {
    *last = p;
    p = skip_name(m, len, p);
    if (p == 0 || p + 10 > len) return 0;
    size_t rdlen = ((size_t)m[p + 8] << 8) | m[p + 9];
    p += 10;
    if (rdlen > len - p) return 0;
    p += rdlen;
  }
  return p;
}

/* The FNV-1a of the owner of the reply's first authority record (its uncompressed wire form, folded to
 * lower case; image.c's zone key when the owner is a zone's origin), or 0 when there is none or it
 * cannot be read. That owner is what BIND keys these kinds by: an NXDOMAIN's SOA owner (the zone),
 * a referral's NS owner (the delegation point). */
static uint32_t authority_owner_hash(const uint8_t *m, size_t len) {
  if (len < 12) return 0;
  unsigned an = ((unsigned)m[6] << 8) | m[7];
  if (m[8] == 0 && m[9] == 0) return 0;
  size_t last = 0, p = skip_questions(m, len);
  if (p == 0) return 0;
  p = skip_records(m, len, p, an, &last);
  if (p == 0) return 0;
  uint32_t h = 0x811C9DC5u;
  size_t wire = 0;
  for (unsigned jumps = 0; p < len;) {
    uint8_t l = m[p];
    if ((l & 0xC0) == 0xC0) {
      if (p + 1 >= len || ++jumps > 64) return 0;
      p = ((size_t)(l & 0x3F) << 8) | m[p + 1];
      continue;
    }
    if ((l & 0xC0) != 0 || l > len - p - 1 || (wire += (size_t)l + 1) > 255) return 0;
    h = (h ^ l) * 0x01000193u;
    if (l == 0) return h;
    for (size_t i = p + 1; i <= p + l; i++) {
      uint8_t c = m[i];
      h = (h ^ ((c >= 0x41 && c <= 0x5A) ? (uint8_t)(c | 0x20) : c)) * 0x01000193u;
    }
    p += (size_t)1 + l;
  }
  return 0;
}

int sb_shield_after(sb_shield *sh, const sb_preparse *pp, const uint8_t *pkt, const sb_verdict *v, const uint8_t *ans,
                    size_t alen, double now_ms) {
  /* An answer too large for the client's UDP size: it will come back over TCP (the tcp tier). */
  if (v->addr_len != 0 && alen >= 12 && (ans[2] & 0x02))
    sb_sources_note_truncated(&sh->sources, sb_sources_key(v->addr, v->addr_len), now_ms);
  if (!sh->cfg.rrl_on || v->allowed || v->addr_len == 0 || alen < 12) return SB_RRL_SEND;
  unsigned rcode = ans[3] & 0x0f;
  unsigned an = ((unsigned)ans[6] << 8) | ans[7];
  int aa = (ans[2] & 0x04) != 0;
  size_t qlen = (size_t)12 + pp->qname_len;
  unsigned kind;
  uint32_t h;
  if (rcode == 3) {
    kind = 1; /* NXDOMAIN: per zone (without the image's signal: the SOA owner the reply names) */
    h = v->in_zone && v->zone_key ? v->zone_key : authority_owner_hash(ans, alen);
    if (h == 0) h = qname_hash(pp, pkt, qlen);
  } else if (rcode == 0 && an > 0) {
    kind = 0; /* answer: per QNAME and QTYPE */
    h = sb_mix32(qname_hash(pp, pkt, qlen), pp->qtype);
  } else if (rcode == 0 && !aa) {
    kind = 3; /* referral: per zone (BIND keys it per delegation point: the NS owner, without a zone signal) */
    h = v->zone_key ? sb_mix32(v->zone_key, 0x5eed) : authority_owner_hash(ans, alen);
    if (h == 0) h = qname_hash(pp, pkt, qlen);
  } else if (rcode == 0) {
    kind = 2; /* NODATA: per QNAME */
    h = qname_hash(pp, pkt, qlen);
  } else {
    kind = 4; /* errors: per block */
    h = 0;
  }
  /* A zone with settings of its own has its own rates (resolved at configure). */
  const double *rates = NULL;
  if (sh->cfg.nzone_settings > 0 && v->in_zone && v->zone_key) {
    const sb_zone_setting *st = sb_zone_setting_find(sh->zone_settings, sh->cfg.nzone_settings, v->zone_key);
    if (st != NULL) rates = st->rrl_rates;
  }
  int r = sb_rrl_decide_rates(&sh->rrl, sb_rrl_block(&sh->rrl, v->addr, v->addr_len), kind, h, now_ms, rates);
  if (r == SB_RRL_DROP) sh->rrl_dropped++;
  if (r == SB_RRL_SLIP) {
    sh->rrl_slipped++;
    sb_sources_note_truncated(&sh->sources, sb_sources_key(v->addr, v->addr_len), now_ms);
  }
  /* Rate limited positive answers and referrals (a valid-name or large-answer flood) count;
   * NXDOMAIN, NODATA and errors (random names: resolvers) never do. */
  if (r != SB_RRL_SEND && v->tier < SB_TIER_HISTORY && (kind == 0 || kind == 3)) note_count(sh, v, now_ms, 1);
  return r;
}

/* bridge21: the bridge lifted (why: 1 its blocks made, 2 at its longest, 3 quiet with no block made). */
static void bridge_lift(sb_shield *sh, double now_ms, int why) {
  sh->bridge_on = 0;
  sh->bridge_lifted = now_ms;
  sh->bridge_last_ms = now_ms - sh->bridge_start;
  sh->bridge_ms += sh->bridge_last_ms;
  sh->bridge_last_why = why;
  sh->bridge_last_blocks = sh->blocks_made - sh->bridge_blocks_at_start;
  sh->bridge_last_joined = sh->bridge_joined - sh->bridge_joined_at_start;
  sh->bridge_last_long = sh->bridge_long;
  sh->bridge_last_kept = sh->bridge_kept_max;
  sh->bridge_last_sized = sh->bridge_sized;
  sh->bridge_last_div_min = sh->bridge_div_min;
  sh->bridge_long = 0;
  sh->blocked_version = ++g_prefilter_version;
}

/* bridge21: the worker fell behind after calm. With no /24 blocked, the UDP program holds the queue
 * for sources of standing (and a share of the rest) until the blocks are made. Not made when the
 * shield is younger than SB_BRIDGE_WARM_MS or rested under SB_BRIDGE_REST_MS, when no /24 has
 * standing (every resolver would be a stranger; the allow-list alone does not say who the resolvers
 * are), or more /24s (or allow ranges) than the program holds. */
static void bridge_begin(sb_shield *sh, double now_ms) {
  if (sh->bridge_off || sh->bridge_on || sh->cfg.mode != SB_SHIELD_ON || sh->cfg.prefilter_threshold <= 0 ||
      sh->nblocked > 0 || sh->bridge_ready <= 0 || now_ms < sh->bridge_ready ||
      (sh->bridge_lifted > 0 &&
       now_ms - sh->bridge_lifted < (sh->bridge_last_why == 4 ? SB_BRIDGE_LONG_REST_MS : SB_BRIDGE_REST_MS)))
    return;
  unsigned ng = 0, nr = 0;
  for (uint32_t s = 0; s < sh->blocks.size; s++) {
    if (sh->blocks.keys[s] == 0 || sh->blk_good_until[s] <= now_ms) continue;
    if (ng >= SB_BRIDGE_MAX_GOOD) {
      sh->bridges_refused++;
      return;
    }
    sh->bridge_good[ng++] = sh->blk_key[s];
  }
  for (unsigned i = 0; i < sh->cfg.nallow; i++) {
    if (sh->cfg.allow_len[i] != 4) continue;
    if (nr >= SB_BRIDGE_MAX_RANGES) {
      sh->bridges_refused++;
      return;
    }
    uint32_t a = ((uint32_t)sh->cfg.allow[i][0] << 24) | ((uint32_t)sh->cfg.allow[i][1] << 16) |
                 ((uint32_t)sh->cfg.allow[i][2] << 8) | sh->cfg.allow[i][3];
    unsigned bits = sh->cfg.allow_bits[i] > 32 ? 32 : sh->cfg.allow_bits[i];
    uint32_t m = bits == 0 ? 0 : ~(0xffffffffu >> bits);
    sh->bridge_ranges[nr][0] = a & m;
    sh->bridge_ranges[nr][1] = (a & m) | ~m;
    nr++;
  }
  if (ng == 0) { /* the allow-list alone: every resolver a stranger */
    sh->bridges_refused++;
    return;
  }
  qsort(sh->bridge_good, ng, sizeof(uint32_t), cmp_u32);
  sh->bridge.good = sh->bridge_good;
  sh->bridge.ngood = ng;
  sh->bridge.ranges = (const uint32_t(*)[2])sh->bridge_ranges;
  sh->bridge.nranges = nr;
  sh->bridge_div_now = sh->bridge_div;
  sh->bridge.share = (uint32_t)(4294967296.0 / sh->bridge_div);
  sh->bridge_joined_at_start = sh->bridge_joined;
  sh->bridge_on = 1;
  sh->bridge_start = sh->bridge_last_block = now_ms;
  sh->bridges++;
  sh->bridge_last_at = now_ms;
  sh->bridge_last_good = ng;
  sh->bridge_blocks_at_start = sh->blocks_made;
  sh->bridge_long = 0;
  sh->bw_start = now_ms;
  sh->bw_whole = sh->bw_offered = 0;
  sh->bridge_hi_at = sh->bridge_lo_at = 0;
  sh->bridge_kept_max = 0;
  sh->bridge_sized = 0;
  sh->bridge_div_min = sh->bridge_div;
  sh->blocked_version = ++g_prefilter_version;
}

/* own22: a /24 that earned standing while the bridge holds (a valid cookie read from one of its
 * sources: a resolver first seen in the attack, answered once, whose next datagram passed the
 * share) joins the /24s it passes whole, the program rebuilt after the wake-up. A bot earns no
 * standing (no valid cookie; history only in calm), so none joins. */
static void bridge_join(sb_shield *sh, uint32_t p24) {
  sb_bridge *b = &sh->bridge;
  if (sh->bridge_join_off || sb_sorted_has(b->good, b->ngood, p24) || b->ngood >= SB_BRIDGE_MAX_GOOD) return;
  unsigned i = b->ngood;
  while (i > 0 && sh->bridge_good[i - 1] > p24) {
    sh->bridge_good[i] = sh->bridge_good[i - 1];
    i--;
  }
  sh->bridge_good[i] = p24;
  b->ngood++;
  sh->bridge_joined++;
  sh->blocked_version = ++g_prefilter_version;
}

/* own22: the strangers' share while the bridge holds: bridge_div, halved (the share doubled) for
 * every SB_BRIDGE_RISE_MS since the last block made in it, down to 1 in 2. */
static void bridge_rise(sb_shield *sh, double now_ms) {
  /* Only once a block was made in it: before, the bots' /24s are still to be found from the share. */
  if (sh->bridge_rise_off || sh->blocks_made <= sh->bridge_blocks_at_start) return;
  double quiet = now_ms - sh->bridge_last_block;
  unsigned steps = quiet <= 0 ? 0 : (unsigned)(quiet / SB_BRIDGE_RISE_MS);
  uint32_t div = steps >= 16 ? 1 : sh->bridge_div >> steps;
  if (div < 2) div = 2;
  if (div == sh->bridge_div_now) return;
  sh->bridge_div_now = div;
  sh->bridge.share = (uint32_t)(4294967296.0 / div);
  sh->blocked_version = ++g_prefilter_version;
}

/* thin26: the bridge's window closes every SB_BRIDGE_WIN_MS: a flood kept out when the share of
 * 1 in bridge_div would keep out at least twice what the worker would read (hi) or as much (lo),
 * each over its floor — judged at bridge_div, not the share sized now, so the sizing does not move
 * the marks. Rates a second: what passes whole (standing, allow ranges, IPv6) and what the
 * strangers sent (each read weighs the share's div; the quiet /24s passed whole weigh it too, an
 * over-estimate bounded by their budget). */
static void bridge_window(sb_shield *sh, double now_ms) {
  double dt = now_ms - sh->bw_start;
  if (dt < SB_BRIDGE_WIN_MS) return;
  double whole = sh->bw_whole * 1000 / dt, offered = sh->bw_offered * 1000 / dt;
  double kept = offered * (sh->bridge_div - 1) / sh->bridge_div, read = whole + offered / sh->bridge_div;
  sh->bw_start = now_ms;
  sh->bw_whole = sh->bw_offered = 0;
  if (kept > sh->bridge_kept_max) sh->bridge_kept_max = kept;
  if (kept >= 2 * read && kept >= SB_BRIDGE_LONG_FLOOR) sh->bridge_hi_at = now_ms;
  if (kept >= read && kept >= SB_BRIDGE_LONG_FLOOR / 2) sh->bridge_lo_at = now_ms;
}

/* thin26: whether the bridge keeps out a flood the /24 rules did not block: to become long, a window
 * over the high mark in the last two; once long, one over the low mark in the last SB_BRIDGE_CALM_MS. */
static int bridge_flooded(const sb_shield *sh, double now_ms) {
  if (sh->bridge_long_off) return 0;
  if (sh->bridge_long) return sh->bridge_lo_at > 0 && now_ms - sh->bridge_lo_at < SB_BRIDGE_CALM_MS;
  return sh->bridge_hi_at > 0 && now_ms - sh->bridge_hi_at <= 2 * SB_BRIDGE_WIN_MS;
}

/* thin26: the long bridge's share sized from the queue (SB_BRIDGE_SIZE_MS above). */
static void bridge_size(sb_shield *sh, double now_ms) {
  if (sh->bridge_size_off) return;
  uint32_t div = sh->bridge_div_now;
  if (behind_now(sh, now_ms)) {
    if (div >= sh->bridge_div || now_ms - sh->bridge_size_at < SB_BRIDGE_WIN_MS) return;
    div *= 2;
    if (div > sh->bridge_div) div = sh->bridge_div;
    sh->bridge_size_fell = 1;
  } else {
    double wait = sh->bridge_size_fell ? SB_BRIDGE_SIZE_FELL_MS : SB_BRIDGE_SIZE_MS;
    if (div <= SB_BRIDGE_SIZE_MIN_DIV || now_ms - sh->bridge_size_at < wait ||
        (sh->behind_at > 0 && now_ms - sh->behind_at < wait))
      return;
    div /= 2;
    if (div < SB_BRIDGE_SIZE_MIN_DIV) div = SB_BRIDGE_SIZE_MIN_DIV;
    sh->bridge_size_fell = 0;
    if (div < sh->bridge_div_min) sh->bridge_div_min = div;
  }
  sh->bridge_size_at = now_ms;
  sh->bridge_sized++;
  sh->bridge_div_now = div;
  sh->bridge.share = (uint32_t)(4294967296.0 / div);
  sh->blocked_version = ++g_prefilter_version;
}

const sb_bridge *sb_shield_prefilter_bridge(void) {
  const sb_shield *sh = g_shield;
  if (sh == NULL || !sh->bridge_on || sh->cfg.mode != SB_SHIELD_ON) return NULL;
  return &sh->bridge;
}

/* hist23: an attack in progress is not calm (docs/SHIELD.md "Source tiers"). While this worker
 * sees bots at work — a /24 blocked, the bridge up, or itself behind (overload level >= 1) for
 * SB_UNREST_PRESSED_MS in a row — it stamps the source table's unrest time (the shared file's:
 * every worker's credits stop), and for calm_after_ms from the last stamp a source without history
 * earns no calm credit. The worker's level 0 alone was not enough: once a wave's first blocks are
 * in it keeps up, and the bots still read (in the /24s never blocked, where resolvers of standing
 * live) earned history by asking valid names of zones not attacked (session 22: ~1,000 bot
 * addresses a worker a run). A zone attacked is not a sign by itself: a random-subdomain flood
 * through resolvers comes from resolvers whose other questions deserve their credit (its own
 * missing names never earn any). */
static void note_unrest(sb_shield *sh, double now_ms) {
  if (sh->overload.level < 1)
    sh->pressed_since = 0;
  else if (sh->pressed_since <= 0)
    sh->pressed_since = now_ms;
  if (sh->sources.calm_after_ms <= 0) return;
  if (sh->nblocked > 0 || sh->bridge_on || (sh->pressed_since > 0 && now_ms - sh->pressed_since >= SB_UNREST_PRESSED_MS))
    sb_sources_note_unrest(&sh->sources, now_ms);
}

void sb_shield_clock(sb_shield *sh, double now_ms) {
  sh->wall = (uint32_t)time(NULL);
  if (sh->bridge_ready <= 0) sh->bridge_ready = now_ms + SB_BRIDGE_WARM_MS;
  if (sh->bridge_on) {
    bridge_window(sh, now_ms);
    double held = now_ms - sh->bridge_start;
    int quiet = held >= SB_BRIDGE_MIN_MS && now_ms - sh->bridge_last_block >= SB_BRIDGE_QUIET_MS;
    if ((held >= SB_BRIDGE_MAX_MS || quiet) && bridge_flooded(sh, now_ms)) {
      /* thin26: due for its lift, but its share still keeps out a flood no block was made for: it
       * holds on (the long bridge), the strangers' share back at bridge_div (own22's rise would let
       * the thin flood in), then sized from the queue (bridge_size). A change of the share is a map
       * write where eBPF, a new classic program (no verifier) elsewhere. */
      if (!sh->bridge_long) {
        sh->bridge_long = 1;
        sh->bridges_long++;
        sh->bridge_size_at = now_ms;
        sh->bridge_size_fell = 0;
        if (sh->bridge_div_now != sh->bridge_div) {
          sh->bridge_div_now = sh->bridge_div;
          sh->bridge.share = (uint32_t)(4294967296.0 / sh->bridge_div);
          sh->blocked_version = ++g_prefilter_version;
        }
      } else
        bridge_size(sh, now_ms);
    } else if (sh->bridge_long) {
      if (quiet) bridge_lift(sh, now_ms, 4); /* the flood it kept out gone (a block made lately: after its quiet) */
    } else if (held >= SB_BRIDGE_MAX_MS)
      bridge_lift(sh, now_ms, 2);
    else if (quiet)
      bridge_lift(sh, now_ms, sh->blocks_made > sh->bridge_blocks_at_start ? 1 : 3);
    else
      bridge_rise(sh, now_ms);
  }
  if (now_ms - sh->last_sweep >= 1000) {
    double elapsed = now_ms - sh->last_sweep;
    sh->last_sweep = now_ms;
    unsigned events = sh->zones.nevents;
    sb_zones_sweep(&sh->zones, now_ms);
    for (unsigned e = events; e < sh->zones.nevents; e++)
      if (sh->zones.event_state[e]) sh->attacked_at = now_ms;
    prefilter_scan(sh, now_ms, 1);
    if (sh->cfg.prefilter_threshold > 0) qf_clock(sh, now_ms, 1, elapsed);
  } else {
    double every = !sh->onset2_off && (behind_now(sh, now_ms) || sh->bridge_on) ? SB_PREFILTER_BEHIND_MS : SB_PREFILTER_EARLY_MS;
    if (sh->block_pending && sh->cfg.mode == SB_SHIELD_ON && now_ms - sh->last_early >= every)
      prefilter_scan(sh, now_ms, 0);
    if (sh->nqf > 0 && sh->cfg.prefilter_threshold > 0 && qf_estimate(sh, now_ms, 0))
      sh->blocked_version = ++g_prefilter_version;
  }
  /* A zone called attacked: into the QNAME filter when its flood is worth it (at most every 50 ms). */
  if (sh->qf_candidate != 0 && now_ms >= sh->qf_next_try && sh->cfg.prefilter_threshold > 0) {
    sh->qf_next_try = now_ms + SB_PREFILTER_EARLY_MS;
    qf_clock(sh, now_ms, 0, 0);
  }
  note_unrest(sh, now_ms);
}

/* The worker is behind now (a full run of reads, or with SWITCHBOARD_BEHIND_SPAN=on full wake-ups
 * spanning 20 ms): the behind-now signal and the onset trace, not the overload meter. */
void sb_shield_behind(sb_shield *sh, double now_ms) {
  if (sh == NULL) return;
  {
    if (sh->behind_at <= 0 || now_ms - sh->behind_at > SB_BEHIND_NOW_MS) sh->behind_since = now_ms;
    /* Behind after keeping up for a while: a new onset trace, unless one is being taken or waits
     * to be reported. */
    if (sh->behind_at <= 0 || now_ms - sh->behind_at > SB_ONSET_CALM_MS) bridge_begin(sh, now_ms);
    if ((sh->behind_at <= 0 || now_ms - sh->behind_at > SB_ONSET_CALM_MS) &&
        (sh->onset_start <= 0 || sh->onset_reported ||
         now_ms - sh->onset_start > 60000)) {
      memset(sh->onset, 0, sizeof(sh->onset));
      sh->nonset_blocks = 0;
      sh->onset_start = now_ms;
      sh->onset_reported = 0;
    }
    sh->behind_at = now_ms;
  }
}

int sb_shield_queue_wait(sb_shield *sh, double wait_ms, double now_ms) {
  if (sh == NULL || !(wait_ms >= SB_QDELAY_BEHIND_MS)) return 0;
  sb_shield_behind(sh, now_ms);
  return 1;
}

void sb_shield_batch(sb_shield *sh, unsigned got, unsigned capacity, double now_ms) {
  sb_overload_read(&sh->overload, got, capacity, now_ms);
  if (capacity > 0 && got >= capacity) sb_shield_behind(sh, now_ms);
}

size_t sb_shield_write_slip(const sb_preparse *pp, const uint8_t *pkt, size_t len, const uint8_t *ans, uint8_t *out,
                            size_t cap) {
  /* As BIND 9.18 and Knot: the limited response truncated, so its RCODE (NXDOMAIN stays NXDOMAIN)
   * and AA stay. Read before writing: out may be ans. Only NOERROR and NXDOMAIN slip (an error
   * is dropped), so the RCODE fits the header. */
  uint8_t aa = ans[2] & 0x04, rcode = ans[3] & 0x0f;
  size_t n = sb_shield_write_reply(pp, pkt, len, out, cap, 1, rcode);
  if (n != 0) out[2] |= aa;
  return n;
}

size_t sb_shield_write_reply(const sb_preparse *pp, const uint8_t *pkt, size_t len, uint8_t *out, size_t cap, int tc,
                             unsigned rcode) {
  if (pp->status & (SB_PP_SHORT | SB_PP_RESPONSE | SB_PP_QDCOUNT | SB_PP_BADNAME | SB_PP_NOQTYPE)) return 0;
  size_t qend = pp->question_end;
  if (qend < 12 + 5 || qend > len) return 0;
  int opt = (pp->flags & SB_PF_OPT) != 0;
  if (rcode > 15 && !opt) return 0;
  size_t need = qend + (opt ? 11 : 0);
  if (need > cap) return 0;
  memcpy(out, pkt, qend);
  out[2] = (uint8_t)(0x80 | (pkt[2] & 0x79) | (tc ? 0x02 : 0)); /* QR, the opcode and RD kept */
  out[3] = (uint8_t)((pkt[3] & 0x10) | (rcode & 0x0f));          /* CD kept; RA 0 */
  out[4] = 0;
  out[5] = 1;
  memset(out + 6, 0, 6);
  if (opt) {
    static const uint8_t our_opt[11] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};
    memcpy(out + qend, our_opt, 11);
    out[qend + 5] = (uint8_t)(rcode >> 4); /* the OPT's extended RCODE */
    if (pp->flags & SB_PF_DO) out[qend + 7] = 0x80; /* RFC 3225 §3: the query's DO bit copied */
    out[11] = 1;
  }
  return need;
}

/* The end of the name at m[p] (labels or a pointer), or 0 when it runs past len. */
static size_t skip_name(const uint8_t *m, size_t len, size_t p) {
  while (p < len) {
    uint8_t l = m[p];
    if (l == 0) return p + 1;
    if ((l & 0xC0) == 0xC0) return p + 2 <= len ? p + 2 : 0;
    if (l & 0xC0) return 0;
    p += (size_t)1 + l;
  }
  return 0;
}

/* The offset of the reply's OPT when it is the last record and ends the reply, else 0. */
static size_t find_opt(const uint8_t *m, size_t len) {
  if (len < 12) return 0;
  unsigned records = (((unsigned)m[6] << 8) | m[7]) + (((unsigned)m[8] << 8) | m[9]) + (((unsigned)m[10] << 8) | m[11]);
  if (m[11] == 0 && m[10] == 0) return 0;
  size_t last = 0, p = skip_questions(m, len);
  if (p == 0) return 0;
  p = skip_records(m, len, p, records, &last);
  if (p != len || last == 0 || last + 11 > len) return 0;
  if (m[last] != 0 || m[last + 1] != 0 || m[last + 2] != 41) return 0;
  return last;
}

size_t sb_shield_udp_limit(const sb_preparse *pp) {
  if (!(pp->flags & SB_PF_OPT)) return 512;
  size_t l = pp->opt_size < 512 ? 512 : pp->opt_size;
  size_t ours = sb_images_edns_size();
  return l > ours ? ours : l;
}

size_t sb_shield_add_cookie(const sb_shield *sh, const sb_verdict *v, const uint8_t *pkt, uint8_t *ans, size_t alen,
                            size_t cap, size_t limit) {
  if (sh->cfg.nsecrets == 0 || v->cookie_at < 0 || v->addr_len == 0) return alen;
  if (v->cookie != SB_COOKIE_CLIENT_ONLY && v->cookie != SB_COOKIE_INVALID && v->cookie != SB_COOKIE_VALID)
    return alen;
  if (alen + 28 > cap || alen + 28 > limit) return alen;
  size_t opt = find_opt(ans, alen);
  if (opt == 0) return alen;
  size_t rdlen = ((size_t)ans[opt + 9] << 8) | ans[opt + 10];
  if (rdlen + 28 > 0xffff) return alen;
  uint8_t *w = ans + alen;
  const uint8_t *client = pkt + v->cookie_at;
  w[0] = 0;
  w[1] = 10;
  w[2] = 0;
  w[3] = 24;
  int reuse = 0;
  if (v->cookie == SB_COOKIE_VALID) {
    const uint8_t *st = client + 12;
    uint32_t stamp = ((uint32_t)st[0] << 24) | ((uint32_t)st[1] << 16) | ((uint32_t)st[2] << 8) | st[3];
    int32_t age = (int32_t)(sh->wall - stamp);
    reuse = age >= 0 && age <= 1800;
  }
  if (reuse)
    memcpy(w + 4, client, 24);
  else
    sb_cookie_write(w + 4, client, v->addr, v->addr_len, sh->wall, sh->cfg.secrets[0]);
  rdlen += 28;
  ans[opt + 9] = (uint8_t)(rdlen >> 8);
  ans[opt + 10] = (uint8_t)rdlen;
  return alen + 28;
}

/* ---- TCP: whether an accepted connection is a stranger under pressure (the JS listener's gate
 * through sb_shield_tcp_admit; the batch accept in C through sb_shield_tcp_stranger, udp.c and
 * tcp_gate.h) ---- */

/* A stranger under pressure (counted in tcp_refused, or would_refuse_tcp in dry run: then 0).
 * Pressure: the overload level, and with `behind_counts` also a full run of reads just now
 * (behind_now: the raw signal the level smooths over 0.5 s) — so the batch accept judges a
 * connection flood that starts with a UDP flood from the first full read, not half a second
 * later. */
static int tcp_stranger(const uint8_t *addr, size_t addr_len, double now_ms, int behind_counts) {
  sb_shield *sh = g_shield;
  if (sh == NULL || sh->cfg.mode == SB_SHIELD_OFF || (addr_len != 4 && addr_len != 16)) return 0;
  int pressed = sh->overload.level >= 1 || (behind_counts && behind_now(sh, now_ms));
  if (!pressed || sb_shield_allow_listed(sh, addr, addr_len)) return 0;
  if (sb_sources_vouched(&sh->sources, sb_sources_key(addr, addr_len), now_ms)) return 0;
  if (sh->cfg.mode == SB_SHIELD_DRY_RUN) {
    sh->would_refuse_tcp++;
    return 0;
  }
  sh->tcp_refused++;
  return 1;
}

int sb_shield_tcp_stranger(const uint8_t *addr, size_t addr_len, double now_ms) {
  return tcp_stranger(addr, addr_len, now_ms, 1);
}

int sb_shield_tcp_admit(const uint8_t *addr, size_t addr_len, double now_ms) {
  return !tcp_stranger(addr, addr_len, now_ms, 0);
}
