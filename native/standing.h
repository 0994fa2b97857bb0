/*
 * Source standing shared by the worker processes of one server (docs/SHIELD.md "Standing shared by
 * the workers"): the shield's source table (sb_sources: history, the tcp tier, cookie standing, the
 * TC=1 stamps the TCP gate reads) kept in one file every worker maps with MAP_SHARED, so a
 * resolver's standing earned on one worker is honoured by the others.
 *
 * The file is made by the cluster primary (src/transport/cluster.ts: created empty, unlinked at
 * once, reopened by the workers through /proc/<primary>/fd/<n>, so nothing outlives the server) and
 * laid out by the first worker that maps it. Laying out holds flock(2) on the file, which the kernel
 * releases when its holder dies, and the header's magic is written last: a worker that dies half
 * way leaves a file the next one lays out again. After that no lock at all: every field is read and
 * written with relaxed atomics, a slot is claimed with a compare-and-swap of its key, and a calm
 * credit with a compare-and-swap of its stamp (one credit a second per source, for all workers).
 * Races between workers cost at most one datagram's decision (docs/SHIELD.md). Bounds are the
 * table's: the same fixed size and ranked eviction as a private table. The RRL's buckets are in
 * the file too (one account per client block for the server, not per worker: sb_rrl_share).
 *
 * Pure C, no N-API (the harness test/native/fuzz/standing-harness.c runs it under ASan/UBSan).
 */
#ifndef SB_STANDING_H
#define SB_STANDING_H

#include <stddef.h>
#include <stdint.h>

#include "shield.h"

#define SB_STANDING_MAGIC 0x31444e4154534253ull /* "SBSTAND1" */
/* The header's size: the arrays start this far into the file (the blocked sets at 4096). */
#define SB_STANDING_HEADER 262144
/* Workers whose blocked /24 sets the file holds (a worker's slot: SWITCHBOARD_WORKER_SLOT). */
#define SB_STANDING_SLOTS 16
#define SB_STANDING_BLOCKS_AT 4096
/* The TCP strangers' budget's counts per client block (the current second's), at 40960. */
#define SB_STANDING_TCP_AT 40960
#define SB_STANDING_TCP_SLOTS 8192
#define SB_STANDING_TCP_PROBES 16
typedef struct sb_standing_tcp_block {
  uint64_t key;  /* the block's key (tcp_gate.c), 0: free */
  uint64_t word; /* the second (high 32 bits) and its count (low 32) */
} sb_standing_tcp_block;

/* One worker's blocked /24s (sorted, as the shield's blocked set), written under a sequence
 * count: odd while its worker writes it. A worker killed mid-write leaves it odd, and readers
 * skip it, until its successor writes its own (empty at start). */
typedef struct sb_standing_blocks {
  uint32_t seq, n;
  uint32_t p24[512];
} sb_standing_blocks;

typedef struct sb_standing_header {
  uint64_t magic;   /* written last (release) by the worker that lays the file out */
  uint32_t version; /* of this layout: 3 (1 had no RRL buckets, 2 no unrest stamp) */
  uint32_t size;    /* entries of the table (a power of two) */
  uint32_t ways;
  uint32_t pad;
  uint64_t bytes;   /* the file's size */
  uint64_t layouts; /* how many times the file was laid out (1 unless a worker died doing it) */
  uint64_t attaches;
  uint64_t blocks_gen; /* bumped after every write of a worker's blocked set */
  double tcp_tat;      /* the strangers' budget as a generic cell rate: its theoretical arrival time (ms) */
  uint64_t rrl_at;     /* where the RRL buckets start (octets into the file) */
  uint32_t rrl_words;  /* how many (SB_STANDING_RRL_WORDS) */
  uint32_t pad2;
  double unrest_at;    /* hist23: when (ms) a worker last saw an attack in progress (sb_sources_note_unrest) */
} sb_standing_header;

/* The RRL buckets every worker charges (shield.h sb_rrl_share: one 64-bit word each, in sets of 8),
 * after the source table's arrays: 65,536 of them (512 KiB), whatever the RRL's tableSize (that is
 * one process's own table's). */
#define SB_STANDING_RRL_WORDS 65536

/* The file's size for a table of `size` entries (rounded as sb_table_init rounds), with the RRL
 * buckets. */
uint64_t sb_standing_bytes(uint32_t size, uint32_t ways);

/* Maps the file at `path` (open read-write; laid out when empty or not laid out yet) for a table of
 * `table_size` entries of 8 ways, and points s's table and arrays into it (s->shared = 1). The
 * mapping is kept for the life of the process (one per path; a shield configured again maps the
 * same). 0 on success; else -1 and *why says what failed (s untouched). */
int sb_standing_attach(sb_sources *s, const char *path, uint32_t table_size, uint32_t history_min,
                       double history_share, double tcp_seconds, double cookie_seconds, const char **why);

/* The calling process's worker writes its blocked set (the shield's, sorted; at most 512) into
 * its slot of the file it attached last. Nothing without a shared file or a slot. */
void sb_standing_publish_blocks(const uint32_t *p24, unsigned n);
/* The union of every worker's blocked set (sorted, no duplicates, at most 512: what the shared TCP
 * listener's prefilter and the C accept gate use), kept per thread and rebuilt when a worker wrote
 * its set; returns its generation (never 0), or 0 without a shared file (*p24, *n untouched). */
uint64_t sb_standing_blocks_union(const uint32_t **p24, unsigned *n);

/* The RRL buckets of the file this process attached last (*nwords: how many), or NULL without a
 * shared file. */
uint64_t *sb_standing_rrl_words(uint32_t *nwords);

/* The TCP gate's strangers' budget for the whole server (tcp_gate.h shared_take): `per_second`
 * connections a second, one second deep (a generic cell rate on one shared stamp: the token bucket
 * of tcp_gate.c for all workers together), and `per_block` a whole second per client block (counts
 * in a shared table, claimed by compare-and-swap). 1 take, 0 over budget, -1 without a shared file. */
int sb_standing_tcp_take(uint64_t key, double now_ms, double per_second, double per_block);

#endif
