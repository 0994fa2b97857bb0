/**
 * scripts/build-native.mjs: builds the addon offline (any download would go to a dead proxy
 * and fail) and never fails the install — with a broken compiler it prints one line and
 * exits 0. Runs on a copy of native/ so the addon the other tests use is left alone.
 * @module
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { findCommand } from '../helpers/peers.js';
import { skipOrFail } from '../helpers/require-peers.js';

const root = mkdtempSync(join(tmpdir(), 'sb-native-build-'));
after(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(join(root, 'scripts'));
cpSync(resolve('scripts/build-native.mjs'), join(root, 'scripts/build-native.mjs'));
cpSync(resolve('native'), join(root, 'native'), {
  recursive: true,
  filter: (src) => !src.includes(`${join('native', 'build')}`),
});
const addon = join(root, 'native/build/Release/switchboard_udp.node');

/** Dead proxies: a build that tried to download headers would fail. */
const offline = {
  http_proxy: 'http://127.0.0.1:9',
  https_proxy: 'http://127.0.0.1:9',
  npm_config_proxy: 'http://127.0.0.1:9',
  npm_config_https_proxy: 'http://127.0.0.1:9',
};

function run(env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [join(root, 'scripts/build-native.mjs')], {
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, ...offline, ...env },
  });
}

const skip = skipOrFail(
  process.platform !== 'linux'
    ? 'the native addon is Linux only'
    : !findCommand('make') || !(findCommand('cc') || findCommand('gcc'))
      ? 'make or a C compiler missing (apt-get install build-essential)'
      : false,
);

describe('scripts/build-native.mjs', { skip, timeout: 300_000 }, () => {
  test('a broken compiler: one line, exit 0 (the install goes on)', () => {
    const r = run({ CC: '/nonexistent/cc' });
    assert.equal(r.status, 0);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1, r.stdout);
    assert.match(lines[0], /^switchboard native UDP addon: build failed \(.*\); UDP uses the Node path$/);
    assert.equal(existsSync(addon), false);
  });

  test('SWITCHBOARD_SKIP_NATIVE=1 skips', () => {
    const r = run({ SWITCHBOARD_SKIP_NATIVE: '1' });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /skipped/);
  });

  test('builds offline with the local headers, and the result loads', () => {
    const r = run({});
    assert.equal(r.status, 0);
    assert.match(r.stdout, /built native\/build\/Release\/switchboard_udp.node/, r.stdout);
    assert.ok(existsSync(addon));
    const load = spawnSync(
      process.execPath,
      ['-e', `const a = require(${JSON.stringify(addon)}); process.stdout.write(String(a.layout().version))`],
      { encoding: 'utf8' },
    );
    assert.equal(load.stdout, '1', load.stderr);
  });
});
