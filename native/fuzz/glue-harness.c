/*
 * Standalone harness for the batch loop's shield policy (../shield_glue.c: admission order, the
 * replies it writes, RRL after the answer, the kernel prefilter's accounting and blocked set),
 * with the zone images of ../image.c and the pre-parse of ../preparse.c — the same sources the
 * addon compiles. Built with -fsanitize=address,undefined by test/native/shield-glue.test.ts:
 *
 *   glue-harness IMAGES CORPUS
 *     IMAGES and CORPUS hold records [u32 big-endian length][octets] (as native/fuzz/harness.c):
 *     zone images (each installed when valid) and packets. Then:
 *
 *     1. "fuzz": every corpus packet, copied into a buffer of exactly its length, from a source
 *        picked by a seeded generator (IPv4 in a few /24s, IPv4-mapped IPv6, IPv6, an unknown
 *        family), at a clock that advances by a random step, goes through what udp.c does with
 *        it: pre-parse, sb_shield_admit, the reply admission asks for (sb_shield_write_reply,
 *        sb_shield_add_cookie into buffers of exactly their cap) or the C answer
 *        (sb_image_answer_pp), sb_shield_after on it and on hostile reply octets, the clock, the
 *        overload meter, and the blocked set (sorted, at most 512, and a program built from it).
 *        Prints "fuzz N admitted A blocked B".
 *     2. "early": a fresh shield (prefilter threshold 200), the worker held behind (overload
 *        level 2), a direct flood of an existing name (the first image's origin, SOA) from 20
 *        hosts of 10.9.9.0/24 at 10 datagrams a simulated millisecond, and the same from an
 *        allow-listed /24 (10.9.7.0/24); one host of 10.9.9.0/24 has the tcp tier (it does not keep
 *        the /24 out: only a cookie or a calm-time history does), and 10.9.5.0/24 is shed at 100 a
 *        second, under the threshold, for 2 s. Prints "early crossed C blocked B allowed-blocked
 *        0|1 slow-blocked 0|1": the simulated ms (from the flood's start) at which the /24's sheds
 *        reached a tenth of the threshold (the earliest a block may be made: over 100 ms) and at
 *        which it entered the blocked set (the test requires B - C <= SB_PREFILTER_EARLY_MS + 1
 *        and B <= 100, where it took up to a second), and whether the others ever were.
 *     3. "qf": the QNAME filter's policy on the zone qf.test. (the test adds its image): calm
 *        existing names and a typo asked every 200 ms, then 30,000 random names a simulated
 *        second through the kernel's decision (sb_qf_decide with random draws) once the zone is
 *        in the filter. Every name of the zone and the typo must pass whatever the draw, the typo
 *        be answered past the budget, the share and the estimate be sane, the zone leave after
 *        the flood; in dry run nothing dropped and the drops counted. Prints "qf on|dry-run
 *        engaged E share S estimate X delivered D of N would-drop W left L known K".
 *     Then "direct", "direct6" (ipv626: the same from IPv6 /56s), "cold" and "rrl" (the /24 blocks of direct floods and rate-limited answers:
 *     each described above its function), and "qf saturated".
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "../image.h"
#include "../prefilter.h"
#include "../preparse.h"
#include "../shield.h"

typedef struct {
  uint8_t **v;
  size_t *len;
  size_t n;
} records;

static void fail(const char *what) {
  fprintf(stderr, "glue-harness: %s\n", what);
  abort();
}

static records read_records(const char *path) {
  records r = {NULL, NULL, 0};
  FILE *f = fopen(path, "rb");
  if (f == NULL) fail("cannot open an input file");
  size_t cap = 0;
  for (;;) {
    uint8_t h[4];
    if (fread(h, 1, 4, f) != 4) break;
    size_t l = ((size_t)h[0] << 24) | ((size_t)h[1] << 16) | ((size_t)h[2] << 8) | h[3];
    if (l > (1u << 28)) fail("record too long");
    uint8_t *b = malloc(l ? l : 1);
    if (b == NULL || fread(b, 1, l, f) != l) fail("short record");
    if (r.n == cap) {
      cap = cap ? cap * 2 : 64;
      r.v = realloc(r.v, cap * sizeof(*r.v));
      r.len = realloc(r.len, cap * sizeof(*r.len));
      if (r.v == NULL || r.len == NULL) fail("no memory");
    }
    r.v[r.n] = b;
    r.len[r.n++] = l;
  }
  fclose(f);
  return r;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}

static void config(sb_shield_config *c, int mode) {
  memset(c, 0, sizeof(*c));
  c->mode = mode;
  for (int i = 0; i < 16; i++) c->secrets[0][i] = (uint8_t)(i * 7 + 1);
  c->nsecrets = 1;
  c->nallow = 1;
  c->allow_len[0] = 4;
  c->allow_bits[0] = 24;
  c->allow[0][0] = 10;
  c->allow[0][1] = 9;
  c->allow[0][2] = 7;
  c->rrl_on = 1;
  for (int k = 0; k < 5; k++) c->rrl_rates[k] = 20;
  c->rrl_window = 15;
  c->rrl_slip = 2;
  c->rrl_v4 = 24;
  c->rrl_v6 = 56;
  c->rrl_table = 4096;
  c->zone_min_nx = 200;
  c->zone_factor = 10;
  c->zone_share = 0.5;
  c->zone_hold = 10;
  c->zone_floor = 50;
  c->zone_table = 1024;
  c->source_table = 4096;
  c->history_min = 8;
  c->history_share = 0.8;
  c->tcp_seconds = 3600;
  c->cookie_seconds = 3600;
  c->overload_behind = 0.5;
  c->overload_smoothing = 0.5;
  c->overload_hold = 2;
  c->prefilter_threshold = 200;
  c->prefilter_seconds = 30;
}

static void source(struct sockaddr_storage *ss, uint32_t pick) {
  memset(ss, 0, sizeof(*ss));
  unsigned kind = pick % 8;
  if (kind < 5) {
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons(5353);
    uint32_t ip = (10u << 24) | ((uint32_t)(next() % 6) << 8) | (next() & 0xff);
    a->sin_addr.s_addr = htonl(ip);
  } else if (kind < 7) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(5353);
    for (int i = 0; i < 16; i++) a->sin6_addr.s6_addr[i] = (uint8_t)next();
    if (kind == 5) {
      memset(a->sin6_addr.s6_addr, 0, 10);
      a->sin6_addr.s6_addr[10] = 0xff;
      a->sin6_addr.s6_addr[11] = 0xff;
    }
  } else {
    ss->ss_family = AF_UNIX; /* an unknown family: answered, nothing noted */
  }
}

/* The blocked set is sorted, bounded, and makes a program. */
static unsigned check_blocked(void) {
  const uint32_t *pfx;
  unsigned n;
  sb_shield_prefilter(&pfx, &n);
  if (n > 512) fail("more than 512 blocked /24s");
  for (unsigned i = 1; i < n; i++)
    if (pfx[i] <= pfx[i - 1]) fail("blocked set not sorted");
  if (n > 0) {
    static struct sock_filter prog[SB_PREFILTER_INSNS];
    if (sb_prefilter_build(pfx, n, 24, prog, SB_PREFILTER_INSNS) == 0) fail("no program for the blocked set");
  }
  return n;
}

static int is_blocked(uint32_t p24) {
  const uint32_t *pfx;
  unsigned n;
  sb_shield_prefilter(&pfx, &n);
  for (unsigned i = 0; i < n; i++)
    if (pfx[i] == p24) return 1;
  return 0;
}

static void fuzz(records *corpus) {
  sb_shield_config c;
  config(&c, SB_SHIELD_ON);
  if (sb_shield_configure(&c) != 0) fail("configure");
  sb_shield *sh = sb_shield_thread();
  double now = 1000;
  unsigned admitted = 0, blocked = 0;
  for (size_t round = 0; round < 4; round++) {
    for (size_t i = 0; i < corpus->n; i++) {
      size_t len = corpus->len[i];
      uint8_t *pkt = malloc(len ? len : 1);
      if (pkt == NULL) fail("no memory");
      memcpy(pkt, corpus->v[i], len);
      now += (double)(next() % 2000) / 100; /* 0..20 ms */
      if (next() % 64 == 0) now += 1500;
      sb_shield_clock(sh, now);
      sb_preparse pp;
      sb_preparse_packet(pkt, len, &pp);
      struct sockaddr_storage src;
      source(&src, next());
      sb_verdict v;
      int a = sb_shield_admit(sh, &pp, pkt, len, &src, now, &v);
      if (a < SB_ADMIT_ANSWER || a > SB_ADMIT_BADCOOKIE) fail("admission out of range");
      size_t limit = sb_shield_udp_limit(&pp);
      if (a == SB_ADMIT_TRUNCATE || a == SB_ADMIT_FORMERR || a == SB_ADMIT_BADCOOKIE) {
        size_t cap = len + 11 + 28;
        uint8_t *out = malloc(cap);
        if (out == NULL) fail("no memory");
        unsigned rcode = a == SB_ADMIT_FORMERR ? 1 : a == SB_ADMIT_BADCOOKIE ? 23 : 0;
        size_t tl = sb_shield_write_reply(&pp, pkt, len, out, cap - 28, a == SB_ADMIT_TRUNCATE, rcode);
        if (tl > cap - 28) fail("reply past its cap");
        if (tl > 0) {
          size_t nl = sb_shield_add_cookie(sh, &v, pkt, out, tl, cap, limit);
          if (nl > cap || (nl != tl && nl != tl + 28)) fail("cookie past its cap");
        }
        free(out);
      } else if (a == SB_ADMIT_ANSWER) {
        admitted++;
        size_t cap = 1232 + 28;
        uint8_t *ans = malloc(cap);
        if (ans == NULL) fail("no memory");
        size_t alen = pp.status == 0 ? sb_image_answer_pp(&pp, pkt, len, ans, cap - 28) : 0;
        if (alen > cap - 28) fail("answer past its cap");
        if (alen >= 12) {
          int r = sb_shield_after(sh, &pp, pkt, &v, ans, alen, now);
          if (r != SB_RRL_SEND && r != SB_RRL_DROP && r != SB_RRL_SLIP) fail("RRL out of range");
          size_t nl = sb_shield_add_cookie(sh, &v, pkt, ans, alen, cap, limit);
          if (nl > cap) fail("cookie past its cap");
        }
        /* Hostile reply octets of every length up to 40, in a buffer of exactly that length. */
        size_t hl = next() % 41;
        uint8_t *hostile = malloc(hl ? hl : 1);
        if (hostile == NULL) fail("no memory");
        for (size_t k = 0; k < hl; k++) hostile[k] = (uint8_t)next();
        sb_shield_after(sh, &pp, pkt, &v, hostile, hl, now);
        free(hostile);
        free(ans);
      }
      sb_shield_batch(sh, next() % 17, 16, now);
      unsigned b = check_blocked();
      if (b > blocked) blocked = b;
      free(pkt);
    }
  }
  printf("fuzz %zu admitted %u blocked %u\n", corpus->n * 4, admitted, blocked);
}

