/*
 * N-API entries for the zone images answered in C (image.c). Images are COPIED into addon
 * memory at install (one malloc per image, freed on replace/remove/clear or when the JS
 * thread's environment is torn down). The table is per JS thread; the batch loop runs on the
 * same thread as these calls, so replacing an image between two batches can never free memory
 * a batch is reading.
 *
 *   imageInstall(bytes: Uint8Array): number        validates + copies; throws ERR_IMAGE_FORMAT
 *   imageRemove(origin: Uint8Array): boolean       origin in case-folded wire form
 *   imageClear(): void
 *   imageConfigure(enabled: boolean, ednsSize: number): void   the batch hook on/off
 *   imageStats(): { zones, bytes, enabled }
 *   answerForTest(query: Uint8Array): Uint8Array | null        the C answer (hook on or off)
 */
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

#define ICHECK(call)                                  \
  do {                                                \
    if ((call) != napi_ok) {                          \
      napi_throw_error(env, NULL, #call);             \
      return NULL;                                    \
    }                                                 \
  } while (0)

static int get_bytes(napi_env env, napi_value v, const uint8_t **data, size_t *len) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  napi_typedarray_type tt;
  void *d;
  if (napi_get_typedarray_info(env, v, &tt, len, &d, NULL, NULL) != napi_ok || tt != napi_uint8_array) return 0;
  *data = (const uint8_t *)d;
  return 1;
}

static napi_value js_install(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], r;
  ICHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  const uint8_t *d;
  size_t len;
  if (argc < 1 || !get_bytes(env, argv[0], &d, &len)) {
    napi_throw_type_error(env, "ERR_NATIVE_UDP_ARGS", "imageInstall(Uint8Array)");
    return NULL;
  }
  const char *why = NULL;
  sb_image *img = sb_image_open(d, len, &why);
  if (img == NULL) {
    char msg[160];
    snprintf(msg, sizeof(msg), "zone image: %s", why ? why : "refused");
    napi_throw_error(env, "ERR_IMAGE_FORMAT", msg);
    return NULL;
  }
  size_t olen;
  sb_image_origin(img, &olen);
  if (sb_images_install(img) != 0) {
    napi_throw_error(env, "ERR_IMAGE_MEMORY", "zone image: out of memory");
    return NULL;
  }
  ICHECK(napi_create_uint32(env, (uint32_t)olen, &r));
  return r;
}

static napi_value js_remove(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], r;
  ICHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  const uint8_t *d;
  size_t len;
  if (argc < 1 || !get_bytes(env, argv[0], &d, &len)) {
    napi_throw_type_error(env, "ERR_NATIVE_UDP_ARGS", "imageRemove(Uint8Array)");
    return NULL;
  }
  ICHECK(napi_get_boolean(env, sb_images_remove(d, len) == 1, &r));
  return r;
}

static napi_value js_clear(napi_env env, napi_callback_info info) {
  (void)info;
  sb_images_clear();
  napi_value u;
  ICHECK(napi_get_undefined(env, &u));
  return u;
}

static napi_value js_configure(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], u;
  ICHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool on = false;
  uint32_t size = 1232;
  if (argc < 2 || napi_get_value_bool(env, argv[0], &on) != napi_ok ||
      napi_get_value_uint32(env, argv[1], &size) != napi_ok) {
    napi_throw_type_error(env, "ERR_NATIVE_UDP_ARGS", "imageConfigure(enabled: boolean, ednsSize: number)");
    return NULL;
  }
  sb_images_configure(on ? 1 : 0, size);
  ICHECK(napi_get_undefined(env, &u));
  return u;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value o, v;
  ICHECK(napi_create_object(env, &o));
  ICHECK(napi_create_double(env, (double)sb_images_count(), &v));
  ICHECK(napi_set_named_property(env, o, "zones", v));
  ICHECK(napi_create_double(env, (double)sb_images_bytes(), &v));
  ICHECK(napi_set_named_property(env, o, "bytes", v));
  ICHECK(napi_get_boolean(env, sb_images_enabled() != 0, &v));
  ICHECK(napi_set_named_property(env, o, "enabled", v));
  return o;
}

static napi_value js_answer_for_test(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], r;
  ICHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  const uint8_t *d;
  size_t len;
  if (argc < 1 || !get_bytes(env, argv[0], &d, &len)) {
    napi_throw_type_error(env, "ERR_NATIVE_UDP_ARGS", "answerForTest(Uint8Array)");
    return NULL;
  }
  uint8_t *out = malloc(65535);
  if (out == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  size_t n = sb_image_answer(d, len, out, 4096);
  if (n == 0) {
    free(out);
    ICHECK(napi_get_null(env, &r));
    return r;
  }
  void *ab_data;
  napi_value ab;
  if (napi_create_arraybuffer(env, n, &ab_data, &ab) != napi_ok) {
    free(out);
    napi_throw_error(env, NULL, "napi_create_arraybuffer");
    return NULL;
  }
  memcpy(ab_data, out, n);
  free(out);
  ICHECK(napi_create_typedarray(env, napi_uint8_array, n, ab, 0, &r));
  return r;
}

static void cleanup(void *arg) {
  (void)arg;
  sb_images_clear();
}

int sb_image_define(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"imageInstall", NULL, js_install, NULL, NULL, NULL, napi_default, NULL},
      {"imageRemove", NULL, js_remove, NULL, NULL, NULL, napi_default, NULL},
      {"imageClear", NULL, js_clear, NULL, NULL, NULL, napi_default, NULL},
      {"imageConfigure", NULL, js_configure, NULL, NULL, NULL, napi_default, NULL},
      {"imageStats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
      {"answerForTest", NULL, js_answer_for_test, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return 0;
  napi_add_env_cleanup_hook(env, cleanup, NULL);
  return 1;
}
