/**
 * Signed zones served as received (PRESIGNED): NSD, Knot and Switchboard serve the SAME signed
 * zones — one zone signed here with NSEC (ldns-signzone), with NSEC3 (ldns-signzone -n, salt,
 * iterations), with NSEC3 opt-out (dnssec-signzone -3 -A: insecure delegations have no NSEC3),
 * and the IANA root zone of 2020 (NSEC; its signatures expired, which does not matter here) —
 * and get the same queries with DO (and some without DO, and some over UDP with a small buffer
 * to see truncation). For each query Switchboard must agree with NSD or with Knot on the RCODE,
 * the AA and TC flags and the answer and authority sections (sets of RRsets, TTLs included).
 * The additional section is compared without RRSIGs (NSD signs additional addresses, Knot does
 * not: RFC 4035 §3.1.1 makes them optional).
 * @module
 */
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RRType, typeFromString, typeToString } from '../../src/wire/constants.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { fullRcode, type RR } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { rdataToText } from '../../src/wire/rdata.js';
import { buildQuery, queryTcp, queryUdp } from '../helpers/dns-client.js';
import {
  isAlive,
  type Peer,
  skipUnlessCommands,
  startKnot,
  startNsd,
  startSwitchboard,
} from '../helpers/peers.js';
import { skipOrFail } from '../helpers/require-peers.js';
import { signTestZone } from '../helpers/signed-zones.js';

const rootZone = resolve('../shared/testdata/iana-root-zone-2020/root.zone');

/** Names (relative; '@' the apex) and types asked in each test zone. */
const ZONE_QUERIES: [string, string][] = [
  ['@', 'SOA'],
  ['@', 'NS'],
  ['@', 'DNSKEY'],
  ['@', 'MX'],
  ['@', 'A'],
  ['@', 'TXT'],
  ['@', 'NSEC3PARAM'],
  ['@', 'NSEC'],
  ['@', 'ANY'],
  ['www', 'A'],
  ['www', 'AAAA'],
  ['www', 'TXT'],
  ['WwW', 'A'],
  ['alias', 'A'],
  ['alias', 'CNAME'],
  ['chain1', 'AAAA'],
  ['dangling', 'A'],
  ['out', 'A'],
  ['x.wild', 'A'],
  ['x.wild', 'TXT'],
  ['x.wild', 'MX'],
  ['y.z.wild', 'A'],
  ['*.wild', 'A'],
  ['wild', 'A'],
  ['a.b.ent', 'TXT'],
  ['b.ent', 'A'],
  ['ent', 'TXT'],
  ['nothere', 'A'],
  ['deep.nothere', 'AAAA'],
  ['zzzz', 'A'],
  ['0', 'A'],
  ['secure', 'DS'],
  ['secure', 'A'],
  ['x.secure', 'A'],
  ['ns.secure', 'A'],
  ['insecure', 'DS'],
  ['insecure', 'NS'],
  ['x.y.insecure', 'A'],
  ['ext', 'DS'],
  ['ext', 'A'],
  ['x.dn', 'A'],
  ['dn', 'DNAME'],
  ['txt', 'TXT'],
  ['mail', 'A'],
  ['ns2', 'AAAA'],
];

const ROOT_QUERIES: [string, string][] = [
  ['.', 'SOA'],
  ['.', 'NS'],
  ['.', 'DNSKEY'],
  ['.', 'NSEC'],
  ['com.', 'NS'],
  ['com.', 'DS'],
  ['www.example.com.', 'A'],
  ['org.', 'DS'],
  ['arpa.', 'NS'],
  ['arpa.', 'DS'],
  ['nonexistent-tld.', 'A'],
  ['xn--zzzz.', 'AAAA'],
  ['a.', 'A'],
  ['zzzzzzz.', 'MX'],
  ['localhost.', 'A'],
  ['a.root-servers.net.', 'A'],
  ['cx.', 'DS'],
  ['cx.', 'TXT'],
];

/** RRsets as sorted strings `owner TYPE ttl [rdata | …]`. */
function sets(rrs: readonly RR[], dropSigs = false): string[] {
  const m = new Map<string, string[]>();
  for (const rr of rrs) {
    if (dropSigs && rr.type === RRType.RRSIG) continue;
    const k = `${rr.name.toLowerCase()} ${typeToString(rr.type)} ${rr.ttl}`;
    let text: string;
    try {
      text = rdataToText(rr.type, rr.rdata);
    } catch {
      text = Buffer.from(rr.rdata).toString('hex');
    }
    const list = m.get(k) ?? [];
    list.push(text);
    m.set(k, list);
  }
  return [...m].map(([k, v]) => `${k} [${v.sort().join(' | ')}]`).sort();
}

