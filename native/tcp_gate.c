/*
 * The TCP accept decision in C (tcp_gate.h): the strangers' budget of src/transport/tcp.ts
 * (StrangerBudget: a token bucket one second deep for the process, whole-second counts per /24 or
 * /56) and a bounded table of held connections. Every index is bounded by the table sizes.
 */
#include "tcp_gate.h"
#include "prefilter.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static const uint8_t V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* The IPv4 octets of `addr` (4 octets, or IPv4-mapped IPv6), else NULL. */
static const uint8_t *v4_of(const uint8_t *addr, size_t len) {
  if (len == 4) return addr;
  if (len == 16 && memcmp(addr, V4_MAPPED, 12) == 0) return addr + 12;
  return NULL;
}

void sb_tcp_gate_init(sb_tcp_gate *g, double per_second, double per_block, double hold_ms) {
  memset(g, 0, sizeof(*g));
  g->per_second = per_second >= 0 ? per_second : 0;
  g->per_block = per_block >= 0 ? per_block : 0;
  g->hold_ms = hold_ms >= 0 ? hold_ms : 0;
  g->tokens = g->per_second;
  g->at_ms = -1;
  g->second = -1;
}

/* The client block's key: never 0 (0 marks a free slot). */
static uint64_t block_key(const uint8_t *addr, size_t len) {
  const uint8_t *v4 = v4_of(addr, len);
  if (v4 != NULL) return (4ull << 56) | ((uint64_t)v4[0] << 16) | ((uint64_t)v4[1] << 8) | v4[2];
  if (len != 16) return 0;
  uint64_t k = 6ull << 56;
  for (int i = 0; i < 7; i++) k |= (uint64_t)addr[i] << (8 * (6 - i));
  return k;
}

int sb_tcp_gate_take(sb_tcp_gate *g, const uint8_t *addr, size_t len, double now_ms) {
  if (g->shared_take != NULL) {
    uint64_t key = block_key(addr, len);
    if (key == 0) return 0;
    int r = g->shared_take(key, now_ms, g->per_second, g->per_block);
    if (r >= 0) return r;
  }
  if (g->at_ms >= 0) {
    double t = g->tokens + (now_ms - g->at_ms) * g->per_second / 1000;
    g->tokens = t < g->per_second ? t : g->per_second;
  }
  g->at_ms = now_ms;
  int64_t second = (int64_t)floor(now_ms / 1000);
  if (second != g->second) {
    g->second = second;
    if (g->nblocks > 0) {
      memset(g->bkey, 0, sizeof(g->bkey));
      memset(g->bcount, 0, sizeof(g->bcount));
      g->nblocks = 0;
    }
  }
  if (g->tokens < 1) return 0;
  uint64_t key = block_key(addr, len);
  if (key == 0) return 0;
  uint64_t h = key * 0x9E3779B97F4A7C15ull;
  uint32_t slot = (uint32_t)(h >> 40) & (SB_TCP_BLOCK_SLOTS - 1);
  for (unsigned probe = 0; probe < SB_TCP_BLOCK_SLOTS; probe++) {
    uint32_t s = (slot + probe) & (SB_TCP_BLOCK_SLOTS - 1);
    if (g->bkey[s] == key) {
      if (g->bcount[s] >= g->per_block) return 0;
      g->bcount[s]++;
      g->tokens -= 1;
      return 1;
    }
    if (g->bkey[s] == 0) {
      if (g->nblocks >= SB_TCP_STRANGER_BLOCKS || g->per_block < 1) return 0;
      g->bkey[s] = key;
      g->bcount[s] = 1;
      g->nblocks++;
      g->tokens -= 1;
      return 1;
    }
  }
  return 0; /* not reached: at most half the slots are used */
}

int sb_tcp_gate_judge(sb_tcp_gate *g, const uint8_t *addr, size_t len, double now_ms, int stranger, int blocked) {
  if (blocked) {
    g->blocked_closed++;
    return SB_TCP_BLOCKED;
  }
  if (stranger) {
    if (sb_tcp_gate_take(g, addr, len, now_ms)) {
      g->strangers_served++;
      g->served++;
      return SB_TCP_STRANGER;
    }
    g->held_total++;
    return SB_TCP_HOLD;
  }
  g->served++;
  return SB_TCP_SERVE;
}

