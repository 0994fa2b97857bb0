/*
 * Plain DNS-over-TCP queries answered in C (tcp_serve.h). Every index is bounded by the table
 * and buffer sizes; the answer callback gets a frame that lies inside the read buffer.
 */
#include "tcp_serve.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const uint8_t V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void sb_tcp_serve_init(sb_tcp_serve *s, double idle_ms, double pressed_ms, unsigned max_open, unsigned max_per_client) {
  /* The scratch buffers need no clearing: only the table and the counters. */
  memset(s, 0, offsetof(sb_tcp_serve, in));
  for (int32_t i = 0; i < SB_TCP_SERVE_MAX; i++) {
    s->c[i].fd = -1;
    s->c[i].next = i + 1 < SB_TCP_SERVE_MAX ? i + 1 : -1;
    s->c[i].prev = -1;
  }
  s->free_top = 0;
  s->head = s->tail = -1;
  s->idle_ms = idle_ms;
  s->pressed_ms = pressed_ms;
  s->max_open = max_open;
  s->max_per_client = max_per_client;
  s->js_open = NULL;
}

/* The address as 16 octets (IPv4 as IPv4-mapped) for comparing clients. */
static void canon(const uint8_t *addr, size_t alen, uint8_t out[16]) {
  if (alen == 4) {
    memcpy(out, V4_MAPPED, 12);
    memcpy(out + 12, addr, 4);
  } else if (alen == 16) {
    memcpy(out, addr, 16);
  } else {
    memset(out, 0, 16);
  }
}

/* The home slot of a canonical address in the count table (FNV-1a over its 16 octets). */
static uint32_t client_home(const uint8_t k[16]) {
  uint32_t h = 2166136261u;
  for (int i = 0; i < 16; i++) h = (h ^ k[i]) * 16777619u;
  return (h ^ (h >> 15)) & (SB_TCP_CLIENT_SLOTS - 1);
}

/* The slot holding `k`, or the free slot where it would go. Ends: at most half the slots are used
 * (each holds an open connection's client: at most SB_TCP_SERVE_MAX of C's, SB_TCP_JS_CLIENTS
 * of JS's). */
static uint32_t client_slot(const sb_tcp_serve *s, const uint8_t k[16]) {
  uint32_t i = client_home(k);
  while (s->clients[i].n != 0 && memcmp(s->clients[i].addr, k, 16) != 0) i = (i + 1) & (SB_TCP_CLIENT_SLOTS - 1);
  return i;
}

/* Frees the count table's slot `i` (its count fell to 0): the probe runs after it shifted back so
 * every entry stays reachable from its home slot. */
static void free_client(sb_tcp_serve *s, uint32_t i) {
  const uint32_t mask = SB_TCP_CLIENT_SLOTS - 1;
  s->nclients--;
  for (uint32_t j = (i + 1) & mask;; j = (j + 1) & mask) {
    if (s->clients[j].n == 0) break;
    uint32_t home = client_home(s->clients[j].addr);
    /* Stays when its home lies cyclically in (i, j]: moving it to i would put it before its home. */
    int stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays) continue;
    s->clients[i] = s->clients[j];
    i = j;
  }
  s->clients[i].n = 0;
  s->clients[i].js = 0;
}

/* One more open connection from `k` (C's). */
static void client_add(sb_tcp_serve *s, const uint8_t k[16]) {
  uint32_t i = client_slot(s, k);
  if (s->clients[i].n == 0) {
    memcpy(s->clients[i].addr, k, 16);
    s->clients[i].js = 0;
    s->nclients++;
  }
  s->clients[i].n++;
}

/* One fewer of C's from `k`; its slot freed at 0. */
static void client_remove(sb_tcp_serve *s, const uint8_t k[16]) {
  uint32_t i = client_slot(s, k);
  if (s->clients[i].n <= s->clients[i].js) return; /* none of C's counted (not reached) */
  if (--s->clients[i].n == 0) free_client(s, i);
}

int sb_tcp_serve_js_open(sb_tcp_serve *s, const uint8_t *addr, size_t alen) {
  if (alen != 4 && alen != 16) return SB_TCP_JS_UNHELD;
  uint8_t k[16];
  canon(addr, alen, k);
  uint32_t i = client_slot(s, k);
  sb_tcp_client *e = &s->clients[i];
  if (s->max_per_client > 0 && e->n >= s->max_per_client) {
    s->js_refused++;
    return SB_TCP_JS_REFUSED;
  }
  if (e->js == 0) {
    /* A new address among JS's: held while fewer than SB_TCP_JS_CLIENTS are (the table's bound). */
    if (s->njs >= SB_TCP_JS_CLIENTS) {
      s->js_unheld++;
      return SB_TCP_JS_UNHELD;
    }
    if (e->n == 0) {
      memcpy(e->addr, k, 16);
      s->nclients++;
    }
    s->njs++;
  }
  e->n++;
  e->js++;
  return SB_TCP_JS_COUNTED;
}

