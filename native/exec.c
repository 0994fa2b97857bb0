/*
 * switchboard_exec: execve(path: string, argv: string[], env: string[]), and glibc: the version
 * of the C library this process runs on ("2.36"), "" when it is not glibc.
 *
 * Replaces the running process image (same PID; stdin, stdout and stderr kept open, other
 * descriptors as their FD_CLOEXEC says) with `path` run with `argv` and exactly the environment `env`
 * ("NAME=value" strings). Used by src/cli/hugetlb.ts: `switchboard serve` re-executes itself
 * once with GLIBC_TUNABLES=glibc.malloc.hugetlb=1, which glibc reads only when a process
 * starts (docs/PERFORMANCE.md "boot1m"). Kept apart from switchboard_udp so that the CLI loads
 * this small file, not the UDP addon, before anything else.
 *
 * On success it does not return. On failure (bad arguments, a string too long, too many
 * strings, execve's error) it throws a JS error with code ERR_EXEC and nothing has changed:
 * the caller goes on in the same process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif

/* Most strings in argv or env, and the longest one (octets, without its terminating zero). */
#define SB_EXEC_MAX_STRINGS 4096
#define SB_EXEC_MAX_STRING (128 * 1024)

static napi_value fail(napi_env env, const char *what, int err) {
  char msg[256];
  if (err != 0)
    snprintf(msg, sizeof(msg), "execve: %s: %s (errno %d)", what, strerror(err), err);
  else
    snprintf(msg, sizeof(msg), "execve: %s", what);
  napi_throw_error(env, "ERR_EXEC", msg);
  return NULL;
}

/* A JS string as a malloc'd zero-terminated UTF-8 string; NULL (and *why set) when it is not one. */
static char *string_of(napi_env env, napi_value v, const char **why) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
    *why = "a string was expected";
    return NULL;
  }
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    *why = "cannot read a string";
    return NULL;
  }
  if (len > SB_EXEC_MAX_STRING) {
    *why = "a string is too long";
    return NULL;
  }
  char *s = malloc(len + 1);
  if (s == NULL) {
    *why = "out of memory";
    return NULL;
  }
  size_t got = 0;
  if (napi_get_value_string_utf8(env, v, s, len + 1, &got) != napi_ok || got != len || memchr(s, 0, len) != NULL) {
    free(s);
    *why = "a string holds a zero octet or cannot be read";
    return NULL;
  }
  return s;
}

static void free_list(char **list, uint32_t n) {
  if (list == NULL) return;
  for (uint32_t i = 0; i < n; i++) free(list[i]);
  free(list);
}

/* A JS array of strings as a NULL-terminated malloc'd list; NULL (and *why set) when it is not one. */
static char **list_of(napi_env env, napi_value v, uint32_t *count, const char **why) {
  bool is_array = false;
  uint32_t n = 0;
  if (napi_is_array(env, v, &is_array) != napi_ok || !is_array || napi_get_array_length(env, v, &n) != napi_ok) {
    *why = "an array of strings was expected";
    return NULL;
  }
  if (n > SB_EXEC_MAX_STRINGS) {
    *why = "too many strings";
    return NULL;
  }
  char **list = calloc((size_t)n + 1, sizeof(char *));
  if (list == NULL) {
    *why = "out of memory";
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    if (napi_get_element(env, v, i, &e) != napi_ok) {
      *why = "cannot read an array element";
      free_list(list, i);
      return NULL;
    }
    list[i] = string_of(env, e, why);
    if (list[i] == NULL) {
      free_list(list, i);
      return NULL;
    }
  }
  *count = n;
  return list;
}

static napi_value exec_call(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value args[3];
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc != 3)
    return fail(env, "want (path, argv, env)", 0);
  const char *why = NULL;
  char *path = string_of(env, args[0], &why);
  if (path == NULL) return fail(env, why, 0);
  uint32_t nargv = 0, nenv = 0;
  char **argv = list_of(env, args[1], &nargv, &why);
  if (argv == NULL) {
    free(path);
    return fail(env, why, 0);
  }
  if (nargv == 0) {
    free(path);
    free_list(argv, nargv);
    return fail(env, "argv is empty", 0);
  }
  char **envp = list_of(env, args[2], &nenv, &why);
  if (envp == NULL) {
    free(path);
    free_list(argv, nargv);
    return fail(env, why, 0);
  }
  /* Node marks its standard descriptors close-on-exec: kept open for the new image (as they
   * were given to this process), their flags put back when the exec fails. */
  int flags[3];
  for (int fd = 0; fd < 3; fd++) {
    flags[fd] = fcntl(fd, F_GETFD);
    if (flags[fd] >= 0 && (flags[fd] & FD_CLOEXEC) != 0) fcntl(fd, F_SETFD, flags[fd] & ~FD_CLOEXEC);
  }
  execve(path, argv, envp);
  int err = errno;
  for (int fd = 0; fd < 3; fd++)
    if (flags[fd] >= 0) fcntl(fd, F_SETFD, flags[fd]);
  free(path);
  free_list(argv, nargv);
  free_list(envp, nenv);
  return fail(env, "exec failed", err);
}

NAPI_MODULE_INIT() {
  napi_value fn, version;
#ifdef __GLIBC__
  const char *glibc = gnu_get_libc_version();
#else
  const char *glibc = "";
#endif
  if (napi_create_function(env, "execve", NAPI_AUTO_LENGTH, exec_call, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "execve", fn) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, glibc, NAPI_AUTO_LENGTH, &version) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "glibc", version) != napi_ok) return NULL;
  return exports;
}
