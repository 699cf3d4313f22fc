/**
 * The IMAP front-end before login (RFC 9051 / RFC 3501): greeting, command assembly (literals,
 * LITERAL- limits), dispatch to one file per command, the SASL exchange, STARTTLS, the
 * bad-command limit and the idle time-out reply. After a successful login the backend relay
 * takes the connection over (B1); without one the client gets a temporary error (B2).
 *
 * The session does no I/O: the listener hands it lines and literals and carries out the effects
 * it returns, in order. Calls are serialised internally, so a listener that delivers the next
 * line before the previous answer is written still sees commands handled one at a time.
 */
import { bannerToken } from '../../backends/loop.js';
import { logger, type Logger } from '../../core/log.js';
import type { SaslContext } from '../../sasl/mechanism.js';
import { safeHostname } from '../common/advertise.js';
import { BadCommandCounter } from '../common/bad-commands.js';
import type { ProtocolDeps } from '../common/deps.js';
import { backendLogin, loginSaslContext, type OkOutcome, type PasswordCapture } from '../common/login-flow.js';
import { capitalise, isHttpRequestLine, SerialEvents } from '../common/pre-login.js';
import type { ConnectionInfo, Effect, ProtocolSession } from '../common/session.js';
import { continueAuthenticate } from './commands/authenticate.js';
import { IMAP_COMMANDS } from './commands/index.js';
import type { ImapContext, RunResult } from './commands/types.js';
import { imapPolicy, type ImapPolicy } from './policy.js';
import { line, loginReply } from './replies.js';
import type { ImapState } from './state.js';
import { feedLine, feedLiteral, type AssembleResult } from './syntax.js';

/** Lists filtered, by the identity of a frozen input: the connector hands out one frozen list
 *  per backend capability text, so most logins filter nothing. */
const safeCapsOf = new WeakMap<readonly string[], string[]>();

/** Backend capabilities go inside `[CAPABILITY ...]`: only atoms, and never `]`. */
function safeCapabilities(caps: readonly string[] | undefined): string[] {
  if (caps === undefined) return [];
  let out = safeCapsOf.get(caps);
  if (out === undefined) {
    out = caps.filter((c) => /^[\x21-\x5c\x5e-\x7e]{1,200}$/.test(c)).slice(0, 256);
    if (Object.isFrozen(caps)) safeCapsOf.set(caps, out);
  }
  return out;
}

export class ImapSession implements ProtocolSession, ImapContext {
  state: ImapState = { kind: 'not-authenticated' };
  readonly log: Logger;
  /** Kept across STARTTLS: a client must not clear its record by upgrading. */
  readonly #badCommands = new BadCommandCounter();
  #hostname = 'localhost';
  #closed = false;
  readonly #events = new SerialEvents(() => this.#ended());

  constructor(readonly info: ConnectionInfo, readonly deps: ProtocolDeps) {
    this.log = logger('IMAP', { session: info.id, remote: info.remoteAddress });
  }

  // ---- ProtocolSession -------------------------------------------------------------------------

