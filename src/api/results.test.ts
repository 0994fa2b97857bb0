/**
 * What the API reports about a change (issue 6 item 2): bodies taken with their JSON types,
 * `changed: false` when nothing changed, dry runs, warnings, host-name checks of name servers,
 * short quotes of refused values, and disabled records through export and import.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTestApi, type TestApi } from '../../test/helpers/api-harness.js';

const NS = ['ns1.example.net.', 'ns2.example.net.'];
const PDNS_ZONES = '/api/v1/servers/localhost/zones';

describe('what the native API reports about changes', () => {
  let api: TestApi;
  before(async () => {
    api = await openTestApi('sqlite');
  });
  after(async () => {
    await api.close();
  });

  async function zone(name: string): Promise<{ key: string; etag: string }> {
    const t = await api.tenant(`acct-${name}`);
    const c = await api.req('POST', '/api/v1/zones', { key: t.key, body: { name, nameservers: NS } });
    assert.equal(c.status, 201, c.text);
    return { key: t.key, etag: c.headers.etag as string };
  }

  test('JSON bodies are not coerced: a string TTL or a string boolean is a 400 naming the field', async () => {
    const { key } = await zone('types.test');
    const ttl = await api.req('PATCH', '/api/v1/zones/types.test/rrsets', {
      key,
      body: { changes: [{ op: 'replace', name: 'www.types.test.', type: 'A', ttl: '300', records: [] }] },
    });
    assert.equal(ttl.status, 400, ttl.text);
    assert.equal(ttl.json.field, 'changes[0].ttl');
    assert.equal(ttl.json.error, 'changes[0].ttl must be an integer (a JSON number, not a string)');
    const create = await api.req('POST', '/api/v1/zones', {
      key,
      body: {
        name: 'types2.test',
        nameservers: NS,
        rrsets: [{ name: 'types2.test.', type: 'A', ttl: '60', records: [] }],
      },
    });
    assert.equal(create.status, 400);
    assert.equal(create.json.field, 'rrsets[0].ttl');
    const admin = await api.req('POST', '/api/v1/tokens', {
      body: { name: 'sneaky', scope: { admin: 'true', access: 'write' } },
    });
    assert.equal(admin.status, 400, admin.text);
    assert.equal(admin.json.field, 'scope.admin');
    assert.match(admin.json.error, /must be true or false \(a JSON boolean, not a string\)/);
    const quota = await api.req('POST', '/api/v1/accounts', { body: { name: 'q', maxZones: '5' } });
    assert.equal(quota.status, 400);
    assert.equal(quota.json.field, 'maxZones');
  });

  test('{"changes": "x"} says that changes must be a list', async () => {
    const { key } = await zone('list.test');
    const r = await api.req('PATCH', '/api/v1/zones/list.test/rrsets', { key, body: { changes: 'x' } });
    assert.equal(r.status, 400);
    assert.equal(r.json.field, 'changes');
    assert.equal(r.json.error, 'changes must be a list (JSON array)');
  });

  test('query strings and path parameters are still read as their types', async () => {
    const { key } = await zone('query.test');
    const page = await api.req('GET', '/api/v1/zones?limit=1', { key });
    assert.equal(page.status, 200);
    assert.equal(page.json.items.length, 1);
    const v = await api.req('GET', '/api/v1/zones/query.test/versions/1', { key });
    assert.equal(v.status, 200);
    assert.equal(v.json.version, 1);
    const bad = await api.req('GET', '/api/v1/zones?limit=many', { key });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error, 'limit must be an integer');
    const dry = await api.req('PATCH', '/api/v1/zones/query.test/rrsets?dryRun=perhaps', {
      key,
      body: { changes: [{ op: 'delete', name: 'www.query.test.', type: 'A' }] },
    });
    assert.equal(dry.status, 400);
    assert.equal(dry.json.field, 'dryRun');
  });

  test('a change that changes nothing says so: changed false, same version and ETag', async () => {
    const { key, etag } = await zone('noop.test');
    const r = await api.req('PATCH', '/api/v1/zones/noop.test/rrsets', {
      key,
      body: {
        changes: [{ op: 'remove', name: 'www.noop.test.', type: 'A', records: [{ content: '192.0.2.99' }] }],
      },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.changed, false);
    assert.equal(r.json.version, 1);
    assert.equal(r.headers.etag, etag);
    const rb = await api.req('POST', '/api/v1/zones/noop.test/rollback', { key, body: { version: 1 } });
    assert.equal(rb.status, 200, rb.text);
    assert.equal(rb.json.changed, false);
    const text = (await api.req('GET', '/api/v1/zones/noop.test/zonefile', { key })).text;
    const imp = await api.req('PUT', '/api/v1/zones/noop.test/zonefile', {
      key,
      body: text,
      headers: { 'content-type': 'text/dns' },
    });
    assert.equal(imp.json.changed, false);
    assert.equal(imp.json.version, 1);
    const versions = await api.req('GET', '/api/v1/zones/noop.test/versions', { key });
    assert.equal(versions.json.items.length, 1);
  });

  test('?dryRun=true answers the diff, applies nothing; the plan applies with its version as If-Match', async () => {
    const { key, etag } = await zone('dry.test');
    const body = {
      changes: [
        { op: 'replace', name: 'www.dry.test.', type: 'A', ttl: 60, records: [{ content: '192.0.2.1' }] },
      ],
    };
    const plan = await api.req('PATCH', '/api/v1/zones/dry.test/rrsets?dryRun=true', { key, body });
    assert.equal(plan.status, 200, plan.text);
    assert.equal(plan.json.dryRun, true);
    assert.equal(plan.json.changed, true);
    assert.equal(plan.headers.etag, etag);
    assert.deepEqual(plan.json.addedRecords.slice(1), ['www.dry.test.\t60\tIN\tA\t192.0.2.1']);
    assert.match(plan.json.removedRecords[0], /^dry\.test\.\t3600\tIN\tSOA\t/);
    assert.equal((await api.req('GET', '/api/v1/zones/dry.test', { key })).json.version, 1);
    const apply = await api.req('PATCH', '/api/v1/zones/dry.test/rrsets', {
      key,
      body,
      headers: { 'if-match': plan.headers.etag as string },
    });
    assert.equal(apply.status, 200);
    assert.equal(apply.json.dryRun, undefined);
    assert.equal(apply.json.version, 2);
    const text = `${(await api.req('GET', '/api/v1/zones/dry.test/zonefile', { key })).text}mail.dry.test. 60 IN A 192.0.2.25\n`;
    const imp = await api.req('PUT', '/api/v1/zones/dry.test/zonefile?dryRun=true&comment=plan', {
      key,
      body: text,
      headers: { 'content-type': 'text/dns' },
    });
    assert.equal(imp.status, 200, imp.text);
    assert.equal(imp.json.dryRun, true);
    assert.ok(imp.json.addedRecords.includes('mail.dry.test.\t60\tIN\tA\t192.0.2.25'));
    const rb = await api.req('POST', '/api/v1/zones/dry.test/rollback?dryRun=true', {
      key,
      body: { version: 1 },
    });
    assert.equal(rb.status, 200, rb.text);
    assert.ok(rb.json.removedRecords.includes('www.dry.test.\t60\tIN\tA\t192.0.2.1'));
    assert.equal((await api.req('GET', '/api/v1/zones/dry.test', { key })).json.version, 2);
    // A dry run refuses what the change would refuse.
    const bad = await api.req('PATCH', '/api/v1/zones/dry.test/rrsets?dryRun=true', {
      key,
      body: {
        changes: [{ op: 'replace', name: 'www.dry.test.', type: 'A', ttl: 60, records: [{ content: 'x' }] }],
      },
    });
    assert.equal(bad.status, 422);
    assert.equal(bad.json.field, 'changes[0].records[0].content');
  });

  test('nameservers must be host names, in both APIs', async () => {
    const t = await api.tenant('ns-acct');
    const r = await api.req('POST', '/api/v1/zones', {
      key: t.key,
      body: { name: 'ns.test', nameservers: ['ns1.example.net', 'bad name!'] },
    });
    assert.equal(r.status, 422, r.text);
    assert.equal(r.json.field, 'nameservers[1]');
    assert.match(r.json.error, /'bad name!' is not a host name/);
    const p = await api.req('POST', PDNS_ZONES, {
      key: t.key,
      body: { name: 'ns.test.', kind: 'Native', nameservers: ['bad name!.'] },
    });
    assert.equal(p.status, 422, p.text);
    assert.match(p.json.error, /is not a host name/);
    assert.equal((await api.req('GET', '/api/v1/zones/ns.test', { key: t.key })).status, 404);
  });

  test('in-zone NS targets without addresses are warned about in the answer', async () => {
    const t = await api.tenant('warn-acct');
    const c = await api.req('POST', '/api/v1/zones', {
      key: t.key,
      body: { name: 'warn.test', nameservers: ['ns1.warn.test'] },
    });
    assert.equal(c.status, 201, c.text);
    assert.deepEqual(c.json.warnings, [
      "warn.test. NS: NS 'ns1.warn.test.' has no address records (A or AAAA)",
    ]);
    const fix = await api.req('PATCH', '/api/v1/zones/warn.test/rrsets', {
      key: t.key,
      body: {
        changes: [
          { op: 'replace', name: 'ns1.warn.test.', type: 'A', ttl: 60, records: [{ content: '192.0.2.53' }] },
        ],
      },
    });
    assert.equal(fix.status, 200);
    assert.equal(fix.json.warnings, undefined);
    const glueless = await api.req('PATCH', '/api/v1/zones/warn.test/rrsets', {
      key: t.key,
      body: {
        changes: [
          {
            op: 'replace',
            name: 'sub.warn.test.',
            type: 'NS',
            ttl: 60,
            records: [{ content: 'ns.sub.warn.test.' }],
          },
        ],
      },
    });
    assert.equal(glueless.status, 422);
    assert.match(glueless.json.error, /no required glue/);
  });

  test('a refused oversized value is quoted by its first 64 characters, not echoed whole', async () => {
    const { key } = await zone('big.test');
    const content = `"${'a'.repeat(65536)}"`;
    const r = await api.req('PATCH', '/api/v1/zones/big.test/rrsets', {
      key,
      body: {
        changes: [{ op: 'replace', name: 'txt.big.test.', type: 'TXT', ttl: 60, records: [{ content }] }],
      },
    });
    assert.equal(r.status, 422);
    assert.ok(r.text.length < 1000, `${r.text.length} bytes of error`);
    assert.ok(r.json.error.includes(`${content.slice(0, 64)}… (65538 characters)`), r.json.error);
  });

  test('disabled records survive export → import, and the version diff shows them', async () => {
    const { key } = await zone('dis.test');
    const set = await api.req('PATCH', '/api/v1/zones/dis.test/rrsets', {
      key,
      body: {
        changes: [
          {
            op: 'replace',
            name: 'www.dis.test.',
            type: 'A',
            ttl: 300,
            records: [{ content: '192.0.2.1' }, { content: '192.0.2.9', disabled: true }],
          },
        ],
      },
    });
    assert.equal(set.status, 200);
    const diff = await api.req('GET', `/api/v1/zones/dis.test/versions/${set.json.version}`, { key });
    assert.ok(diff.json.addedRecords.includes(';disabled; www.dis.test.\t300\tIN\tA\t192.0.2.9'));
    const text = (await api.req('GET', '/api/v1/zones/dis.test/zonefile', { key })).text;
    assert.match(text, /^;disabled; www\.dis\.test\.\t300\tIN\tA\t192\.0\.2\.9$/m);
    // Into another zone of the same name elsewhere: delete and create from the export.
    assert.equal((await api.req('DELETE', '/api/v1/zones/dis.test', { key })).status, 204);
    const again = await api.req('POST', '/api/v1/zones', { key, body: { name: 'dis.test', zonefile: text } });
    assert.equal(again.status, 201, again.text);
    const www = again.json.rrsets.find((r: { name: string; type: string }) => r.type === 'A');
    assert.deepEqual(www.records, [
      { content: '192.0.2.1', disabled: false },
      { content: '192.0.2.9', disabled: true },
    ]);
  });
});
