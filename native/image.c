/*
 * Zone images answered in C: see image.h and docs/NATIVE.md. The lookup follows
 * src/image/reader.ts step by step (the format is docs/IMAGE.md); the answers themselves were
 * made by answer.ts when the image was compiled.
 */
#include "image.h"

#include "preparse.h"

#include <stdlib.h>
#include <string.h>

#define NONE 0xFFFFFFFFu
#define HEADER_SIZE 64u
#define SECTION_ENTRY 12u
#define NAME_REC 32u
#define RRSET_REC 16u
#define ANSWER_ENT 8u
#define TPL_HDR 32u

/* Name record fields */
#define N_NAMEDATA 0
#define N_FLAGS 4
#define N_ANSWER_FIRST 16
#define N_ANSWER_COUNT 20
#define N_NODATA 24
#define N_REFERRAL 28
/* Name flags */
#define NF_DELEGATION 1u
#define NF_BELOW_CUT 2u
#define NF_DNAME 4u
#define NF_WILDCARD_CHILD 16u
#define NF_HAS_CNAME 32u
#define NF_EMPTY 128u
/* Template fields */
#define T_SIZE 0
#define T_BODY 4
#define T_REQUIRED 8
#define T_FULL 12
#define T_AN 16
#define T_NS 18
#define T_AR_REQ 20
#define T_AR_OPT 22
#define T_DNS_FLAGS 24
#define T_QLEN 26
#define T_ANCHOR 27
#define T_PATCHES 28
#define T_WATCHES 30
#define T_TFLAGS 31
#define TF_SHIFTABLE 1u
#define TF_EXTERNAL 2u

struct sb_image {
  const uint8_t *b; /* the caller's bytes, read in place (validated once by sb_image_open) */
  size_t len;
  sb_image_release_fn release;
  void *release_arg;
  uint32_t origin, origin_len;
  uint32_t name_count, names, hash, slot_mask, answers, negative;
};

static uint32_t u32(const uint8_t *b, size_t o) {
  return (uint32_t)b[o] | ((uint32_t)b[o + 1] << 8) | ((uint32_t)b[o + 2] << 16) | ((uint32_t)b[o + 3] << 24);
}
static uint32_t u16(const uint8_t *b, size_t o) { return (uint32_t)b[o] | ((uint32_t)b[o + 1] << 8); }

static uint32_t fnv1a(const uint8_t *b, size_t start, size_t end) {
  uint32_t h = 0x811C9DC5u;
  for (size_t i = start; i < end; i++) h = (h ^ b[i]) * 0x01000193u;
  return h;
}

typedef struct {
  uint64_t at, size;
  int present;
} section;

static int inside(uint64_t o, uint64_t n, const section *s) { return o >= s->at && o + n <= s->at + s->size; }

/* True when b[at, at+n) is exactly one uncompressed name. */
static int check_name(const uint8_t *b, size_t at, size_t n) {
  size_t p = at, end = at + n;
  while (p < end) {
    uint8_t l = b[p];
    if (l == 0) return p + 1 == end;
    if (l > 63) return 0;
    p += (size_t)l + 1;
  }
  return 0;
}

#define FAIL(m)  \
  do {           \
    *why = (m);  \
    goto bad;    \
  } while (0)

