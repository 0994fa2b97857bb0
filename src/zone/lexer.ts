/**
 * Master-file lexer (RFC 1035 §5.1): splits zone text into entries (one per logical line)
 * of blank-separated tokens. Parentheses join physical lines, `;` starts a comment, quoted
 * strings keep their blanks, and escapes (`\X`, `\DDD`) are kept verbatim in the token text
 * so the RDATA parser decides what they mean. The loop reads char codes and slices tokens
 * out of the source: no per-character string building, no regular expressions.
 * @module
 */
import type { TextToken } from '../wire/text-token.js';

/** A token: its raw text (escapes kept, quotes removed), whether it was quoted, its line. */
export interface ZoneToken extends TextToken {
  text: string;
  quoted: boolean;
  /** 1-based line number where the token starts. */
  line: number;
}

/** One logical line of a master file. */
export interface ZoneEntry {
  tokens: ZoneToken[];
  /** Line of the first token. */
  line: number;
  /** RFC 1035 §5.1: the line began with a blank, so the owner is the previous one. */
  inheritOwner: boolean;
  /** A syntax fault found while reading this entry (the tokens are then incomplete). */
  error?: { line: number; message: string };
}

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const QUOTE = 0x22;
const LPAREN = 0x28;
const RPAREN = 0x29;
const SEMI = 0x3b;
const BACKSLASH = 0x5c;

/** Reads entries from master-file text. `text` holds one char per octet (latin1). */
export class ZoneLexer {
  readonly #src: string;
  #pos = 0;
  #line: number;

  /** `pos`: where to start reading (a line start), `firstLine` its line number. */
  constructor(text: string, firstLine = 1, pos = 0) {
    this.#src = text;
    this.#line = firstLine;
    this.#pos = pos;
  }

  /** The current line number (of the next unread character). */
  get line(): number {
    return this.#line;
  }

  /** Index of the next unread character. */
  get pos(): number {
    return this.#pos;
  }

  /**
   * An entry that failed at `pos`: skips the rest of it so the next one starts cleanly (to the
   * closing ')' when inside parentheses, then to the end of that line). A method rather than a
   * closure in `next`: a closure would move next's locals into a heap context for every entry.
   */
  #fail(
    pos: number,
    parenLine: number,
    tokens: ZoneToken[],
    entryLine: number,
    inheritOwner: boolean,
    line: number,
    message: string,
  ): ZoneEntry {
    const src = this.#src;
    const n = src.length;
    if (parenLine !== 0) {
      const close = src.indexOf(')', pos);
      if (close >= 0) {
        for (let k = pos; k < close; k++) if (src.charCodeAt(k) === LF) this.#line++;
        pos = close;
      }
    }
    while (pos < n && src.charCodeAt(pos) !== LF) pos++;
    this.#pos = pos;
    return { tokens, line: entryLine, inheritOwner, error: { line, message } };
  }

  /** The next entry with at least one token (or an error), or undefined at end of input. */
  next(): ZoneEntry | undefined {
    const src = this.#src;
    const n = src.length;
    const tokens: ZoneToken[] = [];
    let parenLine = 0; // line of the open '(' (0: not inside parentheses)
    let inheritOwner = false;
    let atLineStart = true;
    let entryLine = this.#line;
    let pos = this.#pos;

    for (;;) {
      if (atLineStart) {
        atLineStart = false;
        if (parenLine === 0 && tokens.length === 0) {
          entryLine = this.#line;
          const c0 = src.charCodeAt(pos);
          inheritOwner = c0 === SPACE || c0 === TAB;
        }
      }
      // Skip blanks (a CR of CRLF counts as a blank).
      let c = src.charCodeAt(pos);
      while (c === SPACE || c === TAB || c === CR) c = src.charCodeAt(++pos);

      if (pos >= n) {
        this.#pos = pos;
        if (parenLine !== 0) {
          return {
            tokens,
            line: entryLine,
            inheritOwner,
            error: { line: parenLine, message: "unbalanced '(': end of input inside parentheses" },
          };
        }
        return tokens.length > 0 ? { tokens, line: entryLine, inheritOwner } : undefined;
      }

      if (c === LF) {
        pos++;
        this.#line++;
        atLineStart = true;
        // RFC 1035 §5.1: inside parentheses a line break is only a blank.
        if (parenLine === 0 && tokens.length > 0) {
          this.#pos = pos;
          return { tokens, line: entryLine, inheritOwner };
        }
        continue;
      }

      if (c === SEMI) {
        // Comment to end of line; the LF itself is handled above.
        const nl = src.indexOf('\n', pos);
        pos = nl < 0 ? n : nl;
        continue;
      }

      if (c === LPAREN) {
        if (parenLine !== 0)
          return this.#fail(
            pos,
            parenLine,
            tokens,
            entryLine,
            inheritOwner,
            this.#line,
            "nested '(': parentheses cannot be nested",
          );
        parenLine = this.#line;
        pos++;
        continue;
      }

      if (c === RPAREN) {
        if (parenLine === 0)
          return this.#fail(
            pos,
            parenLine,
            tokens,
            entryLine,
            inheritOwner,
            this.#line,
            "unbalanced ')' without '('",
          );
        parenLine = 0;
        pos++;
        continue;
      }

      if (c === QUOTE) {
        const startLine = this.#line;
        const start = ++pos;
        for (;;) {
          if (pos >= n) {
            this.#pos = pos;
            return {
              tokens,
              line: entryLine,
              inheritOwner,
              error: { line: startLine, message: 'unbalanced quotes: end of input inside a quoted string' },
            };
          }
          c = src.charCodeAt(pos);
          if (c === QUOTE) break;
          if (c === BACKSLASH) {
            pos++;
            if (src.charCodeAt(pos) === LF) {
              if (parenLine === 0)
                return this.#fail(
                  pos,
                  parenLine,
                  tokens,
                  entryLine,
                  inheritOwner,
                  this.#line,
                  'unbalanced quotes: line ends inside a quoted string',
                );
              this.#line++;
            }
            pos++;
            continue;
          }
          if (c === LF) {
            // Knot and NSD accept a line break inside quotes within parentheses; outside
            // them it is almost always a forgotten quote, reported here as BIND does.
            if (parenLine === 0)
              return this.#fail(
                pos,
                parenLine,
                tokens,
                entryLine,
                inheritOwner,
                this.#line,
                'unbalanced quotes: line ends inside a quoted string',
              );
            this.#line++;
          }
          pos++;
        }
        tokens.push({ text: src.slice(start, pos), quoted: true, line: startLine });
        pos++; // closing quote
        continue;
      }

      // An unquoted token runs to a blank, line end, comment, parenthesis or quote.
      const start = pos;
      for (;;) {
        if (c === BACKSLASH) {
          // Keep the escape verbatim; the escaped character never delimits.
          const e = src.charCodeAt(pos + 1);
          if (e === LF || pos + 1 >= n)
            return this.#fail(
              pos,
              parenLine,
              tokens,
              entryLine,
              inheritOwner,
              this.#line,
              "'\\' at end of line",
            );
          pos += 2;
        } else {
          pos++;
        }
        if (pos >= n) break;
        c = src.charCodeAt(pos);
        if (
          c === SPACE ||
          c === TAB ||
          c === LF ||
          c === CR ||
          c === SEMI ||
          c === LPAREN ||
          c === RPAREN ||
          c === QUOTE
        )
          break;
      }
      tokens.push({ text: src.slice(start, pos), quoted: false, line: this.#line });
    }
  }
}

