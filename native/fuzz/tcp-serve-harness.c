/*
 * Plain TCP queries served in C (../tcp_serve.c, tcpc23) under AddressSanitizer and
 * UndefinedBehaviorSanitizer: test/native/tcp-serve.test.ts builds this harness and runs it with
 * one scenario name a line on stdin; it prints "NAME ok" or "NAME FAIL why" for each. The
 * connections are real stream sockets (socket pairs; the server's end non-blocking), the answer a
 * stub: the query with QR set, or 0 (JS must answer) for an opcode other than QUERY.
 *
 *   pipeline  200 frames in one write: every answer, in order, in one readable call
 *   split     a frame written octet by octet: kept between reads (its deadline set), answered once
 *             complete; then two frames cut inside the second's length prefix
 *   hand      plain, NOTIFY, plain in one write: the first answered and written; handed over with
 *             the octets from the NOTIFY's length on, nothing left to write
 *   long      a frame longer than the inline buffer left incomplete: handed over with its octets
 *   short     a good frame then a frame of 5: the answer written, the connection closed, counted
 *   eof       a frame then the client's shutdown: answered, then closed (client closed)
 *   slow      a client that never reads, thousands of frames: handed over once a write is short;
 *             what it received + the unwritten answers + the unread octets = the whole exchange
 *   table     the table's bounds (max_open with JS's count, the per-client limit, a full table), idle and pressed
 *             sweeps at their deadlines, a frame begun and not completed, close by listener,
 *             every descriptor closed exactly once
 *   random    seeded random frame streams cut at random places (hostile lengths included): answers
 *             are always a prefix of the expected ones, nothing read outside the buffers
 *   clients   (tcpl24) the per-client count table against a walk over the open connections
 *   jsclients (tidy25) JS's connections noted in the same table: one limit for C's and JS's, the
 *             bound on JS's addresses, 60,000 random C adds/takes and JS opens/closes against a
 *             model, the table empty at the end
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../tcp_serve.h"

static sb_tcp_serve *S;
static int answered_calls;

static size_t stub_answer(void *ctx, const uint8_t *q, size_t len, uint8_t *out, size_t cap) {
  (void)ctx;
  answered_calls++;
  /* A query as frame() writes them (random octets pass with odds of 2^-56). */
  if (len < 12 || ((q[2] >> 3) & 0x0F) != 0 || q[4] != 0 || q[5] != 1 || q[6] | q[7] | q[8] | q[9] | q[10] | q[11]) return 0;
  if (len > cap) return 0;
  memcpy(out, q, len);
  out[2] |= 0x80;
  return len;
}

static const uint8_t V4[4] = {127, 0, 0, 1};

/* A socket pair: *srv non-blocking (the served end), *cli blocking. */
static int pair(int *srv, int *cli) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return -1;
  fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
  *srv = sv[0];
  *cli = sv[1];
  return 0;
}

/* A query frame: length, id, flags (opcode), QDCOUNT 1, a name of `pad` octets' label. */
static size_t frame(uint8_t *b, uint16_t id, int opcode, size_t pad) {
  size_t n = 12 + 1 + pad + 1 + 4;
  b[0] = (uint8_t)(n >> 8);
  b[1] = (uint8_t)n;
  uint8_t *m = b + 2;
  memset(m, 0, n);
  m[0] = (uint8_t)(id >> 8);
  m[1] = (uint8_t)id;
  m[2] = (uint8_t)(opcode << 3);
  m[5] = 1;
  m[12] = (uint8_t)pad;
  memset(m + 13, 'a', pad);
  m[13 + pad] = 0;
  m[15 + pad] = 1;
  m[17 + pad] = 1;
  return n + 2;
}

static int fd_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

/* Reads what is there (non-blocking) into b, at most cap; the count. */
static size_t drain(int fd, uint8_t *b, size_t cap) {
  size_t got = 0;
  for (;;) {
    ssize_t r = recv(fd, b + got, cap - got, MSG_DONTWAIT);
    if (r <= 0) break;
    got += (size_t)r;
    if (got == cap) break;
  }
  return got;
}

/* Checks that `b` holds `n` answers to frames with ids from `id0` in order; returns how many. */
static int answers_in_order(const uint8_t *b, size_t len, uint16_t id0) {
  size_t off = 0;
  int k = 0;
  while (off + 2 <= len) {
    size_t l = ((size_t)b[off] << 8) | b[off + 1];
    if (off + 2 + l > len) break;
    const uint8_t *m = b + off + 2;
    if (l < 12 || !(m[2] & 0x80) || (((unsigned)m[0] << 8) | m[1]) != (unsigned)(uint16_t)(id0 + k)) return -1;
    off += 2 + l;
    k++;
  }
  return off == len ? k : -1;
}