sb_image *sb_image_open(const uint8_t *src, size_t len, sb_image_release_fn release, void *release_arg,
                        const char **why) {
  const char *dummy;
  if (why == NULL) why = &dummy;
  *why = NULL;
  if (src == NULL || len < HEADER_SIZE || len > 0xFFFFFFF0u) {
    *why = "shorter than its header";
    return NULL;
  }
  sb_image *img = calloc(1, sizeof(*img));
  /* One bit per octet offset: where the templates start (validation only, freed below). */
  uint8_t *starts = calloc(len / 8 + 1, 1);
  if (img == NULL || starts == NULL) {
    free(img);
    free(starts);
    *why = "out of memory";
    return NULL;
  }
  /* Read in place: the bytes stay the caller's (a view over a mapped pack file, for one). */
  const uint8_t *b = src;
  img->b = b;
  img->len = len;
  section sec[9];
  memset(sec, 0, sizeof(sec));
  if (u32(b, 0) != 0x495A4253u) FAIL("bad magic");
  if (u16(b, 4) != 2) FAIL("version is not supported"); /* src/image/format.ts VERSION */
  if (u16(b, 6) < HEADER_SIZE) FAIL("bad header size");
  if (u32(b, 8) != len) FAIL("length differs from the header's");
  uint64_t count = u32(b, 12), table = u32(b, 16);
  if (count > 64 || table < HEADER_SIZE || table + count * SECTION_ENTRY > len) FAIL("bad section table");
  {
    uint64_t seen = 0; /* ids 0..63 seen, for "no id twice" */
    int over = 0;
    for (uint64_t i = 0; i < count; i++) {
      size_t e = (size_t)(table + i * SECTION_ENTRY);
      uint32_t id = u32(b, e);
      uint64_t at = u32(b, e + 4), size = u32(b, e + 8);
      if (at > len || size > len - at) FAIL("section out of bounds");
      if (id < 64) {
        if (seen & ((uint64_t)1 << id)) FAIL("section twice");
        seen |= (uint64_t)1 << id;
      } else {
        /* ids >= 64: at most 64 entries, compare with the ones before */
        for (uint64_t k = 0; k < i; k++)
          if (u32(b, (size_t)(table + k * SECTION_ENTRY)) == id) FAIL("section twice");
        over = 1;
      }
      if (id >= 1 && id <= 8) {
        sec[id].at = at;
        sec[id].size = size;
        sec[id].present = 1;
      }
    }
    (void)over;
    for (int id = 1; id <= 8; id++)
      if (!sec[id].present) FAIL("section missing");
  }
  const section *origin = &sec[1], *names = &sec[2], *namedata = &sec[3], *hash = &sec[4], *rrsets = &sec[5],
                *rdata = &sec[6], *answers = &sec[7], *templates = &sec[8];
  uint32_t olen = u16(b, 22);
  if (olen < 1 || olen > 255 || !inside(origin->at, olen, origin)) FAIL("bad origin");
  if (!check_name(b, (size_t)origin->at, olen)) FAIL("origin is not a name");

  for (uint64_t t = templates->at; t < templates->at + templates->size;) {
    if (!inside(t, TPL_HDR, templates)) FAIL("template header out of bounds");
    uint64_t size = u32(b, t + T_SIZE), body = u32(b, t + T_BODY), full = u32(b, t + T_FULL),
             req = u32(b, t + T_REQUIRED);
    uint32_t patches = u16(b, t + T_PATCHES), watches = b[t + T_WATCHES], qlen = b[t + T_QLEN],
             anchor = b[t + T_ANCHOR];
    if (size < TPL_HDR || size % 4 != 0 || !inside(t, size, templates)) FAIL("bad template size");
    if (body < TPL_HDR + (uint64_t)patches * 2 || body > size || full > size - body || req > full || full > 65535)
      FAIL("bad template lengths");
    if (qlen < 1 || anchor < 1 || anchor > qlen) FAIL("bad template QNAME length");
    uint64_t w = t + TPL_HDR + (uint64_t)patches * 2;
    for (uint32_t i = 0; i < watches; i++) {
      if (w >= t + body) FAIL("watch labels out of bounds");
      uint32_t l = b[w];
      if (l < 1 || l > 63 || w + 1 + l > t + body) FAIL("bad watch label");
      w += 1 + l;
    }
    for (uint32_t i = 0; i < patches; i++) {
      uint64_t p = u16(b, t + TPL_HDR + (uint64_t)i * 2);
      if (p + 2 > full || (b[t + body + p] & 0xC0) != 0xC0) FAIL("bad patch offset");
    }
    starts[t / 8] |= (uint8_t)(1u << (t % 8));
    t += size;
  }
#define IS_START(o) ((o) < len && (starts[(o) / 8] & (1u << ((o) % 8))) != 0)
#define TPL_REF(o, m)                              \
  do {                                             \
    uint32_t o_ = (o);                             \
    if (o_ != NONE && !IS_START(o_)) FAIL(m);      \
  } while (0)

  uint64_t name_count = u32(b, 28);
  if (name_count * NAME_REC != names->size) FAIL("name table size");
  uint64_t rrset_count = u32(b, 32);
  if (rrset_count * RRSET_REC != rrsets->size) FAIL("RRset table size");
  if (answers->size % ANSWER_ENT != 0) FAIL("answer table size");
  uint64_t answer_count = answers->size / ANSWER_ENT;
  for (uint64_t i = 0; i < name_count; i++) {
    size_t r = (size_t)(names->at + i * NAME_REC);
    uint64_t nd = u32(b, r + N_NAMEDATA);
    if (!inside(nd, 1, namedata) || !inside(nd + 1, b[nd], namedata)) FAIL("name out of bounds");
    if (!check_name(b, (size_t)nd + 1, b[nd])) FAIL("name is not a name");
    uint64_t rf = u32(b, r + 8), rc = u32(b, r + 12);
    if (rf > rrset_count || rc > rrset_count - rf) FAIL("name: RRsets out of range");
    uint64_t af = u32(b, r + N_ANSWER_FIRST), ac = u32(b, r + N_ANSWER_COUNT);
    if (af > answer_count || ac > answer_count - af) FAIL("name: answers out of range");
    TPL_REF(u32(b, r + N_NODATA), "name NODATA does not point at a template");
    TPL_REF(u32(b, r + N_REFERRAL), "name referral does not point at a template");
  }
  for (uint64_t i = 0; i < answer_count; i++) {
    size_t e = (size_t)(answers->at + i * ANSWER_ENT);
    uint8_t kind = b[e + 2];
    if (kind == 0) {
      if (u32(b, e + 4) == NONE) FAIL("answer has no template");
      TPL_REF(u32(b, e + 4), "answer does not point at a template");
    } else if (kind != 1)
      FAIL("answer: bad kind");
  }
  for (uint64_t i = 0; i < rrset_count; i++) {
    size_t r = (size_t)(rrsets->at + i * RRSET_REC);
    if (u32(b, r) >= name_count) FAIL("RRset: bad owner");
    uint64_t p = u32(b, r + 12);
    for (uint32_t k = u16(b, r + 6); k > 0; k--) {
      if (!inside(p, 2, rdata)) FAIL("RRset: RDATA out of bounds");
      uint64_t l = ((uint32_t)b[p] << 8) | b[p + 1];
      if (!inside(p + 2, l, rdata)) FAIL("RRset: RDATA out of bounds");
      p += 2 + l;
    }
  }
  if (hash->size < 8) FAIL("hash table size");
  uint64_t slots = u32(b, hash->at);
  if (slots == 0 || (slots & (slots - 1)) != 0 || 8 + slots * 4 != hash->size || slots < name_count)
    FAIL("hash table size");
  uint64_t used = 0;
  for (uint64_t s = 0; s < slots; s++) {
    uint32_t v = u32(b, hash->at + 8 + s * 4);
    if (v > name_count) FAIL("hash slot out of range");
    if (v != 0) used++;
  }
  if (used >= slots) FAIL("hash table full");
  uint32_t negative = u32(b, 40);
  TPL_REF(negative, "negative does not point at a template");
  free(starts);
  img->origin = (uint32_t)origin->at;
  img->origin_len = olen;
  img->name_count = (uint32_t)name_count;
  img->names = (uint32_t)names->at;
  img->hash = (uint32_t)(hash->at + 8);
  img->slot_mask = (uint32_t)(slots - 1);
  img->answers = (uint32_t)answers->at;
  img->negative = negative;
  img->release = release;
  img->release_arg = release_arg;
  return img;
bad:
  free(starts);
  free(img);
  return NULL;
}

