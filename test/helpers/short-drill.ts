/**
 * The options of the short drills in `npm test` (test/drill/drill.test.ts,
 * test/drill/shield-dry-run.test.ts): fixed seed, 60 resolvers, 10,000 bots, hard stops of 20 s
 * and 5 million packets, zone 0 the victim.
 * @module
 */
import type { DrillOptions } from '../../src/drill/index.js';
import type { ZoneSetShape } from '../../src/drill/zones.js';

/** A short drill against `peer` (loopback) over zones of `shape`; `more` overrides any field. */
export function shortDrillOptions(
  peer: { host: string; port: number },
  shape: ZoneSetShape,
  more: Partial<DrillOptions>,
): DrillOptions {
  return {
    target: { host: peer.host, port: peer.port, family: 4 },
    stops: { maxSeconds: 20, maxPackets: 5_000_000 },
    seed: 42,
    shape,
    victim: 0,
    resolvers: 60,
    bots: 10_000,
    perResolverRate: 10,
    typoShare: 0.02,
    senders: 1,
    io: 'auto',
    ...more,
  };
}
