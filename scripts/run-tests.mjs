#!/usr/bin/env node
// Runs every compiled test file (dist/**/*.test.js) with node:test.
// Usage: node scripts/run-tests.mjs [substring-filter ...]
//
// When PostgreSQL is installed and SWITCHBOARD_TEST_DATABASE is not set, one throw-away
// cluster is started for the whole run (each test file then creates its own database on it),
// instead of an initdb per file; it is stopped and removed at the end.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

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

const child = spawn(process.execPath, ['--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
const stop = (signal) => child.kill(signal);
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
const code = await new Promise((done) => child.on('exit', (c, s) => done(c ?? (s ? 1 : 0))));
if (cluster)
  await cluster.stop().catch((err) => console.error(`run-tests: stopping PostgreSQL: ${err.message}`));
process.exit(code);