/* A query for `name` (wire form) of type SOA, id `id`. */
static size_t query(uint8_t *out, const uint8_t *name, size_t nlen, uint16_t id) {
  memset(out, 0, 12);
  out[0] = (uint8_t)(id >> 8);
  out[1] = (uint8_t)id;
  out[5] = 1;
  memcpy(out + 12, name, nlen);
  out[12 + nlen] = 0;
  out[13 + nlen] = 6;
  out[14 + nlen] = 0;
  out[15 + nlen] = 1;
  return 16 + nlen;
}

/* A fresh shield on this thread in `mode`, RRL off (the scenarios below judge admission alone). */
static sb_shield *fresh_shield(int mode, sb_shield_config *c) {
  config(c, mode);
  c->rrl_on = 0;
  if (sb_shield_configure(c) != 0) fail("configure");
  sb_shield *sh = sb_shield_thread();
  /* The scenarios below judge their own rule on every datagram read; the bridge (bridge21), which
   * changes what the kernel passes, has a scenario of its own. */
  sh->bridge_off = 1;
  return sh;
}

static void early(const uint8_t *origin, size_t olen) {
  sb_shield_config c;
  sb_shield *sh = fresh_shield(SB_SHIELD_ON, &c);
  double now = 500000.5;
  /* The worker behind: every wake-up reads its whole allowance. */
  for (int i = 0; i < 400; i++) {
    now += 1;
    sb_shield_batch(sh, 16, 16, now);
  }
  if (sh->overload.level < 2) fail("overload level did not reach 2");
  /* 10.9.9.200 has the tcp tier only (sent a TC=1, then came back over TCP): it does not keep
   * its /24 out of the prefilter; it asks along with the flood. */
  uint8_t tcp_host[4] = {10, 9, 9, 200};
  uint32_t tcp_key = sb_sources_key(tcp_host, 4);
  sb_sources_note_truncated(&sh->sources, tcp_key, now);
  sb_sources_note_tcp(&sh->sources, tcp_key, now);
  uint8_t pkt[300];
  size_t len = query(pkt, origin, olen, 1);
  double crossed = -1, blocked = -1, start = now; /* the flood starts at the next millisecond */
  int allowed_blocked = 0;
  int slow_blocked = 0;
  for (int ms = 0; ms < 2000; ms++) {
    now += 1;
    sb_shield_clock(sh, now);
    sb_shield_batch(sh, 16, 16, now);
    for (int k = 0; k < 10; k++) {
      for (int from = 0; from < 3; from++) {
        /* from 2: 10.9.5.0/24 at 100 a second (one every 10 ms), under the threshold */
        if (from == 2 && (k != 0 || ms % 10 != 0)) continue;
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof(ss));
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(1000);
        uint32_t host = k == 9 ? 200 : (uint32_t)(1 + (ms * 10 + k) % 20);
        uint32_t net = from == 0 ? 9u : from == 1 ? 7u : 5u;
        a->sin_addr.s_addr = htonl((10u << 24) | (9u << 16) | (net << 8) | host);
        sb_preparse pp;
        sb_preparse_packet(pkt, len, &pp);
        sb_verdict v;
        sb_shield_admit(sh, &pp, pkt, len, &ss, now, &v);
      }
    }
    /* The earliest a block may be made: the threshold's tenth, over the first 100 ms. */
    if (crossed < 0 && sh->adm.shed_overload[SB_TIER_UNKNOWN] >= c.prefilter_threshold / 10) crossed = now;
    check_blocked();
    if (is_blocked((10u << 24) | (9u << 16) | (7u << 8))) allowed_blocked = 1;
    if (blocked < 0 && is_blocked((10u << 24) | (9u << 16) | (9u << 8))) blocked = now;
    if (is_blocked((10u << 24) | (9u << 16) | (5u << 8))) slow_blocked = 1;
  }
  /* The TCP gate under overload: the source that followed a TC=1 is served, a stranger of the
   * flood is refused, a malformed length is let through (the caller's to judge). */
  uint8_t stranger[4] = {10, 9, 9, 150}; /* of the flood's /24, never seen */
  if (sh->overload.level < 1) fail("no overload for the TCP gate");
  if (sb_shield_tcp_admit(tcp_host, 4, now) != 1) fail("TCP gate refused a source that followed a TC=1");
  double refused = sh->tcp_refused;
  if (sb_shield_tcp_admit(stranger, 4, now) != 0 || sh->tcp_refused != refused + 1) fail("TCP gate admitted a stranger");
  if (sb_shield_tcp_admit(stranger, 5, now) != 1) fail("TCP gate: a bad length is not its to refuse");
  /* The clock call that makes the block comes at the start of the next millisecond's batch. */
  printf("early crossed %.0f blocked %.0f allowed-blocked %d slow-blocked %d\n", crossed < 0 ? -1 : crossed - start,
         blocked < 0 ? -1 : blocked - start, allowed_blocked, slow_blocked);
}

/* ---- 3. "qf": the QNAME filter's policy on the zone qf.test. (docs/SHIELD.md) ---- */

typedef struct {
  uint8_t names[256][64];
  size_t len[256];
  unsigned n;
} name_list;

static int take_name(void *ctx, const uint8_t *name, size_t len) {
  name_list *l = ctx;
  if (l->n >= 256 || len > 64) return 1;
  memcpy(l->names[l->n], name, len);
  l->len[l->n++] = len;
  return 0;
}

static uint64_t qf_rng = 88172645463325252ull;
static uint32_t qf_rand(void) {
  qf_rng ^= qf_rng << 13;
  qf_rng ^= qf_rng >> 7;
  qf_rng ^= qf_rng << 17;
  return (uint32_t)(qf_rng >> 20);
}

/* One datagram of the flood (a random label in front of the origin) or an existing name, from
 * 10.8.x.y; `kernel`: first through the program's decision (what the kernel would let through). */
static int qf_send(sb_shield *sh, const uint8_t *name, size_t nlen, double now, int kernel, uint32_t host) {
  uint8_t pkt[300];
  size_t len = query(pkt, name, nlen, (uint16_t)qf_rand());
  if (kernel) {
    const sb_qf_zone *zones;
    unsigned nz = sb_shield_prefilter_zones(&zones);
    if (nz > 0 && sb_qf_decide(zones, nz, pkt, len, qf_rand()) == 0) return 0;
  }
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  struct sockaddr_in *a = (struct sockaddr_in *)&ss;
  a->sin_family = AF_INET;
  a->sin_port = htons(1000);
  a->sin_addr.s_addr = htonl((10u << 24) | (8u << 16) | (host & 0xffff));
  sb_preparse pp;
  sb_preparse_packet(pkt, len, &pp);
  sb_verdict v;
  sb_shield_admit(sh, &pp, pkt, len, &ss, now, &v);
  return 1;
}

static size_t random_name(uint8_t *out, const uint8_t *origin, size_t olen) {
  out[0] = 12;
  for (int i = 1; i <= 12; i++) out[i] = (uint8_t)('a' + qf_rand() % 26);
  memcpy(out + 13, origin, olen);
  return 13 + olen;
}

static void qf_scenario(void) {
  static const uint8_t origin[] = {2, 'q', 'f', 4, 't', 'e', 's', 't', 0};
  const size_t olen = sizeof(origin);
  uint32_t key = 0x811C9DC5u;
  for (size_t i = 0; i < olen; i++) key = (key ^ origin[i]) * 0x01000193u;
  static name_list names;
  const void *image;
  const uint8_t *o;
  size_t ol;
  if (sb_images_names_of(key, &image, &o, &ol, take_name, &names) <= 0) fail("qf: the zone qf.test. is not plain");
  for (int pass = 0; pass < 2; pass++) {
    sb_shield_config c;
    sb_shield *sh = fresh_shield(pass == 0 ? SB_SHIELD_ON : SB_SHIELD_DRY_RUN, &c);
    /* The senders below are filtered by the QNAME filter only (no kernel source check here): the
     * blocked /24s' datagrams counted as before, not read as the kernel's sample (expiry19). */
    sh->renew_off = 1;
    double now = 900000.5, start = now, engaged = -1, left = -1;
    uint8_t name[300];
    /* Calm: existing names, 5 s; a typo asked every 200 ms (a missing name asked again). */
    static const uint8_t typo[] = {5, 't', 'y', 'p', 'o', '1', 2, 'q', 'f', 4, 't', 'e', 's', 't', 0};
    for (int ms = 0; ms < 5000; ms++) {
      now += 1;
      sb_shield_clock(sh, now);
      unsigned k = (unsigned)ms % names.n;
      qf_send(sh, names.names[k], names.len[k], now, 1, 1);
      if (ms % 200 == 0) qf_send(sh, typo, sizeof(typo), now, 1, 4);
    }
    start = now;
    /* The flood: 30 random names a millisecond (30,000 a second) for 6 s, through the kernel's
     * decision once the zone is in the filter; an existing name every millisecond. */
    unsigned delivered = 0, sent = 0;
    for (int ms = 0; ms < 6000; ms++) {
      now += 1;
      sb_shield_clock(sh, now);
      const sb_qf_zone *zones;
      if (engaged < 0 && (pass == 0 ? sb_shield_prefilter_zones(&zones) > 0 : sh->nqf > 0)) engaged = now - start;
      for (int k = 0; k < 30; k++) {
        size_t n = random_name(name, origin, olen);
        sent++;
        delivered += (unsigned)qf_send(sh, name, n, now, 1, (uint32_t)(ms * 30 + k));
      }
      unsigned k = (unsigned)ms % names.n;
      if (!qf_send(sh, names.names[k], names.len[k], now, 1, 2)) fail("qf: an existing name dropped");
    }
    if (engaged < 0) fail("qf: the zone never entered the filter");
    const sb_qf_zone *zones = sh->qf_zones;
    unsigned nz = sh->nqf;
    if (nz != 1) fail("qf: not one zone in the filter");
    /* Every name of the zone passes whatever the draw; random names (almost) never by the set. */
    uint8_t pkt[300];
    for (unsigned i = 0; i < names.n; i++) {
      memcpy(name, names.names[i], names.len[i]);
      for (size_t j = 0; j < names.len[i]; j++)
        if (name[j] >= 'a' && name[j] <= 'z' && (qf_rand() & 1)) name[j] ^= 0x20;
      size_t len = query(pkt, name, names.len[i], 1);
      if (sb_qf_decide(zones, nz, pkt, len, 0xffffffffu) != 1) fail("qf: a name of the zone would be dropped");
    }
    unsigned by_set = 0;
    for (int i = 0; i < 1000; i++) {
      size_t len = query(pkt, name, random_name(name, origin, olen), 1);
      by_set += (unsigned)sb_qf_decide(zones, nz, pkt, len, 0xffffffffu);
    }
    if (by_set > 10) fail("qf: random names pass by the set");
    /* The typo asked again in calm times: in the set, and answered outside the zone's budget. */
    {
      size_t len = query(pkt, typo, sizeof(typo), 1);
      if (sb_qf_decide(zones, nz, pkt, len, 0xffffffffu) != 1) fail("qf: the calm-time typo is not in the set");
      if (pass == 0)
        for (int i = 0; i < 200; i++) {
          struct sockaddr_storage ss;
          memset(&ss, 0, sizeof(ss));
          struct sockaddr_in *a = (struct sockaddr_in *)&ss;
          a->sin_family = AF_INET;
          a->sin_addr.s_addr = htonl((10u << 24) | (7u << 16) | (uint32_t)(i + 1));
          sb_preparse pp;
          sb_preparse_packet(pkt, len, &pp);
          sb_verdict v;
          if (sb_shield_admit(sh, &pp, pkt, len, &ss, now, &v) != SB_ADMIT_ANSWER) fail("qf: the typo was shed");
        }
    }
    static struct sock_filter prog[SB_QF_INSNS];
    const uint32_t *pfx;
    unsigned np;
    sb_shield_prefilter(&pfx, &np);
    if (sb_prefilter_build_qf(pfx, np, 24, 0, zones, nz, prog, SB_QF_INSNS) == 0) fail("qf: no program");
    double share = zones[0].admit / 4294967296.0, estimate = sh->qf[0].estimate;
    if (pass == 0 && (share < 0.02 || share > 0.5)) fail("qf: the share is off");
    if (estimate < 15000 || estimate > 60000) fail("qf: the estimate is off");
    if (pass == 0 && delivered > sent / 2) fail("qf: the kernel would let most of the flood through");
    double would = sh->qf_would_drop;
    if (pass == 1 && would < sent / 2) fail("qf: dry run did not count the drops");
    if (pass == 1 && delivered != sent) fail("qf: dry run dropped");
    /* The flood ends: existing names only; the zone leaves after the hold. */
    double end = now, calm_share = -1;
    for (int ms = 0; ms < 14000; ms++) {
      now += 1;
      sb_shield_clock(sh, now);
      unsigned k = (unsigned)ms % names.n;
      qf_send(sh, names.names[k], names.len[k], now, 1, 3);
      if (left < 0 && sh->nqf == 0) left = now - end;
      /* qfhold: 3 s into the calm, the zone still in the filter, its share still sized near the
       * flood's (halved every 10 s), not opened to the calm's trickle: a next wave's first
       * window passes about what this one's last did. */
      if (ms == 3000 && sh->nqf > 0) calm_share = sh->qf_zones[0].admit / 4294967296.0;
    }
    if (left < 0) fail("qf: the zone never left the filter");
    if (pass == 0 && calm_share < 0) fail("qf: the zone left the filter within 3 s of the flood's end");
    if (pass == 0 && !sh->qf_hold_off && calm_share > 2.5 * share) fail("qf: the share opened in the calm between waves");
    printf("qf %s engaged %.0f share %.4f estimate %.0f delivered %u of %u would-drop %.0f left %.0f known %.0f calm-share %.4f\n",
           pass == 0 ? "on" : "dry-run", engaged, share, estimate, delivered, sent, would, left, sh->qf_known_added,
           calm_share);
  }
}

