/**
 * The IMAP session's states before login. Each variant carries the data that only exists in it,
 * so a SASL exchange cannot outlive its command and a half-read literal cannot leak into the next
 * command.
 */
import type { SaslSession } from '../../sasl/driver.js';
import type { PasswordCapture } from '../common/login-flow.js';
import type { PendingCommand } from './syntax.js';

export type ImapState =
  /** Waiting for a command (RFC 9051 "Not Authenticated"). */
  | { kind: 'not-authenticated' }
  /** A command announced a literal: waiting for its octets, then for the rest of the line. */
  | { kind: 'command-continuation'; pending: PendingCommand; awaiting: 'literal' | 'line' }
  /** AUTHENTICATE in progress: each line is a SASL response (or `*`). */
  | { kind: 'authenticating'; tag: string; sasl: SaslSession; capture: PasswordCapture }
  /** STARTTLS answered: nothing may arrive until the handshake is done (T1). */
  | { kind: 'tls-negotiation' }
  /** Handed to the backend relay: the session is over. */
  | { kind: 'relayed'; account: string }
  /** LOGOUT, a fatal error or the peer went away. */
  | { kind: 'closed' };

export type ImapStateKind = ImapState['kind'];
