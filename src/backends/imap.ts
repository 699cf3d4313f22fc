/**
 * IMAP backend login (RFC 9051/3501, RFC 2971 ID, RFC 4959 SASL-IR): greeting, optional
 * STARTTLS, `ID` with the client's address (Dovecot logs and rate-limits by it when we are in its
 * login_trusted_networks), then LOGIN or AUTHENTICATE PLAIN per the login plan, and the
 * capability list the client must learn after login.
 */
import type { ConnectionInfo } from '../protocols/common/session.js';
import { greetingIsOurs } from './loop.js';
import { loginPair, plainMessage, type LoginPlan } from './login-plan.js';
import { BACKEND_MAX_LITERAL, type LineChannel, type TlsOptions } from './wire.js';

/** Untagged lines accepted while waiting for one tagged reply during login: a real server sends
 *  a handful (ID, CAPABILITY); a flood means a broken or hostile backend. */
export const IMAP_MAX_UNTAGGED = 256;

export type StepOutcome =
  | { status: 'ok'; capabilities?: string[] }
  | { status: 'refused'; reason: string }
  | { status: 'unavailable'; reason: string };

export interface ImapLoginParams {
  plan: LoginPlan;
  client: ConnectionInfo;
  /** STARTTLS to the backend with these options. */
  startTls?: TlsOptions;
  deadline: number;
  handshakeTimeoutMs: number;
  token: string;
}

interface TaggedReply { status: 'OK' | 'NO' | 'BAD'; text: string; untagged: string[] }
type ReadReply = { ok: true; reply: TaggedReply } | { ok: false; reason: string };

/** Printable reason text from a backend line (never more than 200 characters, no controls). */
export function shortText(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}

/** An IMAP quoted string, when the value allows one (RFC 9051 `quoted`: no CR, LF, NUL; 7-bit
 *  here for IMAP4rev1 servers); null when it needs a literal. */
export function imapQuoted(value: string): string | null {
  if (!/^[\x01-\x09\x0b\x0c\x0e-\x7f]*$/.test(value)) return null;
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** One logical line: a line ending in a literal announcement `{n}` continues after n bytes. */
async function readLogicalLine(ch: LineChannel, deadline: number): Promise<{ ok: true; line: string } | { ok: false; reason: string }> {
  let acc = '';
  for (;;) {
    const r = await ch.readLine(deadline);
    if (!r.ok) return r;
    acc += r.line;
    const m = /\{(\d{1,10})\+?\}$/.exec(r.line);
    if (!m) return { ok: true, line: acc };
    const size = Number(m[1]);
    if (size > BACKEND_MAX_LITERAL) return { ok: false, reason: 'literal too large' };
    const b = await ch.readBytes(size, deadline);
    if (!b.ok) return b;
    acc += `\r\n${b.data.toString('latin1')}`;
  }
}

const BYE = /^\* BYE/i;

async function readTagged(ch: LineChannel, tag: string, deadline: number): Promise<ReadReply> {
  const untagged: string[] = [];
  for (;;) {
    const r = await readLogicalLine(ch, deadline);
    if (!r.ok) return r;
    if (r.line.startsWith('* ')) {
      if (BYE.test(r.line)) return { ok: false, reason: `backend said ${shortText(r.line)}` };
      untagged.push(r.line);
      if (untagged.length > IMAP_MAX_UNTAGGED) return { ok: false, reason: 'too many untagged responses' };
      continue;
    }
    if (r.line.startsWith('+')) return { ok: false, reason: 'unexpected continuation request' };
    const m = /^(\S+) (OK|NO|BAD)\b ?(.*)$/i.exec(r.line);
    if (!m || m[1] !== tag) return { ok: false, reason: `unexpected line: ${shortText(r.line)}` };
    return { ok: true, reply: { status: (m[2] ?? '').toUpperCase() as TaggedReply['status'], text: m[3] ?? '', untagged } };
  }
}

/** Lists parsed, by their text: a backend sends the same two capability texts (before and after
 *  login) with every login. Bounded: a backend that varies its text only refills it. */
const capsByText = new Map<string, readonly string[]>();
const CAPS_CACHE_ENTRIES = 16;

/** Capabilities from a `[CAPABILITY ...]` response code, or null. The list may be shared with
 *  other logins: callers never modify it. */
export function capabilityCode(text: string): string[] | null {
  const m = /^\[CAPABILITY ([^\]]*)\]/i.exec(text);
  if (!m) return null;
  const t = m[1] ?? '';
  let caps = capsByText.get(t);
  if (caps === undefined) {
    caps = Object.freeze(t.split(' ').filter((x) => x !== ''));
    if (capsByText.size >= CAPS_CACHE_ENTRIES) capsByText.clear();
    capsByText.set(t, caps);
  }
  return caps as string[];
}

