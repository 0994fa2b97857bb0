/*
 * Plain DNS-over-TCP queries answered in C (tcpc23; issue 7 "TCP keeps working from the same
 * images", issue 8's two-worker p99): a fixed table of connections this thread serves without any
 * JS object. Each readable connection's frames (2-octet length, RFC 1035 §4.2.2; pipelined, split
 * across reads) are answered in order by a callback (udp.c: the zone images, image.c's TCP mode)
 * and written non-blocking; the first frame the callback cannot answer, a frame longer than the
 * inline buffer left incomplete, or a write the client does not take at once hands the connection
 * over (sb_tcp_hand: the octets read but not answered and the answers not yet written, for JS to
 * start from) and the table forgets it. Idle connections are closed at the idle timeout (a
 * shorter one for a connection that never asked anything while the shield is pressed), and a
 * frame once begun must be complete within the idle timeout, as src/transport/tcp.ts does.
 * Pure C: no allocation after init, no N-API (the harness runs it on real sockets).
 */
#ifndef SB_TCP_SERVE_H
#define SB_TCP_SERVE_H

#include <stddef.h>
#include <stdint.h>

/* Connections served in C at once per thread (beyond it: handed to JS as before). */
#define SB_TCP_SERVE_MAX 1024
/* A partial frame kept between reads: its length and up to 512 octets (a query C can answer is
 * smaller: a QNAME of at most 255 octets, an OPT with NSID or padding). A longer frame left
 * incomplete by a read is handed to JS. */
#define SB_TCP_INLINE 514
/* Octets read from one connection at a time. */
#define SB_TCP_READ 16384
/* Reads of one connection per wake-up at most (the epoll set is level-triggered: more is read on
 * the next one). */
#define SB_TCP_READS_PER_WAKE 4
/* Answers of one read are collected here and written at once (flushed before one that might not
 * fit: an answer is at most 65,535 octets). */
#define SB_TCP_OUT (2 * (65535 + 2))
/* The shortest frame: a DNS header (tcp.ts MIN_FRAME). */
#define SB_TCP_SERVE_MIN_FRAME 12
/* (tidy25) Client addresses with connections JS serves that the count table holds at most
 * (sb_tcp_serve_js_open): beyond them JS counts a new client's connections itself. */
#define SB_TCP_JS_CLIENTS SB_TCP_SERVE_MAX
/* (tcpl24) Slots of the per-client count table: twice the client addresses it can hold (C's
 * connections' and JS's, SB_TCP_SERVE_MAX each), so at most half are used and a probe ends soon.
 * A power of two. */
#define SB_TCP_CLIENT_SLOTS (2 * (SB_TCP_SERVE_MAX + SB_TCP_JS_CLIENTS))

/* One client address's open connections in this thread, C's and JS's (`n` 0: a free slot), `js`
 * of them JS's; the address as 16 octets (IPv4 as IPv4-mapped). */
typedef struct {
  uint8_t addr[16];
  uint32_t n;
  uint32_t js;
} sb_tcp_client;

/* Answers the query `q` (`len` octets, one complete frame's message) into `out` (room for `cap`,
 * at least 65,535): the response's length, or 0 when JS must answer it. */
typedef size_t (*sb_tcp_answer_fn)(void *ctx, const uint8_t *q, size_t len, uint8_t *out, size_t cap);

typedef struct {
  int fd;  /* -1: free */
  int lfd; /* the listening socket it came from (which listener JS hands it to) */
  double at_ms;    /* taken at */
  double last_ms;  /* the last octet received or sent (or taken at) */
  double frame_ms; /* when the partial frame in `pre` began; 0 none */
  int32_t prev, next;
  uint32_t gen;
  uint32_t answered; /* frames answered on this connection */
  uint16_t port;
  uint8_t alen; /* 4 or 16 */
  uint8_t addr[16];
  uint16_t plen; /* octets of a partial frame kept (its length prefix included) */
  uint8_t pre[SB_TCP_INLINE];
} sb_tcp_conn;

/* A connection handed over: its descriptor and peer, the octets read and not answered (`in`, from
 * the first frame C did not answer, its length prefix included) and the answers not yet written
 * (`out`, to be written before anything else). Both point into the table's scratch buffers: valid
 * until the next call on the table. */
typedef struct {
  int fd, lfd, port;
  uint8_t alen;
  uint8_t addr[16];
  const uint8_t *in;
  size_t in_len;
  const uint8_t *out;
  size_t out_len;
} sb_tcp_hand;

