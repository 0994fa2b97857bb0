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
  SB_TCP_BLOCKED = 3   /* its /24 is in the shield's blocked set: closed at once */
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
