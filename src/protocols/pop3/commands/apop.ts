/**
 * APOP (RFC 1939 §7, A4): `APOP name digest` against the greeting's timestamp. Only usable when
 * the greeting carried one and the policy still allows it; the mechanism and the engine do the
 * rest (A9: a one-way stored password fails cleanly).
 */
import { authenticateApop } from '../../../sasl/driver.js';
import { decodeUtf8 } from '../../../sasl/text.js';
import { PasswordCapture } from '../../common/login-flow.js';
import { pop3LoginReply } from '../replies.js';
import { AUTHORIZATION, type Pop3Command } from './types.js';

export const apop: Pop3Command<{ text: string }> = {
  name: 'APOP',
  states: AUTHORIZATION,
  parse(l) {
    if (l.args.length !== 2) return { ok: false, reason: 'APOP takes a name and a digest' };
    const text = decodeUtf8(l.rest);
    if (text === null) return { ok: false, reason: 'name is not UTF-8' };
    return { ok: true, args: { text } };
  },
  async run(ctx, { text }) {
    ctx.state = { kind: 'authorization' };
    const policy = await ctx.policy();
    const capture = new PasswordCapture();
    const reply = await authenticateApop(ctx.saslContext(policy, capture), text, policy.apop);
    switch (reply.reply) {
      case 'success':
        return ctx.loggedIn(reply.outcome, capture);
      case 'failure':
        ctx.log.info('login.failed', { command: 'APOP', status: reply.failure.status });
        return pop3LoginReply(reply.failure);
      case 'unsupported':
      case 'challenge':
        return pop3LoginReply({ status: 'unsupported-mechanism' });
    }
  },
};
