/**
 * `serve --images on` over one big zone (issue 7): a zone whose image is over the size from
 * which the primary waits for its idle compile threads to exit and collects the transferred
 * image before the workers map the pack (image-primary.ts, docs/IMAGE.md "Big zones"). The
 * workers answer from it at the dig level, and SIGTERM stops the server with code 0. Run twice:
 * staged (the default: served first from its image without templates, docs/IMAGE.md "Answer
 * first, templates after") and in one stage (`SWITCHBOARD_STAGED=off`).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIG_ORIGIN, generateBigZone } from '../../bench/zone-load.js';
import { skipUnlessCommands } from '../helpers/peers.js';
import { dig, freePort, type ServeProcess, START_LINE, startSwitchboard } from './support.js';

const skip = skipUnlessCommands('dig');

for (const staged of ['on', 'off'])
  describe(`serve --images on, one zone with an image over 32 MiB, staged ${staged}`, { skip }, () => {
    let dir = '';
    let port = 0;
    let serve: ServeProcess | undefined;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'sb-big-zone-'));
      // ~260,000 records: an image of ~37 MB (the generator's zone: ~144 octets a record).
      generateBigZone(join(dir, 'big.test.zone'), 260_000);
      port = await freePort();
      serve = await startSwitchboard(
        'serve',
        ['--zone-dir', dir, '--listen', `127.0.0.1:${port}`, '--workers', '2', '--images', 'on'],
        START_LINE,
        180_000,
        { SWITCHBOARD_STAGED: staged },
      );
    });
    after(async () => {
      await serve?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    test('every worker maps the image and answers from it; SIGTERM exits 0', async () => {
      const s = serve as ServeProcess;
      assert.match(s.startLine, /serving 1 zone \(big\.test\. serial 1\)/, s.stderr());
      // Logged on stderr before the start line on stdout: this process may read the pipes in any order.
      await s.waitForStderr(/worker \d+: 1 zone images mapped/, 2, 15_000);
      assert.equal([...s.stderr().matchAll(/worker \d+: 1 zone images mapped/g)].length, 2, s.stderr());
      // The snapshot of images this run compiled is trusted: opened at apply, no CRC-32 of them.
      assert.equal(
        [...s.stderr().matchAll(/worker \d+: 1 zone images mapped, 1 opened .*, 0 images checked by CRC-32/g)]
          .length,
        2,
        s.stderr(),
      );
      const soa = await dig('127.0.0.1', port, BIG_ORIGIN, 'SOA');
      assert.equal(soa.status, 'NOERROR');
      assert.ok(soa.flags.includes('aa'), soa.text);
      assert.deepEqual(soa.answers, [
        'big.test. SOA ns1.big.test. hostmaster.big.test. 1 7200 1800 1209600 300',
      ]);
      // The generator's first and a late name (h0: 198.18.0.0; every 2nd name has an AAAA).
      const a = await dig('127.0.0.1', port, 'h0.big.test', 'A');
      assert.deepEqual(a.answers, ['h0.big.test. A 198.18.0.0']);
      const late = await dig('127.0.0.1', port, 'h100000.big.test', 'AAAA');
      assert.deepEqual(late.answers, ['h100000.big.test. AAAA 2001:db8::1:86a0']);
      const none = await dig('127.0.0.1', port, 'nope.big.test', 'A');
      assert.equal(none.status, 'NXDOMAIN');
      serve = undefined;
      assert.equal(await s.stop(), 0);
    });
  });
