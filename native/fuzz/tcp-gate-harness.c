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
 *   wait N                              -> "ok", or what failed: N+16 connections (socket pairs) kept
 *                                          for their first frame one by one (the table holds
 *                                          SB_TCP_WAIT_MAX; the oldest reset first when full), some
 *                                          taken out of order and their slots reused, swept at the
 *                                          calm deadline and at the pressed one, closed per listening
 *                                          socket; every descriptor closed exactly once (taken ones
 *                                          left open)
 *   frame                               -> one line per case "NAME R" (sb_tcp_first_frame on real
 *                                          loopback TCP connections: half a length, half a frame, a
 *                                          frame split across segments, 0-length and short frames,
 *                                          the largest frame, a client that closes before its frame)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../tcp_gate.h"

static sb_tcp_gate *g = NULL;
static sb_tcp_wait *w = NULL;

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

static void raise_nofile(unsigned want) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
    rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

static const char *wait_test(unsigned n) {
  static char why[160];
  unsigned total = n + 16;
  raise_nofile(2 * total + 64);
  int *fds = calloc(total, sizeof(int)), *peer = calloc(total, sizeof(int));
  int32_t *slot = calloc(total, sizeof(int32_t));
  if (fds == NULL || peer == NULL || slot == NULL) return "no memory";
  unsigned made = 0;
  for (; made < total; made++) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) break;
    fds[made] = sv[0];
    peer[made] = sv[1];
  }
  if (made < total) {
    for (unsigned i = 0; i < made; i++) {
      close(fds[i]);
      close(peer[i]);
    }
    free(fds);
    free(peer);
    free(slot);
    snprintf(why, sizeof(why), "skip: only %u descriptor pairs", made);
    return why;
  }
  sb_tcp_wait_init(w, 10000, 1000);
  const uint8_t a4[4] = {127, 0, 0, 1};
  /* One kept every 0.5 ms from t = 0, from listening sockets 100 and 101 in turn. */
  const char *fail = NULL;
  for (unsigned i = 0; i < total && fail == NULL; i++) {
    slot[i] = sb_tcp_wait_add(w, fds[i], 100 + (int)(i & 1), a4, 4, 1000 + (int)i, i * 0.5);
    if (slot[i] < 0 || slot[i] >= SB_TCP_WAIT_MAX) fail = "a slot out of the table";
    else if (w->n > SB_TCP_WAIT_MAX) fail = "more kept than the table";
  }
  unsigned evicted = total > SB_TCP_WAIT_MAX ? total - SB_TCP_WAIT_MAX : 0;
  if (fail == NULL && w->evicted != evicted) fail = "evictions miscounted";
  for (unsigned i = 0; i < total && fail == NULL; i++)
    if (is_open(fds[i]) != (i >= evicted)) fail = i < evicted ? "an evicted one still open" : "a kept one closed";
  /* Every third remaining one taken (handed over): left open, its slot free; a stale slot or one
   * out of range takes nothing. */
  unsigned taken = 0;
  for (unsigned i = evicted; i < total && fail == NULL; i += 3) {
    if (sb_tcp_wait_take(w, slot[i]) != fds[i]) fail = "take gave another descriptor";
    else if (sb_tcp_wait_take(w, slot[i]) != -1) fail = "a slot taken twice";
    taken++;
  }
  if (fail == NULL && (sb_tcp_wait_take(w, -1) != -1 || sb_tcp_wait_take(w, SB_TCP_WAIT_MAX) != -1))
    fail = "a slot out of range taken";
  if (fail == NULL && w->n != total - evicted - taken) fail = "count wrong after takes";
  /* Their slots reused: 16 more, newest (t = total * 0.5 ms on). */
  int extra[16], extra_peer[16];
  for (unsigned i = 0; i < 16 && fail == NULL; i++) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
      fail = "skip: no pair";
      break;
    }
    extra[i] = sv[0];
    extra_peer[i] = sv[1];
    if (sb_tcp_wait_add(w, sv[0], 102, a4, 4, 1, (total + i) * 0.5) < 0) fail = "no slot for a newcomer";
  }
  if (fail == NULL && w->evicted != evicted) fail = "a newcomer evicted one though slots were free";
  /* Calm: nothing is due before the first remaining deadline (the oldest kept + 10 s). */
  if (fail == NULL && sb_tcp_wait_sweep(w, evicted * 0.5 + 9999.9, 0) != 0) fail = "swept before its deadline";
  /* Pressed: the 1 s deadline: those kept at or before `cut` are due at cut + 1000. */
  double cut = (evicted + 600) * 0.5; /* those accepted at or before cut */
  if (fail == NULL) {
    unsigned want = 0;
    for (unsigned i = evicted; i < total; i++)
      if ((i - evicted) % 3 != 0 && i * 0.5 <= cut) want++;
    for (unsigned i = 0; i < 16; i++)
      if ((total + i) * 0.5 <= cut) want++;
    unsigned got = sb_tcp_wait_sweep(w, cut + 1000, 1);
    if (got != want) {
      snprintf(why, sizeof(why), "pressed sweep closed %u, want %u", got, want);
      fail = why;
    }
    for (unsigned i = evicted; i < total && fail == NULL; i++) {
      int want_open = (i - evicted) % 3 == 0 || i * 0.5 > cut;
      if (is_open(fds[i]) != want_open) fail = "the pressed sweep closed out of order";
    }
  }
  /* Per listening socket: 100's closed, 101's and 102's left. */
  sb_tcp_wait_close_all(w, 100);
  for (int32_t i = w->head; i >= 0 && fail == NULL; i = w->e[i].next)
    if (w->e[i].lfd == 100) fail = "close_all(100) left one of 100";
  for (unsigned i = evicted; i < total && fail == NULL; i++)
    if ((i - evicted) % 3 != 0 && (i & 1) == 1 && i * 0.5 > cut && !is_open(fds[i])) fail = "close_all(100) closed one of 101";
  sb_tcp_wait_close_all(w, -1);
  if (fail == NULL && (w->n != 0 || w->head != -1 || w->tail != -1)) fail = "close_all left some kept";
  /* (The evicted ones' numbers were reused by the newcomers' pairs: checked when evicted.) */
  for (unsigned i = evicted; i < total && fail == NULL; i++) {
    int want_open = (i - evicted) % 3 == 0;
    if (is_open(fds[i]) != want_open) fail = want_open ? "a taken one closed" : "close_all left one open";
  }
  for (unsigned i = 0; i < 16 && fail == NULL; i++)
    if (is_open(extra[i])) fail = "close_all left a newcomer open";
  /* An empty table: sweeping, closing, taking do nothing. */
  if (fail == NULL && (sb_tcp_wait_sweep(w, 1e12, 0) != 0 || sb_tcp_wait_take(w, 0) != -1)) fail = "an empty table gave something";
  sb_tcp_wait_close_all(w, -1);
  for (unsigned i = evicted; i < total; i += 3) close(fds[i]);
  for (unsigned i = 0; i < total; i++) close(peer[i]);
  for (unsigned i = 0; i < 16; i++) close(extra_peer[i]);
  free(fds);
  free(peer);
  free(slot);
  return fail != NULL ? fail : "ok";
}

