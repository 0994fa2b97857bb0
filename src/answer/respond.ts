/**
 * From query bytes to response bytes: header checks, EDNS, the answer algorithm, encoding
 * with truncation, and a cache of encoded responses for the hot path.
 *
 * Order of checks (each answered as NSD and Knot do): too short or a response → drop;
 * malformed → FORMERR; opcode other than QUERY → NOTIMP; QDCOUNT ≠ 1 → FORMERR; EDNS
 * version > 0 → BADVERS; class CH → server identity and version (chaos.ts, RFC 4892); other
 * classes than IN → REFUSED; zone transfers → NOTIMP/REFUSED (until transfers exist); then the
 * answer algorithm (answer.ts).
 *
 * The miss path: a query of the common layout (one uncompressed question, at most an OPT) is
 * pre-parsed in place (`QueryView`) instead of decoded; NXDOMAIN, NODATA and REFUSED answers
 * are copied from precomputed octets (negative-tail.ts) and answers of one RRset without
 * compressible RDATA names are written directly, instead of encoded; other answers are
 * encoded from the pre-parsed fields, and other queries take the full decode path. Every
 * answer is the same octets either way (miss-path.test.ts).
 * The cache admits a response only when its key was already seen (`ResponseCache.admit`).
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
import { MessageWriter, Section, writeTypeClassTtl } from '../wire/encode.js';
import { WireFormatError } from '../wire/errors.js';
import { type Edns, type EdnsOptionData, type Message, opcodeOf, type Question } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { QueryView } from '../wire/query-view.js';
import type { RRset, ServedZone } from '../zone/zone.js';
import {
  type AnswerKind,
  type AnswerOptions,
  answerQuery,
  type DnssecMode,
  isAuthoritative,
  AnswerKind as Kind,
  rcodeOfKind,
} from './answer.js';
import { type Catalog, diffCatalogs } from './catalog.js';
import { ChaosTable } from './chaos.js';
import { isSignedZone } from './dnssec.js';
import { type NegativeTail, negativeTail } from './negative-tail.js';
import {
  type CacheStamp,
  patchResponseInPlace,
  QueryKey,
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
  /**
   * The miss path's pre-parse, precomputed negative answers and directly written answers
   * (default true); false: every miss decodes the whole message and encodes its answer (the
   * same octets, only slower).
   */
  fastPath?: boolean;
  /**
   * Zones read from images (`ImageZone`): whether their template answers go through the
   * response cache like any other answer ('cache', default: looked up first, stored when the
   * key repeats) or skip it ('skip': the template is copied before any cache lookup and never
   * stored). Fallbacks to the engine are cached either way. docs/ANSWER.md has the figures.
   */
  imageAnswers?: 'cache' | 'skip';
}

