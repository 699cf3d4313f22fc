/**
 * Parser of the CommuniGate Pro textual data format (settings files, CLI/API arguments and answers).
 *
 * Grammar, from CommuniGate Pro's "Data Formats" chapter, with the choices made where it is silent:
 *
 *   value      ::= string | datablock | array | dictionary | number | timestamp | ip | null
 *   string     ::= atom | quoted { quoted }         adjacent quoted strings are one string (the
 *                                                   CLI splits long strings that way)
 *   atom       ::= 1*( A-Z a-z 0-9 . _ - @ )        the documentation says letters and digits; the
 *                                                   other four are accepted because CommuniGate's own
 *                                                   CLI clients read them unquoted. The serializer
 *                                                   writes atoms of letters and digits only.
 *   quoted     ::= '"' *( char | escape ) '"'       escapes: \" \\ \r \n \t, \e (end of line, read as
 *                                                   LF), \nnn (three decimal digits, a byte 000-255;
 *                                                   bytes >= 128 must form UTF-8). A raw control
 *                                                   character other than TAB is refused (an
 *                                                   unterminated string then fails on its own line).
 *   datablock  ::= '[' base64 and white space ']' { '[' ... ']' }   adjacent blocks: bytes joined
 *   array      ::= '(' [ value *( ',' value ) ] ')'
 *   dictionary ::= '{' *( string '=' value ';' ) '}'                a key may appear only once
 *   number     ::= '#' [ '-' ] 1*DIGIT            a safe integer (|n| < 2^53)
 *   timestamp  ::= '#T' dd '-' mm '-' yyyy [ '_' hh ':' mm ':' ss ] | '#TPAST' | '#TFUTURE'   (GMT)
 *   ip         ::= '#I[' ipv4-or-ipv6 ']' [ ':' port ]
 *   null       ::= '#NULL#'
 *
 * White space is space, TAB, CR and LF (CommuniGate's multi-line texts). Comments are white space,
 * as in CommuniGate's multi-line texts: `//` to the end of the line and `/* ... *\/` (not nested).
 * `#` is NOT a comment: it starts numbers, timestamps, IP addresses and #NULL#. A byte-order mark
 * at the very start is skipped (files saved by Windows editors). XML objects (`<...>`) are refused
 * with their own message: nothing in Mailward's settings needs them.
 *
 * The parser is a loop over an explicit stack, so nesting costs heap, not call stack, and it stops
 * at FORMAT_MAX_DEPTH; every scan moves forward, so time is linear in the input, which is capped at
 * FORMAT_MAX_INPUT bytes. No regular expression touches the input.
 */
import { FORMAT_MAX_DEPTH, FORMAT_MAX_INPUT } from '../../core/limits.js';
import { FormatError } from './errors.js';
import { DataBlock, IpAddress, TIME_FUTURE_MS, TIME_PAST_MS, dict, type CgDict, type CgValue } from './types.js';

export interface ParseOptions {
  /** A name for error messages, e.g. the file path: "<source>:<line>:<column>: <what>". */
  source?: string;
}

/** Longest text between `#I[` and `]`: an IPv6 address with an embedded IPv4 part and a zone
 *  index fits in 64; anything longer is not an address and is not worth scanning further. */
const IP_TEXT_MAX = 64;

/** Most digits read after `#`: 2^53 has 16 digits, so a 17th digit is out of range whatever it is;
 *  stopping there keeps a `#999...9` megabyte from being converted at all. */
const NUMBER_DIGITS_MAX = 16;

const C_TAB = 0x09, C_LF = 0x0a, C_CR = 0x0d, C_SPACE = 0x20, C_QUOTE = 0x22, C_HASH = 0x23;
const C_LPAREN = 0x28, C_RPAREN = 0x29, C_STAR = 0x2a, C_COMMA = 0x2c, C_MINUS = 0x2d, C_DOT = 0x2e;
const C_SLASH = 0x2f, C_COLON = 0x3a, C_SEMI = 0x3b, C_LT = 0x3c, C_EQUALS = 0x3d, C_AT = 0x40;
const C_LBRACKET = 0x5b, C_BACKSLASH = 0x5c, C_RBRACKET = 0x5d, C_UNDERSCORE = 0x5f;
const C_LBRACE = 0x7b, C_RBRACE = 0x7d, C_DEL = 0x7f, C_BOM = 0xfeff;

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isLetter = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isAtomChar = (c: number): boolean =>
  isLetter(c) || isDigit(c) || c === C_DOT || c === C_UNDERSCORE || c === C_MINUS || c === C_AT;
