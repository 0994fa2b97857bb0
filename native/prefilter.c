/*
 * The shield's kernel prefilter (docs/SHIELD.md "Before the socket queue"): a classic BPF
 * program attached to a UDP socket (SO_ATTACH_FILTER: no privilege needed) that drops
 * datagrams from blocked IPv4 prefixes in the kernel, before they take a place in the socket's
 * receive queue — so a direct flood cannot crowd real resolvers out of a FIFO queue. IPv6
 * datagrams pass unless their /56 is blocked (ipv626: sb_prefilter_set_blocked6, v6_part).
 *
 * The program: the IP version nibble (not 4: accept), the source address masked to the
 * prefix length, then a balanced search over the sorted prefixes (jge and ja; classic BPF's
 * conditional jumps reach only 255 instructions, so each split is a jge over an unconditional
 * ja to the right half) ending in `ret 0` (drop) or `ret -1` (accept).
 */
#include "prefilter.h"

#include <errno.h>
#include <stdlib.h>
#include <linux/filter.h>
#include <string.h>
#include <sys/socket.h>

typedef struct {
  struct sock_filter *out;
  unsigned cap, n;
  int overflow;
  /* With a sample share: the leaves' jumps to the sampling drop, patched once it is placed. */
  unsigned *drops, ndrops, maxdrops;
} emitter;

static unsigned emit(emitter *e, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k) {
  if (e->n >= e->cap) {
    e->overflow = 1;
    return e->n;
  }
  e->out[e->n].code = code;
  e->out[e->n].jt = jt;
  e->out[e->n].jf = jf;
  e->out[e->n].k = k;
  return e->n++;
}

#define LEAF_MAX 4

/* ipv626: the IPv6 /56s the next programs built on this thread drop (sb_prefilter_set_blocked6). */
static __thread uint64_t g_v6[SB_BLOCK6_MAX_PROG];
static __thread unsigned g_v6_n;
static __thread int g_v6_bad;

void sb_prefilter_set_blocked6(const uint64_t *keys, unsigned n) {
  g_v6_bad = n > SB_BLOCK6_MAX_PROG || (n > 0 && keys == NULL);
  g_v6_n = 0;
  if (g_v6_bad) return;
  for (unsigned i = 0; i < n; i++) {
    if ((keys[i] & 0xffu) != 0 || (i > 0 && keys[i] <= keys[i - 1])) {
      g_v6_bad = 1;
      return;
    }
    g_v6[i] = keys[i];
  }
  g_v6_n = n;
}

unsigned sb_prefilter_blocked6(void) { return g_v6_n; }

/* The IPv6 source check (reached from the version nibble's jump): the source's first word
 * (SKF_NET_OFF + 8) compared with each blocked /56's upper 32 bits in turn; on a match its second
 * word, masked to 24 bits, with those of the /56s sharing that upper word; found: dropped (with the
 * renewal's `sample`), else accepted. A scan, not a search: at most SB_BLOCK6_MAX_PROG /56s, and
 * each group's jump over it stays within a conditional jump's 255. */
static void v6_part(emitter *e, uint32_t sample) {
  unsigned drops[SB_BLOCK6_MAX_PROG], nd = 0;
  emit(e, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(SKF_NET_OFF + 8));
  for (unsigned i = 0; i < g_v6_n;) {
    uint32_t hi = (uint32_t)(g_v6[i] >> 32);
    unsigned j = i;
    while (j < g_v6_n && (uint32_t)(g_v6[j] >> 32) == hi) j++;
    emit(e, BPF_JMP | BPF_JEQ | BPF_K, 0, (uint8_t)(3 + 2 * (j - i)), hi);
    emit(e, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(SKF_NET_OFF + 12));
    emit(e, BPF_ALU | BPF_AND | BPF_K, 0, 0, 0xffffff00u);
    for (; i < j; i++) {
      emit(e, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, (uint32_t)g_v6[i]);
      drops[nd++] = emit(e, BPF_JMP | BPF_JA, 0, 0, 0);
    }
    emit(e, BPF_RET | BPF_K, 0, 0, 0xffffffffu);
  }
  emit(e, BPF_RET | BPF_K, 0, 0, 0xffffffffu);
  unsigned at = e->n;
  if (sample != 0) {
    emit(e, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(SKF_AD_OFF + SKF_AD_RANDOM));
    emit(e, BPF_JMP | BPF_JGE | BPF_K, 0, 1, sample);
  }
  emit(e, BPF_RET | BPF_K, 0, 0, 0);
  if (sample != 0) emit(e, BPF_RET | BPF_K, 0, 0, 0xffffffffu);
  if (!e->overflow)
    for (unsigned i = 0; i < nd; i++) e->out[drops[i]].k = at - (drops[i] + 1);
}

/* The version nibble's branch for a source that is not IPv4: accepted, or (IPv6 /56s blocked) a jump
 * to the IPv6 check placed later (its index returned, patched by place_v6; ~0u: none). */