void sb_tcp_close_rst(int fd) {
  struct linger l = {1, 0};
  (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  close(fd);
}

void sb_tcp_gate_hold(sb_tcp_gate *g, int fd, double now_ms) {
  if (fd < 0) return;
  if (g->nheld >= SB_TCP_HELD_MAX) {
    sb_tcp_close_rst(g->held[g->head].fd);
    g->head = (g->head + 1) % SB_TCP_HELD_MAX;
    g->nheld--;
    g->held_evicted++;
  }
  unsigned at = (g->head + g->nheld) % SB_TCP_HELD_MAX;
  g->held[at].fd = fd;
  g->held[at].deadline_ms = now_ms + g->hold_ms;
  g->nheld++;
}

unsigned sb_tcp_gate_sweep(sb_tcp_gate *g, double now_ms) {
  unsigned closed = 0;
  /* Deadlines are in arrival order (same hold for all, a monotonic clock): stop at the first
   * that has not come. */
  while (g->nheld > 0 && g->held[g->head].deadline_ms <= now_ms) {
    sb_tcp_close_rst(g->held[g->head].fd);
    g->head = (g->head + 1) % SB_TCP_HELD_MAX;
    g->nheld--;
    g->held_expired++;
    closed++;
  }
  return closed;
}

void sb_tcp_gate_close_all(sb_tcp_gate *g) {
  while (g->nheld > 0) {
    sb_tcp_close_rst(g->held[g->head].fd);
    g->head = (g->head + 1) % SB_TCP_HELD_MAX;
    g->nheld--;
  }
  g->head = 0;
}

int sb_tcp_in_blocked(const uint8_t *addr, size_t len, const uint32_t *p24s, unsigned n) {
  const uint8_t *v4 = v4_of(addr, len);
  if (v4 == NULL || p24s == NULL || n == 0) return 0;
  uint32_t p = ((uint32_t)v4[0] << 24) | ((uint32_t)v4[1] << 16) | ((uint32_t)v4[2] << 8);
  return sb_sorted_has(p24s, n, p);
}

/* ---- connections waiting for their first frame ---- */

void sb_tcp_wait_init(sb_tcp_wait *w, double calm_ms, double pressed_ms) {
  memset(w, 0, sizeof(*w));
  w->head = w->tail = -1;
  for (int32_t i = 0; i < SB_TCP_WAIT_MAX; i++) {
    w->e[i].fd = -1;
    w->e[i].next = i + 1 < SB_TCP_WAIT_MAX ? i + 1 : -1;
  }
  w->free_top = 0;
  w->calm_ms = calm_ms >= 0 ? calm_ms : 0;
  w->pressed_ms = pressed_ms >= 0 ? pressed_ms : 0;
}

/* Takes `slot` out of the arrival list and pushes it on the free stack. */
static void wait_unlink(sb_tcp_wait *w, int32_t slot) {
  sb_tcp_waiting *e = &w->e[slot];
  if (e->prev >= 0) w->e[e->prev].next = e->next;
  else w->head = e->next;
  if (e->next >= 0) w->e[e->next].prev = e->prev;
  else w->tail = e->prev;
  e->fd = -1;
  e->next = w->free_top;
  e->prev = -1;
  w->free_top = slot;
  w->n--;
}

static int wait_live(const sb_tcp_wait *w, int32_t slot) {
  return slot >= 0 && slot < SB_TCP_WAIT_MAX && w->e[slot].fd >= 0;
}

int32_t sb_tcp_wait_add(sb_tcp_wait *w, int fd, int lfd, const uint8_t *addr, size_t alen, int port, double now_ms) {
  if (fd < 0) return -1;
  if (w->free_top < 0) {
    /* Full: the oldest makes room (its deadline is the nearest anyway). */
    sb_tcp_wait_drop(w, w->head);
    w->evicted++;
  }
  int32_t slot = w->free_top;
  sb_tcp_waiting *e = &w->e[slot];
  w->free_top = e->next;
  e->fd = fd;
  e->lfd = lfd;
  e->at_ms = now_ms;
  e->gen++;
  e->port = port >= 0 && port <= 0xffff ? (uint16_t)port : 0;
  e->alen = alen == 16 ? 16 : 4;
  memset(e->addr, 0, sizeof(e->addr));
  if (addr != NULL && (alen == 4 || alen == 16)) memcpy(e->addr, addr, alen);
  e->prev = w->tail;
  e->next = -1;
  if (w->tail >= 0) w->e[w->tail].next = slot;
  else w->head = slot;
  w->tail = slot;
  w->n++;
  w->total++;
  return slot;
}

int sb_tcp_wait_take(sb_tcp_wait *w, int32_t slot) {
  if (!wait_live(w, slot)) return -1;
  int fd = w->e[slot].fd;
  wait_unlink(w, slot);
  return fd;
}

void sb_tcp_wait_drop(sb_tcp_wait *w, int32_t slot) {
  if (!wait_live(w, slot)) return;
  int fd = w->e[slot].fd;
  wait_unlink(w, slot);
  sb_tcp_close_rst(fd);
}

unsigned sb_tcp_wait_sweep(sb_tcp_wait *w, double now_ms, int pressed) {
  double hold = pressed ? w->pressed_ms : w->calm_ms;
  unsigned closed = 0;
  while (w->head >= 0 && w->e[w->head].at_ms + hold <= now_ms) {
    sb_tcp_wait_drop(w, w->head);
    w->expired++;
    closed++;
  }
  return closed;
}

void sb_tcp_wait_close_all(sb_tcp_wait *w, int lfd) {
  int32_t i = w->head;
  while (i >= 0) {
    int32_t next = w->e[i].next;
    if (lfd < 0 || w->e[i].lfd == lfd) sb_tcp_wait_drop(w, i);
    i = next;
  }
}

int sb_tcp_first_frame(int fd, int peer_closed) {
  uint8_t len2[2];
  ssize_t r = recv(fd, len2, sizeof(len2), MSG_PEEK | MSG_DONTWAIT);
  if (r == 0) return -1; /* the client closed before sending anything */
  if (r < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? (peer_closed ? -1 : 0) : -1;
  if (r < 2) return peer_closed ? -1 : 0;
  unsigned len = ((unsigned)len2[0] << 8) | len2[1];
  if (len < SB_TCP_MIN_FRAME) return -2;
  /* The octets queued, not copied: a frame of up to 65,535 + 2 octets needs no buffer here. */
  int queued = 0;
  if (ioctl(fd, FIONREAD, &queued) != 0) return -1;
  if (queued >= 0 && (unsigned)queued >= 2 + len) return 1;
  return peer_closed ? -1 : 0;
}
