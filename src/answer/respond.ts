/**
 * From query bytes to response bytes: header checks, EDNS, the answer algorithm, encoding
 * with truncation, and a cache of encoded responses for the hot path.
 *
 * Order of checks (each answered as NSD and Knot do): too short or a response → drop;
 * malformed → FORMERR; opcode other than QUERY → NOTIMP; QDCOUNT ≠ 1 → FORMERR; EDNS
 * version > 0 → BADVERS; class CH → server identity and version (chaos.ts, RFC 4892); other
 * classes than IN → REFUSED; zone transfers → NOTIMP/REFUSED (until transfers exist); then the
 * answer algorithm (answer.ts).
 * @module
 */
import {
  CLASSIC_UDP_SIZE,
  DEFAULT_EDNS_SIZE,
  EDNS_DO,
  EdeCode,
  EdnsOption,
  Flag,
  Opcode,
  Rcode,
  RRClass,
  RRType,
} from '../wire/constants.js';
import { decodeMessage } from '../wire/decode.js';
import { buildEdeOption, buildNsidOption, findEdnsOption, optLength } from '../wire/edns.js';
import { MessageWriter, Section } from '../wire/encode.js';
import { WireFormatError } from '../wire/errors.js';
import { type Edns, type EdnsOptionData, type Message, opcodeOf, type Question } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import type { RRset, Zone } from '../zone/zone.js';
import {
  type AnswerKind,
  type AnswerOptions,
  answerQuery,
  isAuthoritative,
  AnswerKind as Kind,
  rcodeOfKind,
} from './answer.js';
import { type Catalog, diffCatalogs } from './catalog.js';
import { ChaosTable } from './chaos.js';
import {
  buildQueryKey,
  type CacheStamp,
  patchResponse,
  patchResponseInPlace,
  ResponseCache,
  type ResponseCacheOptions,
  ZoneStamps,
} from './response-cache.js';

/** Where a query came from. */
export interface QueryContext {
  transport: 'udp' | 'tcp';
  /** Source address and port, when known. */
  address?: string;
  port?: number;
}

/** Responder options. */
export interface ResponderOptions {
  /** EDNS UDP payload size we advertise and cap responses at (default 1232). */
  ednsSize?: number;
  /** RFC 5001 NSID payload returned when a client asks for it; off when undefined. */
  nsid?: Uint8Array;
  /** Bounds of each response cache (one for UDP, one for TCP), or false for no cache. */
  cache?: ResponseCacheOptions | false;
  /** Options of the answer algorithm. */
  answer?: AnswerOptions;
  /**
   * RFC 4892 server identity: the TXT answer to CH `id.server.` and `hostname.bind.`;
   * those names are refused when undefined or empty.
   */
  identity?: string;
  /** The TXT answer to CH `version.server.` and `version.bind.`; refused when undefined or empty. */
  version?: string;
}

/** RFC 1035 §4.1.1 */
const HEADER_LENGTH = 12;
/** RFC 1035 §4.2.2: a TCP message is at most 65535 octets. */
const TCP_MAX = 65535;
/** RFC 768 over IPv4 (RFC 791): one datagram carries at most 65535 − 20 − 8 octets of payload. */
const UDP_MAX = 65507;
/** Flags a response copies from the query: RD (RFC 1035 §4.1.1) and CD (RFC 4035 §3: a security-aware server MUST copy it). */
const COPIED_FLAGS = Flag.RD | Flag.CD;

/** A built response, whether it may be cached (and in which partition), and its stamps. */
interface Built {
  bytes: Uint8Array;
  cacheable: boolean;
  negative: boolean;
  /** What the response was built from (none: no zone data, valid until the options change). */
  stamps?: readonly CacheStamp[];
}

/**
 * Answers queries from a catalog. `setCatalog` swaps zones atomically; cached responses stay
 * valid unless built from a zone that changed (see `setCatalog`).
 */
