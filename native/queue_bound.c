/* queue21: the receive queue bounded by time (queue_bound.h). */
#include "queue_bound.h"

#include <stdlib.h>
#include <string.h>

void sb_qbound_init(sb_qbound *q, const char *env, int full) {
  memset(q, 0, sizeof(*q));
  /* Opt-in (queue21's drill A/B: on by default it turned the onset's late answers into lost first
   * tries, and the drill's retry storms followed; docs/PERFORMANCE.md "queue21"). */
  double t = 0;
  if (env != NULL && strcmp(env, "on") == 0) {
    t = SB_QB_TARGET_MS;
  } else if (env != NULL && *env != '\0') {
    char *end = NULL;
    double v = strtod(env, &end);
    t = end != env && *end == '\0' && v >= 1 && v <= 1000 ? v : 0; /* "off", "0", junk: off */
  }
  /* A calm size at or under the floor leaves nothing to bound. */
  q->target_ms = full > SB_QB_MIN_OCTETS ? t : 0;
  q->full = full;
  q->cur = full;
  q->min_cur = full;
  q->above_since = -1;
  q->last_above = -1e18;
  q->last_set = -1e18;
}

int sb_qbound_wake(sb_qbound *q, double head_ms, uint64_t reads, double now_ms) {
  if (q->target_ms <= 0 || head_ms < 0) return 0;
  if (head_ms > q->max_wait_ms) q->max_wait_ms = head_ms;
  double t = q->target_ms;
  if (head_ms > t / 2) {
    if (q->above_since < 0) {
      q->above_since = now_ms;
      q->win_at = now_ms;
      q->win_reads = reads;
    }
    q->last_above = now_ms;
    if (!q->engaged && now_ms - q->above_since >= SB_QB_INTERVAL_MS) {
      q->engaged = 1;
      q->engages++;
    }
    /* The read rate while the queue stands: every read counted, the turns between them too. */
    if (now_ms - q->win_at < SB_QB_WINDOW_MS) return 0;
    q->rate = (double)(reads - q->win_reads) / (now_ms - q->win_at);
    q->win_at = now_ms;
    q->win_reads = reads;
    if (!q->engaged) return 0;
    double want = t * q->rate * SB_QB_OCTETS_PER_DATAGRAM;
    if (want < SB_QB_MIN_OCTETS) want = SB_QB_MIN_OCTETS;
    if (want > q->full) want = q->full;
    int w = (int)want;
    int d = w > q->cur ? w - q->cur : q->cur - w;
    return d > q->cur / 8 ? w : 0;
  }
  q->above_since = -1;
  if (q->engaged && now_ms - q->last_above >= SB_QB_HOLD_MS) {
    q->engaged = 0;
    if (q->cur < q->full) return q->full;
  }
  return 0;
}

void sb_qbound_set(sb_qbound *q, int granted, double now_ms) {
  q->last_set = now_ms;
  q->sets++;
  if (granted > 0) q->cur = granted;
  if (q->cur < q->min_cur) q->min_cur = q->cur;
}