const isSpace = (c: number): boolean => c === C_SPACE || c === C_TAB || c === C_LF || c === C_CR;
const isBase64Char = (c: number): boolean => isLetter(c) || isDigit(c) || c === 0x2b || c === C_SLASH || c === C_EQUALS;

/** One character for an error message: printable ASCII as itself, anything else as U+XXXX, so a
 *  message never carries a control character or a bidi override into a log or a terminal. */
function describeChar(text: string, pos: number): string {
  if (pos >= text.length) return 'end of input';
  const cp = text.codePointAt(pos) as number;
  if (cp > 0x20 && cp < 0x7f) return `'${String.fromCharCode(cp)}'`;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

type Frame =
  | { kind: 'array'; items: CgValue[] }
  | { kind: 'dict'; obj: CgDict; key: string };

// ignoreBOM: keep a U+FEFF that the escapes spell; the default would silently drop it.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

class Parser {
  private pos = 0;
  constructor(private readonly text: string, private readonly source: string | undefined) {}

  fail(reason: string, at: number = this.pos, code: 'format.syntax' | 'format.limit' = 'format.syntax'): never {
    const { line, column } = lineColumn(this.text, at);
    throw new FormatError(code, reason, line, column, this.source);
  }

  /** Skips white space and comments. */
  skip(): void {
    const t = this.text;
    for (;;) {
      const c = t.charCodeAt(this.pos);
      if (isSpace(c)) { this.pos++; continue; }
      if (c === C_SLASH) {
        const n = t.charCodeAt(this.pos + 1);
        if (n === C_SLASH) {
          let p = this.pos + 2;
          while (p < t.length && t.charCodeAt(p) !== C_LF && t.charCodeAt(p) !== C_CR) p++;
          this.pos = p;
          continue;
        }
        if (n === C_STAR) {
          const end = t.indexOf('*/', this.pos + 2);
          if (end < 0) this.fail('unterminated /* comment');
          this.pos = end + 2;
          continue;
        }
      }
      return;
    }
  }

  atEnd(): boolean { return this.pos >= this.text.length; }
  peek(): number { return this.text.charCodeAt(this.pos); }

  parseDocument(wantDict: boolean): CgValue {
    if (this.text.charCodeAt(0) === C_BOM) this.pos = 1;
    this.skip();
    if (this.atEnd()) this.fail(wantDict ? 'empty input: expected a dictionary { ... }' : 'empty input: expected a value');
    if (wantDict && this.peek() !== C_LBRACE) this.fail(`expected a dictionary '{' at the top level, found ${describeChar(this.text, this.pos)}`);
    const value = this.parseValueTree();
    this.skip();
    if (!this.atEnd()) this.fail(`unexpected ${describeChar(this.text, this.pos)} after the end of the value`);
    return value;
  }

  /** One complete value, containers included, without recursion. */
  parseValueTree(): CgValue {
    const stack: Frame[] = [];
    // 'value': a value must start here; 'first': just after '(' (a value or ')');
    // 'key': just after '{' or ';' (a key or '}').
    let state: 'value' | 'first' | 'key' = 'value';
    for (;;) {
      let value: CgValue;
      this.skip();
      const c = this.peek();
      if (state === 'key') {
        if (c === C_RBRACE) {
          this.pos++;
          value = (stack.pop() as Frame & { kind: 'dict' }).obj;
        } else {
          const frame = stack[stack.length - 1] as Frame & { kind: 'dict' };
          const keyAt = this.pos;
          if (c !== C_QUOTE && !isAtomChar(c)) {
            this.fail(this.atEnd() ? "unterminated dictionary: expected a key or '}'" : `expected a key or '}', found ${describeChar(this.text, this.pos)}`);
          }
          const key = this.parseString();
          if (Object.hasOwn(frame.obj, key)) this.fail('duplicate key in dictionary', keyAt);
          this.skip();
          if (this.peek() !== C_EQUALS) this.fail(`expected '=' after a dictionary key, found ${describeChar(this.text, this.pos)}`);
          this.pos++;
          frame.key = key;
          state = 'value';
          continue;
        }
      } else if (c === C_LBRACE || c === C_LPAREN) {
        if (stack.length >= FORMAT_MAX_DEPTH) this.fail(`nesting deeper than ${FORMAT_MAX_DEPTH} levels`, this.pos, 'format.limit');
        this.pos++;
        if (c === C_LBRACE) { stack.push({ kind: 'dict', obj: dict(), key: '' }); state = 'key'; }
        else { stack.push({ kind: 'array', items: [] }); state = 'first'; }
        continue;
      } else if (state === 'first' && c === C_RPAREN) {
        this.pos++;
        value = (stack.pop() as Frame & { kind: 'array' }).items;
      } else {
        value = this.parseScalar();
      }

      // A value is complete: hand it to its container, closing containers as they end.
      for (;;) {
        const top = stack[stack.length - 1];
        if (top === undefined) return value;
        this.skip();
        const d = this.peek();
        if (top.kind === 'array') {
          top.items.push(value);
          if (d === C_COMMA) { this.pos++; state = 'value'; break; }
          if (d === C_RPAREN) { this.pos++; stack.pop(); value = top.items; continue; }
          this.fail(this.atEnd() ? "unterminated array: expected ',' or ')'" : `expected ',' or ')' in an array, found ${describeChar(this.text, this.pos)}`);
        } else {
          top.obj[top.key] = value;
          if (d !== C_SEMI) this.fail(this.atEnd() ? "unterminated dictionary: expected ';'" : `expected ';' after a dictionary value, found ${describeChar(this.text, this.pos)}`);
          this.pos++;
          state = 'key';
          break;
        }
      }
    }
  }

  parseScalar(): CgValue {
    const c = this.peek();
    if (c === C_QUOTE || isAtomChar(c)) return this.parseString();
    if (c === C_LBRACKET) return this.parseDataBlock();
    if (c === C_HASH) return this.parseHash();
    if (c === C_LT) this.fail('XML objects (<...>) are not supported');
    if (this.atEnd()) this.fail('unexpected end of input: expected a value');
    this.fail(`expected a value, found ${describeChar(this.text, this.pos)}`);
  }

  /** An atom, or one or more adjacent quoted strings. */
  parseString(): string {
    const t = this.text;
    if (t.charCodeAt(this.pos) !== C_QUOTE) {
      const start = this.pos;
      while (isAtomChar(t.charCodeAt(this.pos))) this.pos++;
      return t.slice(start, this.pos);
    }
    let out = this.parseQuoted();
    for (;;) {
      const save = this.pos;
      this.skip();
      if (t.charCodeAt(this.pos) !== C_QUOTE) { this.pos = save; return out; }
      out += this.parseQuoted();
    }
  }

  parseQuoted(): string {
    const t = this.text;
    const open = this.pos;
    let p = open + 1;
    let out = '';
    let runStart = p;
    for (;;) {
      if (p >= t.length) this.fail('unterminated quoted string', open);
      const c = t.charCodeAt(p);
      if (c === C_QUOTE) { out += t.slice(runStart, p); this.pos = p + 1; return out; }
      if (c === C_BACKSLASH) {
        out += t.slice(runStart, p);
        const e = t.charCodeAt(p + 1);
        if (e === C_QUOTE || e === C_BACKSLASH) { out += String.fromCharCode(e); p += 2; }
        else if (e === 0x72) { out += '\r'; p += 2; }
        else if (e === 0x6e || e === 0x65) { out += '\n'; p += 2; } // \n, and \e: end of line is LF here
        else if (e === 0x74) { out += '\t'; p += 2; }
        else if (isDigit(e)) {
          // \nnn is a byte. Bytes below 128 are characters; a run of bytes from 128 up must be UTF-8.
          const bytes: number[] = [];
          let q = p;
          while (t.charCodeAt(q) === C_BACKSLASH && isDigit(t.charCodeAt(q + 1))) {
            const b = this.byteEscape(q);
            if (b < 0x80 && bytes.length > 0) break;
            q += 4;
            if (b < 0x80) { out += String.fromCharCode(b); break; }
            bytes.push(b);
          }
          if (bytes.length > 0) {
            try { out += utf8.decode(Uint8Array.from(bytes)); }
            catch { this.fail('\\nnn escapes from 128 up must spell UTF-8 and do not', p); }
          }
          p = q;
        } else if (p + 1 >= t.length) {
          this.fail('unterminated quoted string', open);
        } else {
          this.fail(`unknown escape \\${describeChar(t, p + 1).replace(/^'|'$/g, '')} (known: \\" \\\\ \\r \\n \\e \\t \\nnn)`, p);
        }
        runStart = p;
        continue;
      }
      if ((c < 0x20 && c !== C_TAB) || c === C_DEL) {
        this.fail(c === C_LF || c === C_CR
          ? 'line break inside a quoted string (unterminated string? write \\e or \\n for a line break)'
          : `control character ${describeChar(t, p)} inside a quoted string (write it as \\nnn)`, p);
      }
      if (c >= 0xd800 && c <= 0xdfff) {
        const ok = c <= 0xdbff && (t.charCodeAt(p + 1) & 0xfc00) === 0xdc00;
        if (!ok) this.fail('unpaired UTF-16 surrogate: the text is not valid Unicode', p);
        p += 2;
        continue;
      }
      p++;
    }
  }

  /** The byte value of the `\nnn` at `at`; refuses anything but exactly three digits up to 255. */
  byteEscape(at: number): number {
    const t = this.text;
    const d1 = t.charCodeAt(at + 1), d2 = t.charCodeAt(at + 2), d3 = t.charCodeAt(at + 3);
    if (!isDigit(d1) || !isDigit(d2) || !isDigit(d3)) this.fail('\\nnn escape needs exactly three decimal digits', at);
    const v = (d1 - 0x30) * 100 + (d2 - 0x30) * 10 + (d3 - 0x30);
    if (v > 255) this.fail('\\nnn escape above 255 (it is a byte)', at);
    return v;
  }

  /** One `[...]` block or several adjacent ones; each is base64 of its own (CommuniGate cuts long
   *  blocks at whole 4-character groups) and their bytes are joined. */
  parseDataBlock(): DataBlock {
    const t = this.text;
    const parts: Buffer[] = [];
    for (;;) {
      const open = this.pos;
      let p = open + 1;
      let b64 = '';
      let runStart = p;
      for (;;) {
        if (p >= t.length) this.fail('unterminated data block [...]', open);
        const c = t.charCodeAt(p);
        if (c === C_RBRACKET) break;
        if (isSpace(c)) { b64 += t.slice(runStart, p); p++; runStart = p; continue; }
        if (!isBase64Char(c)) this.fail(`${describeChar(t, p)} is not a base64 character in a data block`, p);
        p++;
      }
      b64 += t.slice(runStart, p);
      // Padding only at the end, at most two '=', and a length base64 can have.
      let pad = 0;
      while (pad < b64.length && b64.charCodeAt(b64.length - 1 - pad) === C_EQUALS) pad++;
      const firstEq = b64.indexOf('=');
      if (pad > 2 || (firstEq >= 0 && firstEq < b64.length - pad)) this.fail("misplaced '=' padding in a data block", open);
      if ((pad > 0 && b64.length % 4 !== 0) || b64.length % 4 === 1) this.fail('data block has a length base64 cannot have', open);
      parts.push(Buffer.from(b64, 'base64'));
      this.pos = p + 1;
      const save = this.pos;
      this.skip();
      if (t.charCodeAt(this.pos) !== C_LBRACKET) { this.pos = save; break; }
    }
    return new DataBlock(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts));
  }

  parseHash(): CgValue {
    const t = this.text;
    const start = this.pos;
    const c = t.charCodeAt(start + 1);
    if (t.startsWith('#NULL#', start)) { this.pos = start + 6; return null; }
    if (c === 0x54) return this.parseTimestamp(); // 'T'
    if (c === 0x49 && t.charCodeAt(start + 2) === C_LBRACKET) return this.parseIp(); // 'I['
    let p = start + 1;
    const negative = t.charCodeAt(p) === C_MINUS;
    if (negative) p++;
    const digitsAt = p;
    while (isDigit(t.charCodeAt(p))) {
      p++;
      if (p - digitsAt > NUMBER_DIGITS_MAX) this.fail('number out of range (beyond 2^53)', start, 'format.limit');
    }
    if (p === digitsAt) {
      this.fail(negative ? "expected digits after '#-'" : "unknown '#' object (expected #number, #T..., #I[...] or #NULL#)", start);
    }
    const n = Number(t.slice(digitsAt, p));
    if (!Number.isSafeInteger(n)) this.fail('number out of range (beyond 2^53)', start, 'format.limit');
    this.pos = p;
    return negative && n !== 0 ? -n : n;
  }

  parseTimestamp(): Date {
    const t = this.text;
    const start = this.pos;
    if (t.startsWith('#TPAST', start) && !isAtomChar(t.charCodeAt(start + 6))) { this.pos = start + 6; return new Date(TIME_PAST_MS); }
    if (t.startsWith('#TFUTURE', start) && !isAtomChar(t.charCodeAt(start + 8))) { this.pos = start + 8; return new Date(TIME_FUTURE_MS); }
    let p = start + 2;
    const num = (width: number, what: string): number => {
      let v = 0;
      for (let i = 0; i < width; i++) {
        const d = t.charCodeAt(p + i);
        if (!isDigit(d)) this.fail(`timestamp: expected ${width} digits of the ${what} (format #Tdd-mm-yyyy_hh:mm:ss)`, p + i);
        v = v * 10 + (d - 0x30);
      }
      p += width;
      return v;
    };
    const sep = (ch: number, what: string): void => {
      if (t.charCodeAt(p) !== ch) this.fail(`timestamp: expected '${String.fromCharCode(ch)}' ${what} (format #Tdd-mm-yyyy_hh:mm:ss)`, p);
      p++;
    };
    const day = num(2, 'day'); sep(C_MINUS, 'after the day');
    const month = num(2, 'month'); sep(C_MINUS, 'after the month');
    const year = num(4, 'year');
    let hour = 0, minute = 0, second = 0;
    if (t.charCodeAt(p) === C_UNDERSCORE) {
      p++;
      hour = num(2, 'hour'); sep(C_COLON, 'after the hour');
      minute = num(2, 'minutes'); sep(C_COLON, 'after the minutes');
      second = num(2, 'seconds');
    }
    const date = new Date(0);
    date.setUTCFullYear(year, month - 1, day); // setUTCFullYear: Date.UTC maps years 0-99 to 1900-1999
    date.setUTCHours(hour, minute, second, 0);
    if (month < 1 || month > 12 || day < 1 || date.getUTCDate() !== day || date.getUTCMonth() !== month - 1 ||
        hour > 23 || minute > 59 || second > 59) {
      this.fail('timestamp: no such date or time', start);
    }
    this.pos = p;
    return date;
  }

  parseIp(): IpAddress {
    const t = this.text;
    const start = this.pos;
    const from = start + 3;
    let p = from;
    while (p < t.length && t.charCodeAt(p) !== C_RBRACKET && p - from <= IP_TEXT_MAX) p++;
    if (t.charCodeAt(p) !== C_RBRACKET) this.fail(p >= t.length ? 'unterminated #I[...] address' : 'IP address too long', start);
    const address = t.slice(from, p);
    p++;
    let port: number | undefined;
    if (t.charCodeAt(p) === C_COLON) {
      p++;
      const portAt = p;
      let v = 0;
      while (isDigit(t.charCodeAt(p)) && p - portAt < 6) { v = v * 10 + (t.charCodeAt(p) - 0x30); p++; }
      if (p === portAt || v > 65535) this.fail('#I[...]: port must be 0-65535', portAt);
      port = v;
    }
    let ip: IpAddress;
    try { ip = new IpAddress(address, port); } catch { this.fail('#I[...] does not hold an IPv4 or IPv6 address', start); }
    this.pos = p;
    return ip;
  }
}

