/**
 * The workers' shared source-standing table (native/standing.c, docs/SHIELD.md "Standing shared by
 * the workers") under AddressSanitizer and UndefinedBehaviorSanitizer, with real processes: the
 * harness (native/fuzz/standing-harness.c) runs children of its own that map the same file as the
 * workers do — history and a TC=1 earned by one honoured by another, a worker killed and its
 * successor mapping the same table, a half-laid-out file laid out again, a table of another size
 * refused, 1,000 resolvers keeping their history while two workers take 2,000,000 rotating IPv6
 * sources (the file's fixed size), and one calm credit a second for all workers together. Without
 * a C compiler it skips (fails with SWITCHBOARD_REQUIRE_PEERS=1).
 * @module
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { skipOrFail } from '../helpers/require-peers.js';
import { buildHarness, SANITIZER_ENV } from '../helpers/sanitizer.js';

const dir = mkdtempSync(join(tmpdir(), 'sb-standing-'));
const harness = join(dir, 'standing-harness');
const skip = skipOrFail(
  buildHarness(
    'standing harness',
    harness,
    ['standing.c', 'shield.c', 'prefilter.c', 'fuzz/standing-harness.c'],
    {
      warnings: true,
      libs: ['-lm'],
    },
  ),
);
after(() => rmSync(dir, { recursive: true, force: true }));

test('the shared source table: across processes, a crash, bounds under a rotating-IPv6 flood', {
  skip,
  timeout: 240_000,
}, () => {
  const r = spawnSync(harness, ['check', dir], {
    encoding: 'utf8',
    timeout: 230_000,
    env: { ...process.env, ...SANITIZER_ENV },
  });
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  const failed = lines.filter((l) => l.startsWith('FAIL'));
  assert.deepEqual(failed, [], `${r.stdout}\n${r.stderr.slice(0, 3000)}`);
  assert.equal(r.status, 0, `harness exited ${r.status} ${r.signal}: ${r.stderr.slice(0, 3000)}`);
  assert.ok(lines.filter((l) => l.startsWith('ok ')).length >= 24, r.stdout);
  assert.match(lines[lines.length - 1] ?? '', /^done 0 failures$/);
});
