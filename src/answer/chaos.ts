/**
 * Server identity in the CHAOS class (RFC 4892): `id.server.` and `hostname.bind.` answer
 * with the identity, `version.server.` and `version.bind.` with the version text, each as one
 * TXT record of TTL 0 — what NSD and Knot answer. Everything else in CH is refused.
 * @module
 */
import { EdeCode, RRType } from '../wire/constants.js';
import { Name } from '../wire/name.js';

/** The texts served in the CHAOS class; undefined or empty: that name is refused. */
export interface ChaosOptions {
  /** RFC 4892 §2.3 server identity: `id.server.` and the older `hostname.bind.`. */
  identity?: string;
  /** Software version: `version.server.` and the older `version.bind.`. */
  version?: string;
}

/** What the responder sends for a CH question. */
export type ChaosAnswer =
  /** NOERROR with one TXT record (owner = QNAME, class CH, TTL 0) of this RDATA. */
  | { kind: 'txt'; rdata: Uint8Array }
  /** REFUSED, saying why with this RFC 8914 EDE info code. */
  | { kind: 'refused'; ede: number };

/** RFC 1035 §3.3: a <character-string> is a length octet and at most 255 octets. */
const MAX_STRING = 255;

/** Identity names (RFC 4892 §2.3 `id.server.`; BIND's `hostname.bind.`, as NSD and Knot). */
const IDENTITY_NAMES = [Name.parse('id.server.').key, Name.parse('hostname.bind.').key];
/** Version names (`version.server.`, BIND's `version.bind.`, as NSD and Knot). */
const VERSION_NAMES = [Name.parse('version.server.').key, Name.parse('version.bind.').key];

/** Answers CH questions from a fixed identity and version; built once per responder. */
export class ChaosTable {
  /** Case-folded name key → TXT RDATA, or null when the name is known but switched off. */
  readonly #names = new Map<string, Uint8Array | null>();

  constructor(opts: ChaosOptions = {}) {
    const identity = encodeTxt(opts.identity);
    const version = encodeTxt(opts.version);
    for (const k of IDENTITY_NAMES) this.#names.set(k, identity);
    for (const k of VERSION_NAMES) this.#names.set(k, version);
  }

  /** The answer to `qname` (any case) of type `qtype` in class CH. */
  answer(qname: Name, qtype: number): ChaosAnswer {
    const rdata = this.#names.get(qname.key);
    // NSD: names it does not serve and types other than TXT get REFUSED + EDE 21 (Knot:
    // REFUSED without EDE); ANY is answered with the TXT record, as NSD does (RFC 8482 §4.1
    // lets ANY be answered with a subset).
    if (rdata === undefined || (qtype !== RRType.TXT && qtype !== RRType.ANY))
      return { kind: 'refused', ede: EdeCode.NOT_SUPPORTED };
    // NSD's hide-identity / hide-version: REFUSED + EDE 18 (Knot's empty identity/version:
    // REFUSED without EDE).
    if (rdata === null) return { kind: 'refused', ede: EdeCode.PROHIBITED };
    return { kind: 'txt', rdata };
  }
}

/**
 * TXT RDATA (RFC 1035 §3.3.14) holding `text` as UTF-8: one <character-string>, or several
 * of 255 octets when longer (the server config allows 255). Null when `text` is absent or
 * empty (the name is switched off).
 */
export function encodeTxt(text: string | undefined): Uint8Array | null {
  if (text === undefined || text === '') return null;
  const octets = Buffer.from(text, 'utf8');
  const parts = Math.ceil(octets.length / MAX_STRING);
  const out = new Uint8Array(octets.length + parts);
  let o = 0;
  for (let i = 0; i < octets.length; i += MAX_STRING) {
    const chunk = octets.subarray(i, i + MAX_STRING);
    out[o++] = chunk.length;
    out.set(chunk, o);
    o += chunk.length;
  }
  return out;
}