void sb_image_free(sb_image *img) {
  if (img == NULL) return;
  if (img->release != NULL) img->release(img->release_arg);
  free(img);
}

const uint8_t *sb_image_origin(const sb_image *img, size_t *len) {
  *len = img->origin_len;
  return img->b + img->origin;
}

/* ---- the per-thread table of zones ----
 * One entry per SERVED origin (sb_images_serve: the zones JS serves, handed over in bulk),
 * with its image once installed (NULL until then). The answer finds the closest enclosing
 * served origin of the QNAME; when that zone has no image yet it notes the origin in the miss
 * list (JS drains it after its batch, opens the image and installs it) and hands the datagram
 * to JS. So an origin served without an image never lets a parent's image answer for it. */

typedef struct zone_ent {
  struct zone_ent *next;
  uint32_t hash;
  sb_image *img; /* NULL: served, image not installed (JS answers) */
  uint8_t pending; /* in the miss list */
  uint8_t len;     /* origin length, 1..255 */
  uint8_t name[];  /* the origin, case-folded wire form */
} zone_ent;

/* The miss list: origins asked for with no image, as concatenated wire names (bounded: when
 * full, further misses are not noted until it is drained; their queries go to JS all the same). */
#define MISS_CAP SB_IMAGES_MISS_CAP

typedef struct {
  zone_ent **buckets;
  size_t nbuckets, count, images, bytes;
  int enabled;
  unsigned edns_size;
  uint8_t *nsid; /* our NSID payload (sb_images_set_nsid), NULL when none */
  size_t nsid_len;
  size_t miss_len;
  uint8_t miss[MISS_CAP];
} catalog;

static __thread catalog cat = {NULL, 0, 0, 0, 0, 0, 1232, NULL, 0, 0, {0}};

static int grow(void) {
  size_t nb = cat.nbuckets ? cat.nbuckets * 2 : 64;
  zone_ent **nbk = calloc(nb, sizeof(*nbk));
  if (nbk == NULL) return -1;
  for (size_t i = 0; i < cat.nbuckets; i++) {
    zone_ent *e = cat.buckets[i];
    while (e) {
      zone_ent *next = e->next;
      size_t k = e->hash & (nb - 1);
      e->next = nbk[k];
      nbk[k] = e;
      e = next;
    }
  }
  free(cat.buckets);
  cat.buckets = nbk;
  cat.nbuckets = nb;
  return 0;
}

/* The entry of the origin name[start, end) (folded), or NULL. */
static zone_ent *find_ent(const uint8_t *name, size_t start, size_t end) {
  if (cat.nbuckets == 0) return NULL;
  size_t n = end - start;
  uint32_t h = fnv1a(name, start, end);
  for (zone_ent *e = cat.buckets[h & (cat.nbuckets - 1)]; e; e = e->next)
    if (e->hash == h && e->len == n && memcmp(e->name, name + start, n) == 0) return e;
  return NULL;
}

/* A new entry for the folded origin name[0, n) (1 <= n <= 255, a checked name); NULL when out
 * of memory. */