#define FAIL(...)                        \
  do {                                   \
    printf("%s FAIL ", name);            \
    printf(__VA_ARGS__);                 \
    printf("\n");                        \
    return;                              \
  } while (0)

static uint8_t big[1 << 22], rx[1 << 23];

static void pipeline(const char *name) {
  int s, c;
  sb_tcp_serve_init(S, 10000, 1000, 100, 8);
  if (pair(&s, &c) != 0) FAIL("socketpair");
  int32_t slot = sb_tcp_serve_add(S, s, 3, V4, 4, 53, 0);
  size_t len = 0;
  for (int i = 0; i < 200; i++) len += frame(big + len, (uint16_t)i, 0, 10);
  if (write(c, big, len) != (ssize_t)len) FAIL("write");
  sb_tcp_hand h;
  int r = sb_tcp_serve_readable(S, slot, 1, stub_answer, NULL, &h);
  if (r != SB_TCP_KEEP) FAIL("readable %d", r);
  size_t got = drain(c, rx, sizeof(rx));
  if (got != len || answers_in_order(rx, got, 0) != 200) FAIL("answers %zu of %zu", got, len);
  if (S->answered != 200 || S->c[slot].plen != 0 || S->c[slot].frame_ms != 0) FAIL("state");
  sb_tcp_serve_close_all(S, -1);
  if (fd_open(s)) FAIL("not closed");
  close(c);
  printf("%s ok\n", name);
}

static void split(const char *name) {
  int s, c;
  sb_tcp_serve_init(S, 10000, 1000, 100, 8);
  if (pair(&s, &c) != 0) FAIL("socketpair");
  int32_t slot = sb_tcp_serve_add(S, s, 3, V4, 4, 53, 0);
  size_t len = frame(big, 7, 0, 20);
  sb_tcp_hand h;
  for (size_t i = 0; i < len; i++) {
    if (write(c, big + i, 1) != 1) FAIL("write");
    int r = sb_tcp_serve_readable(S, slot, 100 + (double)i, stub_answer, NULL, &h);
    if (r != SB_TCP_KEEP) FAIL("readable %d at %zu", r, i);
    if (i + 1 < len && (S->c[slot].plen != i + 1 || S->c[slot].frame_ms != 100)) FAIL("kept %u at %zu", S->c[slot].plen, i);
  }
  size_t got = drain(c, rx, sizeof(rx));
  if (answers_in_order(rx, got, 7) != 1 || S->c[slot].plen != 0 || S->c[slot].frame_ms != 0) FAIL("answer");
  /* Two frames, the cut inside the second's length prefix, then the rest. */
  size_t a = frame(big, 8, 0, 5), b = frame(big + a, 9, 0, 5);
  if (write(c, big, a + 1) != (ssize_t)(a + 1)) FAIL("write");
  if (sb_tcp_serve_readable(S, slot, 500, stub_answer, NULL, &h) != SB_TCP_KEEP || S->c[slot].plen != 1 ||
      S->c[slot].frame_ms != 500)
    FAIL("half a prefix");
  if (write(c, big + a + 1, b - 1) != (ssize_t)(b - 1)) FAIL("write");
  if (sb_tcp_serve_readable(S, slot, 600, stub_answer, NULL, &h) != SB_TCP_KEEP) FAIL("rest");
  got = drain(c, rx, sizeof(rx));
  if (answers_in_order(rx, got, 8) != 2) FAIL("answers");
  sb_tcp_serve_close_all(S, -1);
  close(c);
  printf("%s ok\n", name);
}

