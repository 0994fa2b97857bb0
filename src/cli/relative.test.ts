import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UsageError } from './client-common.js';
import { completeContent, completeContents, resolveName } from './relative.js';

describe('resolveName: owner names relative to the zone, by the rule of values', () => {
  const cases: [string, string, string][] = [
    ['www', 'example.com', 'www.example.com.'],
    ['www', 'example.com.', 'www.example.com.'],
    [' www ', 'example.com', 'www.example.com.'],
    ['@', 'example.com', 'example.com.'],
    ['*', 'example.com', '*.example.com.'],
    ['*.dev', 'example.com', '*.dev.example.com.'],
    ['_dmarc.mail', 'example.com', '_dmarc.mail.example.com.'],
    ['a.b', 'example.com', 'a.b.example.com.'],
    ['WWW', 'Example.COM', 'WWW.Example.COM.'],
    ['www.example.com.', 'example.com', 'www.example.com.'],
    ['WWW.Example.COM.', 'example.com.', 'WWW.Example.COM.'],
    ['other.org.', 'example.com', 'other.org.'],
    ['notexample.com', 'example.com', 'notexample.com.example.com.'],
    ['a\\.b', 'example.com', 'a\\.b.example.com.'],
    ['a\\046b', 'example.com', 'a\\.b.example.com.'],
  ];
  for (const [name, zone, want] of cases)
    test(`${name} in ${zone} → ${want}`, () => assert.equal(resolveName(name, zone), want));

  test('the same rule as names inside values', () => {
    for (const name of ['www', '@', '*.dev', 'a.b', 'other.org.'])
      assert.equal(
        completeContent('CNAME', name, 'example.com').content,
        resolveName(name, 'example.com'),
        name,
      );
  });

  test('a relative name ending with the zone name is refused, saying what to write', () => {
    assert.throws(
      () => resolveName('www.example.com', 'example.com'),
      (e: Error) =>
        e instanceof UsageError &&
        /'www\.example\.com' ends with the zone's name but has no final dot/.test(e.message) &&
        /write 'www\.example\.com\.' for the name itself or 'www' relative/.test(e.message),
    );
    assert.throws(() => resolveName('WWW.Example.Com', 'example.com.'), UsageError);
    assert.throws(() => resolveName('example.com', 'example.com'), /or '@'/);
    assert.throws(() => completeContent('CNAME', 'www.example.com', 'example.com'), UsageError);
    assert.throws(() => completeContent('MX', '10 example.com', 'example.com'), /or '@'/);
  });

  test('empty and malformed names are usage errors', () => {
    assert.throws(() => resolveName(' ', 'example.com'), UsageError);
    assert.throws(() => resolveName('a..b', 'example.com'), /bad record name 'a\.\.b'/);
    assert.throws(() => resolveName(`${'a'.repeat(64)}`, 'example.com'), UsageError);
    assert.throws(() => resolveName('www', 'bad..zone'), /bad zone name/);
  });
});

describe('completeContent: record values relative to the zone, as in a zone file', () => {
  const cases: [string, string, string][] = [
    ['MX', '10 mail', '10 mail.shop.test.'],
    ['MX', '10 @', '10 shop.test.'],
    ['MX', '10 mail.example.net.', '10 mail.example.net.'],
    ['CNAME', 'www', 'www.shop.test.'],
    ['NS', 'ns1', 'ns1.shop.test.'],
    ['SRV', '0 5 5060 sip', '0 5 5060 sip.shop.test.'],
    [
      'SOA',
      'ns1 hostmaster 1 7200 3600 1209600 300',
      'ns1.shop.test. hostmaster.shop.test. 1 7200 3600 1209600 300',
    ],
    ['A', '192.0.2.1', '192.0.2.1'],
    ['a', '192.0.2.1', '192.0.2.1'],
    ['AAAA', '2001:DB8::1', '2001:db8::1'],
    ['CAA', '0 issue "letsencrypt.org"', '0 issue "letsencrypt.org"'],
  ];
  for (const [type, content, want] of cases)
    test(`${type} '${content}' in shop.test → '${want}'`, () =>
      assert.equal(completeContent(type, content, 'shop.test').content, want));

  test('TXT and SPF are sent as given (no names; the server checks the quoting)', () => {
    assert.equal(completeContent('TXT', 'v=spf1 -all', 'shop.test').content, 'v=spf1 -all');
    assert.equal(completeContent('SPF', '"v=spf1 -all"', 'shop.test').content, '"v=spf1 -all"');
  });

  test('content the parser cannot read is sent as given, for the server to report', () => {
    assert.equal(completeContent('MX', 'ten mail', 'shop.test').content, 'ten mail');
    assert.equal(completeContent('A', '300.1.1.1', 'shop.test').content, '300.1.1.1');
    assert.equal(completeContent('NOSUCHTYPE', 'x', 'shop.test').content, 'x');
  });

  test('a dotted relative name is completed, and reported as probably missing its final dot', () => {
    const c = completeContent('MX', '10 mail.example.net', 'shop.test');
    assert.equal(c.content, '10 mail.example.net.shop.test.');
    assert.deepEqual(c.suspicious, ['mail.example.net']);
    assert.deepEqual(completeContent('MX', '10 mail', 'shop.test').suspicious, []);
    assert.deepEqual(completeContent('A', '192.0.2.1', 'shop.test').suspicious, []);
    const notes: string[] = [];
    assert.deepEqual(
      completeContents('CNAME', ['a.example.org', 'b'], 'shop.test', (l) => notes.push(l)),
      ['a.example.org.shop.test.', 'b.shop.test.'],
    );
    assert.equal(notes.length, 1);
    assert.match(notes[0], /'a\.example\.org' has no final dot/);
  });
});
