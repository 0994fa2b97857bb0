import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends, openTestApi, type TestApi } from '../../test/helpers/api-harness.js';

const soa = 'ns1.example.com. hostmaster.example.com. 100 10800 3600 604800 3600';
/** Out-of-zone nameservers: they need no glue. */
const NS = ['ns1.example.net.', 'ns2.example.net.'];

function exampleRRsets(zone: string) {
  return [
    { name: zone, type: 'SOA', ttl: 3600, records: [{ content: soa.replaceAll('example.com.', zone) }] },
    { name: zone, type: 'NS', ttl: 3600, records: [{ content: `ns1.${zone}` }] },
    { name: `ns1.${zone}`, type: 'A', ttl: 3600, records: [{ content: '192.0.2.53' }] },
    { name: `www.${zone}`, type: 'A', ttl: 300, records: [{ content: '192.0.2.1' }] },
  ];
}

for (const { name: backend, skip } of backends) {
  describe(`native API (${backend})`, { skip }, () => {
    let api: TestApi;
    before(async () => {
      api = await openTestApi(backend);
    });
    after(async () => {
      await api.close();
    });

    describe('authentication', () => {
      test('a route without a key is 401 with a JSON error and a challenge', async () => {
        const r = await api.req('GET', '/api/v1/zones', { key: null });
        assert.equal(r.status, 401);
        assert.equal(typeof r.json.error, 'string');
        assert.equal(r.json.code, 'API_ERR_UNAUTHENTICATED');
        assert.match(String(r.headers['www-authenticate']), /^Bearer/);
      });

      test('an unknown key is 401', async () => {
        const r = await api.req('GET', '/api/v1/zones', { key: 'sb_nope' });
        assert.equal(r.status, 401);
        assert.equal(r.json.code, 'API_ERR_UNAUTHENTICATED');
      });

      test('Authorization: Bearer works like X-API-Key', async () => {
        const r = await api.req('GET', '/api/v1/zones', {
          key: null,
          headers: { authorization: `Bearer ${api.admin}` },
        });
        assert.equal(r.status, 200);
        const bad = await api.req('GET', '/api/v1/zones', {
          key: null,
          headers: { authorization: 'Basic eDp5' },
        });
        assert.equal(bad.status, 401);
      });

      test('public routes need no key', async () => {
        for (const url of ['/api', '/healthz', '/api/v1/openapi.json']) {
          const r = await api.req('GET', url, { key: null });
          assert.equal(r.status, 200, url);
        }
        const h = await api.req('GET', '/healthz', { key: null });
        assert.deepEqual(h.json, { status: 'ok', version: '0.1.0-test' });
      });

      test('unknown routes are 404 JSON once authenticated, 401 before', async () => {
        assert.equal((await api.req('GET', '/api/v1/nope', { key: null })).status, 401);
        const r = await api.req('GET', '/api/v1/nope');
        assert.equal(r.status, 404);
        assert.equal(r.json.code, 'API_ERR_NOT_FOUND');
      });
    });

    describe('accounts and users', () => {
      test('an administrator creates, lists and gets accounts', async () => {
        const c = await api.req('POST', '/api/v1/accounts', { body: { name: 'acct-one', maxZones: 5 } });
        assert.equal(c.status, 201);
        assert.equal(c.json.name, 'acct-one');
        assert.equal(c.json.maxZones, 5);
        assert.equal(c.headers.location, `/api/v1/accounts/${c.json.id}`);
        const g = await api.req('GET', `/api/v1/accounts/${c.json.id}`);
        assert.equal(g.status, 200);
        assert.deepEqual(g.json, c.json);
        const l = await api.req('GET', '/api/v1/accounts?limit=1000');
        assert.equal(l.status, 200);
        assert.ok(l.json.items.some((a: { id: string }) => a.id === c.json.id));
      });

      test('schema violations are 400 with the field at fault', async () => {
        const missing = await api.req('POST', '/api/v1/accounts', { body: {} });
        assert.equal(missing.status, 400);
        assert.equal(missing.json.field, 'name');
        assert.equal(missing.json.code, 'API_ERR_BAD_REQUEST');
        const extra = await api.req('POST', '/api/v1/accounts', { body: { name: 'x', colour: 'red' } });
        assert.equal(extra.status, 400);
        assert.equal(extra.json.field, 'colour');
        const type = await api.req('POST', '/api/v1/accounts', { body: { name: 'x', maxZones: -1 } });
        assert.equal(type.status, 400);
        assert.equal(type.json.field, 'maxZones');
        const q = await api.req('GET', '/api/v1/accounts?limit=0');
        assert.equal(q.status, 400);
        assert.equal(q.json.field, 'limit');
        const bad = await api.req('POST', '/api/v1/accounts', {
          body: '{"name": ',
          headers: { 'content-type': 'application/json' },
        });
        assert.equal(bad.status, 400);
      });

      test('a tenant token cannot create accounts and sees no other account', async () => {
        const t = await api.tenant('acct-two');
        const other = await api.tenant('acct-three');
        assert.equal(
          (await api.req('POST', '/api/v1/accounts', { key: t.key, body: { name: 'evil' } })).status,
          403,
        );
        assert.equal(
          (await api.req('GET', `/api/v1/accounts/${other.accountId}`, { key: t.key })).status,
          404,
        );
        assert.equal((await api.req('GET', `/api/v1/accounts/${t.accountId}`, { key: t.key })).status, 200);
      });

      test('users are created in an account', async () => {
        const t = await api.tenant('acct-users');
        const u = await api.req('POST', '/api/v1/users', { body: { accountId: t.accountId, name: 'alice' } });
        assert.equal(u.status, 201);
        assert.equal(u.json.accountId, t.accountId);
        assert.equal(u.json.name, 'alice');
        const tok = await api.req('POST', '/api/v1/tokens', {
          body: { name: 'alice-key', accountId: t.accountId, userId: u.json.id, scope: { access: 'write' } },
        });
        assert.equal(tok.status, 201);
        assert.equal(tok.json.userId, u.json.id);
      });
    });

    describe('tokens', () => {
      test('the secret is shown once; lists show the prefix; revoked keys stop working', async () => {
        const t = await api.tenant('tok-acct');
        const c = await api.req('POST', '/api/v1/tokens', {
          key: t.key,
          body: { name: 'ci', scope: { access: 'write' } },
        });
        assert.equal(c.status, 201);
        assert.equal(typeof c.json.secret, 'string');
        assert.equal(c.json.accountId, t.accountId);
        assert.ok(c.json.secret.startsWith(c.json.prefix));
        const l = await api.req('GET', '/api/v1/tokens', { key: t.key });
        assert.equal(l.status, 200);
        const listed = l.json.items.find((x: { id: string }) => x.id === c.json.id);
        assert.ok(listed);
        assert.equal(listed.secret, undefined);
        assert.equal(listed.prefix, c.json.prefix);
        assert.equal((await api.req('GET', '/api/v1/zones', { key: c.json.secret })).status, 200);
        assert.equal((await api.req('DELETE', `/api/v1/tokens/${c.json.id}`, { key: t.key })).status, 204);
        assert.equal((await api.req('GET', '/api/v1/zones', { key: c.json.secret })).status, 401);
      });

      test('a token made without a scope can only read', async () => {
        const t = await api.tenant('tok-default');
        const c = await api.req('POST', '/api/v1/tokens', { key: t.key, body: { name: 'viewer' } });
        assert.equal(c.status, 201);
        assert.deepEqual(c.json.scope, { admin: false, access: 'read' });
      });

      test('a bad scope is 400 on the field', async () => {
        const r = await api.req('POST', '/api/v1/tokens', { body: { name: 'x', scope: { access: 'all' } } });
        assert.equal(r.status, 400);
        assert.equal(r.json.field, 'scope.access');
      });
    });

    describe('zones', () => {
      test('create from RRsets: 201, ETag, Location; read back with and without the final dot', async () => {
        const t = await api.tenant('zone-acct');
        const c = await api.req('POST', '/api/v1/zones', {
          key: t.key,
          body: { name: 'create.test', rrsets: exampleRRsets('create.test.') },
        });
        assert.equal(c.status, 201, c.text);
        assert.equal(c.json.name, 'create.test.');
        assert.equal(c.headers.etag, `"${c.json.version}"`);
        assert.equal(c.headers.location, '/api/v1/zones/create.test.');
        for (const path of ['create.test', 'create.test.', 'CREATE.test.']) {
          const g = await api.req('GET', `/api/v1/zones/${path}`, { key: t.key });
          assert.equal(g.status, 200, path);
          assert.equal(g.headers.etag, c.headers.etag);
          assert.equal(g.json.name, 'create.test.');
          assert.ok(
            g.json.rrsets.some(
              (r: { name: string; type: string }) => r.name === 'www.create.test.' && r.type === 'A',
            ),
          );
        }
        const dup = await api.req('POST', '/api/v1/zones', {
          key: t.key,
          body: { name: 'create.test.', nameservers: NS },
        });
        assert.equal(dup.status, 409);
      });

      test('create from zone file text', async () => {
        const t = await api.tenant('zonefile-acct');
        const text = `zf.test. 3600 IN SOA ns1.zf.test. h.zf.test. 7 10800 3600 604800 3600\nzf.test. 3600 IN NS ns1.zf.test.\nns1.zf.test. 3600 IN A 192.0.2.53\na.zf.test. 60 IN A 192.0.2.7\n`;
        const c = await api.req('POST', '/api/v1/zones', {
          key: t.key,
          body: { name: 'zf.test', zonefile: text },
        });
        assert.equal(c.status, 201, c.text);
        assert.ok(c.json.rrsets.some((r: { name: string }) => r.name === 'a.zf.test.'));
        const both = await api.req('POST', '/api/v1/zones', {
          key: t.key,
          body: { name: 'zf2.test', zonefile: text, rrsets: [] },
        });
        assert.equal(both.status, 400);
      });

      test('bad content is 422 with the field at fault, and no zone is made', async () => {
        const t = await api.tenant('zone-bad');
        const rrsets = [{ name: 'bad.test.', type: 'A', ttl: 60, records: [{ content: 'not-an-address' }] }];
        const r = await api.req('POST', '/api/v1/zones', { key: t.key, body: { name: 'bad.test', rrsets } });
        assert.equal(r.status, 422);
        assert.equal(r.json.code, 'CTL_ERR_VALIDATION');
        assert.match(r.json.field, /^rrsets\[0\]\.records\[0\]\.content$/);
        assert.equal((await api.req('GET', '/api/v1/zones/bad.test', { key: t.key })).status, 404);
        const ttl = await api.req('POST', '/api/v1/zones', {
          key: t.key,
          body: {
            name: 'bad.test',
            rrsets: [{ name: 'bad.test.', type: 'A', ttl: 2147483648, records: [] }],
          },
        });
        // One TTL rule, the server's (`--max-ttl`, default 30 days): a 422 naming it.
        assert.equal(ttl.status, 422);
        assert.equal(ttl.json.field, 'rrsets[0].ttl');
        assert.match(
          ttl.json.error,
          /over this server's limit of 2592000 seconds \(switchboard start --max-ttl\)/,
        );
      });

      test('list is paginated with limit and cursor', async () => {
        const t = await api.tenant('page-acct');
        for (const n of ['p1', 'p2', 'p3', 'p4', 'p5']) {
          assert.equal(
            (
              await api.req('POST', '/api/v1/zones', {
                key: t.key,
                body: { name: `${n}.page.test`, nameservers: NS },
              })
            ).status,
            201,
          );
        }
        const seen: string[] = [];
        let url = '/api/v1/zones?limit=2';
        for (let i = 0; i < 10; i++) {
          const r = await api.req('GET', url, { key: t.key });
          assert.equal(r.status, 200);
          assert.ok(r.json.items.length <= 2);
          seen.push(...r.json.items.map((z: { name: string }) => z.name));
          if (r.json.next === undefined) break;
          url = `/api/v1/zones?limit=2&cursor=${encodeURIComponent(r.json.next)}`;
        }
        assert.deepEqual([...seen].sort(), [
          'p1.page.test.',
          'p2.page.test.',
          'p3.page.test.',
          'p4.page.test.',
          'p5.page.test.',
        ]);
      });

      test('delete honours If-Match', async () => {
        const t = await api.tenant('del-acct');
        const c = await api.req('POST', '/api/v1/zones', {
          key: t.key,
          body: { name: 'del.test', nameservers: NS },
        });
        const stale = await api.req('DELETE', '/api/v1/zones/del.test', {
          key: t.key,
          headers: { 'if-match': '"999"' },
        });
        assert.equal(stale.status, 412);
        assert.equal((await api.req('GET', '/api/v1/zones/del.test', { key: t.key })).status, 200);
        const ok = await api.req('DELETE', '/api/v1/zones/del.test', {
          key: t.key,
          headers: { 'if-match': c.headers.etag as string },
        });
        assert.equal(ok.status, 204);
        assert.equal((await api.req('GET', '/api/v1/zones/del.test', { key: t.key })).status, 404);
        assert.equal((await api.req('DELETE', '/api/v1/zones/del.test', { key: t.key })).status, 404);
      });

      test('zone settings: shown, set at creation and by PATCH (If-Match, no new version)', async () => {
        const t = await api.tenant('meta-acct');
        const c = await api.req('POST', '/api/v1/zones', {
          key: t.key,
          body: { name: 'meta.test', nameservers: NS, kind: 'master', accountLabel: 'team a' },
        });
        assert.equal(c.status, 201, c.text);
        assert.deepEqual(
          [c.json.kind, c.json.soaEditApi, c.json.accountLabel],
          ['Master', 'DEFAULT', 'team a'],
        );
        const path = '/api/v1/zones/meta.test';
        const listed = (await api.req('GET', '/api/v1/zones', { key: t.key })).json.items[0];
        assert.deepEqual(
          [listed.kind, listed.soaEditApi, listed.accountLabel],
          ['Master', 'DEFAULT', 'team a'],
        );

        const stale = await api.req('PATCH', path, {
          key: t.key,
          headers: { 'if-match': '"999"' },
          body: { kind: 'Native' },
        });
        assert.equal(stale.status, 412);
        const p = await api.req('PATCH', path, {
          key: t.key,
          headers: { 'if-match': c.headers.etag as string },
          body: { kind: 'Native', soaEditApi: '' },
        });
        assert.equal(p.status, 200, p.text);
        assert.deepEqual([p.json.kind, p.json.soaEditApi, p.json.accountLabel], ['Native', '', 'team a']);
        // Not a content change: same version (ETag) and serial.
        assert.equal(p.headers.etag, c.headers.etag);
        assert.equal(p.json.serial, c.json.serial);
        const g = await api.req('GET', path, { key: t.key });
        assert.deepEqual([g.json.kind, g.json.soaEditApi, g.json.accountLabel], ['Native', '', 'team a']);
        assert.equal(g.json.version, c.json.version);

        const misspelt = await api.req('PATCH', path, { key: t.key, body: { knd: 'Native' } });
        assert.equal(misspelt.status, 400);
        assert.equal(misspelt.json.field, 'knd');
        const secondary = await api.req('PATCH', path, { key: t.key, body: { kind: 'Slave' } });
        assert.equal(secondary.status, 422);
        assert.equal(secondary.json.field, 'masters');
        assert.equal(
          (await api.req('PATCH', path, { key: t.readKey, body: { kind: 'Master' } })).status,
          403,
        );
        assert.equal(
          (await api.req('PATCH', '/api/v1/zones/absent.test', { key: t.key, body: { kind: 'Master' } }))
            .status,
          404,
        );
      });
    });

    describe('rrsets', () => {
      let t: Awaited<ReturnType<TestApi['tenant']>>;
      before(async () => {
        t = await api.tenant('rr-acct');
        const c = await api.req('POST', '/api/v1/zones', {
          key: t.key,
          body: { name: 'rr.test', rrsets: exampleRRsets('rr.test.') },
        });
        assert.equal(c.status, 201, c.text);
      });

      test('GET lists RRsets with an ETag, filtered by name and type', async () => {
        const all = await api.req('GET', '/api/v1/zones/rr.test/rrsets', { key: t.key });
        assert.equal(all.status, 200);
        assert.ok(all.json.items.length >= 3);
        assert.match(String(all.headers.etag), /^"\d+"$/);
        const one = await api.req('GET', '/api/v1/zones/rr.test/rrsets?name=www.rr.test&type=a', {
          key: t.key,
        });
        assert.deepEqual(one.json.items, [
          { name: 'www.rr.test.', type: 'A', ttl: 300, records: [{ content: '192.0.2.1', disabled: false }] },
        ]);
      });

      test('PATCH with the current If-Match applies and returns the new ETag; a stale one is 412', async () => {
        const g = await api.req('GET', '/api/v1/zones/rr.test', { key: t.key });
        const etag = g.headers.etag as string;
        const changes = [
          { op: 'replace', name: 'api.rr.test.', type: 'A', ttl: 60, records: [{ content: '192.0.2.10' }] },
        ];
        const p = await api.req('PATCH', '/api/v1/zones/rr.test/rrsets', {
          key: t.key,
          headers: { 'if-match': etag },
          body: { changes, comment: 'add api' },
        });
        assert.equal(p.status, 200, p.text);
        assert.equal(p.json.version, g.json.version + 1);
        assert.equal(p.headers.etag, `"${g.json.version + 1}"`);
        assert.notEqual(p.json.serial, g.json.serial);
        // A second editor still holding the old ETag is refused, and nothing changes.
        const stale = await api.req('PATCH', '/api/v1/zones/rr.test/rrsets', {
          key: t.key,
          headers: { 'if-match': etag },
          body: { changes: [{ op: 'delete', name: 'api.rr.test.', type: 'A' }] },
        });
        assert.equal(stale.status, 412);
        assert.equal(stale.json.code, 'CTL_ERR_PRECONDITION');
        const after1 = await api.req('GET', '/api/v1/zones/rr.test/rrsets?name=api.rr.test', { key: t.key });
        assert.equal(after1.json.items.length, 1);
        assert.equal(after1.headers.etag, p.headers.etag);
        // '*' matches any version; a list matches if one of its tags is current; weak tags never match.
        const star = await api.req('PATCH', '/api/v1/zones/rr.test/rrsets', {
          key: t.key,
          headers: { 'if-match': '*' },
          body: {
            changes: [
              { op: 'add', name: 'api.rr.test', type: 'A', ttl: 60, records: [{ content: '192.0.2.11' }] },
            ],
          },
        });
        assert.equal(star.status, 200);
        const list = await api.req('PATCH', '/api/v1/zones/rr.test/rrsets', {
          key: t.key,
          headers: { 'if-match': `"1", ${star.headers.etag}` },
          body: {
            changes: [
              { op: 'remove', name: 'api.rr.test.', type: 'A', records: [{ content: '192.0.2.10' }] },
            ],
          },
        });
        assert.equal(list.status, 200, list.text);
        const weak = await api.req('PATCH', '/api/v1/zones/rr.test/rrsets', {
          key: t.key,
          headers: { 'if-match': `W/${list.headers.etag}` },
          body: { changes: [{ op: 'delete', name: 'api.rr.test.', type: 'A' }] },
        });
        assert.equal(weak.status, 412);
        const final = await api.req('GET', '/api/v1/zones/rr.test/rrsets?name=api.rr.test', { key: t.key });
        assert.deepEqual(final.json.items[0].records, [{ content: '192.0.2.11', disabled: false }]);
      });

      test('a change set is all or nothing', async () => {
        const before1 = await api.req('GET', '/api/v1/zones/rr.test', { key: t.key });
        const r = await api.req('PATCH', '/api/v1/zones/rr.test/rrsets', {
          key: t.key,
          body: {
            changes: [
              {
                op: 'replace',
                name: 'ok.rr.test.',
                type: 'A',
                ttl: 60,
                records: [{ content: '192.0.2.20' }],
              },
              {
                op: 'replace',
                name: 'bad.rr.test.',
                type: 'A',
                ttl: 60,
                records: [{ content: '192.0.2.300x' }],
              },
            ],
          },
        });
        assert.equal(r.status, 422);
        assert.equal(r.json.code, 'CTL_ERR_VALIDATION');
        assert.match(r.json.field, /^changes\[1\]/);
        const after1 = await api.req('GET', '/api/v1/zones/rr.test', { key: t.key });
        assert.deepEqual(after1.json, before1.json);
        const outside = await api.req('PATCH', '/api/v1/zones/rr.test/rrsets', {
          key: t.key,
          body: {
            changes: [
              {
                op: 'replace',
                name: 'www.example.org.',
                type: 'A',
                ttl: 60,
                records: [{ content: '192.0.2.1' }],
              },
            ],
          },
        });
        assert.equal(outside.status, 422);
        assert.match(outside.json.field, /^changes\[0\]\.name$/);
      });

      test('malformed change sets are 400 on the field', async () => {
        const cases: [unknown, string][] = [
          [{ changes: [{ op: 'replace', name: 'x.rr.test.', type: 'A', records: [] }] }, 'changes[0].ttl'],
          [{ changes: [{ op: 'add', name: 'x.rr.test.', type: 'A', ttl: 5 }] }, 'changes[0].records'],
          [{ changes: [{ op: 'remove', name: 'x.rr.test.', type: 'A' }] }, 'changes[0].records'],
          [{ changes: [{ op: 'upsert', name: 'x.rr.test.', type: 'A' }] }, 'changes[0].op'],
          [{ changes: [{ op: 'delete', name: 'x.rr.test.', type: 'A', extra: 1 }] }, 'changes[0].extra'],
          [{ changes: [{ op: 'delete', type: 'A' }] }, 'changes[0].name'],
          [{ changes: [] }, 'changes'],
          [{}, 'changes'],
          [
            { changes: [{ op: 'replace', name: 'x.rr.test.', type: 'A', ttl: -1, records: [] }] },
            'changes[0].ttl',
          ],
          [
            {
              changes: [
                {
                  op: 'replace',
                  name: 'x.rr.test.',
                  type: 'A',
                  ttl: 1,
                  records: [{ content: '192.0.2.1', foo: 1 }],
                },
              ],
            },
            'changes[0].records[0].foo',
          ],
        ];
        for (const [body, field] of cases) {
          const r = await api.req('PATCH', '/api/v1/zones/rr.test/rrsets', { key: t.key, body });
          assert.equal(r.status, 400, JSON.stringify(body));
          assert.equal(r.json.field, field, JSON.stringify(body));
          assert.equal(typeof r.json.error, 'string');
        }
      });

      test('a read-only token cannot change', async () => {
        const r = await api.req('PATCH', '/api/v1/zones/rr.test/rrsets', {
          key: t.readKey,
          body: { changes: [{ op: 'delete', name: 'www.rr.test.', type: 'A' }] },
        });
        assert.equal(r.status, 403);
        assert.equal(r.json.code, 'CTL_ERR_FORBIDDEN');
        assert.equal((await api.req('GET', '/api/v1/zones/rr.test', { key: t.readKey })).status, 200);
      });
    });

    describe('zone file import and export', () => {
      test('PUT text/dns makes a new version; GET exports text/dns with the ETag', async () => {
        const t = await api.tenant('io-acct');
        const c = await api.req('POST', '/api/v1/zones', {
          key: t.key,
          body: { name: 'io.test', rrsets: exampleRRsets('io.test.') },
        });
        const text =
          'io.test. 3600 IN SOA ns1.io.test. h.io.test. 500 10800 3600 604800 3600\nio.test. 3600 IN NS ns1.io.test.\nns1.io.test. 3600 IN A 192.0.2.53\nnew.io.test. 120 IN A 192.0.2.99\n';
        const put = await api.req('PUT', '/api/v1/zones/io.test./zonefile?comment=import', {
          key: t.key,
          body: text,
          headers: { 'content-type': 'text/dns', 'if-match': c.headers.etag as string },
        });
        assert.equal(put.status, 200, put.text);
        assert.equal(put.json.version, c.json.version + 1);
        assert.equal(put.headers.etag, `"${put.json.version}"`);
        const plain = await api.req('PUT', '/api/v1/zones/io.test/zonefile', {
          key: t.key,
          body: text,
          headers: { 'content-type': 'text/plain; charset=utf-8' },
        });
        assert.equal(plain.status, 200, plain.text);
        const get = await api.req('GET', '/api/v1/zones/io.test/zonefile', { key: t.key });
        assert.equal(get.status, 200);
        assert.match(String(get.headers['content-type']), /^text\/dns/);
        assert.equal(get.headers.etag, plain.headers.etag);
        assert.match(get.text, /new\.io\.test\.\s+120\s+IN\s+A\s+192\.0\.2\.99/);
        assert.doesNotMatch(get.text, /www\.io\.test/);
      });

      test('a stale If-Match, a broken file or a JSON body change nothing', async () => {
        const t = await api.tenant('io-bad');
        const c = await api.req('POST', '/api/v1/zones', {
          key: t.key,
          body: { name: 'iobad.test', rrsets: exampleRRsets('iobad.test.') },
        });
        const v = c.json.version;
        const stale = await api.req('PUT', '/api/v1/zones/iobad.test/zonefile', {
          key: t.key,
          body: 'iobad.test. 3600 IN SOA a. b. 1 1 1 1 1\n',
          headers: { 'content-type': 'text/dns', 'if-match': `"${v + 5}"` },
        });
        assert.equal(stale.status, 412);
        const broken = await api.req('PUT', '/api/v1/zones/iobad.test/zonefile', {
          key: t.key,
          body: 'this is not a zone file\n',
          headers: { 'content-type': 'text/dns' },
        });
        assert.equal(broken.status, 422);
        assert.equal(broken.json.code, 'CTL_ERR_VALIDATION');
        const json = await api.req('PUT', '/api/v1/zones/iobad.test/zonefile', {
          key: t.key,
          body: { zone: 'x' },
        });
        assert.equal(json.status, 415);
        const after1 = await api.req('GET', '/api/v1/zones/iobad.test', { key: t.key });
        assert.equal(after1.json.version, v);
      });
    });

    describe('versions', () => {
      test('list (paged), diff, rollback', async () => {
        const t = await api.tenant('ver-acct');
        await api.req('POST', '/api/v1/zones', {
          key: t.key,
          body: { name: 'ver.test', rrsets: exampleRRsets('ver.test.') },
        });
        for (const ip of ['192.0.2.50', '192.0.2.51']) {
          const r = await api.req('PATCH', '/api/v1/zones/ver.test/rrsets', {
            key: t.key,
            body: {
              changes: [
                { op: 'replace', name: 'www.ver.test.', type: 'A', ttl: 300, records: [{ content: ip }] },
              ],
              comment: `to ${ip}`,
            },
          });
          assert.equal(r.status, 200);
        }
        const l1 = await api.req('GET', '/api/v1/zones/ver.test/versions?limit=2', { key: t.key });
        assert.equal(l1.status, 200);
        assert.equal(l1.json.items.length, 2);
        assert.equal(typeof l1.json.next, 'string');
        const l2 = await api.req(
          'GET',
          `/api/v1/zones/ver.test/versions?limit=2&cursor=${encodeURIComponent(l1.json.next)}`,
          { key: t.key },
        );
        assert.equal(l2.json.items.length, 1);
        assert.equal(l2.json.next, undefined);
        const all = [...l1.json.items, ...l2.json.items];
        assert.equal(all.find((v: { version: number }) => v.version === 1).kind, 'create');
        assert.equal(all.find((v: { version: number }) => v.version === 2).kind, 'change');
        const versions = [...l1.json.items, ...l2.json.items]
          .map((v: { version: number }) => v.version)
          .sort();
        assert.deepEqual(versions, [1, 2, 3]);

        const d = await api.req('GET', '/api/v1/zones/ver.test/versions/3', { key: t.key });
        assert.equal(d.status, 200);
        assert.equal(d.json.version, 3);
        assert.equal(d.json.comment, 'to 192.0.2.51');
        assert.ok(d.json.addedRecords.some((l: string) => l.includes('192.0.2.51')));
        assert.ok(d.json.removedRecords.some((l: string) => l.includes('192.0.2.50')));
        assert.equal(
          (await api.req('GET', '/api/v1/zones/ver.test/versions/99', { key: t.key })).status,
          404,
        );
        assert.equal(
          (await api.req('GET', '/api/v1/zones/ver.test/versions/zero', { key: t.key })).status,
          400,
        );

        const stale = await api.req('POST', '/api/v1/zones/ver.test/rollback', {
          key: t.key,
          headers: { 'if-match': '"2"' },
          body: { version: 1 },
        });
        assert.equal(stale.status, 412);
        const rb = await api.req('POST', '/api/v1/zones/ver.test/rollback', {
          key: t.key,
          headers: { 'if-match': '"3"' },
          body: { version: 1 },
        });
        assert.equal(rb.status, 200, rb.text);
        assert.equal(rb.json.version, 4);
        assert.equal(rb.headers.etag, '"4"');
        assert.equal(
          (await api.req('GET', '/api/v1/zones/ver.test/versions/4', { key: t.key })).json.kind,
          'rollback',
        );
        const www = await api.req('GET', '/api/v1/zones/ver.test/rrsets?name=www.ver.test&type=A', {
          key: t.key,
        });
        assert.deepEqual(www.json.items[0].records, [{ content: '192.0.2.1', disabled: false }]);
        assert.equal(
          (await api.req('POST', '/api/v1/zones/ver.test/rollback', { key: t.key, body: {} })).json.field,
          'version',
        );
      });
    });

    describe('audit', () => {
      test('lists what the account did, paged', async () => {
        const t = await api.tenant('audit-acct');
        await api.req('POST', '/api/v1/zones', { key: t.key, body: { name: 'audit.test', nameservers: NS } });
        await api.req('DELETE', '/api/v1/zones/audit.test', { key: t.key });
        const r = await api.req('GET', '/api/v1/audit?limit=1000', { key: t.key });
        assert.equal(r.status, 200);
        assert.ok(r.json.items.length >= 2);
        for (const e of r.json.items) assert.equal(e.accountId, t.accountId);
        assert.ok(r.json.items.some((e: { target: string }) => e.target.startsWith('audit.test')));
        const p = await api.req('GET', '/api/v1/audit?limit=1', { key: t.key });
        assert.equal(p.json.items.length, 1);
        assert.equal(typeof p.json.next, 'string');
        assert.equal((await api.req('GET', '/api/v1/audit?bogus=1', { key: t.key })).status, 400);
      });
    });

    describe('tenant isolation', () => {
      test("account A's token on account B's zone: 404 on both APIs, nothing changed", async () => {
        const a = await api.tenant('iso-a');
        const b = await api.tenant('iso-b');
        const c = await api.req('POST', '/api/v1/zones', {
          key: b.key,
          body: { name: 'iso-b.test', rrsets: exampleRRsets('iso-b.test.') },
        });
        assert.equal(c.status, 201);
        const before1 = await api.req('GET', '/api/v1/zones/iso-b.test', { key: b.key });
        const change = { changes: [{ op: 'delete', name: 'www.iso-b.test.', type: 'A' }] };
        const pdnsPatch = { rrsets: [{ name: 'www.iso-b.test.', type: 'A', changetype: 'DELETE' }] };
        const attempts: [string, string, unknown?, Record<string, string>?][] = [
          ['GET', '/api/v1/zones/iso-b.test'],
          ['GET', '/api/v1/zones/iso-b.test/rrsets'],
          ['PATCH', '/api/v1/zones/iso-b.test/rrsets', change],
          [
            'PUT',
            '/api/v1/zones/iso-b.test/zonefile',
            'iso-b.test. 1 IN SOA a. b. 1 1 1 1 1\n',
            { 'content-type': 'text/dns' },
          ],
          ['GET', '/api/v1/zones/iso-b.test/zonefile'],
          ['GET', '/api/v1/zones/iso-b.test/versions'],
          ['GET', '/api/v1/zones/iso-b.test/versions/1'],
          ['POST', '/api/v1/zones/iso-b.test/rollback', { version: 1 }],
          ['DELETE', '/api/v1/zones/iso-b.test'],
          ['GET', '/api/v1/servers/localhost/zones/iso-b.test.'],
          ['PATCH', '/api/v1/servers/localhost/zones/iso-b.test.', pdnsPatch],
          ['PUT', '/api/v1/servers/localhost/zones/iso-b.test.', { kind: 'Master' }],
          ['GET', '/api/v1/servers/localhost/zones/iso-b.test./export'],
          ['PUT', '/api/v1/servers/localhost/zones/iso-b.test./notify'],
          ['DELETE', '/api/v1/servers/localhost/zones/iso-b.test.'],
        ];
        for (const [method, url, body, headers] of attempts) {
          for (const key of [a.key, a.readKey]) {
            const r = await api.req(method, url, { key, body, headers });
            assert.equal(r.status, 404, `${method} ${url}: ${r.status} ${r.text}`);
          }
        }
        const listed = await api.req('GET', '/api/v1/zones?limit=1000', { key: a.key });
        assert.ok(!listed.json.items.some((z: { name: string }) => z.name === 'iso-b.test.'));
        const pdnsList = await api.req('GET', '/api/v1/servers/localhost/zones', { key: a.key });
        assert.ok(!pdnsList.json.some((z: { name: string }) => z.name === 'iso-b.test.'));
        const filtered = await api.req('GET', '/api/v1/servers/localhost/zones?zone=iso-b.test.', {
          key: a.key,
        });
        assert.deepEqual(filtered.json, []);
        // A cannot take B's zone name either.
        assert.equal(
          (
            await api.req('POST', '/api/v1/zones', {
              key: a.key,
              body: { name: 'iso-b.test', nameservers: NS },
            })
          ).status,
          409,
        );
        const after1 = await api.req('GET', '/api/v1/zones/iso-b.test', { key: b.key });
        assert.deepEqual(after1.json, before1.json);
      });

      test('a token scoped to listed zones sees only those', async () => {
        const t = await api.tenant('scoped');
        for (const n of ['one.scoped.test', 'two.scoped.test']) {
          assert.equal(
            (await api.req('POST', '/api/v1/zones', { key: t.key, body: { name: n, nameservers: NS } }))
              .status,
            201,
          );
        }
        const s = await api.req('POST', '/api/v1/tokens', {
          key: t.key,
          body: { name: 'one-only', scope: { access: 'write', zones: ['one.scoped.test.'] } },
        });
        assert.equal(s.status, 201, s.text);
        assert.equal(
          (await api.req('GET', '/api/v1/zones/one.scoped.test', { key: s.json.secret })).status,
          200,
        );
        assert.equal(
          (await api.req('GET', '/api/v1/zones/two.scoped.test', { key: s.json.secret })).status,
          404,
        );
        const l = await api.req('GET', '/api/v1/zones', { key: s.json.secret });
        assert.deepEqual(
          l.json.items.map((z: { name: string }) => z.name),
          ['one.scoped.test.'],
        );
      });
    });
  });
}
