/*
 * Runs a script of shield operations (../shield.c) read from stdin, one per line, and prints
 * one line per operation that returns something. test/native/shield-c.test.ts writes the
 * script, runs the same operations through the src/shield modules, and compares the two outputs line
 * for line; it builds this harness with -fsanitize=address,undefined.
 *
 *   siphash KEYHEX DATAHEX                          -> HEX (8 octets)
 *   cookie-write CLIENTHEX ADDRHEX NOW SECRETHEX    -> HEX (24 octets)
 *   cookie-check QHEX AT LEN ADDRHEX NOW SECRETHEX[,SECRETHEX...]  -> status
 *   rrl-new R0 R1 R2 R3 R4 ALL WINDOW SLIP V4 V6 TABLE DRY
 *   rrl ADDRHEX KIND NAMEHASH NOW                   -> action
 *   rrlz ADDRHEX KIND NAMEHASH NOW R0 R1 R2 R3 R4   -> action, with a zone's own rates
 *   rrl-counters                                    -> sent dropped0..4 slipped0..4 evictions
 *   zset KEY MINNX FLOOR                            (a zone's own floors for the next zones-new; < 0: the server's)
 *   zclear                                          (no zone floors of their own: for the next zset/zapply)
 *   zapply                                          (the zset floors given to the running detector, its table kept)
 *   zones-new MINNX FACTOR SHARE HOLD FLOOR TABLE
 *   zobs ZONE EXISTS NOW                            -> attacked(0/1)
 *   zadmit ZONE NOW                                 -> 0/1 (the zone's slot from its last zobs)
 *   zsweep NOW                                      -> attacked zone keys, ascending ("-" for none)
 *   ztop NOW                                        -> the 10 busiest zone keys, busiest first ("-" for none)
 *   src-new TABLE HMIN HSHARE TCPSECONDS COOKIESECONDS [CALMAFTERSECONDS]
 *   sunrest NOW                                     (an attack seen now: sb_sources_note_unrest)
 *   stier ADDRHEX COOKIE NOW                        -> tier
 *   srefused                                        -> calm queries refused their credit (tidy25)
 *   svouch ADDRHEX NOW                              -> 0/1 (anything vouches for it: TCP gate)
 *   scalm ADDRHEX EXISTS NOW | stcp ADDRHEX NOW | scookie ADDRHEX NOW
 *   adm TIER INZONE EXISTS ATTACKED WITHIN OVERLOAD -> verdict
 *   ovl-new BEHIND SMOOTHING HOLD
 *   ovl GOT CAP NOW                                 -> level
 *   pf N SEED                                       -> "ok" when the kernel prefilter's program
 *                                                      (../prefilter.c) for N random /24s, run by
 *                                                      a small classic-BPF interpreter here, drops
 *                                                      exactly the addresses inside them and
 *                                                      accepts IPv6; "refused" when it cannot be built
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../prefilter.h"
#include "../shield.h"

static size_t unhex(const char *s, uint8_t *out, size_t cap) {
  size_t n = strlen(s) / 2;
  if (strcmp(s, "-") == 0) return 0;
  if (n > cap) {
    fprintf(stderr, "hex too long\n");
    exit(2);
  }
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    if (sscanf(s + 2 * i, "%2x", &v) != 1) {
      fprintf(stderr, "bad hex %s\n", s);
      exit(2);
    }
    out[i] = (uint8_t)v;
  }
  return n;
}

static void puthex(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
  printf("\n");
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* A classic BPF interpreter for what prefilter.c emits; `ip` is the network header (the
 * SKF_NET_OFF loads), `iplen` its length. Returns the program's verdict (0: drop). */