static void hand(const char *name) {
  int s, c;
  sb_tcp_serve_init(S, 10000, 1000, 100, 8);
  if (pair(&s, &c) != 0) FAIL("socketpair");
  int32_t slot = sb_tcp_serve_add(S, s, 3, V4, 4, 1053, 0);
  size_t a = frame(big, 1, 0, 4), b = frame(big + a, 2, 4, 4), d = frame(big + a + b, 3, 0, 4);
  if (write(c, big, a + b + d) != (ssize_t)(a + b + d)) FAIL("write");
  sb_tcp_hand h;
  memset(&h, 0, sizeof(h));
  int r = sb_tcp_serve_readable(S, slot, 1, stub_answer, NULL, &h);
  if (r != SB_TCP_HANDED) FAIL("readable %d", r);
  if (h.fd != s || h.lfd != 3 || h.port != 1053 || h.alen != 4 || memcmp(h.addr, V4, 4) != 0) FAIL("who");
  if (h.in_len != b + d || memcmp(h.in, big + a, b + d) != 0) FAIL("in %zu", h.in_len);
  /* The answer before it is not written yet: handed as `out`, to go first. */
  if (h.out_len != a || answers_in_order(h.out, h.out_len, 1) != 1) FAIL("out %zu", h.out_len);
  if (S->n != 0 || S->handed != 1 || !fd_open(s)) FAIL("table");
  close(s);
  close(c);
  printf("%s ok\n", name);
}

static void long_frame(const char *name) {
  int s, c;
  sb_tcp_serve_init(S, 10000, 1000, 100, 8);
  if (pair(&s, &c) != 0) FAIL("socketpair");
  int32_t slot = sb_tcp_serve_add(S, s, 3, V4, 4, 53, 0);
  size_t a = frame(big, 1, 0, 4);
  size_t l = frame(big + a, 2, 0, 200);
  /* A declared 600-octet frame (longer than the inline buffer), 100 octets of it sent. */
  big[a] = 600 >> 8;
  big[a + 1] = 600 & 0xff;
  (void)l;
  if (write(c, big, a + 100) != (ssize_t)(a + 100)) FAIL("write");
  sb_tcp_hand h;
  int r = sb_tcp_serve_readable(S, slot, 1, stub_answer, NULL, &h);
  if (r != SB_TCP_HANDED || h.in_len != 100 || memcmp(h.in, big + a, 100) != 0) FAIL("hand %d %zu", r, h.in_len);
  if (h.out_len != a) FAIL("out %zu", h.out_len);
  close(s);
  close(c);
  printf("%s ok\n", name);
}

static void short_frame(const char *name) {
  int s, c;
  sb_tcp_serve_init(S, 10000, 1000, 100, 8);
  if (pair(&s, &c) != 0) FAIL("socketpair");
  int32_t slot = sb_tcp_serve_add(S, s, 3, V4, 4, 53, 0);
  size_t a = frame(big, 1, 0, 4);
  const uint8_t bad[7] = {0, 5, 1, 2, 3, 4, 5};
  memcpy(big + a, bad, 7);
  if (write(c, big, a + 7) != (ssize_t)(a + 7)) FAIL("write");
  sb_tcp_hand h;
  int r = sb_tcp_serve_readable(S, slot, 1, stub_answer, NULL, &h);
  if (r != SB_TCP_CLOSED || S->malformed != 1 || S->n != 0 || fd_open(s)) FAIL("closed %d", r);
  size_t got = drain(c, rx, sizeof(rx));
  if (answers_in_order(rx, got, 1) != 1) FAIL("the answer due");
  close(c);
  printf("%s ok\n", name);
}

static void eof(const char *name) {
  int s, c;
  sb_tcp_serve_init(S, 10000, 1000, 100, 8);
  if (pair(&s, &c) != 0) FAIL("socketpair");
  int32_t slot = sb_tcp_serve_add(S, s, 3, V4, 4, 53, 0);
  size_t a = frame(big, 1, 0, 4);
  big[a] = 0; /* and 3 octets of a next frame of 40 */
  big[a + 1] = 40;
  big[a + 2] = 0;
  if (write(c, big, a + 3) != (ssize_t)(a + 3)) FAIL("write");
  shutdown(c, SHUT_WR);
  sb_tcp_hand h;
  int r = sb_tcp_serve_readable(S, slot, 1, stub_answer, NULL, &h);
  if (r == SB_TCP_KEEP) r = sb_tcp_serve_readable(S, slot, 2, stub_answer, NULL, &h);
  if (r != SB_TCP_CLOSED || S->client_closed != 1 || fd_open(s))
    FAIL("closed %d %g %d", r, S->client_closed, fd_open(s));
  size_t got = drain(c, rx, sizeof(rx));
  if (answers_in_order(rx, got, 1) != 1) FAIL("answer");
  close(c);
  printf("%s ok\n", name);
}

