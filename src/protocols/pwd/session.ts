/**
 * The PWD session (W3): CommuniGate Pro's PWD protocol, through which its CLI is reached over TCP
 * (default port 1106 here; CommuniGate's is 106). It takes lines and answers effects; the listener
 * (protocols/common) owns the socket.
 *
 *   S: 200 mail.example.com Mailward PWD server ready <3f0a...1c.1717171717@mail.example.com>
 *   C: APOP postmaster 6a0c...e2            (or USER/PASS, or AUTH mechanism [initial-response])
 *   S: 200 login OK, proceed
 *   C: INLINE ListDomains
 *   S: 201 ("client1.com","example.com")
 *   C: GetAccountSettings user1@client1.com
 *   S: 200 data follow
 *   S: {RealName="User One";Password="(set)";}
 *   C: QUIT
 *   S: 200 Mailward PWD connection closed
 *
 * Before login: USER, PASS, APOP, AUTH, NOOP, QUIT. After login: INLINE (alone it switches the
 * session to inline data, as CGP::CLI does right after logging in; `INLINE command` runs one
 * command inline), NOOP, QUIT and every CLI command of the command table. Each command is run as
 * the account that logged in, with the rights it holds at that moment (read again for each
 * command, so a right taken away applies at once); the AdminService decides (R5).
 *
 * Login goes through the authentication engine with mode PWD, so client addresses (N2), lock-out
 * (H2), Secure Method Required (A7) and Hide Unknown (H1) apply. The greeting carries an APOP
 * timestamp (A4) only when secure methods are advertised. Clear-text USER/PASS and PLAIN/LOGIN are
 * refused before TLS unless the listener allows them (A8). CommuniGate's PWD module has no
 * STARTTLS, and neither has this one: TLS is the listener's (an implicit-TLS port).
 */
import { randomBytes } from 'node:crypto';
import { logger } from '../../core/log.js';
import type { AuthEngine, ConnectionFacts } from '../../auth/engine.js';
import type { AdminService } from '../../admin/service.js';
import { executeCliLine } from '../../admin/cli/interpreter.js';
import { serialize } from '../../settings/format/index.js';
import type { ServerSettings } from '../../settings/schema.js';
import { advertisedMechanisms, mayAdvertiseClearText, mayOfferApop } from '../../sasl/advertise.js';
import { SaslSession, type SaslReply } from '../../sasl/driver.js';
import { apop } from '../../sasl/mechs/apop.js';
import type { AuthOutcome, SaslContext, SaslFailure } from '../../sasl/mechanism.js';
import { BadCommandCounter } from '../common/bad-commands.js';
import type { ConnectionInfo, Effect, ProtocolSession, SessionFactory } from '../common/session.js';
import { authFailureReply, R, type Reply } from './replies.js';

const log = logger('PWD');

/** Failed logins on one connection before it is closed: the lock-out (H2) counts failures per
 *  account across connections; this stops one connection from trying name after name. */
export const PWD_MAX_LOGIN_FAILURES = 3;
/** Longest user name accepted by USER: `name@domain` with long names fits; more is not a name. */
export const PWD_MAX_USER_LENGTH = 512;
/** Longest password accepted by PASS, in bytes: the password module refuses anything longer. */
export const PWD_MAX_PASSWORD_BYTES = 1024;

export interface PwdDeps {
  engine: AuthEngine;
  admin: AdminService;
  serverSettings(): Promise<ServerSettings>;
  /** Host name for the greeting, the APOP timestamp and SASL challenges: the main domain. */
  hostname(): Promise<string>;
}

type Ok = Extract<AuthOutcome, { status: 'ok' }>;

type State =
  | { phase: 'login'; user: string | null }
  | { phase: 'sasl'; sasl: SaslSession }
  | { phase: 'ready'; domain: string; account: string; inline: boolean }
  | { phase: 'closed' };

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function pwdSessionFactory(deps: PwdDeps): SessionFactory {
  return (info) => new PwdSession(info, deps);
}

export class PwdSession implements ProtocolSession {
  #state: State = { phase: 'login', user: null };
  readonly #bad = new BadCommandCounter();
  #loginFailures = 0;
  #host = 'localhost';
  /** RFC 1939's msg-id form: random, so a captured APOP digest never replays. */
  #timestamp: string | undefined;

  constructor(readonly info: ConnectionInfo, private readonly deps: PwdDeps) {}

