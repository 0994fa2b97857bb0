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

/**
 * Waits (bounded) until `text()` — a log another process writes (`peer.output()`, a platform's
 * `stderr()`, a log file read anew each time) — matches `re`, and returns that text. Use it for
 * every assertion on another process's output: a line is written asynchronously, often after
 * the answer or the state the test saw first. A throw from `text()` (a file not yet there)
 * counts as not yet; on timeout the test fails with the text's tail.
 */
export async function waitForText(
  what: string,
  text: () => string,
  re: RegExp,
  ms = 15_000,
): Promise<string> {
  const started = Date.now();
  let last = '';
  for (;;) {
    try {
      last = text();
      re.lastIndex = 0;
      if (re.test(last)) return last;
    } catch {
      // not yet
    }
    if (Date.now() - started >= ms) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what}: no ${re} within ${ms} ms; its tail:\n${last.slice(-3000)}`);
}
