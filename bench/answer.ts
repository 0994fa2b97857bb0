/**
 * Microbenchmark of the responder (not a test): µs per `respond()` for a typical query mix,
 * with the response cache (hits) and without it (decode + answer + encode every time), and
 * with the cache while zones keep changing (`switchboard start` on a busy platform: one zone
 * replaced every `CHURN_EVERY` queries, out of `CHURN_ZONES`; the mix goes half to the big
 * zone, half to the small ones); then the miss path: `random` (every query a new random label
 * under the zone, NXDOMAIN, as in the 2016 attack), `random-wild` (new random labels under the
 * wildcard: positive answers) and `mixed` (every other query of the typical mix replaced by a
 * new random name), each with the default cache, measured on queries never seen before;
 * `random-before` and `mixed-before` run the same streams with the miss path off
 * (`fastPath: false`, every miss admitted to the cache), for a ratio measured side by side.
 * Run: `node dist/bench/answer.js [iterations] [mode ...]`. Prints one line per mode.
 * @module
 */
import { Catalog } from '../src/answer/catalog.js';
import { type QueryContext, Responder } from '../src/answer/respond.js';
import { RRType } from '../src/wire/constants.js';
import { encodeMessage } from '../src/wire/encode.js';
import type { Message } from '../src/wire/message.js';
import { Name } from '../src/wire/name.js';
import { parseZoneText } from '../src/zone/parser.js';
import { Zone } from '../src/zone/zone.js';

const HOSTS = 2000;
/** Small zones in the churn mode, and how many queries between two zone changes. */
const CHURN_ZONES = 1000;
const CHURN_EVERY = 250;

function buildZone(): Zone {
  let text = '$ORIGIN bench.test.\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n';
  text += '@ NS ns1\n@ NS ns2\n@ MX 10 mail\nns1 A 192.0.2.1\nns2 A 192.0.2.2\nmail A 192.0.2.3\n';
  text += '*.wild TXT "wildcard"\n';
  for (let i = 0; i < HOSTS; i++) {
    text += `h${i} A 10.0.${i >> 8}.${i & 0xff}\nh${i} AAAA 2001:db8::${i.toString(16)}\n`;
    if (i % 10 === 0) text += `c${i} CNAME h${i}\n`;
    if (i % 50 === 0) text += `d${i} NS ns.d${i}\nns.d${i} A 192.0.2.${i % 250}\n`;
  }
  const origin = Name.parse('bench.test.');
  return Zone.build(origin, parseZoneText(text, { origin }));
}

function query(name: string, type: number, edns: boolean, id: number): Uint8Array {
  const msg: Message = {
    id,
    flags: 0x0100,
    questions: [{ name: Name.parse(name), type, class: 1 }],
    answers: [],
    authority: [],
    additional: [],
  };
  if (edns) msg.edns = { udpSize: 1232, extendedRcode: 0, version: 0, flags: 0x8000, options: [] };
  return Uint8Array.from(encodeMessage(msg));
}

/** A typical mix: mostly A/AAAA hits, some CNAME, MX, NXDOMAIN, wildcard and referrals. */
function buildMix(n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let seed = 12345;
  const rand = (m: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return (seed >>> 8) % m;
  };
  for (let i = 0; i < n; i++) {
    const h = rand(HOSTS);
    const roll = rand(100);
    const edns = rand(2) === 0;
    const id = rand(65536);
    let q: Uint8Array;
    if (roll < 50) q = query(`h${h}.bench.test.`, RRType.A, edns, id);
    else if (roll < 65) q = query(`h${h}.bench.test.`, RRType.AAAA, edns, id);
    else if (roll < 75) q = query(`c${h - (h % 10)}.bench.test.`, RRType.A, edns, id);
    else if (roll < 80) q = query('bench.test.', RRType.MX, edns, id);
    else if (roll < 90) q = query(`nx${h}.bench.test.`, RRType.A, edns, id);
    else if (roll < 95) q = query(`x${h}.wild.bench.test.`, RRType.TXT, edns, id);
    else q = query(`www.d${h - (h % 50)}.bench.test.`, RRType.A, edns, id);
    out.push(q);
  }
  return out;
}

