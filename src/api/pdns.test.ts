import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends, openTestApi, type Tenant, type TestApi } from '../../test/helpers/api-harness.js';
import { zoneIdOfName, zoneNameOfId } from './names.js';
import { changesOfPdnsRRsets } from './pdns/mapping.js';

/**
 * The JSON shapes PowerDNS Authoritative 4.7.3 (Debian 12, gsqlite3 backend) sent for the same
 * requests, written down by hand from what it answered: key → JSON type, arrays by their
 * element. Keys Switchboard adds would break clients that decode strictly, keys it lacks would
 * break clients that read them, so the shapes must be equal.
 */
const observed = {
  apiVersions: [{ url: 'string', version: 'number' }],
  server: {
    autoprimaries_url: 'string',
    config_url: 'string',
    daemon_type: 'string',
    id: 'string',
    type: 'string',
    url: 'string',
    version: 'string',
    zones_url: 'string',
  },
  zoneListEntry: {
    account: 'string',
    catalog: 'string',
    dnssec: 'boolean',
    edited_serial: 'number',
    id: 'string',
    kind: 'string',
    last_check: 'number',
    masters: [],
    name: 'string',
    notified_serial: 'number',
    serial: 'number',
    url: 'string',
  },
  rrset: {
    comments: [],
    name: 'string',
    records: [{ content: 'string', disabled: 'boolean' }],
    ttl: 'number',
    type: 'string',
  },
  notify: { result: 'string' },
  error: { error: 'string' },
} as const;

/** A zone as `GET /zones/{id}` and `POST /zones` show it (without `rrsets` when `?rrsets=false`). */
const observedZoneKeys = [
  'account',
  'api_rectify',
  'catalog',
  'dnssec',
  'edited_serial',
  'id',
  'kind',
  'last_check',
  'master_tsig_key_ids',
  'masters',
  'name',
  'notified_serial',
  'nsec3narrow',
  'nsec3param',
  'rrsets',
  'serial',
  'slave_tsig_key_ids',
  'soa_edit',
  'soa_edit_api',
  'url',
];

/** The shape of a JSON value: objects by key, arrays by their first element, scalars by type. */
function shapeOf(v: unknown): unknown {
  if (Array.isArray(v)) return v.length === 0 ? [] : [shapeOf(v[0])];
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shapeOf(x)]));
  }
  return v === null ? 'null' : typeof v;
}

/** Shape of the subset of keys of `expected` (for error bodies, which may carry more). */
function shapeOfKeys(v: Record<string, unknown>, expected: Record<string, unknown>): unknown {
  return shapeOf(Object.fromEntries(Object.keys(expected).map((k) => [k, v[k]])));
}

const Z = '/api/v1/servers/localhost/zones';

