/**
 * The one place where POP3 turns outcomes into wire replies (RFC 1939, response codes from
 * RFC 2449 and RFC 3206). USER/PASS, APOP and AUTH all report a `Pop3LoginResult` here.
 *
 * H1: the engine already folds unknown, locked and disabled into bad-credentials when Hide
 * Unknown is on, so the texts below that name an account's state are only seen with it off.
 */
import type { SaslFailure } from '../../sasl/mechanism.js';
import type { Effect } from '../common/session.js';

export type Pop3LoginResult =
  | SaslFailure
  | { status: 'unsupported-mechanism' }
  /** A8: USER or a clear-text mechanism before TLS on a listener that forbids it. */
  | { status: 'clear-text-disabled' }
  | { status: 'no-backend' }
  /** `reason`: the connector's account of the backend's reply; a mailbox locked there says
   *  [IN-USE] (RFC 2449 §8.1.1), which the connector may report either way. */
  | { status: 'backend-unavailable'; reason: string }
  | { status: 'backend-refused'; reason: string }
  | { status: 'logged-in' };

export function line(text: string): Effect {
  return { type: 'write', data: `${text}\r\n` };
}

export function pop3LoginReply(r: Pop3LoginResult): Effect[] {
  const err = (text: string): Effect[] => [line(`-ERR ${text}`)];
  switch (r.status) {
    case 'logged-in':
      return [line('+OK Logged in')];
    case 'bad-credentials':
      return err('[AUTH] Authentication failed');
    case 'unknown':
      return err('[AUTH] Unknown account');
    case 'locked':
      return err('[AUTH] Account temporarily locked after too many failed logins; try again later');
    case 'disabled':
      return err('[SYS/PERM] Login is disabled for this account; contact your administrator');
    case 'secure-method-required':
      // A7: the reply says what would work.
      return err('[AUTH] This account requires TLS or a secure authentication method');
    case 'clear-text-disabled':
      return err('[AUTH] Clear-text passwords are not allowed on an unencrypted connection');
    case 'not-client-address':
      // N2: refused and the connection is closed immediately.
      return [line('-ERR Logins are not accepted from your address'), { type: 'close', reason: 'login from a non-client address (N2)' }];
    case 'temporary-failure':
      return err('[SYS/TEMP] Temporary authentication failure; try again later');
    case 'malformed':
      return err('Invalid authentication data');
    case 'cancelled':
      // RFC 5034 §4: a `*` cancels; the server answers -ERR.
      return err('Authentication cancelled');
    case 'unsupported-mechanism':
      return err('Unsupported authentication mechanism');
    case 'no-backend':
      return err('[SYS/TEMP] No mail server is configured for your domain; try again later');
    case 'backend-unavailable':
    case 'backend-refused':
      if (/\[IN-USE\]/i.test(r.reason)) return err('[IN-USE] The mailbox is in use by another session; try again later');
      return err(r.status === 'backend-unavailable'
        ? '[SYS/TEMP] The mail server is unavailable; try again later'
        : '[SYS/TEMP] The mail server refused the session; try again later');
  }
}
