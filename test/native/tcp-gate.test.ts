/**
 * The TCP accept decision in C (native/tcp_gate.c: the batch accept's strangers' budget, the
 * table of held connections, the blocked-/24 lookup) under AddressSanitizer and
 * UndefinedBehaviorSanitizer: the standalone harness (native/fuzz/tcp-gate-harness.c) runs a
 * script; the budget's takes are compared line for line with src/transport/tcp.ts's
 * StrangerBudget (the reference the Node path keeps using), the verdicts with their rule, and
 * the held table's bounds (full: the oldest closed first; swept at deadlines in order; closed on
 * shutdown) checked on real sockets, and the table of connections kept until their first frame
 * (tcphold19: bounds, deadlines, the frame peeked on real loopback connections). Without a C compiler it skips (fails with
 * SWITCHBOARD_REQUIRE_PEERS=1).
 * @module
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { StrangerBudget } from '../../src/transport/tcp.js';
import { seededRandom } from '../helpers/prng.js';
import { skipOrFail } from '../helpers/require-peers.js';
import { buildHarness, SANITIZER_ENV } from '../helpers/sanitizer.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-tcp-gate-'));
const harness = join(dir, 'tcp-gate-harness');
const skip = skipOrFail(
  buildHarness('TCP gate harness', harness, ['tcp_gate.c', 'fuzz/tcp-gate-harness.c'], {
    warnings: true,
    libs: ['-lm'],
  }),
);
after(() => rmSync(dir, { recursive: true, force: true }));

/** The harness's table size (native/tcp_gate.h SB_TCP_HELD_MAX). */
const HELD_MAX = 2048;
/** The first-frame table's size (native/tcp_gate.h SB_TCP_WAIT_MAX). */
const WAIT_MAX = 4096;

function run(lines: readonly string[]): string[] {
  const r = spawnSync(harness, [], {
    input: `${lines.join('\n')}\n`,
    encoding: 'utf8',
    timeout: 240_000,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, ...SANITIZER_ENV },
  });
  assert.equal(r.status, 0, `harness failed (${r.status} ${r.signal}): ${r.stderr.slice(0, 2000)}`);
  return r.stdout.split('\n').slice(0, -1);
}

/** An address as text (as Node writes it, IPv6 uncompressed so the reference keys its /56) and
 * as the octets C takes. */
function address(rand: () => number): [string, string] {
  const k = rand();
  if (k < 0.6) {
    const c = Math.floor(rand() * 12);
    const d = 1 + Math.floor(rand() * 254);
    const text = `127.2.${c}.${d}`;
    const hex = Buffer.from([127, 2, c, d]).toString('hex');
    return rand() < 0.2 ? [`::ffff:${text}`, `00000000000000000000ffff${hex}`] : [text, hex];
  }
  const g = [
    0x2001,
    0xdb8,
    Math.floor(rand() * 3),
    Math.floor(rand() * 4) << 8,
    0,
    0,
    0,
    Math.floor(rand() * 9) + 1,
  ];
  const bytes = Buffer.alloc(16);
  for (let i = 0; i < g.length; i++) bytes.writeUInt16BE(g[i], 2 * i);
  return [g.map((v) => v.toString(16)).join(':'), bytes.toString('hex')];
}

