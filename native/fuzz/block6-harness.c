/*
 * Harness for the kernel prefilter's IPv6 /56 blocks (ipv626: ../block6.c, the IPv6 part of
 * ../prefilter.c and ../prefilter_lone.c; docs/SHIELD.md "IPv6 /56s before the socket queue").
 * Built with -fsanitize=address,undefined by test/native/block6.test.ts:
 *
 *   block6-harness SEED
 *     1. The table: two addresses of one /56 share a key, the next /56 has its own; a /56 rate
 *        limited at the threshold is blocked at the sweep (prorated before it), its neighbours are
 *        not; missing names from one /64 are not enough, from 16 /64s they are; an allow-listed /56
 *        and one with a source of good standing (marked, or found by `shared_good`) are never
 *        blocked; at most SB_BLOCK6_MAX blocked (the rest counted over_max); a block ends after
 *        its length (prefilter_seconds, an eighth more at most), a second lasts twice as long, a
 *        block whose sample shows the /56 still over the threshold is renewed at expiry; a full
 *        table keeps its blocked /56s. Then seeded random counts, marks and scans: the blocked set
 *        sorted, within its bound, never an allowed or good /56.
 *     2. The programs on real sockets (::1 to ::1; 127.0.0.1): with ::/56 (::1's) blocked, every
 *        IPv6 datagram is dropped and IPv4 passes; with 64 other /56s blocked (sharing ::1's upper
 *        word, or its lower 24 bits) every one passes; with the renewal's sample ~1 in 256 passes;
 *        the same through the QNAME filter's program and the bridge's (an IPv6 source not blocked
 *        passes the bridge whole); the bridge as eBPF where bpf(2) is allowed.
 *     3. Bounds: more than SB_BLOCK6_MAX_PROG keys, unsorted keys or a key with its low octet set
 *        make every build return 0; the largest program (512 /24s, 4 zones of 1,280 names, 64 /56s)
 *        fits SB_QF_INSNS; with no /56 the program is the one built before any was set.
 *   Prints "b6 table ok", "b6 fuzz N ok", "b6 kernel ...", "b6 lone ok 0|1 ..." and "b6 bounds ok insns I".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../block6.h"
#include "../prefilter.h"

static void fail(const char *what) {
  fprintf(stderr, "block6-harness: %s (errno %d)\n", what, errno);
  abort();
}

static uint64_t rng_state;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 11);
}

static void addr6(const char *text, uint8_t *out) {
  if (inet_pton(AF_INET6, text, out) != 1) fail(text);
}

/* ---- 1: the table ---- */

static uint64_t g_allowed_key = ~0ull, g_good_key = ~0ull;
static unsigned g_shared_asked;

static int allowed_cb(void *ctx, uint64_t key) {
  (void)ctx;
  return key == g_allowed_key;
}
static int shared_cb(void *ctx, uint64_t key, double now_ms) {
  (void)ctx;
  (void)now_ms;
  g_shared_asked++;
  return key == g_good_key;
}

static sb_block6_rules rules(void) {
  sb_block6_rules r;
  memset(&r, 0, sizeof(r));
  r.threshold = 200;
  r.rrl_threshold = 200;
  r.prorate = 1;
  r.prorate_rrl = 0;
  r.hosts_needed = 16;
  r.seconds = 30;
  r.renew = 1;
  r.allowed = allowed_cb;
  r.shared_good = shared_cb;
  return r;
}

static void count_n(sb_block6 *t, const char *a, int kind, unsigned n, const sb_block6_rules *r, double now) {
  uint8_t x[16];
  addr6(a, x);
  for (unsigned i = 0; i < n; i++) sb_block6_count(t, x, kind, r, now);
}

static int blocked_at(const sb_block6 *t, const char *a) {
  uint8_t x[16];
  addr6(a, x);
  return sb_block6_blocked(t, x);
}

