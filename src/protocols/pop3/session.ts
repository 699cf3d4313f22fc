/**
 * The POP3 front-end before login (RFC 1939, 2449, 2595, 5034): greeting (with the APOP
 * timestamp only when APOP can be used, A4), dispatch to one file per command, the SASL exchange,
 * STLS, the bad-command limit and the idle time-out reply. After a successful login the backend
 * relay takes the connection over (B1); without one the client gets a temporary error (B2).
 *
 * The session does no I/O and serialises its events, as the IMAP one does.
 */
import { bannerToken } from '../../backends/loop.js';
import { randomBytes } from 'node:crypto';
import { logger, type Logger } from '../../core/log.js';
import { mayOfferApop } from '../../sasl/advertise.js';
import type { SaslContext } from '../../sasl/mechanism.js';
import { advertiseInput, safeHostname } from '../common/advertise.js';
import { BadCommandCounter } from '../common/bad-commands.js';
import type { ProtocolDeps } from '../common/deps.js';
import { backendLogin, loginSaslContext, type OkOutcome, type PasswordCapture } from '../common/login-flow.js';
import { capitalise, isHttpRequestLine, SerialEvents } from '../common/pre-login.js';
import type { ConnectionInfo, Effect, ProtocolSession } from '../common/session.js';
import { continueAuth } from './commands/auth.js';
import { POP3_COMMANDS } from './commands/index.js';
import type { Pop3Context, RunResult } from './commands/types.js';
import { pop3Policy, type Pop3Policy } from './policy.js';
import { line, pop3LoginReply } from './replies.js';
import type { Pop3State } from './state.js';
import { parsePop3Line } from './syntax.js';

/** RFC 1939 §7: a timestamp unique to this greeting, `<random.time@host>`. 8 random octets make
 *  it unpredictable, so a digest seen on one connection is worthless on another. */
export function apopTimestamp(host: string): string {
  return `<${randomBytes(8).toString('hex')}.${Date.now()}@${host}>`;
}

export class Pop3Session implements ProtocolSession, Pop3Context {
  state: Pop3State = { kind: 'authorization' };
  readonly log: Logger;
  hostname = 'localhost';
  /** The greeting's APOP timestamp; absent when the greeting offered none (A4). */
  #timestamp: string | undefined;
  /** Kept across STARTTLS: a client must not clear its record by upgrading. */
  readonly #badCommands = new BadCommandCounter();
  #closed = false;
  readonly #events = new SerialEvents(() => this.#ended());

  constructor(readonly info: ConnectionInfo, readonly deps: ProtocolDeps) {
    this.log = logger('POP', { session: info.id, remote: info.remoteAddress });
  }

  /** The greeting's timestamp, for tests and logs; undefined when APOP is not offered. */
  get timestamp(): string | undefined {
    return this.#timestamp;
  }

  // ---- ProtocolSession -------------------------------------------------------------------------

