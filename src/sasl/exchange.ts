/**
 * Step orders that several mechanisms share, written once so that they all end the same way:
 * one attempt per exchange (a client may not retry inside it), nothing after the end but a
 * failure, and a mechanism's own code sees only the messages it expects.
 */
import type { SaslExchange, SaslStep } from './mechanism.js';

export const malformed = (reason: string): SaslStep => ({ type: 'failure', failure: { status: 'malformed', reason } });

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
