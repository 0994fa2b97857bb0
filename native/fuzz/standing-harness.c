/*
 * The shared source-standing table (native/standing.c) under ASan/UBSan, with real processes:
 * test/native/standing.test.ts runs `standing-harness check DIR` and reads its "ok"/"FAIL" lines.
 * `standing-harness bench N` (built -O2, no sanitizers) times a datagram's source work (tier +
 * calm credit) on a private table against the shared one, alternated (docs/PERFORMANCE.md
 * "share2w"). `standing-harness rrlbench N DIR` times an RRL decision on a worker's own table against
 * the shared buckets, and two processes deciding at once on one hot bucket (docs/SHIELD.md "One
 * account per client block").
 *
 * Children are this program again (/proc/self/exe), so each maps the file on its own, as a worker
 * does: `child earn|expect|flood|credit|die PATH ...`.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../standing.h"

extern char **environ;

#define TABLE 262144
#define HISTORY_MIN 8
static int failures = 0;

static void check(int ok, const char *what) {
  printf("%s %s\n", ok ? "ok" : "FAIL", what);
  if (!ok) failures++;
}

static int attach(sb_sources *s, const char *path, uint32_t size) {
  const char *why = "";
  int r = sb_standing_attach(s, path, size, HISTORY_MIN, 0.8, 3600, 3600, &why);
  if (r != 0) fprintf(stderr, "attach %s: %s\n", path, why);
  return r;
}

static uint32_t key4(uint32_t ip) {
  uint8_t a[4] = {(uint8_t)(ip >> 24), (uint8_t)(ip >> 16), (uint8_t)(ip >> 8), (uint8_t)ip};
  return sb_sources_key(a, 4);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static uint32_t key6(uint64_t prefix64) {
  uint8_t a[16];
  for (int i = 0; i < 8; i++) a[i] = (uint8_t)(prefix64 >> (56 - 8 * i));
  for (int i = 8; i < 16; i++) a[i] = (uint8_t)next();
  return sb_sources_key(a, 16);
}

/* The resolvers the flood must not push out: 127.1.x.y, 1,000 of them. */
#define RESOLVERS 1000
static uint32_t resolver(int i) { return (127u << 24) | (1u << 16) | (uint32_t)(i / 250) << 8 | (uint32_t)(1 + i % 250); }

/* A limiter of the server's shape deciding with the shared RRL buckets of the file attached last. */
static int rrl_shared(sb_rrl *r, double rate, double all, unsigned slip) {
  const double rates[5] = {rate, rate, rate, rate, rate};
  if (sb_rrl_init(r, rates, all, 1, slip, 24, 56, 1024, 0) != 0) return -1;
  uint32_t n = 0;
  uint64_t *w = sb_standing_rrl_words(&n);
  if (w == NULL || n != SB_STANDING_RRL_WORDS) return -1;
  sb_rrl_share(r, w, n);
  return r->shared != NULL ? 0 : -1;
}

