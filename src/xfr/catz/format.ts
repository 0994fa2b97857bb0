/**
 * Catalog zones (RFC 9432, schema version 2), the producer's side: what a catalog zone holds and
 * how its members are named. Pure functions; the control plane stores a catalog zone as any zone
 * and `producer.ts` plans the changes that keep it in step with the zones it lists.
 *
 * A catalog zone: an SOA, `NS invalid.` (§4.1: the NS is only there for the zone to be valid),
 * `version.CATZ TXT "2"` (§4.2.1), and one PTR per member at `<unique-id>.zones.CATZ` naming the
 * member zone (§4.2.2). A member's unique id is a label of its own: here 20 hexadecimal
 * characters of SHA-256 over the catalog's name, the member zone's internal id and its creation
 * time — a zone deleted and re-created gets a new internal id, so a new unique id, and consumers
 * drop the old zone's data (§5.4: a changed unique id is a reset); a zone whose kind or records
 * change keeps it.
 * @module
 */
import { createHash } from 'node:crypto';

/** The fleet catalog's name when `start --fleet-catalog` does not name one (helper "edge" follows it). */
export const DEFAULT_FLEET_CATALOG = 'catalog.switchboard.invalid.';

/** RFC 9432 §4.2.1: the schema version this producer writes. */
export const CATZ_SCHEMA_VERSION = '2';

/** TTL of a catalog zone's records (consumers do not resolve them; RFC 9432 §4 says TTLs do not matter). */
export const CATZ_TTL = 0;

/** Length of a member's unique id (hex characters). */
const MEMBER_ID_CHARS = 20;

/** `name` absolute and lower-case (catalog and member names are compared so). */
export function foldName(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n : `${n}.`;
}

/**
 * The unique id (one label) of a member zone in a catalog: stable while the zone exists, new
 * when it is deleted and re-created (its internal id and creation time change).
 */
export function memberId(catalog: string, zoneId: string, createdAt: string): string {
  return createHash('sha256')
    .update(`${foldName(catalog)}\n${zoneId}\n${createdAt}`)
    .digest('hex')
    .slice(0, MEMBER_ID_CHARS);
}

/** The owner name of a member's PTR: `<unique-id>.zones.<catalog>`. */
export function memberOwner(catalog: string, id: string): string {
  return `${id}.zones.${foldName(catalog)}`;
}

/** The unique id of a member owner name (`<id>.zones.<catalog>`), or undefined when it is not one. */
export function memberIdOf(catalog: string, owner: string): string | undefined {
  const suffix = `.zones.${foldName(catalog)}`;
  const o = foldName(owner);
  if (!o.endsWith(suffix)) return undefined;
  const id = o.slice(0, o.length - suffix.length);
  return id.length > 0 && !id.includes('.') ? id : undefined;
}

/**
 * The master-file text of a new, empty catalog zone: SOA (serial 1), `NS invalid.` and the
 * schema version. Members are added afterwards as PTR RRsets.
 */
export function emptyCatalogText(catalog: string): string {
  const origin = foldName(catalog);
  return [
    `$ORIGIN ${origin}`,
    `@ ${CATZ_TTL} IN SOA invalid. invalid. 1 3600 600 2419200 0`,
    `@ ${CATZ_TTL} IN NS invalid.`,
    `version ${CATZ_TTL} IN TXT "${CATZ_SCHEMA_VERSION}"`,
    '',
  ].join('\n');
}

/** One RRset change of a catalog zone, in the control plane's change form. */
export type CatalogChange =
  | { op: 'replace'; name: string; type: 'PTR' | 'TXT'; ttl: number; records: { content: string }[] }
  | { op: 'delete'; name: string; type: 'PTR' | 'TXT' };

/** A member's properties (RFC 9432 §4.4): its groups (`group` TXT) and a change of ownership (`coo` PTR). */
export type CatalogProperty = 'group' | 'coo';

/** The owner name of property `prop` of member `id`: `<prop>.<unique-id>.zones.<catalog>`. */
export function propertyOwner(catalog: string, id: string, prop: CatalogProperty): string {
  return `${prop}.${memberOwner(catalog, id)}`;
}

/** The property and member id of a property owner name (`group.<id>.zones.CATZ`…), or undefined. */
export function propertyOf(
  catalog: string,
  owner: string,
): { prop: CatalogProperty; id: string } | undefined {
  const o = foldName(owner);
  const dot = o.indexOf('.');
  const prop = o.slice(0, dot);
  if (prop !== 'group' && prop !== 'coo') return undefined;
  const id = memberIdOf(catalog, o.slice(dot + 1));
  return id === undefined ? undefined : { prop, id };
}

/**
 * A group name this producer writes (§4.4.2: a TXT string whose meaning the producer and the
 * consumer agree on; Knot matches it to a `catalog-template` id): 1 to 63 letters, digits,
 * `-`, `_` or `.`, so it needs no quoting rules.
 */
export const GROUP_NAME = /^[A-Za-z0-9._-]{1,63}$/;

/** The change that sets member `id`'s groups (none: the property removed). */
export function setGroups(catalog: string, id: string, groups: readonly string[]): CatalogChange {
  const name = propertyOwner(catalog, id, 'group');
  if (groups.length === 0) return { op: 'delete', name, type: 'TXT' };
  return {
    op: 'replace',
    name,
    type: 'TXT',
    ttl: CATZ_TTL,
    records: groups.map((g) => ({ content: `"${g}"` })),
  };
}

/** The change that sets member `id`'s change of ownership to catalog `to` (undefined: removed). */
export function setCoo(catalog: string, id: string, to: string | undefined): CatalogChange {
  const name = propertyOwner(catalog, id, 'coo');
  if (to === undefined) return { op: 'delete', name, type: 'PTR' };
  return { op: 'replace', name, type: 'PTR', ttl: CATZ_TTL, records: [{ content: foldName(to) }] };
}

/** The change that makes `zone` a member of `catalog` under `id`. */
export function addMember(catalog: string, id: string, zone: string): CatalogChange {
  return {
    op: 'replace',
    name: memberOwner(catalog, id),
    type: 'PTR',
    ttl: CATZ_TTL,
    records: [{ content: foldName(zone) }],
  };
}

/** The change that removes the member `id` from `catalog`. */
export function removeMember(catalog: string, id: string): CatalogChange {
  return { op: 'delete', name: memberOwner(catalog, id), type: 'PTR' };
}