static unsigned not_v4(emitter *e) {
  if (g_v6_n == 0) {
    emit(e, BPF_RET | BPF_K, 0, 0, 0xffffffffu);
    return ~0u;
  }
  return emit(e, BPF_JMP | BPF_JA, 0, 0, 0);
}

static void place_v6(emitter *e, unsigned ja, uint32_t sample) {
  if (ja == ~0u) return;
  if (!e->overflow) e->out[ja].k = e->n - (ja + 1);
  v6_part(e, sample);
}

static void tree(emitter *e, const uint32_t *v, unsigned lo, unsigned hi) {
  if (hi - lo <= LEAF_MAX) {
    for (unsigned i = lo; i < hi; i++) {
      emit(e, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, v[i]);
      if (e->drops == NULL) {
        emit(e, BPF_RET | BPF_K, 0, 0, 0);
      } else if (e->ndrops < e->maxdrops) {
        e->drops[e->ndrops++] = emit(e, BPF_JMP | BPF_JA, 0, 0, 0);
      } else {
        e->overflow = 1;
      }
    }
    emit(e, BPF_RET | BPF_K, 0, 0, 0xffffffffu);
    return;
  }
  unsigned mid = lo + (hi - lo) / 2;
  emit(e, BPF_JMP | BPF_JGE | BPF_K, 0, 1, v[mid]);
  unsigned ja = emit(e, BPF_JMP | BPF_JA, 0, 0, 0);
  tree(e, v, lo, mid);
  if (!e->overflow) e->out[ja].k = e->n - (ja + 1);
  tree(e, v, mid, hi);
}

/* The source check: the IP version nibble (not 4: accept), the source masked, the search. With
 * `sample` (not 0), a blocked source's datagram is not dropped outright: a random u32 under
 * `sample` passes it (the worker counts it as evidence that the block is still needed and drops
 * it; docs/SHIELD.md "Renewed from evidence"). */
static void source_part(emitter *e, const uint32_t *prefixes, unsigned n, uint32_t mask, int always,
                        uint32_t sample) {
  if (n == 0 && g_v6_n == 0 && !always) {
    emit(e, BPF_RET | BPF_K, 0, 0, 0xffffffffu);
    return;
  }
  emit(e, BPF_LD | BPF_B | BPF_ABS, 0, 0, (uint32_t)(SKF_NET_OFF + 0));
  emit(e, BPF_ALU | BPF_RSH | BPF_K, 0, 0, 4);
  emit(e, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 4);
  unsigned v6_ja = not_v4(e);
  emit(e, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(SKF_NET_OFF + 12));
  emit(e, BPF_ALU | BPF_AND | BPF_K, 0, 0, mask);
  unsigned drops[SB_PREFILTER_MAX];
  if (sample != 0) {
    e->drops = drops;
    e->ndrops = 0;
    e->maxdrops = SB_PREFILTER_MAX;
  }
  tree(e, prefixes, 0, n);
  if (sample == 0 || e->overflow) {
    e->drops = NULL;
    place_v6(e, v6_ja, sample);
    return;
  }
  /* The sampling drop, after the search: the leaves' jumps (ja: a 32-bit reach) end here. */
  unsigned at = e->n;
  emit(e, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(SKF_AD_OFF + SKF_AD_RANDOM));
  emit(e, BPF_JMP | BPF_JGE | BPF_K, 0, 1, sample);
  emit(e, BPF_RET | BPF_K, 0, 0, 0);
  emit(e, BPF_RET | BPF_K, 0, 0, 0xffffffffu);
  if (!e->overflow)
    for (unsigned i = 0; i < e->ndrops; i++) e->out[drops[i]].k = at - (drops[i] + 1);
  e->drops = NULL;
  place_v6(e, v6_ja, sample);
}

/* bridge21: a balanced search like tree() whose leaves jump on: a value found to the place the
 * caller gives later (`found`, ja's patched), none found likewise (`missed`). */
typedef struct {
  unsigned *at, n, max;
} patches;

static void patch_add(emitter *e, patches *p, unsigned at) {
  if (p->n >= p->max) {
    e->overflow = 1;
    return;
  }
  p->at[p->n++] = at;
}

static void patch_to(emitter *e, const patches *p, unsigned target) {
  if (e->overflow) return;
  for (unsigned i = 0; i < p->n; i++) e->out[p->at[i]].k = target - (p->at[i] + 1);
}

static void tree_jumps(emitter *e, const uint32_t *v, unsigned lo, unsigned hi, patches *found, patches *missed) {
  if (hi - lo <= LEAF_MAX) {
    for (unsigned i = lo; i < hi; i++) {
      emit(e, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, v[i]);
      patch_add(e, found, emit(e, BPF_JMP | BPF_JA, 0, 0, 0));
    }
    patch_add(e, missed, emit(e, BPF_JMP | BPF_JA, 0, 0, 0));
    return;
  }
  unsigned mid = lo + (hi - lo) / 2;
  emit(e, BPF_JMP | BPF_JGE | BPF_K, 0, 1, v[mid]);
  unsigned ja = emit(e, BPF_JMP | BPF_JA, 0, 0, 0);
  tree_jumps(e, v, lo, mid, found, missed);
  if (!e->overflow) e->out[ja].k = e->n - (ja + 1);
  tree_jumps(e, v, mid, hi, found, missed);
}

