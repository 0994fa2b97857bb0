/**
 * Paths shared by tests. Tests run from the repository root (npm test), wherever the
 * compiled files live, so paths are resolved from the working directory.
 * @module
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** The repository root (tests are run from it). */
export const repoRoot = process.cwd();

/** ../shared/testdata: real zone files from other projects, read in place, never copied. */
export const sharedTestdata = resolve(repoRoot, '../shared/testdata');

/**
 * The path of a file under ../shared/testdata, or a skip reason when that folder is absent
 * (as in a user's own clone): pass the result to `t.skip` / `{ skip }`.
 */
export function sharedFile(rel: string): { path: string; skip: false | string } {
  const path = resolve(sharedTestdata, rel);
  return existsSync(path)
    ? { path, skip: false }
    : { path, skip: `../shared/testdata/${rel} is not present (only in the team's workspace)` };
}

/** The example zones shipped in the repository. */
export const exampleZones = resolve(repoRoot, 'examples/zones');
