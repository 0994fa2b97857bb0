/**
 * The kernel prefilter's QNAME filter (native/prefilter.c, docs/SHIELD.md "An attacked zone's
 * missing names dropped in the kernel") under AddressSanitizer and UndefinedBehaviorSanitizer:
 * the standalone harness (native/fuzz/qf-harness.c) attaches the program for two attacked zones
 * and a blocked /24 to real loopback UDP sockets (IPv4, and IPv6 when the host has ::1) and sends
 * seeded queries — names of the set in random case, random names under the zones, other zones,
 * and hostile datagrams (truncated, pointers, reserved label types, too many labels, responses,
 * QDCOUNT 0 or 2, random octets) — and requires the kernel's decision for every one to equal the
 * C reference `sb_qf_decide` (the dry run's and the glue's); from the blocked /24, none passes
 * without a sample share, about 1 in 256 with the server's (expiry19). Then the bounds of the builder,
 * and (onset22) that a rebuild of the program on a socket is known as the same, and a change is not;
 * (lone24) the bridge's program as eBPF, and (maps25) its share and /24s of standing in maps.
 * Without a C compiler it skips (fails with SWITCHBOARD_REQUIRE_PEERS=1).
 * @module
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { skipOrFail } from '../helpers/require-peers.js';
import { buildHarness, SANITIZER_ENV } from '../helpers/sanitizer.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-qf-'));
const harness = join(dir, 'qf-harness');
const skip = skipOrFail(
  buildHarness('QNAME filter harness', harness, ['prefilter.c', 'prefilter_lone.c', 'fuzz/qf-harness.c'], {
    warnings: true,
  }),
);
after(() => rmSync(dir, { recursive: true, force: true }));

describe('the QNAME filter in the kernel (native/prefilter.c) under ASan/UBSan', {
  skip,
  timeout: 120_000,
}, () => {
  for (const seed of [1, 2, 3])
    test(`seed ${seed}: the kernel decides every datagram as the reference does`, () => {
      const r = spawnSync(harness, [String(seed), '12000'], {
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, ...SANITIZER_ENV },
      });
      assert.equal(r.stderr, '', 'sanitizer or mismatch report');
      assert.equal(r.status, 0, r.stdout);
      const m =
        /^qf sent (\d+) passed (\d+) dropped (\d+) mismatches (\d+) v6 ([01]) blocked 1 insns (\d+)$/m.exec(
          r.stdout,
        );
      assert.ok(m, r.stdout);
      assert.equal(m[4], '0', 'mismatches');
      assert.ok(Number(m[2]) > 1000 && Number(m[3]) > 1000, `both decisions seen: ${r.stdout}`);
      assert.ok(Number(m[6]) <= 4096, 'within BPF_MAXINSNS');
      // expiry19: 25,600 datagrams from the blocked /24 through the server's program: about 1 in
      // 256 passes (the worker's evidence for renewing the block); expected 100 (Poisson: 50..160
      // leaves ~1 in 10^6 per side).
      const sampled = /^qf sampled (\d+) of (\d+)$/m.exec(r.stdout);
      assert.ok(sampled, r.stdout);
      assert.equal(sampled[2], '25600');
      assert.ok(Number(sampled[1]) >= 50 && Number(sampled[1]) <= 160, `sampled ${sampled[1]} of 25600`);
      // bridge21: the bridge's program in the kernel, without and with the QNAME filter before it —
      // a /24 of standing and an allow range pass whole, the blocked /24 at the renewal's 1 in 256,
      // strangers (one outside the allow range by an address) at the share of 1 in 16.
      const b =
        /^qf bridge standing (\d+) of (\d+) range (\d+) of (\d+) outside (\d+) of (\d+) blocked (\d+) of (\d+) stranger (\d+) of (\d+) insns (\d+) most (\d+) with-zones (\d+)$/m.exec(
          r.stdout,
        );
      assert.ok(b, r.stdout);
      assert.equal(b[1], b[2], 'the /24 of standing passes whole');
      assert.equal(b[3], b[4], 'the allow range passes whole');
      // Expected 250 of 4,000 and 400 of 6,400 (1 in 16), 200 of 51,200 (1 in 256); bounds ~5 sigma.
      assert.ok(Number(b[5]) >= 170 && Number(b[5]) <= 330, `outside the range: ${b[5]} of ${b[6]}`);
      assert.ok(Number(b[7]) >= 130 && Number(b[7]) <= 280, `blocked: ${b[7]} of ${b[8]}`);
      assert.ok(Number(b[9]) >= 300 && Number(b[9]) <= 500, `strangers: ${b[9]} of ${b[10]}`);
      assert.ok(Number(b[11]) > 0 && Number(b[11]) <= 4096 && Number(b[12]) > 0, 'built within bounds');
      // onset22: a rebuild of the attached program is the same (not attached again; the kernel keeps
      // dropping the blocked /24), a changed share, set or a detach is not, and attached it applies.
      assert.match(r.stdout, /^qf same 7 of 7 kept 2000 of 2000 after 2000 of 2000$/m);
      // lone24: the bridge's program as eBPF with the quiet /24s' pass (native/prefilter_lone.c),
      // where bpf(2) is allowed (root here; elsewhere the classic program is attached instead).
      const l =
        /^qf lone ok ([01]) mismatches (\d+) passed (\d+) dropped (\d+) standing (\d+) of (\d+) range (\d+) of (\d+) outside (\d+) of (\d+) blocked (\d+) of (\d+) stranger (\d+) of (\d+) quiet (\d+) of 20 rotating (\d+) of 600$/m.exec(
          r.stdout,
        );
      assert.ok(l, r.stdout);
      if (l[1] === '0') {
        assert.notEqual(process.getuid?.(), 0, 'bpf(2) refused to root');
        return;
      }
      // Its QNAME filter as the reference decides, datagram by datagram (the source of standing).
      assert.equal(l[2], '0', 'mismatches through the eBPF translation');
      assert.ok(Number(l[3]) > 500 && Number(l[4]) > 500, `both decisions seen: ${l[0]}`);
      assert.equal(l[5], l[6], 'the /24 of standing passes whole');
      assert.equal(l[7], l[8], 'the allow range passes whole');
      // A flooding stranger: its first 4 (SB_LONE_PER_WIN) whole, then hot — the share of 1 in 16
      // (expected 4 + 125 of 2,000, 4 + 200 of 3,200); the blocked /24 at 1 in 256 (100 of 25,600).
      assert.ok(Number(l[9]) >= 4 + 70 && Number(l[9]) <= 4 + 190, `outside the range: ${l[9]} of ${l[10]}`);
      assert.ok(Number(l[11]) >= 50 && Number(l[11]) <= 160, `blocked: ${l[11]} of ${l[12]}`);
      assert.ok(Number(l[13]) >= 4 + 130 && Number(l[13]) <= 4 + 280, `stranger: ${l[13]} of ${l[14]}`);
      // A quiet stranger (one every 40 ms) is read whole; 600 /24s of one datagram each in one window:
      // the budget of 256 whole, the rest at the share (expected 256 + 21.5).
      assert.equal(l[15], '20', 'the quiet stranger passes whole');
      assert.ok(Number(l[16]) >= 256 && Number(l[16]) <= 256 + 60, `rotating /24s: ${l[16]} of 600`);
      // maps25: the share and the /24s of standing in maps — one program attached, then a join and a
      // rise of the share written into the maps only (a rebuild for each is the same program), and
      // the kernel applies each at once.
      const mp =
        /^qf maps ok 1 mismatches (\d+) programs (\d+) same (\d+) flood (\d+) of 2000 joined (\d+) of 2000 share (\d+) of 4000 left (\d+) of 3200$/m.exec(
          r.stdout,
        );
      assert.ok(mp, r.stdout);
      assert.equal(
        mp[1],
        '0',
        "the mapped program's QNAME filter against the reference (standing from the map)",
      );
      assert.equal(mp[2], '1', 'one program for the join and the rise of the share');
      assert.equal(mp[3], '2', 'a rebuild for a join or a rise is the same program');
      // A flooding stranger: 4 whole, then hot at 1 in 16 (expected 4 + 125 of 2,000).
      assert.ok(Number(mp[4]) >= 4 + 70 && Number(mp[4]) <= 4 + 190, `stranger flooding: ${mp[4]} of 2000`);
      assert.equal(mp[5], '2000', 'its /24 joined through the map: whole');
      // Another stranger at the share raised to 1 in 2 through the map (expected 4 + 1,998 of 4,000).
      assert.ok(Number(mp[6]) >= 1800 && Number(mp[6]) <= 2200, `share 1 in 2: ${mp[6]} of 4000`);
      // The joined /24 gone, the share back at 1 in 16: hot, the share only (expected 200 of 3,200).
      assert.ok(Number(mp[7]) >= 120 && Number(mp[7]) <= 290, `left the bridge: ${mp[7]} of 3200`);
    });
});
