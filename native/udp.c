/*
 * Switchboard's native batched UDP socket (N-API, plain C).
 *
 * One socket per JS thread (one per cluster worker): bound with SO_REUSEPORT, registered with
 * the thread's own libuv loop through a uv_poll_t. When it turns readable the socket is drained
 * with recvmmsg(MSG_DONTWAIT) in batches of SB_BATCH, at most SB_WAKE_BATCHES batches per
 * wake-up (level-triggered: the loop calls again if more is queued). For every batch:
 *   1. each datagram is pre-parsed in C (preparse.c) and its descriptor filled in the input
 *      buffer shared with JS; the admission hook and the zone-image hook run (hooks.h);
 *   2. ONE call into JS with the number of descriptors; JS answers what it was handed and
 *      writes the answers into the output buffer, returning how many it wrote;
 *   3. one sendmmsg sends them (with the C hook's answers), each to its datagram's source and,
 *      on a wildcard socket, from the address the query was sent to (IP_PKTINFO).
 * No allocation per datagram; every offset coming from JS or the wire is checked.
 * The buffer layout is documented in docs/NATIVE.md and exported by layout().
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "hooks.h"
#include "mmap.h"
#include "prefilter.h"
#include "preparse.h"
#include "shield.h"
#include "standing.h"
#include "tcp_gate.h"
#include "tcp_serve.h"

int sb_image_define(napi_env env, napi_value exports);  /* image_napi.c */
int sb_shield_define(napi_env env, napi_value exports); /* shield_napi.c */

#define SB_BATCH 64
#define SB_MAX_TCP_FILTERED 8
/* The overload meter's allowance: a run of full batches this long (1,024 datagrams) read
 * without the socket running dry means the worker is behind (shield.c's overload meter). */
#define SB_MAX_BATCHES 16
/* Batches one wake-up reads at most before it returns to libuv: the TCP listener and its
 * connections run between wake-ups, so a quarter of the meter's allowance gives them four
 * turns where they had one while the UDP socket never runs dry (the drill at a worker's quota:
 * ~90 TCP queries a second answered, resolvers' TC=1 retries lost). */
#define SB_WAKE_BATCHES 4
/* onset3: a run of full wake-ups that spans this long (ms) is reported as behind even before it
 * reaches SB_MAX_BATCHES: the socket has not run dry for that long. A worker whose event loop turns
 * slowly (a quarter core, TCP work between wake-ups, other work on its CPU) read 250-700 datagrams
 * per 100 ms at the drill's wave 1 onset — four wake-ups of 256 took 150-400 ms, and until then it
 * was not "behind now" (the bots' /24s went uncounted, the TCP gate off). */
#define SB_BEHIND_SPAN_MS 20
#define SB_SLOT 4096
#define SB_IN_DESC_WORDS 16
#define SB_IN_DATA_OFF (SB_BATCH * SB_IN_DESC_WORDS * 4)
#define SB_IN_SIZE (SB_IN_DATA_OFF + SB_BATCH * SB_SLOT)
#define SB_OUT_DESC_WORDS 4
#define SB_OUT_DATA_OFF (SB_BATCH * SB_OUT_DESC_WORDS * 4)
#define SB_OUT_DATA_CAP (320 * 1024)
#define SB_OUT_SIZE (SB_OUT_DATA_OFF + SB_OUT_DATA_CAP)
/* Room for one datagram's control messages: IPv6 pktinfo (40) and a receive timestamp (32). */
#define SB_CTL 128
/* p99w1: each wake-up reads its oldest datagram's wait in the socket queue (its kernel receive
 * timestamp, SO_TIMESTAMPNS); SB_QDELAY_BEHIND_MS (shield.h) or more finds the worker behind now,
 * whatever its reads add up to. A worker held to a slice of a core turns its loop slowly and reads
 * a few batches a wake-up: the 16-batch run never adds up while its queue holds 100 ms of
 * datagrams (docs/SHIELD.md "Queue delay"). */
/* C answers of one batch are written one after another in an area of this size; when the next
 * one might not fit, those written so far are sent first (answers up to 65,507 octets fit). */
#define SB_C_AREA (SB_BATCH * SB_SLOT)
#define SB_C_MAX 65535

/* Verdicts written in descriptor word 15. */
#define SB_V_JS 0
#define SB_V_DROPPED 1
#define SB_V_ANSWERED 2

typedef struct sb_sock {
  napi_env env;
  int fd;
  int family;
  int pktinfo;
  int closed;       /* close() was called */
  int uv_closed;    /* every libuv handle's close callback ran (on_handle_closed) */
  int finalized;    /* the JS handle was collected */
  int in_callback;  /* inside the JS call of a batch */
  int release_pending; /* close() ran inside the JS call: release the references after it */
  uv_poll_t poll;
  /* own22: the idle clock (on_idle_clock); the libuv handles not closed yet (poll, clock). */
  uv_timer_t clock;
  int handles_open;
  uint64_t idle_clocks;
  napi_ref in_ref, out_ref, cb_ref;
  napi_async_context actx;
  uint8_t *in, *out;
  uint8_t *c_answers; /* SB_C_AREA octets, for sb_hook_answer */
  unsigned cur_n;     /* datagrams in the current batch */
  struct mmsghdr rmsg[SB_BATCH];
  struct iovec riov[SB_BATCH];
  struct sockaddr_storage raddr[SB_BATCH];
  uint8_t rctl[SB_BATCH][SB_CTL];
  uint8_t verdict[SB_BATCH];
  struct mmsghdr smsg[SB_BATCH];
  struct iovec siov[SB_BATCH];
  uint8_t sctl[SB_BATCH][SB_CTL];
  uint64_t received, dropped, truncated, answered_c, js_answers, sent, send_errors, recv_errors, batches,
      js_calls;
  sb_preparse pps[SB_BATCH]; /* the batch's pre-parses and shield verdicts (for RRL at send) */
  sb_verdict sv[SB_BATCH];
  double batch_now;  /* the batch's monotonic clock (ms), when the shield is on */
  uint64_t shield_dropped, shield_truncated, rrl_dropped, rrl_slipped, rrl_dropped_c;
  unsigned prefilter_version, prefilter_prefixes, prefilter_zones; /* the kernel filter on this socket */
  unsigned prefilter_prefixes6; /* ipv626: IPv6 /56s in it */
  uint64_t tcp_union_gen; /* the workers' union of blocked sets on the TCP listeners (standing.h); 0: none */
  uint64_t prefilter_updates, prefilter_errors;
  /* onset22: the programs last attached (the UDP socket's; the TCP listeners', one for all), and the
   * setsockopt calls made and spared (a rebuild that came out the same). */
  sb_prefilter_last udp_last, tcp_last;
  uint64_t prefilter_attaches, prefilter_same, prefilter_lone, lone_deferred;
  uint64_t lone_maps_only; /* maps25: bridge changes that only wrote the maps (the program the same) */
  double lone_at; /* lone24: when the eBPF bridge program was attached (0: a classic one is) */
  unsigned lone_nz;
  /* TCP listening sockets that carry the same filter (their own duplicates of the descriptors,
   * closed with this socket): a blocked /24's SYNs never take a place in the accept queue. */
  int tcp_fds[SB_MAX_TCP_FILTERED];
  unsigned ntcp;
  unsigned full_run; /* full batches read by consecutive full wake-ups (the overload meter's run) */
  double run_started; /* onset3: when (the batch clock, ms) the current run's first full wake-up read */
  uint64_t c_rcode[16]; /* C answers by header RCODE (for the DNS counters: JS never sees them) */
  uint64_t c_tc;        /* C answers with TC=1 */
  /* p99w1: receive timestamps on (SO_TIMESTAMPNS; 1 with SWITCHBOARD_QDELAY=on, else 0), 2 when they
   * also feed the overload meter (SWITCHBOARD_QDELAY=meter); the oldest datagram's wait in the
   * current wake-up (ms, -1: none read), the wake-ups found behind by it, the longest wait seen. */
  int tstamp;
  double wake_delay_ms, qdelay_max_ms;
  uint64_t qdelay_behind;
} sb_sock;

static napi_value throw_error(napi_env env, const char *code, const char *msg) {
  napi_throw_error(env, code, msg);
  return NULL;
}

#define CHECK(call)                                               \
  do {                                                            \
    if ((call) != napi_ok) return throw_error(env, NULL, #call); \
  } while (0)

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint32_t get32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

static void free_sock(sb_sock *s) {
  sb_prefilter_forget(&s->udp_last);
  sb_prefilter_forget(&s->tcp_last);
  free(s->c_answers);
  free(s);
}

/* Fills the pktinfo control message for a reply to datagram `idx`; returns its length or 0. */
static size_t reply_pktinfo(sb_sock *s, unsigned idx, uint8_t *ctl) {
  if (!s->pktinfo) return 0;
  struct msghdr *rh = &s->rmsg[idx].msg_hdr;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(rh); c != NULL; c = CMSG_NXTHDR(rh, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
        c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
      struct in_pktinfo got, put;
      memcpy(&got, CMSG_DATA(c), sizeof(got));
      memset(&put, 0, sizeof(put));
      /* ip(7): on receipt ipi_spec_dst is the local address of the packet (the one to answer
       * from) and ipi_addr its header destination (which may be a broadcast or multicast
       * address); on sending, ipi_spec_dst sets the source. Interface left to routing. */
      put.ipi_spec_dst = got.ipi_spec_dst;
      memset(ctl, 0, CMSG_SPACE(sizeof(put)));
      struct cmsghdr *w = (struct cmsghdr *)ctl;
      w->cmsg_level = IPPROTO_IP;
      w->cmsg_type = IP_PKTINFO;
      w->cmsg_len = CMSG_LEN(sizeof(put));
      memcpy(CMSG_DATA(w), &put, sizeof(put));
      return CMSG_SPACE(sizeof(put));
    }
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
        c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
      struct in6_pktinfo got;
      memcpy(&got, CMSG_DATA(c), sizeof(got));
      memset(ctl, 0, CMSG_SPACE(sizeof(got)));
      struct cmsghdr *w = (struct cmsghdr *)ctl;
      w->cmsg_level = IPPROTO_IPV6;
      w->cmsg_type = IPV6_PKTINFO;
      w->cmsg_len = CMSG_LEN(sizeof(got));
      memcpy(CMSG_DATA(w), &got, sizeof(got));
      return CMSG_SPACE(sizeof(got));
    }
  }
  return 0;
}

/* Queues a reply to datagram `idx` at position `j` of the send array. */
static void queue_reply(sb_sock *s, unsigned j, unsigned idx, uint8_t *data, size_t len) {
  struct msghdr *h = &s->smsg[j].msg_hdr;
  memset(h, 0, sizeof(*h));
  s->siov[j].iov_base = data;
  s->siov[j].iov_len = len;
  h->msg_iov = &s->siov[j];
  h->msg_iovlen = 1;
  h->msg_name = &s->raddr[idx];
  h->msg_namelen = s->rmsg[idx].msg_hdr.msg_namelen;
  size_t cl = reply_pktinfo(s, idx, s->sctl[j]);
  if (cl > 0) {
    h->msg_control = s->sctl[j];
    h->msg_controllen = cl;
  }
}

/* Sends the first `n` queued replies; a failing one is skipped, EAGAIN drops the rest. */
static void send_queued(sb_sock *s, unsigned n) {
  unsigned done = 0;
  while (done < n) {
    int r = sendmmsg(s->fd, &s->smsg[done], n - done, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        s->send_errors += n - done;
        return;
      }
      s->send_errors++;
      done++;
      continue;
    }
    s->sent += (unsigned)r;
    done += (unsigned)r;
  }
}

/* Queues and sends the first `k` answers JS wrote in the output buffer (checked). */
static void send_js_answers(sb_sock *s, uint32_t k) {
  if (k > SB_BATCH) k = SB_BATCH;
  unsigned q = 0;
  size_t scratch = 0; /* octets used of the C answer area (free: the C answers were sent) */
  double now_ms = 0; /* read once, when the RRL's buckets are shared */
  for (uint32_t i = 0; i < k; i++) {
    const uint8_t *d = s->out + (size_t)i * SB_OUT_DESC_WORDS * 4;
    uint32_t idx = get32(d), off = get32(d + 4), len = get32(d + 8);
    if (idx >= s->cur_n || s->verdict[idx] != SB_V_JS) continue;
    if (len == 0 || off > SB_OUT_DATA_CAP || len > SB_OUT_DATA_CAP - off) continue;
    uint8_t *ans = s->out + SB_OUT_DATA_OFF + off;
    sb_shield *sh = sb_shield_thread();
    if (sh != NULL) {
      const uint8_t *pkt = s->in + SB_IN_DATA_OFF + (size_t)idx * SB_SLOT;
      size_t plen = s->rmsg[idx].msg_len;
      /* RRL buckets shared by the workers are charged at the time of the send: JS may have taken
       * a while (another worker charging meanwhile at its own clock's time). Once per call. */
      if (sh->rrl.shared != NULL && now_ms == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        now_ms = (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
        if (now_ms < s->batch_now) now_ms = s->batch_now;
      }
      int r = sb_shield_after(sh, &s->pps[idx], pkt, &s->sv[idx], ans, len, now_ms != 0 ? now_ms : s->batch_now);
      if (r == SB_RRL_DROP) {
        s->rrl_dropped++;
        continue;
      }
      if (r == SB_RRL_SLIP) {
        /* The TC=1 reply is never longer than an answer that holds the question (and the OPT). */
        uint8_t tc[SB_SLOT + 11];
        size_t tl = sb_shield_write_slip(&s->pps[idx], pkt, plen, ans, tc, sizeof(tc));
        if (tl == 0 || tl > len) {
          s->rrl_dropped++;
          continue;
        }
        memcpy(ans, tc, tl);
        len = (uint32_t)tl;
        s->rrl_slipped++;
      }
      /* Our cookie, when the query sent one: the answer is copied where it can grow. */
      if (s->sv[idx].cookie_at >= 0 && SB_C_AREA - scratch >= (size_t)len + 28) {
        uint8_t *w = s->c_answers + scratch;
        memcpy(w, ans, len);
        size_t nl = sb_shield_add_cookie(sh, &s->sv[idx], pkt, w, len, len + 28, sb_shield_udp_limit(&s->pps[idx]));
        if (nl != len) {
          ans = w;
          len = (uint32_t)nl;
          scratch += (nl + 7) & ~(size_t)7;
        }
      }
    }
    queue_reply(s, q++, idx, ans, len);
  }
  s->js_answers += q;
  send_queued(s, q);
}

/* Source address into descriptor words 2..7; returns the port (0 when unknown). */
static uint32_t fill_source(sb_sock *s, unsigned i, uint8_t *d) {
  const struct sockaddr_storage *a = &s->raddr[i];
  memset(d + 8, 0, 24);
  if (a->ss_family == AF_INET && s->rmsg[i].msg_hdr.msg_namelen >= sizeof(struct sockaddr_in)) {
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)a;
    uint32_t port = ntohs(v4->sin_port);
    put32(d + 8, 4);
    put32(d + 12, port);
    memcpy(d + 16, &v4->sin_addr, 4);
    return port;
  }
  if (a->ss_family == AF_INET6 && s->rmsg[i].msg_hdr.msg_namelen >= sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)a;
    uint32_t port = ntohs(v6->sin6_port);
    put32(d + 8, 6);
    put32(d + 12, port);
    memcpy(d + 16, &v6->sin6_addr, 16);
    return port;
  }
  return 0;
}

