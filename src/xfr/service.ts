/**
 * The DNS side of transfers: sees each query before the Responder and takes the ones that are
 * its business — AXFR and IXFR over TCP, and any query signed with TSIG (a secondary's SOA
 * check is signed with its transfer key and wants a signed answer). Everything else goes on to
 * the Responder untouched, after a few octet reads.
 *
 * A transfer: the TSIG checked against the edge keys and the keys of the zone's account
 * (acl.ts), the ACL, the concurrency limits (per source address and in total per process; edge
 * keys exempt), then a stream of messages (axfr.ts) the TCP transport writes a few per turn.
 * IXFR (RFC 1995): one SOA when the client is current (RFC 1982) or asks over UDP; the condensed
 * difference from the client's serial to the served one when the journal (journal.ts) holds
 * it; else the whole zone in AXFR form (§4).
 * @module
 */
import type { Catalog } from '../answer/catalog.js';
import type { QueryHandler, ResponseStream, StreamHandler, TransportContext } from '../transport/handler.js';
import { Flag, Opcode, Rcode, RRClass, RRType } from '../wire/constants.js';
import { decodeMessage } from '../wire/decode.js';
import { MessageWriter } from '../wire/encode.js';
import { WireFormatError } from '../wire/errors.js';
import type { Edns, EdnsOptionData, Message, Question } from '../wire/message.js';
import { readSoa } from '../wire/rdata.js';
import type { TransferAcl } from './acl.js';
import { fullTransfer, incrementalTransfer, soaOnly, type TransferHeader, transferFlags } from './axfr.js';
import {
  type BoundedJournal,
  condense,
  type Difference,
  type JournalEntry,
  serialBehind,
} from './journal.js';
import {
  findTsig,
  signTsigError,
  type TsigKey,
  type TsigRecord,
  TsigSigner,
  verifyTsigRequest,
} from './tsig.js';

/** Default concurrent transfers from one source address (per DNS worker process). */
export const DEFAULT_TRANSFERS_PER_SOURCE = 4;
/** Default concurrent transfers in total (per DNS worker process). */
export const DEFAULT_TRANSFERS_TOTAL = 32;

export interface TransferServiceOptions {
  acl: TransferAcl;
  /** The catalog queries are answered from now (the Responder's). */
  catalog: () => Catalog;
  perSource?: number;
  total?: number;
  /** Our EDNS payload size (the OPT of transfer messages). */
  ednsSize?: number;
  /**
   * The IXFR journal (`start`: fed by the primary); without one, IXFR gets one SOA or the
   * whole zone in AXFR form (RFC 1995 §4).
   */
  journal?: BoundedJournal<JournalEntry>;
  /** Told of each transfer begun or refused (no secrets: key names only). */
  onTransfer?: (event: TransferEvent) => void;
  /**
   * Told of each signed query that is not a transfer (a secondary's SOA check), once its TSIG
   * verified: `start` learns its edges from the checks signed with an edge key (docs/EDGE.md).
   */
  onSignedQuery?: (event: SignedQueryEvent) => void;
}

export interface SignedQueryEvent {
  /** The zone the question is in (its origin), when served. */
  zone?: string;
  /** The serial served for it now. */
  serial?: number;
  address: string;
  key: string;
  /** The key is an edge key (`--transfer-key`). */
  edge: boolean;
  qtype: number;
  /** The query's EDNS options. */
  options: readonly EdnsOptionData[];
}

export interface TransferEvent {
  zone: string;
  address: string;
  type: 'AXFR' | 'IXFR';
  key?: string;
  outcome: 'started' | 'refused' | 'limited' | 'done' | 'aborted';
  serial?: number;
  /** Signed with an edge key (`--transfer-key`). */
  edge?: boolean;
}

