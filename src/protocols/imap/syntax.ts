/**
 * IMAP command syntax before login (RFC 9051 §9, RFC 3501 §9, RFC 7888): a tag, a command name
 * and arguments that are atoms, quoted strings, literals or parenthesised lists. A command can
 * span several lines joined by literals, so it is assembled from segments (text lines and the
 * literals between them) and scanned again each time a line completes; the scan either finishes
 * the command, asks for the next literal, or rejects it.
 *
 * Everything here is pure: no effects, no I/O; hostile input yields `bad` values, never a throw.
 */
import {
  IMAP_MAX_COMMAND_BYTES, IMAP_MAX_LIST_DEPTH, IMAP_MAX_LITERAL, IMAP_MAX_LITERALS_PER_COMMAND, IMAP_MAX_TAG_LENGTH,
} from './limits.js';

export type Segment = { kind: 'text'; data: Buffer } | { kind: 'literal'; data: Buffer };

export type Token =
  | { type: 'atom'; value: string }
  /** A quoted string or a literal: raw octets (passwords need not be UTF-8). */
  | { type: 'string'; value: Buffer; literal: boolean }
  | { type: 'list'; items: Token[] };

export interface ParsedCommand {
  tag: string;
  /** Upper-cased command name. */
  name: string;
  args: Token[];
}

/** A command waiting for its next literal. */
export interface PendingCommand {
  segments: Segment[];
  tag: string;
  bytes: number;
  literals: number;
  /** The literal announced at the end of the last line. */
  expect: { size: number; sync: boolean };
}

export type AssembleResult =
  | { kind: 'command'; command: ParsedCommand }
  | { kind: 'literal'; pending: PendingCommand }
  /** `close`: the client will send bytes we refused (a non-synchronizing literal), so the only
   *  safe way on is to hang up: reading them as commands would be command injection. */
  | { kind: 'bad'; tag: string | null; reason: string; code?: 'TOOBIG'; close: boolean };

const SP = 0x20;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

/** ATOM-CHAR: any CHAR except atom-specials `( ) { SP CTL % * " \ ]`. */
function isAtomChar(c: number): boolean {
  return c > 0x20 && c < 0x7f && c !== 0x28 && c !== 0x29 && c !== 0x7b && c !== 0x25 && c !== 0x2a && c !== DQUOTE && c !== BACKSLASH && c !== 0x5d;
}

/** ASTRING-CHAR: ATOM-CHAR or `]`. */
function isAstringChar(c: number): boolean {
  return isAtomChar(c) || c === 0x5d;
}

type Scan =
  | { kind: 'complete'; command: ParsedCommand }
  | { kind: 'need-literal'; tag: string; size: number; sync: boolean }
  | { kind: 'error'; tag: string | null; reason: string; tooBig?: boolean };

/** Scans the whole command so far. The last segment is always text. */
export function scanCommand(segments: readonly Segment[]): Scan {
  let si = 0;
  let buf = segments[0]?.data ?? Buffer.alloc(0);
  let p = 0;
  const atEnd = (): boolean => p >= buf.length;
  const peek = (): number => buf[p] ?? -1;
  const readWhile = (pred: (c: number) => boolean): string => {
    const start = p;
    while (p < buf.length && pred(buf[p]!)) p++;
    return buf.toString('latin1', start, p);
  };

  const tag = readWhile((c) => isAstringChar(c) && c !== 0x2b);
  if (tag.length === 0) return { kind: 'error', tag: null, reason: 'missing or invalid tag' };
  if (tag.length > IMAP_MAX_TAG_LENGTH) return { kind: 'error', tag: null, reason: 'tag too long' };
  if (peek() !== SP) return { kind: 'error', tag: atEnd() ? tag : null, reason: atEnd() ? 'missing command' : 'invalid tag' };
  p++;
  const name = readWhile(isAtomChar).toUpperCase();
  if (name.length === 0) return { kind: 'error', tag, reason: 'missing command name' };

  const args: Token[] = [];
  const stack: Token[][] = [args];
  const add = (t: Token): void => { stack[stack.length - 1]!.push(t); };
  let needValue = false;
  for (;;) {
    if (needValue) {
      needValue = false;
      if (atEnd()) return { kind: 'error', tag, reason: 'expected a value' };
      const c = peek();
      if (c === 0x28) { // (
        if (stack.length > IMAP_MAX_LIST_DEPTH) return { kind: 'error', tag, reason: 'lists nested too deeply' };
        p++;
        stack.push([]);
        if (peek() === 0x29) { p++; const items = stack.pop()!; add({ type: 'list', items }); } else needValue = true;
        continue;
      }
      if (c === DQUOTE) {
        p++;
        const out: number[] = [];
        for (;;) {
          if (atEnd()) return { kind: 'error', tag, reason: 'unterminated quoted string' };
          const q = buf[p++]!;
          if (q === DQUOTE) break;
          if (q === BACKSLASH) {
            const e = buf[p++];
            if (e !== DQUOTE && e !== BACKSLASH) return { kind: 'error', tag, reason: 'invalid escape in quoted string' };
            out.push(e);
            continue;
          }
          // RFC 9051 QUOTED-CHAR: no CR, LF or NUL; 8-bit octets are UTF-8 (utf8-quoted).
          if (q === 0x00 || q === 0x0d || q === 0x0a) return { kind: 'error', tag, reason: 'control character in quoted string' };
          out.push(q);
        }
        add({ type: 'string', value: Buffer.from(out), literal: false });
        continue;
      }
      if (c === 0x7b) { // {
        p++;
        const digits = readWhile((d) => d >= 0x30 && d <= 0x39);
        const sync = peek() !== 0x2b;
        if (!sync) p++;
        if (digits.length === 0 || peek() !== 0x7d) return { kind: 'error', tag, reason: 'invalid literal' };
        p++;
        if (!atEnd()) return { kind: 'error', tag, reason: 'literal marker not at end of line' };
        // Compare on the digits, not a parsed number: a 30-digit size must not become Infinity.
        const trimmed = digits.replace(/^0+(?=\d)/, '');
        if (trimmed.length > String(IMAP_MAX_LITERAL).length || Number(trimmed) > IMAP_MAX_LITERAL) {
          return { kind: 'error', tag, reason: 'literal too large', tooBig: true };
        }
        const size = Number(trimmed);
        const lit = segments[si + 1];
        const after = segments[si + 2];
        if (!lit) return { kind: 'need-literal', tag, size, sync };
        if (lit.kind !== 'literal' || !after || after.kind !== 'text' || lit.data.length !== size) {
          return { kind: 'error', tag, reason: 'literal framing' }; // an assembler bug, never client input
        }
        // RFC 9051 CHAR8 excludes NUL (only literal8 may carry it, and not before login).
        if (lit.data.includes(0)) return { kind: 'error', tag, reason: 'NUL in literal' };
        add({ type: 'string', value: lit.data, literal: true });
        si += 2;
        buf = after.data;
        p = 0;
        continue;
      }
      const atom = readWhile(isAstringChar);
      if (atom.length === 0) return { kind: 'error', tag, reason: 'unexpected character' };
      add({ type: 'atom', value: atom });
      continue;
    }
    if (atEnd()) {
      if (stack.length > 1) return { kind: 'error', tag, reason: 'unterminated list' };
      if (si !== segments.length - 1) return { kind: 'error', tag, reason: 'literal framing' };
      return { kind: 'complete', command: { tag, name, args } };
    }
    const c = peek();
    if (c === SP) { p++; needValue = true; continue; }
    if (c === 0x29 && stack.length > 1) { p++; const items = stack.pop()!; add({ type: 'list', items }); continue; }
    return { kind: 'error', tag, reason: 'unexpected character' };
  }
}

