/*
 * N-API entries for the zone images answered in C (image.c). Images are READ IN PLACE: install
 * validates the caller's bytes once and keeps a reference (napi_ref) to the ArrayBuffer (or
 * SharedArrayBuffer) under them, so they stay alive while installed and nothing is copied — the
 * bytes may be a view over a memory-mapped pack file shared by every worker. The reference is
 * released when the image is replaced, removed or cleared, and when the JS thread's environment
 * is torn down. The table is per JS thread; the batch loop (udp.c) runs on the same thread as
 * these calls, so an image is never released while a batch is reading it.
 *
 * The caller must not change or detach (transfer) the bytes while they are installed: the
 * answer reads them without checking them again. A detached buffer is refused at install.
 *
 *   imageInstall(bytes: Uint8Array): number        validates, keeps a reference; throws ERR_IMAGE_FORMAT
 *                                                  (serves its origin too)
 *   imageServe(origins: Uint8Array): number        origins served (concatenated wire names; each
 *                                                  without an image until installed); the number added
 *   imageRemove(origins: Uint8Array, keepServed?: boolean): number
 *                                                  concatenated wire names: stop serving them (or,
 *                                                  keepServed, drop their images only); the number found
 *   imageMisses(): Uint8Array | null               origins asked for with no image since the last call
 *   imageClear(): void
 *   imageConfigure(enabled: boolean, ednsSize: number, nsid?: Uint8Array): void
 *                                                  the batch hook on/off, our EDNS size, our NSID
 *   imageStats(): { zones, served, bytes, enabled } zones: images installed; served: origins;
 *                                                  bytes: octets referenced (not copied)
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

static int get_bytes_of(napi_env env, napi_value v, const uint8_t **data, size_t *len, napi_value *buffer) {
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return 0;
  napi_typedarray_type tt;
  void *d;
  if (napi_get_typedarray_info(env, v, &tt, len, &d, buffer, NULL) != napi_ok || tt != napi_uint8_array) return 0;
  *data = (const uint8_t *)d;
  return 1;
}

static int get_bytes(napi_env env, napi_value v, const uint8_t **data, size_t *len) {
  napi_value ab;
  return get_bytes_of(env, v, data, len, &ab);
}

/* What an installed image holds on to: the reference keeping its buffer alive. */
typedef struct {
  napi_env env;
  napi_ref ref;
} held_bytes;

static void release_bytes(void *arg) {
  held_bytes *h = (held_bytes *)arg;
  napi_delete_reference(h->env, h->ref);
  free(h);
}

static napi_value js_install(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], r;
  ICHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  const uint8_t *d;
  size_t len;
  napi_value buffer;
  if (argc < 1 || !get_bytes_of(env, argv[0], &d, &len, &buffer)) {
    napi_throw_type_error(env, "ERR_NATIVE_UDP_ARGS", "imageInstall(Uint8Array)");
    return NULL;
  }
  bool detached = false;
  bool is_ab = false;
  if (napi_is_arraybuffer(env, buffer, &is_ab) == napi_ok && is_ab &&
      napi_is_detached_arraybuffer(env, buffer, &detached) == napi_ok && detached) {
    napi_throw_error(env, "ERR_IMAGE_FORMAT", "zone image: its ArrayBuffer is detached");
    return NULL;
  }
  held_bytes *held = malloc(sizeof(*held));
  if (held == NULL) {
    napi_throw_error(env, "ERR_IMAGE_MEMORY", "zone image: out of memory");
    return NULL;
  }
  held->env = env;
  if (napi_create_reference(env, buffer, 1, &held->ref) != napi_ok) {
    free(held);
    napi_throw_error(env, NULL, "zone image: cannot reference its buffer");
    return NULL;
  }
  const char *why = NULL;
  sb_image *img = sb_image_open(d, len, release_bytes, held, &why);
  if (img == NULL) {
    release_bytes(held);
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

/* Walks `len` octets of concatenated uncompressed names: the number of names, or -1 when they
 * are not exactly that (each 1..255 octets, labels <= 63, ending in the root label). */
static long count_names(const uint8_t *d, size_t len) {
  long n = 0;
  size_t p = 0;
  while (p < len) {
    size_t s = p;
    for (;;) {
      if (p >= len) return -1;
      uint8_t l = d[p];
      if (l > 63) return -1;
      p += (size_t)l + 1;
      if (p - s > 255) return -1;
      if (l == 0) break;
    }
    n++;
  }
  return n;
}

/* The name starting at d[p] (checked by count_names): its length. */
static size_t name_len_at(const uint8_t *d, size_t p) {
  size_t s = p;
  while (d[p] != 0) p += (size_t)d[p] + 1;
  return p + 1 - s;
}

static napi_value js_serve(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], r;
  ICHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  const uint8_t *d;
  size_t len;
  if (argc < 1 || !get_bytes(env, argv[0], &d, &len) || count_names(d, len) < 0) {
    napi_throw_type_error(env, "ERR_NATIVE_UDP_ARGS", "imageServe(Uint8Array of concatenated wire names)");
    return NULL;
  }
  /* Checked whole first: a bad list changes nothing. */
  uint32_t added = 0;
  for (size_t p = 0; p < len;) {
    size_t n = name_len_at(d, p);
    int rc = sb_images_serve(d + p, n);
    if (rc == -2) {
      napi_throw_error(env, "ERR_IMAGE_MEMORY", "imageServe: out of memory");
      return NULL;
    }
    if (rc == 1) added++;
    p += n;
  }
  ICHECK(napi_create_uint32(env, added, &r));
  return r;
}