/* A direct flood of existing names from 250 hosts of 10.9.8.0/24 (2 a millisecond) and the same
 * from 2 hosts of 10.9.4.0/24 (a resolver pair nothing vouches for), while the worker is a little
 * behind (overload level 1: only missing names shed): the many-host /24 is blocked within ~150 ms,
 * the two-host one never; at level 0 neither. Prints "direct blocked B few-blocked F calm-blocked C". */
static void direct(const uint8_t *origin, size_t olen) {
  double blocked = -1, again = -1;
  int few = 0, calm = 0;
  for (int pass = 0; pass < 2; pass++) {
    sb_shield_config c;
    sb_shield *sh = fresh_shield(SB_SHIELD_ON, &c);
    double now = 700000.5;
    /* pass 0: three wake-ups in four read the whole allowance (level 1); pass 1: none. */
    for (int i = 0; i < 400; i++) {
      now += 1;
      sb_shield_batch(sh, pass == 0 && i % 4 != 0 ? 16 : 2, 16, now);
    }
    if (pass == 0 && sh->overload.level != 1) fail("direct: overload level is not 1");
    uint8_t pkt[300];
    size_t len = query(pkt, origin, olen, 1);
    double start = now;
    for (int ms = 0; ms < 1500; ms++) {
      now += 1;
      sb_shield_clock(sh, now);
      sb_shield_batch(sh, pass == 0 && ms % 4 != 0 ? 16 : 2, 16, now);
      for (int k = 0; k < 4; k++) {
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof(ss));
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        uint32_t net = k < 2 ? 8u : 4u;
        uint32_t host = k < 2 ? (uint32_t)(1 + (ms * 2 + k) % 250) : (uint32_t)(1 + k % 2);
        a->sin_addr.s_addr = htonl((10u << 24) | (9u << 16) | (net << 8) | host);
        sb_preparse pp;
        sb_preparse_packet(pkt, len, &pp);
        sb_verdict v;
        /* Once blocked, what reaches the worker is the kernel's sample: read and dropped (expiry19). */
        int r = sb_shield_admit(sh, &pp, pkt, len, &ss, now, &v);
        if (r != SB_ADMIT_ANSWER && !(r == SB_ADMIT_DROP && is_blocked((10u << 24) | (9u << 16) | (net << 8))))
          fail("direct: an existing name shed at level 1");
      }
      check_blocked();
      int many = is_blocked((10u << 24) | (9u << 16) | (8u << 8));
      if (pass == 0 && blocked < 0 && many) blocked = now - start;
      if (pass == 1 && many) calm = 1;
      if (is_blocked((10u << 24) | (9u << 16) | (4u << 8))) few = 1;
    }
    if (pass == 0) {
      /* The block expires (30 s, up to 33.75 s with expiry19's jitter) while the worker keeps up and
       * nothing of the /24 is read (no sample: released), the flood back after it: blocked again at
       * level 0 within ~150 ms (a /24 blocked before counts at any level). */
      for (int i = 0; i < 34000; i++) {
        now += 1;
        sb_shield_clock(sh, now);
        sb_shield_batch(sh, 2, 16, now);
      }
      if (sh->overload.level != 0) fail("direct: overload level is not 0");
      if (is_blocked((10u << 24) | (9u << 16) | (8u << 8))) fail("direct: the block did not expire");
      double back = now;
      for (int ms = 0; ms < 1000 && again < 0; ms++) {
        now += 1;
        sb_shield_clock(sh, now);
        sb_shield_batch(sh, 2, 16, now);
        for (int k = 0; k < 2; k++) {
          struct sockaddr_storage ss;
          memset(&ss, 0, sizeof(ss));
          struct sockaddr_in *a = (struct sockaddr_in *)&ss;
          a->sin_family = AF_INET;
          a->sin_addr.s_addr = htonl((10u << 24) | (9u << 16) | (8u << 8) | (uint32_t)(1 + (ms * 2 + k) % 250));
          sb_preparse pp;
          sb_preparse_packet(pkt, len, &pp);
          sb_verdict v;
          sb_shield_admit(sh, &pp, pkt, len, &ss, now, &v);
        }
        check_blocked();
        if (is_blocked((10u << 24) | (9u << 16) | (8u << 8))) again = now - back;
      }
    }
  }
  if (again < 0 || again > 250) fail("direct: the flood back after its block was not blocked again within 250 ms");
  if (blocked < 0 || blocked > 250) fail("direct: the many-host /24 was not blocked within 250 ms");
  if (few) fail("direct: a two-host /24 was blocked");
  if (calm) fail("direct: blocked while the worker kept up");
  printf("direct blocked %.0f few-blocked %d calm-blocked %d again %.0f\n", blocked, few, calm, again);
}

/* "direct6" (ipv626): `direct`'s flood from IPv6 sources at level 1 — 2 datagrams a simulated ms
 * from 250 /64s of 2001:db8:0:a100::/56, and 2 from two addresses of one /64 of 2001:db8:0:b200::/56.
 * The first /56 must enter the IPv6 blocked set (sb_shield_prefilter6) within 250 ms, its datagrams
 * then be dropped by admission (what reaches the worker of a blocked /56 is the kernel's sample),
 * and a program be built from the set; the one-/64 /56 never blocked. Prints "direct6 blocked B
 * few-blocked 0 insns I". */
static int blocked6_has(uint64_t key) {
  const uint64_t *k;
  unsigned n;
  sb_shield_prefilter6(&k, &n);
  if (n > SB_BLOCK6_MAX) fail("direct6: over the bound");
  for (unsigned i = 0; i < n; i++) {
    if (i > 0 && k[i] <= k[i - 1]) fail("direct6: the set unsorted");
    if (k[i] == key) return 1;
  }
  return 0;
}

static void direct6(const uint8_t *origin, size_t olen) {
  sb_shield_config c;
  sb_shield *sh = fresh_shield(SB_SHIELD_ON, &c);
  double now = 900000.5;
  for (int i = 0; i < 400; i++) {
    now += 1;
    sb_shield_batch(sh, i % 4 != 0 ? 16 : 2, 16, now);
  }
  if (sh->overload.level != 1) fail("direct6: overload level is not 1");
  uint8_t pkt[300];
  size_t len = query(pkt, origin, olen, 1);
  double start = now, blocked = -1;
  int few = 0, dropped_after = 0;
  const uint64_t many = 0x20010db80000a100ull, one = 0x20010db80000b200ull;
  for (int ms = 0; ms < 1500; ms++) {
    now += 1;
    sb_shield_clock(sh, now);
    sb_shield_batch(sh, ms % 4 != 0 ? 16 : 2, 16, now);
    for (int k = 0; k < 4; k++) {
      struct sockaddr_storage ss;
      memset(&ss, 0, sizeof(ss));
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
      a->sin6_family = AF_INET6;
      uint8_t *o = a->sin6_addr.s6_addr;
      uint64_t key = k < 2 ? many : one;
      for (int j = 0; j < 7; j++) o[j] = (uint8_t)(key >> (56 - 8 * j));
      o[7] = k < 2 ? (uint8_t)((ms * 2 + k) % 250) : 0;
      o[15] = (uint8_t)(1 + k % 2);
      sb_preparse pp;
      sb_preparse_packet(pkt, len, &pp);
      sb_verdict v;
      int r = sb_shield_admit(sh, &pp, pkt, len, &ss, now, &v);
      int is = blocked6_has(key);
      if (r != SB_ADMIT_ANSWER && !(r == SB_ADMIT_DROP && is)) fail("direct6: an existing name shed at level 1");
      if (is && r == SB_ADMIT_DROP) dropped_after++;
    }
    if (blocked < 0 && blocked6_has(many)) blocked = now - start;
    if (blocked6_has(one)) few = 1;
  }
  const uint64_t *k;
  unsigned n;
  sb_shield_prefilter6(&k, &n);
  static struct sock_filter prog[SB_QF_INSNS];
  sb_prefilter_set_blocked6(k, n);
  unsigned insns = sb_prefilter_build_sampled(NULL, 0, 24, SB_PREFILTER_SAMPLE, prog, SB_QF_INSNS);
  sb_prefilter_set_blocked6(NULL, 0);
  if (blocked < 0 || blocked > 250) fail("direct6: the many-/64 /56 was not blocked within 250 ms");
  if (few) fail("direct6: a one-/64 /56 was blocked");
  if (dropped_after == 0 || insns == 0) fail("direct6: not dropped after the block, or no program");
  printf("direct6 blocked %.0f few-blocked %d insns %u\n", blocked, few, insns);
}

