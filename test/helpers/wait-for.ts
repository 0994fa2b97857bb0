/**
 * Polling for e2e tests: `waitFor` asks `check` every `everyMs` until it says true (a throw
 * counts as not yet) and fails the test after `ms`, returning how long it took.
 * @module
 */
import assert from 'node:assert/strict';

export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  ms = 20_000,
  everyMs = 100,
): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    try {
      if (await check()) return Date.now() - started;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  assert.fail(`${what}: not within ${ms} ms`);
}