typedef struct {
  sb_tcp_conn c[SB_TCP_SERVE_MAX];
  int32_t head, tail; /* the open connections, in the order they came */
  int32_t free_top;   /* a stack of free slots through `next` */
  unsigned n;
  /* Settings (the listener's): the idle timeout, the first-query deadline while pressed, the most
   * open at once here and in JS together (the table holds SB_TCP_SERVE_MAX) and per client address. */
  double idle_ms, pressed_ms;
  unsigned max_open, max_per_client;
  /* The connections JS serves now in this thread (tcp.ts keeps it; NULL: none counted): C takes a
   * connection only while its own and JS's together are under max_open. */
  const double *js_open;
  /* Counters (cumulative): taken to serve, frames answered, handed to JS, closed for a short
   * frame, closed idle (or silent under pressure, or a frame not completed in time), closed by
   * the client (its FIN or a reset), refused (the per-client limit), write failures. */
  double total, answered, handed, malformed, idle_closed, client_closed, refused, write_errors;
  /* (tcpl24) The open connections per client address (open addressing, linear probes, removal by
   * backward shift): the per-client limit's count in O(1) where a walk over the table cost O(n)
   * per connection taken under a connection flood. */
  sb_tcp_client clients[SB_TCP_CLIENT_SLOTS];
  unsigned nclients;
  /* (tidy25) Addresses with `js` > 0 (at most SB_TCP_JS_CLIENTS), and JS's opens the table could
   * not hold (JS counted them itself) and refused (the per-client limit, C's and JS's together). */
  unsigned njs;
  double js_unheld, js_refused;
  /* Scratch: one read (after the kept partial frame), and the answers of one read. */
  uint8_t in[SB_TCP_INLINE + SB_TCP_READ];
  uint8_t out[SB_TCP_OUT];
} sb_tcp_serve;

/* Empties `s` (nothing open: call sb_tcp_serve_close_all first when reusing) with its settings. */
void sb_tcp_serve_init(sb_tcp_serve *s, double idle_ms, double pressed_ms, unsigned max_open, unsigned max_per_client);

/* Connections open from `addr` (`alen` 4|16), C's and those JS noted: the count table's, O(1). */
unsigned sb_tcp_serve_count_client(const sb_tcp_serve *s, const uint8_t *addr, size_t alen);

/* (tidy25) One count per client for C's and JS's connections: JS notes each connection it serves
 * (a hand-over from C, one accepted while C's table is full, libuv's) before serving it.
 * SB_TCP_JS_COUNTED: counted here (JS calls sb_tcp_serve_js_close when it closes); SB_TCP_JS_REFUSED:
 * the client has max_per_client open already, C's and JS's (JS closes it: nothing counted);
 * SB_TCP_JS_UNHELD: a new address while SB_TCP_JS_CLIENTS hold JS connections already (JS counts
 * it itself: such a client may then hold up to max_per_client on each side). */
enum { SB_TCP_JS_COUNTED = 1, SB_TCP_JS_REFUSED = 0, SB_TCP_JS_UNHELD = 2 };
int sb_tcp_serve_js_open(sb_tcp_serve *s, const uint8_t *addr, size_t alen);
/* One of JS's connections counted by sb_tcp_serve_js_open closed: 1, or 0 when none is counted. */
int sb_tcp_serve_js_close(sb_tcp_serve *s, const uint8_t *addr, size_t alen);

/* Takes `fd` (non-blocking, from `lfd`, peer `addr`/`port`) to serve at `now_ms`: its slot, or -1
 * when the table is full or at max_open with JS's (the caller hands it to JS), or -2 when the client has
 * max_per_client open here already (the caller closes it: counted refused). */
int32_t sb_tcp_serve_add(sb_tcp_serve *s, int fd, int lfd, const uint8_t *addr, size_t alen, int port, double now_ms);

enum { SB_TCP_KEEP = 0, SB_TCP_CLOSED = 1, SB_TCP_HANDED = 2 };

/* `slot`'s connection is readable (or `peer_closed`: hung up): reads, answers its complete frames
 * in order with `answer`, writes the answers. SB_TCP_KEEP: still served here; SB_TCP_CLOSED: closed
 * and freed (the client closed, a short frame, a write error); SB_TCP_HANDED: freed without closing,
 * *hand filled (the caller gives it to JS or resets it). */
int sb_tcp_serve_readable(sb_tcp_serve *s, int32_t slot, double now_ms, sb_tcp_answer_fn answer, void *ctx,
                          sb_tcp_hand *hand);

/* Closes the connections whose time came: no octet for idle_ms (pressed_ms for one that never
 * asked anything while `pressed`), or a frame begun idle_ms ago and still incomplete. At most
 * `max` (0: all). Returns how many. */
unsigned sb_tcp_serve_sweep(sb_tcp_serve *s, double now_ms, int pressed, unsigned max);

/* Frees `slot` without closing its descriptor (handed over elsewhere); its fd or -1. */
int sb_tcp_serve_take(sb_tcp_serve *s, int32_t slot);

/* Closes every connection of the listening socket `lfd` (-1: every one). */
void sb_tcp_serve_close_all(sb_tcp_serve *s, int lfd);

/* The next frame at `b[off..n)`: 1 complete (*flen its message's length), 0 not yet, -1 shorter
 * than a DNS header. */
int sb_tcp_next_frame(const uint8_t *b, size_t n, size_t off, size_t *flen);

#endif
