/**
 * Splits client input into lines and IMAP literals, incrementally, under named limits.
 *
 * Threats it answers:
 * - Memory exhaustion by a line that never ends: a line longer than the service's limit is
 *   reported once (`too-long`) and the rest of it is dropped up to the next LF, so at most one
 *   limit's worth of bytes is ever held for a line.
 * - Quadratic work by many tiny packets (one byte per segment): chunks are kept in a list and
 *   each byte is scanned once; a line is copied out once, when its LF arrives.
 * - A literal announced larger than the limit: `setMode` refuses it before a byte is buffered.
 *
 * Lines end with CRLF or a bare LF (many clients and test tools send LF; RFC 5321 §2.3.8 and
 * RFC 9051 ask for CRLF, but refusing LF helps no one and the session sees the same line). The
 * CR before the LF is removed; a CR anywhere else stays in the line for the session to judge.
 */
import { SASL_MAX_LINE_LENGTH } from '../../sasl/driver.js';
import type { ReadMode, ServiceName } from './session.js';

export interface InputLimits {
  /** Longest line, in bytes, without its CRLF. */
  maxLineBytes: number;
  /** Largest literal a session may ask for (0: the protocol has no literals). */
  maxLiteralBytes: number;
}

/** What may stand before a SASL response on one command line. The longest is IMAP's
 *  `<tag> AUTHENTICATE <mechanism> ` with a 128-octet tag (IMAP_MAX_TAG_LENGTH), a 20-character
 *  mechanism name (RFC 4422 §3.1) and three spaces: 163 octets; POP3 and SMTP `AUTH <mechanism> `
 *  need less. 256 covers them all with margin (a test checks the IMAP sum). */
export const SASL_COMMAND_ROOM = 256;

/** A command line that carries the largest SASL response the SASL driver accepts
 *  (SASL_MAX_LINE_LENGTH, RFC 4959 SASL-IR / RFC 4954 / RFC 5034 initial responses): the line
 *  reader must never cut what the driver would take, so an over-long response is refused by the
 *  driver, as a SASL failure the client can read, not by hanging up on a line too long. */
export const SASL_COMMAND_LINE_BYTES = SASL_MAX_LINE_LENGTH + SASL_COMMAND_ROOM;

/** IMAP before authentication: a tag, a command and short arguments, or one SASL response line.
 *  RFC 7162 §4 asks servers to accept at least 8192 octets; an AUTHENTICATE with the largest
 *  SASL-IR the driver accepts needs more, and that sets the limit (16 KiB and a little), which
 *  is also what a pending connection can make us hold for one line. */
export const IMAP_MAX_LINE_BYTES = SASL_COMMAND_LINE_BYTES;

/** IMAP literals before authentication carry a user name or a password (LOGIN, RFC 9051 §4.3):
 *  the password module refuses anything over 1 KiB anyway; 8 KiB leaves room for long
 *  user@domain names and any character set, and caps what an unauthenticated client can make
 *  us hold. Sessions refuse larger literals themselves (RFC 7888 §4) and should use this constant. */
export const IMAP_MAX_LITERAL_BYTES = 8 * 1024;

/** SMTP: RFC 5321 §4.5.3.1.4 sets 512 octets for command lines, and RFC 4954 §4 lets AUTH and its
 *  SASL response lines grow to at least 12288 octets; an AUTH with the largest initial response
 *  the SASL driver accepts needs a little more, and that sets the limit. */
export const SMTP_MAX_LINE_BYTES = SASL_COMMAND_LINE_BYTES;

/** POP3: RFC 2449 §4 limits command lines to 255 octets, but SASL responses (RFC 5034 §4) carry the
 *  same base64 as IMAP's and SMTP's: the same limit, set by the SASL driver's. */
export const POP_MAX_LINE_BYTES = SASL_COMMAND_LINE_BYTES;

/** The CLI over TCP carries settings in the text data format in one line: a CA chain alone may be
 *  256 KiB (the CAChain setting's limit), so 1 MiB covers any single setting with room to spare,
 *  while still bounding what one command can make us buffer. */
