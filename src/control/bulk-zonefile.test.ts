import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Name } from '../wire/name.js';
import { BULK_TEXT, columnsContent, isBulkZonefile } from './bulk-zonefile.js';
import {
  buildAndCheck,
  checkContentRules,
  DISABLED_MARK,
  type EditLimits,
  locateInZonefile,
  parseZonefile,
  type RecordBudget,
} from './edit.js';
import type { ZoneContent } from './records.js';
import { ControlError } from './types.js';
import { runZoneJob } from './zone-work.js';

const ORIGIN = Name.parse('example.com.');
const LIMITS: EditLimits = { maxTtl: 86400, maxRecordsPerRRset: 3 };

/** The object path: parseZonefile, checkContentRules, buildAndCheck. */
function objectPath(text: string, budget?: RecordBudget): { content: ZoneContent; warnings: string[] } {
  const z = parseZonefile(text, ORIGIN, LIMITS, budget);
  const locate = locateInZonefile(z);
  checkContentRules(z.content, ORIGIN, locate);
  const warnings: string[] = [];
  buildAndCheck(z.content, ORIGIN, locate, undefined, warnings);
  return { content: z.content, warnings };
}

/** Content as comparable JSON (keys sorted). */
function plain(content: ZoneContent): unknown {
  return [...content.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

function refusal(fn: () => unknown): { code: string; message: string; field?: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ControlError, String(err));
    return { code: err.code, message: err.message, field: err.field };
  }
  assert.fail('not refused');
}

const GOOD = [
  '$ORIGIN example.com.',
  '$TTL 300',
  '@ IN SOA ns1 hostmaster 7 3600 600 86400 300',
  '@ IN NS ns1',
  '@ IN NS ns.elsewhere.net.',
  '@ IN MX 10 mail',
  '@ IN TXT "v=spf1 -all" "two strings"',
  'ns1 IN A 192.0.2.1',
  'ns1 IN A 192.0.2.1',
  'MAIL 600 IN A 192.0.2.2',
  'mail IN AAAA 2001:db8::2',
  'www IN CNAME mail',
  '*.wild IN A 192.0.2.3',
  'sub IN NS ns.sub',
  'ns.sub IN A 192.0.2.4',
  'a.b.c IN TXT "deep"',
  'orphan IN NS nowhere.example.com.',
  '_sip._tcp IN SRV 0 5 5060 mail',
].join('\n');