/* A loopback TCP connection: *srv the accepted end (non-blocking), *cli the client's. */
static int tcp_pair(int *srv, int *cli) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof(a);
  if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 4) != 0 ||
      getsockname(l, (struct sockaddr *)&a, &al) != 0) {
    if (l >= 0) close(l);
    return -1;
  }
  *cli = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  if (*cli < 0 || connect(*cli, (struct sockaddr *)&a, sizeof(a)) != 0) {
    close(l);
    return -1;
  }
  setsockopt(*cli, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  *srv = accept4(l, NULL, NULL, SOCK_NONBLOCK);
  close(l);
  return *srv >= 0 ? 0 : -1;
}

/* The client's octets arrived (loopback: at once; a short wait for the scheduler). */
static void settle(void) { usleep(2000); }

/* sb_tcp_first_frame as udp.c calls it: `peer_closed` from the socket's state (EPOLLRDHUP there). */
static int frame_now(int fd) {
  struct pollfd p = {fd, POLLIN | POLLRDHUP, 0};
  int closed = poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
  return sb_tcp_first_frame(fd, closed);
}

static void send_all(int fd, const uint8_t *b, size_t n) {
  while (n > 0) {
    ssize_t r = send(fd, b, n, 0);
    if (r <= 0) return;
    b += r;
    n -= (size_t)r;
  }
}

