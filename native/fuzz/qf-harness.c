/*
 * Harness for the kernel prefilter's QNAME filter (../prefilter.c, docs/SHIELD.md "An attacked
 * zone's missing names dropped in the kernel"). Built with -fsanitize=address,undefined by
 * test/native/prefilter-qf.test.ts:
 *
 *   qf-harness SEED COUNT
 *     1. Builds the UDP program for two attacked zones (z0.drill. with the names n0..n999 and
 *        big, sub.example. with www and mail) and one blocked /24 (127.9.0.0/24), attaches it to
 *        a loopback UDP socket, and sends COUNT seeded datagrams from 127.0.0.1: names of the set
 *        in random letter case, random names under each zone, names of other zones, the apexes,
 *        and hostile ones (truncated anywhere, compression pointers, reserved label types, more
 *        labels than the program follows, responses, QDCOUNT 0 or 2, random octets, names longer
 *        than the hash covers). Every zone's admitted share is 0, so each decision is certain:
 *        the kernel's (the datagram arrived or not) must equal sb_qf_decide's for every one.
 *     2. The same on ::1 when the host has it (the program reads the datagram from its UDP
 *        header, whatever the IP version).
 *     3. From 127.9.0.1 (the blocked /24): an existing name is dropped, the source check still
 *        runs after the QNAME filter — every one of 2,000 without a sample share; with the
 *        server's (SB_PREFILTER_SAMPLE, expiry19) about 1 in SB_PREFILTER_SAMPLE_DIV passes
 *        (while every datagram from 127.0.0.1, not blocked, was decided by the QNAME filter
 *        alone in runs 1 and 2).
 *     4. Bounds: the builder refuses unsorted hashes, more names than SB_QF_MAX_NAMES, origins
 *        of a bad shape, too many zones; a program at the limits (SB_PREFILTER_MAX prefixes and
 *        SB_QF_MAX_NAMES names) fits SB_QF_INSNS.
 *     5. The bridge's program (bridge21).
 *     6. onset22: sb_prefilter_same/note/forget — a rebuild of the attached program is known as the
 *        same (and, not attached again, the kernel keeps dropping the blocked /24's datagrams); a
 *        changed share, a changed blocked set, a detach are not; the changed one attached passes them.
 *     7. lone24: the bridge's program as eBPF (../prefilter_lone.c) where bpf(2) is allowed: its QNAME
 *        filter against the reference, the bridge's cases, a quiet stranger whole, rotating /24s
 *        held to the budget ("qf lone ok 1 ..."; "qf lone ok 0 ..." where refused).
 *     8. maps25: the share and the /24s of standing in maps — one eBPF program attached, then a
 *        join and a rise of the share written into the maps only, each applied by the kernel
 *        ("qf maps ok 1 programs 1 same 2 ...").
 *   Prints "qf sent N passed P dropped D mismatches 0 v6 0|1 blocked 1 insns I",
 *   "qf sampled S of T" and "qf same 7 of 7 kept 2000 of 2000 after 2000 of 2000".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../prefilter.h"

/* lone24: run() attaches through the lone translation (eBPF) when set. */
static int g_attach_lone = 0;

static void fail(const char *what) {
  fprintf(stderr, "qf-harness: %s (errno %d)\n", what, errno);
  abort();
}

static uint64_t rng_state;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 11);
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

/* A zone of the harness: its origin and names (labels in front of it), hashed and sorted. */
typedef struct {
  sb_qf_zone z;
  uint32_t hashes[SB_QF_MAX_NAMES];
} hzone;

static void make_zone(hzone *h, const char *origin, const char **prefixes, unsigned n) {
  memset(h, 0, sizeof(*h));
  h->z.origin_len = (unsigned)to_wire(origin, h->z.origin);
  unsigned labels = 0;
  for (unsigned p = 0; h->z.origin[p] != 0; p += 1u + h->z.origin[p]) labels++;
  h->z.labels = labels;
  for (unsigned i = 0; i < n; i++) {
    uint8_t w[300];
    size_t l = to_wire(prefixes[i], w) - 1; /* without the root octet */
    h->hashes[i] = sb_qf_hash(w, (unsigned)l, h->z.origin, h->z.origin_len);
  }
  qsort(h->hashes, n, 4, cmp_u32);
  unsigned u = 0;
  for (unsigned i = 0; i < n; i++)
    if (u == 0 || h->hashes[i] != h->hashes[u - 1]) h->hashes[u++] = h->hashes[i];
  h->z.hashes = h->hashes;
  h->z.nhashes = u;
  h->z.admit = 0;
}

static void random_case(uint8_t *w, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (((w[i] | 0x20) >= 'a' && (w[i] | 0x20) <= 'z') && (rnd() & 1)) w[i] ^= 0x20;
}