/* One query for `name` from a.b.c.d through admission (and, with `ans` given, RRL after it). */
static int send_from(sb_shield *sh, const uint8_t *pkt, size_t len, uint32_t addr, double now, int with_rrl) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  struct sockaddr_in *a = (struct sockaddr_in *)&ss;
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = htonl(addr);
  sb_preparse pp;
  sb_preparse_packet(pkt, len, &pp);
  sb_verdict v;
  int r = sb_shield_admit(sh, &pp, pkt, len, &ss, now, &v);
  if (with_rrl && r == SB_ADMIT_ANSWER) {
    /* A positive answer's header: QR AA, NOERROR, one answer. */
    uint8_t ans[12] = {pkt[0], pkt[1], 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0};
    sb_shield_after(sh, &pp, pkt, &v, ans, sizeof(ans), now);
  }
  return r;
}

#define NET(x) ((10u << 24) | (9u << 16) | ((uint32_t)(x) << 8))

/* `ms` simulated milliseconds of the clock, each with a read of `got` full batches of 16. */
static double ticks(sb_shield *sh, double now, int ms, unsigned got) {
  for (int i = 0; i < ms; i++) {
    now += 1;
    sb_shield_clock(sh, now);
    sb_shield_batch(sh, got, 16, now);
  }
  return now;
}

/* 12 calm seconds from `now`: one resolver (NET(5) | 251) asks twice a second and the worker
 * keeps up; fails with `why` unless the shield is then calm. Returns the time after them. */
static double calm_seconds(sb_shield *sh, const uint8_t *pkt, size_t len, double now, const char *why) {
  for (int half = 0; half < 24; half++) {
    send_from(sh, pkt, len, NET(5) | 251, now, 0);
    now = ticks(sh, now, 500, 2);
  }
  if (sh->overload.level != 0) fail(why);
  return now;
}

/* A cold start (shield8): the worker falls behind all at once (every wake-up reads its whole
 * allowance from the flood's first millisecond — a full run every 11 ms, as a worker reading ~93,000
 * datagrams a second reports them — as in the drill's wave 1), a direct flood of an
 * existing name from 250 hosts of 10.9.8.0/24 and from 250 hosts of 10.9.5.0/24, where one
 * resolver (10.9.5.251) earned a calm-time history before (the drill's `nat` class), and from 2
 * hosts of 10.9.4.0/24. The many-host stranger /24 is blocked within ~100 ms, before the smoothed
 * overload level reaches 1; the resolver's /24 and the two-host one never. Pass 1 is the same with
 * the behind-now signal off (shield7's rule: from level 1). Prints "cold blocked B level L
 * nat-blocked 0|1 few-blocked 0|1 off-blocked O". */
static void cold(const uint8_t *origin, size_t olen) {
  double blocked[5] = {-1, -1, -1, -1, -1};
  int level_then = -1, nat = 0, few = 0;
  for (int pass = 0; pass < 5; pass++) {
    sb_shield_config c;
    sb_shield *sh = fresh_shield(SB_SHIELD_ON, &c);
    sh->behind_now_off = pass == 1;
    sh->onset_off = pass == 4;
    uint8_t pkt[300];
    size_t len = query(pkt, origin, olen, 1);
    double now = calm_seconds(sh, pkt, len, 800000.5, "cold: not calm");
    /* Pass 2: the flood starts 700 ms into the shield's second (its counts' sweep), not at it. */
    if (pass == 2)
      while (now - sh->last_sweep < 700 || now - sh->last_sweep > 701) now = ticks(sh, now, 1, 2);
    double start = now;
    for (int ms = 0; ms < 1500; ms++) {
      now += 1;
      sb_shield_clock(sh, now);
      /* A run of 16 full batches (1,024 datagrams) reported every 11 ms: ~93,000 read a second. */
      if (ms % 11 == 0) sb_shield_batch(sh, 16, 16, now);
      for (int k = 0; k < 2; k++) {
        uint32_t host = (uint32_t)(1 + (ms * 2 + k) % 250);
        /* Pass 2: 500 a second from the flooding /24 (as read by a worker reading a third of its
         * queue), starting 700 ms into the second. */
        /* Passes 3 and 4 (SWITCHBOARD_ONSET=off): 1,000 a second in bursts of 16 from one host
         * (as the drill's senders send: UDP GSO runs), so 16 hosts are seen only ~250 ms in. */
        if (pass >= 3) {
          if (k == 0) send_from(sh, pkt, len, NET(8) | (uint32_t)(1 + (ms / 16) % 250), now, 0);
        } else if (pass != 2 || (k == 0 && ms % 2 == 0))
          send_from(sh, pkt, len, NET(8) | host, now, 0);
        send_from(sh, pkt, len, NET(5) | host, now, 0);
        send_from(sh, pkt, len, NET(4) | (uint32_t)(1 + k), now, 0);
      }
      if (ms % 100 == 0) send_from(sh, pkt, len, NET(5) | 251, now, 0);
      check_blocked();
      if (blocked[pass] < 0 && is_blocked(NET(8))) {
        blocked[pass] = now - start;
        if (pass == 0) level_then = sh->overload.level;
      }
      if (pass != 1 && pass != 4 && is_blocked(NET(5))) nat = 1;
      if (pass == 0 && is_blocked(NET(4))) few = 1;
    }
  }
  if (blocked[0] < 0 || blocked[0] > 150) fail("cold: the many-host /24 was not blocked within 150 ms of falling behind");
  if (level_then != 0) fail("cold: blocked only once the smoothed level was up");
  if (nat) fail("cold: the /24 of a resolver with a history was blocked");
  if (few) fail("cold: a two-host /24 was blocked");
  if (blocked[1] >= 0 && blocked[1] <= blocked[0]) fail("cold: the behind-now signal did not make the block sooner");
  if (blocked[4] >= 0 && blocked[4] <= blocked[3]) fail("cold: the onset rules did not make the bursts' block sooner");
  printf("cold blocked %.0f level %d nat-blocked %d few-blocked %d off-blocked %.0f late-blocked %.0f bursts-blocked %.0f "
         "bursts-onset-off %.0f\n",
         blocked[0], level_then, nat, few, blocked[1], blocked[2], blocked[3], blocked[4]);
}

/* hist23: no calm-time history for bots in the middle of a wave. A resolver (10.9.5.251) earns a
 * history in 12 calm seconds; then cold's flood (250 hosts of 10.9.8.0/24, a full run every 11 ms)
 * for 1.5 s gets its /24 blocked; then the worker keeps up, the blocked /24 is dropped before
 * admission and floods on at 100 a second until 25 s (the block renewed), while 10 hosts of
 * 10.9.5.0/24 (never blocked: the resolver's standing) ask an existing name twice a second — the
 * bots still read, 20 s of them, well over history_min (8) calm seconds. Pass 0: none of them
 * earns history, and the resolver's is renewed all along; then the flood stops, its block ends,
 * and SB_CALM_AFTER_MS after the release (not before) the same hosts earn it. Pass 1
 * (SWITCHBOARD_CALM_AFTER=off: sb_sources_set_calm_after 0): they earn it during the wave. Prints
 * "hist bots-history B kept 0|1 released R earned E off-bots-history O" (R: ms from the flood's
 * start to the block's end; E: ms from then until all ten had history). */
static int has_hist(sb_shield *sh, uint32_t addr, double now) {
  const uint8_t a[4] = {(uint8_t)(addr >> 24), (uint8_t)(addr >> 16), (uint8_t)(addr >> 8), (uint8_t)addr};
  return sb_sources_has_history(&sh->sources, sb_sources_key(a, 4), now);
}

static void hist(const uint8_t *origin, size_t olen) {
  int bots[2] = {0, 0}, kept = 0;
  double released = -1, earned = -1, flood_start = 0;
  for (int pass = 0; pass < 2; pass++) {
    sb_shield_config c;
    sb_shield *sh = fresh_shield(SB_SHIELD_ON, &c);
    if (pass == 1) sb_sources_set_calm_after(&sh->sources, 0);
    uint8_t pkt[300];
    size_t len = query(pkt, origin, olen, 1);
    double now = calm_seconds(sh, pkt, len, 1000000.5, "hist: not calm");
    if (!has_hist(sh, NET(5) | 251, now)) fail("hist: the resolver earned no history in calm");
    double start = now;
    if (pass == 0) flood_start = start;
    for (int ms = 0; ms < 1500; ms++) {
      now += 1;
      sb_shield_clock(sh, now);
      if (ms % 11 == 0) sb_shield_batch(sh, 16, 16, now);
      for (int k = 0; k < 2; k++) send_from(sh, pkt, len, NET(8) | (uint32_t)(1 + (ms * 2 + k) % 250), now, 0);
      check_blocked();
    }
    if (!is_blocked(NET(8))) fail("hist: the flood's /24 was not blocked");
    /* The wave's kept-up part: 20 s. */
    for (int ms = 0; ms < 20000; ms++) {
      now += 1;
      sb_shield_clock(sh, now);
      if (ms % 10 == 0) {
        sb_shield_batch(sh, 2, 16, now);
        send_from(sh, pkt, len, NET(8) | (uint32_t)(1 + (ms / 10) % 250), now, 0);
      }
      if (ms % 500 == 0) {
        for (uint32_t h = 1; h <= 10; h++) send_from(sh, pkt, len, NET(5) | h, now, 0);
        send_from(sh, pkt, len, NET(5) | 251, now, 0);
      }
    }
    for (uint32_t h = 1; h <= 10; h++) bots[pass] += has_hist(sh, NET(5) | h, now);
    if (pass == 1) break;
    int32_t slot = sb_table_find(&sh->sources.table, sb_sources_key((const uint8_t[4]){10, 9, 5, 251}, 4));
    kept = slot >= 0 && sh->sources.history_at[slot] > start + 15000;
    /* The flood gone: the block ends; the hosts ask on, the worker calm. */
    for (int ms = 0; ms < 90000 && earned < 0; ms++) {
      now += 1;
      sb_shield_clock(sh, now);
      if (ms % 10 == 0) sb_shield_batch(sh, 2, 16, now);
      check_blocked();
      if (released < 0 && !is_blocked(NET(8))) released = now;
      if (ms % 500 == 0)
        for (uint32_t h = 1; h <= 10; h++) send_from(sh, pkt, len, NET(5) | h, now, 0);
      if (released >= 0) {
        int all = 1;
        for (uint32_t h = 1; h <= 10 && all; h++) all = has_hist(sh, NET(5) | h, now);
        if (all) earned = now - released;
      }
    }
  }
  if (bots[0] != 0) fail("hist: bots of a /24 never blocked earned history in the middle of a wave");
  if (!kept) fail("hist: the resolver's history was not renewed during the wave");
  if (released < 0 || earned < 0) fail("hist: no history earned after the wave");
  if (earned < SB_CALM_AFTER_MS || earned > SB_CALM_AFTER_MS + 10000) fail("hist: history earned too soon or too late after the release");
  if (bots[1] != 10) fail("hist: with the rule off the bots did not earn history (the scenario tests nothing)");
  printf("hist bots-history %d kept %d released %.0f earned %.0f off-bots-history %d\n", bots[0], kept,
         released - flood_start, earned, bots[1]);
}