static void release_refs(sb_sock *s);

/* Sends the first `n` queued C answers (send slots 0..n-1). */
static void send_c_answers(sb_sock *s, unsigned n) {
  if (n == 0) return;
  s->answered_c += n;
  send_queued(s, n);
}

/* Pre-parses and hooks a received batch of `n`, calls JS once, sends. */
static void process_batch(sb_sock *s, unsigned n) {
  napi_env env = s->env;
  unsigned for_js = 0, c_ans = 0;
  size_t c_used = 0;
  s->cur_n = n;
  s->batches++;
  s->received += n;
  sb_shield *sh = sb_shield_thread();
  if (sh != NULL) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    s->batch_now = (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
    sb_shield_clock(sh, s->batch_now);
  }
  for (unsigned i = 0; i < n; i++) {
    uint8_t *d = s->in + (size_t)i * SB_IN_DESC_WORDS * 4;
    uint8_t *pkt = s->in + SB_IN_DATA_OFF + (size_t)i * SB_SLOT;
    size_t len = s->rmsg[i].msg_len;
    memset(d, 0, SB_IN_DESC_WORDS * 4);
    put32(d, (uint32_t)(SB_IN_DATA_OFF + (size_t)i * SB_SLOT));
    put32(d + 4, (uint32_t)len);
    uint32_t port = fill_source(s, i, d);
    s->verdict[i] = SB_V_DROPPED;
    if (s->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) {
      /* Larger than a slot (SB_SLOT): no DNS query needs that over UDP. */
      s->truncated++;
      put32(d + 60, SB_V_DROPPED);
      continue;
    }
    if (port == 0 || len > SB_SLOT) { /* port 0 cannot be answered: forged */
      s->dropped++;
      put32(d + 60, SB_V_DROPPED);
      continue;
    }
    sb_preparse pp;
    sb_preparse_packet(pkt, len, &pp);
    put32(d + 32, pp.status);
    put32(d + 36, pp.flags);
    put32(d + 40, pp.qname_len);
    put32(d + 44, pp.qtype);
    put32(d + 48, pp.qclass);
    put32(d + 52, pp.opt_size);
    put32(d + 56, (uint32_t)pp.edns_version | ((uint32_t)pp.label_count << 8) | ((uint32_t)pp.question_end << 16));
    if (sb_hook_admit(&pp, pkt, len, (const struct sockaddr *)&s->raddr[i]) != SB_ADMIT) {
      s->dropped++;
      put32(d + 60, SB_V_DROPPED);
      continue;
    }
    s->pps[i] = pp;
    if (sh != NULL) {
      int a = sb_shield_admit(sh, &pp, pkt, len, &s->raddr[i], s->batch_now, &s->sv[i]);
      if (a == SB_ADMIT_DROP) {
        s->dropped++;
        s->shield_dropped++;
        put32(d + 60, SB_V_DROPPED);
        continue;
      }
      if (a == SB_ADMIT_TRUNCATE || a == SB_ADMIT_FORMERR || a == SB_ADMIT_BADCOOKIE) {
        if (SB_C_AREA - c_used < SB_C_MAX) {
          send_c_answers(s, c_ans);
          c_ans = 0;
          c_used = 0;
        }
        uint8_t *tc = s->c_answers + c_used;
        unsigned rcode = a == SB_ADMIT_FORMERR ? 1 : a == SB_ADMIT_BADCOOKIE ? 23 : 0;
        size_t tl = sb_shield_write_reply(&pp, pkt, len, tc, SB_C_MAX, a == SB_ADMIT_TRUNCATE, rcode);
        if (tl > 0 && a != SB_ADMIT_FORMERR)
          tl = sb_shield_add_cookie(sh, &s->sv[i], pkt, tc, tl, SB_C_MAX, sb_shield_udp_limit(&pp));
        if (tl == 0) {
          s->dropped++;
          s->shield_dropped++;
          put32(d + 60, SB_V_DROPPED);
          continue;
        }
        s->verdict[i] = SB_V_ANSWERED;
        put32(d + 60, SB_V_ANSWERED);
        if (a == SB_ADMIT_TRUNCATE) {
          s->shield_truncated++;
          s->c_tc++;
        }
        s->c_rcode[rcode & 0x0f]++;
        queue_reply(s, c_ans++, i, tc, tl);
        c_used += (tl + 7) & ~(size_t)7;
        continue;
      }
    }
    if (pp.status == 0) {
      if (SB_C_AREA - c_used < SB_C_MAX) {
        /* The next answer might not fit: send the ones written so far, start the area over. */
        send_c_answers(s, c_ans);
        c_ans = 0;
        c_used = 0;
      }
      /* The images read here are installed and released only by imageInstall/imageRemove/
       * imageClear, which run on this same JS thread, never while this loop runs (the lazy
       * installs run inside onBatch, after this batch's C answers were copied and sent, and
       * no pointer into an image is kept across that call): an image cannot be released under
       * the answer (keep the batch loop on the JS thread). */
      uint8_t *ans = s->c_answers + c_used;
      size_t alen = sb_hook_answer(&pp, pkt, len, ans, SB_C_MAX);
      if (alen >= 12 && alen <= SB_C_MAX && sh != NULL) {
        int r = sb_shield_after(sh, &pp, pkt, &s->sv[i], ans, alen, s->batch_now);
        if (r == SB_RRL_DROP) {
          s->rrl_dropped++;
          s->rrl_dropped_c++;
          s->dropped++;
          put32(d + 60, SB_V_DROPPED);
          continue;
        }
        if (r == SB_RRL_SLIP) {
          size_t tl = sb_shield_write_slip(&pp, pkt, len, ans, ans, SB_C_MAX);
          s->rrl_slipped++;
          if (tl == 0) {
            s->dropped++;
            put32(d + 60, SB_V_DROPPED);
            continue;
          }
          alen = tl;
        }
      }
      if (alen >= 12 && alen <= SB_C_MAX && sh != NULL)
        alen = sb_shield_add_cookie(sh, &s->sv[i], pkt, ans, alen, SB_C_MAX, sb_shield_udp_limit(&pp));
      if (alen >= 12 && alen <= SB_C_MAX) {
        s->verdict[i] = SB_V_ANSWERED;
        put32(d + 60, SB_V_ANSWERED);
        s->c_rcode[ans[3] & 0x0F]++;
        if (ans[2] & 0x02) s->c_tc++;
        queue_reply(s, c_ans++, i, ans, alen);
        c_used += (alen + 7) & ~(size_t)7;
        continue;
      }
    }
    s->verdict[i] = SB_V_JS;
    put32(d + 60, SB_V_JS);
    for_js++;
  }
  send_c_answers(s, c_ans);
  if (for_js == 0) return;

  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, argv[1], result;
  if (napi_get_reference_value(env, s->cb_ref, &cb) != napi_ok || cb == NULL ||
      napi_get_global(env, &recv) != napi_ok || napi_create_uint32(env, n, &argv[0]) != napi_ok) {
    napi_close_handle_scope(env, scope);
    return;
  }
  s->js_calls++;
  s->in_callback = 1;
  napi_status st = napi_make_callback(env, s->actx, recv, cb, 1, argv, &result);
  s->in_callback = 0;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc); /* to process 'uncaughtException' */
  } else if (st == napi_ok && !s->closed) {
    uint32_t k = 0;
    if (napi_get_value_uint32(env, result, &k) == napi_ok) send_js_answers(s, k);
  }
  if (s->release_pending) {
    /* close() was called from inside onBatch: nothing more was sent; release now. */
    s->release_pending = 0;
    release_refs(s);
  }
  napi_close_handle_scope(env, scope);
}

/* How long (ms) the datagram of `m` waited between its arrival (SCM_TIMESTAMPNS, CLOCK_REALTIME)
 * and now; -1 without a timestamp. A clock step makes it wrong for one reading: clamped at 0. */
static double queue_wait_ms(struct msghdr *m) {
  if (m->msg_control == NULL || m->msg_controllen < sizeof(struct cmsghdr)) return -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS &&
        c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
      struct timespec at, now;
      memcpy(&at, CMSG_DATA(c), sizeof(at));
      clock_gettime(CLOCK_REALTIME, &now);
      double d = (double)(now.tv_sec - at.tv_sec) * 1000 + (double)(now.tv_nsec - at.tv_nsec) / 1e6;
      return d > 0 ? d : 0;
    }
  }
  return -1;
}

/* Drains the socket: at most SB_WAKE_BATCHES batches; returns how many full batches were read
 * (SB_WAKE_BATCHES: the queue may hold more, this wake-up did not empty it). */
static unsigned drain(sb_sock *s) {
  unsigned full = 0;
  int errors = 0;
  for (int b = 0; b < SB_WAKE_BATCHES && !s->closed;) {
    for (unsigned i = 0; i < SB_BATCH; i++) {
      struct msghdr *m = &s->rmsg[i].msg_hdr;
      s->riov[i].iov_base = s->in + SB_IN_DATA_OFF + (size_t)i * SB_SLOT;
      s->riov[i].iov_len = SB_SLOT;
      m->msg_iov = &s->riov[i];
      m->msg_iovlen = 1;
      m->msg_name = &s->raddr[i];
      m->msg_namelen = sizeof(s->raddr[i]);
      m->msg_control = s->pktinfo || s->tstamp ? s->rctl[i] : NULL;
      m->msg_controllen = s->pktinfo || s->tstamp ? SB_CTL : 0;
      m->msg_flags = 0;
      s->rmsg[i].msg_len = 0;
    }
    int r = recvmmsg(s->fd, s->rmsg, SB_BATCH, MSG_DONTWAIT, NULL);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return full;
      /* e.g. a queued ICMP error (ECONNREFUSED): counted, and the socket drained on. */
      s->recv_errors++;
      if (++errors > SB_BATCH) return full;
      continue;
    }
    if (r == 0) return full;
    if (s->tstamp && s->wake_delay_ms < 0) s->wake_delay_ms = queue_wait_ms(&s->rmsg[0].msg_hdr);
    process_batch(s, (unsigned)r);
    b++;
    if (r < SB_BATCH) return full;
    full++;
  }
  return full;
}

/* The kernel prefilter: the shield's blocked /24s, as a BPF program on this socket and on the
 * TCP listening sockets given to filterTcp (when the set changed since the last time). */
static double mono_ms(void);

static __thread struct sock_filter g_udp_prog[SB_QF_INSNS], g_tcp_prog[SB_PREFILTER_INSNS];

/* maps25: the bridge's program as eBPF, its share and /24s of standing in maps (prefilter.h). The maps
 * written first; then the program, built from the bridge without them, attached only when it differs
 * from the one on the socket (a block, the QNAME filter) — a rise of the share or a join is the same
 * program. 1: done (r set); 0: the classic program instead (bpf(2) refused, a map write failed, the
 * translation or the verifier refused); -1: a new program waits for SB_LONE_GAP_MS after the last. */
static int apply_bridge_lone(sb_sock *s, const uint32_t *pfx, unsigned np, const sb_qf_zone *zones, unsigned nz,
                             const sb_bridge *bridge, int *r) {
  if (sb_prefilter_lone_sync(bridge) != 0) return 0;
  sb_bridge mb = sb_prefilter_bridge_mapped(bridge);
  unsigned len = sb_prefilter_build_bridge(pfx, np, sb_shield_prefilter_sample(), zones, nz, &mb, g_udp_prog, SB_QF_INSNS);
  if (len < 4) return 0;
  if (s->lone_at > 0 && !sb_prefilter_attach_same() && sb_prefilter_same(&s->udp_last, g_udp_prog, len)) {
    s->prefilter_same++;
    s->lone_maps_only++;
    sb_prefilter_lone_tally(1, 0);
    *r = 0;
    return 1;
  }
  /* lone24: an eBPF program costs the verifier ~2 ms of CPU an attach (20 ms of a quarter core's wall
   * time), so while one is on the socket a new one waits until SB_LONE_GAP_MS after it — the QNAME
   * filter's entry excepted. Meanwhile a bot /24 found is hot in it (the share only), as before its
   * block; the maps (joins, the share) are current already. */
  if (s->lone_at > 0 && !(nz > 0 && s->lone_nz == 0) && mono_ms() - s->lone_at < sb_prefilter_lone_gap_ms()) {
    s->lone_deferred++;
    sb_prefilter_lone_tally(0, 1);
    return -1;
  }
  if (sb_prefilter_attach_lone(s->fd, g_udp_prog, len, len - 4, zones, nz) != 0) return 0;
  s->prefilter_lone++;
  s->prefilter_attaches++;
  s->lone_at = mono_ms();
  s->lone_nz = nz;
  sb_prefilter_note(&s->udp_last, g_udp_prog, len);
  *r = 0;
  return 1;
}