static void table_tests(void) {
  static sb_block6 t;
  sb_block6_rules r = rules();
  uint8_t a[16], b[16], c[16];
  addr6("2001:db8:0:4200::1", a);
  addr6("2001:db8:0:42ff:1::2", b);
  addr6("2001:db8:0:4300::1", c);
  if (sb_block6_key(a) != sb_block6_key(b) || sb_block6_key(a) == sb_block6_key(c)) fail("the /56 key");
  if (sb_block6_key(a) != 0x20010db800004200ull || (sb_block6_key(c) & 0xff) != 0) fail("the key's shape");

  /* RRL counts: the whole threshold at the sweep (prorate_rrl 0), both addresses of the /56. */
  sb_block6_init(&t);
  double now = 1000000;
  t.last_sweep = now;
  count_n(&t, "2001:db8:0:4200::1", SB_B6_RRL, 150, &r, now + 500);
  count_n(&t, "2001:db8:0:42ff:1::2", SB_B6_RRL, 49, &r, now + 600);
  if (sb_block6_scan(&t, &r, now + 700, 0) || t.nblocked != 0) fail("blocked under the threshold");
  count_n(&t, "2001:db8:0:42ff:1::2", SB_B6_RRL, 1, &r, now + 700);
  count_n(&t, "2001:db8:0:4300::1", SB_B6_RRL, 199, &r, now + 700);
  if (!sb_block6_scan(&t, &r, now + 1000, 1) || t.nblocked != 1) fail("the rate-limited /56 not blocked");
  if (!blocked_at(&t, "2001:db8:0:4277::9") || blocked_at(&t, "2001:db8:0:4300::1") || blocked_at(&t, "2001:db8:0:4100::1"))
    fail("the blocked set");
  if (t.made != 1) fail("made");

  /* Sheds: prorated before the sweep — 40 in the /56's first 100 ms (a tenth of 200 is 20). */
  now += 1000;
  count_n(&t, "2001:db8:1::1", SB_B6_SHED, 19, &r, now + 50);
  if (sb_block6_scan(&t, &r, now + 60, 0)) fail("shed: blocked under the prorated threshold");
  count_n(&t, "2001:db8:1::1", SB_B6_SHED, 1, &r, now + 60);
  if (!sb_block6_scan(&t, &r, now + 70, 0) || !blocked_at(&t, "2001:db8:1::ffff")) fail("shed: not blocked early");

  /* Missing names: one /64 is one host, however many addresses; 16 /64s are enough. */
  now += 1000;
  sb_block6_scan(&t, &r, now, 1);
  char text[64];
  for (unsigned i = 0; i < 400; i++) {
    snprintf(text, sizeof(text), "2001:db8:2:500:%x::%x", 0, i + 1);
    count_n(&t, text, SB_B6_NX, 1, &r, now + 500);
  }
  sb_block6_scan(&t, &r, now + 1000, 1);
  if (blocked_at(&t, "2001:db8:2:500::1")) fail("one /64 blocked its /56");
  now += 1000;
  for (unsigned i = 0; i < 400; i++) {
    snprintf(text, sizeof(text), "2001:db8:2:5%02x::%x", i % 16, i + 1);
    count_n(&t, text, SB_B6_NX, 1, &r, now + 500);
  }
  sb_block6_scan(&t, &r, now + 1000, 1);
  if (!blocked_at(&t, "2001:db8:2:500::1")) fail("16 /64s did not block their /56");

  /* Allow-listed and good /56s: never blocked; the shared table asked only before a block. */
  now += 1000;
  uint8_t al[16], gd[16], sg[16];
  addr6("2001:db8:3::", al);
  addr6("2001:db8:4::", gd);
  addr6("2001:db8:5::", sg);
  g_allowed_key = sb_block6_key(al);
  g_good_key = sb_block6_key(sg);
  sb_block6_good(&t, gd, now);
  count_n(&t, "2001:db8:3::1", SB_B6_SHED, 500, &r, now + 100);
  count_n(&t, "2001:db8:4::1", SB_B6_SHED, 500, &r, now + 100);
  unsigned asked = g_shared_asked;
  count_n(&t, "2001:db8:5::1", SB_B6_SHED, 500, &r, now + 100);
  sb_block6_scan(&t, &r, now + 1000, 1);
  if (blocked_at(&t, "2001:db8:3::1") || blocked_at(&t, "2001:db8:4::1") || blocked_at(&t, "2001:db8:5::1"))
    fail("an allowed or good /56 blocked");
  if (g_shared_asked != asked + 1 || t.spared != 1) fail("the shared standing asked");
  /* Spared: not asked again within SB_BLK6_SHARED_GOOD_MS. */
  count_n(&t, "2001:db8:5::1", SB_B6_SHED, 500, &r, now + 1100);
  sb_block6_scan(&t, &r, now + 2000, 1);
  if (g_shared_asked != asked + 1 || blocked_at(&t, "2001:db8:5::1")) fail("spared /56 blocked or asked again");

  /* Expiry: the first block of 2001:db8:0:4200::/56 (made at 1,001,000) lasts 30-33.75 s. */
  double made = 1001000;
  now = made + 29000;
  sb_block6_scan(&t, &r, now, 1);
  if (!blocked_at(&t, "2001:db8:0:4200::1")) fail("ended early");
  now = made + 34000;
  sb_block6_scan(&t, &r, now, 1);
  if (blocked_at(&t, "2001:db8:0:4200::1")) fail("did not end");
  /* Blocked again: twice as long (60-67.5 s); its sample over the threshold in the block's last
   * seconds (2 sampled a second stand for ~512 sent): renewed at expiry, not released. */
  count_n(&t, "2001:db8:0:4200::1", SB_B6_RRL, 200, &r, now + 100);
  sb_block6_scan(&t, &r, now + 1000, 1);
  double again = now + 1000;
  uint8_t smp[16];
  addr6("2001:db8:0:4200::7", smp);
  for (unsigned s = 1; s <= 70; s++) {
    sb_block6_scan(&t, &r, again + s * 1000.0, 1);
    if (!blocked_at(&t, "2001:db8:0:4200::1")) fail(s < 59 ? "the second block not doubled" : "not renewed from the sample");
    if (s >= 55) sb_block6_sampled(&t, smp), sb_block6_sampled(&t, smp);
  }
  if (t.renewed < 1) fail("no renewal counted");

  /* The bound: 100 /56s over the threshold at once, SB_BLOCK6_MAX blocked. */
  static sb_block6 m;
  sb_block6_init(&m);
  sb_block6_rules rr = rules();
  rr.allowed = NULL;
  rr.shared_good = NULL;
  for (unsigned i = 0; i < 100; i++) {
    snprintf(text, sizeof(text), "2001:db8:%x:%x00::1", 0x100 + i, i);
    count_n(&m, text, SB_B6_SHED, 200, &rr, 500);
  }
  sb_block6_scan(&m, &rr, 1000, 1);
  if (m.nblocked != SB_BLOCK6_MAX || m.made != SB_BLOCK6_MAX || m.over_max != 100 - SB_BLOCK6_MAX) fail("the bound");
  for (unsigned i = 1; i < m.nblocked; i++)
    if (m.blocked[i] <= m.blocked[i - 1]) fail("unsorted");
  /* A flood of new /56s (far more than the table's slots): the blocked ones stay. */
  for (unsigned i = 0; i < 5000; i++) {
    snprintf(text, sizeof(text), "2001:db8:%x:%x00::1", 0x8000 + i, i & 0xff);
    count_n(&m, text, SB_B6_SHED, 1, &rr, 2000 + i * 0.1);
  }
  sb_block6_scan(&m, &rr, 3000, 1);
  if (m.nblocked != SB_BLOCK6_MAX) fail("blocked /56s lost to a flood of new ones");
  printf("b6 table ok made %.0f renewed %.0f spared %.0f over %.0f no-slot %.0f\n", t.made, t.renewed, t.spared,
         m.over_max, m.no_slot);
}

