/**
 * EDNS(0) option helpers (RFC 6891): building and parsing the option payloads the server
 * uses — NSID (RFC 5001), Extended DNS Errors (RFC 8914), COOKIE (RFC 7873), Padding
 * (RFC 7830) — and the size of an encoded OPT record, for reserving room in responses.
 * @module
 */
import { EdnsOption } from './constants.js';
import { WireFormatError } from './errors.js';
import type { Edns, EdnsOptionData } from './message.js';

/** Size of the fixed part of an OPT RR: root owner, TYPE, CLASS, TTL, RDLENGTH (RFC 6891 §6.1.2). */
export const OPT_FIXED_LENGTH = 11;

/** Encoded size in octets of the OPT RR for `edns` (what `MessageWriter.opt` writes). */
export function optLength(edns: Edns): number {
  let n = OPT_FIXED_LENGTH;
  for (const o of edns.options) n += 4 + o.data.length;
  return n;
}

/** The first option with `code`, or undefined. */
export function findEdnsOption(edns: Edns | undefined, code: number): EdnsOptionData | undefined {
  if (edns === undefined) return undefined;
  for (const o of edns.options) if (o.code === code) return o;
  return undefined;
}

/** An NSID option carrying `payload` (RFC 5001 §2.3: opaque octets chosen by the server). */
export function buildNsidOption(payload: Uint8Array): EdnsOptionData {
  return { code: EdnsOption.NSID, data: payload };
}

/** A decoded Extended DNS Error (RFC 8914 §2). */
export interface ExtendedError {
  /** INFO-CODE, see `EdeCode`. */
  infoCode: number;
  /** EXTRA-TEXT, '' when absent. */
  extraText: string;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');

/** An Extended DNS Error option (RFC 8914 §2): 16-bit INFO-CODE then UTF-8 EXTRA-TEXT. */
export function buildEdeOption(infoCode: number, extraText = ''): EdnsOptionData {
  const text = utf8Encoder.encode(extraText);
  const data = new Uint8Array(2 + text.length);
  data[0] = (infoCode >> 8) & 0xff;
  data[1] = infoCode & 0xff;
  data.set(text, 2);
  return { code: EdnsOption.EDE, data };
}

/**
 * Parses Extended DNS Error option data. Invalid UTF-8 in EXTRA-TEXT is replaced (U+FFFD),
 * since the text is only diagnostic (RFC 8914 §2: it must not be acted on).
 * @throws WireFormatError DNS_ERR_RDATA when shorter than the INFO-CODE
 */
export function parseEdeOption(data: Uint8Array): ExtendedError {
  if (data.length < 2) throw new WireFormatError('DNS_ERR_RDATA', 'EDE option shorter than its INFO-CODE');
  return { infoCode: (data[0] << 8) | data[1], extraText: utf8Decoder.decode(data.subarray(2)) };
}

/** A decoded DNS COOKIE option (RFC 7873 §4). */
export interface Cookie {
  /** The 8-octet client cookie. */
  client: Uint8Array;
  /** The 8..32-octet server cookie, when present. */
  server?: Uint8Array;
}

/**
 * Parses COOKIE option data: 8 octets (client cookie only) or 16..40 octets (with a server
 * cookie of 8..32). The returned arrays are copies.
 * @throws WireFormatError DNS_ERR_RDATA for any other length (RFC 7873 §5.2.2: answer FORMERR)
 */
export function parseCookieOption(data: Uint8Array): Cookie {
  const n = data.length;
  // RFC 7873 §4: client cookie fixed at 8 octets; server cookie 8 to 32 octets.
  if (n !== 8 && (n < 16 || n > 40))
    throw new WireFormatError('DNS_ERR_RDATA', `COOKIE option of ${n} octets (must be 8 or 16..40)`);
  // Copies into plain arrays: Buffer#slice would return views of the receive buffer.
  const client = new Uint8Array(data.subarray(0, 8));
  return n === 8 ? { client } : { client, server: new Uint8Array(data.subarray(8)) };
}

/**
 * A COOKIE option from a client cookie (8 octets) and an optional server cookie (8..32 octets).
 * @throws WireFormatError DNS_ERR_RDATA when a cookie has a wrong length
 */
export function buildCookieOption(client: Uint8Array, server?: Uint8Array): EdnsOptionData {
  if (client.length !== 8) throw new WireFormatError('DNS_ERR_RDATA', 'client cookie must be 8 octets');
  if (server !== undefined && (server.length < 8 || server.length > 32))
    throw new WireFormatError('DNS_ERR_RDATA', 'server cookie must be 8..32 octets');
  const data = new Uint8Array(8 + (server?.length ?? 0));
  data.set(client, 0);
  if (server !== undefined) data.set(server, 8);
  return { code: EdnsOption.COOKIE, data };
}

/** A Padding option with `length` zero octets (RFC 7830 §3: contents should be zero). */
export function buildPaddingOption(length: number): EdnsOptionData {
  return { code: EdnsOption.PADDING, data: new Uint8Array(length) };
}
