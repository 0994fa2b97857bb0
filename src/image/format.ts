/**
 * The compiled zone image format, version 2: constants shared by the compiler, the reader
 * and the validator. docs/IMAGE.md describes every offset; keep the two in step (a C reader
 * is written from that page, not from this file).
 *
 * All integers are little-endian except where a field is a copy of wire-format bytes
 * (RDLENGTH and everything in a template body are big-endian, as on the wire).
 * Every offset stored in the image is absolute (from the image's first octet).
 * @module
 */

/** "SBZI" */
export const MAGIC = 0x495a4253;
/** 2: a signed zone's image carries its proof index (NSEC_INDEX or NSEC3_INDEX); 1 had none. */
export const VERSION = 2;
export const HEADER_SIZE = 64;
export const SECTION_ENTRY_SIZE = 12;
/** A stored offset meaning "none". */
export const NONE = 0xffffffff;

/** Header field offsets. */
export const H = {
  MAGIC: 0,
  VERSION: 4,
  HEADER_SIZE: 6,
  TOTAL_LENGTH: 8,
  SECTION_COUNT: 12,
  SECTION_TABLE: 16,
  CLASS: 20,
  ORIGIN_LENGTH: 22,
  SERIAL: 24,
  NAME_COUNT: 28,
  RRSET_COUNT: 32,
  RECORD_COUNT: 36,
  NEGATIVE_TEMPLATE: 40,
  FLAGS: 44,
} as const;

/** Section ids (the section table lists each present one once; readers skip unknown ids). */
export const SectionId = {
  ORIGIN: 1,
  NAMES: 2,
  NAMEDATA: 3,
  HASH: 4,
  RRSETS: 5,
  RDATA: 6,
  ANSWERS: 7,
  TEMPLATES: 8,
  /** Optional: owner names as the zone spelled them, where that differs from the folded form. */
  SPELLING: 9,
  // Reserved, not written yet:
  RRSIG_INDEX: 16,
  /** A signed zone's NSEC owners (name indexes, canonical order): proof-index.ts. */
  NSEC_INDEX: 17,
  /** A signed zone's NSEC3 chain (raw hashes sorted, with their name indexes): proof-index.ts. */
  NSEC3_INDEX: 18,
  XFR_ORDER: 32,
} as const;

/** Name record: 32 octets. */
export const NAME_RECORD_SIZE = 32;
export const N = {
  NAMEDATA: 0,
  FLAGS: 4,
  RRSET_FIRST: 8,
  RRSET_COUNT: 12,
  ANSWER_FIRST: 16,
  ANSWER_COUNT: 20,
  NODATA_TEMPLATE: 24,
  REFERRAL_TEMPLATE: 28,
} as const;

/** Name flags: the low five bits are zone.ts's NodeFlag values, unchanged. */
export const NameFlag = {
  DELEGATION: 1,
  BELOW_CUT: 2,
  DNAME: 4,
  HAS_CHILDREN: 8,
  WILDCARD_CHILD: 16,
  HAS_CNAME: 32,
  IS_WILDCARD: 64,
  /** No RRsets (an empty non-terminal). */
  EMPTY: 128,
} as const;

/** RRset record: 16 octets. */
export const RRSET_RECORD_SIZE = 16;
export const R = {
  OWNER: 0,
  TYPE: 4,
  COUNT: 6,
  TTL: 8,
  RDATA: 12,
} as const;

/** Answer entry: 8 octets (u16 qtype, u8 kind, u8 fallback reason, u32 template offset). */
export const ANSWER_ENTRY_SIZE = 8;
export const AnswerEntryKind = { TEMPLATE: 0, FALLBACK: 1 } as const;

/** Template header: 32 octets. */
export const TEMPLATE_HEADER_SIZE = 32;
export const T = {
  SIZE: 0,
  BODY: 4,
  REQUIRED_LENGTH: 8,
  FULL_LENGTH: 12,
  AN_COUNT: 16,
  NS_COUNT: 18,
  AR_REQUIRED: 20,
  AR_OPTIONAL: 22,
  DNS_FLAGS: 24,
  QNAME_LENGTH: 26,
  ANCHOR_LENGTH: 27,
  PATCH_COUNT: 28,
  WATCH_COUNT: 30,
  TFLAGS: 31,
} as const;

export const TemplateFlag = {
  /** May be used for a QNAME of another length than the one it was built with (patch list valid). */
  SHIFTABLE: 1,
  /** The answer read data outside the zone (a chain or additional target): never used. */
  EXTERNAL: 2,
} as const;

/** Why the reader hands a query back to the answer engine. */
export const Fallback = {
  NONE: 0,
  /** The QNAME lies below a DNAME (per-query synthesis). */
  DNAME: 1,
  /** A CNAME node asked for a type without a precomputed chain. */
  CNAME_OTHER_TYPE: 2,
  /** The answer leaves the zone (chain or additional target outside it). */
  EXTERNAL: 3,
  /** The QNAME shares a suffix with a name inside the template: compression would differ. */
  SUFFIX_COLLISION: 4,
  /** Only part of the optional additional data fits. */
  PARTIAL_ADDITIONAL: 5,
  /** The template cannot be moved to a QNAME of another length (too large or unverified). */
  UNPATCHABLE: 6,
  /** No served zone holds the QNAME (REFUSED is left to the engine). */
  NO_ZONE: 7,
  /** Not a plain QUERY for class IN with a valid QNAME. */
  NOT_HANDLED: 8,
  /** The answer did not fit in 65535 octets when compiled. */
  TOO_LARGE: 9,
  /** Output buffer too small. */
  NO_ROOM: 10,
} as const;

export const FALLBACK_NAMES: readonly string[] = [
  'none',
  'dname',
  'cname-other-type',
  'external',
  'suffix-collision',
  'partial-additional',
  'unpatchable',
  'no-zone',
  'not-handled',
  'too-large',
  'no-room',
];

/** Types a CNAME node gets a followed chain for (others fall back): A, AAAA, HTTPS (browsers ask all three). */
export const CNAME_CHASE_TYPES: readonly number[] = [1, 28, 65];

/** FNV-1a, 32 bits, over octets [start, end) of `b` (already case-folded). */
export function fnv1a(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}

/** FNV-1a over a latin1 string's char codes (compiler side). */
export function fnv1aString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
