/**
 * The POP3 session's states before login (RFC 1939 AUTHORIZATION state, split where the data
 * differs): a USER name exists only between USER and PASS, and a SASL exchange only inside AUTH.
 */
import type { SaslSession } from '../../sasl/driver.js';
import type { PasswordCapture } from '../common/login-flow.js';

export type Pop3State =
  /** Waiting for a command. */
  | { kind: 'authorization' }
  /** USER accepted: PASS may follow. */
  | { kind: 'user-given'; user: string }
  /** AUTH in progress: each line is a SASL response (or `*`). */
  | { kind: 'authenticating'; sasl: SaslSession; capture: PasswordCapture }
  /** STLS answered: nothing may arrive until the handshake is done (T1). */
  | { kind: 'tls-negotiation' }
  /** Handed to the backend relay: the session is over. */
  | { kind: 'relayed'; account: string }
  /** QUIT, a fatal error or the peer went away. */
  | { kind: 'closed' };

export type Pop3StateKind = Pop3State['kind'];
