/**
 * Security defaults and limits of `switchboard start` (issue 6 items 1 and 4), against the real
 * command: a short SWITCHBOARD_API_KEY and bad limit flags are refused (exit 1, clear message);
 * the data folder is 0700 and its database files 0600; `--metrics key` needs an administrator
 * key; `--limit` reaches the API (429 with Retry-After); wrong keys from one address are
 * refused with 429 before the key is checked.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findFreePort } from '../helpers/peers.js';
import { callApi, type Platform, runCli, startPlatform } from '../helpers/platform.js';

describe('switchboard start: security defaults and limits', () => {
  const key = `sb_${randomBytes(32).toString('base64url')}`;
  let tmp: string;
  let p: Platform;

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'sb-start-limits-'));
    p = await startPlatform({
      dataDir: join(tmp, 'data'),
      apiKey: key,
      workers: 1,
      extraArgs: [
        '--metrics',
        'key',
        '--limit',
        'token-rate=1',
        '--limit',
        'token-burst=3',
        '--limit',
        'failed-keys=2',
        '--trusted-proxy',
        '10.0.0.0/8',
      ],
    });
  });
  after(async () => {
    await p?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const startWith = async (args: string[], env: Record<string, string | undefined>) =>
    runCli(
      [
        'start',
        '--data',
        join(tmp, `refused-${randomBytes(4).toString('hex')}`),
        '--http',
        `127.0.0.1:${await findFreePort()}`,
        '--dns',
        `127.0.0.1:${await findFreePort()}`,
        '--workers',
        '1',
        ...args,
      ],
      { SWITCHBOARD_API_KEY: undefined, ...env },
    );

  test('a SWITCHBOARD_API_KEY shorter than 32 characters is refused, and nothing starts', async () => {
    const r = await startWith([], { SWITCHBOARD_API_KEY: 'too-short-0123456789' });
    assert.equal(r.code, 1, r.out);
    assert.match(r.err, /SWITCHBOARD_API_KEY is 20 characters long; use at least 32/);
    assert.ok(!r.err.includes('too-short-0123456789'), 'the key is echoed');
    assert.doesNotMatch(r.out, /switchboard: started/);
  });

  test('bad --limit, --trusted-proxy and --metrics values are refused with the flag named', async () => {
    const limit = await startWith(['--limit', 'token-rate=fast'], {});
    assert.equal(limit.code, 1);
    assert.match(limit.err, /--limit token-rate: 'fast' is not a whole number/);
    const proxy = await startWith(['--trusted-proxy', 'my-proxy'], {});
    assert.equal(proxy.code, 1);
    assert.match(proxy.err, /--trusted-proxy 'my-proxy'/);
    const metrics = await startWith(['--metrics', 'closed'], {});
    assert.equal(metrics.code, 1);
    assert.match(metrics.err, /--metrics 'closed'/);
  });

  test('the data folder is 0700 and the database files 0600', () => {
    const mode = (f: string) => statSync(f).mode & 0o777;
    assert.equal(mode(p.dataDir), 0o700);
    const db = join(p.dataDir, 'switchboard.db');
    for (const f of [db, `${db}-wal`, `${db}-shm`]) assert.equal(mode(f), 0o600, f);
  });

  test('--metrics key: /metrics needs an administrator key', async () => {
    assert.equal((await fetch(`${p.api}/metrics`)).status, 401);
    const ok = await fetch(`${p.api}/metrics`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /switchboard_dns_queries_total/);
  });

  test('--limit reaches the API: a key over its rate gets 429 with Retry-After', async () => {
    const account = await callApi(p.api, key, 'POST', '/api/v1/accounts', { name: 'limited' });
    const token = await callApi(p.api, key, 'POST', '/api/v1/tokens', {
      name: 'limited',
      accountId: account.body.id,
      scope: { access: 'read' },
    });
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<typeof callApi>> | undefined;
    for (let i = 0; i < 6; i++) {
      const r = await callApi(p.api, token.body.secret, 'GET', '/api/v1/zones');
      statuses.push(r.status);
      if (r.status === 429) refused = r;
    }
    assert.ok(refused, `no 429 in ${statuses}`);
    assert.equal(refused.body.limit, 'token-rate');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    // The administrator is not limited.
    for (let i = 0; i < 10; i++)
      assert.equal((await callApi(p.api, key, 'GET', '/api/v1/zones')).status, 200);
  });

  test('wrong keys: 429 from the third one on, even with the right key; X-Forwarded-For from an untrusted peer is ignored', async () => {
    // Requests come from 127.0.0.1, which is not a trusted proxy: the header changes nothing.
    const wrong = (i: number) =>
      callApi(p.api, `sb_wrong_${i}`, 'GET', '/api/v1/zones', undefined, {
        'x-forwarded-for': `198.51.100.${i}`,
      });
    assert.equal((await wrong(1)).status, 401);
    assert.equal((await wrong(2)).status, 401);
    const locked = await wrong(3);
    assert.equal(locked.status, 429);
    assert.equal(locked.body.limit, 'failed-keys');
    assert.equal((await callApi(p.api, key, 'GET', '/api/v1/zones')).status, 429);
  });
});
