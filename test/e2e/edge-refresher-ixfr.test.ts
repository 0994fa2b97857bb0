/**
 * IXFR in for `start`'s secondary (Slave) zones, through the same reader as the edge
 * (src/xfr/secondary/ixfr-in.ts; docs/TRANSFERS.md "IXFR in"): Knot keeps a journal of changes
 * (`zonefile-load: difference`), a change reloaded into Knot is NOTIFYed to `start`, which takes
 * it as an incremental IXFR (its log says so) and serves the new serial and record.
 * @module
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RRType } from '../../src/wire/constants.js';
import { answerText } from '../helpers/dns-client.js';
import {
  findCommand,
  findFreePort,
  knotJournalPrimaryConf,
  launch,
  type Peer,
  skipUnlessCommands,
} from '../helpers/peers.js';
import { callApi, type Platform, startPlatform, tenantToken } from '../helpers/platform.js';
import { waitForText } from '../helpers/wait-for.js';
import { eventually } from './edge-support.js';

const skip = skipUnlessCommands('knotd', 'knotc');
const ADMIN = 'sb_edge_refresher_ixfr_admin_0123456789';
const SECRET = Buffer.from('refresher-ixfr-test-secret-000000000').toString('base64');
const PDNS = '/api/v1/servers/localhost';
const ZONE = 'ixfr-sec.test.';

const zoneText = (serial: number, www: string) =>
  `$ORIGIN ${ZONE}\n$TTL 300\n@ IN SOA ns1 hostmaster ${serial} 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\nwww A ${www}\n`;

describe("start's secondary zones take IXFR from Knot's journal", { skip }, () => {
  let p: Platform | undefined;
  let knot: Peer | undefined;
  let dir: string;
  let conf: string;

  before(async () => {
    p = await startPlatform({ apiKey: ADMIN, workers: 1, extraArgs: ['--outbound-allow', '127.0.0.0/8'] });
    const tenant = await tenantToken(p.api, ADMIN, 'ixfr-tenant');
    assert.equal(
      (
        await callApi(p.api, tenant, 'POST', `${PDNS}/tsigkeys`, {
          name: 'xk',
          algorithm: 'hmac-sha256',
          key: SECRET,
        })
      ).status,
      201,
    );
    dir = mkdtempSync(join(tmpdir(), 'sb-refresher-ixfr-'));
    writeFileSync(join(dir, 'z.zone'), zoneText(1, '192.0.2.10'));
    const port = await findFreePort();
    conf = join(dir, 'knot.conf');
    writeFileSync(
      conf,
      knotJournalPrimaryConf(
        dir,
        `127.0.0.1@${port}`,
        { domain: ZONE, file: join(dir, 'z.zone') },
        { id: 'xk', secret: SECRET },
        `127.0.0.1@${p.dnsPort}`,
      ),
    );
    knot = await launch(
      'knot',
      [findCommand('knotd') ?? 'knotd', '-c', conf],
      dir,
      '127.0.0.1',
      port,
      ZONE,
      {},
    );
    const made = await callApi(p.api, tenant, 'POST', `${PDNS}/zones`, {
      name: ZONE,
      kind: 'Slave',
      masters: [`127.0.0.1:${port}`],
      slave_tsig_key_ids: ['xk'],
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    await eventually(
      'the first transfer',
      async () => (await answerText(p!.dnsPort, `www.${ZONE}`, RRType.A)) === '0 300 192.0.2.10',
    );
  });
  after(async () => {
    await knot?.stop();
    await p?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a change in Knot arrives as an incremental IXFR', async () => {
    writeFileSync(join(dir, 'z.zone'), zoneText(2, '192.0.2.11'));
    execFileSync('knotc', ['-c', conf, 'zone-reload', ZONE], { timeout: 10_000 });
    await eventually(
      'the change served',
      async () => (await answerText(p!.dnsPort, `www.${ZONE}`, RRType.A)) === '0 300 192.0.2.11',
      15_000,
    );
    // Logged by the process that applied it, perhaps after the change was answered.
    await waitForText(
      'the platform',
      p!.stderr,
      /secondary zone ixfr-sec\.test\.: IXFR from 127\.0\.0\.1:\d+: serial 1 → 2, 1 differences/,
    );
  });
});
