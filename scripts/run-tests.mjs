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

// The usual reporter (as node picks it: spec on a terminal, tap otherwise) on stdout, and the
// todo reporter into a file read after the run.
const todoDir = mkdtempSync(join(tmpdir(), 'run-tests-'));
const todoFile = join(todoDir, 'passing-todos.txt');
const todoReporter = pathToFileURL(fileURLToPath(new URL('./todo-reporter.mjs', import.meta.url))).href;
const reporters = [
  `--test-reporter=${process.stdout.isTTY ? 'spec' : 'tap'}`,
  '--test-reporter-destination=stdout',
  `--test-reporter=${todoReporter}`,
  `--test-reporter-destination=${todoFile}`,
];
const child = spawn(process.execPath, ['--test', '--test-concurrency=1', ...reporters, ...files], {
  stdio: 'inherit',
});
const stop = (signal) => child.kill(signal);
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
let code = await new Promise((done) => child.on('exit', (c, s) => done(c ?? (s ? 1 : 0))));
if (cluster)
  await cluster.stop().catch((err) => console.error(`run-tests: stopping PostgreSQL: ${err.message}`));
const passingTodos = existsSync(todoFile) ? readFileSync(todoFile, 'utf8').trim() : '';
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
