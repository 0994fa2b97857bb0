/**
 * Dynamic update (RFC 2136) into `switchboard start` with real clients: BIND's nsupdate (UDP
 * and TCP) and Knot's knsupdate, signed with a tenant's TSIG key; the PowerDNS metadata that
 * allows it (TSIG-ALLOW-DNSUPDATE, ALLOW-DNSUPDATE-FROM); prerequisites; refusals (unsigned,
 * another tenant's key of the same name, an address outside the allowed prefixes, a zone of
 * another account); the change served by the workers and kept as a version of kind `update`.
 * Run over both UDP paths (`--io node` and `--io native`).
 * @module
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { nativeUdpStatus } from '../../src/transport/native-udp.js';
import { decodeMessage } from '../../src/wire/decode.js';
import { rdataToText } from '../../src/wire/rdata.js';
import { buildQuery, queryUdp } from '../helpers/dns-client.js';
import { skipUnlessCommands } from '../helpers/peers.js';
import {
  callApi,
  type Platform,
  removeDataDir,
  runCli,
  startPlatform,
  tenantToken,
} from '../helpers/platform.js';
import { postgresSkipReason, startPostgres } from '../helpers/postgres.js';
import { waitForText } from '../helpers/wait-for.js';

const skip = skipUnlessCommands('nsupdate', 'knsupdate');
const ADMIN = 'sb_e2e_dns_update_admin_key_0123456789';
const PDNS = '/api/v1/servers/localhost';

/** Runs a client with `script` on stdin; its exit code and output. */
function client(cmd: string, args: string[], script: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
    child.stdin.end(script);
  });
}

/** rcode and sorted RDATA of `name type`. */
async function lookup(port: number, name: string, type: number): Promise<string> {
  const r = decodeMessage(await queryUdp(buildQuery({ name, type }), { port, timeoutMs: 1000 }));
  return `${r.flags & 15} ${r.answers
    .filter((a) => a.type === type)
    .map((a) => rdataToText(a.type, a.rdata))
    .sort()
    .join(' | ')}`;
}

