import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Name } from '../../wire/name.js';
import { originOf } from './images.js';

describe('originOf', () => {
  test('the Name that Name.parse gives, or its error', () => {
    const names = [
      'example.com.',
      'z00042.many.test.',
      'Mixed-Case.Example.',
      'a.',
      '.',
      `${'a'.repeat(63)}.b.`,
      `${'a'.repeat(64)}.b.`, // label too long
      `${'abcdefg.'.repeat(31)}`, // 248 octets of text, 249 of wire
      `${'abcdefghi.'.repeat(26)}`, // over 255 octets
      'a..b.', // empty label
      'relative.name', // no origin: an error
      'we\\.ird.example.', // escapes
      'sp ace.example.',
      '\\065bc.example.',
      'é.example.',
      '_srv._tcp.example.',
      '*.example.',
    ];
    for (const text of names) {
      let want: Name | Error;
      try {
        want = Name.parse(text);
      } catch (err) {
        want = err as Error;
      }
      if (want instanceof Error) assert.throws(() => originOf(text), { message: want.message }, text);
      else {
        const got = originOf(text);
        assert.equal(got.wire, want.wire, text);
        assert.equal(got.key, want.key, text);
        assert.equal(got.toString(), want.toString(), text);
      }
    }
  });
});