function buildSmallZone(i: number, version: number): Zone {
  const origin = Name.parse(`z${i}.test.`);
  let text = `$TTL 300\n@ SOA ns1.bench.test. hostmaster ${version} 7200 3600 1209600 300\n@ NS ns1.bench.test.\n`;
  text += `@ A 192.0.2.${i & 0xff}\nwww A 192.0.2.${version & 0xff}\n@ MX 10 mail.bench.test.\n`;
  return Zone.build(origin, parseZoneText(text, { origin }));
}

/** Half the big zone's mix, half www/apex/MX queries to the small zones. */
function buildChurnMix(n: number): Uint8Array[] {
  const big = buildMix(n);
  const random = seededLcg(777);
  return big.map((q, i) => {
    if (i % 2 === 0) return q;
    const z = random(CHURN_ZONES);
    const roll = random(3);
    const name = roll === 0 ? `z${z}.test.` : `www.z${z}.test.`;
    return query(name, roll === 2 ? RRType.MX : RRType.A, random(2) === 0, random(65536));
  });
}

function seededLcg(start: number): (m: number) => number {
  let seed = start;
  return (m: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return (seed >>> 8) % m;
  };
}

/**
 * The cache while one small zone is replaced every `CHURN_EVERY` queries. Catalogs are built
 * before timing (the worker builds them on its own message path); `setCatalog` is timed.
 */