/* A query for `name` (wire, n octets) of type A, EDNS or not. */
static size_t query(uint8_t *out, const uint8_t *name, size_t n) {
  uint32_t id = rnd();
  uint8_t h[12] = {(uint8_t)id, (uint8_t)(id >> 8), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  memcpy(out, h, 12);
  memcpy(out + 12, name, n);
  size_t p = 12 + n;
  out[p++] = 0;
  out[p++] = 1;
  out[p++] = 0;
  out[p++] = 1;
  if (rnd() & 1) {
    static const uint8_t opt[11] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};
    memcpy(out + p, opt, 11);
    out[11] = 1;
    p += 11;
  }
  return p;
}

static const char *z0names[1001];
static char z0buf[1001][16];

static size_t make_packet(uint8_t *pkt, size_t cap) {
  uint8_t name[300];
  size_t n = 0;
  char text[300];
  unsigned kind = rnd() % 16;
  switch (kind) {
  case 0:
  case 1:
  case 2: /* a name of the set */
    snprintf(text, sizeof(text), "%s.z0.drill", z0names[rnd() % 1001]);
    break;
  case 3: /* a random name under z0 */
  case 4: {
    char label[13];
    for (int i = 0; i < 12; i++) label[i] = (char)('a' + rnd() % 26);
    label[12] = 0;
    snprintf(text, sizeof(text), "%s.z0.drill", label);
    break;
  }
  case 5: /* deeper random names */
    snprintf(text, sizeof(text), "x%u.n%u.z0.drill", rnd() % 100, rnd() % 1000);
    break;
  case 6:
    snprintf(text, sizeof(text), "%s.sub.example", (rnd() & 1) ? "www" : (rnd() & 1) ? "mail" : "wwx");
    break;
  case 7: /* other zones, apexes, look-alikes */ {
    static const char *other[] = {"z0.drill", "n5.z1.drill", "n5.z0.drillx", "n5.zz0.drill", "sub.example",
                                  "example", "drill", "n5.z0.drill.z0.drill", "N5.Z0.DRILL", "n5.z0-drill",
                                  "a.b.c.d.e.f.g.h.i.j.k.z0.drill", "a.b.c.d.e.f.g.h.i.j.z0.drill",
                                  "a.b.c.d.e.f.g.h.i.z0.drill"};
    snprintf(text, sizeof(text), "%s", other[rnd() % (sizeof(other) / sizeof(other[0]))]);
    break;
  }
  case 8: { /* a long first label: more octets than the hash covers */
    char label[64];
    unsigned l = 20 + rnd() % 43;
    for (unsigned i = 0; i < l; i++) label[i] = (char)('a' + rnd() % 26);
    label[l] = 0;
    snprintf(text, sizeof(text), "%s.%s.z0.drill", label, (rnd() & 1) ? "n1" : "q");
    break;
  }
  default:
    text[0] = 0;
  }
  if (text[0]) {
    n = to_wire(text, name);
    random_case(name, n);
    size_t len = query(pkt, name, n);
    return len <= cap ? len : cap;
  }
  /* hostile: start from a valid query and damage it */
  snprintf(text, sizeof(text), "%s.z0.drill", (rnd() & 1) ? "n7" : "qqqqqqqqqqqq");
  n = to_wire(text, name);
  size_t len = query(pkt, name, n);
  switch (rnd() % 8) {
  case 0:
    len = rnd() % (len + 1); /* truncated anywhere */
    break;
  case 1:
    pkt[12 + (rnd() % n)] = (uint8_t)(0xC0 | (rnd() & 0x3f)); /* a pointer or a reserved type */
    break;
  case 2:
    pkt[2] |= 0x80; /* a response */
    break;
  case 3:
    pkt[5] = (uint8_t)(rnd() % 3); /* QDCOUNT 0, 1 or 2 */
    break;
  case 4:
    for (size_t i = 0; i < len; i++)
      if (rnd() % 8 == 0) pkt[i] = (uint8_t)rnd();
    break;
  case 5:
    len = rnd() % 64;
    for (size_t i = 0; i < len; i++) pkt[i] = (uint8_t)rnd();
    break;
  case 6:
    pkt[12 + (rnd() % n)] = (uint8_t)(rnd() % 64); /* a length octet changed */
    break;
  default:
    break;
  }
  return len;
}

static int sock_pair(int family, int *rx, int *tx, struct sockaddr_storage *to, socklen_t *tolen,
                     const char *src) {
  *rx = socket(family, SOCK_DGRAM, 0);
  *tx = socket(family, SOCK_DGRAM, 0);
  if (*rx < 0 || *tx < 0) return -1;
  memset(to, 0, sizeof(*to));
  if (family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)to;
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(0x7f000001);
    *tolen = sizeof(*a);
    struct sockaddr_in s = {0};
    s.sin_family = AF_INET;
    inet_pton(AF_INET, src, &s.sin_addr);
    if (bind(*tx, (struct sockaddr *)&s, sizeof(s)) != 0) return -1;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)to;
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    *tolen = sizeof(*a);
  }
  if (bind(*rx, (struct sockaddr *)to, *tolen) != 0) return -1;
  if (getsockname(*rx, (struct sockaddr *)to, tolen) != 0) return -1;
  int big = 1 << 22;
  setsockopt(*rx, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
  return 0;
}

