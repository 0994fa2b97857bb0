/**
 * A fast pre-parse of a plain query (RFC 1035 §4.1): header, one question and at most one
 * OPT record (RFC 6891), read in place without building a `Message`. It accepts only the
 * common, unambiguous layout; anything else (other opcodes, QR set, records in the answer or
 * authority section, a compressed or overlong question name, an additional record other than
 * one OPT, a malformed option list, trailing octets) is left to the full decoder, so every
 * error answer stays the decoder's.
 *
 * One `QueryView` is reused for every query (the parse is synchronous): its fields describe
 * the last query parsed.
 * @module
 */
import { EdnsOption, RRType } from './constants.js';

const HEADER = 12;
/** RFC 1035 §2.3.4: a name is at most 255 octets in wire form. */
const MAX_NAME = 255;

/** The fields of the last query `parse` accepted. */
export class QueryView {
  /** The question name, case-folded (A-Z only, RFC 4343), in wire form: `qnameLength` octets. */
  readonly folded: Buffer = Buffer.allocUnsafeSlow(MAX_NAME);
  /** Octets of the question name (offset 12 to its final zero octet included). */
  qnameLength = 0;
  /** Labels of the question name, the root label not counted. */
  labelCount = 0;
  /** Offset just after QTYPE and QCLASS. */
  questionEnd = 0;
  qtype = 0;
  qclass = 0;
  /** True when the query carries an OPT record. */
  edns = false;
  /** The OPT record's CLASS (the client's UDP payload size) and TTL fields. */
  udpSize = 0;
  extendedRcode = 0;
  version = 0;
  /** The OPT flags (DO is 0x8000). */
  ednsFlags = 0;
  /** True when the OPT carries an NSID option (RFC 5001). */
  nsid = false;
  /** Offset and length of the first COOKIE option's data (RFC 7873), -1 when absent. */
  cookieAt = -1;
  cookieLength = 0;

  /** The folded question name as a latin1 string (a `Name`'s wire and key). */
  foldedWire(): string {
    return this.folded.toString('latin1', 0, this.qnameLength);
  }

  /**
   * Reads `query` if it is a plain QUERY (QR=0, opcode 0) with QDCOUNT=1, ANCOUNT=NSCOUNT=0,
   * ARCOUNT 0 or 1 (then an OPT owned by the root with a well-formed option list), an
   * uncompressed question name of at most 255 octets, and nothing after the last record.
   * Returns false (fields undefined) for anything else: the caller decodes it fully.
   */
  parse(query: Uint8Array): boolean {
    const len = query.length;
    if (len < HEADER + 5 || (query[2] & 0xf8) !== 0) return false;
    // QDCOUNT 1, ANCOUNT 0, NSCOUNT 0, ARCOUNT 0 or 1.
    if (query[4] !== 0 || query[5] !== 1 || query[6] !== 0 || query[7] !== 0 || query[8] !== 0) return false;
    if (query[9] !== 0 || query[10] !== 0 || query[11] > 1) return false;
    const folded = this.folded;
    let i = HEADER;
    let labels = 0;
    for (;;) {
      if (i >= len) return false;
      const l = query[i];
      if (l === 0) break;
      if (l > 63) return false;
      const stop = i + l + 1;
      if (stop - HEADER + 1 > MAX_NAME || stop > len) return false;
      folded[i - HEADER] = l;
      for (let j = i + 1; j < stop; j++) {
        const c = query[j];
        folded[j - HEADER] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
      }
      labels++;
      i = stop;
    }
    folded[i - HEADER] = 0;
    const qnameEnd = i + 1;
    if (qnameEnd + 4 > len) return false;
    this.qnameLength = qnameEnd - HEADER;
    this.labelCount = labels;
    this.qtype = (query[qnameEnd] << 8) | query[qnameEnd + 1];
    this.qclass = (query[qnameEnd + 2] << 8) | query[qnameEnd + 3];
    const end = qnameEnd + 4;
    this.questionEnd = end;
    this.nsid = false;
    this.cookieAt = -1;
    this.cookieLength = 0;
    if (query[11] === 0) {
      this.edns = false;
      return end === len;
    }
    // The one additional record must be an OPT owned by the root (RFC 6891 §6.1.1).
    if (end + 11 > len || query[end] !== 0) return false;
    if (((query[end + 1] << 8) | query[end + 2]) !== RRType.OPT) return false;
    this.edns = true;
    this.udpSize = (query[end + 3] << 8) | query[end + 4];
    this.extendedRcode = query[end + 5];
    this.version = query[end + 6];
    this.ednsFlags = (query[end + 7] << 8) | query[end + 8];
    const rdEnd = end + 11 + ((query[end + 9] << 8) | query[end + 10]);
    if (rdEnd !== len) return false;
    // RFC 6891 §6.1.2: options are {code, length, data}, exactly filling the RDATA.
    let p = end + 11;
    while (p < rdEnd) {
      if (p + 4 > rdEnd) return false;
      const code = (query[p] << 8) | query[p + 1];
      const olen = (query[p + 2] << 8) | query[p + 3];
      const data = p + 4;
      if (data + olen > rdEnd) return false;
      if (code === EdnsOption.NSID) this.nsid = true;
      else if (code === EdnsOption.COOKIE && this.cookieAt < 0) {
        this.cookieAt = data;
        this.cookieLength = olen;
      }
      p = data + olen;
    }
    return true;
  }
}