/** A line that ends with a non-synchronizing literal marker: its client sends the octets without
 *  waiting, whatever we answer. */
const NON_SYNC_TAIL = /\{\d+\+\}$/;

function endsWithNonSync(line: Buffer): boolean {
  return NON_SYNC_TAIL.test(line.toString('latin1', Math.max(0, line.length - 32)));
}

/**
 * One more line of a command: the first one (pending null), or the text after a literal.
 * Returns the finished command, a request for the next literal (within the limits), or a refusal.
 */
export function feedLine(pending: PendingCommand | null, line: Buffer): AssembleResult {
  const segments: Segment[] = pending ? [...pending.segments, { kind: 'text', data: line }] : [{ kind: 'text', data: line }];
  const bytes = (pending?.bytes ?? 0) + line.length;
  const literals = pending?.literals ?? 0;
  const nonSyncTail = endsWithNonSync(line);
  if (bytes > IMAP_MAX_COMMAND_BYTES) {
    return { kind: 'bad', tag: pending?.tag ?? null, reason: 'command too long', code: 'TOOBIG', close: nonSyncTail };
  }
  const scan = scanCommand(segments);
  switch (scan.kind) {
    case 'complete':
      return { kind: 'command', command: scan.command };
    case 'error':
      return scan.tooBig
        ? { kind: 'bad', tag: scan.tag, reason: scan.reason, code: 'TOOBIG', close: nonSyncTail }
        : { kind: 'bad', tag: scan.tag, reason: scan.reason, close: nonSyncTail };
    case 'need-literal': {
      const close = !scan.sync;
      if (literals + 1 > IMAP_MAX_LITERALS_PER_COMMAND) return { kind: 'bad', tag: scan.tag, reason: 'too many literals', close };
      if (bytes + scan.size > IMAP_MAX_COMMAND_BYTES) return { kind: 'bad', tag: scan.tag, reason: 'command too long', code: 'TOOBIG', close };
      return { kind: 'literal', pending: { segments, tag: scan.tag, bytes, literals: literals + 1, expect: { size: scan.size, sync: scan.sync } } };
    }
  }
}

/** The literal a pending command asked for. The caller then waits for the next line. */
export function feedLiteral(pending: PendingCommand, data: Buffer): PendingCommand | { kind: 'bad'; reason: string } {
  if (data.length !== pending.expect.size) return { kind: 'bad', reason: 'literal of the wrong size' };
  return { ...pending, segments: [...pending.segments, { kind: 'literal', data }], bytes: pending.bytes + data.length };
}

// ---- argument helpers for the command parsers ------------------------------------------------

/** astring: an atom or a string, as octets. */
export function astring(t: Token | undefined): Buffer | null {
  if (!t) return null;
  if (t.type === 'atom') return Buffer.from(t.value, 'latin1');
  if (t.type === 'string') return t.value;
  return null;
}

/** nstring: NIL (null) or a string. `undefined` when the token is neither. */
export function nstring(t: Token | undefined): Buffer | null | undefined {
  if (!t) return undefined;
  if (t.type === 'atom') return t.value.toUpperCase() === 'NIL' ? null : undefined;
  if (t.type === 'string') return t.value;
  return undefined;
}

/** A quoted string for a reply: only used for our own fixed texts and ID values we checked. */
export function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
