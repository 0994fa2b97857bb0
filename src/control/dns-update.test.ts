/**
 * RFC 2136 over a zone's content: prerequisites (§3.2), the update section's checks (§3.4.1)
 * and its processing (§3.4.2), with the RFC's silent ignores.
 * @module
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rcode, RRType } from '../wire/constants.js';
import { Name } from '../wire/name.js';
import { rdataFromText } from '../wire/rdata.js';
import { CLASS_ANY, CLASS_NONE, type UpdateRR } from '../xfr/update-types.js';
import { tokenizeText } from '../zone/lexer.js';
import { applyDnsUpdate, rdataIdentity } from './dns-update.js';
import { applyChanges, prepareChanges } from './edit.js';
import { nameKeyOf, rrsetKey, type ZoneContent } from './records.js';

const IN = 1;
const ANY = 255;
const limits = { maxTtl: 86400, maxRecordsPerRRset: 4 };
const origin = Name.parse('example.com.');

function zone(): ZoneContent {
  const content: ZoneContent = new Map();
  const changes = prepareChanges(
    [
      {
        op: 'replace',
        name: 'example.com.',
        type: 'SOA',
        ttl: 3600,
        records: [{ content: 'ns1.example.com. h.example.com. 10 3600 600 86400 300' }],
      },
      {
        op: 'replace',
        name: 'example.com.',
        type: 'NS',
        ttl: 3600,
        records: [{ content: 'ns1.example.com.' }],
      },
      { op: 'replace', name: 'ns1.example.com.', type: 'A', ttl: 3600, records: [{ content: '192.0.2.1' }] },
      {
        op: 'replace',
        name: 'www.example.com.',
        type: 'A',
        ttl: 300,
        records: [{ content: '192.0.2.10' }, { content: '192.0.2.11' }],
      },
      {
        op: 'replace',
        name: 'alias.example.com.',
        type: 'CNAME',
        ttl: 300,
        records: [{ content: 'www.example.com.' }],
      },
      {
        op: 'replace',
        name: 'mx.example.com.',
        type: 'MX',
        ttl: 300,
        records: [{ content: '10 Mail.Example.com.' }],
      },
    ],
    origin,
    limits,
  );
  applyChanges(content, changes, limits);
  return content;
}

function rr(name: string, cls: number, type: number, ttl: number, text?: string): UpdateRR {
  const rdata =
    text === undefined ? '' : Buffer.from(rdataFromText(type, tokenizeText(text), origin)).toString('hex');
  return { name, class: cls, type, ttl, rdata };
}

function run(prereqs: UpdateRR[], updates: UpdateRR[], content = zone()) {
  return applyDnsUpdate(content, origin, IN, prereqs, updates, limits);
}

function rrset(c: ZoneContent, name: string, type: number) {
  return c.get(rrsetKey(nameKeyOf(Name.parse(name)), type));
}

function draftOf(o: ReturnType<typeof run>): ZoneContent {
  assert.equal(o.rcode, Rcode.NOERROR, 'reason' in o ? o.reason : '');
  return (o as { draft: ZoneContent }).draft;
}

describe('prerequisites (RFC 2136 §3.2)', () => {
  test('name in use / not in use', () => {
    assert.equal(run([rr('www.example.com.', CLASS_ANY, ANY, 0)], []).rcode, Rcode.NOERROR);
    assert.equal(run([rr('nope.example.com.', CLASS_ANY, ANY, 0)], []).rcode, Rcode.NXDOMAIN);
    assert.equal(run([rr('nope.example.com.', CLASS_NONE, ANY, 0)], []).rcode, Rcode.NOERROR);
    assert.equal(run([rr('www.example.com.', CLASS_NONE, ANY, 0)], []).rcode, Rcode.YXDOMAIN);
    // An empty non-terminal is not "in use" (no RR has that name).
    assert.equal(run([rr('example.com.', CLASS_ANY, ANY, 0)], []).rcode, Rcode.NOERROR);
  });

  test('RRset exists (value independent) / does not exist', () => {
    assert.equal(run([rr('www.example.com.', CLASS_ANY, RRType.A, 0)], []).rcode, Rcode.NOERROR);
    assert.equal(run([rr('www.example.com.', CLASS_ANY, RRType.AAAA, 0)], []).rcode, Rcode.NXRRSET);
    assert.equal(run([rr('www.example.com.', CLASS_NONE, RRType.AAAA, 0)], []).rcode, Rcode.NOERROR);
    assert.equal(run([rr('www.example.com.', CLASS_NONE, RRType.A, 0)], []).rcode, Rcode.YXRRSET);
  });

  test('RRset exists (value dependent): the whole set must match, names without regard to case', () => {
    const both = [
      rr('www.example.com.', IN, RRType.A, 0, '192.0.2.11'),
      rr('www.example.com.', IN, RRType.A, 0, '192.0.2.10'),
    ];
    assert.equal(run(both, []).rcode, Rcode.NOERROR);
    assert.equal(run(both.slice(0, 1), []).rcode, Rcode.NXRRSET);
    assert.equal(
      run([...both, rr('www.example.com.', IN, RRType.A, 0, '192.0.2.12')], []).rcode,
      Rcode.NXRRSET,
    );
    assert.equal(
      run([rr('mx.example.com.', IN, RRType.MX, 0, '10 mail.EXAMPLE.com.')], []).rcode,
      Rcode.NOERROR,
    );
    assert.equal(
      run([rr('mx.example.com.', IN, RRType.MX, 0, '20 mail.example.com.')], []).rcode,
      Rcode.NXRRSET,
    );
  });

  test('malformed prerequisites: FORMERR; outside the zone: NOTZONE', () => {
    assert.equal(run([rr('www.example.com.', CLASS_ANY, RRType.A, 5)], []).rcode, Rcode.FORMERR);
    assert.equal(
      run([{ ...rr('www.example.com.', CLASS_ANY, RRType.A, 0), rdata: '00' }], []).rcode,
      Rcode.FORMERR,
    );
    assert.equal(run([rr('www.example.com.', 3, RRType.A, 0)], []).rcode, Rcode.FORMERR);
    assert.equal(run([rr('www.example.net.', CLASS_ANY, ANY, 0)], []).rcode, Rcode.NOTZONE);
  });
});

describe('updates (RFC 2136 §3.4)', () => {
  test('add to an RRset: one TTL for the set, a duplicate replaced, not doubled', () => {
    const d = draftOf(
      run(
        [],
        [
          rr('www.example.com.', IN, RRType.A, 60, '192.0.2.12'),
          rr('www.example.com.', IN, RRType.A, 60, '192.0.2.10'),
        ],
      ),
    );
    const s = rrset(d, 'www.example.com.', RRType.A);
    assert.deepEqual(s?.records.map((r) => r.content).sort(), ['192.0.2.10', '192.0.2.11', '192.0.2.12']);
    assert.equal(s?.ttl, 60);
    // A new name.
    const n = draftOf(run([], [rr('new.example.com.', IN, RRType.TXT, 60, '"hello world"')]));
    assert.deepEqual(rrset(n, 'new.example.com.', RRType.TXT)?.records, [
      { content: '"hello world"', disabled: false },
    ]);
  });

  test('delete an RRset, a name, one record; the apex keeps its SOA and NS', () => {
    let d = draftOf(run([], [rr('www.example.com.', CLASS_ANY, RRType.A, 0)]));
    assert.equal(rrset(d, 'www.example.com.', RRType.A), undefined);
    d = draftOf(run([], [rr('www.example.com.', CLASS_NONE, RRType.A, 0, '192.0.2.10')]));
    assert.deepEqual(
      rrset(d, 'www.example.com.', RRType.A)?.records.map((r) => r.content),
      ['192.0.2.11'],
    );
    d = draftOf(
      run([], [rr('example.com.', CLASS_ANY, ANY, 0), rr('example.com.', CLASS_ANY, RRType.NS, 0)]),
    );
    assert.ok(rrset(d, 'example.com.', RRType.SOA));
    assert.ok(rrset(d, 'example.com.', RRType.NS));
    // The last apex NS stays.
    d = draftOf(run([], [rr('example.com.', CLASS_NONE, RRType.NS, 0, 'ns1.example.com.')]));
    assert.ok(rrset(d, 'example.com.', RRType.NS));
    d = draftOf(run([], [rr('mx.example.com.', CLASS_NONE, RRType.MX, 0, '10 MAIL.example.com.')]));
    assert.equal(rrset(d, 'mx.example.com.', RRType.MX), undefined);
  });

  test('CNAME exclusivity: conflicting adds are ignored, a CNAME replaces a CNAME', () => {
    let d = draftOf(run([], [rr('alias.example.com.', IN, RRType.A, 60, '192.0.2.5')]));
    assert.equal(rrset(d, 'alias.example.com.', RRType.A), undefined);
    d = draftOf(run([], [rr('www.example.com.', IN, RRType.CNAME, 60, 'x.example.net.')]));
    assert.equal(rrset(d, 'www.example.com.', RRType.CNAME), undefined);
    d = draftOf(run([], [rr('alias.example.com.', IN, RRType.CNAME, 60, 'other.example.net.')]));
    assert.deepEqual(
      rrset(d, 'alias.example.com.', RRType.CNAME)?.records.map((r) => r.content),
      ['other.example.net.'],
    );
    // Deleting the CNAME first lets other data in, in the same message (processed in order).
    d = draftOf(
      run(
        [],
        [
          rr('alias.example.com.', CLASS_ANY, ANY, 0),
          rr('alias.example.com.', IN, RRType.A, 60, '192.0.2.5'),
        ],
      ),
    );
    assert.ok(rrset(d, 'alias.example.com.', RRType.A));
  });

  test('the SOA is replaced only at the apex and only by a greater serial', () => {
    const soa = (serial: number) => `ns1.example.com. h.example.com. ${serial} 3600 600 86400 300`;
    let d = draftOf(run([], [rr('example.com.', IN, RRType.SOA, 3600, soa(5))]));
    assert.match(rrset(d, 'example.com.', RRType.SOA)?.records[0].content ?? '', / 10 3600 /);
    d = draftOf(run([], [rr('example.com.', IN, RRType.SOA, 3600, soa(20))]));
    assert.match(rrset(d, 'example.com.', RRType.SOA)?.records[0].content ?? '', / 20 3600 /);
    // SOA deletions are ignored.
    d = draftOf(run([], [rr('example.com.', CLASS_ANY, RRType.SOA, 0)]));
    assert.ok(rrset(d, 'example.com.', RRType.SOA));
  });

  test('malformed updates: FORMERR, outside the zone: NOTZONE, nothing applied', () => {
    assert.equal(run([], [rr('www.example.com.', IN, ANY, 0)]).rcode, Rcode.FORMERR);
    assert.equal(run([], [rr('www.example.com.', IN, 252, 0)]).rcode, Rcode.FORMERR);
    assert.equal(run([], [rr('www.example.com.', CLASS_ANY, RRType.A, 60)]).rcode, Rcode.FORMERR);
    assert.equal(
      run([], [rr('www.example.com.', CLASS_NONE, RRType.A, 60, '192.0.2.10')]).rcode,
      Rcode.FORMERR,
    );
    assert.equal(run([], [rr('www.example.com.', CLASS_NONE, ANY, 0)]).rcode, Rcode.FORMERR);
    assert.equal(run([], [rr('www.example.com.', 3, RRType.A, 0)]).rcode, Rcode.FORMERR);
    assert.equal(
      run(
        [],
        [
          rr('ok.example.com.', IN, RRType.A, 60, '192.0.2.1'),
          rr('www.example.org.', IN, RRType.A, 60, '192.0.2.1'),
        ],
      ).rcode,
      Rcode.NOTZONE,
    );
  });

  test('the platform limits refuse: TTL above the maximum, an RRset above its size', () => {
    assert.equal(run([], [rr('www.example.com.', IN, RRType.A, 86401, '192.0.2.12')]).rcode, Rcode.REFUSED);
    const many = [12, 13, 14].map((i) => rr('www.example.com.', IN, RRType.A, 60, `192.0.2.${i}`));
    assert.equal(run([], many).rcode, Rcode.REFUSED);
  });

  test('the content given is never changed', () => {
    const c = zone();
    const before = JSON.stringify([...c]);
    run(
      [],
      [rr('www.example.com.', CLASS_ANY, ANY, 0), rr('new.example.com.', IN, RRType.A, 60, '192.0.2.1')],
      c,
    );
    assert.equal(JSON.stringify([...c]), before);
  });

  test('RDATA identity folds the names of name-bearing types only', () => {
    const a = rdataFromText(RRType.MX, tokenizeText('10 A.Example.'), origin);
    const b = rdataFromText(RRType.MX, tokenizeText('10 a.example.'), origin);
    assert.equal(rdataIdentity(RRType.MX, a), rdataIdentity(RRType.MX, b));
    const t1 = rdataFromText(RRType.TXT, tokenizeText('"A"'), origin);
    const t2 = rdataFromText(RRType.TXT, tokenizeText('"a"'), origin);
    assert.notEqual(rdataIdentity(RRType.TXT, t1), rdataIdentity(RRType.TXT, t2));
  });
});