/**
 * The fast path of the lexer for the common line: one physical line whose tokens need none of
 * the rare syntax. `scan` reads the line at a line start into `tokens[0, count)` — objects and
 * an array kept from one line to the next, so a line makes no token objects, only the tokens'
 * strings — exactly as `ZoneLexer` would read it, or answers false (and reads nothing) for a
 * line with a parenthesis, an escape, or a quote that does not close on it: `ZoneLexer` then
 * reads that entry. Comments and CRs are handled as the lexer does.
 */
export class LineScanner {
  /** The line's tokens are `tokens[0, count)`; entries past `count` are stale. */
  readonly tokens: ZoneToken[] = [];
  count = 0;
  /** Index of the line's LF, or the text's length for a last line without one. */
  end = 0;
  /** The line began with a blank (RFC 1035 §5.1: the owner is the previous one). */
  inheritOwner = false;

  /** Reads the line starting at `pos` (line number `line`); false when it needs `ZoneLexer`. */
  scan(src: string, pos: number, line: number): boolean {
    const n = src.length;
    let count = 0;
    let p = pos;
    let c = src.charCodeAt(p);
    this.inheritOwner = c === SPACE || c === TAB;
    for (;;) {
      while (c === SPACE || c === TAB || c === CR) c = src.charCodeAt(++p);
      if (p >= n || c === LF) break;
      if (c === SEMI) {
        const nl = src.indexOf('\n', p);
        p = nl < 0 ? n : nl;
        break;
      }
      if (c === LPAREN || c === RPAREN) return false;
      if (c === QUOTE) {
        const start = ++p;
        for (;;) {
          if (p >= n) return false;
          c = src.charCodeAt(p);
          if (c === QUOTE) break;
          if (c === BACKSLASH || c === LF) return false;
          p++;
        }
        this.#put(count++, src.slice(start, p), true, line);
        c = src.charCodeAt(++p);
        continue;
      }
      const start = p;
      do {
        if (c === BACKSLASH) return false;
        c = src.charCodeAt(++p);
      } while (
        p < n &&
        c !== SPACE &&
        c !== TAB &&
        c !== LF &&
        c !== CR &&
        c !== SEMI &&
        c !== LPAREN &&
        c !== RPAREN &&
        c !== QUOTE
      );
      this.#put(count++, src.slice(start, p), false, line);
    }
    this.end = p;
    this.count = count;
    return true;
  }

  #put(i: number, text: string, quoted: boolean, line: number): void {
    const toks = this.tokens;
    if (i < toks.length) {
      const t = toks[i];
      t.text = text;
      t.quoted = quoted;
      t.line = line;
    } else toks.push({ text, quoted, line });
  }

  /** The line's tokens as new objects (for a path that may keep them). */
  copy(): ZoneToken[] {
    const out: ZoneToken[] = [];
    for (let i = 0; i < this.count; i++) {
      const t = this.tokens[i];
      out.push({ text: t.text, quoted: t.quoted, line: t.line });
    }
    return out;
  }
}

/** Splits a string into tokens (used for `$GENERATE` right-hand sides); errors throw. */
export function tokenizeText(text: string, line = 1): ZoneToken[] {
  const lexer = new ZoneLexer(text, line);
  const out: ZoneToken[] = [];
  for (let e = lexer.next(); e; e = lexer.next()) {
    if (e.error) throw new Error(e.error.message);
    for (const t of e.tokens) out.push(t);
  }
  return out;
}