static void slow(const char *name) {
  int s, c;
  sb_tcp_serve_init(S, 10000, 1000, 100, 8);
  if (pair(&s, &c) != 0) FAIL("socketpair");
  int small = 4096;
  setsockopt(s, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  setsockopt(c, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  int32_t slot = sb_tcp_serve_add(S, s, 3, V4, 4, 53, 0);
  size_t len = 0;
  int n = 3000;
  for (int i = 0; i < n; i++) len += frame(big + len, (uint16_t)i, 0, 60);
  fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK);
  size_t sent = 0;
  sb_tcp_hand h;
  memset(&h, 0, sizeof(h));
  int r = SB_TCP_KEEP;
  for (int k = 0; k < 10000 && r == SB_TCP_KEEP; k++) {
    if (sent < len) {
      ssize_t w = write(c, big + sent, len - sent);
      if (w > 0) sent += (size_t)w;
    }
    r = sb_tcp_serve_readable(S, slot, k, stub_answer, NULL, &h);
  }
  if (r != SB_TCP_HANDED || h.out_len == 0) FAIL("not handed for a short write: %d %zu", r, h.out_len);
  /* What the client got + the unwritten answers = answers to the first k frames, in order; the
   * unread octets start at frame k's length. */
  size_t got = drain(c, rx, sizeof(rx) - h.out_len);
  memcpy(rx + got, h.out, h.out_len);
  int k = answers_in_order(rx, got + h.out_len, 0);
  if (k <= 0) FAIL("answers out of order");
  size_t at = 0;
  for (int i = 0; i < k; i++) at += 2 + (((size_t)big[at] << 8) | big[at + 1]);
  if (h.in_len > 0 && (at + h.in_len > sent || memcmp(h.in, big + at, h.in_len) != 0)) FAIL("unread octets");
  close(s);
  close(c);
  printf("%s ok\n", name);
}

static void table(const char *name) {
  static int srv[SB_TCP_SERVE_MAX + 8], cli[SB_TCP_SERVE_MAX + 8];
  /* max_open counts JS's connections too: 5 with 2 in JS takes 3 here. */
  sb_tcp_serve_init(S, 1000, 100, 5, 0);
  double js = 2;
  S->js_open = &js;
  {
    int ts[4], tc[4];
    for (int i = 0; i < 4; i++) {
      if (pair(&ts[i], &tc[i]) != 0) FAIL("socketpair");
      uint8_t b[4] = {10, 1, 0, (uint8_t)i};
      int32_t slot = sb_tcp_serve_add(S, ts[i], 3, b, 4, 53, 0);
      if ((i < 3) != (slot >= 0)) FAIL("with JS's %d: %d", i, slot);
    }
    js = 1;
    uint8_t b[4] = {10, 1, 0, 3};
    if (sb_tcp_serve_add(S, ts[3], 3, b, 4, 53, 0) < 0) FAIL("JS closed one: room");
    sb_tcp_serve_close_all(S, -1);
    for (int i = 0; i < 4; i++) close(tc[i]);
  }
  sb_tcp_serve_init(S, 1000, 100, 5000, 3);
  uint8_t a[4] = {10, 0, 0, 0};
  int opened = 0;
  for (int i = 0; i < SB_TCP_SERVE_MAX + 4; i++) {
    if (pair(&srv[i], &cli[i]) != 0) FAIL("socketpair %d", i);
    opened++;
    a[2] = (uint8_t)(i >> 8);
    a[3] = (uint8_t)i;
    int32_t slot = sb_tcp_serve_add(S, srv[i], i & 1 ? 4 : 3, a, 4, 53, (double)i);
    if (i < SB_TCP_SERVE_MAX && slot < 0) FAIL("add %d", i);
    if (i >= SB_TCP_SERVE_MAX && slot != -1) FAIL("full table took %d", i);
    if (i >= SB_TCP_SERVE_MAX) close(srv[i]);
  }
  if (S->n != SB_TCP_SERVE_MAX) FAIL("n");
  /* By listener: the odd ones (lfd 4) closed. */
  sb_tcp_serve_close_all(S, 4);
  if (S->n != SB_TCP_SERVE_MAX / 2) FAIL("close by listener %u", S->n);
  for (int i = 0; i < SB_TCP_SERVE_MAX; i++)
    if (fd_open(srv[i]) != !(i & 1)) FAIL("fd %d", i);
  /* Idle: accepted at i ms, idle 1000: at 1000 + 99.5 the first 100 are due. */
  unsigned swept = sb_tcp_serve_sweep(S, 1099.5, 0, 0);
  if (swept != 50) FAIL("idle sweep %u", swept);
  /* Pressed (100 ms) closes those that never asked; a frame begun keeps its own deadline. */
  int32_t i0 = S->head;
  S->c[i0].answered = 1;
  S->c[i0].last_ms = 1200;
  S->c[i0].frame_ms = 151;
  swept = sb_tcp_serve_sweep(S, 1150, 1, 0);
  if (S->n != 1 || S->head != i0) FAIL("pressed sweep %u left %u", swept, S->n);
  swept = sb_tcp_serve_sweep(S, 1151, 0, 0);
  if (swept != 1 || S->n != 0) FAIL("frame deadline %u", swept);
  for (int i = 0; i < SB_TCP_SERVE_MAX; i++)
    if (fd_open(srv[i])) FAIL("open %d", i);
  /* The per-client limit: 3 from one address, the 4th refused (-2); others still taken. */
  int ps[5], pc[5];
  for (int i = 0; i < 5; i++) pair(&ps[i], &pc[i]);
  for (int i = 0; i < 3; i++)
    if (sb_tcp_serve_add(S, ps[i], 3, V4, 4, 53, 0) < 0) FAIL("per client %d", i);
  if (sb_tcp_serve_add(S, ps[3], 3, V4, 4, 53, 0) != -2 || S->refused != 1) FAIL("4th");
  static const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
  if (sb_tcp_serve_count_client(S, mapped, 16) != 3) FAIL("mapped counts as IPv4");
  if (sb_tcp_serve_add(S, ps[4], 3, a, 4, 53, 0) < 0) FAIL("another client");
  close(ps[3]);
  /* Slots reused: take out of order, then fill again. */
  int32_t mid = S->c[S->head].next;
  if (sb_tcp_serve_take(S, mid) != ps[1] || sb_tcp_serve_take(S, mid) != -1) FAIL("take");
  close(ps[1]);
  sb_tcp_serve_close_all(S, -1);
  for (int i = 0; i < 5; i++)
    if (fd_open(ps[i])) FAIL("p %d", i);
  for (int i = 0; i < SB_TCP_SERVE_MAX + 4; i++) close(cli[i]);
  for (int i = 0; i < 5; i++) close(pc[i]);
  (void)opened;
  printf("%s ok\n", name);
}

static uint32_t rng = 12345;
static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}

