/**
 * SMTP submission front-end (RFC 6409, 4954 AUTH, 3207 STARTTLS, 2034 enhanced codes, 2920
 * PIPELINING) as a ProtocolSession: lines in, effects out, no socket of the client's.
 *
 * Relay design (B1). After AUTH succeeds, the connector brings a backend connection to "ready
 * for MAIL FROM" (EHLO done; XCLIENT LOGIN/ADDR/PORT/HELO sent to Postfix, or AUTH as the master
 * user / with the user's own password) and only then is 235 sent. The session then stays in the
 * path as an SMTP-aware proxy for the rest of the connection instead of splicing raw bytes:
 *   - a backend that honours our XCLIENT trusts every XCLIENT from our address, so a client
 *     spliced through could send `XCLIENT LOGIN=someone-else` itself; commands we do not know
 *     (XCLIENT, XFORWARD, ETRN...) are therefore answered here and never forwarded;
 *   - MAIL FROM and RCPT TO are parsed and rebuilt (AUTH= and unknown parameters never reach the
 *     backend);
 *   - a later EHLO (clients re-EHLO after STARTTLS, some after RSET) is sent to the backend to
 *     reset its state, but answered with our own keyword list, so the client never sees the
 *     backend's AUTH, STARTTLS or XCLIENT;
 *   - message lines are re-terminated with CRLF, so the end of DATA is the same for both sides
 *     (no SMTP smuggling with bare LF), and written with back-pressure.
 * Pipelined commands are handled one at a time, in order, which is what RFC 2920 requires.
 * CHUNKING is not advertised (BDAT would need the same filtering with binary chunks); a BDAT
 * closes the connection, because its chunk would otherwise be read as commands.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { logger, type Logger } from '../../core/log.js';
import type { AuthEngine, ConnectionFacts } from '../../auth/engine.js';
import type { BackendConnector } from '../../backends/connector.js';
import { bannerToken } from '../../backends/loop.js';
import { formatReply, SmtpBackendClient, type ReplyResult } from '../../backends/smtp.js';
import { advertisedMechanisms, mayAdvertiseClearText } from '../../sasl/advertise.js';
import { SaslSession, SASL_MAX_LINE_LENGTH, type SaslReply } from '../../sasl/driver.js';
import type { AuthOutcome, CredentialPort, SaslContext } from '../../sasl/mechanism.js';
import { getMechanism } from '../../sasl/registry.js';
import type { ServerSettings } from '../../settings/schema.js';
import type { ConnectionInfo, Effect, ProtocolSession, SessionFactory } from '../common/session.js';
import { lineText, parseAuth, parseCommand, parseHelo, parseMailFrom, parseRcptTo, type Verb } from './parser.js';
import { authFailureReply, backendFailureReply, multiline, R, type Reply } from './replies.js';

/** Wait before the greeting: RFC 5321 §3.1 has the client wait for it, so input that arrives
 *  first comes from a bot that does not listen (or a cross-protocol attack). Short enough that
 *  no person notices it. */
export const SMTP_GREETING_DELAY_MS = 300;

/** Largest message accepted (SIZE, RFC 1870): submission of large attachments, as Postfix's
 *  default message_size_limit is 10 MB; 50 MiB leaves the backend's own limit to decide below. */
export const SMTP_MAX_MESSAGE_SIZE = 50 * 1024 * 1024;

/** Bad commands before we hang up: a confused client gets a few tries, a scanner does not. */
export const SMTP_MAX_BAD_COMMANDS = 10;

/** Failed AUTH attempts on one connection (H2 counts them per account too; this bounds the
 *  guessing one connection can do before it must reconnect). */
export const SMTP_MAX_AUTH_FAILURES = 3;

/** Backend reply to a command: RFC 5321 §4.5.3.2 gives clients 5 minutes for MAIL/RCPT. */
export const SMTP_BACKEND_COMMAND_TIMEOUT_MS = 5 * 60_000;

