/**
 * DNS message encoder with name compression (RFC 1035 §4.1.4) and a size limit for
 * truncation decisions.
 * @module
 */
import type { Edns, Message, Question, RR } from './message.js';
import type { Name } from './name.js';

/** Sections a record can be written to. */
export enum Section {
  Answer = 0,
  Authority = 1,
  Additional = 2,
}

/**
 * Incremental message writer. Records are appended section by section (answer, authority,
 * additional, in that order); an append that would exceed `maxSize` (after space reserved
 * with `reserve`) writes nothing and returns false, so the caller decides truncation.
 */
export class MessageWriter {
  constructor(_maxSize = 65535) {
    throw new Error('not implemented');
  }
  /** Sets ID and flags word (counts are filled in by `finish`). */
  header(_id: number, _flags: number): void {}
  /** Appends a question; its name becomes a compression target. */
  question(_q: Question): boolean {
    return false;
  }
  /** Appends one RR, compressing its owner and (where allowed) RDATA names. */
  rr(_section: Section, _rr: RR): boolean {
    return false;
  }
  /** Appends a whole RRset, all or nothing. */
  rrset(
    _section: Section,
    _name: Name,
    _type: number,
    _cls: number,
    _ttl: number,
    _rdata: readonly Uint8Array[],
  ): boolean {
    return false;
  }
  /** Keeps `bytes` free at the end (for OPT/TSIG written later); negative releases. */
  reserve(_bytes: number): void {}
  /** Appends the OPT pseudo-RR (must come last in additional, before TSIG). */
  opt(_edns: Edns): boolean {
    return false;
  }
  /** Current encoded length. */
  get length(): number {
    return 0;
  }
  /** Finishes the message (patches the counts) and returns its bytes. */
  finish(): Uint8Array {
    throw new Error('not implemented');
  }
}

/** Encodes a whole message without a size limit. */
export function encodeMessage(_msg: Message): Uint8Array {
  throw new Error('not implemented');
}