describe('the TCP accept decision in C (ASan/UBSan)', { skip, timeout: 300_000 }, () => {
  test('the strangers’ budget takes exactly what StrangerBudget takes (process and /24 or /56, whole seconds)', () => {
    for (const [seed, perSecond, perBlock] of [
      [1, 64, 8],
      [2, 10, 3],
      [3, 1000, 2],
      [4, 0, 8],
      [5, 64, 0],
    ]) {
      const rand = seededRandom(seed);
      const ref = new StrangerBudget(perSecond, perBlock);
      const lines = [`new ${perSecond} ${perBlock} 1000`];
      const want: string[] = [];
      let now = 1000 * Math.floor(rand() * 5);
      for (let i = 0; i < 20_000; i++) {
        // Bursts and gaps, crossing seconds.
        now += rand() < 0.9 ? rand() * 2 : rand() * 700;
        const [text, hex] = address(rand);
        const t = Math.round(now * 1000) / 1000;
        lines.push(`take ${hex} ${t}`);
        want.push(ref.take(text, t) ? '1' : '0');
      }
      const got = run(lines);
      assert.equal(got.length, want.length);
      const served = want.filter((w) => w === '1').length;
      assert.ok(perSecond === 0 || perBlock === 0 ? served === 0 : served > 0);
      for (let i = 0; i < got.length; i++)
        if (got[i] !== want[i])
          assert.fail(`seed ${seed}, take ${i}: C ${got[i]}, StrangerBudget ${want[i]}`);
    }
  });

  test('at most 4096 client blocks a second; a new second starts them again', () => {
    const lines = ['new 1000000 8 1000'];
    for (let i = 0; i < 5000; i++)
      lines.push(`take ${Buffer.from([10, i >> 8, i & 0xff, 1]).toString('hex')} 10`);
    lines.push(`take ${Buffer.from([10, 0x13, 0x87, 1]).toString('hex')} 1000`);
    const got = run(lines);
    assert.equal(got.slice(0, 5000).filter((g) => g === '1').length, 4096);
    assert.equal(got[5000], '1', 'a new second');
  });

  test('verdicts: a blocked /24 closed, a stranger within the budget served, beyond it held; others served', () => {
    const a = '7f020301';
    const got = run([
      'new 64 2 1000',
      `judge ${a} 0 1 1`, // blocked (stranger or not): 3
      `judge ${a} 0 0 1`,
      `judge ${a} 0 0 0`, // not a stranger: 0, takes nothing
      `judge ${a} 0 1 0`, // stranger: 1, 1, then 2 (the /24's 2 a second)
      `judge ${a} 1 1 0`,
      `judge ${a} 2 1 0`,
      `judge ${a} 1000 1 0`, // the next second: 1
      'counters',
    ]);
    assert.deepEqual(got, ['3', '3', '0', '1', '1', '2', '1', '2 1 3 4']);
  });

  test('the held table: bounded, the oldest closed first when full, swept at deadlines in order, all closed on shutdown', () => {
    const got = run([`held ${HELD_MAX}`, 'held 10', 'held 0']);
    for (const g of got) if (g.startsWith('skip')) return;
    assert.deepEqual(got, ['ok', 'ok', 'ok']);
  });

  test('connections kept for their first frame: bounded, the oldest reset first when full, freed out of order and reused, swept at the calm and the pressed deadline, closed per listener', () => {
    const got = run([`wait ${WAIT_MAX}`, `wait ${WAIT_MAX + 500}`, 'wait 10', 'wait 0']);
    for (const g of got) if (g.startsWith('skip')) return;
    assert.deepEqual(got, ['ok', 'ok', 'ok', 'ok']);
  });

  test('the first frame peeked on real connections: half a length, half a frame, split across segments, 0-length and short, the largest, the client closing first', () => {
    const got = run(['frame']);
    if (got[0]?.startsWith('skip')) return;
    assert.deepEqual(Object.fromEntries(got.map((l) => l.split(' '))), {
      nothing: '0',
      'half-length': '0',
      'half-frame': '0',
      'one-short': '0',
      'split-complete': '1',
      // Peeked, never read: the whole frame (2 + 30 octets) is still there for JS.
      'still-queued': '32',
      'zero-length': '-2',
      eleven: '-2',
      'largest-short': '0',
      largest: '1',
      'closed-empty': '-1',
      'closed-half-length': '-1',
      'closed-half-frame': '-1',
      // A whole frame then the client's FIN: answered (RFC 7766 §6.2.4), not dropped.
      'closed-after-frame': '1',
      'bad-fd': '-1',
    });
  });

  test('the blocked-/24 lookup and hostile addresses', () => {
    assert.deepEqual(
      run(['blocked 1 512', 'blocked 2 1', 'blocked 3 0', 'hostile 4 100000', 'hostile 5 100000']),
      ['ok', 'ok', 'ok', 'ok', 'ok'],
    );
  });
});
