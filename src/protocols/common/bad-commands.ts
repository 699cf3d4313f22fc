/**
 * The bad-command counter every protocol session keeps (issue 5: "a counter of bad commands,
 * which disconnects"). A client that sends garbage - a port scanner, an HTTP request on a mail
 * port, a brute-force script that lost track of the protocol - is cut off after a few errors
 * instead of holding a connection slot and our CPU for as long as it likes.
 *
 * What counts as bad is the session's call: an unknown or malformed command, a command not
 * allowed in the current state, an over-long line. A failed login is not a bad command (the
 * lock-out, H2, counts those).
 */

/** Dovecot closes after 10 invalid IMAP commands and Postfix's smtpd_hard_error_limit is 20; 10
 *  lets a person mistyping in a telnet session recover, and stops a scanner quickly. */
export const BAD_COMMAND_LIMIT = 10;

export type BadCommandVerdict = 'continue' | 'disconnect';

export class BadCommandCounter {
  readonly limit: number;
  #count = 0;

  constructor(limit: number = BAD_COMMAND_LIMIT) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError('the bad-command limit must be a positive integer');
    this.limit = limit;
  }

  get count(): number { return this.#count; }

  /** Records one bad command; 'disconnect' once the limit is reached (the session then answers
   *  with its protocol's goodbye - IMAP BYE, POP3 -ERR, SMTP 421 - and a `close` effect). */
  record(): BadCommandVerdict {
    this.#count += 1;
    return this.#count >= this.limit ? 'disconnect' : 'continue';
  }

  /** The count is kept across STARTTLS on purpose (a client must not clear its record by
   *  upgrading); sessions reset it only where their protocol starts over, if ever. */
  reset(): void { this.#count = 0; }
}
