/**
 * Every reply of the PWD session, and the one function mapping an authentication outcome to the
 * wire. Codes as CommuniGate Pro's PWD module and CLI use them (and its CGP::CLI client reads
 * them): 200 OK (and `200 data follow` before data lines), 201 data inline on the reply line,
 * 300 send more (the password after USER, the next SASL response), 500 an error of the protocol
 * (bad login, unknown or misplaced command), 501 a CLI command that failed.
 */
import type { SaslFailure } from '../../sasl/mechanism.js';
import { replyText } from '../../admin/cli/interpreter.js';

export interface Reply {
  text: string;
  /** Close the connection after this reply. */
  close?: boolean;
  /** Counts towards the bad-command limit. */
  bad?: boolean;
  /** A failed login (counts towards the per-connection login limit). */
  loginFailed?: boolean;
}

const line = (s: string): string => `${s}\r\n`;

export const R = {
  greeting: (host: string, timestamp: string | undefined): Reply =>
    ({ text: line(`200 ${host} Mailward PWD server ready${timestamp === undefined ? '' : ` ${timestamp}`}`) }),
  sendPass: (): Reply => ({ text: line('300 please send the PASS') }),
  loggedIn: (): Reply => ({ text: line('200 login OK, proceed') }),
  ok: (): Reply => ({ text: line('200 OK') }),
  /** Data after the reply line, then CRLF (CommuniGate: "The CR-LF combination is sent after the
   *  data"); the data-format text is written on one line, which CGP::CLI reads. */
  data: (text: string): Reply => ({ text: line('200 data follow') + line(text) }),
  inline: (text: string): Reply => ({ text: line(`201 ${text}`) }),
  failed: (code: 500 | 501, message: string, bad: boolean): Reply => ({ text: line(`${code} ${replyText(message)}`), bad }),
  challenge: (base64: string): Reply => ({ text: line(`300 ${base64}`) }),
  bye: (): Reply => ({ text: line('200 Mailward PWD connection closed'), close: true }),
  unknown: (): Reply => ({ text: line('500 unknown command'), bad: true }),
  syntax: (usage: string): Reply => ({ text: line(`500 syntax: ${usage}`), bad: true }),
  notUtf8: (): Reply => ({ text: line('500 the command is not UTF-8 text'), bad: true }),
  lineTooLong: (): Reply => ({ text: line('500 line too long'), bad: true }),
  loginFirst: (): Reply => ({ text: line('500 log in first: USER and PASS, APOP or AUTH'), bad: true }),
  userFirst: (): Reply => ({ text: line('500 send USER first'), bad: true }),
  alreadyLoggedIn: (): Reply => ({ text: line('500 already logged in'), bad: true }),
  /** A8: the listener forbids clear-text passwords before TLS: the way out is STLS (T1), a secure
   *  method, or the TLS port. */
  clearTextRefused: (): Reply => ({ text: line('500 clear-text passwords are not accepted before TLS: use STLS, APOP, AUTH with a secure method, or the TLS port') }),
  /** T1: STLS (as POP3's, RFC 2595), which CommuniGate's PWD does not have; Mailward adds it so the
   *  clear PWD port can be upgraded like every other service's. */
  beginTls: (): Reply => ({ text: line('200 begin TLS negotiation') }),
  tlsUnavailable: (): Reply => ({ text: line('500 TLS is not available on this connection'), bad: true }),
  apopUnavailable: (): Reply => ({ text: line('500 APOP is not available on this connection'), bad: true }),
  unsupportedMechanism: (): Reply => ({ text: line('500 unsupported authentication method'), bad: true }),
  tooManyErrors: (): Reply => ({ text: line('500 too many errors, closing connection'), close: true }),
  tooManyLoginFailures: (): Reply => ({ text: line('500 too many failed logins, closing connection'), close: true }),
  idle: (): Reply => ({ text: line('500 idle time-out, closing connection'), close: true }),
};

/** One place for what a failed login tells the client. With Hide Unknown on (H1), the engine has
 *  already folded unknown, locked and disabled into bad credentials. */
export function authFailureReply(f: SaslFailure): Reply {
  switch (f.status) {
    case 'bad-credentials':
    case 'unknown':
      return { text: line('500 incorrect user name or password'), loginFailed: true };
    case 'locked':
      return { text: line('500 the account is temporarily suspended after failed logins'), loginFailed: true };
    case 'disabled':
      return { text: line('500 PWD access is not enabled for this account'), loginFailed: true };
    case 'secure-method-required':
      // A7: the password crossed a clear link; the account takes it only over TLS or by a secure method.
      return { text: line('500 this account requires a secure method: use APOP, AUTH CRAM-MD5 or SCRAM, or the TLS port'), loginFailed: true };
    case 'not-client-address':
      // N2: refused and disconnected.
      return { text: line('500 logins are not accepted from your address'), close: true };
    case 'temporary-failure':
      return { text: line('500 temporary failure, try again later') };
    case 'cancelled':
      return { text: line('500 authentication cancelled'), loginFailed: true };
    case 'malformed':
      return { text: line('500 cannot decode the authentication data'), loginFailed: true, bad: true };
  }
}
