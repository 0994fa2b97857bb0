/**
 * DNS message decoder (RFC 1035 §4.1) with safe name decompression.
 * Every malformed input surfaces as a `WireFormatError` carrying the offset at fault.
 * @module
 */
import { RRType } from './constants.js';
import { WireFormatError } from './errors.js';
import type { Edns, EdnsOptionData, Message, Question, RR } from './message.js';
import { Name } from './name.js';
import { readRdata } from './rdata.js';

/** Length of the fixed message header (RFC 1035 §4.1.1). */
const HEADER_LENGTH = 12;

// The uncompressed name is assembled here and turned into a latin1 string in one native call:
// cheaper than string concatenation and than a fresh buffer per name. Decoding is synchronous,
// so one module-level scratch area is safe.
const scratch = Buffer.allocUnsafeSlow(256);

// Offset just after the name most recently read by `decodeName` (avoids a result object).
let nameEnd = 0;

/**
 * Reads the possibly compressed name at `offset` into a `Name` (case preserved) and leaves the
 * offset after it (after its first pointer, if any) in `nameEnd`.
 */
function decodeName(buf: Uint8Array, offset: number): Name {
  const len = buf.length;
  let pos = offset;
  // Start of the stretch of labels being read: the name itself, then each pointer target.
  let start = offset;
  let out = 0;
  let end = -1;
  if (pos < 0) throw new WireFormatError('DNS_ERR_SHORT', 'name offset outside the message', pos);
  for (;;) {
    if (pos >= len) throw new WireFormatError('DNS_ERR_SHORT', 'name runs past the end of the message', pos);
    const b = buf[pos];
    if (b === 0) {
      scratch[out++] = 0;
      nameEnd = end < 0 ? pos + 1 : end;
      break;
    }
    const kind = b & 0xc0;
    if (kind === 0) {
      // RFC 1035 §2.3.4: at most 255 octets in the uncompressed form, root label included.
      if (out + b + 2 > 255) throw new WireFormatError('DNS_ERR_NAME', 'name longer than 255 octets', pos);
      const stop = pos + 1 + b;
      if (stop > len)
        throw new WireFormatError('DNS_ERR_SHORT', 'label runs past the end of the message', pos);
      scratch[out++] = b;
      for (let i = pos + 1; i < stop; i++) scratch[out++] = buf[i];
      pos = stop;
    } else if (kind === 0xc0) {
      if (pos + 1 >= len)
        throw new WireFormatError(
          'DNS_ERR_SHORT',
          'compression pointer runs past the end of the message',
          pos,
        );
      const target = ((b & 0x3f) << 8) | buf[pos + 1];
      if (end < 0) end = pos + 2;
      // RFC 1035 §4.1.4: a pointer refers to a prior occurrence of a name. Requiring every hop to
      // land strictly before the labels it continues makes targets strictly decreasing, which
      // rules out loops (self pointers, cycles) and forward pointers with one comparison.
      if (target >= pos)
        throw new WireFormatError('DNS_ERR_NAME', 'compression pointer loop or forward pointer', pos);
      if (target >= start)
        throw new WireFormatError('DNS_ERR_NAME', 'compression pointer into the name it continues', pos);
      start = pos = target;
    } else {
      // RFC 6891 §5 deprecates extended label types (0x40); 0x80 is reserved (RFC 1035 §4.1.4).
      throw new WireFormatError('DNS_ERR_NAME', `unsupported label type 0x${kind.toString(16)}`, pos);
    }
  }
  return out === 1 ? Name.ROOT : Name.fromWire(scratch.toString('latin1', 0, out));
}

/**
 * Reads a possibly compressed name at `offset`. `end` is the offset just after the name as
 * it appears at `offset` (after the first pointer, if any). Rejects pointer loops, forward
 * pointers, reserved label types and names over 255 octets.
 * @throws WireFormatError DNS_ERR_NAME / DNS_ERR_SHORT
 */
export function readName(buf: Uint8Array, offset: number): { name: Name; end: number } {
  const name = decodeName(buf, offset);
  return { name, end: nameEnd };
}

function readU16(buf: Uint8Array, pos: number): number {
  return (buf[pos] << 8) | buf[pos + 1];
}

function readU32(buf: Uint8Array, pos: number): number {
  return ((buf[pos] << 24) | (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]) >>> 0;
}