static void apply_prefilter(sb_sock *s) {
  const uint32_t *pfx;
  unsigned np;
  unsigned want = sb_shield_prefilter(&pfx, &np);
  if (s->closed) return;
  int own = want != s->prefilter_version;
  /* Several workers (standing.h): this worker's set written to the shared file when it changed,
   * and the TCP listeners — one listening socket shared by the workers — given the union of the
   * workers' sets (else the set of whichever worker wrote it last). */
  if (own) sb_standing_publish_blocks(pfx, np);
  const uint32_t *tpfx = pfx;
  unsigned tnp = np;
  uint64_t tgen = s->ntcp > 0 ? sb_standing_blocks_union(&tpfx, &tnp) : 0;
  int tcp = tgen != 0 ? tgen != s->tcp_union_gen : own;
  if (!own && !tcp) return;
  int r = 0;
  if (own) {
    /* The UDP socket's program: the QNAME filter of the attacked zones, then the source check; the
     * TCP listeners' the source check only (their packets carry no DNS message at that offset). */
    /* ipv626: the IPv6 /56s blocked (the same version), in the UDP program only. */
    const uint64_t *p6;
    unsigned n6;
    sb_shield_prefilter6(&p6, &n6);
    sb_prefilter_set_blocked6(p6, n6);
    const sb_qf_zone *zones;
    unsigned nz = sb_shield_prefilter_zones(&zones);
    unsigned ulen = 0;
    /* bridge21: while the bridge holds, the source check passes standing and a share of the rest. */
    const sb_bridge *bridge = sb_shield_prefilter_bridge();
    /* lone24/maps25: while the bridge holds, its program as eBPF where the kernel allows it. */
    int lone = bridge != NULL ? apply_bridge_lone(s, pfx, np, zones, nz, bridge, &r) : 0;
    if (lone < 0) {
      sb_prefilter_set_blocked6(NULL, 0);
      return;
    }
    if (!lone && (np > 0 || n6 > 0 || nz > 0 || bridge != NULL)) {
      /* expiry19: a sample of the blocked /24s' datagrams passes, read as evidence for renewal. */
      uint32_t sample = sb_shield_prefilter_sample();
      if (bridge != NULL) ulen = sb_prefilter_build_bridge(pfx, np, sample, zones, nz, bridge, g_udp_prog, SB_QF_INSNS);
      if (bridge != NULL && ulen == 0) s->prefilter_errors++; /* did not fit: the program without it */
      if (ulen == 0 && (np > 0 || n6 > 0 || nz > 0))
        ulen = sb_prefilter_build_qf(pfx, np, 24, sample, zones, nz, g_udp_prog, SB_QF_INSNS);
      if (ulen == 0 && nz > 0) {
        /* Did not fit: the source check alone (counted as an error). */
        s->prefilter_errors++;
        nz = 0;
        if (np > 0 || n6 > 0) ulen = sb_prefilter_build_sampled(pfx, np, 24, sample, g_udp_prog, SB_QF_INSNS);
      }
      if (ulen == 0 && (np > 0 || n6 > 0)) r = -1;
    }
    if (r == 0 && !lone) {
      /* onset22: the same program as the one on the socket is not attached again. */
      if (!sb_prefilter_attach_same() && sb_prefilter_same(&s->udp_last, g_udp_prog, ulen)) {
        s->prefilter_same++;
      } else {
        r = sb_prefilter_attach(s->fd, ulen ? g_udp_prog : NULL, ulen);
        s->lone_at = 0;
        s->prefilter_attaches++;
        if (r == 0) sb_prefilter_note(&s->udp_last, g_udp_prog, ulen);
        else s->udp_last.valid = 0;
      }
    }
    sb_prefilter_set_blocked6(NULL, 0); /* not in the TCP listeners' program */
    if (r == 0) {
      s->prefilter_prefixes = np;
      s->prefilter_prefixes6 = n6;
      s->prefilter_zones = nz;
    }
    s->prefilter_version = want;
  }
  if (tcp && r == 0) {
    unsigned tlen = 0;
    if (tnp > 0) {
      tlen = sb_prefilter_build(tpfx, tnp, 24, g_tcp_prog, SB_PREFILTER_INSNS);
      if (tlen == 0) r = -1;
    }
    if (r == 0 && !sb_prefilter_attach_same() && sb_prefilter_same(&s->tcp_last, g_tcp_prog, tlen)) {
      s->prefilter_same += s->ntcp;
    } else if (r == 0) {
      for (unsigned i = 0; i < s->ntcp && r == 0; i++) {
        r = sb_prefilter_attach(s->tcp_fds[i], tlen ? g_tcp_prog : NULL, tlen);
        s->prefilter_attaches++;
      }
      if (r == 0) sb_prefilter_note(&s->tcp_last, g_tcp_prog, tlen);
      else s->tcp_last.valid = 0;
    }
    s->tcp_union_gen = tgen;
  }
  if (r == 0) s->prefilter_updates++;
  else s->prefilter_errors++;
}

static void on_readable(uv_poll_t *h, int status, int events) {
  sb_sock *s = (sb_sock *)h->data;
  (void)events;
  if (s->closed) return;
  if (status < 0) {
    s->recv_errors++;
    return;
  }
  s->wake_delay_ms = -1;
  unsigned full = drain(s);
  if (s->wake_delay_ms > s->qdelay_max_ms) s->qdelay_max_ms = s->wake_delay_ms;
  /* The shield's overload meter: a wake-up that read its whole allowance of full batches left
   * datagrams waiting — the worker is behind. (A burst that one wake-up empties is not.) */
  sb_shield *sh = sb_shield_thread();
  if (sh != NULL) {
    /* The meter reads runs of SB_MAX_BATCHES: consecutive wake-ups that each read their whole
     * allowance add up, and a run is reported when it reaches SB_MAX_BATCHES full batches (behind)
     * or ends in a wake-up that emptied the socket (what one wake-up of SB_MAX_BATCHES read). */
    if (full == SB_WAKE_BATCHES && s->full_run == 0) s->run_started = s->batch_now;
    s->full_run += full;
    /* onset3: full wake-ups spanning SB_BEHIND_SPAN_MS — opt-in (SWITCHBOARD_BEHIND_SPAN=on): in
     * drill B5 a worker whose loop turned slowly at the baseline's start (~250 datagrams a turn,
     * all of what came) was called behind by it, sat at level 2 through the baseline, and the
     * `plain` resolvers earned no history (62.5% in wave 1). A slow turn is not a queue that
     * overflows; telling them apart needs the socket's drop count (SO_RXQ_OVFL), not done. */
    static int span_on = -1;
    if (span_on < 0) {
      const char *e = getenv("SWITCHBOARD_BEHIND_SPAN");
      span_on = e != NULL && strcmp(e, "on") == 0;
    }
    int span = span_on && !sh->onset3_off && full == SB_WAKE_BATCHES && s->full_run > full &&
               s->batch_now - s->run_started >= SB_BEHIND_SPAN_MS;
    /* Behind now only (the blocks' counts, the TCP gate), not a meter reading: the meter's level
     * (history earned only at level 0, strangers shed at 2) keeps its 16-batch runs. */
    if (span) sb_shield_behind(sh, s->batch_now);
    /* p99w1: the oldest datagram waited SB_QDELAY_BEHIND_MS or more: behind now (the TCP gate
     * pressed, the /24s' counts while behind), and with SWITCHBOARD_QDELAY=meter a full reading. */
    int waited = sb_shield_queue_wait(sh, s->wake_delay_ms, s->batch_now);
    if (waited) s->qdelay_behind++;
    if (s->full_run >= SB_MAX_BATCHES || full < SB_WAKE_BATCHES) {
      unsigned got = s->full_run >= SB_MAX_BATCHES ? SB_MAX_BATCHES : s->full_run;
      if (waited && s->tstamp == 2) got = SB_MAX_BATCHES;
      sb_shield_batch(sh, got, SB_MAX_BATCHES, s->batch_now);
      s->full_run = 0;
    }
  }
  apply_prefilter(s);
}

/* own22: an idle worker's clock. The shield's clock (blocks lifted or renewed at their end, the
 * bridge lifted, the QNAME filter's zones leaving it) runs with each batch read (process_batch),
 * and the socket's program is rebuilt after each wake-up (apply_prefilter): a socket that receives
 * nothing — its /24s blocked and the flood gone, or with SO_REUSEPORT a worker the remaining sources
 * do not hash to — kept its last program (and its share of the TCP listeners' union) until its next
 * datagram, which the program may itself drop. This timer runs both when no batch ran for
 * SB_IDLE_CLOCK_MS, once the socket has read a first batch (the shield's clock starts with its first
 * datagram: the bridge's warm-up counts from it). Unreferenced: it never keeps the loop alive. */
#define SB_IDLE_CLOCK_MS 200
static double mono_ms(void);

static void on_idle_clock(uv_timer_t *t) {
  sb_sock *s = (sb_sock *)t->data;
  if (s->closed || s->in_callback || s->batch_now <= 0) return;
  sb_shield *sh = sb_shield_thread();
  double now = mono_ms();
  if (sh == NULL || now - s->batch_now < SB_IDLE_CLOCK_MS) return;
  sb_shield_clock(sh, now);
  s->idle_clocks++;
  apply_prefilter(s);
}

/* A libuv handle of the socket closed: the descriptor closed with the poll's, the socket freed once
 * both are closed and the JS handle collected. */
static void on_handle_closed(sb_sock *s) {
  if (--s->handles_open > 0) return;
  s->uv_closed = 1;
  if (s->finalized) free_sock(s);
}

static void on_clock_closed(uv_handle_t *h) { on_handle_closed((sb_sock *)h->data); }

static void on_uv_closed(uv_handle_t *h) {
  sb_sock *s = (sb_sock *)h->data;
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  on_handle_closed(s);
}

static void release_refs(sb_sock *s) {
  napi_env env = s->env;
  if (s->cb_ref) napi_delete_reference(env, s->cb_ref);
  if (s->in_ref) napi_delete_reference(env, s->in_ref);
  if (s->out_ref) napi_delete_reference(env, s->out_ref);
  if (s->actx) napi_async_destroy(env, s->actx);
  s->cb_ref = s->in_ref = s->out_ref = NULL;
  s->actx = NULL;
}

static void do_close(sb_sock *s) {
  if (s->closed) return;
  s->closed = 1;
  for (unsigned i = 0; i < s->ntcp; i++) close(s->tcp_fds[i]);
  s->ntcp = 0;
  uv_poll_stop(&s->poll);
  uv_close((uv_handle_t *)&s->poll, on_uv_closed);
  if (s->handles_open > 1) {
    uv_timer_stop(&s->clock);
    uv_close((uv_handle_t *)&s->clock, on_clock_closed);
  }
}

static void finalize_sock(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  sb_sock *s = (sb_sock *)data;
  s->finalized = 1;
  /* Unclosed sockets keep serving until the process ends (the loop holds the poll). */
  if (s->closed && s->uv_closed) free_sock(s);
}

/* The environment is going away (process exit, a worker thread ending) with the socket open:
 * close the handle so the loop can close; the references die with the environment. */
static void cleanup_hook(void *arg) {
  sb_sock *s = (sb_sock *)arg;
  if (!s->closed) do_close(s); /* freed by whichever of on_uv_closed and the finalizer runs last */
}

static sb_sock *get_sock(napi_env env, napi_value v) {
  void *p = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return (sb_sock *)p;
}

static int set_int_opt(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof(value));
}

/*
 * An IPv6 address with an optional zone index (RFC 4007 §11: `fe80::1%eth0`, `fe80::1%2`):
 * returns 0 when `host` is not IPv6 at all; else 1, with a6 filled in (sin6_family AF_INET6),
 * or with sin6_family left 0 and an exception thrown when the zone names no interface here.
 */
static int parse_ipv6(napi_env env, const char *host, struct sockaddr_in6 *a6) {
  char addr[64];
  const char *pct = strchr(host, '%');
  size_t n = pct ? (size_t)(pct - host) : strlen(host);
  if (n >= sizeof(addr)) return 0;
  memcpy(addr, host, n);
  addr[n] = 0;
  if (inet_pton(AF_INET6, addr, &a6->sin6_addr) != 1) return 0;
  if (pct != NULL) {
    const char *zone = pct + 1;
    unsigned idx = 0;
    char *end = NULL;
    if (*zone >= '0' && *zone <= '9') {
      unsigned long v = strtoul(zone, &end, 10);
      if (*end == 0 && v > 0 && v <= 0xFFFFFFFFul) idx = (unsigned)v;
    } else if (*zone != 0) {
      idx = if_nametoindex(zone);
    }
    if (idx == 0) {
      char msg[160];
      snprintf(msg, sizeof(msg), "open: '%s': no network interface '%s' here for the IPv6 zone index", host,
               zone);
      napi_throw_error(env, "ERR_NATIVE_UDP_ARGS", msg);
      return 1;
    }
    a6->sin6_scope_id = idx;
  }
  a6->sin6_family = AF_INET6;
  return 1;
}

/*
 * open(host: string, port: number, recvBuf: number, sendBuf: number, callback: (n) => number)
 *   -> [handle, input: ArrayBuffer, output: ArrayBuffer, boundPort: number]
 * Throws an Error with code 'ERR_NATIVE_UDP_BIND' when the socket cannot be made or bound.
 */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) return throw_error(env, "ERR_NATIVE_UDP_ARGS", "open: 5 arguments expected");
  char host[64];
  size_t hl = 0;
  if (napi_get_value_string_utf8(env, argv[0], host, sizeof(host), &hl) != napi_ok || hl >= sizeof(host) - 1)
    return throw_error(env, "ERR_NATIVE_UDP_ARGS", "open: host must be a numeric address");
  uint32_t port = 0, rcv = 0, snd = 0;
  if (napi_get_value_uint32(env, argv[1], &port) != napi_ok || port > 65535 ||
      napi_get_value_uint32(env, argv[2], &rcv) != napi_ok || napi_get_value_uint32(env, argv[3], &snd) != napi_ok)
    return throw_error(env, "ERR_NATIVE_UDP_ARGS", "open: port and buffer sizes must be numbers");
  napi_valuetype t;
  CHECK(napi_typeof(env, argv[4], &t));
  if (t != napi_function) return throw_error(env, "ERR_NATIVE_UDP_ARGS", "open: callback must be a function");

  struct sockaddr_storage ss;
  socklen_t sl;
  int family, wildcard;
  memset(&ss, 0, sizeof(ss));
  struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    family = AF_INET;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    sl = sizeof(*a4);
    wildcard = a4->sin_addr.s_addr == htonl(INADDR_ANY);
  } else if (parse_ipv6(env, host, a6) != 0) {
    if (a6->sin6_family != AF_INET6) return NULL; /* an exception is pending */
    family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    sl = sizeof(*a6);
    wildcard = memcmp(&a6->sin6_addr, &in6addr_any, sizeof(in6addr_any)) == 0;
  } else {
    return throw_error(env, "ERR_NATIVE_UDP_ARGS", "open: host must be a numeric IPv4 or IPv6 address");
  }

  char msg[160];
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    snprintf(msg, sizeof(msg), "socket: %s", strerror(errno));
    return throw_error(env, "ERR_NATIVE_UDP_BIND", msg);
  }
  /* Each worker binds its own socket on the same address; the kernel spreads by 4-tuple hash. */
  if (set_int_opt(fd, SOL_SOCKET, SO_REUSEPORT, 1) != 0 ||
      (family == AF_INET6 && set_int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) != 0)) {
    snprintf(msg, sizeof(msg), "setsockopt: %s", strerror(errno));
    close(fd);
    return throw_error(env, "ERR_NATIVE_UDP_BIND", msg);
  }
  if (rcv > 0) set_int_opt(fd, SOL_SOCKET, SO_RCVBUF, (int)(rcv > 0x7fffffff ? 0x7fffffff : rcv));
  if (snd > 0) set_int_opt(fd, SOL_SOCKET, SO_SNDBUF, (int)(snd > 0x7fffffff ? 0x7fffffff : snd));
  int pktinfo = 0;
  if (wildcard) {
    /* Reply from the address that was queried (anycast, several addresses on one host). */
    if (family == AF_INET)
      pktinfo = set_int_opt(fd, IPPROTO_IP, IP_PKTINFO, 1) == 0;
    else
      pktinfo = set_int_opt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) == 0;
  }
  int tstamp = 0;
  {
    /* Opt-in (SWITCHBOARD_QDELAY=on|meter): on by default it found a worker held to a quarter core
     * "behind" at a drill's baseline start and the many-hosts rule blocked the resolvers' /24
     * (docs/SHIELD.md "Queue delay"). */
    const char *q = getenv("SWITCHBOARD_QDELAY");
    int want = q == NULL ? 0 : strcmp(q, "meter") == 0 ? 2 : strcmp(q, "on") == 0 ? 1 : 0;
    if (want > 0) tstamp = set_int_opt(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1) == 0 ? want : 0;
  }
  if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
    snprintf(msg, sizeof(msg), "bind: %s", strerror(errno));
    close(fd);
    return throw_error(env, "ERR_NATIVE_UDP_BIND", msg);
  }
  struct sockaddr_storage bound;
  socklen_t bl = sizeof(bound);
  uint32_t bound_port = port;
  if (getsockname(fd, (struct sockaddr *)&bound, &bl) == 0)
    bound_port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                         : ((struct sockaddr_in6 *)&bound)->sin6_port);

  sb_sock *s = (sb_sock *)calloc(1, sizeof(sb_sock));
  uint8_t *c_answers = (uint8_t *)malloc((size_t)SB_C_AREA);
  if (s == NULL || c_answers == NULL) {
    free(s);
    free(c_answers);
    close(fd);
    return throw_error(env, "ERR_NATIVE_UDP_BIND", "out of memory");
  }
  s->env = env;
  s->fd = fd;
  s->family = family;
  s->pktinfo = pktinfo;
  s->tstamp = tstamp;
  s->wake_delay_ms = -1;
  s->c_answers = c_answers;

  napi_value in_ab, out_ab, handle, name, result, port_v;
  void *in_data = NULL, *out_data = NULL;
  uv_loop_t *loop = NULL;
  if (napi_create_arraybuffer(env, SB_IN_SIZE, &in_data, &in_ab) != napi_ok ||
      napi_create_arraybuffer(env, SB_OUT_SIZE, &out_data, &out_ab) != napi_ok ||
      napi_create_reference(env, in_ab, 1, &s->in_ref) != napi_ok ||
      napi_create_reference(env, out_ab, 1, &s->out_ref) != napi_ok ||
      napi_create_reference(env, argv[4], 1, &s->cb_ref) != napi_ok ||
      napi_create_string_utf8(env, "switchboard:native-udp", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &s->actx) != napi_ok || napi_get_uv_event_loop(env, &loop) != napi_ok ||
      uv_poll_init(loop, &s->poll, fd) != 0) {
    release_refs(s);
    close(fd);
    free_sock(s);
    return throw_error(env, "ERR_NATIVE_UDP_BIND", "cannot set up the socket with N-API/libuv");
  }
  s->in = (uint8_t *)in_data;
  s->out = (uint8_t *)out_data;
  s->poll.data = s;
  s->handles_open = 1;
  if (uv_poll_start(&s->poll, UV_READABLE, on_readable) != 0) {
    release_refs(s);
    uv_close((uv_handle_t *)&s->poll, on_uv_closed);
    s->finalized = 1; /* freed by on_uv_closed */
    return throw_error(env, "ERR_NATIVE_UDP_BIND", "uv_poll_start failed");
  }
  /* own22: the idle clock (without it the socket works as before: only its clock stands still). */
  if (uv_timer_init(loop, &s->clock) == 0) {
    s->clock.data = s;
    s->handles_open = 2;
    uv_timer_start(&s->clock, on_idle_clock, SB_IDLE_CLOCK_MS, SB_IDLE_CLOCK_MS);
    uv_unref((uv_handle_t *)&s->clock);
  }
  napi_add_env_cleanup_hook(env, cleanup_hook, s);
  CHECK(napi_create_external(env, s, finalize_sock, NULL, &handle));
  CHECK(napi_create_uint32(env, bound_port, &port_v));
  CHECK(napi_create_array_with_length(env, 4, &result));
  CHECK(napi_set_element(env, result, 0, handle));
  CHECK(napi_set_element(env, result, 1, in_ab));
  CHECK(napi_set_element(env, result, 2, out_ab));
  CHECK(napi_set_element(env, result, 3, port_v));
  return result;
}

