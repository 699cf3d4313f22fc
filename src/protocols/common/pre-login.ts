/**
 * Pieces every pre-login session (IMAP, POP3) needs in the same form: one-at-a-time handling of
 * its events, the check for an HTTP client on a mail port, and the reply-text helper.
 */
import type { Effect } from './session.js';

/** A request line of HTTP: a browser or a cross-protocol attack (ALPACA) talking to this port.
 *  Only the first 64 octets are looked at: enough for the method, a short path and the version. */
const HTTP_REQUEST = /^(GET|POST|HEAD|PUT|DELETE|OPTIONS|CONNECT|PATCH|TRACE) \S+ HTTP\/\d/;

export function isHttpRequestLine(line: Buffer): boolean {
  return HTTP_REQUEST.test(line.toString('latin1', 0, 64));
}

export function capitalise(s: string): string {
  return s.length === 0 ? s : s[0]!.toUpperCase() + s.slice(1);
}

/**
 * Runs a session's events one after another, each after the previous one's effects were decided,
 * so a listener that delivers the next line before the previous answer is written still sees
 * commands handled in order (a pipelined command must never overtake a login in progress).
 * Once `ended()` is true (closed, or handed to the relay), events are answered with nothing; an
 * exception becomes what `onException` answers, and later events still run.
 */
export class SerialEvents {
  #queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly ended: () => boolean) {}

  run(fn: () => Promise<Effect[]>, onException: (error: unknown) => Effect[]): Promise<Effect[]> {
    const guarded = (): Promise<Effect[]> => (this.ended() ? Promise.resolve([]) : fn());
    const run = this.#queue.then(guarded).catch(onException);
    this.#queue = run;
    return run;
  }
}
