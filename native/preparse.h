/*
 * Pre-parse of one DNS query datagram: header checks, the question and whether an OPT record
 * follows. Pure C, no allocation, no recursion; every offset is checked against the length
 * before it is read. Shared by the addon (udp.c) and the fuzz harness (fuzz/harness.c).
 */
#ifndef SWITCHBOARD_PREPARSE_H
#define SWITCHBOARD_PREPARSE_H

#include <stddef.h>
#include <stdint.h>

/* status: why a datagram is or is not a plain query (bit flags, 0 = a well-formed query). */
#define SB_PP_SHORT 0x0001u        /* shorter than a 12-octet header */
#define SB_PP_RESPONSE 0x0002u     /* QR = 1 */
#define SB_PP_OPCODE 0x0004u       /* opcode != QUERY */
#define SB_PP_QDCOUNT 0x0008u      /* QDCOUNT != 1 */
#define SB_PP_BADNAME 0x0010u      /* QNAME runs past the end, label > 63, name > 255, or compressed */
#define SB_PP_NOQTYPE 0x0020u      /* QTYPE/QCLASS run past the end */
#define SB_PP_OPT_BAD 0x0040u      /* ARCOUNT = 1 but the record is missing or cut short, or the OPT's
                                      options overrun its RDATA (or its RDATA the datagram) */
#define SB_PP_TRAILING 0x0080u     /* other records (ANCOUNT/NSCOUNT != 0, ARCOUNT > 1, an additional
                                      record that is not an OPT) or octets after the last record */

/* flags: what the datagram carries. */
#define SB_PF_OPT 0x0001u       /* an OPT record follows the question (ARCOUNT >= 1, root owner, type 41) */
#define SB_PF_DO 0x0002u        /* the OPT's DO bit */
#define SB_PF_COOKIE 0x0004u    /* an EDNS COOKIE option (code 10) is present */
#define SB_PF_RD 0x0008u        /* RD bit of the query */
#define SB_PF_CD 0x0010u        /* CD bit of the query */
#define SB_PF_NSID 0x0020u      /* an EDNS NSID option (code 3) is present */
#define SB_PF_EXPIRE 0x0040u    /* an EDNS EXPIRE option (code 9, RFC 7314) is present */

/* The result of sb_preparse. Offsets are from the start of the datagram. */
typedef struct sb_preparse {
  uint16_t status;       /* SB_PP_* (0 = well formed) */
  uint16_t flags;        /* SB_PF_* */
  uint16_t qname_len;    /* wire length of the QNAME, root label included (0 when bad) */
  uint16_t qtype;
  uint16_t qclass;
  uint16_t opt_size;     /* the OPT's UDP payload size (CLASS field), 0 without OPT */
  uint8_t label_count;   /* labels of the QNAME (root excluded) */
  uint8_t edns_version;  /* EXTENDED-RCODE's version octet of the OPT */
  uint16_t question_end; /* offset just after QCLASS (0 when the question is bad) */
} sb_preparse;

/* Fills `out` for the `len` octets at `pkt`. Never reads outside [pkt, pkt + len). */
void sb_preparse_packet(const uint8_t *pkt, size_t len, sb_preparse *out);

#endif
