/**
 * Names relative to the zone, as in a zone file, owner names and names inside record values
 * alike, read by the master-file parser (`src/zone/`, `src/wire/`): `@` is the apex, a name
 * ending with a dot is absolute, any other is relative (`record set @ MX '10 mail' --zone
 * shop.test` sends `shop.test. MX 10 mail.shop.test.`). The API itself keeps taking absolute
 * names (the native API refuses `mail` rather than guess, and the PowerDNS-compatible API keeps
 * PowerDNS's rules), so completing them is the client's job alone.
 *
 * One guess is refused rather than made: a relative name that ends with the zone's own name
 * (`www.shop.test` in `shop.test`) would be `www.shop.test.shop.test.` in a zone file, which is
 * nearly always a forgotten final dot; the CLI stops with a usage error saying what to write.
 * @module
 */
import { toOctets } from '../control/records.js';
import { Name, RRType, rdataFromText, rdataToText, typeFromString } from '../wire/index.js';
import { tokenizeText } from '../zone/index.js';
import { UsageError } from './client-common.js';

/** The zone's origin. @throws UsageError when the zone name does not parse */
function originOf(zone: string): Name {
  const z = zone.trim();
  if (z === '') throw new UsageError('the zone name is empty');
  try {
    return Name.parse(toOctets(z.endsWith('.') ? z : `${z}.`));
  } catch (err) {
    throw new UsageError(`bad zone name '${zone}': ${(err as Error).message}`);
  }
}

/** The error for a relative name that ends with the zone's own name. */
function endsWithZone(text: string, what: string, origin: Name): UsageError {
  const zoneText = origin.toString().slice(0, -1);
  const relative = text.length > zoneText.length + 1 ? text.slice(0, text.length - zoneText.length - 1) : '';
  return new UsageError(
    `${what} '${text}' ends with the zone's name but has no final dot, so it would be ` +
      `'${text}.${origin}' (relative, as in a zone file): write '${text}.' for the name itself` +
      (relative.length > 0 ? ` or '${relative}' relative to the zone` : ` or '@'`),
  );
}

/**
 * The absolute form of an owner name given relative to `zone` (see the module comment):
 * `www` → `www.shop.test.`, `@` → `shop.test.`, `*.dev` → `*.dev.shop.test.`, `a.example.`
 * as given. Escapes (`\.`, `\DDD`) are read as in a zone file.
 * @throws UsageError for an empty or malformed name, or a relative name ending with the zone's name
 */
export function resolveName(text: string, zone: string, what = 'record name'): string {
  const origin = originOf(zone);
  const n = text.trim();
  if (n === '') throw new UsageError(`the ${what} is empty`);
  let name: Name;
  let asAbsolute: Name;
  try {
    const octets = toOctets(n);
    name = Name.parse(octets, origin);
    // The same text read against the root: equal to `name` when the text was absolute.
    asAbsolute = Name.parse(octets, Name.ROOT);
  } catch (err) {
    throw new UsageError(`bad ${what} '${n}': ${(err as Error).message}`);
  }
  if (n !== '@' && !asAbsolute.equals(name) && asAbsolute.isSubdomainOf(origin))
    throw endsWithZone(n, what, origin);
  return name.toString();
}

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
  const origin = originOf(zone);
  let tokens: ReturnType<typeof tokenizeText>;
  try {
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
  // A completed name that ends with the zone's name: the one guess refused (module comment).
  const zoneName = origin.toString().toLowerCase();
  const lower = completed.toLowerCase();
  for (const s of suspicious) {
    const low = `${s.toLowerCase()}.`;
    if ((low === zoneName || low.endsWith(`.${zoneName}`)) && lower.includes(`${low}${zoneName}`))
      throw endsWithZone(s, 'name', origin);
  }
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
    const origin = originOf(zone);
    const tokens = tokenizeText(toOctets(content));
    if (tokens.length === 0) return undefined;
    return rdataToText(t, rdataFromText(t, tokens, origin));
  } catch {
    return undefined;
  }
}
