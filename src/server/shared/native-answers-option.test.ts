import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseNativeAnswers } from './native-answers-option.js';
import { ConfigError } from './options.js';

describe('parseNativeAnswers (--native-answers [on|off], SWITCHBOARD_NATIVE_ANSWERS)', () => {
  test('default: auto with images on, off with images off', () => {
    assert.equal(parseNativeAnswers(undefined, true, {}), 'auto');
    assert.equal(parseNativeAnswers(undefined, false, {}), false);
  });
  test('the flag: given alone is on; on/off/auto/1/0', () => {
    assert.equal(parseNativeAnswers(true, false, {}), true);
    assert.equal(parseNativeAnswers('on', false, {}), true);
    assert.equal(parseNativeAnswers('1', true, {}), true);
    assert.equal(parseNativeAnswers('off', true, {}), false);
    assert.equal(parseNativeAnswers('0', true, {}), false);
    assert.equal(parseNativeAnswers('auto', true, {}), 'auto');
    assert.equal(parseNativeAnswers('auto', false, {}), false);
  });
  test('the environment sets the default; the flag wins', () => {
    assert.equal(parseNativeAnswers(undefined, true, { SWITCHBOARD_NATIVE_ANSWERS: 'off' }), false);
    assert.equal(parseNativeAnswers(undefined, false, { SWITCHBOARD_NATIVE_ANSWERS: '1' }), true);
    assert.equal(parseNativeAnswers('on', true, { SWITCHBOARD_NATIVE_ANSWERS: 'off' }), true);
  });
  test('anything else is a ConfigError naming where it came from', () => {
    assert.throws(
      () => parseNativeAnswers('yes', true, {}),
      (e: Error) =>
        e instanceof ConfigError && /--native-answers must be on, off or auto, got 'yes'/.test(e.message),
    );
    assert.throws(
      () => parseNativeAnswers(undefined, true, { SWITCHBOARD_NATIVE_ANSWERS: 'maybe' }),
      /SWITCHBOARD_NATIVE_ANSWERS must be/,
    );
  });
});
