/**
 * Response-rate limiting side by side with BIND 9 (`rate-limit`, the semantics `--rrl` follows):
 * the same query streams, sent on one schedule to BIND and to Switchboard (the native path with
 * JS answers and no zone signal, the native path with C answers, the Node path), each stream
 * from a /24 of its own, one kind of response per stream (an answer, NXDOMAIN for random names,
 * NODATA, REFUSED), below and above the rate, with slip 0 and 2 — and the counts compared:
 * answered, truncated (TC=1), dropped. BIND counts whole seconds and we count continuously, so
 * over the limit BIND answers 5 to 10 (where its second boundaries fall) and we answer 5 to 9;
 * the checks hold for both.
 *
 * One process each (`--workers 0`), then two workers (`--workers 2`) sent a new source port per
 * query, which the kernel spreads over both: the native path's workers share one account per
 * client block (the buckets in the standing file, docs/SHIELD.md "One account per client block")
 * and answer as BIND; the Node path's workers each keep their own (a client reaching both is
 * allowed about twice the rate, checked as such).
 *
 * And the slip itself (slip 1, every limited response truncated): each path's TC=1 reply to an
 * answer, NXDOMAIN, NODATA and referral, with and without EDNS (DO, RD, CD), compared header
 * field by header field and OPT with BIND's (docs/DIFFERENCES.md "RRL slips" for the two bits
 * we set otherwise).
 * @module
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { nativeUdpStatus } from '../../src/transport/native-udp.js';
import { buildQuery, type QuerySpec, readHeader } from '../helpers/dns-client.js';
import { type Peer, skipUnlessCommands, startBind, startSwitchboard } from '../helpers/peers.js';

const skip = skipUnlessCommands('named');
const RATE = 5;
const STREAM_SECONDS = 3;
const ZONE =
  '$ORIGIN example.\n$TTL 300\n@ SOA ns1 h 1 3600 600 86400 300\n@ NS ns1\nns1 A 127.0.0.1\nwww A 192.0.2.1\n' +
  'sub NS ns.sub\nns.sub A 192.0.2.9\n';

/** One kind of response a stream asks for. */
const KINDS = {
  answer: { rcode: 0, name: () => 'www.example.', type: 1 },
  nxdomain: {
    rcode: 3,
    name: (i: number) => `r${i}-${Math.random().toString(36).slice(2, 8)}.example.`,
    type: 1,
  },
  nodata: { rcode: 0, name: () => 'www.example.', type: 16 },
  error: { rcode: 5, name: () => 'www.not-served.test.', type: 1 },
} as const;
type Kind = keyof typeof KINDS;

interface Count {
  sent: number;
  answered: number;
  truncated: number;
  dropped: number;
  /** Answers (TC=0) with another RCODE than the kind's. */
  wrongRcode: number;
}

/**
 * Sends `rate` queries a second for STREAM_SECONDS from `source` to every server (the same
 * schedule), waits for the last replies, and counts what came back per server. One socket per
 * server, or with `portPerQuery` a new one (a new source port) for every query, as resolvers
 * send them — which SO_REUSEPORT spreads over a server's workers.
 */
async function stream(
  servers: Peer[],
  source: string,
  kind: Kind,
  rate: number,
  portPerQuery = false,
): Promise<Count[]> {
  const k = KINDS[kind];
  const counts = servers.map(() => ({ sent: 0, answered: 0, truncated: 0, dropped: 0, wrongRcode: 0 }));
  const seen = servers.map(() => new Set<number>());
  const open = async (s: number): Promise<dgram.Socket> => {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, source, () => r()));
    sock.on('message', (m) => {
      const id = (m[0] << 8) | m[1];
      if (seen[s].has(id)) return;
      seen[s].add(id);
      if (m[2] & 0x02) counts[s].truncated++;
      else {
        counts[s].answered++;
        if ((m[3] & 15) !== k.rcode) counts[s].wrongRcode++;
      }
    });
    return sock;
  };
  const all: dgram.Socket[] = [];
  const socks = portPerQuery ? [] : await Promise.all(servers.map((_, s) => open(s)));
  all.push(...socks);
  const total = rate * STREAM_SECONDS;
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const q = buildQuery({ id: i, name: k.name(i), type: k.type });
    const now = portPerQuery ? await Promise.all(servers.map((_, s) => open(s))) : socks;
    if (portPerQuery) all.push(...now);
    servers.forEach((p, s) => {
      now[s].send(q, p.port, p.host);
      counts[s].sent++;
    });
  }
  await new Promise((r) => setTimeout(r, 2000));
  for (const sock of all) sock.close();
  for (const c of counts) c.dropped = c.sent - c.answered - c.truncated;
  return counts;
}