/* flush(handle, k): sends the first k answers now (JS calls it when the output buffer is full). */
static napi_value js_flush(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sb_sock *s = argc >= 1 ? get_sock(env, argv[0]) : NULL;
  uint32_t k = 0;
  if (s == NULL || argc < 2 || napi_get_value_uint32(env, argv[1], &k) != napi_ok)
    return throw_error(env, "ERR_NATIVE_UDP_ARGS", "flush(handle, count)");
  if (s->in_callback && !s->closed) send_js_answers(s, k);
  return NULL;
}

/* close(handle): stops polling and closes the socket (idempotent). */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sb_sock *s = argc >= 1 ? get_sock(env, argv[0]) : NULL;
  if (s == NULL) return throw_error(env, "ERR_NATIVE_UDP_ARGS", "close(handle)");
  if (!s->closed) {
    napi_remove_env_cleanup_hook(env, cleanup_hook, s);
    /* Inside onBatch the async context and callback are in use: released when it returns. */
    if (s->in_callback)
      s->release_pending = 1;
    else
      release_refs(s);
    do_close(s);
  }
  return NULL;
}

/* filterTcp(handle, fd): the TCP listening socket `fd` (a descriptor of this process) carries
 * this socket's prefilter from now on. The socket is duplicated (F_DUPFD_CLOEXEC) and the
 * duplicate closed with this socket, so a number reused after the TCP listener closed is never
 * touched. Returns false when it cannot be taken (not a socket, or SB_MAX_TCP_FILTERED already). */
static napi_value js_filter_tcp(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sb_sock *s = argc >= 1 ? get_sock(env, argv[0]) : NULL;
  int32_t fd = -1;
  if (s == NULL || argc < 2 || napi_get_value_int32(env, argv[1], &fd) != napi_ok || fd < 0)
    return throw_error(env, "ERR_NATIVE_UDP_ARGS", "filterTcp(handle, fd)");
  int ok = 0;
  if (!s->closed && s->ntcp < SB_MAX_TCP_FILTERED) {
    int type = 0;
    socklen_t tl = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM) {
      int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
      if (d >= 0) {
        s->tcp_fds[s->ntcp++] = d;
        s->prefilter_version = 0; /* attach the current set to it at the next wake-up */
        s->tcp_union_gen = 0;
        s->tcp_last.valid = 0; /* the new listener has no program yet */
        ok = 1;
      }
    }
  }
  napi_value b;
  CHECK(napi_get_boolean(env, ok, &b));
  return b;
}

/* Connections acceptTcp takes at most per call. */
#define SB_ACCEPT_MAX 256
/* The strangers' budget and hold time of the C decision until a listener sets its own
 * (tcpGateConfigure: src/transport/tcp.ts's STRANGERS_PER_SECOND and
 * STRANGERS_PER_BLOCK_PER_SECOND or the listener's options); the hold time is tcp.ts's
 * PRESSURE_FIRST_QUERY_MS. */
#define SB_TCP_STRANGERS_PER_SECOND 64
#define SB_TCP_STRANGERS_PER_BLOCK 8
#define SB_TCP_HOLD_MS 1000

/* The accept decision of this thread's batch accept (tcp_gate.h): allocated at its first use,
 * its held connections closed and the table freed when the environment goes. */
static __thread sb_tcp_gate *g_tcp_gate = NULL;

static void tcp_gate_cleanup(void *arg) {
  (void)arg;
  if (g_tcp_gate == NULL) return;
  sb_tcp_gate_close_all(g_tcp_gate);
  free(g_tcp_gate);
  g_tcp_gate = NULL;
}

/* This thread's gate, made at its first use (acceptTcp with counts, tcpJudge); NULL, or why not. */
static const char *tcp_gate_make(napi_env env) {
  if (g_tcp_gate != NULL) return NULL;
  g_tcp_gate = malloc(sizeof(sb_tcp_gate));
  if (g_tcp_gate == NULL) return "TCP gate: no memory";
  sb_tcp_gate_init(g_tcp_gate, SB_TCP_STRANGERS_PER_SECOND, SB_TCP_STRANGERS_PER_BLOCK, SB_TCP_HOLD_MS);
  /* With the workers' shared file (standing.h) the strangers' budget is the server's, one unit for
   * all workers; without it (-1) this thread's own. */
  g_tcp_gate->shared_take = sb_standing_tcp_take;
  if (napi_add_env_cleanup_hook(env, tcp_gate_cleanup, NULL) != napi_ok) {
    free(g_tcp_gate);
    g_tcp_gate = NULL;
    return "TCP gate: no cleanup hook";
  }
  return NULL;
}

static double mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

/* The connection's address as octets (4 or 16) and its text and port; 0 when not IP. */
static int peer_of(const struct sockaddr_storage *ss, socklen_t sl, uint8_t oct[16], size_t *olen, char *text,
                   size_t tcap, int *port) {
  if (ss->ss_family == AF_INET && sl >= (socklen_t)sizeof(struct sockaddr_in)) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    memcpy(oct, &a->sin_addr, 4);
    *olen = 4;
    if (text != NULL && inet_ntop(AF_INET, &a->sin_addr, text, (socklen_t)tcap) == NULL) return 0;
    *port = ntohs(a->sin_port);
    return 1;
  }
  if (ss->ss_family == AF_INET6 && sl >= (socklen_t)sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    memcpy(oct, &a->sin6_addr, 16);
    *olen = 16;
    if (text != NULL && inet_ntop(AF_INET6, &a->sin6_addr, text, (socklen_t)tcap) == NULL) return 0;
    *port = ntohs(a->sin6_port);
    return 1;
  }
  return 0;
}

/* The verdict for a connection from `oct` (tcp_gate.h) from this thread's shield: its /24 in the
 * blocked set (the shield on, the prefilter's set), or a stranger under pressure
 * (sb_shield_tcp_admit), within the strangers' budget or not. SB_TCP_SERVE without a shield. */
static int judge_connection(sb_tcp_gate *g, const uint8_t *oct, size_t olen, double now) {
  const uint32_t *pfx = NULL;
  unsigned np = 0;
  (void)sb_shield_prefilter(&pfx, &np);
  /* With several workers the union of their sets (standing.h): the listening socket is shared. */
  if (sb_shield_thread() != NULL) (void)sb_standing_blocks_union(&pfx, &np);
  int blocked = sb_tcp_in_blocked(oct, olen, pfx, np);
  /* The shield keys IPv4-mapped IPv6 as IPv4. */
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  const uint8_t *k = oct;
  size_t klen = olen;
  if (olen == 16 && memcmp(oct, mapped, 12) == 0) {
    k = oct + 12;
    klen = 4;
  }
  int stranger = !blocked && sb_shield_tcp_stranger(k, klen, now);
  return sb_tcp_gate_judge(g, oct, olen, now, stranger, blocked);
}

/* Counters acceptTcp adds to (a Float64Array of at least SB_ACCEPT_COUNTS). */
#define SB_ACCEPT_COUNTS 7
/* tcpc23: an eighth count, when given: connections taken to be served in C (tcp_serve.h). */
enum { AC_BLOCKED = 0, AC_HELD = 1, AC_STRANGERS = 2, AC_TAKEN = 3, AC_FULL = 4, AC_SERVED = 5, AC_WAITING = 6, AC_IN_C = 7 };

/* ---- connections kept in C until their first frame (tcp_gate.h sb_tcp_wait) ----
 * A source nothing vouches for (the gate's stranger, in calm too) costs JS a net.Socket, its
 * timers and its close (~150-240 us) whether or not it ever asks anything: a slow-connection
 * flood opened before the shield is pressed closed ~400 of them in JS together at its idle
 * timeout (docs/PERFORMANCE.md p99s18). Kept here instead, watched by this thread's epoll set
 * (one uv_poll_t on it in the loop), it reaches JS only with a complete query to answer. */

/* Wake-ups of the epoll set read at most this many events, then return to the loop (the set stays
 * readable and the loop calls again). */
#define SB_WAIT_EVENTS 64

/* tcpl24: listening sockets this thread accepts from in C (tcpListen) at once. */
#define SB_TCP_LISTEN_MAX 8
/* The epoll tag of a listening socket's event (its slot in the low bits, its gen above). */
#define SB_LISTEN_TAG 0x40000000u
/* Connections one wake-up of a listening socket hands to JS at most (tcp.ts ACCEPT_BATCH). */
#define SB_LISTEN_HAND 64
/* How long a listening socket is left unwatched after accept failed for want of descriptors
 * (EMFILE, ENFILE, ENOBUFS, ENOMEM): level-triggered, it would wake the loop at once again. */
#define SB_LISTEN_PAUSE_MS 100

typedef struct {
  int used;
  int fd;           /* this thread's duplicate of the listening socket (closed by tcpUnlisten) */
  uint32_t gen;     /* tells a stale event from the slot's next listener */
  int max_unjudged; /* connections handed to JS a wake-up when the native shield does not judge */
  double paused_until; /* > 0: out of the epoll set until then (descriptors ran out) */
  double *counts;   /* the listener's Float64Array(8) (acceptTcp's counts), or NULL */
  napi_ref counts_ref;
} sb_tcp_listening;

typedef struct {
  sb_tcp_wait w;
  int epfd;
  uv_poll_t *poll; /* freed by its close callback (with the epoll descriptor) */
  napi_env env;
  napi_ref cb_ref;
  napi_async_context actx;
  /* tcpc23: connections served in C (tcpServeStart; NULL until then), watched by the same epoll
   * set (level-triggered, their events tagged SB_SERVE_TAG); their last sweep; their answers by
   * RCODE (the DNS counters: JS never sees them). */
  sb_tcp_serve *sv;
  napi_ref js_open_ref; /* the Float64Array sv->js_open points into (tcpServeStart) */
  double sv_swept;
  double sv_rcode[16];
  /* tcpl24: listening sockets accepted from here (tcpListen), not by libuv: their duplicates,
   * watched by the same epoll set (level-triggered, tagged SB_LISTEN_TAG). */
  sb_tcp_listening ls[SB_TCP_LISTEN_MAX];
  unsigned nls;
  double listen_taken, listen_handed; /* connections C's listeners took, and handed to JS */
} sb_tcp_waiter;

/* The epoll tag of a served connection's event (its slot in the low bits, its gen above). */
#define SB_SERVE_TAG 0x80000000u
/* How often the served connections' deadlines are swept from the wake-ups (ms). */
#define SB_SERVE_SWEEP_MS 100

static __thread sb_tcp_waiter *g_tcp_waiter = NULL;

/* Whether the thread's shield is pressed for TCP as sb_shield_tcp_stranger reads it (the level, or
 * behind now): waiting connections then get tcp.ts's PRESSURE_FIRST_QUERY_MS, not the idle time. */
static int tcp_pressed(double now) {
  const sb_shield *sh = sb_shield_thread();
  if (sh == NULL || sh->cfg.mode != SB_SHIELD_ON) return 0;
  return sh->overload.level >= 1 || (!sh->behind_now_off && sh->behind_at > 0 && now - sh->behind_at <= SB_BEHIND_NOW_MS);
}

/* A stranger whatever the pressure: the shield on (not dry run: nothing changes there), the source
 * neither allow-listed nor vouched for (sb_sources_vouched: a TC=1 answer lately, the tcp tier, a
 * cookie, a calm-time history). `k`: the shield's key octets (IPv4-mapped given as 4). */
