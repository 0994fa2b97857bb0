/**
 * scripts/run-tests.mjs fails the run when a `todo` test passes: its reporter
 * (scripts/todo-reporter.mjs) lists exactly the passing todos, and the runner exits 1 then.
 * A file that outlives the per-file timeout fails with its name and last lines, its process
 * tree is killed, and the run goes on.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../helpers/paths.js';
import { isAlive } from '../helpers/procs.js';
import { waitFor } from '../helpers/wait-for.js';

const dir = mkdtempSync(join(tmpdir(), 'todo-reporter-'));

/** This process's environment without NODE_TEST_CONTEXT, so that the child is a test run of its own. */
function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  return env;
}
after(() => rmSync(dir, { recursive: true, force: true }));

const FIXTURE = `
import { describe, test } from 'node:test';
test('passing todo', { todo: 'the gap it names' }, () => {});
test('failing todo', { todo: 'still a gap' }, () => { throw new Error('not yet'); });
test('bare todo flag', { todo: true }, () => {});
test('ordinary', () => {});
test('skipped', { skip: 'no peer' }, () => {});
describe('suite', () => {
  test('nested passing todo', { todo: 'nested gap' }, () => {});
});
`;

test('the todo reporter lists the passing todos and nothing else', () => {
  const file = join(dir, 'fixture.test.mjs');
  const out = join(dir, 'passing.txt');
  writeFileSync(file, FIXTURE);
  const reporter = pathToFileURL(resolve(repoRoot, 'scripts/todo-reporter.mjs')).href;
  const r = spawnSync(
    process.execPath,
    [
      '--test',
      '--test-reporter=tap',
      '--test-reporter-destination=stdout',
      `--test-reporter=${reporter}`,
      `--test-reporter-destination=${out}`,
      file,
    ],
    { encoding: 'utf8', env: childEnv() },
  );
  // node:test itself does not fail on a passing todo: that is what the reporter is for.
  assert.equal(r.status, 0, r.stderr);
  const lines = readFileSync(out, 'utf8').trim().split('\n').sort();
  assert.deepEqual(lines, [
    `${file}\tbare todo flag`,
    `${file}\tnested passing todo (todo: nested gap)`,
    `${file}\tpassing todo (todo: the gap it names)`,
  ]);
});

test('run-tests.mjs fails the run on a passing todo and names it; failing todos do not fail it', () => {
  // run-tests.mjs runs dist/**/*.test.js under the working directory.
  const run = (name: string, body: string) => {
    const cwd = join(dir, name);
    mkdirSync(join(cwd, 'dist'), { recursive: true });
    writeFileSync(join(cwd, 'dist', 'x.test.js'), `import { test } from 'node:test';\n${body}`);
    return spawnSync(process.execPath, [resolve(repoRoot, 'scripts/run-tests.mjs')], {
      cwd,
      encoding: 'utf8',
      env: childEnv(),
    });
  };
  const bad = run('bad', "test('fixed gap', { todo: 'old reason' }, () => {});\n");
  assert.equal(bad.status, 1, bad.stdout);
  assert.match(bad.stderr, /1 todo test\(s\) passed/);
  assert.match(bad.stderr, /x\.test\.js\tfixed gap \(todo: old reason\)/);
  const good = run(
    'good',
    "test('open gap', { todo: 'a gap' }, () => { throw new Error('x'); });\ntest('ok', () => {});\n",
  );
  assert.equal(good.status, 0, `${good.stdout}${good.stderr}`);
  assert.doesNotMatch(good.stderr, /todo test/);
});

test('run-tests.mjs fails a file that outlives SWITCHBOARD_TEST_FILE_TIMEOUT, kills its tree and goes on', async () => {
  const cwd = join(dir, 'hang');
  mkdirSync(join(cwd, 'dist'), { recursive: true });
  // A file that starts a process outside its process group (as a server a test starts may be),
  // says something, and never ends; then an ordinary file that must still run.
  writeFileSync(
    join(cwd, 'dist', 'a-hang.test.js'),
    `import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
test('hangs', async () => {
  const child = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
  writeFileSync('sleep.pid', String(child.pid));
  console.log('last words before the hang');
  await new Promise(() => setInterval(() => {}, 60_000));
});
`,
  );
  writeFileSync(
    join(cwd, 'dist', 'b-ok.test.js'),
    "import { test } from 'node:test';\ntest('after the hang', () => {});\n",
  );
  const r = spawnSync(process.execPath, [resolve(repoRoot, 'scripts/run-tests.mjs')], {
    cwd,
    encoding: 'utf8',
    env: { ...childEnv(), SWITCHBOARD_TEST_FILE_TIMEOUT: '3' },
    timeout: 60_000,
  });
  assert.equal(r.status, 1, `${r.stdout}${r.stderr}`);
  assert.match(r.stderr, /dist\/a-hang\.test\.js still running after 3 s: failed/);
  // Its last output lines, under the verdict.
  assert.match(r.stderr, /still running[\s\S]*\| .*last words before the hang/);
  assert.match(r.stderr, /timed out: dist\/a-hang\.test\.js/);
  // The next file ran and passed.
  assert.match(r.stdout, /ok 1 - after the hang/);
  assert.doesNotMatch(r.stderr, /failed: dist\/b-ok/);
  // The process outside its group was found through /proc and killed.
  const sleeper = Number(readFileSync(join(cwd, 'sleep.pid'), 'utf8'));
  await waitFor("the hung file's child gone", async () => !isAlive(sleeper), 10_000);
});

test('run-tests.mjs refuses a SWITCHBOARD_TEST_FILE_TIMEOUT that is not a number of seconds', () => {
  const r = spawnSync(process.execPath, [resolve(repoRoot, 'scripts/run-tests.mjs'), 'none'], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...childEnv(), SWITCHBOARD_TEST_FILE_TIMEOUT: 'ten' },
  });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /SWITCHBOARD_TEST_FILE_TIMEOUT must be a number of seconds/);
});