  async start(): Promise<Effect[]> {
    this.#host = await this.deps.hostname();
    const s = await this.deps.serverSettings();
    if (mayOfferApop({ advertiseSecure: s.AdvertiseSecureSASL })) {
      this.#timestamp = `<${randomBytes(12).toString('hex')}.${Math.floor(Date.now() / 1000)}@${this.#host}>`;
    }
    return this.#emit(R.greeting(this.#host, this.#timestamp));
  }

  async onLine(raw: Buffer): Promise<Effect[]> {
    if (this.#state.phase === 'closed') return [];
    let line: string;
    try {
      line = utf8.decode(raw);
    } catch {
      return this.#emit(R.notUtf8());
    }
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const state = this.#state;
    if (state.phase === 'sasl') return this.#saslReply(await state.sasl.respond(line));
    const sp = line.indexOf(' ');
    const verb = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const rest = sp < 0 ? '' : line.slice(sp + 1);
    if (verb === 'QUIT') return this.#emit(R.bye());
    if (verb === 'NOOP') return this.#emit(R.ok());
    if (state.phase === 'login') return this.#login(state, verb, rest);
    if (verb === 'USER' || verb === 'PASS' || verb === 'APOP' || verb === 'AUTH') return this.#emit(R.alreadyLoggedIn());
    if (verb === 'INLINE') {
      if (rest.trim() === '') { state.inline = true; return this.#emit(R.ok()); }
      return this.#command(state, rest, true);
    }
    return this.#command(state, line, state.inline);
  }

  async onLiteral(): Promise<Effect[]> {
    return []; // never requested: PWD has no literals
  }

  async onLineTooLong(): Promise<Effect[]> {
    if (this.#state.phase === 'sasl') this.#state = { phase: 'login', user: null };
    return this.#emit(R.lineTooLong());
  }

  async onTlsStarted(): Promise<Effect[]> {
    // RFC 2595 §4: forget everything learned before TLS.
    this.#state = { phase: 'login', user: null };
    return [];
  }

  onIdleTimeout(): Effect[] {
    this.#state = { phase: 'closed' };
    return [{ type: 'write', data: R.idle().text }, { type: 'close', reason: 'idle time-out' }];
  }

  onClose(): void {
    this.#state = { phase: 'closed' };
  }

  // ---- login ------------------------------------------------------------------------------------

  #facts(): ConnectionFacts {
    return { mode: 'PWD', client: this.info.remoteAddress, local: this.info.localAddress, secure: this.info.secure };
  }

  #clearTextAllowed(): boolean {
    return mayAdvertiseClearText({ clearTextAllowed: this.info.clearTextLogin, linkSecure: this.info.secure });
  }

  async #login(state: Extract<State, { phase: 'login' }>, verb: string, rest: string): Promise<Effect[]> {
    switch (verb) {
      case 'STLS':
      case 'STARTTLS': {
        if (!this.info.startTlsAvailable || this.info.secure || rest.trim() !== '') return this.#emit(R.tlsUnavailable());
        return [...this.#emit(R.beginTls()), { type: 'starttls' }];
      }
      case 'USER': {
        if (!this.#clearTextAllowed()) return this.#emit(R.clearTextRefused());
        const user = rest.trim();
        if (user === '' || user.length > PWD_MAX_USER_LENGTH || /[\s\0-\x1f\x7f]/.test(user)) return this.#emit(R.syntax('USER name'));
        state.user = user;
        return this.#emit(R.sendPass());
      }
      case 'PASS': {
        if (state.user === null) return this.#emit(R.userFirst());
        const user = state.user;
        state.user = null;
        if (!this.#clearTextAllowed()) return this.#emit(R.clearTextRefused());
        const password = Buffer.from(rest, 'utf8');
        if (password.length > PWD_MAX_PASSWORD_BYTES) return this.#loggedIn({ status: 'bad-credentials' });
        const outcome = await this.deps.engine.authenticate({
          ...this.#facts(), login: user, method: 'USER-PASS', clearText: true, credential: { type: 'password', password },
        });
        password.fill(0);
        return this.#loggedIn(outcome);
      }
      case 'APOP': {
        if (this.#timestamp === undefined) return this.#emit(R.apopUnavailable());
        const ctx = await this.#saslContext([]);
        const step = await apop.start(ctx).step(Buffer.from(rest, 'utf8'));
        if (step.type === 'success') return this.#loggedIn(step.outcome);
        if (step.type === 'failure') {
          if (step.failure.status === 'malformed') return this.#emit(R.syntax('APOP name digest'));
          return this.#loggedIn(step.failure);
        }
        return this.#emit(R.syntax('APOP name digest')); // APOP never challenges
      }
      case 'AUTH': {
        const m = /^(\S+)(?: (\S+))?$/.exec(rest.trim());
        const offered = await this.#offered();
        if (!m) return this.#emit(R.syntax(`AUTH mechanism [initial-response]; offered here: ${offered.join(' ') || 'none'}`));
        const sasl = new SaslSession(await this.#saslContext(offered), { offered, successData: 'as-challenge' });
        this.#state = { phase: 'sasl', sasl };
        return this.#saslReply(await sasl.start(m[1] as string, m[2]));
      }
      default:
        return this.#emit(R.loginFirst());
    }
  }

  async #offered(): Promise<string[]> {
    const s = await this.deps.serverSettings();
    return advertisedMechanisms({
      advertiseSecure: s.AdvertiseSecureSASL,
      advertiseMSN: s.AdvertiseMSN,
      advertiseNTLM: s.AdvertiseNTLM,
      clearTextAllowed: this.info.clearTextLogin,
      linkSecure: this.info.secure,
      channelBindingAvailable: Object.keys(this.info.tls?.channelBindings ?? {}).length > 0,
    });
  }

  async #saslContext(offered: string[]): Promise<SaslContext> {
    const s = await this.deps.serverSettings();
    const ctx: SaslContext = {
      serverName: this.#host,
      service: 'pwd',
      secure: this.info.secure,
      channelBindings: this.info.tls?.channelBindings ?? {},
      plusAdvertised: offered.some((m) => m.endsWith('-PLUS')),
      options: { allowNtlmV1: s.AllowNTLMv1 },
      port: this.deps.engine.bind(this.#facts()),
    };
    if (this.#timestamp !== undefined) ctx.apopTimestamp = this.#timestamp;
    return ctx;
  }

  async #saslReply(r: SaslReply): Promise<Effect[]> {
    switch (r.reply) {
      case 'challenge':
        return this.#emit(R.challenge(r.base64));
      case 'unsupported':
        this.#state = { phase: 'login', user: null };
        return this.#emit(R.unsupportedMechanism());
      case 'success':
        return this.#loggedIn(r.outcome);
      case 'failure':
        return this.#loggedIn(r.failure);
    }
  }

  async #loggedIn(o: Ok | SaslFailure): Promise<Effect[]> {
    if (o.status === 'ok') {
      const ok = o;
      // An authorization identity the engine allowed (A1) is who the session acts as.
      const domain = ok.authzDomain ?? ok.domain;
      const account = ok.authzAccount ?? ok.account;
      this.#state = { phase: 'ready', domain, account, inline: false };
      log.info('pwd.login', { session: this.info.id, remote: this.info.remoteAddress, account: `${account}@${domain}` });
      return this.#emit(R.loggedIn());
    }
    this.#state = { phase: 'login', user: null };
    const reply = authFailureReply(o);
    if (reply.loginFailed && ++this.#loginFailures >= PWD_MAX_LOGIN_FAILURES) {
      return this.#emit({ ...reply, text: reply.text + R.tooManyLoginFailures().text, close: true });
    }
    return this.#emit(reply);
  }

  // ---- CLI ----------------------------------------------------------------------------------------

  async #command(state: Extract<State, { phase: 'ready' }>, line: string, inline: boolean): Promise<Effect[]> {
    const rights = await this.deps.admin.directory.effectiveRights(state.domain, state.account);
    const r = await executeCliLine(line, { admin: this.deps.admin, actor: { kind: 'account', domain: state.domain, account: state.account, rights } });
    if (!r.ok) return this.#emit(R.failed(r.code, r.message, r.bad));
    if (r.data === undefined) return this.#emit(R.ok());
    const text = serialize(r.data);
    return this.#emit(inline ? R.inline(text) : R.data(text));
  }

  // ---- output ------------------------------------------------------------------------------------

  #emit(reply: Reply): Effect[] {
    const effects: Effect[] = [{ type: 'write', data: reply.text }];
    if (reply.close) {
      this.#state = { phase: 'closed' };
      effects.push({ type: 'close', reason: 'session ended' });
      return effects;
    }
    if (reply.bad && this.#bad.record() === 'disconnect') {
      this.#state = { phase: 'closed' };
      effects.push({ type: 'write', data: R.tooManyErrors().text }, { type: 'close', reason: 'too many bad commands' });
    }
    return effects;
  }
}
