/**
 * What the DNS side of dynamic update (RFC 2136, `update.ts`) hands the control plane
 * (src/control/dns-updates.ts, which imports these: the control plane depends on `xfr/`, not
 * the reverse).
 * @module
 */

/** CLASS ANY and NONE in the prerequisite and update sections (RFC 2136 §2.4, §2.5). */
export const CLASS_ANY = 255;
export const CLASS_NONE = 254;
/** TYPE ANY (RFC 1035 §3.2.3 QTYPE `*`). */
export const TYPE_ANY = 255;

/** One RR of the prerequisite or update section, as the DNS side read it. */
export interface UpdateRR {
  /** Owner, absolute presentation form. */
  name: string;
  class: number;
  type: number;
  ttl: number;
  /** The RDATA's wire octets in hex ('' for RDLENGTH 0). */
  rdata: string;
}

/** An UPDATE as the DNS side hands it over (TSIG verified). */
export interface DnsUpdateRequest {
  /** The zone section's name (absolute). */
  zone: string;
  zclass: number;
  /** The name of the TSIG key that signed it (verified), if signed. */
  key?: string;
  /** The client's address. */
  address: string;
  prereqs: UpdateRR[];
  updates: UpdateRR[];
}

/** What the DNS side answers: the RCODE, and for the log why. */
export interface DnsUpdateResult {
  rcode: number;
  reason?: string;
  /** The zone's serial after it (when applied). */
  serial?: number;
  /** A new version was written. */
  changed: boolean;
}
