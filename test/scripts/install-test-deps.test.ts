/**
 * scripts/install-test-deps.sh fails (exit 1, naming the packages) when it cannot install what
 * the tests need; as `npm test`'s pretest step (--pretest) it only warns, unless
 * SWITCHBOARD_REQUIRE_PEERS=1. "Cannot install" is produced here without touching the machine:
 * PATH holds only `ls` and `id`, so the test programs (and apt-get) look absent; as root the
 * script then finds no apt-get, as another user it is not root — a failure either way.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findCommand } from '../helpers/peers.js';

const SCRIPT = resolve('scripts/install-test-deps.sh');

describe('scripts/install-test-deps.sh when it cannot install', () => {
  let bin: string;
  before(() => {
    bin = mkdtempSync(join(tmpdir(), 'sb-deps-path-'));
    for (const cmd of ['ls', 'id']) symlinkSync(findCommand(cmd) ?? `/bin/${cmd}`, join(bin, cmd));
  });
  after(() => rmSync(bin, { recursive: true, force: true }));

  function run(args: string[], require?: string) {
    const env: NodeJS.ProcessEnv = { PATH: bin, HOME: process.env.HOME };
    if (require !== undefined) env.SWITCHBOARD_REQUIRE_PEERS = require;
    return spawnSync('/bin/sh', [SCRIPT, ...args], { encoding: 'utf8', env, timeout: 30_000 });
  }

  test('run directly: exit 1 with the missing packages and how to install them', () => {
    const r = run([]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /ERROR: missing Debian packages: .*bind9-dnsutils.*knot-dnsutils/);
    assert.match(r.stderr, /apt-get install .*bind9-dnsutils/);
  });

  test('as pretest: a warning that the tests will skip, exit 0', () => {
    const r = run(['--pretest']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /WARNING: missing Debian packages: .*bind9-dnsutils/);
    assert.match(r.stderr, /will be skipped \(SWITCHBOARD_REQUIRE_PEERS=1 makes that a failure\)/);
  });

  test('as pretest with SWITCHBOARD_REQUIRE_PEERS=1: exit 1', () => {
    const r = run(['--pretest'], '1');
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /ERROR: missing Debian packages/);
  });
});