/* Standing another worker read (onset19): the flood of cold's pass 0 (a direct flood of an existing
 * name from 250 hosts each of 10.9.8.0/24 and 10.9.5.0/24, a full run every 11 ms), where the
 * resolver 10.9.5.251 has a valid cookie in the source table — which the workers share — from
 * the other worker, and this worker never read one of its datagrams (with SO_REUSEPORT a resolver
 * that keeps its source port reaches one worker only). Pass 0: 10.9.5.0/24 is never blocked, the
 * bots' /24 is; pass 1 (SWITCHBOARD_SHARED_GOOD=off: only this worker's own marks): both are.
 * Prints "shared-good bots-blocked B nat-blocked 0|1 off-nat-blocked 0|1 spared S". */
static void shared_good(const uint8_t *origin, size_t olen) {
  double bots = -1, spared = 0;
  int nat[2] = {0, 0};
  for (int pass = 0; pass < 2; pass++) {
    sb_shield_config c;
    sb_shield *sh = fresh_shield(SB_SHIELD_ON, &c);
    sh->shared_good_off = pass == 1;
    uint8_t pkt[300];
    size_t len = query(pkt, origin, olen, 1);
    double now = 900000.5;
    /* 12 calm seconds: a resolver of 10.9.6.0/24 asks, this worker keeps up. */
    for (int half = 0; half < 24; half++) {
      send_from(sh, pkt, len, NET(6) | 251, now, 0);
      now = ticks(sh, now, 500, 2);
    }
    if (sh->overload.level != 0) fail("shared-good: not calm");
    const uint8_t other[4] = {10, 9, 5, 251};
    sb_sources_note_cookie(&sh->sources, sb_sources_key(other, 4), now);
    double start = now;
    for (int ms = 0; ms < 1500; ms++) {
      now += 1;
      sb_shield_clock(sh, now);
      if (ms % 11 == 0) sb_shield_batch(sh, 16, 16, now);
      for (int k = 0; k < 2; k++) {
        uint32_t host = (uint32_t)(1 + (ms * 2 + k) % 250);
        send_from(sh, pkt, len, NET(8) | host, now, 0);
        send_from(sh, pkt, len, NET(5) | host, now, 0);
      }
      check_blocked();
      if (pass == 0 && bots < 0 && is_blocked(NET(8))) bots = now - start;
      if (is_blocked(NET(5))) nat[pass] = 1;
    }
    if (pass == 0) spared = sh->blocks_spared;
  }
  if (bots < 0 || bots > 150) fail("shared-good: the bots' /24 was not blocked within 150 ms");
  if (nat[0]) fail("shared-good: the /24 of a resolver with a cookie another worker read was blocked");
  if (!nat[1]) fail("shared-good: with the rule off the resolver's /24 was not blocked (the scenario tests nothing)");
  printf("shared-good bots-blocked %.0f nat-blocked %d off-nat-blocked %d spared %.0f\n", bots, nat[0], nat[1], spared);
}

/* Blocks renewed from evidence (expiry19): the flood of cold's pass 0 from 250 hosts each of
 * 10.9.8.0/24 and 10.9.3.0/24 blocks both; then the worker keeps up and the kernel is simulated:
 * 10.9.8.0/24 floods on at 2,048 a second, of which the UDP program passes 1 in 256 (8 a second
 * read, each a sample), while 10.9.3.0/24 goes quiet. Pass 0: the flooding /24 stays blocked
 * through its expiry (renewed: never out of the set for a millisecond), the quiet one is released
 * at its expiry (30-33.75 s: the jitter), and the two blocks made together do not end in the same
 * second. Pass 1 (SWITCHBOARD_PREFILTER_RENEW=off): the flooding /24 is released at 30 s, as
 * before. Pass 2: a source of the flooding /24 earned a valid cookie in the source table the
 * workers share (another worker read it) during the block: the renewal is spared, as a new block
 * would be. Pass 3: the flooding /24 pauses from 15 s in and comes back 300 ms before its block
 * ends (the drill's calm, then wave 2) at 512 a second: its few sampled datagrams over a window
 * mostly quiet keep it 2 s more (the grace), then the sample of those 2 s renews it — never out of
 * the set. Pass 4 (renew20): the bots stop when the block is made and two resolvers of the /24
 * without standing ask on at 2,048 a second together: over the threshold, but from two hosts —
 * released at the block's end (after the grace), as a two-host /24 is never blocked anew. Pass 5:
 * the flood goes on through the block's end (renewed) and stops 40 s in: released at the renewed
 * block's end, and a resolver of the /24 asking then is answered. Prints "renew kept 1
 * quiet-released Q apart A renewed N sampled S off-released O spared-released 1 lull-kept 1 graced
 * G few-released F renewed-quiet-released R back-answered B". */
static void renew(const uint8_t *origin, size_t olen) {
  double quiet_at = -1, off_at = -1, apart = -1, renewed = 0, sampled = 0;
  int kept = 1, spared_released = 0, lull_kept = 0;
  double graced = 0, few_at = -1, renewed_quiet_at = -1;
  int back_answered = 0;
  for (int pass = 0; pass < 6; pass++) {
    sb_shield_config c;
    sb_shield *sh = fresh_shield(SB_SHIELD_ON, &c);
    sh->renew_off = pass == 1;
    uint8_t pkt[300];
    size_t len = query(pkt, origin, olen, 1);
    double now = calm_seconds(sh, pkt, len, 1000000.5, "renew: not calm");
    double made = -1;
    for (int ms = 0; ms < 1500; ms++) {
      now += 1;
      sb_shield_clock(sh, now);
      if (ms % 11 == 0) sb_shield_batch(sh, 16, 16, now);
      for (int k = 0; k < 2; k++) {
        uint32_t host = (uint32_t)(1 + (ms * 2 + k) % 250);
        send_from(sh, pkt, len, NET(8) | host, now, 0);
        send_from(sh, pkt, len, NET(3) | host, now, 0);
      }
      check_blocked();
      if (made < 0 && is_blocked(NET(8)) && is_blocked(NET(3))) made = now;
    }
    if (made < 0) fail("renew: the two flooding /24s were not both blocked");
    if (pass == 0) {
      /* The two blocks' ends (made within the same scan or two): apart by the jitter. */
      int32_t a = sb_table_find(&sh->blocks, sb_mix32(NET(8), 0x24));
      int32_t b = sb_table_find(&sh->blocks, sb_mix32(NET(3), 0x24));
      if (a < 0 || b < 0) fail("renew: no slots for the blocked /24s");
      apart = fabs(sh->blk_until[a] - sh->blk_until[b]);
    }
    double released = -1, ends = 0;
    int32_t fs = sb_table_find(&sh->blocks, sb_mix32(NET(8), 0x24));
    if (fs >= 0) ends = sh->blk_until[fs];
    for (int ms = 0; ms < (pass == 5 ? 105000 : 38000); ms++) {
      now += 1;
      sb_shield_clock(sh, now);
      sb_shield_batch(sh, 2, 16, now);
      int lull = pass == 3 && now - made >= 15000 && now < ends - 300;
      /* 2,048 a second sent, 1 in 256 passed by the kernel: one read every 125 ms. */
      /* Pass 3, back from the lull: 512 a second sent (2.5x the threshold), one read every 500 ms. */
      /* Pass 4: the bots gone, two resolvers of the /24 (no standing) ask on at 2,048 a second:
       * 1 in 256 read, from the two alternately. */
      if (pass == 4) {
        if (ms % 125 == 0) send_from(sh, pkt, len, NET(8) | (uint32_t)(251 + (ms / 125) % 2), now, 0);
      } else if (pass == 5 && now - made >= 40000) {
        /* Pass 5: the flood ends 40 s in (after its renewal); once the block is gone a resolver
         * of the /24 asks 10 times a second and must be answered. */
        if (released >= 0 && ms % 100 == 0 &&
            send_from(sh, pkt, len, NET(8) | 251, now, 0) == SB_ADMIT_ANSWER)
          back_answered++;
      } else if (!lull && ms % (pass == 3 && now - made >= 15000 ? 500 : 125) == 0)
        send_from(sh, pkt, len, NET(8) | (uint32_t)(1 + (ms / 125) % 250), now, 0);
      if (pass == 2 && ms == 20000) {
        const uint8_t other[4] = {10, 9, 8, 251};
        sb_sources_note_cookie(&sh->sources, sb_sources_key(other, 4), now);
      }
      check_blocked();
      if (released < 0 && !is_blocked(NET(8))) released = now - made;
      if (pass == 0 && quiet_at < 0 && !is_blocked(NET(3))) quiet_at = now - made;
    }
    if (pass == 0) {
      kept = released < 0;
      renewed = sh->blocks_renewed;
      sampled = sh->sampled;
    }
    if (pass == 1) off_at = released;
    if (pass == 2) spared_released = released >= 0 && sh->blocks_spared >= 1;
    if (pass == 3) {
      lull_kept = released < 0 && sh->blocks_renewed >= 1;
      graced = sh->blocks_graced;
    }
    if (pass == 4) few_at = released;
    if (pass == 5) renewed_quiet_at = sh->blocks_renewed >= 1 ? released : -1;
  }
  if (!lull_kept) fail("renew: the /24 back from a lull just before its block's end was released");
  if (!kept) fail("renew: the /24 still flooding was released at its expiry");
  if (quiet_at < 30000 || quiet_at > 35000) fail("renew: the quiet /24 was not released at its expiry");
  if (renewed < 1 || sampled < 1) fail("renew: no renewal or no sample counted");
  if (off_at < 29000 || off_at > 31000) fail("renew: with the switch off the flooding /24 was not released at 30 s");
  if (!spared_released) fail("renew: a renewal made though a source of the /24 has good standing");
  if (few_at < 30000 || few_at > 36000) fail("renew: a /24 where only two resolvers ask on was not released at its expiry");
  /* Renewed at 30-33.75 s for 60-67.5 s (the first strike doubles it), each end seen at the next
   * once-a-second scan: released 90-104 s in. */
  if (renewed_quiet_at < 90000 || renewed_quiet_at > 104000) fail("renew: a renewed block whose /24 went quiet was not released at its end");
  if (back_answered < 10) fail("renew: a resolver of the released /24 was not answered");
  printf("renew kept %d quiet-released %.0f apart %.0f renewed %.0f sampled %.0f off-released %.0f spared-released %d "
         "lull-kept %d graced %.0f few-released %.0f renewed-quiet-released %.0f back-answered %d\n",
         kept, quiet_at, apart, renewed, sampled, off_at, spared_released, lull_kept, graced, few_at, renewed_quiet_at,
         back_answered);
}

