/*
 * Zone images answered in C (issue 7 items 1+2): the validator (the same checks as
 * src/image/reader.ts `openImage`), a per-thread table of zones -> images found by the
 * longest served suffix (FNV-1a of each suffix, docs/IMAGE.md), and the answer itself,
 * octet for octet what `parseQuery` + `respondFromImage` write. Pure C, no recursion, no
 * allocation on the query path; every offset into an image was checked when it was installed.
 * Shared by the addon (image_napi.c, hooks.h) and the fuzz harness (fuzz/harness.c).
 */
#ifndef SWITCHBOARD_IMAGE_H
#define SWITCHBOARD_IMAGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct sb_image sb_image;

/* Called once when an image lets go of its bytes (sb_image_free: on replace, remove, clear). */
typedef void (*sb_image_release_fn)(void *arg);

/* Validates `len` octets at `bytes` (every offset the answer will follow) and returns an image
 * that reads them IN PLACE: nothing is copied. The caller keeps the bytes alive and unchanged
 * until `release(arg)` is called (by sb_image_free; `release` may be NULL). The validation is
 * only as good as that promise: bytes that change after it are read unchecked.
 * On failure returns NULL with a reason in *why (a static string); `release` is then NOT
 * called and the caller still owns the bytes. */
sb_image *sb_image_open(const uint8_t *bytes, size_t len, sb_image_release_fn release, void *arg,
                        const char **why);
/* Frees the image and releases its bytes. */
void sb_image_free(sb_image *img);
/* The image's origin (case-folded wire form) and its length. */
const uint8_t *sb_image_origin(const sb_image *img, size_t *len);

/* The calling thread's table of SERVED origins, each with its image once installed (each JS
 * thread has its own). The answer picks the closest enclosing served origin of the QNAME; when
 * that origin has no image yet, it notes the origin in the miss list and returns 0 (JS answers,
 * then installs the image), so images can be installed lazily, on each zone's first query.
 *
 * serve adds an origin without an image (any case; folded here): 1 added, 0 already served,
 * -1 not exactly one uncompressed name of 1..255 octets, -2 out of memory.
 * install takes ownership and replaces (frees) the image of the same origin, serving the
 * origin if it was not: 0 on success, -1 when out of memory (the image is then freed).
 * remove stops serving the origin and frees its image; uninstall frees the image only (the
 * origin stays served: JS answers it until an image is installed again); both return 1 when
 * they found something to remove. An image is freed only by these calls, on the thread that
 * answers from the table, so no answer is ever reading an image being freed (the addon's batch
 * loop and its install/remove calls run on the same JS thread). */
int sb_images_install(sb_image *img);
int sb_images_serve(const uint8_t *origin, size_t len);
int sb_images_remove(const uint8_t *origin, size_t len);
int sb_images_uninstall(const uint8_t *origin, size_t len);
void sb_images_clear(void);
/* Origins served (the zones C knows: with or without an image) / images installed. */
size_t sb_images_count(void);
size_t sb_images_installed(void);
/* Moves the miss list (origins asked for since the last call that were served without an
 * image, each once, as concatenated folded wire names) to out and empties it; returns its
 * length (0 when none, or when it would not fit `cap`: give SB_IMAGES_MISS_CAP). */
#define SB_IMAGES_MISS_CAP 8192
size_t sb_images_take_misses(uint8_t *out, size_t cap);
/* Octets of the installed images (referenced where they are, not copied). */
size_t sb_images_bytes(void);

/* Answering options (like the Responder's): our EDNS UDP size. enabled = 0 turns the hook off. */
void sb_images_configure(int enabled, unsigned edns_size);
/* The NSID payload (RFC 5001) to answer a query's NSID option with, as the Responder's `nsid`
 * option; len 0 = none configured (NSID requests are then ignored, as by the Responder).
 * Copied. Returns -1 when out of memory or len > 65535 - 4 (the previous value is kept). */
int sb_images_set_nsid(const uint8_t *nsid, size_t len);
int sb_images_enabled(void);
/* Our EDNS UDP size (sb_images_configure's; 1232 until set). */
unsigned sb_images_edns_size(void);

/* Answers the UDP query `pkt` from the thread's images: writes the response into `out` (at
 * most `cap` octets) and returns its length, or 0 when JS must answer it (a fallback kind, a
 * malformed option list or EDNS version > 0, not a plain IN query, no zone, no room). EDNS
 * options are treated as the Responder does: NSID gets our NSID when one is configured, every
 * other option (COOKIE, padding, unknown codes) is ignored. */
size_t sb_image_answer(const uint8_t *pkt, size_t len, uint8_t *out, size_t cap);

/* The same for a query read over TCP (one frame's message): as parseQuery's 'tcp', the response
 * may take up to 65,535 octets whatever the query's EDNS UDP size, never truncated (TC=1). */
size_t sb_image_answer_tcp(const uint8_t *pkt, size_t len, uint8_t *out, size_t cap);

/* The same, for a datagram already pre-parsed into *pp (sb_preparse_packet of these `len`
 * octets): the batch loop's path, which walks the header and QNAME once. */
struct sb_preparse;
size_t sb_image_answer_pp(const struct sb_preparse *pp, const uint8_t *pkt, size_t len, uint8_t *out, size_t cap);

/* For the shield's admission: 1 when the QNAME has a closest served zone (class IN, a query C
 * could answer), with *zone_key = the FNV-1a of the zone's origin and *exists = whether the
 * image answers it with data, a referral, a DNAME or a wildcard (0: NXDOMAIN; 1 while the zone
 * has no image installed yet: unknown, never counted as NXDOMAIN); else 0. */
int sb_image_classify(const struct sb_preparse *pp, const uint8_t *pkt, size_t len, uint32_t *zone_key, int *exists);

/* The names of the zone with key `zone_key` (sb_image_classify's), for the kernel prefilter's
 * QNAME filter: `fn` is called with each name but the origin (folded wire form, the origin
 * included at its end; return non-zero to stop), *image identifies the image (changes when it
 * is replaced), *origin its folded origin. Returns the number of names, or -1 no such zone or
 * no image, -2 the zone has a delegation, a DNAME or a wildcard (names exist beyond the list),
 * -3 another served zone lies below it, -4 `fn` stopped. `fn` NULL: only *image and *origin
 * (0, or -1). */
typedef int (*sb_name_fn)(void *ctx, const uint8_t *name, size_t len);
int sb_images_names_of(uint32_t zone_key, const void **image, const uint8_t **origin, size_t *origin_len,
                       sb_name_fn fn, void *ctx);

#endif
