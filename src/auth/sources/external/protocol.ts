/**
 * The External Authentication line protocol (E2), as the CommuniGate Pro Security chapter gives it
 * ("External Authentication", Interface Version 2). Pure functions only: building request lines and
 * parsing reply lines. The process handling lives in client.ts.
 *
 * Requests (one line each, `\n`-terminated: "the EOL symbol(s) used in the Server OS"):
 *   nnnnnn INTF serverInterfaceVersion
 *   nnnnnn VRFY [(mode)] name@domain password
 *   nnnnnn SASL(method) [(mode)] name@domain password key
 *   nnnnnn NEW name@domain
 * Replies:
 *   nnnnnn OK [text]            (for INTF, text is the program's interface version)
 *   nnnnnn ERROR [message]
 *
 * Injection rule (a password or name must never be able to start a second command): the protocol
 * is line-based and has no quoting, so
 *   - names and domains are refused when they contain whitespace, control characters or `@`;
 *   - a VRFY password is the rest of the line, so spaces inside it are carried as they are, but
 *     CR, LF and NUL are refused (the protocol cannot carry CR/LF; a NUL would let a C program that
 *     reads with string functions see a truncated password, so "secret\0junk" could pass for
 *     "secret"); an empty password is refused too (it must never let anyone in, P4);
 *   - in SASL the password (the client's response) and the key (the challenge) are two
 *     space-separated fields, so any whitespace or control character in either is refused;
 *   - mode and method are short tokens of letters, digits, `.`, `_` and `-`.
 * A refused request never reaches the program: the caller gets an `error` outcome.
 */

/** The interface version this implementation speaks: the reference describes Version 2. */
export const EXTAUTH_INTERFACE_VERSION = 2;

/** Sequence numbers are written with at least this many digits, zero-padded: the reference's
 *  `nnnnnn`. Past 999999 they simply grow longer, so they stay unique for the client's life. */
export const EXTAUTH_SEQ_MIN_DIGITS = 6;

/** Longest sequence number we accept in a reply: 15 digits stays an exact JavaScript number, and
 *  we never send a longer one (2^53 requests would take millennia). */
export const EXTAUTH_SEQ_MAX_DIGITS = 15;

/** Longest reply line we keep, in bytes. A reply is a number, a keyword and a short message; a
 *  program that writes megabytes without a newline must not make us buffer them. */
export const EXTAUTH_MAX_REPLY_LINE = 8192;

/** Longest name or domain part sent: a DNS name is at most 253 octets, and nothing longer can be
 *  an account, so a longer one is refused before it reaches the program. */
export const EXTAUTH_MAX_NAME_PART = 255;

/** Longest password sent, in bytes: far above any real password, and bounds what one request can
 *  make us write into the pipe. */
export const EXTAUTH_MAX_PASSWORD = 4096;

/** Longest SASL key (challenge) sent, in bytes: CRAM-MD5 and APOP challenges are message ids of a
 *  few dozen bytes. */
export const EXTAUTH_MAX_KEY = 1024;

const TOKEN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function formatSeq(seq: number): string {
  return String(seq).padStart(EXTAUTH_SEQ_MIN_DIGITS, '0');
}

export type ParsedReply =
  | { kind: 'ok'; seq: number; text: string }
  | { kind: 'error'; seq: number; message: string }
  | { kind: 'garbage'; why: string };

const REPLY = /^([0-9]+)[ \t]+([A-Za-z]+)(?:[ \t]+(.*))?$/s;

/**
 * One reply line, without its line end (a trailing CR is dropped: a program may end lines with
 * CRLF). Sequence numbers are compared by value, so `00010` answers request `000010`: the
 * reference's own samples use five digits. OK and ERROR are matched without regard to case.
 */
export function parseReply(line: string): ParsedReply {
  const l = line.endsWith('\r') ? line.slice(0, -1) : line;
  const m = REPLY.exec(l);
  if (!m) return { kind: 'garbage', why: 'not "number keyword [text]"' };
  const digits = m[1] ?? '';
  if (digits.length > EXTAUTH_SEQ_MAX_DIGITS) return { kind: 'garbage', why: 'sequence number too long' };
  const seq = Number(digits);
  const keyword = (m[2] ?? '').toUpperCase();
  const rest = (m[3] ?? '').trim();
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(rest)) return { kind: 'garbage', why: 'control character in reply text' };
  if (keyword === 'OK') return { kind: 'ok', seq, text: rest };
  if (keyword === 'ERROR') return { kind: 'error', seq, message: rest };
  return { kind: 'garbage', why: 'keyword is neither OK nor ERROR' };
}

/** The version from an INTF reply: the first token, when it is a number; an absent or unreadable
 *  version counts as 0 (the oldest protocol: no mode is sent). Never above ours. */
export function negotiatedVersion(okText: string): { version: number; readable: boolean } {
  const m = /^([0-9]{1,6})(?:\s|$)/.exec(okText);
  if (!m) return { version: 0, readable: false };
  return { version: Math.min(EXTAUTH_INTERFACE_VERSION, Number(m[1])), readable: true };
}

export interface Address { name: string; domain: string }

