/*
 * The drill's batched UDP sender (switchboard drill, docs/DRILL.md): one socket bound to the
 * wildcard address sends each datagram from a source address of its own (IP_PKTINFO
 * ipi_spec_dst, loopback only) with sendmmsg, and counts the answers that come back with
 * recvmmsg, by the kind tag in the top two bits of the DNS ID and the RCODE.
 */
#ifndef SWITCHBOARD_DRILL_H
#define SWITCHBOARD_DRILL_H

#include <stddef.h>
#include <stdint.h>

/* Most datagrams one call sends or receives. */
#define DRILL_BATCH 64
/* Counters per kind: 16 RCODEs, then TC=1, then "any". */
#define DRILL_COUNTS_PER_KIND 18
#define DRILL_KINDS 4
/* Most datagrams in one GSO message (the kernel's UDP_MAX_SEGMENTS is 64 or more). */
#define DRILL_MAX_SEGMENTS 64

/* Opens a non-blocking UDP socket (family 4 or 6) bound to the wildcard (v4) or ::1 (v6),
 * port 0, with big buffers. Returns the fd, or -errno. */
int drill_open(int family);

/* The local port of the socket (the drill reports its drops from /proc/net/udp), or -errno. */
int drill_port(int fd);

/* Sends `count` (<= DRILL_BATCH) messages to dst (IPv4 address in network order, or the v6
 * loopback when family is 6) : port. Message i is buf[offsets[i] .. offsets[i]+lengths[i]),
 * sent from srcs[i] (IPv4, network order; 0 = the kernel's choice). When segs is not NULL and
 * 0 < segs[i] < lengths[i], message i is a run of datagrams of segs[i] octets each (the last
 * may be shorter) sent as one UDP GSO message (UDP_SEGMENT), all from srcs[i]; a run of more
 * than DRILL_MAX_SEGMENTS datagrams refuses the whole call (-EINVAL, nothing sent). Returns
 * how many messages the kernel took (0 when its buffer is full), or -errno. */
int drill_send(int fd, int family, uint32_t dst, uint16_t port, const uint8_t *buf, size_t buf_len,
               const uint32_t *offsets, const uint16_t *lengths, const uint32_t *srcs, const uint16_t *segs,
               int count);

/* Reads every datagram waiting (at most `budget`), adding to counts[kind * 18 + rcode],
 * counts[kind * 18 + 16] (TC) and counts[kind * 18 + 17] (any). Returns how many it read. */
int drill_drain(int fd, uint32_t *counts, int budget);

#endif
