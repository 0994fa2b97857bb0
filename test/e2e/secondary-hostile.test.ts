/**
 * Hostile and broken primaries against a secondary zone that is already served (issue 9's
 * proof: "malformed and truncated transfers, wrong TSIG, replayed TSIG (time fudge) … — the
 * served data never changes"): a zone transferred once from a scripted primary
 * (test/helpers/fake-primary.ts) at serial 5; then, for each way a transfer can be bad, the
 * primary says serial 6 and `axfr-retrieve` asks for it: the attempt fails with its reason
 * in `lastError`, and the zone goes on answering serial 5's data; a good transfer at the end
 * brings serial 6. Never-served zones against a bad MAC, a quota and a stalled transfer:
 * test/e2e/secondary.test.ts.
 * @module
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RRType } from '../../src/wire/constants.js';
import { makeTsigKey } from '../../src/xfr/tsig.js';
import { answerText } from '../helpers/dns-client.js';
import { type FakeMode, type FakePrimary, startFakePrimary } from '../helpers/fake-primary.js';
import { callApi, type Platform, removeDataDir, startPlatform, tenantToken } from '../helpers/platform.js';

const ADMIN = 'sb_e2e_secondary_hostile_admin_key_01';
const PDNS = '/api/v1/servers/localhost';
const SECRET = Buffer.from('the-hostile-primary-test-key-01234567').toString('base64');
const ZONE = 'hostile.test.';

async function waitFor(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what}: not within ${ms} ms`);
}

describe('start: a served secondary zone against hostile primaries', () => {
  let p: Platform;
  let fake: FakePrimary;
  let tenant: string;
  const call = (method: string, path: string, body?: unknown) => callApi(p.api, tenant, method, path, body);
  const state = async () => (await call('GET', `/api/v1/zones/${ZONE}/secondary`)).body;
  const servedWww = () => answerText(p.dnsPort, `www.${ZONE}`, RRType.A);
  const servedSerial = async (): Promise<number | undefined> => {
    const m = /^0 \d+ \S+ \S+ (\d+) /.exec(await answerText(p.dnsPort, ZONE, RRType.SOA));
    return m ? Number(m[1]) : undefined;
  };

  before(async () => {
    process.env.SWITCHBOARD_SECONDARY_MIN_TIMERS = '1,1,4';
    p = await startPlatform({ apiKey: ADMIN, workers: 1, extraArgs: ['--outbound-allow', '127.0.0.0/8'] });
    tenant = await tenantToken(p.api, ADMIN, 'tenant-hostile');
    const k = await call('POST', `${PDNS}/tsigkeys`, {
      name: 'xfrkey',
      algorithm: 'hmac-sha256',
      key: SECRET,
    });
    assert.equal(k.status, 201, JSON.stringify(k.body));
    fake = await startFakePrimary(makeTsigKey('xfrkey', 'hmac-sha256', SECRET));
    fake.serial = 5;
  });
  after(async () => {
    delete process.env.SWITCHBOARD_SECONDARY_MIN_TIMERS;
    fake?.close();
    await p?.stop();
    if (p) removeDataDir(p.dataDir);
  });

  test('every bad transfer fails with its reason and changes nothing served; a good one then lands', async (t) => {
    const made = await call('POST', `${PDNS}/zones`, {
      name: ZONE,
      kind: 'Slave',
      masters: [`127.0.0.1:${fake.port}`],
      slave_tsig_key_ids: ['xfrkey'],
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    await waitFor('serial 5 served', async () => (await servedSerial()) === 5);
    assert.equal(await servedWww(), '0 300 192.0.2.5');
    const cases: [FakeMode, RegExp][] = [
      // Junk whose first octets (the ID) match no query: refused before it is parsed
      // (transfers share a connection per master, answers matched by ID).
      ['garbage', /malformed response|an answer not asked for/],
      ['truncated', /closed the connection mid-transfer/],
      ['cut', /closed the connection mid-transfer/],
      ['badtime', /BADTIME/],
      ['bad-mac', /bad MAC \(BADSIG\)/],
      ['wrong-key', /signed with another key/],
      ['unsigned', /not signed/],
      ['replay', /bad MAC \(BADSIG\)/],
      ['serial-mismatch', /closing SOA has another serial/],
      ['out-of-zone', /evil\.example\. is outside the zone/],
      ['endless', /no data from .* for 15000 ms/],
    ];
    fake.serial = 6;
    for (const [mode, why] of cases) {
      fake.mode = mode;
      const before = (await state()).lastCheck;
      const transfers = fake.transfers;
      const r = await call('PUT', `${PDNS}/zones/${ZONE}/axfr-retrieve`);
      assert.equal(r.status, 200, `${mode}: ${JSON.stringify(r.body)}`);
      await waitFor(
        `${mode}: the attempt made and recorded`,
        async () => fake.transfers > transfers && (await state()).lastCheck !== before,
        mode === 'endless' ? 30_000 : 15_000,
      );
      const s = await state();
      t.diagnostic(`${mode}: ${s.lastError}`);
      assert.ok(s.lastError, `${mode}: no error recorded: ${JSON.stringify(s)}`);
      assert.match(s.lastError, why, mode);
      // Still serial 5's data, from the worker and the API.
      assert.equal(await servedSerial(), 5, mode);
      assert.equal(await servedWww(), '0 300 192.0.2.5', mode);
      assert.equal((await call('GET', `${PDNS}/zones/${ZONE}`)).body.serial, 5, mode);
      assert.match(
        await answerText(p.dnsPort, 'evil.example.', RRType.A),
        /^5 /,
        `${mode}: out-of-zone data answered`,
      );
    }
    fake.mode = 'good';
    const r = await call('PUT', `${PDNS}/zones/${ZONE}/axfr-retrieve`);
    assert.equal(r.status, 200);
    await waitFor('serial 6 served after a good transfer', async () => (await servedSerial()) === 6);
    assert.equal(await servedWww(), '0 300 192.0.2.6');
  });
});
