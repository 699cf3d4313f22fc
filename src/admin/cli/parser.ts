/**
 * Parser of one CommuniGate Pro CLI command line (W3): a command name, then arguments separated by
 * white space, each an atom, a quoted string, a data block, a `#` object, an array `( ... )` or a
 * dictionary `{ ... }` in the CommuniGate data format. CommuniGate's rule, which existing scripts
 * rely on: arrays and dictionaries given as arguments are on the one command line.
 *
 *   CreateAccount "user1@client1.com" TextMailbox { RealName = "J. Smith"; }
 *   RenameAccount user1 into user2
 *   SetAccountPassword user1@example.com PASSWORD "s3cret phrase"
 *
 * Keywords (`into`, `PASSWORD`, `TextMailbox`) are recognised later, by the command table, and
 * only when written as bare atoms: a quoted "into" is a name, never a keyword.
 *
 * The scanner only finds where each argument ends (quotes, nesting, comments), with forward scans
 * and no recursion; the text of each argument is then read by the one data-format parser
 * (settings/format), so the CLI and the settings files can never disagree about a value. Failures
 * are values with a reason and a position; nothing here throws on input.
 */
import { FormatError, parse } from '../../settings/format/index.js';
import type { CgValue } from '../../settings/format/types.js';

/** Longest command line: a domain update carrying a PEM CA chain (up to 256 KiB) with its escapes
 *  fits several times over; beyond this a "command" is an attempt to make us buffer and scan. */
export const CLI_MAX_COMMAND_LENGTH = 1024 * 1024;
/** Most arguments on one line: the longest command form has seven (CreateAccount with a type, the
 *  external flag, settings and keywords); 64 leaves room and bounds the work per line. */
export const CLI_MAX_ARGUMENTS = 64;
/** Longest command name: CommuniGate's longest is about 30 letters. */
export const CLI_MAX_NAME_LENGTH = 64;

export interface CliToken {
  value: CgValue;
  /** Written as a bare atom: only atoms can be keywords. */
  atom: boolean;
  /** Offset of the argument in the line, for messages. */
  at: number;
}

export interface CliCommandLine {
  /** The command name as written (commands are matched without regard to case). */
  name: string;
  args: CliToken[];
}

export type CliParse =
  | { ok: true; command: CliCommandLine }
  | { ok: false; reason: string; at: number };

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
const isLetter = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
/** The data format's atom characters (settings/format/parse.ts). */
const isAtomChar = (c: number): boolean => isLetter(c) || isDigit(c) || c === 0x2e || c === 0x5f || c === 0x2d || c === 0x40;

/** One character for a message: printable ASCII as itself, anything else as U+XXXX, so a reply
 *  never echoes a control character or a bidi override back into a terminal or a log. */
function describe(text: string, at: number): string {
  if (at >= text.length) return 'end of line';
  const cp = text.codePointAt(at) as number;
  return cp > 0x20 && cp < 0x7f ? `'${String.fromCharCode(cp)}'` : `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

type Scan = { ok: true; end: number } | { ok: false; reason: string; at: number };

/** End of a quoted string that opens at `at` (just past its closing quote). */
function scanQuoted(t: string, at: number): Scan {
  let p = at + 1;
  while (p < t.length) {
    const c = t.charCodeAt(p);
    if (c === 0x5c) { p += 2; continue; } // backslash: the next character is escaped
    if (c === 0x22) return { ok: true, end: p + 1 };
    p++;
  }
  return { ok: false, reason: 'unterminated quoted string', at };
}

function scanBlock(t: string, at: number): Scan {
  const close = t.indexOf(']', at + 1);
  return close < 0 ? { ok: false, reason: 'unterminated data block [...]', at } : { ok: true, end: close + 1 };
}

/** Adjacent quoted strings (or data blocks) are one value in the data format. */
function scanRun(t: string, at: number, open: number, one: (t: string, at: number) => Scan): Scan {
  let r = one(t, at);
  for (;;) {
    if (!r.ok) return r;
    let q = r.end;
    while (q < t.length && isSpace(t.charCodeAt(q))) q++;
    if (t.charCodeAt(q) !== open) return r;
    r = one(t, q);
  }
}

/** End of an array or dictionary: nesting is counted, strings, blocks and comments skipped. The
 *  data-format parser checks the brackets really match (and the depth limit) afterwards. */
function scanContainer(t: string, at: number): Scan {
  let depth = 0;
  let p = at;
  while (p < t.length) {
    const c = t.charCodeAt(p);
    if (c === 0x22) {
      const r = scanQuoted(t, p);
      if (!r.ok) return r;
      p = r.end;
      continue;
    }
    if (c === 0x5b) {
      const r = scanBlock(t, p);
      if (!r.ok) return r;
      p = r.end;
      continue;
    }
    if (c === 0x2f && t.charCodeAt(p + 1) === 0x2a) { // /* comment */
      const close = t.indexOf('*/', p + 2);
      if (close < 0) return { ok: false, reason: 'unterminated /* comment', at: p };
      p = close + 2;
      continue;
    }
    if (c === 0x2f && t.charCodeAt(p + 1) === 0x2f) return { ok: false, reason: `unterminated ${t.charCodeAt(at) === 0x7b ? 'dictionary' : 'array'} (a // comment runs to the end of the line)`, at };
    if (c === 0x7b || c === 0x28) depth++;
    else if (c === 0x7d || c === 0x29) {
      depth--;
      if (depth === 0) return { ok: true, end: p + 1 };
    }
    p++;
  }
  return { ok: false, reason: `unterminated ${t.charCodeAt(at) === 0x7b ? 'dictionary' : 'array'}`, at };
}