export const PWD_MAX_LINE_BYTES = 1024 * 1024;

/** The limits each service's listener enforces. */
export const INPUT_LIMITS: Readonly<Record<ServiceName, Readonly<InputLimits>>> = {
  IMAP: { maxLineBytes: IMAP_MAX_LINE_BYTES, maxLiteralBytes: IMAP_MAX_LITERAL_BYTES },
  POP: { maxLineBytes: POP_MAX_LINE_BYTES, maxLiteralBytes: 0 },
  SMTP: { maxLineBytes: SMTP_MAX_LINE_BYTES, maxLiteralBytes: 0 },
  PWD: { maxLineBytes: PWD_MAX_LINE_BYTES, maxLiteralBytes: 0 },
};

export type ReaderItem =
  | { kind: 'line'; line: Buffer }
  | { kind: 'literal'; data: Buffer }
  /** A line went over `maxLineBytes`: reported once; its bytes up to the next LF are dropped. */
  | { kind: 'too-long' };

export type SetModeResult = { status: 'ok' } | { status: 'too-large'; limit: number } | { status: 'invalid' };

const LF = 0x0a;
const CR = 0x0d;

/** Consumed chunks are dropped from the front of the list in batches of this many, so dropping is
 *  amortised O(1) instead of an O(n) `shift` per chunk. */
const COMPACT_AFTER_CHUNKS = 64;

export class LineReader {
  readonly limits: Readonly<InputLimits>;
  #chunks: Buffer[] = [];
  /** Index of the first live chunk in #chunks. */
  #first = 0;
  /** Bytes of #chunks[#first] already consumed. */
  #offset = 0;
  /** Bytes buffered and not consumed. */
  #length = 0;
  /** Bytes from the start already scanned and known to hold no LF, and where the scan resumes. */
  #scanned = 0;
  #scanChunk = 0;
  #scanOffset = 0;
  /** The last byte scanned, to see the CR of a CRLF split across chunks. */
  #lastScanned = -1;
  /** Dropping the remainder of an over-long line, up to its LF. */
  #skipping = false;
  #mode: ReadMode = { kind: 'line' };

  constructor(limits: InputLimits) {
    if (!Number.isSafeInteger(limits.maxLineBytes) || limits.maxLineBytes < 1) throw new RangeError('maxLineBytes must be a positive integer');
    if (!Number.isSafeInteger(limits.maxLiteralBytes) || limits.maxLiteralBytes < 0) throw new RangeError('maxLiteralBytes must be a non-negative integer');
    this.limits = { ...limits };
  }

