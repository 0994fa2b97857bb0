/**
 * Micro-benchmark behind a finding of the random-subdomain suite: evicting the oldest entry of
 * a full JS `Map` with `map.entries().next()` then `delete` (FIFO eviction, as a bounded cache
 * may do) costs time that grows with the entries deleted since the table was last rebuilt,
 * because iteration skips the deleted slots at the front. CPU ns per evict-and-insert, per
 * round, for a few map sizes. Not a test; run after a build:
 *   node dist/bench/map-evict.js [--ops 100000]
 * @module
 */

const argOps = process.argv.indexOf('--ops');
const ops = argOps >= 0 ? Number(process.argv[argOps + 1]) : 100_000;

/** CPU ns per operation of `rounds` rounds of `n` FIFO evict-and-insert on a full map of `size`. */
export function fifoEvictNs(size: number, n: number, rounds: number): number[] {
  const m = new Map<string, number>();
  let k = 0;
  for (; k < size; k++) m.set(`key-${k}`, k);
  const out: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      const first = m.keys().next().value as string;
      m.delete(first);
      m.set(`key-${k}`, k);
      k++;
    }
    const u = process.cpuUsage(t);
    out.push(((u.user + u.system) * 1000) / n);
  }
  return out;
}

if (process.argv[1]?.endsWith('map-evict.js')) {
  for (const size of [1000, 10_000, 62_500, 187_500]) {
    const ns = fifoEvictNs(size, ops, 3).map((x) => x.toFixed(0));
    console.log(`map of ${size} entries: FIFO evict + insert ${ns.join(', ')} ns/op (3 rounds of ${ops})`);
  }
}
