/**
 * Who sends: the legitimate resolvers (each from its own loopback address, in classes that are
 * reported apart) and the bots. Addresses are IPv4 numbers in host order.
 *
 * - resolvers of the classes `steady`, `new`, `plain`, `storm`: 127.1.0.1, 127.1.0.2, … (250
 *   per /24);
 * - resolvers of the class `nat`: host .251-.254 of the /24s the bots use (a resolver behind
 *   the same carrier NAT as bots);
 * - resolvers of the class `lone` (own22): 127.1.128.1, 127.1.129.1, … — each alone in a /24
 *   that no bot and no other resolver uses (the other classes' 20,000 at most fill 127.1.0-79),
 *   at most LONE_MAX of them, a group per wave (`lonePerWave` each);
 * - bots: 127.2.0.1 … 127.2.0.250, 127.2.1.1 …, and on into 127.3.0.0/16 and beyond past
 *   65,000 bots;
 * - with `--rotate-24s N` (maps25), the bots' UDP datagrams come instead from N /24s taken in turn,
 *   127.4.0.0/24, 127.4.1.0/24, … (at most ROTATE_MAX: 127.4.0.0 to 127.254.255.0), a random host
 *   .1-.250 in each: a flood spread thinner than any per-/24 rule sees, over more /24s than the
 *   kernel's LRU map of /24s holds (4,096).
 * @module
 */
import { seeded } from './random.js';
import { DrillConfigError } from './target.js';

/** The resolver classes (issue 8). */
export const RESOLVER_CLASSES = ['steady', 'new', 'nat', 'plain', 'storm', 'lone'] as const;
export type ResolverClass = (typeof RESOLVER_CLASSES)[number];

/** What each class means, for reports. */
export const CLASS_MEANING: Record<ResolverClass, string> = {
  steady: 'seen before the attack (cookies, TCP on TC=1)',
  new: 'first appears when the attack starts',
  nat: 'shares a /24 with bots',
  plain: 'neither cookies nor TCP',
  storm: 'multiplies its rate 10-20x once answers slow',
  lone: 'first appears when a wave starts, each in a /24 of its own',
};

/** The classes that send from before any attack (the others first appear with a wave). */
export const BEFORE_ATTACK: readonly ResolverClass[] = RESOLVER_CLASSES.filter(
  (c) => c !== 'new' && c !== 'lone',
);

/** One simulated resolver. */
export interface ResolverSpec {
  readonly index: number;
  readonly cls: ResolverClass;
  /** IPv4 address (host order). */
  readonly address: number;
  /** Sends cookies and retries over TCP on TC=1. */
  readonly modern: boolean;
  /** Multiplier of its rate while answers are slow (storm class), else 1. */
  readonly stormFactor: number;
  /** The `lone` class: the wave (0 = the scenario's first attack phase) its group first appears
   * in; it sends from that wave's start until the next wave's. */
  readonly wave?: number;
}

/** Shares of each class among the `--resolvers` (the `lone` class comes on top: makeResolvers). */
export type ClassShares = Record<Exclude<ResolverClass, 'lone'>, number>;

export const DEFAULT_SHARES: ClassShares = { steady: 0.4, new: 0.15, nat: 0.15, plain: 0.15, storm: 0.15 };

/** `lone` resolvers per wave by default, and at most in all (one /24 each in 127.1.128-255). */
export const LONE_PER_WAVE = 16;
export const LONE_MAX = 128;
const BASE_LONE = (127 << 24) | (1 << 16) | (128 << 8);

/** The `lone` resolvers per wave of a scenario of `waves` waves by default: LONE_PER_WAVE, fewer
 * when LONE_MAX would not hold them all. */
export function defaultLonePerWave(waves: number): number {
  return waves > 0 ? Math.min(LONE_PER_WAVE, Math.floor(LONE_MAX / waves)) : 0;
}

const BASE_RESOLVER = (127 << 24) | (1 << 16);
const BASE_BOT = (127 << 24) | (2 << 16);
const PER_BLOCK = 250;

/** maps25: the rotating flood's /24s: from 127.4.0.0/24 (past the bots' 127.2/16 and the settle's
 * 127.3.0.1) up to 127.254.255.0/24. */
export const ROTATE_MAX = 251 * 256;
const BASE_ROTATE = (127 << 24) | (4 << 16);

/** Checks --rotate-24s: 0 (off) or a whole number of /24s up to ROTATE_MAX. */
export function checkRotate24s(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > ROTATE_MAX)
    throw new DrillConfigError(`--rotate-24s: a whole number from 0 (off) to ${ROTATE_MAX}`);
  return n;
}

/** The address of the rotating flood's `step`th datagram: /24 number `step` mod `n`, host 1 + `host` mod 250. */
export function rotatingAddress(step: number, n: number, host: number): number {
  return (BASE_ROTATE + (step % n) * 256 + 1 + (host % PER_BLOCK)) >>> 0;
}

/** Address of bot `b`. */
export function botAddress(b: number): number {
  return (BASE_BOT + Math.floor(b / PER_BLOCK) * 256 + (b % PER_BLOCK) + 1) >>> 0;
}

/**
 * The resolvers: `count` of them, split by `shares` (nat needs bots to share a /24 with); then
 * the `lone` class on top, `lone.perWave` for each of `lone.waves` waves (LONE_MAX in all).
 */
export function makeResolvers(
  count: number,
  bots: number,
  seed: number,
  shares = DEFAULT_SHARES,
  lone: { readonly perWave: number; readonly waves: number } = { perWave: 0, waves: 0 },
): ResolverSpec[] {
  if (!Number.isInteger(count) || count < 1 || count > 20000)
    throw new DrillConfigError('--resolvers: a whole number from 1 to 20000');
  const rand = seeded(seed ^ 0x5eed);
  const total = Object.values(shares).reduce((a, b) => a + b, 0);
  const out: ResolverSpec[] = [];
  let plainIndex = 0;
  let natIndex = 0;
  const natRoom = Math.ceil(bots / PER_BLOCK) * 4;
  for (const cls of RESOLVER_CLASSES) {
    if (cls === 'lone') continue;
    let n = Math.round((count * shares[cls]) / total);
    if (cls === 'storm') n = count - out.length;
    if (cls === 'nat') n = Math.min(n, natRoom);
    for (let i = 0; i < n && out.length < count; i++) {
      let address: number;
      if (cls === 'nat') {
        address = (BASE_BOT + Math.floor(natIndex / 4) * 256 + 251 + (natIndex % 4)) >>> 0;
        natIndex++;
      } else {
        address =
          (BASE_RESOLVER + Math.floor(plainIndex / PER_BLOCK) * 256 + (plainIndex % PER_BLOCK) + 1) >>> 0;
        plainIndex++;
      }
      out.push({
        index: out.length,
        cls,
        address,
        modern: cls !== 'plain',
        stormFactor: cls === 'storm' ? 10 + Math.floor(rand() * 11) : 1,
      });
    }
  }
  if (!Number.isInteger(lone.perWave) || lone.perWave < 0 || lone.perWave * lone.waves > LONE_MAX)
    throw new DrillConfigError(`--lone: a whole number, at most ${LONE_MAX} over all the waves`);
  for (let w = 0; w < lone.waves; w++)
    for (let i = 0; i < lone.perWave; i++) {
      const k = w * lone.perWave + i;
      out.push({
        index: out.length,
        cls: 'lone',
        address: (BASE_LONE + k * 256 + 1) >>> 0,
        modern: true,
        stormFactor: 1,
        wave: w,
      });
    }
  return out;
}
