/**
 * SOA serial arithmetic (RFC 1982): serials are unsigned 32-bit numbers compared on a
 * circle, so a version's serial can keep growing past 2^32-1 by wrapping to 0.
 * @module
 */

const MOD = 2 ** 32;
const HALF = 2 ** 31;

/** `s + 1` in RFC 1982 §3.1 serial addition (wraps from 4294967295 to 0). */
export function nextSerial(s: number): number {
  return (s + 1) % MOD;
}

/**
 * RFC 1982 §3.2: s1 > s2 when (s1 < s2 and s2 - s1 > 2^31) or (s1 > s2 and s1 - s2 < 2^31).
 * Pairs exactly 2^31 apart are undefined by the RFC and compare as not greater.
 */
export function serialGreater(s1: number, s2: number): boolean {
  return (s1 < s2 && s2 - s1 > HALF) || (s1 > s2 && s1 - s2 < HALF);
}

/**
 * The serial of a new version: `old + 1`, unless the change itself set an SOA whose serial
 * is greater (RFC 1982) than the old one — then that one (an operator's date-based serial).
 */
export function chooseSerial(oldSerial: number, requested: number | undefined): number {
  if (requested !== undefined && serialGreater(requested, oldSerial)) return requested;
  return nextSerial(oldSerial);
}
