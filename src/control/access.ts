/**
 * Tokens and authorization. Secrets are `sb_` + 32 random bytes (base64url); only their
 * SHA-256 is stored, so a copy of the database grants nothing. Every tenant check of the
 * control plane is one of the functions here: another account's zone is NOT_FOUND (its
 * existence is not revealed), a visible zone the token may not write is FORBIDDEN.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { ControlError, type Principal, type TokenScope } from './types.js';

/** Prefix of every secret (recognisable in logs and secret scanners). */
export const SECRET_PREFIX = 'sb_';
/** Characters of the secret kept as `prefix` to recognise a token in lists. */
export const PREFIX_LENGTH = 10;

/** A fresh secret. */
export function newSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64url');
}

/** The stored form of a secret: hex SHA-256. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** The principal the platform acts as (no token row; audit shows `system`). */
export const SYSTEM_PRINCIPAL: Principal = Object.freeze({
  tokenId: 'system',
  accountId: null,
  scope: Object.freeze({ admin: true, access: 'write' }) as TokenScope,
}) as Principal;

/** Throws FORBIDDEN unless `p` is an administrator. */
export function requireAdmin(p: Principal): void {
  if (!p.scope.admin) throw new ControlError('CTL_ERR_FORBIDDEN', 'this needs an administrator token');
}

/** Throws FORBIDDEN unless `p` may write. */
export function requireWrite(p: Principal): void {
  if (p.scope.access !== 'write') throw new ControlError('CTL_ERR_FORBIDDEN', 'this token is read-only');
}

/** True for a token over its whole account (not limited to listed zones), or an admin. */
export function isAccountWide(p: Principal): boolean {
  return p.scope.admin || p.scope.zones === undefined || p.scope.zones === null;
}

/** Throws FORBIDDEN for tokens limited to listed zones (account-level operations). */
export function requireAccountWide(p: Principal): void {
  if (!isAccountWide(p))
    throw new ControlError(
      'CTL_ERR_FORBIDDEN',
      'this token is limited to some zones; this needs an account token',
    );
}

/** Folded zone names a zone-scoped token lists (absolute, final dot). */
function scopeZones(p: Principal): Set<string> | undefined {
  const zones = p.scope.zones;
  if (zones === undefined || zones === null) return undefined;
  return new Set(zones.map((z) => (z.endsWith('.') ? z : `${z}.`).toLowerCase()));
}

/** True when `p` may see the zone `name` of account `accountId`. */
export function canSeeZone(p: Principal, name: string, accountId: string): boolean {
  if (p.scope.admin) return true;
  if (p.accountId === null || p.accountId !== accountId) return false;
  const zones = scopeZones(p);
  return zones === undefined || zones.has(name);
}

/** True when `p`'s zone list (if any) includes `name` (for creating a zone). */
export function scopeAllowsZone(p: Principal, name: string): boolean {
  if (p.scope.admin) return true;
  const zones = scopeZones(p);
  return zones === undefined || zones.has(name);
}

/** True when `p` may act on account `accountId` (admins: any). */
export function canSeeAccount(p: Principal, accountId: string): boolean {
  return p.scope.admin || (p.accountId !== null && p.accountId === accountId);
}

/** The NOT_FOUND of a zone (absent, or another account's: never says which). */
export function zoneNotFound(name: string): ControlError {
  return new ControlError('CTL_ERR_NOT_FOUND', `zone ${name} not found`);
}
