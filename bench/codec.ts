/**
 * Micro-benchmark of the wire codec: decoding a typical query and encoding a typical answer,
 * in CPU ns per operation (best of 5 rounds). Not a test; run after a build:
 *   node dist/bench/codec.js [--ms 1000]
 * @module
 */
import { EDNS_DO, Flag, RRType } from '../src/wire/constants.js';
import { decodeMessage, readName } from '../src/wire/decode.js';
import { buildCookieOption } from '../src/wire/edns.js';
import { encodeMessage, MessageWriter, Section } from '../src/wire/encode.js';
import type { Edns, Message } from '../src/wire/message.js';
import { Name } from '../src/wire/name.js';

const argMs = process.argv.indexOf('--ms');
const budgetMs = argMs >= 0 ? Number(process.argv[argMs + 1]) : 1000;

/**
 * Runs `fn` in rounds of about `budgetMs / 5` (after a warm-up) and returns the best round's
 * CPU time per call in ns: CPU time and the best round keep other load on the shared
 * machine out of the figure as far as possible.
 */
function measure(fn: () => unknown): number {
  let sink = 0;
  for (let i = 0; i < 50_000; i++) sink ^= fn() === undefined ? 0 : 1;
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 5; round++) {
    let iterations = 0;
    const cpu = process.cpuUsage();
    const deadline = performance.now() + budgetMs / 5;
    while (performance.now() < deadline) {
      for (let i = 0; i < 5_000; i++) sink ^= fn() === undefined ? 0 : 1;
      iterations += 5_000;
    }
    const used = process.cpuUsage(cpu);
    best = Math.min(best, ((used.user + used.system) * 1000) / iterations);
  }
  if (sink === 42) console.log('');
  return best;
}

const qname = Name.parse('www.Example.com.');
const zone = Name.parse('example.com.');
const queryEdns: Edns = {
  udpSize: 1232,
  extendedRcode: 0,
  version: 0,
  flags: EDNS_DO,
  options: [buildCookieOption(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))],
};
const query: Message = {
  id: 0x1234,
  flags: Flag.RD,
  questions: [{ name: qname, type: RRType.A, class: 1 }],
  answers: [],
  authority: [],
  additional: [],
  edns: queryEdns,
};
const queryBytes = encodeMessage(query);

const ns = ['ns1', 'ns2'].map((l) => Name.parse(`${l}.example.com.`));
const answerA = [Uint8Array.of(192, 0, 2, 1), Uint8Array.of(192, 0, 2, 2)];
const nsRdata = ns.map((n) => n.toBytes());
const responseEdns: Edns = { udpSize: 1232, extendedRcode: 0, version: 0, flags: EDNS_DO, options: [] };

function encodeAnswer(): Uint8Array {
  const w = new MessageWriter(1232);
  w.header(0x1234, Flag.QR | Flag.AA | Flag.RD);
  w.question(query.questions[0]);
  w.reserve(11);
  w.rrset(Section.Answer, qname, RRType.A, 1, 300, answerA);
  w.rrset(Section.Authority, zone, RRType.NS, 1, 3600, nsRdata);
  w.rrset(Section.Additional, ns[0], RRType.A, 1, 3600, [Uint8Array.of(192, 0, 2, 53)]);
  w.rrset(Section.Additional, ns[1], RRType.A, 1, 3600, [Uint8Array.of(192, 0, 2, 54)]);
  w.opt(responseEdns);
  return w.finish();
}
const answerBytes = encodeAnswer();

const rows: [string, number][] = [
  [`readName www.Example.com (${qname.length} octets)`, measure(() => readName(queryBytes, 12))],
  [
    `decodeMessage query (${queryBytes.length} octets, EDNS + COOKIE)`,
    measure(() => decodeMessage(queryBytes)),
  ],
  [`MessageWriter answer (${answerBytes.length} octets: 2 A, 2 NS, 2 glue, OPT)`, measure(encodeAnswer)],
  [`decodeMessage that answer`, measure(() => decodeMessage(answerBytes))],
];
for (const [what, ns] of rows) console.log(`${ns.toFixed(0).padStart(8)} ns/op  ${what}`);
