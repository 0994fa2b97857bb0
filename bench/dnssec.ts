/**
 * Microbenchmark of DNSSEC answers from signed zones (not a test): CPU µs per `respond()` on
 * the JS path, the response cache off (every query answered by the engine: a random-name
 * flood never hits the cache), for NXDOMAIN with DO from the same zone unsigned, signed with
 * NSEC, and signed with NSEC3 (0 and 10 iterations: each NSEC3 NXDOMAIN hashes up to three
 * new names); then a positive answer with DO; then the one-time cost of a zone's proof index
 * (built on the zone's first DO query). Modes alternate in rounds in one process; medians.
 * Needs ldns-keygen and ldns-signzone.
 * Run: `node dist/bench/dnssec.js [hosts=2000] [rounds=5] [queries=20000]`.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catalog } from '../src/answer/catalog.js';
import { signedIndex } from '../src/answer/dnssec.js';
import { Responder } from '../src/answer/respond.js';
import { EDNS_DO, RRType } from '../src/wire/constants.js';
import { encodeMessage } from '../src/wire/encode.js';
import { Name } from '../src/wire/name.js';
import { parseZoneText } from '../src/zone/parser.js';
import { Zone } from '../src/zone/zone.js';

const hosts = Number(process.argv[2] ?? 2000);
const rounds = Number(process.argv[3] ?? 5);
const queries = Number(process.argv[4] ?? 20000);
const ORIGIN = 'bench.test.';

function zoneText(): string {
  let text = `$ORIGIN ${ORIGIN}\n$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\n`;
  text += '*.wild TXT "wildcard"\n';
  for (let i = 0; i < hosts; i++) text += `h${i} A 10.0.${i >> 8}.${i & 0xff}\n`;
  return text;
}

function sign(dir: string, plain: string, args: string[]): string {
  const bare = ORIGIN.slice(0, -1);
  const ksk = execFileSync('ldns-keygen', ['-a', 'ECDSAP256SHA256', '-k', bare], {
    cwd: dir,
    encoding: 'utf8',
  }).trim();
  const zsk = execFileSync('ldns-keygen', ['-a', 'ECDSAP256SHA256', bare], {
    cwd: dir,
    encoding: 'utf8',
  }).trim();
  const out = join(dir, `signed-${args.join('')}.zone`);
  execFileSync('ldns-signzone', ['-e', '20300101000000', '-f', out, ...args, plain, ksk, zsk], { cwd: dir });
  return readFileSync(out, 'latin1');
}

function build(text: string): Zone {
  const origin = Name.parse(ORIGIN);
  return Zone.build(origin, parseZoneText(text, { origin }));
}

function query(name: string, type: number, id: number): Uint8Array {
  return Uint8Array.from(
    encodeMessage({
      id,
      flags: 0,
      questions: [{ name: Name.parse(name), type, class: 1 }],
      answers: [],
      authority: [],
      additional: [],
      edns: { udpSize: 1232, extendedRcode: 0, version: 0, flags: EDNS_DO, options: [] },
    }),
  );
}

/** CPU µs per answer over `qs`. */
function run(r: Responder, qs: Uint8Array[]): number {
  const t = process.cpuUsage();
  for (const q of qs) r.respond(q, { transport: 'tcp' });
  const d = process.cpuUsage(t);
  return (d.user + d.system) / qs.length;
}

function note(results: Record<string, number[]>, key: string, v: number): void {
  const list = results[key];
  if (list === undefined) results[key] = [v];
  else list.push(v);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const dir = mkdtempSync(join(tmpdir(), 'sb-bench-dnssec-'));
try {
  const plain = join(dir, 'plain.zone');
  writeFileSync(plain, zoneText());
  const zones: Record<string, Zone> = {
    unsigned: build(zoneText()),
    nsec: build(sign(dir, plain, [])),
    'nsec3-0': build(sign(dir, plain, ['-n', '-t', '0', '-s', 'abcd'])),
    'nsec3-10': build(sign(dir, plain, ['-n', '-t', '10', '-s', 'abcd'])),
  };
  for (const [mode, z] of Object.entries(zones)) {
    const t = process.cpuUsage();
    signedIndex(z);
    const d = process.cpuUsage(t);
    console.log(
      `index ${mode}: ${((d.user + d.system) / 1000).toFixed(1)} ms CPU (${z.recordCount} records)`,
    );
  }
  const responders = Object.fromEntries(
    Object.entries(zones).map(([k, z]) => [k, new Responder(new Catalog([z]), { cache: false })]),
  );
  const results: Record<string, number[]> = {};
  let serial = 0;
  for (let round = 0; round < rounds; round++) {
    // New random names each round: nothing any cache could have kept.
    const nx = Array.from({ length: queries }, (_, i) =>
      query(
        `r${round}x${i}-${Math.random().toString(36).slice(2, 8)}.${ORIGIN}`,
        RRType.A,
        ++serial & 0xffff,
      ),
    );
    const hit = Array.from({ length: queries }, (_, i) =>
      query(`h${i % hosts}.${ORIGIN}`, RRType.A, ++serial & 0xffff),
    );
    for (const [mode, r] of Object.entries(responders)) {
      note(results, `nxdomain ${mode}`, run(r, nx));
      note(results, `positive ${mode}`, run(r, hit));
    }
  }
  for (const [k, v] of Object.entries(results))
    console.log(`${k.padEnd(20)} ${median(v).toFixed(2)} µs/answer CPU (median of ${rounds})`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
