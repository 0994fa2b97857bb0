import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RRType } from '../wire/constants.js';
import { Name } from '../wire/name.js';
import { applyChanges, changeLines, diffContent, prepareChanges } from './edit.js';
import { parseContent, parseOwner, parseZoneName, renderServedText, type ZoneContent } from './records.js';
import { ControlError } from './types.js';

const limits = { maxTtl: 86400, maxRecordsPerRRset: 3 };
const origin = Name.parse('example.com.');

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ControlError, String(err));
    return err.field;
  }
  assert.fail('expected a ControlError');
}

test('contents are stored canonical', () => {
  assert.equal(parseContent(RRType.AAAA, '2001:DB8:0:0::1', 'f').text, '2001:db8::1');
  assert.equal(parseContent(RRType.MX, '10   Mail.Example.NET.', 'f').text, '10 Mail.Example.NET.');
  assert.equal(parseContent(RRType.TXT, '"a b"   "c"', 'f').text, '"a b" "c"');
  // Unicode text is taken as its UTF-8 octets, printed escaped.
  assert.equal(parseContent(RRType.TXT, '"é"', 'f').text, '"\\195\\169"');
  assert.equal(
    fieldOf(() => parseContent(RRType.A, '', 'x')),
    'x',
  );
  assert.equal(
    fieldOf(() => parseContent(RRType.CNAME, 'relative', 'x')),
    'x',
  );
});

test('TXT and SPF content must be quoted strings (unquoted text would split at its blanks)', () => {
  assert.equal(
    parseContent(RRType.TXT, '"v=spf1 include:example.net -all"', 'f').text,
    '"v=spf1 include:example.net -all"',
  );
  assert.equal(parseContent(RRType.SPF, '"v=spf1" "-all"', 'f').text, '"v=spf1" "-all"');
  assert.equal(parseContent(RRType.TXT, '""', 'f').text, '""');
  for (const [type, content] of [
    [RRType.TXT, 'v=spf1 include:example.net -all'],
    [RRType.TXT, 'hello'],
    [RRType.TXT, '"v=spf1" -all'],
    [RRType.SPF, 'v=spf1'],
  ] as const) {
    const err = (() => {
      try {
        parseContent(type, content, 'rrsets[0].records[0].content');
      } catch (e) {
        return e;
      }
    })();
    assert.ok(err instanceof ControlError, content);
    assert.equal(err.code, 'CTL_ERR_VALIDATION');
    assert.equal(err.field, 'rrsets[0].records[0].content');
    assert.match(err.message, /content must be quoted character-strings, e\.g\. "v=spf1 -all"/);
  }
  // Other types keep the master-file rules (a quoted word is a word).
  assert.equal(parseContent(RRType.CAA, '0 issue "letsencrypt.org"', 'f').text, '0 issue "letsencrypt.org"');
});

test('ALIAS is refused: it needs outgoing resolution, which an authoritative-only server does not do', () => {
  for (const type of ['ALIAS', 'alias'])
    assert.equal(
      fieldOf(() =>
        prepareChanges(
          [{ op: 'replace', name: 'example.com.', type, ttl: 60, records: [{ content: 'lb.example.net.' }] }],
          origin,
          limits,
        ),
      ),
      'rrsets[0].type',
    );
  try {
    prepareChanges([{ op: 'delete', name: 'example.com.', type: 'ALIAS' }], origin, limits);
    assert.fail('ALIAS accepted');
  } catch (err) {
    assert.match((err as Error).message, /authoritative-only/);
    assert.match((err as Error).message, /A and AAAA/);
  }
});

test('zone names: folded, final dot added, host-like labels only', () => {
  assert.equal(parseZoneName('Example.COM').toString(), 'example.com.');
  assert.equal(parseZoneName('0/25.2.0.192.in-addr.arpa.').toString(), '0/25.2.0.192.in-addr.arpa.');
  assert.equal(parseZoneName('_tcp.example').toString(), '_tcp.example.');
  for (const bad of ['', '.', 'a..b', 'ex ample.com', '*.example.com', 'a\\.b.com'])
    assert.equal(
      fieldOf(() => parseZoneName(bad)),
      'name',
      bad,
    );
  assert.equal(parseOwner('@', origin, 'f').toString(), 'example.com.');
  assert.equal(parseOwner('WWW.example.com', origin, 'f').toString(), 'WWW.example.com.');
  assert.equal(
    fieldOf(() => parseOwner('www.example.org.', origin, 'f')),
    'f',
  );
});