static napi_value js_remove(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], r;
  ICHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  const uint8_t *d;
  size_t len;
  bool keep = false;
  napi_valuetype t2 = napi_undefined;
  if (argc >= 2) ICHECK(napi_typeof(env, argv[1], &t2));
  if (argc < 1 || !get_bytes(env, argv[0], &d, &len) || count_names(d, len) < 0 ||
      (t2 != napi_undefined && napi_get_value_bool(env, argv[1], &keep) != napi_ok)) {
    napi_throw_type_error(env, "ERR_NATIVE_UDP_ARGS",
                          "imageRemove(Uint8Array of concatenated wire names, keepServed?: boolean)");
    return NULL;
  }
  uint32_t found = 0;
  for (size_t p = 0; p < len;) {
    size_t n = name_len_at(d, p);
    if ((keep ? sb_images_uninstall(d + p, n) : sb_images_remove(d + p, n)) == 1) found++;
    p += n;
  }
  ICHECK(napi_create_uint32(env, found, &r));
  return r;
}

static napi_value js_misses(napi_env env, napi_callback_info info) {
  (void)info;
  static __thread uint8_t buf[SB_IMAGES_MISS_CAP];
  napi_value r;
  size_t n = sb_images_take_misses(buf, sizeof(buf));
  if (n == 0) {
    ICHECK(napi_get_null(env, &r));
    return r;
  }
  void *ab_data;
  napi_value ab;
  ICHECK(napi_create_arraybuffer(env, n, &ab_data, &ab));
  memcpy(ab_data, buf, n);
  ICHECK(napi_create_typedarray(env, napi_uint8_array, n, ab, 0, &r));
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
  size_t argc = 3;
  napi_value argv[3], u;
  ICHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool on = false;
  uint32_t size = 1232;
  const uint8_t *nsid = NULL;
  size_t nsid_len = 0;
  napi_valuetype t3 = napi_undefined;
  if (argc >= 3) ICHECK(napi_typeof(env, argv[2], &t3));
  if (argc < 2 || napi_get_value_bool(env, argv[0], &on) != napi_ok ||
      napi_get_value_uint32(env, argv[1], &size) != napi_ok ||
      (t3 != napi_undefined && !get_bytes(env, argv[2], &nsid, &nsid_len))) {
    napi_throw_type_error(env, "ERR_NATIVE_UDP_ARGS",
                          "imageConfigure(enabled: boolean, ednsSize: number, nsid?: Uint8Array)");
    return NULL;
  }
  if (sb_images_set_nsid(nsid, nsid_len) != 0) {
    napi_throw_range_error(env, "ERR_NATIVE_UDP_ARGS", "imageConfigure: NSID too long (at most 65,531 octets)");
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
  ICHECK(napi_create_double(env, (double)sb_images_installed(), &v));
  ICHECK(napi_set_named_property(env, o, "zones", v));
  ICHECK(napi_create_double(env, (double)sb_images_count(), &v));
  ICHECK(napi_set_named_property(env, o, "served", v));
  ICHECK(napi_create_double(env, (double)sb_images_bytes(), &v));
  ICHECK(napi_set_named_property(env, o, "bytes", v));
  ICHECK(napi_get_boolean(env, sb_images_enabled() != 0, &v));
  ICHECK(napi_set_named_property(env, o, "enabled", v));
  return o;
}

static napi_value js_answer_for_test(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], r;
  ICHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  const uint8_t *d;
  size_t len;
  bool tcp = false;
  if (argc >= 2) napi_get_value_bool(env, argv[1], &tcp);
  if (argc < 1 || !get_bytes(env, argv[0], &d, &len)) {
    napi_throw_type_error(env, "ERR_NATIVE_UDP_ARGS", "answerForTest(Uint8Array[, tcp])");
    return NULL;
  }
  uint8_t *out = malloc(65535);
  if (out == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  size_t n = tcp ? sb_image_answer_tcp(d, len, out, 65535) : sb_image_answer(d, len, out, 65535);
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

/* The environment is going away: release every image's reference (the env is still valid
 * here: this hook was added after N-API's own, and hooks run in reverse order) and the NSID. */
static void cleanup(void *arg) {
  (void)arg;
  sb_images_clear();
  sb_images_set_nsid(NULL, 0);
}

int sb_image_define(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"imageInstall", NULL, js_install, NULL, NULL, NULL, napi_default, NULL},
      {"imageServe", NULL, js_serve, NULL, NULL, NULL, napi_default, NULL},
      {"imageRemove", NULL, js_remove, NULL, NULL, NULL, napi_default, NULL},
      {"imageMisses", NULL, js_misses, NULL, NULL, NULL, napi_default, NULL},
      {"imageClear", NULL, js_clear, NULL, NULL, NULL, napi_default, NULL},
      {"imageConfigure", NULL, js_configure, NULL, NULL, NULL, napi_default, NULL},
      {"imageStats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
      {"answerForTest", NULL, js_answer_for_test, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return 0;
  napi_add_env_cleanup_hook(env, cleanup, NULL);
  return 1;
}