  start(): Promise<Effect[]> {
    return this.#serial(async () => {
      this.hostname = safeHostname(await this.deps.hostname());
      const settings = await this.deps.serverSettings();
      if (mayOfferApop(advertiseInput(this.info, settings))) this.#timestamp = apopTimestamp(this.hostname);
      // The banner token lets a backend connector recognise a greeting of ours: a relay loop (B1).
      return [line(`+OK ${this.hostname} Mailward ready ${bannerToken()}${this.#timestamp ? ` ${this.#timestamp}` : ''}`)];
    }, () => [line('-ERR [SYS/TEMP] Server temporarily unavailable'), { type: 'close', reason: 'greeting failed' }]);
  }

  onLine(data: Buffer): Promise<Effect[]> {
    return this.#serial(async () => {
      const effects = await this.#line(data);
      if (effects.at(-1)?.type === 'close') this.state = { kind: 'closed' };
      return effects;
    });
  }

  onLiteral(): Promise<Effect[]> {
    // POP3 has no literals: the listener never gets a read effect from this session.
    return this.#serial(async () => this.#fatal('literal in POP3'));
  }

  onLineTooLong(): Promise<Effect[]> {
    // The rest of the line is unknown: reading it as a new command could run text the client
    // meant as data. Nothing before login needs a line this long, so hang up.
    return this.#serial(async () => {
      this.state = { kind: 'closed' };
      return [line('-ERR Line too long'), { type: 'close', reason: 'line too long' }];
    });
  }

  onTlsStarted(): Promise<Effect[]> {
    return this.#serial(async () => {
      if (this.state.kind !== 'tls-negotiation') return this.#fatal('TLS started outside STLS');
      // RFC 2595 §4: forget what was learned before TLS (a USER name); the greeting is not sent
      // again and its APOP timestamp stays valid.
      this.state = { kind: 'authorization' };
      this.log.low('tls.started', { protocol: this.info.tls?.protocol });
      return [];
    });
  }

  onIdleTimeout(): Effect[] {
    if (this.#ended()) return [];
    this.state = { kind: 'closed' };
    return [line('-ERR Autologout; idle for too long'), { type: 'close', reason: 'idle time-out' }];
  }

  onClose(): void {
    this.#closed = true;
    if (this.state.kind === 'authenticating') this.state.capture.clear();
    this.state = { kind: 'closed' };
  }

  // ---- Pop3Context -----------------------------------------------------------------------------

  async policy(): Promise<Pop3Policy> {
    return pop3Policy(this.info, await this.deps.serverSettings(), this.#timestamp !== undefined);
  }

  saslContext(policy: Pop3Policy, capture: PasswordCapture): SaslContext {
    const ctx = loginSaslContext({
      deps: this.deps, info: this.info, mode: 'POP', service: 'pop', hostname: this.hostname,
      offer: policy, capture,
    });
    if (this.#timestamp) ctx.apopTimestamp = this.#timestamp;
    return ctx;
  }

  async loggedIn(ok: OkOutcome, capture: PasswordCapture): Promise<Effect[]> {
    const step = await backendLogin({ service: 'POP', deps: this.deps, info: this.info, ok, capture, log: this.log, isClosed: () => this.#closed });
    switch (step.status) {
      case 'gone':
        return [];
      case 'ok':
        this.state = { kind: 'relayed', account: step.account };
        return [...pop3LoginReply({ status: 'logged-in' }), step.relay];
      default:
        // Never a fake session: the client stays in AUTHORIZATION and may try again.
        this.state = { kind: 'authorization' };
        return pop3LoginReply(step);
    }
  }

  // ---- internals -------------------------------------------------------------------------------

  async #line(data: Buffer): Promise<Effect[]> {
    const s = this.state;
    switch (s.kind) {
      case 'authorization':
      case 'user-given':
        return this.#command(data);
      case 'authenticating':
        return continueAuth(this, s, data);
      case 'tls-negotiation':
        // T1: the listener discards pipelined input; a line here means it did not.
        return this.#fatal('input during TLS negotiation');
      case 'relayed':
      case 'closed':
        return []; // #serial already answers these; kept so the switch stays exhaustive
    }
  }

  async #command(data: Buffer): Promise<Effect[]> {
    if (isHttpRequestLine(data)) {
      this.state = { kind: 'closed' };
      this.log.problem('http-request');
      return [line('-ERR This is a POP3 server'), { type: 'close', reason: 'HTTP request on the POP3 port' }];
    }
    const parsed = parsePop3Line(data);
    let result: RunResult;
    if (!parsed.ok) result = { bad: parsed.reason };
    else {
      const cmd = POP3_COMMANDS.get(parsed.line.keyword);
      if (!cmd) result = { bad: 'Unknown command or not allowed before login' };
      else if (!cmd.states.includes(this.state.kind)) result = { bad: parsed.line.keyword === 'PASS' ? 'USER first' : `${cmd.name} not allowed now` };
      else result = await cmd.handle(this, parsed.line);
    }
    if (Array.isArray(result)) return result;
    return this.#counted([line(`-ERR ${capitalise(result.bad)}`)], result.bad);
  }

  #ended(): boolean {
    return this.state.kind === 'closed' || this.state.kind === 'relayed';
  }

  #counted(effects: Effect[], reason: string): Effect[] {
    const verdict = this.#badCommands.record();
    this.log.low('bad-command', { reason, count: this.#badCommands.count });
    if (verdict === 'continue') return effects;
    this.state = { kind: 'closed' };
    this.log.problem('too-many-bad-commands');
    return [line('-ERR Too many invalid commands'), { type: 'close', reason: 'too many invalid commands' }];
  }

  #fatal(reason: string): Effect[] {
    this.log.failure('session.error', { reason });
    if (this.state.kind === 'authenticating') this.state.capture.clear();
    this.state = { kind: 'closed' };
    return [line('-ERR Internal error'), { type: 'close', reason }];
  }

  #serial(fn: () => Promise<Effect[]>, onError?: () => Effect[]): Promise<Effect[]> {
    return this.#events.run(fn, (e: unknown) => {
      this.log.failure('session.exception', { error: e, state: this.state.kind });
      if (onError) { this.state = { kind: 'closed' }; return onError(); }
      return this.#fatal('exception');
    });
  }
}