static void random_streams(const char *name) {
  for (int round = 0; round < 300; round++) {
    int s, c;
    sb_tcp_serve_init(S, 10000, 1000, 100, 8);
    if (pair(&s, &c) != 0) FAIL("socketpair");
    int32_t slot = sb_tcp_serve_add(S, s, 3, V4, 4, 53, 0);
    size_t len = 0;
    int nf = 1 + (int)(rnd() % 60);
    for (int i = 0; i < nf; i++) {
      unsigned k = rnd() % 20;
      if (k == 0) {
        /* a hostile length: short, huge, or anything */
        big[len] = (uint8_t)rnd();
        big[len + 1] = (uint8_t)rnd();
        len += 2;
        size_t junk = rnd() % 700;
        for (size_t j = 0; j < junk; j++) big[len++] = (uint8_t)rnd();
      } else {
        len += frame(big + len, (uint16_t)i, k == 1 ? 5 : 0, rnd() % 63);
      }
    }
    size_t off = 0;
    int r = SB_TCP_KEEP;
    sb_tcp_hand h;
    size_t got = 0;
    while (off < len && r == SB_TCP_KEEP) {
      size_t cut = 1 + rnd() % 300;
      if (cut > len - off) cut = len - off;
      if (write(c, big + off, cut) != (ssize_t)cut) FAIL("write");
      off += cut;
      r = sb_tcp_serve_readable(S, slot, (double)off, stub_answer, NULL, &h);
      got += drain(c, rx + got, sizeof(rx) - got);
    }
    if (r == SB_TCP_HANDED) {
      memcpy(rx + got, h.out, h.out_len);
      got += h.out_len;
      close(h.fd);
    }
    int k = answers_in_order(rx, got, 0);
    if (k < 0) FAIL("round %d: answers not in order", round);
    if (r == SB_TCP_KEEP) sb_tcp_serve_close_all(S, -1);
    close(c);
    if (fd_open(s)) FAIL("round %d: left open", round);
  }
  printf("%s ok\n", name);
}

/* (tcpl24) The per-client count table against a walk over the open connections: random takes and
 * frees from a few hundred addresses (many colliding /24s, IPv6 too) until the table is full and
 * back, every count compared after each step; then the limit from one address. */
