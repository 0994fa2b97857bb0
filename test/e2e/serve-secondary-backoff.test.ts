/**
 * An unreachable primary is held back beyond the SOA `retry` (docs/TRANSFERS.md "Secondary
 * role"; shared/secondary-refresher.ts), with `serve --secondary` and BIND 9 as the primary:
 * BIND stopped, serve's refresher holds it back retry, 2·retry, 4·retry… (the timers lowered to
 * seconds by SWITCHBOARD_SECONDARY_MIN_TIMERS) and asks it less and less often; BIND started
 * again on the same port with a newer serial, the zone is transferred once the hold ends, and
 * the hold is forgotten.
 * @module
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
import { waitFor } from '../helpers/wait-for.js';
import { writeSmallZone } from '../helpers/zone-files.js';

const skip = skipUnlessCommands('named');
const ORIGIN = 'backoff.test.';
const KEY = {
  name: 'backoff-key',
  algorithm: 'hmac-sha256',
  secret: Buffer.from('the-backoff-test-s-transfer-key-01').toString('base64'),
};

function zoneFile(dir: string, serial: number, address: string): string {
  return writeSmallZone(join(dir, `${ORIGIN}${serial}.zone`), ORIGIN, serial, address, '2 1 600 300');
}

describe('serve: an unreachable primary held back beyond retry', { skip }, () => {
  const peers: (Peer | undefined)[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'sb-serve-backoff-'));
  const lowered = process.env.SWITCHBOARD_SECONDARY_MIN_TIMERS;
  after(async () => {
    for (const p of peers) await p?.stop();
    if (lowered === undefined) delete process.env.SWITCHBOARD_SECONDARY_MIN_TIMERS;
    else process.env.SWITCHBOARD_SECONDARY_MIN_TIMERS = lowered;
    rmSync(dir, { recursive: true, force: true });
  });

  test('BIND stopped: held 1, 2, 4, 8 s…; started again: transferred after the hold, hold forgotten', async (t) => {
    // refresh 2 s, retry 1 s (the SOA's, with the floors lowered), expire far off.
    process.env.SWITCHBOARD_SECONDARY_MIN_TIMERS = '1,1,60';
    const zoneDir = join(dir, 'zones');
    mkdirSync(zoneDir, { recursive: true });
    writeFileSync(
      join(zoneDir, 'static.test.zone'),
      '$ORIGIN static.test.\n$TTL 300\n@ SOA ns1 hm 1 3600 600 86400 300\n@ NS ns1\nns1 A 127.0.0.1\n',
    );
    const bport = await findFreePort();
    let bind: Peer | undefined = await startBind(
      [{ origin: ORIGIN, file: zoneFile(dir, 2026120501, '192.0.2.1') }],
      {
        port: bport,
        primaryTo: { to: '127.0.0.0/8', key: KEY },
      },
    );
    peers.push(bind);
    const port = await findFreePort();
    const serve = await startSwitchboard(zoneDir, {
      port,
      workers: 1,
      args: [
        '--secondary',
        `${ORIGIN}=127.0.0.1:${bport}/${KEY.name}:${KEY.algorithm}:${KEY.secret}`,
        '--secondary-dir',
        join(dir, 'state'),
      ],
    });
    peers.push(serve);
    const www = () => answerText(port, `www.${ORIGIN}`, RRType.A);
    await waitFor('the zone from BIND', async () => (await www()) === '0 300 192.0.2.1');

    // BIND gone: the hold doubles with each failure.
    await bind.stop();
    bind = undefined;
    const downAt = Date.now();
    const held = (n: number, s: number) =>
      serve
        .output()
        .includes(`secondary master 127.0.0.1:${bport}: unreachable (${n} in a row): held back ${s} s`);
    await waitFor(
      'held back 1, 2, 4 and 8 s',
      async () => held(1, 1) && held(2, 2) && held(3, 4) && held(4, 8),
      60_000,
    );
    const downFor = (Date.now() - downAt) / 1000;
    const failed = serve
      .output()
      .split('\n')
      .filter((l) => l.includes(`secondary zone ${ORIGIN}: refresh failed`)).length;
    // Each failed check here waits for its SOA query to time out (5 s) first; without the hold a
    // check would follow every 1 s retry, about one per 6 s: the hold lines above are the proof.
    t.diagnostic(
      `${failed} failed checks in ${downFor.toFixed(1)} s down (without the hold: ~${Math.round(downFor / 6)})`,
    );
    // The zone is still served from the last good copy meanwhile.
    assert.equal(await www(), '0 300 192.0.2.1');

    // BIND back on the same port with a newer serial: transferred once the hold (≤ 16 s) ends.
    bind = await startBind([{ origin: ORIGIN, file: zoneFile(dir, 2026120502, '192.0.2.2') }], {
      port: bport,
      primaryTo: { to: '127.0.0.0/8', key: KEY },
    });
    peers.push(bind);
    const upAt = Date.now();
    await waitFor('the newer serial transferred', async () => (await www()) === '0 300 192.0.2.2', 40_000);
    t.diagnostic(`primary back → transferred ${Date.now() - upAt} ms later`);
    // The hold is forgotten: the refresh keeps working every 2 s, no new hold logged.
    const holds = serve.output().split('held back').length;
    await new Promise((r) => setTimeout(r, 5000));
    assert.equal(serve.output().split('held back').length, holds, 'no hold after the primary came back');
    assert.match(serve.output(), new RegExp(`secondary zone ${ORIGIN.replace(/\./g, '\\.')}: (IXFR|AXFR)`));
  });
});
