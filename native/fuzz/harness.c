/*
 * Standalone harness for the native pre-parse (../preparse.c, the same source the addon
 * compiles). Built with -fsanitize=address,undefined by test/native/fuzz.test.ts:
 *
 *   harness CORPUS...      each CORPUS file holds packets as [u32 big-endian length][octets]...;
 *                          every packet is copied into a buffer of exactly its length (so a read
 *                          one octet past the end is an ASan report), pre-parsed, and the result
 *                          checked for consistency (abort on a broken invariant).
 *   harness --canary       reads one octet past a buffer on purpose: proves the sanitizer is on.
 *
 * Prints "packets N wellformed W opt O" on success. With -DSB_LIBFUZZER it is instead a
 * libFuzzer target (clang -fsanitize=fuzzer,address,undefined), for coverage-guided runs
 * outside the test suite.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../preparse.h"

static unsigned long packets, wellformed, with_opt;

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
static int run_file(const char *path) {
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
    if (len > 65536) {
      fprintf(stderr, "%s: record of %zu octets (max 65536)\n", path, len);
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
    check(buf, len);
    free(buf);
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
  for (int i = 1; i < argc; i++)
    if (run_file(argv[i]) != 0) return 1;
  printf("packets %lu wellformed %lu opt %lu\n", packets, wellformed, with_opt);
  return 0;
}
#endif