int sb_tcp_serve_js_close(sb_tcp_serve *s, const uint8_t *addr, size_t alen) {
  if (alen != 4 && alen != 16) return 0;
  uint8_t k[16];
  canon(addr, alen, k);
  uint32_t i = client_slot(s, k);
  sb_tcp_client *e = &s->clients[i];
  if (e->js == 0) return 0;
  if (--e->js == 0) s->njs--;
  if (--e->n == 0) free_client(s, i);
  return 1;
}

unsigned sb_tcp_serve_count_client(const sb_tcp_serve *s, const uint8_t *addr, size_t alen) {
  uint8_t k[16];
  canon(addr, alen, k);
  return s->clients[client_slot(s, k)].n;
}

int32_t sb_tcp_serve_add(sb_tcp_serve *s, int fd, int lfd, const uint8_t *addr, size_t alen, int port, double now_ms) {
  double js = s->js_open != NULL && *s->js_open > 0 ? *s->js_open : 0;
  if (fd < 0 || (alen != 4 && alen != 16) || s->free_top < 0 || (double)s->n + js >= (double)s->max_open) return -1;
  if (s->max_per_client > 0 && sb_tcp_serve_count_client(s, addr, alen) >= s->max_per_client) {
    s->refused++;
    return -2;
  }
  int32_t i = s->free_top;
  sb_tcp_conn *c = &s->c[i];
  s->free_top = c->next;
  c->fd = fd;
  c->lfd = lfd;
  c->at_ms = c->last_ms = now_ms;
  c->frame_ms = 0;
  c->answered = 0;
  c->port = (uint16_t)port;
  c->alen = (uint8_t)alen;
  canon(addr, alen, c->addr);
  client_add(s, c->addr);
  c->plen = 0;
  c->gen++;
  c->prev = s->tail;
  c->next = -1;
  if (s->tail >= 0) s->c[s->tail].next = i;
  else s->head = i;
  s->tail = i;
  s->n++;
  s->total++;
  return i;
}

int sb_tcp_serve_take(sb_tcp_serve *s, int32_t slot) {
  if (slot < 0 || slot >= SB_TCP_SERVE_MAX || s->c[slot].fd < 0) return -1;
  sb_tcp_conn *c = &s->c[slot];
  int fd = c->fd;
  client_remove(s, c->addr);
  if (c->prev >= 0) s->c[c->prev].next = c->next;
  else s->head = c->next;
  if (c->next >= 0) s->c[c->next].prev = c->prev;
  else s->tail = c->prev;
  c->fd = -1;
  c->prev = -1;
  c->next = s->free_top;
  s->free_top = slot;
  s->n--;
  return fd;
}

/* Closes and frees `slot` (FIN: the answers written go out first, as tcp.ts's end()). */
static void drop(sb_tcp_serve *s, int32_t slot) {
  int fd = sb_tcp_serve_take(s, slot);
  if (fd >= 0) close(fd);
}

int sb_tcp_next_frame(const uint8_t *b, size_t n, size_t off, size_t *flen) {
  if (off > n || n - off < 2) return 0;
  size_t l = ((size_t)b[off] << 8) | b[off + 1];
  if (l < SB_TCP_SERVE_MIN_FRAME) return -1;
  if (n - off - 2 < l) return 0;
  *flen = l;
  return 1;
}

/* Writes `len` octets without blocking: how many went (<= len), or -1 on a failure (reset). */
static long flush(int fd, const uint8_t *b, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t w = send(fd, b + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      done += (size_t)w;
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return -1;
  }
  return (long)done;
}

/* Hands `slot` over with the octets `in` read and not answered, and `out` not yet written. */
static int hand_over(sb_tcp_serve *s, int32_t slot, const uint8_t *in, size_t in_len, const uint8_t *out,
                     size_t out_len, sb_tcp_hand *h) {
  const sb_tcp_conn *c = &s->c[slot];
  h->lfd = c->lfd;
  h->port = c->port;
  h->alen = c->alen;
  if (c->alen == 4) memcpy(h->addr, c->addr + 12, 4);
  else memcpy(h->addr, c->addr, 16);
  h->in = in;
  h->in_len = in_len;
  h->out = out;
  h->out_len = out_len;
  h->fd = sb_tcp_serve_take(s, slot);
  s->handed++;
  return SB_TCP_HANDED;
}