/** Parses the option list of OPT RDATA at buf[pos, end) (RFC 6891 §6.1.2). */
function readEdnsOptions(buf: Uint8Array, pos: number, end: number): EdnsOptionData[] {
  const options: EdnsOptionData[] = [];
  while (pos < end) {
    if (pos + 4 > end) throw new WireFormatError('DNS_ERR_RDATA', 'truncated EDNS option header', pos);
    const code = readU16(buf, pos);
    const length = readU16(buf, pos + 2);
    const start = pos + 4;
    if (start + length > end)
      throw new WireFormatError('DNS_ERR_RDATA', 'EDNS option runs past the end of the OPT RDATA', pos);
    // A copy, never a view: receive buffers may be reused after decoding.
    const data = new Uint8Array(length);
    for (let i = 0; i < length; i++) data[i] = buf[start + i];
    options.push({ code, data });
    pos = start + length;
  }
  return options;
}

/**
 * Decodes a whole message. The OPT RR (if any, at most one, owner root, in additional)
 * becomes `edns`. Trailing bytes after the counted records are an error.
 * @throws WireFormatError
 */
export function decodeMessage(buf: Uint8Array): Message {
  // A Buffer's slice() is a view, not a copy: read through a plain Uint8Array so that RDATA
  // copied out by readRdata never aliases a receive buffer that may be reused.
  if (buf.constructor !== Uint8Array) buf = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const len = buf.length;
  if (len < HEADER_LENGTH) throw new WireFormatError('DNS_ERR_SHORT', 'message shorter than its header', 0);
  const qdcount = readU16(buf, 4);
  const ancount = readU16(buf, 6);
  const nscount = readU16(buf, 8);
  const arcount = readU16(buf, 10);
  const msg: Message = {
    id: readU16(buf, 0),
    flags: readU16(buf, 2),
    questions: [],
    answers: [],
    authority: [],
    additional: [],
  };
  let pos = HEADER_LENGTH;

  for (let i = 0; i < qdcount; i++) {
    const name = decodeName(buf, pos);
    pos = nameEnd;
    if (pos + 4 > len)
      throw new WireFormatError('DNS_ERR_SHORT', 'question runs past the end of the message', pos);
    const q: Question = { name, type: readU16(buf, pos), class: readU16(buf, pos + 2) };
    msg.questions.push(q);
    pos += 4;
  }

  const total = ancount + nscount + arcount;
  let edns: Edns | undefined;
  for (let i = 0; i < total; i++) {
    const rrStart = pos;
    const name = decodeName(buf, pos);
    pos = nameEnd;
    if (pos + 10 > len)
      throw new WireFormatError('DNS_ERR_SHORT', 'RR header runs past the end of the message', pos);
    const type = readU16(buf, pos);
    const cls = readU16(buf, pos + 2);
    const ttl = readU32(buf, pos + 4);
    const rdlength = readU16(buf, pos + 8);
    pos += 10;
    if (pos + rdlength > len)
      throw new WireFormatError('DNS_ERR_SHORT', 'RDATA runs past the end of the message', pos);
    const inAdditional = i >= ancount + nscount;
    if (type === RRType.OPT) {
      // RFC 6891 §6.1.1: one OPT at most, only in the additional section, owned by the root.
      if (!inAdditional)
        throw new WireFormatError('DNS_ERR_FORMAT', 'OPT record outside the additional section', rrStart);
      if (edns !== undefined)
        throw new WireFormatError('DNS_ERR_FORMAT', 'more than one OPT record', rrStart);
      if (!name.isRoot)
        throw new WireFormatError('DNS_ERR_FORMAT', 'OPT record not owned by the root', rrStart);
      // RFC 6891 §6.1.3: the TTL carries EXTENDED-RCODE, VERSION and the flags.
      edns = {
        udpSize: cls,
        extendedRcode: ttl >>> 24,
        version: (ttl >>> 16) & 0xff,
        flags: ttl & 0xffff,
        options: readEdnsOptions(buf, pos, pos + rdlength),
      };
      pos += rdlength;
      continue;
    }
    // RFC 8945 §5.1: TSIG, when present, is the last record of the additional section.
    if (type === RRType.TSIG && (!inAdditional || i !== total - 1))
      throw new WireFormatError('DNS_ERR_FORMAT', 'TSIG record is not the last record', rrStart);
    const rr: RR = { name, type, class: cls, ttl, rdata: readRdata(buf, pos, rdlength, type) };
    pos += rdlength;
    if (i < ancount) msg.answers.push(rr);
    else if (!inAdditional) msg.authority.push(rr);
    else msg.additional.push(rr);
  }

  if (pos !== len)
    throw new WireFormatError('DNS_ERR_TRAILING', `${len - pos} octets after the last record`, pos);
  if (edns !== undefined) msg.edns = edns;
  return msg;
}
