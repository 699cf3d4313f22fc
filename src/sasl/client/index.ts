/**
 * The client side of SASL, in the shape of Go's net/smtp Auth: `start` gives the mechanism name's
 * initial response (or none), `next` answers each server challenge, `finish` checks the server's
 * final data (SCRAM's v=, DIGEST's rspauth) when the mechanism has any. The backend relay uses it to
 * log in to backend servers; the tests use it against our server side and against gsasl --server.
 * Base64 and the protocol framing are the caller's job, as on the server side (see driver.ts).
 */

export interface SaslClientStart {
  /** Initial response (SASL-IR); null when the mechanism starts with an empty client turn.
   *  An empty Buffer is an empty initial response (sent as `=`). */
  initial: Buffer | null;
}

export interface SaslClientMechanism {
  /** Upper-case mechanism name as advertised. */
  readonly name: string;
  start(): SaslClientStart;
  /** The answer to one server challenge; a malformed or unexpected challenge rejects (the
   *  caller cancels the exchange with `*`). */
  next(challenge: Buffer): Buffer | Promise<Buffer>;
  /** Verifies the server's final data (additional data with success or the last challenge).
   *  Absent for mechanisms without server authentication (PLAIN, LOGIN, CRAM-MD5). */
  finish?(serverFinal: Buffer): boolean;
}

/** What every client mechanism is built from. `authzid` is the identity to act as, when different. */
export interface SaslClientCredentials {
  authcid: string;
  password: string;
  authzid?: string;
}

/** A challenge the client cannot answer: the exchange must be cancelled. Thrown by `next` because
 *  the caller's only action is to send `*`; it never reaches a server-side code path. */
export class SaslClientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SaslClientError';
  }
}