/** 1-based line and column (in code points) of a UTF-16 offset; CR, LF and CRLF each end a line.
 *  Only called on error, so a failing parse stays linear. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1, lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === C_LF || (c === C_CR && text.charCodeAt(i + 1) !== C_LF)) { line++; lineStart = i + 1; }
  }
  let column = 1;
  for (let i = lineStart; i < end; i++) {
    const c = text.charCodeAt(i);
    if (!(c >= 0xdc00 && c <= 0xdfff && i > lineStart && (text.charCodeAt(i - 1) & 0xfc00) === 0xd800)) column++;
  }
  return { line, column };
}

function checkSize(text: string, source: string | undefined): void {
  // UTF-16 length never exceeds the UTF-8 byte length, so the cheap test first.
  if (text.length > FORMAT_MAX_INPUT || Buffer.byteLength(text, 'utf8') > FORMAT_MAX_INPUT) {
    throw new FormatError('format.limit', `input larger than ${FORMAT_MAX_INPUT} bytes`, 1, 1, source);
  }
}

/** Parses one value; anything after it but white space and comments is an error. */
export function parse(text: string, opts?: ParseOptions): CgValue {
  checkSize(text, opts?.source);
  return new Parser(text, opts?.source).parseDocument(false);
}

/** Parses a settings file: the top level must be a dictionary. */
export function parseDictionary(text: string, opts?: ParseOptions): CgDict {
  checkSize(text, opts?.source);
  return new Parser(text, opts?.source).parseDocument(true) as CgDict;
}
