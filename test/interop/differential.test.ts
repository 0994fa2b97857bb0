/**
 * Differential test: NSD, Knot and Switchboard serve the same zones (test/interop/corpus/zones)
 * and get the same queries (test/interop/corpus/queries.txt). For each query Switchboard must
 * agree with NSD or with Knot on the RCODE, the AA and TC flags, and the answer, authority and
 * additional sections compared as sets of RRsets (the OPT record is not part of the additional
 * section here). Agreement needs two responses: a query that a peer did not answer (timeout,
 * undecodable bytes) matches nothing, so "both failed" never passes as agreement. Where
 * Switchboard deliberately differs from both, the query is listed in
 * corpus/known-differences.json with the RFC that justifies it; an entry that no longer differs
 * (Switchboard now matches a peer) or whose query is not in the corpus fails the test, so the
 * list stays true.
 *
 * One allowance: in a positive answer, the NS RRset of the apex of a zone that the answer came
 * from is optional in the authority section (NSD adds it, Knot does not, and both are
 * conformant: it is extra data, not part of the answer), so it is left out of the comparison on
 * every side, and with it the addresses in the additional section of the name servers that only
 * that NS RRset named. NS RRsets of other owners there (a referral after a CNAME) are still
 * compared.
 * @module
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RRType, typeFromString, typeToString } from '../../src/wire/constants.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { fullRcode, type RR } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { rdataToText } from '../../src/wire/rdata.js';
import { buildQuery, type QuerySpec, queryTcp, queryUdp } from '../helpers/dns-client.js';
import {
  isAlive,
  listZoneFiles,
  type Peer,
  skipUnlessCommands,
  startKnot,
  startNsd,
  startSwitchboard,
  switchboardBin,
} from '../helpers/peers.js';

const corpusDir = resolve('test/interop/corpus');
const zoneDir = resolve(corpusDir, 'zones');

/** One corpus line, parsed. */
interface CorpusQuery {
  /** The normalised line: the query's identity. */
  id: string;
  spec: QuerySpec;
  tcp: boolean;
}

/** What we compare of a response. */
interface Outcome {
  error?: string;
  rcode?: number;
  aa?: boolean;
  tc?: boolean;
  answer: string[];
  authority: string[];
  additional: string[];
}

/** An allow-list entry: Switchboard differs from both peers on purpose. */
interface KnownDifference {
  query: string;
  rfc: string;
  reason: string;
}

function parseCorpus(text: string): CorpusQuery[] {
  const out: CorpusQuery[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim().replace(/\s+/g, ' ');
    if (line === '' || line.startsWith('#')) continue;
    const [name, typeText, ...opts] = line.split(' ');
    const type = typeFromString(typeText);
    if (type === undefined) throw new Error(`corpus: unknown type in '${line}'`);
    let tcp = false;
    let edns: QuerySpec['edns'] = { udpSize: 1232 };
    for (const o of opts) {
      if (o === 'tcp') tcp = true;
      else if (o === 'noedns') edns = undefined;
      else if (o === 'do' && edns) edns.dnssecOk = true;
      else if (o.startsWith('bufsize=') && edns) edns.udpSize = Number(o.slice(8));
      else if (o.startsWith('ednsver=') && edns) edns.version = Number(o.slice(8));
      else throw new Error(`corpus: unknown option '${o}' in '${line}'`);
    }
    out.push({ id: line, spec: { name, type, edns }, tcp });
  }
  return out;
}

/** RRsets as sorted strings `owner TYPE ttl [rdata | rdata …]`, owner lower-cased. */
function rrsetStrings(rrs: readonly RR[]): string[] {
  const sets = new Map<string, string[]>();
  for (const rr of rrs) {
    const key = `${rr.name.toLowerCase().toString()} ${typeToString(rr.type)} ${rr.ttl}`;
    const list = sets.get(key) ?? [];
    list.push(showRdata(rr.type, rr.rdata));
    sets.set(key, list);
  }
  return [...sets].map(([k, v]) => `${k} [${v.sort().join(' | ')}]`).sort();
}

function showRdata(type: number, rdata: Uint8Array): string {
  try {
    return rdataToText(type, rdata);
  } catch {
    // A printer gap must not hide a difference: RFC 3597 generic form compares just as well.
    return `\\# ${rdata.length} ${Buffer.from(rdata).toString('hex')}`;
  }
}

/** The served zone (longest origin) that `name` belongs to, as a case-folded key. */
function zoneKeyOf(name: Name, origins: ReadonlySet<string>): string | undefined {
  for (let n = name; ; n = n.parent()) {
    if (origins.has(n.key)) return n.key;
    if (n.isRoot) return undefined;
  }
}

