/* Source standing shared by the workers: see standing.h. */
#define _GNU_SOURCE
#include "standing.h"

#include "prefilter.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define NEVER (-1e15)

_Static_assert(sizeof(sb_standing_header) <= SB_STANDING_BLOCKS_AT, "the header fits before the blocked sets");
_Static_assert(SB_STANDING_BLOCKS_AT + SB_STANDING_SLOTS * sizeof(sb_standing_blocks) <= SB_STANDING_TCP_AT,
               "the blocked sets fit before the TCP budget");
_Static_assert(SB_STANDING_TCP_AT + SB_STANDING_TCP_SLOTS * sizeof(sb_standing_tcp_block) <= SB_STANDING_HEADER,
               "the TCP budget fits before the table");
#define SB_STANDING_WAYS 8

/* The arrays in the file, after the header: keys, good, bad (uint32 each), then tcp_at,
 * cookie_at, seen, credited, history_at, tc_at (double each); then the RRL buckets (uint64 each,
 * zero: free). */
static uint32_t rounded(uint32_t size, uint32_t ways) {
  uint32_t n = ways;
  while (n < size) n *= 2;
  return n;
}

/* The RRL buckets: after the arrays, on a cache line of their own. */
static uint64_t rrl_at(uint32_t n) { return (SB_STANDING_HEADER + (uint64_t)n * 3 * 4 + (uint64_t)n * 6 * 8 + 63) & ~63ull; }

uint64_t sb_standing_bytes(uint32_t size, uint32_t ways) {
  return rrl_at(rounded(size, ways)) + (uint64_t)SB_STANDING_RRL_WORDS * 8;
}

/* One mapping per path for the life of the process (a reconfigured shield maps the same). */
static struct {
  char path[256];
  uint8_t *base;
  uint64_t bytes;
} g_maps[4];
static pthread_mutex_t g_maps_lock = PTHREAD_MUTEX_INITIALIZER;
/* The file this process attached last, and its worker's slot (-1: none): the blocked sets. */
static uint8_t *g_current = NULL;
static int g_slot = -1;

static void point(sb_sources *s, uint8_t *base, uint32_t n) {
  uint8_t *p = base + SB_STANDING_HEADER;
  s->table.keys = (uint32_t *)p;
  p += (size_t)n * 4;
  s->good = (uint32_t *)p;
  p += (size_t)n * 4;
  s->bad = (uint32_t *)p;
  p += (size_t)n * 4;
  double **arrays[6] = {&s->tcp_at, &s->cookie_at, &s->seen, &s->credited, &s->history_at, &s->tc_at};
  for (int i = 0; i < 6; i++) {
    *arrays[i] = (double *)p;
    p += (size_t)n * 8;
  }
}

/* Lays out a mapped file (the caller holds the flock): every slot empty, every stamp NEVER, the
 * magic last. */
static void lay_out(uint8_t *base, uint64_t bytes, uint32_t n, uint32_t ways) {
  sb_standing_header *h = (sb_standing_header *)base;
  uint64_t layouts = __atomic_load_n(&h->layouts, __ATOMIC_RELAXED);
  memset(base, 0, (size_t)bytes);
  sb_sources tmp;
  memset(&tmp, 0, sizeof(tmp));
  point(&tmp, base, n);
  double *arrays[6] = {tmp.tcp_at, tmp.cookie_at, tmp.seen, tmp.credited, tmp.history_at, tmp.tc_at};
  for (int a = 0; a < 6; a++)
    for (uint32_t i = 0; i < n; i++) arrays[a][i] = NEVER;
  h->version = 3;
  h->unrest_at = NEVER;
  h->size = n;
  h->rrl_at = rrl_at(n);
  h->rrl_words = SB_STANDING_RRL_WORDS;
  h->ways = ways;
  h->bytes = bytes;
  h->layouts = layouts + 1;
  __atomic_store_n(&h->magic, SB_STANDING_MAGIC, __ATOMIC_RELEASE);
}