static int tcp_unvouched(const uint8_t *k, size_t klen, double now) {
  sb_shield *sh = sb_shield_thread();
  if (sh == NULL || sh->cfg.mode != SB_SHIELD_ON || (klen != 4 && klen != 16)) return 0;
  if (sb_shield_allow_listed(sh, k, klen)) return 0;
  return !sb_sources_vouched(&sh->sources, sb_sources_key(k, klen), now);
}

static void tcp_waiter_poll_closed(uv_handle_t *h) {
  int epfd = (int)(intptr_t)h->data;
  if (epfd >= 0) close(epfd);
  free(h);
}

/* The environment goes: every waiting connection reset, the watch closed. */
static void tcp_waiter_cleanup(void *arg) {
  (void)arg;
  sb_tcp_waiter *t = g_tcp_waiter;
  if (t == NULL) return;
  g_tcp_waiter = NULL;
  sb_tcp_wait_close_all(&t->w, -1);
  /* The listening sockets' duplicates (their references die with the environment). */
  for (unsigned i = 0; i < SB_TCP_LISTEN_MAX; i++)
    if (t->ls[i].used) close(t->ls[i].fd);
  if (t->sv != NULL) {
    sb_tcp_serve_close_all(t->sv, -1);
    free(t->sv);
    t->sv = NULL;
  }
  /* Its callback's reference and async context die with the environment. */
  if (t->poll != NULL) {
    uv_poll_stop(t->poll);
    t->poll->data = (void *)(intptr_t)t->epfd;
    uv_close((uv_handle_t *)t->poll, tcp_waiter_poll_closed);
  } else if (t->epfd >= 0) {
    close(t->epfd);
  }
  free(t);
}

/* Hands the connections `out` (out of the table already) to JS: cb([listeningFd, fd, address,
 * port, ...]) for first frames; (tcpl24) cb([...], kind) for connections a listening socket's
 * accept in C hands over: kind 2 judged in C (to serve), 3 not judged (the native shield not on:
 * JS judges). A descriptor not handed (no callback, an N-API failure) is reset. */
static void tcp_waiter_hand(sb_tcp_waiter *t, const sb_tcp_waiting *out, unsigned n, int kind) {
  napi_env env = t->env;
  napi_handle_scope scope;
  napi_value cb = NULL, recv, arr, result, args[2];
  unsigned done = 0;
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    for (unsigned i = 0; i < n; i++) sb_tcp_close_rst(out[i].fd);
    return;
  }
  if (t->cb_ref != NULL && napi_get_reference_value(env, t->cb_ref, &cb) == napi_ok && cb != NULL &&
      napi_get_global(env, &recv) == napi_ok && napi_create_array_with_length(env, n * 4, &arr) == napi_ok) {
    for (; done < n; done++) {
      const sb_tcp_waiting *e = &out[done];
      char text[INET6_ADDRSTRLEN];
      int af = e->alen == 16 ? AF_INET6 : AF_INET;
      napi_value v[4];
      if (inet_ntop(af, e->addr, text, sizeof(text)) == NULL || napi_create_int32(env, e->lfd, &v[0]) != napi_ok ||
          napi_create_int32(env, e->fd, &v[1]) != napi_ok ||
          napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &v[2]) != napi_ok ||
          napi_create_int32(env, e->port, &v[3]) != napi_ok)
        break;
      int ok = 1;
      for (unsigned j = 0; j < 4 && ok; j++) ok = napi_set_element(env, arr, done * 4 + j, v[j]) == napi_ok;
      if (!ok) break;
    }
    if (done < n) {
      napi_value len;
      if (napi_create_uint32(env, done * 4, &len) == napi_ok) napi_set_named_property(env, arr, "length", len);
    }
    for (unsigned i = done; i < n; i++) sb_tcp_close_rst(out[i].fd);
    args[0] = arr;
    if (done > 0 && kind != 0 && napi_create_int32(env, kind, &args[1]) != napi_ok) {
      for (unsigned i = 0; i < done; i++) sb_tcp_close_rst(out[i].fd);
      done = 0;
    }
    if (done > 0) {
      napi_make_callback(env, t->actx, recv, cb, kind != 0 ? 2 : 1, args, &result);
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value exc;
        napi_get_and_clear_last_exception(env, &exc);
        napi_fatal_exception(env, exc);
      }
    }
  } else {
    for (unsigned i = 0; i < n; i++) sb_tcp_close_rst(out[i].fd);
  }
  napi_close_handle_scope(env, scope);
}

/* Hands one connection served in C over to JS with the octets it read and did not answer and the
 * answers not yet written: cb([listeningFd, fd, address, port, in, out]) (Buffers, or null when
 * empty), with a second argument `true` (the first-frame hand-over passes only the array). Not
 * handed (no callback, an N-API failure): reset. */
static void tcp_serve_hand(sb_tcp_waiter *t, const sb_tcp_hand *h) {
  napi_env env = t->env;
  napi_handle_scope scope;
  napi_value cb = NULL, recv, arr, result, v[6];
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    sb_tcp_close_rst(h->fd);
    return;
  }
  char text[INET6_ADDRSTRLEN];
  int ok = t->cb_ref != NULL && napi_get_reference_value(env, t->cb_ref, &cb) == napi_ok && cb != NULL &&
           napi_get_global(env, &recv) == napi_ok && napi_create_array_with_length(env, 6, &arr) == napi_ok &&
           inet_ntop(h->alen == 16 ? AF_INET6 : AF_INET, h->addr, text, sizeof(text)) != NULL &&
           napi_create_int32(env, h->lfd, &v[0]) == napi_ok && napi_create_int32(env, h->fd, &v[1]) == napi_ok &&
           napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &v[2]) == napi_ok &&
           napi_create_int32(env, h->port, &v[3]) == napi_ok;
  if (ok) ok = (h->in_len > 0 ? napi_create_buffer_copy(env, h->in_len, h->in, NULL, &v[4]) : napi_get_null(env, &v[4])) == napi_ok;
  if (ok) ok = (h->out_len > 0 ? napi_create_buffer_copy(env, h->out_len, h->out, NULL, &v[5]) : napi_get_null(env, &v[5])) == napi_ok;
  for (unsigned j = 0; j < 6 && ok; j++) ok = napi_set_element(env, arr, j, v[j]) == napi_ok;
  napi_value args[2];
  args[0] = arr;
  if (ok) ok = napi_get_boolean(env, true, &args[1]) == napi_ok;
  if (!ok) {
    sb_tcp_close_rst(h->fd);
  } else {
    napi_make_callback(env, t->actx, recv, cb, 2, args, &result);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value exc;
      napi_get_and_clear_last_exception(env, &exc);
      napi_fatal_exception(env, exc);
    }
  }
  napi_close_handle_scope(env, scope);
}

/* What answering one TCP frame in C needs: the client (the shield's key octets). */
typedef struct {
  sb_tcp_waiter *t;
  const uint8_t *key;
  size_t klen;
  double now;
} sb_serve_ctx;

/* sb_tcp_answer_fn: a plain query answered from the images as over TCP (image.c), counted by RCODE;
 * the query proves its source address (the shield's tcp tier, as tcp.ts's handler's shieldSawTcp). */
static size_t tcp_answer(void *ctx, const uint8_t *q, size_t len, uint8_t *out, size_t cap) {
  sb_serve_ctx *c = ctx;
  if (!sb_images_enabled()) return 0;
  size_t n = sb_image_answer_tcp(q, len, out, cap);
  if (n < 12) return 0;
  c->t->sv_rcode[out[3] & 0x0F] += 1;
  sb_shield *sh = sb_shield_thread();
  if (sh != NULL && (c->klen == 4 || c->klen == 16)) sb_sources_note_tcp(&sh->sources, sb_sources_key(c->key, c->klen), c->now);
  return n;
}

/* `slot`'s served connection is readable: its frames answered; handed to JS when C cannot go on. */
static void tcp_serve_ready(sb_tcp_waiter *t, int32_t slot, double now) {
  const sb_tcp_conn *c = &t->sv->c[slot];
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  sb_serve_ctx ctx = {t, c->addr, 16, now};
  if (memcmp(c->addr, mapped, 12) == 0) {
    ctx.key = c->addr + 12;
    ctx.klen = 4;
  }
  /* Copied: the slot is freed when the connection is handed over or closed. */
  uint8_t key[16];
  memcpy(key, ctx.key, ctx.klen);
  ctx.key = key;
  int fd = c->fd;
  sb_tcp_hand h;
  int r = sb_tcp_serve_readable(t->sv, slot, now, tcp_answer, &ctx, &h);
  if (r == SB_TCP_HANDED) {
    (void)epoll_ctl(t->epfd, EPOLL_CTL_DEL, fd, NULL);
    tcp_serve_hand(t, &h);
  }
}

/* Whether connections are served in C now: tcpServeStart called and the images answering. */
static int tcp_serving(const sb_tcp_waiter *t) {
  return t != NULL && t->sv != NULL && t->cb_ref != NULL && sb_images_enabled();
}

/* Takes `c` (accepted from `lfd`, not read yet) to serve in C: 1 taken (or closed: its client at
 * the per-client limit), 0 not (serve it in JS). `epoll_mod`: `c` is in the epoll set already. */
static int tcp_serve_take(sb_tcp_waiter *t, int c, int lfd, const uint8_t *oct, size_t olen, int port, double now,
                          int epoll_mod) {
  int32_t slot = sb_tcp_serve_add(t->sv, c, lfd, oct, olen, port, now);
  if (slot == -2) {
    if (epoll_mod) (void)epoll_ctl(t->epfd, EPOLL_CTL_DEL, c, NULL);
    close(c);
    return 1;
  }
  if (slot < 0) return 0;
  struct epoll_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = ((uint64_t)t->sv->c[slot].gen << 32) | SB_SERVE_TAG | (uint32_t)slot;
  if (epoll_ctl(t->epfd, epoll_mod ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c, &ev) != 0) {
    (void)sb_tcp_serve_take(t->sv, slot);
    t->sv->total--;
    return 0;
  }
  return 1;
}

/* The served connections' deadlines (at most every SB_SERVE_SWEEP_MS unless `force`). */
static void tcp_serve_sweep(sb_tcp_waiter *t, double now, int force) {
  if (t == NULL || t->sv == NULL || t->sv->n == 0) return;
  if (!force && now - t->sv_swept < SB_SERVE_SWEEP_MS) return;
  t->sv_swept = now;
  sb_tcp_serve_sweep(t->sv, now, tcp_pressed(now), 0);
}

static void tcp_listener_ready(sb_tcp_waiter *t, unsigned idx);

/* The epoll set turned readable: each ready connection's first frame checked (peeked); complete
 * ones taken out of the table and handed to JS, those that can never complete one reset; then
 * the deadlines swept; then (tcpl24) the ready listening sockets' accept queues taken. */
static void on_waiting_ready(uv_poll_t *h, int status, int events) {
  (void)h;
  (void)status;
  (void)events;
  sb_tcp_waiter *t = g_tcp_waiter;
  if (t == NULL) return;
  struct epoll_event ev[SB_WAIT_EVENTS];
  sb_tcp_waiting out[SB_WAIT_EVENTS];
  unsigned nh = 0;
  /* Listening sockets ready (their slot and gen), taken after the connections' events. */
  unsigned lready[SB_TCP_LISTEN_MAX], nl = 0;
  uint32_t lgen[SB_TCP_LISTEN_MAX];
  int got = epoll_wait(t->epfd, ev, SB_WAIT_EVENTS, 0);
  double now0 = mono_ms();
  for (int i = 0; i < got && g_tcp_waiter == t; i++) {
    uint32_t slot = (uint32_t)ev[i].data.u64, gen = (uint32_t)(ev[i].data.u64 >> 32);
    if ((slot & SB_SERVE_TAG) == 0 && (slot & SB_LISTEN_TAG) != 0) {
      slot &= ~SB_LISTEN_TAG;
      if (slot < SB_TCP_LISTEN_MAX && nl < SB_TCP_LISTEN_MAX) {
        lready[nl] = slot;
        lgen[nl++] = gen;
      }
      continue;
    }
    if (slot & SB_SERVE_TAG) {
      slot &= ~SB_SERVE_TAG;
      if (t->sv == NULL || slot >= SB_TCP_SERVE_MAX || t->sv->c[slot].fd < 0 || t->sv->c[slot].gen != gen) continue;
      tcp_serve_ready(t, (int32_t)slot, now0);
      continue;
    }
    if (slot >= SB_TCP_WAIT_MAX || t->w.e[slot].fd < 0 || t->w.e[slot].gen != gen) continue;
    int closed = (ev[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
    int r = sb_tcp_first_frame(t->w.e[slot].fd, closed);
    if (r == 0) continue;
    if (r < 0) {
      if (r == -2) t->w.rejected++;
      else t->w.client_closed++;
      sb_tcp_wait_drop(&t->w, (int32_t)slot);
      continue;
    }
    const sb_tcp_waiting *e = &t->w.e[slot];
    /* tcpc23: its first frame is in: served in C from here when C serves (read at once). */
    if (tcp_serving(t)) {
      int fd = e->fd;
      if (tcp_serve_take(t, fd, e->lfd, e->addr, e->alen, e->port, now0, 1)) {
        (void)sb_tcp_wait_take(&t->w, (int32_t)slot);
        t->w.handed++;
        if (t->sv->tail >= 0 && t->sv->c[t->sv->tail].fd == fd) tcp_serve_ready(t, t->sv->tail, now0);
        continue;
      }
    }
    out[nh] = *e;
    (void)epoll_ctl(t->epfd, EPOLL_CTL_DEL, out[nh].fd, NULL);
    (void)sb_tcp_wait_take(&t->w, (int32_t)slot);
    t->w.handed++;
    nh++;
  }
  if (g_tcp_waiter != t) {
    for (unsigned i = 0; i < nh; i++) sb_tcp_close_rst(out[i].fd);
    return;
  }
  double now = mono_ms();
  sb_tcp_wait_sweep(&t->w, now, tcp_pressed(now));
  tcp_serve_sweep(t, now, 0);
  if (nh > 0) tcp_waiter_hand(t, out, nh, 0);
  /* The callbacks may close listeners (their slots freed, gen moved on) or the environment. */
  for (unsigned i = 0; i < nl && g_tcp_waiter == t; i++)
    if (t->ls[lready[i]].used && t->ls[lready[i]].gen == lgen[i]) tcp_listener_ready(t, lready[i]);
}

/* Keeps `c` (accepted from `lfd`) until its first frame; 0 when it cannot be watched (serve it). */
static int tcp_wait_keep(sb_tcp_waiter *t, int c, int lfd, const uint8_t *oct, size_t olen, int port, double now) {
  int32_t slot = sb_tcp_wait_add(&t->w, c, lfd, oct, olen, port, now);
  if (slot < 0) return 0;
  struct epoll_event ev;
  memset(&ev, 0, sizeof(ev));
  /* Edge-triggered: the frame is peeked, never read, so level-triggered would report it again on
   * every wait; each new segment (and the client's FIN) is a new edge. */
  ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = ((uint64_t)t->w.e[slot].gen << 32) | (uint32_t)slot;
  if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, c, &ev) != 0) {
    (void)sb_tcp_wait_take(&t->w, slot);
    t->w.total--;
    return 0;
  }
  return 1;
}

