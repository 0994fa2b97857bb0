/**
 * A `start` secondary zone of more than 1 MiB of text changed at its primary (Knot, dynamic:
 * the change kept in its journal, answered by IXFR): the difference is stored as it is
 * (control/transfer-diff.ts, in the zone-work thread) instead of the zone transferred whole by
 * AXFR and imported again, and the control plane's records end up equal to the primary's (the
 * zone exported through the API against an AXFR from Knot), the primary's serial kept, and the
 * image patched by the version's diff as any change's. A
 * difference that does not apply: src/control/transfer-diff.test.ts.
 * @module
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RRType } from '../../src/wire/constants.js';
import { Name } from '../../src/wire/name.js';
import { transferZone } from '../../src/xfr/secondary/client.js';
import { recordLine } from '../../src/xfr/secondary/ixfr-in.js';
import { parseTsigKeySpec } from '../../src/xfr/tsig.js';
import { parseZoneText } from '../../src/zone/parser.js';
import { answerText } from '../helpers/dns-client.js';
import { type Peer, skipUnlessCommands, startKnot } from '../helpers/peers.js';
import { callApi, type Platform, removeDataDir, startPlatform, tenantToken } from '../helpers/platform.js';
import { waitFor, waitForText } from '../helpers/wait-for.js';

const skip = skipUnlessCommands('knotd', 'nsupdate');
const ADMIN = 'sb_e2e_secondary_ixfr_big_admin_key_01';
const PDNS = '/api/v1/servers/localhost';
const SECRET = Buffer.from('the-big-ixfr-primary-transfer-key-01').toString('base64');
const ORIGIN = 'big-ixfr.test.';
/** Records enough for more than 1 MiB of served text (IXFR_MAX_TEXT). */
const HOSTS = 24_000;

function zoneText(): string {
  return [
    `$ORIGIN ${ORIGIN}`,
    '$TTL 300',
    '@ IN SOA ns1 hostmaster 2026120501 3600 600 86400 300',
    '@ IN NS ns1',
    'ns1 IN A 127.0.0.1',
    'www IN A 192.0.2.10',
    'txt IN TXT "hello world" "second string"',
    ...Array.from({ length: HOSTS }, (_, i) => `host-${i} IN TXT "host number ${i} of the big zone"`),
    '',
  ].join('\n');
}

/** A zone's records as sorted master-file lines. */
function linesOf(text: string): string[] {
  return parseZoneText(text, { origin: ORIGIN })
    .map(recordLine)
    .map((l) => l.toLowerCase())
    .sort();
}

async function serialAt(port: number): Promise<number | undefined> {
  const m = /^0 \d+ \S+ \S+ (\d+) /.exec(await answerText(port, ORIGIN, RRType.SOA));
  return m ? Number(m[1]) : undefined;
}