/* Sends each packet and reads whether it arrived; counts mismatches with the reference. */
static unsigned run(int family, const struct sock_filter *prog, unsigned plen, const sb_qf_zone *zones, unsigned nz,
                    unsigned count, unsigned *passed, unsigned *dropped) {
  int rx, tx;
  struct sockaddr_storage to;
  socklen_t tolen;
  if (sock_pair(family, &rx, &tx, &to, &tolen, "127.0.0.1") != 0) {
    if (family == AF_INET6) return ~0u;
    fail("socket");
  }
  if (g_attach_lone ? sb_prefilter_attach_lone(rx, prog, plen, plen - 4, zones, nz) != 0
                    : sb_prefilter_attach(rx, (struct sock_filter *)prog, plen) != 0)
    fail("attach");
  unsigned mismatches = 0;
  uint8_t pkt[600], back[700];
  for (unsigned i = 0; i < count; i++) {
    size_t len = make_packet(pkt, sizeof(pkt));
    int want = sb_qf_decide(zones, nz, pkt, len, rnd());
    if (sendto(tx, pkt, len, 0, (struct sockaddr *)&to, tolen) != (ssize_t)len) fail("sendto");
    ssize_t r = recv(rx, back, sizeof(back), MSG_DONTWAIT);
    int got = r >= 0;
    if (got && ((size_t)r != len || memcmp(back, pkt, len) != 0)) fail("a different datagram arrived");
    if (got != want) {
      mismatches++;
      if (mismatches <= 5) {
        fprintf(stderr, "mismatch (kernel %d, reference %d), %zu octets:", got, want, len);
        for (size_t k = 0; k < len && k < 80; k++) fprintf(stderr, " %02x", pkt[k]);
        fprintf(stderr, "\n");
      }
    }
    if (got) (*passed)++;
    else (*dropped)++;
  }
  close(rx);
  close(tx);
  return mismatches;
}