/** Counters of this process's transfers (for metrics and tests). */
export interface TransferStats {
  started: number;
  refused: number;
  limited: number;
  tsigFailures: number;
  active: number;
  /** Transfers served, by form: AXFR; IXFR as a difference, as the whole zone, as one SOA. */
  axfr: number;
  ixfr: number;
  ixfrFull: number;
  ixfrCurrent: number;
  /** Ordinary queries of catalog zones refused (not allowed to transfer them). */
  catalogRefused: number;
}

const CLASSIC_UDP = 512;

export class TransferService {
  readonly #acl: TransferAcl;
  readonly #catalog: () => Catalog;
  readonly #perSource: number;
  readonly #total: number;
  readonly #ednsSize: number;
  readonly #onTransfer: ((e: TransferEvent) => void) | undefined;
  readonly #onSignedQuery: ((e: SignedQueryEvent) => void) | undefined;
  readonly #bySource = new Map<string, number>();
  #active = 0;
  readonly #journal: BoundedJournal<JournalEntry> | undefined;
  readonly stats: TransferStats = {
    started: 0,
    refused: 0,
    limited: 0,
    tsigFailures: 0,
    active: 0,
    axfr: 0,
    ixfr: 0,
    ixfrFull: 0,
    ixfrCurrent: 0,
    catalogRefused: 0,
  };

  constructor(opts: TransferServiceOptions) {
    this.#acl = opts.acl;
    this.#catalog = opts.catalog;
    this.#perSource = opts.perSource ?? DEFAULT_TRANSFERS_PER_SOURCE;
    this.#total = opts.total ?? DEFAULT_TRANSFERS_TOTAL;
    this.#ednsSize = opts.ednsSize ?? 1232;
    this.#onTransfer = opts.onTransfer;
    this.#onSignedQuery = opts.onSignedQuery;
    this.#journal = opts.journal;
  }

  /** The hook for the TCP listeners (`streams`). */
  readonly streams: StreamHandler = (query, ctx) => this.#handle(query, ctx, undefined);

  /** `handler` with signed queries taken here first (both transports). */
  wrap(handler: QueryHandler): QueryHandler {
    return (query, ctx) => {
      const r = this.#handle(query, ctx, handler);
      if (r === undefined) return handler(query, ctx);
      // Over UDP no stream is made (transfers are TCP only).
      return r instanceof Uint8Array || r === null ? r : null;
    };
  }

