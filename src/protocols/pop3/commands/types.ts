/**
 * The shape of one POP3 command: its keyword, the states it is allowed in, a parse step from the
 * split line to typed arguments, and a run step that returns effects.
 */
import type { Logger } from '../../../core/log.js';
import type { SaslContext } from '../../../sasl/mechanism.js';
import type { ProtocolDeps } from '../../common/deps.js';
import type { ConnectionInfo, Effect } from '../../common/session.js';
import type { OkOutcome, PasswordCapture } from '../../common/login-flow.js';
import type { Pop3Policy } from '../policy.js';
import type { Pop3State, Pop3StateKind } from '../state.js';
import type { Pop3Line } from '../syntax.js';

export interface Pop3Context {
  readonly info: ConnectionInfo;
  readonly deps: ProtocolDeps;
  readonly log: Logger;
  /** Host name as shown in the greeting. */
  readonly hostname: string;
  state: Pop3State;
  policy(): Promise<Pop3Policy>;
  /** A SASL context (with the greeting's APOP timestamp) whose port records a clear password. */
  saslContext(policy: Pop3Policy, capture: PasswordCapture): SaslContext;
  /** The engine accepted the login: log in to the backend and answer. */
  loggedIn(ok: OkOutcome, capture: PasswordCapture): Promise<Effect[]>;
}

export type Parsed<A> = { ok: true; args: A } | { ok: false; reason: string };

/** Effects, or a syntax/state error the session answers with -ERR and counts. */
export type RunResult = Effect[] | { bad: string };

export interface Pop3Command<A> {
  readonly name: string;
  readonly states: readonly Pop3StateKind[];
  parse(line: Pop3Line): Parsed<A>;
  run(ctx: Pop3Context, args: A): Promise<RunResult>;
}

export interface RegisteredCommand {
  readonly name: string;
  readonly states: readonly Pop3StateKind[];
  handle(ctx: Pop3Context, line: Pop3Line): Promise<RunResult>;
}

export function register<A>(c: Pop3Command<A>): RegisteredCommand {
  return {
    name: c.name,
    states: c.states,
    async handle(ctx, l) {
      const parsed = c.parse(l);
      if (!parsed.ok) return { bad: parsed.reason };
      return c.run(ctx, parsed.args);
    },
  };
}

export const noArgs = (l: Pop3Line): Parsed<null> => (l.args.length === 0 ? { ok: true, args: null } : { ok: false, reason: 'no arguments expected' });

/** Before login, every command but PASS is allowed whether or not USER was given. */
export const AUTHORIZATION: readonly Pop3StateKind[] = ['authorization', 'user-given'];
