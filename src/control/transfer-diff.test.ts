/**
 * An IXFR difference applied to a secondary zone's stored content (transfer-diff.ts): the result
 * is what importing the primary's new zone would make; a difference that removes a record not
 * held, or leaves an RRset with two TTLs, is refused and changes nothing. Against Knot serving
 * IXFR through `start`: test/e2e/secondary-ixfr-big.test.ts.
 * @module
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Name } from '../wire/name.js';
import { parseZonefile } from './edit.js';
import { applyTransferSteps } from './transfer-diff.js';
import { ControlError } from './types.js';

const ORIGIN = Name.parse('diff.test.');
const LIMITS = { maxTtl: 2_592_000, maxRecordsPerRRset: 1000 };

const zone = (lines: string[]) => parseZonefile(`${lines.join('\n')}\n`, ORIGIN, LIMITS).content;
const soa = (serial: number) =>
  `diff.test. 300 IN SOA ns1.diff.test. hostmaster.diff.test. ${serial} 3600 600 86400 300`;

const V1 = [
  soa(1),
  'diff.test. 300 IN NS ns1.diff.test.',
  'ns1.diff.test. 300 IN A 192.0.2.1',
  'www.diff.test. 300 IN A 192.0.2.10',
  'www.diff.test. 300 IN A 192.0.2.11',
  'old.diff.test. 300 IN TXT "going"',
  'mx.diff.test. 300 IN MX 10 mail.diff.test.',
];

/** Sorted `name type ttl content` of every record (the content as stored). */
function flat(content: ReturnType<typeof zone>): string[] {
  return [...content.values()]
    .flatMap((s) => s.records.map((r) => `${s.nameKey} ${s.type} ${s.ttl} ${r.content}`))
    .sort();
}

describe('IXFR differences applied to stored content', () => {
  test('two steps in order: the content an import of the new zone makes', () => {
    const draft = zone(V1);
    const before = flat(draft);
    const frozen = new Map(draft);
    applyTransferSteps(draft, ORIGIN, LIMITS, [
      {
        removed: [soa(1), 'www.diff.test. 300 IN A 192.0.2.11', 'old.diff.test. 300 IN TXT "going"', ''].join(
          '\n',
        ),
        added: [
          soa(2),
          'www.diff.test. 300 IN A 192.0.2.12',
          'new.diff.test. 60 IN AAAA 2001:db8::1',
          '',
        ].join('\n'),
      },
      {
        // An owner spelled otherwise than stored (case): the same record.
        removed: [
          soa(2),
          'mx.diff.test. 300 IN MX 10 mail.diff.test.',
          'NEW.diff.test. 60 IN AAAA 2001:db8::1',
          '',
        ].join('\n'),
        added: [soa(3), 'mx.diff.test. 300 IN MX 20 mail.diff.test.', ''].join('\n'),
      },
    ]);
    const want = zone([
      soa(3),
      'diff.test. 300 IN NS ns1.diff.test.',
      'ns1.diff.test. 300 IN A 192.0.2.1',
      'www.diff.test. 300 IN A 192.0.2.10',
      'www.diff.test. 300 IN A 192.0.2.12',
      'mx.diff.test. 300 IN MX 20 mail.diff.test.',
    ]);
    assert.deepEqual(flat(draft), flat(want));
    // The RRset objects of the content it started from are not changed.
    assert.deepEqual(flat(frozen), before);
  });

  test('a whole RRset replaced under a new TTL', () => {
    const draft = zone(V1);
    applyTransferSteps(draft, ORIGIN, LIMITS, [
      {
        removed: `${soa(1)}\nwww.diff.test. 300 IN A 192.0.2.10\nwww.diff.test. 300 IN A 192.0.2.11\n`,
        added: `${soa(2)}\nwww.diff.test. 60 IN A 192.0.2.10\nwww.diff.test. 60 IN A 192.0.2.11\n`,
      },
    ]);
    assert.deepEqual(
      flat(draft).filter((l) => l.startsWith('www.')),
      ['www.diff.test. 1 60 192.0.2.10', 'www.diff.test. 1 60 192.0.2.11'],
    );
  });

  test('refused: a record removed that is not held; an RRset left with two TTLs', () => {
    for (const step of [
      { removed: `${soa(1)}\nwww.diff.test. 300 IN A 192.0.2.99\n`, added: `${soa(2)}\n` },
      { removed: `${soa(7)}\n`, added: `${soa(8)}\n` },
      { removed: `${soa(1)}\n`, added: `${soa(2)}\nwww.diff.test. 60 IN A 192.0.2.12\n` },
    ]) {
      const draft = zone(V1);
      assert.throws(
        () => applyTransferSteps(draft, ORIGIN, LIMITS, [step]),
        (err) => err instanceof ControlError && /the IXFR difference does not apply/.test(err.message),
      );
    }
  });
});