static unsigned walk_count(const uint8_t k[16]) {
  unsigned n = 0;
  for (int32_t i = S->head; i >= 0; i = S->c[i].next)
    if (memcmp(S->c[i].addr, k, 16) == 0) n++;
  return n;
}

static void clients(const char *name) {
  static int fds[SB_TCP_SERVE_MAX];
  static uint8_t keys[SB_TCP_SERVE_MAX][16];
  static int32_t slots[SB_TCP_SERVE_MAX];
  sb_tcp_serve_init(S, 10000, 1000, 1u << 30, 1u << 30);
  int open_n = 0;
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull < 0) FAIL("/dev/null");
  for (int step = 0; step < 40000; step++) {
    int add = open_n == 0 || (open_n < SB_TCP_SERVE_MAX && (rnd() % 100) < (step < 20000 ? 60 : 40));
    if (add) {
      uint8_t a[16];
      size_t alen;
      unsigned who = rnd() % 300;
      if (who < 200) {
        a[0] = 10; a[1] = 0; a[2] = (uint8_t)(who % 7); a[3] = (uint8_t)who;
        alen = 4;
      } else {
        memset(a, 0, 16);
        a[0] = 0x20; a[1] = 0x01; a[15] = (uint8_t)who;
        alen = 16;
      }
      int fd = dup(devnull);
      if (fd < 0) FAIL("dup");
      int32_t slot = sb_tcp_serve_add(S, fd, 3, a, alen, 53, 0);
      if (slot < 0) FAIL("add at %d open", open_n);
      fds[open_n] = fd;
      slots[open_n] = slot;
      memcpy(keys[open_n], S->c[slot].addr, 16);
      open_n++;
    } else {
      int at = (int)(rnd() % (unsigned)open_n);
      if (sb_tcp_serve_take(S, slots[at]) != fds[at]) FAIL("take");
      close(fds[at]);
      open_n--;
      fds[at] = fds[open_n];
      slots[at] = slots[open_n];
      memcpy(keys[at], keys[open_n], 16);
    }
    if (step % 97 == 0 || open_n < 8)
      for (int i = 0; i < open_n; i++)
        if (sb_tcp_serve_count_client(S, keys[i], 16) != walk_count(keys[i])) FAIL("step %d: count", step);
  }
  for (int i = 0; i < open_n; i++)
    if (sb_tcp_serve_count_client(S, keys[i], 16) != walk_count(keys[i])) FAIL("count at the end");
  sb_tcp_serve_close_all(S, -1);
  if (S->nclients != 0) FAIL("clients left %u", S->nclients);
  for (unsigned i = 0; i < SB_TCP_CLIENT_SLOTS; i++)
    if (S->clients[i].n != 0) FAIL("slot %u left", i);
  /* The limit from one address at SB_TCP_SERVE_MAX - 1 others' connections. */
  sb_tcp_serve_init(S, 10000, 1000, 1u << 30, 2);
  for (int i = 0; i < SB_TCP_SERVE_MAX - 3; i++) {
    uint8_t a[4] = {10, 9, (uint8_t)(i >> 8), (uint8_t)i};
    int fd = dup(devnull);
    if (sb_tcp_serve_add(S, fd, 3, a, 4, 53, 0) < 0) FAIL("fill %d", i);
  }
  for (int i = 0; i < 3; i++) {
    int fd = dup(devnull);
    int32_t r = sb_tcp_serve_add(S, fd, 3, V4, 4, 53, 0);
    if ((i < 2) != (r >= 0)) FAIL("limit %d: %d", i, r);
    if (r < 0) close(fd);
  }
  sb_tcp_serve_close_all(S, -1);
  close(devnull);
  printf("%s ok\n", name);
}

