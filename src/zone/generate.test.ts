// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${offset,width,base} is BIND's $GENERATE syntax, not a template.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  compileGenerateTemplate,
  countGenerateRange,
  expandGenerateTemplate,
  GenerateSyntaxError,
  MAX_GENERATE_RECORDS,
  parseGenerateRange,
} from './generate.js';

const expand = (t: string, v: number): string => expandGenerateTemplate(compileGenerateTemplate(t), v);

describe('$GENERATE range', () => {
  test('start-stop and start-stop/step', () => {
    assert.deepEqual(parseGenerateRange('1-10'), { start: 1, stop: 10, step: 1 });
    assert.deepEqual(parseGenerateRange('0-254/2'), { start: 0, stop: 254, step: 2 });
    assert.equal(countGenerateRange(parseGenerateRange('0-254/2')), 128);
    assert.equal(countGenerateRange(parseGenerateRange('19-28/2147483645')), 1);
  });

  test('invalid ranges (BIND bad2..bad4)', () => {
    for (const r of ['9--10', '1-3/', '1-3/0', '10-1', '-1-3', 'a-b', '1', '1-2147483648'])
      assert.throws(() => parseGenerateRange(r), GenerateSyntaxError, r);
  });

  test(`refuses more than ${MAX_GENERATE_RECORDS} records`, () => {
    assert.equal(countGenerateRange(parseGenerateRange(`1-${MAX_GENERATE_RECORDS}`)), MAX_GENERATE_RECORDS);
    assert.throws(() => parseGenerateRange(`0-${MAX_GENERATE_RECORDS}`), /at most 65536/);
  });
});

describe('$GENERATE templates (outputs checked against named-checkzone)', () => {
  test('$ is the iterator; templates without $ are literal', () => {
    assert.equal(expand('host$', 7), 'host7');
    assert.equal(expand('$.$', 3), '3.3');
    assert.equal(expand('fixed', 3), 'fixed');
  });

  test('${offset,width,base} in decimal, octal and hex', () => {
    assert.equal(expand('${0,3,d}x', 10), '010x');
    assert.equal(expand('${-1,4,x}', 10), '0009');
    assert.equal(expand('${0,2,o}', 26), '32');
    assert.equal(expand('${+1}', 1), '2');
    assert.equal(expand('${1}', 1), '2');
    assert.equal(expand('${1,0}', 1), '2');
    assert.equal(expand('${0,4,X}', 0xabc), '0ABC');
  });

  test('nibble bases n/N: reversed nibbles, width counts characters', () => {
    assert.equal(expand('${0,0,n}', 4095), 'f.f.f');
    assert.equal(expand('${0,0,n}', 4096), '0.0.0.1');
    assert.equal(expand('${0,6,n}', 255), 'f.f.0.');
    assert.equal(expand('${0,3,N}', 255), 'F.F');
    assert.equal(expand('${0,1,n}', 1), '1');
    assert.equal(expand('${0,2,n}', 1), '1.');
    // Negative values are formatted as unsigned 32-bit, as BIND does.
    assert.equal(expand('${-2000,0,n}', 1024), '0.3.c.f.f.f.f.f');
  });

  test('$$ is a literal $ and \\$ is kept as an escape for the name parser', () => {
    assert.equal(expand('f$$', 1), 'f$');
    assert.equal(expand('e\\$$', 0), 'e\\$0');
    assert.equal(expand('a\\.b$', 2), 'a\\.b2');
  });

  test('syntax errors are found when compiling (BIND bad-generate-*)', () => {
    assert.throws(() => compileGenerateTemplate('1.2.3.${1,0,dgarbagegarbage}'), GenerateSyntaxError);
    assert.throws(() => compileGenerateTemplate('1.2.3.${1000'), /missing '}'/);
    assert.throws(() => compileGenerateTemplate('${x}'), GenerateSyntaxError);
    assert.throws(() => compileGenerateTemplate('${1,2,3,4}'), GenerateSyntaxError);
  });

  test('a value outside the signed 32-bit range is an error (BIND bad-generate-range)', () => {
    assert.throws(() => expand('foo${2147483647}', 1), /out of range/);
    assert.equal(expand('foo${2147483646}', 1), 'foo2147483647');
  });
});