int main(int argc, char **argv) {
  if (argc != 3) fail("usage: qf-harness SEED COUNT");
  rng_state = strtoull(argv[1], NULL, 10) * 0x9E3779B97F4A7C15ull + 1;
  unsigned count = (unsigned)strtoul(argv[2], NULL, 10);
  for (int i = 0; i < 1000; i++) {
    snprintf(z0buf[i], sizeof(z0buf[i]), "n%d", i);
    z0names[i] = z0buf[i];
  }
  z0names[1000] = "big";
  static hzone zs[2];
  make_zone(&zs[0], "z0.drill", z0names, 1001);
  const char *subnames[] = {"www", "mail"};
  make_zone(&zs[1], "sub.example", subnames, 2);
  sb_qf_zone zones[2] = {zs[0].z, zs[1].z};
  uint32_t blocked[1] = {0x7f090000u};
  static struct sock_filter prog[SB_QF_INSNS];
  /* The server's program: a sample of the blocked /24 passes (expiry19); the source 127.0.0.1 of
   * runs 1 and 2 is not blocked, so their decisions stay certain. */
  unsigned plen = sb_prefilter_build_qf(blocked, 1, 24, SB_PREFILTER_SAMPLE, zones, 2, prog, SB_QF_INSNS);
  if (plen == 0) fail("the program was not built");
  unsigned passed = 0, dropped = 0;
  unsigned mism = run(AF_INET, prog, plen, zones, 2, count, &passed, &dropped);
  unsigned p6 = 0, d6 = 0;
  unsigned mism6 = run(AF_INET6, prog, plen, zones, 2, count / 4, &p6, &d6);
  int v6 = mism6 != ~0u;
  if (v6) mism += mism6;
  /* 3: the blocked /24, after the QNAME filter */
  int rx, tx;
  struct sockaddr_storage to;
  socklen_t tolen;
  if (sock_pair(AF_INET, &rx, &tx, &to, &tolen, "127.9.0.1") != 0) fail("socket (blocked)");
  uint8_t pkt[600], name[64], back[600];
  size_t n = to_wire("n5.z0.drill", name);
  size_t len = query(pkt, name, n);
  /* Without a sample (the TCP listeners' program, SWITCHBOARD_PREFILTER_RENEW=off): none passes. */
  static struct sock_filter plain[SB_QF_INSNS];
  unsigned plain_len = sb_prefilter_build_qf(blocked, 1, 24, 0, zones, 2, plain, SB_QF_INSNS);
  if (plain_len == 0 || sb_prefilter_attach(rx, plain, plain_len) != 0) fail("attach (blocked)");
  int blocked_ok = 1;
  for (unsigned i = 0; i < 2000; i++) {
    if (sendto(tx, pkt, len, 0, (struct sockaddr *)&to, tolen) != (ssize_t)len) fail("sendto (blocked)");
    if (recv(rx, back, sizeof(back), MSG_DONTWAIT) >= 0) blocked_ok = 0;
  }
  /* With the sample: about 1 in SB_PREFILTER_SAMPLE_DIV passes (the worker's evidence). */
  if (sb_prefilter_attach(rx, prog, plen) != 0) fail("attach (sampled)");
  unsigned sent = 100 * SB_PREFILTER_SAMPLE_DIV, sampled = 0;
  for (unsigned i = 0; i < sent; i++) {
    if (sendto(tx, pkt, len, 0, (struct sockaddr *)&to, tolen) != (ssize_t)len) fail("sendto (sampled)");
    ssize_t r = recv(rx, back, sizeof(back), MSG_DONTWAIT);
    if (r >= 0 && ((size_t)r != len || memcmp(back, pkt, len) != 0)) fail("a different datagram arrived (sampled)");
    if (r >= 0) sampled++;
  }
  close(rx);
  close(tx);
  /* Certain cases, through the reference and the kernel (the run above compared them). */
  static const struct {
    const char *name;
    int pass;
  } certain[] = {{"n5.z0.drill", 1},   {"N999.z0.DRILL", 1}, {"big.Z0.drill", 1}, {"z0.drill", 1},
                 {"qwertyuiopas.z0.drill", 0}, {"x.n5.z0.drill", 0}, {"www.sub.example", 1},
                 {"wwx.sub.example", 0}, {"n5.z1.drill", 1},  {"n5.z0.drillx", 1}};
  for (size_t i = 0; i < sizeof(certain) / sizeof(certain[0]); i++) {
    n = to_wire(certain[i].name, name);
    len = query(pkt, name, n);
    if (sb_qf_decide(zones, 2, pkt, len, 0) != certain[i].pass) {
      fprintf(stderr, "%s\n", certain[i].name);
      fail("a certain case decided wrong");
    }
  }
  /* 4: bounds */
  uint32_t unsorted[2] = {5, 3};
  sb_qf_zone bad = zones[1];
  bad.hashes = unsorted;
  bad.nhashes = 2;
  if (sb_prefilter_build_qf(blocked, 1, 24, 0, &bad, 1, prog, SB_QF_INSNS) != 0) fail("unsorted hashes taken");
  sb_qf_zone many[SB_QF_MAX_ZONES + 1];
  for (unsigned i = 0; i <= SB_QF_MAX_ZONES; i++) many[i] = zones[1];
  if (sb_prefilter_build_qf(blocked, 1, 24, 0, many, SB_QF_MAX_ZONES + 1, prog, SB_QF_INSNS) != 0)
    fail("too many zones taken");
  sb_qf_zone shape = zones[1];
  shape.labels = 3;
  if (sb_prefilter_build_qf(blocked, 1, 24, 0, &shape, 1, prog, SB_QF_INSNS) != 0) fail("a wrong label count taken");
  shape = zones[1];
  shape.origin[0] = 0xC0;
  if (sb_prefilter_build_qf(blocked, 1, 24, 0, &shape, 1, prog, SB_QF_INSNS) != 0) fail("a pointer origin taken");
  static uint32_t lots[SB_QF_MAX_NAMES + 1], pfx[SB_PREFILTER_MAX];
  for (unsigned i = 0; i <= SB_QF_MAX_NAMES; i++) lots[i] = i * 4099u + 7;
  for (unsigned i = 0; i < SB_PREFILTER_MAX; i++) pfx[i] = 0x0a000000u + (i << 8);
  sb_qf_zone full = zones[0];
  full.hashes = lots;
  full.nhashes = SB_QF_MAX_NAMES + 1;
  if (sb_prefilter_build_qf(pfx, SB_PREFILTER_MAX, 24, SB_PREFILTER_SAMPLE, &full, 1, prog, SB_QF_INSNS) != 0)
    fail("too many names taken");
  /* More prefixes than the sampled search keeps jumps for: refused, not overrun. */
  static uint32_t more[SB_PREFILTER_MAX + 1];
  for (unsigned i = 0; i <= SB_PREFILTER_MAX; i++) more[i] = 0x0a000000u + (i << 8);
  static struct sock_filter big[8192];
  if (sb_prefilter_build_sampled(more, SB_PREFILTER_MAX + 1, 24, SB_PREFILTER_SAMPLE, big, 8192) != 0)
    fail("more sampled prefixes than SB_PREFILTER_MAX taken");
  /* At the limits: the names split over every zone slot, the most prefixes. */
  sb_qf_zone four[SB_QF_MAX_ZONES];
  for (unsigned i = 0; i < SB_QF_MAX_ZONES; i++) {
    four[i] = zones[0];
    four[i].hashes = lots + i * (SB_QF_MAX_NAMES / SB_QF_MAX_ZONES);
    four[i].nhashes = SB_QF_MAX_NAMES / SB_QF_MAX_ZONES;
  }
  unsigned insns = sb_prefilter_build_qf(pfx, SB_PREFILTER_MAX, 24, SB_PREFILTER_SAMPLE, four, SB_QF_MAX_ZONES, prog,
                                         SB_QF_INSNS);
  if (insns == 0 || insns > SB_QF_INSNS) fail("a program at the limits does not fit");
  full.nhashes = SB_QF_MAX_NAMES;
  unsigned insns1 = sb_prefilter_build_qf(pfx, SB_PREFILTER_MAX, 24, SB_PREFILTER_SAMPLE, &full, 1, prog, SB_QF_INSNS);
  if (insns1 == 0) fail("one zone at the limit does not fit");
  /* The TCP listeners' program (no sample) at the most prefixes fits its bound. */
  static struct sock_filter tcp[SB_PREFILTER_INSNS];
  if (sb_prefilter_build(pfx, SB_PREFILTER_MAX, 24, tcp, SB_PREFILTER_INSNS) == 0) fail("the plain program does not fit");
  if (sb_prefilter_build_sampled(pfx, SB_PREFILTER_MAX, 24, SB_PREFILTER_SAMPLE, tcp, SB_PREFILTER_INSNS) == 0)
    fail("the sampled program does not fit");
  /* 5: the bridge (bridge21): standing /24s and allow ranges pass, a blocked /24 at the sample, the
   * rest at the share; the QNAME filter before it as ever. */
  static const uint32_t good[2] = {0x7f070000u, 0x7f080000u};
  static const uint32_t ranges[1][2] = {{0x7f060008u, 0x7f06000fu}};
  sb_bridge br = {good, 2, ranges, 1, 0xffffffffu / 16 + 1};
  unsigned bridge_counts[5] = {0, 0, 0, 0, 0}, bridge_sent[5] = {2000, 2000, 2000, 100 * SB_PREFILTER_SAMPLE_DIV, 3200};
  static const char *bridge_src[5] = {"127.8.0.1", "127.6.0.9", "127.6.0.16", "127.9.0.1", "127.5.0.1"};
  unsigned blen = 0;
  for (unsigned with_zones = 0; with_zones < 2; with_zones++) {
    blen = sb_prefilter_build_bridge(blocked, 1, SB_PREFILTER_SAMPLE, zones, with_zones ? 2 : 0, &br, prog, SB_QF_INSNS);
    if (blen == 0) fail("the bridge's program was not built");
    for (unsigned k = 0; k < 5; k++) {
      if (sock_pair(AF_INET, &rx, &tx, &to, &tolen, bridge_src[k]) != 0) fail("socket (bridge)");
      if (sb_prefilter_attach(rx, prog, blen) != 0) fail("attach (bridge)");
      n = to_wire("n5.z0.drill", name);
      len = query(pkt, name, n);
      for (unsigned i = 0; i < bridge_sent[k]; i++) {
        if (sendto(tx, pkt, len, 0, (struct sockaddr *)&to, tolen) != (ssize_t)len) fail("sendto (bridge)");
        if (recv(rx, back, sizeof(back), MSG_DONTWAIT) >= 0) bridge_counts[k]++;
      }
      /* A random name under the attacked zone from the standing /24: the QNAME filter drops it. */
      if (with_zones && k == 0) {
        n = to_wire("qwertyuiopas.z0.drill", name);
        len = query(pkt, name, n);
        if (sendto(tx, pkt, len, 0, (struct sockaddr *)&to, tolen) != (ssize_t)len) fail("sendto (bridge qf)");
        if (recv(rx, back, sizeof(back), MSG_DONTWAIT) >= 0) fail("the bridge passed what the QNAME filter drops");
      }
      close(rx);
      close(tx);
    }
  }
  /* Bounds: unsorted or unmasked /24s refused; the most of each at the limits fits or is refused, never overrun. */
  static const uint32_t unsorted_good[2] = {0x7f080000u, 0x7f070000u}, unmasked[1] = {0x7f080001u};
  sb_bridge bad_br = {unsorted_good, 2, NULL, 0, 1};
  if (sb_prefilter_build_bridge(blocked, 1, 0, NULL, 0, &bad_br, prog, SB_QF_INSNS) != 0) fail("unsorted good taken");
  bad_br.good = unmasked;
  bad_br.ngood = 1;
  if (sb_prefilter_build_bridge(blocked, 1, 0, NULL, 0, &bad_br, prog, SB_QF_INSNS) != 0) fail("unmasked good taken");
  static uint32_t goods[SB_BRIDGE_MAX_GOOD];
  for (unsigned i = 0; i < SB_BRIDGE_MAX_GOOD; i++) goods[i] = 0x0b000000u + (i << 8);
  sb_bridge most = {goods, SB_BRIDGE_MAX_GOOD, ranges, 1, 1u << 28};
  unsigned bmost = sb_prefilter_build_bridge(pfx, SB_PREFILTER_MAX, SB_PREFILTER_SAMPLE, NULL, 0, &most, big, 8192);
  if (bmost == 0) fail("the most /24s of standing and blocked do not fit 8192");
  unsigned bq = sb_prefilter_build_bridge(pfx, SB_PREFILTER_MAX, SB_PREFILTER_SAMPLE, four, SB_QF_MAX_ZONES, &most, prog,
                                          SB_QF_INSNS);
  /* 6: onset22 — the program last attached (sb_prefilter_last): a rebuild that comes out the same is
   * known as the same and not attached again, and the kernel keeps applying the one attached; a
   * different program (the blocked set or the admitted share changed) or a detach is not the same. */
  unsigned same_ok = 0, kept = 0, after = 0;
  {
    sb_prefilter_last last = {0};
    if (sb_prefilter_same(&last, plain, plain_len)) fail("an unknown last program called the same");
    if (sock_pair(AF_INET, &rx, &tx, &to, &tolen, "127.9.0.1") != 0) fail("socket (same)");
    if (sb_prefilter_attach(rx, plain, plain_len) != 0) fail("attach (same)");
    sb_prefilter_note(&last, plain, plain_len);
    static struct sock_filter again[SB_QF_INSNS];
    unsigned again_len = sb_prefilter_build_qf(blocked, 1, 24, 0, zones, 2, again, SB_QF_INSNS);
    if (sb_prefilter_same(&last, again, again_len)) same_ok++; /* not attached: the kernel keeps `plain` */
    n = to_wire("n5.z0.drill", name);
    len = query(pkt, name, n);
    for (unsigned i = 0; i < 2000; i++) {
      if (sendto(tx, pkt, len, 0, (struct sockaddr *)&to, tolen) != (ssize_t)len) fail("sendto (same)");
      if (recv(rx, back, sizeof(back), MSG_DONTWAIT) < 0) kept++;
    }
    /* Another zone's share: a different program. */
    sb_qf_zone other[2] = {zones[0], zones[1]};
    other[1].admit = 1u << 20;
    unsigned other_len = sb_prefilter_build_qf(blocked, 1, 24, 0, other, 2, again, SB_QF_INSNS);
    if (!sb_prefilter_same(&last, again, other_len)) same_ok++;
    /* Nothing blocked: a different program; attached, the blocked /24's datagrams pass again. */
    unsigned open_len = sb_prefilter_build_qf(NULL, 0, 24, 0, zones, 2, again, SB_QF_INSNS);
    if (open_len > 0 && !sb_prefilter_same(&last, again, open_len)) same_ok++;
    if (sb_prefilter_attach(rx, again, open_len) != 0) fail("attach (open)");
    sb_prefilter_note(&last, again, open_len);
    if (sb_prefilter_same(&last, again, open_len)) same_ok++;
    for (unsigned i = 0; i < 2000; i++) {
      if (sendto(tx, pkt, len, 0, (struct sockaddr *)&to, tolen) != (ssize_t)len) fail("sendto (open)");
      if (recv(rx, back, sizeof(back), MSG_DONTWAIT) >= 0) after++;
    }
    /* A detach (length 0) is the same only as a detach. */
    if (!sb_prefilter_same(&last, NULL, 0)) same_ok++;
    sb_prefilter_note(&last, NULL, 0);
    if (sb_prefilter_same(&last, NULL, 0) && !sb_prefilter_same(&last, again, open_len)) same_ok++;
    sb_prefilter_forget(&last);
    if (!sb_prefilter_same(&last, NULL, 0)) same_ok++;
    close(rx);
    close(tx);
  }
  /* 7: lone24 — the bridge's program as eBPF with the quiet /24s' pass (prefilter_lone.c), where
   * bpf(2) is allowed: (a) its QNAME filter decides every datagram as the reference (the source's
   * /24 of standing, so the source check passes it whole); (b) the bridge's cases: standing and the
   * range whole, the blocked /24 at the renewal's sample, a stranger flooding at SB_LONE_PER_WIN
   * then the share; (c) a quiet stranger (one datagram every 40 ms) whole; (d) 600 /24s of one
   * datagram each inside one window: at most SB_LONE_BUDGET pass whole, the rest at the share. */
  int lone_ok = 0;
  unsigned lmism = 0, lp = 0, ld = 0, lcounts[5] = {0, 0, 0, 0, 0}, quiet = 0, rot = 0;
  {
    static const uint32_t lgood[3] = {0x7f000000u, 0x7f070000u, 0x7f080000u};
    sb_bridge lb = {lgood, 3, ranges, 1, 0xffffffffu / 16 + 1};
    unsigned llen = sb_prefilter_build_bridge(blocked, 1, SB_PREFILTER_SAMPLE, zones, 2, &lb, prog, SB_QF_INSNS);
    if (llen == 0) fail("the lone bridge program was not built");
    /* maps25: the program reads the share and the /24s of standing from the maps. */
    if (sb_prefilter_lone_sync(&lb) != 0) sb_prefilter_lone_sync(&lb); /* refused: lone_ok 0 below */
    if (sock_pair(AF_INET, &rx, &tx, &to, &tolen, "127.0.0.1") != 0) fail("socket (lone)");
    lone_ok = sb_prefilter_attach_lone(rx, prog, llen, llen - 4, zones, 2) == 0;
    close(rx);
    close(tx);
    if (lone_ok) {
      g_attach_lone = 1;
      lmism = run(AF_INET, prog, llen, zones, 2, count / 2, &lp, &ld);
      g_attach_lone = 0;
      for (unsigned k = 0; k < 5; k++) {
        if (sock_pair(AF_INET, &rx, &tx, &to, &tolen, bridge_src[k]) != 0) fail("socket (lone bridge)");
        if (sb_prefilter_attach_lone(rx, prog, llen, llen - 4, zones, 2) != 0) fail("attach (lone bridge)");
        n = to_wire("n5.z0.drill", name);
        len = query(pkt, name, n);
        for (unsigned i = 0; i < bridge_sent[k]; i++) {
          if (sendto(tx, pkt, len, 0, (struct sockaddr *)&to, tolen) != (ssize_t)len) fail("sendto (lone bridge)");
          if (recv(rx, back, sizeof(back), MSG_DONTWAIT) >= 0) lcounts[k]++;
        }
        close(rx);
        close(tx);
      }
      /* (c) quiet */
      if (sock_pair(AF_INET, &rx, &tx, &to, &tolen, "127.11.0.1") != 0) fail("socket (quiet)");
      if (sb_prefilter_attach_lone(rx, prog, llen, llen - 4, zones, 2) != 0) fail("attach (quiet)");
      for (unsigned i = 0; i < 20; i++) {
        if (sendto(tx, pkt, len, 0, (struct sockaddr *)&to, tolen) != (ssize_t)len) fail("sendto (quiet)");
        if (recv(rx, back, sizeof(back), MSG_DONTWAIT) >= 0) quiet++;
        struct timespec ts = {0, 40 * 1000 * 1000};
        nanosleep(&ts, NULL);
      }
      /* (d) rotating /24s: 600 senders ready first, then one datagram each back to back, in a
       * budget window of their own (the last one's over). */
      static int txs[600];
      for (unsigned i = 0; i < 600; i++) {
        txs[i] = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in sa = {0};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(0x7f0c0001u + (i << 8));
        if (txs[i] < 0 || bind(txs[i], (struct sockaddr *)&sa, sizeof(sa)) != 0) fail("socket (rotating)");
      }
      struct timespec pause = {0, 150 * 1000 * 1000};
      nanosleep(&pause, NULL);
      for (unsigned i = 0; i < 600; i++) {
        if (sendto(txs[i], pkt, len, 0, (struct sockaddr *)&to, tolen) != (ssize_t)len) fail("sendto (rotating)");
        if (recv(rx, back, sizeof(back), MSG_DONTWAIT) >= 0) rot++;
      }
      for (unsigned i = 0; i < 600; i++) close(txs[i]);
      close(rx);
      close(tx);
    }
  }
  /* 8: maps25 — the share and the /24s of standing in maps: one program, built from the bridge
   * without them (sb_prefilter_bridge_mapped), attached once; then, without a new program, (a) a
   * stranger /24 flooding: SB_LONE_PER_WIN whole, then hot at the share of 1 in 16; (b) its /24 joins
   * (written into the map of standing): whole; (c) the share raised to 1 in 2 in the params map: another
   * stranger, hot, at about half; (d) the joined /24 gone from the bridge, the share back at 1 in 16:
   * the first stranger (hot) at the share again. A rebuild for (b) and (c) is the same program. */
  int maps_ok = 0, maps_same = 0;
  unsigned programs = 0, m_mism = 0, m_flood = 0, m_joined = 0, m_share = 0, m_left = 0;
  if (lone_ok) {
    static const uint32_t mgood[3] = {0x7f000000u, 0x7f070000u, 0x7f080000u};
    static const uint32_t mjoined[4] = {0x7f000000u, 0x7f070000u, 0x7f080000u, 0x7f140000u};
    sb_bridge mb = {mgood, 3, ranges, 1, 0xffffffffu / 16 + 1};
    sb_bridge mapped = sb_prefilter_bridge_mapped(&mb);
    static struct sock_filter mprog[SB_QF_INSNS], again[SB_QF_INSNS];
    unsigned mlen = sb_prefilter_build_bridge(blocked, 1, SB_PREFILTER_SAMPLE, zones, 2, &mapped, mprog, SB_QF_INSNS);
    if (mlen == 0) fail("the mapped bridge program was not built");
    uint64_t a0, r0, ns0, a1, r1, ns1;
    sb_prefilter_lone_counts(&a0, &r0, &ns0);
    struct timespec pause = {0, 150 * 1000 * 1000};
    nanosleep(&pause, NULL); /* section 7's budget window over */
    if (sb_prefilter_lone_sync(&mb) != 0) fail("sync (maps)");
    if (sock_pair(AF_INET, &rx, &tx, &to, &tolen, "127.20.0.1") != 0) fail("socket (maps)");
    maps_ok = sb_prefilter_attach_lone(rx, mprog, mlen, mlen - 4, zones, 2) == 0;
    if (!maps_ok) fail("attach (maps)");
    int tx2 = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa2 = {0};
    sa2.sin_family = AF_INET;
    sa2.sin_addr.s_addr = htonl(0x7f150001u); /* 127.21.0.1 */
    if (tx2 < 0 || bind(tx2, (struct sockaddr *)&sa2, sizeof(sa2)) != 0) fail("socket (maps 2)");
    n = to_wire("n5.z0.drill", name);
    len = query(pkt, name, n);
    for (unsigned i = 0; i < 2000; i++) {
      if (sendto(tx, pkt, len, 0, (struct sockaddr *)&to, tolen) != (ssize_t)len) fail("sendto (maps a)");
      if (recv(rx, back, sizeof(back), MSG_DONTWAIT) >= 0) m_flood++;
    }
    sb_bridge joined = {mjoined, 4, ranges, 1, 0xffffffffu / 16 + 1};
    if (sb_prefilter_lone_sync(&joined) != 0) fail("sync (joined)");
    sb_bridge jm = sb_prefilter_bridge_mapped(&joined);
    if (sb_prefilter_build_bridge(blocked, 1, SB_PREFILTER_SAMPLE, zones, 2, &jm, again, SB_QF_INSNS) == mlen &&
        memcmp(again, mprog, mlen * sizeof(*mprog)) == 0)
      maps_same++;
    for (unsigned i = 0; i < 2000; i++) {
      if (sendto(tx, pkt, len, 0, (struct sockaddr *)&to, tolen) != (ssize_t)len) fail("sendto (maps b)");
      if (recv(rx, back, sizeof(back), MSG_DONTWAIT) >= 0) m_joined++;
    }
    joined.share = 0x80000000u;
    if (sb_prefilter_lone_sync(&joined) != 0) fail("sync (share)");
    jm = sb_prefilter_bridge_mapped(&joined);
    if (sb_prefilter_build_bridge(blocked, 1, SB_PREFILTER_SAMPLE, zones, 2, &jm, again, SB_QF_INSNS) == mlen &&
        memcmp(again, mprog, mlen * sizeof(*mprog)) == 0)
      maps_same++;
    for (unsigned i = 0; i < 4000; i++) {
      if (sendto(tx2, pkt, len, 0, (struct sockaddr *)&to, tolen) != (ssize_t)len) fail("sendto (maps c)");
      if (recv(rx, back, sizeof(back), MSG_DONTWAIT) >= 0) m_share++;
    }
    if (sb_prefilter_lone_sync(&mb) != 0) fail("sync (left)");
    for (unsigned i = 0; i < 3200; i++) {
      if (sendto(tx, pkt, len, 0, (struct sockaddr *)&to, tolen) != (ssize_t)len) fail("sendto (maps d)");
      if (recv(rx, back, sizeof(back), MSG_DONTWAIT) >= 0) m_left++;
    }
    sb_prefilter_lone_counts(&a1, &r1, &ns1);
    programs = (unsigned)(a1 - a0);
    close(tx2);
    close(rx);
    close(tx);
    /* (e) the QNAME filter of the mapped program as the reference decides, from 127.0.0.1: a /24 of
     * standing only in the map (the program has no search of standing). */
    g_attach_lone = 1;
    unsigned mp = 0, md = 0;
    m_mism = run(AF_INET, mprog, mlen, zones, 2, count / 4, &mp, &md);
    g_attach_lone = 0;
    if (mp < 100 || md < 100) fail("the mapped program's QNAME filter saw one decision only");
  }
  printf("qf maps ok %d mismatches %u programs %u same %d flood %u of 2000 joined %u of 2000 share %u of 4000 left %u of 3200\n", maps_ok,
         m_mism, programs, maps_same, m_flood, m_joined, m_share, m_left);
  printf("qf lone ok %d mismatches %u passed %u dropped %u standing %u of %u range %u of %u outside %u of %u blocked %u of %u "
         "stranger %u of %u quiet %u of 20 rotating %u of 600\n",
         lone_ok, lmism, lp, ld, lcounts[0], bridge_sent[0], lcounts[1], bridge_sent[1], lcounts[2], bridge_sent[2],
         lcounts[3], bridge_sent[3], lcounts[4], bridge_sent[4], quiet, rot);
  printf("qf same %u of 7 kept %u of 2000 after %u of 2000\n", same_ok, kept, after);
  printf("qf bridge standing %u of %u range %u of %u outside %u of %u blocked %u of %u stranger %u of %u insns %u most %u with-zones %u\n",
         bridge_counts[0], 2 * bridge_sent[0], bridge_counts[1], 2 * bridge_sent[1], bridge_counts[2], 2 * bridge_sent[2],
         bridge_counts[3], 2 * bridge_sent[3], bridge_counts[4], 2 * bridge_sent[4], blen, bmost, bq);
  printf("qf sent %u passed %u dropped %u mismatches %u v6 %d blocked %d insns %u\n", count + (v6 ? count / 4 : 0),
         passed + p6, dropped + d6, mism, v6, blocked_ok, insns > insns1 ? insns : insns1);
  printf("qf sampled %u of %u\n", sampled, sent);
  return 0;
}