  /**
   * undefined: not ours. `handler`: the Responder, for signed ordinary queries (over TCP the
   * listener's own handler answers unsigned ones, so `streams` passes undefined and a signed
   * query is answered through `answerSigned` with the handler given to `wrap`).
   */
  #handle(
    query: Uint8Array,
    ctx: TransportContext,
    handler: QueryHandler | undefined,
  ): Uint8Array | ResponseStream | null | undefined {
    const peek = peekQuery(query);
    if (peek === undefined) return undefined;
    // IXFR over UDP is taken too when `wrap` sees it: answered with one SOA (RFC 1995 §2).
    const transfer =
      peek.opcode === Opcode.QUERY &&
      ((ctx.transport === 'tcp' && peek.qtype === RRType.AXFR) ||
        (peek.qtype === RRType.IXFR && (ctx.transport === 'tcp' || handler !== undefined)));
    // A catalog zone's names (RFC 9432: the list of zones is not public) are answered only to
    // those who may transfer it; the others get REFUSED. Read only while there is a catalog zone.
    const inCatalog =
      !transfer && handler !== undefined && peek.opcode === Opcode.QUERY
        ? this.#catalogZoneOf(query)
        : undefined;
    // The TCP hook (`streams`) takes transfers only; signed queries reach `wrap`'s handler.
    if (!transfer && (!peek.maybeSigned || handler === undefined))
      return inCatalog === undefined ? undefined : this.#catalogQuery(query, ctx, undefined);
    const tsig = peek.maybeSigned ? findTsig(query) : undefined;
    if (!transfer && tsig === undefined)
      return inCatalog === undefined ? undefined : this.#catalogQuery(query, ctx, undefined);
    // Signed NOTIFY and UPDATE come with issue 9's next parts: the Responder says NOTIMP.
    if (peek.opcode !== Opcode.QUERY) return undefined;
    if (tsig === 'malformed') return formErr(query);
    const bare = tsig === undefined ? query : stripTsig(query, tsig);
    let msg: Message;
    try {
      msg = decodeMessage(bare);
    } catch (err) {
      if (err instanceof WireFormatError) return formErr(query);
      throw err;
    }
    const q = msg.questions.length === 1 ? msg.questions[0] : undefined;
    if (q === undefined) return transfer || tsig !== undefined ? formErr(query) : undefined;
    const catalog = this.#catalog();
    const zone = catalog.find(q.name);
    // Verify the signature against the keys this zone may be signed with.
    let signer: TsigSigner | undefined;
    let key: TsigKey | undefined;
    if (tsig !== undefined) {
      const verdict = verifyTsigRequest(query, tsig, (name) => this.#acl.keyFor(zone?.origin.key, name));
      if (!verdict.ok) {
        this.stats.tsigFailures++;
        if (verdict.rcode === Rcode.FORMERR) return formErr(query);
        const flags = transferFlags(msg.flags, 0) & ~Flag.AA;
        const bytes = shortMessage(msg.id, flags | Rcode.NOTAUTH, q, undefined);
        return signTsigError(bytes, verdict);
      }
      key = verdict.key;
      signer = new TsigSigner(key, tsig.mac);
    }
    if (!transfer) {
      if (inCatalog !== undefined) {
        const refused = this.#catalogQuery(bare, ctx, key);
        if (refused !== undefined) return signer ? signer.sign(refused) : refused;
      }
      if (this.#onSignedQuery && key !== undefined) {
        let serial: number | undefined;
        try {
          serial = zone?.serial;
        } catch {
          serial = undefined; // an image that cannot be opened
        }
        this.#onSignedQuery({
          zone: zone?.origin.toString(),
          serial,
          address: ctx.address,
          key: key.name.toString(),
          edge: this.#acl.isEdgeKey(key),
          qtype: q.type,
          options: msg.edns?.options ?? [],
        });
      }
      const answer = handler?.(bare, ctx);
      if (answer === undefined || answer === null) return answer === null ? null : undefined;
      return this.#signOrTruncate(answer, key!, (tsig as TsigRecord).mac, msg, q, ctx);
    }
    const type = q.type === RRType.AXFR ? 'AXFR' : 'IXFR';
    const opt = this.#opt(msg);
    const refuse = (outcome: 'refused' | 'limited'): Uint8Array => {
      if (outcome === 'refused') this.stats.refused++;
      else this.stats.limited++;
      this.#onTransfer?.({
        zone: q.name.toString(),
        address: ctx.address,
        type,
        key: key?.name.toString(),
        outcome,
      });
      const bytes = shortMessage(msg.id, (transferFlags(msg.flags, 0) & ~Flag.AA) | Rcode.REFUSED, q, opt);
      return signer ? signer.sign(bytes) : bytes;
    };
    // Only a zone's apex is transferred, only IN, and only by those allowed (RFC 5936 §4.2).
    if (q.class !== RRClass.IN || zone === undefined || zone.origin.key !== q.name.key)
      return refuse('refused');
    let allowed: boolean;
    try {
      allowed = this.#acl.allows(zone, ctx.address, key, catalog);
    } catch {
      // AUTO-NS reads the zone's apex: an image that cannot be opened allows nobody by address.
      allowed = false;
    }
    if (!allowed) return refuse('refused');
    // An image that cannot be opened (logged by the worker) is SERVFAIL here, as its queries are.
    try {
      void zone.soa;
    } catch {
      const bytes = shortMessage(msg.id, (transferFlags(msg.flags, 0) & ~Flag.AA) | Rcode.SERVFAIL, q, opt);
      return signer ? signer.sign(bytes) : bytes;
    }
    const header: TransferHeader = { id: msg.id, flags: transferFlags(msg.flags), question: q, opt, signer };
    let diff: Difference | undefined;
    if (type === 'IXFR') {
      const theirs = msg.authority.find((rr) => rr.type === RRType.SOA);
      const serial = theirs === undefined ? -1 : readSerial(theirs.rdata);
      // Current (or ahead, RFC 1982), or over UDP: one SOA, the current one (RFC 1995 §2, §4:
      // a UDP client behind retries over TCP).
      if ((theirs !== undefined && !serialBehind(serial, zone.serial)) || ctx.transport !== 'tcp') {
        this.stats.ixfrCurrent++;
        return soaOnly(zone, header);
      }
      const chain = serial < 0 ? undefined : this.#journal?.chain(zone.origin.key, serial, zone.serial);
      if (chain !== undefined) diff = condense(chain);
    }
    const exempt = this.#acl.isEdgeKey(key);
    const source = ctx.address;
    if (!exempt) {
      const n = this.#bySource.get(source) ?? 0;
      if (n >= this.#perSource || this.#active >= this.#total) return refuse('limited');
      this.#bySource.set(source, n + 1);
      this.#active++;
    }
    this.stats.started++;
    this.stats.active++;
    if (type === 'AXFR') this.stats.axfr++;
    else if (diff !== undefined) this.stats.ixfr++;
    else this.stats.ixfrFull++;
    const event: TransferEvent = {
      zone: zone.origin.toString(),
      address: source,
      type,
      key: key?.name.toString(),
      outcome: 'started',
      serial: zone.serial,
      ...(exempt ? { edge: true } : {}),
    };
    this.#onTransfer?.(event);
    const messages = diff !== undefined ? incrementalTransfer(diff, header) : fullTransfer(zone, header);
    return this.#stream(messages, exempt, source, event);
  }

  /** Our OPT record (no option) when the query had one: a transfer's or a short answer's. */
  #opt(msg: { edns?: unknown }): Edns | undefined {
    return msg.edns
      ? { udpSize: this.#ednsSize, extendedRcode: 0, version: 0, flags: 0, options: [] }
      : undefined;
  }

  /** The origin key of the catalog zone holding the question name (undefined: none, or unreadable). */
  #catalogZoneOf(query: Uint8Array): string | undefined {
    return this.#acl.catalogAt(query, 12);
  }

  /**
   * A query inside a catalog zone from `ctx.address` signed with `key` (verified; undefined:
   * unsigned): undefined when it may transfer the zone (the Responder answers), else REFUSED.
   */
  #catalogQuery(query: Uint8Array, ctx: TransportContext, key: TsigKey | undefined): Uint8Array | undefined {
    let msg: Message;
    try {
      msg = decodeMessage(query);
    } catch {
      return formErr(query);
    }
    const q = msg.questions.length === 1 ? msg.questions[0] : undefined;
    if (q === undefined) return formErr(query);
    const catalog = this.#catalog();
    const zone = catalog.find(q.name);
    let allowed = false;
    if (zone !== undefined)
      try {
        allowed = this.#acl.allows(zone, ctx.address, key, catalog);
      } catch {
        allowed = false;
      }
    if (allowed) return undefined;
    this.stats.catalogRefused++;
    const opt = this.#opt(msg);
    return shortMessage(msg.id, (transferFlags(msg.flags, 0) & ~Flag.AA) | Rcode.REFUSED, q, opt);
  }

  #stream(
    messages: Generator<Uint8Array>,
    exempt: boolean,
    source: string,
    event: TransferEvent,
  ): ResponseStream {
    let open = true;
    let finished = false;
    return {
      next: () => {
        if (!open) return null;
        const r = messages.next();
        if (r.done) {
          finished = true;
          return null;
        }
        return r.value;
      },
      close: () => {
        if (!open) return;
        open = false;
        this.stats.active--;
        if (!exempt) {
          this.#active--;
          const n = (this.#bySource.get(source) ?? 1) - 1;
          if (n <= 0) this.#bySource.delete(source);
          else this.#bySource.set(source, n);
        }
        this.#onTransfer?.({ ...event, outcome: finished ? 'done' : 'aborted' });
      },
    };
  }

  /** A signed ordinary answer; over UDP, one that no longer fits is sent TC=1 (RFC 8945 §5.3). */
  #signOrTruncate(
    answer: Uint8Array,
    key: TsigKey,
    requestMac: Uint8Array,
    msg: Message,
    q: Question,
    ctx: TransportContext,
  ): Uint8Array {
    const signed = new TsigSigner(key, requestMac).sign(answer);
    if (ctx.transport === 'tcp') return signed;
    const limit = msg.edns ? Math.max(CLASSIC_UDP, Math.min(msg.edns.udpSize, this.#ednsSize)) : CLASSIC_UDP;
    if (signed.length <= limit) return signed;
    const flags = (answer[2] << 8) | answer[3] | Flag.TC;
    return new TsigSigner(key, requestMac).sign(shortMessage(msg.id, flags, q, undefined));
  }
}

/** What the first octets of a query say, without decoding it. */
function peekQuery(q: Uint8Array): { opcode: number; qtype: number; maybeSigned: boolean } | undefined {
  if (q.length < 12 || (q[2] & 0x80) !== 0) return undefined;
  const opcode = (q[2] >> 3) & 0xf;
  const qd = (q[4] << 8) | q[5];
  const an = (q[6] << 8) | q[7];
  const ns = (q[8] << 8) | q[9];
  const ar = (q[10] << 8) | q[11];
  if (qd !== 1) return { opcode, qtype: -1, maybeSigned: ar > 0 };
  let at = 12;
  while (at < q.length && q[at] !== 0) {
    if ((q[at] & 0xc0) !== 0) return { opcode, qtype: -1, maybeSigned: ar > 0 };
    at += q[at] + 1;
  }
  at++;
  if (at + 4 > q.length) return { opcode, qtype: -1, maybeSigned: ar > 0 };
  const qtype = (q[at] << 8) | q[at + 1];
  at += 4;
  // The common case: nothing after the question but one OPT owned by the root.
  let maybeSigned = ar > 0;
  if (
    ar === 1 &&
    an === 0 &&
    ns === 0 &&
    at + 3 <= q.length &&
    q[at] === 0 &&
    q[at + 1] === 0 &&
    q[at + 2] === RRType.OPT
  )
    maybeSigned = false;
  return { opcode, qtype, maybeSigned };
}

/** The query without its TSIG RR (ARCOUNT − 1), for the Responder. */
export function stripTsig(query: Uint8Array, tsig: TsigRecord): Uint8Array {
  const out = Uint8Array.from(query.subarray(0, tsig.offset));
  const ar = ((out[10] << 8) | out[11]) - 1;
  out[10] = ar >> 8;
  out[11] = ar & 0xff;
  return out;
}

/** A response of header and question (and OPT): REFUSED, NOTAUTH … */
function shortMessage(id: number, flags: number, q: Question, opt: Edns | undefined): Uint8Array {
  const w = new MessageWriter(512);
  w.header(id, flags);
  w.question(q);
  if (opt) w.opt(opt);
  return w.finish();
}

/** FORMERR echoing the ID and opcode (RFC 1035 §4.1.1), nothing else trusted. */
function formErr(query: Uint8Array): Uint8Array {
  const out = new Uint8Array(12);
  out[0] = query[0];
  out[1] = query[1];
  out[2] = 0x80 | (query[2] & 0x78) | (query[2] & 0x01);
  out[3] = Rcode.FORMERR;
  return out;
}

function readSerial(rdata: Uint8Array): number {
  try {
    return readSoa(rdata).serial;
  } catch {
    return -1;
  }
}

export { serialBehind };