describe('start: a big secondary zone changed by IXFR', { skip }, () => {
  let p: Platform;
  let knot: Peer;
  let tenant: string;
  const dir = mkdtempSync(join(tmpdir(), 'sb-secondary-ixfr-big-'));
  const key = { name: 'xfrkey', algorithm: 'hmac-sha256', secret: SECRET };

  before(async () => {
    p = await startPlatform({ apiKey: ADMIN, workers: 1, extraArgs: ['--outbound-allow', '127.0.0.0/8'] });
    tenant = await tenantToken(p.api, ADMIN, 'tenant-ixfr-big');
    const k = await callApi(p.api, tenant, 'POST', `${PDNS}/tsigkeys`, { ...key, key: SECRET });
    assert.equal(k.status, 201, JSON.stringify(k.body));
    const file = join(dir, 'big-ixfr.zone');
    writeFileSync(file, zoneText());
    knot = await startKnot([{ origin: ORIGIN, file }], {
      primaryTo: { to: '127.0.0.0/8', key, notify: `127.0.0.1@${p.dnsPort}`, dynamic: true },
    });
  });
  after(async () => {
    await knot?.stop();
    await p?.stop();
    if (p) removeDataDir(p.dataDir);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A signed UPDATE to Knot; its new serial. */
  async function update(lines: string[]): Promise<number> {
    const before = await serialAt(knot.port);
    const up = spawnSync('nsupdate', ['-y', `hmac-sha256:xfrkey:${SECRET}`], {
      input: [`server 127.0.0.1 ${knot.port}`, `zone ${ORIGIN}`, ...lines, 'send', ''].join('\n'),
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.equal(up.status, 0, up.stderr);
    let serial: number | undefined;
    await waitFor('Knot took the update', async () => {
      serial = await serialAt(knot.port);
      return serial !== undefined && serial !== before;
    });
    return serial as number;
  }

  /** The zone as the control plane holds it equals Knot's (an AXFR from it), serial included. */
  async function sameAsKnot(what: string): Promise<void> {
    const exported = await callApi(p.api, tenant, 'GET', `${PDNS}/zones/${ORIGIN}/export`);
    assert.equal(exported.status, 200, JSON.stringify(exported.body).slice(0, 500));
    const ours = linesOf(String(exported.body));
    const theirs = linesOf(
      (
        await transferZone(
          { address: '127.0.0.1', port: knot.port },
          Name.parse(ORIGIN),
          parseTsigKeySpec(`xfrkey:hmac-sha256:${SECRET}`),
        )
      ).text,
    );
    assert.equal(ours.length, theirs.length, `${what}: records`);
    assert.deepEqual(ours, theirs, what);
  }

  test('the difference stored as it is: no AXFR, the records equal to the primary', async (t) => {
    const made = await callApi(p.api, tenant, 'POST', `${PDNS}/zones`, {
      name: ORIGIN,
      kind: 'Slave',
      masters: [`127.0.0.1:${knot.port}`],
      slave_tsig_key_ids: ['xfrkey'],
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    await waitFor(
      'the zone transferred from Knot',
      async () => (await serialAt(p.dnsPort)) === 2026120501,
      60_000,
    );
    await waitForText('the AXFR logged', p.stderr, /secondary zone big-ixfr\.test\.: AXFR from/);
    const exported = await callApi(p.api, tenant, 'GET', `${PDNS}/zones/${ORIGIN}/export`);
    assert.ok(String(exported.body).length > 1024 * 1024, 'more than 1 MiB of text');

    // A name added, one removed, an RRset's records replaced, one RRset's TTL changed.
    const serial = await update([
      `update add ixfr-new.${ORIGIN} 120 A 192.0.2.99`,
      `update delete host-7.${ORIGIN} TXT`,
      `update delete www.${ORIGIN} A`,
      `update add www.${ORIGIN} 300 A 192.0.2.11`,
      `update add www.${ORIGIN} 300 A 192.0.2.12`,
      `update delete txt.${ORIGIN} TXT`,
      `update add txt.${ORIGIN} 60 TXT "hello world" "second string"`,
    ]);
    const started = Date.now();
    await waitFor('the change served', async () => (await serialAt(p.dnsPort)) === serial, 30_000);
    t.diagnostic(`UPDATE to Knot → served by Switchboard in ${Date.now() - started} ms`);
    await waitForText(
      'the IXFR stored',
      p.stderr,
      new RegExp(
        `secondary zone big-ixfr\\.test\\.: IXFR from 127\\.0\\.0\\.1:${knot.port}: serial 2026120501 → ${serial}`,
      ),
    );
    assert.equal(
      (p.stderr().match(/secondary zone big-ixfr\.test\.: AXFR from/g) ?? []).length,
      1,
      'no AXFR after the first',
    );
    for (const line of p.stderr().match(/secondary zone big-ixfr\.test\.: (AXFR|IXFR) from .*/g) ?? [])
      t.diagnostic(line);
    assert.equal(await answerText(p.dnsPort, `ixfr-new.${ORIGIN}`, RRType.A), '0 120 192.0.2.99');
    await sameAsKnot('after the IXFR');
    // The version the difference made reached the image as any change does: a patch of the
    // served image by the version's diff, not the zone compiled from its text.
    await waitForText(
      'the image patched',
      p.stderr,
      /zone images from the control plane's diffs: [1-9]\d* patched \(\d+ of them delta images\), 0 compiled from text/,
    );
  });
});
