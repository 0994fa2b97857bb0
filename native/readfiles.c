/*
 * readFiles(paths: string[], from: number, statOnly: Uint8Array, into: Uint8Array,
 *           meta: Float64Array): number
 *
 * Reads the files paths[from..] one after another into `into` (each right after the last),
 * with the stat of the descriptor that was read, and returns the index of the first path it
 * did not handle (paths.length when it handled all): it stops before a file that does not fit
 * in what is left of `into`, so the caller takes the octets out and calls again from there.
 * One call replaces four Node fs calls per file (open, fstat, read, close), each with its own
 * request object and Stats: for 100,000 10-record zone files that was about half the CPU time
 * of reading them (docs/PERFORMANCE.md).
 *
 * Per path i, RF_FIELDS doubles at meta[i * RF_FIELDS]:
 *   [0] status: RF_READ (octets at [2], length [3]), RF_ABSENT (no such file, or not a regular
 *       file: a FIFO opened O_NONBLOCK never blocks), RF_STAT (statOnly[i] != 0: stat(2)
 *       only, nothing opened), RF_FALLBACK (anything else: an open or read error, a file larger
 *       than `into` — the caller reads it itself, which also gives it the error's message)
 *   [1] errno of the failure (0 when none)
 *   [2] offset in `into`, [3] size (st_size; for RF_READ also the octets read)
 *   [4] st_mtim.tv_sec, [5] st_mtim.tv_nsec, [6] st_ino, [7] st_ctim.tv_sec, [8] tv_nsec
 * The times stay in seconds and nanoseconds: the caller computes milliseconds with the same
 * double arithmetic as Node's Stats, so a fingerprint made from these equals one from statSync.
 *
 * Bounds: every path is checked (a string, shorter than 4096 octets, no zero octet); meta must
 * hold RF_FIELDS doubles for every path; nothing is written outside `into` or `meta`.
 */
#define _GNU_SOURCE
#include "readfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RF_FIELDS 9
#define RF_READ 0
#define RF_ABSENT 1
#define RF_STAT 2
#define RF_FALLBACK 3
#define RF_PATH_MAX 4096

static napi_value rf_throw(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_READ_FILES_ARGS", msg);
  return NULL;
}

static void rf_stat_fields(double *m, const struct stat *st) {
  m[3] = (double)st->st_size;
  m[4] = (double)st->st_mtim.tv_sec;
  m[5] = (double)st->st_mtim.tv_nsec;
  m[6] = (double)st->st_ino;
  m[7] = (double)st->st_ctim.tv_sec;
  m[8] = (double)st->st_ctim.tv_nsec;
}

static int rf_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  napi_typedarray_type t;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &t, len, data, &ab, &off) != napi_ok || t != want) return 0;
  return 1;
}

static napi_value js_read_files(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5)
    return rf_throw(env, "readFiles(paths, from, statOnly, into, meta)");
  bool isArray = false;
  uint32_t count = 0;
  if (napi_is_array(env, argv[0], &isArray) != napi_ok || !isArray ||
      napi_get_array_length(env, argv[0], &count) != napi_ok)
    return rf_throw(env, "readFiles: paths must be an array");
  int64_t from64 = 0;
  if (napi_get_value_int64(env, argv[1], &from64) != napi_ok || from64 < 0 || from64 > (int64_t)count)
    return rf_throw(env, "readFiles: from out of range");
  uint8_t *statOnly = NULL, *into = NULL;
  double *meta = NULL;
  size_t statLen = 0, intoLen = 0, metaLen = 0;
  if (!rf_typed(env, argv[2], napi_uint8_array, (void **)&statOnly, &statLen) || statLen < count)
    return rf_throw(env, "readFiles: statOnly must be a Uint8Array of one octet per path");
  if (!rf_typed(env, argv[3], napi_uint8_array, (void **)&into, &intoLen))
    return rf_throw(env, "readFiles: into must be a Uint8Array");
  if (!rf_typed(env, argv[4], napi_float64_array, (void **)&meta, &metaLen) ||
      metaLen / RF_FIELDS < count)
    return rf_throw(env, "readFiles: meta must hold 9 doubles per path");

  size_t used = 0;
  uint32_t i = (uint32_t)from64;
  char path[RF_PATH_MAX];
  for (; i < count; i++) {
    double *m = meta + (size_t)i * RF_FIELDS;
    memset(m, 0, RF_FIELDS * sizeof(double));
    napi_value v;
    napi_valuetype t;
    size_t plen = 0;
    if (napi_get_element(env, argv[0], i, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok ||
        t != napi_string)
      return rf_throw(env, "readFiles: every path must be a string");
    if (napi_get_value_string_utf8(env, v, NULL, 0, &plen) != napi_ok) return rf_throw(env, "readFiles: bad path");
    if (plen == 0 || plen >= sizeof(path)) {
      m[0] = RF_FALLBACK; /* the caller's own read reports it */
      continue;
    }
    if (napi_get_value_string_utf8(env, v, path, sizeof(path), &plen) != napi_ok)
      return rf_throw(env, "readFiles: bad path");
    if (strlen(path) != plen) {
      m[0] = RF_FALLBACK;
      continue;
    }
    struct stat st;
    if (statOnly[i]) {
      if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        m[0] = RF_ABSENT;
        m[1] = errno;
        continue;
      }
      m[0] = RF_STAT;
      rf_stat_fields(m, &st);
      continue;
    }
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      m[0] = errno == ENOENT ? RF_ABSENT : RF_FALLBACK;
      m[1] = errno;
      continue;
    }
    if (fstat(fd, &st) != 0) {
      m[0] = RF_FALLBACK;
      m[1] = errno;
      close(fd);
      continue;
    }
    if (!S_ISREG(st.st_mode)) {
      m[0] = RF_ABSENT;
      close(fd);
      continue;
    }
    /* Room for the file and one more octet: a read that fills it means the file grew. */
    size_t left = intoLen - used;
    if (st.st_size < 0 || (uint64_t)st.st_size + 1 > (uint64_t)left) {
      close(fd);
      if (used > 0) break; /* the next call, with the buffer empty again */
      m[0] = RF_FALLBACK;  /* larger than the whole buffer */
      continue;
    }
    size_t n = 0;
    int err = 0;
    for (;;) {
      ssize_t got = read(fd, into + used + n, left - n);
      if (got < 0) {
        if (errno == EINTR) continue;
        err = errno;
        break;
      }
      if (got == 0) break;
      n += (size_t)got;
      if (n == left) break;
    }
    close(fd);
    if (err != 0 || n == left) {
      /* A read error, or the file grew past the buffer: the caller reads it itself. */
      m[0] = RF_FALLBACK;
      m[1] = err;
      continue;
    }
    m[0] = RF_READ;
    rf_stat_fields(m, &st);
    m[2] = (double)used;
    m[3] = (double)n;
    used += n;
  }
  napi_value out;
  if (napi_create_uint32(env, i, &out) != napi_ok) return NULL;
  return out;
}

int sb_readfiles_define(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"readFiles", NULL, js_read_files, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) == napi_ok;
}