/* The drill's wave 1 at a slow worker (onset2): bots' /24s read at ~400 datagrams a second each in
 * bursts of 16 from one host (a worker at a quarter of a loaded core reads 15,000-30,000 a second
 * at the onset, spread over ~40 bot /24s), the flood's first 80 ms read while the worker still
 * keeps up, then a full run every 11 ms (behind). Also a /24 where a resolver with a calm-time
 * history sits among flooding hosts (the drill's `nat`), and a /24 of two flooding hosts. Pass 0:
 * onset2's rules; pass 1: SWITCHBOARD_ONSET2=off (8 hosts while behind, hosts counted only from
 * falling behind, the set rebuilt at most every 50 ms). Prints "onset2 blocked B off-blocked O
 * nat-blocked 0|1 few-blocked 0|1 calm-blocked 0|1", B and O in ms after falling behind. */
static void onset2(const uint8_t *origin, size_t olen) {
  double blocked[2] = {-1, -1};
  int nat = 0, few = 0, calm = 0;
  for (int pass = 0; pass < 2; pass++) {
    sb_shield_config c;
    sb_shield *sh = fresh_shield(SB_SHIELD_ON, &c);
    sh->onset2_off = pass == 1;
    uint8_t pkt[300];
    size_t len = query(pkt, origin, olen, 1);
    double now = calm_seconds(sh, pkt, len, 600000.5, "onset2: not calm");
    /* A calm second of strangers from many hosts of 10.9.3.0/24 at 150 a second: never blocked
     * (the worker keeps up), whatever hosts it shows. */
    for (int ms = 0; ms < 1000; ms++) {
      now = ticks(sh, now, 1, 2);
      if (ms % 7 == 0) send_from(sh, pkt, len, NET(3) | (uint32_t)(1 + (ms / 7) % 200), now, 0);
      check_blocked();
      if (is_blocked(NET(3))) calm = 1;
    }
    double behind_at = -1;
    for (int ms = 0; ms < 1500; ms++) {
      now += 1;
      sb_shield_clock(sh, now);
      if (ms < 80) {
        if (ms % 5 == 0) sb_shield_batch(sh, 2, 16, now);
      } else if (ms % 11 == 0) {
        sb_shield_batch(sh, 16, 16, now);
        if (behind_at < 0) behind_at = now;
      }
      /* Two datagrams every 5 ms from each flooding /24, 16 in a row from one host. */
      if (ms % 5 == 0 || ms % 5 == 2) {
        uint32_t n = (uint32_t)(ms / 5 * 2 + (ms % 5 == 2));
        uint32_t host = 1 + (n / 16) % 250;
        send_from(sh, pkt, len, NET(8) | host, now, 0);
        send_from(sh, pkt, len, NET(5) | host, now, 0);
        send_from(sh, pkt, len, NET(4) | (1 + (n / 16) % 2), now, 0);
      }
      if (ms % 100 == 0) send_from(sh, pkt, len, NET(5) | 251, now, 0);
      check_blocked();
      if (blocked[pass] < 0 && behind_at > 0 && is_blocked(NET(8))) blocked[pass] = now - behind_at;
      if (is_blocked(NET(5))) nat = 1;
      if (is_blocked(NET(4))) few = 1;
    }
  }
  if (blocked[0] < 0 || blocked[0] > 100) fail("onset2: the bursty /24 was not blocked within 100 ms of falling behind");
  if (blocked[1] >= 0 && blocked[1] <= blocked[0]) fail("onset2: the rules did not make the block sooner");
  if (nat) fail("onset2: the /24 of a resolver with a history was blocked");
  if (few) fail("onset2: a two-host /24 was blocked");
  if (calm) fail("onset2: a /24 was blocked while the worker kept up");
  printf("onset2 blocked %.0f off-blocked %.0f nat-blocked %d few-blocked %d calm-blocked %d\n", blocked[0], blocked[1],
         nat, few, calm);
}

/* A starved worker's sample (onset3): the drill's wave 1 at a worker that reads 2,000-5,000
 * datagrams a second at the onset, so each of its ~32 bot /24s is read at ~100-150 a second
 * (under the threshold's 200, though each sends ~2,500), in bursts of 16 from one host. 24 bot
 * /24s (10.9.64.0 - 10.9.87.0) at 120 a second each, the worker behind from the start (a full run
 * every 11 ms); a /24 where a resolver with a calm-time history sits among bots at the same rate
 * (the drill's `nat`), and a two-host /24 at the same rate. Pass 0: onset3's share rule; pass 1:
 * SWITCHBOARD_ONSET3=off; pass 2: the share rule, the flood read for 300 ms while the worker still
 * keeps up (the drill's senders ramp up over ~400 ms) before it falls behind — the /24s' shares
 * of the strangers read lately are known, so each is blocked at its first burst read while
 * behind. Prints "onset3 blocked N last L off-blocked M off-last O ramp-last R nat-blocked 0|1
 * few-blocked 0|1", L, O and R in ms after falling behind (-1: not all blocked in 1.5 s). */
static void onset3(const uint8_t *origin, size_t olen) {
  double last[3] = {-1, -1, -1};
  unsigned nblocked[3] = {0, 0, 0};
  int nat = 0, few = 0;
  for (int pass = 0; pass < 3; pass++) {
    sb_shield_config c;
    sb_shield *sh = fresh_shield(SB_SHIELD_ON, &c);
    sh->onset3_off = pass == 1;
    uint8_t pkt[300];
    size_t len = query(pkt, origin, olen, 1);
    double now = calm_seconds(sh, pkt, len, 700000.5, "onset3: not calm");
    double start = now + (pass == 2 ? 300 : 0);
    double at[24];
    for (int i = 0; i < 24; i++) at[i] = -1;
    unsigned burst[26] = {0};
    for (int ms = 0; ms < 1500; ms++) {
      now += 1;
      sb_shield_clock(sh, now);
      if (pass == 2 && ms < 300) {
        if (ms % 5 == 0) sb_shield_batch(sh, 2, 16, now);
      } else if (ms % 11 == 0)
        sb_shield_batch(sh, 16, 16, now);
      for (int i = 0; i < 26; i++) {
        if ((ms + i * 5) % 133 != 0) continue;
        uint32_t net = i < 24 ? NET(64 + i) : i == 24 ? NET(5) : NET(4);
        uint32_t host = i == 25 ? 1 + burst[i] % 2 : 1 + burst[i] % 250;
        burst[i]++;
        for (int k = 0; k < 16; k++) send_from(sh, pkt, len, net | host, now, 0);
      }
      if (ms % 100 == 0) send_from(sh, pkt, len, NET(5) | 251, now, 0);
      check_blocked();
      for (int i = 0; i < 24; i++)
        if (at[i] < 0 && is_blocked(NET(64 + i))) {
          at[i] = now - start;
          nblocked[pass]++;
          if (at[i] < 0) fail("onset3: a /24 was blocked while the worker kept up");
        }
      if (is_blocked(NET(5))) nat = 1;
      if (is_blocked(NET(4))) few = 1;
    }
    if (nblocked[pass] == 24)
      for (int i = 0; i < 24; i++)
        if (at[i] > last[pass]) last[pass] = at[i];
  }
  if (nblocked[0] != 24 || last[0] > 500) fail("onset3: the sampled bot /24s were not all blocked within 500 ms of falling behind");
  if (last[1] >= 0 && last[1] <= last[0]) fail("onset3: the share rule did not make the last block sooner");
  if (nblocked[2] != 24 || last[2] > 150) fail("onset3: after a ramp, the bot /24s were not all blocked within 150 ms of falling behind");
  if (nat) fail("onset3: the /24 of a resolver with a history was blocked");
  if (few) fail("onset3: a two-host /24 was blocked");
  printf("onset3 blocked %u last %.0f off-blocked %u off-last %.0f ramp-last %.0f nat-blocked %d few-blocked %d\n",
         nblocked[0], last[0], nblocked[1], last[1], last[2], nat, few);
}

/* What the bridge's program decides (prefilter.c's bridge_part, checked against the kernel by the
 * QNAME filter's harness): an allow range or a /24 of standing passes, a blocked /24 is dropped (the
 * renewal's sample aside), the rest passes under the share. */
static int bridge_passes(const sb_bridge *b, uint32_t addr, uint32_t draw) {
  for (unsigned i = 0; i < b->nranges; i++)
    if (addr >= b->ranges[i][0] && addr <= b->ranges[i][1]) return 1;
  for (unsigned i = 0; i < b->ngood; i++)
    if (b->good[i] == (addr & 0xffffff00u)) return 1;
  if (is_blocked(addr & 0xffffff00u)) return 0;
  return draw < b->share;
}

/* The bridge (bridge21): the drill's wave 1 at a worker that falls behind at once with no /24
 * blocked. 24 bot /24s (10.9.64.0 - 10.9.87.0) each send 2,000 datagrams a second in bursts of 16
 * from one host; a resolver with a calm-time history (10.9.5.251) sits in a bot-shared /24 (the
 * drill's `nat`: its bots pass with it); a new resolver (10.9.3.7, a stranger) asks 100 times a
 * second; a two-host /24 (10.9.4.0) sends 2,000 a second; the allow-listed 10.9.7.0/24 asks too.
 * Every datagram goes through the kernel's decision (bridge_passes) while a bridge holds, and to
 * admission when it passes (the worker reads what the kernel queued); a full run of reads every
 * 11 ms while the bridge does not hold (the flood's full rate) — with it, the worker keeps up. Pass 0:
 * the bridge — made at the first full run after calm, holding the resolver's and the allow-list's
 * sources, every bot /24 blocked while it holds from the 1-in-16 sample, lifted SB_BRIDGE_QUIET_MS
 * after the last block (at most SB_BRIDGE_MAX_MS); the resolver's /24 never blocked, the two-host /24 not
 * while it holds (read whole after the lift, its 2,000 a second shed block it, as in pass 1); the new resolver's share while it holds ~1/16. Pass 1: SWITCHBOARD_BRIDGE=off, no bridge.
 * Pass 2: no source of standing (no calm resolver): no bridge, one refused. Pass 3: a shield younger
 * than SB_BRIDGE_WARM_MS: no bridge. Prints "bridge made M at A lasted L why W good G blocked N last
 * T nat-blocked 0|1 few-blocked 0|1 new-read R of S resolver-read P of Q off-made O bare-made B
 * refused F young-made Y". own22: from the bridge's start another stranger (10.9.9.9, first seen
 * then) asks 100 times a second with a valid server cookie (it was answered once before): its /24
 * joins the bridge at its first datagram passed, and is read whole after (prints "joined J
 * cookie-read C of D"); the share rises once the blocks are made (new-read above 1/16). */