const BAD_NAME_CHAR = /[\x00-\x20\x7f@]/;

/** Why a name@domain cannot be sent, or null when it can. */
export function checkAddress(a: Address): string | null {
  for (const [what, v] of [['name', a.name], ['domain', a.domain]] as const) {
    if (typeof v !== 'string' || v.length === 0) return `empty ${what}`;
    if (Buffer.byteLength(v, 'utf8') > EXTAUTH_MAX_NAME_PART) return `${what} too long`;
    if (BAD_NAME_CHAR.test(v)) return `${what} contains whitespace, a control character or @`;
  }
  return null;
}

export function checkToken(what: string, v: string | undefined): string | null {
  if (v === undefined) return null;
  return TOKEN.test(v) ? null : `${what} is not a short token of letters, digits, ".", "_" or "-"`;
}

/** Why a VRFY password cannot be sent, or null. */
export function checkVrfyPassword(p: Buffer): string | null {
  if (p.length === 0) return 'empty password';
  if (p.length > EXTAUTH_MAX_PASSWORD) return 'password too long';
  if (p.includes(0x0d) || p.includes(0x0a)) return 'password contains CR or LF, which the protocol cannot carry';
  if (p.includes(0x00)) return 'password contains NUL';
  return null;
}

/** Why a SASL field (response or challenge) cannot be sent, or null. */
export function checkSaslField(what: string, p: Buffer, max: number): string | null {
  if (p.length === 0) return `empty ${what}`;
  if (p.length > max) return `${what} too long`;
  for (const b of p) if (b <= 0x20 || b === 0x7f) return `${what} contains whitespace or a control character`;
  return null;
}

export type Command =
  | { verb: 'INTF' }
  | { verb: 'VRFY'; address: Address; mode?: string; password: Buffer }
  | { verb: 'SASL'; method: string; address: Address; mode?: string; password: Buffer; key: Buffer }
  | { verb: 'NEW'; address: Address };

/** Why the command cannot be sent, or null: every check of the injection rule in one place. */
export function checkCommand(c: Command): string | null {
  switch (c.verb) {
    case 'INTF': return null;
    case 'NEW': return checkAddress(c.address);
    case 'VRFY': return checkAddress(c.address) ?? checkToken('mode', c.mode) ?? checkVrfyPassword(c.password);
    case 'SASL':
      return checkToken('method', c.method) ?? checkAddress(c.address) ?? checkToken('mode', c.mode)
        ?? checkSaslField('password', c.password, EXTAUTH_MAX_PASSWORD) ?? checkSaslField('key', c.key, EXTAUTH_MAX_KEY);
  }
}

/**
 * The line for a command that passed checkCommand. `version` is the negotiated interface version:
 * the (mode) is sent only from version 1 on, as the reference says. Built as bytes so a password
 * reaches the program exactly as the client sent it, whatever its encoding.
 */
export function encodeCommand(seq: number, version: number, c: Command): Buffer {
  const n = formatSeq(seq);
  const mode = (m: string | undefined): string => (m !== undefined && version >= 1 ? `(${m}) ` : '');
  const addr = (a: Address): string => `${a.name}@${a.domain}`;
  switch (c.verb) {
    case 'INTF': return Buffer.from(`${n} INTF ${EXTAUTH_INTERFACE_VERSION}\n`);
    case 'NEW': return Buffer.from(`${n} NEW ${addr(c.address)}\n`);
    case 'VRFY':
      return Buffer.concat([Buffer.from(`${n} VRFY ${mode(c.mode)}${addr(c.address)} `), c.password, Buffer.from('\n')]);
    case 'SASL':
      return Buffer.concat([
        Buffer.from(`${n} SASL(${c.method}) ${mode(c.mode)}${addr(c.address)} `), c.password, Buffer.from(' '), c.key, Buffer.from('\n'),
      ]);
  }
}

/**
 * Splits a byte stream into lines of at most `max` bytes. A longer line is dropped whole (reported
 * once as too long) and splitting resumes after its newline, so a runaway program cannot make us
 * buffer without bound.
 */
export class LineSplitter {
  #parts: Buffer[] = [];
  #size = 0;
  #discarding = false;
  constructor(private readonly max: number = EXTAUTH_MAX_REPLY_LINE) {}

  /** Feeds a chunk; calls `line` for each complete line and `tooLong` for each dropped one. */
  push(chunk: Buffer, line: (l: Buffer) => void, tooLong: () => void): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      const piece = chunk.subarray(start, end);
      if (!this.#discarding) {
        if (this.#size + piece.length > this.max) {
          this.#discarding = true;
          this.#parts = [];
          this.#size = 0;
          tooLong();
        } else if (piece.length > 0) {
          this.#parts.push(piece);
          this.#size += piece.length;
        }
      }
      if (nl === -1) break;
      if (!this.#discarding) line(this.#parts.length === 1 ? (this.#parts[0] as Buffer) : Buffer.concat(this.#parts));
      this.#parts = [];
      this.#size = 0;
      this.#discarding = false;
      start = nl + 1;
    }
  }

  /** Bytes held for an unfinished line. */
  get pending(): number { return this.#size; }
}
