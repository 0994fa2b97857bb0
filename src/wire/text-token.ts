/**
 * The token the RDATA text parsers read: one field of a master-file record as the lexer
 * cut it. A module of its own so that `rdata.ts` (which calls the parsers) and the parsers
 * (`rdata-text.ts`, `rdata-svcb.ts`) do not import each other.
 * @module
 */

/** A master-file token: raw text with escapes still in place; `quoted` if it was in "…". */
export interface TextToken {
  text: string;
  quoted: boolean;
}
