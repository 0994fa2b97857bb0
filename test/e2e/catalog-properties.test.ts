/**
 * RFC 9432 properties in the catalogs Switchboard produces (docs/TRANSFERS.md "Catalog zones"),
 * with real consumers:
 *
 * - `group` (§4.4.2): a member's `CATALOG-GROUP` metadata is a `group` TXT in its Producer
 *   catalog; Knot 3.2 (`catalog-role: interpret`, `catalog-template: [default, blue]`) applies
 *   the template named by the group — each template stores its zones in its own folder, so the
 *   member's zone file shows which one Knot chose. Deleted and restored, a member is back in its
 *   catalog under the same unique id, its group kept.
 * - `coo` (§4.4.1): a zone moved from one Producer zone of its account to another stays in the one
 *   it left with `coo` naming the new one, under the same unique id, for the hold
 *   (`SWITCHBOARD_CATALOG_COO_HOLD_MS`, seconds here), then leaves it. BIND 9.18 consuming both
 *   catalogs takes the change of ownership: when the old catalog drops the zone, BIND keeps
 *   serving it (the new catalog owns it).
 * @module
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RRType } from '../../src/wire/constants.js';
import { startBindCatalogConsumer } from '../helpers/catalog-zones.js';
import { answerText, kdigAt } from '../helpers/dns-client.js';
import { kdigRecords } from '../helpers/kdig-records.js';
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
  startPlatform,
  tenantToken,
} from '../helpers/platform.js';
import { waitFor, waitForText } from '../helpers/wait-for.js';

const skip = skipUnlessCommands('kdig', 'knotd', 'named');
const ADMIN = 'sb_e2e_catalog_properties_admin_key_01';
const PDNS = '/api/v1/servers/localhost';
const CAT1 = 'cat1.p.test.';
const CAT2 = 'cat2.p.test.';
const HOLD_MS = 10_000;

/** A catalog's records from a kdig AXFR: `owner type rdata` (names folded, SOA and TSIG left out). */
function records(text: string): string[] {
  return kdigRecords(text)
    .map((l) => l.split(' '))
    .filter((f) => f[2] !== 'SOA')
    .map((f) => `${f[0]} ${f[2]} ${f.slice(3).join(' ').toLowerCase()}`);
}

