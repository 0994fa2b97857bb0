/**
 * Who sends: the legitimate resolvers (each from its own loopback address, in classes that are
 * reported apart) and the bots. Addresses are IPv4 numbers in host order.
 *
 * - resolvers of the classes `steady`, `new`, `plain`, `storm`: 127.1.0.1, 127.1.0.2, … (250
 *   per /24);
 * - resolvers of the class `nat`: host .251-.254 of the /24s the bots use (a resolver behind
 *   the same carrier NAT as bots);
 * - bots: 127.2.0.1 … 127.2.0.250, 127.2.1.1 …, and on into 127.3.0.0/16 and beyond past
 *   65,000 bots.
 * @module
 */
import { seeded } from './random.js';
import { DrillConfigError } from './target.js';

/** The resolver classes (issue 8). */
export const RESOLVER_CLASSES = ['steady', 'new', 'nat', 'plain', 'storm'] as const;
export type ResolverClass = (typeof RESOLVER_CLASSES)[number];

/** What each class means, for reports. */
export const CLASS_MEANING: Record<ResolverClass, string> = {
  steady: 'seen before the attack (cookies, TCP on TC=1)',
  new: 'first appears when the attack starts',
  nat: 'shares a /24 with bots',
  plain: 'neither cookies nor TCP',
  storm: 'multiplies its rate 10-20x once answers slow',
};

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
}

/** Shares of each class among the resolvers. */
export type ClassShares = Record<ResolverClass, number>;

export const DEFAULT_SHARES: ClassShares = { steady: 0.4, new: 0.15, nat: 0.15, plain: 0.15, storm: 0.15 };

const BASE_RESOLVER = (127 << 24) | (1 << 16);
const BASE_BOT = (127 << 24) | (2 << 16);
const PER_BLOCK = 250;

/** Address of bot `b`. */
export function botAddress(b: number): number {
  return (BASE_BOT + Math.floor(b / PER_BLOCK) * 256 + (b % PER_BLOCK) + 1) >>> 0;
}

/** The resolvers: `count` of them, split by `shares` (nat needs bots to share a /24 with). */
export function makeResolvers(
  count: number,
  bots: number,
  seed: number,
  shares = DEFAULT_SHARES,
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
  return out;
}
