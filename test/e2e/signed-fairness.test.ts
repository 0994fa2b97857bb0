/**
 * Issue 9 + the fairness rule: a big signed zone's NSEC/NSEC3 proof index never holds the
 * DNS worker's loop. Against a real `switchboard serve --workers 1 --images on` (one worker:
 * every zone on the same loop), a small zone is queried every few milliseconds while a
 * 300,000-name signed zone (NSEC, then NSEC3) is added to the zone folder (SIGHUP), then
 * changed (SIGHUP), each time DO-queried at once (NXDOMAIN and NODATA: proofs looked up in the
 * index); the small zone's longest gap without answers must stay small. The index comes with
 * the image (the compile thread made it); before, the worker built it at the first DO query
 * after each change (~0.5 s per 300,000 names here, ~1 s at 1,000,000: bench/signed-index.ts).
 *
 * The bound is generous (a shared 2-core machine stalls processes on its own), and a missed
 * bound is retried once; the functional checks (answers, proofs) hold on every run.
 * @module
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bigSignedZoneText } from '../helpers/big-signed-zone.js';
import { buildQuery, queryUdp } from '../helpers/dns-client.js';
import { type Peer, startSwitchboard } from '../helpers/peers.js';

const HOSTS = 300_000;
/** The small zone's longest gap without answers while the big zone changes and is asked (ms). */
const GAP_MS = 300;
const PROBE_EVERY_MS = 4;
/** The probe goes on this long after the DO answers (a stall after them would show too). */
const WINDOW_MS = 300;
const NSEC = 47;
const NSEC3 = 50;

/** Reads the header's RCODE and the authority section's types (a decoder of our own: no src/wire). */
function rcodeAndAuthorityTypes(msg: Uint8Array): { rcode: number; types: number[] } {
  const u16 = (p: number) => (msg[p] << 8) | msg[p + 1];
  let p = 12;
  const skipName = (): void => {
    for (;;) {
      const l = msg[p];
      if (l >= 0xc0) {
        p += 2;
        return;
      }
      p += l + 1;
      if (l === 0) return;
    }
  };
  for (let i = 0; i < u16(4); i++) {
    skipName();
    p += 4;
  }
  const skipRR = (): number => {
    skipName();
    const type = u16(p);
    p += 10 + u16(p + 8);
    return type;
  };
  for (let i = 0; i < u16(6); i++) skipRR();
  const types: number[] = [];
  for (let i = 0; i < u16(8); i++) types.push(skipRR());
  return { rcode: msg[3] & 15, types };
}

/**
 * Queries `small.test. A` every PROBE_EVERY_MS over one UDP socket until stopped; the longest
 * time between two answers (or from the start to the first) is the gap.
 */
function probe(port: number): { stop(): Promise<{ gap: number; sent: number; answered: number }> } {
  const sock = createSocket('udp4');
  let id = 0;
  let answered = 0;
  let last = performance.now();
  let gap = 0;
  sock.on('message', () => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
    answered++;
  });
  const timer = setInterval(() => {
    id = (id + 1) & 0xffff;
    sock.send(buildQuery({ id, name: 'small.test.', type: 1 }), port, '127.0.0.1');
  }, PROBE_EVERY_MS);
  // Bounded whatever happens: 30 s at most.
  const cap = setTimeout(() => clearInterval(timer), 30_000);
  return {
    async stop() {
      clearInterval(timer);
      clearTimeout(cap);
      await new Promise((r) => setTimeout(r, 50));
      gap = Math.max(gap, performance.now() - 50 - last);
      sock.close();
      return { gap, sent: id, answered };
    },
  };
}

describe('a big signed zone added and changed does not stall the other zones of its worker', () => {
  let dir: string;
  let sb: Peer;
  let reloads = 0;
  const texts: Record<string, string> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sb-signed-fairness-'));
    writeFileSync(
      join(dir, 'small.test.zone'),
      '$ORIGIN small.test.\n$TTL 300\n@ SOA ns1 h 1 7200 3600 1209600 300\n@ NS ns1\n@ A 192.0.2.7\nns1 A 192.0.2.1\n',
    );
    sb = await startSwitchboard(dir, { workers: 1, firstOrigin: 'small.test.', args: ['--images', 'on'] });
    for (const chain of ['nsec', 'nsec3'] as const)
      for (const serial of [1, 2])
        texts[`${chain}${serial}`] = bigSignedZoneText('big.test.', HOSTS, chain, serial);
  });
  after(async () => {
    await sb?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** SIGHUP, then waits for the reload's report line (the worker took the new images). */
  async function reload(): Promise<void> {
    reloads++;
    const seen = (sb.output().match(/reload: serving/g) ?? []).length;
    process.kill(sb.pid, 'SIGHUP');
    const until = Date.now() + 120_000;
    while ((sb.output().match(/reload: serving/g) ?? []).length <= seen) {
      if (Date.now() > until) assert.fail(`reload ${reloads} not reported: ${sb.output().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** DO queries of the big zone right after a reload: NXDOMAIN and NODATA with their proofs. */
  async function askSigned(chain: 'nsec' | 'nsec3'): Promise<void> {
    const proofType = chain === 'nsec' ? NSEC : NSEC3;
    const edns = { udpSize: 4096, dnssecOk: true };
    const nx = rcodeAndAuthorityTypes(
      await queryUdp(buildQuery({ name: 'nothere.big.test.', type: 1, edns }), {
        port: sb.port,
        timeoutMs: 5000,
      }),
    );
    assert.equal(nx.rcode, 3);
    assert.ok(nx.types.filter((t) => t === proofType).length >= 2, `NXDOMAIN proof: ${nx.types}`);
    const nodata = rcodeAndAuthorityTypes(
      await queryUdp(buildQuery({ name: 'h12345.big.test.', type: 16, edns }), {
        port: sb.port,
        timeoutMs: 5000,
      }),
    );
    assert.equal(nodata.rcode, 0);
    assert.ok(nodata.types.includes(proofType), `NODATA proof: ${nodata.types}`);
  }

  for (const chain of ['nsec', 'nsec3'] as const)
    test(`${chain}: ${HOSTS.toLocaleString('en')} names added, then changed, each DO-queried at once; small.test's longest gap < ${GAP_MS} ms`, async () => {
      const misses: string[] = [];
      for (let attempt = 1; attempt <= 2; attempt++) {
        // Not served yet: the zone file goes away, then comes (added), then changes.
        rmSync(join(dir, 'big.test.zone'), { force: true });
        await reload();
        writeFileSync(join(dir, 'big.test.zone'), texts[`${chain}1`]);
        await reload();
        let p = probe(sb.port);
        await askSigned(chain);
        await new Promise((r) => setTimeout(r, WINDOW_MS));
        const added = await p.stop();
        writeFileSync(join(dir, 'big.test.zone'), texts[`${chain}2`]);
        await reload();
        p = probe(sb.port);
        await askSigned(chain);
        await new Promise((r) => setTimeout(r, WINDOW_MS));
        const changed = await p.stop();
        console.log(
          `${chain} attempt ${attempt}: added ${JSON.stringify(added)}, changed ${JSON.stringify(changed)}`,
        );
        assert.ok(added.answered > 0 && changed.answered > 0, 'the small zone answered');
        const worst = Math.max(added.gap, changed.gap);
        if (worst < GAP_MS) return;
        misses.push(`attempt ${attempt}: longest gap ${worst.toFixed(0)} ms`);
      }
      assert.fail(misses.join('; '));
    });
});