static void bridge(const uint8_t *origin, size_t olen) {
  double made_at = -1, lasted = -1, last = -1;
  unsigned nblocked = 0, good = 0, new_read = 0, new_sent = 0, res_read = 0, res_sent = 0;
  unsigned ck_read = 0, ck_sent = 0, ck_first = 0;
  double joined = 0;
  int nat = 0, few = 0, why = 0;
  double made[4] = {0, 0, 0, 0}, refused = 0;
  for (int pass = 0; pass < 4; pass++) {
    sb_shield_config c;
    sb_shield *sh = fresh_shield(SB_SHIELD_ON, &c);
    sh->bridge_off = pass == 1;
    uint8_t pkt[300], ck[400];
    size_t len = query(pkt, origin, olen, 1);
    /* own22: the cookie stranger's query: an OPT with a COOKIE option (client + server cookie for
     * its address under the shield's secret, made when the bridge holds: sh->wall is set then). */
    size_t cklen = query(ck, origin, olen, 2);
    ck[11] = 1;
    static const uint8_t opt[15] = {0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 28, 0, 10, 0, 24};
    memcpy(ck + cklen, opt, sizeof(opt));
    cklen += sizeof(opt);
    int ck_made = 0;
    double now = 900000.5;
    if (pass == 2) {
      now = ticks(sh, now, 12000, 2);
    } else if (pass == 3) {
      now = ticks(sh, now, 2000, 2);
    } else {
      now = calm_seconds(sh, pkt, len, now, "bridge: not calm");
    }
    double start = now;
    double at[24];
    for (int i = 0; i < 24; i++) at[i] = -1;
    unsigned burst[26] = {0};
    int held = 0;
    for (int ms = 0; ms < 3000; ms++) {
      now += 1;
      sb_shield_clock(sh, now);
      const sb_bridge *b = sb_shield_prefilter_bridge();
      if (pass == 0 && held && b == NULL && lasted < 0) {
        lasted = now - start - made_at;
        why = (int)sh->bridge_last_why;
      }
      held = b != NULL;
      if (b != NULL && made_at < 0 && pass == 0) {
        made_at = now - start;
        good = b->ngood;
      }
      if (b == NULL && ms % 11 == 0) sb_shield_batch(sh, 16, 16, now);
      if (b != NULL && ms % 11 == 0) sb_shield_batch(sh, 2, 16, now);
      /* Bursts of 16 every 8 ms per /24: 2,000 a second. */
      for (int i = 0; i < 26; i++) {
        if ((ms + i) % 8 != 0) continue;
        uint32_t net = i < 24 ? NET(64 + i) : i == 24 ? NET(5) : NET(4);
        uint32_t host = i == 25 ? 1 + burst[i] % 2 : 1 + burst[i] % 250;
        burst[i]++;
        for (int k = 0; k < 16; k++)
          if (b == NULL || bridge_passes(b, net | host, next())) send_from(sh, pkt, len, net | host, now, 0);
      }
      if (ms % 10 == 0) {
        int in = b == NULL || bridge_passes(b, NET(3) | 7, next());
        if (b != NULL && pass == 0) {
          new_sent++;
          new_read += (unsigned)in;
        }
        if (in) send_from(sh, pkt, len, NET(3) | 7, now, 0);
      }
      if (pass == 0 && b != NULL && ms % 10 == 5) {
        if (!ck_made) {
          const uint8_t client[8] = {1, 2, 3, 4, 5, 6, 7, 8};
          const uint8_t addr[4] = {10, 9, 9, 9};
          sb_cookie_write(ck + cklen, client, addr, 4, sh->wall, c.secrets[0]);
          cklen += 24;
          ck_made = 1;
        }
        int in = bridge_passes(b, NET(9) | 9, next());
        ck_sent++;
        ck_read += (unsigned)in;
        if (in && ck_first == 0) ck_first = ck_sent;
        if (in) send_from(sh, ck, cklen, NET(9) | 9, now, 0);
      }
      if (ms % 50 == 0) {
        int in = b == NULL || bridge_passes(b, NET(5) | 251, next());
        if (b != NULL && pass == 0) {
          res_sent++;
          res_read += (unsigned)in;
        }
        if (in) send_from(sh, pkt, len, NET(5) | 251, now, 0);
        if (b == NULL || bridge_passes(b, NET(7) | 9, next())) send_from(sh, pkt, len, NET(7) | 9, now, 0);
        else fail("bridge: an allow-listed source was not passed");
      }
      check_blocked();
      for (int i = 0; i < 24; i++)
        if (pass == 0 && at[i] < 0 && is_blocked(NET(64 + i))) {
          at[i] = now - start;
          nblocked++;
          if (at[i] > last) last = at[i];
        }
      /* Passes 1-3 read the flood whole (no bridge): the two-host /24's 2,000 a second shed is a
       * block there by the shed rule, and with no history the `nat` /24 is the bots'. */
      if (pass == 0 && is_blocked(NET(5))) nat = 1;
      if (pass == 0 && b != NULL && is_blocked(NET(4))) few = 1; /* read whole after the lift: as pass 1 */
      if (is_blocked(NET(3))) fail("bridge: the new resolver's /24 was blocked");
    }
    made[pass] = sh->bridges;
    if (pass == 0) joined = sh->bridge_joined;
    if (pass == 2) refused = sh->bridges_refused;
  }
  printf("bridge made %.0f at %.0f lasted %.0f why %d good %u blocked %u last %.0f nat-blocked %d few-blocked %d new-read %u "
         "of %u resolver-read %u of %u off-made %.0f bare-made %.0f refused %.0f young-made %.0f\n",
         made[0], made_at, lasted, why, good, nblocked, last, nat, few, new_read, new_sent, res_read, res_sent, made[1],
         made[2], refused, made[3]);
  printf("bridge joined %.0f cookie-read %u of %u first %u\n", joined, ck_read, ck_sent, ck_first);
  if (joined != 1 || ck_first == 0 || ck_read != ck_sent - ck_first + 1)
    fail("bridge: a stranger with a valid cookie did not join it at its first datagram passed");
  if (made[0] != 1 || made_at < 0 || made_at > 12) fail("bridge: not made at the first full run after calm");
  if (good < 1) fail("bridge: the resolver's /24 not among the /24s of standing");
  if (nblocked != 24 || last > SB_BRIDGE_MAX_MS) fail("bridge: the bot /24s were not all blocked while it held");
  if (lasted < SB_BRIDGE_MIN_MS || lasted > SB_BRIDGE_MAX_MS) fail("bridge: held outside its bounds");
  if (why != 1) fail("bridge: not lifted for its blocks made");
  if (res_read != res_sent) fail("bridge: the resolver of standing was not passed");
  if (nat) fail("bridge: the /24 of a resolver with a history was blocked");
  if (few) fail("bridge: a two-host /24 was blocked");
  if (made[1] != 0) fail("bridge: made with SWITCHBOARD_BRIDGE=off");
  if (made[2] != 0 || refused < 1) fail("bridge: made with no source of standing");
  if (made[3] != 0) fail("bridge: made before the shield was warm");
}

/* RRL-limited answers and blocks (shield8): a burst of 40 identical queries from one host of
 * 10.9.6.0/24 early in a second, RRL at 20 a second, the worker keeping up: ~20 limited answers,
 * no block (they count at the whole threshold, 200, while the worker keeps up: a few dozen in the
 * first 100 ms of a second blocked the /24 before). The same /24 kept at 1,000 a second: blocked
 * once its limited answers reach 200 (~200 ms). While the worker is behind, the burst blocks (the
 * prorated threshold). Prints "rrl burst-blocked 0|1 flood-blocked F behind-burst-blocked 0|1". */
/* thin26: the long bridge. After calm, a flood of 100 datagrams a ms (100,000 a second) rotating over
 * 4,096 /24s (10.16.0.0 - 10.31.255.0, ~24 a second each: no /24 rule sees it) from 0 to 2,000 ms
 * and from 2,500 to 5,000 ms (a 500 ms gap: under SB_BRIDGE_CALM_MS), then none until 9,000 ms,
 * then again until 10,000 ms; the resolver of standing (10.9.5.251) asks every 10 ms throughout.
 * The worker reads full runs (every 11 ms) while the flood is on and no bridge holds. Pass 0: one
 * bridge holds the whole flood through its gap (past SB_BRIDGE_QUIET_MS and SB_BRIDGE_MAX_MS, no
 * block made), lifted SB_BRIDGE_CALM_MS (+ a window) after the flood stops, why 4; the flood's
 * return 4 s later meets a second bridge (SB_BRIDGE_LONG_REST_MS after a long lift, not 10 s). Pass
 * 1: SWITCHBOARD_BRIDGE_LONG=off: lifted at SB_BRIDGE_QUIET_MS for want of a block (why 3), none
 * again in the 10 s rest. No /24 is ever blocked; the resolver is read whole while a bridge holds.
 * The worker reads 20 datagrams a ms (a full run when more were passed): the long bridge's share is
 * sized from that — 1 in 8, then 1 in 4 (behind: back to 1 in 8). Prints "long made M lifted L why W
 * long N kept K resolver-read P of Q blocked B off-made O off-lifted F off-why X sized S min-div D". */
