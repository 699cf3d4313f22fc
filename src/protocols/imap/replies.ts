/**
 * The one place where IMAP turns outcomes into wire replies (RFC 9051 §7.1, response codes from
 * RFC 5530). Every login path (AUTHENTICATE, LOGIN) and the backend step report a `LoginResult`
 * and this function decides the words, the code and whether the connection ends.
 *
 * H1: the engine already folds unknown, locked and disabled into bad-credentials when Hide
 * Unknown is on, so the texts below that name an account's state are only ever seen with it off.
 */
import type { SaslFailure } from '../../sasl/mechanism.js';
import type { Effect } from '../common/session.js';

export type LoginResult =
  | SaslFailure
  /** AUTHENTICATE with a mechanism that is unknown or not offered here. */
  | { status: 'unsupported-mechanism' }
  /** A8: LOGIN or a clear-text mechanism before TLS on a listener that forbids it. */
  | { status: 'clear-text-disabled' }
  /** B2: authenticated, but the domain has no backend. */
  | { status: 'no-backend' }
  | { status: 'backend-unavailable' }
  | { status: 'backend-refused' }
  | { status: 'logged-in'; capabilities: readonly string[] };

export const CRLF = '\r\n';

export function line(text: string): Effect {
  return { type: 'write', data: text + CRLF };
}

/** The tagged reply for a finished login attempt, plus the BYE and close when it ends the connection. */
export function loginReply(tag: string, r: LoginResult): Effect[] {
  const no = (text: string): Effect[] => [line(`${tag} NO ${text}`)];
  switch (r.status) {
    case 'logged-in':
      return [line(r.capabilities.length > 0 ? `${tag} OK [CAPABILITY ${r.capabilities.join(' ')}] Logged in` : `${tag} OK Logged in`)];
    case 'bad-credentials':
      return no('[AUTHENTICATIONFAILED] Authentication failed');
    case 'unknown':
      return no('[AUTHENTICATIONFAILED] Unknown account');
    case 'locked':
      return no('[AUTHENTICATIONFAILED] Account temporarily locked after too many failed logins; try again later');
    case 'disabled':
      return no('[CONTACTADMIN] Login is disabled for this account; contact your administrator');
    case 'secure-method-required':
      // A7: the reply says what would work.
      return no('[PRIVACYREQUIRED] This account requires TLS or a secure authentication method');
    case 'clear-text-disabled':
      return no('[PRIVACYREQUIRED] Clear-text passwords are not allowed on an unencrypted connection');
    case 'not-client-address':
      // N2: refused and the connection is closed immediately.
      return [
        line(`${tag} NO [CONTACTADMIN] Logins are not accepted from your address`),
        line('* BYE Closing connection'),
        { type: 'close', reason: 'login from a non-client address (N2)' },
      ];
    case 'temporary-failure':
      return no('[UNAVAILABLE] Temporary authentication failure; try again later');
    case 'malformed':
      // RFC 9051 §6.2.2: invalid base64 (and any broken exchange) rejects AUTHENTICATE with BAD.
      return [line(`${tag} BAD Invalid authentication data`)];
    case 'cancelled':
      // RFC 9051 §6.2.2: a `*` cancels with a tagged BAD.
      return [line(`${tag} BAD Authentication cancelled`)];
    case 'unsupported-mechanism':
      return no('Unsupported authentication mechanism');
    case 'no-backend':
      return no('[UNAVAILABLE] No mail server is configured for your domain; try again later');
    case 'backend-unavailable':
      return no('[UNAVAILABLE] The mail server is unavailable; try again later');
    case 'backend-refused':
      return no('[UNAVAILABLE] The mail server refused the session; try again later');
  }
}
