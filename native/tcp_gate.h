/*
 * The TCP accept decision in C (docs/TRANSPORT.md "Accept", docs/SHIELD.md "The TCP gate"): for
 * each connection the addon's batch accept takes, serve it (hand it to JS), close it at once (its
 * /24 is blocked), or hold it without any JS object (a stranger under pressure beyond the
 * strangers' budget): a fixed table of descriptors with deadlines, closed after hold_ms, the
 * oldest first when full. Pure C: no allocation after init, no N-API (the harness runs it).
 */
#ifndef SB_TCP_GATE_H
#define SB_TCP_GATE_H

#include <stddef.h>
#include <stdint.h>

/* Connections held at once; beyond it the oldest held is closed to make room. */
#define SB_TCP_HELD_MAX 2048
/* Client blocks the per-block budget tracks in one second (more: over budget), as tcp.ts's. */
#define SB_TCP_STRANGER_BLOCKS 4096
#define SB_TCP_BLOCK_SLOTS (2 * SB_TCP_STRANGER_BLOCKS)

enum {
  SB_TCP_SERVE = 0,    /* nothing to judge: served */
  SB_TCP_STRANGER = 1, /* a stranger under pressure within the budget: served */
  SB_TCP_HOLD = 2,     /* a stranger beyond the budget: held unread, closed at its deadline */
  SB_TCP_BLOCKED = 3,  /* its /24 is in the shield's blocked set: closed at once */
  SB_TCP_KEPT = 4,     /* (udp.c tcpJudge) a duplicate kept in C until its first frame */
  SB_TCP_IN_C = 5      /* (udp.c tcpJudge, tcpc23) a duplicate served in C (tcp_serve.h) */
};

typedef struct {
  int fd;
  double deadline_ms;
} sb_tcp_held;

typedef struct {
  double per_second, per_block, hold_ms;
  /* The process's token bucket (one second deep) and when it was last filled. */
  double tokens, at_ms;
  /* The whole second the per-block counts are for, and the counts (open addressing). */
  int64_t second;
  unsigned nblocks;
  uint64_t bkey[SB_TCP_BLOCK_SLOTS];
  uint32_t bcount[SB_TCP_BLOCK_SLOTS];
  /* Held connections, oldest first (a ring: every deadline is its arrival + hold_ms). */
  sb_tcp_held held[SB_TCP_HELD_MAX];
  unsigned head, nheld;
  /* The budget kept for the whole server instead (several workers sharing one listening socket:
   * standing.h sb_standing_tcp_take), or NULL: the key is the client block's. It answers 1 (take),
   * 0 (over budget) or -1 (no shared budget: this gate's own). Set after sb_tcp_gate_init. */
  int (*shared_take)(uint64_t key, double now_ms, double per_second, double per_block);
  /* Counters (cumulative). */
  double blocked_closed, held_total, held_expired, held_evicted, strangers_served, served;
} sb_tcp_gate;

/*
 * Connections from sources nothing vouches for, kept in C until their first complete DNS-over-TCP
 * frame (2-octet length + that many octets) is in the socket (docs/TRANSPORT.md "Accept"): then
 * handed to JS, which reads it at once; a connection that does not complete it by its deadline is
 * reset. A fixed table (no allocation), entries linked in arrival order (the oldest first: the
 * next deadline, and the one closed to make room when full) and freed out of order as frames
 * complete. The caller owns the readiness watch (udp.c: an epoll set); an entry's `gen` tells a
 * stale wake-up from the slot's next connection.
 */
/* Connections waiting for their first frame at once per thread: a slow-connection flood of ~400
 * a second for the calm deadline (10 s), or ~4,000 a second under pressure (1 s), before the
 * oldest are closed early. Each costs a descriptor and ~48 octets here. */
#define SB_TCP_WAIT_MAX 4096
/* The shortest first frame served: a DNS header (tcp.ts MIN_FRAME); shorter ones are reset here. */
#define SB_TCP_MIN_FRAME 12

typedef struct {
  int fd;       /* -1: free */
  int lfd;      /* the listening socket it came from (which listener JS hands it to) */
  double at_ms; /* accepted at */
  int32_t prev, next;
  uint32_t gen;
  uint16_t port;
  uint8_t alen; /* 4 or 16 */
  uint8_t addr[16];
} sb_tcp_waiting;