function toOutcome(bytes: Uint8Array, origins: ReadonlySet<string>): Outcome {
  try {
    const msg = decodeMessage(bytes);
    const rcode = fullRcode(msg);
    let authority = msg.authority;
    let additional = msg.additional;
    if (rcode === 0 && msg.answers.length > 0) {
      // The optional apex NS of positive answers (see the module comment).
      const answerZones = new Set(msg.answers.map((rr) => zoneKeyOf(rr.name, origins)));
      const optional = (rr: RR): boolean => rr.type === RRType.NS && answerZones.has(rr.name.key);
      const dropped = authority.filter(optional);
      authority = authority.filter((rr) => !optional(rr));
      // The addresses of name servers that only the dropped NS RRset named go with it.
      const named = targetKeys([...msg.answers, ...authority]);
      const onlyDropped = new Set([...targetKeys(dropped)].filter((k) => !named.has(k)));
      additional = additional.filter(
        (rr) => !((rr.type === RRType.A || rr.type === RRType.AAAA) && onlyDropped.has(rr.name.key)),
      );
    }
    return {
      rcode,
      aa: (msg.flags & 0x0400) !== 0,
      tc: (msg.flags & 0x0200) !== 0,
      answer: rrsetStrings(msg.answers),
      authority: rrsetStrings(authority),
      additional: rrsetStrings(additional),
    };
  } catch (e) {
    return failed(`undecodable response (${(e as Error).message})`);
  }
}

/** An outcome without a response. */
function failed(error: string): Outcome {
  return { error, answer: [], authority: [], additional: [] };
}

/**
 * Case-folded keys of every domain name the RDATA of `rrs` mentions that could be looked up
 * for the additional section (NS, MX, SRV, … targets): the last field of the presentation form.
 */
function targetKeys(rrs: readonly RR[]): Set<string> {
  const out = new Set<string>();
  for (const rr of rrs) {
    const last = showRdata(rr.type, rr.rdata).trim().split(/\s+/).pop() ?? '';
    try {
      if (last.endsWith('.')) out.add(Name.parse(last).key);
    } catch {
      // not a name
    }
  }
  return out;
}

async function ask(peer: Peer, q: CorpusQuery, id: number, origins: ReadonlySet<string>): Promise<Outcome> {
  const bytes = buildQuery({ ...q.spec, id });
  try {
    const r = q.tcp
      ? await queryTcp(bytes, { host: peer.host, port: peer.port, timeoutMs: 5000 })
      : await queryUdp(bytes, { host: peer.host, port: peer.port, timeoutMs: 1500, retries: 3 });
    return toOutcome(r, origins);
  } catch (e) {
    return failed(`no response (${(e as Error).message})`);
  }
}

/** Two responses that agree; a missing or undecodable response agrees with nothing. */
function sameOutcome(a: Outcome, b: Outcome): boolean {
  if (a.error !== undefined || b.error !== undefined) return false;
  return (
    a.rcode === b.rcode &&
    a.aa === b.aa &&
    a.tc === b.tc &&
    a.answer.join('\n') === b.answer.join('\n') &&
    a.authority.join('\n') === b.authority.join('\n') &&
    a.additional.join('\n') === b.additional.join('\n')
  );
}

function showOutcome(o: Outcome): string[] {
  if (o.error !== undefined) return [o.error];
  return [
    `rcode=${o.rcode} aa=${o.aa ? 1 : 0} tc=${o.tc ? 1 : 0}`,
    ...o.answer.map((s) => `AN ${s}`),
    ...o.authority.map((s) => `AU ${s}`),
    ...o.additional.map((s) => `AD ${s}`),
  ];
}

/** The three outcomes in three columns, long RDATA cut so the table stays readable. */
function sideBySide(cols: [string, Outcome][]): string {
  const width = 60;
  const cut = (s: string): string => (s.length > width ? `${s.slice(0, width - 1)}…` : s.padEnd(width));
  const lines = cols.map(([, o]) => showOutcome(o));
  const rows = Math.max(...lines.map((l) => l.length));
  const out = [cols.map(([name]) => cut(name)).join(' | ')];
  for (let i = 0; i < rows; i++) out.push(lines.map((l) => cut(l[i] ?? '')).join(' | '));
  return out.join('\n');
}

function readKnownDifferences(): KnownDifference[] {
  const file = resolve(corpusDir, 'known-differences.json');
  if (!existsSync(file)) return [];
  const list = JSON.parse(readFileSync(file, 'utf8')) as KnownDifference[];
  const docFile = resolve('docs/DIFFERENCES.md');
  const doc = existsSync(docFile) ? readFileSync(docFile, 'utf8') : '';
  for (const d of list) {
    // Every deliberate difference must be justified by a standard and explained to users.
    assert.ok(
      doc.includes(d.query),
      `docs/DIFFERENCES.md does not explain the known difference '${d.query}'`,
    );
    assert.match(d.rfc ?? '', /\bRFC ?\d{3,5}\b/, `known-differences.json: '${d.query}' cites no RFC`);
    assert.ok(d.reason, `known-differences.json: '${d.query}' gives no reason`);
  }
  return list;
}