static zone_ent *add_ent(const uint8_t *name, size_t n) {
  if ((cat.count + 1 > cat.nbuckets) && grow() != 0) return NULL;
  zone_ent *e = malloc(sizeof(*e) + n);
  if (e == NULL) return NULL;
  memcpy(e->name, name, n);
  e->len = (uint8_t)n;
  e->hash = fnv1a(name, 0, n);
  e->img = NULL;
  e->pending = 0;
  size_t k = e->hash & (cat.nbuckets - 1);
  e->next = cat.buckets[k];
  cat.buckets[k] = e;
  cat.count++;
  return e;
}

static void drop_image(zone_ent *e) {
  if (e->img == NULL) return;
  cat.bytes -= e->img->len;
  cat.images--;
  sb_image_free(e->img);
  e->img = NULL;
}

int sb_images_install(sb_image *img) {
  const uint8_t *o = img->b + img->origin;
  zone_ent *e = find_ent(o, 0, img->origin_len);
  if (e == NULL) e = add_ent(o, img->origin_len);
  if (e == NULL) {
    sb_image_free(img);
    return -1;
  }
  /* The batch loop runs on this same thread: no batch is reading the old image now. */
  drop_image(e);
  e->img = img;
  cat.images++;
  cat.bytes += img->len;
  return 0;
}

/* Folds name[0, len) into out (256 octets) when it is exactly one uncompressed name. */
static int fold_name(const uint8_t *name, size_t len, uint8_t *out) {
  if (name == NULL || len < 1 || len > 255 || !check_name(name, 0, len)) return 0;
  for (size_t i = 0; i < len; i++) {
    uint8_t c = name[i];
    out[i] = (c >= 0x41 && c <= 0x5A) ? (uint8_t)(c | 0x20) : c;
  }
  /* Length octets are < 64, never in A..Z: folding them is harmless. */
  return 1;
}

int sb_images_serve(const uint8_t *name, size_t len) {
  uint8_t f[256];
  if (!fold_name(name, len, f)) return -1;
  if (find_ent(f, 0, len) != NULL) return 0;
  return add_ent(f, len) != NULL ? 1 : -2;
}

static int remove_ent(const uint8_t *name, size_t len, int keep_served) {
  uint8_t f[256];
  if (cat.nbuckets == 0 || !fold_name(name, len, f)) return 0;
  uint32_t h = fnv1a(f, 0, len);
  zone_ent **pp = &cat.buckets[h & (cat.nbuckets - 1)];
  for (; *pp; pp = &(*pp)->next) {
    zone_ent *e = *pp;
    if (e->hash == h && e->len == len && memcmp(e->name, f, len) == 0) {
      if (keep_served) {
        int had = e->img != NULL;
        drop_image(e);
        return had;
      }
      *pp = e->next;
      cat.count--;
      drop_image(e);
      free(e);
      return 1;
    }
  }
  return 0;
}

int sb_images_remove(const uint8_t *origin, size_t len) { return remove_ent(origin, len, 0); }
int sb_images_uninstall(const uint8_t *origin, size_t len) { return remove_ent(origin, len, 1); }

void sb_images_clear(void) {
  for (size_t i = 0; i < cat.nbuckets; i++) {
    zone_ent *e = cat.buckets[i];
    while (e) {
      zone_ent *next = e->next;
      drop_image(e);
      free(e);
      e = next;
    }
  }
  free(cat.buckets);
  cat.buckets = NULL;
  cat.nbuckets = cat.count = cat.images = cat.bytes = 0;
  cat.miss_len = 0;
}

size_t sb_images_count(void) { return cat.count; }
size_t sb_images_installed(void) { return cat.images; }
size_t sb_images_bytes(void) { return cat.bytes; }

static void note_miss(zone_ent *e) {
  if (e->pending || cat.miss_len + e->len > MISS_CAP) return;
  memcpy(cat.miss + cat.miss_len, e->name, e->len);
  cat.miss_len += e->len;
  e->pending = 1;
}

size_t sb_images_take_misses(uint8_t *out, size_t cap) {
  size_t n = cat.miss_len;
  if (n > cap) n = 0; /* never partly: the caller gives MISS_CAP or more */
  if (n > 0) memcpy(out, cat.miss, n);
  /* Clear the pending marks of the origins still served (the list holds whole names). */
  for (size_t p = 0; p < cat.miss_len;) {
    size_t s = p;
    while (p < cat.miss_len && cat.miss[p] != 0) p += (size_t)cat.miss[p] + 1;
    if (p >= cat.miss_len) break; /* cannot happen: note_miss copies whole names */
    p++;
    zone_ent *e = find_ent(cat.miss, s, p);
    if (e != NULL) e->pending = 0;
  }
  cat.miss_len = 0;
  return n;
}

void sb_images_configure(int enabled, unsigned edns_size) {
  cat.enabled = enabled;
  if (edns_size < 512) edns_size = 512;
  if (edns_size > 65535) edns_size = 65535;
  cat.edns_size = edns_size;
}
int sb_images_enabled(void) { return cat.enabled; }
unsigned sb_images_edns_size(void) { return cat.edns_size; }