/** A stream's counts, per peer (in the order of `peers`). */
interface Run {
  kind: Kind;
  rate: number;
  counts: Promise<Count[]>;
}

/**
 * The differences from BIND's behaviour, one line each: below the rate everything answered; over
 * it a second's credit and at most one more (BIND's second boundary), slip 2 truncating half the
 * rest (the first of a run), errors never truncated. A peer in `loose` (with its factor) is
 * checked for what it is documented to do instead: up to `factor` × BIND's answers.
 */
async function compare(
  peers: { name: string }[],
  runs: Run[],
  slip: number,
  loose: Record<string, number> = {},
): Promise<{ problems: string[]; tables: string[] }> {
  const problems: string[] = [];
  const tables: string[] = [];
  for (const r of runs) {
    const counts = await r.counts;
    const table = peers.map((p, s) => `${p.name} ${JSON.stringify(counts[s])}`).join('; ');
    tables.push(`${r.kind} at ${r.rate} qps: ${table}`);
    const check = (ok: boolean, what: string) => {
      if (!ok) problems.push(`${r.kind} at ${r.rate} qps: ${what} — ${table}`);
    };
    counts.forEach((c, s) => {
      const who = peers[s].name;
      check(c.wrongRcode === 0, `${who}: an answer with another RCODE`);
      if (r.rate < RATE) {
        check(c.answered === c.sent, `${who}: below the rate, everything answered`);
        return;
      }
      const factor = loose[who];
      if (factor !== undefined) {
        check(
          c.answered >= RATE && c.answered <= factor * 2 * RATE,
          `${who}: ${RATE}..${factor * 2 * RATE} answered`,
        );
        return;
      }
      check(c.answered >= RATE && c.answered <= 2 * RATE, `${who}: ${RATE}..${2 * RATE} answered`);
      const limited = c.sent - c.answered;
      const tc = slip === 0 || r.kind === 'error' ? 0 : Math.ceil(limited / 2);
      check(Math.abs(c.truncated - tc) <= 2, `${who}: ${tc} truncated (±2)`);
    });
  }
  return { problems, tables };
}

/** The header and OPT of a TC=1 reply, as the slip test compares them. */
interface Slip {
  rcode: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  rd: boolean;
  ad: boolean;
  cd: boolean;
  /** QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT. */
  counts: number[];
  question: boolean;
  /** The OPT (the reply's only record after the question), or null. */
  opt: { size: number; extendedRcode: number; version: number; do: boolean } | null;
}

/** What a reply to `query` says in the fields a slip is compared on. */
function describeSlip(query: Uint8Array, reply: Uint8Array): Slip {
  const h = readHeader(reply);
  let qend = 12;
  while (query[qend] !== 0) qend += 1 + query[qend];
  qend += 5;
  const at = qend;
  const opt =
    reply.length >= at + 11 && reply[at] === 0 && reply[at + 1] === 0 && reply[at + 2] === 41
      ? {
          size: (reply[at + 3] << 8) | reply[at + 4],
          extendedRcode: reply[at + 5],
          version: reply[at + 6],
          do: (reply[at + 7] & 0x80) !== 0,
        }
      : null;
  return {
    rcode: h.rcode,
    qr: h.qr,
    opcode: h.opcode,
    aa: h.aa,
    rd: (reply[2] & 0x01) !== 0,
    ad: (reply[3] & 0x20) !== 0,
    cd: (reply[3] & 0x10) !== 0,
    counts: [h.qdcount, h.ancount, h.nscount, h.arcount],
    question: Buffer.from(reply.subarray(12, qend)).equals(query.subarray(12, qend)),
    opt,
  };
}

/**
 * Sends `n` queries made by `make(i)` from `source` to every server at once (a burst: the first
 * RATE answered, the rest limited) and returns each server's first TC=1 reply with the query it
 * answers, or null when none came.
 */
