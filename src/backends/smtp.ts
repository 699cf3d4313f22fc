/**
 * SMTP backend (RFC 5321, 3207, 4954; Postfix XCLIENT_README): brings a connection to the
 * backend MTA to the state "ready for MAIL FROM" for one authenticated user:
 *   greeting → EHLO → (STARTTLS → EHLO) →
 *     xclient:     XCLIENT LOGIN ADDR PORT HELO [DESTADDR DESTPORT] → new 220 greeting → EHLO
 *     relay-login: AUTH PLAIN (master with the user as authzid, or the user's own password)
 * and the reply reader the SMTP session uses while it relays the client's commands.
 */
import type { ConnectionInfo } from '../protocols/common/session.js';
import { shortText, type StepOutcome } from './imap.js';
import { greetingIsOurs } from './loop.js';
import { plainMessage, type LoginPlan } from './login-plan.js';
import { LineChannel, type TlsOptions } from './wire.js';

/** Lines of one reply: EHLO answers have a dozen; more is a broken or hostile server. */
export const SMTP_MAX_REPLY_LINES = 128;

/** Longest reply line accepted (RFC 5321 §4.5.3.1.5 says 512 with the code; servers exceed it
 *  a little in practice, so 4 KiB). */
export const SMTP_MAX_REPLY_LINE = 4096;

export interface SmtpReply {
  code: number;
  /** The text of each line, without the code and separator. */
  lines: string[];
}

export type ReplyResult = { ok: true; reply: SmtpReply } | { ok: false; reason: string };

/** Reads one (possibly multi-line) reply; every line must carry the same three-digit code. */
export async function readReply(ch: LineChannel, deadline: number): Promise<ReplyResult> {
  const lines: string[] = [];
  let code: number | null = null;
  for (;;) {
    const r = await ch.readLine(deadline, SMTP_MAX_REPLY_LINE);
    if (!r.ok) return r;
    const m = /^([2-5][0-9][0-9])([ -]|$)(.*)$/.exec(r.line);
    if (!m) return { ok: false, reason: `malformed reply: ${shortText(r.line)}` };
    const c = Number(m[1]);
    if (code !== null && c !== code) return { ok: false, reason: 'reply lines with different codes' };
    code = c;
    lines.push(m[3] ?? '');
    if (lines.length > SMTP_MAX_REPLY_LINES) return { ok: false, reason: 'reply too long' };
    if (m[2] !== '-') return { ok: true, reply: { code: c, lines } };
  }
}

/** The reply as wire text (CRLF after each line). */
export function formatReply(r: SmtpReply): string {
  return r.lines.map((l, i) => `${r.code}${i === r.lines.length - 1 ? ' ' : '-'}${l}\r\n`).join('');
}

/** EHLO keywords with their parameters, e.g. ["PIPELINING", "SIZE 10240000", "AUTH PLAIN"]:
 *  every line after the first (which is the server's name). */
export function ehloKeywords(r: SmtpReply): string[] {
  return r.lines.slice(1).map((l) => l.trim()).filter((l) => l !== '');
}

export function findKeyword(keywords: readonly string[], name: string): string[] | null {
  for (const k of keywords) {
    const parts = k.split(/\s+/);
    if ((parts[0] ?? '').toUpperCase() === name) return parts.slice(1);
  }
  return null;
}

/** RFC 3461 §4 xtext, which XCLIENT attribute values use: "+" "=" and anything outside
 *  printable ASCII become +HH, so no value can add an attribute or end the command. */