/* Whether the connection `c` judged `v` stays in C until its first frame (1: kept, or closed for
 * a client that closed or sent a short frame; 0: serve it now). A stranger within the budget, or
 * in calm a source nothing vouches for; its frame already in (a client's query in the handshake's
 * last round trip, common) is served at once. */
static int keep_for_frame(sb_tcp_waiter *t, int v, int c, int lfd, const uint8_t *oct, size_t olen, int port,
                          double now) {
  if (v != SB_TCP_STRANGER && v != SB_TCP_SERVE) return 0;
  if (v == SB_TCP_SERVE) {
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    int v4 = olen == 16 && memcmp(oct, mapped, 12) == 0;
    if (!tcp_unvouched(v4 ? oct + 12 : oct, v4 ? 4 : olen, now)) return 0;
  }
  int r = sb_tcp_first_frame(c, 0);
  if (r == 1) return 0;
  if (r < 0) {
    if (r == -2) t->w.rejected++;
    else t->w.client_closed++;
    t->w.total++;
    sb_tcp_close_rst(c);
    return 1;
  }
  return tcp_wait_keep(t, c, lfd, oct, olen, port, now);
}

/* The C decision for connection `c` just accepted from `lfd` (peer `oct`/`olen`, `port`): closed
 * (blocked), held (a stranger beyond the budget), kept until its first frame, or served in C —
 * 1; or 0: JS serves it (hand it over). Adds to `counts` (AC_*; AC_IN_C when ncounts has it). */
static int accept_in_c(sb_tcp_gate *g, sb_tcp_waiter *waiter, int c, int lfd, const uint8_t *oct, size_t olen,
                       int port, double now, double *counts, size_t ncounts) {
  int v = judge_connection(g, oct, olen, now);
  if (v == SB_TCP_BLOCKED) {
    sb_tcp_close_rst(c);
    counts[AC_BLOCKED] += 1;
    return 1;
  }
  if (v == SB_TCP_HOLD) {
    sb_tcp_gate_hold(g, c, now);
    counts[AC_HELD] += 1;
    return 1;
  }
  if (v == SB_TCP_STRANGER) counts[AC_STRANGERS] += 1;
  if (waiter != NULL && keep_for_frame(waiter, v, c, lfd, oct, olen, port, now)) {
    counts[AC_WAITING] += 1;
    return 1;
  }
  /* tcpc23: served in C (its frames read when the epoll set reports them: no JS object). */
  if (tcp_serving(waiter) && tcp_serve_take(waiter, c, lfd, oct, olen, port, now, 0)) {
    if (ncounts > AC_IN_C) counts[AC_IN_C] += 1;
    return 1;
  }
  return 0;
}

/* Whether the thread's native shield acts (on, not in dry run): the C decision applies. As
 * src/server/shared/shield.ts `shieldOnNativePath` (the listener's acceptGate.active()). */
static int tcp_judging(void) {
  const sb_shield *sh = sb_shield_thread();
  return sh != NULL && sh->cfg.mode == SB_SHIELD_ON;
}

/* (tcpl24) Listening socket `idx` is readable: its accept queue taken here, not by libuv (no
 * net.Socket for a connection C closes, holds, keeps or serves). With the native shield on, as
 * acceptTcp with counts: at most SB_ACCEPT_MAX taken and SB_LISTEN_HAND handed to JS (kind 2); the
 * rest waits for the next turn (level-triggered: the set stays readable). Without it, at most
 * `max_unjudged` taken and handed to JS unjudged (kind 3: the JS gate judges), as libuv's one a
 * turn or the batch accept. The listener's counts get acceptTcp's. */
__attribute__((noinline)) static void tcp_listener_ready(sb_tcp_waiter *t, unsigned idx) {
  sb_tcp_listening *l = &t->ls[idx];
  int lfd = l->fd;
  sb_tcp_gate *g = NULL;
  if (tcp_judging() && tcp_gate_make(t->env) == NULL) g = g_tcp_gate;
  double now = mono_ms();
  /* The waiting and served connections were swept by on_waiting_ready, its only caller, just now. */
  if (g != NULL) sb_tcp_gate_sweep(g, now);
  int max = g != NULL ? SB_ACCEPT_MAX : l->max_unjudged;
  unsigned max_hand = g != NULL ? SB_LISTEN_HAND : (unsigned)l->max_unjudged;
  if (max_hand > SB_LISTEN_HAND) max_hand = SB_LISTEN_HAND;
  double counts[AC_IN_C + 1];
  memset(counts, 0, sizeof(counts));
  sb_tcp_waiting out[SB_LISTEN_HAND];
  unsigned nh = 0;
  int taken = 0;
  while (taken < max && nh < max_hand) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    memset(&ss, 0, sizeof(ss));
    int c = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) {
        taken++;
        continue;
      }
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        /* Out of descriptors: unwatched for a while (the sweeps put it back), not a busy loop. */
        (void)epoll_ctl(t->epfd, EPOLL_CTL_DEL, lfd, NULL);
        l->paused_until = now + SB_LISTEN_PAUSE_MS;
      }
      break; /* EAGAIN: the queue is empty */
    }
    taken++;
    uint8_t oct[16];
    size_t olen = 0;
    int port = -1;
    if (!peer_of(&ss, sl, oct, &olen, NULL, 0, &port)) {
      close(c);
      continue;
    }
    if (g != NULL) {
      if ((taken & 15) == 0) now = mono_ms();
      if (accept_in_c(g, t, c, lfd, oct, olen, port, now, counts, AC_IN_C + 1)) continue;
    }
    sb_tcp_waiting *e = &out[nh++];
    memset(e, 0, sizeof(*e));
    e->fd = c;
    e->lfd = lfd;
    e->port = (uint16_t)port;
    e->alen = olen == 16 ? 16 : 4;
    memcpy(e->addr, oct, e->alen);
  }
  counts[AC_TAKEN] += taken;
  if (taken >= max) counts[AC_FULL] += 1;
  counts[AC_SERVED] += nh;
  t->listen_taken += taken;
  t->listen_handed += nh;
  if (l->counts != NULL)
    for (unsigned i = 0; i <= AC_IN_C; i++) l->counts[i] += counts[i];
  if (nh > 0) tcp_waiter_hand(t, out, nh, g != NULL ? 2 : 3);
}

/* Puts listening sockets paused for want of descriptors back in the epoll set when their pause
 * is over (from the sweeps). */
static void tcp_listeners_resume(sb_tcp_waiter *t, double now) {
  if (t == NULL) return;
  for (unsigned i = 0; i < SB_TCP_LISTEN_MAX; i++) {
    sb_tcp_listening *l = &t->ls[i];
    if (!l->used || l->paused_until <= 0 || now < l->paused_until) continue;
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.u64 = ((uint64_t)l->gen << 32) | SB_LISTEN_TAG | i;
    if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, l->fd, &ev) == 0 || errno == EEXIST) l->paused_until = 0;
  }
}

/* acceptTcp(fd, max[, counts, maxServe]): accepts up to `max` (at most SB_ACCEPT_MAX) connections
 * waiting in the accept queue of the listening TCP socket `fd` (a descriptor of this process),
 * non-blocking and close-on-exec. libuv takes one connection per wake-up of a listening socket,
 * so a worker whose loop turns slowly (a UDP flood at a CPU quota) drains its accept queue at one
 * connection a turn and a resolver's retry waits behind hundreds (docs/TRANSPORT.md). Returns
 * [fd, address, port, ...] of the connections handed over (IPv4 or IPv6 text as Node writes it);
 * [] when none waits or `fd` is not a listening socket. The caller owns those descriptors.
 * With `counts` (a Float64Array): each connection is judged here first (judge_connection, no JS):
 * a blocked /24's closed at once with a reset, a stranger beyond the budget held in this thread's
 * table (closed at its deadline, or the oldest first when full); only those to be served are
 * handed over, at most `maxServe` (default `max`) per call. The held whose deadline came are
 * closed first. Adds to counts: blocked closed, held, strangers served, taken, 1 when `max` were
 * taken (the queue may hold more), handed over. */
static napi_value js_accept_tcp(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], arr;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1, max = 0, max_serve = -1;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0 ||
      napi_get_value_int32(env, argv[1], &max) != napi_ok)
    return throw_error(env, "ERR_NATIVE_UDP_ARGS", "acceptTcp(fd, max[, counts, maxServe])");
  double *counts = NULL;
  size_t ncounts = 0;
  if (argc >= 3) {
    napi_valuetype vt;
    CHECK(napi_typeof(env, argv[2], &vt));
    if (vt != napi_undefined) {
      bool is_ta = false;
      napi_typedarray_type tt;
      size_t len = 0;
      void *data = NULL;
      if (napi_is_typedarray(env, argv[2], &is_ta) != napi_ok || !is_ta ||
          napi_get_typedarray_info(env, argv[2], &tt, &len, &data, NULL, NULL) != napi_ok ||
          tt != napi_float64_array || len < SB_ACCEPT_COUNTS)
        return throw_error(env, "ERR_NATIVE_UDP_ARGS", "acceptTcp: counts must be a Float64Array(7)");
      counts = data;
      ncounts = len;
    }
  }
  if (argc >= 4 && napi_get_value_int32(env, argv[3], &max_serve) != napi_ok)
    return throw_error(env, "ERR_NATIVE_UDP_ARGS", "acceptTcp: maxServe must be a number");
  if (max > SB_ACCEPT_MAX) max = SB_ACCEPT_MAX;
  if (max_serve < 0 || max_serve > max) max_serve = max;
  sb_tcp_gate *g = NULL;
  if (counts != NULL) {
    const char *err = tcp_gate_make(env);
    if (err != NULL) return throw_error(env, "ERR_NATIVE_UDP_NOMEM", err);
    g = g_tcp_gate;
    double t0 = mono_ms();
    sb_tcp_gate_sweep(g, t0);
    if (g_tcp_waiter != NULL) sb_tcp_wait_sweep(&g_tcp_waiter->w, t0, tcp_pressed(t0));
    tcp_serve_sweep(g_tcp_waiter, t0, 0);
  }
  /* Strangers kept until their first frame when JS watches for them (tcpWaitStart). */
  sb_tcp_waiter *waiter = g != NULL && g_tcp_waiter != NULL && g_tcp_waiter->cb_ref != NULL ? g_tcp_waiter : NULL;
  CHECK(napi_create_array(env, &arr));
  int listening = 0, type = 0;
  socklen_t ll = sizeof(listening), tl = sizeof(type);
  if (max <= 0 || getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ll) != 0 || !listening ||
      getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_STREAM)
    return arr;
  uint32_t n = 0;
  int32_t taken = 0, served = 0;
  double now = g != NULL ? mono_ms() : 0;
  while (taken < max && served < max_serve) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    memset(&ss, 0, sizeof(ss));
    int c = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) {
        taken++;
        continue;
      }
      break; /* EAGAIN: the queue is empty; anything else: libuv's own accept will see it */
    }
    taken++;
    char text[INET6_ADDRSTRLEN];
    uint8_t oct[16];
    size_t olen = 0;
    int port = -1;
    if (!peer_of(&ss, sl, oct, &olen, text, sizeof(text), &port)) port = -1;
    if (g != NULL && port >= 0) {
      if ((taken & 15) == 0) now = mono_ms();
      if (accept_in_c(g, waiter, c, fd, oct, olen, port, now, counts, ncounts)) continue;
    }
    napi_value vfd, vaddr, vport;
    if (port < 0 || napi_create_int32(env, c, &vfd) != napi_ok ||
        napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &vaddr) != napi_ok ||
        napi_create_int32(env, port, &vport) != napi_ok || napi_set_element(env, arr, n, vfd) != napi_ok ||
        napi_set_element(env, arr, n + 1, vaddr) != napi_ok || napi_set_element(env, arr, n + 2, vport) != napi_ok) {
      /* Not handed over: closed here (a half-filled triple is cut off below). */
      close(c);
      break;
    }
    n += 3;
    served++;
  }
  if (counts != NULL) {
    counts[AC_TAKEN] += taken;
    if (taken >= max) counts[AC_FULL] += 1;
    counts[AC_SERVED] += served;
  }
  napi_value len;
  CHECK(napi_create_uint32(env, n, &len));
  CHECK(napi_set_named_property(env, arr, "length", len));
  return arr;
}

/* tcpJudge(address: Uint8Array(4|16)[, fd, listeningFd, port]): the batch accept's verdict (0
 * serve, 1 a stranger within the budget, 2 a stranger beyond it, 3 its /24 blocked) for a
 * connection JS accepted itself (libuv's one a turn), from the same shield state and strangers'
 * budget; counted in tcpGateStats. With its descriptor `fd` (JS not reading it yet) and while
 * tcpWaitStart watches: 4 when C keeps a duplicate of it until its first frame (as the batch
 * accept's; or closed it, the client gone) — JS then destroys its own socket without reading. */
static napi_value js_tcp_judge(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], r;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool is_ta = false;
  napi_typedarray_type tt;
  size_t len = 0;
  void *data = NULL;
  int32_t fd = -1, lfd = -1, port = -1;
  if (argc < 1 || napi_is_typedarray(env, argv[0], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, argv[0], &tt, &len, &data, NULL, NULL) != napi_ok || tt != napi_uint8_array ||
      (len != 4 && len != 16) ||
      (argc >= 4 && (napi_get_value_int32(env, argv[1], &fd) != napi_ok ||
                     napi_get_value_int32(env, argv[2], &lfd) != napi_ok ||
                     napi_get_value_int32(env, argv[3], &port) != napi_ok)))
    return throw_error(env, "ERR_NATIVE_UDP_ARGS", "tcpJudge(address: Uint8Array(4|16)[, fd, listeningFd, port])");
  const char *err = tcp_gate_make(env);
  if (err != NULL) return throw_error(env, "ERR_NATIVE_UDP_NOMEM", err);
  double now = mono_ms();
  int v = judge_connection(g_tcp_gate, data, len, now);
  sb_tcp_waiter *t = g_tcp_waiter;
  if (argc >= 4 && fd >= 0 && t != NULL && t->cb_ref != NULL && port >= 0 && port <= 0xffff &&
      (v == SB_TCP_SERVE || v == SB_TCP_STRANGER)) {
    int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (d >= 0) {
      if (keep_for_frame(t, v, d, lfd, data, len, port, now)) v = SB_TCP_KEPT;
      /* tcpc23: served in C (5): JS destroys its own socket unread, as for 4. */
      else if (tcp_serving(t) && tcp_serve_take(t, d, lfd, data, len, port, now, 0)) v = SB_TCP_IN_C;
      else close(d);
    }
  }
  CHECK(napi_create_int32(env, v, &r));
  return r;
}

/* tcpGateConfigure(perSecond, perBlock): the strangers' budget of this thread's gate (the TCP
 * listener's options; STRANGERS_PER_SECOND and STRANGERS_PER_BLOCK_PER_SECOND of tcp.ts when not
 * given), so C and the JS budget take one setting. Numbers >= 0; the budget's tokens restart. */