test('changes apply in order; add merges and takes the new TTL; remove drops empty RRsets', () => {
  const prepared = prepareChanges(
    [
      { op: 'replace', name: 'www.example.com.', type: 'A', ttl: 60, records: [{ content: '192.0.2.1' }] },
      {
        op: 'add',
        name: 'WWW.example.com.',
        type: 'A',
        ttl: 120,
        records: [{ content: '192.0.2.2' }, { content: '192.0.2.1' }],
      },
      { op: 'replace', name: 'x.example.com.', type: 'TXT', ttl: 60, records: [{ content: '"x"' }] },
      { op: 'remove', name: 'x.example.com.', type: 'TXT', records: [{ content: '"x"' }] },
    ],
    origin,
    limits,
  );
  const before: ZoneContent = new Map();
  const draft: ZoneContent = new Map();
  applyChanges(draft, prepared, limits);
  assert.deepEqual(
    [...draft.values()],
    [
      {
        name: 'WWW.example.com.',
        nameKey: 'www.example.com.',
        type: RRType.A,
        ttl: 120,
        records: [
          { content: '192.0.2.1', disabled: false },
          { content: '192.0.2.2', disabled: false },
        ],
      },
    ],
  );
  const lines = changeLines(diffContent(before, draft));
  assert.deepEqual(lines, {
    removed: [],
    added: ['WWW.example.com.\t120\tIN\tA\t192.0.2.1', 'WWW.example.com.\t120\tIN\tA\t192.0.2.2'],
  });
  // A TTL change re-adds the whole RRset (the IXFR view); the case of the owner alone is no change.
  const after = new Map(draft);
  applyChanges(
    after,
    prepareChanges(
      [{ op: 'add', name: 'www.example.com.', type: 'A', ttl: 60, records: [] }],
      origin,
      limits,
    ),
    limits,
  );
  assert.equal(changeLines(diffContent(draft, after)).removed.length, 2);
  assert.equal(changeLines(diffContent(draft, after)).added.length, 2);
});

test('per-RRset limits point at the change', () => {
  const many = [1, 2, 3, 4].map((i) => ({ content: `192.0.2.${i}` }));
  assert.equal(
    fieldOf(() =>
      prepareChanges(
        [{ op: 'add', name: 'a.example.com.', type: 'A', ttl: 1, records: many }],
        origin,
        limits,
      ),
    ),
    'rrsets[0].records',
  );
  const draft: ZoneContent = new Map();
  const three = prepareChanges(
    [{ op: 'add', name: 'a.example.com.', type: 'A', ttl: 1, records: many.slice(0, 3) }],
    origin,
    limits,
  );
  const fourth = prepareChanges(
    [
      { op: 'add', name: 'b.example.com.', type: 'A', ttl: 1, records: many.slice(0, 1) },
      { op: 'add', name: 'a.example.com.', type: 'A', ttl: 1, records: many.slice(3) },
    ],
    origin,
    limits,
  );
  applyChanges(draft, three, limits);
  assert.equal(
    fieldOf(() => applyChanges(draft, fourth, limits)),
    'rrsets[1].records',
  );
  assert.equal(
    fieldOf(() => prepareChanges([{ op: 'upsert', name: 'a.example.com.', type: 'A' }], origin, limits)),
    'rrsets[0].op',
  );
  assert.equal(
    fieldOf(() =>
      prepareChanges(
        [{ op: 'add', name: 'a.example.com.', type: 'A', ttl: 86401, records: [] }],
        origin,
        limits,
      ),
    ),
    'rrsets[0].ttl',
  );
});

test('served text: SOA first, disabled records left out', () => {
  const text = renderServedText([
    {
      name: 'example.com.',
      nameKey: 'example.com.',
      type: RRType.NS,
      ttl: 60,
      records: [{ content: 'ns.example.net.', disabled: false }],
    },
    {
      name: 'example.com.',
      nameKey: 'example.com.',
      type: RRType.SOA,
      ttl: 60,
      records: [{ content: 'a. b. 1 2 3 4 5', disabled: false }],
    },
    {
      name: 'x.example.com.',
      nameKey: 'x.example.com.',
      type: RRType.A,
      ttl: 60,
      records: [{ content: '192.0.2.1', disabled: true }],
    },
  ]);
  assert.equal(
    text,
    'example.com.\t60\tIN\tSOA\ta. b. 1 2 3 4 5\nexample.com.\t60\tIN\tNS\tns.example.net.\n',
  );
});