int sb_images_set_nsid(const uint8_t *nsid, size_t len) {
  if (len > 65535 - 4) return -1;
  uint8_t *copy = NULL;
  if (len > 0) {
    copy = malloc(len);
    if (copy == NULL) return -1;
    memcpy(copy, nsid, len);
  }
  free(cat.nsid);
  cat.nsid = copy;
  cat.nsid_len = len;
  return 0;
}

/* ---- the answer (reader.ts respondFromImage, parseQuery) ---- */

typedef struct {
  const uint8_t *qname; /* as sent */
  uint32_t id, flags, qtype, qclass, limit;
  int edns;
  int nsid;         /* the query asked for our NSID and one is configured: our OPT carries it */
  uint32_t do_flag; /* 0x8000 or 0 */
  uint8_t fold[256];
  int lab[129];
  int labels, qlen;
} query;

/* parseQuery for UDP (reader.ts), from the pre-parse (preparse.c) of the datagram, which has
 * already checked the header (QR 0, opcode QUERY, QDCOUNT 1, ANCOUNT = NSCOUNT = 0, ARCOUNT <= 1),
 * walked the QNAME (uncompressed, labels <= 63, <= 255 octets), and walked the OPT's options
 * (each length against the RDATA's end, the RDATA exactly up to the end of the datagram):
 * status 0 means all of that holds. Returns 0 when JS must answer (status != 0, EDNS version
 * > 0). Options as the Responder: NSID (3) is answered with our NSID when one is configured;
 * COOKIE (10, no server cookies yet), padding (12) and unknown codes are ignored; EXPIRE (9)
 * with a SOA question goes to JS. */
static int load(const sb_preparse *pp, const uint8_t *q, size_t len, query *out, int tcp) {
  if (pp->status != 0 || pp->qname_len < 1 || (size_t)12 + pp->qname_len + 4 > len) return 0;
  out->qname = q + 12;
  out->qtype = pp->qtype;
  out->qclass = pp->qclass;
  unsigned ours = cat.edns_size;
  out->limit = 512;
  out->edns = 0;
  out->nsid = 0;
  out->do_flag = 0;
  if (pp->flags & SB_PF_OPT) {
    if (pp->edns_version != 0) return 0;
    /* EXPIRE (RFC 7314) asked with a SOA: JS answers it (the edge adds the option). */
    if ((pp->flags & SB_PF_EXPIRE) && pp->qtype == 6) return 0;
    out->edns = 1;
    out->do_flag = (pp->flags & SB_PF_DO) ? 0x8000 : 0;
    out->nsid = (pp->flags & SB_PF_NSID) != 0 && cat.nsid != NULL;
    uint32_t udp = pp->opt_size;
    uint32_t l = udp < 512 ? 512 : udp;
    if (l > ours) l = ours;
    if (l > 65507) l = 65507;
    out->limit = l;
  }
  /* Over TCP (parseQuery's 'tcp'): any response up to a frame's 65,535 octets, never truncated. */
  if (tcp) out->limit = 65535;
  out->id = ((uint32_t)q[0] << 8) | q[1];
  out->flags = ((uint32_t)q[2] << 8) | q[3];
  /* loadName: fold and label offsets (one walk; the bounds were checked by the pre-parse and
   * are checked again here, cheaply, so this never depends on it for memory safety). */
  const uint8_t *qn = out->qname;
  size_t qnl = pp->qname_len;
  size_t i = 0;
  out->labels = 0;
  while (i < qnl) {
    uint8_t l = qn[i];
    if (l == 0) {
      if (i + 1 != qnl) return 0;
      out->lab[out->labels] = (int)i;
      out->fold[i] = 0;
      out->qlen = (int)i + 1;
      return 1;
    }
    if (l > 63 || i + 1 + l >= qnl || i + 1 + l > 254) return 0;
    if (out->labels >= 128) return 0;
    out->lab[out->labels++] = (int)i;
    out->fold[i] = l;
    for (size_t k = i + 1; k <= i + l; k++) {
      uint8_t c = qn[k];
      out->fold[k] = (c >= 0x41 && c <= 0x5A) ? (uint8_t)(c | 0x20) : c;
    }
    i += (size_t)l + 1;
  }
  return 0;
}

static int find_in(const sb_image *img, const uint8_t *name, size_t start, size_t end) {
  const uint8_t *b = img->b;
  size_t n = end - start;
  uint32_t s = fnv1a(name, start, end) & img->slot_mask;
  for (;;) {
    uint32_t v = u32(b, img->hash + (size_t)s * 4);
    if (v == 0) return -1;
    uint32_t nd = u32(b, img->names + (size_t)(v - 1) * NAME_REC);
    if (b[nd] == n && memcmp(b + nd + 1, name + start, n) == 0) return (int)(v - 1);
    s = (s + 1) & img->slot_mask;
  }
}

static uint32_t name_u32(const sb_image *img, int n, int field) {
  return u32(img->b, img->names + (size_t)n * NAME_REC + field);
}