int sb_tcp_serve_readable(sb_tcp_serve *s, int32_t slot, double now_ms, sb_tcp_answer_fn answer, void *ctx,
                          sb_tcp_hand *hand) {
  if (slot < 0 || slot >= SB_TCP_SERVE_MAX || s->c[slot].fd < 0) return SB_TCP_CLOSED;
  sb_tcp_conn *c = &s->c[slot];
  size_t opos = 0;
  for (int reads = 0; reads < SB_TCP_READS_PER_WAKE; reads++) {
    size_t n = c->plen;
    memcpy(s->in, c->pre, n);
    ssize_t r = recv(c->fd, s->in + n, SB_TCP_READ, MSG_DONTWAIT);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (r <= 0) {
      /* The client shut its side (every complete frame it sent is answered below: an incomplete
       * trailing one is dropped) or reset the connection. */
      long w = opos > 0 && r == 0 ? flush(c->fd, s->out, opos) : (long)opos;
      if (w >= 0 && (size_t)w < opos) {
        c->plen = 0;
        return hand_over(s, slot, s->in, 0, s->out + w, opos - (size_t)w, hand);
      }
      s->client_closed++;
      drop(s, slot);
      return SB_TCP_CLOSED;
    }
    c->last_ms = now_ms;
    n += (size_t)r;
    size_t off = 0, flen = 0;
    uint32_t before = c->answered;
    for (;;) {
      int f = sb_tcp_next_frame(s->in, n, off, &flen);
      if (f == 0) break;
      if (f < 0) {
        /* Shorter than a header: the answers due go out, then the connection closes. */
        if (opos > 0) (void)flush(c->fd, s->out, opos);
        s->malformed++;
        drop(s, slot);
        return SB_TCP_CLOSED;
      }
      if (opos + 2 + 65535 > SB_TCP_OUT) {
        long w = flush(c->fd, s->out, opos);
        if (w < 0) {
          s->write_errors++;
          drop(s, slot);
          return SB_TCP_CLOSED;
        }
        if ((size_t)w < opos) return hand_over(s, slot, s->in + off, n - off, s->out + w, opos - (size_t)w, hand);
        opos = 0;
      }
      size_t alen = answer(ctx, s->in + off + 2, flen, s->out + opos + 2, 65535);
      if (alen == 0 || alen > 65535) return hand_over(s, slot, s->in + off, n - off, s->out, opos, hand);
      s->out[opos] = (uint8_t)(alen >> 8);
      s->out[opos + 1] = (uint8_t)alen;
      opos += 2 + alen;
      off += 2 + flen;
      c->answered++;
      s->answered++;
    }
    size_t rest = n - off;
    if (rest > 0) {
      size_t want = rest >= 2 ? 2 + (((size_t)s->in[off] << 8) | s->in[off + 1]) : 0;
      /* A frame longer than the inline buffer: JS assembles it (C answers only small queries). */
      if (rest > SB_TCP_INLINE || want > SB_TCP_INLINE)
        return hand_over(s, slot, s->in + off, rest, s->out, opos, hand);
      memmove(c->pre, s->in + off, rest);
      /* A frame begun in this read (after a finished one, or the first): its deadline starts now. */
      if (c->answered != before || c->frame_ms == 0) c->frame_ms = now_ms;
    } else {
      c->frame_ms = 0;
    }
    c->plen = (uint16_t)rest;
    if ((size_t)r < SB_TCP_READ) break;
  }
  if (opos > 0) {
    long w = flush(c->fd, s->out, opos);
    if (w < 0) {
      s->write_errors++;
      drop(s, slot);
      return SB_TCP_CLOSED;
    }
    if ((size_t)w < opos) {
      /* The client does not take its answers at once: JS keeps them (with its back-pressure). */
      size_t keep = c->plen;
      memcpy(s->in, c->pre, keep);
      c->plen = 0;
      return hand_over(s, slot, s->in, keep, s->out + w, opos - (size_t)w, hand);
    }
    c->last_ms = now_ms;
  }
  return SB_TCP_KEEP;
}

unsigned sb_tcp_serve_sweep(sb_tcp_serve *s, double now_ms, int pressed, unsigned max) {
  unsigned closed = 0;
  int32_t i = s->head;
  while (i >= 0 && (max == 0 || closed < max)) {
    const sb_tcp_conn *c = &s->c[i];
    int32_t next = c->next;
    int due = now_ms - c->last_ms >= s->idle_ms || (c->frame_ms > 0 && now_ms - c->frame_ms >= s->idle_ms) ||
              (pressed && c->answered == 0 && now_ms - c->at_ms >= s->pressed_ms);
    if (due) {
      s->idle_closed++;
      drop(s, i);
      closed++;
    }
    i = next;
  }
  return closed;
}

void sb_tcp_serve_close_all(sb_tcp_serve *s, int lfd) {
  int32_t i = s->head;
  while (i >= 0) {
    int32_t next = s->c[i].next;
    if (lfd < 0 || s->c[i].lfd == lfd) drop(s, i);
    i = next;
  }
}
