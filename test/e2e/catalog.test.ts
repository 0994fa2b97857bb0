/**
 * Catalog zones (RFC 9432, version 2) produced by `switchboard start` (docs/TRANSFERS.md
 * "Catalog zones"): the fleet catalog lists every account's zones and is transferable with an
 * edge key (`--transfer-key`) only; a tenant's Producer zone lists the zones of its own account
 * whose `catalog` field names it and is transferable with that account's keys; ordinary queries
 * of a catalog's names are REFUSED; member ids change when a zone is deleted and re-created, and
 * stay when its kind changes. Knot 3.2 (`catalog-role: interpret`) follows both catalogs over
 * TSIG: a zone created through the API appears on Knot and answers, a deleted one disappears, a
 * deleted and re-created one is served with its new data; BIND 9.18 (`catalog-zones`) likewise
 * with the fleet catalog.
 * @module
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startBindCatalogConsumer } from '../helpers/catalog-zones.js';
import { answerText, kdigAt } from '../helpers/dns-client.js';
import {
  findCommand,
  findFreePort,
  knotServerSections,
  launch,
  type Peer,
  skipUnlessCommands,
} from '../helpers/peers.js';
import {
  callApi,
  type Json,
  type Platform,
  removeDataDir,
  runCli,
  startPlatform,
  tenantToken,
} from '../helpers/platform.js';
import { waitForText } from '../helpers/wait-for.js';

const skip = skipUnlessCommands('kdig', 'knotd');
const ADMIN = 'sb_e2e_catalog_admin_key_0123456789abcdef';
const PDNS = '/api/v1/servers/localhost';
const FLEET = 'catalog.switchboard.invalid.';
const EDGE_SECRET = randomBytes(32).toString('base64');
const EDGE = ['-y', `hmac-sha256:edge1:${EDGE_SECRET}`];

/** The records of a kdig transfer output, as `name type rdata` (TSIG left out, names folded). */
function records(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith(';'))
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 5 && f[3] !== 'TSIG')
    .map((f) => `${f[0].toLowerCase()} ${f[3]} ${f.slice(4).join(' ').toLowerCase()}`);
}

/** Member zone → unique id, from a catalog's AXFR. */
function members(text: string, catalog: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of records(text)) {
    const [owner, type, target] = r.split(' ');
    if (type !== 'PTR' || !owner.endsWith(`.zones.${catalog}`)) continue;
    out.set(target, owner.slice(0, owner.length - `.zones.${catalog}`.length));
  }
  return out;
}

async function waitFor(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  assert.fail(`${what}: not within ${ms} ms`);
}