  /** Bytes held and not yet returned. */
  get buffered(): number { return this.#length; }

  get mode(): ReadMode { return this.#mode; }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** Sets how the next input is read. A literal over the limit is refused (the caller closes:
   *  the session should have refused it itself, as RFC 7888 lets it). */
  setMode(mode: ReadMode): SetModeResult {
    if (mode.kind === 'line') { this.#mode = mode; return { status: 'ok' }; }
    if (!Number.isSafeInteger(mode.size) || mode.size < 0) return { status: 'invalid' };
    if (mode.size > this.limits.maxLiteralBytes) return { status: 'too-large', limit: this.limits.maxLiteralBytes };
    this.#mode = { kind: 'literal', size: mode.size };
    return { status: 'ok' };
  }

  /** The next complete item, or null until more input arrives. */
  next(): ReaderItem | null {
    if (this.#mode.kind === 'literal') {
      const size = this.#mode.size;
      if (this.#length < size) return null;
      const data = this.#take(size);
      this.#mode = { kind: 'line' };
      return { kind: 'literal', data };
    }
    for (;;) {
      if (this.#skipping) {
        const lf = this.#findLf();
        if (lf < 0) { this.#drop(this.#length); return null; }
        this.#drop(lf + 1);
        this.#skipping = false;
        continue;
      }
      const lf = this.#findLf();
      if (lf >= 0) {
        const crBefore = lf > 0 && this.#lastScanned === CR;
        const contentLength = crBefore ? lf - 1 : lf;
        if (contentLength > this.limits.maxLineBytes) {
          this.#drop(lf + 1);
          return { kind: 'too-long' };
        }
        const line = this.#take(contentLength);
        this.#drop(lf + 1 - contentLength);
        return { kind: 'line', line };
      }
      // One byte over the limit may still be the CR of a CRLF that ends a line of exactly the
      // limit; anything beyond that cannot be a line we accept.
      if (this.#scanned > this.limits.maxLineBytes + 1) {
        this.#drop(this.#length);
        this.#skipping = true;
        return { kind: 'too-long' };
      }
      return null;
    }
  }

  /** Drops everything buffered (STARTTLS, T1: input pipelined after the command must never be
   *  executed) and returns to line mode. Returns the number of bytes dropped. */
  discard(): number {
    const n = this.#length;
    this.#chunks = [];
    this.#first = 0;
    this.#offset = 0;
    this.#length = 0;
    this.#resetScan();
    this.#skipping = false;
    this.#mode = { kind: 'line' };
    return n;
  }

  /** Hands over what is buffered, as raw bytes (relay: commands the client pipelined after its
   *  login belong to the backend). The remainder of an over-long line is not handed over: the
   *  session already answered it. */
  takeRemaining(): Buffer {
    if (this.#skipping) {
      const lf = this.#findLf();
      this.#drop(lf < 0 ? this.#length : lf + 1);
      this.#skipping = lf < 0;
    }
    const out = this.#take(this.#length);
    this.discard();
    return out;
  }

  /** Position (from the start of the buffered bytes) of the first LF, or -1. Scans each byte once
   *  across calls. */
  #findLf(): number {
    while (this.#scanChunk < this.#chunks.length) {
      const chunk = this.#chunks[this.#scanChunk] as Buffer;
      const from = this.#scanOffset;
      const at = chunk.indexOf(LF, from);
      if (at >= 0) {
        const pos = this.#scanned + (at - from);
        // When the LF is the first byte scanned now, the byte before it was seen by an earlier
        // pass and is already in #lastScanned.
        if (at > from) this.#lastScanned = chunk[at - 1] as number;
        return pos;
      }
      this.#scanned += chunk.length - from;
      if (chunk.length > from) this.#lastScanned = chunk[chunk.length - 1] as number;
      this.#scanChunk += 1;
      this.#scanOffset = 0;
    }
    return -1;
  }

  #resetScan(): void {
    this.#scanned = 0;
    this.#scanChunk = this.#first;
    this.#scanOffset = this.#offset;
    this.#lastScanned = -1;
  }

  /** Copies the first n buffered bytes out and consumes them. */
  #take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let written = 0;
    let i = this.#first;
    let off = this.#offset;
    while (written < n) {
      const chunk = this.#chunks[i] as Buffer;
      const k = Math.min(n - written, chunk.length - off);
      chunk.copy(out, written, off, off + k);
      written += k;
      off += k;
      if (off === chunk.length) { i += 1; off = 0; }
    }
    this.#drop(n);
    return out;
  }

  /** Consumes the first n buffered bytes. */
  #drop(n: number): void {
    let left = n;
    while (left > 0) {
      const chunk = this.#chunks[this.#first] as Buffer;
      const avail = chunk.length - this.#offset;
      if (left < avail) { this.#offset += left; break; }
      left -= avail;
      this.#chunks[this.#first] = EMPTY;
      this.#first += 1;
      this.#offset = 0;
    }
    this.#length -= n;
    if (this.#first >= COMPACT_AFTER_CHUNKS && this.#first * 2 >= this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#first);
      this.#first = 0;
    }
    if (this.#length === 0) { this.#chunks = []; this.#first = 0; this.#offset = 0; }
    this.#resetScan();
  }
}

const EMPTY = Buffer.alloc(0);