/* bridge21 (docs/SHIELD.md "The bridge"): the source check while the worker has fallen behind and
 * its blocks are not made yet. IPv4 only (else accept); a source inside an allow range, or whose
 * /24 is in `good` (standing), passes; one whose /24 is blocked is dropped (with the renewal's
 * `sample`); any other passes when a random u32 is under `share`. */
static unsigned bridge_part(emitter *e, const uint32_t *blocked, unsigned n, uint32_t sample, const sb_bridge *b) {
  emit(e, BPF_LD | BPF_B | BPF_ABS, 0, 0, (uint32_t)(SKF_NET_OFF + 0));
  emit(e, BPF_ALU | BPF_RSH | BPF_K, 0, 0, 4);
  emit(e, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 4);
  unsigned v6_ja = not_v4(e);
  emit(e, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(SKF_NET_OFF + 12));
  for (unsigned i = 0; i < b->nranges; i++) {
    emit(e, BPF_JMP | BPF_JGE | BPF_K, 0, 2, b->ranges[i][0]); /* under lo: the next range */
    emit(e, BPF_JMP | BPF_JGT | BPF_K, 1, 0, b->ranges[i][1]); /* over hi: the next range */
    emit(e, BPF_RET | BPF_K, 0, 0, 0xffffffffu);
  }
  unsigned mask_at = emit(e, BPF_ALU | BPF_AND | BPF_K, 0, 0, 0xffffff00u);
  unsigned fbuf[SB_BRIDGE_MAX_GOOD + SB_PREFILTER_MAX], mbuf[SB_BRIDGE_MAX_GOOD + SB_PREFILTER_MAX];
  patches found = {fbuf, 0, SB_BRIDGE_MAX_GOOD + SB_PREFILTER_MAX};
  patches missed = {mbuf, 0, SB_BRIDGE_MAX_GOOD + SB_PREFILTER_MAX};
  if (b->ngood > 0) {
    tree_jumps(e, b->good, 0, b->ngood, &found, &missed);
    patch_to(e, &found, e->n);
    emit(e, BPF_RET | BPF_K, 0, 0, 0xffffffffu); /* standing: passes */
    patch_to(e, &missed, e->n);
    found.n = missed.n = 0;
  }
  if (n > 0) {
    tree_jumps(e, blocked, 0, n, &found, &missed);
    patch_to(e, &found, e->n);
    if (sample != 0) {
      emit(e, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(SKF_AD_OFF + SKF_AD_RANDOM));
      emit(e, BPF_JMP | BPF_JGE | BPF_K, 0, 1, sample);
    }
    emit(e, BPF_RET | BPF_K, 0, 0, 0); /* blocked */
    if (sample != 0) emit(e, BPF_RET | BPF_K, 0, 0, 0xffffffffu);
    patch_to(e, &missed, e->n);
  }
  /* ipv626: the IPv6 check here, jumped over (the share stays the program's last 4 instructions,
   * where the eBPF translation finds it); an IPv6 source not blocked passes whole, as before. */
  if (v6_ja != ~0u) {
    unsigned over = emit(e, BPF_JMP | BPF_JA, 0, 0, 0);
    place_v6(e, v6_ja, sample);
    if (!e->overflow) e->out[over].k = e->n - (over + 1);
  }
  /* Neither: the share passes. */
  emit(e, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(SKF_AD_OFF + SKF_AD_RANDOM));
  emit(e, BPF_JMP | BPF_JGE | BPF_K, 0, 1, b->share);
  emit(e, BPF_RET | BPF_K, 0, 0, 0);
  emit(e, BPF_RET | BPF_K, 0, 0, 0xffffffffu);
  return mask_at;
}

sb_bridge sb_prefilter_bridge_mapped(const sb_bridge *b) {
  sb_bridge m = *b;
  m.good = NULL;
  m.ngood = 0;
  m.share = 0;
  return m;
}

static int bridge_ok(const sb_bridge *b) {
  if (b->ngood > SB_BRIDGE_MAX_GOOD || b->nranges > SB_BRIDGE_MAX_RANGES) return 0;
  for (unsigned i = 0; i < b->ngood; i++)
    if ((b->good[i] & 0xffu) != 0 || (i > 0 && b->good[i] <= b->good[i - 1])) return 0;
  for (unsigned i = 0; i < b->nranges; i++)
    if (b->ranges[i][0] > b->ranges[i][1]) return 0;
  return 1;
}

