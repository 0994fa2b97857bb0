/**
 * SWITCHBOARD_REQUIRE_PEERS=1 turns the skip of a test whose peer is missing into a failure
 * that names the peer; without it the test skips with the same reason. Each case runs a small
 * test program in a child process (node:test runs it and sets the exit status), with a command
 * that cannot exist standing in for a missing NSD or PostgreSQL.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';

const helper = (name: string): string => pathToFileURL(resolve(`dist/test/helpers/${name}.js`)).href;

const PROGRAM = `
import { test } from 'node:test';
import { skipUnlessCommands } from ${JSON.stringify(helper('peers'))};
import { skipOrFail } from ${JSON.stringify(helper('require-peers'))};
const skip = skipUnlessCommands('switchboard-no-such-peer');
test('needs the missing peer', { skip }, () => {});
test('needs it too', { skip: skipUnlessCommands('switchboard-no-such-peer') }, () => {});
test('needs nothing', { skip: skipOrFail(false) }, () => {});
`;

function runProgram(env: Record<string, string | undefined>) {
  const e = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete e[k];
  // Not under this runner's test context: the child reports on its own.
  delete e.NODE_TEST_CONTEXT;
  return spawnSync(process.execPath, ['--input-type=module', '-e', PROGRAM], {
    encoding: 'utf8',
    env: e,
    timeout: 60_000,
  });
}

describe('SWITCHBOARD_REQUIRE_PEERS', () => {
  test('unset: a missing peer skips, with a reason saying what to install', () => {
    const r = runProgram({ SWITCHBOARD_REQUIRE_PEERS: undefined });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /# SKIP not installed: switchboard-no-such-peer \(run scripts\/install-test-deps\.sh/,
    );
    assert.match(r.stdout, /# pass 1/);
    assert.match(r.stdout, /# fail 0/);
    assert.doesNotMatch(r.stdout, /required test peer/);
  });

  test('=1: a missing peer fails the run once, naming it; the tests that need it still skip', () => {
    const r = runProgram({ SWITCHBOARD_REQUIRE_PEERS: '1' });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /not ok \d+ - required test peer: not installed: switchboard-no-such-peer/);
    assert.match(r.stdout, /SWITCHBOARD_REQUIRE_PEERS=1 and a test peer is missing/);
    // One failure for the one missing peer, however many tests need it.
    assert.match(r.stdout, /# fail 1/);
    assert.match(r.stdout, /# skipped 2/);
  });

  test('=0 is the same as unset', () => {
    const r = runProgram({ SWITCHBOARD_REQUIRE_PEERS: '0' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});