async function waitFor(port: number, name: string, type: number, want: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  let last = '';
  while (Date.now() < deadline) {
    try {
      last = await lookup(port, name, type);
      if (last === want) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${name} ${type}: wanted '${want}', last '${last}'`);
}

const paths = nativeUdpStatus().ok ? (['node', 'native'] as const) : (['node'] as const);

for (const io of paths)
  describe(`start: DNS UPDATE with nsupdate and knsupdate (--io ${io})`, { skip }, () => {
    let p: Platform;
    let a: string;
    let b: string;
    let secretA: string;
    let secretB: string;
    const call = (key: string, method: string, path: string, body?: unknown) =>
      callApi(p.api, key, method, path, body);
    const nsupdate = (script: string, ...flags: string[]) =>
      client('nsupdate', flags, `server 127.0.0.1 ${p.dnsPort}\n${script}\nsend\n`);

    before(async () => {
      p = await startPlatform({ apiKey: ADMIN, workers: 2, extraArgs: ['--io', io] });
      const tokenOf = (name: string) => tenantToken(p.api, ADMIN, name);
      a = await tokenOf('tenant-a');
      b = await tokenOf('tenant-b');
      const ka = await call(a, 'POST', `${PDNS}/tsigkeys`, { name: 'upd', algorithm: 'hmac-sha256' });
      assert.equal(ka.status, 201);
      secretA = ka.body.key;
      // Tenant B: a key of the same name, its own secret, and a zone of its own.
      const kb = await call(b, 'POST', `${PDNS}/tsigkeys`, { name: 'upd', algorithm: 'hmac-sha256' });
      secretB = kb.body.key;
      for (const [tok, zone] of [
        [a, 'dyn-a.test.'],
        [b, 'dyn-b.test.'],
      ] as const) {
        const z = await call(tok, 'POST', `${PDNS}/zones`, {
          name: zone,
          kind: 'Master',
          nameservers: [`ns1.${zone}`],
          rrsets: [
            {
              name: `ns1.${zone}`,
              type: 'A',
              ttl: 300,
              records: [{ content: '192.0.2.53', disabled: false }],
            },
            {
              name: `www.${zone}`,
              type: 'A',
              ttl: 300,
              records: [{ content: '192.0.2.1', disabled: false }],
            },
          ],
        });
        assert.equal(z.status, 201, JSON.stringify(z.body));
      }
      await waitFor(p.dnsPort, 'www.dyn-a.test.', 1, '0 192.0.2.1');
    });
    after(async () => {
      await p?.stop();
      if (p) removeDataDir(p.dataDir);
    });

    test('no policy: REFUSED, even signed with the account key', async () => {
      const r = await nsupdate(
        'update add new.dyn-a.test. 60 A 192.0.2.9',
        '-y',
        `hmac-sha256:upd:${secretA}`,
      );
      assert.notEqual(r.code, 0);
      assert.match(r.out, /REFUSED/);
    });

    test('TSIG-ALLOW-DNSUPDATE as PowerDNS metadata: set, read back, unknown keys refused (422)', async () => {
      const bad = await call(a, 'PUT', `${PDNS}/zones/dyn-a.test./metadata/TSIG-ALLOW-DNSUPDATE`, {
        metadata: ['nokey'],
      });
      assert.equal(bad.status, 422);
      const put = await call(a, 'PUT', `${PDNS}/zones/dyn-a.test./metadata/TSIG-ALLOW-DNSUPDATE`, {
        metadata: ['upd'],
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.deepEqual(put.body.metadata, ['upd']);
      const list = await call(a, 'GET', `${PDNS}/zones/dyn-a.test./metadata`);
      assert.ok(list.body.some((m: { kind: string }) => m.kind === 'TSIG-ALLOW-DNSUPDATE'));
      const badFrom = await call(a, 'PUT', `${PDNS}/zones/dyn-a.test./metadata/ALLOW-DNSUPDATE-FROM`, {
        metadata: ['not-a-prefix'],
      });
      assert.equal(badFrom.status, 422);
      // POST adds values (PowerDNS), DELETE removes the kind.
      const added = await call(a, 'POST', `${PDNS}/zones/dyn-a.test./metadata`, {
        kind: 'ALLOW-DNSUPDATE-FROM',
        metadata: ['192.0.2.0/24'],
      });
      assert.equal(added.status, 201, JSON.stringify(added.body));
      assert.deepEqual(added.body.metadata, ['192.0.2.0/24']);
      assert.equal(
        (await call(a, 'DELETE', `${PDNS}/zones/dyn-a.test./metadata/ALLOW-DNSUPDATE-FROM`)).status,
        204,
      );
      // Another account's zone: not found.
      const other = await call(b, 'PUT', `${PDNS}/zones/dyn-a.test./metadata/TSIG-ALLOW-DNSUPDATE`, {
        metadata: ['upd'],
      });
      assert.equal(other.status, 404);
    });

    test('nsupdate over UDP: an add served by the workers, a version of kind update', async () => {
      const before = await call(a, 'GET', `${PDNS}/zones/dyn-a.test.`);
      const r = await nsupdate(
        'zone dyn-a.test.\nupdate add new.dyn-a.test. 60 A 192.0.2.9\nupdate add www.dyn-a.test. 300 A 192.0.2.2',
        '-y',
        `hmac-sha256:upd:${secretA}`,
      );
      assert.equal(r.code, 0, r.out);
      await waitFor(p.dnsPort, 'new.dyn-a.test.', 1, '0 192.0.2.9');
      await waitFor(p.dnsPort, 'www.dyn-a.test.', 1, '0 192.0.2.1 | 192.0.2.2');
      const after = await call(a, 'GET', `${PDNS}/zones/dyn-a.test.`);
      assert.ok(after.body.serial > before.body.serial);
      const versions = await call(a, 'GET', '/api/v1/zones/dyn-a.test./versions');
      assert.equal(versions.status, 200);
      const items = versions.body.items ?? versions.body;
      assert.equal(items[0].kind, 'update', JSON.stringify(items[0]));
    });

    test('prerequisites: YXDOMAIN and NXRRSET refuse the whole update, nothing applied', async () => {
      let r = await nsupdate(
        'prereq nxdomain www.dyn-a.test.\nupdate add p1.dyn-a.test. 60 A 192.0.2.10',
        '-y',
        `hmac-sha256:upd:${secretA}`,
      );
      assert.notEqual(r.code, 0);
      assert.match(r.out, /YXDOMAIN/);
      r = await nsupdate(
        'prereq yxrrset www.dyn-a.test. A 192.0.2.1\nupdate add p2.dyn-a.test. 60 A 192.0.2.10',
        '-y',
        `hmac-sha256:upd:${secretA}`,
      );
      assert.notEqual(r.code, 0);
      assert.match(r.out, /NXRRSET/);
      assert.equal(await lookup(p.dnsPort, 'p1.dyn-a.test.', 1), '3 ');
      assert.equal(await lookup(p.dnsPort, 'p2.dyn-a.test.', 1), '3 ');
      // The same with the whole RRset satisfied: applied.
      r = await nsupdate(
        'prereq yxrrset www.dyn-a.test. A 192.0.2.1\nprereq yxrrset www.dyn-a.test. A 192.0.2.2\nupdate add p3.dyn-a.test. 60 A 192.0.2.10',
        '-y',
        `hmac-sha256:upd:${secretA}`,
      );
      assert.equal(r.code, 0, r.out);
      await waitFor(p.dnsPort, 'p3.dyn-a.test.', 1, '0 192.0.2.10');
    });

    test('refused: unsigned, the other tenant’s key of the same name, another account’s zone', async () => {
      let r = await nsupdate('update add u.dyn-a.test. 60 A 192.0.2.11');
      assert.notEqual(r.code, 0);
      assert.match(r.out, /REFUSED/);
      r = await nsupdate('update add u.dyn-a.test. 60 A 192.0.2.11', '-y', `hmac-sha256:upd:${secretB}`);
      assert.notEqual(r.code, 0);
      assert.match(r.out, /NOTAUTH|tsig verify failure|BADSIG/i);
      // Tenant A's key cannot update tenant B's zone (B's policy is empty; A's key is not B's).
      r = await nsupdate(
        'zone dyn-b.test.\nupdate add x.dyn-b.test. 60 A 192.0.2.12',
        '-y',
        `hmac-sha256:upd:${secretA}`,
      );
      assert.notEqual(r.code, 0);
      assert.equal(await lookup(p.dnsPort, 'u.dyn-a.test.', 1), '3 ');
      assert.equal(await lookup(p.dnsPort, 'x.dyn-b.test.', 1), '3 ');
    });

    test('nsupdate over TCP (-v): delete an RRset and one record', async () => {
      const r = await nsupdate(
        'update delete new.dyn-a.test. A\nupdate delete www.dyn-a.test. A 192.0.2.1',
        '-v',
        '-y',
        `hmac-sha256:upd:${secretA}`,
      );
      assert.equal(r.code, 0, r.out);
      await waitFor(p.dnsPort, 'new.dyn-a.test.', 1, '3 ');
      await waitFor(p.dnsPort, 'www.dyn-a.test.', 1, '0 192.0.2.2');
    });

    test('knsupdate (Knot) signed with the same key', async () => {
      const r = await client(
        'knsupdate',
        ['-y', `hmac-sha256:upd:${secretA}`],
        `server 127.0.0.1 ${p.dnsPort}\nzone dyn-a.test.\nupdate add knot.dyn-a.test. 60 TXT "from knsupdate"\nsend\n`,
      );
      assert.equal(r.code, 0, r.out);
      await waitFor(p.dnsPort, 'knot.dyn-a.test.', 16, '0 "from knsupdate"');
    });

    test('ALLOW-DNSUPDATE-FROM: an address outside the prefixes is refused, inside allowed', async () => {
      let put = await call(a, 'PUT', `${PDNS}/zones/dyn-a.test./metadata/ALLOW-DNSUPDATE-FROM`, {
        metadata: ['10.0.0.0/8'],
      });
      assert.equal(put.status, 200);
      let r = await nsupdate('update add f.dyn-a.test. 60 A 192.0.2.13', '-y', `hmac-sha256:upd:${secretA}`);
      assert.notEqual(r.code, 0);
      assert.match(r.out, /REFUSED/);
      put = await call(a, 'PUT', `${PDNS}/zones/dyn-a.test./metadata/ALLOW-DNSUPDATE-FROM`, {
        metadata: ['127.0.0.0/8'],
      });
      assert.equal(put.status, 200);
      r = await nsupdate('update add f.dyn-a.test. 60 A 192.0.2.13', '-y', `hmac-sha256:upd:${secretA}`);
      assert.equal(r.code, 0, r.out);
      await waitFor(p.dnsPort, 'f.dyn-a.test.', 1, '0 192.0.2.13');
      const del = await call(a, 'DELETE', `${PDNS}/zones/dyn-a.test./metadata/ALLOW-DNSUPDATE-FROM`);
      assert.equal(del.status, 204);
    });

    test('the native API and the CLI (zone dns-update show|set) read and set the same settings', async () => {
      const cli = (args: string[]) => runCli(args, { SWITCHBOARD_URL: p.api, SWITCHBOARD_API_KEY: a });
      let r = await cli([
        'zone',
        'dns-update',
        'set',
        'dyn-a.test.',
        '--key',
        'upd',
        '--allow',
        '127.0.0.0/8',
      ]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /keys\s+upd\./);
      const got = await call(a, 'GET', '/api/v1/zones/dyn-a.test./dns-update');
      assert.equal(got.status, 200);
      assert.deepEqual(got.body, { tsigAllowDnsupdate: ['upd.'], allowDnsupdateFrom: ['127.0.0.0/8'] });
      const bad = await call(a, 'PUT', '/api/v1/zones/dyn-a.test./dns-update', { allowDnsupdateFrom: ['x'] });
      assert.equal(bad.status, 422);
      assert.match(JSON.stringify(bad.body), /metadata\[0\]|allowDnsupdateFrom/);
      r = await cli(['zone', 'dns-update', 'set', 'dyn-a.test.', '--no-allow']);
      assert.equal(r.code, 0, r.err);
      r = await cli(['zone', 'dns-update', 'show', 'dyn-a.test.', '--json']);
      assert.deepEqual(JSON.parse(r.out), { tsigAllowDnsupdate: ['upd.'], allowDnsupdateFrom: [] });
      // Tenant B cannot read or set tenant A's.
      assert.equal((await call(b, 'GET', '/api/v1/zones/dyn-a.test./dns-update')).status, 404);
    });

    test('the platform log says what each update did', async () => {
      // Written by the platform's processes as they go: read while waiting.
      const log = () => p.stdout() + p.stderr();
      await waitForText(
        'the platform',
        log,
        /dns update dyn-a\.test\. from 127\.0\.0\.1 key upd\.: NOERROR \(serial \d+\)/,
      );
      await waitForText('the platform', log, /dns update dyn-a\.test\. from 127\.0\.0\.1: REFUSED/);
    });
  });

describe('start on PostgreSQL: an UPDATE through one replica is served by the other', {
  skip: skip || postgresSkipReason(),
}, () => {
  test('nsupdate to replica B, answered by replica A', async (t) => {
    const db = await startPostgres();
    t.after(() => db.stop());
    const a = await startPlatform({ database: db.url, workers: 1, apiKey: ADMIN });
    t.after(async () => {
      await a.stop();
      removeDataDir(a.dataDir);
    });
    const b = await startPlatform({ database: db.url, workers: 1, apiKey: ADMIN });
    t.after(async () => {
      await b.stop();
      removeDataDir(b.dataDir);
    });
    const tenant = await tenantToken(a.api, ADMIN, 'pg-tenant');
    const k = await callApi(a.api, tenant, 'POST', `${PDNS}/tsigkeys`, {
      name: 'pgkey',
      algorithm: 'hmac-sha512',
    });
    assert.equal(k.status, 201);
    const z = await callApi(a.api, tenant, 'POST', `${PDNS}/zones`, {
      name: 'pg-dyn.test.',
      kind: 'Master',
      nameservers: ['ns1.pg-dyn.test.'],
      rrsets: [
        {
          name: 'ns1.pg-dyn.test.',
          type: 'A',
          ttl: 300,
          records: [{ content: '192.0.2.53', disabled: false }],
        },
      ],
    });
    assert.equal(z.status, 201, JSON.stringify(z.body));
    const put = await callApi(
      a.api,
      tenant,
      'PUT',
      `${PDNS}/zones/pg-dyn.test./metadata/TSIG-ALLOW-DNSUPDATE`,
      {
        metadata: ['pgkey'],
      },
    );
    assert.equal(put.status, 200);
    await waitFor(b.dnsPort, 'ns1.pg-dyn.test.', 1, '0 192.0.2.53');
    const r = await client(
      'nsupdate',
      ['-y', `hmac-sha512:pgkey:${k.body.key}`],
      `server 127.0.0.1 ${b.dnsPort}\nupdate add pg.pg-dyn.test. 60 AAAA 2001:db8::7\nsend\n`,
    );
    assert.equal(r.code, 0, r.out);
    await waitFor(a.dnsPort, 'pg.pg-dyn.test.', 28, '0 2001:db8::7');
  });
});
