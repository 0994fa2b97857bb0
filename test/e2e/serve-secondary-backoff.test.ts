/**
 * An unreachable primary is held back beyond the SOA `retry` (docs/TRANSFERS.md "Secondary
 * role"; shared/secondary-refresher.ts), with `serve --secondary` and BIND 9 as the primary:
 * BIND stopped, serve's refresher holds it back retry, 2·retry, 4·retry… (the timers lowered to
 * seconds by SWITCHBOARD_SECONDARY_MIN_TIMERS) and asks it less and less often; BIND started
 * again on the same port with a newer serial, the zone is transferred once the hold ends, and
 * the hold is forgotten. While BIND is down a silent recorder holds its port (it answers nothing,
 * as a stopped primary): the SOA queries serve actually sent must be spaced by the 5 s timeout
 * plus the hold, not only logged as held.
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
import { startQueryRecorder } from '../helpers/query-recorder.js';
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

    // BIND gone: the hold doubles with each failure. In its place, on its port, a recorder of the
    // queries that arrive, answering none.
    await bind.stop();
    bind = undefined;
    const recorder = await startQueryRecorder(bport);
    t.after(() => recorder.close());
    const soaQueries = () => recorder.queries.filter((q) => q.type === RRType.SOA);
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

    // What the primary received: the query after the 8 s hold, then the spacing of the last four
    // (a query may have been lost while the port changed hands, so not counted from the first).
    // Each check waits for its 5 s timeout, then the hold, then the refresher's next 1 s tick:
    // a gap of 5 + hold (+ up to 1) s; without the hold it would be about 6 s every time.
    const seen = soaQueries().length;
    await waitFor('the SOA query after the 8 s hold', async () => soaQueries().length > seen, 30_000);
    const last = soaQueries().slice(-4);
    assert.equal(last.length, 4, `SOA queries received: ${JSON.stringify(recorder.queries)}`);
    const gaps = last.slice(1).map((q, i) => (q.at - last[i].at) / 1000);
    t.diagnostic(
      `SOA queries after holds of 2, 4, 8 s came ${gaps.map((g) => g.toFixed(2)).join(', ')} s apart`,
    );
    for (const [i, hold] of [2, 4, 8].entries()) {
      // Margins for a loaded machine: 0.75 s early (when the recorder saw each query), 5 s late.
      assert.ok(gaps[i] >= 5 + hold - 0.75, `held ${hold} s: the next query came ${gaps[i]} s after`);
      assert.ok(gaps[i] <= 5 + hold + 6, `held ${hold} s: the next query came ${gaps[i]} s after`);
    }
    await recorder.close();

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
