/*
 * lone24 (docs/SHIELD.md "The bridge", "Quiet /24s through the bridge"): the bridge's UDP program
 * as an eBPF socket filter with per-/24 state, where the kernel allows it (bpf(2): CAP_BPF or
 * CAP_SYS_ADMIN). The classic program of sb_prefilter_build_bridge is translated instruction by
 * instruction (A in R0, X in R7, the context in R6, M[] on the stack, as the kernel's own
 * conversion), and its last step — the strangers' share, a random u32 under `share` — first asks
 * an LRU map of /24s: a /24 that has sent at most SB_LONE_PER_WIN datagrams in the current
 * SB_LONE_WIN_NS window, and is not hot, passes whole, within a budget of SB_LONE_BUDGET such
 * passes per window for the socket; a /24 that goes over turns hot for SB_LONE_HOT_NS (the share
 * only). So a resolver alone in its /24, first seen in the attack, is read from its first datagram,
 * while a bot /24 (hundreds of datagrams a second) passes at most SB_LONE_PER_WIN before its
 * share, and a flood from rotating /24s at most SB_LONE_BUDGET a window. Where bpf(2) is refused,
 * the classic program is attached as before.
 */
#include "prefilter.h"

#include <errno.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SO_ATTACH_BPF
#define SO_ATTACH_BPF 50
#endif

typedef struct {
  struct bpf_insn *out;
  unsigned cap, n;
  int bad;
} ebuf;

static void put(ebuf *b, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  if (b->n >= b->cap) {
    b->bad = 1;
    return;
  }
  struct bpf_insn *i = &b->out[b->n++];
  memset(i, 0, sizeof(*i));
  i->code = code;
  i->dst_reg = dst & 0xf;
  i->src_reg = src & 0xf;
  i->off = off;
  i->imm = imm;
}

#define RA BPF_REG_0
#define RX BPF_REG_7
#define RCTX BPF_REG_6
#define RNOW BPF_REG_8
#define RV BPF_REG_9
/* M[i] at fp - 4 * (i + 1); the lone check's key at fp - 72, its new value at fp - 96, the
 * budget's key at fp - 100; maps25: the /24 asked of the map of standing at fp - 116, the
 * params' key at fp - 120. */
#define M_OFF(i) ((int16_t)(-4 * ((int)(i) + 1)))
#define K_OFF (-72)
#define V_OFF (-96)
#define BK_OFF (-100)
/* The clearing before the source check: A, X, the 8 double words of M[], a jump. */
#define CLEAR_LEN 11
/* A zone's search as a lookup: the key (zone, hash) at fp - 112. */
#define LOOKUP_LEN 9
#define NK_OFF (-112)
#define GK_OFF (-116)
#define PK_OFF (-120)
/* maps25: the map of standing asked after the bridge's mask (the AND itself, then these). */
#define GOOD_LEN 10

static int lone_maps(int *lru, int *budget);

/* maps25: after the bridge's mask (A the source's /24), the /24 asked of the map of standing: found,
 * the datagram passes whole (as the classic program's search of standing); else A as it was. */
