/**
 * The web login (A5 "the web login form") for both WebAdmin and WebUser: one call to the
 * authentication engine with mode HTTP, so client addresses (N2), lock-out (H2), Secure Method
 * Required (A7), own/OS/external passwords (P1, P2) and Hide Unknown (H1) apply exactly as for
 * every other protocol. The reply texts are fixed here, one per outcome, and say nothing the
 * engine chose to hide.
 */
import { isLoopback } from '../../access/addresses.js';
import type { AuthEngine } from '../../auth/engine.js';
import { LOGIN_MAX_LENGTH } from '../../directory/names.js';
import type { AuthOutcome } from '../../sasl/mechanism.js';
import type { ConnInfo } from './listeners.js';
import type { LoginHistory } from './login-history.js';

/** Longest password accepted from a form: far above any real password, and it bounds the work of
 *  hashing what a hostile client sends. */
export const WEB_PASSWORD_MAX_LENGTH = 1024;

export type WebLoginResult =
  | { ok: true; outcome: Extract<AuthOutcome, { status: 'ok' }> }
  | { ok: false; status: number; message: string; closeConnection: boolean };

export const LOGIN_MESSAGES: Record<Exclude<AuthOutcome['status'], 'ok'> | 'clear-text' | 'malformed', string> = {
  'bad-credentials': 'Incorrect name or password.',
  unknown: 'Incorrect name or password.',
  locked: 'This account is suspended for a while after too many failed logins. Try again later, or ask your administrator.',
  disabled: 'This account may not use the web interface.',
  'secure-method-required': 'This account requires a secure connection: use the HTTPS address.',
  'not-client-address': 'Logins are not accepted from your network address.',
  'temporary-failure': 'Logging in is temporarily unavailable. Try again in a moment.',
  'clear-text': 'Passwords are not accepted over this unencrypted connection: use the HTTPS address.',
  malformed: 'Enter your account name and password.',
};

/** How a failed attempt reads in the account's login history (shown to its owner). */
const HISTORY_DETAIL: Record<Exclude<AuthOutcome['status'], 'ok'>, string> = {
  'bad-credentials': 'wrong password', unknown: 'wrong password', locked: 'account suspended', disabled: 'web access disabled',
  'secure-method-required': 'needed a secure connection', 'not-client-address': 'address not allowed', 'temporary-failure': 'server busy',
};

export async function webLogin(o: {
  engine: AuthEngine; conn: ConnInfo; login: string; password: string; history: LoginHistory; via: string;
  /** Called only for names that resolve to an account, to record the attempt in its history. */
  resolve: (login: string) => Promise<{ domain: string; account: string } | null>;
}): Promise<WebLoginResult> {
  const login = o.login.trim();
  if (login === '' || o.password === '' || login.length > LOGIN_MAX_LENGTH || o.password.length > WEB_PASSWORD_MAX_LENGTH) {
    return { ok: false, status: 400, message: LOGIN_MESSAGES.malformed, closeConnection: false };
  }
  // A8 for the web: a listener that allows clear-text passwords only over TLS refuses a password
  // typed into a clear page, except from the server itself (the loopback admin listener).
  if (!o.conn.secure && o.conn.clearTextLogin === 'tls-only' && !isLoopback(o.conn.client)) {
    return { ok: false, status: 403, message: LOGIN_MESSAGES['clear-text'], closeConnection: false };
  }
  const outcome = await o.engine.authenticate({
    login, method: 'HTTP-FORM', mode: 'HTTP', client: o.conn.client, local: o.conn.local, secure: o.conn.secure,
    clearText: true, credential: { type: 'password', password: Buffer.from(o.password, 'utf8') },
  });
  const who = outcome.status === 'ok' ? { domain: outcome.domain, account: outcome.account } : await o.resolve(login).catch(() => null);
  if (who) {
    o.history.record(who.domain, who.account, {
      at: Date.now(), client: o.conn.client, via: o.via, ok: outcome.status === 'ok',
      detail: outcome.status === 'ok' ? `${outcome.source} password` : HISTORY_DETAIL[outcome.status],
    });
  }
  if (outcome.status === 'ok') return { ok: true, outcome };
  const status = outcome.status === 'temporary-failure' ? 503 : outcome.status === 'not-client-address' ? 403 : 401;
  // N2: "others get an error and the connection is closed".
  return { ok: false, status, message: LOGIN_MESSAGES[outcome.status], closeConnection: outcome.status === 'not-client-address' };
}
