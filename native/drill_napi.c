/*
 * N-API glue of the drill's sender (drill.h): open(family), send(fd, family, dst, port, buf,
 * offsets, lengths, srcs, count[, segs]), drain(fd, counts, budget), port(fd), close(fd). Argument types and
 * array sizes are checked here; nothing is kept between calls.
 */
#include <node_api.h>
#include <stdint.h>
#include <unistd.h>

#include "drill.h"

#define CHECK(call)                                   \
  do {                                                \
    if ((call) != napi_ok) return throw_type(env, #call); \
  } while (0)

static napi_value throw_type(napi_env env, const char *what) {
  napi_throw_type_error(env, NULL, what);
  return NULL;
}

static napi_value num(napi_env env, int32_t v) {
  napi_value out;
  napi_create_int32(env, v, &out);
  return out;
}

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, len, data, &ab, &off) != napi_ok) return 0;
  return type == want;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t family = 4;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc >= 1) CHECK(napi_get_value_int32(env, argv[0], &family));
  return num(env, drill_open(family));
}

static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 9) return throw_type(env, "send: 9 or 10 arguments");
  int32_t fd, family, count;
  uint32_t dst, port;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_int32(env, argv[1], &family));
  CHECK(napi_get_value_uint32(env, argv[2], &dst));
  CHECK(napi_get_value_uint32(env, argv[3], &port));
  CHECK(napi_get_value_int32(env, argv[8], &count));
  void *buf, *offs, *lens, *srcs;
  size_t buf_len, n_offs, n_lens, n_srcs;
  if (!typed(env, argv[4], napi_uint8_array, &buf, &buf_len)) return throw_type(env, "send: buf");
  if (!typed(env, argv[5], napi_uint32_array, &offs, &n_offs)) return throw_type(env, "send: offsets");
  if (!typed(env, argv[6], napi_uint16_array, &lens, &n_lens)) return throw_type(env, "send: lengths");
  if (!typed(env, argv[7], napi_uint32_array, &srcs, &n_srcs)) return throw_type(env, "send: srcs");
  void *segs = NULL;
  size_t n_segs = 0;
  if (argc >= 10) {
    napi_valuetype t;
    CHECK(napi_typeof(env, argv[9], &t));
    if (t != napi_undefined && !typed(env, argv[9], napi_uint16_array, &segs, &n_segs))
      return throw_type(env, "send: segs");
  }
  if (count < 0 || (size_t)count > n_offs || (size_t)count > n_lens || (size_t)count > n_srcs || port > 65535 ||
      (segs && (size_t)count > n_segs))
    return throw_type(env, "send: count or port out of range");
  return num(env, drill_send(fd, family, dst, (uint16_t)port, buf, buf_len, offs, lens, srcs, segs, count));
}

static napi_value js_drain(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return throw_type(env, "drain: 3 arguments");
  int32_t fd, budget;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_int32(env, argv[2], &budget));
  void *counts;
  size_t n;
  if (!typed(env, argv[1], napi_uint32_array, &counts, &n) || n < DRILL_KINDS * DRILL_COUNTS_PER_KIND)
    return throw_type(env, "drain: counts");
  return num(env, drill_drain(fd, counts, budget));
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_type(env, "close: fd");
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  return num(env, fd >= 0 ? close(fd) : -1);
}

static napi_value js_port(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_type(env, "port: fd");
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  return num(env, drill_port(fd));
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
      {"drain", NULL, js_drain, NULL, NULL, NULL, napi_default, NULL},
      {"port", NULL, js_port, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