static uint32_t run_bpf(const struct sock_filter *p, unsigned len, const uint8_t *ip, unsigned iplen) {
  uint32_t a = 0;
  for (unsigned pc = 0; pc < len; pc++) {
    const struct sock_filter *f = &p[pc];
    switch (f->code) {
      case BPF_LD | BPF_B | BPF_ABS:
      case BPF_LD | BPF_W | BPF_ABS: {
        int32_t off = (int32_t)f->k - SKF_NET_OFF;
        unsigned n = f->code == (BPF_LD | BPF_B | BPF_ABS) ? 1 : 4;
        if (off < 0 || (unsigned)off + n > iplen) return 0; /* as the kernel: an out-of-range load drops */
        a = 0;
        for (unsigned i = 0; i < n; i++) a = (a << 8) | ip[off + i];
        break;
      }
      case BPF_ALU | BPF_RSH | BPF_K: a >>= f->k; break;
      case BPF_ALU | BPF_AND | BPF_K: a &= f->k; break;
      case BPF_JMP | BPF_JA: pc += f->k; break;
      case BPF_JMP | BPF_JEQ | BPF_K: pc += a == f->k ? f->jt : f->jf; break;
      case BPF_JMP | BPF_JGE | BPF_K: pc += a >= f->k ? f->jt : f->jf; break;
      case BPF_RET | BPF_K: return f->k;
      default: fprintf(stderr, "unknown BPF op %#x\n", f->code); exit(5);
    }
  }
  fprintf(stderr, "BPF program ran off its end\n");
  exit(5);
}