describe('start: catalog zones (fleet and per-account), Knot as consumer', { skip }, () => {
  let p: Platform;
  let a: string;
  let b: string;
  let keyA: Json;
  let keyB: Json;
  let knot: Peer | undefined;
  const call = (k: string, method: string, path: string, body?: unknown) =>
    callApi(p.api, k, method, path, body);
  const fleetAxfr = () => kdigAt(p.dnsPort, ...EDGE, 'AXFR', FLEET);
  const tenantKey = (k: Json) => ['-y', `hmac-sha256:transfer:${k.key}`];
  const createZone = async (
    k: string,
    name: string,
    extra: Record<string, unknown>,
    address = '192.0.2.1',
  ) => {
    const r = await call(k, 'POST', `${PDNS}/zones`, {
      name,
      kind: 'Native',
      nameservers: ['ns1.example.net.'],
      rrsets: [
        { name: `www.${name}`, type: 'A', ttl: 300, records: [{ content: address, disabled: false }] },
      ],
      ...extra,
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  };

  before(async () => {
    p = await startPlatform({
      apiKey: ADMIN,
      workers: 2,
      extraArgs: ['--transfer-key', `edge1:hmac-sha256:${EDGE_SECRET}`, '--outbound-allow', '127.0.0.0/8'],
    });
    a = await tenantToken(p.api, ADMIN, 'tenant-a');
    b = await tenantToken(p.api, ADMIN, 'tenant-b');
    keyA = (await call(a, 'POST', `${PDNS}/tsigkeys`, { name: 'transfer', algorithm: 'hmac-sha256' })).body;
    keyB = (await call(b, 'POST', `${PDNS}/tsigkeys`, { name: 'transfer', algorithm: 'hmac-sha256' })).body;
  });
  after(async () => {
    await knot?.stop();
    await p?.stop();
    if (p) removeDataDir(p.dataDir);
  });

  test('the fleet catalog: every zone, edge key only, queries REFUSED, ids new after delete+create', async () => {
    await createZone(a, 'one.a.test.', {});
    await createZone(b, 'b.test.', {});
    await waitFor(
      'both zones in the fleet catalog',
      async () => {
        const m = members(await fleetAxfr(), FLEET);
        return m.has('one.a.test.') && m.has('b.test.');
      },
      10_000,
    );
    const axfr = records(await fleetAxfr());
    assert.ok(axfr.includes(`${FLEET} NS invalid.`), axfr.join('\n'));
    assert.ok(axfr.includes(`version.${FLEET} TXT "2"`), axfr.join('\n'));
    const ids = members(await fleetAxfr(), FLEET);
    // The examples (first start) are members too; ids are single labels, distinct.
    assert.ok(ids.has('example.com.'), [...ids.keys()].join(' '));
    assert.equal(new Set(ids.values()).size, ids.size);
    // A tenant's key is not an edge key: its request for the fleet catalog fails (BADKEY: the
    // catalog's account has no key of that name); unsigned: REFUSED.
    const tenant = await kdigAt(p.dnsPort, ...tenantKey(keyA), 'AXFR', FLEET);
    assert.match(tenant, /NOTAUTH|REFUSED|BADKEY|failed/i, tenant);
    assert.equal(members(tenant, FLEET).size, 0);
    assert.match(await kdigAt(p.dnsPort, 'AXFR', FLEET), /REFUSED/);
    assert.match(await kdigAt(p.dnsPort, `IXFR=1`, FLEET), /REFUSED/);
    // Ordinary queries of its names: REFUSED, over UDP and TCP, on the native path too.
    for (let i = 0; i < 4; i++) {
      assert.match(await answerText(p.dnsPort, FLEET, 6), /^5 /);
      assert.match(await answerText(p.dnsPort, `${ids.get('b.test.')}.zones.${FLEET}`, 12), /^5 /);
    }
    assert.match(await kdigAt(p.dnsPort, '+tcp', 'SOA', FLEET), /REFUSED/);
    // An edge key may ask (the consumer's SOA refresh).
    const soa = await kdigAt(p.dnsPort, ...EDGE, 'SOA', FLEET);
    assert.match(soa, /NOERROR/, soa);
    assert.match(soa, /SOA\s+invalid\./, soa);
    // IXFR with the edge key: a difference after a change (kind change keeps the id: none).
    const serial = Number(/SOA\s+invalid\.\s+invalid\.\s+(\d+)/.exec(soa)?.[1]);
    assert.ok(serial > 1, soa);
    const kind = await call(b, 'PUT', `${PDNS}/zones/b.test.`, { kind: 'Master' });
    assert.equal(kind.status, 204, JSON.stringify(kind.body));
    // Deleted and re-created: a new id (RFC 9432 §5.4); deleted: gone.
    assert.equal((await call(a, 'DELETE', `${PDNS}/zones/one.a.test.`)).status, 204);
    await waitFor(
      'one.a.test. gone',
      async () => !members(await fleetAxfr(), FLEET).has('one.a.test.'),
      10_000,
    );
    await createZone(a, 'one.a.test.', {});
    await waitFor(
      'one.a.test. back',
      async () => members(await fleetAxfr(), FLEET).has('one.a.test.'),
      10_000,
    );
    const after = members(await fleetAxfr(), FLEET);
    assert.notEqual(after.get('one.a.test.'), ids.get('one.a.test.'));
    assert.equal(after.get('b.test.'), ids.get('b.test.'), 'a kind change keeps the id');
    const ixfr = records(await kdigAt(p.dnsPort, ...EDGE, `IXFR=${serial}`, FLEET));
    const removed = ixfr.filter((r) => r.includes(ids.get('one.a.test.') as string));
    const added = ixfr.filter((r) => r.includes(after.get('one.a.test.') as string));
    assert.equal(removed.length, 1, ixfr.join('\n'));
    assert.equal(added.length, 1, ixfr.join('\n'));
    // Hidden from tenants and from an administrator's list of every zone; not deletable.
    const listA = (await call(a, 'GET', `${PDNS}/zones`)).body as Json[];
    assert.ok(!listA.some((z) => z.name === FLEET));
    const listAdmin = (await call(ADMIN, 'GET', '/api/v1/zones')).body;
    assert.ok(!JSON.stringify(listAdmin).includes(FLEET));
    const del = await call(ADMIN, 'DELETE', `${PDNS}/zones/${FLEET}`);
    assert.equal(del.status, 403, JSON.stringify(del.body));
    assert.equal((await call(a, 'DELETE', `${PDNS}/zones/${FLEET}`)).status, 404);
  });

  test('a per-account catalog (kind Producer): its own members only, its account’s keys only', async () => {
    const made = await call(a, 'POST', `${PDNS}/zones`, {
      name: 'cat.a.test.',
      kind: 'Producer',
      nameservers: [],
      master_tsig_key_ids: ['transfer.'],
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal(made.body.kind, 'Producer');
    await createZone(a, 'two.a.test.', { catalog: 'cat.a.test.', master_tsig_key_ids: ['transfer.'] });
    const set = await call(a, 'PUT', `${PDNS}/zones/one.a.test.`, { catalog: 'cat.a.test.' });
    assert.equal(set.status, 204, JSON.stringify(set.body));
    const got = await call(a, 'GET', `${PDNS}/zones/one.a.test.?rrsets=false`);
    assert.equal(got.body.catalog, 'cat.a.test.');
    // Another account's catalog: 422 naming catalog (as if it did not exist).
    const other = await call(b, 'PUT', `${PDNS}/zones/b.test.`, { catalog: 'cat.a.test.' });
    assert.equal(other.status, 422, JSON.stringify(other.body));
    assert.match(JSON.stringify(other.body), /catalog/);
    // A Producer cannot be a member, nor a plain zone a catalog; its records are not editable.
    const self = await call(a, 'PUT', `${PDNS}/zones/cat.a.test.`, { catalog: 'cat.a.test.' });
    assert.equal(self.status, 422, JSON.stringify(self.body));
    const notCat = await call(a, 'PUT', `${PDNS}/zones/two.a.test.`, { catalog: 'one.a.test.' });
    assert.equal(notCat.status, 422, JSON.stringify(notCat.body));
    const edit = await call(a, 'PATCH', `${PDNS}/zones/cat.a.test.`, {
      rrsets: [
        { name: 'x.cat.a.test.', type: 'TXT', ttl: 60, changetype: 'REPLACE', records: [{ content: '"x"' }] },
      ],
    });
    assert.equal(edit.status, 422, JSON.stringify(edit.body));
    const axfrA = () => kdigAt(p.dnsPort, ...tenantKey(keyA), 'AXFR', 'cat.a.test.');
    await waitFor(
      'both members in cat.a.test.',
      async () => {
        const m = members(await axfrA(), 'cat.a.test.');
        return m.size === 2 && m.has('one.a.test.') && m.has('two.a.test.');
      },
      10_000,
    );
    assert.ok(records(await axfrA()).includes('version.cat.a.test. TXT "2"'));
    // Tenant B's key of the same name: BADSIG; unsigned: REFUSED; ordinary queries REFUSED.
    const byB = await kdigAt(p.dnsPort, ...tenantKey(keyB), 'AXFR', 'cat.a.test.');
    assert.equal(members(byB, 'cat.a.test.').size, 0, byB);
    assert.match(byB, /NOTAUTH|BADSIG|failed/i, byB);
    assert.match(await kdigAt(p.dnsPort, 'AXFR', 'cat.a.test.'), /REFUSED/);
    assert.match(await answerText(p.dnsPort, 'version.cat.a.test.', 16), /^5 /);
    // The edge key transfers it too (as every zone); the fleet catalog does not list it.
    assert.equal(members(await kdigAt(p.dnsPort, ...EDGE, 'AXFR', 'cat.a.test.'), 'cat.a.test.').size, 2);
    assert.ok(!members(await fleetAxfr(), FLEET).has('cat.a.test.'));
    // The CLI: a Producer zone made, a zone listed in it, shown, then in none.
    const env = { SWITCHBOARD_URL: p.api, SWITCHBOARD_API_KEY: a };
    const made2 = await runCli(['zone', 'create', 'cat2.a.test', '--kind', 'Producer'], env);
    assert.equal(made2.code, 0, made2.err);
    const listed = await runCli(['zone', 'catalog', 'two.a.test.', 'cat2.a.test'], env);
    assert.equal(listed.code, 0, listed.err);
    assert.equal((await runCli(['zone', 'catalog', 'two.a.test.'], env)).out, 'cat2.a.test.\n');
    await waitFor(
      'two.a.test. moved to cat2.a.test.',
      async () =>
        members(await kdigAt(p.dnsPort, ...EDGE, 'AXFR', 'cat2.a.test.'), 'cat2.a.test.').has('two.a.test.'),
      10_000,
    );
    assert.equal((await runCli(['zone', 'catalog', 'two.a.test.', 'cat.a.test.'], env)).code, 0);
    assert.equal((await runCli(['zone', 'rm', 'cat2.a.test.', '--yes'], env)).code, 0);
    // `catalog: ""` removes a member.
    assert.equal((await call(a, 'PUT', `${PDNS}/zones/one.a.test.`, { catalog: '' })).status, 204);
    await waitFor(
      'one.a.test. out of cat.a.test.',
      async () => !members(await axfrA(), 'cat.a.test.').has('one.a.test.'),
      10_000,
    );
  });

  test('Knot 3.2 follows both catalogs: zones appear, disappear, and come back with new data', async () => {
    const host = '127.0.0.1';
    const port = await findFreePort(host);
    const dir = mkdtempSync(join(tmpdir(), 'sb-knot-catz-'));
    const conf = [
      ...knotServerSections(dir, `${host}@${port}`),
      'key:',
      '  - id: edge1',
      '    algorithm: hmac-sha256',
      `    secret: ${EDGE_SECRET}`,
      '  - id: transfer',
      '    algorithm: hmac-sha256',
      `    secret: ${keyA.key}`,
      'remote:',
      '  - id: platform-edge',
      `    address: 127.0.0.1@${p.dnsPort}`,
      '    key: edge1',
      '  - id: platform-tenant',
      `    address: 127.0.0.1@${p.dnsPort}`,
      '    key: transfer',
      'acl:',
      '  - id: notify-unsigned',
      '    address: 127.0.0.0/8',
      '    action: notify',
      '  - id: notify-tenant',
      '    address: 127.0.0.0/8',
      '    key: transfer',
      '    action: notify',
      'template:',
      '  - id: default',
      `    storage: "${dir}"`,
      '    semantic-checks: off',
      '    zonefile-sync: -1',
      '    zonefile-load: none',
      '    journal-content: changes',
      '  - id: fleet-member',
      `    storage: "${dir}"`,
      '    master: platform-edge',
      '    acl: notify-unsigned',
      '    zonefile-sync: -1',
      '    zonefile-load: none',
      '    journal-content: changes',
      '  - id: tenant-member',
      `    storage: "${dir}"`,
      '    master: platform-tenant',
      '    acl: notify-tenant',
      '    zonefile-sync: -1',
      '    zonefile-load: none',
      '    journal-content: changes',
      'zone:',
      `  - domain: "${FLEET}"`,
      '    master: platform-edge',
      '    acl: notify-unsigned',
      '    catalog-role: interpret',
      '    catalog-template: fleet-member',
      '  - domain: "cat.a.test."',
      '    master: platform-tenant',
      '    acl: notify-tenant',
      '    catalog-role: interpret',
      '    catalog-template: tenant-member',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'knot.conf'), conf);
    // NOTIFY of both catalogs to Knot (ALSO-NOTIFY; the fleet catalog's set by the administrator).
    for (const [k, zone] of [
      [ADMIN, FLEET],
      [a, 'cat.a.test.'],
    ] as const) {
      const r = await call(k, 'PUT', `${PDNS}/zones/${zone}/metadata/ALSO-NOTIFY`, {
        metadata: [`${host}:${port}`],
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    knot = await launch(
      'knot',
      [findCommand('knotd') ?? 'knotd', '-c', join(dir, 'knot.conf')],
      dir,
      host,
      port,
      FLEET,
      {},
    );
    const onKnot = (name: string, type = 1) => answerText(port, name, type);
    // The fleet's members are served by Knot (transferred with the edge key).
    await waitFor(
      'b.test. on Knot',
      async () => (await onKnot('www.b.test.')).startsWith('0 300 192.0.2.1'),
      20_000,
    );
    await waitFor(
      'two.a.test. on Knot',
      async () => (await onKnot('www.two.a.test.')).startsWith('0 '),
      20_000,
    );
    // A zone created through the API appears on Knot and answers.
    await createZone(b, 'new.b.test.', {}, '192.0.2.77');
    await waitFor(
      'new.b.test. on Knot',
      async () => (await onKnot('www.new.b.test.')) === '0 300 192.0.2.77',
      20_000,
    );
    // Deleted: Knot drops it (its names fall to b.test. again: NXDOMAIN).
    assert.equal((await call(b, 'DELETE', `${PDNS}/zones/new.b.test.`)).status, 204);
    await waitFor(
      'new.b.test. gone from Knot',
      async () => (await onKnot('www.new.b.test.')).startsWith('3 '),
      20_000,
    );
    assert.match(await onKnot('new.b.test.', 6), /^3 /);
    // Re-created with other data: a new member id, Knot serves the new data.
    await createZone(b, 'new.b.test.', {}, '192.0.2.88');
    await waitFor(
      'new.b.test. back on Knot',
      async () => (await onKnot('www.new.b.test.')) === '0 300 192.0.2.88',
      20_000,
    );
    // The tenant's catalog: a new member of cat.a.test. (and of the fleet) is served.
    await createZone(
      a,
      'three.a.test.',
      { catalog: 'cat.a.test.', master_tsig_key_ids: ['transfer.'] },
      '192.0.2.33',
    );
    await waitFor(
      'three.a.test. on Knot',
      async () => (await onKnot('www.three.a.test.')) === '0 300 192.0.2.33',
      20_000,
    );
    await waitForText('Knot', knot.output, /catalog/i);
  });

  test('BIND 9 follows the fleet catalog (catalog-zones, edge key): zones appear, disappear, come back', {
    skip: skipUnlessCommands('named'),
  }, async () => {
    const host = '127.0.0.1';
    const port = await findFreePort(host);
    // The fleet catalog's ALSO-NOTIFY: Knot's (if the test before ran) and this BIND.
    const notify = [`${host}:${port}`, ...(knot ? [`${knot.host}:${knot.port}`] : [])];
    const r = await call(ADMIN, 'PUT', `${PDNS}/zones/${FLEET}/metadata/ALSO-NOTIFY`, { metadata: notify });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const bind = await startBindCatalogConsumer({
      catalogs: [FLEET],
      primaryPort: p.dnsPort,
      key: { name: 'edge1', secret: EDGE_SECRET },
      host,
      port,
    });
    try {
      const onBind = (name: string) => answerText(port, name, 1);
      await waitFor(
        'b.test. on BIND',
        async () => (await onBind('www.b.test.')).startsWith('0 300 192.0.2.1'),
        20_000,
      );
      await createZone(b, 'bind.b.test.', {}, '192.0.2.101');
      await waitFor(
        'bind.b.test. on BIND',
        async () => (await onBind('www.bind.b.test.')) === '0 300 192.0.2.101',
        20_000,
      );
      assert.equal((await call(b, 'DELETE', `${PDNS}/zones/bind.b.test.`)).status, 204);
      await waitFor(
        'bind.b.test. gone from BIND',
        async () => (await onBind('www.bind.b.test.')).startsWith('3 '),
        20_000,
      );
      await createZone(b, 'bind.b.test.', {}, '192.0.2.102');
      await waitFor(
        'bind.b.test. back on BIND',
        async () => (await onBind('www.bind.b.test.')) === '0 300 192.0.2.102',
        20_000,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${bind.output().slice(-4000)}`);
    } finally {
      await bind.stop();
    }
  });
});