static void frame_test(void) {
  static uint8_t big[2 + 65535];
  int srv, cli;
  /* Nothing yet; half a length; a length and half the frame; the rest in two more segments. */
  if (tcp_pair(&srv, &cli) != 0) {
    printf("skip: no loopback TCP\n");
    return;
  }
  printf("nothing %d\n", frame_now(srv));
  uint8_t q[2 + 30];
  q[0] = 0;
  q[1] = 30;
  for (int i = 2; i < 32; i++) q[i] = (uint8_t)i;
  send_all(cli, q, 1);
  settle();
  printf("half-length %d\n", frame_now(srv));
  send_all(cli, q + 1, 11);
  settle();
  printf("half-frame %d\n", frame_now(srv));
  send_all(cli, q + 12, 10);
  settle();
  printf("one-short %d\n", (send_all(cli, q + 22, 9), settle(), frame_now(srv)));
  send_all(cli, q + 31, 1);
  settle();
  printf("split-complete %d\n", frame_now(srv));
  /* Peeked, never read: still all there. */
  int queued = 0;
  ioctl(srv, FIONREAD, &queued);
  printf("still-queued %d\n", queued);
  close(srv);
  close(cli);
  /* A 0-length frame, and one shorter than a header. */
  const uint8_t zero[2] = {0, 0}, eleven[13] = {0, 11};
  if (tcp_pair(&srv, &cli) == 0) {
    send_all(cli, zero, 2);
    settle();
    printf("zero-length %d\n", frame_now(srv));
    close(srv);
    close(cli);
  }
  if (tcp_pair(&srv, &cli) == 0) {
    send_all(cli, eleven, 13);
    settle();
    printf("eleven %d\n", frame_now(srv));
    close(srv);
    close(cli);
  }
  /* The largest frame: one octet short, then complete (a pipelined second frame behind it). */
  big[0] = 0xff;
  big[1] = 0xff;
  for (size_t i = 2; i < sizeof(big); i++) big[i] = (uint8_t)i;
  if (tcp_pair(&srv, &cli) == 0) {
    int sz = 1 << 20;
    setsockopt(srv, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    send_all(cli, big, sizeof(big) - 1);
    settle();
    printf("largest-short %d\n", frame_now(srv));
    send_all(cli, big + sizeof(big) - 1, 1);
    send_all(cli, q, sizeof(q));
    settle();
    printf("largest %d\n", frame_now(srv));
    close(srv);
    close(cli);
  }
  /* The client closes: before anything, after half a length, after half a frame; and after a
   * whole frame (then it is complete: answered before the close). */
  if (tcp_pair(&srv, &cli) == 0) {
    close(cli);
    settle();
    printf("closed-empty %d\n", frame_now(srv));
    close(srv);
  }
  if (tcp_pair(&srv, &cli) == 0) {
    send_all(cli, q, 1);
    shutdown(cli, SHUT_WR);
    settle();
    printf("closed-half-length %d\n", frame_now(srv));
    close(srv);
    close(cli);
  }
  if (tcp_pair(&srv, &cli) == 0) {
    send_all(cli, q, 20);
    shutdown(cli, SHUT_WR);
    settle();
    printf("closed-half-frame %d\n", frame_now(srv));
    close(srv);
    close(cli);
  }
  if (tcp_pair(&srv, &cli) == 0) {
    send_all(cli, q, sizeof(q));
    shutdown(cli, SHUT_WR);
    settle();
    printf("closed-after-frame %d\n", frame_now(srv));
    close(srv);
    close(cli);
  }
  /* Not a socket. */
  printf("bad-fd %d\n", sb_tcp_first_frame(-1, 0));
}

int main(void) {
  g = malloc(sizeof(*g));
  if (g == NULL) return 2;
  sb_tcp_gate_init(g, 64, 8, 1000);
  w = malloc(sizeof(*w));
  if (w == NULL) return 2;
  sb_tcp_wait_init(w, 10000, 1000);
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
    } else if (strcmp(op, "wait") == 0 && sscanf(line, "%*s %d", &s) == 1 && s >= 0) {
      printf("%s\n", wait_test((unsigned)s));
    } else if (strcmp(op, "frame") == 0) {
      frame_test();
    } else {
      printf("bad op: %s", line);
    }
  }
  sb_tcp_gate_close_all(g);
  sb_tcp_wait_close_all(w, -1);
  free(g);
  free(w);
  return 0;
}
