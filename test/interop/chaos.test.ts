/**
 * CHAOS-class server identity (RFC 4892) compared with NSD and Knot: the three serve the
 * example zones with their default settings (identity = the host name, version answered)
 * and get the same CH queries. For each, Switchboard must agree with NSD or with Knot on the
 * RCODE, the AA and TC flags, the EDE code, and the answer records (owner as sent, type,
 * class, TTL and, for the identity names, the text). The version text differs by nature
 * (`NSD 4.6.1`, `Knot DNS 3.2.6`, `Switchboard 0.1.0`): each server's own is compared as
 * `<version>`.
 *
 * The corpus differential test (differential.test.ts) asks IN-class questions only, so these
 * queries live here.
 * @module
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { EdnsOption, RRClass, RRType, typeToString } from '../../src/wire/constants.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { findEdnsOption, parseEdeOption } from '../../src/wire/edns.js';
import { fullRcode } from '../../src/wire/message.js';
import { buildQuery, type QuerySpec, queryTcp, queryUdp } from '../helpers/dns-client.js';
import { exampleZones } from '../helpers/paths.js';
import {
  listZoneFiles,
  type Peer,
  skipUnlessCommands,
  startKnot,
  startNsd,
  startSwitchboard,
} from '../helpers/peers.js';

const { A, ANY, SOA, TXT } = RRType;

/** One CH question and how it is sent. */
interface ChaosQuery {
  name: string;
  type: number;
  tcp?: boolean;
  noedns?: boolean;
}

const QUERIES: ChaosQuery[] = [
  ...['id.server.', 'hostname.bind.', 'version.server.', 'version.bind.'].flatMap((name) => [
    { name, type: TXT },
    { name, type: TXT, tcp: true },
    { name, type: TXT, noedns: true },
    { name, type: ANY },
    { name, type: A },
    { name, type: SOA },
  ]),
  { name: 'ID.SERVER.', type: TXT },
  { name: 'Version.Bind.', type: TXT },
  { name: 'authors.bind.', type: TXT },
  { name: 'foo.server.', type: TXT },
  { name: 'server.', type: TXT },
  { name: 'bind.', type: TXT },
  { name: 'x.id.server.', type: TXT },
  { name: 'www.example.com.', type: A },
  { name: 'example.com.', type: SOA },
];

/** What we compare of a response. */
interface Outcome {
  error?: string;
  rcode?: number;
  aa?: boolean;
  tc?: boolean;
  ede?: number;
  answer: string[];
}

const VERSION_PREFIX: Record<Peer['name'], string> = {
  nsd: 'NSD ',
  knot: 'Knot DNS ',
  bind: '9.',
  switchboard: 'Switchboard ',
  trivial: '',
};

function txtText(rdata: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < rdata.length; i += rdata[i] + 1)
    parts.push(Buffer.from(rdata.subarray(i + 1, i + 1 + rdata[i])).toString('utf8'));
  return parts.join('');
}

function toOutcome(peer: Peer, bytes: Uint8Array): Outcome {
  const msg = decodeMessage(bytes);
  const ede = findEdnsOption(msg.edns, EdnsOption.EDE);
  return {
    rcode: fullRcode(msg),
    aa: (msg.flags & 0x0400) !== 0,
    tc: (msg.flags & 0x0200) !== 0,
    ede: ede === undefined ? undefined : parseEdeOption(ede.data).infoCode,
    answer: msg.answers.map((rr) => {
      let text = rr.type === TXT ? txtText(rr.rdata) : Buffer.from(rr.rdata).toString('hex');
      // Each server's own version string compares equal to the others'.
      const prefix = VERSION_PREFIX[peer.name];
      if (rr.type === TXT && /^version\./i.test(rr.name.toString()) && text.startsWith(prefix))
        text = '<version>';
      const cls = rr.class === RRClass.CH ? 'CH' : String(rr.class);
      return `${rr.name.toString()} ${rr.ttl} ${cls} ${typeToString(rr.type)} "${text}"`;
    }),
  };
}

async function ask(peer: Peer, q: ChaosQuery, id: number): Promise<Outcome> {
  const cls = /example\.com\.$/.test(q.name) ? RRClass.IN : RRClass.CH;
  const spec: QuerySpec = { id, name: q.name, type: q.type, class: cls };
  if (!q.noedns) spec.edns = { udpSize: 1232 };
  const bytes = buildQuery(spec);
  try {
    const r = q.tcp
      ? await queryTcp(bytes, { host: peer.host, port: peer.port, timeoutMs: 5000 })
      : await queryUdp(bytes, { host: peer.host, port: peer.port, timeoutMs: 1500, retries: 3 });
    return toOutcome(peer, r);
  } catch (e) {
    return { error: (e as Error).message, answer: [] };
  }
}

function show(o: Outcome): string {
  if (o.error !== undefined) return o.error;
  return [`rcode=${o.rcode} aa=${o.aa ? 1 : 0} tc=${o.tc ? 1 : 0} ede=${o.ede ?? '-'}`, ...o.answer].join(
    '; ',
  );
}

const skip = skipUnlessCommands('nsd', 'knotd');

describe('CHAOS identity: Switchboard vs NSD and Knot', { skip, timeout: 120_000 }, () => {
  const peers: Peer[] = [];
  let nsd: Peer;
  let knot: Peer;
  let sb: Peer;

  before(async () => {
    const zones = listZoneFiles(exampleZones);
    nsd = await startNsd(zones);
    peers.push(nsd);
    knot = await startKnot(zones);
    peers.push(knot);
    sb = await startSwitchboard(exampleZones, { workers: 1 });
    peers.push(sb);
  });
  after(async () => {
    for (const p of peers) await p.stop();
  });

  test('every CH query matches NSD or Knot', async (t) => {
    const failures: string[] = [];
    let withNsd = 0;
    let withKnot = 0;
    for (let i = 0; i < QUERIES.length; i++) {
      const q = QUERIES[i];
      const id = (i * 7919 + 3) & 0xffff;
      const [n, k, s] = [await ask(nsd, q, id), await ask(knot, q, id), await ask(sb, q, id)];
      const sameNsd = show(s) === show(n);
      const sameKnot = show(s) === show(k);
      if (sameNsd) withNsd++;
      if (sameKnot) withKnot++;
      if (!sameNsd && !sameKnot) {
        const label = `${q.name} ${typeToString(q.type)}${q.tcp ? ' tcp' : ''}${q.noedns ? ' noedns' : ''}`;
        failures.push(
          `${label}\n  switchboard: ${show(s)}\n  nsd:         ${show(n)}\n  knot:        ${show(k)}`,
        );
      }
    }
    t.diagnostic(`${QUERIES.length} queries: ${withNsd} match NSD, ${withKnot} match Knot`);
    assert.equal(failures.length, 0, `match neither NSD nor Knot:\n${failures.join('\n')}`);
  });

  test('the three answer the host name to id.server. by default', async () => {
    for (const p of [nsd, knot, sb]) {
      const o = await ask(p, { name: 'id.server.', type: TXT }, 77);
      assert.deepEqual(o.answer, [`id.server. 0 CH TXT "${hostname()}"`], `${p.name}: ${show(o)}`);
    }
  });
});
