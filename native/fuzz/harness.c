/*
 * Standalone harness for the native pre-parse (../preparse.c, the same source the addon
 * compiles). Built with -fsanitize=address,undefined by test/native/fuzz.test.ts:
 *
 *   harness CORPUS...      each CORPUS file holds packets as [u32 big-endian length][octets]...;
 *                          every packet is copied into a buffer of exactly its length (so a read
 *                          one octet past the end is an ASan report), pre-parsed, and the result
 *                          checked for consistency (abort on a broken invariant).
 *   harness --canary       reads one octet past a buffer on purpose: proves the sanitizer is on.
 *   harness --images FILE CORPUS...   (each packet also classified for the shield)
 *                          FILE holds zone images in the same record format (../image.c): each
 *                          is validated (many are corrupted on purpose: refused or, when a flip
 *                          lands in data, accepted) and the accepted ones installed, read in
 *                          place from the buffer they were read into (freed only when the image
 *                          is replaced, removed or cleared: ASan reports a read after that).
 *                          After EACH image (accepted or refused) the next SB_PER_IMAGE corpus
 *                          packets (cycling) are answered from the table in C into a buffer of
 *                          exactly the cap, and the answer checked (length, ID, QR); at the end
 *                          every corpus packet is pre-parsed and answered again. The table is
 *                          also configured with an NSID, so the options walk and the NSID
 *                          append run. Prints a second line "images I accepted A answered N".
 *                          Every third image also serves origins without images (hostile octets,
 *                          a corpus QNAME and its suffixes), drops some images and origins, and
 *                          after each image the miss list is taken into a buffer of exactly its
 *                          cap and checked (third line "serve S served O misses M").
 *
 * Prints "packets N wellformed W opt O" on success. With -DSB_LIBFUZZER it is instead a
 * libFuzzer target (clang -fsanitize=fuzzer,address,undefined), for coverage-guided runs
 * outside the test suite.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../image.h"
#include "../preparse.h"

static unsigned long packets, wellformed, with_opt, answered;
static int use_images;

static void check(const uint8_t *pkt, size_t len) {
  sb_preparse pp;
  sb_preparse_packet(pkt, len, &pp);
  packets++;
  if (pp.status == 0) {
    wellformed++;
    /* Invariants of a well-formed result. */
    if (pp.qname_len < 1 || pp.qname_len > 255 || pp.question_end != 12u + pp.qname_len + 4u ||
        pp.question_end > len || pp.label_count > 127) {
      fprintf(stderr, "invariant broken: len %zu qname_len %u question_end %u labels %u\n", len, pp.qname_len,
              pp.question_end, pp.label_count);
      abort();
    }
  }
  if (pp.flags & SB_PF_OPT) {
    with_opt++;
    if (pp.question_end == 0 || (size_t)pp.question_end + 11u > len) {
      fprintf(stderr, "invariant broken: OPT flagged beyond the packet\n");
      abort();
    }
  }
}

static unsigned long images, accepted;

/* The corpus packets, kept in memory for the answers after each image. */
static uint8_t **corpus;
static size_t *corpus_len;
static size_t corpus_n, corpus_cap, corpus_next;
#define SB_PER_IMAGE 64

/* Answers `len` octets at `pkt` from the installed images; checks the answer. */
static void answer_one(const uint8_t *pkt, size_t len) {
  const size_t cap = 65535;
  uint8_t *out = (uint8_t *)malloc(cap);
  if (out == NULL) abort();
  size_t n = sb_image_answer(pkt, len, out, cap);
  /* The shield's classification walks the same lookups (sb_image_classify). */
  sb_preparse pp;
  sb_preparse_packet(pkt, len, &pp);
  uint32_t zone_key = 0;
  int exists = -1;
  if (sb_image_classify(&pp, pkt, len, &zone_key, &exists) && exists != 0 && exists != 1) {
    fprintf(stderr, "invariant broken: classify gave exists %d\n", exists);
    abort();
  }
  if (n > 0) {
    answered++;
    if (n < 12 || n > cap || len < 12 || out[0] != pkt[0] || out[1] != pkt[1] || (out[2] & 0x80) == 0) {
      fprintf(stderr, "invariant broken: C answer of %zu octets\n", n);
      abort();
    }
  }
  free(out);
}

