/*
 * The shield's kernel prefilter (docs/SHIELD.md "Before the socket queue"): a classic BPF
 * program attached to a UDP socket (SO_ATTACH_FILTER: no privilege needed) that drops
 * datagrams from blocked IPv4 prefixes in the kernel, before they take a place in the socket's
 * receive queue — so a direct flood cannot crowd real resolvers out of a FIFO queue. IPv6
 * datagrams always pass (the native path sheds them itself).
 *
 * The program: the IP version nibble (not 4: accept), the source address masked to the
 * prefix length, then a balanced search over the sorted prefixes (jge and ja; classic BPF's
 * conditional jumps reach only 255 instructions, so each split is a jge over an unconditional
 * ja to the right half) ending in `ret 0` (drop) or `ret -1` (accept).
 */
#include "prefilter.h"

#include <errno.h>
#include <linux/filter.h>
#include <string.h>
#include <sys/socket.h>

typedef struct {
  struct sock_filter *out;
  unsigned cap, n;
  int overflow;
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

static void tree(emitter *e, const uint32_t *v, unsigned lo, unsigned hi) {
  if (hi - lo <= LEAF_MAX) {
    for (unsigned i = lo; i < hi; i++) {
      emit(e, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, v[i]);
      emit(e, BPF_RET | BPF_K, 0, 0, 0);
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

unsigned sb_prefilter_build(const uint32_t *prefixes, unsigned n, unsigned bits, struct sock_filter *out,
                            unsigned cap) {
  if (bits == 0 || bits > 32) return 0;
  for (unsigned i = 1; i < n; i++)
    if (prefixes[i] <= prefixes[i - 1]) return 0; /* sorted, no duplicates */
  uint32_t mask = bits == 32 ? 0xffffffffu : ~(0xffffffffu >> bits);
  emitter e = {out, cap, 0, 0};
  emit(&e, BPF_LD | BPF_B | BPF_ABS, 0, 0, (uint32_t)(SKF_NET_OFF + 0));
  emit(&e, BPF_ALU | BPF_RSH | BPF_K, 0, 0, 4);
  emit(&e, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 4);
  emit(&e, BPF_RET | BPF_K, 0, 0, 0xffffffffu);
  emit(&e, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)(SKF_NET_OFF + 12));
  emit(&e, BPF_ALU | BPF_AND | BPF_K, 0, 0, mask);
  tree(&e, prefixes, 0, n);
  return e.overflow ? 0 : e.n;
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
