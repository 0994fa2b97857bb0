import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RRType } from '../wire/constants.js';
import { Name } from '../wire/name.js';
import {
  buildAndCheck,
  changeLines,
  DISABLED_MARK,
  diffContent,
  exportContent,
  type Locate,
  parseZonefile,
} from './edit.js';
import { parseContent, parseHostName, parseTtl, quoted } from './records.js';
import { ControlError } from './types.js';

const limits = { maxTtl: 86400, maxRecordsPerRRset: 100 };
const origin = Name.parse('example.com.');
const nowhere: Locate = () => ({});

const ZONE = [
  'example.com. 3600 IN SOA ns1.example.net. h.example.com. 7 3600 600 86400 300',
  'example.com. 3600 IN NS ns1.example.net.',
  'www.example.com. 300 IN A 192.0.2.1',
  ';disabled; www.example.com. 300 IN A 192.0.2.9',
  ';disabled; old.example.com. 60 IN TXT "gone for now"',
  '',
].join('\n');

function validation(fn: () => unknown): ControlError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ControlError, String(err));
    assert.equal(err.code, 'CTL_ERR_VALIDATION');
    return err;
  }
  assert.fail('expected a validation error');
}

describe('disabled records in master-file text', () => {
  test('a ;disabled; line is read back as a disabled record of its RRset', () => {
    const { content } = parseZonefile(ZONE, origin, limits);
    const www = content.get('www.example.com. 1');
    assert.deepEqual(www?.records, [
      { content: '192.0.2.1', disabled: false },
      { content: '192.0.2.9', disabled: true },
    ]);
    const old = content.get('old.example.com. 16');
    assert.deepEqual(old?.records, [{ content: '"gone for now"', disabled: true }]);
  });

  test('export writes disabled records behind the mark, and import reads the export back unchanged', () => {
    const { content } = parseZonefile(ZONE, origin, limits);
    const text = exportContent(content);
    assert.match(text, /^example\.com\.\t3600\tIN\tSOA\t/);
    assert.ok(text.includes(`${DISABLED_MARK}www.example.com.\t300\tIN\tA\t192.0.2.9\n`), text);
    assert.ok(text.includes(`${DISABLED_MARK}old.example.com.\t60\tIN\tTXT\t"gone for now"\n`), text);
    assert.ok(text.includes('\nwww.example.com.\t300\tIN\tA\t192.0.2.1\n'), text);
    const again = parseZonefile(text, origin, limits).content;
    assert.deepEqual(diffContent(content, again), []);
  });

  test('the same records in another order are no change (an RRset is a set)', () => {
    const before = parseZonefile(ZONE, origin, limits).content;
    const after = new Map(before);
    const www = before.get('www.example.com. 1');
    assert.ok(www);
    after.set('www.example.com. 1', { ...www, records: [...www.records].reverse() });
    assert.deepEqual(diffContent(before, after), []);
    after.set('www.example.com. 1', {
      ...www,
      records: www.records.map((r) => ({ ...r, disabled: !r.disabled })).reverse(),
    });
    assert.equal(diffContent(before, after).length, 1);
  });

  test('directives behind the mark stay comments; the SOA cannot be disabled', () => {
    const withDirective = `${ZONE};disabled; $ORIGIN elsewhere.\nmail 60 IN A 192.0.2.3\n`;
    const { content } = parseZonefile(withDirective, origin, limits);
    assert.ok(content.has('mail.example.com. 1'));
    const err = validation(() =>
      parseZonefile(
        ';disabled; example.com. 3600 IN SOA ns1.example.net. h.example.com. 7 3600 600 86400 300\n',
        origin,
        limits,
      ),
    );
    assert.match(err.message, /line 1: the SOA record cannot be disabled/);
  });

  test('diffs show disabling and enabling as the marked line against the served one', () => {
    const before = parseZonefile(ZONE, origin, limits).content;
    const after = new Map(before);
    const www = before.get('www.example.com. 1');
    assert.ok(www);
    after.set('www.example.com. 1', {
      ...www,
      records: [
        { content: '192.0.2.1', disabled: true },
        { content: '192.0.2.9', disabled: false },
      ],
    });
    const { removed, added } = changeLines(diffContent(before, after));
    assert.deepEqual(removed, [
      'www.example.com.\t300\tIN\tA\t192.0.2.1',
      `${DISABLED_MARK}www.example.com.\t300\tIN\tA\t192.0.2.9`,
    ]);
    assert.deepEqual(added, [
      `${DISABLED_MARK}www.example.com.\t300\tIN\tA\t192.0.2.1`,
      'www.example.com.\t300\tIN\tA\t192.0.2.9',
    ]);
    // Adding a record that is disabled from the start shows too.
    const more = new Map(after);
    more.set('new.example.com. 1', {
      name: 'new.example.com.',
      nameKey: 'new.example.com.',
      type: RRType.A,
      ttl: 60,
      records: [{ content: '192.0.2.7', disabled: true }],
    });
    assert.deepEqual(changeLines(diffContent(after, more)).added, [
      `${DISABLED_MARK}new.example.com.\t60\tIN\tA\t192.0.2.7`,
    ]);
  });
});