static void release_copy(void *arg) { free(arg); }

static unsigned long served_calls, misses_taken;

/* Takes the miss list into a buffer of exactly the cap and checks it holds whole names. */
static void take_misses(size_t cap) {
  uint8_t *buf = (uint8_t *)malloc(cap ? cap : 1);
  if (buf == NULL) abort();
  size_t n = sb_images_take_misses(buf, cap);
  if (n > cap) abort();
  for (size_t p = 0; p < n;) {
    size_t s = p;
    while (p < n && buf[p] != 0) {
      if (buf[p] > 63) abort();
      p += (size_t)buf[p] + 1;
    }
    if (p >= n || p + 1 - s > 255) {
      fprintf(stderr, "invariant broken: miss list is not whole names\n");
      abort();
    }
    p++;
    misses_taken++;
  }
  free(buf);
}

/* Serves origins without images (lazy installs): hostile octets (mostly refused: not exactly one
 * name), and the QNAME of the next corpus packet to answer and each of its suffixes, in the case
 * it was sent (kept in `round` to be dropped after the answers). Each name is copied into a
 * buffer of exactly its length. */
#define SB_ROUND 130
static uint8_t *round_names[SB_ROUND];
static size_t round_len[SB_ROUND], round_n;

static void serve_some(const uint8_t *bytes, size_t len, unsigned long k) {
  size_t n = len < 300 ? len : 300;
  uint8_t *copy = (uint8_t *)malloc(n ? n : 1);
  if (copy == NULL) abort();
  if (n) memcpy(copy, bytes, n);
  served_calls++;
  if (sb_images_serve(copy, n) == 1) (void)sb_images_remove(copy, n);
  free(copy);
  if (corpus_n == 0) return;
  size_t i = (corpus_next + k % SB_PER_IMAGE) % corpus_n;
  sb_preparse pp;
  sb_preparse_packet(corpus[i], corpus_len[i], &pp);
  if (pp.status != 0 || pp.qname_len < 1 || 12u + pp.qname_len > corpus_len[i]) return;
  const uint8_t *qn = corpus[i] + 12;
  for (size_t at = 0; at < pp.qname_len && round_n < SB_ROUND;) {
    size_t l = pp.qname_len - at;
    uint8_t *name = (uint8_t *)malloc(l);
    if (name == NULL) abort();
    memcpy(name, qn + at, l);
    served_calls++;
    int rc = sb_images_serve(name, l);
    if (rc == -1) abort(); /* a checked QNAME's suffix is a name */
    if (rc == 1) {
      round_names[round_n] = name;
      round_len[round_n++] = l;
    } else
      free(name);
    if (qn[at] == 0) break;
    at += (size_t)qn[at] + 1;
  }
}

/* Drops what serve_some served: the images only (the origins stay served) or the origins. */
static void drop_round(int keep_served) {
  for (size_t r = 0; r < round_n; r++) {
    if (keep_served)
      (void)sb_images_uninstall(round_names[r], round_len[r]);
    else
      (void)sb_images_remove(round_names[r], round_len[r]);
    free(round_names[r]);
  }
  round_n = 0;
}

/* Validates one image (read in place: the buffer is the image's until it is released); installs
 * it when accepted, replacing the one of the same origin; then answers the next corpus packets.
 * Returns 1 when it took the buffer. */
static int install_image(uint8_t *bytes, size_t len) {
  images++;
  int took = 0;
  sb_image *img = sb_image_open(bytes, len, release_copy, bytes, NULL);
  if (img != NULL) {
    accepted++;
    took = 1; /* freed by sb_image_free, also when install fails */
    if (sb_images_install(img) != 0) abort();
  }
  if (images % 3 == 0) serve_some(bytes, len, images);
  for (size_t k = 0; k < SB_PER_IMAGE && corpus_n > 0; k++) {
    size_t i = corpus_next++ % corpus_n;
    answer_one(corpus[i], corpus_len[i]);
  }
  /* The miss list, into a buffer of exactly the cap (or one too small: nothing taken). */
  take_misses(images % 5 == 0 ? 64 : SB_IMAGES_MISS_CAP);
  /* Mostly removed again, so most answers still run on the images; 1 in 7 stays served. */
  drop_round(images % 7 == 0);
  return took;
}