/** Backend reply after the final dot: RFC 5321 §4.5.3.2.6 gives the server 10 minutes. */
export const SMTP_BACKEND_DATA_TIMEOUT_MS = 10 * 60_000;

/** QUIT to the backend on the way out: courtesy only, never worth holding the client. */
const SMTP_BACKEND_QUIT_TIMEOUT_MS = 2000;

/** What the session needs; ProtocolDeps fits (only `bind` of the engine is used). */
export interface SmtpDeps {
  engine: Pick<AuthEngine, 'bind'>;
  serverSettings(): Promise<ServerSettings>;
  backends: BackendConnector;
  hostname(): Promise<string>;
}

export interface SmtpSessionOptions {
  greetingDelayMs?: number;
  maxMessageSize?: number;
  commandTimeoutMs?: number;
  dataTimeoutMs?: number;
  /** Banner token for the loop guard (default: this process's). */
  token?: string;
}

interface Helo { name: string; esmtp: boolean }

type State =
  | { phase: 'greeting' }
  | { phase: 'command'; helo: Helo | null }
  | { phase: 'auth'; helo: Helo; sasl: SaslSession; captured: { password?: Buffer } }
  | { phase: 'relay'; helo: Helo; backend: SmtpBackendClient; account: string }
  /** Inside DATA; `discard` once the message cannot be delivered (too big, line too long):
   *  lines are read and dropped until the final dot, then `reply` is given. */
  | { phase: 'data'; helo: Helo; backend: SmtpBackendClient; account: string; bytes: number; discard: Reply | null }
  | { phase: 'closed' };

export function smtpSessionFactory(deps: SmtpDeps, options: SmtpSessionOptions = {}): SessionFactory {
  return (info) => new SmtpSession(info, deps, options);
}

export class SmtpSession implements ProtocolSession {
  #state: State = { phase: 'greeting' };
  #host = 'localhost';
  #badCommands = 0;
  #authFailures = 0;
  /** Serializes input handling even if a listener delivers the next line early. */
  #queue: Promise<unknown> = Promise.resolve();
  readonly #log: Logger;
  readonly #o: Required<SmtpSessionOptions>;

