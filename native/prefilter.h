/*
 * The shield's kernel prefilter: a classic BPF program on a UDP socket that drops datagrams
 * from blocked IPv4 prefixes before they are queued (prefilter.c).
 */
#ifndef SWITCHBOARD_PREFILTER_H
#define SWITCHBOARD_PREFILTER_H

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

/* Whether `key` is in `v` (`n` values, sorted ascending): the QNAME filter's hash sets, the
 * bridge's /24s of standing and the TCP accept's blocked /24s (tcp_gate.c). */
static inline int sb_sorted_has(const uint32_t *v, unsigned n, uint32_t key) {
  unsigned lo = 0, hi = n;
  while (lo < hi) {
    unsigned mid = lo + (hi - lo) / 2;
    if (v[mid] == key) return 1;
    if (v[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return 0;
}

/* ipv626 (docs/SHIELD.md "IPv6 /56s before the socket queue"): the IPv6 /56s the programs built
 * next on this thread drop as well (keys: the address's first 7 octets big-endian in the top 56
 * bits, the low 8 bits 0; sorted ascending, unique; at most SB_BLOCK6_MAX_PROG; n 0: IPv6 passes
 * whole as before, and the programs are the same as before ipv626). A bad set makes every build
 * return 0 until the next call. A thread's setting, like sb_prefilter_qf_marks: every builder of
 * this file reads it (the UDP program's source check; the TCP listener's is built with none set). */
#define SB_BLOCK6_MAX_PROG 64
void sb_prefilter_set_blocked6(const uint64_t *keys, unsigned n);
unsigned sb_prefilter_blocked6(void);

/* Most prefixes one program holds (its instructions stay under BPF_MAXINSNS). */
#define SB_PREFILTER_MAX 512
/* Instructions a program of SB_PREFILTER_MAX prefixes needs, with room to spare. */
#define SB_PREFILTER_INSNS 2600

/* Writes the program dropping IPv4 sources inside the `n` prefixes (network order as a
 * number: a.b.c.d = a<<24|b<<16|c<<8|d, masked to `bits`, sorted ascending, no duplicates);
 * returns its length, or 0 when they are not sorted or it does not fit `cap`. */
unsigned sb_prefilter_build(const uint32_t *prefixes, unsigned n, unsigned bits, struct sock_filter *out,
                            unsigned cap);
/* The same, but a blocked source's datagram passes when a random u32 (SKF_AD_RANDOM) is under
 * `sample` (0: none passes, as sb_prefilter_build): the worker reads that sample to learn whether
 * a block is still needed when it expires (docs/SHIELD.md "Renewed from evidence"). */
unsigned sb_prefilter_build_sampled(const uint32_t *prefixes, unsigned n, unsigned bits, uint32_t sample,
                                    struct sock_filter *out, unsigned cap);
/* The share of a blocked /24's datagrams the UDP program passes to the worker: 1 in
 * SB_PREFILTER_SAMPLE_DIV (docs/SHIELD.md "Renewed from evidence" for the choice). */
#define SB_PREFILTER_SAMPLE_DIV 256u
#define SB_PREFILTER_SAMPLE (0xffffffffu / SB_PREFILTER_SAMPLE_DIV + 1u)
/* ---- the QNAME filter: an attacked zone's missing names dropped before the queue ----
 * While a zone is under a random-subdomain attack, the UDP program also drops datagrams whose
 * QNAME is under that zone, unless the name is one of the zone's names (a hash of its labels in
 * front of the zone, in a sorted set searched in the program) or a random draw (SKF_AD_RANDOM)
 * falls under the zone's admitted share. Everything odd (a short datagram, a response, QDCOUNT
 * not 1, a compression pointer or a reserved label type, more than SB_QF_MAX_LABELS labels, a
 * name running past the datagram) passes to user space, which decides as before. */
#define SB_QF_MAX_ZONES 4
/* Names (hashes) the programs of one socket hold, all zones together. */
#define SB_QF_MAX_NAMES 1280
#define SB_QF_MAX_LABELS 12
/* Zone origins longer than this (wire octets) are not filtered in the kernel. */
#define SB_QF_MAX_ORIGIN 64
/* Octets of a name's labels in front of the zone that its hash covers (then its length). */
#define SB_QF_HASH_OCTETS 32
/* A program's bound (the kernel's BPF_MAXINSNS). */
#define SB_QF_INSNS 4096

typedef struct sb_qf_zone {
  uint8_t origin[SB_QF_MAX_ORIGIN]; /* the zone's origin, folded wire form (lower case) */
  unsigned origin_len, labels;      /* its octets (3..SB_QF_MAX_ORIGIN) and labels (root not counted) */
  uint32_t admit;                   /* a name not in the set passes when a random u32 < admit */
  const uint32_t *hashes;           /* sorted ascending, unique: sb_qf_hash of each name's prefix */
  unsigned nhashes;
} sb_qf_zone;

/* The hash the program computes of a QNAME's labels in front of the zone (`prefix`, `plen`
 * octets, 1..255) followed by the zone's origin (folded, `olen` octets): the octets from the
 * name's start in big-endian words, each octet ORed with 0x20 (case-folded; other octets may
 * merge, which only lets more names pass), the first SB_QF_HASH_OCTETS octets (rounded up to a
 * word: the last word reads into the origin), seeded with plen. */
uint32_t sb_qf_hash(const uint8_t *prefix, unsigned plen, const uint8_t *origin, unsigned olen);
/* What the program decides for a UDP payload (the DNS message, `len` octets) with random draw
 * `rnd`: 1 passes on (to the source check), 0 dropped. The reference the tests compare the
 * kernel's and the dry run's decisions with. */
int sb_qf_decide(const sb_qf_zone *zones, unsigned nz, const uint8_t *msg, size_t len, uint32_t rnd);
/* Writes the UDP program: the QNAME filter of `nz` zones (0: none), then the source check of
 * sb_prefilter_build_sampled (`sample`); its length, or 0 when something does not fit (`cap`, a
 * jump's reach, the bounds above). */
unsigned sb_prefilter_build_qf(const uint32_t *prefixes, unsigned n, unsigned bits, uint32_t sample,
                               const sb_qf_zone *zones, unsigned nz, struct sock_filter *out, unsigned cap);

/* ---- the bridge (bridge21; docs/SHIELD.md "The bridge") ----
 * While a worker has fallen behind and its /24 blocks are not made yet, its UDP program passes
 * only sources of standing — inside an allow range, or of a /24 in `good` — and a random share of
 * everyone else (SKF_AD_RANDOM under `share`); a blocked /24's datagrams are dropped as ever. */
#define SB_BRIDGE_MAX_GOOD 512
#define SB_BRIDGE_MAX_RANGES 32
typedef struct sb_bridge {
  const uint32_t *good; /* /24s (a.b.c.0 as a number), sorted ascending, unique */
  unsigned ngood;
  const uint32_t (*ranges)[2]; /* inclusive [lo, hi] of IPv4 addresses that always pass */
  unsigned nranges;
  uint32_t share; /* anyone else passes when a random u32 is under it */
} sb_bridge;
/* The UDP program of sb_prefilter_build_qf (/24 prefixes) with the bridge's source check; its
 * length, or 0 when something does not fit. */
unsigned sb_prefilter_build_bridge(const uint32_t *prefixes, unsigned n, uint32_t sample, const sb_qf_zone *zones,
                                   unsigned nz, const sb_bridge *bridge, struct sock_filter *out, unsigned cap);

/* lone24 (prefilter_lone.c; docs/SHIELD.md "Quiet /24s through the bridge"): the bridge's program
 * as an eBPF socket filter whose strangers' share first asks an LRU map of /24s (SB_LONE_MAP of
 * them): a /24 with at most SB_LONE_PER_WIN datagrams in the current SB_LONE_WIN_NS window, not
 * hot, passes whole, at most SB_LONE_BUDGET such passes a window for the socket; a /24 over it is
 * hot (the share only) for SB_LONE_HOT_NS. `share_at`: the index of the share's random draw (the
 * bridge program's length - 4). -1 when bpf(2) is refused, the program does not translate, or
 * SWITCHBOARD_BRIDGE_LONE=off: the caller attaches the classic program. */
#define SB_LONE_PER_WIN 4
#define SB_LONE_BUDGET 256
#define SB_LONE_WIN_NS 100000000ull
#define SB_LONE_HOT_NS 10000000000ull
#define SB_LONE_MAP 4096
/* The least time between two eBPF bridge programs on a socket (udp.c; the QNAME filter's entry excepted).
 * maps25: SWITCHBOARD_BRIDGE_LONE_GAP_MS=N (0..2000) for A/B runs; sb_prefilter_lone_gap_ms reads it once. */
#define SB_LONE_GAP_MS 250
double sb_prefilter_lone_gap_ms(void);
/* Where the last program built on this thread has each zone's search of its names: the instruction
 * that loads the hash (tree_at), the zone's miss (miss_at), the QNAME filter's accept (acc_at). The
 * eBPF translation replaces each search by a lookup in a hash map of (zone, hash): a search of
 * 1,000 names cost the verifier ~16 ms an attach, the lookup a constant few instructions. */
typedef struct sb_qf_marks {
  unsigned len, nz;
  unsigned tree_at[SB_QF_MAX_ZONES], miss_at[SB_QF_MAX_ZONES], acc_at;
  /* maps25: the bridge's mask of the source to its /24 (0: not a bridge program); the eBPF
   * translation asks the map of /24s of standing right after it. */
  unsigned mask_at;
} sb_qf_marks;
const sb_qf_marks *sb_prefilter_qf_marks(void);
/* maps25 (docs/SHIELD.md "The bridge's maps"): the eBPF bridge program reads the strangers' share
 * from an array map (one slot: the u32 share) and the bridge's /24s of standing — those it was made
 * with and those that joined it — from a hash map of SB_LONE_GOOD_MAP /24s, both per thread (the
 * shield's), written from the worker with bpf(BPF_MAP_UPDATE_ELEM/DELETE_ELEM). So a rise of the
 * share or a join changes no program: only blocks and the QNAME filter do. The program's own share
 * constant and search of standing are kept (the classic program, where bpf(2) is refused, is the
 * same program); the caller builds the eBPF one from the bridge with no /24 of standing and a share
 * of 0 (sb_prefilter_bridge_mapped), so that a rebuild for a join or a rise is the same program.
 * sb_prefilter_lone_sync writes `bridge`'s share and /24s into the maps (only what changed since
 * the last call on this thread): 0, or -1 (bpf(2) refused, SWITCHBOARD_BRIDGE_LONE=off, or an update
 * failed — then the caller attaches the classic program, and the next call rewrites the maps whole).
 * Bounded: the shield holds at most SB_BRIDGE_MAX_GOOD /24s of standing a bridge (the map's size). */
#define SB_LONE_GOOD_MAP SB_BRIDGE_MAX_GOOD
int sb_prefilter_lone_sync(const sb_bridge *bridge);
/* The bridge as the eBPF program is built from (`b` with no /24 of standing and a share of 0). */
sb_bridge sb_prefilter_bridge_mapped(const sb_bridge *b);
/* Map writes (syscalls) made by sb_prefilter_lone_sync and the time they took, in this process; and
 * the bridge's changes that wrote the maps only (the program the same) and those whose new program
 * waited for the gap (udp.c counts them: sb_prefilter_lone_tally). */
void sb_prefilter_lone_map_counts(uint64_t *writes, uint64_t *ns);
void sb_prefilter_lone_tally(unsigned maps_only, unsigned deferred);
void sb_prefilter_lone_tallies(uint64_t *maps_only, uint64_t *deferred);
/* The LRU map of /24s now: entries, and those hot; -1 when there is no map (bpf(2) refused, never
 * made). One batch lookup (or a walk of its keys where the kernel has no batch for it). */
int sb_prefilter_lone_occupancy(unsigned *entries, unsigned *hot);
/* The maps an eBPF bridge program uses. */
typedef struct sb_lone_maps {
  int lru, budget, params, good;
} sb_lone_maps;
/* `zones`/`nz`: those the program was built with (sb_prefilter_build_bridge, just before). The
 * program reads the share and the /24s of standing from the maps: sb_prefilter_lone_sync first. */
int sb_prefilter_attach_lone(int fd, const struct sock_filter *prog, unsigned len, unsigned share_at,
                             const sb_qf_zone *zones, unsigned nz);
int sb_prefilter_lone_enabled(void);
/* Programs attached with the pass, attempts that fell back to the classic program, and the time
 * spent making and attaching them (the verifier's mostly), in this process. */
void sb_prefilter_lone_counts(uint64_t *attached, uint64_t *refused, uint64_t *ns);
struct bpf_insn;
/* The translation alone (tests): its length in `out`, or 0. */
unsigned sb_prefilter_lone_translate(const struct sock_filter *prog, unsigned len, unsigned share_at,
                                     const sb_lone_maps *maps, int names, const sb_qf_marks *marks,
                                     struct bpf_insn *out, unsigned cap);

/* Attaches the program to the socket (replacing the one before); len 0 detaches. 0 or -1. */
int sb_prefilter_attach(int fd, struct sock_filter *prog, unsigned len);

/* onset22: the program last attached to a socket (or to each of a set of sockets), so that a
 * rebuild that comes out the same is not attached again — an attach costs the kernel 0.1-0.3 ms
 * (the program checked, converted and JIT-compiled), whatever its length, and at a wave's onset
 * the shield's version moved many times a second while the program stayed as it was. */
typedef struct sb_prefilter_last {
  struct sock_filter *prog; /* a copy (malloc'd, `cap` instructions) */
  unsigned len, cap;
  int valid; /* 0: unknown (the next program is attached whatever it is) */
} sb_prefilter_last;
/* Whether `prog` (`len` instructions; 0: detached) is the one `last` holds. */
int sb_prefilter_same(const sb_prefilter_last *last, const struct sock_filter *prog, unsigned len);
/* Notes `prog` as attached (copied); when the copy cannot be made, `last` becomes unknown. */
void sb_prefilter_note(sb_prefilter_last *last, const struct sock_filter *prog, unsigned len);
/* Forgets it (the next program is attached) and frees the copy. */
void sb_prefilter_forget(sb_prefilter_last *last);
/* Whether the same program is attached again anyway (SWITCHBOARD_PREFILTER_SAME=attach: the
 * behaviour before onset22, for A/B runs); read once. */
int sb_prefilter_attach_same(void);

#endif
