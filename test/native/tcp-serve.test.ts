/**
 * Plain TCP queries served in C (native/tcp_serve.c, tcpc23) under AddressSanitizer and
 * UndefinedBehaviorSanitizer: the standalone harness (native/fuzz/tcp-serve-harness.c) runs each
 * scenario on real stream sockets with a stub answer — pipelined frames answered in order, a frame
 * trickling in octet by octet kept between reads, the hand-over to JS at a frame C does not answer
 * (with the octets read and the answers not written), a long frame, a short frame, the client's
 * shutdown, a client that never reads, the table's bounds and deadlines, and seeded random streams
 * cut at random places. Without a C compiler it skips (fails with SWITCHBOARD_REQUIRE_PEERS=1).
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

const dir = mkdtempSync(join(tmpdir(), 'sb-tcp-serve-'));
const harness = join(dir, 'tcp-serve-harness');
const skip = skipOrFail(
  buildHarness('TCP serve harness', harness, ['tcp_serve.c', 'fuzz/tcp-serve-harness.c'], { warnings: true }),
);
after(() => rmSync(dir, { recursive: true, force: true }));

const SCENARIOS: [string, string][] = [
  ['pipeline', '200 pipelined frames in one write: every answer, in order, in one call'],
  [
    'split',
    'a frame octet by octet, and a cut inside a length prefix: kept between reads, answered once complete',
  ],
  [
    'hand',
    'a frame C does not answer: handed over with the octets from its length on, the answer before it unwritten',
  ],
  ['long', 'a frame longer than the inline buffer left incomplete: handed over with its octets'],
  ['short', 'a frame shorter than a header: the answer due written, then closed and counted'],
  ['eof', 'the client’s shutdown after a frame and part of another: answered, then closed'],
  [
    'slow',
    'a client that never reads: handed over at a short write; received + unwritten + unread = the exchange',
  ],
  ['table', 'the table’s bounds, the per-client limit, idle / pressed / frame deadlines, close by listener'],
  ['random', 'seeded random streams with hostile lengths cut at random places: answers always in order'],
  [
    'clients',
    '(tcpl24) the per-client count table against a walk: 40,000 random takes and frees, full and back; the limit at a full table',
  ],
  [
    'jsclients',
    '(tidy25) JS’s connections in the same count: one limit for C’s and JS’s, the bound on JS’s addresses, 60,000 random steps against a model',
  ],
];

describe('plain TCP queries served in C (ASan/UBSan)', { skip, timeout: 300_000 }, () => {
  for (const [name, what] of SCENARIOS) {
    test(what, () => {
      const r = spawnSync(harness, [], {
        input: `${name}\n`,
        encoding: 'utf8',
        timeout: 240_000,
        env: { ...process.env, ...SANITIZER_ENV },
      });
      assert.equal(r.status, 0, `harness failed (${r.status} ${r.signal}): ${r.stderr.slice(0, 2000)}`);
      assert.equal(r.stdout.trim(), `${name} ok`);
    });
  }
});