/* (tidy25) JS's connections in the count table (sb_tcp_serve_js_open / _close) with C's. */
static void js_clients(const char *name) {
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull < 0) FAIL("/dev/null");
  /* One limit: 2 of C's + 1 of JS's = 3 from V4; a 4th refused on either side. */
  sb_tcp_serve_init(S, 10000, 1000, 1u << 30, 3);
  int32_t c1 = sb_tcp_serve_add(S, dup(devnull), 3, V4, 4, 53, 0);
  int32_t c2 = sb_tcp_serve_add(S, dup(devnull), 3, V4, 4, 53, 0);
  if (c1 < 0 || c2 < 0) FAIL("C's two");
  if (sb_tcp_serve_js_open(S, V4, 4) != SB_TCP_JS_COUNTED) FAIL("JS's first");
  if (sb_tcp_serve_js_open(S, V4, 4) != SB_TCP_JS_REFUSED || S->js_refused != 1) FAIL("JS beyond the limit");
  int fd = dup(devnull);
  if (sb_tcp_serve_add(S, fd, 3, V4, 4, 53, 0) != -2) FAIL("C beyond the limit");
  close(fd);
  static const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
  if (sb_tcp_serve_count_client(S, mapped, 16) != 3) FAIL("count %u", sb_tcp_serve_count_client(S, mapped, 16));
  /* A hand-over: C's count goes, JS's comes (as udp.c's hand then tcp.ts's note). */
  close(sb_tcp_serve_take(S, c1));
  if (sb_tcp_serve_js_open(S, mapped, 16) != SB_TCP_JS_COUNTED) FAIL("handed over");
  if (sb_tcp_serve_js_close(S, V4, 4) != 1 || sb_tcp_serve_js_close(S, V4, 4) != 1) FAIL("JS's closes");
  if (sb_tcp_serve_js_close(S, V4, 4) != 0) FAIL("a close not counted");
  if (sb_tcp_serve_count_client(S, V4, 4) != 1) FAIL("C's left");
  /* C's last one closed: the table empty. */
  close(sb_tcp_serve_take(S, c2));
  if (S->nclients != 0) FAIL("clients left %u", S->nclients);
  /* The bound: SB_TCP_JS_CLIENTS addresses of JS's; a new one beyond is not held (JS counts it),
   * one held already still is; C's full table of other addresses still fits. */
  sb_tcp_serve_init(S, 10000, 1000, 1u << 30, 1u << 30);
  for (unsigned i = 0; i < SB_TCP_JS_CLIENTS; i++) {
    uint8_t a[4] = {10, 1, (uint8_t)(i >> 8), (uint8_t)i};
    if (sb_tcp_serve_js_open(S, a, 4) != SB_TCP_JS_COUNTED) FAIL("JS %u", i);
  }
  uint8_t beyond[4] = {10, 2, 0, 0}, held[4] = {10, 1, 0, 7};
  if (sb_tcp_serve_js_open(S, beyond, 4) != SB_TCP_JS_UNHELD || S->js_unheld != 1) FAIL("beyond the bound");
  if (sb_tcp_serve_js_close(S, beyond, 4) != 0) FAIL("unheld close");
  if (sb_tcp_serve_js_open(S, held, 4) != SB_TCP_JS_COUNTED) FAIL("held again");
  for (int i = 0; i < SB_TCP_SERVE_MAX; i++) {
    uint8_t a[4] = {10, 3, (uint8_t)(i >> 8), (uint8_t)i};
    if (sb_tcp_serve_add(S, dup(devnull), 3, a, 4, 53, 0) < 0) FAIL("C %d", i);
  }
  if (S->nclients != SB_TCP_JS_CLIENTS + SB_TCP_SERVE_MAX || 2 * S->nclients > SB_TCP_CLIENT_SLOTS) FAIL("half");
  sb_tcp_serve_close_all(S, -1);
  for (unsigned i = 0; i < SB_TCP_JS_CLIENTS; i++) {
    uint8_t a[4] = {10, 1, (uint8_t)(i >> 8), (uint8_t)i};
    if (sb_tcp_serve_js_close(S, a, 4) != 1) FAIL("JS close %u", i);
  }
  if (sb_tcp_serve_js_close(S, held, 4) != 1 || S->nclients != 0 || S->njs != 0) FAIL("emptied %u %u", S->nclients, S->njs);
  /* Random C adds/takes and JS opens/closes from 300 addresses (colliding /24s, IPv6) against a
   * model of each address's counts; the limit 5. */
  enum { ADDRS = 300, LIMIT = 5 };
  static unsigned model_c[ADDRS], model_js[ADDRS];
  static int fds[SB_TCP_SERVE_MAX], who_of[SB_TCP_SERVE_MAX];
  static int32_t slots[SB_TCP_SERVE_MAX];
  memset(model_c, 0, sizeof(model_c));
  memset(model_js, 0, sizeof(model_js));
  sb_tcp_serve_init(S, 10000, 1000, 1u << 30, LIMIT);
  int open_n = 0;
  for (int step = 0; step < 60000; step++) {
    unsigned who = rnd() % ADDRS, op = rnd() % 4;
    uint8_t a[16];
    size_t alen;
    if (who < 200) {
      a[0] = 10; a[1] = 0; a[2] = (uint8_t)(who % 7); a[3] = (uint8_t)who;
      alen = 4;
    } else {
      memset(a, 0, 16);
      a[0] = 0x20; a[1] = 0x01; a[15] = (uint8_t)who;
      alen = 16;
    }
    unsigned total = model_c[who] + model_js[who];
    if (op == 0 && open_n < SB_TCP_SERVE_MAX) {
      int f = dup(devnull);
      int32_t slot = sb_tcp_serve_add(S, f, 3, a, alen, 53, 0);
      if ((total >= LIMIT) != (slot == -2)) FAIL("step %d: C add %d at %u", step, slot, total);
      if (slot < 0) {
        close(f);
      } else {
        fds[open_n] = f;
        slots[open_n] = slot;
        who_of[open_n++] = (int)who;
        model_c[who]++;
      }
    } else if (op == 1 && open_n > 0) {
      int at = (int)(rnd() % (unsigned)open_n);
      if (sb_tcp_serve_take(S, slots[at]) != fds[at]) FAIL("take");
      close(fds[at]);
      model_c[who_of[at]]--;
      open_n--;
      fds[at] = fds[open_n];
      slots[at] = slots[open_n];
      who_of[at] = who_of[open_n];
    } else if (op == 2) {
      int v = sb_tcp_serve_js_open(S, a, alen);
      if ((total >= LIMIT) != (v == SB_TCP_JS_REFUSED) || v == SB_TCP_JS_UNHELD) FAIL("step %d: JS open %d", step, v);
      if (v == SB_TCP_JS_COUNTED) model_js[who]++;
    } else if (op == 3) {
      int v = sb_tcp_serve_js_close(S, a, alen);
      if (v != (model_js[who] > 0)) FAIL("step %d: JS close %d", step, v);
      if (v) model_js[who]--;
    }
    if (sb_tcp_serve_count_client(S, a, alen) != model_c[who] + model_js[who]) FAIL("step %d: count", step);
    if (step % 101 == 0)
      for (unsigned w = 0; w < ADDRS; w += 7) {
        uint8_t b[4] = {10, 0, (uint8_t)(w % 7), (uint8_t)w};
        if (w < 200 && sb_tcp_serve_count_client(S, b, 4) != model_c[w] + model_js[w]) FAIL("step %d: count %u", step, w);
      }
  }
  sb_tcp_serve_close_all(S, -1);
  for (unsigned w = 0; w < ADDRS; w++) {
    uint8_t a[16];
    size_t alen;
    if (w < 200) {
      a[0] = 10; a[1] = 0; a[2] = (uint8_t)(w % 7); a[3] = (uint8_t)w;
      alen = 4;
    } else {
      memset(a, 0, 16);
      a[0] = 0x20; a[1] = 0x01; a[15] = (uint8_t)w;
      alen = 16;
    }
    while (model_js[w] > 0) {
      if (sb_tcp_serve_js_close(S, a, alen) != 1) FAIL("final close %u", w);
      model_js[w]--;
    }
  }
  if (S->nclients != 0 || S->njs != 0) FAIL("left %u %u", S->nclients, S->njs);
  for (unsigned i = 0; i < SB_TCP_CLIENT_SLOTS; i++)
    if (S->clients[i].n != 0 || S->clients[i].js != 0) FAIL("slot %u left", i);
  close(devnull);
  printf("%s ok\n", name);
}

int main(void) {
  /* The table scenario opens a full table of socket pairs. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
    rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  S = malloc(sizeof(sb_tcp_serve));
  if (S == NULL) return 2;
  char line[64];
  while (fgets(line, sizeof(line), stdin) != NULL) {
    line[strcspn(line, "\r\n")] = 0;
    if (strcmp(line, "pipeline") == 0) pipeline(line);
    else if (strcmp(line, "split") == 0) split(line);
    else if (strcmp(line, "hand") == 0) hand(line);
    else if (strcmp(line, "long") == 0) long_frame(line);
    else if (strcmp(line, "short") == 0) short_frame(line);
    else if (strcmp(line, "eof") == 0) eof(line);
    else if (strcmp(line, "slow") == 0) slow(line);
    else if (strcmp(line, "table") == 0) table(line);
    else if (strcmp(line, "random") == 0) random_streams(line);
    else if (strcmp(line, "clients") == 0) clients(line);
    else if (strcmp(line, "jsclients") == 0) js_clients(line);
    else if (line[0] != 0) printf("%s FAIL unknown\n", line);
    fflush(stdout);
  }
  free(S);
  return 0;
}