function untaggedCapability(lines: string[]): string[] | null {
  for (const l of lines) {
    const m = /^\* CAPABILITY (.*)$/i.exec(l);
    if (m) return (m[1] ?? '').split(' ').filter((x) => x !== '');
  }
  return null;
}

function hasCap(caps: readonly string[], name: string): boolean {
  for (const c of caps) if (c.length === name.length && c.toUpperCase() === name) return true;
  return false;
}

class Tags {
  #n = 0;
  next(): string { this.#n += 1; return `MW${this.#n}`; }
}

async function askCapability(ch: LineChannel, tags: Tags, deadline: number): Promise<{ ok: true; caps: string[] } | { ok: false; reason: string }> {
  const tag = tags.next();
  await ch.write(`${tag} CAPABILITY\r\n`);
  const r = await readTagged(ch, tag, deadline);
  if (!r.ok) return r;
  if (r.reply.status !== 'OK') return { ok: false, reason: `CAPABILITY: ${shortText(r.reply.text)}` };
  return { ok: true, caps: untaggedCapability(r.reply.untagged) ?? [] };
}

/** Sends a command whose arguments may need synchronizing literals; waits for each `+`. */
async function sendCommand(ch: LineChannel, tag: string, verb: string, args: Buffer[], deadline: number): Promise<{ ok: true } | { ok: false; reason: string }> {
  let line = `${tag} ${verb}`;
  for (const a of args) {
    const q = imapQuoted(a.toString('utf8'));
    if (q !== null && Buffer.from(a.toString('utf8'), 'utf8').equals(a)) {
      line += ` ${q}`;
      continue;
    }
    // RFC 9051 §4.3: a synchronizing literal; the server's `+` says it accepts the bytes.
    await ch.write(`${line} {${a.length}}\r\n`);
    const go = await ch.readLine(deadline);
    if (!go.ok) return go;
    if (!go.line.startsWith('+')) return { ok: false, reason: `literal refused: ${shortText(go.line)}` };
    await ch.write(a);
    line = '';
  }
  await ch.write(`${line}\r\n`);
  return { ok: true };
}

/** The ID parameter list (RFC 2971): our name, the client's address and port, the address it
 *  reached and our session id. */
function idFields(c: ConnectionInfo): string {
  return `"name" "Mailward" "x-originating-ip" ${imapQuoted(c.remoteAddress) ?? 'NIL'} "x-originating-port" "${c.remotePort}" `
    + `"x-connected-ip" ${imapQuoted(c.localAddress) ?? 'NIL'} "x-connected-port" "${c.localPort}" "x-session-id" ${imapQuoted(c.id) ?? 'NIL'}`;
}

/** `tag LOGIN "name" "password"` when both arguments can be quoted strings (and survive UTF-8
 *  decoding unchanged); null when one needs a synchronizing literal (sendCommand). */
function quotedLogin(tag: string, name: string, password: Buffer): string | null {
  const pw = password.toString('utf8');
  if (!Buffer.from(pw, 'utf8').equals(password)) return null;
  const qn = imapQuoted(name);
  const qp = imapQuoted(pw);
  return qn === null || qp === null ? null : `${tag} LOGIN ${qn} ${qp}\r\n`;
}

function failureOf(step: string, reply: TaggedReply): StepOutcome {
  // RFC 5530: UNAVAILABLE / SERVERBUG / LIMIT are the backend's own trouble, not the user's.
  const temporary = /^\[(UNAVAILABLE|SERVERBUG|LIMIT|INUSE)\b/i.test(reply.text);
  const reason = `${step}: ${reply.status} ${shortText(reply.text)}`;
  return temporary ? { status: 'unavailable', reason } : { status: 'refused', reason };
}

export async function imapLogin(ch: LineChannel, p: ImapLoginParams): Promise<StepOutcome> {
  const tags = new Tags();
  const greeting = await ch.readLine(p.deadline);
  if (!greeting.ok) return { status: 'unavailable', reason: `greeting: ${greeting.reason}` };
  if (greetingIsOurs(greeting.line, p.token)) return { status: 'unavailable', reason: 'relay loop: the backend greeting is our own' };
  if (/^\* PREAUTH\b/i.test(greeting.line)) return { status: 'unavailable', reason: 'backend pre-authenticated the connection' };
  if (!/^\* OK\b/i.test(greeting.line)) return { status: 'unavailable', reason: `greeting: ${shortText(greeting.line)}` };
  let caps = capabilityCode(greeting.line.slice(5));

  if (p.startTls) {
    const tag = tags.next();
    await ch.write(`${tag} STARTTLS\r\n`);
    const r = await readTagged(ch, tag, p.deadline);
    if (!r.ok) return { status: 'unavailable', reason: `STARTTLS: ${r.reason}` };
    if (r.reply.status !== 'OK') return { status: 'unavailable', reason: `STARTTLS: ${r.reply.status} ${shortText(r.reply.text)}` };
    const up = await ch.startTls(p.startTls, p.handshakeTimeoutMs);
    if (!up.ok) return { status: 'unavailable', reason: up.reason };
    caps = null; // RFC 9051 §6.2.1: capabilities learned before TLS are void
  }
  if (caps === null) {
    const c = await askCapability(ch, tags, p.deadline);
    if (!c.ok) return { status: 'unavailable', reason: c.reason };
    caps = c.caps;
  }

  // RFC 2971 ID before login: the client's address and port and our session id, so the backend
  // logs and rate-limits the real client, not us. The reply does not matter (ID is advisory).
  const idTag = hasCap(caps, 'ID') ? tags.next() : null;
  const idCommand = idTag === null ? '' : `${idTag} ID (${idFields(p.client)})\r\n`;

  const tag = tags.next();
  const pair = loginPair(p.plan);
  const usePlain = pair === null || (hasCap(caps, 'AUTH=PLAIN') && p.plan.method.kind !== 'master-separator') || hasCap(caps, 'LOGINDISABLED');
  let b64 = '';
  /** The whole login command when it needs no continuation from the server (SASL-IR, or LOGIN
   *  with quoted strings): it then goes out in one write with ID (RFC 9051 §5.5 lets a client
   *  send its next command without waiting), one round trip to the backend instead of two. */
  let oneShot: string | null = null;
  if (usePlain) {
    if (!hasCap(caps, 'AUTH=PLAIN')) return { status: 'unavailable', reason: 'backend does not offer AUTH=PLAIN' };
    const msg = plainMessage(p.plan);
    if (msg === null) return { status: 'refused', reason: 'a login field holds a NUL' };
    b64 = msg.toString('base64');
    if (hasCap(caps, 'SASL-IR')) oneShot = `${tag} AUTHENTICATE PLAIN ${b64 === '' ? '=' : b64}\r\n`;
  } else {
    oneShot = quotedLogin(tag, pair.name, pair.password.reveal());
  }

  if (oneShot !== null) {
    ch.send(idCommand + oneShot);
    if (idTag !== null) {
      const r = await readTagged(ch, idTag, p.deadline);
      if (!r.ok) return { status: 'unavailable', reason: `ID: ${r.reason}` };
    }
  } else {
    // A continuation is needed (no SASL-IR, or a LOGIN argument that needs a literal): the
    // exchange goes step by step.
    if (idTag !== null) {
      ch.send(idCommand);
      const r = await readTagged(ch, idTag, p.deadline);
      if (!r.ok) return { status: 'unavailable', reason: `ID: ${r.reason}` };
    }
    if (usePlain) {
      ch.send(`${tag} AUTHENTICATE PLAIN\r\n`);
      const go = await ch.readLine(p.deadline);
      if (!go.ok) return { status: 'unavailable', reason: `AUTHENTICATE: ${go.reason}` };
      if (!go.line.startsWith('+')) {
        const m = /^(\S+) (OK|NO|BAD)\b ?(.*)$/i.exec(go.line);
        return { status: 'refused', reason: `AUTHENTICATE: ${shortText(m ? `${m[2]} ${m[3]}` : go.line)}` };
      }
      ch.send(`${b64}\r\n`);
    } else if (pair !== null) {
      const s = await sendCommand(ch, tag, 'LOGIN', [Buffer.from(pair.name, 'utf8'), pair.password.reveal()], p.deadline);
      if (!s.ok) return { status: 'unavailable', reason: `LOGIN: ${s.reason}` };
    }
  }
  const r = await readTagged(ch, tag, p.deadline);
  if (!r.ok) return { status: 'unavailable', reason: `login: ${r.reason}` };
  if (r.reply.status !== 'OK') return failureOf('login', r.reply);

  let after = capabilityCode(r.reply.text) ?? untaggedCapability(r.reply.untagged);
  if (after === null) {
    const c = await askCapability(ch, tags, p.deadline);
    if (!c.ok) return { status: 'unavailable', reason: c.reason };
    after = c.caps;
  }
  return { status: 'ok', capabilities: after };
}