const skip = skipUnlessCommands('nsd', 'knotd');

describe('differential: Switchboard vs NSD and Knot', { skip, timeout: 300_000 }, () => {
  const peers: Peer[] = [];
  let nsd: Peer;
  let knot: Peer;
  let sb: Peer;

  before(async () => {
    const zones = listZoneFiles(zoneDir);
    assert.ok(
      existsSync(switchboardBin()),
      `Switchboard CLI not found at ${switchboardBin()} (build first, or set SWITCHBOARD_BIN)`,
    );
    // Start one at a time: the machine is small and each waits until it answers.
    nsd = await startNsd(zones);
    peers.push(nsd);
    knot = await startKnot(zones);
    peers.push(knot);
    sb = await startSwitchboard(zoneDir, { workers: 1 });
    peers.push(sb);
  });

  after(async () => {
    for (const p of peers) await p.stop();
  });

  test('every corpus query matches NSD or Knot', async (t) => {
    const corpus = parseCorpus(readFileSync(resolve(corpusDir, 'queries.txt'), 'utf8'));
    assert.ok(corpus.length >= 300, `corpus has only ${corpus.length} queries`);
    const origins = new Set(listZoneFiles(zoneDir).map((z) => Name.parse(z.origin).key));
    const known = new Map(readKnownDifferences().map((d) => [d.query.trim().replace(/\s+/g, ' '), d]));

    let matchNsd = 0;
    let matchKnot = 0;
    let matchBoth = 0;
    let allowed = 0;
    const failures: string[] = [];
    const staleAllowances: string[] = [];
    /** Queries where we match one peer only: printed, so a shift from one to the other shows. */
    const nsdOnly: string[] = [];
    const knotOnly: string[] = [];
    for (let i = 0; i < corpus.length; i++) {
      const q = corpus[i];
      const id = (i * 7919 + 1) & 0xffff;
      // Sequential on purpose: bursts would only measure UDP loss on a busy machine.
      const [n, k, s] = [
        await ask(nsd, q, id, origins),
        await ask(knot, q, id, origins),
        await ask(sb, q, id, origins),
      ];
      // A crashed server would turn every later query into a slow timeout: stop at once.
      if (s.error !== undefined && !isAlive(sb.pid))
        assert.fail(`Switchboard exited at '${q.id}'\n${sb.output()}`);
      const withNsd = sameOutcome(s, n);
      const withKnot = sameOutcome(s, k);
      if (withNsd) matchNsd++;
      if (withKnot) matchKnot++;
      if (withNsd && withKnot) matchBoth++;
      else if (withNsd) nsdOnly.push(q.id);
      else if (withKnot) knotOnly.push(q.id);
      const allowance = known.get(q.id);
      if (withNsd || withKnot) {
        if (allowance) staleAllowances.push(q.id);
        continue;
      }
      if (allowance) {
        allowed++;
        continue;
      }
      failures.push(
        `${q.id}\n${sideBySide([
          ['Switchboard', s],
          ['NSD', n],
          ['Knot', k],
        ])}`,
      );
    }

    const table = [
      `queries                 ${corpus.length}`,
      `matches NSD             ${matchNsd}`,
      `matches Knot            ${matchKnot}`,
      `matches both            ${matchBoth}`,
      `matches neither         ${failures.length + allowed}`,
      `  allowed (RFC-cited)   ${allowed}`,
      `  unexplained           ${failures.length}`,
    ];
    for (const line of table) t.diagnostic(line);
    console.log(`\ndifferential summary\n${table.join('\n')}`);
    console.log(
      `\nmatches NSD only:\n  ${nsdOnly.join('\n  ')}\nmatches Knot only:\n  ${knotOnly.join('\n  ')}`,
    );
    if (failures.length > 0) console.log(`\n${failures.join('\n\n')}`);
    assert.equal(
      failures.length,
      0,
      `${failures.length} queries match neither NSD nor Knot:\n\n${failures.join('\n\n')}`,
    );
    // The allow-list must stay true: an entry that no longer differs, or names a query the
    // corpus does not send, is stale (remove it from known-differences.json and the docs).
    const inCorpus = new Set(corpus.map((q) => q.id));
    const notInCorpus = [...known.keys()].filter((id) => !inCorpus.has(id));
    assert.deepEqual(
      staleAllowances,
      [],
      'known-differences.json lists queries where Switchboard now matches NSD or Knot: remove them',
    );
    assert.deepEqual(notInCorpus, [], 'known-differences.json lists queries that are not in queries.txt');
  });
});
