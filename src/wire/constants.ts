/**
 * Protocol constants named as in the IANA DNS parameter registries.
 * @module
 */

/** RR TYPE values (IANA "Resource Record (RR) TYPEs"). */
export const RRType = {
  A: 1,
  NS: 2,
  MD: 3,
  MF: 4,
  CNAME: 5,
  SOA: 6,
  MB: 7,
  MG: 8,
  MR: 9,
  NULL: 10,
  WKS: 11,
  PTR: 12,
  HINFO: 13,
  MINFO: 14,
  MX: 15,
  TXT: 16,
  RP: 17,
  AFSDB: 18,
  X25: 19,
  ISDN: 20,
  RT: 21,
  NSAP: 22,
  'NSAP-PTR': 23,
  SIG: 24,
  KEY: 25,
  PX: 26,
  GPOS: 27,
  AAAA: 28,
  LOC: 29,
  NXT: 30,
  EID: 31,
  NIMLOC: 32,
  SRV: 33,
  ATMA: 34,
  NAPTR: 35,
  KX: 36,
  CERT: 37,
  A6: 38,
  DNAME: 39,
  SINK: 40,
  OPT: 41,
  APL: 42,
  DS: 43,
  SSHFP: 44,
  IPSECKEY: 45,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  DHCID: 49,
  NSEC3: 50,
  NSEC3PARAM: 51,
  TLSA: 52,
  SMIMEA: 53,
  HIP: 55,
  NINFO: 56,
  RKEY: 57,
  TALINK: 58,
  CDS: 59,
  CDNSKEY: 60,
  OPENPGPKEY: 61,
  CSYNC: 62,
  ZONEMD: 63,
  SVCB: 64,
  HTTPS: 65,
  DSYNC: 66,
  SPF: 99,
  UINFO: 100,
  UID: 101,
  GID: 102,
  UNSPEC: 103,
  NID: 104,
  L32: 105,
  L64: 106,
  LP: 107,
  EUI48: 108,
  EUI64: 109,
  TKEY: 249,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
  URI: 256,
  CAA: 257,
  AVC: 258,
  DOA: 259,
  AMTRELAY: 260,
  RESINFO: 261,
  WALLET: 262,
  TA: 32768,
  DLV: 32769,
} as const;

export type RRTypeName = keyof typeof RRType;

const typeNames = new Map<number, string>();
for (const [name, value] of Object.entries(RRType)) typeNames.set(value, name);

/** Mnemonic for a TYPE value, or RFC 3597's `TYPEnnn`. */
export function typeToString(type: number): string {
  return typeNames.get(type) ?? `TYPE${type}`;
}

/** TYPE value for a mnemonic or `TYPEnnn` (case-insensitive); undefined when unknown. */
export function typeFromString(text: string): number | undefined {
  const upper = text.toUpperCase();
  const known = (RRType as Record<string, number>)[upper];
  if (known !== undefined) return known;
  const m = /^TYPE(\d{1,5})$/.exec(upper);
  if (m) {
    const n = Number(m[1]);
    if (n <= 0xffff) return n;
  }
  return undefined;
}

/** CLASS values. */
export const RRClass = {
  IN: 1,
  CH: 3,
  HS: 4,
  NONE: 254,
  ANY: 255,
} as const;

const classNames = new Map<number, string>([
  [1, 'IN'],
  [3, 'CH'],
  [4, 'HS'],
  [254, 'NONE'],
  [255, 'ANY'],
]);

/** Mnemonic for a CLASS value, or RFC 3597's `CLASSnnn`. */
export function classToString(cls: number): string {
  return classNames.get(cls) ?? `CLASS${cls}`;
}

/** CLASS value for a mnemonic or `CLASSnnn`; undefined when unknown. */
export function classFromString(text: string): number | undefined {
  const upper = text.toUpperCase();
  if (upper === 'CHAOS') return RRClass.CH;
  if (upper === 'HESIOD') return RRClass.HS;
  const known = (RRClass as Record<string, number>)[upper];
  if (known !== undefined) return known;
  const m = /^CLASS(\d{1,5})$/.exec(upper);
  if (m) {
    const n = Number(m[1]);
    if (n <= 0xffff) return n;
  }
  return undefined;
}

/** OPCODE values. */
export const Opcode = {
  QUERY: 0,
  IQUERY: 1,
  STATUS: 2,
  NOTIFY: 4,
  UPDATE: 5,
  DSO: 6,
} as const;