static int child(int argc, char **argv) {
  if (argc < 4) return 2;
  const char *what = argv[2], *path = argv[3];
  if ((strcmp(what, "block") == 0 || strcmp(what, "republish") == 0) && argc > 4) setenv("SWITCHBOARD_WORKER_SLOT", argv[4], 1);
  sb_sources s;
  if (attach(&s, path, TABLE) != 0) return 3;
  double base = argc > 4 ? atof(argv[4]) : 1e6;
  if (strcmp(what, "earn") == 0) {
    /* 9 calm seconds of one resolver (127.1.0.1), and a TC=1 to 127.1.0.2. */
    for (int i = 0; i < 9; i++) sb_sources_note_calm(&s, key4(resolver(0)), 1, base + i * 1000.0);
    sb_sources_note_truncated(&s, key4(resolver(1)), base + 9000);
    return 0;
  }
  if (strcmp(what, "expect") == 0) {
    return sb_sources_tier(&s, key4(resolver(0)), 0, base + 10000) == SB_TIER_HISTORY ? 0 : 1;
  }
  if (strcmp(what, "die") == 0) {
    sb_sources_note_cookie(&s, key4(resolver(2)), base);
    raise(SIGKILL);
    return 4;
  }
  if (strcmp(what, "flood") == 0) {
    /* A bot rotating through IPv6 /64s: 1,000,000 new sources, each sent a TC=1 or credited. */
    rng ^= (uint64_t)getpid() * 0x2545f4914f6cdd1dull;
    for (int i = 0; i < 1000000; i++) {
      uint32_t k = key6(0x20010db800000000ull | (next() & 0xffffffffull));
      if (i & 1)
        sb_sources_note_truncated(&s, k, base + i * 0.01);
      else
        sb_sources_note_calm(&s, k, 0, base + i * 0.01);
    }
    return 0;
  }
  if (strcmp(what, "block") == 0) {
    /* (after attaching with SWITCHBOARD_WORKER_SLOT = argv[4]) this worker's blocked set. */
    uint32_t slot = (uint32_t)atoi(argv[4]);
    uint32_t p[2] = {0x7f020000u | slot << 8, 0x7f7f0000u};
    sb_standing_publish_blocks(p, 2);
    return 0;
  }
  if (strcmp(what, "republish") == 0) {
    /* onset22: this worker's set published again as it stands moves no generation (the other
     * workers build no TCP program for it); a changed set does. Exit 0 when both hold. */
    uint32_t slot = (uint32_t)atoi(argv[4]);
    uint32_t p[2] = {0x7f020000u | slot << 8, 0x7f7f0000u};
    const uint32_t *u24;
    unsigned nu;
    sb_standing_publish_blocks(p, 2);
    uint64_t g1 = sb_standing_blocks_union(&u24, &nu);
    sb_standing_publish_blocks(p, 2);
    uint64_t g2 = sb_standing_blocks_union(&u24, &nu);
    sb_standing_publish_blocks(p, 1);
    uint64_t g3 = sb_standing_blocks_union(&u24, &nu);
    sb_standing_publish_blocks(p, 2);
    uint64_t g4 = sb_standing_blocks_union(&u24, &nu);
    return g2 == g1 && g3 != g2 && g4 != g3 ? 0 : 1;
  }
  if (strcmp(what, "tcp") == 0 || strcmp(what, "tcp1") == 0) {
    /* Strangers' connections at one instant: 200 from 40 blocks ("tcp"), or 20 from one ("tcp1");
     * the exit code says how many the server's budget (64 a second, 8 a block) took. */
    int took = 0, one = strcmp(what, "tcp1") == 0;
    for (int i = 0; i < (one ? 20 : 200); i++) {
      uint64_t key = (4ull << 56) | (0x7f0200u + (one ? 0u : (uint32_t)(i % 40)));
      took += sb_standing_tcp_take(key, base, 64, 8) == 1;
    }
    return took;
  }
  if (strcmp(what, "rrl") == 0) {
    /* Ten identical answers to one /24 at one instant (rate 5, window 1, slip 2) through the shared
     * RRL buckets; the exit code: sent + 11 × truncated. */
    sb_rrl r;
    if (rrl_shared(&r, 5, 0, 2) != 0) return 200;
    int sent = 0, slipped = 0;
    for (int i = 0; i < 10; i++) {
      int d = sb_rrl_decide(&r, 0x7f0300u, 0, 0x1234u, base);
      sent += d == SB_RRL_SEND;
      slipped += d == SB_RRL_SLIP;
    }
    sb_rrl_free(&r);
    return sent + 11 * slipped;
  }
  if (strcmp(what, "credit") == 0) {
    /* Calm credits for one source from 0 to 20 s in 0.25 ms steps: each worker tries them all. */
    for (int i = 0; i <= 80000; i++) sb_sources_note_calm(&s, key4(0x0a000001u), 1, base + i * 0.25);
    return 0;
  }
  return 2;
}