/* Copies template t: returns the length or 0 (fallback). */
static size_t emit(const sb_image *img, uint32_t t, const query *q, uint8_t *out, size_t cap, uint32_t rcode) {
  const uint8_t *b = img->b;
  uint32_t tflags = b[t + T_TFLAGS];
  if (tflags & TF_EXTERNAL) return 0;
  int delta = q->qlen - (int)b[t + T_QLEN];
  if (delta != 0 && (tflags & TF_SHIFTABLE) == 0) return 0;
  uint32_t patches = u16(b, t + T_PATCHES);
  uint32_t watches = b[t + T_WATCHES];
  int anchor = b[t + T_ANCHOR];
  if (watches > 0 && q->qlen > anchor) {
    int stop = q->qlen - anchor;
    int from = 0;
    for (int i = 0; i < q->labels; i++)
      if (q->lab[i + 1] == stop) {
        from = q->lab[i];
        break;
      }
    int n = stop - from;
    size_t w = t + TPL_HDR + (size_t)patches * 2;
    for (uint32_t i = 0; i < watches; i++) {
      int l = b[w] + 1;
      if (l == n && memcmp(b + w, q->fold + from, (size_t)n) == 0) return 0;
      w += (size_t)l;
    }
  }
  size_t body = t + u32(b, t + T_BODY);
  size_t full = u32(b, t + T_FULL);
  size_t required = u32(b, t + T_REQUIRED);
  size_t base = 12 + (size_t)q->qlen + 4;
  size_t nsid_len = q->nsid ? cat.nsid_len : 0;
  size_t opt_len = q->edns ? 11 + (q->nsid ? 4 + nsid_len : 0) : 0;
  uint32_t dns_flags = 0x8000 | (q->flags & 0x0110) | u16(b, t + T_DNS_FLAGS) | rcode;
  size_t copy = full;
  uint32_t an = u16(b, t + T_AN), ns = u16(b, t + T_NS), ar = u16(b, t + T_AR_REQ) + u16(b, t + T_AR_OPT);
  if (base + full + opt_len > q->limit) {
    if (base + required + opt_len <= q->limit) return 0;
    dns_flags |= 0x0200;
    copy = 0;
    an = ns = ar = 0;
  }
  size_t total = base + copy + opt_len;
  if (total > cap) return 0;
  out[0] = (uint8_t)(q->id >> 8);
  out[1] = (uint8_t)q->id;
  out[2] = (uint8_t)(dns_flags >> 8);
  out[3] = (uint8_t)dns_flags;
  out[4] = 0;
  out[5] = 1;
  out[6] = (uint8_t)(an >> 8);
  out[7] = (uint8_t)an;
  out[8] = (uint8_t)(ns >> 8);
  out[9] = (uint8_t)ns;
  if (opt_len > 0) ar++;
  out[10] = (uint8_t)(ar >> 8);
  out[11] = (uint8_t)ar;
  memcpy(out + 12, q->qname, (size_t)q->qlen);
  size_t p = 12 + (size_t)q->qlen;
  out[p++] = (uint8_t)(q->qtype >> 8);
  out[p++] = (uint8_t)q->qtype;
  out[p++] = 0;
  out[p++] = 1;
  if (copy > 0) {
    memcpy(out + p, b + body, copy);
    if (delta != 0)
      for (uint32_t i = 0; i < patches; i++) {
        size_t at = p + u16(b, t + TPL_HDR + (size_t)i * 2);
        long target = (long)((((uint32_t)out[at] & 0x3F) << 8) | out[at + 1]) + delta;
        /* The moved pointer must still be a pointer (< 0x4000) to an earlier octet of this
         * message, past the header; anything else (a template that cannot shift that far) is
         * left to JS. The validator checked `at`: the pointer lies inside the copied body. */
        if (target < 12 || target >= 0x4000 || (size_t)target >= at) return 0;
        out[at] = (uint8_t)(0xC0 | ((unsigned long)target >> 8));
        out[at + 1] = (uint8_t)target;
      }
    p += copy;
  }
  if (q->edns) {
    out[p++] = 0;
    out[p++] = 0;
    out[p++] = 41;
    out[p++] = (uint8_t)(cat.edns_size >> 8);
    out[p++] = (uint8_t)cat.edns_size;
    out[p++] = 0;
    out[p++] = 0;
    out[p++] = (uint8_t)((q->do_flag >> 8) & 0x80);
    out[p++] = 0;
    size_t rdlen = opt_len - 11;
    out[p++] = (uint8_t)(rdlen >> 8);
    out[p++] = (uint8_t)rdlen;
    if (q->nsid) {
      out[p++] = 0;
      out[p++] = 3;
      out[p++] = (uint8_t)(nsid_len >> 8);
      out[p++] = (uint8_t)nsid_len;
      memcpy(out + p, cat.nsid, nsid_len);
      p += nsid_len;
    }
  }
  return p;
}

