/**
 * POP3 backend login (RFC 1939, 2449 CAPA, 2595 STLS, 5034 AUTH): greeting, optional STLS,
 * Dovecot's XCLIENT (announced by `[XCLIENT]` in its greeting) to pass the client's address and
 * our session id, then USER/PASS or AUTH PLAIN per the login plan.
 */
import type { ConnectionInfo } from '../protocols/common/session.js';
import { shortText, type StepOutcome } from './imap.js';
import { greetingIsOurs } from './loop.js';
import { loginPair, plainMessage, type LoginPlan } from './login-plan.js';
import type { LineChannel, TlsOptions } from './wire.js';

/** Lines of a CAPA answer we read before giving up: real lists have about ten. */
export const POP3_MAX_CAPA_LINES = 256;

export interface Pop3LoginParams {
  plan: LoginPlan;
  client: ConnectionInfo;
  startTls?: TlsOptions;
  deadline: number;
  handshakeTimeoutMs: number;
  token: string;
}

type Status = { ok: true; positive: boolean; text: string } | { ok: false; reason: string };

async function status(ch: LineChannel, deadline: number): Promise<Status> {
  const r = await ch.readLine(deadline);
  if (!r.ok) return r;
  if (r.line.startsWith('+OK')) return { ok: true, positive: true, text: r.line.slice(3).trim() };
  if (r.line.startsWith('-ERR')) return { ok: true, positive: false, text: r.line.slice(4).trim() };
  return { ok: false, reason: `unexpected line: ${shortText(r.line)}` };
}

/** Reads the answer to a CAPA already sent. */
async function capa(ch: LineChannel, deadline: number): Promise<{ ok: true; caps: string[] } | { ok: false; reason: string }> {
  const s = await status(ch, deadline);
  if (!s.ok) return s;
  if (!s.positive) return { ok: true, caps: [] }; // an RFC 1939-only server: no CAPA
  const caps: string[] = [];
  for (;;) {
    const r = await ch.readLine(deadline);
    if (!r.ok) return r;
    if (r.line === '.') return { ok: true, caps };
    caps.push(r.line.startsWith('..') ? r.line.slice(1) : r.line);
    if (caps.length > POP3_MAX_CAPA_LINES) return { ok: false, reason: 'CAPA too long' };
  }
}

/** RFC 3206: [SYS/TEMP] and [IN-USE] are temporary (the backend's state), [AUTH] is the login. */
function refusal(step: string, text: string): StepOutcome {
  const reason = `${step}: -ERR ${shortText(text)}`;
  return /^\[(SYS\/TEMP|IN-USE)\]/i.test(text) ? { status: 'unavailable', reason } : { status: 'refused', reason };
}

/** Dovecot's POP3 XCLIENT value: no spaces or controls (they would split the attribute). */
function xclientValue(v: string): string {
  return v.replace(/[^\x21-\x7e]/g, '');
}