static void fuzz(unsigned rounds) {
  static sb_block6 t;
  sb_block6_init(&t);
  sb_block6_rules r = rules();
  r.threshold = 20;
  r.rrl_threshold = 20;
  r.hosts_needed = 4;
  r.seconds = 2;
  g_allowed_key = 0x20010db800000100ull;
  g_good_key = 0x20010db800000200ull;
  double now = 1000;
  uint8_t x[16];
  for (unsigned i = 0; i < rounds; i++) {
    memset(x, 0, 16);
    x[0] = 0x20;
    x[1] = 0x01;
    x[2] = 0x0d;
    x[3] = 0xb8;
    x[5] = (uint8_t)(rnd() % 3); /* few upper words: groups in the program */
    x[6] = (uint8_t)(rnd() % 120);
    x[7] = (uint8_t)rnd();
    x[15] = (uint8_t)rnd();
    unsigned op = rnd() % 100;
    if (op < 90) sb_block6_count(&t, x, op < 30 ? SB_B6_SHED : op < 60 ? SB_B6_RRL : SB_B6_NX, &r, now);
    else if (op < 92) sb_block6_good(&t, x, now);
    else if (op < 96) sb_block6_sampled(&t, x);
    else {
      int sweep = rnd() % 4 == 0;
      sb_block6_scan(&t, &r, now, sweep);
      if (t.nblocked > SB_BLOCK6_MAX) fail("fuzz: over the bound");
      for (unsigned k = 0; k < t.nblocked; k++) {
        if (k > 0 && t.blocked[k] <= t.blocked[k - 1]) fail("fuzz: unsorted");
        if (t.blocked[k] == g_allowed_key || (t.blocked[k] & 0xff) != 0) fail("fuzz: an allowed /56 blocked");
      }
    }
    if (i == rounds / 2) {
      /* Good from here: the /56 keeps a good mark; it is not blocked anew while it lasts. */
      uint8_t g[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0x03, 0};
      sb_block6_good(&t, g, now);
      g_good_key = sb_block6_key(g);
    }
    now += (rnd() % 20) / 10.0;
  }
  printf("b6 fuzz %u ok blocked %u made %.0f renewed %.0f\n", rounds, t.nblocked, t.made, t.renewed);
}