function measureChurn(label: string, queries: Uint8Array[], rounds: number): void {
  const big = buildZone();
  const small = Array.from({ length: CHURN_ZONES }, (_, i) => buildSmallZone(i, 1));
  let catalog = new Catalog([big, ...small]);
  const responder = new Responder(catalog);
  const steps = Math.ceil((queries.length * rounds) / CHURN_EVERY) + 1;
  const random = seededLcg(4242);
  const catalogs: Catalog[] = [];
  for (let v = 0; v < steps; v++) {
    const i = random(CHURN_ZONES);
    small[i] = buildSmallZone(i, v + 2);
    catalog = new Catalog([big, ...small]);
    catalogs.push(catalog);
  }
  const ctx: QueryContext = { transport: 'udp', address: '127.0.0.1', port: 5300 };
  for (const q of queries) responder.respond(q, ctx);
  const before = responder.cacheStats()!.udp;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let n = 0;
  let next = 0;
  for (let r = 0; r < rounds; r++) {
    for (const q of queries) {
      if (n % CHURN_EVERY === 0) responder.setCatalog(catalogs[next++]);
      responder.respond(q, ctx);
      n++;
    }
  }
  const wall = Number(process.hrtime.bigint() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const after = responder.cacheStats()!.udp;
  const hits = after.hits - before.hits;
  const misses = after.misses - before.misses;
  console.log(
    `${label.padEnd(10)} ${(wall / n).toFixed(2)} µs/query wall, ${((cpu.user + cpu.system) / n).toFixed(2)} µs/query CPU ` +
      `(${n} queries, ${next} zone changes over ${CHURN_ZONES + 1} zones, ${((100 * hits) / (hits + misses)).toFixed(1)} % hits)`,
  );
}

function measure(label: string, responder: Responder, queries: Uint8Array[], rounds: number): void {
  const ctx: QueryContext = { transport: 'udp', address: '127.0.0.1', port: 5300 };
  let bytes = 0;
  // Warm-up: JIT and (for the cached responder) the cache.
  for (const q of queries) bytes += responder.respond(q, ctx)?.length ?? 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let n = 0;
  for (let r = 0; r < rounds; r++) {
    for (const q of queries) {
      bytes += responder.respond(q, ctx)?.length ?? 0;
      n++;
    }
  }
  const wall = Number(process.hrtime.bigint() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  console.log(
    `${label.padEnd(10)} ${(wall / n).toFixed(2)} µs/query wall, ${((cpu.user + cpu.system) / n).toFixed(2)} µs/query CPU ` +
      `(${n} queries, ${(bytes / (n + queries.length)).toFixed(0)} B average response)`,
  );
}

/** A random label of 8..15 letters and digits (a new name every call). */
function randomLabel(random: (m: number) => number): string {
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let s = '';
  for (let n = 8 + random(8); n > 0; n--) s += chars[random(chars.length)];
  return s;
}

/** `n` queries for new random names: under the zone (`suffix` bench.test.) or its wildcard. */
function buildRandom(n: number, seed: number, suffix: string, type: number): Uint8Array[] {
  const random = seededLcg(seed);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++)
    out.push(query(`${randomLabel(random)}${i}.${suffix}`, type, random(2) === 0, random(65536)));
  return out;
}

/** Every other query of the typical mix replaced by a new random name (NXDOMAIN). */
function buildMixed(n: number, seed: number): Uint8Array[] {
  const base = buildMix(4000);
  const random = buildRandom(Math.ceil(n / 2), seed, 'bench.test.', RRType.A);
  return Array.from({ length: n }, (_, i) => (i % 2 === 0 ? base[(i >> 1) % base.length] : random[i >> 1]));
}

/**
 * µs per query over `timed`, after `warm` went through the same responder (JIT, cache): every
 * timed query is new to the responder where the mode says so. Also prints the cache's size.
 */
function measureStream(label: string, responder: Responder, warm: Uint8Array[], timed: Uint8Array[]): void {
  const ctx: QueryContext = { transport: 'udp', address: '127.0.0.1', port: 5300 };
  let bytes = 0;
  for (const q of warm) bytes += responder.respond(q, ctx)?.length ?? 0;
  bytes = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (const q of timed) bytes += responder.respond(q, ctx)?.length ?? 0;
  const wall = Number(process.hrtime.bigint() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const n = timed.length;
  const s = responder.cacheStats()?.udp;
  console.log(
    `${label.padEnd(10)} ${(wall / n).toFixed(2)} µs/query wall, ${((cpu.user + cpu.system) / n).toFixed(2)} µs/query CPU ` +
      `(${n} queries, ${(bytes / n).toFixed(0)} B average response, cache ${s?.entries ?? 0} entries)`,
  );
}

const iterations = Number(process.argv[2] ?? 200000);
const modes = new Set(process.argv.slice(3));
const run = (m: string) => modes.size === 0 || modes.has(m);
const catalog = new Catalog([buildZone()]);
const mix = buildMix(4000);
const rounds = Math.max(1, Math.round(iterations / mix.length));
if (run('cached')) measure('cached', new Responder(catalog), mix, rounds);
if (run('uncached'))
  measure('uncached', new Responder(catalog, { cache: false }), mix, Math.max(1, Math.round(rounds / 4)));
if (run('churn')) measureChurn('churn', buildChurnMix(4000), Math.max(1, Math.round(rounds / 4)));
const streamed = Math.max(1000, Math.round(iterations / 2));
if (run('random'))
  measureStream(
    'random',
    new Responder(catalog),
    buildRandom(streamed, 1, 'bench.test.', RRType.A),
    buildRandom(streamed, 2, 'bench.test.', RRType.A),
  );
if (run('random-wild'))
  measureStream(
    'rand-wild',
    new Responder(catalog),
    buildRandom(streamed, 3, 'wild.bench.test.', RRType.TXT),
    buildRandom(streamed, 4, 'wild.bench.test.', RRType.TXT),
  );
if (run('mixed'))
  measureStream('mixed', new Responder(catalog), buildMixed(streamed, 5), buildMixed(streamed, 6));
// The same streams without the miss path (full decode and encode, every miss admitted).
const before = { fastPath: false, cache: { admission: 'first' as const } };
if (run('random-before'))
  measureStream(
    'random/bef',
    new Responder(catalog, before),
    buildRandom(streamed, 1, 'bench.test.', RRType.A),
    buildRandom(streamed, 2, 'bench.test.', RRType.A),
  );
if (run('mixed-before'))
  measureStream(
    'mixed/bef',
    new Responder(catalog, before),
    buildMixed(streamed, 5),
    buildMixed(streamed, 6),
  );
