/**
 * `switchboard serve --secondary NAME=ADDR:PORT/KEY --secondary-dir DIR` (issue 9 §2: "serve can
 * also follow primaries from a config file"; docs/TRANSFERS.md "Secondary zones of serve"),
 * with BIND 9 as the primary: the zone is transferred with TSIG and answers as BIND's; a signed
 * UPDATE to BIND reaches serve by BIND's signed NOTIFY (its refresh timer is far off); with the
 * primary gone the zone expires (SERVFAIL); serve started again while the primary is down
 * answers from its last good copy in DIR.
 * @module
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
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

const skip = skipUnlessCommands('named', 'nsupdate');
const SECRET = Buffer.from('the-serve-secondary-transfer-key-012').toString('base64');
const KEY = { name: 'xfrkey', algorithm: 'hmac-sha256', secret: SECRET };
const ORIGIN = 'serve-sec.test.';

async function serialAt(port: number): Promise<number | undefined> {
  const m = /^0 \d+ \S+ \S+ (\d+) /.exec(await answerText(port, ORIGIN, RRType.SOA));
  return m ? Number(m[1]) : undefined;
}

describe('serve: a secondary zone of a BIND 9 primary', { skip }, () => {
  let bind: Peer | undefined;
  let serve: Peer | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'sb-serve-secondary-'));
  const zoneDir = join(dir, 'zones');
  const stateDir = join(dir, 'state');
  const lowered = process.env.SWITCHBOARD_SECONDARY_MIN_TIMERS;

  before(() => {
    // Timers in seconds (the SOA's refresh 20, retry 1, expire 22): a change within the refresh
    // came by NOTIFY; expiry is seen within the test.
    process.env.SWITCHBOARD_SECONDARY_MIN_TIMERS = '1,1,3';
    mkdirSync(zoneDir, { recursive: true });
    writeFileSync(
      join(zoneDir, 'static.test.zone'),
      '$ORIGIN static.test.\n$TTL 300\n@ SOA ns1 hm 1 3600 600 86400 300\n@ NS ns1\nns1 A 127.0.0.1\n',
    );
  });
  after(async () => {
    await serve?.stop();
    await bind?.stop();
    if (lowered === undefined) delete process.env.SWITCHBOARD_SECONDARY_MIN_TIMERS;
    else process.env.SWITCHBOARD_SECONDARY_MIN_TIMERS = lowered;
    rmSync(dir, { recursive: true, force: true });
  });

  test('transfer with TSIG, NOTIFY → the change answered, expiry → SERVFAIL, a restart answers from the copy', async (t) => {
    const servePort = await findFreePort();
    const file = join(dir, 'serve-sec.zone');
    writeFileSync(
      file,
      [
        `$ORIGIN ${ORIGIN}`,
        '$TTL 300',
        '@ IN SOA ns1 hostmaster 2026120501 20 1 22 300',
        '@ IN NS ns1',
        'ns1 IN A 127.0.0.1',
        'www IN A 192.0.2.10',
        'txt IN TXT "hello"',
        '',
      ].join('\n'),
    );
    bind = await startBind([{ origin: ORIGIN, file }], {
      primaryTo: { to: '127.0.0.0/8', key: KEY, notify: `127.0.0.1@${servePort}`, dynamic: true },
    });
    const bport = bind.port;
    const args = [
      '--secondary',
      `${ORIGIN}=127.0.0.1:${bport}/${KEY.name}:${KEY.algorithm}:${SECRET}`,
      '--secondary-dir',
      stateDir,
    ];
    serve = await startSwitchboard(zoneDir, { port: servePort, workers: 1, args });
    await waitFor('the zone transferred from BIND', async () => (await serialAt(servePort)) === 2026120501);
    for (const [name, type] of [
      [`www.${ORIGIN}`, RRType.A],
      [`txt.${ORIGIN}`, RRType.TXT],
      [ORIGIN, RRType.NS],
    ] as const)
      assert.equal(await answerText(servePort, name, type), await answerText(bport, name, type), name);
    assert.deepEqual(readdirSync(stateDir), [`${ORIGIN}zone`]);

    // A signed UPDATE to BIND: BIND NOTIFYs serve (signed); serve transfers the difference.
    const started = Date.now();
    const up = spawnSync('nsupdate', ['-y', `hmac-sha256:${KEY.name}:${SECRET}`], {
      input: [
        `server 127.0.0.1 ${bport}`,
        `zone ${ORIGIN}`,
        `update add new.${ORIGIN} 120 A 192.0.2.99`,
        'send',
        '',
      ].join('\n'),
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.equal(up.status, 0, up.stderr);
    const bindSerial = await serialAt(bport);
    assert.ok(bindSerial !== undefined && bindSerial > 2026120501);
    // Well before the 20 s refresh: NOTIFY brought it.
    await waitFor('the change served', async () => (await serialAt(servePort)) === bindSerial, 10_000);
    t.diagnostic(`UPDATE to BIND → answered by serve in ${Date.now() - started} ms`);
    assert.equal(await answerText(servePort, `new.${ORIGIN}`, RRType.A), '0 120 192.0.2.99');
    // By IXFR: BIND's journal gives the difference, applied to serve's copy by start's rule
    // (secondary-refresher.ts `patchZoneText`).
    await waitForText(
      'serve',
      serve.output,
      /secondary zone serve-sec\.test\.: IXFR from 127\.0\.0\.1:\d+: serial 2026120501 → \d+, 1 differences/,
    );

    // The primary gone: the zone expires (no good refresh for 22 s) and is answered SERVFAIL.
    await bind.stop();
    bind = undefined;
    await waitFor(
      'SERVFAIL once expired',
      async () => (await answerText(servePort, ORIGIN, RRType.SOA)).startsWith('2 '),
      45_000,
    );
    assert.match(await answerText(servePort, 'static.test.', RRType.SOA), /^0 /);

    // serve again, the primary still down: the last good copy is served. This time the zone
    // comes from a --secondaries-file (its key off the command line).
    await serve.stop();
    const list = join(dir, 'secondaries');
    writeFileSync(list, `# followed from BIND\n${args[1]}\n`);
    serve = await startSwitchboard(zoneDir, {
      port: servePort,
      workers: 1,
      args: ['--secondaries-file', list, '--secondary-dir', stateDir],
    });
    await waitFor(
      'the copy served after a restart',
      async () => (await serialAt(servePort)) === bindSerial,
      10_000,
    );
    assert.equal(await answerText(servePort, `new.${ORIGIN}`, RRType.A), '0 120 192.0.2.99');
  });
});