function scanArgument(t: string, at: number): Scan {
  const c = t.charCodeAt(at);
  if (c === 0x22) return scanRun(t, at, 0x22, scanQuoted);
  if (c === 0x5b) return scanRun(t, at, 0x5b, scanBlock);
  if (c === 0x7b || c === 0x28) return scanContainer(t, at);
  if (c === 0x23) { // #number, #T..., #I[...], #NULL#: none contains white space
    let p = at + 1;
    while (p < t.length && !isSpace(t.charCodeAt(p))) p++;
    return { ok: true, end: p };
  }
  if (isAtomChar(c)) {
    let p = at + 1;
    while (p < t.length && isAtomChar(t.charCodeAt(p))) p++;
    return { ok: true, end: p };
  }
  return { ok: false, reason: `unexpected ${describe(t, at)}: an argument is an atom, a "quoted string", [data], #object, ( array ) or { dictionary }`, at };
}

/** Parses one command line (without its line end). */
export function parseCommandLine(line: string): CliParse {
  if (line.length > CLI_MAX_COMMAND_LENGTH) return { ok: false, reason: `command longer than ${CLI_MAX_COMMAND_LENGTH} characters`, at: 0 };
  const t = line;
  let p = 0;
  while (p < t.length && isSpace(t.charCodeAt(p))) p++;
  const nameAt = p;
  while (p < t.length && (isLetter(t.charCodeAt(p)) || isDigit(t.charCodeAt(p)))) p++;
  if (p === nameAt) return { ok: false, reason: p >= t.length ? 'empty command' : `a command name starts with a letter, found ${describe(t, p)}`, at: p };
  if (!isLetter(t.charCodeAt(nameAt))) return { ok: false, reason: 'a command name starts with a letter', at: nameAt };
  if (p - nameAt > CLI_MAX_NAME_LENGTH) return { ok: false, reason: 'command name too long', at: nameAt };
  if (p < t.length && !isSpace(t.charCodeAt(p))) return { ok: false, reason: `unexpected ${describe(t, p)} after the command name`, at: p };
  const name = t.slice(nameAt, p);
  const args: CliToken[] = [];
  for (;;) {
    while (p < t.length && isSpace(t.charCodeAt(p))) p++;
    if (p >= t.length) break;
    if (args.length >= CLI_MAX_ARGUMENTS) return { ok: false, reason: `more than ${CLI_MAX_ARGUMENTS} arguments`, at: p };
    const at = p;
    const s = scanArgument(t, at);
    if (!s.ok) return s;
    const text = t.slice(at, s.end);
    let value: CgValue;
    try {
      value = parse(text);
    } catch (e) {
      if (e instanceof FormatError) return { ok: false, reason: `argument ${args.length + 1}: ${e.reason}`, at: at + e.column - 1 };
      throw e;
    }
    args.push({ value, atom: isAtomChar(t.charCodeAt(at)), at });
    p = s.end;
    // Arguments are separated: `user1"x"` or `{}{}` is a typo, not two arguments.
    if (p < t.length && !isSpace(t.charCodeAt(p))) return { ok: false, reason: `unexpected ${describe(t, p)} after argument ${args.length}: separate arguments with a space`, at: p };
  }
  return { ok: true, command: { name, args } };
}