static uint32_t xs(uint32_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

static int prefilter_check(unsigned n, uint32_t seed) {
  uint32_t st = seed ? seed : 1;
  uint32_t *v = malloc((n ? n : 1) * sizeof(uint32_t));
  unsigned k = 0;
  for (unsigned i = 0; i < n; i++) v[k++] = xs(&st) & 0xffffff00u;
  qsort(v, k, sizeof(uint32_t), cmp_u32);
  unsigned m = 0;
  for (unsigned i = 0; i < k; i++)
    if (m == 0 || v[i] != v[m - 1]) v[m++] = v[i];
  struct sock_filter *prog = malloc(SB_PREFILTER_INSNS * sizeof(struct sock_filter));
  unsigned len = sb_prefilter_build(v, m, 24, prog, SB_PREFILTER_INSNS);
  if (len == 0 || len > SB_PREFILTER_INSNS) {
    free(v);
    free(prog);
    return 0;
  }
  uint8_t ip[40] = {0x45};
  for (unsigned t = 0; t < 20000 + 3 * m; t++) {
    uint32_t addr;
    if (t < 3 * m) addr = v[t / 3] + (t % 3 == 0 ? 0 : t % 3 == 1 ? 255 : 256); /* inside, last, next /24 */
    else addr = xs(&st);
    ip[12] = (uint8_t)(addr >> 24);
    ip[13] = (uint8_t)(addr >> 16);
    ip[14] = (uint8_t)(addr >> 8);
    ip[15] = (uint8_t)addr;
    uint32_t p24 = addr & 0xffffff00u;
    int inside = bsearch(&p24, v, m, sizeof(uint32_t), cmp_u32) != NULL;
    uint32_t r = run_bpf(prog, len, ip, 20);
    if ((r == 0) != inside) {
      fprintf(stderr, "prefilter: %08x inside=%d verdict=%u\n", addr, inside, r);
      exit(6);
    }
  }
  uint8_t ip6[40] = {0x60};
  if (run_bpf(prog, len, ip6, 40) == 0) exit(6);
  /* Unsorted input is refused. */
  if (m >= 2) {
    uint32_t t = v[0];
    v[0] = v[1];
    v[1] = t;
    if (sb_prefilter_build(v, m, 24, prog, SB_PREFILTER_INSNS) != 0) exit(6);
  }
  free(v);
  free(prog);
  return 1;
}

int main(void) {
  static char line[70000];
  static uint8_t buf[32768], addr[16], key[16], secrets[3][16];
  sb_rrl rrl;
  sb_zones zones;
  sb_sources sources;
  sb_admission adm;
  sb_overload ovl;
  int have_rrl = 0, have_zones = 0, have_sources = 0;
  /* zone key -> its slot at the last zobs (small linear map: scripts use few zones) */
  uint32_t zkeys[1024], zslots[1024];
  unsigned nz = 0;
  static sb_zone_setting zsettings[64];
  unsigned nzs = 0;
  memset(&adm, 0, sizeof(adm));
  sb_overload_init(&ovl, 0.5, 0.5, 2);
  unsigned long ops = 0;
  while (fgets(line, sizeof(line), stdin)) {
    char *argv[16];
    int argc = 0;
    for (char *t = strtok(line, " \n"); t && argc < 16; t = strtok(NULL, " \n")) argv[argc++] = t;
    if (argc == 0) continue;
    ops++;
    const char *op = argv[0];
    if (!strcmp(op, "siphash") && argc == 3) {
      size_t kl = unhex(argv[1], key, 16);
      size_t n = unhex(argv[2], buf, sizeof(buf));
      if (kl != 16) return 2;
      uint8_t *copy = malloc(n ? n : 1); /* exactly its size: ASan sees a read past it */
      memcpy(copy, buf, n);
      uint8_t h[8];
      sb_siphash24(key, copy, n, h);
      free(copy);
      puthex(h, 8);
    } else if (!strcmp(op, "cookie-write") && argc == 5) {
      uint8_t client[8], out[24];
      unhex(argv[1], client, 8);
      size_t al = unhex(argv[2], addr, 16);
      unhex(argv[4], key, 16);
      sb_cookie_write(out, client, addr, al, (uint32_t)strtoul(argv[3], NULL, 10), key);
      puthex(out, 24);
    } else if (!strcmp(op, "cookie-check") && argc == 7) {
      size_t qn = unhex(argv[1], buf, sizeof(buf));
      uint8_t *copy = malloc(qn ? qn : 1);
      memcpy(copy, buf, qn);
      size_t al = unhex(argv[4], addr, 16);
      unsigned ns = 0;
      for (char *t = strtok(argv[6], ","); t && ns < 3; t = strtok(NULL, ",")) unhex(t, secrets[ns++], 16);
      int st = sb_cookie_check(copy, qn, strtol(argv[2], NULL, 10), strtoul(argv[3], NULL, 10), addr, al,
                               (uint32_t)strtoul(argv[5], NULL, 10), (const uint8_t(*)[16])secrets, ns);
      free(copy);
      printf("%d\n", st);
    } else if (!strcmp(op, "rrl-new") && argc == 13) {
      if (have_rrl) sb_rrl_free(&rrl);
      double rates[5];
      for (int i = 0; i < 5; i++) rates[i] = strtod(argv[1 + i], NULL);
      if (sb_rrl_init(&rrl, rates, strtod(argv[6], NULL), atoi(argv[7]), atoi(argv[8]), atoi(argv[9]),
                      atoi(argv[10]), (uint32_t)atol(argv[11]), atoi(argv[12])) != 0)
        return 3;
      have_rrl = 1;
    } else if (!strcmp(op, "rrl") && argc == 5 && have_rrl) {
      size_t al = unhex(argv[1], addr, 16);
      uint32_t block = sb_rrl_block(&rrl, addr, al);
      printf("%d\n", sb_rrl_decide(&rrl, block, (unsigned)atoi(argv[2]), (uint32_t)strtoul(argv[3], NULL, 10),
                                   strtod(argv[4], NULL)));
    } else if (!strcmp(op, "rrlz") && argc == 10 && have_rrl) {
      size_t al = unhex(argv[1], addr, 16);
      uint32_t block = sb_rrl_block(&rrl, addr, al);
      double zr[5];
      for (int i = 0; i < 5; i++) zr[i] = strtod(argv[5 + i], NULL);
      printf("%d\n", sb_rrl_decide_rates(&rrl, block, (unsigned)atoi(argv[2]), (uint32_t)strtoul(argv[3], NULL, 10),
                                         strtod(argv[4], NULL), zr));
    } else if (!strcmp(op, "zset") && argc == 4 && nzs < 64) {
      sb_zone_setting *st = &zsettings[nzs++];
      memset(st, 0, sizeof(*st));
      st->key = (uint32_t)strtoul(argv[1], NULL, 10);
      st->min_nx = strtod(argv[2], NULL);
      st->budget_floor = strtod(argv[3], NULL);
      /* kept sorted by key (insertion) */
      for (unsigned i = nzs - 1; i > 0 && zsettings[i - 1].key > zsettings[i].key; i--) {
        sb_zone_setting t = zsettings[i];
        zsettings[i] = zsettings[i - 1];
        zsettings[i - 1] = t;
      }
    } else if (!strcmp(op, "zclear") && argc == 1) {
      nzs = 0;
    } else if (!strcmp(op, "zapply") && argc == 1 && have_zones) {
      sb_zones_set_settings(&zones, zsettings, nzs);
    } else if (!strcmp(op, "rrl-counters") && have_rrl) {
      printf("%.0f", rrl.sent);
      for (int i = 0; i < 5; i++) printf(" %.0f", rrl.dropped[i]);
      for (int i = 0; i < 5; i++) printf(" %.0f", rrl.slipped[i]);
      printf(" %.0f\n", rrl.table.evictions);
    } else if (!strcmp(op, "zones-new") && argc == 7) {
      if (have_zones) sb_zones_free(&zones);
      if (sb_zones_init(&zones, strtod(argv[1], NULL), strtod(argv[2], NULL), strtod(argv[3], NULL),
                        strtod(argv[4], NULL), strtod(argv[5], NULL), (uint32_t)atol(argv[6])) != 0)
        return 3;
      sb_zones_set_settings(&zones, zsettings, nzs);
      have_zones = 1;
      nz = 0;
    } else if (!strcmp(op, "zobs") && argc == 4 && have_zones) {
      uint32_t zk = (uint32_t)strtoul(argv[1], NULL, 10);
      uint32_t slot = sb_zones_observe(&zones, zk, atoi(argv[2]), strtod(argv[3], NULL));
      unsigned i = 0;
      while (i < nz && zkeys[i] != zk) i++;
      if (i == nz && nz < 1024) nz++;
      if (i < 1024) {
        zkeys[i] = zk;
        zslots[i] = slot;
      }
      printf("%d\n", zones.attacked[slot]);
    } else if (!strcmp(op, "zadmit") && argc == 3 && have_zones) {
      uint32_t zk = (uint32_t)strtoul(argv[1], NULL, 10);
      unsigned i = 0;
      while (i < nz && zkeys[i] != zk) i++;
      if (i == nz) return 4;
      printf("%d\n", sb_zones_admit_missing(&zones, zslots[i], strtod(argv[2], NULL)));
    } else if (!strcmp(op, "zsweep") && argc == 2 && have_zones) {
      sb_zones_sweep(&zones, strtod(argv[1], NULL));
      uint32_t out[256];
      unsigned n = 0;
      for (uint32_t s = 0; s < zones.table.size && n < 256; s++)
        if (zones.attacked[s]) out[n++] = zones.key[s];
      qsort(out, n, sizeof(uint32_t), cmp_u32);
      if (n == 0) printf("-");
      for (unsigned i = 0; i < n; i++) printf(i ? " %u" : "%u", out[i]);
      printf("\n");
    } else if (!strcmp(op, "ztop") && argc == 2 && have_zones) {
      uint32_t slots[10];
      double q[10], nx[10];
      unsigned n = sb_zones_top(&zones, strtod(argv[1], NULL), slots, q, nx, 10);
      if (n == 0) printf("-");
      for (unsigned i = 0; i < n; i++) printf(i ? " %u" : "%u", zones.key[slots[i]]);
      printf("\n");
    } else if (!strcmp(op, "src-new") && (argc == 6 || argc == 7)) {
      if (have_sources) sb_sources_free(&sources);
      if (sb_sources_init(&sources, (uint32_t)atol(argv[1]), (uint32_t)atol(argv[2]), strtod(argv[3], NULL),
                          strtod(argv[4], NULL), strtod(argv[5], NULL)) != 0)
        return 3;
      if (argc == 7) sb_sources_set_calm_after(&sources, strtod(argv[6], NULL) * 1000);
      have_sources = 1;
    } else if (!strcmp(op, "sunrest") && argc == 2 && have_sources) {
      sb_sources_note_unrest(&sources, strtod(argv[1], NULL));
    } else if (!strcmp(op, "srefused") && argc == 1 && have_sources) {
      printf("%.0f\n", sources.calm_refused);
    } else if (!strcmp(op, "stier") && argc == 4 && have_sources) {
      size_t al = unhex(argv[1], addr, 16);
      printf("%d\n", sb_sources_tier(&sources, sb_sources_key(addr, al), atoi(argv[2]), strtod(argv[3], NULL)));
    } else if (!strcmp(op, "svouch") && argc == 3 && have_sources) {
      size_t al = unhex(argv[1], addr, 16);
      printf("%d\n", sb_sources_vouched(&sources, sb_sources_key(addr, al), strtod(argv[2], NULL)));
    } else if (!strcmp(op, "scalm") && argc == 4 && have_sources) {
      size_t al = unhex(argv[1], addr, 16);
      sb_sources_note_calm(&sources, sb_sources_key(addr, al), atoi(argv[2]), strtod(argv[3], NULL));
    } else if (!strcmp(op, "stcp") && argc == 3 && have_sources) {
      size_t al = unhex(argv[1], addr, 16);
      printf("%d\n", sb_sources_note_tcp(&sources, sb_sources_key(addr, al), strtod(argv[2], NULL)));
    } else if (!strcmp(op, "strunc") && argc == 3 && have_sources) {
      size_t al = unhex(argv[1], addr, 16);
      sb_sources_note_truncated(&sources, sb_sources_key(addr, al), strtod(argv[2], NULL));
    } else if (!strcmp(op, "scookie") && argc == 3 && have_sources) {
      size_t al = unhex(argv[1], addr, 16);
      sb_sources_note_cookie(&sources, sb_sources_key(addr, al), strtod(argv[2], NULL));
    } else if (!strcmp(op, "utcp") && argc == 4 && have_sources) {
      size_t al = unhex(argv[1], addr, 16);
      printf("%d\n", sb_sources_used_tcp(&sources, sb_sources_key(addr, al), atoi(argv[2]), strtod(argv[3], NULL)));
    } else if (!strcmp(op, "adm") && argc == 9) {
      printf("%d\n", sb_admission_decide(&adm, atoi(argv[1]), atoi(argv[2]), atoi(argv[3]), atoi(argv[4]),
                                         atoi(argv[5]), atoi(argv[6]), atoi(argv[7]), strtod(argv[8], NULL)));
    } else if (!strcmp(op, "pf") && argc == 3) {
      printf("%s\n", prefilter_check((unsigned)atoi(argv[1]), (uint32_t)strtoul(argv[2], NULL, 10)) ? "ok" : "refused");
    } else if (!strcmp(op, "ovl-new") && argc == 4) {
      sb_overload_init(&ovl, strtod(argv[1], NULL), strtod(argv[2], NULL), strtod(argv[3], NULL));
    } else if (!strcmp(op, "ovl") && argc == 4) {
      sb_overload_read(&ovl, (unsigned)atoi(argv[1]), (unsigned)atoi(argv[2]), strtod(argv[3], NULL));
      printf("%d\n", ovl.level);
    } else {
      fprintf(stderr, "line %lu: bad operation %s (%d words)\n", ops, op, argc);
      return 2;
    }
  }
  if (have_rrl) sb_rrl_free(&rrl);
  if (have_zones) sb_zones_free(&zones);
  if (have_sources) sb_sources_free(&sources);
  fflush(stdout);
  return 0;
}
