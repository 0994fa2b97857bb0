import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTestApi, type TestApi } from '../../test/helpers/api-harness.js';

/** Every route of the native API (method, OpenAPI path). */
const nativeRoutes: [string, string][] = [
  ['get', '/healthz'],
  ['get', '/api/v1/openapi.json'],
  ['post', '/api/v1/accounts'],
  ['get', '/api/v1/accounts'],
  ['get', '/api/v1/accounts/{id}'],
  ['post', '/api/v1/users'],
  ['post', '/api/v1/tokens'],
  ['get', '/api/v1/tokens'],
  ['delete', '/api/v1/tokens/{id}'],
  ['get', '/api/v1/zones'],
  ['post', '/api/v1/zones'],
  ['get', '/api/v1/zones/{zone}'],
  ['patch', '/api/v1/zones/{zone}'],
  ['delete', '/api/v1/zones/{zone}'],
  ['get', '/api/v1/zones/{zone}/rrsets'],
  ['patch', '/api/v1/zones/{zone}/rrsets'],
  ['put', '/api/v1/zones/{zone}/zonefile'],
  ['get', '/api/v1/zones/{zone}/zonefile'],
  ['get', '/api/v1/zones/{zone}/versions'],
  ['get', '/api/v1/zones/{zone}/versions/{version}'],
  ['post', '/api/v1/zones/{zone}/rollback'],
  ['get', '/api/v1/zones/{zone}/shield'],
  ['put', '/api/v1/zones/{zone}/shield'],
  ['delete', '/api/v1/zones/{zone}/shield'],
  ['get', '/api/v1/zones/{zone}/transfer'],
  ['put', '/api/v1/zones/{zone}/transfer'],
  ['get', '/api/v1/zones/{zone}/secondary'],
  ['put', '/api/v1/zones/{zone}/secondary'],
  ['post', '/api/v1/zones/{zone}/secondary/retrieve'],
  ['get', '/api/v1/zones/{zone}/dns-update'],
  ['put', '/api/v1/zones/{zone}/dns-update'],
  ['put', '/api/v1/zones/{zone}/notify'],
  ['get', '/api/v1/tsigkeys'],
  ['post', '/api/v1/tsigkeys'],
  ['get', '/api/v1/tsigkeys/{name}'],
  ['put', '/api/v1/tsigkeys/{name}'],
  ['delete', '/api/v1/tsigkeys/{name}'],
  ['get', '/api/v1/audit'],
  ['get', '/api/v1/deleted-zones'],
  ['get', '/api/v1/deleted-zones/{id}'],
  ['get', '/api/v1/deleted-zones/{id}/versions'],
  ['get', '/api/v1/deleted-zones/{id}/versions/{version}'],
  ['post', '/api/v1/deleted-zones/{id}/restore'],
];

const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

describe('OpenAPI document', () => {
  let api: TestApi;
  // biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document
  let doc: any;
  before(async () => {
    api = await openTestApi();
    const r = await api.req('GET', '/api/v1/openapi.json', { key: null });
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    doc = r.json;
  });
  after(async () => {
    await api.close();
  });

  test('is OpenAPI 3 with a title, description, API-key security scheme and tags', () => {
    assert.match(doc.openapi, /^3\./);
    assert.equal(doc.info.title, 'Switchboard API');
    assert.equal(doc.info.version, '0.1.0-test');
    assert.ok(doc.info.description.length > 50);
    assert.deepEqual(doc.components.securitySchemes.apiKey, {
      type: 'apiKey',
      in: 'header',
      name: 'X-API-Key',
      description: 'An API token secret.',
    });
    assert.deepEqual(doc.security, [{ apiKey: [] }, { bearer: [] }]);
    const tagNames = doc.tags.map((t: { name: string }) => t.name);
    for (const t of [
      'accounts',
      'tokens',
      'zones',
      'rrsets',
      'zonefile',
      'versions',
      'audit',
      'shield',
      'transfers',
      'powerdns',
    ]) {
      assert.ok(tagNames.includes(t), t);
    }
  });

  test('every native route appears, with a tag, a summary and responses', () => {
    for (const [method, path] of nativeRoutes) {
      const op = doc.paths[path]?.[method];
      assert.ok(op, `${method.toUpperCase()} ${path} is missing`);
      assert.ok(op.tags.length > 0 && tagsKnown(op.tags), `${method} ${path} tags`);
      assert.equal(typeof op.summary, 'string', `${method} ${path} summary`);
      assert.ok(Object.keys(op.responses).length > 0, `${method} ${path} responses`);
    }
    // And nothing undocumented: every native operation in the document is in the list above.
    const documented: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item as object).filter((m) => methods.includes(m))) {
        // biome-ignore lint/suspicious/noExplicitAny: an OpenAPI operation
        if (!((item as any)[method].tags as string[]).includes('powerdns'))
          documented.push(`${method} ${path}`);
      }
    }
    assert.deepEqual(documented.sort(), nativeRoutes.map(([m, p]) => `${m} ${p}`).sort());
  });

  test('every documented operation is a real route', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item as object).filter((m) => methods.includes(m))) {
        assert.ok(hasRoute(api, method, path), `${method} ${path}`);
      }
    }
  });

  test('request bodies are described; closed schemas reject unknown fields', () => {
    const patch = doc.paths['/api/v1/zones/{zone}/rrsets'].patch;
    const body = patch.requestBody.content['application/json'].schema;
    assert.equal(body.additionalProperties, false);
    assert.equal(body.properties.changes.items.$ref, '#/components/schemas/RRsetChange');
    assert.equal(doc.components.schemas.RRsetChange.additionalProperties, false);
    assert.deepEqual(doc.components.schemas.RRsetChange.properties.op.enum, [
      'replace',
      'delete',
      'add',
      'remove',
    ]);
    const put = doc.paths['/api/v1/zones/{zone}/zonefile'].put;
    assert.ok(put.requestBody.content['text/dns']);
    assert.ok(
      patch.parameters.some((p: { in: string; name: string }) => p.in === 'header' && p.name === 'if-match'),
    );
    assert.ok(patch.responses['200'].headers.ETag);
  });

  test('every $ref resolves', () => {
    const refs = new Set<string>();
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v !== null && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === '$ref' && typeof x === 'string') refs.add(x);
          else walk(x);
        }
      }
    };
    walk(doc);
    assert.ok(refs.size > 5);
    for (const r of refs) {
      const m = /^#\/components\/schemas\/(.+)$/.exec(r);
      assert.ok(m && doc.components.schemas[m[1]], r);
    }
  });

  test('public routes say they need no key', () => {
    for (const path of ['/healthz', '/api/v1/openapi.json', '/api'])
      assert.deepEqual(doc.paths[path].get.security, [], path);
  });
});

function tagsKnown(tags: string[]): boolean {
  return tags.every((t) =>
    [
      'accounts',
      'tokens',
      'zones',
      'rrsets',
      'zonefile',
      'versions',
      'audit',
      'shield',
      'transfers',
      'system',
    ].includes(t),
  );
}

function hasRoute(api: TestApi, method: string, path: string): boolean {
  return api.app.hasRoute({
    method: method.toUpperCase() as 'GET',
    url: path.replace(/\{([^}]+)\}/g, ':$1'),
  });
}
