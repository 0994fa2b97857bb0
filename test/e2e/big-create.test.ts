/**
 * A big zone created from zone text through the API of `switchboard start` (the path an
 * operator moving from BIND or NSD takes; src/control/bulk-zonefile.ts): 300,000 records POSTed
 * as PowerDNS `zone` text by a tenant whose quota allows them — answered, transferred whole
 * (AXFR), then replaced whole from text (one record changed, one gone). Refused with a 4xx and
 * nothing made: a big text with an error at one line (the message names it), a zone over the
 * default quota. Another tenant's calls are answered while the big create runs.
 * (bench/big-create.ts runs the same at 1,000,000 records.)
 * @module
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { skipUnlessCommands } from '../helpers/peers.js';
import {
  callApi,
  NO_LIMIT_ARGS,
  type Platform,
  queryPlatform,
  removeDataDir,
  startPlatform,
  tenantToken,
} from '../helpers/platform.js';

const skip = skipUnlessCommands('kdig');
const RECORDS = 300_000;
const ADMIN = 'sb_e2e_big_create_admin_key_0123456789';
const EDGE = Buffer.from('the-big-create-e2e-edge-key-secret').toString('base64');
const PDNS = '/api/v1/servers/localhost';
const ZONE = 'big-create.test.';

/** SOA, NS, the NS's address and `RECORDS - 3` A records `h<i>`; `edit` changes lines. */
function zoneText(
  serial: number,
  edit: (i: number, line: string) => string | undefined = (_, l) => l,
): string {
  const lines = [
    `$ORIGIN ${ZONE}`,
    '$TTL 300',
    `@ IN SOA ns1 hostmaster ${serial} 3600 600 86400 300`,
    '@ IN NS ns1',
    'ns1 IN A 127.0.0.1',
  ];
  for (let i = 0; i < RECORDS - 3; i++) {
    const line = edit(i, `h${i} IN A 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    if (line !== undefined) lines.push(line);
  }
  return `${lines.join('\n')}\n`;
}

async function waitAnswer(port: number, name: string, want: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  let last: string[] = [];
  while (Date.now() < deadline) {
    last = (await queryPlatform(port, name, 1).catch(() => undefined))?.answers ?? [];
    if (last.includes(want)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${name} never answered ${want} (last: ${last.join(', ')})`);
}

describe('start: a 300,000-record zone created and replaced from zone text', { skip }, () => {
  let p: Platform;
  let big: string;
  let small: string;
  const call = (key: string, method: string, path: string, body?: unknown) =>
    callApi(p.api, key, method, path, body);

  before(async () => {
    p = await startPlatform({
      apiKey: ADMIN,
      workers: 1,
      extraArgs: [
        ...NO_LIMIT_ARGS,
        '--max-records-per-request',
        String(RECORDS + 10),
        '--transfer-key',
        `edge:hmac-sha256:${EDGE}`,
      ],
    });
    big = await tenantToken(p.api, ADMIN, 'migrating', { maxRecords: RECORDS + 10 });
    small = await tenantToken(p.api, ADMIN, 'ordinary');
  });
  after(async () => {
    await p?.stop();
    if (p) removeDataDir(p.dataDir);
  });

  test('a big text with one bad line: 422 naming the line, no zone made', async () => {
    const bad = zoneText(1, (i, l) => (i === 150_000 ? 'h150000 IN A 10.0.0.300' : l));
    const r = await call(big, 'POST', `${PDNS}/zones`, { name: ZONE, kind: 'Native', zone: bad });
    assert.equal(r.status, 422, JSON.stringify(r.body));
    // Line 150,006: five lines before h0.
    assert.match(JSON.stringify(r.body), /line 150006/);
    assert.equal((await call(big, 'GET', `${PDNS}/zones/${ZONE}`)).status, 404);
    // An owner outside the zone, and a CNAME beside other data, likewise.
    const outside = zoneText(1, (i, l) => (i === 7 ? 'h7.elsewhere.test. IN A 192.0.2.7' : l));
    const r2 = await call(big, 'POST', '/api/v1/zones', { name: ZONE, zonefile: outside });
    assert.equal(r2.status, 422);
    assert.match(r2.body.error, /line 13: h7\.elsewhere\.test\. is not inside the zone/);
    const cname = zoneText(1, (i, l) => (i === 9 ? `${l}\nh9 IN CNAME ns1` : l));
    const r3 = await call(big, 'POST', '/api/v1/zones', { name: ZONE, zonefile: cname });
    assert.equal(r3.status, 422);
    assert.match(r3.body.error, /line 1[45]: h9\.big-create\.test\. has a CNAME and other data/);
    assert.equal((await call(big, 'GET', `/api/v1/zones/${ZONE}`)).status, 404);
  });

  test('over the default record quota: 403, no zone made', async () => {
    const r = await call(small, 'POST', `${PDNS}/zones`, {
      name: 'other-big.test.',
      kind: 'Native',
      zone: zoneText(1).replaceAll(ZONE, 'other-big.test.'),
    });
    assert.equal(r.status, 403, JSON.stringify(r.body).slice(0, 300));
    assert.match(JSON.stringify(r.body), /quota/);
    assert.equal((await call(small, 'GET', `${PDNS}/zones/other-big.test.`)).status, 404);
  });

  test('created from PowerDNS zone text: answered, transferred whole; other tenants answered meanwhile', async () => {
    const pending = call(big, 'POST', `${PDNS}/zones?rrsets=false`, {
      name: ZONE,
      kind: 'Native',
      zone: zoneText(1),
    });
    let done = false;
    void pending.then(() => {
      done = true;
    });
    // The other tenant's calls while the big one works: each answered (and one before it ends).
    let answeredDuring = 0;
    for (let i = 0; !done && i < 50; i++) {
      const r = await call(small, 'POST', '/api/v1/zones', {
        name: `small${i}.test.`,
        nameservers: ['ns1.example.net.'],
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      if (!done) answeredDuring++;
      await new Promise((r) => setTimeout(r, 200));
    }
    const made = await pending;
    assert.equal(made.status, 201, JSON.stringify(made.body).slice(0, 300));
    assert.equal(made.body.serial, 1);
    assert.ok(answeredDuring >= 1, 'no call of the other tenant was answered while the big zone was made');
    const info = await call(big, 'GET', `/api/v1/zones/${ZONE}`);
    assert.equal(info.body.recordCount, RECORDS);
    await waitAnswer(p.dnsPort, `h${RECORDS - 4}.${ZONE}`, '10.4.147.220');
    assert.deepEqual((await queryPlatform(p.dnsPort, `h12345.${ZONE}`, 1)).answers, ['10.0.48.57']);
    const axfr = execFileSync(
      'kdig',
      [
        '@127.0.0.1',
        '-p',
        String(p.dnsPort),
        '-y',
        `hmac-sha256:edge:${EDGE}`,
        'AXFR',
        ZONE,
        '+noall',
        '+stats',
      ],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    // Every record, and the SOA again at the end.
    assert.match(axfr, new RegExp(`\\(\\d+ messages, ${RECORDS + 1} records\\)`));
  });

  test('replaced whole from zone text: one record changed, one gone; served', async () => {
    const text = zoneText(7, (i, l) => (i === 7 ? 'h7 IN A 192.0.2.7' : i === 8 ? undefined : l));
    const r = await call(big, 'PUT', `/api/v1/zones/${ZONE}/zonefile`, text);
    assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
    assert.equal(r.body.changed, true);
    assert.equal(r.body.serial, 7);
    assert.equal(r.body.added, 2);
    assert.equal(r.body.removed, 3);
    assert.equal(r.body.recordCount, RECORDS - 1);
    await waitAnswer(p.dnsPort, `h7.${ZONE}`, '192.0.2.7');
    assert.equal((await queryPlatform(p.dnsPort, `h8.${ZONE}`, 1)).rcode, 3);
    // The same text again: nothing to change.
    const again = await call(big, 'PUT', `/api/v1/zones/${ZONE}/zonefile`, text);
    assert.equal(again.status, 200);
    assert.equal(again.body.changed, false);
  });
});