export class Responder {
  #catalog: Catalog;
  readonly #ednsSize: number;
  readonly #nsid: Uint8Array | undefined;
  readonly #answerOpts: AnswerOptions;
  readonly #chaos: ChaosTable;
  readonly #udpCache: ResponseCache | undefined;
  readonly #tcpCache: ResponseCache | undefined;
  /** What cached responses depend on; shared by both caches. */
  readonly #stamps: ZoneStamps | undefined;

  constructor(catalog: Catalog, opts: ResponderOptions = {}) {
    this.#catalog = catalog;
    // RFC 6891 §6.2.5: sizes below 512 are treated as 512.
    this.#ednsSize = Math.min(TCP_MAX, Math.max(CLASSIC_UDP_SIZE, opts.ednsSize ?? DEFAULT_EDNS_SIZE));
    this.#nsid = opts.nsid;
    this.#answerOpts = opts.answer ?? {};
    this.#chaos = new ChaosTable({ identity: opts.identity, version: opts.version });
    if (opts.cache !== false) {
      this.#udpCache = new ResponseCache(opts.cache);
      this.#tcpCache = new ResponseCache(opts.cache);
      this.#stamps = new ZoneStamps();
    }
  }

  /**
   * Swaps in a new set of zones: the next query is answered from `catalog` (one assignment,
   * so a query sees the old zones or the new ones, never a mix).
   *
   * Contract: zones are compared by object identity. A Zone must never change once it is in
   * a catalog; to change a zone, build a new Zone and a catalog holding it. Zones that did not
   * change must be the same objects in `catalog`: their cached responses stay valid (a catalog
   * of fresh copies is still answered correctly, only with a cold cache for the copies).
   *
   * Cached responses read from a zone that was replaced or removed, from a zone a newly
   * added zone takes names from (the most specific zone wins), or REFUSED/left without data
   * for a name a newly added zone now serves, become misses on their next hit; all others
   * stay hits (`ZoneStamps` in response-cache.ts). Cost: O(changed zones) when `catalog` was
   * derived from the current one by `withZones` (as `replaceZones` does), else one pass over
   * both catalogs.
   */
  setCatalog(catalog: Catalog): void {
    const before = this.#catalog;
    this.#catalog = catalog;
    this.#stamps?.applyChanges(before, diffCatalogs(before, catalog));
  }

