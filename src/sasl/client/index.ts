/**
 * The client side of SASL, in the shape of Go's net/smtp Auth: `start` gives the mechanism name's
 * initial response (or none), `next` answers each server challenge, `finish` checks the server's
 * final data (SCRAM's v=, DIGEST's rspauth) when the mechanism has any. The backend relay uses it to
 * log in to backend servers; the tests use it against our server side and against gsasl --server.
 * Base64 and the protocol framing are the caller's job, as on the server side (see driver.ts).
 */

export interface SaslClientStart {
  /** Initial response (SASL-IR); null when the mechanism waits for the server's first challenge.
   *  An empty Buffer is an empty initial response (sent as `=`). When the protocol or the server
   *  cannot carry an initial response, the caller sends it in answer to the server's first
   *  challenge, which must be empty (RFC 4422 §5), and does not pass that challenge to `next`. */
  initial: Buffer | null;
}

export interface SaslClientMechanism {
  /** Upper-case mechanism name as advertised. */
  readonly name: string;
  start(): SaslClientStart;
  /** The answer to one server challenge; a malformed or unexpected challenge rejects (the
   *  caller cancels the exchange with `*`). A server's final data sent as a challenge (SCRAM's
   *  `v=`, DIGEST's `rspauth` on protocols without data-with-success, e.g. SMTP) also arrives
   *  here: the mechanism verifies it and answers with an empty response. */
  next(challenge: Buffer): Buffer | Promise<Buffer>;
  /** Called when the server reports success. `serverFinal` is the additional data carried by the
   *  success reply, or null when there was none (the final data, if the mechanism has any, then
   *  came as a challenge through `next`). True only when the server proved itself; false means
   *  the caller must drop the connection. Absent for mechanisms without server authentication
   *  (PLAIN, LOGIN, CRAM-MD5): their success needs no check. */
  finish?(serverFinal: Buffer | null): boolean;
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