  constructor(private readonly info: ConnectionInfo, private readonly deps: SmtpDeps, options: SmtpSessionOptions = {}) {
    this.#log = logger('SMTP', { session: info.id, remote: info.remoteAddress });
    this.#o = {
      greetingDelayMs: options.greetingDelayMs ?? SMTP_GREETING_DELAY_MS,
      maxMessageSize: options.maxMessageSize ?? SMTP_MAX_MESSAGE_SIZE,
      commandTimeoutMs: options.commandTimeoutMs ?? SMTP_BACKEND_COMMAND_TIMEOUT_MS,
      dataTimeoutMs: options.dataTimeoutMs ?? SMTP_BACKEND_DATA_TIMEOUT_MS,
      token: options.token ?? bannerToken(),
    };
  }

  async start(): Promise<Effect[]> {
    this.#host = await this.deps.hostname();
    if (this.#o.greetingDelayMs > 0) await sleep(this.#o.greetingDelayMs);
    if (this.#state.phase !== 'greeting') return []; // an early talker was already refused
    // The listener reads while the greeting is being made and flags input that came first.
    if (this.info.earlyInput === true) {
      this.#log.problem('smtp.early-talker');
      this.#state = { phase: 'closed' };
      return this.#emit(R.earlyTalker());
    }
    this.#state = { phase: 'command', helo: null };
    return this.#emit(R.greeting(this.#host, this.#o.token));
  }

  onLine(line: Buffer): Promise<Effect[]> {
    if (this.#state.phase === 'greeting') {
      this.#log.problem('smtp.early-talker');
      this.#state = { phase: 'closed' };
      return Promise.resolve(this.#emit(R.earlyTalker()));
    }
    return this.#serial(() => this.#line(line));
  }

  onLiteral(): Promise<Effect[]> {
    // SMTP never asks for a literal read; a call means a listener bug.
    return Promise.resolve(this.#emit(R.badSequence()));
  }

  onLineTooLong(): Promise<Effect[]> {
    return this.#serial(async () => {
      const s = this.#state;
      if (s.phase === 'data') {
        if (s.discard === null) this.#abortData(s, R.dataLineTooLong());
        return [];
      }
      if (s.phase === 'auth') {
        this.#state = { phase: 'command', helo: s.helo };
        return this.#emit(authFailureReply({ status: 'malformed', reason: 'line too long' }));
      }
      return this.#emit(R.lineTooLong());
    });
  }

  async onTlsStarted(): Promise<Effect[]> {
    // RFC 3207 §4.2: forget everything learned before TLS, EHLO included.
    if (this.#state.phase !== 'closed') this.#state = { phase: 'command', helo: null };
    return [];
  }

  onIdleTimeout(): Effect[] {
    return this.#emit(R.idle(this.#host));
  }

  onClose(): void {
    const s = this.#state;
    if (s.phase === 'relay' || s.phase === 'data') s.backend.close();
    if (s.phase === 'auth') s.captured.password?.fill(0);
    this.#state = { phase: 'closed' };
  }

  // ---------------------------------------------------------------------------------------

  #serial(f: () => Promise<Effect[]>): Promise<Effect[]> {
    const run = this.#queue.then(f, f);
    this.#queue = run.catch(() => undefined);
    return run.catch((e: unknown) => {
      // A bug must not leave the client hanging or keep a half-state: say so and hang up.
      this.#log.failure('smtp.error', { error: e });
      this.onClose();
      return [{ type: 'write', data: '421 4.3.0 Internal error, closing connection\r\n' }, { type: 'close', reason: 'internal error' }] as Effect[];
    });
  }

  #emit(r: Reply): Effect[] {
    const effects: Effect[] = [{ type: 'write', data: r.text }];
    if (r.error) {
      this.#badCommands += 1;
      if (this.#badCommands >= SMTP_MAX_BAD_COMMANDS && !r.close) {
        this.#log.problem('smtp.too-many-errors');
        effects.push({ type: 'write', data: R.tooManyErrors().text });
        this.#closeState();
        effects.push({ type: 'close', reason: 'too many errors' });
        return effects;
      }
    }
    if (r.close) {
      this.#closeState();
      effects.push({ type: 'close', reason: r.text.trim() });
    }
    return effects;
  }

  #closeState(): void {
    const s = this.#state;
    if (s.phase === 'relay' || s.phase === 'data') s.backend.close();
    this.#state = { phase: 'closed' };
  }

  async #line(raw: Buffer): Promise<Effect[]> {
    const s = this.#state;
    switch (s.phase) {
      case 'closed':
      case 'greeting':
        return [];
      case 'data':
        return this.#dataLine(s, raw);
      case 'auth':
        return this.#authContinue(s, lineText(raw));
      case 'command':
      case 'relay':
        break;
    }
    const text = lineText(raw);
    const p = parseCommand(text, s.phase === 'command' && /^AUTH /i.test(text) ? SASL_MAX_LINE_LENGTH + 64 : undefined);
    switch (p.kind) {
      case 'http':
        this.#log.problem('smtp.http-request');
        return this.#emit(R.http());
      case 'syntax':
        return this.#emit(p.reason === 'line too long' ? R.lineTooLong() : R.syntax());
      case 'unknown':
        return this.#emit(R.unknown());
      case 'command':
        return s.phase === 'command' ? this.#preAuth(s, p.verb, p.args) : this.#relay(s, p.verb, p.args);
    }
  }

  // ---- before authentication --------------------------------------------------------------

  async #preAuth(s: Extract<State, { phase: 'command' }>, verb: Verb, args: string): Promise<Effect[]> {
    switch (verb) {
      case 'EHLO':
      case 'HELO': {
        const h = parseHelo(args);
        if (!h.ok) return this.#emit(R.heloNeeded());
        s.helo = { name: h.name, esmtp: verb === 'EHLO' };
        if (verb === 'HELO') return this.#emit({ text: `250 ${this.#host}\r\n` });
        return this.#emit({ text: multiline(250, await this.#ehloLines(h.name, false)) });
      }
      case 'STARTTLS':
        if (args !== '') return this.#emit(R.argsSyntax());
        if (this.info.secure) return this.#emit(R.tlsAlreadyActive());
        if (!this.info.startTlsAvailable) return this.#emit(R.tlsNotAvailable());
        return [{ type: 'write', data: R.startTls().text }, { type: 'starttls' }];
      case 'AUTH':
        return this.#authStart(s, args);
      case 'MAIL':
      case 'RCPT':
      case 'DATA':
        return this.#emit(R.authRequired());
      case 'BDAT':
        return this.#emit(R.noBdat());
      default:
        return this.#common(verb, args);
    }
  }

  /** Commands answered the same way in every state. */
  #common(verb: Verb, args: string): Effect[] {
    switch (verb) {
      case 'NOOP':
        return this.#emit(R.ok());
      case 'RSET':
        return args === '' ? this.#emit(R.ok()) : this.#emit(R.argsSyntax());
      case 'QUIT':
        return this.#emit(R.bye(this.#host));
      case 'HELP':
        return this.#emit(R.help());
      case 'VRFY':
      case 'EXPN':
        // H1: no address probing through us.
        return this.#emit(R.noVrfy());
      default:
        return this.#emit(R.badSequence());
    }
  }

  async #advertised(settings: ServerSettings): Promise<string[]> {
    return advertisedMechanisms({
      advertiseSecure: settings.AdvertiseSecureSASL,
      advertiseMSN: settings.AdvertiseMSN,
      advertiseNTLM: settings.AdvertiseNTLM,
      clearTextAllowed: this.info.clearTextLogin,
      linkSecure: this.info.secure,
      channelBindingAvailable: Object.keys(this.info.tls?.channelBindings ?? {}).length > 0,
    });
  }

  async #ehloLines(name: string, authenticated: boolean): Promise<string[]> {
    const lines = [`${this.#host} Hello ${name}`, 'PIPELINING', `SIZE ${this.#o.maxMessageSize}`, '8BITMIME', 'ENHANCEDSTATUSCODES'];
    if (!authenticated) {
      if (!this.info.secure && this.info.startTlsAvailable) lines.push('STARTTLS');
      const mechs = await this.#advertised(await this.deps.serverSettings());
      if (mechs.length > 0) lines.push(`AUTH ${mechs.join(' ')}`);
    }
    return lines;
  }

  async #authStart(s: Extract<State, { phase: 'command' }>, args: string): Promise<Effect[]> {
    if (s.helo === null || !s.helo.esmtp) return this.#emit(R.sendEhloFirst());
    const a = parseAuth(args);
    if (!a.ok) return this.#emit(R.argsSyntax());
    const settings = await this.deps.serverSettings();
    const offered = await this.#advertised(settings);
    // A8: a clear-text mechanism before TLS on a tls-only listener gets the RFC 4954 answer,
    // not "unknown mechanism", so the client knows STARTTLS would help.
    const mech = getMechanism(a.mechanism);
    if (mech?.clearText && !mayAdvertiseClearText({ clearTextAllowed: this.info.clearTextLogin, linkSecure: this.info.secure })) {
      return this.#emit(R.encryptionRequired());
    }
    const captured: { password?: Buffer } = {};
    const facts: ConnectionFacts = { mode: 'SMTP', client: this.info.remoteAddress, local: this.info.localAddress, secure: this.info.secure };
    const base = this.deps.engine.bind(facts);
    // Pass-through backend logins need the password a clear-text mechanism carried: keep it from
    // the one successful verification, for the connector only (zeroed right after).
    const port: CredentialPort = {
      authenticate: async (r) => {
        const o = await base.authenticate(r);
        if (o.status === 'ok' && r.credential.type === 'password') captured.password = Buffer.from(r.credential.password);
        return o;
      },
      scramParameters: (login, alg) => base.scramParameters(login, alg),
    };
    const ctx: SaslContext = {
      serverName: this.#host,
      service: 'smtp',
      secure: this.info.secure,
      channelBindings: this.info.tls?.channelBindings ?? {},
      plusAdvertised: offered.some((m) => m.endsWith('-PLUS')),
      options: { allowNtlmV1: settings.AllowNTLMv1 },
      port,
    };
    const sasl = new SaslSession(ctx, { offered, successData: 'as-challenge' });
    this.#state = { phase: 'auth', helo: s.helo, sasl, captured };
    return this.#saslReply(await sasl.start(a.mechanism, a.initialResponse));
  }

  async #authContinue(s: Extract<State, { phase: 'auth' }>, text: string): Promise<Effect[]> {
    return this.#saslReply(await s.sasl.respond(text));
  }

  async #saslReply(r: SaslReply): Promise<Effect[]> {
    const s = this.#state;
    if (s.phase !== 'auth') return [];
    switch (r.reply) {
      case 'challenge':
        return this.#emit(R.challenge(r.base64));
      case 'unsupported':
        this.#state = { phase: 'command', helo: s.helo };
        return this.#emit(R.unsupportedMechanism());
      case 'failure': {
        this.#state = { phase: 'command', helo: s.helo };
        s.captured.password?.fill(0);
        this.#log.info('smtp.auth.failed', { status: r.failure.status });
        const reply = authFailureReply(r.failure);
        if (reply.close || r.failure.status === 'cancelled' || r.failure.status === 'temporary-failure') return this.#emit(reply);
        this.#authFailures += 1;
        if (this.#authFailures >= SMTP_MAX_AUTH_FAILURES) {
          return [{ type: 'write', data: reply.text }, ...this.#emit(R.tooManyAuthFailures())];
        }
        return this.#emit(reply);
      }
      case 'success':
        return this.#authenticated(s, r.outcome);
    }
  }

  async #authenticated(s: Extract<State, { phase: 'auth' }>, outcome: Extract<AuthOutcome, { status: 'ok' }>): Promise<Effect[]> {
    const account = `${outcome.authzAccount ?? outcome.account}@${outcome.authzDomain ?? outcome.domain}`;
    const password = s.captured.password;
    let result;
    try {
      result = await this.deps.backends.connect({
        service: 'SMTP', login: outcome, client: this.info, helo: s.helo.name,
        ...(password ? { password } : {}),
      });
    } finally {
      password?.fill(0);
    }
    if (this.#state !== s) {
      // The client went away while the backend was being prepared.
      if (result.status === 'ok') result.socket.destroy();
      return [];
    }
    if (result.status !== 'ok') {
      this.#log.problem('smtp.backend.failed', { account, status: result.status, reason: 'reason' in result ? result.reason : undefined });
      this.#state = { phase: 'command', helo: s.helo };
      return this.#emit(backendFailureReply(result));
    }
    this.#log.info('smtp.auth.success', { account });
    this.#state = { phase: 'relay', helo: s.helo, backend: new SmtpBackendClient(result.socket, result.pending), account };
    return this.#emit(R.authenticated());
  }

  // ---- after authentication: the relay ----------------------------------------------------

  /** The backend's reply, relayed as it is; a lost backend closes the client connection. */
  #relayed(r: ReplyResult): Effect[] {
    if (!r.ok) {
      this.#log.problem('smtp.backend.lost', { reason: r.reason });
      return this.#emit(R.backendLost());
    }
    // 421 from the backend: it is closing; so do we (RFC 5321 §3.8).
    if (r.reply.code === 421) return this.#emit({ text: formatReply(r.reply), close: true });
    return this.#emit({ text: formatReply(r.reply) });
  }

  async #relay(s: Extract<State, { phase: 'relay' }>, verb: Verb, args: string): Promise<Effect[]> {
    const t = this.#o.commandTimeoutMs;
    switch (verb) {
      case 'EHLO':
      case 'HELO': {
        const h = parseHelo(args);
        if (!h.ok) return this.#emit(R.heloNeeded());
        // Resets the backend's transaction (RFC 5321 §4.1.4); its keywords stay hidden.
        const r = await s.backend.command(`${verb} ${h.name}`, t);
        if (!r.ok || r.reply.code !== 250) return this.#relayed(r);
        s.helo = { name: h.name, esmtp: verb === 'EHLO' };
        if (verb === 'HELO') return this.#emit({ text: `250 ${this.#host}\r\n` });
        return this.#emit({ text: multiline(250, await this.#ehloLines(h.name, true)) });
      }
      case 'MAIL': {
        const m = parseMailFrom(args);
        if (!m.ok) return this.#emit(m.error === 'parameters' ? R.paramsUnknown() : m.error === 'path' ? R.badPath() : R.argsSyntax());
        const size = /SIZE=(\d+)/.exec(m.line);
        if (size && Number(size[1]) > this.#o.maxMessageSize) return this.#emit({ text: '552 5.3.4 Message size exceeds fixed limit\r\n', error: true });
        return this.#relayed(await s.backend.command(m.line, t));
      }
      case 'RCPT': {
        const m = parseRcptTo(args);
        if (!m.ok) return this.#emit(m.error === 'parameters' ? R.paramsUnknown() : m.error === 'path' ? R.badPath() : R.argsSyntax());
        return this.#relayed(await s.backend.command(m.line, t));
      }
      case 'DATA': {
        if (args !== '') return this.#emit(R.argsSyntax());
        const r = await s.backend.command('DATA', t);
        if (r.ok && r.reply.code === 354) {
          this.#state = { phase: 'data', helo: s.helo, backend: s.backend, account: s.account, bytes: 0, discard: null };
        }
        return this.#relayed(r);
      }
      case 'RSET':
      case 'NOOP':
        if (verb === 'RSET' && args !== '') return this.#emit(R.argsSyntax());
        return this.#relayed(await s.backend.command(verb, t));
      case 'QUIT':
        await s.backend.quit(SMTP_BACKEND_QUIT_TIMEOUT_MS);
        return this.#emit(R.bye(this.#host));
      case 'AUTH':
        return this.#emit(R.alreadyAuthenticated());
      case 'STARTTLS':
        return this.#emit(R.badSequence());
      case 'BDAT':
        return this.#emit(R.noBdat());
      default:
        return this.#common(verb, args);
    }
  }

  #abortData(s: Extract<State, { phase: 'data' }>, reply: Reply): void {
    // Without the final dot the backend never delivers the partial message: closing its
    // connection is the only way SMTP has to abort DATA.
    s.backend.close();
    s.discard = reply;
    this.#log.problem('smtp.data.aborted', { account: s.account, reply: reply.text.trim() });
  }

  async #dataLine(s: Extract<State, { phase: 'data' }>, raw: Buffer): Promise<Effect[]> {
    const line = raw.length > 0 && raw[raw.length - 1] === 0x0d ? raw.subarray(0, raw.length - 1) : raw;
    const end = line.length === 1 && line[0] === 0x2e;
    if (s.discard !== null) {
      return end ? this.#emit(s.discard) : [];
    }
    if (end) {
      await s.backend.dataLine(line);
      const r = await s.backend.reply(this.#o.dataTimeoutMs);
      this.#state = { phase: 'relay', helo: s.helo, backend: s.backend, account: s.account };
      if (r.ok) this.#log.info('smtp.message', { account: s.account, bytes: s.bytes, code: r.reply.code });
      return this.#relayed(r);
    }
    s.bytes += line.length + 2;
    if (s.bytes > this.#o.maxMessageSize) {
      this.#abortData(s, R.tooBig());
      return [];
    }
    await s.backend.dataLine(line);
    return [];
  }
}