describe('bulk-zonefile: a zone file read as columns', () => {
  test('the same content and warnings as the object path', () => {
    const a = objectPath(GOOD);
    const b = columnsContent(GOOD, ORIGIN, LIMITS, undefined);
    // One difference: every RRset of a name is spelled as the name's first record (as the
    // served zone spells it), where the object path keeps each RRset's first spelling.
    assert.equal(b.content.get('mail.example.com. 28')?.name, 'MAIL.example.com.');
    assert.equal(a.content.get('mail.example.com. 28')?.name, 'mail.example.com.');
    const aaaa = a.content.get('mail.example.com. 28');
    if (aaaa) a.content.set('mail.example.com. 28', { ...aaaa, name: 'MAIL.example.com.' });
    assert.deepEqual(plain(b.content), plain(a.content));
    assert.deepEqual(b.warnings, a.warnings);
    assert.ok(a.warnings.length > 0, 'the NS without an address warns');
  });

  const bad: Array<[string, string]> = [
    ['bad RDATA', 'h1 IN A 10.0.0.300'],
    ['out of zone', 'h1.example.net. IN A 192.0.2.9'],
    ['an SOA below the apex', 'x IN SOA ns1 hostmaster 1 2 3 4 5'],
    ['a TTL over the limit', 'h1 99999 IN A 192.0.2.9'],
    ['a second SOA', '@ IN SOA ns1 hostmaster 8 3600 600 86400 300'],
    ['a CNAME beside other data', 'mail IN CNAME www'],
    ['two CNAME records', 'www IN CNAME ns1'],
    [
      'too many records in an RRset',
      'r IN A 192.0.2.1\nr IN A 192.0.2.2\nr IN A 192.0.2.3\nr IN A 192.0.2.4',
    ],
    ['a delegation whose NS has no glue', 'deleg IN NS ns.deleg'],
    ['class CH', 'h1 CH A 192.0.2.9'],
  ];
  for (const [what, line] of bad)
    test(`refused as the object path refuses it: ${what}`, () => {
      const text = `${GOOD}\n${line}\n`;
      const a = refusal(() => objectPath(text));
      const b = refusal(() => columnsContent(text, ORIGIN, LIMITS, undefined));
      assert.equal(b.code, a.code);
      assert.equal(b.field, 'zonefile');
      // The same message, naming the same line (a CNAME's second record: the first's line).
      if (what === 'two CNAME records')
        assert.match(b.message, /www\.example\.com\. can have only one CNAME record/);
      else assert.equal(b.message, a.message);
    });

  test('the record budget: the quota code and message, as the object path', () => {
    const budget: RecordBudget = { max: 5, name: 'the quota', code: 'CTL_ERR_QUOTA' };
    const a = refusal(() => objectPath(GOOD, budget));
    const b = refusal(() => columnsContent(GOOD, ORIGIN, LIMITS, budget));
    assert.deepEqual(b, a);
  });

  test('which texts take the column path', () => {
    const big = `${GOOD}\n${'; padding\n'.repeat(BULK_TEXT / 10)}`;
    assert.equal(isBulkZonefile(GOOD), false);
    assert.equal(isBulkZonefile(big), true);
    assert.equal(isBulkZonefile(`${big}\n${DISABLED_MARK}h IN A 192.0.2.1\n`), false);
    assert.equal(isBulkZonefile(42), false);
  });

  test('create and replace of a big text: the same work as the object path would do', () => {
    // Over BULK_TEXT: the column path; nameservers merged, SOA made, as initialContent does.
    const lines = ['$ORIGIN example.com.', '$TTL 300', '@ IN NS ns1'];
    for (let i = 0, n = 0; n < BULK_TEXT; i++) {
      const line = `h${i} IN A 10.0.${(i >> 8) & 255}.${i & 255}`;
      lines.push(line);
      n += line.length + 1;
    }
    lines.push('ns1 IN A 192.0.2.1');
    const text = `${lines.join('\n')}\n`;
    const job = {
      kind: 'create' as const,
      origin: 'example.com.',
      input: { zonefile: text, nameservers: ['ns2.example.net.'] },
      defaults: { nameservers: ['ignored.example.net.'] },
      limits: LIMITS,
      budget: { max: 1e6, name: 'the ceiling', code: 'CTL_ERR_VALIDATION' as const },
    };
    const made = runZoneJob(job, new Map(), new Map());
    const ns = made.draft.get('example.com. 2');
    assert.deepEqual(
      ns?.records.map((r) => r.content),
      ['ns1.example.com.', 'ns2.example.net.'],
    );
    const soa = made.draft.get('example.com. 6');
    assert.equal(
      soa?.records[0].content,
      'ns1.example.com. hostmaster.example.com. 1 10800 3600 604800 3600',
    );
    assert.equal(made.work.recordCount, lines.length - 2 + 2);
    assert.equal(made.checked?.records, made.work.recordCount);
    // A one-record change after it is worked out in place (incremental.ts): the creation left
    // the content and what it checked.
    const change = runZoneJob(
      {
        kind: 'change',
        origin: 'example.com.',
        serial: 1,
        changes: [
          {
            op: 'replace',
            name: 'h3.example.com.',
            type: 'A',
            ttl: 300,
            records: [{ content: '192.0.2.3' }],
          },
        ],
        limits: LIMITS,
      },
      made.draft,
      made.memo,
      made.checked,
    );
    assert.equal(change.inPlace, true);
    assert.equal(change.work.serial, 2);
    // The text again, as an import over it (in place, the content is the changed one).
    const again = runZoneJob(
      { kind: 'import', origin: 'example.com.', serial: 2, text, limits: LIMITS, budget: job.budget },
      made.draft,
      made.memo,
    );
    assert.equal(again.work.noop, false, 'the text has no ns2 and no SOA: the import removes ns2');
    assert.equal(again.work.removed, 3);
    assert.equal(again.work.added, 2);
    assert.equal(again.work.serial, 3);
  });
});
