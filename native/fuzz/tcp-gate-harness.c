/*
 * The TCP accept decision (../tcp_gate.c) under AddressSanitizer and UndefinedBehaviorSanitizer:
 * test/native/tcp-gate.test.ts builds this harness, writes a script of operations to its stdin,
 * runs the same takes through src/transport/tcp.ts's StrangerBudget and compares the outputs line
 * for line. One line out per operation that returns something:
 *
 *   new PERSEC PERBLOCK HOLDMS          a fresh gate
 *   take ADDRHEX NOW                    -> 0/1 (the strangers' budget)
 *   judge ADDRHEX NOW STRANGER BLOCKED  -> verdict 0-3
 *   counters                            -> blocked_closed held_total strangers_served served
 *   held N                              -> "ok", or what failed: N+16 real sockets held one by one
 *                                          (the table holds SB_TCP_HELD_MAX; the oldest closed
 *                                          first when full), swept at their deadlines in order,
 *                                          the rest closed by close_all; every descriptor closed
 *                                          exactly once
 *   blocked SEED N                      -> "ok", or what failed: N random sorted /24s, addresses
 *                                          in and out of them (IPv4, IPv4-mapped, IPv6, bad lengths)
 *   hostile SEED N                      -> "ok": N judges of random octets of random lengths
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../tcp_gate.h"

static sb_tcp_gate *g = NULL;

static size_t unhex(const char *h, uint8_t *out, size_t cap) {
  size_t n = 0;
  while (h[0] && h[1] && n < cap) {
    unsigned v;
    if (sscanf(h, "%2x", &v) != 1) break;
    out[n++] = (uint8_t)v;
    h += 2;
  }
  return n;
}

static uint64_t rng;
static uint32_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}

static int is_open(int fd) { return fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

static const char *held_test(unsigned n) {
  static char why[160];
  unsigned total = n + 16;
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < total + 64) {
    rl.rlim_cur = rl.rlim_max < total + 64 ? rl.rlim_max : total + 64;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  int *fds = calloc(total, sizeof(int));
  if (fds == NULL) return "no memory";
  unsigned made = 0;
  for (; made < total; made++) {
    fds[made] = socket(AF_INET, SOCK_STREAM, 0);
    if (fds[made] < 0) break;
  }
  if (made < total) {
    for (unsigned i = 0; i < made; i++) close(fds[i]);
    free(fds);
    snprintf(why, sizeof(why), "skip: only %u descriptors", made);
    return why;
  }
  sb_tcp_gate_init(g, 64, 8, 1000);
  /* One held every 0.25 ms from t = 0. */
  for (unsigned i = 0; i < total; i++) {
    sb_tcp_gate_hold(g, fds[i], i * 0.25);
    if (g->nheld > SB_TCP_HELD_MAX) return "more held than the table";
  }
  unsigned evicted = total > SB_TCP_HELD_MAX ? total - SB_TCP_HELD_MAX : 0;
  const char *fail = NULL;
  if (g->held_evicted != evicted) fail = "evictions miscounted";
  for (unsigned i = 0; i < total && fail == NULL; i++)
    if (is_open(fds[i]) != (i >= evicted)) fail = i < evicted ? "an evicted one still open" : "a held one closed";
  /* Nothing is due before the first remaining deadline. */
  if (fail == NULL && sb_tcp_gate_sweep(g, evicted * 0.25 + 999.9) != 0) fail = "swept before its deadline";
  /* Half the remaining deadlines come. */
  unsigned half = (total - evicted) / 2;
  if (fail == NULL) {
    unsigned got = sb_tcp_gate_sweep(g, (evicted + half - 1) * 0.25 + 1000);
    if (got != half) fail = "sweep closed a wrong number";
    for (unsigned i = 0; i < total && fail == NULL; i++)
      if (is_open(fds[i]) != (i >= evicted + half)) fail = "sweep closed out of order";
  }
  if (fail == NULL && g->held_expired != half) fail = "expirations miscounted";
  sb_tcp_gate_close_all(g);
  if (fail == NULL && g->nheld != 0) fail = "close_all left some held";
  for (unsigned i = 0; i < total && fail == NULL; i++)
    if (is_open(fds[i])) fail = "close_all left one open";
  /* Closing an empty table, sweeping it: nothing. */
  sb_tcp_gate_close_all(g);
  if (fail == NULL && sb_tcp_gate_sweep(g, 1e12) != 0) fail = "an empty table swept something";
  free(fds);
  return fail != NULL ? fail : "ok";
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static const char *blocked_test(unsigned seed, unsigned n) {
  rng = 0x9E3779B97F4A7C15ull ^ seed;
  uint32_t *set = calloc(n + 1, 4);
  if (set == NULL) return "no memory";
  for (unsigned i = 0; i < n; i++) set[i] = next_rand() & 0xffffff00u;
  qsort(set, n, 4, cmp_u32);
  const char *fail = NULL;
  for (unsigned k = 0; k < 20000 && fail == NULL; k++) {
    uint32_t a = k % 2 == 0 && n > 0 ? set[next_rand() % n] | (next_rand() & 0xff) : next_rand();
    int want = 0;
    for (unsigned i = 0; i < n; i++)
      if (set[i] == (a & 0xffffff00u)) want = 1;
    uint8_t v4[4] = {(uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a};
    uint8_t m[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, v4[0], v4[1], v4[2], v4[3]};
    uint8_t v6[16];
    memcpy(v6, m, 16);
    v6[10] = 0xfe; /* not mapped: IPv6 is never in the /24 set */
    if (sb_tcp_in_blocked(v4, 4, set, n) != want) fail = "IPv4 lookup wrong";
    else if (sb_tcp_in_blocked(m, 16, set, n) != want) fail = "IPv4-mapped lookup wrong";
    else if (sb_tcp_in_blocked(v6, 16, set, n) != 0) fail = "an IPv6 address in the /24 set";
    else if (sb_tcp_in_blocked(v4, 3, set, n) != 0 || sb_tcp_in_blocked(v4, 4, set, 0) != 0 ||
             sb_tcp_in_blocked(v4, 4, NULL, n) != 0)
      fail = "a bad length or an empty set matched";
  }
  free(set);
  return fail != NULL ? fail : "ok";
}

static const char *hostile_test(unsigned seed, unsigned n) {
  rng = 0xD1B54A32D192ED03ull ^ seed;
  sb_tcp_gate_init(g, 64, 8, 1000);
  double now = 0;
  for (unsigned i = 0; i < n; i++) {
    size_t len = next_rand() % 21;
    uint8_t *a = malloc(len > 0 ? len : 1); /* exactly len octets: ASan sees any overread */
    if (a == NULL) return "no memory";
    for (size_t k = 0; k < len; k++) a[k] = (uint8_t)next_rand();
    now += (next_rand() % 1000) / 100.0;
    int v = sb_tcp_gate_judge(g, a, len, now, (int)(next_rand() & 1), (int)((next_rand() & 7) == 0));
    free(a);
    if (v < SB_TCP_SERVE || v > SB_TCP_BLOCKED) return "verdict out of range";
    if (g->nblocks > SB_TCP_STRANGER_BLOCKS) return "more blocks than the cap";
  }
  return "ok";
}

int main(void) {
  g = malloc(sizeof(*g));
  if (g == NULL) return 2;
  sb_tcp_gate_init(g, 64, 8, 1000);
  char line[512];
  while (fgets(line, sizeof(line), stdin) != NULL) {
    char op[32], hex[80];
    double a = 0, b = 0, c = 0;
    int s = 0, k = 0;
    if (sscanf(line, "%31s", op) != 1) continue;
    if (strcmp(op, "new") == 0 && sscanf(line, "%*s %lf %lf %lf", &a, &b, &c) == 3) {
      sb_tcp_gate_init(g, a, b, c);
    } else if (strcmp(op, "take") == 0 && sscanf(line, "%*s %79s %lf", hex, &a) == 2) {
      uint8_t addr[16];
      size_t n = unhex(hex, addr, sizeof(addr));
      printf("%d\n", sb_tcp_gate_take(g, addr, n, a));
    } else if (strcmp(op, "judge") == 0 && sscanf(line, "%*s %79s %lf %d %d", hex, &a, &s, &k) == 4) {
      uint8_t addr[16];
      size_t n = unhex(hex, addr, sizeof(addr));
      printf("%d\n", sb_tcp_gate_judge(g, addr, n, a, s, k));
    } else if (strcmp(op, "counters") == 0) {
      printf("%.0f %.0f %.0f %.0f\n", g->blocked_closed, g->held_total, g->strangers_served, g->served);
    } else if (strcmp(op, "held") == 0 && sscanf(line, "%*s %d", &s) == 1 && s >= 0) {
      printf("%s\n", held_test((unsigned)s));
    } else if (strcmp(op, "blocked") == 0 && sscanf(line, "%*s %d %d", &s, &k) == 2 && k >= 0) {
      printf("%s\n", blocked_test((unsigned)s, (unsigned)k));
    } else if (strcmp(op, "hostile") == 0 && sscanf(line, "%*s %d %d", &s, &k) == 2 && k >= 0) {
      printf("%s\n", hostile_test((unsigned)s, (unsigned)k));
    } else {
      printf("bad op: %s", line);
    }
  }
  sb_tcp_gate_close_all(g);
  free(g);
  return 0;
}
