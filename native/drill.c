/*
 * The drill's batched UDP sender: see drill.h. Packet bytes come from the drill itself; the only
 * bytes read from the wire are the 4 header octets of each answer, after a length check.
 */
#define _GNU_SOURCE
#include "drill.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int drill_open(int family) {
  int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  /* Big buffers: answers to a flood come back between two send batches. The FORCE options
   * pass net.core.rmem_max when the drill may (CAP_NET_ADMIN); else the capped size. */
  int size = 8 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  int rc;
  if (family == 6) {
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    rc = bind(fd, (struct sockaddr *)&a, sizeof a);
  } else {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    rc = bind(fd, (struct sockaddr *)&a, sizeof a);
  }
  if (rc != 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

int drill_port(int fd) {
  struct sockaddr_storage a;
  socklen_t len = sizeof a;
  if (getsockname(fd, (struct sockaddr *)&a, &len) != 0) return -errno;
  if (a.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&a)->sin_port);
  if (a.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&a)->sin6_port);
  return -EAFNOSUPPORT;
}

int drill_send(int fd, int family, uint32_t dst, uint16_t port, const uint8_t *buf, size_t buf_len,
               const uint32_t *offsets, const uint16_t *lengths, const uint32_t *srcs, const uint16_t *segs,
               int count) {
  if (count <= 0) return 0;
  if (count > DRILL_BATCH) count = DRILL_BATCH;
  struct mmsghdr msgs[DRILL_BATCH];
  struct iovec iovs[DRILL_BATCH];
  union {
    char buf[CMSG_SPACE(sizeof(struct in_pktinfo)) + CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } ctl[DRILL_BATCH];
  struct sockaddr_in to4;
  struct sockaddr_in6 to6;
  memset(&to4, 0, sizeof to4);
  memset(&to6, 0, sizeof to6);
  to4.sin_family = AF_INET;
  to4.sin_addr.s_addr = dst;
  to4.sin_port = htons(port);
  to6.sin6_family = AF_INET6;
  to6.sin6_addr = in6addr_loopback;
  to6.sin6_port = htons(port);
  memset(msgs, 0, sizeof(msgs[0]) * (size_t)count);
  for (int i = 0; i < count; i++) {
    size_t off = offsets[i], len = lengths[i];
    if (off > buf_len || len > buf_len - off) return -EINVAL;
    iovs[i].iov_base = (void *)(buf + off);
    iovs[i].iov_len = len;
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    uint16_t seg = segs ? segs[i] : 0;
    int gso = seg > 0 && seg < len;
    if (gso && (len + seg - 1) / seg > DRILL_MAX_SEGMENTS) return -EINVAL;
    int pktinfo = family != 6 && srcs[i] != 0;
    if (family == 6) {
      msgs[i].msg_hdr.msg_name = &to6;
      msgs[i].msg_hdr.msg_namelen = sizeof to6;
    } else {
      msgs[i].msg_hdr.msg_name = &to4;
      msgs[i].msg_hdr.msg_namelen = sizeof to4;
    }
    if (!gso && !pktinfo) continue;
    memset(&ctl[i], 0, sizeof ctl[i]);
    msgs[i].msg_hdr.msg_control = ctl[i].buf;
    msgs[i].msg_hdr.msg_controllen = (pktinfo ? CMSG_SPACE(sizeof(struct in_pktinfo)) : 0) +
                                     (gso ? CMSG_SPACE(sizeof(uint16_t)) : 0);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr);
    if (pktinfo) {
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
      struct in_pktinfo info;
      memset(&info, 0, sizeof info);
      info.ipi_spec_dst.s_addr = srcs[i];
      memcpy(CMSG_DATA(c), &info, sizeof info);
      c = CMSG_NXTHDR(&msgs[i].msg_hdr, c);
    }
    if (gso) {
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      memcpy(CMSG_DATA(c), &seg, sizeof seg);
    }
  }
  int sent = sendmmsg(fd, msgs, (unsigned)count, MSG_DONTWAIT);
  if (sent < 0) return (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) ? 0 : -errno;
  return sent;
}

int drill_drain(int fd, uint32_t *counts, int budget) {
  uint8_t bufs[DRILL_BATCH][512]; /* 32 KiB on the stack: no state shared between threads */
  struct mmsghdr msgs[DRILL_BATCH];
  struct iovec iovs[DRILL_BATCH];
  int total = 0;
  while (total < budget) {
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < DRILL_BATCH; i++) {
      iovs[i].iov_base = bufs[i];
      iovs[i].iov_len = sizeof bufs[i];
      msgs[i].msg_hdr.msg_iov = &iovs[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(fd, msgs, DRILL_BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) break;
    for (int i = 0; i < n; i++) {
      /* Truncated reads (answers over 512 octets) still carry their header. */
      if (msgs[i].msg_len < 4) continue;
      const uint8_t *h = bufs[i];
      unsigned kind = h[0] >> 6;
      uint32_t *k = counts + kind * DRILL_COUNTS_PER_KIND;
      k[h[3] & 0x0f]++;
      if (h[2] & 0x02) k[16]++;
      k[17]++;
    }
    total += n;
    if (n < DRILL_BATCH) break;
  }
  return total;
}