static uint8_t *map_path(const char *path, uint32_t n, uint64_t bytes, const char **why) {
  for (unsigned i = 0; i < sizeof(g_maps) / sizeof(g_maps[0]); i++)
    if (g_maps[i].base != NULL && strcmp(g_maps[i].path, path) == 0) {
      if (g_maps[i].bytes != bytes) {
        *why = "the shared table was laid out for another size";
        return NULL;
      }
      return g_maps[i].base;
    }
  unsigned slot = 0;
  while (slot < sizeof(g_maps) / sizeof(g_maps[0]) && g_maps[slot].base != NULL) slot++;
  if (slot == sizeof(g_maps) / sizeof(g_maps[0])) {
    *why = "too many shared tables in this process";
    return NULL;
  }
  if (strlen(path) >= sizeof(g_maps[0].path)) {
    *why = "path too long";
    return NULL;
  }
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    *why = "open failed";
    return NULL;
  }
  /* Laying out is the one step under a lock, and flock's is released by the kernel when its
   * holder dies (a worker killed half way: the next one lays the file out again). */
  if (flock(fd, LOCK_EX) != 0) {
    close(fd);
    *why = "flock failed";
    return NULL;
  }
  struct stat st;
  uint8_t *base = NULL;
  if (fstat(fd, &st) != 0) {
    *why = "fstat failed";
  } else if ((uint64_t)st.st_size != 0 && (uint64_t)st.st_size != bytes) {
    *why = "the shared table was laid out for another size";
  } else if (st.st_size == 0 && ftruncate(fd, (off_t)bytes) != 0) {
    *why = "ftruncate failed";
  } else {
    void *m = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
      *why = "mmap failed";
    } else {
      base = m;
      sb_standing_header *h = (sb_standing_header *)base;
      if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != SB_STANDING_MAGIC) {
        lay_out(base, bytes, n, SB_STANDING_WAYS);
      } else if (h->version != 3 || h->size != n || h->rrl_at != rrl_at(n) || h->rrl_words != SB_STANDING_RRL_WORDS || h->ways != SB_STANDING_WAYS || h->bytes != bytes) {
        munmap(base, (size_t)bytes);
        base = NULL;
        *why = "the shared table was laid out for another size";
      }
      if (base != NULL) __atomic_fetch_add(&h->attaches, 1, __ATOMIC_RELAXED);
    }
  }
  flock(fd, LOCK_UN);
  close(fd); /* the mapping keeps the file */
  if (base == NULL) return NULL;
  memcpy(g_maps[slot].path, path, strlen(path) + 1);
  g_maps[slot].base = base;
  g_maps[slot].bytes = bytes;
  return base;
}

int sb_standing_attach(sb_sources *s, const char *path, uint32_t table_size, uint32_t history_min,
                       double history_share, double tcp_seconds, double cookie_seconds, const char **why) {
  const char *unused;
  if (why == NULL) why = &unused;
  *why = "";
  if (path == NULL || path[0] == 0) {
    *why = "no path";
    return -1;
  }
  if (table_size < 1 || table_size > (1u << 24)) {
    *why = "bad table size";
    return -1;
  }
  uint32_t n = rounded(table_size, SB_STANDING_WAYS);
  uint64_t bytes = sb_standing_bytes(table_size, SB_STANDING_WAYS);
  pthread_mutex_lock(&g_maps_lock);
  uint8_t *base = map_path(path, n, bytes, why);
  pthread_mutex_unlock(&g_maps_lock);
  if (base == NULL) return -1;
  memset(s, 0, sizeof(*s));
  s->table.size = n;
  s->table.ways = SB_STANDING_WAYS;
  s->table.mask = (n - 1) & ~(SB_STANDING_WAYS - 1u);
  s->history_min = history_min;
  s->history_share = history_share;
  s->tcp_ms = tcp_seconds * 1000;
  s->cookie_ms = cookie_seconds * 1000;
  point(s, base, n);
  s->shared = 1;
  s->unrest_shared = &((sb_standing_header *)base)->unrest_at;
  s->unrest_own = NEVER;
  s->calm_after_ms = SB_CALM_AFTER_MS;
  const char *slot = getenv("SWITCHBOARD_WORKER_SLOT");
  int sl = slot != NULL && slot[0] >= '0' && slot[0] <= '9' ? atoi(slot) : -1;
  __atomic_store_n(&g_slot, sl >= 0 && sl < SB_STANDING_SLOTS ? sl : -1, __ATOMIC_RELAXED);
  __atomic_store_n(&g_current, base, __ATOMIC_RELEASE);
  /* A new shield blocks nothing yet: its slot emptied (a killed predecessor's set dropped). */
  sb_standing_publish_blocks(NULL, 0);
  return 0;
}