/**
 * What is compared of a response, as text; undefined when there was none. A truncated
 * response: its header and OPT only (what a peer squeezes in before TC is for nobody to use;
 * we send the question alone, docs/ANSWER.md). A positive answer: without the apex NS RRset
 * (and its RRSIG) in authority and without additional data, which NSD adds and Knot does not
 * (as test/interop/differential.test.ts allows).
 */
function outcome(bytes: Uint8Array | undefined, origins: ReadonlySet<string>): string | undefined {
  if (bytes === undefined) return undefined;
  const msg = decodeMessage(bytes);
  const opt = msg.edns !== undefined ? `do=${(msg.edns.flags & 0x8000) !== 0 ? 1 : 0}` : 'noedns';
  const head = `rcode=${fullRcode(msg)} aa=${(msg.flags >> 10) & 1} tc=${(msg.flags >> 9) & 1} ${opt}`;
  if ((msg.flags & 0x0200) !== 0) return head;
  const positive = fullRcode(msg) === 0 && msg.answers.length > 0;
  const apexNs = (rr: RR): boolean =>
    origins.has(rr.name.key) &&
    (rr.type === RRType.NS || (rr.type === RRType.RRSIG && ((rr.rdata[0] << 8) | rr.rdata[1]) === RRType.NS));
  const authority = positive ? msg.authority.filter((rr) => !apexNs(rr)) : msg.authority;
  return [
    head,
    ...sets(msg.answers).map((s) => `AN ${s}`),
    ...sets(authority).map((s) => `AU ${s}`),
    ...(positive ? [] : sets(msg.additional, true).map((s) => `AD ${s}`)),
  ].join('\n');
}

interface Ask {
  name: string;
  type: number;
  dnssecOk: boolean;
  edns: boolean;
  tcp: boolean;
  udpSize: number;
}

async function ask(
  peer: Peer,
  q: Ask,
  id: number,
  origins: ReadonlySet<string>,
): Promise<string | undefined> {
  const bytes = buildQuery({
    id,
    name: q.name,
    type: q.type,
    edns: q.edns ? { udpSize: q.udpSize, dnssecOk: q.dnssecOk } : undefined,
  });
  try {
    const r = q.tcp
      ? await queryTcp(bytes, { host: peer.host, port: peer.port, timeoutMs: 5000 })
      : await queryUdp(bytes, { host: peer.host, port: peer.port, timeoutMs: 1500, retries: 3 });
    return outcome(r, origins);
  } catch {
    return undefined;
  }
}

/**
 * The serving paths: images answered in C (the default), parsed zones compiled for C
 * (`--images off --native-answers on`), and the Node UDP path without C. A signed zone must be
 * answered by the JS Responder on each (C never holds its image).
 */
const CONFIGS: { args: string[]; io?: 'native' | 'node' }[] = [
  { args: ['--images', 'on'] },
  { args: ['--images', 'off', '--native-answers', 'on'] },
  { args: ['--images', 'off'], io: 'node' },
];

const skip = skipOrFail(
  skipUnlessCommands('nsd', 'knotd', 'ldns-keygen', 'ldns-signzone', 'dnssec-keygen', 'dnssec-signzone'),
);

