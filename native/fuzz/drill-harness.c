/*
 * Sanitizer harness of the drill's sender (native/drill.c): one drill socket sends batches of
 * hostile datagrams (random octets, lengths 0-600, random 127.x sources) to its own port on
 * 127.0.0.1 and drains them, so drill_send and drill_drain run on every length, including
 * datagrams longer than drill_drain's 512-octet buffers; offsets and lengths outside the buffer
 * must be refused. Built with -fsanitize=address,undefined by test/drill/native.test.ts.
 * Prints "ok SENT RECEIVED" and exits 0, or exits 1 with a message.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../drill.h"

static uint32_t state = 12345;
static uint32_t next(void) {
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state;
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 2000;
  int fd = drill_open(4);
  if (fd < 0) {
    fprintf(stderr, "drill_open: %s\n", strerror(-fd));
    return 1;
  }
  struct sockaddr_in self;
  socklen_t len = sizeof self;
  if (getsockname(fd, (struct sockaddr *)&self, &len) != 0) return 1;
  uint16_t port = ntohs(self.sin_port);
  uint32_t dst = htonl(0x7f000001);
  enum { SLOT = 600 };
  static uint8_t buf[DRILL_BATCH * SLOT];
  uint32_t offsets[DRILL_BATCH], srcs[DRILL_BATCH];
  uint16_t lengths[DRILL_BATCH];
  uint32_t counts[DRILL_KINDS * DRILL_COUNTS_PER_KIND];
  memset(counts, 0, sizeof counts);
  long sent = 0, received = 0;
  for (int r = 0; r < rounds; r++) {
    int n = 1 + (int)(next() % DRILL_BATCH);
    for (int i = 0; i < n; i++) {
      offsets[i] = (uint32_t)(i * SLOT);
      lengths[i] = (uint16_t)(next() % (SLOT + 1));
      for (int j = 0; j < lengths[i]; j++) buf[i * SLOT + j] = (uint8_t)next();
      uint32_t host = 0x7f000000u | (next() & 0x00ffffffu);
      if ((host & 0xff) == 0 || (host & 0xff) == 255) host = 0x7f000001u;
      srcs[i] = (next() % 4 == 0) ? 0 : htonl(host);
    }
    uint16_t segs[DRILL_BATCH];
    /* Some messages as GSO runs of equal datagrams (any segment size, even 0 or >= the length). */
    for (int i = 0; i < n; i++) {
      unsigned least = (lengths[i] + DRILL_MAX_SEGMENTS - 1) / DRILL_MAX_SEGMENTS;
      segs[i] = (next() % 3 == 0) ? (uint16_t)(least + next() % 200) : 0;
    }
    int k = drill_send(fd, 4, dst, port, buf, DRILL_BATCH * SLOT, offsets, lengths, srcs, (r & 1) ? segs : NULL, n);
    if (k < 0) {
      fprintf(stderr, "drill_send: %s\n", strerror(-k));
      return 1;
    }
    for (int i = 0; i < k; i++)
      sent += ((r & 1) && segs[i] > 0 && segs[i] < lengths[i]) ? (lengths[i] + segs[i] - 1) / segs[i] : 1;
    received += drill_drain(fd, counts, 1 << 20);
  }
  for (int tries = 0; tries < 100 && received < sent; tries++) {
    usleep(2000);
    received += drill_drain(fd, counts, 1 << 20);
  }
  /* Too many segments in one GSO message: refused. */
  offsets[0] = 0;
  lengths[0] = 600;
  uint16_t tiny = 2;
  if (drill_send(fd, 4, dst, port, buf, DRILL_BATCH * SLOT, offsets, lengths, srcs, &tiny, 1) != -EINVAL) {
    fprintf(stderr, "a GSO run of 300 segments was not refused\n");
    return 1;
  }
  /* Out of range: refused, nothing read past the buffer. */
  offsets[0] = DRILL_BATCH * SLOT - 10;
  lengths[0] = 11;
  if (drill_send(fd, 4, dst, port, buf, DRILL_BATCH * SLOT, offsets, lengths, srcs, NULL, 1) != -EINVAL) {
    fprintf(stderr, "out-of-range datagram not refused\n");
    return 1;
  }
  long any = 0;
  for (int k = 0; k < DRILL_KINDS; k++) any += counts[k * DRILL_COUNTS_PER_KIND + 17];
  close(fd);
  printf("ok %ld %ld %ld\n", sent, received, any);
  return 0;
}