static int prefixes_ok(const uint32_t *prefixes, unsigned n, unsigned bits) {
  if (bits == 0 || bits > 32) return 0;
  for (unsigned i = 1; i < n; i++)
    if (prefixes[i] <= prefixes[i - 1]) return 0; /* sorted, no duplicates */
  return 1;
}

unsigned sb_prefilter_build_sampled(const uint32_t *prefixes, unsigned n, unsigned bits, uint32_t sample,
                                    struct sock_filter *out, unsigned cap) {
  if (!prefixes_ok(prefixes, n, bits) || g_v6_bad) return 0;
  uint32_t mask = bits == 32 ? 0xffffffffu : ~(0xffffffffu >> bits);
  emitter e = {out, cap, 0, 0, NULL, 0, 0};
  source_part(&e, prefixes, n, mask, 1, sample);
  return e.overflow ? 0 : e.n;
}

unsigned sb_prefilter_build(const uint32_t *prefixes, unsigned n, unsigned bits, struct sock_filter *out,
                            unsigned cap) {
  return sb_prefilter_build_sampled(prefixes, n, bits, 0, out, cap);
}

/* ---- the QNAME filter (prefilter.h) ----
 * Offsets in a UDP socket's filter are from the UDP header: the DNS message starts at 8, its
 * QNAME at 20. Scratch: M0 the datagram's length, M1 labels seen (then the prefix's length), M2
 * the name's length (then the hash), M3.. the labels' offsets in the name, M15 the zone. */
#define QF_MSG 8
#define QF_QNAME 20
#define QF_M_LEN 0
#define QF_M_LABELS 1
#define QF_M_QLEN 2
#define QF_M_OFF 3
#define QF_M_ZONE 15
#define QF_LEAF 8
#define QF_PRIME 0x01000193u

typedef struct {
  emitter e;
  unsigned label_at[64];
  int label_set[64];
  unsigned nlabels;
  struct {
    unsigned at;
    unsigned label;
    uint8_t which; /* 0 jt, 1 jf, 2 ja's k */
  } fix[1024];
  unsigned nfix;
  int bad;
} qasm;

static unsigned new_label(qasm *a) {
  if (a->nlabels >= 64) {
    a->bad = 1;
    return 0;
  }
  a->label_set[a->nlabels] = 0;
  return a->nlabels++;
}

static void place(qasm *a, unsigned label) {
  a->label_at[label] = a->e.n;
  a->label_set[label] = 1;
}

static void refer(qasm *a, unsigned at, unsigned label, uint8_t which) {
  if (a->nfix >= sizeof(a->fix) / sizeof(a->fix[0])) {
    a->bad = 1;
    return;
  }
  a->fix[a->nfix].at = at;
  a->fix[a->nfix].label = label;
  a->fix[a->nfix].which = which;
  a->nfix++;
}

/* A conditional jump: to `jt_label` when true (or the next instruction: -1), `jf_label` when false. */
static void jcond(qasm *a, uint16_t code, uint32_t k, int jt_label, int jf_label) {
  unsigned at = emit(&a->e, code, 0, 0, k);
  if (a->e.overflow) return;
  if (jt_label >= 0) refer(a, at, (unsigned)jt_label, 0);
  if (jf_label >= 0) refer(a, at, (unsigned)jf_label, 1);
}

static void jalways(qasm *a, unsigned label) {
  unsigned at = emit(&a->e, BPF_JMP | BPF_JA, 0, 0, 0);
  if (!a->e.overflow) refer(a, at, label, 2);
}

static int resolve_labels(qasm *a) {
  if (a->bad || a->e.overflow) return 0;
  for (unsigned i = 0; i < a->nfix; i++) {
    unsigned at = a->fix[i].at, l = a->fix[i].label;
    if (l >= a->nlabels || !a->label_set[l] || a->label_at[l] <= at) return 0;
    unsigned off = a->label_at[l] - (at + 1);
    if (a->fix[i].which == 2)
      a->e.out[at].k = off;
    else if (off > 255)
      return 0; /* beyond a conditional jump's reach */
    else if (a->fix[i].which == 0)
      a->e.out[at].jt = (uint8_t)off;
    else
      a->e.out[at].jf = (uint8_t)off;
  }
  return 1;
}