  /**
   * Serves the zones of `put` (added, or replacing those at the same origins) and stops
   * serving those at the origins of `remove`: `setCatalog(catalog.withZones(put, remove))`.
   */
  replaceZones(put: Iterable<Zone>, remove: Iterable<Name> = []): void {
    this.setCatalog(this.#catalog.withZones(put, remove));
  }

  /** Counters and sizes of the response caches (for metrics); undefined when caching is off. */
  cacheStats(): { udp: CacheStats; tcp: CacheStats } | undefined {
    if (this.#udpCache === undefined || this.#tcpCache === undefined) return undefined;
    return { udp: statsOf(this.#udpCache), tcp: statsOf(this.#tcpCache) };
  }

  /** The current catalog. */
  get catalog(): Catalog {
    return this.#catalog;
  }

  /**
   * Returns the response to `query`, or null when nothing must be sent (a response packet,
   * or input too broken to answer even with FORMERR). Never throws.
   */
  respond(query: Uint8Array, ctx: QueryContext): Uint8Array | null {
    // RFC 1035 §4.1.1: without a whole header there is no ID to answer to; a message with
    // QR=1 is a response, and answering it could start a loop between two servers.
    if (query.length < HEADER_LENGTH || (query[2] & 0x80) !== 0) return null;
    try {
      const cache = ctx.transport === 'tcp' ? this.#tcpCache : this.#udpCache;
      const qk = cache !== undefined ? buildQueryKey(query) : undefined;
      if (qk !== undefined) {
        const hit = cache!.get(qk.key);
        if (hit !== undefined) return patchResponse(hit, query, qk.qnameLength);
      }
      const built = this.#build(query, ctx, qk !== undefined);
      if (qk !== undefined && built.cacheable) {
        // Built with the case-folded question name: store a copy, then give this query its
        // own spelling back (the cache patches it the same way on every hit).
        cache!.set(qk.key, built.bytes.slice(), built.negative, built.stamps);
        patchResponseInPlace(built.bytes, query, qk.qnameLength);
      }
      return built.bytes;
    } catch {
      // Only a bug gets here (the decoder reports malformed input as WireFormatError):
      // SERVFAIL keeps the client from waiting for a timeout.
      return headerOnly(query, Rcode.SERVFAIL);
    }
  }

  /**
   * The uncached path. `folded`: the question is at offset 12 and must be answered
   * case-folded, and the response will be cached if it may (so its stamps are wanted).
   */
  #build(query: Uint8Array, ctx: QueryContext, folded: boolean): Built {
    let msg: Message;
    try {
      msg = decodeMessage(query);
    } catch (err) {
      if (!(err instanceof WireFormatError)) throw err;
      // RFC 1035 §4.1.1: FORMERR, echoing what can be trusted (ID, opcode, a question).
      return uncached(formErr(query));
    }
    const edns = msg.edns;
    const opcode = opcodeOf(msg.flags);
    const base = Flag.QR | (opcode << 11) | (msg.flags & COPIED_FLAGS);
    const q = msg.questions.length === 1 ? msg.questions[0] : undefined;
    // RFC 1035 §4.1.1 NOTIMP; NOTIFY (RFC 1996) and UPDATE (RFC 2136) come later.
    if (opcode !== Opcode.QUERY) return uncached(this.#short(msg, base | Rcode.NOTIMP, q, []));
    if (!q) return uncached(this.#short(msg, base | Rcode.FORMERR, undefined, []));
    // RFC 6891 §6.1.3: a version we do not implement gets BADVERS, OPT version 0, no answer.
    if (edns !== undefined && edns.version > 0)
      return { bytes: this.#short(msg, base, q, [], Rcode.BADVERS), cacheable: true, negative: true };
    // RFC 4892: the CHAOS class holds only the server's identity and version.
    if (q.class === RRClass.CH) return this.#answerChaos(msg, base, q, ctx, folded);
    // Zones are IN: other classes are not served.
    if (q.class !== RRClass.IN) return negative(this.#short(msg, base | Rcode.REFUSED, q, []));
    if (q.type === RRType.AXFR || q.type === RRType.IXFR) {
      // RFC 5936 §4.2: AXFR is TCP only; NSD and Knot answer it over UDP with NOTIMP. Until
      // transfers are implemented, refuse them over TCP (NSD without a provide-xfr ACL), and
      // IXFR over UDP as NSD does.
      const notimp = q.type === RRType.AXFR && ctx.transport === 'udp';
      const rcode = notimp ? Rcode.NOTIMP : Rcode.REFUSED;
      const ede = notimp ? [] : [buildEdeOption(EdeCode.PROHIBITED)];
      return negative(this.#short(msg, base | rcode, q, ede));
    }
    const qname = folded ? q.name.toLowerCase() : q.name;
    const question: Question = folded ? { name: qname, type: q.type, class: q.class } : q;
    const result = answerQuery(this.#catalog, qname, q.type, this.#answerOpts);
    let flags = base | rcodeOfKind(result.kind);
    if (isAuthoritative(result)) flags |= Flag.AA;
    const options: EdnsOptionData[] = [];
    // RFC 8914 §4.21: say why we refuse: the name is in no zone we serve.
    if (result.kind === Kind.REFUSED) options.push(buildEdeOption(EdeCode.NOT_AUTHORITATIVE));
    const limit = this.#sizeLimit(edns, ctx);
    const opt = this.#responseOpt(edns, options, 0);
    const bytes =
      encodeAnswer(msg.id, flags, question, result, opt, limit) ??
      // RFC 2181 §9, RFC 9471 §3: required data did not fit: TC with question and OPT only.
      encodeShort(msg.id, flags | Flag.TC, question, opt);
    if (!folded || this.#stamps === undefined) return { bytes, cacheable: false, negative: false };
    const stamps = this.#stamps.stampsOf(result.zones, result.absent);
    return { bytes, cacheable: stamps !== undefined, negative: isNegative(result.kind), stamps };
  }

  /**
   * A CH question (chaos.ts): one TXT record with TTL 0 and AA clear, as NSD and Knot answer
   * (the data is no zone's), or REFUSED with an EDE. A function of the question and the
   * options only, so it is cached without stamps.
   */
  #answerChaos(msg: Message, base: number, q: Question, ctx: QueryContext, folded: boolean): Built {
    const c = this.#chaos.answer(q.name, q.type);
    // RFC 8914 §4.19/§4.22: say why (switched off: Prohibited; anything else: Not Supported).
    if (c.kind === 'refused')
      return negative(this.#short(msg, base | Rcode.REFUSED, q, [buildEdeOption(c.ede)]));
    const question: Question = folded ? { name: q.name.toLowerCase(), type: q.type, class: q.class } : q;
    // Owner = QNAME: it compresses to the question, so the query's spelling carries to it.
    const txt: RRset = { name: question.name, type: RRType.TXT, class: RRClass.CH, ttl: 0, rdata: [c.rdata] };
    const opt = this.#responseOpt(msg.edns, [], 0);
    const bytes =
      encodeAnswer(
        msg.id,
        base,
        question,
        { answer: [txt], authority: [], glue: [], additional: [] },
        opt,
        this.#sizeLimit(msg.edns, ctx),
      ) ?? encodeShort(msg.id, base | Flag.TC, question, opt);
    return { bytes, cacheable: true, negative: false };
  }

  /** A response without records: question (when given) and OPT (when the query had one). */
  #short(
    msg: Message,
    flags: number,
    q: Question | undefined,
    options: EdnsOptionData[],
    extendedRcode = 0,
  ): Uint8Array {
    const rcodeLow = extendedRcode & 0xf;
    const opt = this.#responseOpt(msg.edns, options, extendedRcode >> 4);
    return encodeShort(msg.id, flags | rcodeLow, q, opt);
  }

  /**
   * Our OPT RR for a query that had `edns` (RFC 6891 §7: only then): our UDP size, version 0,
   * DO copied (RFC 3225 §3), NSID when asked and configured (RFC 5001 §2.2), then `options`.
   */
  #responseOpt(edns: Edns | undefined, options: EdnsOptionData[], extendedRcode: number): Edns | undefined {
    if (edns === undefined) return undefined;
    const out: EdnsOptionData[] = [];
    if (this.#nsid !== undefined && findEdnsOption(edns, EdnsOption.NSID) !== undefined)
      out.push(buildNsidOption(this.#nsid));
    for (const o of options) out.push(o);
    return { udpSize: this.#ednsSize, extendedRcode, version: 0, flags: edns.flags & EDNS_DO, options: out };
  }

  /**
   * RFC 6891 §6.2.3-§6.2.5: over UDP the lesser of the client's size (at least 512) and ours;
   * 512 without EDNS (RFC 1035 §4.2.1); over TCP the 16-bit length field's limit.
   */
  #sizeLimit(edns: Edns | undefined, ctx: QueryContext): number {
    if (ctx.transport === 'tcp') return TCP_MAX;
    if (edns === undefined) return CLASSIC_UDP_SIZE;
    // A larger response could not be sent at all (udp.ts drops it): truncate it instead.
    return Math.min(UDP_MAX, this.#ednsSize, Math.max(CLASSIC_UDP_SIZE, edns.udpSize));
  }
}

/** What one response cache holds and how it has been used. */
export interface CacheStats {
  entries: number;
  bytes: number;
  hits: number;
  /** Lookups that found nothing valid (stale ones included). */
  misses: number;
  /** Lookups that found a response built from zones changed since (counted as misses too). */
  stale: number;
}

function statsOf(c: ResponseCache): CacheStats {
  return { entries: c.size, bytes: c.bytes, hits: c.hits, misses: c.misses, stale: c.stale };
}

function uncached(bytes: Uint8Array): Built {
  return { bytes, cacheable: false, negative: true };
}

function negative(bytes: Uint8Array): Built {
  return { bytes, cacheable: true, negative: true };
}

/** Answers that a flood of random names produces: kept in the cache's smaller partition. */
function isNegative(kind: AnswerKind): boolean {
  return kind === Kind.NXDOMAIN || kind === Kind.REFUSED;
}

/**
 * Encodes a full answer within `limit`, or returns undefined when the answer, authority or
 * in-domain glue does not fit (the caller truncates). Optional additional data that does not
 * fit is left out without TC (RFC 2181 §9).
 */
function encodeAnswer(
  id: number,
  flags: number,
  q: Question,
  result: { answer: RRset[]; authority: RRset[]; glue: RRset[]; additional: RRset[] },
  opt: Edns | undefined,
  limit: number,
): Uint8Array | undefined {
  const w = new MessageWriter(limit);
  w.header(id, flags);
  if (!w.question(q)) return undefined;
  const optSize = opt !== undefined ? optLength(opt) : 0;
  w.reserve(optSize);
  if (!writeAll(w, Section.Answer, result.answer)) return undefined;
  if (!writeAll(w, Section.Authority, result.authority)) return undefined;
  if (!writeAll(w, Section.Additional, result.glue)) return undefined;
  const extra = result.additional;
  for (let i = 0; i < extra.length; i++) {
    const s = extra[i];
    w.rrset(Section.Additional, s.name, s.type, s.class, s.ttl, s.rdata);
  }
  if (opt !== undefined) w.opt(opt);
  return w.finish();
}

function writeAll(w: MessageWriter, section: Section, sets: RRset[]): boolean {
  for (let i = 0; i < sets.length; i++) {
    const s = sets[i];
    if (!w.rrset(section, s.name, s.type, s.class, s.ttl, s.rdata)) return false;
  }
  return true;
}

/** Header, optional question, optional OPT: small enough for any limit. */
function encodeShort(id: number, flags: number, q: Question | undefined, opt: Edns | undefined): Uint8Array {
  const w = new MessageWriter(TCP_MAX);
  w.header(id, flags);
  if (q !== undefined) w.question(q);
  if (opt !== undefined) w.opt(opt);
  return w.finish();
}

/**
 * FORMERR for a query that did not decode: ID, opcode and RD of the query, and its question
 * when there is exactly one and its name is a plain uncompressed name followed by TYPE and
 * CLASS (copied as received); otherwise the header alone.
 */
function formErr(query: Uint8Array): Uint8Array {
  const qdcount = (query[4] << 8) | query[5];
  let end = -1;
  if (qdcount === 1) {
    let i = HEADER_LENGTH;
    while (i < query.length && query[i] !== 0 && query[i] <= 63) i += query[i] + 1;
    if (i < query.length && query[i] === 0 && i + 5 <= query.length && i + 1 - HEADER_LENGTH <= 255)
      end = i + 5;
  }
  if (end < 0) return headerOnly(query, Rcode.FORMERR);
  const out = new Uint8Array(end);
  out.set(query.subarray(0, end), 0);
  writeErrorHeader(out, query, Rcode.FORMERR, 1);
  return out;
}

/** A 12-octet response: the query's ID, opcode and RD/CD, QR set, `rcode`, no records. */
function headerOnly(query: Uint8Array, rcode: number): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH);
  writeErrorHeader(out, query, rcode, 0);
  return out;
}

function writeErrorHeader(out: Uint8Array, query: Uint8Array, rcode: number, qdcount: number): void {
  out[0] = query[0];
  out[1] = query[1];
  // QR, the query's opcode and RD; AA, TC cleared.
  out[2] = 0x80 | (query[2] & 0x79);
  // RA, Z, AD cleared; CD copied; the RCODE.
  out[3] = (query[3] & 0x10) | (rcode & 0xf);
  out[4] = 0;
  out[5] = qdcount;
  for (let i = 6; i < HEADER_LENGTH; i++) out[i] = 0;
}
