/**
 * The install a new user does (issue 6 item 5): `git clone` of this repository's HEAD into a
 * temp folder, `npm ci`, then `npx switchboard --help` must print the usage and exit 0. The
 * `prepare` script builds dist/ during `npm ci` / `npm install`, so the bin works at once. `npm
 * ci` must print no warning (no EBADENGINE on the Node version the README names, no deprecation).
 *
 * Why it runs only with SWITCHBOARD_FRESH_CLONE=1 (which .ci/run sets): it takes minutes (npm ci
 * installs every package again and compiles better-sqlite3's native module when no prebuilt
 * binary fits) and needs the npm registry, or a warm npm cache; an ordinary `npm test` on a
 * developer's machine should not pay that on every run. Elsewhere it skips and says how to run
 * it. It tests what is committed (HEAD), not uncommitted changes.
 *
 * `npx` gets a fresh npm cache of its own and `--offline`: a stale npx cache entry cannot mask a
 * missing bin, and npx can never fetch the unrelated `switchboard` package from the registry
 * instead of running ours.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { atCleanup, killAtCleanup } from '../helpers/cleanup.js';
import { repoRoot } from '../helpers/paths.js';

const ENABLED = process.env.SWITCHBOARD_FRESH_CLONE === '1';
const skip = ENABLED
  ? false
  : 'the fresh-clone install test takes minutes and needs the npm registry: set SWITCHBOARD_FRESH_CLONE=1 to run it (.ci/run does)';

interface Ran {
  code: number | null;
  out: string;
  err: string;
  seconds: number;
}

/** Runs `cmd` in `cwd` to completion (killed with this process on a signal). */
function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Ran> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const unkill = killAtCleanup(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString('utf8');
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString('utf8');
    });
    child.once('error', reject);
    child.once('close', (code) => {
      unkill();
      resolve({ code, out, err, seconds: (performance.now() - started) / 1000 });
    });
  });
}

/** Our environment without what `npm test` adds for its scripts (npm_*), so npm starts afresh. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'INIT_CWD') env[k] = v;
  return { ...env, ...extra };
}

describe('fresh clone: npm ci && npx switchboard --help', { skip, timeout: 30 * 60_000 }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'sb-fresh-clone-'));
  const unremove = atCleanup(() => rmSync(tmp, { recursive: true, force: true }));
  after(() => {
    rmSync(tmp, { recursive: true, force: true });
    unremove();
  });
  const dir = join(tmp, 'switchboard');

  test('git clone of HEAD', async () => {
    const head = await run('git', ['rev-parse', 'HEAD'], repoRoot, cleanEnv());
    assert.equal(head.code, 0, `not a git checkout: ${head.err}`);
    const sha = head.out.trim();
    const clone = await run('git', ['clone', '--quiet', '--no-checkout', repoRoot, dir], tmp, cleanEnv());
    assert.equal(clone.code, 0, clone.err);
    const checkout = await run('git', ['checkout', '--quiet', '--detach', sha], dir, cleanEnv());
    assert.equal(checkout.code, 0, checkout.err);
  });

  test('npm ci succeeds without a warning and builds dist/', async (t) => {
    const r = await run('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], dir, cleanEnv());
    t.diagnostic(`npm ci (with the prepare build) took ${r.seconds.toFixed(1)} s`);
    assert.equal(r.code, 0, `npm ci failed:\n${r.out}\n${r.err}`);
    const warnings = `${r.out}\n${r.err}`
      .split('\n')
      .filter((l) => /\bwarn\b|EBADENGINE|deprecated/i.test(l));
    assert.deepEqual(warnings, [], 'npm ci printed warnings');
  });

  test('npx switchboard --help prints the usage and exits 0', async () => {
    const r = await run(
      'npx',
      ['--offline', 'switchboard', '--help'],
      dir,
      cleanEnv({ npm_config_cache: join(tmp, 'npx-cache') }),
    );
    assert.equal(r.code, 0, `npx switchboard --help failed:\n${r.out}\n${r.err}`);
    assert.match(r.out, /^Usage: switchboard /m);
    for (const cmd of ['start', 'serve', 'check-zone', 'zone', 'record'])
      assert.match(r.out, new RegExp(`^\\s+${cmd}\\b`, 'm'), `--help lists '${cmd}'`);
  });
});
