/**
 * Keyset pagination: a page is `limit` rows after (or before) the position in an opaque
 * cursor, so pages stay stable while rows are added, and no OFFSET scan grows with depth.
 * @module
 */
import { ControlError, type Page, type PageRequest } from './types.js';

/** Default rows per page. */
export const DEFAULT_LIMIT = 100;
/** Most rows per page. */
export const MAX_LIMIT = 1000;

/** The page size asked for (default 100, at most 1000). */
export function pageLimit(req: PageRequest | undefined): number {
  const limit = req?.limit;
  if (limit === undefined || limit === null) return DEFAULT_LIMIT;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1)
    throw new ControlError('CTL_ERR_VALIDATION', 'limit must be a positive integer', 'limit');
  return Math.min(limit, MAX_LIMIT);
}

/** Encodes a position as an opaque cursor. */
export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

/**
 * Decodes a cursor into a position that `check` accepts (undefined without a cursor).
 * @throws ControlError CTL_ERR_VALIDATION field `cursor`
 */
export function decodeCursor<T>(req: PageRequest | undefined, check: (v: unknown) => v is T): T | undefined {
  const cursor = req?.cursor;
  if (cursor === undefined || cursor === null || cursor === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(String(cursor), 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (!check(value)) throw new ControlError('CTL_ERR_VALIDATION', 'bad cursor', 'cursor');
  return value;
}

/** A page from `limit + 1` fetched rows: the extra row only says there is more. */
export function makePage<R, T>(
  rows: readonly R[],
  limit: number,
  map: (r: R) => T,
  position: (r: R) => unknown,
): Page<T> {
  const more = rows.length > limit;
  const items = (more ? rows.slice(0, limit) : rows).map(map);
  const page: Page<T> = { items };
  if (more) page.next = encodeCursor(position(rows[limit - 1]));
  return page;
}

/** Cursor check for `{at, id}` positions. */
export function isTimeCursor(v: unknown): v is { at: string; id: string } {
  const o = v as { at?: unknown; id?: unknown } | null;
  return o !== null && typeof o === 'object' && typeof o.at === 'string' && typeof o.id === 'string';
}

/** Cursor check for string positions. */
export function isStringCursor(v: unknown): v is string {
  return typeof v === 'string';
}

/** Cursor check for integer positions. */
export function isIntCursor(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}