async function firstSlips(
  servers: Peer[],
  source: string,
  make: (i: number) => Uint8Array,
  n: number,
): Promise<({ query: Uint8Array; reply: Uint8Array } | null)[]> {
  const queries = Array.from({ length: n }, (_, i) => make(i));
  const found: ({ query: Uint8Array; reply: Uint8Array } | null)[] = servers.map(() => null);
  const socks = await Promise.all(
    servers.map(async (_, s) => {
      const sock = dgram.createSocket('udp4');
      await new Promise<void>((r) => sock.bind(0, source, () => r()));
      sock.on('message', (m) => {
        const id = (m[0] << 8) | m[1];
        if (found[s] === null && (m[2] & 0x02) !== 0 && id < n) found[s] = { query: queries[id], reply: m };
      });
      return sock;
    }),
  );
  for (const q of queries)
    for (let s = 0; s < servers.length; s++) socks[s].send(q, servers[s].port, servers[s].host);
  await new Promise((r) => setTimeout(r, 1500));
  for (const sock of socks) sock.close();
  return found;
}

describe('RRL side by side with BIND 9 (responses-per-second 5, window 1)', { skip }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sb-rrl-'));
    writeFileSync(join(dir, 'example.zone'), ZONE);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** BIND serving the test zone with `rate-limit` at RATE a second, window 1, `slip`. */
  const bindWithRrl = (slip: number) =>
    startBind([{ origin: 'example.', file: join(dir, 'example.zone') }], {
      options: [`rate-limit { responses-per-second ${RATE}; window 1; slip ${slip}; };`],
    });

  /**
   * BIND and Switchboard's three paths (one process each: native with JS answers, native with C
   * answers, Node), RRL at RATE a second, window 1, `slip`; each pushed into `peers` once up, so
   * the caller's `finally` stops those that started when a later one fails.
   */
  const startOneEach = async (slip: number, peers: { name: string; peer: Peer }[]): Promise<void> => {
    const spec = `responses=${RATE},window=1,slip=${slip}`;
    peers.push({ name: 'bind', peer: await bindWithRrl(slip) });
    const sb = (args: string[]) =>
      startSwitchboard(dir, { workers: 0, args: ['--shield', 'on', '--rrl', spec, ...args] });
    if (nativeUdpStatus().ok) {
      // JS answers on the native path: the shield has no zone signal (the NXDOMAIN key comes from the reply).
      peers.push({ name: 'native/js', peer: await sb(['--io', 'native']) });
      peers.push({ name: 'native/c', peer: await sb(['--io', 'native', '--native-answers']) });
    }
    peers.push({ name: 'node', peer: await sb(['--io', 'node']) });
  };

  test("the slip (TC=1) keeps the response's RCODE and AA, echoes RD, CD and the question, with an OPT (DO copied) when the query had one — as BIND writes it", async (t) => {
    const peers: { name: string; peer: Peer }[] = [];
    try {
      await startOneEach(1, peers);
      const servers = peers.map((p) => p.peer);
      const kinds: [string, string, number][] = [
        ['answer', 'www.example.', 1],
        ['nxdomain', '', 1],
        ['nodata', 'www.example.', 16],
        ['referral', 'host.sub.example.', 1],
      ];
      const shapes: [string, QuerySpec['edns'], boolean][] = [
        ['no EDNS', undefined, false],
        ['EDNS 4096 DO, RD and CD', { udpSize: 4096, dnssecOk: true }, true],
      ];
      const problems: string[] = [];
      let block = 0;
      for (const [kind, name, type] of kinds)
        for (const [shape, edns, flags] of shapes) {
          const make = (i: number) => {
            const q = buildQuery({ id: i, name: name || `s${i}-${block}.example.`, type, edns, rd: flags });
            if (flags) q[3] |= 0x10; // CD
            return q;
          };
          const slips = await firstSlips(servers, `127.0.${200 + block++}.1`, make, 3 * RATE);
          const bind = slips[0];
          if (bind === null) {
            problems.push(`${kind}, ${shape}: BIND sent no TC=1 reply`);
            continue;
          }
          const want = describeSlip(bind.query, bind.reply);
          t.diagnostic(`${kind}, ${shape}: BIND ${JSON.stringify(want)}`);
          // Where we differ from BIND on purpose (docs/DIFFERENCES.md, "RRL slips"): AD is not
          // set (BIND sets it on every slip, signed zone or not), and a referral's slip has AA 0
          // (BIND sets AA on every slip, a referral's too).
          want.ad = false;
          if (kind === 'referral') want.aa = false;
          for (let s = 1; s < peers.length; s++) {
            const got = slips[s];
            if (got === null) problems.push(`${kind}, ${shape}: ${peers[s].name} sent no TC=1 reply`);
            else {
              const have = describeSlip(got.query, got.reply);
              if (JSON.stringify(have) !== JSON.stringify(want))
                problems.push(`${kind}, ${shape}: ${peers[s].name} ${JSON.stringify(have)}`);
            }
          }
        }
      assert.deepEqual(problems, []);
    } finally {
      await Promise.all(peers.map((p) => p.peer.stop()));
    }
  });

  for (const slip of [0, 2]) {
    test(`slip ${slip}: answered, truncated and dropped as BIND counts them, per kind, below and above the rate`, async (t) => {
      const peers: { name: string; peer: Peer }[] = [];
      try {
        await startOneEach(slip, peers);
        const servers = peers.map((p) => p.peer);
        const runs: Run[] = [];
        let block = 0;
        for (const rate of [3, 40])
          for (const kind of Object.keys(KINDS) as Kind[])
            runs.push({
              kind,
              rate,
              counts: stream(servers, `127.0.${60 + 10 * slip + block++}.1`, kind, rate),
            });
        const { problems, tables } = await compare(peers, runs, slip);
        for (const line of tables) t.diagnostic(line);
        assert.deepEqual(problems, []);
      } finally {
        await Promise.all(peers.map((p) => p.peer.stop()));
      }
    });
  }
  for (const slip of [0, 2]) {
    test(`slip ${slip}, --workers 2, a new source port per query: the native path's workers answer as BIND (one account per /24)`, async (t) => {
      const spec = `responses=${RATE},window=1,slip=${slip}`;
      const peers: { name: string; peer: Peer }[] = [];
      try {
        peers.push({ name: 'bind', peer: await bindWithRrl(slip) });
        const sb = (args: string[], env?: Record<string, string>) =>
          startSwitchboard(dir, { workers: 2, args: ['--shield', 'on', '--rrl', spec, ...args], env });
        const loose: Record<string, number> = {};
        if (nativeUdpStatus().ok) {
          peers.push({ name: 'native/js ×2', peer: await sb(['--io', 'native']) });
          peers.push({ name: 'native/c ×2', peer: await sb(['--io', 'native', '--native-answers']) });
          // The control: the same with each worker's own table — the kernel did spread the stream.
          peers.push({
            name: 'native/c ×2, per worker',
            peer: await sb(['--io', 'native', '--native-answers'], { SWITCHBOARD_RRL_SHARED: 'off' }),
          });
          loose['native/c ×2, per worker'] = 2;
        }
        // The Node path's workers read one shared socket, each with its own table (not shared).
        peers.push({ name: 'node ×2', peer: await sb(['--io', 'node']) });
        loose['node ×2'] = 2;
        const servers = peers.map((p) => p.peer);
        const runs: Run[] = [];
        let block = 0;
        for (const rate of [3, 40])
          for (const kind of ['answer', 'nxdomain', 'error'] as Kind[])
            runs.push({
              kind,
              rate,
              counts: stream(servers, `127.0.${120 + 10 * slip + block++}.1`, kind, rate, true),
            });
        const { problems, tables } = await compare(peers, runs, slip, loose);
        for (const line of tables) t.diagnostic(line);
        // The control must show what the shared accounts fix: more answered than one account allows.
        const control = peers.findIndex((p) => p.name.endsWith('per worker'));
        if (control >= 0) {
          let over = 0;
          for (const r of runs) if (r.rate > RATE && (await r.counts)[control].answered > 2 * RATE) over++;
          if (over === 0) problems.push('the per-worker control never answered more than one account allows');
        }
        assert.deepEqual(problems, []);
      } finally {
        await Promise.all(peers.map((p) => p.peer.stop()));
      }
    });
  }
});
