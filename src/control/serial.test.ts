import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseSerial, nextSerial, serialGreater } from './serial.js';

test('RFC 1982 §3.1: addition wraps at 2^32', () => {
  assert.equal(nextSerial(1), 2);
  assert.equal(nextSerial(4294967295), 0);
});

test('RFC 1982 §3.2: comparison on the circle', () => {
  assert.equal(serialGreater(2, 1), true);
  assert.equal(serialGreater(1, 2), false);
  assert.equal(serialGreater(0, 4294967295), true); // just past the wrap
  assert.equal(serialGreater(4294967295, 0), false);
  assert.equal(serialGreater(5, 5), false);
  // Exactly 2^31 apart: undefined by the RFC, never "greater".
  assert.equal(serialGreater(2 ** 31, 0), false);
  assert.equal(serialGreater(0, 2 ** 31), false);
  assert.equal(serialGreater(2 ** 31 - 1, 0), true);
});

test("a new version's serial: old + 1, unless the change's own is greater", () => {
  assert.equal(chooseSerial(10, undefined), 11);
  assert.equal(chooseSerial(10, 10), 11);
  assert.equal(chooseSerial(10, 3), 11);
  assert.equal(chooseSerial(10, 2026112201), 2026112201);
  assert.equal(chooseSerial(4294967295, 4294967295), 0);
  assert.equal(chooseSerial(4294967290, 3), 3); // greater across the wrap
});
