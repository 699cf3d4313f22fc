/**
 * SMTP command-line parsing (RFC 5321 §4.1, RFC 1869 parameters, RFC 4954 AUTH). Pure functions
 * over one line (without its CRLF): every input gives a value, never an exception, so the
 * session maps each outcome to one reply. The envelope commands are parsed strictly and rebuilt
 * (never forwarded as received), so nothing a client adds reaches the backend, which trusts us.
 */

/** Longest command line (RFC 5321 §4.5.3.1.4 says 512, extended by ESMTP parameters; Postfix
 *  accepts 2048, which we follow so that real clients with long parameters are not refused). AUTH
 *  lines are bounded by the SASL driver's own limit instead. */
export const SMTP_MAX_COMMAND_LENGTH = 2048;

/** Longest EHLO/HELO name: a domain name is at most 255 octets (RFC 5321 §4.5.3.1.2). */
export const SMTP_MAX_HELO_LENGTH = 255;

/** Longest path inside <> (RFC 5321 §4.5.3.1.3: 256 octets). */
export const SMTP_MAX_PATH_LENGTH = 256;

/** Most ESMTP parameters on one MAIL FROM: we know two (SIZE, BODY) plus AUTH=; more is abuse. */
export const SMTP_MAX_PARAMETERS = 8;

export const VERBS = ['EHLO', 'HELO', 'STARTTLS', 'AUTH', 'MAIL', 'RCPT', 'DATA', 'BDAT', 'RSET', 'NOOP', 'QUIT', 'VRFY', 'EXPN', 'HELP'] as const;
export type Verb = (typeof VERBS)[number];

export type ParsedLine =
  | { kind: 'command'; verb: Verb; args: string }
  /** A verb we do not know (XCLIENT, XFORWARD, ETRN, TURN...): never forwarded. */
  | { kind: 'unknown'; verb: string }
  /** Control characters, 8-bit bytes, an empty line, or over-long. */
  | { kind: 'syntax'; reason: string }
  /** An HTTP request line or header on the SMTP port: a browser or a cross-protocol attack. */
  | { kind: 'http' };

const HTTP_REQUEST = /^(GET|POST|HEAD|PUT|DELETE|OPTIONS|CONNECT|TRACE|PATCH) \S+ HTTP\/\d/i;
/** A header line ("Host: x", "User-Agent: y"): an SMTP verb never holds a colon. */
const HTTP_HEADER = /^[A-Za-z][A-Za-z0-9-]*: /;

export function isHttpRequest(text: string): boolean {
  return HTTP_REQUEST.test(text) || HTTP_HEADER.test(text);
}

/** Strips one trailing CR (a listener that splits on LF leaves it), as latin1 text. */
export function lineText(line: Buffer): string {
  const end = line.length > 0 && line[line.length - 1] === 0x0d ? line.length - 1 : line.length;
  return line.subarray(0, end).toString('latin1');
}

export function parseCommand(text: string, maxLength = SMTP_MAX_COMMAND_LENGTH): ParsedLine {
  if (text.length > maxLength) return { kind: 'syntax', reason: 'line too long' };
  if (isHttpRequest(text)) return { kind: 'http' };
  // RFC 5321 commands are printable US-ASCII; without SMTPUTF8 nothing else belongs in them.
  if (!/^[\x20-\x7e]*$/.test(text)) return { kind: 'syntax', reason: 'control or 8-bit characters' };
  const sp = text.indexOf(' ');
  const verb = (sp < 0 ? text : text.slice(0, sp)).toUpperCase();
  const args = sp < 0 ? '' : text.slice(sp + 1).replace(/^ +/, '').replace(/ +$/, '');
  if (verb === '') return { kind: 'syntax', reason: 'empty command' };
  if (!(VERBS as readonly string[]).includes(verb)) return { kind: 'unknown', verb: verb.slice(0, 32) };
  return { kind: 'command', verb: verb as Verb, args };
}

export type HeloResult = { ok: true; name: string } | { ok: false };

/** EHLO/HELO argument: RFC 5321 wants a domain or an address literal; real clients send host
 *  names with underscores and the like, so any printable token is taken as it is (it is only
 *  passed to the backend in XCLIENT HELO, xtext-encoded). */
export function parseHelo(args: string): HeloResult {
  const name = args.split(' ')[0] ?? '';
  if (name === '' || name.length > SMTP_MAX_HELO_LENGTH || !/^[\x21-\x7e]+$/.test(name)) return { ok: false };
  return { ok: true, name };
}

