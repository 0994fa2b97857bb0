/**
 * scripts/build-native.mjs --if-stale (run by `npm test`): builds the addon only when a target of
 * binding.gyp is missing or older than native/*.c, *.h or binding.gyp, says why, and never fails
 * the run (a failed build leaves the pure-Node path). Checked on a copy of the script in a
 * throw-away tree (the script finds native/ beside its own folder), not on the repo's addon.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { repoRoot } from '../helpers/paths.js';

const GYP = JSON.stringify({
  targets: [
    { target_name: 'one', sources: ['one.c'] },
    { target_name: 'two', sources: ['two.c'] },
  ],
});

describe('scripts/build-native.mjs --if-stale', () => {
  let root: string;
  const native = () => join(root, 'native');
  const built = (name: string) => join(native(), 'build', 'Release', `${name}.node`);
  /** Sets a file's modification time, seconds from now. */
  const age = (file: string, seconds: number) => {
    const t = new Date(Date.now() + seconds * 1000);
    utimesSync(file, t, t);
  };
  const run = (env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [join(root, 'scripts', 'build-native.mjs'), '--if-stale'], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
      timeout: 180_000,
    });

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'sb-build-native-'));
    mkdirSync(join(root, 'scripts'));
    copyFileSync(resolve(repoRoot, 'scripts/build-native.mjs'), join(root, 'scripts', 'build-native.mjs'));
    mkdirSync(join(native(), 'build', 'Release'), { recursive: true });
    writeFileSync(join(native(), 'binding.gyp'), GYP);
    for (const f of ['one.c', 'two.c', 'common.h']) writeFileSync(join(native(), f), '/* test */\n');
    for (const f of ['binding.gyp', 'one.c', 'two.c', 'common.h']) age(join(native(), f), -60);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('a target missing: it builds (here skipped by SWITCHBOARD_SKIP_NATIVE) and says why', () => {
    writeFileSync(built('one'), '');
    const r = run({ SWITCHBOARD_SKIP_NATIVE: '1' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /rebuilding \(native\/build\/Release\/two\.node missing\)/);
    assert.match(r.stdout, /skipped \(SWITCHBOARD_SKIP_NATIVE=1\)/);
  });

  test('every target newer than every source: nothing done, nothing printed', () => {
    writeFileSync(built('two'), '');
    const r = run({ SWITCHBOARD_SKIP_NATIVE: '1' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
  });

  test('a header newer than the oldest target: it builds, naming the file', () => {
    // The other sources 60 s old: older than both targets; the header newer than one of them.
    age(built('one'), -30);
    age(join(native(), 'common.h'), 0);
    const r = run({ SWITCHBOARD_SKIP_NATIVE: '1' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /rebuilding \(native\/common\.h newer than the built addon\)/);
  });

  test('a build that fails exits 0 and says the Node path is used', () => {
    // one.c does not compile: the real node-gyp runs and fails.
    writeFileSync(join(native(), 'one.c'), 'this is not C\n');
    const r = run();
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /rebuilding \(native\/.* newer than the built addon\)/);
    assert.match(r.stdout, /(build failed|not built).*UDP uses the Node path/);
  });
});