  start(): Promise<Effect[]> {
    return this.#serial(async () => {
      this.#hostname = safeHostname(await this.deps.hostname());
      const policy = await this.policy();
      // The banner token lets a backend connector recognise a greeting of ours: a relay loop (B1).
      return [line(`* OK [CAPABILITY ${policy.capabilities.join(' ')}] ${this.#hostname} Mailward ready ${bannerToken()}`)];
    }, () => [line('* BYE [UNAVAILABLE] Server temporarily unavailable'), { type: 'close', reason: 'greeting failed' }]);
  }

  onLine(data: Buffer): Promise<Effect[]> {
    return this.#serial(async () => {
      const effects = await this.#line(data);
      if (effects.at(-1)?.type === 'close') this.state = { kind: 'closed' };
      return effects;
    });
  }

  onLiteral(data: Buffer): Promise<Effect[]> {
    return this.#serial(async () => {
      const s = this.state;
      if (s.kind !== 'command-continuation' || s.awaiting !== 'literal') return this.#fatal('literal not expected');
      const next = feedLiteral(s.pending, data);
      if ('kind' in next) return this.#fatal(next.reason);
      this.state = { kind: 'command-continuation', pending: next, awaiting: 'line' };
      return [];
    });
  }

  onLineTooLong(): Promise<Effect[]> {
    // The rest of the line is unknown: reading it as a new command could run text the client
    // meant as data. Nothing before login needs a line this long, so hang up.
    return this.#serial(async () => {
      this.state = { kind: 'closed' };
      return [line('* BYE Command line too long'), { type: 'close', reason: 'line too long' }];
    });
  }

  onTlsStarted(): Promise<Effect[]> {
    return this.#serial(async () => {
      if (this.state.kind !== 'tls-negotiation') return this.#fatal('TLS started outside STARTTLS');
      // RFC 9051 §6.2.1: forget everything learned before TLS; the client asks CAPABILITY again.
      this.state = { kind: 'not-authenticated' };
      this.log.low('tls.started', { protocol: this.info.tls?.protocol });
      return [];
    });
  }

  onIdleTimeout(): Effect[] {
    if (this.#ended()) return [];
    this.state = { kind: 'closed' };
    return [line('* BYE Autologout; idle for too long'), { type: 'close', reason: 'idle time-out' }];
  }

  onClose(): void {
    this.#closed = true;
    if (this.state.kind === 'authenticating') this.state.capture.clear();
    this.state = { kind: 'closed' };
  }

  // ---- ImapContext -----------------------------------------------------------------------------

  async policy(): Promise<ImapPolicy> {
    return imapPolicy(this.info, await this.deps.serverSettings());
  }

  saslContext(policy: ImapPolicy, capture: PasswordCapture): SaslContext {
    return loginSaslContext({
      deps: this.deps, info: this.info, mode: 'IMAP', service: 'imap', hostname: this.#hostname,
      offer: policy, capture,
    });
  }

  async loggedIn(tag: string, ok: OkOutcome, capture: PasswordCapture): Promise<Effect[]> {
    const step = await backendLogin({ service: 'IMAP', deps: this.deps, info: this.info, ok, capture, log: this.log, isClosed: () => this.#closed });
    switch (step.status) {
      case 'gone':
        return [];
      case 'ok':
        this.state = { kind: 'relayed', account: step.account };
        return [...loginReply(tag, { status: 'logged-in', capabilities: safeCapabilities(step.capabilities) }), step.relay];
      default:
        // Never a fake session: the client stays logged out and may try again.
        this.state = { kind: 'not-authenticated' };
        return loginReply(tag, step);
    }
  }

  // ---- internals -------------------------------------------------------------------------------

  async #line(data: Buffer): Promise<Effect[]> {
    const s = this.state;
    switch (s.kind) {
      case 'not-authenticated':
        if (isHttpRequestLine(data)) {
          this.state = { kind: 'closed' };
          this.log.problem('http-request');
          return [line('* BYE This is an IMAP server'), { type: 'close', reason: 'HTTP request on the IMAP port' }];
        }
        return this.#assembled(feedLine(null, data));
      case 'command-continuation':
        if (s.awaiting !== 'line') return this.#fatal('line while a literal was expected');
        return this.#assembled(feedLine(s.pending, data));
      case 'authenticating':
        return continueAuthenticate(this, s, data);
      case 'tls-negotiation':
        // T1: the listener discards pipelined input; a line here means it did not.
        return this.#fatal('input during TLS negotiation');
      case 'relayed':
      case 'closed':
        return []; // #serial already answers these; kept so the switch stays exhaustive
    }
  }

  async #assembled(r: AssembleResult): Promise<Effect[]> {
    switch (r.kind) {
      case 'literal': {
        this.state = { kind: 'command-continuation', pending: r.pending, awaiting: 'literal' };
        const read: Effect = { type: 'read', mode: { kind: 'literal', size: r.pending.expect.size } };
        return r.pending.expect.sync ? [line('+ Ready for literal data'), read] : [read];
      }
      case 'bad': {
        this.state = { kind: 'not-authenticated' };
        const reply = line(`${r.tag ?? '*'} BAD ${r.code ? `[${r.code}] ` : ''}${capitalise(r.reason)}`);
        if (r.close) {
          // RFC 7888 §4: the octets of a refused non-synchronizing literal are on their way.
          this.state = { kind: 'closed' };
          return [reply, line('* BYE Literal refused'), { type: 'close', reason: r.reason }];
        }
        return this.#counted([reply], r.reason);
      }
      case 'command': {
        this.state = { kind: 'not-authenticated' };
        const { tag, name, args } = r.command;
        const cmd = IMAP_COMMANDS.get(name);
        let result: RunResult;
        if (!cmd) result = { bad: 'Unknown command or not allowed before login' };
        else if (!cmd.states.includes(this.state.kind)) result = { bad: `${name} not allowed now` };
        else result = await cmd.handle(this, tag, args);
        if (!Array.isArray(result)) return this.#counted([line(`${tag} BAD ${capitalise(result.bad)}`)], result.bad);
        return result;
      }
    }
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
    return [...effects, line('* BYE Too many invalid commands'), { type: 'close', reason: 'too many invalid commands' }];
  }

  /** A broken contract (listener bug) or an unexpected exception: end the connection cleanly. */
  #fatal(reason: string): Effect[] {
    this.log.failure('session.error', { reason });
    if (this.state.kind === 'authenticating') this.state.capture.clear();
    this.state = { kind: 'closed' };
    return [line('* BYE Internal error'), { type: 'close', reason }];
  }

  /** Runs one event after the previous one finished. Once the session has closed or handed the
   *  connection to the relay, events are answered with nothing. */
  #serial(fn: () => Promise<Effect[]>, onError?: () => Effect[]): Promise<Effect[]> {
    return this.#events.run(fn, (e: unknown) => {
      this.log.failure('session.exception', { error: e, state: this.state.kind });
      if (onError) { this.state = { kind: 'closed' }; return onError(); }
      return this.#fatal('exception');
    });
  }
}