static pid_t spawn(const char *self, const char *what, const char *path, const char *base) {
  pid_t pid;
  char *args[] = {(char *)self, "child", (char *)what, (char *)path, (char *)base, NULL};
  if (posix_spawn(&pid, self, NULL, NULL, args, environ) != 0) return -1;
  return pid;
}

static int wait_for(pid_t pid, int *sig) {
  int st = 0;
  if (pid < 0 || waitpid(pid, &st, 0) != pid) return -1;
  *sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int run(const char *self, const char *what, const char *path, const char *base) {
  int sig = 0;
  int rc = wait_for(spawn(self, what, path, base), &sig);
  return sig ? -sig : rc;
}

static int make_empty(const char *path) {
  int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
  if (fd < 0) return -1;
  close(fd);
  return 0;
}

/* The RRL's buckets in the file: one account per key for all workers. */
static void rrl_checks(const char *self, const char *dir) {
  /* (The blocked sets' file: a process maps at most four.) */
  char path[4200], msg[300];
  snprintf(path, sizeof(path), "%s/blocks", dir);
  sb_sources s;
  if (attach(&s, path, TABLE) != 0) {
    check(0, "a table with RRL buckets");
    return;
  }
  uint32_t nw = 0;
  uint64_t *words = sb_standing_rrl_words(&nw);
  const sb_standing_header *h = (const sb_standing_header *)((const uint8_t *)s.table.keys - SB_STANDING_HEADER);
  check(words != NULL && nw == SB_STANDING_RRL_WORDS && h->rrl_at % 64 == 0 &&
            h->rrl_at + (uint64_t)nw * 8 == sb_standing_bytes(TABLE, 8) &&
            (uint64_t *)((uint8_t *)s.table.keys - SB_STANDING_HEADER + h->rrl_at) == words,
        "the RRL buckets at the file's end, on a cache line");

  /* Two processes at one instant: five answers between them (rate 5), the slip count shared. */
  pid_t a = spawn(self, "rrl", path, "7000000"), b = spawn(self, "rrl", path, "7000000");
  int sa = 0, sb = 0, ra = wait_for(a, &sa), rb = wait_for(b, &sb);
  int sent = ra % 11 + rb % 11, slipped = ra / 11 + rb / 11;
  snprintf(msg, sizeof(msg), "two workers, 20 answers at one instant: %d sent (5), %d truncated (8 of 15)", sent, slipped);
  check(ra >= 0 && rb >= 0 && sent == 5 && slipped == 8, msg);

  /* Two limiters taking turns on one stream decide as one private limiter fed the whole stream:
   * kinds, rates, slips, the all-per-second bucket, pauses that refill the balance. */
  for (int v = 0; v < 6; v++) {
    double rate = v < 3 ? 5 : 37, all = v % 3 == 2 ? 8 : 0;
    unsigned slip = (unsigned)(v % 3);
    const double rates[5] = {rate, rate, rate, rate, rate};
    sb_rrl one, w1, w2;
    if (sb_rrl_init(&one, rates, all, 1, slip, 24, 56, 1024, 0) != 0 || rrl_shared(&w1, rate, all, slip) != 0 ||
        rrl_shared(&w2, rate, all, slip) != 0) {
      check(0, "limiters");
      return;
    }
    memset(words, 0, (size_t)nw * 8);
    double t = 8000000;
    int differ = 0, limited = 0, n = 20000;
    for (int i = 0; i < n; i++) {
      uint64_t x = next();
      /* Ten keys (two /24s; answers and NXDOMAIN for two names, errors), each at about twice the
       * rate, with pauses of 2.5 s now and then. */
      t += (x & 16383) < 8 ? 2500 : (double)(x % 97) * (1000 / (rate * 20) / 48);
      uint32_t block = 0x7f0400u + (uint32_t)((x >> 10) & 1) * 256;
      unsigned kind = (unsigned)((x >> 20) % 3);
      kind = kind == 2 ? 4 : kind;
      uint32_t name = (uint32_t)((x >> 24) & 1);
      int d1 = sb_rrl_decide(&one, block, kind, name, t);
      int d2 = sb_rrl_decide((x >> 40) & 1 ? &w1 : &w2, block, kind, name, t);
      differ += d1 != d2;
      limited += d1 != SB_RRL_SEND;
    }
    snprintf(msg, sizeof(msg),
             "rate %.0f, slip %u, all %.0f: two workers sharing decide as one (%d of %d differ; %d limited)", rate,
             slip, all, differ, n, limited);
    check(differ <= n / 1000 && limited > n / 10, msg);
    sb_rrl_free(&one);
    sb_rrl_free(&w1);
    sb_rrl_free(&w2);
  }

  /* A worker whose clock was read before another's last charge (its batch began first) finds a
   * flooding /24's bucket at its floor, not past it (not a word from before the clock's wrap). */
  {
    sb_rrl w1, w2;
    if (rrl_shared(&w1, 5, 0, 0) != 0 || rrl_shared(&w2, 5, 0, 0) != 0) {
      check(0, "limiters");
      return;
    }
    memset(words, 0, (size_t)nw * 8);
    int answered = 0;
    for (int i = 0; i < 120; i++) {
      double t = 8500000 + i * 25.0;
      /* The other worker's batches began 40 ms before it charged them: its now is older than
       * the previous charge's. */
      answered += sb_rrl_decide(i & 1 ? &w1 : &w2, 0x7f0600u, 0, 7, i & 1 ? t : t - 40) == SB_RRL_SEND;
    }
    snprintf(msg, sizeof(msg), "a worker's clock read 40 ms early: 40 qps for 3 s, %d answered (5)", answered);
    check(answered == 5, msg);
    sb_rrl_free(&w1);
    sb_rrl_free(&w2);
  }

  /* Bounds: a flooding /24 (its bucket at the floor) stays limited while 2,000,000 answers to
   * rotating blocks go through the same fixed buckets. */
  {
    sb_rrl r;
    if (rrl_shared(&r, 5, 0, 0) != 0) {
      check(0, "a limiter");
      return;
    }
    memset(words, 0, (size_t)nw * 8);
    double t = 9000000;
    for (int i = 0; i < 50; i++) sb_rrl_decide(&r, 0x7f0500u, 0, 7, t + i);
    int still = 0;
    for (int i = 0; i < 2000000; i++) {
      sb_rrl_decide(&r, (uint32_t)next(), 0, (uint32_t)i, t + 60 + i * 0.0005);
      if (i % 100000 == 99999) still += sb_rrl_decide(&r, 0x7f0500u, 0, 7, t + 60 + i * 0.0005) == SB_RRL_DROP;
    }
    uint32_t used = 0;
    for (uint32_t i = 0; i < nw; i++) used += words[i] != 0;
    snprintf(msg, sizeof(msg),
             "a flooding /24 stays limited through 2,000,000 rotating keys (%d of 20 dropped; %u of %u buckets used)",
             still, used, nw);
    check(still == 20 && used <= nw, msg);
    sb_rrl_free(&r);
  }
}

static int checks(const char *dir) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return 2;
  self[n] = 0;
  char path[4200], other[4200], bad[4200];
  snprintf(path, sizeof(path), "%s/standing", dir);
  snprintf(other, sizeof(other), "%s/other", dir);
  snprintf(bad, sizeof(bad), "%s/bad", dir);
  if (make_empty(path) != 0 || make_empty(other) != 0) return 2;
  uint64_t bytes = sb_standing_bytes(TABLE, 8);

  /* Standing earned by one process is honoured by another. */
  check(run(self, "earn", path, "1000000") == 0, "a worker earns history and sends a TC=1");
  sb_sources s;
  check(attach(&s, path, TABLE) == 0 && s.shared == 1, "another maps the same table");
  check(sb_sources_tier(&s, key4(resolver(0)), 0, 1000000 + 10000) == SB_TIER_HISTORY,
        "history earned on one worker is honoured by the other");
  check(sb_sources_vouched(&s, key4(resolver(1)), 1000000 + 9500), "a TC=1 sent by one worker vouches on the other");
  check(sb_sources_note_tcp(&s, key4(resolver(1)), 1000000 + 9600) == 1 &&
            sb_sources_tier(&s, key4(resolver(1)), 0, 1000000 + 9700) == SB_TIER_TCP,
        "its TCP retry on the other worker earns the tcp tier");
  struct stat st;
  check(stat(path, &st) == 0 && (uint64_t)st.st_size == bytes, "the file has the table's fixed size");
  const sb_standing_header *h = (const sb_standing_header *)((const uint8_t *)s.table.keys - SB_STANDING_HEADER);
  check(h->magic == SB_STANDING_MAGIC && h->layouts == 1 && h->size == s.table.size, "laid out once");

  /* A worker killed while it runs; its successor maps the same table. */
  check(run(self, "die", path, "1000000") == -SIGKILL, "a worker is killed");
  check(run(self, "expect", path, "1000000") == 0, "a restarted worker maps the same table (history kept)");
  check(sb_sources_tier(&s, key4(resolver(2)), 0, 1000000 + 1) == SB_TIER_UNKNOWN &&
            sb_sources_used_tcp(&s, key4(resolver(2)), 1, 1000000 + 1) == 0,
        "the killed worker's last cookie stamp is in the table (a cookie speaker without one is unknown)");
  check(h->layouts == 1, "not laid out again");

  /* A file left half laid out (a worker killed while laying it out: right size, no magic). */
  {
    int fd = open(bad, O_CREAT | O_TRUNC | O_RDWR, 0600);
    check(fd >= 0 && ftruncate(fd, (off_t)bytes) == 0, "a half-laid-out file");
    uint8_t junk[4096];
    memset(junk, 0xa5, sizeof(junk));
    junk[0] = 0; /* no magic */
    check(pwrite(fd, junk, sizeof(junk), SB_STANDING_HEADER) == (ssize_t)sizeof(junk), "with junk in its table");
    close(fd);
    sb_sources b;
    check(attach(&b, bad, TABLE) == 0, "is mapped");
    const sb_standing_header *hb = (const sb_standing_header *)((const uint8_t *)b.table.keys - SB_STANDING_HEADER);
    check(hb->layouts == 1 && b.table.keys[0] == 0 && b.tcp_at[0] < -1e14, "and laid out again (the junk gone)");
  }
  /* Another size: refused, nothing changed. */
  {
    sb_sources o;
    const char *why = "";
    check(sb_standing_attach(&o, path, TABLE * 2, HISTORY_MIN, 0.8, 3600, 3600, &why) == -1 && strstr(why, "another size") != NULL,
          "a table of another size is refused (the worker keeps a private one)");
    check(sb_standing_attach(&o, "/nonexistent/standing", TABLE, HISTORY_MIN, 0.8, 3600, 3600, &why) == -1,
          "a missing file is refused");
    check(stat(path, &st) == 0 && (uint64_t)st.st_size == bytes, "the file unchanged");
  }

  /* Bounds: 1,000 resolvers with history, then two workers flooded by a bot rotating through
   * 2,000,000 IPv6 /64s. */
  sb_sources r;
  check(attach(&r, other, TABLE) == 0, "a second table");
  for (int i = 0; i < RESOLVERS; i++)
    for (int t = 0; t < 9; t++) sb_sources_note_calm(&r, key4(resolver(i)), 1, 1000000 + t * 1000.0);
  int kept = 0;
  for (int i = 0; i < RESOLVERS; i++) kept += sb_sources_tier(&r, key4(resolver(i)), 0, 1000000 + 9000) == SB_TIER_HISTORY;
  check(kept == RESOLVERS, "1,000 resolvers with history");
  pid_t f1 = spawn(self, "flood", other, "1010000"), f2 = spawn(self, "flood", other, "1010000");
  int sig1 = 0, sig2 = 0;
  check(wait_for(f1, &sig1) == 0 && wait_for(f2, &sig2) == 0, "two workers take 2,000,000 rotating IPv6 sources");
  kept = 0;
  for (int i = 0; i < RESOLVERS; i++) kept += sb_sources_tier(&r, key4(resolver(i)), 0, 1000000 + 30000) == SB_TIER_HISTORY;
  char msg[200];
  snprintf(msg, sizeof(msg), "the resolvers keep their history (%d of %d)", kept, RESOLVERS);
  check(kept == RESOLVERS, msg);
  uint32_t used = 0;
  for (uint32_t i = 0; i < r.table.size; i++) used += r.table.keys[i] != 0;
  snprintf(msg, sizeof(msg), "the table holds at most its %u entries (%u used), the file its size", r.table.size, used);
  check(used <= r.table.size && stat(other, &st) == 0 && (uint64_t)st.st_size == bytes, msg);

  /* One calm credit a second for all workers: two workers try every 0.25 ms of 20 s. */
  pid_t c1 = spawn(self, "credit", other, "2000000"), c2 = spawn(self, "credit", other, "2000000");
  check(wait_for(c1, &sig1) == 0 && wait_for(c2, &sig2) == 0, "two workers credit one source");
  int32_t slot = sb_table_find(&r.table, key4(0x0a000001u));
  uint32_t good = slot < 0 ? 0 : r.good[slot];
  snprintf(msg, sizeof(msg), "at most one credit a second for both (%u in 20 s)", good);
  check(slot >= 0 && good >= 11 && good <= 21, msg);

  /* The workers' blocked sets: each in its slot, the union for the shared TCP listener. */
  char blocks[4200];
  snprintf(blocks, sizeof(blocks), "%s/blocks", dir);
  if (make_empty(blocks) != 0) return 2;
  sb_sources u;
  check(attach(&u, blocks, TABLE) == 0, "a table for the blocked sets");
  const uint32_t *p24 = NULL;
  unsigned np = 99;
  uint64_t g0 = sb_standing_blocks_union(&p24, &np);
  check(g0 != 0 && np == 0, "no worker has blocked anything");
  check(run(self, "block", blocks, "0") == 0 && run(self, "block", blocks, "1") == 0, "two workers block /24s");
  uint64_t g1 = sb_standing_blocks_union(&p24, &np);
  check(g1 != g0 && np == 3 && p24[0] == 0x7f020000u && p24[1] == 0x7f020100u && p24[2] == 0x7f7f0000u,
        "the union of their sets, sorted, once each");
  /* A worker killed while writing its set: its slot left odd is skipped until its successor writes. */
  sb_standing_blocks *b5 = (sb_standing_blocks *)((uint8_t *)u.table.keys - SB_STANDING_HEADER + SB_STANDING_BLOCKS_AT) + 5;
  b5->seq = 7;
  b5->n = 1;
  b5->p24[0] = 0x7f050500u;
  __atomic_fetch_add(&((sb_standing_header *)((uint8_t *)u.table.keys - SB_STANDING_HEADER))->blocks_gen, 1, __ATOMIC_RELEASE);
  sb_standing_blocks_union(&p24, &np);
  check(np == 3, "a slot left half written is skipped");
  check(run(self, "block", blocks, "5") == 0, "its successor writes its set");
  sb_standing_blocks_union(&p24, &np);
  check(np == 4 && p24[2] == 0x7f020500u && b5->seq % 2 == 0, "and it joins the union");
  check(run(self, "republish", blocks, "5") == 0, "a set published again unchanged moves no generation, a change does");
  sb_standing_blocks_union(&p24, &np);
  check(np == 4 && p24[2] == 0x7f020500u, "and the union is as it was");

  /* The TCP strangers' budget, one for all workers: two workers take at the same instant. */
  {
    pid_t a = spawn(self, "tcp", blocks, "5000000"), b = spawn(self, "tcp", blocks, "5000000");
    int sa = 0, sb = 0, ta = wait_for(a, &sa), tb = wait_for(b, &sb);
    snprintf(msg, sizeof(msg), "the strangers' budget is the server's: %d + %d of 400 taken, 64 a second", ta, tb);
    check(ta >= 0 && tb >= 0 && ta + tb == 64, msg);
    a = spawn(self, "tcp1", blocks, "5002000");
    b = spawn(self, "tcp1", blocks, "5002000");
    ta = wait_for(a, &sa);
    tb = wait_for(b, &sb);
    snprintf(msg, sizeof(msg), "and a block's too: %d + %d of 40 taken, 8 a second", ta, tb);
    check(ta >= 0 && tb >= 0 && ta + tb == 8, msg);
    check(sb_standing_tcp_take((4ull << 56) | 0x7f0299u, 5004000, 64, 8) == 1, "a second later, budget again");
  }
  rrl_checks(self, dir);
  printf("done %d failures\n", failures);
  return failures ? 1 : 0;
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* One datagram's source work as the glue does it in calm times: the tier, then the calm credit. */
static double pass(sb_sources *s, const uint32_t *keys, uint32_t nkeys, uint32_t n, double *clock_ms) {
  double t0 = now_ns();
  uint32_t sum = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t k = keys[(i * 2654435761u) % nkeys];
    *clock_ms += 0.01;
    sum += (uint32_t)sb_sources_tier(s, k, 0, *clock_ms);
    sb_sources_note_calm(s, k, 1, *clock_ms);
  }
  double ns = (now_ns() - t0) / n;
  if (sum == 0xffffffffu) printf("?");
  return ns;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int bench(uint32_t n, const char *dir) {
  char path[4200];
  snprintf(path, sizeof(path), "%s/bench-standing", dir);
  if (make_empty(path) != 0) return 2;
  sb_sources priv, shared;
  if (sb_sources_init(&priv, TABLE, HISTORY_MIN, 0.8, 3600, 3600) != 0 || attach(&shared, path, TABLE) != 0) return 2;
  /* 2,000 sources (a worker's resolvers: in cache) and 200,000 (a flood's: not). */
  uint32_t sizes[2] = {2000, 200000};
  uint32_t *keys = malloc(sizes[1] * sizeof(uint32_t));
  for (uint32_t i = 0; i < sizes[1]; i++) keys[i] = key4(0x7f000000u + i * 7u);
  for (int z = 0; z < 2; z++) {
    uint32_t nkeys = sizes[z];
    double clock_a = 1e6, clock_b = 1e6;
    pass(&priv, keys, nkeys, n, &clock_a);
    pass(&shared, keys, nkeys, n, &clock_b);
    double a[9], b[9];
    for (int p = 0; p < 9; p++) {
      a[p] = pass(&priv, keys, nkeys, n, &clock_a);
      b[p] = pass(&shared, keys, nkeys, n, &clock_b);
      printf("%u sources, pair %d: private %.1f ns, shared %.1f ns a datagram\n", nkeys, p + 1, a[p], b[p]);
    }
    qsort(a, 9, sizeof(double), cmp);
    qsort(b, 9, sizeof(double), cmp);
    printf("%u sources, median of 9 pairs (%u datagrams each): private %.1f ns, shared %.1f ns a datagram (%+.1f ns)\n",
           nkeys, n, a[4], b[4], b[4] - a[4]);
  }
  free(keys);
  sb_sources_free(&priv);
  unlink(path);
  return 0;
}

/* One RRL decision per answer: `n` answers to one /24 from `names` names (1: one hot bucket, as a
 * random-subdomain flood's NXDOMAINs), at a rate that never limits; ns a decision. */
static double rrl_pass(sb_rrl *r, uint32_t names, uint32_t n, double *clock_ms) {
  double t0 = now_ns();
  uint32_t sum = 0;
  for (uint32_t i = 0; i < n; i++) {
    *clock_ms += 0.01;
    sum += (uint32_t)sb_rrl_decide(r, 0x7f0000u + (i & 3) * 256, 1, (i * 2654435761u) % names, *clock_ms);
  }
  if (sum == 0xffffffffu) printf("?");
  return (now_ns() - t0) / n;
}

/* `standing-harness rrlbench N DIR`: a worker's own RRL table against the shared buckets (one
 * process, alternated, 1 and 10,000 names), then two processes deciding at once on the shared
 * buckets (one hot bucket each /24: every decision a compare-and-swap on lines both write). */
static int rrl_bench(uint32_t n, const char *dir, int child_mode) {
  char path[4200];
  snprintf(path, sizeof(path), "%s/bench-rrl", dir);
  if (!child_mode && make_empty(path) != 0) return 2;
  sb_sources s;
  if (attach(&s, path, 4096) != 0) return 2;
  const double rates[5] = {1e8, 1e8, 1e8, 1e8, 1e8};
  sb_rrl priv, shared;
  if (sb_rrl_init(&priv, rates, 0, 15, 2, 24, 56, 65536, 0) != 0 || sb_rrl_init(&shared, rates, 0, 15, 2, 24, 56, 65536, 0) != 0)
    return 2;
  uint32_t nw = 0;
  uint64_t *w = sb_standing_rrl_words(&nw);
  sb_rrl_share(&shared, w, nw);
  double clock_a = 1e6, clock_b = 1e6;
  if (child_mode) {
    double a[5], b[5];
    for (int p = 0; p < 5; p++) {
      a[p] = rrl_pass(&priv, 1, n, &clock_a);
      b[p] = rrl_pass(&shared, 1, n, &clock_b);
    }
    qsort(a, 5, sizeof(double), cmp);
    qsort(b, 5, sizeof(double), cmp);
    printf("  a process of two, one hot bucket a /24, median of 5 pairs: own table %.1f ns, shared %.1f ns a decision "
           "(%.0f compare-and-swaps lost of %u)\n",
           a[2], b[2], shared.shared_retries, 5 * n);
    return 0;
  }
  uint32_t sizes[2] = {1, 10000};
  for (int z = 0; z < 2; z++) {
    rrl_pass(&priv, sizes[z], n, &clock_a);
    rrl_pass(&shared, sizes[z], n, &clock_b);
    double a[9], b[9];
    for (int p = 0; p < 9; p++) {
      a[p] = rrl_pass(&priv, sizes[z], n, &clock_a);
      b[p] = rrl_pass(&shared, sizes[z], n, &clock_b);
    }
    qsort(a, 9, sizeof(double), cmp);
    qsort(b, 9, sizeof(double), cmp);
    printf("%u names, one process, median of 9 pairs (%u decisions each): own table %.1f ns, shared %.1f ns a decision (%+.1f ns)\n",
           sizes[z], n, a[4], b[4], b[4] - a[4]);
  }
  char self[4096], count[32];
  ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (len <= 0) return 2;
  self[len] = 0;
  snprintf(count, sizeof(count), "%u", n);
  printf("two processes at once (one per core):\n");
  fflush(stdout);
  pid_t pids[2];
  for (int i = 0; i < 2; i++) {
    char *args[] = {self, "rrlchild", count, (char *)dir, NULL};
    if (posix_spawn(&pids[i], self, NULL, NULL, args, environ) != 0) return 2;
  }
  for (int i = 0; i < 2; i++) waitpid(pids[i], NULL, 0);
  sb_rrl_free(&priv);
  sb_rrl_free(&shared);
  unlink(path);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 4 && strcmp(argv[1], "rrlbench") == 0) return rrl_bench((uint32_t)atoi(argv[2]), argv[3], 0);
  if (argc >= 4 && strcmp(argv[1], "rrlchild") == 0) return rrl_bench((uint32_t)atoi(argv[2]), argv[3], 1);
  if (argc >= 2 && strcmp(argv[1], "child") == 0) return child(argc, argv);
  if (argc >= 3 && strcmp(argv[1], "check") == 0) return checks(argv[2]);
  if (argc >= 3 && strcmp(argv[1], "bench") == 0) return bench((uint32_t)atoi(argv[2]), argc >= 4 ? argv[3] : "/tmp");
  fprintf(stderr, "usage: standing-harness check DIR | bench N [DIR] | rrlbench N DIR\n");
  return 2;
}
