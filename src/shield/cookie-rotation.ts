/**
 * The cookie secret rotated on a schedule, as RFC 9018 §5 (and its Appendix on operation)
 * describes a rollover for servers that share a secret: a new secret is first **accepted**
 * everywhere (every worker checks cookies with it, none makes them with it yet), then, once
 * every worker has it, **made** everywhere; the previous secret stays accepted for one more
 * period. So at any time the set is [the secret that makes cookies, the previous one], and for
 * the short moment of a change [current, next, previous]: at most three secrets, as the native
 * shield holds (`shieldSetSecrets`). A cookie made with the previous secret verifies until the
 * next change; one made two changes ago does not.
 *
 * This is the schedule's state only (no timer, no clock): the primary of a server steps it and
 * hands every worker the set it returns (src/server/shared/shield.ts).
 * @module
 */
import { randomCookieSecret } from './cookies.js';

/** The default period when no secret is given: a new secret every day. */
export const DEFAULT_COOKIE_ROTATE_MS = 24 * 3600 * 1000;
/** Shortest period accepted (tests use seconds; under an hour cookies live shorter than RFC 9018's hour). */
export const MIN_COOKIE_ROTATE_MS = 1000;
/** Time between accepting the next secret and making cookies with it (bounded by period / 10). */
export const COOKIE_ROLLOVER_MS = 5000;

/**
 * `--cookie-rotate off|N[s|m|h|d]` → milliseconds (0 for off). A bare number is seconds.
 * @throws RangeError naming the flag
 */
export function parseCookieRotate(text: string): number {
  const t = text.trim();
  if (t === 'off') return 0;
  const m = /^(\d+)(s|m|h|d)?$/.exec(t);
  if (!m)
    throw new RangeError(
      `--cookie-rotate must be off or a duration such as 12h, 1d, 30m, 90s, not '${text}'`,
    );
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  const ms = Number(m[1]) * unit;
  if (ms < MIN_COOKIE_ROTATE_MS || ms > 365 * 86_400_000)
    throw new RangeError(`--cookie-rotate: '${text}' is out of range (1s .. 365d)`);
  return ms;
}

/** The rollover delay for a period: COOKIE_ROLLOVER_MS, at most a tenth of the period. */
export function rolloverDelay(periodMs: number): number {
  return Math.min(COOKIE_ROLLOVER_MS, Math.floor(periodMs / 10));
}

/** One server's cookie secrets through their rotations. */
export class CookieRotation {
  #make: Uint8Array;
  #previous: Uint8Array | undefined;
  #next: Uint8Array | undefined;
  /** Changes made (announce + promote counts one). */
  rotations = 0;
  readonly #fresh: () => Uint8Array;

  /** `initial`: the secret that makes cookies first; `fresh` makes each new secret (random). */
  constructor(initial: Uint8Array, fresh: () => Uint8Array = randomCookieSecret) {
    if (initial.length !== 16) throw new RangeError('a cookie secret is 16 octets');
    this.#make = initial;
    this.#fresh = fresh;
  }

  /** The set to hand out now: the first makes cookies, the others are accepted (1 to 3). */
  secrets(): Uint8Array[] {
    const out = [this.#make];
    if (this.#next) out.push(this.#next);
    if (this.#previous) out.push(this.#previous);
    return out;
  }

  /** Step 1: a new secret, accepted from now on but not yet made. Returns the set. */
  announce(): Uint8Array[] {
    this.#next ??= this.#fresh();
    return this.secrets();
  }

  /** Step 2: the announced secret makes cookies; the one before it stays accepted, the older goes. */
  promote(): Uint8Array[] {
    const next = this.#next ?? this.#fresh();
    this.#previous = this.#make;
    this.#make = next;
    this.#next = undefined;
    this.rotations++;
    return this.secrets();
  }
}