export async function pop3Login(ch: LineChannel, p: Pop3LoginParams): Promise<StepOutcome> {
  const g = await ch.readLine(p.deadline);
  if (!g.ok) return { status: 'unavailable', reason: `greeting: ${g.reason}` };
  if (greetingIsOurs(g.line, p.token)) return { status: 'unavailable', reason: 'relay loop: the backend greeting is our own' };
  if (!g.line.startsWith('+OK')) return { status: 'unavailable', reason: `greeting: ${shortText(g.line)}` };
  const offersXclient = /\[XCLIENT\]/i.test(g.line);

  if (p.startTls) {
    await ch.write('STLS\r\n');
    const s = await status(ch, p.deadline);
    if (!s.ok) return { status: 'unavailable', reason: `STLS: ${s.reason}` };
    if (!s.positive) return { status: 'unavailable', reason: `STLS: -ERR ${shortText(s.text)}` };
    const up = await ch.startTls(p.startTls, p.handshakeTimeoutMs);
    if (!up.ok) return { status: 'unavailable', reason: up.reason };
  }

  const xclient = offersXclient ? `XCLIENT ADDR=${xclientValue(p.client.remoteAddress)} PORT=${p.client.remotePort} SESSION=${xclientValue(p.client.id)}\r\n` : '';
  const pair = loginPair(p.plan);
  const separator = pair !== null && p.plan.method.kind !== 'passthrough';
  if (offersXclient) {
    // [XCLIENT] is Dovecot's, which reads pipelined commands (it offers PIPELINING, RFC 2449
    // §6.6): XCLIENT and the whole login go out in one write, one round trip instead of three.
    if (separator) {
      const bad = lineBreakIn(pair.name, pair.password.reveal());
      if (bad) return bad;
      ch.send(Buffer.concat([Buffer.from(`${xclient}USER ${pair.name}\r\nPASS `, 'latin1'), pair.password.reveal(), CRLF]));
      const x = await xclientStatus(ch, p.deadline);
      if (x) return x;
      return userPassReplies(ch, p.deadline);
    }
    const msg = plainMessage(p.plan);
    if (msg === null) return { status: 'refused', reason: 'a login field holds a NUL' };
    ch.send(`${xclient}CAPA\r\nAUTH PLAIN ${msg.length === 0 ? '=' : msg.toString('base64')}\r\n`);
    const x = await xclientStatus(ch, p.deadline);
    if (x) return x;
    const c = await capa(ch, p.deadline);
    if (!c.ok) return { status: 'unavailable', reason: `CAPA: ${c.reason}` };
    const s = await status(ch, p.deadline);
    if (!s.ok) return { status: 'unavailable', reason: `AUTH: ${s.reason}` };
    if (offersPlain(c.caps)) return s.positive ? { status: 'ok' } : refusal('AUTH', s.text);
    // No SASL PLAIN after all (its AUTH was refused): USER/PASS when the plan allows it.
    if (pair === null) return { status: 'unavailable', reason: 'backend does not offer SASL PLAIN' };
    return userPass(ch, pair.name, pair.password.reveal(), p.deadline);
  }

  if (separator) {
    // master-separator: USER user*master / PASS master-password.
    return userPass(ch, pair.name, pair.password.reveal(), p.deadline);
  }
  ch.send('CAPA\r\n');
  const c = await capa(ch, p.deadline);
  if (!c.ok) return { status: 'unavailable', reason: `CAPA: ${c.reason}` };
  if (offersPlain(c.caps)) {
    const msg = plainMessage(p.plan);
    if (msg === null) return { status: 'refused', reason: 'a login field holds a NUL' };
    ch.send(`AUTH PLAIN ${msg.length === 0 ? '=' : msg.toString('base64')}\r\n`);
    const s = await status(ch, p.deadline);
    if (!s.ok) return { status: 'unavailable', reason: `AUTH: ${s.reason}` };
    return s.positive ? { status: 'ok' } : refusal('AUTH', s.text);
  }
  if (pair === null) return { status: 'unavailable', reason: 'backend does not offer SASL PLAIN' };
  return userPass(ch, pair.name, pair.password.reveal(), p.deadline);
}

const CRLF = Buffer.from('\r\n', 'latin1');

function offersPlain(caps: readonly string[]): boolean {
  return caps.find((l) => /^SASL\b/i.test(l))?.toUpperCase().split(/\s+/).slice(1).includes('PLAIN') ?? false;
}

/** XCLIENT's answer: a refusal only means we are not in its trusted networks (the login still
 *  works); only a broken exchange stops the login. */
async function xclientStatus(ch: LineChannel, deadline: number): Promise<StepOutcome | null> {
  const s = await status(ch, deadline);
  return s.ok ? null : { status: 'unavailable', reason: `XCLIENT: ${s.reason}` };
}

/** USER and PASS take the rest of the line: CR or LF inside would start another command. */
function lineBreakIn(name: string, password: Buffer): StepOutcome | null {
  return /[\r\n]/.test(name) || password.includes(0x0d) || password.includes(0x0a) ? { status: 'refused', reason: 'line break in a login field' } : null;
}

async function userPassReplies(ch: LineChannel, deadline: number): Promise<StepOutcome> {
  const u = await status(ch, deadline);
  if (!u.ok) return { status: 'unavailable', reason: `USER: ${u.reason}` };
  if (!u.positive) return refusal('USER', u.text);
  const s = await status(ch, deadline);
  if (!s.ok) return { status: 'unavailable', reason: `PASS: ${s.reason}` };
  return s.positive ? { status: 'ok' } : refusal('PASS', s.text);
}

async function userPass(ch: LineChannel, name: string, password: Buffer, deadline: number): Promise<StepOutcome> {
  const bad = lineBreakIn(name, password);
  if (bad) return bad;
  await ch.write(`USER ${name}\r\n`);
  const u = await status(ch, deadline);
  if (!u.ok) return { status: 'unavailable', reason: `USER: ${u.reason}` };
  if (!u.positive) return refusal('USER', u.text);
  await ch.write(Buffer.concat([Buffer.from('PASS '), password, Buffer.from('\r\n')]));
  const s = await status(ch, deadline);
  if (!s.ok) return { status: 'unavailable', reason: `PASS: ${s.reason}` };
  return s.positive ? { status: 'ok' } : refusal('PASS', s.text);
}
