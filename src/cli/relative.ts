/**
 * Record values relative to the zone, as in a zone file: the CLI completes the names inside
 * RDATA with the zone's origin before it sends them (`record set @ MX '10 mail' --zone
 * shop.test` sends `10 mail.shop.test.`). The API itself keeps taking absolute names (the
 * native API refuses `mail` rather than guess, and the PowerDNS-compatible API keeps PowerDNS's
 * rules), so this is the client's job alone.
 * @module
 */
import { toOctets } from '../control/records.js';
import { Name, RRType, rdataFromText, rdataToText, typeFromString } from '../wire/index.js';
import { tokenizeText } from '../zone/index.js';

/** What completing one value did. */
export interface CompletedContent {
  /** The content to send: canonical presentation form with absolute names. */
  content: string;
  /**
   * Relative names written with an inner dot (`mail.example.com`) that were completed with
   * the origin: probably meant to be absolute (a final dot is missing).
   */
  suspicious: string[];
}

/** A dotted name without its final dot, not an address. */
const DOTTED_NAME = /^(?=.*[A-Za-z_])[A-Za-z0-9_*-]+(?:\.[A-Za-z0-9_-]+)+$/;

/**
 * Completes the relative names of one record's content (master-file RDATA) with `zone`.
 * Content the master-file parser cannot read is returned as given, so the server reports the
 * error with the field at fault. TXT and SPF content is returned as given: it holds no names,
 * and the server checks that its strings are quoted.
 */
export function completeContent(type: string, content: string, zone: string): CompletedContent {
  const t = typeFromString(type);
  if (t === undefined || t === RRType.TXT || t === RRType.SPF) return { content, suspicious: [] };
  let origin: Name;
  let tokens: ReturnType<typeof tokenizeText>;
  try {
    origin = Name.parse(toOctets(zone.endsWith('.') ? zone : `${zone}.`));
    tokens = tokenizeText(toOctets(content));
  } catch {
    return { content, suspicious: [] };
  }
  if (tokens.length === 0) return { content, suspicious: [] };
  let completed: string;
  try {
    completed = rdataToText(t, rdataFromText(t, tokens, origin));
  } catch {
    return { content, suspicious: [] };
  }
  // Which names were relative: the same content read against the root differs.
  let absolute: string | undefined;
  try {
    absolute = rdataToText(t, rdataFromText(t, tokens, Name.ROOT));
  } catch {
    absolute = undefined;
  }
  const suspicious =
    absolute !== completed
      ? tokens.filter((k) => !k.quoted && DOTTED_NAME.test(k.text)).map((k) => k.text)
      : [];
  return { content: completed, suspicious };
}

/**
 * Completes every value; names that look absolute but lack the final dot are reported through
 * `warn` (once per value), as a zone-file checker would.
 */
export function completeContents(
  type: string,
  values: readonly string[],
  zone: string,
  warn: (line: string) => void = (line) => process.stderr.write(`switchboard: note: ${line}\n`),
): string[] {
  return values.map((v) => {
    const c = completeContent(type, v, zone);
    for (const s of c.suspicious)
      warn(
        `'${s}' has no final dot, so it is relative to the zone (as in a zone file): sent as '${c.content}'; write '${s}.' for an absolute name`,
      );
    return c.content;
  });
}

/**
 * The canonical form of any content, TXT included, with relative names completed: for
 * comparing a value given on the command line with a stored one. Undefined when unreadable.
 */
export function canonicalContent(type: string, content: string, zone: string): string | undefined {
  const t = typeFromString(type);
  if (t === undefined) return undefined;
  try {
    const origin = Name.parse(toOctets(zone.endsWith('.') ? zone : `${zone}.`));
    const tokens = tokenizeText(toOctets(content));
    if (tokens.length === 0) return undefined;
    return rdataToText(t, rdataFromText(t, tokens, origin));
  } catch {
    return undefined;
  }
}
