/**
 * The shape of one IMAP command: its name, the states it is allowed in, a parse step from tokens
 * to typed arguments, and a run step that returns effects. A command never sees the socket; it
 * reaches the session only through `ImapContext`.
 */
import type { Logger } from '../../../core/log.js';
import type { SaslContext } from '../../../sasl/mechanism.js';
import type { ProtocolDeps } from '../../common/deps.js';
import type { ConnectionInfo, Effect } from '../../common/session.js';
import type { OkOutcome, PasswordCapture } from '../../common/login-flow.js';
import type { ImapPolicy } from '../policy.js';
import type { ImapState, ImapStateKind } from '../state.js';
import type { Token } from '../syntax.js';

export interface ImapContext {
  readonly info: ConnectionInfo;
  readonly deps: ProtocolDeps;
  readonly log: Logger;
  state: ImapState;
  /** The policy as of now (settings are read on each use). */
  policy(): Promise<ImapPolicy>;
  /** A SASL context whose credential port records a clear-text password in `capture`. */
  saslContext(policy: ImapPolicy, capture: PasswordCapture): SaslContext;
  /** The engine accepted the login: log in to the backend and answer. */
  loggedIn(tag: string, ok: OkOutcome, capture: PasswordCapture): Promise<Effect[]>;
}

export type Parsed<A> = { ok: true; args: A } | { ok: false; reason: string };

/** A command's answer: effects, or a syntax/state error that the session turns into a tagged
 *  BAD and counts against the bad-command limit. */
export type RunResult = Effect[] | { bad: string };

export interface ImapCommand<A> {
  readonly name: string;
  readonly states: readonly ImapStateKind[];
  parse(args: readonly Token[]): Parsed<A>;
  run(ctx: ImapContext, tag: string, args: A): Promise<RunResult>;
}

/** A command with its argument type hidden, so commands of different shapes share one table. */
export interface RegisteredCommand {
  readonly name: string;
  readonly states: readonly ImapStateKind[];
  handle(ctx: ImapContext, tag: string, args: readonly Token[]): Promise<RunResult>;
}

export function register<A>(c: ImapCommand<A>): RegisteredCommand {
  return {
    name: c.name,
    states: c.states,
    async handle(ctx, tag, tokens) {
      const parsed = c.parse(tokens);
      if (!parsed.ok) return { bad: parsed.reason };
      return c.run(ctx, tag, parsed.args);
    },
  };
}

export const noArgs = (args: readonly Token[]): Parsed<null> =>
  args.length === 0 ? { ok: true, args: null } : { ok: false, reason: 'no arguments expected' };
