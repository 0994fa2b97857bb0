/*
 * Pre-parse of one DNS query (see preparse.h). Written for hostile input: every read is
 * preceded by a bounds check on `len`; loops are bounded by the datagram length and by the
 * RFC 1035 limits (label <= 63, name <= 255 octets); there is no recursion.
 */
#include "preparse.h"

#include <string.h>

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(((unsigned)p[0] << 8) | p[1]); }

void sb_preparse_packet(const uint8_t *pkt, size_t len, sb_preparse *out) {
  memset(out, 0, sizeof(*out));
  if (pkt == NULL || len < 12) {
    out->status = SB_PP_SHORT;
    return;
  }
  uint8_t b2 = pkt[2], b3 = pkt[3];
  if (b2 & 0x80u) out->status |= SB_PP_RESPONSE;
  if (((b2 >> 3) & 0x0fu) != 0) out->status |= SB_PP_OPCODE;
  if (b2 & 0x01u) out->flags |= SB_PF_RD;
  if (b3 & 0x10u) out->flags |= SB_PF_CD;
  uint16_t qd = rd16(pkt + 4), an = rd16(pkt + 6), ns = rd16(pkt + 8), ar = rd16(pkt + 10);
  if (qd != 1) {
    out->status |= SB_PP_QDCOUNT;
    return;
  }

  /* QNAME: uncompressed labels only (a query's question has nothing to point back to). */
  size_t off = 12;
  size_t name_len = 0;
  unsigned labels = 0;
  for (;;) {
    if (off >= len) {
      out->status |= SB_PP_BADNAME;
      return;
    }
    uint8_t l = pkt[off];
    if (l & 0xc0u) { /* compression pointer or the reserved label types */
      out->status |= SB_PP_BADNAME;
      return;
    }
    name_len += (size_t)l + 1u;
    if (name_len > 255u) {
      out->status |= SB_PP_BADNAME;
      return;
    }
    if (l == 0) {
      off += 1;
      break;
    }
    if ((size_t)l + 1u > len - off) { /* label runs past the end */
      out->status |= SB_PP_BADNAME;
      return;
    }
    off += (size_t)l + 1u;
    labels++;
  }
  out->qname_len = (uint16_t)name_len;
  out->label_count = (uint8_t)labels;
  if (len - off < 4) {
    out->status |= SB_PP_NOQTYPE;
    return;
  }
  out->qtype = rd16(pkt + off);
  out->qclass = rd16(pkt + off + 2);
  off += 4;
  out->question_end = (uint16_t)off;

  /* A plain query: the question, then at most one OPT record and nothing else. */
  if (an != 0 || ns != 0 || ar > 1) {
    out->status |= SB_PP_TRAILING;
    return;
  }
  if (ar == 0) {
    if (off != len) out->status |= SB_PP_TRAILING; /* octets after the question */
    return;
  }

  /* The one additional record: an OPT has the root owner (one zero octet) and type 41. */
  if (len - off < 11) {
    /* Missing or cut short (too short for any OPT; a named record would need more still). */
    out->status |= SB_PP_OPT_BAD;
    return;
  }
  if (pkt[off] != 0 || rd16(pkt + off + 1) != 41) { /* another record type, or an owner name */
    out->status |= SB_PP_TRAILING;
    return;
  }
  out->flags |= SB_PF_OPT;
  out->opt_size = rd16(pkt + off + 3);
  out->edns_version = pkt[off + 6];
  if (pkt[off + 7] & 0x80u) out->flags |= SB_PF_DO;
  size_t rdlen = rd16(pkt + off + 9);
  off += 11;
  if (rdlen > len - off) {
    out->status |= SB_PP_OPT_BAD;
    return;
  }
  size_t end = off + rdlen;
  /* Options: code(2) length(2) data; each length checked against the RDATA's end. */
  while (off < end) {
    if (end - off < 4) {
      out->status |= SB_PP_OPT_BAD;
      return;
    }
    uint16_t code = rd16(pkt + off);
    size_t olen = rd16(pkt + off + 2);
    off += 4;
    if (olen > end - off) {
      out->status |= SB_PP_OPT_BAD;
      return;
    }
    if (code == 10) out->flags |= SB_PF_COOKIE;
    else if (code == 3) out->flags |= SB_PF_NSID;
    else if (code == 9) out->flags |= SB_PF_EXPIRE;
    off += olen;
  }
  if (end != len) out->status |= SB_PP_TRAILING;
}
