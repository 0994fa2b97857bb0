#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with node:test.
// Usage: node scripts/run-tests.mjs [substring-filter ...]
//
// When PostgreSQL is installed and SWITCHBOARD_TEST_DATABASE is not set, one throw-away
// cluster is started for the whole run (each test file then creates its own database on it),
// instead of an initdb per file; it is stopped and removed at the end.
//
// A `todo` test that passes fails the run (scripts/todo-reporter.mjs lists them): either the
// gap it names is fixed and it must become an ordinary test, or it no longer tests its reason.
//
// Each file runs in a `node --test` process of its own, one after the other, in a process group
// of its own. A file still running after SWITCHBOARD_TEST_FILE_TIMEOUT seconds (default 600) fails:
// the runner names it, prints its last output lines, kills its process tree (the group and every
// descendant found in /proc, SIGTERM then SIGKILL) and goes on with the next file.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

function find(dir, out) {
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) find(p, out);
    else if (p.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const timeoutS = Number(process.env.SWITCHBOARD_TEST_FILE_TIMEOUT ?? 600);
if (!(timeoutS > 0)) {
  console.error(`run-tests: SWITCHBOARD_TEST_FILE_TIMEOUT must be a number of seconds > 0`);
  process.exit(1);
}

const files = find('dist', [])
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files found under dist/ (did the build run?)');
  process.exit(1);
}

let cluster;
const helper = resolve('dist/test/helpers/postgres.js');
if (!process.env.SWITCHBOARD_TEST_DATABASE && existsSync(helper)) {
  const pg = await import(pathToFileURL(helper).href);
  if (pg.postgresMissing() === false) {
    try {
      cluster = await pg.startPostgresCluster();
      process.env.SWITCHBOARD_TEST_DATABASE = cluster.url;
      console.error(`run-tests: PostgreSQL test cluster at ${cluster.url}`);
    } catch (err) {
      console.error(
        `run-tests: could not start a PostgreSQL cluster (${err.message}); files start their own`,
      );
    }
  }
}

// Descendants from /proc (test/helpers/procs.ts, built beside this run's tests); without it the
// process group alone is killed.
let listDescendants = () => [];
const procs = fileURLToPath(new URL('../dist/test/helpers/procs.js', import.meta.url));
if (existsSync(procs)) ({ listDescendants } = await import(pathToFileURL(procs).href));

/** Signals the process group of `pid` and every descendant of it listed in `pids`. */
function signalTree(pid, pids, signal) {
  for (const target of [-pid, ...pids]) {
    try {
      process.kill(target, signal);
    } catch {
      // gone already
    }
  }
}

// The usual reporter (as node picks it: spec on a terminal, tap otherwise) on stdout, and the
// todo reporter into a file per test file, read after the run.
const todoDir = mkdtempSync(join(tmpdir(), 'run-tests-'));
const todoReporter = pathToFileURL(fileURLToPath(new URL('./todo-reporter.mjs', import.meta.url))).href;
const reporter = `--test-reporter=${process.stdout.isTTY ? 'spec' : 'tap'}`;
const TAIL_LINES = 40;

let current;
let stopping = false;
const stop = (signal) => {
  stopping = true;
  if (current) signalTree(current.pid, listDescendants(current.pid), signal);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

/** Runs one file; resolves with its exit code, or 'timeout'. */
function runFile(file, index) {
  const todoFile = join(todoDir, `${index}.txt`);
  const args = [
    '--test',
    '--test-concurrency=1',
    reporter,
    '--test-reporter-destination=stdout',
    `--test-reporter=${todoReporter}`,
    `--test-reporter-destination=${todoFile}`,
    file,
  ];
  // detached: a process group of its own, so that a timeout can end the file's whole tree.
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  current = child;
  let tail = [];
  let partial = '';
  const keep = (chunk) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    tail = tail.concat(lines).slice(-TAIL_LINES);
  };
  child.stdout.on('data', (d) => {
    process.stdout.write(d);
    keep(d);
  });
  child.stderr.on('data', (d) => {
    process.stderr.write(d);
    keep(d);
  });
  return new Promise((done) => {
    let timedOut = false;
    let pids = [];
    const timer = setTimeout(() => {
      timedOut = true;
      pids = listDescendants(child.pid);
      const last = [...tail, partial].filter((l) => l !== '').slice(-TAIL_LINES);
      console.error(
        `run-tests: ${file} still running after ${timeoutS} s: failed; killing its ${pids.length + 1} process(es). Its last output lines:`,
      );
      for (const line of last) console.error(`  | ${line}`);
      signalTree(child.pid, pids, 'SIGTERM');
      // Whatever ignores SIGTERM (or was started since), 5 s later.
      setTimeout(
        () => signalTree(child.pid, [...pids, ...listDescendants(child.pid)], 'SIGKILL'),
        5000,
      ).unref();
    }, timeoutS * 1000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // The group and the descendants may outlive the leader: end what the file left behind.
      if (timedOut) signalTree(child.pid, pids, 'SIGKILL');
      current = undefined;
      const result = timedOut ? 'timeout' : (code ?? (signal ? 1 : 0));
      // Its output drained (a process it left behind may hold the pipes: 2 s at most).
      const grace = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        done(result);
      }, 2000);
      child.once('close', () => {
        clearTimeout(grace);
        done(result);
      });
    });
  });
}

let code = 0;
const failed = [];
const timedOutFiles = [];
for (const [index, file] of files.entries()) {
  if (stopping) break;
  const result = await runFile(file, index);
  if (result === 'timeout') timedOutFiles.push(file);
  else if (result !== 0) failed.push(file);
}
if (stopping) code = 1;
if (files.length > 1 || failed.length + timedOutFiles.length > 0) {
  console.error(
    `run-tests: ${files.length} file(s): ${failed.length} failed, ${timedOutFiles.length} timed out (> ${timeoutS} s)`,
  );
  for (const f of failed) console.error(`  failed: ${f}`);
  for (const f of timedOutFiles) console.error(`  timed out: ${f}`);
}
if (failed.length + timedOutFiles.length > 0) code = 1;
if (cluster)
  await cluster.stop().catch((err) => console.error(`run-tests: stopping PostgreSQL: ${err.message}`));
const passingTodos = readdirSync(todoDir)
  .map((f) => readFileSync(join(todoDir, f), 'utf8').trim())
  .filter(Boolean)
  .join('\n');
rmSync(todoDir, { recursive: true, force: true });
if (passingTodos) {
  const lines = passingTodos.split('\n');
  console.error(
    `run-tests: ${lines.length} todo test(s) passed; make them ordinary tests or fix their reason:`,
  );
  for (const line of lines) console.error(`  ${line}`);
  code = code || 1;
}
process.exit(code);