describe('start: group and coo in the catalogs it produces, Knot and BIND as consumers', { skip }, () => {
  let p: Platform;
  let a: string;
  let key: Json;
  const call = (method: string, path: string, body?: unknown) => callApi(p.api, a, method, path, body);
  const axfr = async (catalog: string) =>
    records(await kdigAt(p.dnsPort, '-y', `hmac-sha256:transfer:${key.key}`, 'AXFR', catalog));
  const createMember = async (name: string, catalog: string, address: string) => {
    const r = await call('POST', `${PDNS}/zones`, {
      name,
      kind: 'Native',
      nameservers: ['ns1.example.net.'],
      catalog,
      master_tsig_key_ids: ['transfer.'],
      rrsets: [
        { name: `www.${name}`, type: 'A', ttl: 300, records: [{ content: address, disabled: false }] },
      ],
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  };
  const alsoNotify = async (zone: string, targets: string[]) => {
    const r = await call('PUT', `${PDNS}/zones/${zone}/metadata/ALSO-NOTIFY`, { metadata: targets });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };

  before(async () => {
    // The coo hold in seconds (tests only; 24 h otherwise).
    process.env.SWITCHBOARD_CATALOG_COO_HOLD_MS = String(HOLD_MS);
    try {
      p = await startPlatform({ apiKey: ADMIN, workers: 1, extraArgs: ['--outbound-allow', '127.0.0.0/8'] });
    } finally {
      delete process.env.SWITCHBOARD_CATALOG_COO_HOLD_MS;
    }
    a = await tenantToken(p.api, ADMIN, 'props-tenant');
    key = (await call('POST', `${PDNS}/tsigkeys`, { name: 'transfer', algorithm: 'hmac-sha256' })).body;
    for (const c of [CAT1, CAT2]) {
      const r = await call('POST', `${PDNS}/zones`, {
        name: c,
        kind: 'Producer',
        nameservers: [],
        master_tsig_key_ids: ['transfer.'],
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
  });
  after(async () => {
    await p?.stop();
    if (p) removeDataDir(p.dataDir);
  });

  test('group: Knot 3.2 applies the catalog template the member’s group names', async (t) => {
    const host = '127.0.0.1';
    const port = await findFreePort(host);
    const dir = mkdtempSync(join(tmpdir(), 'sb-knot-groups-'));
    const plain = join(dir, 'plain');
    const blue = join(dir, 'blue');
    mkdirSync(plain);
    mkdirSync(blue);
    await alsoNotify(CAT1, [`${host}:${port}`]);
    // Refused: groups of a zone in no catalog, and names that are not plain words.
    await call('POST', `${PDNS}/zones`, {
      name: 'free.p.test.',
      kind: 'Native',
      nameservers: ['ns1.example.net.'],
    });
    let r = await call('PUT', `${PDNS}/zones/free.p.test./metadata/CATALOG-GROUP`, { metadata: ['blue'] });
    assert.equal(r.status, 422, JSON.stringify(r.body));
    await createMember('g1.p.test.', CAT1, '192.0.2.41');
    await createMember('g2.p.test.', CAT1, '192.0.2.42');
    r = await call('PUT', `${PDNS}/zones/g2.p.test./metadata/CATALOG-GROUP`, { metadata: ['blue x'] });
    assert.equal(r.status, 422, JSON.stringify(r.body));
    r = await call('PUT', `${PDNS}/zones/g2.p.test./metadata/CATALOG-GROUP`, { metadata: ['blue'] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.metadata, ['blue']);
    r = await call('GET', `${PDNS}/zones/g2.p.test./metadata`);
    assert.ok(
      (r.body as Json[]).some((m) => m.kind === 'CATALOG-GROUP' && JSON.stringify(m.metadata) === '["blue"]'),
      JSON.stringify(r.body),
    );
    // The catalog carries the group as a TXT at group.<id>.zones.
    await waitFor('the group property in the catalog', async () =>
      (await axfr(CAT1)).some((l) => /^group\.[0-9a-f]{20}\.zones\.cat1\.p\.test\. TXT "blue"$/.test(l)),
    );
    const template = (id: string, storage: string) => [
      `  - id: ${id}`,
      `    storage: "${storage}"`,
      '    master: platform',
      '    zonefile-sync: 0',
      '    journal-content: none',
    ];
    const conf = [
      ...knotServerSections(dir, `${host}@${port}`),
      'key:',
      '  - id: transfer',
      '    algorithm: hmac-sha256',
      `    secret: ${key.key}`,
      'remote:',
      '  - id: platform',
      `    address: 127.0.0.1@${p.dnsPort}`,
      '    key: transfer',
      'acl:',
      '  - id: notify',
      '    address: 127.0.0.0/8',
      '    key: transfer',
      '    action: notify',
      'template:',
      '  - id: default',
      `    storage: "${dir}"`,
      '    acl: notify',
      ...template('plain', plain),
      ...template('blue', blue),
      'zone:',
      `  - domain: "${CAT1}"`,
      '    master: platform',
      '    catalog-role: interpret',
      '    catalog-template: [ plain, blue ]',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'knot.conf'), conf);
    const knot: Peer = await launch(
      'knot',
      [findCommand('knotd') ?? 'knotd', '-c', join(dir, 'knot.conf')],
      dir,
      host,
      port,
      CAT1,
      {},
    );
    try {
      const onKnot = (name: string) => answerText(port, name, RRType.A);
      await waitFor(
        'both members served by Knot',
        async () =>
          (await onKnot('www.g1.p.test.')) === '0 300 192.0.2.41' &&
          (await onKnot('www.g2.p.test.')) === '0 300 192.0.2.42',
        30_000,
      );
      // Each template's own folder: g1 (no group) took the first, g2 (group blue) "blue".
      const file = (d: string, zone: string) =>
        [`${zone}zone`, `${zone.slice(0, -1)}.zone`].some((f) => existsSync(join(d, f)));
      await waitFor(
        'the zone files written',
        async () => file(plain, 'g1.p.test.') && file(blue, 'g2.p.test.'),
      );
      assert.equal(file(blue, 'g1.p.test.'), false);
      assert.equal(file(plain, 'g2.p.test.'), false);
      t.diagnostic('Knot stored g1 with template plain, g2 (group "blue") with template blue');
      // Deleted and restored (deleted.ts): back in its catalog under the same id, its group kept.
      const listed = (await axfr(CAT1)).filter((l) => l.includes('g2.p.test.') || l.includes('"blue"'));
      const g2 = await call('GET', '/api/v1/zones/g2.p.test.');
      assert.equal((await call('DELETE', `${PDNS}/zones/g2.p.test.`)).status, 204);
      await waitFor(
        'g2 gone from the catalog',
        async () => !(await axfr(CAT1)).some((l) => l.includes('g2.p.test.')),
      );
      const back = await call('POST', `/api/v1/deleted-zones/${g2.body.id}/restore`, {});
      assert.ok(back.status === 200 || back.status === 201, JSON.stringify(back.body));
      await waitFor('g2 back in the catalog, same id and group', async () => {
        const now = (await axfr(CAT1)).filter((l) => l.includes('g2.p.test.') || l.includes('"blue"'));
        return JSON.stringify(now) === JSON.stringify(listed);
      });
      assert.equal(listed.length, 2, listed.join('\n'));
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${knot.output().slice(-3000)}`);
    } finally {
      await knot.stop();
    }
  });

  test('coo: a zone moved between Producer zones; BIND 9 takes the change of ownership', async (t) => {
    const host = '127.0.0.1';
    const port = await findFreePort(host);
    for (const c of [CAT1, CAT2]) await alsoNotify(c, [`${host}:${port}`]);
    await createMember('mv.p.test.', CAT1, '192.0.2.51');
    const bind = await startBindCatalogConsumer({
      catalogs: [CAT1, CAT2],
      primaryPort: p.dnsPort,
      key: { name: 'transfer', secret: key.key },
      host,
      port,
    });
    try {
      const onBind = () => answerText(port, 'www.mv.p.test.', RRType.A);
      // A catalog's serial on BIND, and here (signed: a catalog's queries are REFUSED otherwise).
      const soa = async (at: number, zone: string) =>
        at === port
          ? (await answerText(at, zone, RRType.SOA)).split(' ')[4]
          : (await kdigAt(at, '-y', `hmac-sha256:transfer:${key.key}`, 'SOA', zone, '+short'))
              .trim()
              .split(/\s+/)[2];
      /** BIND holds both catalogs' versions served here. */
      const bindHasCatalogs = async () =>
        (await soa(port, CAT1)) === (await soa(p.dnsPort, CAT1)) &&
        (await soa(port, CAT2)) === (await soa(p.dnsPort, CAT2));
      await waitFor('mv.p.test. served by BIND', async () => (await onBind()) === '0 300 192.0.2.51', 30_000);
      // BIND applies a catalog's new version at most once per min-update-interval (1 s) and
      // defers a newer one: had the first catalog's coo version been deferred (the member added
      // less than 1 s before), BIND would see the second catalog's entry first and refuse it
      // ("another catalog zone already contains an entry") for good — seen at load 15. So the
      // move waits until BIND holds both catalogs' current versions, and 1.5 s more.
      await waitFor('BIND has both catalogs as served here', bindHasCatalogs, 20_000);
      await new Promise((r) => setTimeout(r, 1500));
      const before = await axfr(CAT1);
      const ptr = before.find((l) => l.endsWith(' PTR mv.p.test.'));
      assert.ok(ptr, before.join('\n'));
      const id = ptr.split('.')[0];
      // Moved to the second catalog: the same id there; coo in the first.
      const moved = await call('PUT', `${PDNS}/zones/mv.p.test.`, { catalog: CAT2 });
      assert.equal(moved.status, 204, JSON.stringify(moved.body));
      const movedAt = Date.now();
      await waitFor('coo in the first catalog, the member in the second', async () => {
        const c1 = await axfr(CAT1);
        const c2 = await axfr(CAT2);
        return (
          c1.includes(`coo.${id}.zones.${CAT1} PTR ${CAT2}`) &&
          c1.includes(`${id}.zones.${CAT1} PTR mv.p.test.`) &&
          c2.includes(`${id}.zones.${CAT2} PTR mv.p.test.`)
        );
      });
      // BIND sees both catalogs (NOTIFY) and moves the zone to the second.
      await waitFor('BIND has both catalogs’ new versions', bindHasCatalogs, 20_000);
      // The hold ends: the first catalog drops the zone (PTR and coo).
      await waitFor(
        'the zone gone from the first catalog',
        async () => !(await axfr(CAT1)).some((l) => l.includes(id)),
        HOLD_MS + 20_000,
      );
      t.diagnostic(
        `moved → gone from the first catalog ${Date.now() - movedAt} ms later (hold ${HOLD_MS} ms)`,
      );
      assert.ok((await axfr(CAT2)).includes(`${id}.zones.${CAT2} PTR mv.p.test.`));
      await waitFor(
        'BIND has the first catalog without the zone',
        async () => (await soa(port, CAT1)) === (await soa(p.dnsPort, CAT1)),
        20_000,
      );
      // BIND keeps serving it: the second catalog owns it now (without coo BIND would drop it).
      const until = Date.now() + 4000;
      while (Date.now() < until) {
        assert.equal(await onBind(), '0 300 192.0.2.51', bind.output().slice(-3000));
        await new Promise((r) => setTimeout(r, 250));
      }
      // BIND's log: the zone left the first catalog's ownership for the second's at the move
      // (coo), not when the first dropped it.
      await waitForText('BIND', bind.output, /adding zone 'mv\.p\.test' from catalog 'cat2\.p\.test'/);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${bind.output().slice(-4000)}`);
    } finally {
      await bind.stop();
    }
  });
});
