/**
 * Every SMTP reply the session writes, with its enhanced status code (RFC 2034, RFC 3463,
 * RFC 5248), and the one function mapping an authentication or backend outcome to the wire.
 */
import type { BackendResult } from '../../backends/connector.js';
import type { SaslFailure } from '../../sasl/mechanism.js';

export interface Reply {
  text: string;
  /** Close the connection after this reply. */
  close?: boolean;
  /** Counts towards the error limit. */
  error?: boolean;
}

const line = (s: string): string => `${s}\r\n`;

/** A multi-line reply: `250-a`, `250-b`, `250 c`. */
export function multiline(code: number, lines: readonly string[]): string {
  return lines.map((l, i) => line(`${code}${i === lines.length - 1 ? ' ' : '-'}${l}`)).join('');
}

export const R = {
  greeting: (host: string, token: string): Reply => ({ text: line(`220 ${host} ESMTP Mailward ready ${token}`) }),
  earlyTalker: (): Reply => ({ text: line('554 5.5.0 Protocol error: talking before the greeting'), close: true }),
  http: (): Reply => ({ text: line('554 5.7.0 This is an SMTP server, not a web server'), close: true }),
  ok: (): Reply => ({ text: line('250 2.0.0 OK') }),
  help: (): Reply => ({ text: line('214 2.0.0 See RFC 6409 and RFC 4954') }),
  bye: (host: string): Reply => ({ text: line(`221 2.0.0 ${host} closing connection`), close: true }),
  unknown: (): Reply => ({ text: line('500 5.5.2 Command not recognized'), error: true }),
  syntax: (): Reply => ({ text: line('500 5.5.2 Syntax error'), error: true }),
  lineTooLong: (): Reply => ({ text: line('500 5.5.6 Line too long'), error: true }),
  argsSyntax: (): Reply => ({ text: line('501 5.5.4 Syntax error in parameters or arguments'), error: true }),
  heloNeeded: (): Reply => ({ text: line('501 5.5.4 EHLO and HELO need a host name'), error: true }),
  sendEhloFirst: (): Reply => ({ text: line('503 5.5.1 Send EHLO first'), error: true }),
  badSequence: (): Reply => ({ text: line('503 5.5.1 Bad sequence of commands'), error: true }),
  alreadyAuthenticated: (): Reply => ({ text: line('503 5.5.1 Already authenticated'), error: true }),
  authRequired: (): Reply => ({ text: line('530 5.7.0 Authentication required'), error: true }),
  /** RFC 4954 §6: a mechanism that would expose the password on this link. */
  encryptionRequired: (): Reply => ({ text: line('538 5.7.11 Encryption required for requested authentication mechanism'), error: true }),
  unsupportedMechanism: (): Reply => ({ text: line('504 5.5.4 Unrecognized authentication type'), error: true }),
  noVrfy: (): Reply => ({ text: line('502 5.5.1 VRFY and EXPN are disabled'), error: true }),
  noBdat: (): Reply => ({ text: line('554 5.5.1 BDAT was not offered (no CHUNKING)'), close: true }),
  startTls: (): Reply => ({ text: line('220 2.0.0 Ready to start TLS') }),
  tlsNotAvailable: (): Reply => ({ text: line('454 4.7.0 TLS not available'), error: true }),
  tlsAlreadyActive: (): Reply => ({ text: line('503 5.5.1 TLS already active'), error: true }),
  tooManyErrors: (): Reply => ({ text: line('421 4.7.0 Too many errors, closing connection'), close: true }),
  tooManyAuthFailures: (): Reply => ({ text: line('421 4.7.0 Too many failed authentications, closing connection'), close: true }),
  idle: (host: string): Reply => ({ text: line(`421 4.4.2 ${host} Idle time-out, closing connection`), close: true }),
  paramsUnknown: (): Reply => ({ text: line('555 5.5.4 Parameters not recognized'), error: true }),
  badPath: (): Reply => ({ text: line('553 5.1.3 Bad address syntax'), error: true }),
  authenticated: (): Reply => ({ text: line('235 2.7.0 Authentication successful') }),
  backendLost: (): Reply => ({ text: line('421 4.4.2 Connection to the mail server lost, closing connection'), close: true }),
  tooBig: (): Reply => ({ text: line('552 5.3.4 Message size exceeds fixed limit'), close: true }),
  dataLineTooLong: (): Reply => ({ text: line('554 5.6.0 Message has a line longer than allowed'), close: true }),
  challenge: (base64: string): Reply => ({ text: line(`334 ${base64}`) }),
};

/** One place for what a failed authentication tells the client (RFC 4954 §6, RFC 3463). */
export function authFailureReply(f: SaslFailure): Reply {
  switch (f.status) {
    case 'bad-credentials':
    case 'unknown':
      return { text: line('535 5.7.8 Authentication credentials invalid'), error: true };
    case 'locked':
      return { text: line('535 5.7.8 Authentication failed: account temporarily suspended'), error: true };
    case 'disabled':
      return { text: line('525 5.7.13 User account disabled'), error: true };
    case 'secure-method-required':
      // A7: the password crossed a clear link; the account accepts it only over TLS or by a
      // secure mechanism.
      return { text: line('538 5.7.11 Encryption required for requested authentication mechanism'), error: true };
    case 'not-client-address':
      // N2: refused and disconnected.
      return { text: line('554 5.7.1 Logins are not accepted from your address'), close: true };
    case 'temporary-failure':
      return { text: line('454 4.7.0 Temporary authentication failure') };
    case 'cancelled':
      return { text: line('501 5.7.0 Authentication cancelled'), error: true };
    case 'malformed':
      return { text: line('501 5.5.2 Cannot decode the authentication data'), error: true };
  }
}

/** B1, B2: after a good authentication, what the client hears when the backend is not ready. */
export function backendFailureReply(r: Exclude<BackendResult, { status: 'ok' }>): Reply {
  switch (r.status) {
    case 'no-backend':
      return { text: line('454 4.7.0 No mail server is configured for this account; try again later') };
    case 'unavailable':
      return { text: line('454 4.7.0 The mail server is not available; try again later') };
    case 'refused':
      return { text: line('454 4.7.0 The mail server refused the session; try again later') };
  }
}
