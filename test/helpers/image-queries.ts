/**
 * Queries for the image proofs (src/image/image.test.ts, zone-view.test.ts): a query packet in
 * one of the transport/EDNS variants they ask in, and a wire name in random ASCII case.
 * @module
 */

/** How a query is sent. */
export interface Variant {
  transport: 'udp' | 'tcp';
  edns?: { size: number; do: boolean; nsid: boolean; cookie?: boolean };
}

/** A query packet for `qname` (wire form, any case) in variant `v`. */
export function buildQuery(id: number, flags: number, qname: string, qtype: number, v: Variant): Uint8Array {
  const opts: number[] = [];
  if (v.edns?.nsid) opts.push(0, 3, 0, 0);
  // RFC 7873: a client cookie only (8 octets).
  if (v.edns?.cookie) opts.push(0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8);
  const optLen = v.edns ? 11 + opts.length : 0;
  const out = new Uint8Array(12 + qname.length + 4 + optLen);
  out[0] = id >> 8;
  out[1] = id & 0xff;
  out[2] = flags >> 8;
  out[3] = flags & 0xff;
  out[5] = 1;
  out[11] = v.edns ? 1 : 0;
  let p = 12;
  for (let i = 0; i < qname.length; i++) out[p++] = qname.charCodeAt(i);
  out[p++] = qtype >> 8;
  out[p++] = qtype & 0xff;
  out[p++] = 0;
  out[p++] = 1;
  if (v.edns) {
    p++;
    out[p++] = 0;
    out[p++] = 41;
    out[p++] = v.edns.size >> 8;
    out[p++] = v.edns.size & 0xff;
    p += 2;
    out[p++] = v.edns.do ? 0x80 : 0;
    p++;
    out[p++] = opts.length >> 8;
    out[p++] = opts.length & 0xff;
    out.set(opts, p);
  }
  return out;
}

/** Random ASCII case for the letters of a wire name. */
export function mixCase(wire: string, rnd: () => number): string {
  let s = '';
  for (let i = 0; i < wire.length; i++) {
    const c = wire.charCodeAt(i);
    s += c >= 0x61 && c <= 0x7a && rnd() < 0.5 ? String.fromCharCode(c - 32) : wire[i];
  }
  return s;
}
