/**
 * The login steps every login command of IMAP and POP3 shares: the engine's view of the
 * connection, the SASL context, the regular password login (A5), and what happens once the
 * engine says yes: log in to the backend (B1) and either hand the connection over or report why
 * not (B2), never a fake session.
 */
import type { AuthMode, ConnectionFacts } from '../../auth/engine.js';
import type { Logger } from '../../core/log.js';
import type { BackendRequest, BackendResult, BackendService } from '../../backends/connector.js';
import type { AuthOutcome, CredentialPort, SaslContext } from '../../sasl/mechanism.js';
import type { PreLoginOffer } from './advertise.js';
import type { ProtocolDeps } from './deps.js';
import type { ConnectionInfo, Effect } from './session.js';

export type OkOutcome = Extract<AuthOutcome, { status: 'ok' }>;

/** Safety net around the backend login: the connector has its own time-outs, but a bug there must
 *  not hold a client (and its socket) forever. Longer than any connector time-out. */
export const BACKEND_LOGIN_TIMEOUT_MS = 60_000;

/** RFC 4422 §3.1: a SASL mechanism name is 1 to 20 characters. */
export const SASL_MECHANISM_NAME_MAX = 20;

/** RFC 4422 §3.1 mechanism names: upper-case letters, digits, `-` and `_` (lower case is taken
 *  too: the registry compares names without regard to case). */
export const SASL_MECHANISM_NAME = new RegExp(`^[A-Za-z0-9_-]{1,${SASL_MECHANISM_NAME_MAX}}$`);

/** The engine's view of this connection: the client address after any PROXY header (N4), the
 *  local address the client reached (bare names, T8) and whether the link is TLS (A7, A8). */
export function connectionFacts(info: ConnectionInfo, mode: AuthMode): ConnectionFacts {
  return { mode, client: info.remoteAddress, local: info.localAddress, secure: info.secure };
}

/**
 * Keeps the clear password a clear-text mechanism (PLAIN, LOGIN) handed to the engine, so the
 * backend can be logged in with the user's own credentials (pass-through). Secure mechanisms
 * never produce one; the backend then needs its master login.
 */
export class PasswordCapture {
  #password: Buffer | undefined;

  wrap(port: CredentialPort): CredentialPort {
    return {
      authenticate: (req) => {
        if (req.credential.type === 'password') this.set(req.credential.password);
        return port.authenticate(req);
      },
      scramParameters: (login, alg) => port.scramParameters(login, alg),
    };
  }

  set(password: Buffer): void {
    this.clear();
    this.#password = Buffer.from(password); // our own copy, so clearing it never touches another's buffer
  }

  get password(): Buffer | undefined {
    return this.#password;
  }

  /** Overwrites the copy: a password should live no longer than the login that needs it. */
  clear(): void {
    this.#password?.fill(0);
    this.#password = undefined;
  }
}

/**
 * The SASL context of a pre-login session: the engine bound to this connection, wrapped so that a
 * clear-text mechanism's password lands in `capture` for the backend login. Channel bindings only
 * on a TLS link; `plusAdvertised` tells SCRAM whether a -PLUS variant was offered (downgrade check).
 */
export function loginSaslContext(input: {
  deps: ProtocolDeps;
  info: ConnectionInfo;
  mode: AuthMode;
  /** digest-uri service name (RFC 2831): imap, pop. */
  service: string;
  hostname: string;
  /** What this connection offers now (the protocol's policy). */
  offer: PreLoginOffer;
  capture: PasswordCapture;
}): SaslContext {
  const { info, offer } = input;
  return {
    serverName: input.hostname,
    service: input.service,
    secure: info.secure,
    channelBindings: info.secure ? info.tls?.channelBindings ?? {} : {},
    plusAdvertised: offer.mechanisms.some((m) => m.endsWith('-PLUS')),
    options: { allowNtlmV1: offer.settings.AllowNTLMv1 },
    port: input.capture.wrap(input.deps.engine.bind(connectionFacts(info, input.mode))),
  };
}

/**
 * A regular login (A5: IMAP LOGIN, POP3 USER/PASS): the password goes to the engine as crossed in
 * clear. On success `capture` holds a copy for the backend's pass-through login; on failure it is
 * already cleared.
 */
