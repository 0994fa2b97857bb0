import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSince } from './audit-command.js';
import { parseChangeFile } from './change-file.js';
import { UsageError } from './client-common.js';
import { netDiff } from './zone-commands.js';

describe('parseChangeFile: several changes as one version', () => {
  test('line form: set lines of one RRset make it up, rm with and without data, comments', () => {
    const f = parseChangeFile(
      [
        '# web servers',
        'set www 300 A 192.0.2.1',
        '',
        'set www A 192.0.2.2',
        '; mail',
        'set @ MX 10 mail',
        'add mail A 192.0.2.7',
        'rm old CNAME',
        'rm mail A 192.0.2.5',
        'set 1 PTR host',
      ].join('\n'),
      'shop.test',
    );
    assert.deepEqual(f.changes, [
      {
        op: 'replace',
        name: 'www.shop.test.',
        type: 'A',
        ttl: 300,
        records: [{ content: '192.0.2.1' }, { content: '192.0.2.2' }],
      },
      { op: 'replace', name: 'shop.test.', type: 'MX', records: [{ content: '10 mail.shop.test.' }] },
      { op: 'add', name: 'mail.shop.test.', type: 'A', records: [{ content: '192.0.2.7' }] },
      { op: 'delete', name: 'old.shop.test.', type: 'CNAME' },
      { op: 'remove', name: 'mail.shop.test.', type: 'A', records: [{ content: '192.0.2.5' }] },
      { op: 'replace', name: '1.shop.test.', type: 'PTR', records: [{ content: 'host.shop.test.' }] },
    ]);
    assert.deepEqual(f.notes, []);
  });

  test('line form: quoted TXT data is kept whole', () => {
    const f = parseChangeFile('set @ 60 TXT "v=spf1 mx -all" "second"\n', 'shop.test.');
    assert.deepEqual(f.changes[0].records, [{ content: '"v=spf1 mx -all" "second"' }]);
  });

  test('line form: errors name the line', () => {
    assert.throws(
      () => parseChangeFile('set www A\n', 'z.test'),
      /change file:1: 'set' needs the record data/,
    );
    assert.throws(() => parseChangeFile('\nfrob www A 1.2.3.4\n', 'z.test'), /change file:2: expected/);
    assert.throws(
      () => parseChangeFile('set www 60 A 192.0.2.1\nset www 120 A 192.0.2.2\n', 'z.test'),
      /change file:2: TTL 120 differs from 60/,
    );
    assert.throws(() => parseChangeFile('set www 60 A! 1\n', 'z.test'), /not a record type/);
    assert.throws(() => parseChangeFile('# nothing\n', 'z.test'), /no changes/);
    assert.throws(() => parseChangeFile('delete www A 192.0.2.1\n', 'z.test'), UsageError);
  });

  test('JSON form: the API change objects, names relative to the zone, TTL optional', () => {
    const f = parseChangeFile(
      JSON.stringify({
        comment: 'move mail',
        changes: [
          {
            op: 'replace',
            name: '@',
            type: 'mx',
            records: [{ content: '10 mx1' }, { content: '20 mx2.example.net.' }],
          },
          { op: 'delete', name: 'old', type: 'A' },
          { op: 'add', name: 'www', type: 'A', ttl: 60, records: [{ content: '192.0.2.9', disabled: true }] },
        ],
      }),
      'shop.test',
    );
    assert.equal(f.comment, 'move mail');
    assert.deepEqual(f.changes, [
      {
        op: 'replace',
        name: 'shop.test.',
        type: 'MX',
        records: [{ content: '10 mx1.shop.test.' }, { content: '20 mx2.example.net.' }],
      },
      { op: 'delete', name: 'old.shop.test.', type: 'A' },
      {
        op: 'add',
        name: 'www.shop.test.',
        type: 'A',
        ttl: 60,
        records: [{ content: '192.0.2.9', disabled: true }],
      },
    ]);
    assert.equal(parseChangeFile('[{"op":"delete","name":"x","type":"A"}]', 'z.test').changes.length, 1);
  });

  test('JSON form: wrong types are named', () => {
    assert.throws(() => parseChangeFile('{"changes": "x"}', 'z.test'), /expected \{"changes": \[\.\.\.\]\}/);
    assert.throws(
      () => parseChangeFile('[{"op":"zap","name":"x","type":"A"}]', 'z.test'),
      /changes\[0\]\.op/,
    );
    assert.throws(
      () => parseChangeFile('[{"op":"add","name":"x","type":"A","ttl":"60","records":[]}]', 'z.test'),
      /changes\[0\]\.ttl/,
    );
    assert.throws(
      () => parseChangeFile('[{"op":"add","name":"x","type":"A","records":[{"content":1}]}]', 'z.test'),
      /changes\[0\]\.records\[0\]\.content/,
    );
    assert.throws(() => parseChangeFile('{not json', 'z.test'), /not valid JSON/);
  });

  test('a dotted relative name in the data is noted', () => {
    const f = parseChangeFile('set www CNAME web.example.net\n', 'shop.test');
    assert.deepEqual(f.changes[0].records, [{ content: 'web.example.net.shop.test.' }]);
    assert.equal(f.notes.length, 1);
  });
});

describe('audit --since', () => {
  const now = Date.parse('2026-12-03T12:00:00Z');
  test('durations back from now and ISO dates', () => {
    assert.equal(parseSince('30m', now), '2026-12-03T11:30:00.000Z');
    assert.equal(parseSince('2h', now), '2026-12-03T10:00:00.000Z');
    assert.equal(parseSince('7d', now), '2026-11-26T12:00:00.000Z');
    assert.equal(parseSince('2026-12-01', now), '2026-12-01T00:00:00.000Z');
    assert.equal(parseSince('2026-12-01T10:00Z', now), '2026-12-01T10:00:00.000Z');
  });
  test('anything else is a usage error', () => {
    for (const bad of ['yesterday', '5y', '2026-13-45', ''])
      assert.throws(() => parseSince(bad, now), UsageError, bad);
  });
});

describe('zone diff FROM TO: the net change', () => {
  test('a record added and removed again cancels out', () => {
    const d = (added: string[], removed: string[]) =>
      ({ addedRecords: added, removedRecords: removed }) as unknown as Parameters<typeof netDiff>[0][0];
    assert.deepEqual(netDiff([d(['a', 'b'], ['soa1']), d(['soa2'], ['b', 'soa2x']), d([], [])]), {
      removed: ['soa1', 'soa2x'],
      added: ['a', 'soa2'],
    });
  });
});