static int is_letter(uint8_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* Mask and value of origin octets [at, at+w) (w = 1, 2 or 4) for a case-insensitive compare:
 * letters compared without their 0x20 bit, length octets and the rest exactly. */
static void origin_chunk(const sb_qf_zone *z, const uint8_t *is_len, unsigned at, unsigned w, uint32_t *mask,
                         uint32_t *val) {
  uint32_t m = 0, v = 0;
  for (unsigned i = 0; i < w; i++) {
    uint8_t c = z->origin[at + i];
    uint8_t cm = (!is_len[at + i] && is_letter(c)) ? 0xdf : 0xff;
    m = (m << 8) | cm;
    v = (v << 8) | (uint8_t)(c & cm);
  }
  *mask = m;
  *val = v;
}

/* The origin's length octets (1 at each), or 0 when it is not a plain name of labels. */
static int origin_shape(const sb_qf_zone *z, uint8_t *is_len) {
  if (z->origin_len < 3 || z->origin_len > SB_QF_MAX_ORIGIN) return 0;
  memset(is_len, 0, SB_QF_MAX_ORIGIN);
  unsigned p = 0, labels = 0;
  while (p < z->origin_len) {
    uint8_t l = z->origin[p];
    is_len[p] = 1;
    if (l == 0) break;
    if (l >= 64) return 0;
    labels++;
    p += 1u + l;
  }
  if (p != z->origin_len - 1 || labels != z->labels || labels < 1 || labels > SB_QF_MAX_LABELS - 2) return 0;
  return 1;
}

uint32_t sb_qf_hash(const uint8_t *prefix, unsigned plen, const uint8_t *origin, unsigned olen) {
  uint8_t name[SB_QF_HASH_OCTETS + 4];
  unsigned want = plen < SB_QF_HASH_OCTETS ? plen : SB_QF_HASH_OCTETS;
  want = (want + 3) & ~3u; /* whole words: the last reads into the origin */
  unsigned have = 0;
  for (; have < want && have < plen; have++) name[have] = prefix[have];
  for (unsigned i = 0; have < want && i < olen; i++) name[have++] = origin[i];
  while (have < want) name[have++] = 0; /* not reached for an origin of 3+ octets */
  uint32_t h = plen;
  for (unsigned i = 0; i < want; i += 4) {
    uint32_t w = ((uint32_t)(name[i] | 0x20) << 24) | ((uint32_t)(name[i + 1] | 0x20) << 16) |
                 ((uint32_t)(name[i + 2] | 0x20) << 8) | (uint32_t)(name[i + 3] | 0x20);
    h = h * QF_PRIME + w;
  }
  return h;
}

static int hashes_ok(const sb_qf_zone *z) {
  if (z->nhashes > 0 && z->hashes == NULL) return 0;
  for (unsigned i = 1; i < z->nhashes; i++)
    if (z->hashes[i] <= z->hashes[i - 1]) return 0;
  return 1;
}

static int has_hash(const sb_qf_zone *z, uint32_t h) {
  return sb_sorted_has(z->hashes, z->nhashes, h);
}

int sb_qf_decide(const sb_qf_zone *zones, unsigned nz, const uint8_t *msg, size_t len, uint32_t rnd) {
  if (nz == 0 || len < 13) return 1;
  if (msg[2] & 0x80) return 1;
  if (((msg[4] << 8) | msg[5]) != 1) return 1;
  unsigned offs[SB_QF_MAX_LABELS];
  size_t off = 0;
  unsigned labels = SB_QF_MAX_LABELS;
  for (unsigned j = 0; j < SB_QF_MAX_LABELS; j++) {
    offs[j] = (unsigned)off;
    if (12 + off + 1 > len) return 1;
    uint8_t l = msg[12 + off];
    if (l == 0) {
      labels = j;
      break;
    }
    if (l >= 64) return 1;
    off += 1u + l;
  }
  if (labels == SB_QF_MAX_LABELS) return 1;
  size_t qlen = off + 1;
  const uint8_t *name = msg + 12;
  for (unsigned zi = 0; zi < nz; zi++) {
    const sb_qf_zone *z = &zones[zi];
    if (labels <= z->labels) continue;
    unsigned start = offs[labels - z->labels];
    if (qlen - start != z->origin_len) continue;
    int same = 1;
    unsigned p = 0;
    for (unsigned i = 0; i < z->origin_len && same; i++) {
      uint8_t a = name[start + i], b = z->origin[i];
      if (i == p) {
        same = a == b;
        p += 1u + b;
      } else if (is_letter(b)) {
        same = (a & 0xdf) == (b & 0xdf);
      } else {
        same = a == b;
      }
    }
    if (!same) continue;
    /* The hash over the query's own octets (the program's), the origin's place read from it. */
    uint32_t h = sb_qf_hash(name, start, name + start, z->origin_len);
    if (has_hash(z, h)) return 1;
    return rnd < z->admit;
  }
  return 1;
}

static unsigned build_qf(const uint32_t *prefixes, unsigned n, unsigned bits, uint32_t sample, const sb_qf_zone *zones,
                         unsigned nz, const sb_bridge *bridge, struct sock_filter *out, unsigned cap);

static __thread sb_qf_marks g_qf_marks;

const sb_qf_marks *sb_prefilter_qf_marks(void) { return &g_qf_marks; }

unsigned sb_prefilter_build_qf(const uint32_t *prefixes, unsigned n, unsigned bits, uint32_t sample,
                               const sb_qf_zone *zones, unsigned nz, struct sock_filter *out, unsigned cap) {
  return build_qf(prefixes, n, bits, sample, zones, nz, NULL, out, cap);
}

unsigned sb_prefilter_build_bridge(const uint32_t *prefixes, unsigned n, uint32_t sample, const sb_qf_zone *zones,
                                   unsigned nz, const sb_bridge *bridge, struct sock_filter *out, unsigned cap) {
  if (bridge == NULL || !bridge_ok(bridge)) return 0;
  return build_qf(prefixes, n, 24, sample, zones, nz, bridge, out, cap);
}

static unsigned build_qf(const uint32_t *prefixes, unsigned n, unsigned bits, uint32_t sample, const sb_qf_zone *zones,
                         unsigned nz, const sb_bridge *bridge, struct sock_filter *out, unsigned cap) {
  if (!prefixes_ok(prefixes, n, bits) || nz > SB_QF_MAX_ZONES || (nz > 0 && zones == NULL)) return 0;
  uint32_t mask = bits == 32 ? 0xffffffffu : ~(0xffffffffu >> bits);
  if (nz == 0 && bridge != NULL) {
    emitter e = {out, cap, 0, 0, NULL, 0, 0};
    g_qf_marks.mask_at = bridge_part(&e, prefixes, n, sample, bridge);
    g_qf_marks.len = e.overflow ? 0 : e.n;
    g_qf_marks.nz = 0;
    return e.overflow ? 0 : e.n;
  }
  if (g_v6_bad) return 0;
  if (nz == 0) {
    if (n == 0 && g_v6_n == 0) return 0;
    return sb_prefilter_build_sampled(prefixes, n, bits, sample, out, cap);
  }
  uint8_t is_len[SB_QF_MAX_ZONES][SB_QF_MAX_ORIGIN];
  unsigned names = 0;
  for (unsigned z = 0; z < nz; z++) {
    if (!origin_shape(&zones[z], is_len[z]) || !hashes_ok(&zones[z])) return 0;
    names += zones[z].nhashes;
  }
  if (names > SB_QF_MAX_NAMES) return 0;
  qasm *a = calloc(1, sizeof(*a));
  if (a == NULL) return 0;
  a->e.out = out;
  a->e.cap = cap;
  unsigned ACC = new_label(a), ACC_T = new_label(a), END = new_label(a), HASH = new_label(a),
           HASHED = new_label(a);
  unsigned CMP[SB_QF_MAX_ZONES], NEXT[SB_QF_MAX_ZONES], TREE[SB_QF_MAX_ZONES], MISS[SB_QF_MAX_ZONES];
  for (unsigned z = 0; z < nz; z++) {
    CMP[z] = new_label(a);
    NEXT[z] = new_label(a);
    TREE[z] = new_label(a);
    MISS[z] = new_label(a);
  }
  emitter *e = &a->e;
  /* The kernel's checker wants every scratch word written before any path reads it. */
  emit(e, BPF_LD | BPF_IMM, 0, 0, 0);
  for (unsigned m = 0; m < BPF_MEMWORDS; m++) emit(e, BPF_ST, 0, 0, m);
  /* The header: long enough for the first length octet, a query, one question. */
  emit(e, BPF_LD | BPF_W | BPF_LEN, 0, 0, 0);
  emit(e, BPF_ST, 0, 0, QF_M_LEN);
  jcond(a, BPF_JMP | BPF_JGE | BPF_K, QF_QNAME + 1, -1, (int)ACC_T);
  emit(e, BPF_LD | BPF_B | BPF_ABS, 0, 0, QF_MSG + 2);
  jcond(a, BPF_JMP | BPF_JSET | BPF_K, 0x80, (int)ACC_T, -1);
  emit(e, BPF_LD | BPF_H | BPF_ABS, 0, 0, QF_MSG + 4);
  jcond(a, BPF_JMP | BPF_JEQ | BPF_K, 1, -1, (int)ACC_T);
  emit(e, BPF_LDX | BPF_W | BPF_IMM, 0, 0, 0);
  /* The labels: X is the offset of the current length octet in the name. */
  for (unsigned j = 0; j < SB_QF_MAX_LABELS; j++) {
    emit(e, BPF_MISC | BPF_TXA, 0, 0, 0);
    emit(e, BPF_ST, 0, 0, QF_M_OFF + j);
    emit(e, BPF_ALU | BPF_ADD | BPF_K, 0, 0, QF_QNAME + 1);
    emit(e, BPF_MISC | BPF_TAX, 0, 0, 0);
    emit(e, BPF_LD | BPF_MEM, 0, 0, QF_M_LEN);
    jcond(a, BPF_JMP | BPF_JGE | BPF_X, 0, -1, (int)ACC_T); /* the length octet is inside */
    emit(e, BPF_LDX | BPF_MEM, 0, 0, QF_M_OFF + j);
    emit(e, BPF_LD | BPF_IMM, 0, 0, j);
    emit(e, BPF_ST, 0, 0, QF_M_LABELS);
    emit(e, BPF_LD | BPF_B | BPF_IND, 0, 0, QF_QNAME);
    jcond(a, BPF_JMP | BPF_JEQ | BPF_K, 0, (int)END, -1);
    jcond(a, BPF_JMP | BPF_JGE | BPF_K, 64, (int)ACC_T, -1); /* a pointer or a reserved type */
    emit(e, BPF_ALU | BPF_ADD | BPF_X, 0, 0, 0);
    emit(e, BPF_ALU | BPF_ADD | BPF_K, 0, 0, 1);
    emit(e, BPF_MISC | BPF_TAX, 0, 0, 0);
  }
  jalways(a, ACC); /* more labels than the program follows */
  place(a, ACC_T);
  jalways(a, ACC);
  /* The name's end: X at its root octet, M1 its labels. */
  place(a, END);
  emit(e, BPF_MISC | BPF_TXA, 0, 0, 0);
  emit(e, BPF_ALU | BPF_ADD | BPF_K, 0, 0, 1);
  emit(e, BPF_ST, 0, 0, QF_M_QLEN);
  for (unsigned z = 0; z < nz; z++) {
    const sb_qf_zone *zone = &zones[z];
    unsigned zc = zone->labels, m = SB_QF_MAX_LABELS - 1 - zc; /* label counts zc+1 .. MAX-1 */
    /* Where the zone would start: the offset of label (labels - zc), picked by a jump table. */
    emit(e, BPF_LD | BPF_MEM, 0, 0, QF_M_LABELS);
    for (unsigned i = 0; i < m; i++) emit(e, BPF_JMP | BPF_JEQ | BPF_K, (uint8_t)(m + i), 0, zc + 1 + i);
    jalways(a, NEXT[z]);
    for (unsigned i = 0; i < m; i++) {
      emit(e, BPF_LDX | BPF_MEM, 0, 0, QF_M_OFF + (zc + 1 + i) - zc);
      jalways(a, CMP[z]);
    }
    place(a, CMP[z]);
    emit(e, BPF_LD | BPF_MEM, 0, 0, QF_M_QLEN);
    emit(e, BPF_ALU | BPF_SUB | BPF_X, 0, 0, 0);
    jcond(a, BPF_JMP | BPF_JEQ | BPF_K, zone->origin_len, -1, (int)NEXT[z]);
    unsigned c = 0;
    while (c < zone->origin_len) {
      unsigned left = zone->origin_len - c, w = left >= 4 ? 4 : left >= 2 ? 2 : 1;
      uint32_t cm, cv;
      origin_chunk(zone, is_len[z], c, w, &cm, &cv);
      emit(e, BPF_LD | (w == 4 ? BPF_W : w == 2 ? BPF_H : BPF_B) | BPF_IND, 0, 0, QF_QNAME + c);
      emit(e, BPF_ALU | BPF_AND | BPF_K, 0, 0, cm);
      jcond(a, BPF_JMP | BPF_JEQ | BPF_K, cv, -1, (int)NEXT[z]);
      c += w;
    }
    /* Under the zone: the prefix is X octets; hash it. */
    emit(e, BPF_MISC | BPF_TXA, 0, 0, 0);
    emit(e, BPF_ST, 0, 0, QF_M_LABELS);
    emit(e, BPF_ST, 0, 0, QF_M_QLEN);
    emit(e, BPF_LD | BPF_IMM, 0, 0, z);
    emit(e, BPF_ST, 0, 0, QF_M_ZONE);
    jalways(a, HASH);
    place(a, NEXT[z]);
  }
  jalways(a, ACC); /* under none of the zones */
  place(a, HASH);
  for (unsigned i = 0; i < SB_QF_HASH_OCTETS / 4; i++) {
    emit(e, BPF_LD | BPF_MEM, 0, 0, QF_M_LABELS);
    jcond(a, BPF_JMP | BPF_JGT | BPF_K, 4 * i, -1, (int)HASHED);
    emit(e, BPF_LD | BPF_W | BPF_ABS, 0, 0, QF_QNAME + 4 * i);
    emit(e, BPF_ALU | BPF_OR | BPF_K, 0, 0, 0x20202020u);
    emit(e, BPF_MISC | BPF_TAX, 0, 0, 0);
    emit(e, BPF_LD | BPF_MEM, 0, 0, QF_M_QLEN);
    emit(e, BPF_ALU | BPF_MUL | BPF_K, 0, 0, QF_PRIME);
    emit(e, BPF_ALU | BPF_ADD | BPF_X, 0, 0, 0);
    emit(e, BPF_ST, 0, 0, QF_M_QLEN);
  }
  place(a, HASHED);
  emit(e, BPF_LD | BPF_MEM, 0, 0, QF_M_ZONE);
  for (unsigned z = 0; z + 1 < nz; z++) {
    emit(e, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, z);
    jalways(a, TREE[z]);
  }
  jalways(a, TREE[nz - 1]);
  for (unsigned z = 0; z < nz; z++) {
    const sb_qf_zone *zone = &zones[z];
    place(a, TREE[z]);
    emit(e, BPF_LD | BPF_MEM, 0, 0, QF_M_QLEN);
    /* A balanced search (jge over ja, as tree()) down to leaves of up to QF_LEAF compares:
     * found → ACC, else → MISS. Iterative over a small stack of ranges. */
    unsigned stack_lo[32], stack_hi[32], stack_ja[32];
    unsigned sp = 0;
    stack_lo[sp] = 0;
    stack_hi[sp] = zone->nhashes;
    stack_ja[sp] = ~0u;
    sp++;
    while (sp > 0 && !e->overflow) {
      sp--;
      unsigned lo = stack_lo[sp], hi = stack_hi[sp];
      if (stack_ja[sp] != ~0u) e->out[stack_ja[sp]].k = e->n - (stack_ja[sp] + 1);
      if (hi - lo <= QF_LEAF) {
        unsigned k = hi - lo;
        for (unsigned i = 0; i < k; i++)
          emit(e, BPF_JMP | BPF_JEQ | BPF_K, (uint8_t)(k - i), 0, zone->hashes[lo + i]);
        jalways(a, MISS[z]);
        jalways(a, ACC);
        continue;
      }
      /* Split at a whole number of full leaves (half of them, rounded up): leaves stay full. */
      unsigned leaves = (hi - lo + QF_LEAF - 1) / QF_LEAF;
      unsigned mid = lo + (leaves + 1) / 2 * QF_LEAF;
      emit(e, BPF_JMP | BPF_JGE | BPF_K, 0, 1, zone->hashes[mid]);
      unsigned ja = emit(e, BPF_JMP | BPF_JA, 0, 0, 0);
      if (sp + 2 > 32) {
        a->bad = 1;
        break;
      }
      /* Left half next (falls through from the jge), the right half after it (the ja's). */
      stack_lo[sp] = mid;
      stack_hi[sp] = hi;
      stack_ja[sp] = ja;
      sp++;
      stack_lo[sp] = lo;
      stack_hi[sp] = mid;
      stack_ja[sp] = ~0u;
      sp++;
    }
    place(a, MISS[z]);
    emit(e, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(SKF_AD_OFF + SKF_AD_RANDOM));
    emit(e, BPF_JMP | BPF_JGE | BPF_K, 1, 0, zone->admit);
    jalways(a, ACC);
    emit(e, BPF_RET | BPF_K, 0, 0, 0);
  }
  place(a, ACC);
  unsigned mask_at = 0;
  if (bridge != NULL)
    mask_at = bridge_part(e, prefixes, n, sample, bridge);
  else
    source_part(e, prefixes, n, mask, 0, sample);
  unsigned len = resolve_labels(a) && !e->overflow ? e->n : 0;
  /* lone24: where each zone's search lies, for the eBPF translation (prefilter_lone.c). */
  g_qf_marks.len = len;
  g_qf_marks.nz = nz;
  for (unsigned z = 0; z < nz && len > 0; z++) {
    g_qf_marks.tree_at[z] = a->label_at[TREE[z]];
    g_qf_marks.miss_at[z] = a->label_at[MISS[z]];
  }
  g_qf_marks.acc_at = len > 0 ? a->label_at[ACC] : 0;
  g_qf_marks.mask_at = mask_at;
  free(a);
  return len;
}

int sb_prefilter_attach(int fd, struct sock_filter *prog, unsigned len) {
  if (len == 0) {
    int unused = 0; /* the kernel wants an int-sized option value even here */
    if (setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof(unused)) == 0 || errno == ENOENT) return 0;
    return -1;
  }
  struct sock_fprog fp = {(unsigned short)len, prog};
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp));
}

int sb_prefilter_same(const sb_prefilter_last *last, const struct sock_filter *prog, unsigned len) {
  if (!last->valid || last->len != len) return 0;
  return len == 0 || memcmp(last->prog, prog, (size_t)len * sizeof(*prog)) == 0;
}

void sb_prefilter_note(sb_prefilter_last *last, const struct sock_filter *prog, unsigned len) {
  if (len > last->cap) {
    struct sock_filter *p = realloc(last->prog, (size_t)len * sizeof(*p));
    if (p == NULL) {
      last->valid = 0;
      return;
    }
    last->prog = p;
    last->cap = len;
  }
  if (len > 0) memcpy(last->prog, prog, (size_t)len * sizeof(*prog));
  last->len = len;
  last->valid = 1;
}

void sb_prefilter_forget(sb_prefilter_last *last) {
  free(last->prog);
  last->prog = NULL;
  last->len = last->cap = 0;
  last->valid = 0;
}

int sb_prefilter_attach_same(void) {
  static int v = -1;
  if (v < 0) {
    const char *e = getenv("SWITCHBOARD_PREFILTER_SAME");
    v = e != NULL && strcmp(e, "attach") == 0;
  }
  return v;
}
