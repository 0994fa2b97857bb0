/**
 * BIND 9 as the primary of a `switchboard start` secondary zone (issue 9's proof: "Knot or BIND
 * as primary of a Switchboard secondary zone, NOTIFY → transfer, with TSIG"): a Slave zone
 * created through the PowerDNS-compatible API is transferred from BIND with TSIG and answers as
 * BIND does; a signed UPDATE to BIND (Debian's nsupdate) makes BIND send a signed NOTIFY, and
 * the change is answered by Switchboard within seconds, the primary's serial kept. NSD and
 * Knot as primaries: test/e2e/secondary.test.ts.
 * @module
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RRType } from '../../src/wire/constants.js';
import { answerText } from '../helpers/dns-client.js';
import { type Peer, skipUnlessCommands, startBind } from '../helpers/peers.js';
import { callApi, type Platform, removeDataDir, startPlatform, tenantToken } from '../helpers/platform.js';
import { waitForText } from '../helpers/wait-for.js';

const skip = skipUnlessCommands('named', 'nsupdate');
const ADMIN = 'sb_e2e_secondary_bind_admin_key_0123';
const PDNS = '/api/v1/servers/localhost';
const SECRET = Buffer.from('the-bind-primary-transfer-key-01234').toString('base64');
const ORIGIN = 'sec-bind.test.';

async function waitFor(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    try {
      if (await check()) return Date.now() - started;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what}: not within ${ms} ms`);
}

async function serialAt(port: number): Promise<number | undefined> {
  const m = /^0 \d+ \S+ \S+ (\d+) /.exec(await answerText(port, ORIGIN, RRType.SOA));
  return m ? Number(m[1]) : undefined;
}

describe('start: a secondary zone of a BIND 9 primary', { skip }, () => {
  let p: Platform;
  let bind: Peer;
  let tenant: string;
  const dir = mkdtempSync(join(tmpdir(), 'sb-secondary-bind-'));

  before(async () => {
    p = await startPlatform({ apiKey: ADMIN, workers: 1, extraArgs: ['--outbound-allow', '127.0.0.0/8'] });
    tenant = await tenantToken(p.api, ADMIN, 'tenant-bind');
    const k = await callApi(p.api, tenant, 'POST', `${PDNS}/tsigkeys`, {
      name: 'xfrkey',
      algorithm: 'hmac-sha256',
      key: SECRET,
    });
    assert.equal(k.status, 201, JSON.stringify(k.body));
    const file = join(dir, 'sec-bind.zone');
    writeFileSync(
      file,
      [
        `$ORIGIN ${ORIGIN}`,
        '$TTL 300',
        `@ IN SOA ns1 hostmaster 2026120401 3600 600 86400 300`,
        '@ IN NS ns1',
        'ns1 IN A 127.0.0.1',
        'www IN A 192.0.2.10',
        'www IN AAAA 2001:db8::10',
        'mail IN MX 10 mx.example.net.',
        'txt IN TXT "hello world" "second string"',
        '',
      ].join('\n'),
    );
    bind = await startBind([{ origin: ORIGIN, file }], {
      primaryTo: {
        to: '127.0.0.0/8',
        key: { name: 'xfrkey', algorithm: 'hmac-sha256', secret: SECRET },
        notify: `127.0.0.1@${p.dnsPort}`,
        dynamic: true,
      },
    });
  });
  after(async () => {
    await bind?.stop();
    await p?.stop();
    if (p) removeDataDir(p.dataDir);
    rmSync(dir, { recursive: true, force: true });
  });

  test('AXFR from BIND with TSIG; a signed UPDATE to BIND reaches Switchboard by NOTIFY within seconds', async (t) => {
    const made = await callApi(p.api, tenant, 'POST', `${PDNS}/zones`, {
      name: ORIGIN,
      kind: 'Slave',
      masters: [`127.0.0.1:${bind.port}`],
      slave_tsig_key_ids: ['xfrkey'],
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    await waitFor('the zone transferred from BIND', async () => (await serialAt(p.dnsPort)) === 2026120401);
    for (const [name, type] of [
      [`www.${ORIGIN}`, RRType.A],
      [`www.${ORIGIN}`, RRType.AAAA],
      [`mail.${ORIGIN}`, RRType.MX],
      [`txt.${ORIGIN}`, RRType.TXT],
    ] as const)
      assert.equal(await answerText(p.dnsPort, name, type), await answerText(bind.port, name, type), name);
    // A signed UPDATE to BIND: BIND bumps its serial and NOTIFYs Switchboard (signed).
    const started = Date.now();
    const up = spawnSync('nsupdate', ['-y', `hmac-sha256:xfrkey:${SECRET}`], {
      input: [
        `server 127.0.0.1 ${bind.port}`,
        `zone ${ORIGIN}`,
        `update add bind-new.${ORIGIN} 120 A 192.0.2.99`,
        `update delete txt.${ORIGIN} TXT`,
        'send',
        '',
      ].join('\n'),
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.equal(up.status, 0, up.stderr);
    const bindSerial = await serialAt(bind.port);
    assert.ok(bindSerial !== undefined && bindSerial > 2026120401, `BIND's serial ${bindSerial}`);
    await waitFor(
      'the change from BIND served',
      async () => (await serialAt(p.dnsPort)) === bindSerial,
      15_000,
    );
    t.diagnostic(`UPDATE to BIND → answered by Switchboard in ${Date.now() - started} ms`);
    assert.equal(await answerText(p.dnsPort, `bind-new.${ORIGIN}`, RRType.A), '0 120 192.0.2.99');
    assert.equal(
      await answerText(p.dnsPort, `txt.${ORIGIN}`, RRType.TXT),
      await answerText(bind.port, `txt.${ORIGIN}`, RRType.TXT),
    );
    await waitForText('BIND', bind.output, new RegExp(`sending notifies \\(serial ${bindSerial}\\)`));
    // The IXFR's difference (a name added, one removed) reached the image as a patch of the
    // served one, only the names it touches compiled again (a delta image: ixfrdelta).
    await waitFor(
      'the change patched as a delta image',
      async () => /\d+ patched \([1-9]\d* of them delta images\), 0 compiled from text/.test(p.stderr()),
      5000,
    );
    // The zone's state through the native API: the serial and master used.
    const state = await callApi(p.api, tenant, 'GET', `/api/v1/zones/${ORIGIN}/secondary`);
    assert.equal(state.status, 200, JSON.stringify(state.body));
    assert.match(JSON.stringify(state.body), new RegExp(String(bindSerial)));
  });
});