/* ---- 2: the programs in the kernel ---- */

static int pair6(int *rx, int *tx, struct sockaddr_in6 *to) {
  *rx = socket(AF_INET6, SOCK_DGRAM, 0);
  *tx = socket(AF_INET6, SOCK_DGRAM, 0);
  if (*rx < 0 || *tx < 0) return -1;
  memset(to, 0, sizeof(*to));
  to->sin6_family = AF_INET6;
  to->sin6_addr = in6addr_loopback;
  socklen_t l = sizeof(*to);
  if (bind(*rx, (struct sockaddr *)to, l) != 0 || getsockname(*rx, (struct sockaddr *)to, &l) != 0) return -1;
  int big = 1 << 22;
  setsockopt(*rx, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
  return 0;
}

static int pair4(int *rx, int *tx, struct sockaddr_in *to) {
  *rx = socket(AF_INET, SOCK_DGRAM, 0);
  *tx = socket(AF_INET, SOCK_DGRAM, 0);
  if (*rx < 0 || *tx < 0) return -1;
  memset(to, 0, sizeof(*to));
  to->sin_family = AF_INET;
  to->sin_addr.s_addr = htonl(0x7f000001);
  socklen_t l = sizeof(*to);
  if (bind(*rx, (struct sockaddr *)to, l) != 0 || getsockname(*rx, (struct sockaddr *)to, &l) != 0) return -1;
  int big = 1 << 22;
  setsockopt(*rx, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
  return 0;
}

/* A query for www.example. A. */
static size_t query(uint8_t *pkt, uint16_t id) {
  static const uint8_t q[] = {0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1};
  memcpy(pkt, q, sizeof(q));
  pkt[0] = (uint8_t)(id >> 8);
  pkt[1] = (uint8_t)id;
  return sizeof(q);
}

/* Sends `n` queries through the program (attached to a fresh receiving socket, classic or lone) and
 * returns how many arrived. */
static unsigned through(int v6, const struct sock_filter *prog, unsigned len, int lone, const sb_qf_zone *zones,
                        unsigned nz, unsigned n) {
  int rx, tx;
  struct sockaddr_storage to;
  socklen_t tl;
  if (v6) {
    if (pair6(&rx, &tx, (struct sockaddr_in6 *)&to) != 0) fail("socket (v6)");
    tl = sizeof(struct sockaddr_in6);
  } else {
    if (pair4(&rx, &tx, (struct sockaddr_in *)&to) != 0) fail("socket (v4)");
    tl = sizeof(struct sockaddr_in);
  }
  if (lone ? sb_prefilter_attach_lone(rx, prog, len, len - 4, zones, nz) != 0
           : sb_prefilter_attach(rx, (struct sock_filter *)prog, len) != 0)
    fail("attach");
  uint8_t pkt[512], buf[512];
  unsigned got = 0;
  for (unsigned i = 0; i < n; i++) {
    size_t l = query(pkt, (uint16_t)i);
    if (sendto(tx, pkt, l, 0, (struct sockaddr *)&to, tl) != (ssize_t)l) fail("sendto");
    if ((i & 63) == 63 || i + 1 == n) {
      struct pollfd p = {rx, POLLIN, 0};
      while (poll(&p, 1, 20) > 0 && recv(rx, buf, sizeof(buf), 0) > 0) got++;
    }
  }
  struct pollfd p = {rx, POLLIN, 0};
  while (poll(&p, 1, 50) > 0 && recv(rx, buf, sizeof(buf), 0) > 0) got++;
  close(rx);
  close(tx);
  return got;
}

static int has_v6(void) {
  int s = socket(AF_INET6, SOCK_DGRAM, 0);
  if (s < 0) return 0;
  struct sockaddr_in6 a = {0};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  int ok = bind(s, (struct sockaddr *)&a, sizeof(a)) == 0;
  close(s);
  return ok;
}

static size_t to_wire(const char *name, uint8_t *out) {
  size_t n = 0;
  const char *p = name;
  while (*p) {
    const char *dot = strchr(p, '.');
    size_t l = dot ? (size_t)(dot - p) : strlen(p);
    out[n++] = (uint8_t)l;
    memcpy(out + n, p, l);
    n += l;
    p += l;
    if (*p == '.') p++;
  }
  out[n++] = 0;
  return n;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static uint32_t zhashes[SB_QF_MAX_NAMES];

static sb_qf_zone zone_example(void) {
  sb_qf_zone z;
  memset(&z, 0, sizeof(z));
  z.origin_len = (unsigned)to_wire("example", z.origin);
  z.labels = 1;
  uint8_t w[8];
  size_t l = to_wire("www", w) - 1;
  zhashes[0] = sb_qf_hash(w, (unsigned)l, z.origin, z.origin_len);
  z.hashes = zhashes;
  z.nhashes = 1;
  z.admit = 0;
  return z;
}

static void kernel_tests(void) {
  static struct sock_filter prog[SB_QF_INSNS];
  int v6 = has_v6();
  /* ::1's /56 is ::/56 (key 0). 64 others: upper words 0..7 (0 is ::1's), lower 24 bits such that
   * some equal ::1's (0) under another upper word. */
  static uint64_t others[SB_BLOCK6_MAX_PROG], with[SB_BLOCK6_MAX_PROG];
  unsigned no = 0;
  for (uint32_t hi = 0; hi < 9; hi++)
    for (uint32_t lo = 0; lo < 8; lo++) {
      if (hi == 0 && lo == 0) continue;
      if (no < SB_BLOCK6_MAX_PROG) others[no++] = ((uint64_t)hi << 32) | ((uint64_t)lo << 8);
    }
  memcpy(with, others, sizeof(others));
  with[0] = 0; /* ::/56 in place of 0:0:0:100::/56 (others[0]), still sorted */
  uint32_t v4block[1] = {0x7f090000u};
  const unsigned N = 2000, S = 100 * SB_PREFILTER_SAMPLE_DIV;
  unsigned got[16];
  memset(got, 0, sizeof(got));
  sb_qf_zone z = zone_example();
  static const uint32_t good[1] = {0x7f070000u};
  sb_bridge br = {good, 1, NULL, 0, 0};
  unsigned len;
  if (v6) {
    /* Plain source check. */
    sb_prefilter_set_blocked6(with, SB_BLOCK6_MAX_PROG);
    len = sb_prefilter_build_sampled(v4block, 1, 24, 0, prog, SB_QF_INSNS);
    if (len == 0) fail("build (plain)");
    got[0] = through(1, prog, len, 0, NULL, 0, N);
    got[1] = through(0, prog, len, 0, NULL, 0, N);
    sb_prefilter_set_blocked6(others, SB_BLOCK6_MAX_PROG);
    len = sb_prefilter_build_sampled(NULL, 0, 24, 0, prog, SB_QF_INSNS);
    if (len == 0) fail("build (others)");
    got[2] = through(1, prog, len, 0, NULL, 0, N);
    /* The renewal's sample. */
    sb_prefilter_set_blocked6(with, 1);
    len = sb_prefilter_build_sampled(NULL, 0, 24, SB_PREFILTER_SAMPLE, prog, SB_QF_INSNS);
    got[3] = through(1, prog, len, 0, NULL, 0, S);
    /* The QNAME filter's program (www.example. is a name of the set: it reaches the source check). */
    sb_prefilter_set_blocked6(with, SB_BLOCK6_MAX_PROG);
    len = sb_prefilter_build_qf(v4block, 1, 24, 0, &z, 1, prog, SB_QF_INSNS);
    if (len == 0) fail("build (qf)");
    got[4] = through(1, prog, len, 0, NULL, 0, N);
    sb_prefilter_set_blocked6(others, SB_BLOCK6_MAX_PROG);
    len = sb_prefilter_build_qf(v4block, 1, 24, 0, &z, 1, prog, SB_QF_INSNS);
    got[5] = through(1, prog, len, 0, NULL, 0, N);
    /* The bridge (share 0: an IPv4 stranger dropped; IPv6 whole unless its /56 is blocked). */
    sb_prefilter_set_blocked6(with, SB_BLOCK6_MAX_PROG);
    len = sb_prefilter_build_bridge(v4block, 1, 0, NULL, 0, &br, prog, SB_QF_INSNS);
    if (len == 0) fail("build (bridge)");
    got[6] = through(1, prog, len, 0, NULL, 0, N);
    got[7] = through(0, prog, len, 0, NULL, 0, N);
    sb_prefilter_set_blocked6(others, SB_BLOCK6_MAX_PROG);
    len = sb_prefilter_build_bridge(v4block, 1, 0, &z, 1, &br, prog, SB_QF_INSNS);
    got[8] = through(1, prog, len, 0, NULL, 0, N);
  }
  printf("b6 kernel v6 %d blocked %u of %u v4 %u of %u others %u of %u sampled %u of %u qf %u of %u qf-others %u of %u "
         "bridge %u of %u bridge-v4 %u of %u bridge-others %u of %u\n",
         v6, got[0], N, got[1], N, got[2], N, got[3], S, got[4], N, got[5], N, got[6], N, got[7], N, got[8], N);
  /* The bridge as eBPF (its share and standing in maps), where bpf(2) is allowed. */
  int lone = 0;
  unsigned lb = 0, lo = 0;
  if (v6) {
    sb_bridge mb = sb_prefilter_bridge_mapped(&br);
    sb_prefilter_set_blocked6(with, SB_BLOCK6_MAX_PROG);
    len = sb_prefilter_build_bridge(v4block, 1, 0, &z, 1, &mb, prog, SB_QF_INSNS);
    if (len == 0) fail("build (lone)");
    if (sb_prefilter_lone_sync(&br) == 0) {
      int rx, tx;
      struct sockaddr_in6 to;
      if (pair6(&rx, &tx, &to) != 0) fail("socket (lone probe)");
      lone = sb_prefilter_attach_lone(rx, prog, len, len - 4, &z, 1) == 0;
      close(rx);
      close(tx);
    }
    if (lone) {
      lb = through(1, prog, len, 1, &z, 1, N);
      sb_prefilter_set_blocked6(others, SB_BLOCK6_MAX_PROG);
      len = sb_prefilter_build_bridge(v4block, 1, 0, &z, 1, &mb, prog, SB_QF_INSNS);
      lo = through(1, prog, len, 1, &z, 1, N);
    }
  }
  printf("b6 lone ok %d blocked %u of %u others %u of %u\n", lone, lb, N, lo, N);
  sb_prefilter_set_blocked6(NULL, 0);
}

/* ---- 3: bounds ---- */

static void bounds_tests(void) {
  static struct sock_filter a[SB_QF_INSNS], b[SB_QF_INSNS];
  uint32_t v4[1] = {0x7f090000u};
  sb_prefilter_set_blocked6(NULL, 0);
  unsigned la = sb_prefilter_build_sampled(v4, 1, 24, SB_PREFILTER_SAMPLE, a, SB_QF_INSNS);
  static uint64_t many[SB_BLOCK6_MAX_PROG + 1];
  for (unsigned i = 0; i <= SB_BLOCK6_MAX_PROG; i++) many[i] = (uint64_t)(i + 1) << 8;
  sb_prefilter_set_blocked6(many, SB_BLOCK6_MAX_PROG + 1);
  if (sb_prefilter_build_sampled(v4, 1, 24, 0, b, SB_QF_INSNS) != 0) fail("too many /56s taken");
  uint64_t unsorted[2] = {0x200, 0x100}, low[1] = {0x101};
  sb_prefilter_set_blocked6(unsorted, 2);
  if (sb_prefilter_build_sampled(v4, 1, 24, 0, b, SB_QF_INSNS) != 0) fail("unsorted /56s taken");
  sb_prefilter_set_blocked6(low, 1);
  if (sb_prefilter_build_sampled(v4, 1, 24, 0, b, SB_QF_INSNS) != 0) fail("a key with its low octet taken");
  sb_prefilter_set_blocked6(NULL, 0);
  unsigned lb = sb_prefilter_build_sampled(v4, 1, 24, SB_PREFILTER_SAMPLE, b, SB_QF_INSNS);
  if (la == 0 || la != lb || memcmp(a, b, la * sizeof(a[0])) != 0) fail("no /56: not the program before");
  /* The largest: 512 /24s, 4 zones of 320 names each, 64 /56s in one upper word (the longest group). */
  static uint32_t pfx[SB_PREFILTER_MAX];
  for (unsigned i = 0; i < SB_PREFILTER_MAX; i++) pfx[i] = 0x0a000000u + (i << 8);
  static uint32_t hs[SB_QF_MAX_ZONES][SB_QF_MAX_NAMES / SB_QF_MAX_ZONES];
  sb_qf_zone zs[SB_QF_MAX_ZONES];
  static const char *origins[SB_QF_MAX_ZONES] = {"a.example", "b.example", "c.example", "d.example"};
  for (unsigned zi = 0; zi < SB_QF_MAX_ZONES; zi++) {
    memset(&zs[zi], 0, sizeof(zs[zi]));
    zs[zi].origin_len = (unsigned)to_wire(origins[zi], zs[zi].origin);
    zs[zi].labels = 2;
    for (unsigned i = 0; i < SB_QF_MAX_NAMES / SB_QF_MAX_ZONES; i++) hs[zi][i] = rnd();
    qsort(hs[zi], SB_QF_MAX_NAMES / SB_QF_MAX_ZONES, 4, cmp_u32);
    unsigned u = 0;
    for (unsigned i = 0; i < SB_QF_MAX_NAMES / SB_QF_MAX_ZONES; i++)
      if (u == 0 || hs[zi][i] != hs[zi][u - 1]) hs[zi][u++] = hs[zi][i];
    zs[zi].hashes = hs[zi];
    zs[zi].nhashes = u;
  }
  static uint64_t one_word[SB_BLOCK6_MAX_PROG];
  for (unsigned i = 0; i < SB_BLOCK6_MAX_PROG; i++) one_word[i] = 0x20010db800000000ull | ((uint64_t)i << 8);
  sb_prefilter_set_blocked6(one_word, SB_BLOCK6_MAX_PROG);
  unsigned big = sb_prefilter_build_qf(pfx, SB_PREFILTER_MAX, 24, SB_PREFILTER_SAMPLE, zs, SB_QF_MAX_ZONES, a, SB_QF_INSNS);
  if (big == 0 || big > SB_QF_INSNS) fail("the largest program does not fit");
  static const uint32_t good[1] = {0x7f070000u};
  sb_bridge br = {good, 1, NULL, 0, 1};
  unsigned bb = sb_prefilter_build_bridge(pfx, SB_PREFILTER_MAX, SB_PREFILTER_SAMPLE, zs, SB_QF_MAX_ZONES, &br, b, SB_QF_INSNS);
  if (bb == 0 || bb > SB_QF_INSNS) fail("the largest bridge program does not fit");
  sb_prefilter_set_blocked6(NULL, 0);
  printf("b6 bounds ok insns %u bridge %u\n", big, bb);
}

int main(int argc, char **argv) {
  if (argc != 2) fail("usage: block6-harness SEED");
  rng_state = strtoull(argv[1], NULL, 10) * 0x9E3779B97F4A7C15ull + 1;
  table_tests();
  fuzz(200000);
  kernel_tests();
  bounds_tests();
  return 0;
}
