/**
 * AUTH (RFC 5034): SASL with an optional initial response; `+ base64` continuations and `*` to
 * cancel. `AUTH` alone lists the mechanisms (the RFC 1734 form many clients still send).
 * Continuation lines reach `continueAuth` while the session is in the `authenticating` state.
 */
import { SaslSession, type SaslReply } from '../../../sasl/driver.js';
import { getMechanism } from '../../../sasl/registry.js';
import type { Effect } from '../../common/session.js';
import { PasswordCapture, SASL_MECHANISM_NAME } from '../../common/login-flow.js';
import { line, pop3LoginReply } from '../replies.js';
import type { Pop3State } from '../state.js';
import { printableArgs } from '../syntax.js';
import { AUTHORIZATION, type Pop3Command, type Pop3Context } from './types.js';

export type AuthArgs = { list: true } | { list: false; mechanism: string; initialResponse?: string };

export const auth: Pop3Command<AuthArgs> = {
  name: 'AUTH',
  states: AUTHORIZATION,
  parse(l) {
    if (l.args.length === 0) return { ok: true, args: { list: true } };
    if (l.args.length > 2 || !printableArgs(l.args)) return { ok: false, reason: 'AUTH takes a mechanism and an optional initial response' };
    const [m, ir] = l.args as [string, string | undefined];
    if (!SASL_MECHANISM_NAME.test(m)) return { ok: false, reason: 'invalid mechanism name' };
    return { ok: true, args: ir === undefined ? { list: false, mechanism: m } : { list: false, mechanism: m, initialResponse: ir } };
  },
  async run(ctx, args) {
    ctx.state = { kind: 'authorization' };
    const policy = await ctx.policy();
    if (args.list) return [line('+OK'), ...policy.mechanisms.map((m) => line(m)), line('.')];
    // A8: a clear-text mechanism hidden before TLS is refused by name, with the reason.
    if (getMechanism(args.mechanism)?.clearText && !policy.clearText) return pop3LoginReply({ status: 'clear-text-disabled' });
    const capture = new PasswordCapture();
    const sasl = new SaslSession(ctx.saslContext(policy, capture), { offered: policy.mechanisms, successData: 'as-challenge' });
    ctx.state = { kind: 'authenticating', sasl, capture };
    return answer(ctx, capture, await sasl.start(args.mechanism, args.initialResponse));
  },
};

export async function continueAuth(ctx: Pop3Context, state: Extract<Pop3State, { kind: 'authenticating' }>, data: Buffer): Promise<Effect[]> {
  // latin1: a non-ASCII octet fails the base64 check instead of becoming a replacement character.
  return answer(ctx, state.capture, await state.sasl.respond(data.toString('latin1')));
}

async function answer(ctx: Pop3Context, capture: PasswordCapture, reply: SaslReply): Promise<Effect[]> {
  switch (reply.reply) {
    case 'challenge':
      return [line(`+ ${reply.base64}`)];
    case 'success':
      ctx.state = { kind: 'authorization' };
      return ctx.loggedIn(reply.outcome, capture);
    case 'failure':
      ctx.state = { kind: 'authorization' };
      capture.clear();
      ctx.log.info('login.failed', { command: 'AUTH', status: reply.failure.status });
      return pop3LoginReply(reply.failure);
    case 'unsupported':
      ctx.state = { kind: 'authorization' };
      return pop3LoginReply({ status: 'unsupported-mechanism' });
  }
}
