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
 *     SO_RCVBUF is set to what the worker reads in the target time — its measured read rate
 *     (datagrams a ms, over windows of SB_QB_WINDOW_MS while the queue stands) times the target
 *     times SB_QB_OCTETS_PER_DATAGRAM — never below SB_QB_MIN_OCTETS; the kernel then drops what
 *     comes beyond, before it costs the worker anything;
 *   - while engaged, a batch whose newest datagram waited over SB_QB_STALE_TARGETS targets is read
 *     and discarded unanswered (its client has most likely given up on it);
 *   - SB_QB_HOLD_MS without a standing wake-up restores the calm size.
 * A burst that a calm worker drains within SB_QB_INTERVAL_MS does not engage it.
 * OPT-IN (SWITCHBOARD_QUEUE_TIME=on): in the drill A/B with two quota-held workers it turned wave 1's
 * late answers into lost first tries (the onset is a transient overload the 8 MiB queue absorbs),
 * and a lost first try brings the drill's retry storms: wave 1 98.65% in one run
 * (docs/PERFORMANCE.md "queue21").
 * Why a read rate and not the queue's own octets over its wait (tried first, queue21 drill run Q1):
 * a quota-held worker reads in turns; a bound smaller than what comes between two turns fills in a
 * ms and then waits the whole turn, so octets over wait read as a slow rate, the bound shrank to its
 * floor and the reads per turn with it (wave 1 answered 85%). The floor is four wake-ups' reads.
 * Pure logic (no system calls): udp.c measures and sets.
 */
#ifndef SB_QUEUE_BOUND_H
#define SB_QUEUE_BOUND_H
#include <stdint.h>

/* Target wait (ms) with SWITCHBOARD_QUEUE_TIME=on; =MS sets another (1-1000); unset or =off: off. */
#define SB_QB_TARGET_MS 40
/* A standing queue: every wake-up's oldest datagram waited over target/2 for this long. */
#define SB_QB_INTERVAL_MS 100
/* The read rate's window while the queue stands (ms); the bound is re-set at most this often. */
#define SB_QB_WINDOW_MS 50
/* Calm this long (no wake-up whose oldest waited over target/2): the calm size again. */
#define SB_QB_HOLD_MS 1000
/* Octets of queue a small datagram takes (its skb's truesize): 832 measured on loopback for a
 * 40-octet query; a NIC driver's buffers take 768-2,048 or more. */
#define SB_QB_OCTETS_PER_DATAGRAM 1024
/* Never below four wake-ups' reads (4 x 4 batches x 64 datagrams x 1,024 octets = 1 MiB, as
 * SO_RCVBUF reads back): a quota-held worker reads in turns and must find a turn's worth queued. */
#define SB_QB_MIN_OCTETS (4 * 4 * 64 * SB_QB_OCTETS_PER_DATAGRAM)
/* Stale: every datagram of a batch waited over this many targets (while engaged). */
#define SB_QB_STALE_TARGETS 5
/* Stale batches discarded per wake-up at most, beyond the wake-up's own allowance. */
#define SB_QB_STALE_BATCHES 16

typedef struct sb_qbound {
  double target_ms;   /* 0: off */
  int full;           /* the calm size (SO_RCVBUF as granted at open, octets) */
  int cur;            /* the size now (octets, as read back) */
  int engaged;
  double above_since; /* first wake-up of the current run over target/2 (-1: none) */
  double last_above;  /* the last such wake-up */
  double last_set;    /* when the size was last changed (-1e18: never) */
  double win_at;      /* the read rate's window: its start (ms) and the reads then */
  uint64_t win_reads;
  double rate;        /* datagrams read a ms while the queue stood (the last window's) */
  int min_cur;        /* the smallest size set (stats) */
  double max_wait_ms; /* the longest wait seen (stats) */
  uint64_t engages, sets, stale_batches, stale_dropped;
} sb_qbound;

/* Target from the environment's value ("on": SB_QB_TARGET_MS; a number: that; NULL, "off", "0",
 * junk: off); full = the calm size. */
void sb_qbound_init(sb_qbound *q, const char *env, int full);

/* One wake-up: its oldest datagram's wait (head_ms; -1 none), the datagrams the socket has read
 * since it opened (answered or discarded). Returns the size to set (octets, as SO_RCVBUF reads
 * back), or 0 to leave it; the caller sets it and reports what the kernel granted (sb_qbound_set). */
int sb_qbound_wake(sb_qbound *q, double head_ms, uint64_t reads, double now_ms);

/* The size the kernel granted after a change. */
void sb_qbound_set(sb_qbound *q, int granted, double now_ms);

/* Whether a batch whose newest datagram waited newest_ms is stale (discarded unanswered). */
static inline int sb_qbound_stale(const sb_qbound *q, double newest_ms) {
  return q->engaged && newest_ms > SB_QB_STALE_TARGETS * q->target_ms;
}
#endif
