/**
 * Writer of the CommuniGate Pro textual data format. What it writes, `parse` reads back as an
 * equal value (dates to the second: see below), and CommuniGate Pro reads it too:
 * - strings are atoms when they are letters and digits only (the documented atom), else quoted;
 *   inside quotes, LF is written `\e` (CommuniGate's end of line), CR `\r`, TAB `\t`, the other
 *   control characters `\nnn`, and characters that hide or reorder text on screen (C1 controls,
 *   bidi overrides and marks, line/paragraph separators, zero-width no-break space) as the `\nnn`
 *   bytes of their UTF-8, so that a human reading a settings file sees that they are there;
 * - numbers must be safe integers (`#-12`); dates are written `#Tdd-mm-yyyy_hh:mm:ss` in GMT with
 *   the milliseconds dropped (CommuniGate's timestamps have none), `#TPAST`/`#TFUTURE` for the two
 *   sentinel instants; data blocks as base64 in brackets; IP addresses as `#I[addr]:port`.
 * A value the format cannot carry (NaN, 1.5, undefined, an unpaired surrogate, an invalid Date, a
 * class instance that is not part of CgValue) is a caller's bug: MailwardError 'internal'. Nesting
 * deeper than FORMAT_MAX_DEPTH, which is also how a cycle shows, is 'format.limit'.
 */
import { MailwardError } from '../../core/errors.js';
import { FORMAT_MAX_DEPTH } from '../../core/limits.js';
import { DataBlock, IpAddress, TIME_FUTURE_MS, TIME_PAST_MS, type CgValue } from './types.js';

export interface SerializeOptions {
  /** Multi-line and indented, one dictionary entry per line, for files people read. */
  pretty?: boolean;
}

/** Indentation of one level in pretty mode. */
const INDENT = '  ';
/** In pretty mode an array of scalars stays on one line while it is this short. */
const PRETTY_INLINE_ARRAY_MAX = 72;
/** In pretty mode base64 longer than this is wrapped into lines of this length (MIME's width). */
const PRETTY_BASE64_LINE = 76;

/** Code points written as escaped UTF-8 bytes although they are printable: they are invisible or
 *  reorder the text around them ("Trojan Source", CVE-2021-42574), so a reviewer could not see them. */
function isHiddenCodePoint(cp: number): boolean {
  return (cp >= 0x80 && cp <= 0x9f) || cp === 0x200e || cp === 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
    (cp >= 0x2066 && cp <= 0x2069) || cp === 0x2028 || cp === 0x2029 || cp === 0xfeff;
}

const pad3 = (n: number): string => (n < 10 ? '00' : n < 100 ? '0' : '') + String(n);

function isAtom(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a))) return false;
  }
  return true;
}

function bug(what: string): never {
  throw new MailwardError('internal', `cannot write ${what} in the CommuniGate data format`);
}

export function serializeString(s: string): string {
  if (isAtom(s)) return s;
  let out = '"';
  let runStart = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (c === 0x22) esc = '\\"';
    else if (c === 0x5c) esc = '\\\\';
    else if (c === 0x0a) esc = '\\e';
    else if (c === 0x0d) esc = '\\r';
    else if (c === 0x09) esc = '\\t';
    else if (c < 0x20 || c === 0x7f) esc = '\\' + pad3(c);
    else if (c >= 0xd800 && c <= 0xdfff) {
      if (c > 0xdbff || (s.charCodeAt(i + 1) & 0xfc00) !== 0xdc00) bug('a string with an unpaired UTF-16 surrogate');
      i++; // astral characters are written as they are
      continue;
    } else if (c >= 0x80 && isHiddenCodePoint(c)) {
      esc = '';
      for (const b of Buffer.from(String.fromCharCode(c), 'utf8')) esc += '\\' + pad3(b);
    }
    if (esc !== undefined) {
      out += s.slice(runStart, i) + esc;
      runStart = i + 1;
    }
  }
  return out + s.slice(runStart) + '"';
}

const two = (n: number): string => (n < 10 ? '0' : '') + String(n);

