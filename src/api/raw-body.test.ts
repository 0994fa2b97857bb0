/**
 * Big JSON bodies are parsed, validated and mapped in the zone-work thread (raw-body.ts,
 * body-decode.ts), not on the request loop. The same bodies, good and bad, sent to an API that
 * reads them on the loop (the default for small bodies) and to one that sends every bulk body
 * to the thread (`rawBodyBytes: 0`), get the same status, code, message and field, and leave
 * the same content; and a body really above the default threshold takes that path.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTestApi, type ReqOptions, type Res, type TestApi } from '../../test/helpers/api-harness.js';

const NS = ['ns1.example.net.', 'ns2.example.net.'];

/** Counts the bodies an API sent to the zone-work thread. */
function countDecodes(api: TestApi): { n: number } {
  const count = { n: 0 };
  const control = api.control;
  const decode = control.decodeBody.bind(control);
  control.decodeBody = (...a) => {
    count.n++;
    return decode(...a);
  };
  return count;
}

function change(i: number, zone = 'big.test') {
  const content = `10.0.${(i >> 8) & 255}.${i & 255}`;
  return { op: 'replace', name: `h${i}.${zone}.`, type: 'A', ttl: 300, records: [{ content }] };
}

/** An account with a small record quota and a write key, made by the administrator. */
async function smallTenant(api: TestApi): Promise<string> {
  const acc = await api.req('POST', '/api/v1/accounts', { body: { name: 'small-quota', maxRecords: 10 } });
  assert.equal(acc.status, 201, acc.text);
  const tok = await api.req('POST', '/api/v1/tokens', {
    body: { name: 'w', accountId: acc.json.id, scope: { access: 'write' } },
  });
  assert.equal(tok.status, 201, tok.text);
  return tok.json.secret;
}