/** RFC 1035 §4.1.1 */
const HEADER_LENGTH = 12;
/** Image answers whose size limit is at most this (UDP under our default EDNS size) and UDP cache hits this long are written in a slab. */
const SLAB_ANSWER_MAX = 4096;
/** Octets of one slab: a few hundred typical answers. */
const SLAB_SIZE = 64 * 1024;
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
  /** Octets of a case-folded question name to give the query's spelling back (undefined: as received). */
  folded?: number;
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
  /** The miss path's pre-parse (undefined when `fastPath` is false); reused for every query. */
  readonly #view: QueryView | undefined;
  /** The cache key of the query being answered; reused for every query. */
  readonly #key = new QueryKey();
  /** OPT option lists of the miss path: with NSID when configured, with EDE 20 for REFUSED. */
  readonly #optPlain: EdnsOptionData[];
  readonly #optNsid: EdnsOptionData[];
  readonly #optRefused: EdnsOptionData[];
  readonly #optNsidRefused: EdnsOptionData[];
  /** Our NSID option as octets (code, length, payload) for image answers; undefined when off. */
  readonly #nsidTlv: Uint8Array | undefined;
  /** Where image answers whose size limit exceeds `SLAB_ANSWER_MAX` (TCP) are written before being copied out. */
  #imageOut: Buffer | undefined;
  /**
   * Where image answers of at most `SLAB_ANSWER_MAX` octets and UDP cache hits are written and
   * handed out in place (an image answer without a copy): each answer takes the next octets of
   * the slab, which are never written again (a full slab is replaced, as Node's Buffer pool
   * is), so an answer still being sent keeps its octets.
   */
  #slab: ArrayBuffer | undefined;
  #slabAt = 0;
  /** The slab as words (for cache hits, copied a word at a time). */
  #slabWords: Int32Array | undefined;
  /** Queries answered from zone images (template copies), for metrics and tests. */
  imageAnswers = 0;
  /** Queries an image handed back to the engine, by reason (src/image/format.ts `Fallback` values, at most 31). */
  readonly imageFallbacks: number[] = new Array(32).fill(0);
  /** `imageAnswers === 'cache'`. */
  readonly #cacheImages: boolean;
  /** The zone the last `#fromImage` answered from, and whether a DS lookup found no parent. */
  #imageZone: ServedZone | undefined;
  #imageAbsent = false;

  constructor(catalog: Catalog, opts: ResponderOptions = {}) {
    this.#catalog = catalog;
    // RFC 6891 §6.2.5: sizes below 512 are treated as 512.
    this.#ednsSize = Math.min(TCP_MAX, Math.max(CLASSIC_UDP_SIZE, opts.ednsSize ?? DEFAULT_EDNS_SIZE));
    this.#nsid = opts.nsid;
    this.#answerOpts = opts.answer ?? {};
    this.#chaos = new ChaosTable({ identity: opts.identity, version: opts.version });
    if (opts.fastPath !== false) this.#view = new QueryView();
    const nsid = this.#nsid !== undefined ? [buildNsidOption(this.#nsid)] : [];
    const ede = buildEdeOption(EdeCode.NOT_AUTHORITATIVE);
    this.#optPlain = [];
    this.#optNsid = nsid;
    this.#optRefused = [ede];
    this.#optNsidRefused = [...nsid, ede];
    this.#cacheImages = opts.imageAnswers !== 'skip';
    if (this.#nsid !== undefined) {
      const tlv = new Uint8Array(4 + this.#nsid.length);
      tlv[1] = EdnsOption.NSID;
      tlv[2] = this.#nsid.length >> 8;
      tlv[3] = this.#nsid.length & 0xff;
      tlv.set(this.#nsid, 4);
      this.#nsidTlv = tlv;
    }
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
    if (this.#stamps === undefined) return;
    // From no zones (a worker's first catalog): every change is an addition enclosed by no zone,
    // which kills only the stamp of lookups that found no zone — once, not once per zone (a
    // first catalog of 100,000 zones took 25–35 ms to diff against the empty one).
    if (before.size === 0) this.#stamps.killNowhere();
    else this.#stamps.applyChanges(before, diffCatalogs(before, catalog));
  }

  /**
   * Serves the zones of `put` (added, or replacing those at the same origins) and stops
   * serving those at the origins of `remove`: `setCatalog(catalog.withZones(put, remove))`.
   */
  replaceZones(put: Iterable<ServedZone>, remove: Iterable<Name> = []): void {
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
      const view = this.#view;
      // Zones read from images: the template answer is copied (`#fromImage`) after the cache
      // lookup and stored like any answer, or ('skip') before the cache and never stored. A
      // fallback goes on to the engine below.
      const images = view !== undefined && this.#catalog.imageCount > 0;
      let parsed: boolean | undefined;
      if (images && !this.#cacheImages) {
        parsed = view.parse(query);
        if (parsed) {
          const bytes = this.#fromImage(query, ctx, view);
          if (bytes !== undefined) return bytes;
        }
      }
      const cache = ctx.transport === 'tcp' ? this.#tcpCache : this.#udpCache;
      const qk = cache !== undefined && this.#key.build(query) ? this.#key : undefined;
      if (qk !== undefined && cache!.lookup(qk)) {
        // A query spelled as stored (no A-Z in its name, the common case) needs no name patch.
        const patch = qk.mixedCase ? qk.qnameLength : 0;
        // UDP answers leave at once: they may share a slab; a TCP one may wait in a write queue.
        return ctx.transport === 'udp'
          ? this.#patchHit(cache!, query, patch)
          : patchHitCopy(cache!, query, patch);
      }
      // Admission: a response is stored only when its key missed before (random names are
      // asked once: they never enter the cache, so they never evict what repeats).
      const admit = qk !== undefined && cache!.admit(qk);
      if (images && this.#cacheImages) {
        parsed = view.parse(query);
        const bytes = parsed ? this.#fromImage(query, ctx, view) : undefined;
        if (bytes !== undefined) {
          if (admit && this.#stamps !== undefined) {
            const stamps = this.#stamps.stampsOf(
              [this.#imageZone!],
              this.#imageAbsent ? ABSENT_PARENT : NO_NAMES,
            );
            // Stored case-folded; NXDOMAIN answers go to the negative partition (as `isNegative`).
            if (stamps !== undefined)
              cache!.set(qk, bytes, (bytes[3] & 0xf) === Rcode.NXDOMAIN, stamps, qk.qnameLength);
          }
          return bytes;
        }
      }
      if (view !== undefined && parsed === undefined) parsed = view.parse(query);
      const built =
        (parsed === true ? this.#fastBuild(query, ctx, view!, qk !== undefined, admit) : undefined) ??
        this.#build(query, ctx, qk !== undefined, admit);
      if (qk !== undefined && admit && built.cacheable) {
        // Stored (a copy) with the case-folded question name (the cache patches the query's
        // spelling in on every hit, as below).
        const fold = built.folded === undefined ? qk.qnameLength : 0;
        cache!.set(qk, built.bytes, built.negative, built.stamps, fold);
      }
      // Built with the case-folded question name: give this query its own spelling back.
      if (built.folded !== undefined) patchResponseInPlace(built.bytes, query, built.folded);
      return built.bytes;
    } catch {
      // Only a bug gets here (the decoder reports malformed input as WireFormatError):
      // SERVFAIL keeps the client from waiting for a timeout.
      return headerOnly(query, Rcode.SERVFAIL);
    }
  }

  /**
   * The miss path for a query `view` parsed (see the module comment), or undefined when the
   * full path must answer it (other classes, transfers, EDNS version > 0, or an answer the
   * precomputed octets do not cover and that needs the decoded message). `folded`: the query
   * has a cache key (then the question is answered case-folded, as `#build` does);
   * `wantStamps` as for `#build`.
   */
  #fastBuild(
    query: Uint8Array,
    ctx: QueryContext,
    view: QueryView,
    folded: boolean,
    wantStamps: boolean,
  ): Built | undefined {
    const qtype = view.qtype;
    if (view.qclass !== RRClass.IN || qtype === RRType.AXFR || qtype === RRType.IXFR) return undefined;
    if (view.edns && view.version > 0) return undefined;
    // As the full path: the folded name when the response may be cached (it is patched with
    // the query's spelling), else the name as spelled (a DNAME-synthesized target keeps it).
    const qname = Name.fromWire(folded ? view.foldedWire() : latin1(query, HEADER_LENGTH, view.qnameLength));
    // RFC 3225 §3: DNSSEC records only for a query that set DO.
    const dnssec = view.edns && (view.ednsFlags & EDNS_DO) !== 0 ? DNSSEC_DO : DNSSEC_PLAIN;
    const result = answerQuery(this.#catalog, qname, qtype, this.#answerOpts, dnssec);
    const kind = result.kind;
    const id = (query[0] << 8) | query[1];
    const base = Flag.QR | (((query[2] << 8) | query[3]) & COPIED_FLAGS);
    const limit = this.#limitOf(view.edns, view.udpSize, ctx);
    let bytes: Uint8Array | undefined;
    let patch: number | undefined;
    if (kind === Kind.REFUSED) {
      const options = this.#fastOptions(view, true);
      bytes = fromView(query, view, base | Rcode.REFUSED, null, null, options, this.#ednsSize, limit);
    } else if (kind === Kind.HIT) {
      // One RRset owned by the question name, of a type whose RDATA holds no compressible
      // name, and nothing else: owners are pointers to the question, RDATA is copied.
      const set = result.answer.length === 1 ? result.answer[0] : undefined;
      if (
        set !== undefined &&
        result.authority.length === 0 &&
        result.glue.length === 0 &&
        result.additional.length === 0 &&
        !COMPRESSED_RDATA.has(set.type) &&
        set.name.key === qname.key &&
        // The root owner is its one zero octet, never a pointer (the encoder's rule).
        view.qnameLength > 1
      ) {
        const options = this.#fastOptions(view, false);
        bytes = fromView(query, view, base | Flag.AA, null, set, options, this.#ednsSize, limit);
      }
    } else if (
      (kind === Kind.NXDOMAIN || kind === Kind.NODATA) &&
      result.answer.length === 0 &&
      result.authority.length === 1 &&
      result.glue.length === 0 &&
      result.additional.length === 0
    ) {
      const zone = result.zone!;
      const soa = result.authority[0];
      if (soa.type === RRType.SOA && soa.rdata === zone.soa.rdata) {
        // An image zone's negative answers are its image's templates: the few that fall back
        // (suffix collisions, mostly, which the tail refuses too) are encoded, the same octets,
        // and no second copy of the SOA tail is kept per image zone.
        const tail = zone.respondFromTemplate === undefined ? negativeTail(zone) : null;
        if (tail?.fits(view.folded, view.qnameLength, view.labelCount)) {
          const flags = base | Flag.AA | rcodeOfKind(kind);
          const options = this.#fastOptions(view, false);
          bytes = fromView(query, view, flags, tail, null, options, this.#ednsSize, limit);
        }
      }
    }
    if (bytes === undefined) {
      // Anything else: encoded as on the full path, from the pre-parsed fields.
      let flags = base | rcodeOfKind(kind);
      if (isAuthoritative(result)) flags |= Flag.AA;
      const opt: Edns | undefined = view.edns
        ? {
            udpSize: this.#ednsSize,
            extendedRcode: 0,
            version: 0,
            flags: view.ednsFlags & EDNS_DO,
            options: this.#fastOptions(view, kind === Kind.REFUSED),
          }
        : undefined;
      const question: Question = { name: qname, type: qtype, class: view.qclass };
      bytes =
        encodeAnswer(id, flags, question, result, opt, limit) ??
        encodeShort(id, flags | Flag.TC, question, opt);
      if (folded) patch = view.qnameLength;
    }
    if (!wantStamps || this.#stamps === undefined)
      return { bytes, cacheable: false, negative: false, folded: patch };
    const stamps = this.#stamps.stampsOf(result.zones, result.absent);
    return { bytes, cacheable: stamps !== undefined, negative: isNegative(kind), stamps, folded: patch };
  }

  /**
   * The answer copied from the image of the query's zone (reader.ts `respondFromImage`), or
   * undefined when that zone is not an ImageZone or its image hands the query back (the
   * caller answers with the engine: same octets, format.ts `Fallback` says why).
   */
  #fromImage(query: Uint8Array, ctx: QueryContext, view: QueryView): Uint8Array | undefined {
    const qtype = view.qtype;
    if (view.qclass !== RRClass.IN || (view.edns && view.version > 0)) return undefined;
    // The zone answer.ts would pick: for DS, the parent's side of a served child's apex.
    let zone: ServedZone | undefined;
    let absent = false;
    if (qtype === RRType.DS && view.qnameLength > 1) {
      const key = view.foldedWire();
      zone = this.#catalog.findKey(key.slice(key.charCodeAt(0) + 1));
      if (zone === undefined) {
        absent = true;
        zone = this.#catalog.findKey(key);
      }
    } else zone = this.#catalog.findFolded(view.folded, view.qnameLength, view.labelCount);
    if (zone?.respondFromTemplate === undefined) return undefined;
    // A signed zone's image holds the answers without DNSSEC: DO queries go to the engine, and
    // RRSIG queries (answered per type covered, dnssec.ts `rrsigAnswer`).
    if (((view.edns && (view.ednsFlags & EDNS_DO) !== 0) || qtype === RRType.RRSIG) && isSignedZone(zone))
      return undefined;
    this.#imageZone = zone;
    this.#imageAbsent = absent;
    // An answer is never longer than the limit (the question and OPT alone always fit in 512).
    const limit = this.#limitOf(view.edns, view.udpSize, ctx);
    if (limit <= SLAB_ANSWER_MAX) {
      // Made on the first image answer: a Responder over Zones only never holds one.
      let slab = this.#slab;
      if (slab === undefined || slab.byteLength - this.#slabAt < limit) {
        slab = this.#slab = new ArrayBuffer(SLAB_SIZE);
        this.#slabWords = new Int32Array(slab);
        this.#slabAt = 0;
      }
      const at = this.#slabAt;
      const n = zone.respondFromTemplate(
        query,
        view,
        limit,
        this.#ednsSize,
        this.#nsidTlv,
        new Uint8Array(slab, at, slab.byteLength - at),
      );
      if (n < 0) {
        this.imageFallbacks[-n & 31]++;
        return undefined;
      }
      this.imageAnswers++;
      // 4-aligned for the next answer (cache hits are copied a word at a time).
      this.#slabAt = (at + n + 3) & ~3;
      return new Uint8Array(slab, at, n);
    }
    this.#imageOut ??= Buffer.allocUnsafeSlow(TCP_MAX);
    const out = this.#imageOut;
    const n = zone.respondFromTemplate(query, view, limit, this.#ednsSize, this.#nsidTlv, out);
    if (n < 0) {
      this.imageFallbacks[-n & 31]++;
      return undefined;
    }
    this.imageAnswers++;
    // From Node's pool, seen as a plain Uint8Array as `MessageWriter.finish` returns.
    const pooled = Buffer.allocUnsafe(n);
    out.copy(pooled, 0, 0, n);
    return new Uint8Array(pooled.buffer, pooled.byteOffset, n);
  }

  /**
   * The response `cache.lookup` found, written into the slab (see `#slab`; a view of it costs
   * less than `Buffer.allocUnsafe`) and patched as `patchResponse` does.
   */
  #patchHit(cache: ResponseCache, query: Uint8Array, qnameLength: number): Uint8Array {
    const n = cache.hitLength;
    if (n > SLAB_ANSWER_MAX) return patchHitCopy(cache, query, qnameLength);
    // Whole words: the cached octets start 4-aligned in the arena, and so does each slab answer.
    const words = (n + 3) >> 2;
    let slab = this.#slab;
    let at = this.#slabAt;
    if (slab === undefined || slab.byteLength - at < words << 2) {
      slab = this.#slab = new ArrayBuffer(SLAB_SIZE);
      this.#slabWords = new Int32Array(slab);
      at = 0;
    }
    this.#slabAt = at + (words << 2);
    const dst = this.#slabWords!;
    const src = cache.hitWords;
    const from = cache.hitStart >> 2;
    const to = at >> 2;
    for (let i = 0; i < words; i++) dst[to + i] = src[from + i];
    const out = new Uint8Array(slab, at, n);
    patchResponseInPlace(out, query, qnameLength);
    return out;
  }

  /** The options of our OPT on the miss path (as `#responseOpt`: NSID when asked, then EDE). */
  #fastOptions(view: QueryView, refused: boolean): EdnsOptionData[] {
    if (view.nsid && this.#nsid !== undefined) return refused ? this.#optNsidRefused : this.#optNsid;
    return refused ? this.#optRefused : this.#optPlain;
  }

  /** `#sizeLimit` for the pre-parsed fields. */
  #limitOf(edns: boolean, udpSize: number, ctx: QueryContext): number {
    if (ctx.transport === 'tcp') return TCP_MAX;
    if (!edns) return CLASSIC_UDP_SIZE;
    return Math.min(UDP_MAX, this.#ednsSize, Math.max(CLASSIC_UDP_SIZE, udpSize));
  }

  /**
   * The full path. `folded`: the question is at offset 12 and must be answered case-folded;
   * `wantStamps`: the response will be cached if it may (so its stamps are wanted).
   */
  #build(query: Uint8Array, ctx: QueryContext, folded: boolean, wantStamps: boolean): Built {
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
    const dnssec = edns !== undefined && (edns.flags & EDNS_DO) !== 0 ? DNSSEC_DO : DNSSEC_PLAIN;
    const result = answerQuery(this.#catalog, qname, q.type, this.#answerOpts, dnssec);
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
    const patch = folded ? qname.length : undefined;
    if (!wantStamps || this.#stamps === undefined)
      return { bytes, cacheable: false, negative: false, folded: patch };
    const stamps = this.#stamps.stampsOf(result.zones, result.absent);
    return {
      bytes,
      cacheable: stamps !== undefined,
      negative: isNegative(result.kind),
      stamps,
      folded: patch,
    };
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
    const patch = folded ? q.name.length : undefined;
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
    return { bytes, cacheable: true, negative: false, folded: patch };
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

/**
 * Types whose RDATA names the encoder compresses (RFC 3597 §4, `compressibleNameOffsets`): an
 * answer of these is left to the encoder, other RDATA is copied as it is.
 */
const COMPRESSED_RDATA = new Set<number>([
  RRType.NS,
  RRType.MD,
  RRType.MF,
  RRType.CNAME,
  RRType.SOA,
  RRType.MB,
  RRType.MG,
  RRType.MR,
  RRType.PTR,
  RRType.MINFO,
  RRType.MX,
]);

/**
 * A response of the miss path from a pre-parsed query: header (`flags`, QDCOUNT 1), the
 * question as received, then either `answer` (an RRset owned by the question name: each
 * record's owner a pointer to offset 12, its RDATA copied) or `tail` (the negative authority
 * section) or nothing, and our OPT when the query had one; undefined when it would exceed
 * `limit` (the caller then encodes, which truncates).
 */
function fromView(
  query: Uint8Array,
  view: QueryView,
  flags: number,
  tail: NegativeTail | null,
  answer: RRset | null,
  options: EdnsOptionData[],
  udpSize: number,
  limit: number,
): Uint8Array | undefined {
  const qEnd = view.questionEnd;
  let bodyLength = 0;
  if (tail !== null) bodyLength = tail.bytes.length;
  else if (answer !== null)
    for (let i = 0; i < answer.rdata.length; i++) bodyLength += 12 + answer.rdata[i].length;
  let optSize = 0;
  if (view.edns) {
    optSize = 11;
    for (let i = 0; i < options.length; i++) optSize += 4 + options[i].data.length;
  }
  const total = qEnd + bodyLength + optSize;
  if (total > limit) return undefined;
  // From Node's pool, seen as a plain Uint8Array as `MessageWriter.finish` returns.
  const pooled = Buffer.allocUnsafe(total);
  const out = new Uint8Array(pooled.buffer, pooled.byteOffset, total);
  const ancount = answer !== null ? answer.rdata.length : 0;
  out[0] = query[0];
  out[1] = query[1];
  out[2] = flags >> 8;
  out[3] = flags & 0xff;
  out[4] = 0;
  out[5] = 1;
  out[6] = ancount >> 8;
  out[7] = ancount & 0xff;
  out[8] = 0;
  out[9] = tail !== null ? 1 : 0;
  out[10] = 0;
  out[11] = view.edns ? 1 : 0;
  out.set(query.subarray(HEADER_LENGTH, qEnd), HEADER_LENGTH);
  let p = qEnd;
  if (tail !== null) {
    tail.writeAt(out, qEnd, view.qnameLength - tail.apexLength);
    p += bodyLength;
  } else if (answer !== null) {
    const { type, class: cls, ttl, rdata } = answer;
    for (let i = 0; i < rdata.length; i++) {
      const r = rdata[i];
      out[p] = 0xc0;
      out[p + 1] = HEADER_LENGTH;
      writeTypeClassTtl(out, p + 2, type, cls, ttl);
      out[p + 10] = r.length >> 8;
      out[p + 11] = r.length & 0xff;
      out.set(r, p + 12);
      p += 12 + r.length;
    }
  }
  if (view.edns) {
    // RFC 6891 §6.1.2: root owner, TYPE OPT, CLASS our size, TTL ext-RCODE 0 | version 0 | DO.
    out[p++] = 0;
    out[p++] = 0;
    out[p++] = RRType.OPT;
    out[p++] = udpSize >> 8;
    out[p++] = udpSize & 0xff;
    out[p++] = 0;
    out[p++] = 0;
    out[p++] = (view.ednsFlags & EDNS_DO) >> 8;
    out[p++] = 0;
    out[p++] = (optSize - 11) >> 8;
    out[p++] = (optSize - 11) & 0xff;
    for (let i = 0; i < options.length; i++) {
      const o = options[i];
      out[p++] = o.code >> 8;
      out[p++] = o.code & 0xff;
      out[p++] = o.data.length >> 8;
      out[p++] = o.data.length & 0xff;
      out.set(o.data, p);
      p += o.data.length;
    }
  }
  return out;
}

/** The engine's DNSSEC modes for a query with and without DO (answer.ts `DnssecMode`). */
const DNSSEC_DO: DnssecMode = { do: true };
const DNSSEC_PLAIN: DnssecMode = { do: false };

/** `absent` of an answer that found its zone (`stampsOf`). */
const NO_NAMES: readonly Name[] = [];
/**
 * `absent` of a DS answer at a zone's apex whose parent is not served: what the stamp needs is
 * only that some name found no zone (the shared "nowhere" stamp), not which.
 */
const ABSENT_PARENT: readonly Name[] = [Name.ROOT];

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

/** `length` octets of `bytes` from `start` as a latin1 string (a `Name`'s wire form). */
function latin1(bytes: Uint8Array, start: number, length: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, length).toString('latin1');
}

/** The response `cache.lookup` found, patched for `query` (`patchResponse`) in a new buffer. */
function patchHitCopy(cache: ResponseCache, query: Uint8Array, qnameLength: number): Uint8Array {
  const pooled = Buffer.allocUnsafe(cache.hitLength);
  // From Node's pool, seen as a plain Uint8Array as `MessageWriter.finish` returns.
  const out = new Uint8Array(pooled.buffer, pooled.byteOffset, cache.hitLength);
  copyHit(cache, out, query, qnameLength);
  return out;
}

/**
 * Copies the response `cache.lookup` found into `out` (its length) with the query's ID, RD
 * and CD and, for `qnameLength` octets from offset 12, its spelling (as `patchResponse`).
 * A loop, not `set`, for short answers: the octets are inside the cache's arena, and a view
 * of them would be one more object per hit.
 */
function copyHit(cache: ResponseCache, out: Uint8Array, query: Uint8Array, qnameLength: number): void {
  const src = cache.hitArena;
  const at = cache.hitStart;
  const n = out.length;
  // A long answer (TCP, mostly) is worth the view for one memmove.
  if (n > 256) out.set(src.subarray(at + HEADER_LENGTH + qnameLength, at + n), HEADER_LENGTH + qnameLength);
  else for (let i = HEADER_LENGTH + qnameLength; i < n; i++) out[i] = src[at + i];
  for (let i = HEADER_LENGTH; i < HEADER_LENGTH + qnameLength; i++) out[i] = query[i];
  for (let i = 4; i < HEADER_LENGTH; i++) out[i] = src[at + i];
  out[0] = query[0];
  out[1] = query[1];
  out[2] = (src[at + 2] & 0xfe) | (query[2] & 0x01);
  out[3] = (src[at + 3] & 0xef) | (query[3] & 0x10);
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
