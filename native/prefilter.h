/*
 * The shield's kernel prefilter: a classic BPF program on a UDP socket that drops datagrams
 * from blocked IPv4 prefixes before they are queued (prefilter.c).
 */
#ifndef SWITCHBOARD_PREFILTER_H
#define SWITCHBOARD_PREFILTER_H

#include <linux/filter.h>
#include <stdint.h>

/* Most prefixes one program holds (its instructions stay under BPF_MAXINSNS). */
#define SB_PREFILTER_MAX 512
/* Instructions a program of SB_PREFILTER_MAX prefixes needs, with room to spare. */
#define SB_PREFILTER_INSNS 2600

/* Writes the program dropping IPv4 sources inside the `n` prefixes (network order as a
 * number: a.b.c.d = a<<24|b<<16|c<<8|d, masked to `bits`, sorted ascending, no duplicates);
 * returns its length, or 0 when they are not sorted or it does not fit `cap`. */
unsigned sb_prefilter_build(const uint32_t *prefixes, unsigned n, unsigned bits, struct sock_filter *out,
                            unsigned cap);
/* Attaches the program to the socket (replacing the one before); len 0 detaches. 0 or -1. */
int sb_prefilter_attach(int fd, struct sock_filter *prog, unsigned len);

#endif
