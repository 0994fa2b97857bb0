/**
 * Queries for the image proofs (src/image/image.test.ts, zone-view.test.ts,
 * test/native/image-answers.test.ts): a query packet with any OPT, or in one of the
 * transport/EDNS variants they ask in, and a wire name in random ASCII case.
 * @module
 */

/** How a query is sent. */
export interface Variant {
  transport: 'udp' | 'tcp';
  edns?: { size: number; do: boolean; nsid: boolean; cookie?: boolean };
}

/** A query's OPT record: UDP size, DO, NSID asked, other options as [code, data], EDNS version. */
export interface Edns {
  size: number;
  do: boolean;
  nsid: boolean;
  options?: [number, number[]][];
  version?: number;
}

/** A query packet for `qname` (wire form, any case) with an OPT record when `e` is given. */
export function queryPacket(id: number, flags: number, qname: string, qtype: number, e?: Edns): Uint8Array {
  const opts: [number, number[]][] = e
    ? [...(e.nsid ? [[3, []] as [number, number[]]] : []), ...(e.options ?? [])]
    : [];
  const body = opts.flatMap(([code, data]) => [
    code >> 8,
    code & 0xff,
    data.length >> 8,
    data.length & 0xff,
    ...data,
  ]);
  const optLen = e ? 11 + body.length : 0;
  const out = new Uint8Array(12 + qname.length + 4 + optLen);
  out[0] = id >> 8;
  out[1] = id & 0xff;
  out[2] = flags >> 8;
  out[3] = flags & 0xff;
  out[5] = 1;
  out[11] = e ? 1 : 0;
  let p = 12;
  for (let i = 0; i < qname.length; i++) out[p++] = qname.charCodeAt(i);
  out[p++] = qtype >> 8;
  out[p++] = qtype & 0xff;
  out[p++] = 0;
  out[p++] = 1;
  if (e) {
    p += 2;
    out[p++] = 41;
    out[p++] = e.size >> 8;
    out[p++] = e.size & 0xff;
    p += 1;
    out[p++] = e.version ?? 0;
    out[p++] = e.do ? 0x80 : 0;
    p += 1;
    out[p++] = body.length >> 8;
    out[p++] = body.length & 0xff;
    out.set(body, p);
  }
  return out;
}

/** RFC 7873: a client cookie only (8 octets). */
const CLIENT_COOKIE: [number, number[]] = [10, [1, 2, 3, 4, 5, 6, 7, 8]];

/** A query packet for `qname` (wire form, any case) in variant `v`. */
export function buildQuery(id: number, flags: number, qname: string, qtype: number, v: Variant): Uint8Array {
  const e = v.edns;
  return queryPacket(
    id,
    flags,
    qname,
    qtype,
    e && { size: e.size, do: e.do, nsid: e.nsid, options: e.cookie ? [CLIENT_COOKIE] : [] },
  );
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
