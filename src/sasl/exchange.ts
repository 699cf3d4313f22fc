/**
 * Step orders that several mechanisms share, written once so that they all end the same way:
 * one attempt per exchange (a client may not retry inside it), nothing after the end but a
 * failure, and a mechanism's own code sees only the messages it expects.
 */
import type { SaslExchange, SaslStep } from './mechanism.js';

export type FailureStep = Extract<SaslStep, { type: 'failure' }>;

export const malformed = (reason: string): FailureStep => ({ type: 'failure', failure: { status: 'malformed', reason } });

/** The challenge a mechanism sends, and what it needs to check the client's next message. */
export interface Challenge<C> { data: Buffer; context: C }

/**
 * Server-first, one challenge and one response (CRAM-MD5, DIGEST-MD5). The response is only worth
 * something against a fresh challenge the client has not yet seen, so an initial response is
 * refused (`initialResponseRefused` says why, in the mechanism's terms) and ends the exchange.
 */
export function serverFirstExchange<C>(spec: {
  initialResponseRefused: string;
  challenge: () => Challenge<C>;
  respond: (response: Buffer, context: C) => Promise<SaslStep>;
}): SaslExchange {
  let state: { kind: 'initial' } | { kind: 'awaiting-response'; context: C } | { kind: 'done' } = { kind: 'initial' };
  return {
    async step(input) {
      const current = state;
      state = { kind: 'done' };
      switch (current.kind) {
        case 'done':
          return malformed('step after completion');
        case 'initial': {
          if (input !== null) return malformed(spec.initialResponseRefused);
          const c = spec.challenge();
          state = { kind: 'awaiting-response', context: c.context };
          return { type: 'challenge', data: c.data };
        }
        case 'awaiting-response':
          if (input === null) return malformed('missing response');
          return spec.respond(input, current.context);
      }
    },
  };
}

/**
 * Client-first, two client messages (SCRAM, NTLM). Without an initial response the server sends
 * an empty challenge and waits for the first message (RFC 4422 section 5); the first message is
 * answered with a challenge or a failure, the second decides. Any failure ends the exchange. The
 * wording of the two out-of-order failures is the mechanism's (SCRAM's start with an RFC 5802
 * server-error-value), so the mechanism builds them (afresh each time: a step is never shared).
 */
export function clientFirstExchange<C>(spec: {
  first: (message: Buffer) => Challenge<C> | FailureStep | Promise<Challenge<C> | FailureStep>;
  second: (message: Buffer, context: C) => Promise<SaslStep>;
  secondMissing: () => FailureStep;
  finished: () => FailureStep;
}): SaslExchange {
  let state: { kind: 'start' } | { kind: 'awaiting-second'; context: C } | { kind: 'done' } = { kind: 'start' };
  return {
    async step(input) {
      const current = state;
      state = { kind: 'done' };
      switch (current.kind) {
        case 'start': {
          if (input === null) {
            state = current;
            return { type: 'challenge', data: Buffer.alloc(0) };
          }
          const answer = await spec.first(input);
          if ('type' in answer) return answer;
          state = { kind: 'awaiting-second', context: answer.context };
          return { type: 'challenge', data: answer.data };
        }
        case 'awaiting-second':
          if (input === null) return spec.secondMissing();
          return spec.second(input, current.context);
        case 'done':
          return spec.finished();
      }
    },
  };
}