describe('name servers and glue (RFC 9471)', () => {
  const head = 'example.com. 3600 IN SOA ns1.example.net. h.example.com. 7 3600 600 86400 300\n';

  test('an NS target at or below a delegation cut without glue is refused', () => {
    const text = `${head}example.com. 3600 IN NS ns1.example.net.\nsub 3600 IN NS ns.sub\n`;
    const { content } = parseZonefile(text, origin, limits);
    const err = validation(() => buildAndCheck(content, origin, nowhere));
    assert.match(err.message, /ns\.sub\.example\.com\..*no required glue.*RFC 9471/);
    // Sibling glue: a target below another delegation of the zone.
    const sibling = `${head}example.com. 3600 IN NS ns1.example.net.\nsub 3600 IN NS ns1.example.net.\nsub2 3600 IN NS ns.sub\n`;
    const err2 = validation(() =>
      buildAndCheck(parseZonefile(sibling, origin, limits).content, origin, nowhere),
    );
    assert.match(err2.message, /sibling glue/);
    // With the glue, it passes without warnings.
    const glued = `${text}ns.sub 3600 IN A 192.0.2.53\n`;
    const warnings: string[] = [];
    buildAndCheck(parseZonefile(glued, origin, limits).content, origin, nowhere, undefined, warnings);
    assert.deepEqual(warnings, []);
  });

  test('other in-zone NS targets without an address are accepted with a warning', () => {
    const text = `${head}example.com. 3600 IN NS ns1.example.com.\nsub 3600 IN NS ns2.example.com.\n`;
    const warnings: string[] = [];
    buildAndCheck(parseZonefile(text, origin, limits).content, origin, nowhere, undefined, warnings);
    assert.deepEqual(warnings, [
      "example.com. NS: NS 'ns1.example.com.' has no address records (A or AAAA)",
      "sub.example.com. NS: NS 'ns2.example.com.' has no address records (A or AAAA)",
    ]);
  });
});

describe('input checks', () => {
  test('name servers are host names (RFC 952, RFC 1123)', () => {
    assert.equal(parseHostName('ns1.example.net', 'f'), 'ns1.example.net.');
    assert.equal(parseHostName('NS-1.Example.NET.', 'f'), 'NS-1.Example.NET.');
    for (const bad of [
      'bad name!',
      'ns_1.example.net',
      '-ns.example.net',
      'ns-.example.net',
      'a..b',
      '.',
      '',
    ])
      assert.equal(
        validation(() => parseHostName(bad, 'nameservers[0]')).field,
        'nameservers[0]',
        `'${bad}' must be refused`,
      );
    assert.match(validation(() => parseHostName('bad name!', 'f')).message, /'bad name!' is not a host name/);
  });

  test('an oversized value is quoted by a prefix, not echoed whole', () => {
    const big = `"${'x'.repeat(65536)}"`;
    const err = validation(() => parseContent(RRType.TXT, big, 'f'));
    assert.ok(err.message.length < 600, `message of ${err.message.length} characters`);
    assert.ok(err.message.includes(`${big.slice(0, 64)}… (65538 characters)`), err.message);
    assert.equal(quoted('short'), 'short');
  });

  test('the TTL limit is one rule, naming the operator setting', () => {
    assert.equal(parseTtl(86400, 86400, 'f'), 86400);
    const err = validation(() => parseTtl(86401, 86400, 'ttl'));
    assert.equal(
      err.message,
      "TTL 86401 is over this server's limit of 86400 seconds (switchboard start --max-ttl)",
    );
    const z = validation(() =>
      parseZonefile(`${'example.com. 86401 IN NS ns1.example.net.'}\n`, origin, limits),
    );
    assert.equal(
      z.message,
      "zonefile line 1: TTL 86401 is over this server's limit of 86400 seconds (switchboard start --max-ttl)",
    );
  });
});
