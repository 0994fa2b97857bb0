/*
 * queue21: a UDP socket's receive queue bounded by the time its datagrams wait, not by octets.
 *
 * A worker's socket asks for a large queue (8 MiB: bursts of a calm server are absorbed). When the
 * worker cannot keep up — a worker held to a slice of a core under a flood, a collection, a quota's
 * deficit — that queue is most of a second of reads, and every datagram behind the backlog is
 * answered late for as long as the small headroom takes to drain it (docs/PERFORMANCE.md "p99s18",
 * item 6). Here, from the kernel's receive timestamps (SO_TIMESTAMPNS):
 *   - a standing queue (the oldest datagram of every wake-up waited over half the target, for
 *     SB_QB_INTERVAL_MS without a wake-up that found it shorter) engages the bound: the queue's
 *     SO_RCVBUF is set to what the worker drains in the target time — the octets queued over the
 *     wait of the newest datagram read (the rate they come in at), times the target — re-measured at
 *     most every SB_QB_ADJUST_MS while it stands; the kernel then drops what comes beyond, cheaply;
 *   - while engaged, a batch whose newest datagram waited over twice the target is read and
 *     discarded unanswered (CoDel's head drop: the stale, not the fresh, are the ones let go);
 *   - SB_QB_HOLD_MS without a standing wake-up restores the calm size.
 * A short stall on a calm worker (a collection) does not engage it: its backlog drains at once.
 * Pure logic (no system calls): udp.c measures and sets.
 */
#ifndef SB_QUEUE_BOUND_H
#define SB_QUEUE_BOUND_H
#include <stdint.h>

/* Default target wait (ms); SWITCHBOARD_QUEUE_TIME=MS sets another (1-1000), =off turns it off. */
#define SB_QB_TARGET_MS 40
/* A standing queue: every wake-up's oldest datagram waited over target/2 for this long. */
#define SB_QB_INTERVAL_MS 100
/* The bound re-measured at most this often while the queue stands. */
#define SB_QB_ADJUST_MS 10
/* Calm this long (no wake-up whose oldest waited over target/2): the calm size again. */
#define SB_QB_HOLD_MS 1000
/* Never below this many octets of queue (as SO_RCVBUF reads back: ~150 small datagrams). */
#define SB_QB_MIN_OCTETS (128 * 1024)
/* Stale batches discarded per wake-up at most, beyond the wake-up's own allowance. */
#define SB_QB_STALE_BATCHES 16

typedef struct sb_qbound {
  double target_ms;   /* 0: off */
  int full;           /* the calm size (SO_RCVBUF as granted at open, octets) */
  int cur;            /* the size now (octets, as read back) */
  int engaged;
  double above_since; /* first wake-up of the current run over target/2 (-1: none) */
  double last_above;  /* the last wake-up over target/2 */
  double last_set;    /* when the size was last changed (-1e18: never) */
  int min_cur;        /* the smallest size set (stats) */
  double max_wait_ms; /* the longest wait seen (stats) */
  uint64_t engages, sets, stale_batches, stale_dropped;
} sb_qbound;

/* Target from the environment's value (NULL: default; "off"/"0": off); full = the calm size. */
void sb_qbound_init(sb_qbound *q, const char *env, int full);

/* Whether this wake-up's decision wants the octets queued now (one SO_MEMINFO read). */
int sb_qbound_wants_queued(const sb_qbound *q, double head_ms, int emptied, double now_ms);

/* One wake-up: its oldest datagram's wait (head_ms; -1 none), its newest read's (last_ms), whether it
 * emptied the socket, the octets still queued (-1: not read). Returns the size to set (octets, as
 * SO_RCVBUF reads back), or 0 to leave it. The caller sets it and reports the result with
 * sb_qbound_set. */
int sb_qbound_wake(sb_qbound *q, double head_ms, double last_ms, int emptied, long queued, double now_ms);

/* The size the kernel granted after a change. */
void sb_qbound_set(sb_qbound *q, int granted, double now_ms);

/* Whether a batch whose newest datagram waited newest_ms is stale (discarded unanswered). */
static inline int sb_qbound_stale(const sb_qbound *q, double newest_ms) {
  return q->engaged && newest_ms > 2 * q->target_ms;
}
#endif
