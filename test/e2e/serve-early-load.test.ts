/**
 * `serve --images on` over a folder whose one zone file is big (issue 7): the CLI starts that
 * file's compile thread before it loads the serve primary (src/server/serve/early-load.ts),
 * the thread loads the file at once and its job takes that load; the zone's checks run in a
 * thread of their own while it compiles (src/zone/check-thread.ts). The answers are the
 * file's; a file that fails a check near its end is refused (never served), as before.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BIG_ORIGIN, generateBigZone } from '../../bench/zone-load.js';
import { skipUnlessCommands } from '../helpers/peers.js';
import { waitFor } from '../helpers/wait-for.js';
import { dig, freePort, startSwitchboard } from './support.js';

const skip = skipUnlessCommands('dig');
const START = /^switchboard: serving .*$/m;
/** ~330,000 records: just over 8 MiB, the size from which the load takes two threads. */
const RECORDS = 330_000;

/** `serve --workers 2 --images on` over `dir`, waited for (the cold compile: up to 180 s). */
function serveDir(dir: string, port: number, env?: Record<string, string>) {
  const args = ['--zone-dir', dir, '--listen', `127.0.0.1:${port}`, '--workers', '2', '--images', 'on'];
  return startSwitchboard('serve', args, START, 180_000, env);
}

describe('serve --images on, one big zone file loaded before the primary is up', { skip }, () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('the early thread loads the file, its job takes the load, the workers answer from it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-early-load-'));
    dirs.push(dir);
    generateBigZone(join(dir, 'big.test.zone'), RECORDS);
    const port = await freePort();
    // The checks run in the parse thread once its parse is done (the default).
    const s = await serveDir(dir, port, { SWITCHBOARD_TRACE_START: '1' });
    try {
      assert.match(s.startLine, /serving 1 zone \(big\.test\. serial 1\)/, s.stderr());
      // Written by the compile thread before it answered, but read from another pipe than the
      // start line: waited for (bounded).
      await waitFor('the early load traced', async () =>
        /compile file_read_\(\d+_octets,_before_its_job\)/.test(s.stderr()),
      );
      await waitFor('the checks traced', async () =>
        /compile checks_started_in_the_parse_thread/.test(s.stderr()),
      );
      const soa = await dig('127.0.0.1', port, BIG_ORIGIN, 'SOA');
      assert.deepEqual(soa.answers, [
        'big.test. SOA ns1.big.test. hostmaster.big.test. 1 7200 1800 1209600 300',
      ]);
      const late = await dig('127.0.0.1', port, 'h100000.big.test', 'AAAA');
      assert.deepEqual(late.answers, ['h100000.big.test. AAAA 2001:db8::1:86a0']);
      // cold18's order (image-primary.ts): one worker forked before the images are published,
      // the other after them — and both serve in the end (two workers map the image).
      await waitFor(
        'both workers map the image',
        async () => [...s.stderr().matchAll(/worker \d+: 1 zone images mapped/g)].length === 2,
      );
      const err = s.stderr();
      const at = (stage: RegExp) => err.search(stage);
      assert.ok(at(/primary first_worker_forked/) >= 0, err);
      assert.ok(at(/primary other_workers_forked/) > at(/primary images_published/), err);
      assert.ok(at(/primary first_worker_forked/) < at(/primary images_published/), err);
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });

  test('a big file failing a check near its end is refused, never served', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-early-load-bad-'));
    dirs.push(dir);
    const file = join(dir, 'big.test.zone');
    generateBigZone(file, RECORDS);
    appendFileSync(file, 'late CNAME h1\nlate A 192.0.2.9\n');
    const port = await freePort();
    const s = await serveDir(dir, port).catch((err: Error) => err);
    if (s instanceof Error) {
      // serve refuses to start without a zone: the error names the check.
      assert.match(s.message, /late\.big\.test\.\/CNAME/);
      return;
    }
    try {
      await waitFor('the refusal logged', async () => /late\.big\.test\.\/CNAME/.test(s.stderr()), 30_000);
      const soa = await dig('127.0.0.1', port, BIG_ORIGIN, 'SOA');
      assert.notEqual(soa.status, 'NOERROR', soa.text);
    } finally {
      await s.stop();
    }
  });
});