static size_t referral(const sb_image *img, int n, const query *q, uint8_t *out, size_t cap) {
  uint32_t t = name_u32(img, n, N_REFERRAL);
  if (t == NONE) return 0;
  return emit(img, t, q, out, cap, 0);
}

static size_t at_name(const sb_image *img, int n, const query *q, uint8_t *out, size_t cap) {
  const uint8_t *b = img->b;
  uint32_t flags = name_u32(img, n, N_FLAGS);
  if ((flags & NF_EMPTY) == 0) {
    uint32_t first = name_u32(img, n, N_ANSWER_FIRST), count = name_u32(img, n, N_ANSWER_COUNT);
    for (uint32_t i = 0; i < count; i++) {
      size_t e = img->answers + (size_t)(first + i) * ANSWER_ENT;
      if (u16(b, e) != q->qtype) continue; /* note: little-endian u16 */
      if (b[e + 2] != 0) return 0;
      return emit(img, u32(b, e + 4), q, out, cap, 0);
    }
    if (flags & NF_HAS_CNAME) return 0;
    if (q->qtype == 255) return 0;
  }
  uint32_t t = name_u32(img, n, N_NODATA);
  if (t == NONE) return 0;
  return emit(img, t, q, out, cap, 0);
}

static int find_wildcard(const sb_image *img, int encloser) {
  const uint8_t *b = img->b;
  uint32_t nd = name_u32(img, encloser, N_NAMEDATA);
  size_t n = b[nd];
  if (n + 2 > 255) return -1;
  uint8_t wild[257];
  wild[0] = 1;
  wild[1] = 0x2A;
  memcpy(wild + 2, b + nd + 1, n);
  return find_in(img, wild, 0, n + 2);
}

static size_t answer_in(const sb_image *img, const query *q, uint8_t *out, size_t cap) {
  uint32_t qtype = q->qtype;
  int exact = find_in(img, q->fold, 0, (size_t)q->qlen);
  if (exact >= 0 && (name_u32(img, exact, N_FLAGS) & NF_BELOW_CUT) == 0) {
    if ((name_u32(img, exact, N_FLAGS) & NF_DELEGATION) && qtype != 43) return referral(img, exact, q, out, cap);
    return at_name(img, exact, q, out, cap);
  }
  int olen = (int)img->origin_len;
  int first = -1;
  for (int i = 0; i <= q->labels; i++)
    if (q->lab[i] == q->qlen - olen) {
      first = i;
      break;
    }
  if (first < 0) return 0;
  int encloser = -1;
  for (int i = first; i >= 0; i--) {
    int n = find_in(img, q->fold, (size_t)q->lab[i], (size_t)q->qlen);
    if (n < 0) break;
    uint32_t f = name_u32(img, n, N_FLAGS);
    if (f & NF_DELEGATION) {
      if (i == 0 && qtype == 43) return at_name(img, n, q, out, cap);
      if (exact >= 0 && i > 0) {
        uint32_t own = name_u32(img, exact, N_REFERRAL);
        if (own != NONE) return emit(img, own, q, out, cap, 0);
      }
      return referral(img, n, q, out, cap);
    }
    if ((f & NF_DNAME) && i > 0) return 0;
    encloser = n;
  }
  if (encloser >= 0 && (name_u32(img, encloser, N_FLAGS) & NF_WILDCARD_CHILD)) {
    int wild = find_wildcard(img, encloser);
    if (wild >= 0) return at_name(img, wild, q, out, cap);
  }
  if (img->negative == NONE) return 0;
  return emit(img, img->negative, q, out, cap, 3);
}

size_t sb_image_answer(const uint8_t *pkt, size_t len, uint8_t *out, size_t cap) {
  sb_preparse pp;
  sb_preparse_packet(pkt, len, &pp);
  return sb_image_answer_pp(&pp, pkt, len, out, cap);
}

static size_t answer_pp(const sb_preparse *pp, const uint8_t *pkt, size_t len, uint8_t *out, size_t cap, int tcp);

size_t sb_image_answer_pp(const sb_preparse *pp, const uint8_t *pkt, size_t len, uint8_t *out, size_t cap) {
  return answer_pp(pp, pkt, len, out, cap, 0);
}

size_t sb_image_answer_tcp(const uint8_t *pkt, size_t len, uint8_t *out, size_t cap) {
  sb_preparse pp;
  sb_preparse_packet(pkt, len, &pp);
  return answer_pp(&pp, pkt, len, out, cap, 1);
}

static size_t answer_pp(const sb_preparse *pp, const uint8_t *pkt, size_t len, uint8_t *out, size_t cap, int tcp) {
  if (cat.count == 0) return 0;
  query q;
  if (!load(pp, pkt, len, &q, tcp)) return 0;
  if (q.qclass != 1) return 0;
  if (q.qtype == 251 || q.qtype == 252) return 0;
  zone_ent *zone = NULL;
  for (int i = 0; i <= q.labels; i++) {
    zone_ent *found = find_ent(q.fold, (size_t)q.lab[i], (size_t)q.qlen);
    if (found == NULL) continue;
    if (i == 0 && q.qtype == 43 && q.labels > 0 && zone == NULL) {
      zone = found;
      continue;
    }
    zone = found;
    break;
  }
  if (zone == NULL) return 0;
  if (zone->img == NULL) {
    note_miss(zone);
    return 0;
  }
  return answer_in(zone->img, &q, out, cap);
}

