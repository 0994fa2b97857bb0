/**
 * ipv626: the kernel prefilter's IPv6 /56 blocks (native/block6.c, the IPv6 part of
 * native/prefilter.c; docs/SHIELD.md "IPv6 /56s before the socket queue") under AddressSanitizer and
 * UndefinedBehaviorSanitizer. The standalone harness (native/fuzz/block6-harness.c) checks the block
 * table — /56 keys, the threshold's rules (RRL, sheds prorated, missing names from 16 /64s), the
 * allow-list and good standing never blocked, the bound of SB_BLOCK6_MAX, the expiry, doubling and
 * renewal from the sample — with a seeded random run holding the set's invariants, then attaches the
 * UDP programs to real loopback sockets (::1 to ::1): every datagram from a blocked /56 dropped, every
 * one from a /56 not blocked passing (also through the QNAME filter's and the bridge's programs, and
 * the bridge as eBPF where bpf(2) is allowed), ~1 in 256 with the renewal's sample; then the
 * builder's bounds. Without a C compiler it skips (fails with SWITCHBOARD_REQUIRE_PEERS=1).
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

const dir = mkdtempSync(join(tmpdir(), 'sb-b6-'));
const harness = join(dir, 'block6-harness');
const skip = skipOrFail(
  buildHarness(
    'IPv6 block harness',
    harness,
    ['block6.c', 'prefilter.c', 'prefilter_lone.c', 'fuzz/block6-harness.c'],
    {
      warnings: true,
    },
  ),
);
after(() => rmSync(dir, { recursive: true, force: true }));

describe('IPv6 /56 blocks before the socket queue (native/block6.c, prefilter.c) under ASan/UBSan', {
  skip,
  timeout: 120_000,
}, () => {
  for (const seed of [1, 2])
    test(`seed ${seed}: the table's rules and bounds, the programs in the kernel`, () => {
      const r = spawnSync(harness, [String(seed)], {
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, ...SANITIZER_ENV },
      });
      assert.equal(r.stderr, '', 'sanitizer or harness report');
      assert.equal(r.status, 0, r.stdout);
      assert.match(r.stdout, /^b6 table ok made \d+ renewed [1-9]\d* spared 1 over 36 /m);
      assert.match(r.stdout, /^b6 fuzz 200000 ok /m);
      const k =
        /^b6 kernel v6 ([01]) blocked (\d+) of (\d+) v4 (\d+) of \d+ others (\d+) of \d+ sampled (\d+) of (\d+) qf (\d+) of \d+ qf-others (\d+) of \d+ bridge (\d+) of \d+ bridge-v4 (\d+) of \d+ bridge-others (\d+) of \d+$/m.exec(
          r.stdout,
        );
      assert.ok(k, r.stdout);
      if (k[1] === '1') {
        const n = Number(k[3]);
        assert.equal(k[2], '0', 'the blocked /56 (::1) dropped');
        assert.equal(Number(k[4]), n, 'IPv4 not touched by the IPv6 blocks');
        assert.equal(Number(k[5]), n, 'every datagram of a /56 not blocked passes');
        // 25,600 through the renewal's 1 in 256: expected 100 (50..160: ~1 in 10^6 per side).
        assert.equal(k[7], '25600');
        assert.ok(Number(k[6]) >= 50 && Number(k[6]) <= 160, `sampled ${k[6]}`);
        assert.equal(k[8], '0', 'the QNAME filter program: the blocked /56 dropped');
        assert.equal(Number(k[9]), n, 'the QNAME filter program: a /56 not blocked passes');
        assert.equal(k[10], '0', 'the bridge: the blocked /56 dropped');
        assert.equal(k[11], '0', 'the bridge at a share of 0: an IPv4 stranger dropped');
        assert.equal(Number(k[12]), n, 'the bridge: an IPv6 source not blocked passes whole');
      }
      const l = /^b6 lone ok ([01]) blocked (\d+) of (\d+) others (\d+) of (\d+)$/m.exec(r.stdout);
      assert.ok(l, r.stdout);
      if (l[1] === '1') {
        assert.equal(l[2], '0', 'eBPF bridge: the blocked /56 dropped');
        assert.equal(l[4], l[5], 'eBPF bridge: a /56 not blocked passes whole');
      }
      const b = /^b6 bounds ok insns (\d+) bridge (\d+)$/m.exec(r.stdout);
      assert.ok(b, r.stdout);
      assert.ok(Number(b[1]) <= 4096 && Number(b[2]) <= 4096, 'within BPF_MAXINSNS');
    });
});
