/**
 * AUTHENTICATE (RFC 9051 §6.2.2, SASL-IR RFC 4959): the SASL driver runs the exchange; this file
 * turns its replies into `+ base64` continuations and tagged results. Continuation lines reach
 * `continueAuthenticate` while the session is in the `authenticating` state.
 */
import { SaslSession, type SaslReply } from '../../../sasl/driver.js';
import { getMechanism } from '../../../sasl/registry.js';
import type { Effect } from '../../common/session.js';
import { PasswordCapture, SASL_MECHANISM_NAME } from '../../common/login-flow.js';
import { line, loginReply } from '../replies.js';
import type { ImapState } from '../state.js';
import type { ImapCommand, ImapContext } from './types.js';

export interface AuthenticateArgs { mechanism: string; initialResponse?: string }

export const authenticate: ImapCommand<AuthenticateArgs> = {
  name: 'AUTHENTICATE',
  states: ['not-authenticated'],
  parse(args) {
    if (args.length < 1 || args.length > 2) return { ok: false, reason: 'AUTHENTICATE takes a mechanism and an optional initial response' };
    const [m, ir] = args;
    if (m?.type !== 'atom' || !SASL_MECHANISM_NAME.test(m.value)) return { ok: false, reason: 'invalid mechanism name' };
    if (ir === undefined) return { ok: true, args: { mechanism: m.value } };
    // SASL-IR: base64 or "=", always an atom (the base64 alphabet is all ATOM-CHARs).
    if (ir.type !== 'atom') return { ok: false, reason: 'initial response must be base64 or =' };
    return { ok: true, args: { mechanism: m.value, initialResponse: ir.value } };
  },
  async run(ctx, tag, args) {
    const policy = await ctx.policy();
    const mech = getMechanism(args.mechanism);
    // A8: a clear-text mechanism hidden before TLS is refused by name, with the reason.
    if (mech?.clearText && !policy.clearText) return loginReply(tag, { status: 'clear-text-disabled' });
    const capture = new PasswordCapture();
    const sasl = new SaslSession(ctx.saslContext(policy, capture), { offered: policy.mechanisms, successData: 'as-challenge' });
    ctx.state = { kind: 'authenticating', tag, sasl, capture };
    return answer(ctx, tag, capture, await sasl.start(args.mechanism, args.initialResponse));
  },
};

/** One client line during the exchange: a base64 response or `*`. */
export async function continueAuthenticate(ctx: ImapContext, state: Extract<ImapState, { kind: 'authenticating' }>, line: Buffer): Promise<Effect[]> {
  // latin1 keeps every octet as one character: a non-ASCII octet then fails the base64 check
  // instead of being folded into a replacement character.
  return answer(ctx, state.tag, state.capture, await state.sasl.respond(line.toString('latin1')));
}

async function answer(ctx: ImapContext, tag: string, capture: PasswordCapture, reply: SaslReply): Promise<Effect[]> {
  switch (reply.reply) {
    case 'challenge':
      return [line(`+ ${reply.base64}`)];
    case 'success':
      ctx.state = { kind: 'not-authenticated' };
      return ctx.loggedIn(tag, reply.outcome, capture);
    case 'failure':
      ctx.state = { kind: 'not-authenticated' };
      capture.clear();
      ctx.log.info('login.failed', { command: 'AUTHENTICATE', status: reply.failure.status });
      return loginReply(tag, reply.failure);
    case 'unsupported':
      ctx.state = { kind: 'not-authenticated' };
      return loginReply(tag, { status: 'unsupported-mechanism' });
  }
}
