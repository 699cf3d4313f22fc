/**
 * POP3 command lines (RFC 1939 §3, RFC 2449 §3): a case-insensitive keyword, then arguments
 * separated by single spaces. PASS takes the rest of the line as it is (passwords may contain
 * spaces and 8-bit octets), so the raw rest is kept next to the split arguments.
 *
 * Pure: hostile input yields `{ ok: false }` values, never a throw.
 */
import { POP3_MAX_KEYWORD } from './limits.js';

export interface Pop3Line {
  /** Upper-cased keyword. */
  keyword: string;
  /** The octets after `keyword SP`, untouched; empty when there is no argument. */
  rest: Buffer;
  /** `rest` split on single spaces (latin1: one character per octet); [] without arguments. */
  args: string[];
}

export type Pop3Parse = { ok: true; line: Pop3Line } | { ok: false; reason: string };

const KEYWORD = /^[A-Za-z]+$/;

export function parsePop3Line(line: Buffer): Pop3Parse {
  const sp = line.indexOf(0x20);
  const kw = line.toString('latin1', 0, sp < 0 ? line.length : sp);
  if (kw.length === 0) return { ok: false, reason: sp === 0 ? 'line starts with a space' : 'empty line' };
  if (kw.length > POP3_MAX_KEYWORD || !KEYWORD.test(kw)) return { ok: false, reason: 'invalid keyword' };
  if (sp < 0) return { ok: true, line: { keyword: kw.toUpperCase(), rest: Buffer.alloc(0), args: [] } };
  const rest = line.subarray(sp + 1);
  if (rest.length === 0) return { ok: false, reason: 'trailing space' };
  // NUL is never valid in a POP3 line; other control octets are refused per command.
  if (rest.includes(0)) return { ok: false, reason: 'NUL in arguments' };
  return { ok: true, line: { keyword: kw.toUpperCase(), rest, args: rest.toString('latin1').split(' ') } };
}

/** True when every argument is non-empty printable ASCII (RFC 2449 §3: printable characters). */
export function printableArgs(args: readonly string[]): boolean {
  return args.every((a) => a.length > 0 && /^[\x21-\x7e]+$/.test(a));
}
