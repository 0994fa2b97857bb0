/**
 * One rule for every test that needs a program or server installed on the machine (dig, kdig,
 * NSD, Knot, PowerDNS, PostgreSQL, lego, pebble, named-checkzone): when it is missing, the
 * tests skip with a reason saying what to install, so that `npm test` runs anywhere; with
 * `SWITCHBOARD_REQUIRE_PEERS=1` in the environment (set by `.ci/run`) each missing piece also
 * adds one failing test that names it, so a CI run can never pass while an interop test was
 * skipped silently.
 * @module
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

/** The environment variable that turns a missing test peer into a failure. */
export const REQUIRE_PEERS_ENV = 'SWITCHBOARD_REQUIRE_PEERS';

/** True when `SWITCHBOARD_REQUIRE_PEERS` is 1 (the value .ci/run sets). */
export function peersRequired(): boolean {
  return process.env[REQUIRE_PEERS_ENV] === '1';
}

const reported = new Set<string>();

/**
 * Skip or fail: `missing` is why the tests cannot run here (false: they can). Returns it for
 * node:test's `{ skip }`; when peers are required it also registers, once per reason and
 * process, a test that fails with that reason. Call it from test files (it registers a test);
 * scripts and benchmarks use the plain `…Missing()` functions of the helpers instead.
 */
export function skipOrFail(missing: false | string): false | string {
  if (missing === false || !peersRequired()) return missing;
  if (!reported.has(missing)) {
    reported.add(missing);
    test(`required test peer: ${missing}`, () => {
      assert.fail(`${REQUIRE_PEERS_ENV}=1 and a test peer is missing: ${missing}`);
    });
  }
  return missing;
}