static void bridge_long(const uint8_t *origin, size_t olen) {
  double lifted[2] = {-1, -1}, kept = 0, sized = 0, min_div = 0;
  double made[2] = {0, 0}, nlong = 0;
  int why[2] = {0, 0};
  unsigned res_read = 0, res_sent = 0, blocked = 0;
  for (int pass = 0; pass < 2; pass++) {
    sb_shield_config c;
    sb_shield *sh = fresh_shield(SB_SHIELD_ON, &c);
    sh->bridge_off = 0;
    sh->bridge_long_off = pass == 1;
    uint8_t pkt[300];
    size_t len = query(pkt, origin, olen, 1);
    double now = calm_seconds(sh, pkt, len, 950000.5, "long: not calm");
    double start = now;
    uint32_t turn = 0;
    unsigned passed = 0;
    int held = 0;
    for (int ms = 0; ms < 10000; ms++) {
      now += 1;
      sb_shield_clock(sh, now);
      const sb_bridge *b = sb_shield_prefilter_bridge();
      if (held && b == NULL && lifted[pass] < 0) {
        lifted[pass] = now - start;
        why[pass] = (int)sh->bridge_last_why;
        if (pass == 0) {
          kept = sh->bridge_last_kept;
          sized = sh->bridge_last_sized;
          min_div = sh->bridge_last_div_min;
        }
      }
      held = b != NULL;
      int flood = ms < 2000 || (ms >= 2500 && ms < 5000) || ms >= 9000;
      /* The worker reads 20 datagrams a ms: behind (a full run) when more were passed in the last 11. */
      if (ms % 11 == 0) {
        sb_shield_batch(sh, (flood && b == NULL) || passed > 220 ? 16 : 1, 16, now);
        passed = 0;
      }
      if (flood)
        for (int k = 0; k < 100; k++) {
          uint32_t n = turn++ % 4096;
          uint32_t addr = (10u << 24) | ((16u + (n >> 8)) << 16) | ((n & 255u) << 8) | (1u + (turn * 7u) % 250u);
          if (b == NULL || bridge_passes(b, addr, next())) {
            send_from(sh, pkt, len, addr, now, 0);
            passed++;
          }
        }
      if (ms % 10 == 0) {
        int in = b == NULL || bridge_passes(b, NET(5) | 251, next());
        if (b != NULL && pass == 0) {
          res_sent++;
          res_read += (unsigned)in;
        }
        if (in) send_from(sh, pkt, len, NET(5) | 251, now, 0);
      }
      blocked += check_blocked();
    }
    made[pass] = sh->bridges;
    if (pass == 0) nlong = sh->bridges_long;
  }
  printf("long made %.0f lifted %.0f why %d long %.0f kept %.0f resolver-read %u of %u blocked %u off-made %.0f "
         "off-lifted %.0f off-why %d sized %.0f min-div %.0f\n",
         made[0], lifted[0], why[0], nlong, kept, res_read, res_sent, blocked, made[1], lifted[1], why[1], sized, min_div);
  /* The share sized from the queue: 1 in 8 after 1 s of the worker keeping up, 1 in 4 (over its 20 a
   * ms: behind) after 2 s, back to 1 in 8 at once (and there for SB_BRIDGE_SIZE_FELL_MS). */
  if (min_div != 4 || sized < 3) fail("long: the share not sized from the queue");
  if (blocked != 0) fail("long: a /24 of the thin flood was blocked");
  if (lifted[0] < 5000 + SB_BRIDGE_CALM_MS || lifted[0] > 5000 + SB_BRIDGE_CALM_MS + 3 * SB_BRIDGE_WIN_MS || why[0] != 4)
    fail("long: the bridge was not held through the flood and lifted once it ended");
  if (made[0] != 2 || nlong != 2) fail("long: not one long bridge per flood");
  if (res_read != res_sent) fail("long: the resolver of standing was not passed");
  if (made[1] != 1 || why[1] != 3 || lifted[1] > SB_BRIDGE_QUIET_MS + 50) fail("long: held long with the switch off");
}

/* p99w1: the socket queue's wait as the behind-now signal. A stranger's TCP connection is judged
 * under pressure (the batch accept's sb_shield_tcp_stranger) from a wake-up whose oldest datagram
 * waited SB_QDELAY_BEHIND_MS, for SB_BEHIND_NOW_MS, without any full run of reads; the overload
 * level (sb_shield_tcp_admit, the JS listener's gate) is not moved by it; no timestamp (-1) or a
 * shorter wait is no signal. */
static void qdelay(void) {
  sb_shield_config c;
  sb_shield *sh = fresh_shield(SB_SHIELD_ON, &c);
  const uint8_t bot[4] = {127, 2, 9, 9};
  double now = 5000;
  int calm = sb_shield_tcp_stranger(bot, 4, now);
  int none = sb_shield_queue_wait(sh, -1, now) + sb_shield_queue_wait(sh, SB_QDELAY_BEHIND_MS - 0.1, now);
  int short_wait = sb_shield_tcp_stranger(bot, 4, now + 1);
  int signalled = sb_shield_queue_wait(sh, SB_QDELAY_BEHIND_MS + 5, now + 2);
  int pressed = sb_shield_tcp_stranger(bot, 4, now + 3);
  int admitted = sb_shield_tcp_admit(bot, 4, now + 3);
  int later = sb_shield_tcp_stranger(bot, 4, now + 2 + SB_BEHIND_NOW_MS + 50);
  printf("qdelay calm %d none %d short %d signalled %d pressed %d admitted %d later %d\n", calm, none, short_wait,
         signalled, pressed, admitted, later);
}

static void rrl_burst(const uint8_t *origin, size_t olen) {
  int burst_blocked = 0, behind_blocked = 0;
  double flood_blocked = -1;
  for (int pass = 0; pass < 2; pass++) {
    sb_shield_config c;
    config(&c, SB_SHIELD_ON);
    if (sb_shield_configure(&c) != 0) fail("configure");
    sb_shield *sh = sb_shield_thread();
    uint8_t pkt[300];
    size_t len = query(pkt, origin, olen, 1);
    double now = ticks(sh, 900000.5, 1000, pass == 1 ? 16 : 2);
    /* Just after a sweep: the first ms of a second. */
    while (now - sh->last_sweep < 1000) now += 1;
    sb_shield_clock(sh, now);
    if (pass == 1) sb_shield_batch(sh, 16, 16, now);
    for (int i = 0; i < 40; i++) send_from(sh, pkt, len, NET(6) | 1, now, 1);
    for (int ms = 0; ms < 150; ms++) {
      now += 1;
      sb_shield_clock(sh, now);
      sb_shield_batch(sh, pass == 1 ? 16 : 2, 16, now);
      check_blocked();
      if (is_blocked(NET(6))) {
        if (pass == 0) burst_blocked = 1;
        else behind_blocked = 1;
      }
    }
    if (pass == 1) break;
    double start = now;
    for (int ms = 0; ms < 1500 && flood_blocked < 0; ms++) {
      now += 1;
      sb_shield_clock(sh, now);
      sb_shield_batch(sh, 2, 16, now);
      send_from(sh, pkt, len, NET(6) | 1, now, 1);
      check_blocked();
      if (is_blocked(NET(6))) flood_blocked = now - start;
    }
  }
  if (burst_blocked) fail("rrl: a burst of limited answers blocked its /24 while the worker kept up");
  if (flood_blocked < 0 || flood_blocked > 400) fail("rrl: a /24 kept over its rate was not blocked within 400 ms");
  if (!behind_blocked) fail("rrl: a burst of limited answers while the worker is behind did not block");
  printf("rrl burst-blocked %d flood-blocked %.0f behind-burst-blocked %d\n", burst_blocked, flood_blocked,
         behind_blocked);
}

/* A flood of 150,000 random names a second against a worker that reads at most 40 datagrams a
 * millisecond (the rest overflow its queue): the zone's first share errs small and its flood is
 * re-estimated every SB_QF_ESTIMATE_MS, so from 250 ms after it entered the filter the kernel
 * lets through at most ~2x SB_QF_ADMIT_PER_SECOND (a share sized from what an overflowing worker
 * read would let a third of the worker's reads be the flood until the next second).
 * Prints "qf saturated engaged E first F worst W". */
static void qf_saturated(void) {
  static const uint8_t origin[] = {2, 'q', 'f', 4, 't', 'e', 's', 't', 0};
  const size_t olen = sizeof(origin);
  sb_shield_config c;
  sb_shield *sh = fresh_shield(SB_SHIELD_ON, &c);
  sh->renew_off = 1; /* as qf_scenario: QNAME-filtered senders only, no kernel source check here */
  static name_list names;
  const void *image;
  const uint8_t *o;
  size_t ol;
  uint32_t key = 0x811C9DC5u;
  for (size_t i = 0; i < olen; i++) key = (key ^ origin[i]) * 0x01000193u;
  names.n = 0;
  if (sb_images_names_of(key, &image, &o, &ol, take_name, &names) <= 0) fail("qf: the zone qf.test. is not plain");
  double now = 2900000.5 + 100, start, engaged = -1; /* the burst starts 0.8 s past a second */
  for (int ms = 0; ms < 3000; ms++) {
    now += 1;
    sb_shield_clock(sh, now);
    unsigned k = (unsigned)ms % names.n;
    qf_send(sh, names.names[k], names.len[k], now, 1, 1);
  }
  uint8_t name[300], pkt[300];
  /* A lead-in of 6,000 random names a second for 700 ms: called attacked, under SB_QF_MIN_FLOOD. */
  for (int ms = 0; ms < 700; ms++) {
    now += 1;
    sb_shield_clock(sh, now);
    for (int k = 0; k < 6; k++) qf_send(sh, name, random_name(name, origin, olen), now, 1, (uint32_t)(ms * 6 + k));
  }
  if (sh->nqf != 0) fail("qf saturated: a flood under the minimum entered");
  start = now;
  unsigned window = 0, worst = 0, first = 0;
  for (int ms = 0; ms < 3000; ms++) {
    now += 1;
    sb_shield_clock(sh, now);
    const sb_qf_zone *zones;
    unsigned nz = sb_shield_prefilter_zones(&zones);
    if (engaged < 0 && nz > 0) {
      engaged = now - start;
      first = (unsigned)(zones[0].admit / 4294967296.0 * 150000);
    }
    unsigned read = 0;
    for (int k = 0; k < 150; k++) {
      size_t n = random_name(name, origin, olen);
      size_t len = query(pkt, name, n, 1);
      if (nz > 0 && sb_qf_decide(zones, nz, pkt, len, qf_rand()) == 0) continue;
      if (engaged >= 0) window++;
      if (read++ >= 40) continue; /* the worker's queue overflowed */
      qf_send(sh, name, n, now, 0, (uint32_t)(ms * 150 + k));
    }
    if (engaged >= 0 && (int)(now - start - engaged) % 100 == 0) {
      if (now - start - engaged >= 250 && window > worst) worst = window;
      window = 0;
    }
  }
  if (engaged < 0) fail("qf saturated: the zone never entered the filter");
  if (worst > 1000) fail("qf saturated: the kernel let through too much after its first window");
  if (first > 15001) fail("qf saturated: the first share was not small");
  if (engaged > 120) fail("qf saturated: the burst entered the filter late");
  printf("qf saturated engaged %.0f first %u worst %u\n", engaged, first, worst);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: glue-harness IMAGES CORPUS\n");
    return 2;
  }
  records images = read_records(argv[1]);
  records corpus = read_records(argv[2]);
  sb_images_configure(1, 1232);
  const uint8_t *origin = NULL;
  size_t olen = 0;
  for (size_t i = 0; i < images.n; i++) {
    const char *why = NULL;
    sb_image *img = sb_image_open(images.v[i], images.len[i], NULL, NULL, &why);
    if (img == NULL) continue;
    if (sb_images_install(img) != 0) {
      sb_image_free(img);
      continue;
    }
    if (origin == NULL) origin = sb_image_origin(img, &olen);
  }
  if (origin == NULL) fail("no valid image");
  if (olen > 255) fail("origin too long");
  fuzz(&corpus);
  early(origin, olen);
  direct(origin, olen);
  direct6(origin, olen);
  cold(origin, olen);
  hist(origin, olen);
  shared_good(origin, olen);
  renew(origin, olen);
  onset2(origin, olen);
  onset3(origin, olen);
  bridge(origin, olen);
  bridge_long(origin, olen);
  rrl_burst(origin, olen);
  qdelay();
  qf_scenario();
  qf_saturated();
  sb_shield_configure(NULL);
  sb_images_clear();
  for (size_t i = 0; i < images.n; i++) free(images.v[i]);
  for (size_t i = 0; i < corpus.n; i++) free(corpus.v[i]);
  free(images.v);
  free(images.len);
  free(corpus.v);
  free(corpus.len);
  return 0;
}