export async function passwordLogin(
  deps: ProtocolDeps, info: ConnectionInfo, req: { mode: AuthMode; login: string; method: string; password: Buffer },
): Promise<{ outcome: AuthOutcome; capture: PasswordCapture }> {
  const capture = new PasswordCapture();
  capture.set(req.password);
  const outcome = await deps.engine.authenticate({
    ...connectionFacts(info, req.mode), login: req.login, method: req.method, clearText: true,
    credential: { type: 'password', password: capture.password! },
  });
  if (outcome.status !== 'ok') capture.clear();
  return { outcome, capture };
}

export type BackendStep =
  /** Logged in to the backend: `relay` (the last effect to return) hands the connection over. */
  | { status: 'ok'; account: string; relay: Extract<Effect, { type: 'relay' }>; capabilities?: readonly string[] }
  | { status: 'no-backend' }
  /** `reason`: the connector's words, for logs and for POP3's [IN-USE] (never shown as is). */
  | { status: 'backend-unavailable'; reason: string }
  | { status: 'backend-refused'; reason: string }
  /** The client went away while we waited: nothing is to be sent. */
  | { status: 'gone' };

export interface BackendStepInput {
  service: BackendService;
  deps: ProtocolDeps;
  info: ConnectionInfo;
  ok: OkOutcome;
  /** The login's password, if a clear-text one was given; cleared once the backend has answered. */
  capture: PasswordCapture;
  log: Logger;
  /** True once the client connection is gone. */
  isClosed(): boolean;
}

/** Account label for the relay and logs: the identity the session acts as. */
export function accountLabel(ok: OkOutcome): string {
  return `${ok.authzAccount ?? ok.account}@${ok.authzDomain ?? ok.domain}`;
}

export async function backendLogin(input: BackendStepInput): Promise<BackendStep> {
  try {
    return await backendStep(input);
  } finally {
    input.capture.clear();
  }
}

async function backendStep(input: BackendStepInput): Promise<BackendStep> {
  const { deps, info, ok, log } = input;
  const password = input.capture.password;
  const req: BackendRequest = { service: input.service, login: ok, client: info };
  if (password) req.password = password;
  let timedOut = false;
  let connect: Promise<BackendResult>;
  try {
    connect = deps.backends.connect(req);
  } catch (e) {
    connect = Promise.reject(e);
  }
  // One promise settled by whichever comes first, the connector or the safety timer.
  const result = await new Promise<BackendResult>((resolve) => {
    const timer = setTimeout(() => { timedOut = true; resolve({ status: 'unavailable', reason: 'backend login timed out' }); }, BACKEND_LOGIN_TIMEOUT_MS);
    connect.then((r) => { clearTimeout(timer); resolve(r); }, (e: unknown) => {
      clearTimeout(timer);
      log.failure('backend.error', { error: e, account: accountLabel(ok) });
      resolve({ status: 'unavailable', reason: 'connector error' });
    });
  });
  if (timedOut) {
    // A late success must not leak a logged-in backend socket.
    connect.then((late) => { if (late.status === 'ok') late.socket.destroy(); }, () => undefined);
  }
  if (input.isClosed()) {
    if (result.status === 'ok') result.socket.destroy();
    return { status: 'gone' };
  }
  const account = accountLabel(ok);
  switch (result.status) {
    case 'ok': {
      log.info('login.relayed', { account });
      const relay: Extract<Effect, { type: 'relay' }> = { type: 'relay', backend: result.socket, account };
      // What the backend sent beyond its login reply belongs to the client.
      if (result.pending && result.pending.length > 0) relay.preface = result.pending;
      return result.capabilities ? { status: 'ok', account, relay, capabilities: result.capabilities } : { status: 'ok', account, relay };
    }
    case 'no-backend':
      log.problem('login.no-backend', { account });
      return { status: 'no-backend' };
    case 'unavailable':
      log.problem('login.backend-unavailable', { account, reason: result.reason });
      return { status: 'backend-unavailable', reason: result.reason };
    case 'refused':
      log.problem('login.backend-refused', { account, reason: result.reason });
      return { status: 'backend-refused', reason: result.reason };
  }
}
