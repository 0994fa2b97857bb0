/*
 * The two hooks of the native batch loop, called in C for every datagram before any JS runs.
 * sb_hook_admit admits everything for now (the shield replaces it); sb_hook_answer calls image.c:
 *
 *  - sb_hook_admit: the shield's admission decision (issue 8). Sees the pre-parse, the raw
 *    datagram and the source address. SB_ADMIT hands the datagram to JS (or the image
 *    answer below); SB_DROP discards it (counted in stats().dropped).
 *  - sb_hook_answer: answering from the compiled zone images in C (issue 7 item 1, image.c).
 *    Writes a complete response into `out` (at most `cap` octets) and returns its length, or 0
 *    to hand the datagram to JS. Only called for datagrams with status 0; answers only after
 *    imageConfigure(true, ...) (`--native-answers`), else always 0.
 *
 * A hook must not keep pointers to its arguments after it returns and must check every
 * offset it reads against `len` (the pre-parse has checked the question and the OPT).
 */
#ifndef SWITCHBOARD_HOOKS_H
#define SWITCHBOARD_HOOKS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "image.h"
#include "preparse.h"

#define SB_ADMIT 0
#define SB_DROP 1

static inline int sb_hook_admit(const sb_preparse *pp, const uint8_t *pkt, size_t len,
                                const struct sockaddr *src) {
  (void)pp;
  (void)pkt;
  (void)len;
  (void)src;
  return SB_ADMIT;
}

/* Answers from the thread's compiled zone images (image.c) when turned on (imageConfigure). */
static inline size_t sb_hook_answer(const sb_preparse *pp, const uint8_t *pkt, size_t len, uint8_t *out,
                                    size_t cap) {
  if (!sb_images_enabled()) return 0;
  return sb_image_answer_pp(pp, pkt, len, out, cap);
}

#endif
