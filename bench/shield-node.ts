/**
 * The Node UDP path's shield (src/shield/node-shield.ts) per query, in one process: the same
 * queries (four names of the test catalog, one of them missing, from 256 IPv4 sources)
 * answered by the Responder alone and through NodeShield (`--shield on`, RRL on at a rate that
 * never limits), alternating, CPU time per query (process.cpuUsage), medians of the rounds.
 * No network: what the shield adds to a cached answer.
 *
 *   node dist/bench/shield-node.js [--queries 300000] [--rounds 5]
 * @module
 */
import { Responder } from '../src/answer/respond.js';
import { zoneClassifier } from '../src/server/shared/shield.js';
import { NodeShield } from '../src/shield/node-shield.js';
import { PrefixSet } from '../src/shield/prefix-set.js';
import { buildQuery, exampleCatalog, UDP } from '../test/helpers/answer-fixtures.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1 || v > 100_000_000)
    throw new RangeError(`${name} must be a positive integer`);
  return v;
}

const n = arg('--queries', 300_000);
const rounds = arg('--rounds', 5);
const catalog = exampleCatalog();
const responder = new Responder(catalog, {});
const classify = zoneClassifier(() => catalog);
const queries = ['www.example.', 'mail.example.', 'nothere.example.', 'ns1.example.'].map((q) =>
  buildQuery(q, 1),
);
const sources = Array.from({ length: 256 }, (_, i) => `198.51.${i}.7`);
const shield = new NodeShield({
  mode: 'on',
  secrets: [new Uint8Array(16)],
  allow: new PrefixSet(),
  rrl: { responsesPerSecond: 1e6 },
});

/** CPU nanoseconds per query of `run` over n queries. */
function cpuPerQuery(run: (i: number) => unknown): number {
  const t = process.cpuUsage();
  for (let i = 0; i < n; i++) run(i);
  const u = process.cpuUsage(t);
  return ((u.user + u.system) * 1000) / n;
}

const alone: number[] = [];
const shielded: number[] = [];
for (let r = 0; r < rounds; r++) {
  alone.push(cpuPerQuery((i) => responder.respond(queries[i & 3], UDP)));
  shielded.push(
    cpuPerQuery((i) => {
      const q = queries[i & 3];
      return shield.handle(q, sources[i & 255], 1000 + i / 1000, classify, () => responder.respond(q, UDP));
    }),
  );
}
const median = (x: number[]) => x.sort((a, b) => a - b)[Math.floor(x.length / 2)];
const a = median(alone);
const s = median(shielded);
console.log(
  `Responder alone ${a.toFixed(0)} ns CPU/query; through NodeShield ${s.toFixed(0)} ns (+${(s - a).toFixed(0)} ns); medians of ${rounds} rounds of ${n} queries`,
);
