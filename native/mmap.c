/*
 * mapFile(path: string): ArrayBuffer — the whole file mapped with mmap(PROT_READ, MAP_SHARED),
 * handed to JS as an external ArrayBuffer. The mapping lives exactly as long as the
 * ArrayBuffer: its finalizer unmaps it when the last view over it is garbage-collected, so a
 * view JS still holds never dangles — not after the file is unlinked either (Linux keeps the
 * pages of an unlinked file while a mapping holds them).
 *
 * Used by src/image/pack.ts: every worker maps each pack file once and the page cache holds
 * one copy for all of them. The pages are read-only: a write through a view faults (SIGSEGV).
 * The pack writer never truncates a file and sizes it to its whole capacity when it creates it
 * (ftruncate: sparse, no space reserved — an append can still fail with ENOSPC, which the
 * writer reports), so no part of the mapping lies past the end of the file (SIGBUS).
 *
 * Errors are thrown as JS errors: code ERR_MMAP, message with the path, the failing call and
 * strerror(errno).
 */
#define _GNU_SOURCE
#include "mmap.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

/* Longest path accepted (PATH_MAX includes the terminating zero). */
#define SB_MAP_PATH_MAX 4096
/* Largest file mapped: 2^53 − 1 octets is the most a JS ArrayBuffer length can say exactly;
 * 2^40 (1 TiB) is far beyond any pack and keeps the size arithmetic trivially safe. */
#define SB_MAP_MAX ((uint64_t)1 << 40)

static napi_value throw_errno(napi_env env, const char *path, const char *call, int err) {
  char msg[SB_MAP_PATH_MAX + 160];
  snprintf(msg, sizeof(msg), "mapFile(%s): %s: %s (errno %d)", path, call, strerror(err), err);
  napi_throw_error(env, "ERR_MMAP", msg);
  return NULL;
}

static napi_value throw_msg(napi_env env, const char *path, const char *what) {
  char msg[SB_MAP_PATH_MAX + 160];
  snprintf(msg, sizeof(msg), "mapFile(%s): %s", path, what);
  napi_throw_error(env, "ERR_MMAP", msg);
  return NULL;
}

/* The ArrayBuffer's finalizer: hint holds the mapping's length. */
static void unmap(napi_env env, void *data, void *hint) {
  (void)env;
  size_t *len = (size_t *)hint;
  if (data != NULL && len != NULL) munmap(data, *len);
  free(len);
}

static napi_value js_map_file(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return throw_msg(env, "?", "bad call");
  napi_valuetype t = napi_undefined;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_string) {
    napi_throw_type_error(env, "ERR_MMAP_ARGS", "mapFile(path: string)");
    return NULL;
  }
  char path[SB_MAP_PATH_MAX];
  size_t plen = 0;
  // The length first (a buffer of NULL), so a path that fills the buffer exactly is not
  // mistaken for a truncated one.
  if (napi_get_value_string_utf8(env, argv[0], NULL, 0, &plen) != napi_ok)
    return throw_msg(env, "?", "path is not a string");
  if (plen == 0) return throw_msg(env, "", "empty path");
  if (plen > sizeof(path) - 1) return throw_msg(env, "…", "path too long");
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof(path), &plen) != napi_ok)
    return throw_msg(env, "?", "path is not a string");
  if (strlen(path) != plen) return throw_msg(env, path, "path contains a zero octet");

  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, path, "open", errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, path, "fstat", e);
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return throw_msg(env, path, "not a regular file");
  }
  if (st.st_size <= 0) {
    close(fd);
    return throw_msg(env, path, "empty file");
  }
  if ((uint64_t)st.st_size > SB_MAP_MAX || (uint64_t)st.st_size > (uint64_t)SIZE_MAX) {
    close(fd);
    return throw_msg(env, path, "file too large to map");
  }
  size_t len = (size_t)st.st_size;
  void *data = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
  int e = errno;
  close(fd); /* the mapping keeps the file (and its pages) alive */
  if (data == MAP_FAILED) return throw_errno(env, path, "mmap", e);

  size_t *hint = (size_t *)malloc(sizeof(size_t));
  if (hint == NULL) {
    munmap(data, len);
    return throw_msg(env, path, "out of memory");
  }
  *hint = len;
  napi_value ab;
  napi_status s = napi_create_external_arraybuffer(env, data, len, unmap, hint, &ab);
  if (s != napi_ok) {
    munmap(data, len);
    free(hint);
    return throw_msg(env, path,
                     s == napi_no_external_buffers_allowed ? "external buffers are not allowed in this runtime"
                                                           : "napi_create_external_arraybuffer failed");
  }
  return ab;
}

/*
 * trimHeap(): boolean — glibc's malloc_trim(0): the free memory of every malloc arena given
 * back to the system (true when any was). A compile thread's big zone leaves ~100 MiB of
 * freed ArrayBuffer backing stores in its arena after the thread has exited (glibc raises its
 * mmap and trim thresholds as large blocks are freed, so they are not returned on their own);
 * `serve` calls this once after such a compile, before the workers map the image. No
 * arguments, no input: false where the C library has no malloc_trim.
 */
static napi_value js_trim_heap(napi_env env, napi_callback_info info) {
  (void)info;
  int released = 0;
#ifdef __GLIBC__
  released = malloc_trim(0);
#endif
  napi_value out;
  if (napi_get_boolean(env, released != 0, &out) != napi_ok) return NULL;
  return out;
}

int sb_mmap_define(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"mapFile", NULL, js_map_file, NULL, NULL, NULL, napi_default, NULL},
      {"trimHeap", NULL, js_trim_heap, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) == napi_ok;
}