export type AuthArgs = { ok: true; mechanism: string; initialResponse?: string } | { ok: false };

/** `AUTH mechanism [initial-response]` (RFC 4954 §4); mechanism names per RFC 4422 §3.1. */
export function parseAuth(args: string): AuthArgs {
  const parts = args.split(' ');
  if (parts.length < 1 || parts.length > 2) return { ok: false };
  const mechanism = parts[0] ?? '';
  if (!/^[A-Za-z0-9_-]{1,20}$/.test(mechanism)) return { ok: false };
  if (parts.length === 2) {
    const ir = parts[1] ?? '';
    if (ir === '') return { ok: false };
    return { ok: true, mechanism: mechanism.toUpperCase(), initialResponse: ir };
  }
  return { ok: true, mechanism: mechanism.toUpperCase() };
}

export type PathResult =
  | { ok: true; path: string; params: Map<string, string | null> }
  | { ok: false; error: 'syntax' | 'path' | 'parameters' };

const PATH_CHARS = /^[\x21-\x3b\x3d\x3f-\x7e]*$/; // printable, no space, no < or >

function parsePath(args: string, prefix: 'FROM:' | 'TO:', allowEmpty: boolean): PathResult {
  if (args.slice(0, prefix.length).toUpperCase() !== prefix) return { ok: false, error: 'syntax' };
  const rest = args.slice(prefix.length).replace(/^ +/, ''); // "FROM: <x>" is common enough
  if (!rest.startsWith('<')) return { ok: false, error: 'syntax' };
  const close = rest.indexOf('>');
  if (close < 0) return { ok: false, error: 'syntax' };
  const path = rest.slice(1, close);
  if (path.length > SMTP_MAX_PATH_LENGTH || !PATH_CHARS.test(path) || (!allowEmpty && path === '')) return { ok: false, error: 'path' };
  const after = rest.slice(close + 1);
  if (after !== '' && !after.startsWith(' ')) return { ok: false, error: 'syntax' };
  const params = new Map<string, string | null>();
  const words = after.split(' ').filter((w) => w !== '');
  if (words.length > SMTP_MAX_PARAMETERS) return { ok: false, error: 'parameters' };
  for (const w of words) {
    const m = /^([A-Za-z0-9][A-Za-z0-9-]{0,31})(?:=([\x21-\x3c\x3e-\x7e]{1,500}))?$/.exec(w);
    if (!m) return { ok: false, error: 'syntax' };
    const key = (m[1] ?? '').toUpperCase();
    if (params.has(key)) return { ok: false, error: 'parameters' };
    params.set(key, m[2] ?? null);
  }
  return { ok: true, path, params };
}

export type MailFrom = { ok: true; line: string } | { ok: false; error: 'syntax' | 'path' | 'parameters' };

/**
 * MAIL FROM:<path> [SIZE=n] [BODY=7BIT|8BITMIME] [AUTH=...] → the line for the backend. AUTH= is
 * accepted (RFC 4954 §5 lets clients send it once AUTH is advertised) and dropped: the backend
 * trusts us, so a client-chosen submitter identity must never reach it.
 */
export function parseMailFrom(args: string): MailFrom {
  const p = parsePath(args, 'FROM:', true);
  if (!p.ok) return p;
  let line = `MAIL FROM:<${p.path}>`;
  for (const [k, v] of p.params) {
    if (k === 'SIZE' && v !== null && /^\d{1,20}$/.test(v)) line += ` SIZE=${v}`;
    else if (k === 'BODY' && v !== null && /^(7BIT|8BITMIME)$/i.test(v)) line += ` BODY=${v.toUpperCase()}`;
    else if (k === 'AUTH' && v !== null) continue;
    else return { ok: false, error: 'parameters' };
  }
  return { ok: true, line };
}

/** RCPT TO:<path> → the line for the backend; no parameters (DSN is not advertised). */
export function parseRcptTo(args: string): MailFrom {
  const p = parsePath(args, 'TO:', false);
  if (!p.ok) return p;
  if (p.params.size > 0) return { ok: false, error: 'parameters' };
  return { ok: true, line: `RCPT TO:<${p.path}>` };
}

/** The size a MAIL FROM line declares (RFC 1870), when it has SIZE=. */
export function declaredSize(mailLine: string): number | null {
  const m = / SIZE=(\d+)/.exec(mailLine);
  return m ? Number(m[1]) : null;
}