static napi_value js_tcp_gate_configure(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  double per_second = -1, per_block = -1;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || napi_get_value_double(env, argv[0], &per_second) != napi_ok ||
      napi_get_value_double(env, argv[1], &per_block) != napi_ok || !(per_second >= 0) || !(per_block >= 0) ||
      per_second > 1e9 || per_block > 1e9)
    return throw_error(env, "ERR_NATIVE_UDP_ARGS", "tcpGateConfigure(perSecond >= 0, perBlock >= 0)");
  const char *err = tcp_gate_make(env);
  if (err != NULL) return throw_error(env, "ERR_NATIVE_UDP_NOMEM", err);
  g_tcp_gate->per_second = per_second;
  g_tcp_gate->per_block = per_block;
  g_tcp_gate->tokens = per_second;
  return NULL;
}

/* tcpGateSweep(): closes the held connections whose deadline came, and the waiting ones whose
 * first frame did not come by theirs; returns how many are held or waiting. */
static napi_value js_tcp_gate_sweep(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  double now = mono_ms();
  unsigned n = 0;
  if (g_tcp_waiter != NULL && g_tcp_waiter->sv != NULL) {
    tcp_serve_sweep(g_tcp_waiter, now, 1);
    n += g_tcp_waiter->sv->n;
  }
  if (g_tcp_gate != NULL) {
    sb_tcp_gate_sweep(g_tcp_gate, now);
    n += g_tcp_gate->nheld;
  }
  if (g_tcp_waiter != NULL) {
    sb_tcp_wait_sweep(&g_tcp_waiter->w, now, tcp_pressed(now));
    n += g_tcp_waiter->w.n;
    tcp_listeners_resume(g_tcp_waiter, now);
  }
  CHECK(napi_create_uint32(env, n, &r));
  return r;
}

/* tcpWaitStart(cb, calmMs, pressedMs): from now on the batch accept keeps strangers' connections
 * in C until their first frame (tcp_gate.h sb_tcp_wait), and hands them to `cb([listeningFd, fd,
 * address, port, ...])` when it is in; the deadlines: `calmMs` (the idle timeout), `pressedMs`
 * while the shield is pressed. Called again: the new callback and deadlines. */
static napi_value js_tcp_wait_start(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype vt = napi_undefined;
  double calm = -1, pressed = -1;
  if (argc < 3 || napi_typeof(env, argv[0], &vt) != napi_ok || vt != napi_function ||
      napi_get_value_double(env, argv[1], &calm) != napi_ok || napi_get_value_double(env, argv[2], &pressed) != napi_ok ||
      !(calm >= 0 && calm <= 1e9) || !(pressed >= 0 && pressed <= 1e9))
    return throw_error(env, "ERR_NATIVE_UDP_ARGS", "tcpWaitStart(cb, calmMs >= 0, pressedMs >= 0)");
  sb_tcp_waiter *t = g_tcp_waiter;
  if (t == NULL) {
    t = calloc(1, sizeof(*t));
    uv_poll_t *poll = malloc(sizeof(uv_poll_t));
    uv_loop_t *loop = NULL;
    napi_value name;
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (t == NULL || poll == NULL || epfd < 0) {
      free(t);
      free(poll);
      if (epfd >= 0) close(epfd);
      return throw_error(env, "ERR_NATIVE_UDP_NOMEM", "tcpWaitStart: no memory or no epoll set");
    }
    sb_tcp_wait_init(&t->w, calm, pressed);
    t->env = env;
    t->epfd = epfd;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, poll, epfd) != 0) {
      free(t);
      free(poll);
      close(epfd);
      return throw_error(env, "ERR_NATIVE_UDP_ARGS", "tcpWaitStart: cannot watch the epoll set");
    }
    t->poll = poll;
    poll->data = (void *)(intptr_t)-1;
    if (napi_create_string_utf8(env, "switchboard:tcp-first-frame", NAPI_AUTO_LENGTH, &name) != napi_ok ||
        napi_async_init(env, NULL, name, &t->actx) != napi_ok || uv_poll_start(poll, UV_READABLE, on_waiting_ready) != 0 ||
        napi_add_env_cleanup_hook(env, tcp_waiter_cleanup, NULL) != napi_ok) {
      g_tcp_waiter = t;
      tcp_waiter_cleanup(NULL);
      return throw_error(env, "ERR_NATIVE_UDP_ARGS", "tcpWaitStart: cannot watch the epoll set");
    }
    /* The listeners keep the loop alive; the watch alone does not. */
    uv_unref((uv_handle_t *)poll);
    g_tcp_waiter = t;
  }
  if (t->cb_ref != NULL) napi_delete_reference(env, t->cb_ref);
  t->cb_ref = NULL;
  CHECK(napi_create_reference(env, argv[0], 1, &t->cb_ref));
  t->w.calm_ms = calm;
  t->w.pressed_ms = pressed;
  return NULL;
}

/* tcpWaitClose(listeningFd): resets the connections waiting for their first frame that came from
 * `listeningFd` (its listener is closing); -1: all. */
static napi_value js_tcp_wait_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t lfd = -1;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &lfd) != napi_ok)
    return throw_error(env, "ERR_NATIVE_UDP_ARGS", "tcpWaitClose(listeningFd)");
  if (g_tcp_waiter != NULL) sb_tcp_wait_close_all(&g_tcp_waiter->w, lfd < 0 ? -1 : lfd);
  if (g_tcp_waiter != NULL && g_tcp_waiter->sv != NULL) sb_tcp_serve_close_all(g_tcp_waiter->sv, lfd < 0 ? -1 : lfd);
  return NULL;
}

/* tcpListen(fd, counts, maxUnjudged) (tcpl24): from now on the listening TCP socket `fd` (a
 * descriptor of this process; Node's listener's, whose own watch the caller then closes) is
 * accepted from in C, on this thread's duplicate of it, watched by tcpWaitStart's epoll set:
 * connections C closes, holds, keeps until their first frame or serves never become a JS object;
 * those to serve in JS reach tcpWaitStart's callback as ([listeningFd, fd, address, port, ...],
 * 2 | 3) (tcp_listener_ready). `counts`: a Float64Array(8) over its own ArrayBuffer, added to as
 * acceptTcp's. Returns the duplicate (the listening descriptor from now on: tcpUnlisten closes
 * it), or -1: not possible (tcpWaitStart not called, not a listening TCP socket, the table full,
 * no descriptor). */
static napi_value js_tcp_listen(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], r;
  int32_t fd = -1, max_unjudged = 1;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool is_ta = false;
  napi_typedarray_type tt;
  size_t len = 0;
  void *data = NULL;
  if (argc < 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0 ||
      napi_is_typedarray(env, argv[1], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, argv[1], &tt, &len, &data, NULL, NULL) != napi_ok || tt != napi_float64_array ||
      len < AC_IN_C + 1 || napi_get_value_int32(env, argv[2], &max_unjudged) != napi_ok || max_unjudged < 1)
    return throw_error(env, "ERR_NATIVE_UDP_ARGS", "tcpListen(fd, counts: Float64Array(8), maxUnjudged >= 1)");
  sb_tcp_waiter *t = g_tcp_waiter;
  int d = -1;
  int listening = 0, type = 0;
  socklen_t ll = sizeof(listening), tl = sizeof(type);
  unsigned i = 0;
  if (t != NULL && t->cb_ref != NULL)
    while (i < SB_TCP_LISTEN_MAX && t->ls[i].used) i++;
  if (t != NULL && t->cb_ref != NULL && i < SB_TCP_LISTEN_MAX &&
      getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ll) == 0 && listening &&
      getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM)
    d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (d >= 0) {
    sb_tcp_listening *l = &t->ls[i];
    int fl = fcntl(d, F_GETFL);
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.u64 = ((uint64_t)(l->gen + 1) << 32) | SB_LISTEN_TAG | i;
    if (fl < 0 || ((fl & O_NONBLOCK) == 0 && fcntl(d, F_SETFL, fl | O_NONBLOCK) != 0) ||
        napi_create_reference(env, argv[1], 1, &l->counts_ref) != napi_ok) {
      close(d);
      d = -1;
    } else if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, d, &ev) != 0) {
      napi_delete_reference(env, l->counts_ref);
      l->counts_ref = NULL;
      close(d);
      d = -1;
    } else {
      l->used = 1;
      l->fd = d;
      l->gen++;
      l->max_unjudged = max_unjudged > SB_LISTEN_HAND ? SB_LISTEN_HAND : max_unjudged;
      l->paused_until = 0;
      l->counts = data;
      /* A listening socket keeps the loop alive, as Node's own listener did. */
      if (t->nls++ == 0) uv_ref((uv_handle_t *)t->poll);
    }
  }
  CHECK(napi_create_int32(env, d, &r));
  return r;
}

/* tcpUnlisten(fd) (tcpl24): stops accepting from `fd` (a descriptor tcpListen returned) and
 * closes it; the connections it accepted and C keeps or serves are left (tcpWaitClose). True when
 * it was one. */
static napi_value js_tcp_unlisten(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], r;
  int32_t fd = -1;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok)
    return throw_error(env, "ERR_NATIVE_UDP_ARGS", "tcpUnlisten(fd)");
  sb_tcp_waiter *t = g_tcp_waiter;
  bool found = false;
  for (unsigned i = 0; t != NULL && fd >= 0 && i < SB_TCP_LISTEN_MAX; i++) {
    sb_tcp_listening *l = &t->ls[i];
    if (!l->used || l->fd != fd) continue;
    (void)epoll_ctl(t->epfd, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    if (l->counts_ref != NULL) napi_delete_reference(env, l->counts_ref);
    l->counts_ref = NULL;
    l->counts = NULL;
    l->used = 0;
    l->fd = -1;
    l->gen++;
    if (--t->nls == 0) uv_unref((uv_handle_t *)t->poll);
    found = true;
    break;
  }
  CHECK(napi_get_boolean(env, found, &r));
  return r;
}

/* tcpServeStart(idleMs, pressedMs, maxOpen, maxPerClient) (tcpc23): from now on, while the images
 * answer (imageConfigure), the connections the batch accept takes to serve and those kept until
 * their first frame are served in C (tcp_serve.h): their plain queries answered from the images;
 * the first frame C cannot answer hands the connection to tcpWaitStart's callback as
 * [listeningFd, fd, address, port, in, out] (the octets read and not answered, the answers not
 * yet written; null when none). After tcpWaitStart. Called again: the new settings. */
static napi_value js_tcp_serve_start(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  double idle = -1, pressed = -1, max_open = -1, per_client = -1;
  argc = 5;
  napi_value argv5[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv5, NULL, NULL));
  for (unsigned i = 0; i < 4; i++) argv[i] = argv5[i];
  /* jsOpen (optional): a Float64Array over its own ArrayBuffer (off the V8 heap: its address
   * stays), kept alive by a reference while C reads it. */
  double *js_open = NULL;
  if (argc >= 5) {
    bool is_ta = false;
    napi_typedarray_type tt;
    size_t len = 0;
    void *data = NULL;
    if (napi_is_typedarray(env, argv5[4], &is_ta) != napi_ok || !is_ta ||
        napi_get_typedarray_info(env, argv5[4], &tt, &len, &data, NULL, NULL) != napi_ok || tt != napi_float64_array ||
        len < 1)
      return throw_error(env, "ERR_NATIVE_UDP_ARGS", "tcpServeStart: jsOpen must be a Float64Array(1)");
    js_open = data;
  }
  if (argc < 4 || napi_get_value_double(env, argv[0], &idle) != napi_ok ||
      napi_get_value_double(env, argv[1], &pressed) != napi_ok || napi_get_value_double(env, argv[2], &max_open) != napi_ok ||
      napi_get_value_double(env, argv[3], &per_client) != napi_ok || !(idle >= 0 && idle <= 1e9) ||
      !(pressed >= 0 && pressed <= 1e9) || !(max_open >= 0 && max_open <= 1e9) || !(per_client >= 0 && per_client <= 1e9))
    return throw_error(env, "ERR_NATIVE_UDP_ARGS", "tcpServeStart(idleMs, pressedMs, maxOpen, maxPerClient)");
  sb_tcp_waiter *t = g_tcp_waiter;
  if (t == NULL) return throw_error(env, "ERR_NATIVE_UDP_ARGS", "tcpServeStart: tcpWaitStart first");
  if (js_open != NULL) {
    if (t->js_open_ref != NULL) napi_delete_reference(env, t->js_open_ref);
    t->js_open_ref = NULL;
    CHECK(napi_create_reference(env, argv5[4], 1, &t->js_open_ref));
  }
  if (t->sv == NULL) {
    t->sv = malloc(sizeof(sb_tcp_serve));
    if (t->sv == NULL) return throw_error(env, "ERR_NATIVE_UDP_NOMEM", "tcpServeStart: no memory");
    sb_tcp_serve_init(t->sv, idle, pressed, (unsigned)max_open, (unsigned)per_client);
  } else {
    t->sv->idle_ms = idle;
    t->sv->pressed_ms = pressed;
    t->sv->max_open = (unsigned)max_open;
    t->sv->max_per_client = (unsigned)per_client;
  }
  if (js_open != NULL) t->sv->js_open = js_open;
  return NULL;
}

/* tcpClientNote(address: Uint8Array(4|16), delta: 1|-1) (tidy25): one per-client count for C's and
 * JS's TCP connections (tcp_serve.h sb_tcp_serve_js_open / _close). 1: JS opens one — 1 counted in
 * C's table, 0 refused (the client has maxPerClient open, C's and JS's), 2 not held (no table yet,
 * or SB_TCP_JS_CLIENTS addresses hold JS connections already: JS counts it itself). -1: one JS
 * counted closed — 1, or 0 when none was counted. */
static napi_value js_tcp_client_note(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], r;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool is_ta = false;
  napi_typedarray_type tt;
  size_t len = 0;
  void *data = NULL;
  int32_t delta = 0;
  if (argc < 2 || napi_is_typedarray(env, argv[0], &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, argv[0], &tt, &len, &data, NULL, NULL) != napi_ok || tt != napi_uint8_array ||
      (len != 4 && len != 16) || napi_get_value_int32(env, argv[1], &delta) != napi_ok || (delta != 1 && delta != -1))
    return throw_error(env, "ERR_NATIVE_UDP_ARGS", "tcpClientNote(address: Uint8Array(4|16), delta: 1|-1)");
  sb_tcp_serve *sv = g_tcp_waiter != NULL ? g_tcp_waiter->sv : NULL;
  int v;
  if (delta > 0) v = sv != NULL ? sb_tcp_serve_js_open(sv, data, len) : SB_TCP_JS_UNHELD;
  else v = sv != NULL ? sb_tcp_serve_js_close(sv, data, len) : 0;
  CHECK(napi_create_int32(env, v, &r));
  return r;
}

/* tcpGateClose(): closes every held connection (the listeners are closing). */
static napi_value js_tcp_gate_close(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value r;
  if (g_tcp_gate != NULL) sb_tcp_gate_close_all(g_tcp_gate);
  CHECK(napi_get_undefined(env, &r));
  return r;
}