/** RCODE values; values above 15 need the EDNS extended-rcode bits. */
export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  YXDOMAIN: 6,
  YXRRSET: 7,
  NXRRSET: 8,
  NOTAUTH: 9,
  NOTZONE: 10,
  BADVERS: 16,
  BADSIG: 16,
  BADKEY: 17,
  BADTIME: 18,
  BADMODE: 19,
  BADNAME: 20,
  BADALG: 21,
  BADTRUNC: 22,
  BADCOOKIE: 23,
} as const;

/** The mnemonic of an RCODE (RFC 6895 §2.3), or RCODEn. */
export function rcodeName(rcode: number): string {
  for (const [name, value] of Object.entries(Rcode)) if (value === rcode && name !== 'BADSIG') return name;
  return `RCODE${rcode}`;
}

/** Header flag bits within the 16-bit flags word (RFC 1035 §4.1.1, RFC 4035 §3.1.6). */
export const Flag = {
  QR: 0x8000,
  AA: 0x0400,
  TC: 0x0200,
  RD: 0x0100,
  RA: 0x0080,
  Z: 0x0040,
  AD: 0x0020,
  CD: 0x0010,
} as const;

/** EDNS(0) option codes (IANA "DNS EDNS0 Option Codes (OPT)"). */
export const EdnsOption = {
  NSID: 3,
  DAU: 5,
  DHU: 6,
  N3U: 7,
  CLIENT_SUBNET: 8,
  EXPIRE: 9,
  COOKIE: 10,
  TCP_KEEPALIVE: 11,
  PADDING: 12,
  CHAIN: 13,
  KEY_TAG: 14,
  EDE: 15,
  REPORT_CHANNEL: 18,
  ZONEVERSION: 19,
} as const;

/** EDNS header flag: DNSSEC OK (RFC 3225). */
export const EDNS_DO = 0x8000;

/** Extended DNS Error info codes (RFC 8914 §4). */
export const EdeCode = {
  OTHER: 0,
  UNSUPPORTED_DNSKEY_ALGORITHM: 1,
  UNSUPPORTED_DS_DIGEST: 2,
  STALE_ANSWER: 3,
  FORGED_ANSWER: 4,
  DNSSEC_INDETERMINATE: 5,
  DNSSEC_BOGUS: 6,
  SIGNATURE_EXPIRED: 7,
  SIGNATURE_NOT_YET_VALID: 8,
  DNSKEY_MISSING: 9,
  RRSIGS_MISSING: 10,
  NO_ZONE_KEY_BIT: 11,
  NSEC_MISSING: 12,
  CACHED_ERROR: 13,
  NOT_READY: 14,
  BLOCKED: 15,
  CENSORED: 16,
  FILTERED: 17,
  PROHIBITED: 18,
  STALE_NXDOMAIN: 19,
  NOT_AUTHORITATIVE: 20,
  NOT_SUPPORTED: 21,
  NO_REACHABLE_AUTHORITY: 22,
  NETWORK_ERROR: 23,
  INVALID_DATA: 24,
} as const;

/** RFC 1035 §4.2.1: the classic UDP payload limit without EDNS. */
export const CLASSIC_UDP_SIZE = 512;
/** DNS Flag Day 2020 recommendation for the advertised EDNS buffer size. */
export const DEFAULT_EDNS_SIZE = 1232;
/** RFC 1035 §2.3.4 */
export const MAX_NAME_LENGTH = 255;
/** RFC 1035 §2.3.4 */
export const MAX_LABEL_LENGTH = 63;

/**
 * Output length in octets of the NSEC3 hash algorithms (IANA "DNSSEC NSEC3 Hash Algorithms"):
 * 1 = SHA-1 (RFC 5155 §11). The next hashed owner name is that hash (RFC 5155 §3.1.7).
 */
export const NSEC3_HASH_LENGTH: Readonly<Record<number, number>> = { 1: 20 };

/**
 * Digest length in octets of the ZONEMD hash algorithms (RFC 8976 §5.3): 1 = SHA-384,
 * 2 = SHA-512. These digests are never truncated (RFC 8976 §2.2.4).
 */
export const ZONEMD_DIGEST_LENGTH: Readonly<Record<number, number>> = { 1: 48, 2: 64 };