for (const { name: backend, skip } of backends) {
  describe(`PowerDNS-compatible API (${backend})`, { skip }, () => {
    let api: TestApi;
    let t: Tenant;
    before(async () => {
      api = await openTestApi(backend);
      t = await api.tenant('pdns');
    });
    after(async () => {
      await api.close();
    });

    test('discovery: /api, /api/v1, /servers, /servers/localhost', async () => {
      const v = await api.req('GET', '/api', { key: null });
      assert.equal(v.status, 200);
      assert.deepEqual(v.json, [{ url: '/api/v1', version: 1 }]);
      assert.deepEqual(shapeOf(v.json), observed.apiVersions);
      const features = await api.req('GET', '/api/v1', { key: t.key });
      assert.deepEqual(features.json, [{ api_features: [], server_url: '/api/v1/servers{/server}' }]);
      const list = await api.req('GET', '/api/v1/servers', { key: t.key });
      assert.equal(list.status, 200);
      assert.deepEqual(shapeOf(list.json), [observed.server]);
      const s = await api.req('GET', '/api/v1/servers/localhost', { key: t.key });
      assert.deepEqual(shapeOf(s.json), observed.server);
      assert.equal(s.json.type, 'Server');
      assert.equal(s.json.id, 'localhost');
      assert.equal(s.json.daemon_type, 'authoritative');
      assert.equal(s.json.url, '/api/v1/servers/localhost');
      assert.equal(s.json.zones_url, '/api/v1/servers/localhost/zones{/zone}');
      assert.equal(s.json.config_url, '/api/v1/servers/localhost/config{/config_setting}');
      // octoDNS reads the first three dot-separated numbers (before any '-') of the version.
      const parts = String(s.json.version)
        .split('.')
        .slice(0, 3)
        .map((p) => Number(p.split('-')[0]));
      assert.ok(parts[0] >= 4 && parts[1] >= 3, s.json.version);
      assert.equal((await api.req('GET', '/api/v1/servers', { key: null })).status, 401);
      assert.equal((await api.req('GET', '/api/v1/servers/localhost', { key: 'wrong' })).status, 401);
      const stats = await api.req('GET', '/api/v1/servers/localhost/statistics', { key: t.key });
      assert.ok(Array.isArray(stats.json));
      assert.deepEqual(
        (await api.req('GET', '/api/v1/servers/localhost/autoprimaries', { key: t.key })).json,
        [],
      );
      const config = await api.req('GET', '/api/v1/servers/localhost/config', { key: t.key });
      assert.ok(Array.isArray(config.json));
      for (const c of config.json) assert.deepEqual(Object.keys(c).sort(), ['name', 'type', 'value']);
    });

    test('POST creates a zone: 201 with the Zone object and its rrsets', async () => {
      const r = await api.req('POST', Z, {
        key: t.key,
        body: {
          name: 'pdns-create.test.',
          kind: 'Native',
          masters: [],
          nameservers: ['ns1.example.net.', 'ns2.example.net.'],
          soa_edit_api: 'INCEPTION-INCREMENT',
          serial: 0,
          rrsets: [
            {
              name: 'www.pdns-create.test.',
              type: 'A',
              ttl: 300,
              changetype: 'REPLACE',
              records: [
                { content: '192.0.2.1', disabled: false },
                { content: '192.0.2.2', disabled: true },
              ],
            },
          ],
        },
      });
      assert.equal(r.status, 201, r.text);
      assert.deepEqual(Object.keys(r.json).sort(), observedZoneKeys);
      assert.equal(r.json.id, 'pdns-create.test.');
      assert.equal(r.json.name, 'pdns-create.test.');
      assert.equal(r.json.kind, 'Native');
      assert.equal(r.json.url, '/api/v1/servers/localhost/zones/pdns-create.test.');
      assert.equal(r.json.dnssec, false);
      for (const rr of r.json.rrsets) assert.deepEqual(shapeOf(rr), observed.rrset);
      const www = r.json.rrsets.find((x: { name: string }) => x.name === 'www.pdns-create.test.');
      assert.deepEqual(www.records, [
        { content: '192.0.2.1', disabled: false },
        { content: '192.0.2.2', disabled: true },
      ]);
      const ns = r.json.rrsets.find((x: { type: string }) => x.type === 'NS');
      assert.deepEqual(ns.records.map((x: { content: string }) => x.content).sort(), [
        'ns1.example.net.',
        'ns2.example.net.',
      ]);
      assert.ok(r.json.rrsets.some((x: { type: string }) => x.type === 'SOA'));

      const again = await api.req('POST', Z, {
        key: t.key,
        body: { name: 'pdns-create.test.', kind: 'Native', nameservers: ['ns1.example.net.'] },
      });
      assert.equal(again.status, 409);
      assert.deepEqual(shapeOfKeys(again.json, observed.error), observed.error);

      const noRRsets = await api.req('POST', `${Z}?rrsets=false`, {
        key: t.key,
        body: { name: 'pdns-create2.test', kind: 'Master', nameservers: ['ns1.example.net.'] },
      });
      assert.equal(noRRsets.status, 201, noRRsets.text);
      assert.deepEqual(
        Object.keys(noRRsets.json).sort(),
        observedZoneKeys.filter((k) => k !== 'rrsets'),
      );
      assert.equal(noRRsets.json.name, 'pdns-create2.test.');
    });

    test('POST: bad input is 422 {"error"}; unsupported kinds are refused', async () => {
      const cases: unknown[] = [
        {
          name: 'bad1.test.',
          rrsets: [{ name: 'x.bad1.test.', type: 'A', records: [{ content: '192.0.2.1' }] }],
        }, // no ttl
        {
          name: 'bad2.test.',
          rrsets: [{ name: 'x.bad2.test.', type: 'A', ttl: 1, records: [{ content: '1.2.3' }] }],
        },
        { name: 'bad3.test.', kind: 'Slave', masters: ['192.0.2.53'] },
        { name: 'bad4.test.', dnssec: true },
        { kind: 'Native' },
        { name: 'bad5.test.', kind: 'Consumer', nameservers: ['ns1.example.net.'] },
        // A catalog zone's records are generated: none may be given.
        {
          name: 'bad6.test.',
          kind: 'Producer',
          rrsets: [{ name: 'x.bad6.test.', type: 'A', ttl: 1, records: [{ content: '192.0.2.1' }] }],
        },
        { name: 'bad7.test.', kind: 'Hybrid', nameservers: ['ns1.example.net.'] },
        { name: 'bad8.test.', kind: 'Native', masters: ['192.0.2.53'], nameservers: ['ns1.example.net.'] },
        { name: 'bad9.test.', soa_edit_api: 'two words', nameservers: ['ns1.example.net.'] },
      ];
      for (const body of cases) {
        const r = await api.req('POST', Z, { key: t.key, body });
        assert.equal(r.status, 422, `${JSON.stringify(body)}: ${r.text}`);
        assert.deepEqual(shapeOfKeys(r.json, observed.error), observed.error);
      }
      // A Slave zone's masters are checked against the operator's outbound policy (192.0.2.0/24,
      // documentation, is refused by default); a Native zone takes no masters.
      const slave = await api.req('POST', Z, { key: t.key, body: cases[2] });
      assert.equal(slave.json.field, 'masters[0]');
      assert.match(slave.json.error, /documentation.*--outbound-allow/);
      const native = await api.req('POST', Z, { key: t.key, body: cases[8] });
      assert.equal(native.json.field, 'masters');
      const soa = await api.req('POST', Z, { key: t.key, body: cases[9] });
      assert.equal(soa.json.field, 'soa_edit_api');
      const list = await api.req('GET', Z, { key: t.key });
      assert.ok(!list.json.some((z: { name: string }) => z.name.startsWith('bad')));
    });

    test("an administrator's POST puts the zone in the account named by `account`", async () => {
      const r = await api.req('POST', Z, {
        body: {
          name: 'owned.test.',
          kind: 'Native',
          account: t.accountId,
          nameservers: ['ns1.example.net.'],
        },
      });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.account, t.accountId);
      const seen = await api.req('GET', `${Z}/owned.test.`, { key: t.key });
      assert.equal(seen.status, 200);
      assert.equal(seen.json.account, t.accountId);
      const native = await api.req('GET', '/api/v1/zones/owned.test', { key: t.key });
      assert.equal(native.json.accountId, t.accountId);
      // A label that is no account's id is only a label: the zone goes to the default account.
      const labelled = await api.req('POST', Z, {
        body: { name: 'labelled.test.', kind: 'Native', account: 'admin', nameservers: ['ns1.example.net.'] },
      });
      assert.equal(labelled.status, 201, labelled.text);
      assert.equal(labelled.json.account, 'admin');
      assert.equal((await api.req('GET', `${Z}/labelled.test.`, { key: t.key })).status, 404);
      // A tenant's `account` is only a label: its zones stay in its own account.
      const other = await api.tenant('pdns-other');
      const own = await api.req('POST', Z, {
        key: other.key,
        body: { name: 'mine.test.', kind: 'Native', account: t.accountId, nameservers: ['ns1.example.net.'] },
      });
      assert.equal(own.status, 201, own.text);
      assert.equal(own.json.account, t.accountId);
      assert.equal((await api.req('GET', `${Z}/mine.test.`, { key: t.key })).status, 404);
      const mine = await api.req('GET', '/api/v1/zones/mine.test', { key: other.key });
      assert.equal(mine.json.accountId, other.accountId);
    });

    test('kind, soa_edit_api and account set on POST are what GET and the list show', async () => {
      const r = await api.req('POST', Z, {
        key: t.key,
        body: {
          name: 'kind-master.test.',
          kind: 'Master',
          masters: [],
          account: 'team blue',
          soa_edit_api: 'INCEPTION-INCREMENT',
          nameservers: ['ns1.example.net.'],
        },
      });
      assert.equal(r.status, 201, r.text);
      const expect = {
        kind: 'Master',
        account: 'team blue',
        soa_edit_api: 'INCEPTION-INCREMENT',
        masters: [],
      };
      const pick = (z: Record<string, unknown>) =>
        Object.fromEntries(Object.keys(expect).map((k) => [k, z[k]]));
      assert.deepEqual(pick(r.json), expect);
      const g = await api.req('GET', `${Z}/kind-master.test.`, { key: t.key });
      assert.deepEqual(pick(g.json), expect);
      assert.deepEqual(Object.keys(g.json).sort(), observedZoneKeys);
      // A Master zone has nothing left to notify: notified_serial is the serial.
      assert.equal(g.json.edited_serial, g.json.serial);
      assert.equal(g.json.notified_serial, g.json.serial);
      const listed = (await api.req('GET', Z, { key: t.key })).json.find(
        (z: { name: string }) => z.name === 'kind-master.test.',
      );
      assert.deepEqual(shapeOf(listed), observed.zoneListEntry);
      assert.equal(listed.kind, 'Master');
      assert.equal(listed.account, 'team blue');
      assert.equal(listed.notified_serial, listed.serial);
      const one = await api.req('GET', `${Z}?zone=kind-master.test`, { key: t.key });
      assert.equal(one.json[0].kind, 'Master');
      assert.deepEqual((await api.req('GET', `${Z}/kind-master.test./metadata`, { key: t.key })).json, [
        { kind: 'SOA-EDIT-API', metadata: ['INCEPTION-INCREMENT'], type: 'Metadata' },
      ]);

      // Kinds in any case, Primary for Master; without settings, PowerDNS's defaults.
      const spellings: [string | undefined, string][] = [
        ['native', 'Native'],
        ['PRIMARY', 'Master'],
        ['master', 'Master'],
        [undefined, 'Native'],
      ];
      for (const [i, [kind, want]] of spellings.entries()) {
        const c = await api.req('POST', Z, {
          key: t.key,
          body: { name: `kind${i}.test`, ...(kind ? { kind } : {}), nameservers: ['ns1.example.net.'] },
        });
        assert.equal(c.status, 201, c.text);
        assert.equal(c.json.kind, want, String(kind));
      }
      const plain = await api.req('GET', `${Z}/kind3.test.`, { key: t.key });
      assert.equal(plain.json.soa_edit_api, 'DEFAULT');
      assert.equal(plain.json.account, '');
      // A Native zone is never notified (as in PowerDNS).
      assert.equal(plain.json.notified_serial, 0);
      assert.equal(plain.json.edited_serial, plain.json.serial);

      // Terraform's provider sends every field, empty ones as "": kept as sent, as PowerDNS does.
      const tf = await api.req('POST', Z, {
        key: t.key,
        body: {
          id: '',
          name: 'terraform.test.',
          url: '',
          kind: 'Master',
          dnsssec: false,
          serial: 0,
          account: '',
          nameservers: ['ns1.example.net.', 'ns2.example.net.'],
          soa_edit_api: '',
        },
      });
      assert.equal(tf.status, 201, tf.text);
      assert.equal(tf.json.soa_edit_api, '');
      assert.equal(tf.json.account, '');
      assert.equal(tf.json.kind, 'Master');
      // PowerDNS 4.7 keeps the empty value as the zone's SOA-EDIT-API entry.
      assert.deepEqual((await api.req('GET', `${Z}/terraform.test./metadata`, { key: t.key })).json, [
        { kind: 'SOA-EDIT-API', metadata: [''], type: 'Metadata' },
      ]);
    });

    test('PRESIGNED: shown when the zone carries a DNSKEY and RRSIGs, read-only (as PowerDNS)', async () => {
      const name = 'presigned.test.';
      const c = await api.req('POST', Z, {
        key: t.key,
        body: { name, kind: 'Native', nameservers: ['ns1.example.net.'] },
      });
      assert.equal(c.status, 201, c.text);
      const kind = `${Z}/${name}/metadata/PRESIGNED`;
      assert.deepEqual((await api.req('GET', kind, { key: t.key })).json.metadata, []);
      const sig = `DNSKEY 13 2 3600 20300101000000 20200101000000 1 ${name} ${'A'.repeat(86)}==`;
      const patch = await api.req('PATCH', `${Z}/${name}`, {
        key: t.key,
        body: {
          rrsets: [
            {
              name,
              type: 'DNSKEY',
              ttl: 3600,
              changetype: 'REPLACE',
              records: [{ content: `257 3 13 ${Buffer.alloc(64, 7).toString('base64')}`, disabled: false }],
            },
            {
              name,
              type: 'RRSIG',
              ttl: 3600,
              changetype: 'REPLACE',
              records: [{ content: sig, disabled: false }],
            },
          ],
        },
      });
      assert.equal(patch.status, 204, patch.text);
      assert.deepEqual((await api.req('GET', kind, { key: t.key })).json.metadata, ['1']);
      const all = (await api.req('GET', `${Z}/${name}/metadata`, { key: t.key })).json as { kind: string }[];
      assert.ok(all.some((m) => m.kind === 'PRESIGNED'));
      const put = await api.req('PUT', kind, { key: t.key, body: { metadata: ['0'] } });
      assert.equal(put.status, 422);
      assert.match(put.json.error, /Unsupported metadata kind 'PRESIGNED'/);
      const post = await api.req('POST', `${Z}/${name}/metadata`, {
        key: t.key,
        body: { kind: 'PRESIGNED', metadata: ['1'] },
      });
      assert.equal(post.status, 422);
    });

    test('PUT changes kind, soa_edit_api and account: GET shows them, no new version, one audit row', async () => {
      await api.req('POST', Z, {
        key: t.key,
        body: { name: 'put.test.', kind: 'Native', nameservers: ['ns1.example.net.'] },
      });
      const nativeBefore = await api.req('GET', '/api/v1/zones/put.test', { key: t.key });
      assert.equal(nativeBefore.headers.etag, '"1"');
      const metadataAudit = async () =>
        (await api.req('GET', '/api/v1/audit?limit=1000', { key: t.key })).json.items.filter(
          (e: { action: string; target: string }) => e.action === 'zone.metadata' && e.target === 'put.test.',
        );

      const put = await api.req('PUT', `${Z}/put.test.`, {
        key: t.key,
        body: { kind: 'Master', soa_edit_api: 'INCREASE', nameservers: ['ns9.example.net.'] },
      });
      assert.equal(put.status, 204, put.text);
      assert.equal(put.text, '');
      const g = await api.req('GET', `${Z}/put.test.`, { key: t.key });
      assert.equal(g.json.kind, 'Master');
      assert.equal(g.json.soa_edit_api, 'INCREASE');
      assert.equal(g.json.account, '', 'a setting left out stays');
      // Not a content change: same version (ETag), serial and records; nameservers are create-only.
      const nativeAfter = await api.req('GET', '/api/v1/zones/put.test', { key: t.key });
      assert.equal(nativeAfter.headers.etag, '"1"');
      assert.equal(nativeAfter.json.serial, nativeBefore.json.serial);
      assert.deepEqual(nativeAfter.json.rrsets, nativeBefore.json.rrsets);
      assert.equal(
        (await api.req('GET', '/api/v1/zones/put.test/versions', { key: t.key })).json.items.length,
        1,
      );
      const audit = await metadataAudit();
      assert.equal(audit.length, 1);
      assert.deepEqual(audit[0].detail.changes, {
        kind: { from: 'Native', to: 'Master' },
        soaEditApi: { from: 'DEFAULT', to: 'INCREASE' },
      });

      // Terraform's UpdateZone: the whole struct, empty strings included (PowerDNS sets them).
      const tf = await api.req('PUT', `${Z}/put.test.`, {
        key: t.key,
        body: {
          id: '',
          name: '',
          url: '',
          kind: 'Native',
          dnsssec: false,
          serial: 0,
          account: '',
          soa_edit_api: '',
        },
      });
      assert.equal(tf.status, 204, tf.text);
      const g2 = await api.req('GET', `${Z}/put.test.`, { key: t.key });
      assert.deepEqual([g2.json.kind, g2.json.soa_edit_api, g2.json.account], ['Native', '', '']);
      assert.equal((await metadataAudit()).length, 2);
      // The same settings again, null settings, an empty body: nothing changes, no audit row.
      for (const body of [
        { kind: 'Native', soa_edit_api: '' },
        { kind: null, account: null, soa_edit_api: null },
        '',
        {},
      ]) {
        const r = await api.req('PUT', `${Z}/put.test.`, {
          key: t.key,
          body,
          headers: { 'content-type': 'application/json' },
        });
        assert.equal(r.status, 204, `${JSON.stringify(body)}: ${r.text}`);
      }
      assert.equal((await metadataAudit()).length, 2);

      // Refused: 422 with the field, nothing changed.
      const refusals: [Record<string, unknown>, string][] = [
        [{ kind: 'Slave', masters: ['192.0.2.53'] }, 'masters[0]'],
        [{ kind: 'Slave' }, 'masters'],
        [{ kind: 'Consumer' }, 'kind'],
        [{ masters: ['192.0.2.53'] }, 'masters[0]'],
        [{ dnssec: true }, 'dnssec'],
        [{ soa_edit_api: 'not a word' }, 'soa_edit_api'],
        [{ kind: 'Master', account: 'x'.repeat(300) }, 'account'],
        [{ kind: 5 }, 'kind'],
      ];
      for (const [body, field] of refusals) {
        const r = await api.req('PUT', `${Z}/put.test.`, { key: t.key, body });
        assert.equal(r.status, 422, `${JSON.stringify(body)}: ${r.text}`);
        assert.deepEqual(shapeOfKeys(r.json, observed.error), observed.error);
        assert.equal(r.json.field, field, JSON.stringify(body));
      }
      const g3 = await api.req('GET', `${Z}/put.test.`, { key: t.key });
      assert.deepEqual([g3.json.kind, g3.json.soa_edit_api, g3.json.account], ['Native', '', '']);
      assert.equal((await metadataAudit()).length, 2);

      // A read-only key may not (403, even with bad settings); an absent zone is 404 first.
      for (const body of [{ kind: 'Master' }, { masters: ['192.0.2.53'] }]) {
        assert.equal((await api.req('PUT', `${Z}/put.test.`, { key: t.readKey, body })).status, 403);
        assert.equal((await api.req('PUT', `${Z}/absent.test.`, { key: t.key, body })).status, 404);
      }
      // Another tenant's zone is not found, whatever the body.
      const other = await api.tenant('pdns-put-other');
      for (const body of [{ kind: 'Master' }, { kind: 'Slave' }, { masters: ['192.0.2.53'] }]) {
        assert.equal((await api.req('PUT', `${Z}/put.test.`, { key: other.key, body })).status, 404);
      }
      const g4 = await api.req('GET', `${Z}/put.test.`, { key: t.key });
      assert.equal(g4.json.kind, 'Native');
    });

    test('a taken name is 409 before anything else in the body is looked at, as in PowerDNS', async () => {
      const ns = ['ns1.example.net.'];
      const created = await api.req('POST', Z, {
        key: t.key,
        body: { name: 'taken.test.', nameservers: ns },
      });
      assert.equal(created.status, 201, created.text);
      const bad: Record<string, unknown>[] = [
        { rrsets: [{ name: 'x.taken.test.', type: 'A', records: [{ content: '192.0.2.1' }] }] }, // no ttl
        { rrsets: [{ name: 'x.taken.test.', type: 'A', ttl: 60, records: [{ content: '1.2.3' }] }] },
        { kind: 'Slave', masters: ['192.0.2.53'] },
        { kind: 'Bogus' },
        { dnssec: true },
        { soa_edit_api: 'not a word' },
        {
          zone: 'not a zone file',
          rrsets: [{ name: 'taken.test.', type: 'A', ttl: 1, records: [{ content: '192.0.2.1' }] }],
        },
        { zone: 'not a zone file' },
      ];
      const other = await api.tenant('pdns-taken-other');
      // The owner, another tenant and the administrator: a taken name is taken, whoever holds it.
      for (const key of [t.key, other.key, api.admin]) {
        for (const extra of bad) {
          const r = await api.req('POST', Z, {
            key,
            body: { name: 'taken.test', nameservers: ns, ...extra },
          });
          assert.equal(r.status, 409, `${JSON.stringify(extra)}: ${r.text}`);
          assert.deepEqual(shapeOfKeys(r.json, observed.error), observed.error);
        }
      }
      // The native API answers in the same order.
      const native = await api.req('POST', '/api/v1/zones', {
        key: t.key,
        body: {
          name: 'taken.test',
          rrsets: [{ name: 'x.taken.test.', type: 'A', ttl: 1, records: [{ content: '1.2.3' }] }],
        },
      });
      assert.equal(native.status, 409, native.text);
      // Nothing changed.
      const g = await api.req('GET', `${Z}/taken.test.`, { key: t.key });
      assert.deepEqual(g.json.rrsets, created.json.rrsets);
      assert.equal(g.json.kind, 'Native');
      // A read-only key is refused first.
      const ro = await api.req('POST', Z, { key: t.readKey, body: { name: 'taken.test', kind: 'Slave' } });
      assert.equal(ro.status, 403, ro.text);
    });

    test('GET lists zones and filters by ?zone=', async () => {
      await api.req('POST', Z, {
        key: t.key,
        body: { name: 'list.test.', kind: 'Native', nameservers: ['ns1.example.net.'] },
      });
      const l = await api.req('GET', Z, { key: t.key });
      assert.equal(l.status, 200);
      assert.ok(Array.isArray(l.json));
      const entry = l.json.find((z: { name: string }) => z.name === 'list.test.');
      assert.deepEqual(shapeOf(entry), observed.zoneListEntry);
      assert.equal(entry.url, '/api/v1/servers/localhost/zones/list.test.');
      for (const q of ['list.test.', 'list.test', 'LIST.test.']) {
        const f = await api.req('GET', `${Z}?zone=${q}`, { key: t.key });
        assert.equal(f.status, 200);
        assert.deepEqual(
          f.json.map((z: { name: string }) => z.name),
          ['list.test.'],
          q,
        );
      }
      assert.deepEqual((await api.req('GET', `${Z}?zone=absent.test.`, { key: t.key })).json, []);
      assert.equal((await api.req('GET', `${Z}?zone=list.test.&dnssec=false`, { key: t.key })).status, 200);
    });

    test('GET one zone: shapes, ?rrsets=false, rrset_name/rrset_type, 404 {"error"}', async () => {
      await api.req('POST', Z, {
        key: t.key,
        body: {
          name: 'get.test.',
          kind: 'Native',
          nameservers: ['ns1.example.net.'],
          rrsets: [
            {
              name: 'www.get.test.',
              type: 'A',
              ttl: 60,
              records: [{ content: '192.0.2.5', disabled: false }],
            },
          ],
        },
      });
      for (const id of ['get.test.', 'get.test']) {
        const g = await api.req('GET', `${Z}/${id}`, { key: t.key });
        assert.equal(g.status, 200);
        assert.deepEqual(Object.keys(g.json).sort(), observedZoneKeys);
        assert.equal(g.json.id, 'get.test.');
        for (const rr of g.json.rrsets) assert.deepEqual(shapeOf(rr), observed.rrset);
      }
      const bare = await api.req('GET', `${Z}/get.test.?rrsets=false`, { key: t.key });
      assert.equal(bare.json.rrsets, undefined);
      const f = await api.req('GET', `${Z}/get.test.?rrset_name=www.get.test.&rrset_type=A`, { key: t.key });
      assert.deepEqual(f.json.rrsets, [
        {
          comments: [],
          name: 'www.get.test.',
          records: [{ content: '192.0.2.5', disabled: false }],
          ttl: 60,
          type: 'A',
        },
      ]);
      const missing = await api.req('GET', `${Z}/absent.test.`, { key: t.key });
      assert.equal(missing.status, 404);
      assert.deepEqual(shapeOfKeys(missing.json, observed.error), observed.error);
    });

    test('PATCH REPLACE / DELETE / EXTEND / PRUNE → 204, as lego, external-dns and octoDNS send them', async () => {
      await api.req('POST', Z, {
        key: t.key,
        body: { name: 'patch.test.', kind: 'Native', nameservers: ['ns1.example.net.'] },
      });
      const get = async () => (await api.req('GET', `${Z}/patch.test.`, { key: t.key })).json;
      const rrset = async (name: string, type: string) =>
        (await get()).rrsets.find((r: { name: string; type: string }) => r.name === name && r.type === type);
      const before1 = await get();

      // lego's Present: an extra `kind` on the RRset and pre-v1 fields on the record.
      const lego = await api.req('PATCH', `${Z}/patch.test.`, {
        key: t.key,
        body: {
          rrsets: [
            {
              name: '_acme-challenge.patch.test.',
              type: 'TXT',
              kind: 'Master',
              changetype: 'REPLACE',
              ttl: 120,
              records: [
                {
                  content: '"token-1"',
                  disabled: false,
                  name: '_acme-challenge.patch.test.',
                  type: 'TXT',
                  ttl: 120,
                },
              ],
            },
          ],
        },
      });
      assert.equal(lego.status, 204, lego.text);
      assert.equal(lego.text, '');
      const txt = await rrset('_acme-challenge.patch.test.', 'TXT');
      assert.deepEqual(txt.records, [{ content: '"token-1"', disabled: false }]);
      assert.equal(txt.ttl, 120);
      const after1 = await get();
      assert.notEqual(after1.serial, before1.serial);

      // external-dns: a whole Zone object as the body, TTL 0 on DELETE.
      const ext = await api.req('PATCH', `${Z}/patch.test.`, {
        key: t.key,
        body: {
          id: 'patch.test.',
          name: 'patch.test.',
          kind: 'Native',
          rrsets: [
            {
              name: 'app.patch.test.',
              type: 'A',
              ttl: 300,
              changetype: 'REPLACE',
              records: [{ content: '192.0.2.80', disabled: false, 'set-ptr': false }],
              comments: [],
            },
          ],
        },
      });
      assert.equal(ext.status, 204, ext.text);
      assert.equal((await rrset('app.patch.test.', 'A')).ttl, 300);

      // go-powerdns (cert-manager webhooks, DNSControl): zone id without the final dot, nil
      // slices as null, `set-ptr` on records.
      const goAdd = await api.req('PATCH', `${Z}/patch.test`, {
        key: t.key,
        body: {
          rrsets: [
            {
              name: 'go.patch.test.',
              type: 'TXT',
              ttl: 60,
              changetype: 'REPLACE',
              records: [{ content: '"go"', disabled: false, 'set-ptr': false }],
            },
          ],
        },
      });
      assert.equal(goAdd.status, 204, goAdd.text);
      const goDel = await api.req('PATCH', `${Z}/patch.test`, {
        key: t.key,
        body: { rrsets: [{ name: 'go.patch.test.', type: 'TXT', changetype: 'DELETE', records: null }] },
      });
      assert.equal(goDel.status, 204, goDel.text);
      assert.equal(await rrset('go.patch.test.', 'TXT'), undefined);

      // EXTEND adds, PRUNE removes records (PowerDNS 5).
      const extend = await api.req('PATCH', `${Z}/patch.test.`, {
        key: t.key,
        body: {
          rrsets: [
            {
              name: 'app.patch.test.',
              type: 'A',
              ttl: 300,
              changetype: 'EXTEND',
              records: [{ content: '192.0.2.81' }],
            },
          ],
        },
      });
      assert.equal(extend.status, 204, extend.text);
      assert.deepEqual(
        (await rrset('app.patch.test.', 'A')).records.map((r: { content: string }) => r.content).sort(),
        ['192.0.2.80', '192.0.2.81'],
      );
      const prune = await api.req('PATCH', `${Z}/patch.test.`, {
        key: t.key,
        body: {
          rrsets: [
            { name: 'app.patch.test.', type: 'A', changetype: 'PRUNE', records: [{ content: '192.0.2.80' }] },
          ],
        },
      });
      assert.equal(prune.status, 204, prune.text);
      assert.deepEqual((await rrset('app.patch.test.', 'A')).records, [
        { content: '192.0.2.81', disabled: false },
      ]);

      // REPLACE with no records removes the RRset (as PowerDNS does); DELETE removes; both tolerate absence.
      const empty = await api.req('PATCH', `${Z}/patch.test.`, {
        key: t.key,
        body: {
          rrsets: [{ name: 'app.patch.test.', type: 'A', ttl: 300, changetype: 'REPLACE', records: [] }],
        },
      });
      assert.equal(empty.status, 204);
      assert.equal(await rrset('app.patch.test.', 'A'), undefined);
      // lego's CleanUp: DELETE with a TTL and no records; octoDNS: DELETE with the old records.
      const del = await api.req('PATCH', `${Z}/patch.test.`, {
        key: t.key,
        body: {
          rrsets: [
            { name: '_acme-challenge.patch.test.', type: 'TXT', changetype: 'DELETE', ttl: 120 },
            {
              name: 'never.patch.test.',
              type: 'A',
              changetype: 'DELETE',
              ttl: 60,
              records: [{ content: '192.0.2.1', disabled: false }],
            },
          ],
        },
      });
      assert.equal(del.status, 204, del.text);
      assert.equal(await rrset('_acme-challenge.patch.test.', 'TXT'), undefined);
      // An empty change list is accepted (PowerDNS: 204) and changes nothing.
      const serial = (await get()).serial;
      assert.equal(
        (await api.req('PATCH', `${Z}/patch.test.`, { key: t.key, body: { rrsets: [] } })).status,
        204,
      );
      assert.equal((await get()).serial, serial);
    });

    test('PATCH: bad input is 422 {"error"} and nothing changes; unknown zone is 404', async () => {
      await api.req('POST', Z, {
        key: t.key,
        body: { name: 'patchbad.test.', kind: 'Native', nameservers: ['ns1.example.net.'] },
      });
      const before1 = (await api.req('GET', `${Z}/patchbad.test.`, { key: t.key })).json;
      const ok = {
        name: 'fine.patchbad.test.',
        type: 'A',
        ttl: 60,
        changetype: 'REPLACE',
        records: [{ content: '192.0.2.1' }],
      };
      const cases: unknown[] = [
        {
          rrsets: [
            ok,
            {
              name: 'www.patchbad.test.',
              type: 'A',
              ttl: 60,
              changetype: 'REPLACE',
              records: [{ content: '1.2.3' }],
            },
          ],
        },
        {
          rrsets: [
            ok,
            {
              name: 'www.example.org.',
              type: 'A',
              ttl: 60,
              changetype: 'REPLACE',
              records: [{ content: '192.0.2.1' }],
            },
          ],
        },
        {
          rrsets: [
            ok,
            {
              name: 'www.patchbad.test.',
              type: 'A',
              changetype: 'REPLACE',
              records: [{ content: '192.0.2.1' }],
            },
          ],
        },
        { rrsets: [ok, { name: 'www.patchbad.test.', type: 'A', ttl: 60, changetype: 'FOO', records: [] }] },
        { rrsets: [ok, { ...ok, records: [{ content: '192.0.2.2' }] }] },
        {
          rrsets: [
            ok,
            {
              name: 'c.patchbad.test.',
              type: 'CNAME',
              ttl: 60,
              changetype: 'REPLACE',
              records: [{ content: 'x.example.' }],
            },
            {
              name: 'c.patchbad.test.',
              type: 'A',
              ttl: 60,
              changetype: 'REPLACE',
              records: [{ content: '192.0.2.1' }],
            },
          ],
        },
        {
          rrsets: [
            ok,
            { name: 'x.patchbad.test.', type: 'A', ttl: 'sixty', changetype: 'REPLACE', records: [] },
          ],
        },
        {},
      ];
      for (const body of cases) {
        const r = await api.req('PATCH', `${Z}/patchbad.test.`, { key: t.key, body });
        assert.equal(r.status, 422, `${JSON.stringify(body)}: ${r.text}`);
        assert.deepEqual(shapeOfKeys(r.json, observed.error), observed.error);
      }
      const after1 = (await api.req('GET', `${Z}/patchbad.test.`, { key: t.key })).json;
      assert.deepEqual(after1, before1);
      const missing = await api.req('PATCH', `${Z}/absent.test.`, { key: t.key, body: { rrsets: [ok] } });
      assert.equal(missing.status, 404);
      const readOnly = await api.req('PATCH', `${Z}/patchbad.test.`, {
        key: t.readKey,
        body: { rrsets: [ok] },
      });
      assert.equal(readOnly.status, 403);
    });

    test('PATCH as PowerDNS 4.7: one RRset REPLACEd and DELETEd applies in order; unquoted TXT and ALIAS are 422', async () => {
      await api.req('POST', Z, {
        key: t.key,
        body: { name: 'order.test.', kind: 'Native', nameservers: ['ns1.example.net.'] },
      });
      const patch = (...rrsets: unknown[]) =>
        api.req('PATCH', `${Z}/order.test.`, { key: t.key, body: { rrsets } });
      const rrset = async (name: string, type: string) =>
        (await api.req('GET', `${Z}/order.test.`, { key: t.key })).json.rrsets.find(
          (r: { name: string; type: string }) => r.name === name && r.type === type,
        );
      const rep = (name: string, ...contents: string[]) => ({
        name,
        type: 'A',
        ttl: 60,
        changetype: 'REPLACE',
        records: contents.map((content) => ({ content, disabled: false })),
      });
      const del = (name: string) => ({ name, type: 'A', changetype: 'DELETE' });
      // REPLACE then DELETE: the DELETE, applied last, decides (PowerDNS 4.7: 204, no RRset).
      assert.equal((await patch(rep('rd.order.test.', '192.0.2.1'), del('rd.order.test.'))).status, 204);
      assert.equal(await rrset('rd.order.test.', 'A'), undefined);
      // DELETE then REPLACE: the RRset is the replacement.
      assert.equal((await patch(rep('dr.order.test.', '192.0.2.1'))).status, 204);
      assert.equal((await patch(del('dr.order.test.'), rep('dr.order.test.', '192.0.2.2'))).status, 204);
      assert.deepEqual((await rrset('dr.order.test.', 'A')).records, [
        { content: '192.0.2.2', disabled: false },
      ]);
      // The same changetype twice is still a duplicate.
      const twice = await patch(del('x.order.test.'), del('x.order.test.'));
      assert.equal(twice.status, 422);
      assert.equal(twice.json.field, 'rrsets[1]');

      // TXT and SPF content must be quoted strings: unquoted text would be split at its blanks.
      for (const [type, content] of [
        ['TXT', 'v=spf1 include:example.net -all'],
        ['TXT', 'hello'],
        ['TXT', '"v=spf1" -all'],
        ['SPF', 'v=spf1 -all'],
      ]) {
        const r = await patch({
          name: 'txt.order.test.',
          type,
          ttl: 60,
          changetype: 'REPLACE',
          records: [{ content: '"ok"' }, { content }],
        });
        assert.equal(r.status, 422, `${type} ${content}: ${r.text}`);
        assert.equal(r.json.field, 'rrsets[0].records[1].content');
        assert.match(r.json.error, /must be quoted character-strings, e\.g\. "v=spf1 -all"/);
      }
      assert.equal(await rrset('txt.order.test.', 'TXT'), undefined);
      const quoted = await patch({
        name: 'txt.order.test.',
        type: 'TXT',
        ttl: 60,
        changetype: 'REPLACE',
        records: [{ content: '"v=spf1 include:example.net -all"' }, { content: '"a" "b c"' }],
      });
      assert.equal(quoted.status, 204, quoted.text);

      // ALIAS (external-dns's apex CNAME) needs outgoing resolution: refused, saying so.
      const alias = await patch({ ...rep('order.test.', 'lb.example.net.'), type: 'ALIAS' });
      assert.equal(alias.status, 422);
      assert.equal(alias.json.field, 'rrsets[0].type');
      assert.match(alias.json.error, /authoritative-only.*A and AAAA/);
    });

    test('PATCH takes JSON whatever the Content-Type, as PowerDNS does (curl --data)', async () => {
      await api.req('POST', Z, {
        key: t.key,
        body: { name: 'curl.test.', kind: 'Native', nameservers: ['ns1.example.net.'] },
      });
      const body = JSON.stringify({
        rrsets: [
          {
            name: 'c.curl.test.',
            type: 'A',
            ttl: 60,
            changetype: 'REPLACE',
            records: [{ content: '192.0.2.3', disabled: false }],
          },
        ],
      });
      for (const ct of ['application/x-www-form-urlencoded', 'text/plain']) {
        const r = await api.req('PATCH', `${Z}/curl.test.`, {
          key: t.key,
          body,
          headers: { 'content-type': ct },
        });
        assert.equal(r.status, 204, `${ct}: ${r.text}`);
      }
    });

    test('PUT metadata, notify, rectify, export, metadata and cryptokeys lists, DELETE', async () => {
      await api.req('POST', Z, {
        key: t.key,
        body: {
          name: 'misc.test.',
          kind: 'Native',
          nameservers: ['ns1.example.net.'],
          rrsets: [{ name: 'a.misc.test.', type: 'A', ttl: 60, records: [{ content: '192.0.2.4' }] }],
        },
      });
      const put = await api.req('PUT', `${Z}/misc.test.`, {
        key: t.key,
        body: { kind: 'Master', soa_edit_api: 'DEFAULT', account: '' },
      });
      assert.equal(put.status, 204);
      assert.equal((await api.req('GET', `${Z}/misc.test.`, { key: t.key })).json.kind, 'Master');
      // lego's notify: PUT with Content-Type: application/json and an empty body.
      const notify = await api.req('PUT', `${Z}/misc.test./notify`, {
        key: t.key,
        body: '',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(notify.status, 200, notify.text);
      assert.deepEqual(notify.json, { result: 'Notification queued' });
      assert.deepEqual(shapeOf(notify.json), observed.notify);
      const rectify = await api.req('PUT', `${Z}/misc.test./rectify`, { key: t.key });
      assert.deepEqual(rectify.json, { result: 'Rectified' });
      const exp = await api.req('GET', `${Z}/misc.test./export`, { key: t.key });
      assert.equal(exp.status, 200);
      assert.match(String(exp.headers['content-type']), /^text\/plain/);
      assert.match(exp.text, /^a\.misc\.test\.\s+60\s+IN\s+A\s+192\.0\.2\.4$/m);
      assert.deepEqual((await api.req('GET', `${Z}/misc.test./metadata`, { key: t.key })).json, [
        { kind: 'SOA-EDIT-API', metadata: ['DEFAULT'], type: 'Metadata' },
      ]);
      assert.deepEqual((await api.req('GET', `${Z}/misc.test./cryptokeys`, { key: t.key })).json, []);
      for (const path of ['', '/notify', '/rectify', '/export', '/metadata', '/cryptokeys']) {
        const method = path === '/notify' || path === '/rectify' || path === '' ? 'PUT' : 'GET';
        const r = await api.req(method, `${Z}/absent.test.${path}`, {
          key: t.key,
          body: method === 'PUT' ? {} : undefined,
        });
        assert.equal(r.status, 404, `${method} ${path}`);
      }
      assert.equal((await api.req('DELETE', `${Z}/misc.test.`, { key: t.key })).status, 204);
      assert.equal((await api.req('GET', `${Z}/misc.test.`, { key: t.key })).status, 404);
      assert.equal((await api.req('DELETE', `${Z}/misc.test.`, { key: t.key })).status, 404);
    });

    test("zone ids escape '/' as =2F, like PowerDNS", async () => {
      const name = '0/26.2.0.192.in-addr.arpa.';
      const r = await api.req('POST', Z, {
        key: t.key,
        body: { name, kind: 'Native', nameservers: ['ns1.example.net.'] },
      });
      if (r.status !== 201) {
        // The control plane may refuse '/' in zone names; then there is nothing to address.
        assert.equal(r.status, 422, r.text);
        return;
      }
      assert.equal(r.json.id, '0=2F26.2.0.192.in-addr.arpa.');
      assert.equal(r.json.url, '/api/v1/servers/localhost/zones/0=2F26.2.0.192.in-addr.arpa.');
      for (const id of ['0=2F26.2.0.192.in-addr.arpa.', '0%2F26.2.0.192.in-addr.arpa.']) {
        const g = await api.req('GET', `${Z}/${id}`, { key: t.key });
        assert.equal(g.status, 200, id);
        assert.equal(g.json.name, name);
      }
    });
  });
}

describe('PowerDNS zone ids', () => {
  test('round-trip names with odd characters', () => {
    assert.equal(zoneIdOfName('example.com.'), 'example.com.');
    assert.equal(zoneIdOfName('0/26.2.0.192.in-addr.arpa.'), '0=2F26.2.0.192.in-addr.arpa.');
    assert.equal(zoneIdOfName('a=b.example.'), 'a=3Db.example.');
    for (const n of [
      'example.com.',
      '0/26.2.0.192.in-addr.arpa.',
      'a=b.example.',
      'a\\032b.example.',
      'xn--bcher-kva.example.',
    ]) {
      assert.equal(zoneNameOfId(zoneIdOfName(n)), n);
    }
    assert.equal(zoneNameOfId('example.com'), 'example.com.');
  });
});

describe('PowerDNS change mapping', () => {
  test('changetypes map to change operations', () => {
    assert.deepEqual(
      changesOfPdnsRRsets([
        {
          name: 'a.example.',
          type: 'a',
          changetype: 'replace',
          ttl: 60,
          records: [{ content: '192.0.2.1', disabled: true }],
        },
        { name: 'b.example', type: 'TXT', changetype: 'DELETE' },
        { name: 'c.example.', type: 'A', changetype: 'REPLACE', ttl: 60, records: [] },
        { name: 'd.example.', type: 'A', changetype: 'REPLACE', ttl: 60, comments: [] },
        { name: 'e.example.', type: 'A', changetype: 'EXTEND', ttl: 60, records: [{ content: '192.0.2.2' }] },
        { name: 'f.example.', type: 'A', changetype: 'PRUNE', records: [{ content: '192.0.2.3' }] },
      ]),
      [
        {
          op: 'replace',
          name: 'a.example.',
          type: 'A',
          ttl: 60,
          records: [{ content: '192.0.2.1', disabled: true }],
        },
        { op: 'delete', name: 'b.example.', type: 'TXT' },
        { op: 'delete', name: 'c.example.', type: 'A' },
        { op: 'add', name: 'e.example.', type: 'A', ttl: 60, records: [{ content: '192.0.2.2' }] },
        { op: 'remove', name: 'f.example.', type: 'A', records: [{ content: '192.0.2.3' }] },
      ],
    );
  });

  test('an RRset may appear once per changetype, in order; twice with one changetype is 422', () => {
    assert.deepEqual(
      changesOfPdnsRRsets([
        {
          name: 'a.example.',
          type: 'A',
          changetype: 'REPLACE',
          ttl: 60,
          records: [{ content: '192.0.2.1' }],
        },
        { name: 'A.example.', type: 'a', changetype: 'DELETE' },
      ]),
      [
        { op: 'replace', name: 'a.example.', type: 'A', ttl: 60, records: [{ content: '192.0.2.1' }] },
        { op: 'delete', name: 'A.example.', type: 'A' },
      ],
    );
    assert.throws(
      () =>
        changesOfPdnsRRsets([
          { name: 'a.example.', type: 'A', changetype: 'DELETE' },
          { name: 'a.example.', type: 'A', changetype: 'delete' },
        ]),
      (e: unknown) =>
        (e as { statusCode?: number; field?: string }).statusCode === 422 &&
        (e as { field?: string }).field === 'rrsets[1]',
    );
  });
});