/* For the shield's admission (shield.c, hooks.h): is the query for one of the zones installed
 * here, which zone (the FNV-1a of its origin, the same hash the table files it under), and does
 * its QNAME exist there — an exact name, or at/below a delegation, or below a DNAME, or covered
 * by a wildcard: every case the image answers with data or a referral rather than NXDOMAIN.
 * The same lookups as the answer, none of its writing. Returns 0 when no installed zone holds
 * the QNAME (or the query is not one C answers: the same conditions as sb_image_answer_pp). */
int sb_image_classify(const sb_preparse *pp, const uint8_t *pkt, size_t len, uint32_t *zone_key, int *exists) {
  if (cat.count == 0) return 0;
  query q;
  if (!load(pp, pkt, len, &q, 0)) return 0;
  if (q.qclass != 1) return 0;
  const zone_ent *zone = NULL;
  for (int i = 0; i <= q.labels; i++) {
    zone = find_ent(q.fold, (size_t)q.lab[i], (size_t)q.qlen);
    if (zone != NULL) break;
  }
  if (zone == NULL) return 0;
  /* The entry's hash is the FNV-1a of its folded origin: the zone's key, image or not. */
  *zone_key = zone->hash;
  *exists = 1;
  const sb_image *img = zone->img;
  if (img == NULL) return 1; /* served, no image yet (lazy install): the name's existence unknown */
  if (find_in(img, q.fold, 0, (size_t)q.qlen) >= 0) return 1;
  int olen = (int)img->origin_len;
  int first = -1;
  for (int i = 0; i <= q.labels; i++)
    if (q.lab[i] == q.qlen - olen) {
      first = i;
      break;
    }
  if (first < 0) return 1;
  int encloser = -1;
  for (int i = first; i >= 0; i--) {
    int n = find_in(img, q.fold, (size_t)q.lab[i], (size_t)q.qlen);
    if (n < 0) break;
    uint32_t f = name_u32(img, n, N_FLAGS);
    if ((f & NF_DELEGATION) || ((f & NF_DNAME) && i > 0)) return 1;
    encloser = n;
  }
  if (encloser >= 0 && (name_u32(img, encloser, N_FLAGS) & NF_WILDCARD_CHILD) && find_wildcard(img, encloser) >= 0)
    return 1;
  *exists = 0;
  return 1;
}

/* For the kernel prefilter's QNAME filter (shield_glue.c): the names of the zone `zone_key`. */
int sb_images_names_of(uint32_t zone_key, const void **image, const uint8_t **origin, size_t *origin_len,
                       sb_name_fn fn, void *ctx) {
  if (cat.nbuckets == 0) return -1;
  const zone_ent *zone = NULL;
  for (const zone_ent *e = cat.buckets[zone_key & (cat.nbuckets - 1)]; e; e = e->next)
    if (e->hash == zone_key) {
      zone = e;
      break;
    }
  if (zone == NULL || zone->img == NULL) return -1;
  const sb_image *img = zone->img;
  const uint8_t *b = img->b;
  size_t olen = img->origin_len;
  if (fn == NULL) {
    /* Only which image, and the origin. */
    *image = img;
    *origin = zone->name;
    *origin_len = zone->len;
    return 0;
  }
  /* Another served zone below this one: its names would look like this zone's missing names. */
  for (size_t i = 0; i < cat.nbuckets; i++)
    for (const zone_ent *e = cat.buckets[i]; e; e = e->next)
      if (e != zone && e->len > olen && memcmp(e->name + e->len - olen, zone->name, olen) == 0) {
        /* a suffix at a label boundary? walk the labels of e->name */
        size_t p = 0;
        while (p < e->len && e->name[p] != 0) {
          if (e->len - p == olen) break;
          p += 1u + e->name[p];
        }
        if (p < e->len && e->len - p == olen) return -3;
      }
  *image = img;
  *origin = zone->name;
  *origin_len = zone->len;
  int count = 0;
  for (uint32_t n = 0; n < img->name_count; n++) {
    uint32_t nd = name_u32(img, (int)n, N_NAMEDATA);
    size_t len = b[nd];
    uint32_t f = name_u32(img, (int)n, N_FLAGS);
    int apex = len == olen;
    if (!apex && (f & (NF_DELEGATION | NF_BELOW_CUT | NF_DNAME))) return -2;
    if (f & NF_WILDCARD_CHILD) return -2;
    if (len >= 2 && b[nd + 1] == 1 && b[nd + 2] == '*') return -2; /* a wildcard owner */
    if (apex) continue;
    if (fn(ctx, b + nd + 1, len) != 0) return -4;
    count++;
  }
  return count;
}