static int keep_packet(uint8_t *pkt, size_t len) {
  if (corpus_n == corpus_cap) {
    size_t nc = corpus_cap ? corpus_cap * 2 : 1024;
    uint8_t **a = (uint8_t **)realloc(corpus, nc * sizeof(*a));
    if (a == NULL) abort();
    corpus = a;
    size_t *l = (size_t *)realloc(corpus_len, nc * sizeof(*l));
    if (l == NULL) abort();
    corpus_len = l;
    corpus_cap = nc;
  }
  corpus[corpus_n] = pkt;
  corpus_len[corpus_n++] = len;
  return 1;
}

static int check_packet(uint8_t *pkt, size_t len) {
  check(pkt, len);
  return 0;
}

#ifdef SB_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *copy = (uint8_t *)malloc(size ? size : 1);
  if (copy == NULL) return 0;
  memcpy(copy, data, size);
  check(copy, size);
  free(copy);
  return 0;
}
#else
/* Reads the records of `path`; `each` returns 1 when it keeps the buffer (else it is freed). */
static int run_file(const char *path, int (*each)(uint8_t *, size_t)) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    perror(path);
    return 1;
  }
  for (;;) {
    unsigned char hdr[4];
    size_t got = fread(hdr, 1, 4, f);
    if (got == 0) break;
    if (got != 4) {
      fprintf(stderr, "%s: truncated record header\n", path);
      fclose(f);
      return 1;
    }
    size_t len = ((size_t)hdr[0] << 24) | ((size_t)hdr[1] << 16) | ((size_t)hdr[2] << 8) | hdr[3];
    if (len > (64u << 20)) {
      fprintf(stderr, "%s: record of %zu octets (max 64 MiB)\n", path, len);
      fclose(f);
      return 1;
    }
    /* Exactly `len` octets (at least 1 so malloc returns a distinct pointer). */
    uint8_t *buf = (uint8_t *)malloc(len ? len : 1);
    if (buf == NULL || fread(buf, 1, len, f) != len) {
      fprintf(stderr, "%s: truncated record\n", path);
      free(buf);
      fclose(f);
      return 1;
    }
    if (!each(buf, len)) free(buf);
  }
  fclose(f);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--canary") == 0) {
    volatile uint8_t *b = (volatile uint8_t *)calloc(12, 1);
    int v = b[12]; /* one past the end: ASan must report this */
    free((void *)b);
    return v == 256 ? 0 : 2;
  }
  if (argc < 2) {
    fprintf(stderr, "usage: %s CORPUS... | --canary\n", argv[0]);
    return 2;
  }
  int first = 1;
  if (argc >= 3 && strcmp(argv[1], "--images") == 0) {
    use_images = 1;
    first = 3;
    for (int i = first; i < argc; i++)
      if (run_file(argv[i], keep_packet) != 0) return 1;
    static const uint8_t nsid[] = {'f', 'u', 'z', 'z'};
    if (sb_images_set_nsid(nsid, sizeof(nsid)) != 0) abort();
    sb_images_configure(1, 4096);
    if (run_file(argv[2], install_image) != 0) return 1;
    for (size_t i = 0; i < corpus_n; i++) {
      check(corpus[i], corpus_len[i]);
      answer_one(corpus[i], corpus_len[i]);
      free(corpus[i]);
    }
    free(corpus);
    free(corpus_len);
  } else {
    for (int i = first; i < argc; i++)
      if (run_file(argv[i], check_packet) != 0) return 1;
  }
  printf("packets %lu wellformed %lu opt %lu\n", packets, wellformed, with_opt);
  if (use_images) {
    printf("images %lu accepted %lu answered %lu\n", images, accepted, answered);
    printf("serve %lu served %zu misses %lu\n", served_calls, sb_images_count(), misses_taken);
    sb_images_clear();
    sb_images_set_nsid(NULL, 0);
  }
  return 0;
}
#endif