uint64_t *sb_standing_rrl_words(uint32_t *nwords) {
  uint8_t *base = __atomic_load_n(&g_current, __ATOMIC_ACQUIRE);
  if (base == NULL) return NULL;
  const sb_standing_header *h = (const sb_standing_header *)base;
  *nwords = h->rrl_words;
  return (uint64_t *)(base + h->rrl_at);
}

static sb_standing_blocks *blocks_of(uint8_t *base, unsigned slot) {
  return (sb_standing_blocks *)(base + SB_STANDING_BLOCKS_AT) + slot;
}

void sb_standing_publish_blocks(const uint32_t *p24, unsigned n) {
  uint8_t *base = __atomic_load_n(&g_current, __ATOMIC_ACQUIRE);
  int slot = __atomic_load_n(&g_slot, __ATOMIC_RELAXED);
  if (base == NULL || slot < 0) return;
  if (n > 512) n = 512;
  sb_standing_blocks *b = blocks_of(base, (unsigned)slot);
  uint32_t seq = __atomic_load_n(&b->seq, __ATOMIC_RELAXED);
  /* onset22: the set as it stands already (the shield's version also moves for the QNAME filter
   * and the bridge): not written, so the other workers do not build their TCP programs again. Only
   * this worker writes its slot. */
  if (!(seq & 1) && !sb_prefilter_attach_same() && __atomic_load_n(&b->n, __ATOMIC_RELAXED) == n) {
    unsigned i = 0;
    while (i < n && __atomic_load_n(&b->p24[i], __ATOMIC_RELAXED) == p24[i]) i++;
    if (i == n) return;
  }
  if (seq & 1) seq++; /* left odd by a predecessor killed mid-write */
  __atomic_store_n(&b->seq, seq + 1, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  __atomic_store_n(&b->n, n, __ATOMIC_RELAXED);
  for (unsigned i = 0; i < n; i++) __atomic_store_n(&b->p24[i], p24[i], __ATOMIC_RELAXED);
  __atomic_store_n(&b->seq, seq + 2, __ATOMIC_RELEASE);
  __atomic_fetch_add(&((sb_standing_header *)base)->blocks_gen, 1, __ATOMIC_RELEASE);
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static __thread struct {
  uint64_t gen;
  const uint8_t *base;
  unsigned n;
  uint32_t p24[512];
  uint32_t all[SB_STANDING_SLOTS * 512];
} t_union;

uint64_t sb_standing_blocks_union(const uint32_t **p24, unsigned *n) {
  uint8_t *base = __atomic_load_n(&g_current, __ATOMIC_ACQUIRE);
  if (base == NULL) return 0;
  uint64_t gen = __atomic_load_n(&((sb_standing_header *)base)->blocks_gen, __ATOMIC_ACQUIRE) + 1;
  if (gen != t_union.gen || base != t_union.base) {
    unsigned total = 0;
    for (unsigned s = 0; s < SB_STANDING_SLOTS; s++) {
      sb_standing_blocks *b = blocks_of(base, s);
      for (int attempt = 0; attempt < 3; attempt++) {
        uint32_t s1 = __atomic_load_n(&b->seq, __ATOMIC_ACQUIRE);
        if (s1 & 1) continue; /* being written (or its writer died): skipped */
        uint32_t k = __atomic_load_n(&b->n, __ATOMIC_RELAXED);
        if (k > 512) k = 512;
        for (uint32_t i = 0; i < k; i++) t_union.all[total + i] = __atomic_load_n(&b->p24[i], __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&b->seq, __ATOMIC_RELAXED) == s1) {
          total += k;
          break;
        }
      }
    }
    qsort(t_union.all, total, sizeof(uint32_t), cmp_u32);
    unsigned m = 0;
    for (unsigned i = 0; i < total && m < 512; i++)
      if (m == 0 || t_union.all[i] != t_union.p24[m - 1]) t_union.p24[m++] = t_union.all[i];
    t_union.n = m;
    t_union.gen = gen;
    t_union.base = base;
  }
  *p24 = t_union.p24;
  *n = t_union.n;
  return gen;
}

int sb_standing_tcp_take(uint64_t key, double now_ms, double per_second, double per_block) {
  uint8_t *base = __atomic_load_n(&g_current, __ATOMIC_ACQUIRE);
  if (base == NULL) return -1;
  if (key == 0 || !(per_second >= 1) || !(per_block >= 1)) return 0;
  sb_standing_header *h = (sb_standing_header *)base;
  /* The server's budget: a take is due at tat; up to one second of takes ahead of now. */
  double interval = 1000.0 / per_second;
  double tat;
  __atomic_load(&h->tcp_tat, &tat, __ATOMIC_RELAXED);
  if ((tat > now_ms ? tat : now_ms) - now_ms > 1000.0 - interval + 1e-9) return 0;
  /* The block's count this second. */
  uint32_t second = (uint32_t)(int64_t)floor(now_ms / 1000);
  sb_standing_tcp_block *t = (sb_standing_tcp_block *)(base + SB_STANDING_TCP_AT);
  uint32_t at = (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 40) & (SB_STANDING_TCP_SLOTS - 1);
  sb_standing_tcp_block *mine = NULL, *stale = NULL;
  for (unsigned probe = 0; probe < SB_STANDING_TCP_PROBES && mine == NULL; probe++) {
    sb_standing_tcp_block *b = &t[(at + probe) & (SB_STANDING_TCP_SLOTS - 1)];
    uint64_t k = __atomic_load_n(&b->key, __ATOMIC_RELAXED);
    if (k == key) {
      mine = b;
    } else if (k == 0) {
      uint64_t expect = 0;
      if (__atomic_compare_exchange_n(&b->key, &expect, key, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED) || expect == key)
        mine = b;
    } else if (stale == NULL && (uint32_t)(__atomic_load_n(&b->word, __ATOMIC_RELAXED) >> 32) != second) {
      stale = b; /* another block's, from an earlier second: reusable */
    }
  }
  if (mine == NULL && stale != NULL) {
    uint64_t k = __atomic_load_n(&stale->key, __ATOMIC_RELAXED);
    if (__atomic_compare_exchange_n(&stale->key, &k, key, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED) || k == key) mine = stale;
  }
  if (mine == NULL) return 0; /* this many blocks active in one second: over budget */
  uint64_t w = __atomic_load_n(&mine->word, __ATOMIC_RELAXED);
  for (;;) {
    uint32_t count = (uint32_t)(w >> 32) == second ? (uint32_t)w : 0;
    if (count >= per_block) return 0;
    uint64_t next = (uint64_t)second << 32 | (count + 1);
    if (__atomic_compare_exchange_n(&mine->word, &w, next, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) break;
  }
  /* Then the server's budget (a block counted but refused here costs its block one of its takes). */
  for (;;) {
    double from = tat > now_ms ? tat : now_ms;
    if (from - now_ms > 1000.0 - interval + 1e-9) return 0;
    double next = from + interval;
    if (__atomic_compare_exchange(&h->tcp_tat, &tat, &next, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return 1;
  }
}