describe('dnssec differential: signed zones vs NSD and Knot', { skip, timeout: 300_000 }, () => {
  const peers: Peer[] = [];
  let dir: string;
  let nsd: Peer;
  let knot: Peer;
  /** An NSEC3 owner name of each NSEC3 zone. */
  const hashed = new Map<string, string>();
  /** One Switchboard per entry of CONFIGS. */
  const sbs: Peer[] = [];
  const zones = [
    { origin: 'nsec.test.', kind: 'nsec' as const },
    { origin: 'nsec3.test.', kind: 'nsec3' as const },
    { origin: 'optout.test.', kind: 'optout' as const },
  ];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-dnssec-'));
    const zoneDir = join(dir, 'zones');
    mkdirSync(zoneDir);
    for (const z of zones) {
      const file = join(zoneDir, `${z.origin}zone`);
      signTestZone(dir, z.origin, z.kind, file);
      // An NSEC3 owner (a hashed name), to ask for it as any other name.
      const m = /^(\S+)\s+\d+\s+IN\s+NSEC3\s/m.exec(readFileSync(file, 'latin1'));
      if (m) hashed.set(z.origin, m[1].toLowerCase());
    }
    if (existsSync(rootZone)) {
      // `$ORIGIN .` first: the folder's rule takes the origin from it (else from the file name).
      writeFileSync(join(zoneDir, 'root.zone'), `$ORIGIN .\n${readFileSync(rootZone, 'latin1')}`, 'latin1');
    }
    const specs = readdirSync(zoneDir)
      .sort()
      .map((f) => ({ origin: f === 'root.zone' ? '.' : f.replace(/zone$/, ''), file: join(zoneDir, f) }));
    nsd = await startNsd(specs);
    peers.push(nsd);
    knot = await startKnot(specs);
    peers.push(knot);
    for (const c of CONFIGS) {
      const p = await startSwitchboard(zoneDir, { workers: 1, firstOrigin: zones[0].origin, ...c });
      peers.push(p);
      sbs.push(p);
    }
  });

  after(async () => {
    for (const p of peers) await p.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('every query matches NSD or Knot', async (t) => {
    const asks: Ask[] = [];
    const add = (name: string, type: string, o: Partial<Ask> = {}): void => {
      const ty = typeFromString(type);
      assert.ok(ty !== undefined, type);
      asks.push({ name, type: ty, dnssecOk: true, edns: true, tcp: true, udpSize: 1232, ...o });
    };
    for (const z of zones)
      for (const [rel, type] of ZONE_QUERIES) {
        const name = rel === '@' ? z.origin : `${rel}.${z.origin}`;
        add(name, type);
        // Without DO nothing DNSSEC is added (RFC 3225 §3).
        add(name, type, { dnssecOk: false });
      }
    if (existsSync(rootZone))
      for (const [name, type] of ROOT_QUERIES) {
        add(name, type);
        // Over UDP with 512 octets: the signed answer does not fit (TC, RFC 4035 §3.1.1).
        add(name, type, { tcp: false, udpSize: 512 });
      }
    for (const z of zones) {
      add(z.origin, 'DNSKEY', { tcp: false, udpSize: 512 });
      add(`nothere.${z.origin}`, 'A', { tcp: false, udpSize: 1232 });
      add(`x.wild.${z.origin}`, 'A', { tcp: false, udpSize: 1232 });
      add(z.origin, 'RRSIG', { dnssecOk: false });
      add(`www.${z.origin}`, 'RRSIG');
      add(`www.${z.origin}`, 'A', { edns: false });
      const h = hashed.get(z.origin);
      if (h !== undefined) {
        add(h, 'NSEC3');
        add(h, 'A');
        add(`x.${h}`, 'A');
      }
    }
    const origins = new Set([...zones.map((z) => Name.parse(z.origin).key), Name.ROOT.key]);
    let withNsd = 0;
    let withKnot = 0;
    const failures: string[] = [];
    for (let i = 0; i < asks.length; i++) {
      const q = asks[i];
      const id = (i * 7919 + 7) & 0xffff;
      const n = await ask(nsd, q, id, origins);
      const k = await ask(knot, q, id, origins);
      for (let c = 0; c < sbs.length; c++) {
        const sb = sbs[c];
        const s = await ask(sb, q, id, origins);
        if (s === undefined && !isAlive(sb.pid)) assert.fail(`Switchboard exited\n${sb.output()}`);
        const a = s !== undefined && s === n;
        const b = s !== undefined && s === k;
        if (a) withNsd++;
        if (b) withKnot++;
        if (!a && !b) {
          const label = `${q.name} ${typeToString(q.type)} ${q.tcp ? 'tcp' : `udp/${q.udpSize}`}${q.dnssecOk ? ' +do' : ''}${q.edns ? '' : ' noedns'} [${CONFIGS[c].args.join(' ')}]`;
          failures.push(`${label}\n--- switchboard\n${s}\n--- nsd\n${n}\n--- knot\n${k}`);
        }
      }
    }
    t.diagnostic(
      `${asks.length} queries × ${sbs.length} configurations: ${withNsd} match NSD, ${withKnot} match Knot, ${failures.length} neither`,
    );
    assert.equal(failures.length, 0, failures.join('\n\n'));
  });
});