export function xtext(value: string): string {
  let out = '';
  for (const b of Buffer.from(value, 'utf8')) {
    out += b >= 0x21 && b <= 0x7e && b !== 0x2b && b !== 0x3d ? String.fromCharCode(b) : `+${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** XCLIENT ADDR form: IPv6 addresses carry the `IPV6:` prefix (XCLIENT_README). */
export function xclientAddr(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1] ?? address;
  return address.includes(':') ? `IPV6:${address}` : address;
}

/** A HELO name fit for EHLO and XCLIENT HELO: a domain or address literal the client gave; a
 *  name with spaces or controls (a client bug) is replaced so it cannot alter the command. */
export function safeHeloName(name: string | undefined, fallback: string): string {
  if (name === undefined || !/^[\x21-\x7e]{1,255}$/.test(name)) return fallback;
  return name;
}

export interface SmtpPrepareParams {
  /** The backend user (XCLIENT LOGIN). */
  user: string;
  /** relay-login: how to authenticate (XCLIENT needs none). */
  plan?: LoginPlan;
  mode: 'xclient' | 'relay-login';
  client: ConnectionInfo;
  /** The client's EHLO/HELO name (XCLIENT HELO, and our EHLO after XCLIENT). */
  helo?: string;
  /** Our own name, for the EHLO before XCLIENT. */
  ourName: string;
  startTls?: TlsOptions;
  deadline: number;
  handshakeTimeoutMs: number;
  token: string;
}

async function command(ch: LineChannel, line: string, deadline: number): Promise<ReplyResult> {
  await ch.write(`${line}\r\n`);
  return readReply(ch, deadline);
}

function failed(step: string, r: SmtpReply): StepOutcome {
  const reason = `${step}: ${r.code} ${shortText(r.lines.join(' / '))}`;
  // 5xx to AUTH is the backend refusing the login; 4xx is its temporary trouble.
  return r.code >= 500 && step === 'AUTH' ? { status: 'refused', reason } : { status: 'unavailable', reason };
}

async function ehlo(ch: LineChannel, name: string, deadline: number): Promise<{ ok: true; keywords: string[] } | { ok: false; outcome: StepOutcome }> {
  const r = await command(ch, `EHLO ${name}`, deadline);
  if (!r.ok) return { ok: false, outcome: { status: 'unavailable', reason: `EHLO: ${r.reason}` } };
  if (r.reply.code !== 250) return { ok: false, outcome: failed('EHLO', r.reply) };
  return { ok: true, keywords: ehloKeywords(r.reply) };
}

export async function smtpPrepare(ch: LineChannel, p: SmtpPrepareParams): Promise<StepOutcome> {
  const g = await readReply(ch, p.deadline);
  if (!g.ok) return { status: 'unavailable', reason: `greeting: ${g.reason}` };
  if (greetingIsOurs(g.reply.lines.join('\n'), p.token)) return { status: 'unavailable', reason: 'relay loop: the backend greeting is our own' };
  if (g.reply.code !== 220) return failed('greeting', g.reply);

  let e = await ehlo(ch, p.ourName, p.deadline);
  if (!e.ok) return e.outcome;
  if (p.startTls) {
    if (findKeyword(e.keywords, 'STARTTLS') === null) return { status: 'unavailable', reason: 'backend does not offer STARTTLS' };
    const r = await command(ch, 'STARTTLS', p.deadline);
    if (!r.ok) return { status: 'unavailable', reason: `STARTTLS: ${r.reason}` };
    if (r.reply.code !== 220) return failed('STARTTLS', r.reply);
    const up = await ch.startTls(p.startTls, p.handshakeTimeoutMs);
    if (!up.ok) return { status: 'unavailable', reason: up.reason };
    // RFC 3207 §4.2: everything learned before TLS is discarded; EHLO again.
    e = await ehlo(ch, p.ourName, p.deadline);
    if (!e.ok) return e.outcome;
  }
  const helo = safeHeloName(p.helo, p.ourName);

  if (p.mode === 'xclient') {
    const offered = findKeyword(e.keywords, 'XCLIENT');
    if (offered === null) return { status: 'unavailable', reason: 'backend does not offer XCLIENT to us (smtpd_authorized_xclient_hosts)' };
    const names = new Set(offered.map((x) => x.toUpperCase()));
    if (!names.has('LOGIN') || !names.has('ADDR')) return { status: 'unavailable', reason: 'backend XCLIENT lacks LOGIN or ADDR' };
    const c = p.client;
    const attrs: string[] = [`LOGIN=${xtext(p.user)}`, `ADDR=${xtext(xclientAddr(c.remoteAddress))}`];
    if (names.has('PORT')) attrs.push(`PORT=${c.remotePort}`);
    if (names.has('HELO')) attrs.push(`HELO=${xtext(helo)}`);
    if (names.has('PROTO')) attrs.push('PROTO=ESMTP');
    // Without a reverse lookup of our own, say so: Postfix would otherwise keep our name.
    if (names.has('NAME')) attrs.push('NAME=[UNAVAILABLE]');
    if (names.has('DESTADDR')) attrs.push(`DESTADDR=${xtext(xclientAddr(c.localAddress))}`);
    if (names.has('DESTPORT')) attrs.push(`DESTPORT=${c.localPort}`);
    const r = await command(ch, `XCLIENT ${attrs.join(' ')}`, p.deadline);
    if (!r.ok) return { status: 'unavailable', reason: `XCLIENT: ${r.reason}` };
    // XCLIENT_README: success is a fresh 220 greeting; the session starts over with EHLO.
    if (r.reply.code !== 220) return failed('XCLIENT', r.reply);
    const again = await ehlo(ch, helo, p.deadline);
    if (!again.ok) return again.outcome;
    return { status: 'ok', capabilities: again.keywords };
  }

  // relay-login: authenticate to the backend (RFC 4954 AUTH PLAIN with an initial response).
  const mechs = (findKeyword(e.keywords, 'AUTH') ?? []).map((m) => m.toUpperCase());
  if (!mechs.includes('PLAIN')) return { status: 'unavailable', reason: 'backend does not offer AUTH PLAIN' };
  if (!p.plan) return { status: 'unavailable', reason: 'relay login without a login plan' };
  if (p.plan.method.kind === 'master-separator') return { status: 'unavailable', reason: 'SMTP relay login needs the authzid master style' };
  const msg = plainMessage(p.plan);
  if (msg === null) return { status: 'refused', reason: 'a login field holds a NUL' };
  const r = await command(ch, `AUTH PLAIN ${msg.toString('base64')}`, p.deadline);
  if (!r.ok) return { status: 'unavailable', reason: `AUTH: ${r.reason}` };
  if (r.reply.code !== 235) return failed('AUTH', r.reply);
  return { status: 'ok', capabilities: e.keywords };
}

/**
 * The backend connection while the SMTP session relays a client's transaction: one command,
 * one reply; DATA lines written with back-pressure. Each wait has a deadline, so a backend that
 * stops answering gives the client a 421, never a hang.
 */
export class SmtpBackendClient {
  readonly #ch: LineChannel;
  #closed = false;

  constructor(socket: ConstructorParameters<typeof LineChannel>[0], pending?: Buffer) {
    this.#ch = new LineChannel(socket, pending);
    socket.resume();
  }

  get closed(): boolean {
    return this.#closed || this.#ch.socket.destroyed;
  }

  async command(line: string, timeoutMs: number): Promise<ReplyResult> {
    if (this.closed) return { ok: false, reason: 'backend connection closed' };
    await this.#ch.write(`${line}\r\n`);
    return readReply(this.#ch, Date.now() + timeoutMs);
  }

  /** One line of message content (already dot-stuffed by the client), re-terminated with CRLF:
   *  what ends DATA for us ends it for the backend too (no SMTP smuggling through bare LF). */
  async dataLine(line: Buffer): Promise<void> {
    if (this.closed) return;
    await this.#ch.write(Buffer.concat([line, CRLF]));
  }

  async reply(timeoutMs: number): Promise<ReplyResult> {
    if (this.closed) return { ok: false, reason: 'backend connection closed' };
    return readReply(this.#ch, Date.now() + timeoutMs);
  }

  /** QUIT politely (without waiting long), then close. */
  async quit(timeoutMs: number): Promise<void> {
    if (!this.closed) {
      await this.#ch.write('QUIT\r\n');
      await readReply(this.#ch, Date.now() + timeoutMs);
    }
    this.close();
  }

  close(): void {
    this.#closed = true;
    this.#ch.destroy();
  }
}

const CRLF = Buffer.from('\r\n');
