/**
 * `switchboard serve --secondaries-file FILE` read again on SIGHUP (docs/TRANSFERS.md "Secondary
 * zones of serve"), with two BIND 9 primaries: a zone added to the file is transferred and
 * answered; a zone whose primary and key changed is transferred from the new primary with the new
 * key; a file with an error keeps the running set and the log names FILE:LINE (never the line,
 * which may hold a secret); a zone removed from the file is no longer served and its copy goes.
 * @module
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { RRType } from '../../src/wire/constants.js';
import { answerText } from '../helpers/dns-client.js';
import {
  findFreePort,
  type Peer,
  skipUnlessCommands,
  startBind,
  startSwitchboard,
} from '../helpers/peers.js';
import { waitFor, waitForText } from '../helpers/wait-for.js';
import { writeSmallZone } from '../helpers/zone-files.js';

const skip = skipUnlessCommands('named');
const KEY1 = {
  name: 'key-one',
  algorithm: 'hmac-sha256',
  secret: Buffer.from('the-first-primary-s-transfer-key-01').toString('base64'),
};
const KEY2 = {
  name: 'key-two',
  algorithm: 'hmac-sha256',
  secret: Buffer.from('the-second-primary-transfer-key-002').toString('base64'),
};

function zoneFile(dir: string, origin: string, serial: number, address: string): string {
  return writeSmallZone(join(dir, `${origin}zone`), origin, serial, address);
}

describe('serve: --secondaries-file read again on SIGHUP', { skip }, () => {
  const peers: Peer[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'sb-serve-sighup-'));
  after(async () => {
    for (const p of peers) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('zones added, removed, primaries and key changed; a bad file keeps the running set', async (t) => {
    const zoneDir = join(dir, 'zones');
    const stateDir = join(dir, 'state');
    const d1 = join(dir, 'p1');
    const d2 = join(dir, 'p2');
    for (const d of [zoneDir, d1, d2]) mkdirSync(d, { recursive: true });
    zoneFile(zoneDir, 'static.test.', 1, '192.0.2.1');
    // The first primary serves a.sh.test. and b.sh.test.; the second a.sh.test. at a newer serial.
    const first = await startBind(
      [
        { origin: 'a.sh.test.', file: zoneFile(d1, 'a.sh.test.', 2026120501, '192.0.2.11') },
        { origin: 'b.sh.test.', file: zoneFile(d1, 'b.sh.test.', 2026120501, '192.0.2.12') },
      ],
      { primaryTo: { to: '127.0.0.0/8', key: KEY1 } },
    );
    peers.push(first);
    const second = await startBind(
      [{ origin: 'a.sh.test.', file: zoneFile(d2, 'a.sh.test.', 2026120502, '192.0.2.21') }],
      { primaryTo: { to: '127.0.0.0/8', key: KEY2 } },
    );
    peers.push(second);
    const line = (zone: string, port: number, key: typeof KEY1) =>
      `${zone}=127.0.0.1:${port}/${key.name}:${key.algorithm}:${key.secret}`;
    const list = join(dir, 'secondaries');
    writeFileSync(list, `# the zones followed\n${line('a.sh.test.', first.port, KEY1)}\n`);
    const port = await findFreePort();
    const serve = await startSwitchboard(zoneDir, {
      port,
      workers: 1,
      args: ['--secondaries-file', list, '--secondary-dir', stateDir],
    });
    peers.push(serve);
    const www = (zone: string) => answerText(port, `www.${zone}`, RRType.A);
    await waitFor(
      'a.sh.test. from the first primary',
      async () => (await www('a.sh.test.')) === '0 300 192.0.2.11',
    );
    assert.equal((await www('b.sh.test.')).split(' ')[0], '5', 'b.sh.test. not followed yet: REFUSED');

    // SIGHUP with a.sh.test. moved to the second primary (its key) and b.sh.test. added.
    writeFileSync(
      list,
      `${line('a.sh.test.', second.port, KEY2)}\n${line('b.sh.test.', first.port, KEY1)}\n`,
    );
    const t0 = Date.now();
    process.kill(serve.pid, 'SIGHUP');
    await waitFor(
      'a.sh.test. from the second primary, b.sh.test. added',
      async () =>
        (await www('a.sh.test.')) === '0 300 192.0.2.21' && (await www('b.sh.test.')) === '0 300 192.0.2.12',
    );
    t.diagnostic(`SIGHUP → the new primary's data and the added zone answered in ${Date.now() - t0} ms`);
    await waitForText(
      'serve',
      serve.output,
      /secondary zones: 2 followed, added b\.sh\.test\., changed a\.sh\.test\./,
    );

    // A file with an error on its line 2: logged with FILE:2, the secret not echoed; nothing changes.
    const bad = `${line('b.sh.test.', first.port, KEY1)}\nc.sh.test.=127.0.0.1/${KEY2.name}:hmac-sha999:${KEY2.secret}\n`;
    writeFileSync(list, bad);
    process.kill(serve.pid, 'SIGHUP');
    await waitFor('the error logged', async () => serve.output().includes(`${list}:2: `));
    const logged = serve.output();
    assert.match(logged, /the secondary zones followed stay as they were/);
    assert.ok(!logged.includes(KEY2.secret), 'the secret is not in the log');
    assert.equal(await www('a.sh.test.'), '0 300 192.0.2.21', 'a.sh.test. still followed and served');
    assert.equal(await www('b.sh.test.'), '0 300 192.0.2.12');

    // a.sh.test. removed from the file: no longer served, its copy gone.
    writeFileSync(list, `${line('b.sh.test.', first.port, KEY1)}\n`);
    process.kill(serve.pid, 'SIGHUP');
    await waitFor('a.sh.test. no longer served', async () => (await www('a.sh.test.')).startsWith('5 '));
    // Its copy removed (perhaps just after the zone stopped being served).
    await waitFor('a.sh.test. copy removed', async () => !existsSync(join(stateDir, 'a.sh.test.zone')), 5000);
    assert.equal(await www('b.sh.test.'), '0 300 192.0.2.12');
    await waitForText('serve', serve.output, /secondary zones: 1 followed, removed a\.sh\.test\./);
  });
});
