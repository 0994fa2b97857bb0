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

/* Validates `len` octets at `bytes`; on success returns an image owning a private copy of them,
 * else NULL with a reason in *why (a static string). */
sb_image *sb_image_open(const uint8_t *bytes, size_t len, const char **why);
void sb_image_free(sb_image *img);
/* The image's origin (case-folded wire form) and its length. */
const uint8_t *sb_image_origin(const sb_image *img, size_t *len);

/* The calling thread's table of images (each JS thread has its own). install takes ownership
 * and replaces (frees) the image of the same origin; remove frees it. Returns 0 on success,
 * -1 when out of memory (the image is then freed). */
int sb_images_install(sb_image *img);
int sb_images_remove(const uint8_t *origin, size_t len);
void sb_images_clear(void);
size_t sb_images_count(void);
size_t sb_images_bytes(void);

/* Answering options (like the Responder's): our EDNS UDP size. enabled = 0 turns the hook off. */
void sb_images_configure(int enabled, unsigned edns_size);
int sb_images_enabled(void);

/* Answers the UDP query `pkt` from the thread's images: writes the response into `out` (at
 * most `cap` octets) and returns its length, or 0 when JS must answer it (a fallback kind, an
 * EDNS option present, not a plain IN query, no zone, no room). */
size_t sb_image_answer(const uint8_t *pkt, size_t len, uint8_t *out, size_t cap);

#endif