describe('big request bodies off the request loop', () => {
  let loop: TestApi;
  let thread: TestApi;
  let decodes: { n: number };
  before(async () => {
    loop = await openTestApi('sqlite');
    thread = await openTestApi('sqlite', { rawBodyBytes: 0 });
    decodes = countDecodes(thread);
    for (const api of [loop, thread]) {
      for (const name of ['z.test', 'p.test', 'big.test']) {
        const r = await api.req('POST', '/api/v1/zones', { body: { name, nameservers: NS } });
        assert.equal(r.status, 201, r.text);
      }
    }
  });
  after(async () => {
    await loop.close();
    await thread.close();
  });

  /** Sends the request to both APIs: the same answer (status, code, error, field) from each. */
  async function same(method: string, url: string, opts: ReqOptions): Promise<Res> {
    const before = decodes.n;
    const a = await loop.req(method, url, opts);
    const b = await thread.req(method, url, opts);
    const sent = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    const what = `${method} ${url} ${sent.slice(0, 200)}`;
    assert.equal(b.status, a.status, `${what}: ${a.text} / ${b.text}`);
    if (a.status >= 400) {
      assert.equal(b.json?.code, a.json?.code, what);
      assert.equal(b.json?.field, a.json?.field, what);
      assert.equal(b.json?.error, a.json?.error, what);
    }
    assert.equal(decodes.n, before + 1, `${what}: went to the zone-work thread`);
    return a;
  }

  test('native PATCH rrsets: the same 4xx and field for every bad body, the same result for good ones', async () => {
    const url = '/api/v1/zones/z.test./rrsets';
    const ok = change(1, 'z.test');
    const bad: Array<[unknown, number, string | undefined]> = [
      [{ changes: 'x' }, 400, 'changes'],
      [{ changes: [] }, 400, 'changes'],
      [{ changes: [{ ...ok, ttl: '300' }] }, 400, 'changes[0].ttl'],
      [{ changes: [ok], bogus: 1 }, 400, 'bogus'],
      [{ changes: [{ op: 'replace', name: 'a.z.test.', type: 'A', records: [] }] }, 400, 'changes[0].ttl'],
      [{ changes: [ok, { ...ok, name: 'bad name.z.test.' }] }, 400, 'changes[1].name'],
      [{ changes: [ok, { ...ok, name: 'x.z.test.', records: [{ content: '300.1.1.1' }] }] }, 422, undefined],
      [{ changes: [{ ...ok, name: 'out.of.zone.' }] }, 422, undefined],
      [
        { changes: [{ ...ok, records: [{ content: '192.0.2.1', extra: true }] }] },
        400,
        'changes[0].records[0].extra',
      ],
      [{ comment: 'x'.repeat(1001), changes: [ok] }, 400, 'comment'],
      [[], 400, 'body'],
    ];
    for (const [body, status, field] of bad) {
      const r = await same('PATCH', url, { body });
      assert.equal(r.status, status, JSON.stringify(body));
      if (field !== undefined) assert.equal(r.json.field, field, JSON.stringify(body));
    }
    // Not JSON, prototype poisoning: the parser's own 400s.
    for (const text of ['{"changes": [', `{"__proto__": {"x": 1}, "changes": [${JSON.stringify(ok)}]}`]) {
      const r = await same('PATCH', url, { body: text, headers: { 'content-type': 'application/json' } });
      assert.equal(r.status, 400, text);
    }
    // A good one: the same new content, comment kept.
    const good = await same('PATCH', url, {
      body: { changes: [ok, { op: 'delete', name: 'gone.z.test.', type: 'TXT' }], comment: 'via thread' },
    });
    assert.equal(good.status, 200);
    assert.deepEqual(
      (await thread.req('GET', '/api/v1/zones/z.test.')).json.rrsets,
      (await loop.req('GET', '/api/v1/zones/z.test.')).json.rrsets,
    );
    for (const api of [loop, thread]) {
      const v = await api.req('GET', '/api/v1/zones/z.test./versions');
      assert.equal(v.json.items[0].comment, 'via thread');
    }
    // dryRun from the query string still applies.
    const plan = await same('PATCH', `${url}?dryRun=true`, {
      body: { changes: [{ ...ok, name: 'plan.z.test.' }] },
    });
    assert.equal(plan.json.dryRun, true);
    assert.deepEqual(plan.json.addedRecords.length > 0, true);
  });

  test("the account's record budget is counted before any record is built, on both paths", async () => {
    const many = Array.from({ length: 20 }, (_, i) => change(i, 'q.test'));
    const results: Res[] = [];
    for (const api of [loop, thread]) {
      const key = await smallTenant(api);
      const made = await api.req('POST', '/api/v1/zones', { key, body: { name: 'q.test', nameservers: NS } });
      assert.equal(made.status, 201, made.text);
      results.push(await api.req('PATCH', '/api/v1/zones/q.test./rrsets', { key, body: { changes: many } }));
      results.push(
        await api.req('POST', '/api/v1/zones', {
          key,
          body: {
            name: 'q2.test',
            nameservers: NS,
            rrsets: many.map(({ op: _op, ...r }) => ({ ...r, name: r.name.replace('q.test', 'q2.test') })),
          },
        }),
      );
    }
    for (const r of results) {
      assert.equal(r.status, 403, r.text);
      assert.equal(r.json.code, 'CTL_ERR_QUOTA');
      assert.equal(r.json.field, 'rrsets');
    }
    assert.equal(results[2].json.error, results[0].json.error);
    assert.equal(results[3].json.error, results[1].json.error);
  });

  test('native POST zones: the same 4xx and field, the same zone', async () => {
    const rr = (name: string) => ({ name, type: 'A', ttl: 300, records: [{ content: '192.0.2.7' }] });
    const bad: Array<[unknown, number, string | undefined]> = [
      [{ name: 'c1.test', nameservers: NS, rrsets: [rr('a.c1.test.')], zonefile: '' }, 400, 'zonefile'],
      [
        { name: 'c1.test', nameservers: NS, rrsets: [{ name: 'a.c1.test.', type: 'A', ttl: 300 }] },
        400,
        'rrsets[0].records',
      ],
      [{ name: 'c1.test', nameservers: ['bad name!'] }, 422, 'nameservers[0]'],
      [{ name: 'c1 test', nameservers: NS }, 400, 'name'],
      [
        { name: 'c1.test', nameservers: NS, rrsets: [rr('a.c1.test.'), rr('b c.c1.test.')] },
        400,
        'rrsets[1].name',
      ],
      [
        {
          name: 'c1.test',
          nameservers: NS,
          rrsets: [{ ...rr('a.c1.test.'), records: [{ content: 'nope' }] }],
        },
        422,
        undefined,
      ],
      [{ name: 'c1.test', nameservers: NS, kind: 'Slave' }, 422, 'masters'],
      [{ name: 'z.test', nameservers: NS }, 409, 'name'],
      [{ nameservers: NS }, 400, 'name'],
    ];
    for (const [body, status, field] of bad) {
      const r = await same('POST', '/api/v1/zones', { body });
      assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
      if (field !== undefined) assert.equal(r.json.field, field, JSON.stringify(body));
    }
    const good = await same('POST', '/api/v1/zones', {
      body: {
        name: 'c2.test',
        nameservers: NS,
        rrsets: [rr('a.c2.test'), rr('b.c2.test.')],
        accountLabel: 'x',
      },
    });
    assert.equal(good.status, 201);
    const zf = await same('POST', '/api/v1/zones', {
      body: { name: 'c3.test', zonefile: `@ 300 IN NS ns1.example.net.\nwww 300 IN A 192.0.2.1\n` },
    });
    assert.equal(zf.status, 201);
    for (const name of ['c2.test.', 'c3.test.']) {
      const a = await loop.req('GET', `/api/v1/zones/${name}`);
      const b = await thread.req('GET', `/api/v1/zones/${name}`);
      assert.deepEqual(b.json.rrsets, a.json.rrsets);
      assert.equal(b.json.accountLabel, a.json.accountLabel);
    }
  });

  test('PowerDNS PATCH, POST and PUT: the same 422s and fields, the same effect', async () => {
    const zoneUrl = '/api/v1/servers/localhost/zones/p.test.';
    const a = (name: string, extra: Record<string, unknown> = {}) => ({
      name,
      type: 'A',
      changetype: 'REPLACE',
      ttl: 300,
      records: [{ content: '192.0.2.9', disabled: false }],
      ...extra,
    });
    const bad: Array<[unknown, number, string | undefined]> = [
      [{ rrsets: [a('x.p.test.', { changetype: 'BOGUS' })] }, 422, 'rrsets[0].changetype'],
      [{ rrsets: [a('x.p.test.', { ttl: undefined })] }, 422, 'rrsets[0].ttl'],
      [{ rrsets: [a('x.p.test.'), a('x.p.test.')] }, 422, 'rrsets[1]'],
      [
        { rrsets: [a('n.p.test.', { records: null }), a('y.p.test.', { records: [{ content: 'bad' }] })] },
        422,
        undefined,
      ],
      // PowerDNS leniency: types are converted ('x' becomes ['x']).
      [{ rrsets: 'x' }, 422, 'rrsets[0]'],
      [{}, 422, 'rrsets'],
    ];
    for (const [body, status, field] of bad) {
      const r = await same('PATCH', zoneUrl, { body });
      assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
      if (field !== undefined) assert.equal(r.json.field, field, JSON.stringify(body));
    }
    // The error of an entry after a skipped one names its own index (rrsets[1]…).
    const skipped = await same('PATCH', zoneUrl, {
      body: {
        rrsets: [a('n.p.test.', { records: null }), a('y.p.test.', { records: [{ content: 'bad' }] })],
      },
    });
    assert.match(String(skipped.json.field), /^rrsets\[1\]/);
    // PowerDNS leniency: a TTL as a string is read; text/plain JSON is read; nothing to do is 204.
    assert.equal(
      (await same('PATCH', zoneUrl, { body: { rrsets: [a('s.p.test.', { ttl: '600' })] } })).status,
      204,
    );
    const plain = await same('PATCH', zoneUrl, {
      body: JSON.stringify({ rrsets: [a('t.p.test.')] }),
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(plain.status, 204);
    assert.equal((await same('PATCH', zoneUrl, { body: { rrsets: [] } })).status, 204);
    for (const api of [loop, thread]) {
      const z = await api.req('GET', zoneUrl);
      const s = z.json.rrsets.find((r: { name: string }) => r.name === 's.p.test.');
      assert.equal(s?.ttl, 600);
      assert.ok(z.json.rrsets.some((r: { name: string }) => r.name === 't.p.test.'));
    }

    const zones = '/api/v1/servers/localhost/zones';
    const badCreate: Array<[unknown, number, string | undefined]> = [
      [
        {
          name: 'd1.test.',
          kind: 'Native',
          nameservers: NS,
          zone: '@ NS ns1.example.net.\n',
          rrsets: [a('w.d1.test.')],
        },
        422,
        'zone',
      ],
      [{ name: 'd1.test.', kind: 'Native', masters: ['192.0.2.1'], nameservers: NS }, 422, 'masters'],
      [
        { name: 'd1.test.', kind: 'Native', nameservers: NS, rrsets: [a('w.d1.test.', { ttl: undefined })] },
        422,
        'rrsets[0].ttl',
      ],
      // A taken name is 409 before the bad RRsets are looked at, as PowerDNS answers.
      [
        { name: 'p.test.', kind: 'Native', nameservers: NS, rrsets: [a('w.p.test.', { ttl: undefined })] },
        409,
        'name',
      ],
      [{ name: 'd1.test.', kind: 'Native', nameservers: NS, rrsets: 'x' }, 422, 'rrsets[0]'],
    ];
    for (const [body, status, field] of badCreate) {
      const r = await same('POST', zones, { body });
      assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
      if (field !== undefined) assert.equal(r.json.field, field, JSON.stringify(body));
    }
    const made = await same('POST', `${zones}?rrsets=true`, {
      body: { name: 'd2.test.', kind: 'Master', nameservers: NS, rrsets: [a('w.d2.test.')], account: 'lbl' },
    });
    assert.equal(made.status, 201);

    // PUT of settings, sent as a whole zone back (its RRsets ignored).
    const zone = (await loop.req('GET', `${zones}/d2.test.`)).json;
    assert.equal((await same('PUT', `${zones}/d2.test.`, { body: { ...zone, kind: 'Native' } })).status, 204);
    const slave = await same('PUT', `${zones}/d2.test.`, { body: { ...zone, kind: 'Slave' } });
    assert.equal(slave.status, 422);
    for (const api of [loop, thread]) {
      const z = await api.req('GET', `${zones}/d2.test.`);
      assert.equal(z.json.kind, 'Native');
      assert.equal(z.json.account, 'lbl');
    }
  });

  test("a big zone's creation answers its RRsets as a small one does (spliced from text made off the loop)", async () => {
    const rrsets = (zone: string) =>
      Array.from({ length: 2500 }, (_, i) => ({
        name: `r${i}.${zone}.`,
        type: 'TXT',
        ttl: 300,
        records: [{ content: `"$& $1 \\"rrsets\\":x ${i}"` }],
      }));
    const made = await loop.req('POST', '/api/v1/zones', {
      body: { name: 'many.test', nameservers: NS, rrsets: rrsets('many.test'), accountLabel: '"rrsets":"x"' },
    });
    assert.equal(made.status, 201, made.text.slice(0, 300));
    assert.equal(made.headers.etag, '"1"');
    assert.equal(made.headers.location, '/api/v1/zones/many.test.');
    const got = await loop.req('GET', '/api/v1/zones/many.test.');
    assert.equal(made.json.rrsets.length, 2502);
    assert.deepEqual(made.json.rrsets, got.json.rrsets);
    const { rrsets: _a, ...info } = made.json;
    const { rrsets: _b, ...infoGot } = got.json;
    assert.deepEqual(info, infoGot);
    assert.equal(info.accountLabel, '"rrsets":"x"');
    // SOA, two NS, 2,500 TXT.
    assert.equal(info.recordCount, 2503);

    const zones = '/api/v1/servers/localhost/zones';
    const p = await loop.req('POST', zones, {
      body: {
        name: 'many2.test.',
        kind: 'Native',
        nameservers: NS,
        rrsets: rrsets('many2.test').map((r) => ({ ...r, changetype: 'REPLACE' })),
      },
    });
    assert.equal(p.status, 201, p.text.slice(0, 300));
    const pg = await loop.req('GET', `${zones}/many2.test.`);
    assert.equal(p.json.rrsets.length, 2502);
    assert.deepEqual(p.json, pg.json);
    assert.deepEqual(Object.keys(p.json), Object.keys(pg.json));
    const noRRsets = await loop.req('POST', `${zones}?rrsets=false`, {
      body: { name: 'many3.test.', kind: 'Native', nameservers: NS, rrsets: rrsets('many3.test') },
    });
    assert.equal(noRRsets.status, 201);
    assert.equal(noRRsets.json.rrsets, undefined);
  });

  test('body caps: 1 MiB on the small routes, a 413 read no further', async () => {
    const big = { name: 'x'.repeat(1024 * 1024) };
    const r = await loop.req('POST', '/api/v1/accounts', { body: big });
    assert.equal(r.status, 413, r.text);
    assert.equal(r.json.code, 'API_ERR_TOO_LARGE');
    // The same size is read on a bulk route (decoded in the thread; then the name is refused).
    const counted = countDecodes(loop);
    const z = await loop.req('POST', '/api/v1/zones', { body: { ...big, nameservers: NS } });
    assert.equal(z.status, 422, z.text);
    assert.equal(z.json.field, 'name');
    assert.equal(counted.n, 1);
  });

  test('a body above the default threshold (256 KiB) is decoded in the thread: same answers', async () => {
    const counted = countDecodes(loop);
    const changes = Array.from({ length: 3000 }, (_, i) => change(i));
    const body = { changes };
    assert.ok(JSON.stringify(body).length > 256 * 1024);
    const badLast = { changes: [...changes.slice(0, -1), { ...changes[0], ttl: 'x' }] };
    const r1 = await loop.req('PATCH', '/api/v1/zones/big.test./rrsets', { body: badLast });
    assert.equal(r1.status, 400, r1.text);
    assert.equal(r1.json.field, 'changes[2999].ttl');
    const badRecord = {
      changes: [
        ...changes.slice(0, -1),
        { ...changes[0], name: 'last.big.test.', records: [{ content: 'x' }] },
      ],
    };
    const r2 = await loop.req('PATCH', '/api/v1/zones/big.test./rrsets', { body: badRecord });
    assert.equal(r2.status, 422, r2.text);
    assert.match(String(r2.json.field), /^changes\[2999\]/);
    const ok = await loop.req('PATCH', '/api/v1/zones/big.test./rrsets', { body });
    assert.equal(ok.status, 200, ok.text);
    // SOA, two NS and the 3,000 new A records.
    assert.equal(ok.json.recordCount, 3003);
    assert.equal(counted.n, 3);
    // Small bodies stay on the loop.
    const small = await loop.req('PATCH', '/api/v1/zones/big.test./rrsets', {
      body: { changes: [change(5000)] },
    });
    assert.equal(small.status, 200);
    assert.equal(counted.n, 3);
  });
});