static void good_check(ebuf *b, int good) {
  put(b, BPF_STX | BPF_MEM | BPF_W, BPF_REG_10, RA, GK_OFF, 0);
  put(b, BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, good);
  put(b, 0, 0, 0, 0, 0);
  put(b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
  put(b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, GK_OFF);
  put(b, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
  put(b, BPF_JMP | BPF_JEQ | BPF_K, RA, 0, 2, 0); /* not found → reload A */
  put(b, BPF_ALU | BPF_MOV | BPF_K, RA, 0, 0, -1);
  put(b, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  put(b, BPF_LDX | BPF_MEM | BPF_W, RA, BPF_REG_10, GK_OFF, 0);
}

/* eBPF instructions one classic instruction becomes (fixed, so jumps can be placed first). */
static int width(const struct sock_filter *f, int lone) {
  uint16_t c = f->code;
  switch (BPF_CLASS(c)) {
  case BPF_LD:
    if (BPF_MODE(c) == BPF_ABS && f->k >= (uint32_t)SKF_AD_OFF)
      return lone ? -2 : 1; /* the random draw; -2: the lone check (sized by the caller) */
    if (BPF_MODE(c) == BPF_ABS || BPF_MODE(c) == BPF_IND || BPF_MODE(c) == BPF_MEM || BPF_MODE(c) == BPF_IMM ||
        BPF_MODE(c) == BPF_LEN)
      return 1;
    return -1;
  case BPF_LDX:
    if (BPF_MODE(c) == BPF_MEM || BPF_MODE(c) == BPF_IMM || BPF_MODE(c) == BPF_LEN) return 1;
    if (BPF_MODE(c) == BPF_MSH) return 6;
    return -1;
  case BPF_ST:
  case BPF_STX:
    return 1;
  case BPF_ALU:
    if (BPF_OP(c) == BPF_DIV || BPF_OP(c) == BPF_MOD) return -1; /* not generated */
    return 1;
  case BPF_JMP:
    return BPF_OP(c) == BPF_JA ? 1 : 2;
  case BPF_RET:
    return BPF_RVAL(c) == BPF_A ? 1 : 2;
  case BPF_MISC:
    return 1;
  }
  return -1;
}

/* The lone check in place of the share's random draw: R0 = 0 (under any share: passes) for a
 * quiet /24 within the budget, else a random u32 as before. maps25: first the share from the params
 * map into X (the compare after it reads X; nothing after it reads the classic X), `fallback` when
 * the slot cannot be read (an array's slot always can: the verifier wants the case). */
static void lone_check(ebuf *b, int lru, int budget, int params, uint32_t fallback, uint32_t per_win,
                       uint32_t budget_n, uint64_t win_ns, uint64_t hot_ns) {
  put(b, BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, PK_OFF, 0);
  put(b, BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, params);
  put(b, 0, 0, 0, 0, 0);
  put(b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
  put(b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, PK_OFF);
  put(b, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
  put(b, BPF_JMP | BPF_JEQ | BPF_K, RA, 0, 2, 0); /* → the fallback */
  put(b, BPF_LDX | BPF_MEM | BPF_W, RX, RA, 0, 0);
  put(b, BPF_JMP | BPF_JA, 0, 0, 1, 0);
  put(b, BPF_ALU | BPF_MOV | BPF_K, RX, 0, 0, (int32_t)fallback);
  /* The source's /24 as the key. */
  put(b, BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, (int32_t)(SKF_NET_OFF + 12));
  put(b, BPF_ALU | BPF_AND | BPF_K, RA, 0, 0, (int32_t)0xffffff00u);
  put(b, BPF_STX | BPF_MEM | BPF_W, BPF_REG_10, RA, K_OFF, 0);
  put(b, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ktime_get_ns);
  put(b, BPF_ALU64 | BPF_MOV | BPF_X, RNOW, RA, 0, 0);
  put(b, BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, lru);
  put(b, 0, 0, 0, 0, 0);
  put(b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
  put(b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, K_OFF);
  put(b, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
  /* Labels by fixed offsets below: keep the counts in step. */
  unsigned j_new = b->n;
  put(b, BPF_JMP | BPF_JEQ | BPF_K, RA, 0, 0, 0); /* → NEW */
  put(b, BPF_ALU64 | BPF_MOV | BPF_X, RV, RA, 0, 0);
  /* value: u64 window start, u64 hot until, u32 count, u32 spare */
  put(b, BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_1, RV, 8, 0);
  unsigned j_hot = b->n;
  put(b, BPF_JMP | BPF_JGT | BPF_X, BPF_REG_1, RNOW, 0, 0); /* hot until > now → RANDOM */
  put(b, BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_1, RV, 0, 0);
  put(b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, RNOW, 0, 0);
  put(b, BPF_ALU64 | BPF_SUB | BPF_X, BPF_REG_2, BPF_REG_1, 0, 0);
  put(b, BPF_LD | BPF_DW | BPF_IMM, BPF_REG_3, 0, 0, (int32_t)(uint32_t)win_ns);
  put(b, 0, 0, 0, 0, (int32_t)(uint32_t)(win_ns >> 32));
  unsigned j_reset = b->n;
  put(b, BPF_JMP | BPF_JGT | BPF_X, BPF_REG_2, BPF_REG_3, 0, 0); /* window over → RESET */
  put(b, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_1, RV, 16, 0);
  put(b, BPF_ALU | BPF_ADD | BPF_K, BPF_REG_1, 0, 0, 1);
  put(b, BPF_STX | BPF_MEM | BPF_W, RV, BPF_REG_1, 16, 0);
  unsigned j_ok = b->n;
  put(b, BPF_JMP | BPF_JLE | BPF_K, BPF_REG_1, 0, 0, (int32_t)per_win); /* → BUDGET */
  /* Over: hot from now. */
  put(b, BPF_LD | BPF_DW | BPF_IMM, BPF_REG_2, 0, 0, (int32_t)(uint32_t)hot_ns);
  put(b, 0, 0, 0, 0, (int32_t)(uint32_t)(hot_ns >> 32));
  put(b, BPF_ALU64 | BPF_ADD | BPF_X, BPF_REG_2, RNOW, 0, 0);
  put(b, BPF_STX | BPF_MEM | BPF_DW, RV, BPF_REG_2, 8, 0);
  unsigned j_rand1 = b->n;
  put(b, BPF_JMP | BPF_JA, 0, 0, 0, 0); /* → RANDOM */
  unsigned l_reset = b->n;
  put(b, BPF_STX | BPF_MEM | BPF_DW, RV, RNOW, 0, 0);
  put(b, BPF_ST | BPF_MEM | BPF_W, RV, 0, 16, 1);
  unsigned j_budget1 = b->n;
  put(b, BPF_JMP | BPF_JA, 0, 0, 0, 0); /* → BUDGET */
  unsigned l_new = b->n;
  put(b, BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, RNOW, V_OFF, 0);
  put(b, BPF_ST | BPF_MEM | BPF_DW, BPF_REG_10, 0, V_OFF + 8, 0);
  put(b, BPF_ST | BPF_MEM | BPF_DW, BPF_REG_10, 0, V_OFF + 16, 1);
  put(b, BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, lru);
  put(b, 0, 0, 0, 0, 0);
  put(b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
  put(b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, K_OFF);
  put(b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_10, 0, 0);
  put(b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_3, 0, 0, V_OFF);
  put(b, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, BPF_ANY);
  put(b, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_update_elem);
  unsigned l_budget = b->n;
  /* The socket's budget of such passes per window: one slot, same layout. */
  put(b, BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, BK_OFF, 0);
  put(b, BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, budget);
  put(b, 0, 0, 0, 0, 0);
  put(b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
  put(b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, BK_OFF);
  put(b, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
  unsigned j_rand2 = b->n;
  put(b, BPF_JMP | BPF_JEQ | BPF_K, RA, 0, 0, 0); /* → RANDOM */
  put(b, BPF_ALU64 | BPF_MOV | BPF_X, RV, RA, 0, 0);
  put(b, BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_1, RV, 0, 0);
  put(b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, RNOW, 0, 0);
  put(b, BPF_ALU64 | BPF_SUB | BPF_X, BPF_REG_2, BPF_REG_1, 0, 0);
  put(b, BPF_LD | BPF_DW | BPF_IMM, BPF_REG_3, 0, 0, (int32_t)(uint32_t)win_ns);
  put(b, 0, 0, 0, 0, (int32_t)(uint32_t)(win_ns >> 32));
  unsigned j_breset = b->n;
  put(b, BPF_JMP | BPF_JGT | BPF_X, BPF_REG_2, BPF_REG_3, 0, 0); /* → BRESET */
  put(b, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_1, RV, 16, 0);
  unsigned j_rand3 = b->n;
  put(b, BPF_JMP | BPF_JGE | BPF_K, BPF_REG_1, 0, 0, (int32_t)budget_n); /* spent → RANDOM */
  put(b, BPF_ALU | BPF_ADD | BPF_K, BPF_REG_1, 0, 0, 1);
  put(b, BPF_STX | BPF_MEM | BPF_W, RV, BPF_REG_1, 16, 0);
  unsigned j_pass1 = b->n;
  put(b, BPF_JMP | BPF_JA, 0, 0, 0, 0); /* → PASS */
  unsigned l_breset = b->n;
  put(b, BPF_STX | BPF_MEM | BPF_DW, RV, RNOW, 0, 0);
  put(b, BPF_ST | BPF_MEM | BPF_W, RV, 0, 16, 1);
  unsigned l_pass = b->n;
  put(b, BPF_ALU | BPF_MOV | BPF_K, RA, 0, 0, 0);
  unsigned j_end = b->n;
  put(b, BPF_JMP | BPF_JA, 0, 0, 0, 0); /* → END */
  unsigned l_random = b->n;
  put(b, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_get_prandom_u32);
  unsigned l_end = b->n;
  if (b->bad) return;
#define TO(at, label) b->out[at].off = (int16_t)((int)(label) - (int)(at) - 1)
  TO(j_new, l_new);
  TO(j_hot, l_random);
  TO(j_reset, l_reset);
  TO(j_ok, l_budget);
  TO(j_rand1, l_random);
  TO(j_budget1, l_budget);
  TO(j_rand2, l_random);
  TO(j_breset, l_breset);
  TO(j_rand3, l_random);
  TO(j_pass1, l_pass);
  TO(j_end, l_end);
#undef TO
  (void)l_pass;
}

/* The lone check's length (the caller places jumps before emitting it). */
static unsigned lone_len(void) {
  static unsigned n = 0;
  if (n == 0) {
    struct bpf_insn tmp[128];
    ebuf b = {tmp, 128, 0, 0};
    lone_check(&b, 0, 0, 0, 1, 1, 1, 1, 1);
    n = b.n;
  }
  return n;
}

/* Where instruction i lies in a zone's search: 0 outside, 1 its first (the lookup in its place), 2
 * inside (nothing emitted). */
static int in_search(const sb_qf_marks *m, unsigned i, unsigned *zone) {
  for (unsigned z = 0; m != NULL && z < m->nz; z++)
    if (i > m->tree_at[z] && i < m->miss_at[z]) {
      *zone = z;
      return i == m->tree_at[z] + 1 ? 1 : 2;
    }
  return 0;
}

unsigned sb_prefilter_lone_translate(const struct sock_filter *prog, unsigned len, unsigned share_at,
                                     const sb_lone_maps *maps, int names, const sb_qf_marks *marks,
                                     struct bpf_insn *out, unsigned cap) {
  if (len == 0 || share_at + 1 >= len || maps == NULL || marks == NULL) return 0;
  /* maps25: the bridge's mask (the map of standing asked after it) and the share's compare (its
   * constant replaced by the params map's). */
  unsigned mask_at = marks->mask_at;
  if (mask_at == 0 || mask_at >= share_at || prog[mask_at].code != (BPF_ALU | BPF_AND | BPF_K) ||
      prog[mask_at].k != 0xffffff00u || prog[share_at + 1].code != (BPF_JMP | BPF_JGE | BPF_K))
    return 0;
  uint32_t fallback = prog[share_at + 1].k != 0 ? prog[share_at + 1].k : 0xffffffffu / 16 + 1;
  /* A QNAME filter is translated only with its names in the map (the searches' verification is
   * what the map saves). */
  if (marks != NULL && (marks->len != len || (marks->nz > 0 && names < 0))) return 0;
  if (marks != NULL)
    for (unsigned z = 0; z < marks->nz; z++)
      if (marks->tree_at[z] + 1 >= marks->miss_at[z] || marks->miss_at[z] >= len || marks->acc_at >= len ||
          prog[marks->tree_at[z]].code != (BPF_LD | BPF_MEM))
        return 0;
  unsigned *at = malloc(((size_t)len + 1) * sizeof(unsigned));
  if (at == NULL) return 0;
  /* The source check's start (the last version-nibble load: the QNAME filter's ACC): every path of
   * the QNAME filter arrives there with A, X and M[] of its own, which the source check never reads.
   * They are cleared there, and the next instruction made a jump target, so that the verifier
   * finds one state and walks the source check once (not once per path of the QNAME filter:
   * 20 ms an attach with 1,000 names, against 1 without). */
  unsigned src_at = len;
  for (unsigned i = 0; i + 4 < len; i++)
    if (prog[i].code == (BPF_LD | BPF_B | BPF_ABS) && prog[i].k == (uint32_t)SKF_NET_OFF &&
        prog[i + 1].code == (BPF_ALU | BPF_RSH | BPF_K) && prog[i + 4].code == (BPF_LD | BPF_W | BPF_ABS) &&
        prog[i + 4].k == (uint32_t)(SKF_NET_OFF + 12))
      src_at = i;
  const unsigned head = 3;
  unsigned pos = head;
  for (unsigned i = 0; i < len; i++) {
    at[i] = pos;
    unsigned zone = 0;
    int ins = in_search(marks, i, &zone);
    if (ins) {
      pos += ins == 1 ? LOOKUP_LEN : 0;
      continue;
    }
    if (i == src_at) pos += CLEAR_LEN;
    if (i == mask_at) pos += GOOD_LEN;
    int w = width(&prog[i], i == share_at);
    if (w == -2) w = (int)lone_len();
    if (w < 0 || (i == share_at && prog[i].code != (BPF_LD | BPF_W | BPF_ABS))) {
      free(at);
      return 0;
    }
    pos += (unsigned)w;
  }
  at[len] = pos;
  ebuf b = {out, cap, 0, 0};
  put(&b, BPF_ALU64 | BPF_MOV | BPF_X, RCTX, BPF_REG_1, 0, 0);
  put(&b, BPF_ALU | BPF_MOV | BPF_K, RA, 0, 0, 0);
  put(&b, BPF_ALU | BPF_MOV | BPF_K, RX, 0, 0, 0);
  for (unsigned i = 0; i < len && !b.bad; i++) {
    const struct sock_filter *f = &prog[i];
    uint16_t c = f->code;
    unsigned zone = 0;
    int ins = in_search(marks, i, &zone);
    if (ins == 2) continue;
    if (ins == 1) {
      /* The zone's search: (zone, hash in A) looked up in the names map; found → the accept. */
      if (b.n != at[i]) {
        b.bad = 1;
        break;
      }
      put(&b, BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, NK_OFF, (int32_t)zone);
      put(&b, BPF_STX | BPF_MEM | BPF_W, BPF_REG_10, RA, NK_OFF + 4, 0);
      put(&b, BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, names);
      put(&b, 0, 0, 0, 0, 0);
      put(&b, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
      put(&b, BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, NK_OFF);
      put(&b, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
      put(&b, BPF_JMP | BPF_JNE | BPF_K, RA, 0, (int16_t)((int)at[marks->acc_at] - (int)b.n - 1), 0);
      put(&b, BPF_JMP | BPF_JA, 0, 0, (int16_t)((int)at[marks->miss_at[zone]] - (int)b.n - 1), 0);
      continue;
    }
    if (i == src_at) {
      put(&b, BPF_ALU | BPF_MOV | BPF_K, RA, 0, 0, 0);
      put(&b, BPF_ALU | BPF_MOV | BPF_K, RX, 0, 0, 0);
      for (int m = 0; m < 16; m += 2) put(&b, BPF_ST | BPF_MEM | BPF_DW, BPF_REG_10, 0, M_OFF(m + 1), 0);
      put(&b, BPF_JMP | BPF_JA, 0, 0, 0, 0); /* the next one a jump target */
    }
    if (b.n != at[i] + (i == src_at ? CLEAR_LEN : 0)) {
      b.bad = 1;
      break;
    }
#define JTO(target) ((int16_t)((int)at[(target)] - (int)b.n - 1))
    if (i == share_at + 1) {
      /* maps25: the share's compare against X, the params map's share (lone_check). */
      put(&b, BPF_JMP32 | BPF_JGE | BPF_X, RA, RX, JTO(i + 1 + f->jt), 0);
      put(&b, BPF_JMP | BPF_JA, 0, 0, JTO(i + 1 + f->jf), 0);
      continue;
    }
    switch (BPF_CLASS(c)) {
    case BPF_LD:
      if (BPF_MODE(c) == BPF_ABS && f->k >= (uint32_t)SKF_AD_OFF) {
        if (f->k != (uint32_t)(SKF_AD_OFF + SKF_AD_RANDOM)) b.bad = 1;
        else if (i == share_at)
          lone_check(&b, maps->lru, maps->budget, maps->params, fallback, SB_LONE_PER_WIN, SB_LONE_BUDGET,
                     SB_LONE_WIN_NS, SB_LONE_HOT_NS);
        else
          put(&b, BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_get_prandom_u32);
      } else if (BPF_MODE(c) == BPF_ABS) {
        put(&b, BPF_LD | BPF_ABS | BPF_SIZE(c), 0, 0, 0, (int32_t)f->k);
      } else if (BPF_MODE(c) == BPF_IND) {
        put(&b, BPF_LD | BPF_IND | BPF_SIZE(c), 0, RX, 0, (int32_t)f->k);
      } else if (BPF_MODE(c) == BPF_MEM) {
        put(&b, BPF_LDX | BPF_MEM | BPF_W, RA, BPF_REG_10, M_OFF(f->k), 0);
      } else if (BPF_MODE(c) == BPF_IMM) {
        put(&b, BPF_ALU | BPF_MOV | BPF_K, RA, 0, 0, (int32_t)f->k);
      } else { /* LEN */
        put(&b, BPF_LDX | BPF_MEM | BPF_W, RA, RCTX, (int16_t)offsetof(struct __sk_buff, len), 0);
      }
      break;
    case BPF_LDX:
      if (BPF_MODE(c) == BPF_MEM) {
        put(&b, BPF_LDX | BPF_MEM | BPF_W, RX, BPF_REG_10, M_OFF(f->k), 0);
      } else if (BPF_MODE(c) == BPF_IMM) {
        put(&b, BPF_ALU | BPF_MOV | BPF_K, RX, 0, 0, (int32_t)f->k);
      } else if (BPF_MODE(c) == BPF_LEN) {
        put(&b, BPF_LDX | BPF_MEM | BPF_W, RX, RCTX, (int16_t)offsetof(struct __sk_buff, len), 0);
      } else { /* MSH: X = 4 * (P[k] & 0xf), A kept */
        put(&b, BPF_ALU64 | BPF_MOV | BPF_X, RNOW, RA, 0, 0);
        put(&b, BPF_LD | BPF_ABS | BPF_B, 0, 0, 0, (int32_t)f->k);
        put(&b, BPF_ALU | BPF_AND | BPF_K, RA, 0, 0, 0xf);
        put(&b, BPF_ALU | BPF_LSH | BPF_K, RA, 0, 0, 2);
        put(&b, BPF_ALU | BPF_MOV | BPF_X, RX, RA, 0, 0);
        put(&b, BPF_ALU | BPF_MOV | BPF_X, RA, RNOW, 0, 0);
      }
      break;
    case BPF_ST:
      put(&b, BPF_STX | BPF_MEM | BPF_W, BPF_REG_10, RA, M_OFF(f->k), 0);
      break;
    case BPF_STX:
      put(&b, BPF_STX | BPF_MEM | BPF_W, BPF_REG_10, RX, M_OFF(f->k), 0);
      break;
    case BPF_ALU:
      if (BPF_OP(c) == BPF_NEG)
        put(&b, BPF_ALU | BPF_NEG, RA, 0, 0, 0);
      else if (BPF_SRC(c) == BPF_X)
        put(&b, BPF_ALU | BPF_OP(c) | BPF_X, RA, RX, 0, 0);
      else
        put(&b, BPF_ALU | BPF_OP(c) | BPF_K, RA, 0, 0, (int32_t)f->k);
      break;
    case BPF_JMP:
      if (BPF_OP(c) == BPF_JA) {
        put(&b, BPF_JMP | BPF_JA, 0, 0, JTO(i + 1 + f->k), 0);
      } else {
        unsigned t = i + 1 + f->jt, e = i + 1 + f->jf;
        if (t > len || e > len) {
          b.bad = 1;
          break;
        }
        if (BPF_SRC(c) == BPF_X)
          put(&b, BPF_JMP32 | BPF_OP(c) | BPF_X, RA, RX, JTO(t), 0);
        else /* 64-bit compares where the constant is the same sign-extended (A's high half is 0) */
          put(&b, (f->k < 0x80000000u ? BPF_JMP : BPF_JMP32) | BPF_OP(c) | BPF_K, RA, 0, JTO(t), (int32_t)f->k);
        put(&b, BPF_JMP | BPF_JA, 0, 0, JTO(e), 0);
      }
      break;
    case BPF_RET:
      if (BPF_RVAL(c) == BPF_A) {
        put(&b, BPF_EXIT | BPF_JMP, 0, 0, 0, 0);
      } else {
        put(&b, BPF_ALU | BPF_MOV | BPF_K, RA, 0, 0, (int32_t)f->k);
        put(&b, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
      }
      break;
    case BPF_MISC:
      if (BPF_MISCOP(c) == BPF_TAX)
        put(&b, BPF_ALU | BPF_MOV | BPF_X, RX, RA, 0, 0);
      else
        put(&b, BPF_ALU | BPF_MOV | BPF_X, RA, RX, 0, 0);
      break;
    default:
      b.bad = 1;
    }
    if (i == mask_at) good_check(&b, maps->good);
#undef JTO
  }
  unsigned n = b.bad || b.n != at[len] ? 0 : b.n;
  free(at);
  return n;
}

static long sys_bpf(int cmd, union bpf_attr *attr) { return syscall(__NR_bpf, cmd, attr, sizeof(*attr)); }

/* The maps, made once per process: -1 when bpf(2) is refused (then never asked again). */
static int g_lru = -2, g_budget = -2;

static int lone_maps(int *lru, int *budget) {
  if (g_lru == -2) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.map_type = BPF_MAP_TYPE_LRU_HASH;
    a.key_size = 4;
    a.value_size = 24;
    a.max_entries = SB_LONE_MAP;
    g_lru = (int)sys_bpf(BPF_MAP_CREATE, &a);
    memset(&a, 0, sizeof(a));
    a.map_type = BPF_MAP_TYPE_ARRAY;
    a.key_size = 4;
    a.value_size = 24;
    a.max_entries = 1;
    g_budget = g_lru < 0 ? -1 : (int)sys_bpf(BPF_MAP_CREATE, &a);
    if (g_lru < 0 || g_budget < 0) {
      if (g_lru >= 0) close(g_lru);
      g_lru = g_budget = -1;
    }
  }
  *lru = g_lru;
  *budget = g_budget;
  return g_lru >= 0 ? 0 : -1;
}

/* maps25: the bridge's maps, per thread (the shield's): the share (an array of one slot) and the
 * /24s of standing (a hash of SB_LONE_GOOD_MAP), with what was last written to them, so that a
 * sync writes only what changed. -2: not made yet; -1: refused. */
static __thread int g_params = -2, g_good = -2;
static __thread uint32_t g_have[SB_LONE_GOOD_MAP];
static __thread unsigned g_nhave;
static __thread int g_have_valid; /* 0: the map's contents unknown (cleared before the next fill) */
static __thread uint32_t g_share_have;
static __thread int g_share_valid;
static uint64_t g_map_writes, g_map_ns;

static int bridge_maps(void) {
  if (g_params == -2) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.map_type = BPF_MAP_TYPE_ARRAY;
    a.key_size = 4;
    a.value_size = 8; /* u32 share, u32 spare */
    a.max_entries = 1;
    g_params = (int)sys_bpf(BPF_MAP_CREATE, &a);
    memset(&a, 0, sizeof(a));
    a.map_type = BPF_MAP_TYPE_HASH;
    a.key_size = 4;
    a.value_size = 4;
    a.max_entries = SB_LONE_GOOD_MAP;
    g_good = g_params < 0 ? -1 : (int)sys_bpf(BPF_MAP_CREATE, &a);
    if (g_params < 0 || g_good < 0) {
      if (g_params >= 0) close(g_params);
      g_params = g_good = -1;
    }
    g_nhave = 0;
    g_have_valid = 1; /* empty */
    g_share_valid = 0;
  }
  return g_params >= 0 ? 0 : -1;
}

static int map_put(int fd, const void *key, const void *value) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_fd = (uint32_t)fd;
  a.key = (uint64_t)(uintptr_t)key;
  a.value = (uint64_t)(uintptr_t)value;
  a.flags = BPF_ANY;
  g_map_writes++;
  return sys_bpf(BPF_MAP_UPDATE_ELEM, &a) == 0 ? 0 : -1;
}

static int map_del(int fd, const void *key) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_fd = (uint32_t)fd;
  a.key = (uint64_t)(uintptr_t)key;
  g_map_writes++;
  return sys_bpf(BPF_MAP_DELETE_ELEM, &a) == 0 || errno == ENOENT ? 0 : -1;
}

/* Empties the map of standing (its contents unknown after a failed write): bounded by its size. */
static int good_clear(void) {
  for (unsigned i = 0; i <= SB_LONE_GOOD_MAP + 1; i++) {
    uint32_t key;
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.map_fd = (uint32_t)g_good;
    a.key = 0; /* NULL: the first key */
    a.next_key = (uint64_t)(uintptr_t)&key;
    if (sys_bpf(BPF_MAP_GET_NEXT_KEY, &a) != 0) return errno == ENOENT ? 0 : -1;
    if (map_del(g_good, &key) != 0) return -1;
  }
  return -1;
}

static int sync_maps(const sb_bridge *b) {
  if (b->ngood > SB_LONE_GOOD_MAP) return -1;
  if (!g_share_valid || g_share_have != b->share) {
    uint32_t v[2] = {b->share, 0}, k = 0;
    g_share_valid = 0;
    if (map_put(g_params, &k, v) != 0) return -1;
    g_share_have = b->share;
    g_share_valid = 1;
  }
  if (!g_have_valid) {
    if (good_clear() != 0) return -1;
    g_nhave = 0;
    g_have_valid = 1;
  }
  /* Both sorted: a merge — gone from the bridge: deleted; new in it: written. */
  unsigned i = 0, j = 0;
  uint32_t one = 1;
  g_have_valid = 0; /* until the walk is through */
  while (i < g_nhave || j < b->ngood) {
    if (j >= b->ngood || (i < g_nhave && g_have[i] < b->good[j])) {
      uint32_t key = g_have[i++];
      if (map_del(g_good, &key) != 0) return -1;
    } else if (i >= g_nhave || b->good[j] < g_have[i]) {
      uint32_t key = b->good[j++];
      if (map_put(g_good, &key, &one) != 0) return -1;
    } else {
      i++;
      j++;
    }
  }
  if (b->ngood > 0) memcpy(g_have, b->good, (size_t)b->ngood * sizeof(uint32_t));
  g_nhave = b->ngood;
  g_have_valid = 1;
  return 0;
}

int sb_prefilter_lone_sync(const sb_bridge *bridge) {
  if (!sb_prefilter_lone_enabled() || bridge == NULL) return -1;
  int lru, budget;
  if (lone_maps(&lru, &budget) != 0 || bridge_maps() != 0) return -1;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int r = sync_maps(bridge);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  g_map_ns += (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
  return r;
}

static uint64_t g_maps_only, g_deferred;

void sb_prefilter_lone_tally(unsigned maps_only, unsigned deferred) {
  g_maps_only += maps_only;
  g_deferred += deferred;
}

void sb_prefilter_lone_tallies(uint64_t *maps_only, uint64_t *deferred) {
  *maps_only = g_maps_only;
  *deferred = g_deferred;
}

void sb_prefilter_lone_map_counts(uint64_t *writes, uint64_t *ns) {
  *writes = g_map_writes;
  *ns = g_map_ns;
}

int sb_prefilter_lone_occupancy(unsigned *entries, unsigned *hot) {
  *entries = *hot = 0;
  if (g_lru < 0) return -1;
  /* value: u64 window start, u64 hot until, u32 count, u32 spare (lone_check) */
  static __thread uint32_t keys[SB_LONE_MAP];
  static __thread uint64_t vals[SB_LONE_MAP * 3];
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts); /* ktime_get_ns's clock */
  uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  uint32_t out_batch = 0;
  a.batch.in_batch = 0;
  a.batch.out_batch = (uint64_t)(uintptr_t)&out_batch;
  a.batch.keys = (uint64_t)(uintptr_t)keys;
  a.batch.values = (uint64_t)(uintptr_t)vals;
  a.batch.count = SB_LONE_MAP;
  a.batch.map_fd = (uint32_t)g_lru;
  unsigned n = 0;
  if (sys_bpf(BPF_MAP_LOOKUP_BATCH, &a) == 0 || errno == ENOENT) {
    n = a.batch.count; /* ENOENT: the whole map in this one batch */
  } else {
    /* No batch: a walk of the keys, each looked up (bounded by the map's size). */
    uint32_t key = 0, next;
    for (int first = 1; n < SB_LONE_MAP; first = 0) {
      memset(&a, 0, sizeof(a));
      a.map_fd = (uint32_t)g_lru;
      a.key = first ? 0 : (uint64_t)(uintptr_t)&key;
      a.next_key = (uint64_t)(uintptr_t)&next;
      if (sys_bpf(BPF_MAP_GET_NEXT_KEY, &a) != 0) break;
      key = next;
      memset(&a, 0, sizeof(a));
      a.map_fd = (uint32_t)g_lru;
      a.key = (uint64_t)(uintptr_t)&key;
      a.value = (uint64_t)(uintptr_t)&vals[n * 3];
      if (sys_bpf(BPF_MAP_LOOKUP_ELEM, &a) != 0) continue;
      n++;
    }
  }
  if (n > SB_LONE_MAP) n = SB_LONE_MAP;
  *entries = n;
  for (unsigned i = 0; i < n; i++)
    if (vals[i * 3 + 1] > now) (*hot)++;
  return 0;
}

double sb_prefilter_lone_gap_ms(void) {
  static double v = -1;
  if (v < 0) {
    const char *e = getenv("SWITCHBOARD_BRIDGE_LONE_GAP_MS");
    long n = e != NULL ? strtol(e, NULL, 10) : -1;
    v = n >= 0 && n <= 2000 ? (double)n : SB_LONE_GAP_MS;
  }
  return v;
}

int sb_prefilter_lone_enabled(void) {
  static int v = -1;
  if (v < 0) {
    const char *e = getenv("SWITCHBOARD_BRIDGE_LONE");
    v = !(e != NULL && strcmp(e, "off") == 0);
  }
  return v;
}

static uint64_t g_lone_attached, g_lone_refused, g_lone_ns;

void sb_prefilter_lone_counts(uint64_t *attached, uint64_t *refused, uint64_t *ns) {
  *attached = g_lone_attached;
  *refused = g_lone_refused;
  *ns = g_lone_ns;
}

static int attach_lone(int fd, const struct sock_filter *prog, unsigned len, unsigned share_at,
                       const sb_qf_zone *zones, unsigned nz);

int sb_prefilter_attach_lone(int fd, const struct sock_filter *prog, unsigned len, unsigned share_at,
                             const sb_qf_zone *zones, unsigned nz) {
  if (!sb_prefilter_lone_enabled()) return -1;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int r = attach_lone(fd, prog, len, share_at, zones, nz);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  g_lone_ns += (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
  if (r == 0) g_lone_attached++;
  else g_lone_refused++;
  return r;
}

/* The zones' names as a hash map of (zone, hash), made for one program (which holds it); -1 on failure. */
static int names_map(const sb_qf_zone *zones, unsigned nz) {
  unsigned total = 0;
  for (unsigned z = 0; z < nz; z++) total += zones[z].nhashes;
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_type = BPF_MAP_TYPE_HASH;
  a.key_size = 8;
  a.value_size = 4;
  a.max_entries = total > 0 ? total : 1;
  int fd = (int)sys_bpf(BPF_MAP_CREATE, &a);
  if (fd < 0 || total == 0) return fd;
  uint32_t *keys = malloc((size_t)total * 8), *vals = calloc(total, 4);
  if (keys == NULL || vals == NULL) {
    free(keys);
    free(vals);
    close(fd);
    return -1;
  }
  unsigned k = 0;
  for (unsigned z = 0; z < nz; z++)
    for (unsigned i = 0; i < zones[z].nhashes; i++) {
      keys[2 * k] = z;
      keys[2 * k + 1] = zones[z].hashes[i];
      k++;
    }
  memset(&a, 0, sizeof(a));
  a.batch.keys = (uint64_t)(uintptr_t)keys;
  a.batch.values = (uint64_t)(uintptr_t)vals;
  a.batch.count = total;
  a.batch.map_fd = (uint32_t)fd;
  int ok = sys_bpf(BPF_MAP_UPDATE_BATCH, &a) == 0 && a.batch.count == total;
  for (unsigned i = 0; !ok && i < total; i++) { /* no batch: one by one */
    memset(&a, 0, sizeof(a));
    a.map_fd = (uint32_t)fd;
    a.key = (uint64_t)(uintptr_t)&keys[2 * i];
    a.value = (uint64_t)(uintptr_t)&vals[i];
    if (sys_bpf(BPF_MAP_UPDATE_ELEM, &a) != 0) break;
    if (i + 1 == total) ok = 1;
  }
  free(keys);
  free(vals);
  if (!ok) {
    close(fd);
    return -1;
  }
  return fd;
}

/* The names map of the last program, kept while the zones' names stay the same (a rebuild for a
 * block or a join does not make and fill it again). */
static __thread int g_names_fd = -1;
static __thread uint64_t g_names_sig;

static uint64_t names_sig(const sb_qf_zone *zones, unsigned nz) {
  uint64_t h = 0xcbf29ce484222325ull ^ nz;
  for (unsigned z = 0; z < nz; z++) {
    h = (h ^ zones[z].nhashes) * 0x100000001b3ull;
    for (unsigned i = 0; i < zones[z].nhashes; i++) h = (h ^ zones[z].hashes[i]) * 0x100000001b3ull;
  }
  return h;
}

static int attach_lone(int fd, const struct sock_filter *prog, unsigned len, unsigned share_at,
                       const sb_qf_zone *zones, unsigned nz) {
  sb_lone_maps maps;
  if (lone_maps(&maps.lru, &maps.budget) != 0 || bridge_maps() != 0) return -1;
  maps.params = g_params;
  maps.good = g_good;
  const sb_qf_marks *marks = sb_prefilter_qf_marks();
  if (marks->len != len || marks->nz != nz) return -1; /* not the program just built */
  int names = -1;
  if (nz > 0) {
    uint64_t sig = names_sig(zones, nz);
    if (g_names_fd < 0 || sig != g_names_sig) {
      if (g_names_fd >= 0) close(g_names_fd);
      g_names_fd = names_map(zones, nz);
      g_names_sig = sig;
    }
    if (g_names_fd < 0) return -1;
    names = dup(g_names_fd); /* closed below as before; the cache keeps its own */
    if (names < 0) return -1;
  }
  unsigned cap = len * 6 + 256;
  struct bpf_insn *ins = malloc((size_t)cap * sizeof(*ins));
  if (ins == NULL) {
    if (names >= 0) close(names);
    return -1;
  }
  unsigned n = sb_prefilter_lone_translate(prog, len, share_at, &maps, names, marks, ins, cap);
  if (n == 0) {
    free(ins);
    if (names >= 0) close(names);
    return -1;
  }
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  a.insns = (uint64_t)(uintptr_t)ins;
  a.insn_cnt = n;
  a.license = (uint64_t)(uintptr_t) "UNLICENSED";
  int pfd = (int)sys_bpf(BPF_PROG_LOAD, &a);
  free(ins);
  if (names >= 0) close(names); /* the program holds it */
  if (pfd < 0) return -1;
  int r = setsockopt(fd, SOL_SOCKET, SO_ATTACH_BPF, &pfd, sizeof(pfd));
  close(pfd); /* the socket holds the program */
  return r;
}