function serializeDate(d: Date): string {
  const t = d.getTime();
  if (Number.isNaN(t)) bug('an invalid Date');
  if (t === TIME_PAST_MS) return '#TPAST';
  if (t === TIME_FUTURE_MS) return '#TFUTURE';
  const s = new Date(Math.floor(t / 1000) * 1000);
  const y = s.getUTCFullYear();
  if (y < 0 || y > 9999) bug('a date outside the years 0000-9999');
  return `#T${two(s.getUTCDate())}-${two(s.getUTCMonth() + 1)}-${String(y).padStart(4, '0')}_` +
    `${two(s.getUTCHours())}:${two(s.getUTCMinutes())}:${two(s.getUTCSeconds())}`;
}

function serializeScalar(v: CgValue): string | undefined {
  if (typeof v === 'string') return serializeString(v);
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) bug(`the number ${String(v)} (only safe integers)`);
    return '#' + String(v === 0 ? 0 : v);
  }
  if (v === null) return '#NULL#';
  if (v instanceof Date) return serializeDate(v);
  if (v instanceof IpAddress) return `#I[${v.address}]` + (v.port === undefined ? '' : `:${v.port}`);
  if (v instanceof DataBlock) return undefined;
  if (Array.isArray(v)) return undefined;
  if (typeof v === 'object') {
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto === null || proto === Object.prototype) return undefined;
  }
  return bug(typeof v === 'object' ? 'an object of a class outside CgValue' : `a value of type ${typeof v}`);
}

function isNonEmptyContainer(v: CgValue): boolean {
  if (v === null || typeof v !== 'object' || v instanceof Date || v instanceof DataBlock || v instanceof IpAddress) return false;
  return Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0;
}

function tooDeep(): never {
  throw new MailwardError('format.limit', `value nested deeper than ${FORMAT_MAX_DEPTH} levels (or cyclic)`);
}

function compact(v: CgValue, depth: number): string {
  const s = serializeScalar(v);
  if (s !== undefined) return s;
  if (v instanceof DataBlock) return `[${v.bytes.toString('base64')}]`;
  if (depth >= FORMAT_MAX_DEPTH) tooDeep();
  if (Array.isArray(v)) return '(' + v.map((e) => compact(e, depth + 1)).join(',') + ')';
  const o = v as Record<string, CgValue>;
  let out = '{';
  for (const k of Object.keys(o)) out += `${serializeString(k)}=${compact(o[k] as CgValue, depth + 1)};`;
  return out + '}';
}

function pretty(v: CgValue, depth: number, indent: string): string {
  const s = serializeScalar(v);
  if (s !== undefined) return s;
  if (v instanceof DataBlock) {
    const b64 = v.bytes.toString('base64');
    if (b64.length <= PRETTY_BASE64_LINE) return `[${b64}]`;
    let out = '[';
    for (let i = 0; i < b64.length; i += PRETTY_BASE64_LINE) out += `\n${indent}${INDENT}${b64.slice(i, i + PRETTY_BASE64_LINE)}`;
    return `${out}\n${indent}]`;
  }
  if (depth >= FORMAT_MAX_DEPTH) tooDeep();
  const inner = indent + INDENT;
  if (Array.isArray(v)) {
    if (v.length === 0) return '()';
    if (!v.some(isNonEmptyContainer)) {
      const line = '(' + v.map((e) => pretty(e, depth + 1, inner)).join(', ') + ')';
      if (line.length <= PRETTY_INLINE_ARRAY_MAX && !line.includes('\n')) return line;
    }
    return '(\n' + v.map((e) => inner + pretty(e, depth + 1, inner)).join(',\n') + `\n${indent})`;
  }
  const o = v as Record<string, CgValue>;
  const keys = Object.keys(o);
  if (keys.length === 0) return '{}';
  let out = '{\n';
  for (const k of keys) out += `${inner}${serializeString(k)} = ${pretty(o[k] as CgValue, depth + 1, inner)};\n`;
  return out + `${indent}}`;
}

/** Writes a value: compact (one line, as the CLI sends it) or pretty (for files, ends with LF). */
export function serialize(value: CgValue, opts?: SerializeOptions): string {
  return opts?.pretty === true ? pretty(value, 0, '') + '\n' : compact(value, 0);
}
