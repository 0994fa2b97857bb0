import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { seededRandom } from '../../test/helpers/prng.js';
import { Name } from '../wire/name.js';
import { OriginIndex } from './origin-index.js';

describe('OriginIndex', () => {
  test('finds what a Map of the same keys finds, through growth and keys added again', () => {
    const rand = seededRandom(5);
    // Small capacities: the index and slot arrays grow and rehash many times.
    const index = new OriginIndex(4, 8);
    const model = new Map<string, number>();
    const keys: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const again = keys.length > 0 && rand() < 0.1;
      const key = again
        ? keys[Math.floor(rand() * keys.length)]
        : Name.parse(`Z${Math.floor(rand() * 1e9).toString(36)}.${i % 7 === 0 ? 'x.' : ''}Test.`).key;
      if (!again) keys.push(key);
      const replaced = index.add(i, key);
      assert.equal(replaced, model.get(key) ?? -1);
      model.set(key, i);
    }
    assert.equal(index.size, model.size);
    for (const [key, i] of model) {
      assert.equal(index.find(key), i);
      assert.equal(index.keyAt(i), key);
      assert.ok(index.has(i));
    }
    // Replaced indexes hold no key; names that are not held are not found.
    let replaced = 0;
    for (let i = 0; i < 20_000; i++) if (!index.has(i)) replaced++;
    assert.equal(replaced, 20_000 - model.size);
    for (const miss of ['', '\u0000', Name.parse('nothing.test.').key, `${keys[0]}x`, keys[0].slice(1)])
      assert.equal(index.find(miss), -1);
    // The octets are every key once.
    const octets = Buffer.from(index.octets()).toString('latin1');
    assert.equal(octets.length, [...model.keys()].join('').length);
    const listed: string[] = [];
    for (let p = 0; p < octets.length; ) {
      let end = p;
      while (octets.charCodeAt(end) !== 0) end += octets.charCodeAt(end) + 1;
      listed.push(octets.slice(p, end + 1));
      p = end + 1;
    }
    assert.deepEqual(listed.sort(), [...model.keys()].sort());
  });

  test('refuses a key of no length or over 255 octets', () => {
    const index = new OriginIndex(4);
    assert.throws(() => index.add(0, ''), RangeError);
    assert.throws(() => index.add(0, 'x'.repeat(256)), RangeError);
    assert.equal(index.size, 0);
  });
});
