import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tokenizeText, type ZoneEntry, ZoneLexer } from './lexer.js';

function lex(text: string): ZoneEntry[] {
  const lx = new ZoneLexer(text);
  const out: ZoneEntry[] = [];
  for (let e = lx.next(); e; e = lx.next()) out.push(e);
  return out;
}

function texts(e: ZoneEntry): string[] {
  return e.tokens.map((t) => t.text);
}

describe('ZoneLexer (RFC 1035 §5.1)', () => {
  test('splits fields on blanks and tabs, one entry per line', () => {
    const es = lex('www  IN\tA 192.0.2.1\nmail IN A 192.0.2.2\n');
    assert.equal(es.length, 2);
    assert.deepEqual(texts(es[0]), ['www', 'IN', 'A', '192.0.2.1']);
    assert.equal(es[0].line, 1);
    assert.equal(es[1].line, 2);
    assert.equal(es[0].inheritOwner, false);
  });

  test('a line starting with a blank inherits the owner', () => {
    const es = lex('www A 192.0.2.1\n  AAAA 2001:db8::1\n\tTXT x\n');
    assert.deepEqual(
      es.map((e) => e.inheritOwner),
      [false, true, true],
    );
    assert.deepEqual(texts(es[1]), ['AAAA', '2001:db8::1']);
  });

  test('parentheses join lines; newlines inside them are blanks', () => {
    const es = lex('@ SOA ns h (\n  1 ; serial\n  2 3\n  4 5 )\nnext A 1.2.3.4\n');
    assert.equal(es.length, 2);
    assert.deepEqual(texts(es[0]), ['@', 'SOA', 'ns', 'h', '1', '2', '3', '4', '5']);
    assert.equal(es[0].tokens[4].line, 2);
    assert.equal(es[0].tokens[8].line, 4);
    assert.equal(es[1].line, 5);
  });

  test('parentheses delimit tokens without blanks around them', () => {
    assert.deepEqual(texts(lex('a TXT a(b)c\n')[0]), ['a', 'TXT', 'a', 'b', 'c']);
  });

  test('comments end at the line end but not inside quotes', () => {
    const es = lex('a TXT "x;y" ; comment "with quotes"\n; whole line\nb A 1.2.3.4;c\n');
    assert.equal(es.length, 2);
    assert.deepEqual(texts(es[0]), ['a', 'TXT', 'x;y']);
    assert.deepEqual(texts(es[1]), ['b', 'A', '1.2.3.4']);
  });

  test('quoted strings keep blanks and mark the token as quoted', () => {
    const [e] = lex('a TXT "hello world" plain ""\n');
    assert.deepEqual(
      e.tokens.map((t) => [t.text, t.quoted]),
      [
        ['a', false],
        ['TXT', false],
        ['hello world', true],
        ['plain', false],
        ['', true],
      ],
    );
  });

  test('a quote ends an unquoted token and starts a new one (as BIND)', () => {
    assert.deepEqual(texts(lex('a TXT x"y z"w\n')[0]), ['a', 'TXT', 'x', 'y z', 'w']);
  });

  test('escapes stay verbatim in the token and never delimit', () => {
    const [e] = lex('a\\ b TXT "q\\"uote" \\; \\( \\065\\.x\n');
    assert.deepEqual(texts(e), ['a\\ b', 'TXT', 'q\\"uote', '\\;', '\\(', '\\065\\.x']);
  });

  test('CRLF line ends, a missing final newline and blank lines', () => {
    const es = lex('a A 1.2.3.4\r\n\r\n  \r\nb A 1.2.3.5');
    assert.equal(es.length, 2);
    assert.deepEqual(texts(es[0]), ['a', 'A', '1.2.3.4']);
    assert.deepEqual(texts(es[1]), ['b', 'A', '1.2.3.5']);
    assert.equal(es[1].line, 4);
  });

  test('a line break inside quotes is allowed only inside parentheses (as Knot)', () => {
    const [ok] = lex('a TXT ( "first\nsecond" third )\n');
    assert.deepEqual(texts(ok), ['a', 'TXT', 'first\nsecond', 'third']);
    const bad = lex('a TXT "open\nb A 1.2.3.4\n');
    assert.equal(bad[0].error?.line, 1);
    assert.match(bad[0].error?.message ?? '', /unbalanced quotes/);
    // The lexer recovers at the next line.
    assert.deepEqual(texts(bad[1]), ['b', 'A', '1.2.3.4']);
  });

  test('unbalanced parentheses are errors with the line of the fault', () => {
    const open = lex('a A (\n1.2.3.4\n');
    assert.equal(open.at(-1)?.error?.line, 1);
    assert.match(open.at(-1)?.error?.message ?? '', /unbalanced '\('/);
    const close = lex('x A 1\na A 1.2.3.4 )\n');
    assert.equal(close[1].error?.line, 2);
    assert.match(close[1].error?.message ?? '', /unbalanced '\)'/);
    const nested = lex('a NS ((@))\n');
    assert.match(nested[0].error?.message ?? '', /nested/);
  });

  test('end of input inside quotes is an error at the opening line', () => {
    const es = lex('a TXT ( "never\nclosed');
    assert.equal(es[0].error?.line, 1);
  });

  test('a backslash at the end of a line is an error', () => {
    const es = lex('a TXT ab\\\ncd\n');
    assert.match(es[0].error?.message ?? '', /end of line/);
  });

  test('after a fault inside parentheses the lexer resumes after the closing one', () => {
    const es = lex('a TXT ( x\\\n  y\n  z )\nb A 192.0.2.1\n');
    assert.equal(es.length, 2);
    assert.equal(es[0].error?.line, 1);
    assert.deepEqual(texts(es[1]), ['b', 'A', '192.0.2.1']);
    assert.equal(es[1].line, 4);
  });

  test('tokenizeText splits a string and throws on faults', () => {
    assert.deepEqual(
      tokenizeText('"a b" c').map((t) => t.text),
      ['a b', 'c'],
    );
    assert.throws(() => tokenizeText('"open'), /unbalanced quotes/);
  });
});