typedef struct {
  sb_tcp_waiting e[SB_TCP_WAIT_MAX];
  int32_t head, tail; /* oldest, newest; -1 when empty */
  int32_t free_top;   /* a stack of free slots through `next` */
  unsigned n;
  /* The deadlines: `calm_ms` (the listener's idle timeout, as a frame begun in JS gets), or
   * `pressed_ms` while the shield is pressed (tcp.ts PRESSURE_FIRST_QUERY_MS). */
  double calm_ms, pressed_ms;
  /* Counters (cumulative): waited, handed to JS, reset at the deadline, reset to make room,
   * closed by the client before a frame, reset for a first frame shorter than a header. */
  double total, handed, expired, evicted, client_closed, rejected;
} sb_tcp_wait;

/* Empties `w` (nothing open: call sb_tcp_wait_close_all first when reusing) with its deadlines. */
void sb_tcp_wait_init(sb_tcp_wait *w, double calm_ms, double pressed_ms);

/* Adds `fd` (from listening socket `lfd`, peer `addr` of `alen` 4|16 and `port`) at `now_ms`;
 * when the table is full the oldest is reset first (counted evicted). Returns its slot. */
int32_t sb_tcp_wait_add(sb_tcp_wait *w, int fd, int lfd, const uint8_t *addr, size_t alen, int port, double now_ms);

/* Frees `slot` without closing its descriptor (handed over); its fd, or -1 when the slot is free. */
int sb_tcp_wait_take(sb_tcp_wait *w, int32_t slot);

/* Resets and frees `slot` (its connection closed with a reset). */
void sb_tcp_wait_drop(sb_tcp_wait *w, int32_t slot);

/* Resets the connections whose deadline came: accepted at or before now - (pressed ? pressed_ms :
 * calm_ms). Deadlines are in arrival order (one hold for all at a time). Returns how many. */
unsigned sb_tcp_wait_sweep(sb_tcp_wait *w, double now_ms, int pressed);

/* Resets every waiting connection of the listening socket `lfd` (-1: every one). */
void sb_tcp_wait_close_all(sb_tcp_wait *w, int lfd);

/* Whether the first frame is complete in `fd`'s receive queue, peeked (never read): 1 complete,
 * 0 not yet, -1 never (the client closed or the socket failed; `peer_closed`: the client shut its
 * side, nothing more will come), -2 a first frame shorter than SB_TCP_MIN_FRAME. */
int sb_tcp_first_frame(int fd, int peer_closed);

/* Resets `g` with the budget (connections a second, for the process and per /24 or /56) and the
 * hold time. Nothing held: call sb_tcp_gate_close_all first when reusing a gate. */
void sb_tcp_gate_init(sb_tcp_gate *g, double per_second, double per_block, double hold_ms);

/* Takes one stranger's connection from `addr` (4 or 16 octets; IPv4-mapped IPv6 counts as IPv4)
 * at `now_ms` from the budget; 0 when over it. */
int sb_tcp_gate_take(sb_tcp_gate *g, const uint8_t *addr, size_t len, double now_ms);

/* The verdict for a connection from `addr`: `blocked` (its /24 is blocked) -> SB_TCP_BLOCKED;
 * `stranger` (the shield: under pressure, nothing vouches for it) -> SB_TCP_STRANGER within the
 * budget, else SB_TCP_HOLD; otherwise SB_TCP_SERVE. Counts what it decides. */
int sb_tcp_gate_judge(sb_tcp_gate *g, const uint8_t *addr, size_t len, double now_ms, int stranger, int blocked);

/* Holds `fd` until now_ms + hold_ms; when the table is full the oldest held is closed first. */
void sb_tcp_gate_hold(sb_tcp_gate *g, int fd, double now_ms);

/* Closes the held connections whose deadline has come; returns how many. */
unsigned sb_tcp_gate_sweep(sb_tcp_gate *g, double now_ms);

/* Closes every held connection (shutdown). */
void sb_tcp_gate_close_all(sb_tcp_gate *g);

/* Closes `fd` with a reset (SO_LINGER 0): no FIN_WAIT/TIME_WAIT kept for a flood's connection. */
void sb_tcp_close_rst(int fd);

/* Whether the IPv4 address (4 octets, or IPv4-mapped in 16) is in the sorted /24 set `p24s`
 * (each a<<24 | b<<16 | c<<8, as the shield's blocked set). */
int sb_tcp_in_blocked(const uint8_t *addr, size_t len, const uint32_t *p24s, unsigned n);

#endif
