/**
 * Transfers out of `switchboard start` (docs/TRANSFERS.md): the PowerDNS tsigkeys API as
 * PowerDNS 4.7 answers it, keys per account (two tenants with a key of the same name never meet),
 * `master_tsig_key_ids`, `ALLOW-AXFR-FROM` (prefixes, AUTO-NS), `TSIG-ALLOW-AXFR` refused as
 * metadata, `--transfer-key` for every zone; then NSD and Knot as secondaries pulling a tenant's
 * zone with the tenant's key and answering what Switchboard answers.
 * @module
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { answerText, kdigAt } from '../helpers/dns-client.js';
import { type Peer, skipUnlessCommands, startKnot, startNsd } from '../helpers/peers.js';
import {
  callApi,
  type Json,
  type Platform,
  removeDataDir,
  runCli,
  startPlatform,
  tenantToken,
} from '../helpers/platform.js';
import { waitFor } from '../helpers/wait-for.js';

const skip = skipUnlessCommands('kdig', 'nsd', 'knotd');
const ADMIN = 'sb_e2e_xfr_start_admin_key_0123456789';
const EDGE = Buffer.from('the-platform-edge-key-of-the-xfr-test!').toString('base64');
const PDNS = '/api/v1/servers/localhost';

function axfrCount(text: string): number {
  const m = /Received \d+ B \((\d+) messages, (\d+) records\)/.exec(text);
  return m ? Number(m[2]) : -1;
}

async function waitForSerial(port: number, zone: string, serial: number, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  let last = '';
  while (Date.now() < deadline) {
    try {
      last = await answerText(port, zone, 6);
      if (new RegExp(`^0 .* ${serial} `).test(last)) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`${zone} serial ${serial} not served on port ${port} within ${ms} ms (last: ${last})`);
}

describe('start: TSIG keys, transfer settings, NSD and Knot as secondaries', { skip }, () => {
  let p: Platform;
  let a: string;
  let b: string;
  let keyA: Json;
  let keyB: Json;
  const peers: Peer[] = [];

  const call = (key: string, method: string, path: string, body?: unknown) =>
    callApi(p.api, key, method, path, body);

  before(async () => {
    p = await startPlatform({
      apiKey: ADMIN,
      workers: 1,
      extraArgs: ['--transfer-key', `edge1:hmac-sha256:${EDGE}`],
    });
    const tokenOf = (name: string) => tenantToken(p.api, ADMIN, name);
    a = await tokenOf('tenant-a');
    b = await tokenOf('tenant-b');
  });
  after(async () => {
    for (const peer of peers) await peer.stop();
    await p?.stop();
    if (p) removeDataDir(p.dataDir);
  });

  test('tsigkeys: POST with and without a key, list without secrets, GET with, ids as PowerDNS makes them', async () => {
    const made = await call(a, 'POST', `${PDNS}/tsigkeys`, { name: 'transfer', algorithm: 'hmac-sha256' });
    assert.equal(made.status, 201);
    assert.deepEqual(Object.keys(made.body), ['algorithm', 'id', 'key', 'name', 'type']);
    assert.equal(made.body.id, 'transfer.');
    assert.equal(made.body.name, 'transfer');
    assert.equal(made.body.type, 'TSIGKey');
    assert.equal(Buffer.from(made.body.key, 'base64').length, 32);
    keyA = made.body;
    // Tenant B has a key of the same name, its own secret.
    const secretB = Buffer.from('tenant-b-secret-of-the-same-named-key').toString('base64');
    const madeB = await call(b, 'POST', `${PDNS}/tsigkeys`, {
      name: 'transfer.',
      algorithm: 'hmac-sha256',
      key: secretB,
    });
    assert.equal(madeB.status, 201);
    assert.equal(madeB.body.key, secretB);
    keyB = madeB.body;
    const odd = await call(a, 'POST', `${PDNS}/tsigkeys`, {
      name: 'odd\\.name.example',
      algorithm: 'hmac-sha512',
    });
    assert.equal(odd.status, 201);
    assert.equal(odd.body.id, 'odd\\.name.example.'.replace('\\', '=5C'));
    const list = await call(a, 'GET', `${PDNS}/tsigkeys`);
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.map((k: Json) => [k.name, k.key]),
      [
        ['odd\\.name.example', ''],
        ['transfer', ''],
      ],
    );
    const one = await call(a, 'GET', `${PDNS}/tsigkeys/transfer.`);
    assert.equal(one.body.key, keyA.key);
    assert.equal(
      (await call(a, 'POST', `${PDNS}/tsigkeys`, { name: 'transfer', algorithm: 'hmac-sha256' })).status,
      409,
    );
    assert.equal(
      (await call(a, 'POST', `${PDNS}/tsigkeys`, { name: 'x', algorithm: 'hmac-sha999' })).status,
      422,
    );
    // PUT renames; DELETE removes.
    const renamed = await call(a, 'PUT', `${PDNS}/tsigkeys/${odd.body.id}`, { name: 'renamed' });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.body.id, 'renamed.');
    assert.equal(renamed.body.algorithm, 'hmac-sha512');
    assert.equal((await call(a, 'GET', `${PDNS}/tsigkeys/${odd.body.id}`)).status, 404);
    assert.equal((await call(a, 'DELETE', `${PDNS}/tsigkeys/renamed.`)).status, 204);
    assert.equal((await call(a, 'GET', `${PDNS}/tsigkeys/renamed.`)).status, 404);
    // B sees its own key of that name, never A's.
    assert.equal((await call(b, 'GET', `${PDNS}/tsigkeys/transfer.`)).body.key, secretB);
    assert.equal((await call(b, 'GET', `${PDNS}/tsigkeys`)).body.length, 1);
  });

  test('zones: master_tsig_key_ids names only the account’s own keys; TSIG-ALLOW-AXFR is not settable as metadata', async () => {
    const za = await call(a, 'POST', `${PDNS}/zones`, {
      name: 'tenant-a.test.',
      kind: 'Master',
      nameservers: ['ns1.tenant-a.test.'],
      master_tsig_key_ids: ['transfer.'],
      rrsets: [
        {
          name: 'ns1.tenant-a.test.',
          type: 'A',
          ttl: 300,
          records: [{ content: '127.0.0.1', disabled: false }],
        },
        {
          name: 'www.tenant-a.test.',
          type: 'A',
          ttl: 300,
          records: [
            { content: '192.0.2.10', disabled: false },
            { content: '192.0.2.11', disabled: false },
          ],
        },
        {
          name: 'www.tenant-a.test.',
          type: 'TXT',
          ttl: 60,
          records: [{ content: '"v=spf1 -all"', disabled: false }],
        },
        {
          name: 'tenant-a.test.',
          type: 'MX',
          ttl: 300,
          records: [{ content: '10 mail.tenant-a.test.', disabled: false }],
        },
        {
          name: 'mail.tenant-a.test.',
          type: 'AAAA',
          ttl: 300,
          records: [{ content: '2001:db8::25', disabled: false }],
        },
      ],
    });
    assert.equal(za.status, 201, JSON.stringify(za.body));
    assert.deepEqual(za.body.master_tsig_key_ids, ['transfer.']);
    const zb = await call(b, 'POST', `${PDNS}/zones`, {
      name: 'tenant-b.test.',
      kind: 'Native',
      nameservers: ['ns1.tenant-b.test.'],
      master_tsig_key_ids: ['transfer.'],
    });
    assert.equal(zb.status, 201);
    // A key B does not have: 422, and no zone made.
    const bad = await call(b, 'POST', `${PDNS}/zones`, {
      name: 'tenant-b2.test.',
      kind: 'Native',
      nameservers: ['ns1.tenant-b2.test.'],
      master_tsig_key_ids: ['other.'],
    });
    assert.equal(bad.status, 422);
    assert.equal((await call(b, 'GET', `${PDNS}/zones/tenant-b2.test.`)).status, 404);
    const put = await call(b, 'PUT', `${PDNS}/zones/tenant-b.test.`, { master_tsig_key_ids: ['nope.'] });
    assert.equal(put.status, 422);
    assert.deepEqual((await call(b, 'GET', `${PDNS}/zones/tenant-b.test.`)).body.master_tsig_key_ids, [
      'transfer.',
    ]);
    const protectedKind = await call(a, 'PUT', `${PDNS}/zones/tenant-a.test./metadata/TSIG-ALLOW-AXFR`, {
      metadata: ['transfer'],
    });
    assert.equal(protectedKind.status, 422);
    assert.match(protectedKind.body.error, /Unsupported metadata kind 'TSIG-ALLOW-AXFR'/);
    const md = await call(a, 'GET', `${PDNS}/zones/tenant-a.test./metadata/TSIG-ALLOW-AXFR`);
    assert.deepEqual(md.body.metadata, ['transfer']);
    // Another tenant's zone: 404 whatever the kind.
    assert.equal(
      (
        await call(b, 'PUT', `${PDNS}/zones/tenant-a.test./metadata/ALLOW-AXFR-FROM`, {
          metadata: ['127.0.0.0/8'],
        })
      ).status,
      404,
    );
    assert.equal(
      (
        await call(a, 'PUT', `${PDNS}/zones/tenant-a.test./metadata/ALLOW-AXFR-FROM`, {
          metadata: ['not an address'],
        })
      ).status,
      422,
    );
  });

  test('a key renamed or deleted: the zones naming it in master_tsig_key_ids follow (another tenant’s key of that name untouched)', async () => {
    const zone = `${PDNS}/zones/tenant-a.test.`;
    assert.equal(
      (await call(a, 'POST', `${PDNS}/tsigkeys`, { name: 'roll', algorithm: 'hmac-sha256' })).status,
      201,
    );
    assert.equal((await call(a, 'PUT', zone, { master_tsig_key_ids: ['transfer.', 'roll.'] })).status, 204);
    const renamed = await call(a, 'PUT', `${PDNS}/tsigkeys/roll.`, { name: 'rolled' });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.deepEqual((await call(a, 'GET', zone)).body.master_tsig_key_ids, ['transfer.', 'rolled.']);
    assert.equal((await call(a, 'DELETE', `${PDNS}/tsigkeys/rolled.`)).status, 204);
    assert.deepEqual((await call(a, 'GET', zone)).body.master_tsig_key_ids, ['transfer.']);
    assert.deepEqual((await call(b, 'GET', `${PDNS}/zones/tenant-b.test.`)).body.master_tsig_key_ids, [
      'transfer.',
    ]);
    const audit = await call(ADMIN, 'GET', '/api/v1/audit?action=tsigkey.delete');
    assert.deepEqual(audit.body.items[0]?.detail, { zones: ['tenant-a.test.'] }); // newest first
  });

  test('DNS: each tenant’s key transfers its zone only; the edge key every zone; ALLOW-AXFR-FROM and AUTO-NS by address', async () => {
    const port = p.dnsPort;
    // The settings reach the worker after the changes: wait until both tenants' keys transfer
    // their own zones (waiting for tenant A's alone raced tenant B's settings: BADKEY, not BADSIG).
    const deadline = Date.now() + 10_000;
    let ok = '';
    while (Date.now() < deadline) {
      ok = await kdigAt(port, '-y', `hmac-sha256:transfer:${keyA.key}`, 'AXFR', 'tenant-a.test');
      const okB = await kdigAt(port, '-y', `hmac-sha256:transfer:${keyB.key}`, 'AXFR', 'tenant-b.test');
      if (axfrCount(ok) > 0 && axfrCount(okB) > 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(axfrCount(ok), 9, ok);
    assert.doesNotMatch(ok, /WARNING|failed/i);
    // A's key against B's zone: B's zone is checked with B's keys: a MAC that does not match.
    assert.match(
      await kdigAt(port, '-y', `hmac-sha256:transfer:${keyA.key}`, 'AXFR', 'tenant-b.test'),
      /BADSIG/,
    );
    assert.match(
      await kdigAt(port, '-y', `hmac-sha256:transfer:${keyB.key}`, 'AXFR', 'tenant-a.test'),
      /BADSIG/,
    );
    assert.ok(
      axfrCount(await kdigAt(port, '-y', `hmac-sha256:transfer:${keyB.key}`, 'AXFR', 'tenant-b.test')) > 0,
    );
    // The default account's example zones: no tenant key is known there.
    assert.match(
      await kdigAt(port, '-y', `hmac-sha256:transfer:${keyA.key}`, 'AXFR', 'example.com'),
      /BADKEY/,
    );
    // The edge key: every zone.
    for (const z of ['tenant-a.test', 'tenant-b.test', 'example.com'])
      assert.ok(axfrCount(await kdigAt(port, '-y', `hmac-sha256:edge1:${EDGE}`, 'AXFR', z)) > 0, z);
    // By address.
    assert.match(await kdigAt(port, '-b', '127.0.0.3', 'AXFR', 'tenant-a.test'), /REFUSED/);
    assert.equal(
      (
        await call(a, 'PUT', `${PDNS}/zones/tenant-a.test./metadata/ALLOW-AXFR-FROM`, {
          metadata: ['127.0.0.3', 'AUTO-NS'],
        })
      ).status,
      200,
    );
    const t0 = Date.now();
    while (axfrCount(await kdigAt(port, '-b', '127.0.0.3', 'AXFR', 'tenant-a.test')) !== 9) {
      assert.ok(Date.now() - t0 < 10_000, 'ALLOW-AXFR-FROM did not reach the worker');
      await new Promise((r) => setTimeout(r, 200));
    }
    // AUTO-NS: ns1.tenant-a.test. is 127.0.0.1.
    assert.equal(axfrCount(await kdigAt(port, '-b', '127.0.0.1', 'AXFR', 'tenant-a.test')), 9);
    assert.match(await kdigAt(port, '-b', '127.0.0.4', 'AXFR', 'tenant-a.test'), /REFUSED/);
    assert.equal(
      (await call(a, 'DELETE', `${PDNS}/zones/tenant-a.test./metadata/ALLOW-AXFR-FROM`)).status,
      204,
    );
    // Counted in /metrics (the workers report every second).
    const metric = async (re: RegExp): Promise<number> => {
      const text = await (await fetch(`${p.api}/metrics`)).text();
      return Number(re.exec(text)?.[1] ?? -1);
    };
    const until = Date.now() + 5000;
    while ((await metric(/^switchboard_dns_transfers_total\{outcome="started"\} (\d+)/m)) < 7) {
      assert.ok(Date.now() < until, 'transfers not counted in /metrics');
      await new Promise((r) => setTimeout(r, 250));
    }
    // The rest from the workers' later reports too: a report may have been taken while the last
    // transfer was still finishing (active 1).
    await waitFor(
      'refusals, TSIG failures and no active transfer in /metrics',
      async () =>
        (await metric(/^switchboard_dns_transfers_total\{outcome="refused"\} (\d+)/m)) >= 2 &&
        (await metric(/^switchboard_dns_tsig_failures_total (\d+)/m)) >= 3 &&
        (await metric(/^switchboard_dns_transfers_active (\d+)/m)) === 0,
      5000,
    );
  });

  test('native API and CLI: tsigkey create/list/show/rm, zone transfer set/show', async () => {
    const cli = (args: string[]) => runCli(args, { SWITCHBOARD_URL: p.api, SWITCHBOARD_API_KEY: a });
    const made = await cli(['tsigkey', 'create', 'cli-key', '--algorithm', 'hmac-sha512']);
    assert.equal(made.code, 0, made.err);
    assert.match(made.out, /name +cli-key\.\nalgorithm +hmac-sha512\nsecret +\S{40,}/);
    const list = await cli(['tsigkey', 'list']);
    assert.match(list.out, /cli-key\. +hmac-sha512/);
    assert.doesNotMatch(list.out, /secret|==/);
    const native = await call(a, 'GET', '/api/v1/tsigkeys/cli-key');
    assert.equal(native.status, 200);
    assert.equal(native.body.algorithm, 'hmac-sha512');
    assert.ok(native.body.key.length > 40);
    const set = await cli([
      'zone',
      'transfer',
      'set',
      'tenant-a.test',
      '--key',
      'cli-key',
      '--allow',
      '192.0.2.0/24',
    ]);
    assert.equal(set.code, 0, set.err);
    assert.match(set.out, /keys +cli-key\.\nallow from +192\.0\.2\.0\/24/);
    assert.deepEqual((await call(a, 'GET', '/api/v1/zones/tenant-a.test/transfer')).body, {
      masterTsigKeyIds: ['cli-key.'],
      allowAxfrFrom: ['192.0.2.0/24'],
      alsoNotify: [],
    });
    // B cannot name A's key, nor see A's zone's settings.
    assert.equal((await call(b, 'GET', '/api/v1/tsigkeys/cli-key')).status, 404);
    assert.equal((await call(b, 'GET', '/api/v1/zones/tenant-a.test/transfer')).status, 404);
    // Back as it was for the secondaries below; the key goes.
    const back = await cli(['zone', 'transfer', 'set', 'tenant-a.test', '--key', 'transfer', '--no-allow']);
    assert.equal(back.code, 0, back.err);
    assert.equal((await cli(['tsigkey', 'rm', 'cli-key'])).code, 0);
    assert.equal((await call(a, 'GET', '/api/v1/tsigkeys/cli-key')).status, 404);
  });

  for (const kind of ['nsd', 'knot'] as const) {
    test(`${kind} as a secondary pulls tenant-a.test. with the tenant's key and answers as Switchboard does`, async () => {
      const secondary = {
        primary: `127.0.0.1@${p.dnsPort}`,
        key: { name: 'transfer', algorithm: 'hmac-sha256', secret: keyA.key as string },
      };
      const zones = [{ origin: 'tenant-a.test.', file: '' }];
      const peer =
        kind === 'nsd'
          ? await startNsd(zones, { secondary, readyTimeoutMs: 20_000 })
          : await startKnot(zones, { secondary, readyTimeoutMs: 20_000 });
      peers.push(peer);
      const zone = await call(a, 'GET', `${PDNS}/zones/tenant-a.test.?rrsets=false`);
      await waitForSerial(peer.port, 'tenant-a.test.', zone.body.serial);
      const questions: [string, number][] = [
        ['tenant-a.test.', 6],
        ['tenant-a.test.', 2],
        ['tenant-a.test.', 15],
        ['www.tenant-a.test.', 1],
        ['www.tenant-a.test.', 16],
        ['mail.tenant-a.test.', 28],
        ['ns1.tenant-a.test.', 1],
        ['missing.tenant-a.test.', 1],
      ];
      for (const [name, type] of questions)
        assert.equal(
          await answerText(peer.port, name, type),
          await answerText(p.dnsPort, name, type),
          `${kind}: ${name} ${type}\n${peer.output()}`,
        );
    });
  }
});
