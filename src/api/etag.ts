/**
 * Optimistic concurrency (RFC 9110 §8.8.3, §13.1.1): a zone's ETag is `"<version>"`; a change
 * sent with `If-Match` applies only while the zone is still at that version, else 412.
 * @module
 */
import type { FastifyReply } from 'fastify';
import { ApiError } from './errors.js';

/** The ETag of a zone version. */
export function etagOfVersion(version: number): string {
  return `"${version}"`;
}

/** Sets the ETag of a zone read or write. */
export function setZoneEtag(reply: FastifyReply, version: number): void {
  reply.header('etag', etagOfVersion(version));
}

/**
 * The version an `If-Match` header requires, or undefined when the header is absent or `*`
 * (any current version: the operation itself fails when the zone does not exist).
 * `current` is asked only when the header lists several tags.
 */
export async function versionOfIfMatch(
  header: string | string[] | undefined,
  current: () => Promise<number>,
): Promise<number | undefined> {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (value === undefined || value.trim() === '') return undefined;
  const tags = value
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  // RFC 9110 §13.1.1: "*" matches any current representation.
  if (tags.includes('*')) return undefined;
  const versions: number[] = [];
  for (const tag of tags) {
    // RFC 9110 §13.1.1: If-Match uses the strong comparison, so weak tags (W/"…") never match.
    // A bare number is taken too, for hand-written requests.
    const m = /^"(\d{1,15})"$/.exec(tag) ?? /^(\d{1,15})$/.exec(tag);
    if (m) versions.push(Number(m[1]));
  }
  if (versions.length === 0) {
    throw new ApiError(
      412,
      'API_ERR_PRECONDITION',
      `If-Match ${value} matches no version of the zone`,
      'If-Match',
    );
  }
  if (versions.length === 1) return versions[0];
  const now = await current();
  if (!versions.includes(now)) {
    throw new ApiError(
      412,
      'API_ERR_PRECONDITION',
      `the zone is at version ${now}, not ${value}`,
      'If-Match',
    );
  }
  // The control plane checks it again inside its transaction, so a change in between still fails.
  return now;
}
