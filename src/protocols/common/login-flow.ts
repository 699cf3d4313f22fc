/**
 * What happens once the engine says yes, shared by every login command of IMAP and POP3: log in
 * to the backend (B1) and either hand the connection over or report why not (B2), never a fake
 * session.
 */
import type { Logger } from '../../core/log.js';
import type { BackendResult, BackendService } from '../../backends/connector.js';
import type { AuthOutcome, CredentialPort } from '../../sasl/mechanism.js';
import type { ProtocolDeps } from './deps.js';
import type { ConnectionInfo } from './session.js';

export type OkOutcome = Extract<AuthOutcome, { status: 'ok' }>;

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

export type BackendStep =
  | { status: 'ok'; result: Extract<BackendResult, { status: 'ok' }> }
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
  password: Buffer | undefined;
  log: Logger;
  timeoutMs: number;
  /** True once the client connection is gone. */
  isClosed(): boolean;
}

/** Account label for the relay and logs: the identity the session acts as. */
export function accountLabel(ok: OkOutcome): string {
  return `${ok.authzAccount ?? ok.account}@${ok.authzDomain ?? ok.domain}`;
}

export async function backendLogin(input: BackendStepInput): Promise<BackendStep> {
  const { deps, info, ok, log } = input;
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const connect = deps.backends.connect({ service: input.service, login: ok, ...(input.password ? { password: input.password } : {}), client: info });
  const guard = new Promise<BackendResult>((resolve) => {
    timer = setTimeout(() => { timedOut = true; resolve({ status: 'unavailable', reason: 'backend login timed out' }); }, input.timeoutMs);
  });
  let result: BackendResult;
  try {
    result = await Promise.race([connect, guard]);
  } catch (e) {
    log.failure('backend.error', { error: e, account: accountLabel(ok) });
    result = { status: 'unavailable', reason: 'connector error' };
  } finally {
    clearTimeout(timer);
  }
  if (timedOut) {
    // A late success must not leak a logged-in backend socket.
    connect.then((late) => { if (late.status === 'ok') late.socket.destroy(); }, () => undefined);
  }
  if (input.isClosed()) {
    if (result.status === 'ok') result.socket.destroy();
    return { status: 'gone' };
  }
  switch (result.status) {
    case 'ok':
      log.info('login.relayed', { account: accountLabel(ok) });
      return { status: 'ok', result };
    case 'no-backend':
      log.problem('login.no-backend', { account: accountLabel(ok) });
      return { status: 'no-backend' };
    case 'unavailable':
      log.problem('login.backend-unavailable', { account: accountLabel(ok), reason: result.reason });
      return { status: 'backend-unavailable', reason: result.reason };
    case 'refused':
      log.problem('login.backend-refused', { account: accountLabel(ok), reason: result.reason });
      return { status: 'backend-refused', reason: result.reason };
  }
}