static void set_num(napi_env env, napi_value obj, const char *key, double v);

/* tcpGateStats(): this thread's accept decisions (cumulative) and the connections held now. */
static napi_value js_tcp_gate_stats(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value o;
  CHECK(napi_create_object(env, &o));
  const sb_tcp_gate *g = g_tcp_gate;
  set_num(env, o, "held", g != NULL ? g->nheld : 0);
  set_num(env, o, "heldTotal", g != NULL ? g->held_total : 0);
  set_num(env, o, "heldExpired", g != NULL ? g->held_expired : 0);
  set_num(env, o, "heldEvicted", g != NULL ? g->held_evicted : 0);
  set_num(env, o, "blockedClosed", g != NULL ? g->blocked_closed : 0);
  set_num(env, o, "strangersServed", g != NULL ? g->strangers_served : 0);
  set_num(env, o, "served", g != NULL ? g->served : 0);
  set_num(env, o, "heldMax", SB_TCP_HELD_MAX);
  const sb_tcp_wait *w = g_tcp_waiter != NULL ? &g_tcp_waiter->w : NULL;
  set_num(env, o, "waiting", w != NULL ? w->n : 0);
  set_num(env, o, "waitTotal", w != NULL ? w->total : 0);
  set_num(env, o, "waitHanded", w != NULL ? w->handed : 0);
  set_num(env, o, "waitExpired", w != NULL ? w->expired : 0);
  set_num(env, o, "waitEvicted", w != NULL ? w->evicted : 0);
  set_num(env, o, "waitClientClosed", w != NULL ? w->client_closed : 0);
  set_num(env, o, "waitRejected", w != NULL ? w->rejected : 0);
  set_num(env, o, "waitMax", SB_TCP_WAIT_MAX);
  set_num(env, o, "listening", g_tcp_waiter != NULL ? g_tcp_waiter->nls : 0);
  set_num(env, o, "listenTaken", g_tcp_waiter != NULL ? g_tcp_waiter->listen_taken : 0);
  set_num(env, o, "listenHanded", g_tcp_waiter != NULL ? g_tcp_waiter->listen_handed : 0);
  const sb_tcp_serve *sv = g_tcp_waiter != NULL ? g_tcp_waiter->sv : NULL;
  set_num(env, o, "servedInC", sv != NULL ? sv->n : 0);
  set_num(env, o, "serveTotal", sv != NULL ? sv->total : 0);
  set_num(env, o, "serveAnswered", sv != NULL ? sv->answered : 0);
  set_num(env, o, "serveHanded", sv != NULL ? sv->handed : 0);
  set_num(env, o, "serveMalformed", sv != NULL ? sv->malformed : 0);
  set_num(env, o, "serveIdleClosed", sv != NULL ? sv->idle_closed : 0);
  set_num(env, o, "serveClientClosed", sv != NULL ? sv->client_closed : 0);
  set_num(env, o, "serveRefused", sv != NULL ? sv->refused : 0);
  set_num(env, o, "serveJsRefused", sv != NULL ? sv->js_refused : 0);
  set_num(env, o, "serveJsUnheld", sv != NULL ? sv->js_unheld : 0);
  set_num(env, o, "serveWriteErrors", sv != NULL ? sv->write_errors : 0);
  set_num(env, o, "serveMax", SB_TCP_SERVE_MAX);
  napi_value rc;
  CHECK(napi_create_array_with_length(env, 16, &rc));
  for (uint32_t i = 0; i < 16; i++) {
    napi_value n;
    CHECK(napi_create_double(env, g_tcp_waiter != NULL ? g_tcp_waiter->sv_rcode[i] : 0, &n));
    CHECK(napi_set_element(env, rc, i, n));
  }
  CHECK(napi_set_named_property(env, o, "serveByRcode", rc));
  return o;
}

static void set_num(napi_env env, napi_value obj, const char *key, double v) {
  napi_value n;
  if (napi_create_double(env, v, &n) == napi_ok) napi_set_named_property(env, obj, key, n);
}

/* stats(handle): counters since open. */
static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], o;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sb_sock *s = argc >= 1 ? get_sock(env, argv[0]) : NULL;
  if (s == NULL) return throw_error(env, "ERR_NATIVE_UDP_ARGS", "stats(handle)");
  CHECK(napi_create_object(env, &o));
  set_num(env, o, "received", (double)s->received);
  set_num(env, o, "dropped", (double)s->dropped);
  set_num(env, o, "truncated", (double)s->truncated);
  set_num(env, o, "answeredC", (double)s->answered_c);
  set_num(env, o, "answeredJs", (double)s->js_answers);
  set_num(env, o, "sent", (double)s->sent);
  set_num(env, o, "sendErrors", (double)s->send_errors);
  set_num(env, o, "recvErrors", (double)s->recv_errors);
  set_num(env, o, "batches", (double)s->batches);
  set_num(env, o, "jsCalls", (double)s->js_calls);
  set_num(env, o, "pktinfo", (double)s->pktinfo);
  set_num(env, o, "queueDelayStamps", (double)s->tstamp);
  set_num(env, o, "queueDelayBehind", (double)s->qdelay_behind);
  set_num(env, o, "queueDelayMaxMs", s->qdelay_max_ms);
  napi_value rc;
  CHECK(napi_create_array_with_length(env, 16, &rc));
  for (uint32_t i = 0; i < 16; i++) {
    napi_value n;
    CHECK(napi_create_double(env, (double)s->c_rcode[i], &n));
    CHECK(napi_set_element(env, rc, i, n));
  }
  CHECK(napi_set_named_property(env, o, "answeredCByRcode", rc));
  set_num(env, o, "answeredCTruncated", (double)s->c_tc);
  set_num(env, o, "shieldDropped", (double)s->shield_dropped);
  set_num(env, o, "shieldTruncated", (double)s->shield_truncated);
  set_num(env, o, "rrlDropped", (double)s->rrl_dropped);
  set_num(env, o, "rrlSlipped", (double)s->rrl_slipped);
  set_num(env, o, "rrlDroppedC", (double)s->rrl_dropped_c);
  set_num(env, o, "prefilterPrefixes", (double)s->prefilter_prefixes);
  set_num(env, o, "prefilterPrefixes6", (double)s->prefilter_prefixes6);
  set_num(env, o, "prefilterZones", (double)s->prefilter_zones);
  set_num(env, o, "prefilterUpdates", (double)s->prefilter_updates);
  set_num(env, o, "prefilterErrors", (double)s->prefilter_errors);
  set_num(env, o, "prefilterAttaches", (double)s->prefilter_attaches);
  set_num(env, o, "prefilterSame", (double)s->prefilter_same);
  set_num(env, o, "prefilterLone", (double)s->prefilter_lone);
  set_num(env, o, "prefilterLoneDeferred", (double)s->lone_deferred);
  set_num(env, o, "prefilterLoneMapsOnly", (double)s->lone_maps_only);
  set_num(env, o, "idleClocks", (double)s->idle_clocks);
  return o;
}

/* preparse(bytes: Uint8Array) -> [status, flags, qnameLen, qtype, qclass, optSize, eversion, labels, questionEnd] */
static napi_value js_preparse(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], arr;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool is_ta = false;
  if (argc < 1 || napi_is_typedarray(env, argv[0], &is_ta) != napi_ok || !is_ta)
    return throw_error(env, "ERR_NATIVE_UDP_ARGS", "preparse(Uint8Array)");
  napi_typedarray_type tt;
  size_t len;
  void *data;
  CHECK(napi_get_typedarray_info(env, argv[0], &tt, &len, &data, NULL, NULL));
  if (tt != napi_uint8_array) return throw_error(env, "ERR_NATIVE_UDP_ARGS", "preparse(Uint8Array)");
  sb_preparse pp;
  sb_preparse_packet((const uint8_t *)data, len, &pp);
  uint32_t v[9] = {pp.status,         pp.flags,          pp.qname_len,      pp.qtype,          pp.qclass,
                   pp.opt_size,       pp.edns_version,   pp.label_count,    pp.question_end};
  CHECK(napi_create_array_with_length(env, 9, &arr));
  for (uint32_t i = 0; i < 9; i++) {
    napi_value n;
    CHECK(napi_create_uint32(env, v[i], &n));
    CHECK(napi_set_element(env, arr, i, n));
  }
  return arr;
}

/* A peer token (peer/sendTo): where and from where to answer one datagram later — the source's
 * address and the pktinfo of the address it was sent to, as a reply of the batch would carry. */
typedef struct sb_peer_token {
  uint32_t namelen;
  uint32_t ctllen;
  struct sockaddr_storage name;
  uint8_t ctl[SB_CTL];
} sb_peer_token;

/* peer(handle, index): during a batch's JS call, a token for answering datagram `index` later
 * (a DNS UPDATE relayed to the control plane); undefined outside a batch or for a bad index. */
static napi_value js_peer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sb_sock *s = argc >= 1 ? get_sock(env, argv[0]) : NULL;
  uint32_t idx = 0;
  if (s == NULL || argc < 2 || napi_get_value_uint32(env, argv[1], &idx) != napi_ok)
    return throw_error(env, "ERR_NATIVE_UDP_ARGS", "peer(handle, index)");
  if (!s->in_callback || s->closed || idx >= s->cur_n || idx >= SB_BATCH) return NULL;
  void *data = NULL;
  CHECK(napi_create_buffer(env, sizeof(sb_peer_token), &data, &out));
  sb_peer_token t;
  memset(&t, 0, sizeof(t));
  socklen_t nl = s->rmsg[idx].msg_hdr.msg_namelen;
  if (nl > sizeof(t.name)) nl = sizeof(t.name);
  memcpy(&t.name, &s->raddr[idx], nl);
  t.namelen = nl;
  t.ctllen = (uint32_t)reply_pktinfo(s, idx, t.ctl);
  memcpy(data, &t, sizeof(t));
  return out;
}

/* sendTo(handle, token, bytes): sends one datagram as a reply to the datagram the token is of
 * (peer()); false when it could not be sent (closed socket, bad token, too long, EAGAIN). */
static napi_value js_send_to(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], res;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sb_sock *s = argc >= 1 ? get_sock(env, argv[0]) : NULL;
  bool is_ta1 = false, is_ta2 = false;
  if (s == NULL || argc < 3 || napi_is_typedarray(env, argv[1], &is_ta1) != napi_ok ||
      napi_is_typedarray(env, argv[2], &is_ta2) != napi_ok || !is_ta1 || !is_ta2)
    return throw_error(env, "ERR_NATIVE_UDP_ARGS", "sendTo(handle, token, Uint8Array)");
  napi_typedarray_type tt1, tt2;
  size_t tlen, dlen;
  void *tdata, *ddata;
  CHECK(napi_get_typedarray_info(env, argv[1], &tt1, &tlen, &tdata, NULL, NULL));
  CHECK(napi_get_typedarray_info(env, argv[2], &tt2, &dlen, &ddata, NULL, NULL));
  bool ok = false;
  sb_peer_token t;
  if (!s->closed && tt1 == napi_uint8_array && tt2 == napi_uint8_array && tlen == sizeof(t) && dlen > 0 &&
      dlen <= 65507) {
    memcpy(&t, tdata, sizeof(t));
    if (t.namelen > 0 && t.namelen <= sizeof(t.name) && t.ctllen <= SB_CTL) {
      struct iovec iov = {.iov_base = ddata, .iov_len = dlen};
      struct msghdr h;
      memset(&h, 0, sizeof(h));
      h.msg_name = &t.name;
      h.msg_namelen = t.namelen;
      h.msg_iov = &iov;
      h.msg_iovlen = 1;
      if (t.ctllen > 0) {
        h.msg_control = t.ctl;
        h.msg_controllen = t.ctllen;
      }
      ssize_t r;
      do r = sendmsg(s->fd, &h, MSG_DONTWAIT);
      while (r < 0 && errno == EINTR);
      ok = r == (ssize_t)dlen;
      if (ok) s->sent++;
      else s->send_errors++;
    }
  }
  CHECK(napi_get_boolean(env, ok, &res));
  return res;
}

/* layout(): the buffer layout constants, so JS never hard-codes them. */
static napi_value js_layout(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value o;
  CHECK(napi_create_object(env, &o));
  set_num(env, o, "batch", SB_BATCH);
  set_num(env, o, "slot", SB_SLOT);
  set_num(env, o, "inDescWords", SB_IN_DESC_WORDS);
  set_num(env, o, "inDataOffset", SB_IN_DATA_OFF);
  set_num(env, o, "inSize", SB_IN_SIZE);
  set_num(env, o, "outDescWords", SB_OUT_DESC_WORDS);
  set_num(env, o, "outDataOffset", SB_OUT_DATA_OFF);
  set_num(env, o, "outDataCap", SB_OUT_DATA_CAP);
  set_num(env, o, "outSize", SB_OUT_SIZE);
  set_num(env, o, "maxBatchesPerWakeup", SB_WAKE_BATCHES);
  set_num(env, o, "version", 1);
  return o;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"flush", NULL, js_flush, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"filterTcp", NULL, js_filter_tcp, NULL, NULL, NULL, napi_default, NULL},
      {"acceptTcp", NULL, js_accept_tcp, NULL, NULL, NULL, napi_default, NULL},
      {"tcpJudge", NULL, js_tcp_judge, NULL, NULL, NULL, napi_default, NULL},
      {"tcpGateSweep", NULL, js_tcp_gate_sweep, NULL, NULL, NULL, napi_default, NULL},
      {"tcpGateClose", NULL, js_tcp_gate_close, NULL, NULL, NULL, napi_default, NULL},
      {"tcpGateStats", NULL, js_tcp_gate_stats, NULL, NULL, NULL, napi_default, NULL},
      {"tcpGateConfigure", NULL, js_tcp_gate_configure, NULL, NULL, NULL, napi_default, NULL},
      {"tcpWaitStart", NULL, js_tcp_wait_start, NULL, NULL, NULL, napi_default, NULL},
      {"tcpServeStart", NULL, js_tcp_serve_start, NULL, NULL, NULL, napi_default, NULL},
      {"tcpClientNote", NULL, js_tcp_client_note, NULL, NULL, NULL, napi_default, NULL},
      {"tcpWaitClose", NULL, js_tcp_wait_close, NULL, NULL, NULL, napi_default, NULL},
      {"tcpListen", NULL, js_tcp_listen, NULL, NULL, NULL, napi_default, NULL},
      {"tcpUnlisten", NULL, js_tcp_unlisten, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
      {"preparse", NULL, js_preparse, NULL, NULL, NULL, napi_default, NULL},
      {"layout", NULL, js_layout, NULL, NULL, NULL, napi_default, NULL},
      {"peer", NULL, js_peer, NULL, NULL, NULL, napi_default, NULL},
      {"sendTo", NULL, js_send_to, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return NULL;
  if (!sb_image_define(env, exports)) return NULL;
  if (!sb_mmap_define(env, exports)) return NULL;
  if (!sb_shield_define(env, exports)) return NULL;
  return exports;
}
